"""``--html FILE`` on ``race``, ``compare``, ``lab run`` and ``demo``: the page, its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviemind_lite.lab.lesson import Check, LessonReport
from moviemind_lite.lab.teaching import LESSONS, TOUR
from tests.cli.conftest import assert_one_line_error, run
from tests.lab.test_report import lanes_of

FAST = ["--requests", "4", "--slugs", "2", "--latency", "1", "--jitter", "0"]


def test_race_writes_a_page_with_a_lane_per_job_and_the_command_that_reruns_it(
    tmp_path: Path,
) -> None:
    target = tmp_path / "race.html"
    result = run("race", "--strategy", "none", *FAST, "--json", "--html", str(target))
    assert result.exit_code == 0, result.output
    raced = json.loads(result.stdout)
    assert result.stderr.endswith(f"wrote the report to {target}\n")
    html = target.read_text()
    (drawn,) = lanes_of(html).runs
    assert drawn["strategy"] == "none"
    assert len(drawn["lanes"]) == raced["metrics"]["jobs_dispatched"]  # type: ignore[arg-type]
    rerun = "moviemind race --strategy none --requests 4 --slugs 2 --latency 1 --jitter 0"
    assert f"$ {rerun} --html {target}" in html


def test_compare_writes_every_strategy_side_by_side(tmp_path: Path) -> None:
    target = tmp_path / "all.html"
    result = run(
        "compare", "--strategies", "cache-lock,two-level", *FAST, "--json", "--html", str(target)
    )
    assert result.exit_code == 0, result.output
    compared = json.loads(result.stdout)["results"]
    drawn = lanes_of(target.read_text()).runs
    assert [run["strategy"] for run in drawn] == ["cache-lock", "two-level"]
    for shown, counted in zip(drawn, compared, strict=True):
        assert len(shown["lanes"]) == counted["metrics"]["jobs_dispatched"]  # type: ignore[arg-type]
    html = target.read_text()
    assert "$ moviemind race --strategy two-level --requests 4" in html
    assert "AI calls (paid)" in html and "Wall time" in html


def test_an_existing_file_is_refused_before_any_race_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviemind_lite.lab import race, teaching

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("raced although the file was refused")

    monkeypatch.setattr(race, "run_race", never)
    monkeypatch.setattr(race, "run_compare", never)
    monkeypatch.setattr(teaching, "run_lesson", never)
    target = tmp_path / "taken.html"
    target.write_text("mine")
    for args in (
        ["race", "--strategy", "none"],
        ["compare"],
        ["lab", "run", "fencing"],
    ):
        result = run(*args, "--html", str(target))
        assert_one_line_error(result, 2, "exists; use --force to replace it")
    assert target.read_text() == "mine"


def test_lab_run_writes_the_lesson_with_its_check_and_force_replaces(tmp_path: Path) -> None:
    target = tmp_path / "fencing.html"
    target.write_text("old")
    result = run("lab", "run", "fencing", "--fast", "--html", str(target), "--force")
    assert result.exit_code == 0, result.output
    html = target.read_text()
    assert "Check PASSED" in html
    assert LESSONS["fencing"].explanation[:60] in html
    assert f"$ moviemind lab run fencing --fast --html {target}" in html


def test_demo_writes_every_lesson_of_the_tour_to_one_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviemind_lite.lab import teaching

    def instant(name: str, *, fast: bool = False, **_: object) -> LessonReport:
        return LessonReport(LESSONS[name], fast, (), (), Check(True, f"{name} checked"))

    monkeypatch.setattr(teaching, "run_lesson", instant)
    target = tmp_path / "demo.html"
    result = run("demo", "--fast", "--html", str(target))
    assert result.exit_code == 0, result.output
    html = target.read_text()
    for name in TOUR:
        assert f"{name} checked" in html
        assert f"$ moviemind lab run {name} --fast" in html
