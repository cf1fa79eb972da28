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
from moviemind_lite.core.model import IN_PROGRESS_ELSEWHERE, REUSED_EXISTING
from moviemind_lite.lab.fault_lessons import FAULT_LESSONS
from moviemind_lite.lab.fence_lessons import FENCE_LESSONS
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
from moviemind_lite.lab.timeline import (
    ENDED,
    GENERATING,
    KILLED,
    PAUSED,
    QUEUED,
    entered,
    peak_overlap,
)
from moviemind_lite.pipeline.body import LOCKED, PERSISTING, WAITING

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


# -- the framing, said once ----------------------------------------------------------------

# The two distinctions every lesson is read with (docs/lab.md, "How to read a lesson").
EFFICIENCY_OR_CORRECTNESS = (
    "A lock for efficiency saves work (here: paid AI calls) and may fail now and then; a lock "
    "for correctness must never let a wrong write land, and only the store can promise that, "
    "with a conditional write (a UNIQUE index, a version check, a fencing token it checks)."
)
LOCK_OR_LEASE = (
    "A lock without expiry stays safe while its holder is stalled, but a hung holder blocks "
    "everyone: it needs a perfect failure detector. A lease expires, so a dead holder costs "
    "only its TTL, but a stalled holder can outlive it: it needs fencing."
)
# Where the lessons' claims come from.
KLEPPMANN = "Kleppmann, 'How to do distributed locking' (2016)"
REDIS_LOCKS_PAGE = "the Redis page 'Distributed Locks with Redis'"
POSTGRES_ISOLATION = "PostgreSQL's manual, 'Transaction Isolation'"
SQLITE_LOCKING = "SQLite's 'File Locking And Concurrency' and 'BEGIN TRANSACTION' pages"


# -- what the checks read ------------------------------------------------------------------


def ended_as(result: RaceResult, ending: str) -> list[str]:
    """The ids of the jobs that ended as ``ending`` (``created``, ``in_progress_elsewhere``...)."""
    return [row.job_id for row in result.timeline if row.ending == ending]


def first_entered(result: RaceResult, job_id: str, phase: str) -> float | None:
    """When ``job_id`` first entered ``phase`` (``None``: never)."""
    return next((at for name, at in result.phases.get(job_id, []) if name == phase), None)


def runs_of(result: RaceResult, job_id: str) -> int:
    """How many times ``job_id`` was run to its AI call (a job taken back runs again)."""
    return sum(1 for name, _ in result.phases.get(job_id, []) if name == GENERATING)


def _damage(result: RaceResult) -> int:
    return result.metrics.duplicate_movies + result.metrics.duplicate_descriptions


# -- the checks --------------------------------------------------------------------------


def _thundering_herd(r: Mapping[str, RaceResult]) -> Check:
    wrong = [label for label in SAFE_STRATEGIES if not r[label].correct]
    none, bug, two = (r[name].metrics for name in ("none", "cache-lock", "two-level"))
    index, locked = r["unique-index"].metrics, r["for-update"].metrics
    workers = r["unique-index"].scenario.workers
    refused = len(ended_as(r["setnx"], IN_PROGRESS_ELSEWHERE))
    stored = locked.requests - locked.jobs_dispatched - locked.deduplicated
    return Check(
        not wrong
        and 0 < none.failed_jobs < workers
        and bug.duplicate_descriptions > 0
        and 1 < index.ai_calls <= workers
        and refused > 0
        and (two.jobs_dispatched, two.ai_calls) == (1, 1),
        f"{two.requests} requests for one slug, {workers} workers: none failed "
        f"{plural(none.failed_jobs, 'job')}, cache-lock wrote "
        f"{plural(bug.duplicate_descriptions, 'duplicate description')}; "
        + (f"{', '.join(wrong)} went wrong" if wrong else "the other five were correct")
        + f"; unique-index paid {plural(index.ai_calls, 'AI call')} (at most one per worker); "
        f"for-update made {plural(locked.jobs_dispatched, 'job')} ({stored} requests found the "
        f"text at dispatch); setnx answered {plural(refused, 'job')} 'in progress', without a "
        f"description; two-level made {plural(two.jobs_dispatched, 'job')} and "
        f"{plural(two.ai_calls, 'AI call')}",
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
    in_processes = locked.scenario.mode == index.scenario.mode == "processes"
    return Check(
        in_processes
        and locked.correct
        and index.correct
        and locked_peak == 1
        and index_peak > 1
        and locked.metrics.wall_ms > index.metrics.wall_ms,
        f"{locked.scenario.slugs} distinct slugs, one worker process each: for-update ran at "
        f"most {locked_peak} AI call at a time and took {locked.metrics.wall_ms:.0f} ms; "
        f"unique-index ran up to {index_peak} at once and took {index.metrics.wall_ms:.0f} ms "
        f"({ratio:.1f}x)",
    )


def _for_update_row_locks(r: Mapping[str, RaceResult]) -> Check:
    on_sqlite, on_postgres = r["for-update on SQLite"], r["for-update on PostgreSQL"]
    one_slug = r["for-update on PostgreSQL, one movie"]
    sqlite_peak = peak_overlap(on_sqlite.phases, GENERATING)
    postgres_peak = peak_overlap(on_postgres.phases, GENERATING)
    one_slug_peak = peak_overlap(one_slug.phases, GENERATING)
    # The waiters' look after their wait saw the holder's text: READ COMMITTED at work.
    rechecked = len(ended_as(one_slug, REUSED_EXISTING))
    return Check(
        on_sqlite.correct
        and on_postgres.correct
        and one_slug.correct
        and sqlite_peak == 1
        and postgres_peak > 1
        and one_slug_peak == 1
        and one_slug.metrics.ai_calls == 1
        and rechecked == one_slug.metrics.jobs_dispatched - 1,
        f"{on_sqlite.scenario.slugs} distinct slugs: on SQLite for-update ran at most "
        f"{sqlite_peak} AI call at a time, on PostgreSQL up to {postgres_peak} at once; "
        f"{one_slug.scenario.requests} requests for one movie on PostgreSQL ran "
        f"{one_slug_peak} at a time and made {plural(one_slug.metrics.ai_calls, 'AI call')}; "
        f"{plural(rechecked, 'waiter')} found the holder's text when it looked again",
    )


def _lease_expiry(r: Mapping[str, RaceResult]) -> Check:
    short, long = r["setnx, lease shorter than the call"], r["setnx, lease longer than the call"]
    holders = entered(short.phases, LOCKED)
    second_at = holders[1][0] if len(holders) > 1 else None
    refused_at = sorted(
        at
        for job in ended_as(short, IN_PROGRESS_ELSEWHERE)
        if (at := first_entered(short, job, QUEUED)) is not None
    )
    # Exclusion first: a request refused while the first lease was live, before a second holder.
    excluded = second_at is not None and any(at < second_at for at in refused_at)
    short_peak = peak_overlap(short.phases, GENERATING)
    long_peak = peak_overlap(long.phases, GENERATING)
    return Check(
        excluded
        and short_peak >= 2
        and short.metrics.ai_calls >= 2
        and long_peak == 1
        and long.metrics.ai_calls == 1
        and long.correct,
        f"with a {short.scenario.ttl_ms:g} ms lease and a {short.scenario.latency_ms:g} ms AI "
        f"call: {plural(len(refused_at), 'request')} refused"
        + (" (one before the second holder)" if excluded else ", none before a second holder")
        + f", {len(holders)} jobs took the lease, {short_peak} called the AI at once "
        f"({plural(short.metrics.ai_calls, 'AI call')}, {short.metrics.verdict}); with a "
        f"{long.scenario.ttl_ms:g} ms lease: {long_peak} holder, "
        f"{plural(long.metrics.ai_calls, 'AI call')}",
    )


def _fencing(r: Mapping[str, RaceResult]) -> Check:
    plain, fenced, indexed = (
        r["setnx, no index, no fencing"],
        r["setnx --fencing"],
        r["setnx, UNIQUE index kept"],
    )
    paused = [job for _, job in entered(indexed.phases, PAUSED)]
    late_refused = bool(paused) and ended_as(indexed, REUSED_EXISTING) == paused
    return Check(
        _damage(plain) > 0
        and fenced.metrics.stale_writes_rejected > 0
        and fenced.correct
        and indexed.correct
        and late_refused,
        f"without fencing or index the paused holder's late write landed: "
        f"{plain.metrics.verdict}; with fencing "
        f"{plural(fenced.metrics.stale_writes_rejected, 'stale write')} refused, "
        f"{fenced.metrics.verdict}; with the UNIQUE index and no fencing: "
        f"{indexed.metrics.verdict}"
        + (", the late write ended on the existing row" if late_refused else ""),
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


def _waited_out_the_pause(result: RaceResult) -> bool:
    """Whether every other job took the lock only after the paused holder had written."""
    paused = entered(result.phases, PAUSED)
    if not paused:
        return False
    holder = paused[0][1]
    wrote_at = first_entered(result, holder, PERSISTING)
    others = [at for at, job in entered(result.phases, LOCKED) if job != holder]
    return wrote_at is not None and bool(others) and all(at > wrote_at for at in others)


def _holder_crash(r: Mapping[str, RaceResult]) -> Check:
    files, lease = r["cache-lock-recheck, holder killed"], r["setnx, holder killed"]
    hung = r["cache-lock-recheck, holder paused"]
    ttl = lease.scenario.ttl_ms
    file_kill, lease_kill = _after_kill(files), _after_kill(lease)
    if file_kill is None or lease_kill is None:
        return Check(False, "no holder was killed, or nobody took the key after the kill")
    # A lock file is the kernel's: free the moment its process dies, long before
    # any lease would have run out. A lease is only data: free at its expiry.
    file_free_at_once = (file_kill.next_locked_at - file_kill.locked_at) * 1000 < ttl
    lease_waited = (
        lease_kill.next_locked_at - lease_kill.locked_at
    ) * 1000 >= ttl - _CLOCK_SLACK_MS
    file_wait = (
        file_kill.next_locked_at - max(file_kill.next_asked_at, file_kill.killed_at)
    ) * 1000
    lease_gap = (lease_kill.next_locked_at - lease_kill.killed_at) * 1000
    refused = len(ended_as(lease, IN_PROGRESS_ELSEWHERE))
    waited = _waited_out_the_pause(hung)
    return Check(
        files.correct
        and lease.correct
        and file_free_at_once
        and lease_waited
        and hung.correct
        and waited,
        f"cache-lock-recheck: the next job got the file lock {file_wait:.0f} ms after it asked "
        f"(and the holder was dead); setnx: {plural(refused, 'job')} told 'in progress', the "
        f"next holder only {lease_gap:.0f} ms after the kill, once the {ttl:g} ms lease had run "
        f"out; a paused holder of the file lock: "
        + ("everyone else waited until it had written" if waited else "someone did not wait")
        + f", {hung.metrics.verdict} without the UNIQUE index ({hung.metrics.lock_wait_ms:.0f} "
        f"ms waited)",
    )


def _no_unique_index(r: Mapping[str, RaceResult]) -> Check:
    none, lease, two = (r[label].metrics for label in ("none", "setnx, short lease", "two-level"))
    return Check(
        none.duplicate_movies > 0 and lease.duplicate_movies > 0 and two.correct,
        f"without the UNIQUE indexes: none {none.verdict}; setnx with an expiring lease "
        f"{lease.verdict}; two-level, its slot outliving the job, {two.verdict}",
    )


def _fresh_starts(result: RaceResult) -> tuple[int, int]:
    """(requests that started a new job after their slug's job had failed for good,
    requests that joined a job that had already ended)."""
    failed_end: dict[str, list[float]] = {}
    ended_at: dict[str, float] = {}
    for row in result.timeline:
        at = first_entered(result, row.job_id, ENDED)
        if at is not None:
            ended_at[row.job_id] = at
            if row.ending == "failed":
                failed_end.setdefault(row.label.rsplit(" ", 1)[0], []).append(at)
    fresh = sum(
        1
        for request in result.requests
        if request.dispatch == "created"
        and any(at < request.arrived_at for at in failed_end.get(request.slug, []))
    )
    joined_dead = sum(
        1
        for request in result.requests
        if request.dispatch == "joined"
        and request.job_id in ended_at
        and ended_at[request.job_id] < request.arrived_at
    )
    return fresh, joined_dead


def _flaky_ai(r: Mapping[str, RaceResult]) -> Check:
    passed, parts = True, []
    for label in ("two-level", "cache-lock-recheck"):
        result = r[label]
        m, left = result.metrics, result.aftermath
        ok = (
            left.unanswered_requests == 0
            and left.unfinished_jobs == 0
            and left.open_slots == 0
            and left.retried_jobs > 0
            # Every slug described once: a job that failed for good is no damage
            # when a later request for its slug started afresh and succeeded.
            and m.descriptions == m.movies == result.scenario.slugs
            and m.duplicate_movies == m.duplicate_descriptions == 0
        )
        passed = passed and ok
        parts.append(
            f"{label}: {plural(m.ai_calls, 'AI call')}, {plural(left.retried_jobs, 'job')} "
            f"retried, {m.failed_jobs} failed for good, {left.unfinished_jobs} stuck, "
            f"{plural(left.open_slots, 'slot')} still held, "
            f"{plural(left.unanswered_requests, 'request')} unanswered, "
            f"{m.descriptions} of {result.scenario.slugs} slugs described"
        )
    down = r["two-level, AI down"]
    fresh, joined_dead = _fresh_starts(down)
    passed = passed and fresh > 0 and joined_dead == 0 and down.aftermath.open_slots == 0
    parts.append(
        f"AI down: {plural(down.metrics.failed_jobs, 'job')} failed for good, "
        f"{plural(fresh, 'later request')} started afresh, {joined_dead} joined a dead job"
    )
    return Check(passed, "; ".join(parts))


def _efficiency_not_correctness(r: Mapping[str, RaceResult]) -> Check:
    long, short, indexed = (
        r["two-level, no index, slot outlives the job"],
        r["two-level, no index, slot expires mid-job"],
        r["two-level, guards, slot expires mid-job"],
    )
    return Check(
        long.correct
        and long.metrics.ai_calls == 1
        and short.metrics.jobs_dispatched > 1
        and _damage(short) > 0
        and indexed.correct
        and indexed.metrics.jobs_dispatched == 1
        and indexed.metrics.ai_calls == 1,
        f"slot TTL {long.scenario.slot_ttl_ms:g} ms, no index: {long.metrics.verdict}, "
        f"{plural(long.metrics.ai_calls, 'AI call')}; slot TTL "
        f"{short.scenario.slot_ttl_ms:g} ms ({short.scenario.latency_ms:g} ms job), no index: "
        f"{plural(short.metrics.jobs_dispatched, 'job')}, {short.metrics.verdict}; the same with "
        f"the guards: {plural(indexed.metrics.jobs_dispatched, 'job')}, "
        f"{indexed.metrics.verdict}, {plural(indexed.metrics.ai_calls, 'AI call')}",
    )


def _stopped_holder(r: Mapping[str, RaceResult]) -> Check:
    plain, fenced, forever = (
        r["setnx, lease shorter than the stop"],
        r["setnx --fencing"],
        r["cache-lock-recheck (no expiry)"],
    )
    stopped = all(entered(result.phases, PAUSED) for result in (plain, fenced, forever))
    waited = _waited_out_the_pause(forever)
    return Check(
        stopped
        and _damage(plain) > 0
        and fenced.metrics.stale_writes_rejected > 0
        and fenced.correct
        and forever.correct
        and waited,
        f"a worker process stopped for {plain.scenario.stop_holder_ms:g} ms with a "
        f"{plain.scenario.ttl_ms:g} ms lease: {plain.metrics.verdict}; with fencing "
        f"{plural(fenced.metrics.stale_writes_rejected, 'stale write')} refused, "
        f"{fenced.metrics.verdict}; a lock file (no expiry): "
        + ("the others waited for the stopped holder" if waited else "someone did not wait")
        + f" ({forever.metrics.lock_wait_ms:.0f} ms waited), {forever.metrics.verdict}",
    )


def _at_least_once(r: Mapping[str, RaceResult]) -> Check:
    result = r["two-level, holder killed"]
    killed = [job for _, job in entered(result.phases, KILLED)]
    runs = {job: runs_of(result, job) for job in killed}
    m = result.metrics
    return Check(
        bool(killed)
        and all(count == 2 for count in runs.values())
        and m.jobs_dispatched == 1
        and m.ai_calls == 2
        and result.aftermath.retried_jobs == 1
        and m.correct,
        f"{m.requests} requests, {plural(m.jobs_dispatched, 'job')} "
        f"({m.deduplicated} joined it); the killed job ran "
        + (", ".join(plural(count, "time") for count in runs.values()) or "0 times")
        + f"; {plural(m.ai_calls, 'paid AI call')} for one key; {m.verdict}",
    )


def _clock_skew(r: Mapping[str, RaceResult]) -> Check:
    files, redis, right = (
        r["setnx, leases in the database"],
        r["setnx, leases on Redis"],
        r["setnx, clocks right"],
    )
    ttl = files.scenario.ttl_ms
    holders = entered(files.phases, LOCKED)
    # The second holder came while the first lease was live by any one clock.
    early = len(holders) >= 2 and (holders[1][0] - holders[0][0]) * 1000 < ttl - _CLOCK_SLACK_MS
    no_pause = not any(entered(result.phases, PAUSED) for result in r.values())
    files_peak = peak_overlap(files.phases, GENERATING)
    return Check(
        no_pause
        and early
        and files_peak >= 2
        and peak_overlap(redis.phases, GENERATING) == 1
        and redis.metrics.ai_calls == 1
        and bool(ended_as(redis, IN_PROGRESS_ELSEWHERE))
        and peak_overlap(right.phases, GENERATING) == 1
        and right.metrics.ai_calls == 1,
        f"a {ttl:g} ms lease, the second worker's clock {files.scenario.skew_ms:g} ms ahead, no "
        f"pause: in the database {plural(len(holders), 'holder')}, {files_peak} AI call"
        f"{'' if files_peak == 1 else 's'} at once, the "
        + ("second within the first one's lease" if early else "second only after it expired")
        + f"; on Redis {plural(redis.metrics.ai_calls, 'AI call')}, the second request refused;"
        f" with the clocks right {plural(right.metrics.ai_calls, 'AI call')}",
    )


# -- the lessons -------------------------------------------------------------------------

# A lease far shorter than the AI call, and the next request well inside the
# call: the second holder is in long before the first one writes, however
# busy the machine.
_SHORT_LEASE: dict[str, Any] = {"ttl_ms": 30, "latency_ms": 400, "arrival": Arrival("spread", 60)}

RACE_LESSONS: tuple[RaceLesson, ...] = (
    RaceLesson(
        "thundering-herd",
        "32 requests for one unknown movie, under every strategy",
        "Thirty-two requests for the same unknown movie arrive together; eight workers run "
        "the jobs. Read the table top to bottom. none: every request is a job; the first "
        "eight (one per worker) call the AI before any text exists and seven of them fail at "
        "the UNIQUE index (failed); the jobs that start later find the text. cache-lock: "
        "those eight queue behind the lock and each appends a duplicate description. "
        "unique-index is correct but pays an AI call for each of the eight: the index is the "
        "lock for correctness, and nothing saves the calls. cache-lock-recheck, for-update "
        "and setnx make one call. for-update's job count depends on when each dispatch got "
        "the write lock: on SQLite a dispatch waits for it while the holder keeps it across "
        "its AI call, and one that gets it after the holder committed finds the text and "
        "makes no job. setnx's jobs that run while the lease is held end "
        "in_progress_elsewhere: their requests are answered without a description and must "
        "ask again (a second herd, of polls), although 'correct' (rows, not answers) counts "
        "them fine. two-level makes one job for all 32 requests (deduplicated = 31): its "
        "slot is a lock for efficiency, the UNIQUE index behind it the lock for correctness. "
        + EFFICIENCY_OR_CORRECTNESS,
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
        "equals the racers. two-level deduplicates at dispatch: one job, one AI call. The "
        "index is the lock for correctness; two-level's slot adds a lock for efficiency.",
        Scenario(requests=8, slugs=1, workers=8, latency_ms=200, jitter_ms=0),
        (LabRun("unique-index", "unique-index"), LabRun("two-level", "two-level")),
        _wasted_ai_calls,
        fast_changes={"latency_ms": 80},
    ),
    RaceLesson(
        "for-update-serialises",
        "for-update holds SQLite's only write lock across the AI call",
        "Three requests for three different movies, each job in a worker process of its own "
        "(--mode processes). The keys never clash, yet for-update holds BEGIN IMMEDIATE "
        "across each AI call, and in SQLite that takes the database's one write lock "
        f"({SQLITE_LOCKING}): the jobs, and even the dispatches of new requests, run one at "
        "a time, one '=' bar after another, while readers carry on (WAL). Compare 'wall_ms' "
        "with unique-index, whose AI calls run side by side. The waiters are not queued: "
        "SQLite's busy handler sleeps and retries, so they are served in no set order, not "
        "in arrival order. The race uses processes because in threads mode the process's "
        "own lock around its SQLite writes would serialise the jobs before SQLite's lock is "
        "reached; processes share nothing but the database file. On PostgreSQL the row "
        "locks do not clash: see for-update-row-locks.",
        Scenario(requests=4, slugs=4, workers=4, latency_ms=150, jitter_ms=0, mode="processes"),
        (
            LabRun("for-update", "for-update", {"backend": "sqlite"}),
            LabRun("unique-index", "unique-index", {"backend": "sqlite"}),
        ),
        _for_update_serialises,
        fast_changes={"latency_ms": 60},
    ),
    RaceLesson(
        "for-update-row-locks",
        "On PostgreSQL for-update locks one movie, not the whole database",
        "The same eight requests for eight different movies, with for-update on SQLite and "
        "on PostgreSQL (needs MOVIEMIND_DATABASE_URL). SQLite has no row locks: BEGIN "
        "IMMEDIATE takes its one write lock, so every job waits for the one before it, "
        "whatever its movie. PostgreSQL locks rows: the eight AI calls run side by side. "
        "Only requests for the same movie queue, as the third run shows: four requests for "
        "one movie, one AI call at a time, and one in all. For a new movie the waiters "
        "first block on the holder's uncommitted INSERT of the control row (ON CONFLICT DO "
        "NOTHING waits to see whether it commits), not at SELECT ... FOR UPDATE. When the "
        "holder commits, each waiter looks again and finds its text: the project runs READ "
        "COMMITTED, where every statement takes a new snapshot; under REPEATABLE READ the "
        "transaction's first snapshot would hide the text, and PostgreSQL would refuse the "
        f"locked read with a serialization failure instead ({POSTGRES_ISOLATION}). Not "
        "shown here, the cost of a transaction held open across a slow AI call: it keeps a "
        "pool connection busy for the whole call (the pool's size caps the jobs running), "
        "and it holds back the xmin horizon, so VACUUM cannot remove rows that died after "
        "it began.",
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
        "A lease shorter than the AI call excludes, then expires: two jobs believe they hold it",
        "setnx with a 300 ms lease and a 600 ms AI call; three requests 200 ms apart. The first "
        "job takes the lease. The second request comes while the lease is live and is "
        "refused (in_progress_elsewhere): the lease excludes. The third comes after the "
        "lease has expired, mid-call: it takes the lease and starts a second AI call while "
        "the first is still running (two '=' bars side by side): two jobs believe they hold "
        "it. The UNIQUE index keeps the "
        "rows right here, but both calls are paid. With a lease longer than the call, every "
        "later request is refused and one call is made. A lease longer than the call cannot "
        "be promised when calls have a long tail; renewing the lease stalls in the very "
        "pauses it should survive, so the answer is fencing at the store (see fencing). "
        + LOCK_OR_LEASE,
        Scenario(
            requests=3,
            slugs=1,
            workers=3,
            latency_ms=600,
            jitter_ms=0,
            ttl_ms=300,
            arrival=Arrival("spread", 200),
        ),
        (
            LabRun("setnx, lease shorter than the call", "setnx"),
            LabRun("setnx, lease longer than the call", "setnx", {"ttl_ms": 2000}),
        ),
        _lease_expiry,
    ),
    RaceLesson(
        "fencing",
        "A paused holder writes late: a lock cannot stop it, a conditional write can",
        "The first holder finishes its AI call and then stalls (a GC pause, a slow disk: ~ "
        "in the timeline) for longer than its lease. A second request takes the expired "
        "lease, generates and writes. Then the first holder wakes up and writes too. A lock "
        "cannot stop a late write; the resource must make the write conditional "
        f"({KLEPPMANN}). The first run drops the UNIQUE indexes and checks nothing: the late "
        "write lands, a duplicate movie and description. With --fencing the write checks the "
        "holder's token in its transaction and the stale one is refused "
        "(stale_writes_rejected). On the file engine that check compares the token with the "
        "lease row in the same transaction, a compare-and-set on the lock's own state, "
        "possible only because lock and data share one store; on Redis the database keeps "
        "the highest token written (a fence row), which is Kleppmann's fence: the storage "
        "refuses tokens below the highest it has seen (the GET of Redis's counter before "
        "the commit is not atomic with it). The third run keeps the UNIQUE index and no "
        "fencing: the index is a conditional write too, and the late insert ends on the "
        "existing row. A token protects only a resource that checks it: a file or a service "
        "that ignores tokens stays exposed, and the paused AI call is paid either way. "
        + LOCK_OR_LEASE,
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
        (
            LabRun("setnx, no index, no fencing", "setnx"),
            LabRun("setnx --fencing", "setnx", {"fencing": True}),
            LabRun("setnx, UNIQUE index kept", "setnx", {"unique_index": True}),
        ),
        _fencing,
        fast_changes={
            "latency_ms": 20,
            "ttl_ms": 40,
            "arrival": Arrival("spread", 100),
            # The late write must come well after the second holder's, on a busy machine too.
            "pause_holder_ms": 400,
        },
    ),
    RaceLesson(
        "holder-crash",
        "A killed holder frees a lock file at once, a lease at its TTL; a hung one blocks a lock",
        "Worker processes run the jobs; the first job to finish its AI call is killed before "
        "it writes (X in the timeline), and a request arrives every 100 ms. "
        "cache-lock-recheck's lock file is an flock, which the kernel releases when the "
        "process dies (true on a local file system; not while a forked child still shares the "
        "descriptor, and unreliable over NFS): the next job takes it at once. setnx's lease "
        "is a row (or a Redis key) with a TTL: nothing releases it, so every request until it "
        "expires is told in_progress_elsewhere, and only then does a new holder start. "
        "Laravel's Cache::lock, which MovieMind shipped, is a stored cache entry on every "
        "driver, the file driver included (with a TTL if given, else for ever; Laravel's "
        "documentation, 'Atomic Locks'): it is never freed by its holder's death, so it "
        "behaves like setnx here, not like the lock file. The third run is the other half of "
        "the trade-off: the holder of a lock file stalls 300 ms instead, with no UNIQUE index "
        "and no fencing. Nobody takes the lock from it, so the race stays correct, and "
        "everyone waits. On one host the kernel is a perfect failure detector; across a "
        "network nothing is. The killed job itself is not lost: its claim on the queue runs "
        "out and another worker runs it again (see "
        "at-least-once). " + LOCK_OR_LEASE + " (Cache::lock in Redis is a key with a TTL "
        "too, so the lock-file runs use lock files whatever MOVIEMIND_LOCKS_URL says.)",
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
            LabRun("cache-lock-recheck, holder killed", "cache-lock-recheck", {"locks": "file"}),
            LabRun("setnx, holder killed", "setnx"),
            LabRun(
                "cache-lock-recheck, holder paused",
                "cache-lock-recheck",
                {
                    "locks": "file",
                    "mode": "threads",
                    "kill_holder": False,
                    "pause_holder_ms": 300,
                    "unique_index": False,
                    "requests": 3,
                    "workers": 3,
                    "arrival": Arrival(),
                },
            ),
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
        "too. two-level still gives the key one job at dispatch, so one row is written, but "
        "only because its slot's TTL (ten minutes) outlives the job: a slot that expires "
        "mid-job is taken over by the next request, exactly as an expired lease is (see "
        "efficiency-not-correctness). Without the index two-level is as safe as a long "
        "setnx lease, and no safer. " + EFFICIENCY_OR_CORRECTNESS,
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
        "AI calls fail: retries, released slots, a fresh start after a dead job",
        "Twelve movies asked for four times each, a request every 40 ms, while four AI "
        "calls in ten fail. A failed call sends its job back to PENDING with a backoff, up to "
        "three attempts; a job that fails for good releases its generation slot (two-level) or "
        "its lock file (cache-lock-recheck), so the next request for that slug starts "
        "afresh instead of joining a dead job, and the later rounds of requests get every "
        "slug its description. The third run makes the fresh start certain: the AI is down, "
        "every job fails for good, and each later request for the slug makes a new job. "
        "Look at the check: jobs retried, none left PENDING or IN_PROGRESS, no slot held, "
        "every request answered, every slug described, no duplicate; and with the AI down, "
        "requests that started afresh after a failure and none that joined a dead job.",
        Scenario(
            requests=48,
            slugs=12,
            workers=4,
            latency_ms=20,
            jitter_ms=0,
            fail_rate=0.4,
            arrival=Arrival("spread", 40),
        ),
        (
            LabRun("two-level", "two-level"),
            LabRun("cache-lock-recheck", "cache-lock-recheck"),
            LabRun(
                "two-level, AI down",
                "two-level",
                {"fail_rate": 1.0, "requests": 3, "slugs": 1, "arrival": Arrival("spread", 600)},
            ),
        ),
        _flaky_ai,
        fast_changes={"latency_ms": 5, "arrival": Arrival("spread", 30)},
    ),
    RaceLesson(
        "efficiency-not-correctness",
        "two-level's slot saves AI calls; only the database's guards keep the rows right",
        "two-level with the database's guards taken away (--no-unique-index drops the UNIQUE "
        "indexes and the one-unfinished-job-per-key guard at dispatch), one movie, a 400 ms "
        "AI call and a second request 200 ms after the first. With the slot's usual TTL the "
        "second request joins the first job: one job, one call, one row. With a 100 ms slot "
        "TTL (--slot-ttl) the slot has expired when the second request comes, mid-job: it "
        "takes the slot over with a second job, both call the AI and both insert "
        "(duplicates). Put the guards back and the same expired slot costs nothing: dispatch "
        "asks the jobs table, finds the key's unfinished job (a partial UNIQUE index keeps it "
        "the only one) and joins it, and the UNIQUE index on the texts would refuse a later "
        "insert anyway. The slot is a lock for efficiency; the database's constraints are "
        f"the lock for correctness ({KLEPPMANN}). " + EFFICIENCY_OR_CORRECTNESS,
        Scenario(
            requests=2,
            slugs=1,
            workers=2,
            latency_ms=400,
            jitter_ms=0,
            arrival=Arrival("spread", 200),
            unique_index=False,
        ),
        (
            LabRun("two-level, no index, slot outlives the job", "two-level"),
            LabRun("two-level, no index, slot expires mid-job", "two-level", {"slot_ttl_ms": 100}),
            LabRun(
                "two-level, guards, slot expires mid-job",
                "two-level",
                {"slot_ttl_ms": 100, "unique_index": True},
            ),
        ),
        _efficiency_not_correctness,
    ),
    RaceLesson(
        "stopped-holder",
        "SIGSTOP the holder's process: a lease is outlived, a lock that never expires waits",
        "Worker processes run the jobs; the first job to finish its AI call has its whole "
        "process stopped with SIGSTOP for 600 ms before it writes (~ in the timeline), then "
        "continued. This is a truer stand-in for a GC pause or a VM migration than a "
        "sleeping thread: every thread of the process stops, its heartbeats too, so a lease "
        "kept alive by a heartbeat would lapse just the same. The lease is 150 ms and the "
        "UNIQUE indexes are dropped. setnx: the second request takes the expired lease, "
        "writes, and the stopped holder, continued, writes too: duplicates. With --fencing "
        "its write is refused. cache-lock-recheck's lock file never expires: nobody takes "
        "it from the stopped holder, everyone waits out the stop, and the race is correct "
        f"with no index and no fencing ({KLEPPMANN}). " + LOCK_OR_LEASE,
        Scenario(
            requests=2,
            slugs=1,
            workers=2,
            latency_ms=50,
            jitter_ms=0,
            ttl_ms=150,
            arrival=Arrival("spread", 250),
            stop_holder_ms=600,
            unique_index=False,
            mode="processes",
        ),
        (
            LabRun("setnx, lease shorter than the stop", "setnx"),
            LabRun("setnx --fencing", "setnx", {"fencing": True}),
            LabRun("cache-lock-recheck (no expiry)", "cache-lock-recheck", {"locks": "file"}),
        ),
        _stopped_holder,
    ),
    RaceLesson(
        "at-least-once",
        "A killed job runs again: one job, two runs, two paid AI calls, one row",
        "Worker processes run two-level's jobs; the first job to finish its AI call is "
        "killed before it writes, and three more requests for the movie arrive, 100 ms "
        "apart. They join the job on its way (two-level's slot key is the request's "
        "idempotency key: one job for all four). Nobody tells the queue the worker died: "
        "the job's claim runs out and another worker takes it back and runs it again, "
        "the queue's at-least-once delivery. Its second run pays a second AI call for the "
        "same key, then writes the one row: the first run died before its transaction, so "
        "nothing of it landed, and a run that woke up late could not end the job either "
        "(an end is accepted only from the attempt that holds the claim; not shown). What the "
        "idempotency key buys: one job, one row, every request answered by it. What it "
        "cannot buy: the first AI call is paid and lost (only an AI service that took the "
        "same key and kept its answer could spare the second call), and a call that timed "
        "out leaves its caller not knowing whether it was done (not shown either); a run can "
        "only make its own write safe to repeat.",
        Scenario(
            requests=4,
            slugs=1,
            workers=2,
            latency_ms=50,
            jitter_ms=0,
            arrival=Arrival("spread", 100),
            kill_holder=True,
            mode="processes",
        ),
        (LabRun("two-level, holder killed", "two-level"),),
        _at_least_once,
    ),
    RaceLesson(
        "clock-skew",
        "Two lease holders and no pause at all: the second machine's clock is ahead",
        "Two worker processes; the second one's clock runs 1000 ms ahead of the first's "
        "(--skew-ms), nothing else is wrong. The first job takes setnx's 300 ms lease and "
        "calls the AI (400 ms); 150 ms later the second request's job, on the other "
        "process, asks for the lease. Which clock decides whether the lease has expired? "
        "For leases and slots in the database's tables, on SQLite and PostgreSQL alike, "
        "the clocks of the processes: the holder wrote its expiry by its clock, the asker "
        "compares it with its own, which reads the lease as long gone: a second holder "
        "while the first is mid-call, with no pause and no expiry by any one clock. On "
        "Redis the server's clock alone runs the key's PX expiry, so the same skew changes "
        "nothing and the second request is refused (the third run, on Redis: needs "
        "MOVIEMIND_LOCKS_URL). A lock file has no expiry and so no clock at all. PostgreSQL "
        "could decide with its own clock too (now() in the statement instead of the "
        "client's stamp), at the price of one more thing the server must be trusted with. "
        f"Redlock assumes clocks that drift by a bounded amount ({REDIS_LOCKS_PAGE}); "
        f"{KLEPPMANN} shows what happens when they jump. So that the run is the same every "
        "time, the first job always goes to the process whose clock is right; the other "
        "starts claiming once it has begun. " + LOCK_OR_LEASE,
        Scenario(
            requests=2,
            slugs=1,
            workers=2,
            latency_ms=400,
            jitter_ms=0,
            ttl_ms=300,
            arrival=Arrival("spread", 150),
            skew_ms=1000,
            mode="processes",
        ),
        (
            LabRun("setnx, clocks right", "setnx", {"skew_ms": 0, "locks": "file"}),
            LabRun("setnx, leases in the database", "setnx", {"locks": "file"}),
            LabRun("setnx, leases on Redis", "setnx", {"locks": "redis"}),
        ),
        _clock_skew,
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
ALL_LESSONS += FAULT_LESSONS
ALL_LESSONS += FENCE_LESSONS
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
