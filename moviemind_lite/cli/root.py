"""The root command's group and the per-invocation session: all ``moviemind --help`` loads.

Kept apart from :mod:`moviemind_lite.cli.base` (options, number types,
error translation) so that the help of the root command costs click and
little more; everything heavier is imported by the command that runs.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from moviemind_lite.core.display import visible

if TYPE_CHECKING:
    from moviemind_lite.app.wiring import App
    from moviemind_lite.core.config import Settings


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


class Session:
    """Per-invocation state: the chosen home, engines, AI options and the open application."""

    def __init__(
        self, home: str | None, database_url: str | None = None, locks_url: str | None = None
    ) -> None:
        self.home = home
        self.database_url = database_url
        self.locks_url = locks_url
        self.ai_overrides: dict[str, float] = {}
        self._app: App | None = None

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
