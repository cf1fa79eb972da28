"""The TUI goes on when the log file cannot be written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from moviemind_lite.core import logs
from moviemind_lite.core.config import Settings
from moviemind_lite.tui.app import MovieMindApp
from tests.tui.driving import plain, row_keys, run_app, spy_notifications, wait_until


def test_generating_in_the_tui_goes_on_without_a_log(
    open_app: Callable[..., MovieMindApp], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "_warned_in", None)
    settings.log_path.mkdir(parents=True)  # a folder where the log file should be
    app = open_app()
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.query_one("#catalog-table", DataTable)
        detail = app.query_one("#catalog-detail-text", Static)
        await wait_until(pilot, lambda: table.row_count > 10, "the movie list")
        app.query_one("#catalog-search", Input).value = "no-log-film-2024"
        await pilot.press("slash", "enter")
        await wait_until(pilot, lambda: table.row_count == 0, "no match")
        await pilot.press("n", "enter")
        await wait_until(pilot, lambda: "▸ en-US" in plain(detail), "its description shown")
        assert row_keys(table) == ["no-log-film-2024"]

    run_app(app, scenario)
    assert notes.errors() == []
    assert any("created" in message for message in notes.messages())
    assert logs._warned_in is not None  # it did try, and said so once
