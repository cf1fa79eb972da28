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

A job let go at its ``lock`` step that is still waiting for the lock
(``waiting`` announced, ``locked`` not) and silent for :data:`SETTLE_S` is
parked, not moving: the next step may go (typically the holder's, which lets
it have the lock). A step that cannot happen (the strategy never takes a lock,
the request joined another job) or that waits on a job the schedule holds (a
deadlock) ends the race with one clear line within ``patience_s`` seconds, the
gate opened so that every job finishes.

:class:`PlayedGate` is the same gate played by a learner: it holds every job
at every boundary and takes its next step from :meth:`PlayedGate.play`, so a
game played is a schedule (``replayed``) that ``race --schedule`` replays.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.core.events import Phase
from moviemind_lite.lab.metrics import damage_so_far
from moviemind_lite.lab.scenario import SCENARIO_FIELDS, Arrival, Scenario
from moviemind_lite.store.db import Database
from moviemind_lite.store.locking import Slots
from moviemind_lite.store.tallies import tally

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
# How long a job let go at its lock step stays silent before it counts as parked
# on the lock (another job holds it) rather than moving.
SETTLE_S = 0.3
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
        read = read_step(item, f"{where}: step {number}")
        name, phase = read.name, read.phase
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


def read_step(item: object, where: str = "step") -> Step:
    """One step, ``A dispatch``: a known job name and phase (``ScheduleError`` otherwise)."""
    match = _STEP.match(item) if isinstance(item, str) else None
    if match is None:
        raise ScheduleError(f"{where} {item!r} is not 'JOB PHASE' (e.g. 'A dispatch')")
    name, phase = match.group(1).upper(), match.group(2).lower()
    if len(name) != 1 or name not in NAMES:
        raise ScheduleError(
            f"{where} '{str(item).strip()}': unknown job {match.group(1)!r}; "
            "jobs are named A, B, C, ... (the race's requests 0, 1, 2, ...)"
        )
    if phase not in _ORDER:
        raise ScheduleError(
            f"{where} '{name} {phase}': unknown phase {phase!r}; "
            f"expected one of: {', '.join(STEP_PHASES)}"
        )
    return Step(name, phase)


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
        self._lock_wait: set[str] = set()  # let go at 'lock', waiting for it ('locked' not yet)
        self._ended: set[str] = set()
        self._moved_at = time.monotonic()
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
            self._changed()

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
                # The lock was its step when it began waiting; it has the lock now.
                self._lock_wait.discard(name)
                self._changed()
                return
            self._hold(name, step)
            if phase is Phase.WAITING:
                self._lock_wait.add(name)

    def _waits_at(self, name: str, step: str) -> bool:
        """Whether ``name`` must wait at boundary ``step`` for a step of the schedule."""
        left = self._pending.get(name)
        if not left or _ORDER[step] < _ORDER[left[0]]:
            return False  # a boundary the schedule does not name
        if left[0] != step:
            self._fail(
                f"step '{name} {left[0]}' can never happen under {self.strategy}: "
                f"{name} reached '{step}' without it"
            )
            return False
        return True

    def _hold(self, name: str, step: str) -> None:
        """Wait (holding the condition) until ``name`` may cross ``step``."""
        self._running.pop(name, None)
        self._crossed[name] = max(self._crossed.get(name, -1), _ORDER[step])
        if self._open or not self._waits_at(name, step):
            self._going(name, step)
            return
        self._held[name] = step
        self._changed()
        while (name, step) not in self._released and not self._open:
            self._cond.wait()
        self._held.pop(name, None)
        self._going(name, step)

    def _going(self, name: str, step: str) -> None:
        if step == "release":
            self._running.pop(name, None)  # its job is over
            self._ended.add(name)
        else:
            self._running[name] = f"{name} {step}"
        self._changed()

    def _changed(self) -> None:
        self._moved_at = time.monotonic()
        self._cond.notify_all()

    def _fail(self, message: str) -> None:
        if self.failure is None:
            self.failure = message
        self._open = True
        self._cond.notify_all()

    def _moving_for(self) -> float:
        """0 when no job moves (jobs parked on a lock aside), else how long to wait and look.

        A job let go at its lock step that is silent for :data:`SETTLE_S` while
        it waits for the lock is parked: the lock is another job's.
        """
        if not self._running:
            return 0.0
        if set(self._running) <= self._lock_wait:
            return max(self._moved_at + SETTLE_S - time.monotonic(), 0.0)
        return math.inf

    def _let_go(self, step: Step) -> None:
        """Let ``step`` happen now (its job waits at it and nobody moves)."""
        pending = self._pending.get(step.name)
        if pending:
            pending.popleft()
        self._released.add((step.name, step.phase))
        # Moving from now on, not from when its thread wakes: the next step must wait for it.
        self._running[step.name] = str(step)
        self.replayed.append(str(step))
        self._changed()

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
                moving = self._moving_for()
                if moving == 0 and self._held.get(step.name) == step.phase:
                    self._let_go(step)
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    self._fail(self._stuck(number, step))
                    return False
                self._cond.wait(min(left, moving) if moving else left)
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

    def count_on(self, database: Database, slots: Slots) -> None:
        """The race's store, where a played game counts its damage (a replay counts at the end)."""
        del database, slots


# How long a game waits for the learner's next step before it opens the gate (left alone):
# an abandoned game's jobs then run to their end, and its threads with them.
IDLE_S = 120.0
# How long the jobs a played step set going may take to reach their next boundary.
PLAY_PATIENCE_S = 5.0


class PlayedGate(ScheduleGate):
    """A schedule whose next step comes from the learner: every boundary holds its job.

    :meth:`play` hands a step to the conductor thread, which lets it go if
    its job waits at it, waits until the jobs it set going reach their next
    boundary (or park on a lock), counts the damage in the race's store, and
    answers. Nobody playing for ``idle_s`` seconds opens the gate, as does
    :meth:`let_run`: every job then runs freely to its end. What was played
    (``replayed``) replays with ``race --schedule``.
    """

    def __init__(
        self,
        strategy: str,
        requests: int,
        *,
        idle_s: float = IDLE_S,
        patience_s: float = PLAY_PATIENCE_S,
    ) -> None:
        super().__init__(Schedule((), strategy, patience_s=patience_s), strategy)
        self.requests = min(requests, len(NAMES))
        self.idle_s = idle_s
        self.left_alone = False
        self._moves: deque[Step] = deque()
        self._asked = 0
        self._answered = 0
        self._refusals: dict[int, str] = {}
        self._store: tuple[Database, Slots] | None = None
        self._damage: dict[str, int] = {}

    def _waits_at(self, name: str, step: str) -> bool:
        return True  # every boundary is the learner's to open

    def count_on(self, database: Database, slots: Slots) -> None:
        """Count the damage in ``database`` after each step."""
        self._store = (database, slots)

    def check(self) -> None:
        """Nothing: a game's deadlock or abandonment is told by :meth:`standing`, not raised."""

    # The learner ------------------------------------------------------------------

    def play(self, text: str) -> None:
        """Play step ``text`` (``B lock``); return once its jobs reached their next boundary.

        ``ScheduleError`` (one line) for a step that cannot be played now.
        """
        step = read_step(text)
        with self._cond:
            if self._open:
                raise ScheduleError(f"'{step}': the game is over")
            self._asked += 1
            number = self._asked
            self._moves.append(step)
            self._cond.notify_all()
            # Bounded: the conductor answers within its patience, or opens the gate.
            deadline = time.monotonic() + self.schedule.patience_s + SETTLE_S + 5.0
            while self._answered < number:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ScheduleError(f"'{step}': no answer from the game")
                self._cond.wait(left)
            refusal = self._refusals.pop(number, None)
        if refusal is not None:
            raise ScheduleError(refusal)

    def let_run(self) -> None:
        """Open the gate: every job runs freely to its end (the game's end, or its stop)."""
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait until every request waits for its first step (or the gate opened)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self._held) < self.requests and not self._open:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    @property
    def played_out(self) -> bool:
        """Whether every request has its answer coming: its job ended, or it needed none."""
        with self._cond:
            return all(
                name in self._ended or name in self._joined for name in NAMES[: self.requests]
            )

    @property
    def over(self) -> bool:
        """Whether the gate is open: the race runs freely to its end."""
        return self._open

    def standing(self) -> dict[str, Any]:
        """Where the game stands: each request's job and where it is, the steps that may be
        played now, the steps played, the damage so far, and why the gate opened (if it did)."""
        with self._cond:
            names = NAMES[: self.requests]
            quiet = self._moving_for() == 0 and not self._open
            message = self.failure
            if message is None and self.left_alone:
                message = (
                    f"nobody played for {self.idle_s:g} s: the gate opened and every job ran "
                    "to its end"
                )
            return {
                "strategy": self.strategy,
                "jobs": [{"name": name, "where": self._where(name)} for name in names],
                "moves": [f"{name} {self._held[name]}" for name in names if name in self._held]
                if quiet
                else [],
                "played": list(self.replayed),
                "damage": dict(self._damage),
                "over": self._open,
                "message": message,
            }

    def _where(self, name: str) -> str:
        if name in self._held:
            return f"waits at '{self._held[name]}'"
        if name in self._joined:
            return self._joined[name]
        if name in self._ended:
            return "ended"
        if name in self._lock_wait and name in self._running:
            return "waits for the lock (another job has it)"
        if name in self._running:
            return "moving"
        return "running freely" if self._open else "not started"

    # The conductor ------------------------------------------------------------------

    def conduct(self) -> None:
        """Take the learner's steps one at a time until the race ends or nobody plays."""
        try:
            self._count()
            while (step := self._next_move()) is not None:
                self._play(step)
        finally:
            with self._cond:
                self._open = True
                self._answered = self._asked
                self._cond.notify_all()

    def _next_move(self) -> Step | None:
        with self._cond:
            deadline = time.monotonic() + self.idle_s
            while not self._moves and not self._open:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.left_alone = True
                    self._open = True
                    self._cond.notify_all()
                    return None
                self._cond.wait(left)
            return None if self._open else self._moves.popleft()

    def _play(self, step: Step) -> None:
        with self._cond:
            number = self._answered + 1
            refusal = self._refusal(step)
            if refusal is None:
                self._let_go(step)
                self._settle(step)
        if refusal is None:
            self._count()
        with self._cond:
            if refusal is not None:
                self._refusals[number] = refusal
            self._answered = number
            self._cond.notify_all()

    def _refusal(self, step: Step) -> str | None:
        if step.name not in NAMES[: self.requests]:
            last = NAMES[self.requests - 1]
            return f"'{step}': there is no {step.name}; the requests of this game are A to {last}"
        if self._held.get(step.name) == step.phase and self._moving_for() == 0:
            return None
        playable = [f"{name} {at}" for name, at in sorted(self._held.items())]
        return (
            f"'{step}' cannot be played now: {step.name} {self._where(step.name)}; "
            f"playable: {', '.join(playable) or 'nothing'}"
        )

    def _settle(self, step: Step) -> None:
        """Wait (holding the condition) until the jobs ``step`` set going stop moving."""
        deadline = time.monotonic() + self.schedule.patience_s
        while not self._open:
            moving = self._moving_for()
            if moving == 0:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                running = ", ".join(sorted(self._running.values()))
                self._fail(
                    f"'{step}' waited {self.schedule.patience_s:g} s: the job let go by "
                    f"'{running}' never reached its next step, blocked on something a held job "
                    f"has (a deadlock under {self.strategy}); every job now runs to its end"
                )
                return
            self._cond.wait(min(left, moving))

    def _count(self) -> None:
        # On the conductor's thread, which the race joins before it closes its store.
        if self._store is not None:
            counted = tally(*self._store, MOVIE)
            with self._cond:
                self._damage = damage_so_far(counted, len(self._names))
