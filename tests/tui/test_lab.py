"""The Lab tab: a scenario raced to its verdicts, bad options refused, races stopped, and a
screen that keeps answering keys while a thousand requests race.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import ContentSwitcher, DataTable, Input, Select, Static

from moviemind_lite.core.config import Settings
from moviemind_lite.core.logs import read_log
from moviemind_lite.tui.app import MovieMindApp
from moviemind_lite.tui.lab import LabPane, Tick
from tests.tui.driving import plain, row_keys, run_app, spy_notifications, wait_until

AppFactory = Callable[..., MovieMindApp]


def lab(pilot: Pilot[None]) -> LabPane:
    """The Lab tab's pane."""
    return pilot.app.query_one("#lab-pane", LabPane)


def cell(table: DataTable[object], row: int, column: str) -> str:
    """The text of one cell of ``table``."""
    value = table.get_row_at(row)[table.get_column_index(column)]
    return value.plain if isinstance(value, Text) else str(value)


def shown_view(pilot: Pilot[None]) -> str:
    """Which of about, timeline and results is on screen."""
    current = pilot.app.query_one("#lab-output", ContentSwitcher).current
    return str(current).removeprefix("lab-")


async def choose(pilot: Pilot[None], typed: str) -> None:
    """Choose a scenario from the drop-down by keyboard: open it, type its start, enter."""
    pilot.app.query_one("#lab-scenario", Select).focus()
    await pilot.press("enter", *typed, "enter")


async def custom_race(pilot: Pilot[None], strategies: str, **boxes: str) -> None:
    """Choose custom and fill in the strategies and some boxes (``latency_ms="5"``)."""
    if lab(pilot).chosen() is not None:
        await choose(pilot, "custom")
    pilot.app.query_one("#lab-strategies", Input).value = strategies
    for name, text in boxes.items():
        pilot.app.query_one(f"#lab-{name}", Input).value = text
    await pilot.pause()


async def race_to_the_end(pilot: Pilot[None], timeout: float = 30) -> LabPane:
    """Press ctrl+r and wait for the race to end (the key goes in as a terminal sends it)."""
    pane = lab(pilot)
    generation = pane.generation
    pilot.app.simulate_key("ctrl+r")
    await wait_until(pilot, lambda: pane.generation > generation, "the race's start")
    await wait_until(pilot, lambda: not pane.racing, "the race's end", timeout)
    return pane


def test_a_named_scenario_runs_to_the_labs_verdicts(open_app: AppFactory) -> None:
    app = open_app("lab")
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        pane = lab(pilot)
        await choose(pilot, "the-orig")
        chosen = pane.chosen()
        assert chosen is not None and chosen.name == "the-original-bug"
        assert "cache-lock looks the slug up" in plain(app.query_one("#lab-about-text", Static))
        # The options show the scenario, and wait for "custom" to be changed.
        assert app.query_one("#lab-requests", Input).value == "6"
        assert app.query_one("#lab-requests", Input).is_disabled
        await pilot.press("tab", "space")  # the fast variant
        assert app.query_one("#lab-fast", Tick).value
        await race_to_the_end(pilot)

        assert shown_view(pilot) == "results"
        assert pane.report is not None and pane.report.check.passed
        table = app.query_one("#lab-table", DataTable)
        assert row_keys(table) == ["cache-lock", "cache-lock-recheck"]
        for row, result in enumerate(pane.report.races):
            mark = "✓" if result.correct else "✗"
            assert cell(table, row, "verdict") == f"{mark} {result.metrics.verdict}"
            assert cell(table, row, "AI calls") == str(result.metrics.ai_calls)
        # What the lesson is about: the original bug duplicates, the fix does not.
        assert "duplicate description" in cell(table, 0, "verdict")
        assert cell(table, 1, "verdict") == "✓ correct"
        assert "check PASSED" in plain(app.query_one("#lab-status", Static))
        explanation = plain(app.query_one("#lab-explanation", Static))
        assert explanation.startswith("check PASSED: cache-lock wrote")
        assert "$ moviemind lab run the-original-bug --fast" in explanation
        chart = plain(app.query_one("#lab-chart", Static))
        assert "AI calls per run" in chart and "wall time per run" in chart
        assert "█" in chart and "cache-lock-recheck" in chart

        await pilot.press("ctrl+t", "ctrl+t")  # results -> about -> timeline
        assert shown_view(pilot) == "timeline"
        timeline = plain(app.query_one("#lab-timeline-text", Static))
        assert "= generating" in timeline and "alternative_appended" in timeline
        assert "✓ correct" in timeline

    run_app(app, scenario)
    assert notes.errors() == []


def test_a_custom_race_compares_the_strategies_listed(
    open_app: AppFactory, settings: Settings
) -> None:
    app = open_app("lab")

    async def scenario(pilot: Pilot[None]) -> None:
        pane = lab(pilot)
        await custom_race(pilot, "none,two-level", requests="6", workers="6", latency_ms="30")
        assert not app.query_one("#lab-requests", Input).is_disabled
        await race_to_the_end(pilot)
        table = app.query_one("#lab-table", DataTable)
        assert row_keys(table) == ["none", "two-level"]
        none, two = pane.results
        assert cell(table, 0, "verdict") == f"✗ {none.metrics.verdict}"
        assert "failed job" in none.metrics.verdict
        assert cell(table, 1, "verdict") == "✓ correct" and two.metrics.ai_calls == 1
        assert none.scenario.requests == 6 and none.scenario.latency_ms == 30
        explanation = plain(app.query_one("#lab-explanation", Static))
        assert "1 of 2 strategies correct" in explanation
        assert "$ moviemind compare --strategies none,two-level --requests 6" in explanation

    run_app(app, scenario)
    # The race logged into its scratch home, not into the app's log.
    assert not any("race-movie" in str(record) for record in read_log(settings.log_path))


def test_a_race_in_worker_processes_runs_under_the_apps_captured_stderr(
    open_app: AppFactory,
) -> None:
    # Textual captures stderr (its fileno is -1), which multiprocessing's
    # resource tracker is handed when the race makes its queue.
    app = open_app("lab")
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        pane = lab(pilot)
        await custom_race(pilot, "two-level", requests="3", workers="1", latency_ms="5")
        app.query_one("#lab-processes", Tick).value = True
        await race_to_the_end(pilot)
        (result,) = pane.results
        assert result.scenario.mode == "processes" and result.correct

    run_app(app, scenario)
    assert notes.errors() == []


def test_bad_options_are_refused_inline_and_in_a_notification(open_app: AppFactory) -> None:
    app = open_app("lab")
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        pane = lab(pilot)
        status = app.query_one("#lab-status", Static)
        for strategies, boxes, expected in (
            ("all", {"requests": "0"}, "requests must be 1..100000, got 0"),
            ("all", {"requests": "many"}, "requests: 'many' is not a whole number"),
            ("all", {"arrival": "later"}, "bad arrival 'later'"),
            ("all", {"slugs": "9", "requests": "3"}, "slugs must be 1..requests (3), got 9"),
            ("none,fastest", {}, "unknown strategy 'fastest'"),
            ("all", {"kill_holder": ""}, "--kill-holder needs --mode processes"),
        ):
            texts = {name: text for name, text in boxes.items() if name != "kill_holder"}
            await custom_race(pilot, strategies, **{"requests": "4", "slugs": "1", **texts})
            app.query_one("#lab-kill_holder", Tick).value = "kill_holder" in boxes
            app.query_one("#lab-arrival", Input).value = boxes.get("arrival", "burst")
            await pilot.press("ctrl+r")
            assert not pane.racing
            assert expected in notes.errors()[-1]
            assert plain(status).startswith("✗ ") and expected in plain(status)

    run_app(app, scenario)
    assert len(notes.errors()) == 6


def test_the_screen_answers_keys_during_a_1000_request_race_and_stops_it(
    open_app: AppFactory,
) -> None:
    app = open_app("lab")
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        pane = lab(pilot)
        # Seven strategies, a thousand requests each: several seconds if left to run.
        await custom_race(
            pilot, "all", requests="1000", slugs="100", workers="8", latency_ms="1", jitter_ms="0"
        )
        # Keys go in as a terminal sends them, without Pilot's wait for an idle
        # process after each (a racing process is never idle).
        app.simulate_key("ctrl+r")
        await wait_until(
            pilot, lambda: any(run.answered for run in pane.runs.values()), "the first answers"
        )
        assert shown_view(pilot) == "timeline"
        # Each key is handled while the race still runs: the screen stays live.
        app.simulate_key("ctrl+t")
        await wait_until(pilot, lambda: shown_view(pilot) == "results", "the next view")
        assert pane.racing, "the race ended before the key was handled"
        app.simulate_key("ctrl+t")
        await wait_until(pilot, lambda: shown_view(pilot) == "about", "the about view")
        app.simulate_key("ctrl+t")
        await wait_until(pilot, lambda: shown_view(pilot) == "timeline", "the timeline")
        timeline = plain(app.query_one("#lab-timeline-text", Static))
        assert "answered" in timeline and "waiting to start" in timeline
        assert pane.racing

        app.simulate_key("ctrl+s")
        await wait_until(pilot, lambda: not pane.racing, "the race to stop", timeout=10)
        assert plain(app.query_one("#lab-status", Static)).startswith("stopped after")
        assert len(pane.results) < 7
        # The form is back, and the next race can start.
        assert not app.query_one("#lab-scenario", Select).disabled

    run_app(app, scenario)
    assert "race stopped" in notes.messages()
    assert notes.errors() == []


def test_quitting_during_a_race_stops_it_at_once(open_app: AppFactory) -> None:
    app = open_app("lab")

    panes: list[LabPane] = []

    async def scenario(pilot: Pilot[None]) -> None:
        pane = lab(pilot)
        panes.append(pane)
        # One request every 20 ms: twenty seconds if nothing stopped it.
        await custom_race(pilot, "two-level", requests="1000", slugs="1000", arrival="spread:20")
        app.simulate_key("ctrl+r")
        await wait_until(pilot, lambda: any(run.jobs for run in pane.runs.values()), "jobs")

    run_app(app, scenario)
    (pane,) = panes
    # Quitting stopped the race: most of its thousand requests (each a job of
    # its own, one every 20 ms) were never issued.
    assert 0 < sum(len(run.jobs) for run in pane.runs.values()) < 500


def test_stop_without_a_race_says_so(open_app: AppFactory) -> None:
    app = open_app("lab")
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        app.query_one("#lab-scenario", Select).focus()
        await pilot.press("ctrl+s")

    run_app(app, scenario)
    assert notes.seen == [("warning", "no race is running")]


def test_the_real_model_box_races_with_the_local_ai() -> None:
    from moviemind_lite.lab.scenario import Scenario
    from moviemind_lite.tui.lab_form import (
        REAL_MODEL,
        form_switches,
        form_texts,
        scenario_from_form,
    )

    local = Scenario(ai="local")
    switches = form_switches(local)
    assert switches[REAL_MODEL] is True and form_switches(Scenario())[REAL_MODEL] is False
    assert scenario_from_form(form_texts(local), switches).ai == "local"
    assert scenario_from_form(form_texts(local), {**switches, REAL_MODEL: False}).ai == "mock"
