"""A circuit breaker around the AI, shared through SQLite by every thread and process.

closed ──N consecutive failures──▶ open ──cool-down passed──▶ half_open (one probe)
  ▲                                  ▲                            │
  └────────── probe succeeds ────────┼──────── probe fails ───────┘

While open, calls fail fast with :class:`~moviemind_lite.core.errors.CircuitOpen`
(the runner defers the job instead of burning an attempt); after the cool-down
one caller is let through as a probe, and its result closes or re-opens it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from moviemind_lite.ai.base import Answer, GenerationRequest, Generator
from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.core.errors import CircuitOpen, InvalidAIAnswer, TransientAIError
from moviemind_lite.store import breakers
from moviemind_lite.store.db import Database

log = logging.getLogger("moviemind.ai")


@dataclass(frozen=True)
class BreakerState:
    """One breaker as stored."""

    name: str
    state: str
    consecutive_failures: int
    open_until: str | None
    opened_count: int

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``stats --json``."""
        return dict(self.__dict__)


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; probes after ``cooldown_ms``."""

    def __init__(
        self,
        database: Database,
        *,
        threshold: int,
        cooldown_ms: float,
        name: str = "ai",
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.database = database
        self.clock = clock  # decides when the cool-down is over
        self.threshold = threshold
        self.cooldown_ms = cooldown_ms
        self.name = name

    def state(self) -> BreakerState:
        """The breaker as stored now (read only: a breaker never stored is closed)."""
        stored = breakers.read_breaker(self.database, self.name)
        if stored is None:
            return BreakerState(self.name, "closed", 0, None, 0)
        return BreakerState(
            stored.name,
            stored.state,
            stored.consecutive_failures,
            stored.open_until,
            stored.opened_count,
        )

    def _closed_and_clean(self) -> bool:
        stored = breakers.read_breaker(self.database, self.name)
        return stored is None or stored.closed_and_clean

    def before_call(self) -> bool:
        """Let the call through (``True`` when the breaker was closed and clean), or
        raise ``CircuitOpen`` with when to come back."""
        if self._closed_and_clean():
            return True  # the common case costs one read, no write transaction
        stamp = self.clock.stamp()
        with self.database.write() as tx:
            row = breakers.ensure_breaker(tx, self.name)
            if row.state == "closed":
                return False
            if row.state == "open" and row.open_until is not None and row.open_until > stamp:
                raise CircuitOpen(f"AI circuit open until {row.open_until}", row.open_until)
            if row.state == "half_open" and row.probe_until is not None and row.probe_until > stamp:
                raise CircuitOpen("AI circuit half-open: a probe is running", row.probe_until)
            # Cool-down over (or the last probe's caller vanished): this call probes.
            breakers.move_breaker(
                tx, self.name, "half_open", probe_until=self.clock.stamp_after(self.cooldown_ms)
            )
        log.info("Circuit half-open: probing", extra={"fields": {"breaker": self.name}})
        return False

    def on_success(self) -> None:
        """A call worked: close the breaker."""
        if self._closed_and_clean():
            return
        with self.database.write() as tx:
            row = breakers.ensure_breaker(tx, self.name)
            if row.closed_and_clean:
                return
            breakers.move_breaker(
                tx, self.name, "closed", consecutive_failures=0, open_until=None, probe_until=None
            )
        if row.state != "closed":
            log.info("Circuit closed", extra={"fields": {"breaker": self.name}})

    def on_failure(self) -> None:
        """A call failed: count it, and open the breaker at the threshold or after a probe."""
        with self.database.write() as tx:
            row = breakers.ensure_breaker(tx, self.name)
            failures = row.consecutive_failures + 1
            opens = row.state == "half_open" or (
                row.state == "closed" and failures >= self.threshold
            )
            if not opens:
                breakers.count_failure(tx, self.name, failures)
                return
            breakers.move_breaker(
                tx,
                self.name,
                "open",
                consecutive_failures=failures,
                probe_until=None,
                open_until=self.clock.stamp_after(self.cooldown_ms),
                opened_count=row.opened_count + 1,
            )
        log.warning(
            "Circuit opened",
            extra={"fields": {"breaker": self.name, "consecutive_failures": failures}},
        )


class GuardedGenerator:
    """A generator behind a circuit breaker.

    The breaker counts transient failures of the server (timeouts, 5xx, 429):
    an answer that came back but cannot be stored (``InvalidAIAnswer``) shows
    a working server, and counts as a success.
    """

    def __init__(self, inner: Generator, breaker: CircuitBreaker) -> None:
        self.inner = inner
        self.breaker = breaker

    @property
    def model(self) -> str:
        """The wrapped generator's model."""
        return self.inner.model

    def generate(self, request: GenerationRequest) -> Answer:
        """Ask the breaker, call the AI, tell the breaker how it went."""
        was_clean = self.breaker.before_call()
        try:
            answer = self.inner.generate(request)
        except InvalidAIAnswer:
            if not was_clean:
                self.breaker.on_success()
            raise
        except TransientAIError:
            self.breaker.on_failure()
            raise
        # A success only has something to reset if the breaker was not clean when
        # this call began (a failure racing this call is reset by the next one).
        if not was_clean:
            self.breaker.on_success()
        return answer
