"""AI generators by name: the offline mock (the default), any OpenAI-compatible server, and a
GGUF model run in this process.

The table is a literal: every generator is listed here by module and class, and
:func:`make_generator` rejects an unknown name with the list of known ones. A generator's
module is imported only when it is chosen, so the local one's llama.cpp (the ``local-ai``
extra) is loaded by no other process, and its absence is one line saying how to install it.
"""

from __future__ import annotations

from importlib import import_module

from moviemind_lite.ai.base import Generator
from moviemind_lite.core.config import AISettings
from moviemind_lite.core.errors import InvalidInput, InvalidSetting
from moviemind_lite.core.events import Events

GENERATORS: dict[str, str] = {
    "mock": "moviemind_lite.ai.mock:MockGenerator",
    "openai": "moviemind_lite.ai.openai:OpenAIGenerator",
    "local": "moviemind_lite.ai.local:LocalGenerator",
}
# The library each generator needs beyond the base install, and the extra installing it.
EXTRAS: dict[str, tuple[str, str]] = {"local": ("xllamacpp", "local-ai")}


def generator_class(name: str) -> type[Generator]:
    """The class registered as ``name``, its module imported now."""
    try:
        module_name, class_name = GENERATORS[name].split(":")
    except KeyError:
        raise InvalidInput(
            f"unknown generator {name!r}; expected one of: {', '.join(sorted(GENERATORS))}"
        ) from None
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as error:
        library, extra = EXTRAS.get(name, ("", ""))
        if not library or (error.name or "").split(".")[0] != library:
            raise
        raise InvalidSetting(
            f"MOVIEMIND_AI={name} needs {library}: pip install 'moviemind-lite[{extra}]'"
        ) from None
    found: type[Generator] = getattr(module, class_name)
    return found


def make_generator(name: str, settings: AISettings, events: Events | None = None) -> Generator:
    """The generator registered as ``name``; unknown names list the known ones. ``events`` is
    the app's event sink (the mock announces its faults there)."""
    chosen = generator_class(name)
    return chosen(settings, events=events if events is not None else Events())  # type: ignore[call-arg]
