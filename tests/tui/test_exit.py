"""Leaving the TUI: worker threads are done with the database before its connections close.

Closing a SQLite connection while another thread is inside a call on it can
crash the process (it did, in 2 of about 110 start/quit cycles over 10,000
jobs); Textual cancels its workers on exit but cannot stop a thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from click.testing import CliRunner
from textual.pilot import Pilot
from textual.widgets import DataTable

from moviemind_lite.app.wiring import build_app
from moviemind_lite.cli import cli
from moviemind_lite.core.config import Settings
from moviemind_lite.core.model import JobRequest
from moviemind_lite.tui.app import MovieMindApp, make_app
from moviemind_lite.tui.jobs import JobsPane
from tests.tui.driving import spy_notifications, wait_until


def queue_jobs(settings: Settings, count: int) -> None:
    with build_app(settings) as core, core.database.write() as tx:
        for number in range(count):
            request = JobRequest("movie", f"exit-film-{number}", "en-US", "default")
            core.job_store.insert(tx, request, "two-level")


def spy_on_closing(
    app: MovieMindApp, monkeypatch: pytest.MonkeyPatch
) -> tuple[threading.Event, threading.Event, list[str]]:
    """Make the Jobs tab's poll stay inside the core until ``exiting`` is set (by the app's
    close, or by the test once the app was told to exit); record when it returns and when the
    database closes."""
    events: list[str] = []
    inside, exiting = threading.Event(), threading.Event()
    stats, close = app.core.jobs.stats, app.core.database.close
    wait_for_threads = app.worker_threads.close

    def slow_stats() -> Any:
        inside.set()
        # Still inside the core when the app has exited.
        assert exiting.wait(30), "the app never exited"
        events.append("poll returned")
        return stats()

    def closing_threads() -> None:
        exiting.set()
        wait_for_threads()

    def closing() -> None:
        events.append("database closed")
        close()

    monkeypatch.setattr(app.core.jobs, "stats", slow_stats)
    monkeypatch.setattr(app.worker_threads, "close", closing_threads)
    monkeypatch.setattr(app.core.database, "close", closing)
    return inside, exiting, events


def test_closing_inside_a_running_event_loop_waits_for_a_busy_poll(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As benchmarks/tui.py did: run_test, then close while the loop (and the
    # thread still in the poll) runs on. asyncio.run's executor shutdown does
    # not come to the rescue here.
    app = make_app(settings, start_tab="jobs")
    inside, _, events = spy_on_closing(app, monkeypatch)

    async def main() -> None:
        async with app.run_test() as pilot:
            await wait_until(pilot, inside.is_set, "a poll inside the core")
        app.close()

    asyncio.run(main())
    assert events == ["poll returned", "database closed"]


def test_the_tui_command_closes_the_database_only_after_a_busy_poll_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded: list[list[str]] = []
    original_run = MovieMindApp.run

    def run_until_a_poll_is_inside(self: MovieMindApp, **options: Any) -> Any:
        inside, exiting, events = spy_on_closing(self, monkeypatch)
        recorded.append(events)

        async def quit_while_polling(pilot: Pilot[None]) -> None:
            await wait_until(pilot, inside.is_set, "a poll inside the core")
            pilot.app.exit()
            # The app has exited with the poll inside (asyncio.run's executor
            # shutdown then waits for it; the command closes the core after).
            exiting.set()

        return original_run(self, headless=True, auto_pilot=quit_while_polling)

    monkeypatch.setattr(MovieMindApp, "run", run_until_a_poll_is_inside)
    result = CliRunner().invoke(cli, ["tui", "--tab", "jobs"])
    assert result.exit_code == 0, result.output
    assert recorded == [["poll returned", "database closed"]]


def test_many_start_and_quit_cycles_with_busy_pollers(settings: Settings) -> None:
    queue_jobs(settings, 400)
    for cycle in range(12):
        app = make_app(settings, poll_interval=0.02, start_tab="jobs")
        app.animation_level = "none"
        notes = spy_notifications(app)

        async def quit_after_some_polls(pilot: Pilot[None], cycle: int = cycle) -> None:
            table = pilot.app.query_one("#jobs-table", DataTable)
            await wait_until(pilot, lambda: table.row_count > 0, "the first page")
            # Quit at a different moment of the poll cycle each time.
            await pilot.pause(0.005 * (cycle % 4))
            pane = pilot.app.query_one(JobsPane)
            pane.poll()
            pilot.app.exit()

        try:
            app.run(headless=True, auto_pilot=quit_after_some_polls)
        finally:
            app.close()
        assert app.return_code == 0
        assert app.worker_threads.busy == 0
        assert notes.errors() == []


def test_a_worker_started_while_closing_does_not_run(settings: Settings) -> None:
    app = make_app(settings)
    app.close()
    ran: list[bool] = []
    with app.worker_threads.running() as admitted:
        ran.append(admitted)
    assert ran == [False]


def test_a_crash_inside_the_app_is_not_exit_0(monkeypatch: pytest.MonkeyPatch) -> None:
    original_run = MovieMindApp.run

    def broken_mount(self: MovieMindApp) -> None:
        raise RuntimeError("a bug in the app")

    def run_headless(self: MovieMindApp, **options: Any) -> Any:
        return original_run(self, headless=True)

    monkeypatch.setattr(MovieMindApp, "on_mount", broken_mount)
    monkeypatch.setattr(MovieMindApp, "run", run_headless)
    result = CliRunner().invoke(cli, ["tui"])
    assert result.exit_code == 1
