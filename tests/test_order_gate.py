"""The order gate: no order reaches the wire past a kill or a limit, on any path.

Every path an application can reach — the `Driver`, its `Supervisor` and its `Session`, a plain
`Session` of the embedding guide, re-subscriptions, RFQ quote messages — meets the same
`OrderGate` in the session's writer. Each test goes through a documented public object and
fails if the gate's check on that path is removed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from test_driver import Harness

from kalshi_fix_sansio import (
    KillFinished,
    KillStarted,
    LocalProtocolError,
    OrderGate,
    OrdersUnknown,
    ResubscriptionRefused,
    RiskLimitExceeded,
    RiskLimits,
    TradingHalt,
    TradingHalted,
)
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.session.config import Role, SessionConfig
from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.session.store import MemoryStore, StoreError
from kalshi_fix_sansio.simulator.testing import SessionPair
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.tracker import OrderStatus

SYMBOL = "HIGHNY-23DEC31"
QUOTE_ID = "6f1c1d36-8e0b-4a0e-9a57-6d3a1c2b3e4f"
RFQ_ID = "0b7f3f5e-2f0a-4d8e-8a51-9e6c2d4f1a7b"


def order(cl: str, qty: int = 2, price: str = "0.42") -> Any:
    return p.NewOrderSingle(
        cl_ord_id=cl,
        side=p.Side.BUY,
        order_qty=Decimal(qty),
        ord_type=p.OrdType.LIMIT,
        price=Decimal(price),
        symbol=SYMBOL,
        time_in_force=p.TimeInForce.GTC,
    )


def received_types(pair: SessionPair) -> list[str]:
    return [e.message.MSG_TYPE for e in pair.server.events if hasattr(e, "message")]


def gated_pair(gate: OrderGate, session_type: str = "KalshiNR") -> SessionPair:
    pair = SessionPair.kalshi("prediction", session_type, order_gate=gate)
    pair.start()
    return pair


# -- the driver's own objects ---------------------------------------------------------------------


def test_resubscribe_is_refused_for_an_order_on_every_layer() -> None:
    h = Harness()
    h.start()
    with pytest.raises(LocalProtocolError, match="not a subscription"):
        h.driver.send(order("o-1"), h.now, resubscribe=True)
    with pytest.raises(LocalProtocolError, match="not a subscription"):
        h.driver.supervisor.send(order("o-2"), h.now, resubscribe=True)
    assert h.driver.tracker.order("o-1") is None and h.exchange.open_orders("key-1") == []


def test_a_subscription_may_still_be_resent() -> None:
    h = Harness(session_type="KalshiMD")
    h.start()
    h.driver.send(Requests("prediction", "KalshiMD").subscribe(SYMBOL), h.now, resubscribe=True)
    h.drop()
    h.reconnect()
    assert sum(b"\x0135=V\x01" in frame for frame in h.sent) == 2


@pytest.mark.parametrize("path", ["session", "supervisor"])
def test_the_drivers_session_and_supervisor_meet_the_halt_and_the_limits(path: str) -> None:
    h = Harness(risk_limits=RiskLimits(max_order_qty=10))
    h.start()
    send = h.driver.supervisor.session.send if path == "session" else h.driver.supervisor.send
    assert send is not None
    with pytest.raises(RiskLimitExceeded, match="max_order_qty"):
        send(order("big", qty=100), h.now)
    send(order("ok"), h.now)  # tracked although it bypassed Driver.send
    h.pump()
    assert h.driver.tracker.order("ok") is not None
    assert h.driver.tracker.order("ok").status is OrderStatus.NEW  # type: ignore[union-attr]
    h.driver.kill(h.now)
    h.pump()
    with pytest.raises(TradingHalted):
        h.driver.supervisor.session.send(order("late"), h.now)  # type: ignore[union-attr]
    with pytest.raises(TradingHalted):
        h.driver.supervisor.send(order("late"), h.now)
    assert h.exchange.open_orders("key-1") == []


def test_a_resubscribed_order_cannot_come_back_after_a_kill() -> None:
    # the hole: an order sent with resubscribe=True went out again after every reconnect
    h = Harness()
    h.start()
    with pytest.raises(LocalProtocolError):
        h.driver.send(order("sticky"), h.now, resubscribe=True)
    h.driver.send(order("plain"), h.now)
    h.pump()
    h.driver.kill(h.now)
    h.pump()
    h.drop()
    h.reconnect()
    assert h.exchange.open_orders("key-1") == [] and h.driver.gate.halted


# -- a plain Session with a gate (the embedding guide) ----------------------------------------------


def test_a_plain_session_takes_limits_and_a_halt() -> None:
    gate = OrderGate("prediction", risk_limits=RiskLimits(max_order_qty=10))
    pair = gated_pair(gate)
    session = pair.client.session
    next_seq = session.next_sender_seq
    with pytest.raises(RiskLimitExceeded):
        session.send(order("big", qty=11), pair.now)
    assert session.next_sender_seq == next_seq  # nothing sequenced
    session.send(order("ok"), pair.now)
    pair.pump()
    assert gate.tracker.order("ok") is not None and received_types(pair) == ["D"]
    gate.halt("a test")
    with pytest.raises(TradingHalted, match="a test"):
        session.send(order("late"), pair.now)
    session.send(
        p.OrderCancelRequest(cl_ord_id="c-1", orig_cl_ord_id="ok", symbol=SYMBOL, side=p.Side.BUY),
        pair.now,
    )  # taking risk off always goes
    pair.pump()
    assert received_types(pair) == ["D", "F"]
    gate.rearm()
    session.send(order("again"), pair.now)


def test_a_live_clordid_is_refused_by_the_gate() -> None:
    gate = OrderGate("prediction")
    pair = gated_pair(gate)
    pair.client.session.send(order("same"), pair.now)
    with pytest.raises(LocalProtocolError, match="still live"):
        pair.client.session.send(order("same"), pair.now)


def test_a_shared_halt_holds_until_its_owner_rearms() -> None:
    shared = TradingHalt()
    gate = OrderGate("prediction", shared_halt=shared)
    pair = gated_pair(gate)
    shared.halt("the client's kill_all()")
    gate.rearm()  # the session's own re-arm does not lift the client's halt
    with pytest.raises(TradingHalted, match="kill_all"):
        pair.client.session.send(order("x"), pair.now)
    shared.rearm()
    pair.client.session.send(order("x"), pair.now)


def test_the_gate_is_for_an_initiator_of_the_same_product() -> None:
    with pytest.raises(LocalProtocolError, match="initiator"):
        SessionConfig(
            sender_comp_id="Kalshi", role=Role.ACCEPTOR, order_gate=OrderGate("prediction")
        )
    with pytest.raises(LocalProtocolError, match="product"):
        SessionConfig(sender_comp_id="k", product="margin", order_gate=OrderGate("prediction"))


# -- RFQ: quote messages are gated as the trades they make -----------------------------------------


def quote(bid: str | None = "0.40", offer: str | None = "0.55", size: int = 100) -> Any:
    return p.Quote(
        quote_id=QUOTE_ID,
        quote_req_id=RFQ_ID,
        symbol=SYMBOL,
        bid_px=None if bid is None else Decimal(bid),
        offer_px=None if offer is None else Decimal(offer),
        bid_size=Decimal(size),
        offer_size=Decimal(size),
    )


def accept(qty: int | None = None, side: Any = p.Side.BUY) -> Any:
    return p.AcceptQuote(
        quote_id=QUOTE_ID, side=side, order_qty=None if qty is None else Decimal(qty)
    )


def test_accepting_a_quote_is_limited_and_halted() -> None:
    gate = OrderGate("prediction", risk_limits=RiskLimits(max_order_qty=10, max_position=10))
    pair = gated_pair(gate, "KalshiRT")
    session = pair.client.session
    gate.observe(quote())  # the 35=S the creator received (a Driver feeds it itself)
    with pytest.raises(RiskLimitExceeded, match="max_order_qty"):
        session.send(accept(100), pair.now)
    with pytest.raises(RiskLimitExceeded, match="max_order_qty"):
        session.send(accept(), pair.now)  # no OrderQty: the quote's whole size (100)
    session.send(accept(5), pair.now)
    gate.halt("the kill switch")
    with pytest.raises(TradingHalted):
        session.send(accept(1), pair.now)
    pair.pump()
    assert [t for t in received_types(pair) if t == "UA"] == ["UA"]


def test_an_accept_of_a_quote_never_seen_is_refused_while_limits_are_set() -> None:
    gate = OrderGate("prediction", risk_limits=RiskLimits(max_order_qty=10))
    pair = gated_pair(gate, "KalshiRT")
    with pytest.raises(RiskLimitExceeded, match="cannot be judged"):
        pair.client.session.send(accept(1), pair.now)


def test_an_accept_is_judged_at_the_price_it_trades() -> None:
    # Side 1 buys YES from the maker's NO quote at 1 - 0.55 = 0.45; Side 2 sells YES at 0.40
    gate = OrderGate("prediction", risk_limits=RiskLimits(max_price=Decimal("0.44")))
    pair = gated_pair(gate, "KalshiRT")
    gate.observe(quote())
    with pytest.raises(RiskLimitExceeded, match="max_price"):
        pair.client.session.send(accept(1, p.Side.BUY), pair.now)
    pair.client.session.send(accept(1, p.Side.SELL), pair.now)


def test_a_makers_quote_and_confirm_are_limited_and_halted() -> None:
    gate = OrderGate("prediction", risk_limits=RiskLimits(max_order_qty=10))
    pair = gated_pair(gate, "KalshiRFQ")
    session = pair.client.session
    rfq = p.QuoteRequest(
        quote_req_id=RFQ_ID,
        related_sym=[p.QuoteRequestRelatedSym(symbol=SYMBOL, order_qty=Decimal(50))],
    )
    gate.observe(rfq)  # the RFQ broadcast the maker received
    maker_quote = p.Quote(
        quote_id=QUOTE_ID, quote_req_id=RFQ_ID, symbol=SYMBOL, bid_px=Decimal("0.40")
    )
    with pytest.raises(RiskLimitExceeded, match="max_order_qty"):
        session.send(maker_quote, pair.now)  # the RFQ's 50 contracts could trade
    gate.risk_limits = RiskLimits(max_order_qty=100)
    session.send(maker_quote, pair.now)
    gate.observe(
        p.QuoteStatusReport(
            quote_id=QUOTE_ID,
            quote_req_id=RFQ_ID,
            quote_status=p.QuoteStatus.ACCEPTED,
            side=p.Side.SELL,
            order_qty=Decimal(50),
        )
    )
    gate.risk_limits = RiskLimits(max_order_qty=10)
    confirm = p.QuoteConfirm(quote_id=QUOTE_ID)
    with pytest.raises(RiskLimitExceeded, match="max_order_qty"):
        session.send(confirm, pair.now)
    gate.risk_limits = None
    gate.halt("the kill switch")
    with pytest.raises(TradingHalted):
        session.send(confirm, pair.now)
    session.send(p.QuoteCancel(quote_id=QUOTE_ID), pair.now)  # taking risk off always goes


# -- the kill switch: idempotent, evented -----------------------------------------------------------


@pytest.mark.parametrize("session_type", ["KalshiNR", "KalshiRT"])
def test_pressing_the_kill_switch_twice_is_safe_and_both_presses_are_evented(
    session_type: str,
) -> None:
    h = Harness(session_type=session_type)
    h.start()
    first = h.driver.kill(h.now)
    h.pump()
    second = h.driver.kill(h.now)
    h.pump()
    assert first is not None and second is not None and first is not second
    assert second.report(h.now).done
    events = h.read()
    started = [e for e in events if isinstance(e, KillStarted)]
    finished = [e for e in events if isinstance(e, KillFinished)]
    assert len(started) == 2 and len(finished) == 2
    assert "KillStarted(prediction/" in repr(started[0])
    expected = session_type == "KalshiNR"  # KalshiRT has no mass cancel: never confirmed
    assert finished[-1].report.confirmed is expected, str(finished[-1].report)


def test_a_kill_under_way_is_returned_when_pressed_again() -> None:
    h = Harness()
    h.start()
    h.driver.send(order("o-1"), h.now)
    h.pump()
    first = h.driver.kill(h.now)  # its 35=q is not answered yet
    assert h.driver.kill(h.now) is first
    h.pump()
    assert first.done and first.report(h.now).confirmed is True


# -- restart and reconnect: never silent -----------------------------------------------------------


def test_a_restart_with_open_orders_and_nothing_to_replay_names_them() -> None:
    first = Harness()
    first.start()
    first.driver.send(order("in-flight"), first.now)  # written to the log, then the process died
    first.drop()
    restored = first.driver.tracker  # as restore() would rebuild it from the message log
    h = Harness(exchange=first.exchange, tracker=restored)
    h.start()
    unknown = [e for e in h.read() if isinstance(e, OrdersUnknown)]
    assert len(unknown) == 1 and unknown[0].cl_ord_ids == ("in-flight",)
    assert "no ExecID to replay from" in unknown[0].reason


# -- a message store that fails while reading loses no report ---------------------------------------


class FailingStore(MemoryStore):
    """A store whose inbound sequence number cannot be recorded once ``fail`` is set (a full
    disk, say)."""

    fail = False

    def set_next_target_seq(self, seq: int) -> None:
        if self.fail:
            raise StoreError("store.fix: cannot write: [Errno 28] No space left on device")
        super().set_next_target_seq(seq)


def test_a_store_error_while_reading_leaves_no_report_unapplied() -> None:
    store = FailingStore()
    h = Harness(session_type="KalshiRT", config_options={"store": store})
    h.start()
    h.driver.send(order("o-1"), h.now)
    h.driver.send(order("o-2"), h.now)
    store.fail = True
    h.pump()  # both New reports arrive; recording the first one's number fails
    tracker = h.driver.tracker
    assert tracker.order("o-1").status is OrderStatus.NEW  # type: ignore[union-attr]
    failure = h.driver.failure
    assert isinstance(failure, StoreError) and "No space left" in str(failure)
    assert h.driver.supervisor.finished


def test_a_subscription_refused_when_resent_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(session_type="KalshiMD")
    h.start()
    h.driver.send(Requests("prediction", "KalshiMD").subscribe(SYMBOL), h.now, resubscribe=True)
    h.drop()
    original = Session.send

    def refuse_market_data(self: Session, message: Any, now: float) -> int:
        if message.MSG_TYPE == "V":
            raise LocalProtocolError("refused now")
        return original(self, message, now)

    monkeypatch.setattr(Session, "send", refuse_market_data)
    h.reconnect()  # the supervisor re-sends the subscription: refused, said, not raised
    refused = [e for e in h.read() if isinstance(e, ResubscriptionRefused)]
    assert len(refused) == 1 and refused[0].reason == "refused now"
    assert h.driver.supervisor.state.name == "ACTIVE"


# -- hand-built messages the gate cannot read ---------------------------------------------------


@pytest.mark.parametrize(
    ("session_type", "msg_type", "named"),
    [
        ("KalshiNR", "D", "NewOrderSingle"),
        ("KalshiNR", "G", "OrderCancelReplaceRequest"),
        ("KalshiNR", "F", "OrderCancelRequest"),
        ("KalshiRFQ", "S", "Quote"),
    ],
)
def test_an_unknown_message_of_a_gated_type_is_refused_by_name_never_a_raw_error(
    session_type: str, msg_type: str, named: str
) -> None:
    h = Harness(session_type=session_type)
    h.start()
    before = len(h.sent)
    hand_built = p.Unknown(msg_type=msg_type, extra_fields=[(11, "x-1")])
    for attempt in (
        lambda: h.driver.gate.check(hand_built),
        lambda: h.driver.send(hand_built, h.now),
    ):
        with pytest.raises(LocalProtocolError) as caught:
            attempt()
        text = str(caught.value)
        assert not isinstance(caught.value, AttributeError)
        assert f"Unknown(msg_type={msg_type!r}) cannot pass the order gate" in text
        assert "extra_fields" in text and f"kalshi_fix_sansio.codec.prediction.{named}" in text
        assert "nothing was sent" in text
    h.pump()
    assert len(h.sent) == before and len(h.driver.tracker) == 0


def test_an_unknown_order_is_refused_with_limits_and_while_halted_as_halted() -> None:
    gate = OrderGate("margin", risk_limits=RiskLimits(max_order_qty=Decimal(5)))
    with pytest.raises(LocalProtocolError, match=r"margin\.NewOrderSingle"):
        gate.admit(p.Unknown(msg_type="D"), "D", 0.0)
    gate.halt("the kill switch")
    with pytest.raises(TradingHalted):  # the halt is checked first, as for any order
        gate.admit(p.Unknown(msg_type="D"), "D", 0.0)


def test_an_object_without_a_field_the_gate_reads_is_named_with_the_field() -> None:
    class HandBuilt:
        MSG_TYPE = "D"

    with pytest.raises(LocalProtocolError) as caught:
        OrderGate("prediction").admit(HandBuilt(), "D", 0.0)
    text = str(caught.value)
    assert "HandBuilt (35=D) cannot pass the order gate: it has no 'cl_ord_id'" in text
    assert "prediction.NewOrderSingle" in text


def test_place_of_an_unknown_message_says_what_is_missing() -> None:
    h = Harness()
    h.start()
    with pytest.raises(LocalProtocolError, match=r"Unknown \(35=D\) has no ClOrdID.*extra_fields"):
        h.driver.desk.order_waiter(p.Unknown(msg_type="D"))
