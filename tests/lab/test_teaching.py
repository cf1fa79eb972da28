"""The named teaching scenarios: they exist, replay as commands, and show what they promise."""

from __future__ import annotations

from collections import Counter

import pytest

from moviemind_lite.cli.lab import build_scenario, race
from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.lab.flag_lessons import Regenerated, RolledOut
from moviemind_lite.lab.metrics import METRIC_KEYS
from moviemind_lite.lab.race import TEACHING_ORDER, run_race
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.lab.teaching import (
    LESSONS,
    RACE_LESSONS,
    TOUR,
    RaceLesson,
    lesson_named,
    run_lesson,
)
from moviemind_lite.pipeline.strategies import STRATEGIES
from tests.engines import BOTH_ENDS, Engines, lab_servers

REQUIRED = [
    "thundering-herd",
    "the-original-bug",
    "wasted-ai-calls",
    "for-update-serialises",
    "for-update-row-locks",
    "lease-expiry",
    "fencing",
    "holder-crash",
    "no-unique-index",
    "flaky-ai",
    "efficiency-not-correctness",
    "stopped-holder",
    "at-least-once",
    "clock-skew",
    "baseline-regenerate",
    "canary-rollback",
    "lock-server-forgets",
    "stale-worker-fenced",
    "engine-restart",
    "fence-counter-reset",
]


def test_the_named_scenarios_are_there_and_explained() -> None:
    assert list(LESSONS) == REQUIRED
    assert set(TOUR) <= set(LESSONS)
    for lesson in LESSONS.values():
        assert lesson.title and len(lesson.explanation) > 200
        assert lesson.commands() and lesson.commands(fast=True)


@pytest.mark.parametrize("fast", [False, True], ids=["full", "fast"])
@pytest.mark.parametrize("lesson", RACE_LESSONS, ids=lambda lesson: lesson.name)
def test_each_run_is_a_race_command_that_rebuilds_its_scenario(
    lesson: RaceLesson, fast: bool
) -> None:
    for run in lesson.runs:
        words = lesson.command(run, fast).split()
        assert words[:2] == ["moviemind", "race"]
        context = race.make_context("race", words[2:])
        values = dict(context.params)
        assert values.pop("strategy") == run.strategy
        values.pop("as_json")
        assert build_scenario(values, Servers()) == lesson.scenario_for(run, fast)


def test_the_thundering_herd_races_32_requests_under_every_strategy() -> None:
    herd = LESSONS["thundering-herd"]
    assert isinstance(herd, RaceLesson)
    assert [run.strategy for run in herd.runs] == list(TEACHING_ORDER)
    assert set(TEACHING_ORDER) == set(STRATEGIES)
    assert {
        herd.scenario_for(run, fast).requests for run in herd.runs for fast in (False, True)
    } == {32}


def test_an_unknown_lesson_lists_the_known_ones() -> None:
    with pytest.raises(
        InvalidInput, match="unknown lab scenario 'x'; expected one of: thundering-herd, "
    ):
        lesson_named("x")


# Every scenario, once, in its reduced variant, under the check `lab run` uses, on
# SQLite and lock files and on PostgreSQL and Redis (for-update-row-locks races on
# both databases by itself, clock-skew on both lock engines).
@pytest.mark.slow
@pytest.mark.parametrize("engines", BOTH_ENDS, ids=lambda engines: engines.id)
@pytest.mark.parametrize("name", REQUIRED)
def test_each_scenario_shows_what_it_promises(name: str, engines: Engines) -> None:
    if name == "for-update-row-locks":
        engines = Engines("postgres", engines.locks)
    if name in ("clock-skew", "fence-counter-reset"):
        engines = Engines(engines.database, "redis")
    report = run_lesson(name, fast=True, servers=lab_servers(engines))
    assert report.check.passed, report.check.message
    as_json = report.to_json()
    assert set(as_json) == {"name", "title", "fast", "passed", "check", "runs"}
    assert (as_json["name"], as_json["fast"], as_json["passed"]) == (name, True, True)
    lesson = LESSONS[name]
    if isinstance(lesson, RaceLesson):
        assert [run["label"] for run in as_json["runs"]] == [run.label for run in lesson.runs]
        for run in as_json["runs"]:
            keys = {"label", "strategy", "backend", "locks", "scenario", "metrics", "correct"}
            assert set(run) == keys
            assert tuple(run["metrics"]) == METRIC_KEYS
    else:
        assert all(outcome.as_expected for outcome in report.outcomes)
        least = 1 if name in ("lock-server-forgets", "fence-counter-reset", "engine-restart") else 2
        assert len(as_json["runs"]) == len(report.outcomes) >= least


def test_a_race_check_fails_when_its_lesson_did_not_happen() -> None:
    correct = run_race(Scenario(requests=2, latency_ms=0, jitter_ms=0), "two-level")
    bug = LESSONS["the-original-bug"]
    assert isinstance(bug, RaceLesson)
    check = bug.check({"cache-lock": correct, "cache-lock-recheck": correct})
    assert not check.passed
    assert check.message.startswith("cache-lock wrote 1 descriptions for 1 movie (1 AI call)")


def test_the_flag_lessons_judge_what_each_mode_promises() -> None:
    def regenerated(locking: bool, after: int, alternatives: int, rewritten: bool) -> Regenerated:
        return Regenerated(locking, 16, 16, 1, after, rewritten, alternatives, Counter())

    assert regenerated(False, 1, 16, False).as_promised
    assert not regenerated(False, 1, 15, False).as_promised  # an alternative was lost
    assert not regenerated(False, 2, 16, True).as_promised  # the baseline was touched
    assert regenerated(True, 17, 0, True).as_promised
    assert not regenerated(True, 9, 0, True).as_promised  # lost updates
    unlocked = Regenerated(True, 16, 16, 1, 9, True, 0, Counter(), lock=False)
    assert unlocked.as_promised and unlocked.lost_updates == 8
    # The run without the lock must show a lost update, or it showed nothing.
    assert not Regenerated(True, 16, 16, 1, 17, True, 0, Counter(), lock=False).as_promised
    rolled_back = RolledOut("x", 0.8, 3, 1, 2, 2, (10, 50, 100), 10, "rolled_back", "why", False)
    assert rolled_back.outcome("rolled_back").as_expected
    assert not rolled_back.outcome("completed").as_expected
    assert rolled_back.summary == "rolled back at 10%: why"
