"""The Lab tab saves its last race as the page ``--html`` writes: ctrl+o, a path, enter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select

from moviemind_lite.tui.app import MovieMindApp
from moviemind_lite.tui.lab_report import ReportPrompt
from tests.lab.test_report import lanes_of
from tests.tui.driving import run_app, spy_notifications, wait_until
from tests.tui.test_lab import custom_race, lab, race_to_the_end

AppFactory = Callable[..., MovieMindApp]


async def save_as(pilot: Pilot[None], path: Path, *, replace: bool = False) -> None:
    """ctrl+o, the path typed over the proposed one, the replace box, enter."""
    await pilot.press("ctrl+o")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ReportPrompt), "the prompt")
    pilot.app.screen.query_one("#report-path", Input).value = str(path)
    pilot.app.screen.query_one("#report-force", Checkbox).value = replace
    pilot.app.screen.query_one("#report-path", Input).focus()
    await pilot.press("enter")


def test_the_last_race_is_saved_as_the_html_report(open_app: AppFactory, tmp_path: Path) -> None:
    app = open_app("lab")
    notes = spy_notifications(app)
    target = tmp_path / "lab.html"

    async def scenario(pilot: Pilot[None]) -> None:
        app.query_one("#lab-scenario", Select).focus()
        await pilot.press("ctrl+o")
        assert notes.seen[-1] == ("warning", "no finished race to save yet (ctrl+r runs one)")
        await custom_race(pilot, "none,two-level", requests="4", workers="4", latency_ms="5")
        pane = await race_to_the_end(pilot)
        await save_as(pilot, target)
        await wait_until(pilot, lambda: any("saved" in seen for _, seen in notes.seen), "save")
        drawn = lanes_of(target.read_text()).runs
        assert [run["strategy"] for run in drawn] == ["none", "two-level"]
        for shown, result in zip(drawn, pane.results, strict=True):
            assert len(shown["lanes"]) == len(result.timeline)  # type: ignore[arg-type]
        assert "$ moviemind compare --strategies none,two-level --requests 4" in (
            target.read_text()
        )
        # Saved again to the same path: refused unless "replace" is ticked.
        target.write_text("mine")
        await save_as(pilot, target)
        await wait_until(pilot, lambda: notes.errors() != [], "the refusal")
        assert "exists" in notes.errors()[0] and target.read_text() == "mine"
        await save_as(pilot, target, replace=True)
        await wait_until(pilot, lambda: target.read_text() != "mine", "the replacement")
        assert lab(pilot).results == pane.results

    run_app(app, scenario)
    assert notes.seen[-1][1] == f"saved the report to {target}"
