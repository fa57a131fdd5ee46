"""Drop-copy replay (35=U1/U2/U3) and the RFQ flow (35=R ... 35=U8) of the exchange engine."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import ROUND_CEILING
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.gateway import Exchange, Outbound
from kalshi_fix_sansio.gateway.exchange import (
    DROP_COPY_WINDOW_SECONDS,
    OBSCURED_CREATOR_ID,
    QUOTE_CONFIRM_SECONDS,
    RFQ_LIFETIME_SECONDS,
)

UTC = timezone.utc
T0 = datetime(2026, 6, 15, 14, 0, tzinfo=UTC).timestamp()  # 10:00 am EDT
SYM = "KXRFQ-26JUN15-T50"
OTHER = "KXRFQ-26JUN15-T60"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HEADER = Header(
    sender_comp_id="Kalshi",
    target_comp_id="client",
    msg_seq_num=1,
    sending_time=datetime(2026, 6, 15, 14, 0, tzinfo=UTC),
)
BUY, SELL = p.Side.BUY, p.Side.SELL
DOLLARS = ("cnr", "dcd")  # sessions connected with UseDollars


# -- helpers -------------------------------------------------------------------------------------


def nos(cl: str, side: Any, qty: str | int, px: str, symbol: str = SYM, **kw: Any) -> Any:
    kw.setdefault("ord_type", p.OrdType.LIMIT)
    return p.NewOrderSingle(
        cl_ord_id=cl, side=side, order_qty=D(qty), price=D(px), symbol=symbol, **kw
    )


def of(out: Sequence[Outbound], cls: type[Any], session: str | None = None) -> list[Any]:
    return [
        o.message
        for o in out
        if isinstance(o.message, cls) and (session is None or o.session_id == session)
    ]


def ers(out: Sequence[Outbound], session: str) -> list[Any]:
    return of(out, p.ExecutionReport, session)


def one(items: Sequence[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


def to(out: Sequence[Outbound], session: str) -> list[Any]:
    return [o.message for o in out if o.session_id == session]


def encode_all(out: Sequence[Outbound], dialect: Any = p) -> None:
    for o in out:
        frame = dialect.encode(o.message, HEADER, use_dollars=o.session_id in DOLLARS)
        assert dialect.decode(frame).validate() is not None


def with_seq(message: Any, seq: int, dialect: Any = p) -> Any:
    """The message as the gateway hands it over: decoded from a frame with MsgSeqNum ``seq``."""
    return dialect.decode(dialect.encode(message, HEADER.replace(msg_seq_num=seq)))


def resend(begin: str | None, end: str | None = None, seq: int = 9, dialect: Any = p) -> Any:
    message = dialect.EventResendRequest(begin_exec_id=begin, end_exec_id=end)
    return message if begin is None else with_seq(message, seq, dialect)


def key(exec_id: str) -> tuple[int, int]:
    clock, event = exec_id.split(";")
    return int(clock), int(event)


def rfq_req(req_id: str, qty: str | int | None = 100, symbol: str = SYM, **entry: Any) -> Any:
    return p.QuoteRequest(
        quote_req_id=req_id,
        related_sym=(
            p.QuoteRequestRelatedSym(
                symbol=symbol, order_qty=None if qty is None else D(qty), **entry
            ),
        ),
    )


def quote(
    qid: str, rfq_id: str, yes: str | None = "0.75", no: str | None = "0.25", **kw: Any
) -> Any:
    kw.setdefault("symbol", SYM)
    return p.Quote(
        quote_id=qid,
        quote_req_id=rfq_id,
        bid_px=None if yes is None else D(yes),
        offer_px=None if no is None else D(no),
        **kw,
    )


def accept(qid: str, side: Any = BUY, qty: str | int | None = None, **kw: Any) -> Any:
    return p.AcceptQuote(quote_id=qid, side=side, order_qty=None if qty is None else D(qty), **kw)


def taker_fee(qty: D, px: D) -> D:
    return (D("0.07") * qty * px * (1 - px)).quantize(D("0.01"), rounding=ROUND_CEILING)


def maker_fee(qty: D, px: D) -> D:
    return (D("0.0175") * qty * px * (1 - px)).quantize(D("0.01"), rounding=ROUND_CEILING)


@pytest.fixture
def ex() -> Exchange:
    """alice creates RFQs (rt), bob and carol make markets (mm, mm2) and trade on NR sessions."""
    ex = Exchange(seed=5)
    ex.seed_market(SYM, now=T0)
    ex.seed_market(OTHER, now=T0)
    ex.connect("rt", "alice", "KalshiRT", now=T0)
    ex.connect("mm", "bob", "KalshiRFQ", now=T0)
    ex.connect("mm2", "carol", "KalshiRFQ", now=T0)
    ex.connect("bnr", "bob", "KalshiNR", now=T0)
    ex.connect("cnr", "carol", "KalshiNR", use_dollars=True, now=T0)
    return ex


def open_rfq(ex: Exchange, req_id: str = "cr1", now: float = T0, **kw: Any) -> str:
    out = ex.handle("rt", rfq_req(req_id, **kw), now)
    encode_all(out)
    return str(one(of(out, p.QuoteRequestAck, "rt")).rfq_id)


def quoted(ex: Exchange, qid: str = "q1", session: str = "mm", **kw: Any) -> str:
    rfq_id = open_rfq(ex)
    out = ex.handle(session, quote(qid, rfq_id, **kw), T0 + 1)
    encode_all(out)
    assert one(of(out, p.QuoteStatusReport, session)).quote_status == p.QuoteStatus.PENDING
    return rfq_id


# -- drop copy -----------------------------------------------------------------------------------


@pytest.fixture
def dc() -> Exchange:
    """alice trades on a (KalshiNR) with a listener al; dc is her drop copy; bob trades on b."""
    ex = Exchange(seed=2)
    ex.seed_market(SYM, now=T0)
    ex.connect("a", "alice", "KalshiNR", now=T0)
    ex.connect("al", "alice", "KalshiNR", listener=True, now=T0)
    ex.connect("b", "bob", "KalshiNR", now=T0)
    ex.connect("dc", "alice", "KalshiDC", now=T0)
    ex.handle("a", nos("a1", SELL, 10, "0.60"), T0)  # New
    ex.handle("b", nos("b1", BUY, 4, "0.60"), T0 + 1)  # trade: b New, b Trade, a Trade
    ex.handle("a", nos("a2", BUY, 3, "0.30"), T0 + 2)  # New
    ex.handle("a", nos("bad", BUY, 3, "1.50"), T0 + 3)  # reject: not replayed
    ex.handle(
        "a", p.OrderCancelRequest(cl_ord_id="c1", orig_cl_ord_id="a2", side=BUY, symbol=SYM), T0 + 4
    )
    return ex


def alice_history(ex: Exchange, now: float = T0 + 5, begin: str = "1;1") -> list[Any]:
    """Alice's replayable reports from ``begin`` on, through a fresh drop-copy session."""
    ex.connect("probe", "alice", "KalshiDC", now=now)
    out = ex.handle("probe", resend(begin), now)
    ex.disconnect("probe", now)
    return ers(out, "probe")


def test_replay_sends_the_accounts_reports_then_complete(dc: Exchange) -> None:
    out = dc.handle("dc", resend("1;1", seq=9), T0 + 5)
    assert {o.session_id for o in out} == {"dc"}
    *replayed, complete = to(out, "dc")
    assert isinstance(complete, p.EventResendComplete)
    assert (complete.ref_seq_num, complete.resend_event_count) == (9, len(replayed)) == (9, 4)
    assert [(r.cl_ord_id, r.exec_type.value) for r in replayed] == [
        ("a1", "0"),
        ("a1", "F"),
        ("a2", "0"),
        ("c1", "4"),
    ]
    assert [key(r.exec_id) for r in replayed] == sorted(key(r.exec_id) for r in replayed)
    trade = replayed[1]
    assert (trade.last_px, trade.last_qty, trade.cum_qty, trade.leaves_qty) == (
        D("0.60"),
        4,
        4,
        6,
    )
    encode_all(out)


def test_replayed_reports_equal_the_live_ones(dc: Exchange) -> None:
    live: list[Any] = []
    out = dc.handle("a", nos("a3", BUY, 2, "0.60"), T0 + 10)  # self-trade: New, Canceled
    live += ers(out, "a")
    out = dc.handle("b", nos("b2", BUY, 6, "0.60"), T0 + 11)
    live += ers(out, "a")
    replay = ers(dc.handle("dc", resend(live[0].exec_id, live[-1].exec_id), T0 + 12), "dc")
    assert [r.to_dict() for r in replay] == [r.to_dict() for r in live]


def test_replay_range_is_inclusive_and_filters_the_account(dc: Exchange) -> None:
    everything = alice_history(dc)
    ids = [r.exec_id for r in everything]
    out = dc.handle("dc", resend(ids[1], ids[2]), T0 + 6)
    assert [r.exec_id for r in ers(out, "dc")] == ids[1:3]
    assert one(of(out, p.EventResendComplete, "dc")).resend_event_count == 2
    # bob's reports are never replayed to alice, even inside the range
    bob = [r.exec_id for r in ers(dc.handle("b", nos("b9", BUY, 1, "0.10"), T0 + 7), "b")]
    out = dc.handle("dc", resend(ids[0]), T0 + 8)
    assert [r.exec_id for r in ers(out, "dc")] == ids
    # an ExecID between alice's events (one of bob's) works as a bound
    out = dc.handle("dc", resend(ids[0], bob[0]), T0 + 8)
    assert [r.exec_id for r in ers(out, "dc")] == ids
    # End < Begin: nothing to replay
    out = dc.handle("dc", resend(ids[2], ids[1]), T0 + 8)
    assert one(to(out, "dc")).resend_event_count == 0
    encode_all(out)


def test_replay_is_rendered_for_the_drop_copy_session() -> None:
    ex = Exchange(seed=4)
    ex.seed_market(SYM, now=T0)
    ex.connect("a", "alice", "KalshiNR", now=T0)
    ex.connect("dcd", "alice", "KalshiDC", use_dollars=True, use_expired_ord_status=True, now=T0)
    gtd = datetime(2026, 6, 15, 14, 0, 30, tzinfo=UTC)
    live = ers(
        ex.handle("a", nos("a1", BUY, 2, "0.4550", time_in_force="6", expire_time=gtd), T0), "a"
    )
    live += ers(ex.tick(T0 + 30), "a")
    assert [r.price for r in live] == [D("0.46"), D("0.46")]  # cents session: rounded
    assert live[-1].exec_type == p.ExecType.CANCELED
    out = ex.handle("dcd", resend("1;1"), T0 + 31)
    replay = ers(out, "dcd")
    assert [r.price for r in replay] == [D("0.4550"), D("0.4550")]
    assert replay[-1].exec_type == p.ExecType.EXPIRED and replay[-1].ord_status == "C"
    encode_all(out)


@pytest.mark.parametrize(
    ("begin", "end", "reason"),
    [
        (None, None, 3),  # BeginExecID missing
        ("nope", None, 3),  # malformed
        ("-1;-1", None, 3),  # a pending report's id
        ("1;1;1", None, 3),  # another exchange index
        ("99;1", None, 3),  # beyond the latest ExecID: unknown
        ("1;1", "99;1", 4),  # EndExecID too large
        ("1;1", "2;1;3", 4),  # EndExecID of another exchange index
        ("1;1", "x", 4),
    ],
)
def test_invalid_replay_requests_are_rejected(
    dc: Exchange, begin: str | None, end: str | None, reason: int
) -> None:
    out = dc.handle("dc", resend(begin, end, seq=12), T0 + 5)
    reject = one(to(out, "dc"))
    assert isinstance(reject, p.EventResendReject)
    ref = 0 if begin is None else 12  # a message built in code has no header
    assert (reject.ref_seq_num, reject.event_resend_reject_reason) == (ref, reason)
    encode_all(out)


def test_replay_window_is_three_hours(dc: Exchange) -> None:
    first = alice_history(dc)[0].exec_id
    assert DROP_COPY_WINDOW_SECONDS == 3 * 3600
    out = dc.handle("dc", resend(first), T0 + DROP_COPY_WINDOW_SECONDS)  # still inside
    assert one(of(out, p.EventResendComplete)).resend_event_count == 4
    later = T0 + 3 * 3600 + 3  # events of T0 .. T0 + 2 (clocks 1-3) have aged out
    dc.handle("a", nos("late", BUY, 1, "0.10"), later)
    out = dc.handle("dc", resend(first), later)
    assert one(to(out, "dc")).event_resend_reject_reason == p.EventResendRejectReason(3)
    out = dc.handle("dc", resend("3;1"), later)
    assert one(to(out, "dc")).event_resend_reject_reason == 3
    # clock 4 (the rejected order at T0 + 3) is still inside: the cancel and the late order
    assert [r.cl_ord_id for r in alice_history(dc, later, "4;1")] == ["c1", "late"]


def test_replay_allowlist_and_sessions() -> None:
    ex = Exchange(seed=1, replay_allowlist=["alice"])
    ex.seed_market(SYM, now=T0)
    ex.connect("a", "alice", "KalshiNR", now=T0)
    ex.connect("al", "alice", "KalshiNR", listener=True, now=T0)
    ex.connect("rt", "alice", "KalshiRT", now=T0)
    ex.connect("bdc", "bob", "KalshiDC", now=T0)
    ex.handle("a", nos("a1", BUY, 1, "0.10"), T0)
    out = ex.handle("bdc", resend("1;1"), T0)
    assert one(to(out, "bdc")).event_resend_reject_reason == p.EventResendRejectReason.NOT_ENABLED
    for sid in ("a", "al"):  # KalshiNR, listener or not (≈Oct 2026)
        out = ex.handle(sid, resend("1;1"), T0)
        assert [type(mm).__name__ for mm in to(out, sid)] == [
            "ExecutionReport",
            "EventResendComplete",
        ]
    out = ex.handle("rt", resend("1;1"), T0)
    reject = one(of(out, p.BusinessMessageReject, "rt"))
    assert reject.business_reject_reason == p.BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE
    assert reject.ref_msg_type == "U1"
    encode_all(out)


def test_margin_drop_copy() -> None:
    ex = Exchange("margin", seed=1)
    ex.seed_market("BTC-PERP", asks=[(D("20"), D(5))], now=T0)
    ex.connect("a", "alice", "KalshiNR", now=T0)
    ex.connect("dc", "alice", "KalshiDC", now=T0)
    order = m.NewOrderSingle(
        cl_ord_id="a1",
        side=m.Side.BUY,
        order_qty=D(2),
        price=D("20.5"),
        symbol="BTC-PERP",
        ord_type="2",
    )
    live = of(ex.handle("a", order, T0), m.ExecutionReport, "a")
    out = ex.handle("dc", resend("1;1", dialect=m), T0 + 1)
    assert [r.to_dict() for r in of(out, m.ExecutionReport, "dc")] == [r.to_dict() for r in live]
    assert one(of(out, m.EventResendComplete, "dc")).resend_event_count == 2
    for o in out:
        m.encode(o.message, HEADER)


def test_rfq_trades_are_replayed(ex: Exchange) -> None:
    rfq_id = quoted(ex)
    ex.handle("rt", accept("q1", BUY, 10), T0 + 2)
    ex.handle("mm", p.QuoteConfirm(quote_id="q1", rfq_id=rfq_id), T0 + 3)
    ex.connect("adc", "alice", "KalshiDC", now=T0 + 4)
    ex.connect("bdc", "bob", "KalshiDC", now=T0 + 4)
    alice = ers(ex.handle("adc", resend("1;1"), T0 + 4), "adc")
    bob = ers(ex.handle("bdc", resend("1;1"), T0 + 4), "bdc")
    assert [(r.exec_type.value, r.side) for r in alice] == [("0", BUY), ("F", BUY)]
    assert [(r.exec_type.value, r.side) for r in bob] == [("0", SELL), ("F", SELL)]
    assert alice[1].trd_match_id == bob[1].trd_match_id


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
    # RFQ page documents (docs/decisions.md, RFQ price units)
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


# -- RFQ: rejects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "reason", "text"),
    [
        (rfq_req("r", symbol="NOPE"), 1, "MARKET_NOT_FOUND"),
        (rfq_req("r", qty=None), 99, "INVALID_ORDER"),  # neither OrderQty nor CashOrderQty
        (rfq_req("r", cash_order_qty=D(5)), 99, "INVALID_ORDER"),  # both
        (rfq_req("r", qty="0.001"), 99, "INVALID_ORDER"),
        (rfq_req("r", qty=0), 99, "INVALID_ORDER"),
        (rfq_req("r", qty=100_000_001), 3, "QUOTE_REQUEST_EXCEEDS_LIMIT"),
        (rfq_req("r", qty=None, cash_order_qty=D("1e10")), 3, "QUOTE_REQUEST_EXCEEDS_LIMIT"),
        (rfq_req("r", qty=None, cash_order_qty=D("1.005")), 99, "INVALID_ORDER"),
        (rfq_req("r", target_cost_excludes_fees=True), 99, "INVALID_ORDER"),
        (rfq_req("r").replace(alloc_account=64), 99, "INVALID_ORDER"),
        (
            rfq_req(
                "r",
                party_ids=(p.QuoteRequestRelatedSymPartyID(party_id="x", party_role=24),),
            ).replace(alloc_account=3),
            99,
            "INVALID_ORDER",
        ),
        (p.QuoteRequest(quote_req_id="r", related_sym=()), 99, "INVALID_ORDER"),
        (p.QuoteRequest(related_sym=rfq_req("r").related_sym), 99, "INVALID_ORDER"),
        (
            p.QuoteRequest(
                quote_req_id="r",
                related_sym=(p.QuoteRequestRelatedSym(order_qty=D(100)),),
                multivariate_collection_ticker="PARLAY-COLLECTION",
                multivariate_selected_legs=(
                    p.QuoteRequestMultivariateSelectedLeg(
                        multivariate_selected_event_ticker="EVENT1",
                        multivariate_selected_market_ticker="MKT1",
                        multivariate_selected_side="yes",
                    ),
                ),
            ),
            99,
            "MVE_NOT_SUPPORTED",
        ),
    ],
)
def test_invalid_quote_requests_are_rejected(
    ex: Exchange, request_: Any, reason: int, text: str
) -> None:
    out = ex.handle("rt", request_, T0)
    reject = one(out).message
    assert one(out).session_id == "rt"
    assert isinstance(reject, p.QuoteRequestReject)
    assert (reject.quote_request_reject_reason, reject.text) == (reason, text)
    assert reject.quote_req_id == (request_.quote_req_id or "NONE")
    encode_all(out)


def test_quote_requests_on_closed_or_paused_markets(ex: Exchange) -> None:
    ex.pause(T0)
    out = ex.handle("rt", rfq_req("r"), T0)
    assert (one(to(out, "rt")).text, one(to(out, "rt")).quote_request_reject_reason) == (
        "TRADING_PAUSED",
        99,
    )
    ex.resume(T0)
    ex.settle(OTHER, "yes", T0)
    out = ex.handle("rt", rfq_req("r", symbol=OTHER), T0)
    assert one(to(out, "rt")).text == "MARKET_ALREADY_CLOSED"


def test_duplicate_rfqs_and_replace_existing(ex: Exchange) -> None:
    first = open_rfq(ex, "cr1")
    out = ex.handle("rt", rfq_req("cr1", symbol=OTHER), T0 + 1)  # same QuoteReqID, still open
    assert one(to(out, "rt")).text == "RFQ already exists"
    out = ex.handle("rt", rfq_req("cr2"), T0 + 1)  # same market, no ReplaceExisting
    assert one(to(out, "rt")).text == "RFQ already exists"
    assert open_rfq(ex, "cr3", symbol=OTHER) != first  # another market is fine
    second = open_rfq(ex, "cr2", replace_existing=True)  # keeps the newest existing (first)
    out = ex.handle("rt", rfq_req("cr4", replace_existing=True), T0 + 2)
    encode_all(out)
    ack, expired = of(out, p.QuoteRequestAck, "rt"), of(out, p.RFQCancelStatus, "rt")
    assert len(ack) == 1
    closed = one(expired)  # the older of the two (first) is closed by the exchange
    assert (closed.quote_req_id, closed.rfq_id, closed.rfq_cancel_status) == (
        "cr1",
        first,
        p.RFQCancelStatusValue.EXPIRED,
    )
    assert one(of(out, p.QuoteRequestReject, "mm")).text == "RFQ_REPLACED"
    assert [mm.quote_req_id for mm in to(out, "mm")] == [first, ack[0].rfq_id]
    out = ex.handle("mm", quote("q1", second), T0 + 3)  # the second one stays open
    assert one(to(out, "mm")).quote_status == p.QuoteStatus.PENDING


def test_rfq_messages_on_wrong_sessions_get_business_rejects(ex: Exchange) -> None:
    rfq_id = quoted(ex)
    ex.connect("rtl", "alice", "KalshiRT", listener=True, now=T0)
    ex.connect("anr", "alice", "KalshiNR", now=T0)
    cases = [
        ("mm", rfq_req("r")),
        ("anr", rfq_req("r")),
        ("rtl", rfq_req("r")),
        ("rtl", accept("q1")),
        ("anr", accept("q1")),
        ("bnr", p.RFQCancel(quote_req_id="cr1")),
        ("rt", quote("q9", rfq_id)),
        ("bnr", p.QuoteConfirm(quote_id="q1")),
        ("rt", p.QuoteCancel(quote_id="q1")),
        ("mm", p.QuoteStatusReport(quote_id="q1", quote_req_id=rfq_id, quote_status=10)),
        ("mm", p.EventResendRequest(begin_exec_id="1;1")),
    ]
    for sid, message in cases:
        out = ex.handle(sid, message, T0 + 2)
        reject = one(to(out, sid))
        assert isinstance(reject, p.BusinessMessageReject), (sid, message)
        assert reject.business_reject_reason == p.BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE
        assert reject.ref_msg_type == message.MSG_TYPE
        assert len(out) == 1
        encode_all(out)


def test_margin_engine_does_not_speak_rfq() -> None:
    ex = Exchange("margin")
    ex.seed_market("BTC-PERP", now=T0)
    ex.connect("rt", "alice", "KalshiRT", now=T0)
    for message in (rfq_req("r", symbol="BTC-PERP"), accept("q1"), quote("q", "r")):
        out = ex.handle("rt", message, T0)
        reject = one(of(out, m.BusinessMessageReject, "rt"))
        assert reject.business_reject_reason == m.BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE
        m.encode(reject, HEADER)


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"quote_req_id": "unknown"}, "NOT_FOUND"),
        ({"symbol": OTHER}, "INVALID_ORDER"),
        ({"symbol": None}, "INVALID_ORDER"),
        ({"quote_id": None}, "INVALID_ORDER"),
        ({"quote_id": "q" * 65}, "INVALID_ORDER"),
        ({"alloc_account": 64}, "INVALID_ORDER"),
        ({"bid_px": None, "offer_px": None}, "INVALID_PRICE"),
        ({"bid_px": D(0), "offer_px": D(0)}, "INVALID_PRICE"),
        ({"bid_px": D(1)}, "INVALID_PRICE"),
        ({"offer_px": D("0.00001")}, "INVALID_PRICE"),
        ({"bid_px": D("0.80"), "offer_px": D("0.30")}, "INVALID_PRICE"),  # crossed
    ],
)
def test_invalid_quotes_are_rejected(ex: Exchange, changes: dict[str, Any], text: str) -> None:
    rfq_id = open_rfq(ex)
    out = ex.handle("mm", quote("q1", rfq_id).replace(**changes), T0 + 1)
    report = one(out).message
    assert one(out).session_id == "mm"
    assert (report.quote_status, report.text) == (p.QuoteStatus.REJECTED, text)
    assert (report.bid_px, report.offer_px, report.side) == (None, None, None)
    assert report.quote_id == (changes.get("quote_id", "q1") or "NONE")
    encode_all(out)


def test_quote_rejects_that_depend_on_state(ex: Exchange) -> None:
    ex.connect("amm", "alice", "KalshiRFQ", now=T0)
    rfq_id = quoted(ex, "q1")
    out = ex.handle("amm", quote("qa", rfq_id), T0 + 2)  # alice on her own RFQ
    assert one(to(out, "amm")).text == "SELF_CROSS_ATTEMPT"
    out = ex.handle("mm2", quote("q1", rfq_id), T0 + 2)  # bob's open QuoteID
    assert one(to(out, "mm2")).text == "ORDER_ALREADY_EXISTS"
    ex.pause(T0 + 3)
    out = ex.handle("mm2", quote("q2", rfq_id), T0 + 3)
    assert one(to(out, "mm2")).text == "TRADING_PAUSED"
    out = ex.handle("rt", accept("q1"), T0 + 3)
    assert one(to(out, "rt")).text == "TRADING_PAUSED"


def test_accept_rejects(ex: Exchange) -> None:
    ex.connect("rt2", "carol", "KalshiRT", now=T0)
    rfq_id = quoted(ex, "q1", yes="0.60", no=None)
    cases = [
        ("rt", accept("zz"), "NOT_FOUND"),
        ("rt", accept(None), "NOT_FOUND"),  # type: ignore[arg-type]
        ("rt", accept("q1", SELL, rfq_id="other"), "NOT_FOUND"),
        ("rt2", accept("q1", SELL), "NOT_FOUND"),  # not carol's RFQ
        ("rt", accept("q1", BUY), "INVALID_ORDER"),  # no NO quote to take
        ("rt", accept("q1", "3"), "INVALID_ORDER"),
        ("rt", accept("q1", SELL, 101), "INVALID_ORDER"),
        ("rt", accept("q1", SELL, "0.001"), "INVALID_ORDER"),
        ("rt", accept("q1", SELL, cl_ord_id="c" * 65), "INVALID_ORDER"),
        ("rt", accept("q1", SELL, parties=(p.Party(party_id="x"),)), "INVALID_ORDER"),
    ]
    for sid, message, text in cases:
        out = ex.handle(sid, message, T0 + 2)
        status = one(to(out, sid))
        assert isinstance(status, p.AcceptQuoteStatus)
        assert (status.accept_quote_status, status.text, status.accepted_quote_id) == (
            p.AcceptQuoteStatusValue.REJECTED,
            text,
            None,
        )
        assert len(out) == 1
        encode_all(out)
    out = ex.handle("rt", accept("q1", SELL, 10), T0 + 3)
    assert one(to(out, "rt")).accept_quote_status == 0
    ex.handle("mm2", quote("q2", rfq_id, "0.65", None), T0 + 4)
    out = ex.handle("rt", accept("q2", SELL), T0 + 4)
    assert one(to(out, "rt")).text == "RFQ_ACCEPT_IN_PROGRESS"


def test_confirm_rejects(ex: Exchange) -> None:
    rfq_id = quoted(ex)
    for sid, message, text in (
        ("mm", p.QuoteConfirm(quote_id="zz"), "NOT_FOUND"),
        ("mm", p.QuoteConfirm(), "NOT_FOUND"),
        ("mm2", p.QuoteConfirm(quote_id="q1"), "NOT_FOUND"),  # carol's session, bob's quote
        ("mm", p.QuoteConfirm(quote_id="q1", rfq_id="other"), "NOT_FOUND"),
        ("mm", p.QuoteConfirm(quote_id="q1", rfq_id=rfq_id), "QUOTE_NOT_ACCEPTED"),
    ):
        out = ex.handle(sid, message, T0 + 2)
        status = one(to(out, sid))
        assert (status.quote_confirm_status, status.text) == (
            p.QuoteConfirmStatusValue.REJECTED,
            text,
        )
        encode_all(out)
    ex.handle("rt", accept("q1"), T0 + 3)
    ex.pause(T0 + 4)
    out = ex.handle("mm", p.QuoteConfirm(quote_id="q1"), T0 + 5)
    assert one(to(out, "mm")).text == "TRADING_PAUSED"
    ex.resume(T0 + 6)
    out = ex.handle("mm", p.QuoteConfirm(quote_id="q1"), T0 + 7)
    assert one(of(out, p.QuoteConfirmStatus)).quote_confirm_status == 0


# -- RFQ: details ----------------------------------------------------------------------------------


def test_obscured_creator_id(ex: Exchange) -> None:
    ex.connect("amm", "alice", "KalshiRFQ", now=T0)
    out = ex.handle("rt", rfq_req("r1", obscure_creator_id=True), T0)
    own = one(one(one(to(out, "amm")).related_sym).party_ids).party_id
    for sid in ("mm", "mm2"):
        assert one(one(one(to(out, sid)).related_sym).party_ids).party_id == OBSCURED_CREATOR_ID
    out = ex.handle("rt", rfq_req("r2", symbol=OTHER), T0)
    assert {one(one(mm.related_sym).party_ids).party_id for mm in of(out, p.QuoteRequest)} == {own}
    assert own != OBSCURED_CREATOR_ID and UUID.match(own)


def test_quote_sizes_for_cash_sized_rfqs(ex: Exchange) -> None:
    def most(cash: D, price: D, fees: bool) -> D:
        q = D(0)
        while True:
            nxt = q + D("0.01")
            cost = nxt * price + (taker_fee(nxt, price) if fees else 0)
            if cost > cash:
                return q
            q = nxt

    for n, excl in enumerate((None, True)):
        symbol = (SYM, OTHER)[n]
        out = ex.handle(
            "rt",
            rfq_req(
                f"c{n}",
                qty=None,
                symbol=symbol,
                cash_order_qty=D("10.00"),
                target_cost_excludes_fees=excl,
            ),
            T0,
        )
        entry = one(one(to(out, "mm")).related_sym)
        assert (entry.order_qty, entry.cash_order_qty) == (None, D("10.00"))
        rfq_id = one(to(out, "rt")).rfq_id
        out = ex.handle("mm", quote(f"q{n}", rfq_id, "0.40", "0.55", symbol=symbol), T0 + 1)
        encode_all(out)
        report = one(to(out, "mm"))
        # the YES bid (0.40) is taken by selling YES: the creator pays 0.60 per NO contract
        assert report.bid_size == most(D(10), D("0.60"), fees=not excl)
        assert report.offer_size == most(D(10), D("0.45"), fees=not excl)
        assert report.order_qty is None
        notice = one(to(out, "rt"))
        assert (notice.bid_size, notice.offer_size) == (report.bid_size, report.offer_size)
    assert most(D(10), D("0.60"), fees=False) == D("16.66")
    assert most(D(10), D("0.60"), fees=True) < D("16.66")


def test_quote_edge_cases(ex: Exchange) -> None:
    rfq_id = quoted(ex, "q1")
    ex.handle("rt", nos("o1", BUY, 1, "0.10"), T0 + 2)  # an open order of alice's
    out = ex.handle("rt", nos("o1", BUY, 1, "0.99", quote_id="q1"), T0 + 2)
    assert one(ers(out, "rt")).text == "ORDER_ALREADY_EXISTS"
    party = (p.Party(party_id="x", party_role=24),)
    out = ex.handle("rt", nos("d1", BUY, 1, "0.99", quote_id="q1", parties=party * 2), T0 + 2)
    assert one(ers(out, "rt")).text == "INVALID_ORDER"
    # bob reuses his QuoteID on another market: the old quote is cancelled, the id moves
    other = open_rfq(ex, "cr2", symbol=OTHER)
    ex.handle("mm", quote("q1", other, symbol=OTHER), T0 + 3)
    out = ex.handle("rt", accept("q1", rfq_id=rfq_id), T0 + 4)
    assert one(to(out, "rt")).text == "NOT_FOUND"
    out = ex.handle("rt", accept("q1"), T0 + 4)
    assert one(to(out, "mm")).quote_req_id == other
    # a cash amount too small to buy 0.01 contract at the quoted prices
    ex.handle("rt", p.RFQCancel(quote_req_id="cr1"), T0 + 5)
    out = ex.handle("rt", rfq_req("cr3", qty=None, cash_order_qty=D("0.01")), T0 + 5)
    tiny = one(of(out, p.QuoteRequestAck)).rfq_id
    out = ex.handle("mm2", quote("q3", tiny, "0.50", None), T0 + 5)
    assert (one(to(out, "mm2")).quote_status, one(to(out, "mm2")).text) == (5, "INVALID_ORDER")


def test_a_new_quote_replaces_the_makers_quote_on_the_market(ex: Exchange) -> None:
    rfq_id = quoted(ex, "q1")
    ex.handle("mm", quote("q2", rfq_id, "0.70", "0.25"), T0 + 2)
    out = ex.handle("rt", accept("q1"), T0 + 3)
    assert one(to(out, "rt")).text == "EXPIRED"
    out = ex.handle("mm", p.QuoteCancel(quote_id="q1"), T0 + 3)
    assert one(to(out, "mm")).text == "EXPIRED"
    out = ex.handle("rt", accept("q2", SELL), T0 + 3)
    assert one(to(out, "rt")).accept_quote_status == 0


def test_prefer_better_quote(ex: Exchange) -> None:
    rfq_id = quoted(ex, "q1", yes="0.60", no="0.30")
    ex.handle("mm2", quote("q2", rfq_id, "0.62", "0.28"), T0 + 2)
    out = ex.handle("rt", accept("q2", BUY, prefer_better_quote=True), T0 + 3)
    status = one(to(out, "rt"))  # buying YES: bob's NO bid 0.30 beats carol's 0.28
    assert (status.quote_id, status.accepted_quote_id) == ("q2", "q1")
    assert one(to(out, "mm")).quote_status == p.QuoteStatus.ACCEPTED and not to(out, "mm2")
    out = ex.handle("mm", p.QuoteConfirm(quote_id="q1"), T0 + 4)
    assert ers(out, "rt")[-1].last_px == D("0.70")
    rfq_id = open_rfq(ex, "cr9", symbol=OTHER)
    ex.handle("mm", quote("q3", rfq_id, "0.60", "0.30", symbol=OTHER), T0 + 5)
    ex.handle("mm2", quote("q4", rfq_id, "0.62", "0.28", symbol=OTHER), T0 + 5)
    out = ex.handle("rt", accept("q3", SELL, prefer_better_quote=True), T0 + 6)
    assert one(to(out, "rt")).accepted_quote_id == "q4"  # selling YES: 0.62 beats 0.60
    out = ex.handle("mm2", p.QuoteConfirm(quote_id="q4"), T0 + 7)
    assert ers(out, "rt")[-1].last_px == D("0.62")


def test_rfq_expires_after_a_day(ex: Exchange) -> None:
    rfq_id = quoted(ex)
    assert ex.tick(T0 + RFQ_LIFETIME_SECONDS - 0.001) == []
    out = ex.tick(T0 + RFQ_LIFETIME_SECONDS)
    encode_all(out)
    status = one(to(out, "rt"))
    assert (status.quote_req_id, status.rfq_cancel_status, status.rfq_id) == (
        "cr1",
        p.RFQCancelStatusValue.EXPIRED,
        rfq_id,
    )
    assert one(to(out, "mm")).text == "RFQ_EXPIRED"
    out = ex.handle("rt", accept("q1"), T0 + RFQ_LIFETIME_SECONDS + 1)
    assert one(to(out, "rt")).text == "EXPIRED"


def test_settlement_closes_rfqs_and_voids_acceptances(ex: Exchange) -> None:
    rfq_id = quoted(ex)
    ex.handle("rt", accept("q1", cl_ord_id="acc"), T0 + 2)
    out = ex.settle(SYM, "yes", T0 + 3)
    encode_all(out)
    assert [type(mm).__name__ for mm in to(out, "rt")] == ["AcceptQuoteStatus", "RFQCancelStatus"]
    assert one(of(out, p.RFQCancelStatus, "rt")).rfq_cancel_status == 2
    assert [type(mm).__name__ for mm in to(out, "mm")] == [
        "QuoteStatusReport",
        "QuoteRequestReject",
    ]
    closed = one(of(out, p.QuoteRequestReject, "mm2"))
    assert (closed.quote_req_id, closed.text) == (rfq_id, "MARKET_ALREADY_CLOSED")


def test_rfq_messages_follow_the_account_when_the_session_is_gone(ex: Exchange) -> None:
    rfq_id = quoted(ex)
    ex.disconnect("rt", T0 + 2)
    ex.connect("rt2", "alice", "KalshiRT", now=T0 + 2)
    out = ex.handle("mm2", quote("q2", rfq_id, "0.70", None), T0 + 3)
    assert one(of(out, p.Quote, "rt2")).quote_id == "q2"
    ex.handle("rt2", accept("q2", SELL, 5), T0 + 4)
    ex.disconnect("mm2", T0 + 5)
    ex.connect("mm3", "carol", "KalshiRFQ", now=T0 + 5)
    out = ex.tick(T0 + 40)
    assert one(to(out, "mm3")).quote_status == p.QuoteStatus.CANCELLED
    assert one(to(out, "rt2")).text == "EXPIRED"


def test_rfq_ids_are_deterministic_per_seed() -> None:
    def run(seed: int) -> list[str]:
        ex = Exchange(seed=seed)
        out = ex.seed_market(SYM, now=T0)
        out += ex.connect("rt", "alice", "KalshiRT", now=T0)
        out += ex.connect("mm", "bob", "KalshiRFQ", now=T0)
        out += ex.handle("rt", rfq_req("r"), T0)
        rfq_id = one(of(out, p.QuoteRequestAck)).rfq_id
        out += ex.handle("mm", quote("q", rfq_id), T0)
        out += ex.handle("rt", accept("q"), T0)
        out += ex.handle("mm", p.QuoteConfirm(quote_id="q"), T0)
        return [repr(o) for o in out]

    assert run(3) == run(3)
    assert run(3) != run(4)


# -- never raises --------------------------------------------------------------------------------

texts = st.one_of(st.none(), st.sampled_from(["q1", "q2", "cr1", "1;1", "2;1", "x", ""]))
decimals = st.one_of(
    st.none(),
    st.sampled_from([D(0), D("0.25"), D("0.75"), D("0.5001"), D(1), D(-1), D("1e30"), D(50)]),
)
sides = st.one_of(st.none(), st.sampled_from([BUY, SELL, "3"]))


def fuzz_messages(rfq_ids: list[str]) -> st.SearchStrategy[Any]:
    rfq = st.one_of(texts, st.sampled_from(rfq_ids)) if rfq_ids else texts
    symbols = st.one_of(st.none(), st.sampled_from([SYM, OTHER, "NOPE"]))
    entry = st.builds(
        p.QuoteRequestRelatedSym,
        symbol=symbols,
        order_qty=decimals,
        cash_order_qty=decimals,
        obscure_creator_id=st.one_of(st.none(), st.booleans()),
        replace_existing=st.one_of(st.none(), st.booleans()),
        target_cost_excludes_fees=st.one_of(st.none(), st.booleans()),
    )
    return st.one_of(
        st.builds(
            p.QuoteRequest,
            quote_req_id=texts,
            related_sym=st.one_of(st.none(), st.lists(entry, max_size=2).map(tuple)),
            alloc_account=st.one_of(st.none(), st.integers(-1, 70)),
        ),
        st.builds(
            p.Quote,
            quote_id=texts,
            quote_req_id=rfq,
            symbol=symbols,
            bid_px=decimals,
            offer_px=decimals,
            alloc_account=st.one_of(st.none(), st.integers(-1, 70)),
        ),
        st.builds(
            p.AcceptQuote,
            quote_id=texts,
            rfq_id=rfq,
            side=sides,
            order_qty=decimals,
            cl_ord_id=texts,
            prefer_better_quote=st.one_of(st.none(), st.booleans()),
        ),
        st.builds(
            p.NewOrderSingle,
            cl_ord_id=texts,
            side=sides,
            order_qty=decimals,
            price=decimals,
            symbol=symbols,
            ord_type=st.just("2"),
            quote_id=texts,
            rfq_id=rfq,
        ),
        st.builds(p.QuoteConfirm, quote_id=texts, rfq_id=rfq),
        st.builds(p.QuoteCancel, quote_id=texts, rfq_id=rfq),
        st.builds(p.RFQCancel, quote_req_id=texts, rfq_id=rfq),
        st.builds(p.EventResendRequest, begin_exec_id=texts, end_exec_id=texts),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_arbitrary_rfq_and_replay_requests_never_raise(data: st.DataObject) -> None:
    ex = Exchange(seed=0)
    ex.seed_market(SYM, bids=[(D("0.40"), D(5))], asks=[(D("0.60"), D(5))], now=T0)
    ex.seed_market(OTHER, now=T0)
    sessions = {
        "rt": ("alice", "KalshiRT"),
        "anr": ("alice", "KalshiNR"),
        "mm": ("bob", "KalshiRFQ"),
        "mm2": ("carol", "KalshiRFQ"),
        "cnr": ("carol", "KalshiNR"),
        "dcd": ("alice", "KalshiDC"),
    }
    for sid, (account, kind) in sessions.items():
        ex.connect(sid, account, kind, use_dollars=sid in DOLLARS, now=T0)
    rfq_ids: list[str] = []
    now = T0
    for _ in range(data.draw(st.integers(1, 12))):
        now += data.draw(st.sampled_from([0, 1, 29, 31, 3 * 3600]))
        if data.draw(st.booleans()):
            out = ex.tick(now)
        else:
            sid = data.draw(st.sampled_from(list(sessions)))
            out = ex.handle(sid, data.draw(fuzz_messages(rfq_ids)), now)
        rfq_ids += [mm.rfq_id for mm in of(out, p.QuoteRequestAck)]
        encode_all(out)
    assert (
        sum(ex.position(s, a) for s in (SYM, OTHER) for a in ("alice", "bob", "carol", "house"))
        == 0
    )
