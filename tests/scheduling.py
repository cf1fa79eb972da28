"""How ``make test`` spreads the suite over pytest-xdist's workers (``--dist loadgroup``).

Tests are handed out one by one, except a group, which runs whole on one worker:

- tests that share a module- or session-wide fixture of the suite's own (a
  browser, servers the tests kill, a loaded model, a live server): it starts
  once, not once per worker;
- the lessons (marked ``slow``): their checks read real timings, so they run
  one at a time rather than racing each other for the cores.

The long groups go first, so that the run does not end waiting for one worker
that picked a long group up last.
"""

from __future__ import annotations

import pytest

LESSONS = "lessons"
# Run first (the longest first): the lessons, then what starts servers or a model.
LONG_FIRST = (LESSONS, "tests/docs", "tests/faults", "tests/browser", "real_model")


def group_of(item: pytest.Item) -> str | None:
    """The xdist group ``item`` runs in, or ``None`` (any worker, on its own)."""
    if item.get_closest_marker("slow") is not None:
        return LESSONS
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for name in info.names_closure:
        shared = [
            definition
            for definition in info.name2fixturedefs.get(name) or ()
            if definition.scope in ("module", "session")
            and getattr(definition.func, "__module__", "").startswith("tests")
        ]
        if shared:
            return name if shared[-1].scope == "session" else item.nodeid.split("::")[0]
    return None


def rank(item: pytest.Item, group: str | None) -> int:
    """Where ``item`` goes in the run: the long groups first, in :data:`LONG_FIRST` order."""
    key = group or item.nodeid
    for position, long in enumerate(LONG_FIRST):
        if key.startswith(long):
            return position
    return len(LONG_FIRST)


def spread(items: list[pytest.Item]) -> None:
    """Mark each item's group and put the long ones first (in place)."""
    ranks: dict[str, int] = {}
    for item in items:
        group = group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
        ranks[item.nodeid] = rank(item, group)
    items.sort(key=lambda item: ranks[item.nodeid])
