from __future__ import annotations

import json

import pytest

from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import MOVIE, PERSON
from moviemind_lite.store import catalog
from moviemind_lite.store.sample_catalog import load_sample_catalog, sample_catalog_text

SAMPLE = json.loads(sample_catalog_text())


def test_sample_catalog_is_big_enough_and_has_curated_texts() -> None:
    assert len(SAMPLE["movies"]) >= 40
    assert len(SAMPLE["people"]) >= 25
    with_texts = [
        item
        for item in SAMPLE["movies"] + SAMPLE["people"]
        if {"en-US", "pl-PL"}
        <= {t["locale"] for t in item.get("descriptions", item.get("bios", []))}
    ]
    assert len(with_texts) >= 10


def test_sample_catalog_loads_once(app: App) -> None:
    counts = app.catalog.counts()
    assert counts["movies"] == len(SAMPLE["movies"])
    assert counts["people"] == len(SAMPLE["people"])
    assert load_sample_catalog(app.database) == {}
    assert app.catalog.counts() == counts


def test_round_trip_of_facts_and_baseline(app: App) -> None:
    matrix = catalog.find_entity(app.database, MOVIE, "the-matrix-1999")
    assert matrix is not None
    assert matrix.facts == {
        "title": "The Matrix",
        "year": 1999,
        "director": "Lana Wachowski, Lilly Wachowski",
        "genres": ["Action", "Science Fiction"],
    }
    polish = catalog.find_baseline(app.database, MOVIE, matrix.id, "pl-PL", "default")
    assert polish is not None and polish.text.startswith("Thomas Anderson")
    assert (polish.origin, polish.version, polish.is_baseline) == ("curated", 1, True)
    english = catalog.find_baseline(app.database, MOVIE, matrix.id, "en-US", "default")
    assert english is not None and matrix.baseline_id == english.id
    assert catalog.find_baseline(app.database, MOVIE, matrix.id, "de-DE", "default") is None


def test_people_share_the_same_queries(app: App) -> None:
    keanu = catalog.find_entity(app.database, PERSON, "keanu-reeves")
    assert keanu is not None
    assert keanu.facts == {
        "name": "Keanu Reeves",
        "birth_date": "1964-09-02",
        "birthplace": "Beirut, Lebanon",
    }
    assert {text.locale for text in app.catalog.texts(keanu)} == {"en-US", "pl-PL"}


@pytest.mark.parametrize(
    ("search", "expected"),
    [("matrix", ["the-matrix-1999"]), ("MATRIX", ["the-matrix-1999"]), ("%", []), ("_", [])],
)
def test_search_is_a_literal_case_insensitive_substring(
    app: App, search: str, expected: list[str]
) -> None:
    found = [entity.slug for entity in app.catalog.list_entities(MOVIE, search=search)]
    assert found == expected


def test_list_is_sorted_and_limited(app: App) -> None:
    everything = app.catalog.list_entities(PERSON)
    labels = [entity.label.lower() for entity in everything]
    assert labels == sorted(labels)
    assert [e.slug for e in app.catalog.list_entities(PERSON, limit=3)] == [
        e.slug for e in everything[:3]
    ]
    assert app.catalog.list_entities(PERSON, limit=0) == []
