"""What the fuzz tests share: hostile values, the invariants of one run, a bounded budget.

Every case runs ``moviemind`` in this process against a home holding the
sample catalog, and asserts the same invariants: exit 0, 1 or 2; no
traceback on either stream and no exception escaping; a bad-input exit (2)
is one ``Error:`` line; nothing printed holds a raw control character; and
the database's checksum is unchanged when the command must not write.

The budget is a few hundred cases; ``MOVIEMIND_FUZZ_EXAMPLES`` sets the
examples per fuzzed command (default 8). Hypothesis runs derandomized, so
the suite is the same on every run and in CI.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import Result
from hypothesis import HealthCheck, settings

from moviemind_lite.core.config import load_settings
from moviemind_lite.core.display import visible
from tests.cli.conftest import run
from tests.hostile import store_hostile_rows

EXAMPLES = int(os.environ.get("MOVIEMIND_FUZZ_EXAMPLES", "8"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("MOVIEMIND_FUZZ_RANDOM") is None,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Tables whose rows a command that must not write must leave as they were. The
# answer cache, AI call records and the breaker are bookkeeping, not data.
CHECKED_TABLES = (
    "movies",
    "people",
    "descriptions",
    "bios",
    "jobs",
    "generation_slots",
    "flags",
    "flag_overrides",
    "events",
    "rollouts",
)
# Raw characters a terminal would obey; visible() spells every one of them out.
CONTROLS = tuple(chr(code) for code in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)))
BIDI = tuple(chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def checksum(database: Path) -> str:
    """A hash of every row of the checked tables (empty when there is no database)."""
    if not database.exists():
        return ""
    conn = sqlite3.connect(database)
    try:
        prefixes = tuple(f'INSERT INTO "{table}"' for table in CHECKED_TABLES)
        digest = hashlib.sha256()
        for line in conn.iterdump():
            if line.startswith(prefixes):
                digest.update(line.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()
    finally:
        conn.close()


@dataclass
class Tally:
    """How many cases each fuzz test ran, and how they ended (for the summary line)."""

    cases: dict[str, int] = field(default_factory=dict)
    exits: dict[int, int] = field(default_factory=dict)

    def add(self, test: str, exit_code: int) -> None:
        self.cases[test] = self.cases.get(test, 0) + 1
        self.exits[exit_code] = self.exits.get(exit_code, 0) + 1


TALLY = Tally()


def assert_clean_run(
    result: Result,
    args: list[str],
    *,
    before: str,
    after: str,
    read_only: bool,
    tally: str,
    verbatim_stdout: bool = False,
) -> None:
    """The invariants of every fuzz case; ``read_only``: the command must not write."""
    shown = f"moviemind {' '.join(map(repr, args))}\n{visible(result.output, lines=True)}"
    TALLY.add(tally, result.exit_code)
    assert result.exit_code in (0, 1, 2), shown
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{shown}\nescaped: {result.exception!r}") from result.exception
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr, shown
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: "), shown
        assert result.stderr.count("\n") == 1, shown
    # Data a command writes to stdout on purpose (an export) is verbatim by design.
    streams = result.stderr if verbatim_stdout else result.output
    for char in (*CONTROLS, *BIDI):
        assert char not in streams, f"{char!r} reached the terminal: {shown}"
    if read_only or result.exit_code == 2:
        assert after == before, f"the database changed: {shown}"


def run_case(
    database: Path,
    args: list[str],
    *,
    read_only: bool,
    tally: str,
    env: dict[str, str] | None = None,
    verbatim_stdout: bool = False,
) -> Result:
    """Run ``moviemind ARGS`` once and check :func:`assert_clean_run`'s invariants."""
    before = checksum(database)
    result = run(*args, env=env)
    assert_clean_run(
        result,
        args,
        before=before,
        after=checksum(database),
        read_only=read_only,
        tally=tally,
        verbatim_stdout=verbatim_stdout,
    )
    return result


@pytest.fixture
def fuzz_home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home with the sample catalog and hostile rows, a deep working folder, long runs cut short.

    Relative paths the fuzzer writes (``--output ../x``) stay inside the test's
    folder; races, lessons, the tour and the TUI stop after their input is
    checked; the mock AI does not sleep; ``logs --follow`` reads what is there;
    ``serve`` stops where the server would start.
    """
    assert run("init").exit_code == 0
    store_hostile_rows(load_settings())
    work = tmp_path / "work" / "a" / "b"
    work.mkdir(parents=True)
    (work / "a-file").write_text("not a folder\n")
    monkeypatch.chdir(work)
    stub_long_runs(monkeypatch)
    yield home / "moviemind.db"


def stub_long_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that would run for seconds or forever end right after checking their input."""
    import uvicorn

    from moviemind_lite.ai.mock import MockGenerator
    from moviemind_lite.cli import serve
    from moviemind_lite.core import logs
    from moviemind_lite.lab import race, teaching
    from moviemind_lite.pipeline.strategies import strategy_factory
    from moviemind_lite.tui.app import MovieMindApp

    def checked_race(scenario: Any, strategy: str, **_: Any) -> Any:
        strategy_factory(strategy)
        raise click.exceptions.Exit(0)

    def checked_compare(*_: Any, **__: Any) -> Any:
        raise click.exceptions.Exit(0)

    def checked_lesson(name: str, **_: Any) -> Any:
        teaching.lesson_named(name)
        raise click.exceptions.Exit(0)

    def read_instead_of_follow(path: Path, **options: Any) -> Iterator[dict[str, Any]]:
        return logs.read_log(path, job_id=options.get("job_id"), grep=options.get("grep"))

    # serve hands its settings to the server processes through the environment.
    handed_over = ("MOVIEMIND_HOME", "MOVIEMIND_SERVE_JOBS", "MOVIEMIND_SERVE_THREADS")
    handed_over += tuple(serve._AI_VARIABLES.values())
    before = {name: os.environ.get(name) for name in handed_over}

    def checked_serve(*_: Any, **__: Any) -> Any:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        raise click.exceptions.Exit(0)

    original_init = MockGenerator.__init__

    def without_sleeping(self: MockGenerator, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._sleep = lambda _seconds: None

    monkeypatch.setattr(race, "run_race", checked_race)
    monkeypatch.setattr(race, "run_compare", checked_compare)
    monkeypatch.setattr(teaching, "run_lesson", checked_lesson)
    monkeypatch.setattr("moviemind_lite.cli.lab.demo_tour", lambda *_, **__: [])
    monkeypatch.setattr(logs, "follow_log", read_instead_of_follow)
    monkeypatch.setattr(MockGenerator, "__init__", without_sleeping)
    monkeypatch.setattr(MovieMindApp, "run", lambda self, **_: None)
    monkeypatch.setattr(uvicorn, "run", checked_serve)
    monkeypatch.setattr(serve, "serve_on_socket", checked_serve)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line saying how many fuzz cases ran and how they ended."""
    if TALLY.cases:
        total = sum(TALLY.cases.values())
        exits = ", ".join(f"exit {code}: {count}" for code, count in sorted(TALLY.exits.items()))
        terminalreporter.write_line(
            f"fuzz: {total} cases over {len(TALLY.cases)} commands and corpora ({exits})"
        )
