"""The lab's clock skew: every stamp of the process runs ahead by it, and only by it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from moviemind_lite.core import ids


@pytest.fixture
def skewed() -> Iterator[None]:
    """This process's stamps 90 seconds ahead, for the test."""
    ids.skew_clock(90_000)
    try:
        yield
    finally:
        ids.skew_clock(0)


def test_a_skewed_process_stamps_now_and_expiries_ahead(
    skewed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ids.time, "time", lambda: 1_000_000.0)
    assert ids.now() == ids.format_epoch(1_000_090.0)
    assert ids.after(500) == ids.format_epoch(1_000_090.5)
    # A moment given explicitly is the caller's: no skew is added to it.
    assert ids.after(500, since=1_000_000.0) == ids.format_epoch(1_000_000.5)


def test_without_a_skew_stamps_follow_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ids.time, "time", lambda: 1_000_000.0)
    assert ids.now() == ids.format_epoch(1_000_000.0)
