"""Play the scheduler: a race whose next step the learner picks, to try to break a strategy.

A game is a race of a few requests for one slug under one strategy, run on a
thread of its own with a :class:`~.schedule.PlayedGate`, the gate
``race --schedule`` replays schedules with: every request waits before it
asks, every job waits at each boundary (``lock``, ``generate``, ``persist``,
``release``), and nothing moves until the learner plays a step (``A
dispatch``, ``B lock``, ...). After each step the damage so far is counted in
the race's store (jobs, paid AI calls, rows, duplicates, failed jobs, refused
stale writes). When every job has ended the race's metrics and verdict are
the game's result, and what was played is a schedule
(:meth:`StepGame.schedule`) that ``moviemind race --strategy S --schedule
FILE`` replays. A game nobody plays for ``idle_s`` seconds opens its gate:
its jobs run to their end and its threads with them.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviemind_lite.app.outputs import open_output
from moviemind_lite.core.config import Settings
from moviemind_lite.core.errors import InvalidInput, MovieMindError
from moviemind_lite.lab.race import RaceResult, RaceStopped, run_race
from moviemind_lite.lab.scenario import Arrival, Scenario
from moviemind_lite.lab.schedule import IDLE_S, PLAY_PATIENCE_S, PlayedGate, ScheduleError
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.pipeline.strategies import strategy_factory

# A game's crowd: enough to race, few enough to play by hand.
MIN_PLAYERS, MAX_PLAYERS = 2, 6
# The mock AI's latency in a game: the game decides the order, not the clock.
GAME_LATENCY_MS = 20.0
# The damage a game counts, in the order the front ends show it: (key, label).
GAME_DAMAGE = (
    ("jobs", "jobs"),
    ("ai_calls", "AI calls"),
    ("movies", "movies"),
    ("descriptions", "descr."),
    ("duplicate_movies", "dup movies"),
    ("duplicate_descriptions", "dup descr."),
    ("failed_jobs", "failed"),
    ("stale_writes_rejected", "stale refused"),
)
# The counts where anything above zero is harm.
HARMFUL = frozenset({"duplicate_movies", "duplicate_descriptions", "failed_jobs"})
# How long the end of a game (its last jobs, its tally) may take once its gate opened.
_END_S = 30.0


@dataclass(frozen=True)
class GamePlan:
    """What to play: ``strategy`` with ``requests`` requests for one slug."""

    strategy: str
    requests: int = 2

    def __post_init__(self) -> None:
        strategy_factory(self.strategy)
        if isinstance(self.requests, bool) or not isinstance(self.requests, int):
            raise InvalidInput(f"requests must be a whole number, got {self.requests!r}")
        if not MIN_PLAYERS <= self.requests <= MAX_PLAYERS:
            raise InvalidInput(
                f"requests must be {MIN_PLAYERS}..{MAX_PLAYERS} in a game, got {self.requests}"
            )

    def scenario(self, servers: Servers | None = None) -> Scenario:
        """The game's race: its requests for one slug, a worker each, arriving together."""
        engines = Scenario()
        if servers is not None:
            engines = engines.changed(backend=servers.backend, locks=servers.locks)
        return engines.changed(
            requests=self.requests,
            slugs=1,
            workers=self.requests,
            latency_ms=GAME_LATENCY_MS,
            jitter_ms=0.0,
            fail_rate=0.0,
            arrival=Arrival(),
            mode="threads",
        )


class StepGame:
    """One game, racing on a thread of its own from :meth:`start` until its jobs ended."""

    def __init__(
        self,
        plan: GamePlan,
        *,
        servers: Servers | None = None,
        idle_s: float = IDLE_S,
        patience_s: float = PLAY_PATIENCE_S,
    ) -> None:
        self.plan = plan
        self.servers = servers
        self.scenario = plan.scenario(servers)
        self.gate = PlayedGate(plan.strategy, plan.requests, idle_s=idle_s, patience_s=patience_s)
        self.result: RaceResult | None = None
        self.error: str | None = None
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._race, name="lab-game", daemon=True)

    def start(self) -> StepGame:
        """Start the race; return once its requests wait for the learner's first step."""
        self._thread.start()
        if not self.gate.wait_ready(_END_S):
            self.stop()
            raise ScheduleError("the game's race did not start in time")
        return self

    def _race(self) -> None:
        try:
            self.result = run_race(
                self.scenario,
                self.plan.strategy,
                label=f"{self.plan.strategy} (played)",
                stop=self._stop,
                servers=self.servers,
                gate=self.gate,
            )
        except RaceStopped:
            self.error = "the game was stopped"
        except MovieMindError as error:
            self.error = str(error)
        finally:
            self.gate.let_run()  # a race that failed to start leaves nobody held
            self.finished.set()

    def play(self, step: str) -> dict[str, Any]:
        """Play ``step`` (``ScheduleError`` if it cannot be played now); where the game stands.

        A step that ends the game waits for the race's result.
        """
        self.gate.play(step)
        if self.gate.over or self.gate.played_out:
            self.finished.wait(_END_S)
        return self.standing()

    def let_run(self) -> dict[str, Any]:
        """Let every job run freely to its end, and wait for the result."""
        self.gate.let_run()
        self.finished.wait(_END_S)
        return self.standing()

    def stop(self, timeout_s: float = _END_S) -> None:
        """Stop the game: its gate opens, running jobs finish, queued ones are dropped."""
        self.abandon()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def abandon(self) -> None:
        """Stop the game without waiting for it (its page or screen closed)."""
        self._stop.set()
        self.gate.let_run()

    def standing(self) -> dict[str, Any]:
        """Where the game stands (:meth:`PlayedGate.standing`), and its result once over."""
        standing = self.gate.standing()
        standing["requests"] = self.plan.requests
        standing["finished"] = self.finished.is_set()
        standing["error"] = self.error
        result = self.result
        if result is not None:
            metrics = result.metrics
            standing["damage"] = {
                "jobs": metrics.jobs_dispatched,
                "ai_calls": metrics.ai_calls,
                "movies": metrics.movies,
                "descriptions": metrics.descriptions,
                "duplicate_movies": metrics.duplicate_movies,
                "duplicate_descriptions": metrics.duplicate_descriptions,
                "failed_jobs": metrics.failed_jobs,
                "stale_writes_rejected": metrics.stale_writes_rejected,
            }
            standing["verdict"] = metrics.verdict
            standing["correct"] = metrics.correct
        standing["command"] = self.command()
        return standing

    def schedule(self) -> dict[str, Any]:
        """What was played, as a schedule file (``examples/schedules/``'s format)."""
        scenario = self.scenario
        return {
            "about": f"A game played under {self.plan.strategy}, step by step.",
            "strategy": self.plan.strategy,
            "race": {
                "requests": scenario.requests,
                "slugs": scenario.slugs,
                "workers": scenario.workers,
                "latency_ms": scenario.latency_ms,
                "jitter_ms": scenario.jitter_ms,
            },
            "steps": list(self.gate.replayed),
        }

    def command(self, path: str = "game.json") -> str:
        """The command that replays the game once saved to ``path``."""
        return f"moviemind race --strategy {self.plan.strategy} --schedule {path}"


def save_schedule(path: Path, game: StepGame, settings: Settings, *, force: bool) -> None:
    """Write what ``game`` played to ``path`` as a schedule file, the way every file a user
    names is written (never clobbered without ``force``)."""
    with open_output(path, settings, force=force) as file:
        file.write(json.dumps(game.schedule(), indent=2) + "\n")


class NoGame(MovieMindError):
    """No game has been started here (or it was stopped)."""


class GameSeat:
    """The one game a server's lab plays at a time: a new game stops the one before."""

    def __init__(self, servers: Servers | None = None, *, idle_s: float = IDLE_S) -> None:
        self.servers = servers
        self.idle_s = idle_s
        self._game: StepGame | None = None
        self._lock = threading.Lock()

    def start(self, plan: GamePlan) -> StepGame:
        """Start a game of ``plan`` (the one before, if any, is stopped first)."""
        with self._lock:
            before, self._game = self._game, None
        if before is not None:
            before.stop()
        game = StepGame(plan, servers=self.servers, idle_s=self.idle_s).start()
        with self._lock:
            self._game = game
        return game

    def current(self) -> StepGame:
        """The game being played or last played; :class:`NoGame` if none."""
        game = self._game
        if game is None:
            raise NoGame("no game has been started: POST /lab/api/game first")
        return game

    def close(self, timeout_s: float = _END_S) -> None:
        """Stop the game, if one is played, and wait for its race."""
        game = self._game
        if game is not None:
            game.stop(timeout_s)
