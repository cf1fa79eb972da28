"""Stored text is data: markup prints literally and control characters are spelled out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviemind_lite.core.config import Settings
from moviemind_lite.core.display import visible
from tests.cli.conftest import assert_one_line_error, run
from tests.hostile import (
    CONTROLS,
    ESCAPE_SHOWN,
    ESCAPE_SLUG,
    ESCAPE_TITLE,
    MARKUP_TITLES,
    PERSON_NAME,
    PERSON_SLUG,
    TEXT,
    TEXT_SHOWN,
    store_hostile_rows,
)


@pytest.fixture(autouse=True)
def hostile(settings: Settings) -> None:
    store_hostile_rows(settings)


def assert_no_controls(output: str) -> None:
    for char in CONTROLS:
        assert char not in output, f"{char!r} reached the terminal"


def test_visible_spells_out_controls_and_keeps_lines_only_when_asked() -> None:
    assert visible(ESCAPE_TITLE) == ESCAPE_SHOWN
    assert visible("a\tb\nc") == "a\\tb\\nc"
    assert visible("a\tb\nc\rd", lines=True) == "a\tb\nc\\rd"
    assert visible("Żółw [/] café ✓ 映画") == "Żółw [/] café ✓ 映画"


def test_movies_list_prints_titles_literally() -> None:
    result = run("movies", "list")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    for title in MARKUP_TITLES.values():
        assert title in result.output
    assert ESCAPE_SHOWN in result.output
    assert_no_controls(result.output)


def test_a_search_finds_bracketed_text_and_shows_it() -> None:
    result = run("movies", "list", "--search", "metro")
    assert result.exit_code == 0
    assert "Metropolis [restored]" in result.output


def test_people_list_prints_names_as_data() -> None:
    result = run("people", "list")
    assert result.exit_code == 0, result.output
    assert "Jane [/] Doe \\x1b[8mhidden" in result.output
    assert_no_controls(result.output)


@pytest.mark.parametrize("slug", [ESCAPE_SLUG, "broken-2000"])
def test_show_spells_out_controls_in_title_facts_and_text(slug: str) -> None:
    result = run("movies", "show", slug)
    assert result.exit_code == 0, result.output
    assert_no_controls(result.output)
    assert TEXT_SHOWN in result.output
    title = ESCAPE_SHOWN if slug == ESCAPE_SLUG else MARKUP_TITLES[slug]
    assert result.output.splitlines()[0] == title
    assert f"director: {title}" in result.output


def test_a_generated_text_is_shown_as_data_too() -> None:
    # The mock AI writes the name into the bio, as a real model would.
    result = run("people", "show", PERSON_SLUG)
    assert result.exit_code == 0, result.output
    assert_no_controls(result.output)
    assert result.output.splitlines()[0] == "Jane [/] Doe \\x1b[8mhidden"


def test_json_keeps_the_data_and_escapes_every_control() -> None:
    result = run("movies", "show", ESCAPE_SLUG, "--json")
    assert result.exit_code == 0
    assert_no_controls(result.output)
    movie = json.loads(result.output)["movie"]
    assert (movie["title"], movie["description"]["text"]) == (ESCAPE_TITLE, TEXT)
    listed = run("people", "list", "--json")
    assert_no_controls(listed.output)
    assert json.loads(listed.output)[0]["name"] == PERSON_NAME


def test_log_lines_are_shown_as_data(home: Path) -> None:
    record = {"at": "2025-01-01T00:00:00.000Z", "level": None, "message": ESCAPE_TITLE}
    (home / "logs" / "moviemind.log").write_text(
        json.dumps(record) + "\n" + json.dumps({**record, "level": "INFO"}) + "\n"
    )
    result = run("logs")
    assert result.exit_code == 0, result.output
    assert_no_controls(result.output)
    assert result.output.count(ESCAPE_SHOWN) == 2
    as_json = run("logs", "--json")
    assert_no_controls(as_json.output)
    assert json.loads(as_json.output.splitlines()[0])["message"] == ESCAPE_TITLE


def test_errors_that_quote_input_stay_one_visible_line(tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "\x1b]0;PWNED\x07\r.csv"
    result = run("catalog", "export", "--output", str(target))
    assert_one_line_error(result, 2, "\\x1b]0;PWNED\\x07\\r.csv")
    assert_no_controls(result.output)
