"""The generator seam: what a generator is asked, and what every generator promises.

Every generator takes a :class:`GenerationRequest` and returns an
:class:`Answer` (the text, and the call it cost), raising
:class:`~moviemind_lite.core.errors.TransientAIError` when a retry may help.
A generator writes nothing: the job that asked records the call (carried by
the answer, or by the error) with the job's own writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from moviemind_lite.ai.mock_text import guess_movie_facts, guess_person_facts
from moviemind_lite.core.calls import AICall
from moviemind_lite.core.domain import KindName
from moviemind_lite.core.events import Phase


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
        """The call key the call record counts calls under."""
        return f"{self.kind}:{self.slug}:{self.locale}:{self.context_tag}"


@dataclass(frozen=True)
class Answer:
    """A generated text and the call that paid for it."""

    text: str
    call: AICall


def guess_facts(kind: KindName, slug: str) -> dict[str, Any]:
    """Plausible facts for a slug the catalog does not know."""
    return guess_movie_facts(slug) if kind == "movie" else guess_person_facts(slug)


# The phases a holder struck by the mock's fault enters (the lab's timeline shows them).
PAUSED = Phase.PAUSED
KILLED = Phase.KILLED


class Generator(Protocol):
    """Writes a description or bio; the one seam for every AI backend."""

    @property
    def model(self) -> str:
        """The model name stored with each generated text."""
        ...

    def generate(self, request: GenerationRequest) -> Answer:
        """The text for ``request`` and its call; ``TransientAIError`` when a retry may help.

        An error raised after the call reached the AI carries that call.
        """
        ...
