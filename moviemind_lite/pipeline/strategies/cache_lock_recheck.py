"""``cache-lock-recheck``: the shipped lock, fixed by looking again after acquiring it."""

from __future__ import annotations

from moviemind_lite.core.model import JobOutcome
from moviemind_lite.pipeline.body import JobBody
from moviemind_lite.pipeline.strategies.cache_lock import KeyLockGuard


class CacheLockRecheck(KeyLockGuard):
    """Correct, but every waiter queues behind the one AI call (and may time out there)."""

    name = "cache-lock-recheck"

    def execute(self, body: JobBody) -> JobOutcome:
        """The whole body, look-up included, under the key's lock."""
        with self.locked(body):
            return body.run_checked()
