"""Races over real HTTP: many clients released together against a live ``moviemind serve``.

Fifty threads wait on one barrier, then each sends its request on its own
connection. Two ways to serve them, each with one and with two server
processes (``--workers 2``, one port):

held
    ``--no-jobs``: the job cannot end while the requests are answered, so
    every answer must be 202 with the one job id (forced, not hoped for);
    then a worker here runs what was queued.
running
    jobs run in the servers (a slow mock AI): answers are 202 with the one
    job id, or 200 once it is done, never a second job.

Either way: exactly one job, one AI call and one description per key.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx
import pytest

from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import MOVIE
from tests.engines import SERVERS, scratch_servers
from tests.http.servers import LiveServer, drain_jobs, live_server, open_app

CLIENTS = 50
ROUNDS = 3
DEADLINE_S = 60.0
TAGS = ["modern", "critical", "humorous", "DEFAULT"]

pytestmark = pytest.mark.timeout(300)


def released_together(
    server: LiveServer, requests: list[Callable[[httpx.Client], httpx.Response]]
) -> list[httpx.Response]:
    """Send every request at once, each from its own thread and connection."""
    barrier = threading.Barrier(len(requests))

    def send(request: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=DEADLINE_S) as client:
            barrier.wait(timeout=DEADLINE_S)
            return request(client)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def jobs_for(app: App, slug: str) -> list[str]:
    """Ids of every job ever made for ``slug``."""
    return [job.id for job in app.jobs.list(limit=None) if job.slug == slug]


def ai_calls_for(app: App, slug: str) -> int:
    """AI calls made for ``slug``, in any process."""
    return sum(count for key, count in app.calls.counts().items() if f":{slug}:" in key)


def wait_for_text(app: App, slug: str) -> None:
    """Until the slug's movie has a text (a generous deadline, no timing asserted)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        stored = app.api.stored(MOVIE, slug)
        if stored is not None and stored.texts:
            return
        time.sleep(0.05)  # polling a real server process (bounded by a deadline)
    raise AssertionError(f"no text for {slug} after {DEADLINE_S:g} s")


@contextmanager
def racing(
    factory: pytest.TempPathFactory, mode: str, workers: str
) -> Iterator[tuple[LiveServer, App]]:
    """A live server (``workers`` processes) that holds or runs jobs, and an App on its home."""
    home = factory.mktemp(f"race-{mode}-{workers}")
    app = open_app(home)  # creates the home before the server processes start
    args = ["--workers", workers, "--threads", "4"]
    env = {"MOVIEMIND_AI_LATENCY_MS": "300"} if mode == "running" else {}
    if mode == "held":
        args.append("--no-jobs")
    try:
        with live_server(home, *args, env=env) as server:
            yield server, app
    finally:
        app.close()


@pytest.fixture(scope="module", params=["1", "2"], ids=["one-process", "two-processes"])
def held(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, App]]:
    with racing(tmp_path_factory, "held", request.param) as served:
        yield served


@pytest.fixture(scope="module", params=["1", "2"], ids=["one-process", "two-processes"])
def running(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, App]]:
    with racing(tmp_path_factory, "running", request.param) as served:
        yield served


def herd(server: LiveServer, app: App, *, held: bool) -> None:
    """ROUNDS herds of GETs for new slugs; one job, one AI call, one description each."""
    for _ in range(ROUNDS):
        slug = f"herd-{uuid.uuid4().hex[:8]}-2024"
        path = f"/api/v1/movies/{slug}"
        answers = released_together(server, [partial(httpx.Client.get, url=path)] * CLIENTS)
        statuses = {answer.status_code for answer in answers}
        queued = [answer.json()["job_id"] for answer in answers if answer.status_code == 202]
        if held:
            assert statuses == {202}
            drain_jobs(app)
        else:
            assert statuses <= {200, 202} and queued
            wait_for_text(app, slug)
        assert len(set(queued)) == 1, set(queued)
        assert jobs_for(app, slug) == [queued[0]]
        assert ai_calls_for(app, slug) == 1
        stored = app.api.stored(MOVIE, slug)
        assert stored is not None and len(stored.texts) == 1


def test_a_held_herd_gets_one_job(held: tuple[LiveServer, App]) -> None:
    herd(*held, held=True)


def test_a_herd_while_the_servers_run_jobs_gets_one_job(running: tuple[LiveServer, App]) -> None:
    herd(*running, held=False)


@pytest.mark.parametrize("stored", [False, True], ids=["unknown", "stored"])
def test_mixed_context_tags_make_one_job_per_tag(
    held: tuple[LiveServer, App], stored: bool
) -> None:
    server, app = held
    secret = app.api_keys.create("race").secret
    slug = "memento-2000" if stored else f"tags-{uuid.uuid4().hex[:8]}-2024"
    before = set(jobs_for(app, slug))
    tags = [TAGS[index % len(TAGS)] for index in range(CLIENTS)]

    def post(tag: str) -> Callable[[httpx.Client], httpx.Response]:
        body = {"entity_type": "MOVIE", "slug": slug, "context_tag": tag}
        return lambda client: client.post(
            "/api/v1/generate", json=body, headers={"X-API-Key": secret}
        )

    answers = released_together(server, [post(tag) for tag in tags])
    assert {answer.status_code for answer in answers} == {202}
    by_tag: dict[str, set[str]] = {}
    for tag, answer in zip(tags, answers, strict=True):
        by_tag.setdefault(tag, set()).add(answer.json()["job_id"])
    assert all(len(ids) == 1 for ids in by_tag.values()), by_tag
    job_ids = {next(iter(ids)) for ids in by_tag.values()}
    assert len(job_ids) == len(TAGS)
    assert set(jobs_for(app, slug)) - before == job_ids
    calls_before = ai_calls_for(app, slug)
    drain_jobs(app)
    assert ai_calls_for(app, slug) - calls_before == len(TAGS)


def split_herd(servers: list[LiveServer], path: str) -> list[httpx.Response]:
    """CLIENTS GETs of ``path`` released together, sent to each server in turn."""
    barrier = threading.Barrier(CLIENTS)

    def send(index: int) -> httpx.Response:
        with httpx.Client(base_url=servers[index % len(servers)].url, timeout=DEADLINE_S) as c:
            barrier.wait(timeout=DEADLINE_S)
            return c.get(path)

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(send, range(CLIENTS)))


def test_serve_processes_on_two_ports_share_one_postgresql_and_redis(
    tmp_path: Path,
) -> None:
    """Two ``moviemind serve`` processes, each its own home and port, one PostgreSQL and one
    Redis: a herd split between them still makes one job and one AI call per key."""
    with scratch_servers(SERVERS) as servers:
        assert servers.database_url is not None and servers.locks_url is not None
        shared = {
            "MOVIEMIND_DATABASE_URL": servers.database_url,
            "MOVIEMIND_LOCKS_URL": servers.locks_url,
            "MOVIEMIND_AI_LATENCY_MS": "300",
        }
        app = open_app(tmp_path / "here", shared)
        try:
            args = ["--threads", "4"]
            with (
                live_server(tmp_path / "one", *args, env=shared) as one,
                live_server(tmp_path / "two", *args, env=shared) as two,
            ):
                for _ in range(ROUNDS):
                    slug = f"shared-{uuid.uuid4().hex[:8]}-2024"
                    answers = split_herd([one, two], f"/api/v1/movies/{slug}")
                    assert {answer.status_code for answer in answers} <= {200, 202}
                    queued = {a.json()["job_id"] for a in answers if a.status_code == 202}
                    assert len(queued) == 1, queued
                    wait_for_text(app, slug)
                    assert jobs_for(app, slug) == list(queued)
                    assert ai_calls_for(app, slug) == 1
        finally:
            app.close()
