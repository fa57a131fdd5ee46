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
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.events import ApplicationMessage, Event
from kalshi_fix_sansio.trading.builders import RequestError, Requests
from kalshi_fix_sansio.trading.tracker import OrderRejected, OrderStatus

SYM = "HIGHNY-23DEC31"
D = Decimal


def order(cl: str, side: p.Side, qty: int, price: str, symbol: str = SYM) -> Any:
    return p.NewOrderSingle(
        cl_ord_id=cl,
        side=side,
        order_qty=D(qty),
        ord_type=p.OrdType.LIMIT,
        price=D(price),
        symbol=symbol,
        time_in_force=p.TimeInForce.GTC,
    )


def trade_of(cl: str) -> Any:
    def match(e: Event) -> bool:
        return (
            isinstance(e, ApplicationMessage)
            and getattr(e.message, "cl_ord_id", None) == cl
            and (e.message.exec_type == p.ExecType.TRADE)
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
            sold = await d.call(
                other.place(order("s-1", p.Side.SELL, 4, "0.42"), timeout=5, until="filled")
            )
            assert sold.status is OrderStatus.FILLED and sold.fills[0].qty == 4
            await d.wait_for(session, trade_of("b-1"))  # the tracker has seen it before the queue
            mine = session.tracker.order("b-1")
            assert mine.status is OrderStatus.PARTIALLY_FILLED and (
                mine.cum_qty,
                mine.leaves_qty,
            ) == (4, 6)
            (fill,) = mine.fills
            assert fill.price == D("0.42") and fill.fees >= 0 and fill.collateral
            assert session.tracker.position(SYM).net == 4 and other.tracker.position(SYM).net == -4

            replace = p.OrderCancelReplaceRequest(
                cl_ord_id="b-2",
                orig_cl_ord_id="b-1",
                order_qty=D(8),
                price=D("0.41"),
                side=p.Side.BUY,
                symbol=SYM,
                ord_type=p.OrdType.LIMIT,
            )
            replaced = await d.call(session.place(replace, timeout=5))
            assert (
                replaced.status is OrderStatus.PARTIALLY_FILLED and replaced.orig_cl_ord_id == "b-1"
            )
            assert (replaced.order_qty, replaced.leaves_qty, replaced.price) == (8, 4, D("0.41"))
            assert session.tracker.order("b-1").status is OrderStatus.REPLACED
            assert [o.cl_ord_id for o in session.tracker.open_orders()] == ["b-2"]

            cancel = p.OrderCancelRequest(
                cl_ord_id="c-1", orig_cl_ord_id="b-2", side=p.Side.BUY, symbol=SYM
            )
            canceled = await d.call(session.cancel(cancel, timeout=5))
            assert canceled.cl_ord_id == "b-2" and canceled.status is OrderStatus.CANCELED
            assert (
                canceled.cum_qty == 4
                and canceled.leaves_qty == 0
                and not session.tracker.open_orders()
            )

            again = p.OrderCancelRequest(
                cl_ord_id="c-2", orig_cl_ord_id="b-2", side=p.Side.BUY, symbol=SYM
            )
            with pytest.raises(OrderRejected) as too_late:  # an OrderCancelReject ends the wait
                await d.call(session.cancel(again, timeout=5))
            assert too_late.value.rejection.source == "cancel_reject"

            with pytest.raises(OrderRejected, match="MARKET_NOT_FOUND") as rejected:
                await d.call(
                    session.place(order("bad", p.Side.BUY, 1, "0.42", symbol="NOPE-1"), timeout=5)
                )
            assert rejected.value.rejection.source == "execution_report"
            assert session.tracker.order("bad").status is OrderStatus.REJECTED

            with pytest.raises(LocalProtocolError, match="already tracked"):
                await d.call(session.place(order("b-1", p.Side.BUY, 1, "0.42")))
            with pytest.raises(TimeoutError, match="no acknowledgement of slow"):
                await d.call(session.place(order("slow", p.Side.BUY, 1, "0.42"), timeout=0))

    run(adapter, scenario)


@ADAPTERS
def test_cancel_takes_a_cl_ord_id_or_a_tracked_order(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    """``cancel`` names the order by its ClOrdID or its `TrackedOrder` (what `place` returned):
    the request is built from the tracker's record (Side, Symbol, OrderID: the gateway answers a
    mismatch with 35=9). What cannot be cancelled is refused before anything is sent, naming it."""
    h = prediction_gateway
    rq = Requests("prediction", "KalshiNR")

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry()
        async with d.opened(session):
            await d.call(session.place(order("k-1", p.Side.BUY, 3, "0.42"), timeout=5))
            acked = await d.call(session.place(order("k-2", p.Side.BUY, 2, "0.41"), timeout=5))

            by_id = await d.call(session.cancel("k-1", timeout=5))
            assert (by_id.cl_ord_id, by_id.status) == ("k-1", OrderStatus.CANCELED)
            by_record = await d.call(
                session.cancel(acked, timeout=5)
            )  # a snapshot: looked up again
            assert (by_record.cl_ord_id, by_record.status) == ("k-2", OrderStatus.CANCELED)
            assert not session.tracker.open_orders()

            with pytest.raises(
                LocalProtocolError,
                match=r"^cancel\('nope'\): the prediction/KalshiNR "
                r"session's tracker knows no order with ClOrdID 'nope'",
            ):
                await d.call(session.cancel("nope"))
            with pytest.raises(
                LocalProtocolError,
                match=r"^cancel\('k-1'\): order 'k-1' is canceled: "
                "nothing left to cancel$",
            ):
                await d.call(session.cancel("k-1"))
            with pytest.raises(LocalProtocolError, match="order 'k-2' is canceled"):
                await d.call(
                    session.cancel(acked)
                )  # the snapshot still says NEW: the tracker knows
            with pytest.raises(
                LocalProtocolError,
                match=r"OrderCancelRequest \(35=F\), not a "
                r"NewOrderSingle \(35=D\): pass .* ClOrdID \(str\) or its TrackedOrder",
            ):
                await d.call(session.cancel(order("k-9", p.Side.BUY, 1, "0.42")))
            assert session.tracker.order("k-9") is None  # nothing was sent
            with pytest.raises(
                LocalProtocolError, match=r"cancel takes an OrderCancelRequest.*, got int: 42"
            ):
                await d.call(session.cancel(42))

            await d.call(session.place(order("k-3", p.Side.BUY, 1, "0.40"), timeout=5))
            await d.call(session.place(rq.replace(session.tracker.order("k-3"), price=D("0.39"),
                                                  cl_ord_id="k-4"), timeout=5))  # fmt: skip
            with pytest.raises(
                LocalProtocolError,
                match="'k-3' is replaced: nothing left to cancel; "
                "it continues as 'k-4': cancel that",
            ):
                await d.call(session.cancel("k-3"))
            session.send(rq.cancel(session.tracker.order("k-4"), cl_ord_id="kc-4"))
            with pytest.raises(
                LocalProtocolError,
                match="'kc-4' is the ClOrdID of a request about "
                "order 'k-4', not of an order: pass 'k-4'",
            ):
                await d.call(session.cancel("kc-4"))

    run(adapter, scenario)


def first_report(cl: str) -> Any:
    def match(e: Event) -> bool:
        return (
            isinstance(e, ApplicationMessage)
            and e.message.MSG_TYPE == "8"
            and (getattr(e.message, "cl_ord_id", None) == cl and e.message.exec_id != "-1;-1")
        )

    return match


def state(tracker: Any, *cl_ord_ids: str) -> Any:
    """What a replay must reproduce: per order its status, quantities, price and fills; positions."""
    orders = {
        cl: (
            o.status,
            o.cum_qty,
            o.leaves_qty,
            o.order_qty,
            o.price,
            o.replaced_by,
            [f.exec_id for f in o.fills],
        )
        for cl in cl_ord_ids
        if (o := tracker.order(cl)) is not None
    }
    return orders, {s: (x.bought, x.sold, x.fees) for s, x in tracker.positions.items()}


@ADAPTERS
def test_tracked_orders_build_the_next_request_and_a_replay_converges(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    """An order in an order group, partly filled, replaced and cancelled with requests built from
    the tracker's records; after a reconnect, a drop-copy replay of the account's reports (35=U1)
    changes nothing in that tracker (every ExecID already seen) and rebuilds the same state in a
    fresh one, which learns the group membership from `assign_group` (reports do not carry it)."""
    h = prediction_gateway
    rq = Requests("prediction", "KalshiNR")

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry()
        other = d.client(h, h.credentials("key-2")).order_entry()
        async with d.opened(session), d.opened(other):
            made = await d.call(session.wait_for(lambda e: getattr(e, "message", None) is not None
                                                 and e.message.MSG_TYPE == "UOH",
                                                 5, send=rq.create_order_group(100)))  # fmt: skip
            group = made.message.order_group_id
            await d.call(
                session.place(
                    rq.new_order(SYM, "buy", 10, D("0.42"), cl_ord_id="g-1", order_group_id=group)
                )
            )
            begin = (await d.wait_for(session, first_report("g-1"))).message.exec_id
            await d.call(
                other.place(order("s-1", p.Side.SELL, 4, "0.42"), timeout=5, until="filled")
            )
            await d.wait_for(session, trade_of("g-1"))
            tracked = session.tracker.order("g-1")
            assert tracked.group_id == group and tracked.cum_qty == 4

            replaced = await d.call(
                session.place(rq.replace(tracked, price=D("0.41"), cl_ord_id="g-2"), timeout=5)
            )
            assert (replaced.price, replaced.leaves_qty, replaced.group_id) == (D("0.41"), 6, group)
            with pytest.raises(RequestError, match=r"'g-1' is replaced.*continues as 'g-2'"):
                rq.cancel(session.tracker.order("g-1"))
            cancel = rq.cancel(session.tracker.current("g-1"), cl_ord_id="g-c")
            canceled = await d.call(session.cancel(cancel, timeout=5))
            assert canceled.cl_ord_id == "g-2" and canceled.status is OrderStatus.CANCELED
            assert [o.cl_ord_id for o in session.tracker.group(group)] == ["g-1", "g-2"]
            with pytest.raises(RequestError, match="'g-2' is canceled: nothing left to cancel"):
                rq.cancel(canceled)
            live = state(session.tracker, "g-1", "g-2")

        dc = d.client(h).drop_copy()  # the account's next connection: one per API key
        async with d.opened(dc):
            resend = Requests("prediction", "KalshiDC").event_resend(begin)
            done = await d.call(dc.wait_for(lambda e: getattr(getattr(e, "message", None), "MSG_TYPE", "") == "U2",
                                            5, send=resend))  # fmt: skip
            replayed = []
            while (event := await d.call(dc.next_event(0))) is not None:
                if isinstance(event, ApplicationMessage) and event.message.MSG_TYPE == "8":
                    replayed.append(event.message)
            assert (
                len(replayed) == done.message.resend_event_count == 4
            )  # new, trade, replaced, canceled
        session.tracker.on_messages(replayed)  # every ExecID already seen: nothing changes
        assert state(session.tracker, "g-1", "g-2") == live
        assert state(dc.tracker, "g-1", "g-2") == live  # the replay alone rebuilds the same state
        assert dc.tracker.group(group) == []  # ExecutionReports do not carry the group...
        dc.tracker.assign_group("g-1", group)  # ...learned where it is known
        assert [o.cl_ord_id for o in dc.tracker.group(group)] == ["g-1", "g-2"]

    run(adapter, scenario)
