"""Small races whose numbers are known: the lab counts what the production code did."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from moviemind_lite.errors import InvalidInput
from moviemind_lite.lab.metrics import CORRECT, METRIC_NAMES, percentile, verdict
from moviemind_lite.lab.race import TEACHING_ORDER, run_compare, run_race, strategy_names
from moviemind_lite.lab.scenario import Arrival, Scenario
from moviemind_lite.lab.timeline import LEGEND, draw_bar, waited_ms
from moviemind_lite.store.db import Database

FAST = Scenario(latency_ms=1, jitter_ms=0)


@pytest.fixture(autouse=True)
def scratch_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Scratch homes go under the test's folder, so leftovers can be seen."""
    parent = tmp_path / "tmp"
    parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(parent))
    return parent


def test_two_level_burst_counts(home: Path, scratch_parent: Path) -> None:
    # A slow AI call: every request dispatches while its key's job is on its way.
    scenario = Scenario(requests=6, slugs=2, workers=3, latency_ms=200, jitter_ms=0)
    result = run_race(scenario, "two-level")
    m = result.metrics
    assert (m.requests, m.jobs_dispatched, m.deduplicated_at_dispatch, m.ai_calls) == (6, 2, 4, 2)
    assert (m.movies, m.descriptions, m.duplicate_movies, m.duplicate_descriptions) == (2, 2, 0, 0)
    assert (m.failed_jobs, m.stale_writes_rejected, m.lock_wait_ms) == (0, 0, 0)
    assert m.verdict == CORRECT and m.correct
    assert 0 <= m.latency_p50_ms <= m.latency_p95_ms <= m.latency_max_ms <= m.wall_ms
    assert tuple(m.to_json()) == METRIC_NAMES
    assert len(result.timeline) == 2 and result.kept_home is None
    # The race used a scratch home: the user's home was never created, and
    # the scratch folder is gone.
    assert not home.exists()
    assert list(scratch_parent.iterdir()) == []


def test_the_shipped_bug_is_counted_as_duplicates() -> None:
    m = run_race(Scenario(requests=3, workers=3, latency_ms=200, jitter_ms=0), "cache-lock").metrics
    assert (m.movies, m.descriptions, m.duplicate_descriptions, m.ai_calls) == (1, 3, 2, 3)
    assert m.verdict == "2 duplicate descriptions"
    assert m.lock_wait_ms > 0


def test_without_the_unique_index_racers_write_duplicate_movies() -> None:
    scenario = Scenario(requests=3, workers=3, latency_ms=200, jitter_ms=0, unique_index=False)
    m = run_race(scenario, "unique-index").metrics
    assert (m.movies, m.duplicate_movies, m.descriptions, m.duplicate_descriptions) == (3, 2, 3, 2)
    assert m.verdict == "2 duplicate descriptions, 2 duplicate movies"


def test_spread_requests_after_the_job_are_served_from_the_stored_text() -> None:
    m = run_race(FAST.changed(requests=3, arrival=Arrival.parse("spread:150")), "none").metrics
    assert (m.jobs_dispatched, m.deduplicated_at_dispatch, m.ai_calls) == (1, 0, 1)
    assert m.correct


def test_keep_leaves_the_scratch_home_with_its_database() -> None:
    result = run_race(FAST.changed(requests=2, keep=True), "cache-lock")
    assert result.kept_home is not None
    database = Database(result.kept_home / "moviemind.db")
    try:
        row = database.query_one("SELECT count(*) FROM jobs")
        assert row is not None and row[0] == 2
    finally:
        database.close()
    assert (result.kept_home / "locks").is_dir()
    assert (result.kept_home / "logs" / "moviemind.log").exists()


def test_fifty_bursts_of_two_level_make_one_job_and_one_ai_call_per_key() -> None:
    scenario = Scenario(requests=6, slugs=2, workers=3, latency_ms=1, jitter_ms=0)
    for round_number in range(50):
        m = run_race(scenario.changed(seed=round_number), "two-level").metrics
        assert (m.jobs_dispatched, m.ai_calls, m.movies, m.descriptions) == (2, 2, 2, 2), (
            round_number,
            m,
        )
        assert m.correct


def test_processes_mode_survives_a_killed_holder() -> None:
    scenario = Scenario(
        requests=3,
        slugs=1,
        workers=2,
        latency_ms=50,
        jitter_ms=0,
        mode="processes",
        kill_holder=True,
    )
    result = run_race(scenario, "two-level")
    m = result.metrics
    assert m.correct, m.verdict
    # The killed holder's call was paid; its job was taken back and called again.
    assert (m.jobs_dispatched, m.ai_calls, m.descriptions) == (1, 2, 1)
    assert "X" in result.timeline[0].bar


def test_a_paused_holder_shows_in_the_timeline() -> None:
    result = run_race(FAST.changed(requests=1, pause_holder_ms=50), "two-level")
    assert "~" in result.timeline[0].bar and result.metrics.correct


def test_compare_runs_each_strategy_once_in_order() -> None:
    results = run_compare(FAST.changed(requests=2), ["two-level", "none"])
    assert [result.strategy for result in results] == ["two-level", "none"]


def test_strategy_names() -> None:
    assert strategy_names("all") == list(TEACHING_ORDER)
    assert strategy_names(" setnx, none ,setnx") == ["setnx", "none"]
    with pytest.raises(InvalidInput, match="unknown strategy 'nope'; expected one of: "):
        strategy_names("none,nope")
    with pytest.raises(InvalidInput, match="no strategy named"):
        strategy_names(" , ")


def test_unknown_strategy_is_refused_before_any_work(scratch_parent: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown strategy 'fast'"):
        run_race(FAST, "fast")
    assert list(scratch_parent.iterdir()) == []


def test_percentiles_are_nearest_rank() -> None:
    values = [float(value) for value in range(1, 21)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (
        10.0,
        19.0,
        20.0,
    )
    assert percentile([], 50) == 0.0
    assert percentile([7.0], 95) == 7.0


def test_verdict_names_every_problem() -> None:
    assert (
        verdict(
            missing=0, duplicate_movies=0, duplicate_descriptions=0, failed_jobs=0, unanswered=0
        )
        == "correct"
    )
    assert verdict(
        missing=1, duplicate_movies=1, duplicate_descriptions=2, failed_jobs=1, unanswered=3
    ) == (
        "2 duplicate descriptions, 1 duplicate movie, 1 slug without a description, "
        "1 failed job, 3 unanswered requests"
    )


def test_timeline_bars_and_lock_wait() -> None:
    events = [
        ("queued", 0.0),
        ("waiting", 0.1),
        ("locked", 0.5),
        ("generating", 0.5),
        ("persisting", 0.9),
        ("ended", 1.0),
    ]
    assert draw_bar(events, 0.0, 1.0, 10) == ".----====#"
    assert waited_ms(events) == pytest.approx(400)
    assert "- waiting" in LEGEND and "= generating" in LEGEND
