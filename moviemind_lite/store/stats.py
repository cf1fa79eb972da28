"""Reads over the ``jobs`` table for queue and job statistics.

Percentiles, rates and the Prometheus exposition live in
:mod:`moviemind_lite.policy.stats`; this module only reads the rows.
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


def finished_since(database: Database, since: str) -> list[JobTimes]:
    """Every job that ended DONE or FAILED at ``since`` or later, with its times."""
    ms_between = database.dialect.ms_between
    rows = database.query(
        "SELECT status, finished_at, "
        f"{ms_between('finished_at', 'started_at')} AS runtime_ms, "
        f"{ms_between('started_at', 'created_at')} AS wait_ms "
        "FROM jobs WHERE status IN ('DONE', 'FAILED') AND finished_at >= ?",
        (since,),
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


def result_counts(database: Database) -> dict[str, int]:
    """Finished jobs per result, most frequent first."""
    rows = database.query(
        "SELECT result, count(*) FROM jobs WHERE result IS NOT NULL GROUP BY result ORDER BY 2 DESC"
    )
    return {row[0]: int(row[1]) for row in rows}


def failed_since(database: Database, since: str, limit: int = 20) -> list[FailedJob]:
    """The last ``limit`` jobs that failed at ``since`` or later, newest first."""
    rows = database.query(
        "SELECT id, kind, slug, attempts, error, finished_at FROM jobs "
        "WHERE status = 'FAILED' AND finished_at >= ? ORDER BY finished_at DESC LIMIT ?",
        (since, limit),
    )
    return [FailedJob(**dict(row)) for row in rows]
