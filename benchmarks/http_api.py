"""HTTP API throughput and latency: ``moviemind serve`` beside the same calls in-process.

    .venv/bin/python benchmarks/http_api.py                 # the full run (about a minute)
    .venv/bin/python benchmarks/http_api.py --quick         # fewer requests
    .venv/bin/python benchmarks/http_api.py --workers 2     # two server processes on one port

A live ``moviemind serve`` runs in a subprocess over a scratch home (the
sample catalog), on a loopback socket bound here and handed over with
``--fd``. Clients are threads of this process, each with its own keep-alive
``httpx.Client``. Measured, at 1, 16 and 64 concurrent clients:

- ``GET /api/v1/movies/{stored-slug}`` (a stored movie with two descriptions
  and four credits), and beside it the same use case and JSON shaping called
  in-process (``app.api.show`` + ``shapes.show_body``) from as many threads;
- ``GET /api/v1/jobs/{id}`` (a finished job), beside ``app.api.job`` +
  ``shapes.job_body`` in-process.

The ratio in-process / HTTP is the cost of HTTP (uvicorn, h11, Starlette, the
thread pool, the client) per request. Then a burst: 1000 ``GET
/api/v1/movies/{unknown-slug}`` over 100 new slugs, released together from 64
client threads, against a server running jobs on ``--threads`` threads with a
mock AI of fixed latency; its wall time (first request to the last slug
stored) beside the ideal ``ceil(slugs / threads) x AI latency``. Everything
stays on 127.0.0.1 and ends by itself.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import load_settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.http import shapes

STORED_SLUG = "the-matrix-1999"
CONCURRENCY = (1, 16, 64)


@dataclass(frozen=True)
class Measured:
    """Requests (or calls) per second and latency percentiles of one run."""

    label: str
    clients: int
    count: int
    per_second: float
    p50_ms: float
    p99_ms: float


# Every client here is 127.0.0.1: the per-client rate limits and AI budget are set far above
# what a run sends (benchmarks/rate_limits.py measures what they cost).
UNLIMITED = {
    "MOVIEMIND_RATE_LIMIT_SHOW": "1000000",
    "MOVIEMIND_RATE_LIMIT_SEARCH": "1000000",
    "MOVIEMIND_RATE_LIMIT_GENERATE": "1000000",
    "MOVIEMIND_AI_BUDGET_CLIENT": "0",
    "MOVIEMIND_AI_BUDGET_SERVICE": "0",
    "MOVIEMIND_MAX_PENDING_JOBS": "0",
}


def environment(
    home: Path, ai_latency_ms: float, limits: dict[str, str] | None = None
) -> dict[str, str]:
    """A server's environment: the scratch home, a fixed-latency mock AI, the limits."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MOVIEMIND_")}
    env.update(
        MOVIEMIND_HOME=str(home),
        MOVIEMIND_AI_LATENCY_MS=str(ai_latency_ms),
        MOVIEMIND_AI_JITTER_MS="0",
        MOVIEMIND_ENV="local",
    )
    env.update(UNLIMITED if limits is None else limits)
    return env


@contextmanager
def server(
    home: Path, args: list[str], ai_latency_ms: float, limits: dict[str, str] | None = None
) -> Iterator[str]:
    """``moviemind serve`` on a loopback socket bound here; its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    command = [sys.executable, "-m", "moviemind_lite", "serve", "--fd", str(listener.fileno())]
    process = subprocess.Popen(
        [*command, *args],
        pass_fds=(listener.fileno(),),
        env=environment(home, ai_latency_ms, limits),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    listener.close()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def timed(
    label: str,
    clients: int,
    count: int,
    call: Callable[[object], None],
    make_state: Callable[[], object],
) -> Measured:
    """Run ``count`` calls from ``clients`` threads released together; time each one."""
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    share = [count // clients + (1 if index < count % clients else 0) for index in range(clients)]

    def work(calls: int) -> None:
        state = make_state()
        mine = []
        barrier.wait()
        for _ in range(calls):
            started = time.perf_counter()
            call(state)
            mine.append(time.perf_counter() - started)
        close = getattr(state, "close", None)
        if close is not None:
            close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(calls,)) for calls in share]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return Measured(
        label,
        clients,
        count,
        count / wall,
        statistics.median(latencies) * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    )


def http_get(url: str) -> Callable[[object], None]:
    """A call that GETs ``url`` with the thread's client and insists on a 200."""

    def call(client: object) -> None:
        assert isinstance(client, httpx.Client)
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code}")

    return call


def no_state() -> object:
    return None


def measure(app: App, base: str, job_id: str, requests: int) -> list[Measured]:
    """Stored show and job status, over HTTP and in-process, at each concurrency."""
    rows = []

    def client() -> object:
        return httpx.Client(base_url=base, timeout=60)

    def show_in_process(_: object) -> None:
        answer = app.api.show(MOVIE, STORED_SLUG)
        assert not isinstance(answer, shapes.Queued)
        shapes.show_body(base, answer, None)

    def job_in_process(_: object) -> None:
        shapes.job_body(app.api.job(job_id))

    for clients in CONCURRENCY:
        count = max(requests // (4 if clients == 1 else 1), clients * 10)
        rows.append(
            timed(
                "GET movie, HTTP", clients, count, http_get(f"/api/v1/movies/{STORED_SLUG}"), client
            )
        )
        rows.append(timed("GET movie, in-process", clients, count, show_in_process, no_state))
        rows.append(
            timed("GET job, HTTP", clients, count, http_get(f"/api/v1/jobs/{job_id}"), client)
        )
        rows.append(timed("GET job, in-process", clients, count, job_in_process, no_state))
    return rows


def burst(
    home: Path,
    args: list[str],
    ai_latency_ms: float,
    threads: int,
    processes: int,
    slugs: int,
    requests: int,
) -> tuple[float, float, int]:
    """Wall time of ``requests`` GETs over ``slugs`` new slugs until all are stored; the ideal."""
    names = [f"burst-{index:03d}-{time.monotonic_ns() % 10**6}-2020" for index in range(slugs)]
    with server(home, [*args, "--threads", str(threads)], ai_latency_ms) as base:
        paths = [f"/api/v1/movies/{names[index % slugs]}" for index in range(requests)]
        barrier = threading.Barrier(65)

        def send(chunk: list[str]) -> None:
            with httpx.Client(base_url=base, timeout=120) as client:
                barrier.wait()
                for path in chunk:
                    if client.get(path).status_code not in (200, 202):
                        raise SystemExit(f"{path}: unexpected status")

        chunks = [paths[index::64] for index in range(64)]
        with ThreadPoolExecutor(64) as pool:
            futures = [pool.submit(send, chunk) for chunk in chunks]
            barrier.wait()
            started = time.perf_counter()
            for future in futures:
                future.result()
        app = build_app(load_settings(home, environment(home, ai_latency_ms)))
        try:
            while True:
                stored = sum(1 for name in names if app.api.stored(MOVIE, name))
                if stored == slugs:
                    break
                time.sleep(0.01)
            wall = time.perf_counter() - started
            calls = sum(app.calls.counts().get(f"movie:{name}:en-US:default", 0) for name in names)
        finally:
            app.close()
    ideal = math.ceil(slugs / (threads * processes)) * ai_latency_ms / 1000
    return wall, ideal, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--threads", type=int, default=16, help="job threads per server (burst)")
    parser.add_argument(
        "--ai-latency-ms", type=float, default=200.0, help="mock AI latency (burst)"
    )
    parser.add_argument("--quick", action="store_true", help="a quarter of the requests")
    options = parser.parse_args()
    requests = options.requests // 4 if options.quick else options.requests
    args = ["--workers", str(options.workers)]
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"server --workers {options.workers}, load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="mm-http-bench-") as scratch:
        home = Path(scratch) / "home"
        app = build_app(load_settings(home, environment(home, 0)))
        try:
            job_id = app.generation.request(MOVIE, "benchmark-movie-2020").job
            assert job_id is not None
            with server(home, [*args, "--no-jobs"], 0) as base:
                rows = measure(app, base, job_id.id, requests)
        finally:
            app.close()
        print(
            f"\n{'measurement':<24}{'clients':>8}{'requests':>10}{'req/s':>10}"
            f"{'p50 ms':>9}{'p99 ms':>9}"
        )
        for row in rows:
            print(
                f"{row.label:<24}{row.clients:>8}{row.count:>10}{row.per_second:>10.0f}"
                f"{row.p50_ms:>9.2f}{row.p99_ms:>9.2f}"
            )
        print("\nHTTP overhead (in-process calls/s per HTTP request/s):")
        for index in range(0, len(rows), 2):
            http, inproc = rows[index], rows[index + 1]
            print(
                f"  {http.label.split(',')[0]:<10} {http.clients:>3} clients: "
                f"{inproc.per_second / http.per_second:.1f}x"
            )
        burst_home = Path(scratch) / "burst"
        build_app(load_settings(burst_home, environment(burst_home, 0))).close()
        wall, ideal, calls = burst(
            burst_home, args, options.ai_latency_ms, options.threads, options.workers, 100, 1000
        )
        print(
            f"\nburst: 1000 requests for 100 new slugs, {options.threads} job threads x "
            f"{options.workers} process(es), AI {options.ai_latency_ms:g} ms: "
            f"{wall:.2f} s; ideal ceil(100/{options.threads * options.workers}) x "
            f"{options.ai_latency_ms:g} ms = {ideal:.2f} s "
            f"(ratio {wall / ideal:.2f}); AI calls {calls}"
        )


if __name__ == "__main__":
    main()
