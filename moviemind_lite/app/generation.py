"""Generation use cases: "tell me about SLUG" and "write another text for SLUG".

Every front end and the lab ask through :meth:`Generation.request`: the
answer cache, the generation flag, the read-only mode, the strategy's
dispatch, then either running the job here (``wait``), handing it to the
application's executor, or leaving it to ``moviemind worker`` processes.
Each job that ends here is shown to the rollout guardrails.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future

from moviemind_lite.app.catalog import READ_ONLY_FLAG, Catalog
from moviemind_lite.app.views import EntityView, RequestOutcome
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import (
    DEFAULT_CONTEXT,
    EntityKind,
    validate_context_tag,
    validate_locale,
    validate_slug,
)
from moviemind_lite.core.errors import CatalogReadOnly, EntityNotFound
from moviemind_lite.core.model import (
    DONE,
    FAILED,
    IN_PROGRESS,
    IN_PROGRESS_ELSEWHERE,
    PENDING,
    Action,
    Job,
    JobRequest,
)
from moviemind_lite.pipeline.dispatch import Dispatched, create_job, dispatch_request
from moviemind_lite.pipeline.strategies import Strategies
from moviemind_lite.policy.flags import FlagService
from moviemind_lite.policy.rollout import RolloutService
from moviemind_lite.runtime.runner import JobRunner
from moviemind_lite.store import answer_cache, catalog
from moviemind_lite.store.db import Database

GENERATION_FLAGS = {"movie": "ai_description_generation", "person": "ai_bio_generation"}
BASELINE_LOCKING_FLAG = "ai_generation_baseline_locking"


def deferred(job: Job) -> bool:
    """Whether ``job`` was sent back to wait while the AI circuit is open."""
    return job.status == PENDING and (job.error or "").startswith("deferred:")


class Generation:
    """Requests for texts: answered from the store, or turned into jobs and run."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        catalog: Catalog,
        flags: FlagService,
        rollouts: RolloutService,
        strategies: Strategies,
        runner: JobRunner,
        executor: Executor | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.catalog = catalog
        self.flags = flags
        self.rollouts = rollouts
        self.strategies = strategies
        self.runner = runner
        self.executor = executor

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
        With ``wait`` the job runs in this thread, unless another thread or
        process is already running it, and the outcome carries the stored
        text. Without it, a new job goes to the application's executor if it
        has one (the outcome's ``running`` is its future), or waits, PENDING,
        for ``moviemind worker``.
        """
        locale, context_tag = self._validated(slug, locale, context_tag)
        key = answer_cache.cache_key(kind, slug, locale, context_tag)
        cached = answer_cache.lookup(self.database, key)
        if cached is not None:
            return RequestOutcome(kind, "done", None, EntityView.from_cache(kind, cached))
        refusal = self._refusal(kind, slug)
        if refusal is not None:
            # Nothing may be generated: show what is stored; an unknown slug is refused.
            try:
                view = self.catalog.show(kind, slug, locale=locale, context_tag=context_tag)
            except EntityNotFound:
                raise refusal from None
            return RequestOutcome(kind, "done", None, view)
        request = JobRequest(kind.name, slug, locale, context_tag)
        dispatched = self._dispatch(request, wait)
        if dispatched.how == "stored":
            assert dispatched.entity is not None
            view = EntityView(dispatched.entity, locale, context_tag, dispatched.text)
            answer_cache.store_if_free(self.database, key, kind, view.entity.id, view.to_cache())
            return RequestOutcome(kind, "done", None, view)
        return self._follow(kind, dispatched, wait, timeout_s)

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
        """A job that writes another text for an existing entity.

        Every call is a new job: a user asking for another text gets one.
        Whether it updates the baseline in place (flag
        ``ai_generation_baseline_locking`` for the slug) is decided here and
        kept with the job, whose baseline lock keeps concurrent rewrites whole.
        """
        locale, context_tag = self._validated(slug, locale, context_tag)
        self.catalog.find(kind, slug)
        refusal = self._refusal(kind, slug)
        if refusal is not None:
            raise refusal
        baseline_locking = self.flags.is_enabled(BASELINE_LOCKING_FLAG, f"slug:{slug}")
        action: Action = "regenerate"
        request = JobRequest(kind.name, slug, locale, context_tag, action, baseline_locking)
        job = create_job(
            self.database,
            self.runner.jobs,
            request,
            self.settings.jobs.strategy,
            claim_for=self.runner.worker_id() if wait else None,
        )
        return self._follow(kind, Dispatched("created", job=job), wait, timeout_s)

    def drive(
        self,
        job_id: str,
        timeout_s: float | None = None,
        give_up: Callable[[Job], bool] | None = None,
    ) -> Job:
        """See a job to its end here (see :meth:`JobRunner.drive`); the job as it ended."""
        return self._observed(self.runner.drive(job_id, timeout_s, give_up))

    def _observed(self, job: Job) -> Job:
        if job.finished:
            # Every process that runs jobs judges the rollout guardrails as its jobs end.
            self.rollouts.on_job_finished(job)
        return job

    def _validated(self, slug: str, locale: str | None, context_tag: str) -> tuple[str, str]:
        validate_slug(slug)
        validate_context_tag(context_tag)
        chosen = self.settings.default_locale if locale is None else locale
        return validate_locale(chosen), context_tag

    def _refusal(self, kind: EntityKind, slug: str) -> EntityNotFound | CatalogReadOnly | None:
        """Why nothing may be generated for ``slug`` now, or ``None``."""
        flag = GENERATION_FLAGS[kind.name]
        if not self.flags.is_enabled(flag, f"slug:{slug}"):
            return EntityNotFound(f"no {kind.name} with slug {slug!r} (generation is off: {flag})")
        if self.flags.is_enabled(READ_ONLY_FLAG):
            return CatalogReadOnly(
                f"the catalog is read-only ({READ_ONLY_FLAG} is on): "
                f"cannot generate for {kind.name} {slug!r}"
            )
        return None

    def _dispatch(self, request: JobRequest, wait: bool) -> Dispatched:
        return dispatch_request(
            self.database,
            self.runner.jobs,
            self.strategies.get(self.settings.jobs.strategy),
            request,
            # A waiting requester runs the job it creates: claim it right away.
            claim_for=self.runner.worker_id() if wait else None,
        )

    def _follow(
        self, kind: EntityKind, dispatched: Dispatched, wait: bool, timeout_s: float | None
    ) -> RequestOutcome:
        job = dispatched.job
        assert job is not None
        created = dispatched.how == "created"
        if not wait:
            running: Future[Job] | None = None
            if created and self.executor is not None:
                running = self.executor.submit(self.drive, job.id)
            status = "queued" if created else "in_progress"
            return RequestOutcome(kind, status, job, None, running)
        if created and job.status == IN_PROGRESS:
            ended = self.runner.run_claimed(job)
            if ended is not None and ended.finished:
                return self._outcome(self._observed(ended), kind)
        return self._outcome(self.drive(job.id, timeout_s), kind)

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
