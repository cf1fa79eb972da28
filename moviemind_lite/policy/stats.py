"""Queue and job statistics, and their Prometheus text exposition.

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


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


# One metric of the exposition: name, type, help, and its (labels, value) samples.
_Metric = tuple[str, str, str, list[tuple[str, float]]]


def prometheus_text(stats: JobStats) -> str:
    """The statistics in the Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []
    for name, kind, help_text, samples in [*_job_metrics(stats), *_ai_and_extra_metrics(stats)]:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{labels} {value:g}" for labels, value in samples)
    return "\n".join(lines) + "\n"


def _quantiles(p50: float | None, p95: float | None) -> list[tuple[str, float]]:
    return [
        (f'{{quantile="{q}"}}', value)
        for q, value in (("0.5", p50), ("0.95", p95))
        if value is not None
    ]


def _job_metrics(stats: JobStats) -> list[_Metric]:
    return [
        (
            "moviemind_jobs_per_minute",
            "gauge",
            "Jobs finished per minute.",
            [
                ('{window="5m"}', stats.jobs_per_minute_5m),
                ('{window="60m"}', stats.jobs_per_minute_60m),
            ],
        ),
        (
            "moviemind_queue_jobs",
            "gauge",
            "Jobs by status.",
            [(f'{{status="{_escape(status)}"}}', count) for status, count in stats.queue.items()],
        ),
        (
            "moviemind_job_results",
            "gauge",
            "Jobs finished in the last hour, by result.",
            [(f'{{result="{_escape(result)}"}}', count) for result, count in stats.results.items()],
        ),
        (
            "moviemind_job_runtime_ms",
            "gauge",
            "Job runtime over the last hour.",
            _quantiles(stats.runtime_p50_ms, stats.runtime_p95_ms),
        ),
        (
            "moviemind_job_wait_ms",
            "gauge",
            "Time from queued to started over the last hour.",
            _quantiles(stats.wait_p50_ms, stats.wait_p95_ms),
        ),
        (
            "moviemind_failed_jobs_last_hour",
            "gauge",
            "Jobs that failed in the last hour.",
            [("", len(stats.failed_last_hour))],
        ),
    ]


def _ai_and_extra_metrics(stats: JobStats) -> list[_Metric]:
    usage = stats.ai_calls
    metrics: list[_Metric] = [
        (
            "moviemind_ai_calls_total",
            "counter",
            "AI calls made, failed ones included.",
            [('{outcome="ok"}', usage.calls - usage.failed), ('{outcome="failed"}', usage.failed)],
        ),
        (
            "moviemind_ai_tokens_total",
            "counter",
            "Tokens used by AI calls, as their servers reported them.",
            [
                ('{kind="prompt"}', usage.prompt_tokens),
                ('{kind="completion"}', usage.completion_tokens),
            ],
        ),
    ]
    for name, value in stats.extra.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            help_text = name.replace("_", " ").capitalize() + "."
            metrics.append((f"moviemind_{name}", "gauge", help_text, [("", value)]))
    return metrics
