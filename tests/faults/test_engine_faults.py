"""Real faults on real servers: Redis killed, PostgreSQL crashed, a worker frozen past its lease.

Each test asserts what the design promises (docs/architecture.md, "Where each
guarantee lives"): no accepted job lost, at most one job and one stored text
per key, every worker alive afterwards, the backlog drained. Waits are on
events (a row, a status) with deadlines; a ``time.sleep`` only holds an
outage open while real processes run into it.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import ServiceUnavailable
from moviemind_lite.core.model import DONE
from moviemind_lite.runtime.worker import Worker
from tests.faults.conftest import (
    FaultServers,
    jobs_per_slug,
    open_app,
    texts_per_slug,
    until_a_call_runs,
    until_jobs_done,
    worker_process,
)
from tests.helpers import count, run_together, wait_until

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
def app(home: Path, urls: dict[str, str]) -> Iterator[App]:
    with open_app(home) as opened:
        yield opened


def test_redis_killed_and_restarted_empty_costs_no_second_job(
    app: App, fault_servers: FaultServers
) -> None:
    slugs = [f"forgotten-{index:02d}-1990" for index in range(30)]
    first = {}
    for slug in slugs:
        outcome = app.generation.request(MOVIE, slug, wait=False)
        assert outcome.job is not None
        first[slug] = outcome.job.id
    fault_servers.kill_redis()
    with pytest.raises(ServiceUnavailable, match=r"cannot use Redis at redis://127\.0\.0\.1"):
        app.generation.request(MOVIE, slugs[0], wait=False)
    fault_servers.services("start")  # Redis again, with no keys at all
    # The same keys again, two requests each from four threads at once.
    second: dict[str, set[str]] = {slug: set() for slug in slugs}
    orders = [slugs, slugs[::-1], slugs[1::2] + slugs[::2], slugs[::2] + slugs[1::2]]

    def ask(index: int) -> None:
        for slug in orders[index]:
            outcome = app.generation.request(MOVIE, slug, wait=False)
            assert outcome.job is not None
            second[slug].add(outcome.job.id)

    run_together(ask, len(orders))
    assert {slug: ids for slug, ids in second.items() if ids != {first[slug]}} == {}
    assert set(jobs_per_slug(app).values()) == {1}
    report = Worker(app.runner, threads=2, once=True).run(handle_signals=False)
    assert (report.done, report.failed, report.restarts) == (30, 0, 0)
    assert texts_per_slug(app) == dict.fromkeys(slugs, 1)
    assert app.calls.total() == 30


def test_postgres_crash_mid_drain_loses_nothing_and_kills_no_thread(
    home: Path, urls: dict[str, str], fault_servers: FaultServers
) -> None:
    slugs = [f"crashed-{index:02d}-1991" for index in range(24)]
    with open_app(home) as app:
        accepted = []
        for slug in slugs:
            outcome = app.generation.request(MOVIE, slug, wait=False)
            assert outcome.job is not None
            accepted.append(outcome.job.id)
    worker = worker_process(
        home,
        urls,
        MOVIEMIND_AI_LATENCY_MS="150",
        MOVIEMIND_AI_JITTER_MS="0",
        MOVIEMIND_JOB_LEASE_MS="3000",
    )
    try:
        with open_app(home) as app:
            until_jobs_done(app, 4)
        fault_servers.stop_postgres_immediately()
        time.sleep(2)  # the outage: the worker's two threads run into it meanwhile
        fault_servers.services("start")
        with open_app(home) as app:
            wait_until(
                lambda: (
                    count(app.database, "SELECT count(*) FROM jobs WHERE status = 'DONE'")
                    == len(slugs)
                ),
                timeout_s=90,
                what="the backlog to drain after the restart",
            )
            assert worker.poll() is None, "the worker process ended"
            for job_id in accepted:  # every job answered 202 before the crash exists
                assert app.jobs.get(job_id).status == DONE
            assert set(jobs_per_slug(app).values()) == {1}
            assert texts_per_slug(app) == dict.fromkeys(slugs, 1)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert "Exception in thread" not in output and "Traceback" not in output, output
    assert "worker stopped (SIGTERM)" in output


def test_a_frozen_workers_late_text_is_refused_by_the_jobs_fence(
    app: App, home: Path, urls: dict[str, str]
) -> None:
    slow = {"MOVIEMIND_AI_LATENCY_MS": "2500", "MOVIEMIND_AI_JITTER_MS": "0"}
    lease = {"MOVIEMIND_JOB_LEASE_MS": "900"}
    job = app.generation.request(MOVIE, "frozen-holder-1992", wait=False).job
    assert job is not None
    first = worker_process(home, urls, **slow, **lease)
    second: subprocess.Popen[str] | None = None
    try:
        until_a_call_runs(app)
        first.send_signal(signal.SIGSTOP)  # frozen mid-call: no heartbeat, no write
        second = worker_process(home, urls, **slow, **lease)
        wait_until(lambda: app.jobs.get(job.id).attempts == 2, timeout_s=60, what="the take-back")
        first.send_signal(signal.SIGCONT)
        wait_until(
            lambda: app.job_store.stale_writes() == 1 and app.jobs.get(job.id).status == DONE,
            timeout_s=60,
            what="the late write refused and the job done",
        )
    finally:
        first.send_signal(signal.SIGCONT)
        for process in (first, second):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=60)
    done = app.jobs.get(job.id)
    assert (done.status, done.attempts) == (DONE, 2)
    assert texts_per_slug(app) == {"frozen-holder-1992": 1}
    # Both calls were paid and both are counted: the frozen one ended, late.
    assert app.calls.usage().calls == 2


def test_a_worker_killed_mid_call_leaves_its_paid_call_counted(
    app: App, home: Path, urls: dict[str, str]
) -> None:
    slow = {"MOVIEMIND_AI_LATENCY_MS": "3000", "MOVIEMIND_AI_JITTER_MS": "0"}
    lease = {"MOVIEMIND_JOB_LEASE_MS": "900"}
    job = app.generation.request(MOVIE, "killed-mid-call-1993", wait=False).job
    assert job is not None
    first = worker_process(home, urls, **slow, **lease)
    second: subprocess.Popen[str] | None = None
    try:
        until_a_call_runs(app)
        first.kill()  # kill -9 mid-call: the call is paid, its end never written
        first.communicate(timeout=30)
        second = worker_process(home, urls, MOVIEMIND_AI_LATENCY_MS="0", **lease)
        wait_until(lambda: app.jobs.get(job.id).status == DONE, timeout_s=60, what="the retry")
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=60)
    usage = app.calls.usage()
    assert (usage.calls, usage.abandoned, usage.failed) == (2, 1, 0)
    assert texts_per_slug(app) == {"killed-mid-call-1993": 1}
