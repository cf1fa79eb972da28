"""The limits' own rules, below HTTP: a shrunk limit never turns into "no limit", a refused or
joined job's payment comes back whole, the queue is read at most once a second."""

from __future__ import annotations

import pytest

from moviemind_lite.app.limits import GenerationBudget, RequestLimits
from moviemind_lite.app.wiring import App
from moviemind_lite.core.clock import FakeClock
from moviemind_lite.core.config import LimitSettings
from moviemind_lite.core.errors import BudgetSpent
from moviemind_lite.core.model import JobRequest
from moviemind_lite.store.rate_limits import used

T0 = 1_800_000_000_000.0
HOUR = 3_600_000.0
CLIENT_BUCKET = "budget:client:c"


def budget(app: App, **limits: int) -> GenerationBudget:
    return GenerationBudget(LimitSettings(**limits), app.limits.buckets, app.database, app.clock)


def test_a_limit_shrunk_by_a_full_queue_still_lets_one_through_not_all(app: App) -> None:
    limits = RequestLimits(
        LimitSettings(generate_per_minute=2, max_pending_jobs=4),
        app.limits.buckets,
        app.database,
        app.clock,
    )
    # A quarter of 2 is 0, which would mean "not limited": the limit stays at 1.
    assert limits.limit("generate", pending=4) == 1
    assert limits.take("generate", "c", at_ms=T0, pending=4) is not None


def test_a_service_budget_refusal_gives_the_clients_payment_back(app: App) -> None:
    paying = budget(app, client_jobs_per_hour=5, service_jobs_per_hour=1)
    paying.reserve("c", T0)
    with pytest.raises(BudgetSpent) as refused:
        paying.reserve("c", T0)
    assert refused.value.reason == "service_budget"
    assert app.limits.buckets.used(CLIENT_BUCKET, 5, HOUR, T0) == 1


def test_a_refund_gives_back_both_the_clients_and_the_services_payment(app: App) -> None:
    paying = budget(app, client_jobs_per_hour=5, service_jobs_per_hour=10)
    paying.reserve("c", T0)
    paying.reserve("c", T0)
    paying.refund("c", T0)
    assert app.limits.buckets.used(CLIENT_BUCKET, 5, HOUR, T0) == 1
    assert paying.usage(T0).service_used == 1


def test_the_queue_that_shrinks_the_limits_is_read_again_after_a_second(app: App) -> None:
    clock = FakeClock()
    limits = RequestLimits(
        LimitSettings(show_per_minute=120, max_pending_jobs=4),
        app.limits.buckets,
        app.database,
        clock,
    )
    assert limits.limit("show") == 120
    for n in range(2):
        app.runner.jobs.create(JobRequest("movie", f"queued-{n}", "en-US", "default"), "none")
    assert limits.limit("show") == 120  # this process's reading is a second old at most
    clock.advance(1.0)
    assert limits.limit("show") == 60


def test_a_bucket_long_past_its_tat_has_used_none() -> None:
    assert used(T0, T0 + 2 * HOUR, 5, HOUR) == 0
