"""Every test runs against its own home folder; nothing touches ./data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings, load_settings
from tests.helpers import Processes


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
