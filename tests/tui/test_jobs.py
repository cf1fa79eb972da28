"""The Jobs tab: a live table over every process, filters, retry, a job's log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog, Static

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.ids import new_id, now
from moviemind_lite.core.model import DONE, FAILED, JobRequest
from moviemind_lite.tui.app import MovieMindApp
from moviemind_lite.tui.jobs import PAGE_SIZE, JobLogScreen, JobsPane
from tests.tui.driving import log_text, plain, row_keys, run_app, spy_notifications, wait_until

AppFactory = Callable[..., MovieMindApp]


def failed_job(settings: Settings, slug: str = "heat-1995") -> str:
    """A job that failed for good: the AI always fails and one attempt is allowed."""
    failing = settings.with_ai(fail_rate=1.0).with_jobs(max_attempts=1)
    with build_app(failing) as core:
        outcome = core.generation.request(MOVIE, slug, locale="de-DE")
    assert outcome.job is not None and outcome.job.status == FAILED
    return outcome.job.id


@pytest.mark.usefixtures("engines")
def test_retry_a_failed_job(open_app: AppFactory, settings: Settings) -> None:
    job_id = failed_job(settings)
    app = open_app("jobs")
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#jobs-table", DataTable)
        counters = app.query_one("#jobs-counters", Static)
        await wait_until(pilot, lambda: row_keys(table) == [job_id], "the failed job")
        assert "FAILED 1" in plain(counters)
        assert table.get_row_at(0)[0].plain == "FAILED"
        await pilot.press("f")
        await wait_until(pilot, lambda: row_keys(table) == [job_id], "only failed jobs")
        await pilot.press("r")
        await wait_until(pilot, lambda: table.row_count == 0, "no failed job left")
        await pilot.press("d")
        await wait_until(pilot, lambda: row_keys(table) == [job_id], "the job, now done")
        assert "DONE 1" in plain(counters)

    run_app(app, scenario)
    with build_app(settings) as core:
        assert core.jobs.get(job_id).status == DONE
    assert any("queued again" in message for message in notes.messages())


@pytest.mark.usefixtures("engines")
def test_follows_jobs_written_by_another_process(open_app: AppFactory, settings: Settings) -> None:
    app = open_app("jobs")

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#jobs-table", DataTable)
        await wait_until(
            pilot,
            lambda: "PENDING 0" in plain(app.query_one("#jobs-counters", Static)),
            "the counters",
        )
        # A second connection stands in for `moviemind movies show --no-wait` elsewhere.
        with build_app(settings) as other:
            job = other.generation.request(MOVIE, "heat-1995", wait=False).job
        assert job is not None
        await wait_until(pilot, lambda: row_keys(table) == [job.id], "the new job")
        assert table.get_row_at(0)[0].plain == "PENDING"

    run_app(app, scenario)


def test_a_jobs_log_lines_open_in_a_modal(open_app: AppFactory, settings: Settings) -> None:
    job_id = failed_job(settings)
    app = open_app("jobs")

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#jobs-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1, "the job")
        await pilot.press("l")
        assert isinstance(app.screen, JobLogScreen)
        lines = app.screen.query_one("#job-log-lines", RichLog)
        await wait_until(pilot, lambda: "Job failed" in log_text(lines), "its log lines")
        assert "Job queued" in log_text(lines)
        await pilot.press("escape")
        assert not isinstance(app.screen, JobLogScreen)

    run_app(app, scenario, size=(120, 30))
    assert job_id


def test_retrying_a_job_that_did_not_fail_is_refused(
    open_app: AppFactory, settings: Settings
) -> None:
    with build_app(settings) as core:
        job = core.generation.request(MOVIE, "heat-1995", wait=False).job
    assert job is not None
    app = open_app("jobs")
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#jobs-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1, "the pending job")
        await pilot.press("r")
        await wait_until(pilot, lambda: bool(notes.errors()), "a refusal")

    run_app(app, scenario)
    assert "only FAILED jobs can be retried" in notes.errors()[0]


def test_ten_thousand_jobs_are_paged_and_counted(open_app: AppFactory, settings: Settings) -> None:
    with build_app(settings) as core, core.database.write() as conn:
        stamp = now()
        conn.executemany(
            "INSERT INTO jobs (id, kind, action, slug, locale, context_tag, strategy, status, "
            "attempts, max_attempts, run_after, created_at, updated_at) "
            "VALUES (?, 'movie', 'generate', ?, 'en-US', 'default', 'two-level', 'PENDING', "
            "0, 3, ?, ?, ?)",
            [(new_id(), f"movie-{n}", stamp, stamp, stamp) for n in range(10_000)],
        )
    app = open_app("jobs")

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#jobs-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == PAGE_SIZE, "the first page")
        assert "PENDING 10,000" in plain(app.query_one("#jobs-counters", Static))
        assert f"newest {PAGE_SIZE} of 10,000" in plain(app.query_one("#jobs-filter", Static))
        assert app.query_one(JobsPane).total == 10_000

    run_app(app, scenario)


def test_a_crashing_poll_is_reported_not_raised(open_app: AppFactory, settings: Settings) -> None:
    app = open_app("jobs")
    notes = spy_notifications(app)

    def broken(**_options: object) -> list[object]:
        raise RuntimeError("disk on fire")

    app.core.jobs.list = broken  # type: ignore[method-assign]

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: bool(notes.errors()), "the error notification")
        assert app.is_running

    run_app(app, scenario)
    assert "RuntimeError: disk on fire" in notes.errors()[0]


def test_request_kinds_are_shown(open_app: AppFactory, settings: Settings) -> None:
    with build_app(settings) as core, core.database.write() as conn:
        core.job_store.insert(
            conn, JobRequest("person", "ada-lovelace", "pl-PL", "default"), "two-level"
        )
    app = open_app("jobs")

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#jobs-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1, "the job")
        row = table.get_row_at(0)
        assert [str(value) for value in row[1:4]] == ["person", "ada-lovelace", "pl-PL"]

    run_app(app, scenario)


def test_the_whole_id_of_the_highlighted_job_shows_and_copies(
    open_app: AppFactory, settings: Settings
) -> None:
    job_id = failed_job(settings)
    app = open_app("jobs")
    notes = spy_notifications(app)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#jobs-table", DataTable)
        selected = app.query_one("#jobs-selected", Static)
        await wait_until(pilot, lambda: row_keys(table) == [job_id], "the job")
        await wait_until(pilot, lambda: job_id in plain(selected), "its whole id")
        # All of it fits on the line, whatever the table's last column shows.
        assert plain(selected).index(job_id) + len(job_id) <= selected.size.width
        await pilot.press("c")
        assert copied == [job_id]
        await pilot.press("p")  # no PENDING job: nothing selected
        await wait_until(pilot, lambda: table.row_count == 0, "an empty table")
        await pilot.pause()
        assert plain(selected) == ""
        await pilot.press("c")

    run_app(app, scenario, size=(120, 35))
    assert f"copied {job_id}" in notes.messages()
    assert "no job selected" in notes.messages()
