"""The Log tab: the JSON log made readable, filtered, followed as it grows."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input, RichLog, Static

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.tui.app import MovieMindApp
from moviemind_lite.tui.log import split_filter
from tests.tui.driving import log_text, plain, run_app, wait_until

AppFactory = Callable[..., MovieMindApp]


def generate(settings: Settings, slug: str) -> str:
    """Generate a movie in its own core; the job's id."""
    with build_app(settings) as core:
        job = core.generation.request(MOVIE, slug).job
    assert job is not None
    return job.id


def test_filter_splits_job_ids_from_text() -> None:
    job_id = "0171cbe8-0000-7000-8000-000000000001"
    assert split_filter(f"  {job_id} ") == (job_id, None)
    assert split_filter("Job done") == (None, "Job done")
    assert split_filter("  ") == (None, None)


def test_shows_the_lines_of_one_job(open_app: AppFactory, settings: Settings) -> None:
    first = generate(settings, "heat-1995")
    second = generate(settings, "ronin-1998")
    app = open_app("log")

    async def scenario(pilot: Pilot[None]) -> None:
        lines = app.query_one("#log-lines", RichLog)
        await wait_until(pilot, lambda: second in log_text(lines), "every line")
        app.query_one("#log-filter", Input).value = first
        await pilot.press("slash", "enter")
        await wait_until(pilot, lambda: "Job done" in log_text(lines), "the job's lines")
        text = log_text(lines)
        assert "Job queued and claimed" in text
        assert second not in text
        assert f"job {first}" in plain(app.query_one("#log-status", Static))

    run_app(app, scenario, size=(160, 30))


def test_follows_new_lines(open_app: AppFactory, settings: Settings) -> None:
    app = open_app("log")

    async def scenario(pilot: Pilot[None]) -> None:
        lines = app.query_one("#log-lines", RichLog)
        await wait_until(
            pilot,
            lambda: "following" in plain(app.query_one("#log-status", Static)),
            "the follower",
        )
        job_id = generate(settings, "heat-1995")
        await wait_until(pilot, lambda: f"job_id={job_id}" in log_text(lines), "the new lines")

    run_app(app, scenario, size=(160, 30))
