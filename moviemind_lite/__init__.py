"""MovieMind Lite: AI-written movie descriptions, generation jobs and a locking lab on SQLite."""

from __future__ import annotations

__version__ = "0.1.0"
