"""stats and logs: numbers computed from the jobs table, the JSON log made readable."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from moviemind_lite.app.wiring import App
from moviemind_lite.cli import cli
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.ids import format_timestamp
from moviemind_lite.policy.stats import collect, percentile, prometheus_text


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.95) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (50.0, 95.0)


def insert_finished(
    app: App,
    status: str,
    started_ms: int,
    runtime_ms: int,
    ago_minutes: float,
    error: str | None = None,
) -> None:
    finished = datetime.now(UTC) - timedelta(minutes=ago_minutes)
    started = finished - timedelta(milliseconds=runtime_ms)
    created = started - timedelta(milliseconds=started_ms)
    with app.database.write() as conn:
        job = app.job_store.insert(conn, app_request(), "two-level")
        conn.execute(
            "UPDATE jobs SET status = ?, result = ?, error = ?, attempts = 1, created_at = ?, "
            "started_at = ?, finished_at = ? WHERE id = ?",
            (
                status,
                "created" if status == "DONE" else None,
                error,
                format_timestamp(created),
                format_timestamp(started),
                format_timestamp(finished),
                job.id,
            ),
        )


def app_request():  # type: ignore[no-untyped-def]
    from moviemind_lite.core.model import JobRequest

    return JobRequest("movie", "alien-1979", "en-US", "default")


def test_stats_from_jobs(app: App) -> None:
    for minutes, runtime in ((1, 100), (2, 200), (30, 300), (90, 5000)):
        insert_finished(app, "DONE", started_ms=10, runtime_ms=runtime, ago_minutes=minutes)
    insert_finished(app, "FAILED", started_ms=20, runtime_ms=50, ago_minutes=3, error="boom")
    app.job_store.create(app_request(), "two-level")
    stats = collect(app.database)
    assert stats.queue == {"PENDING": 1, "IN_PROGRESS": 0, "DONE": 4, "FAILED": 1}
    assert stats.jobs_per_minute_5m == 3 / 5
    assert stats.jobs_per_minute_60m == round(4 / 60, 2)
    assert stats.runtime_p50_ms is not None and abs(stats.runtime_p50_ms - 200) < 2
    assert stats.runtime_p95_ms is not None and abs(stats.runtime_p95_ms - 300) < 2
    assert stats.results == {"created": 4}
    assert [(f.slug, f.error) for f in stats.failed_last_hour] == [("alien-1979", "boom")]


def test_prometheus_text_parses(app: App) -> None:
    insert_finished(app, "DONE", started_ms=10, runtime_ms=100, ago_minutes=1)
    families = {
        f.name: f for f in text_string_to_metric_families(prometheus_text(collect(app.database)))
    }
    assert "moviemind_queue_jobs" in families
    done = [s for s in families["moviemind_queue_jobs"].samples if s.labels == {"status": "DONE"}]
    assert done[0].value == 1
    result = CliRunner().invoke(cli, ["stats", "--prometheus"])
    assert result.exit_code == 0
    assert list(text_string_to_metric_families(result.output))


def test_stats_json_and_conflicting_flags() -> None:
    result = CliRunner().invoke(cli, ["stats", "--json"])
    assert result.exit_code == 0
    assert set(json.loads(result.output)) >= {
        "jobs_per_minute_5m",
        "jobs_per_minute_60m",
        "runtime_p50_ms",
        "runtime_p95_ms",
        "wait_p50_ms",
        "wait_p95_ms",
        "queue",
        "results",
        "failed_last_hour",
    }
    both = CliRunner().invoke(cli, ["stats", "--json", "--prometheus"])
    assert both.exit_code == 2
    assert both.output.startswith("Error: choose one of --json and --prometheus")


def test_logs_follow_a_job(app: App) -> None:
    done = app.generation.request(MOVIE, "arrival-2016", timeout_s=30)
    other = app.generation.request(MOVIE, "sicario-2015", timeout_s=30)
    assert done.job is not None and other.job is not None
    result = CliRunner().invoke(cli, ["logs", "--job", done.job.id, "--json"])
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["message"] for r in records] == ["Job queued", "Job claimed", "Job done"]
    assert {r["job_id"] for r in records} == {done.job.id}
    assert records[-1]["result"] == "created" and records[-1]["duration_ms"] is not None
    human = CliRunner().invoke(cli, ["logs", "--grep", "sicario"])
    lines = human.output.splitlines()
    assert len(lines) == 3 and all("slug=sicario-2015" in line for line in lines)
    assert "Job done" in lines[-1]


def test_logs_bad_job_id() -> None:
    result = CliRunner().invoke(cli, ["logs", "--job", "x"])
    assert (result.exit_code, result.output) == (
        2,
        "Error: 'x' is not a job id (expected a UUID such as 0199...)\n",
    )


def record_calls(app: App) -> None:
    """Four AI calls: two a server reported tokens for, one mock call, one failed."""
    app.calls.record(
        "movie:a:en-US:default", ok=True, duration_ms=5, prompt_tokens=120, completion_tokens=80
    )
    app.calls.record(
        "movie:b:en-US:default", ok=True, duration_ms=5, prompt_tokens=100, completion_tokens=60
    )
    app.calls.record("movie:c:en-US:default", ok=True, duration_ms=5)
    app.calls.record("movie:d:en-US:default", ok=False, duration_ms=5)


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


def test_ai_usage_in_every_stats_format(app: App) -> None:
    record_calls(app)
    as_json = json.loads(CliRunner().invoke(cli, ["stats", "--json"]).output)
    assert as_json["ai_calls"] == {
        "calls": 4,
        "failed": 1,
        "prompt_tokens": 220,
        "completion_tokens": 140,
    }
    text = CliRunner().invoke(cli, ["stats"]).output
    assert "AI calls" in text and "4 (1 failed)" in text
    assert "220 prompt, 140 completion" in text
    result = CliRunner().invoke(cli, ["stats", "--prometheus"])
    families = {f.name: f for f in text_string_to_metric_families(result.output)}
    assert families["moviemind_ai_tokens"].type == "counter"
    tokens = {s.labels["kind"]: s.value for s in families["moviemind_ai_tokens"].samples}
    assert tokens == {"prompt": 220, "completion": 140}
    calls = {s.labels["outcome"]: s.value for s in families["moviemind_ai_calls"].samples}
    assert calls == {"ok": 3, "failed": 1}
