"""The job body every strategy guards: look up, generate (slow AI call), persist.

Strategies differ only in what they wrap around these steps and in what they
do when persist meets a row another job wrote first; the steps themselves are
written once, here, for movies and people alike.

The body reads the entity once, writes the job's rows and ends the job in one
transaction, and announces each step it enters on its app's event sink
(``JobEnvironment.events``, see :mod:`moviemind_lite.core.events`), which the
lab's timelines subscribe to; it calls nothing above itself.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from moviemind_lite.ai.base import GenerationRequest, Generator, guess_facts
from moviemind_lite.core.calls import AICall
from moviemind_lite.core.domain import KINDS, EntityKind
from moviemind_lite.core.errors import (
    AIError,
    DuplicateGeneration,
    MovieMindError,
    UniqueViolation,
)
from moviemind_lite.core.events import Events, Phase
from moviemind_lite.core.ids import key_id, new_id
from moviemind_lite.core.model import (
    ALTERNATIVE_APPENDED,
    BASELINE_UPDATED,
    CREATED,
    REUSED_EXISTING,
    EndedJob,
    Entity,
    Job,
    JobOutcome,
    Text,
)
from moviemind_lite.store import catalog
from moviemind_lite.store.calls import cancel_call, record_call, start_call
from moviemind_lite.store.db import Database, Tx
from moviemind_lite.store.jobs import JobStore, stale_claim
from moviemind_lite.store.locking import KeyLocks, LeaseGrant, Leases

log = logging.getLogger("moviemind.jobs")

OnDuplicate = Literal["reuse", "append", "fail"]

# The steps of a job, as announced (the vocabulary is core.events.Phase).
WAITING = Phase.WAITING
LOCKED = Phase.LOCKED
GENERATING = Phase.GENERATING
PERSISTING = Phase.PERSISTING


def baseline_key(kind: EntityKind, entity_id: str, locale: str, context_tag: str) -> str:
    """The key of the narrow lock on one baseline (entity, locale and context)."""
    return key_id("baseline", kind.name, entity_id, locale, context_tag)


@dataclass(frozen=True)
class JobEnvironment:
    """What a running job needs: the database, the AI, the key locks, the job table, the events."""

    database: Database
    generator: Generator
    locks: KeyLocks
    jobs: JobStore
    events: Events = field(default_factory=Events)
    # The leases a strategy's fencing token is checked against (``setnx``).
    leases: Leases | None = None


@dataclass(frozen=True)
class Found:
    """An entity that already has the text a job was asked for."""

    entity_id: str
    text_id: str


class JobBody:
    """The steps of one job; strategies call them in the order their guard allows."""

    def __init__(self, env: JobEnvironment, job: Job) -> None:
        self.env = env
        self.job = job
        self.kind: EntityKind = KINDS[job.kind]
        # The entity as the look-up read it; facts do not change once stored.
        self._entity: Entity | None = None
        self._looked_up = False
        # The AI call made and not yet recorded: recorded with the job's end,
        # in the transaction that writes its rows (or by the runner's failure).
        self.unrecorded_call: AICall | None = None

    def phase(self, name: Phase) -> None:
        """Announce the step this job enters (the lab's timeline, lock-wait totals)."""
        self.env.events.phase(self.job.id, name)

    def entity(self) -> Entity | None:
        """The stored entity of this job's slug, read once (``None``: not stored yet)."""
        if not self._looked_up:
            self._entity = catalog.find_entity(self.env.database, self.kind, self.job.slug)
            self._looked_up = True
        return self._entity

    def look_up(self) -> Found | None:
        """The stored entity and baseline text this job would produce, if they exist."""
        # Looked up afresh every time: a guard may call this again after waiting.
        entity, text = catalog.find_with_baseline(
            self.env.database, self.kind, self.job.slug, self.job.locale, self.job.context_tag
        )
        self._entity, self._looked_up = entity, True
        return Found(entity.id, text.id) if entity is not None and text is not None else None

    def facts(self) -> dict[str, Any]:
        """The entity's stored facts, or facts guessed from the slug."""
        entity = self.entity()
        return dict(entity.facts) if entity else guess_facts(self.kind.name, self.job.slug)

    def generate(self, facts: dict[str, Any] | None = None) -> str:
        """Call the AI (the slow, paid step), if this job's claim still holds it.

        A worker whose lease was taken back while it waited (a queue, a lock, a
        pause) raises ``StaleClaim`` instead of paying for a text it could not store.
        """
        if not self.env.jobs.still_holds(self.job):
            raise stale_claim(self.job, "before the AI call")
        self.phase(GENERATING)
        request = GenerationRequest(
            kind=self.kind.name,
            slug=self.job.slug,
            locale=self.job.locale,
            context_tag=self.job.context_tag,
            facts=facts if facts is not None else self.facts(),
            job_id=self.job.id,
        )
        # Recorded before it starts: a crash mid-call leaves a row that counts it.
        record_id = start_call(self.env.database, request.key, self.job.id)
        try:
            answer = self.env.generator.generate(request)
        except AIError as error:
            if error.call is None:
                cancel_call(self.env.database, record_id)  # refused before any call
            else:
                self.unrecorded_call = replace(error.call, record_id=record_id)
            raise
        except MovieMindError:
            cancel_call(self.env.database, record_id)  # refused before any call (the input)
            raise
        self.unrecorded_call = replace(answer.call, record_id=record_id)
        return answer.text

    def persist(
        self,
        text: str,
        facts: dict[str, Any],
        *,
        on_duplicate: OnDuplicate = "reuse",
        fence: LeaseGrant | None = None,
    ) -> JobOutcome:
        """Write the entity (if new) and its baseline text, and end the job, in one transaction.

        Both inserts are blind: the UNIQUE indexes decide. On a clash,
        ``on_duplicate`` says what this strategy does: end on the existing rows
        (``reuse``), add the text anyway as another description (``append``,
        the shipped bug), or fail the job (``fail``). The job's claim is
        checked first inside the transaction (a stale one raises ``StaleClaim``
        and writes nothing); with ``fence`` (a strategy's lease grant, data) its
        fencing token is checked next against the app's leases (a newer grant
        raises ``StaleWrite``).
        """
        # Announced before the write lock is taken: a holder stalled here must
        # not block other writers while it stalls.
        self.phase(PERSISTING)
        with self.env.database.write() as conn:
            return self._end(conn, self._write_rows(conn, text, facts, on_duplicate, fence))

    def persist_in(
        self,
        conn: Tx,
        text: str,
        facts: dict[str, Any],
        *,
        on_duplicate: OnDuplicate = "reuse",
        fence: LeaseGrant | None = None,
    ) -> JobOutcome:
        """Like :meth:`persist`, inside a transaction the caller already holds on ``conn``.

        For strategies that keep their transaction open across the whole body
        (``for-update``).
        """
        self.phase(PERSISTING)
        return self._end(conn, self._write_rows(conn, text, facts, on_duplicate, fence))

    def _end(self, conn: Tx, outcome: JobOutcome) -> JobOutcome:
        """End the job in the transaction that wrote its rows.

        One transaction fewer per job, and no moment where the text is stored
        but its job still looks unfinished.
        """
        if self.unrecorded_call is not None:
            record_call(conn, self.unrecorded_call)
            self.unrecorded_call = None
        ended = self.env.jobs.complete_in(conn, self.job, outcome)
        if ended is not None and outcome.entity is not None:
            # The rows go back with the job: its requester does not read them again.
            ended = EndedJob.of(ended, outcome.entity, outcome.text)
        return replace(outcome, ended_in_write=True, ended=ended)

    def _write_rows(
        self,
        conn: Tx,
        text: str,
        facts: dict[str, Any],
        on_duplicate: OnDuplicate,
        fence: LeaseGrant | None,
    ) -> JobOutcome:
        kind, job = self.kind, self.job
        self.env.jobs.check_claim_in(conn, job)
        if fence is not None:
            assert self.env.leases is not None, "fencing needs the app's leases"
            self.env.leases.check_fence(conn, fence)
        # The text's id is chosen first, so that a new entity points at it from its insert.
        text_id = new_id()
        try:
            entity = catalog.insert_entity(conn, kind, job.slug, facts, baseline_id=text_id)
        except UniqueViolation as clash:
            if on_duplicate == "fail":
                raise DuplicateGeneration(f"{job.slug}: {clash}") from clash
            found = catalog.find_entity(conn, kind, job.slug)
            assert found is not None  # the clash proves it exists
            entity = found
        new_entity = entity.baseline_id == text_id
        try:
            written = self._insert_text(
                conn, entity.id, text, baseline=True, text_id=text_id, new_entity=new_entity
            )
        except UniqueViolation as clash:
            if on_duplicate == "fail":
                raise DuplicateGeneration(f"{job.slug}: {clash}") from clash
            if on_duplicate == "append":
                written = self._insert_text(conn, entity.id, text, baseline=False)
                return JobOutcome(
                    ALTERNATIVE_APPENDED, entity.id, written.id, entity=entity, text=written
                )
            baseline = catalog.find_baseline(conn, kind, entity.id, job.locale, job.context_tag)
            assert baseline is not None  # the clash proves it exists
            return JobOutcome(REUSED_EXISTING, entity.id, baseline.id, entity=entity, text=baseline)
        # A stored entity without a baseline now points at this one: its row changed.
        shown = entity if entity.baseline_id is not None else None
        return JobOutcome(CREATED, entity.id, written.id, entity=shown, text=written)

    def regenerate(self) -> JobOutcome:
        """Write another text for an existing entity.

        With baseline locking (decided when the job was requested), the
        baseline is rewritten in place (``version`` + 1) under a narrow lock
        keyed by entity, locale and context; otherwise the new text is appended
        as an alternative and the baseline is left alone.
        """
        entity = self.entity()
        if entity is None:
            raise DuplicateGeneration(f"{self.job.slug}: the {self.kind.name} disappeared")
        locking = self.job.baseline_locking
        if locking:
            self._log_baseline("Baseline locking active", entity.id)
        key = baseline_key(self.kind, entity.id, self.job.locale, self.job.context_tag)
        lock: AbstractContextManager[object] = (
            self.env.locks.hold(key)
            if locking and self.env.jobs.settings.baseline_lock
            else nullcontext()
        )
        with lock:
            baseline = catalog.find_baseline(
                self.env.database, self.kind, entity.id, self.job.locale, self.job.context_tag
            )
            text = self.generate(dict(entity.facts))
            if baseline is None or not locking:
                outcome = self.append_alternative(text, entity.id)
            else:
                self.phase(PERSISTING)
                with self.env.database.write() as conn:
                    self.env.jobs.check_claim_in(conn, self.job)
                    catalog.update_baseline_text(
                        conn,
                        self.kind,
                        baseline,
                        entity.id,
                        text=text,
                        ai_model=self.env.generator.model,
                        job_id=self.job.id,
                    )
                    outcome = self._end(conn, JobOutcome(BASELINE_UPDATED, entity.id, baseline.id))
        baseline_id = baseline.id if baseline else outcome.text_id
        self._log_baseline(
            "Baseline locking result", entity.id, baseline_id, outcome.result, locking=locking
        )
        return outcome

    def _log_baseline(
        self,
        message: str,
        entity_id: str,
        baseline_id: str | None = None,
        result: str | None = None,
        **extra: object,
    ) -> None:
        fields = {
            "job_id": self.job.id,
            "slug": self.job.slug,
            "entity_id": entity_id,
            "baseline_id": baseline_id,
            "result": result,
            **extra,
        }
        log.info(message, extra={"fields": fields})

    def append_alternative(self, text: str, entity_id: str) -> JobOutcome:
        """Add ``text`` next to the baseline (or as the baseline if there is none yet)."""
        self.phase(PERSISTING)
        with self.env.database.write() as conn:
            self.env.jobs.check_claim_in(conn, self.job)
            baseline = catalog.find_baseline(
                conn, self.kind, entity_id, self.job.locale, self.job.context_tag
            )
            text_id = self._insert_text(conn, entity_id, text, baseline=baseline is None).id
            result = ALTERNATIVE_APPENDED if baseline else CREATED
            return self._end(conn, JobOutcome(result, entity_id, text_id))

    def _insert_text(
        self,
        conn: Tx,
        entity_id: str,
        text: str,
        *,
        baseline: bool,
        text_id: str | None = None,
        new_entity: bool = False,
    ) -> Text:
        return catalog.insert_text(
            conn,
            self.kind,
            entity_id,
            locale=self.job.locale,
            context_tag=self.job.context_tag,
            text=text,
            origin="generated",
            ai_model=self.env.generator.model,
            job_id=self.job.id,
            baseline=baseline,
            text_id=text_id,
            new_entity=new_entity,
        )

    def stored_outcome(self) -> JobOutcome | None:
        """The look-up as a job's end: ``reused_existing`` on the stored rows, or ``None``."""
        found = self.look_up()
        return JobOutcome(REUSED_EXISTING, found.entity_id, found.text_id) if found else None

    def run_checked(
        self, *, on_duplicate: OnDuplicate = "reuse", fence: LeaseGrant | None = None
    ) -> JobOutcome:
        """The plain sequence: look up, and only if absent generate and persist.

        ``on_duplicate`` and ``fence`` go to :meth:`persist` (see there).
        """
        if self.job.action == "regenerate":
            return self.regenerate()
        stored = self.stored_outcome()
        if stored is not None:
            return stored
        facts = self.facts()
        return self.persist(self.generate(facts), facts, on_duplicate=on_duplicate, fence=fence)
