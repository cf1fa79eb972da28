"""The Catalog tab: search as you type, read texts, generate and regenerate."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from moviemind_lite.app.generation import LOOK
from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.tui.app import MovieMindApp
from moviemind_lite.tui.catalog import CatalogPane, SlugPrompt
from tests.tui.driving import plain, row_keys, run_app, spy_notifications, wait_until

AppFactory = Callable[..., MovieMindApp]


def test_search_filters_the_table_as_you_type(open_app: AppFactory) -> None:
    app = open_app()

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#catalog-table", DataTable)
        detail = app.query_one("#catalog-detail-text", Static)
        await wait_until(pilot, lambda: table.row_count > 10, "the movie list")
        await pilot.press("slash", *"matrix")
        assert isinstance(app.focused, Input)
        await wait_until(pilot, lambda: row_keys(table) == ["the-matrix-1999"], "one match")
        await wait_until(pilot, lambda: "slug: the-matrix-1999" in plain(detail), "its detail")
        # The sample catalog holds its English baseline (shown) and a Polish one.
        assert "Descriptions (2)" in plain(detail)
        assert "▸ en-US  default   v1" in plain(detail)
        assert "  pl-PL  default   v1" in plain(detail)

    run_app(app, scenario)


def test_toggle_lists_people(open_app: AppFactory) -> None:
    app = open_app()

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#catalog-table", DataTable)
        await wait_until(pilot, lambda: "the-matrix-1999" in row_keys(table), "movies")
        await pilot.press("t")
        await wait_until(pilot, lambda: "keanu-reeves" in row_keys(table), "people")
        assert app.query_one(CatalogPane).kind.name == "person"

    run_app(app, scenario)


@pytest.mark.usefixtures("engines")
def test_generate_a_new_slug_and_see_the_detail(open_app: AppFactory) -> None:
    app = open_app()
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#catalog-table", DataTable)
        detail = app.query_one("#catalog-detail-text", Static)
        await wait_until(pilot, lambda: table.row_count > 10, "the movie list")
        app.query_one("#catalog-search", Input).value = "blade-runner-2049"
        await pilot.press("slash", "enter")
        await wait_until(pilot, lambda: table.row_count == 0, "no match")
        assert "No movies match 'blade-runner-2049'" in plain(detail)
        await pilot.press("n")
        assert isinstance(app.screen, SlugPrompt)
        await pilot.press("enter")  # the prompt starts from the search text
        await wait_until(
            pilot, lambda: row_keys(table) == ["blade-runner-2049"], "the new movie listed"
        )
        await wait_until(pilot, lambda: "▸ en-US" in plain(detail), "its description shown")
        assert "slug: blade-runner-2049" in plain(detail)

    run_app(app, scenario)
    assert any("created" in message for message in notes.messages())
    with build_app(app.core.settings) as core:
        shown = core.generation.request(MOVIE, "blade-runner-2049", rule=LOOK).view
        assert shown is not None and shown.text is not None


def test_progress_shows_the_job_while_it_runs(open_app: AppFactory, settings: Settings) -> None:
    app = open_app(custom=settings.with_ai(latency_ms=600))

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#catalog-table", DataTable)
        status = app.query_one("#catalog-status", Static)
        detail = app.query_one("#catalog-detail-text", Static)
        await wait_until(pilot, lambda: "the-matrix-1999" in row_keys(table), "movies")
        await pilot.press("slash", *"matrix", "enter", "l", "l")  # en-US → de-DE → fr-FR
        await wait_until(pilot, lambda: "No fr-FR description" in plain(detail), "no text yet")
        await pilot.press("g")
        await wait_until(
            pilot,
            lambda: plain(status).startswith("job ") and "generating…" in plain(status),
            "the job on the status line",
        )
        await wait_until(pilot, lambda: "▸ fr-FR  default   v1" in plain(detail), "the text")
        assert "generating" not in plain(status)

    run_app(app, scenario)


def test_regenerate_appends_an_alternative(open_app: AppFactory) -> None:
    app = open_app()

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#catalog-table", DataTable)
        detail = app.query_one("#catalog-detail-text", Static)
        await pilot.press("slash", *"matrix", "enter")
        await wait_until(pilot, lambda: row_keys(table) == ["the-matrix-1999"], "the movie")
        await wait_until(pilot, lambda: "Descriptions (2)" in plain(detail), "its texts")
        await pilot.press("r")
        await wait_until(pilot, lambda: "Descriptions (3)" in plain(detail), "one more")
        assert "  en-US  default   v1   generated  alternative" in plain(detail)

    run_app(app, scenario)


def test_refusals_are_notifications(open_app: AppFactory) -> None:
    app = open_app()
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(
            pilot, lambda: app.query_one("#catalog-table", DataTable).row_count > 0, "movies"
        )
        await pilot.press("n", *"Not A Slug", "enter")
        await wait_until(pilot, lambda: bool(notes.errors()), "an error notification")

    run_app(app, scenario)
    assert "invalid slug 'Not A Slug'" in notes.errors()[0]


def test_generating_a_text_that_is_there_says_so_in_plain_words(open_app: AppFactory) -> None:
    app = open_app()
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#catalog-table", DataTable)
        await pilot.press("slash", *"matrix", "enter")
        await wait_until(pilot, lambda: row_keys(table) == ["the-matrix-1999"], "the movie")
        await pilot.press("g")
        await wait_until(pilot, lambda: bool(notes.messages()), "a notification")

    run_app(app, scenario)
    # Not "a en-US description": the locale comes after the noun.
    assert notes.messages() == [
        "the-matrix-1999 already has a description in en-US; r writes another"
    ]
