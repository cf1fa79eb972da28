"""What every job did when: the phases the job body announces, turned into bar lines.

Jobs announce their phases on their app's event sink (``waiting`` for a lock,
``locked``, ``generating``, ``persisting``), the mock AI the faults it
injected (``paused``, ``killed``), and the lab when a job was ``queued`` and
when it ``ended`` (the vocabulary is :class:`moviemind_lite.core.events.Phase`);
a :class:`PhaseLog` subscribed to the race's sink keeps them. Times are
``time.monotonic()`` seconds, one clock for every process on the machine.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

from moviemind_lite.ai.base import KILLED as KILLED
from moviemind_lite.ai.base import PAUSED as PAUSED
from moviemind_lite.core.events import Phase, PhaseEvent
from moviemind_lite.pipeline.body import GENERATING as GENERATING
from moviemind_lite.pipeline.body import LOCKED as LOCKED
from moviemind_lite.pipeline.body import PERSISTING as PERSISTING
from moviemind_lite.pipeline.body import WAITING as WAITING

QUEUED = Phase.QUEUED
ENDED = Phase.ENDED

GLYPHS: dict[str, str] = {
    QUEUED: ".",
    WAITING: "-",
    LOCKED: "+",
    GENERATING: "=",
    PAUSED: "~",
    PERSISTING: "#",
    KILLED: "X",
}
LEGEND = "  ".join(f"{glyph} {name}" for name, glyph in GLYPHS.items())


class PhaseLog:
    """Thread-safe list of (job id, phase, time) events (subscribed to a race's sink)."""

    def __init__(self) -> None:
        self._events: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self._lock = threading.Lock()

    def hear(self, event: PhaseEvent) -> None:
        """Record ``event`` (subscribed to a race's app events)."""
        self.record(event.job_id, event.phase, event.at)

    def record(self, job_id: str, phase: str, at: float | None = None) -> None:
        """Note that ``job_id`` entered ``phase`` (now, unless ``at`` says when)."""
        moment = time.monotonic() if at is None else at
        with self._lock:
            self._events[job_id].append((phase, moment))

    def by_job(self) -> dict[str, list[tuple[str, float]]]:
        """Every job's events in time order."""
        with self._lock:
            return {
                job: sorted(events, key=lambda event: event[1])
                for job, events in self._events.items()
            }


def spans(events: list[tuple[str, float]], phase: str) -> list[tuple[float, float]]:
    """When a job was in ``phase``: (start, end) pairs, each lasting until its next event."""
    return [(start, end) for (name, start), (_, end) in pairwise(events) if name == phase]


def waited_ms(events: list[tuple[str, float]]) -> float:
    """How long a job spent in ``waiting`` phases."""
    return sum(end - start for start, end in spans(events, WAITING)) * 1000


def peak_overlap(events_by_job: dict[str, list[tuple[str, float]]], phase: str) -> int:
    """The most jobs that were in ``phase`` at the same moment."""
    edges = [
        edge
        for events in events_by_job.values()
        for start, end in spans(events, phase)
        for edge in ((start, 1), (end, -1))
    ]
    # At equal times an end sorts before a start: spans that only touch do not overlap.
    peak = current = 0
    for _, step in sorted(edges):
        current += step
        peak = max(peak, current)
    return peak


def entered(
    events_by_job: dict[str, list[tuple[str, float]]], phase: str
) -> list[tuple[float, str]]:
    """Every (time, job id) at which a job entered ``phase``, earliest first."""
    return sorted(
        (at, job) for job, events in events_by_job.items() for name, at in events if name == phase
    )


@dataclass(frozen=True)
class TimelineRow:
    """One job's bar: who it was, what it did over the run, how it ended (and its id)."""

    label: str
    bar: str
    ending: str
    job_id: str = ""


def draw_bar(events: list[tuple[str, float]], start: float, end: float, width: int) -> str:
    """Columns of phase glyphs from ``start`` to ``end``; each phase gets at least one column."""
    cells = [" "] * width
    step = max(end - start, 1e-9) / width

    def column(moment: float) -> int:
        return min(width - 1, max(0, int((moment - start) / step)))

    for (phase, since), (_, until) in pairwise([*events, (ENDED, end)]):
        if phase == ENDED:
            continue
        first = column(since)
        last = max(first, column(until) - 1)
        for index in range(first, last + 1):
            cells[index] = GLYPHS.get(phase, "?")
    return "".join(cells)


def timeline_rows(
    events_by_job: dict[str, list[tuple[str, float]]],
    labels: dict[str, str],
    endings: dict[str, str],
    start: float,
    end: float,
    width: int = 48,
) -> list[TimelineRow]:
    """A bar per job, in the order jobs were queued."""
    order = sorted(events_by_job, key=lambda job: events_by_job[job][0][1])
    return [
        TimelineRow(
            labels.get(job, job[:8]),
            draw_bar(events_by_job[job], start, end, width),
            endings.get(job, "?"),
            job,
        )
        for job in order
    ]
