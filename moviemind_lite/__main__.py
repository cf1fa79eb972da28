"""``python -m moviemind_lite`` runs the command-line interface."""

from __future__ import annotations

from moviemind_lite.cli import main

main()
