"""``moviemind ai check``: is the configured AI usable, how fast did it answer, what to fix."""

from __future__ import annotations

import click

from moviemind_lite.cli.base import Session, core_errors, json_option, pass_session, print_json
from moviemind_lite.core.display import visible


@click.group(name="ai")
def ai_group() -> None:
    """The AI that writes the texts: the offline mock, or an OpenAI-compatible server."""


@ai_group.command()
@json_option
@pass_session
@click.pass_context
def check(ctx: click.Context, session: Session, as_json: bool) -> None:
    """Check that the configured AI answers and lists its model.

    Asks the server for its models (GET <base URL>/models) and tells whether the
    configured model is among them, how long the server took, and what to fix.
    Exit 0 when the AI is usable, 1 when it is not, 2 for unusable settings.
    """
    from moviemind_lite.ai.health import check_ai

    with core_errors():
        settings = session.settings().ai
    result = check_ai(settings)
    if as_json:
        print_json(result.to_json())
    elif result.backend == "mock":
        click.echo(
            f"the offline mock generator is in use (MOVIEMIND_AI=mock, model {result.model}): "
            "no server to check"
        )
    else:
        click.echo(f"server    {result.base_url}")
        if result.model_listed is not None:
            listed = "listed" if result.model_listed else "not listed"
            count = len(result.models)
            click.echo(f"model     {result.model}: {listed} ({count} model{'s' * (count != 1)})")
        else:
            click.echo(f"model     {result.model}")
        if result.answered:
            click.echo(f"answered  in {result.duration_ms:,.0f} ms")
        else:
            click.echo(f"answered  no (gave up after {result.duration_ms:,.0f} ms)")
        problem = visible(result.problem or "")
        click.echo("ok: the model can be used" if result.usable else f"problem: {problem}")
    if not result.usable:
        ctx.exit(1)
