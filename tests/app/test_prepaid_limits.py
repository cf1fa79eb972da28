"""A process's block of allowances: most requests touch no engine, and the limit's overshoot
is bounded by what each process holds (``block - 1``), on every engine."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from moviemind_lite.app.limits import PrepaidBuckets, block_size
from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.store.rate_limits import Allowance, RateLimits
from tests.engines import BOTH_ENDS

pytestmark = [
    pytest.mark.usefixtures("engines"),
    pytest.mark.parametrize("engines", BOTH_ENDS, indirect=True, ids=lambda engines: engines.id),
]
MINUTE = 60_000.0
T0 = 1_800_000_000_000.0  # a fixed "now" in ms
LIMIT = 160  # a block of 10 (a sixteenth), one allowance every 375 ms
BLOCK = 10


@dataclass
class Counted:
    """The shared buckets, counting the calls that reach the engine."""

    buckets: RateLimits
    calls: list[int] = field(default_factory=list)

    def take(
        self, bucket: str, limit: int, period_ms: float, now_ms: float, cost: int = 1
    ) -> Allowance:
        self.calls.append(cost)
        return self.buckets.take(bucket, limit, period_ms, now_ms, cost)

    def give_back(self, bucket: str, limit: int, period_ms: float, now_ms: float) -> None:
        self.buckets.give_back(bucket, limit, period_ms, now_ms)

    def used(self, bucket: str, limit: int, period_ms: float, now_ms: float) -> int:
        return self.buckets.used(bucket, limit, period_ms, now_ms)

    def close(self) -> None:
        self.buckets.close()


@pytest.fixture
def store(app: App) -> Counted:
    return Counted(app.limits.buckets)


def allowed(answers: list[Allowance]) -> int:
    return sum(answer.allowed for answer in answers)


def test_the_block_is_a_sixteenth_of_the_limit_within_the_setting() -> None:
    assert block_size(LIMIT, 16) == BLOCK
    assert [block_size(limit, 16) for limit in (10, 120, 1_000_000)] == [1, 7, 16]
    assert block_size(1_000_000, 1) == 1


def test_with_time_standing_still_two_processes_let_exactly_the_limit_through(
    store: Counted, settings: Settings
) -> None:
    """Every allowance is counted in the store when taken: no overshoot while time stands."""
    with build_app(settings) as other:
        processes = [PrepaidBuckets(store, 16), PrepaidBuckets(Counted(other.limits.buckets), 16)]
        first = [processes[n % 2].take("c", LIMIT, MINUTE, T0) for n in range(LIMIT)]
        assert allowed(first) == LIMIT
        # The first process took 10 (store: 150 left) and spent one: 159, as the exact limiter.
        assert first[0].remaining == LIMIT - 1
        # 16 blocks of 10 for 160 requests: the engine saw one request in ten.
        assert store.calls == [BLOCK] * 8
        late = [processes[n % 2].take("c", LIMIT, MINUTE, T0) for n in range(40)]
    assert allowed(late) == 0
    # The client is told when one request would pass, as the exact limiter tells it: 375 ms.
    assert late[0].retry_after_ms == pytest.approx(MINUTE / LIMIT)
    assert store.used("c", LIMIT, MINUTE, T0) == LIMIT


def test_past_the_limit_each_process_lets_through_at_most_block_minus_one_more(
    store: Counted, settings: Settings
) -> None:
    """The worst case: both processes hold a block, the shared bucket refills, a herd comes."""
    with build_app(settings) as other:
        processes = [PrepaidBuckets(store, 16), PrepaidBuckets(other.limits.buckets, 16)]
        for process in processes:
            assert process.take("c", LIMIT, MINUTE, T0).allowed  # each now holds 9
        later = T0 + MINUTE - 1  # the store has forgotten both blocks; the processes have not
        herd = [processes[n % 2].take("c", LIMIT, MINUTE, later) for n in range(400)]
    assert allowed(herd) == LIMIT + 2 * (BLOCK - 1)


def test_held_allowances_lapse_a_period_after_they_were_taken(store: Counted) -> None:
    process = PrepaidBuckets(store, 16)
    assert process.take("c", LIMIT, MINUTE, T0).allowed
    assert process.take("c", LIMIT, MINUTE, T0 + MINUTE - 1).allowed
    assert store.calls == [BLOCK]
    assert process.take("c", LIMIT, MINUTE, T0 + MINUTE).allowed
    assert store.calls == [BLOCK, BLOCK]


def test_a_limit_shrunk_by_the_queue_is_not_paid_from_the_old_block(store: Counted) -> None:
    process = PrepaidBuckets(store, 16)
    assert process.take("c", LIMIT, MINUTE, T0).allowed
    shrunk = process.take("c", LIMIT // 2, MINUTE, T0)
    assert store.calls == [BLOCK, BLOCK // 2]
    assert shrunk.limit == LIMIT // 2


def test_near_the_limit_a_process_takes_what_is_left(store: Counted) -> None:
    for _ in range(LIMIT - 3):
        assert store.buckets.take("c", LIMIT, MINUTE, T0).allowed
    process = PrepaidBuckets(store, 16)
    answers = [process.take("c", LIMIT, MINUTE, T0) for _ in range(4)]
    assert [(answer.allowed, answer.remaining) for answer in answers] == [
        (True, 2),
        (True, 1),
        (True, 0),
        (False, 0),
    ]
    # A block of 10 refused with 3 left, then the 3 taken; the fourth request: one refusal.
    assert store.calls == [BLOCK, 3, BLOCK]


def test_a_block_of_one_asks_the_store_every_time(store: Counted) -> None:
    process = PrepaidBuckets(store, 1)
    for _ in range(3):
        assert process.take("c", LIMIT, MINUTE, T0).allowed
    assert store.calls == [1, 1, 1]


class Turnstile:
    """A lock that tells how many threads have asked for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.asked = 0
        self.changed = threading.Condition()

    def __enter__(self) -> None:
        with self.changed:
            self.asked += 1
            self.changed.notify_all()
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


@dataclass
class HeldOpen(Counted):
    """The store, holding its first take until the test lets it go."""

    entered: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)

    def take(
        self, bucket: str, limit: int, period_ms: float, now_ms: float, cost: int = 1
    ) -> Allowance:
        if not self.entered.is_set():
            self.entered.set()
            assert self.go.wait(timeout=30)
        return super().take(bucket, limit, period_ms, now_ms, cost)


def test_threads_waiting_for_a_refill_spend_the_new_block(app: App) -> None:
    """While one thread takes a bucket's block, seven more ask for the bucket: they wait
    and spend that block (one engine call for eight requests), rather than each taking one
    more block and dropping the one before (which refuses the client early)."""
    store = HeldOpen(app.limits.buckets)
    process = PrepaidBuckets(store, 16)
    turnstile = Turnstile()
    process._refills = [turnstile] * len(process._refills)
    answers: list[Allowance] = []

    def request() -> None:
        answers.append(process.take("c", LIMIT, MINUTE, T0))

    first = threading.Thread(target=request)
    first.start()
    assert store.entered.wait(timeout=30)  # the first refill is in the store
    others = [threading.Thread(target=request) for _ in range(7)]
    for thread in others:
        thread.start()
    with turnstile.changed:  # every thread has come to the refill's door
        assert turnstile.changed.wait_for(lambda: turnstile.asked == 8, timeout=30)
    store.go.set()
    for thread in [first, *others]:
        thread.join()
    assert allowed(answers) == 8
    assert store.calls == [BLOCK]
    assert process.take("c", LIMIT, MINUTE, T0).allowed and store.calls == [BLOCK]


def test_a_process_holds_a_bounded_number_of_buckets(
    store: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many clients, each asking once: lapsed buckets go first, then the oldest."""
    monkeypatch.setattr("moviemind_lite.app.limits.HELD_BUCKETS_MAX", 4)
    process = PrepaidBuckets(store, 16)
    for n in range(3):
        assert process.take(f"old-{n}", LIMIT, MINUTE, T0).allowed
    for n in range(6):
        assert process.take(f"new-{n}", LIMIT, MINUTE, T0 + MINUTE).allowed
        assert len(process._held) <= 4
    # The lapsed ones went first; the newest is still held and spent without the store.
    assert not any(name.startswith("old-") for name in process._held)
    calls = len(store.calls)
    assert process.take("new-5", LIMIT, MINUTE, T0 + MINUTE).allowed
    assert len(store.calls) == calls
