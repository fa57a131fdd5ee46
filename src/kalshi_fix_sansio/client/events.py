"""What a slow application is told, and the event queue's limit and policy, whatever its loop.

The other events a session tells live where they are made: the connection's in
`kalshi_fix_sansio.client.supervisor`, drop-copy catch-up's in `kalshi_fix_sansio.trading.catchup`,
the kill switch's in `kalshi_fix_sansio.trading.killswitch`; every one of them is importable from
`kalshi_fix_sansio`.
"""

from __future__ import annotations

from ._clientbase import MAX_QUEUED_EVENTS
from ._queue import (
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    QueuePolicy,
)

__all__ = [
    "MAX_QUEUED_EVENTS",
    "EventQueueOverflow",
    "FallingBehind",
    "MarketDataFolded",
    "QueuePolicy",
]
