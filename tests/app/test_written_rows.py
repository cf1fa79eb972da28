"""A generated job's end hands back the rows it wrote: its requester does not read them again."""

from __future__ import annotations

import pytest

from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import MOVIE, PERSON, EntityKind
from moviemind_lite.core.model import EndedJob
from moviemind_lite.store import catalog

pytestmark = pytest.mark.usefixtures("engines")


def no_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the requester's read of a job's rows fail the test."""

    def read(*args: object) -> object:
        raise AssertionError("the rows of a job that wrote them were read back")

    monkeypatch.setattr(catalog, "find_with_text", read)


@pytest.mark.parametrize("kind", [MOVIE, PERSON])
def test_a_generated_job_answers_with_the_rows_it_wrote(
    app: App, monkeypatch: pytest.MonkeyPatch, kind: EntityKind
) -> None:
    no_read_back(monkeypatch)
    first = app.generation.request(kind, "written-here-2001")
    assert first.status == "done" and isinstance(first.job, EndedJob)
    monkeypatch.undo()
    # The rows handed back are the rows stored: a later answer, read from the store, is equal.
    again = app.generation.request(kind, "written-here-2001")
    assert again.job is None and again.view == first.view
    assert first.job == app.job_store.get(first.job.id)  # and the job is the stored job


def test_a_new_text_of_a_stored_entity_is_handed_back_with_it(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_read_back(monkeypatch)
    german = app.generation.request(MOVIE, "the-matrix-1999", locale="de-DE")
    monkeypatch.undo()
    assert german.view is not None and german.view.text is not None
    assert german.view == app.generation.request(MOVIE, "the-matrix-1999", locale="de-DE").view


def test_a_first_text_moves_the_entity_so_it_is_read_again(app: App) -> None:
    with app.database.write() as tx:  # the Matrix without any text
        tx.execute(f"UPDATE movies SET {MOVIE.baseline_column} = NULL")
        tx.execute(f"DELETE FROM {MOVIE.text_table}")
        tx.execute("DELETE FROM answer_cache")
    first = app.generation.request(MOVIE, "the-matrix-1999")
    assert first.view is not None and first.view.text is not None
    assert first.view.entity.baseline_id == first.view.text.id
    assert first.view == app.generation.request(MOVIE, "the-matrix-1999").view
