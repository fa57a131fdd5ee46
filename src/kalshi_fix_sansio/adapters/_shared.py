"""The names each adapter's module re-exports beside its client: the events a session tells its
application (connection, catch-up, kill switch, a slow reader) and the queue's limit and policy.

Their home is the core; one list here keeps the three modules alike.
"""

from __future__ import annotations

from kalshi_fix_sansio.client.driver import (
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    QueuePolicy,
)
from kalshi_fix_sansio.client.pump import MAX_QUEUED_EVENTS
from kalshi_fix_sansio.client.supervisor import (
    Disconnected,
    Reconnected,
    Reconnecting,
    WaitingOutMaintenance,
)
from kalshi_fix_sansio.trading.catchup import (
    CatchUpComplete,
    CatchUpFailed,
    CatchUpStarted,
    ExecCursor,
)
from kalshi_fix_sansio.trading.killswitch import KillReport, TradingHalted

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
