"""What every command module shares: the session, error translation, common options."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from moviemind_lite.core.display import visible, visible_json
from moviemind_lite.core.domain import CONTEXT_TAGS, LOCALES
from moviemind_lite.core.errors import InvalidInput, MovieMindError
from moviemind_lite.core.numbers import MILLISECONDS, PROBABILITY, SECONDS, Range

if TYPE_CHECKING:
    from moviemind_lite.app.wiring import App
    from moviemind_lite.core.config import Settings


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


@dataclass
class Session:
    """Per-invocation state: the chosen home, settings and the open application."""

    home: str | None
    database_url: str | None = None
    locks_url: str | None = None
    ai_overrides: dict[str, float] = field(default_factory=dict)
    _app: App | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """Settings from ``--home``, the environment and AI options, validated once."""
        from moviemind_lite.core.config import load_settings

        settings = load_settings(
            self.home, database_url=self.database_url, locks_url=self.locks_url
        )
        return settings.with_ai(**self.ai_overrides) if self.ai_overrides else settings

    def app(self, *, load_sample: bool = True) -> App:
        """The application over the home's database, opened on first use.

        A database created now gets the sample catalog unless ``load_sample``
        is off (an import into a new home holds only the file's rows).
        """
        if self._app is None:
            from moviemind_lite.app.wiring import build_app

            self._app = build_app(self.settings(), load_sample=load_sample)
        return self._app

    def close(self) -> None:
        """Close the database if it was opened."""
        if self._app is not None:
            self._app.close()
            self._app = None


pass_session = click.make_pass_decorator(Session)


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


class MovieMindGroup(click.Group):
    """The root group: every error, click's usage errors included, is one line."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; in standalone mode print errors on one line and exit."""
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            # `moviemind` or `moviemind movies` alone asks what there is: the help, exit 0.
            if not standalone_mode:
                raise
            click.echo(error.format_message())
            sys.exit(0)
        except click.UsageError as error:
            if not standalone_mode:
                raise
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
            click.echo(f"Error: {visible(error.format_message())}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            if not standalone_mode:
                raise
            # Messages quote what the user typed or what a file held: one line, shown as data.
            click.echo(f"Error: {visible(error.format_message())}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            if not standalone_mode:
                raise
            click.echo("Aborted.", err=True)
            sys.exit(1)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result


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
