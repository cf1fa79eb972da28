"""Rate limits on the routes the original service limits, with its headers and its 429.

``show`` (``GET /movies/{slug}``, ``/people/{slug}``), ``search`` (the lists)
and ``generate`` count per client per minute in buckets every server process
shares (:class:`moviemind_lite.app.limits.RequestLimits`). A client is its
API key when it presents a valid one, else its address (the proxy's word only
from a trusted proxy, :mod:`moviemind_lite.http.edge`). Every answer of a
limited route carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``; a
refusal is the original's 429 with ``Retry-After``. Admin, health, jobs and
the OpenAPI document are not limited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moviemind_lite.app.api_keys import KeyCheck
from moviemind_lite.app.limits import Allowance, LimitedRoute
from moviemind_lite.app.wiring import App
from moviemind_lite.core.errors import BudgetSpent
from moviemind_lite.http.counters import BUDGET_REFUSED, RATE_LIMITED

Endpoint = Callable[[Request], Response]


def client_id(request: Request, key: str | None, verdict: KeyCheck | None) -> str:
    """Whom a request counts against: its valid API key, else its address."""
    if key is not None and verdict == "ok":
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    peer = request.client.host if request.client is not None else "unknown"
    return f"ip:{peer}"


def limit_headers(allowance: Allowance) -> dict[str, str]:
    """``X-RateLimit-Limit`` and ``X-RateLimit-Remaining`` for one decision."""
    return {
        "X-RateLimit-Limit": str(allowance.limit),
        "X-RateLimit-Remaining": str(allowance.remaining),
    }


def too_many(allowance: Allowance) -> JSONResponse:
    """The original service's 429."""
    return JSONResponse(
        {
            "error": "Too many requests",
            "message": "Rate limit exceeded. Please try again later.",
            "retry_after": allowance.retry_after_s,
        },
        status_code=429,
        headers={**limit_headers(allowance), "Retry-After": str(allowance.retry_after_s)},
    )


def budget_spent(spent: BudgetSpent) -> JSONResponse:
    """503 with ``Retry-After``: no new generation now (nothing was queued)."""
    BUDGET_REFUSED.labels(spent.reason).inc()
    return JSONResponse(
        {
            "error": "Service unavailable",
            "message": f"No new generation now: {spent}.",
            "reason": spent.reason,
            "retry_after": spent.retry_after_s,
        },
        status_code=503,
        headers={"Retry-After": str(spent.retry_after_s)},
    )


def take(app: App, route: LimitedRoute, client: str) -> tuple[Response | None, dict[str, str]]:
    """Count one request: the 429 to answer, or ``None`` and the headers to add."""
    allowance = app.limits.take(route, client)
    if allowance is None:
        return None, {}
    if not allowance.allowed:
        RATE_LIMITED.labels(route).inc()
        return too_many(allowance), {}
    return None, limit_headers(allowance)


def rate_limited(
    route: LimitedRoute, key_of: Callable[[Request], str | None]
) -> Callable[[Endpoint], Endpoint]:
    """Wrap a synchronous endpoint of ``route``: counted first, its answer given the headers."""

    def wrap(endpoint: Endpoint) -> Endpoint:
        def limited(request: Request) -> Response:
            app: App = request.app.state.moviemind
            key = key_of(request)
            verdict = app.api_keys.check(key) if key is not None else None
            client = client_id(request, key, verdict)
            refusal, headers = take(app, route, client)
            if refusal is not None:
                return refusal
            request.state.client = client
            response = endpoint(request)
            response.headers.update(headers)
            return response

        limited.__name__ = endpoint.__name__
        limited.__doc__ = endpoint.__doc__
        return limited

    return wrap
