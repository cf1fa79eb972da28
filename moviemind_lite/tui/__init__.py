"""The Textual front end behind ``moviemind tui``.

Importing this package does not import textual, so the CLI can name the tabs
in ``--help`` without paying for it; :mod:`moviemind_lite.tui.app` does, and
``make_app`` there builds the app for the CLI and the tests alike.
"""

from __future__ import annotations

TAB_IDS: tuple[str, ...] = ("catalog", "jobs", "flags", "log", "lab")

__all__ = ["TAB_IDS"]
