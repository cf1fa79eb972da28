"""Generation slots and the two-level dispatch built on them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.core.config import JobSettings
from moviemind_lite.core.ids import new_id
from moviemind_lite.core.model import JobRequest
from moviemind_lite.pipeline.strategies import StrategyContext, make_strategy
from moviemind_lite.store.db import Database
from moviemind_lite.store.jobs import JobStore
from moviemind_lite.store.migrations import migrate
from moviemind_lite.store.slots import acquire_slot, release_slot, slot_key, take_over_slot
from tests.helpers import count

REQUEST = JobRequest("movie", "alien-1979", "en-US", "default")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    opened = Database(tmp_path / "slots.db")
    migrate(opened)
    yield opened
    opened.close()


def holder(database: Database, key: str) -> str | None:
    row = database.query_one("SELECT job_id FROM generation_slots WHERE key = ?", (key,))
    return None if row is None else str(row[0])


def test_slot_key_is_deterministic_per_kind_slug_locale_and_context() -> None:
    assert slot_key(REQUEST) == slot_key(JobRequest("movie", "alien-1979", "en-US", "default"))
    others = {
        JobRequest("person", "alien-1979", "en-US", "default"),
        JobRequest("movie", "alien-1986", "en-US", "default"),
        JobRequest("movie", "alien-1979", "pl-PL", "default"),
        JobRequest("movie", "alien-1979", "en-US", "modern"),
    }
    assert len({slot_key(REQUEST), *(slot_key(other) for other in others)}) == 5


def test_acquire_is_add_if_absent(database: Database) -> None:
    key, first, second = slot_key(REQUEST), new_id(), new_id()
    with database.write() as conn:
        assert acquire_slot(conn, key, first, 60_000) == first
        assert acquire_slot(conn, key, second, 60_000) == first
    assert holder(database, key) == first


def test_an_expired_slot_goes_to_the_next_job(database: Database) -> None:
    key, first, second = slot_key(REQUEST), new_id(), new_id()
    with database.write() as conn:
        acquire_slot(conn, key, first, 60_000)
        conn.execute("UPDATE generation_slots SET expires_at = '2000-01-01T00:00:00.000Z'")
        assert acquire_slot(conn, key, second, 60_000) == second
    assert holder(database, key) == second


def test_take_over_replaces_even_a_live_holder(database: Database) -> None:
    key, first, second = slot_key(REQUEST), new_id(), new_id()
    with database.write() as conn:
        acquire_slot(conn, key, first, 60_000)
        take_over_slot(conn, key, second, 60_000)
    assert holder(database, key) == second


def test_release_frees_only_the_holders_slot(database: Database) -> None:
    key, first, second = slot_key(REQUEST), new_id(), new_id()
    with database.write() as conn:
        acquire_slot(conn, key, first, 60_000)
        release_slot(conn, key, second)
    assert holder(database, key) == first
    with database.write() as conn:
        release_slot(conn, key, first)
    assert holder(database, key) is None
    with database.write() as conn:
        assert acquire_slot(conn, key, second, 60_000) == second


def test_dispatch_hands_out_the_job_holding_the_slot(database: Database, tmp_path: Path) -> None:
    jobs = JobStore(database, JobSettings())
    strategy = make_strategy("two-level", StrategyContext(database, tmp_path, jobs, JobSettings()))
    with database.write() as conn:
        first = strategy.dispatch(conn, REQUEST)
    with database.write() as conn:
        second = strategy.dispatch(conn, REQUEST)
    assert (first.created, second.created) == (True, False)
    assert first.job.id == second.job.id
    assert count(database, "SELECT count(*) FROM jobs") == 1


def test_dispatch_after_the_job_ended_starts_a_new_one(database: Database, tmp_path: Path) -> None:
    jobs = JobStore(database, JobSettings())
    strategy = make_strategy("two-level", StrategyContext(database, tmp_path, jobs, JobSettings()))
    with database.write() as conn:
        first = strategy.dispatch(conn, REQUEST).job
    claimed = jobs.claim(first.id, "w1")
    assert claimed is not None
    jobs.fail(claimed, "broken", retryable=False)  # frees the slot
    with database.write() as conn:
        again = strategy.dispatch(conn, REQUEST)
    assert again.created and again.job.id != first.id
    assert holder(database, slot_key(REQUEST)) == again.job.id


def test_dispatch_replaces_a_slot_whose_job_ended_without_releasing_it(
    database: Database, tmp_path: Path
) -> None:
    jobs = JobStore(database, JobSettings())
    strategy = make_strategy("two-level", StrategyContext(database, tmp_path, jobs, JobSettings()))
    with database.write() as conn:
        first = strategy.dispatch(conn, REQUEST).job
        # As if its process had died between finishing and freeing the slot.
        conn.execute("UPDATE jobs SET status = 'FAILED' WHERE id = ?", (first.id,))
    with database.write() as conn:
        again = strategy.dispatch(conn, REQUEST)
    assert again.created and again.job.id != first.id
    assert holder(database, slot_key(REQUEST)) == again.job.id
