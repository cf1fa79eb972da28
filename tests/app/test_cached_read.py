"""The stored answer read bare: what request gives for a cached key, or None and the full path."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviemind_lite.app.cached_read import stored_answer
from moviemind_lite.app.wiring import App
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE, PERSON
from tests.engines import Engines
from tests.helpers import run_in_fresh_interpreter


def test_a_cached_answer_is_what_request_gives(engines: Engines, app: App) -> None:
    assert stored_answer(app.settings, MOVIE, "the-matrix-1999", "pl-PL") is None  # not cached
    first = app.generation.request(MOVIE, "the-matrix-1999", locale="pl-PL")
    again = app.generation.request(MOVIE, "the-matrix-1999", locale="pl-PL")
    stored = stored_answer(app.settings, MOVIE, "the-matrix-1999", "pl-PL")
    assert stored is not None
    assert stored == first.view == again.view
    assert stored_answer(app.settings, MOVIE, "the-matrix-1999") is None  # another locale's key
    assert stored_answer(app.settings, PERSON, "the-matrix-1999", "pl-PL") is None


def test_a_new_baseline_is_not_answered_from_the_old_cache(app: App) -> None:
    old = app.generation.request(MOVIE, "the-matrix-1999").view
    assert stored_answer(app.settings, MOVIE, "the-matrix-1999") == old
    app.flags.set("ai_generation_baseline_locking", True)  # regenerate rewrites the baseline
    app.generation.regenerate(MOVIE, "the-matrix-1999")
    assert stored_answer(app.settings, MOVIE, "the-matrix-1999") is None
    new = app.generation.request(MOVIE, "the-matrix-1999").view
    assert new is not None and old is not None and new.text != old.text
    assert stored_answer(app.settings, MOVIE, "the-matrix-1999") == new


@pytest.mark.parametrize(
    ("slug", "locale", "context_tag"),
    [
        ("The Matrix", None, "default"),
        ("the-matrix-1999", "xx-XX", "default"),
        ("the-matrix-1999", None, "sarcastic"),
    ],
)
def test_a_request_that_is_not_valid_is_left_to_the_full_path(
    app: App, slug: str, locale: str | None, context_tag: str
) -> None:
    app.generation.request(MOVIE, "the-matrix-1999")
    app.generation.request(MOVIE, "the-matrix-1999")
    assert stored_answer(app.settings, MOVIE, slug, locale, context_tag) is None


def test_a_home_not_made_yet_stays_unmade(settings: Settings) -> None:
    assert stored_answer(settings, MOVIE, "the-matrix-1999") is None
    assert not settings.home.exists()
    settings.home.mkdir(parents=True)  # a folder made by hand: still no database in it
    assert stored_answer(settings, MOVIE, "the-matrix-1999") is None
    assert list(settings.home.iterdir()) == []


def test_a_database_needing_a_migration_is_left_to_the_full_path(app: App) -> None:
    app.generation.request(MOVIE, "the-matrix-1999")
    assert stored_answer(app.settings, MOVIE, "the-matrix-1999") is not None
    with app.database.write() as tx:
        tx.execute("DELETE FROM _migrations WHERE name = 'm013_jobs_finished_index'")
    assert stored_answer(app.settings, MOVIE, "the-matrix-1999") is None


def modules_after_show(home: Path) -> set[str]:
    """The modules a ``moviemind movies show`` process had imported when it ended."""
    shown, modules = run_in_fresh_interpreter(
        "--home", str(home), "movies", "show", "the-matrix-1999"
    )
    assert "The Matrix (1999)" in shown
    return modules


def test_show_of_a_cached_answer_builds_no_application(home: Path) -> None:
    first = modules_after_show(home)  # makes the home, shows, caches the answer
    assert "moviemind_lite.app.wiring" in first
    second = modules_after_show(home)
    assert "moviemind_lite.app.wiring" not in second
    assert not {name for name in second if name.startswith("moviemind_lite.pipeline")}
