"""What every command module shares: the session, error translation, common options.

The root command's own needs (its group and the session) live in
:mod:`moviemind_lite.cli.root`, so that ``moviemind --help`` loads this
module's imports only when a command does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from moviemind_lite.cli.root import MovieMindGroup as MovieMindGroup
from moviemind_lite.cli.root import Session as Session
from moviemind_lite.cli.root import pass_session as pass_session
from moviemind_lite.core.display import visible, visible_json
from moviemind_lite.core.domain import CONTEXT_TAGS, LOCALES
from moviemind_lite.core.errors import InvalidInput, MovieMindError
from moviemind_lite.core.numbers import MILLISECONDS, PROBABILITY, SECONDS, Range

if TYPE_CHECKING:
    pass


class Number(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.3 on
    """A number option kept to one range of :mod:`moviemind_lite.core.numbers`.

    ``nan``, the infinities, ``1e309`` and anything past the range's bound
    are refused with the range in the message (exit 2); so is ``1.5`` for a
    whole number.
    """

    name = "number"

    def __init__(self, within: Range) -> None:
        self.within = within

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The checked number (an int for a whole-number range)."""
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return self.within.check(value, "value")
            return self.within.parse(str(value), "value")
        except InvalidInput:
            self.fail(f"{str(value)!r} is not {self.within.description}", param, ctx)


class FileName(click.Path):
    """The name of a file to write: ``click.Path(dir_okay=False)``, and never empty.

    ``Path("")`` is the current folder; an empty ``--output ""`` is a mistake.
    """

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, or a usage error for an empty name."""
        if isinstance(value, str) and not value.strip():
            self.fail("the file name is empty", param, ctx)
        return super().convert(value, param, ctx)


class UsageProblem(click.ClickException):
    """Bad input found by the core: one line on stderr, exit 2."""

    exit_code = 2


def fail(error: MovieMindError) -> NoReturn:
    """Translate a core error into the click exception with the right exit code."""
    if isinstance(error, InvalidInput):
        raise UsageProblem(str(error)) from None
    raise click.ClickException(str(error)) from None


@contextmanager
def core_errors() -> Iterator[None]:
    """Run a block that calls the core; its errors become one-line CLI errors."""
    try:
        yield
    except MovieMindError as error:
        fail(error)


def stdin_is_terminal() -> bool:
    """Whether a person may be there to answer a question (a confirmation)."""
    return sys.stdin.isatty()


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON, keeping non-ASCII text readable (controls escaped)."""
    click.echo(visible_json(value, indent=2))


def cell(value: object) -> Any:
    """A rich table cell showing ``value`` as plain text: never markup, controls spelled out.

    Stored text goes into tables only through here (see :mod:`moviemind_lite.core.display`).
    """
    from rich.text import Text

    return Text("" if value is None else visible(str(value)))


locale_option = click.option(
    "--locale",
    metavar="LOCALE",
    help=f"Locale of the text: {', '.join(LOCALES)} (default: MOVIEMIND_LOCALE or en-US).",
)
context_option = click.option(
    "--context",
    "context_tag",
    default="default",
    show_default=True,
    metavar="TAG",
    help=f"Context tag of the text: {', '.join(CONTEXT_TAGS)}.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def ai_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--ai-latency``, ``--ai-jitter`` and ``--ai-fail-rate``, overriding MOVIEMIND_AI_*."""

    def remember(ctx: click.Context, param: click.Parameter, value: float | None) -> None:
        if value is not None and param.name is not None:
            ctx.ensure_object(Session).ai_overrides[param.name.removeprefix("ai_")] = value

    for name, help_text, kind, metavar in (
        ("--ai-fail-rate", "Probability that an AI call fails (0..1).", PROBABILITY, "P"),
        ("--ai-jitter", "Random extra AI latency, up to MS.", MILLISECONDS, "MS"),
        ("--ai-latency", "AI latency in MS.", MILLISECONDS, "MS"),
    ):
        dest = name.removeprefix("--").replace("-", "_").replace("ai_latency", "ai_latency_ms")
        dest = dest.replace("ai_jitter", "ai_jitter_ms")
        command = click.option(
            name,
            dest,
            type=Number(kind),
            metavar=metavar,
            callback=remember,
            expose_value=False,
            is_eager=False,
            help=help_text,
        )(command)
    return command


timeout_option = click.option(
    "--timeout",
    type=Number(SECONDS),
    metavar="S",
    help="Stop waiting after S seconds (the job goes on).",
)


@contextmanager
def spinner(message: str, quiet: bool = False) -> Iterator[None]:
    """A spinner on stderr while a job runs, when stderr is a terminal."""
    if quiet or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


def table_console() -> Any:
    """A rich console for tables: terminal width on a terminal, wide when piped."""
    from rich.console import Console

    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
