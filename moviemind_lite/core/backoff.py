"""Waiting for an engine that failed: capped exponential backoff with jitter, and its log.

A worker thread that meets an engine error (PostgreSQL restarting, Redis
gone, SQLite busy or its disk full) does not end: it says once that it is
waiting for the engine (naming it, through the error's message), waits a
little longer after each failure (doubling up to a cap, jittered so that
threads and processes do not all come back in the same instant), and says
when the engine is back. Time is read and slept in one place
(:data:`monotonic`, :meth:`EngineWait.pause`), so the waits can be moved by a
clock instead of the machine's.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger("moviemind.jobs")


@dataclass(frozen=True)
class Backoff:
    """Delays that double from ``base_s`` up to ``cap_s``, with "equal jitter".

    The n-th delay lies between half and all of ``min(cap, base * 2**(n-1))``:
    never zero (a failed engine is not hammered), never past the cap.
    """

    base_s: float = 0.05
    cap_s: float = 2.0

    def delay(self, failures: int, rng: random.Random) -> float:
        """The wait after ``failures`` failures in a row (1 for the first)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(max(failures - 1, 0), 30))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass
class EngineWait:
    """One thread's waits for a failed engine: backoff, "waiting" and "back" log lines.

    ``stop``, when set, cuts a pause short (the worker is stopping) on the real
    clock; a fake clock's sleep is moved by the test instead.
    """

    who: str
    backoff: Backoff = field(default_factory=Backoff)
    stop: threading.Event = field(default_factory=threading.Event)
    rng: random.Random = field(default_factory=random.Random)
    clock: Clock = SYSTEM_CLOCK
    failures: int = 0
    since: float | None = None

    def failed(self, error: BaseException, doing: str) -> float:
        """Note a failure while ``doing``; wait before the next try; the wait taken (s)."""
        self.failures += 1
        if self.failures == 1:
            self.since = self.clock.monotonic()
            log.warning(
                "Waiting for the engine",
                extra={"fields": {"worker_id": self.who, "doing": doing, "error": str(error)}},
            )
        delay = self.backoff.delay(self.failures, self.rng)
        self.pause(delay)
        return delay

    def succeeded(self) -> None:
        """Note a success: after failures, say the engine is back."""
        if self.failures:
            waited = self.clock.monotonic() - (self.since or self.clock.monotonic())
            log.warning(
                "Engine back",
                extra={
                    "fields": {
                        "worker_id": self.who,
                        "failures": self.failures,
                        "waited_s": round(waited, 3),
                    }
                },
            )
        self.failures, self.since = 0, None

    def waited_s(self) -> float:
        """How long this thread has been waiting for the engine (0: it is not)."""
        return 0.0 if self.since is None else self.clock.monotonic() - self.since

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if ``stop`` is set meanwhile (on the real clock)."""
        if self.clock is SYSTEM_CLOCK:
            self.stop.wait(seconds)
        else:
            self.clock.sleep(seconds)
