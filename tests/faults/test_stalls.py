"""Stalled engines: Redis or PostgreSQL stopped (SIGSTOP) for longer than a request may wait.

A stopped server keeps its sockets open and the kernel acknowledges what is
sent to it, so nothing fails: it is silent. The engine wait
(``MOVIEMIND_ENGINE_WAIT_MS``, made 1 s here so the tests stay short) bounds
what a request spends on it: it gets 503 with ``Retry-After`` and a message
naming the engine, ``/health/ready`` says which one is down, and once the
server resumes nothing accepted before is lost, every worker thread is alive,
and the backlog drains. Waits are on events (a row, a status) with deadlines;
nothing sleeps.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import StoreError
from moviemind_lite.core.model import DONE
from moviemind_lite.http.app import create_app
from tests.faults.conftest import (
    FaultServers,
    jobs_per_slug,
    open_app,
    texts_per_slug,
    until_jobs_done,
    worker_process,
)
from tests.helpers import count, wait_until

pytestmark = pytest.mark.timeout(120)

ENGINE_WAIT_MS = "1000"
NAMES = {"redis": "Redis", "postgres": "PostgreSQL"}
# What a stalled request may cost at most: the engine wait, PostgreSQL's 2 s probe of a
# silent server, and room for a loaded machine. A request that hangs until the server
# resumes fails this deadline instead.
REQUEST_DEADLINE_S = 20.0


def at_once(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Every call on a thread of its own, started together; each must end by the deadline."""
    answers: dict[str, Any] = {}
    barrier = threading.Barrier(len(calls), timeout=REQUEST_DEADLINE_S)

    def call(name: str, send: Callable[[], Any]) -> None:
        barrier.wait()
        answers[name] = send()

    threads = [threading.Thread(target=call, args=item, daemon=True) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_DEADLINE_S)
    hung = [thread.name for thread in threads if thread.is_alive()]
    assert not hung, "requests still waiting for the stalled engine past the deadline"
    return answers


@pytest.mark.parametrize("engine", ["redis", "postgres"])
def test_a_stalled_engine_gets_a_503_naming_it_and_loses_nothing(
    home: Path,
    urls: dict[str, str],
    fault_servers: FaultServers,
    monkeypatch: pytest.MonkeyPatch,
    engine: str,
) -> None:
    monkeypatch.setenv("MOVIEMIND_ENGINE_WAIT_MS", ENGINE_WAIT_MS)
    slugs = [f"stalled-{engine}-{index:02d}-1994" for index in range(15)]
    before, during, direct = slugs[:10], slugs[10:14], slugs[14]
    with open_app(home) as app:
        accepted = [job_id(app, slug) for slug in before]
    worker = worker_process(
        home,
        urls,
        MOVIEMIND_ENGINE_WAIT_MS=ENGINE_WAIT_MS,
        MOVIEMIND_AI_LATENCY_MS="100",
        MOVIEMIND_AI_JITTER_MS="0",
        MOVIEMIND_JOB_LEASE_MS="3000",
    )
    try:
        with open_app(home) as app:
            until_jobs_done(app, 2)
            with TestClient(create_app(app, run_jobs=False), base_url="http://localhost") as client:
                calls: dict[str, Callable[[], Any]] = {
                    slug: (lambda slug=slug: client.get(f"/api/v1/movies/{slug}"))  # type: ignore[misc]
                    for slug in during
                }
                calls["ready"] = lambda: client.get("/api/v1/health/ready")
                # The use case itself, as the CLI calls it (no rate limiter in front).
                calls[direct] = lambda: refusal(app, direct)
                # Frozen while the requests run into it: longer than the engine wait, since
                # each of them waits that long before it answers.
                with fault_servers.frozen(engine):
                    answers = at_once(calls)
                refused = answers.pop(direct)
                assert isinstance(refused, StoreError), refused
                assert f"{NAMES[engine]} at " in str(refused)
                ready = answers.pop("ready")
                assert ready.status_code == 503
                assert NAMES[engine] in ready.text
                for slug, answer in answers.items():
                    assert answer.status_code == 503, (slug, answer.text)
                    assert answer.headers["Retry-After"] == "5"
                    assert f"{NAMES[engine]} at " in answer.json()["message"], answer.text
                assert client.get("/api/v1/health/ready").status_code == 200
            accepted += [
                job_id(app, slug) for slug in [*during, direct]
            ]  # asked again once it is back
            wait_until(
                lambda: (
                    count(app.database, "SELECT count(*) FROM jobs WHERE status = 'DONE'")
                    == len(slugs)
                ),
                timeout_s=60,
                what="the backlog to drain after the engine resumed",
            )
            assert worker.poll() is None, "the worker process ended"
            assert {app.jobs.get(job).status for job in accepted} == {DONE}
            assert set(jobs_per_slug(app).values()) == {1}
            assert texts_per_slug(app) == dict.fromkeys(slugs, 1)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert "Exception in thread" not in output and "Traceback" not in output, output
    assert "Worker thread died" not in output, output
    assert "worker stopped (SIGTERM)" in output


def refusal(app: App, slug: str) -> object:
    """What ``generation.request`` says for ``slug``: the store error it raised, or its outcome."""
    try:
        return app.generation.request(MOVIE, slug, wait=False)
    except StoreError as error:
        return error


def job_id(app: App, slug: str) -> str:
    """The id of the job a request for ``slug`` was answered with (it must get one)."""
    outcome = app.generation.request(MOVIE, slug, wait=False)
    assert outcome.job is not None
    return outcome.job.id
