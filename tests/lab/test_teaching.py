"""The named teaching scenarios: they exist, they are runnable commands, they check out."""

from __future__ import annotations

from typing import Any

import pytest

from moviemind_lite.cli.lab import build_scenario, race
from moviemind_lite.errors import InvalidInput
from moviemind_lite.lab.metrics import Metrics
from moviemind_lite.lab.teaching import LESSONS, lesson_named, run_lesson


def metrics(**changes: Any) -> Metrics:
    base: dict[str, Any] = dict(
        requests=4,
        jobs_dispatched=1,
        deduplicated_at_dispatch=3,
        ai_calls=1,
        movies=1,
        descriptions=1,
        duplicate_movies=0,
        duplicate_descriptions=0,
        failed_jobs=0,
        stale_writes_rejected=0,
        wall_ms=100.0,
        latency_p50_ms=90.0,
        latency_p95_ms=99.0,
        latency_max_ms=100.0,
        lock_wait_ms=0.0,
        verdict="correct",
    )
    return Metrics(**{**base, **changes})


def test_there_are_at_least_five_lessons_each_explained() -> None:
    assert len(LESSONS) >= 5
    for lesson in LESSONS.values():
        assert lesson.title and len(lesson.explanation) > 100
        assert lesson.runs


@pytest.mark.parametrize("name", list(LESSONS))
def test_each_run_is_a_race_command_that_rebuilds_its_scenario(name: str) -> None:
    lesson = LESSONS[name]
    for run in lesson.runs:
        words = lesson.command(run).split()
        assert words[:2] == ["moviemind", "race"]
        context = race.make_context("race", words[2:])
        values = dict(context.params)
        assert values.pop("strategy") == run.strategy
        values.pop("as_json")
        assert build_scenario(values) == lesson.scenario_for(run)


def test_an_unknown_lesson_lists_the_known_ones() -> None:
    with pytest.raises(
        InvalidInput, match="unknown lab scenario 'x'; expected one of: shipped-bug"
    ):
        lesson_named("x")


def test_checks_pass_only_on_the_expected_outcome() -> None:
    shipped = LESSONS["shipped-bug"]
    bug = metrics(
        descriptions=4, duplicate_descriptions=3, ai_calls=4, verdict="3 duplicate descriptions"
    )
    assert shipped.check(shipped.scenario, {"cache-lock": bug, "cache-lock-recheck": metrics()})
    assert not shipped.check(
        shipped.scenario, {"cache-lock": metrics(), "cache-lock-recheck": metrics()}
    ).passed
    serial = LESSONS["for-update-serialises"]
    slow, fast = metrics(wall_ms=900.0), metrics(wall_ms=300.0)
    assert serial.check(serial.scenario, {"for-update": slow, "two-level": fast}).passed
    assert not serial.check(serial.scenario, {"for-update": fast, "two-level": fast}).passed
    assert "3.0x" in serial.check(serial.scenario, {"for-update": slow, "two-level": fast}).message


@pytest.mark.parametrize("name", ["shipped-bug", "two-level", "lease-expiry"])
def test_lessons_show_what_they_promise(name: str) -> None:
    report = run_lesson(name)
    assert report.check.passed, report.check.message
    assert set(report.to_json()) == {"scenario", "passed", "check", "results"}
    assert list(report.to_json()["results"]) == [run.label for run in LESSONS[name].runs]
