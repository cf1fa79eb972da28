"""fence-counter-reset: after the lock server forgets its fencing counter, the database refuses
every token below the highest it saw (safe, but nobody can write until the counter climbs
back), and the check fails once that guard is taken away."""

from __future__ import annotations

import pytest

from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.lab.teaching import LESSONS, run_lesson
from moviemind_lite.store import redis_locks
from moviemind_lite.store.leases import stale_write
from tests.engines import SERVERS, lab_servers


def test_after_the_reset_every_lower_token_is_refused_then_the_equal_one_writes() -> None:
    report = run_lesson("fence-counter-reset", servers=lab_servers(SERVERS))
    (outcome,) = report.outcomes
    assert report.check.passed, report.check.message
    assert dict(outcome.data) == {"before": 3, "refused": 2, "written_at": 3}


def test_without_the_databases_highest_token_the_check_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def redis_only(self: redis_locks.RedisLeases, tx: object, grant: object) -> None:
        # The fence as Redis alone would keep it: the counter compared, nothing remembered.
        raw = self.client.get(self._keys(grant.name)[1])  # type: ignore[attr-defined]
        current = int(raw) if raw is not None else 0
        if current != grant.fencing_token:  # type: ignore[attr-defined]
            raise stale_write(grant.name, current, grant)  # type: ignore[attr-defined,arg-type]

    servers = lab_servers(SERVERS)
    monkeypatch.setattr(redis_locks.RedisLeases, "check_fence", redis_only)
    report = run_lesson("fence-counter-reset", servers=servers)
    assert not report.check.passed
    assert dict(report.outcomes[0].data) == {"before": 3, "refused": 0, "written_at": 1}


def test_on_lock_files_it_says_it_needs_redis() -> None:
    assert "fence-counter-reset" in LESSONS
    with pytest.raises(InvalidInput, match="fence-counter-reset needs a Redis server"):
        run_lesson("fence-counter-reset", servers=Servers())
