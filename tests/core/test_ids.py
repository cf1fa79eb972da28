from __future__ import annotations

import uuid
from datetime import UTC, datetime

from moviemind_lite.core import ids


def test_row_ids_are_uuid7_and_sort_by_creation() -> None:
    made = [ids.new_id() for _ in range(2000)]
    assert all(uuid.UUID(value).version == 7 for value in made)
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_owner_tokens_are_random_uuid4() -> None:
    first, second = ids.new_owner_token(), ids.new_owner_token()
    assert uuid.UUID(first).version == 4
    assert first != second


def test_keys_are_deterministic_uuid5() -> None:
    key = ids.key_id("movie", "the-matrix-1999", "en-US", "default")
    assert uuid.UUID(key).version == 5
    assert key == ids.key_id("movie", "the-matrix-1999", "en-US", "default")
    assert key != ids.key_id("movie", "the-matrix-1999", "pl-PL", "default")
    # The separator keeps ("a-b", "c") and ("a", "b-c") apart.
    assert ids.key_id("a-b", "c") != ids.key_id("a", "b-c")


def test_timestamps_are_fixed_width_and_round_trip() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    stamp = ids.format_timestamp(moment)
    assert stamp == "2026-01-02T03:04:05.006Z"
    assert ids.parse_timestamp(stamp) == moment
    assert len(ids.now()) == len(stamp)
    assert ids.after(1000) > ids.now()
