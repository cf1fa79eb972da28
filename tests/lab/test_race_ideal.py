"""The race's ideal: the mock's latency, or a real model's measured median call."""

from __future__ import annotations

from dataclasses import replace

import pytest

from moviemind_lite.lab.timeline import ENDED, GENERATING, PERSISTING, QUEUED
from tests.lab.made_races import made_race


def job(slug: str, at: float, generating_s: float) -> tuple[str, str, list[tuple[str, float]]]:
    """A job that generates for ``generating_s`` seconds."""
    end = at + generating_s
    return (
        slug,
        "created",
        [(QUEUED, at), (GENERATING, at), (PERSISTING, end), (ENDED, end + 0.001)],
    )


def test_a_mock_race_s_ideal_is_the_scenario_s() -> None:
    race = made_race([job("race-movie-001", 0.0, 0.3)])
    assert race.ideal_ms == race.scenario.ideal_ms == 100


def test_a_real_model_race_s_ideal_is_its_median_call_workers_at_a_time() -> None:
    # Calls of 1 s, 2 s and 9 s: the median call is 2 s; 3 slugs on 2 workers take 2 rounds.
    race = made_race(
        [
            job("race-movie-001", 0.0, 1.0),
            job("race-movie-002", 0.0, 9.0),
            job("race-movie-003", 0.0, 2.0),
        ]
    )
    local = replace(race, scenario=race.scenario.changed(ai="local", workers=2))
    assert local.ideal_ms == pytest.approx(2 * 2000)


def test_a_real_model_race_without_a_call_has_no_ideal() -> None:
    race = made_race([("race-movie-001", "joined", [(QUEUED, 0.0), (ENDED, 0.1)])])
    local = replace(race, scenario=race.scenario.changed(ai="local"))
    assert local.ideal_ms == 0
