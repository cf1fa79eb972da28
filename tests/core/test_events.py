"""The event seam: one app's sink tells its subscribers, and nobody else's."""

from __future__ import annotations

import logging

from moviemind_lite.core.clock import FakeClock
from moviemind_lite.core.events import Events, Phase, PhaseEvent


def test_subscribers_hear_each_phase_with_the_sinks_clock() -> None:
    clock = FakeClock()
    events = Events(clock)
    heard: list[PhaseEvent] = []
    with events.subscribed(heard.append):
        events.phase("job-1", Phase.WAITING)
        clock.advance(0.25)
        events.phase("job-1", Phase.LOCKED)
        events.phase("job-2", Phase.ENDED, at=5.0)
    events.phase("job-1", Phase.PERSISTING)  # unsubscribed: not heard
    assert heard == [
        PhaseEvent("job-1", Phase.WAITING, 1000.0),
        PhaseEvent("job-1", Phase.LOCKED, 1000.25),
        PhaseEvent("job-2", Phase.ENDED, 5.0),
    ]


def test_two_sinks_are_two_channels() -> None:
    first, second = Events(), Events()
    heard: list[str] = []
    first.subscribe(lambda event: heard.append(event.job_id))
    second.phase("other-apps-job", Phase.GENERATING)
    first.phase("own-job", Phase.GENERATING)
    assert heard == ["own-job"]


class Kept(logging.Handler):
    """Keeps the records it is handed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_failing_subscriber_is_logged_and_the_others_still_hear() -> None:
    events = Events()
    heard: list[Phase] = []

    def broken(event: PhaseEvent) -> None:
        raise RuntimeError("listener bug")

    events.subscribe(broken)
    events.subscribe(lambda event: heard.append(event.phase))
    # On the logger itself: the "moviemind" logger may not propagate to the root.
    kept, logger = Kept(), logging.getLogger("moviemind.events")
    logger.addHandler(kept)
    try:
        events.phase("job", Phase.QUEUED)  # the announcing job is not failed
    finally:
        logger.removeHandler(kept)
    assert heard == [Phase.QUEUED]
    assert [record.getMessage() for record in kept.records] == ["event subscriber failed"]


def test_the_vocabulary_is_written_once() -> None:
    from moviemind_lite.ai.base import KILLED, PAUSED
    from moviemind_lite.lab.timeline import ENDED, GLYPHS, QUEUED
    from moviemind_lite.pipeline.body import GENERATING, LOCKED, PERSISTING, WAITING

    named = {QUEUED, WAITING, LOCKED, GENERATING, PAUSED, PERSISTING, KILLED, ENDED}
    assert named == set(Phase)
    assert set(GLYPHS) <= set(Phase)


def test_a_gate_decides_when_a_phase_is_entered_before_anyone_hears_it() -> None:
    # The gate is asked first, on the announcing thread: a held job is not yet in its phase.
    order: list[str] = []

    class Recording:
        def arrive(self, job_id: str, phase: Phase) -> None:
            order.append(f"gate {job_id} {phase}")

    events = Events(gate=Recording())
    events.subscribe(lambda event: order.append(f"heard {event.job_id} {event.phase}"))
    events.phase("j1", Phase.GENERATING)
    assert order == ["gate j1 generating", "heard j1 generating"]
