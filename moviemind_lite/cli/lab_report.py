"""``--html FILE`` on ``race``, ``compare``, ``lab run`` and ``demo``: the race as a web page.

The page is drawn by :mod:`moviemind_lite.lab.report` from the races' data;
this module adds the option, refuses a file that would be clobbered before
any race runs, and writes the page afterwards.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from moviemind_lite.cli.base import FileName, Session, core_errors

if TYPE_CHECKING:
    from moviemind_lite.lab.lesson import LessonReport
    from moviemind_lite.lab.race import RaceResult
    from moviemind_lite.lab.scratch import Servers


def html_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--html FILE``: also write the race as one self-contained HTML page."""
    return click.option(
        "--html",
        "html_path",
        type=FileName(),
        metavar="FILE",
        help="Also write the race as one self-contained HTML page (timelines, damage and "
        "cost, the rerun commands) to FILE; --force replaces it.",
    )(command)


def html_force_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--force`` for commands whose only output file is the ``--html`` page."""
    return click.option("--force", is_flag=True, help="Replace the --html FILE if it exists.")(
        command
    )


def check_html(path: Path | None, session: Session, force: bool) -> None:
    """Refuse the ``--html`` file now, before the races, if it could not be written."""
    if path is None:
        return
    from moviemind_lite.app.outputs import check_output

    with core_errors():
        check_output(path, session.settings(), force=force)


def _with_html(command: str, path: Path) -> str:
    return f"{command} --html {shlex.quote(str(path))}"


def write_html(
    path: Path | None,
    session: Session,
    force: bool,
    command: str,
    servers: Servers,
    *,
    races: Sequence[RaceResult] = (),
    lessons: Sequence[LessonReport] = (),
) -> None:
    """Write the page of ``races`` (``race``, ``compare``) or of played ``lessons`` (``lab
    run``, ``demo``) to ``path``, if given; ``command`` reran them."""
    if path is None:
        return
    from moviemind_lite.lab.report import lessons_page, races_page, write_report

    with core_errors():
        shown = _with_html(command, path)
        data = (
            lessons_page(lessons, shown, servers) if lessons else races_page(races, shown, servers)
        )
        write_report(path, data, session.settings(), force=force)
    click.echo(f"wrote the report to {path}", err=True)
