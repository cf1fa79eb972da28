"""Catalog file formats: which one a name means, reading each into rows, writing each."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from moviemind_lite.app.files.rows import ParsedRows, columns
from moviemind_lite.app.inputs import open_input
from moviemind_lite.core.domain import (
    FIELD_CHECKS,
    GENRE_SEPARATOR,
    MAX_TEXT_CHARS,
    MOVIE,
    PERSON,
    EntityKind,
    FieldCheck,
    describe_bad_slug,
    kind_named,
)
from moviemind_lite.core.errors import InvalidCatalogFile, InvalidInput
from moviemind_lite.core.memory import collector_paused

FileFormat = Literal["csv", "json", "jsonl"]
FORMATS: tuple[FileFormat, ...] = ("csv", "json", "jsonl")
EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
# Joins a CSV row's plain text cells for one look at them all (see _CsvRows):
# a printable character that text seldom holds, so one in a cell costs only speed.
_JOIN = "\u241f"
_SPACE_BEFORE, _SPACE_AFTER = f" {_JOIN}", f"{_JOIN} "
_CACHED_VALUES = 10_000
"""Distinct values of a repeating column (year, genres, birth date) whose checks are remembered."""


def format_for(path: Path) -> FileFormat:
    """The format named by ``path``'s extension, or :class:`InvalidCatalogFile`."""
    found = EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise InvalidCatalogFile(
            f"cannot tell the format of {path.name!r} from its extension; "
            f"expected one of: {', '.join(EXTENSIONS)}"
        )
    return found


# -- reading ----------------------------------------------------------------------------


def _lines(start: int, end: int) -> str:
    return f"line {start}" if end <= start else f"lines {start}-{end}"


def _csv_problem(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return f"a field is longer than {csv.field_size_limit():,} characters"
    return f"not readable as CSV ({error})"


class _CsvRows:
    """Turns CSV rows into valid rows fast, for a file whose header is known.

    :meth:`row` gives the row :func:`validate_row` would give for the cells,
    or ``None`` when it cannot tell cheaply (then ``validate_row`` decides, and
    says what is wrong). Plain text cells are looked at together, in one
    regular expression; year, genres and birth date repeat across a catalog,
    so each distinct value is validated once, by the same checks
    ``validate_row`` runs.
    """

    def __init__(self, kind: EntityKind, header: list[str]) -> None:
        self.slug_at = header.index("slug")
        self.label_at = header.index(kind.label_column)
        self.plain_at = [
            header.index(name)
            for name in kind.fields
            if name in header and name not in FIELD_CHECKS
        ]
        # Per field: its cell (None: the file leaves the column out, a missing
        # value), its check if its values repeat, and the values checked so far.
        self.fields: list[tuple[str, int | None, FieldCheck | None, dict[str, Any]]] = [
            (name, header.index(name) if name in header else None, FIELD_CHECKS.get(name), {})
            for name in kind.fields
        ]

    def row(self, cells: list[str]) -> dict[str, Any] | None:
        """The valid row for ``cells``, or ``None``: ask :func:`validate_row`."""
        slug = cells[self.slug_at]
        if not cells[self.label_at] or describe_bad_slug(slug) is not None:
            return None
        texts = _JOIN.join([cells[at] for at in self.plain_at])
        if not _plain(texts):
            return None
        row: dict[str, Any] = {"slug": slug}
        for name, at, check, seen in self.fields:
            cell = "" if at is None else cells[at]
            if check is None:
                row[name] = cell or None
                continue
            value = seen.get(cell, _UNSEEN)
            if value is _UNSEEN:
                problems: list[str] = []
                value = check(cell or None, problems)
                if problems:
                    value = _INVALID
                if len(seen) < _CACHED_VALUES:
                    seen[cell] = value
            if value is _INVALID:
                return None
            row[name] = list(value) if isinstance(value, list) else value
        return row


def _plain(texts: str) -> bool:
    """Whether every cell joined in ``texts`` is short and stays itself once validated.

    Printable text holds no control character and no whitespace but the ASCII
    space (``str.isprintable``), so a space at either end of a cell is all
    :func:`~moviemind_lite.core.domain.check_text_field` could still strip.
    """
    return (
        len(texts) <= MAX_TEXT_CHARS
        and texts.isprintable()
        and not texts.startswith(" ")
        and not texts.endswith(" ")
        and _SPACE_BEFORE not in texts
        and _SPACE_AFTER not in texts
    )


_UNSEEN = object()
_INVALID = object()


def _read_csv(stream: TextIO, kind: EntityKind) -> ParsedRows:
    parsed = ParsedRows(kind)
    # strict: a quote still open at the end of the file is an error, not a
    # field silently holding every line after it.
    reader = csv.reader(stream, strict=True)
    header: list[str] | None = None
    fast: _CsvRows | None = None
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            if str(error) == "unexpected end of data":
                raise InvalidCatalogFile(
                    f"line {start}: a quote opened on this line is never closed; "
                    "nothing was imported (close it, or double a quote inside a field)"
                ) from None
            if header is None:
                raise InvalidCatalogFile(f"line {start}: {_csv_problem(error)}") from None
            # The reader starts afresh on the next line: the rows after it still land.
            parsed.refuse(_lines(start, reader.line_num), _csv_problem(error))
            continue
        if fast is not None and len(cells) == len(header or ()):
            row = fast.row(cells)
            if row is not None:
                parsed.accept(_lines(start, reader.line_num), row)
                continue
        if not any(cell.strip() for cell in cells):
            continue
        location = _lines(start, reader.line_num)
        if header is None:
            header = [cell.strip().lower() for cell in cells]
            _check_header(header, kind, parsed)
            fast = _CsvRows(kind, header)
            continue
        if len(cells) != len(header):
            parsed.refuse(location, f"has {len(cells)} fields, the header has {len(header)}")
            continue
        parsed.add(
            location,
            {name: cell or None for name, cell in zip(header, cells, strict=True)},
            check_fields=False,
        )
    if header is None:
        raise InvalidCatalogFile("the CSV file is empty: it needs a header row")
    return parsed


def _check_header(header: list[str], kind: EntityKind, parsed: ParsedRows) -> None:
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise InvalidCatalogFile(f"header repeats column {', '.join(map(repr, duplicated))}")
    parsed.check_fields("header", header)
    missing = [name for name in ("slug", kind.label_column) if name not in header]
    if missing:
        raise InvalidCatalogFile(
            f"header lacks the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))} needed for {kind.plural}"
        )


def _read_json(stream: TextIO, kind: EntityKind | None) -> list[ParsedRows]:
    try:
        document = json.load(stream)
    except json.JSONDecodeError as error:
        raise InvalidCatalogFile(
            f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except (ValueError, RecursionError) as error:
        # Numbers longer than Python's int limit, or nesting deeper than its stack.
        raise InvalidCatalogFile(f"not usable JSON: {error}") from None
    if isinstance(document, list):
        sections = {(kind or MOVIE).plural: document}
    elif isinstance(document, dict):
        sections = _document_sections(document, kind)
    else:
        raise InvalidCatalogFile(
            'a JSON catalog is an array of objects or {"movies": [...], "people": [...]}'
        )
    results = []
    for plural, items in sections.items():
        parsed = ParsedRows(kind_named(plural))
        for number, item in enumerate(items, start=1):
            parsed.add(f"item {number}", item)
        results.append(parsed)
    return results


def _document_sections(document: dict[str, Any], kind: EntityKind | None) -> dict[str, list[Any]]:
    plurals = (MOVIE.plural, PERSON.plural)
    unknown = [key for key in document if key not in plurals]
    if unknown:
        raise InvalidCatalogFile(
            f"unknown section{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}; a catalog document holds 'movies' and 'people'"
        )
    wanted = [kind.plural] if kind is not None else [p for p in plurals if p in document]
    sections: dict[str, list[Any]] = {}
    for plural in wanted:
        if plural not in document:
            raise InvalidCatalogFile(f"the document has no {plural!r} list")
        if not isinstance(document[plural], list):
            raise InvalidCatalogFile(f"{plural!r} must be a list of objects")
        sections[plural] = document[plural]
    if not sections:
        raise InvalidCatalogFile("the document holds neither 'movies' nor 'people'")
    return sections


def _read_jsonl(stream: TextIO, kind: EntityKind) -> ParsedRows:
    parsed = ParsedRows(kind)
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError) as error:
            reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            parsed.refuse(f"line {number}", f"not valid JSON: {reason}")
            continue
        parsed.add(f"line {number}", item)
    return parsed


@dataclass
class CatalogFile:
    """A catalog file read and validated, ready to import."""

    path: Path
    format: FileFormat
    sections: list[ParsedRows]

    @property
    def total(self) -> int:
        """Data rows in the file, valid or not, over every kind."""
        return sum(section.total for section in self.sections)

    @property
    def ignored(self) -> list[str]:
        """Fields the file carries that import does not store, sorted."""
        return sorted(set().union(*(section.ignored for section in self.sections)))


def read_catalog_file(path: Path, kind: EntityKind | None = None) -> CatalogFile:
    """Read and validate a catalog file, one :class:`ParsedRows` per kind it holds.

    ``kind`` picks the kind of a CSV, JSON Lines or JSON-array file (default:
    movies) or the one section of a document to read (default: every section).
    Raises :class:`InvalidCatalogFile` when the file cannot be used at all.
    """
    fmt = format_for(path)
    with open_input(path) as stream, collector_paused():
        try:
            if fmt == "csv":
                sections = [_read_csv(stream, kind or MOVIE)]
            elif fmt == "jsonl":
                sections = [_read_jsonl(stream, kind or MOVIE)]
            else:
                sections = _read_json(stream, kind)
        except UnicodeDecodeError as error:
            raise InvalidCatalogFile(
                f"{path.name} is not UTF-8 text (byte {error.start} cannot be decoded)"
            ) from None
    return CatalogFile(path, fmt, sections)


# -- writing ----------------------------------------------------------------------------


def _csv_cells(kind: EntityKind, item: Mapping[str, Any]) -> list[str]:
    cells = []
    for name in columns(kind):
        value = item.get(name)
        if name == "genres":
            for genre in value or []:
                if GENRE_SEPARATOR in genre:
                    raise InvalidInput(
                        f"cannot write {item['slug']!r} as CSV: genre {genre!r} contains "
                        f"{GENRE_SEPARATOR!r}; export it as JSON instead"
                    )
            value = GENRE_SEPARATOR.join(value or [])
        cells.append("" if value is None else str(value))
    return cells


def write_catalog(
    stream: TextIO, fmt: FileFormat, sections: Mapping[EntityKind, Sequence[Mapping[str, Any]]]
) -> None:
    """Write rows of one kind (or, as JSON, of both) to ``stream`` in ``fmt``.

    JSON with several kinds takes the document shape ``{"movies": [...], ...}``;
    CSV and JSON Lines hold one kind per file.
    """
    if fmt == "json":
        document: Any
        if len(sections) == 1:
            document = [dict(item) for item in next(iter(sections.values()))]
        else:
            document = {
                kind.plural: [dict(item) for item in items] for kind, items in sections.items()
            }
        stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    if len(sections) != 1:
        raise InvalidInput(f"a {fmt} file holds one kind; choose movies or people")
    ((kind, items),) = sections.items()
    if fmt == "jsonl":
        for item in items:
            stream.write(json.dumps(dict(item), ensure_ascii=False) + "\n")
        return
    # Every row is turned into cells before the first is written, so a row that
    # cannot be written as CSV stops the export before any output.
    rows = [_csv_cells(kind, item) for item in items]
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns(kind))
    writer.writerows(rows)
