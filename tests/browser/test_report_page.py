"""The HTML report in a real browser: opens from disk, no errors, a lane per job, tooltips."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from moviemind_lite.lab import report
from moviemind_lite.lab.race import run_compare
from moviemind_lite.lab.scenario import Scenario
from tests.browser.conftest import Watched
from tests.http.servers import live_server
from tests.lab.made_races import crowd
from tests.lab.test_game import BREAK_CACHE_LOCK

STRATEGIES = ("none", "cache-lock", "cache-lock-recheck", "unique-index")
STRATEGIES += ("for-update", "setnx", "two-level")


def write_page(path: Path, results: list) -> Path:  # type: ignore[type-arg]
    data = report.report_data(
        "races", [report.races_section("races", results, ["moviemind compare"])], []
    )
    path.write_text(report.render_html(data))
    return path


def test_a_hundred_job_race_opens_from_disk_with_a_lane_per_job_and_no_error(
    page: Watched, tmp_path: Path
) -> None:
    scenario = Scenario(requests=100, slugs=100, workers=16, latency_ms=1, jitter_ms=0)
    results = run_compare(scenario, ["none", "two-level"])
    target = write_page(tmp_path / "race.html", results)
    page.page.goto(target.as_uri())
    for result in results:
        lanes = page.page.locator(f'article.run[data-strategy="{result.strategy}"] g.lane')
        assert lanes.count() == len(result.timeline) == 100
    first = page.page.locator("g.lane").first
    job = first.get_attribute("data-job")
    first.locator("rect").last.hover()
    tip = page.page.locator("#tip")
    assert tip.is_visible()
    assert f"job {job}" in tip.inner_text() and "attempt 1" in tip.inner_text()
    page.page.mouse.move(0, 0)
    first.focus()
    assert tip.is_visible() and tip.inner_text().startswith(f"job {job} · slug race-movie-")
    page.page.emulate_media(media="print")
    assert not tip.is_visible()
    assert page.errors == []


def test_ten_thousand_jobs_under_every_strategy_render_under_two_megabytes(
    page: Watched, tmp_path: Path
) -> None:
    races = [crowd(10_000, 100, strategy=name) for name in STRATEGIES]
    target = write_page(tmp_path / "big.html", races)
    assert target.stat().st_size < 2_000_000
    page.page.goto(target.as_uri())
    assert page.page.locator("article.run").count() == len(STRATEGIES)
    assert page.page.locator("svg.timeline g.group").count() == len(STRATEGIES) * report.GROUP_LANES
    assert page.page.locator("svg.density path").count() >= len(STRATEGIES)
    box = page.page.locator("svg.timeline").first.bounding_box()
    assert box is not None and box["height"] > 100
    assert page.errors == []


def test_the_live_page_runs_a_lesson_and_its_lanes_appear(page: Watched, tmp_path: Path) -> None:
    with live_server(tmp_path / "home", "--no-jobs") as server:
        page.page.goto(f"{server.url}/lab")
        page.page.select_option("#lesson", "the-original-bug")
        page.page.check("#fast")
        page.page.click("#run")
        page.page.wait_for_selector('article.run[data-label="cache-lock"] g.lane')
        # A real race in the server: its end is waited for, with Playwright's deadline.
        page.page.wait_for_function(
            "document.getElementById('status').textContent.startsWith('done')", timeout=60_000
        )
        assert page.page.locator("#check").inner_text().startswith("Check PASSED")
        for label in ("cache-lock", "cache-lock-recheck"):
            assert page.page.locator(f'article.run[data-label="{label}"] g.lane').count() >= 1
        assert page.page.locator("#download").is_enabled()
        with page.page.expect_download() as download:
            page.page.click("#download")
        saved = tmp_path / "saved.html"
        download.value.save_as(saved)
        assert "Check PASSED" in saved.read_text()
        assert page.errors == []
        refused = page.page.evaluate(
            "fetch('/lab/api/race', {method: 'POST', headers: {'Content-Type': "
            "'application/json'}, body: JSON.stringify({lesson: 'nope'})}).then(r => r.status)"
        )
        assert refused == 422


def test_a_page_closed_mid_race_leaves_nothing_running(browser: Any, tmp_path: Path) -> None:
    with live_server(tmp_path / "home", "--no-jobs") as server:
        context = browser.new_context()
        opened = context.new_page()
        opened.goto(f"{server.url}/lab")
        opened.select_option("#lesson", "")
        opened.fill("#strategies", "two-level")
        for name, value in (("requests", "400"), ("slugs", "400"), ("workers", "1")):
            opened.fill(f'input[name="{name}"]', value)
        opened.fill('input[name="latency_ms"]', "100")
        opened.click("#run")
        opened.wait_for_selector('article.run[data-label="two-level"] g.lane')
        context.close()
        # The server is a real process: wait for its race to end, with a deadline.
        deadline = time.monotonic() + 60
        state = "running"
        while state == "running" and time.monotonic() < deadline:
            state = httpx.get(f"{server.url}/lab/api/race").json()["state"]
            time.sleep(0.1)  # a real server's race: nothing here to wait on but its answer
        assert state == "stopped"


def test_the_live_page_plays_a_game_that_breaks_cache_lock(page: Watched, tmp_path: Path) -> None:
    with live_server(tmp_path / "home", "--no-jobs") as server:
        page.page.goto(f"{server.url}/lab")
        page.page.select_option("#game-strategy", "cache-lock")
        page.page.click("#game-start")
        for step in BREAK_CACHE_LOCK:
            # Each move is a button the server listed; its answer lists the next ones.
            page.page.click(f'#game-moves button[data-step="{step}"]', timeout=30_000)
            page.page.wait_for_function(
                "s => document.getElementById('game-played').textContent.endsWith(s)",
                arg=step,
                timeout=30_000,
            )
        page.page.wait_for_function(
            "document.getElementById('game-status').textContent.startsWith('game over')",
            timeout=30_000,
        )
        assert page.page.locator("#game-status").inner_text() == (
            "game over: 1 duplicate description"
        )
        cell = page.page.locator('#game-damage td[data-key="duplicate_descriptions"]')
        assert cell.inner_text() == "1" and cell.get_attribute("class") == "harm"
        assert (
            "moviemind race --strategy cache-lock --schedule"
            in page.page.locator("#game-schedule").inner_text()
        )
        with page.page.expect_download() as download:
            page.page.click("#game-save")
        saved = tmp_path / "played.json"
        download.value.save_as(saved)
        assert '"A dispatch"' in saved.read_text()
        assert page.errors == []
