"""The command line: exact output on the main paths, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moviemind_lite import __version__
from moviemind_lite.cli import cli
from moviemind_lite.core.domain import describe_bad_slug
from tests.cli.conftest import assert_one_line_error, run

MATRIX_EN = (
    "Computer programmer Thomas Anderson, who moonlights as the hacker Neo, is contacted by the "
    "mysterious Morpheus"
)


def database_bytes(home: Path) -> bytes:
    return (home / "moviemind.db").read_bytes()


def test_version() -> None:
    result = run("--version")
    assert (result.exit_code, result.output) == (0, f"moviemind, version {__version__}\n")


def test_init_creates_then_reports_ready(home: Path) -> None:
    first = run("init")
    assert first.exit_code == 0
    assert first.output == (
        f"Created {home / 'moviemind.db'} (63 movies, 24 descriptions, 43 people, 12 bios)\n"
    )
    again = run("init")
    assert again.output == (
        f"Ready: {home / 'moviemind.db'} (63 movies, 24 descriptions, 43 people, 12 bios)\n"
    )
    assert (home / "locks").is_dir() and (home / "logs").is_dir()


def test_init_reset_asks_first_and_keeps_data_when_refused(home: Path) -> None:
    run("init")
    before = database_bytes(home)
    refused = run("init", "--reset", input="n\n")
    assert refused.exit_code == 1
    assert "Aborted." in refused.output
    assert database_bytes(home) == before
    accepted = run("init", "--reset", "--yes")
    assert accepted.exit_code == 0
    assert accepted.output.startswith("Created ")


def test_movies_show_prints_the_stored_description() -> None:
    result = run("movies", "show", "the-matrix-1999")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:3] == [
        "The Matrix (1999)",
        "slug: the-matrix-1999 · director: Lana Wachowski, Lilly Wachowski · "
        "genres: Action, Science Fiction",
        "",
    ]
    assert lines[3].startswith(MATRIX_EN)
    assert lines[-1] == "[en-US · default · v1 · curated]"


def test_show_json_shape() -> None:
    result = run("movies", "show", "the-matrix-1999", "--locale", "pl-PL", "--json")
    assert result.exit_code == 0
    answer = json.loads(result.output)
    assert (answer["status"], answer["job_id"]) == ("done", None)
    shown = answer["movie"]
    assert (shown["slug"], shown["title"], shown["year"]) == ("the-matrix-1999", "The Matrix", 1999)
    assert set(shown["description"]) >= {"id", "locale", "context_tag", "text", "version"}
    assert shown["description"]["locale"] == "pl-PL"
    assert shown["description"]["text"].startswith("Thomas Anderson za dnia")


def test_show_without_a_text_in_that_locale_generates_it() -> None:
    queued = run("people", "show", "keanu-reeves", "--locale", "de-DE", "--no-wait", "--json")
    assert queued.exit_code == 0
    answer = json.loads(queued.output)
    assert (answer["status"], answer["person"]) == ("queued", None)
    done = run("people", "show", "keanu-reeves", "--locale", "de-DE", "--json")
    generated = json.loads(done.output)
    assert (generated["status"], generated["job_id"]) == ("done", answer["job_id"])
    bio = generated["person"]["bio"]
    assert (bio["locale"], bio["origin"], bio["version"]) == ("de-DE", "generated", 1)
    assert "Keanu Reeves" in bio["text"]


def test_people_list_json_has_no_texts() -> None:
    result = run("people", "list", "--search", "reeves", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert [person["slug"] for person in listed] == ["keanu-reeves"]
    assert set(listed[0]) == {"id", "slug", "name", "birth_date", "birthplace"}


def test_movies_list_table() -> None:
    result = run("movies", "list", "--search", "matrix")
    assert result.exit_code == 0
    lines = [line.rstrip() for line in result.output.splitlines()]
    assert lines[0].split() == ["slug", "title", "year", "director"]
    assert lines[1].split()[:4] == ["the-matrix-1999", "The", "Matrix", "1999"]
    assert lines[-1] == "1 movie"


def test_list_with_no_match() -> None:
    result = run("movies", "list", "--search", "no such film")
    assert (result.exit_code, result.output) == (0, "No movies found.\n")


def test_demo_tours_the_catalog() -> None:
    result = run("demo", "--fast")
    assert result.exit_code == 0
    assert "$ moviemind movies show the-matrix-1999 --locale pl-PL" in result.output
    assert "Thomas Anderson za dnia" in result.output
    assert "Keanu Reeves" in result.output


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("path", commands(cli), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    assert command.help or command.short_help, f"{' '.join(path)} has no help text"
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "Usage: " in result.output


def test_every_read_command_has_json() -> None:
    for path in commands(cli):
        if path[-1] in ("list", "show"):
            result = run(*path, "--help")
            assert "--json" in result.output, path


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["movies", "regenerate", "no-such-movie"], 1, "no movie with slug 'no-such-movie'"),
        (["people", "regenerate", "nobody"], 1, "no person with slug 'nobody'"),
        (["movies", "show", ""], 2, "slug is empty"),
        (["movies", "show", "The-Matrix"], 2, "invalid slug 'The-Matrix'"),
        (["movies", "show", "the matrix"], 2, "invalid slug 'the matrix'"),
        (["movies", "show", "../x"], 2, "invalid slug '../x'"),
        (["movies", "show", "a" * 256], 2, "slug is 256 characters long; at most 255 allowed"),
        (["movies", "show", "a\x00b"], 2, "invalid slug 'a\\x00b'"),
        (["movies", "show", "żółw"], 2, "invalid slug 'żółw'"),
        (["movies", "show", "alien-1979", "--locale", "en-GB"], 2, "unknown locale 'en-GB'"),
        (["movies", "show", "alien-1979", "--context", "x"], 2, "unknown context tag 'x'"),
        (["movies", "list", "--limit", "-1"], 2, "'-1' is not a whole number from 0 to"),
        (["movies", "list", "--limit", "abc"], 2, "'abc' is not a whole number from 0 to"),
        (["movies", "lst"], 2, "No such command 'lst'"),
        (["--bogus"], 2, "No such option '--bogus'"),
    ],
)
def test_bad_input_gets_one_line_and_changes_nothing(
    home: Path, args: list[str], code: int, text: str
) -> None:
    run("init")
    before = database_bytes(home)
    assert_one_line_error(run(*args), code, text)
    assert database_bytes(home) == before


def test_home_that_is_a_file(tmp_path: Path) -> None:
    file = tmp_path / "not-a-folder"
    file.write_text("keep me")
    assert_one_line_error(run("--home", str(file), "movies", "list"), 2, "is not a folder")
    assert_one_line_error(run("--home", str(file / "sub"), "movies", "list"), 1, "cannot create")
    assert file.read_text() == "keep me"


def test_corrupt_database_is_reported_and_left_alone(home: Path) -> None:
    home.mkdir()
    junk = b"\x00garbage" * 1000
    (home / "moviemind.db").write_bytes(junk)
    assert_one_line_error(run("movies", "list"), 1, "is not a usable SQLite database")
    assert database_bytes(home) == junk


def test_bad_environment_setting() -> None:
    result = CliRunner().invoke(cli, ["movies", "list"], env={"MOVIEMIND_AI_FAIL_RATE": "lots"})
    assert_one_line_error(result, 2, "MOVIEMIND_AI_FAIL_RATE='lots' is not a number")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(slug=st.text(max_size=300))
def test_any_text_as_slug_is_answered_cleanly(home: Path, slug: str) -> None:
    # "--" keeps a slug such as "--help" an argument, as a shell user would write it.
    result = run("movies", "show", "--json", "--", slug)
    problem = describe_bad_slug(slug)
    if problem is not None:
        assert result.exit_code == 2
        assert result.output.startswith("Error: ")
    else:
        assert result.exit_code in (0, 1)
    assert "Traceback" not in result.output


def test_show_is_not_found_when_generation_is_off() -> None:
    assert run("flags", "set", "ai_bio_generation", "off").exit_code == 0
    result = run("people", "show", "somebody-new")
    assert result.exit_code == 1
    assert result.output == (
        "Error: no person with slug 'somebody-new' (generation is off: ai_bio_generation)\n"
    )
    assert json.loads(run("jobs", "list", "--json").output) == []
