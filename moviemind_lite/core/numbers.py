"""The ranges of the numbers MovieMind reads: one range per kind of number.

Every number a user can set (``MOVIEMIND_*`` variables, command-line options,
the TUI's forms) is one of the kinds below, and is read and checked by its
:class:`Range`. ``nan``, the infinities and anything past the upper bound are
refused with a message naming the range. The upper bounds are not what the
machine can hold but what makes sense: a simulated AI call, a lease or a
wait of more than a day is a typo, and a timestamp that far ahead no longer
fits the platform's clock (``--latency 1e23`` used to end in
``OverflowError``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from moviemind_lite.core.errors import InvalidSetting

DAY_MS = 86_400_000
DAY_S = 86_400


def _shown(value: float) -> str:
    if isinstance(value, int) or (
        math.isfinite(value) and value.is_integer() and abs(value) < 1e15
    ):
        return str(int(value))
    return f"{value:g}"


@dataclass(frozen=True)
class Range:
    """Where one kind of number may lie: ``low`` (or above it) to ``high``, whole or not."""

    low: float
    high: float
    unit: str = ""
    whole: bool = False
    above_low: bool = False
    note: str = ""

    @property
    def description(self) -> str:
        """``a number of ms from 0 to 86400000 (one day)``: what the messages say."""
        noun = "a whole number" if self.whole else "a number"
        if self.unit:
            noun += f" of {self.unit}"
        if self.above_low:
            span = f"above {_shown(self.low)} and at most {_shown(self.high)}"
        else:
            span = f"from {_shown(self.low)} to {_shown(self.high)}"
        return f"{noun} {span}" + (f" ({self.note})" if self.note else "")

    def narrowed(
        self, low: float | None = None, high: float | None = None, *, above_low: bool | None = None
    ) -> Range:
        """The same kind of number with tighter bounds (a lease must be above 0 ms)."""
        return replace(
            self,
            low=self.low if low is None else low,
            high=self.high if high is None else high,
            above_low=self.above_low if above_low is None else above_low,
        )

    def holds(self, value: float) -> bool:
        """Whether ``value`` is a number of this range (a finite one, whole if it must be)."""
        if isinstance(value, bool):
            return False
        if isinstance(value, float):
            if not math.isfinite(value) or (self.whole and not value.is_integer()):
                return False
        elif not isinstance(value, int):
            return False
        above = value > self.low if self.above_low else value >= self.low
        return above and value <= self.high

    def check(self, value: float, what: str) -> float:
        """``value`` if this range holds it, else :class:`InvalidSetting` naming ``what``."""
        if not self.holds(value):
            raise InvalidSetting(f"{what} must be {self.description}, got {_shown(value)}")
        return int(value) if self.whole else float(value)

    def parse(self, text: str, what: str) -> float:
        """The number written in ``text``, checked; :class:`InvalidSetting` naming ``what``."""
        value = _number(text.strip())
        if value is None or not self.holds(value):
            raise InvalidSetting(f"{what}={text!r} is not {self.description}")
        return int(value) if self.whole else float(value)


def _number(text: str) -> float | None:
    # Whole numbers are read as int first, so a long one keeps every digit.
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


MILLISECONDS = Range(0, DAY_MS, unit="ms", note="one day")
SECONDS = Range(0, DAY_S, unit="s", note="one day")
PROBABILITY = Range(0, 1)
PERCENTAGE = Range(0, 100, whole=True)
# How many of something (rows shown, jobs, rows per batch): more than there can be.
COUNT = Range(0, 1_000_000_000, whole=True)
# Random seeds: any that fits a signed 64-bit integer.
SEED = Range(0, 2**63 - 1, whole=True)
