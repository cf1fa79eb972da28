"""``none``: no protection at all. Check, generate, insert; a clash fails the job."""

from __future__ import annotations

from moviemind_lite.core.model import JobOutcome
from moviemind_lite.pipeline.body import JobBody
from moviemind_lite.pipeline.strategies.base import NewJobPerRequest


class NoGuard(NewJobPerRequest):
    """Every request is a job and every job runs unguarded; the UNIQUE index says no."""

    name = "none"

    def execute(self, body: JobBody) -> JobOutcome:
        """Look up, generate, insert; a unique violation becomes a failed job."""
        return body.run_checked(on_duplicate="fail")
