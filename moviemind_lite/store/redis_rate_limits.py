"""The ``redis`` rate-limit engine: GCRA buckets as Redis keys, one Lua call per decision.

Imported only when the locks URL names Redis (see
:data:`moviemind_lite.store.rate_limits.RATE_LIMIT_ENGINES`). The script reads
the bucket's TAT, decides exactly as :func:`~moviemind_lite.store.rate_limits.gcra`
does and writes the new TAT with a TTL that ends when the bucket is empty
again, atomically and in one round trip, so every process on the server
shares each bucket and none is ever left behind to sweep.
"""

from __future__ import annotations

from typing import Any

import redis

from moviemind_lite.core.config import ServiceUrl
from moviemind_lite.store.db import Database
from moviemind_lite.store.rate_limits import Allowance, refused, used
from moviemind_lite.store.redis_locks import CONNECT_TIMEOUT_S, DEFAULT_PREFIX, RedisErrors

# KEYS[1] the bucket; ARGV: now (ms), interval (ms), period (ms), cost (how many to take, -1 to
# give one back). Returns {allowed, tat}: the TAT after a take, or as it stands (not before now)
# for a refusal. TATs are written with 17 significant digits: Lua's tostring keeps 14, a tenth
# of a millisecond at today's epoch, and the rounding would add up to a phantom allowance.
_GCRA = """
local function exact(x) return string.format('%.17g', x) end
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local tat = tonumber(redis.call('get', KEYS[1]) or ARGV[1])
if cost < 0 then
    tat = tat - interval
    if tat <= now then redis.call('del', KEYS[1]) return {1, exact(now)} end
    redis.call('set', KEYS[1], exact(tat), 'PX', math.ceil(tat - now))
    return {1, exact(tat)}
end
if tat < now then tat = now end
local moved = tat + cost * interval
if moved - now > period then return {0, exact(tat)} end
redis.call('set', KEYS[1], exact(moved), 'PX', math.ceil(moved - now))
return {1, exact(moved)}
"""


class RedisRateLimits:
    """Buckets as ``<prefix>rate:<bucket>`` keys holding their TAT."""

    def __init__(self, client: redis.Redis, prefix: str, errors: RedisErrors) -> None:
        self.client = client
        self.prefix = prefix
        self.errors = errors
        self.script = client.register_script(_GCRA)

    def _run(self, bucket: str, limit: int, period_ms: float, now_ms: float, cost: int) -> Any:
        with self.errors():
            return self.script(
                keys=[f"{self.prefix}rate:{bucket}"],
                args=[repr(float(now_ms)), repr(period_ms / limit), repr(float(period_ms)), cost],
            )

    def take(
        self, bucket: str, limit: int, period_ms: float, now_ms: float, cost: int = 1
    ) -> Allowance:
        """See :meth:`~moviemind_lite.store.rate_limits.RateLimits.take`."""
        if not 1 <= cost <= limit:
            raise ValueError(f"a take costs 1 to {limit}, not {cost}")
        allowed, raw_tat = self._run(bucket, limit, period_ms, now_ms, cost)
        tat = float(raw_tat)
        interval = period_ms / limit
        if not allowed:
            return refused(tat, now_ms, limit, period_ms, cost)
        remaining = int((period_ms - (tat - now_ms)) // interval)
        return Allowance(True, limit, remaining, 0.0)

    def give_back(self, bucket: str, limit: int, period_ms: float, now_ms: float) -> None:
        """See :meth:`~moviemind_lite.store.rate_limits.RateLimits.give_back`."""
        self._run(bucket, limit, period_ms, now_ms, -1)

    def used(self, bucket: str, limit: int, period_ms: float, now_ms: float) -> int:
        """See :meth:`~moviemind_lite.store.rate_limits.RateLimits.used`."""
        with self.errors():
            raw = self.client.get(f"{self.prefix}rate:{bucket}")
        return used(None if raw is None else float(raw), now_ms, limit, period_ms)

    def close(self) -> None:
        """Close this engine's connections."""
        self.client.close()


def open_buckets(
    url: ServiceUrl, database: Database, engine_wait_ms: float = 10_000
) -> RedisRateLimits:
    """Buckets on the Redis server of a ``redis://`` URL, under its prefix."""
    client = redis.Redis.from_url(
        url.client_url(),
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=engine_wait_ms / 1000,
    )
    prefix = f"{url.namespace or DEFAULT_PREFIX}:"
    return RedisRateLimits(client, prefix, RedisErrors(str(url)))
