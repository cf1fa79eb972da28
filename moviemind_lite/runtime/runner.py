"""Running jobs: claim, run the body under its strategy, record the end.

:class:`JobRunner` is the one executor of jobs: the request's own thread
(``show`` without ``--no-wait``), the server's pool, batches, ``moviemind
worker`` and the lab's drivers all run a job through :meth:`JobRunner.run_claimed`
(or :meth:`JobRunner.drive`, which claims and runs it). It runs one claimed job
at a time per calling thread and keeps its lease alive. Each run returns the
job as it ended: what to make of that (an answer, a rollout's guardrails) is
decided by the caller.

No engine error ends the calling thread: recording a job's end waits for a
failed engine with capped, jittered backoff (:mod:`moviemind_lite.core.backoff`),
for as long as the job's lease would have kept it, and then leaves the job to
its lease (another worker takes it back). A full disk is the exception: it
does not free itself in seconds, so it is not waited out here but raised
(``DiskFull``) at once; the job is left to its lease, a batch stops and
reports what landed, a request says so, and ``moviemind worker`` waits before
it claims again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from moviemind_lite.core.backoff import EngineWait
from moviemind_lite.core.calls import AICall
from moviemind_lite.core.errors import (
    ENGINE_FAULTS,
    CircuitOpen,
    DiskFull,
    DuplicateGeneration,
    MovieMindError,
    StaleClaim,
    StaleWrite,
    StoreError,
    TransientAIError,
    UniqueViolation,
)
from moviemind_lite.core.model import IN_PROGRESS, PENDING, Job
from moviemind_lite.pipeline.body import JobBody, JobEnvironment
from moviemind_lite.pipeline.strategies import Strategies
from moviemind_lite.store.jobs import JobStore

log = logging.getLogger("moviemind.jobs")


def worker_name(prefix: str = "w") -> str:
    """A readable, unique-enough name for a worker process: prefix, host and pid."""
    return f"{prefix}-{socket.gethostname()}-{os.getpid()}"


class LeaseKeeper:
    """One thread that extends the lease of every job this process is running."""

    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs
        self._running: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, job: Job) -> None:
        """Keep ``job``'s lease alive until :meth:`drop`."""
        with self._lock:
            self._running[job.id] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="lease-keeper", daemon=True)
                self._thread.start()

    def drop(self, job: Job) -> None:
        """Stop extending ``job``'s lease."""
        with self._lock:
            self._running.pop(job.id, None)

    def _beat(self) -> None:
        interval = self.jobs.settings.lease_ms / 3000
        while not self._stop.wait(interval):
            with self._lock:
                held = list(self._running.values())
            if not held:
                continue
            try:
                self.jobs.heartbeat_all(held)
            except Exception as error:
                # A busy or absent engine delays one beat; the next one retries.
                ids = [job.id for job in held]
                fields = {"job_ids": ids, "error": f"{type(error).__name__}: {error}"}
                log.warning("Heartbeat failed", extra={"fields": fields})

    def close(self) -> None:
        """Stop the heartbeat thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class JobRunner:
    """Runs claimed jobs under the strategy recorded on each job."""

    def __init__(
        self, env: JobEnvironment, strategies: Strategies, worker_prefix: str | None = None
    ) -> None:
        self.env = env
        self.jobs = env.jobs
        self.strategies = strategies
        self.worker_prefix = worker_prefix or worker_name("run")
        self.leases = LeaseKeeper(env.jobs)

    def worker_id(self) -> str:
        """This thread's worker id."""
        return f"{self.worker_prefix}/{threading.current_thread().name}"

    def run_claimed(self, job: Job) -> Job | None:
        """Run a job this thread has claimed; return it as it ended (``None``: lease lost).

        "Ended" includes sent back: PENDING again after a failed attempt that
        will be retried, or deferred while the AI circuit is open. An engine
        that fails while the end is recorded is waited for (see the module).
        """
        self.leases.hold(job)
        body = JobBody(self.env, job)
        try:
            outcome = self.strategies.get(job.strategy).execute(body)
        except StaleClaim as error:
            # The job lives on under its new claim: this worker's write is refused and counted.
            call, step = body.unrecorded_call, error.step
            return self._recorded(job, "count a stale write", lambda: self._stale(job, step, call))
        except CircuitOpen as error:
            # Not the job's fault: put it back without burning an attempt.
            reason, retry_at = str(error), error.retry_at
            return self._recorded(job, "defer", lambda: self.jobs.defer(job, reason, retry_at))
        except TransientAIError as error:
            failure, retry_after = str(error), error.retry_after_ms
            return self._failed(job, body, failure, retryable=True, retry_after_ms=retry_after)
        except (DuplicateGeneration, StaleWrite, UniqueViolation) as error:
            return self._failed(job, body, str(error), retryable=False)
        except StoreError as error:
            return self._failed(job, body, str(error), retryable=True)
        except MovieMindError as error:
            return self._failed(job, body, str(error), retryable=False)
        except Exception as error:
            log.exception("Job crashed", extra={"fields": {"job_id": job.id}})
            failure = f"{type(error).__name__}: {error}"
            return self._failed(job, body, failure, retryable=False)
        finally:
            self.leases.drop(job)
        if outcome.ended_in_write:
            return outcome.ended
        call = body.unrecorded_call
        return self._recorded(job, "complete", lambda: self.jobs.complete(job, outcome, call))

    def _stale(self, job: Job, step: str, call: AICall | None) -> None:
        self.jobs.record_stale_write(job, step, call=call)

    def _failed(
        self,
        job: Job,
        body: JobBody,
        error: str,
        *,
        retryable: bool,
        retry_after_ms: float | None = None,
    ) -> Job | None:
        call = body.unrecorded_call
        return self._recorded(
            job,
            "record a failed attempt",
            lambda: self.jobs.fail(
                job, error, retryable=retryable, retry_after_ms=retry_after_ms, call=call
            ),
        )

    def _recorded(self, job: Job, doing: str, write: Callable[[], Job | None]) -> Job | None:
        """``write()``'s job, waiting for a failed engine while the job's lease would last.

        Past that, the job is left to its lease (``None``): another claim takes it back.
        A full disk is raised at once (see the module), the job left to its lease.
        """
        wait = EngineWait(self.worker_id(), clock=self.jobs.clock)
        patience_s = self.jobs.settings.lease_ms / 1000
        while True:
            try:
                ended = write()
            except DiskFull:
                raise
            except ENGINE_FAULTS as error:
                if wait.waited_s() >= patience_s:
                    fields = {"job_id": job.id, "doing": doing, "error": str(error)}
                    log.error(
                        "Job end not recorded; its lease returns it", extra={"fields": fields}
                    )
                    return None
                wait.failed(error, doing)
                continue
            wait.succeeded()
            return ended

    def drive(
        self,
        job_id: str,
        timeout_s: float | None = None,
        give_up: Callable[[Job], bool] | None = None,
    ) -> Job:
        """See a job to its end: run it here whenever it is runnable, else wait for it.

        The wait ends when the job's end wakes this thread
        (:mod:`moviemind_lite.store.job_ends`), or at the latest when the job
        could change unannounced or the fallback bound passes. Returns early
        when ``timeout_s`` passes or ``give_up(job)`` says so (asked every
        ``poll_ms`` while waiting). A failed engine is waited for as long as a
        lease would last; a full disk is raised at once.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        wait = EngineWait(self.worker_id(), clock=self.jobs.clock)
        # Watched before the first look: the job's end wakes this thread (no polling).
        with self.jobs.ends.watching(job_id) as watch:
            while True:
                try:
                    ended = self._drive_step(job_id, deadline, give_up)
                except DiskFull:
                    raise
                except ENGINE_FAULTS as error:
                    # A failed engine is waited for as long as a lease would; then the caller hears.
                    out_of_time = deadline is not None and time.monotonic() >= deadline
                    if out_of_time or wait.waited_s() >= self.jobs.settings.lease_ms / 1000:
                        raise
                    wait.failed(error, "follow a job")
                    continue
                wait.succeeded()
                if isinstance(ended, Job):
                    return ended
                if give_up is not None:  # the caller's own condition is looked at each poll
                    ended = min(ended, self.jobs.settings.poll_ms / 1000)
                left = None if deadline is None else deadline - time.monotonic()
                watch.wait(ended if left is None else min(ended, left))

    def _drive_step(
        self, job_id: str, deadline: float | None, give_up: Callable[[Job], bool] | None
    ) -> Job | float:
        """One look at the job (running it here if it is runnable); the job if driving ends,
        else how long to wait for its wake-up before the next look."""
        job = self.jobs.get(job_id)
        if job.finished or (deadline is not None and time.monotonic() >= deadline):
            return job
        if give_up is not None and give_up(job):
            return job
        stamp = self.jobs.clock.stamp()
        runnable = (job.status == PENDING and job.run_after <= stamp) or (
            job.status == IN_PROGRESS and (job.lease_until or "") < stamp
        )
        if runnable:
            claimed = self.jobs.claim(job_id, self.worker_id())
            if claimed is not None:
                ended = self.run_claimed(claimed)
                if ended is not None and ended.finished:
                    return ended
                return 0.0  # sent back or lost: look again at once
        return self.jobs.quiet_for_s(job)

    def close(self) -> None:
        """Stop heartbeats."""
        self.leases.close()
