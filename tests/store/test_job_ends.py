"""Waiting for a job without polling: woken by its end, here and in another process.

Every wait below runs on a fake clock that the test never moves (unless it
says so) and with a fallback bound of an hour: a waiter that returns was woken
by the job's end, not by a timer. The bounds on ``join`` and ``readline`` only
keep a broken wake-up from hanging the run.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock, FakeClock
from moviemind_lite.core.config import JobSettings, Settings
from moviemind_lite.core.model import CREATED, DONE, FAILED, PENDING, Job, JobOutcome, JobRequest
from moviemind_lite.store.db import Database
from moviemind_lite.store.job_ends import JobEnds
from moviemind_lite.store.jobs import JobStore

pytestmark = pytest.mark.usefixtures("engines")

HOUR_MS = 3_600_000.0
REPO = Path(__file__).resolve().parents[2]
# How long a broken wake-up may hang a test before it fails (never reached when it works).
HANG_S = 30.0


def store(database: Database, clock: Clock, **changes: float) -> JobStore:
    """A job store whose waiters fall back to a look only after an hour (unless changed)."""
    settings = JobSettings(wake_fallback_ms=HOUR_MS, poll_ms=HOUR_MS, lease_ms=HOUR_MS)
    return JobStore(database, replace(settings, **changes), clock=clock)  # type: ignore[arg-type]


def claimed(jobs: JobStore, slug: str = "woken-1999") -> Job:
    job = jobs.create(JobRequest("movie", slug, "en-US", "default"), "two-level")
    taken = jobs.claim(job.id, "elsewhere")
    assert taken is not None
    return taken


def waiting(jobs: JobStore, job_id: str) -> tuple[threading.Thread, list[Job]]:
    """A thread in ``jobs.wait(job_id)``, and where its answer goes."""
    answers: list[Job] = []
    thread = threading.Thread(target=lambda: answers.append(jobs.wait(job_id)), daemon=True)
    thread.start()
    return thread, answers


@pytest.fixture
def no_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    """No feed thread: only this process's own wake-ups (or the fallback) can end a wait."""
    monkeypatch.setattr(JobEnds, "_listen", lambda self: None)


@pytest.mark.usefixtures("no_feed")
@pytest.mark.parametrize("end", ["done", "failed"])
def test_a_waiter_in_this_process_is_woken_by_the_end_without_its_poll(
    database: Database, end: str
) -> None:
    clock = FakeClock()
    jobs = store(database, clock)
    job = claimed(jobs)
    thread, answers = waiting(jobs, job.id)
    assert clock.wait_for_sleepers(1), "the waiter never started waiting"
    if end == "done":
        jobs.complete(job, JobOutcome(CREATED, "entity", "text"))
    else:
        jobs.fail(job, "the AI refused", retryable=False)
    thread.join(HANG_S)
    assert not thread.is_alive(), "the job's end did not wake its waiter"
    assert [answer.status for answer in answers] == [DONE if end == "done" else FAILED]
    jobs.close()


@pytest.mark.usefixtures("no_feed")
def test_a_job_sent_back_to_retry_wakes_its_waiter_to_wait_for_its_backoff(
    database: Database,
) -> None:
    clock = FakeClock()
    jobs = store(database, clock, backoff_ms=5_000)
    job = claimed(jobs)
    thread, answers = waiting(jobs, job.id)
    assert clock.wait_for_sleepers(1)
    retried = jobs.fail(job, "flaky", retryable=True)
    assert retried is not None and retried.status == PENDING
    # Woken, it reads the PENDING job and waits again, now only until its backoff ends.
    assert jobs.quiet_for_s(retried) == pytest.approx(5.0)
    again = jobs.claim(job.id, "elsewhere")
    assert again is None  # not due yet: the backoff holds
    clock.advance(5.0)
    again = jobs.claim(job.id, "elsewhere")
    assert again is not None
    jobs.complete(again, JobOutcome(CREATED, "entity", "text"))
    thread.join(HANG_S)
    assert [answer.status for answer in answers] == [DONE]
    jobs.close()


def test_a_missed_wake_up_costs_at_most_the_fallback_bound(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every wake-up is lost (this process's and the engine's): only the bound is left.
    monkeypatch.setattr(JobEnds, "ended", lambda self, job_ids: 0)
    clock = FakeClock()
    jobs = store(database, clock, wake_fallback_ms=500)
    job = claimed(jobs)
    thread, answers = waiting(jobs, job.id)
    assert clock.wait_for_sleepers(1)
    jobs.complete(job, JobOutcome(CREATED, "entity", "text"))
    clock.advance(0.5)
    thread.join(HANG_S)
    assert not thread.is_alive(), "the waiter slept past its fallback bound"
    assert [answer.status for answer in answers] == [DONE]
    jobs.close()


def test_a_waiter_never_sleeps_past_its_jobs_lease(database: Database) -> None:
    clock = FakeClock()
    jobs = store(database, clock, lease_ms=2_000)
    job = claimed(jobs)
    # A running job may be taken back when its lease ends, unannounced: look by then.
    assert jobs.quiet_for_s(job) == pytest.approx(2.0)
    jobs.close()


CHILD = textwrap.dedent(
    """
    import sys
    from dataclasses import replace

    from moviemind_lite.core.config import load_settings
    from moviemind_lite.store.db import open_database
    from moviemind_lite.store.job_ends import Watch
    from moviemind_lite.store.jobs import JobStore

    settings = load_settings()
    database = open_database(settings.database, settings.busy_timeout_ms)
    jobs = JobStore(database, replace(settings.jobs, wake_fallback_ms=3_600_000.0))
    plain_wait = Watch.wait

    def told(self, timeout_s):
        print("waiting", flush=True)
        return plain_wait(self, timeout_s)

    # Held through the wait, so the feed runs (and listens) before the job is read.
    with jobs.ends.watching("warm-up"):
        assert jobs.ends.listening.wait(20), "the feed never started"
        Watch.wait = told
        job = jobs.wait(sys.argv[1])
    print("ended", job.status, flush=True)
    jobs.close()
    database.close()
    """
)


@pytest.fixture
def child(settings: Settings) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's output lines, read on a thread (so a test can bound its wait)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.strip())

    threading.Thread(target=read, daemon=True).start()
    return lines


def next_line(lines: queue.Queue[str], what: str) -> str:
    try:
        return lines.get(timeout=HANG_S)
    except queue.Empty:
        pytest.fail(f"the waiting process never said {what!r}")


def test_a_waiter_in_another_process_is_woken_by_the_engine(
    database: Database, child: list[subprocess.Popen[str]]
) -> None:
    # The job is leased for an hour and the other process's fallback is an hour:
    # only the engine's word (NOTIFY, or SQLite's change counter) can wake it.
    jobs = store(database, SYSTEM_CLOCK)
    job = claimed(jobs)
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, job.id],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
    )
    child.append(process)
    lines = lines_of(process)
    assert next_line(lines, "waiting") == "waiting"
    jobs.complete(job, JobOutcome(CREATED, "entity", "text"))
    assert next_line(lines, "ended DONE") == "ended DONE"
    assert process.wait(HANG_S) == 0
    jobs.close()


def test_a_waiter_on_a_job_nobody_runs_waits_for_the_bound_not_in_a_loop(
    database: Database,
) -> None:
    # A due PENDING job (no worker yet) and a running job whose lease ran out change only
    # when someone acts: a waiter that does not drive looks again at the bound, never at once.
    clock = FakeClock()
    jobs = store(database, clock, wake_fallback_ms=700)
    pending = jobs.create(JobRequest("movie", "nobody-runs-it", "en-US", "default"), "two-level")
    assert jobs.quiet_for_s(pending) == pytest.approx(0.7)
    running = claimed(jobs)
    clock.advance(HOUR_MS / 1000 + 1)  # its lease is over
    assert jobs.quiet_for_s(running) == pytest.approx(0.7)
    jobs.close()
