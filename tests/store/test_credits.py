"""Credits: loaded with the sample catalog, and linked in homes made before they existed."""

from __future__ import annotations

from pathlib import Path

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.store import migrations
from moviemind_lite.store.credits import credits_of
from moviemind_lite.store.sqlite import SqliteDatabase


def test_a_new_home_has_the_sample_credits(app: App) -> None:
    matrix = app.catalog.find(MOVIE, "the-matrix-1999")
    found = credits_of(app.database, "movie_id", [matrix.id])[matrix.id]
    assert [credit.role for credit in found][:2] == ["director", "director"]
    assert ("keanu-reeves", "Neo") in {(c.person_slug, c.character_name) for c in found}


def test_m010_links_the_sample_rows_of_an_older_home(settings: Settings, home: Path) -> None:
    index = [function.__name__ for function in migrations.MIGRATIONS].index("m011_credits")
    newer = migrations.MIGRATIONS[index:]
    del migrations.MIGRATIONS[index:]
    try:
        build_app(settings).close()  # a home as it was before credits
    finally:
        migrations.MIGRATIONS.extend(newer)
    database = SqliteDatabase(settings.database_path)
    try:
        assert migrations.pending(database) == [function.__name__ for function in newer]
    finally:
        database.close()
    with build_app(settings) as app:
        movies = app.catalog.list_entities(MOVIE)
        linked = credits_of(app.database, "movie_id", [movie.id for movie in movies])
        assert sum(len(found) for found in linked.values()) == 77
