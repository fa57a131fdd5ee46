"""Trading helpers above the session: orders, books and the order desk's rules.

The order tracker (`tracker`), request builders (`builders`), order books (`book`), the order
gate (`gate`), pre-trade risk limits (`risk`), the kill switch (`killswitch`) and a halt on disk
(`haltfile`), drop-copy catch-up (`catchup`), P&L (`pnl`), settlement reports (`settlement`) and
how people read prices (`prices`).

May import: observability, the session layer and below.
"""

from ._cancelrequest import cancel_request
from ._orders import REST_EXEC_PREFIX, Fill, OrderStatus, TrackedOrder, naming_order
from ._requests_core import ClOrdIDGenerator

__all__ = [
    "REST_EXEC_PREFIX",
    "ClOrdIDGenerator",
    "Fill",
    "OrderStatus",
    "TrackedOrder",
    "cancel_request",
    "naming_order",
]
