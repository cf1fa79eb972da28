"""What a race did, counted: from the scratch database, the requests' clocks and the timeline.

The verdict is ``correct`` when every slug ended with exactly one movie and one
description and no job failed; otherwise it names what went wrong. A job whose
write a fencing token refused is counted under ``stale_writes_rejected``, not
as a failed job: refusing that write is the fence doing its work.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from moviemind_lite.ai.generator import CallRecord
from moviemind_lite.lab.timeline import waited_ms
from moviemind_lite.locks import STALE_WRITE
from moviemind_lite.store.db import Database

CORRECT = "correct"


@dataclass(frozen=True)
class RequestRecord:
    """One request of a race: when it arrived and was answered, and how dispatch met it.

    ``dispatch`` is ``created`` (a new job), ``joined`` (a job already on its
    way), or ``stored`` (the text was already there: no job).
    """

    index: int
    slug: str
    dispatch: str
    job_id: str | None
    arrived_at: float
    answered_at: float | None
    error: str | None = None


@dataclass(frozen=True)
class Metrics:
    """The numbers ``race`` and ``compare`` print for one strategy (``--json`` keys)."""

    requests: int
    jobs_dispatched: int
    deduplicated_at_dispatch: int
    ai_calls: int
    movies: int
    descriptions: int
    duplicate_movies: int
    duplicate_descriptions: int
    failed_jobs: int
    stale_writes_rejected: int
    wall_ms: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_max_ms: float
    lock_wait_ms: float
    verdict: str

    @property
    def correct(self) -> bool:
        """One movie and one description per slug, and no failed job."""
        return self.verdict == CORRECT

    def to_json(self) -> dict[str, Any]:
        """Every metric, keyed by name."""
        return asdict(self)


METRIC_NAMES: tuple[str, ...] = tuple(Metrics.__dataclass_fields__)


def percentile(values: list[float], percent: float) -> float:
    """The nearest-rank percentile of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _count(database: Database, sql: str) -> int:
    row = database.query_one(sql)
    return int(row[0]) if row else 0


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def verdict(
    *,
    missing: int,
    duplicate_movies: int,
    duplicate_descriptions: int,
    failed_jobs: int,
    unanswered: int,
) -> str:
    """``correct``, or what went wrong, most damaging first."""
    problems = [
        _plural(duplicate_descriptions, "duplicate description") if duplicate_descriptions else "",
        _plural(duplicate_movies, "duplicate movie") if duplicate_movies else "",
        _plural(missing, "slug") + " without a description" if missing else "",
        _plural(failed_jobs, "failed job") if failed_jobs else "",
        _plural(unanswered, "unanswered request") if unanswered else "",
    ]
    found = [problem for problem in problems if problem]
    return ", ".join(found) if found else CORRECT


def measure(
    database: Database,
    slugs: list[str],
    requests: list[RequestRecord],
    phases: dict[str, list[tuple[str, float]]],
) -> Metrics:
    """The metrics of a finished race over ``database``, its requests and its jobs' phases."""
    movies_per_slug = {
        row[0]: int(row[1])
        for row in database.query("SELECT slug, count(*) FROM movies GROUP BY slug")
    }
    texts_per_slug = {
        row[0]: int(row[1])
        for row in database.query(
            "SELECT m.slug, count(d.id) FROM movies m JOIN descriptions d ON d.movie_id = m.id "
            "GROUP BY m.slug"
        )
    }
    failed = _count(
        database,
        f"SELECT count(*) FROM jobs WHERE status = 'FAILED' AND error NOT LIKE '{STALE_WRITE}%'",
    )
    stale = _count(
        database,
        f"SELECT count(*) FROM jobs WHERE status = 'FAILED' AND error LIKE '{STALE_WRITE}%'",
    )
    duplicate_movies = sum(max(0, count - 1) for count in movies_per_slug.values())
    duplicate_texts = sum(max(0, count - 1) for count in texts_per_slug.values())
    missing = sum(1 for slug in slugs if texts_per_slug.get(slug, 0) == 0)
    answered = [r for r in requests if r.answered_at is not None and r.error is None]
    latencies = [(r.answered_at - r.arrived_at) * 1000 for r in answered if r.answered_at]
    started = min((r.arrived_at for r in requests), default=0.0)
    ended = max((r.answered_at or r.arrived_at for r in requests), default=started)
    return Metrics(
        requests=len(requests),
        jobs_dispatched=sum(1 for r in requests if r.dispatch == "created"),
        deduplicated_at_dispatch=sum(1 for r in requests if r.dispatch == "joined"),
        ai_calls=CallRecord(database).total(),
        movies=sum(movies_per_slug.values()),
        descriptions=_count(database, "SELECT count(*) FROM descriptions"),
        duplicate_movies=duplicate_movies,
        duplicate_descriptions=duplicate_texts,
        failed_jobs=failed,
        stale_writes_rejected=stale,
        wall_ms=round((ended - started) * 1000, 1),
        latency_p50_ms=round(percentile(latencies, 50), 1),
        latency_p95_ms=round(percentile(latencies, 95), 1),
        latency_max_ms=round(max(latencies, default=0.0), 1),
        lock_wait_ms=round(sum(waited_ms(events) for events in phases.values()), 1),
        verdict=verdict(
            missing=missing,
            duplicate_movies=duplicate_movies,
            duplicate_descriptions=duplicate_texts,
            failed_jobs=failed,
            unanswered=len(requests) - len(answered),
        ),
    )
