"""``moviemind catalog import`` and ``export``: catalog files in and out."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from moviemind_lite.cli.base import (
    FileName,
    Number,
    Session,
    UsageProblem,
    core_errors,
    json_option,
    pass_session,
    print_json,
)
from moviemind_lite.core.display import visible
from moviemind_lite.core.numbers import COUNT

if TYPE_CHECKING:
    from rich.console import Console

    from moviemind_lite.app.files.formats import FileFormat
    from moviemind_lite.app.files.transfer import ImportReport
    from moviemind_lite.core.domain import OnConflict
    from moviemind_lite.core.model import ProgressCallback

# Spelled out rather than imported so that ``--help`` does not load the store;
# tests/test_catalog_io.py checks they match ON_CONFLICT_CHOICES and FORMATS.
ON_CONFLICT = ("skip", "update")
FORMATS = ("csv", "json", "jsonl")
KINDS = ("movies", "people")
BATCH_SIZE = 2000
FAILURES_SHOWN = 20


@click.group(name="catalog")
def catalog() -> None:
    """Import and export movies and people as CSV, JSON or JSON Lines."""


@contextmanager
def progress_bar(console: Console, description: str) -> Iterator[ProgressCallback | None]:
    """A progress callback drawing a bar on ``console``; ``None`` when nothing would show."""
    if console.quiet or not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield on_progress


def print_import_report(report: ImportReport) -> None:
    """Print an import's summary per kind, its failures and what it ignored."""
    for result in report.results:
        click.echo(result.summary())
        for failure in result.failed[:FAILURES_SHOWN]:
            click.echo(f"  {visible(failure.location)}: {visible(failure.reason)}")
        hidden = len(result.failed) - FAILURES_SHOWN
        if hidden > 0:
            click.echo(f"  ... and {hidden} more (--json lists them all)")
    if report.ignored:
        ignored = visible(", ".join(report.ignored))
        click.echo(f"Ignored fields: {ignored} (import takes facts only).")
    if not report.changed and not report.failed:
        click.echo("Nothing changed.")


@catalog.command(name="import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    help="What the file holds (default: the sections of a JSON document, else movies).",
)
@click.option(
    "--on-conflict",
    type=click.Choice(ON_CONFLICT),
    default="skip",
    show_default=True,
    help="For a slug already stored: leave it as it is (skip) or overwrite its facts (update).",
)
@click.option(
    "--batch-size",
    type=Number(COUNT.narrowed(low=1)),
    default=BATCH_SIZE,
    show_default=True,
    metavar="N",
    help="Rows written per transaction.",
)
@json_option
@pass_session
def import_command(
    session: Session,
    file: Path,
    kind: str | None,
    on_conflict: str,
    batch_size: int,
    as_json: bool,
) -> None:
    """Import movies or people from FILE (.csv, .json, .jsonl or .ndjson).

    Exit status: 0 when every row landed or was skipped, 1 when some rows
    failed (each is listed with its line and reason), 2 when the file cannot
    be used at all. A home without a database gets one holding only the file's
    rows, not the sample catalog.
    """
    from rich.console import Console

    from moviemind_lite.app.files.formats import read_catalog_file
    from moviemind_lite.core.domain import kind_named

    with core_errors():
        # Read first, so an unusable file leaves the home untouched.
        catalog_file = read_catalog_file(file, kind_named(kind) if kind else None)
        console = Console(stderr=True, quiet=as_json)
        catalog = session.app(load_sample=False).catalog
        with progress_bar(console, f"Importing {file.name}") as on_progress:
            report = catalog.import_file(
                catalog_file,
                on_conflict=cast("OnConflict", on_conflict),
                batch_size=batch_size,
                on_progress=on_progress,
            )
    if as_json:
        print_json(report.to_json())
    else:
        print_import_report(report)
    if report.stopped is not None:
        raise click.ClickException(report.stopped)
    if report.failed:
        click.get_current_context().exit(1)


@catalog.command(name="export")
@click.option(
    "--kind",
    type=click.Choice((*KINDS, "all")),
    default="movies",
    show_default=True,
    help="What to export; 'all' writes a JSON document with both.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="File format (default: from the --output extension, else csv).",
)
@click.option(
    "--output",
    "-o",
    type=FileName(),
    metavar="FILE",
    help="Write to FILE instead of standard output.",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists (keeping its mode).")
@pass_session
def export_command(
    session: Session, kind: str, fmt: str | None, output: Path | None, force: bool
) -> None:
    """Export stored movies or people (slugs and facts, sorted by slug).

    An existing FILE is replaced only with --force; the home's database files
    are never written.
    """
    from moviemind_lite.app.files.formats import format_for
    from moviemind_lite.app.outputs import check_output, open_output
    from moviemind_lite.core.domain import MOVIE, PERSON, kind_named

    with core_errors():
        chosen = cast("FileFormat", fmt or (format_for(output) if output else "csv"))
        kinds = [MOVIE, PERSON] if kind == "all" else [kind_named(kind)]
        if chosen != "json" and len(kinds) > 1:
            raise UsageProblem(f"--kind all needs --format json; a {chosen} file holds one kind")
        if output is not None:
            # Refuse before the database is opened (or created).
            check_output(output, session.settings(), force=force)
        catalog = session.app().catalog
        if output is None:
            catalog.export(kinds, chosen, sys.stdout)
            return
        with open_output(output, session.settings(), force=force) as stream:
            counts = catalog.export(kinds, chosen, stream)
    written = " and ".join(f"{number} {plural}" for plural, number in counts.items())
    click.echo(f"Exported {written} to {visible(str(output))}")
