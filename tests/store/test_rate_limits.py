"""Rate-limit buckets (GCRA) on every engine: the database's table and Redis's Lua script."""

from __future__ import annotations

import threading

import pytest

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.store.rate_limits import RateLimits, gcra, used
from tests.engines import EVERY_PAIR
from tests.helpers import run_together

pytestmark = pytest.mark.usefixtures("engines")
# The buckets follow the locks URL: the database's table on SQLite and PostgreSQL, or Redis.
every_pair = pytest.mark.parametrize(
    "engines", EVERY_PAIR, indirect=True, ids=lambda engines: engines.id
)
MINUTE = 60_000.0
T0 = 1_800_000_000_000.0  # a fixed "now" in ms: the buckets count the time they are given


@pytest.fixture
def buckets(app: App) -> RateLimits:
    return app.limits.buckets


@every_pair
def test_a_bucket_lets_its_limit_through_then_says_when_to_come_back(buckets: RateLimits) -> None:
    taken = [buckets.take("b", 3, MINUTE, T0) for _ in range(4)]
    assert [(a.allowed, a.remaining) for a in taken] == [
        (True, 2),
        (True, 1),
        (True, 0),
        (False, 0),
    ]
    # One request is let through every period / limit: 20 s here.
    assert taken[3].retry_after_ms == pytest.approx(20_000)
    assert taken[3].retry_after_s == 20
    assert not buckets.take("b", 3, MINUTE, T0 + 19_999).allowed
    assert buckets.take("b", 3, MINUTE, T0 + 20_000).allowed
    # Other buckets are untouched; a whole period of silence fills this one again.
    assert buckets.take("other", 3, MINUTE, T0).remaining == 2
    assert buckets.take("b", 3, MINUTE, T0 + 20_000 + MINUTE).remaining == 2


@every_pair
def test_an_hour_s_bucket_counts_exactly_at_a_moment_with_a_fraction(buckets: RateLimits) -> None:
    # An hour's budget of 10,000 at a "now" with a fraction of a millisecond: each TAT written
    # must keep that fraction (Lua's tostring kept 14 digits, a tenth of a millisecond here),
    # or five give-backs after eight takes read as four used instead of three.
    now, hour = T0 + 0.3818, 3_600_000.0
    for _ in range(8):
        assert buckets.take("budget", 10_000, hour, now).allowed
    for _ in range(5):
        buckets.give_back("budget", 10_000, hour, now)
    assert buckets.used("budget", 10_000, hour, now) == 3


@every_pair
def test_give_back_undoes_a_take_and_used_counts(buckets: RateLimits) -> None:
    for _ in range(3):
        assert buckets.take("b", 3, MINUTE, T0).allowed
    assert buckets.used("b", 3, MINUTE, T0) == 3
    buckets.give_back("b", 3, MINUTE, T0)
    assert buckets.used("b", 3, MINUTE, T0) == 2
    assert buckets.take("b", 3, MINUTE, T0).allowed
    assert not buckets.take("b", 3, MINUTE, T0).allowed
    assert buckets.used("never", 3, MINUTE, T0) == 0
    # Giving back to an empty bucket leaves it empty: no credit beyond a full bucket.
    buckets.give_back("never", 3, MINUTE, T0)
    assert buckets.used("never", 3, MINUTE, T0) == 0
    assert buckets.take("never", 3, MINUTE, T0).remaining == 2


@every_pair
def test_racing_takes_let_exactly_the_limit_through(buckets: RateLimits, app: App) -> None:
    """Eight threads released at once, 40 takes for a limit of 25: exactly 25 pass."""
    results: list[bool] = []
    lock = threading.Lock()

    def racer(index: int) -> None:
        for _ in range(5):
            allowance = buckets.take("race", 25, MINUTE, T0)
            with lock:
                results.append(allowance.allowed)

    run_together(racer, 8)
    assert results.count(True) == 25 and len(results) == 40


def test_two_applications_share_one_bucket(settings: Settings, buckets: RateLimits) -> None:
    """Two server processes are two applications over the same store: one limit for both."""
    with build_app(settings) as other:
        answers = [
            (buckets if turn % 2 else other.limits.buckets).take("shared", 4, MINUTE, T0)
            for turn in range(6)
        ]
    assert [answer.allowed for answer in answers] == [True] * 4 + [False] * 2


def test_gcra_and_used_agree() -> None:
    tat = None
    for expected_used in range(1, 6):
        tat, allowance = gcra(tat, T0, 5, MINUTE)
        assert allowance.allowed
        assert used(tat, T0, 5, MINUTE) == expected_used
    assert used(tat, T0 + MINUTE, 5, MINUTE) == 0


@every_pair
def test_a_take_of_several_is_all_or_nothing_and_says_how_many_would_pass(
    buckets: RateLimits,
) -> None:
    """What a process's block take rests on: ``cost`` allowances at once, or none."""
    assert (buckets.take("b", 10, MINUTE, T0, 4).allowed, buckets.used("b", 10, MINUTE, T0)) == (
        True,
        4,
    )
    # 7 do not fit: none is taken, and the refusal says 6 would, and when all 7 would (6 s).
    refused = buckets.take("b", 10, MINUTE, T0, 7)
    assert (refused.allowed, refused.remaining) == (False, 6)
    assert refused.retry_after_ms == pytest.approx(6_000)
    assert buckets.used("b", 10, MINUTE, T0) == 4
    taken = buckets.take("b", 10, MINUTE, T0, 6)
    assert (taken.allowed, taken.remaining) == (True, 0)
    last = buckets.take("b", 10, MINUTE, T0)
    assert (last.allowed, last.remaining, last.retry_after_ms) == (False, 0, pytest.approx(6_000))
    with pytest.raises(ValueError, match="costs 1 to 10"):
        buckets.take("b", 10, MINUTE, T0, 11)
