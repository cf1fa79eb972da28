"""Save an SVG screenshot of every tab into docs/screenshots/ (the README shows them).

    .venv/bin/python -m tests.tui.screenshots [FOLDER]

Each picture is taken at 80x24 over a scratch home holding the fixed scene of
:mod:`tests.tui.scenes` (the snapshot tests' content), with the catalog
searched for "matrix" so its detail shows a baseline and its alternatives.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from moviemind_lite.tui import TAB_IDS
from moviemind_lite.tui.app import make_app
from tests.tui.driving import plain, run_app, wait_ready, wait_until
from tests.tui.scenes import SIZE, build_home

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def save_screenshots(folder: Path) -> list[Path]:
    """One ``<tab>.svg`` per tab in ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as scratch:
        settings = build_home(Path(scratch) / "home")
        for tab in TAB_IDS:
            app = make_app(settings, start_tab=tab)
            app.animation_level = "none"

            async def shoot(pilot: Pilot[None], tab: str = tab) -> None:
                await wait_ready(pilot, tab)
                if tab == "catalog":
                    await pilot.press("slash", *"matrix", "enter")
                    detail = pilot.app.query_one("#catalog-detail-text", Static)
                    await wait_until(pilot, lambda: "the-matrix-1999" in plain(detail), "Matrix")
                written.append(Path(pilot.app.save_screenshot(f"{tab}.svg", str(folder))))

            run_app(app, shoot, size=SIZE)
    return written


def main() -> None:
    """Save the screenshots into the folder named on the command line, or docs/screenshots."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FOLDER
    for path in save_screenshots(folder):
        print(path)


if __name__ == "__main__":
    main()
