"""A recording made so that the exchange's queue models fill differently, and a strategy that
joins its queues: the "live" days of tests/test_fitting.py and tests/test_compare_live.py (the
day of the shipped live-session sample, `kalshi_fix_sansio.simulator.testing.livesample`)."""

from __future__ import annotations

from kalshi_fix_sansio.simulator.testing.livesample import (
    SYMBOL,
    T0,
    TRADES,
    write_episodes,
)
from kalshi_fix_sansio.simulator.testing.livesample import joining as joiner

__all__ = ["SYMBOL", "T0", "TRADES", "joiner", "write_episodes"]
