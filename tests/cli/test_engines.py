"""Choosing the engines by URL: bad URLs, unreachable servers, refused logins, missing extras.

Each is one line naming what failed and how to fix it, exit 2 for a URL that
cannot be used as given and exit 1 for a server that cannot be used; never a
traceback, never the password, and nothing written.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from moviemind_lite.core.config import Settings
from tests.cli.conftest import assert_one_line_error, run
from tests.engines import POSTGRES_URL, SERVERS, require
from tests.helpers import REPO

SECRET = "sekret-4242"


@pytest.mark.parametrize(
    ("option", "url", "message"),
    [
        (
            "--database-url",
            f"mysql://me:{SECRET}@db/movies",
            "--database-url='mysql://me:***@db/movies' must start with one of: sqlite://, "
            "postgresql://, postgres://",
        ),
        ("--database-url", f"postgresql://me:{SECRET}@db:99999/m", "is not a URL: Port out"),
        ("--database-url", "postgresql:///movies", "names no host"),
        ("--database-url", f"postgresql://me:{SECRET} x@db/m", "holds spaces or control"),
        ("--database-url", "sqlite://relative.db", "must be sqlite:///absolute/path"),
        (
            "--database-url",
            "postgresql://db/m?schema=Bad-Name",
            "schema='Bad-Name' is not a usable name",
        ),
        ("--locks-url", f"redis://:{SECRET}@cache/zero", "the Redis database after the host"),
        ("--locks-url", "memcached://cache", "must start with one of: file://, redis://"),
        ("--locks-url", "file:locks", "must be file:///absolute/path"),
    ],
)
def test_a_url_that_cannot_be_used_is_one_line_of_bad_input(
    home: Path, option: str, url: str, message: str
) -> None:
    result = run(option, url, "movies", "list")
    assert_one_line_error(result, 2, message)
    assert SECRET not in result.output
    assert not home.exists()


def test_the_environment_variable_is_named_when_the_url_came_from_it(home: Path) -> None:
    result = run("movies", "list", env={"MOVIEMIND_DATABASE_URL": "oracle://db"})
    assert_one_line_error(result, 2, "MOVIEMIND_DATABASE_URL='oracle://db' must start with")


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_database_server_writes_nothing(home: Path) -> None:
    url = f"postgresql://me:{SECRET}@127.0.0.1:{closed_port()}/movies"
    result = run("--database-url", url, "init")
    assert_one_line_error(result, 1, "cannot use PostgreSQL at postgresql://me:***@127.0.0.1:")
    assert "(check MOVIEMIND_DATABASE_URL or --database-url)" in result.output
    assert SECRET not in result.output
    assert not (home / "moviemind.db").exists()


def test_an_unreachable_locks_server_leaves_no_new_database(home: Path) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:{closed_port()}/0"
    result = run("--locks-url", url, "init")
    assert_one_line_error(result, 1, "cannot use Redis at redis://:***@127.0.0.1:")
    assert "(check MOVIEMIND_LOCKS_URL or --locks-url)" in result.output
    assert SECRET not in result.output
    assert not (home / "moviemind.db").exists()


def test_a_login_the_database_server_refuses_is_one_line() -> None:
    require(SERVERS)
    assert POSTGRES_URL is not None
    parts = urlsplit(POSTGRES_URL)
    refused = urlunsplit(
        parts._replace(netloc=f"nobody-at-all:{SECRET}@{parts.hostname}:{parts.port}")
    )
    result = run("--database-url", refused, "movies", "list")
    assert_one_line_error(result, 1, "PostgreSQL at postgresql://nobody-at-all:***@")
    assert "nobody-at-all" in result.output and SECRET not in result.output


@pytest.mark.parametrize(
    ("client", "option", "url", "line"),
    [
        (
            "psycopg",
            "--database-url",
            "postgresql://127.0.0.1:1/x",
            "Error: PostgreSQL needs psycopg: pip install 'moviemind-lite[postgres]'",
        ),
        (
            "redis",
            "--locks-url",
            "redis://127.0.0.1:1/0",
            "Error: Redis needs redis: pip install 'moviemind-lite[redis]'",
        ),
    ],
)
def test_a_missing_extra_names_the_extra_that_installs_it(
    tmp_path: Path, client: str, option: str, url: str, line: str
) -> None:
    # The client cannot be imported in this process: as if the extra were not installed.
    code = (
        f"import sys; sys.modules[{client!r}] = None\n"
        "from moviemind_lite.cli import main\n"
        f"sys.argv = ['moviemind', '--home', {str(tmp_path / 'home')!r}, {option!r}, {url!r}, "
        "'movies', 'list']\n"
        "main()"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr == line + "\n"


@pytest.mark.usefixtures("engines")
def test_init_builds_the_schema_on_the_chosen_engine_and_reset_starts_over(
    settings: Settings,
) -> None:
    where = settings.database_shown
    created = run("init")
    assert created.exit_code == 0, created.output
    assert created.output.startswith(f"Created {where} (63 movies")
    assert run("init").output.startswith(f"Ready: {where} (63 movies")
    assert run("movies", "show", "alien-1979", "--no-wait").exit_code == 0
    again = run("init", "--reset", "--yes")
    assert again.exit_code == 0, again.output
    assert again.output.startswith(f"Created {where} (63 movies")
    jobs = run("jobs", "list", "--json")
    assert jobs.exit_code == 0 and json.loads(jobs.output) == []
