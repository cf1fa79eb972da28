"""``GET /metrics``: the Prometheus exposition of the server and the jobs, by ``prometheus_client``.

Two kinds of numbers:

- **this server's**, counted as requests are answered: requests by route,
  method and status, their latency histogram by route, rate-limit refusals by
  route, AI-budget refusals by reason. With ``--workers N`` every process
  writes them to files in ``PROMETHEUS_MULTIPROC_DIR`` (``moviemind serve``
  makes a fresh folder) and a scrape of any process sums them all
  (``prometheus_client``'s multiprocess mode);
- **the store's**, read at each scrape from the database every process
  shares (:class:`~moviemind_lite.policy.stats.StatsCollector`): jobs by
  state, AI calls and tokens, the circuit's state, the AI budget used.

Outside a loopback request (a loopback-bound server reached by a loopback
name) the endpoint needs the admin token, as the admin routes do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moviemind_lite.app.wiring import App
from moviemind_lite.http.counters import BUDGET_REFUSED, LATENCY, RATE_LIMITED, REQUESTS
from moviemind_lite.http.edge import LOOPBACK_REQUEST_KEY
from moviemind_lite.http.errors import framework_error
from moviemind_lite.http.routes import has_admin_token
from moviemind_lite.policy.exposition import StatsCollector

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def route_label(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The template of the route ``scope`` matches (``unmatched`` for none): labels stay few."""
    for route in routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


class RequestMetrics:
    """Count every HTTP request and time it, by route template, method and status."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = route_label(self.routes, scope)
            REQUESTS.labels(route, scope["method"], str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)


def _registry(app: App) -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_VARIABLE):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for collector in (REQUESTS, LATENCY, RATE_LIMITED, BUDGET_REFUSED):
            registry.register(collector)
    registry.register(StatsCollector(app.jobs.stats))
    return registry


def metrics(request: Request) -> Response:
    """``GET /metrics``: open to a loopback request, else the admin token is needed."""
    if not request.scope.get(LOOPBACK_REQUEST_KEY, False) and not has_admin_token(request):
        return framework_error(401, "Unauthorized")
    app: App = request.app.state.moviemind
    return Response(generate_latest(_registry(app)), media_type=CONTENT_TYPE_LATEST)
