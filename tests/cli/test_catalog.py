"""Catalog files: formats, validation, import and export through the core and the CLI."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moviemind_lite.app.files.transfer import export_catalog
from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE, PERSON, EntityKind
from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.core.model import Entity
from moviemind_lite.store.catalog import list_entities
from moviemind_lite.store.db import Database
from moviemind_lite.store.sqlite import SqliteDatabase
from tests.cli.conftest import assert_one_line_error, run

MOVIES_HEADER = "slug,title,year,director,genres\n"


PEOPLE_HEADER = "slug,name,birth_date,birthplace\n"


def entities(database: Database, kind: EntityKind) -> dict[str, dict[str, Any]]:
    return {entity.slug: entity.facts for entity in list_entities(database, kind)}


def table(database: Database, kind: EntityKind) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in database.query(f"SELECT * FROM {kind.table} ORDER BY slug")]


def stored(home: Path, kind: EntityKind) -> dict[str, Entity]:
    """The entities of ``kind`` in a home's database, by slug."""
    database = SqliteDatabase(home / "moviemind.db")
    try:
        return {entity.slug: entity for entity in list_entities(database, kind)}
    finally:
        database.close()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[App]:
    """An application over a new database without the sample catalog."""
    from moviemind_lite.core.config import load_settings

    with build_app(load_settings(tmp_path / "empty-home"), load_sample=False) as opened:
        yield opened


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
@pytest.mark.parametrize("plural", ["movies", "people"])
def test_round_trip_through_the_cli(tmp_path: Path, plural: str, fmt: str) -> None:
    exported = tmp_path / f"first.{fmt}"
    first = run("catalog", "export", "--kind", plural, "--output", str(exported))
    assert first.exit_code == 0, first.output
    count = len(json.loads(run(plural, "list", "--json").output))
    assert first.output == f"Exported {count} {plural} to {exported}\n"

    other_home = str(tmp_path / "other")
    imported = run("--home", other_home, "catalog", "import", str(exported), "--kind", plural)
    assert imported.exit_code == 0, imported.output
    assert imported.output == (
        f"{plural}: created {count}/{count}, updated 0, skipped 0, failed 0\n"
    )
    again = run("--home", other_home, "catalog", "export", "--kind", plural, "--format", fmt)
    assert again.output == exported.read_text(encoding="utf-8")
    # The other home holds only the file's rows: import does not add the sample catalog.
    other_kind = "people" if plural == "movies" else "movies"
    assert run("--home", other_home, other_kind, "list", "--json").output == "[]\n"


def test_document_round_trip_holds_both_kinds(tmp_path: Path) -> None:
    exported = tmp_path / "catalog.json"
    assert run("catalog", "export", "--kind", "all", "-o", str(exported)).exit_code == 0
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert set(document) == {"movies", "people"}
    other = str(tmp_path / "other")
    result = run("--home", other, "catalog", "import", str(exported))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith(f"movies: created {len(document['movies'])}/")
    assert lines[1].startswith(f"people: created {len(document['people'])}/")
    only_people = run(
        "--home", str(tmp_path / "third"), "catalog", "import", str(exported), "--kind", "people"
    )
    assert only_people.output.startswith("people: created")
    assert "movies" not in only_people.output


def test_five_rows_with_one_conflict_create_four(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "five.csv"
    path.write_text(
        MOVIES_HEADER
        + "new-one,New One,2001,,\n"
        + "new-two,New Two,2002,,Drama\n"
        + "new-three,New Three,2003,,\n"
        + "new-four,New Four,2004,,\n"
        + "new-two,New Two Again,2005,,\n"
    )
    result = run("catalog", "import", str(path))
    assert result.exit_code == 1
    assert result.output == (
        "movies: created 4/5, updated 0, skipped 0, failed 1\n"
        "  line 6: slug 'new-two' appears again (first at line 3)\n"
    )
    new_two = stored(home, MOVIE)["new-two"].facts
    assert (new_two["title"], new_two["genres"]) == ("New Two", ["Drama"])


def test_invalid_rows_are_reported_with_their_lines_and_good_rows_land(
    home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        MOVIES_HEADER
        + "good-one,Good One,1999,Someone,Drama|Comedy\n"
        + "Bad Slug,Bad,1999,,\n"
        + "\n"
        + "no-title,,1999,,\n"
        + 'multi-line,"Two\nLines",1999,,\n'
        + "bad-year,Bad Year,nineteen,,\n"
        + "future,Future,3000,,\n"
        + "too-many,Too Many,1999,,,extra\n"
        + "good-two,Good Two,,,\n"
    )
    result = run("catalog", "import", str(path))
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        "movies: created 2/8, updated 0, skipped 0, failed 6",
        "  line 3: invalid slug 'Bad Slug': use lowercase ASCII letters and digits separated "
        "by single hyphens, e.g. the-matrix-1999",
        "  line 5: title is required",
        # A quoted CSV field may span lines, a title may not: that is how a
        # stray quote closed rows later would merge the rows between.
        "  lines 6-7: title contains a control character (U+000A); is a quote left open?",
        "  line 8: year 'nineteen' is not a whole number",
        "  line 9: year 3000 is outside 1870-2100",
        "  line 10: has 6 fields, the header has 5",
    ]
    assert sorted(stored(home, MOVIE)) == ["good-one", "good-two"]


def test_reimport_with_skip_changes_nothing_and_says_so(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "movies.csv"
    rows = "".join(f"film-{n},Film {n},{1950 + n},Director {n},Drama\n" for n in range(30))
    path.write_text(MOVIES_HEADER + rows)
    first = run("catalog", "import", str(path))
    assert first.output == "movies: created 30/30, updated 0, skipped 0, failed 0\n"
    database = SqliteDatabase(home / "moviemind.db")
    before = table(database, MOVIE), table(database, PERSON)
    for on_conflict in ("skip", "update"):
        again = run("catalog", "import", str(path), "--on-conflict", on_conflict)
        why = "already present" if on_conflict == "skip" else "unchanged"
        assert (again.exit_code, again.output) == (
            0,
            f"movies: created 0/30, updated 0, skipped 30 ({why}), failed 0\nNothing changed.\n",
        )
        assert (table(database, MOVIE), table(database, PERSON)) == before
    database.close()


def test_on_conflict_update_overwrites_facts(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "matrix.csv"
    path.write_text(
        MOVIES_HEADER
        + "the-matrix-1999,The Matrix (Remastered),1999,The Wachowskis,Action|Cyberpunk\n"
        + "inception-2010,Inception,2010,Christopher Nolan,Action|Science Fiction|Thriller\n"
    )
    run("init")
    before = stored(home, MOVIE)["the-matrix-1999"]
    skipped = run("catalog", "import", str(path))
    assert skipped.output.startswith("movies: created 0/2, updated 0, skipped 2 (already present)")
    assert stored(home, MOVIE)["the-matrix-1999"] == before
    updated = run("catalog", "import", str(path), "--on-conflict", "update", "--json")
    assert updated.exit_code == 0
    (result,) = json.loads(updated.output)["results"]
    assert (result["created"], result["updated"], result["skipped"]) == (0, 1, 1)
    after = stored(home, MOVIE)["the-matrix-1999"]
    assert after.facts == {
        "title": "The Matrix (Remastered)",
        "year": 1999,
        "director": "The Wachowskis",
        "genres": ["Action", "Cyberpunk"],
    }
    # Same entity: its id and its baseline description stay.
    assert (after.id, after.baseline_id) == (before.id, before.baseline_id)


def test_import_json_report_lists_every_failure(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(f'{{"slug": "bad {n}", "title": "T"}}\n' for n in range(25)))
    result = run("catalog", "import", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["format"] == "jsonl" and report["on_conflict"] == "skip"
    (movies,) = report["results"]
    assert (movies["kind"], movies["total"], movies["created"]) == ("movies", 25, 0)
    assert [failure["location"] for failure in movies["failed"]] == [
        f"line {n}" for n in range(1, 26)
    ]
    human = run("catalog", "import", str(path))
    assert human.output.splitlines()[-1] == "  ... and 5 more (--json lists them all)"


@pytest.mark.parametrize(
    ("name", "content", "args", "text"),
    [
        ("movies.txt", "slug,title\n", [], "cannot tell the format of 'movies.txt'"),
        ("missing.csv", None, [], "no such file: "),
        ("empty.csv", "", [], "the CSV file is empty: it needs a header row"),
        (
            "no-title.csv",
            "slug,year\nx,1999\n",
            [],
            "header lacks the column 'title' needed for movies",
        ),
        ("twice.csv", "slug,title,slug\n", [], "header repeats column 'slug'"),
        (
            "rating.csv",
            "slug,title,rating\n",
            [],
            "header: unknown field 'rating' for movies; expected: slug, title, year, director, "
            "genres",
        ),
        (
            "people.csv",
            PEOPLE_HEADER,
            [],
            "(is it a file of people? use --kind people)",
        ),
        ("broken.json", '[{"slug": ', [], "not valid JSON: Expecting value at line 1"),
        ("scalar.json", "42", [], "a JSON catalog is an array of objects"),
        ("huge.json", "[" + "9" * 5000 + "]", [], "not usable JSON: Exceeds the limit"),
        ("deep.json", "[" * 100_000, [], "not usable JSON: maximum recursion depth"),
        ("sections.json", '{"films": []}', [], "unknown section 'films'"),
        ("no-people.json", '{"movies": []}', ["--kind", "people"], "has no 'people' list"),
        (
            "field.jsonl",
            '{"slug": "a", "title": "A"}\n{"slug": "b", "title": "B", "score": 3}\n',
            [],
            "line 2: unknown field 'score' for movies",
        ),
    ],
)
def test_unusable_files_exit_2_with_one_line(
    home: Path, tmp_path: Path, name: str, content: str | None, args: list[str], text: str
) -> None:
    run("init")
    before = (home / "moviemind.db").read_bytes()
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert_one_line_error(run("catalog", "import", str(path), *args), 2, text)
    assert (home / "moviemind.db").read_bytes() == before


def test_an_unusable_file_does_not_create_a_database(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "movies.xml"
    path.write_text("<movies/>")
    assert_one_line_error(run("catalog", "import", str(path)), 2, "cannot tell the format")
    assert not (home / "moviemind.db").exists()


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(MOVIES_HEADER.encode() + "amelie-2001,Amélie,2001,,\n".encode("latin-1"))
    assert_one_line_error(run("catalog", "import", str(path)), 2, "latin1.csv is not UTF-8 text")


def test_export_to_stdout_defaults_to_movies_as_csv() -> None:
    result = run("catalog", "export")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "slug,title,year,director,genres"
    matrix = (
        'the-matrix-1999,The Matrix,1999,"Lana Wachowski, Lilly Wachowski",Action|Science Fiction'
    )
    assert matrix in lines
    people = run("catalog", "export", "--kind", "people", "--format", "jsonl")
    first = json.loads(people.output.splitlines()[0])
    assert set(first) == {"slug", "name", "birth_date", "birthplace"}


def test_export_options_that_do_not_fit(tmp_path: Path) -> None:
    assert_one_line_error(
        run("catalog", "export", "--kind", "all"), 2, "--kind all needs --format json"
    )
    assert_one_line_error(
        run("catalog", "export", "-o", str(tmp_path / "x.xml")), 2, "cannot tell the format"
    )
    assert_one_line_error(
        run("catalog", "export", "-o", str(tmp_path / "missing" / "x.csv")), 2, "no such folder"
    )
    overridden = tmp_path / "data.txt"
    result = run("catalog", "export", "--format", "json", "-o", str(overridden))
    assert result.exit_code == 0
    assert isinstance(json.loads(overridden.read_text(encoding="utf-8")), list)


def test_a_genre_csv_cannot_hold_stops_the_export_and_keeps_the_old_file(
    app: App, settings: Settings, tmp_path: Path
) -> None:
    from moviemind_lite.store.catalog import insert_entity

    with app.database.write() as conn:
        insert_entity(conn, MOVIE, "odd-genre", {"title": "Odd", "genres": ["Sci|Fi"]})
    target = tmp_path / "movies.csv"
    target.write_text("old contents")
    result = run("catalog", "export", "-o", str(target), "--force")
    assert_one_line_error(result, 2, "genre 'Sci|Fi' contains '|'; export it as JSON instead")
    assert target.read_text() == "old contents"
    assert not any(path.name.endswith(".partial") for path in tmp_path.iterdir())
    with pytest.raises(InvalidInput):
        export_catalog(app.database, [MOVIE, PERSON], "csv", io.StringIO())
