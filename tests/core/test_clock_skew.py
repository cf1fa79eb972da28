"""The lab's clock skew: a process's Unix time runs ahead by it, and only its Unix time."""

from __future__ import annotations

import pytest

from moviemind_lite.core import clock as clock_module
from moviemind_lite.core.clock import SYSTEM_CLOCK, SkewedClock
from moviemind_lite.core.ids import format_epoch


def test_a_skewed_clock_stamps_now_and_expiries_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock_module.time, "time", lambda: 1_000_000.0)
    ahead = SkewedClock(90_000)
    assert ahead.stamp() == format_epoch(1_000_090.0)
    assert ahead.stamp_after(500) == format_epoch(1_000_090.5)
    # A moment given explicitly is the caller's: no skew is added to it.
    assert ahead.stamp_after(500, since=1_000_000.0) == format_epoch(1_000_000.5)
    assert SYSTEM_CLOCK.stamp() == format_epoch(1_000_000.0)


def test_a_skewed_clock_measures_intervals_on_the_machines_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: 42.0)
    assert SkewedClock(90_000).monotonic() == 42.0
