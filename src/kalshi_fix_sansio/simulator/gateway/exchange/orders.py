"""Orders: creating them, taking them out of the book, cancelling and expiring them.

An order lives in `ExchangeState.open` (by OrderID) and `ExchangeState.by_cl` (by account and
ClOrdID) while open, and in its market's `Book` while resting. This module is the one place an
order leaves the book: by a fill (`close`), a cancel of any kind (`cancel`), or expiry. Once
finished an order is dropped from all three; what a later cancel or cancel/replace naming it is
answered with stays in `ExchangeState.finished` (`Finished`) for the last ``finished_orders``
finished client orders (`FINISHED_ORDERS_KEPT` by default), so the exchange's memory stays flat
however many orders pass through it. An order forgotten so is unknown: a cancel naming it gets
35=9 102=1 ``NOT_FOUND``, as for a ClOrdID never used. The expiry heap is rebuilt from the open
orders when stale entries (orders finished or replaced before their ExpireTime) outnumber them.

* TimeInForce omitted = GTC. Day orders expire at 11:59:59.999 pm US Eastern time (DST by the US
  rules). Expiry is checked at the start of every call (`Exchange.tick` does only that): an
  order expires when ``now >= ExpireTime``. It is reported as Canceled without Text, or Expired
  (150=C, 39=C) to sessions that connected with ``use_expired_ord_status=True``.
* System cancels carry Text where Kalshi has a fitting code: ``TRADING_PAUSED`` /
  ``EXCHANGE_PAUSED`` (CancelOrderOnPause), ``MARKET_ALREADY_CLOSED`` (settlement),
  ``ORDER_GROUP_CANCEL``, ``IMMEDIATE_OR_CANCELLED`` and the STP/FOK/post-only texts. User, mass
  and cancel-on-disconnect cancels carry none. Cancel reports of unsolicited cancels use the
  order's ClOrdID as both ClOrdID and OrigClOrdID.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from decimal import Decimal
from typing import Final

from .common import HOUSE_ACCOUNT, ZERO, Status, holder_of, to_ms
from .market_data import MarketData
from .model import Order
from .reports import Reports
from .state import ExchangeState

__all__ = ["FINISHED_ORDERS_KEPT", "Orders"]

FINISHED_ORDERS_KEPT: Final = 100_000
"""How many finished client orders the exchange remembers for cancels naming them (and, apart,
how many closed RFQs): the default of `Exchange`'s ``finished_orders``."""


class Orders:
    """The open orders' lifecycle."""

    def __init__(self, state: ExchangeState, reports: Reports, md: MarketData) -> None:
        self.state = state
        self.reports = reports
        self.md = md

    def new_order(
        self,
        *,
        cl_ord_id: str,
        account: str,
        alloc: int | None,
        party: str | None,
        session_id: str | None,
        symbol: str,
        side: str,
        price: Decimal,
        qty: Decimal,
        tif: str,
        expire: datetime | None,
        post_only: bool,
        reduce_only: bool,
        stp: int,
        cancel_on_pause: bool,
        group_id: str | None,
        register: bool = True,
    ) -> Order:
        """A new order (registered as open unless ``register`` is False); not yet in a book."""
        holder = holder_of(account, alloc, party)
        order = Order(
            order_id=self.state.uuid(),
            cl_ord_id=cl_ord_id,
            account=account,
            holder=holder,
            alloc_account=alloc,
            party_id=party,
            session_id=session_id,
            symbol=symbol,
            side=side,
            price=price,
            order_qty=qty,
            tif=tif,
            expire_dt=None if expire is None else to_ms(expire),
            expire_ts=None if expire is None else expire.timestamp(),
            post_only=post_only,
            reduce_only=reduce_only,
            stp=stp,
            cancel_on_pause=cancel_on_pause,
            group_id=group_id,
            seq=self.state.next_seq(),
            leaves_qty=qty,
        )
        placed_by = self.state.sessions.get(session_id) if session_id is not None else None
        if placed_by is not None:
            order.session_type = placed_by.session_type
        if register:
            self.state.open[order.order_id] = order
            self.state.by_cl[(account, cl_ord_id)] = order
            self.watch_expiry(order)
        return order

    def watch_expiry(self, order: Order) -> None:
        """Remember when an open order with an ExpireTime expires (`expire_due` finds it)."""
        if order.expire_ts is None:
            return
        state = self.state
        heapq.heappush(state.expiries, (order.expire_ts, order.seq, order.order_id))
        if state.due_listener is not None:
            state.due_listener()
        if len(state.expiries) > 2 * len(state.open) + 1024:  # mostly stale: keep the live ones
            state.expiries = [
                (o.expire_ts, o.seq, o.order_id)
                for o in state.open.values()
                if o.expire_ts is not None
            ]
            heapq.heapify(state.expiries)

    def close(self, order: Order) -> None:
        """Take a finished order out of the book and the open set (leaves already settled and
        its status final), keeping what a cancel naming it needs (`ExchangeState.remember`)."""
        state = self.state
        if order.resting:
            book = state.books[order.symbol]
            self.md.mark(book)
            self.md.touch(order)
            book.remove(order)
        order.open = False
        state.open.pop(order.order_id, None)
        key = (order.account, order.cl_ord_id)
        if state.by_cl.get(key) is order:
            del state.by_cl[key]
        if order.account != HOUSE_ACCOUNT:
            state.remember(order)

    def cancel(
        self,
        order: Order,
        *,
        text: str | None,
        cl_ord_id: str | None = None,
        expired: bool = False,
    ) -> None:
        """Cancel an open order: out of its book, a Canceled (or expired) report."""
        if order.resting:
            book = self.state.books[order.symbol]
            self.md.mark(book)
            book.resize(order, ZERO)
            self.md.touch(order)
        order.leaves_qty = ZERO
        order.status = Status.CANCELED
        self.close(order)
        self.reports.emit(
            self.reports.report(
                order,
                Status.CANCELED,
                Status.CANCELED,
                cl_ord_id=cl_ord_id,
                orig_cl_ord_id=order.cl_ord_id,
                text=text,
                expired=expired,
            )
        )

    def expire_due(self) -> None:
        """Expire the orders whose ExpireTime has come (``now >= ExpireTime``)."""
        now, heap, open_orders = self.state.now, self.state.expiries, self.state.open
        due = []
        while heap and heap[0][0] <= now:
            expire_ts, _, order_id = heapq.heappop(heap)
            order = open_orders.get(order_id)
            if order is not None and order.expire_ts == expire_ts:  # else stale: replaced, closed
                due.append(order)
        due.sort(key=lambda o: (o.expire_ts, o.seq))
        for order in due:
            if order.open:
                self.cancel(order, text=None, expired=True)
