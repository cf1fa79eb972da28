"""The lock server's amnesia, third part: its fencing counter starts again, and what that does.

``setnx`` with fencing takes its token from the lock server (``INCR`` on
Redis) and the database keeps the highest token written (a ``fence:`` row of
``leases``), refusing any write with a lower one. When the lock server loses
its keys (a restart without persistence, ``FLUSHALL``, a failover to a
replica that had not seen the ``INCR``), the counter starts again at 1: the
database, the guarantee, still refuses every write below the highest token it
saw, so no stale write lands (safety holds) but no holder can write either
until the counter climbs back (liveness is lost), and the token equal to the
highest is handed out a second time. This lesson drives the production
leases (the ones ``setnx`` uses) on a scratch app over Redis.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from moviemind_lite.core.config import AISettings, JobSettings
from moviemind_lite.core.errors import InvalidInput, StaleWrite
from moviemind_lite.lab.flag_lessons import scratch_app
from moviemind_lite.lab.lesson import Check, LessonReport, Outcome
from moviemind_lite.lab.metrics import plural
from moviemind_lite.lab.race import PhaseWatcher, Progress, RaceStopped
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.store import locking

KLEPPMANN = (
    "Kleppmann, How to do distributed locking, 2016 "
    "(martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html)"
)
_LEASE = "lab-fence-reset-1990"
_TTL_MS = 60_000.0


@dataclass(frozen=True)
class CounterReset:
    """What the holders after a reset of the fencing counter could write."""

    before: int  # the highest token written before the lock server forgot
    refused: int  # holders after the reset refused before one could write
    written_at: int  # the first token after the reset that could write (0: none)

    @property
    def as_promised(self) -> bool:
        """Every holder below the highest token refused, then the equal token written."""
        return (
            self.before > 1 and self.refused == self.before - 1 and self.written_at == self.before
        )

    def outcome(self) -> Outcome:
        """This run as a table row."""
        return Outcome(
            "fencing counter reset",
            (
                ("highest token written", str(self.before)),
                ("holders refused after the reset", str(self.refused)),
                ("first token written again", str(self.written_at or "-")),
            ),
            f"{plural(self.refused, 'holder')} refused, then token {self.written_at} written "
            "(a second time)",
            self.as_promised,
            {"before": self.before, "refused": self.refused, "written_at": self.written_at},
        )


@dataclass(frozen=True)
class FenceCounterReset:
    """The lock server forgets its fencing counter; the database refuses the lower tokens."""

    name: str = "fence-counter-reset"
    title: str = "The lock server forgets its fencing counter: safe, but nobody can write"
    explanation: str = (
        "setnx with fencing takes its token from the lock server (INCR on Redis); the "
        "database keeps the highest token written and refuses any write below it. Three "
        "holders take the lease in turn and write (tokens 1, 2, 3). Then the lock server "
        "loses every key (a restart without persistence, FLUSHALL, a failover to a replica "
        "that had not seen the INCR) and its counter starts again at 1. Look at the holders "
        "refused after the reset: each new holder is granted the lease, then refused at the "
        "database (a stale write, counted), until the counter climbs back to the highest "
        "token written. Safety holds (no write below the highest token lands), liveness does "
        "not: after a reset every job fails until the counter catches up, so a lock server "
        "that can forget must not be the only source of its tokens (keep the counter in the "
        "database, or start it past the highest written). And the token equal to the highest "
        "is handed out a second time: a stalled holder of the old token 3 would be taken for "
        "the new one. Needs Redis (MOVIEMIND_LOCKS_URL): lock files keep their leases and "
        f"counters in the database, which cannot forget them alone. Sources: {KLEPPMANN}."
    )
    writers: int = 3
    fast_writers: int = 3

    def commands(self, fast: bool = False) -> list[str]:
        """The fault by hand, on Redis."""
        return [
            "moviemind race --strategy setnx --fencing --locks redis --requests 3 --slugs 1",
            "redis-cli FLUSHALL   # the lock server forgets its counters",
            "moviemind race --strategy setnx --fencing --locks redis --requests 1 --slugs 1",
        ]

    def play(
        self,
        *,
        fast: bool = False,
        on_progress: Progress | None = None,
        on_phase: PhaseWatcher | None = None,
        stop: threading.Event | None = None,
        servers: Servers | None = None,
    ) -> LessonReport:
        """Writers in turn, the lock server's keys forgotten, then holders until one writes."""
        RaceStopped.check(stop)
        servers = servers or Servers()
        if servers.locks_url is None:
            raise InvalidInput(
                f"{self.name} needs a Redis server: set MOVIEMIND_LOCKS_URL (or --locks-url) "
                "to redis://... (lock files keep the counter in the database)"
            )
        before = self.fast_writers if fast else self.writers
        ai = AISettings(latency_ms=0, jitter_ms=0)
        with scratch_app(ai, JobSettings(), servers) as (app, _race):
            leases = app.locks.leases

            def fenced_write() -> int:
                grant = leases.acquire(_LEASE, _TTL_MS)
                if grant is None:
                    raise InvalidInput(f"{self.name}: the lease was not free")
                try:
                    with app.database.write() as tx:
                        leases.check_fence(tx, grant)
                    return grant.fencing_token
                except StaleWrite:
                    return 0
                finally:
                    leases.release(grant)

            highest = max(fenced_write() for _ in range(before))
            locking.discard_namespace(app.settings.locks)  # the lock server forgets every key
            refused, written_at = 0, 0
            for _ in range(before + 1):
                written_at = fenced_write()
                if written_at:
                    break
                refused += 1
            if on_progress is not None:
                on_progress("fencing counter reset", 1, 1)
        reset = CounterReset(highest, refused, written_at)
        outcome = reset.outcome()
        return LessonReport(self, fast, (), (outcome,), Check(reset.as_promised, outcome.verdict))


FENCE_LESSONS = (FenceCounterReset(),)
