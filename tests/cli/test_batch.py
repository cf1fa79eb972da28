"""Batch generation from a file, staggering, and the shared AI circuit breaker."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from moviemind_lite.cli import cli
from tests.helpers import write_batch


def test_failing_ai_costs_at_most_threshold_plus_in_flight_calls(
    home: Path, tmp_path: Path
) -> None:
    env = {"MOVIEMIND_BREAKER_THRESHOLD": "5", "MOVIEMIND_JOB_BACKOFF_MS": "1"}
    result = CliRunner().invoke(
        cli,
        [
            "movies",
            "generate",
            "--from-file",
            str(write_batch(tmp_path / "b.txt", 200, 0)),
            "--ai-fail-rate",
            "1",
            "--workers",
            "4",
            "--json",
        ],
        env=env,
    )
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["created"] == 0
    assert len(report["deferred"]) + len(report["failed"]) == 200
    assert report["ai_calls"] <= 5 + 4  # the threshold, plus calls already in flight
    stats = json.loads(CliRunner().invoke(cli, ["stats", "--json"], env=env).output)
    assert stats["extra"]["ai_circuit"] == "open"


def test_cli_batch_exit_codes(home: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("the-matrix-1999\nnew-film-2030\n")
    ok = CliRunner().invoke(cli, ["movies", "generate", "--from-file", str(good)])
    assert ok.exit_code == 0
    assert ok.output == "created 1/2, reused 1, failed 0\n"
    missing = CliRunner().invoke(cli, ["movies", "generate", "--from-file", str(tmp_path / "no")])
    assert missing.exit_code == 2
    assert missing.output.startswith("Error: ") and missing.output.count("\n") == 1
    bad = CliRunner().invoke(
        cli, ["people", "generate", "--from-file", str(good), "--stagger", "soon"]
    )
    assert (bad.exit_code, bad.output.count("\n")) == (2, 1)
