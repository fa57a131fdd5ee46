"""Order books from market-data snapshots and incrementals, through the public API."""

from __future__ import annotations

import contextlib
import io
import re
from datetime import date, datetime, time, timezone
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import (
    Book,
    BookInconsistency,
    Books,
    BookUpdates,
    Header,
    InconsistencyReason,
)
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.trading.book import Level, Trade

R = InconsistencyReason
PRED = "KXNBAGAME-26MAY25NYKCLE-NYK"
DAY, T0 = date(2026, 8, 17), time(16, 0, 0, 123000, tzinfo=timezone.utc)
HDR = Header(
    sender_comp_id="KalshiMD",
    target_comp_id="your-api-key",
    msg_seq_num=2,
    sending_time=datetime(2026, 8, 17, 16, tzinfo=timezone.utc),
)
ROOT = Path(__file__).resolve().parent.parent


def wire(dialect: Any, message: Any, example: str) -> Any:
    """Encode ``message`` with the library, check it carries the page's example body, decode it."""
    frame = dialect.encode(message, HDR)
    body = example.split("|56=your-api-key|", 1)[1].replace("|", "\x01").encode()
    assert body in frame, (body, frame)
    return dialect.decode(frame)


def snap_entries(d: Any, bid: str, offer: str, size_bid: str, size_offer: str) -> list[Any]:
    e = d.MarketDataSnapshotFullRefreshMDEntry
    return [
        e(
            md_entry_type=d.MDEntryType.BID,
            md_entry_px=D(bid),
            md_entry_size=D(size_bid),
            md_entry_date=DAY,
            md_entry_time=T0,
        ),
        e(
            md_entry_type=d.MDEntryType.OFFER,
            md_entry_px=D(offer),
            md_entry_size=D(size_offer),
            md_entry_date=DAY,
            md_entry_time=T0,
        ),
    ]


# -- the reference page's examples ---------------------------------------------------------------


def test_prediction_examples_snapshot_change_with_own_order_and_trade() -> None:
    books = Books()
    snapshot = wire(
        p,
        p.MarketDataSnapshotFullRefresh(
            symbol=PRED, md_entries=snap_entries(p, "0.3500", "0.6500", "10.00", "5.00")
        ),
        "8=FIXT.1.1|35=W|49=KalshiMD|56=your-api-key|55=KXNBAGAME-26MAY25NYKCLE-NYK|268=2|269=0|"
        "270=0.3500|271=10.00|272=20260817|273=16:00:00.123|269=1|270=0.6500|271=5.00|"
        "272=20260817|273=16:00:00.123|",
    )
    updates = books.apply(snapshot)
    assert isinstance(updates, BookUpdates)
    assert list(updates) == [PRED] and updates.inconsistencies == []
    book = books[PRED]
    assert isinstance(book, Book) and book.has_snapshot and book.consistent
    assert book.top() == (Level(D("0.35"), D("10")), Level(D("0.65"), D("5")))
    assert book.no_view().top() == (Level(D("0.35"), D("5")), Level(D("0.65"), D("10")))

    change = wire(
        p,
        p.MarketDataIncrementalRefresh(
            md_entries=[
                p.MarketDataIncrementalRefreshMDEntry(
                    md_update_action=p.MDUpdateAction.CHANGE,
                    symbol=PRED,
                    md_entry_type=p.MDEntryType.BID,
                    md_entry_px=D("0.3500"),
                    md_entry_size=D("15.00"),
                    md_entry_date=DAY,
                    md_entry_time=time(16, 0, 0, 456000, tzinfo=timezone.utc),
                    cl_ord_id="my-order-123",
                    alloc_account=3,
                )
            ]
        ),
        "8=FIXT.1.1|35=X|49=KalshiMD|56=your-api-key|268=1|279=1|"
        "55=KXNBAGAME-26MAY25NYKCLE-NYK|269=0|270=0.3500|271=15.00|272=20260817|"
        "273=16:00:00.456|11=my-order-123|79=3|",
    )
    updates = books.apply(change)
    assert updates.symbols == [PRED] and not updates.inconsistencies and not updates.trades
    assert book.best_bid() == Level(D("0.35"), D("15"))
    (own,) = updates.own_orders
    assert (own.cl_ord_id, own.alloc_account, own.side, own.action, own.size) == (
        "my-order-123",
        3,
        "0",
        "1",
        D("15"),
    )
    assert book.own_order("my-order-123") == own and list(book.own_orders) == [own]
    assert book.own_order("other") is None

    trade = wire(
        p,
        p.MarketDataIncrementalRefresh(
            md_entries=[
                p.MarketDataIncrementalRefreshMDEntry(
                    md_update_action=p.MDUpdateAction.NEW,
                    symbol=PRED,
                    md_entry_type=p.MDEntryType.TRADE,
                    md_entry_px=D("0.6500"),
                    md_entry_size=D("3.00"),
                    md_entry_date=DAY,
                    md_entry_time=time(16, 0, 0, 789000, tzinfo=timezone.utc),
                    aggressor_side=p.AggressorSide.BUY,
                    trade_id="02cfae92-12f4-4bc6-b613-4806e3604514",
                )
            ]
        ),
        "8=FIXT.1.1|35=X|49=KalshiMD|56=your-api-key|268=1|279=0|"
        "55=KXNBAGAME-26MAY25NYKCLE-NYK|269=2|270=0.6500|271=3.00|272=20260817|"
        "273=16:00:00.789|2446=1|1003=02cfae92-12f4-4bc6-b613-4806e3604514|",
    )
    updates = books.apply(trade)
    assert updates.symbols == [PRED] and not updates.own_orders
    assert updates.trades == [book.last_trade]
    assert book.last_trade == Trade(
        PRED,
        D("0.65"),
        D("3"),
        "1",
        "02cfae92-12f4-4bc6-b613-4806e3604514",
        None,
        DAY,
        time(16, 0, 0, 789000, tzinfo=timezone.utc),
    )
    assert book.top() == (Level(D("0.35"), D("15")), Level(D("0.65"), D("5")))  # trades: no level
    assert str(book) == f"{PRED}: bid 15.00 @ 0.3500 | ask 5.00 @ 0.6500"


def test_margin_examples_and_a_block_trade() -> None:
    books = Books()
    books.apply(
        wire(
            m,
            m.MarketDataSnapshotFullRefresh(
                symbol="BTC-PERP", md_entries=snap_entries(m, "19.5000", "19.5100", "10.00", "5.00")
            ),
            "8=FIXT.1.1|35=W|49=KalshiMD|56=your-api-key|55=BTC-PERP|268=2|269=0|270=19.5000|"
            "271=10.00|272=20260817|273=16:00:00.123|269=1|270=19.5100|271=5.00|272=20260817|"
            "273=16:00:00.123|",
        )
    )
    books.apply(
        wire(
            m,
            m.MarketDataIncrementalRefresh(
                md_entries=[
                    m.MarketDataIncrementalRefreshMDEntry(
                        md_update_action=m.MDUpdateAction.CHANGE,
                        symbol="BTC-PERP",
                        md_entry_type=m.MDEntryType.BID,
                        md_entry_px=D("19.5000"),
                        md_entry_size=D("15.00"),
                        md_entry_date=DAY,
                        md_entry_time=time(16, 0, 0, 456000, tzinfo=timezone.utc),
                        cl_ord_id="my-order-123",
                        alloc_account=3,
                    )
                ]
            ),
            "8=FIXT.1.1|35=X|49=KalshiMD|56=your-api-key|268=1|279=1|55=BTC-PERP|269=0|270=19.5000|"
            "271=15.00|272=20260817|273=16:00:00.456|11=my-order-123|79=3|",
        )
    )
    updates = books.apply(
        m.decode(
            m.encode(
                m.MarketDataIncrementalRefresh(
                    md_entries=[
                        m.MarketDataIncrementalRefreshMDEntry(
                            md_update_action=m.MDUpdateAction.NEW,
                            symbol="BTC-PERP",
                            md_entry_type=m.MDEntryType.TRADE,
                            md_entry_px=D("19.5000"),
                            md_entry_size=D("3.00"),
                            md_entry_date=DAY,
                            md_entry_time=T0,
                            aggressor_side=m.AggressorSide.SELL,
                            trd_type=m.TrdType.BLOCK_TRADE,
                            trade_id="t-1",
                        )
                    ]
                ),
                HDR,
            )
        )
    )
    book = books["BTC-PERP"]
    assert book.top() == (Level(D("19.5"), D("15")), Level(D("19.51"), D("5")))
    assert book.spread() == D("0.01")
    (t,) = updates.trades
    assert (t.aggressor_side, t.trd_type, t.trade_id) == ("2", 1, "t-1")


def test_depth_and_no_view_are_best_first() -> None:
    books = Books()
    entries = [
        p.MarketDataSnapshotFullRefreshMDEntry(
            md_entry_type=p.MDEntryType(kind), md_entry_px=D(px), md_entry_size=D(size)
        )
        for kind, px, size in [
            ("0", "0.30", "1"),
            ("0", "0.40", "2"),
            ("0", "0.35", "3"),
            ("1", "0.60", "4"),
            ("1", "0.45", "5"),
            ("1", "0.50", "6"),
        ]
    ]
    books.apply(p.MarketDataSnapshotFullRefresh(symbol="S", md_entries=entries))
    book = books["S"]
    bids, offers = book.depth(2)
    assert bids == [Level(D("0.40"), D("2")), Level(D("0.35"), D("3"))]
    assert offers == [Level(D("0.45"), D("5")), Level(D("0.50"), D("6"))]
    assert [lv.price for lv in book.bids.depth()] == [D("0.40"), D("0.35"), D("0.30")]
    assert list(book.offers) == [D("0.45"), D("0.50"), D("0.60")]
    assert book.bids.depth(0) == [] and len(book.bids) == 3 and book.bids[D("0.30")] == D("1")
    no = book.no_view()
    assert no.depth(2) == (
        [Level(D("0.55"), D("5")), Level(D("0.50"), D("6"))],
        [Level(D("0.60"), D("2")), Level(D("0.65"), D("3"))],
    )
    assert no.best_bid() == Level(D("0.55"), D("5")) and no.best_offer() == Level(D("0.60"), D("2"))
    assert list(no.bids) == [D("0.55"), D("0.50"), D("0.40")] and D("0.40") in no.bids
    assert no.offers[D("0.70")] == D("1") and len(no.offers) == 3
    assert str(no) == "S (No): bid 5 @ 0.55 | ask 2 @ 0.60"


# -- rules ---------------------------------------------------------------------------------------


def inc(*entries: tuple[str, str, str, str], symbol: str = "S", **extra: Any) -> Any:
    return p.MarketDataIncrementalRefresh(
        md_entries=[
            p.MarketDataIncrementalRefreshMDEntry(
                md_update_action=p.MDUpdateAction(a),
                md_entry_type=p.MDEntryType(t),
                symbol=symbol,
                md_entry_px=D(px),
                md_entry_size=D(sz),
                **extra,
            )
            for a, t, px, sz in entries
        ]
    )


def snap(*levels: tuple[str, str, str], symbol: str = "S") -> Any:
    return p.MarketDataSnapshotFullRefresh(
        symbol=symbol,
        md_entries=[
            p.MarketDataSnapshotFullRefreshMDEntry(
                md_entry_type=p.MDEntryType(t), md_entry_px=D(px), md_entry_size=D(sz)
            )
            for t, px, sz in levels
        ],
    )


def reasons(updates: BookUpdates) -> list[str]:
    return [str(i.reason) for i in updates.inconsistencies]


def test_incrementals_before_the_snapshot_are_ignored_and_reported() -> None:
    books = Books()
    updates = books.apply(
        inc(("0", "0", "0.40", "1"), ("0", "2", "0.40", "1"), ("0", "0", "0.3", "1"))
    )
    assert updates.symbols == [] and reasons(updates) == ["before_snapshot"]
    assert updates.inconsistencies[0].symbol == "S" and "S" not in books
    books.apply(snap(("0", "0.30", "2")))
    assert books["S"].top() == (Level(D("0.30"), D("2")), None) and not books["S"].trades
    # an unknown ticker gets an empty snapshot: an empty, consistent book
    assert list(books.apply(snap(symbol="UNKNOWN"))) == ["UNKNOWN"]
    assert books["UNKNOWN"].top() == (None, None) and books["UNKNOWN"].consistent


def test_reset_and_a_new_snapshot_replace_the_book() -> None:
    books = Books(max_trades=2)
    books.apply(snap(("0", "0.40", "10"), ("1", "0.50", "3")))
    books.apply(inc(("0", "2", "0.45", "1"), ("0", "2", "0.46", "1"), ("0", "2", "0.47", "1")))
    assert [t.price for t in books["S"].trades] == [D("0.46"), D("0.47")]  # bounded
    books.apply(snap(("1", "0.55", "1")))
    assert books["S"].top() == (None, Level(D("0.55"), D("1")))
    assert len(books["S"].trades) == 2  # trades are history: kept over a new snapshot
    books.reset("S")
    assert "S" not in books
    assert reasons(books.apply(inc(("1", "1", "0.55", "2")))) == ["before_snapshot"]
    books.apply(snap(("0", "0.10", "1"), symbol="T"))
    books.reset()
    assert len(books) == 0 and books.apply(p.Heartbeat()) == BookUpdates()
    assert books.book("Z").has_snapshot is False and str(books["Z"]) == "Z: bid - | ask -"


def test_impossible_updates_are_reported_and_skipped() -> None:
    books = Books()
    books.apply(snap(("0", "0.40", "10"), ("1", "0.50", "3")))
    book = books["S"]
    updates = books.apply(
        inc(
            ("2", "0", "0.30", "0"),  # delete absent
            ("1", "1", "0.60", "2"),  # change absent
            ("0", "0", "0.40", "2"),  # new present
            ("1", "0", "0.40", "-1"),  # negative
            ("0", "1", "0.55", "0"),  # zero size
            ("0", "2", "0.45", "-2"),  # negative trade
            ("1", "0", "0.40", "11"),  # fine
        )
    )
    assert reasons(updates) == [
        "delete_absent",
        "change_absent",
        "new_present",
        "negative_size",
        "zero_size",
        "negative_size",
    ]
    assert all(
        isinstance(i, BookInconsistency) and i.symbol == "S" for i in updates.inconsistencies
    )
    assert str(updates.inconsistencies[0]) == "S: delete_absent: DELETE bid 0 @ 0.30 (skipped)"
    assert book.bids.as_dict() == {D("0.40"): D("11")} and book.offers.as_dict() == {
        D("0.50"): D("3")
    }
    assert not book.consistent and updates.symbols == ["S"]
    books.apply(snap(("0", "0.40", "10")))
    assert book.consistent


def test_crossed_and_locked_books_are_reported_not_fixed() -> None:
    books = Books()
    books.apply(snap(("0", "0.40", "10"), ("1", "0.50", "3")))
    updates = books.apply(inc(("0", "0", "0.50", "1")))
    assert reasons(updates) == ["locked"] and books["S"].best_bid() == Level(D("0.50"), D("1"))
    updates = books.apply(inc(("0", "0", "0.55", "1")))
    assert reasons(updates) == ["crossed"] and books["S"].is_crossed_or_locked()
    # a message crossing mid-way and uncrossing by its end is fine
    books.apply(snap(("0", "0.40", "10"), ("1", "0.50", "3")))
    updates = books.apply(
        inc(("0", "0", "0.52", "1"), ("2", "1", "0.50", "0"), ("0", "1", "0.60", "1"))
    )
    assert reasons(updates) == [] and books["S"].consistent
    updates = books.apply(
        snap(("0", "0.60", "1"), ("1", "0.50", "1"), ("1", "0.50", "2"), ("0", "0.1", "0"))
    )
    assert reasons(updates) == ["duplicate_level", "zero_size", "crossed"]
    assert books["S"].offers.as_dict() == {D("0.50"): D("2")}


def test_legacy_actions_accept_the_pre_june_feed() -> None:
    books = Books(legacy_actions=True)
    books.apply(snap())
    updates = books.apply(
        inc(("1", "0", "0.40", "5"), ("1", "1", "0.50", "2"), ("1", "0", "0.40", "0"))
    )
    assert reasons(updates) == [] and books["S"].top() == (None, Level(D("0.50"), D("2")))


def test_kalshi_fix_md_and_benchmarks_use_the_result_as_before() -> None:
    books = Books()
    assert [s for s in books.apply(snap(("0", "0.40", "1"), symbol="A"))] == ["A"]
    assert "A" in books.apply(inc(("1", "0", "0.40", "2"), symbol="A"))
    assert sum(len(b.bids) + len(b.offers) for b in books) == 1


def test_docs_example_runs_and_prints_what_the_page_says() -> None:
    text = (ROOT / "docs" / "book.md").read_text()
    found = re.search(r"```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```", text, re.S)
    assert found is not None
    code, expected = found.groups()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/book.md", "exec"), {})
    assert out.getvalue() == expected


# -- properties ----------------------------------------------------------------------------------

TICKS = [D(i) / 100 for i in range(1, 100)]
SIZES = st.integers(1, 500).map(lambda i: D(i) / 100)


@st.composite
def feeds(draw: Any) -> tuple[list[tuple[str, str, D, D]], list[list[tuple[str, str, D, D]]]]:
    """A consistent snapshot then messages: never crossed after any entry, always applicable."""
    model: dict[str, dict[D, D]] = {"0": {}, "1": {}}

    def free(side: str) -> list[D]:
        best_offer = min(model["1"], default=D(1))
        best_bid = max(model["0"], default=D(0))
        if side == "0":
            return [t for t in TICKS if t < best_offer and t not in model["0"]]
        return [t for t in TICKS if t > best_bid and t not in model["1"]]

    snapshot = []
    for _ in range(draw(st.integers(0, 8))):
        side = draw(st.sampled_from("01"))
        options = free(side)
        if options:
            px, size = draw(st.sampled_from(options)), draw(SIZES)
            model[side][px] = size
            snapshot.append(("", side, px, size))
    messages = []
    for _ in range(draw(st.integers(1, 12))):
        entries = []
        for _ in range(draw(st.integers(1, 4))):
            op = draw(st.sampled_from(["new", "change", "delete", "trade"]))
            side = draw(st.sampled_from("01"))
            if op == "new" and free(side):
                px, size = draw(st.sampled_from(free(side))), draw(SIZES)
                model[side][px] = size
                entries.append(("0", side, px, size))
            elif op in ("change", "delete") and model[side]:
                px = draw(st.sampled_from(sorted(model[side])))
                if op == "change":
                    model[side][px] = size = draw(SIZES)
                    entries.append(("1", side, px, size))
                else:
                    del model[side][px]
                    entries.append(("2", side, px, D(0)))
            else:
                entries.append(("0", "2", draw(st.sampled_from(TICKS)), draw(SIZES)))
        messages.append(entries)
    return snapshot, messages


def _message(entries: list[tuple[str, str, D, D]]) -> Any:
    return p.MarketDataIncrementalRefresh(
        md_entries=[
            p.MarketDataIncrementalRefreshMDEntry(
                md_update_action=p.MDUpdateAction(a),
                symbol="S",
                md_entry_type=p.MDEntryType(t),
                md_entry_px=px,
                md_entry_size=sz,
            )
            for a, t, px, sz in entries
        ]
    )


def _snapshot(levels: list[tuple[str, str, D, D]]) -> Any:
    return p.MarketDataSnapshotFullRefresh(
        symbol="S",
        md_entries=[
            p.MarketDataSnapshotFullRefreshMDEntry(
                md_entry_type=p.MDEntryType(t), md_entry_px=px, md_entry_size=sz
            )
            for _, t, px, sz in levels
        ],
    )


def _assert_same(book: Book, naive: dict[str, dict[D, D]]) -> None:
    assert book.bids.as_dict() == naive["0"] and book.offers.as_dict() == naive["1"]
    assert book.bids.depth() == [Level(x, naive["0"][x]) for x in sorted(naive["0"], reverse=True)]
    assert book.offers.depth(3) == [Level(x, naive["1"][x]) for x in sorted(naive["1"])][:3]
    bid, offer = book.top()
    assert (bid and bid.price) == max(naive["0"], default=None)
    assert (offer and offer.price) == min(naive["1"], default=None)
    no_bid = book.no_view().best_bid()
    assert (no_bid and no_bid.price) == (None if offer is None else 1 - offer.price)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds(), st.integers(1, 5))
def test_a_consistent_feed_never_crosses_and_equals_a_naive_rebuild(
    feed: tuple[list[Any], list[Any]], max_trades: int
) -> None:
    snapshot, messages = feed
    books = Books(max_trades=max_trades)
    naive: dict[str, dict[D, D]] = {"0": {}, "1": {}}
    trades: list[tuple[D, D]] = []
    for _, side, px, size in snapshot:
        naive[side][px] = size
    assert books.apply(_snapshot(snapshot)).inconsistencies == []
    book = books["S"]
    _assert_same(book, naive)
    for entries in messages:
        updates = books.apply(_message(entries))
        assert updates.inconsistencies == [] and updates.symbols == ["S"]
        for action, side, px, size in entries:
            if side == "2":
                trades.append((px, size))
            elif action == "2":
                del naive[side][px]
            else:
                naive[side][px] = size
        assert not book.is_crossed_or_locked() and book.consistent
        _assert_same(book, naive)
        assert [(t.price, t.size) for t in book.trades] == trades[-max_trades:]


@settings(max_examples=100, deadline=None)
@given(feeds(), st.sampled_from(["delete", "change", "negative", "new_present"]), st.data())
def test_impossible_updates_are_always_reported(
    feed: tuple[list[Any], list[Any]], kind: str, data: st.DataObject
) -> None:
    snapshot, messages = feed
    books = Books()
    books.apply(_snapshot(snapshot))
    for entries in messages:
        books.apply(_message(entries))
    book = books["S"]
    side = data.draw(st.sampled_from("01"))
    levels = book.bids if side == "0" else book.offers
    before = (book.bids.as_dict(), book.offers.as_dict())
    if kind in ("delete", "change"):
        px = data.draw(st.sampled_from([t for t in TICKS if t not in levels]))
        entry = ("2" if kind == "delete" else "1", side, px, D(1))
        expected = R.DELETE_ABSENT if kind == "delete" else R.CHANGE_ABSENT
    elif kind == "negative":
        px = data.draw(st.sampled_from(TICKS))
        entry, expected = ("0", side, px, D(-1)), R.NEGATIVE_SIZE
    else:
        if not len(levels):
            return
        px = data.draw(st.sampled_from(list(levels)))
        entry, expected = ("0", side, px, D(1)), R.NEW_PRESENT
    updates = books.apply(_message([entry]))
    assert [i.reason for i in updates.inconsistencies] == [expected]
    assert (book.bids.as_dict(), book.offers.as_dict()) == before and not book.consistent
