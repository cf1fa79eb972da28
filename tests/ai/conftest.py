"""The loopback OpenAI-compatible server, and settings that point a generator at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moviemind_lite.core.config import AISettings, Secret
from moviemind_lite.store.db import Database
from moviemind_lite.store.migrations import migrate
from moviemind_lite.store.sqlite import SqliteDatabase

from .openai_server import FakeOpenAI

# A key that must never show up anywhere but in the Authorization header.
API_KEY = "sk-test-d0n7-l3ak-7h15-k3y"

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """A migrated database of its own (for the call record)."""
    opened = SqliteDatabase(tmp_path / "calls.db")
    migrate(opened)
    yield opened
    opened.close()


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """A fresh server on 127.0.0.1 (and no proxy between it and the client)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    server = FakeOpenAI()
    try:
        yield server
    finally:
        server.close()


def openai_settings(server: FakeOpenAI, **changes: Any) -> AISettings:
    """AI settings for the openai generator against ``server``."""
    knobs: dict[str, Any] = {
        "backend": "openai",
        "base_url": server.url,
        "api_key": Secret(API_KEY),
        "model": "gpt-4o-mini",
        "timeout_s": 10.0,
        **changes,
    }
    return AISettings(**knobs)
