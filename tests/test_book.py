"""Books kept from market-data snapshots and incrementals."""

from __future__ import annotations

from datetime import date, time, timezone
from decimal import Decimal as D

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.book import Books, Level

X = p.MarketDataIncrementalRefreshMDEntry
W = p.MarketDataSnapshotFullRefreshMDEntry
DAY, NOON = date(2026, 11, 20), time(12, tzinfo=timezone.utc)


def snap(*levels: tuple[str, str, str]) -> p.MarketDataSnapshotFullRefresh:
    return p.MarketDataSnapshotFullRefresh(symbol="S", md_entries=[
        W(md_entry_type=t, md_entry_px=D(px), md_entry_size=D(sz), md_entry_date=DAY, md_entry_time=NOON)
        for t, px, sz in levels
    ])


def inc(*entries: tuple[str, str, str, str]) -> p.MarketDataIncrementalRefresh:
    return p.MarketDataIncrementalRefresh(md_entries=[
        X(md_update_action=a, md_entry_type=t, symbol="S", md_entry_px=D(px), md_entry_size=D(sz))
        for a, t, px, sz in entries
    ])


def test_snapshot_then_incrementals_keep_the_top_of_book() -> None:
    books = Books()
    assert books.apply(snap(("0", "0.40", "10"), ("0", "0.39", "5"), ("1", "0.45", "7"))) == ["S"]
    assert books["S"].top() == (Level(D("0.40"), D("10")), Level(D("0.45"), D("7")))
    books.apply(inc(("0", "0", "0.41", "3"), ("2", "1", "0.45", "0"), ("0", "1", "0.46", "2")))
    assert books["S"].top() == (Level(D("0.41"), D("3")), Level(D("0.46"), D("2")))
    books.apply(inc(("1", "0", "0.41", "1"), ("0", "2", "0.41", "2")))
    assert books["S"].best_bid() == Level(D("0.41"), D("1"))
    assert books["S"].last_trade == Level(D("0.41"), D("2"))
    assert str(books["S"]) == "S: bid 1 @ 0.41 | ask 2 @ 0.46"


def test_a_new_snapshot_replaces_the_book_and_other_messages_are_ignored() -> None:
    books = Books()
    books.apply(snap(("0", "0.40", "10")))
    books.apply(snap(("1", "0.50", "1")))
    assert books["S"].top() == (None, Level(D("0.50"), D("1")))
    assert books.apply(p.Heartbeat()) == []
    assert "T" not in books and str(books.book("T")) == "T: bid - | ask -"
