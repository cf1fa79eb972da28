"""Generation slots and the two-level dispatch built on them, on every locks engine."""

from __future__ import annotations

import pytest

from moviemind_lite.app.wiring import App
from moviemind_lite.core.ids import new_id
from moviemind_lite.core.model import JobRequest
from moviemind_lite.pipeline.strategies import Strategy, StrategyContext, make_strategy
from moviemind_lite.store.db import Database
from moviemind_lite.store.locking import Slots
from moviemind_lite.store.slots import slot_key
from tests.helpers import count, wait_until

REQUEST = JobRequest("movie", "alien-1979", "en-US", "default")
pytestmark = pytest.mark.usefixtures("engines")


@pytest.fixture
def slots(app: App) -> Slots:
    return app.locks.slots


@pytest.fixture
def database(app: App) -> Database:
    return app.database


def two_level(app: App) -> Strategy:
    context = StrategyContext(app.database, app.locks, app.job_store, app.settings.jobs)
    return make_strategy("two-level", context)


def test_slot_key_is_deterministic_per_kind_slug_locale_and_context() -> None:
    assert slot_key(REQUEST) == slot_key(JobRequest("movie", "alien-1979", "en-US", "default"))
    others = {
        JobRequest("person", "alien-1979", "en-US", "default"),
        JobRequest("movie", "alien-1986", "en-US", "default"),
        JobRequest("movie", "alien-1979", "pl-PL", "default"),
        JobRequest("movie", "alien-1979", "en-US", "modern"),
    }
    assert len({slot_key(REQUEST), *(slot_key(other) for other in others)}) == 5


def test_acquire_is_add_if_absent(database: Database, slots: Slots) -> None:
    key, first, second = slot_key(REQUEST), new_id(), new_id()
    with database.write() as conn:
        assert slots.acquire(conn, key, first, 60_000) == first
        assert slots.acquire(conn, key, second, 60_000) == first
    assert slots.holder_id(key) == first
    assert slots.count_open() == 1


def test_an_expired_slot_goes_to_the_next_job(database: Database, slots: Slots) -> None:
    key, first, second = slot_key(REQUEST), new_id(), new_id()
    with database.write() as conn:
        slots.acquire(conn, key, first, 1)
    wait_until(lambda: slots.holder_id(key) is None, what="the slot's TTL to pass")
    with database.write() as conn:
        assert slots.acquire(conn, key, second, 60_000) == second
    assert slots.holder_id(key) == second


def test_take_over_replaces_even_a_live_holder(database: Database, slots: Slots) -> None:
    key, first, second = slot_key(REQUEST), new_id(), new_id()
    with database.write() as conn:
        slots.acquire(conn, key, first, 60_000)
        slots.take_over(conn, key, second, 60_000)
    assert slots.holder_id(key) == second


def test_release_frees_only_the_holders_slot(database: Database, slots: Slots) -> None:
    key, first, second = slot_key(REQUEST), new_id(), new_id()
    with database.write() as conn:
        slots.acquire(conn, key, first, 60_000)
        slots.release(conn, key, second)
    assert slots.holder_id(key) == first
    with database.write() as conn:
        slots.release(conn, key, first)
    assert slots.holder_id(key) is None
    with database.write() as conn:
        assert slots.acquire(conn, key, second, 60_000) == second


def test_a_release_in_a_rolled_back_transaction_keeps_the_slot(
    database: Database, slots: Slots
) -> None:
    key, first = slot_key(REQUEST), new_id()
    with database.write() as conn:
        slots.acquire(conn, key, first, 60_000)
    with pytest.raises(RuntimeError), database.write() as conn:
        slots.release(conn, key, first)
        raise RuntimeError("the job's end failed")
    assert slots.holder_id(key) == first


def test_dispatch_hands_out_the_job_holding_the_slot(app: App, database: Database) -> None:
    strategy = two_level(app)
    with database.write() as conn:
        first = strategy.dispatch(conn, REQUEST)
    with database.write() as conn:
        second = strategy.dispatch(conn, REQUEST)
    assert (first.created, second.created) == (True, False)
    assert first.job.id == second.job.id
    assert count(database, "SELECT count(*) FROM jobs") == 1


def test_dispatch_after_the_job_ended_starts_a_new_one(
    app: App, database: Database, slots: Slots
) -> None:
    jobs, strategy = app.job_store, two_level(app)
    with database.write() as conn:
        first = strategy.dispatch(conn, REQUEST).job
    claimed = jobs.claim(first.id, "w1")
    assert claimed is not None
    jobs.fail(claimed, "broken", retryable=False)  # frees the slot
    with database.write() as conn:
        again = strategy.dispatch(conn, REQUEST)
    assert again.created and again.job.id != first.id
    assert slots.holder_id(slot_key(REQUEST)) == again.job.id


def test_dispatch_replaces_a_slot_whose_job_ended_without_releasing_it(
    app: App, database: Database, slots: Slots
) -> None:
    strategy = two_level(app)
    with database.write() as conn:
        first = strategy.dispatch(conn, REQUEST).job
        # As if its process had died between finishing and freeing the slot.
        conn.execute("UPDATE jobs SET status = 'FAILED' WHERE id = ?", (first.id,))
    with database.write() as conn:
        again = strategy.dispatch(conn, REQUEST)
    assert again.created and again.job.id != first.id
    assert slots.holder_id(slot_key(REQUEST)) == again.job.id
