"""What one client may ask of the HTTP API, and what the AI may be asked for in all.

Two use cases over the store's shared GCRA buckets
(:mod:`moviemind_lite.store.rate_limits`), so every server process, and
every machine on the same Redis, counts against the same numbers:

- :class:`RequestLimits`: requests per minute per client on the routes the
  original service limits (``show``, ``search``, ``generate``). Like its
  ``AdaptiveRateLimit``, the limits shrink as the pending-job queue fills:
  the whole limit while under a quarter of the pending-jobs cap is used,
  then 3/4, 1/2 and 1/4 of it. A process takes these allowances from the
  shared bucket a block at a time (:class:`PrepaidBuckets`), so most requests
  touch no engine.
- :class:`GenerationBudget`: new generation jobs per hour per client and for
  the whole service, and a cap on pending jobs. Only a request that would
  create a job pays; joining a job already on its way is free, and a request
  that turns out to have joined one after all is refunded.

A client is named by the front end: ``key:<digest>`` for a valid API key,
``ip:<address>`` otherwise.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Literal

from moviemind_lite.core.clock import Clock
from moviemind_lite.core.config import LimitSettings
from moviemind_lite.core.errors import BudgetSpent, QueueFull
from moviemind_lite.store.db import Database
from moviemind_lite.store.jobs import count_pending
from moviemind_lite.store.rate_limits import Allowance as Allowance  # what front ends show
from moviemind_lite.store.rate_limits import RateLimits

LimitedRoute = Literal["show", "search", "generate"]
MINUTE_MS = 60_000.0
HOUR_MS = 3_600_000.0
# How long a process reuses its count of pending jobs when sizing the request limits.
PENDING_READ_EVERY_S = 1.0
# The share of each request limit left as the pending queue fills its cap, by quarter.
LOAD_FACTORS = (1.0, 0.75, 0.5, 0.25)
SERVICE_BUCKET = "budget:service"
# A process's block is at most this share of a limit (1/16: 7 of show's 120 a minute).
BLOCK_SHARE = 16
# Past this many buckets held, a process forgets the ones whose block has lapsed (then the oldest).
HELD_BUCKETS_MAX = 10_000
# Refills of different buckets run side by side; one bucket's refills take turns.
REFILL_STRIPES = 64


def load_factor(pending: int, max_pending: int) -> float:
    """The share of each request limit left with ``pending`` jobs waiting."""
    if max_pending <= 0:
        return 1.0
    quarter = min(3, (4 * pending) // max_pending)
    return LOAD_FACTORS[quarter]


def block_size(limit: int, most: int) -> int:
    """How many allowances a process takes at once from a bucket of ``limit``."""
    return max(1, min(most, limit // BLOCK_SHARE))


@dataclass
class Held:
    """Allowances of one bucket this process has taken and not spent yet."""

    limit: int
    tokens: int
    remaining: int
    """What the shared bucket had left when they were taken."""
    until_ms: float
    """When the bucket has forgotten them: they are not spent past it."""


class PrepaidBuckets:
    """Shared buckets whose allowances this process takes a block at a time and spends itself.

    A request first spends an allowance the process holds for its bucket (no
    engine touched); only when none is left does the process take a new block
    of :func:`block_size` allowances from the shared bucket in one call (or
    as many as the bucket still has, or the refusal). The store counts every
    allowance when it is taken, so with time standing still the processes
    together let exactly ``limit`` through. The price: a process holds at most
    ``block - 1`` allowances taken in advance, and may spend them after the
    shared bucket has refilled, so across ``P`` processes at most
    ``P * (block - 1)`` requests more than the exact limit are let through in
    a period; and a client whose allowances wait in one process may be refused
    by another. Held allowances lapse one period after they were taken. With a
    block of 1 every request goes to the store.
    """

    def __init__(self, buckets: RateLimits, most: int) -> None:
        self.buckets = buckets
        self.most = most
        self._held: dict[str, Held] = {}
        self._lock = threading.Lock()
        self._refills = [threading.Lock() for _ in range(REFILL_STRIPES)]

    def take(self, bucket: str, limit: int, period_ms: float, now_ms: float) -> Allowance:
        """Let one request into ``bucket`` or refuse it (as :meth:`RateLimits.take`)."""
        block = block_size(limit, self.most)
        if block == 1:
            return self.buckets.take(bucket, limit, period_ms, now_ms)
        spent = self._spend(bucket, limit, now_ms)
        if spent is not None:
            return spent
        # One thread refills a bucket while its others wait to spend the new block: racing
        # refills would each take a block and all but one would be lost.
        with self._refills[hash(bucket) % REFILL_STRIPES]:
            spent = self._spend(bucket, limit, now_ms)
            if spent is not None:
                return spent
            taken, allowance = self._take_up_to(bucket, limit, period_ms, now_ms, block)
            if taken == 0:
                return allowance
            with self._lock:
                if len(self._held) >= HELD_BUCKETS_MAX:
                    self._forget(now_ms)
                self._held.pop(bucket, None)  # to the end: the newest is forgotten last
                self._held[bucket] = Held(limit, taken - 1, allowance.remaining, now_ms + period_ms)
        return Allowance(True, limit, allowance.remaining + taken - 1, 0.0)

    def _spend(self, bucket: str, limit: int, now_ms: float) -> Allowance | None:
        with self._lock:
            held = self._held.get(bucket)
            if held is None or held.tokens == 0 or held.limit != limit or now_ms >= held.until_ms:
                return None
            held.tokens -= 1
            return Allowance(True, limit, held.remaining + held.tokens, 0.0)

    def _take_up_to(
        self, bucket: str, limit: int, period_ms: float, now_ms: float, block: int
    ) -> tuple[int, Allowance]:
        """Take ``block`` allowances, else as many as the bucket has (at least one): how many
        were taken, and the store's answer (a refusal, for one request, when none was)."""
        cost = block
        for _ in range(3):
            allowance = self.buckets.take(bucket, limit, period_ms, now_ms, cost)
            if allowance.allowed:
                return cost, allowance
            if allowance.remaining == 0:
                break
            cost = allowance.remaining  # fewer than asked: take what is there
        # The refusal speaks of ``cost`` requests; the client is told when one would pass.
        wait = allowance.retry_after_ms - (cost - 1) * period_ms / limit
        return 0, Allowance(False, limit, 0, max(wait, 0.0))

    def _forget(self, now_ms: float) -> None:
        for bucket in [name for name, held in self._held.items() if now_ms >= held.until_ms]:
            del self._held[bucket]
        if len(self._held) >= HELD_BUCKETS_MAX:
            for bucket in list(self._held)[: len(self._held) - HELD_BUCKETS_MAX // 2]:
                del self._held[bucket]


class LimitsOver:
    """What both use cases read: the limits, the shared buckets, the queue, the clock."""

    def __init__(
        self, settings: LimitSettings, buckets: RateLimits, database: Database, clock: Clock
    ) -> None:
        self.settings = settings
        self.buckets = buckets
        self.database = database
        self.clock = clock


class RequestLimits(LimitsOver):
    """Requests per minute per client and route, shrinking under load."""

    def __init__(
        self, settings: LimitSettings, buckets: RateLimits, database: Database, clock: Clock
    ) -> None:
        super().__init__(settings, buckets, database, clock)
        self.prepaid = PrepaidBuckets(buckets, settings.block)
        self._pending = 0
        self._pending_read_at = -math.inf
        self._lock = threading.Lock()

    def base_limit(self, route: LimitedRoute) -> int:
        """The route's configured limit per minute (0: not limited)."""
        return {
            "show": self.settings.show_per_minute,
            "search": self.settings.search_per_minute,
            "generate": self.settings.generate_per_minute,
        }[route]

    def pending(self) -> int:
        """The pending jobs, read at most once a second by this process."""
        with self._lock:
            if self.clock.monotonic() - self._pending_read_at >= PENDING_READ_EVERY_S:
                self._pending = count_pending(self.database)
                self._pending_read_at = self.clock.monotonic()
            return self._pending

    def limit(self, route: LimitedRoute, pending: int | None = None) -> int:
        """The route's limit per minute now: the configured one, shrunk by the queue."""
        base = self.base_limit(route)
        if base == 0:
            return 0
        waiting = self.pending() if pending is None else pending
        return max(1, int(base * load_factor(waiting, self.settings.max_pending_jobs)))

    def take(
        self,
        route: LimitedRoute,
        client: str,
        at_ms: float | None = None,
        pending: int | None = None,
    ) -> Allowance | None:
        """Count one request of ``client`` on ``route``: let through or not (``None``: no limit)."""
        limit = self.limit(route, pending)
        if limit == 0:
            return None
        at = self.clock.now() * 1000 if at_ms is None else at_ms
        return self.prepaid.take(f"rate:{route}:{client}", limit, MINUTE_MS, at)


@dataclass(frozen=True)
class BudgetUsage:
    """How much of the AI budget is spent this hour, and how full the queue is."""

    service_used: int
    service_limit: int
    client_limit: int
    pending: int
    max_pending: int


class GenerationBudget(LimitsOver):
    """New generation jobs per hour per client and in all, and the pending-jobs cap."""

    def reserve(self, client: str | None, at_ms: float | None = None) -> None:
        """Pay for one new job, or raise :class:`BudgetSpent` (nothing paid, nothing queued)."""
        at = self.clock.now() * 1000 if at_ms is None else at_ms
        cap = self.settings.max_pending_jobs
        if cap and count_pending(self.database) >= cap:
            # A cheap first look; the job's insert checks the cap again, atomically.
            raise QueueFull(cap)
        per_client = self.settings.client_jobs_per_hour
        if client is not None and per_client:
            taken = self.buckets.take(f"budget:client:{client}", per_client, HOUR_MS, at)
            if not taken.allowed:
                raise BudgetSpent(
                    f"this client's AI budget ({per_client} new jobs an hour) is spent",
                    retry_after_s=taken.retry_after_s,
                    reason="client_budget",
                )
        service = self.settings.service_jobs_per_hour
        if service:
            taken = self.buckets.take(SERVICE_BUCKET, service, HOUR_MS, at)
            if not taken.allowed:
                if client is not None and per_client:
                    self.buckets.give_back(f"budget:client:{client}", per_client, HOUR_MS, at)
                raise BudgetSpent(
                    f"the service's AI budget ({service} new jobs an hour) is spent",
                    retry_after_s=taken.retry_after_s,
                    reason="service_budget",
                )

    def refund(self, client: str | None, at_ms: float | None = None) -> None:
        """Give back what :meth:`reserve` took: the request joined a job after all."""
        at = self.clock.now() * 1000 if at_ms is None else at_ms
        per_client = self.settings.client_jobs_per_hour
        if client is not None and per_client:
            self.buckets.give_back(f"budget:client:{client}", per_client, HOUR_MS, at)
        if self.settings.service_jobs_per_hour:
            self.buckets.give_back(SERVICE_BUCKET, self.settings.service_jobs_per_hour, HOUR_MS, at)

    def usage(self, at_ms: float | None = None) -> BudgetUsage:
        """The service's spend this hour and the pending queue against its cap."""
        at = self.clock.now() * 1000 if at_ms is None else at_ms
        service = self.settings.service_jobs_per_hour
        spent = self.buckets.used(SERVICE_BUCKET, service, HOUR_MS, at) if service else 0
        return BudgetUsage(
            spent,
            service,
            self.settings.client_jobs_per_hour,
            count_pending(self.database),
            self.settings.max_pending_jobs,
        )
