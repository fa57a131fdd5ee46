"""Behaviour of the mock gateway's exchange engine around the orders: trading and exchange pauses,
market data, settlement, the margin product, admin checks and deterministic ids."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal as D
from typing import Any

import attrs
import pytest
from engine_helpers import (
    BUY,
    HEADER,
    SELL,
    SYM,
    T0,
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

from kalshi_fix_sansio import Message
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import HOUSE_ACCOUNT, Exchange, Outbound

# -- pauses -------------------------------------------------------------------------------------------


def test_trading_and_exchange_pause(ex: Exchange) -> None:
    ex.connect("md", "carol", "KalshiMD", now=T0)
    sub = p.SecurityStatusRequest(subscription_request_type="1", symbol=SYM)
    assert ex.handle("md", sub, T0) == []  # changes only: no status on subscribe
    ex.handle("a", nos("a1", SELL, 5, "0.60", cancel_order_on_pause=True), T0)
    ex.handle("a", nos("a2", SELL, 5, "0.70"), T0)
    out = ex.pause(T0 + 1)
    cancel = one(ers(out, "a"))
    assert (cancel.cl_ord_id, cancel.text) == ("a1", "TRADING_PAUSED")
    halt = one(of(out, p.SecurityStatus, "md"))
    assert halt.security_trading_status == p.SecurityTradingStatus.TRADING_HALT
    er = one(ers(ex.handle("b", nos("b1", BUY, 1, "0.70"), T0 + 2), "b"))
    assert (er.text, er.ord_rej_reason) == ("TRADING_PAUSED", p.OrdRejReason.EXCHANGE_CLOSED)
    rej = one(of(ex.handle("a", rpl("a3", "a2", SELL, 4), T0 + 2), p.OrderCancelReject))
    assert rej.text == "TRADING_PAUSED"
    ex.handle("a", nos("a4", SELL, 1, "0.80"), T0)  # rejected, nothing rests
    assert ex.pause(T0 + 3, exchange=True) == []  # already paused: no new status
    rej = one(of(ex.handle("a", cxl("c1", "a2", SELL), T0 + 3), p.OrderCancelReject))
    assert rej.text == "EXCHANGE_PAUSED" and rej.cxl_rej_reason == p.CxlRejReason.OTHER
    er = one(ers(ex.handle("b", nos("b2", BUY, 1, "0.70"), T0 + 3), "b"))
    assert er.text == "EXCHANGE_PAUSED"
    out = ex.resume(T0 + 4)
    assert one(of(out, p.SecurityStatus)).security_trading_status == 3
    assert kinds(ers(ex.handle("b", nos("b3", BUY, 1, "0.70"), T0 + 5), "b")) == ["0", "F"]
    assert ex.resume(T0 + 6) == []


def test_security_status_is_sent_only_on_a_change(ex: Exchange) -> None:
    # market-data page: "Changes-only: no initial status is sent on subscribe"
    ex.connect("md", "carol", "KalshiMD", now=T0)
    ex.connect("md2", "dave", "KalshiMD", now=T0)

    def status(kind: str, symbol: str = SYM) -> Any:
        return p.SecurityStatusRequest(subscription_request_type=kind, symbol=symbol)

    def statuses(out: Sequence[Outbound], session: str = "md") -> list[tuple[str, int]]:
        return [(s.symbol, s.security_trading_status) for s in of(out, p.SecurityStatus, session)]

    assert ex.handle("md", status("1"), T0) == []
    assert ex.handle("md", status("1"), T0) == []  # subscribing again: still nothing
    assert ex.handle("md", status("1", "KXNEW-26JUN15"), T0) == []  # unknown market: nothing
    out = ex.pause(T0 + 1)
    assert statuses(out) == [(SYM, 2)] and statuses(out, "md2") == []
    assert ex.handle("md2", status("1"), T0 + 1) == []  # paused: still no initial status
    assert ex.pause(T0 + 2, exchange=True) == []  # no change
    out = ex.resume(T0 + 3)
    assert statuses(out) == [(SYM, 3)] and statuses(out, "md2") == [(SYM, 3)]
    assert ex.resume(T0 + 4) == []
    assert statuses(ex.seed_market("KXNEW-26JUN15", now=T0 + 5)) == [("KXNEW-26JUN15", 3)]
    assert ex.seed_market("KXNEW-26JUN15", now=T0 + 5) == []  # it exists: no change
    assert ex.handle("md2", status("2"), T0 + 6) == []
    out = ex.settle(SYM, "no", T0 + 7)
    assert statuses(out) == [(SYM, 100), (SYM, 101)] and statuses(out, "md2") == []
    assert ex.handle("md", status("1"), T0 + 8) == []  # settled: nothing, not subscribed
    assert statuses(ex.pause(T0 + 9)) == [("KXNEW-26JUN15", 2)]


@pytest.mark.parametrize("kind", ["0", "3", "x"])
def test_security_status_request_types_kalshi_does_not_document_are_rejected(
    ex: Exchange, kind: str
) -> None:
    ex.connect("md", "carol", "KalshiMD", now=T0)
    request = p.SecurityStatusRequest(subscription_request_type=kind, symbol=SYM)
    header = attrs.evolve(HEADER, sender_comp_id="client", target_comp_id="KalshiMD", msg_seq_num=4)
    assert_session_reject(
        ex.handle("md", p.decode(p.encode(request, header)), T0),
        "md",
        ref_seq_num=4,
        ref_tag_id=263,
        ref_msg_type="e",
        session_reject_reason=p.SessionRejectReason.VALUE_INCORRECT,
    )
    assert ex.pause(T0 + 1) == []  # not subscribed


@pytest.mark.parametrize(("result", "wire"), [("yes", b"730=100.00"), ("no", b"730=0.00")])
def test_settlement_price_is_written_like_the_docs_examples(
    ex: Exchange, result: str, wire: bytes
) -> None:
    # settlement page: SettlementPrice is YES cents with 2 decimals, e.g. 730=100.00
    ex.connect("apt", "alice", "KalshiPT", now=T0)
    ex.handle("b", nos("b1", SELL, 2, "0.60"), T0)
    ex.handle("a", nos("a1", BUY, 2, "0.60"), T0)
    report = one(of(ex.settle(SYM, result, T0 + 1), p.MarketSettlementReport, "apt"))
    for use_dollars in (False, True):  # SettlementPrice is cents whatever UseDollars says
        frame = p.encode(report, HEADER, use_dollars=use_dollars)
        assert b"\x01" + wire + b"\x01" in frame
        assert p.decode(frame).settlement_price == (D(1) if result == "yes" else D(0))


def test_a_market_seeded_during_a_pause_is_announced_halted(ex: Exchange) -> None:
    ex.connect("md", "carol", "KalshiMD", now=T0)
    ex.handle("md", p.SecurityStatusRequest(subscription_request_type="1", symbol="KXP"), T0)
    ex.pause(T0)
    status = one(of(ex.seed_market("KXP", now=T0 + 1), p.SecurityStatus, "md"))
    assert status.security_trading_status == p.SecurityTradingStatus.TRADING_HALT


def test_cancel_is_allowed_during_a_trading_pause(ex: Exchange) -> None:
    ex.handle("a", nos("a1", SELL, 5, "0.60"), T0)
    ex.pause(T0)
    er = one(ers(ex.handle("a", cxl("c1", "a1", SELL), T0), "a"))
    assert er.exec_type == p.ExecType.CANCELED
    with pytest.raises(ValueError, match="cross"):
        ex.seed_market(SYM, bids=[(D("0.50"), D(1))], asks=[(D("0.40"), D(1))], now=T0)


# -- market data --------------------------------------------------------------------------------------


def test_snapshot_lists_aggregated_levels(ex: Exchange) -> None:
    ex.connect("md", "carol", "KalshiMD", now=T0)
    ex.seed_market(
        SYM, bids=[(D("0.39"), D(5)), (D("0.40"), D(10))], asks=[(D("0.60"), D(5))], now=T0
    )
    ex.handle("a", nos("a1", BUY, "2.5", "0.40"), T0)
    out = ex.handle("md", md_req("0", SYM, "UNKNOWN-TICKER"), T0)
    snap, empty = of(out, p.MarketDataSnapshotFullRefresh, "md")
    assert snap.symbol == SYM
    assert [(e.md_entry_type.value, e.md_entry_px, e.md_entry_size) for e in snap.md_entries] == [
        ("0", D("0.40"), D("12.5")),
        ("0", D("0.39"), D(5)),
        ("1", D("0.60"), D(5)),
    ]
    entry = snap.md_entries[0]
    assert (entry.md_entry_date, entry.md_entry_time.replace(tzinfo=None)) == (
        date(2026, 6, 15),
        datetime(2026, 6, 15, 14, 0).time(),
    )
    assert empty.symbol == "UNKNOWN-TICKER" and empty.md_entries == ()
    assert of(ex.handle("a", nos("a2", BUY, 1, "0.41"), T0), p.MarketDataIncrementalRefresh) == []
    encode_all(out)


def test_incremental_updates_and_trades_reach_subscribers(ex: Exchange) -> None:
    ex.connect("md", "bob", "KalshiMD", now=T0)
    ex.connect("md2", "carol", "KalshiMD", now=T0)
    ex.seed_market(SYM, asks=[(D("0.60"), D(5))], now=T0)
    ex.handle("md", md_req("1", SYM), T0)
    ex.handle("md2", md_req("1", SYM), T0)
    out = ex.handle("b", nos("b1", BUY, 3, "0.41"), T0)
    mine = one(one(of(out, p.MarketDataIncrementalRefresh, "md")).md_entries)
    theirs = one(one(of(out, p.MarketDataIncrementalRefresh, "md2")).md_entries)
    assert (mine.md_update_action, mine.md_entry_type, mine.md_entry_px, mine.md_entry_size) == (
        p.MDUpdateAction.NEW,
        p.MDEntryType.BID,
        D("0.41"),
        3,
    )
    assert (mine.symbol, mine.cl_ord_id, mine.alloc_account) == (SYM, "b1", 0)
    assert theirs.cl_ord_id is None and theirs.alloc_account is None
    out = ex.handle("b", nos("b2", BUY, 2, "0.60"), T0 + 1)
    trade, change = one(of(out, p.MarketDataIncrementalRefresh, "md2")).md_entries
    assert (trade.md_entry_type, trade.md_entry_px, trade.md_entry_size) == (
        p.MDEntryType.TRADE,
        D("0.60"),
        2,
    )
    assert trade.aggressor_side == p.AggressorSide.BUY
    assert trade.trade_id == ers(out, "b")[-1].trd_match_id
    assert (change.md_update_action, change.md_entry_size) == (p.MDUpdateAction.CHANGE, 3)
    out = ex.handle("b", cxl("c1", "b1", BUY), T0 + 2)
    gone = one(one(of(out, p.MarketDataIncrementalRefresh, "md2")).md_entries)
    assert (gone.md_update_action, gone.md_entry_px, gone.md_entry_size) == (
        p.MDUpdateAction.DELETE,
        D("0.41"),
        0,
    )
    assert ex.handle("md2", md_req("2"), T0) == []  # unsubscribe from everything
    out = ex.handle("b", nos("b3", BUY, 1, "0.42"), T0)
    assert of(out, p.MarketDataIncrementalRefresh, "md2") == []
    assert len(of(out, p.MarketDataIncrementalRefresh, "md")) == 1
    encode_all(out)


def test_market_data_request_rejects(ex: Exchange) -> None:
    ex.connect("md", "carol", "KalshiMD", now=T0)
    many = [f"S{i}" for i in range(1001)]
    reject = one(of(ex.handle("md", md_req("1", *many), T0), p.MarketDataRequestReject))
    assert reject.md_req_rej_reason == p.MDReqRejReason.INSUFFICIENT_BANDWIDTH
    bad = p.MarketDataRequest(subscription_request_type="5")
    reject = one(of(ex.handle("md", bad, T0), p.MarketDataRequestReject))
    assert reject.md_req_rej_reason == p.MDReqRejReason.UNSUPPORTED_SUBSCRIPTION_REQUEST_TYPE
    assert (
        len(of(ex.handle("md", md_req("0", *many[:1000]), T0), p.MarketDataSnapshotFullRefresh))
        == 1000
    )


# -- settlement ---------------------------------------------------------------------------------------


def test_settlement_reports_are_paginated_per_account(ex: Exchange) -> None:
    ex.connect("apt", "alice", "KalshiPT", now=T0)
    ex.connect("brt", "bob", "KalshiRT", settlement_reports=True, now=T0)
    ex.connect("md", "carol", "KalshiMD", now=T0)
    ex.handle("md", p.SecurityStatusRequest(subscription_request_type="1", symbol=SYM), T0)
    ex.handle("b", nos("b1", SELL, 15, "0.60"), T0)
    for sub in range(5):  # alice buys sub+1 YES in subaccounts 0..4
        ex.handle("a", nos(f"a{sub}", BUY, sub + 1, "0.60", alloc_account=sub), T0)
    ex.handle("a", nos("rest", BUY, 1, "0.20"), T0)
    out = ex.settle(SYM, "yes", T0 + 100, fragment_size=2)
    assert one(ers(out, "a")).text == "MARKET_ALREADY_CLOSED"
    statuses = [s.security_trading_status for s in of(out, p.SecurityStatus, "md")]
    assert statuses == [
        p.SecurityTradingStatus.KALSHI_DETERMINED,
        p.SecurityTradingStatus.KALSHI_SETTLED,
    ]
    pages = of(out, p.MarketSettlementReport, "apt")
    assert [len(pg.market_settlement_party_ids) for pg in pages] == [2, 2, 1]
    assert [pg.last_fragment for pg in pages] == [False, False, True]
    assert {pg.tot_num_market_settlement_reports for pg in pages} == {3}
    assert len({pg.market_settlement_report_id for pg in pages}) == 3
    first = pages[0]
    assert (first.symbol, first.market_result, first.settlement_price) == (
        SYM,
        p.MarketResult.YES,
        D(1),
    )
    assert first.clearing_business_date == date(2026, 6, 15)
    parties = [e for pg in pages for e in pg.market_settlement_party_ids]
    assert [e.market_settlement_party_id for e in parties] == [
        "alice",
        "alice/1",
        "alice/2",
        "alice/3",
        "alice/4",
    ]
    assert [e.long_qty for e in parties] == [1, 2, 3, 4, 5]
    payout = one(parties[4].collateral_amount_changes)
    assert (payout.collateral_amount_change, payout.collateral_amount_type) == (
        D(5),
        p.CollateralAmountType.PAYOUT,
    )
    assert one(parties[4].misc_fees).misc_fee_amt == 0
    bob = one(of(out, p.MarketSettlementReport, "brt"))
    entry = one(bob.market_settlement_party_ids)
    assert (entry.market_settlement_party_id, entry.short_qty, entry.long_qty) == ("bob", 15, 0)
    assert one(entry.collateral_amount_changes).collateral_amount_change == 0
    assert of(out, p.MarketSettlementReport, "a") == of(out, p.MarketSettlementReport, "b") == []
    encode_all(out)
    assert b"\x01730=100.00\x01" in p.encode(first, HEADER)  # as the docs' examples write it
    er = one(ers(ex.handle("a", nos("late", BUY, 1, "0.50"), T0 + 101), "a"))
    assert (er.text, er.ord_rej_reason) == ("MARKET_ALREADY_CLOSED", 2)
    assert ex.position(SYM, "alice", "alice/4") == 0
    with pytest.raises(ValueError, match="already settled"):
        ex.settle(SYM, "yes", T0)
    with pytest.raises(ValueError, match="result"):
        ex.settle(SYM, "maybe", T0)
    with pytest.raises(ValueError, match="unknown market"):
        ex.settle("NOPE", "no", T0)


# -- margin ---------------------------------------------------------------------------------------------


def test_margin_whole_contracts_and_dollar_prices() -> None:
    ex = Exchange("margin", seed=3)
    ex.seed_market("BTC-PERP", asks=[(D("19.5"), D(10))], now=T0)
    ex.connect("a", "alice", "KalshiNR", now=T0)

    def order(cl: str, qty: str, px: str) -> Any:
        return m.NewOrderSingle(
            cl_ord_id=cl,
            side=m.Side.BUY,
            order_qty=D(qty),
            ord_type=m.OrdType.LIMIT,
            price=D(px),
            symbol="BTC-PERP",
        )

    er = one(of(ex.handle("a", order("a1", "1.5", "19.5"), T0), m.ExecutionReport))
    assert (er.exec_type, er.text, er.ord_rej_reason) == (m.ExecType.REJECTED, "INVALID_ORDER", 11)
    out = ex.handle("a", order("a2", "2", "20"), T0)
    _new, trade = of(out, m.ExecutionReport)
    assert (trade.last_px, trade.last_qty, trade.price) == (D("19.5"), 2, D("20"))
    assert one(trade.misc_fees).misc_fee_amt == D("0.02")  # ceil(0.0005 * 2 * 19.5)
    assert (trade.long_qty, trade.short_qty) == (2, 0)
    frame = m.encode(trade, HEADER)
    assert b"\x0131=19.5000\x01" in frame and b"\x0144=20.0000\x01" in frame
    assert ex.pause(T0) == []  # no SecurityStatus on margin
    with pytest.raises(ValueError, match="margin"):
        ex.settle("BTC-PERP", "yes", T0)
    out = ex.handle("a", p.Heartbeat(), T0)
    assert isinstance(one(out).message, m.BusinessMessageReject)
    grp = one(
        ex.handle("a", m.OrderGroupRequest(order_group_action=1, order_group_contracts_limit=5), T0)
    )
    assert isinstance(grp.message, m.OrderGroupResponse)


# -- admin and determinism ------------------------------------------------------------------------------


def test_admin_validation() -> None:
    ex = Exchange()
    with pytest.raises(ValueError, match="price"):
        ex.seed_market(SYM, bids=[(D("1.2"), D(1))], now=T0)
    with pytest.raises(ValueError, match="quantity"):
        ex.seed_market(SYM, bids=[(D("0.2"), D(0))], now=T0)
    with pytest.raises(ValueError, match="product"):
        Exchange("perps")
    ex.connect("a", "alice", "KalshiNR", now=T0)
    with pytest.raises(ValueError, match="already connected"):
        ex.connect("a", "alice", "KalshiNR", now=T0)
    with pytest.raises(ValueError, match="session type"):
        ex.connect("z", "alice", "KalshiXX", now=T0)
    assert ex.top_of_book("NOPE") == (None, None)


def test_seeding_crossing_liquidity_trades_and_replaces_house_quotes(ex: Exchange) -> None:
    ex.seed_market(SYM, asks=[(D("0.60"), D(5))], now=T0)
    ex.handle("a", nos("a1", BUY, 2, "0.50"), T0)
    out = ex.seed_market(SYM, asks=[(D("0.45"), D(5))], now=T0)
    assert one(ers(out, "a")).last_px == D("0.50")
    ex.seed_market(SYM, bids=[(D("0.50"), D(1))], now=T0)  # crosses the house ask at 0.45
    assert ex.top_of_book(SYM) == ((D("0.50"), D(1)), (D("0.60"), D(5)))
    assert all(v.account == HOUSE_ACCOUNT for v in ex.open_orders()) and len(ex.open_orders()) == 2


def scenario(seed: int) -> list[str]:
    ex = Exchange(seed=seed)
    out = ex.seed_market(SYM, asks=[(D("0.60"), D(5))], now=T0)
    out += ex.connect("a", "alice", "KalshiNR", now=T0)
    out += ex.handle("a", nos("a1", BUY, 3, "0.60"), T0)
    out += ex.handle("a", group_req(1, limit=5), T0 + 1)
    return [repr(o) for o in out]


def test_ids_are_deterministic_per_seed() -> None:
    assert scenario(7) == scenario(7)
    assert scenario(7) != scenario(8)
    exec_ids = [re.search(r"exec_id='([^']+)'", r) for r in scenario(7)]
    assert [x.group(1) for x in exec_ids if x] == ["2;1", "2;2"]


def test_outbound_is_a_session_and_a_message(ex: Exchange) -> None:
    out = ex.handle("a", nos("a1", SELL, 1, "0.60"), T0)
    assert isinstance(out[0], Outbound) and isinstance(out[0].message, Message)
    assert out[0].session_id == "a"
