"""What the rate limiter costs a stored read: req/s with it on and off, side by side.

    .venv/bin/python benchmarks/rate_limits.py            # the full run (a few minutes)
    .venv/bin/python benchmarks/rate_limits.py --quick    # a quarter of the requests
    .venv/bin/python benchmarks/rate_limits.py --cpu-only \
        --database-url postgresql://127.0.0.1:5432/moviemind --locks-url redis://127.0.0.1:6379/0

``GET /api/v1/movies/{stored-slug}`` against a live ``moviemind serve`` (one,
then two processes), from 16 and 64 keep-alive clients (threads of this
process, all from 127.0.0.1: one bucket, the hottest case). "off" sets the
show limit to 0 (no bucket is read or written); "on" keeps the limiter at
work with a limit no run reaches, so requests pay for the bucket (a process
takes its allowances in blocks, ``MOVIEMIND_RATE_LIMIT_BLOCK``) and nothing
is refused. Each pair is measured off, on, off, on and the
ratio is on / off over the sums, so the machine's drift falls on both.

On a shared, loaded machine those req/s move with everyone else's work, so
the run also measures the limiter where load cannot reach it: the CPU time
of this process (``time.process_time``) per stored read sent to the ASGI
application itself (routing, middleware, the endpoint on its thread pool,
the JSON; no socket, uvicorn or h11), limiter off and on, in alternating
blocks: what the limiter adds to the server's own work for a read, both as
it runs (blocks) and with one store decision per request (a block of 1, the
limiter before blocks), on SQLite and, given their URLs, on PostgreSQL and
Redis in the same run. It prints the verdict on the 10% target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from http_api import STORED_SLUG, UNLIMITED, Measured, environment, http_get, server, timed
from starlette.types import ASGIApp

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import load_settings
from moviemind_lite.http.app import create_app

BLOCK = 200
BLOCKS = 20
TARGET = 0.10  # issue 21: the limiter costs at most 10% of a stored read

# Over HTTP: the limiter off and on (as it runs: a process takes its allowances in blocks).
MODES = {
    "off": {**UNLIMITED, "MOVIEMIND_RATE_LIMIT_SHOW": "0"},
    "on": dict(UNLIMITED),
}
# In the process: also the limiter as it was, one store decision per request (a block of 1).
CPU_MODES = {
    "off": MODES["off"],
    "per request": {**UNLIMITED, "MOVIEMIND_RATE_LIMIT_BLOCK": "1"},
    "blocks": MODES["on"],
}


def asgi_get(asgi: ASGIApp, path: str) -> Callable[[int], None]:
    """``calls`` GETs of ``path`` sent to ``asgi`` itself, one after another (no socket)."""

    async def one() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        statuses: list[int] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))  # type: ignore[call-overload]

        await asgi(scope, receive, send)  # type: ignore[arg-type]
        if statuses != [200]:
            raise SystemExit(f"{path}: {statuses}")

    def run(calls: int) -> None:
        async def many() -> None:
            for _ in range(calls):
                await one()

        asyncio.run(many())

    return run


def in_process(home: Path, engine: dict[str, str]) -> dict[str, float]:
    """Process CPU ms per stored read through the ASGI app in each of :data:`CPU_MODES`, the
    median of alternating blocks (the request's thread-pool hop included, uvicorn and h11
    left out)."""
    per_call: dict[str, list[float]] = {mode: [] for mode in CPU_MODES}
    apps = {
        mode: build_app(load_settings(home, environment(home, 0, {**limits, **engine})))
        for mode, limits in CPU_MODES.items()
    }
    try:
        runs = {
            mode: asgi_get(create_app(app, run_jobs=False), f"/api/v1/movies/{STORED_SLUG}")
            for mode, app in apps.items()
        }
        for run in runs.values():
            run(BLOCK)  # warm up: connections, caches
        for _ in range(BLOCKS):
            for mode, run in runs.items():
                started = time.process_time()
                run(BLOCK)
                per_call[mode].append((time.process_time() - started) / BLOCK * 1000)
    finally:
        for app in apps.values():
            app.close()
    return {mode: sorted(values)[BLOCKS // 2] for mode, values in per_call.items()}


def cpu_table(rows: list[tuple[str, dict[str, float]]]) -> None:
    """The CPU per read on each engine, what the limiter adds, and the verdict on the target."""
    print("\nprocess CPU per stored read through the ASGI app (ms, median of blocks):")
    print(f"{'engines':<28}{'off':>8}{'per request':>13}{'blocks':>9}{'adds (per req)':>16}")
    for name, cpu in rows:
        print(
            f"{name:<28}{cpu['off']:>8.3f}{cpu['per request']:>13.3f}{cpu['blocks']:>9.3f}"
            f"{cpu['blocks'] / cpu['off'] - 1:>+9.1%} ({cpu['per request'] / cpu['off'] - 1:+.1%})"
        )
    for name, cpu in rows:
        adds = cpu["blocks"] / cpu["off"] - 1
        verdict = "met" if adds <= TARGET else "NOT met"
        print(f"verdict, {name}: the limiter adds {adds:+.1%} to a stored read: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    parser.add_argument("--quick", action="store_true", help="a quarter of the requests")
    parser.add_argument(
        "--locks-url", help="buckets on this Redis (redis://...) rather than the SQLite table"
    )
    parser.add_argument(
        "--database-url", help="the store on this PostgreSQL (postgresql://...) rather than SQLite"
    )
    parser.add_argument(
        "--cpu-only", action="store_true", help="only the in-process CPU comparison"
    )
    options = parser.parse_args()
    engines: list[tuple[str, dict[str, str]]] = [("SQLite, buckets in its table", {})]
    if options.database_url or options.locks_url:
        urls = {}
        if options.database_url:
            urls["MOVIEMIND_DATABASE_URL"] = options.database_url
        if options.locks_url:
            urls["MOVIEMIND_LOCKS_URL"] = options.locks_url
        name = "PostgreSQL" if options.database_url else "SQLite"
        name += ", buckets on Redis" if options.locks_url else ", buckets in its table"
        engines.append((name, urls))
    requests = options.requests // 4 if options.quick else options.requests
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}, {requests} requests per measurement"
    )
    rows: list[tuple[int, str, Measured]] = []
    with tempfile.TemporaryDirectory(prefix="mm-limits-bench-") as scratch:
        cpu_rows = []
        for number, (name, engine) in enumerate(engines):
            home = Path(scratch) / f"home-{number}"
            build_app(load_settings(home, environment(home, 0, engine))).close()
            cpu_rows.append((name, in_process(home, engine)))
        cpu_table(cpu_rows)
        print(f"load average {os.getloadavg()[0]:.1f} at the end of the CPU comparison")
        home = Path(scratch) / f"home-{len(engines) - 1}"
        engine = engines[-1][1]
        if options.cpu_only:
            return
        for workers in (1, 2):
            args = ["--workers", str(workers), "--no-jobs"]
            for _ in range(2):
                for mode, limits in MODES.items():
                    with server(home, args, 0, {**limits, **engine}) as base:

                        def client(base: str = base) -> object:
                            return httpx.Client(base_url=base, timeout=60)

                        for clients in (16, 64):
                            measured = timed(
                                f"{mode}",
                                clients,
                                requests,
                                http_get(f"/api/v1/movies/{STORED_SLUG}"),
                                client,
                            )
                            rows.append((workers, mode, measured))
    print(f"\n{'processes':>9}{'clients':>8}{'limiter':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for workers, mode, row in rows:
        print(
            f"{workers:>9}{row.clients:>8}{mode:>8}{row.per_second:>9.0f}"
            f"{row.p50_ms:>9.2f}{row.p99_ms:>9.2f}"
        )
    print("\nlimiter on / off (req/s, both rounds summed):")
    for workers in (1, 2):
        for clients in (16, 64):
            totals = {
                mode: sum(
                    row.per_second
                    for w, m, row in rows
                    if w == workers and m == mode and row.clients == clients
                )
                for mode in MODES
            }
            ratio = totals["on"] / totals["off"]
            print(
                f"  {workers} process(es), {clients:>2} clients: "
                f"off {totals['off'] / 2:.0f} req/s, on {totals['on'] / 2:.0f} req/s, "
                f"ratio {ratio:.3f}: {'within' if ratio >= 1 - TARGET else 'NOT within'} 10%"
            )


if __name__ == "__main__":
    main()
