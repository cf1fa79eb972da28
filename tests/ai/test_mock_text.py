"""Tests for the deterministic mock text composer."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moviemind_lite.ai import mock_text
from moviemind_lite.ai.mock_text import (
    LOCALES,
    compose_movie_description,
    compose_person_bio,
    guess_movie_facts,
    guess_person_facts,
)

TAGS = ("default", "modern", "critical", "humorous", "some-new-tag")

MOVIE_FACTS: list[dict[str, Any]] = [
    {
        "title": "The Matrix",
        "year": 1999,
        "director": "Lana Wachowski",
        "genres": ["Action", "Science Fiction"],
    },
    {"title": "Blade Runner", "year": None, "director": None, "genres": []},
    {"title": "1917", "year": 2019, "director": None, "genres": ["War", "Drama", "History"]},
    {"title": "Amélie", "year": None, "director": "Jean-Pierre Jeunet", "genres": ["Romance"]},
    {"title": "Odd One", "year": 2001, "director": "  ", "genres": ["", "Noir", "Comedy"]},
]

PERSON_FACTS: list[dict[str, Any]] = [
    {"name": "Keanu Reeves", "birth_date": "1964-09-02", "birthplace": "Beirut, Lebanon"},
    {"name": "Greta Gerwig", "birth_date": "1983", "birthplace": None},
    {"name": "Agnès Varda", "birth_date": None, "birthplace": "Ixelles"},
    {"name": "Nobody Known", "birth_date": None, "birthplace": None},
    {"name": "Odd Date", "birth_date": "1970-13-45", "birthplace": "  "},
    {"name": "Garbage Date", "birth_date": "unknown", "birthplace": "Łódź"},
]


def movie(**overrides: Any) -> str:
    args: dict[str, Any] = {
        **MOVIE_FACTS[0],
        "locale": "en-US",
        "context_tag": "default",
        "seed": 1,
    }
    args.update(overrides)
    return compose_movie_description(**args)


def person(**overrides: Any) -> str:
    args: dict[str, Any] = {
        **PERSON_FACTS[0],
        "locale": "en-US",
        "context_tag": "default",
        "seed": 1,
    }
    args.update(overrides)
    return compose_person_bio(**args)


def assert_clean(text: str) -> None:
    assert "None" not in text
    assert "{" not in text and "}" not in text
    assert "  " not in text.replace("\n\n", "")
    assert " ." not in text and " ," not in text
    paragraphs = text.split("\n\n")
    assert len(paragraphs) == 2
    assert all(p.strip() == p and p for p in paragraphs)


# --- template tables -------------------------------------------------------------


def test_locales_constant() -> None:
    assert LOCALES == ("pl-PL", "en-US", "de-DE", "fr-FR", "es-ES")


def test_every_locale_has_the_same_slots_with_enough_alternatives() -> None:
    reference = set(mock_text._TEMPLATES["en-US"])
    for locale in LOCALES:
        table = mock_text._TEMPLATES[locale]
        assert set(table) == reference, locale
        for slot, alternatives in table.items():
            assert len(alternatives) >= 4, (locale, slot)
            assert len(set(alternatives)) == len(alternatives), (locale, slot)


def test_templates_only_use_the_fields_their_slot_provides() -> None:
    allowed = {
        "movie_intro_year": {"title", "year"},
        "movie_intro": {"title"},
        "director": {"director"},
        "genres": {"genres"},
        "person_intro": {"name"},
        "birth": {"name", "born"},
        "closing": {"subject"},
    }
    for locale in LOCALES:
        for slot, alternatives in mock_text._TEMPLATES[locale].items():
            expected = allowed.get(slot, {"subject"} if slot.startswith("shared_") else set())
            for template in alternatives:
                fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
                assert fields <= expected, (locale, slot, template)
                assert template[-1] in ".!?", (locale, slot, template)


# --- determinism and variety ------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("tag", TAGS)
def test_same_arguments_give_identical_text(locale: str, tag: str) -> None:
    assert movie(locale=locale, context_tag=tag, seed=42) == movie(
        locale=locale, context_tag=tag, seed=42
    )
    assert person(locale=locale, context_tag=tag, seed=42) == person(
        locale=locale, context_tag=tag, seed=42
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_seeds_produce_varied_texts_with_the_same_facts(locale: str) -> None:
    movies = {movie(locale=locale, seed=seed) for seed in range(20)}
    people = {person(locale=locale, seed=seed) for seed in range(20)}
    assert len(movies) >= 5
    assert len(people) >= 5
    for text in movies:
        assert "The Matrix" in text and "1999" in text and "Lana Wachowski" in text
    for text in people:
        assert "Keanu Reeves" in text and "1964" in text


def test_context_tag_changes_the_text() -> None:
    texts = {movie(context_tag=tag, seed=7) for tag in TAGS}
    assert len(texts) >= 4


# --- facts appear in every locale ---------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("tag", TAGS)
def test_movie_text_contains_title_year_and_director(locale: str, tag: str) -> None:
    for seed in range(5):
        text = movie(locale=locale, context_tag=tag, seed=seed)
        assert "The Matrix" in text
        assert "1999" in text
        assert "Lana Wachowski" in text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("tag", TAGS)
def test_person_text_contains_name_year_and_birthplace(locale: str, tag: str) -> None:
    for seed in range(5):
        text = person(locale=locale, context_tag=tag, seed=seed)
        assert "Keanu Reeves" in text
        assert "1964" in text
        assert "Beirut, Lebanon" in text


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("pl-PL", "2 września 1964 r."),
        ("en-US", "September 2, 1964"),
        ("de-DE", "am 2. September 1964"),
        ("fr-FR", "le 2 septembre 1964"),
        ("es-ES", "el 2 de septiembre de 1964"),
    ],
)
def test_full_birth_date_is_spelled_out_per_locale(locale: str, expected: str) -> None:
    assert expected in person(locale=locale)


def test_first_of_month_uses_french_ordinal() -> None:
    assert "le 1er mars 1950" in person(locale="fr-FR", birth_date="1950-03-01")


def test_invalid_full_date_falls_back_to_year() -> None:
    text = person(birth_date="1970-13-45", birthplace=None)
    assert "1970" in text and "13" not in text


def test_unparseable_birth_date_is_omitted() -> None:
    text = person(birth_date="unknown", birthplace=None)
    assert "unknown" not in text
    assert_clean(text)


# --- genres -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("pl-PL", "komedia"),
        ("en-US", "comedy"),
        ("de-DE", "Komödie"),
        ("fr-FR", "comédie"),
        ("es-ES", "comedia"),
    ],
)
def test_genres_are_translated(locale: str, expected: str) -> None:
    for seed in range(5):
        text = movie(locale=locale, genres=["Comedy"], director=None, seed=seed)
        assert expected in text


def test_unknown_genre_passes_through_and_spanish_conjunction_adapts() -> None:
    text = movie(locale="es-ES", genres=["Noir", "History"], director=None)
    assert "Noir e historia" in text
    text = movie(locale="de-DE", genres=["science-fiction", "Sci-Fi"], director=None)
    assert text.count("Science-Fiction") == 1


# --- missing facts and tone -------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("tag", TAGS)
def test_no_placeholders_or_none_for_any_fact_combination(locale: str, tag: str) -> None:
    for seed in range(3):
        for facts in MOVIE_FACTS:
            text = compose_movie_description(**facts, locale=locale, context_tag=tag, seed=seed)
            assert_clean(text)
            assert facts["title"] in text
        for facts in PERSON_FACTS:
            text = compose_person_bio(**facts, locale=locale, context_tag=tag, seed=seed)
            assert_clean(text)
            assert facts["name"] in text


def test_english_sentence_count_is_between_four_and_seven() -> None:
    for tag in TAGS:
        for seed in range(10):
            for facts in MOVIE_FACTS:
                text = compose_movie_description(
                    **facts, locale="en-US", context_tag=tag, seed=seed
                )
                sentences = re.split(r"(?<=[.!?])\s+", text.strip())
                assert 4 <= len(sentences) <= 7, text
            for facts in PERSON_FACTS:
                text = compose_person_bio(**facts, locale="en-US", context_tag=tag, seed=seed)
                sentences = re.split(r"(?<=[.!?])\s+", text.strip())
                assert 4 <= len(sentences) <= 7, text


def test_missing_director_and_genres_are_skipped() -> None:
    for seed in range(20):
        text = movie(director=None, genres=[], year=None, seed=seed)
        for slot in ("director", "genres"):
            prefixes = [t.split("{")[0] for t in mock_text._TEMPLATES["en-US"][slot]]
            assert not any(p and p in text for p in prefixes)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("tag", ["default", "modern", "critical", "humorous"])
def test_tone_sentence_comes_from_the_requested_tone(locale: str, tag: str) -> None:
    table = mock_text._TEMPLATES[locale]
    for seed in range(5):
        assert any(
            t in movie(locale=locale, context_tag=tag, seed=seed) for t in table[f"movie_{tag}"]
        )
        assert any(
            t in person(locale=locale, context_tag=tag, seed=seed) for t in table[f"person_{tag}"]
        )


def test_unknown_tag_uses_default_tone() -> None:
    table = mock_text._TEMPLATES["pl-PL"]
    for seed in range(10):
        text = movie(locale="pl-PL", context_tag="mystery-tag", seed=seed)
        assert any(t in text for t in table["movie_default"])


# --- locale validation ------------------------------------------------------------


@pytest.mark.parametrize("bad", ["xx-XX", "en", "en_US", "EN-us", ""])
def test_unknown_locale_raises_value_error_naming_valid_ones(bad: str) -> None:
    with pytest.raises(ValueError, match="pl-PL, en-US, de-DE, fr-FR, es-ES"):
        movie(locale=bad)
    with pytest.raises(ValueError, match="en-US"):
        person(locale=bad)


# --- slug guessing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "title", "year"),
    [
        ("the-matrix-1999", "The Matrix", 1999),
        ("blade-runner", "Blade Runner", None),
        ("1917", "1917", None),
        (
            "the-lord-of-the-rings-the-return-of-the-king-2003",
            "The Lord of the Rings the Return of the King",
            2003,
        ),
        ("a-quiet-place", "A Quiet Place", None),
        ("in-the-mood-for-love-2000", "In the Mood for Love", 2000),
        ("space-odyssey-3001", "Space Odyssey 3001", None),
        ("rocky-ii-1979", "Rocky II", 1979),
        ("1917-2019", "1917", 2019),
    ],
)
def test_guess_movie_facts(slug: str, title: str, year: int | None) -> None:
    assert guess_movie_facts(slug) == {"title": title, "year": year, "director": None, "genres": []}


@pytest.mark.parametrize(
    ("slug", "name"),
    [
        ("keanu-reeves", "Keanu Reeves"),
        ("ludwig-van-beethoven", "Ludwig van Beethoven"),
        ("tom-hanks-2", "Tom Hanks"),
    ],
)
def test_guess_person_facts(slug: str, name: str) -> None:
    assert guess_person_facts(slug) == {"name": name, "birth_date": None, "birthplace": None}


SLUGS = st.from_regex(r"\A[a-z0-9]+(-[a-z0-9]+)*\Z")


@given(SLUGS)
def test_guess_movie_facts_never_raises_and_is_well_formed(slug: str) -> None:
    facts = guess_movie_facts(slug)
    title = facts["title"]
    year = facts["year"]
    assert isinstance(title, str) and title and "-" not in title
    assert year is None or (isinstance(year, int) and 1888 <= year <= 2100)
    assert facts["director"] is None and facts["genres"] == []


@given(SLUGS)
def test_guess_person_facts_never_raises(slug: str) -> None:
    facts = guess_person_facts(slug)
    assert isinstance(facts["name"], str) and facts["name"]


WORDS = st.text(alphabet=string.ascii_letters + "éłüß ", min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and "None" not in s and "  " not in s
)


@settings(max_examples=200)
@given(
    title=WORDS,
    year=st.none() | st.integers(1888, 2100),
    director=st.none() | WORDS,
    genres=st.lists(st.sampled_from(["Action", "Drama", "Western", "Mystery", "Cult"]), max_size=4),
    locale=st.sampled_from(LOCALES),
    tag=st.sampled_from(TAGS) | st.text(max_size=10),
    seed=st.integers(),
)
def test_movie_composition_property(
    title: str,
    year: int | None,
    director: str | None,
    genres: list[str],
    locale: str,
    tag: str,
    seed: int,
) -> None:
    text = compose_movie_description(
        title=title,
        year=year,
        director=director,
        genres=genres,
        locale=locale,
        context_tag=tag,
        seed=seed,
    )
    assert title in text
    if year is not None:
        assert str(year) in text
    if director is not None:
        assert director in text
    assert_clean(text)


@settings(max_examples=200)
@given(
    name=WORDS,
    birth_date=st.none() | st.dates().map(lambda d: d.isoformat()),
    birthplace=st.none() | WORDS,
    locale=st.sampled_from(LOCALES),
    tag=st.sampled_from(TAGS),
    seed=st.integers(),
)
def test_person_composition_property(
    name: str, birth_date: str | None, birthplace: str | None, locale: str, tag: str, seed: int
) -> None:
    text = compose_person_bio(
        name=name,
        birth_date=birth_date,
        birthplace=birthplace,
        locale=locale,
        context_tag=tag,
        seed=seed,
    )
    assert name in text
    if birth_date is not None and birth_date[:4].isdigit() and len(birth_date) == 10:
        assert str(int(birth_date[:4])) in text
    assert_clean(text)
