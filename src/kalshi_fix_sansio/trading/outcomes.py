"""Settling an unknown order outcome by asking the exchange (sans-IO).

An order's outcome is unknown when its reports may have been lost with a connection and nothing
replayed them (`kalshi_fix_sansio.trading.catchup.OrdersUnknown`: KalshiNR has no
retransmission; a drop-copy replay that failed or could not cover the order). The order gate
then refuses what could grow a position in its market (`OutcomeUnknown`). Kalshi offers no
order status request over FIX (no OrderStatusRequest 35=H, no mass status), so the one question
the session can ask is a cancel of the order, which the exchange answers either way:

* live (it rested, or was received while the connection was down): an ExecutionReport
  Canceled with its CumQty: the tracker ends it and counts any fill it missed (`FillInferred`);
* filled: OrderCancelReject (35=9) CxlRejReason 0, "too late to cancel", OrdStatus 2: its
  whole quantity filled. The tracker is told so (`filled_report`): the order ends FILLED and
  the fills it never saw are counted as one inferred fill at the order's limit price (an
  estimate: the price is not said; `FillInferred`);
* never received: 35=9 CxlRejReason 1, unknown order, OrdStatus 8: it was never live
  (`kalshi_fix_sansio.trading.tracker.OrderNotFound`);
* live once and ended (canceled, expired) without a report seen: 35=9 CxlRejReason 1 with the
  order's own OrdStatus (4, C): how much of it filled is not said. The order stays as the
  tracker had it and its block stays: `FillsUnknown` says so, and what lifts it (a REST
  reconciliation, a complete catch-up, ``release_unknown()``).

`OutcomeQuery` is that question, asked by a `kalshi_fix_sansio.client.driver.Driver` for every
order an `OrdersUnknown` names (``settle_unknown``; by default when no REST reconciliation is
configured, which answers without cancelling anything). It reads no clock and does no I/O: it
sends through the callable it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs

from ..codec import Message, dialect
from ..codec.errors import FixError
from ..session.config import SessionConfig
from ..session.events import Event
from ._orders import ZERO, _code, ended_unseen
from .builders import Requests
from .tracker import OrderTracker, TrackedOrder

__all__ = ["FillsUnknown", "OutcomeQuery", "OutcomesAsked", "filled_report"]

_TOO_LATE: Final = "0"  # CxlRejReason: too late to cancel (already filled)
_FILLED: Final = "2"  # OrdStatus


@attrs.frozen(slots=True)
class OutcomesAsked(Event):
    """The session asked the exchange how orders of unknown outcome ended: one
    OrderCancelRequest (35=F) each (Kalshi has no order status request; a cancel is answered
    either way). Their markets stay blocked (`OutcomeUnknown`) until the answers come.

    Attributes:
        cl_ord_ids: the orders asked about.
        requests: the ClOrdIDs of the cancels sent, in the same order.
    """

    cl_ord_ids: tuple[str, ...]
    requests: tuple[str, ...]


@attrs.frozen(slots=True)
class FillsUnknown(Event):
    """The exchange answered a cancel of an order of unknown outcome: the order was live and
    has ended (canceled or expired while no report of it was seen), but the answer, an
    OrderCancelReject (35=9), does not say how much of it filled. The order stays as the
    tracker had it, and the block on its market stays (`OutcomeUnknown`) until a REST
    reconciliation or a complete catch-up counts its fills, or ``release_unknown()`` once you
    checked them by other means.

    Attributes:
        cl_ord_id: the order.
        request: the ClOrdID of the cancel answered.
        ord_status: OrdStatus(39) of the 35=9 (how the order ended: 4 canceled, C expired...).
        text: its Text(58), or None.
    """

    cl_ord_id: str
    request: str
    ord_status: str | None
    text: str | None


def filled_report(product: str, order: TrackedOrder, answer: Any) -> Message | None:
    """The ExecutionReport a 35=9 "too late to cancel" (CxlRejReason 0) with OrdStatus 2
    stands for: ``order`` filled whole (CumQty = its OrderQty, nothing left), with no price
    (the tracker counts what it never saw at the order's limit price: `FillInferred`). None
    when the 35=9 says something else, or the order is not open."""
    if _code(answer.cxl_rej_reason) != _TOO_LATE or _code(answer.ord_status) != _FILLED:
        return None
    if order.terminal or order.symbol is None or order.side is None:
        return None
    d = dialect(product)
    request = _code(answer.cl_ord_id) or order.cl_ord_id
    report: Message = d.ExecutionReport(
        exec_id=f"too-late:{request}",  # not a Kalshi ExecID (``clock;event``): never replayed
        cl_ord_id=order.cl_ord_id,
        order_id=_code(answer.order_id) or order.order_id,
        ord_status=d.OrdStatus(_FILLED),
        symbol=order.symbol,
        side=d.Side(order.side),
        cum_qty=order.order_qty,
        leaves_qty=ZERO,
        order_qty=order.order_qty,
    )
    return report


class OutcomeQuery:
    """The cancels that ask how orders of unknown outcome ended, and what their answers settle
    (see the module).

    Args:
        config: the session's config (product, session type, ClOrdIDs).
    """

    __slots__ = ("_requests", "asking", "config", "due")

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self._requests: Requests | None = None
        self.asking: dict[str, str] = {}
        """Cancel ClOrdID -> the order it asks about, until answered."""
        self.due: dict[str, None] = {}
        """Orders to ask about once the session is logged on again (a send refused)."""

    def ask(
        self, tracker: OrderTracker, cl_ord_ids: Iterable[str], send: Callable[[Message], object]
    ) -> OutcomesAsked | None:
        """Send a cancel for each order of ``cl_ord_ids`` still open with a known market and
        side (not one already asked about); an order whose cancel could not be sent is asked
        about at the next `ask`. The event to emit, or None when nothing was sent."""
        asked: list[str] = []
        requests: list[str] = []
        for request, cl in list(self.asking.items()):  # answered by a report: forgotten
            order = tracker.order(cl)
            if order is None or order.terminal:
                del self.asking[request]
        pending = set(self.asking.values())
        for cl in dict.fromkeys((*self.due, *cl_ord_ids)):
            self.due.pop(cl, None)
            order = tracker.order(cl)
            if (
                order is None
                or order.terminal
                or order.cl_ord_id != cl
                or order.symbol is None
                or order.side is None
                or cl in pending
            ):
                continue
            if self._requests is None:
                config = self.config
                self._requests = Requests(
                    config.product,
                    config.session_type,
                    use_dollars=config.use_dollars,
                    cl_ord_ids=config.cl_ord_ids,
                )
            try:
                cancel = self._requests.cancel(order)
                send(cancel)
            except FixError:  # not logged on, or refused: asked again at the next Logon
                self.due[cl] = None
                continue
            request = str(_code(getattr(cancel, "cl_ord_id", None)))
            self.asking[request] = cl
            asked.append(cl)
            requests.append(request)
        if not asked:
            return None
        return OutcomesAsked(tuple(asked), tuple(requests))

    def answer(self, tracker: OrderTracker, message: Any) -> Event | None:
        """An OrderCancelReject (35=9) read (already fed to ``tracker``): if it answers one of
        the cancels asked, what it settles — a fill learned (the tracker told: `filled_report`;
        its `FillInferred` follows) or `FillsUnknown` — else None."""
        request = _code(message.cl_ord_id)
        cl = self.asking.pop(request, None) if request is not None else None
        if cl is None:
            return None
        order = tracker.order(cl)
        if order is None or order.terminal:
            return None
        report = filled_report(self.config.product, order, message)
        if report is not None:
            tracker.on_message(report)
            return None
        if ended_unseen(message):
            return FillsUnknown(cl, str(request), _code(message.ord_status), message.text)
        return None
