"""Readiness: can this process use its database and its lock server right now?

``GET /api/v1/health`` stays the cheap liveness answer; readiness asks each
engine one trivial question (the database ``SELECT 1``, the lock server a
slot look-up) with a short bound, in a thread of its own so that a stalled
engine (a server stopped with SIGSTOP answers nothing, and no socket
timeout fires) costs the caller the bound, never the stall. ``GET
/api/v1/health/ready`` and ``moviemind doctor`` report the same states.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from moviemind_lite.core.config import Settings
from moviemind_lite.core.errors import MovieMindError
from moviemind_lite.store.db import Database, open_database
from moviemind_lite.store.locking import Locks, open_locks

# How long a readiness probe waits for an engine's answer.
PROBE_TIMEOUT_S = 2.0

_ENGINE_NAMES = {
    "sqlite": "SQLite",
    "postgresql": "PostgreSQL",
    "file": "lock files",
    "redis": "Redis",
}
_FIXES = {
    "database": (
        "check that the database server runs and MOVIEMIND_DATABASE_URL (or --database-url) "
        "names it; for SQLite, that the home folder is writable and its disk has room"
    ),
    "locks": (
        "check that the lock server runs and MOVIEMIND_LOCKS_URL (or --locks-url) names it; "
        "requests still get one job per key from the database meanwhile, but wait longer"
    ),
}


@dataclass(frozen=True)
class EngineState:
    """One engine as a probe found it."""

    role: str
    """``database`` or ``locks``."""
    engine: str
    where: str
    ok: bool
    latency_ms: float | None
    error: str | None = None

    @property
    def fix(self) -> str | None:
        """What to do about a failed engine (``None`` when it is fine)."""
        return None if self.ok else _FIXES[self.role]

    def to_json(self) -> dict[str, object]:
        """The state as ``/health/ready`` and ``doctor --json`` show it."""
        return {
            "engine": self.engine,
            "where": self.where,
            "status": "ok" if self.ok else "error",
            "latency_ms": self.latency_ms,
            "error": self.error,
        }


def _probe(
    role: str, engine: str, where: str, ask: Callable[[], object], timeout_s: float
) -> EngineState:
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            ask()
            outcome.append(None)
        except MovieMindError as error:
            outcome.append(error)

    started = time.monotonic()
    thread = threading.Thread(target=run, name=f"ready-{role}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    latency = round((time.monotonic() - started) * 1000, 1)
    if not outcome:
        stalled = f"{engine} at {where} did not answer within {timeout_s:g} s"
        return EngineState(role, engine, where, False, None, stalled)
    failure = outcome[0]
    if failure is not None:
        return EngineState(role, engine, where, False, latency, str(failure))
    return EngineState(role, engine, where, True, latency)


def check_ready(
    database: Database, locks: Locks, locks_where: str, timeout_s: float = PROBE_TIMEOUT_S
) -> list[EngineState]:
    """The database's and the lock server's states, each probed within ``timeout_s``."""
    return [
        *check_database(database, timeout_s),
        _probe(
            "locks",
            _ENGINE_NAMES[locks.engine],
            locks_where,
            lambda: locks.slots.holder_id("moviemind-readiness-probe"),
            timeout_s,
        ),
    ]


def diagnose(settings: Settings, timeout_s: float = PROBE_TIMEOUT_S) -> list[EngineState]:
    """The engines ``settings`` name, opened and probed as ``moviemind doctor`` does.

    Nothing is created or migrated: a down engine is a state, not an error.
    """
    database_engine = _ENGINE_NAMES[settings.database.engine]
    locks_engine = _ENGINE_NAMES[settings.locks.engine]
    locks_where = str(settings.locks)
    try:
        database = open_database(
            settings.database, settings.busy_timeout_ms, settings.engine_wait_ms
        )
    except MovieMindError as error:
        where = settings.database_shown
        return [
            EngineState("database", database_engine, where, False, None, str(error)),
            EngineState(
                "locks", locks_engine, locks_where, False, None, "not checked: no database"
            ),
        ]
    try:
        try:
            locks = open_locks(
                settings.locks,
                database,
                settings.jobs.lease_ms,
                engine_wait_ms=settings.engine_wait_ms,
            )
        except MovieMindError as error:
            (state,) = check_database(database, timeout_s)
            return [state, EngineState("locks", locks_engine, locks_where, False, None, str(error))]
        try:
            return check_ready(database, locks, locks_where, timeout_s)
        finally:
            locks.close()
    finally:
        database.close()


def check_database(database: Database, timeout_s: float = PROBE_TIMEOUT_S) -> list[EngineState]:
    """The database's state alone."""
    return [
        _probe(
            "database",
            _ENGINE_NAMES[database.dialect.name],
            database.description,
            lambda: database.query_one("SELECT 1"),
            timeout_s,
        )
    ]
