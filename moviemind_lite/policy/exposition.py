"""The job statistics as Prometheus metric families, built on ``prometheus_client``.

Apart from :mod:`moviemind_lite.policy.stats` so that only ``stats
--prometheus`` and the server's ``/metrics`` load ``prometheus_client``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

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
    return [*_job_families(stats), *_ai_families(stats), *_extra_families(stats)]


def _labelled(
    name: str,
    help_text: str,
    label: str,
    samples: Iterable[tuple[str, float | None]],
    *,
    counter: bool = False,
) -> Metric:
    """One family with one label, a sample per labelled value (``None``: no sample)."""
    family = (CounterMetricFamily if counter else GaugeMetricFamily)(
        name, help_text, labels=[label]
    )
    for labelled, value in samples:
        if value is not None:
            family.add_metric([labelled], value)
    return family


def _job_families(stats: JobStats) -> list[Metric]:
    """Throughput, the queue, results, runtime and wait quantiles, failures."""
    return [
        _labelled(
            "moviemind_jobs_per_minute",
            "Jobs finished per minute.",
            "window",
            [("5m", stats.jobs_per_minute_5m), ("60m", stats.jobs_per_minute_60m)],
        ),
        _labelled("moviemind_queue_jobs", "Jobs by status.", "status", stats.queue.items()),
        _labelled(
            "moviemind_job_results",
            "Jobs finished in the last hour, by result.",
            "result",
            stats.results.items(),
        ),
        _labelled(
            "moviemind_job_runtime_ms",
            "Job runtime over the last hour.",
            "quantile",
            [("0.5", stats.runtime_p50_ms), ("0.95", stats.runtime_p95_ms)],
        ),
        _labelled(
            "moviemind_job_wait_ms",
            "Time from queued to started over the last hour.",
            "quantile",
            [("0.5", stats.wait_p50_ms), ("0.95", stats.wait_p95_ms)],
        ),
        GaugeMetricFamily(
            "moviemind_failed_jobs_last_hour",
            "Jobs that failed in the last hour.",
            value=len(stats.failed_last_hour),
        ),
    ]


def _ai_families(stats: JobStats) -> list[Metric]:
    """AI calls by outcome and the tokens they used."""
    usage = stats.ai_calls
    ok = usage.calls - usage.failed - usage.abandoned
    return [
        _labelled(
            "moviemind_ai_calls",
            "AI calls made, failed ones included.",
            "outcome",
            [("ok", ok), ("failed", usage.failed), ("abandoned", usage.abandoned)],
            counter=True,
        ),
        _labelled(
            "moviemind_ai_tokens",
            "Tokens used by AI calls, as their servers reported them.",
            "kind",
            [("prompt", usage.prompt_tokens), ("completion", usage.completion_tokens)],
            counter=True,
        ),
    ]


def _extra_families(stats: JobStats) -> list[Metric]:
    """The statistics other parts add (the AI circuit's state, ...)."""
    families: list[Metric] = []
    for name, value in stats.extra.items():
        help_text = name.replace("_", " ").capitalize() + "."
        if isinstance(value, str):
            # A state (the AI circuit's): one sample labelled with it, as an info metric has.
            families.append(_labelled(f"moviemind_{name}", help_text, "state", [(value, 1)]))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            families.append(GaugeMetricFamily(f"moviemind_{name}", help_text, value=value))
    return families


def prometheus_text(stats: JobStats) -> str:
    """The statistics in the Prometheus text exposition format, by ``prometheus_client``."""
    registry = CollectorRegistry()
    registry.register(StatsCollector(lambda: stats))
    return generate_latest(registry).decode()
