"""Processes mode: the race's jobs run in worker processes, as ``moviemind worker`` runs them.

Each worker process builds the application over the scratch home (the same
composition root, the same settings) and works as ``moviemind worker`` does,
claiming PENDING jobs from the race's database. Its jobs' phases and ends travel back to the
racing process on one queue. When the scenario stops the holder, the mock AI
SIGSTOPs its worker after the AI call and before the write, and this process
sends it SIGCONT once the stop has lasted its time. When the scenario kills the
holder, the mock AI SIGKILLs its worker at that point instead; a replacement
process is started, and the dead worker's job is taken back by whichever
worker claims it once its lease runs out. With a clock skew, each worker's
clock runs ahead of the one started before it, and the first job always goes
to the first worker, whose clock is right.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, replace
from multiprocessing import resource_tracker
from multiprocessing.process import BaseProcess
from multiprocessing.queues import SimpleQueue
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.clock import SYSTEM_CLOCK, SkewedClock
from moviemind_lite.core.errors import StoreError
from moviemind_lite.core.events import Events, Phase, PhaseEvent
from moviemind_lite.core.model import FINISHED, Job
from moviemind_lite.lab.drivers import Answers
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.scratch import ScratchServers, lab_settings
from moviemind_lite.lab.timeline import KILLED, PAUSED

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
    # Which worker this is, in start order: its clock runs number x skew ahead.
    number: int = 0


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
        if event.phase == PAUSED:
            # Who is pausing: a holder that stops its own process needs someone
            # else to send it SIGCONT.
            self.events.put(("pausing", str(os.getpid()), event.job_id, event.at))
        self.events.put(("phase", event.job_id, event.phase.value, event.at))


def worker_main(spec: WorkerSpec, events: SimpleQueue[Event], first_job: ProcessEvent) -> None:
    """A worker process: claim and run the race's jobs until SIGTERM, reporting on ``events``.

    With a clock skew, this process's clock runs ``number`` x skew ahead, and
    every worker but the first waits to claim until a job has begun (``first_job``):
    the first job always goes to the process whose clock is right.
    """
    skew_ms = spec.number * spec.scenario.skew_ms
    clock = SkewedClock(skew_ms) if skew_ms else SYSTEM_CLOCK
    settings = lab_settings(spec.home, spec.scenario, spec.strategy, spec.servers)
    with (
        build_app(settings, load_sample=False, clock=clock) as app,
        app.events.subscribed(_SendPhases(events)),
    ):
        events.put(("ready", str(os.getpid()), "", time.monotonic()))
        if skew_ms:
            first_job.wait()
        run = app.jobs.work(threads=1)
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
        self._spawned = 0
        self.count = scenario.workers
        self.sink = sink
        self.answers = answers
        # spawn, not fork: the racing process has threads (and locks held by them).
        self._context = multiprocessing.get_context("spawn")
        start_resource_tracker()
        self.events: SimpleQueue[Event] = self._context.SimpleQueue()
        # Set once any job has begun (with a clock skew, the later workers wait for it).
        self.first_job = self._context.Event()
        self.processes: list[BaseProcess] = []
        self._lock = threading.Lock()
        self._ready = threading.Semaphore(0)
        self._timers: list[threading.Timer] = []
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
        spec = replace(self.spec, number=self._spawned)
        self._spawned += 1
        process = self._context.Process(
            target=worker_main,
            args=(spec, self.events, self.first_job),
            name="lab-worker",
            daemon=True,
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
            elif what == "pausing" and self.spec.scenario.stop_holder_ms > 0:
                self._resume_later(int(subject), self.spec.scenario.stop_holder_ms)
            elif what == "phase":
                self.first_job.set()
                self.sink.phase(subject, Phase(detail), at)
                if detail == KILLED:
                    self._spawn()  # as a supervisor would: the pool keeps its size
            elif what == "end" and detail in FINISHED:
                self.sink.phase(subject, Phase.ENDED, at)
                self.answers.finish(subject)

    def _resume_later(self, pid: int, after_ms: float) -> None:
        """SIGCONT the stopped process ``pid`` ``after_ms`` from now."""
        timer = threading.Timer(after_ms / 1000, _resume, args=(pid,))
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def stop(self) -> None:
        """SIGTERM every worker (they finish their job first), then stop reading events."""
        with self._lock:
            processes, timers = list(self.processes), list(self._timers)
        for timer in timers:
            timer.cancel()
        for process in processes:
            if process.is_alive():
                # A stopped process would not act on SIGTERM until it is continued.
                if process.pid is not None:
                    _resume(process.pid)
                process.terminate()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
        self.events.put(("stop", "", "", 0.0))
        self._reader.join()


def _resume(pid: int) -> None:
    """SIGCONT ``pid`` (gone already: nothing to resume)."""
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)
