"""stats and logs: numbers computed from the jobs table, the JSON log made readable."""

from __future__ import annotations

import pytest

from moviemind_lite.app.wiring import App
from moviemind_lite.core.model import JobRequest
from moviemind_lite.policy import stats as stats_module
from moviemind_lite.policy.stats import collect, percentile
from tests.helpers import insert_finished, record_calls

pytestmark = pytest.mark.usefixtures("engines")


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.95) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (50.0, 95.0)


def test_stats_from_jobs(app: App) -> None:
    for minutes, runtime in ((1, 100), (2, 200), (30, 300), (90, 5000)):
        insert_finished(app, "DONE", started_ms=10, runtime_ms=runtime, ago_minutes=minutes)
    insert_finished(app, "FAILED", started_ms=20, runtime_ms=50, ago_minutes=3, error="boom")
    app.job_store.create(JobRequest("movie", "alien-1979", "en-US", "default"), "two-level")
    stats = collect(app.database)
    assert stats.queue == {"PENDING": 1, "IN_PROGRESS": 0, "DONE": 4, "FAILED": 1}
    assert stats.jobs_per_minute_5m == 3 / 5
    assert stats.jobs_per_minute_60m == round(4 / 60, 2)
    assert stats.runtime_p50_ms is not None and abs(stats.runtime_p50_ms - 200) < 2
    assert stats.runtime_p95_ms is not None and abs(stats.runtime_p95_ms - 300) < 2
    assert stats.results == {"created": 3}  # of the hour: not the job 90 minutes ago
    assert [(f.slug, f.error) for f in stats.failed_last_hour] == [("alien-1979", "boom")]


def test_percentiles_are_those_of_the_newest_jobs_of_the_hour(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats_module, "PERCENTILE_SAMPLE", 2)
    for minutes, runtime in ((1, 100), (2, 200), (30, 9000), (40, 9000)):
        insert_finished(app, "DONE", started_ms=10, runtime_ms=runtime, ago_minutes=minutes)
    stats = collect(app.database)
    assert stats.jobs_per_minute_60m == round(4 / 60, 2)  # rates count every job of the hour
    assert stats.runtime_p95_ms is not None and abs(stats.runtime_p95_ms - 200) < 2


def test_ai_calls_and_tokens_are_counted(app: App) -> None:
    record_calls(app)
    usage = collect(app.database).ai_calls
    assert (usage.calls, usage.failed, usage.prompt_tokens, usage.completion_tokens) == (
        4,
        1,
        220,
        140,
    )
    rows = app.database.query("SELECT prompt_tokens, completion_tokens FROM ai_calls ORDER BY id")
    assert [tuple(row) for row in rows][2:] == [(None, None), (None, None)]
