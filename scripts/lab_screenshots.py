"""Screenshots of the lab's HTML report and of the live /lab page, for docs/screenshots.

Needs Debian's chromium (scripts/browser.sh install) and the test extra (Playwright):

    .venv/bin/python scripts/lab_screenshots.py docs/screenshots

Plays the fencing lesson and a five-strategy comparison in scratch homes, writes their
reports, and photographs them and the live page of a server started on a free port.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from moviemind_lite.lab.race import run_compare
from moviemind_lite.lab.report import lessons_page, races_page, render_html
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.teaching import run_lesson
from tests.browser.conftest import CHROMIUM, FLAGS
from tests.http.servers import live_server

WIDTH = 1280


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="lab-shots-"))
    fencing = scratch / "fencing.html"
    played = run_lesson("fencing")
    fencing.write_text(render_html(lessons_page([played], "moviemind lab run fencing")))
    herd = Scenario(requests=32, slugs=1, workers=8, latency_ms=100, jitter_ms=0)
    results = run_compare(herd, ["none", "cache-lock", "unique-index", "setnx", "two-level"])
    compare = scratch / "compare.html"
    command = "moviemind compare --strategies none,cache-lock,unique-index,setnx,two-level"
    compare.write_text(render_html(races_page(results, f"{command} {herd.as_options()}")))
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.goto(fencing.as_uri())
        page.screenshot(path=str(folder / "lab-report-lesson.png"), full_page=False)
        page.locator("article.run").nth(1).screenshot(path=str(folder / "lab-report-fence.png"))
        page.goto(compare.as_uri())
        page.locator("div.charts").first.screenshot(path=str(folder / "lab-report-charts.png"))
        page.locator('article.run[data-strategy="cache-lock"]').first.screenshot(
            path=str(folder / "lab-report-timeline.png")
        )
        with live_server(scratch / "home", "--no-jobs") as server:
            page.goto(f"{server.url}/lab")
            page.select_option("#lesson", "thundering-herd")
            page.check("#fast")
            page.click("#run")
            page.wait_for_function(
                "document.getElementById('status').textContent.startsWith('done')",
                timeout=120_000,
            )
            page.set_viewport_size({"width": WIDTH, "height": 1500})
            page.screenshot(path=str(folder / "lab-live.png"), full_page=False)
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
