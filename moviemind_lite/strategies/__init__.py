"""Locking strategies, one small class each, registered by name."""

from __future__ import annotations

from moviemind_lite.strategies import two_level
from moviemind_lite.strategies.base import (
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
    "make_strategy",
    "two_level",
]
