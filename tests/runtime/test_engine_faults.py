"""Workers outlive their engines: an engine error never ends a worker thread.

The engine's failures are forced in-process (a store call that raises the
error a stopped server raises) so that each test decides exactly which step
fails and how often; ``tests/faults/`` does the same with real servers killed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from moviemind_lite.app.wiring import App
from moviemind_lite.core.backoff import Backoff
from moviemind_lite.core.errors import DiskFull, ServiceUnavailable, StoreError
from moviemind_lite.core.model import DONE, IN_PROGRESS, PENDING, JobRequest
from moviemind_lite.runtime.worker import Worker

pytestmark = pytest.mark.usefixtures("engines")

REQUEST = JobRequest("movie", "outlived-1999", "en-US", "default")
DOWN = "cannot use PostgreSQL at 127.0.0.1:1/moviemind: connection refused"


def failing(
    times: int, real: Callable[..., Any], error: StoreError | None = None
) -> Callable[..., Any]:
    """``real``, except that its first ``times`` calls raise as a stopped server would."""
    left = [times]

    def call(*args: Any, **kwargs: Any) -> Any:
        if left[0] > 0:
            left[0] -= 1
            raise error or ServiceUnavailable(DOWN)
        return real(*args, **kwargs)

    return call


class Heard(logging.Handler):
    """The messages logged on ``moviemind.jobs`` while it is attached."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def heard() -> Iterator[Heard]:
    logger, handler = logging.getLogger("moviemind.jobs"), Heard()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_backoff_doubles_to_its_cap_and_is_never_zero() -> None:
    backoff, rng = Backoff(base_s=0.1, cap_s=1.0), random.Random(7)
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    for failures, ceiling in enumerate(ceilings, start=1):
        delay = backoff.delay(failures, rng)
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.delay(10_000, rng) <= 1.0  # no overflow far past the cap


def test_a_failed_engine_while_recording_a_failure_is_waited_for(
    app: App, monkeypatch: pytest.MonkeyPatch, heard: Heard
) -> None:
    """PostgreSQL stops mid-persist and is still down when the failure is recorded."""
    jobs = app.job_store
    job = jobs.create(REQUEST, "two-level")
    monkeypatch.setattr(jobs, "check_claim_in", failing(1, jobs.check_claim_in))
    monkeypatch.setattr(jobs, "fail", failing(2, jobs.fail))
    worker = Worker(app.runner, threads=1, once=True)
    report = worker.run(handle_signals=False)
    assert (report.retried, report.lost, report.restarts) == (1, 0, 0)
    retried = jobs.get(job.id)
    assert (retried.status, retried.attempts) == (PENDING, 1)
    assert "PostgreSQL" in (retried.error or "")
    messages = heard.messages
    assert messages.count("Waiting for the engine") == 1
    assert messages.count("Engine back") == 1


def test_a_claim_that_meets_a_failed_engine_is_tried_again(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = app.job_store
    job = jobs.create(REQUEST, "two-level")
    monkeypatch.setattr(jobs, "claim_next", failing(3, jobs.claim_next))
    report = Worker(app.runner, threads=1, once=True).run(handle_signals=False)
    assert (report.done, report.restarts) == (1, 0)
    assert jobs.get(job.id).status == DONE


def test_a_worker_thread_that_dies_is_started_again(
    app: App, monkeypatch: pytest.MonkeyPatch, heard: Heard
) -> None:
    jobs = app.job_store
    job = jobs.create(REQUEST, "two-level")
    real = jobs.claim_next
    left = [1]

    def crash_once(worker_id: str) -> Any:
        if left[0]:
            left[0] -= 1
            raise RuntimeError("a bug, not an engine")
        return real(worker_id)

    monkeypatch.setattr(jobs, "claim_next", crash_once)
    report = Worker(app.runner, threads=1, once=True).run(handle_signals=False)
    assert (report.done, report.restarts) == (1, 1)
    assert jobs.get(job.id).status == DONE
    assert "Worker thread died; starting it again" in heard.messages


def test_a_request_following_its_job_waits_out_a_short_outage(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = app.job_store
    job = jobs.create(REQUEST, "two-level")
    monkeypatch.setattr(jobs, "get", failing(2, jobs.get))
    ended = app.runner.drive(job.id)
    assert ended.status == DONE


FULL = DiskFull("the disk holding /home is full (database or disk is full)")


def test_a_full_disk_is_not_waited_out_by_a_request_following_its_job(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk does not free itself in seconds: the caller (a batch, a request) hears it."""
    jobs = app.job_store
    job = jobs.create(REQUEST, "two-level")
    monkeypatch.setattr(jobs, "get", failing(1, jobs.get, FULL))
    with pytest.raises(DiskFull):
        app.runner.drive(job.id)


def test_a_worker_that_cannot_record_a_jobs_end_on_a_full_disk_lives_and_backs_off(
    app: App, monkeypatch: pytest.MonkeyPatch, heard: Heard
) -> None:
    jobs = app.job_store
    job = jobs.create(REQUEST, "two-level")
    monkeypatch.setattr(jobs, "check_claim_in", failing(1, jobs.check_claim_in, FULL))
    tries: list[str] = []

    def fail_on_a_full_disk(*args: Any, **kwargs: Any) -> None:
        tries.append("fail")
        raise FULL

    monkeypatch.setattr(jobs, "fail", fail_on_a_full_disk)
    report = Worker(app.runner, threads=1, once=True).run(handle_signals=False)
    assert tries == ["fail"]  # tried once, not waited out for the job's lease
    # The job is left to its lease (counted lost here), the thread neither died nor spun.
    assert (report.lost, report.restarts) == (1, 0)
    assert jobs.get(job.id).status == IN_PROGRESS
    assert heard.messages.count("Waiting for the engine") == 1
    assert "Worker thread died; starting it again" not in heard.messages
