"""The ``rollouts`` table, and the finished jobs a rollout stage is judged on.

Only what is stored and read: the plan, the guardrails' verdicts and which
jobs are under a flag live in :mod:`moviemind_lite.policy.rollout`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from moviemind_lite.core.ids import elapsed_ms, new_id, now
from moviemind_lite.core.model import FAILED
from moviemind_lite.store.db import Database, Reader, Row, Tx, read_all, read_one

RolloutStatus = Literal["active", "completed", "rolled_back", "aborted"]
EndStatus = Literal["completed", "rolled_back", "aborted"]


@dataclass(frozen=True)
class Rollout:
    """One row of the ``rollouts`` table."""

    id: str
    flag: str
    environment: str
    stages: tuple[int, ...]
    stage_index: int
    min_jobs: int
    max_error_rate: float
    max_p95_ms: float
    status: RolloutStatus
    reason: str | None
    started_by: str
    started_at: str
    stage_started_at: str
    updated_at: str
    ended_at: str | None

    @property
    def stage(self) -> int:
        """The current stage, counted from 1."""
        return self.stage_index + 1

    @property
    def percentage(self) -> int:
        """The percentage of the current stage."""
        return self.stages[self.stage_index]

    @property
    def last_stage(self) -> bool:
        """Whether the current stage is the last one."""
        return self.stage_index == len(self.stages) - 1

    @property
    def active(self) -> bool:
        """Whether the rollout is still moving (not completed, rolled back or aborted)."""
        return self.status == "active"


@dataclass(frozen=True)
class FinishedJob:
    """A job that ended for good (DONE or FAILED), as a rollout stage's guardrails read it."""

    slug: str
    status: str
    started_at: str | None
    finished_at: str

    @property
    def failed(self) -> bool:
        """Whether the job ended FAILED."""
        return self.status == FAILED

    @property
    def duration_ms(self) -> float | None:
        """Its last attempt's time, from start to finish (``None`` if it never started)."""
        if self.started_at is None:
            return None
        return elapsed_ms(self.started_at, self.finished_at)


def _rollout(row: Row) -> Rollout:
    values = {name: row[name] for name in row.keys()}  # noqa: SIM118
    values["stages"] = tuple(json.loads(values["stages"]))
    return Rollout(**values)


def _rollouts(rows: list[Row]) -> list[Rollout]:
    return [_rollout(row) for row in rows]


def active_rollout(reader: Reader, flag: str, environment: str) -> Rollout | None:
    """The active rollout of ``flag`` in ``environment``, or ``None``."""
    row = read_one(
        reader,
        "SELECT * FROM rollouts WHERE flag = ? AND environment = ? AND status = 'active'",
        (flag, environment),
    )
    return None if row is None else _rollout(row)


def lock_active_rollout(tx: Tx, flag: str, environment: str) -> Rollout | None:
    """:func:`active_rollout`, its row locked until ``tx`` ends: a concurrent change to the
    rollout waits, then reads the stage this one left."""
    row = tx.execute(
        "SELECT * FROM rollouts WHERE flag = ? AND environment = ? AND status = 'active'"
        f"{tx.dialect.for_update}",
        (flag, environment),
    ).fetchone()
    return None if row is None else _rollout(row)


def active_rollouts(database: Database, environment: str) -> list[Rollout]:
    """Every active rollout in ``environment``, most recently started first."""
    return _rollouts(
        database.query(
            "SELECT * FROM rollouts WHERE environment = ? AND status = 'active' "
            "ORDER BY started_at DESC",
            (environment,),
        )
    )


def ended_rollouts(database: Database, environment: str, limit: int) -> list[Rollout]:
    """The ``limit`` most recently started rollouts in ``environment`` that have ended."""
    return _rollouts(
        database.query(
            "SELECT * FROM rollouts WHERE environment = ? AND status != 'active' "
            f"ORDER BY started_at DESC, {database.dialect.insertion_order} DESC LIMIT ?",
            (environment, max(limit, 0)),
        )
    )


def insert_rollout(
    tx: Tx,
    *,
    flag: str,
    environment: str,
    stages: Sequence[int],
    min_jobs: int,
    max_error_rate: float,
    max_p95_ms: float,
    started_by: str,
    at: str,
) -> Rollout:
    """Store a new active rollout at its first stage, started ``at``.

    A second active rollout of the same flag and environment raises
    ``UniqueViolation`` once the transaction's errors are translated.
    """
    row = tx.execute(
        "INSERT INTO rollouts (id, flag, environment, stages, stage_index, min_jobs, "
        "max_error_rate, max_p95_ms, status, started_by, started_at, stage_started_at, "
        "updated_at) "
        "VALUES (?, ?, ?, ?, 0, ?, ?, ?, 'active', ?, ?, ?, ?) RETURNING *",
        (
            new_id(),
            flag,
            environment,
            json.dumps(list(stages)),
            min_jobs,
            max_error_rate,
            max_p95_ms,
            started_by,
            at,
            at,
            at,
        ),
    ).fetchone()
    return _rollout(row)


def advance_stage(tx: Tx, rollout_id: str, at: str) -> Rollout:
    """Move a rollout to its next stage, which starts ``at``."""
    row = tx.execute(
        "UPDATE rollouts SET stage_index = stage_index + 1, stage_started_at = ?, "
        "updated_at = ? WHERE id = ? RETURNING *",
        (at, at, rollout_id),
    ).fetchone()
    return _rollout(row)


def end_rollout(tx: Tx, rollout_id: str, status: EndStatus, reason: str | None) -> Rollout:
    """End a rollout now with ``status`` and ``reason``."""
    stamp = now()
    row = tx.execute(
        "UPDATE rollouts SET status = ?, reason = ?, updated_at = ?, ended_at = ? "
        "WHERE id = ? RETURNING *",
        (status, reason, stamp, stamp, rollout_id),
    ).fetchone()
    return _rollout(row)


def finished_jobs(
    reader: Reader,
    *,
    since: str,
    until: str | None = None,
    kind: str | None = None,
    action: str | None = None,
) -> list[FinishedJob]:
    """Jobs that ended DONE or FAILED from ``since`` (to ``until``), of one kind and action.

    Only those have a ``finished_at``: the window is a range of the
    ``jobs_finished`` index (a status condition would send the planner to the
    status index, through every DONE job ever).
    """
    sql = "SELECT slug, status, started_at, finished_at FROM jobs WHERE finished_at >= ?"
    params: list[Any] = [since]
    if until is not None:
        sql += " AND finished_at <= ?"
        params.append(until)
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    if action is not None:
        sql += " AND action = ?"
        params.append(action)
    return [
        FinishedJob(row["slug"], row["status"], row["started_at"], row["finished_at"])
        for row in read_all(reader, sql, params)
    ]
