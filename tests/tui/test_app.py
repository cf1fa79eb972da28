"""The app as a whole: tabs by key, the lab tab, the ``tui`` command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.pilot import Pilot
from textual.widgets import DataTable, Select, Static, TabbedContent

from moviemind_lite.cli import cli
from moviemind_lite.core.errors import InvalidSetting
from moviemind_lite.lab.teaching import LESSONS
from moviemind_lite.tui import TAB_IDS
from moviemind_lite.tui.app import MovieMindApp, make_app
from moviemind_lite.tui.jobs import JobsPane
from moviemind_lite.tui.lab import LabPane
from tests.helpers import fresh_interpreter, top_level
from tests.tui.driving import plain, run_app, wait_until

AppFactory = Callable[..., MovieMindApp]


def test_number_keys_switch_tabs(open_app: AppFactory) -> None:
    app = open_app()

    async def scenario(pilot: Pilot[None]) -> None:
        tabs = app.query_one(TabbedContent)
        assert tabs.active == "catalog"
        for number, tab in enumerate(TAB_IDS, start=1):
            await pilot.press(str(number))
            assert tabs.active == tab
        await pilot.press("2")
        assert isinstance(app.focused, DataTable)
        assert app.query_one(JobsPane).shown

    run_app(app, scenario)


def test_lab_tab_offers_every_named_scenario(open_app: AppFactory) -> None:
    # How the tab races is tested in test_lab.py.
    app = open_app("lab")

    async def scenario(pilot: Pilot[None]) -> None:
        pane = app.query_one(LabPane)
        about = pane.query_one("#lab-about-text", Static)
        for name in [*LESSONS, "custom"]:
            pane.query_one("#lab-scenario", Select).value = name  # refused if not offered
            await pilot.pause()
            assert plain(about).startswith(f"{name}: ")

    run_app(app, scenario)


def test_make_app_refuses_bad_options(home: Path) -> None:
    with pytest.raises(InvalidSetting, match="unknown tab 'nope'"):
        make_app(start_tab="nope")
    with pytest.raises(InvalidSetting, match="poll interval"):
        make_app(poll_interval=0)


def test_tui_command_opens_the_app_over_the_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ran: list[tuple[Path, str, float]] = []

    def fake_run(self: MovieMindApp) -> None:
        ran.append((self.core.settings.home, self.start_tab, self.poll_interval))

    monkeypatch.setattr(MovieMindApp, "run", fake_run)
    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path / "other"), "tui", "--tab", "jobs", "--poll", "0.5"]
    )
    assert result.exit_code == 0, result.output
    assert ran == [(tmp_path / "other", "jobs", 0.5)]


def test_tui_command_rejects_an_unknown_tab() -> None:
    result = CliRunner().invoke(cli, ["tui", "--tab", "nope"])
    assert result.exit_code == 2
    assert "'nope' is not one of" in result.output


def test_textual_is_imported_only_when_the_tui_runs() -> None:
    _, modules = fresh_interpreter(
        "from moviemind_lite.cli import cli\n"
        "import moviemind_lite.tui, moviemind_lite.cli.tui\n"
        "try:\n"
        "    cli.main(['tui', '--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass"
    )
    loaded = top_level(modules)
    assert "click" in loaded
    assert "textual" not in loaded


def test_the_palette_offers_every_tab(open_app: AppFactory) -> None:
    app = open_app()

    async def scenario(pilot: Pilot[None]) -> None:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Show Catalog", "Show Jobs", "Show Flags", "Show Log", "Show Lab"} <= set(titles)
        await pilot.press("ctrl+p", *"show jobs")
        await pilot.pause(0.3)  # the palette searches in the background
        await pilot.press("enter")
        tabs = app.query_one(TabbedContent)
        await wait_until(pilot, lambda: tabs.active == "jobs" and bool(app.query(JobsPane)), "Jobs")

    run_app(app, scenario)
