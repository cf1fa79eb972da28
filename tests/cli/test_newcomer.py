"""What a newcomer meets first: help without arguments, the version, what a command is doing."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviemind_lite import __version__
from tests.cli.conftest import run


@pytest.mark.parametrize("args", [[], ["movies"], ["jobs"]], ids=["moviemind", "movies", "jobs"])
def test_a_group_alone_prints_its_help_and_exits_0(home: Path, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    usage = result.output.splitlines()[0]
    assert usage.startswith("Usage: ")
    assert usage.endswith(" ".join([*args, "[OPTIONS] COMMAND [ARGS]..."]))
    assert "Error" not in result.output
    assert not home.exists(), "asking for help opened the database"


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_long_and_short(flag: str) -> None:
    result = run(flag)
    assert (result.exit_code, result.output) == (0, f"moviemind, version {__version__}\n")
