"""A race's scratch home, its settings, its log, and how its jobs' phases are heard.

A race never touches the user's catalog: it makes a temporary home (and, on
PostgreSQL or Redis, a schema and a key prefix of its own on the servers the
user's URLs name, dropped afterwards), applies the real migrations there, and
builds the application over it with
:func:`~moviemind_lite.app.wiring.build_app`, the composition root every front
end uses, once in the racing process and once in each worker process. Only the
settings differ: the scenario's strategy, mock-AI knobs and faults (the first
job to finish its AI call is the "holder" the mock stalls or kills before it
writes).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from moviemind_lite.app.home import open_home_database
from moviemind_lite.core.config import (
    AISettings,
    JobSettings,
    ServiceUrl,
    Settings,
    local_model_name,
)
from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.core.logs import ROOT_LOGGER, JsonLogHandler
from moviemind_lite.lab.scenario import Backend, LockKind, Scenario
from moviemind_lite.store import db, locking
from moviemind_lite.store.migrations import drop_unique_indexes

_FAULT_MARKER = "holder-fault-used"
# The longest text a race asks a real model for.
LAB_ANSWER_CHARS = 300


@dataclass(frozen=True)
class Servers:
    """The PostgreSQL and Redis servers races may use: the user's database and locks URLs."""

    database_url: ServiceUrl | None = None
    locks_url: ServiceUrl | None = None
    # The user's local model file (MOVIEMIND_AI_MODEL_PATH), for races with --ai local.
    ai_model_path: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Servers:
        """The servers ``settings`` name (none: SQLite and lock files only)."""
        database = settings.database_url
        locks = settings.locks_url
        return cls(
            database if database is not None and database.engine == "postgresql" else None,
            locks if locks is not None and locks.engine == "redis" else None,
            settings.ai.model_path,
        )

    @property
    def backend(self) -> Backend:
        """The backend a race runs on unless told otherwise: the one the user chose."""
        return "postgres" if self.database_url is not None else "sqlite"

    @property
    def locks(self) -> LockKind:
        """The locks a race uses unless told otherwise: the ones the user chose."""
        return "redis" if self.locks_url is not None else "file"


@dataclass(frozen=True)
class ScratchServers:
    """One race's schema and key prefix on the servers (``None``: the scratch home's)."""

    database_url: ServiceUrl | None
    locks_url: ServiceUrl | None


@contextmanager
def scratch_servers(
    servers: Servers | None,
    backend: Backend,
    locks: LockKind,
    *,
    keep: bool = False,
) -> Iterator[ScratchServers]:
    """A new schema and key prefix for a run on PostgreSQL or Redis; dropped afterwards
    unless ``keep``."""
    servers = servers or Servers()
    name = f"lab_{uuid.uuid4().hex[:12]}"
    database_url = locks_url = None
    if backend == "postgres":
        if servers.database_url is None:
            raise InvalidInput(
                "--backend postgres needs a PostgreSQL server: set MOVIEMIND_DATABASE_URL "
                "(or --database-url) to postgresql://..."
            )
        database_url = servers.database_url.within(name)
    if locks == "redis":
        if servers.locks_url is None:
            raise InvalidInput(
                "--locks redis needs a Redis server: set MOVIEMIND_LOCKS_URL "
                "(or --locks-url) to redis://..."
            )
        locks_url = servers.locks_url.within(name)
    try:
        yield ScratchServers(database_url, locks_url)
    finally:
        if not keep:
            if database_url is not None:
                db.discard_namespace(database_url)
            if locks_url is not None:
                locking.discard_namespace(locks_url)


def lab_settings(
    home: Path, scenario: Scenario, strategy: str, servers: ScratchServers | None = None
) -> Settings:
    """Settings for a race: the scenario's AI and faults, quick retries, a patient database,
    on the race's scratch servers if it has any."""
    # A killed holder's job is taken back once its lease runs out, so in
    # processes mode the lease is kept short (but well above one job's length).
    killable = scenario.mode == "processes" and scenario.ai == "mock"
    lease_ms = 1_000 + 4 * scenario.slowest_job_ms if killable else 600_000
    return Settings(
        home=home,
        # for-update queues every writer behind the AI call; the lab wants to
        # show that queue, not turn it into "database is locked" errors.
        busy_timeout_ms=600_000,
        ai=AISettings(
            latency_ms=scenario.latency_ms,
            jitter_ms=scenario.jitter_ms,
            fail_rate=scenario.fail_rate,
            seed=scenario.seed,
            # An open circuit defers jobs until its cool-down has passed: a
            # race's cool-down is a few AI calls long, not production's 10 s.
            breaker_cooldown_ms=max(100.0, 4 * scenario.slowest_job_ms),
            holder_fault=holder_fault(scenario),
            holder_pause_ms=scenario.pause_holder_ms or scenario.stop_holder_ms,
            holder_marker=str(home / _FAULT_MARKER),
            **real_model(scenario),  # type: ignore[arg-type]
        ),
        jobs=JobSettings(
            lease_ms=lease_ms,
            backoff_ms=20.0,
            poll_ms=5.0,
            strategy=strategy,
            setnx_lease_ms=scenario.ttl_ms,
            slot_ttl_ms=scenario.slot_ttl_ms,
            fencing=scenario.fencing,
            # No UNIQUE index means no database guard at all: none at dispatch either.
            job_guard=scenario.unique_index,
        ),
        database_url=servers.database_url if servers else None,
        locks_url=servers.locks_url if servers else None,
    )


def holder_fault(scenario: Scenario) -> str:
    """The fault the mock AI plays on the key's first holder: kill, stop, pause or none."""
    if scenario.kill_holder:
        return "kill"
    if scenario.stop_holder_ms > 0:
        return "stop"
    return "pause" if scenario.pause_holder_ms > 0 else "none"


def real_model(scenario: Scenario) -> dict[str, object]:
    """The AI settings of a race on a real model (none for the mock)."""
    if scenario.ai != "local":
        return {}
    return {
        "backend": "local",
        "model": local_model_name(scenario.ai_model_path),
        "model_path": scenario.ai_model_path,
        # Short texts: the race is about what the call's time does, not the prose.
        "answer_max_chars": LAB_ANSWER_CHARS,
    }


@contextmanager
def scratch_home(keep: bool) -> Iterator[Path]:
    """A new temporary home folder, deleted afterwards unless ``keep``."""
    home = Path(tempfile.mkdtemp(prefix="moviemind-lab-"))
    try:
        yield home
    finally:
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


class RaceThreads(logging.Filter):
    """The threads working for one race: their log records, and only theirs, are the race's.

    A thread joins with :meth:`add_current_thread`. Threads are remembered as
    objects, not just idents: once a member has died, a new thread that is
    given its ident is not taken for a member.
    """

    def __init__(self) -> None:
        super().__init__()
        self._members: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()

    def add_current_thread(self) -> None:
        """The calling thread works for the race from now on."""
        thread = threading.current_thread()
        with self._lock:
            self._members[threading.get_ident()] = thread

    def remove_current_thread(self) -> None:
        """The calling thread no longer works for the race."""
        with self._lock:
            self._members.pop(threading.get_ident(), None)

    def includes(self, ident: int | None) -> bool:
        """Whether the (live) thread ``ident`` works for the race."""
        thread = self._members.get(ident) if ident is not None else None
        return thread is not None and thread.is_alive()

    def filter(self, record: logging.LogRecord) -> bool:
        """Let through the records logged by the race's threads."""
        return self.includes(record.thread)

    def outsiders(self) -> logging.Filter:
        """A filter letting through everyone else's records."""
        return _Outsiders(self)

    def clear(self) -> None:
        """The race is over: no thread works for it any more."""
        with self._lock:
            self._members.clear()


class _Outsiders(logging.Filter):
    def __init__(self, race: RaceThreads) -> None:
        super().__init__()
        self.race = race

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.race.includes(record.thread)


class _RaceLogHandler(JsonLogHandler):
    """A race's scratch log: told apart from the handlers it must leave alone."""


@contextmanager
def scratch_logging(log_path: Path) -> Iterator[RaceThreads]:
    """Send the race's log records to ``log_path`` for the block, and nobody else's.

    The records of the threads in the :class:`RaceThreads` yielded (the
    calling thread, and the threads the race adds) go to the scratch log and
    are kept out of the handlers already there; every other thread's records
    go where they went before. An app that runs a race in a worker thread
    keeps its own log whole, and the race's lines stay in the scratch home.
    """
    logger = logging.getLogger(ROOT_LOGGER)
    level, propagate = logger.level, logger.propagate
    race = RaceThreads()
    race.add_current_thread()
    outsiders = race.outsiders()
    handler = _RaceLogHandler(log_path)
    handler.addFilter(race)
    kept = [other for other in logger.handlers if not isinstance(other, _RaceLogHandler)]
    for other in kept:
        other.addFilter(outsiders)
    # First in the list: opening the home inside the race (the flag lessons)
    # finds its log already configured there and leaves the others alone.
    logger.handlers = [handler, *logger.handlers]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield race
    finally:
        logger.handlers = [other for other in logger.handlers if other is not handler]
        for other in kept:
            other.removeFilter(outsiders)
            if other not in logger.handlers:
                logger.addHandler(other)  # something in the race replaced it
        handler.close()
        race.clear()
        logger.setLevel(level)
        logger.propagate = propagate


def prepare_scratch(settings: Settings, scenario: Scenario) -> None:
    """Create the scratch home's folders and schema (without the UNIQUE indexes if asked)."""
    database, _ = open_home_database(settings, load_sample=False)
    try:
        if not scenario.unique_index:
            drop_unique_indexes(database)
    finally:
        database.close()
