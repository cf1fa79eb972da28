"""The ASGI application: routes, error handlers, request ids, and jobs run alongside.

``create_app()`` is also uvicorn's factory (``--factory``): called with no
arguments in each server process, it reads the same settings as the CLI
(``MOVIEMIND_HOME`` and the rest) plus what ``moviemind serve`` passes down:
``MOVIEMIND_SERVE_JOBS`` (``on``/``off``) and ``MOVIEMIND_SERVE_THREADS``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import ASGIApp

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import load_settings
from moviemind_lite.core.errors import InvalidSetting, MovieMindError
from moviemind_lite.http.context import RequestContext
from moviemind_lite.http.edge import EdgeSettings, NetworkEdge, edge_settings
from moviemind_lite.http.errors import (
    ValidationFailed,
    on_core_error,
    on_http_exception,
    on_server_error,
    on_validation,
)
from moviemind_lite.http.jobs import InProcessJobs
from moviemind_lite.http.lab import LAB_ROUTES, lab_for
from moviemind_lite.http.metrics import RequestMetrics, metrics
from moviemind_lite.http.routes import ROUTES

DEFAULT_THREADS = 4
MAX_THREADS = 64


def serve_options(env: Mapping[str, str] | None = None) -> tuple[bool, int]:
    """Whether to run jobs and on how many threads, from ``MOVIEMIND_SERVE_*``."""
    env = os.environ if env is None else env
    jobs = env.get("MOVIEMIND_SERVE_JOBS", "on").strip().lower() or "on"
    if jobs not in ("on", "off"):
        raise InvalidSetting(f"MOVIEMIND_SERVE_JOBS={jobs!r}: expected on or off")
    raw = env.get("MOVIEMIND_SERVE_THREADS", str(DEFAULT_THREADS)).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_THREADS:
        raise InvalidSetting(
            f"MOVIEMIND_SERVE_THREADS={raw!r}: expected a whole number from 1 to {MAX_THREADS}"
        )
    return jobs == "on", int(raw)


def create_app(
    app: App | None = None,
    *,
    run_jobs: bool | None = None,
    threads: int | None = None,
    edge: EdgeSettings | None = None,
) -> ASGIApp:
    """The HTTP API over ``app`` (default: built from the environment and closed on shutdown).

    With ``run_jobs`` (default: ``MOVIEMIND_SERVE_JOBS``), a worker of
    ``threads`` threads runs generation jobs while the server is up. ``edge``
    (default: from the environment) names the allowed hosts, trusted proxies,
    public URL and CORS origins.
    """
    edge = edge_settings() if edge is None else edge
    env_jobs, env_threads = serve_options()
    run_jobs = env_jobs if run_jobs is None else run_jobs
    threads = env_threads if threads is None else threads
    owned = app is None
    moviemind = app if app is not None else build_app(load_settings())
    jobs = InProcessJobs(moviemind, threads) if run_jobs else None
    lab = lab_for(moviemind.settings)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if jobs is not None:
            await run_in_threadpool(jobs.start)
        try:
            yield
        finally:
            await run_in_threadpool(lab.close)
            if jobs is not None:
                await run_in_threadpool(jobs.stop)
            if owned:
                moviemind.close()

    routes = [*ROUTES, *LAB_ROUTES, Route("/metrics", metrics, methods=["GET"])]
    starlette = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: on_http_exception,
            ValidationFailed: on_validation,
            MovieMindError: on_core_error,
            Exception: on_server_error,
        },
    )
    starlette.state.moviemind = moviemind
    starlette.state.lab = lab
    return RequestContext(NetworkEdge(RequestMetrics(starlette, routes), edge))
