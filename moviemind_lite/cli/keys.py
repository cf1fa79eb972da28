"""``moviemind keys``: the API keys that may call ``POST /api/v1/generate``."""

from __future__ import annotations

import click

from moviemind_lite.cli.base import (
    Session,
    core_errors,
    json_option,
    pass_session,
    print_json,
    table_console,
)


@click.group()
def keys() -> None:
    """Create, list and revoke API keys of the HTTP API."""


@keys.command(name="create")
@click.argument("name")
@json_option
@pass_session
def create_key(session: Session, name: str, as_json: bool) -> None:
    """Create a key called NAME; its secret is printed now and never again."""
    with core_errors():
        created = session.app().api_keys.create(name)
    if as_json:
        print_json({**created.key.to_json(), "secret": created.secret})
        return
    click.echo(f"Created key {created.key.id} ({created.key.name}). Its secret, shown only now:")
    click.echo(created.secret)


@keys.command(name="list")
@json_option
@pass_session
def list_keys(session: Session, as_json: bool) -> None:
    """List keys (never their secrets)."""
    with core_errors():
        found = session.app().api_keys.list()
    if as_json:
        print_json([key.to_json() for key in found])
        return
    if not found:
        click.echo("No API keys. Create one with: moviemind keys create NAME")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("id", "name", "prefix", "created", "revoked"):
        table.add_column(column, no_wrap=column == "id")
    for key in found:
        table.add_row(key.id, key.name, key.prefix + "…", key.created_at, key.revoked_at or "")
    table_console().print(table)


@keys.command(name="revoke")
@click.argument("key_id", metavar="ID")
@pass_session
def revoke_key(session: Session, key_id: str) -> None:
    """Revoke key ID at once (requests with it get 401)."""
    with core_errors():
        key = session.app().api_keys.revoke(key_id)
    click.echo(f"revoked {key.id} ({key.name})")
