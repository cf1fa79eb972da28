"""What the circuit breaker counts: a failing server, not an answer that came back unusable."""

from __future__ import annotations

import pytest

from moviemind_lite.ai.breaker import CircuitBreaker, GuardedGenerator
from moviemind_lite.ai.generator import GenerationRequest
from moviemind_lite.app.wiring import App
from moviemind_lite.core.errors import (
    AIRateLimited,
    AIUnavailable,
    CircuitOpen,
    InvalidAIAnswer,
    TransientAIError,
)

REQUEST = GenerationRequest("movie", "alien-1979", "en-US", "default", {"title": "Alien"})


class Scripted:
    """A generator that plays its outcomes in turn: texts are returned, errors raised."""

    model = "scripted"

    def __init__(self, *outcomes: str | Exception) -> None:
        self.outcomes = list(outcomes)

    def generate(self, request: GenerationRequest) -> str:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def guarded(app: App, *outcomes: str | Exception) -> tuple[CircuitBreaker, GuardedGenerator]:
    breaker = CircuitBreaker(app.database, threshold=2, cooldown_ms=60_000)
    return breaker, GuardedGenerator(Scripted(*outcomes), breaker)


@pytest.mark.parametrize(
    "failure",
    [AIUnavailable("503"), AIRateLimited("429", retry_after_ms=1000), TransientAIError("flaky")],
)
def test_server_failures_open_the_breaker(app: App, failure: TransientAIError) -> None:
    breaker, generator = guarded(app, failure, failure, "never reached")
    for _ in range(2):
        with pytest.raises(type(failure)):
            generator.generate(REQUEST)
    assert breaker.state().state == "open"
    with pytest.raises(CircuitOpen):
        generator.generate(REQUEST)


def test_invalid_answers_never_open_the_breaker(app: App) -> None:
    breaker, generator = guarded(app, *(InvalidAIAnswer("wrong language") for _ in range(5)))
    for _ in range(5):
        with pytest.raises(InvalidAIAnswer):
            generator.generate(REQUEST)
    assert (breaker.state().state, breaker.state().consecutive_failures) == ("closed", 0)


def test_an_invalid_answer_shows_the_server_works_again(app: App) -> None:
    breaker, generator = guarded(app, AIUnavailable("503"), InvalidAIAnswer("not JSON"), "text")
    with pytest.raises(AIUnavailable):
        generator.generate(REQUEST)
    assert breaker.state().consecutive_failures == 1
    with pytest.raises(InvalidAIAnswer):
        generator.generate(REQUEST)
    assert breaker.state().consecutive_failures == 0
    assert generator.generate(REQUEST) == "text"
