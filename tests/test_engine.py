"""Behaviour of the mock gateway's exchange engine, as a FIX client would notice it: orders, fills,
time in force, rejects, cancels, replaces, mass cancel, listeners and order groups."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D
from typing import Any

import attrs
import pytest
from engine_helpers import (
    BUY,
    EXEC_ID,
    HEADER,
    SELL,
    SYM,
    T0,
    UTC,
    UUID,
    assert_session_reject,
    cxl,
    encode_all,
    ers,
    group_req,
    kinds,
    md_req,
    nos,
    of,
    one,
    rpl,
    two_traders,  # noqa: F401  (the ex fixture)
)

from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import Exchange

# -- new orders and fills ------------------------------------------------------------------------


def test_resting_order_is_acknowledged_with_a_new_report(ex: Exchange) -> None:
    out = ex.handle("a", nos("a1", SELL, 10, "0.60"), T0)
    er = one(ers(out, "a"))
    assert er.exec_type == p.ExecType.NEW and er.ord_status == p.OrdStatus.NEW
    assert UUID.match(er.order_id) and EXEC_ID.match(er.exec_id)
    assert (er.cl_ord_id, er.side, er.symbol, er.price) == ("a1", SELL, SYM, D("0.60"))
    assert (er.order_qty, er.cum_qty, er.leaves_qty, er.avg_px) == (10, 0, 10, 0)
    assert er.transact_time == datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
    assert er.last_px is None and er.misc_fees is None
    assert ex.top_of_book(SYM) == (None, (D("0.60"), D(10)))
    assert [o.cl_ord_id for o in ex.open_orders("alice")] == ["a1"]
    encode_all(out)


def test_crossing_order_fills_both_sides_at_the_resting_price(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, 10, "0.60"), T0)
    out = ex.handle("b", nos("b1", BUY, 4, "0.65"), T0 + 1)
    new, taker = ers(out, "b")
    maker = one(ers(out, "a"))
    assert new.exec_type == p.ExecType.NEW
    assert taker.exec_type == p.ExecType.TRADE and taker.ord_status == p.OrdStatus.FILLED
    assert (taker.last_px, taker.last_qty, taker.cum_qty, taker.leaves_qty) == (
        D("0.60"),
        4,
        4,
        0,
    )
    assert taker.avg_px == D("0.60") and taker.price == D("0.65")
    assert taker.aggressor_indicator is True and maker.aggressor_indicator is False
    assert taker.trd_match_id == maker.trd_match_id and UUID.match(taker.trd_match_id)
    assert len({new.exec_id, taker.exec_id, maker.exec_id}) == 3
    # taker fee ceil(0.07 * 4 * 0.6 * 0.4) = 0.07; maker ceil(0.0175 * 4 * 0.24) = 0.02
    fee = one(taker.misc_fees)
    assert (fee.misc_fee_amt, fee.misc_fee_curr, fee.misc_fee_type, fee.misc_fee_basis) == (
        D("0.07"),
        "USD",
        p.MiscFeeType.EXCHANGE_FEES,
        p.MiscFeeBasis.ABSOLUTE,
    )
    assert one(maker.misc_fees).misc_fee_amt == D("0.02")
    assert (taker.long_qty, taker.short_qty) == (4, 0)
    assert (maker.long_qty, maker.short_qty) == (0, 4)
    balance = one(taker.collateral_amount_changes)
    assert balance.collateral_amount_type == p.CollateralAmountType.BALANCE
    assert balance.collateral_amount_change == D("-2.47")  # 4 YES at 0.60 plus the fee
    assert one(maker.collateral_amount_changes).collateral_amount_change == D("-1.62")
    assert taker.clearing_business_date == date(2026, 6, 15)
    assert maker.ord_status == p.OrdStatus.PARTIALLY_FILLED
    assert (maker.cum_qty, maker.leaves_qty, maker.order_qty) == (4, 6, 10)
    assert ex.top_of_book(SYM) == (None, (D("0.60"), D(6)))
    assert ex.position(SYM, "bob") == 4 and ex.position(SYM, "alice") == -4
    encode_all(out)


def test_closing_a_position_credits_the_sale(ex: Exchange) -> None:
    ex.seed_market(SYM, bids=[(D("0.58"), D(10))], asks=[(D("0.60"), D(10))], now=T0)
    ex.handle("b", nos("b1", BUY, 4, "0.60"), T0)
    out = ex.handle("b", nos("b2", SELL, 4, "0.58"), T0)
    trade = ers(out, "b")[-1]
    assert trade.last_px == D("0.58") and (trade.long_qty, trade.short_qty) == (0, 0)
    # 4 YES sold at 0.58 = 2.32, minus fee ceil(0.07 * 4 * 0.58 * 0.42) = 0.07
    assert one(trade.collateral_amount_changes).collateral_amount_change == D("2.25")


def test_partial_fills_follow_price_time_priority(ex: Exchange) -> None:
    ex.connect("bd", "bob", "KalshiNR", listener=True, use_dollars=True, now=T0)
    ex.seed_market(SYM, asks=[(D("0.55"), D(3)), (D("0.56"), D(2))], now=T0)
    ex.handle("a", nos("a1", SELL, 2, "0.55"), T0)  # same price as the house, later
    out = ex.handle("b", nos("b1", BUY, 6, "0.56"), T0 + 1)
    trades = ers(out, "b")[1:]
    assert [(t.last_px, t.last_qty) for t in trades] == [
        (D("0.55"), 3),
        (D("0.55"), 2),
        (D("0.56"), 1),
    ]
    assert [t.cum_qty for t in trades] == [3, 5, 6]
    assert [t.ord_status for t in trades] == [p.OrdStatus.PARTIALLY_FILLED] * 2 + [
        p.OrdStatus.FILLED
    ]
    assert one(ers(out, "a")).last_qty == 2
    assert trades[-1].avg_px == D("0.55")  # 3.31 / 6 in whole cents on a cents session
    assert ers(out, "bd")[-1].avg_px == D("0.5517")  # 4 decimals with UseDollars
    assert ex.top_of_book(SYM) == (None, (D("0.56"), D(1)))
    encode_all(out, dollars=["bd"])


def test_fractional_quantities_on_prediction(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, "2.5", "0.40"), T0)
    out = ex.handle("b", nos("b1", BUY, "1.25", "0.40"), T0)
    assert ers(out, "b")[-1].cum_qty == D("1.25")
    assert ex.top_of_book(SYM)[1] == (D("0.40"), D("1.25"))
    bad = ex.handle("b", nos("b2", BUY, "1.255", "0.40"), T0)
    assert one(ers(bad, "b")).text == "INVALID_ORDER"


def test_subpenny_prices_are_rounded_for_cents_sessions(ex: Exchange) -> None:
    ex.connect("bd", "bob", "KalshiNR", use_dollars=True, now=T0)
    ex.handle("bd", nos("b1", SELL, 2, "0.555"), T0)
    out = ex.handle("a", nos("a1", BUY, 2, "0.56"), T0)
    assert ers(out, "a")[-1].last_px == D("0.56")
    assert ers(out, "bd")[-1].last_px == D("0.5550")
    encode_all(out, dollars=["bd"])


# -- time in force, post-only, self-trade prevention, reduce-only -------------------------------


def test_ioc_fills_what_crosses_and_cancels_the_rest(ex: Exchange) -> None:
    ex.seed_market(SYM, asks=[(D("0.50"), D(3))], now=T0)
    out = ex.handle("b", nos("b1", BUY, 5, "0.50", time_in_force=p.TimeInForce.IOC), T0)
    new, trade, cancel = ers(out, "b")
    assert kinds([new, trade, cancel]) == ["0", "F", "4"]
    assert trade.last_qty == 3
    assert cancel.text == "IMMEDIATE_OR_CANCELLED" and cancel.ord_status == p.OrdStatus.CANCELED
    assert (cancel.cum_qty, cancel.leaves_qty, cancel.order_qty) == (3, 0, 3)
    assert ex.top_of_book(SYM) == (None, None)


def test_fok_is_all_or_nothing(ex: Exchange) -> None:
    ex.seed_market(SYM, asks=[(D("0.50"), D(3))], now=T0)
    fok = p.TimeInForce.FOK
    out = ex.handle("b", nos("b1", BUY, 5, "0.55", time_in_force=fok), T0)
    assert kinds(ers(out, "b")) == ["0", "4"]
    assert ers(out, "b")[-1].text == "FOK_INSUFFICIENT_VOLUME"
    assert ex.top_of_book(SYM)[1] == (D("0.50"), D(3))
    out = ex.handle("b", nos("b2", BUY, 3, "0.50", time_in_force=fok), T0)
    assert kinds(ers(out, "b")) == ["0", "F"]
    assert ers(out, "b")[-1].ord_status == p.OrdStatus.FILLED


def test_post_only_order_that_would_cross_is_cancelled(ex: Exchange) -> None:
    ex.seed_market(SYM, asks=[(D("0.50"), D(3))], now=T0)
    post = p.ExecInst.POST_ONLY
    out = ex.handle("b", nos("b1", BUY, 1, "0.50", exec_inst=post), T0)
    assert kinds(ers(out, "b")) == ["0", "4"] and ers(out, "b")[-1].text == "POST_ONLY_CROSS"
    out = ex.handle("b", nos("b2", BUY, 1, "0.49", exec_inst=post), T0)
    assert kinds(ers(out, "b")) == ["0"]
    assert ex.top_of_book(SYM) == ((D("0.49"), D(1)), (D("0.50"), D(3)))


def test_self_trade_prevention_cancels_the_taker_by_default(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, 5, "0.50"), T0)
    out = ex.handle("a", nos("a2", BUY, 2, "0.55"), T0)
    _new, cancel = ers(out, "a")
    assert cancel.cl_ord_id == "a2" and cancel.exec_type == p.ExecType.CANCELED
    assert cancel.text == "TAKER_CANCEL_FOR_SELF_TRADE_PREVENTION"
    assert ex.top_of_book(SYM) == (None, (D("0.50"), D(5)))


def test_self_trade_prevention_maker_cancels_the_resting_order(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, 5, "0.50"), T0)
    ex.seed_market(SYM, asks=[(D("0.52"), D(5))], now=T0)
    stp = p.SelfTradePreventionType.MAKER
    out = ex.handle("a", nos("a2", BUY, 2, "0.55", self_trade_prevention_type=stp), T0)
    reports = ers(out, "a")
    assert [(r.cl_ord_id, r.exec_type.value) for r in reports] == [
        ("a2", "0"),
        ("a1", "4"),
        ("a2", "F"),
    ]
    assert reports[1].text == "MAKER_CANCEL_FOR_SELF_TRADE_PREVENTION"
    assert reports[2].last_px == D("0.52")


def test_reduce_only_fills_at_most_the_position(ex: Exchange) -> None:
    ex.seed_market(SYM, bids=[(D("0.40"), D(20))], asks=[(D("0.45"), D(4))], now=T0)
    ex.handle("b", nos("b1", BUY, 4, "0.45"), T0)
    ioc, reduce = p.TimeInForce.IOC, p.ExecInst.REDUCE_ONLY
    out = ex.handle("b", nos("b2", SELL, 10, "0.40", time_in_force=ioc, exec_inst=reduce), T0)
    assert kinds(ers(out, "b")) == ["0", "F", "4"]
    assert ers(out, "b")[1].last_qty == 4 and ex.position(SYM, "bob") == 0
    out = ex.handle("a", nos("a1", SELL, 1, "0.40", time_in_force=ioc, exec_inst=reduce), T0)
    assert ers(out, "a")[-1].text == "REDUCE_ONLY"
    out = ex.handle("a", nos("a2", SELL, 1, "0.40", exec_inst=reduce), T0)  # GTC: refused
    assert one(ers(out, "a")).ord_rej_reason == p.OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC


def test_gtd_order_expires_when_its_time_passes(ex: Exchange) -> None:
    ex.connect("al", "alice", "KalshiNR", listener=True, use_expired_ord_status=True, now=T0)
    expire = datetime(2026, 6, 15, 14, 1, tzinfo=UTC)
    gtd = p.TimeInForce.GTD
    new = ers(
        ex.handle("a", nos("a1", SELL, 5, "0.60", time_in_force=gtd, expire_time=expire), T0), "a"
    )
    assert one(new).expire_time == expire
    assert ex.handle("b", nos("b1", BUY, 1, "0.10"), T0 + 59.9)[0].session_id == "b"
    out = ex.handle("b", nos("b2", BUY, 1, "0.10"), T0 + 60)
    expired = one(ers(out, "a"))
    assert expired.exec_type == p.ExecType.CANCELED and expired.text is None
    copy = one(ers(out, "al"))
    assert copy.exec_type == p.ExecType.EXPIRED and copy.ord_status == p.OrdStatus.EXPIRED
    assert copy.exec_id == expired.exec_id
    assert ex.top_of_book(SYM)[1] is None


def test_a_replaced_expire_time_moves_the_expiry(ex: Exchange) -> None:
    gtd = p.TimeInForce.GTD
    first, later = (
        datetime(2026, 6, 15, 14, 1, tzinfo=UTC),
        datetime(2026, 6, 15, 14, 3, tzinfo=UTC),
    )
    ex.handle("a", nos("a1", SELL, 5, "0.60", time_in_force=gtd, expire_time=first), T0)
    out = ex.handle("a", rpl("a2", "a1", SELL, 5, "0.60", time_in_force=gtd, expire_time=later), T0)
    assert one(ers(out, "a")).exec_type == p.ExecType.REPLACED
    out = ex.handle("b", nos("b1", BUY, 1, "0.10"), T0 + 61)  # the old ExpireTime has passed
    assert ers(out, "a") == [] and ex.top_of_book(SYM)[1] is not None
    out = ex.handle("b", nos("b2", BUY, 1, "0.10"), T0 + 180)
    assert one(ers(out, "a")).exec_type == p.ExecType.CANCELED
    assert ex.top_of_book(SYM)[1] is None


def test_gtd_in_the_past_acts_as_ioc_and_gtd_needs_an_expiry(ex: Exchange) -> None:
    past = datetime(2026, 6, 15, 13, 0, tzinfo=UTC)
    gtd = p.TimeInForce.GTD
    out = ex.handle("a", nos("a1", SELL, 5, "0.60", time_in_force=gtd, expire_time=past), T0)
    assert kinds(ers(out, "a")) == ["0", "4"]
    assert ers(out, "a")[-1].text == "IMMEDIATE_OR_CANCELLED"
    out = ex.handle("a", nos("a2", SELL, 5, "0.60", time_in_force=gtd), T0)
    assert one(ers(out, "a")).text == "INVALID_ORDER"
    out = ex.handle("a", nos("a3", SELL, 5, "0.60", expire_time=past), T0)  # GTC + 126
    assert one(ers(out, "a")).exec_type == p.ExecType.REJECTED


@pytest.mark.parametrize(
    ("when", "expiry"),
    [
        (datetime(2026, 6, 15, 14, 0, tzinfo=UTC), datetime(2026, 6, 16, 3, 59, 59, 999000)),
        (datetime(2026, 1, 15, 3, 0, tzinfo=UTC), datetime(2026, 1, 15, 4, 59, 59, 999000)),
    ],
)
def test_day_orders_expire_at_midnight_eastern(when: datetime, expiry: datetime) -> None:
    ex = Exchange()
    now = when.timestamp()
    ex.seed_market(SYM, now=now)
    ex.connect("a", "alice", "KalshiNR", now=now)
    out = ex.handle("a", nos("a1", SELL, 5, "0.60", time_in_force=p.TimeInForce.DAY), now)
    assert one(ers(out, "a")).expire_time == expiry.replace(tzinfo=UTC)
    out = ex.resume(expiry.replace(tzinfo=UTC).timestamp())
    assert one(ers(out, "a")).exec_type == p.ExecType.CANCELED


# -- rejects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "text", "reason"),
    [
        (nos("x", BUY, 1, "0.50", symbol="NOPE"), "MARKET_NOT_FOUND", 1),
        (nos("x", BUY, 1, "1.00"), "INVALID_PRICE", 11),
        (nos("x", BUY, 1, "0"), "INVALID_PRICE", 11),
        (nos("x", BUY, 1, "0.12345"), "INVALID_PRICE", 11),
        (nos("x", BUY, 0, "0.50"), "INVALID_ORDER", 11),
        (nos("x", BUY, -3, "0.50"), "INVALID_ORDER", 11),
        (nos("x", "7", 1, "0.50"), "INVALID_ORDER", 11),
        (nos("x", BUY, 1, "0.50", ord_type="1"), "INVALID_ORDER", 11),
        (nos("x", BUY, 1, "0.50", alloc_account=64), "INVALID_ORDER", 11),
        (nos("x", BUY, 1, "0.50", quote_id="q"), "INVALID_ORDER", 11),
        (nos("x", BUY, 1, "0.50", secondary_cl_ord_id="nope"), "ORDER_GROUP_NOT_FOUND", 11),
    ],
)
def test_invalid_new_orders_are_rejected(ex: Exchange, order: Any, text: str, reason: int) -> None:
    out = ex.handle("a", order, T0)
    er = one(ers(out, "a"))
    assert er.exec_type == p.ExecType.REJECTED and er.ord_status == p.OrdStatus.REJECTED
    assert (er.text, er.ord_rej_reason) == (text, reason)
    assert er.cl_ord_id == "x" and er.leaves_qty == 0
    assert ex.open_orders("alice") == []
    encode_all(out)


def test_duplicate_clordid_of_an_open_order_is_rejected(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, 1, "0.60"), T0)
    er = one(ers(ex.handle("a", nos("a1", SELL, 1, "0.61"), T0), "a"))
    assert (er.text, er.ord_rej_reason) == ("ORDER_ALREADY_EXISTS", p.OrdRejReason.DUPLICATE_ORDER)
    ex.handle("a", cxl("c1", "a1", SELL), T0)
    assert ers(ex.handle("a", nos("a1", SELL, 1, "0.61"), T0), "a")[0].exec_type == "0"


def test_undecodable_field_becomes_a_business_reject(ex: Exchange) -> None:
    header = HEADER.replace(msg_seq_num=7)
    frame = p.encode(nos("a1", BUY, 5, "0.50"), header).replace(b"\x0138=5\x01", b"\x0138=x5\x01")
    out = ex.handle("a", p.decode(frame), T0)
    reject = one(of(out, p.BusinessMessageReject, "a"))
    assert reject.business_reject_reason == p.BusinessRejectReason.OTHER
    assert (reject.ref_seq_num, reject.ref_msg_type) == (7, "D")
    assert "OrderQty" in reject.text


def test_unsupported_messages_and_wrong_sessions_get_business_rejects(ex: Exchange) -> None:
    ex.connect("md", "carol", "KalshiMD", now=T0)
    ex.connect("rt", "alice", "KalshiRT", now=T0)
    cases = [
        ("a", p.Heartbeat()),
        ("a", m.NewOrderSingle(cl_ord_id="x", side=m.Side.BUY, order_qty=D(1), symbol=SYM)),
        ("md", nos("x", BUY, 1, "0.50")),
        ("a", md_req("0", SYM)),
        ("rt", p.OrderMassCancelRequest(cl_ord_id="x", mass_cancel_request_type="6")),
    ]
    for session, message in cases:
        out = ex.handle(session, message, T0)
        reject = one(of(out, p.BusinessMessageReject, session))
        assert reject.business_reject_reason == p.BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE
        assert len(out) == 1
    with pytest.raises(ValueError, match="not connected"):
        ex.handle("zz", nos("x", BUY, 1, "0.50"), T0)


# -- cancel -----------------------------------------------------------------------------------------


def test_cancel_removes_the_open_quantity(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, 10, "0.60"), T0)
    ex.handle("b", nos("b1", BUY, 3, "0.60"), T0)
    out = ex.handle("a", cxl("c1", "a1", SELL), T0)
    er = one(ers(out, "a"))
    assert er.exec_type == p.ExecType.CANCELED and er.ord_status == p.OrdStatus.CANCELED
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("c1", "a1")
    assert (er.cum_qty, er.leaves_qty, er.order_qty) == (3, 0, 3)
    assert ex.top_of_book(SYM) == (None, None)


def test_cancel_of_unknown_or_finished_orders_is_rejected(ex: Exchange) -> None:
    rej = one(of(ex.handle("a", cxl("c1", "nope", SELL), T0), p.OrderCancelReject, "a"))
    assert (rej.cxl_rej_reason, rej.cxl_rej_response_to, rej.ord_status, rej.order_id) == (
        p.CxlRejReason.UNKNOWN_ORDER,
        p.CxlRejResponseTo.ORDER_CANCEL_REQUEST,
        p.OrdStatus.REJECTED,
        "NONE",
    )
    ex.handle("a", nos("a1", SELL, 2, "0.60"), T0)
    rej = one(of(ex.handle("a", cxl("c2", "a1", BUY), T0), p.OrderCancelReject, "a"))
    assert rej.cxl_rej_reason == p.CxlRejReason.UNKNOWN_ORDER  # side does not match
    rej = one(of(ex.handle("b", cxl("c3", "a1", SELL), T0), p.OrderCancelReject, "b"))
    assert rej.cxl_rej_reason == p.CxlRejReason.UNKNOWN_ORDER  # another account's order
    ex.handle("b", nos("b1", BUY, 2, "0.60"), T0)
    rej = one(of(ex.handle("a", cxl("c4", "a1", SELL), T0), p.OrderCancelReject, "a"))
    assert rej.cxl_rej_reason == p.CxlRejReason.TOO_LATE_TO_CANCEL
    assert rej.ord_status == p.OrdStatus.FILLED and UUID.match(rej.order_id)


# -- cancel/replace ----------------------------------------------------------------------------------


def test_replace_lower_quantity_keeps_priority(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, 5, "0.50"), T0)
    ex.seed_market(SYM, asks=[(D("0.50"), D(5))], now=T0)
    out = ex.handle("a", rpl("a2", "a1", SELL, 3), T0)
    er = one(ers(out, "a"))
    assert er.exec_type == p.ExecType.REPLACED and er.ord_status == p.OrdStatus.REPLACED
    assert (er.cl_ord_id, er.orig_cl_ord_id, er.order_qty, er.leaves_qty) == ("a2", "a1", 3, 3)
    assert er.time_in_force == p.TimeInForce.GTC and er.price == D("0.50")
    assert ex.top_of_book(SYM)[1] == (D("0.50"), D(8))
    out = ex.handle("b", nos("b1", BUY, 3, "0.50"), T0)
    assert one(ers(out, "a")).cl_ord_id == "a2"  # alice still first in the queue


def test_replace_higher_quantity_loses_priority(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, 5, "0.50"), T0)
    ex.seed_market(SYM, asks=[(D("0.50"), D(5))], now=T0)
    ex.handle("a", rpl("a2", "a1", SELL, 6), T0)
    out = ex.handle("b", nos("b1", BUY, 5, "0.50"), T0)
    assert ers(out, "a") == []  # the house order is now ahead
    assert [v.cl_ord_id for v in ex.open_orders()] == ["a2"]


def test_replace_to_a_crossing_price_trades_as_aggressor(ex: Exchange) -> None:
    ex.handle("b", nos("b1", BUY, 2, "0.45"), T0)
    ex.handle("a", nos("a1", SELL, 5, "0.50"), T0)
    out = ex.handle("a", rpl("a2", "a1", SELL, 5, "0.44"), T0)
    replaced, trade = ers(out, "a")
    assert replaced.exec_type == p.ExecType.REPLACED and replaced.price == D("0.44")
    assert trade.exec_type == p.ExecType.TRADE and trade.aggressor_indicator is True
    assert trade.last_px == D("0.45") and trade.cl_ord_id == "a2"
    assert ex.top_of_book(SYM) == (None, (D("0.44"), D(3)))


def test_replace_quantity_rules(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, 5, "0.50"), T0)
    ex.handle("b", nos("b1", BUY, 3, "0.50"), T0)
    rej = one(of(ex.handle("a", rpl("a2", "a1", SELL, 2), T0), p.OrderCancelReject, "a"))
    assert (rej.cxl_rej_reason, rej.text) == (p.CxlRejReason.BROKER, "INVALID_AMEND_QTY_FOR_ORDER")
    assert rej.cxl_rej_response_to == p.CxlRejResponseTo.ORDER_CANCEL_REPLACE_REQUEST
    assert rej.ord_status == p.OrdStatus.PARTIALLY_FILLED
    er = one(ers(ex.handle("a", rpl("a3", "a1", SELL, 3), T0), "a"))  # = CumQty: cancelled
    assert er.exec_type == p.ExecType.CANCELED and (er.cl_ord_id, er.orig_cl_ord_id) == ("a3", "a1")
    assert ex.open_orders("alice") == []


def test_replace_rejects(ex: Exchange) -> None:
    ex.handle("a", nos("a0", BUY, 1, "0.40"), T0)
    ex.handle("a", nos("a1", SELL, 5, "0.50", exec_inst=p.ExecInst.POST_ONLY), T0)
    ex.handle("b", nos("b1", BUY, 1, "0.45"), T0)

    def reject(request: Any) -> Any:
        return one(of(ex.handle("a", request, T0), p.OrderCancelReject, "a"))

    assert reject(rpl("x", "a1", SELL, 5, "0.40")).cxl_rej_reason == 18  # own bid
    assert reject(rpl("x", "a1", SELL, 5, "0.40")).text == "SELF_CROSS_ATTEMPT"
    assert reject(rpl("x", "a1", SELL, 5, "0.45")).text == "POST_ONLY_CROSS"
    assert reject(rpl("x", "a1", SELL, 5, "1.5")).text == "INVALID_PRICE"
    assert reject(rpl("a0", "a1", SELL, 5)).text == "ORDER_ALREADY_EXISTS"
    assert reject(rpl("x", "zz", SELL, 5)).cxl_rej_reason == p.CxlRejReason.UNKNOWN_ORDER
    ioc = p.TimeInForce.IOC
    assert reject(rpl("x", "a1", SELL, 5, time_in_force=ioc)).text == "INVALID_ORDER"
    ex.handle("a", rpl("a2", "a1", SELL, 4), T0)
    assert reject(cxl("x", "a1", SELL)).text == "NOT_FOUND"  # the old ClOrdID is gone
    assert ex.top_of_book(SYM) == ((D("0.45"), D(1)), (D("0.50"), D(4)))


def test_replace_can_set_and_clear_an_expiry(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, 5, "0.50"), T0)
    later = datetime(2026, 6, 15, 15, 0, tzinfo=UTC)
    gtd = p.TimeInForce.GTD
    er = one(
        ers(ex.handle("a", rpl("a2", "a1", SELL, 5, time_in_force=gtd, expire_time=later), T0), "a")
    )
    assert er.time_in_force == gtd and er.expire_time == later
    er = one(ers(ex.handle("a", rpl("a3", "a2", SELL, 5), T0), "a"))  # omitted: preserved
    assert er.expire_time == later
    er = one(
        ers(ex.handle("a", rpl("a4", "a3", SELL, 5, time_in_force=p.TimeInForce.GTC), T0), "a")
    )
    assert er.time_in_force == p.TimeInForce.GTC and er.expire_time is None


# -- mass cancel, listeners, cancel on disconnect -----------------------------------------------------


def test_mass_cancel_cancels_the_sessions_orders_then_reports(ex: Exchange) -> None:
    # "the FIX session" is the key's KalshiNR session: another connection's orders go too,
    # not the orders of the key's KalshiRT session
    ex.connect("a2", "alice", "KalshiNR", now=T0)
    ex.connect("art", "alice", "KalshiRT", now=T0)
    ex.handle("a", nos("a1", SELL, 1, "0.60"), T0)
    ex.handle("a", nos("a2", BUY, 1, "0.40"), T0)
    ex.handle("a2", nos("a3", SELL, 1, "0.70"), T0)
    ex.handle("art", nos("rt1", SELL, 1, "0.80"), T0)
    out = ex.handle("a", p.OrderMassCancelRequest(cl_ord_id="m1", mass_cancel_request_type="6"), T0)
    assert [type(o.message).__name__ for o in out] == [
        "ExecutionReport",
        "ExecutionReport",
        "ExecutionReport",
        "OrderMassCancelReport",
    ]
    assert {r.cl_ord_id for r in ers(out, "a")} == {"a1", "a2"}
    assert {r.cl_ord_id for r in ers(out, "a2")} == {"a3"}
    report = one(of(out[-1:], p.OrderMassCancelReport))
    assert report.mass_cancel_response == p.MassCancelResponse.ALL_ORDERS_CANCELLED
    assert report.cl_ord_id == "m1" and UUID.match(report.order_id)
    assert [v.cl_ord_id for v in ex.open_orders("alice")] == ["rt1"]
    out = ex.handle("a", p.OrderMassCancelRequest(cl_ord_id="m2", mass_cancel_request_type="1"), T0)
    assert one(out).message.mass_cancel_response == p.MassCancelResponse.REJECTED


def test_listener_gets_a_copy_of_every_report_of_its_account(ex: Exchange) -> None:
    ex.connect("al", "alice", "KalshiNR", listener=True, now=T0)
    outs = [
        ex.handle("a", nos("a1", SELL, 5, "0.60"), T0),
        ex.handle("a", nos("a2", SELL, 5, "1.60"), T0),
        ex.handle("b", nos("b1", BUY, 2, "0.60"), T0),
        ex.handle("b", nos("b2", BUY, 2, "0.10"), T0),
    ]
    sent = [r.exec_id for out in outs for r in ers(out, "a")]
    copied = [r.exec_id for out in outs for r in ers(out, "al")]
    assert sent == copied and len(sent) == 3  # a1 new, a2 rejected, a1 trade
    out = ex.handle("al", nos("x", BUY, 1, "0.50"), T0)
    assert one(of(out, p.BusinessMessageReject, "al")).business_reject_reason == 3


def test_cancel_on_disconnect(ex: Exchange) -> None:
    ex.connect("a1", "alice", "KalshiNR", cancel_on_disconnect=True, now=T0)
    ex.connect("a2", "alice", "KalshiRT", now=T0)
    ex.connect("al", "alice", "KalshiRT", listener=True, now=T0)
    ex.handle("a1", nos("x1", SELL, 1, "0.60"), T0)
    ex.handle("a1", nos("x2", SELL, 1, "0.61"), T0)
    ex.handle("a2", nos("y1", SELL, 1, "0.62"), T0)
    ex.handle("a", nos("z1", SELL, 1, "0.63"), T0)
    out = ex.disconnect("a1", T0 + 1)
    assert [r.cl_ord_id for r in ers(out, "a2")] == ["x1", "x2"]
    assert [r.cl_ord_id for r in ers(out, "al")] == ["x1", "x2"]
    assert {o.session_id for o in out} == {"a", "a2", "al"}
    assert [v.cl_ord_id for v in ex.open_orders("alice")] == ["y1", "z1"]
    assert ex.disconnect("a", T0 + 1) == []  # no CancelOrdersOnDisconnect: z1 stays
    out = ex.handle("b", nos("b1", BUY, 4, "0.63"), T0 + 2)
    assert [r.cl_ord_id for r in ers(out, "a2")] == ["y1", "z1"]  # fills routed to a2
    assert ex.disconnect("unknown", T0) == []


# -- order groups ------------------------------------------------------------------------------------


def create_group(ex: Exchange, limit: int, session: str = "a") -> str:
    resp = one(ex.handle(session, group_req(1, limit=limit), T0)).message
    assert isinstance(resp, p.OrderGroupResponse)
    return str(resp.order_group_id)


def test_order_group_lifecycle_and_limit_trigger(ex: Exchange) -> None:
    resp = one(ex.handle("a", group_req(1, limit=5), T0)).message
    assert UUID.match(resp.order_group_id) and resp.order_group_contracts_limit == 5
    assert resp.alloc_account == 0
    gid = resp.order_group_id
    ex.handle("a", nos("a1", SELL, 4, "0.50", secondary_cl_ord_id=gid), T0)
    ex.handle("a", nos("a2", SELL, 4, "0.60", secondary_cl_ord_id=gid), T0)
    out = ex.handle("b", nos("b1", BUY, 4, "0.50"), T0)
    assert kinds(ers(out, "a")) == ["F"]  # 4 contracts: within the limit
    out = ex.handle("b", nos("b2", BUY, 2, "0.60"), T0 + 1)  # 6 > 5: triggered
    trade, cancel = ers(out, "a")
    assert trade.last_qty == 2
    assert (cancel.cl_ord_id, cancel.text) == ("a2", "ORDER_GROUP_CANCEL")
    out = ex.handle("a", nos("a3", SELL, 1, "0.70", secondary_cl_ord_id=gid), T0 + 2)
    er = one(ers(out, "a"))
    assert (er.text, er.ord_rej_reason) == ("EXCEEDED_ORDER_GROUP_RISK_LIMIT", 3)
    resp = one(ex.handle("a", group_req(2, gid), T0 + 3)).message
    assert resp.order_group_id == gid and resp.order_group_contracts_limit is None
    out = ex.handle("a", nos("a4", SELL, 1, "0.70", secondary_cl_ord_id=gid), T0 + 4)
    assert one(ers(out, "a")).exec_type == p.ExecType.NEW
    out = ex.handle("a", group_req(3, gid), T0 + 5)  # delete
    assert [type(o.message).__name__ for o in out] == ["ExecutionReport", "OrderGroupResponse"]
    assert ers(out, "a")[0].text == "ORDER_GROUP_CANCEL"
    reject = one(of(ex.handle("a", group_req(2, gid), T0), p.BusinessMessageReject, "a"))
    assert (reject.business_reject_reason, reject.text) == (0, "ORDER_GROUP_NOT_FOUND")
    assert reject.business_reject_ref_id == gid


def with_header(message: Any, seq: int) -> Any:
    """The message as the gateway hands it to the engine: decoded, with its header."""
    header = attrs.evolve(HEADER, sender_comp_id="client", target_comp_id="KalshiNR")
    return p.decode(p.encode(message, attrs.evolve(header, msg_seq_num=seq)))


MALFORMED_GROUP_IDS = [
    "not-a-uuid",
    "770e8400e29b41d4a716446655440002",  # no hyphens
    "{770e8400-e29b-41d4-a716-446655440002}",
    "urn:uuid:770e8400-e29b-41d4-a716-446655440002",
    "770e8400-e29b-41d4-a716-44665544000",  # one digit short
    "770e8400-e29b-41d4-a716-44665544000g",
    " 770e8400-e29b-41d4-a716-446655440002",
]


@pytest.mark.parametrize("gid", MALFORMED_GROUP_IDS)
@pytest.mark.parametrize("action", [1, 2, 3, 4, 5])
def test_malformed_order_group_id_gets_the_session_reject(
    ex: Exchange, action: int, gid: str
) -> None:
    # order-groups page: "malformed fields (e.g. OrderGroupID not a valid UUID) -> session
    # Reject (35=3)", not a business reject and not inside UOH
    request = with_header(group_req(action, gid, limit=5 if action in (1, 5) else None), 7)
    assert_session_reject(
        ex.handle("a", request, T0),
        "a",
        ref_seq_num=7,
        ref_tag_id=20130,
        ref_msg_type="UOG",
        session_reject_reason=p.SessionRejectReason.INCORRECT_DATA_FORMAT,
        text="Incorrect data format for value",
    )


def test_well_formed_order_group_ids_reach_the_business_rules(ex: Exchange) -> None:
    for gid in ("770e8400-e29b-41d4-a716-446655440002", "770E8400-E29B-41D4-A716-446655440002"):
        out = ex.handle("a", group_req(2, gid), T0)
        reject = one(of(out, p.BusinessMessageReject, "a"))  # unknown group: business reject
        assert (reject.business_reject_reason, reject.text) == (0, "ORDER_GROUP_NOT_FOUND")


def test_malformed_order_group_id_on_an_order_gets_the_session_reject(ex: Exchange) -> None:
    order = with_header(nos("a1", SELL, 1, "0.60", order_group_id="group-1"), 9)
    assert_session_reject(
        ex.handle("a", order, T0),
        "a",
        ref_seq_num=9,
        ref_tag_id=20130,
        ref_msg_type="D",
        session_reject_reason=6,
    )
    assert ex.open_orders("alice") == []  # nothing was placed


def test_order_group_rolling_window_is_fifteen_seconds(ex: Exchange) -> None:
    gid = create_group(ex, 5)
    ex.handle("a", nos("a1", SELL, 20, "0.50", secondary_cl_ord_id=gid), T0)
    ex.handle("b", nos("b1", BUY, 4, "0.50"), T0)
    out = ex.handle("b", nos("b2", BUY, 4, "0.50"), T0 + 15)  # the first 4 left the window
    assert kinds(ers(out, "a")) == ["F"]
    out = ex.handle("b", nos("b3", BUY, 2, "0.50"), T0 + 20)  # 4 + 2 within 15 s
    assert kinds(ers(out, "a")) == ["F", "4"]


def test_order_group_update_trigger_and_ownership(ex: Exchange) -> None:
    gid = create_group(ex, 10)
    ex.handle("a", nos("a1", SELL, 20, "0.50", secondary_cl_ord_id=gid), T0)
    ex.handle("b", nos("b1", BUY, 4, "0.50"), T0)
    out = ex.handle("a", group_req(5, gid, limit=3), T0 + 1)
    assert ers(out, "a")[0].text == "ORDER_GROUP_CANCEL"
    assert one(of(out, p.OrderGroupResponse)).order_group_contracts_limit == 3
    out = ex.handle("b", nos("b2", BUY, 1, "0.50", secondary_cl_ord_id=gid), T0)
    assert one(ers(out, "b")).text == "ORDER_GROUP_NOT_FOUND"  # alice's group
    assert one(of(ex.handle("b", group_req(4, gid), T0), p.BusinessMessageReject)).text == (
        "ORDER_GROUP_NOT_FOUND"
    )
    gid2 = create_group(ex, 10)
    ex.handle("a", nos("a2", SELL, 1, "0.55", secondary_cl_ord_id=gid2), T0)
    out = ex.handle("a", group_req(4, gid2), T0)  # manual trigger
    assert ers(out, "a")[0].text == "ORDER_GROUP_CANCEL"
    missing = one(of(ex.handle("a", group_req(1), T0), p.BusinessMessageReject))
    assert missing.business_reject_reason == 5
    bad = one(of(ex.handle("a", group_req(1, limit=0), T0), p.BusinessMessageReject))
    assert bad.business_reject_reason == 0
