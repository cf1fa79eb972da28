"""Hostile catalog text: markup and terminal control in titles, names and texts.

The rows are written straight through the store, as an import, an AI answer
or another program could have left them: what is under test is how the front
ends show stored text, whatever let it in.
"""

from __future__ import annotations

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE, PERSON
from moviemind_lite.store.catalog import insert_entity, insert_text

# slug -> title; each title must print exactly as written (markup) or with its
# control characters spelled out (escapes).
MARKUP_TITLES = {
    "broken-2000": "Broken [/] tag",
    "metropolis-restored-1927": "Metropolis [restored]",
    "alien-directors-cut-1979": "Alien [director's cut]",
    "bold-2001": "[bold]Bold[/bold] claim",
    "linked-2002": "[link=file:///etc/passwd]harmless[/link]",
}
# A window title (OSC ... BEL), clear screen and colour (CSI), a C1 CSI, a
# right-to-left override, backspace and carriage return.
ESCAPE_TITLE = "Esc \x1b]0;PWNED\x07 \x1b[2J\x1b[31mred \x9b1m \u202eevil\b\rover"
ESCAPE_SHOWN = "Esc \\x1b]0;PWNED\\x07 \\x1b[2J\\x1b[31mred \\x9b1m \\u202eevil\\x08\\rover"
ESCAPE_SLUG = "ansi-three-2000"
PERSON_SLUG, PERSON_NAME = "bad-person", "Jane [/] Doe \x1b[8mhidden"
TEXT = "First line [/] of it.\n\x1b]0;PWNED\x07Second line [red]not red[/red]."
TEXT_SHOWN = "First line [/] of it.\n\\x1b]0;PWNED\\x07Second line [red]not red[/red]."
# The raw characters none of the output may hold.
CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\b", "\r")


def store_hostile_rows(settings: Settings) -> None:
    """Movies with hostile titles (one with a hostile text) and a hostile person."""
    with build_app(settings, load_sample=False) as app, app.database.write() as tx:
        for slug, title in {**MARKUP_TITLES, ESCAPE_SLUG: ESCAPE_TITLE}.items():
            movie_id = insert_entity(tx, MOVIE, slug, {"title": title, "director": title}).id
            if slug in (ESCAPE_SLUG, "broken-2000"):
                insert_text(
                    tx,
                    MOVIE,
                    movie_id,
                    locale="en-US",
                    context_tag="default",
                    text=TEXT,
                    origin="curated",
                    ai_model=None,
                    job_id=None,
                    baseline=True,
                )
        insert_entity(tx, PERSON, PERSON_SLUG, {"name": PERSON_NAME, "birthplace": PERSON_NAME})
