"""The Lab tab's options form: what the boxes hold, and the race they describe.

Each box is a :class:`~moviemind_lite.lab.scenario.Scenario` field, as the
``race`` and ``compare`` options are; the text typed is parsed here and the
ranges are checked by :meth:`Scenario.validated`, the one place the lab checks
them. A :class:`RacePlan` is what the Run key starts: a named scenario, played
as ``moviemind lab run`` plays it, or the form's strategies raced over the
form's scenario, as ``moviemind compare`` races them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.lab.lesson import Lesson
from moviemind_lite.lab.race import strategy_names
from moviemind_lite.lab.scenario import Arrival, Scenario
from moviemind_lite.lab.teaching import RaceLesson

CUSTOM = "custom"
PROCESSES = "processes"
# The check box racing with a real model (the scenario's ai is "local") instead of the mock.
REAL_MODEL = "real-model"


def _whole(text: str) -> int:
    return int(text)


def _number(text: str) -> float:
    return float(text)


def _show_number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class TextField:
    """A box of the form: the scenario field it sets, its label, how its text is read."""

    name: str
    label: str
    parse: Callable[[str], Any]
    what: str

    def read(self, text: str) -> Any:
        """The value typed, or ``InvalidInput`` naming the box."""
        try:
            return self.parse(text.strip())
        except InvalidInput as error:
            raise InvalidInput(f"{self.label}: {error}") from None
        except ValueError:
            raise InvalidInput(f"{self.label}: {text.strip()!r} is not {self.what}") from None


TEXT_FIELDS: tuple[TextField, ...] = (
    TextField("requests", "requests", _whole, "a whole number"),
    TextField("slugs", "slugs", _whole, "a whole number"),
    TextField("workers", "workers", _whole, "a whole number"),
    TextField("latency_ms", "latency", _number, "a number of ms"),
    TextField("jitter_ms", "jitter", _number, "a number of ms"),
    TextField("fail_rate", "fail rate", _number, "a number between 0 and 1"),
    TextField("ttl_ms", "TTL", _number, "a number of ms"),
    TextField("arrival", "arrival", Arrival.parse, "burst or spread:MS"),
    TextField("seed", "seed", _whole, "a whole number"),
    TextField("pause_holder_ms", "pause", _number, "a number of ms"),
)
# The check boxes: (name, label). "processes" is the mode; the others are fields.
SWITCHES: tuple[tuple[str, str], ...] = (
    ("fencing", "fencing"),
    ("unique_index", "unique index"),
    ("kill_holder", "kill holder"),
    (PROCESSES, "processes"),
    (REAL_MODEL, "real model"),
)
# The switches that are not a boolean field of the scenario.
_DERIVED = (PROCESSES, REAL_MODEL)


def form_texts(scenario: Scenario) -> dict[str, str]:
    """What each box shows for ``scenario``."""
    return {field.name: _show_number(getattr(scenario, field.name)) for field in TEXT_FIELDS}


def form_switches(scenario: Scenario) -> dict[str, bool]:
    """Whether each check box is ticked for ``scenario``."""
    return {
        name: scenario.mode == PROCESSES
        if name == PROCESSES
        else scenario.ai == "local"
        if name == REAL_MODEL
        else bool(getattr(scenario, name))
        for name, _ in SWITCHES
    }


def scenario_from_form(texts: Mapping[str, str], switches: Mapping[str, bool]) -> Scenario:
    """The validated scenario the form describes, or ``InvalidInput`` for the first bad box."""
    values: dict[str, Any] = {field.name: field.read(texts[field.name]) for field in TEXT_FIELDS}
    values.update({name: switches[name] for name, _ in SWITCHES if name not in _DERIVED})
    values["mode"] = PROCESSES if switches[PROCESSES] else "threads"
    values["ai"] = "local" if switches[REAL_MODEL] else "mock"
    return Scenario(**values).validated()


def lesson_strategies(lesson: Lesson) -> str:
    """The strategies a named scenario races, for the strategies box ("" for none)."""
    if not isinstance(lesson, RaceLesson):
        return ""
    names = list(dict.fromkeys(run.strategy for run in lesson.runs))
    return "all" if names == strategy_names("all") else ",".join(names)


@dataclass(frozen=True)
class RacePlan:
    """What one press of Run races.

    A named scenario (``lesson``) is played whole, with its explanation and
    check; otherwise each of ``strategies`` races ``scenario``. ``labels``
    are the runs known in advance, in the order they will race.
    """

    lesson: Lesson | None
    fast: bool
    scenario: Scenario
    strategies: tuple[str, ...]
    labels: tuple[str, ...]

    @property
    def name(self) -> str:
        """The named scenario, or ``custom``."""
        return self.lesson.name if self.lesson is not None else CUSTOM

    def command(self) -> str:
        """The command that runs the same thing from a shell."""
        if self.lesson is not None:
            return f"moviemind lab run {self.lesson.name}" + (" --fast" if self.fast else "")
        options = self.scenario.as_options()
        return f"moviemind compare --strategies {','.join(self.strategies)}" + (
            f" {options}" if options else ""
        )


def named_plan(lesson: Lesson, fast: bool) -> RacePlan:
    """Play ``lesson`` (its reduced variant if ``fast``)."""
    if isinstance(lesson, RaceLesson):
        labels = tuple(run.label for run in lesson.runs)
        strategies = tuple(dict.fromkeys(run.strategy for run in lesson.runs))
        return RacePlan(lesson, fast, lesson.scenario, strategies, labels)
    return RacePlan(lesson, fast, Scenario(), (), ())


def custom_plan(
    strategies: str, texts: Mapping[str, str], switches: Mapping[str, bool]
) -> RacePlan:
    """Race the strategies named in ``strategies`` (``a,b`` or ``all``) over the form's scenario."""
    try:
        names = tuple(strategy_names(strategies))
    except InvalidInput as error:
        raise InvalidInput(f"strategies: {error}") from None
    scenario = scenario_from_form(texts, switches)
    return RacePlan(None, False, scenario, names, names)
