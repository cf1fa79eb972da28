"""Spotting prompt-injection attempts in user text: slugs, titles, names.

A slug or title ends up inside an AI prompt. Text that reads like an
instruction to the model ("ignore previous instructions", "system:", "you are
now ...") is refused before any AI call: the generator that writes prompts
(``ai/openai.py``) fails the job with ``SuspectedInjection``.

The patterns follow the original service's prompt sanitizer, matched on words
(hyphens, underscores and spaces all separate words) so that a slug such as
``ignore-all-previous-instructions-2024`` is caught, after folding look-alike
letters and invisible characters that could hide a word; single words that are
common in real titles ("leak", "reveal", "dump", "expose") are not refused on
their own, unlike in the original.
"""

from __future__ import annotations

import re
import unicodedata

# Each pattern runs over the text with every run of separators turned into one space.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(pattern, re.IGNORECASE))
    for reason, pattern in (
        (
            "asks the model to drop its instructions",
            r"\b(ignore|forget|disregard) (all (of )?(the )?((previous|prior|above|earlier|your) )?"
            r"|(the )?(previous|prior|above|earlier|your) )(instructions?|prompts?|rules?)\b",
        ),
        (
            "asks the model to override or bypass its rules",
            r"\b(override|bypass) (the )?(system|previous|all|safety|rules?)\b"
            r"|\b(system|previous|all) (override|bypass)\b",
        ),
        ("speaks as a chat role", r"(^| )(system|assistant|developer|user|role) ?:"),
        (
            "tries to give the model a new role",
            r"\byou (are|must) now\b|\b(developer|jailbreak|unrestricted|escape|god) mode\b"
            r"|\bjailbreak\b|\bact as (an? )?(system|admin|root)\b",
        ),
        (
            "tries to extract secrets",
            r"\b(return|show|print|reveal|leak|dump) ((all|every|the|your) )?(system "
            r"(prompt|message)|environment|secrets?|((api|access|secret) )?(keys?|tokens?)"
            r"|passwords?|credentials?)\b"
            r"|\bexfiltrat",
        ),
        (
            "asks the model to run code",
            r"\b(execute|run) (a |the )?(command|code|script|shell)\b|\b(eval|exec|system) ?\(",
        ),
        (
            "brings new instructions",
            r"\b(new|different|alternative|updated) instructions?\b"
            r"|\bchange (your |the )?(role|instructions?|prompt)\b",
        ),
    )
)
_SEPARATORS = re.compile(r"[\s\-_]+")


def _readings(text: str) -> tuple[str, ...]:
    """``text`` as a model would read it: look-alike letters folded (NFKC), and invisible
    format characters (zero-width spaces, word joiners) either dropped or read as spaces,
    since either may be how they hide a word."""
    folded = unicodedata.normalize("NFKC", text)
    invisible = {char for char in folded if unicodedata.category(char) == "Cf"}
    if not invisible:
        return (folded,)
    dropped = "".join(char for char in folded if char not in invisible)
    spaced = "".join(" " if char in invisible else char for char in folded)
    return (dropped, spaced)


def injection_reason(text: str) -> str | None:
    """Why ``text`` looks like a prompt-injection attempt, or ``None`` when it does not."""
    for reading in _readings(text):
        words = _SEPARATORS.sub(" ", reading).strip()
        for reason, pattern in _PATTERNS:
            if pattern.search(words):
                return reason
    return None
