"""Feature flag commands: list, show, set, override, clear."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from moviemind_lite.cli.base import (
    Number,
    Session,
    UsageProblem,
    core_errors,
    json_option,
    pass_session,
    print_json,
)
from moviemind_lite.core.display import visible
from moviemind_lite.core.numbers import PERCENTAGE

if TYPE_CHECKING:
    from moviemind_lite.policy.flags import FlagChange, FlagService, FlagState


def on_off(ctx: click.Context, param: click.Parameter, value: str | None) -> bool | None:
    """Read ``on`` or ``off`` (any case) as a bool.

    Not ``click.Choice``: its "missing argument" message spans several lines.
    """
    if value is None:
        return None
    text = value.strip().lower()
    if text not in ("on", "off"):
        raise click.BadParameter(f"{value!r} is not one of 'on', 'off'", ctx, param)
    return text == "on"


def _service(session: Session, name: str | None = None) -> FlagService:
    """The flags of this environment; an unknown ``name`` fails before the database opens."""
    from moviemind_lite.policy.flag_registry import flag_named

    if name is not None:
        flag_named(name)
    return session.app().flags


def _shown(value: str | None) -> str:
    return "unset" if value is None else value


def _on_off(enabled: bool) -> str:
    return "on" if enabled else "off"


def print_change(change: FlagChange) -> None:
    """One line saying what a change did (or that there was nothing to do)."""
    subject = change.name if change.scope is None else f"{change.name} for {change.scope}"
    where = f"in {change.environment}"
    if change.changed:
        click.echo(f"{subject}: {_shown(change.before)} → {_shown(change.after)} {where}")
    elif change.after is None:
        nothing = "no stored value" if change.scope is None else "no override"
        click.echo(f"{subject}: {nothing} {where}")
    else:
        click.echo(f"{subject} is already {change.after} {where}")


def _note_if_forced(service: FlagService, name: str) -> None:
    from moviemind_lite.policy.flag_registry import flag_named

    if service.evaluate(name).source == "environment-variable":
        variable = flag_named(name).environment_variable
        click.echo(f"note: {variable} is set and overrides this in this process", err=True)


def print_state(state: FlagState) -> None:
    """The ``flags show`` text: value and where it came from, then the details."""
    flag = state.flag
    click.echo(f"{flag.name}: {_on_off(state.value.enabled)} ({state.value.source})")
    click.echo(flag.description)
    click.echo(f"environment: {state.environment}")
    togglable = "yes" if flag.togglable else f"no ({flag.reason})"
    click.echo(f"default: {_on_off(flag.default)} · togglable: {togglable}")
    stored = "unset" if state.stored is None else _on_off(state.stored)
    if state.percentage is not None:
        stored = f"{state.percentage}% of scopes"
    click.echo(f"stored: {stored}")
    if state.overrides:
        click.echo("overrides:")
        for override in state.overrides:
            click.echo(
                f"  {override.scope}: {_on_off(override.enabled)} "
                f"(by {visible(override.updated_by)}, {override.updated_at})"
            )
    else:
        click.echo("overrides: none")
    if state.changes:
        click.echo("recent changes:")
        for change in state.changes:
            scope = f" {change.scope}" if change.scope else ""
            click.echo(
                f"  {change.at}  {visible(change.actor)}  {change.action}{scope}: "
                f"{_shown(change.before)} → {_shown(change.after)}"
            )
    else:
        click.echo("recent changes: none")


@click.group()
def flags() -> None:
    """Feature flags: values per environment, rollouts, per-scope overrides."""


@flags.command(name="list")
@json_option
@pass_session
def list_command(session: Session, as_json: bool) -> None:
    """List every flag with its value here and where that value comes from."""
    with core_errors():
        states = _service(session).list_states()
    if as_json:
        print_json([state.summary() for state in states])
        return
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("name", "value", "source", "percentage", "togglable", "description"):
        table.add_column(column, no_wrap=True)
    for state in states:
        table.add_row(
            state.flag.name,
            _on_off(state.value.enabled),
            state.value.source,
            "" if state.percentage is None else f"{state.percentage}%",
            "yes" if state.flag.togglable else "no",
            state.flag.description,
        )
    # One line per flag, never cut: a narrow terminal wraps the line rather than
    # rich squeezing or dropping columns, and piped output stays greppable.
    console = Console(soft_wrap=False)
    natural = Measurement.get(console, console.options.update_width(1_000), table).maximum
    if natural > console.width:
        console = Console(soft_wrap=False, width=natural)
    console.print(table)


@flags.command(name="show")
@click.argument("name")
@json_option
@pass_session
def show_command(session: Session, name: str, as_json: bool) -> None:
    """Show a flag's value, rollout, overrides and recent changes."""
    with core_errors():
        state = _service(session, name).describe(name)
    if as_json:
        print_json(state.to_json())
    else:
        print_state(state)


@flags.command(name="set")
@click.argument("name")
@click.argument("state", required=False, callback=on_off, metavar="[on|off]")
@click.option(
    "--percentage",
    type=Number(PERCENTAGE),
    metavar="P",
    help="Roll out to P% of scopes (0-100) instead of on or off for everyone.",
)
@pass_session
def set_command(session: Session, name: str, state: bool | None, percentage: int | None) -> None:
    """Turn a flag on or off in this environment, or roll it out to a percentage."""
    if (state is None) == (percentage is None):
        raise UsageProblem("give either on|off or --percentage P")
    with core_errors():
        service = _service(session, name)
        if percentage is not None:
            change = service.set_percentage(name, percentage)
        else:
            change = service.set(name, bool(state))
        print_change(change)
        _note_if_forced(service, name)


@flags.command(name="override")
@click.argument("name")
@click.argument("scope")
@click.argument("state", callback=on_off, metavar="on|off")
@pass_session
def override_command(session: Session, name: str, scope: str, state: bool) -> None:
    """Fix a flag on or off for one scope (e.g. slug:the-matrix-1999, user:42)."""
    with core_errors():
        service = _service(session, name)
        print_change(service.override(name, scope, state))
        _note_if_forced(service, name)


@flags.command(name="clear")
@click.argument("name")
@click.argument("scope", required=False)
@pass_session
def clear_command(session: Session, name: str, scope: str | None) -> None:
    """Forget a flag's stored value (back to its default), or only its override for SCOPE."""
    with core_errors():
        print_change(_service(session, name).clear(name, scope))
