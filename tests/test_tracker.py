"""The order tracker (`kalshi_fix_sansio.trading.tracker`): the reference's examples and invariants; a
sent order's slots written by the tracker's own builder match attrs' constructor."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.events import BusinessRejectReceived, RateLimited
from kalshi_fix_sansio.simulator.gateway import Exchange
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.tracker import (
    INFERRED_EXEC_PREFIX,
    TERMINAL,
    FillInferred,
    OrderParty,
    OrderStatus,
    OrderTracker,
    TrackedOrder,
)

D = Decimal
SYM = "HIGHNY-23DEC31"


def nos(
    cl: str, qty: int = 10, side: p.Side = p.Side.BUY, price: str = "0.42", group: str | None = None
) -> Any:
    return p.NewOrderSingle(
        cl_ord_id=cl,
        side=side,
        order_qty=D(qty),
        ord_type=p.OrdType.LIMIT,
        price=D(price),
        symbol=SYM,
        secondary_cl_ord_id=group,
    )


def er(
    cl: str,
    exec_id: str,
    exec_type: str,
    status: str,
    *,
    qty: int = 10,
    cum: int | str = 0,
    last: tuple[str, int | str] | None = None,
    orig: str | None = None,
    side: str = "1",
    text: str | None = None,
    rej: int | None = None,
    fee: str = "0.01",
    d: Any = p,
    **extra: Any,
) -> Any:
    fill: dict[str, Any] = {}
    if last is not None:
        fill = {
            "last_px": D(last[0]),
            "last_qty": D(last[1]),
            "misc_fees": (
                d.MiscFee(
                    misc_fee_amt=D(fee),
                    misc_fee_curr="USD",
                    misc_fee_type=d.MiscFeeType("4"),
                    misc_fee_basis=d.MiscFeeBasis(0),
                ),
            ),
            "collateral_amount_changes": (
                d.CollateralAmountChange(
                    collateral_amount_change=D("-4.21"),
                    collateral_amount_type=d.CollateralAmountType("BALANCE"),
                ),
            ),
            "trd_match_id": f"t-{exec_id}",
        }
    return d.ExecutionReport(
        avg_px=D(last[0]) if last else D(0),
        cl_ord_id=cl,
        cum_qty=D(cum),
        exec_id=exec_id,
        order_id="ord-1",
        order_qty=D(qty),
        ord_status=d.OrdStatus(status),
        orig_cl_ord_id=orig,
        price=D("0.42"),
        side=d.Side(side),
        symbol=SYM,
        exec_type=d.ExecType(exec_type),
        leaves_qty=max(D(qty) - D(cum), D(0)) if status not in "248C" else D(0),
        text=text,
        ord_rej_reason=None if rej is None else rej,
        **fill,
        **extra,
    )


def test_new_partial_fill_fees_collateral_and_position() -> None:
    t = OrderTracker()
    t.sent(nos("o-1", group="g-1"))
    assert t.order("o-1").status is OrderStatus.PENDING_NEW  # type: ignore[union-attr]
    t.on_message(er("o-1", "-1;-1", "A", "A"))
    t.on_message(er("o-1", "1;1", "0", "0"))
    order = t.order("o-1")
    assert order is not None and order.status is OrderStatus.NEW and order.leaves_qty == 10
    t.on_message(er("o-1", "2;1", "F", "1", cum=4, last=("0.42", 4)))
    assert (
        order.status is OrderStatus.PARTIALLY_FILLED
        and order.cum_qty == 4
        and order.leaves_qty == 6
    )
    (fill,) = order.fills
    assert (fill.price, fill.qty, fill.fees) == (D("0.42"), D(4), D("0.01"))
    assert fill.collateral[0].amount == D("-4.21") and fill.collateral[0].type == "BALANCE"
    pos = t.position(SYM)
    assert pos.net == 4 and pos.avg_price == D("0.42") and pos.fees == D("0.01")
    assert t.open_orders() == [order] and t.group("g-1") == [order]
    t.on_message(er("o-1", "3;1", "F", "2", cum=10, last=("0.40", 6)))
    assert order.status is OrderStatus.FILLED and order.leaves_qty == 0 and not t.open_orders()
    assert t.position(SYM).avg_price == (D("0.42") * 4 + D("0.40") * 6) / 10


def test_subpenny_example_from_the_reference() -> None:
    # 6=0.6600|14=100|31=0.7000|32=60|38=100.0000|39=2|44=0.7500
    t = OrderTracker()
    t.sent(
        p.NewOrderSingle(
            cl_ord_id="sp",
            side=p.Side.BUY,
            order_qty=D("100.0"),
            ord_type=p.OrdType.LIMIT,
            price=D("0.7500"),
            symbol=SYM,
        )
    )
    t.on_message(er("sp", "1;1", "F", "1", qty=100, cum=40, last=("0.6000", 40)))
    t.on_message(er("sp", "1;2", "F", "2", qty=100, cum=100, last=("0.7000", 60)))
    order = t.order("sp")
    assert order is not None and order.status is OrderStatus.FILLED and order.cum_qty == 100
    assert t.position(SYM).avg_price == D("0.66")


@pytest.mark.parametrize(("text", "reason"), [("EXCHANGE_PAUSED", 2), ("INSUFFICIENT_BALANCE", 3)])
def test_rejected_new_order_from_the_error_examples(text: str, reason: int) -> None:
    # 35=8|11=456|150=8|39=8|58=EXCHANGE_PAUSED|103=2
    t = OrderTracker()
    t.sent(nos("456"))
    t.on_message(er("456", "1;1", "8", "8", text=text, rej=reason))
    order = t.order("456")
    assert order is not None and order.status is OrderStatus.REJECTED
    rejection = t.rejection("456")
    assert rejection is not None and (rejection.text, rejection.reason) == (text, reason)
    t.on_message(er("456", "2;1", "0", "0"))  # terminal states are final
    assert order.status is OrderStatus.REJECTED
    t.sent(nos("456"))  # a rejected ClOrdID may be retried
    assert t.order("456").status is OrderStatus.PENDING_NEW and t.rejection("456") is None  # type: ignore[union-attr]


def test_business_reject_ends_a_pending_order() -> None:
    # historical: 35=j|45=10|58=Kalshi exchange unavailable|372=D|380=4
    t = OrderTracker()
    t.sent(nos("o-9"))
    bmr = p.BusinessMessageReject(
        ref_seq_num=10,
        text="Kalshi exchange unavailable",
        ref_msg_type="D",
        business_reject_ref_id="o-9",
        business_reject_reason=4,
    )
    t.on_event(BusinessRejectReceived(10, "D", "o-9", 4, "Kalshi exchange unavailable", bmr))
    order = t.order("o-9")
    assert order is not None and order.status is OrderStatus.REJECTED
    assert order.rejection is not None and order.rejection.source == "business_reject"


def test_replace_chain_and_cancel_and_cancel_reject() -> None:
    t = OrderTracker()
    t.sent(nos("o-1"))
    t.on_message(er("o-1", "1;1", "0", "0"))
    t.on_message(er("o-1", "2;1", "F", "1", cum=3, last=("0.42", 3)))
    t.sent(
        p.OrderCancelReplaceRequest(
            cl_ord_id="o-2",
            orig_cl_ord_id="o-1",
            order_qty=D(6),
            price=D("0.43"),
            side=p.Side.BUY,
            symbol=SYM,
            ord_type=p.OrdType.LIMIT,
        )
    )
    assert t.order("o-2").status is OrderStatus.PENDING_REPLACE and len(t.open_orders()) == 1  # type: ignore[union-attr]
    t.on_message(er("o-2", "3;1", "5", "5", qty=6, cum=3, orig="o-1"))
    old, new = t.order("o-1"), t.order("o-2")
    assert old is not None and new is not None
    assert (
        old.status is OrderStatus.REPLACED
        and old.replaced_by == "o-2"
        and new.orig_cl_ord_id == "o-1"
    )
    assert (
        new.status is OrderStatus.PARTIALLY_FILLED
        and new.leaves_qty == 3
        and new.price == D("0.42")
    )
    assert [o.cl_ord_id for o in t.chain("o-1")] == ["o-1", "o-2"] and t.current("o-1") is new
    # a cancel that is too late: 35=9
    t.sent(p.OrderCancelRequest(cl_ord_id="c-1", orig_cl_ord_id="o-2", side=p.Side.BUY, symbol=SYM))
    t.on_message(er("c-1", "-1;-1", "6", "6", qty=6, cum=3, orig="o-2"))
    assert new.status is OrderStatus.PENDING_CANCEL
    t.on_message(
        p.OrderCancelReject(
            order_id="ord-1",
            cl_ord_id="c-1",
            orig_cl_ord_id="o-2",
            ord_status="1",
            cxl_rej_response_to="1",
            cxl_rej_reason=0,
            text="Too late",
        )
    )
    assert new.status is OrderStatus.PARTIALLY_FILLED
    assert t.rejection("c-1") is not None and t.rejection("c-1").source == "cancel_reject"  # type: ignore[union-attr]
    # the cancel: 11 = the cancel's ClOrdID, 41 = the order's
    t.sent(p.OrderCancelRequest(cl_ord_id="c-2", orig_cl_ord_id="o-2", side=p.Side.BUY, symbol=SYM))
    t.on_message(er("c-2", "4;1", "4", "4", qty=3, cum=3, orig="o-2"))
    assert new.status is OrderStatus.CANCELED and t.order("c-2") is new and not t.open_orders()
    assert new.cum_qty <= new.order_qty and t.position(SYM).net == 3


def test_original_qty_survives_the_cancel_report_that_lowers_order_qty() -> None:
    # Kalshi's Canceled report: 38 = CumQty + LeavesQty = CumQty, unless PreserveOriginalOrderQty
    t = OrderTracker()
    t.sent(nos("q-1", qty=10))
    assert (t.order("q-1").order_qty, t.order("q-1").original_qty) == (10, 10)  # type: ignore[union-attr]
    t.on_message(er("q-1", "1;1", "0", "0"))
    t.sent(p.OrderCancelRequest(cl_ord_id="q-c", orig_cl_ord_id="q-1", side=p.Side.BUY, symbol=SYM))
    t.on_message(er("q-c", "2;1", "4", "4", qty=0, cum=0, orig="q-1"))
    order = t.order("q-1")
    assert order is not None and order.status is OrderStatus.CANCELED
    assert (order.order_qty, order.original_qty, order.cum_qty, order.leaves_qty) == (0, 10, 0, 0)
    assert order.snapshot().original_qty == 10
    # partly filled, then canceled: 3 of 10 filled
    t.sent(nos("q-2", qty=10))
    t.on_message(er("q-2", "3;1", "0", "0"))
    t.on_message(er("q-2", "4;1", "F", "1", cum=3, last=("0.42", 3)))
    t.on_message(er("q-2", "5;1", "4", "4", qty=3, cum=3))
    assert (t.order("q-2").order_qty, t.order("q-2").original_qty) == (3, 10)  # type: ignore[union-attr]
    # a replacement's is its own quantity, and with PreserveOriginalOrderQty nothing differs
    t.on_message(er("q-3", "6;1", "5", "5", qty=6, cum=3, orig="q-2r"))
    t.on_message(er("q-3", "7;1", "4", "4", qty=6, cum=3))
    assert (t.order("q-3").order_qty, t.order("q-3").original_qty) == (6, 6)  # type: ignore[union-attr]
    # known only from its cancel report (a listener): the best known is what the report says
    listener = OrderTracker()
    listener.on_message(er("x-9", "1;1", "4", "4", qty=2, cum=2))
    assert listener.order("x-9").original_qty == 2  # type: ignore[union-attr]


def test_margin_reports_and_listener_orders_are_tracked() -> None:
    t = OrderTracker()  # a listener: no `sent`, reports of another session
    t.on_message(er("x-1", "1;1", "0", "0", side="2", d=m))
    t.on_message(er("x-1", "2;1", "F", "2", side="2", cum=10, last=("19.5", 10), d=m))
    order = t.order("x-1")
    assert order is not None and order.status is OrderStatus.FILLED and order.side == "2"
    assert t.position(SYM).net == -10 and t.position(SYM).avg_price == D("19.5")


def test_a_rate_limited_reject_ends_the_wait_like_any_business_reject() -> None:
    t = OrderTracker()
    t.sent(nos("o-8"))
    bmr = p.BusinessMessageReject(ref_seq_num=9, ref_msg_type="D", business_reject_ref_id="o-8",
                                  business_reject_reason=8, text="Rate limit exceeded")  # fmt: skip
    t.on_event(RateLimited(9, "D", "o-8", 8, "Rate limit exceeded", bmr))
    assert t.order("o-8").status is OrderStatus.REJECTED  # type: ignore[union-attr]
    assert t.rejection("o-8").reason == 8  # type: ignore[union-attr]


def test_group_membership_of_orders_known_only_from_reports() -> None:
    # a listener / drop-copy tracker: ExecutionReports carry no SecondaryClOrdID(526)
    t = OrderTracker()
    t.assign_group("l-2", "g")  # before its first report: kept until it comes
    t.on_message(er("l-1", "1;1", "0", "0"))
    t.on_message(er("l-2", "2;1", "5", "5", qty=6, orig="l-1"))  # l-1 replaced by l-2
    assert [o.cl_ord_id for o in t.group("g")] == ["l-1", "l-2"]  # the whole replace chain
    t.on_message(er("l-3", "3;1", "0", "0"))
    assert t.order("l-3").group_id is None  # type: ignore[union-attr]
    t.assign_group("l-3", "h")
    assert [o.cl_ord_id for o in t.group("h")] == ["l-3"]
    t.assign_group("l-1", "g")  # the same again: harmless
    with pytest.raises(LocalProtocolError, match="'l-1' is already in order group 'g', not 'h'"):
        t.assign_group("l-1", "h")
    # an order sent in a group keeps it, and its replacement inherits it
    t.sent(nos("s-1", group="k"))
    t.on_message(er("s-1", "4;1", "0", "0"))
    t.on_message(er("s-2", "5;1", "5", "5", qty=6, orig="s-1"))
    assert [o.cl_ord_id for o in t.group("k")] == ["s-1", "s-2"]


def test_subaccount_and_exchange_index_carry_over_to_the_next_request() -> None:
    rq = Requests("prediction", "KalshiNR")
    t = OrderTracker()
    t.sent(
        rq.new_order(SYM, "buy", 10, D("0.42"), cl_ord_id="a-1", alloc_account=3, ex_destination=2)
    )
    t.on_message(er("a-1", "1;1;2", "0", "0"))
    cancel = rq.cancel(t.order("a-1"), cl_ord_id="a-c")  # type: ignore[arg-type]
    assert (cancel.alloc_account, cancel.ex_destination, cancel.order_id) == (3, 2, "ord-1")
    t.on_message(er("a-2", "2;1;2", "5", "5", qty=6, orig="a-1"))  # replaced elsewhere
    replace = rq.replace(t.current("a-1"), price=D("0.40"), cl_ord_id="a-3")  # type: ignore[arg-type]
    assert (replace.orig_cl_ord_id, replace.alloc_account, replace.ex_destination) == ("a-2", 3, 2)
    assert replace.order_qty == 6 and replace.side == p.Side.BUY
    listener = OrderTracker()  # AllocAccount(79) is on the reports too
    listener.on_message(er("b-1", "1;1", "0", "0", alloc_account=5))
    assert rq.cancel(listener.order("b-1"), cl_ord_id="b-c").alloc_account == 5  # type: ignore[arg-type]


# -- what a cancel / replace must repeat: the Parties of FCM orders --------------------------------

FCM_ACCOUNT = "550e8400-e29b-41d4-a716-446655440000_customer1"  # order-entry.md §2.4
PARTY_ON_WIRE = f"\x01453=1\x01448={FCM_ACCOUNT}\x01452=24\x01".encode()
HEADER = Header(
    sender_comp_id="key-1",
    target_comp_id="KalshiNR",
    msg_seq_num=2,
    sending_time=datetime(2026, 11, 20, 14, 30, tzinfo=timezone.utc),
)


def wire(message: Any, dialect: Any = p) -> bytes:
    return dialect.encode(message, HEADER)  # type: ignore[no-any-return]


def test_parties_of_the_order_sent_go_on_its_cancel_and_replace_along_the_chain() -> None:
    rq = Requests("prediction", "KalshiNR")
    t = OrderTracker()
    t.sent(rq.new_order(SYM, "buy", 10, D("0.42"), cl_ord_id="f-1", party_id=FCM_ACCOUNT))
    order = t.order("f-1")
    assert order is not None and order.parties == (OrderParty(FCM_ACCOUNT, 24),)
    t.on_message(er("f-1", "1;1", "0", "0"))  # a report without Parties changes nothing
    assert PARTY_ON_WIRE in wire(rq.cancel(t.current("f-1"), cl_ord_id="f-c"))  # type: ignore[arg-type]
    # our replacement (no Parties on the request) inherits them; so does the next one, reported
    t.sent(rq.replace(t.current("f-1"), price=D("0.40"), cl_ord_id="f-2"))  # type: ignore[arg-type]
    t.on_message(er("f-2", "2;1", "5", "5", orig="f-1"))
    t.on_message(er("f-3", "3;1", "5", "5", qty=6, orig="f-2"))  # replaced elsewhere
    latest = t.current("f-1")
    assert latest is not None and latest.cl_ord_id == "f-3" and latest.parties == order.parties
    cancel, replace = (
        rq.cancel(latest, cl_ord_id="f-c2"),
        rq.replace(latest, order_qty=4, cl_ord_id="f-4"),
    )
    assert PARTY_ON_WIRE in wire(cancel) and PARTY_ON_WIRE in wire(replace)
    assert (cancel.orig_cl_ord_id, replace.orig_cl_ord_id, replace.order_qty) == ("f-3", "f-3", 4)
    assert latest.snapshot().parties == latest.parties
    # a request's entry without PartyRole can only be the customer account: repeated with 24
    t.sent(
        p.NewOrderSingle(
            cl_ord_id="n-1",
            side=p.Side.SELL,
            order_qty=D(1),
            ord_type=p.OrdType.LIMIT,
            price=D("0.42"),
            symbol=SYM,
            parties=(p.Party(party_id=FCM_ACCOUNT),),
        )
    )
    assert t.order("n-1").parties == (OrderParty(FCM_ACCOUNT, None),)  # type: ignore[union-attr]
    assert PARTY_ON_WIRE in wire(rq.cancel(t.order("n-1"), cl_ord_id="n-c"))  # type: ignore[arg-type]


@pytest.mark.parametrize("d", [p, m], ids=["prediction", "margin"])
def test_parties_of_an_order_known_only_from_reports(d: Any) -> None:
    # an ExecutionReport has the customer account (24) first, then the operator (12)
    reported = (
        d.Party(party_id=FCM_ACCOUNT, party_role=24),
        d.Party(party_id="desk-7", party_role=12),
    )
    t = OrderTracker()  # a listener or drop-copy tracker: nothing sent
    t.on_message(er("l-1", "1;1", "0", "0", d=d, parties=reported))
    t.on_message(
        er("l-2", "2;1", "5", "5", qty=6, orig="l-1", d=d)
    )  # the replacement inherits them
    order = t.current("l-1")
    assert order is not None and order.parties == (
        OrderParty(FCM_ACCOUNT, 24),
        OrderParty("desk-7", 12),
    )
    rq = Requests(d.__name__.rsplit(".", 1)[1], "KalshiNR")
    cancel = rq.cancel(order, cl_ord_id="l-c")
    assert [(x.party_id, x.party_role) for x in cancel.parties] == [
        (FCM_ACCOUNT, d.PartyRole.CUSTOMER_ACCOUNT)
    ]
    assert PARTY_ON_WIRE in wire(cancel, d) and b"448=desk-7" not in wire(cancel, d)
    other = OrderTracker()  # a replace report naming an order never seen: both versions learn them
    other.on_message(er("r-2", "5;1", "5", "5", orig="r-1", d=d, parties=reported[:1]))
    assert (
        other.order("r-1").parties == other.order("r-2").parties == (OrderParty(FCM_ACCOUNT, 24),)
    )  # type: ignore[union-attr]
    assert other.order("r-2").symbol == SYM  # type: ignore[union-attr]


def exchange_reports(out: Any, session: str) -> list[Any]:
    """The ExecutionReports the gateway sends ``session``, as its client decodes them."""
    return [
        p.decode(wire(o.message))
        for o in out
        if o.session_id == session and o.message.MSG_TYPE == "8"
    ]


def test_fcm_cancel_and_replace_built_from_the_tracker_are_accepted_by_the_gateway() -> None:
    now = datetime(2026, 6, 15, 14, 0, tzinfo=timezone.utc).timestamp()
    ex = Exchange(seed=3)
    ex.seed_market(SYM, now=now)
    ex.connect("a", "fcm", "KalshiNR", now=now)
    ex.connect("dc", "fcm", "KalshiDC", now=now)
    rq = Requests("prediction", "KalshiNR")
    t = OrderTracker()

    def send(message: Any) -> list[Any]:
        t.sent(message)
        reports = exchange_reports(ex.handle("a", p.decode(wire(message)), now), "a")
        t.on_messages(reports)
        return reports

    (ack,) = send(rq.new_order(SYM, "buy", 10, D("0.40"), cl_ord_id="g-1", party_id=FCM_ACCOUNT))
    assert ack.exec_type == p.ExecType.NEW and ack.parties[0].party_id == FCM_ACCOUNT
    # the gateway matches the Parties: a cancel without them is not found (35=9), as on Kalshi
    bare = p.decode(
        wire(
            p.OrderCancelRequest(
                cl_ord_id="g-x",
                orig_cl_ord_id="g-1",
                side=p.Side.BUY,
                symbol=SYM,
                order_id=ack.order_id,
            )
        )
    )
    (refused,) = [o.message for o in ex.handle("a", bare, now) if o.message.MSG_TYPE == "9"]
    assert refused.text == "NOT_FOUND"
    (replaced,) = send(rq.replace(t.current("g-1"), price=D("0.41"), cl_ord_id="g-2"))  # type: ignore[arg-type]
    assert replaced.exec_type == p.ExecType.REPLACED and t.current("g-1").cl_ord_id == "g-2"  # type: ignore[union-attr]
    (canceled,) = send(rq.cancel(t.current("g-1"), cl_ord_id="g-c"))  # type: ignore[arg-type]
    assert (
        canceled.exec_type == p.ExecType.CANCELED and t.order("g-2").status is OrderStatus.CANCELED
    )  # type: ignore[union-attr]
    # an order known only from a drop-copy replay: its Parties come from the reports
    (resting,) = exchange_reports(
        ex.handle(
            "a",
            p.decode(
                wire(rq.new_order(SYM, "buy", 3, D("0.30"), cl_ord_id="h-1", party_id=FCM_ACCOUNT))
            ),
            now,
        ),
        "a",
    )
    replay = p.EventResendRequest(begin_exec_id=resting.exec_id)
    replica = OrderTracker()
    replica.on_messages(exchange_reports(ex.handle("dc", p.decode(wire(replay)), now), "dc"))
    order = replica.current("h-1")
    assert order is not None and order.parties == (OrderParty(FCM_ACCOUNT, 24),) and order.is_open
    (canceled,) = exchange_reports(
        ex.handle("a", p.decode(wire(rq.cancel(order, cl_ord_id="h-c"))), now), "a"
    )
    assert canceled.exec_type == p.ExecType.CANCELED and canceled.orig_cl_ord_id == "h-1"


def test_a_clordid_cannot_be_reused_while_tracked() -> None:
    t = OrderTracker()
    t.sent(nos("o-1"))
    with pytest.raises(LocalProtocolError, match="already tracked"):
        t.sent(nos("o-1"))
    t.discard("o-1")
    assert t.order("o-1") is None and t.sent(p.Heartbeat()) is None


def test_a_cum_qty_above_the_fills_seen_counts_an_inferred_fill_and_says_so() -> None:
    """A fill's report lost (never retransmitted), then a report carrying the higher CumQty:
    the missing quantity is counted at the price AvgPx says it cost, and named."""
    t = OrderTracker()
    t.sent(nos("i-1", qty=10))
    t.on_message(er("i-1", "1;1", "0", "0"))
    t.on_message(er("i-1", "2;1", "F", "1", cum=2, last=("0.40", 2)))
    # 3;1 and 4;1 (2 at 0.45, 2 at 0.44) lost; the cancel's report: CumQty 6, AvgPx 0.43
    t.sent(p.OrderCancelRequest(cl_ord_id="i-c", orig_cl_ord_id="i-1", side=p.Side.BUY, symbol=SYM))
    cancel = attrs.evolve(er("i-c", "5;1", "4", "4", qty=6, cum=6, orig="i-1"), avg_px=D("0.43"))
    t.on_message(cancel)
    order = t.order("i-1")
    assert order is not None and order.status is OrderStatus.CANCELED and order.cum_qty == 6
    assert t.inferred == [FillInferred("i-1", D(4), D("0.445"), D(6), "5;1", SYM, "1")]
    assert "4 inferred filled at 0.445" in t.inferred[0].text
    assert [(f.exec_id, f.qty, f.price) for f in order.fills] == [
        ("2;1", 2, D("0.40")),
        (INFERRED_EXEC_PREFIX + "5;1", 4, D("0.445")),
    ]
    position = t.position(SYM)
    assert position.net == 6 and position.buy_cost == D("2.58")  # 6 x AvgPx
    # the lost reports arrive after all (a replay): they replace the inferred fill
    t.on_message(er("i-1", "3;1", "F", "1", cum=4, last=("0.45", 2)))
    assert [f.qty for f in t.order("i-1").fills] == [2, 2, 2]  # type: ignore[union-attr]
    t.on_message(er("i-1", "4;1", "F", "1", cum=6, last=("0.44", 2)))
    assert [f.exec_id for f in t.fills] == ["2;1", "3;1", "4;1"]
    assert (t.position(SYM).net, t.position(SYM).buy_cost) == (6, D("2.58"))
    t.on_message(er("i-1", "4;1", "F", "1", cum=6, last=("0.44", 2)))  # a copy: nothing
    assert t.position(SYM).net == 6 and len(t.fills) == 3


def test_a_replacements_report_ends_the_original_when_its_replaced_report_is_lost() -> None:
    t = OrderTracker()
    t.sent(nos("r-1", qty=9))
    t.on_message(er("r-1", "1;1", "0", "0", qty=9))
    t.sent(
        p.OrderCancelReplaceRequest(
            cl_ord_id="r-2",
            orig_cl_ord_id="r-1",
            order_qty=D(4),
            side=p.Side.BUY,
            symbol=SYM,
            ord_type=p.OrdType.LIMIT,
        )
    )
    # the Replaced report (150=5) lost; the replacement's fill report comes
    t.on_message(er("r-2", "3;1", "F", "2", qty=4, cum=4, last=("0.42", 4)))
    old, new = t.order("r-1"), t.order("r-2")
    assert old is not None and new is not None
    assert (old.status, old.replaced_by, new.status) == (
        OrderStatus.REPLACED,
        "r-2",
        OrderStatus.FILLED,
    )
    assert t.open_orders() == [] and t.position(SYM).net == 4


def test_a_fill_of_the_original_read_after_its_replacements_report_is_not_counted_twice() -> None:
    """The replacement's Replaced report (CumQty 3) read before the original's fill report (a
    gap held it; a restored message log keeps them in the order they came): the fill is
    inferred on the replacement, and the original's report, arriving later, takes its place."""
    t = OrderTracker()
    t.sent(nos("l-1", qty=5))
    t.on_message(er("l-1", "1;1", "0", "0", qty=5))
    t.sent(
        p.OrderCancelReplaceRequest(
            cl_ord_id="l-2",
            orig_cl_ord_id="l-1",
            order_qty=D(10),
            side=p.Side.BUY,
            symbol=SYM,
            ord_type=p.OrdType.LIMIT,
        )
    )
    t.on_message(er("l-2", "4;1", "5", "5", qty=10, cum=3, orig="l-1"))
    assert t.position(SYM).net == 3 and [i.qty for i in t.inferred] == [3]
    t.on_message(er("l-1", "3;3", "F", "1", qty=5, cum=3, last=("0.37", 3)))
    assert t.position(SYM).net == 3
    assert [f.exec_id for f in t.fills] == ["3;3"]


def test_no_fill_is_inferred_for_an_order_first_seen_in_a_report() -> None:
    """A listener or a replay begun mid-order sees an order first with fills before its
    window: nothing is inferred (the tracker never knew the order)."""
    t = OrderTracker()
    t.on_message(er("x-1", "9;1", "4", "4", qty=5, cum=5))
    assert t.inferred == [] and t.position(SYM).net == 0
    # a sell order's missing fill, no AvgPx: at the order's limit price
    t.sent(nos("s-1", qty=4, side=p.Side.SELL, price="0.60"))
    t.on_message(er("s-1", "10;1", "0", "0", qty=4, side="2"))
    t.on_message(er("s-1", "11;1", "4", "4", qty=3, cum=3, side="2"))
    assert [(i.qty, i.price, i.side) for i in t.inferred] == [(3, D("0.42"), "2")]
    assert t.position(SYM).net == -3


# -- properties -------------------------------------------------------------------------------


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Any], list[Any]]:
    """A consistent exchange history of a few orders: the sent requests and the reports."""
    sent: list[Any] = []
    reports: list[Any] = []
    clock = 0
    for n in range(draw(st.integers(1, 4))):
        cl = f"o{n}"
        qty = draw(st.integers(1, 20))
        side = draw(st.sampled_from(["1", "2"]))
        sent.append(nos(cl, qty, p.Side(side)))
        if draw(st.booleans()) and n == 0:
            clock += 1
            reports.append(
                er(cl, f"{clock};1", "8", "8", qty=qty, side=side, text="INVALID_ORDER", rej=11)
            )
            continue
        clock += 1
        reports.append(er(cl, f"{clock};1", "0", "0", qty=qty, side=side))
        cum = 0
        for _ in range(draw(st.integers(0, 5))):
            action = draw(st.sampled_from(["fill", "fill", "replace", "cancel", "expire"]))
            clock += 1
            if action == "fill" and cum < qty:
                last = draw(st.integers(1, qty - cum))
                cum += last
                px = draw(st.sampled_from(["0.01", "0.42", "0.99"]))
                reports.append(
                    er(
                        cl,
                        f"{clock};1",
                        "F",
                        "2" if cum == qty else "1",
                        qty=qty,
                        cum=cum,
                        last=(px, last),
                        side=side,
                    )
                )
                if cum == qty:
                    break
            elif action == "replace":
                new_cl, qty = f"{cl}r{clock}", draw(st.integers(cum + 1, cum + 20))
                sent.append(
                    p.OrderCancelReplaceRequest(
                        cl_ord_id=new_cl,
                        orig_cl_ord_id=cl,
                        order_qty=D(qty),
                        side=p.Side(side),
                        symbol=SYM,
                        ord_type=p.OrdType.LIMIT,
                    )
                )
                reports.append(
                    er(new_cl, f"{clock};1", "5", "5", qty=qty, cum=cum, orig=cl, side=side)
                )
                cl = new_cl
            elif action in ("cancel", "expire"):
                code = "4" if action == "cancel" else "C"
                reports.append(
                    er(cl, f"{clock};1", code, code, qty=cum, cum=cum, orig=cl, side=side)
                )
                break
    return sent, reports


def check_invariants(t: OrderTracker) -> None:
    for order in t:
        assert (
            order.cum_qty <= order.order_qty <= order.original_qty
            or order.status is OrderStatus.REPLACED
        )
        if not order.terminal:
            assert order.leaves_qty == order.order_qty - order.cum_qty
            assert order.original_qty == order.order_qty
        if order.replaced_by is not None:
            nxt = t.order(order.replaced_by)
            assert order.status is OrderStatus.REPLACED
            assert nxt is not None and nxt.orig_cl_ord_id == order.cl_ord_id
    for symbol, pos in t.positions.items():
        assert pos.net == sum(f.signed_qty for f in t.fills if f.symbol == symbol)
    assert len({f.exec_id for f in t.fills}) == len(t.fills)


def state(t: OrderTracker) -> Any:
    orders = {
        cl: (o.status, o.cum_qty, o.order_qty, o.replaced_by, len(o.fills))
        for cl, o in t.orders.items()
    }
    return orders, {s: (p_.net, p_.avg_price, p_.fees) for s, p_ in t.positions.items()}


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_invariants_terminal_final_and_replays_converge(history: Any, rnd: random.Random) -> None:
    sent, reports = history
    t = OrderTracker()
    for message in sent:
        t.sent(message)
    seen: dict[str, OrderStatus] = {}
    for report in reports:
        t.on_message(report)
        check_invariants(t)
        for cl, order in t.orders.items():
            if cl in seen and seen[cl] in TERMINAL:
                assert order.status is seen[cl]  # terminal states are final
            seen[cl] = order.status
    final = state(t)
    # a drop-copy replay of any part, duplicated, after the live stream: no change
    replay = [r for r in reports if rnd.random() < 0.7] * 2
    t.on_messages(replay)
    assert state(t) == final
    # a listener that sees only the reports (no sends), twice each: same fills and positions
    listener = OrderTracker()
    listener.on_messages([r for r in reports for _ in (1, 2)])
    check_invariants(listener)
    assert state(listener)[1] == final[1]
    # any order of the reports: the same fills and positions (a set of fills)
    shuffled = list(reports)
    rnd.shuffle(shuffled)
    other = OrderTracker()
    other.on_messages(shuffled + shuffled)
    check_invariants_weak = {f.exec_id for f in other.fills} == {f.exec_id for f in t.fills}
    assert check_invariants_weak and state(other)[1] == final[1]


def test_the_docs_example_runs() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "tracker.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    assert len(blocks) == 5 and blocks[3].startswith("with client.order_entry()")
    for i in (0, 1, 2, 4):  # the fourth needs Kalshi (a client): tests/test_place.py runs its calls
        exec(compile(blocks[i], f"docs/tracker.md#{i + 1}", "exec"), {})


def test_an_order_sent_is_built_as_attrs_builds_it() -> None:
    """The tracker writes a sent order's slots itself (`OrderTracker.sent`): every slot, each as
    ``TrackedOrder(...)`` sets it."""
    replace = p.OrderCancelReplaceRequest(
        cl_ord_id="o-1",
        orig_cl_ord_id="o-0",
        symbol="X",
        side=p.Side.BUY,
        price=Decimal("0.42"),
        order_qty=Decimal(3),
        ord_type=p.OrdType.LIMIT,
        order_group_id="g",
        alloc_account=7,
        ex_destination=2,
        parties=(p.Party(party_id="acct", party_role=p.PartyRole.CUSTOMER_ACCOUNT),),
    )
    fast = OrderTracker().sent(replace)
    assert fast is not None
    built = TrackedOrder(
        "o-1",
        OrderStatus.PENDING_REPLACE,
        "X",
        "1",
        Decimal("0.42"),
        Decimal(3),
        original_qty=Decimal(3),
        orig_cl_ord_id="o-0",
        group_id="g",
        alloc_account=7,
        ex_destination=2,
        parties=(OrderParty("acct", 24),),
    )
    slots = [name for name in TrackedOrder.__slots__ if name != "__weakref__"]
    assert [getattr(fast, name) for name in slots] == [getattr(built, name) for name in slots]
    assert fast == built and fast._fills == () and isinstance(fast._keys, tuple)  # immutable
