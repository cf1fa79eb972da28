"""``cache-lock``: ``Cache::lock(...)->block()`` as first shipped, bug included.

The job looks the slug up, then waits for a blocking lock (a lock file, or a
Redis lock) around
generate + persist, and never looks again. A waiter that gets the lock after
the winner has written generates anyway and appends a second description: the
duplicate descriptions MovieMind shipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moviemind_lite.core.model import JobOutcome
from moviemind_lite.pipeline.body import LOCKED, WAITING, JobBody
from moviemind_lite.pipeline.strategies.base import NewJobPerRequest, StrategyContext
from moviemind_lite.store.slots import slot_key


class KeyLockGuard(NewJobPerRequest):
    """A blocking lock per key (kind, slug, locale, context) from the locks engine."""

    name: str

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.locks = context.locks.keys

    @contextmanager
    def locked(self, body: JobBody) -> Iterator[None]:
        """Wait for the job's key lock (announced as ``waiting``), hold it for the block."""
        body.phase(WAITING)
        with self.locks.hold(slot_key(body.job.request)):
            body.phase(LOCKED)
            yield


class CacheLock(KeyLockGuard):
    """The look-up happens before waiting and is not repeated: waiters append duplicates."""

    name = "cache-lock"

    def execute(self, body: JobBody) -> JobOutcome:
        """Look up; wait for the lock; generate and persist, appending on a clash."""
        if body.job.action == "regenerate":
            with self.locked(body):
                return body.run_checked()
        stored = body.stored_outcome()
        if stored is not None:
            return stored
        facts = body.facts()
        with self.locked(body):
            return body.persist(body.generate(facts), facts, on_duplicate="append")
