"""What every tab of the TUI shares: the core, and how failures reach the user.

Database work runs in thread workers started with :func:`in_thread`; a worker
never touches a widget. It posts a message to its pane (``post_message`` is
thread-safe), and the pane's handler, back on the event loop, updates the
widgets. A refusal from the core
(:class:`~moviemind_lite.core.errors.MovieMindError`) becomes an error notification;
anything else a worker raises is a bug, logged with its traceback and shown as
an error notification instead of taking the app down.

Textual cancels its workers when the app exits, but a thread cannot be
stopped from outside: one may still be inside a database call when ``run()``
returns. Every worker body therefore runs under the app's
:class:`WorkerThreads`, and the app waits for them before the core's
connections close (closing a connection another thread is using can crash
the process).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Concatenate, ParamSpec, TypeVar

from textual.containers import Vertical
from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, WorkerState

from moviemind_lite.app.wiring import App as Core
from moviemind_lite.core.errors import MovieMindError

log = logging.getLogger("moviemind.tui")

P = ParamSpec("P")
N = TypeVar("N", bound=DOMNode)


class WorkerThreads:
    """The worker bodies running in threads, so that closing can wait for them.

    :meth:`running` admits a body unless the app is closing; :meth:`close`
    admits no more and waits until the admitted ones have returned.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._closed = False

    @property
    def busy(self) -> int:
        """How many worker bodies are running now."""
        with self._changed:
            return self._running

    @contextmanager
    def running(self) -> Iterator[bool]:
        """Around one worker body: whether it may run (``False`` once closing began)."""
        with self._changed:
            admitted = not self._closed
            if admitted:
                self._running += 1
        try:
            yield admitted
        finally:
            if admitted:
                with self._changed:
                    self._running -= 1
                    self._changed.notify_all()

    def close(self) -> None:
        """Admit no more bodies and wait for the running ones to return."""
        with self._changed:
            self._closed = True
            self._changed.wait_for(lambda: self._running == 0)


def in_thread(
    *, group: str = "default", exclusive: bool = False
) -> Callable[[Callable[Concatenate[N, P], None]], Callable[Concatenate[N, P], Worker[None]]]:
    """Like ``@work(thread=True, exit_on_error=False)``, with the body counted by the app.

    The app (:class:`~moviemind_lite.tui.app.MovieMindApp`) waits for every
    body started this way before it closes the core.
    """

    def decorate(
        method: Callable[Concatenate[N, P], None],
    ) -> Callable[Concatenate[N, P], Worker[None]]:
        @functools.wraps(method)
        def start(node: N, /, *args: P.args, **kwargs: P.kwargs) -> Worker[None]:
            # Looked up here, on the event loop, where node.app is known.
            threads: WorkerThreads = node.app.worker_threads  # type: ignore[attr-defined]

            def body() -> None:
                with threads.running() as admitted:
                    if admitted:
                        method(node, *args, **kwargs)

            return node.run_worker(
                body,
                name=method.__name__,
                group=group,
                exclusive=exclusive,
                thread=True,
                exit_on_error=False,
            )

        return start

    return decorate


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
