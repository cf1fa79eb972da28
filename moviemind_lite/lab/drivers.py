"""Where a race's jobs run, and how the waiting requests learn that they ended.

Threads mode gives the application a pool of ``workers`` threads, to which it
hands each job a request creates; processes mode (:mod:`.processes`) leaves
PENDING jobs to worker processes. Either way a job's end reaches
:class:`Answers`, where its requests wait.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Protocol

from moviemind_lite.core.events import Events, Phase
from moviemind_lite.core.model import Job
from moviemind_lite.lab.scratch import RaceThreads

AnswerCallback = Callable[[str | None], None]


class Answers:
    """Which jobs have ended, and who is waiting to hear it.

    Waiting is a callback, not a thread: a crowd of ten thousand requests
    must not need ten thousand threads to learn that their jobs ended.
    """

    def __init__(self) -> None:
        self._ended: dict[str, str | None] = {}
        self._waiting: dict[str, list[AnswerCallback]] = defaultdict(list)
        self._lock = threading.Lock()

    def finish(self, job_id: str, error: str | None = None) -> None:
        """``job_id`` ended (``error``: it could not be run to its end); tell its waiters."""
        with self._lock:
            if job_id in self._ended:
                return
            self._ended[job_id] = error
            waiting = self._waiting.pop(job_id, [])
        for callback in waiting:
            callback(error)

    def when_ended(self, job_id: str, callback: AnswerCallback) -> None:
        """Call ``callback(error)`` once ``job_id`` has ended (now, if it already has)."""
        with self._lock:
            if job_id not in self._ended:
                self._waiting[job_id].append(callback)
                return
            error = self._ended[job_id]
        callback(error)


class JobDriver(Protocol):
    """Where the race's jobs run."""

    def start(self) -> None:
        """Be ready to run jobs."""
        ...

    def running(self, job_id: str, future: Future[Job] | None) -> None:
        """A request created ``job_id``; ``future`` is its run in this process, if any."""
        ...

    def stop(self) -> None:
        """Every request has its answer: stop."""
        ...


# How long the pool's threads may take to start, all of them.
_POOL_START_S = 10.0
STOPPED_BEFORE_RUN = "the race was stopped before this job ran"


class ThreadWorkers:
    """Threads mode: the application hands each created job to this pool of ``workers`` threads.

    With ``race``, the pool's threads are started up front and join the race
    (their log records and phases are the race's). With ``stop``, a stopped
    race drops the jobs still queued instead of running them.
    """

    def __init__(
        self,
        workers: int,
        events: Events,
        answers: Answers,
        race: RaceThreads | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self.workers = workers
        self.events = events
        self.answers = answers
        self.race = race
        self.stop_event = stop

    def start(self) -> None:
        """Start the pool's threads, each joining the race (without a race: on first use)."""
        race = self.race
        if race is None:
            return
        # One task per thread, held at a barrier until every thread has one:
        # the pool cannot hand two of them to the same thread, so it starts
        # all of its threads, each of which joins the race before any job.
        gathered = threading.Barrier(self.workers)

        def join_race() -> None:
            race.add_current_thread()
            # A slow start breaks the barrier: the threads have joined all the same.
            with suppress(threading.BrokenBarrierError):
                gathered.wait(_POOL_START_S)

        for started in [self.executor.submit(join_race) for _ in range(self.workers)]:
            started.result()

    def running(self, job_id: str, future: Future[Job] | None) -> None:
        """Hear when the pool's run of ``job_id`` ends."""
        assert future is not None, "threads mode runs every created job in its pool"
        future.add_done_callback(lambda done: self._ended(job_id, done))

    def _ended(self, job_id: str, future: Future[Job]) -> None:
        self.events.phase(job_id, Phase.ENDED)
        if future.cancelled():
            self.answers.finish(job_id, STOPPED_BEFORE_RUN)
            return
        error = future.exception()
        self.answers.finish(job_id, None if error is None else f"{type(error).__name__}: {error}")

    def stop(self) -> None:
        """Wait for the pool's threads (when the race was stopped: only for running jobs)."""
        stopped = self.stop_event is not None and self.stop_event.is_set()
        self.executor.shutdown(wait=True, cancel_futures=stopped)
