"""Scenario options: their ranges, the arrival spec, and the options that rebuild a scenario."""

from __future__ import annotations

import math
import re

import pytest

from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.lab.scenario import Arrival, Scenario


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("burst", Arrival()),
        (" BURST ", Arrival()),
        ("spread:50", Arrival("spread", 50.0)),
        ("spread:2.5", Arrival("spread", 2.5)),
    ],
)
def test_arrival_specs(text: str, expected: Arrival) -> None:
    assert Arrival.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "spread", "spread:", "spread:0", "spread:-5", "spread:x", "spread:inf", "wave:5"]
)
def test_bad_arrival_specs(text: str) -> None:
    with pytest.raises(InvalidInput, match="use 'burst' or 'spread:MS'"):
        Arrival.parse(text)


def test_spread_arrivals_are_evenly_spaced() -> None:
    spread = Arrival.parse("spread:40")
    assert [spread.offset_ms(index) for index in range(3)] == [0, 40, 80]
    assert Arrival().offset_ms(7) == 0
    assert (str(spread), str(Arrival())) == ("spread:40", "burst")


MS = "a number of ms from 0 to 86400000 (one day)"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"requests": 0}, "requests must be 1..100000, got 0"),
        ({"requests": 100_001}, "requests must be 1..100000"),
        ({"slugs": 0}, "slugs must be 1..requests (10), got 0"),
        ({"slugs": 11}, "slugs must be 1..requests"),
        ({"workers": -1}, "workers must be 1..64, got -1"),
        ({"latency_ms": -1.0}, f"latency must be {MS}, got -1"),
        ({"latency_ms": 1e23}, f"latency must be {MS}, got 1e+23"),
        ({"jitter_ms": -0.5}, f"jitter must be {MS}, got -0.5"),
        ({"jitter_ms": math.inf}, f"jitter must be {MS}, got inf"),
        ({"pause_holder_ms": -3.0}, "pause holder must be a number of ms from 0"),
        ({"pause_holder_ms": math.nan}, f"pause holder must be {MS}, got nan"),
        ({"ttl_ms": 0.0}, "ttl must be a number of ms above 0 and at most 86400000"),
        ({"fail_rate": 1.5}, "fail rate must be a number from 0 to 1, got 1.5"),
        ({"fail_rate": math.nan}, "fail rate must be a number from 0 to 1, got nan"),
        ({"seed": -1}, "seed must be a whole number from 0 to 9223372036854775807, got -1"),
        ({"seed": 2**64}, "seed must be a whole number from 0 to 9223372036854775807"),
        ({"kill_holder": True}, "--kill-holder needs --mode processes"),
    ],
)
def test_out_of_range_values_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        Scenario().changed(**changes)


def test_requests_take_the_slugs_in_turn() -> None:
    scenario = Scenario(requests=5, slugs=2)
    assert [scenario.slug_for(index) for index in range(5)] == [
        "race-movie-001",
        "race-movie-002",
        "race-movie-001",
        "race-movie-002",
        "race-movie-001",
    ]
    assert scenario.all_slugs() == ["race-movie-001", "race-movie-002"]


def test_options_name_only_what_differs_from_the_defaults() -> None:
    assert Scenario().as_options() == ""
    scenario = Scenario(
        requests=5,
        latency_ms=300,
        ttl_ms=80,
        arrival=Arrival("spread", 70),
        unique_index=False,
        fencing=True,
        pause_holder_ms=20,
        kill_holder=True,
        mode="processes",
    )
    assert scenario.as_options() == (
        "--requests 5 --latency 300 --ttl 80 --arrival spread:70 --no-unique-index --fencing "
        "--pause-holder 20 --kill-holder --mode processes"
    )
    assert scenario.to_json()["arrival"] == "spread:70"


def test_the_ideal_is_the_ai_calls_alone_workers_at_a_time() -> None:
    assert Scenario(requests=10_000, slugs=1000, workers=32, latency_ms=50).ideal_ms == 1600
    assert Scenario(requests=10, slugs=8, workers=8, latency_ms=200).ideal_ms == 200
    assert Scenario(requests=10, slugs=9, workers=8, latency_ms=200).ideal_ms == 400
    assert Scenario(latency_ms=0).ideal_ms == 0


def test_a_race_with_a_real_model_waits_for_its_calls_not_the_mocks_latency() -> None:
    from moviemind_lite.lab.scenario import LOCAL_CALL_BOUND_MS, Scenario

    assert Scenario().longest_call_ms == Scenario().slowest_job_ms
    assert Scenario(ai="local").longest_call_ms == LOCAL_CALL_BOUND_MS
