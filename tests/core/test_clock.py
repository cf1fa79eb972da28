"""The clock seam: a fake clock moves only when told, and wakes its sleepers when it does."""

from __future__ import annotations

import threading

import pytest

from moviemind_lite.core import clock as clock_module
from moviemind_lite.core.clock import SYSTEM_CLOCK, FakeClock


def test_a_fake_clock_moves_only_when_advanced() -> None:
    clock = FakeClock(start=1_800_000_000.0)
    assert clock.stamp() == "2027-01-15T08:00:00.000Z"
    clock.advance(1.5)
    assert clock.now() == 1_800_000_001.5
    assert clock.stamp() == "2027-01-15T08:00:01.500Z"
    assert clock.stamp_after(250) == "2027-01-15T08:00:01.750Z"
    assert clock.monotonic() == 1001.5
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(-1)


def test_a_thread_sleeping_on_a_fake_clock_wakes_when_time_passes_its_wake_up() -> None:
    clock = FakeClock()
    woke = threading.Event()

    def sleeper() -> None:
        clock.sleep(60)  # a fake clock: wakes when the test advances it, no real wait
        woke.set()

    thread = threading.Thread(target=sleeper)
    thread.start()
    assert clock.wait_for_sleepers(1)
    clock.advance(59.999)
    assert not woke.wait(0.05)  # a millisecond short: still asleep
    clock.advance(0.001)
    assert woke.wait(10)
    thread.join()
    assert clock.wait_for_sleepers(0)


def test_the_system_clock_reads_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # The machine's clocks, read through the module: pinned here, so nothing depends on how
    # much real time passes.
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: 42.0)
    assert SYSTEM_CLOCK.monotonic() == 42.0
    monkeypatch.undo()
    SYSTEM_CLOCK.sleep(0)  # zero: checks the real clock sleeps at all, no wait
    assert SYSTEM_CLOCK.stamp().endswith("Z")
