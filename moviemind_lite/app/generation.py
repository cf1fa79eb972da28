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
from dataclasses import dataclass

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
from moviemind_lite.store import answer_cache, catalog, slots
from moviemind_lite.store.db import Database
from moviemind_lite.store.snapshots import RequestSnapshot, request_snapshot

GENERATION_FLAGS = {"movie": "ai_description_generation", "person": "ai_bio_generation"}
BASELINE_LOCKING_FLAG = "ai_generation_baseline_locking"


def deferred(job: Job) -> bool:
    """Whether ``job`` was sent back to wait while the AI circuit is open."""
    return job.status == PENDING and (job.error or "").startswith("deferred:")


@dataclass(eq=False)
class Generation:
    """Requests for texts: answered from the store, or turned into jobs and run."""

    settings: Settings
    database: Database
    catalog: Catalog
    flags: FlagService
    rollouts: RolloutService
    strategies: Strategies
    runner: JobRunner
    executor: Executor | None = None

    def request(
        self,
        kind: EntityKind,
        slug: str,
        *,
        locale: str | None = None,
        context_tag: str = DEFAULT_CONTEXT,
        wait: bool = True,
        timeout_s: float | None = None,
        pending_cap: int = 0,
    ) -> RequestOutcome:
        """Answer "tell me about SLUG": stored text, or a job that writes it.

        An unknown key becomes a job through the strategy's dispatch (with
        ``two-level``, every request for a key in flight gets the same job).
        With ``wait`` the job runs in this thread, unless another thread or
        process is already running it, and the outcome carries the stored
        text. Without it, a new job goes to the application's executor if it
        has one (the outcome's ``running`` is its future), or waits, PENDING,
        for ``moviemind worker``. With ``pending_cap``, no new job is made
        while that many are PENDING (:class:`QueueFull`).
        """
        locale, context_tag = self._validated(slug, locale, context_tag)
        request = JobRequest(kind.name, slug, locale, context_tag, pending_cap=pending_cap)
        key = answer_cache.cache_key(kind, slug, locale, context_tag)
        seen = request_snapshot(
            self.database,
            self.runner.jobs.slots,
            kind,
            slug,
            locale,
            context_tag,
            cache_key=key,
            slot_key=slots.slot_key(request),
        )
        if seen.answer is not None:
            return RequestOutcome(kind, "done", None, EntityView.from_cache(kind, seen.answer))
        if seen.entity is not None and seen.text is not None:
            view = EntityView(seen.entity, locale, context_tag, seen.text)
            answer_cache.store_if_free(self.database, key, kind, seen.entity.id, view.to_cache())
            return RequestOutcome(kind, "done", None, view)
        refusal = self._refusal(kind, slug, seen)
        if refusal is not None:
            if seen.entity is None:
                raise refusal
            # Nothing may be generated: a stored entity is shown without that text.
            return RequestOutcome(
                kind, "done", None, EntityView(seen.entity, locale, context_tag, None)
            )
        dispatched = dispatch_request(
            self.database,
            self.runner.jobs,
            self.strategies.get(self.settings.jobs.strategy),
            request,
            holder=seen.holder,
            claim_for=self._runs_here(wait),
        )
        if dispatched.how == "stored":
            assert dispatched.entity is not None
            view = EntityView(dispatched.entity, locale, context_tag, dispatched.text)
            return RequestOutcome(kind, "done", None, view)
        return self._follow(kind, dispatched, wait, timeout_s, seen.state_version)

    def regenerate(
        self,
        kind: EntityKind,
        slug: str,
        *,
        locale: str | None = None,
        context_tag: str = DEFAULT_CONTEXT,
        wait: bool = True,
        timeout_s: float | None = None,
        join_unfinished: bool = False,
        pending_cap: int = 0,
    ) -> RequestOutcome:
        """A job that writes another text for an existing entity.

        Every call is a new job: a user asking for another text gets one
        (unless ``join_unfinished``: then a job for the same key still on its
        way is joined, the HTTP API's rule).
        Whether it updates the baseline in place (flag
        ``ai_generation_baseline_locking`` for the slug) is decided here and
        kept with the job, whose baseline lock keeps concurrent rewrites whole.
        ``pending_cap`` as for :meth:`request`.
        """
        locale, context_tag = self._validated(slug, locale, context_tag)
        self.catalog.find(kind, slug)
        refusal = self._refusal(kind, slug, None)
        if refusal is not None:
            raise refusal
        baseline_locking = self.flags.is_enabled(BASELINE_LOCKING_FLAG, f"slug:{slug}")
        action: Action = "regenerate"
        request = JobRequest(
            kind.name, slug, locale, context_tag, action, baseline_locking, pending_cap
        )
        dispatched = create_job(
            self.database,
            self.runner.jobs,
            request,
            self.settings.jobs.strategy,
            claim_for=self._runs_here(wait),
            join_unfinished=join_unfinished,
        )
        return self._follow(kind, dispatched, wait, timeout_s)

    def drive(
        self,
        job_id: str,
        timeout_s: float | None = None,
        give_up: Callable[[Job], bool] | None = None,
    ) -> Job:
        """See a job to its end here (see :meth:`JobRunner.drive`); the job as it ended."""
        return self._observed(self.runner.drive(job_id, timeout_s, give_up))

    def _observed(self, job: Job, state_version: int | None = None) -> Job:
        """``job``, shown to the rollout guardrails if it finished.

        Every process that runs jobs judges the guardrails as its jobs end.
        With the state version the request read, a job while no rollout is
        active costs nothing here.
        """
        if job.finished and (state_version is None or self.rollouts.any_active(state_version)):
            self.rollouts.on_job_finished(job)
        return job

    def _validated(self, slug: str, locale: str | None, context_tag: str) -> tuple[str, str]:
        validate_slug(slug)
        validate_context_tag(context_tag)
        chosen = self.settings.default_locale if locale is None else locale
        return validate_locale(chosen), context_tag

    def _refusal(
        self, kind: EntityKind, slug: str, seen: RequestSnapshot | None
    ) -> EntityNotFound | CatalogReadOnly | None:
        """Why nothing may be generated for ``slug`` now, or ``None``.

        With the request's snapshot, the flags are those of its state version.
        """
        flag = GENERATION_FLAGS[kind.name]
        version = seen.state_version if seen is not None else None
        if not self.flags.is_enabled(flag, f"slug:{slug}", at_version=version):
            return EntityNotFound(f"no {kind.name} with slug {slug!r} (generation is off: {flag})")
        if self.flags.is_enabled(READ_ONLY_FLAG, at_version=version):
            return CatalogReadOnly(
                f"the catalog is read-only ({READ_ONLY_FLAG} is on): "
                f"cannot generate for {kind.name} {slug!r}"
            )
        return None

    def _runs_here(self, wait: bool) -> str | None:
        """Who will run a job this request creates, if it runs in this process.

        A job run here is claimed in the transaction that creates it: by the
        waiting requester's thread, or by the application's executor (whose
        queued jobs keep their leases alive until they run). ``None``: it is
        left to ``moviemind worker``.
        """
        if wait:
            return self.runner.worker_id()
        return f"{self.runner.worker_prefix}/executor" if self.executor is not None else None

    def _run_queued(self, job: Job, state_version: int | None) -> Job:
        """Run a job the executor was handed, claimed when it was created; the job as it ended."""
        ended = self.runner.run_claimed(job)
        if ended is not None and ended.finished:
            return self._observed(ended, state_version)
        return self.drive(job.id)  # sent back to retry, or its lease was lost: see it out

    def _follow(
        self,
        kind: EntityKind,
        dispatched: Dispatched,
        wait: bool,
        timeout_s: float | None,
        state_version: int | None = None,
    ) -> RequestOutcome:
        job = dispatched.job
        assert job is not None
        created = dispatched.how == "created"
        if not wait:
            running: Future[Job] | None = None
            if created and self.executor is not None:
                if job.status == IN_PROGRESS:
                    self.runner.leases.hold(job)  # claimed, queued: its lease must not run out
                    running = self.executor.submit(self._run_queued, job, state_version)
                else:
                    running = self.executor.submit(self.drive, job.id)
            status = "queued" if created else "in_progress"
            return RequestOutcome(kind, status, job, None, running)
        if created and job.status == IN_PROGRESS:
            ended = self.runner.run_claimed(job)
            if ended is not None and ended.finished:
                return self._outcome(self._observed(ended, state_version), kind)
        return self._outcome(self.drive(job.id, timeout_s), kind)

    def _outcome(self, job: Job, kind: EntityKind) -> RequestOutcome:
        if job.status == FAILED:
            return RequestOutcome(kind, "failed", job, None)
        if job.status != DONE or job.result == IN_PROGRESS_ELSEWHERE:
            # Still running, or (setnx) ended because another holder has the key.
            return RequestOutcome(kind, "in_progress", job, None)
        entity, text = catalog.find_with_text(self.database, kind, job.slug, job.text_id)
        if entity is None:  # pragma: no cover - a DONE job always ends on a row
            raise EntityNotFound(f"no {kind.name} with slug {job.slug!r}")
        return RequestOutcome(
            kind, "done", job, EntityView(entity, job.locale, job.context_tag, text)
        )
