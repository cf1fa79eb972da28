"""The log file from the command line: it never costs a command, and ``logs`` reads every file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviemind_lite.core import logs
from tests.cli.conftest import run

WARNING = "moviemind: warning: cannot write the log"


@pytest.fixture(autouse=True)
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command runs as a process that has not warned yet."""
    monkeypatch.setattr(logs, "_warned_in", None)


def test_generation_and_workers_go_on_when_the_log_cannot_be_written(
    home: Path, tmp_path: Path
) -> None:
    (home / "logs" / "moviemind.log").mkdir(parents=True)
    shown = run("movies", "show", "tenet-2020")
    assert shown.exit_code == 0, shown.output
    assert "Tenet" in shown.stdout
    assert shown.stderr.count(WARNING) == 1
    assert "Traceback" not in shown.output

    slugs = tmp_path / "slugs.txt"
    slugs.write_text("".join(f"log-less-film-{number}\n" for number in range(20)))
    logs._warned_in = None
    batch = run("movies", "generate", "--from-file", str(slugs), "--workers", "4")
    assert batch.exit_code == 0, batch.output
    assert batch.stdout == "created 20/20, reused 0, failed 0\n"
    assert batch.stderr.count(WARNING) == 1

    assert run("movies", "show", "queued-film-2001", "--no-wait").exit_code == 0
    logs._warned_in = None
    worked = run("worker", "--once")
    assert worked.exit_code == 0, worked.output
    assert worked.stderr.count(WARNING) == 1
    (queued,) = [
        job
        for job in json.loads(run("jobs", "list", "--json").stdout)
        if job["slug"] == "queued-film-2001"
    ]
    assert queued["status"] == "DONE"


def test_logs_reads_the_rotated_files_oldest_first(home: Path) -> None:
    folder = home / "logs"
    folder.mkdir(parents=True)
    for name, numbers in (
        ("moviemind.log.3", [0, 1]),
        ("moviemind.log.2", [2]),
        ("moviemind.log.1", [3, 4]),
        ("moviemind.log", [5]),
    ):
        lines = [json.dumps({"message": "line", "level": "INFO", "n": n}) for n in numbers]
        (folder / name).write_text("".join(line + "\n" for line in lines))
    (folder / "moviemind.log.old").write_text("not a rotated file\n")
    result = run("logs", "--json")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["n"] for line in result.stdout.splitlines()] == [0, 1, 2, 3, 4, 5]
