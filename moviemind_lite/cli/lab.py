"""The race lab: ``race``, ``compare`` and ``lab list`` / ``lab run``.

Every race runs in a scratch home of its own; nothing here opens the user's
catalog. The core (:mod:`moviemind_lite.lab`) races and counts; this module
parses the scenario options and prints tables, timelines and progress.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from moviemind_lite.cli.base import core_errors, json_option, print_json, table_console
from moviemind_lite.lab.scenario import MODES, SCENARIO_FIELDS, Arrival, Scenario

if TYPE_CHECKING:
    from moviemind_lite.lab.race import Progress, RaceResult

# Metrics where anything above zero is damage, shown in red.
_DAMAGE = ("duplicate_movies", "duplicate_descriptions", "failed_jobs")

# Every scenario field's option: (option declaration, type, metavar, help). The
# parameter is named after the field and its default is the field's default.
_SCENARIO_OPTIONS: tuple[tuple[str, Any, str | None, str], ...] = (
    ("--requests", int, "N", "Requests, all for unknown movies."),
    ("--slugs", int, "K", "Distinct slugs the requests ask for (taken in turn)."),
    ("--workers", int, "W", "Jobs run at once (threads or processes)."),
    ("--latency", float, "MS", "AI call latency."),
    ("--jitter", float, "MS", "Random extra AI latency, up to MS."),
    ("--fail-rate", float, "P", "Probability that an AI call fails (0..1)."),
    ("--ttl", float, "MS", "Lease TTL for setnx."),
    ("--arrival", str, "burst|spread:MS", "All at once behind a barrier, or one every MS."),
    ("--seed", int, "S", "Seed of the mock AI's jitter and failures."),
    ("--unique-index/--no-unique-index", bool, None, "Keep or drop the scratch UNIQUE indexes."),
    ("--fencing", bool, None, "setnx checks its fencing token: stale writes are refused."),
    ("--pause-holder", float, "MS", "The first job done with its AI call stalls MS first."),
    ("--kill-holder", bool, None, "Processes mode: SIGKILL that job before it writes."),
    ("--mode", click.Choice(MODES), None, "Run jobs in threads or in worker processes."),
    ("--keep", bool, None, "Keep the scratch folder (database, locks, log); print its path."),
)


def _field(option: str) -> str:
    name = option.split("/")[0].removeprefix("--").replace("-", "_")
    return name if name in SCENARIO_FIELDS else f"{name}_ms"


def scenario_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The scenario options shared by ``race`` and ``compare``."""
    defaults = Scenario()
    for option, kind, metavar, help_text in reversed(_SCENARIO_OPTIONS):
        field = _field(option)
        default = getattr(defaults, field)
        command = click.option(
            option,
            field,
            type=None if kind is bool else kind,
            is_flag=kind is bool,
            default=str(default) if field == "arrival" else default,
            show_default=kind is not bool or field == "unique_index",
            metavar=metavar,
            help=help_text,
        )(command)
    return command


def build_scenario(values: dict[str, Any]) -> Scenario:
    """The validated scenario for the parsed options (taken out of ``values``)."""
    fields = {field: values.pop(field) for field in SCENARIO_FIELDS}
    return Scenario(**{**fields, "arrival": Arrival.parse(fields["arrival"])}).validated()


@contextmanager
def progress_on_stderr(quiet: bool) -> Iterator[Progress | None]:
    """A rich progress bar per race on stderr (when it is a terminal and not ``quiet``)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("requests answered"),
        console=Console(stderr=True),
        transient=True,
    ) as bar:

        def advance(label: str, answered: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=answered)

        yield advance


def _cell(name: str, value: Any) -> str:
    if name == "verdict":
        return f"[green]{value}[/]" if value == "correct" else f"[red]wrong: {value}[/]"
    text = f"{value:.0f}" if isinstance(value, float) else str(value)
    return f"[red]{text}[/]" if name in _DAMAGE and value else text


def print_results_table(results: Sequence[RaceResult]) -> None:
    """Strategies side by side, one metric a row; the verdict spelled out and coloured."""
    from rich.table import Table

    from moviemind_lite.lab.metrics import METRIC_NAMES

    table = Table(header_style="bold")
    table.add_column("metric")
    for result in results:
        table.add_column(result.label, justify="right")
    for name in METRIC_NAMES:
        table.add_row(name, *(_cell(name, getattr(result.metrics, name)) for result in results))
    table_console().print(table)


def print_timeline(result: RaceResult) -> None:
    """One bar line per job: how it moved through waiting, generating and persisting."""
    rows = result.timeline
    width = len(rows[0].bar) if rows else 0
    click.echo(
        f"\ntimeline: {result.label} (0 to {result.span_ms:.0f} ms, "
        f"one column = {result.span_ms / max(width, 1):.0f} ms)"
    )
    shown = rows[:24]
    label_width = max((len(row.label) for row in shown), default=0)
    for row in shown:
        click.echo(f"  {row.label:<{label_width}} |{row.bar}| {row.ending}")
    if len(rows) > len(shown):
        click.echo(f"  ... and {len(rows) - len(shown)} more jobs")


def print_legend() -> None:
    """What the timeline's characters mean."""
    from moviemind_lite.lab.timeline import LEGEND

    click.echo(f"\nlegend: {LEGEND}")


def print_kept(results: Sequence[RaceResult]) -> None:
    """Where ``--keep`` left each race's scratch folder (on stderr: stdout may be JSON)."""
    for result in results:
        if result.kept_home is not None:
            click.echo(f"kept scratch folder for {result.label}: {result.kept_home}", err=True)


def print_races(results: Sequence[RaceResult], scenario: Scenario) -> None:
    """The human report of ``race`` and ``compare``."""
    options = scenario.as_options()
    click.echo(f"scenario: {options or '(defaults)'}")
    print_results_table(results)
    for result in results:
        print_timeline(result)
    print_legend()


def write_csv(path: Path, results: Sequence[RaceResult]) -> None:
    """The compare table as CSV: one row per strategy, one column per metric."""
    from moviemind_lite.lab.metrics import METRIC_NAMES

    try:
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["strategy", *METRIC_NAMES])
            for result in results:
                metrics = result.metrics.to_json()
                writer.writerow([result.label, *(metrics[name] for name in METRIC_NAMES)])
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from None


@click.command()
@click.option(
    "--strategy",
    "strategy",
    required=True,
    metavar="NAME",
    help="Strategy to race: none, cache-lock, cache-lock-recheck, unique-index, "
    "for-update, setnx or two-level.",
)
@scenario_options
@json_option
def race(strategy: str, as_json: bool, **values: Any) -> None:
    """Race one strategy through a scenario in a scratch home and count the damage."""
    from moviemind_lite.lab.race import run_race

    with core_errors():
        scenario = build_scenario(values)
        with progress_on_stderr(as_json) as progress:
            result = run_race(scenario, strategy, on_progress=progress)
    print_kept([result])
    if as_json:
        print_json(result.metrics.to_json())
    else:
        print_races([result], scenario)


@click.command()
@click.option(
    "--strategies",
    default="all",
    show_default=True,
    metavar="a,b,...|all",
    help="Strategies to compare, comma-separated, or all.",
)
@scenario_options
@json_option
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the table to FILE as CSV.",
)
def compare(strategies: str, as_json: bool, csv_path: Path | None, **values: Any) -> None:
    """Race the same scenario under several strategies and print them side by side."""
    from moviemind_lite.lab.race import run_compare, strategy_names

    with core_errors():
        names = strategy_names(strategies)
        scenario = build_scenario(values)
        with progress_on_stderr(as_json) as progress:
            results = run_compare(scenario, names, on_progress=progress)
    print_kept(results)
    if csv_path is not None:
        write_csv(csv_path, results)
    if as_json:
        print_json({result.label: result.metrics.to_json() for result in results})
    else:
        print_races(results, scenario)


@click.group()
def lab() -> None:
    """Named teaching scenarios: a race, what to look at, and an automatic check."""


@lab.command(name="list")
@json_option
def list_lessons(as_json: bool) -> None:
    """List the teaching scenarios."""
    from moviemind_lite.lab.teaching import LESSONS

    if as_json:
        print_json([lesson.to_json() for lesson in LESSONS.values()])
        return
    width = max(len(name) for name in LESSONS)
    for lesson in LESSONS.values():
        click.echo(f"{lesson.name:<{width}}  {lesson.title}")
    click.echo("\nRun one with `moviemind lab run NAME`.")


@lab.command(name="run")
@click.argument("name")
@json_option
def run_lesson_command(name: str, as_json: bool) -> None:
    """Run a teaching scenario and check its outcome (exit 1 if it did not happen)."""
    from moviemind_lite.lab.teaching import lesson_named, run_lesson

    with core_errors():
        lesson = lesson_named(name)
        with progress_on_stderr(as_json) as progress:
            report = run_lesson(name, on_progress=progress)
    if as_json:
        print_json(report.to_json())
    else:
        click.secho(f"{lesson.name}: {lesson.title}", bold=True)
        click.echo(f"\n{lesson.explanation}\n")
        for run in lesson.runs:
            click.echo(f"$ {lesson.command(run)}")
        print_results_table(report.results)
        for result in report.results:
            print_timeline(result)
        print_legend()
        status = "[green]PASSED[/]" if report.check.passed else "[red]FAILED[/]"
        table_console().print(f"\ncheck {status}: {report.check.message}")
    if not report.check.passed:
        raise click.ClickException(f"the lesson {name!r} did not show what it should")


def demo_race() -> None:
    """The demo's race: the shipped bug (cache-lock) next to the shipped design (two-level)."""
    from moviemind_lite.lab.race import run_compare

    scenario = Scenario(requests=5, slugs=1, workers=5, latency_ms=80, jitter_ms=0)
    names = ["cache-lock", "two-level"]
    click.secho(
        f"$ moviemind compare --strategies {','.join(names)} {scenario.as_options()}", bold=True
    )
    with core_errors(), progress_on_stderr(False) as progress:
        bug, fix = run_compare(scenario, names, on_progress=progress)
    print_results_table([bug, fix])
    for result in (bug, fix):
        print_timeline(result)
    print_legend()
    b, f = bug.metrics, fix.metrics
    click.echo(
        f"\nWhat happened: {b.requests} requests for the same unknown movie arrived at once."
    )
    for line in (
        f"cache-lock ran {b.jobs_dispatched} jobs and {b.ai_calls} AI calls and wrote "
        f"{b.descriptions} descriptions for {b.movies} movie: each job looked the slug up "
        "before it waited for the lock (-) and never looked again, so every waiter generated "
        "(=) and appended another description. That is the bug MovieMind shipped.",
        f"two-level gave all {f.requests} requests one job ({f.deduplicated_at_dispatch} "
        f"deduplicated at dispatch): {f.ai_calls} AI call, {f.descriptions} description.",
    ):
        click.echo(click.wrap_text(line, 88, initial_indent="- ", subsequent_indent="  "))
    click.echo("More races: `moviemind lab list`, `moviemind compare --help`.\n")
