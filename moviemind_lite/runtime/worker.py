"""The durable worker: claims PENDING jobs from the database until told to stop.

Several worker processes, on one machine or several, may share one database:
a claim is one write transaction (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL), so no two claim the same job, and a job whose
worker died is taken back once its lease expires. SIGINT or SIGTERM stops
claiming; jobs already running finish (or, if they cannot, their lease runs
out and another worker takes them back).

A worker thread outlives its engines: a claim that fails on an engine error
is retried with capped, jittered backoff ("Waiting for the engine", then
"Engine back"), and a thread whose loop dies of anything else is logged and
started again, so a worker never runs on fewer threads than it was given.

:meth:`Worker.runs` hands each job back to the caller as it ends, in the
caller's thread, so that whoever runs the worker decides what a job's end
means (the application judges its rollouts there).
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from moviemind_lite.core.backoff import Backoff, EngineWait
from moviemind_lite.core.errors import DiskFull, InvalidInput, StoreError
from moviemind_lite.core.model import DONE, FAILED, Job
from moviemind_lite.runtime.runner import JobRunner

log = logging.getLogger("moviemind.jobs")


@dataclass(frozen=True)
class Run:
    """One job a worker claimed, and how it ended (``ended`` is ``None``: its claim was lost)."""

    claimed: Job
    ended: Job | None


@dataclass
class WorkerReport:
    """What a worker did before it stopped."""

    claimed: int = 0
    done: int = 0
    failed: int = 0
    retried: int = 0
    lost: int = 0
    restarts: int = 0
    stopped_by: str = "idle"
    results: dict[str, int] = field(default_factory=dict)


class Worker:
    """Claims and runs jobs on ``threads`` threads of this process."""

    def __init__(
        self,
        runner: JobRunner,
        *,
        threads: int = 1,
        once: bool = False,
        max_jobs: int | None = None,
    ) -> None:
        if threads < 1:
            raise InvalidInput(f"threads must be >= 1, got {threads}")
        if max_jobs is not None and max_jobs < 1:
            raise InvalidInput(f"max jobs must be >= 1, got {max_jobs}")
        self.runner = runner
        self.threads = threads
        self.once = once
        self.max_jobs = max_jobs
        self.stop = threading.Event()
        # Runs as they end, for runs(); None marks a thread that stopped.
        self._ended: queue.SimpleQueue[Run | None] = queue.SimpleQueue()
        self.report = WorkerReport()
        self._lock = threading.Lock()

    def request_stop(self, reason: str = "stopped") -> None:
        """Stop claiming new jobs; running ones finish."""
        with self._lock:
            if not self.stop.is_set():
                self.report.stopped_by = reason
        self.stop.set()

    def _take_ticket(self) -> bool:
        with self._lock:
            if self.max_jobs is not None and self.report.claimed >= self.max_jobs:
                return False
            self.report.claimed += 1
            return True

    def _return_ticket(self) -> None:
        with self._lock:
            self.report.claimed -= 1

    def _record(self, status: str | None, result: str | None) -> None:
        with self._lock:
            if status is None:
                self.report.lost += 1
            elif status == DONE:
                self.report.done += 1
                key = result or "done"
                self.report.results[key] = self.report.results.get(key, 0) + 1
            elif status == FAILED:
                self.report.failed += 1
            else:
                self.report.retried += 1

    def _loop(self) -> None:
        restarts = EngineWait(
            self.runner.worker_id(), Backoff(0.1, 5.0), self.stop, clock=self.runner.jobs.clock
        )
        try:
            while True:
                try:
                    self._claim_and_run()
                    return
                except Exception as error:
                    with self._lock:
                        self.report.restarts += 1
                    log.exception(
                        "Worker thread died; starting it again",
                        extra={"fields": {"worker_id": self.runner.worker_id()}},
                    )
                    restarts.failed(error, "run the worker loop")
                    if self.stop.is_set():
                        return
        finally:
            self._ended.put(None)

    def _claim_and_run(self) -> None:
        jobs, poll = self.runner.jobs, self.runner.jobs.settings.poll_ms / 1000
        idle_wait = max(poll, 0.05)
        engine = EngineWait(self.runner.worker_id(), stop=self.stop, clock=jobs.clock)
        while not self.stop.is_set():
            if not self._take_ticket():
                self.request_stop("max-jobs")
                return
            try:
                job = jobs.claim_next(self.runner.worker_id())
            except StoreError as error:
                self._return_ticket()
                engine.failed(error, "claim a job")
                continue
            engine.succeeded()
            if job is None:
                self._return_ticket()
                if self.once:
                    return
                self.stop.wait(idle_wait)
                continue
            try:
                ended = self.runner.run_claimed(job)
            except DiskFull as error:
                # Its end could not be written: the lease returns the job. Wait before claiming.
                ended = None
                engine.failed(error, "record a job's end")
            self._record(ended.status if ended else None, ended.result if ended else None)
            self._ended.put(Run(job, ended))

    def run(self, handle_signals: bool = True) -> WorkerReport:
        """Work until idle (``once``), ``max_jobs`` claimed, or a stop signal; the report."""
        for _ in self.runs(handle_signals):
            pass
        return self.report

    def runs(self, handle_signals: bool = True) -> Iterator[Run]:
        """Work as :meth:`run` does, yielding each job as it ends (or is sent back).

        The runs are yielded in the calling thread, which also receives the
        stop signals.
        """
        previous: dict[signal.Signals, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():

            def on_signal(signum: int, frame: FrameType | None) -> None:
                self.request_stop(signal.Signals(signum).name)

            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, on_signal)
        threads = [
            threading.Thread(target=self._loop, name=f"worker-{index}")
            for index in range(self.threads)
        ]
        try:
            for thread in threads:
                thread.start()
            running = len(threads)
            while running:
                try:
                    # A timeout, so the main thread keeps receiving signals.
                    ended = self._ended.get(timeout=0.2)
                except queue.Empty:
                    continue
                if ended is None:
                    running -= 1
                else:
                    yield ended
        finally:
            self.stop.set()  # the caller may stop early: the threads stop claiming
            for thread in threads:
                thread.join()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
