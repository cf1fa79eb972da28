"""Queue and job statistics, and their Prometheus exposition (built on ``prometheus_client``).

Everything is computed from the ``jobs`` and ``ai_calls`` tables, so the
numbers cover jobs run by every process on the database (workers, in-process
runs, the TUI).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from moviemind_lite.core.ids import format_timestamp
from moviemind_lite.core.model import DONE
from moviemind_lite.store.calls import CallRecord, CallUsage
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


class StatsCollector(Collector):
    """The statistics as Prometheus metric families, read afresh at every scrape."""

    def __init__(self, read: Callable[[], JobStats]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        """Yield one family per statistic (``prometheus_client``'s collector protocol)."""
        return iter(stats_families(self.read()))


def stats_families(stats: JobStats) -> list[Metric]:
    """The statistics as Prometheus metric families."""
    families: list[Metric] = []
    rate = GaugeMetricFamily(
        "moviemind_jobs_per_minute", "Jobs finished per minute.", labels=["window"]
    )
    rate.add_metric(["5m"], stats.jobs_per_minute_5m)
    rate.add_metric(["60m"], stats.jobs_per_minute_60m)
    families.append(rate)
    queue = GaugeMetricFamily("moviemind_queue_jobs", "Jobs by status.", labels=["status"])
    for status, count in stats.queue.items():
        queue.add_metric([status], count)
    families.append(queue)
    results = GaugeMetricFamily(
        "moviemind_job_results", "Jobs finished in the last hour, by result.", labels=["result"]
    )
    for result, count in stats.results.items():
        results.add_metric([result], count)
    families.append(results)
    for name, help_text, p50, p95 in (
        (
            "moviemind_job_runtime_ms",
            "Job runtime over the last hour.",
            stats.runtime_p50_ms,
            stats.runtime_p95_ms,
        ),
        (
            "moviemind_job_wait_ms",
            "Time from queued to started over the last hour.",
            stats.wait_p50_ms,
            stats.wait_p95_ms,
        ),
    ):
        quantiles = GaugeMetricFamily(name, help_text, labels=["quantile"])
        for quantile, value in (("0.5", p50), ("0.95", p95)):
            if value is not None:
                quantiles.add_metric([quantile], value)
        families.append(quantiles)
    families.append(
        GaugeMetricFamily(
            "moviemind_failed_jobs_last_hour",
            "Jobs that failed in the last hour.",
            value=len(stats.failed_last_hour),
        )
    )
    usage = stats.ai_calls
    calls = CounterMetricFamily(
        "moviemind_ai_calls", "AI calls made, failed ones included.", labels=["outcome"]
    )
    calls.add_metric(["ok"], usage.calls - usage.failed)
    calls.add_metric(["failed"], usage.failed)
    families.append(calls)
    tokens = CounterMetricFamily(
        "moviemind_ai_tokens",
        "Tokens used by AI calls, as their servers reported them.",
        labels=["kind"],
    )
    tokens.add_metric(["prompt"], usage.prompt_tokens)
    tokens.add_metric(["completion"], usage.completion_tokens)
    families.append(tokens)
    for name, value in stats.extra.items():
        help_text = name.replace("_", " ").capitalize() + "."
        if isinstance(value, str):
            # A state (the AI circuit's): one sample labelled with it, as an info metric has.
            state = GaugeMetricFamily(f"moviemind_{name}", help_text, labels=["state"])
            state.add_metric([value], 1)
            families.append(state)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            families.append(GaugeMetricFamily(f"moviemind_{name}", help_text, value=value))
    return families


def prometheus_text(stats: JobStats) -> str:
    """The statistics in the Prometheus text exposition format, by ``prometheus_client``."""
    registry = CollectorRegistry()
    registry.register(StatsCollector(lambda: stats))
    return generate_latest(registry).decode()
