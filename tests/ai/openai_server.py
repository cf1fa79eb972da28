"""An OpenAI-compatible server on 127.0.0.1 for the tests, scriptable per test (stdlib only).

It serves ``POST /v1/chat/completions`` and ``GET /v1/models``, keeps every
request it received (method, path, headers, JSON body, client port), and
answers chat completions from a script of :class:`Reply` objects, then from
its default. The default is a small deterministic "model" that reads the
prompt as a model would (the language named in the system prompt, the style
and the catalog facts in the user prompt) and writes with the offline mock's
composer, so answers are real sentences in the asked language about the facts
sent. A reply may ``hold`` until the test releases it: a slow server without
a sleep.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moviemind_lite.ai.mock_text import compose_movie_description, compose_person_bio
from moviemind_lite.ai.prompts import FACTS_CLOSE, FACTS_OPEN

MODELS = ("gpt-4o-mini", "llama3.2:latest")


@dataclass
class Reply:
    """One scripted answer: status, JSON (or raw) body, headers, and an optional hold."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None

    @classmethod
    def json(cls, status: int, payload: Any, **headers: str) -> Reply:
        return cls(status, json.dumps(payload).encode(), headers)

    @classmethod
    def content(
        cls,
        content: str | None,
        *,
        prompt_tokens: int | None = 120,
        completion_tokens: int | None = 80,
        finish_reason: str = "stop",
        refusal: str | None = None,
    ) -> Reply:
        """A chat completion whose message content is ``content``."""
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
        return cls.json(
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": "test",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": refusal},
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": {name: value for name, value in usage.items() if value is not None},
            },
        )

    @classmethod
    def answer(cls, text: str, field_name: str = "description", **usage: int) -> Reply:
        """A chat completion answering ``{field_name: text}`` as the schema asks."""
        return cls.content(json.dumps({field_name: text}, ensure_ascii=False), **usage)  # type: ignore[arg-type]

    @classmethod
    def error(cls, status: int, message: str, code: str | None = None, **headers: str) -> Reply:
        """An error in OpenAI's shape."""
        payload = {"error": {"message": message, "type": "test_error", "code": code}}
        return cls.json(status, payload, **headers)


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int


def read_prompt(body: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """The kind, locale, style and catalog facts a request's prompts carry."""
    system, user = (message["content"] for message in body["messages"])
    locale = re.search(r"\((pl-PL|en-US|de-DE|fr-FR|es-ES)\)", system)
    style = re.search(r"; style: ([\w-]+);", user)
    assert locale and style, "the prompts name no language or no style"
    facts = json.loads(user.split(FACTS_OPEN)[1].split(FACTS_CLOSE)[0])
    kind = "person" if "biography of the person" in user else "movie"
    return kind, locale.group(1), style.group(1), facts


def deterministic_model(body: dict[str, Any]) -> Reply:
    """A text about the facts sent, in the language and style asked for."""
    kind, locale, style, facts = read_prompt(body)
    if kind == "movie":
        text = compose_movie_description(
            title=facts["title"],
            year=facts.get("year"),
            director=facts.get("director"),
            genres=facts.get("genres", []),
            locale=locale,
            context_tag=style,
            seed=0,
        )
        field_name = "description"
    else:
        text = compose_person_bio(
            name=facts["name"],
            birth_date=facts.get("birth_date"),
            birthplace=facts.get("birthplace"),
            locale=locale,
            context_tag=style,
            seed=0,
        )
        field_name = "biography"
    prompt_words = sum(len(message["content"].split()) for message in body["messages"])
    return Reply.answer(
        text, field_name, prompt_tokens=prompt_words, completion_tokens=len(text.split())
    )


class FakeOpenAI:
    """The server; ``url`` is its base URL (``http://127.0.0.1:PORT/v1``)."""

    def __init__(self, models: tuple[str, ...] = MODELS) -> None:
        self.models: list[str] = list(models)
        self.models_reply: Reply | None = None
        self.received: list[Received] = []
        self.default: Callable[[dict[str, Any]], Reply] = deterministic_model
        self._script: deque[Reply] = deque()
        self._holds: list[threading.Event] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL a client is configured with."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        """Answer the next chat completions with ``replies``, in order."""
        with self._lock:
            self._script.extend(replies)
            self._holds.extend(reply.hold for reply in replies if reply.hold is not None)

    def hold(self) -> threading.Event:
        """An event for a reply to wait on: set by the test, or at the latest by :meth:`close`."""
        event = threading.Event()
        with self._lock:
            self._holds.append(event)
        return event

    def always(self, reply: Reply) -> None:
        """Answer every chat completion not scripted with ``reply``."""
        self.default = lambda body: reply

    def completions(self) -> list[Received]:
        """The chat completion requests received so far."""
        with self._lock:
            return [r for r in self.received if r.path == "/v1/chat/completions"]

    def wait_for(self, count: int, timeout_s: float = 30.0) -> None:
        """Block until ``count`` requests have arrived (fails the test after ``timeout_s``)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout_s):
                raise AssertionError(f"only {len(self.received)} of {count} requests arrived")

    def close(self) -> None:
        """Release every held reply, then stop serving."""
        with self._lock:
            holds = list(self._holds)
        for hold in holds:
            hold.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _next(self, body: Any) -> Reply:
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        return scripted if scripted is not None else self.default(body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
            # Headers and body leave in one write: no Nagle delay between them.
            wbufsize = 1 << 16

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _receive(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                with server._arrived:
                    server.received.append(
                        Received(
                            self.command,
                            self.path,
                            {name.lower(): value for name, value in self.headers.items()},
                            body,
                            self.client_address[1],
                        )
                    )
                    server._arrived.notify_all()
                return body

            def _send(self, reply: Reply) -> None:
                if reply.hold is not None:
                    reply.hold.wait(timeout=60)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    for name, value in reply.headers.items():
                        self.send_header(name.replace("_", "-"), value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def do_POST(self) -> None:
                body = self._receive()
                if self.path == "/v1/chat/completions":
                    self._send(server._next(body))
                else:
                    self._send(Reply.error(404, f"no route {self.path}"))

            def do_GET(self) -> None:
                self._receive()
                if self.path == "/v1/models":
                    data = [{"id": model, "object": "model"} for model in server.models]
                    self._send(
                        server.models_reply or Reply.json(200, {"object": "list", "data": data})
                    )
                else:
                    self._send(Reply.error(404, f"no route {self.path}"))

        return Handler
