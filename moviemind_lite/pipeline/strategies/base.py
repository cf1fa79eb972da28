"""The one seam every locking strategy sits behind.

A strategy acts twice in a request's life: at dispatch, when a request may
become a job (inside the dispatcher's write transaction), and at execution,
when it guards the job body. What it guards with (key locks, slots, leases)
comes from the locks engine in its context, files or Redis. The strategies are listed by name in
:data:`moviemind_lite.pipeline.strategies.STRATEGIES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from moviemind_lite.core.config import JobSettings
from moviemind_lite.core.model import Job, JobOutcome, JobRequest
from moviemind_lite.pipeline.body import JobBody
from moviemind_lite.store.db import Database, Tx
from moviemind_lite.store.jobs import JobStore
from moviemind_lite.store.locking import Locks


@dataclass(frozen=True)
class StrategyContext:
    """What a strategy may use: the database, the locks engine, the job store, the job settings."""

    database: Database
    locks: Locks
    jobs: JobStore
    settings: JobSettings


@dataclass(frozen=True)
class Dispatch:
    """The job a request ended on, and whether this request created it."""

    job: Job
    created: bool


class Strategy(Protocol):
    """Guards the job body against concurrent requests for the same key."""

    name: str

    def peek(self, request: JobRequest, holder: Job | None) -> Job | None:
        """A job already on its way for ``request`` (or ``None``), decided without a write.

        ``holder`` is the job holding the key's live generation slot, as the
        request read it (``None``: none does).
        """
        ...

    def dispatch(self, tx: Tx, request: JobRequest, claim_for: str | None = None) -> Dispatch:
        """Turn a request into a job (a new one, or one already on its way).

        A new job is created claimed by ``claim_for`` (a worker id) when given.
        """
        ...

    def execute(self, body: JobBody) -> JobOutcome:
        """Run ``body`` under this strategy's guard."""
        ...


StrategyFactory = Callable[[StrategyContext], Strategy]


class NewJobPerRequest:
    """Dispatch shared by strategies that guard only at execution: every request is a job."""

    name: str

    def __init__(self, context: StrategyContext) -> None:
        self.context = context

    def peek(self, request: JobRequest, holder: Job | None) -> Job | None:
        """Nothing to join: these strategies never share a job between requests."""
        return None

    def dispatch(self, tx: Tx, request: JobRequest, claim_for: str | None = None) -> Dispatch:
        """A new job for every request (claimed by ``claim_for`` when given)."""
        job = self.context.jobs.insert(tx, request, self.name, claimed_by=claim_for)
        return Dispatch(job, created=True)
