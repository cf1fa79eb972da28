"""``moviemind flags``: exact output on the main paths, exit codes, refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from moviemind_lite.cli import cli
from moviemind_lite.policy.flags import rollout_bucket
from tests.cli.conftest import assert_one_line_error, run

LOCKING = "ai_generation_baseline_locking"
KNOWN = (
    "ai_description_generation, ai_bio_generation, ai_generation_baseline_locking, "
    "catalog_read_only_mode"
)
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(autouse=True)
def actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "tester")


def table(result: Result) -> list[list[str]]:
    """The cells of a rich table, cut where the header's columns start."""
    header, *rows = result.output.splitlines()
    starts = [match.start() for match in re.finditer(r"\S+", header)]
    ends = [*starts[1:], None]
    return [
        [line[start:end].strip() for start, end in zip(starts, ends, strict=True)]
        for line in [header, *rows]
    ]


def test_list_shows_every_flag_with_its_source() -> None:
    assert run("flags", "set", LOCKING, "--percentage", "25").exit_code == 0
    result = run("flags", "list", env={"MOVIEMIND_FLAG_AI_BIO_GENERATION": "off"})
    assert result.exit_code == 0
    assert table(result) == [
        ["name", "value", "source", "percentage", "togglable", "description"],
        [
            "ai_description_generation",
            "on",
            "default",
            "",
            "yes",
            "Generate a description for an unknown movie instead of not found.",
        ],
        [
            "ai_bio_generation",
            "off",
            "environment-variable",
            "",
            "yes",
            "Generate a bio for an unknown person instead of not found.",
        ],
        [
            LOCKING,
            "off",
            "percentage",
            "25%",
            "yes",
            "Regenerate by updating the baseline in place under a lock.",
        ],
        [
            "catalog_read_only_mode",
            "off",
            "default",
            "",
            "no",
            "Refuse every catalog write; stored texts are still served.",
        ],
    ]


def test_list_keeps_one_line_per_flag_on_a_narrow_terminal() -> None:
    result = run("flags", "list", env={"COLUMNS": "40"})
    assert result.exit_code == 0
    assert len(result.output.splitlines()) == 5
    assert "…" not in result.output


def test_list_json() -> None:
    result = run("flags", "list", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert [flag["name"] for flag in listed] == KNOWN.split(", ")
    assert listed[2] == {
        "name": LOCKING,
        "enabled": False,
        "source": "default",
        "percentage": None,
        "togglable": True,
        "default": False,
        "description": "Regenerate by updating the baseline in place under a lock.",
    }


def test_set_on_then_off_then_again() -> None:
    assert run("flags", "set", LOCKING, "on").output == f"{LOCKING}: unset → on in local\n"
    assert run("flags", "set", LOCKING, "OFF").output == f"{LOCKING}: on → off in local\n"
    again = run("flags", "set", LOCKING, "off")
    assert (again.exit_code, again.output) == (0, f"{LOCKING} is already off in local\n")


def test_set_percentage_and_clear() -> None:
    result = run("flags", "set", LOCKING, "--percentage", "5")
    assert (result.exit_code, result.output) == (0, f"{LOCKING}: unset → 5% in local\n")
    assert run("flags", "set", LOCKING, "--percentage", "25").output == (
        f"{LOCKING}: 5% → 25% in local\n"
    )
    assert run("flags", "clear", LOCKING).output == f"{LOCKING}: 25% → unset in local\n"
    assert run("flags", "clear", LOCKING).output == f"{LOCKING}: no stored value in local\n"


def test_override_and_clear_one_scope() -> None:
    result = run("flags", "override", LOCKING, "slug:the-matrix-1999", "on")
    assert (result.exit_code, result.output) == (
        0,
        f"{LOCKING} for slug:the-matrix-1999: unset → on in local\n",
    )
    cleared = run("flags", "clear", LOCKING, "slug:the-matrix-1999")
    assert cleared.output == f"{LOCKING} for slug:the-matrix-1999: on → unset in local\n"
    assert run("flags", "clear", LOCKING, "user:1").output == (
        f"{LOCKING} for user:1: no override in local\n"
    )


def test_show_prints_value_rollout_overrides_and_changes() -> None:
    run("flags", "set", LOCKING, "--percentage", "25")
    run("flags", "override", LOCKING, "user:42", "off")
    result = run("flags", "show", LOCKING)
    assert result.exit_code == 0
    assert TIMESTAMP.sub("<at>", result.output).splitlines() == [
        f"{LOCKING}: off (percentage)",
        "Regenerate by updating the baseline in place under a lock.",
        "environment: local",
        "default: off · togglable: yes",
        "stored: 25% of scopes",
        "overrides:",
        "  user:42: off (by tester, <at>)",
        "recent changes:",
        "  <at>  tester  override user:42: unset → off",
        "  <at>  tester  percentage: unset → 25%",
    ]


def test_show_a_fresh_flag_and_one_fixed_at_run_time() -> None:
    assert run("flags", "show", "ai_bio_generation").output.splitlines() == [
        "ai_bio_generation: on (default)",
        "Generate a bio for an unknown person instead of not found.",
        "environment: local",
        "default: on · togglable: yes",
        "stored: unset",
        "overrides: none",
        "recent changes: none",
    ]
    fixed = run("flags", "show", "catalog_read_only_mode").output.splitlines()
    assert fixed[3] == (
        "default: off · togglable: no (workers already running would keep writing; start the "
        "processes with MOVIEMIND_FLAG_CATALOG_READ_ONLY_MODE=on instead)"
    )


def test_show_json() -> None:
    run("flags", "set", LOCKING, "on")
    result = run("flags", "show", LOCKING, "--json")
    assert result.exit_code == 0
    shown = json.loads(result.output)
    assert {key: shown[key] for key in ("name", "enabled", "source", "stored", "percentage")} == {
        "name": LOCKING,
        "enabled": True,
        "source": "stored",
        "stored": True,
        "percentage": None,
    }
    assert shown["overrides"] == []
    assert [(c["action"], c["from"], c["to"], c["actor"]) for c in shown["changes"]] == [
        ("set", None, "on", "tester")
    ]


def test_environments_are_separate() -> None:
    staging = {"MOVIEMIND_ENV": "staging"}
    assert run("flags", "set", LOCKING, "on", env=staging).output == (
        f"{LOCKING}: unset → on in staging\n"
    )
    assert run("flags", "show", LOCKING).output.startswith(f"{LOCKING}: off (default)\n")
    assert run("flags", "show", LOCKING, env=staging).output.startswith(f"{LOCKING}: on (stored)\n")


def test_a_change_hidden_by_the_environment_variable_gets_a_note() -> None:
    forced = {"MOVIEMIND_FLAG_AI_GENERATION_BASELINE_LOCKING": "off"}
    result = CliRunner().invoke(cli, ["flags", "set", LOCKING, "on"], env=forced)
    assert result.exit_code == 0
    assert result.stdout == f"{LOCKING}: unset → on in local\n"
    assert result.stderr == (
        "note: MOVIEMIND_FLAG_AI_GENERATION_BASELINE_LOCKING is set and overrides this in this "
        "process\n"
    )


def test_rollout_is_visible_per_scope() -> None:
    run("flags", "set", LOCKING, "--percentage", "50")
    scope = next(f"user:{n}" for n in range(100) if rollout_bucket(LOCKING, f"user:{n}") < 50)
    run("flags", "override", LOCKING, scope, "off")
    shown = json.loads(run("flags", "show", LOCKING, "--json").output)
    assert shown["overrides"][0]["scope"] == scope


def database_bytes(home: Path) -> bytes:
    return (home / "moviemind.db").read_bytes()


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["show", "nope"], f"unknown flag 'nope'; expected one of: {KNOWN}"),
        (["set", "nope", "on"], f"unknown flag 'nope'; expected one of: {KNOWN}"),
        (["override", "nope", "user:1", "on"], f"unknown flag 'nope'; expected one of: {KNOWN}"),
        (["clear", "nope"], f"unknown flag 'nope'; expected one of: {KNOWN}"),
        (
            ["set", "catalog_read_only_mode", "on"],
            "flag 'catalog_read_only_mode' cannot be changed at run time: workers already "
            "running would keep writing; start the processes with "
            "MOVIEMIND_FLAG_CATALOG_READ_ONLY_MODE=on instead",
        ),
        (["set", LOCKING], "give either on|off or --percentage P"),
        (["set", LOCKING, "on", "--percentage", "5"], "give either on|off or --percentage P"),
        (
            ["override", LOCKING, "the-matrix-1999", "on"],
            "invalid scope 'the-matrix-1999': use kind:value, e.g. slug:the-matrix-1999 or user:42",
        ),
        (
            ["override", LOCKING, "slug:The-Matrix", "on"],
            "invalid scope 'slug:The-Matrix': invalid slug 'The-Matrix': use lowercase ASCII "
            "letters and digits separated by single hyphens, e.g. the-matrix-1999",
        ),
        (["clear", LOCKING, "user"], "invalid scope 'user': use kind:value, e.g. "
         "slug:the-matrix-1999 or user:42"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_in_one_line_and_changes_nothing(
    home: Path, args: list[str], text: str
) -> None:
    run("init")
    before = database_bytes(home)
    assert_one_line_error(run("flags", *args), 2, text, exact=True)
    assert database_bytes(home) == before


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["set", LOCKING, "maybe"], "'maybe' is not one of 'on', 'off'"),
        (["set", LOCKING, "--percentage", "lots"], "'lots' is not a whole number from 0 to 100"),
        (["set", LOCKING, "--percentage", "101"], "'101' is not a whole number from 0 to 100"),
        (["override", LOCKING, "user:1"], "Missing argument 'on|off'"),
    ],
)
def test_click_refuses_malformed_arguments(args: list[str], text: str) -> None:
    result = run("flags", *args)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and text in result.output


def test_a_bad_flag_environment_variable_is_reported() -> None:
    result = run("flags", "list", env={"MOVIEMIND_FLAG_AI_BIO_GENERATION": "yes"})
    assert_one_line_error(
        result, 2, "MOVIEMIND_FLAG_AI_BIO_GENERATION='yes': expected on or off", exact=True
    )
