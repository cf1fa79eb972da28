"""What a job is: its statuses, results and the row that describes it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Literal

from moviemind_lite.domain import KindName

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


@dataclass(frozen=True)
class JobRequest:
    """A request for text that may become a job."""

    kind: KindName
    slug: str
    locale: str
    context_tag: str
    action: Action = "generate"


@dataclass(frozen=True)
class Job:
    """One row of the ``jobs`` table."""

    id: str
    kind: KindName
    action: Action
    slug: str
    locale: str
    context_tag: str
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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        """The job stored in ``row``."""
        return cls(**{name: row[name] for name in row.keys()})  # noqa: SIM118

    @property
    def request(self) -> JobRequest:
        """The request this job answers."""
        return JobRequest(self.kind, self.slug, self.locale, self.context_tag, self.action)

    @property
    def finished(self) -> bool:
        """DONE or FAILED."""
        return self.status in FINISHED

    def to_json(self) -> dict[str, Any]:
        """Every column, for ``--json`` output."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class JobOutcome:
    """How a job body ended: the result and the rows it ended on."""

    result: str
    entity_id: str | None = None
    text_id: str | None = None
