"""The ``moviemind`` command: parse, make one core call, print.

Each area lives in its own module, imported only when one of its commands
runs: :data:`COMMANDS` names each command's module and what ``moviemind
--help`` says of it, so the help and a command's start pay for that command
alone. Heavy libraries (rich, textual, the store) are imported inside the
commands that need them.
"""

from __future__ import annotations

import importlib

import click

from moviemind_lite import __version__
from moviemind_lite.cli.root import MovieMindGroup, Session

__all__ = ["COMMANDS", "cli", "main"]

# name: (module in moviemind_lite.cli, its attribute, the first line of its help).
# tests/cli/test_commands.py keeps the help lines true to the commands.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "ai": (
        "ai",
        "ai_group",
        "The AI that writes the texts: the offline mock, or an OpenAI-compatible server.",
    ),
    "catalog": (
        "catalog",
        "catalog",
        "Import and export movies and people as CSV, JSON or JSON Lines.",
    ),
    "compare": (
        "lab",
        "compare",
        "Race the same scenario under several strategies and print them side by side.",
    ),
    "demo": (
        "entities",
        "demo",
        "The guided tour: the catalog, then the race lab's scenarios, explained and checked.",
    ),
    "doctor": (
        "doctor",
        "doctor",
        "Check the database and the lock server, each within 2 s, and say what to fix.",
    ),
    "flags": (
        "flags",
        "flags",
        "Feature flags: values per environment, rollouts, per-scope overrides.",
    ),
    "init": (
        "entities",
        "init",
        "Create the database and load the sample catalog (safe to run again).",
    ),
    "jobs": ("jobs", "jobs", "List, inspect, wait for and retry generation jobs."),
    "keys": ("keys", "keys", "Create, list and revoke API keys of the HTTP API."),
    "lab": (
        "lab",
        "lab",
        "Named teaching scenarios: runs, what to look at, and an automatic check.",
    ),
    "logs": ("monitor", "logs", "Read the JSON log, human-readable by default."),
    "movies": ("entities", "movies", "Browse and show movies."),
    "people": ("entities", "people", "Browse and show people."),
    "race": (
        "lab",
        "race",
        "Race one strategy through a scenario in a scratch home and count the damage.",
    ),
    "rollout": (
        "rollout",
        "rollout",
        "Staged flag rollouts: advance while guardrails hold, roll back when one breaks.",
    ),
    "serve": (
        "serve",
        "serve",
        "Serve the MovieMind HTTP API (GET /api/v1/movies/SLUG, POST /api/v1/generate, ...).",
    ),
    "stats": (
        "monitor",
        "stats",
        "Jobs per minute, runtimes, wait times, queue depth, recent failures and AI usage.",
    ),
    "tui": (
        "tui",
        "tui",
        "Open the terminal UI: catalog, jobs, flags, log and lab (ctrl+q quits).",
    ),
    "worker": (
        "jobs",
        "worker",
        "Claim and run PENDING jobs until stopped (SIGINT/SIGTERM finish running jobs first).",
    ),
}


class LazyGroup(MovieMindGroup):
    """The root group: a command's module is imported when that command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, sorted (as click lists them)."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command called ``cmd_name``, its module imported now; ``None`` if there is none."""
        found = COMMANDS.get(cmd_name)
        if found is None:
            return None
        module, attribute, _ = found
        command: click.Command = getattr(
            importlib.import_module(f"moviemind_lite.cli.{module}"), attribute
        )
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The help's command list, as click writes it, without importing a command."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        # A stand-in command with the same help cuts the line as the real one would.
        rows = [
            (name, click.Command(name, help=line).get_short_help_str(limit))
            for name, (_, _, line) in sorted(COMMANDS.items())
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    metavar="DIR",
    help="Data folder holding moviemind.db, locks/ and logs/ (default: MOVIEMIND_HOME or ./data).",
)
@click.option(
    "--database-url",
    metavar="URL",
    help="postgresql://user:password@host:port/db to use PostgreSQL "
    "(default: MOVIEMIND_DATABASE_URL, else the home's SQLite file).",
)
@click.option(
    "--locks-url",
    metavar="URL",
    help="redis://host:port/0 to keep locks and slots on Redis "
    "(default: MOVIEMIND_LOCKS_URL, else the home's lock folder).",
)
@click.version_option(__version__, "-V", "--version", prog_name="moviemind")
@click.pass_context
def cli(
    ctx: click.Context, home: str | None, database_url: str | None, locks_url: str | None
) -> None:
    """MovieMind Lite: AI-written movie descriptions and a locking lab, on SQLite
    or on PostgreSQL and Redis."""
    session = Session(home, database_url=database_url, locks_url=locks_url)
    ctx.obj = session
    ctx.call_on_close(session.close)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="moviemind")
