"""The production pieces a race runs on, wired over a scratch home.

A race never touches the user's catalog: it makes a temporary home (database
and lock folder), applies the real migrations, and builds the real job store,
mock generator, strategy and :class:`JobRunner` over it, once in the process
that dispatches and once in each worker process. The scenario's faults strike
through the job body's phase announcements: the first job to finish its AI
call is the "holder" that stalls or is killed before it writes.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from moviemind_lite.ai.generator import make_generator
from moviemind_lite.app.services import prepare_home
from moviemind_lite.core.config import AISettings, JobSettings, Settings
from moviemind_lite.core.logs import ROOT_LOGGER, JsonFormatter
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.timeline import KILLED, PAUSED, PERSISTING
from moviemind_lite.pipeline.body import JobEnvironment, PhaseObserver
from moviemind_lite.pipeline.strategies import (
    Strategy,
    StrategyContext,
    StrategyOptions,
    make_strategy,
)
from moviemind_lite.runtime.runner import JobRunner
from moviemind_lite.store.calls import CallRecord
from moviemind_lite.store.db import Database
from moviemind_lite.store.jobs import JobStore
from moviemind_lite.store.migrations import migrate

# The named UNIQUE indexes --no-unique-index drops: the dedup at persist.
UNIQUE_INDEXES = (
    "movies_unique_slug",
    "people_unique_slug",
    "descriptions_one_baseline",
    "bios_one_baseline",
)
_FAULT_MARKER = "holder-fault-used"


def lab_settings(home: Path, scenario: Scenario, strategy: str) -> Settings:
    """Settings for a race: the scenario's AI, quick retries, a patient database."""
    # A killed holder's job is taken back once its lease runs out, so in
    # processes mode the lease is kept short (but well above one job's length).
    lease_ms = 1_000 + 4 * scenario.slowest_job_ms if scenario.mode == "processes" else 600_000
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
        ),
        jobs=JobSettings(lease_ms=lease_ms, backoff_ms=20.0, poll_ms=5.0, strategy=strategy),
    )


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


class _RaceLogHandler(logging.FileHandler):
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
    handler = _RaceLogHandler(os.fspath(log_path.resolve()), encoding="utf-8", delay=True)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(race)
    kept = [other for other in logger.handlers if not isinstance(other, _RaceLogHandler)]
    for other in kept:
        other.addFilter(outsiders)
    # First in the list: MovieMind.open inside the race (the flag lessons)
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
    prepare_home(settings)
    database = Database(settings.database_path, settings.busy_timeout_ms)
    try:
        migrate(database)
        if not scenario.unique_index:
            with database.write() as conn:
                for index in UNIQUE_INDEXES:
                    conn.execute(f"DROP INDEX IF EXISTS {index}")
    finally:
        database.close()


class HolderFaults:
    """The scenario's faults, striking the first job (of any process) that ends its AI call."""

    def __init__(self, home: Path, scenario: Scenario) -> None:
        self.marker = home / _FAULT_MARKER
        self.pause_ms = scenario.pause_holder_ms
        self.kill = scenario.kill_holder

    def observer(self, record: PhaseObserver) -> PhaseObserver:
        """``record`` every phase; strike the holder when it reaches ``persisting``."""
        if not (self.kill or self.pause_ms > 0):
            return record

        def observe(job_id: str, phase: str) -> None:
            if phase != PERSISTING or not self._first():
                record(job_id, phase)
                return
            if self.kill:
                record(job_id, KILLED)
                os.kill(os.getpid(), signal.SIGKILL)  # nothing runs after this line
            record(job_id, PAUSED)
            time.sleep(self.pause_ms / 1000)
            record(job_id, phase)

        return observe

    def _first(self) -> bool:
        # Creating a file exclusively is atomic across threads and processes.
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True


class Rig:
    """One process's view of a race: database, job store, strategy, runner."""

    def __init__(
        self, home: Path, scenario: Scenario, strategy: str, record: PhaseObserver
    ) -> None:
        self.settings = lab_settings(home, scenario, strategy)
        self.database = Database(self.settings.database_path, self.settings.busy_timeout_ms)
        self.jobs = JobStore(self.database, self.settings.jobs)
        options = StrategyOptions(lease_ttl_ms=scenario.ttl_ms, fencing=scenario.fencing)
        context = StrategyContext(self.database, self.settings.locks_dir, self.jobs, options)
        self.strategy: Strategy = make_strategy(strategy, context)
        generator = make_generator("mock", self.settings.ai, CallRecord(self.database))
        observe = HolderFaults(home, scenario).observer(record)
        env = JobEnvironment(self.database, generator, self.settings.locks_dir, observe)
        self.runner = JobRunner(env, self.jobs, self._strategy_named)

    def _strategy_named(self, name: str) -> Strategy:
        # A scratch home only ever holds jobs of the strategy being raced.
        return self.strategy

    def close(self) -> None:
        """Stop heartbeats and close every connection."""
        self.runner.close()
        self.database.close()
