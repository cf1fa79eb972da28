"""Locking strategies, one small class each, picked by name from :data:`STRATEGIES`.

The table is a literal: every strategy is listed here, and looking one up
imports nothing else.
"""

from __future__ import annotations

from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.pipeline.strategies.base import (
    Dispatch,
    Strategy,
    StrategyContext,
    StrategyFactory,
)
from moviemind_lite.pipeline.strategies.cache_lock import CacheLock
from moviemind_lite.pipeline.strategies.cache_lock_recheck import CacheLockRecheck
from moviemind_lite.pipeline.strategies.for_update import ForUpdate
from moviemind_lite.pipeline.strategies.no_guard import NoGuard
from moviemind_lite.pipeline.strategies.setnx import SetNx
from moviemind_lite.pipeline.strategies.two_level import TwoLevel
from moviemind_lite.pipeline.strategies.unique_index import UniqueIndex

# In teaching order, from no protection to the shipped design: the lab shows them so.
STRATEGIES: dict[str, StrategyFactory] = {
    "none": NoGuard,
    "cache-lock": CacheLock,
    "cache-lock-recheck": CacheLockRecheck,
    "unique-index": UniqueIndex,
    "for-update": ForUpdate,
    "setnx": SetNx,
    "two-level": TwoLevel,
}


def strategy_factory(name: str) -> StrategyFactory:
    """The factory registered as ``name``; an unknown name lists the valid ones."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise InvalidInput(
            f"unknown strategy {name!r}; expected one of: {', '.join(STRATEGIES)}"
        ) from None


def make_strategy(name: str, context: StrategyContext) -> Strategy:
    """The strategy called ``name`` over ``context``; an unknown name lists the valid ones."""
    return strategy_factory(name)(context)


class Strategies:
    """The strategies of one application, each built once on first use.

    The runner resolves the strategy recorded on each job here, so a worker
    runs a job under the strategy that dispatched it.
    """

    def __init__(self, context: StrategyContext) -> None:
        self.context = context
        self._built: dict[str, Strategy] = {}

    def get(self, name: str) -> Strategy:
        """The strategy called ``name``; an unknown name lists the valid ones."""
        strategy = self._built.get(name)
        if strategy is None:
            strategy = self._built.setdefault(name, make_strategy(name, self.context))
        return strategy


__all__ = [
    "STRATEGIES",
    "Dispatch",
    "Strategies",
    "Strategy",
    "StrategyContext",
    "make_strategy",
    "strategy_factory",
]
