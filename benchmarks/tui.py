"""Time to first render of the TUI's Jobs screen over 10,000 jobs.

    .venv/bin/python benchmarks/tui.py [--jobs N] [--runs R]

A scratch home gets N jobs (default 10,000) the way the queue would hold them
after a busy hour: most DONE with runtimes spread over the last hour, some
FAILED, some IN_PROGRESS, the rest PENDING. Each run then builds the app with
``make_app(..., start_tab="jobs")`` and starts the clock: it stops when, under
``app.run_test()``, the jobs table holds its first page and the counters show
the queue. The database open is inside the measurement; Python's start-up and
imports are not. The screen must appear in under a second.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.widgets import DataTable, Static

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings, load_settings
from moviemind_lite.core.ids import format_timestamp
from moviemind_lite.core.model import JobRequest
from moviemind_lite.tui.app import make_app
from moviemind_lite.tui.jobs import PAGE_SIZE

BUDGET_S = 1.0


def fill_queue(settings: Settings, jobs: int, seed: int = 7) -> None:
    """Insert ``jobs`` jobs through the job store, then age them into a realistic mix."""
    rng = random.Random(seed)
    moment = datetime.now(UTC)
    with build_app(settings) as core, core.database.write() as conn:
        ids = [
            core.job_store.insert(
                conn, JobRequest("movie", f"movie-{n}", "en-US", "default"), "two-level"
            ).id
            for n in range(jobs)
        ]
        updates = []
        for job_id in ids:
            roll = rng.random()
            finished = moment - timedelta(minutes=rng.uniform(0, 60))
            started = finished - timedelta(milliseconds=rng.uniform(150, 900))
            created = started - timedelta(milliseconds=rng.uniform(1, 400))
            if roll < 0.70:
                status, result, error = "DONE", "created", None
            elif roll < 0.75:
                status, result, error = "FAILED", None, "mock AI failed (fail rate 0.05)"
            elif roll < 0.78:
                status, result, error = "IN_PROGRESS", None, None
            else:
                continue  # stays PENDING, as inserted
            ended = None if status == "IN_PROGRESS" else format_timestamp(finished)
            updates.append(
                (
                    status,
                    result,
                    error,
                    format_timestamp(created),
                    format_timestamp(started),
                    ended,
                    "w-bench/job_0",
                    job_id,
                )
            )
        conn.executemany(
            "UPDATE jobs SET status = ?, result = ?, error = ?, attempts = 1, created_at = ?, "
            "started_at = ?, finished_at = ?, worker_id = ? WHERE id = ?",
            updates,
        )


def first_render(settings: Settings, size: tuple[int, int], jobs: int) -> float:
    """Seconds from building the app to the Jobs table's first page on screen."""
    started = time.perf_counter()
    app = make_app(settings, start_tab="jobs")
    first_page = min(PAGE_SIZE, jobs)

    async def until_shown() -> float:
        async with app.run_test(size=size) as pilot:
            table = app.query_one("#jobs-table", DataTable)
            counters = app.query_one("#jobs-counters", Static)
            while table.row_count < first_page or "PENDING" not in str(counters.content):
                await pilot.pause(0.005)
            return time.perf_counter() - started

    try:
        return asyncio.run(until_shown())
    finally:
        # Out of the event loop: close() waits for the app's worker threads.
        app.close()


def main() -> None:
    """Fill a scratch home, time the first render a few times, print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="Jobs in the queue.")
    parser.add_argument("--runs", type=int, default=5, help="Timed app starts.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings(Path(scratch) / "home", env={})
        began = time.perf_counter()
        fill_queue(settings, options.jobs)
        print(f"queued {options.jobs:,} jobs in {time.perf_counter() - began:.1f} s")
        for size in ((80, 24), (200, 60)):
            times = [first_render(settings, size, options.jobs) for _ in range(options.runs)]
            best, median = min(times), statistics.median(times)
            verdict = "ok" if median < BUDGET_S else f"OVER the {BUDGET_S:g} s budget"
            print(
                f"jobs screen, {size[0]}x{size[1]}, {options.jobs:,} jobs: first render "
                f"median {median * 1000:.0f} ms, best {best * 1000:.0f} ms "
                f"({options.runs} runs) - {verdict}"
            )


if __name__ == "__main__":
    main()
