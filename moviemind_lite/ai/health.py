"""Is the configured AI usable? What ``moviemind ai check`` asks, like the original's health check.

For the openai generator: one ``GET {base_url}/models`` with the configured key
and timeout, then whether the configured model is among those listed. For the local
generator: the model file checked and loaded (how long that took). Then, for either,
one answer to a fixed short prompt: its tokens per second, and whether it passed the
checks a stored text must pass, so a user can judge a model before pointing the service
at it. Every problem comes back as one line naming the setting to fix (the generator's
own errors already do); nothing here raises for a server that is down. A local model
file that cannot be used is unusable settings (``InvalidSetting``), raised.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from moviemind_lite.ai.base import GenerationRequest
from moviemind_lite.ai.generator import make_generator
from moviemind_lite.ai.openai import OpenAIGenerator
from moviemind_lite.core.config import AISettings
from moviemind_lite.core.errors import AIError, AINoAnswer, InvalidAIAnswer

# The fixed short prompt every check asks (a short answer: a check costs little).
SAMPLE = GenerationRequest(
    "movie",
    "the-matrix-1999",
    "en-US",
    "default",
    {"title": "The Matrix", "year": 1999, "director": "Lana Wachowski", "genres": ["Action"]},
)
SAMPLE_MAX_CHARS = 300


@dataclass(frozen=True)
class AICheck:
    """What a check found. ``problem`` is ``None`` exactly when the AI is ``usable``."""

    usable: bool
    backend: str
    model: str
    base_url: str | None = None
    api_key_set: bool = False
    model_listed: bool | None = None
    models: list[str] = field(default_factory=list)
    duration_ms: float | None = None
    # Whether the server answered at all (not when it could not be reached or timed out).
    answered: bool | None = None
    problem: str | None = None
    # The local model's load, and the fixed prompt's answer (None: not asked).
    load_ms: float | None = None
    sample_ms: float | None = None
    completion_tokens: int | None = None
    tokens_per_s: float | None = None
    answer_passed: bool | None = None
    answer_problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``ai check --json`` (the key itself is never part of it)."""
        return asdict(self)


def model_is_listed(model: str, listed: list[str]) -> bool:
    """Whether the server lists ``model`` (Ollama lists ``llama3.2`` as ``llama3.2:latest``)."""
    return model in listed or f"{model}:latest" in listed


def check_ai(settings: AISettings) -> AICheck:
    """Check the AI the settings choose: the offline mock always works; a server is asked,
    a local model loaded; then one answer to :data:`SAMPLE` is timed and checked."""
    if settings.backend == "mock":
        return AICheck(usable=True, backend="mock", model=settings.model)
    sample_settings = replace(
        settings, answer_max_chars=min(settings.answer_max_chars, SAMPLE_MAX_CHARS)
    )
    generator = make_generator(settings.backend, sample_settings)
    assert isinstance(generator, OpenAIGenerator)
    started = time.perf_counter()
    try:
        listed = generator.list_models()
        load_ms = _load(generator)
    except AIError as error:
        problem: str | None = str(error)
        answered = not isinstance(error, AINoAnswer)
        listed, load_ms = [], None
    else:
        problem = None
        answered = True
    finally:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
    found = None if problem is not None else model_is_listed(settings.model, listed)
    if found is False:
        shown = ", ".join(listed[:10]) + (", ..." if len(listed) > 10 else "")
        problem = (
            f"the server does not list the model {settings.model!r} "
            f"({len(listed)} listed: {shown or 'none'}): set MOVIEMIND_AI_MODEL to one it lists "
            f"(with Ollama: ollama pull {settings.model})"
        )
    check = AICheck(
        usable=problem is None,
        backend=settings.backend,
        model=settings.model,
        base_url=generator.base_url,
        api_key_set=settings.api_key is not None,
        model_listed=found,
        models=listed,
        duration_ms=duration_ms,
        answered=answered,
        problem=problem,
        load_ms=load_ms,
    )
    try:
        return check if problem is not None else _sample(check, generator)
    finally:
        generator.close()


def _load(generator: OpenAIGenerator) -> float | None:
    """How long the local model took to load (loading it now); ``None`` for a server."""
    loaded = getattr(generator, "loaded", None)
    return None if loaded is None else round(loaded().load_ms, 1)


def _sample(check: AICheck, generator: OpenAIGenerator) -> AICheck:
    """``check`` with the fixed prompt's answer: its speed, and whether it passed."""
    said: str | None = None
    try:
        answer = generator.generate(SAMPLE)
    except InvalidAIAnswer as refused:
        call, passed, said = refused.call, False, str(refused).removeprefix(f"{SAMPLE.key}: ")
    except AIError as error:
        return replace(check, usable=False, problem=str(error))
    else:
        call, passed = answer.call, True
    tokens = call.completion_tokens if call is not None else None
    seconds = call.duration_ms / 1000 if call is not None else 0
    return replace(
        check,
        sample_ms=round(call.duration_ms, 1) if call is not None else None,
        completion_tokens=tokens,
        tokens_per_s=round(tokens / seconds, 1) if tokens and seconds > 0 else None,
        answer_passed=passed,
        answer_problem=said,
    )
