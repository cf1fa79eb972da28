"""Racing strategies: the scenario's requests, dispatched and run by the production code.

Each request waits for its arrival (all together behind a barrier, or spread
out), then does what ``MovieMind.request`` does: inside one ``BEGIN
IMMEDIATE`` it answers from the stored text or lets the strategy dispatch a
job, and then waits for that job to end. Jobs run through
:class:`JobRunner` and :class:`JobBody`: in a :class:`ThreadPoolRunner` of
``workers`` threads (threads mode), or in ``workers`` processes running the
durable :class:`~moviemind_lite.jobs.worker.Worker` (processes mode).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviemind_lite.errors import InvalidInput, MovieMindError
from moviemind_lite.jobs import dispatch as job_dispatch
from moviemind_lite.jobs.model import JobRequest
from moviemind_lite.lab.drivers import Answers, JobDriver, ThreadWorkers
from moviemind_lite.lab.metrics import Aftermath, Metrics, RequestRecord, aftermath, measure
from moviemind_lite.lab.processes import ProcessWorkers
from moviemind_lite.lab.rig import Rig, lab_settings, prepare_scratch, scratch_home, scratch_logging
from moviemind_lite.lab.scenario import CONTEXT_TAG, LOCALE, Scenario
from moviemind_lite.lab.timeline import QUEUED, PhaseLog, TimelineRow, timeline_rows
from moviemind_lite.locks import STALE_WRITE
from moviemind_lite.strategies import STRATEGIES
from moviemind_lite.strategies.base import strategy_factory

# The order the lab shows strategies in: from no protection to the shipped design.
TEACHING_ORDER = (
    "none",
    "cache-lock",
    "cache-lock-recheck",
    "unique-index",
    "for-update",
    "setnx",
    "two-level",
)

Progress = Callable[[str, int, int], None]


def strategy_names(spec: str) -> list[str]:
    """The strategies named in ``a,b,...`` (or ``all``), each checked against the registry."""
    if spec.strip() == "all":
        return [
            *(n for n in TEACHING_ORDER if n in STRATEGIES),
            *(n for n in STRATEGIES if n not in TEACHING_ORDER),
        ]
    names = list(dict.fromkeys(name.strip() for name in spec.split(",") if name.strip()))
    if not names:
        raise InvalidInput("no strategy named: give a,b,... or all")
    for name in names:
        strategy_factory(name)
    return names


def dispatch_request(rig: Rig, request: JobRequest) -> tuple[str, str | None]:
    """What ``MovieMind.request`` does before it waits: ``(how, job id)``.

    ``how`` is ``stored`` (the text is there: no job), ``created`` or
    ``joined`` (the strategy handed back a job already on its way).
    """
    dispatched = job_dispatch.dispatch_request(rig.database, rig.strategy, request)
    return dispatched.how, dispatched.job.id if dispatched.job else None


# Request threads at most: a bigger crowd shares them, each thread issuing its
# requests in arrival order, so that 10,000 requests do not need 10,000 threads.
MAX_CLIENTS = 64


class RequestCrowd:
    """The scenario's requests, released together behind a barrier, then spread out.

    Up to :data:`MAX_CLIENTS` requests each get a thread of their own; beyond
    that, request ``i`` is issued by thread ``i % MAX_CLIENTS``. A request's
    latency runs from its arrival (the release, plus its spread offset) to
    its answer, so time spent waiting for a free client thread counts, as a
    queue in front of a server would.
    """

    def __init__(
        self,
        scenario: Scenario,
        rig: Rig,
        driver: JobDriver,
        log: PhaseLog,
        answers: Answers,
        on_answer: Callable[[int], None],
    ) -> None:
        self.scenario = scenario
        self.rig = rig
        self.driver = driver
        self.log = log
        self.answers = answers
        self.on_answer = on_answer
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
        self.deadline_s = 60 + 3 * count * scenario.slowest_job_ms / 1000

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
                self._settle(index, None, "the request's thread crashed")
        self._all_settled.wait(max(released + self.deadline_s - time.monotonic(), 0.0))
        with self._lock:
            return [
                RequestRecord(
                    index,
                    self.scenario.slug_for(index),
                    self._how[index],
                    self._job[index],
                    self._arrived[index] or released,
                    self._answered[index],
                    self._error[index]
                    or (None if self._answered[index] else "no answer before the race's deadline"),
                )
                for index in range(self.scenario.requests)
            ]

    def _issue(self, client: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        released = self._released[0]
        for index in range(client, self.scenario.requests, MAX_CLIENTS):
            arrival = released + self.scenario.arrival.offset_ms(index) / 1000
            delay = arrival - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                self._request(index, arrival)
            except BaseException as crash:
                # A bug: settle the request (the race must not wait for its
                # deadline), then let the thread die with its traceback.
                self._settle(index, None, f"the request crashed: {type(crash).__name__}: {crash}")
                raise

    def _request(self, index: int, arrived: float) -> None:
        self._arrived[index] = arrived
        try:
            how, job_id = dispatch_request(
                self.rig, JobRequest("movie", self.scenario.slug_for(index), LOCALE, CONTEXT_TAG)
            )
        except MovieMindError as failure:
            self._settle(index, None, str(failure))
            return
        self._how[index], self._job[index] = how, job_id
        if job_id is None:
            self._settle(index, time.monotonic(), None)
            return
        if how == "created":
            self.log.record(job_id, QUEUED)
            self.driver.submit(job_id)
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

    @property
    def correct(self) -> bool:
        """One movie and one description per slug, no duplicates, no failed job."""
        return self.metrics.correct

    def to_json(self) -> dict[str, Any]:
        """``race --json``: the scenario, the metrics and whether the outcome was correct."""
        return {
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
                "strategy": result.label,
                "metrics": result.metrics.to_json(),
                "correct": result.correct,
            }
            for result in results
        ],
    }


def _endings(rig: Rig) -> tuple[dict[str, str], dict[str, str]]:
    labels, endings = {}, {}
    for row in rig.database.query("SELECT id, slug, status, result, error FROM jobs"):
        labels[row["id"]] = f"{row['slug']} {row['id'][-4:]}"
        if row["status"] == "FAILED":
            error = str(row["error"] or "")
            endings[row["id"]] = STALE_WRITE if error.startswith(STALE_WRITE) else "failed"
        else:
            endings[row["id"]] = str(row["result"] or row["status"])
    return labels, endings


def run_race(
    scenario: Scenario,
    strategy: str,
    *,
    label: str | None = None,
    on_progress: Progress | None = None,
) -> RaceResult:
    """Race ``strategy`` through ``scenario`` in a scratch home; count what happened."""
    scenario = scenario.validated()
    strategy_factory(strategy)
    label = label or strategy
    with scratch_home(scenario.keep) as home:
        settings = lab_settings(home, scenario, strategy)
        prepare_scratch(settings, scenario)
        with scratch_logging(settings.log_path):
            log, answers = PhaseLog(), Answers()
            rig = Rig(home, scenario, strategy, log.record)
            try:
                driver: JobDriver = (
                    ThreadWorkers(rig, scenario.workers, log, answers)
                    if scenario.mode == "threads"
                    else ProcessWorkers(home, scenario, strategy, log, answers)
                )

                def answered(count: int) -> None:
                    if on_progress is not None:
                        on_progress(label, count, scenario.requests)

                crowd = RequestCrowd(scenario, rig, driver, log, answers, answered)
                driver.start()
                try:
                    records = crowd.run()
                finally:
                    driver.stop()
                phases = log.by_job()
                metrics = measure(rig.database, scenario.all_slugs(), records, phases)
                left = aftermath(rig.database, records)
                start = min(record.arrived_at for record in records)
                end = max(
                    [record.answered_at or record.arrived_at for record in records]
                    + [events[-1][1] for events in phases.values()]
                )
                labels, endings = _endings(rig)
                rows = timeline_rows(phases, labels, endings, start, end)
            finally:
                rig.close()
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
    )


def run_compare(
    scenario: Scenario, strategies: list[str], on_progress: Progress | None = None
) -> list[RaceResult]:
    """The same scenario raced under each strategy in turn, each in its own scratch home."""
    for name in strategies:
        strategy_factory(name)
    return [run_race(scenario, name, on_progress=on_progress) for name in strategies]
