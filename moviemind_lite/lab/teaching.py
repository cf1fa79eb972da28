"""Named teaching scenarios: a race, what to look at, and a check that it showed what it should.

``moviemind lab list`` shows them; ``moviemind lab run NAME`` races each of a
scenario's runs, prints what to look at, and checks automatically that the
expected outcome occurred (exit 1 if it did not: the lesson did not happen).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moviemind_lite.errors import InvalidInput
from moviemind_lite.lab.metrics import Metrics
from moviemind_lite.lab.race import Progress, RaceResult, run_race
from moviemind_lite.lab.scenario import Arrival, Scenario


@dataclass(frozen=True)
class LabRun:
    """One race of a lesson: its label, its strategy, and its changes to the lesson's scenario."""

    label: str
    strategy: str
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """Whether a lesson showed what it should, in one sentence of numbers."""

    passed: bool
    message: str


# Gets the lesson's scenario and each run's metrics by label.
Checker = Callable[[Scenario, Mapping[str, Metrics]], Check]


@dataclass(frozen=True)
class Lesson:
    """A named teaching scenario."""

    name: str
    title: str
    explanation: str
    scenario: Scenario
    runs: tuple[LabRun, ...]
    check: Checker

    def scenario_for(self, run: LabRun) -> Scenario:
        """The scenario ``run`` races."""
        return self.scenario.changed(**run.changes)

    def to_json(self) -> dict[str, Any]:
        """Name, title, explanation and, per run, the command that races it."""
        return {
            "name": self.name,
            "title": self.title,
            "explanation": self.explanation,
            "runs": [
                {"label": run.label, "strategy": run.strategy, "command": self.command(run)}
                for run in self.runs
            ],
        }

    def command(self, run: LabRun) -> str:
        """The ``moviemind race`` command that races ``run`` on its own."""
        options = self.scenario_for(run).as_options()
        return f"moviemind race --strategy {run.strategy}" + (f" {options}" if options else "")


@dataclass(frozen=True)
class LessonReport:
    """A lesson's races and its check."""

    lesson: Lesson
    results: tuple[RaceResult, ...]
    check: Check

    def to_json(self) -> dict[str, Any]:
        """``lab run --json``: the lesson, the check and each run's metrics."""
        return {
            "scenario": self.lesson.name,
            "passed": self.check.passed,
            "check": self.check.message,
            "results": {result.label: result.metrics.to_json() for result in self.results},
        }


def _shipped_bug(scenario: Scenario, m: Mapping[str, Metrics]) -> Check:
    bug, fixed = m["cache-lock"], m["cache-lock-recheck"]
    return Check(
        bug.duplicate_descriptions > 0 and fixed.correct,
        f"cache-lock wrote {bug.descriptions} descriptions for {bug.movies} movie "
        f"({bug.ai_calls} AI calls); cache-lock-recheck: {fixed.verdict}, "
        f"{fixed.ai_calls} AI call(s)",
    )


def _unique_index_cost(scenario: Scenario, m: Mapping[str, Metrics]) -> Check:
    index, two_level = m["unique-index"], m["two-level"]
    return Check(
        index.correct and index.ai_calls == index.requests and two_level.ai_calls == 1,
        f"unique-index: {index.verdict}, but {index.ai_calls} AI calls for {index.requests} "
        f"requests; two-level: {two_level.ai_calls} AI call",
    )


def _for_update_serialises(scenario: Scenario, m: Mapping[str, Metrics]) -> Check:
    locked, two_level = m["for-update"], m["two-level"]
    ratio = locked.wall_ms / max(two_level.wall_ms, 1.0)
    return Check(
        locked.correct and two_level.correct and ratio >= 3,
        f"for-update took {locked.wall_ms:.0f} ms, two-level {two_level.wall_ms:.0f} ms "
        f"({ratio:.1f}x) for the same {locked.requests} distinct slugs",
    )


def _lease_expiry(scenario: Scenario, m: Mapping[str, Metrics]) -> Check:
    plain, fenced = m["setnx"], m["setnx --fencing"]
    return Check(
        plain.ai_calls > 1
        and plain.duplicate_descriptions > 0
        and fenced.stale_writes_rejected > 0
        and fenced.correct,
        f"without fencing: {plain.ai_calls} AI calls, {plain.verdict}; with fencing: "
        f"{fenced.ai_calls} AI calls, {fenced.stale_writes_rejected} stale write(s) refused, "
        f"{fenced.verdict}",
    )


def _two_level(scenario: Scenario, m: Mapping[str, Metrics]) -> Check:
    result = m["two-level"]
    slugs = scenario.slugs
    return Check(
        result.correct and result.jobs_dispatched == slugs and result.ai_calls == slugs,
        f"{result.requests} requests for {slugs} slugs: {result.jobs_dispatched} jobs, "
        f"{result.deduplicated_at_dispatch} deduplicated at dispatch, "
        f"{result.ai_calls} AI calls, {result.verdict}",
    )


def _no_unique_index(scenario: Scenario, m: Mapping[str, Metrics]) -> Check:
    index, two_level = m["unique-index"], m["two-level"]
    return Check(
        index.duplicate_descriptions > 0 and two_level.correct,
        f"without its index, unique-index: {index.verdict}; two-level: {two_level.verdict}",
    )


def _holder_crash(scenario: Scenario, m: Mapping[str, Metrics]) -> Check:
    slugs = scenario.slugs
    passed = all(result.correct and result.ai_calls == slugs + 1 for result in m.values())
    return Check(
        passed,
        "; ".join(
            f"{label}: {result.verdict}, {result.ai_calls} AI calls" for label, result in m.items()
        ),
    )


LESSONS: dict[str, Lesson] = {
    lesson.name: lesson
    for lesson in (
        Lesson(
            "shipped-bug",
            "The duplicate descriptions MovieMind shipped",
            "Six requests for one unknown movie arrive together. cache-lock looks the slug up "
            "before it waits for the lock and never looks again: every waiter, once it has "
            "the lock, calls the AI and appends another description. Look at 'descriptions' "
            "and the timeline (- waiting, = generating). cache-lock-recheck looks again after "
            "acquiring: one AI call, the waiters end reused_existing, but they still queue "
            "behind the holder (lock wait).",
            Scenario(requests=6, slugs=1, workers=6, latency_ms=100, jitter_ms=0),
            (
                LabRun("cache-lock", "cache-lock"),
                LabRun("cache-lock-recheck", "cache-lock-recheck"),
            ),
            _shipped_bug,
        ),
        Lesson(
            "unique-index-cost",
            "The UNIQUE index alone is correct, and every racer pays",
            "Eight requests for one movie at once. unique-index has no lock: every job looks, "
            "finds nothing, calls the AI, and all but one meet the UNIQUE index at persist "
            "and end on the existing row. No duplicates, but 'ai_calls' equals 'requests'. "
            "two-level dedups at dispatch: one job, one AI call.",
            Scenario(requests=8, slugs=1, workers=8, latency_ms=300, jitter_ms=0),
            (LabRun("unique-index", "unique-index"), LabRun("two-level", "two-level")),
            _unique_index_cost,
        ),
        Lesson(
            "for-update-serialises",
            "for-update holds SQLite's only write lock across the AI call",
            "Eight requests for eight different movies. The keys never clash, yet for-update "
            "holds BEGIN IMMEDIATE across each AI call, and in SQLite that is a database-wide "
            "lock: the jobs (and even the dispatches) run one at a time. Compare 'wall_ms' "
            "and the latencies with two-level, which runs the eight jobs side by side.",
            Scenario(requests=8, slugs=8, workers=8, latency_ms=150, jitter_ms=0),
            (LabRun("for-update", "for-update"), LabRun("two-level", "two-level")),
            _for_update_serialises,
        ),
        Lesson(
            "lease-expiry",
            "A lease shorter than the AI call, with and without fencing",
            "setnx with an 80 ms lease and a 300 ms AI call; a request every 70 ms. The "
            "UNIQUE index is dropped so only the lease guards the write. When the holder's "
            "lease expires mid-call, the next request takes the lease and starts a second AI "
            "call: losers in between get in_progress_elsewhere. Without fencing every holder "
            "writes (duplicates); with --fencing each holder's write checks its token, and "
            "a holder whose lease was granted again is refused ('stale_writes_rejected').",
            Scenario(
                requests=5,
                slugs=1,
                workers=5,
                latency_ms=300,
                jitter_ms=0,
                ttl_ms=80,
                arrival=Arrival("spread", 70),
                unique_index=False,
            ),
            (LabRun("setnx", "setnx"), LabRun("setnx --fencing", "setnx", {"fencing": True})),
            _lease_expiry,
        ),
        Lesson(
            "two-level",
            "Two-level dedup: one job and one AI call per key",
            "Twelve requests for three movies at once. The generation slot at dispatch gives "
            "every request for a key the same job ('deduplicated_at_dispatch'), so each key "
            "costs one job and one AI call; the UNIQUE index at persist is the backstop.",
            Scenario(requests=12, slugs=3, workers=4, latency_ms=100, jitter_ms=20),
            (LabRun("two-level", "two-level"),),
            _two_level,
        ),
        Lesson(
            "no-unique-index",
            "Drop the UNIQUE indexes: who still holds?",
            "The same burst with the named UNIQUE indexes dropped from the scratch database. "
            "unique-index had nothing but the index, so it now writes a movie and a "
            "description per racer. two-level still gives the key one job at dispatch.",
            Scenario(
                requests=6, slugs=1, workers=6, latency_ms=200, jitter_ms=0, unique_index=False
            ),
            (LabRun("unique-index", "unique-index"), LabRun("two-level", "two-level")),
            _no_unique_index,
        ),
        Lesson(
            "holder-crash",
            "The holder is SIGKILLed between its AI call and its write",
            "Worker processes run the jobs; the first job to finish its AI call is killed "
            "before it writes (X in the timeline). Its file lock dies with it; its job waits "
            "for its lease to run out and is then taken back by another worker. Both "
            "strategies end correct, and the crash cost exactly one extra, wasted AI call.",
            Scenario(
                requests=4,
                slugs=1,
                workers=2,
                latency_ms=100,
                jitter_ms=0,
                kill_holder=True,
                mode="processes",
            ),
            (LabRun("two-level", "two-level"), LabRun("cache-lock-recheck", "cache-lock-recheck")),
            _holder_crash,
        ),
    )
}


def lesson_named(name: str) -> Lesson:
    """The lesson called ``name``; an unknown name lists the valid ones."""
    try:
        return LESSONS[name]
    except KeyError:
        raise InvalidInput(
            f"unknown lab scenario {name!r}; expected one of: {', '.join(LESSONS)}"
        ) from None


def run_lesson(name: str, on_progress: Progress | None = None) -> LessonReport:
    """Race every run of the lesson ``name`` and check its outcome."""
    lesson = lesson_named(name)
    results = tuple(
        run_race(lesson.scenario_for(run), run.strategy, label=run.label, on_progress=on_progress)
        for run in lesson.runs
    )
    check = lesson.check(lesson.scenario, {result.label: result.metrics for result in results})
    return LessonReport(lesson, results, check)
