"""Use cases the HTTP API needs beyond the CLI's: pages, "tell me about SLUG" the
contract's way, generation for several context tags, health, and admin flags.

The contract differs from ``moviemind movies show`` in what a request may
start: ``GET /movies/{slug}`` never generates for a stored movie (a movie
without texts is answered as it is), a stored person without any bio is
queued, and an unknown slug must pass the confidence check
(:mod:`moviemind_lite.core.slugs`) before a job is queued. Everything still
goes through :class:`~moviemind_lite.app.generation.Generation`, so the HTTP
API dispatches, deduplicates and runs jobs exactly as the CLI and the lab do.
The JSON shapes are the front end's business; this module returns plain values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from moviemind_lite.ai.breaker import BreakerState, CircuitBreaker
from moviemind_lite.app.catalog import Catalog
from moviemind_lite.app.generation import GENERATION_FLAGS, Generation, contract_rule
from moviemind_lite.app.jobs import Jobs
from moviemind_lite.app.limits import GenerationBudget
from moviemind_lite.app.views import RequestOutcome
from moviemind_lite.core.domain import DEFAULT_CONTEXT, EntityKind, describe_bad_slug
from moviemind_lite.core.errors import (
    FlagNotTogglable,
    GenerationOff,
    InvalidInput,
    SlugRejected,
    StoreError,
)
from moviemind_lite.core.model import Credit, Entity, Job, JobRequest, Text
from moviemind_lite.core.slugs import SlugVerdict, score_slug
from moviemind_lite.policy.flags import FlagService, FlagState
from moviemind_lite.store import catalog
from moviemind_lite.store.credits import credits_of
from moviemind_lite.store.db import Database
from moviemind_lite.store.migrations import pending

# The contract's GET always queues in en-US, whatever the request's locale.
REQUEST_LOCALE = "en-US"
PER_PAGE_MAX = 100

# The original service groups its flags; Lite's registry has no groups, so they live here.
FLAG_CATEGORIES = {
    "ai_description_generation": "core_ai",
    "ai_bio_generation": "core_ai",
    "ai_generation_baseline_locking": "core_ai",
    "catalog_read_only_mode": "operations",
}


@dataclass(frozen=True)
class EntityPage:
    """One page of a list: the entities, their text counts and baselines, and the totals."""

    kind: EntityKind
    entities: list[Entity]
    total: int
    page: int
    per_page: int
    text_counts: dict[str, int]
    baselines: dict[str, Text]
    credits: dict[str, list[Credit]]

    @property
    def total_pages(self) -> int:
        """How many pages of ``per_page`` the matching entities fill (at least 1)."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class StoredEntity:
    """A stored entity with every text it has (all locales and contexts, baselines first)."""

    entity: Entity
    texts: list[Text]
    credits: list[Credit]

    @property
    def baseline(self) -> Text | None:
        """The text the entity's baseline pointer names, if any."""
        return next((text for text in self.texts if text.id == self.entity.baseline_id), None)


@dataclass(frozen=True)
class Queued:
    """A request that ended on a job: a new one (``created``) or one already on its way."""

    kind: EntityKind
    slug: str
    locale: str
    context_tag: str
    job: Job
    created: bool
    verdict: SlugVerdict
    existing: Entity | None


@dataclass(frozen=True)
class Health:
    """What ``GET /api/v1/health`` reports: the database, the AI circuit, the job queue."""

    database_ok: bool
    database_message: str
    circuit: BreakerState | None
    ai_model: str
    jobs: dict[str, int]
    pid: int

    @property
    def ai_ok(self) -> bool:
        """The AI circuit lets calls through (closed or probing)."""
        return self.circuit is not None and self.circuit.state != "open"


@dataclass(frozen=True)
class AdminFlag:
    """A flag as the admin endpoints show it."""

    state: FlagState
    category: str

    @property
    def forced(self) -> bool:
        """Fixed for this process by ``MOVIEMIND_FLAG_<NAME>``."""
        return self.state.value.source == "environment-variable"

    @property
    def togglable(self) -> bool:
        """May be changed through the API now."""
        return self.state.flag.togglable and not self.forced


@dataclass(eq=False)
class Api:
    """The HTTP API's use cases, over the same catalog, generation, jobs and flags."""

    database: Database
    catalog: Catalog
    generation: Generation
    jobs: Jobs
    flags: FlagService
    breaker: CircuitBreaker
    ai_model: str
    budget: GenerationBudget

    # -- reading the catalog --------------------------------------------------------

    def page(self, kind: EntityKind, search: str | None, page: int, per_page: int) -> EntityPage:
        """Page ``page`` (from 1) of ``per_page`` entities, newest first, matching ``search``."""
        if page < 1:
            raise InvalidInput(f"page must be >= 1, got {page}")
        if not 1 <= per_page <= PER_PAGE_MAX:
            raise InvalidInput(f"per_page must be between 1 and {PER_PAGE_MAX}, got {per_page}")
        entities, total = catalog.page_of_entities(
            self.database, kind, search or None, (page - 1) * per_page, per_page
        )
        ids = [entity.id for entity in entities]
        baseline_ids = [entity.baseline_id for entity in entities if entity.baseline_id]
        return EntityPage(
            kind,
            entities,
            total,
            page,
            per_page,
            catalog.count_texts(self.database, kind, ids),
            catalog.find_texts(self.database, kind, baseline_ids),
            credits_of(self.database, kind.entity_fk, ids),
        )

    def stored(self, kind: EntityKind, slug: str) -> StoredEntity | None:
        """The stored entity with ``slug`` and all its texts, or ``None`` (also for a slug
        Lite could never store)."""
        if describe_bad_slug(slug) is not None:
            return None
        entity = catalog.find_entity(self.database, kind, slug)
        return self._with_texts(entity) if entity is not None else None

    def _with_texts(self, entity: Entity) -> StoredEntity:
        credits = credits_of(self.database, entity.kind.entity_fk, [entity.id]).get(entity.id, [])
        return StoredEntity(entity, self.catalog.texts(entity), credits)

    # -- asking for texts -----------------------------------------------------------

    def generation_enabled(self, kind: EntityKind, slug: str) -> bool:
        """Whether the kind's generation flag is on for ``slug``."""
        scope = f"slug:{slug}" if describe_bad_slug(slug) is None else None
        return self.flags.is_enabled(GENERATION_FLAGS[kind.name], scope)

    @staticmethod
    def _generation_off(kind: EntityKind, slug: str) -> GenerationOff:
        flag = GENERATION_FLAGS[kind.name]
        return GenerationOff(f"no {kind.name} with slug {slug!r}: the flag {flag} is off", flag)

    def show(self, kind: EntityKind, slug: str, client: str | None = None) -> StoredEntity | Queued:
        """``GET /movies/{slug}`` and ``/people/{slug}``: the stored entity, or a job for it.

        :meth:`Generation.request` under the contract's rule
        (:func:`~moviemind_lite.app.generation.contract_rule`): a stored movie
        is answered as it is, texts or not; a stored person without any bio, or
        an unknown slug that passes the confidence check, becomes a job (en-US,
        default context) while generation is on, the same job for every request
        while it is on its way. Raises :class:`GenerationOff` when generation is
        off, :class:`SlugRejected` for an unknown slug that fails the check, and
        :class:`BudgetSpent` when a new job would pass ``client``'s or the
        service's AI budget or the cap on pending jobs (nothing is queued then).
        """
        outcome = self.generation.request(
            kind,
            slug,
            locale=REQUEST_LOCALE,
            context_tag=DEFAULT_CONTEXT,
            wait=False,
            rule=contract_rule(kind, client),
            pending_cap=self.budget.settings.max_pending_jobs,
        )
        if outcome.job is None:
            assert outcome.view is not None  # answered from the store
            return self._with_texts(outcome.view.entity)
        return self._queued(outcome, REQUEST_LOCALE, DEFAULT_CONTEXT, score_slug(kind.name, slug))

    def generate(
        self,
        kind: EntityKind,
        slug: str,
        locale: str,
        context_tags: list[str],
        client: str | None = None,
    ) -> list[Queued]:
        """``POST /generate``: one job per context tag, joined when one is already on its way.

        An unknown slug is dispatched like a ``GET`` (one job per key); a stored
        one is regenerated: a new job, unless an unfinished job holds the same
        key. Raises :class:`EntityNotFound` when generation is off and
        :class:`SlugRejected` for an unknown slug that fails the check. Each new
        job is paid from the AI budget as :meth:`show`'s is.
        """
        if not self.generation_enabled(kind, slug):
            raise self._generation_off(kind, slug)
        found = self.stored(kind, slug)
        verdict = self._verdict(kind, slug, found)
        return [
            self._generate_one(kind, slug, locale, tag, verdict, client) for tag in context_tags
        ]

    def _generate_one(
        self,
        kind: EntityKind,
        slug: str,
        locale: str,
        context_tag: str,
        verdict: SlugVerdict,
        client: str | None,
    ) -> Queued:
        outcome = None
        with self.generation.paid(client, JobRequest(kind.name, slug, locale, context_tag)) as paid:
            if catalog.find_entity(self.database, kind, slug) is None:
                outcome = self._queue(kind, slug, locale, context_tag)
            if outcome is None or outcome.job is None:
                # Stored (perhaps a moment ago): write another text, or join the one on its way.
                outcome = self.generation.regenerate(
                    kind,
                    slug,
                    locale=locale,
                    context_tag=context_tag,
                    wait=False,
                    join_unfinished=True,
                    pending_cap=self.budget.settings.max_pending_jobs,
                )
            paid.created = outcome.status == "queued"
        return self._queued(outcome, locale, context_tag, verdict)

    def _queued(
        self, outcome: RequestOutcome, locale: str, context_tag: str, verdict: SlugVerdict
    ) -> Queued:
        """A request that ended on a job, with the entity stored for its slug (if any)."""
        job = outcome.job
        assert job is not None
        existing = catalog.find_entity(self.database, outcome.kind, job.slug)
        created = outcome.status == "queued"
        return Queued(outcome.kind, job.slug, locale, context_tag, job, created, verdict, existing)

    def _queue(self, kind: EntityKind, slug: str, locale: str, context_tag: str) -> RequestOutcome:
        """Dispatch as a ``GET`` does, without waiting for the job, within the pending-jobs cap."""
        return self.generation.request(
            kind,
            slug,
            locale=locale,
            context_tag=context_tag,
            wait=False,
            pending_cap=self.budget.settings.max_pending_jobs,
        )

    def _verdict(self, kind: EntityKind, slug: str, found: StoredEntity | None) -> SlugVerdict:
        verdict = score_slug(kind.name, slug)
        if found is None and not verdict.valid:
            raise SlugRejected(slug, verdict.confidence, verdict.reason, verdict.detail)
        return verdict

    # -- jobs -----------------------------------------------------------------------

    def job(self, job_id: str) -> Job:
        """One job; :class:`JobNotFound` (or :class:`InvalidInput` for a malformed id)."""
        return self.jobs.get(job_id)

    def text(self, kind: EntityKind, text_id: str) -> Text | None:
        """A description or bio by id."""
        return catalog.find_text(self.database, kind, text_id)

    # -- health ---------------------------------------------------------------------

    def health(self) -> Health:
        """The database (reachable, schema up to date), the AI circuit and the job counts."""
        try:
            missing = pending(self.database)
        except StoreError as error:
            return Health(False, f"Database check failed: {error}", None, self.ai_model, {}, _pid())
        if missing:
            message = f"Database schema is behind: {', '.join(missing)} not applied"
            return Health(False, message, None, self.ai_model, {}, _pid())
        try:
            circuit: BreakerState | None = self.breaker.state()
            counts = self.jobs.store.counts()
        except StoreError as error:
            return Health(False, f"Database check failed: {error}", None, self.ai_model, {}, _pid())
        message = "Database connection established"
        return Health(True, message, circuit, self.ai_model, counts, _pid())

    # -- admin flags ----------------------------------------------------------------

    def admin_flags(self) -> list[AdminFlag]:
        """Every registered flag with its value, category and whether the API may change it."""
        return [self._admin_flag(state) for state in self.flags.list_states()]

    def admin_flag(self, name: str) -> AdminFlag:
        """One flag as the admin endpoints show it; :class:`UnknownFlag` if not registered."""
        return self._admin_flag(self.flags.describe(name, changes=0))

    def toggle_flag(self, name: str, enabled: bool) -> AdminFlag:
        """Store ``enabled`` for a flag the API may change (:class:`FlagNotTogglable` else)."""
        self._check_togglable(name)
        self.flags.set(name, enabled)
        return self.admin_flag(name)

    def reset_flag(self, name: str) -> AdminFlag:
        """Forget a flag's stored value: back to its default."""
        self._check_togglable(name)
        self.flags.clear(name)
        return self.admin_flag(name)

    def _check_togglable(self, name: str) -> None:
        flag = self.admin_flag(name)
        if flag.forced:
            raise FlagNotTogglable(name, f"forced by {flag.state.flag.environment_variable}")
        if not flag.togglable:
            raise FlagNotTogglable(name, flag.state.flag.reason or "fixed at run time")

    def _admin_flag(self, state: FlagState) -> AdminFlag:
        return AdminFlag(state, FLAG_CATEGORIES.get(state.flag.name, "operations"))


def _pid() -> int:
    return os.getpid()


@dataclass(frozen=True)
class JobFailure:
    """A FAILED job's error as the contract structures it."""

    type: str
    message: str
    technical_message: str
    user_message: str


_USER_MESSAGES = {
    "AI_API_ERROR": "The AI service could not write this text. Please try again later.",
    "NOT_FOUND": "The requested item could not be found.",
    "VALIDATION_ERROR": "The request could not be processed as given.",
    "UNKNOWN_ERROR": "Something went wrong while generating. Please try again later.",
}


def job_failure(job: Job) -> JobFailure:
    """Classify a FAILED job's stored error message into the contract's error types.

    The runner stores the message of the error that ended the job; its known
    forms (the AI's failures, an entity that vanished, bad input) map onto the
    contract's ``AI_API_ERROR``, ``NOT_FOUND`` and ``VALIDATION_ERROR``; anything
    else is ``UNKNOWN_ERROR``.
    """
    error = job.error or "unknown error"
    lowered = error.lower()
    if " ai " in f" {lowered} " or "circuit" in lowered:
        kind = "AI_API_ERROR"
    elif "disappeared" in lowered or "not found" in lowered or lowered.startswith("no "):
        kind = "NOT_FOUND"
    elif "invalid" in lowered or "unknown locale" in lowered:
        kind = "VALIDATION_ERROR"
    else:
        kind = "UNKNOWN_ERROR"
    short = {
        "AI_API_ERROR": "AI generation failed",
        "NOT_FOUND": "Not found",
        "VALIDATION_ERROR": "Validation failed",
        "UNKNOWN_ERROR": "Generation failed",
    }[kind]
    return JobFailure(kind, short, error, _USER_MESSAGES[kind])
