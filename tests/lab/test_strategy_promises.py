"""The strategy contract, written once and run on every registered strategy.

Each strategy is raced through the production request path (the lab's
dispatch inside ``BEGIN IMMEDIATE``, then :class:`JobRunner` and
:class:`JobBody`) and must keep the promises its row in ``PROMISES`` makes:
the correct ones leave one movie and one description; ``none`` fails the
losers; ``cache-lock`` appends duplicates; ``unique-index`` pays one AI call
per racer; ``setnx`` tells the losers "in progress"; ``two-level`` makes one job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.model import (
    ALTERNATIVE_APPENDED,
    CREATED,
    IN_PROGRESS_ELSEWHERE,
    REUSED_EXISTING,
)
from moviemind_lite.lab.race import TEACHING_ORDER, RaceResult, run_race
from moviemind_lite.lab.scenario import Arrival, Scenario
from moviemind_lite.pipeline.strategies import STRATEGIES

RACERS = 4


@dataclass(frozen=True)
class Promise:
    """What a strategy promises when RACERS requests for one slug arrive together."""

    correct: bool
    ai_calls: int
    descriptions: int = 1
    failed_jobs: int = 0
    jobs: int | None = RACERS  # None: depends on when dispatch got the write lock
    endings: tuple[tuple[str, int], ...] = ()


PROMISES = {
    "none": Promise(False, RACERS, failed_jobs=RACERS - 1),
    "cache-lock": Promise(
        False,
        RACERS,
        descriptions=RACERS,
        endings=((CREATED, 1), (ALTERNATIVE_APPENDED, RACERS - 1)),
    ),
    "cache-lock-recheck": Promise(True, 1, endings=((CREATED, 1), (REUSED_EXISTING, RACERS - 1))),
    "unique-index": Promise(True, RACERS, endings=((CREATED, 1), (REUSED_EXISTING, RACERS - 1))),
    # for-update's holder keeps the database's write lock, so requests that
    # dispatch after it committed find the text stored and make no job.
    "for-update": Promise(True, 1, jobs=None),
    "setnx": Promise(True, 1, endings=((CREATED, 1), (IN_PROGRESS_ELSEWHERE, RACERS - 1))),
    "two-level": Promise(True, 1, jobs=1, endings=((CREATED, 1),)),
}


def test_every_strategy_is_registered_and_promised() -> None:
    assert set(STRATEGIES) == set(PROMISES) == set(TEACHING_ORDER)


@pytest.fixture(params=TEACHING_ORDER)
def strategy(request: pytest.FixtureRequest) -> str:
    """Each registered strategy in turn."""
    name: str = request.param
    return name


@pytest.fixture
def racing(strategy: str) -> RaceResult:
    """RACERS requests for one unknown slug, released together behind a barrier.

    The AI call is slow next to the time a job takes to start, so every racer
    looks the slug up before the first one writes.
    """
    scenario = Scenario(requests=RACERS, slugs=1, workers=RACERS, latency_ms=250, jitter_ms=0)
    return run_race(scenario, strategy)


def test_racers_on_one_slug_get_what_the_strategy_promises(
    strategy: str, racing: RaceResult
) -> None:
    promise, metrics = PROMISES[strategy], racing.metrics
    assert metrics.correct == promise.correct, metrics.verdict
    assert metrics.ai_calls == promise.ai_calls
    assert (metrics.movies, metrics.descriptions) == (1, promise.descriptions)
    assert metrics.duplicate_descriptions == promise.descriptions - 1
    assert metrics.failed_jobs == promise.failed_jobs
    if promise.jobs is not None:
        assert metrics.jobs_dispatched == promise.jobs
        assert metrics.deduplicated == RACERS - promise.jobs
    endings = Counter(row.ending for row in racing.timeline)
    for ending, count in promise.endings:
        assert endings[ending] == count, endings


def test_one_request_creates_one_movie_and_one_description(strategy: str) -> None:
    result = run_race(Scenario(requests=1, latency_ms=5, jitter_ms=0), strategy)
    metrics = result.metrics
    assert (metrics.jobs_dispatched, metrics.ai_calls, metrics.movies, metrics.descriptions) == (
        1,
        1,
        1,
        1,
    )
    assert metrics.correct
    assert [row.ending for row in result.timeline] == [CREATED]


def test_a_later_request_is_answered_from_the_stored_text(strategy: str) -> None:
    spread = Scenario(requests=2, latency_ms=5, jitter_ms=0, arrival=Arrival.parse("spread:250"))
    metrics = run_race(spread, strategy).metrics
    assert (metrics.jobs_dispatched, metrics.ai_calls, metrics.descriptions) == (1, 1, 1)
    assert metrics.correct


def test_failed_ai_calls_are_counted_and_fail_the_job(strategy: str) -> None:
    # for-update makes its AI call inside its transaction: the failed call's
    # record must survive the job's failure (it commits, then fails).
    metrics = run_race(Scenario(requests=1, latency_ms=1, jitter_ms=0, fail_rate=1.0), strategy)
    assert metrics.metrics.ai_calls == 3  # every attempt, up to the job's max_attempts
    assert metrics.metrics.failed_jobs == 1
    assert metrics.metrics.verdict == "1 slug without a description, 1 failed job"


@pytest.fixture
def app_with(settings: Settings, strategy: str) -> Iterator[App]:
    """The real application, configured to use ``strategy``, with a fast AI."""
    chosen = settings.with_ai(latency_ms=1, jitter_ms=0).with_jobs(strategy=strategy)
    with build_app(chosen) as opened:
        yield opened


def test_the_request_path_generates_then_serves(app_with: App, strategy: str) -> None:
    first = app_with.generation.request(MOVIE, "contract-film-2020")
    assert first.status == "done" and first.job is not None
    assert (first.job.strategy, first.job.result) == (strategy, CREATED)
    again = app_with.generation.request(MOVIE, "contract-film-2020")
    assert again.status == "done" and again.job is None
    assert app_with.calls.total() == 1


def test_regenerate_writes_another_text(app_with: App) -> None:
    outcome = app_with.generation.regenerate(MOVIE, "the-matrix-1999")
    assert outcome.job is not None
    assert outcome.job.result == ALTERNATIVE_APPENDED
    assert app_with.calls.total() == 1
