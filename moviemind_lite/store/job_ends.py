"""Waking the requests that wait for a job when it ends, without polling.

A request waiting for a job (:meth:`JobRunner.drive`, :meth:`JobStore.wait`)
holds a :class:`Watch` on its id while it waits, and is woken:

- **in this process**, by the transaction that ends the job: when it commits
  (:meth:`Tx.on_commit`) the job's watches are set. No timer is involved.
- **from another process**, by the engine, through one feed thread per
  process (started by the first watch, asleep while nobody waits): on PostgreSQL a trigger sends
  ``NOTIFY moviemind_job_end, '<job id>'`` inside the ending transaction (sent
  when it commits, no extra round trip) and the feed listens (``LISTEN``) on its own
  connection; on SQLite the feed reads the database's change counter
  (``PRAGMA data_version``, read from the shared-memory index, no I/O) with
  backoff, and only when it moved asks in one statement which of the watched
  jobs ended.

Correctness never depends on a wake-up: a waiter always waits with a bound
(the jobs' ``wake_fallback_ms``, and never past the moment the job could
change unannounced: its ``run_after`` or the end of its lease), then reads
the job again. A missed notification (a dropped connection, a feed that
failed to start) costs at most that bound.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.store.db import Database, Tx

log = logging.getLogger("moviemind.jobs")

# The PostgreSQL channel every job end is announced on (the payload is the job's id).
JOB_END_CHANNEL = "moviemind_job_end"
# SQLite's change counter is read at first this often, then less often while nothing moves.
COUNTER_MIN_S = 0.001
COUNTER_MAX_S = 0.025
# How long a feed that failed (a server gone) waits before it tries again.
FEED_RETRY_S = 1.0
# How long the feed waits for news before it looks whether anyone still waits.
FEED_LOOK_S = 0.25
# Ids asked about in one statement.
CHUNK = 500


class EndFeed(Protocol):
    """What the engine says about jobs that ended in other processes."""

    def payloads(self, timeout_s: float) -> Sequence[str] | None:
        """Ids of jobs that ended (waiting at most ``timeout_s`` for one), or ``None``:
        something changed, ask which watched jobs ended."""
        ...

    def close(self) -> None:
        """Release the feed's connection."""
        ...


class ChangeCounterFeed:
    """SQLite: the database's change counter, read with backoff on the feed's own thread.

    ``PRAGMA data_version`` moves when another connection (of any process)
    commits; it is read from the WAL's shared memory, so a read with nothing
    new costs a few microseconds. The backoff between reads doubles while
    nothing moves, from :data:`COUNTER_MIN_S` to :data:`COUNTER_MAX_S`.
    """

    def __init__(self, database: Database, clock: Clock, stop: threading.Event) -> None:
        self.database = database
        self.clock = clock
        self.stop = stop
        self.interval = COUNTER_MIN_S
        self.last = self._counter()

    def _counter(self) -> int:
        row = self.database.query_one("PRAGMA data_version")
        return int(row[0]) if row is not None else 0

    def payloads(self, timeout_s: float) -> Sequence[str] | None:
        """``None`` once the counter moved; an empty list when ``timeout_s`` passed first."""
        waited = 0.0
        while waited < timeout_s and not self.stop.is_set():
            step = min(self.interval, timeout_s - waited)
            if self.clock.wait(self.stop, step):
                break
            waited += step
            current = self._counter()
            if current != self.last:
                self.last = current
                return None
            self.interval = min(self.interval * 2, COUNTER_MAX_S)
        return []

    def heard(self, useful: bool) -> None:
        """Read quickly again after a change that woke a waiter; slower after one that did not."""
        self.interval = COUNTER_MIN_S if useful else min(self.interval * 2, COUNTER_MAX_S)

    def close(self) -> None:
        """Nothing to release: the connection is the database's, for this thread."""


class Watch:
    """One waiter's hold on a job id: set when the job ends (or may have)."""

    def __init__(self, job_id: str, clock: Clock) -> None:
        self.job_id = job_id
        self.clock = clock
        self.event = threading.Event()

    def wait(self, timeout_s: float) -> bool:
        """Wait for the job's end, at most ``timeout_s``; whether a wake-up came.

        The wake-up is used up: read the job after this returns, then wait again.
        """
        woke = self.clock.wait(self.event, timeout_s)
        self.event.clear()
        return woke


class JobEnds:
    """The watches of this process on job ids, and the wake-ups that set them."""

    def __init__(self, database: Database, clock: Clock = SYSTEM_CLOCK) -> None:
        self.database = database
        self.clock = clock
        self._watches: dict[str, list[Watch]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._feed: threading.Thread | None = None
        # Set while the feed hears the engine (after its first look at the watched jobs).
        self.listening = threading.Event()
        # Set while anyone waits (or on close): an idle feed thread sleeps on it.
        self._wanted = threading.Event()

    @contextmanager
    def watching(self, job_id: str) -> Iterator[Watch]:
        """A watch on ``job_id`` for the block: take it *before* reading the job, so an
        end committed between the read and the wait still wakes it."""
        watch = Watch(job_id, self.clock)
        with self._lock:
            self._watches.setdefault(job_id, []).append(watch)
            self._wanted.set()
            if self._feed is None and not self._stop.is_set():
                self._feed = threading.Thread(target=self._listen, name="job-ends", daemon=True)
                self._feed.start()
        try:
            yield watch
        finally:
            with self._lock:
                held = self._watches.get(job_id, [])
                if watch in held:
                    held.remove(watch)
                if not held:
                    self._watches.pop(job_id, None)

    def announce_in(self, tx: Tx, job_id: str) -> None:
        """Wake this process's waiters on ``job_id`` once ``tx`` (which ends it) commits.

        Other processes hear it from the engine (see the module).
        """
        tx.on_commit(lambda: self._wake(job_id))

    def _wake(self, job_id: str) -> None:
        self.ended([job_id])

    def ended(self, job_ids: Sequence[str]) -> int:
        """Set the watches on ``job_ids``; how many were not set already."""
        woken = 0
        with self._lock:
            for job_id in job_ids:
                for watch in self._watches.get(job_id, ()):
                    if not watch.event.is_set():
                        watch.event.set()
                        woken += 1
        if woken:
            self.clock.nudge()
        return woken

    def watched(self) -> list[str]:
        """The job ids someone in this process waits for."""
        with self._lock:
            return list(self._watches)

    def check_watched(self) -> int:
        """Ask the database which watched jobs ended; wake their waiters; how many woke."""
        ids = self.watched()
        finished: list[str] = []
        dialect = self.database.dialect
        for start in range(0, len(ids), CHUNK):
            rows = self.database.query(
                f"SELECT id FROM jobs WHERE {dialect.in_list('id')} "
                "AND status IN ('DONE', 'FAILED')",
                (dialect.list_param(ids[start : start + CHUNK]),),
            )
            finished.extend(str(row[0]) for row in rows)
        return self.ended(finished) if finished else 0

    def _open_feed(self) -> EndFeed:
        listener = self.database.listen(JOB_END_CHANNEL)
        if listener is not None:
            return listener
        # The counter is read at the machine's pace, not the app's (a fake clock in tests).
        return ChangeCounterFeed(self.database, SYSTEM_CLOCK, self._stop)

    def _listen(self) -> None:
        """The feed thread: wake this process's waiters on what the engine says."""
        feed: EndFeed | None = None
        while not self._stop.is_set():
            if not self._needed():
                # Nobody waits: a server's listening connection is closed (its queue of
                # notifications must not grow), SQLite's counter is kept; sleep until wanted.
                if feed is not None and not isinstance(feed, ChangeCounterFeed):
                    feed.close()
                    feed = None
                self._wanted.wait()
                continue
            try:
                if feed is None:
                    feed = self._open_feed()
                    # Ends committed before the feed listened are looked up once.
                    self.check_watched()
                    self.listening.set()
                heard = feed.payloads(FEED_LOOK_S)
                if heard is None:
                    useful = self.check_watched() > 0
                    if isinstance(feed, ChangeCounterFeed):
                        feed.heard(useful)
                elif heard:
                    self.ended(heard)
            except Exception as error:
                # A failed engine costs waiters their bounded poll, never their answer.
                fields = {"error": f"{type(error).__name__}: {error}"}
                log.warning(
                    "Job-end feed failed; waiters fall back to polling", extra={"fields": fields}
                )
                self.listening.clear()
                if feed is not None:
                    feed.close()
                    feed = None
                SYSTEM_CLOCK.wait(self._stop, FEED_RETRY_S)
        if feed is not None:
            feed.close()

    def _needed(self) -> bool:
        """Whether anyone waits; if not, the feed is no longer listening."""
        with self._lock:
            if self._watches:
                return True
            self._wanted.clear()
            self.listening.clear()
            return False

    def close(self) -> None:
        """Stop the feed thread (it closes its connection)."""
        with self._lock:
            self._stop.set()
            self._wanted.set()
            feed = self._feed
        self.clock.nudge()
        if feed is not None and feed is not threading.current_thread():
            feed.join(timeout=FEED_RETRY_S * 2)
