"""A stored answer, read without building the application: what ``show`` of a known key costs.

:meth:`Generation.request <moviemind_lite.app.generation.Generation.request>`
answers a key whose answer is cached with that answer and nothing else: no
flag, no job, no AI. :func:`stored_answer` is that first step alone, over
the database opened bare (no home prepared, no log, no executor), so a
``moviemind movies show`` of a stored movie pays for one read. Whenever it
cannot answer (a database that does not exist yet or needs a migration, no
cached answer, any store error) it says ``None`` and the caller takes the
full path, which decides, and explains what is wrong with a bad request.
"""

from __future__ import annotations

from moviemind_lite.app.views import EntityView
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import DEFAULT_CONTEXT, EntityKind
from moviemind_lite.core.errors import StoreError
from moviemind_lite.store import answer_cache
from moviemind_lite.store.db import open_database
from moviemind_lite.store.migrations import pending


def stored_answer(
    settings: Settings,
    kind: EntityKind,
    slug: str,
    locale: str | None = None,
    context_tag: str = DEFAULT_CONTEXT,
) -> EntityView | None:
    """The cached answer for the key, as ``request`` would give it; ``None``: ask ``request``.

    Nothing is validated here: only valid keys are ever cached, and the full
    path says what is wrong with an invalid one.
    """
    key = answer_cache.cache_key(kind, slug, locale or settings.default_locale, context_tag)
    url = settings.database
    if url.path is not None and not url.path.is_file():
        return None  # a home not made yet: the full path makes it
    try:
        database = open_database(url, settings.busy_timeout_ms, settings.engine_wait_ms)
    except StoreError:
        return None
    try:
        if pending(database):
            return None
        cached = answer_cache.lookup(database, key)
    except StoreError:
        return None
    finally:
        database.close()
    return EntityView.from_cache(kind, cached) if cached is not None else None
