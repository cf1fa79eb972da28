"""The API key goes into the Authorization header and nowhere else.

Not in the log file, the database (its WAL included), any output of the
commands (``--json`` or not), any job error; not even when the server quotes
it back in an error message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from moviemind_lite.cli import cli

from .conftest import API_KEY
from .openai_server import FakeOpenAI, Reply


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.output


def test_the_key_never_leaves_the_authorization_header(
    openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.setenv("MOVIEMIND_AI", "openai")
    monkeypatch.setenv("MOVIEMIND_AI_BASE_URL", openai_server.url)
    monkeypatch.setenv("MOVIEMIND_AI_API_KEY", API_KEY)
    monkeypatch.setenv("MOVIEMIND_JOB_BACKOFF_MS", "1")
    outputs = [
        run("movies", "show", "heat-1995", "--json"),  # a good answer
        run("people", "show", "ada-lovelace", "--locale", "de-DE"),
    ]
    # Servers that quote the key back: refused, failing, rate limiting, unusable answers.
    openai_server.script(
        Reply.error(401, f"Incorrect API key provided: {API_KEY}"),
        Reply.error(500, f"upstream rejected {API_KEY}"),
        Reply.error(500, f"upstream rejected {API_KEY}"),
        Reply.error(500, f"upstream rejected {API_KEY}"),
        Reply(200, f"<html>{API_KEY}</html>".encode()),
        Reply(200, f"<html>{API_KEY}</html>".encode()),
        Reply(200, f"<html>{API_KEY}</html>".encode()),
    )
    outputs += [
        run("movies", "show", "alien-1979"),
        run("movies", "show", "aliens-1986"),
        run("movies", "show", "arrival-2016"),
    ]
    openai_server.models_reply = Reply.error(403, f"key {API_KEY} may not list models")
    outputs += [
        run("ai", "check"),
        run("ai", "check", "--json"),
        run("jobs", "list", "--json"),
        run("stats", "--json"),
        run("stats"),
        run("logs", "--json"),
        run("logs"),
    ]
    errors = [job["error"] for job in json.loads(outputs[-5])]
    assert any("refused the API key (401)" in (error or "") for error in errors)
    assert any("***" in (error or "") for error in errors)  # the server's words, key blotted
    assert len(openai_server.completions()) == 9
    assert all(
        received.headers.get("authorization") == f"Bearer {API_KEY}"
        for received in openai_server.received
    )

    for output in outputs:
        assert API_KEY not in output
    written = [path for path in home.rglob("*") if path.is_file()]
    assert {path.name for path in written} >= {"moviemind.db", "moviemind.log"}
    for path in written:
        assert API_KEY.encode() not in path.read_bytes(), path
