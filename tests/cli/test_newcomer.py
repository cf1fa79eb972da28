"""What a newcomer meets first: help without arguments, the version, what a command is doing."""

from __future__ import annotations

import os
import subprocess
import sys
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


def queued_job(slug: str = "nobody-runs-this-2001") -> str:
    result = run("movies", "show", slug, "--no-wait")
    assert result.exit_code == 0
    return result.stdout.split()[-1]


def test_waiting_for_a_job_no_worker_claims_says_so_once() -> None:
    job_id = queued_job()
    result = run("jobs", "wait", job_id, "--timeout", "2.5")
    assert result.exit_code == 1
    assert result.stdout == f"PENDING {job_id}\n"
    assert result.stderr == (
        f"job {job_id} is PENDING and no worker has claimed it: start `moviemind worker` "
        "(in another terminal)\n"
        f"Error: job {job_id} is still PENDING after 2.5 s\n"
    )


def test_a_short_wait_and_a_finished_job_need_no_notice() -> None:
    job_id = queued_job()
    short = run("jobs", "wait", job_id, "--timeout", "0.1")
    assert "no worker has claimed it" not in short.output
    assert run("worker", "--once").exit_code == 0
    done = run("jobs", "wait", job_id)
    assert (done.exit_code, done.output) == (0, f"DONE {job_id} created\n")


def test_the_worker_says_it_started_on_stderr(home: Path) -> None:
    result = run("worker", "--once", "--threads", "2", "--max-jobs", "5")
    assert result.exit_code == 0
    assert result.stderr == (
        f"worker started on {home / 'moviemind.db'}: 2 threads, "
        "until the queue is empty or 5 jobs claimed\n"
    )
    assert result.stdout == "worker stopped (idle): 0 done, 0 failed, 0 to retry, 0 lost\n"


@pytest.mark.usefixtures("engines")
def test_the_worker_names_the_database_it_claims_from(home: Path) -> None:
    from moviemind_lite.core.config import load_settings

    shown = load_settings().database_shown
    result = run("worker", "--once")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"worker started on {shown}: ")
    if os.environ.get("MOVIEMIND_DATABASE_URL"):
        assert shown.startswith("postgresql://") and "moviemind.db" not in result.stderr


@pytest.mark.parametrize("fd", ["2147483648", "99999999999999999999999"])
def test_a_descriptor_past_a_c_int_is_bad_input_not_a_traceback(fd: str) -> None:
    result = run("serve", "--fd", fd)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is not None
    assert f"Invalid value for '--fd': {fd} is not in the range 0<=x<=2147483647." in (
        result.output
    )


def test_shell_completion_as_the_readme_shows_it() -> None:
    env = {**os.environ, "_MOVIEMIND_COMPLETE": "bash_source"}
    command = [sys.executable, "-m", "moviemind_lite"]
    script = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    assert "complete -o nosort -F _moviemind_completion moviemind" in script
    env.update(_MOVIEMIND_COMPLETE="bash_complete", COMP_WORDS="moviemind movies ", COMP_CWORD="2")
    words = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    assert {"plain,texts", "plain,delete", "plain,show"} <= set(words.split())
