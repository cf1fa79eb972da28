"""``unique-index``: no lock; the UNIQUE index decides (seed 001's recommendation).

A clash at persist (SQLite extended code 2067, SQLSTATE 23505 on PostgreSQL)
ends the job on the row another job wrote first. Correct, but every racer has
already paid for its AI call by then.
"""

from __future__ import annotations

from moviemind_lite.core.model import JobOutcome
from moviemind_lite.pipeline.body import JobBody
from moviemind_lite.pipeline.strategies.base import NewJobPerRequest


class UniqueIndex(NewJobPerRequest):
    """Every request is a job; a unique violation ends it as ``reused_existing``."""

    name = "unique-index"

    def execute(self, body: JobBody) -> JobOutcome:
        """Look up, generate, persist; a clash reuses the existing rows."""
        return body.run_checked(on_duplicate="reuse")
