"""Every test runs against its own home folder; nothing touches ./data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings, load_settings
from moviemind_lite.store.db import Database, open_database
from moviemind_lite.store.migrations import migrate
from tests.engines import BOTH_ENDS, Engines, folded_skip, scratch_servers
from tests.helpers import Processes
from tests.scheduling import spread


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh MOVIEMIND_HOME, with every other MOVIEMIND_* variable cleared."""
    for name in list(os.environ):
        if name.startswith("MOVIEMIND_"):
            monkeypatch.delenv(name)
    folder = tmp_path / "home"
    monkeypatch.setenv("MOVIEMIND_HOME", str(folder))
    # Tests that generate should not wait like a remote model unless they ask to.
    monkeypatch.setenv("MOVIEMIND_AI_LATENCY_MS", "0")
    monkeypatch.setenv("MOVIEMIND_AI_JITTER_MS", "0")
    return folder


@pytest.fixture(params=BOTH_ENDS, ids=lambda engines: engines.id)
def engines(
    request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engines]:
    """The test runs once on SQLite and lock files, once on PostgreSQL and Redis.

    Each run gets its own schema and key prefix (see ``tests/engines.py``),
    named by ``MOVIEMIND_DATABASE_URL`` and ``MOVIEMIND_LOCKS_URL`` so that the
    settings, the app and any ``moviemind`` process the test starts use them.
    """
    with scratch_servers(request.param) as servers:
        if servers.database_url is not None:
            monkeypatch.setenv("MOVIEMIND_DATABASE_URL", servers.database_url)
        if servers.locks_url is not None:
            monkeypatch.setenv("MOVIEMIND_LOCKS_URL", servers.locks_url)
        yield request.param


@pytest.fixture
def fresh_database(settings: Settings) -> Iterator[Database]:
    """The settings' database (the test's engines), empty: no migration has run."""
    settings.home.mkdir(parents=True, exist_ok=True)
    opened = open_database(settings.database, settings.busy_timeout_ms)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def database(fresh_database: Database) -> Database:
    """The settings' database (the test's engines), migrated, without the sample catalog."""
    migrate(fresh_database)
    return fresh_database


@pytest.fixture
def settings(home: Path) -> Settings:
    """Settings for the test's home."""
    return load_settings()


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    """The application over a new database holding the sample catalog."""
    with build_app(settings) as opened:
        yield opened


@pytest.fixture
def processes(home: Path) -> Iterator[Processes]:
    """Runs real ``moviemind`` processes on the test's home."""
    started = Processes(home)
    try:
        yield started
    finally:
        started.kill_leftovers()


@pytest.fixture
def as_tester(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changes (flags, rollouts) are attributed to the user ``tester``."""
    monkeypatch.setattr("getpass.getuser", lambda: "tester")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Tests skipped for want of a PostgreSQL or Redis server: one summary line, not 176."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped:
        report.longrepr = folded_skip(report.longrepr)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist, the long ones first (``tests/scheduling.py``); first, so that
    xdist's own hook, which names each test by its group, sees them."""
    spread(items)
