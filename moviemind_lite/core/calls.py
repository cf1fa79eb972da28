"""What one AI call costs, as the job that made it records it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AICall:
    """One call to the AI as it is recorded: paid for whether or not it worked.

    Generators report their calls (with the answer, or on the error they
    raise); the job that made the call records its start (``record_id``, the
    row written before the call) and closes it in the transaction that ends
    or sends back the job, so a call cut short by a crash is still counted.
    """

    key: str
    ok: bool
    duration_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    record_id: int | None = None
