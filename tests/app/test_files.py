"""Catalog files: formats, validation, import and export through the core and the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from moviemind_lite.app.files import formats as catalog_files
from moviemind_lite.app.files.formats import read_catalog_file
from moviemind_lite.app.files.transfer import export_catalog, import_catalog
from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.cli import catalog as catalog_io
from moviemind_lite.core.domain import MOVIE, PERSON, EntityKind, validate_row
from moviemind_lite.core.errors import InvalidCatalogFile
from moviemind_lite.store import bulk
from moviemind_lite.store.catalog import list_entities
from moviemind_lite.store.db import Database
from tests.engines import Engines, scratch_servers

pytestmark = pytest.mark.usefixtures("engines")


def entities(database: Database, kind: EntityKind) -> dict[str, dict[str, Any]]:
    return {entity.slug: entity.facts for entity in list_entities(database, kind)}


@pytest.fixture
def empty(tmp_path: Path, engines: Engines) -> Iterator[App]:
    """An application over a new database (a schema and key prefix of its own on servers)
    without the sample catalog."""
    from moviemind_lite.core.config import load_settings

    with scratch_servers(engines) as servers:
        settings = load_settings(
            tmp_path / "empty-home",
            database_url=servers.database_url,
            locks_url=servers.locks_url,
        )
        with build_app(settings, load_sample=False) as opened:
            yield opened


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
@pytest.mark.parametrize("kind", [MOVIE, PERSON], ids=lambda kind: kind.plural)
def test_round_trip_through_the_core(
    app: App, empty: App, tmp_path: Path, kind: EntityKind, fmt: str
) -> None:
    path = tmp_path / f"export.{fmt}"
    with path.open("w", encoding="utf-8", newline="") as stream:
        counts = export_catalog(app.database, [kind], fmt, stream)  # type: ignore[arg-type]
    assert counts == {kind.plural: len(entities(app.database, kind))}
    report = import_catalog(empty.database, path, kind=kind)
    assert report.failed == 0
    assert report.results[0].created == counts[kind.plural]
    assert entities(empty.database, kind) == entities(app.database, kind)


def test_the_sample_catalog_file_imports_with_its_texts_ignored(empty: App) -> None:
    sample = Path(__file__).resolve().parents[2] / "data" / "catalog.json"
    report = import_catalog(empty.database, sample)
    assert [result.kind for result in report.results] == [MOVIE, PERSON]
    assert report.failed == 0
    assert report.ignored == ["bios", "descriptions"]
    assert empty.catalog.counts()["descriptions"] == 0
    assert entities(empty.database, MOVIE)["the-matrix-1999"]["genres"] == [
        "Action",
        "Science Fiction",
    ]


def test_jsonl_and_json_failures_name_lines_and_items(empty: App, tmp_path: Path) -> None:
    lines = tmp_path / "people.jsonl"
    lines.write_text(
        '{"slug": "ada", "name": "Ada", "birth_date": "1815-12-10"}\n'
        "\n"
        "{not json}\n"
        '{"slug": "bad-date", "name": "X", "birth_date": "1815-13"}\n'
        "[1, 2]\n"
        '{"slug": "year-only", "name": "Y", "birth_date": "1900", "birthplace": null}\n'
    )
    report = import_catalog(empty.database, lines, kind=PERSON)
    (result,) = report.results
    assert (result.created, result.total) == (2, 5)
    assert [(f.location, f.reason) for f in result.failed] == [
        ("line 3", "not valid JSON: Expecting property name enclosed in double quotes"),
        ("line 4", "birth_date '1815-13' is not YYYY, YYYY-MM or YYYY-MM-DD"),
        ("line 5", "not an object with named fields"),
    ]
    items = tmp_path / "movies.json"
    items.write_text(json.dumps([{"slug": "ok", "title": "OK"}, {"slug": "no", "year": "1999"}]))
    (movies,) = import_catalog(empty.database, items).results
    assert [(f.row, f.location, f.slug, f.reason) for f in movies.failed] == [
        (2, "item 2", "no", "title is required")
    ]


def test_a_spreadsheet_csv_with_bom_and_crlf(empty: App, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfSlug,Title,Year\r\namelie-2001,Am\xc3\xa9lie,2001\r\n,,\r\n")
    (result,) = import_catalog(empty.database, path).results
    assert (result.created, result.total, result.failed) == (1, 1, [])
    assert entities(empty.database, MOVIE)["amelie-2001"] == {
        "title": "Amélie",
        "year": 2001,
        "director": None,
        "genres": [],
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"slug": "a", "name": "A", "birth_date": "1964"}, ""),
        ({"slug": "a", "name": "A", "birth_date": "1964-09"}, ""),
        ({"slug": "a", "name": "A", "birth_date": "1964-09-02"}, ""),
        ({"slug": "a", "name": "A", "birth_date": "2000-02-29"}, ""),
        ({"slug": "a", "name": "A", "birth_date": "1999-02-29"}, "birth_date '1999-02-29' is"),
        ({"slug": "a", "name": "A", "birth_date": "1964-9-2"}, "birth_date '1964-9-2' is"),
        ({"slug": "a", "name": "A", "birth_date": "0000"}, "birth_date '0000' is"),
        ({"slug": "a", "name": "A", "birth_date": "02/09/1964"}, "birth_date '02/09/1964' is"),
        ({"slug": "a", "name": "A", "birth_date": 1964}, "birth_date must be text, got 1964"),
        ({"slug": "a", "name": "  "}, "name is required"),
        ({"slug": "a", "name": ["A"]}, 'name must be text, got ["A"]'),
        ({"slug": 7, "name": "A"}, "slug must be text"),
        ({"name": "A", "birthplace": "X"}, "slug is missing"),
        ({"slug": "", "name": ""}, "slug is empty; name is required"),
    ],
)
def test_person_rows(raw: dict[str, Any], reason: str) -> None:
    row, why = validate_row(PERSON, raw)
    assert why.startswith(reason) if reason else (row is not None and why == "")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"slug": "a", "title": "A", "year": "1999"}, {"year": 1999}),
        ({"slug": "a", "title": "A", "year": 1999}, {"year": 1999}),
        ({"slug": "a", "title": "A", "year": " "}, {"year": None}),
        ({"slug": "a", "title": "A", "genres": "Drama| Comedy |"}, {"genres": ["Drama", "Comedy"]}),
        ({"slug": "a", "title": "A", "genres": ["Drama"]}, {"genres": ["Drama"]}),
        ({"slug": " a ", "title": " A "}, {"slug": "a", "title": "A"}),
        ({"slug": "a", "title": "A", "year": True}, "year True is not a whole number"),
        ({"slug": "a", "title": "A", "year": 1999.5}, "year 1999.5 is not a whole number"),
        (
            {"slug": "a", "title": "A", "year": "\uff11\uff19\uff19\uff19"},
            "year '\uff11\uff19\uff19\uff19' is not a whole number",
        ),
        ({"slug": "a", "title": "A", "year": 1869}, "year 1869 is outside 1870-2100"),
        ({"slug": "a", "title": "A", "year": "9" * 5000}, "year '9999"),
        ({"slug": "a", "title": "A", "genres": ["A|B"]}, "genre 'A|B' contains '|'"),
        ({"slug": "a", "title": "A", "genres": [1]}, "genre 1 is not text"),
        ({"slug": "a", "title": "A", "genres": {"x": 1}}, "genres must be a list or '|'"),
    ],
)
def test_movie_rows(raw: dict[str, Any], expected: dict[str, Any] | str) -> None:
    row, why = validate_row(MOVIE, raw)
    if isinstance(expected, str):
        assert row is None and why.startswith(expected)
    else:
        assert row is not None and why == ""
        assert row.items() >= expected.items()


def test_the_format_comes_from_the_extension() -> None:
    assert [catalog_files.format_for(Path(f"x{ext}")) for ext in (".csv", ".JSON", ".ndjson")] == [
        "csv",
        "json",
        "jsonl",
    ]
    with pytest.raises(InvalidCatalogFile, match=r"expected one of: \.csv, \.json"):
        catalog_files.format_for(Path("x.tsv"))


@pytest.mark.parametrize(
    ("header", "repeated"),
    [
        ("slug,title,slug", "'slug'"),
        ("slug,title,year,YEAR", "'year'"),
        ("Title,slug,title", "'title'"),
    ],
)
def test_a_csv_header_that_repeats_a_column_refuses_the_file(
    empty: App, tmp_path: Path, header: str, repeated: str
) -> None:
    """Which of two cells would be the value is unknowable: nothing is read, nothing written."""
    path = tmp_path / "twice.csv"
    path.write_text(f"{header}\nthe-film,The Film,1999,2001\n", encoding="utf-8")
    with pytest.raises(InvalidCatalogFile, match=f"header repeats column {repeated}$"):
        read_catalog_file(path)
    with pytest.raises(InvalidCatalogFile):
        import_catalog(empty.database, path)
    assert list_entities(empty.database, MOVIE, search="the-film") == []


def test_kind_defaults_to_the_document_sections_or_movies(tmp_path: Path) -> None:
    array = tmp_path / "a.json"
    array.write_text('[{"slug": "a", "title": "A"}]')
    assert [s.kind for s in read_catalog_file(array).sections] == [MOVIE]
    document = tmp_path / "d.json"
    document.write_text('{"people": [{"slug": "p", "name": "P"}]}')
    assert [s.kind for s in read_catalog_file(document).sections] == [PERSON]


def test_progress_counts_every_row_of_every_kind(empty: App, tmp_path: Path) -> None:
    path = tmp_path / "both.json"
    path.write_text(
        json.dumps(
            {
                "movies": [{"slug": f"m-{n}", "title": "M"} for n in range(5)] + [{"slug": "X"}],
                "people": [{"slug": f"p-{n}", "name": "P"} for n in range(3)],
            }
        )
    )
    calls: list[tuple[int, int]] = []
    import_catalog(empty.database, path, batch_size=2, on_progress=lambda *c: calls.append(c))
    assert calls == [(0, 9), (2, 9), (4, 9), (6, 9), (6, 9), (8, 9), (9, 9)]


def test_progress_bar_draws_on_a_terminal_only() -> None:
    quiet = Console(file=io.StringIO(), force_terminal=False)
    with catalog_io.progress_bar(quiet, "Importing") as callback:
        assert callback is None
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    with catalog_io.progress_bar(terminal, "Importing x.csv") as callback:
        assert callback is not None
        callback(0, 10)
        callback(10, 10)
    assert "Importing x.csv" in screen.getvalue()


def test_100k_row_csv_import(empty: App, tmp_path: Path) -> None:
    rows = 100_000
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["slug", "title", "year", "director", "genres"])
        for n in range(rows):
            writer.writerow([f"movie-{n}", f"Movie {n}", 1900 + n % 120, "Someone", "Drama|War"])
    calls: list[tuple[int, int]] = []
    report = import_catalog(empty.database, path, on_progress=lambda *c: calls.append(c))
    (result,) = report.results
    assert (result.created, result.failed) == (rows, [])
    assert empty.catalog.counts()["movies"] == rows
    assert calls[0] == (0, rows) and calls[-1] == (rows, rows)
    assert len(calls) == rows // bulk.DEFAULT_BATCH_SIZE + 1
    again = import_catalog(empty.database, path)
    assert again.results[0].summary() == (
        f"movies: created 0/{rows}, updated 0, skipped {rows} (already present), failed 0"
    )


def test_cli_choices_match_the_core() -> None:
    assert catalog_io.ON_CONFLICT == bulk.ON_CONFLICT_CHOICES
    assert catalog_io.FORMATS == catalog_files.FORMATS
    assert catalog_io.BATCH_SIZE == bulk.DEFAULT_BATCH_SIZE
