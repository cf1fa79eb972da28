"""The safe strategies stay correct in every one of many bursts of varied shape.

Each strategy races fifty bursts drawn from a seeded RNG (so a failure names
a shape that can be replayed): requests, slugs, workers, arrival and the AI's
latency all vary. The AI answers in 0 to 2 ms, which keeps the whole set
quick and makes the races tight: jobs start, look up and write within
milliseconds of each other. ``setnx`` is safe only with a lease longer than
the AI call; its default lease (5 s) is. On PostgreSQL and Redis each race
makes its own schema and key prefix, so fewer bursts (still every shape's
kind) keep the set bounded there.
"""

from __future__ import annotations

import random

import pytest

from moviemind_lite.lab.race import run_race
from moviemind_lite.lab.scenario import Arrival, Scenario
from moviemind_lite.lab.teaching import SAFE_STRATEGIES
from tests.engines import BOTH_ENDS, Engines, lab_servers

BURSTS = 50
SERVER_BURSTS = 30


def bursts(strategy: str, count: int = BURSTS) -> list[Scenario]:
    """``count`` scenarios of varied shape, the same ones on every run."""
    rng = random.Random(f"bursts:{strategy}")
    shapes = []
    for number in range(count):
        requests = rng.randint(1, 24)
        spread = rng.random() < 0.3
        shapes.append(
            Scenario(
                requests=requests,
                slugs=rng.randint(1, min(requests, 6)),
                workers=rng.randint(1, 8),
                latency_ms=rng.choice([0.0, 1.0, 2.0]),
                jitter_ms=rng.choice([0.0, 1.0]),
                arrival=Arrival("spread", rng.choice([0.5, 1.0, 2.0])) if spread else Arrival(),
                seed=number,
            )
        )
    return shapes


@pytest.mark.parametrize("engines", BOTH_ENDS, ids=lambda engines: engines.id)
@pytest.mark.parametrize("strategy", SAFE_STRATEGIES)
def test_a_safe_strategy_is_correct_in_every_burst(strategy: str, engines: Engines) -> None:
    servers = lab_servers(engines)
    count = SERVER_BURSTS if engines.on_servers else BURSTS
    for shape in bursts(strategy, count):
        scenario = shape.changed(backend=servers.backend, locks=servers.locks)
        result = run_race(scenario, strategy, servers=servers)
        m = result.metrics
        replay = f"moviemind race --strategy {strategy} {scenario.as_options()}: {m.verdict}"
        assert m.correct, replay
        assert (m.duplicate_movies, m.duplicate_descriptions, m.failed_jobs) == (0, 0, 0), replay
        assert (m.movies, m.descriptions) == (scenario.slugs, scenario.slugs), replay
        assert result.aftermath.unanswered_requests == 0, replay


def test_the_bursts_vary_in_shape() -> None:
    shapes = bursts("two-level")
    assert len(shapes) == BURSTS
    for field in ("requests", "slugs", "workers", "latency_ms", "arrival"):
        assert len({getattr(shape, field) for shape in shapes}) > 1, field
