"""The use cases both front ends call: one object, one method per thing a user asks.

The CLI and the TUI parse input, call one method here and show the result;
nothing below this module knows about either of them.
"""

from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import (
    DEFAULT_CONTEXT,
    EntityKind,
    validate_context_tag,
    validate_locale,
    validate_slug,
)
from moviemind_lite.core.errors import EntityNotFound, HomeNotUsable, InvalidInput, NotFound
from moviemind_lite.core.logs import configure_logging
from moviemind_lite.core.model import (
    DONE,
    FAILED,
    IN_PROGRESS,
    IN_PROGRESS_ELSEWHERE,
    Entity,
    Job,
    JobRequest,
    Text,
)
from moviemind_lite.store import answer_cache, catalog
from moviemind_lite.store.db import Database
from moviemind_lite.store.jobs import JobStore, validate_job_id
from moviemind_lite.store.migrations import migrate
from moviemind_lite.store.sample_catalog import load_sample_catalog
from moviemind_lite.store.slots import acquire_slot, slot_key

if TYPE_CHECKING:
    # The job machinery is imported when first used: a ``show`` answered from
    # the store or the answer cache should not pay for strategies, filelock,
    # the rollout guard or the AI (about a third of its start-up time).
    from moviemind_lite.ai.breaker import CircuitBreaker
    from moviemind_lite.ai.generator import Generator
    from moviemind_lite.pipeline.strategies import Strategy
    from moviemind_lite.policy.flags import FlagService
    from moviemind_lite.policy.rollout import RolloutService
    from moviemind_lite.policy.stats import JobStats
    from moviemind_lite.runtime.runner import JobRunner
    from moviemind_lite.store.calls import CallRecord

GENERATION_FLAGS = {"movie": "ai_description_generation", "person": "ai_bio_generation"}
BASELINE_LOCKING_FLAG = "ai_generation_baseline_locking"

_DATABASE_FILES = ("moviemind.db", "moviemind.db-wal", "moviemind.db-shm")


@dataclass(frozen=True)
class EntityView:
    """An entity with the text ``show`` prints for one locale and context."""

    entity: Entity
    locale: str
    context_tag: str
    text: Text | None

    def to_json(self) -> dict[str, Any]:
        """The ``show --json`` object: slug, facts and the text (or null)."""
        return {
            **self.entity.summary(),
            self.entity.kind.text_noun: self.text.summary() if self.text else None,
        }

    def to_cache(self) -> dict[str, Any]:
        """Everything needed to rebuild this view without reading the catalog."""
        entity = {name: value for name, value in asdict(self.entity).items() if name != "kind"}
        return {
            "entity": entity,
            "locale": self.locale,
            "context_tag": self.context_tag,
            "text": asdict(self.text) if self.text else None,
        }

    @classmethod
    def from_cache(cls, kind: EntityKind, cached: dict[str, Any]) -> EntityView:
        """The view :meth:`to_cache` saved."""
        text = Text(**cached["text"]) if cached["text"] else None
        return cls(
            Entity(kind=kind, **cached["entity"]), cached["locale"], cached["context_tag"], text
        )


@dataclass(frozen=True)
class RequestOutcome:
    """How a show or regenerate request ended.

    ``status`` is ``done`` (the text is stored; ``job`` is the job that wrote
    it, or ``None`` when it was already there), ``queued`` (a new job waits for
    a worker), ``in_progress`` (a job for the same key was already on its way),
    or ``failed``.
    """

    kind: EntityKind
    status: str
    job: Job | None
    view: EntityView | None

    def to_json(self) -> dict[str, Any]:
        """The ``show --json`` object: status, job id and the entity (or null)."""
        return {
            "status": self.status,
            "job_id": self.job.id if self.job else None,
            self.kind.name: self.view.to_json() if self.view else None,
            **({"error": self.job.error} if self.status == "failed" and self.job else {}),
        }


@dataclass(frozen=True)
class InitReport:
    """What ``init`` did and what the catalog now holds."""

    database_path: Path
    created: bool
    loaded: dict[str, int]
    counts: dict[str, int]


def prepare_home(settings: Settings) -> None:
    """Create the home folder with ``locks/`` and ``logs/``, or say why it cannot be."""
    for folder in (settings.home, settings.locks_dir, settings.logs_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise HomeNotUsable(f"cannot create {folder}: {error.strerror or error}") from None
    if not os.access(settings.home, os.W_OK | os.X_OK):
        raise HomeNotUsable(f"home {settings.home} is not writable")


def reset_home(settings: Settings) -> None:
    """Delete the database (with its WAL files); locks and logs stay."""
    for name in _DATABASE_FILES:
        (settings.home / name).unlink(missing_ok=True)


class MovieMind:
    """The application: settings plus an open, migrated database."""

    def __init__(self, settings: Settings, database: Database, created: bool) -> None:
        self.settings = settings
        self.database = database
        self.created = created
        self.jobs = JobStore(database, settings.jobs)
        self._strategies: dict[str, Strategy] = {}
        # Threads share one MovieMind (the CLI's pool, the TUI's workers): the
        # objects built on first use must be built once.
        self._building = threading.RLock()
        self._generator: Generator | None = None
        self._runner: JobRunner | None = None

    @cached_property
    def calls(self) -> CallRecord:
        """Every AI call made on this database, by any process."""
        from moviemind_lite.store.calls import CallRecord

        return CallRecord(self.database)

    @cached_property
    def flags(self) -> FlagService:
        """Feature flags in this environment."""
        from moviemind_lite.policy.flags import FlagService

        return FlagService(self.database, self.settings.environment)

    @cached_property
    def rollouts(self) -> RolloutService:
        """Staged rollouts of flags in this environment."""
        from moviemind_lite.policy.rollout import RolloutService

        return RolloutService(self.database, self.settings.environment)

    @classmethod
    def open(cls, settings: Settings, *, load_sample: bool = True) -> MovieMind:
        """Open (creating if needed) the home's database and apply migrations.

        A database created by this call gets the sample catalog, so the first
        command a user runs already has something to show.
        """
        prepare_home(settings)
        configure_logging(settings.log_path)
        created = not settings.database_path.exists()
        database = Database(settings.database_path, settings.busy_timeout_ms)
        try:
            migrate(database)
            if created and load_sample:
                load_sample_catalog(database)
        except BaseException:
            database.close()
            raise
        return cls(settings, database, created)

    def close(self) -> None:
        """Stop the runner's heartbeats and close every connection."""
        if self._runner is not None:
            self._runner.close()
        self.database.close()

    def __enter__(self) -> MovieMind:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- catalog --------------------------------------------------------------------

    def initialise(self) -> InitReport:
        """Load the sample catalog if the catalog is empty; report the counts."""
        loaded = load_sample_catalog(self.database)
        return InitReport(self.settings.database_path, self.created, loaded, self.counts())

    def counts(self) -> dict[str, int]:
        """Rows per catalog table."""
        tables = ("movies", "descriptions", "people", "bios")
        return {
            table: int(self.database.query_one(f"SELECT count(*) FROM {table}")[0])  # type: ignore[index]
            for table in tables
        }

    def list_entities(
        self, kind: EntityKind, *, search: str | None = None, limit: int | None = None
    ) -> list[Entity]:
        """Stored entities, filtered by a substring of slug or label."""
        if limit is not None and limit < 0:
            raise InvalidInput(f"limit must be >= 0, got {limit}")
        return catalog.list_entities(self.database, kind, search, limit)

    def show_stored(
        self,
        kind: EntityKind,
        slug: str,
        *,
        locale: str | None = None,
        context_tag: str = DEFAULT_CONTEXT,
    ) -> EntityView:
        """A stored entity with its baseline text for ``locale`` and ``context_tag``."""
        validate_slug(slug)
        locale = validate_locale(locale or self.settings.default_locale)
        validate_context_tag(context_tag)
        entity = catalog.find_entity(self.database, kind, slug)
        if entity is None:
            raise EntityNotFound(f"no {kind.name} with slug {slug!r}")
        text = catalog.find_baseline(self.database, kind, entity.id, locale, context_tag)
        return EntityView(entity, locale, context_tag, text)

    def texts(self, entity: Entity) -> list[Text]:
        """Every text of an entity, baselines first."""
        return catalog.list_texts(self.database, entity.kind, entity.id)

    # -- generation -------------------------------------------------------------------

    @property
    def generator(self) -> Generator:
        """The AI generator (the offline mock), built on first use."""
        with self._building:
            return self._build_generator()

    def _build_generator(self) -> Generator:
        if self._generator is None:
            from moviemind_lite.ai.breaker import GuardedGenerator
            from moviemind_lite.ai.generator import make_generator

            self._generator = GuardedGenerator(
                make_generator("mock", self.settings.ai, self.calls), self.breaker
            )
        return self._generator

    @property
    def breaker(self) -> CircuitBreaker:
        """The AI circuit breaker shared by every process on this database."""
        from moviemind_lite.ai.breaker import CircuitBreaker

        return CircuitBreaker(
            self.database,
            threshold=self.settings.ai.breaker_threshold,
            cooldown_ms=self.settings.ai.breaker_cooldown_ms,
        )

    def strategy(self, name: str | None = None) -> Strategy:
        """The strategy called ``name`` (default: the configured one, ``two-level``)."""
        name = name or self.settings.jobs.strategy
        with self._building:
            return self._build_strategy(name)

    def _build_strategy(self, name: str) -> Strategy:
        if name not in self._strategies:
            from moviemind_lite.pipeline.strategies import (
                StrategyContext,
                StrategyOptions,
                make_strategy,
            )

            options = StrategyOptions(slot_ttl_ms=self.settings.jobs.slot_ttl_ms)
            context = StrategyContext(self.database, self.settings.locks_dir, self.jobs, options)
            self._strategies[name] = make_strategy(name, context)
        return self._strategies[name]

    @property
    def runner(self) -> JobRunner:
        """Runs jobs in this process (threads of the caller or of a pool)."""
        with self._building:
            return self._build_runner()

    def _build_runner(self) -> JobRunner:
        if self._runner is None:
            from moviemind_lite.pipeline.body import JobEnvironment
            from moviemind_lite.runtime.runner import JobRunner

            env = JobEnvironment(
                self.database,
                self.generator,
                self.settings.locks_dir,
                baseline_locking=lambda slug: self.flags.is_enabled(
                    BASELINE_LOCKING_FLAG, f"slug:{slug}"
                ),
                baseline_lock=self._baseline_lock,
            )
            self._runner = JobRunner(env, self.jobs, self.strategy)
            # Every process that runs jobs judges the rollout guardrails as its jobs end.
            self._runner.on_finished.append(self.rollouts.on_job_finished)
        return self._runner

    def _baseline_lock(self, key: str) -> AbstractContextManager[object]:
        from moviemind_lite.pipeline.locks import KeyedFileLocks

        return KeyedFileLocks(self.settings.locks_dir).hold(key)

    def promote(self, kind: EntityKind, slug: str, text_id: str) -> Text:
        """Make one of an entity's texts the baseline of its locale and context.

        Runs under the same narrow baseline lock as an in-place regeneration,
        so a promotion never interleaves with one.
        """
        validate_slug(slug)
        entity = catalog.find_entity(self.database, kind, slug)
        if entity is None:
            raise EntityNotFound(f"no {kind.name} with slug {slug!r}")
        text = catalog.find_text(self.database, kind, text_id)
        if text is None or text.id not in {t.id for t in self.texts(entity)}:
            raise NotFound(f"{slug} has no {kind.text_noun} with id {text_id}")
        from moviemind_lite.pipeline.body import baseline_key

        key = baseline_key(kind, entity.id, text.locale, text.context_tag)
        with self._baseline_lock(key), self.database.write() as conn:
            catalog.promote_to_baseline(conn, kind, entity.id, text)
        promoted = catalog.find_text(self.database, kind, text_id)
        assert promoted is not None
        return promoted

    def _generation_enabled(self, kind: EntityKind, slug: str) -> bool:
        return self.flags.is_enabled(GENERATION_FLAGS[kind.name], f"slug:{slug}")

    def _check_generation_enabled(self, kind: EntityKind, slug: str) -> None:
        if not self._generation_enabled(kind, slug):
            flag = GENERATION_FLAGS[kind.name]
            raise EntityNotFound(f"no {kind.name} with slug {slug!r} (generation is off: {flag})")

    def _validated(
        self, kind: EntityKind, slug: str, locale: str | None, context_tag: str
    ) -> tuple[str, str]:
        validate_slug(slug)
        validate_context_tag(context_tag)
        return validate_locale(locale or self.settings.default_locale), context_tag

    def request(
        self,
        kind: EntityKind,
        slug: str,
        *,
        locale: str | None = None,
        context_tag: str = DEFAULT_CONTEXT,
        wait: bool = True,
        timeout_s: float | None = None,
    ) -> RequestOutcome:
        """Answer "tell me about SLUG": stored text, or a job that writes it.

        An unknown key becomes a job through the strategy's dispatch (with
        ``two-level``, every request for a key in flight gets the same job).
        With ``wait`` the job runs in this process, unless another process is
        already running it, and the outcome carries the stored text.
        """
        locale, context_tag = self._validated(kind, slug, locale, context_tag)
        key = answer_cache.cache_key(kind, slug, locale, context_tag)
        cached = answer_cache.lookup(self.database, key)
        if cached is not None:
            return RequestOutcome(kind, "done", None, EntityView.from_cache(kind, cached))
        if not self._generation_enabled(kind, slug):
            # Generation is off: show what is stored, and a slug nobody stored is not found.
            try:
                view = self.show_stored(kind, slug, locale=locale, context_tag=context_tag)
            except EntityNotFound:
                self._check_generation_enabled(kind, slug)  # the same error, naming the flag
                raise
            return RequestOutcome(kind, "done", None, view)
        from moviemind_lite.pipeline.dispatch import dispatch_request

        runner = self.runner if wait else None
        dispatched = dispatch_request(
            self.database,
            self.strategy(),
            JobRequest(kind.name, slug, locale, context_tag),
            # A waiting requester runs the job it creates: claim it right away.
            on_created=(lambda job: self.jobs.claim(job.id, runner.worker_id()))
            if runner is not None
            else None,
        )
        if dispatched.how == "stored":
            assert dispatched.entity is not None
            view = EntityView(dispatched.entity, locale, context_tag, dispatched.text)
            with self.database.write() as conn:
                answer_cache.store(conn, key, kind, dispatched.entity.id, view.to_cache())
            return RequestOutcome(kind, "done", None, view)
        assert dispatched.job is not None
        if runner is None:
            status = "queued" if dispatched.how == "created" else "in_progress"
            return RequestOutcome(kind, status, dispatched.job, None)
        if dispatched.how == "created" and dispatched.job.status == IN_PROGRESS:
            ended = runner.run_claimed(dispatched.job)
            if ended is not None and ended.finished:
                return self._outcome(ended, kind)
        return self._outcome(runner.drive(dispatched.job.id, timeout_s), kind)

    def regenerate(
        self,
        kind: EntityKind,
        slug: str,
        *,
        locale: str | None = None,
        context_tag: str = DEFAULT_CONTEXT,
        wait: bool = True,
        timeout_s: float | None = None,
    ) -> RequestOutcome:
        """A new job that writes another text for an existing entity."""
        locale, context_tag = self._validated(kind, slug, locale, context_tag)
        if catalog.find_entity(self.database, kind, slug) is None:
            raise EntityNotFound(f"no {kind.name} with slug {slug!r}")
        self._check_generation_enabled(kind, slug)
        job = self.jobs.create(
            JobRequest(kind.name, slug, locale, context_tag, "regenerate"), self.strategy().name
        )
        if not wait:
            return RequestOutcome(kind, "queued", job, None)
        return self._outcome(self.runner.drive(job.id, timeout_s), kind)

    def _outcome(self, job: Job, kind: EntityKind) -> RequestOutcome:
        if job.status == FAILED:
            return RequestOutcome(kind, "failed", job, None)
        if job.status != DONE or job.result == IN_PROGRESS_ELSEWHERE:
            # Still running, or (setnx) ended because another holder has the key.
            return RequestOutcome(kind, "in_progress", job, None)
        entity = catalog.find_entity(self.database, kind, job.slug)
        if entity is None:  # pragma: no cover - a DONE job always ends on a row
            raise EntityNotFound(f"no {kind.name} with slug {job.slug!r}")
        text = catalog.find_text(self.database, kind, job.text_id) if job.text_id else None
        return RequestOutcome(
            kind, "done", job, EntityView(entity, job.locale, job.context_tag, text)
        )

    # -- jobs -------------------------------------------------------------------------

    def job(self, job_id: str) -> Job:
        """One job by id."""
        return self.jobs.get(job_id)

    def list_jobs(self, *, status: str | None = None, limit: int | None = 50) -> list[Job]:
        """Jobs, newest first."""
        if limit is not None and limit < 0:
            raise InvalidInput(f"limit must be >= 0, got {limit}")
        return self.jobs.list(status=status, limit=limit)

    def retry_job(self, job_id: str) -> Job:
        """Put a FAILED job back in the queue, taking its key's slot again."""
        validate_job_id(job_id)
        with self.database.write() as conn:
            job = self.jobs.retry(conn, job_id)
            if job.action == "generate":
                # Take the key's slot back unless a newer job for the key holds it.
                acquire_slot(conn, slot_key(job.request), job.id, self.settings.jobs.slot_ttl_ms)
        return job

    def stats(self) -> JobStats:
        """Queue and job statistics over every process using this database."""
        from moviemind_lite.policy.stats import collect

        collected = collect(self.database)
        breaker = self.breaker.state()
        collected.extra.update(
            ai_circuit=breaker.state,
            ai_circuit_consecutive_failures=breaker.consecutive_failures,
            ai_circuit_opened_total=breaker.opened_count,
        )
        return collected
