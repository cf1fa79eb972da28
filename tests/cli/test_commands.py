"""The root command's table: every command listed, its help line true, nothing imported early."""

from __future__ import annotations

import importlib
import pkgutil

import click
import pytest

import moviemind_lite.cli as cli_package
from moviemind_lite.cli import COMMANDS, cli
from moviemind_lite.cli.entities import KIND_COMMANDS
from tests.cli.conftest import run
from tests.helpers import run_in_fresh_interpreter

PACKAGE = "moviemind_lite."


def every_command() -> dict[str, click.Command]:
    """Every command defined at the top of a cli module, by name: what the table must list."""
    found: dict[str, click.Command] = {}
    # The commands of one kind of entity are worded copies in `movies` and `people`.
    nested: set[int] = {id(command) for command in KIND_COMMANDS}
    for module in pkgutil.iter_modules(cli_package.__path__, "moviemind_lite.cli."):
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, click.Group) and value is not cli:
                nested.update(id(command) for command in value.commands.values())
            if isinstance(value, click.Command) and value is not cli and value.name:
                found[value.name] = value
    return {name: command for name, command in found.items() if id(command) not in nested}


def test_the_table_lists_every_command_and_each_resolves_to_it() -> None:
    defined = every_command()
    assert sorted(COMMANDS) == sorted(defined)
    ctx = click.Context(cli)
    for name, command in defined.items():
        assert cli.get_command(ctx, name) is command


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_help_line_is_the_commands_own(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    for limit in (20, 45, 200):
        expected = click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)
        assert command.get_short_help_str(limit) == expected


def test_the_help_lists_the_commands_as_click_would_with_every_module_loaded() -> None:
    eager = click.Group(
        name="moviemind", params=cli.params, help=cli.help, context_settings=cli.context_settings
    )
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        eager.add_command(command, name)
    for width in (60, 80, 120):
        settings = {**cli.context_settings, "terminal_width": width}
        expected = eager.get_help(click.Context(eager, info_name="moviemind", **settings))
        shown = cli.get_help(click.Context(cli, info_name="moviemind", **settings))
        assert shown == expected


def test_an_unknown_command_is_one_line_and_exit_2() -> None:
    result = run("moveis")
    assert result.exit_code == 2
    assert "No such command 'moveis'" in result.output


def modules_after(*args: str) -> set[str]:
    """The package's modules a fresh ``moviemind ARGS`` has imported when it ends."""
    return {name for name in run_in_fresh_interpreter(*args)[1] if name.startswith(PACKAGE)}


def test_help_imports_no_command_module() -> None:
    loaded = modules_after("--help")
    commands = {f"moviemind_lite.cli.{module}" for module, _, _ in COMMANDS.values()}
    assert not loaded & commands, loaded & commands


def test_a_command_imports_its_own_module_alone() -> None:
    loaded = modules_after("keys", "--help")
    commands = {f"moviemind_lite.cli.{module}" for module, _, _ in COMMANDS.values()}
    assert loaded & commands == {"moviemind_lite.cli.keys"}
