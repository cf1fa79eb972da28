"""The ``redis`` locks engine: key locks, generation slots and leases on a Redis server.

Imported only when a locks URL names Redis (see
:data:`moviemind_lite.store.locking.LOCK_ENGINES`), so it imports its client
at the top and a process using lock files never loads redis-py.

- A **key lock** is redis-py's :class:`~redis.lock.Lock`: ``SET key token NX PX
  ttl``, polled while it is taken, released by a Lua compare-and-delete so a
  holder whose lock expired cannot free its successor's.
- A **generation slot** is ``SET slot job NX PX ttl``, Laravel's
  ``Cache::add``; it is freed by compare-and-delete once the transaction that
  ended its job has committed (freed before, a new request could miss the
  text and start another job).
- A **lease** is ``SET lease owner NX PX ttl`` and, in the same Lua call, an
  ``INCR`` of the lease's counter: the fencing token. A holder checks it
  inside its write transaction, against Redis and against the highest token
  the database has seen written.

Every key starts with the URL's prefix (``?prefix=``, default ``moviemind``).
Nothing here outlives its TTL after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.exceptions import AuthenticationError, RedisError

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.core.config import ServiceUrl
from moviemind_lite.core.errors import ServiceUnavailable, StoreError
from moviemind_lite.core.ids import after, new_owner_token, now
from moviemind_lite.store.db import Database, Tx
from moviemind_lite.store.leases import stale_write
from moviemind_lite.store.locking import LeaseGrant, Locks
from moviemind_lite.store.slots import take_turns

log = logging.getLogger("moviemind.locks")

DEFAULT_PREFIX = "moviemind"
# How often a waiter for a taken key lock asks again.
POLL_S = 0.005
CONNECT_TIMEOUT_S = 5.0
_FIX = "(check MOVIEMIND_LOCKS_URL or --locks-url)"

# Delete KEYS[1] only if it still holds ARGV[1]: an owner's release, never a successor's.
_COMPARE_AND_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
# SET the lease NX PX and, if it was free, INCR its counter: the grant's fencing token.
_GRANT_LEASE = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return redis.call('incr', KEYS[2])
end
return 0
"""


class RedisErrors:
    """Turns redis-py errors into domain errors naming the server (never its password)."""

    def __init__(self, where: str) -> None:
        self.where = where

    @contextmanager
    def __call__(self) -> Iterator[None]:
        try:
            yield
        except AuthenticationError as error:
            raise ServiceUnavailable(
                f"Redis at {self.where} refused the login: {error} {_FIX}"
            ) from None
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise ServiceUnavailable(f"cannot use Redis at {self.where}: {error} {_FIX}") from None
        except RedisError as error:
            raise StoreError(f"Redis at {self.where}: {error}") from None


class RedisKeyLocks:
    """Blocking named mutexes as Redis locks with an owner token and a TTL."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_ms: float, errors: RedisErrors):
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_ms / 1000
        self.errors = errors

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Wait as long as it takes for the lock on ``key``; hold it for the block."""
        lock = self.client.lock(
            f"{self.prefix}lock:{key}", timeout=self.ttl_s, sleep=POLL_S, thread_local=False
        )
        with self.errors():
            lock.acquire(blocking=True)
        try:
            yield
        finally:
            try:
                lock.release()
            except RedisError as error:
                # Held longer than its TTL (another holder may have had it since),
                # or the server went away: either way its TTL ends it.
                log.warning(
                    "Lock not released",
                    extra={"fields": {"key": key, "ttl_s": self.ttl_s, "error": str(error)}},
                )


class RedisSlots:
    """Generation slots as ``SET NX PX`` keys holding the job id."""

    in_database = False
    clock: Clock = SYSTEM_CLOCK  # Redis expires its keys by its own clock

    def __init__(self, client: redis.Redis, prefix: str, errors: RedisErrors) -> None:
        self.client = client
        self.prefix = prefix
        self.errors = errors
        self.compare_and_delete = client.register_script(_COMPARE_AND_DELETE)

    def _key(self, key: str) -> str:
        return f"{self.prefix}slot:{key}"

    def acquire(self, tx: Tx, key: str, job_id: str, ttl_ms: float) -> str:
        """``SET slot job NX PX ttl``; the holder's job id if the slot was taken.

        Dispatchers for one key pass one at a time (:func:`take_turns`), each
        after the one before has committed the job its slot names: otherwise a
        dispatcher could find a slot whose job it cannot see yet.
        """
        take_turns(tx, key)
        with self.errors():
            while True:
                if self.client.set(self._key(key), job_id, nx=True, px=max(int(ttl_ms), 1)):
                    return job_id
                holder = self.client.get(self._key(key))
                if holder is not None:
                    return _text(holder)
                # It expired between the two calls: try again.

    def take_over(self, tx: Tx, key: str, job_id: str, ttl_ms: float) -> None:
        """Give the slot to ``job_id`` whoever holds it (its holder is known to be finished)."""
        with self.errors():
            self.client.set(self._key(key), job_id, px=max(int(ttl_ms), 1))

    def release(self, tx: Tx, key: str, job_id: str) -> None:
        """Free the slot if ``job_id`` still holds it, once ``tx`` has committed."""
        tx.on_commit(lambda: self._release(key, job_id))

    def _release(self, key: str, job_id: str) -> None:
        try:
            with self.errors():
                self.compare_and_delete(keys=[self._key(key)], args=[job_id])
        except StoreError as error:
            # The job's end is committed; only its slot stays, until its TTL.
            log.warning(
                "Slot not released; its TTL will free it",
                extra={"fields": {"slot": key, "job_id": job_id, "error": str(error)}},
            )

    def holder_id(self, key: str) -> str | None:
        """The id of the job holding the live slot ``key``, or ``None``."""
        with self.errors():
            holder = self.client.get(self._key(key))
        return None if holder is None else _text(holder)

    def count_open(self) -> int:
        """How many slots are live."""
        with self.errors():
            return sum(1 for _ in self.client.scan_iter(match=f"{self.prefix}slot:*", count=500))


class RedisLeases:
    """Leases as ``SET NX PX`` keys with an ``INCR`` counter for their fencing tokens."""

    def __init__(
        self, client: redis.Redis, prefix: str, database: Database, errors: RedisErrors
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.database = database
        self.errors = errors
        self.grant = client.register_script(_GRANT_LEASE)
        self.compare_and_delete = client.register_script(_COMPARE_AND_DELETE)

    def _keys(self, name: str) -> list[str]:
        return [f"{self.prefix}lease:{name}", f"{self.prefix}fence:{name}"]

    def acquire(self, name: str, ttl_ms: float) -> LeaseGrant | None:
        """Take ``name`` for ``ttl_ms`` unless a live lease holds it; ``None`` if one does."""
        owner, expires = new_owner_token(), after(ttl_ms)
        with self.errors():
            token = int(self.grant(keys=self._keys(name), args=[owner, max(int(ttl_ms), 1)]))
        return LeaseGrant(name, owner, token, expires) if token else None

    def release(self, grant: LeaseGrant) -> bool:
        """Give the lease back if ``grant`` still owns it; ``False`` if it was taken over."""
        with self.errors():
            deleted = self.compare_and_delete(
                keys=self._keys(grant.name)[:1], args=[grant.owner_token]
            )
        return bool(deleted)

    def check_fence(self, tx: Tx, grant: LeaseGrant) -> None:
        """Raise ``StaleWrite`` if ``name`` was granted again after ``grant``.

        Redis says whether a newer grant exists; the database, which cannot
        ask Redis inside its transaction, keeps the highest token written
        (a ``fence:`` row of ``leases``, locked until the transaction ends), so
        a stale holder's write never lands after a newer holder's.
        """
        with self.errors():
            raw = self.client.get(self._keys(grant.name)[1])
        current = int(raw) if raw is not None else 0
        if current != grant.fencing_token:
            raise stale_write(grant.name, current, grant)
        row = tx.execute(
            "INSERT INTO leases (name, owner_token, expires_at, fencing_token, acquired_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "owner_token = excluded.owner_token, fencing_token = excluded.fencing_token, "
            "expires_at = excluded.expires_at, acquired_at = excluded.acquired_at "
            "WHERE leases.fencing_token <= excluded.fencing_token RETURNING fencing_token",
            (
                f"fence:{grant.name}",
                grant.owner_token,
                grant.expires_at,
                grant.fencing_token,
                now(),
            ),
        ).fetchone()
        if row is None:
            written = tx.execute(
                "SELECT fencing_token FROM leases WHERE name = ?", (f"fence:{grant.name}",)
            ).fetchone()
            raise stale_write(grant.name, int(written[0]), grant)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def discard(url: ServiceUrl) -> None:
    """Delete every key under the prefix ``url`` names (never the default prefix's)."""
    if url.namespace is None:
        raise ValueError("refusing to delete the keys of a URL that names no prefix")
    errors = RedisErrors(str(url))
    client = redis.Redis.from_url(url.client_url(), socket_connect_timeout=CONNECT_TIMEOUT_S)
    try:
        with errors():
            keys = list(client.scan_iter(match=f"{url.namespace}:*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
    finally:
        client.close()


def open_locks(
    url: ServiceUrl,
    database: Database,
    lock_ttl_ms: float,
    clock: Clock = SYSTEM_CLOCK,
    engine_wait_ms: float = 10_000,
) -> Locks:
    """Key locks, slots and leases on the Redis server of a ``redis://`` URL, checked once.

    Redis's own clock expires its keys (``PX``); ``clock`` is not asked. A
    command the server does not answer within ``engine_wait_ms`` fails.
    """
    del clock  # the same signature as every engine's
    errors = RedisErrors(str(url))
    prefix = f"{url.namespace or DEFAULT_PREFIX}:"
    client = redis.Redis.from_url(
        url.client_url(),
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        # Every command is short (waits for a taken lock poll): a silent server is
        # given the engine wait, then the caller hears "cannot use Redis at ...".
        socket_timeout=engine_wait_ms / 1000,
        socket_keepalive=True,
    )
    try:
        with errors():
            client.ping()
    except BaseException:
        client.close()
        raise
    return Locks(
        "redis",
        RedisKeyLocks(client, prefix, lock_ttl_ms, errors),
        RedisSlots(client, prefix, errors),
        RedisLeases(client, prefix, database, errors),
        client.close,
    )


def server_version(url: ServiceUrl) -> str:
    """The Redis server's version (``INFO server``'s ``redis_version``)."""
    errors = RedisErrors(str(url))
    client = redis.Redis.from_url(url.client_url(), socket_connect_timeout=CONNECT_TIMEOUT_S)
    try:
        with errors():
            return _text(client.info("server").get("redis_version", ""))
    finally:
        client.close()
