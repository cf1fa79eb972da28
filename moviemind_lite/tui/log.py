"""The Log tab: the JSON log, human-readable, following new lines as they come.

A worker thread runs :func:`moviemind_lite.core.logs.follow_log` (the reader behind
``moviemind logs --follow``) and posts the formatted lines in batches. Typing
in the filter box restarts it with the new filter: a job id keeps that job's
lines, anything else is searched for as text. The follower starts the first
time the tab is shown, so opening the app never waits on a long log.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, RichLog, Static
from textual.worker import get_current_worker

from moviemind_lite.app.wiring import App as Core
from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.core.ids import validate_job_id
from moviemind_lite.core.logs import follow_log, format_record
from moviemind_lite.tui.cells import LEVEL_STYLE
from moviemind_lite.tui.pane import CorePane, in_thread

# Lines kept on screen; older ones scroll away (the file keeps them all).
MAX_LINES = 2000
# How often a batch of new lines is handed to the screen.
FLUSH_S = 0.1
FILTER_DELAY_S = 0.3


def split_filter(text: str) -> tuple[str | None, str | None]:
    """``(job_id, grep)`` for the filter box: a job id, some text, or nothing."""
    text = text.strip()
    if not text:
        return None, None
    try:
        return validate_job_id(text), None
    except InvalidInput:
        return None, text


class LogPane(CorePane):
    """A filter box over the followed log."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("c", "clear_filter", "Clear filter"),
        Binding("end", "scroll_end", "Newest", show=False),
    ]

    DEFAULT_CSS = """
    LogPane #log-filter { height: 1; }
    LogPane #log-lines { height: 1fr; }
    LogPane #log-status { height: 1; padding: 0 1; background: $boost; }
    """

    class Lines(Message, bubble=False):
        """New lines for the filter in force when they were read (``generation``)."""

        def __init__(self, generation: int, lines: list[Text], total: int) -> None:
            super().__init__()
            self.generation = generation
            self.lines = lines
            self.total = total

    def __init__(self, core: Core, *, id: str | None = None) -> None:
        super().__init__(core, id=id)
        self.generation = 0
        self.line_count = 0
        self.started = False
        self._pending_filter: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: a job id, or any text (/ to focus)",
            compact=True,
            id="log-filter",
        )
        yield RichLog(id="log-lines", max_lines=MAX_LINES, wrap=True, markup=False)
        yield Static("", id="log-status")

    def tab_shown(self) -> None:
        """Begin following the log the first time the tab is shown."""
        if not self.started:
            self.started = True
            self._restart()

    # -- following --------------------------------------------------------------------

    def _restart(self) -> None:
        self.generation += 1
        self.line_count = 0
        self.query_one("#log-lines", RichLog).clear()
        job_id, grep = split_filter(self.query_one("#log-filter", Input).value)
        self._show_status(job_id, grep)
        # exclusive: the previous follower sees it is cancelled and stops.
        self._follow(self.generation, job_id, grep)

    @in_thread(exclusive=True, group="log-follow")
    def _follow(self, generation: int, job_id: str | None, grep: str | None) -> None:
        worker = get_current_worker()
        batch: list[Text] = []
        total = 0
        flushed = time.monotonic()

        def flush_or_stop() -> bool:
            # follow_log asks this before every read, idle or not: the place to
            # hand over what has piled up, and to learn that the filter changed.
            nonlocal flushed
            if batch and time.monotonic() - flushed >= FLUSH_S:
                # A burst of old lines only needs the ones that stay on screen.
                self.post_message(self.Lines(generation, batch[-MAX_LINES:], total))
                batch.clear()
                flushed = time.monotonic()
            return worker.is_cancelled

        for record in follow_log(
            self.core.settings.log_path,
            job_id=job_id,
            grep=grep,
            poll_s=FLUSH_S,
            stop=flush_or_stop,
        ):
            total += 1
            level = str(record.get("level", ""))
            batch.append(Text(format_record(record), style=LEVEL_STYLE.get(level, "")))

    def on_log_pane_lines(self, message: LogPane.Lines) -> None:
        """Append a batch of lines read under the current filter."""
        if message.generation != self.generation:
            return
        lines = self.query_one("#log-lines", RichLog)
        for line in message.lines:
            lines.write(line)
        self.line_count = message.total
        job_id, grep = split_filter(self.query_one("#log-filter", Input).value)
        self._show_status(job_id, grep)

    def _show_status(self, job_id: str | None, grep: str | None) -> None:
        what = f"job {job_id}" if job_id else (f"lines containing {grep!r}" if grep else "all")
        self.query_one("#log-status", Static).update(
            f"following {self.core.settings.log_path.name} · {what} · {self.line_count:,} lines"
        )

    # -- filter -----------------------------------------------------------------------

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self) -> None:
        # Wait for a pause in typing: each restart reads the log from the top.
        if self._pending_filter is not None:
            self._pending_filter.stop()
        self._pending_filter = self.set_timer(FILTER_DELAY_S, self._apply_filter)

    @on(Input.Submitted, "#log-filter")
    def _filter_submitted(self) -> None:
        self._apply_filter()
        self.query_one("#log-lines", RichLog).focus()

    def _apply_filter(self) -> None:
        if self._pending_filter is not None:
            self._pending_filter.stop()
            self._pending_filter = None
        if self.started:
            self._restart()

    def action_focus_filter(self) -> None:
        """Put the cursor in the filter box."""
        self.query_one("#log-filter", Input).focus()

    def action_clear_filter(self) -> None:
        """Show every line again."""
        self.query_one("#log-filter", Input).value = ""
        self._apply_filter()

    def action_scroll_end(self) -> None:
        """Jump to the newest line."""
        self.query_one("#log-lines", RichLog).scroll_end(animate=False)
