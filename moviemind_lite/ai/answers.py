"""Reading a model's answer: parse it robustly, then check it before anything is stored.

Modelled on the original service's ``AiOutputValidator``. The answer should be
the JSON object the prompt's schema asks for, but servers that ignore
``response_format`` wrap it in a code fence or in prose; :func:`parse_answer`
finds the object either way. :func:`check_text` then refuses a text that is
empty, too short or too long, written in another language than the one asked
(a cheap count of each locale's commonest short words), or that holds markup
or repeats the prompt's instructions. Every refusal is an
:class:`~moviemind_lite.core.errors.InvalidAIAnswer` naming what was wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from moviemind_lite.ai.base import GenerationRequest
from moviemind_lite.ai.prompts import (
    FACTS_CLOSE,
    FACTS_OPEN,
    LANGUAGES,
    MIN_ANSWER_CHARS,
    Prompt,
    prompt_facts,
)
from moviemind_lite.core.errors import InvalidAIAnswer

MIN_CHARS = MIN_ANSWER_CHARS
MAX_CHARS = 5000
# Instruction lines shorter than this ("Style: humorous") may occur in a text by chance.
MIN_ECHO_CHARS = 24


def _common(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Short words common in each language and rare in the other four (words shared
# between two of them, such as "la", "le", "en", "de", "in", "to", "es", "son" and
# "y" (Spanish "and", French "il y a"), left out).
COMMON_WORDS: dict[str, frozenset[str]] = {
    "en-US": _common(
        "the and of is was with his her their that this for from who are as at it which "
        "its has have been into"
    ),
    "pl-PL": _common(
        "i w z na się jest że jego jej oraz przez który która które jako od po dla ze ale jak "
        "są był była było swoje swój tym tej tego ma niż już też czy co pod za przy tylko może "
        "bardzo gdy kiedy lub albo bez nad"
    ),
    "de-DE": _common(
        "der die das und ist mit ein eine einen von zu den dem sich nicht auf im als für "
        "wird sie er auch aus bei nach seine ihre wie wurde"
    ),
    "fr-FR": _common(
        "les et est une du dans qui sur pour par avec au aux ses sa il elle ce cette "
        "mais pas ne sont leur été être comme"
    ),
    "es-ES": _common(
        "el los las una del con por para su sus al como lo pero más está fue "
        "sobre este esta sin muy también cuando donde hasta desde"
    ),
}

_WORD = re.compile(r"[^\W\d_]+")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.DOTALL)
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|```|[{}]")


def _preview(content: str) -> str:
    flat = " ".join(content.split())
    return repr(flat if len(flat) <= 60 else flat[:57] + "...")


def parse_answer(content: str, field: str) -> str:
    """The ``field`` string of the JSON object in ``content`` (fenced or in prose is fine)."""
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        try:
            value = json.loads(text[start : end + 1]) if 0 <= start < end else None
        except json.JSONDecodeError:
            value = None
        if value is None:
            raise InvalidAIAnswer(f"the answer is not JSON: {_preview(content)}") from None
    if not isinstance(value, dict):
        raise InvalidAIAnswer(f"the answer is JSON but not an object: {_preview(content)}")
    found = value.get(field)
    if not isinstance(found, str):
        keys = ", ".join(sorted(map(str, value))) or "none"
        raise InvalidAIAnswer(f'the answer has no "{field}" text (its keys: {keys})')
    return found


def words_of(text: str) -> list[str]:
    """The words of ``text``, lower-cased (letters only)."""
    return _WORD.findall(text.lower())


def language_hits(text: str, ignore: Iterable[str] = ()) -> dict[str, int]:
    """How many of each locale's common words ``text`` holds (``ignore``: words not counted)."""
    skipped = {word for item in ignore for word in words_of(item)}
    counted = [word for word in words_of(text) if word not in skipped]
    return {
        locale: sum(1 for word in counted if word in common)
        for locale, common in COMMON_WORDS.items()
    }


def check_language(text: str, locale: str, ignore: Iterable[str] = ()) -> None:
    """Refuse ``text`` unless it reads as ``locale`` more than as any other locale.

    Words of ``ignore`` (the title, the names) are not counted: a Polish text
    about "The Lord of the Rings" must not read as English.
    """
    hits = language_hits(text, ignore)
    best = max(hits, key=lambda other: hits[other])
    rivals = [other for other in hits if other != locale and hits[other] >= hits[locale]]
    if hits[locale] < 2 or rivals:
        reads_as = f"{LANGUAGES[best]} ({best})" if hits[best] >= 2 else "no language we know"
        raise InvalidAIAnswer(f"the answer reads as {reads_as}, not {LANGUAGES[locale]} ({locale})")


def check_text(text: str, locale: str, prompt: Prompt, ignore: Iterable[str] = ()) -> str:
    """``text`` with its whitespace tidied, if it may be stored; else ``InvalidAIAnswer``."""
    tidy = " ".join(text.split())
    if not tidy:
        raise InvalidAIAnswer("the answer's text is empty")
    if len(tidy) < MIN_CHARS:
        raise InvalidAIAnswer(
            f"the answer is too short: {len(tidy)} characters (at least {MIN_CHARS})"
        )
    if len(tidy) > MAX_CHARS:
        raise InvalidAIAnswer(
            f"the answer is too long: {len(tidy)} characters (at most {MAX_CHARS})"
        )
    if _MARKUP.search(tidy):
        raise InvalidAIAnswer(f"the answer holds markup or code: {_preview(tidy)}")
    check_echo(tidy, prompt)
    check_language(tidy, locale, ignore)
    return tidy


def check_echo(text: str, prompt: Prompt) -> None:
    """Refuse ``text`` if it repeats the prompt's instructions."""
    lowered = text.lower()
    echoed = [
        line
        for line in (*prompt.instructions(), FACTS_OPEN, FACTS_CLOSE)
        if (len(line) >= MIN_ECHO_CHARS or line in (FACTS_OPEN, FACTS_CLOSE))
        and " ".join(line.lower().split()) in lowered
    ]
    if echoed or "security requirements" in lowered:
        shown = echoed[0] if echoed else "SECURITY REQUIREMENTS"
        raise InvalidAIAnswer(f"the answer repeats the instructions: {_preview(shown)}")


def one_line(text: str, limit: int = 160) -> str:
    """``text`` on one line, at most ``limit`` characters (for messages quoting a server)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def fact_names(request: GenerationRequest) -> list[str]:
    """The texts of the facts sent (title, names, places): not counted when judging the
    answer's language, since they keep their own language in any text."""
    names: list[str] = []
    for value in prompt_facts(request.kind, request.slug, request.facts).values():
        names.extend(str(item) for item in (value if isinstance(value, list) else [value]))
    return names


def read_completion(body: Any, prompt: Prompt, request: GenerationRequest) -> str:
    """The checked text of a chat completion ``body`` (OpenAI's shape, which llama.cpp's
    server answers in too); ``InvalidAIAnswer`` naming what was wrong otherwise."""
    choices = body.get("choices") if isinstance(body, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or not isinstance(message, dict):
        raise InvalidAIAnswer("unusable answer: the reply holds no choices[0].message")
    if message.get("refusal"):
        raise InvalidAIAnswer(f"the model refused: {one_line(str(message['refusal']))}")
    if choice.get("finish_reason") == "length":
        raise InvalidAIAnswer("unusable answer: cut off at the server's token limit")
    content = message.get("content")
    if not isinstance(content, str):
        raise InvalidAIAnswer("unusable answer: the reply's message has no text content")
    try:
        text = parse_answer(content, prompt.answer_field)
        return check_text(text, request.locale, prompt, fact_names(request))
    except InvalidAIAnswer as error:
        raise InvalidAIAnswer(f"unusable answer: {error}") from None
