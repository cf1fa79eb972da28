"""``moviemind doctor``: can this home's database and lock server be used right now?"""

from __future__ import annotations

import click

from moviemind_lite.cli.base import Session, core_errors, json_option, pass_session, print_json


@click.command()
@json_option
@pass_session
def doctor(session: Session, as_json: bool) -> None:
    """Check the database and the lock server, each within 2 s, and say what to fix."""
    from moviemind_lite.app.readiness import diagnose

    with core_errors():
        states = diagnose(session.settings())
    if as_json:
        print_json({state.role: state.to_json() for state in states})
    else:
        for state in states:
            latency = "-" if state.latency_ms is None else f"{state.latency_ms:g} ms"
            verdict = "ok" if state.ok else "FAILED"
            click.echo(f"{state.role:<9} {state.engine} at {state.where}: {verdict} ({latency})")
            if not state.ok:
                click.echo(f"          {state.error}")
                click.echo(f"          what to do: {state.fix}")
    if not all(state.ok for state in states):
        raise SystemExit(1)
