"""How the Lab tab draws a race: timelines, verdicts, the results table and bar charts.

Colours carry meaning but never alone: each timeline phase has its own
character (``=`` generating, ``-`` waiting ...) and the legend names them;
a verdict is spelled out ("correct", "31 failed jobs") and marked with a
tick or a cross as well as coloured; a chart's bars end with their number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from moviemind_lite.core.events import Phase
from moviemind_lite.lab.lesson import Check, Outcome
from moviemind_lite.lab.metrics import DAMAGE_COLUMNS, TABLE_COLUMNS, Metrics
from moviemind_lite.lab.timeline import GLYPHS, TimelineRow, draw_bar
from moviemind_lite.tui.cells import clip, format_ms

PHASE_STYLE: dict[str, str] = {
    Phase.QUEUED: "dim",
    Phase.WAITING: "yellow",
    Phase.LOCKED: "cyan",
    Phase.GENERATING: "bold magenta",
    Phase.PAUSED: "bold yellow",
    Phase.PERSISTING: "green",
    Phase.KILLED: "bold red",
}
GLYPH_STYLE: dict[str, str] = {GLYPHS[phase]: style for phase, style in PHASE_STYLE.items()}
LABEL_WIDTH = 8
MAX_ENDING = 21
MIN_BAR = 10
# Jobs drawn per run; the rest are counted.
ROWS_PER_RUN = 10
BLOCKS = " ▏▎▍▌▋▊▉█"


def legend() -> Text:
    """Each phase's character, in its colour, with its name."""
    out = Text()
    for index, (phase, glyph) in enumerate(GLYPHS.items()):
        if index:
            out.append(" ")
        out.append(glyph, style=PHASE_STYLE.get(phase, ""))
        out.append(f" {phase}")
    return out


def verdict_text(verdict: str, as_expected: bool) -> Text:
    """``✓ correct`` in green, or ``✗ what went wrong`` in red."""
    if as_expected:
        return Text(f"✓ {verdict}", style="bold green")
    return Text(f"✗ {verdict}", style="bold red")


def check_text(check: Check) -> Text:
    """``check PASSED: ...`` (green) or ``check FAILED: ...`` (red)."""
    out = Text("check ")
    out.append(
        "PASSED" if check.passed else "FAILED", style="bold green" if check.passed else "bold red"
    )
    out.append(f": {check.message}")
    return out


def short_label(label: str) -> str:
    """A job's label in :data:`LABEL_WIDTH` columns: ``race-movie-001 ab12`` is ``001 ab12``."""
    return clip(label.removeprefix("race-movie-"), LABEL_WIDTH)


def bar_width(width: int, endings: Sequence[str]) -> int:
    """Columns left for the bars once labels, frames and endings have theirs."""
    ending = min(MAX_ENDING, max((len(text) for text in endings), default=0))
    return max(MIN_BAR, width - LABEL_WIDTH - ending - 5)


def timeline_lines(rows: Sequence[TimelineRow], hidden: int) -> Text:
    """One line per job: label, the phases as coloured characters, how it ended."""
    out = Text()
    for row in rows:
        out.append(f" {short_label(row.label):<{LABEL_WIDTH}} |")
        for glyph in row.bar:
            out.append(glyph, style=GLYPH_STYLE.get(glyph, ""))
        out.append("| ")
        out.append(clip(row.ending, MAX_ENDING), style="bold red" if "fail" in row.ending else "")
        out.append("\n")
    if hidden:
        out.append(f" … and {hidden} more job{'s' if hidden != 1 else ''}\n", style="dim")
    return out


@dataclass
class LiveRun:
    """One run of a race as the Lab tab follows it: its jobs' phases and its answers so far."""

    label: str
    jobs: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    answered: int = 0
    total: int = 0

    @property
    def started(self) -> bool:
        """Whether anything has happened in this run yet."""
        return bool(self.jobs) or self.answered > 0

    def add(self, job_id: str, phase: str, at: float) -> None:
        """A job of this run entered ``phase`` at ``at``."""
        self.jobs.setdefault(job_id, []).append((phase, at))

    def rows(self, width: int, now: float) -> tuple[list[TimelineRow], int]:
        """Bars for the first :data:`ROWS_PER_RUN` jobs up to ``now``, and how many are left out."""
        if not self.jobs:
            return [], 0
        shown = list(self.jobs.items())[:ROWS_PER_RUN]
        start = min(events[0][1] for _, events in shown)
        endings = [self._state(events) for _, events in shown]
        columns = bar_width(width, endings)
        rows = [
            TimelineRow(
                f"job {job_id[-4:]}",
                draw_bar(sorted(events, key=lambda event: event[1]), start, now, columns),
                ending,
                job_id,
            )
            for (job_id, events), ending in zip(shown, endings, strict=True)
        ]
        return rows, len(self.jobs) - len(shown)

    @staticmethod
    def _state(events: list[tuple[str, float]]) -> str:
        phases = [phase for phase, _ in sorted(events, key=lambda event: event[1])]
        return "ended" if Phase.ENDED in phases else phases[-1]


def bar_chart(title: str, rows: Sequence[tuple[str, float, str]], width: int) -> Text:
    """A horizontal bar per row, ``(label, value, value as text)``, scaled to the largest."""
    out = Text(title + "\n", style="bold")
    if not rows:
        return out
    label_width = max(len(label) for label, _, _ in rows)
    value_width = max(len(shown) for _, _, shown in rows)
    columns = max(MIN_BAR, width - label_width - value_width - 4)
    top = max(value for _, value, _ in rows) or 1.0
    for label, value, shown in rows:
        eighths = round(value / top * columns * 8)
        if value > 0:
            eighths = max(eighths, 1)
        bar = BLOCKS[-1] * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")
        out.append(f" {label:<{label_width}} ")
        out.append(bar, style="cyan")
        out.append(f" {shown}\n")
    return out


def chart_text(labelled: Sequence[tuple[str, Metrics]], width: int) -> Text:
    """AI calls and wall time per strategy, as two bar charts."""
    out = bar_chart(
        "AI calls per run",
        [(label, float(m.ai_calls), str(m.ai_calls)) for label, m in labelled],
        width,
    )
    out.append("\n")
    out.append_text(
        bar_chart(
            "wall time per run",
            [(label, m.wall_ms, format_ms(m.wall_ms)) for label, m in labelled],
            width,
        )
    )
    return out


# The race table's columns after the run's label and verdict, most telling first.
RACE_COLUMNS: tuple[tuple[str, Callable[[Metrics], Any]], ...] = tuple(
    (header, TABLE_COLUMNS[header])
    for header in (
        "AI calls",
        "wall ms",
        "jobs",
        "dedup",
        "movies",
        "descr.",
        "dup movies",
        "dup descr.",
        "failed",
        "stale refused",
        "latency p50/p95/max ms",
        "lock wait ms",
    )
)


def race_cells(metrics: Metrics) -> list[str | Text]:
    """The table cells of one run after its label and verdict."""
    cells: list[str | Text] = []
    for header, show in RACE_COLUMNS:
        value = show(metrics)
        text = str(value)
        cells.append(Text(text, style="bold red") if header in DAMAGE_COLUMNS and value else text)
    return cells


def outcome_cells(outcome: Outcome) -> list[str | Text]:
    """The table cells of a run that is not a race (the flag scenarios)."""
    return [value for _, value in outcome.cells]
