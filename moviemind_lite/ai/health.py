"""Is the configured AI usable? What ``moviemind ai check`` asks, like the original's health check.

For the openai generator: one ``GET {base_url}/models`` with the configured key
and timeout, then whether the configured model is among those listed. Every
problem comes back as one line naming the setting to fix (the generator's own
errors already do); nothing here raises for a server that is down.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from moviemind_lite.ai.openai import OpenAIGenerator
from moviemind_lite.core.config import AISettings
from moviemind_lite.core.errors import AIError, AINoAnswer


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

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``ai check --json`` (the key itself is never part of it)."""
        return asdict(self)


def model_is_listed(model: str, listed: list[str]) -> bool:
    """Whether the server lists ``model`` (Ollama lists ``llama3.2`` as ``llama3.2:latest``)."""
    return model in listed or f"{model}:latest" in listed


def check_ai(settings: AISettings) -> AICheck:
    """Check the AI the settings choose: the offline mock always works; a server is asked."""
    if settings.backend == "mock":
        return AICheck(usable=True, backend="mock", model=settings.model)
    generator = OpenAIGenerator(settings)
    started = time.perf_counter()
    try:
        listed = generator.list_models()
    except AIError as error:
        problem: str | None = str(error)
        answered = not isinstance(error, AINoAnswer)
        listed = []
    else:
        problem = None
        answered = True
    finally:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        generator.close()
    found = None if problem is not None else model_is_listed(settings.model, listed)
    if found is False:
        shown = ", ".join(listed[:10]) + (", ..." if len(listed) > 10 else "")
        problem = (
            f"the server does not list the model {settings.model!r} "
            f"({len(listed)} listed: {shown or 'none'}): set MOVIEMIND_AI_MODEL to one it lists "
            f"(with Ollama: ollama pull {settings.model})"
        )
    return AICheck(
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
    )
