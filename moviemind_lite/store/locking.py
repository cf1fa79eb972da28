"""The seam beside the database: blocking key locks, generation slots and leases.

Three things coordinate jobs besides the rows themselves, and all three have
two implementations, chosen by the locks URL from :data:`LOCK_ENGINES`:

- **key locks** (:class:`KeyLocks`): a blocking mutex per key, for the
  ``cache-lock`` strategies and the narrow baseline lock. ``file``: one lock
  file per key in the home's lock folder; ``redis``: a Redis lock with an owner
  token and a compare-and-delete release.
- **generation slots** (:class:`Slots`): "a job for this key is on its way",
  add-if-absent with a TTL. ``file``: the ``generation_slots`` table of the
  database; ``redis``: ``SET key job NX PX ttl`` (Laravel's ``Cache::add``).
- **leases** (:class:`Leases`): the ``setnx`` strategy's non-blocking lease with
  an owner token and a fencing token. ``file``: the ``leases`` table;
  ``redis``: ``SET NX PX`` plus an ``INCR`` counter.

With ``file`` the slots and leases live in whichever database the database URL
chose; with ``redis`` all three live on the Redis server, so processes on
several machines share them. A lock or slot never outlives its TTL after a
crash (a lock file is freed by the crash itself).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.core.config import ServiceUrl
from moviemind_lite.store.db import Client, Database, Tx, engine_module


@dataclass(frozen=True)
class LeaseGrant:
    """One holder's grant of a lease: who holds it, until when, with which fencing token."""

    name: str
    owner_token: str
    fencing_token: int
    expires_at: str


class KeyLocks(Protocol):
    """Blocking named mutexes that work across threads and processes."""

    def hold(self, key: str) -> AbstractContextManager[None]:
        """Wait as long as it takes for the lock on ``key``; hold it for the block."""
        ...


class Slots(Protocol):
    """Generation slots: add-if-absent with a TTL, holding the id of the job that took it."""

    in_database: bool
    """Whether the slots are rows of the database (a request's snapshot then joins them)."""
    clock: Clock
    """The clock deciding when a slot row expires (unused where the server expires keys)."""

    def acquire(self, tx: Tx, key: str, job_id: str, ttl_ms: float) -> str:
        """Take the slot for ``job_id`` unless a live one exists; return the holder's job id.

        Runs inside the dispatch transaction ``tx``, so that no other
        dispatcher for ``key`` decides before this one has committed its job.
        """
        ...

    def take_over(self, tx: Tx, key: str, job_id: str, ttl_ms: float) -> None:
        """Give the slot to ``job_id`` whoever holds it (its holder is known to be finished)."""
        ...

    def release(self, tx: Tx, key: str, job_id: str) -> None:
        """Free the slot if ``job_id`` still holds it, once ``tx`` (ending the job) commits."""
        ...

    def holder_id(self, key: str) -> str | None:
        """The id of the job holding the live slot ``key``, or ``None``."""
        ...

    def count_open(self) -> int:
        """How many slots are live (the lab's aftermath)."""
        ...


class Leases(Protocol):
    """Non-blocking leases with a TTL, owner-only release and fencing tokens."""

    def acquire(self, name: str, ttl_ms: float) -> LeaseGrant | None:
        """Take ``name`` for ``ttl_ms`` unless a live lease holds it; ``None`` if one does."""
        ...

    def release(self, grant: LeaseGrant) -> bool:
        """Give the lease back if ``grant`` still owns it; ``False`` if it was taken over."""
        ...

    def check_fence(self, tx: Tx, grant: LeaseGrant) -> None:
        """Raise ``StaleWrite`` if ``name`` was granted again after ``grant``.

        Runs inside the write transaction it guards, so that a newer holder's
        write cannot land before this one and be overwritten by it.
        """
        ...


@dataclass(frozen=True)
class Locks:
    """The key locks, slots and leases of one locks engine."""

    engine: str
    keys: KeyLocks
    slots: Slots
    leases: Leases
    close: Callable[[], None]


# The engines by URL scheme, imported by name only when a locks URL chooses them.
LOCK_ENGINES: dict[str, str] = {
    "file": "moviemind_lite.store.file_locks",
    "redis": "moviemind_lite.store.redis_locks",
}
_CLIENTS = {"redis": Client("Redis", "redis", "redis")}


def open_locks(
    url: ServiceUrl,
    database: Database,
    lock_ttl_ms: float,
    clock: Clock = SYSTEM_CLOCK,
    engine_wait_ms: float = 10_000,
) -> Locks:
    """The locks engine ``url`` names, beside ``database``.

    ``lock_ttl_ms`` bounds how long a Redis key lock outlives a holder that
    died with it. ``clock`` decides when the database's slots and leases expire.
    ``engine_wait_ms`` bounds a command to a server that does not answer.
    """
    module = engine_module(LOCK_ENGINES, url.engine, _CLIENTS)
    opened: Locks = module.open_locks(url, database, lock_ttl_ms, clock, engine_wait_ms)
    return opened


def discard_namespace(url: ServiceUrl) -> None:
    """Delete every key under the prefix ``url`` names (a scratch run's); lock files go
    with their folder, so there is nothing to do for them."""
    engine_module(LOCK_ENGINES, url.engine, _CLIENTS).discard(url)


def server_version(url: ServiceUrl) -> str:
    """The version the locks server ``url`` names reports (lock files: none, ``""``)."""
    version: str = engine_module(LOCK_ENGINES, url.engine, _CLIENTS).server_version(url)
    return version
