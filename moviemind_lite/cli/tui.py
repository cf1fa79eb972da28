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
def tui(session: Session, tab: str, poll: float) -> None:
    """Open the terminal UI: catalog, jobs, flags, log and lab (ctrl+q quits)."""
    # Textual is imported here only: `moviemind --help` must not pay for it.
    from moviemind_lite.tui.app import make_app

    with core_errors():
        app = make_app(session.settings(), poll_interval=poll, start_tab=tab)
    try:
        app.run()
    finally:
        # After run(): its worker threads have finished with the database.
        app.core.close()
