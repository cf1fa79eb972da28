"""Locking strategies, one small class each, registered by name."""

from __future__ import annotations

from moviemind_lite.pipeline.strategies import (
    cache_lock,
    cache_lock_recheck,
    for_update,
    no_guard,
    setnx,
    two_level,
    unique_index,
)
from moviemind_lite.pipeline.strategies.base import (
    STRATEGIES,
    Dispatch,
    Strategy,
    StrategyContext,
    StrategyOptions,
    make_strategy,
)

__all__ = [
    "STRATEGIES",
    "Dispatch",
    "Strategy",
    "StrategyContext",
    "StrategyOptions",
    "cache_lock",
    "cache_lock_recheck",
    "for_update",
    "make_strategy",
    "no_guard",
    "setnx",
    "two_level",
    "unique_index",
]
