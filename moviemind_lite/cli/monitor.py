"""Monitoring commands: ``stats`` and ``logs``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from moviemind_lite.cli.base import (
    Session,
    cell,
    core_errors,
    json_option,
    pass_session,
    print_json,
    table_console,
)

if TYPE_CHECKING:
    from moviemind_lite.policy.stats import CallUsage


def _calls(usage: CallUsage) -> str:
    # Abandoned calls (cut short by a crash) are shown only when there are some.
    abandoned = f", {usage.abandoned:,} abandoned" if usage.abandoned else ""
    return f"{usage.calls:,} ({usage.failed:,} failed{abandoned})"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


@click.command()
@json_option
@click.option("--prometheus", is_flag=True, help="Print the Prometheus text exposition format.")
@pass_session
def stats(session: Session, as_json: bool, prometheus: bool) -> None:
    """Jobs per minute, runtimes, wait times, queue depth, recent failures and AI usage."""
    from moviemind_lite.policy import exposition

    if as_json and prometheus:
        raise click.UsageError("choose one of --json and --prometheus")
    with core_errors():
        collected = session.app().jobs.stats()
    if prometheus:
        click.echo(exposition.prometheus_text(collected), nl=False)
        return
    if as_json:
        print_json(collected.to_json())
        return
    from rich.table import Table

    table = Table(title="Jobs", box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    queue = ", ".join(f"{status} {count}" for status, count in collected.queue.items())
    results = ", ".join(f"{result} {count}" for result, count in collected.results.items())
    for label, value in (
        ("queue", queue),
        ("jobs/min (5 m)", f"{collected.jobs_per_minute_5m:g}"),
        ("jobs/min (60 m)", f"{collected.jobs_per_minute_60m:g}"),
        ("runtime p50 / p95", f"{_ms(collected.runtime_p50_ms)} / {_ms(collected.runtime_p95_ms)}"),
        ("wait p50 / p95", f"{_ms(collected.wait_p50_ms)} / {_ms(collected.wait_p95_ms)}"),
        ("results (60 m)", results or "-"),
        ("AI calls", _calls(collected.ai_calls)),
        (
            "AI tokens",
            f"{collected.ai_calls.prompt_tokens:,} prompt, "
            f"{collected.ai_calls.completion_tokens:,} completion",
        ),
        *((name.replace("_", " "), str(value)) for name, value in collected.extra.items()),
    ):
        table.add_row(label, cell(value))
    console = table_console()
    console.print(table)
    if collected.failed_last_hour:
        failures = Table(title="Failed in the last hour", box=None, header_style="bold")
        for column in ("job", "kind", "slug", "attempts", "error"):
            failures.add_column(column, no_wrap=column != "error")
        for job in collected.failed_last_hour:
            failures.add_row(job.id, job.kind, cell(job.slug), str(job.attempts), cell(job.error))
        console.print(failures)


@click.command()
@click.option("--job", "job_id", metavar="ID", help="Only lines about this job.")
@click.option("--grep", metavar="TEXT", help="Only lines containing TEXT (case-insensitive).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
@json_option
@pass_session
def logs(
    session: Session, job_id: str | None, grep: str | None, follow: bool, as_json: bool
) -> None:
    """Read the JSON log, human-readable by default."""
    from moviemind_lite.core.display import visible_json
    from moviemind_lite.core.ids import validate_job_id
    from moviemind_lite.core.logs import follow_log, format_record, read_log

    with core_errors():
        if job_id is not None:
            validate_job_id(job_id)
        path = session.settings().log_path
    records = (
        follow_log(path, job_id=job_id, grep=grep)
        if follow
        else read_log(path, job_id=job_id, grep=grep)
    )
    try:
        for record in records:
            click.echo(visible_json(record) if as_json else format_record(record))
    except KeyboardInterrupt:
        return
