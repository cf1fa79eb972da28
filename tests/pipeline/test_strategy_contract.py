"""The strategy contract, written once and run on every strategy through its own seam.

Each test calls ``dispatch`` and ``execute`` directly (through the runner,
which only claims, runs and records) and checks every job's end: its result,
and that its entity and text ids point at the rows stored for its key. Races
are forced, never hoped for: a gate holds the first AI call until the other
racers have reached the point the test is about (all inside their AI call, or
all waiting for the lock the holder has).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from moviemind_lite.ai.base import Answer, GenerationRequest
from moviemind_lite.ai.mock import MockGenerator
from moviemind_lite.core.config import AISettings, load_settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.events import Events, PhaseEvent
from moviemind_lite.core.model import (
    ALTERNATIVE_APPENDED,
    CREATED,
    DONE,
    FAILED,
    IN_PROGRESS_ELSEWHERE,
    PENDING,
    REUSED_EXISTING,
    Job,
    JobRequest,
)
from moviemind_lite.pipeline.body import WAITING, JobEnvironment
from moviemind_lite.pipeline.strategies import STRATEGIES, Strategies, StrategyContext
from moviemind_lite.runtime.runner import JobRunner
from moviemind_lite.store import catalog
from moviemind_lite.store.calls import CallRecord
from moviemind_lite.store.db import Database, open_database
from moviemind_lite.store.jobs import JobStore
from moviemind_lite.store.locking import open_locks
from moviemind_lite.store.migrations import migrate
from tests.engines import EVERY_PAIR, scratch_servers

REQUEST = JobRequest("movie", "contract-film-2020", "en-US", "default")
RACERS = 4
PATIENCE_S = 30.0


class GatedGenerator:
    """The offline mock, whose first ``hold`` calls wait at a gate until the test opens it."""

    def __init__(self, inner: MockGenerator, hold: int = 1) -> None:
        self.inner = inner
        self.hold = hold
        self.held = threading.Semaphore(0)  # released once per call that reached the gate
        self.gate = threading.Event()
        self._calls = 0
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        """The mock's model."""
        return self.inner.model

    def generate(self, request: GenerationRequest) -> Answer:
        """Wait at the gate if this is one of the first ``hold`` calls, then generate."""
        with self._lock:
            self._calls += 1
            gated = self._calls <= self.hold
        if gated:
            self.held.release()
            assert self.gate.wait(PATIENCE_S), "the test never opened the gate"
        return self.inner.generate(request)

    def wait_held(self, count: int) -> None:
        """Block until ``count`` calls are waiting at the gate."""
        for _ in range(count):
            assert self.held.acquire(timeout=PATIENCE_S), "an AI call never reached the gate"


class Phases:
    """Counts the phases jobs announce (subscribed to the rig's events), so a test can wait
    until racers reached one."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.changed = threading.Condition()

    def __call__(self, event: PhaseEvent) -> None:
        """Count the event's phase."""
        with self.changed:
            self.seen[event.phase] += 1
            self.changed.notify_all()

    def wait_for(self, phase: str, count: int) -> None:
        """Block until ``phase`` was entered ``count`` times."""
        with self.changed:
            assert self.changed.wait_for(lambda: self.seen[phase] >= count, PATIENCE_S), (
                f"{phase!r} was entered {self.seen[phase]} times, not {count}"
            )


@dataclass
class Rig:
    """One strategy over a fresh database: its runner and a gated AI."""

    database: Database
    jobs: JobStore
    calls: CallRecord
    generator: GatedGenerator
    runner: JobRunner
    strategy_name: str
    phases: Phases = field(default_factory=Phases)

    def dispatch(self, request: JobRequest = REQUEST) -> Job:
        """The job ``request`` gets from the strategy (a new one, or one on its way)."""
        with self.database.write() as tx:
            return self.runner.strategies.get(self.strategy_name).dispatch(tx, request).job

    def claim(self, job: Job, worker: str = "racer") -> Job:
        """``job``, claimed for ``worker`` as a worker would claim it."""
        claimed = self.jobs.claim(job.id, f"{self.runner.worker_prefix}/{worker}")
        assert claimed is not None, f"job {job.id} could not be claimed"
        return claimed

    def run(self, job: Job) -> Job | None:
        """Claim ``job`` and run it on this thread; the job as it ended."""
        return self.runner.run_claimed(self.claim(job))

    def run_all(self, jobs: list[Job]) -> list[Job | None]:
        """Claim ``jobs`` (one worker each), then run them at once, one thread each.

        Claimed first: a holder of for-update's lock holds the database's
        write lock too, and a claim is a write.
        """
        claimed = [self.claim(job, f"racer-{index}") for index, job in enumerate(jobs)]
        ended: list[Job | None] = [None] * len(jobs)

        def run(index: int) -> None:
            ended[index] = self.runner.run_claimed(claimed[index])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(PATIENCE_S)
        return ended

    def start(self, jobs: list[Job]) -> Callable[[], list[Job | None]]:
        """Run ``jobs`` at once in the background; call the result to wait for their ends."""
        result: list[list[Job | None]] = []
        thread = threading.Thread(target=lambda: result.append(self.run_all(jobs)))
        thread.start()

        def finish() -> list[Job | None]:
            thread.join(PATIENCE_S)
            assert result, "the racers did not finish"
            return result[0]

        return finish


@pytest.fixture(
    params=[(name, engines) for engines in EVERY_PAIR for name in STRATEGIES],
    ids=lambda param: f"{param[0]}-{param[1].id}",
)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    """Each strategy in turn on each pair of engines, over a fresh database, with a 0 ms
    gated AI."""
    name, engines = request.param
    with scratch_servers(engines) as servers:
        settings = load_settings(
            tmp_path, database_url=servers.database_url, locks_url=servers.locks_url
        ).with_jobs(backoff_ms=0, setnx_lease_ms=60_000)
        database = open_database(settings.database)
        migrate(database)
        locks = open_locks(settings.locks, database, lock_ttl_ms=60_000)
        jobs = JobStore(database, settings.jobs, locks.slots)
        calls = CallRecord(database)
        generator = GatedGenerator(MockGenerator(AISettings(latency_ms=0, jitter_ms=0)))
        strategies = Strategies(StrategyContext(database, locks, jobs, settings.jobs))
        events = Events()
        runner = JobRunner(
            JobEnvironment(database, generator, locks.keys, jobs, events, locks.leases),
            strategies,
        )
        built = Rig(database, jobs, calls, generator, runner, name)
        try:
            with events.subscribed(built.phases):
                yield built
        finally:
            runner.close()
            locks.close()
            database.close()


def stored_rows(rig: Rig) -> tuple[str, list[str]]:
    """The one movie stored for REQUEST's slug and the ids of its texts (baseline first)."""
    entity = catalog.find_entity(rig.database, MOVIE, REQUEST.slug)
    assert entity is not None
    texts = catalog.list_texts(rig.database, MOVIE, entity.id)
    return entity.id, [text.id for text in texts]


def assert_points_at_stored_rows(rig: Rig, job: Job | None, result: str) -> None:
    """``job`` ended DONE with ``result``, on the stored movie and one of its texts."""
    assert job is not None
    assert (job.status, job.result) == (DONE, result), job
    entity_id, text_ids = stored_rows(rig)
    assert job.entity_id == entity_id
    assert job.text_id in text_ids
    text = catalog.find_text(rig.database, MOVIE, job.text_id or "")
    assert text is not None and (text.locale, text.context_tag) == (REQUEST.locale, "default")


def test_every_strategy_is_in_the_contract() -> None:
    assert set(STRATEGIES) == set(RACE_ENDINGS)


def test_a_lone_request_creates_one_job_that_writes_entity_and_text(rig: Rig) -> None:
    rig.generator.gate.set()
    ended = rig.run(rig.dispatch())
    assert_points_at_stored_rows(rig, ended, CREATED)
    _, text_ids = stored_rows(rig)
    assert len(text_ids) == 1 and ended is not None and ended.text_id == text_ids[0]
    assert rig.calls.total() == 1 and ended.attempts == 1


def test_a_job_for_a_stored_key_ends_on_it_without_an_ai_call(rig: Rig) -> None:
    rig.generator.gate.set()
    first = rig.run(rig.dispatch())
    assert first is not None
    second = rig.run(rig.dispatch())  # a new job: the first one ended and freed its key
    assert_points_at_stored_rows(rig, second, REUSED_EXISTING)
    assert second is not None and second.text_id == first.text_id
    assert rig.calls.total() == 1


@dataclass(frozen=True)
class RaceEnding:
    """What RACERS jobs for one key end with when they all started before anyone wrote."""

    results: dict[str, int]
    ai_calls: int
    texts: int = 1
    failed: int = 0


RACE_ENDINGS = {
    "none": RaceEnding({CREATED: 1}, RACERS, failed=RACERS - 1),
    "cache-lock": RaceEnding({CREATED: 1, ALTERNATIVE_APPENDED: RACERS - 1}, RACERS, RACERS),
    "cache-lock-recheck": RaceEnding({CREATED: 1, REUSED_EXISTING: RACERS - 1}, 1),
    "unique-index": RaceEnding({CREATED: 1, REUSED_EXISTING: RACERS - 1}, RACERS),
    "for-update": RaceEnding({CREATED: 1, REUSED_EXISTING: RACERS - 1}, 1),
    "setnx": RaceEnding({CREATED: 1, IN_PROGRESS_ELSEWHERE: RACERS - 1}, 1),
    "two-level": RaceEnding({CREATED: 1}, 1),
}


def race(rig: Rig) -> list[Job | None]:
    """RACERS requests for one unknown key, each job started before any of them wrote.

    Strategies that let every racer call the AI hold all the calls at the gate
    until all are in; the others hold the first call (the lock holder) until
    every other racer has met its lock (or, for setnx, has been turned away).
    """
    jobs = [rig.dispatch() for _ in range(RACERS)]
    if rig.strategy_name == "two-level":
        assert len({job.id for job in jobs}) == 1  # one job for the key, joined by the rest
        rig.generator.gate.set()
        return rig.run_all(jobs[:1])
    assert len({job.id for job in jobs}) == RACERS  # a job per request
    if rig.strategy_name in ("none", "unique-index"):
        rig.generator.hold = RACERS
        finish = rig.start(jobs)
        rig.generator.wait_held(RACERS)  # everybody looked, found nothing and called the AI
    else:
        finish = rig.start(jobs)
        rig.generator.wait_held(1)  # the holder is inside its AI call, holding the key
        if rig.strategy_name == "setnx":
            # The others were told the key is in progress and ended already.
            wait_until_ended(rig, jobs, RACERS - 1)
        else:
            rig.phases.wait_for(WAITING, RACERS)  # everybody is queued at the lock
    rig.generator.gate.set()
    return finish()


def wait_until_ended(rig: Rig, jobs: list[Job], count: int) -> None:
    """Block until ``count`` of ``jobs`` are DONE or FAILED."""
    done = threading.Event()

    def poll() -> None:
        while sum(rig.jobs.get(job.id).finished for job in jobs) < count:
            if done.wait(0.01):
                return
        done.set()

    poller = threading.Thread(target=poll)
    poller.start()
    finished = done.wait(PATIENCE_S)
    done.set()
    poller.join()
    assert finished, f"fewer than {count} jobs ended"


def test_racers_for_one_key_end_as_the_strategy_promises(rig: Rig) -> None:
    promise = RACE_ENDINGS[rig.strategy_name]
    ended = [job for job in race(rig) if job is not None]
    done = [job for job in ended if job.status == DONE]
    failed = [job for job in ended if job.status == FAILED]
    assert Counter(job.result for job in done) == Counter(promise.results)
    assert len(failed) == promise.failed
    assert rig.calls.total() == promise.ai_calls
    entity_id, text_ids = stored_rows(rig)
    assert len(text_ids) == promise.texts
    for job in done:
        if job.result == IN_PROGRESS_ELSEWHERE:
            assert (job.entity_id, job.text_id) == (None, None)  # it wrote nothing
            continue
        # Every job that ends on rows points at them: a reused one at the text
        # the winner wrote, an appended one at its own alternative.
        assert_points_at_stored_rows(rig, job, job.result or "")
    created = next(job for job in done if job.result == CREATED)
    assert created.text_id == text_ids[0]  # the winner wrote the baseline
    reused = [job.text_id for job in done if job.result == REUSED_EXISTING]
    assert set(reused) <= {created.text_id}
    appended = [job.text_id for job in done if job.result == ALTERNATIVE_APPENDED]
    assert len(set(appended)) == len(appended) and created.text_id not in appended
    assert entity_id == created.entity_id


def test_a_failed_ai_call_is_paid_for_and_sends_the_job_back(rig: Rig) -> None:
    rig.generator.inner = MockGenerator(AISettings(latency_ms=0, fail_rate=1.0))
    rig.generator.gate.set()
    ended = rig.run(rig.dispatch())
    assert ended is not None
    assert (ended.status, ended.attempts) == (PENDING, 1)  # back in the queue to retry
    assert (ended.error or "").startswith("mock AI failed")
    assert rig.calls.total() == 1  # recorded, even by a strategy that rolled its write back
    assert catalog.find_entity(rig.database, MOVIE, REQUEST.slug) is None


@pytest.mark.parametrize("locking", [False, True])
def test_a_regeneration_writes_another_text_whatever_the_strategy(rig: Rig, locking: bool) -> None:
    rig.generator.gate.set()
    first = rig.run(rig.dispatch())
    assert first is not None
    request = JobRequest(
        REQUEST.kind, REQUEST.slug, REQUEST.locale, "default", "regenerate", locking
    )
    with rig.database.write() as tx:
        job = rig.jobs.insert(tx, request, rig.strategy_name)
    ended = rig.run(job)
    assert_points_at_stored_rows(
        rig, ended, "baseline_updated" if locking else ALTERNATIVE_APPENDED
    )
    _, text_ids = stored_rows(rig)
    assert len(text_ids) == (1 if locking else 2)
    assert rig.calls.total() == 2
