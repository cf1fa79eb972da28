"""Driving the TUI under Pilot from plain (synchronous) code: tests and screenshots.

No asyncio plugin is installed, so each test hands a coroutine to
:func:`run_app`, which runs it with ``asyncio.run`` inside ``app.run_test``
and closes the app afterwards (as the CLI does after ``app.run()``): its worker
threads are waited for, then its core is closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog, Static

from moviemind_lite.tui.app import MovieMindApp
from tests.tui.scenes import SIZE

Scenario = Callable[[Pilot[None]], Awaitable[None]]


@dataclass
class Notifications:
    """Every notification the app showed: (severity, message)."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    def errors(self) -> list[str]:
        """The messages shown as errors."""
        return [message for severity, message in self.seen if severity == "error"]

    def messages(self) -> list[str]:
        """Every message, whatever its severity."""
        return [message for _, message in self.seen]


def spy_notifications(app: MovieMindApp) -> Notifications:
    """Record what ``app.notify`` is asked to show (run_test hides toasts)."""
    record = Notifications()
    original = app.notify

    def notify(message: str, **options: Any) -> None:
        record.seen.append((str(options.get("severity", "information")), message))
        original(message, **options)

    app.notify = notify  # type: ignore[method-assign]
    return record


def run_app(app: MovieMindApp, scenario: Scenario, size: tuple[int, int] = SIZE) -> None:
    """Run ``scenario`` against ``app`` under Pilot, then close the app (and its core)."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot)

    try:
        asyncio.run(main())
    finally:
        app.close()


async def wait_until(
    pilot: Pilot[None], check: Callable[[], bool], what: str, timeout: float = 10.0
) -> None:
    """Let the app run until ``check()`` holds; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def plain(widget: Static) -> str:
    """The text a Static shows, without styles."""
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def row_keys(table: DataTable[Any]) -> list[str]:
    """The keys of a table's rows, top to bottom."""
    return [str(key.value) for key in table.rows]


def log_text(log: RichLog) -> str:
    """Everything a RichLog holds, one line per row."""
    return "\n".join(strip.text for strip in log.lines)


async def wait_ready(pilot: Pilot[None], tab: str) -> None:
    """Wait until ``tab`` shows its data (what a screenshot of it should hold)."""
    app = pilot.app
    if tab == "catalog":
        detail = app.query_one("#catalog-detail-text", Static)
        await wait_until(pilot, lambda: "slug:" in plain(detail), "the catalog detail")
    elif tab == "jobs":
        table = app.query_one("#jobs-table", DataTable)
        counters = app.query_one("#jobs-counters", Static)
        await wait_until(
            pilot, lambda: table.row_count > 0 and "PENDING" in plain(counters), "the jobs"
        )
    elif tab == "flags":
        box = app.query_one("#flag-rollouts", Static)
        await wait_until(pilot, lambda: bool(plain(box)), "the flags")
    elif tab == "log":
        lines = app.query_one("#log-lines", RichLog)
        await wait_until(pilot, lambda: len(lines.lines) > 0, "the log lines")
    await pilot.pause()
