"""Where a race's jobs run, and how the waiting requests learn that they ended.

Threads mode drives each created job in a :class:`ThreadPoolRunner` of
``workers`` threads; processes mode (:mod:`.processes`) leaves PENDING jobs to
worker processes. Either way a job's end reaches :class:`Answers`, where its
requests wait.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Protocol

from moviemind_lite.jobs.model import Job
from moviemind_lite.jobs.runner import ThreadPoolRunner
from moviemind_lite.lab.rig import Rig
from moviemind_lite.lab.timeline import ENDED, PhaseLog


class Answers:
    """Which jobs have ended, for the requests waiting on them."""

    def __init__(self) -> None:
        self._ended: dict[str, threading.Event] = {}
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def _event(self, job_id: str) -> threading.Event:
        with self._lock:
            return self._ended.setdefault(job_id, threading.Event())

    def finish(self, job_id: str, error: str | None = None) -> None:
        """``job_id`` ended (``error``: it could not be run to its end)."""
        if error is not None:
            with self._lock:
                self._errors[job_id] = error
        self._event(job_id).set()

    def wait(self, job_id: str, timeout_s: float) -> str | None:
        """Wait for ``job_id`` to end; ``None`` once it has, else why the request got no answer."""
        if not self._event(job_id).wait(max(timeout_s, 0.0)):
            return "no answer before the race's deadline"
        with self._lock:
            return self._errors.get(job_id)


class JobDriver(Protocol):
    """Where the race's jobs run."""

    def start(self) -> None:
        """Be ready to run jobs."""
        ...

    def submit(self, job_id: str) -> None:
        """A request created ``job_id``: see that it runs."""
        ...

    def stop(self) -> None:
        """Every request has its answer: stop."""
        ...


class ThreadWorkers:
    """Threads mode: each created job is driven to its end in a pool of ``workers`` threads."""

    def __init__(self, rig: Rig, workers: int, log: PhaseLog, answers: Answers) -> None:
        self.pool = ThreadPoolRunner(rig.runner, workers)
        self.log = log
        self.answers = answers

    def start(self) -> None:
        """The pool starts its threads on first use."""

    def submit(self, job_id: str) -> None:
        """Drive ``job_id`` in the pool."""
        future = self.pool.submit(job_id)
        future.add_done_callback(lambda done: self._ended(job_id, done))

    def _ended(self, job_id: str, future: Future[Job]) -> None:
        self.log.record(job_id, ENDED)
        error = future.exception()
        self.answers.finish(job_id, None if error is None else f"{type(error).__name__}: {error}")

    def stop(self) -> None:
        """Wait for the pool's threads."""
        self.pool.shutdown()
