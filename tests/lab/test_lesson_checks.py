"""Every race lesson's check fails when the mechanism its text names is taken away.

A check that passes whatever happens teaches nothing. Each lesson below is
played once more (reduced variant, SQLite and lock files unless it needs a
server) with one run changed so that the mechanism the lesson is about is
gone: the lease excludes nobody, the fencing check is off, the slot outlives
the job, the killed holder is not killed... and its check must fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from moviemind_lite.lab.scenario import Arrival
from moviemind_lite.lab.teaching import LESSONS, RACE_LESSONS, RaceLesson
from tests.engines import EMBEDDED, Engines, lab_servers

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Removed:
    """What taking the mechanism away means: one run raced another way."""

    run: str
    why: str
    strategy: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    engines: Engines = EMBEDDED


WITHOUT_THE_MECHANISM: dict[str, Removed] = {
    "thundering-herd": Removed(
        "two-level", "no slot: every request a job", strategy="unique-index"
    ),
    "the-original-bug": Removed(
        "cache-lock", "the bug fixed: it looks again", strategy="cache-lock-recheck"
    ),
    "wasted-ai-calls": Removed("two-level", "no slot", strategy="unique-index"),
    "for-update-serialises": Removed(
        "for-update",
        "no database-wide write lock: PostgreSQL's row locks",
        changes={"backend": "postgres"},
        engines=Engines("postgres", "file"),
    ),
    "for-update-row-locks": Removed(
        "for-update on PostgreSQL",
        "no row locks: SQLite",
        changes={"backend": "sqlite"},
        engines=Engines("postgres", "file"),
    ),
    "lease-expiry": Removed(
        "setnx, lease shorter than the call",
        "a lease shorter than the gap between requests excludes no one",
        changes={"ttl_ms": 80},
    ),
    "fencing": Removed("setnx --fencing", "no fencing", changes={"fencing": False}),
    "holder-crash": Removed(
        "cache-lock-recheck, holder paused", "no lock around the paused holder", strategy="none"
    ),
    "no-unique-index": Removed(
        "two-level",
        "a slot that expires before the next request",
        changes={"slot_ttl_ms": 1, "arrival": Arrival("spread", 30)},
    ),
    "flaky-ai": Removed(
        "two-level", "no retry succeeds: slugs left without a text", changes={"fail_rate": 1.0}
    ),
    "efficiency-not-correctness": Removed(
        "two-level, no index, slot expires mid-job",
        "the slot outlives the job",
        changes={"slot_ttl_ms": 600_000},
    ),
    "stopped-holder": Removed("setnx --fencing", "no fencing", changes={"fencing": False}),
    "at-least-once": Removed(
        "two-level, holder killed", "nobody killed", changes={"kill_holder": False}
    ),
    "clock-skew": Removed(
        "setnx, leases in the database",
        "no skew",
        changes={"skew_ms": 0},
        engines=Engines("sqlite", "redis"),
    ),
}


def without_the_mechanism(lesson: RaceLesson, removed: Removed) -> RaceLesson:
    """``lesson`` with the run ``removed.run`` raced without its mechanism."""
    assert removed.run in [run.label for run in lesson.runs], removed.run
    runs = tuple(
        replace(
            run,
            strategy=removed.strategy or run.strategy,
            changes={**run.changes, **removed.changes},
            fast_changes={**run.fast_changes, **removed.changes},
        )
        if run.label == removed.run
        else run
        for run in lesson.runs
    )
    return replace(lesson, runs=runs)


def test_every_race_lesson_has_its_mechanism_named() -> None:
    assert set(WITHOUT_THE_MECHANISM) == {lesson.name for lesson in RACE_LESSONS}


@pytest.mark.parametrize("name", list(WITHOUT_THE_MECHANISM))
def test_the_check_fails_without_the_mechanism(name: str) -> None:
    lesson, removed = LESSONS[name], WITHOUT_THE_MECHANISM[name]
    assert isinstance(lesson, RaceLesson)
    report = without_the_mechanism(lesson, removed).play(
        fast=True, servers=lab_servers(removed.engines)
    )
    assert not report.check.passed, f"{name} passed with {removed.why}: {report.check.message}"
