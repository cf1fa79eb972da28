"""The clock seam: every reading of time that decides something goes through a :class:`Clock`.

TTLs (generation slots, leases), job leases and retry backoffs, the circuit
breaker's cool-down and the rollout guardrails' windows read the time from
the clock the composition root built (``build_app``); the real one is
:data:`SYSTEM_CLOCK`. Tests hand a :class:`FakeClock` instead and move time
with :meth:`FakeClock.advance`, rather than sleeping through a TTL; a thread
sleeping on the fake clock wakes when time is advanced past its wake-up.

Two readings: :meth:`Clock.now` is the Unix time (stored timestamps, compared
in SQL with the times the code passes in), :meth:`Clock.monotonic` measures
intervals in this process (deadlines, lab timelines).
"""

from __future__ import annotations

import threading
import time

from moviemind_lite.core.ids import format_epoch


class Clock:
    """The real time: ``time.time``, ``time.monotonic`` and ``time.sleep``."""

    def now(self) -> float:
        """The Unix time, in seconds."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for intervals and deadlines)."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait until ``event`` is set or ``seconds`` pass; whether it was set.

        Whoever sets an event a thread may be waiting on here calls
        :meth:`nudge` after setting it (a fake clock needs it to look again).
        """
        return event.wait(max(seconds, 0.0))

    def nudge(self) -> None:
        """Tell the threads in :meth:`wait` that an event may have been set."""

    def stamp(self) -> str:
        """The current time as a stored timestamp (``...T12:00:00.000Z``)."""
        return format_epoch(self.now())

    def stamp_after(self, milliseconds: float, since: float | None = None) -> str:
        """The stored timestamp ``milliseconds`` after ``since`` (a Unix time; default: now)."""
        return format_epoch((self.now() if since is None else since) + milliseconds / 1000)


SYSTEM_CLOCK = Clock()
"""The real clock, shared: it holds no state."""


class SkewedClock(Clock):
    """The real time, but its Unix time ``skew_ms`` ahead, as a machine whose clock is off.

    The lab's ``--skew-ms`` gives each worker process one. Only :meth:`now` (and
    the stamps made from it) is skewed: intervals, timelines and sleeps keep the
    machine's monotonic clock.
    """

    def __init__(self, skew_ms: float) -> None:
        self.skew_s = skew_ms / 1000

    def now(self) -> float:
        """The Unix time, ``skew_ms`` ahead."""
        return time.time() + self.skew_s


class FakeClock(Clock):
    """A clock that moves only when told: :meth:`advance`.

    It starts at ``start`` (a Unix time) and its monotonic reading at 1000.0.
    :meth:`sleep` blocks the calling thread until the clock has been advanced
    past its wake-up time; :meth:`wait_for_sleepers` lets a test know that a
    thread is asleep before advancing.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._offset = 0.0
        self._start = start
        self._changed = threading.Condition()
        self._sleepers = 0

    def now(self) -> float:
        """The fake Unix time."""
        with self._changed:
            return self._start + self._offset

    def monotonic(self) -> float:
        """The fake monotonic reading."""
        with self._changed:
            return 1000.0 + self._offset

    def sleep(self, seconds: float) -> None:
        """Block until the clock is advanced by ``seconds`` from now."""
        with self._changed:
            wake = self._offset + max(seconds, 0.0)
            self._sleepers += 1
            self._changed.notify_all()
            try:
                self._changed.wait_for(lambda: self._offset >= wake)
            finally:
                self._sleepers -= 1
                self._changed.notify_all()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Block until ``event`` is set (and :meth:`nudge` called) or the clock is advanced
        by ``seconds`` from now; whether it was set."""
        with self._changed:
            wake = self._offset + max(seconds, 0.0)
            self._sleepers += 1
            self._changed.notify_all()
            try:
                self._changed.wait_for(lambda: event.is_set() or self._offset >= wake)
            finally:
                self._sleepers -= 1
                self._changed.notify_all()
            return event.is_set()

    def nudge(self) -> None:
        """Make the threads in :meth:`wait` look at their events again."""
        with self._changed:
            self._changed.notify_all()

    def advance(self, seconds: float) -> None:
        """Move time ``seconds`` forward, waking the sleepers whose time has come."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._changed:
            self._offset += seconds
            self._changed.notify_all()

    def wait_for_sleepers(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait (real time, at most ``timeout``) until ``count`` threads sleep on this clock."""
        with self._changed:
            return self._changed.wait_for(lambda: self._sleepers >= count, timeout)
