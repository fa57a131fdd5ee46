"""How rejects and proofs of absence end an order's requests: the order tracker's reject rules.

`RejectRules` is the part of `kalshi_fix_sansio.trading.tracker.OrderTracker` that applies an
OrderCancelReject (35=9), a BusinessMessageReject (35=j) and a request proven never received
(`not_received`) to the tracked orders, and finds the order a 35=9 proves was never live
(`not_found_target`); the rules are the tracker's module docstring's. It keeps no state of
its own: the tracker's dicts are its.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._opencounts import OpenCounts
from ._orders import (
    NOT_FOUND,
    OrderStatus,
    Rejection,
    TrackedOrder,
    _code,
    _int,
    _live,
    ended_unseen,
    says_unknown_order,
)
from ._retention import Retention

__all__ = ["RejectRules"]

_REJECTED = OrderStatus.REJECTED
_PENDING = frozenset({OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE})


class RejectRules:
    """The order tracker's reject rules (see the module docstring)."""

    _orders: dict[str, TrackedOrder]
    _alias: dict[str, str]  # request ClOrdID -> the order's ClOrdID
    _cancels: dict[str, str]  # cancel request ClOrdID -> the order's ClOrdID
    _rejections: dict[str, Rejection]
    _retention: Retention
    _counts: OpenCounts | None  # the tracker's live-order counts, when kept
    order: Callable[[str], TrackedOrder | None]  # the tracker's: an order by any of its ClOrdIDs

    def not_received(self, cl_ord_id: str, text: str) -> TrackedOrder | None:
        """End a request the exchange is proven never to have received (a complete drop-copy
        replay of its exchange index holds no report of it): an unanswered new order or
        replacement becomes REJECTED with a `Rejection` of source ``"not_received"``, and a
        replace's order is live again. Nothing happens to an order already answered.

        Returns:
            The order, or None when ``cl_ord_id`` is not an unanswered request.
        """
        order = self._orders.get(cl_ord_id)
        if order is None or order.acknowledged or order.terminal:
            return None
        self._reject_request(Rejection(cl_ord_id, "not_received", text, None), None)
        return order

    def _reject_request(self, rejection: Rejection, orig: str | None) -> None:
        cl = rejection.cl_ord_id
        if cl not in self._rejections and cl not in self._orders and cl not in self._alias:
            self._retention.loosen(cl)  # a request no tracked order owns: kept among the loose ends
        self._rejections[cl] = rejection
        request = self._orders.get(cl)
        if request is not None and not request.acknowledged and not request.terminal:
            request.status = _REJECTED
            request.rejection = rejection
            orig = orig or request.orig_cl_ord_id
            self._retention.finished(request)
        target = self._orders.get(orig) if orig is not None else None
        if target is None and cl in self._cancels:
            target = self._orders.get(self._cancels[cl])
        if target is not None and target.status in _PENDING:
            target.status = _live(target)
        counts = self._counts
        if counts is not None:
            if request is not None:
                counts.update(request)
            if target is not None:
                counts.update(target)

    def _cancel_reject(self, message: Any) -> None:
        cl = _code(message.cl_ord_id)
        if cl is None:
            return
        rejection = Rejection(
            cl, "cancel_reject", message.text, _int(message.cxl_rej_reason), message
        )
        orig = _code(message.orig_cl_ord_id)
        target = self.not_found_target(message)
        self._reject_request(rejection, orig)
        if target is not None:
            self._reject_request(
                Rejection(target.cl_ord_id, NOT_FOUND, message.text, rejection.reason, message),
                None,
            )

    def not_found_target(self, message: Any) -> TrackedOrder | None:
        """The order an OrderCancelReject (35=9) proves was never live, or None: the 35=9
        says the exchange does not know the order (`says_unknown_order`), and the order it
        names (OrigClOrdID, else the cancel or replace request's ClOrdID) is tracked, open and
        was never acknowledged by Kalshi. Feeding the 35=9 ends that order REJECTED (source
        ``"not_found"``); this asks before, changing nothing. A 35=9 whose OrdStatus(39) is
        that of an order the exchange had (canceled, expired, filled: anything but 8) proves
        the opposite: the order was live and ended, its fills not said (`ended_unseen`)."""
        if not says_unknown_order(message) or ended_unseen(message):
            return None
        cl = _code(message.cl_ord_id)
        orig = _code(message.orig_cl_ord_id)
        target = self.order(orig) if orig is not None else None
        if target is None and cl is not None:
            target = self.order(self._cancels.get(cl) or self._alias.get(cl, ""))
            if target is None:  # a replacement request: the order it names
                request = self._orders.get(cl)
                if request is not None and request.orig_cl_ord_id is not None:
                    target = self.order(request.orig_cl_ord_id)
        if target is None or target.acknowledged or target.terminal or target.cl_ord_id == cl:
            return None
        return target

    def _business_reject(self, message: Any) -> None:
        cl = _code(message.business_reject_ref_id)
        if cl is None:
            return
        rejection = Rejection(
            cl, "business_reject", message.text, _int(message.business_reject_reason), message
        )
        self._reject_request(rejection, None)
