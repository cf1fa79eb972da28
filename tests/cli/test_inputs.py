"""Hostile files given to ``catalog import`` and ``movies generate --from-file``: exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_line_error, run


def commands(path: Path) -> list[tuple[str, ...]]:
    return [
        ("catalog", "import", str(path)),
        ("movies", "generate", "--from-file", str(path)),
    ]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: os.mkfifo(path), "is a FIFO (named pipe), not a regular file"),
        (lambda path: path.symlink_to("/dev/zero"), "is a character device, not a regular file"),
        (lambda path: path.mkdir(), "is a folder, not a regular file"),
    ],
    ids=["fifo", "dev-zero", "folder"],
)
def test_inputs_that_are_not_regular_files(
    home: Path, tmp_path: Path, make: object, reason: str
) -> None:
    path = tmp_path / "input.csv"
    make(path)  # type: ignore[operator]
    for args in commands(path):
        assert_one_line_error(run(*args), 2, f"{path} {reason}", exact=True)
    assert not home.exists()  # refused before the home was made


def test_names_too_long_for_every_file_command(tmp_path: Path) -> None:
    path = tmp_path / ("a" * 300 + ".csv")
    for args in commands(path):
        assert_one_line_error(run(*args), 2, "file name too long: ")
    for home in (path, path / "below"):
        assert_one_line_error(
            run("--home", str(home), "movies", "list"),
            2,
            "home folder cannot be used: File name too long",
        )


def test_an_unterminated_quote_is_one_line_naming_it(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('slug,title\nquote-one-2001,"unterminated\nquote-two-2002,B\n')
    for args in commands(path):
        assert_one_line_error(run(*args), 2, "line 2: a quote opened on this line is never closed")


def test_a_slug_list_written_by_notepad(tmp_path: Path) -> None:
    path = tmp_path / "slugs.txt"
    path.write_bytes(b"\xef\xbb\xbfheat-1995\r\nalien-1979\r\n")
    result = run("movies", "generate", "--from-file", str(path))
    assert (result.exit_code, result.output) == (0, "created 2/2, reused 0, failed 0\n")
