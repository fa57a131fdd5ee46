"""Trading helpers above the session: orders, books and the order desk's rules.

The order tracker (`tracker`), request builders (`builders`), order books (`book`), the order
gate (`gate`), pre-trade risk limits (`risk`), the kill switch (`killswitch`) and a halt on disk
(`haltfile`), drop-copy catch-up (`catchup`), P&L (`pnl`), settlement reports (`settlement`) and
how people read prices (`prices`).

Its face names what the floors above use of it (not the user API, which is
`kalshi_fix_sansio` and the public modules). May import: observability, the session layer and below.
Never a network, loop or clock module (socket, ssl, asyncio, trio, selectors, select,
time: the ``sansio`` contract); time is an argument.
"""

from ._cancelrequest import (
    cancel_request as cancel_request,
)
from ._orders import (
    REST_EXEC_PREFIX as REST_EXEC_PREFIX,
)
from ._orders import (
    Fill as Fill,
)
from ._orders import (
    OrderStatus as OrderStatus,
)
from ._orders import (
    TrackedOrder as TrackedOrder,
)
from ._orders import (
    naming_order as naming_order,
)
from ._requests_core import (
    ClOrdIDGenerator as ClOrdIDGenerator,
)
