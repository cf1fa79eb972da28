"""Processes mode: the race's jobs run in worker processes, as ``moviemind worker`` runs them.

Each worker process builds the application over the scratch home (the same
composition root, the same settings) and works as ``moviemind worker`` does,
claiming PENDING jobs from the race's database. Its jobs' phases and ends travel back to the
racing process on one queue. When the scenario kills the holder, the mock AI
SIGKILLs its worker after the AI call and before the write; a replacement
process is started, and the dead worker's job is taken back by whichever
worker claims it once its lease runs out.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.process import BaseProcess
from multiprocessing.queues import SimpleQueue
from pathlib import Path

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.errors import StoreError
from moviemind_lite.core.events import Events, Phase, PhaseEvent
from moviemind_lite.core.model import FINISHED, Job
from moviemind_lite.lab.drivers import Answers
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.scratch import ScratchServers, lab_settings
from moviemind_lite.lab.timeline import KILLED

# (what, job id or pid, phase or status, time.monotonic())
Event = tuple[str, str, str, float]
_START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs to build its application (picklable)."""

    home: Path
    scenario: Scenario
    strategy: str
    servers: ScratchServers


class _SendPhases:
    """Subscribed to the worker's app events: sends each phase to the racing process.

    The times cross as they were taken (``time.monotonic()``, one clock for
    every process on the machine); the racing process announces them on its
    own sink, as if its own jobs had.
    """

    def __init__(self, events: SimpleQueue[Event]) -> None:
        self.events = events

    def __call__(self, event: PhaseEvent) -> None:
        """Send the phase with the time it was entered."""
        self.events.put(("phase", event.job_id, event.phase.value, event.at))


def worker_main(spec: WorkerSpec, events: SimpleQueue[Event]) -> None:
    """A worker process: claim and run the race's jobs until SIGTERM, reporting on ``events``."""
    settings = lab_settings(spec.home, spec.scenario, spec.strategy, spec.servers)
    with build_app(settings, load_sample=False) as app, app.events.subscribed(_SendPhases(events)):
        run = app.jobs.work(threads=1)
        events.put(("ready", str(os.getpid()), "", time.monotonic()))
        for job in run:
            if job.ended is not None:
                events.put(("end", job.ended.id, job.ended.status, time.monotonic()))


def start_resource_tracker() -> None:
    """Make sure multiprocessing's resource tracker runs, even under a captured stderr.

    The tracker process is handed ``sys.stderr.fileno()``; a front end that
    captures stderr (Textual's capture says -1) would make starting it, and so
    making the race's queue, fail. The tracker gets the process's real stderr.
    """
    try:
        usable = sys.stderr is None or sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = True  # no descriptor at all: the tracker does without one
    if usable or sys.__stderr__ is None:
        return
    captured, sys.stderr = sys.stderr, sys.__stderr__
    try:
        resource_tracker.ensure_running()
    finally:
        sys.stderr = captured


class ProcessWorkers:
    """``workers`` worker processes, plus a thread in this process reading their events."""

    def __init__(
        self,
        home: Path,
        scenario: Scenario,
        strategy: str,
        servers: ScratchServers,
        sink: Events,
        answers: Answers,
    ) -> None:
        self.spec = WorkerSpec(home, scenario, strategy, servers)
        self.count = scenario.workers
        self.sink = sink
        self.answers = answers
        # spawn, not fork: the racing process has threads (and locks held by them).
        self._context = multiprocessing.get_context("spawn")
        start_resource_tracker()
        self.events: SimpleQueue[Event] = self._context.SimpleQueue()
        self.processes: list[BaseProcess] = []
        self._lock = threading.Lock()
        self._ready = threading.Semaphore(0)
        self._reader = threading.Thread(target=self._read, name="lab-events", daemon=True)

    def start(self) -> None:
        """Start the processes and wait until each is ready to claim jobs."""
        self._reader.start()
        for _ in range(self.count):
            self._spawn()
        deadline = time.monotonic() + _START_TIMEOUT_S
        ready = 0
        while ready < self.count:
            if self._ready.acquire(timeout=0.1):
                ready += 1
                continue
            dead = [p.exitcode for p in self.processes if p.exitcode is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                raise StoreError(
                    f"a lab worker process exited (code {dead[0]}) before it was ready; a "
                    "script running processes mode needs an `if __name__ == '__main__':` guard"
                    if dead
                    else f"the lab's worker processes did not start in {_START_TIMEOUT_S:g} s"
                )

    def running(self, job_id: str, future: Future[Job] | None) -> None:
        """Nothing to do: the workers claim PENDING jobs from the database."""

    def _spawn(self) -> None:
        process = self._context.Process(
            target=worker_main, args=(self.spec, self.events), name="lab-worker", daemon=True
        )
        process.start()
        with self._lock:
            self.processes.append(process)

    def _read(self) -> None:
        while True:
            what, subject, detail, at = self.events.get()
            if what == "stop":
                return
            if what == "ready":
                self._ready.release()
            elif what == "phase":
                self.sink.phase(subject, Phase(detail), at)
                if detail == KILLED:
                    self._spawn()  # as a supervisor would: the pool keeps its size
            elif what == "end" and detail in FINISHED:
                self.sink.phase(subject, Phase.ENDED, at)
                self.answers.finish(subject)

    def stop(self) -> None:
        """SIGTERM every worker (they finish their job first), then stop reading events."""
        with self._lock:
            processes = list(self.processes)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
        self.events.put(("stop", "", "", 0.0))
        self._reader.join()
