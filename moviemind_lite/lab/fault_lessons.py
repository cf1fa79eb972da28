"""The fault scenarios: what the lab teaches about locks, the production path does.

These lessons drive the application itself on a scratch home (as the flag
lessons do, :mod:`.flag_lessons`), through its production path (the
``two-level`` dispatch, the job store, the runner), and inflict the fault
between two steps: the lock server forgets every slot, a worker stalls past
its lease, or the engine goes away under the workers mid-drain. They count
what the database, the guarantee, kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from moviemind_lite.app.wiring import App
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
from moviemind_lite.runtime.worker import Worker, WorkerReport
from moviemind_lite.store.db import open_database
from moviemind_lite.store.locking import discard_namespace
from moviemind_lite.store.outages import drop_waiting_connections, engine_held
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
        RaceStopped.check(stop)
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
        "its AI call: the persist transaction reads the job's claim (worker and lease "
        "version, which grows with every claim) before writing a row, finds it taken, and writes "
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
            RaceStopped.check(stop)
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


# -- engine-restart ----------------------------------------------------------------------

# Waits that only a hung run reaches: the outage and the drain take a second or two.
_PATIENCE_S = 60.0


class EngineWaits(logging.Handler):
    """Counts one app's "Waiting for the engine" and "Engine back" lines as they are logged.

    A count for the lesson's table (and the moment the outage has been met),
    read from the log the runner and the worker already write.
    """

    def __init__(self, worker_prefix: str) -> None:
        super().__init__(logging.WARNING)
        self.worker_prefix = worker_prefix
        self.waits = 0
        self.backs = 0
        self.met = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        """Count ``record`` if one of this app's threads wrote it."""
        fields = getattr(record, "fields", {})
        if not str(fields.get("worker_id", "")).startswith(self.worker_prefix):
            return
        if record.getMessage() == "Waiting for the engine":
            self.waits += 1
            self.met.set()
        elif record.getMessage() == "Engine back":
            self.backs += 1


@dataclass(frozen=True)
class Restarted:
    """What a drain left after its engine went away under the workers and came back."""

    engines: str
    keys: int
    accepted: int
    done: int
    keys_with_two_jobs: int
    texts: int
    waits: int
    backs: int
    dropped: int
    threads_died: int

    @property
    def lost(self) -> int:
        """Accepted jobs that did not end DONE."""
        return self.accepted - self.done

    @property
    def as_promised(self) -> bool:
        """The outage was met and waited out: nothing lost, one job and text per key, no
        thread died."""
        return (
            self.waits >= 1
            and self.lost == 0
            and self.keys_with_two_jobs == 0
            and self.texts == self.keys
            and self.threads_died == 0
        )

    def outcome(self) -> Outcome:
        """This run as a table row."""
        return Outcome(
            f"engine gone mid-drain ({self.engines})",
            (
                ("jobs accepted", str(self.accepted)),
                ("done", str(self.done)),
                ("lost", str(self.lost)),
                ("keys with 2+ jobs", str(self.keys_with_two_jobs)),
                ("texts", str(self.texts)),
                ("waits for the engine", str(self.waits)),
                ("connections dropped", str(self.dropped)),
                ("threads died", str(self.threads_died)),
            ),
            f"{self.done} of {plural(self.accepted, 'accepted job')} done, "
            f"{plural(self.waits, 'wait')} for the engine, "
            f"{plural(self.threads_died, 'thread')} died",
            self.as_promised,
            {
                "keys": self.keys,
                "accepted": self.accepted,
                "done": self.done,
                "lost": self.lost,
                "keys_with_two_jobs": self.keys_with_two_jobs,
                "texts": self.texts,
                "waits": self.waits,
                "backs": self.backs,
                "dropped": self.dropped,
                "threads_died": self.threads_died,
            },
        )


@dataclass(frozen=True)
class EngineRestart:
    """The engine goes away under the workers mid-drain and comes back."""

    name: str = "engine-restart"
    title: str = "The engine goes away mid-drain: workers wait it out, nothing accepted is lost"
    explanation: str = (
        "A burst queues one job per key; a worker with three threads drains them. After a "
        "few jobs the engine goes away under it: another connection holds the database (on "
        "SQLite a write transaction, on PostgreSQL a lock on the jobs table, with the "
        "connections left waiting then ended as a restart ends them), and the lock server "
        "forgets every key. Every write of the workers fails (the busy or lock timeout, a "
        "dropped connection). Before, such a failure killed the thread that met it and the "
        "job it was ending; now each thread logs that it waits for the engine, backs off "
        "(capped, jittered), and carries on when the engine is back. Look at lost, threads "
        "died and waits for the engine: the run counts only if the outage was met."
    )
    keys: int = 30
    fast_keys: int = 12
    busy_timeout_ms: int = 200

    def commands(self, fast: bool = False) -> list[str]:
        """The fault by hand, on PostgreSQL and Redis."""
        keys = self.fast_keys if fast else self.keys
        return [
            f"moviemind movies show restarted-1990 --no-wait   # for {keys} slugs",
            "moviemind worker --threads 3 &",
            "pg_ctl restart -m immediate -D $PGDATA; redis-cli SHUTDOWN NOSAVE   # mid-drain",
            "moviemind jobs list --status DONE   # every accepted job; the log: 'Engine back'",
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
        """A burst, a worker draining it, the engine gone and back mid-drain."""
        RaceStopped.check(stop)
        keys = self.fast_keys if fast else self.keys
        ai = AISettings(latency_ms=30, jitter_ms=0)
        jobs = JobSettings(poll_ms=5.0, backoff_ms=20.0)
        with scratch_app(ai, jobs, servers, self.busy_timeout_ms) as (app, race):
            slugs = [f"lab-restarted-{index:03d}-1990" for index in range(keys)]
            accepted: list[str] = []
            for slug in slugs:
                job = app.generation.request(MOVIE, slug, wait=False).job
                assert job is not None
                accepted.append(job.id)
            heard = EngineWaits(app.runner.worker_prefix)
            logger = logging.getLogger("moviemind.jobs")
            logger.addHandler(heard)
            worker = Worker(app.runner, threads=3, once=True)
            report: list[WorkerReport] = []

            def drain() -> None:
                race.add_current_thread()
                report.append(worker.run(handle_signals=False))

            draining = threading.Thread(target=drain, name="lab-restart-worker")
            try:
                draining.start()
                self._until(lambda: self._done(app) >= 3)  # mid-drain: a few jobs done
                dropped = self._outage(app, heard)
                draining.join(_PATIENCE_S)
                # Jobs sent back to retry after the outage wait for their backoff: see them out.
                for job_id in accepted:
                    app.generation.drive(job_id, timeout_s=_PATIENCE_S)
            finally:
                worker.request_stop()
                draining.join(_PATIENCE_S)
                logger.removeHandler(heard)
            if on_progress is not None:
                on_progress(self.name, 1, 1)
            restarted = self._tally(app, keys, accepted, heard, dropped, report)
        outcome = restarted.outcome()
        return LessonReport(
            self, fast, (), (outcome,), Check(restarted.as_promised, outcome.verdict)
        )

    @staticmethod
    def _tally(
        app: App,
        keys: int,
        accepted: list[str],
        heard: EngineWaits,
        dropped: int,
        report: list[WorkerReport],
    ) -> Restarted:
        """What the drain left: jobs done, keys with a second job, texts, the worker's log."""
        per_key = {
            row[0]: int(row[1])
            for row in app.database.query("SELECT slug, count(*) FROM jobs GROUP BY slug")
        }
        texts = app.database.query_one("SELECT count(*) FROM descriptions")
        return Restarted(
            f"{app.database.dialect.name} + {app.locks.engine}",
            keys,
            len(accepted),
            sum(1 for job_id in accepted if app.jobs.get(job_id).status == "DONE"),
            sum(1 for count in per_key.values() if count > 1),
            int(texts[0]) if texts else 0,
            heard.waits,
            heard.backs,
            dropped,
            report[0].restarts if report else -1,
        )

    def _outage(self, app: App, heard: EngineWaits) -> int:
        """Hold the engine until a worker has met the outage; the connections dropped."""
        settings = app.settings
        holder = open_database(settings.database, settings.busy_timeout_ms)
        try:
            with engine_held(holder) as tx:
                discard_namespace(settings.locks)  # the lock server forgets its keys too
                heard.met.wait(_PATIENCE_S)
                # Held a few busy timeouts more (a real outage, not a sleep in a test): every
                # thread, back from its AI call, meets it while it records its job's end.
                threading.Event().wait(4 * self.busy_timeout_ms / 1000)
                return drop_waiting_connections(tx)
        finally:
            holder.close()

    @staticmethod
    def _done(app: App) -> int:
        row = app.database.query_one("SELECT count(*) FROM jobs WHERE status = 'DONE'")
        return int(row[0]) if row else 0

    @staticmethod
    def _until(condition: Callable[[], bool]) -> None:
        """Poll the database until ``condition`` holds (past the patience the check judges)."""
        deadline = time.monotonic() + _PATIENCE_S
        while not condition() and time.monotonic() < deadline:
            threading.Event().wait(0.005)  # a poll of the database, not a pause


LOCK_SERVER_FORGETS = LockServerForgets()
STALE_WORKER_FENCED = StaleWorkerFenced()
ENGINE_RESTART = EngineRestart()
FAULT_LESSONS = (LOCK_SERVER_FORGETS, STALE_WORKER_FENCED, ENGINE_RESTART)
