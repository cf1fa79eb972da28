"""The job store: claim order, leases, attempts as fencing, retries with backoff."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock, FakeClock
from moviemind_lite.core.config import JobSettings
from moviemind_lite.core.errors import InvalidInput, JobNotFound, StaleClaim
from moviemind_lite.core.ids import elapsed_ms, new_id, parse_timestamp
from moviemind_lite.core.model import (
    CREATED,
    DONE,
    FAILED,
    IN_PROGRESS,
    PENDING,
    Job,
    JobOutcome,
    JobRequest,
)
from moviemind_lite.core.numbers import DAY_MS
from moviemind_lite.store.db import Database
from moviemind_lite.store.jobs import JobStore
from tests.helpers import run_together

pytestmark = pytest.mark.usefixtures("engines")


def make_store(database: Database, clock: Clock = SYSTEM_CLOCK, **changes: float) -> JobStore:
    return JobStore(database, JobSettings(**changes), clock=clock)  # type: ignore[arg-type]


def request(slug: str = "alien-1979") -> JobRequest:
    return JobRequest("movie", slug, "en-US", "default")


def expire_lease(database: Database, job_id: str) -> None:
    """Move a claim's lease into the past, as if its worker had stopped beating."""
    with database.write() as conn:
        conn.execute(
            "UPDATE jobs SET lease_until = ? WHERE id = ?", ("2000-01-01T00:00:00.000Z", job_id)
        )


def make_due(database: Database, job_id: str) -> None:
    """End a retry's backoff now instead of waiting for it."""
    with database.write() as conn:
        conn.execute(
            "UPDATE jobs SET run_after = ? WHERE id = ?", ("2000-01-01T00:00:00.000Z", job_id)
        )


DONE_OUTCOME = JobOutcome(CREATED, "entity", "text")


def test_claim_takes_the_oldest_due_job_first(database: Database) -> None:
    jobs = make_store(database)
    created = [jobs.create(request(f"movie-{index}"), "two-level") for index in range(5)]
    claimed = [jobs.claim_next("w1") for _ in created]
    assert [job.id for job in claimed if job] == [job.id for job in created]
    assert all(job and job.status == IN_PROGRESS and job.attempts == 1 for job in claimed)
    assert jobs.claim_next("w1") is None


def test_a_job_waiting_for_its_backoff_is_not_claimed(database: Database) -> None:
    jobs = make_store(database, backoff_ms=60_000)
    first = jobs.create(request("first"), "two-level")
    second = jobs.create(request("second"), "two-level")
    claimed = jobs.claim_next("w1")
    assert claimed is not None and claimed.id == first.id
    jobs.fail(claimed, "flaky", retryable=True)
    # The older job is back in PENDING, but not due: the younger one goes first.
    next_job = jobs.claim_next("w1")
    assert next_job is not None and next_job.id == second.id
    assert jobs.claim_next("w1") is None
    make_due(database, first.id)
    again = jobs.claim_next("w1")
    assert again is not None and (again.id, again.attempts) == (first.id, 2)


def test_claim_of_one_job_by_id(database: Database) -> None:
    jobs = make_store(database)
    job = jobs.create(request(), "two-level")
    claimed = jobs.claim(job.id, "w1")
    assert claimed is not None and claimed.worker_id == "w1"
    assert jobs.claim(job.id, "w2") is None  # held under a live lease


def test_every_job_is_claimed_exactly_once_by_racing_threads(database: Database) -> None:
    jobs = make_store(database)
    created = {jobs.create(request(f"movie-{index}"), "two-level").id for index in range(60)}
    claims: list[str] = []
    claims_lock = threading.Lock()

    def claim_all(index: int) -> None:
        while (job := jobs.claim_next(f"w{index}")) is not None:
            with claims_lock:
                claims.append(job.id)

    run_together(claim_all, 8)
    assert Counter(claims) == Counter(created)
    assert {job.attempts for job in jobs.list(limit=None)} == {1}


def test_an_expired_lease_is_taken_back_with_the_next_attempt(database: Database) -> None:
    clock = FakeClock()
    jobs = make_store(database, clock, lease_ms=60)
    job = jobs.create(request(), "two-level")
    first = jobs.claim_next("w1")
    assert first is not None
    clock.advance(0.059)
    assert jobs.claim_next("w2") is None  # the lease still runs, a millisecond more
    clock.advance(0.002)
    second = jobs.claim_next("w2")
    assert second is not None
    assert (second.id, second.worker_id, second.attempts) == (job.id, "w2", 2)


def test_attempts_fence_off_a_stale_claim(database: Database) -> None:
    jobs = make_store(database)
    jobs.create(request(), "two-level")
    stale = jobs.claim_next("w1")
    assert stale is not None
    expire_lease(database, stale.id)
    fresh = jobs.claim_next("w1")  # the same worker name: only the attempt tells them apart
    assert fresh is not None and fresh.attempts == 2
    assert jobs.heartbeat(stale) is False
    assert jobs.complete(stale, DONE_OUTCOME) is None
    assert jobs.fail(stale, "late", retryable=False) is None
    assert jobs.heartbeat(fresh) is True
    done = jobs.complete(fresh, DONE_OUTCOME)
    assert done is not None and (done.status, done.result, done.attempts) == (DONE, CREATED, 2)
    assert jobs.complete(fresh, DONE_OUTCOME) is None  # done once only


def test_the_claim_token_grows_with_every_claim_and_never_goes_back(database: Database) -> None:
    jobs = make_store(database)
    job = jobs.create(request(), "two-level")
    versions = [job.lease_version]
    first = jobs.claim_next("w1")
    assert first is not None
    versions.append(first.lease_version)
    deferred = jobs.defer(first, "AI circuit open", "2000-01-01T00:00:00.000Z")
    assert deferred is not None and deferred.attempts == 0  # the deferral gives its attempt back
    versions.append(deferred.lease_version)
    second = jobs.claim_next("w1")
    assert second is not None
    failed = jobs.fail(second, "broken", retryable=False)
    assert failed is not None and failed.status == FAILED
    with database.write() as tx:
        retried = jobs.retry(tx, job.id)
    assert retried.attempts == 0  # a retry resets the attempts
    third = jobs.claim_next("w1")
    assert third is not None
    versions += [second.lease_version, failed.lease_version, retried.lease_version]
    versions.append(third.lease_version)
    assert versions == [0, 1, 1, 2, 2, 2, 3]
    assert (first.attempts, second.attempts, third.attempts) == (1, 1, 1)


def test_an_old_claim_after_a_deferral_and_a_reclaim_writes_nothing(database: Database) -> None:
    jobs = make_store(database)
    jobs.create(request(), "two-level")
    old = jobs.claim_next("w1")
    assert old is not None
    assert jobs.defer(old, "AI circuit open", "2000-01-01T00:00:00.000Z") is not None
    new = jobs.claim_next("w1")  # the same worker name on the same attempt number
    assert new is not None and (new.worker_id, new.attempts) == (old.worker_id, old.attempts)
    with pytest.raises(StaleClaim, match="lease version 1"), database.write() as tx:
        jobs.check_claim_in(tx, old)
    assert jobs.heartbeat(old) is False
    assert jobs.still_holds(old) is False
    assert jobs.complete(old, DONE_OUTCOME) is None
    assert jobs.fail(old, "late", retryable=False) is None
    assert jobs.defer(old, "late", "2000-01-01T00:00:00.000Z") is None
    assert jobs.get(new.id).status == IN_PROGRESS
    done = jobs.complete(new, DONE_OUTCOME)
    assert done is not None and done.status == DONE


def test_heartbeat_pushes_the_lease_forward(database: Database) -> None:
    clock = FakeClock()
    jobs = make_store(database, clock, lease_ms=60_000)
    jobs.create(request(), "two-level")
    claimed = jobs.claim_next("w1")
    assert claimed is not None and claimed.lease_until is not None
    clock.advance(10)
    assert jobs.heartbeat(claimed)
    extended = jobs.get(claimed.id).lease_until
    assert extended is not None
    assert elapsed_ms(claimed.lease_until, extended) == 10_000


def test_a_lease_lost_on_the_last_attempt_fails_the_job(database: Database) -> None:
    jobs = make_store(database, max_attempts=1)
    job = jobs.create(request(), "two-level")
    claimed = jobs.claim_next("w1")
    assert claimed is not None
    expire_lease(database, job.id)
    assert jobs.claim_next("w2") is None
    failed = jobs.get(job.id)
    assert (failed.status, failed.attempts) == (FAILED, 1)
    assert failed.error == "lease expired on attempt 1 (worker w1 stopped)"


def test_retry_backoff_doubles_then_the_job_fails_for_good(database: Database) -> None:
    jobs = make_store(database, backoff_ms=1000, max_attempts=4)
    job = jobs.create(request(), "two-level")
    waits: list[float] = []
    for attempt in (1, 2, 3):
        claimed = jobs.claim_next("w1")
        assert claimed is not None and claimed.attempts == attempt
        retried = jobs.fail(claimed, f"flaky {attempt}", retryable=True)
        assert retried is not None
        assert (retried.status, retried.error, retried.worker_id) == (
            PENDING,
            f"flaky {attempt}",
            None,
        )
        backoff = parse_timestamp(retried.run_after) - parse_timestamp(retried.updated_at)
        waits.append(backoff.total_seconds() * 1000)
        make_due(database, job.id)
    for wait, expected in zip(waits, (1000, 2000, 4000), strict=True):
        assert expected <= wait < expected + 500
    last = jobs.claim_next("w1")
    assert last is not None and last.attempts == 4
    failed = jobs.fail(last, "flaky 4", retryable=True)
    assert failed is not None
    assert (failed.status, failed.attempts, failed.error) == (FAILED, 4, "flaky 4")
    assert failed.finished_at is not None


def test_a_non_retryable_failure_ends_the_job_at_once(database: Database) -> None:
    jobs = make_store(database)
    jobs.create(request(), "two-level")
    claimed = jobs.claim_next("w1")
    assert claimed is not None
    failed = jobs.fail(claimed, "duplicate", retryable=False)
    assert failed is not None and (failed.status, failed.attempts) == (FAILED, 1)


def test_retry_puts_a_failed_job_back_with_fresh_attempts(database: Database) -> None:
    jobs = make_store(database, max_attempts=1)
    job = jobs.create(request(), "two-level")
    claimed = jobs.claim_next("w1")
    assert claimed is not None
    jobs.fail(claimed, "broken", retryable=True)
    with database.write() as conn:
        retried = jobs.retry(conn, job.id)
    assert (retried.status, retried.attempts, retried.error, retried.finished_at) == (
        PENDING,
        0,
        None,
        None,
    )
    again = jobs.claim_next("w1")
    assert again is not None and again.attempts == 1
    with (
        pytest.raises(InvalidInput, match="only FAILED jobs can be retried"),
        database.write() as conn,
    ):
        jobs.retry(conn, job.id)
    with pytest.raises(JobNotFound), database.write() as conn:
        jobs.retry(conn, new_id())


def test_get_rejects_malformed_and_unknown_ids(database: Database) -> None:
    jobs = make_store(database)
    with pytest.raises(InvalidInput, match="is not a job id"):
        jobs.get("not-a-job")
    with pytest.raises(JobNotFound):
        jobs.get(new_id())


def test_wait_returns_the_job_when_it_ends_or_the_timeout_passes(database: Database) -> None:
    jobs = make_store(database, poll_ms=5)
    job = jobs.create(request(), "two-level")
    assert jobs.wait(job.id, timeout_s=0.02).status == PENDING
    claimed = jobs.claim_next("w1")
    assert claimed is not None
    finisher = threading.Timer(0.05, jobs.complete, (claimed, DONE_OUTCOME))
    finisher.start()
    assert jobs.wait(job.id).status == DONE
    finisher.join()


def test_counts_and_list_by_status(database: Database) -> None:
    jobs = make_store(database)
    first = jobs.create(request("one"), "two-level")
    jobs.create(request("two"), "two-level")
    claimed = jobs.claim(first.id, "w1")
    assert claimed is not None
    jobs.complete(claimed, DONE_OUTCOME)
    assert jobs.counts() == {PENDING: 1, IN_PROGRESS: 0, DONE: 1, FAILED: 0}
    assert [job.id for job in jobs.list(status="done")] == [first.id]
    with pytest.raises(InvalidInput, match="unknown status"):
        jobs.list(status="finished")


def _job_ids(jobs: list[Job]) -> list[str]:
    return [job.id for job in jobs]


def test_list_is_newest_first(database: Database) -> None:
    jobs = make_store(database)
    created = [jobs.create(request(f"m-{index}"), "two-level") for index in range(3)]
    assert _job_ids(jobs.list()) == _job_ids(created)[::-1]
    assert _job_ids(jobs.list(limit=1)) == [created[-1].id]


@pytest.mark.parametrize(("retry_after_ms", "expected_ms"), [(30_000, 30_000), (100, 1000)])
def test_a_servers_retry_after_is_the_least_wait_before_the_next_attempt(
    database: Database, retry_after_ms: float, expected_ms: float
) -> None:
    jobs = make_store(database, backoff_ms=1000)
    jobs.create(request(), "two-level")
    claimed = jobs.claim_next("w1")
    assert claimed is not None
    retried = jobs.fail(claimed, "rate limited", retryable=True, retry_after_ms=retry_after_ms)
    assert retried is not None and retried.status == PENDING
    wait = parse_timestamp(retried.run_after) - parse_timestamp(retried.updated_at)
    # Both stamps come from the failure's one reading of the clock (ms, each truncated).
    assert abs(wait.total_seconds() * 1000 - expected_ms) <= 1
    assert jobs.claim_next("w1") is None  # not before the server said


def test_the_backoff_stops_growing_at_a_day(database: Database) -> None:
    # Doubling a day's backoff, or a server's huge Retry-After, would leave the clock.
    jobs = make_store(database, backoff_ms=DAY_MS, max_attempts=100)
    job = jobs.create(request(), "two-level")
    with database.write() as tx:
        tx.execute("UPDATE jobs SET attempts = 80 WHERE id = ?", (job.id,))
    claimed = jobs.claim_next("w1")
    assert claimed is not None and claimed.attempts == 81
    retried = jobs.fail(claimed, "flaky", retryable=True, retry_after_ms=1e300)
    assert retried is not None and retried.status == PENDING
    wait = parse_timestamp(retried.run_after) - parse_timestamp(retried.updated_at)
    assert abs(wait.total_seconds() * 1000 - DAY_MS) <= 1
