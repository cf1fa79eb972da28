"""The fault scenarios: what the lab teaches about locks, the production path does.

These lessons drive the application itself on a scratch home (as the flag
lessons do, :mod:`.flag_lessons`), through its production path (the
``two-level`` dispatch, the job store, the runner), and inflict the fault
between two steps: the lock server forgets every slot, or a worker stalls
past its lease. They count what the database, the guarantee, kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from moviemind_lite.core.config import AISettings, JobSettings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import StaleClaim
from moviemind_lite.core.model import JobRequest
from moviemind_lite.lab.flag_lessons import at_once, scratch_app
from moviemind_lite.lab.lesson import Check, LessonReport, Outcome
from moviemind_lite.lab.metrics import plural
from moviemind_lite.lab.race import PhaseWatcher, Progress, RaceStopped
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.pipeline.body import JobBody
from moviemind_lite.runtime.worker import Worker
from moviemind_lite.store.slots import slot_key

# -- lock-server-forgets ------------------------------------------------------------------


@dataclass(frozen=True)
class Forgotten:
    """What a burst left after the lock server forgot every slot in its middle."""

    keys: int
    requests: int
    jobs: int
    keys_with_two_jobs: int
    ai_calls: int
    texts: int

    @property
    def as_promised(self) -> bool:
        """One job, one AI call and one text per key, whatever the lock server forgot."""
        return (
            self.jobs == self.keys
            and self.keys_with_two_jobs == 0
            and self.ai_calls == self.keys
            and self.texts == self.keys
        )

    def outcome(self) -> Outcome:
        """This run as a table row."""
        return Outcome(
            "slots forgotten mid-burst",
            (
                ("keys", str(self.keys)),
                ("requests", str(self.requests)),
                ("jobs", str(self.jobs)),
                ("keys with 2+ jobs", str(self.keys_with_two_jobs)),
                ("AI calls", str(self.ai_calls)),
                ("texts", str(self.texts)),
            ),
            f"{plural(self.jobs, 'job')} and {plural(self.ai_calls, 'AI call')} "
            f"for {plural(self.keys, 'key')}",
            self.as_promised,
            {
                "keys": self.keys,
                "requests": self.requests,
                "jobs": self.jobs,
                "keys_with_two_jobs": self.keys_with_two_jobs,
                "ai_calls": self.ai_calls,
                "texts": self.texts,
            },
        )


@dataclass(frozen=True)
class LockServerForgets:
    """Every slot forgotten between two bursts for the same keys."""

    name: str = "lock-server-forgets"
    title: str = "The lock server forgets every slot mid-burst; the database keeps one job per key"
    explanation: str = (
        "A burst of requests queues one job per key (two-level: a generation slot per key "
        "on the lock server, then the job row). Then the lock server forgets every slot, as "
        "Redis restarted without persistence, FLUSHALL or a failover would, while the jobs "
        "are still PENDING. A second burst asks for the same keys again, twice each, from "
        "four threads. Slots alone would start a second job for every key (and pay a second "
        "AI call); here the dispatch looks in the jobs table, where a partial UNIQUE index "
        "allows one unfinished job per key, and joins the job it finds. Look at jobs, keys "
        "with 2+ jobs and AI calls: the lock server is an optimisation, the database the "
        "guarantee."
    )
    keys: int = 40
    fast_keys: int = 12

    def commands(self, fast: bool = False) -> list[str]:
        """The fault by hand, on Redis."""
        keys = self.fast_keys if fast else self.keys
        return [
            f"moviemind movies show forgotten-1990 --no-wait   # for {keys} slugs",
            "redis-cli FLUSHALL   # the lock server forgets every slot",
            f"moviemind movies show forgotten-1990 --no-wait   # again: the same job ids ({keys})",
            "moviemind worker --once",
        ]

    def play(
        self,
        *,
        fast: bool = False,
        on_progress: Progress | None = None,
        on_phase: PhaseWatcher | None = None,
        stop: threading.Event | None = None,
        servers: Servers | None = None,
    ) -> LessonReport:
        """Two bursts with every slot forgotten between them, then a worker drains the jobs."""
        if stop is not None and stop.is_set():
            raise RaceStopped()
        keys = self.fast_keys if fast else self.keys
        label = "slots forgotten mid-burst"
        ai = AISettings(latency_ms=0, jitter_ms=0)
        with scratch_app(ai, JobSettings(poll_ms=5.0), servers) as (app, race):
            slugs = [f"lab-forgotten-{index:03d}-1990" for index in range(keys)]
            first = {}
            for slug in slugs:
                job = app.generation.request(MOVIE, slug, wait=False).job
                assert job is not None
                first[slug] = job.id
            with app.database.write() as tx:
                for slug in slugs:
                    key = slot_key(JobRequest(MOVIE.name, slug, "en-US", "default"))
                    app.locks.slots.release(tx, key, first[slug])
            done = [0]
            lock = threading.Lock()

            def again(index: int) -> None:
                order = slugs[index % 2 :: 2] + slugs[(index + 1) % 2 :: 2]
                for slug in order if index < 2 else order[::-1]:
                    app.generation.request(MOVIE, slug, wait=False)
                    with lock:
                        done[0] += 1
                        finished = done[0]
                    if on_progress is not None:
                        on_progress(label, finished, 4 * keys)

            at_once(4, again, race)
            Worker(app.runner, threads=2, once=True).run(handle_signals=False)
            per_key = {
                row[0]: int(row[1])
                for row in app.database.query("SELECT slug, count(*) FROM jobs GROUP BY slug")
            }
            texts = app.database.query_one("SELECT count(*) FROM descriptions")
            forgotten = Forgotten(
                keys,
                5 * keys,
                sum(per_key.values()),
                sum(1 for count in per_key.values() if count > 1),
                app.calls.total(),
                int(texts[0]) if texts else 0,
            )
        outcome = forgotten.outcome()
        return LessonReport(
            self, fast, (), (outcome,), Check(forgotten.as_promised, outcome.verdict)
        )


# -- stale-worker-fenced ----------------------------------------------------------------


@dataclass(frozen=True)
class Fenced:
    """One stale worker's attempt to write: refused or not, and what it cost."""

    label: str
    stale_calls: int
    refused: bool
    stale_writes: int
    texts: int
    job_result: str | None

    @property
    def as_promised(self) -> bool:
        """The stale worker's write refused and counted; the new claim's one text stored."""
        return self.refused and self.stale_writes == 1 and self.texts == 1

    def outcome(self) -> Outcome:
        """This run as a table row."""
        return Outcome(
            self.label,
            (
                ("stale worker's AI calls", str(self.stale_calls)),
                ("its write", "refused" if self.refused else "stored"),
                ("stale writes counted", str(self.stale_writes)),
                ("texts", str(self.texts)),
                ("job result", self.job_result or "-"),
            ),
            f"write {'refused' if self.refused else 'stored'}, "
            f"{plural(self.texts, 'text')}, {plural(self.stale_calls, 'AI call')} by the stale "
            "worker",
            self.as_promised,
            {
                "stale_calls": self.stale_calls,
                "refused": self.refused,
                "stale_writes": self.stale_writes,
                "texts": self.texts,
                "job_result": self.job_result,
            },
        )


@dataclass(frozen=True)
class StaleWorkerFenced:
    """A worker stalls past its lease; another takes the job; the first one wakes up."""

    name: str = "stale-worker-fenced"
    title: str = "A worker stalled past its lease: the job's fence refuses its late write"
    explanation: str = (
        "A worker claims a job and stalls (a GC pause, SIGSTOP, a slow disk) until its lease "
        "has run out; another worker takes the job back (attempt 2) and stores the text. "
        "Then the first one wakes. In the first run it stalled while queued: it checks its "
        "claim right before the AI call and pays for nothing. In the second it stalled after "
        "its AI call: the persist transaction reads the job's claim (worker and attempt, "
        "which grows with every claim) before writing a row, finds it taken, and writes "
        "nothing. Both refusals are counted as stale writes. This is the fencing token of "
        "the setnx lesson, on the production path of every job, on both engines."
    )
    lease_ms: float = 300.0
    fast_lease_ms: float = 120.0

    def commands(self, fast: bool = False) -> list[str]:
        """The fault by hand: two workers, the first one frozen past its lease."""
        lease = self.fast_lease_ms if fast else self.lease_ms
        return [
            "moviemind movies show stalled-1990 --no-wait",
            f"MOVIEMIND_JOB_LEASE_MS={lease:g} MOVIEMIND_AI_LATENCY_MS=3000 moviemind worker &",
            "kill -STOP %1   # while it generates; then start a second worker",
            f"MOVIEMIND_JOB_LEASE_MS={lease:g} moviemind worker --once",
            "kill -CONT %1; moviemind stats   # its text refused: see the log's 'Stale write'",
        ]

    def play(
        self,
        *,
        fast: bool = False,
        on_progress: Progress | None = None,
        on_phase: PhaseWatcher | None = None,
        stop: threading.Event | None = None,
        servers: Servers | None = None,
    ) -> LessonReport:
        """The worker stalls before its AI call, then (second run) after it."""
        lease = self.fast_lease_ms if fast else self.lease_ms
        runs = []
        for paid in (False, True):
            if stop is not None and stop.is_set():
                raise RaceStopped()
            runs.append(self.stall(paid, lease, servers))
            if on_progress is not None:
                on_progress(self.name, len(runs), 2)
        queued, frozen = runs
        return LessonReport(
            self,
            fast,
            (),
            (queued.outcome(), frozen.outcome()),
            Check(
                queued.as_promised and frozen.as_promised and queued.stale_calls == 0,
                f"stalled while queued: {queued.outcome().verdict}; "
                f"stalled after its call: {frozen.outcome().verdict}",
            ),
        )

    def stall(self, paid: bool, lease_ms: float, servers: Servers | None) -> Fenced:
        """One job, two claims: the first stalls past its lease (after its call if ``paid``)."""
        label = "stalled after its AI call" if paid else "stalled while queued"
        ai = AISettings(latency_ms=0, jitter_ms=0)
        with scratch_app(ai, JobSettings(poll_ms=5.0, lease_ms=lease_ms), servers) as (app, _):
            slug = "lab-stalled-1990"
            job = app.generation.request(MOVIE, slug, wait=False).job
            assert job is not None
            stale = app.job_store.claim(job.id, "stalled-worker")
            assert stale is not None
            body = JobBody(app.runner.env, stale)
            text, facts = (body.generate(body.facts()), body.facts()) if paid else ("", {})
            calls_before = app.calls.total()
            # The stall: no heartbeat while the lease runs out (a real pause, not a sleep).
            threading.Event().wait(lease_ms / 1000 * 1.5)
            fresh = app.job_store.claim(job.id, "fresh-worker")
            assert fresh is not None and fresh.attempts == 2
            if paid:
                # The new claim stores its text; then the stalled worker wakes to persist.
                ended = app.runner.run_claimed(fresh)
                try:
                    body.persist(text, facts)
                    refused = False
                except StaleClaim as error:
                    app.job_store.record_stale_write(stale, error.step, body.unrecorded_call)
                    refused = True
            else:
                # The stalled worker wakes first, before its AI call; then the new claim runs.
                refused = app.runner.run_claimed(stale) is None
                ended = app.runner.run_claimed(fresh)
            stale_calls = (1 if paid else 0) + app.calls.total() - calls_before - 1
            texts = app.database.query_one("SELECT count(*) FROM descriptions")
            return Fenced(
                label,
                stale_calls,
                refused,
                app.job_store.stale_writes(),
                int(texts[0]) if texts else 0,
                ended.result if ended is not None else None,
            )


LOCK_SERVER_FORGETS = LockServerForgets()
STALE_WORKER_FENCED = StaleWorkerFenced()
FAULT_LESSONS = (LOCK_SERVER_FORGETS, STALE_WORKER_FENCED)
