"""Health that tells the truth: ``/health/ready`` probes each engine; a 503 names the engine."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from moviemind_lite.core.errors import ServiceUnavailable
from moviemind_lite.http.errors import on_core_error
from tests.http.conftest import Served, serving

REDIS_DOWN = (
    "cannot use Redis at redis://127.0.0.1:6390/0: Error 111 connecting to 127.0.0.1:6390. "
    "Connection refused. (check MOVIEMIND_LOCKS_URL or --locks-url)"
)


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    with serving("inprocess", tmp_path / "home", request) as it:
        yield it


def test_ready_reports_each_engine_with_its_latency(served: Served) -> None:
    response = served.client.get("/api/v1/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {check["status"] for check in body["checks"].values()} == {"ok"}
    assert body["checks"]["database"]["engine"] == "SQLite"
    assert body["checks"]["locks"]["engine"] == "lock files"
    assert all(check["latency_ms"] is not None for check in body["checks"].values())


def test_ready_is_503_naming_the_lock_server_that_is_down(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(key: str) -> Any:
        raise ServiceUnavailable(REDIS_DOWN)

    monkeypatch.setattr(served.app.locks.slots, "holder_id", down)
    response = served.client.get("/api/v1/health/ready")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["locks"]["status"] == "error"
    assert "cannot use Redis" in checks["locks"]["error"]


def test_ready_answers_within_its_bound_when_the_database_stalls(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = threading.Event()

    def stalled(*args: Any, **kwargs: Any) -> Any:
        released.wait()  # a server stopped with SIGSTOP: no answer, no error

    monkeypatch.setattr(served.app.database, "query_one", stalled)
    try:
        response = served.client.get("/api/v1/health/ready")
    finally:
        released.set()
    assert response.status_code == 503
    database = response.json()["checks"]["database"]
    assert (database["status"], database["latency_ms"]) == ("error", None)
    assert "did not answer within 2 s" in database["error"]


def test_an_engine_failure_is_503_naming_the_engine_without_the_settings_hint() -> None:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    response = asyncio.run(on_core_error(Request(scope), ServiceUnavailable(REDIS_DOWN)))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = bytes(response.body).decode()
    assert "cannot use Redis at redis://127.0.0.1:6390/0" in body
    assert "MOVIEMIND_LOCKS_URL" not in body and "database cannot be used" not in body
