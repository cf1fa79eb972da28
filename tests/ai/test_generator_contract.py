"""The generator contract, written once and run on every entry of ``GENERATORS``.

A generator writes about the facts it is given in the locale and context asked
for, takes its model name from the settings, raises ``TransientAIError`` when
its upstream fails, and reports every call it made (failed ones included: on
the error) for the job to record; it writes nothing itself. Each generator gets
there its own way, which its :class:`Backend` hides: the mock by its knobs, the
openai generator against the loopback test server (its deterministic model
writes with the mock's composer, from the prompt it receives).

The mock's own promises (determinism for a seed, latency and jitter, its
failure rate) are tested after the contract.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from moviemind_lite.ai.base import GenerationRequest, Generator
from moviemind_lite.ai.generator import GENERATORS, make_generator
from moviemind_lite.ai.mock import MockGenerator
from moviemind_lite.core.config import AI_BACKENDS, AISettings
from moviemind_lite.core.domain import LOCALES
from moviemind_lite.core.errors import InvalidInput, TransientAIError
from tests.helpers import run_together

from .conftest import openai_settings
from .openai_server import FakeOpenAI, Reply

MakeGenerator = Callable[..., Generator]

MATRIX = GenerationRequest(
    kind="movie",
    slug="the-matrix-1999",
    locale="en-US",
    context_tag="default",
    facts={
        "title": "The Matrix",
        "year": 1999,
        "director": "Lana Wachowski",
        "genres": ["Action", "Science Fiction"],
    },
)
KEANU = GenerationRequest(
    kind="person",
    slug="keanu-reeves",
    locale="en-US",
    context_tag="default",
    facts={"name": "Keanu Reeves", "birth_date": "1964-09-02", "birthplace": "Beirut"},
)

# Words any paragraph in the language is all but sure to contain.
COMMON_WORDS = {
    "en-US": {"the", "and", "is", "of", "a", "it", "in"},
    "pl-PL": {"i", "w", "to", "na", "z", "się", "jest", "nie"},
    "de-DE": {"der", "die", "und", "ist", "das", "ein", "eine", "in"},
    "fr-FR": {"le", "la", "et", "est", "un", "une", "de", "les"},
    "es-ES": {"el", "la", "y", "es", "un", "una", "de", "los"},
}


def with_changes(request: GenerationRequest, **changes: Any) -> GenerationRequest:
    fields = {name: getattr(request, name) for name in request.__dataclass_fields__}
    return GenerationRequest(**{**fields, **changes})


class Backend:
    """How to build one kind of generator for the contract: healthy, or always failing."""

    def __init__(self, name: str, server: FakeOpenAI | None = None) -> None:
        self.name = name
        self.server = server

    def settings(self, **knobs: Any) -> AISettings:
        """Settings for a healthy generator that answers at once (``knobs`` on top)."""
        if self.server is None:
            return AISettings(**{"latency_ms": 0.0, "jitter_ms": 0.0, **knobs})
        return openai_settings(self.server, **knobs)

    def failing(self) -> AISettings:
        """Settings under which every call fails in a way worth retrying."""
        if self.server is None:
            return self.settings(fail_rate=1.0)
        self.server.always(Reply.error(503, "the model is overloaded"))
        return self.settings()

    def child_settings(self) -> dict[str, Any]:
        """What a child process needs to build the same generator (plain data)."""
        return {} if self.server is None else {"base_url": self.server.url}


# The generators this suite builds. The local one runs a real model, whose texts a 135M
# model cannot be held to here: its contract runs once per session in test_real_model.py.
CONTRACT_BACKENDS = ("mock", "openai")
REAL_MODEL_BACKENDS = ("local",)


def test_every_registered_generator_has_a_contract_run() -> None:
    assert sorted(GENERATORS) == sorted(CONTRACT_BACKENDS + REAL_MODEL_BACKENDS)


@pytest.fixture(params=CONTRACT_BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each registered generator in turn (openai against a loopback test server)."""
    name = str(request.param)
    if name == "openai":
        return Backend(name, request.getfixturevalue("openai_server"))
    assert name == "mock", f"the contract does not know how to build {name!r} yet"
    return Backend(name)


@pytest.fixture
def generator_name(backend: Backend) -> str:
    """The name of the generator under test."""
    return backend.name


@pytest.fixture
def make(backend: Backend) -> MakeGenerator:
    """Builds the generator under test from AI knobs (instant and reliable by default)."""

    def build(**knobs: Any) -> Generator:
        return make_generator(backend.name, backend.settings(**knobs))

    return build


def test_every_backend_the_settings_accept_is_registered() -> None:
    assert sorted(AI_BACKENDS) == sorted(GENERATORS)


def test_the_model_name_comes_from_the_settings(make: MakeGenerator) -> None:
    assert make(model="mock-7").model == "mock-7"


def test_text_depends_on_locale_context_and_facts(make: MakeGenerator) -> None:
    generator = make()
    base = generator.generate(MATRIX).text
    assert generator.generate(with_changes(MATRIX, locale="de-DE")).text != base
    assert generator.generate(with_changes(MATRIX, context_tag="humorous")).text != base
    renamed = generator.generate(
        with_changes(MATRIX, facts={**MATRIX.facts, "title": "The Animatrix"})
    ).text
    assert renamed != base and "The Animatrix" in renamed
    assert (
        generator.generate(KEANU).text
        != generator.generate(
            with_changes(KEANU, facts={**KEANU.facts, "name": "Carrie-Anne Moss"})
        ).text
    )


def test_facts_missing_from_the_request_are_guessed_from_the_slug(make: MakeGenerator) -> None:
    text = make().generate(with_changes(MATRIX, slug="the-quiet-harbour-1987", facts={})).text
    assert "The Quiet Harbour" in text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("request_", [MATRIX, KEANU], ids=["movie", "person"])
def test_readable_text_in_every_locale(
    make: MakeGenerator, locale: str, request_: GenerationRequest
) -> None:
    text = make().generate(with_changes(request_, locale=locale)).text
    label = str(request_.facts.get("title") or request_.facts.get("name"))
    assert label.split()[-1] in text
    assert len(text) >= 80
    assert not any(mark in text for mark in "{}<>_\\")
    assert text == text.strip() and text[-1] in '.!?…»"”'
    words = {word.strip('.,;:!?«»"“”()').lower() for word in text.split()}
    assert len(words & COMMON_WORDS[locale]) >= 2, f"{locale} text reads oddly: {text!r}"
    others = [other for other in LOCALES if other != locale]
    assert all(make().generate(with_changes(request_, locale=o)).text != text for o in others)


def test_a_failing_upstream_raises_and_reports_every_failed_call(backend: Backend) -> None:
    generator = make_generator(backend.name, backend.failing())
    for _ in range(20):
        with pytest.raises(TransientAIError, match=MATRIX.key) as failed:
            generator.generate(MATRIX)
        call = failed.value.call
        assert call is not None and (call.key, call.ok) == (MATRIX.key, False)
        assert call.duration_ms >= 0


def test_a_healthy_upstream_never_raises_and_reports_each_call(make: MakeGenerator) -> None:
    generator = make()
    calls = [generator.generate(MATRIX).call for _ in range(50)]
    assert {(call.key, call.ok) for call in calls} == {(MATRIX.key, True)}


def test_calls_are_reported_per_key_from_many_threads(make: MakeGenerator) -> None:
    generator = make()
    requests = [with_changes(MATRIX, locale=locale) for locale in LOCALES[:4]]
    reported: list[str] = []
    lock = threading.Lock()

    def call(index: int) -> None:
        for step in range(20):
            answer = generator.generate(requests[(index + step) % len(requests)])
            with lock:
                reported.append(answer.call.key)

    run_together(call, 8)
    assert Counter(reported) == {request.key: 40 for request in requests}


def test_unknown_generator_names_list_the_known_ones() -> None:
    with pytest.raises(
        InvalidInput, match="unknown generator 'gpt-9'; expected one of: local, mock, openai"
    ):
        make_generator("gpt-9", AISettings())


# -- the mock's own promises ----------------------------------------------------------------


def mock(**knobs: Any) -> MockGenerator:
    return MockGenerator(AISettings(**{"latency_ms": 0.0, "jitter_ms": 0.0, **knobs}))


def test_mock_text_is_deterministic_for_a_seed() -> None:
    requests = [with_changes(MATRIX, locale=locale) for locale in LOCALES] + [KEANU]
    first, second = mock(seed=11), mock(seed=11)
    assert [first.generate(r).text for r in requests] == [second.generate(r).text for r in requests]
    other_seed = mock(seed=12)
    assert [first.generate(r).text for r in requests] != [
        other_seed.generate(r).text for r in requests
    ]


def test_a_mock_call_waits_at_least_the_configured_latency() -> None:
    answer = MockGenerator(AISettings(latency_ms=30.0, jitter_ms=0)).generate(MATRIX)
    assert answer.call.duration_ms >= 30.0


def test_mock_fail_rate_one_always_raises_naming_the_rate() -> None:
    generator = MockGenerator(AISettings(latency_ms=0, jitter_ms=0, fail_rate=1.0))
    with pytest.raises(TransientAIError, match=r"\(fail rate 1\)"):
        generator.generate(MATRIX)


def test_the_mock_reports_no_tokens() -> None:
    call = MockGenerator(AISettings(latency_ms=0, jitter_ms=0)).generate(MATRIX).call
    assert (call.prompt_tokens, call.completion_tokens) == (None, None)


# -- the mock's latency, measured through its injectable sleep (no real waiting) ----------


class RecordingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self.lock:
            self.calls.append(seconds)


def test_mock_waits_latency_plus_jitter_before_answering() -> None:
    sleep = RecordingSleep()
    generator = MockGenerator(AISettings(latency_ms=300, jitter_ms=100), sleep=sleep)
    for _ in range(50):
        generator.generate(MATRIX)
    assert len(sleep.calls) == 50
    assert all(0.3 <= seconds <= 0.4 for seconds in sleep.calls)
    assert len(set(sleep.calls)) > 1  # the jitter varies


def test_mock_without_jitter_waits_exactly_the_latency() -> None:
    sleep = RecordingSleep()
    MockGenerator(AISettings(latency_ms=250, jitter_ms=0), sleep=sleep).generate(MATRIX)
    assert sleep.calls == [0.25]


def test_mock_with_no_latency_does_not_sleep() -> None:
    sleep = RecordingSleep()
    MockGenerator(AISettings(latency_ms=0, jitter_ms=0), sleep=sleep).generate(MATRIX)
    assert sleep.calls == []


def test_mock_fails_only_after_waiting_like_a_slow_upstream() -> None:
    sleep = RecordingSleep()
    generator = MockGenerator(AISettings(latency_ms=500, jitter_ms=0, fail_rate=1.0), sleep)
    with pytest.raises(TransientAIError, match="fail rate 1") as failed:
        generator.generate(MATRIX)
    assert sleep.calls == [0.5]
    assert failed.value.call is not None and failed.value.call.key == MATRIX.key
