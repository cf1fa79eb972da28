"""Queue and job statistics (their Prometheus exposition: :mod:`moviemind_lite.policy.exposition`).

Everything is computed from the ``jobs`` and ``ai_calls`` tables, so the
numbers cover jobs run by every process on the database (workers, in-process
runs, the TUI).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moviemind_lite.core.ids import format_timestamp
from moviemind_lite.core.model import DONE
from moviemind_lite.store.calls import CallRecord
from moviemind_lite.store.calls import CallUsage as CallUsage  # what front ends show
from moviemind_lite.store.db import Database
from moviemind_lite.store.jobs import count_by_status
from moviemind_lite.store.stats import (
    FailedJob,
    failed_since,
    finished_counts,
    newest_finished,
    result_counts,
)

PERCENTILE_SAMPLE = 5_000
"""The newest finished jobs of the hour the runtime and wait percentiles are taken over."""


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``values`` (``None`` when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1], 1)


@dataclass(frozen=True)
class JobStats:
    """The numbers ``moviemind stats`` shows."""

    jobs_per_minute_5m: float
    jobs_per_minute_60m: float
    runtime_p50_ms: float | None
    runtime_p95_ms: float | None
    wait_p50_ms: float | None
    wait_p95_ms: float | None
    queue: dict[str, int]
    results: dict[str, int]
    failed_last_hour: list[FailedJob] = field(default_factory=list)
    # Every AI call ever made on this database, and the tokens servers reported for them.
    ai_calls: CallUsage = field(default_factory=CallUsage)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return asdict(self)


def collect(database: Database, now: datetime | None = None) -> JobStats:
    """Statistics over the jobs finished in the last hour and the current queue.

    Rates count every job of the hour; the runtime and wait percentiles are
    those of its newest :data:`PERCENTILE_SAMPLE` jobs, so that reading them
    costs the same however busy the hour was.
    """
    moment = now or datetime.now(UTC)
    hour_ago = format_timestamp(moment - timedelta(minutes=60))
    five_ago = format_timestamp(moment - timedelta(minutes=5))
    finished, recent = finished_counts(database, hour_ago, five_ago)
    newest = newest_finished(database, hour_ago, PERCENTILE_SAMPLE)
    runtimes = [
        job.runtime_ms for job in newest if job.status == DONE and job.runtime_ms is not None
    ]
    waits = [job.wait_ms for job in newest if job.wait_ms is not None]
    return JobStats(
        jobs_per_minute_5m=round(recent / 5, 2),
        jobs_per_minute_60m=round(finished / 60, 2),
        runtime_p50_ms=percentile(runtimes, 0.50),
        runtime_p95_ms=percentile(runtimes, 0.95),
        wait_p50_ms=percentile(waits, 0.50),
        wait_p95_ms=percentile(waits, 0.95),
        queue=count_by_status(database),
        results=result_counts(database, hour_ago),
        failed_last_hour=failed_since(database, hour_ago),
        ai_calls=CallRecord(database).usage(),
    )
