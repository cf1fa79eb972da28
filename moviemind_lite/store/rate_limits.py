"""Rate limits shared by every process: GCRA buckets in the database or on Redis.

A limit of ``limit`` requests per ``period_ms`` is kept as the generic cell
rate algorithm (GCRA) keeps it: one number per bucket, its *theoretical
arrival time* (TAT). Each request moves the TAT on by ``period_ms / limit``
from ``max(TAT, now)``; a request that would push it more than a whole period
ahead of now is refused, and told how long until it would not be. So a bucket
lets ``limit`` requests through at once, then one every ``period / limit``,
and a whole period of silence fills it again; nothing else is stored and
nothing needs sweeping beyond the rows whose TAT has passed.

Two engines, picked by the locks URL from :data:`RATE_LIMIT_ENGINES` like the
locks themselves: ``file`` keeps the buckets in the database's
``rate_limits`` table (one short write transaction per decision, whichever
database the URL names), ``redis`` in Redis keys, decided by one Lua script
in one round trip. Every server process of ``--workers N`` (and every
machine on the same Redis) therefore shares one limit per bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from moviemind_lite.core.config import ServiceUrl
from moviemind_lite.store.db import Client, Database, Tx, engine_module, read_one


@dataclass(frozen=True)
class Allowance:
    """One decision: let through or not, and what the client is told about its bucket."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_ms: float
    """How long until a request would be let through (0 when this one was)."""

    @property
    def retry_after_s(self) -> int:
        """``Retry-After`` in whole seconds, at least 1 for a refusal."""
        return 0 if self.allowed else max(1, math.ceil(self.retry_after_ms / 1000))


def gcra(
    tat: float | None, now_ms: float, limit: int, period_ms: float, cost: int = 1
) -> tuple[float, Allowance]:
    """The bucket's next TAT and the decision for ``cost`` requests arriving at ``now_ms``.

    A refused take leaves the TAT as it was (returned unchanged); see :func:`refused`.
    """
    interval = period_ms / limit
    start = now_ms if tat is None or tat < now_ms else tat
    moved = start + cost * interval
    if moved - now_ms > period_ms:
        return start, refused(start, now_ms, limit, period_ms, cost)
    remaining = int((period_ms - (moved - now_ms)) // interval)
    return moved, Allowance(True, limit, remaining, 0.0)


def refused(start: float, now_ms: float, limit: int, period_ms: float, cost: int) -> Allowance:
    """The refusal of ``cost`` requests by a bucket whose TAT is ``start`` (not before now):
    ``remaining`` is how many it would let through now, ``retry_after_ms`` how long until
    all ``cost`` would be."""
    interval = period_ms / limit
    free = max(0, int((period_ms - (start - now_ms)) // interval))
    return Allowance(
        False, limit, min(free, cost - 1), start + cost * interval - period_ms - now_ms
    )


def used(tat: float | None, now_ms: float, limit: int, period_ms: float) -> int:
    """How many of the bucket's ``limit`` are taken at ``now_ms``."""
    if tat is None or tat <= now_ms:
        return 0
    return min(limit, math.ceil((tat - now_ms) / (period_ms / limit) - 1e-9))


class RateLimits(Protocol):
    """Buckets shared by every process: take one, give one back, read how full one is."""

    def take(
        self, bucket: str, limit: int, period_ms: float, now_ms: float, cost: int = 1
    ) -> Allowance:
        """Let ``cost`` requests (1 to ``limit``) into ``bucket`` (``limit`` per ``period_ms``)
        all at once, or refuse them all (see :func:`refused` for what a refusal says)."""
        ...

    def give_back(self, bucket: str, limit: int, period_ms: float, now_ms: float) -> None:
        """Undo one :meth:`take` that was let through (the work it paid for was not done)."""
        ...

    def used(self, bucket: str, limit: int, period_ms: float, now_ms: float) -> int:
        """How many of ``limit`` the bucket has taken at ``now_ms``."""
        ...

    def close(self) -> None:
        """Close what the engine opened."""
        ...


class DatabaseRateLimits:
    """Buckets as rows of ``rate_limits`` (SQLite or PostgreSQL), one write per decision."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _read(self, tx: Tx, bucket: str) -> float | None:
        row = tx.execute(
            f"SELECT tat FROM rate_limits WHERE bucket = ?{tx.dialect.for_update}", (bucket,)
        ).fetchone()
        return None if row is None else float(row[0])

    def _write(self, tx: Tx, bucket: str, tat: float, now_ms: float) -> None:
        if tat <= now_ms:
            tx.execute("DELETE FROM rate_limits WHERE bucket = ?", (bucket,))
            return
        tx.execute(
            "INSERT INTO rate_limits (bucket, tat) VALUES (?, ?) "
            "ON CONFLICT (bucket) DO UPDATE SET tat = excluded.tat",
            (bucket, tat),
        )

    def take(
        self, bucket: str, limit: int, period_ms: float, now_ms: float, cost: int = 1
    ) -> Allowance:
        """See :meth:`RateLimits.take`: one upsert that moves the TAT only if it lets the
        requests through (the row's lock makes it atomic); a refusal then reads the TAT."""
        if not 1 <= cost <= limit:
            raise ValueError(f"a take costs 1 to {limit}, not {cost}")
        interval = period_ms / limit
        step = cost * interval
        with self.database.write() as tx:
            moved = f"{tx.dialect.greatest}(rate_limits.tat, :now) + :step"
            row = tx.execute(
                "INSERT INTO rate_limits (bucket, tat) VALUES (:bucket, :now + :step) "
                f"ON CONFLICT (bucket) DO UPDATE SET tat = {moved} "
                f"WHERE {moved} - :now <= :period RETURNING tat",
                {"bucket": bucket, "now": now_ms, "step": step, "period": period_ms},
            ).fetchone()
            if row is None:
                before = self._read(tx, bucket)
        if row is not None:
            remaining = int((period_ms - (float(row[0]) - now_ms)) // interval)
            return Allowance(True, limit, remaining, 0.0)
        return gcra(before, now_ms, limit, period_ms, cost)[1]

    def give_back(self, bucket: str, limit: int, period_ms: float, now_ms: float) -> None:
        """See :meth:`RateLimits.give_back`."""
        with self.database.write() as tx:
            tx.lock_key(f"rate limit {bucket}")
            before = self._read(tx, bucket)
            if before is not None:
                self._write(tx, bucket, before - period_ms / limit, now_ms)

    def used(self, bucket: str, limit: int, period_ms: float, now_ms: float) -> int:
        """See :meth:`RateLimits.used`."""
        row = read_one(self.database, "SELECT tat FROM rate_limits WHERE bucket = ?", (bucket,))
        return used(None if row is None else float(row[0]), now_ms, limit, period_ms)

    def close(self) -> None:
        """Nothing to close: the database belongs to the application."""


def open_rate_limits(
    url: ServiceUrl, database: Database, engine_wait_ms: float = 10_000
) -> RateLimits:
    """The buckets of the locks engine ``url`` names: Redis keys, else ``database``'s table.

    ``engine_wait_ms`` bounds a Redis command the server does not answer.
    """
    module = engine_module(RATE_LIMIT_ENGINES, url.engine, _CLIENTS)
    opened: RateLimits = module.open_buckets(url, database, engine_wait_ms)
    return opened


# The engines by locks URL scheme, imported by name only when a URL chooses them.
RATE_LIMIT_ENGINES: dict[str, str] = {
    "file": "moviemind_lite.store.rate_limits",
    "redis": "moviemind_lite.store.redis_rate_limits",
}
_CLIENTS = {"redis": Client("Redis", "redis", "redis")}


def open_buckets(url: ServiceUrl, database: Database, engine_wait_ms: float = 0) -> RateLimits:
    """The ``file`` engine's buckets: rows of ``database`` (``url`` names only lock files)."""
    del engine_wait_ms  # no server: the database bounds its own waits
    return DatabaseRateLimits(database)
