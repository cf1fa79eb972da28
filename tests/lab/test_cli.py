"""``race``, ``compare``, ``lab`` and the demo on the command line: exit codes, JSON, errors."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from moviemind_lite.cli import cli
from moviemind_lite.lab.teaching import LESSONS, Check

METRIC_KEYS = [
    "requests",
    "jobs_dispatched",
    "deduplicated_at_dispatch",
    "ai_calls",
    "movies",
    "descriptions",
    "duplicate_movies",
    "duplicate_descriptions",
    "failed_jobs",
    "stale_writes_rejected",
    "wall_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_max_ms",
    "lock_wait_ms",
    "verdict",
]
FAST = ["--requests", "3", "--latency", "1", "--jitter", "0"]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_race_json_has_exactly_the_metric_keys(home: Path) -> None:
    result = run("race", "--strategy", "two-level", *FAST, "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert list(metrics) == METRIC_KEYS
    assert (metrics["requests"], metrics["verdict"]) == (3, "correct")
    assert not home.exists()  # never the user's home


def test_race_prints_table_timeline_and_spelled_out_verdict() -> None:
    result = run(
        "race",
        "--strategy",
        "cache-lock",
        "--requests",
        "3",
        "--workers",
        "3",
        "--latency",
        "150",
        "--jitter",
        "0",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("scenario: --requests 3 --workers 3 --latency 150 --jitter 0\n")
    assert re.search(r"verdict\s+│\s+wrong: 2 duplicate descriptions", out)
    assert "timeline: cache-lock (0 to " in out
    assert len(re.findall(r"race-movie-001 \w{4} \|[ .+=#~X-]+\| ", out)) == 3
    assert "\nlegend: . queued  - waiting  + locked  = generating" in out


def test_compare_json_csv_and_order(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    result = run("compare", "--strategies", "two-level,none", *FAST, "--json", "--csv", str(target))
    assert result.exit_code == 0, result.output
    compared = json.loads(result.stdout)
    assert list(compared) == ["two-level", "none"]
    assert all(list(metrics) == METRIC_KEYS for metrics in compared.values())
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert rows[0] == ["strategy", *METRIC_KEYS]
    assert [row[0] for row in rows[1:]] == ["two-level", "none"]
    assert rows[1][-1] == compared["two-level"]["verdict"]


def test_compare_all_is_every_strategy_side_by_side() -> None:
    result = run("compare", *FAST)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "metric" in line)
    assert re.findall(r"[a-z-]+(?= ┃| *$)", header.replace("┃ metric", ""))[:7] == [
        "none",
        "cache-lock",
        "cache-lock-recheck",
        "unique-index",
        "for-update",
        "setnx",
        "two-level",
    ]


def test_keep_prints_the_scratch_folder_on_stderr() -> None:
    result = run("race", "--strategy", "none", *FAST, "--keep", "--json")
    assert result.exit_code == 0
    (line,) = result.stderr.splitlines()
    kept = Path(line.removeprefix("kept scratch folder for none: "))
    assert (kept / "moviemind.db").exists()
    json.loads(result.stdout)  # stdout stays pure JSON


def assert_usage_error(result: Result, text: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert text in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (
            ["race", "--strategy", "fast"],
            "unknown strategy 'fast'; expected one of: cache-lock, cache-lock-recheck, for-update, "
            "none, setnx, two-level, unique-index",
        ),
        (["compare", "--strategies", "none,fast"], "unknown strategy 'fast'"),
        (["race", "--strategy", "none", "--requests", "-1"], "requests must be 1..1000, got -1"),
        (["race", "--strategy", "none", "--latency", "-5"], "latency must be >= 0 ms, got -5"),
        (["race", "--strategy", "none", "--workers", "0"], "workers must be 1..64, got 0"),
        (["race", "--strategy", "none", "--ttl", "-1"], "ttl must be > 0 ms"),
        (["race", "--strategy", "none", "--fail-rate", "2"], "fail rate must be between 0 and 1"),
        (["race", "--strategy", "none", "--arrival", "trickle"], "bad arrival 'trickle'"),
        (["race", "--strategy", "none", "--arrival", "spread:-3"], "bad arrival 'spread:-3'"),
        (["race", "--strategy", "none", "--kill-holder"], "--kill-holder needs --mode processes"),
        (["race", "--strategy", "none", "--requests", "many"], "'many' is not a valid integer"),
        (["race", "--strategy", "none", "--mode", "fibers"], "'fibers' is not one of"),
        (["race"], "Missing option '--strategy'"),
        (["lab", "run", "nope"], "unknown lab scenario 'nope'; expected one of: shipped-bug"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], text: str) -> None:
    assert_usage_error(run(*args), text)


def test_lab_list() -> None:
    human = run("lab", "list")
    assert human.exit_code == 0
    for name, lesson in LESSONS.items():
        assert re.search(rf"^{name} +{re.escape(lesson.title)}$", human.stdout, re.MULTILINE)
    listed = json.loads(run("lab", "list", "--json").stdout)
    assert [entry["name"] for entry in listed] == list(LESSONS)
    assert set(listed[0]) == {"name", "title", "explanation", "runs"}
    assert listed[0]["runs"][0]["command"].startswith("moviemind race --strategy cache-lock ")


def test_lab_run_reports_and_checks() -> None:
    result = run("lab", "run", "two-level")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("two-level: Two-level dedup: one job and one AI call per key\n")
    assert "$ moviemind race --strategy two-level --requests 12 --slugs 3" in result.stdout
    assert "check PASSED: 12 requests for 3 slugs: 3 jobs, 9 deduplicated at dispatch" in (
        result.stdout
    )
    as_json = json.loads(run("lab", "run", "two-level", "--json").stdout)
    assert as_json["scenario"] == "two-level" and as_json["passed"] is True
    assert list(as_json["results"]["two-level"]) == METRIC_KEYS


def test_lab_run_exits_1_when_the_lesson_did_not_happen(monkeypatch: pytest.MonkeyPatch) -> None:
    lesson = LESSONS["two-level"]
    failing = lesson.__class__(
        lesson.name,
        lesson.title,
        lesson.explanation,
        lesson.scenario,
        lesson.runs,
        lambda scenario, metrics: Check(False, "nothing happened"),
    )
    monkeypatch.setitem(LESSONS, "two-level", failing)
    result = run("lab", "run", "two-level")
    assert result.exit_code == 1
    assert "check FAILED: nothing happened" in result.stdout
    assert result.stderr == "Error: the lesson 'two-level' did not show what it should\n"
    assert run("lab", "run", "two-level", "--json").exit_code == 1


def test_demo_ends_with_the_race() -> None:
    result = run("demo")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("Thomas Anderson za dnia") < out.index(
        "$ moviemind compare --strategies cache-lock,two-level"
    )
    assert "What happened: 5 requests for the same unknown movie arrived at once." in out
    assert (
        "- two-level gave all 5 requests one job (4 deduplicated at dispatch): 1 AI call, " in out
    )
