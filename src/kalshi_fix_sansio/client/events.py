"""The events a session tells its application (connection, catch-up, kill switch, a slow
reader) and the queue's limit and policy, whatever its loop: each adapter's module
(``kalshi_fix_sansio.adapters.blocking``, ``.asyncio``, ``.trio``) re-exports this list beside
its client.
"""

from __future__ import annotations

from ..trading.catchup import (
    CatchUpComplete,
    CatchUpFailed,
    CatchUpStarted,
    ExecCursor,
)
from ..trading.killswitch import KillReport, TradingHalted
from ._clientbase import MAX_QUEUED_EVENTS
from .driver import (
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    QueuePolicy,
)
from .supervisor import (
    Disconnected,
    Reconnected,
    Reconnecting,
    WaitingOutMaintenance,
)

__all__ = [
    "MAX_QUEUED_EVENTS",
    "CatchUpComplete",
    "CatchUpFailed",
    "CatchUpStarted",
    "Disconnected",
    "EventQueueOverflow",
    "ExecCursor",
    "FallingBehind",
    "KillReport",
    "MarketDataFolded",
    "QueuePolicy",
    "Reconnected",
    "Reconnecting",
    "TradingHalted",
    "WaitingOutMaintenance",
]
