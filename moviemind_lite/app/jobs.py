"""Job use cases: look jobs up, retry them, wait for them, count them, and work on them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from moviemind_lite.ai.breaker import CircuitBreaker
from moviemind_lite.app.catalog import Catalog
from moviemind_lite.app.limits import GenerationBudget
from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.core.ids import validate_job_id
from moviemind_lite.core.model import PENDING, Job
from moviemind_lite.policy.rollout import RolloutService
from moviemind_lite.policy.stats import JobStats, collect
from moviemind_lite.runtime.runner import JobRunner
from moviemind_lite.runtime.worker import Run, Worker, WorkerReport
from moviemind_lite.store.jobs import JobStore
from moviemind_lite.store.slots import slot_key


class WorkerRun:
    """One run of a worker in this process: iterate it for the jobs as they end.

    Each finished job is shown to the rollout guardrails before it is handed
    out; :attr:`report` counts what the worker did.
    """

    def __init__(self, worker: Worker, rollouts: RolloutService) -> None:
        self.worker = worker
        self.rollouts = rollouts

    @property
    def report(self) -> WorkerReport:
        """What the worker did so far (all of it once the iteration is over)."""
        return self.worker.report

    def __iter__(self) -> Iterator[Run]:
        for run in self.worker.runs():
            if run.ended is not None and run.ended.finished:
                self.rollouts.on_job_finished(run.ended)
            yield run


@dataclass(eq=False)
class Jobs:
    """The jobs of every process on this database."""

    store: JobStore
    runner: JobRunner
    breaker: CircuitBreaker
    rollouts: RolloutService
    catalog: Catalog
    budget: GenerationBudget | None = None

    def get(self, job_id: str) -> Job:
        """One job by id; :class:`JobNotFound` if there is none."""
        return self.store.get(job_id)

    def list(self, *, status: str | None = None, limit: int | None = 50) -> list[Job]:
        """Jobs, newest first."""
        if limit is not None and limit < 0:
            raise InvalidInput(f"limit must be >= 0, got {limit}")
        return self.store.list(status=status, limit=limit)

    def wait(self, job_id: str, timeout_s: float | None = None) -> Job:
        """The job once it is DONE or FAILED, or as it is when ``timeout_s`` passes."""
        return self.store.wait(job_id, timeout_s)

    def unclaimed(self, job: Job) -> bool:
        """Whether ``job`` is due and still PENDING: no worker has taken it (yet)."""
        return job.status == PENDING and job.run_after <= self.store.clock.stamp()

    def retry(self, job_id: str) -> Job:
        """Put a FAILED job back in the queue, taking its key's slot again."""
        validate_job_id(job_id)
        with self.store.database.write() as tx:
            job = self.store.retry(tx, job_id)
            if job.action == "generate":
                # Take the key's slot back unless a newer job for the key holds it.
                self.store.slots.acquire(
                    tx, slot_key(job.request), job.id, self.store.settings.slot_ttl_ms
                )
        return job

    def stats(self) -> JobStats:
        """Queue and job statistics over every process using this database."""
        collected = collect(
            self.store.database, datetime.fromtimestamp(self.store.clock.now(), UTC)
        )
        breaker = self.breaker.state()
        collected.extra.update(
            ai_circuit=breaker.state,
            ai_circuit_consecutive_failures=breaker.consecutive_failures,
            ai_circuit_opened_total=breaker.opened_count,
        )
        if self.budget is not None:
            usage = self.budget.usage()
            collected.extra.update(
                ai_budget_used_this_hour=usage.service_used,
                ai_budget_per_hour=usage.service_limit,
                ai_budget_per_client_per_hour=usage.client_limit,
                pending_jobs_cap=usage.max_pending,
            )
        return collected

    def work(
        self, *, threads: int = 1, once: bool = False, max_jobs: int | None = None
    ) -> WorkerRun:
        """A worker claiming and running PENDING jobs here (see :class:`Worker`)."""
        self.catalog.check_writable("run jobs")
        worker = Worker(self.runner, threads=threads, once=once, max_jobs=max_jobs)
        return WorkerRun(worker, self.rollouts)
