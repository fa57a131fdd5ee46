"""The RFQ flow's rules in the exchange engine: what it rejects, its details (obscured creator,
cash-sized RFQs, a maker's quote replaced, expiry, settlement), and that no RFQ or replay
message makes it raise."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from engine_helpers import BUY, HEADER, SELL, T0, UUID, ers, of, one
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rfq_helpers import (
    DOLLARS,
    OTHER,
    SYM,
    accept,
    encode_all,
    nos,
    open_rfq,
    quote,
    quoted,
    rfq_exchange,  # noqa: F401  (the ex fixture)
    rfq_req,
    taker_fee,
    to,
)

from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import Exchange
from kalshi_fix_sansio.simulator.gateway.exchange import OBSCURED_CREATOR_ID, RFQ_LIFETIME_SECONDS

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
