"""Batch generation from a file, staggering, and the shared AI circuit breaker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviemind_lite.app.batch import parse_stagger, read_batch_file, run_batch
from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import InvalidInput
from tests.helpers import INVALID, write_batch

pytestmark = pytest.mark.usefixtures("engines")


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
