"""Deterministic schedules: a race replayed one step at a time, in the order a schedule gives.

A schedule names the race's requests ``A``, ``B``, ... (request 0, 1, ...; a
request's job, if it creates one, takes its name) and lists steps such as
``A dispatch``, ``B lock``, ``A generate``, ``A persist``, ``A release``. Each
step lets one job (or request) cross one phase boundary:

- ``dispatch``: the request asks the application (the strategy's dispatch
  creates a job or joins one); its job then runs up to its next boundary;
- ``lock``: the job starts waiting for its lock (``waiting``; ``locked`` for
  a strategy that never waits, ``setnx``);
- ``generate``: the job calls the AI;
- ``persist``: the job writes its rows;
- ``release``: the job has ended (its lock already given back as its body
  returned) and its requests hear the answer.

:class:`ScheduleGate` is the race's gate (``core.events.Gate``): the race's
event sink carries it, so a job meets it where it announces a phase, and the
race's request crowd meets it before each request. A step runs only once every
job released before it has reached its next boundary (or ended), so one job
moves at a time and the same schedule replays the same interleaving whatever
the machine's load. A boundary the schedule does not name for a job is
crossed freely; after the last step every job runs freely.

A step that cannot happen (the strategy never takes a lock, the request
joined another job) or that waits on a job the schedule holds (a deadlock)
ends the race with one clear line within ``patience_s`` seconds, the gate
opened so that every job finishes.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.core.events import Phase
from moviemind_lite.lab.scenario import SCENARIO_FIELDS, Arrival, Scenario

# The schedule's phases, in the order a job crosses them.
STEP_PHASES = ("dispatch", "lock", "generate", "persist", "release")
_ORDER = {name: index for index, name in enumerate(STEP_PHASES)}
# The event phases that are boundaries, and the step each one is.
_BOUNDARY = {
    Phase.WAITING: "lock",
    Phase.LOCKED: "lock",
    Phase.GENERATING: "generate",
    Phase.PERSISTING: "persist",
    Phase.ENDED: "release",
}
NAMES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# How long a step may wait for its job (and the jobs before it) by default.
PATIENCE_S = 10.0
_STEP = re.compile(r"^\s*(\S+)\s+(\S+)\s*$")


class ScheduleError(InvalidInput):
    """A schedule that cannot be read, or a step that cannot happen or would deadlock."""


@dataclass(frozen=True)
class Step:
    """Let job (or request) ``name`` cross the ``phase`` boundary."""

    name: str
    phase: str

    def __str__(self) -> str:
        return f"{self.name} {self.phase}"


@dataclass(frozen=True)
class Schedule:
    """The steps to replay, the strategy and race options they were written for."""

    steps: tuple[Step, ...]
    strategy: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    patience_s: float = PATIENCE_S

    @property
    def steps_text(self) -> list[str]:
        """The steps as written (``A dispatch``)."""
        return [str(step) for step in self.steps]

    @property
    def names(self) -> list[str]:
        """The requests the schedule names, in order."""
        return sorted({step.name for step in self.steps})

    def scenario(self, base: Scenario) -> Scenario:
        """``base`` with the schedule's options; as many requests as the schedule names
        (unless its options say more), one worker per request, arriving together."""
        wanted = max((NAMES.index(name) + 1 for name in self.names), default=1)
        fields: dict[str, Any] = {"requests": wanted, "workers": wanted}
        fields.update(self.options)
        if isinstance(fields.get("arrival"), str):
            fields["arrival"] = Arrival.parse(fields["arrival"])
        return base.changed(**fields).changed(arrival=Arrival())

    def check_fits(self, scenario: Scenario) -> None:
        """``ScheduleError`` unless ``scenario`` can replay this schedule."""
        wanted = max(NAMES.index(name) + 1 for name in self.names)
        if scenario.requests < wanted:
            raise ScheduleError(
                f"schedule: it names {NAMES[wanted - 1]} but the race has only "
                f"{scenario.requests} request{'s' if scenario.requests > 1 else ''}"
            )
        if scenario.mode != "threads":
            raise ScheduleError("schedule: a schedule replays a race in threads mode")


def parse_steps(text: str, where: str = "schedule") -> tuple[Step, ...]:
    """The steps in ``A dispatch, B dispatch, A lock, ...`` (commas or semicolons)."""
    return _steps([part.strip() for part in re.split(r"[,;\n]", text) if part.strip()], where)


def _steps(items: list[Any], where: str) -> tuple[Step, ...]:
    steps: list[Step] = []
    crossed: dict[str, int] = {}
    for number, item in enumerate(items, 1):
        match = _STEP.match(item) if isinstance(item, str) else None
        if match is None:
            raise ScheduleError(
                f"{where}: step {number} {item!r} is not 'JOB PHASE' (e.g. 'A dispatch')"
            )
        name, phase = match.group(1).upper(), match.group(2).lower()
        if len(name) != 1 or name not in NAMES:
            raise ScheduleError(
                f"{where}: step {number} '{item.strip()}': unknown job {match.group(1)!r}; "
                "jobs are named A, B, C, ... (the race's requests 0, 1, 2, ...)"
            )
        if phase not in _ORDER:
            raise ScheduleError(
                f"{where}: step {number} '{name} {phase}': unknown phase {phase!r}; "
                f"expected one of: {', '.join(STEP_PHASES)}"
            )
        before = crossed.get(name, -1)
        if _ORDER[phase] <= before:
            raise ScheduleError(
                f"{where}: step {number} '{name} {phase}' can never happen: {name} crossed "
                f"'{STEP_PHASES[before]}' already (phases go {' > '.join(STEP_PHASES)})"
            )
        if before < 0 and phase != "dispatch":
            raise ScheduleError(
                f"{where}: step {number} '{name} {phase}' can never happen: "
                f"{name} is not dispatched before it"
            )
        crossed[name] = _ORDER[phase]
        steps.append(Step(name, phase))
    if not steps:
        raise ScheduleError(f"{where}: no steps")
    return tuple(steps)


def load_schedule(spec: str) -> Schedule:
    """The schedule in the JSON file ``spec`` names, or written inline (``A dispatch, ...``)."""
    path = Path(spec)
    if not (spec.endswith(".json") or path.is_file()):
        return Schedule(parse_steps(spec))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScheduleError(f"{spec}: no such schedule file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScheduleError(f"{spec}: cannot read it: {error}") from None
    except json.JSONDecodeError as error:
        raise ScheduleError(f"{spec}: not JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise ScheduleError(f'{spec}: expected an object with "steps": ["A dispatch", ...]')
    unknown = set(data) - {"strategy", "race", "steps", "patience_s", "about"}
    if unknown:
        raise ScheduleError(f"{spec}: unknown keys: {', '.join(sorted(unknown))}")
    race = data.get("race", {})
    if not isinstance(race, dict):
        raise ScheduleError(f'{spec}: "race" must be an object of race options')
    bad = set(race) - set(SCENARIO_FIELDS)
    if bad:
        raise ScheduleError(
            f"{spec}: unknown race options: {', '.join(sorted(bad))}; "
            f"expected some of: {', '.join(SCENARIO_FIELDS)}"
        )
    strategy = data.get("strategy")
    patience = data.get("patience_s", PATIENCE_S)
    if strategy is not None and not isinstance(strategy, str):
        raise ScheduleError(f'{spec}: "strategy" must be a strategy name')
    if not isinstance(patience, int | float) or not 0 < patience <= 600:
        raise ScheduleError(f'{spec}: "patience_s" must be a number of seconds, 0 < s <= 600')
    return Schedule(_steps(data["steps"], spec), strategy, dict(race), float(patience))


class ScheduleGate:
    """The race's gate: holds each request and job at its boundaries until its step comes.

    Request threads call :meth:`dispatching` and :meth:`dispatched` around
    their request; job threads meet :meth:`arrive` through the race's event
    sink. :meth:`conduct` (the conductor thread) releases one step at a time.
    """

    def __init__(self, schedule: Schedule, strategy: str) -> None:
        self.schedule = schedule
        self.strategy = strategy
        self._pending: dict[str, deque[str]] = {}
        for step in schedule.steps:
            self._pending.setdefault(step.name, deque()).append(step.phase)
        self._cond = threading.Condition()
        self._names: dict[str, str] = {}  # job id -> name
        self._held: dict[str, str] = {}  # name -> the boundary it waits at
        self._released: set[tuple[str, str]] = set()
        self._running: dict[str, str] = {}  # name -> the step that set it going
        self._crossed: dict[str, int] = {}
        self._joined: dict[str, str] = {}  # request name -> the job it joined (or "stored")
        self._open = False
        self.failure: str | None = None
        self.replayed: list[str] = []  # the steps, in the order they ran
        self._conductor: threading.Thread | None = None

    # The request side -------------------------------------------------------

    def dispatching(self, index: int) -> None:
        """Hold request ``index`` until its ``dispatch`` step."""
        if index < len(NAMES):
            with self._cond:
                self._hold(NAMES[index], "dispatch")

    def dispatched(self, index: int, job_id: str | None, created: bool) -> None:
        """Request ``index`` was answered: it created ``job_id``, joined it, or found the text."""
        if index >= len(NAMES):
            return
        name = NAMES[index]
        with self._cond:
            self._running.pop(name, None)
            if created and job_id is not None:
                self._names[job_id] = name
                # Its job is running (or held, unnamed, at its first boundary).
                self._running[name] = f"{name} dispatch"
            else:
                joined = self._names.get(job_id or "", "")
                self._joined[name] = f"joined job {joined}" if joined else "found the text stored"
                left = self._pending.get(name)
                if left and not self._open:
                    self._fail(
                        f"step '{name} {left[0]}' can never happen under {self.strategy}: "
                        f"request {name} {self._joined[name]}, it has no job of its own"
                    )
            self._cond.notify_all()

    # The job side (core.events.Gate) ----------------------------------------

    def arrive(self, job_id: str, phase: Phase) -> None:
        """Hold ``job_id`` at the boundary ``phase`` is, until its step (see the module)."""
        step = _BOUNDARY.get(phase)
        if step is None:
            return
        with self._cond:
            while job_id not in self._names and not self._open:
                self._cond.wait()
            name = self._names.get(job_id)
            if name is None:
                return
            if phase is Phase.LOCKED and self._crossed.get(name, -1) >= _ORDER["lock"]:
                return  # the lock was its step when it began waiting
            self._hold(name, step)

    def _hold(self, name: str, step: str) -> None:
        """Wait (holding the condition) until ``name`` may cross ``step``."""
        self._running.pop(name, None)
        self._crossed[name] = max(self._crossed.get(name, -1), _ORDER[step])
        left = self._pending.get(name)
        if self._open or not left or _ORDER[step] < _ORDER[left[0]]:
            self._going(name, step)  # a boundary the schedule does not name
            return
        if left[0] != step:
            self._fail(
                f"step '{name} {left[0]}' can never happen under {self.strategy}: "
                f"{name} reached '{step}' without it"
            )
            return
        self._held[name] = step
        self._cond.notify_all()
        while (name, step) not in self._released and not self._open:
            self._cond.wait()
        self._held.pop(name, None)
        self._going(name, step)

    def _going(self, name: str, step: str) -> None:
        if step == "release":
            self._running.pop(name, None)  # its job is over
        else:
            self._running[name] = f"{name} {step}"
        self._cond.notify_all()

    def _fail(self, message: str) -> None:
        if self.failure is None:
            self.failure = message
        self._open = True
        self._cond.notify_all()

    # The conductor ------------------------------------------------------------

    def start(self) -> None:
        """Start releasing steps (on a thread of the gate's own)."""
        self._conductor = threading.Thread(target=self.conduct, name="schedule", daemon=True)
        self._conductor.start()

    def conduct(self) -> None:
        """Release each step once its job waits at it and no job released before still moves."""
        try:
            for number, step in enumerate(self.schedule.steps, 1):
                if not self._release(number, step):
                    return
        finally:
            with self._cond:
                self._open = True
                self._cond.notify_all()

    def _release(self, number: int, step: Step) -> bool:
        deadline = time.monotonic() + self.schedule.patience_s
        with self._cond:
            while not self._open:
                if not self._running and self._held.get(step.name) == step.phase:
                    self._pending[step.name].popleft()
                    self._released.add((step.name, step.phase))
                    # Moving from now on, not from when its thread wakes: the
                    # next step must wait for it.
                    self._running[step.name] = str(step)
                    self.replayed.append(str(step))
                    self._cond.notify_all()
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    self._fail(self._stuck(number, step))
                    return False
                self._cond.wait(left)
            return False

    def _stuck(self, number: int, step: Step) -> str:
        """Why step ``number`` could not run within the patience."""
        waited = f"step {number} '{step}' waited {self.schedule.patience_s:g} s"
        if self._running:
            moving = ", ".join(sorted(self._running.values()))
            return (
                f"{waited}: the job let go by '{moving}' never reached its next step, blocked "
                f"on something a held job has (a deadlock under {self.strategy})"
            )
        at = self._held.get(step.name)
        if at is not None:
            return f"{waited}: {step.name} waits at '{at}', not '{step.phase}'"
        return (
            f"{waited}: {step.name} never reached '{step.phase}' (under {self.strategy}, "
            f"with every worker busy, it may never start: a deadlock)"
        )

    def close(self) -> None:
        """Open the gate for good (the race is over, or stopped) and wait for the conductor."""
        with self._cond:
            self._open = True
            self._cond.notify_all()
        if self._conductor is not None:
            self._conductor.join()

    def check(self) -> None:
        """Raise :class:`ScheduleError` if a step could not happen, or not every step ran."""
        if self.failure is not None:
            raise ScheduleError(f"schedule: {self.failure}")
        if len(self.replayed) < len(self.schedule.steps):
            step = self.schedule.steps[len(self.replayed)]
            raise ScheduleError(
                f"schedule: step {len(self.replayed) + 1} '{step}' never ran (the race ended first)"
            )
