"""Staged rollouts: plans, verdicts, real jobs moving stages, rollbacks, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import JobSettings, Settings
from moviemind_lite.policy.rollout import (
    DEFAULT_MAX_ERROR_RATE,
    DEFAULT_MAX_P95_MS,
    DEFAULT_MIN_JOBS,
)
from moviemind_lite.store.jobs import JobStore
from tests.cli.conftest import assert_one_line_error, run
from tests.helpers import flag_tables

DESCRIPTIONS = "ai_description_generation"


KNOWN = (
    "ai_description_generation, ai_bio_generation, ai_generation_baseline_locking, "
    "catalog_read_only_mode"
)


pytestmark = pytest.mark.usefixtures("as_tester")


@pytest.fixture
def store(app: App) -> JobStore:
    return JobStore(app.database, JobSettings(backoff_ms=0))


def snapshot(app: App) -> list[list[tuple[object, ...]]]:
    return flag_tables(app.database)


@pytest.fixture
def opened(settings: Settings) -> Iterator[App]:
    assert run("rollout", "start", DESCRIPTIONS, "--stages", "5,25,100").exit_code == 0
    with build_app(settings) as app:
        yield app


START = ("rollout", "start", DESCRIPTIONS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("rollout", "start", "nope", "--stages", "5"),
            f"unknown flag 'nope'; expected one of: {KNOWN}",
        ),
        (
            ("rollout", "start", "ai_bio_generation", "--stages", "25,5"),
            "stages must be strictly increasing, got 25,5",
        ),
        (
            ("rollout", "start", "ai_bio_generation", "--stages", "0,100"),
            "stages must be between 1 and 100, got 0",
        ),
        (
            ("rollout", "start", "ai_bio_generation", "--stages", "5,250"),
            "stages must be between 1 and 100, got 250",
        ),
        (
            ("rollout", "start", "ai_bio_generation", "--stages", "five"),
            "stages must be whole percentages separated by commas (e.g. 5,25,100), got 'five'",
        ),
        (
            ("rollout", "start", "catalog_read_only_mode", "--stages", "5"),
            "flag 'catalog_read_only_mode' cannot be changed at run time: workers already "
            "running would keep writing; start the processes with "
            "MOVIEMIND_FLAG_CATALOG_READ_ONLY_MODE=on instead",
        ),
        (
            (*START, "--stages", "50,100"),
            f"{DESCRIPTIONS} already has an active rollout in local (stage 1/3, 5%); "
            "advance or abort it first",
        ),
        (("rollout", "advance", "nope"), f"unknown flag 'nope'; expected one of: {KNOWN}"),
        (("rollout", "abort", "nope"), f"unknown flag 'nope'; expected one of: {KNOWN}"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    opened: App, args: tuple[str, ...], message: str
) -> None:
    before = snapshot(opened)
    result = run(*args)
    assert (result.exit_code, result.output) == (2, f"Error: {message}\n")
    assert snapshot(opened) == before


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--min-jobs=-1", "'-1' is not a whole number from 0 to 1000000000"),
        ("--max-error-rate=1.2", "'1.2' is not a number from 0 to 1"),
        ("--max-p95-ms=0", "'0' is not a number of ms above 0 and at most 86400000 (one day)"),
    ],
)
def test_guardrail_limits_out_of_range_are_refused(opened: App, option: str, message: str) -> None:
    before = snapshot(opened)
    result = run("rollout", "start", "ai_bio_generation", "--stages=5", option)
    assert_one_line_error(result, 2, f"'{option.split('=')[0]}': {message}")
    assert snapshot(opened) == before


@pytest.mark.parametrize(
    "args",
    [
        ("rollout", "start", "ai_bio_generation"),
        ("rollout", "start", "ai_bio_generation", "--stages", "5", "--min-jobs", "many"),
        ("rollout", "start", "ai_bio_generation", "--stages", "5", "--max-error-rate", "x"),
        ("rollout", "start", "ai_bio_generation", "--stages", "5", "--max-p95-ms", "slow"),
    ],
)
def test_options_click_refuses_are_one_line_exit_2(opened: App, args: tuple[str, ...]) -> None:
    before = snapshot(opened)
    result = run(*args)
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert snapshot(opened) == before


@pytest.mark.parametrize("command", ["advance", "abort"])
def test_advance_or_abort_without_a_rollout_exits_1(opened: App, command: str) -> None:
    result = run("rollout", command, "ai_bio_generation")
    assert (result.exit_code, result.output) == (
        1,
        "Error: no active rollout of ai_bio_generation in local\n",
    )


def test_cli_start_advance_abort_print_one_line_each() -> None:
    started = run(*START, "--stages", "5,25,100", "--min-jobs", "3")
    assert (started.exit_code, started.output) == (
        0,
        f"{DESCRIPTIONS}: rollout started at 5% in local (5% → 25% → 100%)\n",
    )
    advanced = run("rollout", "advance", DESCRIPTIONS)
    assert advanced.output == f"{DESCRIPTIONS}: 5% → 25% (stage 2/3) in local\n"
    aborted = run("rollout", "abort", DESCRIPTIONS)
    assert aborted.output == (
        f"{DESCRIPTIONS}: rollout aborted at 25% (stage 2/3); flag off in local\n"
    )
    assert run("rollout", "start", "ai_bio_generation", "--stages", "100").exit_code == 0
    completed = run("rollout", "advance", "ai_bio_generation")
    assert completed.output == "ai_bio_generation: rollout completed at 100% in local\n"


def test_cli_help_shows_the_core_defaults() -> None:
    result = run("rollout", "start", "--help")
    assert f"[default: {DEFAULT_MIN_JOBS}]" in result.output
    assert f"[default: {DEFAULT_MAX_ERROR_RATE}]" in result.output
    assert f"[default: {DEFAULT_MAX_P95_MS}]" in result.output


def test_status_json_keys_and_table() -> None:
    assert run("rollout", "status").output == "No rollouts in local.\n"
    assert json.loads(run("rollout", "status", "--json").output) == []
    run(*START, "--stages", "5,25,100", "--min-jobs", "3", "--max-p95-ms", "900")
    result = run("rollout", "status", "--json")
    assert result.exit_code == 0
    (report,) = json.loads(result.output)
    assert list(report) == [
        "id",
        "flag",
        "environment",
        "status",
        "stages",
        "stage",
        "percentage",
        "jobs_observed",
        "jobs_failed",
        "min_jobs",
        "error_rate",
        "max_error_rate",
        "p95_ms",
        "max_p95_ms",
        "reason",
        "started_by",
        "started_at",
        "stage_started_at",
        "ended_at",
    ]
    assert {key: report[key] for key in list(report)[1:16]} == {
        "flag": DESCRIPTIONS,
        "environment": "local",
        "status": "active",
        "stages": [5, 25, 100],
        "stage": 1,
        "percentage": 5,
        "jobs_observed": 0,
        "jobs_failed": 0,
        "min_jobs": 3,
        "error_rate": None,
        "max_error_rate": 0.05,
        "p95_ms": None,
        "max_p95_ms": 900.0,
        "reason": None,
        "started_by": "tester",
    }
    header, row = run("rollout", "status").output.splitlines()
    assert header.split() == [
        "flag",
        "status",
        "stage",
        "percentage",
        "jobs",
        "error",
        "rate",
        "p95",
        "started",
        "reason",
    ]
    assert row.split()[:11] == [
        DESCRIPTIONS,
        "active",
        "1/3",
        "5%",
        "0/3",
        "-",
        "(max",
        "0.05)",
        "-",
        "(max",
        "900",
    ]
