"""What MovieMind stores and passes around: entities, their texts, jobs and their outcomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from moviemind_lite.core.domain import EntityKind, KindName

ProgressCallback = Callable[[int, int], None]
"""Called as ``on_progress(done, total)`` after each bulk-write batch (and once with 0 first)."""

PENDING = "PENDING"
IN_PROGRESS = "IN_PROGRESS"
DONE = "DONE"
FAILED = "FAILED"
STATUSES = (PENDING, IN_PROGRESS, DONE, FAILED)
FINISHED = (DONE, FAILED)

Action = Literal["generate", "regenerate"]

CREATED = "created"
REUSED_EXISTING = "reused_existing"
BASELINE_UPDATED = "baseline_updated"
ALTERNATIVE_APPENDED = "alternative_appended"
IN_PROGRESS_ELSEWHERE = "in_progress_elsewhere"


class Row(Protocol):
    """A stored row: its values by column name (``sqlite3.Row``, a dict, ...)."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True)
class JobRequest:
    """A request for text that may become a job."""

    kind: KindName
    slug: str
    locale: str
    context_tag: str
    action: Action = "generate"
    # Decided when the request is made (flag ai_generation_baseline_locking) and
    # kept with the job: a regeneration updates the baseline in place under a lock.
    baseline_locking: bool = False
    # Decided when the request is made (the HTTP API's cap on pending jobs; 0: none): no new
    # job while this many are PENDING, checked in the transaction that would insert it.
    pending_cap: int = 0


@dataclass(frozen=True)
class Job:
    """One row of the ``jobs`` table."""

    id: str
    kind: KindName
    action: Action
    slug: str
    locale: str
    context_tag: str
    baseline_locking: bool
    strategy: str
    status: str
    attempts: int
    max_attempts: int
    run_after: str
    result: str | None
    entity_id: str | None
    text_id: str | None
    error: str | None
    worker_id: str | None
    lease_until: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str
    lease_version: int = 0
    """The claim's token: bumped by every claim, never lowered (the fence checks it)."""

    @classmethod
    def from_row(cls, row: Row) -> Job:
        """The job stored in ``row``."""
        values = {name: row[name] for name in _JOB_COLUMNS}
        values["baseline_locking"] = bool(values["baseline_locking"])
        return cls(**values)

    @property
    def request(self) -> JobRequest:
        """The request this job answers."""
        return JobRequest(
            self.kind, self.slug, self.locale, self.context_tag, self.action, self.baseline_locking
        )

    @property
    def finished(self) -> bool:
        """DONE or FAILED."""
        return self.status in FINISHED

    def to_json(self) -> dict[str, Any]:
        """Every column, for ``--json`` output."""
        return dict(self.__dict__)


_JOB_COLUMNS = tuple(name for name in Job.__dataclass_fields__)


@dataclass(frozen=True)
class JobOutcome:
    """How a job body ended: the result and the rows it ended on.

    ``ended_in_write`` says the body also ended the job, in the transaction
    that wrote its rows; ``ended`` is the job as it ended then (``None``: its
    claim had been lost meanwhile, and another worker has the job now).
    ``entity`` and ``text`` are those rows as the transaction left them, when
    the body knows them without reading them back.
    """

    result: str
    entity_id: str | None = None
    text_id: str | None = None
    ended_in_write: bool = False
    ended: Job | None = None
    entity: Entity | None = None
    text: Text | None = None


@dataclass(frozen=True)
class Text:
    """One description or bio."""

    id: str
    locale: str
    context_tag: str
    text: str
    origin: str
    ai_model: str | None
    version: int
    is_baseline: bool
    job_id: str | None
    created_at: str
    updated_at: str

    def summary(self) -> dict[str, Any]:
        """The fields ``show --json`` prints."""
        return {
            "id": self.id,
            "locale": self.locale,
            "context_tag": self.context_tag,
            "text": self.text,
            "version": self.version,
            "origin": self.origin,
            "ai_model": self.ai_model,
            "is_baseline": self.is_baseline,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Entity:
    """A movie or a person: its slug, its facts and the id of its first baseline."""

    kind: EntityKind
    id: str
    slug: str
    facts: dict[str, Any]
    baseline_id: str | None
    created_at: str
    updated_at: str | None = None

    @property
    def label(self) -> str:
        """The title of a movie, the name of a person."""
        return str(self.facts[self.kind.label_column])

    def summary(self) -> dict[str, Any]:
        """Slug and facts, as ``list --json`` prints them."""
        return {"id": self.id, "slug": self.slug, **self.facts}


@dataclass(frozen=True, eq=False)
class EndedJob(Job):
    """A job as the transaction that wrote its rows ended it, with those rows.

    The runner hands it back like any ended job, so whoever ran the job shows
    its entity and text without reading them again. It compares, hashes and
    prints as the plain :class:`Job` it is.
    """

    entity: Entity | None = None
    text: Text | None = None

    @classmethod
    def of(cls, job: Job, entity: Entity, text: Text | None) -> EndedJob:
        """``job`` carrying the rows it ended on."""
        return cls(**{name: getattr(job, name) for name in _JOB_COLUMNS}, entity=entity, text=text)

    def plain(self) -> Job:
        """The job without its rows."""
        return Job(**{name: getattr(self, name) for name in _JOB_COLUMNS})

    def __eq__(self, other: object) -> bool:
        return self.plain() == other if isinstance(other, Job) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.plain())

    def to_json(self) -> dict[str, Any]:
        """Every column, for ``--json`` output (the rows are not columns)."""
        return self.plain().to_json()


@dataclass(frozen=True)
class Credit:
    """One person's part in one movie."""

    movie_id: str
    movie_slug: str
    movie_title: str
    person_id: str
    person_slug: str
    person_name: str
    role: str
    character_name: str | None
    billing_order: int | None
