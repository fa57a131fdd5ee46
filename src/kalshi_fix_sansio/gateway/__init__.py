"""The mock Kalshi gateway: a pure exchange engine (`Exchange`) and the server around it.

`Exchange` keeps order books, positions, order groups and market-data subscriptions for one
product and answers every call with the `Outbound` messages to send; it does no I/O and reads
no clock. See `kalshi_fix_sansio.gateway.engine` for the behaviour it implements.
"""

from .engine import (
    HOUSE_ACCOUNT,
    ROLLING_WINDOW_SECONDS,
    SESSION_TYPES,
    Exchange,
    OrderView,
    Outbound,
)

__all__ = [
    "HOUSE_ACCOUNT",
    "ROLLING_WINDOW_SECONDS",
    "SESSION_TYPES",
    "Exchange",
    "OrderView",
    "Outbound",
]
