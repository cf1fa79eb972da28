"""The pipeline across real processes: racing requests, several workers, crashes, signals.

Every test runs on SQLite and lock files and on one PostgreSQL and Redis
shared by all its processes: one job per key, one AI call, no job lost after
a kill -9, whichever engines the processes share.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings, load_settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.model import CREATED, DONE, FAILED, IN_PROGRESS
from tests.helpers import Processes, count, entity_rows, run_together, wait_until, worker_lines

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("engines")]

QUICK_AI = {"MOVIEMIND_AI_LATENCY_MS": 0, "MOVIEMIND_AI_JITTER_MS": 0}


def log_lines(home: Path) -> list[dict[str, Any]]:
    """Every structured log line written by every process on this home."""
    path = load_settings(home).log_path  # the engines' own log in that home
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def job_status(app: App, job_id: str) -> str:
    return app.jobs.get(job_id).status


def holds_a_transaction(app: App) -> bool:
    """Whether some process holds a write transaction open on ``app``'s database."""
    if app.database.dialect.name == "sqlite":
        probe = sqlite3.connect(app.settings.database_path, timeout=0.05, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    row = app.database.query_one(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
    )
    return row is not None and int(row[0]) > 0


def pause_outside_a_write(process: subprocess.Popen[str], app: App) -> None:
    """SIGSTOP ``process`` at a moment it holds no write transaction (else others would wait)."""
    for _ in range(100):
        process.send_signal(signal.SIGSTOP)
        os.waitpid(process.pid, os.WUNTRACED)  # returns once it is really stopped
        if not holds_a_transaction(app):
            return
        process.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    pytest.fail("the worker never let go of its write transaction")


LEASE = {"MOVIEMIND_JOB_LEASE_MS": 600}


def claimed_by_a_worker(
    processes: Processes,
    app: App,
    slug: str,
    *worker_args: str,
    latency_ms: float,
    **variables: str | float,
) -> tuple[str, subprocess.Popen[str]]:
    """Queue a job for ``slug``, start a worker whose AI takes ``latency_ms``, and wait
    until that worker has claimed the job."""
    job_id = app.generation.request(MOVIE, slug, wait=False).job.id  # type: ignore[union-attr]
    worker = processes.start(
        "worker",
        *worker_args,
        MOVIEMIND_AI_LATENCY_MS=latency_ms,
        MOVIEMIND_AI_JITTER_MS=0,
        **variables,
    )
    wait_until(lambda: job_status(app, job_id) == IN_PROGRESS, what="the claim")
    return job_id, worker


@pytest.mark.parametrize("database", ["created-by-the-racers", "created-before"])
def test_no_wait_processes_started_together_share_one_job(
    processes: Processes, home: Path, settings: Settings, database: str
) -> None:
    if database == "created-before":
        build_app(settings).close()
    slug = "the-racing-slug-2024"
    racers = [processes.start("movies", "show", slug, "--no-wait") for _ in range(16)]
    # A hang's bound, not a speed claim: 16 interpreters starting on 2 busy cores can take a
    # minute before the first of them reaches the database.
    outputs = [racer.communicate(timeout=150)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0] * 16, outputs
    first_lines = [output.splitlines()[0] for output in outputs]
    assert all(len(output.splitlines()) == 1 for output in outputs), outputs
    words = Counter(line.rsplit(" ", 1)[0] for line in first_lines)
    assert words == {"queued": 1, "in progress": 15}
    job_ids = {line.rsplit(" ", 1)[1] for line in first_lines}
    assert len(job_ids) == 1
    (job_id,) = job_ids

    code, output = processes.run("worker", "--once", **QUICK_AI)
    assert code == 0
    assert worker_lines(output) == [
        f"DONE {job_id}",
        "worker stopped (idle): 1 done, 0 failed, 0 to retry, 0 lost",
    ]
    with build_app(settings) as app:
        job = app.jobs.get(job_id)
        assert (job.status, job.result, job.attempts) == (DONE, CREATED, 1)
        assert entity_rows(app.database, MOVIE, slug) == (1, 1)
        assert app.calls.total() == 1
        assert count(app.database, "SELECT count(*) FROM jobs") == 1
        # The sample catalog was loaded once, whoever created the database.
        assert app.catalog.counts()["movies"] == 63 + 1


def test_three_workers_drain_300_requests_over_100_slugs(
    processes: Processes, home: Path, settings: Settings
) -> None:
    slugs = [f"drained-{index:03d}-1990" for index in range(100)]
    with build_app(settings) as app:
        # 300 --no-wait requests, three per slug, from three threads in different orders.
        orders = [random.Random(seed).sample(slugs, len(slugs)) for seed in range(3)]
        statuses: list[str] = []
        statuses_lock = threading.Lock()

        def request_all(index: int) -> None:
            for slug in orders[index]:
                status = app.generation.request(MOVIE, slug, wait=False).status
                with statuses_lock:
                    statuses.append(status)

        run_together(request_all, len(orders))
        assert Counter(statuses) == {"queued": 100, "in_progress": 200}
        assert app.job_store.counts()["PENDING"] == 100

        ai = {"MOVIEMIND_AI_LATENCY_MS": 10, "MOVIEMIND_AI_JITTER_MS": 5}
        workers = [processes.start("worker", "--threads", "2", "--once", **ai) for _ in range(3)]
        outputs = [worker.communicate(timeout=45)[0] for worker in workers]
        assert [worker.returncode for worker in workers] == [0, 0, 0], outputs

        jobs = app.jobs.list(limit=None)
        assert len(jobs) == 100
        assert {(job.status, job.result, job.attempts) for job in jobs} == {(DONE, CREATED, 1)}
        assert app.calls.total() == 100
        assert set(app.calls.counts().values()) == {1}
        assert app.catalog.counts()["movies"] == 63 + 100
        for slug in slugs:
            assert entity_rows(app.database, MOVIE, slug) == (1, 1)

        # Each job was claimed once and done once, whichever worker did it.
        done_lines = [
            line for line in outputs for line in line.splitlines() if line.startswith("DONE ")
        ]
        assert sorted(line.split()[1] for line in done_lines) == sorted(job.id for job in jobs)
        log = log_lines(home)
        for message in ("Job claimed", "Job done"):
            assert Counter(line["job_id"] for line in log if line["message"] == message) == {
                job.id: 1 for job in jobs
            }
        assert not [line for line in log if "taken back" in line["message"]]


def test_a_killed_workers_job_is_taken_back_after_its_lease(
    processes: Processes, home: Path, settings: Settings
) -> None:
    with build_app(settings) as app:
        slug = "the-crashing-worker-2011"
        job_id, doomed = claimed_by_a_worker(
            processes, app, slug, "--once", latency_ms=3000, **LEASE
        )
        first_claim = app.jobs.get(job_id)
        doomed.kill()
        doomed.communicate(timeout=10)

        # --max-jobs 1: wait for the lease to run out, take the job back, then exit.
        code, output = processes.run("worker", "--max-jobs", "1", **LEASE, **QUICK_AI)
        assert code == 0, output
        assert worker_lines(output)[0] == f"DONE {job_id}"

        job = app.jobs.get(job_id)
        assert (job.status, job.result, job.attempts) == (DONE, CREATED, 2)
        assert job.worker_id != first_claim.worker_id
        assert entity_rows(app.database, MOVIE, slug) == (1, 1)
        # One call finished; the killed worker's, if it had started, is counted as abandoned.
        usage = app.calls.usage()
        assert usage.calls - usage.abandoned == 1 and usage.abandoned <= 1
        taken_back = [line for line in log_lines(home) if "taken back" in line["message"]]
        assert [(line["job_id"], line["previous_worker_id"]) for line in taken_back] == [
            (job_id, first_claim.worker_id)
        ]


def test_a_paused_worker_that_lost_its_lease_cannot_finish_the_job(
    processes: Processes, home: Path, settings: Settings
) -> None:
    with build_app(settings) as app:
        slug = "the-paused-worker-2012"
        job_id, paused = claimed_by_a_worker(
            processes, app, slug, "--once", latency_ms=1500, **LEASE
        )
        pause_outside_a_write(paused, app)
        try:
            code, output = processes.run("worker", "--max-jobs", "1", **LEASE, **QUICK_AI)
            assert code == 0, output
        finally:
            paused.send_signal(signal.SIGCONT)
        stale_output, _ = paused.communicate(timeout=30)
        assert paused.returncode == 0
        # Whatever it did after waking (finish its AI call and meet the rows at
        # persist, or find them at look-up), the attempt number refused its completion.
        assert worker_lines(stale_output) == [
            f"LOST {job_id}",
            "worker stopped (idle): 0 done, 0 failed, 0 to retry, 1 lost",
        ]
        job = app.jobs.get(job_id)
        assert (job.status, job.result, job.attempts) == (DONE, CREATED, 2)
        assert entity_rows(app.database, MOVIE, slug) == (1, 1)
        # The paused worker paid for a call if the pause caught it inside one; if it
        # was caught before, its look-up found the rows and it called nobody.
        assert app.calls.total() in (1, 2)


def test_failing_ai_fails_jobs_for_good_then_retry_completes_them(
    processes: Processes, settings: Settings
) -> None:
    with build_app(settings) as app:
        slugs = [f"the-flaky-one-{index}" for index in range(2)]
        job_ids = [app.generation.request(MOVIE, s, wait=False).job.id for s in slugs]  # type: ignore[union-attr]
    # Backoff 0 keeps every retry ready for --once; a high breaker threshold keeps the
    # circuit breaker from deferring the jobs before they used up their attempts.
    failing = {
        **QUICK_AI,
        "MOVIEMIND_AI_FAIL_RATE": 1,
        "MOVIEMIND_JOB_BACKOFF_MS": 0,
        "MOVIEMIND_BREAKER_THRESHOLD": 100,
    }
    code, output = processes.run("worker", "--once", "--threads", "2", **failing)
    assert code == 0, output
    assert output.splitlines()[-1] == (
        "worker stopped (idle): 0 done, 2 failed, 4 to retry, 0 lost"
    )

    for job_id, slug in zip(job_ids, slugs, strict=True):
        code, output = processes.run("jobs", "show", job_id)
        assert code == 0
        lines = output.splitlines()
        assert "      status: FAILED" in lines
        assert "    attempts: 3" in lines
        assert f"       error: mock AI failed for movie:{slug}:en-US:default (fail rate 1)" in lines
        code, output = processes.run("jobs", "wait", job_id)
        assert code == 1
        assert output.splitlines()[-1] == (
            f"Error: job {job_id} failed: mock AI failed for movie:{slug}:en-US:default "
            "(fail rate 1)"
        )
        assert processes.run("jobs", "retry", job_id) == (0, f"queued {job_id}\n")

    code, output = processes.run("worker", "--once", **QUICK_AI)
    assert code == 0, output
    assert output.splitlines()[-1] == "worker stopped (idle): 2 done, 0 failed, 0 to retry, 0 lost"
    with build_app(settings) as app:
        for job_id, slug in zip(job_ids, slugs, strict=True):
            job = app.jobs.get(job_id)
            assert (job.status, job.result, job.attempts, job.error) == (DONE, CREATED, 1, None)
            assert entity_rows(app.database, MOVIE, slug) == (1, 1)
        calls = app.database.query("SELECT ok, count(*) FROM ai_calls GROUP BY ok ORDER BY ok")
        assert [tuple(row) for row in calls] == [(0, 6), (1, 2)]
        assert app.job_store.counts()[FAILED] == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_worker_finishes_its_running_job_and_exits_0(
    processes: Processes, settings: Settings, signum: signal.Signals
) -> None:
    with build_app(settings) as app:
        job_id, worker = claimed_by_a_worker(
            processes, app, "the-last-job-1999", "--threads", "2", latency_ms=800
        )
        worker.send_signal(signum)
        output, _ = worker.communicate(timeout=20)
        assert worker.returncode == 0, output
        assert worker_lines(output) == [
            f"DONE {job_id}",
            f"worker stopped ({signum.name}): 1 done, 0 failed, 0 to retry, 0 lost",
        ]
        job = app.jobs.get(job_id)
        assert (job.status, job.result, job.lease_until) == (DONE, CREATED, None)
        assert app.job_store.counts()[IN_PROGRESS] == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_idle_worker_stops_on_a_signal(
    processes: Processes, settings: Settings, signum: signal.Signals
) -> None:
    with build_app(settings) as app:
        job_id = app.generation.request(MOVIE, "the-only-job-2000", wait=False).job.id  # type: ignore[union-attr]
        worker = processes.start("worker", **QUICK_AI)
        # Once it has done this job it is idle, waiting for more.
        wait_until(lambda: job_status(app, job_id) == DONE, what="the job")
        worker.send_signal(signum)
        output, _ = worker.communicate(timeout=20)
    assert worker.returncode == 0, output
    assert worker_lines(output) == [
        f"DONE {job_id}",
        f"worker stopped ({signum.name}): 1 done, 0 failed, 0 to retry, 0 lost",
    ]


def test_a_waiting_request_follows_the_job_another_process_runs(
    processes: Processes, settings: Settings
) -> None:
    slug = "the-followed-job-2003"
    with build_app(settings.with_ai(latency_ms=0, jitter_ms=0)) as app:
        job_id, worker = claimed_by_a_worker(processes, app, slug, "--once", latency_ms=1000)
        # Asked while the worker runs the job: the same job, followed to its end.
        outcome = app.generation.request(MOVIE, slug, timeout_s=30)
        assert outcome.status == "done"
        assert outcome.job is not None and outcome.job.id == job_id
        assert f"-{worker.pid}/" in str(outcome.job.worker_id)  # run by the worker, not here
        worker.communicate(timeout=20)
        assert worker.returncode == 0
        assert app.calls.total() == 1
        assert entity_rows(app.database, MOVIE, slug) == (1, 1)
