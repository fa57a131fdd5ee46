"""`place` / `cancel` and the session's order tracker, end to end through each adapter.

Against the mock gateway (prediction book: bid 0.40, ask 0.45): key-1 rests a buy at 0.42,
key-2 sells into it (a partial fill), key-1 replaces, cancels, and sees a rejected cancel and a
rejected order raise `OrderRejected` with Kalshi's reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.errors import LocalProtocolError
from kalshi_fix_sansio.events import ApplicationMessage, Event
from kalshi_fix_sansio.tracker import OrderRejected, OrderStatus

SYM = "HIGHNY-23DEC31"
D = Decimal


def order(cl: str, side: p.Side, qty: int, price: str, symbol: str = SYM) -> Any:
    return p.NewOrderSingle(
        cl_ord_id=cl, side=side, order_qty=D(qty), ord_type=p.OrdType.LIMIT, price=D(price),
        symbol=symbol, time_in_force=p.TimeInForce.GTC,
    )


def trade_of(cl: str) -> Any:
    def match(e: Event) -> bool:
        return isinstance(e, ApplicationMessage) and getattr(e.message, "cl_ord_id", None) == cl and (
            e.message.exec_type == p.ExecType.TRADE
        )
    return match


@ADAPTERS
def test_place_fill_replace_cancel(adapter: str, prediction_gateway: GatewayHarness) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry()
        other = d.client(h, h.credentials("key-2")).order_entry()
        async with d.opened(session), d.opened(other):
            acked = await d.call(session.place(order("b-1", p.Side.BUY, 10, "0.42"), timeout=5))
            assert acked.status is OrderStatus.NEW and acked.leaves_qty == 10 and acked.order_id
            # key-2 sells 4 into it: its own order is final (filled) at once
            sold = await d.call(other.place(order("s-1", p.Side.SELL, 4, "0.42"), timeout=5, until="filled"))
            assert sold.status is OrderStatus.FILLED and sold.fills[0].qty == 4
            await d.wait_for(session, trade_of("b-1"))  # the tracker has seen it before the queue
            mine = session.tracker.order("b-1")
            assert mine.status is OrderStatus.PARTIALLY_FILLED and (mine.cum_qty, mine.leaves_qty) == (4, 6)
            (fill,) = mine.fills
            assert fill.price == D("0.42") and fill.fees >= 0 and fill.collateral
            assert session.tracker.position(SYM).net == 4 and other.tracker.position(SYM).net == -4

            replace = p.OrderCancelReplaceRequest(
                cl_ord_id="b-2", orig_cl_ord_id="b-1", order_qty=D(8), price=D("0.41"), side=p.Side.BUY,
                symbol=SYM, ord_type=p.OrdType.LIMIT,
            )
            replaced = await d.call(session.place(replace, timeout=5))
            assert replaced.status is OrderStatus.PARTIALLY_FILLED and replaced.orig_cl_ord_id == "b-1"
            assert (replaced.order_qty, replaced.leaves_qty, replaced.price) == (8, 4, D("0.41"))
            assert session.tracker.order("b-1").status is OrderStatus.REPLACED
            assert [o.cl_ord_id for o in session.tracker.open_orders()] == ["b-2"]

            cancel = p.OrderCancelRequest(cl_ord_id="c-1", orig_cl_ord_id="b-2", side=p.Side.BUY, symbol=SYM)
            canceled = await d.call(session.cancel(cancel, timeout=5))
            assert canceled.cl_ord_id == "b-2" and canceled.status is OrderStatus.CANCELED
            assert canceled.cum_qty == 4 and canceled.leaves_qty == 0 and not session.tracker.open_orders()

            again = p.OrderCancelRequest(cl_ord_id="c-2", orig_cl_ord_id="b-2", side=p.Side.BUY, symbol=SYM)
            with pytest.raises(OrderRejected) as too_late:  # an OrderCancelReject ends the wait
                await d.call(session.cancel(again, timeout=5))
            assert too_late.value.rejection.source == "cancel_reject"

            with pytest.raises(OrderRejected, match="MARKET_NOT_FOUND") as rejected:
                await d.call(session.place(order("bad", p.Side.BUY, 1, "0.42", symbol="NOPE-1"), timeout=5))
            assert rejected.value.rejection.source == "execution_report"
            assert session.tracker.order("bad").status is OrderStatus.REJECTED

            with pytest.raises(LocalProtocolError, match="already tracked"):
                await d.call(session.place(order("b-1", p.Side.BUY, 1, "0.42")))
            with pytest.raises(TimeoutError, match="no acknowledgement of slow"):
                await d.call(session.place(order("slow", p.Side.BUY, 1, "0.42"), timeout=0))

    run(adapter, scenario)
