"""Named teaching scenarios: runs, what to look at, and a check that they showed what they should.

``moviemind lab list`` shows them; ``moviemind lab run NAME`` plays one,
prints what to look at, and checks automatically that the expected outcome
occurred (exit 1 with the reason if it did not: the lesson did not happen).
``--fast`` plays a reduced variant (smaller latencies) under the same check.

The races' checks read structure, not stopwatches, wherever they can: how
many AI calls ran at once (from the jobs' phases), who held a lock when,
which rows were written. Where a lesson is about time (for-update's wall
time), the bound it checks follows from the structure it also checks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.core.model import IN_PROGRESS_ELSEWHERE
from moviemind_lite.lab.flag_lessons import BASELINE_REGENERATE, CANARY_ROLLBACK
from moviemind_lite.lab.lesson import Check, Lesson, LessonReport
from moviemind_lite.lab.metrics import plural
from moviemind_lite.lab.race import (
    TEACHING_ORDER,
    PhaseWatcher,
    Progress,
    RaceResult,
    race_in_turn,
)
from moviemind_lite.lab.scenario import Arrival, Scenario
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.lab.timeline import GENERATING, KILLED, entered, peak_overlap
from moviemind_lite.pipeline.body import LOCKED, WAITING

# The strategies that must stay correct under any burst (setnx: with a lease
# longer than the AI call).
SAFE_STRATEGIES = ("cache-lock-recheck", "unique-index", "for-update", "setnx", "two-level")
# Lease grants use millisecond wall-clock stamps, the timeline the monotonic
# clock: allow this much between the two when comparing a lease's expiry.
_CLOCK_SLACK_MS = 25.0


@dataclass(frozen=True)
class LabRun:
    """One race of a lesson: its label, its strategy, its changes to the lesson's scenario."""

    label: str
    strategy: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    fast_changes: Mapping[str, Any] = field(default_factory=dict)


RaceChecker = Callable[[Mapping[str, RaceResult]], Check]


@dataclass(frozen=True)
class RaceLesson:
    """A teaching scenario made of races: one scenario, one or more strategies (runs)."""

    name: str
    title: str
    explanation: str
    scenario: Scenario
    runs: tuple[LabRun, ...]
    check: RaceChecker
    fast_changes: Mapping[str, Any] = field(default_factory=dict)

    def scenario_for(self, run: LabRun, fast: bool = False) -> Scenario:
        """The scenario ``run`` races (in the fast variant: with the fast changes on top)."""
        changes = {
            **(self.fast_changes if fast else {}),
            **run.changes,
            **(run.fast_changes if fast else {}),
        }
        return self.scenario.changed(**changes)

    def command(self, run: LabRun, fast: bool = False) -> str:
        """The ``moviemind race`` command that races ``run`` on its own."""
        options = self.scenario_for(run, fast).as_options()
        return f"moviemind race --strategy {run.strategy}" + (f" {options}" if options else "")

    def commands(self, fast: bool = False) -> list[str]:
        """Each run's ``moviemind race`` command."""
        return [self.command(run, fast) for run in self.runs]

    def play(
        self,
        *,
        fast: bool = False,
        on_progress: Progress | None = None,
        on_phase: PhaseWatcher | None = None,
        stop: threading.Event | None = None,
        servers: Servers | None = None,
    ) -> LessonReport:
        """Race every run, then check the outcome.

        A run that names no backend (or locks) races on the ones ``servers``
        names: the user's engines.
        """
        servers = servers or Servers()
        races = [
            (
                self.scenario_for(run, fast).changed(
                    backend=run.changes.get("backend", servers.backend),
                    locks=run.changes.get("locks", servers.locks),
                ),
                run.strategy,
                run.label,
            )
            for run in self.runs
        ]
        results = race_in_turn(
            races, on_progress=on_progress, on_phase=on_phase, stop=stop, servers=servers
        )
        check = self.check({result.label: result for result in results})
        return LessonReport(self, fast, tuple(results), (), check)


# -- the checks --------------------------------------------------------------------------


def _thundering_herd(r: Mapping[str, RaceResult]) -> Check:
    wrong = [label for label in SAFE_STRATEGIES if not r[label].correct]
    none, bug, two = (r[name].metrics for name in ("none", "cache-lock", "two-level"))
    calls = sorted(result.metrics.ai_calls for result in r.values())
    return Check(
        not wrong
        and none.failed_jobs > 0
        and bug.duplicate_descriptions > 0
        and (two.jobs_dispatched, two.ai_calls) == (1, 1),
        f"{two.requests} requests for one slug: none failed {plural(none.failed_jobs, 'job')}, "
        f"cache-lock wrote {plural(bug.duplicate_descriptions, 'duplicate description')}; "
        + (f"{', '.join(wrong)} went wrong" if wrong else "the other five were correct")
        + f"; AI calls ranged from {calls[0]} to {calls[-1]}; two-level made "
        f"{plural(two.jobs_dispatched, 'job')} and {plural(two.ai_calls, 'AI call')}",
    )


def _the_original_bug(r: Mapping[str, RaceResult]) -> Check:
    bug, fixed = r["cache-lock"].metrics, r["cache-lock-recheck"].metrics
    return Check(
        bug.duplicate_descriptions > 0 and fixed.correct and fixed.ai_calls == 1,
        f"cache-lock wrote {bug.descriptions} descriptions for {plural(bug.movies, 'movie')} "
        f"({plural(bug.ai_calls, 'AI call')}); cache-lock-recheck: {fixed.verdict}, "
        f"{plural(fixed.ai_calls, 'AI call')}",
    )


def _wasted_ai_calls(r: Mapping[str, RaceResult]) -> Check:
    index, two = r["unique-index"].metrics, r["two-level"].metrics
    same_rows = (index.movies, index.descriptions) == (two.movies, two.descriptions)
    return Check(
        index.correct and two.correct and same_rows and index.ai_calls > 1 and two.ai_calls == 1,
        f"both wrote {plural(two.movies, 'movie')} and {plural(two.descriptions, 'description')} "
        f"({'same rows' if same_rows else 'different rows'}); unique-index paid "
        f"{plural(index.ai_calls, 'AI call')} for {index.requests} requests, two-level "
        f"{plural(two.ai_calls, 'AI call')}",
    )


def _for_update_serialises(r: Mapping[str, RaceResult]) -> Check:
    locked, index = r["for-update"], r["unique-index"]
    locked_peak = peak_overlap(locked.phases, GENERATING)
    index_peak = peak_overlap(index.phases, GENERATING)
    ratio = locked.metrics.wall_ms / max(index.metrics.wall_ms, 1.0)
    return Check(
        locked.correct
        and index.correct
        and locked_peak == 1
        and index_peak > 1
        and locked.metrics.wall_ms > index.metrics.wall_ms,
        f"{locked.scenario.slugs} distinct slugs: for-update ran at most {locked_peak} AI call "
        f"at a time and took {locked.metrics.wall_ms:.0f} ms; unique-index ran up to "
        f"{index_peak} at once and took {index.metrics.wall_ms:.0f} ms ({ratio:.1f}x)",
    )


def _for_update_row_locks(r: Mapping[str, RaceResult]) -> Check:
    on_sqlite, on_postgres = r["for-update on SQLite"], r["for-update on PostgreSQL"]
    one_slug = r["for-update on PostgreSQL, one movie"]
    sqlite_peak = peak_overlap(on_sqlite.phases, GENERATING)
    postgres_peak = peak_overlap(on_postgres.phases, GENERATING)
    one_slug_peak = peak_overlap(one_slug.phases, GENERATING)
    return Check(
        on_sqlite.correct
        and on_postgres.correct
        and one_slug.correct
        and sqlite_peak == 1
        and postgres_peak > 1
        and one_slug_peak == 1
        and one_slug.metrics.ai_calls == 1,
        f"{on_sqlite.scenario.slugs} distinct slugs: on SQLite for-update ran at most "
        f"{sqlite_peak} AI call at a time, on PostgreSQL up to {postgres_peak} at once; "
        f"{one_slug.scenario.requests} requests for one movie on PostgreSQL ran "
        f"{one_slug_peak} at a time and made {plural(one_slug.metrics.ai_calls, 'AI call')}",
    )


def _lease_expiry(r: Mapping[str, RaceResult]) -> Check:
    short, long = r["setnx, short lease"], r["setnx, long lease"]
    short_peak = peak_overlap(short.phases, GENERATING)
    long_peak = peak_overlap(long.phases, GENERATING)
    return Check(
        short_peak >= 2 and short.metrics.ai_calls >= 2 and long_peak == 1 and long.correct,
        f"with a {short.scenario.ttl_ms:g} ms lease and a {short.scenario.latency_ms:g} ms AI "
        f"call, {short_peak} holders called the AI at once "
        f"({plural(short.metrics.ai_calls, 'AI call')}, {short.metrics.verdict}); with a "
        f"{long.scenario.ttl_ms:g} ms lease: {long_peak} holder, "
        f"{plural(long.metrics.ai_calls, 'AI call')}",
    )


def _fencing(r: Mapping[str, RaceResult]) -> Check:
    plain, fenced = r["setnx"].metrics, r["setnx --fencing"].metrics
    damage = plain.duplicate_movies + plain.duplicate_descriptions
    return Check(
        damage > 0 and fenced.stale_writes_rejected > 0 and fenced.correct,
        f"without fencing the paused holder's late write landed: {plain.verdict}; with fencing "
        f"{plural(fenced.stale_writes_rejected, 'stale write')} refused, {fenced.verdict}",
    )


@dataclass(frozen=True)
class _AfterKill:
    """When the killed holder took the key and died; when the next job asked for it and got it."""

    locked_at: float
    killed_at: float
    next_asked_at: float
    next_locked_at: float


def _after_kill(result: RaceResult) -> _AfterKill | None:
    killed = entered(result.phases, KILLED)
    locks = entered(result.phases, LOCKED)
    if not killed:
        return None
    killed_at, victim = killed[0]
    after = [(at, job) for at, job in locks if at > killed_at]
    if not after:
        return None
    next_at, successor = after[0]
    locked_at = max((at for at, job in locks if job == victim and at <= killed_at), default=0.0)
    # A blocking lock's job asks when it starts waiting; a lease's asks and gets at once.
    asked = [
        at for at, job in entered(result.phases, WAITING) if job == successor and at <= next_at
    ]
    return _AfterKill(locked_at, killed_at, max(asked, default=next_at), next_at)


def _holder_crash(r: Mapping[str, RaceResult]) -> Check:
    files, lease = r["cache-lock-recheck"], r["setnx"]
    ttl = lease.scenario.ttl_ms
    file_kill, lease_kill = _after_kill(files), _after_kill(lease)
    if file_kill is None or lease_kill is None:
        return Check(False, "no holder was killed, or nobody took the key after the kill")
    # A file lock is the kernel's: free the moment its process dies, long before
    # any lease would have run out. A lease is only data: free at its expiry.
    file_free_at_once = (file_kill.next_locked_at - file_kill.locked_at) * 1000 < ttl
    lease_waited = (
        lease_kill.next_locked_at - lease_kill.locked_at
    ) * 1000 >= ttl - _CLOCK_SLACK_MS
    file_wait = (
        file_kill.next_locked_at - max(file_kill.next_asked_at, file_kill.killed_at)
    ) * 1000
    lease_gap = (lease_kill.next_locked_at - lease_kill.killed_at) * 1000
    refused = sum(1 for row in lease.timeline if row.ending == IN_PROGRESS_ELSEWHERE)
    return Check(
        files.correct and lease.correct and file_free_at_once and lease_waited,
        f"cache-lock-recheck: the next job got the file lock {file_wait:.0f} ms after it asked "
        f"(and the holder was dead); setnx: {plural(refused, 'job')} told 'in progress', the "
        f"next holder only {lease_gap:.0f} ms after the kill, once the {ttl:g} ms lease had run "
        f"out; {files.metrics.verdict} / {lease.metrics.verdict}",
    )


def _no_unique_index(r: Mapping[str, RaceResult]) -> Check:
    none, lease, two = (r[label].metrics for label in ("none", "setnx, short lease", "two-level"))
    return Check(
        none.duplicate_movies > 0 and lease.duplicate_movies > 0 and two.correct,
        f"without the UNIQUE indexes: none {none.verdict}; setnx with an expiring lease "
        f"{lease.verdict}; two-level {two.verdict}",
    )


def _flaky_ai(r: Mapping[str, RaceResult]) -> Check:
    passed, parts = True, []
    for label, result in r.items():
        m, left = result.metrics, result.aftermath
        ok = (
            left.unanswered_requests == 0
            and left.unfinished_jobs == 0
            and left.open_slots == 0
            and left.retried_jobs > 0
            and m.movies == m.descriptions
            and m.duplicate_movies == m.duplicate_descriptions == 0
        )
        passed = passed and ok
        parts.append(
            f"{label}: {plural(m.ai_calls, 'AI call')}, {plural(left.retried_jobs, 'job')} "
            f"retried, {m.failed_jobs} failed for good, {left.unfinished_jobs} stuck, "
            f"{plural(left.open_slots, 'slot')} still held, "
            f"{plural(left.unanswered_requests, 'request')} unanswered"
        )
    return Check(passed, "; ".join(parts))


# -- the lessons -------------------------------------------------------------------------

# A lease far shorter than the AI call, and the next request well inside the
# call: the second holder is in long before the first one writes, however
# busy the machine.
_SHORT_LEASE: dict[str, Any] = {"ttl_ms": 30, "latency_ms": 400, "arrival": Arrival("spread", 60)}

RACE_LESSONS: tuple[RaceLesson, ...] = (
    RaceLesson(
        "thundering-herd",
        "32 requests for one unknown movie, under every strategy",
        "Thirty-two requests for the same unknown movie arrive together, eight workers run "
        "the jobs. Read the table top to bottom: none lets every early racer call the AI and "
        "all but one fail at the UNIQUE index (failed_jobs); cache-lock queues them behind "
        "its lock and each appends a duplicate description; unique-index is correct but pays "
        "one AI call per early racer; cache-lock-recheck, for-update and setnx make one call; "
        "two-level makes one job for all 32 requests (deduplicated = 31).",
        Scenario(requests=32, slugs=1, workers=8, latency_ms=100, jitter_ms=0),
        tuple(LabRun(name, name) for name in TEACHING_ORDER),
        _thundering_herd,
        fast_changes={"latency_ms": 50},
    ),
    RaceLesson(
        "the-original-bug",
        "The duplicate descriptions MovieMind shipped, and the fix",
        "Six requests for one unknown movie arrive together. cache-lock looks the slug up "
        "before it waits for the lock and never looks again: every waiter, once it has the "
        "lock, calls the AI and appends another description. Look at 'descriptions' and the "
        "timeline (- waiting, = generating). cache-lock-recheck looks again after acquiring: "
        "one AI call, the waiters end reused_existing, but they still queue behind the "
        "holder (lock wait).",
        Scenario(requests=6, slugs=1, workers=6, latency_ms=100, jitter_ms=0),
        (LabRun("cache-lock", "cache-lock"), LabRun("cache-lock-recheck", "cache-lock-recheck")),
        _the_original_bug,
        fast_changes={"latency_ms": 50},
    ),
    RaceLesson(
        "wasted-ai-calls",
        "The UNIQUE index alone is correct, and every racer pays",
        "Eight requests for one movie at once. unique-index has no lock: every job looks, "
        "finds nothing, calls the AI, and all but one meet the UNIQUE index at persist and "
        "end on the existing row. The rows are the same as two-level's, but 'ai_calls' "
        "equals the racers. two-level deduplicates at dispatch: one job, one AI call.",
        Scenario(requests=8, slugs=1, workers=8, latency_ms=200, jitter_ms=0),
        (LabRun("unique-index", "unique-index"), LabRun("two-level", "two-level")),
        _wasted_ai_calls,
        fast_changes={"latency_ms": 80},
    ),
    RaceLesson(
        "for-update-serialises",
        "for-update holds SQLite's only write lock across the AI call",
        "Eight requests for eight different movies. The keys never clash, yet for-update "
        "holds BEGIN IMMEDIATE across each AI call, and in SQLite that is a database-wide "
        "lock: the jobs (and even the dispatches) run one at a time, which the timeline "
        "shows as one '=' bar after another. Compare 'wall_ms' with unique-index, which runs "
        "the eight AI calls side by side. On PostgreSQL the row locks do not clash: see "
        "for-update-row-locks.",
        Scenario(requests=8, slugs=8, workers=8, latency_ms=150, jitter_ms=0),
        (
            LabRun("for-update", "for-update", {"backend": "sqlite"}),
            LabRun("unique-index", "unique-index", {"backend": "sqlite"}),
        ),
        _for_update_serialises,
        fast_changes={"latency_ms": 40},
    ),
    RaceLesson(
        "for-update-row-locks",
        "On PostgreSQL for-update locks one movie, not the whole database",
        "The same eight requests for eight different movies, with for-update on SQLite and "
        "on PostgreSQL (needs MOVIEMIND_DATABASE_URL). SQLite has no row locks: BEGIN "
        "IMMEDIATE takes its one write lock, so every job waits for the one before it, "
        "whatever its movie. PostgreSQL's SELECT ... FOR UPDATE locks the movie's own "
        "control row: the eight AI calls run side by side. Only requests for the same movie "
        "queue, as the third run shows: four requests for one movie on PostgreSQL, one AI "
        "call at a time, and one in all.",
        Scenario(requests=8, slugs=8, workers=8, latency_ms=150, jitter_ms=0),
        (
            LabRun("for-update on SQLite", "for-update", {"backend": "sqlite"}),
            LabRun("for-update on PostgreSQL", "for-update", {"backend": "postgres"}),
            LabRun(
                "for-update on PostgreSQL, one movie",
                "for-update",
                {"backend": "postgres", "requests": 4, "slugs": 1, "workers": 4},
            ),
        ),
        _for_update_row_locks,
        fast_changes={"latency_ms": 40},
    ),
    RaceLesson(
        "lease-expiry",
        "A lease shorter than the AI call has two holders",
        "setnx with an 80 ms lease and a 300 ms AI call; a request every 100 ms. When the "
        "holder's lease expires mid-call, the next request takes the lease and starts a "
        "second AI call while the first is still running: two holders at once (two '=' bars "
        "side by side). The UNIQUE index still keeps the rows right here, but both calls "
        "are paid. With a lease longer than the call, the later requests are told "
        "in_progress_elsewhere and only one call is made.",
        Scenario(
            requests=4,
            slugs=1,
            workers=4,
            latency_ms=300,
            jitter_ms=0,
            ttl_ms=80,
            arrival=Arrival("spread", 100),
        ),
        (
            LabRun("setnx, short lease", "setnx"),
            LabRun("setnx, long lease", "setnx", {"ttl_ms": 1000}, {"ttl_ms": 500}),
        ),
        _lease_expiry,
        fast_changes={"latency_ms": 250, "ttl_ms": 40, "arrival": Arrival("spread", 50)},
    ),
    RaceLesson(
        "fencing",
        "A paused holder writes late: only a fencing token stops it",
        "The first holder finishes its AI call and then stalls (a GC pause, a slow disk: ~ "
        "in the timeline) for longer than its lease. A second request takes the expired "
        "lease, generates and writes. Then the first holder wakes up and writes too. The "
        "UNIQUE indexes are dropped, as they would be for any write they cannot catch (an "
        "update, a file, a call to another service). Without fencing the late write lands: "
        "a duplicate movie and description. With --fencing each write checks the holder's "
        "token inside its transaction and the stale one is refused (stale_writes_rejected).",
        Scenario(
            requests=2,
            slugs=1,
            workers=2,
            latency_ms=50,
            jitter_ms=0,
            ttl_ms=100,
            arrival=Arrival("spread", 200),
            pause_holder_ms=500,
            unique_index=False,
        ),
        (LabRun("setnx", "setnx"), LabRun("setnx --fencing", "setnx", {"fencing": True})),
        _fencing,
        fast_changes={
            "latency_ms": 20,
            "ttl_ms": 40,
            "arrival": Arrival("spread", 100),
            "pause_holder_ms": 250,
        },
    ),
    RaceLesson(
        "holder-crash",
        "The holder is SIGKILLed: a file lock is free at once, a lease waits for its TTL",
        "Worker processes run the jobs; the first job to finish its AI call is killed before "
        "it writes (X in the timeline), and a request arrives every 100 ms. cache-lock-"
        "recheck's file lock dies with the process (the kernel releases it): the next job "
        "takes it at once. setnx's lease is a row (or a Redis key) with a TTL: nothing "
        "releases it, so every request until it expires is told in_progress_elsewhere, and "
        "only then does a new holder start. Both end correct; the crash cost one wasted AI "
        "call. (A Redis lock is a key with a TTL too, so cache-lock-recheck races on lock "
        "files here whatever MOVIEMIND_LOCKS_URL says.)",
        Scenario(
            requests=8,
            slugs=1,
            workers=2,
            latency_ms=50,
            jitter_ms=0,
            ttl_ms=400,
            arrival=Arrival("spread", 100),
            kill_holder=True,
            mode="processes",
        ),
        (
            LabRun("cache-lock-recheck", "cache-lock-recheck", {"locks": "file"}),
            LabRun("setnx", "setnx"),
        ),
        _holder_crash,
        fast_changes={"requests": 6},
    ),
    RaceLesson(
        "no-unique-index",
        "Drop the UNIQUE indexes: who still holds?",
        "The same races with the named UNIQUE indexes dropped from the scratch database. "
        "none had nothing but the index: every early racer now inserts its own movie. setnx "
        "with a lease shorter than the AI call lets a second holder in, and its insert lands "
        "too. two-level still gives the key one job at dispatch, so one row is written.",
        Scenario(requests=4, slugs=1, workers=4, latency_ms=100, jitter_ms=0, unique_index=False),
        (
            LabRun("none", "none"),
            LabRun("setnx, short lease", "setnx", {**_SHORT_LEASE, "requests": 3}),
            LabRun("two-level", "two-level"),
        ),
        _no_unique_index,
        fast_changes={"latency_ms": 50},
    ),
    RaceLesson(
        "flaky-ai",
        "Half the AI calls fail: retries, released slots, nothing stuck",
        "Twenty-four requests for twelve movies while half the AI calls fail. A failed call "
        "sends its job back to PENDING with a backoff, up to three attempts; a job that fails "
        "for good releases its generation slot (two-level) or its file lock "
        "(cache-lock-recheck), so the next request for that slug starts afresh instead of "
        "joining a dead job. Look at the check: jobs retried, none left PENDING or "
        "IN_PROGRESS, no slot held, every request answered, and no half-written rows.",
        Scenario(requests=24, slugs=12, workers=4, latency_ms=20, jitter_ms=0, fail_rate=0.5),
        (LabRun("two-level", "two-level"), LabRun("cache-lock-recheck", "cache-lock-recheck")),
        _flaky_ai,
        fast_changes={"latency_ms": 5},
    ),
)

# What ``moviemind demo`` plays, in this order: the whole herd first, then
# the lessons that explain its rows, then the flags (about half a minute).
TOUR = (
    "thundering-herd",
    "the-original-bug",
    "wasted-ai-calls",
    "fencing",
    "holder-crash",
    "baseline-regenerate",
    "canary-rollback",
)

ALL_LESSONS: tuple[Lesson, ...] = (*RACE_LESSONS, BASELINE_REGENERATE, CANARY_ROLLBACK)
LESSONS: dict[str, Lesson] = {lesson.name: lesson for lesson in ALL_LESSONS}


def lesson_named(name: str) -> Lesson:
    """The lesson called ``name``; an unknown name lists the valid ones."""
    try:
        return LESSONS[name]
    except KeyError:
        raise InvalidInput(
            f"unknown lab scenario {name!r}; expected one of: {', '.join(LESSONS)}"
        ) from None


def run_lesson(
    name: str,
    *,
    fast: bool = False,
    on_progress: Progress | None = None,
    on_phase: PhaseWatcher | None = None,
    stop: threading.Event | None = None,
    servers: Servers | None = None,
) -> LessonReport:
    """Play the lesson ``name`` and check its outcome (``stop``: see :func:`run_race`) on
    the engines ``servers`` names."""
    return lesson_named(name).play(
        fast=fast, on_progress=on_progress, on_phase=on_phase, stop=stop, servers=servers
    )
