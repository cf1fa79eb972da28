"""A built app tells its own event sink what its jobs do, and no other app's."""

from __future__ import annotations

import pytest

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.events import Phase, PhaseEvent
from moviemind_lite.core.model import DONE

pytestmark = pytest.mark.usefixtures("engines")


def test_a_generated_job_announces_its_steps_on_its_apps_sink(settings: Settings) -> None:
    fast = settings.with_ai(latency_ms=0, jitter_ms=0)
    with build_app(fast) as app, build_app(fast) as other:
        heard: list[PhaseEvent] = []
        elsewhere: list[PhaseEvent] = []
        other.events.subscribe(elsewhere.append)
        with app.events.subscribed(heard.append):
            outcome = app.generation.request(MOVIE, "sink-film-2001")
        assert outcome.job is not None and outcome.job.status == DONE
        assert [(event.job_id, event.phase) for event in heard] == [
            (outcome.job.id, Phase.GENERATING),
            (outcome.job.id, Phase.PERSISTING),
        ]
        assert elsewhere == []  # the same home, another app: another channel
