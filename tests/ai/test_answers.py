"""Answers: parsed however a server wraps them, and refused unless they may be stored."""

from __future__ import annotations

import json

import pytest

from moviemind_lite.ai.answers import MAX_CHARS, check_language, check_text, parse_answer
from moviemind_lite.ai.base import GenerationRequest
from moviemind_lite.ai.mock_text import compose_movie_description, compose_person_bio
from moviemind_lite.ai.prompts import build_prompt
from moviemind_lite.core.domain import CONTEXT_TAGS, LOCALES
from moviemind_lite.core.errors import InvalidAIAnswer

TEXT = (
    "The Matrix follows a hacker who learns that the world he knows is a simulation, "
    "and joins a small band of rebels fighting the machines that built it."
)
PROMPT = build_prompt(
    GenerationRequest("movie", "the-matrix-1999", "en-US", "default", {"title": "The Matrix"})
)


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"description": TEXT}),
        f"```json\n{json.dumps({'description': TEXT})}\n```",
        f"```\n{json.dumps({'description': TEXT}, indent=2)}\n```",
        f"Sure! Here is the JSON you asked for:\n{json.dumps({'description': TEXT})}\nEnjoy.",
    ],
    ids=["plain", "json-fence", "bare-fence", "in-prose"],
)
def test_the_answer_is_found_however_it_is_wrapped(content: str) -> None:
    assert parse_answer(content, "description") == TEXT


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("The Matrix is a film.", "the answer is not JSON: 'The Matrix is a film.'"),
        ('{"description": "The Matrix', 'the answer is not JSON: \'{"description": "The Matrix\''),
        ("", "the answer is not JSON: ''"),
        ("[1, 2]", "the answer is JSON but not an object: '[1, 2]'"),
        ('{"text": "The Matrix"}', 'the answer has no "description" text (its keys: text)'),
        ('{"description": 42}', 'the answer has no "description" text (its keys: description)'),
        ("{}", 'the answer has no "description" text (its keys: none)'),
    ],
)
def test_a_malformed_answer_says_what_is_wrong(content: str, message: str) -> None:
    with pytest.raises(InvalidAIAnswer) as refused:
        parse_answer(content, "description")
    assert str(refused.value) == message


def test_a_good_text_is_kept_with_its_whitespace_tidied() -> None:
    first, rest = TEXT.split(", ", 1)
    assert check_text(f"  {first},\n\n  {rest}\n", "en-US", PROMPT) == TEXT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("  \n ", "the answer's text is empty"),
        ("The Matrix is a film.", "the answer is too short: 21 characters (at least 50)"),
        (
            " ".join([TEXT] * 40),
            f"the answer is too long: {len(TEXT) * 40 + 39} characters (at most {MAX_CHARS})",
        ),
        (f"<p>{TEXT}</p>", "the answer holds markup or code"),
        (f"{TEXT} <script>alert(1)</script>", "the answer holds markup or code"),
        ('{"description": "' + TEXT + '"}', "the answer holds markup or code"),
        (f"```{TEXT}```", "the answer holds markup or code"),
        (
            f"{TEXT} Write a balanced, informative text with a neutral tone.",
            "the answer repeats the instructions: 'Write a balanced, informative text",
        ),
        (f"SECURITY REQUIREMENTS: none. {TEXT}", "the answer repeats the instructions"),
        (
            "Matrix to film o hakerze, który odkrywa, że świat jest symulacją, i dołącza "
            "do buntowników.",
            "the answer reads as Polish (pl-PL), not English (United States) (en-US)",
        ),
        (
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
            "the answer reads as no language we know, not English",
        ),
    ],
)
def test_a_text_that_may_not_be_stored_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidAIAnswer) as refused:
        check_text(text, "en-US", PROMPT)
    assert str(refused.value).startswith(message)


def test_a_title_in_another_language_does_not_decide_the_language() -> None:
    polish = (
        "The Lord of the Rings: The Return of the King to film, w którym drużyna kończy "
        "swoją wędrówkę, a The Lord of the Rings zamyka się wielką bitwą."
    )
    with pytest.raises(InvalidAIAnswer, match="reads as English"):
        check_language(polish, "pl-PL")
    check_language(polish, "pl-PL", ignore=["The Lord of the Rings: The Return of the King"])


@pytest.mark.parametrize("locale", LOCALES)
def test_texts_in_each_locale_are_kept_and_refused_for_every_other(locale: str) -> None:
    """The mock's texts (real sentences, five languages) as a corpus for the language check."""
    checked = 0
    for seed in range(25):
        for tag in CONTEXT_TAGS:
            for text, names in (
                (
                    compose_movie_description(
                        title="Heat",
                        year=1995,
                        director="Michael Mann",
                        genres=["Crime"],
                        locale=locale,
                        context_tag=tag,
                        seed=seed,
                    ),
                    ["Heat", "Michael Mann", "Crime"],
                ),
                (
                    compose_person_bio(
                        name="Keanu Reeves",
                        birth_date="1964-09-02",
                        birthplace="Beirut",
                        locale=locale,
                        context_tag=tag,
                        seed=seed,
                    ),
                    ["Keanu Reeves", "Beirut"],
                ),
            ):
                check_language(text, locale, names)
                for other in LOCALES:
                    if other != locale:
                        with pytest.raises(InvalidAIAnswer):
                            check_language(text, other, names)
                checked += 1
    assert checked == 200
