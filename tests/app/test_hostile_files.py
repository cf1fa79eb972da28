"""Hostile input files: not regular, too big, badly quoted, NULs, byte-order marks, huge fields."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.app import inputs
from moviemind_lite.app.batch import read_batch_file
from moviemind_lite.app.files.formats import read_catalog_file
from moviemind_lite.app.files.transfer import import_catalog
from moviemind_lite.app.inputs import MAX_INPUT_BYTES, open_input
from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import load_settings
from moviemind_lite.core.domain import MAX_TEXT_CHARS, MOVIE, PERSON
from moviemind_lite.core.errors import InvalidCatalogFile, UnusableFile
from moviemind_lite.store.catalog import list_entities

HEADER = "slug,title\n"


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[App]:
    """An application over a new database without the sample catalog."""
    with build_app(load_settings(tmp_path / "empty-home"), load_sample=False) as opened:
        yield opened


def titles(app: App) -> dict[str, str]:
    return {entity.slug: entity.label for entity in list_entities(app.database, MOVIE)}


def failures(app: App, path: Path) -> list[tuple[str, str]]:
    (result,) = import_catalog(app.database, path).results
    return [(failure.location, failure.reason) for failure in result.failed]


# -- files that are not regular files --------------------------------------------------


def special_files(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    yield fifo, "is a FIFO (named pipe), not a regular file"
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    yield zero, "is a character device, not a regular file"
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    yield folder, "is a folder, not a regular file"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "socket.csv"))
        yield tmp_path / "socket.csv", "is a socket, not a regular file"
    finally:
        server.close()


def test_files_that_are_not_regular_are_refused_at_once(tmp_path: Path) -> None:
    # A FIFO with no writer would block an ordinary open for ever; /dev/zero never ends.
    for path, reason in special_files(tmp_path):
        with pytest.raises(UnusableFile, match=re.escape(reason)):
            read_catalog_file(path)
        with pytest.raises(UnusableFile, match=re.escape(reason)):
            read_batch_file(path.rename(path.with_suffix(".txt")), MOVIE)


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as sparse:
        sparse.truncate(MAX_INPUT_BYTES + 1)
    with pytest.raises(UnusableFile, match=r"huge\.csv is 200 MiB; files of at most 200 MiB"):
        read_catalog_file(path)
    slugs = path.rename(tmp_path / "huge.txt")
    with pytest.raises(UnusableFile, match="at most 200 MiB"):
        read_batch_file(slugs, MOVIE)


def test_a_file_at_the_cap_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "slugs.txt"
    path.write_text("heat-1995\n")
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", path.stat().st_size)
    with open_input(path) as stream:
        assert stream.read() == "heat-1995\n"


def test_names_too_long_and_missing_files(tmp_path: Path) -> None:
    long_name = tmp_path / ("a" * 300 + ".csv")
    for read in (read_catalog_file, lambda path: read_batch_file(path, MOVIE)):
        with pytest.raises(UnusableFile, match=r"file name too long: .*\(a name of 304 bytes"):
            read(long_name)
        with pytest.raises(UnusableFile, match="no such file: "):
            read(tmp_path / "missing.csv")


# -- CSV --------------------------------------------------------------------------------


def test_an_unterminated_quote_refuses_the_file_with_its_line(empty: App, tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(HEADER + 'fine-2000,Fine\nquote-one-2001,"unterminated\nquote-two-2002,B\n')
    with pytest.raises(InvalidCatalogFile, match="line 3: a quote opened on this line is never"):
        import_catalog(empty.database, path)
    assert titles(empty) == {}


def test_a_quote_closed_lines_later_does_not_merge_rows(empty: App, tmp_path: Path) -> None:
    path = tmp_path / "stray.csv"
    path.write_text(HEADER + 'a-2001,"Stray\nb-2002,B\nc-2003,C"\nd-2004,D\n')
    assert failures(empty, path) == [
        ("lines 2-4", "title contains a control character (U+000A); is a quote left open?")
    ]
    assert titles(empty) == {"d-2004": "D"}


def test_text_after_a_closing_quote_fails_its_line_only(empty: App, tmp_path: Path) -> None:
    path = tmp_path / "after.csv"
    path.write_text(HEADER + 'a-2001,"Quoted" tail\nb-2002,B\n')
    assert failures(empty, path) == [
        ("line 2", "not readable as CSV (',' expected after '\"')"),
    ]
    assert titles(empty) == {"b-2002": "B"}


@pytest.mark.parametrize("quoted", [False, True])
def test_a_field_over_the_csv_limit_fails_its_line_and_the_good_rows_land(
    empty: App, tmp_path: Path, quoted: bool
) -> None:
    big = "x" * 200_000
    field = f'"{big}"' if quoted else big
    path = tmp_path / "bigfield.csv"
    path.write_text(HEADER + f"good-one,One\nbig-2002,{field}\ngood-two,2\n")
    assert failures(empty, path) == [("line 3", "a field is longer than 131,072 characters")]
    assert titles(empty) == {"good-one": "One", "good-two": "2"}


def test_crlf_and_a_byte_order_mark(empty: App, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b'\xef\xbb\xbfslug,title\r\na-2001,A\r\nb-2002,"B\r\nC"\r\n')
    assert failures(empty, path) == [
        ("lines 3-4", "title contains a control character (U+000D); is a quote left open?")
    ]
    assert titles(empty) == {"a-2001": "A"}


# -- every format: text limits --------------------------------------------------------------


def test_nul_bytes_and_control_characters_are_refused_per_row(empty: App, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_text("slug,title,director\na-2001,A\x00B,\nb-2002,B,Dir\x1b[31m\nc-2003,Fine,\n")
    assert failures(empty, path) == [
        ("line 2", "title contains a control character (U+0000)"),
        ("line 3", "director contains a control character (U+001B)"),
    ]
    assert titles(empty) == {"c-2003": "Fine"}


def test_absurdly_long_text_is_refused_per_row_in_json_lines(empty: App, tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    rows = [
        {"slug": "huge-2001", "title": "x" * 10_000_000},
        {"slug": "at-cap-2002", "title": "y" * MAX_TEXT_CHARS},
        {"slug": "genres-2003", "title": "G", "genres": ["Drama"] * 21},
        {"slug": "big-genre-2004", "title": "G", "genres": ["z" * (MAX_TEXT_CHARS + 1)]},
        {"slug": "x" * 1000, "title": "Long slug"},
        {"slug": "odd-2005", "title": list(range(100_000))},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (result,) = import_catalog(empty.database, path).results
    reasons = [(failure.location, failure.slug, failure.reason) for failure in result.failed]
    assert reasons == [
        ("line 1", "huge-2001", "title is 10,000,000 characters long; at most 500"),
        ("line 3", "genres-2003", "21 genres; at most 20"),
        ("line 4", "big-genre-2004", "genre is 501 characters long; at most 500"),
        ("line 5", None, "slug is 1000 characters long; at most 255 allowed"),
        ("line 6", "odd-2005", f"title must be text, got {json.dumps(list(range(30)))[:59]}…"),
    ]
    assert list(titles(empty)) == ["at-cap-2002"]


def test_people_names_have_the_same_limits(empty: App, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(f"slug,name,birthplace\nlong,{'n' * 501},\nnul,Ada,Lon\x00don\nok,Ok,\n")
    (result,) = import_catalog(empty.database, path, kind=PERSON).results
    assert [(failure.location, failure.reason) for failure in result.failed] == [
        ("line 2", "name is 501 characters long; at most 500"),
        ("line 3", "birthplace contains a control character (U+0000)"),
    ]
    assert result.created == 1


# -- plain slug lists ---------------------------------------------------------------------


def test_a_slug_list_with_a_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "slugs.txt"
    path.write_bytes(b"\xef\xbb\xbfheat-1995\r\nalien-1979\r\n")
    batch = read_batch_file(path, MOVIE)
    assert [item.slug for item in batch.items] == ["heat-1995", "alien-1979"]
    assert batch.invalid == []


def test_structured_batch_files_skip_the_byte_order_mark_too(tmp_path: Path) -> None:
    for name, text in (
        ("films.csv", "slug,title\r\nheat-1995,Heat\r\n"),
        ("films.jsonl", '{"slug": "heat-1995", "title": "Heat"}\r\n'),
        ("films.json", '[{"slug": "heat-1995", "title": "Heat"}]'),
    ):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        assert [item.slug for item in read_batch_file(path, MOVIE).items] == ["heat-1995"], name
