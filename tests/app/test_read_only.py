"""catalog_read_only_mode: stored texts are served, every catalog write is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.app.files.formats import read_catalog_file
from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import CatalogReadOnly
from moviemind_lite.lab.race import run_race
from moviemind_lite.lab.scenario import Scenario
from tests.cli.conftest import assert_one_line_error, run

pytestmark = pytest.mark.usefixtures("engines")

ON = {"MOVIEMIND_FLAG_CATALOG_READ_ONLY_MODE": "on"}


@pytest.fixture
def read_only(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The application with the catalog read-only (the flag forced on for the process)."""
    build_app(settings).close()  # the sample catalog, written before the mode is on
    for name, value in ON.items():
        monkeypatch.setenv(name, value)
    with build_app(settings) as app:
        yield app


def test_stored_texts_are_still_served(read_only: App) -> None:
    outcome = read_only.generation.request(MOVIE, "the-matrix-1999")
    assert outcome.status == "done" and outcome.view is not None and outcome.view.text
    # A stored movie without a German text is shown without one, as with generation off.
    german = read_only.generation.request(MOVIE, "the-matrix-1999", locale="de-DE")
    assert german.view is not None and german.view.text is None and german.job is None


def test_every_catalog_write_is_refused_and_nothing_is_written(
    read_only: App, tmp_path: Path
) -> None:
    counts = read_only.catalog.counts()
    entity = read_only.catalog.find(MOVIE, "the-matrix-1999")
    (text,) = [t for t in read_only.catalog.texts(entity) if t.locale == "en-US"]
    csv = tmp_path / "new.csv"
    csv.write_text("slug,title\nread-only-film-2001,Read Only\n")
    refused = [
        lambda: read_only.generation.request(MOVIE, "brand-new-film-2031"),
        lambda: read_only.generation.regenerate(MOVIE, "the-matrix-1999"),
        lambda: read_only.catalog.promote(MOVIE, "the-matrix-1999", text.id),
        lambda: read_only.catalog.import_file(read_catalog_file(csv)),
        lambda: read_only.jobs.work(once=True),
        lambda: run_race(Scenario(requests=1, slugs=1, workers=1, latency_ms=0), "two-level"),
    ]
    for attempt in refused:
        with pytest.raises(CatalogReadOnly, match="catalog_read_only_mode is on"):
            attempt()
    assert read_only.catalog.counts() == counts
    assert read_only.jobs.list() == []


@pytest.mark.usefixtures("read_only")
def test_the_cli_refuses_with_one_line_and_exit_1() -> None:
    result = run("movies", "show", "brand-new-film-2031", env=ON)
    assert_one_line_error(result, 1, "the catalog is read-only (catalog_read_only_mode is on)")
    assert run("movies", "show", "the-matrix-1999", env=ON).exit_code == 0
