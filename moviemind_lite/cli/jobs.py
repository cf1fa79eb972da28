"""Job commands (list, show, wait, retry) and the durable ``worker``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from moviemind_lite.cli.base import (
    Number,
    Session,
    ai_options,
    cell,
    core_errors,
    json_option,
    pass_session,
    print_json,
    table_console,
    timeout_option,
)
from moviemind_lite.core.display import visible
from moviemind_lite.core.numbers import COUNT

if TYPE_CHECKING:
    from moviemind_lite.core.model import Job

STATUS_STYLE = {"PENDING": "yellow", "IN_PROGRESS": "cyan", "DONE": "green", "FAILED": "red"}


@click.group()
def jobs() -> None:
    """List, inspect, wait for and retry generation jobs."""


@jobs.command(name="list")
@click.option(
    "--status",
    type=click.Choice(["PENDING", "IN_PROGRESS", "DONE", "FAILED"], case_sensitive=False),
    help="Only jobs in this status.",
)
@click.option(
    "--limit",
    type=Number(COUNT),
    default=50,
    show_default=True,
    metavar="N",
    help="Show at most N jobs.",
)
@json_option
@pass_session
def list_jobs(session: Session, status: str | None, limit: int, as_json: bool) -> None:
    """List jobs, newest first."""
    with core_errors():
        found = session.app().jobs.list(status=status, limit=limit)
    if as_json:
        print_json([job.to_json() for job in found])
        return
    if not found:
        click.echo("No jobs.")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("id", "status", "kind", "slug", "locale", "result", "attempts", "created"):
        table.add_column(column, no_wrap=column in ("id", "slug"))
    for job in found:
        style = STATUS_STYLE[job.status]
        table.add_row(
            job.id,
            f"[{style}]{job.status}[/]",
            job.kind,
            cell(job.slug),
            job.locale,
            job.result or "",
            str(job.attempts),
            job.created_at,
        )
    table_console().print(table)


def print_job(job: Job) -> None:
    """Every field of a job, one per line."""
    for name, value in job.to_json().items():
        click.echo(f"{name:>12}: {'' if value is None else visible(str(value))}")


@jobs.command(name="show")
@click.argument("job_id", metavar="ID")
@json_option
@pass_session
def show_job(session: Session, job_id: str, as_json: bool) -> None:
    """Show one job: status, attempts, result, error, worker and lease."""
    with core_errors():
        job = session.app().jobs.get(job_id)
    if as_json:
        print_json(job.to_json())
    else:
        print_job(job)


# A running worker claims a due job within one poll (20 ms by default): a job
# still waiting after this long has nobody working on it.
UNCLAIMED_NOTICE_S = 2.0


@jobs.command(name="wait")
@click.argument("job_id", metavar="ID")
@timeout_option
@json_option
@pass_session
def wait_job(session: Session, job_id: str, timeout: float | None, as_json: bool) -> None:
    """Wait until a job is DONE or FAILED (workers run it); exit 1 unless DONE.

    A job no worker claims within a few seconds is named on stderr, once,
    with how to start one; the wait goes on (until --timeout, if given).
    """
    with core_errors():
        jobs = session.app().jobs
        first = UNCLAIMED_NOTICE_S if timeout is None else min(timeout, UNCLAIMED_NOTICE_S)
        job = jobs.wait(job_id, first)
        if not job.finished and jobs.unclaimed(job) and first == UNCLAIMED_NOTICE_S:
            click.echo(
                f"job {job.id} is PENDING and no worker has claimed it: "
                "start `moviemind worker` (in another terminal)",
                err=True,
            )
        if not job.finished and (timeout is None or timeout > first):
            job = jobs.wait(job_id, None if timeout is None else timeout - first)
    if as_json:
        print_json(job.to_json())
    else:
        click.echo(f"{job.status} {job.id}" + (f" {job.result}" if job.result else ""))
    if job.status == "FAILED":
        raise click.ClickException(f"job {job.id} failed: {job.error}")
    if job.status != "DONE":
        raise click.ClickException(f"job {job.id} is still {job.status} after {timeout:g} s")


@jobs.command(name="retry")
@click.argument("job_id", metavar="ID")
@pass_session
def retry_job(session: Session, job_id: str) -> None:
    """Queue a FAILED job again with fresh attempts (run it with `moviemind worker`)."""
    with core_errors():
        job = session.app().jobs.retry(job_id)
    click.echo(f"queued {job.id}")


@click.command()
@click.option(
    "--threads",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    metavar="N",
    help="Jobs run at once in this process.",
)
@click.option("--once", is_flag=True, help="Exit when no job is ready instead of waiting.")
@click.option(
    "--max-jobs",
    type=Number(COUNT.narrowed(low=1)),
    metavar="N",
    help="Exit after claiming N jobs.",
)
@ai_options
@pass_session
def worker(session: Session, threads: int, once: bool, max_jobs: int | None) -> None:
    """Claim and run PENDING jobs until stopped (SIGINT/SIGTERM finish running jobs first)."""
    with core_errors():
        app = session.app()
        run = app.jobs.work(threads=threads, once=once, max_jobs=max_jobs)
        until = "the queue is empty" if once else "stopped (Ctrl-C)"
        if max_jobs is not None:
            until += f" or {max_jobs} job{'s' if max_jobs != 1 else ''} claimed"
        # On stderr: stdout is one line per job, for scripts.
        click.echo(
            f"worker started on {visible(app.settings.database_shown)}: "
            f"{threads} thread{'s' if threads != 1 else ''}, until {until}",
            err=True,
        )
        for job in run:
            click.echo(f"{job.ended.status if job.ended else 'LOST'} {job.claimed.id}")
    report = run.report
    restarts = f", {report.restarts} thread restarts" if report.restarts else ""
    click.echo(
        f"worker stopped ({report.stopped_by}): {report.done} done, {report.failed} failed, "
        f"{report.retried} to retry, {report.lost} lost{restarts}"
    )
