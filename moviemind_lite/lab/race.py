"""Racing strategies: the scenario's requests, dispatched and run by the production code.

Each request is a thread: it waits for its arrival (all together behind a
barrier, or spread out), then does what ``MovieMind.request`` does: inside one
``BEGIN IMMEDIATE`` it answers from the stored text or lets the strategy
dispatch a job, and then waits for that job to end. Jobs run through
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

from moviemind_lite.domain import KINDS
from moviemind_lite.errors import InvalidInput, MovieMindError
from moviemind_lite.jobs.model import JobRequest
from moviemind_lite.lab.drivers import Answers, JobDriver, ThreadWorkers
from moviemind_lite.lab.metrics import Metrics, RequestRecord, measure
from moviemind_lite.lab.processes import ProcessWorkers
from moviemind_lite.lab.rig import Rig, lab_settings, prepare_scratch, scratch_home, scratch_logging
from moviemind_lite.lab.scenario import CONTEXT_TAG, LOCALE, Scenario
from moviemind_lite.lab.timeline import QUEUED, PhaseLog, TimelineRow, timeline_rows
from moviemind_lite.locks import STALE_WRITE
from moviemind_lite.store import catalog
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
    kind = KINDS[request.kind]
    with rig.database.write() as conn:
        entity = catalog.find_entity(conn, kind, request.slug)
        if entity is not None and catalog.find_baseline(
            conn, kind, entity.id, request.locale, request.context_tag
        ):
            return "stored", None
        dispatch = rig.strategy.dispatch(conn, request)
    return ("created" if dispatch.created else "joined"), dispatch.job.id


class RequestCrowd:
    """The scenario's requests, one thread each, released together and then spread out."""

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
        self.records: list[RequestRecord | None] = [None] * scenario.requests
        self._released: list[float] = []
        self._answered = 0
        self._lock = threading.Lock()
        # Generous: a run this late has hung (a bug, or every worker dead).
        self.deadline_s = 60 + 3 * scenario.requests * scenario.slowest_job_ms / 1000

    def run(self) -> list[RequestRecord]:
        """Release every request and wait for all of them to be answered."""
        barrier = threading.Barrier(
            self.scenario.requests, action=lambda: self._released.append(time.monotonic())
        )
        threads = [
            threading.Thread(target=self._serve, args=(index, barrier), name=f"request-{index}")
            for index in range(self.scenario.requests)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # A thread that died on a bug (its traceback is printed) is a request
        # that got no answer, not a request that never was.
        released = self._released[0] if self._released else time.monotonic()
        return [
            record
            or RequestRecord(
                index,
                self.scenario.slug_for(index),
                "error",
                None,
                released,
                None,
                "the request's thread crashed",
            )
            for index, record in enumerate(self.records)
        ]

    def _serve(self, index: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        released = self._released[0]
        delay = released + self.scenario.arrival.offset_ms(index) / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        slug = self.scenario.slug_for(index)
        arrived = time.monotonic()
        how, job_id, error = "error", None, None
        try:
            how, job_id = dispatch_request(self.rig, JobRequest("movie", slug, LOCALE, CONTEXT_TAG))
            if job_id is not None and how == "created":
                self.log.record(job_id, QUEUED)
                self.driver.submit(job_id)
            if job_id is not None:
                error = self.answers.wait(job_id, released + self.deadline_s - time.monotonic())
        except MovieMindError as failure:
            error = str(failure)
        self.records[index] = RequestRecord(
            index, slug, how, job_id, arrived, time.monotonic() if error is None else None, error
        )
        with self._lock:
            self._answered += 1
            answered = self._answered
        self.on_answer(answered)


@dataclass(frozen=True)
class RaceResult:
    """One strategy's race: its metrics and its jobs' timeline."""

    label: str
    strategy: str
    scenario: Scenario
    metrics: Metrics
    timeline: tuple[TimelineRow, ...]
    span_ms: float
    kept_home: Path | None


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
