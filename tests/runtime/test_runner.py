"""The runner: its lease keeper, and jobs sent back without burning an attempt."""

from __future__ import annotations

import threading

import pytest

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.ids import now
from moviemind_lite.core.model import DONE, PENDING, JobRequest
from moviemind_lite.runtime.runner import JobRunner

pytestmark = pytest.mark.usefixtures("engines")

REQUEST = JobRequest("movie", "kept-alive-2004", "en-US", "default")


@pytest.mark.timeout(60)
def test_the_lease_keeper_keeps_a_long_job_from_a_second_runner(settings: Settings) -> None:
    # A 300 ms lease and a 1 s AI call: without heartbeats the lease runs out
    # three times over during the call, and the second runner would take the
    # job back and pay a second AI call.
    settings = settings.with_ai(latency_ms=1_000, jitter_ms=0).with_jobs(lease_ms=300)
    with build_app(settings) as app:
        other = JobRunner(app.runner.env, app.strategies, worker_prefix="other")
        job = app.job_store.create(REQUEST, "two-level")
        claimed = app.job_store.claim(job.id, app.runner.worker_id())
        assert claimed is not None
        running = threading.Thread(target=app.runner.run_claimed, args=(claimed,))
        running.start()
        taken_back = []
        while running.is_alive():
            stolen = app.job_store.claim(job.id, other.worker_id())
            if stolen is not None:
                taken_back.append(stolen)
                other.run_claimed(stolen)
            running.join(0.02)
        other.close()
        ended = app.job_store.get(job.id)
        assert taken_back == []
        assert (ended.status, ended.attempts) == (DONE, 1)
        assert app.calls.total() == 1


def test_a_job_deferred_by_the_open_circuit_keeps_its_attempts(settings: Settings) -> None:
    settings = settings.with_ai(breaker_threshold=1, breaker_cooldown_ms=60_000)
    with build_app(settings) as app:
        app.breaker.on_failure()  # one failure opens a threshold-1 breaker
        opened = app.breaker.state()
        assert opened.state == "open"
        job = app.job_store.create(REQUEST, "two-level")
        for _ in range(app.settings.jobs.max_attempts + 1):
            claimed = app.job_store.claim(job.id, app.runner.worker_id())
            assert claimed is not None and claimed.attempts == 1
            deferred = app.runner.run_claimed(claimed)
            assert deferred is not None
            assert (deferred.status, deferred.attempts) == (PENDING, 0)
            assert (deferred.error or "").startswith("deferred: AI circuit open")
            assert deferred.run_after == opened.open_until
            # Due again at once, as if the cool-down had passed with the circuit still open.
            with app.database.write() as tx:
                tx.execute("UPDATE jobs SET run_after = ? WHERE id = ?", (now(), job.id))
        assert app.calls.total() == 0
