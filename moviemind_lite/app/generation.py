"""Generation use cases: "tell me about SLUG" and "write another text for SLUG".

Every front end and the lab ask through :meth:`Generation.request`: the
key as the store holds it (its cached answer first), the generation flag, the
read-only mode, the strategy's dispatch, then either running the job here
(``wait``), handing it to the application's executor, or leaving it to
``moviemind worker`` processes. What differs between front ends (what a
request may start, how a refusal is said, whose AI budget pays) is a
:class:`RequestRule`, data passed down. Each job that ends here is shown to
the rollout guardrails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Literal

from moviemind_lite.app.catalog import READ_ONLY_FLAG, Catalog
from moviemind_lite.app.limits import GenerationBudget
from moviemind_lite.app.views import EntityView, RequestOutcome
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import (
    DEFAULT_CONTEXT,
    EntityKind,
    describe_bad_slug,
    validate_context_tag,
    validate_locale,
    validate_slug,
)
from moviemind_lite.core.errors import (
    CatalogReadOnly,
    EntityNotFound,
    GenerationOff,
    SlugRejected,
)
from moviemind_lite.core.model import (
    DONE,
    FAILED,
    IN_PROGRESS,
    IN_PROGRESS_ELSEWHERE,
    PENDING,
    Action,
    EndedJob,
    Entity,
    Job,
    JobRequest,
)
from moviemind_lite.core.slugs import score_slug
from moviemind_lite.pipeline.dispatch import Dispatched, create_job, dispatch_request
from moviemind_lite.pipeline.strategies import Strategies
from moviemind_lite.policy.flags import FlagService
from moviemind_lite.policy.rollout import RolloutService
from moviemind_lite.runtime.runner import JobRunner
from moviemind_lite.store import answer_cache, catalog, slots
from moviemind_lite.store.db import Database
from moviemind_lite.store.jobs import unfinished_for
from moviemind_lite.store.snapshots import RequestSnapshot, request_snapshot

GENERATION_FLAGS = {"movie": "ai_description_generation", "person": "ai_bio_generation"}
BASELINE_LOCKING_FLAG = "ai_generation_baseline_locking"

Generates = Literal["missing_text", "no_text", "unknown", "never"]


@dataclass(frozen=True)
class RequestRule:
    """What a front end's request may start and how it is refused: data, not code.

    ``generate`` says when a job is dispatched for a key without stored text:
    ``missing_text`` (the key's text is missing: ``show`` on the command line,
    the lab), ``no_text`` (the entity is unknown or has no text at all),
    ``unknown`` (only an unknown slug), ``never`` (look only: a stored entity,
    or :class:`EntityNotFound`). A stored entity a job is not dispatched for
    is the answer, without the key's text.

    ``contract`` is the HTTP contract's way: a refusal by the generation flag
    is :class:`GenerationOff` even for a stored entity, a slug Lite could never
    store is an unknown slug, an unknown slug must pass the confidence check
    (:class:`SlugRejected`), and a new job is paid from the AI budget,
    ``client``'s and the service's (:class:`BudgetSpent`).
    """

    generate: Generates = "missing_text"
    contract: bool = False
    client: str | None = None


SHOW = RequestRule()
"""``moviemind movies show``, the lab: the key's text, generated if it is missing."""
LOOK = RequestRule(generate="never")
"""A stored entity with the key's text if it has one; never a job (the TUI's detail)."""


def contract_rule(kind: EntityKind, client: str | None) -> RequestRule:
    """``GET /movies/{slug}``: a stored movie as it is; a person without any bio is queued."""
    return RequestRule("unknown" if kind.name == "movie" else "no_text", True, client)


@dataclass
class Payment:
    """A request's AI-budget payment: free when joining, refunded unless a job was created."""

    joining: bool
    created: bool = False


# A slug Lite could never store: nothing is read for it.
NOTHING_STORED = RequestSnapshot(None, None, None, None, 0)


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
    budget: GenerationBudget | None = None

    def request(
        self,
        kind: EntityKind,
        slug: str,
        *,
        locale: str | None = None,
        context_tag: str = DEFAULT_CONTEXT,
        wait: bool = True,
        timeout_s: float | None = None,
        rule: RequestRule = SHOW,
        pending_cap: int = 0,
    ) -> RequestOutcome:
        """Answer "tell me about SLUG": stored text, or a job that writes it.

        Every front end asks here; what differs between them is ``rule`` (see
        :class:`RequestRule`). The first step is one read of the key as the
        store holds it, its cached answer among it. An unknown key becomes a
        job through the strategy's dispatch (with ``two-level``, every request
        for a key in flight gets the same job). With ``wait`` the job runs in
        this thread, unless another thread or process is already running it,
        and the outcome carries the stored text. Without it, a new job goes to
        the application's executor if it has one (the outcome's ``running`` is
        its future), or waits, PENDING, for ``moviemind worker``. With
        ``pending_cap``, no new job is made while that many are PENDING
        (:class:`QueueFull`).
        """
        locale, context_tag = self._validated(slug, locale, context_tag, rule)
        request = JobRequest(kind.name, slug, locale, context_tag, pending_cap=pending_cap)
        key = answer_cache.cache_key(kind, slug, locale, context_tag)
        seen = self._snapshot(kind, request, key)
        if seen.answer is not None:
            return RequestOutcome(kind, "done", None, EntityView.from_cache(kind, seen.answer))
        if seen.entity is not None and seen.text is not None:
            view = EntityView(seen.entity, locale, context_tag, seen.text)
            answer_cache.store_if_free(self.database, key, kind, seen.entity.id, view.to_cache())
            return RequestOutcome(kind, "done", None, view)
        if not self._may_generate(kind, slug, seen, rule):
            assert seen.entity is not None  # only a stored entity is answered without text
            view = EntityView(seen.entity, locale, context_tag, None)
            return RequestOutcome(kind, "done", None, view)
        charged: AbstractContextManager[Payment] = (
            self.paid(rule.client, request) if rule.contract else nullcontext(Payment(True))
        )
        with charged as payment:
            dispatched = dispatch_request(
                self.database,
                self.runner.jobs,
                self.strategies.get(self.settings.jobs.strategy),
                request,
                holder=seen.holder,
                claim_for=self._runs_here(wait),
            )
            payment.created = dispatched.how == "created"
        if dispatched.how == "stored":
            assert dispatched.entity is not None
            view = EntityView(dispatched.entity, locale, context_tag, dispatched.text)
            return RequestOutcome(kind, "done", None, view)
        return self._follow(kind, dispatched, wait, timeout_s, seen.state_version)

    def _snapshot(self, kind: EntityKind, request: JobRequest, key: str) -> RequestSnapshot:
        """The key as the store holds it; nothing, for a slug Lite could never store."""
        if describe_bad_slug(request.slug) is not None:  # only a contract request gets here
            return NOTHING_STORED
        return request_snapshot(
            self.database,
            self.runner.jobs.slots,
            kind,
            request.slug,
            request.locale,
            request.context_tag,
            cache_key=key,
            slot_key=slots.slot_key(request),
        )

    def _may_generate(
        self, kind: EntityKind, slug: str, seen: RequestSnapshot, rule: RequestRule
    ) -> bool:
        """Whether a job may be dispatched for a key without stored text.

        ``False``: the stored entity is the answer, as it is. An unknown slug
        nothing may be generated for raises what ``rule`` says a refusal is.
        """
        entity = seen.entity
        if entity is not None and not self._generates_for(entity, rule):
            return False
        if rule.generate == "never":
            raise EntityNotFound(f"no {kind.name} with slug {slug!r}")
        version = seen.state_version if seen is not NOTHING_STORED else None
        refusal = self._generation_off(kind, slug, version, rule.contract)
        if refusal is not None:
            if entity is None or rule.contract:
                raise refusal
            return False
        if rule.contract and entity is None:
            verdict = score_slug(kind.name, slug)
            if not verdict.valid:
                raise SlugRejected(slug, verdict.confidence, verdict.reason, verdict.detail)
        read_only = self._read_only(kind, slug, version)
        if read_only is not None:
            if entity is None:
                raise read_only
            return False
        return True

    def _generates_for(self, entity: Entity, rule: RequestRule) -> bool:
        """Whether ``rule`` has a stored entity that lacks the key's text generated for."""
        if rule.generate == "no_text":
            return not catalog.count_texts(self.database, entity.kind, [entity.id])
        return rule.generate == "missing_text"

    @contextmanager
    def paid(self, client: str | None, request: JobRequest) -> Iterator[Payment]:
        """Charge the block's new job to the AI budget (``client``'s and the service's).

        Free when a job for the key is already on its way; the block says
        whether it created a job (``created``), and if it joined one after all,
        or failed, the payment is given back.
        """
        assert self.budget is not None, "built without an AI budget"
        payment = Payment(joining=self._on_its_way(request))
        if not payment.joining:
            self.budget.reserve(client)
        try:
            yield payment
        finally:
            if not payment.joining and not payment.created:
                self.budget.refund(client)

    def _on_its_way(self, request: JobRequest) -> bool:
        return any(
            job.locale == request.locale and job.context_tag == request.context_tag
            for job in unfinished_for(self.database, request.kind, request.slug)
        )

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
        refusal = self._generation_off(kind, slug, None, False) or self._read_only(kind, slug, None)
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

    def _validated(
        self, slug: str, locale: str | None, context_tag: str, rule: RequestRule = SHOW
    ) -> tuple[str, str]:
        if not rule.contract:  # the contract takes a slug Lite could never store as unknown
            validate_slug(slug)
        validate_context_tag(context_tag)
        chosen = self.settings.default_locale if locale is None else locale
        return validate_locale(chosen), context_tag

    def _generation_off(
        self, kind: EntityKind, slug: str, version: int | None, contract: bool
    ) -> EntityNotFound | None:
        """The refusal of a request while the kind's generation flag is off for ``slug``."""
        flag = GENERATION_FLAGS[kind.name]
        scope = f"slug:{slug}" if describe_bad_slug(slug) is None else None
        if self.flags.is_enabled(flag, scope, at_version=version):
            return None
        if contract:
            return GenerationOff(f"no {kind.name} with slug {slug!r}: the flag {flag} is off", flag)
        return EntityNotFound(f"no {kind.name} with slug {slug!r} (generation is off: {flag})")

    def _read_only(
        self, kind: EntityKind, slug: str, version: int | None
    ) -> CatalogReadOnly | None:
        """The refusal of a request while the catalog is read-only."""
        if not self.flags.is_enabled(READ_ONLY_FLAG, at_version=version):
            return None
        return CatalogReadOnly(
            f"the catalog is read-only ({READ_ONLY_FLAG} is on): "
            f"cannot generate for {kind.name} {slug!r}"
        )

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
        entity: Entity | None
        if isinstance(job, EndedJob) and job.entity is not None:
            entity, text = job.entity, job.text  # the rows its end handed back
        else:
            entity, text = catalog.find_with_text(self.database, kind, job.slug, job.text_id)
        if entity is None:  # pragma: no cover - a DONE job always ends on a row
            raise EntityNotFound(f"no {kind.name} with slug {job.slug!r}")
        return RequestOutcome(
            kind, "done", job, EntityView(entity, job.locale, job.context_tag, text)
        )
