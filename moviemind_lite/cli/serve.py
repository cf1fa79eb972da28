"""``moviemind serve``: the MovieMind HTTP API on uvicorn (imported only when serving)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from typing import TYPE_CHECKING, Any

import click

from moviemind_lite.cli.base import Session, UsageProblem, ai_options, core_errors, pass_session
from moviemind_lite.core.errors import InvalidSetting
from moviemind_lite.http.edge import edge_settings, is_loopback

if TYPE_CHECKING:
    from moviemind_lite.core.config import Settings

# How the AI options reach the server processes, which read their settings afresh.
_AI_VARIABLES = {
    "latency_ms": "MOVIEMIND_AI_LATENCY_MS",
    "jitter_ms": "MOVIEMIND_AI_JITTER_MS",
    "fail_rate": "MOVIEMIND_AI_FAIL_RATE",
}


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
@click.option(
    "--allowed-hosts",
    metavar="NAMES",
    envvar="MOVIEMIND_ALLOWED_HOSTS",
    help="Host names clients may use, comma-separated (default: the loopback names on "
    "loopback); others get 400. '*' allows any.",
)
@click.option(
    "--forwarded-allow-ips",
    metavar="IPS",
    envvar="MOVIEMIND_FORWARDED_ALLOW_IPS",
    help="Proxies whose X-Forwarded-For/-Proto are believed, comma-separated (default: none).",
)
@click.option(
    "--public-url",
    metavar="URL",
    envvar="MOVIEMIND_PUBLIC_URL",
    help="Base URL of the links in answers (default: the host the request came to).",
)
@click.option(
    "--cors-origins",
    metavar="ORIGINS",
    envvar="MOVIEMIND_CORS_ORIGINS",
    help="Origins allowed by CORS on /api/*, comma-separated, or 'none' (default: *).",
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
    allowed_hosts: str | None,
    forwarded_allow_ips: str | None,
    public_url: str | None,
    cors_origins: str | None,
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
    check_exposure(address, settings, keys, allowed_hosts)
    edge = {
        "MOVIEMIND_SERVE_HOST": address,
        "MOVIEMIND_ALLOWED_HOSTS": allowed_hosts,
        "MOVIEMIND_FORWARDED_ALLOW_IPS": forwarded_allow_ips,
        "MOVIEMIND_PUBLIC_URL": public_url,
        "MOVIEMIND_CORS_ORIGINS": cors_origins,
    }
    given = {variable: value for variable, value in edge.items() if value is not None}
    try:
        edge_settings({**os.environ, **given})
    except InvalidSetting as invalid:
        raise UsageProblem(str(invalid)) from None
    os.environ.update(given)
    export_settings(session, settings, no_jobs=no_jobs, threads=threads)
    run_servers(host, port, fd, workers)


def check_exposure(address: str, settings: Settings, keys: bool, allowed_hosts: str | None) -> None:
    """Refuse to listen where the settings would expose the API unprotected."""
    problem = exposure_problem(address, settings.environment, settings.admin_token, keys)
    if problem is None and not is_loopback(address) and not allowed_hosts:
        problem = (
            f"listening on {address} (not loopback): name the host names clients use with "
            "--allowed-hosts (or MOVIEMIND_ALLOWED_HOSTS; '*' behind a proxy that checks them)"
        )
    if problem is not None:
        raise UsageProblem(problem)


def export_settings(session: Session, settings: Settings, *, no_jobs: bool, threads: int) -> None:
    """Hand the session's settings to the server processes, through their environment."""
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


def run_servers(host: str, port: int, fd: int | None, workers: int) -> None:
    """Run uvicorn with ``workers`` server processes, on ``host:port`` or a bound socket."""
    import uvicorn

    from moviemind_lite.http.connections import KEEP_ALIVE_S, GuardedH11Protocol, listen_backlog

    options: dict[str, Any] = {
        "factory": True,
        "workers": workers,
        "access_log": False,  # the JSON log has one line per request, with its ids
        "log_level": "info",
        # X-Forwarded-* are read by the application, from --forwarded-allow-ips only.
        "proxy_headers": False,
        "server_header": False,
        # A head timeout and a connection cap below the fd limit (slow clients).
        "http": GuardedH11Protocol,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "backlog": listen_backlog(),
    }
    metrics_dir = None
    if workers > 1:
        # Each server process writes its request counters here; /metrics sums them all.
        metrics_dir = tempfile.mkdtemp(prefix="moviemind-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        if fd is None:
            uvicorn.run(APP_FACTORY, host=host, port=port, **options)
        else:
            serve_on_socket(socket.socket(fileno=fd), options)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


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
