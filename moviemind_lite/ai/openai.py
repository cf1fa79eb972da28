"""A generator for any server speaking OpenAI's chat completions API.

OpenAI itself, and on the user's own machine Ollama, a llama.cpp server, vLLM
or LM Studio all answer ``POST {base_url}/chat/completions``; the module is
named after the API (and the ``MOVIEMIND_AI=openai`` setting), not the SDK,
which it does not use: one urllib3 connection pool per generator, shared by
every thread, keeps connections alive between calls. (urllib3 rather than
httpx: importing httpx also imports its command-line client, and with it
click, rich and pygments when they are installed (encode/httpx#3547), which
the core must not load.)

Each call sends the prompts of :mod:`moviemind_lite.ai.prompts` with a JSON
schema as ``response_format`` and reads the answer with
:mod:`moviemind_lite.ai.answers`. What can go wrong maps onto what the job
runner and the circuit breaker already know::

    slug or catalog text reads like instructions  SuspectedInjection  refused before any call
    timeout, unreachable, 5xx (and 408)           AIUnavailable       retried; counts for breaker
                                                  (AINoAnswer: no answer at all)
    429                                           AIRateLimited       retried after Retry-After
    an answer that cannot be stored               InvalidAIAnswer     retried; breaker ignores it
    401, 403, 404, other 4xx, redirects           AIRequestRefused    the job fails at once

Every call that reached the server is reported (with the answer, or on the
error) with its duration and the tokens the server reported, for the job to
record. The API key goes into one header and nowhere
else: server messages quoted in errors have it blotted out.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as HTTPTimeout

from moviemind_lite import __version__
from moviemind_lite.ai.answers import check_text, parse_answer
from moviemind_lite.ai.base import Answer, GenerationRequest
from moviemind_lite.ai.prompts import (
    Prompt,
    build_prompt,
    prompt_facts,
    refuse_suspected_injection,
)
from moviemind_lite.core.calls import AICall
from moviemind_lite.core.config import AISettings
from moviemind_lite.core.errors import (
    AIError,
    AINoAnswer,
    AIRateLimited,
    AIRequestRefused,
    AIUnavailable,
    InvalidAIAnswer,
    TransientAIError,
)

log = logging.getLogger("moviemind.ai")

TEMPERATURE = 0.7
# A server asking for more than a day is not asking for a retry.
MAX_RETRY_AFTER_MS = 86_400_000.0


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """How long a 429 asks us to wait, in ms: ``retry-after-ms``, else ``Retry-After``
    (seconds, or an HTTP date); ``None`` when neither says anything usable."""
    raw_ms = headers.get("retry-after-ms")
    try:
        if raw_ms is not None and float(raw_ms) >= 0:
            return min(float(raw_ms), MAX_RETRY_AFTER_MS)
    except ValueError:
        pass
    raw = (headers.get("retry-after") or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0) * 1000, MAX_RETRY_AFTER_MS)


@dataclass(frozen=True)
class Usage:
    """Tokens one answer used, as its server reported them (``None``: not reported)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @classmethod
    def of(cls, body: object) -> Usage:
        """The ``usage`` of a chat completion body, whatever shape it came in."""
        usage = body.get("usage") if isinstance(body, dict) else None
        if not isinstance(usage, dict):
            return cls()

        def count(name: str) -> int | None:
            value = usage.get(name)
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            return value if ok else None

        return cls(count("prompt_tokens"), count("completion_tokens"))


class OpenAIGenerator:
    """Writes texts with a model behind an OpenAI-compatible HTTP API."""

    def __init__(self, settings: AISettings) -> None:
        self.settings = settings
        self._client: urllib3.PoolManager | None = None
        self._client_lock = threading.Lock()

    @property
    def model(self) -> str:
        """The model asked for, stored with each text."""
        return self.settings.model

    @property
    def base_url(self) -> str:
        """The API's base URL, without a trailing slash."""
        return self.settings.base_url.rstrip("/")

    def client(self) -> urllib3.PoolManager:
        """The one connection pool of this generator, built on first use.

        A ``PoolManager`` is shared between threads; it never retries and
        never follows a redirect (a redirect means a wrong base URL).
        """
        with self._client_lock:
            if self._client is None:
                headers = {
                    "User-Agent": f"moviemind-lite/{__version__}",
                    "Content-Type": "application/json",
                }
                if self.settings.api_key is not None:
                    headers["Authorization"] = f"Bearer {self.settings.api_key.reveal()}"
                timeout = self.settings.timeout_s
                self._client = urllib3.PoolManager(
                    headers=headers,
                    timeout=urllib3.Timeout(connect=timeout, read=timeout),
                    retries=False,
                )
            return self._client

    def close(self) -> None:
        """Close the pool's connections (a later call opens new ones)."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.clear()

    # -- writing a text ---------------------------------------------------------------

    def generate(self, request: GenerationRequest) -> Answer:
        """Ask the model for the text of ``request``; see the module docstring for failures."""
        refuse_suspected_injection(request.kind, request.slug, request.facts)
        prompt = build_prompt(request)
        payload = {
            "model": self.model,
            "messages": prompt.messages(),
            "response_format": {"type": "json_schema", "json_schema": prompt.schema},
            "temperature": TEMPERATURE,
        }
        started = time.perf_counter()
        usage, status = Usage(), None
        try:
            response = self._send("POST", "chat/completions", payload)
            status = response.status
            body = self._json(response)
            usage = Usage.of(body)
            text = self._text(body, prompt, request)
        except TransientAIError as error:
            call = self._ended(request, started, usage, status, error)
            retry = type(error)(f"{request.key}: {error}", error.retry_after_ms)
            raise retry.with_call(call) from error
        except AIError as error:
            raise error.with_call(self._ended(request, started, usage, status, error)) from None
        return Answer(text, self._ended(request, started, usage, status, None))

    def _text(self, body: Any, prompt: Prompt, request: GenerationRequest) -> str:
        choices = body.get("choices") if isinstance(body, dict) else None
        choice = choices[0] if isinstance(choices, list) and choices else None
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(choice, dict) or not isinstance(message, dict):
            raise InvalidAIAnswer("unusable answer: the reply holds no choices[0].message")
        if message.get("refusal"):
            raise InvalidAIAnswer(f"the model refused: {_one_line(str(message['refusal']))}")
        if choice.get("finish_reason") == "length":
            raise InvalidAIAnswer("unusable answer: cut off at the server's token limit")
        content = message.get("content")
        if not isinstance(content, str):
            raise InvalidAIAnswer("unusable answer: the reply's message has no text content")
        try:
            text = parse_answer(content, prompt.answer_field)
            return check_text(text, request.locale, prompt, _names(request))
        except InvalidAIAnswer as error:
            raise InvalidAIAnswer(f"unusable answer: {error}") from None

    # -- the model list (``moviemind ai check``) ----------------------------------------

    def list_models(self) -> list[str]:
        """The ids of the models the server offers (``GET {base_url}/models``)."""
        response = self._send("GET", "models")
        body = self._json(response)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise InvalidAIAnswer(f"{self.base_url}/models did not answer with a model list")
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]

    # -- HTTP ---------------------------------------------------------------------------

    def _send(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> urllib3.BaseHTTPResponse:
        url = f"{self.base_url}/{path}"
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        try:
            response = self.client().request(method, url, body=body, redirect=False, retries=False)
        except HTTPError as error:
            reason = error.reason if isinstance(error, MaxRetryError) else error
            # A refused connection is a NewConnectionError, which urllib3 also
            # files under its timeouts: it is not one.
            if isinstance(reason, HTTPTimeout) and not isinstance(reason, NewConnectionError):
                raise AINoAnswer(
                    f"the AI server at {self.base_url} did not answer within "
                    f"{self.settings.timeout_s:g} s (MOVIEMIND_AI_TIMEOUT_S)"
                ) from error
            raise self._unreachable(error) from error
        if response.status >= 300:
            self._refuse(response, url, path)
        return response

    def _unreachable(self, error: Exception) -> AINoAnswer:
        reason = getattr(error, "reason", None) or error
        return AINoAnswer(
            f"cannot reach the AI server at {self.base_url}: "
            f"{self._scrub(_one_line(str(reason))) or type(error).__name__} "
            "(is it running? check MOVIEMIND_AI_BASE_URL)"
        )

    def _refuse(self, response: urllib3.BaseHTTPResponse, url: str, path: str) -> NoReturn:
        status = response.status
        detail = self._server_message(response)
        said = f": {detail}" if detail else ""
        if status == 429:
            wait_ms = parse_retry_after(response.headers)
            later = f"; retrying after {wait_ms / 1000:g} s" if wait_ms is not None else ""
            raise AIRateLimited(f"the AI server is rate limiting (429){said}{later}", wait_ms)
        if status >= 500 or status == 408:
            raise AIUnavailable(f"the AI server failed ({status}){said}")
        if status == 401:
            if self.settings.api_key is None:
                raise AIRequestRefused(
                    "the AI server wants an API key (401): set MOVIEMIND_AI_API_KEY"
                )
            raise AIRequestRefused(
                "the AI server refused the API key (401): check MOVIEMIND_AI_API_KEY"
            )
        if status == 403:
            raise AIRequestRefused(
                f"the AI server forbids this key the request (403){said}: check "
                "MOVIEMIND_AI_API_KEY and MOVIEMIND_AI_MODEL"
            )
        if status == 404 and path == "chat/completions" and _names_a_model(response, detail):
            raise AIRequestRefused(
                f"the AI server does not know the model {self.model!r} (404): check "
                "MOVIEMIND_AI_MODEL ('moviemind ai check' tells whether the server lists it)"
            )
        if status == 404:
            raise AIRequestRefused(
                f"the AI server has nothing at {url} (404): check MOVIEMIND_AI_BASE_URL "
                "(it usually ends in /v1)"
            )
        if status < 400:
            raise AIRequestRefused(
                f"the AI server redirects {url} ({status}): check MOVIEMIND_AI_BASE_URL"
            )
        raise AIRequestRefused(
            f"the AI server refused the request ({status}){said}: check MOVIEMIND_AI_MODEL "
            "and MOVIEMIND_AI_BASE_URL"
        )

    def _json(self, response: urllib3.BaseHTTPResponse) -> Any:
        try:
            return _decoded(response)
        except ValueError:
            raise InvalidAIAnswer(
                f"the AI server's reply is not JSON: {self._scrub(_one_line(_text(response)))!r}"
            ) from None

    def _server_message(self, response: urllib3.BaseHTTPResponse) -> str:
        """The server's own words about an error, on one short line, the key blotted out."""
        try:
            body = _decoded(response)
        except ValueError:
            body = _text(response)
        if isinstance(body, dict):
            inner = body.get("error", body.get("detail", body.get("message")))
            if isinstance(inner, dict):
                inner = inner.get("message", inner)
            body = inner
        text = body if isinstance(body, str) else json.dumps(body) if body else ""
        return self._scrub(_one_line(text))

    def _scrub(self, text: str) -> str:
        key = self.settings.api_key.reveal() if self.settings.api_key else None
        return text.replace(key, "***") if key else text

    # -- the call -------------------------------------------------------------------------

    def _ended(
        self,
        request: GenerationRequest,
        started: float,
        usage: Usage,
        status: int | None,
        error: AIError | None,
    ) -> AICall:
        """The call, as the job will record it; logged here with what the server said."""
        duration_ms = (time.perf_counter() - started) * 1000
        fields = {
            "job_id": request.job_id,
            "key": request.key,
            "model": self.model,
            "base_url": self.base_url,
            "status": status,
            "duration_ms": round(duration_ms, 1),
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
        }
        if error is None:
            log.info("AI call", extra={"fields": fields})
        else:
            fields |= {"error": str(error), "error_type": type(error).__name__}
            log.warning("AI call failed", extra={"fields": fields})
        return AICall(
            request.key, error is None, duration_ms, usage.prompt_tokens, usage.completion_tokens
        )


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _text(response: urllib3.BaseHTTPResponse) -> str:
    return response.data.decode("utf-8", errors="replace")


def _decoded(response: urllib3.BaseHTTPResponse) -> Any:
    """The response's body as JSON; ``ValueError`` when it is not JSON."""
    return json.loads(_text(response))


def _names_a_model(response: urllib3.BaseHTTPResponse, detail: str) -> bool:
    """Whether a 404 is about the model (OpenAI: code ``model_not_found``; Ollama: its
    message) rather than about the URL."""
    try:
        body = _decoded(response)
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code == "model_not_found" or "model" in detail.lower()


def _names(request: GenerationRequest) -> list[str]:
    """The texts of the facts sent (title, names, places): not counted when judging the
    answer's language, since they keep their own language in any text."""
    names: list[str] = []
    for value in prompt_facts(request.kind, request.slug, request.facts).values():
        names.extend(str(item) for item in (value if isinstance(value, list) else [value]))
    return names
