"""Helpers shared by the tests: real ``moviemind`` processes, waiting on a state, row counts."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from moviemind_lite.app.wiring import App
from moviemind_lite.core.calls import AICall
from moviemind_lite.core.domain import EntityKind
from moviemind_lite.core.ids import format_timestamp
from moviemind_lite.core.model import JobRequest
from moviemind_lite.store.db import Database

REPO = Path(__file__).resolve().parents[1]

T = TypeVar("T")


class Processes:
    """Starts ``python -m moviemind_lite --home HOME ...`` and kills leftovers at the end."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.started: list[subprocess.Popen[str]] = []

    def env(self, **variables: str | float) -> dict[str, str]:
        """The test's environment (MOVIEMIND_* already cleared) plus ``variables``."""
        env = {name: value for name, value in os.environ.items() if name != "MOVIEMIND_HOME"}
        env.update({name: str(value) for name, value in variables.items()})
        return env

    def start(self, *args: str, **variables: str | float) -> subprocess.Popen[str]:
        """Start one command without waiting for it; stderr goes to stdout."""
        process = subprocess.Popen(
            [sys.executable, "-m", "moviemind_lite", "--home", str(self.home), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env=self.env(**variables),
        )
        self.started.append(process)
        return process

    def run(self, *args: str, **variables: str | float) -> tuple[int, str]:
        """Run one command to its end; its exit code and output."""
        process = self.start(*args, **variables)
        output, _ = process.communicate(timeout=45)
        return process.returncode, output

    def kill_leftovers(self) -> None:
        """Kill what a failed test left running (only processes this object started)."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.communicate()


def worker_lines(output: str) -> list[str]:
    """A worker's output lines after the one saying it started (stderr merged in)."""
    first, *rest = output.splitlines()
    assert first.startswith("worker started on "), output
    return rest


def fresh_interpreter(code: str, *args: str) -> tuple[str, set[str]]:
    """What a new interpreter running ``code`` (with ``args`` as ``sys.argv[1:]``) printed,
    and every module it had imported by the end. The one fresh-interpreter probe."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
    ).stdout
    *printed, modules = output.splitlines()
    return "\n".join(printed), set(json.loads(modules))


def top_level(modules: set[str]) -> set[str]:
    """The top-level packages of ``modules`` (``rich`` for ``rich.table``)."""
    return {name.split(".")[0] for name in modules}


def run_in_fresh_interpreter(*args: str) -> tuple[str, set[str]]:
    """What ``moviemind ARGS`` printed in a new interpreter, and every module it had imported."""
    return fresh_interpreter(
        "import sys\nfrom moviemind_lite.cli import cli\n"
        "try:\n    cli.main(sys.argv[1:], standalone_mode=False)\nexcept SystemExit:\n    pass",
        *args,
    )


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` every 10 ms; fail the test if it stays false for ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


# How long a herd's threads may take to reach their starting line, and then to finish.
HERD_DEADLINE_S = 60.0


class Herd:
    """``size`` threads released together from a starting line that has a deadline.

    Each thread calls :meth:`start` where it must wait for the others. A thread that
    fails (before or after the line) breaks the line, so nobody waits for it for ever;
    a thread that never arrives breaks it after ``deadline_s``; the threads are daemons,
    so a hung one cannot keep the interpreter from exiting. :meth:`run` re-raises the
    first failure, or fails the test saying which threads did not arrive or finish.
    """

    def __init__(self, size: int, deadline_s: float = HERD_DEADLINE_S) -> None:
        self.size = size
        self.deadline_s = deadline_s
        self._line = threading.Barrier(size, timeout=deadline_s)
        self._arrived: list[int] = []
        self._lock = threading.Lock()

    def start(self, index: int) -> None:
        """Wait at the starting line until all ``size`` threads are there."""
        with self._lock:
            self._arrived.append(index)
        self._line.wait()

    def run(self, task: Callable[[int], T]) -> list[T]:
        """``task(index)`` on ``size`` threads (each calls :meth:`start` once); the results
        in index order."""
        results: dict[int, T] = {}
        errors: list[tuple[int, BaseException]] = []

        def body(index: int) -> None:
            try:
                results[index] = task(index)
            except BaseException as error:
                errors.append((index, error))
                self._line.abort()

        threads = [
            threading.Thread(target=body, args=(index,), name=f"herd-{index}", daemon=True)
            for index in range(self.size)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 2 * self.deadline_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [thread.name for thread in threads if thread.is_alive()]
        # The first error that is not the broken line itself says what went wrong.
        failures = [e for _, e in errors if not isinstance(e, threading.BrokenBarrierError)]
        if failures:
            raise failures[0]
        missing = sorted(set(range(self.size)) - set(self._arrived))
        if errors or missing:
            pytest.fail(
                f"{len(self._arrived)} of {self.size} threads reached the starting line "
                f"within {self.deadline_s:g} s; never arrived: {missing}"
            )
        if stuck:
            pytest.fail(
                f"{len(stuck)} of {self.size} threads still running "
                f"{2 * self.deadline_s:g} s after they started: {stuck}"
            )
        return [results[index] for index in range(self.size)]


def run_together(
    task: Callable[[int], T], size: int, deadline_s: float = HERD_DEADLINE_S
) -> list[T]:
    """``task(index)`` on ``size`` threads released together (see :class:`Herd`); the
    results in index order."""
    herd = Herd(size, deadline_s)

    def released(index: int) -> T:
        herd.start(index)
        return task(index)

    return herd.run(released)


def count(database: Database, sql: str, params: tuple[object, ...] = ()) -> int:
    """The single number a ``SELECT count(*) ...`` returns."""
    row = database.query_one(sql, params)
    assert row is not None
    return int(row[0])


# The flag and rollout tables, each in the order of its primary key.
FLAG_TABLES = {
    "rollouts": "id",
    "flags": "name, environment",
    "flag_overrides": "name, environment, scope",
    "events": "id",
}


def flag_tables(database: Database) -> list[list[tuple[object, ...]]]:
    """Every row of the flag and rollout tables: what a refused change must leave alone."""
    return [
        [tuple(row) for row in database.query(f"SELECT * FROM {table} ORDER BY {order}")]
        for table, order in FLAG_TABLES.items()
    ]


def entity_rows(database: Database, kind: EntityKind, slug: str) -> tuple[int, int]:
    """How many entities have ``slug`` and how many texts they hold."""
    entities = count(database, f"SELECT count(*) FROM {kind.table} WHERE slug = ?", (slug,))
    texts = count(
        database,
        f"SELECT count(*) FROM {kind.text_table} t JOIN {kind.table} e "
        f"ON t.{kind.entity_fk} = e.id WHERE e.slug = ?",
        (slug,),
    )
    return entities, texts


def insert_finished(
    app: App,
    status: str,
    started_ms: int,
    runtime_ms: int,
    ago_minutes: float,
    error: str | None = None,
) -> None:
    """A job that ended ``ago_minutes`` ago, after waiting and running as long as asked."""
    finished = datetime.now(UTC) - timedelta(minutes=ago_minutes)
    started = finished - timedelta(milliseconds=runtime_ms)
    created = started - timedelta(milliseconds=started_ms)
    with app.database.write() as conn:
        request = JobRequest("movie", "alien-1979", "en-US", "default")
        job = app.job_store.insert(conn, request, "two-level")
        conn.execute(
            "UPDATE jobs SET status = ?, result = ?, error = ?, attempts = 1, created_at = ?, "
            "started_at = ?, finished_at = ? WHERE id = ?",
            (
                status,
                "created" if status == "DONE" else None,
                error,
                format_timestamp(created),
                format_timestamp(started),
                format_timestamp(finished),
                job.id,
            ),
        )


INVALID = ["Bad Slug", "../x", "UPPER", "a--b", "trailing-"]


def write_batch(path: Path, distinct: int = 185, repeats: int = 10) -> Path:
    """A slug file: ``distinct`` slugs, ``repeats`` of them twice, bad lines, a comment."""
    slugs = [f"batch-film-{number}-{1950 + number % 70}" for number in range(distinct)]
    lines = slugs + slugs[:repeats] + INVALID + ["", "# a comment"]
    random.Random(4).shuffle(lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def record_calls(app: App) -> None:
    """Four AI calls: two a server reported tokens for, one mock call, one failed."""
    app.calls.record(AICall("movie:a:en-US:default", True, 5, 120, 80))
    app.calls.record(AICall("movie:b:en-US:default", True, 5, 100, 60))
    app.calls.record(AICall("movie:c:en-US:default", True, 5))
    app.calls.record(AICall("movie:d:en-US:default", False, 5))
