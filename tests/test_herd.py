"""The tests' herd of threads: a thread that fails or never arrives fails the test, never
hangs it (and never keeps the interpreter from exiting)."""

from __future__ import annotations

import threading

import pytest

from tests.helpers import Herd, run_together, wait_until


def test_the_herd_runs_every_task_after_all_arrived() -> None:
    arrived: list[int] = []
    lock = threading.Lock()
    herd = Herd(4)

    def task(index: int) -> tuple[int, int]:
        with lock:
            arrived.append(index)
        herd.start(index)
        with lock:
            return index, len(arrived)  # every thread was past its arrival

    assert herd.run(task) == [(index, 4) for index in range(4)]


def test_a_thread_that_never_arrives_fails_the_test_naming_it() -> None:
    never = threading.Event()  # set only at the end, to let the stuck thread go
    released: list[int] = []
    herd = Herd(3, deadline_s=0.2)

    def task(index: int) -> None:
        if index == 1:
            never.wait(30)
            return
        try:
            herd.start(index)
        except threading.BrokenBarrierError:
            released.append(index)
            raise

    try:
        with pytest.raises(pytest.fail.Exception) as failed:
            herd.run(task)
    finally:
        never.set()
    assert "2 of 3 threads reached the starting line within 0.2 s; never arrived: [1]" in str(
        failed.value
    )
    # The threads that did arrive are let go at the deadline, not left waiting.
    wait_until(lambda: sorted(released) == [0, 2], what="the arrived threads' release")


# No deadline at the line: only the failing thread's abort can release the others.
@pytest.mark.timeout(30)
def test_a_thread_that_fails_before_the_line_releases_the_others_with_its_error() -> None:
    def task(index: int) -> None:
        if index == 2:
            raise ValueError("opening failed")

    herd = Herd(4, deadline_s=3600)

    def body(index: int) -> None:
        task(index)
        herd.start(index)

    with pytest.raises(ValueError, match="opening failed"):
        herd.run(body)


def test_a_failure_after_the_release_is_raised() -> None:
    def task(index: int) -> int:
        assert index != 3, "thread 3 saw the wrong count"
        return index

    with pytest.raises(AssertionError, match="thread 3 saw the wrong count"):
        run_together(task, 5)


def test_the_herds_threads_are_daemons() -> None:
    assert run_together(lambda index: threading.current_thread().daemon, 2) == [True, True]
