"""Homes with fixed content for the TUI's snapshot tests and README screenshots.

Everything a screen shows is pinned here: job ids, timestamps, workers and
log lines, all in 2020 so that "the last hour" statistics stay empty and the
pictures do not change from one run to the next.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings, load_settings
from moviemind_lite.store.db import Database

SIZE = (80, 24)


@dataclass(frozen=True)
class SceneJob:
    """One job of the scene; ``started`` counts seconds after 2020-05-01 12:00:00."""

    number: int
    status: str
    kind: str
    slug: str
    locale: str
    result: str | None = None
    error: str | None = None
    attempts: int = 0
    started: float | None = None
    runtime_ms: float | None = None
    worker: str | None = None


JOBS = (
    SceneJob(1, "DONE", "movie", "the-matrix-1999", "pl-PL", result="created",
             started=0, runtime_ms=312, worker="w-demo-101/job_0", attempts=1),
    SceneJob(2, "DONE", "movie", "alien-1979", "en-US", result="alternative_appended",
             started=5, runtime_ms=287, worker="w-demo-101/job_1", attempts=1),
    SceneJob(3, "FAILED", "movie", "heat-1995", "de-DE", attempts=3,
             error="mock AI failed for movie:heat-1995:de-DE:default (fail rate 1)",
             started=9, runtime_ms=40, worker="w-demo-102/job_0"),
    SceneJob(4, "DONE", "person", "keanu-reeves", "fr-FR", result="reused_existing",
             started=12, runtime_ms=9, worker="run-demo-7/MainThread", attempts=1),
    SceneJob(5, "PENDING", "movie", "blade-runner-2049", "en-US"),
    SceneJob(6, "PENDING", "person", "denis-villeneuve", "es-ES"),
)  # fmt: skip


def job_id(number: int) -> str:
    """The fixed id of scene job ``number`` (UUID-shaped, ordered by number)."""
    return f"0171cbe8-0000-7000-8000-{number:012d}"


def _stamp(second: float) -> str:
    whole = int(second)
    millis = round((second - whole) * 1000)
    return f"2020-05-01T12:00:{whole:02d}.{millis:03d}Z"


def insert_job(database: Database, job: SceneJob) -> str:
    """Store one scene job with its fixed id and timestamps."""
    created = _stamp(max((job.started or 0) - 0.05, 0))
    started_at = None if job.started is None else _stamp(job.started)
    finished_at = (
        None
        if job.started is None or job.runtime_ms is None
        else _stamp(job.started + job.runtime_ms / 1000)
    )
    with database.write() as conn:
        conn.execute(
            "INSERT INTO jobs (id, kind, action, slug, locale, context_tag, strategy, status, "
            "attempts, max_attempts, run_after, result, error, worker_id, created_at, "
            "started_at, finished_at, updated_at) "
            "VALUES (?, ?, 'generate', ?, ?, 'default', 'two-level', ?, ?, 3, ?, ?, ?, ?, ?, "
            "?, ?, ?)",
            (
                job_id(job.number),
                job.kind,
                job.slug,
                job.locale,
                job.status,
                job.attempts,
                created,
                job.result,
                job.error,
                job.worker,
                created,
                started_at,
                finished_at,
                finished_at or created,
            ),
        )
    return job_id(job.number)


def scene_settings(home: Path) -> Settings:
    """Settings for a scene home: no AI latency, the default environment."""
    return load_settings(home, env={"MOVIEMIND_AI_LATENCY_MS": "0", "MOVIEMIND_AI_JITTER_MS": "0"})


def build_home(home: Path) -> Settings:
    """A home with the sample catalog, the scene's jobs and a fixed log."""
    settings = scene_settings(home)
    with build_app(settings) as core:
        for job in JOBS:
            insert_job(core.database, job)
    write_log(settings.log_path)
    return settings


def write_log(path: Path) -> None:
    """The log lines the scene's jobs would have written, with fixed times."""
    records: list[tuple[str, str, float, dict[str, Any]]] = []
    for job in JOBS:
        base = {
            "job_id": job_id(job.number),
            "kind": job.kind,
            "slug": job.slug,
            "locale": job.locale,
        }
        records.append(("Job queued", "INFO", max((job.started or 0) - 0.05, 0), base))
        if job.started is None or job.runtime_ms is None:
            continue
        records.append(("Job claimed", "INFO", job.started, {**base, "worker_id": job.worker}))
        end = job.started + job.runtime_ms / 1000
        if job.status == "FAILED":
            records.append(("Job failed", "WARNING", end, {**base, "error": job.error}))
        else:
            records.append(
                (
                    "Job done",
                    "INFO",
                    end,
                    {**base, "result": job.result, "duration_ms": job.runtime_ms},
                )
            )
    records.sort(key=lambda record: record[2])
    with path.open("w", encoding="utf-8") as stream:
        for message, level, second, fields in records:
            line = {
                "at": _stamp(second),
                "level": level,
                "logger": "moviemind.jobs",
                "message": message,
                "pid": 4242,
                **fields,
            }
            stream.write(json.dumps(line) + "\n")
