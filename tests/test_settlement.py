"""Settlement reassembly (35=UMS pages -> one report), through `kalshi_fix_sansio.trading.settlement`.

The reference's examples are decoded from their verbatim frames (`doc_examples`); multi-page
batches are built, encoded and decoded tolerantly as a session delivers them; the end-to-end
test takes the pages the mock gateway's exchange engine emits through an in-memory KalshiPT
session pair.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
from datetime import date, datetime, timezone
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from doc_examples import load_examples
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.session.events import ApplicationMessage, Timeout
from kalshi_fix_sansio.simulator.gateway import Exchange
from kalshi_fix_sansio.simulator.testing import SessionPair
from kalshi_fix_sansio.trading.settlement import (
    DEFAULT_TIMEOUT,
    IncompleteSettlement,
    ProblemKind,
    SettlementAssembler,
    SettlementReport,
    SettlementUpdate,
)

ROOT = Path(__file__).resolve().parents[1]
SYM = "HIGHNY-23DEC31"
DAY = date(2023, 12, 31)
K = ProblemKind
UTC = timezone.utc


def header(seq: int = 7, poss_dup: bool = False) -> Header:
    return Header(
        sender_comp_id="Kalshi",
        target_comp_id="client",
        msg_seq_num=seq,
        sending_time=datetime(2024, 1, 1, tzinfo=UTC),
        poss_dup_flag=poss_dup or None,
        orig_sending_time=datetime(2024, 1, 1, tzinfo=UTC) if poss_dup else None,
    )


def party(pid: str, long_qty: str = "10", payout: str = "10.00", fee: str = "0.00") -> Any:
    return p.MarketSettlementReportMarketSettlementPartyID(
        market_settlement_party_id=pid,
        market_settlement_party_role=p.MarketSettlementPartyRole.CUSTOMER_ACCOUNT,
        long_qty=D(long_qty),
        short_qty=D(0),
        collateral_amount_changes=(
            p.CollateralAmountChange(
                collateral_amount_change=D(payout),
                collateral_amount_type=p.CollateralAmountType.PAYOUT,
            ),
        ),
        misc_fees=(
            p.MiscFee(
                misc_fee_amt=D(fee),
                misc_fee_curr="USD",
                misc_fee_type=p.MiscFeeType.EXCHANGE_FEES,
                misc_fee_basis=p.MiscFeeBasis.ABSOLUTE,
            ),
        ),
    )


def page(
    rid: str,
    parties: tuple[Any, ...] = (),
    *,
    total: int | None = None,
    last: bool | None = None,
    result: str = "yes",
    price: str = "1.00",
    symbol: str = SYM,
    day: date = DAY,
) -> Any:
    return p.MarketSettlementReport(
        market_settlement_report_id=rid,
        symbol=symbol,
        clearing_business_date=day,
        tot_num_market_settlement_reports=total,
        market_result=p.MarketResult(result),
        settlement_price=D(price),
        market_settlement_party_ids=parties or None,
        last_fragment=last,
    )


def wire(message: Any, *, poss_dup: bool = False, edit: tuple[bytes, bytes] | None = None) -> Any:
    """Encode, optionally edit the frame's bytes, and decode tolerantly as a session does."""
    frame = p.encode(message, header(poss_dup=poss_dup))
    if edit is not None:
        assert edit[0] in frame, (edit, frame)
        frame = frame.replace(edit[0], edit[1])
    return p.decode(frame, tolerant=True)


def batch(n: int, *, per_page: int = 2, total: bool = True) -> list[Any]:
    """An n-page batch, in order, as decoded messages."""
    return [
        wire(
            page(
                f"settle-{k}",
                tuple(party(f"user-{k}-{j}", str(j + 1), f"{j + 1}.00") for j in range(per_page)),
                total=n if total else None,
                last=k == n - 1,
            )
        )
        for k in range(n)
    ]


def feed(assembler: SettlementAssembler, messages: list[Any], now: float = 0.0) -> list[Any]:
    """Feed messages; return every update."""
    return [assembler.on_message(m, now) for m in messages]


def reports_of(updates: list[SettlementUpdate]) -> list[SettlementReport]:
    return [r for u in updates for r in u.reports]


def problems_of(updates: list[SettlementUpdate]) -> list[Any]:
    return [pr for u in updates for pr in u.problems]


def doc_example(comment: str) -> Any:
    """The decoded message of the reference example whose comment line is ``comment``."""
    found = [
        c
        for ex in load_examples()
        if ex.section_number == 6
        for c in ex.messages
        if c.comment == comment
    ]
    assert len(found) == 1, comment
    return p.decode(found[0].frame, tolerant=True)


# -- the reference's examples ------------------------------------------------------------------


def test_the_current_yes_example_is_a_complete_one_page_settlement() -> None:
    a = SettlementAssembler()
    update = a.on_message(doc_example('Market settled as "yes", no fees'), 5.0)
    (report,) = update.reports
    assert update.problems == () and not update.duplicate and a.pending == ()
    assert (report.symbol, report.clearing_business_date) == (SYM, DAY)
    assert (report.market_result, report.settlement_price) == ("yes", D("1.00"))
    assert report.report_ids == ("settle-123",) and report.total_pages is None
    (entry,) = report.parties
    assert (entry.party_id, entry.role, entry.long_qty, entry.short_qty) == ("user-456", 24, 100, 0)
    assert (entry.payout, entry.fee, entry.pre_fee_payout) == (D("100.00"), 0, D("100.00"))
    assert report.payout("user-456") == report.total_payout == D(100)
    assert report.long_qty("user-456") == 100 and report.short_qty("user-456") == 0


def test_the_sub_cent_fee_example_keeps_the_fee_apart_from_the_payout() -> None:
    msg = doc_example('Market settled as "yes", with sub-cent rounding fee')
    (report,) = SettlementAssembler().on_message(msg, 0.0).reports
    assert report.report_ids == ("settle-456",)
    assert report.fee("user-789") == report.total_fee == D("0.006")
    assert report.payout("user-789") == D("100.00")
    assert report.entries("user-789")[0].pre_fee_payout == D("100.006")


def test_the_scalar_example_matches_the_documented_arithmetic() -> None:
    msg = doc_example("Direct user: scalar settlement with a sub-centicent rounding fee")
    (report,) = SettlementAssembler().on_message(msg, 0.0).reports
    assert report.market_result == "scalar"
    assert report.settlement_price == D("0.3060")  # 730=30.60 cents
    (entry,) = report.parties
    assert (entry.long_qty, entry.payout, entry.fee) == (D("100.01"), D("30.6030"), D("0.00006"))
    # 100.01 YES x $0.3060 = $30.60306 gross = net payout + fee (the fee is already deducted)
    assert entry.pre_fee_payout == entry.long_qty * report.settlement_price == D("30.60306")


@pytest.mark.parametrize(
    "comment",
    [
        'Market settled as "Yes"',
        'Market settled as "Yes", no fees',
        'Market settled as "Yes", with sub-cent rounding fee',
    ],
)
def test_historical_examples_without_a_settlement_price_are_reported(comment: str) -> None:
    a = SettlementAssembler()
    update = a.on_message(doc_example(comment), 0.0)
    assert update.reports == () and a.pending == ()
    (problem,) = update.problems
    assert problem.kind is K.MALFORMED and str(problem.kind) == "malformed"
    assert "SettlementPrice(730)" in problem.text and problem.symbol == SYM
    assert problem.report_id in ("settle-123", "settle-456")
    assert {d.tag for d in problem.defects} >= {730, 20107}


def test_two_examples_for_the_same_market_and_date_are_two_settlements() -> None:
    a = SettlementAssembler()
    first = a.on_message(doc_example('Market settled as "yes", no fees'), 0.0)
    second = a.on_message(doc_example('Market settled as "yes", with sub-cent rounding fee'), 1.0)
    assert first.reports[0].report_ids == ("settle-123",)
    assert second.reports[0].report_ids == ("settle-456",)
    assert [pr.kind for pr in second.problems] == [K.REOPENED]
    assert "settle-456" in second.problems[0].text and SYM in second.problems[0].text


# -- multi-page batches, order, duplicates -----------------------------------------------------


def test_a_three_page_batch_completes_on_its_last_page_only() -> None:
    a = SettlementAssembler()
    pages = batch(3)
    updates = feed(a, pages[:2], 1.0)
    assert reports_of(updates) == [] and problems_of(updates) == []
    (pending,) = a.pending
    assert (pending.pages_seen, pending.expected_pages, pending.last_page_seen) == (2, 3, False)
    assert pending.missing_pages == 1 and pending.report_ids == ("settle-0", "settle-1")
    (report,) = a.on_message(pages[2], 2.0).reports
    assert report.report_ids == ("settle-0", "settle-1", "settle-2") and report.total_pages == 3
    assert len(report.parties) == 6 and report.total_payout == D(9)
    assert report.party_ids == tuple(sorted(f"user-{k}-{j}" for k in range(3) for j in range(2)))
    assert a.pending == ()


def test_every_order_of_the_pages_gives_the_same_report() -> None:
    pages = batch(3)
    expected = reports_of(feed(SettlementAssembler(), pages))
    for order in itertools.permutations(pages):
        a = SettlementAssembler()
        updates = feed(a, list(order))
        assert reports_of(updates) == expected and problems_of(updates) == []
        assert all(not u.reports for u in updates[:-1])  # complete exactly at the third page


def test_identical_duplicates_and_possdup_resends_are_ignored_and_counted() -> None:
    a = SettlementAssembler()
    pages = batch(2)
    resend = wire(page("settle-0", batch_parties(0), total=2, last=False), poss_dup=True)
    assert resend.header.poss_dup_flag is True
    updates = feed(a, [pages[0], pages[0], resend])
    assert [u.duplicate for u in updates] == [False, True, True] and a.duplicates == 2
    (report,) = a.on_message(pages[1], 1.0).reports
    assert report.report_ids == ("settle-0", "settle-1")
    late = a.on_message(resend, 2.0)  # a resend after completion: still a duplicate
    assert late.duplicate and late.reports == () and late.problems == () and a.pending == ()
    assert a.duplicates == 3


def batch_parties(k: int) -> tuple[Any, ...]:
    return tuple(party(f"user-{k}-{j}", str(j + 1), f"{j + 1}.00") for j in range(2))


def test_a_conflicting_duplicate_is_reported_and_the_first_content_kept() -> None:
    a = SettlementAssembler()
    pages = batch(2)
    a.on_message(pages[0], 0.0)
    other = wire(page("settle-0", (party("intruder"),), total=2, last=False))
    (problem,) = a.on_message(other, 0.5).problems
    assert problem.kind is K.CONFLICTING_DUPLICATE and problem.report_id == "settle-0"
    assert "parties" in problem.text and problem.message is other
    (report,) = a.on_message(pages[1], 1.0).reports
    assert "intruder" not in report.party_ids and a.duplicates == 0
    after = a.on_message(other, 2.0)  # also once the batch is complete
    assert [pr.kind for pr in after.problems] == [K.CONFLICTING_DUPLICATE]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"result": "no"}, "MarketResult(20107)"),
        ({"price": "0.40"}, "SettlementPrice(730)"),
        ({"total": 3}, "TotNumMarketSettlementReports(20106)"),
    ],
)
def test_inconsistent_batch_headers_are_reported_not_merged(
    change: dict[str, Any], named: str
) -> None:
    a = SettlementAssembler(timeout=10.0)
    a.on_message(wire(page("p1", (party("u1"),), total=2, last=False)), 0.0)
    kw: dict[str, Any] = {"total": 2, "last": True, **change}
    (problem,) = a.on_message(wire(page("p2", (party("u2"),), **kw)), 1.0).problems
    assert problem.kind is K.INCONSISTENT_BATCH and named in problem.text
    assert problem.report_id == "p2" and "not merged" in problem.text
    (pending,) = a.pending
    assert pending.report_ids == ("p1",) and pending.rejected_ids == ("p2",)
    (gone,) = a.poll(11.5)
    assert gone.rejected_ids == ("p2",) and "1 page(s) rejected" in gone.reason


def test_more_pages_than_announced_or_no_last_page_are_reported() -> None:
    a = SettlementAssembler()
    a.on_message(wire(page("p1", total=2, last=False)), 0.0)
    (problem,) = a.on_message(wire(page("p2", total=2, last=False)), 0.0).problems
    assert problem.kind is K.NO_LAST_PAGE and "LastFragment(893)=Y" in problem.text
    (problem,) = a.on_message(wire(page("p3", last=True)), 0.0).problems
    assert problem.kind is K.TOO_MANY_PAGES and "3 distinct pages" in problem.text
    assert a.pending[0].pages_seen == 3 and a.pending[0].last_page_seen


def test_without_a_total_the_last_fragment_completes_the_batch() -> None:
    a = SettlementAssembler()
    pages = batch(3, total=False)
    updates = feed(a, pages)
    assert [len(u) for u in updates] == [0, 0, 1]
    assert updates[2].reports[0].report_ids == ("settle-0", "settle-1", "settle-2")
    # without a total, a page arriving after the last one opens a new batch, reported
    b = SettlementAssembler()
    updates = feed(b, [pages[0], pages[2], pages[1]])
    assert reports_of(updates)[0].report_ids == ("settle-0", "settle-2")
    assert [pr.kind for pr in problems_of(updates)] == [K.REOPENED]
    assert b.pending[0].report_ids == ("settle-1",)


def test_a_page_with_neither_total_nor_last_fragment_is_a_whole_settlement() -> None:
    (report,) = SettlementAssembler().on_message(wire(page("solo", (party("u"),))), 0.0).reports
    assert report.report_ids == ("solo",) and report.total_pages is None


def test_a_total_without_any_last_fragment_completes_on_the_count() -> None:
    a = SettlementAssembler()
    assert not a.on_message(wire(page("p1", total=2)), 0.0)
    assert len(a.on_message(wire(page("p2", total=2)), 0.0)) == 1


def test_the_same_party_on_two_pages_is_kept_and_reported() -> None:
    a = SettlementAssembler()
    a.on_message(wire(page("p1", (party("u1", payout="3.00"),), total=2, last=False)), 0.0)
    update = a.on_message(wire(page("p2", (party("u1", payout="4.00"),), total=2, last=True)), 0)
    (report,) = update.reports
    (problem,) = update.problems
    assert (
        problem.kind is K.DUPLICATE_PARTY and "'u1' appears 2 times (pages p1, p2)" in problem.text
    )
    assert [e.report_id for e in report.entries("u1")] == ["p1", "p2"]
    assert report.payout("u1") == D(7) and report.long_qty("u1") == 20


def test_an_unknown_party_is_a_key_error_naming_it() -> None:
    (report,) = SettlementAssembler().on_message(wire(page("p", (party("u"),), last=True)), 0)
    with pytest.raises(KeyError, match="'nobody' is not in the settlement of HIGHNY-23DEC31"):
        report.payout("nobody")


def test_separate_markets_and_dates_are_separate_batches() -> None:
    a = SettlementAssembler()
    a.on_message(wire(page("x1", total=2, last=False)), 0.0)
    a.on_message(wire(page("y1", total=2, last=False, symbol="OTHER")), 1.0)
    a.on_message(wire(page("z1", total=2, last=False, day=date(2024, 1, 1))), 2.0)
    assert [(b.symbol, b.clearing_business_date) for b in a.pending] == [
        (SYM, DAY),
        ("OTHER", DAY),
        (SYM, date(2024, 1, 1)),
    ]
    (report,) = a.on_message(wire(page("y2", total=2, last=True, symbol="OTHER")), 3.0).reports
    assert report.symbol == "OTHER" and len(a.pending) == 2


# -- timeouts -----------------------------------------------------------------------------------


def test_poll_expires_a_quiet_batch_and_says_what_is_missing() -> None:
    a = SettlementAssembler(timeout=30.0)
    pages = batch(4)
    a.on_message(pages[0], 100.0)
    a.on_message(pages[3], 110.0)
    assert a.poll(140.0) == []  # 30 s after the latest page: not yet
    a.on_message(pages[0], 135.0)  # a duplicate shows the batch is alive
    assert a.poll(160.0) == []
    (gone,) = a.poll(165.5)
    assert isinstance(gone, IncompleteSettlement)
    assert (gone.pages_seen, gone.expected_pages, gone.missing_pages) == (2, 4, 2)
    assert gone.last_page_seen and (gone.first_seen, gone.last_seen) == (100.0, 135.0)
    assert gone.reason == f"{SYM} 2023-12-31: 2 of 4 pages, last page seen"
    assert [e.report_id for e in gone.parties] == ["settle-0"] * 2 + ["settle-3"] * 2
    assert a.pending == () and a.poll(1000.0) == []
    # its pages are forgotten: a late page starts a new batch (nothing reported as duplicate)
    late = a.on_message(pages[1], 200.0)
    assert not late.duplicate and a.pending[0].report_ids == ("settle-1",)


def test_flush_gives_up_every_pending_batch_oldest_first() -> None:
    a = SettlementAssembler()
    a.on_message(wire(page("b1", total=2, last=False, symbol="B")), 2.0)
    a.on_message(wire(page("a1", total=2, last=False, symbol="A")), 1.0)
    gone = a.flush()
    assert [g.symbol for g in gone] == ["A", "B"] and a.pending == ()
    assert gone[0].reason == "A 2023-12-31: 1 of 2 pages, last page (LastFragment=Y) not seen"


def test_settings_are_checked() -> None:
    assert SettlementAssembler().timeout == DEFAULT_TIMEOUT
    with pytest.raises(ValueError, match="timeout must be a positive"):
        SettlementAssembler(timeout=0)
    with pytest.raises(ValueError, match="max_completed must be >= 0"):
        SettlementAssembler(max_completed=-1)


def test_completed_batches_are_remembered_up_to_max_completed() -> None:
    a = SettlementAssembler(max_completed=1)
    first = wire(page("one", last=True))
    a.on_message(first, 0.0)
    assert a.on_message(first, 0.0).duplicate
    a.on_message(wire(page("two", last=True, symbol="OTHER")), 0.0)  # pushes "one" out
    again = a.on_message(first, 0.0)
    assert not again.duplicate and again.reports[0].report_ids == ("one",)
    assert again.problems == ()  # forgotten entirely, as documented


# -- defective messages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ((b"\x0155=HIGHNY-23DEC31\x01", b"\x01"), "Symbol(55)"),
        ((b"\x01715=20231231\x01", b"\x01715=2023-12-31\x01"), "ClearingBusinessDate(715)"),
        ((b"\x011704=10.00\x01", b"\x011704=ten\x01"), "CollateralAmountChange(1704)"),
        ((b"\x0120106=2\x01", b"\x0120106=two\x01"), "TotNumMarketSettlementReports(20106)"),
        ((b"\x0120108=1\x01", b"\x0120108=3\x01"), "NoMarketSettlementPartyIDs(20108)"),
        ((b"\x0120109=u1\x01", b"\x01"), "MarketSettlementPartyID(20109)"),
    ],
)
def test_a_page_missing_or_garbling_a_needed_field_is_reported(
    edit: tuple[bytes, bytes], named: str
) -> None:
    a = SettlementAssembler()
    bad = wire(page("p1", (party("u1"),), total=2, last=False), edit=edit)
    update = a.on_message(bad, 0.0)
    assert update.reports == () and a.pending == ()
    (problem,) = update.problems
    assert problem.kind is K.MALFORMED and named in problem.text, problem.text
    assert problem.message is bad and "cannot be used" in problem.text


def test_a_strictly_decoded_page_with_a_bad_value_is_reported_not_raised() -> None:
    frame = p.encode(page("p1", (party("u1"),), last=True), header())
    msg = p.decode(frame.replace(b"\x01730=100\x01", b"\x01730=1OO\x01"))  # strict decode
    (problem,) = SettlementAssembler().on_message(msg, 0.0).problems
    assert problem.kind is K.MALFORMED and "SettlementPrice(730)" in problem.text


def test_harmless_defects_ride_along_and_capitalised_results_are_read() -> None:
    edit = (b"\x0120107=yes\x01", b"\x0120107=Yes\x019999=x\x01")
    msg = wire(page("p1", (party("u1"),), last=True), edit=edit)
    update = SettlementAssembler().on_message(msg, 0.0)
    (report,) = update.reports
    assert update.problems == () and report.market_result == "yes"
    assert {(d.tag, d.reason) for d in report.defects} == {(20107, 5), (9999, 0)}


def test_other_messages_and_events_are_ignored() -> None:
    a = SettlementAssembler()
    assert a.on_message(p.Heartbeat(), 0.0) == SettlementUpdate()
    assert a.on_event(Timeout("heartbeat"), 0.0) == SettlementUpdate()
    event = ApplicationMessage(
        message=wire(page("p", last=True)), seq_num=7, poss_dup=False, raw=b""
    )
    assert len(a.on_event(event, 0.0)) == 1


# -- property -----------------------------------------------------------------------------------


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[str, tuple[str, ...]]]:
    """A batch as (page ID, party IDs) per page, in page order."""
    n = draw(st.integers(1, 4))
    ids = st.text("abcdef0123", min_size=1, max_size=6)
    people = st.lists(st.sampled_from(["u1", "u2", "u3", "u4", "u5"]), max_size=3, unique=True)
    pages = draw(st.lists(st.tuples(ids, people), min_size=n, max_size=n, unique_by=lambda t: t[0]))
    return [(rid, tuple(f"{pid}-{k}" for pid in who)) for k, (rid, who) in enumerate(pages)]


def build(spec: list[tuple[str, tuple[str, ...]]]) -> list[Any]:
    n = len(spec)
    return [
        wire(
            page(
                rid,
                tuple(party(pid, str(k + 1), f"{k}.50", "0.01") for pid in who),
                total=n,
                last=k == n - 1,
                result="no",
                price="0",
            )
        )
        for k, (rid, who) in enumerate(spec)
    ]


@settings(max_examples=120, deadline=None)
@given(spec=batches(), data=st.data())
def test_any_permutation_and_duplication_of_a_batch_gives_the_same_report(
    spec: list[tuple[str, tuple[str, ...]]], data: st.DataObject
) -> None:
    n = len(spec)
    repeats = data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    copies = [k for k in range(n) for _ in range(repeats[k])]
    order = data.draw(st.permutations(copies))
    (expected,) = reports_of(feed(SettlementAssembler(), build(spec)))
    messages = build(spec)  # fresh decoded messages: nothing shared with the first run
    a = SettlementAssembler()
    updates = feed(a, [messages[k] for k in order])
    assert reports_of(updates) == [expected] and problems_of(updates) == []
    assert a.duplicates == len(copies) - n and a.pending == ()
    assert expected.report_ids == tuple(sorted(rid for rid, _ in spec))
    assert len(expected.parties) == sum(len(who) for _, who in spec)


# -- end to end: the mock gateway's exchange engine through a KalshiPT session ----------------


def test_the_gateways_settlement_pages_arrive_over_a_session_and_assemble() -> None:
    t0 = datetime(2026, 6, 15, 14, 0, tzinfo=UTC).timestamp()
    symbol = "KXTEST-26JUN15-T50"
    ex = Exchange(seed=1)
    ex.seed_market(symbol, now=t0)
    ex.connect("a", "alice", "KalshiNR", now=t0)
    ex.connect("b", "bob", "KalshiNR", now=t0)
    ex.connect("apt", "alice", "KalshiPT", now=t0)
    ex.connect("art", "alice", "KalshiRT", settlement_reports=True, now=t0)

    def order(cl: str, side: Any, qty: int, **kw: Any) -> Any:
        return p.NewOrderSingle(
            cl_ord_id=cl,
            side=side,
            order_qty=D(qty),
            price=D("0.60"),
            symbol=symbol,
            ord_type=p.OrdType.LIMIT,
            **kw,
        )

    ex.handle("b", order("b1", p.Side.SELL, 15), t0)
    for sub in range(5):  # alice buys sub+1 YES in subaccounts 0..4: five parties
        ex.handle("a", order(f"a{sub}", p.Side.BUY, sub + 1, alloc_account=sub), t0)
    out = ex.settle(symbol, "yes", t0 + 100, fragment_size=2)
    sent = {
        sid: [o.message for o in out if o.session_id == sid and o.message.MSG_TYPE == "UMS"]
        for sid in ("apt", "art")
    }
    assert [len(v) for v in sent.values()] == [3, 3]  # three pages to each session

    events = []
    for session_type, sid in (("KalshiPT", "apt"), ("KalshiRT", "art")):
        pair = SessionPair.kalshi(session_type=session_type, now=t0 + 100)
        pair.start()
        for message in reversed(sent[sid]) if sid == "art" else sent[sid]:
            pair.server.session.send(message, pair.now)
        pair.pump()
        events += [e for e in pair.client.events if isinstance(e, ApplicationMessage)]
    assert len(events) == 6
    a = SettlementAssembler()
    updates = [a.on_event(e, t0 + 101) for e in events]
    (report,) = reports_of(updates)
    assert problems_of(updates) == [] and a.duplicates == 3 and a.pending == ()
    assert report.symbol == symbol and report.clearing_business_date == date(2026, 6, 15)
    assert (report.market_result, report.settlement_price, report.total_pages) == ("yes", 1, 3)
    assert report.party_ids == ("alice", "alice/1", "alice/2", "alice/3", "alice/4")
    assert [report.payout(pid) for pid in report.party_ids] == [1, 2, 3, 4, 5]
    assert report.total_payout == 15 and report.total_fee == 0
    assert report.report_ids == tuple(sorted(m.market_settlement_report_id for m in sent["apt"]))


# -- docs -----------------------------------------------------------------------------------------


def test_the_docs_examples_run() -> None:
    text = (ROOT / "docs" / "settlement.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert len(blocks) == 3
    namespace: dict[str, Any] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, "docs/settlement.md", "exec"), namespace)
    assert "KXTEST-26JUN15-T50 2026-06-15: 1 of 3 pages" in out.getvalue()
    assert "settlement problem" not in out.getvalue()
