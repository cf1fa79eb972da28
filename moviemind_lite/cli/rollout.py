"""Staged rollout commands: start, status, advance, abort."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from moviemind_lite.cli.base import (
    Number,
    Session,
    cell,
    core_errors,
    json_option,
    pass_session,
    print_json,
    table_console,
)
from moviemind_lite.core.numbers import COUNT, MILLISECONDS, PROBABILITY

if TYPE_CHECKING:
    from moviemind_lite.policy.rollout import RolloutReport, RolloutService, RolloutStep

STATUS_STYLE = {
    "active": "cyan",
    "completed": "green",
    "rolled_back": "red",
    "aborted": "yellow",
}


def _service(session: Session, flag: str | None = None) -> RolloutService:
    """The rollouts of this environment; an unknown ``flag`` fails before the database opens."""
    from moviemind_lite.policy.flag_registry import flag_named

    if flag is not None:
        flag_named(flag)
    return session.app().rollouts


def _stages(stages: tuple[int, ...]) -> str:
    return " → ".join(f"{stage}%" for stage in stages)


def print_step(step: RolloutStep) -> None:
    """One line saying what a start, advance or abort did."""
    rollout = step.rollout
    where = f"in {rollout.environment}"
    stage = f"stage {rollout.stage}/{len(rollout.stages)}"
    if step.action == "started":
        click.echo(
            f"{rollout.flag}: rollout started at {rollout.percentage}% {where} "
            f"({_stages(rollout.stages)})"
        )
    elif step.action == "advanced":
        click.echo(
            f"{rollout.flag}: {step.previous_percentage}% → {rollout.percentage}% ({stage}) {where}"
        )
    elif step.action == "completed":
        click.echo(f"{rollout.flag}: rollout completed at {rollout.percentage}% {where}")
    else:
        ended = step.action.replace("_", " ")
        click.echo(
            f"{rollout.flag}: rollout {ended} at {rollout.percentage}% ({stage}); flag off {where}"
        )


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"


def print_reports(reports: list[RolloutReport], environment: str) -> None:
    """The ``rollout status`` table: one line per rollout, readings against limits."""
    if not reports:
        click.echo(f"No rollouts in {environment}.")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in (
        "flag",
        "status",
        "stage",
        "percentage",
        "jobs",
        "error rate",
        "p95",
        "started",
        "reason",
    ):
        table.add_column(column, no_wrap=column != "reason")
    for report in reports:
        rollout, reading = report.rollout, report.reading
        style = STATUS_STYLE[rollout.status]
        table.add_row(
            rollout.flag,
            f"[{style}]{rollout.status}[/]",
            f"{rollout.stage}/{len(rollout.stages)}",
            f"{rollout.percentage}%",
            f"{reading.jobs}/{rollout.min_jobs}",
            f"{_rate(reading.error_rate)} (max {rollout.max_error_rate:g})",
            f"{_ms(reading.p95_ms)} (max {rollout.max_p95_ms:g} ms)",
            rollout.started_at,
            cell(rollout.reason),
        )
    table_console().print(table)


@click.group()
def rollout() -> None:
    """Staged flag rollouts: advance while guardrails hold, roll back when one breaks."""


@rollout.command(name="start")
@click.argument("flag")
@click.option(
    "--stages",
    required=True,
    metavar="P,P,...",
    help="Percentages to move through, strictly increasing, 1-100 (e.g. 5,25,100).",
)
@click.option(
    "--min-jobs",
    type=Number(COUNT),
    default=20,
    show_default=True,
    metavar="N",
    help="Jobs under the flag that must finish before a stage is judged.",
)
@click.option(
    "--max-error-rate",
    type=Number(PROBABILITY),
    default=0.05,
    show_default=True,
    metavar="R",
    help="Highest share of failed jobs (0-1) a stage may show.",
)
@click.option(
    "--max-p95-ms",
    type=Number(MILLISECONDS.narrowed(above_low=True)),
    default=2000.0,
    show_default=True,
    metavar="MS",
    help="Highest p95 job time a stage may show.",
)
@pass_session
def start_command(
    session: Session,
    flag: str,
    stages: str,
    min_jobs: int,
    max_error_rate: float,
    max_p95_ms: float,
) -> None:
    """Roll FLAG out in stages; the jobs that finish under it judge each stage."""
    from moviemind_lite.policy.flag_registry import flag_named
    from moviemind_lite.policy.rollout import RolloutPlan, parse_stages

    with core_errors():
        # Bad input is refused before the database is opened.
        flag_named(flag)
        plan = RolloutPlan(parse_stages(stages), min_jobs, max_error_rate, max_p95_ms)
        print_step(session.app().rollouts.start(flag, plan))


@rollout.command(name="status")
@click.option(
    "--limit",
    type=Number(COUNT),
    default=10,
    show_default=True,
    metavar="N",
    help="Ended rollouts to show after the active ones.",
)
@json_option
@pass_session
def status_command(session: Session, limit: int, as_json: bool) -> None:
    """Show active and recent rollouts: stage, jobs observed, error rate and p95 vs limits."""
    with core_errors():
        service = _service(session)
        reports = service.status(limit)
    if as_json:
        print_json([report.to_json() for report in reports])
    else:
        print_reports(reports, service.environment)


@rollout.command(name="advance")
@click.argument("flag")
@pass_session
def advance_command(session: Session, flag: str) -> None:
    """Move FLAG's rollout to its next stage now, whatever the guardrails say."""
    with core_errors():
        print_step(_service(session, flag).advance(flag))


@rollout.command(name="abort")
@click.argument("flag")
@pass_session
def abort_command(session: Session, flag: str) -> None:
    """Stop FLAG's rollout and turn the flag off."""
    with core_errors():
        print_step(_service(session, flag).abort(flag))
