"""The fast path of CSV import gives exactly the row validate_row gives, or defers to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from moviemind_lite.app.files.formats import _CsvRows, read_catalog_file
from moviemind_lite.core.domain import MOVIE, PERSON, EntityKind, validate_row

# Cells near the rules' edges: spaces and other whitespace at the ends, control
# characters, the fast path's own separator, the genre separator, long text.
EDGE_CELLS = [
    "",
    " ",
    "\u00a0",
    "\u2003",
    "\t",
    "\n",
    "\x00",
    "\x85",
    "\u241f",
    "|",
    " | ",
    "||",
    "-",
    "x" * 499,
    "x" * 501,
    "1999",
    " 1999",
    "2101",
    "1869",
    "1999-02-30",
    "1999-02",
    "Drama|Comedy",
    "Drama |Comedy",
    "the-matrix",
    "Name ",
    " Name",
    "The-Matrix",
    "a--b",
]
EDGES = st.sampled_from(EDGE_CELLS)
CELL = st.one_of(
    EDGES,
    st.text(max_size=12),
    st.lists(EDGES | st.text(max_size=4), max_size=4).map("".join),
)
HEADERS: dict[str, list[str]] = {
    "movies": ["slug", "title", "year", "director", "genres"],
    "movies, some columns": ["title", "slug", "genres"],
    "people": ["slug", "name", "birth_date", "birthplace"],
}
KINDS: dict[str, EntityKind] = {
    "movies": MOVIE,
    "movies, some columns": MOVIE,
    "people": PERSON,
}


PLAIN = {
    "slug": "the-matrix",
    "title": "The Matrix",
    "year": "1999",
    "director": "W",
    "genres": "Action|Drama",
    "name": "Ada",
    "birth_date": "1815-12-10",
    "birthplace": "London",
}


def slow(kind: EntityKind, header: list[str], cells: list[str]) -> dict[str, object] | None:
    """What the CSV reader's row-by-row validation makes of ``cells``."""
    raw = {name: cell or None for name, cell in zip(header, cells, strict=True)}
    return validate_row(kind, raw)[0]


@pytest.mark.parametrize("shape", list(HEADERS))
@settings(max_examples=400, deadline=None)
@given(data=st.data())
@example(data=None)  # the plain, valid row
def test_the_fast_path_agrees_with_validate_row(shape: str, data: st.DataObject | None) -> None:
    kind, header = KINDS[shape], HEADERS[shape]
    if data is None:
        cells = [PLAIN[name] for name in header]
    else:
        # Mostly valid cells, so the fast path is taken often; each may be hostile.
        cells = [data.draw(st.one_of(st.just(PLAIN[name]), CELL), label=name) for name in header]
    fast = _CsvRows(kind, header)
    expected = slow(kind, header, cells)
    for _ in range(2):  # the second time, from the values it remembered
        got = fast.row(cells)
        assert got is None or got == expected
    if data is None:
        assert got is not None and got == expected


@pytest.mark.parametrize("shape", list(HEADERS))
def test_each_edge_in_each_column_agrees_with_validate_row(shape: str) -> None:
    kind, header = KINDS[shape], HEADERS[shape]
    for column in range(len(header)):
        for edge in EDGE_CELLS:
            cells = [PLAIN[name] for name in header]
            cells[column] = edge
            got = _CsvRows(kind, header).row(cells)
            assert got is None or got == slow(kind, header, cells), (header[column], edge)


def test_remembered_genres_are_not_shared_between_rows() -> None:
    fast = _CsvRows(MOVIE, HEADERS["movies"])
    first = fast.row(["a", "A", "1999", "W", "Drama|Action"])
    second = fast.row(["b", "B", "1999", "W", "Drama|Action"])
    assert first is not None and second is not None
    first["genres"].append("Changed")
    assert second["genres"] == ["Drama", "Action"]


def test_a_file_of_mixed_rows_reads_as_row_by_row_validation_reads_it(tmp_path: Path) -> None:
    lines = [
        "slug,title,year,director,genres",
        "ok-one,Fine,1999,Someone,Drama",
        " padded , Padded ,1999, Someone ,Drama | Action",
        "bad slug,Title,1999,,",
        "no-title,,1999,,",
        "year-word,Title,soon,,",
        'quoted,"Comma, Inside",2001,,',
        "ok-two,Fine Again,,,",
    ]
    source = tmp_path / "mixed.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (section,) = read_catalog_file(source).sections
    assert [row["slug"] for row in section.rows] == ["ok-one", "padded", "quoted", "ok-two"]
    assert section.rows[1] == {
        "slug": "padded",
        "title": "Padded",
        "year": 1999,
        "director": "Someone",
        "genres": ["Drama", "Action"],
    }
    assert [failure.location for failure in section.failures] == ["line 4", "line 5", "line 6"]
    assert section.locations == ["line 2", "line 3", "line 7", "line 8"]
