"""How the lab's results reach a terminal: tables, timelines and text that fit its width.

The width is the terminal's when stdout is one, else ``COLUMNS``, else 80
columns. A table never cuts a name or a number to fit: it keeps the label,
the verdict and the damage columns first, fills the row with what else fits,
and shows the remaining columns in a second table (and a third, and so on)
under the same labels. Text wraps at words, a command at its options (with
shell line continuations, so it still pastes), and timeline bars are drawn as
wide as the line allows.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import click

from moviemind_lite.lab.metrics import DAMAGE_COLUMNS, TABLE_COLUMNS

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from moviemind_lite.lab.lesson import Outcome
    from moviemind_lite.lab.race import RaceResult

# Without a terminal and without COLUMNS, output is laid out for this width.
DEFAULT_WIDTH = 80
# Narrower than this, nothing useful fits; wider, lines get hard to follow.
MIN_WIDTH, MAX_WIDTH = 40, 1000
# A timeline bar is at least this many columns and at most this many.
MIN_BAR, MAX_BAR = 10, 120
# A text column (a label, a verdict) wraps past this many columns when the
# width runs short.
TEXT_WIDTH = 30
# Timeline rows shown per race before "... and N more jobs".
TIMELINE_ROWS = 16


def output_width() -> int:
    """The width lab output is laid out for: the terminal's, else ``COLUMNS``, else 80."""
    if sys.stdout.isatty():
        columns = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    else:
        try:
            columns = int(os.environ.get("COLUMNS", "") or DEFAULT_WIDTH)
        except ValueError:
            columns = DEFAULT_WIDTH
    return min(MAX_WIDTH, max(MIN_WIDTH, columns))


def width_console(width: int) -> Console:
    """A rich console that lays everything out ``width`` columns wide."""
    from rich.console import Console

    return Console(width=width, soft_wrap=False, highlight=False)


# The race table's columns after the label and the verdict, in the order they
# are kept when the width runs short: the damage first.
RACE_COLUMNS = (
    "dup movies",
    "dup descr.",
    "failed",
    "AI calls",
    "wall ms",
    "requests",
    "jobs",
    "dedup",
    "movies",
    "descr.",
    "stale refused",
    "latency p50/p95/max ms",
    "lock wait ms",
)


@dataclass(frozen=True)
class Column:
    """One column of a table to lay out: its header, its cells, how it is aligned."""

    header: str
    cells: tuple[Text, ...]
    justify: Literal["left", "right"] = "right"

    @property
    def minimum(self) -> int:
        """The narrowest it can be without cutting a word: its longest word."""
        words = [word for text in (self.header, *self.plain) for word in text.split()]
        return max((len(word) for word in words), default=1)

    @property
    def natural(self) -> int:
        """Its width on one line: its longest cell or header."""
        return max(len(text) for text in (self.header, *self.plain))

    @property
    def preferred(self) -> int:
        """The width it asks for: a text column (the label, the verdict) its natural width up
        to :data:`TEXT_WIDTH`; a number column its longest word (a header may wrap)."""
        if self.justify == "left":
            return max(self.minimum, min(self.natural, TEXT_WIDTH))
        return self.minimum

    @property
    def plain(self) -> tuple[str, ...]:
        """The cells' text without styles."""
        return tuple(cell.plain for cell in self.cells)


def table_width(widths: Sequence[int]) -> int:
    """How wide a rich table with these column widths is (edges, padding, separators)."""
    return sum(widths) + 3 * len(widths) + 1


def pack(label: Column, kept: Sequence[Column], width: int) -> list[list[Column]]:
    """The columns split into tables that each fit ``width``: each table starts with
    ``label``, the first takes ``kept`` columns in their order while they fit (the first of
    them always), the next ones what is left."""
    tables: list[list[Column]] = []
    current: list[Column] = [label]
    for column in kept:
        fits = table_width([c.preferred for c in [*current, column]]) <= width
        if not fits and len(current) > 1:
            tables.append(current)
            current = [label]
        current.append(column)
    tables.append(current)
    return tables


def widths_for(columns: Sequence[Column], width: int) -> list[int]:
    """Each column's width: its preferred one (its minimum when those do not fit), then the
    room left shared out up to its natural width, the columns that need least first (so
    that as many as can be are on one line)."""
    widths = [column.preferred for column in columns]
    if table_width(widths) > width:
        widths = [column.minimum for column in columns]
    spare = width - table_width(widths)
    for index in sorted(range(len(columns)), key=lambda i: columns[i].natural - widths[i]):
        extra = max(0, min(spare, columns[index].natural - widths[index]))
        widths[index] += extra
        spare -= extra
    return widths


def print_packed(label: Column, kept: Sequence[Column], width: int) -> None:
    """Print the columns as one table, or several under the same labels, ``width`` wide."""
    from rich.table import Table

    console = width_console(width)
    for columns in pack(label, kept, width):
        table = Table(header_style="bold")
        for column, size in zip(columns, widths_for(columns, width), strict=True):
            table.add_column(
                column.header,
                justify=column.justify,
                width=size,
                overflow="fold",
            )
        for row in zip(*(column.cells for column in columns), strict=True):
            table.add_row(*row)
        console.print(table)


def styled(text: str, style: str = "") -> Text:
    """Plain text (never markup) in ``style``."""
    from rich.text import Text

    return Text(text, style=style)


def verdict_cell(verdict: str, as_expected: bool) -> Text:
    """The verdict in words, green when it is what it should be, red when not."""
    return styled(verdict, "green" if as_expected else "red")


def number_cell(header: str, value: Any) -> Text:
    """A metric as text; red where it counts damage."""
    text = f"{value:.0f}" if isinstance(value, float) else str(value)
    return styled(text, "red" if header in DAMAGE_COLUMNS and value else "")


def print_results_table(results: Sequence[RaceResult], width: int | None = None) -> None:
    """One row per strategy: the label, the verdict spelled out and coloured, the damage,
    then every other metric, in as many tables as the width needs."""
    width = width or output_width()
    label = Column("strategy", tuple(styled(r.label) for r in results), "left")
    verdict = Column(
        "verdict",
        tuple(verdict_cell(r.metrics.verdict, r.metrics.correct) for r in results),
        "left",
    )
    metrics = [
        Column(
            header, tuple(number_cell(header, TABLE_COLUMNS[header](r.metrics)) for r in results)
        )
        for header in RACE_COLUMNS
    ]
    print_packed(label, [verdict, *metrics], width)


def print_outcomes_table(outcomes: Sequence[Outcome], width: int | None = None) -> None:
    """A lesson's runs that are not races: one row each, the verdict coloured, first."""
    width = width or output_width()
    label = Column("run", tuple(styled(o.label) for o in outcomes), "left")
    verdict = Column(
        "verdict", tuple(verdict_cell(o.verdict, o.as_expected) for o in outcomes), "left"
    )
    cells = [
        Column(header, tuple(styled(dict(o.cells)[header]) for o in outcomes))
        for header, _ in outcomes[0].cells
    ]
    print_packed(label, [verdict, *cells], width)


def wrapped(text: str, width: int | None = None, indent: str = "") -> str:
    """``text`` wrapped at words to ``width``; lines after the first indented by ``indent``."""
    return click.wrap_text(
        text, width or output_width(), subsequent_indent=indent, preserve_paragraphs=True
    )


def echo_wrapped(text: str, width: int | None = None, indent: str = "") -> None:
    """Print ``text`` wrapped to the width."""
    click.echo(wrapped(text, width, indent))


def command_lines(
    command: str, width: int | None = None, prompt: str = "$ ", continuation: str = " \\"
) -> str:
    """A shell command laid out to the width: broken before an option (an option and its
    value stay together), each broken line ending in ``continuation`` (a ``\\``, so that
    it still pastes as one command)."""
    width = width or output_width()
    chunks: list[str] = []
    for word in command.split(" "):
        if chunks and not word.startswith("-"):
            chunks[-1] += " " + word
        else:
            chunks.append(word)
    lines: list[str] = []
    line = prompt + chunks[0]
    for chunk in chunks[1:]:
        if len(line) + 1 + len(chunk) + len(continuation) > width:
            lines.append(line + continuation)
            line = "    " + chunk
        else:
            line += " " + chunk
    return "\n".join([*lines, line])


def bar_width(results: Sequence[RaceResult], width: int | None = None) -> int:
    """How wide the timeline bars of ``results`` can be drawn, one width for them all, so
    that every line ``  LABEL |BAR| ENDING`` fits the width."""
    width = width or output_width()
    rows = [row for result in results for row in result.timeline[:TIMELINE_ROWS]]
    label_width = max((len(row.label) for row in rows), default=0)
    ending_width = max((len(row.ending) for row in rows), default=0)
    return min(MAX_BAR, max(MIN_BAR, width - label_width - ending_width - 6))


def print_timeline(
    result: RaceResult,
    rows_shown: int = TIMELINE_ROWS,
    width: int | None = None,
    bar: int | None = None,
) -> None:
    """One bar line per job: how it moved through waiting, generating and persisting,
    the bars ``bar`` columns wide (by default, as wide as the line allows)."""
    width = width or output_width()
    bar = bar or bar_width([result], width)
    shown = result.timeline_drawn(bar)[:rows_shown]
    label_width = max((len(row.label) for row in shown), default=0)
    click.echo()
    echo_wrapped(
        f"timeline: {result.label} (0 to {result.span_ms:.0f} ms, "
        f"one column = {result.span_ms / bar:.0f} ms)",
        width,
        "  ",
    )
    for row in shown:
        click.echo(f"  {row.label:<{label_width}} |{row.bar}| {row.ending}")
    if len(result.timeline) > len(shown):
        click.echo(f"  ... and {len(result.timeline) - len(shown)} more jobs")


def print_legend(width: int | None = None) -> None:
    """What the timeline's characters mean, broken between entries."""
    from moviemind_lite.lab.timeline import GLYPHS

    width = width or output_width()
    first, *entries = [f"{glyph} {name}" for name, glyph in GLYPHS.items()]
    lines: list[str] = []
    line = f"legend: {first}"
    for entry in entries:
        if len(line) + 2 + len(entry) > width:
            lines.append(line)
            line = " " * len("legend: ") + entry
        else:
            line += "  " + entry
    click.echo()
    click.echo("\n".join([*lines, line]))


def print_status(passed: bool, message: str, width: int | None = None) -> None:
    """``check PASSED: ...`` (green) or ``check FAILED: ...`` (red), wrapped to the width,
    the lines after the first indented so that the sentence reads as one."""
    word = "PASSED" if passed else "FAILED"
    text = wrapped(f"check {word}: {message}", width, "  ")
    coloured = click.style(word, fg="green" if passed else "red")
    click.echo("\n" + text.replace(word, coloured, 1))
