"""One request path: what a front end may start is a rule passed to ``Generation.request``."""

from __future__ import annotations

import pytest

from moviemind_lite.app.generation import LOOK, SHOW, RequestRule, contract_rule
from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import MOVIE, PERSON
from moviemind_lite.core.errors import EntityNotFound, GenerationOff, InvalidSlug, SlugRejected

pytestmark = pytest.mark.usefixtures("engines")


def jobs(app: App) -> int:
    return sum(app.job_store.counts().values())


def test_a_look_shows_a_stored_entity_without_starting_a_job(app: App) -> None:
    german = app.generation.request(MOVIE, "the-matrix-1999", locale="de-DE", rule=LOOK)
    assert german.status == "done" and german.job is None
    assert german.view is not None and german.view.entity.slug == "the-matrix-1999"
    assert german.view.text is None  # no German text stored, and a look writes none
    english = app.generation.request(MOVIE, "the-matrix-1999", rule=LOOK)
    assert english.view is not None and english.view.text is not None
    with pytest.raises(EntityNotFound, match=r"no movie with slug 'never-made-2001'$"):
        app.generation.request(MOVIE, "never-made-2001", rule=LOOK)
    assert jobs(app) == 0


def test_show_generates_the_missing_text_of_a_stored_entity(app: App) -> None:
    german = app.generation.request(MOVIE, "the-matrix-1999", locale="de-DE", rule=SHOW)
    assert german.status == "done" and german.job is not None
    assert german.view is not None and german.view.text is not None
    assert jobs(app) == 1


def test_the_contract_answers_a_stored_movie_as_it_is(app: App) -> None:
    rule = contract_rule(MOVIE, None)
    german = app.generation.request(MOVIE, "the-matrix-1999", locale="de-DE", rule=rule)
    assert german.job is None and german.view is not None and german.view.text is None
    assert jobs(app) == 0


def test_the_contract_queues_a_person_only_without_any_bio(app: App) -> None:
    rule = contract_rule(PERSON, None)
    # Keanu has an English bio: a German request is answered with what is stored.
    stored = app.generation.request(PERSON, "keanu-reeves", locale="de-DE", wait=False, rule=rule)
    assert stored.job is None
    app.catalog.delete(PERSON, "keanu-reeves")
    unknown = app.generation.request(PERSON, "keanu-reeves", wait=False, rule=rule)
    assert unknown.status == "queued" and unknown.job is not None


def test_a_refusal_is_said_the_way_the_rule_says(app: App) -> None:
    app.flags.set("ai_description_generation", False)
    # The contract: a stored movie is still answered as it is, an unknown one is refused.
    stored = app.generation.request(MOVIE, "the-matrix-1999", rule=contract_rule(MOVIE, None))
    assert stored.view is not None and stored.job is None
    with pytest.raises(GenerationOff) as off:
        app.generation.request(MOVIE, "never-made-2001", rule=contract_rule(MOVIE, None))
    assert off.value.flag == "ai_description_generation"
    with pytest.raises(EntityNotFound, match=r"\(generation is off: ai_description_generation\)"):
        app.generation.request(MOVIE, "never-made-2001")
    # Off on the command line: a stored movie is shown without the missing text.
    german = app.generation.request(MOVIE, "the-matrix-1999", locale="de-DE")
    assert german.view is not None and german.view.text is None
    assert jobs(app) == 0


def test_the_contract_takes_a_bad_slug_as_an_unknown_one(app: App) -> None:
    with pytest.raises(InvalidSlug):
        app.generation.request(MOVIE, "The Matrix")
    with pytest.raises(SlugRejected):
        app.generation.request(MOVIE, "The Matrix", rule=contract_rule(MOVIE, None))
    with pytest.raises(SlugRejected):
        app.generation.request(MOVIE, "ab", rule=RequestRule(contract=True))
    assert jobs(app) == 0


def test_the_contract_refuses_a_stored_person_without_bio_while_generation_is_off(
    app: App,
) -> None:
    rule = contract_rule(PERSON, None)
    with app.database.write() as tx:  # Keanu's bios go, Keanu stays
        tx.execute(f"UPDATE people SET {PERSON.baseline_column} = NULL")
        tx.execute("DELETE FROM answer_cache")
        tx.execute("DELETE FROM bios")
    app.flags.set("ai_bio_generation", False)
    with pytest.raises(GenerationOff):
        app.generation.request(PERSON, "keanu-reeves", wait=False, rule=rule)
    # The command line shows the stored person, without a bio.
    shown = app.generation.request(PERSON, "keanu-reeves")
    assert shown.view is not None and shown.view.text is None
