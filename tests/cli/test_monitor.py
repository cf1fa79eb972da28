"""stats and logs: numbers computed from the jobs table, the JSON log made readable."""

from __future__ import annotations

import json

from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from moviemind_lite.app.wiring import App
from moviemind_lite.cli import cli
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.policy.exposition import prometheus_text
from moviemind_lite.policy.stats import collect
from tests.helpers import insert_finished, record_calls


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
    # Created and claimed in one transaction by the requester that ran it: one line.
    assert [r["message"] for r in records] == ["Job queued and claimed", "Job done"]
    assert {r["job_id"] for r in records} == {done.job.id}
    assert records[-1]["result"] == "created" and records[-1]["duration_ms"] is not None
    human = CliRunner().invoke(cli, ["logs", "--grep", "sicario"])
    lines = human.output.splitlines()
    assert len(lines) == 2 and all("slug=sicario-2015" in line for line in lines)
    assert "Job done" in lines[-1]


def test_logs_bad_job_id() -> None:
    result = CliRunner().invoke(cli, ["logs", "--job", "x"])
    assert (result.exit_code, result.output) == (
        2,
        "Error: 'x' is not a job id (expected a UUID such as 0199...)\n",
    )


def test_ai_usage_in_every_stats_format(app: App) -> None:
    record_calls(app)
    as_json = json.loads(CliRunner().invoke(cli, ["stats", "--json"]).output)
    assert as_json["ai_calls"] == {
        "calls": 4,
        "failed": 1,
        "prompt_tokens": 220,
        "completion_tokens": 140,
        "abandoned": 0,
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
    assert calls == {"ok": 3, "failed": 1, "abandoned": 0}
