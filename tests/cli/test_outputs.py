"""``catalog export --output`` and ``compare --csv``: no clobbering, never the database."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.cli.conftest import assert_one_line_error, run

FAST = ["--strategies", "two-level", "--requests", "2", "--latency", "1", "--jitter", "0"]


def test_export_refuses_an_existing_file_unless_forced_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "notes.csv"
    target.write_text("notes\n")
    target.chmod(0o600)
    refused = run("catalog", "export", "--output", str(target))
    assert_one_line_error(refused, 2, f"{target} exists; use --force to replace it", exact=True)
    assert target.read_text() == "notes\n"
    forced = run("catalog", "export", "--output", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert target.read_text().startswith("slug,title,year,director,genres\n")
    assert target.stat().st_mode & 0o777 == 0o600


def test_export_never_writes_over_the_database(home: Path, tmp_path: Path) -> None:
    run("init")
    database = home / "moviemind.db"
    link = tmp_path / "looks-harmless.csv"
    link.symlink_to(database)
    before = database.read_bytes()
    for target in (database, home / "moviemind.db-wal", link):
        result = run("catalog", "export", "--output", str(target), "--format", "csv", "--force")
        assert_one_line_error(result, 2, "is one of the home's database files")
    assert database.read_bytes() == before
    assert run("movies", "list", "--json").exit_code == 0


def test_compare_csv_refuses_an_existing_file_before_racing(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("mine\n")
    result = run("compare", *FAST, "--csv", str(target))
    assert_one_line_error(result, 2, "table.csv exists; use --force to replace it")
    assert target.read_text() == "mine\n"


def test_compare_csv_says_which_file_it_wrote(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("mine\n")
    result = run("compare", *FAST, "--csv", str(target), "--force", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == f"wrote the table to {target}"
    assert [row[0] for row in csv.reader(target.open(encoding="utf-8"))] == [
        "strategy",
        "two-level",
    ]


def test_names_too_long_are_one_line_bad_input(tmp_path: Path) -> None:
    long_name = str(tmp_path / ("a" * 300 + ".csv"))
    export = ("catalog", "export", "--output", long_name)
    compare = ("compare", *FAST, "--csv", long_name)
    for args in (export, compare):
        assert_one_line_error(run(*args), 2, "file name too long")
