"""What a race did, counted: from the scratch database, the requests' clocks and the timeline.

A race is ``correct`` when every slug ended with exactly one movie and one
description, no duplicates, and no failed job; otherwise its verdict names
what went wrong ("2 duplicate descriptions"). A job whose write a fencing
token refused is counted under ``stale_writes_rejected``, not as a failed job:
refusing that write is the fence doing its work. A request left without an
answer (its job never ended) makes a race incorrect too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moviemind_lite.lab.timeline import waited_ms
from moviemind_lite.store.tallies import Tally

CORRECT = "correct"


@dataclass(frozen=True)
class RequestRecord:
    """One request of a race: when it arrived and was answered, and how dispatch met it.

    ``dispatch`` is ``created`` (a new job), ``joined`` (a job already on its
    way), ``stored`` (the text was already there: no job) or ``error``.
    """

    index: int
    slug: str
    dispatch: str
    job_id: str | None
    arrived_at: float
    answered_at: float | None
    error: str | None = None

    @property
    def answered(self) -> bool:
        """Whether the request got its answer."""
        return self.answered_at is not None and self.error is None


@dataclass(frozen=True)
class Latency:
    """Request latency, arrival to answer, in ms (nearest-rank percentiles)."""

    p50_ms: float
    p95_ms: float
    max_ms: float

    def to_json(self) -> dict[str, float]:
        """``{"p50": ..., "p95": ..., "max": ...}``."""
        return {"p50": self.p50_ms, "p95": self.p95_ms, "max": self.max_ms}


@dataclass(frozen=True)
class Metrics:
    """The numbers ``race`` and ``compare`` print for one strategy.

    ``verdict`` is the human reason shown in the table ("correct", "2
    duplicate descriptions"); the JSON carries ``correct`` instead.
    """

    requests: int
    jobs_dispatched: int
    deduplicated: int
    ai_calls: int
    movies: int
    descriptions: int
    duplicate_movies: int
    duplicate_descriptions: int
    failed_jobs: int
    stale_writes_rejected: int
    wall_ms: float
    latency: Latency
    lock_wait_ms: float
    verdict: str

    @property
    def correct(self) -> bool:
        """One movie and one description per slug, no duplicates, no failed job."""
        return self.verdict == CORRECT

    def to_json(self) -> dict[str, Any]:
        """The metrics under their ``--json`` keys (:data:`METRIC_KEYS`, in that order)."""
        return {
            "requests": self.requests,
            "jobs_dispatched": self.jobs_dispatched,
            "deduplicated": self.deduplicated,
            "ai_calls": self.ai_calls,
            "movies": self.movies,
            "descriptions": self.descriptions,
            "duplicate_movies": self.duplicate_movies,
            "duplicate_descriptions": self.duplicate_descriptions,
            "failed_jobs": self.failed_jobs,
            "stale_writes_rejected": self.stale_writes_rejected,
            "wall_ms": self.wall_ms,
            "latency_ms": self.latency.to_json(),
            "lock_wait_ms": self.lock_wait_ms,
            "correct": self.correct,
        }

    def flat(self) -> dict[str, Any]:
        """One value per column (latency spread out), the verdict's reason last: for CSV."""
        columns: dict[str, Any] = {}
        for name, value in self.to_json().items():
            if name == "latency_ms":
                columns.update({f"latency_{key}_ms": number for key, number in value.items()})
            else:
                columns[name] = value
        return {**columns, "verdict": self.verdict}


METRIC_KEYS: tuple[str, ...] = (
    "requests",
    "jobs_dispatched",
    "deduplicated",
    "ai_calls",
    "movies",
    "descriptions",
    "duplicate_movies",
    "duplicate_descriptions",
    "failed_jobs",
    "stale_writes_rejected",
    "wall_ms",
    "latency_ms",
    "lock_wait_ms",
    "correct",
)
LATENCY_KEYS: tuple[str, ...] = ("p50", "p95", "max")


@dataclass(frozen=True)
class Aftermath:
    """What a race left behind besides rows: for the checks of the teaching scenarios."""

    unanswered_requests: int
    unfinished_jobs: int
    retried_jobs: int
    open_slots: int


def percentile(values: list[float], percent: float) -> float:
    """The nearest-rank percentile of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def plural(number: int, noun: str) -> str:
    """``1 job``, ``2 jobs``."""
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
        plural(duplicate_descriptions, "duplicate description") if duplicate_descriptions else "",
        plural(duplicate_movies, "duplicate movie") if duplicate_movies else "",
        plural(missing, "slug") + " without a description" if missing else "",
        plural(failed_jobs, "failed job") if failed_jobs else "",
        plural(unanswered, "unanswered request") if unanswered else "",
    ]
    found = [problem for problem in problems if problem]
    return ", ".join(found) if found else CORRECT


def duplicates(per_slug: dict[str, int]) -> int:
    """The rows beyond the first, over every slug."""
    return sum(max(0, count - 1) for count in per_slug.values())


def damage_so_far(tally: Tally, jobs: int) -> dict[str, int]:
    """What a race has done so far, counted as it happens (a played game's damage): its
    jobs, paid AI calls, rows, duplicates, failed jobs and refused stale writes."""
    return {
        "jobs": jobs,
        "ai_calls": tally.ai_calls,
        "movies": sum(tally.entities_per_slug.values()),
        "descriptions": tally.texts,
        "duplicate_movies": duplicates(tally.entities_per_slug),
        "duplicate_descriptions": duplicates(tally.texts_per_slug),
        "failed_jobs": tally.failed_jobs,
        "stale_writes_rejected": tally.stale_writes_refused,
    }


def measure(
    tally: Tally,
    slugs: list[str],
    requests: list[RequestRecord],
    phases: dict[str, list[tuple[str, float]]],
) -> Metrics:
    """The metrics of a finished race: what it left in the store, its requests, its jobs' phases."""
    duplicate_movies = duplicates(tally.entities_per_slug)
    duplicate_texts = duplicates(tally.texts_per_slug)
    missing = sum(1 for slug in slugs if tally.texts_per_slug.get(slug, 0) == 0)
    answered = [r for r in requests if r.answered]
    latencies = [(r.answered_at - r.arrived_at) * 1000 for r in answered if r.answered_at]
    started = min((r.arrived_at for r in requests), default=0.0)
    ended = max((r.answered_at or r.arrived_at for r in requests), default=started)
    return Metrics(
        requests=len(requests),
        jobs_dispatched=sum(1 for r in requests if r.dispatch == "created"),
        deduplicated=sum(1 for r in requests if r.dispatch == "joined"),
        # A holder killed after its AI call (the lab's fault) paid for that call:
        # its row, written when the call started, counts it (abandoned).
        ai_calls=tally.ai_calls,
        movies=sum(tally.entities_per_slug.values()),
        descriptions=tally.texts,
        duplicate_movies=duplicate_movies,
        duplicate_descriptions=duplicate_texts,
        failed_jobs=tally.failed_jobs,
        stale_writes_rejected=tally.stale_writes_refused,
        wall_ms=round((ended - started) * 1000, 1),
        latency=Latency(
            round(percentile(latencies, 50), 1),
            round(percentile(latencies, 95), 1),
            round(max(latencies, default=0.0), 1),
        ),
        lock_wait_ms=round(sum((waited_ms(events) for events in phases.values()), 0.0), 1),
        verdict=verdict(
            missing=missing,
            duplicate_movies=duplicate_movies,
            duplicate_descriptions=duplicate_texts,
            failed_jobs=tally.failed_jobs,
            unanswered=len(requests) - len(answered),
        ),
    )


def aftermath(tally: Tally, requests: list[RequestRecord]) -> Aftermath:
    """Unanswered requests, jobs that never ended, retried jobs, slots still held."""
    return Aftermath(
        unanswered_requests=sum(1 for r in requests if not r.answered),
        unfinished_jobs=tally.unfinished_jobs,
        retried_jobs=tally.retried_jobs,
        open_slots=tally.open_slots,
    )


# Every metric a results table can show, by its column header: each front end
# (the commands, the terminal UI) picks its columns and their order from here.
TABLE_COLUMNS: dict[str, Callable[[Metrics], Any]] = {
    "requests": lambda m: m.requests,
    "jobs": lambda m: m.jobs_dispatched,
    "dedup": lambda m: m.deduplicated,
    "AI calls": lambda m: m.ai_calls,
    "movies": lambda m: m.movies,
    "descr.": lambda m: m.descriptions,
    "dup movies": lambda m: m.duplicate_movies,
    "dup descr.": lambda m: m.duplicate_descriptions,
    "failed": lambda m: m.failed_jobs,
    "stale refused": lambda m: m.stale_writes_rejected,
    "wall ms": lambda m: f"{m.wall_ms:.0f}",
    "latency p50/p95/max ms": lambda m: (
        f"{m.latency.p50_ms:.0f}/{m.latency.p95_ms:.0f}/{m.latency.max_ms:.0f}"
    ),
    "lock wait ms": lambda m: f"{m.lock_wait_ms:.0f}",
}
# Columns where anything above zero is damage.
DAMAGE_COLUMNS = ("dup movies", "dup descr.", "failed")
