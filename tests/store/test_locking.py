"""The lock machinery: hashed lock-file names, the blocking file lock, leases with fencing."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.clock import FakeClock
from moviemind_lite.core.config import Settings
from moviemind_lite.core.errors import HomeNotUsable, StaleWrite
from moviemind_lite.core.events import Phase, PhaseEvent
from moviemind_lite.core.model import DONE, FAILED, IN_PROGRESS_ELSEWHERE, JobRequest
from moviemind_lite.store.db import Database
from moviemind_lite.store.file_locks import KeyedFileLocks, lock_file_name
from moviemind_lite.store.leases import STALE_WRITE, lock_control_row
from moviemind_lite.store.locking import Leases
from moviemind_lite.store.slots import slot_key
from tests.engines import Engines, servers_only

pytestmark = pytest.mark.usefixtures("engines")

HEX_NAME = re.compile(r"[0-9a-f]{64}\.lock")


@pytest.mark.parametrize(
    "key", ["movie:the-matrix-1999", "../../etc/passwd", "ŻÓŁW/\x00:*?", "x" * 5000, ""]
)
def test_lock_files_are_named_by_a_hash_of_the_key(tmp_path: Path, key: str) -> None:
    locks = KeyedFileLocks(tmp_path / "locks")
    path = locks.path_for(key)
    assert path.parent == tmp_path / "locks"
    assert HEX_NAME.fullmatch(path.name) and path.name == lock_file_name(key)
    with locks.hold(key):
        assert path.exists()
    assert lock_file_name(key + " ") != lock_file_name(key)


def test_a_file_lock_excludes_other_threads_until_released(tmp_path: Path) -> None:
    locks = KeyedFileLocks(tmp_path)
    held, acquired, release = threading.Event(), threading.Event(), threading.Event()

    def holder() -> None:
        with locks.hold("k"):
            held.set()
            release.wait(10)

    def waiter() -> None:
        held.wait(10)
        with locks.hold("k"):
            acquired.set()

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    assert held.wait(10)
    assert not acquired.wait(0.2)
    release.set()
    assert acquired.wait(10)
    for thread in threads:
        thread.join()


def test_different_keys_do_not_block_each_other(tmp_path: Path) -> None:
    locks = KeyedFileLocks(tmp_path)
    took_b = threading.Event()

    def other() -> None:
        with locks.hold("b"):
            took_b.set()

    with locks.hold("a"):
        thread = threading.Thread(target=other)
        thread.start()
        assert took_b.wait(10)  # "b" was taken by another thread while "a" is held
    thread.join()


def test_an_unusable_lock_folder_is_a_domain_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with (
        pytest.raises(HomeNotUsable, match="cannot use lock folder"),
        KeyedFileLocks(blocker / "locks").hold("k"),
    ):
        pass


@pytest.fixture
def clock() -> FakeClock:
    """The time of ``timed_app``: moved by the test."""
    return FakeClock()


@pytest.fixture
def timed_app(settings: Settings, clock: FakeClock) -> Iterator[App]:
    """The application over the sample catalog, on the fake ``clock``."""
    with build_app(settings, clock=clock) as opened:
        yield opened


@pytest.fixture
def database(timed_app: App) -> Database:
    """A migrated database (the sample catalog's)."""
    return timed_app.database


@pytest.fixture
def leases(timed_app: App) -> Leases:
    """The application's leases (the locks engine's)."""
    return timed_app.locks.leases


def let_pass(app: App, clock: FakeClock, seconds: float) -> None:
    """Let ``seconds`` pass for ``app``'s leases.

    The fake clock decides the database's leases; Redis expires its keys by
    its own clock, so on Redis the test waits for the real server too.
    """
    clock.advance(seconds)
    if app.locks.engine == "redis":
        time.sleep(seconds)  # a real Redis server must be waited for: its clock decides


def test_a_live_lease_has_one_holder_and_only_the_owner_releases_it(leases: Leases) -> None:
    first = leases.acquire("k", 60_000)
    assert first is not None and first.fencing_token == 1
    assert leases.acquire("k", 60_000) is None
    impostor = first.__class__(first.name, "someone-else", first.fencing_token, first.expires_at)
    assert not leases.release(impostor)
    assert leases.acquire("k", 60_000) is None
    assert leases.release(first)
    again = leases.acquire("k", 60_000)
    assert again is not None and again.fencing_token == 2
    assert again.owner_token != first.owner_token


def test_an_expired_lease_is_granted_again_and_fences_off_its_old_holder(
    timed_app: App, clock: FakeClock, database: Database, leases: Leases
) -> None:
    stale = leases.acquire("k", 10)
    assert stale is not None
    if timed_app.locks.engine != "redis":
        clock.advance(0.009)  # a millisecond short of its TTL: still held
        assert leases.acquire("k", 60_000) is None
    let_pass(timed_app, clock, 0.01)
    fresh = leases.acquire("k", 60_000)
    assert fresh is not None and fresh.fencing_token == stale.fencing_token + 1
    with database.write() as conn:
        leases.check_fence(conn, fresh)
        with pytest.raises(StaleWrite, match=f"^{STALE_WRITE}: lease k is at fencing token 2"):
            leases.check_fence(conn, stale)
    assert not leases.release(stale)  # it no longer owns the lease: a no-op
    assert leases.acquire("k", 60_000) is None


@pytest.mark.parametrize("fencing", [True, False])
def test_a_lease_that_expires_mid_call_lets_a_second_holder_in(
    settings: Settings, clock: FakeClock, fencing: bool
) -> None:
    settings = settings.with_ai(latency_ms=0, jitter_ms=0).with_jobs(
        strategy="setnx", setnx_lease_ms=50, fencing=fencing
    )
    with build_app(settings, clock=clock) as slow_app:
        _lease_expires_mid_call(slow_app, clock, fencing)


def _lease_expires_mid_call(slow_app: App, clock: FakeClock, fencing: bool) -> None:
    request = JobRequest("movie", "fenced-film-2001", "en-US", "default")
    generating, taken_over = threading.Event(), threading.Event()

    def stay_in_the_call(event: PhaseEvent) -> None:
        # On the job's thread: its AI call waits until someone else took the lease.
        if event.phase == Phase.GENERATING:
            generating.set()
            taken_over.wait(10)

    slow_app.events.subscribe(stay_in_the_call)
    with slow_app.database.write() as tx:
        job = slow_app.strategies.get("setnx").dispatch(tx, request).job
    running = threading.Thread(target=slow_app.runner.drive, args=(job.id,))
    running.start()
    assert generating.wait(10)
    # In the middle of the AI call the 50 ms lease expires, and someone else takes it.
    let_pass(slow_app, clock, 0.05)
    second = slow_app.locks.leases.acquire(f"setnx:{slot_key(request)}", 60_000)
    taken_over.set()
    running.join()
    assert second is not None and second.fencing_token == 2
    ended = slow_app.job_store.get(job.id)
    if fencing:
        assert ended.status == FAILED and (ended.error or "").startswith(STALE_WRITE)
        assert slow_app.catalog.counts()["movies"] == 63  # the sample catalog only
    else:
        assert (ended.status, ended.result) == (DONE, "created")  # the stale write landed


def test_a_setnx_loser_is_told_in_progress_and_calls_no_ai(app: App) -> None:
    request = JobRequest("movie", "busy-film-2001", "en-US", "default")
    assert app.locks.leases.acquire(f"setnx:{slot_key(request)}", 60_000) is not None
    with app.database.write() as tx:
        job = app.strategies.get("setnx").dispatch(tx, request).job
    ended = app.generation.drive(job.id)
    assert (ended.status, ended.result) == (DONE, IN_PROGRESS_ELSEWHERE)
    assert app.calls.total() == 0


def hold_control_row(
    database: Database, name: str, held: threading.Event, go: threading.Event
) -> threading.Thread:
    """A thread holding ``name``'s control row (for-update's lock) until ``go`` is set."""

    def hold() -> None:
        with database.write() as tx:
            lock_control_row(tx, name)
            held.set()
            go.wait(30)

    return threading.Thread(target=hold)


@pytest.mark.parametrize("other_key", [False, True], ids=["same-key", "other-key"])
def test_a_control_row_lock_holds_its_key_and_on_postgresql_only_its_key(
    engines: Engines, database: Database, other_key: bool
) -> None:
    for name in ("for-update:a", "for-update:b"):  # rows that exist already: no insert waits
        with database.write() as tx:
            lock_control_row(tx, name)
    held, go, acquired = threading.Event(), threading.Event(), threading.Event()
    holder = hold_control_row(database, "for-update:a", held, go)
    holder.start()
    assert held.wait(30)

    def wait_for_lock() -> None:
        with database.write() as tx:
            lock_control_row(tx, "for-update:b" if other_key else "for-update:a")
            acquired.set()

    waiter = threading.Thread(target=wait_for_lock)
    waiter.start()
    try:
        if other_key and engines.database == "postgres":
            assert acquired.wait(30)  # a row lock on another key does not wait
        else:
            # The same key waits on both engines; SQLite's one write lock makes any key wait.
            assert not acquired.wait(0.3)
    finally:
        go.set()
        holder.join(30)
        waiter.join(30)
    assert acquired.is_set()


@servers_only
def test_a_redis_lock_whose_holder_died_is_free_once_its_ttl_ran_out(settings: Settings) -> None:
    """A holder that died holding its lock never releases it: the TTL does."""
    with build_app(settings.with_jobs(lease_ms=300)) as short:
        assert short.locks.engine == "redis"
        keys = short.locks.keys
        dead = keys.hold("k")  # entered and never left: as if its process were SIGKILLed
        dead.__enter__()
        acquired = threading.Event()

        def take() -> None:
            with keys.hold("k"):
                acquired.set()

        taker = threading.Thread(target=take)
        taker.start()
        assert acquired.wait(30), "the dead holder's lock never expired"
        taker.join(30)
