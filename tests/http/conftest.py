"""The HTTP tests' servers: every contract check runs in-process and against a live server.

``served`` is module-scoped and parametrized over ``inprocess`` (Starlette's
TestClient over an App in this process) and ``live`` (``moviemind serve`` in a
subprocess, reached over TCP with httpx). Both run with ``--no-jobs``: a job
stays PENDING until a test runs it (``served.drain()``), so "the same job
while it is on its way" is forced rather than hoped for. Every response is
validated against docs/openapi.json.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from moviemind_lite.app.wiring import App
from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.http.app import create_app
from tests.http.openapi_check import check_response
from tests.http.servers import drain_jobs, live_server, open_app

KINDS = ("inprocess", "live")


@dataclass
class Served:
    """A server, a client that validates every response, and an App on the same home."""

    kind: str
    client: httpx.Client
    app: App
    home: Path
    api_key: str

    @property
    def base(self) -> str:
        """The base URL links are built from."""
        return str(self.client.base_url).rstrip("/")

    def drain(self) -> list[Any]:
        """Run every ready job (the servers run none themselves)."""
        return drain_jobs(self.app)

    def generate(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        """``POST /api/v1/generate`` with this server's API key."""
        return self.client.post(
            "/api/v1/generate", json=body, headers={"X-API-Key": self.api_key, **headers}
        )


def _validating(client: httpx.Client) -> httpx.Client:
    client.event_hooks["response"].append(_check)
    return client


def _check(response: httpx.Response) -> None:
    response.read()
    check_response(response)


@contextmanager
def serving(
    kind: str,
    home: Path,
    request: pytest.FixtureRequest,
    env: Mapping[str, str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Iterator[Served]:
    """Serve ``home`` in-process or live (``--no-jobs``), with ``env`` added to the settings
    (and, in-process, ``clock`` as the application's time)."""
    app = open_app(home, env, clock)
    key = app.api_keys.create("tests").secret
    try:
        if kind == "inprocess":
            asgi = create_app(app, run_jobs=False)
            with TestClient(asgi, base_url="http://localhost") as client:
                yield Served(kind, _validating(client), app, home, key)
        else:
            with live_server(home, "--no-jobs", env=env) as server:
                failed_before = request.session.testsfailed
                with httpx.Client(base_url=server.url, timeout=30) as client:
                    yield Served(kind, _validating(client), app, home, key)
                if request.session.testsfailed > failed_before:
                    print(f"--- live server output ({server.log_path}) ---\n{server.log_tail()}")
    finally:
        app.close()


@pytest.fixture(scope="module", params=KINDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A server in the ``local`` environment (admin endpoints open), holding its jobs."""
    with serving(request.param, tmp_path_factory.mktemp(f"served-{request.param}"), request) as it:
        yield it
