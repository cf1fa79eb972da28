"""The documents' warm ``moviemind`` behaves as the real one does in the reader's shell:
the same exit codes, standard output and error, folder and environment."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.shell import Shell
from tests.docs.warm import warm_moviemind


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    """A shell whose ``moviemind`` is the warm one, in a fresh folder and home."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MOVIEMIND_")}
    env.update(HOME=str(tmp_path), MOVIEMIND_HOME=str(tmp_path / "home"), COLUMNS="80")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    with warm_moviemind(env) as client:
        env["PATH"] = f"{client}{os.pathsep}{env['PATH']}"
        opened = Shell(tmp_path, env)
        try:
            yield opened
        finally:
            opened.close()


def test_the_warm_command_keeps_exit_codes_streams_folder_and_environment(
    shell: Shell, tmp_path: Path
) -> None:
    status, found = shell.run("command -v moviemind", 30)
    assert status == 0 and found.startswith(tempfile.gettempdir()), found
    # Bad input: exit 2 and one line on stderr, as from a fresh interpreter.
    status, output = shell.run("moviemind movies show Bad-Slug 2>/dev/null", 30)
    assert (status, output) == (2, "")
    status, output = shell.run("moviemind movies show Bad-Slug 2>&1 >/dev/null", 30)
    assert status == 2 and output.startswith("Error: invalid slug 'Bad-Slug'")
    # Its standard output is the shell's, pipes included.
    status, output = shell.run("moviemind movies list --search matrix --json | wc -l", 30)
    assert status == 0 and int(output) > 3
    # The command sees the shell's folder and exported variables, read afresh each time.
    shell.run("mkdir other && cd other && export MOVIEMIND_HOME=there", 30)
    assert shell.run("moviemind init", 60)[0] == 0
    assert (tmp_path / "other" / "there").is_dir()
