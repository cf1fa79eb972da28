"""One race at a time, run in the background and followed as it goes: the server's lab.

:class:`LiveLab` starts a lesson or a comparison on a thread of its own, on
the engines the server was given (in scratch homes, schemas and prefixes as
every race), keeps what the race's jobs did as it happens, and gives it out
in order to whoever asks (``events since N``). A second race is refused while
one runs. Someone must keep asking: a race nobody has asked about for
``idle_s`` seconds (its page was closed) is stopped, as is a race cancelled,
and :meth:`LiveLab.close` stops and waits for the race when the server shuts
down. A stopped race stops issuing requests and drops queued jobs; jobs
already running finish (see :func:`~moviemind_lite.lab.race.run_race`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moviemind_lite.core.errors import InvalidInput, MovieMindError
from moviemind_lite.core.events import Phase
from moviemind_lite.lab.game import GameSeat
from moviemind_lite.lab.race import (
    PhaseWatcher,
    RaceResult,
    RaceStopped,
    run_compare,
    strategy_names,
)
from moviemind_lite.lab.report import compare_command, lessons_page, races_page
from moviemind_lite.lab.scenario import MODES, SCENARIO_FIELDS, Arrival, Scenario
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.lab.teaching import lesson_named

# A page asks every fraction of a second; a race unasked-about this long lost its page.
IDLE_S = 15.0
RUNNING, DONE, STOPPED, FAILED = "running", "done", "stopped", "failed"

# The scenario fields a page may set, and their kinds; the rest keep their defaults
# (the engines are the server's; a server never keeps scratch folders).
_SETTABLE: dict[str, type] = {
    "requests": int,
    "slugs": int,
    "workers": int,
    "latency_ms": float,
    "jitter_ms": float,
    "fail_rate": float,
    "ttl_ms": float,
    "arrival": str,
    "seed": int,
    "unique_index": bool,
    "fencing": bool,
    "pause_holder_ms": float,
    "kill_holder": bool,
    "mode": str,
}
assert set(_SETTABLE) <= set(SCENARIO_FIELDS)


class RaceRunning(MovieMindError):
    """A race is already running on this server: one at a time."""


class NoRace(MovieMindError):
    """No race has been started on this server (or none is running, to stop)."""


@dataclass(frozen=True)
class LabPlan:
    """What to race: a lesson (``fast`` or not), or ``strategies`` through ``scenario``."""

    lesson: str | None
    fast: bool
    strategies: tuple[str, ...]
    scenario: Scenario

    @property
    def command(self) -> str:
        """The command line that races the same."""
        if self.lesson is not None:
            return f"moviemind lab run {self.lesson}" + (" --fast" if self.fast else "")
        return compare_command(self.strategies, self.scenario)


def _number(name: str, kind: type, value: Any) -> Any:
    words = name.removesuffix("_ms").replace("_", " ")
    if kind is bool:
        if not isinstance(value, bool):
            raise InvalidInput(f"{words} must be true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise InvalidInput(f"{words} must be text, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{words} must be a number, got {value!r}")
    if kind is int and not float(value).is_integer():
        raise InvalidInput(f"{words} must be a whole number, got {value!r}")
    return int(value) if kind is int else float(value)


def parse_plan(body: Mapping[str, Any], servers: Servers) -> LabPlan:
    """The race a page asked for, checked as the command line checks it (same messages)."""
    unknown = sorted(set(body) - {"lesson", "fast", "strategies", *_SETTABLE})
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0]!r}; expected lesson and fast, or strategies and any "
            f"of: {', '.join(_SETTABLE)}"
        )
    fast = _number("fast", bool, body.get("fast", False))
    engines = Scenario(backend=servers.backend, locks=servers.locks)
    lesson = body.get("lesson")
    if lesson is not None:
        if not isinstance(lesson, str):
            raise InvalidInput(f"lesson must be text, got {lesson!r}")
        lesson_named(lesson)
        return LabPlan(lesson, fast, (), engines)
    spec = body.get("strategies", "all")
    if not isinstance(spec, str):
        raise InvalidInput(f"strategies must be text (a,b,... or all), got {spec!r}")
    fields = {
        name: _number(name, kind, body[name]) for name, kind in _SETTABLE.items() if name in body
    }
    if "arrival" in fields:
        fields["arrival"] = Arrival.parse(fields["arrival"])
    if "mode" in fields and fields["mode"] not in MODES:
        raise InvalidInput(f"unknown mode {fields['mode']!r}; expected one of: {', '.join(MODES)}")
    scenario = engines.changed(**fields)
    return LabPlan(None, fast, tuple(strategy_names(spec)), scenario)


@dataclass
class LiveRace:
    """One race of the server's lab: what its jobs did so far, and how it ended."""

    id: str
    plan: LabPlan
    started: float
    stop: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    state: str = RUNNING
    error: str | None = None
    page: dict[str, Any] | None = None
    check: dict[str, Any] | None = None
    results: tuple[RaceResult, ...] = ()
    last_asked: float = 0.0
    _events: list[tuple[str, str, str, float]] = field(default_factory=list)
    _answered: dict[str, tuple[int, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def heard(self, label: str, job_id: str, phase: str, at: float) -> None:
        """A job of run ``label`` entered ``phase`` at ``at`` (``time.monotonic()``)."""
        with self._lock:
            self._events.append((label, job_id, phase, round((at - self.started) * 1000, 1)))

    def answered(self, label: str, count: int, total: int) -> None:
        """Run ``label`` has answered ``count`` of its ``total`` requests."""
        with self._lock:
            before = self._answered.get(label, (0, total))[0]
            self._answered[label] = (max(before, count), total)

    def since(self, first: int) -> dict[str, Any]:
        """Where the race stands, with the events from number ``first`` on."""
        with self._lock:
            events = [list(event) for event in self._events[max(first, 0) :]]
            answered = {label: list(pair) for label, pair in self._answered.items()}
            total = len(self._events)
        return {
            "id": self.id,
            "state": self.state,
            "command": self.plan.command,
            "error": self.error,
            "check": self.check,
            "answered": answered,
            "events": events,
            "next": total,
            "runs": [
                {
                    "label": result.label,
                    "strategy": result.strategy,
                    "verdict": result.metrics.verdict,
                    **result.to_json(),
                }
                for result in self.results
            ],
            "report": self.page is not None,
        }


def follow(race: LiveRace) -> PhaseWatcher:
    """How the page hears what a race's jobs do: the watcher each run subscribes to its
    race's event sink (``App.events``, :mod:`moviemind_lite.core.events`), so every
    :class:`~moviemind_lite.core.events.Phase` a job enters reaches the page as it happens."""

    def heard(label: str, job_id: str, phase: str, at: float) -> None:
        race.heard(label, job_id, Phase(phase), at)

    return heard


class LiveLab:
    """The server's lab: at most one race running, followed by whoever asks about it."""

    def __init__(
        self,
        servers: Servers,
        *,
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.servers = servers
        self.idle_s = idle_s
        self.clock = clock
        self._race: LiveRace | None = None
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        # The page's step game (play the scheduler), beside its races.
        self.games = GameSeat(servers)

    def start(self, plan: LabPlan) -> LiveRace:
        """Start ``plan`` on a thread of its own; :class:`RaceRunning` while another runs."""
        with self._lock:
            if self._race is not None and not self._race.finished.is_set():
                raise RaceRunning(
                    "a race is already running on this server: wait for it, or stop it first"
                )
            race = LiveRace(uuid.uuid4().hex, plan, time.monotonic(), last_asked=self.clock())
            self._race = race
            self._threads = [
                threading.Thread(target=self._run, args=(race,), name="lab-race", daemon=True),
                threading.Thread(target=self._watch, args=(race,), name="lab-watch", daemon=True),
            ]
            for thread in self._threads:
                thread.start()
        return race

    def current(self) -> LiveRace:
        """The race running or last run, marked as asked about now; :class:`NoRace` if none."""
        race = self._race
        if race is None:
            raise NoRace("no race has been started on this server")
        race.last_asked = self.clock()
        return race

    def cancel(self) -> LiveRace:
        """Stop the running race (jobs already running finish first)."""
        race = self.current()
        if race.finished.is_set():
            raise NoRace("no race is running")
        race.stop.set()
        return race

    def close(self, timeout_s: float = 60.0) -> None:
        """Stop the race, if one runs, and wait for its threads."""
        race = self._race
        if race is not None:
            race.stop.set()
        self.games.close(timeout_s)
        for thread in self._threads:
            thread.join(timeout_s)

    def _watch(self, race: LiveRace) -> None:
        # Stops a race whose page went away: nobody asked about it for idle_s.
        every = min(1.0, self.idle_s / 4)
        while not race.finished.wait(every):
            if self.clock() - race.last_asked > self.idle_s:
                race.stop.set()
                return

    def _run(self, race: LiveRace) -> None:
        plan = race.plan
        try:
            if plan.lesson is not None:
                played = lesson_named(plan.lesson).play(
                    fast=plan.fast,
                    on_progress=race.answered,
                    on_phase=follow(race),
                    stop=race.stop,
                    servers=self.servers,
                )
                race.results = played.races
                race.check = {"passed": played.check.passed, "message": played.check.message}
                race.page = lessons_page([played], plan.command, self.servers)
            else:
                results = run_compare(
                    plan.scenario,
                    list(plan.strategies),
                    race.answered,
                    on_phase=follow(race),
                    stop=race.stop,
                    servers=self.servers,
                )
                race.results = tuple(results)
                race.page = races_page(results, plan.command, self.servers)
            race.state = DONE
        except RaceStopped as stopped:
            race.results = stopped.finished
            if stopped.finished:
                race.page = races_page(stopped.finished, plan.command, self.servers)
            race.state = STOPPED
        except MovieMindError as error:
            race.error, race.state = str(error), FAILED
        except BaseException as crash:
            race.error, race.state = f"the race crashed: {type(crash).__name__}", FAILED
            raise
        finally:
            race.finished.set()
