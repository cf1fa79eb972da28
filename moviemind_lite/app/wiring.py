"""The composition root: :func:`build_app` builds the whole application from settings.

The CLI, the TUI, worker processes, batch runs and the lab all get their
runtime here, so they run the same pieces wired the same way: the store, the
generator behind its circuit breaker, the strategies, the runner, the flags
and the rollout guardrails. Only the settings differ (a lab race builds its
application over a scratch home, with its strategy and mock-AI knobs).
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from moviemind_lite.ai.base import Generator
from moviemind_lite.ai.breaker import CircuitBreaker, GuardedGenerator
from moviemind_lite.ai.generator import make_generator
from moviemind_lite.app.api import Api
from moviemind_lite.app.api_keys import ApiKeys
from moviemind_lite.app.catalog import Catalog
from moviemind_lite.app.generation import Generation
from moviemind_lite.app.home import connect_database, migrate_database
from moviemind_lite.app.jobs import Jobs
from moviemind_lite.app.limits import GenerationBudget, RequestLimits
from moviemind_lite.app.readiness import EngineState, check_ready
from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.core.config import Settings
from moviemind_lite.core.events import Events
from moviemind_lite.pipeline.body import JobEnvironment
from moviemind_lite.pipeline.strategies import Strategies, StrategyContext
from moviemind_lite.policy.flags import FlagService
from moviemind_lite.policy.rollout import RolloutService
from moviemind_lite.runtime.runner import JobRunner
from moviemind_lite.store.calls import CallRecord
from moviemind_lite.store.db import Database
from moviemind_lite.store.jobs import JobStore
from moviemind_lite.store.locking import Locks, open_locks
from moviemind_lite.store.rate_limits import open_rate_limits


@dataclass
class App:
    """The application: its use cases, and the pieces they share.

    Front ends call the use cases (``catalog``, ``generation``, ``jobs``,
    ``flags``, ``rollouts``; the HTTP API also ``api`` and ``api_keys``); the
    other fields are the shared pieces, there for the lab's measurements and
    for tests. ``events`` is the app's event sink: a front end that wants to
    see jobs move subscribes there (``app.events.subscribe(...)``); ``clock``
    is the time every TTL, lease, backoff and cool-down of this app reads.
    """

    settings: Settings
    clock: Clock
    events: Events
    database: Database
    locks: Locks
    calls: CallRecord
    breaker: CircuitBreaker
    generator: Generator
    job_store: JobStore
    strategies: Strategies
    runner: JobRunner
    flags: FlagService
    rollouts: RolloutService
    catalog: Catalog
    generation: Generation
    jobs: Jobs
    api_keys: ApiKeys
    api: Api
    limits: RequestLimits
    budget: GenerationBudget

    def ready(self) -> list[EngineState]:
        """The database's and the lock server's states, each probed with a short bound."""
        return check_ready(self.database, self.locks, str(self.settings.locks))

    def close(self) -> None:
        """Stop the runner's heartbeats, then close every connection."""
        self.runner.close()
        self.job_store.close()
        self.limits.buckets.close()
        self.locks.close()
        self.database.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _open_engines(
    settings: Settings, clock: Clock, load_sample: bool
) -> tuple[Database, Locks, bool]:
    """The database, migrated, and the locks engine; whether the database was created."""
    database = connect_database(settings)
    try:
        # Both servers are reached before anything is written: a wrong locks URL
        # leaves no new database behind. A Redis key lock outlives a holder that
        # died with it by at most a job's lease.
        locks = open_locks(
            settings.locks, database, settings.jobs.lease_ms, clock, settings.engine_wait_ms
        )
        try:
            created = migrate_database(database, load_sample=load_sample)
        except BaseException:
            locks.close()
            raise
    except BaseException:
        database.close()
        raise
    return database, locks, created


def _guarded_generator(
    settings: Settings, database: Database, events: Events, clock: Clock
) -> GuardedGenerator:
    """The generator the settings name, behind the circuit breaker every process shares."""
    breaker = CircuitBreaker(
        database,
        threshold=settings.ai.breaker_threshold,
        cooldown_ms=settings.ai.breaker_cooldown_ms,
        clock=clock,
    )
    return GuardedGenerator(make_generator(settings.ai.backend, settings.ai, events), breaker)


def build_app(
    settings: Settings,
    *,
    load_sample: bool = True,
    executor: Executor | None = None,
    clock: Clock = SYSTEM_CLOCK,
    events: Events | None = None,
) -> App:
    """Open the home's database (creating and migrating it if needed) and wire the application.

    A database created here gets the sample catalog unless ``load_sample`` is
    off. With ``executor``, requests that do not wait hand the jobs they
    create to it (``moviemind serve``, the lab); without, those jobs wait for
    ``moviemind worker``. The caller owns the executor.

    ``clock`` is the app's time (tests pass a ``FakeClock``); ``events`` its
    event sink (a new one unless the caller, the lab, brings the one its
    drivers announce on).
    """
    events = events if events is not None else Events(clock)
    database, locks, created = _open_engines(settings, clock, load_sample)
    calls = CallRecord(database)
    generator = _guarded_generator(settings, database, events, clock)
    breaker = generator.breaker
    job_store = JobStore(database, settings.jobs, locks.slots, clock)
    strategies = Strategies(StrategyContext(database, locks, job_store, settings.jobs))
    environment = JobEnvironment(database, generator, locks.keys, job_store, events, locks.leases)
    runner = JobRunner(environment, strategies)
    flags = FlagService(database, settings.environment)
    rollouts = RolloutService(database, settings.environment, clock=clock)
    catalog = Catalog(settings, database, flags, created, locks.keys)
    buckets = open_rate_limits(settings.locks, database, settings.engine_wait_ms)
    budget = GenerationBudget(settings.limits, buckets, database, clock)
    generation = Generation(
        settings, database, catalog, flags, rollouts, strategies, runner, executor, budget
    )
    jobs = Jobs(job_store, runner, breaker, rollouts, catalog, budget)
    api = Api(database, catalog, generation, jobs, flags, breaker, generator.model, budget)
    return App(
        settings=settings,
        clock=clock,
        events=events,
        database=database,
        locks=locks,
        calls=calls,
        breaker=breaker,
        generator=generator,
        job_store=job_store,
        strategies=strategies,
        runner=runner,
        flags=flags,
        rollouts=rollouts,
        catalog=catalog,
        generation=generation,
        jobs=jobs,
        api_keys=ApiKeys(database),
        api=api,
        limits=RequestLimits(settings.limits, buckets, database, clock),
        budget=budget,
    )
