"""The offline mock generator: real sentences in five locales, latency, failures and faults."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable

from moviemind_lite.ai.base import KILLED, PAUSED, Answer, GenerationRequest, guess_facts
from moviemind_lite.ai.mock_text import compose_movie_description, compose_person_bio
from moviemind_lite.core.calls import AICall
from moviemind_lite.core.config import AISettings
from moviemind_lite.core.errors import TransientAIError
from moviemind_lite.core.events import Events


class MockGenerator:
    """Offline generator: real sentences in five locales, with latency and failures.

    Text is deterministic for a seed and request. Latency is ``latency_ms``
    plus a uniform jitter of up to ``jitter_ms``; a call fails with
    probability ``fail_rate`` after waiting, as a slow upstream would.

    ``holder_fault`` (the lab's ``--pause-holder``, ``--stop-holder`` and ``--kill-holder``)
    strikes the first call of any process on the home to finish (the
    ``holder_marker`` file is created exclusively to decide which): it then
    stalls for ``holder_pause_ms``, stops its own process (``SIGSTOP``: the
    lab's process driver resumes it ``holder_pause_ms`` later), or kills it,
    before the text reaches the job, as a holder frozen or crashed before its
    write. The struck job's ``paused`` or ``killed`` phase is announced on
    ``events`` (the app's event sink).
    """

    def __init__(
        self,
        settings: AISettings,
        sleep: Callable[[float], None] = time.sleep,
        events: Events | None = None,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self.events = events if events is not None else Events()
        self._random = random.Random(f"{settings.seed}:{os.getpid()}")
        self._random_lock = threading.Lock()

    @property
    def model(self) -> str:
        """The model name stored with each text."""
        return self.settings.model

    def generate(self, request: GenerationRequest) -> Answer:
        """Wait like a remote model, maybe fail, then compose the text."""
        started = time.perf_counter()
        with self._random_lock:
            jitter = self._random.uniform(0, self.settings.jitter_ms)
            fails = self._random.random() < self.settings.fail_rate
        delay_ms = self.settings.latency_ms + jitter
        if delay_ms > 0:
            self._sleep(delay_ms / 1000)
        if fails:
            rate = self.settings.fail_rate
            raise TransientAIError(
                f"mock AI failed for {request.key} (fail rate {rate:g})"
            ).with_call(self._call(request, ok=False, started=started))
        answer = Answer(self.compose(request), self._call(request, ok=True, started=started))
        if self.settings.holder_fault != "none" and self._first_to_finish():
            self._strike(request)
        return answer

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
            self.events.phase(job_id, KILLED)
            os.kill(os.getpid(), signal.SIGKILL)  # nothing runs after this line
        self.events.phase(job_id, PAUSED)
        if self.settings.holder_fault == "stop":
            # The whole process freezes, its heartbeats too, as in a long GC pause or
            # a VM migration; whoever reads the announcement sends SIGCONT later. A
            # stop sent to the own process may land a moment late (another thread
            # takes it): until the pause's end this thread waits, so that it never
            # writes early, and once continued it does not wait again.
            until = time.monotonic() + self.settings.holder_pause_ms / 1000
            os.kill(os.getpid(), signal.SIGSTOP)
            self._sleep(max(0.0, until - time.monotonic()))
            return
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

    def _call(self, request: GenerationRequest, *, ok: bool, started: float) -> AICall:
        return AICall(request.key, ok, (time.perf_counter() - started) * 1000)
