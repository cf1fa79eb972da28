"""The ``tui`` command: the Textual app over the same home as every other command."""

from __future__ import annotations

import click

from moviemind_lite.cli.base import Number, Session, core_errors, pass_session
from moviemind_lite.core.numbers import SECONDS
from moviemind_lite.tui import TAB_IDS


@click.command()
@click.option(
    "--tab",
    type=click.Choice(TAB_IDS),
    default="catalog",
    show_default=True,
    help="The tab to open on.",
)
@click.option(
    "--poll",
    type=Number(SECONDS.narrowed(low=0.1)),
    default=1.0,
    show_default=True,
    metavar="S",
    help="Seconds between looks at the database (jobs, flags).",
)
@pass_session
@click.pass_context
def tui(ctx: click.Context, session: Session, tab: str, poll: float) -> None:
    """Open the terminal UI: catalog, jobs, flags, log and lab (ctrl+q quits)."""
    # Textual is imported here only: `moviemind --help` must not pay for it.
    from moviemind_lite.tui.app import make_app

    with core_errors():
        app = make_app(session.settings(), poll_interval=poll, start_tab=tab)
    try:
        app.run()
    finally:
        busy = app.worker_threads.busy
        if busy:
            click.echo(f"waiting for {busy} background task(s) to finish…", err=True)
        # Waits for the worker threads to be done with the database, then closes it.
        app.close()
    if app.return_code:
        # Textual has shown what went wrong; the exit status must say so too.
        ctx.exit(app.return_code)
