"""Catalog commands: init, movies and people (list, show), demo."""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from moviemind_lite.cli.base import (
    Number,
    Session,
    UsageProblem,
    ai_options,
    cell,
    context_option,
    core_errors,
    json_option,
    locale_option,
    pass_session,
    print_json,
    spinner,
    stdin_is_terminal,
    table_console,
    timeout_option,
)
from moviemind_lite.cli.lab_report import check_html, html_force_option, html_option
from moviemind_lite.core.display import visible
from moviemind_lite.core.domain import MOVIE, PERSON, EntityKind
from moviemind_lite.core.numbers import COUNT

if TYPE_CHECKING:
    from moviemind_lite.app.views import EntityView, RequestOutcome


@click.command()
@click.option("--reset", is_flag=True, help="Delete the database first and start over.")
@click.option("--yes", is_flag=True, help="Do not ask before --reset deletes data.")
@pass_session
def init(session: Session, reset: bool, yes: bool) -> None:
    """Create the database and load the sample catalog (safe to run again)."""
    from moviemind_lite.app.home import reset_home

    with core_errors():
        settings = session.settings()
        if reset:
            if not yes:
                click.confirm(
                    f"Delete {settings.database_shown} with every job and text in it?", abort=True
                )
            reset_home(settings)
        report = session.app().catalog.initialise()
    counts = ", ".join(f"{number} {table}" for table, number in report.counts.items())
    verb = "Created" if report.created else "Ready:"
    click.echo(f"{verb} {visible(report.database)} ({counts})")


def _headline(view_entity: Any) -> str:
    facts = view_entity.facts
    year = facts.get("year")
    label = visible(str(view_entity.label))
    return f"{label} ({visible(str(year))})" if year else label


def _fact_line(kind: EntityKind, facts: dict[str, Any]) -> str:
    parts = []
    for name in kind.fields:
        value = facts.get(name)
        if name in (kind.label_column, "year") or value in (None, "", []):
            continue
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        parts.append(f"{name.replace('_', ' ')}: {visible(shown)}")
    return " · ".join(parts)


def print_view(view: EntityView, width: int | None = None) -> None:
    """Print an entity and its text the way ``show`` does (wrapped to ``width`` if given)."""

    def echo(line: str) -> None:
        click.echo(click.wrap_text(line, width, preserve_paragraphs=True) if width else line)

    entity = view.entity
    echo(_headline(entity))
    facts = _fact_line(entity.kind, entity.facts)
    echo(f"slug: {entity.slug}" + (f" · {facts}" if facts else ""))
    click.echo()
    if view.text is None:
        echo(f"No {view.locale} {entity.kind.text_noun} ({view.context_tag}) yet.")
        return
    text = view.text
    echo(visible(text.text, lines=True))
    click.echo()
    role = "" if text.is_baseline else " · alternative"
    click.echo(f"[{text.locale} · {text.context_tag} · v{text.version} · {text.origin}{role}]")


@contextmanager
def batch_progress(total: int, quiet: bool) -> Iterator[Callable[[Any], None] | None]:
    """A rich progress bar on stderr (when it is a terminal) fed by the batch's callback."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[bold]generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "dispatched {task.fields[dispatched]} · failed {task.fields[failed]} · "
            "waiting {task.fields[waiting]} · {task.fields[rate]:.1f} AI calls/s"
        ),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("batch", total=total, dispatched=0, failed=0, waiting=0, rate=0.0)

        def update(progress: Any) -> None:
            bar.update(
                task,
                completed=progress.done + progress.failed,
                dispatched=progress.dispatched,
                failed=progress.failed,
                waiting=progress.waiting,
                rate=progress.ai_calls_per_s,
            )

        yield update


def print_outcome(outcome: RequestOutcome, as_json: bool) -> None:
    """Print how a show or regenerate request ended; a failed job exits 1."""
    job = outcome.job
    if as_json:
        print_json(outcome.to_json())
    elif outcome.status == "queued" and job:
        click.echo(f"queued {job.id}")
    elif outcome.status == "in_progress" and job:
        click.echo(f"in progress {job.id}")
    elif outcome.view is not None:
        print_view(outcome.view)
        if job is not None:
            click.echo(f"job {job.id}: {job.result}")
    if outcome.status == "failed" and job:
        raise click.ClickException(
            f"job {job.id} failed after {job.attempts} attempt(s): {job.error}"
        )


# Characters of each text shown by `texts` (the whole text: `show --text-id`).
TEXT_PREVIEW = 60


def _list_columns(kind: EntityKind) -> list[str]:
    return ["slug", *(name for name in kind.fields if name != "genres")]


def _plural_of(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


class KindGroup(click.Group):
    """The ``movies`` or ``people`` group: the module's commands, worded for one kind.

    Each command below is written once; the group adds a copy whose help
    (and its options' help) names its kind, and the command reads the kind
    back from its group with :func:`current_kind`.
    """

    def __init__(self, kind: EntityKind, commands: list[click.Command]) -> None:
        super().__init__(name=kind.plural, help=f"Browse and show {kind.plural}.")
        self.kind = kind
        for command in commands:
            self.add_command(self._worded(command))

    def _worded(self, command: click.Command) -> click.Command:
        words = {
            "noun": self.kind.name,
            "plural": self.kind.plural,
            "text_noun": self.kind.text_noun,
            "label": self.kind.label_column,
        }
        copied = copy.copy(command)
        copied.help = (command.help or "").format(**words)
        copied.params = []
        for param in command.params:
            param = copy.copy(param)
            if isinstance(param, click.Option) and param.help:
                param.help = param.help.format(**words)
            copied.params.append(param)
        return copied


def current_kind() -> EntityKind:
    """The kind of the group the running command was called through."""
    parent = click.get_current_context().parent
    group = parent.command if parent is not None else None
    if not isinstance(group, KindGroup):
        raise click.UsageError("this command runs under `movies` or `people`")
    return group.kind


def _printed_alone(items: Sequence[Any], as_json: bool, none_found: str) -> bool:
    """Print ``items`` as JSON, or say none was found; whether that was all there is to show."""
    if as_json:
        print_json([item.summary() for item in items])
        return True
    if not items:
        click.echo(none_found)
        return True
    return False


def _plain_table() -> Any:
    """A rich table without borders, its header bold."""
    from rich.table import Table

    return Table(box=None, header_style="bold")


@click.command(name="list", help="List stored {plural}, sorted by {label}.")
@click.option("--search", metavar="TEXT", help="Only {plural} whose slug or {label} contains TEXT.")
@click.option("--limit", type=Number(COUNT), metavar="N", help="Show at most N.")
@json_option
@pass_session
def list_command(session: Session, search: str | None, limit: int | None, as_json: bool) -> None:
    kind = current_kind()
    with core_errors():
        entities = session.app().catalog.list_entities(kind, search=search, limit=limit)
    if _printed_alone(entities, as_json, f"No {kind.plural} found."):
        return
    table = _plain_table()
    columns = _list_columns(kind)
    for name in columns:
        table.add_column(name.replace("_", " "), no_wrap=name == "slug")
    for entity in entities:
        row = {"slug": entity.slug, **entity.facts}
        table.add_row(*(cell(row[name]) for name in columns))
    table_console().print(table)
    click.echo(f"{len(entities)} {kind.plural if len(entities) != 1 else kind.name}")


@click.command(
    name="texts",
    help="List every {text_noun} of a {noun}: baselines and the alternatives "
    "`regenerate` wrote (show one with `{plural} show SLUG --text-id ID`).",
)
@click.argument("slug")
@json_option
@pass_session
def texts_command(session: Session, slug: str, as_json: bool) -> None:
    kind = current_kind()
    with core_errors():
        texts = session.app().catalog.texts_of(kind, slug)
    if _printed_alone(texts, as_json, f"{slug} has no {kind.text_noun}s yet."):
        return
    table = _plain_table()
    for column in ("id", "locale", "context", "version", "origin", "role", "updated"):
        table.add_column(column, no_wrap=True)
    table.add_column("text", no_wrap=True, overflow="ellipsis")
    for text in texts:
        table.add_row(
            text.id,
            text.locale,
            cell(text.context_tag),
            str(text.version),
            text.origin,
            "baseline" if text.is_baseline else "alternative",
            text.updated_at,
            cell(text.text[:TEXT_PREVIEW]),
        )
    table_console().print(table)
    click.echo(_plural_of(len(texts), kind.text_noun))


@click.command(
    name="delete",
    help="Delete a stored {noun} with its {text_noun}s. Asks first on a terminal; "
    "elsewhere it needs --yes. Jobs that wrote it keep their history.",
)
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Delete without asking.")
@pass_session
def delete_command(session: Session, slug: str, yes: bool) -> None:
    kind = current_kind()
    if not yes and not stdin_is_terminal():
        raise UsageProblem(
            f"{kind.plural} delete asks before it deletes: add --yes to delete without asking"
        )
    with core_errors():
        catalog = session.app().catalog
        if not yes:
            entity = catalog.find(kind, slug)
            count = len(catalog.texts(entity))
            click.confirm(
                f"Delete {kind.name} {slug} ({visible(entity.label)}) and its "
                f"{_plural_of(count, kind.text_noun)}?",
                abort=True,
            )
        report = catalog.delete(kind, slug)
    texts = _plural_of(report.texts, kind.text_noun)
    line = f"Deleted {kind.name} {slug} ({visible(report.entity.label)}) with {texts}"
    if report.jobs_cleared:
        jobs = report.jobs_cleared
        line += f"; {jobs} job{'s' if jobs != 1 else ''} keep{'s' if jobs == 1 else ''} "
        line += "its history without it" if jobs == 1 else "their history without it"
    click.echo(line)


def request_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``show`` and ``regenerate`` share."""
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.argument("slug"),
        locale_option,
        context_option,
        click.option("--no-wait", is_flag=True, help="Queue the job for workers and exit."),
        timeout_option,
        ai_options,
        json_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_request(
    session: Session,
    action: str,
    slug: str,
    locale: str | None,
    context_tag: str,
    no_wait: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    kind = current_kind()
    with core_errors(), spinner(f"Writing the {kind.text_noun} of {slug}", as_json or no_wait):
        generation = session.app().generation
        call = generation.request if action == "request" else generation.regenerate
        outcome = call(
            kind, slug, locale=locale, context_tag=context_tag, wait=not no_wait, timeout_s=timeout
        )
    print_outcome(outcome, as_json)


def _show_text(
    ctx: click.Context, session: Session, slug: str, text_id: str, locale: str | None, as_json: bool
) -> None:
    explicit = ctx.get_parameter_source("context_tag") is ParameterSource.COMMANDLINE
    if locale is not None or explicit:
        raise UsageProblem("--text-id names one stored text: --locale and --context do not apply")
    from moviemind_lite.app.views import RequestOutcome

    kind = current_kind()
    with core_errors():
        view = session.app().catalog.show_text(kind, slug, text_id)
    print_outcome(RequestOutcome(kind, "done", None, view), as_json)


@click.command(
    name="show", help="Show a {noun} and its {text_noun}; an unknown one is generated by a job."
)
@request_options
@click.option(
    "--text-id",
    metavar="ID",
    help="Show this stored {text_noun} (see `{plural} texts SLUG`), "
    "whatever its locale, context or role; never generates.",
)
@pass_session
@click.pass_context
def show_command(
    ctx: click.Context,
    session: Session,
    slug: str,
    locale: str | None,
    context_tag: str,
    no_wait: bool,
    timeout: float | None,
    as_json: bool,
    text_id: str | None,
) -> None:
    if text_id is not None:
        _show_text(ctx, session, slug, text_id, locale, as_json)
        return
    from moviemind_lite.app.cached_read import stored_answer
    from moviemind_lite.app.views import RequestOutcome

    kind = current_kind()
    with core_errors():
        stored = stored_answer(session.settings(), kind, slug, locale, context_tag)
    if stored is not None:  # one read answered it; nothing else is loaded
        print_outcome(RequestOutcome(kind, "done", None, stored), as_json)
        return
    _run_request(session, "request", slug, locale, context_tag, no_wait, timeout, as_json)


@click.command(name="regenerate", help="Write another {text_noun} for a stored {noun}.")
@request_options
@pass_session
def regenerate_command(session: Session, /, **options: Any) -> None:
    # The options are request_options', named as _run_request takes them.
    _run_request(session, "regenerate", **options)


@click.command(
    name="generate",
    help="Generate {text_noun}s for many {plural} "
    "listed in a file (one slug per line, or CSV / JSON / JSON Lines).",
)
@click.option(
    "--from-file",
    "path",
    required=True,
    metavar="FILE",
    type=click.Path(path_type=Path),
    help="Slugs, or catalog rows with facts.",
)
@locale_option
@context_option
@click.option(
    "--stagger",
    default="none",
    show_default=True,
    metavar="SPEC",
    help="Dispatch spacing: none, linear:MS or random:MIN-MAX.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    metavar="N",
    help="Jobs run at once.",
)
@ai_options
@json_option
@pass_session
def generate_command(
    session: Session,
    path: Path,
    locale: str | None,
    context_tag: str,
    stagger: str,
    workers: int,
    as_json: bool,
) -> None:
    from moviemind_lite.app.batch import parse_stagger, read_batch_file, run_batch

    kind = current_kind()
    with core_errors():
        spacing = parse_stagger(stagger)
        # Read first, so an unusable file leaves the home untouched.
        batch = read_batch_file(path, kind)
        app = session.app()
        with batch_progress(len(batch.items), quiet=as_json) as on_progress:
            report = run_batch(
                app,
                kind,
                batch,
                locale=locale,
                context_tag=context_tag,
                stagger=spacing,
                workers=workers,
                on_progress=on_progress,
            )
    if as_json:
        print_json(report.to_json())
    else:
        click.echo(report.summary())
        for where, why in report.invalid:
            click.echo(f"  invalid {visible(where)}: {visible(why)}")
        for slug, why in report.failed:
            click.echo(f"  failed {slug}: {visible(why)}")
        if report.deferred:
            click.echo(f"  deferred until the AI recovers: {', '.join(report.deferred)}")
    if report.stopped is not None:
        raise click.ClickException(report.stopped)
    if not report.complete:
        raise SystemExit(1)


# The commands of one kind of entity (`movies --help` lists them by name).
KIND_COMMANDS: list[click.Command] = [
    list_command,
    show_command,
    texts_command,
    regenerate_command,
    generate_command,
    delete_command,
]


@click.command()
@click.option("--fast", is_flag=True, help="Play the lab scenarios' reduced variants.")
@html_option
@html_force_option
@pass_session
def demo(session: Session, fast: bool, html_path: Path | None, force: bool) -> None:
    """The guided tour: the catalog, then the race lab's scenarios, explained and checked."""
    from moviemind_lite.cli.lab_output import output_width, wrapped

    started = time.monotonic()
    check_html(html_path, session, force)
    with core_errors():
        app = session.app()
        counts = app.catalog.counts()
        click.echo(
            wrapped(
                f"MovieMind Lite: {counts['movies']} movies and {counts['people']} people in "
                f"{app.settings.database_shown}."
            )
            + "\n"
        )
        from moviemind_lite.app.generation import LOOK

        # What `show` prints for stored keys; the tour never starts a job.
        steps = [
            ("moviemind movies show the-matrix-1999", MOVIE, "the-matrix-1999", None),
            (
                "moviemind movies show the-matrix-1999 --locale pl-PL",
                MOVIE,
                "the-matrix-1999",
                "pl-PL",
            ),
            ("moviemind people show keanu-reeves", PERSON, "keanu-reeves", None),
        ]
        for command, kind, slug, locale in steps:
            click.secho(f"$ {command}", bold=True)
            view = app.generation.request(kind, slug, locale=locale, rule=LOOK).view
            assert view is not None  # a look is answered with the stored entity
            print_view(view, output_width())
            click.echo()
    from moviemind_lite.cli.lab import demo_tour

    click.echo(
        wrapped(
            "An unknown slug becomes a generation job. Many requests for the same unknown "
            "slug at once must make one movie, one description and, ideally, one paid AI "
            "call. The race lab races the production job pipeline under each locking "
            "strategy MovieMind tried, in scratch databases (your catalog is not touched), "
            "and checks that each lesson showed what it should."
        )
    )
    failed = demo_tour(
        session, fast=fast, html=(html_path, force) if html_path is not None else None
    )
    click.echo(
        "\n"
        + wrapped(
            f"The tour took {time.monotonic() - started:.0f} s. More: `moviemind lab list`, "
            "`moviemind compare --help`, `moviemind movies list --search star`, "
            "`moviemind --help`."
        )
    )
    if failed:
        raise click.ClickException(f"the tour's checks failed for: {', '.join(failed)}")


movies = KindGroup(MOVIE, KIND_COMMANDS)
people = KindGroup(PERSON, KIND_COMMANDS)
