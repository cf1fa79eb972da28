"""A race scenario: who asks for what, how the requests arrive, how the AI behaves, what breaks.

Every field has a command-line option of the same name (``--requests``,
``--arrival``, ``--pause-holder`` ...); :meth:`Scenario.validated` is the one
place their ranges are checked, for the CLI and for callers of the core alike.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.core.numbers import MILLISECONDS, PROBABILITY, SEED

Mode = Literal["threads", "processes"]
MODES: tuple[Mode, ...] = ("threads", "processes")
# Where a race's rows and locks live: the embedded engines, or the servers the
# database and locks URLs name (a scratch schema and key prefix per race).
# The AI a race calls: the mock's latency and faults, or a real model run in the process.
AIKind = Literal["mock", "local"]
AI_KINDS: tuple[AIKind, ...] = ("mock", "local")
# A real model's call: at most MOVIEMIND_AI_TIMEOUT_S's ceiling, ten minutes.
LOCAL_CALL_BOUND_MS = 600_000.0
Backend = Literal["sqlite", "postgres"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgres")
LockKind = Literal["file", "redis"]
LOCK_KINDS: tuple[LockKind, ...] = ("file", "redis")
# Enough for a large burst (10,000 slugs x 10); requests beyond
# MAX_CLIENTS share the client threads (see race.RequestCrowd).
MAX_REQUESTS = 100_000
MAX_WORKERS = 64
LOCALE = "en-US"
CONTEXT_TAG = "default"


@dataclass(frozen=True)
class Arrival:
    """How requests arrive: all together behind a barrier, or one every ``spacing_ms``."""

    kind: Literal["burst", "spread"] = "burst"
    spacing_ms: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Arrival:
        """``burst`` or ``spread:MS`` (MS > 0)."""
        spec = text.strip().lower()
        if spec == "burst":
            return cls()
        name, _, value = spec.partition(":")
        if name == "spread" and value:
            try:
                spacing = float(value)
            except ValueError:
                spacing = math.nan
            if MILLISECONDS.narrowed(above_low=True).holds(spacing):
                return cls("spread", spacing)
        raise InvalidInput(
            f"bad arrival {text!r}: use 'burst' or 'spread:MS' with MS > 0 and at most "
            f"{MILLISECONDS.high} (e.g. spread:50)"
        )

    def offset_ms(self, index: int) -> float:
        """When request ``index`` arrives, in ms after the release."""
        return index * self.spacing_ms

    def __str__(self) -> str:
        return "burst" if self.kind == "burst" else f"spread:{self.spacing_ms:g}"


@dataclass(frozen=True)
class Scenario:
    """One race: requests over distinct slugs, served by workers, against a slow AI."""

    requests: int = 10
    slugs: int = 1
    workers: int = 4
    latency_ms: float = 200.0
    jitter_ms: float = 50.0
    fail_rate: float = 0.0
    ttl_ms: float = 5_000.0
    # two-level's generation slot TTL (production's default: ten minutes).
    slot_ttl_ms: float = 600_000.0
    arrival: Arrival = Arrival()
    seed: int = 0
    unique_index: bool = True
    fencing: bool = False
    pause_holder_ms: float = 0.0
    kill_holder: bool = False
    # Processes mode: SIGSTOP the holder's whole process for this long (heartbeats too).
    stop_holder_ms: float = 0.0
    # Processes mode: each worker process's clock runs this much ahead of the one
    # started before it (the first one's is right).
    skew_ms: float = 0.0
    mode: Mode = "threads"
    keep: bool = False
    backend: Backend = "sqlite"
    locks: LockKind = "file"
    ai: AIKind = "mock"
    # The local AI's GGUF file (None: the model package's, as MOVIEMIND_AI_MODEL_PATH).
    ai_model_path: str | None = None

    def validated(self) -> Scenario:
        """This scenario, or ``InvalidInput`` naming the first value out of range."""
        if not 1 <= self.requests <= MAX_REQUESTS:
            raise InvalidInput(f"requests must be 1..{MAX_REQUESTS}, got {self.requests}")
        if not 1 <= self.slugs <= self.requests:
            raise InvalidInput(f"slugs must be 1..requests ({self.requests}), got {self.slugs}")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise InvalidInput(f"workers must be 1..{MAX_WORKERS}, got {self.workers}")
        for name in ("latency_ms", "jitter_ms", "pause_holder_ms", "stop_holder_ms"):
            MILLISECONDS.check(getattr(self, name), _option(name))
        MILLISECONDS.check(self.skew_ms, "skew")
        MILLISECONDS.narrowed(above_low=True).check(self.ttl_ms, "ttl")
        MILLISECONDS.narrowed(above_low=True).check(self.slot_ttl_ms, "slot ttl")
        PROBABILITY.check(self.fail_rate, "fail rate")
        SEED.check(self.seed, "seed")
        if self.mode not in MODES:
            raise InvalidInput(f"unknown mode {self.mode!r}; expected one of: {', '.join(MODES)}")
        if self.backend not in BACKENDS:
            raise InvalidInput(
                f"unknown backend {self.backend!r}; expected one of: {', '.join(BACKENDS)}"
            )
        if self.locks not in LOCK_KINDS:
            raise InvalidInput(
                f"unknown locks {self.locks!r}; expected one of: {', '.join(LOCK_KINDS)}"
            )
        if self.ai not in AI_KINDS:
            raise InvalidInput(f"unknown AI {self.ai!r}; expected one of: {', '.join(AI_KINDS)}")
        faults = (self.fail_rate, self.pause_holder_ms, self.stop_holder_ms, self.kill_holder)
        if self.ai != "mock" and any(faults):
            raise InvalidInput(
                "--fail-rate, --pause-holder, --stop-holder and --kill-holder are the mock AI's: "
                "a real model fails and stalls on its own"
            )
        if self.kill_holder and self.mode != "processes":
            raise InvalidInput("--kill-holder needs --mode processes (a thread cannot be killed)")
        if self.stop_holder_ms > 0 and self.mode != "processes":
            raise InvalidInput(
                "--stop-holder needs --mode processes (SIGSTOP freezes a whole process)"
            )
        if self.skew_ms > 0 and self.mode != "processes":
            raise InvalidInput("--skew-ms needs --mode processes (a clock is per process)")
        if self.stop_holder_ms > 0 and (self.kill_holder or self.pause_holder_ms > 0):
            raise InvalidInput(
                "give one holder fault: --pause-holder, --stop-holder or --kill-holder"
            )
        return self

    def changed(self, **changes: Any) -> Scenario:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes).validated()

    def slug_for(self, index: int) -> str:
        """The slug request ``index`` asks for (requests take the slugs in turn)."""
        return f"race-movie-{index % self.slugs + 1:03d}"

    def all_slugs(self) -> list[str]:
        """Every slug the scenario asks for."""
        return [self.slug_for(index) for index in range(self.slugs)]

    @property
    def rounds(self) -> int:
        """How many AI calls one worker makes at the least: one per slug, ``workers`` at a
        time."""
        return math.ceil(self.slugs / self.workers)

    @property
    def ideal_ms(self) -> float:
        """The race's floor with the mock AI: the AI calls alone, one per slug, ``workers``
        at a time (a real model's is measured: :attr:`RaceResult.ideal_ms`)."""
        return self.rounds * self.latency_ms

    @property
    def longest_call_ms(self) -> float:
        """The longest one AI call may take: the mock's knobs say; a real model's call is
        bounded by the AI timeout's ceiling alone (it may queue behind the others)."""
        return LOCAL_CALL_BOUND_MS if self.ai == "local" else self.slowest_job_ms

    @property
    def slowest_job_ms(self) -> float:
        """The longest one AI call plus the holder's pause (or stop) can take."""
        return self.latency_ms + self.jitter_ms + self.pause_holder_ms + self.stop_holder_ms

    def to_json(self) -> dict[str, Any]:
        """The scenario as JSON, the arrival as its option text."""
        return {**asdict(self), "arrival": str(self.arrival)}

    def as_options(self) -> str:
        """The command-line options that set this scenario (defaults left out)."""
        default = Scenario()
        words = []
        for name, value in vars(self).items():
            if value == getattr(default, name):
                continue
            option = "--" + _option(name).replace(" ", "-")
            if name == "unique_index":
                words.append("--no-unique-index")
            elif isinstance(value, bool):
                words.append(option)
            else:
                words.append(
                    f"{option} {value:g}" if isinstance(value, float) else f"{option} {value}"
                )
        return " ".join(words)


SCENARIO_FIELDS: tuple[str, ...] = tuple(Scenario.__dataclass_fields__)


def _option(field_name: str) -> str:
    """The words of a field's option: ``pause_holder_ms`` is ``pause holder``
    (``skew_ms`` keeps its unit: ``--skew-ms``)."""
    if field_name == "skew_ms":
        return "skew ms"
    return field_name.removesuffix("_ms").replace("_", " ")
