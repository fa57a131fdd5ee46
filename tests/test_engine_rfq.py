"""The RFQ flow (35=R ... 35=U8) of the exchange engine: the happy paths, the confirmation
timeout, and the cancels of quotes and RFQs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D
from typing import Any

import pytest
from engine_helpers import BUY, HEADER, SELL, T0, UTC, UUID, ers, of, one
from rfq_helpers import (
    OTHER,
    SYM,
    accept,
    encode_all,
    maker_fee,
    nos,
    open_rfq,
    quote,
    quoted,
    rfq_exchange,  # noqa: F401  (the ex fixture)
    rfq_req,
    taker_fee,
    to,
)

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import Exchange
from kalshi_fix_sansio.simulator.gateway.exchange import QUOTE_CONFIRM_SECONDS

# -- RFQ: the happy path ---------------------------------------------------------------------------


def test_rfq_happy_path_with_accept_quote(ex: Exchange) -> None:
    ex.connect("md", "dave", "KalshiMD", now=T0)
    ex.handle(
        "md",
        p.MarketDataRequest(
            subscription_request_type="1", related_sym=(p.MarketDataRequestRelatedSym(symbol=SYM),)
        ),
        T0,
    )
    # 1. creator -> 35=R; 35=b to the creator; 35=R to every market maker
    out = ex.handle("rt", rfq_req("client-req-123", 100), T0)
    encode_all(out)
    ack = one(to(out, "rt"))
    assert isinstance(ack, p.QuoteRequestAck)
    assert ack.quote_req_id == "client-req-123"
    assert ack.quote_request_type == p.QuoteRequestType.MANUAL
    assert ack.ex_destination == 0 and UUID.match(ack.rfq_id)
    rfq_id = ack.rfq_id
    broadcasts = {sid: one(to(out, sid)) for sid in ("mm", "mm2")}
    assert {o.session_id for o in out} == {"rt", "mm", "mm2"}
    creator_ids = set()
    for notice in broadcasts.values():
        assert isinstance(notice, p.QuoteRequest)
        assert notice.quote_req_id == rfq_id
        entry = one(notice.related_sym)
        assert (entry.symbol, entry.order_qty, entry.cash_order_qty) == (SYM, 100, None)
        assert entry.transact_time == datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
        party = one(entry.party_ids)
        assert UUID.match(party.party_id) and party.party_role is None
        creator_ids.add(party.party_id)
    assert len(creator_ids) == 1  # one pseudonymous id, not the account name
    assert "alice" not in creator_ids

    # 2. maker -> 35=S; 35=AI PENDING to the maker; 3. 35=S notification to the creator
    out = ex.handle("mm", quote("quote-789", rfq_id, "0.75", "0.25"), T0 + 1.5)
    encode_all(out)
    assert {o.session_id for o in out} == {"mm", "rt"}
    pending = one(to(out, "mm"))
    assert isinstance(pending, p.QuoteStatusReport)
    assert (pending.quote_id, pending.quote_req_id) == ("quote-789", rfq_id)
    assert pending.quote_status == p.QuoteStatus.PENDING
    assert (pending.bid_px, pending.offer_px) == (D("0.75"), D("0.25"))
    assert (pending.order_qty, pending.bid_size, pending.offer_size) == (100, 100, 100)
    assert pending.transact_time == datetime(2026, 6, 15, 14, 0, 1, 500000, tzinfo=UTC)
    assert pending.side is None and pending.text is None and pending.alloc_account is None
    notice = one(to(out, "rt"))
    assert isinstance(notice, p.Quote)
    assert (notice.quote_id, notice.quote_req_id, notice.symbol) == ("quote-789", rfq_id, SYM)
    assert (notice.bid_px, notice.offer_px) == (D("0.75"), D("0.25"))
    assert (notice.order_qty, notice.bid_size, notice.offer_size) == (100, 100, 100)
    assert notice.transact_time == pending.transact_time
    maker = one(notice.parties)
    assert maker.party_role == p.PartyRole.LIQUIDITY_PROVIDER
    assert UUID.match(maker.party_id) and maker.party_id not in creator_ids
    # wire units: the creator's session (KalshiRT) gets dollars whatever UseDollars says, as the
    # RFQ page documents (docs/maintainers/decisions.md, RFQ price units)
    for use_dollars in (False, True):
        units = p.rfq_units_for("KalshiRT", use_dollars=use_dollars)
        frame = p.encode(notice, HEADER, use_dollars=use_dollars, rfq_units=units)
        assert b"\x01132=0.75\x01133=0.25\x01" in frame

    # 4. creator -> 35=UA; 35=UC; 5. 35=AI ACCEPTED to the maker
    ua = accept("quote-789", BUY, 40, rfq_id=rfq_id, cl_ord_id="client-accept-123")
    out = ex.handle("rt", ua, T0 + 2)
    encode_all(out)
    status = one(to(out, "rt"))
    assert isinstance(status, p.AcceptQuoteStatus)
    assert status.accept_quote_status == p.AcceptQuoteStatusValue.ACCEPTED
    assert (status.quote_id, status.accepted_quote_id, status.cl_ord_id) == (
        "quote-789",
        "quote-789",
        "client-accept-123",
    )
    assert status.text is None
    accepted = one(to(out, "mm"))
    assert accepted.quote_status == p.QuoteStatus.ACCEPTED
    assert (accepted.quote_id, accepted.quote_req_id, accepted.side) == ("quote-789", rfq_id, BUY)
    assert accepted.order_qty == 40 and accepted.transact_time is None
    assert ex.position(SYM, "alice") == 0  # nothing trades before the confirmation

    # the maker confirms within 30 s: 35=U8, then the execution
    out = ex.handle("mm", p.QuoteConfirm(quote_id="quote-789", rfq_id=rfq_id), T0 + 31.9)
    encode_all(out)
    confirm = one(of(out, p.QuoteConfirmStatus, "mm"))
    assert (confirm.quote_id, confirm.quote_confirm_status, confirm.text) == (
        "quote-789",
        p.QuoteConfirmStatusValue.ACCEPTED,
        None,
    )
    assert not ers(out, "mm")  # KalshiRFQ carries no ExecutionReports
    new, trade = ers(out, "rt")
    assert (new.exec_type, new.cl_ord_id, new.side, new.price) == (
        p.ExecType.NEW,
        "client-accept-123",
        BUY,
        D("0.75"),
    )
    assert (new.order_qty, new.leaves_qty, new.cum_qty) == (40, 40, 0)
    assert trade.exec_type == p.ExecType.TRADE and trade.ord_status == p.OrdStatus.FILLED
    assert (trade.last_px, trade.last_qty, trade.cum_qty, trade.leaves_qty) == (
        D("0.75"),
        40,
        40,
        0,
    )
    assert trade.aggressor_indicator is True and trade.order_id == new.order_id
    assert one(trade.misc_fees).misc_fee_amt == taker_fee(D(40), D("0.75")) == D("0.53")
    assert (trade.long_qty, trade.short_qty) == (40, 0)
    assert one(trade.collateral_amount_changes).collateral_amount_change == D("-30.53")
    mnew, mtrade = ers(out, "bnr")  # the maker's order-entry session
    assert (mnew.exec_type, mnew.cl_ord_id, mnew.side, mnew.price) == (
        p.ExecType.NEW,
        "quote-789",
        SELL,
        D("0.75"),
    )
    assert (mtrade.last_px, mtrade.last_qty, mtrade.aggressor_indicator) == (D("0.75"), 40, False)
    assert mtrade.trd_match_id == trade.trd_match_id
    assert one(mtrade.misc_fees).misc_fee_amt == maker_fee(D(40), D("0.75")) == D("0.14")
    assert (mtrade.long_qty, mtrade.short_qty) == (0, 40)
    assert one(mtrade.collateral_amount_changes).collateral_amount_change == D("-10.14")
    assert ex.position(SYM, "alice") == 40 and ex.position(SYM, "bob") == -40
    # the RFQ closes; makers are told; market data shows a block trade
    for sid in ("mm", "mm2"):
        closed = one(of(out, p.QuoteRequestReject, sid))
        assert (closed.quote_req_id, closed.text) == (rfq_id, "RFQ_EXECUTED")
        assert closed.quote_request_reject_reason == p.QuoteRequestRejectReason.OTHER
    md = one(of(out, p.MarketDataIncrementalRefresh, "md"))
    entry = one(md.md_entries)
    assert (entry.md_entry_type, entry.md_entry_px, entry.md_entry_size) == (
        p.MDEntryType.TRADE,
        D("0.75"),
        40,
    )
    assert entry.trd_type == p.TrdType.BLOCK_TRADE and entry.aggressor_side == BUY
    assert entry.trade_id == trade.trd_match_id
    assert ex.top_of_book(SYM) == (None, None) and ex.open_orders() == []
    # and it is over: the quote cannot be confirmed or accepted again
    out = ex.handle("mm", p.QuoteConfirm(quote_id="quote-789"), T0 + 33)
    assert one(to(out, "mm")).text == "EXPIRED"
    out = ex.handle("rt", accept("quote-789"), T0 + 33)
    assert one(to(out, "rt")).text == "EXPIRED"
    out = ex.handle("rt", p.RFQCancel(quote_req_id="client-req-123"), T0 + 33)
    assert one(to(out, "rt")).text == "RFQ_CLOSED"


def test_maker_quote_decoded_from_cents_on_the_wire(ex: Exchange) -> None:
    rfq_id = open_rfq(ex)
    frame = p.encode(
        p.Quote(quote_id="quote-789", quote_req_id=rfq_id, symbol=SYM, bid_px=D("0.75")), HEADER
    )
    assert b"\x01132=75\x01" in frame
    out = ex.handle("mm", p.decode(frame), T0 + 1)
    report = one(to(out, "mm"))
    assert (report.bid_px, report.offer_px, report.bid_size, report.offer_size) == (
        D("0.75"),
        None,
        100,
        None,
    )
    notice = one(to(out, "rt"))
    assert (notice.bid_px, notice.offer_px) == (D("0.75"), None)  # absent when zero
    encode_all(out)


def test_accept_by_new_order_single_with_quote_id(ex: Exchange) -> None:
    rfq_id = quoted(ex, "q1", session="mm2", yes="0.7125", no="0.20")  # carol quotes
    # Side 2 sells YES to the maker's YES bid (0.7125); Price is a limit on the YES price
    out = ex.handle("rt", nos("d1", SELL, 30, "0.72", quote_id="q1", rfq_id=rfq_id), T0 + 2)
    er = one(ers(out, "rt"))
    assert (er.exec_type, er.text, er.ord_rej_reason) == (
        p.ExecType.REJECTED,
        "INVALID_PRICE",
        p.OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
    )
    out = ex.handle("rt", nos("d1", SELL, 30, "0.70", quote_id="q1", rfq_id=rfq_id), T0 + 2)
    encode_all(out)
    new = one(ers(out, "rt"))
    assert (new.exec_type, new.cl_ord_id, new.side, new.price, new.order_qty) == (
        p.ExecType.NEW,
        "d1",
        SELL,
        D("0.70"),
        30,
    )
    assert not of(out, p.AcceptQuoteStatus)  # 35=UC answers 35=UA only
    accepted = one(to(out, "mm2"))
    assert (accepted.quote_status, accepted.side, accepted.order_qty) == (
        p.QuoteStatus.ACCEPTED,
        SELL,
        30,
    )
    assert accepted.bid_px == D("0.71")  # carol's RFQ session has no UseDollars: cents
    # the acceptance is not an order in the book: cancel is too late, mass cancel misses it
    cxl = p.OrderCancelRequest(cl_ord_id="x", orig_cl_ord_id="d1", side=SELL, symbol=SYM)
    out = ex.handle("rt", cxl, T0 + 3)
    rej = one(of(out, p.OrderCancelReject, "rt"))
    assert rej.cxl_rej_reason == p.CxlRejReason(0) and rej.ord_status == p.OrdStatus.NEW
    assert ex.open_orders() == []
    out = ex.handle("rt", nos("d1", BUY, 1, "0.10"), T0 + 3)  # the ClOrdID is in use
    assert one(ers(out, "rt")).text == "ORDER_ALREADY_EXISTS"
    out = ex.handle("mm2", p.QuoteConfirm(quote_id="q1"), T0 + 4)
    encode_all(out)
    assert one(of(out, p.QuoteConfirmStatus, "mm2")).quote_confirm_status == 0
    trade = one(ers(out, "rt"))  # the New report was sent on acceptance
    assert (trade.exec_type, trade.order_id, trade.cl_ord_id) == (
        p.ExecType.TRADE,
        new.order_id,
        "d1",
    )
    assert (trade.last_px, trade.last_qty, trade.avg_px) == (D("0.71"), 30, D("0.71"))  # cents
    assert (trade.long_qty, trade.short_qty) == (0, 30)
    assert one(trade.misc_fees).misc_fee_amt == taker_fee(D(30), D("0.7125"))
    # the creator bought 30 NO at 1 - 0.7125
    assert one(trade.collateral_amount_changes).collateral_amount_change == (
        -D("0.2875") * 30 - taker_fee(D(30), D("0.7125"))
    )
    mnew, mtrade = ers(out, "cnr")
    assert (mnew.side, mtrade.side, mtrade.last_px) == (BUY, BUY, D("0.7125"))  # dollars session
    assert ex.position(SYM, "alice") == -30 and ex.position(SYM, "carol") == 30


@pytest.mark.parametrize(
    ("changes", "text", "reason"),
    [
        ({"quote_id": "nope"}, "INVALID_ORDER", 11),  # unknown quote
        ({"quote_id": None}, "INVALID_ORDER", 11),  # RfqId without QuoteID
        ({"exec_inst": "E", "time_in_force": "3"}, "INVALID_ORDER", 11),  # reduce-only
        ({"order_qty": D(101)}, "INVALID_ORDER", 11),  # more than the quote's size
        ({"symbol": OTHER}, "INVALID_ORDER", 11),
        ({"rfq_id": "other-rfq"}, "INVALID_ORDER", 11),  # quote not on that RFQ
    ],
)
def test_quote_acceptance_order_rejects(
    ex: Exchange, changes: dict[str, Any], text: str, reason: int
) -> None:
    rfq_id = quoted(ex)
    order = nos("d1", BUY, 10, "0.99", quote_id="q1", rfq_id=rfq_id).replace(**changes)
    out = ex.handle("rt", order, T0 + 2)
    er = one(ers(out, "rt"))
    assert (er.exec_type, er.text, er.ord_rej_reason) == (p.ExecType.REJECTED, text, reason)
    assert not to(out, "mm")
    encode_all(out)


def test_quote_acceptance_order_for_a_dead_quote_is_stale(ex: Exchange) -> None:
    quoted(ex)
    ex.handle("mm", p.QuoteCancel(quote_id="q1"), T0 + 2)
    out = ex.handle("rt", nos("d1", BUY, 10, "0.99", quote_id="q1"), T0 + 3)
    er = one(ers(out, "rt"))
    assert (er.text, er.ord_rej_reason) == ("EXPIRED", p.OrdRejReason.STALE_ORDER)


# -- RFQ: confirmation timeout --------------------------------------------------------------------


def test_unconfirmed_quote_is_voided_after_thirty_seconds(ex: Exchange) -> None:
    rfq_id = quoted(ex)
    ex.handle("rt", accept("q1", BUY, 10, cl_ord_id="acc"), T0 + 10)
    assert QUOTE_CONFIRM_SECONDS == 30
    assert ex.tick(T0 + 39.999) == []
    out = ex.tick(T0 + 40)
    encode_all(out)
    void = one(to(out, "mm"))
    assert (void.quote_id, void.quote_status, void.quote_req_id) == (
        "q1",
        p.QuoteStatus.CANCELLED,
        rfq_id,
    )
    failed = one(to(out, "rt"))
    assert isinstance(failed, p.AcceptQuoteStatus)
    assert (failed.quote_id, failed.accept_quote_status, failed.cl_ord_id, failed.text) == (
        "q1",
        p.AcceptQuoteStatusValue.REJECTED,
        "acc",
        "EXPIRED",
    )
    assert {o.session_id for o in out} == {"mm", "rt"}
    out = ex.handle("mm", p.QuoteConfirm(quote_id="q1"), T0 + 41)
    assert (one(to(out, "mm")).quote_confirm_status, one(to(out, "mm")).text) == (1, "EXPIRED")
    assert ex.position(SYM, "alice") == 0
    # the RFQ is still open: carol quotes, alice accepts, carol confirms
    ex.handle("mm2", quote("q2", rfq_id, "0.70", "0.28"), T0 + 42)
    out = ex.handle("rt", accept("q2", SELL), T0 + 43)
    assert one(to(out, "rt")).accept_quote_status == 0
    out = ex.handle("mm2", p.QuoteConfirm(quote_id="q2"), T0 + 44)
    assert one(ers(out, "rt")[1:]).last_qty == 100
    assert ex.position(SYM, "alice") == -100


def test_confirm_at_the_deadline_is_too_late(ex: Exchange) -> None:
    quoted(ex)
    ex.handle("rt", accept("q1", BUY), T0 + 10)
    out = ex.handle("mm", p.QuoteConfirm(quote_id="q1"), T0 + 40)
    assert [type(mm).__name__ for mm in to(out, "mm")] == [
        "QuoteStatusReport",
        "QuoteConfirmStatus",
    ]
    assert one(of(out, p.QuoteConfirmStatus)).text == "EXPIRED"
    assert not ers(out, "rt")


def test_void_cancels_a_quote_acceptance_order(ex: Exchange) -> None:
    quoted(ex)
    new = one(ers(ex.handle("rt", nos("d1", BUY, 5, "0.80", quote_id="q1"), T0 + 2), "rt"))
    out = ex.tick(T0 + 32)
    encode_all(out)
    cancel = one(ers(out, "rt"))
    assert (cancel.exec_type, cancel.ord_status, cancel.text) == (
        p.ExecType.CANCELED,
        p.OrdStatus.CANCELED,
        "EXPIRED",
    )
    assert (cancel.order_id, cancel.cl_ord_id, cancel.orig_cl_ord_id) == (new.order_id, "d1", "d1")
    assert (cancel.cum_qty, cancel.leaves_qty) == (0, 0)
    assert one(to(out, "mm")).quote_status == p.QuoteStatus.CANCELLED
    assert not of(out, p.AcceptQuoteStatus)


# -- RFQ: cancels ----------------------------------------------------------------------------------


def test_quote_cancel(ex: Exchange) -> None:
    rfq_id = quoted(ex)
    out = ex.handle("mm", p.QuoteCancel(quote_id="q1", rfq_id=rfq_id), T0 + 2)
    encode_all(out)
    report, status = to(out, "mm")
    assert (report.quote_id, report.quote_status) == ("q1", p.QuoteStatus.CANCELLED)
    assert isinstance(status, p.QuoteCancelStatus)
    assert (status.quote_id, status.quote_cancel_status, status.text) == (
        "q1",
        p.QuoteCancelStatusValue.CANCELED,
        None,
    )
    assert {o.session_id for o in out} == {"mm"}
    out = ex.handle("rt", accept("q1"), T0 + 3)
    assert (one(to(out, "rt")).accept_quote_status, one(to(out, "rt")).text) == (1, "EXPIRED")
    for sid, qid, text in (
        ("mm", "q1", "EXPIRED"),
        ("mm", "zz", "NOT_FOUND"),
        ("mm2", "q1", "NOT_FOUND"),
    ):
        out = ex.handle(sid, p.QuoteCancel(quote_id=qid), T0 + 4)
        status = one(to(out, sid))
        assert (status.quote_cancel_status, status.text) == (1, text)
        encode_all(out)
    out = ex.handle("mm", p.QuoteCancel(quote_id="q1", rfq_id="wrong"), T0 + 4)
    assert one(to(out, "mm")).text == "NOT_FOUND"


def test_quote_cancel_after_acceptance_voids_it(ex: Exchange) -> None:
    quoted(ex)
    ex.handle("rt", accept("q1", cl_ord_id="acc"), T0 + 2)
    out = ex.handle("mm", p.QuoteCancel(quote_id="q1"), T0 + 3)
    encode_all(out)
    report, status = to(out, "mm")
    assert (report.quote_status, status.quote_cancel_status) == (17, 0)
    failed = one(to(out, "rt"))
    assert (failed.accept_quote_status, failed.text, failed.cl_ord_id) == (1, "EXPIRED", "acc")


def test_rfq_cancel(ex: Exchange) -> None:
    rfq_id = quoted(ex)
    out = ex.handle("rt", p.RFQCancel(quote_req_id="cr1"), T0 + 2)
    encode_all(out)
    status = one(to(out, "rt"))
    assert isinstance(status, p.RFQCancelStatus)
    assert (status.quote_req_id, status.rfq_cancel_status, status.rfq_id, status.text) == (
        "cr1",
        p.RFQCancelStatusValue.CANCELED,
        rfq_id,
        None,
    )
    for sid in ("mm", "mm2"):
        closed = one(to(out, sid))
        assert (closed.quote_req_id, closed.text, closed.quote_request_reject_reason) == (
            rfq_id,
            "RFQ_CANCELLED",
            99,
        )
    out = ex.handle("rt", accept("q1"), T0 + 3)  # its quotes died with it
    assert one(to(out, "rt")).text == "EXPIRED"
    out = ex.handle("mm2", quote("q2", rfq_id), T0 + 3)
    assert (one(to(out, "mm2")).quote_status, one(to(out, "mm2")).text) == (5, "EXPIRED")
    for msg, text in (
        (p.RFQCancel(quote_req_id="cr1"), "RFQ_CLOSED"),
        (p.RFQCancel(rfq_id=rfq_id), "RFQ_CLOSED"),
        (p.RFQCancel(quote_req_id="unknown"), "NOT_FOUND"),
        (p.RFQCancel(rfq_id="unknown"), "NOT_FOUND"),
        (p.RFQCancel(quote_req_id="other", rfq_id=rfq_id), "NOT_FOUND"),
        (p.RFQCancel(), "NOT_FOUND"),
    ):
        out = ex.handle("rt", msg, T0 + 4)
        status = one(to(out, "rt"))
        assert (status.rfq_cancel_status, status.text) == (1, text)
        encode_all(out)


def test_rfq_cancel_by_rfq_id_and_during_an_acceptance(ex: Exchange) -> None:
    rfq_id = quoted(ex)
    ex.handle("rt", accept("q1"), T0 + 2)
    out = ex.handle("rt", p.RFQCancel(rfq_id=rfq_id), T0 + 3)
    status = one(to(out, "rt"))
    assert (status.quote_req_id, status.rfq_cancel_status, status.text) == (
        rfq_id,
        1,
        "RFQ_ACCEPT_IN_PROGRESS",
    )
    ex.tick(T0 + 40)  # voided
    out = ex.handle("rt", p.RFQCancel(rfq_id=rfq_id), T0 + 41)
    assert one(to(out, "rt")).rfq_cancel_status == 0
    # another account cannot cancel alice's RFQ
    ex.connect("rt2", "carol", "KalshiRT", now=T0)
    rfq2 = open_rfq(ex, "cr2")
    out = ex.handle("rt2", p.RFQCancel(rfq_id=rfq2), T0 + 42)
    assert one(to(out, "rt2")).text == "NOT_FOUND"
