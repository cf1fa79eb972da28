"""Stored text is data in the TUI too: markup shows literally, controls are spelled out."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from moviemind_lite.core.config import Settings
from moviemind_lite.tui.app import MovieMindApp
from moviemind_lite.tui.catalog import SlugPrompt
from tests.hostile import (
    CONTROLS,
    ESCAPE_SHOWN,
    ESCAPE_SLUG,
    MARKUP_TITLES,
    PERSON_SLUG,
    TEXT_SHOWN,
    store_hostile_rows,
)
from tests.tui.driving import plain, row_keys, run_app, spy_notifications, wait_until

AppFactory = Callable[..., MovieMindApp]


@pytest.fixture(autouse=True)
def hostile(settings: Settings) -> None:
    store_hostile_rows(settings)


def cell_text(table: DataTable[object], row: str, column: int = 0) -> str:
    value = table.get_row(row)[column]
    assert isinstance(value, Text), f"a str cell is read as markup: {value!r}"
    return value.plain


def test_titles_with_markup_and_escapes_show_as_written(open_app: AppFactory) -> None:
    app = open_app()

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#catalog-table", DataTable)
        detail = app.query_one("#catalog-detail-text", Static)
        await wait_until(pilot, lambda: table.row_count == 6, "the hostile movies")
        for slug, title in MARKUP_TITLES.items():
            assert cell_text(table, slug) == title
        assert cell_text(table, ESCAPE_SLUG).startswith(ESCAPE_SHOWN[:30])
        table.move_cursor(row=row_keys(table).index(ESCAPE_SLUG))
        await wait_until(pilot, lambda: TEXT_SHOWN in plain(detail), "the hostile text")
        shown = plain(detail)
        assert shown.startswith(ESCAPE_SHOWN)
        assert not any(char in shown for char in CONTROLS)
        await pilot.press("t")
        await wait_until(pilot, lambda: row_keys(table) == [PERSON_SLUG], "the hostile person")
        assert cell_text(table, PERSON_SLUG) == "Jane [/] Doe \\x1b[8mhidden"

    run_app(app, scenario)


def test_a_notification_quoting_markup_is_plain_text(open_app: AppFactory) -> None:
    app = open_app()
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#catalog-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 6, "the movies")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, SlugPrompt), "the prompt")
        app.screen.query_one(Input).value = "[/] \x1b[2J"
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(notes.errors()), "the refusal")
        await pilot.pause(0.2)  # the toast is drawn: markup in it would raise here

    run_app(app, scenario)
    assert "invalid slug '[/] \\x1b[2J'" in notes.errors()[0]
