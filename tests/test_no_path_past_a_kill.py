"""No path past a kill: while halted, a KalshiRT resend never carries an order to the exchange.

An order written while the exchange is not reading (it sits in the client's socket), then the
kill switch, then the connection drops: on the reconnect the exchange asks for what it missed
(ResendRequest) and the session answers from its store. While halted, every stored message the
halt refuses (new orders, replaces, quotes) is gap-filled instead of resent: the exchange never
receives it, the tracker ends it REJECTED (source ``"not_received"``) and a `ResendWithheld`
event names it. Cancels are still resent. Sans-IO first (a session pair), then end to end on
every adapter through a relay that holds the client's bytes back, then resets.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway_fixtures import SYMBOL, GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run

from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.client import Endpoint
from kalshi_fix_sansio.client.supervisor import Reconnected
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    ResendRequestReceived,
    ResendWithheld,
)
from kalshi_fix_sansio.simulator.testing import SessionPair
from kalshi_fix_sansio.simulator.testing.relay import FaultRelay
from kalshi_fix_sansio.trading.gate import WITHHELD_WHILE_HALTED, OrderGate
from kalshi_fix_sansio.trading.tracker import OrderStatus

BID = Decimal("0.30")


def buy(cl_ord_id: str, qty: int = 5) -> Any:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(qty),
        ord_type=p.OrdType.LIMIT,
        price=BID,
        symbol=SYMBOL["prediction"],
        time_in_force=p.TimeInForce.GTC,
    )


# -- sans-IO: the session answers a ResendRequest while halted --------------------------------


def halted_pair() -> tuple[SessionPair, OrderGate, threading.Event]:
    """A KalshiRT pair whose client has an order gate; while ``lost`` is set, nothing the
    client writes reaches the exchange."""
    gate = OrderGate("prediction")
    pair = SessionPair.kalshi(session_type="KalshiRT", order_gate=gate)
    lost = threading.Event()
    pair.filter_bytes = lambda way, data: b"" if lost.is_set() and way == "c2s" else data
    return pair, gate, lost


def test_a_halted_session_gap_fills_a_stored_order_and_resends_a_cancel() -> None:
    pair, gate, lost = halted_pair()
    tracker = gate.tracker
    pair.start()
    lost.set()  # the exchange reads nothing from here on
    order_seq = pair.client.session.send(buy("sneak"), pair.now)
    cancel = p.OrderCancelRequest(
        cl_ord_id="c-1", orig_cl_ord_id="sneak", side=p.Side.BUY, symbol=SYMBOL["prediction"]
    )
    cancel_seq = pair.client.session.send(cancel, pair.now)
    pair.pump()
    gate.halt("the kill switch")
    lost.clear()
    pair.client.session.send_test_request(pair.now)  # the exchange sees the gap: it asks
    pair.pump()

    withheld = [e for e in pair.client.events if isinstance(e, ResendWithheld)]
    assert withheld == [ResendWithheld((order_seq,), ("D",), ("sneak",))]
    answered = [e for e in pair.client.events if isinstance(e, ResendRequestReceived)]
    assert answered[-1].resent == 1 and answered[-1].gap_filled >= 1
    got = [
        e.message for e in pair.server.events if isinstance(e, ApplicationMessage)
    ]  # the exchange: the cancel came again, the order never
    assert [m.MSG_TYPE for m in got] == ["F"]
    assert got[0].header.msg_seq_num == cancel_seq and got[0].header.poss_dup_flag
    order = tracker.order("sneak")
    assert order is not None and order.status is OrderStatus.REJECTED
    assert order.rejection is not None
    assert (order.rejection.source, order.rejection.text) == ("not_received", WITHHELD_WHILE_HALTED)


def test_a_session_not_halted_resends_the_order() -> None:
    """The rule is the halt's: the same resend without it carries the order (PossDup)."""
    pair, _, lost = halted_pair()
    pair.start()
    lost.set()
    pair.client.session.send(buy("kept"), pair.now)
    pair.pump()
    lost.clear()
    pair.client.session.send_test_request(pair.now)
    pair.pump()
    assert not any(isinstance(e, ResendWithheld) for e in pair.client.events)
    got = [e.message for e in pair.server.events if isinstance(e, ApplicationMessage)]
    assert [m.MSG_TYPE for m in got] == ["D"] and got[0].cl_ord_id == "kept"


# -- end to end: the order held back, the kill, the drop, the reconnect ------------------------


async def kill_now(d: Driver, session: Any) -> None:
    """Press the kill switch and return at once (its report is not waited for: nothing can
    answer while the exchange does not read)."""
    if d.adapter == "blocking":
        session.kill(timeout=0.0)
    else:
        await session.kill(timeout=0.0)


@ADAPTERS
def test_an_order_held_back_before_a_kill_never_reaches_the_exchange(
    adapter: str, prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    relay = FaultRelay("127.0.0.1", h.gateway.ports["KalshiRT"]).start()
    endpoints = h.endpoints()
    endpoints["KalshiRT"] = Endpoint("127.0.0.1", relay.port, server_hostname="localhost")

    async def scenario(d: Driver) -> None:
        client = d.client(
            h,
            endpoints=endpoints,
            backoff=Backoff(base=0.05, cap=0.2, attempts=None, seed=2),
            store_dir=tmp_path / "stores",
        )
        session = client.order_entry(retransmission=True)
        async with d.opened(session):
            await d.call(session.place(buy("rest-0"), timeout=10))
            assert relay.stall("up") == 1  # the exchange reads nothing more of this connection
            session.send(buy("sneak"))  # written: waits in the client's socket
            await kill_now(d, session)
            assert relay.reset() == 1  # the connection drops: the written bytes with it
            withheld = await d.wait_for(session, lambda e: isinstance(e, ResendWithheld), 15)
            assert "sneak" in withheld.cl_ord_ids
            await d.wait_for(session, lambda e: isinstance(e, Reconnected), 15)
            order = session.tracker.order("sneak")
            assert order is not None and order.status is OrderStatus.REJECTED
            report = await d.call(session.kill(timeout=10))
            assert report.done, report
        on_exchange = h.gateway.call(lambda: h.gateway.exchange.open_orders("key-1"))
        assert [o.cl_ord_id for o in on_exchange] == []
        held = h.gateway.call(lambda: h.gateway.exchange.position(SYMBOL["prediction"], "key-1"))
        assert held == 0

    try:
        run(adapter, scenario)
    finally:
        relay.close_relay()
