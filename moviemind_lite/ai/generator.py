"""AI generators by name: the offline mock (the default) and any OpenAI-compatible server.

The table is a literal: every generator is listed here, and
:func:`make_generator` rejects an unknown name with the list of known ones.
"""

from __future__ import annotations

from collections.abc import Callable

from moviemind_lite.ai.base import Generator
from moviemind_lite.ai.mock import MockGenerator
from moviemind_lite.ai.openai import OpenAIGenerator
from moviemind_lite.core.config import AISettings
from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.core.events import Events

# A factory gets the settings and the app's event sink (the mock announces its faults there).
GeneratorFactory = Callable[[AISettings, Events], Generator]

GENERATORS: dict[str, GeneratorFactory] = {
    "mock": lambda settings, events: MockGenerator(settings, events=events),
    "openai": lambda settings, events: OpenAIGenerator(settings),
}


def make_generator(name: str, settings: AISettings, events: Events | None = None) -> Generator:
    """The generator registered as ``name``; unknown names list the known ones."""
    try:
        factory = GENERATORS[name]
    except KeyError:
        raise InvalidInput(
            f"unknown generator {name!r}; expected one of: {', '.join(sorted(GENERATORS))}"
        ) from None
    return factory(settings, events if events is not None else Events())
