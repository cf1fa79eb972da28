"""The HTML report in a real browser: opens from disk, no errors, a lane per job, tooltips."""

from __future__ import annotations

from pathlib import Path

from moviemind_lite.lab import report
from moviemind_lite.lab.race import run_compare
from moviemind_lite.lab.scenario import Scenario
from tests.browser.conftest import Watched
from tests.lab.made_races import crowd

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
