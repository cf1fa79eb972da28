"""Regenerating a baseline: updated in place under a lock (flag on) or appended (flag off)."""

from __future__ import annotations

import json

import pytest

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE, PERSON
from moviemind_lite.core.errors import EntityNotFound
from moviemind_lite.core.model import Text
from moviemind_lite.store import catalog
from tests.helpers import Herd

pytestmark = pytest.mark.usefixtures("engines")

RACERS = 16


def regenerate_together(settings: Settings, slug: str) -> list[str]:
    """RACERS threads, each with its own application, regenerate ``slug`` at once."""
    herd = Herd(RACERS)

    def racer(index: int) -> str:
        with build_app(settings) as app:
            herd.start(index)
            outcome = app.generation.regenerate(MOVIE, slug, timeout_s=60)
            assert outcome.job is not None
            return str(outcome.job.result)

    return herd.run(racer)


def texts_of(app: App, slug: str) -> list[Text]:
    entity = catalog.find_entity(app.database, MOVIE, slug)
    assert entity is not None
    return [
        t for t in app.catalog.texts(entity) if t.locale == "en-US" and t.context_tag == "default"
    ]


@pytest.mark.timeout(120)
def test_flag_on_updates_the_baseline_in_place_without_losing_an_update(
    app: App, settings: Settings
) -> None:
    app.flags.set("ai_generation_baseline_locking", True)
    settings = settings.with_ai(latency_ms=5, jitter_ms=5)
    for round_number in range(2):
        results = regenerate_together(settings, "the-matrix-1999")
        assert results == ["baseline_updated"] * RACERS
        (baseline,) = texts_of(app, "the-matrix-1999")
        assert baseline.is_baseline
        assert baseline.version == 1 + RACERS * (round_number + 1)
        assert baseline.origin == "generated"


@pytest.mark.timeout(120)
def test_flag_off_appends_alternatives_and_keeps_the_baseline(app: App, settings: Settings) -> None:
    (before,) = texts_of(app, "the-matrix-1999")
    results = regenerate_together(settings.with_ai(latency_ms=5, jitter_ms=5), "the-matrix-1999")
    assert results == ["alternative_appended"] * RACERS
    texts = texts_of(app, "the-matrix-1999")
    baselines = [t for t in texts if t.is_baseline]
    assert baselines == [before]
    assert len(texts) == 1 + RACERS


def test_show_sees_the_new_baseline_after_the_cached_answer(app: App) -> None:
    first = app.generation.request(MOVIE, "the-matrix-1999")
    again = app.generation.request(MOVIE, "the-matrix-1999")  # served from the answer cache
    assert first.view is not None and again.view is not None
    assert again.view.text == first.view.text
    assert app.database.query_one("SELECT count(*) FROM answer_cache")[0] == 1  # type: ignore[index]
    app.flags.set("ai_generation_baseline_locking", True)
    app.generation.regenerate(MOVIE, "the-matrix-1999")
    assert app.database.query_one("SELECT count(*) FROM answer_cache")[0] == 0  # type: ignore[index]
    after = app.generation.request(MOVIE, "the-matrix-1999")
    assert after.view is not None and after.view.text is not None
    assert after.view.text.version == 2
    assert after.view.text.text != first.view.text.text  # type: ignore[union-attr]


def test_both_modes_log_the_baseline_result(app: App, settings: Settings) -> None:
    app.generation.regenerate(MOVIE, "inception-2010")
    app.flags.set("ai_generation_baseline_locking", True)
    app.generation.regenerate(MOVIE, "inception-2010")
    lines = [json.loads(line) for line in settings.log_path.read_text().splitlines()]
    baseline_lines = [line for line in lines if line["message"].startswith("Baseline locking")]
    assert [line["message"] for line in baseline_lines] == [
        "Baseline locking result",
        "Baseline locking active",
        "Baseline locking result",
    ]
    for line in baseline_lines:
        assert {"job_id", "slug", "entity_id"} <= set(line)
    assert [line["result"] for line in baseline_lines if line["message"].endswith("result")] == [
        "alternative_appended",
        "baseline_updated",
    ]
    assert baseline_lines[-1]["baseline_id"] is not None


def test_generation_flags_gate_the_request_path(app: App) -> None:
    app.flags.set("ai_description_generation", False)
    with pytest.raises(EntityNotFound, match="generation is off: ai_description_generation"):
        app.generation.request(MOVIE, "brand-new-film-2031")
    assert app.job_store.counts()["PENDING"] == 0 and app.jobs.list() == []
    stored = app.generation.request(MOVIE, "the-matrix-1999", locale="de-DE")
    assert stored.view is not None and stored.view.text is None and stored.job is None
    person = app.generation.request(PERSON, "new-person", wait=False)
    assert person.status == "queued"


def test_promoting_an_alternative_makes_it_the_baseline(app: App) -> None:
    before = app.generation.request(MOVIE, "inception-2010")
    outcome = app.generation.regenerate(MOVIE, "inception-2010")
    assert outcome.job is not None and outcome.job.result == "alternative_appended"
    alternative_id = outcome.job.text_id
    assert alternative_id is not None
    promoted = app.catalog.promote(MOVIE, "inception-2010", alternative_id)
    assert promoted.is_baseline
    after = app.generation.request(MOVIE, "inception-2010")
    assert after.view is not None and after.view.text is not None
    assert after.view.text.id == alternative_id != before.view.text.id  # type: ignore[union-attr]
    entity = catalog.find_entity(app.database, MOVIE, "inception-2010")
    assert entity is not None
    baselines = [t for t in app.catalog.texts(entity) if t.is_baseline and t.locale == "en-US"]
    assert [t.id for t in baselines] == [alternative_id]
    with pytest.raises(EntityNotFound):
        app.catalog.promote(MOVIE, "no-such-film", alternative_id)
