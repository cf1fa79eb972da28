"""The database is the guarantee: one unfinished job per key, and writes fenced by the claim.

Slots (in the database's table or on Redis) spare the database; the jobs
table decides. These tests forget slots on purpose, as a lock server
restarted without persistence would, and check that nothing doubles; and
they take a job back from a worker and check that its late write is refused.
"""

from __future__ import annotations

import pytest

from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import InvalidInput, StaleClaim, UniqueViolation
from moviemind_lite.core.model import CREATED, DONE, FAILED, IN_PROGRESS, JobRequest
from moviemind_lite.pipeline.body import JobBody
from moviemind_lite.pipeline.strategies import Strategy, StrategyContext, make_strategy
from moviemind_lite.store.calls import start_call
from moviemind_lite.store.db import Database
from moviemind_lite.store.slots import slot_key
from tests.helpers import count, run_together

REQUEST = JobRequest("movie", "alien-1979", "en-US", "default")
pytestmark = pytest.mark.usefixtures("engines")


def two_level(app: App) -> Strategy:
    context = StrategyContext(app.database, app.locks, app.job_store, app.settings.jobs)
    return make_strategy("two-level", context)


def forget_slot(app: App, job_id: str) -> None:
    """Drop the key's slot as a lock server that lost its keys would, the job still unfinished."""
    with app.database.write() as conn:
        app.locks.slots.release(conn, slot_key(REQUEST), job_id)
    assert app.locks.slots.holder_id(slot_key(REQUEST)) is None


def expire_lease(database: Database, job_id: str) -> None:
    """Move a claim's lease into the past, as if its worker had stopped beating."""
    with database.write() as conn:
        conn.execute(
            "UPDATE jobs SET lease_until = ? WHERE id = ?", ("2000-01-01T00:00:00.000Z", job_id)
        )


def unfinished(database: Database) -> int:
    return count(database, "SELECT count(*) FROM jobs WHERE status IN ('PENDING', 'IN_PROGRESS')")


# -- one unfinished job per key ------------------------------------------------------------


def test_the_database_refuses_a_second_unfinished_job_for_a_key(app: App) -> None:
    jobs = app.job_store
    with app.database.write() as conn:
        jobs.insert(conn, REQUEST, "two-level", one_per_key=True)
    with pytest.raises(UniqueViolation), app.database.write() as conn:
        jobs.insert(conn, REQUEST, "two-level", one_per_key=True)
    # Other keys, and jobs that exist to race (the lab's other strategies), are not bound.
    with app.database.write() as conn:
        jobs.insert(
            conn,
            JobRequest("movie", "alien-1979", "pl-PL", "default"),
            "two-level",
            one_per_key=True,
        )
        jobs.insert(conn, REQUEST, "none")
    assert unfinished(app.database) == 3


def test_a_finished_job_frees_its_key_for_the_next(app: App) -> None:
    jobs = app.job_store
    with app.database.write() as conn:
        first = jobs.insert(conn, REQUEST, "two-level", one_per_key=True)
    claimed = jobs.claim(first.id, "w1")
    assert claimed is not None
    jobs.fail(claimed, "broken", retryable=False)
    with app.database.write() as conn:
        second = jobs.insert(conn, REQUEST, "two-level", one_per_key=True)
    assert second.id != first.id


def test_dispatch_joins_the_unfinished_job_when_the_slot_was_forgotten(app: App) -> None:
    strategy = two_level(app)
    with app.database.write() as conn:
        first = strategy.dispatch(conn, REQUEST)
    forget_slot(app, first.job.id)
    with app.database.write() as conn:
        second = strategy.dispatch(conn, REQUEST)
    assert (first.created, second.created) == (True, False)
    assert second.job.id == first.job.id
    assert count(app.database, "SELECT count(*) FROM jobs") == 1
    # The slot names the job again, so the next request is answered without a write.
    assert app.locks.slots.holder_id(slot_key(REQUEST)) == first.job.id


def test_dispatch_joins_a_running_job_when_the_slot_was_forgotten(app: App) -> None:
    strategy = two_level(app)
    with app.database.write() as conn:
        first = strategy.dispatch(conn, REQUEST).job
    assert app.job_store.claim(first.id, "w1") is not None
    forget_slot(app, first.id)
    with app.database.write() as conn:
        second = strategy.dispatch(conn, REQUEST, claim_for="w2")
    assert not second.created and second.job.id == first.id
    assert (second.job.status, second.job.worker_id) == (IN_PROGRESS, "w1")


def test_a_herd_with_every_slot_forgotten_makes_one_job(app: App) -> None:
    """Eight requests at once while the lock server keeps forgetting: one job, one AI call."""
    first = app.generation.request(MOVIE, REQUEST.slug, wait=False)
    assert first.job is not None
    seen: list[str] = []

    def ask(index: int) -> None:
        forget_slot_quietly(app, first.job.id)  # type: ignore[union-attr]
        outcome = app.generation.request(MOVIE, REQUEST.slug, wait=False)
        assert outcome.job is not None
        seen.append(outcome.job.id)

    run_together(ask, 8)
    assert set(seen) == {first.job.id}
    assert count(app.database, "SELECT count(*) FROM jobs") == 1


def forget_slot_quietly(app: App, job_id: str) -> None:
    with app.database.write() as conn:
        app.locks.slots.release(conn, slot_key(REQUEST), job_id)


def test_retry_of_a_failed_job_is_refused_while_another_holds_the_key(app: App) -> None:
    jobs, strategy = app.job_store, two_level(app)
    with app.database.write() as conn:
        first = strategy.dispatch(conn, REQUEST).job
    claimed = jobs.claim(first.id, "w1")
    assert claimed is not None
    jobs.fail(claimed, "broken", retryable=False)
    with app.database.write() as conn:
        second = strategy.dispatch(conn, REQUEST).job
    refused = pytest.raises(InvalidInput, match=f"job {second.id} for the same movie")
    with refused, app.database.write() as conn:
        jobs.retry(conn, first.id)
    assert jobs.get(first.id).status == FAILED


# -- the slot is freed however the job ends (mutation survivor 03) --------------------------


def test_the_slot_is_released_after_a_non_retryable_failure(app: App) -> None:
    jobs, strategy = app.job_store, two_level(app)
    with app.database.write() as conn:
        job = strategy.dispatch(conn, REQUEST).job
    claimed = jobs.claim(job.id, "w1")
    assert claimed is not None
    assert app.locks.slots.holder_id(slot_key(REQUEST)) == job.id
    jobs.fail(claimed, "refused", retryable=False)
    assert app.locks.slots.holder_id(slot_key(REQUEST)) is None


def test_the_slot_is_released_after_a_lease_lost_on_the_last_attempt(app: App) -> None:
    jobs, strategy = app.job_store, two_level(app)
    with app.database.write() as conn:
        job = strategy.dispatch(conn, REQUEST).job
    with app.database.write() as conn:
        conn.execute("UPDATE jobs SET max_attempts = 1 WHERE id = ?", (job.id,))
    assert jobs.claim(job.id, "w1") is not None
    expire_lease(app.database, job.id)
    assert jobs.claim_next("w2") is None
    assert jobs.get(job.id).status == FAILED
    assert app.locks.slots.holder_id(slot_key(REQUEST)) is None


# -- writes fenced by the claim ---------------------------------------------------------------


def claimed_then_taken_back(app: App) -> tuple[JobBody, str]:
    """A body for w1's claim, after w2 took the job back: w1 is now stale."""
    jobs = app.job_store
    with app.database.write() as conn:
        job = jobs.insert(conn, REQUEST, "two-level", one_per_key=True)
    stale = jobs.claim(job.id, "w1")
    assert stale is not None
    expire_lease(app.database, job.id)
    fresh = jobs.claim(job.id, "w2")
    assert fresh is not None and fresh.attempts == 2
    return JobBody(app.runner.env, stale), job.id


def test_a_stale_claims_text_is_refused_and_writes_nothing(app: App) -> None:
    body, job_id = claimed_then_taken_back(app)
    with pytest.raises(StaleClaim, match="no longer held by w1 on attempt 1"):
        body.persist("a late text", {"title": "Alien"})
    assert count(app.database, "SELECT count(*) FROM movies WHERE slug = ?", (REQUEST.slug,)) == 0
    job = app.job_store.get(job_id)
    assert (job.status, job.worker_id, job.attempts) == (IN_PROGRESS, "w2", 2)


def test_a_stale_claim_does_not_pay_for_an_ai_call(app: App) -> None:
    body, _ = claimed_then_taken_back(app)
    before = app.calls.total()
    with pytest.raises(StaleClaim, match="before the AI call"):
        body.generate({"title": "Alien"})
    assert app.calls.total() == before


def test_the_runner_counts_a_refused_stale_write_and_leaves_the_job_to_its_new_claim(
    app: App,
) -> None:
    body, job_id = claimed_then_taken_back(app)
    assert app.runner.run_claimed(body.job) is None
    assert app.job_store.stale_writes() == 1
    assert app.job_store.get(job_id).worker_id == "w2"
    fresh = app.job_store.get(job_id)
    ended = app.runner.run_claimed(fresh)
    assert ended is not None and (ended.status, ended.result) == (DONE, CREATED)
    assert count(app.database, "SELECT count(*) FROM movies WHERE slug = ?", (REQUEST.slug,)) == 1


# -- every paid call counted -----------------------------------------------------------------


def call_states(database: Database) -> dict[str, int]:
    rows = database.query("SELECT state, count(*) FROM ai_calls GROUP BY state")
    return {row[0]: int(row[1]) for row in rows}


def test_a_call_is_recorded_when_it_starts_and_closed_when_it_ends(app: App) -> None:
    outcome = app.generation.request(MOVIE, REQUEST.slug)
    assert outcome.status == "done"
    assert call_states(app.database) == {"ended": 1}
    assert app.calls.usage().calls == 1


def test_a_call_cut_short_by_a_crash_is_counted_as_abandoned(app: App) -> None:
    _, job_id = claimed_then_taken_back(app)
    # w2's worker starts its call, then dies before it ends (kill -9): only the start is written.
    fresh = app.job_store.get(job_id)
    start_call(app.database, f"movie:{REQUEST.slug}:en-US:default", fresh.id)
    assert call_states(app.database) == {"running": 1}
    expire_lease(app.database, job_id)
    assert app.job_store.claim(job_id, "w3") is not None  # taken back from the dead worker
    assert call_states(app.database) == {"abandoned": 1}
    usage = app.calls.usage()
    assert (usage.calls, usage.abandoned, usage.failed) == (1, 1, 0)
    assert app.calls.total() == 1  # the lab's ai_calls counts it
