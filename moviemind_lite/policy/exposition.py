"""The job statistics as Prometheus metric families, built on ``prometheus_client``.

Apart from :mod:`moviemind_lite.policy.stats` so that only ``stats
--prometheus`` and the server's ``/metrics`` load ``prometheus_client``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from moviemind_lite.policy.stats import JobStats


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
    calls.add_metric(["ok"], usage.calls - usage.failed - usage.abandoned)
    calls.add_metric(["failed"], usage.failed)
    calls.add_metric(["abandoned"], usage.abandoned)
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
