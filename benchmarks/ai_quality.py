"""What the configured model can and cannot write: N descriptions across the five locales.

    MOVIEMIND_AI=local .venv/bin/python benchmarks/ai_quality.py [--n 20] [--max-chars 300]

Asks the AI that ``MOVIEMIND_AI`` (and its ``MOVIEMIND_AI_*`` settings) configure for
descriptions of the sample catalog's films, the locales taken in turn, with the very
request the generator sends (prompt, constraint, ``max_tokens``). Each answer is then
put to every check a stored text must pass, one by one, so the table shows how many
answers passed each: JSON (parsed, not cut off), length, echo (no instruction
repeated), language (reads as the locale asked), and all of them
(what the service would store). Below: tokens per second and time per answer.

For the openai and local generators only (the mock writes its templates). Nothing is
stored; the model is loaded before the first answer is timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from moviemind_lite.ai.answers import (
    MAX_CHARS,
    MIN_CHARS,
    check_echo,
    check_language,
    fact_names,
    parse_answer,
    read_completion,
)
from moviemind_lite.ai.base import GenerationRequest
from moviemind_lite.ai.generator import make_generator
from moviemind_lite.ai.openai import OpenAIGenerator, completion_request
from moviemind_lite.ai.prompts import build_prompt
from moviemind_lite.core.config import load_settings
from moviemind_lite.core.domain import LOCALES
from moviemind_lite.core.errors import InvalidAIAnswer

CATALOG = Path(__file__).resolve().parents[1] / "data" / "catalog.json"
CHECKS = ("JSON", "length", "echo", "language", "all")


def films(count: int) -> list[GenerationRequest]:
    """``count`` requests: the catalog's films in turn, each in the next locale."""
    movies = [entry for entry in json.loads(CATALOG.read_text())["movies"]]
    return [
        GenerationRequest(
            "movie",
            movies[index % len(movies)]["slug"],
            LOCALES[index % len(LOCALES)],
            "default",
            {
                name: movies[index % len(movies)].get(name)
                for name in ("title", "year", "director", "genres")
            },
        )
        for index in range(count)
    ]


def passes(request: GenerationRequest, body: Any, generator: OpenAIGenerator) -> dict[str, bool]:
    """Which checks the answer ``body`` passes, each on its own."""
    prompt = build_prompt(request, generator.settings.answer_max_chars)
    choice = (body.get("choices") or [{}])[0]
    content = (choice.get("message") or {}).get("content") or ""
    result = dict.fromkeys(CHECKS, False)
    try:
        text = parse_answer(content, prompt.answer_field)
    except InvalidAIAnswer:
        return result
    result["JSON"] = choice.get("finish_reason") != "length"
    tidy = " ".join(text.split())
    result["length"] = MIN_CHARS <= len(tidy) <= MAX_CHARS
    for name, check in (
        ("echo", lambda: check_echo(tidy, prompt)),
        ("language", lambda: check_language(tidy, request.locale, fact_names(request))),
        ("all", lambda: read_completion(body, prompt, request)),
    ):
        try:
            check()
            result[name] = True
        except InvalidAIAnswer:
            pass
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20, help="answers to ask for (default 20)")
    parser.add_argument("--max-chars", type=int, default=None, help="the text's bound")
    parser.add_argument("--show", action="store_true", help="print every answer")
    options = parser.parse_args()
    settings = load_settings().ai
    if options.max_chars is not None:
        settings = replace(settings, answer_max_chars=options.max_chars)
    generator = make_generator(settings.backend, settings)
    if not isinstance(generator, OpenAIGenerator):
        raise SystemExit("set MOVIEMIND_AI=local or openai: the mock writes its templates")
    console = Console()
    loaded = getattr(generator, "loaded", None)
    if loaded is not None:
        console.print(f"model {generator.model}: loaded in {loaded().load_ms:,.0f} ms")
    requests = films(options.n)
    passed = dict.fromkeys(CHECKS, 0)
    seconds: list[float] = []
    speeds: list[float] = []
    by_locale: dict[str, int] = dict.fromkeys(LOCALES, 0)
    for request in requests:
        prompt = build_prompt(request, settings.answer_max_chars)
        payload = completion_request(prompt, settings, generator.model)
        started = time.perf_counter()
        _, body = generator._complete(payload)
        took = time.perf_counter() - started
        seconds.append(took)
        tokens = (body.get("usage") or {}).get("completion_tokens") or 0
        speeds.append(tokens / took if took > 0 else 0.0)
        result = passes(request, body, generator)
        for name, ok in result.items():
            passed[name] += ok
        by_locale[request.locale] += result["all"]
        if options.show:
            content = body["choices"][0]["message"]["content"]
            passed_now = sorted(name for name, ok in result.items() if ok)
            console.print(f"[{request.locale}] {passed_now}", markup=False)
            console.print(content, markup=False, highlight=False)
    table = Table(
        title=f"{generator.model} ({settings.answer_constraint}, at most "
        f"{settings.answer_max_chars} characters): {len(requests)} answers"
    )
    for name in (*CHECKS, "tokens/s (median)", "s per answer (median, max)"):
        table.add_column(name, justify="right")
    table.add_row(
        *(f"{passed[name]}/{len(requests)}" for name in CHECKS),
        f"{statistics.median(speeds):.1f}",
        f"{statistics.median(seconds):.2f}, {max(seconds):.2f}",
    )
    console.print(table)
    console.print(
        "passed all checks, by locale: "
        + ", ".join(f"{locale} {count}" for locale, count in by_locale.items())
    )


if __name__ == "__main__":
    main()
