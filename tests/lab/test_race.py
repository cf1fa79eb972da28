"""Small races whose numbers are known: the lab counts what the production code did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moviemind_lite.app.generation import Generation
from moviemind_lite.app.views import RequestOutcome
from moviemind_lite.core.domain import EntityKind
from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.lab.metrics import CORRECT, METRIC_KEYS, percentile, verdict
from moviemind_lite.lab.race import (
    MAX_CLIENTS,
    TEACHING_ORDER,
    compare_json,
    run_compare,
    run_race,
    strategy_names,
)
from moviemind_lite.lab.scenario import Arrival, Scenario
from moviemind_lite.lab.timeline import (
    GENERATING,
    LEGEND,
    draw_bar,
    entered,
    peak_overlap,
    waited_ms,
)
from moviemind_lite.store.sqlite import SqliteDatabase

FAST = Scenario(latency_ms=1, jitter_ms=0)


def test_two_level_burst_counts(home: Path, scratch_parent: Path) -> None:
    # A slow AI call: every request dispatches while its key's job is on its way.
    scenario = Scenario(requests=6, slugs=2, workers=3, latency_ms=200, jitter_ms=0)
    result = run_race(scenario, "two-level")
    m = result.metrics
    assert (m.requests, m.jobs_dispatched, m.deduplicated, m.ai_calls) == (6, 2, 4, 2)
    assert (m.movies, m.descriptions, m.duplicate_movies, m.duplicate_descriptions) == (2, 2, 0, 0)
    assert (m.failed_jobs, m.stale_writes_rejected, m.lock_wait_ms) == (0, 0, 0)
    assert m.verdict == CORRECT and m.correct
    assert 0 <= m.latency.p50_ms <= m.latency.p95_ms <= m.latency.max_ms <= m.wall_ms
    assert tuple(m.to_json()) == METRIC_KEYS
    assert m.to_json()["latency_ms"] == {
        "p50": m.latency.p50_ms,
        "p95": m.latency.p95_ms,
        "max": m.latency.max_ms,
    }
    assert m.to_json()["correct"] is True
    assert len(result.timeline) == 2 and result.kept_home is None
    left = result.aftermath
    assert (left.unanswered_requests, left.unfinished_jobs, left.open_slots) == (0, 0, 0)
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
    assert (m.jobs_dispatched, m.deduplicated, m.ai_calls) == (1, 0, 1)
    assert m.correct


def test_keep_leaves_the_scratch_home_with_its_database() -> None:
    result = run_race(FAST.changed(requests=2, keep=True), "cache-lock")
    assert result.kept_home is not None
    database = SqliteDatabase(result.kept_home / "moviemind.db")
    try:
        row = database.query_one("SELECT count(*) FROM jobs")
        assert row is not None and row[0] == 2
    finally:
        database.close()
    assert (result.kept_home / "locks").is_dir()
    assert (result.kept_home / "logs" / "moviemind.log").exists()


def test_a_crowd_bigger_than_the_client_threads_is_served_in_arrival_order() -> None:
    requests = MAX_CLIENTS * 2 + 5
    scenario = Scenario(requests=requests, slugs=requests, workers=8, latency_ms=0, jitter_ms=0)
    result = run_race(scenario, "two-level")
    m = result.metrics
    assert (m.requests, m.jobs_dispatched, m.movies, m.descriptions) == (requests,) * 4
    assert m.correct and result.aftermath.unanswered_requests == 0


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_request_that_crashes_is_unanswered_and_the_race_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = Generation.request

    def crashing(self: Generation, kind: EntityKind, slug: str, **options: Any) -> RequestOutcome:
        if slug == "race-movie-002":
            raise RuntimeError("a bug")
        return real(self, kind, slug, **options)

    monkeypatch.setattr(Generation, "request", crashing)
    result = run_race(FAST.changed(requests=2, slugs=2), "two-level")
    assert result.metrics.verdict == "1 slug without a description, 1 unanswered request"
    assert not result.metrics.correct and result.aftermath.unanswered_requests == 1


def test_the_json_of_race_and_compare() -> None:
    scenario = FAST.changed(requests=2)
    results = run_compare(scenario, ["two-level", "none"])
    assert set(results[0].to_json()) == {"backend", "locks", "scenario", "metrics", "correct"}
    assert results[0].to_json()["scenario"] == scenario.to_json()
    assert (results[0].to_json()["backend"], results[0].to_json()["locks"]) == ("sqlite", "file")
    compared = compare_json(scenario, results)
    assert set(compared) == {"scenario", "results"}
    assert [entry["strategy"] for entry in compared["results"]] == ["two-level", "none"]
    keys = {"strategy", "label", "backend", "locks", "metrics", "correct"}
    assert all(set(entry) == keys for entry in compared["results"])


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


def test_peak_overlap_and_entered() -> None:
    phases = {
        "a": [("generating", 0.0), ("persisting", 1.0), ("ended", 1.1)],
        "b": [("generating", 0.5), ("persisting", 1.5), ("ended", 1.6)],
        "c": [("generating", 1.5), ("persisting", 2.0), ("ended", 2.1)],  # touches b
    }
    assert peak_overlap(phases, GENERATING) == 2
    assert peak_overlap(phases, "waiting") == 0
    assert entered(phases, "persisting") == [(1.0, "a"), (1.5, "b"), (2.0, "c")]


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
