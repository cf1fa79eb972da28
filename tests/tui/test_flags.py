"""The Flags tab: switches store values, the form rolls out and overrides, refusals notify."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input, Label, Select, Static, Switch

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.policy.flags import FlagService
from moviemind_lite.tui.app import MovieMindApp
from tests.tui.driving import plain, run_app, spy_notifications, wait_until

AppFactory = Callable[..., MovieMindApp]
LOCKING = "ai_generation_baseline_locking"


def stored(settings: Settings, name: str) -> tuple[bool, str, int | None]:
    """(value, source, percentage) of a flag as the core reads it now."""
    with build_app(settings) as core:
        state = FlagService(core.database, settings.environment).describe(name)
    return state.value.enabled, state.value.source, state.percentage


def value_label(app: MovieMindApp, name: str) -> str:
    label = app.query_one(f"#flag-row-{name} .flag-value", Label)
    return plain(label)


def test_toggling_a_switch_stores_the_flag(open_app: AppFactory, settings: Settings) -> None:
    app = open_app("flags")
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: "default" in value_label(app, LOCKING), "the values")
        switch = app.query_one(f"#flag-switch-{LOCKING}", Switch)
        assert switch.value is False
        switch.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "stored" in value_label(app, LOCKING), "the stored value")
        assert value_label(app, LOCKING).startswith("ON")

    run_app(app, scenario)
    assert stored(settings, LOCKING) == (True, "stored", None)
    assert f"{LOCKING}: default → on" in notes.messages()


def test_fixed_flags_have_a_disabled_switch_and_a_reason(open_app: AppFactory) -> None:
    app = open_app("flags")

    async def scenario(pilot: Pilot[None]) -> None:
        switch = app.query_one("#flag-switch-catalog_read_only_mode", Switch)
        assert switch.disabled
        reason = app.query_one("#flag-row-catalog_read_only_mode .flag-reason", Label)
        assert "fixed at run time: workers already running" in plain(reason)

    run_app(app, scenario)


def test_percentage_and_override_go_through_the_form(
    open_app: AppFactory, settings: Settings
) -> None:
    app = open_app("flags")

    async def scenario(pilot: Pilot[None]) -> None:
        name = "ai_description_generation"
        await wait_until(pilot, lambda: "default" in value_label(app, name), "the values")
        app.query_one("#flag-percentage", Input).focus()
        await pilot.press("2", "5", "enter")
        await wait_until(pilot, lambda: "25% rollout" in value_label(app, name), "the rollout")
        app.query_one("#flag-scope", Input).value = "slug:the-matrix-1999"
        await pilot.click("#override-off")
        await wait_until(pilot, lambda: "1 override" in value_label(app, name), "the override")
        overrides = plain(app.query_one("#flag-overrides", Static))
        assert "slug:the-matrix-1999 off" in overrides

    run_app(app, scenario, size=(100, 30))
    with build_app(settings) as core:
        state = core.flags.describe("ai_description_generation")
    assert state.percentage == 25
    assert [(o.scope, o.enabled) for o in state.overrides] == [("slug:the-matrix-1999", False)]


def test_refusals_are_error_notifications(open_app: AppFactory, settings: Settings) -> None:
    app = open_app("flags")
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        percentage = app.query_one("#flag-percentage", Input)
        percentage.focus()
        await pilot.press("1", "5", "0", "enter")
        await wait_until(pilot, lambda: len(notes.errors()) == 1, "the range refusal")
        percentage.value = "lots"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(notes.errors()) == 2, "the number refusal")
        app.query_one("#flag-scope", Input).value = "the-matrix"
        await pilot.click("#override-on")
        await wait_until(pilot, lambda: len(notes.errors()) == 3, "the scope refusal")
        app.query_one("#flag-target", Select).value = "catalog_read_only_mode"
        percentage.value = "50"
        percentage.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(notes.errors()) == 4, "the fixed-flag refusal")
        assert app.is_running

    run_app(app, scenario, size=(100, 30))
    first, second, third, fourth = notes.errors()
    assert "between 0 and 100, got 150" in first
    assert "whole number from 0 to 100, got 'lots'" in second
    assert "invalid scope 'the-matrix'" in third
    assert "cannot be changed at run time" in fourth
    assert stored(settings, "ai_description_generation") == (True, "default", None)


def test_rollouts_box_shows_an_active_rollout(open_app: AppFactory, settings: Settings) -> None:
    from moviemind_lite.policy.rollout import RolloutPlan

    with build_app(settings) as core:
        core.rollouts.start("ai_bio_generation", RolloutPlan(stages=(5, 25, 100)))
    app = open_app("flags")

    async def scenario(pilot: Pilot[None]) -> None:
        box = app.query_one("#flag-rollouts", Static)
        await wait_until(pilot, lambda: "ACTIVE" in plain(box), "the rollout")
        assert "ai_bio_generation ACTIVE stage 1/3 at 5%" in plain(box)

    run_app(app, scenario, size=(100, 30))
