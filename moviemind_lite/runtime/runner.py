"""Running jobs: claim, run the body under its strategy, record the end.

:class:`JobRunner` runs one claimed job at a time per calling thread and keeps
its lease alive; the durable worker and the application's executors build on
the same runner. Each run returns the job as it
ended: what to make of that (an answer, a rollout's guardrails) is decided by
the caller.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from moviemind_lite.core.errors import (
    CircuitOpen,
    DuplicateGeneration,
    MovieMindError,
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
            except StoreError:
                # A busy database delays one beat; the next one retries.
                ids = [job.id for job in held]
                log.warning("Heartbeat failed", extra={"fields": {"job_ids": ids}})

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
        will be retried, or deferred while the AI circuit is open.
        """
        self.leases.hold(job)
        body = JobBody(self.env, job)
        try:
            outcome = self.strategies.get(job.strategy).execute(body)
        except CircuitOpen as error:
            # Not the job's fault: put it back without burning an attempt.
            return self.jobs.defer(job, str(error), error.retry_at)
        except TransientAIError as error:
            return self.jobs.fail(
                job,
                str(error),
                retryable=True,
                retry_after_ms=error.retry_after_ms,
                call=body.unrecorded_call,
            )
        except (DuplicateGeneration, StaleWrite, UniqueViolation) as error:
            return self.jobs.fail(job, str(error), retryable=False, call=body.unrecorded_call)
        except StoreError as error:
            return self.jobs.fail(job, str(error), retryable=True, call=body.unrecorded_call)
        except MovieMindError as error:
            return self.jobs.fail(job, str(error), retryable=False, call=body.unrecorded_call)
        except Exception as error:
            log.exception("Job crashed", extra={"fields": {"job_id": job.id}})
            failure = f"{type(error).__name__}: {error}"
            return self.jobs.fail(job, failure, retryable=False, call=body.unrecorded_call)
        finally:
            self.leases.drop(job)
        if outcome.ended_in_write:
            return outcome.ended
        return self.jobs.complete(job, outcome, body.unrecorded_call)

    def drive(
        self,
        job_id: str,
        timeout_s: float | None = None,
        give_up: Callable[[Job], bool] | None = None,
    ) -> Job:
        """See a job to its end: run it here whenever it is runnable, else wait for it.

        Returns early when ``timeout_s`` passes or ``give_up(job)`` says so.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        poll = self.jobs.settings.poll_ms / 1000
        while True:
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
                    continue
            time.sleep(poll)

    def close(self) -> None:
        """Stop heartbeats."""
        self.leases.close()
