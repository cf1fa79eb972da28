"""The AI circuit breaker: shared through SQLite by every thread and process, and what it counts
(a failing server, not an answer that came back unusable)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from moviemind_lite.ai.base import Answer, GenerationRequest
from moviemind_lite.ai.breaker import CircuitBreaker, GuardedGenerator
from moviemind_lite.ai.mock import MockGenerator
from moviemind_lite.app.wiring import App
from moviemind_lite.core.calls import AICall
from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock, FakeClock
from moviemind_lite.core.config import Settings
from moviemind_lite.core.errors import (
    AIRateLimited,
    AIUnavailable,
    CircuitOpen,
    InvalidAIAnswer,
    TransientAIError,
)
from moviemind_lite.core.model import JobRequest

pytestmark = pytest.mark.usefixtures("engines")

REQUEST = GenerationRequest("movie", "alien-1979", "en-US", "default", {})


def guarded(
    settings: Settings,
    app: App,
    threshold: int = 3,
    cooldown_ms: float = 60_000,
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[CircuitBreaker, GuardedGenerator]:
    breaker = CircuitBreaker(
        app.database, threshold=threshold, cooldown_ms=cooldown_ms, clock=clock
    )
    return breaker, GuardedGenerator(MockGenerator(settings.ai), breaker)


def test_breaker_opens_after_threshold_and_fails_fast(app: App, settings: Settings) -> None:
    breaker, generator = guarded(settings.with_ai(fail_rate=1.0), app)
    for _ in range(3):
        with pytest.raises(TransientAIError) as failed:
            generator.generate(REQUEST)
        assert failed.value.call is not None  # the call reached the AI
    assert breaker.state().state == "open"
    for _ in range(10):
        with pytest.raises(CircuitOpen) as refused:
            generator.generate(REQUEST)
        assert refused.value.call is None  # failed fast: no call was made


def test_breaker_probes_once_after_cooldown_then_closes(app: App, settings: Settings) -> None:
    clock = FakeClock()
    breaker, failing = guarded(
        settings.with_ai(fail_rate=1.0), app, cooldown_ms=60_000, clock=clock
    )
    for _ in range(3):
        with pytest.raises(TransientAIError):
            failing.generate(REQUEST)
    clock.advance(59.999)  # a millisecond short of the cool-down: still open
    with pytest.raises(CircuitOpen):
        failing.generate(REQUEST)
    clock.advance(0.001)  # the cool-down is over: the next call is a probe, it fails: open again
    with pytest.raises(TransientAIError):
        failing.generate(REQUEST)
    assert breaker.state().state == "open" and breaker.state().opened_count == 2
    with pytest.raises(CircuitOpen):
        failing.generate(REQUEST)
    clock.advance(60)
    healthy = GuardedGenerator(MockGenerator(settings.ai), breaker)
    assert "Alien" in healthy.generate(REQUEST).text
    assert breaker.state().state == "closed"
    assert breaker.state().consecutive_failures == 0


def test_half_open_lets_one_probe_through(app: App, settings: Settings) -> None:
    clock = FakeClock()
    breaker, failing = guarded(
        settings.with_ai(fail_rate=1.0), app, cooldown_ms=60_000, clock=clock
    )
    for _ in range(3):
        with pytest.raises(TransientAIError):
            failing.generate(REQUEST)
    clock.advance(60)
    breaker.before_call()  # this caller probes, for a minute at most
    clock.advance(59.999)
    with pytest.raises(CircuitOpen, match="half-open"):
        breaker.before_call()
    clock.advance(0.001)  # the probe's caller vanished: the next one probes
    breaker.before_call()


@pytest.mark.timeout(90)
def test_breaker_is_shared_by_two_worker_processes(app: App, home: Path) -> None:
    with app.database.write() as conn:
        for number in range(60):
            app.job_store.insert(
                conn, JobRequest("movie", f"queued-{number}", "en-US", "default"), "two-level"
            )
    env = {
        **os.environ,
        "MOVIEMIND_HOME": str(home),
        "MOVIEMIND_AI_FAIL_RATE": "1",
        "MOVIEMIND_AI_LATENCY_MS": "5",
        "MOVIEMIND_BREAKER_THRESHOLD": "4",
        "MOVIEMIND_BREAKER_COOLDOWN_MS": "60000",
        "MOVIEMIND_JOB_BACKOFF_MS": "1",
    }
    command = [sys.executable, "-m", "moviemind_lite", "worker", "--once", "--threads", "2"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    for worker in workers:
        worker.communicate(timeout=60)
        assert worker.returncode == 0
    assert app.breaker.state().state == "open"
    assert app.calls.total() <= 4 + 2 * 2  # threshold + what both processes had in flight
    pending = app.job_store.counts()["PENDING"]
    assert pending >= 60 - app.calls.total()  # deferred, not burned


class Scripted:
    """A generator that plays its outcomes in turn: texts are returned, errors raised."""

    model = "scripted"

    def __init__(self, *outcomes: str | Exception) -> None:
        self.outcomes = list(outcomes)

    def generate(self, request: GenerationRequest) -> Answer:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return Answer(outcome, AICall(request.key, True, 0.0))


def scripted(app: App, *outcomes: str | Exception) -> tuple[CircuitBreaker, GuardedGenerator]:
    breaker = CircuitBreaker(app.database, threshold=2, cooldown_ms=60_000)
    return breaker, GuardedGenerator(Scripted(*outcomes), breaker)


@pytest.mark.parametrize(
    "failure",
    [AIUnavailable("503"), AIRateLimited("429", retry_after_ms=1000), TransientAIError("flaky")],
)
def test_server_failures_open_the_breaker(app: App, failure: TransientAIError) -> None:
    breaker, generator = scripted(app, failure, failure, "never reached")
    for _ in range(2):
        with pytest.raises(type(failure)):
            generator.generate(REQUEST)
    assert breaker.state().state == "open"
    with pytest.raises(CircuitOpen):
        generator.generate(REQUEST)


def test_invalid_answers_never_open_the_breaker(app: App) -> None:
    breaker, generator = scripted(app, *(InvalidAIAnswer("wrong language") for _ in range(5)))
    for _ in range(5):
        with pytest.raises(InvalidAIAnswer):
            generator.generate(REQUEST)
    assert (breaker.state().state, breaker.state().consecutive_failures) == ("closed", 0)


def test_an_invalid_answer_shows_the_server_works_again(app: App) -> None:
    breaker, generator = scripted(app, AIUnavailable("503"), InvalidAIAnswer("not JSON"), "text")
    with pytest.raises(AIUnavailable):
        generator.generate(REQUEST)
    assert breaker.state().consecutive_failures == 1
    with pytest.raises(InvalidAIAnswer):
        generator.generate(REQUEST)
    assert breaker.state().consecutive_failures == 0
    assert generator.generate(REQUEST).text == "text"
