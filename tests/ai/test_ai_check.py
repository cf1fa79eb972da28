"""``moviemind ai check``: exit codes and exact output against the loopback server."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner, Result

from moviemind_lite.cli import cli

from .conftest import API_KEY
from .openai_server import FakeOpenAI, Reply


def check(*args: str) -> Result:
    return CliRunner().invoke(cli, ["ai", "check", *args])


@pytest.fixture
def openai_env(openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    monkeypatch.setenv("MOVIEMIND_AI", "openai")
    monkeypatch.setenv("MOVIEMIND_AI_BASE_URL", openai_server.url)
    monkeypatch.setenv("MOVIEMIND_AI_API_KEY", API_KEY)
    return openai_server


def timed(output: str) -> str:
    """``output`` with the measured time replaced by N."""
    return re.sub(r"answered  in [\d,]+ ms", "answered  in N ms", output)


def test_with_the_mock_there_is_nothing_to_check() -> None:
    result = check()
    assert (result.exit_code, result.output) == (
        0,
        "the offline mock generator is in use (MOVIEMIND_AI=mock, model mock-1): "
        "no server to check\n",
    )
    assert json.loads(check("--json").output) == {
        "usable": True,
        "backend": "mock",
        "model": "mock-1",
        "base_url": None,
        "api_key_set": False,
        "model_listed": None,
        "models": [],
        "duration_ms": None,
        "answered": None,
        "problem": None,
    }


def test_a_listed_model_is_usable(openai_env: FakeOpenAI) -> None:
    result = check()
    assert result.exit_code == 0
    assert timed(result.output) == (
        f"server    {openai_env.url}\n"
        "model     gpt-4o-mini: listed (2 models)\n"
        "answered  in N ms\n"
        "ok: the model can be used\n"
    )
    (received,) = openai_env.received
    assert (received.method, received.path) == ("GET", "/v1/models")
    assert received.headers["authorization"] == f"Bearer {API_KEY}"


def test_an_ollama_model_is_found_under_its_latest_tag(
    openai_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIEMIND_AI_MODEL", "llama3.2")
    checked = json.loads(check("--json").output)
    assert (checked["usable"], checked["model"], checked["model_listed"]) == (
        True,
        "llama3.2",
        True,
    )
    assert checked["models"] == ["gpt-4o-mini", "llama3.2:latest"]
    assert checked["duration_ms"] >= 0 and checked["api_key_set"] is True


def test_a_model_the_server_does_not_list(
    openai_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIEMIND_AI_MODEL", "gpt-9")
    result = check()
    assert result.exit_code == 1
    assert timed(result.output) == (
        f"server    {openai_env.url}\n"
        "model     gpt-9: not listed (2 models)\n"
        "answered  in N ms\n"
        "problem: the server does not list the model 'gpt-9' (2 listed: gpt-4o-mini, "
        "llama3.2:latest): set MOVIEMIND_AI_MODEL to one it lists "
        "(with Ollama: ollama pull gpt-9)\n"
    )
    checked = json.loads(check("--json").output)
    assert (checked["usable"], checked["model_listed"]) == (False, False)


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (
            Reply.error(401, f"Incorrect API key provided: {API_KEY}"),
            "the AI server refused the API key (401): check MOVIEMIND_AI_API_KEY",
        ),
        (Reply.error(503, "warming up"), "the AI server failed (503): warming up"),
        (Reply.json(200, {"models": []}), "{url}/models did not answer with a model list"),
    ],
    ids=["bad-key", "down", "not-a-list"],
)
def test_a_server_that_cannot_be_used_says_what_to_fix(
    openai_env: FakeOpenAI, reply: Reply, problem: str
) -> None:
    openai_env.models_reply = reply
    result = check()
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"problem: {problem.format(url=openai_env.url)}"
    checked = json.loads(check("--json").output)
    assert checked["usable"] is False and checked["model_listed"] is None
    assert checked["answered"] is True  # it answered, with a refusal
    assert "answered  in " in result.output
    assert checked["problem"] == problem.format(url=openai_env.url)
    assert API_KEY not in result.output


def test_a_wrong_base_url(openai_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = openai_env.url.removesuffix("/v1")
    monkeypatch.setenv("MOVIEMIND_AI_BASE_URL", wrong)
    result = check()
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"problem: the AI server has nothing at {wrong}/models (404): check "
        "MOVIEMIND_AI_BASE_URL (it usually ends in /v1)"
    )


def test_an_unreachable_server(openai_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    url = openai_env.url
    openai_env.close()  # nothing listens there any more
    result = check()
    assert result.exit_code == 1
    # It never answered: no "answered in 3 ms".
    assert re.search(r"\nanswered  no \(gave up after [\d,]+ ms\)\n", result.output)
    assert "answered  in" not in result.output
    assert json.loads(check("--json").output)["answered"] is False
    assert result.output.splitlines()[-1].startswith(
        f"problem: cannot reach the AI server at {url}: "
    )
    assert result.output.splitlines()[-1].endswith("(is it running? check MOVIEMIND_AI_BASE_URL)")


def test_a_server_slower_than_the_timeout(
    openai_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIEMIND_AI_TIMEOUT_S", "0.2")
    openai_env.models_reply = Reply(200, b"{}", hold=openai_env.hold())
    result = check()
    assert result.exit_code == 1
    assert "\nanswered  no (gave up after " in result.output
    assert result.output.splitlines()[-1] == (
        f"problem: the AI server at {openai_env.url} did not answer within 0.2 s "
        "(MOVIEMIND_AI_TIMEOUT_S)"
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MOVIEMIND_AI_BASE_URL", "localhost:11434", "must start with http:// or https://"),
        ("MOVIEMIND_AI_TIMEOUT_S", "0", "is not a number of s above 0 and at most 600"),
        ("MOVIEMIND_AI", "gpt", "MOVIEMIND_AI='gpt' is not one of: mock, openai"),
    ],
)
def test_bad_settings_exit_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = check()
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and message in result.output
    assert result.output.count("\n") == 1


def test_one_model_is_counted_as_one(openai_env: FakeOpenAI) -> None:
    openai_env.models = ["gpt-4o-mini"]
    assert "model     gpt-4o-mini: listed (1 model)\n" in check().output
