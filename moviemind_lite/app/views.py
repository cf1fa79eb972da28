"""What the use cases answer with: plain values the front ends print, draw or serve."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from moviemind_lite.core.domain import EntityKind
from moviemind_lite.core.model import Entity, Job, Text


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
        """Everything needed to rebuild this view without reading the catalog.

        The fields are read as they are (``dataclasses.asdict`` deep-copies
        every value, a quarter of a 10,000-request burst's CPU): the result is
        only ever turned into JSON.
        """
        entity = {name: value for name, value in vars(self.entity).items() if name != "kind"}
        return {
            "entity": entity,
            "locale": self.locale,
            "context_tag": self.context_tag,
            "text": dict(vars(self.text)) if self.text else None,
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
    or ``failed``. ``running`` is the future of a queued job the application
    runs in its own executor (``None`` when the job is left to workers).
    """

    kind: EntityKind
    status: str
    job: Job | None
    view: EntityView | None
    running: Future[Job] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The ``show --json`` object: status, job id and the entity (or null)."""
        return {
            "status": self.status,
            "job_id": self.job.id if self.job else None,
            self.kind.name: self.view.to_json() if self.view else None,
            **({"error": self.job.error} if self.status == "failed" and self.job else {}),
        }


@dataclass(frozen=True)
class DeleteReport:
    """What deleting an entity took with it."""

    entity: Entity
    texts: int
    jobs_cleared: int


@dataclass(frozen=True)
class InitReport:
    """What ``init`` did and what the catalog now holds."""

    database: str
    """The database's file, or its URL without the password."""
    created: bool
    loaded: dict[str, int]
    counts: dict[str, int]
