"""Servers for the HTTP tests: in-process (Starlette's TestClient) and live (a real process).

A live server is ``moviemind serve`` itself, run as a subprocess on a socket
this process binds first and hands over (``--fd``): no port is ever picked and
then raced for. Its readiness is ``GET /api/v1/health`` answering 200; it is
stopped by its PID, and its output is kept in a file to show when a test fails.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.core.config import load_settings
from moviemind_lite.core.model import Job

START_DEADLINE_S = 30.0
STOP_DEADLINE_S = 15.0


def server_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a server on ``home``: no stray MOVIEMIND_*, an instant mock AI."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MOVIEMIND_")}
    env.update(
        MOVIEMIND_HOME=str(home),
        MOVIEMIND_AI_LATENCY_MS="0",
        MOVIEMIND_AI_JITTER_MS="0",
        MOVIEMIND_ENV="local",
        # Limits on (every answer carries their headers) but far above what a test sends;
        # tests/http/test_limits.py sets its own.
        MOVIEMIND_RATE_LIMIT_SHOW="1000000",
        MOVIEMIND_RATE_LIMIT_SEARCH="1000000",
        MOVIEMIND_RATE_LIMIT_GENERATE="1000000",
    )
    env.update(extra or {})
    return env


def open_app(
    home: Path, extra: Mapping[str, str] | None = None, clock: Clock = SYSTEM_CLOCK
) -> App:
    """An application over ``home`` with the same settings a server there would read."""
    env = server_env(home, extra)
    return build_app(load_settings(home, env), clock=clock)


class LiveServer:
    """A ``moviemind serve`` process listening on a socket bound here."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.process = process
        self.url = url
        self.log_path = log_path

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's own output (uvicorn's messages, tracebacks)."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down, jobs finish), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def live_server(
    home: Path, *args: str, env: Mapping[str, str] | None = None, fd_limit: int | None = None
) -> Iterator[LiveServer]:
    """Run ``moviemind --home HOME serve --fd N ARGS`` until the block ends (with at most
    ``fd_limit`` open files, as ``ulimit -n`` would set)."""
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / f"server-{time.monotonic_ns()}.out"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    port = listener.getsockname()[1]
    command = [sys.executable, "-m", "moviemind_lite", "--home", str(home), "serve"]
    command += ["--fd", str(listener.fileno()), *args]
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            command,
            pass_fds=(listener.fileno(),),
            env=server_env(home, env),
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=None if fd_limit is None else lambda: _limit_files(fd_limit),
        )
    listener.close()  # the server holds its own copy
    server = LiveServer(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        server.stop()


def _limit_files(limit: int) -> None:
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    )


def wait_until_healthy(server: LiveServer) -> None:
    """Poll ``/api/v1/health`` until it answers 200; fail with the server's output if not."""
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited at start:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling a real server process (bounded by a deadline)
    raise AssertionError(f"server not healthy after {START_DEADLINE_S:g} s:\n{server.log_tail()}")


def drain_jobs(app: App) -> list[Job]:
    """Run every job that is ready now, here, until none is left; the jobs as they ended."""
    return [run.ended for run in app.jobs.work(threads=1, once=True) if run.ended is not None]
