"""What `cancel` sends, whatever the adapter: the one place that turns its argument into an
OrderCancelRequest (35=F).

``session.cancel(...)`` takes the request itself, or names the order: its ClOrdID (``str``) or
its `TrackedOrder` (what `place` returned, or one of ``session.tracker.open_orders()``). A
named order is looked up in the session's tracker (its current state, not the snapshot
given) and the request is built from it with the library's builder (`Requests.cancel
<kalshi_fix_sansio.trading.builders.Requests.cancel>`: Side, Symbol, OrderID, AllocAccount, Parties
and ExDestination copied so they match the order), for the session's product and session type.
"""

from __future__ import annotations

from typing import Any

from kalshi_fix_sansio.codec import Message
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.tracker import TrackedOrder

__all__ = ["cancel_request"]

_TAKES = "an OrderCancelRequest, the order's ClOrdID (str) or its TrackedOrder"


def cancel_request(session: Any, order: Message | TrackedOrder | str) -> Message:
    """The OrderCancelRequest ``session.cancel(order)`` sends (``session``: a `SessionAPI`).

    Args:
        session: the session that cancels (its tracker and config are read).
        order: an OrderCancelRequest (returned as it is), or the order to cancel: its ClOrdID
            or its `TrackedOrder`.

    Returns:
        The request.

    Raises:
        LocalProtocolError: ``order`` is another message or another type; the tracker knows no
            order with that ClOrdID; the order is not open (final, or a replacement Kalshi has
            not acknowledged yet); or the session type cannot cancel (a `RequestError`).
    """
    if isinstance(order, Message):
        if order.MSG_TYPE != "F":
            raise LocalProtocolError(
                f"cancel sends an OrderCancelRequest (35=F), not a {type(order).__name__} "
                f"(35={order.MSG_TYPE}): pass {_TAKES}"
            )
        return order
    if isinstance(order, TrackedOrder):
        cl_ord_id = order.cl_ord_id
    elif isinstance(order, str):
        cl_ord_id = order
    else:
        raise LocalProtocolError(f"cancel takes {_TAKES}, got {type(order).__name__}: {order!r}")
    config = session.config
    with session.driver.lock:  # the blocking adapter's reading thread updates the tracker
        tracked = session.tracker.order(cl_ord_id)
        if tracked is None and isinstance(order, TrackedOrder):
            tracked = order  # e.g. restored from elsewhere: the builder checks what it can
        _check_open(cl_ord_id, tracked, f"{config.product}/{config.session_type}")
        requests = Requests(
            config.product,
            config.session_type,
            use_dollars=config.use_dollars,
            listener=config.listener_session,
            cl_ord_ids=config.cl_ord_ids,
        )
        return requests.cancel(tracked)


def _check_open(cl_ord_id: str, tracked: TrackedOrder | None, where: str) -> None:
    """Raise `LocalProtocolError` unless ``tracked`` is the open order ``cl_ord_id`` names."""
    head = f"cancel({cl_ord_id!r})"
    if tracked is None:
        raise LocalProtocolError(
            f"{head}: the {where} session's tracker knows no order with ClOrdID {cl_ord_id!r} "
            "(session.tracker.open_orders() lists the open ones)"
        )
    if tracked.cl_ord_id != cl_ord_id:  # the ClOrdID of a cancel request about that order
        raise LocalProtocolError(
            f"{head}: {cl_ord_id!r} is the ClOrdID of a request about order "
            f"{tracked.cl_ord_id!r}, not of an order: pass {tracked.cl_ord_id!r}"
        )
    if tracked.terminal:
        status = tracked.status.name.lower()
        later = tracked.replaced_by
        tail = f"; it continues as {later!r}: cancel that" if later else ""
        raise LocalProtocolError(
            f"{head}: order {cl_ord_id!r} is {status}: nothing left to cancel{tail}"
        )
    if not tracked.is_open:
        raise LocalProtocolError(
            f"{head}: order {cl_ord_id!r} replaces {tracked.orig_cl_ord_id!r} and Kalshi has not "
            "acknowledged it yet: wait for place() to return, then cancel it"
        )
