"""What every tab of the TUI shares: the core, and how failures reach the user.

Database work runs in thread workers; a worker never touches a widget. It
posts a message to its pane (``post_message`` is thread-safe), and the pane's
handler, back on the event loop, updates the widgets. A refusal from the core
(:class:`~moviemind_lite.core.errors.MovieMindError`) becomes an error notification;
anything else a worker raises is a bug, logged with its traceback and shown as
an error notification instead of taking the app down.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from textual.containers import Vertical
from textual.message import Message
from textual.worker import Worker, WorkerState

from moviemind_lite.app.wiring import App as Core
from moviemind_lite.core.errors import MovieMindError

log = logging.getLogger("moviemind.tui")


class CorePane(Vertical):
    """The content of one tab, working over the shared application."""

    class Failed(Message, bubble=False):
        """A core call made in a worker thread refused; ``error`` says why."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, core: Core, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.core = core
        self.shown = False

    def show_tab(self) -> None:
        """The app shows this pane's tab: refresh what it polls, right away."""
        self.shown = True
        self.tab_shown()

    def hide_tab(self) -> None:
        """The app shows another tab: periodic reads can stop until it comes back."""
        self.shown = False

    def tab_shown(self) -> None:
        """Called each time the tab is shown; panes that poll refresh here."""

    @contextmanager
    def reporting(self) -> Iterator[None]:
        """Around core calls in a worker thread: a refusal becomes a notification.

        The block stops at the refusal; code after the ``with`` still runs, so
        put there whatever must happen either way.
        """
        try:
            yield
        except MovieMindError as error:
            self.post_message(self.Failed(str(error)))

    def on_core_pane_failed(self, message: CorePane.Failed) -> None:
        """Show a refusal from the core."""
        self.notify(message.error, severity="error", timeout=6)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Report a worker that crashed (our bug, not the user's input)."""
        error = event.worker.error
        if event.state == WorkerState.ERROR and error is not None:
            log.error(
                "TUI worker failed",
                exc_info=(type(error), error, error.__traceback__),
                extra={"fields": {"worker": event.worker.name}},
            )
            self.notify(
                f"unexpected error in {event.worker.name}: {type(error).__name__}: {error}",
                severity="error",
                timeout=10,
            )
