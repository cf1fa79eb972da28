"""What one client may ask of the HTTP API, and what the AI may be asked for in all.

Two use cases over the store's shared GCRA buckets
(:mod:`moviemind_lite.store.rate_limits`), so every server process, and
every machine on the same Redis, counts against the same numbers:

- :class:`RequestLimits`: requests per minute per client on the routes the
  original service limits (``show``, ``search``, ``generate``). Like its
  ``AdaptiveRateLimit``, the limits shrink as the pending-job queue fills:
  the whole limit while under a quarter of the pending-jobs cap is used,
  then 3/4, 1/2 and 1/4 of it.
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
from moviemind_lite.core.errors import BudgetSpent
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


def load_factor(pending: int, max_pending: int) -> float:
    """The share of each request limit left with ``pending`` jobs waiting."""
    if max_pending <= 0:
        return 1.0
    quarter = min(3, (4 * pending) // max_pending)
    return LOAD_FACTORS[quarter]


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
        return self.buckets.take(f"rate:{route}:{client}", limit, MINUTE_MS, at)


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
            raise BudgetSpent(
                f"{cap} generation jobs are already waiting; try again shortly",
                retry_after_s=30,
                reason="queue_full",
            )
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
