"""Race results made by hand, for the report's tests: every phase, ending and request chosen."""

from __future__ import annotations

from collections.abc import Sequence

from moviemind_lite.lab.metrics import Aftermath, Latency, Metrics, RequestRecord
from moviemind_lite.lab.race import RaceResult
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.timeline import (
    ENDED,
    GENERATING,
    LOCKED,
    PERSISTING,
    QUEUED,
    WAITING,
    TimelineRow,
)

# A job: (slug, ending, [(phase, seconds), ...]); its id is made from its position.
Job = tuple[str, str, Sequence[tuple[str, float]]]


def job_id(index: int) -> str:
    """The id of the ``index``-th made job (the last four characters differ)."""
    return f"01900000-0000-7000-8000-{index:012d}"


def made_race(
    jobs: Sequence[Job],
    *,
    strategy: str = "two-level",
    label: str | None = None,
    joined: Sequence[tuple[int, float]] = (),
    verdict: str = "correct",
) -> RaceResult:
    """A finished race of ``jobs``; ``joined``: (job index, arrival) of requests that joined."""
    phases = {job_id(i): list(events) for i, (_, _, events) in enumerate(jobs)}
    start = min(events[0][1] for _, _, events in jobs)
    end = max(events[-1][1] for _, _, events in jobs)
    rows = tuple(
        TimelineRow(f"{slug} {job_id(i)[-4:]}", "", ending, job_id(i))
        for i, (slug, ending, _) in enumerate(jobs)
    )
    requests = tuple(
        RequestRecord(i, slug, "created", job_id(i), events[0][1], end)
        for i, (slug, _, events) in enumerate(jobs)
    ) + tuple(
        RequestRecord(len(jobs) + n, jobs[i][0], "joined", job_id(i), at, end)
        for n, (i, at) in enumerate(joined)
    )
    slugs = len({slug for slug, _, _ in jobs})
    scenario = Scenario(requests=len(requests), slugs=slugs, latency_ms=100, jitter_ms=0)
    metrics = Metrics(
        requests=len(requests),
        jobs_dispatched=len(jobs),
        deduplicated=len(joined),
        ai_calls=len(jobs),
        movies=slugs,
        descriptions=slugs,
        duplicate_movies=0,
        duplicate_descriptions=0,
        failed_jobs=0,
        stale_writes_rejected=0,
        wall_ms=round((end - start) * 1000, 1),
        latency=Latency(10.0, 20.0, 30.0),
        lock_wait_ms=0.0,
        verdict=verdict,
    )
    return RaceResult(
        label or strategy,
        strategy,
        scenario,
        metrics,
        Aftermath(0, 0, 0, 0),
        phases,
        rows,
        round((end - start) * 1000, 1),
        None,
        (start, end),
        requests,
    )


def plain_job(slug: str, ending: str, at: float, *, waited: float = 0.0) -> Job:
    """A job queued at ``at`` that waits, holds, generates for 0.1 s and persists."""
    events = [(QUEUED, at), (WAITING, at + 0.01), (LOCKED, at + 0.01 + waited)]
    generated = at + 0.01 + waited
    events += [(GENERATING, generated), (PERSISTING, generated + 0.1), (ENDED, generated + 0.11)]
    return (slug, ending, events)


def crowd(count: int, slugs: int, *, strategy: str = "two-level") -> RaceResult:
    """``count`` jobs over ``slugs`` slugs, queued a millisecond apart."""
    return made_race(
        [plain_job(f"race-movie-{i % slugs + 1:03d}", "created", i * 0.001) for i in range(count)],
        strategy=strategy,
    )
