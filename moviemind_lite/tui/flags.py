"""The Flags tab: every flag with its value and source, switches, rollouts, overrides.

Each togglable flag has a switch (stored on/off); a flag fixed at run time has
a disabled one and says why. Below, a form acts on one chosen flag: a
percentage rollout, an override for one scope (``slug:the-matrix-1999``,
``user:42``) or clearing what is stored. Every change goes through
:class:`~moviemind_lite.policy.flags.FlagService`, which records who made it;
its refusals (a fixed flag, a bad percentage, a bad scope) come back as error
notifications. At the bottom, the rollouts of this environment
(:mod:`moviemind_lite.policy.rollout`) with their guardrail readings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static, Switch

from moviemind_lite.app.wiring import App as Core
from moviemind_lite.core.errors import MovieMindError
from moviemind_lite.policy.flag_registry import FLAGS
from moviemind_lite.policy.flags import FlagChange, FlagState
from moviemind_lite.policy.rollout import RolloutReport
from moviemind_lite.tui.pane import CorePane, in_thread

ROLLOUT_STYLE = {
    "active": "bold cyan",
    "completed": "bold green",
    "rolled_back": "bold red",
    "aborted": "bold yellow",
}


def value_text(state: FlagState) -> Text:
    """ON/OFF in colour, then where the value comes from."""
    out = Text()
    out.append(
        "ON " if state.value.enabled else "OFF",
        style="bold green" if state.value.enabled else "bold red",
    )
    source: str = state.value.source
    if source == "percentage":
        source = f"{state.percentage}% rollout"
    out.append(f"  {source}", style="dim")
    if state.overrides:
        count = len(state.overrides)
        out.append(f" · {count} override{'s' if count != 1 else ''}", style="dim")
    return out


def overrides_text(state: FlagState) -> Text:
    """The overrides of one flag on one line."""
    out = Text()
    out.append(f"{state.flag.name} overrides: ", style="dim")
    if not state.overrides:
        out.append("none", style="dim italic")
    for index, override in enumerate(state.overrides):
        if index:
            out.append(", ")
        out.append(override.scope)
        out.append(
            " on" if override.enabled else " off", style="green" if override.enabled else "red"
        )
    return out


def rollouts_text(reports: list[RolloutReport], environment: str) -> Text:
    """The active rollouts, or the last one that ended, with readings against limits."""
    out = Text()
    active = [report for report in reports if report.rollout.active]
    shown = active or reports[:1]
    if not shown:
        out.append(
            f"no rollout in {environment} (moviemind rollout start FLAG --stages 5,25,100)",
            style="dim",
        )
        return out
    if not active:
        out.append("no active rollout; the last one:\n", style="dim")
    for report in shown:
        rollout, reading = report.rollout, report.reading
        out.append(f"{rollout.flag} ", style="bold")
        out.append(
            rollout.status.replace("_", " ").upper(), style=ROLLOUT_STYLE.get(rollout.status, "")
        )
        stages = " → ".join(f"{stage}%" for stage in rollout.stages)
        out.append(
            f" stage {rollout.stage}/{len(rollout.stages)} at {rollout.percentage}% ({stages})\n"
        )
        rate = "-" if reading.error_rate is None else f"{reading.error_rate:g}"
        p95 = "-" if reading.p95_ms is None else f"{reading.p95_ms:g} ms"
        out.append(
            f"  jobs {reading.jobs}/{rollout.min_jobs} · error rate {rate} "
            f"(max {rollout.max_error_rate:g}) · p95 {p95} (max {rollout.max_p95_ms:g} ms)\n",
            style="dim",
        )
        if rollout.reason:
            out.append(f"  {rollout.reason}\n", style="dim")
    return out


class FlagRow(Horizontal):
    """One flag: its switch, its name, its value and source."""

    def __init__(self, name: str) -> None:
        super().__init__(id=f"flag-row-{name}", classes="flag-row")
        self.flag_name = name

    def compose(self) -> ComposeResult:
        flag = FLAGS[self.flag_name]
        yield Switch(
            value=flag.default,
            animate=False,
            disabled=not flag.togglable,
            id=f"flag-switch-{self.flag_name}",
            tooltip=flag.description,
        )
        with Vertical(classes="flag-text"):
            with Horizontal(classes="flag-line"):
                yield Label(self.flag_name, classes="flag-name")
                yield Label("", classes="flag-value")
            if not flag.togglable:
                yield Label(
                    Text(f"fixed at run time: {flag.reason}", style="dim italic"),
                    classes="flag-reason",
                )


class FlagsPane(CorePane):
    """Switches, a rollout and override form, and the rollout status."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reload", "Reload"),
    ]

    DEFAULT_CSS = """
    FlagsPane { padding: 0 1; }
    FlagsPane .flag-row { height: auto; }
    FlagsPane Switch { border: none; padding: 0 1; height: 1; margin-right: 1; }
    FlagsPane Switch:focus { border: none; background: $accent 60%; }
    FlagsPane .flag-text { height: auto; width: 1fr; }
    FlagsPane .flag-line { height: 1; }
    FlagsPane .flag-name { width: 32; }
    FlagsPane .flag-value { width: 1fr; }
    FlagsPane .flag-reason { width: 1fr; }
    FlagsPane .form-line { height: 1; margin-top: 1; }
    FlagsPane .form-line Label { padding: 0 1 0 0; }
    FlagsPane #flag-target { width: 36; }
    FlagsPane #flag-percentage { width: 9; margin-right: 2; }
    FlagsPane #flag-scope { width: 1fr; }
    FlagsPane Button { margin-left: 1; min-width: 5; }
    FlagsPane #flag-overrides { height: 1; }
    FlagsPane #flag-rollouts {
        height: auto; max-height: 6; margin-top: 1;
        border: round $primary; border-title-color: $text;
    }
    """

    class Loaded(Message, bubble=False):
        """Every flag's state, and the rollouts (or why they could not be read)."""

        def __init__(
            self, states: list[FlagState], reports: list[RolloutReport] | None, problem: str | None
        ) -> None:
            super().__init__()
            self.states = states
            self.reports = reports
            self.problem = problem

    class Changed(Message, bubble=False):
        """A flag change is over: ``change`` is what it did, None when refused."""

        def __init__(self, change: FlagChange | None) -> None:
            super().__init__()
            self.change = change

    def __init__(self, core: Core, *, poll_interval: float = 1.0, id: str | None = None) -> None:
        super().__init__(core, id=id)
        self.poll_interval = poll_interval
        self.states: dict[str, FlagState] = {}

    def compose(self) -> ComposeResult:
        yield Label(Text(f"Flags in environment {self.core.settings.environment!r}", style="bold"))
        for name in FLAGS:
            yield FlagRow(name)
        with Horizontal(classes="form-line"):
            yield Label("flag")
            yield Select(
                [(name, name) for name in FLAGS],
                value=next(iter(FLAGS)),
                allow_blank=False,
                compact=True,
                id="flag-target",
            )
        with Horizontal(classes="form-line"):
            yield Label("rollout %")
            yield Input(placeholder="0-100", compact=True, id="flag-percentage")
            yield Label("scope")
            yield Input(placeholder="slug:the-matrix-1999", compact=True, id="flag-scope")
            yield Button("on", compact=True, id="override-on")
            yield Button("off", compact=True, id="override-off")
            yield Button("clear", compact=True, id="flag-clear")
        yield Static("", id="flag-overrides")
        rollouts = Static("", id="flag-rollouts")
        rollouts.border_title = "rollouts"
        yield rollouts

    def on_mount(self) -> None:
        """Read the flags again on every poll while shown (other processes change them too)."""
        self.set_interval(self.poll_interval, self._tick)

    def tab_shown(self) -> None:
        """Read the flags as soon as the tab is shown."""
        self.action_reload()

    def _tick(self) -> None:
        if self.shown:
            self.action_reload()

    # -- reading ----------------------------------------------------------------------

    def action_reload(self) -> None:
        """Read every flag and the rollouts again."""
        self._load()

    @in_thread(exclusive=True, group="flags-load")
    def _load(self) -> None:
        with self.reporting():
            states = self.core.flags.list_states()
            reports: list[RolloutReport] | None = None
            problem: str | None = None
            try:
                reports = self.core.rollouts.status(limit=1)
            except MovieMindError as error:
                # The rollouts are an extra on this tab: say so in their box.
                problem = str(error)
            self.post_message(self.Loaded(states, reports, problem))

    def on_flags_pane_loaded(self, message: FlagsPane.Loaded) -> None:
        """Show every flag's value; switches follow without reporting a change."""
        self.states = {state.flag.name: state for state in message.states}
        for state in message.states:
            row = self.query_one(f"#flag-row-{state.flag.name}", FlagRow)
            switch = row.query_one(Switch)
            with switch.prevent(Switch.Changed):
                switch.value = state.value.enabled
            row.query_one(".flag-value", Label).update(value_text(state))
        self._show_overrides()
        box = self.query_one("#flag-rollouts", Static)
        if message.reports is None:
            box.update(Text(f"rollouts unavailable: {message.problem}", style="italic"))
        else:
            box.update(rollouts_text(message.reports, self.core.settings.environment))

    def _target(self) -> str:
        value = self.query_one("#flag-target", Select).value
        return value if isinstance(value, str) else next(iter(FLAGS))

    def _show_overrides(self) -> None:
        state = self.states.get(self._target())
        if state is not None:
            self.query_one("#flag-overrides", Static).update(overrides_text(state))

    @on(Select.Changed, "#flag-target")
    def _target_changed(self) -> None:
        self._show_overrides()

    # -- changing ---------------------------------------------------------------------

    @on(Switch.Changed)
    def _switch_changed(self, event: Switch.Changed) -> None:
        name = (event.switch.id or "").removeprefix("flag-switch-")
        if name in FLAGS:
            enabled = event.value
            self._change(lambda: self.core.flags.set(name, enabled))

    @on(Input.Submitted, "#flag-percentage")
    def _percentage_submitted(self, event: Input.Submitted) -> None:
        name, raw = self._target(), event.value.strip()
        try:
            percentage = int(raw)
        except ValueError:
            self.notify(
                f"rollout percentage must be a whole number from 0 to 100, got {raw!r}",
                severity="error",
            )
            return
        self._change(lambda: self.core.flags.set_percentage(name, percentage))

    @on(Button.Pressed, "#override-on")
    def _override_on(self) -> None:
        self._override(True)

    @on(Button.Pressed, "#override-off")
    def _override_off(self) -> None:
        self._override(False)

    @on(Input.Submitted, "#flag-scope")
    def _scope_submitted(self) -> None:
        self.notify("choose on or off for this scope (the buttons on the right)", timeout=3)

    def _override(self, enabled: bool) -> None:
        name = self._target()
        scope = self.query_one("#flag-scope", Input).value.strip()
        if not scope:
            self.notify("an override needs a scope, e.g. slug:the-matrix-1999", severity="error")
            return
        self._change(lambda: self.core.flags.override(name, scope, enabled))

    @on(Button.Pressed, "#flag-clear")
    def _clear(self) -> None:
        name = self._target()
        scope = self.query_one("#flag-scope", Input).value.strip() or None
        self._change(lambda: self.core.flags.clear(name, scope))

    @in_thread(group="flags-change")
    def _change(self, change: Callable[[], FlagChange]) -> None:
        done: FlagChange | None = None
        try:
            with self.reporting():
                done = change()
        finally:
            self.post_message(self.Changed(done))

    def on_flags_pane_changed(self, message: FlagsPane.Changed) -> None:
        """Show what is stored now (a refused switch flips back) and confirm the change."""
        self.action_reload()
        change = message.change
        if change is None:
            return
        scope = f" for {change.scope}" if change.scope else ""
        if not change.changed:
            self.notify(f"{change.name}{scope}: already {change.after or 'cleared'}", timeout=3)
            return
        before, after = change.before or "default", change.after or "default"
        self.notify(f"{change.name}{scope}: {before} → {after}", timeout=3)
        state = self.states.get(change.name)
        if state is not None and state.value.source == "environment-variable":
            self.notify(
                f"{state.flag.environment_variable} still decides {change.name} in this process",
                severity="warning",
            )
