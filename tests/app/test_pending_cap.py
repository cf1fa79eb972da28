"""The cap on pending jobs is checked in the transaction that inserts the job, so a burst of
requests that all passed the cheap first look still cannot queue past it, on either engine
pair, from threads of one process or from several processes."""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import replace
from multiprocessing.synchronize import Barrier as ProcessBarrier
from queue import Queue
from typing import Any

import pytest

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings, load_settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import QueueFull
from moviemind_lite.store.jobs import count_pending
from tests.engines import BOTH_ENDS

pytestmark = [
    pytest.mark.usefixtures("engines"),
    pytest.mark.parametrize("engines", BOTH_ENDS, indirect=True, ids=lambda engines: engines.id),
]
CAP = 3
RACERS = 8
PROCESSES = 4


def capped(settings: Settings) -> Settings:
    return replace(settings, limits=replace(settings.limits, max_pending_jobs=CAP))


def hold_after_the_first_look(
    app: App, barrier: threading.Barrier | ProcessBarrier, at_ms: float | None = None
) -> None:
    """Every racer passes the budget's cheap look at the queue (empty: under the cap) and
    waits there for the others, so all of them reach the insert with the cap unreached.
    With ``at_ms`` the budget is paid and refunded at that one moment: an hour's bucket
    leaks an allowance every 360 ms, which a slow run would otherwise see as a refund."""
    reserve, refund = app.budget.reserve, app.budget.refund

    def reserve_then_wait(client: str | None, _at_ms: float | None = None) -> None:
        reserve(client, at_ms)
        barrier.wait(timeout=60)

    def refund_then(client: str | None, _at_ms: float | None = None) -> None:
        refund(client, at_ms)

    app.budget.reserve = reserve_then_wait  # type: ignore[method-assign]
    app.budget.refund = refund_then  # type: ignore[method-assign]


def show(app: App, slug: str) -> str:
    try:
        app.api.show(MOVIE, slug, "ip:racer")
    except QueueFull:
        return "queue_full"
    return "queued"


def test_racing_threads_past_the_first_look_queue_no_more_than_the_cap(
    settings: Settings,
) -> None:
    with build_app(capped(settings)) as app:
        at_ms = app.budget.clock.now() * 1000
        hold_after_the_first_look(app, threading.Barrier(RACERS, timeout=60), at_ms)
        answers: Queue[str] = Queue()
        threads = [
            threading.Thread(target=lambda n=n: answers.put(show(app, f"capped-film-{n}-2020")))
            for n in range(RACERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcomes = sorted(answers.get() for _ in range(RACERS))
        assert outcomes == ["queue_full"] * (RACERS - CAP) + ["queued"] * CAP
        assert count_pending(app.database) == CAP
        # The refused requests paid nothing: only the queued jobs are spent from the budget.
        assert app.budget.usage(at_ms).service_used == CAP


def show_in_a_process(slug: str, barrier: ProcessBarrier, answers: Any) -> None:
    """One server process: its own application over the test's store (from the environment)."""
    with build_app(capped(load_settings())) as app:
        hold_after_the_first_look(app, barrier)
        answers.put(show(app, slug))


def test_racing_processes_past_the_first_look_queue_no_more_than_the_cap(
    settings: Settings,
) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    answers = context.Queue()
    processes = [
        context.Process(target=show_in_a_process, args=(f"proc-film-{n}-2020", barrier, answers))
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = sorted(answers.get(timeout=120) for _ in range(PROCESSES))
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert outcomes == ["queue_full"] * (PROCESSES - CAP) + ["queued"] * CAP
    with build_app(settings) as app:
        assert count_pending(app.database) == CAP
