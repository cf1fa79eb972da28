"""The lab's output fits the terminal: 80 columns when piped, ``COLUMNS`` when set.

Tables narrow by choosing columns, never by cutting a name or a number; text
wraps at words; timelines are drawn as wide as the line allows.
"""

from __future__ import annotations

import os
import re

import pytest
from rich.text import Text

from moviemind_lite.cli import lab_output
from moviemind_lite.cli.lab_output import Column, command_lines, output_width, print_packed
from moviemind_lite.lab.race import strategy_names
from moviemind_lite.lab.teaching import LESSONS
from tests.cli.conftest import run

STRATEGIES = strategy_names("all")
# The command, with a short AI call so that the test is quick.
COMPARE = ["compare", "--strategies", "all", "--requests", "8", "--slugs", "2", "--workers", "4"]
QUICK = ["--latency", "20", "--jitter", "0"]


def too_long(out: str, width: int) -> list[str]:
    return [line for line in out.splitlines() if len(line) > width]


def first_column(out: str) -> list[str]:
    """Every label in the first column of every table."""
    return re.findall(r"^│ ([^│ ]+(?: [^│ ]+)*) +│", out, re.MULTILINE)


@pytest.mark.parametrize("columns", ["80", None], ids=["COLUMNS=80", "piped"])
def test_compare_all_fits_80_columns_with_every_name_whole(columns: str | None) -> None:
    result = run(*COMPARE, *QUICK, env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert too_long(out, 80) == []
    assert "…" not in out
    labels = first_column(out)
    # Every table lists every strategy, whole, in order.
    assert len(labels) % len(STRATEGIES) == 0 and len(labels) >= 2 * len(STRATEGIES)
    assert labels[: len(STRATEGIES)] == STRATEGIES
    # Verdict and damage come first; every metric is still shown, in a later table.
    headers = out.split("┡")[0]
    assert re.search(r"┃ strategy +┃ verdict +┃", headers)
    for header in ("requests", "dedup", "stale", "p50/p95/max", "lock"):
        assert header in out
    assert out.count("timeline: ") == len(STRATEGIES)


def test_a_wide_terminal_gets_one_table_and_wider_timelines() -> None:
    narrow = run(
        *COMPARE[:2], "none,cache-lock-recheck", *COMPARE[3:], *QUICK, env={"COLUMNS": "80"}
    ).stdout
    wide = run(
        *COMPARE[:2], "none,cache-lock-recheck", *COMPARE[3:], *QUICK, env={"COLUMNS": "250"}
    ).stdout
    assert wide.count("┏") == 1 and narrow.count("┏") > 1
    assert max(len(line) for line in wide.splitlines()) > 80

    def bar(out: str) -> int:
        return max(len(bar) for bar in re.findall(r"\|([ .+=#~X-]+)\|", out))

    assert bar(wide) > bar(narrow)
    assert too_long(wide, 250) == []


def test_lab_list_and_lab_run_fit_80_columns() -> None:
    listed = run("lab", "list", env={"COLUMNS": "80"}).stdout
    assert too_long(listed, 80) == []
    for name in LESSONS:
        assert re.search(rf"^{name} ", listed, re.MULTILINE)
    for lesson in ("the-original-bug", "canary-rollback"):
        result = run("lab", "run", lesson, "--fast", env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        assert too_long(result.stdout, 80) == [], lesson
        assert "…" not in result.stdout
    # The check sentence goes on, indented, under its first line.
    assert re.search(r"\ncheck PASSED: .*\n  \S", result.stdout)


def test_the_demo_fits_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    from moviemind_lite.lab import teaching

    # The catalog steps, then one real lesson (its tables and timelines).
    monkeypatch.setattr(teaching, "TOUR", ("the-original-bug",))
    result = run("demo", "--fast", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert too_long(result.stdout, 80) == []
    assert "Computer programmer Thomas Anderson" in result.stdout  # the catalog, wrapped
    assert "timeline: cache-lock-recheck" in result.stdout


def test_no_cell_is_ever_cut(capsys: pytest.CaptureFixture[str]) -> None:
    label = Column("strategy", (Text("cache-lock-recheck (postgres)"), Text("none")), "left")
    columns = [
        Column(f"metric number {index}", (Text(str(10**index)), Text("7/1234/99999")))
        for index in range(12)
    ]
    for width in (80, 100, 200):
        print_packed(label, columns, width)
        out = capsys.readouterr().out
        assert too_long(out, width) == []
        assert "…" not in out
        words = re.findall(r"[^\s│┃]+", out)
        assert "cache-lock-recheck" in words
        for index in range(12):
            assert str(10**index) in words


def test_commands_break_before_an_option_and_still_paste() -> None:
    command = (
        "moviemind race --strategy setnx --requests 2 --workers 2 --latency 50 --jitter 0 "
        "--ttl 100 --arrival spread:200 --no-unique-index --pause-holder 500 --fencing"
    )
    lines = command_lines(command, 80).splitlines()
    assert len(lines) > 1 and all(len(line) <= 80 for line in lines)
    assert all(line.endswith(" \\") for line in lines[:-1])
    assert all(line.startswith("    --") for line in lines[1:])
    pasted = " ".join(line.removesuffix(" \\").strip() for line in lines)
    assert pasted == "$ " + command


def test_width_is_the_terminals_else_columns_else_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab_output.sys.stdout, "isatty", lambda: False)
    monkeypatch.delenv("COLUMNS", raising=False)
    assert output_width() == 80
    monkeypatch.setenv("COLUMNS", "132")
    assert output_width() == 132
    monkeypatch.setenv("COLUMNS", "wide")
    assert output_width() == 80
    monkeypatch.setattr(lab_output.sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(
        lab_output.shutil, "get_terminal_size", lambda fallback: os.terminal_size((97, 30))
    )
    assert output_width() == 97
