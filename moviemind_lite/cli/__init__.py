"""The ``moviemind`` command: parse, make one core call, print.

Each area lives in its own module; heavy modules (the store, rich, textual)
are imported inside the commands that need them, so
``moviemind --help`` stays fast.
"""

from __future__ import annotations

import click

from moviemind_lite import __version__
from moviemind_lite.cli import (
    ai,
    catalog,
    entities,
    flags,
    jobs,
    keys,
    lab,
    monitor,
    rollout,
    serve,
    tui,
)
from moviemind_lite.cli.base import MovieMindGroup, Session

__all__ = ["cli", "main"]


@click.group(cls=MovieMindGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    metavar="DIR",
    help="Data folder holding moviemind.db, locks/ and logs/ (default: MOVIEMIND_HOME or ./data).",
)
@click.version_option(__version__, "-V", "--version", prog_name="moviemind")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """MovieMind Lite: AI-written movie descriptions and a locking lab, on SQLite."""
    session = Session(home)
    ctx.obj = session
    ctx.call_on_close(session.close)


for command in (
    entities.init,
    entities.movies,
    entities.people,
    entities.demo,
    catalog.catalog,
    jobs.jobs,
    jobs.worker,
    monitor.stats,
    monitor.logs,
    ai.ai_group,
    flags.flags,
    tui.tui,
    rollout.rollout,
    lab.race,
    lab.compare,
    lab.lab,
    serve.serve,
    keys.keys,
):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="moviemind")
