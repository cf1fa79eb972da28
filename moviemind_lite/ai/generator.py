"""AI generators: one Protocol, a name registry, and the offline mock.

Every generator takes a :class:`GenerationRequest` and returns text, raising
:class:`~moviemind_lite.core.errors.TransientAIError` when a retry may help. Calls
are written to a :class:`CallRecord` so the lab can count them across threads
and processes. ``MOVIEMIND_AI`` picks one from :data:`GENERATORS`: the offline
mock (the default) or :class:`~moviemind_lite.ai.openai.OpenAIGenerator`, for
any server speaking OpenAI's chat completions API.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from moviemind_lite.ai.mock_text import (
    compose_movie_description,
    compose_person_bio,
    guess_movie_facts,
    guess_person_facts,
)
from moviemind_lite.ai.openai import OpenAIGenerator
from moviemind_lite.core.config import AISettings
from moviemind_lite.core.domain import KindName
from moviemind_lite.core.errors import InvalidInput, TransientAIError
from moviemind_lite.core.logs import announce_phase
from moviemind_lite.store.calls import CallRecord


@dataclass(frozen=True)
class GenerationRequest:
    """What to write about: an entity's facts in one locale and context."""

    kind: KindName
    slug: str
    locale: str
    context_tag: str
    facts: Mapping[str, Any]
    # The job asking, for the log and the lab's timeline (None outside a job).
    job_id: str | None = None

    @property
    def key(self) -> str:
        """The call key counted by :class:`CallRecord`."""
        return f"{self.kind}:{self.slug}:{self.locale}:{self.context_tag}"


def guess_facts(kind: KindName, slug: str) -> dict[str, Any]:
    """Plausible facts for a slug the catalog does not know."""
    return guess_movie_facts(slug) if kind == "movie" else guess_person_facts(slug)


# The phases a holder struck by the mock's fault enters (the lab's timeline shows them).
PAUSED = "paused"
KILLED = "killed"


class Generator(Protocol):
    """Writes a description or bio; the one seam for every AI backend."""

    @property
    def model(self) -> str:
        """The model name stored with each generated text."""
        ...

    def generate(self, request: GenerationRequest) -> str:
        """The text for ``request``; raises ``TransientAIError`` on a retryable failure."""
        ...


class MockGenerator:
    """Offline generator: real sentences in five locales, with latency and failures.

    Text is deterministic for a seed and request. Latency is ``latency_ms``
    plus a uniform jitter of up to ``jitter_ms``; a call fails with
    probability ``fail_rate`` after waiting, as a slow upstream would.

    ``holder_fault`` (the lab's ``--pause-holder`` and ``--kill-holder``)
    strikes the first call of any process on the home to finish (the
    ``holder_marker`` file is created exclusively to decide which): it then
    stalls for ``holder_pause_ms``, or kills its own process, before the
    text reaches the job, as a holder frozen or crashed before its write.
    """

    def __init__(
        self,
        settings: AISettings,
        record: CallRecord | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.record = record
        self._sleep = sleep
        self._random = random.Random(f"{settings.seed}:{os.getpid()}")
        self._random_lock = threading.Lock()

    @property
    def model(self) -> str:
        """The model name stored with each text."""
        return self.settings.model

    def generate(self, request: GenerationRequest) -> str:
        """Wait like a remote model, maybe fail, then compose the text."""
        started = time.perf_counter()
        with self._random_lock:
            jitter = self._random.uniform(0, self.settings.jitter_ms)
            fails = self._random.random() < self.settings.fail_rate
        delay_ms = self.settings.latency_ms + jitter
        if delay_ms > 0:
            self._sleep(delay_ms / 1000)
        if fails:
            self._record(request, ok=False, started=started)
            rate = self.settings.fail_rate
            raise TransientAIError(f"mock AI failed for {request.key} (fail rate {rate:g})")
        text = self.compose(request)
        self._record(request, ok=True, started=started)
        if self.settings.holder_fault != "none" and self._first_to_finish():
            self._strike(request)
        return text

    def _first_to_finish(self) -> bool:
        marker = self.settings.holder_marker
        if marker is None:
            return False
        # Creating a file exclusively is atomic across threads and processes.
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def _strike(self, request: GenerationRequest) -> None:
        job_id = request.job_id or request.key
        if self.settings.holder_fault == "kill":
            announce_phase(job_id, KILLED)
            os.kill(os.getpid(), signal.SIGKILL)  # nothing runs after this line
        announce_phase(job_id, PAUSED)
        self._sleep(self.settings.holder_pause_ms / 1000)

    def compose(self, request: GenerationRequest) -> str:
        """The text for ``request`` without waiting, failing or recording."""
        facts = {**guess_facts(request.kind, request.slug), **dict(request.facts)}
        if request.kind == "movie":
            return compose_movie_description(
                title=str(facts["title"]),
                year=facts.get("year"),
                director=facts.get("director"),
                genres=list(facts.get("genres") or []),
                locale=request.locale,
                context_tag=request.context_tag,
                seed=self.settings.seed,
            )
        return compose_person_bio(
            name=str(facts["name"]),
            birth_date=facts.get("birth_date"),
            birthplace=facts.get("birthplace"),
            locale=request.locale,
            context_tag=request.context_tag,
            seed=self.settings.seed,
        )

    def _record(self, request: GenerationRequest, *, ok: bool, started: float) -> None:
        if self.record is not None:
            self.record.record(
                request.key, ok=ok, duration_ms=(time.perf_counter() - started) * 1000
            )


GeneratorFactory = Callable[[AISettings, CallRecord | None], Generator]

GENERATORS: dict[str, GeneratorFactory] = {"mock": MockGenerator, "openai": OpenAIGenerator}


def make_generator(name: str, settings: AISettings, record: CallRecord | None = None) -> Generator:
    """The generator registered as ``name``; unknown names list the known ones."""
    try:
        factory = GENERATORS[name]
    except KeyError:
        raise InvalidInput(
            f"unknown generator {name!r}; expected one of: {', '.join(sorted(GENERATORS))}"
        ) from None
    return factory(settings, record)
