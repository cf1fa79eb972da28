"""Servers of the fault suite's own: PostgreSQL and Redis that these tests kill and restart.

They are started by ``scripts/services.sh`` with a scratch folder and ports
found free at run time (never the suite's shared servers), with durable
settings (``MOVIEMIND_SERVICES_DURABLE=1``: fsync and synchronous_commit on),
and stopped at the end of the session (each test has a schema and key prefix
of its own). Without PostgreSQL and Redis installable here the suite is
skipped, unless ``MOVIEMIND_REQUIRE_SERVICES=1`` (CI), where it fails instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import load_settings
from tests.engines import REQUIRED
from tests.helpers import count, wait_until

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "scripts" / "services.sh"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class FaultServers:
    """A PostgreSQL and a Redis of this suite's own, and the faults it can inflict on them."""

    folder: Path
    pg_port: int
    redis_port: int

    def env(self) -> dict[str, str]:
        """What ``scripts/services.sh`` reads to find (or start) these servers."""
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("MOVIEMIND_")},
            "MOVIEMIND_PG_PORT": str(self.pg_port),
            "MOVIEMIND_REDIS_PORT": str(self.redis_port),
            "MOVIEMIND_SERVICES_DIR": str(self.folder),
            "MOVIEMIND_SERVICES_DURABLE": "1",
        }

    def services(self, command: str) -> None:
        """``scripts/services.sh COMMAND`` for these servers (start also restarts a dead one)."""
        subprocess.run(
            ["bash", str(SERVICES), command],
            env=self.env(),
            check=True,
            timeout=120,
            capture_output=True,
        )

    def urls(self) -> dict[str, str]:
        """A fresh schema and key prefix on these servers, as the settings' variables."""
        name = f"f_{uuid.uuid4().hex[:10]}"
        return {
            "MOVIEMIND_DATABASE_URL": (
                f"postgresql://postgres@127.0.0.1:{self.pg_port}/moviemind?schema={name}"
            ),
            "MOVIEMIND_LOCKS_URL": f"redis://127.0.0.1:{self.redis_port}/0?prefix={name}",
        }

    def kill_redis(self) -> None:
        """kill -9 of Redis: every key is gone (it keeps nothing on disk)."""
        pid = int((self.folder / "redis.pid").read_text())
        os.kill(pid, signal.SIGKILL)

    def redis_pids(self) -> list[int]:
        """Redis's one process."""
        return [int((self.folder / "redis.pid").read_text())]

    def postgres_pids(self) -> list[int]:
        """PostgreSQL's postmaster and every backend and helper it started."""
        postmaster = int((self.folder / "pg" / "data" / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(postmaster)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        return [postmaster, *(int(pid) for pid in children)]

    @contextmanager
    def frozen(self, engine: str) -> Iterator[None]:
        """SIGSTOP of ``engine`` ("redis" or "postgres") for the block, SIGCONT after it.

        A stopped server keeps its sockets open and the kernel acknowledges
        what is sent to it: a client sees silence, not an error.
        """
        pids = self.redis_pids() if engine == "redis" else self.postgres_pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    def stop_postgres_immediately(self) -> None:
        """``pg_ctl stop -m immediate``: a crash, as far as the data is concerned."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def _pg_ctl(self, *args: str) -> None:
        binary = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
        command = [str(binary), "-D", str(self.folder / "pg" / "data"), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, timeout=60, capture_output=True)


@pytest.fixture(scope="session")
def fault_servers() -> Iterator[FaultServers]:
    installed = shutil.which("redis-server") and list(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")
    )
    if not installed and not REQUIRED:
        pytest.skip("PostgreSQL and Redis are not installed (scripts/services.sh installs them)")
    folder = Path(tempfile.mkdtemp(prefix="moviemind-faults."))
    servers = FaultServers(folder, free_port(), free_port())
    try:
        servers.services("start")
        yield servers
    finally:
        servers.services("stop")


@pytest.fixture
def urls(fault_servers: FaultServers, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    chosen = fault_servers.urls()
    for name, value in chosen.items():
        monkeypatch.setenv(name, value)
    return chosen


def open_app(home: Path) -> App:
    return build_app(load_settings(home))


def until_jobs_done(app: App, at_least: int) -> None:
    """Wait (bounded) until the worker has finished ``at_least`` jobs."""
    wait_until(
        lambda: count(app.database, "SELECT count(*) FROM jobs WHERE status = 'DONE'") >= at_least,
        timeout_s=60,
        what=f"the worker to finish {at_least} jobs",
    )


def until_a_call_runs(app: App) -> None:
    """Wait (bounded) until one AI call has started and not ended."""
    wait_until(
        lambda: count(app.database, "SELECT count(*) FROM ai_calls WHERE state = 'running'") == 1,
        timeout_s=60,
        what="an AI call to start",
    )


def jobs_per_slug(app: App) -> dict[str, int]:
    rows = app.database.query("SELECT slug, count(*) FROM jobs GROUP BY slug")
    return {row[0]: int(row[1]) for row in rows}


def texts_per_slug(app: App) -> dict[str, int]:
    """Texts per slug of the movies the jobs wrote (the sample catalog left aside)."""
    rows = app.database.query(
        "SELECT m.slug, count(d.id) FROM movies m JOIN descriptions d ON d.movie_id = m.id "
        "WHERE m.slug IN (SELECT slug FROM jobs) GROUP BY m.slug"
    )
    return {row[0]: int(row[1]) for row in rows}


def worker_process(home: Path, urls: dict[str, str], **variables: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIEMIND_")}
    env.update(urls, MOVIEMIND_HOME=str(home), **variables)
    return subprocess.Popen(
        [sys.executable, "-m", "moviemind_lite", "worker", "--threads", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env=env,
    )
