"""A kill settles what the exchange proves gone: an order it does not know was never live.

An order lost in flight at a drop never reaches the exchange: the tracker holds it PENDING_NEW
and nothing acknowledges it. The kill's OrderCancelRequest for it is answered OrderCancelReject
(35=9) CxlRejReason 1, unknown order (Text ``NOT_FOUND`` on the mock gateway): the tracker ends
it REJECTED (`Rejection` source ``"not_found"``), an `OrderNotFound` event says so and the kill
reports done. A report of that order arriving after all wins (its fills count). Sans-IO with the
`Driver` over the exchange in memory first, then per adapter against the mock gateway over TLS.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run
from test_driver import Harness
from test_kill_switch import limit, open_at_gateway, retrying, sent_types
from test_lost_in_flight import lose_in_flight

from kalshi_fix_sansio import Disconnected, OrderRejected, OrdersUnknown, Reconnected
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.trading.killswitch import KillReport
from kalshi_fix_sansio.trading.tracker import (
    NOT_FOUND,
    OrderNotFound,
    OrderStatus,
    OrderTracker,
    says_unknown_order,
)

SYMBOL = "HIGHNY-23DEC31"


def not_found_events(events: list[Any]) -> list[OrderNotFound]:
    return [e for e in events if isinstance(e, OrderNotFound)]


# -- sans-IO: the Driver over the exchange in memory ------------------------------------------


def test_a_kill_after_an_order_lost_in_flight_ends_it_not_found_and_is_done() -> None:
    h = Harness(settle_unknown=False)  # the kill's own cancel asks, not the session
    events = lose_in_flight(h, h.order("lost", "buy", 3))  # auto-routed: stays PENDING_NEW
    assert [e.cl_ord_id for e in not_found_events(events)] == []
    assert any(isinstance(e, OrdersUnknown) for e in events)
    assert h.tracked("lost").status is OrderStatus.PENDING_NEW
    kill = h.driver.kill(h.now, fallback_after=0.5)
    h.pump()
    assert not kill.done  # the 35=q answered; "lost" waits for its own 35=F
    h.advance(0.5)
    assert sent_types(h) == ["q", "F"]
    assert kill.done and kill.finished_at is not None
    order = h.tracked("lost")
    assert order.status is OrderStatus.REJECTED and not order.is_open and order.cum_qty == 0
    assert order.rejection is not None
    assert (order.rejection.source, order.rejection.text, order.rejection.reason) == (
        NOT_FOUND,
        "NOT_FOUND",
        1,
    )
    (said,) = not_found_events(h.read())
    assert said.cl_ord_id == "lost" and said.text == "NOT_FOUND" and said.request != "lost"
    report = kill.report(h.now)
    assert report.done and report.still_open == () and report.confirmed is True
    assert report.not_found == ("lost",)
    assert ("lost", OrderStatus.REJECTED) in report.canceled
    assert ("acked", OrderStatus.CANCELED) in report.canceled
    assert report.counts == {"canceled": 1, "gone": 1, "not_found": 1, "still_open": 0}
    assert "lost: REJECTED (not found: the exchange does not know it; never live)" in str(report)


def test_on_kalshi_rt_an_order_the_exchange_never_saw_is_settled_by_its_cancel() -> None:
    h = Harness(session_type="KalshiRT")
    h.start()
    ghost = h.order("ghost-1", "buy", 1)
    h.driver.tracker.sent(ghost)  # tracked as sent, never reached the exchange
    waiter = h.driver.desk.order_waiter(h.order("ghost-2", "buy", 1))
    h.driver.tracker.sent(h.order("ghost-2", "buy", 1))
    kill = h.driver.kill(h.now)
    h.pump()
    assert sent_types(h) == ["F", "F"] and kill.done
    report = kill.report(h.now)
    assert sorted(report.not_found) == ["ghost-1", "ghost-2"]
    assert report.confirmed is False  # KalshiRT: orders this session never saw stay unseen
    assert waiter.done  # a place() waiting for it is answered with why
    with pytest.raises(OrderRejected, match="NOT_FOUND"):
        waiter.outcome()
    assert sorted(e.cl_ord_id for e in not_found_events(h.read())) == ["ghost-1", "ghost-2"]


# -- the tracker's rule ------------------------------------------------------------------------


def nos(cl: str) -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=cl,
        side=p.Side.BUY,
        order_qty=Decimal(5),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.40"),
        symbol=SYMBOL,
    )


def cancel_reject(cl: str, orig: str | None, reason: int, text: str | None) -> Any:
    return p.OrderCancelReject(
        order_id="NONE",
        cl_ord_id=cl,
        orig_cl_ord_id=orig,
        ord_status=p.OrdStatus.REJECTED,
        cxl_rej_response_to=p.CxlRejResponseTo.ORDER_CANCEL_REQUEST,
        cxl_rej_reason=reason,
        text=text,
    )


def cancel(cl: str, orig: str) -> p.OrderCancelRequest:
    return p.OrderCancelRequest(cl_ord_id=cl, orig_cl_ord_id=orig, side=p.Side.BUY, symbol=SYMBOL)


def report(cl: str, exec_id: str, exec_type: str, status: str, cum: int, **fields: Any) -> Any:
    return p.ExecutionReport(
        cl_ord_id=cl,
        order_id="00000000-0000-4000-8000-0000000000aa",
        exec_id=exec_id,
        exec_type=p.ExecType(exec_type),
        ord_status=p.OrdStatus(status),
        side=p.Side.BUY,
        symbol=SYMBOL,
        order_qty=Decimal(5),
        cum_qty=Decimal(cum),
        leaves_qty=Decimal(5 - cum),
        **fields,
    )


@pytest.mark.parametrize(
    ("reason", "text", "taken"),
    [
        (1, "NOT_FOUND", True),
        (1, None, True),
        (1, "ORDER_ATTRIBUTES_MISMATCH", False),  # the request did not match: proves nothing
        (0, None, False),  # too late: filled
        (99, "INVALID_ORDER", False),
    ],
)
def test_only_an_unknown_order_answer_ends_an_unacknowledged_order(
    reason: int, text: str | None, taken: bool
) -> None:
    tracker = OrderTracker()
    tracker.sent(nos("o-1"))
    tracker.sent(cancel("c-1", "o-1"))
    answer = cancel_reject("c-1", "o-1", reason, text)
    assert says_unknown_order(answer) is taken
    assert (tracker.not_found_target(answer) is not None) is taken
    tracker.on_message(answer)
    order = tracker.order("o-1")
    assert order is not None
    assert order.status is (OrderStatus.REJECTED if taken else OrderStatus.PENDING_NEW)
    rejection = tracker.rejection("o-1")
    assert (rejection is not None and rejection.source == NOT_FOUND) is taken
    assert tracker.rejection("c-1") is not None  # the cancel's own rejection, either way


def test_the_order_is_found_without_origclordid_through_its_cancel() -> None:
    tracker = OrderTracker()
    tracker.sent(nos("o-1"))
    tracker.sent(cancel("c-1", "o-1"))
    tracker.on_message(cancel_reject("c-1", None, 1, "NOT_FOUND"))
    order = tracker.order("o-1")
    assert order is not None and order.status is OrderStatus.REJECTED


def test_a_report_of_an_order_not_found_wins_and_its_fills_count() -> None:
    tracker = OrderTracker()
    tracker.sent(nos("o-1"))
    tracker.sent(cancel("c-1", "o-1"))
    tracker.on_message(cancel_reject("c-1", "o-1", 1, "NOT_FOUND"))
    assert tracker.open_orders() == []
    # the exchange had it after all (a late acknowledgement, a drop-copy replay): it lives
    tracker.on_message(report("o-1", "5;1", "0", "0", 0))
    order = tracker.order("o-1")
    assert order is not None and order.status is OrderStatus.NEW and order.is_open
    assert order.rejection is None and tracker.rejection("o-1") is None
    assert [o.cl_ord_id for o in tracker.open_orders()] == ["o-1"]
    tracker.on_message(
        report("o-1", "5;2", "F", "1", 2, last_qty=Decimal(2), last_px=Decimal("0.40"))
    )
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert tracker.position(SYMBOL).net == 2 and len(tracker.fills) == 1  # never lost


def test_a_fill_reported_for_an_order_not_found_counts_and_the_report_wins() -> None:
    tracker = OrderTracker()
    tracker.sent(nos("o-1"))
    tracker.sent(cancel("c-1", "o-1"))
    tracker.on_message(cancel_reject("c-1", "o-1", 1, "NOT_FOUND"))
    tracker.on_message(
        report("o-1", "7;1", "F", "2", 5, last_qty=Decimal(5), last_px=Decimal("0.40"))
    )
    order = tracker.order("o-1")
    assert order is not None and order.status is OrderStatus.FILLED  # the exchange said so
    assert tracker.position(SYMBOL).net == 5


def test_a_pending_report_does_not_revive_an_order_not_found() -> None:
    tracker = OrderTracker()
    tracker.sent(nos("o-1"))
    tracker.sent(cancel("c-1", "o-1"))
    tracker.on_message(cancel_reject("c-1", "o-1", 1, "NOT_FOUND"))
    tracker.on_message(report("o-1", "-1;-1", "A", "A", 0))
    order = tracker.order("o-1")
    assert order is not None and order.status is OrderStatus.REJECTED


# -- end to end, per adapter, against the mock gateway over TLS -------------------------------------


@ADAPTERS
def test_a_kill_after_an_order_lost_at_a_drop_reports_done_per_adapter(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = retrying(d, h).order_entry()
        async with d.opened(session):
            await d.call(session.place(limit(f"{adapter}-acked")))
            # the gateway stops reading this connection: the order written now is never read
            h.gateway.faults.silent = True
            session.send(limit(f"{adapter}-lost"))
            assert h.gateway.disconnect("key-1") == 1  # and the line drops
            h.gateway.faults.silent = False
            await d.wait_for(session, lambda e: isinstance(e, Disconnected), 10)
            await d.wait_for(session, lambda e: isinstance(e, Reconnected), 10)
            lost = session.tracker.order(f"{adapter}-lost")
            assert lost is not None and lost.status is OrderStatus.PENDING_NEW
            assert open_at_gateway(h) == [f"{adapter}-acked"]
            report: KillReport = await d.call(session.kill(timeout=10, fallback_after=0.2))
            assert report.done and report.still_open == (), str(report)
            assert report.not_found == (f"{adapter}-lost",) and report.confirmed is True
            assert open_at_gateway(h) == []
            order = session.tracker.order(f"{adapter}-lost")
            assert order is not None and order.status is OrderStatus.REJECTED
            said = await d.wait_for(session, lambda e: isinstance(e, OrderNotFound), 5)
            assert said.cl_ord_id == f"{adapter}-lost"

    run(adapter, scenario)
