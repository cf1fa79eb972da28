"""The event seam: what happens as a job runs, told to whoever subscribed to one app's events.

:class:`Phase` is the vocabulary, written once here: the steps a job enters
(``waiting`` for a lock, ``locked``, ``generating``, ``persisting``), the
faults the mock AI injects (``paused``, ``killed``), and the two the lab adds
(``queued``, ``ended``). Each built application owns one :class:`Events`
(``App.events``, in the spirit of huey's per-instance ``Signal``); the job
body and the mock AI reach it as an object they were built with and call
:meth:`Events.phase`. Subscribers register on the sink, not down the call
path: the lab's timelines, the TUI's live lab view, a worker process sending
its phases to the racing process, a test. With nobody subscribed an
announcement costs one attribute read.

A subscriber is called on the announcing thread (a job's, a request's) while
that thread is in the phase, so it must return at once; an exception it
raises is not the job's business and is dropped. Two apps (two races, a race
and a front end) have two sinks: nobody filters by thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock


class Phase(StrEnum):
    """A step of a job's life, as the lab's timelines draw it."""

    QUEUED = "queued"
    WAITING = "waiting"
    LOCKED = "locked"
    GENERATING = "generating"
    PAUSED = "paused"
    PERSISTING = "persisting"
    KILLED = "killed"
    ENDED = "ended"


@dataclass(frozen=True)
class PhaseEvent:
    """Job ``job_id`` entered ``phase`` at ``at`` (the sink clock's ``monotonic`` seconds)."""

    job_id: str
    phase: Phase
    at: float


Subscriber = Callable[[PhaseEvent], None]


class Events:
    """One app's event sink: named events, subscribers per instance."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._subscribers: tuple[Subscriber, ...] = ()
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> None:
        """Tell ``subscriber`` of every event from now on."""
        with self._lock:
            self._subscribers = (*self._subscribers, subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop telling ``subscriber`` (nothing if it was not subscribed)."""
        with self._lock:
            self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

    @contextmanager
    def subscribed(self, subscriber: Subscriber) -> Iterator[Events]:
        """``subscriber`` hears every event for the block."""
        self.subscribe(subscriber)
        try:
            yield self
        finally:
            self.unsubscribe(subscriber)

    @property
    def heard(self) -> bool:
        """Whether anybody listens (an announcement builds nothing otherwise)."""
        return bool(self._subscribers)

    def phase(self, job_id: str, phase: Phase, at: float | None = None) -> None:
        """Announce that ``job_id`` enters ``phase`` (now, unless ``at`` says when)."""
        subscribers = self._subscribers  # one read: a tuple replaced, never changed
        if not subscribers:
            return
        event = PhaseEvent(job_id, Phase(phase), self.clock.monotonic() if at is None else at)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:  # a listener's fault is not the job's: logged, not raised
                logging.getLogger("moviemind.events").exception("event subscriber failed")
