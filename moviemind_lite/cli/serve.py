"""``moviemind serve``: the MovieMind HTTP API on uvicorn (imported only when serving)."""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

import click

from moviemind_lite.cli.base import Session, UsageProblem, ai_options, core_errors, pass_session

# How the AI options reach the server processes, which read their settings afresh.
_AI_VARIABLES = {
    "latency_ms": "MOVIEMIND_AI_LATENCY_MS",
    "jitter_ms": "MOVIEMIND_AI_JITTER_MS",
    "fail_rate": "MOVIEMIND_AI_FAIL_RATE",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_problem(
    host: str, environment: str, admin_token: str | None, keys: bool
) -> str | None:
    """Why serving on ``host`` would leave the API open, or ``None``."""
    if is_loopback(host):
        return None
    missing = []
    if admin_token is None:
        missing.append("MOVIEMIND_ADMIN_TOKEN")
    if not keys:
        missing.append("an API key (moviemind keys create NAME)")
    if missing:
        return f"refusing to listen on {host} (not loopback) without {' and '.join(missing)}"
    if environment == "local":
        return (
            f"refusing to listen on {host} (not loopback) with MOVIEMIND_ENV=local, "
            "where the admin endpoints need no token"
        )
    return None


def bound_address(fd: int) -> str:
    """The address the listening socket ``fd`` is bound to."""
    try:
        with socket.socket(fileno=os.dup(fd)) as bound:
            name = bound.getsockname()
    except OSError as error:
        raise UsageProblem(f"--fd {fd}: not a usable socket ({error.strerror})") from None
    return str(name[0]) if isinstance(name, tuple) else "localhost"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    metavar="N",
    help="Server processes sharing the port.",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    metavar="N",
    help="Generation jobs run at once in each server process.",
)
@click.option(
    "--no-jobs", is_flag=True, help="Run no jobs in the server: leave them to `moviemind worker`."
)
# A descriptor is a C int: past 2**31-1 the socket call overflows rather than fails.
@click.option(
    "--fd", type=click.IntRange(0, 2**31 - 1), hidden=True, help="Serve on this bound socket."
)
@ai_options
@pass_session
def serve(
    session: Session,
    host: str,
    port: int,
    workers: int,
    threads: int,
    no_jobs: bool,
    fd: int | None,
) -> None:
    """Serve the MovieMind HTTP API (GET /api/v1/movies/SLUG, POST /api/v1/generate, ...)."""
    with core_errors():
        settings = session.settings()
        # Opened once here: a new home is created and migrated before any server
        # process starts, and bad settings fail now, on one line.
        keys = session.app().api_keys.any_active()
    session.close()
    address = host if fd is None else bound_address(fd)
    problem = exposure_problem(address, settings.environment, settings.admin_token, keys)
    if problem is not None:
        raise UsageProblem(problem)
    os.environ["MOVIEMIND_HOME"] = str(settings.home.resolve())
    # --database-url and --locks-url reach the server processes as the environment does.
    if settings.database_url is not None:
        os.environ["MOVIEMIND_DATABASE_URL"] = settings.database_url.reveal()
    if settings.locks_url is not None:
        os.environ["MOVIEMIND_LOCKS_URL"] = settings.locks_url.reveal()
    os.environ["MOVIEMIND_SERVE_JOBS"] = "off" if no_jobs else "on"
    os.environ["MOVIEMIND_SERVE_THREADS"] = str(threads)
    for name, value in session.ai_overrides.items():
        os.environ[_AI_VARIABLES[name]] = repr(value)
    import uvicorn

    options: dict[str, Any] = {
        "factory": True,
        "workers": workers,
        "access_log": False,  # the JSON log has one line per request, with its ids
        "log_level": "info",
    }
    if fd is None:
        uvicorn.run(APP_FACTORY, host=host, port=port, **options)
    else:
        serve_on_socket(socket.socket(fileno=fd), options)


APP_FACTORY = "moviemind_lite.http.app:create_app"


def serve_on_socket(listener: socket.socket, options: dict[str, Any]) -> None:
    """Serve on a socket bound by the caller, as ``uvicorn.run`` does for its own.

    uvicorn's ``fd=`` wraps the descriptor as a Unix socket whatever it is, so
    asyncio never sets TCP_NODELAY on its connections and every response waits
    out the client's delayed ACK (about 40 ms); ``socket.socket(fileno=...)``
    reads the real family.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(APP_FACTORY, **options)
    if config.workers > 1:
        Multiprocess(config, sockets=[listener]).run()
        return
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    if not server.started:
        raise SystemExit(3)
