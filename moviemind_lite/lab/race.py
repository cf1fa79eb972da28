"""Racing strategies: the scenario's requests, asked and answered by the production code.

A race builds the application over a scratch home with the composition root
every front end uses, then each request waits for its arrival (all together
behind a barrier, or spread out) and asks exactly what ``moviemind movies
show --no-wait`` asks: :meth:`Generation.request` (the answer cache, the
generation flag, the strategy's dispatch). A request then waits for its job to
end. Jobs run as the application runs them: in a pool of ``workers`` threads
that the application hands each new job to (threads mode), or in ``workers``
processes working as ``moviemind worker`` does (processes mode).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import InvalidInput, MovieMindError
from moviemind_lite.core.events import Events, Phase, PhaseEvent
from moviemind_lite.lab.drivers import Answers, JobDriver, ThreadWorkers
from moviemind_lite.lab.metrics import Aftermath, Metrics, RequestRecord, aftermath, measure
from moviemind_lite.lab.processes import ProcessWorkers
from moviemind_lite.lab.scenario import CONTEXT_TAG, LOCALE, Backend, Scenario
from moviemind_lite.lab.schedule import Schedule, ScheduleError, ScheduleGate
from moviemind_lite.lab.scratch import (
    RaceThreads,
    Servers,
    lab_settings,
    prepare_scratch,
    scratch_home,
    scratch_logging,
    scratch_servers,
)
from moviemind_lite.lab.timeline import (
    GENERATING,
    PhaseLog,
    TimelineRow,
    draw_bar,
    spans,
    timeline_rows,
)
from moviemind_lite.pipeline.strategies import STRATEGIES, strategy_factory
from moviemind_lite.store.leases import STALE_WRITE
from moviemind_lite.store.tallies import tally

# The order the lab shows strategies in: the registry's, from no protection to the shipped design.
TEACHING_ORDER = tuple(STRATEGIES)

# (label, requests answered, requests): called on the answering thread, must not block.
Progress = Callable[[str, int, int], None]
# (label, job id, phase, time.monotonic()): each phase a job enters, as it enters it,
# called on the job's (or request's) thread: it must not block either.
PhaseWatcher = Callable[[str, str, str, float], None]
# How often a stopped race's waits look at the stop event.
_STOP_POLL_S = 0.05
STOPPED = "the race was stopped"


class RaceStopped(MovieMindError):
    """The caller stopped a race (``stop`` was set) before it ended; ``finished`` ran to the end."""

    def __init__(self, finished: tuple[RaceResult, ...] = ()) -> None:
        done = f" after {len(finished)} finished" if finished else ""
        super().__init__(STOPPED + done)
        self.finished = finished

    @classmethod
    def check(cls, stop: threading.Event | None) -> None:
        """Raise if ``stop`` is set: the one way a race or lesson looks at its stop."""
        if stop is not None and stop.is_set():
            raise cls()


def strategy_names(spec: str) -> list[str]:
    """The strategies named in ``a,b,...`` (or ``all``), each checked against the registry."""
    if spec.strip() == "all":
        return list(TEACHING_ORDER)
    names = list(dict.fromkeys(name.strip() for name in spec.split(",") if name.strip()))
    if not names:
        raise InvalidInput("no strategy named: give a,b,... or all")
    for name in names:
        strategy_factory(name)
    return names


# How a request was answered, by the status of its outcome: from the stored text,
# by a job it created, or by a job already on its way that it joined.
_HOW = {"done": "stored", "queued": "created", "in_progress": "joined"}


# Request threads at most: a bigger crowd shares them, each thread issuing its
# requests in arrival order, so that 10,000 requests do not need 10,000 threads.
# 32 covers every lesson's crowd; 64 made a 10,000-request burst spend a tenth
# more time handing the interpreter lock between threads.
MAX_CLIENTS = 32


class RequestCrowd:
    """The scenario's requests, released together behind a barrier, then spread out.

    Up to :data:`MAX_CLIENTS` requests each get a thread of their own; beyond
    that, request ``i`` is issued by thread ``i % MAX_CLIENTS``. A request's
    latency runs from its arrival (the release, plus its spread offset) to
    its answer, so time spent waiting for a free client thread counts, as a
    queue in front of a server would. Its threads join ``race`` (their log
    records are the race's); once ``stop`` is set they issue nothing more.
    """

    def __init__(
        self,
        scenario: Scenario,
        app: App,
        driver: JobDriver,
        events: Events,
        answers: Answers,
        on_answer: Callable[[int], None],
        race: RaceThreads | None = None,
        stop: threading.Event | None = None,
        gate: ScheduleGate | None = None,
    ) -> None:
        self.scenario = scenario
        self.gate = gate
        self.app = app
        self.driver = driver
        self.events = events
        self.answers = answers
        self.on_answer = on_answer
        self.race = race
        self.stop = stop
        count = scenario.requests
        self._how: list[str] = ["error"] * count
        self._job: list[str | None] = [None] * count
        self._arrived: list[float | None] = [None] * count
        self._answered: list[float | None] = [None] * count
        self._error: list[str | None] = [None] * count
        self._is_settled = [False] * count
        self._settled = 0
        self._all_settled = threading.Event()
        self._released: list[float] = []
        self._lock = threading.Lock()
        # Generous: a run this late has hung (a bug, or every worker dead).
        self.deadline_s = 60 + 3 * count * scenario.longest_call_ms / 1000

    def run(self) -> list[RequestRecord]:
        """Release every request and wait until each is answered (or the deadline passes)."""
        clients = min(self.scenario.requests, MAX_CLIENTS)
        barrier = threading.Barrier(clients, action=lambda: self._released.append(time.monotonic()))
        threads = [
            threading.Thread(target=self._issue, args=(client, barrier), name=f"request-{client}")
            for client in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        released = self._released[0] if self._released else time.monotonic()
        # A client thread that died on a bug (its traceback is printed) leaves
        # requests that got no answer, not requests that never were.
        for index, arrived in enumerate(self._arrived):
            if arrived is None:
                self._arrived[index] = released
                self._settle(
                    index, None, STOPPED if self._stopped() else "the request's thread crashed"
                )
        self._wait_for_answers(released + self.deadline_s)
        with self._lock:
            return [
                RequestRecord(
                    index,
                    self.scenario.slug_for(index),
                    self._how[index],
                    self._job[index],
                    self._arrived[index] or released,
                    self._answered[index],
                    self._error[index] or (None if self._answered[index] else self._no_answer()),
                )
                for index in range(self.scenario.requests)
            ]

    def _stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _no_answer(self) -> str:
        return STOPPED if self._stopped() else "no answer before the race's deadline"

    def _wait_for_answers(self, deadline: float) -> None:
        if self.stop is None:
            self._all_settled.wait(max(deadline - time.monotonic(), 0.0))
            return
        while not self._stopped():
            left = deadline - time.monotonic()
            if left <= 0 or self._all_settled.wait(min(left, _STOP_POLL_S)):
                return

    def _pause(self, seconds: float) -> None:
        if self.stop is None:
            time.sleep(seconds)
        else:
            self.stop.wait(seconds)

    def _issue(self, client: int, barrier: threading.Barrier) -> None:
        if self.race is not None:
            self.race.add_current_thread()
        try:
            barrier.wait()
            released = self._released[0]
            for index in range(client, self.scenario.requests, MAX_CLIENTS):
                arrival = released + self.scenario.arrival.offset_ms(index) / 1000
                delay = arrival - time.monotonic()
                if delay > 0:
                    self._pause(delay)
                if self._stopped():
                    # Never issued: run() records it as arrived at the release.
                    return
                try:
                    self._request(index, arrival)
                except BaseException as crash:
                    # A bug: settle the request (the race must not wait for its
                    # deadline), then let the thread die with its traceback.
                    self._settle(
                        index, None, f"the request crashed: {type(crash).__name__}: {crash}"
                    )
                    raise
        finally:
            if self.race is not None:
                self.race.remove_current_thread()

    def _request(self, index: int, arrived: float) -> None:
        self._arrived[index] = arrived
        if self.gate is not None:
            self.gate.dispatching(index)
        try:
            outcome = self.app.generation.request(
                MOVIE,
                self.scenario.slug_for(index),
                locale=LOCALE,
                context_tag=CONTEXT_TAG,
                wait=False,
            )
        except MovieMindError as failure:
            if self.gate is not None:
                self.gate.dispatched(index, None, created=False)
            self._settle(index, None, str(failure))
            return
        how = _HOW[outcome.status]
        job_id = outcome.job.id if outcome.job else None
        self._how[index], self._job[index] = how, job_id
        if job_id is not None and how == "created":
            self.events.phase(job_id, Phase.QUEUED)
        if self.gate is not None:
            # Named before its end can be heard: a job done already would
            # announce it on this thread, and the gate holds unnamed jobs.
            self.gate.dispatched(index, job_id, created=how == "created")
        if job_id is None:
            self._settle(index, time.monotonic(), None)
            return
        if how == "created":
            self.driver.running(job_id, outcome.running)
        self.answers.when_ended(job_id, lambda error: self._settle(index, time.monotonic(), error))

    def _settle(self, index: int, answered_at: float | None, error: str | None) -> None:
        with self._lock:
            if self._is_settled[index]:
                return
            self._is_settled[index] = True
            self._answered[index], self._error[index] = answered_at, error
            self._settled += 1
            settled = self._settled
            if settled == self.scenario.requests:
                self._all_settled.set()
        self.on_answer(settled)


@dataclass(frozen=True)
class RaceResult:
    """One strategy's race: its metrics, its jobs' phases and timeline, what it left behind."""

    label: str
    strategy: str
    scenario: Scenario
    metrics: Metrics
    aftermath: Aftermath
    phases: dict[str, list[tuple[str, float]]]
    timeline: tuple[TimelineRow, ...]
    span_ms: float
    kept_home: Path | None
    # When the timeline begins and ends (time.monotonic()).
    window: tuple[float, float] = (0.0, 0.0)
    # Every request: when it arrived, how dispatch met it, which job answered it.
    requests: tuple[RequestRecord, ...] = ()
    # The steps a schedule replayed, in order (``race --schedule``).
    replayed: tuple[str, ...] = ()

    @property
    def correct(self) -> bool:
        """One movie and one description per slug, no duplicates, no failed job."""
        return self.metrics.correct

    @property
    def ideal_ms(self) -> float:
        """The race's floor: one AI call per slug, ``workers`` at a time. The mock's call
        takes the scenario's latency; a real model's call is measured: the median time the
        race's jobs spent generating (the scenario's latency means nothing to a model)."""
        if self.scenario.ai != "local":
            return self.scenario.ideal_ms
        calls = sorted(
            (end - start) * 1000
            for events in self.phases.values()
            for start, end in spans(events, GENERATING)
        )
        if not calls:
            return 0.0
        return self.scenario.rounds * calls[len(calls) // 2]

    def timeline_drawn(self, width: int) -> tuple[TimelineRow, ...]:
        """The timeline with its bars redrawn ``width`` columns wide (same rows, same order)."""
        start, end = self.window
        return tuple(
            replace(row, bar=draw_bar(self.phases[row.job_id], start, end, width))
            if row.job_id in self.phases
            else row
            for row in self.timeline
        )

    def to_json(self) -> dict[str, Any]:
        """``race --json``: the engines, the scenario, the metrics and whether the outcome
        was correct."""
        return {
            "backend": self.scenario.backend,
            "locks": self.scenario.locks,
            "scenario": self.scenario.to_json(),
            "metrics": self.metrics.to_json(),
            "correct": self.correct,
        }


def compare_json(scenario: Scenario, results: list[RaceResult]) -> dict[str, Any]:
    """``compare --json``: the scenario once, then each strategy's metrics and correctness."""
    return {
        "scenario": scenario.to_json(),
        "results": [
            {
                "strategy": result.strategy,
                "label": result.label,
                "backend": result.scenario.backend,
                "locks": result.scenario.locks,
                "metrics": result.metrics.to_json(),
                "correct": result.correct,
            }
            for result in results
        ],
    }


def _endings(app: App) -> tuple[dict[str, str], dict[str, str]]:
    labels, endings = {}, {}
    for job in app.jobs.list(limit=None):
        labels[job.id] = f"{job.slug} {job.id[-4:]}"
        if job.status == "FAILED":
            error = job.error or ""
            endings[job.id] = STALE_WRITE if error.startswith(STALE_WRITE) else "failed"
        else:
            endings[job.id] = job.result or job.status
    return labels, endings


def run_race(
    scenario: Scenario,
    strategy: str,
    *,
    label: str | None = None,
    on_progress: Progress | None = None,
    on_phase: PhaseWatcher | None = None,
    stop: threading.Event | None = None,
    servers: Servers | None = None,
    schedule: Schedule | None = None,
    gate: ScheduleGate | None = None,
) -> RaceResult:
    """Race ``strategy`` through ``scenario`` in a scratch home; count what happened.

    A scenario on PostgreSQL or Redis races in a schema and key prefix of its
    own on ``servers``, dropped afterwards. ``on_progress`` hears of each
    answer and ``on_phase`` of each phase a job enters, as they happen, from
    the race's threads. Setting ``stop`` (from any thread) ends the race
    early: no new request is issued, queued jobs are dropped, running ones
    finish, and :class:`RaceStopped` is raised. A ``schedule`` (:mod:`.schedule`)
    is replayed one step at a time (a step that cannot happen raises
    ``ScheduleError``); a ``gate`` (a game's) takes the steps from whoever plays.
    """
    scenario = scenario.validated()
    strategy_factory(strategy)
    gate = _gate_for(scenario, strategy, schedule, gate)
    label = label or strategy
    RaceStopped.check(stop)

    def answered(count: int) -> None:
        if on_progress is not None:
            on_progress(label, count, scenario.requests)

    with (
        scratch_home(scenario.keep) as home,
        scratch_servers(servers, scenario.backend, scenario.locks, keep=scenario.keep) as scratch,
    ):
        settings = lab_settings(home, scenario, strategy, scratch)
        with scratch_logging(settings.log_path) as race:
            prepare_scratch(settings, scenario)
            events, log = _race_sink(label, on_phase, gate)
            answers = Answers()
            if scenario.mode == "threads":
                threads = ThreadWorkers(scenario.workers, events, answers, race, stop)
                driver: JobDriver = threads
                executor: Executor | None = threads.executor
            else:
                driver = ProcessWorkers(home, scenario, strategy, scratch, events, answers)
                executor = None
            with build_app(settings, load_sample=False, executor=executor, events=events) as app:
                app.catalog.check_writable(f"race {strategy}")
                if gate is not None:
                    gate.count_on(app.database, app.job_store.slots)
                crowd = RequestCrowd(
                    scenario, app, driver, events, answers, answered, race, stop, gate
                )
                records = _run_crowd(crowd, driver, stop, gate)
                replayed = tuple(gate.replayed) if gate is not None else ()
                return _count(app, scenario, strategy, label, records, log, home, replayed)


def _gate_for(
    scenario: Scenario, strategy: str, schedule: Schedule | None, gate: ScheduleGate | None
) -> ScheduleGate | None:
    """The race's gate: the schedule's (replayed), the caller's (played) or none."""
    if schedule is not None:
        schedule.check_fits(scenario)
        gate = ScheduleGate(schedule, strategy)
    if gate is not None and scenario.mode != "threads":
        raise ScheduleError("schedule: a schedule replays a race in threads mode")
    return gate


def _run_crowd(
    crowd: RequestCrowd,
    driver: JobDriver,
    stop: threading.Event | None,
    gate: ScheduleGate | None = None,
) -> list[RequestRecord]:
    """The crowd's requests, answered while ``driver`` runs their jobs (and ``gate``
    replays its schedule)."""
    driver.start()
    if gate is not None:
        gate.start()
    try:
        records = crowd.run()
    finally:
        if gate is not None:
            gate.close()  # a stopped or stuck race's jobs must finish
        driver.stop()
    RaceStopped.check(stop)
    if gate is not None:
        gate.check()
    return records


def _race_sink(
    label: str, on_phase: PhaseWatcher | None, gate: ScheduleGate | None = None
) -> tuple[Events, PhaseLog]:
    """The race's event sink and the log of its phases, subscribed.

    The race's app's jobs, its drivers and (processes mode) its worker
    processes announce there; the timelines and the caller's watcher subscribe.
    A race replaying a schedule builds it with the schedule's gate.
    """
    events, log = Events(gate=gate), PhaseLog()
    events.subscribe(log.hear)
    if on_phase is not None:

        def watched(event: PhaseEvent) -> None:
            on_phase(label, event.job_id, event.phase, event.at)

        events.subscribe(watched)
    return events, log


def _count(
    app: App,
    scenario: Scenario,
    strategy: str,
    label: str,
    records: list[RequestRecord],
    log: PhaseLog,
    home: Path,
    replayed: tuple[str, ...] = (),
) -> RaceResult:
    """What a finished race left: its metrics, its aftermath and its timeline."""
    phases = log.by_job()
    counted = tally(app.database, app.job_store.slots, MOVIE)
    metrics = measure(counted, scenario.all_slugs(), records, phases)
    left = aftermath(counted, records)
    start = min(record.arrived_at for record in records)
    end = max(
        [record.answered_at or record.arrived_at for record in records]
        + [events[-1][1] for events in phases.values()]
    )
    labels, endings = _endings(app)
    rows = timeline_rows(phases, labels, endings, start, end)
    return RaceResult(
        label,
        strategy,
        scenario,
        metrics,
        left,
        phases,
        tuple(rows),
        round((end - start) * 1000, 1),
        home if scenario.keep else None,
        (start, end),
        tuple(records),
        replayed,
    )


def run_compare(
    scenario: Scenario,
    strategies: list[str],
    on_progress: Progress | None = None,
    *,
    on_phase: PhaseWatcher | None = None,
    stop: threading.Event | None = None,
    backends: Sequence[Backend] | None = None,
    servers: Servers | None = None,
) -> list[RaceResult]:
    """The same scenario raced under each strategy in turn, each in its own scratch home.

    With ``backends``, each strategy races on each backend (one result per
    strategy and backend, labelled ``strategy (backend)``). Stopped (see
    :func:`run_race`), it raises :class:`RaceStopped` carrying the races that
    finished.
    """
    for name in strategies:
        strategy_factory(name)
    on = [scenario.changed(backend=backend) for backend in backends or [scenario.backend]]
    races = [
        (where, name, f"{name} ({where.backend})" if len(on) > 1 else name)
        for name in strategies
        for where in on
    ]
    return race_in_turn(
        races, on_progress=on_progress, on_phase=on_phase, stop=stop, servers=servers
    )


def race_in_turn(
    races: Sequence[tuple[Scenario, str, str]],
    *,
    on_progress: Progress | None = None,
    on_phase: PhaseWatcher | None = None,
    stop: threading.Event | None = None,
    servers: Servers | None = None,
) -> list[RaceResult]:
    """Each ``(scenario, strategy, label)`` raced in turn, each in its own scratch home.

    Stopped (see :func:`run_race`), it raises :class:`RaceStopped` carrying
    the races that finished.
    """
    results: list[RaceResult] = []
    for scenario, strategy, label in races:
        try:
            results.append(
                run_race(
                    scenario,
                    strategy,
                    label=label,
                    on_progress=on_progress,
                    on_phase=on_phase,
                    stop=stop,
                    servers=servers,
                )
            )
        except RaceStopped:
            raise RaceStopped(tuple(results)) from None
    return results
