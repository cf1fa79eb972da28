"""``moviemind doctor``: each engine's state, and what to do about a failed one."""

from __future__ import annotations

import json

from tests.cli.conftest import run


def test_doctor_says_both_engines_are_usable() -> None:
    assert run("init").exit_code == 0
    result = run("doctor")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("database  SQLite at ") and ": ok (" in lines[0]
    assert lines[1].startswith("locks     lock files at ") and ": ok (" in lines[1]


def test_doctor_names_the_lock_server_that_is_down_and_exits_1() -> None:
    assert run("init").exit_code == 0
    result = run("doctor", "--json", env={"MOVIEMIND_LOCKS_URL": "redis://127.0.0.1:1/0"})
    assert result.exit_code == 1
    states = json.loads(result.output)
    assert states["database"]["status"] == "ok"
    assert (states["locks"]["engine"], states["locks"]["status"]) == ("Redis", "error")
    assert "cannot use Redis at redis://127.0.0.1:1/0" in states["locks"]["error"]
    text = run("doctor", env={"MOVIEMIND_LOCKS_URL": "redis://127.0.0.1:1/0"}).output
    assert "what to do: check that the lock server runs" in text
