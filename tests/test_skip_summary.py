"""`make test` without servers ends with one line for the tests that need them, not 176."""

from __future__ import annotations

from tests.engines import SERVICES_SKIP, folded_skip


def test_every_skip_for_want_of_a_server_folds_into_one_line() -> None:
    skips = [
        ("/repo/tests/engines.py", 82, "Skipped: postgres+redis needs MOVIEMIND_TEST_POSTGRES_URL"),
        (
            "/repo/tests/cli/test_lab.py",
            288,
            "Skipped: sqlite+redis needs MOVIEMIND_TEST_REDIS_URL",
        ),
    ]
    folded = {folded_skip(skip) for skip in skips}
    assert len(folded) == 1
    ((path, line, reason),) = folded  # type: ignore[misc]
    assert path.endswith("engines.py") and line is None
    assert reason == f"Skipped: {SERVICES_SKIP}"
    assert "MOVIEMIND_TEST_POSTGRES_URL and MOVIEMIND_TEST_REDIS_URL" in reason


def test_other_skips_keep_their_place_and_reason() -> None:
    other = ("/repo/tests/http/test_access.py", 105, "Skipped: read by the process")
    assert folded_skip(other) == other
