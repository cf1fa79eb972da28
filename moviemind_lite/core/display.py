"""How stored and user-given text is shown on a terminal: as data, never as control.

Titles, names, texts, job errors and log lines come from catalog files, AI
answers and command lines that anyone may have written. A terminal obeys the
control characters in what it prints (ESC starts a sequence that can retitle
the window, clear the screen or hide text; BEL rings; CR and backspace
overwrite what came before), and a bidirectional override reorders the
characters after it. :func:`visible` is the one rule both front ends apply
before any such text reaches the screen: every control character is spelled
out the way Python writes it in a string literal (``ESC`` becomes ``\\x1b``,
``CR`` becomes ``\\r``, ``U+202E`` becomes ``\\u202e``), so it is seen, not
obeyed. Markup is the other half of the rule and belongs to the front ends:
they hand this text to rich and Textual as plain ``Text``, never as markup.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls, DEL, C1 controls, and the bidirectional embeddings, overrides and
# isolates (the characters of "Trojan Source" text). Tab and newline are kept
# only where the text may span lines (a description, a bio).
_BIDI = "\u202a-\u202e\u2066-\u2069"
_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _spelled(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character spelled out (``\\x1b``, ``\\r``, ``\\u202e``).

    With ``lines``, newlines and tabs are kept (a description's paragraphs);
    without, the result is always one line.
    """
    return (_LINES if lines else _ONE_LINE).sub(_spelled, text)


# What json.dumps leaves raw with ensure_ascii=False; C0 controls it escapes itself.
_JSON_RAW = re.compile(f"[\x7f-\x9f{_BIDI}]")


def visible_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON, non-ASCII text readable, every control character ``\\u``-escaped.

    The escapes are JSON's own, so a reader gets back exactly the stored
    text; a terminal showing the output obeys none of it.
    """
    dumped = json.dumps(value, indent=indent, ensure_ascii=False)
    return _JSON_RAW.sub(lambda match: f"\\u{ord(match.group()):04x}", dumped)
