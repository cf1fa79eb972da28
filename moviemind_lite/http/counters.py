"""The HTTP server's own Prometheus counters, defined once per process.

In ``--workers N`` mode (``PROMETHEUS_MULTIPROC_DIR`` set before this module
is imported) each process writes its values to files there, which
:mod:`moviemind_lite.http.metrics` sums at every scrape.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "moviemind_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "moviemind_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
RATE_LIMITED = Counter(
    "moviemind_http_rate_limited",
    "Requests refused with 429 by the rate limits, by limited route.",
    ["route"],
)
BUDGET_REFUSED = Counter(
    "moviemind_ai_budget_refused",
    "New generations refused with 503 (budget spent or queue full), by reason.",
    ["reason"],
)
