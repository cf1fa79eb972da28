"""Batch generation from a file, staggering, and the shared AI circuit breaker."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from moviemind_lite.ai.breaker import CircuitBreaker, GuardedGenerator
from moviemind_lite.ai.generator import GenerationRequest, MockGenerator
from moviemind_lite.app.batch import parse_stagger, read_batch_file, run_batch
from moviemind_lite.app.wiring import App
from moviemind_lite.cli import cli
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import CircuitOpen, InvalidInput, TransientAIError
from moviemind_lite.core.model import JobRequest

INVALID = ["Bad Slug", "../x", "UPPER", "a--b", "trailing-"]


def write_batch(path: Path, distinct: int = 185, repeats: int = 10) -> Path:
    slugs = [f"batch-film-{number}-{1950 + number % 70}" for number in range(distinct)]
    lines = slugs + slugs[:repeats] + INVALID + ["", "# a comment"]
    random.Random(4).shuffle(lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_two_hundred_lines_generate_each_distinct_slug_once(app: App, tmp_path: Path) -> None:
    batch = read_batch_file(write_batch(tmp_path / "slugs.txt"), MOVIE)
    assert (len(batch.items), len(batch.duplicates)) == (185, 10)
    lines = (tmp_path / "slugs.txt").read_text().splitlines()
    assert sorted(where for where, _ in batch.invalid) == sorted(
        f"line {lines.index(bad) + 1}" for bad in INVALID
    )
    assert all("slug" in reason for _, reason in batch.invalid)
    report = run_batch(app, MOVIE, batch, workers=16, stagger=parse_stagger("random:0-20"))
    assert (report.created, report.reused, report.failed, report.deferred) == (185, 0, [], [])
    assert report.ai_calls == 185
    assert sum(app.calls.counts().values()) == 185
    assert max(app.calls.counts().values()) == 1
    movies = app.database.query_one("SELECT count(*) FROM movies WHERE slug LIKE 'batch-film-%'")
    assert movies is not None and movies[0] == 185
    assert report.summary().startswith("created 185/185, reused 0, failed 0, invalid lines 5")
    again = run_batch(app, MOVIE, batch, workers=4)
    assert (again.created, again.reused, again.ai_calls) == (0, 185, 0)


def test_catalog_rows_give_their_facts_to_the_generated_text(app: App, tmp_path: Path) -> None:
    path = tmp_path / "films.jsonl"
    path.write_text(
        json.dumps(
            {
                "slug": "heat-1995",
                "title": "Heat",
                "year": 1995,
                "director": "Michael Mann",
                "genres": ["Crime"],
            }
        )
        + "\n"
        + json.dumps({"slug": "x", "year": 1})
        + "\n"
    )
    batch = read_batch_file(path, MOVIE)
    assert [item.slug for item in batch.items] == ["heat-1995"]
    assert [where for where, _ in batch.invalid] == ["line 2"]
    report = run_batch(app, MOVIE, batch, workers=2)
    assert report.created == 1
    shown = app.generation.request(MOVIE, "heat-1995")
    assert shown.view is not None and shown.view.text is not None
    assert "Michael Mann" in shown.view.text.text


@pytest.mark.parametrize(
    ("spec", "offsets"),
    [("none", [0.0, 0.0, 0.0]), ("linear:10", [0.0, 10.0, 20.0]), ("linear:2.5", [0.0, 2.5, 5.0])],
)
def test_stagger_offsets(spec: str, offsets: list[float]) -> None:
    assert parse_stagger(spec).offsets_ms(3) == offsets


def test_random_stagger_stays_in_its_window_and_is_seeded() -> None:
    stagger = parse_stagger("random:5-50")
    offsets = stagger.offsets_ms(500, seed=3)
    assert all(5 <= offset <= 50 for offset in offsets)
    assert offsets == stagger.offsets_ms(500, seed=3)
    assert len(set(offsets)) > 400


@pytest.mark.parametrize("spec", ["linear", "linear:-1", "random:9-1", "burst", "random:1", ""])
def test_bad_stagger(spec: str) -> None:
    with pytest.raises(InvalidInput, match="stagger"):
        parse_stagger(spec)


def guarded(
    settings: Settings, app: App, threshold: int = 3, cooldown_ms: float = 60_000
) -> tuple[CircuitBreaker, GuardedGenerator]:
    breaker = CircuitBreaker(app.database, threshold=threshold, cooldown_ms=cooldown_ms)
    return breaker, GuardedGenerator(MockGenerator(settings.ai, app.calls), breaker)


REQUEST = GenerationRequest("movie", "alien-1979", "en-US", "default", {})


def test_breaker_opens_after_threshold_and_fails_fast(app: App, settings: Settings) -> None:
    breaker, generator = guarded(settings.with_ai(fail_rate=1.0), app)
    for _ in range(3):
        with pytest.raises(TransientAIError):
            generator.generate(REQUEST)
    assert breaker.state().state == "open"
    for _ in range(10):
        with pytest.raises(CircuitOpen):
            generator.generate(REQUEST)
    assert app.calls.total() == 3


def test_breaker_probes_once_after_cooldown_then_closes(app: App, settings: Settings) -> None:
    breaker, failing = guarded(settings.with_ai(fail_rate=1.0), app, cooldown_ms=1)
    for _ in range(3):
        with pytest.raises(TransientAIError):
            failing.generate(REQUEST)
    # The cool-down is 1 ms: the next call is a probe, and it fails: open again.
    time.sleep(0.01)
    with pytest.raises(TransientAIError):
        failing.generate(REQUEST)
    assert breaker.state().state == "open" and breaker.state().opened_count == 2
    time.sleep(0.01)
    healthy = GuardedGenerator(MockGenerator(settings.ai, app.calls), breaker)
    assert "Alien" in healthy.generate(REQUEST)
    assert breaker.state().state == "closed"
    assert breaker.state().consecutive_failures == 0


def test_half_open_lets_one_probe_through(app: App, settings: Settings) -> None:
    breaker, failing = guarded(settings.with_ai(fail_rate=1.0), app, cooldown_ms=1)
    for _ in range(3):
        with pytest.raises(TransientAIError):
            failing.generate(REQUEST)
    breaker.cooldown_ms = 60_000  # the probe taken next may run for a minute
    time.sleep(0.01)
    breaker.before_call()  # this caller probes
    with pytest.raises(CircuitOpen, match="half-open"):
        breaker.before_call()


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


@pytest.mark.timeout(90)
def test_breaker_is_shared_by_two_worker_processes(app: App, home: Path) -> None:
    with app.database.write() as conn:
        for number in range(60):
            app.job_store.insert(
                conn, JobRequest("movie", f"queued-{number}", "en-US", "default"), "two-level"
            )
    env = {
        **os.environ,
        "MOVIEMIND_HOME": str(home),
        "MOVIEMIND_AI_FAIL_RATE": "1",
        "MOVIEMIND_AI_LATENCY_MS": "5",
        "MOVIEMIND_BREAKER_THRESHOLD": "4",
        "MOVIEMIND_BREAKER_COOLDOWN_MS": "60000",
        "MOVIEMIND_JOB_BACKOFF_MS": "1",
    }
    command = [sys.executable, "-m", "moviemind_lite", "worker", "--once", "--threads", "2"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    for worker in workers:
        worker.communicate(timeout=60)
        assert worker.returncode == 0
    assert app.breaker.state().state == "open"
    assert app.calls.total() <= 4 + 2 * 2  # threshold + what both processes had in flight
    pending = app.job_store.counts()["PENDING"]
    assert pending >= 60 - app.calls.total()  # deferred, not burned


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
