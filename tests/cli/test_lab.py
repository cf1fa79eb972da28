"""``race``, ``compare``, ``lab`` and the demo on the command line: exit codes, JSON, errors."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import Result

from moviemind_lite.cli import lab as cli_lab
from moviemind_lite.lab.lesson import Check, LessonReport
from moviemind_lite.lab.metrics import LATENCY_KEYS, METRIC_KEYS
from moviemind_lite.lab.race import RaceResult
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.teaching import LESSONS, TOUR, RaceLesson
from tests.cli.conftest import run
from tests.engines import Engines, lab_servers

FAST = ["--requests", "3", "--latency", "1", "--jitter", "0"]
SCENARIO_KEYS = set(Scenario().to_json())


def assert_metrics_shape(metrics: dict[str, object]) -> None:
    assert list(metrics) == list(METRIC_KEYS)
    assert isinstance(metrics["latency_ms"], dict)
    assert list(metrics["latency_ms"]) == list(LATENCY_KEYS)
    assert isinstance(metrics["correct"], bool)


def test_race_json_is_scenario_metrics_and_correct(home: Path) -> None:
    result = run("race", "--strategy", "two-level", *FAST, "--json")
    assert result.exit_code == 0, result.output
    raced = json.loads(result.stdout)
    assert list(raced) == ["backend", "locks", "scenario", "metrics", "correct"]
    assert (raced["backend"], raced["locks"]) == ("sqlite", "file")
    assert set(raced["scenario"]) == SCENARIO_KEYS
    assert (raced["scenario"]["requests"], raced["scenario"]["latency_ms"]) == (3, 1.0)
    assert_metrics_shape(raced["metrics"])
    assert (raced["metrics"]["requests"], raced["correct"], raced["metrics"]["correct"]) == (
        3,
        True,
        True,
    )
    assert not home.exists()  # never the user's home


def test_race_prints_one_row_per_strategy_a_timeline_and_the_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raced: list[RaceResult] = []
    print_races = cli_lab.print_races

    def keep(
        results: Sequence[RaceResult], scenario: Scenario, backends: Sequence[str] | None = None
    ) -> None:
        raced.extend(results)
        print_races(results, scenario, backends)

    monkeypatch.setattr(cli_lab, "print_races", keep)
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
        env={"COLUMNS": "250"},  # wide enough for every column in one table
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("scenario: --requests 3 --workers 3 --latency 150 --jitter 0\n")
    assert re.search(
        r"┃ strategy +┃ verdict +┃ dup movies ┃ dup descr. ┃ failed ┃ AI calls ┃ wall ms ┃ "
        r"requests ┃ jobs ┃ dedup ┃",
        out,
    )
    row = r"│ cache-lock │ 2 duplicate descriptions │ +0 │ +2 │ +0 │ +3 │ +([0-9]+) │ +3 │ +3 │"
    assert len(re.findall(row, out)) == 1
    assert "timeline: cache-lock (0 to " in out
    # One slug, three workers: the floor is one AI call; the ratio is the race's
    # measured wall time over it (not a rounded table cell read back).
    ideal = "ideal 150 ms (one AI call per slug, 3 at a time); wall / ideal: "
    assert f"{ideal}cache-lock {raced[0].metrics.wall_ms / 150:.2f}x\n" in out
    assert len(re.findall(r"race-movie-001 \w{4} \|[ .+=#~X-]+\| ", out)) == 3
    assert "\nlegend: . queued  - waiting  + locked  = generating" in out


def test_compare_json_csv_and_order(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    result = run("compare", "--strategies", "two-level,none", *FAST, "--json", "--csv", str(target))
    assert result.exit_code == 0, result.output
    compared = json.loads(result.stdout)
    assert list(compared) == ["scenario", "results"]
    assert set(compared["scenario"]) == SCENARIO_KEYS
    assert [entry["strategy"] for entry in compared["results"]] == ["two-level", "none"]
    for entry in compared["results"]:
        keys = ["strategy", "label", "backend", "locks", "metrics", "correct"]
        assert list(entry) == keys
        assert_metrics_shape(entry["metrics"])
        assert entry["correct"] is entry["metrics"]["correct"]
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert rows[0][:4] == ["strategy", "requests", "jobs_dispatched", "deduplicated"]
    assert rows[0][-7:] == [
        "wall_ms",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_max_ms",
        "lock_wait_ms",
        "correct",
        "verdict",
    ]
    assert [row[0] for row in rows[1:]] == ["two-level", "none"]
    assert rows[1][-1] == "correct"


def test_compare_all_is_every_strategy_one_row_each() -> None:
    result = run("compare", *FAST)
    assert result.exit_code == 0, result.output
    first_table = result.stdout.split("└")[0]
    strategies = re.findall(r"^│ ([a-z-]+) +│", first_table, re.MULTILINE)
    assert strategies == [
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
            "unknown strategy 'fast'; expected one of: none, cache-lock, cache-lock-recheck, "
            "unique-index, for-update, setnx, two-level",
        ),
        (["compare", "--strategies", "none,fast"], "unknown strategy 'fast'; expected one of: "),
        (["race", "--strategy", "none", "--requests", "0"], "requests must be 1..100000, got 0"),
        (["race", "--strategy", "none", "--ttl", "-5"], "ttl must be a number of ms above 0"),
        (
            ["race", "--strategy", "none", "--fail-rate", "2"],
            "fail rate must be a number from 0 to 1",
        ),
        (["race", "--strategy", "none", "--fail-rate", "nan"], "fail rate must be a number from 0"),
        (["race", "--strategy", "none", "--kill-holder"], "--kill-holder needs --mode processes"),
        (["compare", "--kill-holder"], "--kill-holder needs --mode processes"),
        (["race", "--strategy", "setnx", "--stop-holder", "5"], "--stop-holder needs --mode"),
        (["compare", "--skew-ms", "5"], "--skew-ms needs --mode processes"),
        (["compare", "--skew-ms", "-5", "--mode", "processes"], "skew must be a number of ms"),
        (["compare", "--slot-ttl", "0"], "slot ttl must be a number of ms above 0"),
        (
            ["compare", "--mode", "processes", "--stop-holder", "5", "--kill-holder"],
            "give one holder fault",
        ),
        (
            ["race", "--strategy", "none", "--latency", "-5"],
            "latency must be a number of ms from 0",
        ),
        (
            ["race", "--strategy", "none", "--latency", "99999999999999999999999"],
            "latency must be a number of ms from 0 to 86400000 (one day), got 1e+23",
        ),
        (["compare", "--pause-holder", "1e23"], "pause holder must be a number of ms from 0 to"),
        (["compare", "--jitter", "inf"], "jitter must be a number of ms from 0 to 86400000"),
        (["race", "--strategy", "none", "--seed", "1" + "0" * 30], "seed must be a whole number"),
        (["race", "--strategy", "none", "--arrival", "spread:1e309"], "bad arrival 'spread:1e309'"),
        (["race", "--strategy", "none", "--workers", "0"], "workers must be 1..64, got 0"),
        (["race", "--strategy", "none", "--arrival", "trickle"], "bad arrival 'trickle'"),
        (["race", "--strategy", "none", "--requests", "many"], "'many' is not a valid integer"),
        (["race", "--strategy", "none", "--mode", "fibers"], "'fibers' is not one of"),
        (["race"], "Missing option '--strategy'"),
        (["lab", "run", "nope"], "unknown lab scenario 'nope'; expected one of: thundering-herd"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], text: str) -> None:
    assert_usage_error(run(*args), text)


def test_lab_list() -> None:
    human = run("lab", "list")
    assert human.exit_code == 0
    # A title too long for the line goes on under itself.
    joined = re.sub(r"\n {2,}", " ", human.stdout)
    for name, lesson in LESSONS.items():
        assert re.search(rf"^{name} +{re.escape(lesson.title)}$", joined, re.MULTILINE)
    listed = json.loads(run("lab", "list", "--json").stdout)
    assert [entry["name"] for entry in listed] == list(LESSONS)
    assert all(set(entry) == {"name", "title", "explanation", "commands"} for entry in listed)
    assert listed[1]["commands"][0].startswith("moviemind race --strategy cache-lock ")


def test_lab_run_explains_replays_and_checks() -> None:
    result = run("lab", "run", "wasted-ai-calls", "--fast")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(
        "wasted-ai-calls: The UNIQUE index alone is correct, and every racer pays\n"
    )
    assert "$ moviemind race --strategy unique-index --requests 8 --workers 8 --latency 80" in out
    assert re.search(r"│ unique-index +│ correct +│ +0 │ +0 │ +0 │", out)
    assert re.search(r"│ unique-index +│ +8 │", out)  # AI calls, in the next table
    assert "timeline: two-level (0 to " in out
    assert "check PASSED: both wrote 1 movie and 1 description (same rows); unique-index" in out


def test_lab_run_json() -> None:
    result = run("lab", "run", "the-original-bug", "--fast", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert list(report) == ["name", "title", "fast", "passed", "check", "runs"]
    assert [entry["label"] for entry in report["runs"]] == ["cache-lock", "cache-lock-recheck"]
    assert report["runs"][0]["correct"] is False and report["runs"][1]["correct"] is True


def test_lab_run_prints_the_flag_lessons_as_a_table() -> None:
    result = run("lab", "run", "baseline-regenerate", "--fast")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r"│ baseline locking off │ 16 alternatives, baseline untouched +│ +16 │", out)
    assert re.search(r"│ baseline locking off │ +16 │ +1 -> 1 │ untouched │ +16 │", out)
    assert re.search(r"│ baseline locking on +│ +16 │ +1 -> 17 │ rewritten │ +0 │", out)
    assert re.search(r"│ baseline locking off │ alternative_appended x16 │", out)


def test_lab_run_exits_1_with_the_reason_when_the_lesson_did_not_happen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lesson = LESSONS["wasted-ai-calls"]
    assert isinstance(lesson, RaceLesson)

    def never(results: object) -> Check:
        return Check(False, "nothing happened")

    monkeypatch.setitem(
        LESSONS,
        "wasted-ai-calls",
        RaceLesson(
            lesson.name, lesson.title, lesson.explanation, lesson.scenario, lesson.runs, never
        ),
    )
    result = run("lab", "run", "wasted-ai-calls", "--fast")
    assert result.exit_code == 1
    assert "check FAILED: nothing happened" in result.stdout
    assert result.stderr == (
        "Error: the lesson 'wasted-ai-calls' did not show what it should: nothing happened\n"
    )
    as_json = run("lab", "run", "wasted-ai-calls", "--fast", "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["passed"] is False


def test_demo_tours_the_catalog_then_the_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each lesson's own run is tested in test_teaching; here the tour's order,
    # its headings and its exit status, with every lesson answering at once.
    from moviemind_lite.lab import teaching

    played: list[tuple[str, bool]] = []

    def instant(
        name: str, *, fast: bool = False, on_progress: object = None, servers: object = None
    ) -> LessonReport:
        played.append((name, fast))
        passed = name != failing
        return LessonReport(LESSONS[name], fast, (), (), Check(passed, f"{name} checked"))

    monkeypatch.setattr(teaching, "run_lesson", instant)
    failing = ""
    result = run("demo", "--fast")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert played == [(name, True) for name in TOUR]
    assert out.index("Thomas Anderson za dnia") < out.index("[1/7] $ moviemind lab run ")
    for number, name in enumerate(TOUR, start=1):
        assert f"[{number}/{len(TOUR)}] $ moviemind lab run {name}\n{name}: " in out
        assert f"check PASSED: {name} checked" in out
        assert LESSONS[name].explanation[:40] in out.replace("\n", " ")
    assert re.search(r"\nThe tour took \d+ s\. More: `moviemind lab list`", out)
    failing = "fencing"
    result = run("demo")
    assert result.exit_code == 1
    assert result.stderr == "Error: the tour's checks failed for: fencing\n"


@pytest.mark.usefixtures("engines")
def test_race_runs_on_the_engines_the_urls_chose_in_a_scratch_namespace(
    engines: Engines,
) -> None:
    result = run("race", "--strategy", "two-level", *FAST, "--json")
    assert result.exit_code == 0, result.output
    raced = json.loads(result.stdout)
    expected = ("postgres", "redis") if engines.on_servers else ("sqlite", "file")
    assert (raced["backend"], raced["locks"]) == expected
    assert raced["correct"] is True


def test_compare_puts_each_strategy_on_each_backend_side_by_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    servers = lab_servers(Engines("postgres", "file"))
    assert servers.database_url is not None
    monkeypatch.setenv("MOVIEMIND_DATABASE_URL", servers.database_url.reveal())
    options = ["--requests", "4", "--slugs", "4", "--latency", "20", "--jitter", "0"]
    result = run(
        "compare",
        "--strategies",
        "for-update,two-level",
        "--backends",
        "sqlite,postgres",
        *options,
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = [
        (entry["strategy"], entry["backend"], entry["locks"], entry["correct"])
        for entry in json.loads(result.stdout)["results"]
    ]
    assert rows == [
        ("for-update", "sqlite", "file", True),
        ("for-update", "postgres", "file", True),
        ("two-level", "sqlite", "file", True),
        ("two-level", "postgres", "file", True),
    ]
    table = run("compare", "--strategies", "two-level", "--backends", "sqlite,postgres", *options)
    assert "two-level (sqlite)" in table.output and "two-level (postgres)" in table.output
    # The header names both backends, not the one the URL chose.
    header = " ".join(table.stdout.split("\n┏")[0].split())
    assert (
        header
        == "scenario: --requests 4 --slugs 4 --latency 20 --jitter 0 --backends sqlite,postgres"
    )


def test_a_backend_without_its_server_is_one_line_of_bad_input() -> None:
    result = run("race", "--strategy", "two-level", "--backend", "postgres", *FAST)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: --backend postgres needs a PostgreSQL server: set MOVIEMIND_DATABASE_URL "
        "(or --database-url) to postgresql://..."
    )
    result = run("race", "--strategy", "two-level", "--locks", "redis", *FAST)
    assert result.exit_code == 2 and "--locks redis needs a Redis server" in result.output
    result = run("compare", "--strategies", "two-level", "--backends", "sqlite,oracle", *FAST)
    assert result.exit_code == 2
    assert "unknown backend 'oracle'; expected one of: sqlite, postgres" in result.output
