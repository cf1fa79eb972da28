"""Catalog files: movies and people as CSV, JSON or JSON Lines, in and out.

The format comes from the file name: ``.csv``, ``.json``, ``.jsonl`` or
``.ndjson``.

- **CSV**: a header row, then one entity per row. Movies use the columns
  ``slug,title,year,director,genres`` with the genres joined by ``|``
  (``Action|Science Fiction``); people use ``slug,name,birth_date,birthplace``.
  The header needs ``slug`` and the label (``title`` / ``name``); the other
  columns may be left out. An empty cell is a missing value.
- **JSON**: an array of objects with the same fields (``genres`` a list), or
  the sample catalog's document shape ``{"movies": [...], "people": [...]}``.
- **JSON Lines**: one such object per line.

Fields named ``id`` (ids belong to the home that stores a row) and the text
lists ``descriptions`` / ``bios`` are accepted and ignored: import takes facts
only. Any other unknown field makes the whole file unusable, because it most
likely means the file is of another kind or shape than the user thinks.

A row that breaks a rule (bad slug, no label, a year that is not a year) is
reported with its line (CSV, JSON Lines) or item number (JSON) and the
reason; the good rows of the same file are still imported. Text fields hold
at most :data:`MAX_TEXT_CHARS` characters and no control characters (a NUL, a
line break: a title spanning lines is a quote left open), and a movie at most
:data:`MAX_GENRES` genres.

Hostile CSV: a line the csv module cannot read (a field over its 131,072
character limit, text after a closing quote) is one failed row, and the rows
after it are still read; a quote still open at the end of the file refuses
the whole file, naming the line where it opened, because where its rows
were meant to end cannot be known. Files are opened by
:func:`moviemind_lite.app.inputs.open_input` (regular files only, size cap,
byte-order mark skipped).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal, TextIO

from moviemind_lite.app.inputs import open_input
from moviemind_lite.core.domain import (
    MOVIE,
    PERSON,
    SLUG_MAX_LENGTH,
    EntityKind,
    OnConflict,
    describe_bad_slug,
    kind_named,
)
from moviemind_lite.core.errors import DiskFull, InvalidCatalogFile, InvalidInput
from moviemind_lite.core.memory import collector_paused
from moviemind_lite.core.model import ProgressCallback
from moviemind_lite.store.bulk import (
    DEFAULT_BATCH_SIZE,
    BulkReport,
    RowFailure,
    write_entities,
)
from moviemind_lite.store.catalog import entity_rows
from moviemind_lite.store.db import Database

FileFormat = Literal["csv", "json", "jsonl"]
FORMATS: tuple[FileFormat, ...] = ("csv", "json", "jsonl")
EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
GENRE_SEPARATOR = "|"
YEAR_MIN, YEAR_MAX = 1870, 2100
"""Movie years accepted: from the first motion pictures to a generous future."""
MAX_TEXT_CHARS = 500
"""The longest title, name, director, birthplace or genre imported (the longest real title is
about 200 characters)."""
MAX_GENRES = 20
"""The most genres a movie may list."""

_TEXT_LISTS = {MOVIE.name: "descriptions", PERSON.name: "bios"}
_PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SHOWN_VALUE_CHARS = 60
# Joins a CSV row's plain text cells for one look at them all (see _CsvRows):
# a printable character that text seldom holds, so one in a cell costs only speed.
_JOIN = "\u241f"
_SPACE_BEFORE, _SPACE_AFTER = f" {_JOIN}", f"{_JOIN} "
_Check = Callable[[Any, list[str]], Any]
"""A field's check: its value, or ``None`` with what is wrong added to the list."""
_CACHED_VALUES = 10_000
"""Distinct values of a repeating column (year, genres, birth date) whose checks are remembered."""


def columns(kind: EntityKind) -> tuple[str, ...]:
    """The fields of a catalog file of ``kind``, in file order."""
    return ("slug", *kind.fields)


def ignored_fields(kind: EntityKind) -> frozenset[str]:
    """Fields a file may carry that import accepts and does not store."""
    return frozenset({"id", _TEXT_LISTS[kind.name]})


def format_for(path: Path) -> FileFormat:
    """The format named by ``path``'s extension, or :class:`InvalidCatalogFile`."""
    found = EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise InvalidCatalogFile(
            f"cannot tell the format of {path.name!r} from its extension; "
            f"expected one of: {', '.join(EXTENSIONS)}"
        )
    return found


# -- validation -----------------------------------------------------------------------


def _cut(text: str) -> str:
    """A value shown in a reason, cut short when long."""
    if len(text) > _SHOWN_VALUE_CHARS:
        return f"{text[: _SHOWN_VALUE_CHARS - 1]}…"
    return text


def _text(value: Any, name: str, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{name} must be text, got {_cut(json.dumps(value, default=str))}")
        return None
    text = value.strip()
    if len(text) > MAX_TEXT_CHARS:
        problems.append(f"{name} is {len(text):,} characters long; at most {MAX_TEXT_CHARS}")
        return None
    control = _CONTROL.search(text)
    if control is not None:
        hint = "; is a quote left open?" if control.group() in "\r\n" else ""
        problems.append(f"{name} contains a control character (U+{ord(control.group()):04X}){hint}")
        return None
    return text or None


def _year(value: Any, problems: list[str]) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 4:
        year = int(text)
    elif isinstance(value, int) and not isinstance(value, bool):
        year = value
    else:
        problems.append(f"year {_cut(repr(value))} is not a whole number")
        return None
    if not YEAR_MIN <= year <= YEAR_MAX:
        problems.append(f"year {year} is outside {YEAR_MIN}-{YEAR_MAX}")
        return None
    return year


def _birth_date(value: Any, problems: list[str]) -> str | None:
    text = _text(value, "birth_date", problems)
    if text is None:
        return None
    match = _PARTIAL_DATE.fullmatch(text)
    if match is not None:
        year, month, day = (int(part) if part else 1 for part in match.groups())
        try:
            # Check the parts that are given; a bare year or year-month is fine.
            date(year, month, day)
        except ValueError:
            match = None
    if match is None:
        problems.append(f"birth_date {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        return None
    return text


def _genres(value: Any, problems: list[str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(GENRE_SEPARATOR)
    elif isinstance(value, list):
        items = value
    else:
        problems.append(f"genres must be a list or {GENRE_SEPARATOR!r}-separated text")
        return []
    if len(items) > MAX_GENRES:
        problems.append(f"{len(items):,} genres; at most {MAX_GENRES}")
        return []
    genres: list[str] = []
    for item in items:
        if not isinstance(item, str):
            problems.append(f"genre {_cut(json.dumps(item, default=str))} is not text")
            continue
        genre = _text(item, "genre", problems)
        if genre is not None and GENRE_SEPARATOR in genre:
            # It could not survive a CSV export, where the separator splits genres.
            problems.append(f"genre {genre!r} contains {GENRE_SEPARATOR!r}")
            continue
        if genre is not None:
            genres.append(genre)
    return genres


def validate_row(kind: EntityKind, raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The row to store for ``raw`` (slug plus facts), or ``None`` and every reason why not.

    Values may be typed (JSON) or text (CSV): ``year`` may be ``1999`` or
    ``"1999"``, ``genres`` a list or ``"Action|Drama"``; empty text is missing.
    """
    problems: list[str] = []
    slug = raw.get("slug")
    if not isinstance(slug, str):
        problems.append("slug is missing" if slug is None else "slug must be text")
    else:
        slug = slug.strip()
        problem = describe_bad_slug(slug)
        if problem is not None:
            problems.append(problem)
    row: dict[str, Any] = {"slug": slug}
    for name in kind.fields:
        value = raw.get(name)
        if name == "year":
            row[name] = _year(value, problems)
        elif name == "genres":
            row[name] = _genres(value, problems)
        elif name == "birth_date":
            row[name] = _birth_date(value, problems)
        else:
            row[name] = _text(value, name, problems)
    if row[kind.label_column] is None and not any(
        problem.startswith(kind.label_column) for problem in problems
    ):
        problems.append(f"{kind.label_column} is required")
    if problems:
        return None, "; ".join(problems)
    return row, ""


# -- reading ----------------------------------------------------------------------------


@dataclass
class ParsedRows:
    """The rows of one kind read from a file: valid ones to write, invalid ones reported."""

    kind: EntityKind
    rows: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    """The 1-based data-row number of each valid row, for ordering failures."""
    locations: list[str] = field(default_factory=list)
    failures: list[RowFailure] = field(default_factory=list)
    total: int = 0
    ignored: set[str] = field(default_factory=set)

    def refuse(self, location: str, reason: str, slug: str | None = None) -> None:
        """Count one row that will not be written, and say why."""
        self.total += 1
        self.failures.append(RowFailure(self.total, location, slug, reason))

    def add(self, location: str, raw: Any, *, check_fields: bool = True) -> None:
        """Validate one raw row (a mapping, or anything else a file may hold).

        ``check_fields=False`` when the names were checked once already (a CSV header).
        """
        if not isinstance(raw, Mapping):
            self.refuse(location, "not an object with named fields")
            return
        if check_fields:
            self.check_fields(location, raw.keys())
        row, reason = validate_row(self.kind, raw)
        if row is None:
            slug = raw.get("slug")
            usable = isinstance(slug, str) and len(slug) <= SLUG_MAX_LENGTH
            self.refuse(location, reason, slug if usable else None)
            return
        self.accept(location, row)

    def accept(self, location: str, row: dict[str, Any]) -> None:
        """Count one valid row, to be written."""
        self.total += 1
        self.rows.append(row)
        self.numbers.append(self.total)
        self.locations.append(location)

    def check_fields(self, location: str, names: Any) -> None:
        """Raise :class:`InvalidCatalogFile` for a field this kind does not have."""
        known = columns(self.kind)
        ignorable = ignored_fields(self.kind)
        unknown = [name for name in names if name not in known and name not in ignorable]
        if unknown:
            hint = ""
            other = PERSON if self.kind is MOVIE else MOVIE
            if all(name in columns(other) for name in unknown):
                hint = f" (is it a file of {other.plural}? use --kind {other.plural})"
            raise InvalidCatalogFile(
                f"{location}: unknown field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(name) for name in unknown)} for {self.kind.plural}; "
                f"expected: {', '.join(known)}{hint}"
            )
        self.ignored.update(name for name in names if name in ignorable)


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
            header.index(name) for name in kind.fields if name in header and name not in _CHECKS
        ]
        # Per field: its cell (None: the file leaves the column out, a missing
        # value), its check if its values repeat, and the values checked so far.
        self.fields: list[tuple[str, int | None, _Check | None, dict[str, Any]]] = [
            (name, header.index(name) if name in header else None, _CHECKS.get(name), {})
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
    :func:`_text` could still strip.
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
_CHECKS: dict[str, _Check] = {
    "year": _year,
    "genres": _genres,
    "birth_date": _birth_date,
}


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


# -- importing --------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did, per kind, and which fields it ignored."""

    path: Path
    format: FileFormat
    on_conflict: OnConflict
    results: list[BulkReport]
    ignored: list[str]
    not_imported: list[str] = field(default_factory=list)
    """Kinds of the file never written because the import stopped before them."""

    @property
    def failed(self) -> int:
        """Rows that did not land, over every kind."""
        return sum(len(result.failed) for result in self.results)

    @property
    def changed(self) -> bool:
        """Whether any row was created or updated."""
        return any(result.changed for result in self.results)

    @property
    def stopped(self) -> str | None:
        """Why the import ended early, with the rows that landed; ``None`` when it did not."""
        for result in self.results:
            if result.stopped is None:
                continue
            landed = f"created {result.created} of {result.total} {result.kind.plural}"
            if result.updated:
                landed += f" and updated {result.updated}"
            cause = "the disk filled" if isinstance(result.stopped, DiskFull) else "it stopped"
            rest = f"; {' and '.join(self.not_imported)} not imported" if self.not_imported else ""
            return f"{result.stopped}: {landed} before {cause}{rest}"
        return None

    def to_json(self) -> dict[str, Any]:
        """The report as ``import --json`` prints it."""
        return {
            "file": str(self.path),
            "format": self.format,
            "on_conflict": self.on_conflict,
            "results": [result.to_json() for result in self.results],
            "ignored_fields": self.ignored,
            "stopped": self.stopped,
        }


def import_rows(
    database: Database,
    catalog_file: CatalogFile,
    *,
    on_conflict: OnConflict = "skip",
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Write the valid rows of a read file in batches; report every row of it.

    ``on_progress(done, total)`` counts rows over every kind in the file.
    Invalid rows and rows the database refuses are both in the report's
    failures, in file order. A database error that stops the write (a full
    disk) ends the import: the report says what landed (``stopped``).
    """
    grand_total = catalog_file.total
    results: list[BulkReport] = []
    done_before = 0
    not_imported: list[str] = []
    for parsed in catalog_file.sections:
        if results and results[-1].stopped is not None:
            not_imported.append(parsed.kind.plural)
            continue
        progress = None
        if on_progress is not None:
            progress = _offset_progress(on_progress, done_before, parsed, grand_total)
        written = write_entities(
            database,
            parsed.kind,
            parsed.rows,
            locations=parsed.locations,
            on_conflict=on_conflict,
            batch_size=batch_size,
            on_progress=progress,
        )
        # The writer numbers rows among the valid ones; renumber by file row.
        refused = [replace(f, row=parsed.numbers[f.row - 1]) for f in written.failed]
        written.failed = sorted(parsed.failures + refused, key=lambda failure: failure.row)
        written.total = parsed.total
        results.append(written)
        done_before += parsed.total
    return ImportReport(
        catalog_file.path,
        catalog_file.format,
        on_conflict,
        results,
        catalog_file.ignored,
        not_imported,
    )


def import_catalog(
    database: Database,
    path: Path,
    *,
    kind: EntityKind | None = None,
    on_conflict: OnConflict = "skip",
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Read, validate and import a catalog file (:func:`read_catalog_file`, :func:`import_rows`)."""
    return import_rows(
        database,
        read_catalog_file(path, kind),
        on_conflict=on_conflict,
        batch_size=batch_size,
        on_progress=on_progress,
    )


def _offset_progress(
    on_progress: ProgressCallback, done_before: int, parsed: ParsedRows, grand_total: int
) -> ProgressCallback:
    invalid = len(parsed.failures)

    def report(done: int, total: int) -> None:
        # Invalid rows never reach the writer; count them done once it finishes.
        extra = invalid if done == total else 0
        on_progress(done_before + done + extra, grand_total)

    return report


# -- exporting --------------------------------------------------------------------------


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


def export_catalog(
    database: Database, kinds: Sequence[EntityKind], fmt: FileFormat, stream: TextIO
) -> dict[str, int]:
    """Write the stored ``kinds`` to ``stream`` in ``fmt``; return the rows written per kind."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    if fmt != "json" and len(kinds) != 1:
        raise InvalidInput(f"a {fmt} file holds one kind; choose movies or people")
    sections = {kind: entity_rows(database, kind) for kind in kinds}
    write_catalog(stream, fmt, sections)
    return {kind.plural: len(items) for kind, items in sections.items()}
