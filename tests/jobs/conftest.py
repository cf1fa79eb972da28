"""Helpers for the pipeline tests: real ``moviemind`` processes and row counts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from moviemind_lite.core.domain import EntityKind
from moviemind_lite.store.db import Database

REPO = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def processes(home: Path) -> Iterator[Processes]:
    """Runs real ``moviemind`` processes on the test's home."""
    started = Processes(home)
    try:
        yield started
    finally:
        started.kill_leftovers()


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` every 10 ms; fail the test if it stays false for ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


def count(database: Database, sql: str, params: tuple[object, ...] = ()) -> int:
    """The single number a ``SELECT count(*) ...`` returns."""
    row = database.query_one(sql, params)
    assert row is not None
    return int(row[0])


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
