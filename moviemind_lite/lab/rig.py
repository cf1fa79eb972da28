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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from moviemind_lite.ai.generator import CallRecord, make_generator
from moviemind_lite.config import AISettings, JobSettings, Settings
from moviemind_lite.jobs.body import JobEnvironment, PhaseObserver
from moviemind_lite.jobs.runner import JobRunner
from moviemind_lite.jobs.store import JobStore
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.timeline import KILLED, PAUSED, PERSISTING
from moviemind_lite.logs import ROOT_LOGGER, configure_logging
from moviemind_lite.services import prepare_home
from moviemind_lite.store.db import Database
from moviemind_lite.store.migrations import migrate
from moviemind_lite.strategies import Strategy, StrategyContext, StrategyOptions, make_strategy

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


@contextmanager
def scratch_logging(log_path: Path) -> Iterator[None]:
    """Send MovieMind's log to the scratch home for the block, then put things back."""
    logger = logging.getLogger(ROOT_LOGGER)
    saved = (list(logger.handlers), logger.level, logger.propagate)
    configure_logging(log_path)
    try:
        yield
    finally:
        for handler in logger.handlers:
            if handler not in saved[0]:
                handler.close()
        logger.handlers[:] = saved[0]
        logger.setLevel(saved[1])
        logger.propagate = saved[2]


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
