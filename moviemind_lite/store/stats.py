"""Reads over the ``jobs`` table for queue and job statistics.

Percentiles, rates and the Prometheus exposition live in
:mod:`moviemind_lite.policy.stats`; this module only reads the rows.

A job has a ``finished_at`` exactly while it is DONE or FAILED, so the jobs
that ended in a window are a range of the ``jobs_finished`` index (finished
at, status, result): the reads here cost what the window holds, however many
jobs ended before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from moviemind_lite.store.db import Database


@dataclass(frozen=True)
class FailedJob:
    """A job that failed recently, with its last error."""

    id: str
    kind: str
    slug: str
    attempts: int
    error: str | None
    finished_at: str


@dataclass(frozen=True)
class JobTimes:
    """A job that ended (DONE or FAILED): when, how long it ran and how long it waited."""

    status: str
    finished_at: str
    runtime_ms: float | None
    wait_ms: float | None


def finished_counts(database: Database, since: str, recent_since: str) -> tuple[int, int]:
    """Jobs that ended DONE or FAILED at ``since`` or later, and at ``recent_since`` or later."""
    row = database.query_one(
        "SELECT count(*), coalesce(sum(CASE WHEN finished_at >= ? THEN 1 ELSE 0 END), 0) "
        "FROM jobs WHERE finished_at >= ?",
        (recent_since, since),
    )
    return (int(row[0]), int(row[1])) if row else (0, 0)


def newest_finished(database: Database, since: str, limit: int) -> list[JobTimes]:
    """The ``limit`` jobs that ended (DONE or FAILED) last, at ``since`` or later, timed."""
    ms_between = database.dialect.ms_between
    rows = database.query(
        "SELECT status, finished_at, "
        f"{ms_between('finished_at', 'started_at')} AS runtime_ms, "
        f"{ms_between('started_at', 'created_at')} AS wait_ms "
        "FROM jobs WHERE finished_at >= ? ORDER BY finished_at DESC LIMIT ?",
        (since, limit),
    )
    return [
        JobTimes(
            row["status"],
            row["finished_at"],
            None if row["runtime_ms"] is None else float(row["runtime_ms"]),
            None if row["wait_ms"] is None else float(row["wait_ms"]),
        )
        for row in rows
    ]


def result_counts(database: Database, since: str) -> dict[str, int]:
    """Jobs that ended at ``since`` or later, per result, most frequent first."""
    rows = database.query(
        "SELECT result, count(*) FROM jobs WHERE finished_at >= ? AND result IS NOT NULL "
        "GROUP BY result ORDER BY 2 DESC",
        (since,),
    )
    return {row[0]: int(row[1]) for row in rows}


def failed_since(database: Database, since: str, limit: int = 20) -> list[FailedJob]:
    """The last ``limit`` jobs that failed at ``since`` or later, newest first."""
    rows = database.query(
        "SELECT id, kind, slug, attempts, error, finished_at FROM jobs "
        "WHERE finished_at >= ? AND status = 'FAILED' ORDER BY finished_at DESC LIMIT ?",
        (since, limit),
    )
    return [FailedJob(**dict(row)) for row in rows]
