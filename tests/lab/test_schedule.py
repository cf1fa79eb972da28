"""``race --schedule``: a schedule replays one interleaving, the same every run, or says why not."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.lab.metrics import METRIC_KEYS
from moviemind_lite.lab.race import RaceResult, run_race
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.schedule import ScheduleError, load_schedule
from moviemind_lite.lab.scratch import Servers
from tests.cli.conftest import assert_one_line_error, run
from tests.engines import BOTH_ENDS, Engines, lab_servers

EXAMPLES = Path(__file__).parents[2] / "examples" / "schedules"
CACHE_LOCK = EXAMPLES / "cache-lock-duplicate.json"
TWO_LEVEL = EXAMPLES / "two-level-one-job.json"
# The counts a race decides; its times (wall, latencies, lock wait) are the machine's.
COUNTED = tuple(key for key in METRIC_KEYS if key not in ("wall_ms", "latency_ms", "lock_wait_ms"))


def replay(
    path: Path, strategy: str | None = None, servers: Servers | None = None
) -> tuple[RaceResult, list[tuple[str, str]]]:
    """The schedule in ``path`` raced, and every phase announced as (job name, phase)."""
    schedule = load_schedule(str(path))
    scenario = schedule.scenario(Scenario())
    if servers is not None:
        scenario = scenario.changed(backend=servers.backend, locks=servers.locks)
    heard: list[tuple[str, str]] = []
    names: dict[str, str] = {}

    def hear(label: str, job_id: str, phase: str, at: float) -> None:
        # Named in the order their jobs were queued: A's first (the schedule dispatches A first).
        name = names.setdefault(job_id, "ABCDEFGH"[len(names)])
        heard.append((name, str(phase)))

    result = run_race(
        scenario,
        strategy or schedule.strategy or "two-level",
        schedule=schedule,
        on_phase=hear,
        servers=servers,
    )
    return result, heard


def counted(result: RaceResult) -> dict[str, object]:
    metrics = result.metrics.to_json()
    return {key: metrics[key] for key in COUNTED}


@pytest.fixture
def busy_cores() -> Iterator[None]:
    """Both cores busy with spinning processes for the test (the suite's CI has two)."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_the_cache_lock_example_shows_its_duplicate_in_the_order_it_says() -> None:
    result, heard = replay(CACHE_LOCK)
    assert counted(result)["duplicate_descriptions"] == 1
    assert (result.metrics.ai_calls, result.metrics.descriptions, result.correct) == (2, 2, False)
    # One job moves at a time: B looked the slug up before A wrote (it queued
    # and waits at its lock), then runs only once A has ended.
    assert heard == [
        ("A", "queued"),
        ("B", "queued"),
        ("A", "waiting"),
        ("A", "locked"),
        ("A", "generating"),
        ("A", "persisting"),
        ("A", "ended"),
        ("B", "waiting"),
        ("B", "locked"),
        ("B", "generating"),
        ("B", "persisting"),
        ("B", "ended"),
    ]
    assert result.replayed == tuple(load_schedule(str(CACHE_LOCK)).steps_text)


def test_the_same_order_under_the_fixed_strategy_is_correct() -> None:
    # The order is not what breaks cache-lock: the look it skips after waiting is.
    # B looks again once it has the lock, so it never reaches 'generate'.
    schedule = load_schedule(
        "A dispatch, B dispatch, A lock, A generate, A persist, A release, B lock"
    )
    raced = {
        strategy: run_race(schedule.scenario(Scenario(latency_ms=1)), strategy, schedule=schedule)
        for strategy in ("cache-lock", "cache-lock-recheck")
    }
    assert raced["cache-lock"].metrics.duplicate_descriptions == 1
    assert raced["cache-lock-recheck"].correct
    assert raced["cache-lock-recheck"].metrics.ai_calls == 1
    with pytest.raises(ScheduleError, match="'B generate' can never happen under cache-lock-re"):
        replay(CACHE_LOCK, "cache-lock-recheck")


def test_the_two_level_example_stays_correct() -> None:
    result, heard = replay(TWO_LEVEL)
    assert result.correct
    assert (result.metrics.jobs_dispatched, result.metrics.ai_calls) == (1, 1)
    assert [record.dispatch for record in result.requests] == [
        "created",
        "joined",
        "stored",
    ]
    assert heard == [("A", "queued"), ("A", "generating"), ("A", "persisting"), ("A", "ended")]


@pytest.mark.parametrize("engines", BOTH_ENDS, ids=lambda engines: engines.id)
def test_the_examples_replay_the_same_on_both_engine_pairs(engines: Engines) -> None:
    servers = lab_servers(engines)
    broken, _ = replay(CACHE_LOCK, servers=servers)
    kept, _ = replay(TWO_LEVEL, servers=servers)
    assert (broken.scenario.backend, broken.scenario.locks) == (servers.backend, servers.locks)
    assert (broken.metrics.duplicate_descriptions, broken.metrics.ai_calls) == (1, 2)
    assert kept.correct
    assert (kept.metrics.jobs_dispatched, kept.metrics.ai_calls) == (1, 1)


def test_the_same_schedule_gives_the_same_metrics_under_load(busy_cores: None) -> None:
    first, first_heard = replay(CACHE_LOCK)
    for _ in range(2):
        again, heard = replay(CACHE_LOCK)
        assert (counted(again), heard) == (counted(first), first_heard)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("A dispatch, B frob", "step 2 'B frob': unknown phase 'frob'"),
        ("A dispatch, foo lock", "unknown job 'foo'"),
        ("A dispatch, A generate, A lock", "step 3 'A lock' can never happen: A crossed"),
        ("A lock", "step 1 'A lock' can never happen: A is not dispatched before it"),
        ("A dispatch, lock", "step 2 'lock' is not 'JOB PHASE'"),
    ],
)
def test_a_step_that_cannot_be_read_or_ordered_is_one_line(steps: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        load_schedule(steps)
    assert_one_line_error(run("race", "--strategy", "cache-lock", "--schedule", steps), 2, message)


def test_a_schedule_file_that_is_not_json_or_not_a_schedule_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{steps", encoding="utf-8")
    result = run("race", "--strategy", "cache-lock", "--schedule", str(broken))
    assert_one_line_error(result, 2, "broken.json: not JSON")
    broken.write_text(json.dumps({"race": {"wokers": 2}, "steps": ["A dispatch"]}))
    result = run("race", "--strategy", "cache-lock", "--schedule", str(broken))
    assert_one_line_error(result, 2, "unknown race options: wokers")
    result = run("race", "--strategy", "cache-lock", "--schedule", str(tmp_path / "gone.json"))
    assert_one_line_error(result, 2, "gone.json: no such schedule file")


def test_a_step_the_strategy_never_takes_is_one_line() -> None:
    # two-level takes no lock, and its second request joins the first's job.
    result = run("race", "--strategy", "two-level", "--schedule", str(CACHE_LOCK))
    assert_one_line_error(
        result, 2, "step 'A lock' can never happen under two-level: A reached 'generate'"
    )
    steps = "A dispatch, A generate, B dispatch, B generate, A persist"
    result = run("race", "--strategy", "two-level", "--latency", "1", "--schedule", steps)
    assert_one_line_error(result, 2, "request B joined job A, it has no job of its own")
    # With no step of A's left, A runs to its end at once: B finds the text instead.
    steps = "A dispatch, B dispatch, B generate"
    result = run("race", "--strategy", "two-level", "--latency", "1", "--schedule", steps)
    assert_one_line_error(result, 2, "request B found the text stored")


def test_a_job_parked_on_a_lock_lets_the_holders_next_step_go() -> None:
    # B waits for the lock A holds: parked, not moving, so A's persist may go,
    # and A giving the lock back lets B on to its next boundary.
    schedule = load_schedule("A dispatch, B dispatch, A lock, A generate, B lock, A persist")
    result = run_race(schedule.scenario(Scenario(latency_ms=1)), "cache-lock", schedule=schedule)
    assert result.replayed == tuple(schedule.steps_text)
    assert (result.metrics.ai_calls, result.metrics.duplicate_descriptions) == (2, 1)


def test_a_step_that_would_deadlock_ends_with_a_message(tmp_path: Path) -> None:
    # One worker, held by A at its lock: B's job never starts, and the schedule
    # moves nobody else while it waits.
    stuck = tmp_path / "stuck.json"
    stuck.write_text(
        json.dumps(
            {
                "race": {"latency_ms": 1, "jitter_ms": 0, "workers": 1},
                "patience_s": 1,
                "steps": ["A dispatch", "B dispatch", "A lock", "B lock"],
            }
        )
    )
    result = run("race", "--strategy", "cache-lock", "--schedule", str(stuck))
    assert_one_line_error(
        result, 2, "step 3 'A lock' waited 1 s: the job let go by 'B dispatch' never reached"
    )


def test_the_examples_run_from_the_command_line_with_their_own_options() -> None:
    result = run("race", "--strategy", "cache-lock", "--schedule", str(CACHE_LOCK), "--json")
    assert result.exit_code == 0, result.output
    raced = json.loads(result.stdout)
    assert (raced["scenario"]["requests"], raced["scenario"]["latency_ms"]) == (2, 20.0)
    assert raced["metrics"]["duplicate_descriptions"] == 1
    # An option given on the command line wins over the schedule's.
    result = run(
        "race", "--strategy", "two-level", "--latency", "5", "--schedule", str(TWO_LEVEL), "--json"
    )
    assert result.exit_code == 0, result.output
    raced = json.loads(result.stdout)
    assert (raced["scenario"]["latency_ms"], raced["correct"]) == (5.0, True)
