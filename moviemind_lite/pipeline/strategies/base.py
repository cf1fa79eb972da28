"""The one seam every locking strategy sits behind.

A strategy acts twice in a request's life: at dispatch, when a request may
become a job (inside the dispatcher's ``BEGIN IMMEDIATE`` transaction), and at
execution, when it guards the job body. Strategies are picked by name from
:data:`STRATEGIES`; :func:`make_strategy` rejects unknown names with the list
of valid ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.core.model import Job, JobOutcome, JobRequest
from moviemind_lite.pipeline.body import JobBody
from moviemind_lite.store.db import Database
from moviemind_lite.store.jobs import JobStore

# Phases a guard announces through ``JobBody.phase``, beside the body's own
# "generating" and "persisting": the lab's timeline and its lock-wait total
# are read from them.
WAITING = "waiting"
LOCKED = "locked"


@dataclass(frozen=True)
class StrategyOptions:
    """Knobs some strategies read (the lab sets them per scenario)."""

    slot_ttl_ms: float = 600_000.0
    lease_ttl_ms: float = 30_000.0
    fencing: bool = False


@dataclass(frozen=True)
class StrategyContext:
    """What a strategy may use: the database, the lock folder, the job store, options."""

    database: Database
    locks_dir: Path
    jobs: JobStore
    options: StrategyOptions = StrategyOptions()


@dataclass(frozen=True)
class Dispatch:
    """The job a request ended on, and whether this request created it."""

    job: Job
    created: bool


class Strategy(Protocol):
    """Guards the job body against concurrent requests for the same key."""

    name: str

    def peek(self, request: JobRequest) -> Job | None:
        """A job already on its way for ``request``, found by reads alone (or ``None``)."""
        ...

    def dispatch(self, conn: sqlite3.Connection, request: JobRequest) -> Dispatch:
        """Turn a request into a job (a new one, or one already on its way)."""
        ...

    def execute(self, body: JobBody) -> JobOutcome:
        """Run ``body`` under this strategy's guard."""
        ...


StrategyFactory = Callable[[StrategyContext], Strategy]

STRATEGIES: dict[str, StrategyFactory] = {}


def register(name: str) -> Callable[[StrategyFactory], StrategyFactory]:
    """Class decorator adding a strategy to the registry under ``name``."""

    def add(factory: StrategyFactory) -> StrategyFactory:
        STRATEGIES[name] = factory
        return factory

    return add


def strategy_factory(name: str) -> StrategyFactory:
    """The factory registered as ``name``; an unknown name lists the valid ones."""
    from moviemind_lite.pipeline import strategies  # noqa: F401  (fills the registry)

    try:
        return STRATEGIES[name]
    except KeyError:
        raise InvalidInput(
            f"unknown strategy {name!r}; expected one of: {', '.join(STRATEGIES)}"
        ) from None


def make_strategy(name: str, context: StrategyContext) -> Strategy:
    """The strategy called ``name``; an unknown name lists the valid ones."""
    return strategy_factory(name)(context)


class NewJobPerRequest:
    """Dispatch shared by strategies that guard only at execution: every request is a job."""

    name: str

    def __init__(self, context: StrategyContext) -> None:
        self.context = context

    def peek(self, request: JobRequest) -> Job | None:
        """Nothing to join: these strategies never share a job between requests."""
        return None

    def dispatch(self, conn: sqlite3.Connection, request: JobRequest) -> Dispatch:
        """A new PENDING job for every request."""
        return Dispatch(self.context.jobs.insert(conn, request, self.name), created=True)
