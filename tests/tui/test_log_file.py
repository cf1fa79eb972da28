"""The TUI goes on when the log file cannot be written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

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
        await wait_until(pilot, lambda: "the-matrix-1999" in row_keys(table), "movies")
        await pilot.press("slash", *"matrix", "enter", "l", "l", "g")  # fr-FR has no text yet
        await wait_until(pilot, lambda: "▸ fr-FR  default   v1" in plain(detail), "the text")

    run_app(app, scenario)
    assert notes.errors() == []
    assert any("created" in message for message in notes.messages())
    assert logs._warned_in is not None  # it did try, and said so once
