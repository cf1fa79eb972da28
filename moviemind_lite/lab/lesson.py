"""What every teaching scenario is and gives back: runs, an explanation, an automatic check.

Most scenarios are races (:class:`~moviemind_lite.lab.teaching.RaceLesson`);
the flag scenarios drive the application itself on a scratch home
(:mod:`.flag_lessons`). Both give a :class:`LessonReport`: race results or
plain :class:`Outcome` rows, and a :class:`Check` saying, in numbers, whether
the expected outcome occurred.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from moviemind_lite.lab.race import PhaseWatcher, Progress, RaceResult
from moviemind_lite.lab.scratch import Servers


@dataclass(frozen=True)
class Check:
    """Whether a lesson showed what it should, in one sentence of numbers."""

    passed: bool
    message: str


@dataclass(frozen=True)
class Outcome:
    """One run of a lesson that is not a race: a table row, a verdict and its JSON."""

    label: str
    cells: tuple[tuple[str, str], ...]
    verdict: str
    as_expected: bool
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The run's label, its numbers and its verdict."""
        return {"label": self.label, **self.data, "verdict": self.verdict}


class Lesson(Protocol):
    """A named teaching scenario."""

    @property
    def name(self) -> str:
        """What ``lab run`` calls it."""
        ...

    @property
    def title(self) -> str:
        """One line: what it shows."""
        ...

    @property
    def explanation(self) -> str:
        """A few sentences: what to look at, and why it happens."""
        ...

    def commands(self, fast: bool = False) -> list[str]:
        """Commands that replay the lesson's runs one by one, to vary them."""
        ...

    def play(
        self,
        *,
        fast: bool = False,
        on_progress: Progress | None = None,
        on_phase: PhaseWatcher | None = None,
        stop: threading.Event | None = None,
        servers: Servers | None = None,
    ) -> LessonReport:
        """Run the lesson (``fast``: its reduced variant) and check its outcome.

        Runs that name no backend use the engines ``servers`` names (the
        user's; none: SQLite and lock files). ``on_progress``, ``on_phase``
        and ``stop`` work as for
        :func:`~moviemind_lite.lab.race.run_race`; a stopped lesson raises
        :class:`~moviemind_lite.lab.race.RaceStopped`.
        """
        ...


@dataclass(frozen=True)
class LessonReport:
    """A lesson's runs and its check."""

    lesson: Lesson
    fast: bool
    races: tuple[RaceResult, ...]
    outcomes: tuple[Outcome, ...]
    check: Check

    def to_json(self) -> dict[str, Any]:
        """``lab run --json``: the lesson, the check and each run."""
        runs = [
            {"label": result.label, "strategy": result.strategy, **result.to_json()}
            for result in self.races
        ] + [outcome.to_json() for outcome in self.outcomes]
        return {
            "name": self.lesson.name,
            "title": self.lesson.title,
            "fast": self.fast,
            "passed": self.check.passed,
            "check": self.check.message,
            "runs": runs,
        }


def lesson_json(lesson: Lesson) -> dict[str, Any]:
    """``lab list --json``: name, title, explanation and the commands that replay it."""
    return {
        "name": lesson.name,
        "title": lesson.title,
        "explanation": lesson.explanation,
        "commands": lesson.commands(),
    }
