"""Fixtures for the TUI tests: apps over the test's home, homes for scenes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from moviemind_lite.core.config import Settings
from moviemind_lite.tui.app import MovieMindApp, make_app

# Poll fast in tests so "follows other processes" does not mean waiting a second,
# but not so fast that Pilot, which waits for the app to go idle, never sees it idle.
POLL_S = 0.3


@pytest.fixture
def open_app(settings: Settings) -> Iterator[Callable[..., MovieMindApp]]:
    """Build apps over the test's home (fast polling), as ``moviemind tui`` would."""

    def build(start_tab: str = "catalog", custom: Settings | None = None) -> MovieMindApp:
        app = make_app(custom or settings, poll_interval=POLL_S, start_tab=start_tab)
        # Pilot waits for animations after every key; the tests need none.
        app.animation_level = "none"
        return app

    yield build


@pytest.fixture
def scene_home(tmp_path: Path) -> Path:
    """A folder for a scene home (see :mod:`tests.tui.scenes`)."""
    return tmp_path / "scene"
