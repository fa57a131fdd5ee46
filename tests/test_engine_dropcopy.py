"""Drop-copy replay (35=U1/U2/U3) of the exchange engine: an account's reports sent again."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D
from typing import Any

import pytest
from engine_helpers import BUY, HEADER, SELL, T0, UTC, ers, of, one
from rfq_helpers import (
    SYM,
    accept,
    alice_history,
    drop_copy_exchange,  # noqa: F401  (the dc fixture)
    encode_all,
    key,
    nos,
    quoted,
    resend,
    rfq_exchange,  # noqa: F401  (the ex fixture)
    to,
)

from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import Exchange
from kalshi_fix_sansio.simulator.gateway.exchange import DROP_COPY_WINDOW_SECONDS


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
