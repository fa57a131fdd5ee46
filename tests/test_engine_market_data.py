"""The mock gateway's market data costs nothing for markets nobody subscribes to (issue 25).

What subscribers receive does not change: a market traded while nobody watched is whole in the
snapshot of a later subscriber, and its next incremental refresh is relative to that book.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal as D
from typing import Any

import pytest
from engine_helpers import SYM, T0, cxl, md_req, nos, of

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import Exchange, Outbound

OTHER = "KXTEST-26JUN15-T60"
BUY, SELL = p.Side.BUY, p.Side.SELL


class Built:
    """Counts the 35=X entries the exchange builds (one per level or trade entry it sends a
    subscriber); otherwise the entry class itself."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.real(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Built:
    spy = Built(p.MarketDataIncrementalRefreshMDEntry)
    monkeypatch.setattr(p, "MarketDataIncrementalRefreshMDEntry", spy)
    return spy


def refreshes(out: Sequence[Outbound], session: str) -> list[Any]:
    return of(out, p.MarketDataIncrementalRefresh, session)


def levels(entries: Sequence[Any]) -> list[tuple[str, D, D]]:
    return [(e.md_entry_type.value, e.md_entry_px, e.md_entry_size) for e in entries]


@pytest.fixture
def ex() -> Exchange:
    """Two markets, alice (a) and bob (b) on order entry, carol (md) on market data."""
    ex = Exchange(seed=1)
    ex.seed_market(SYM, now=T0)
    ex.seed_market(OTHER, now=T0)
    ex.connect("a", "alice", "KalshiNR", now=T0)
    ex.connect("b", "bob", "KalshiNR", now=T0)
    ex.connect("md", "carol", "KalshiMD", now=T0)
    return ex


def trade_in(ex: Exchange, symbol: str, tag: str) -> list[Outbound]:
    """Rest, cross, cancel: every kind of book change (new level, trade, change, delete)."""
    out = ex.handle("a", nos(f"{tag}1", SELL, 5, "0.60", symbol), T0)
    out += ex.handle("a", nos(f"{tag}2", BUY, 3, "0.40", symbol), T0)
    out += ex.handle("b", nos(f"{tag}3", BUY, 2, "0.60", symbol), T0)
    out += ex.handle("a", cxl(f"{tag}4", f"{tag}2", BUY, symbol), T0)
    return out


def test_nothing_is_built_for_a_market_nobody_subscribes_to(ex: Exchange, built: Built) -> None:
    out = trade_in(ex, SYM, "x")
    assert all(not isinstance(o.message, p.MarketDataIncrementalRefresh) for o in out)
    assert built.calls == 0
    # a subscriber to another market does not make this one's changes worth building
    ex.handle("md", md_req("1", OTHER), T0)
    trade_in(ex, SYM, "y")
    assert built.calls == 0
    # ... while that market's own changes reach it
    out = trade_in(ex, OTHER, "z")
    assert built.calls > 0 and len(refreshes(out, "md")) == 4
    # unsubscribed again: nothing is built any more
    ex.handle("md", md_req("2"), T0)
    before = built.calls
    trade_in(ex, OTHER, "w")
    assert built.calls == before


def test_a_later_subscriber_gets_the_whole_book_and_changes_relative_to_it(
    ex: Exchange, built: Built
) -> None:
    trade_in(ex, SYM, "x")  # nobody watches: asks 0.60 x 3 remain
    ex.handle("a", nos("r1", BUY, 4, "0.45"), T0)
    ex.handle("b", nos("r2", BUY, 1, "0.45"), T0)
    assert built.calls == 0
    out = ex.handle("md", md_req("1", SYM), T0)
    (snap,) = of(out, p.MarketDataSnapshotFullRefresh, "md")
    assert levels(snap.md_entries) == [("0", D("0.45"), D(5)), ("1", D("0.60"), D(3))]
    out = ex.handle("b", nos("r3", SELL, 2, "0.45"), T0)  # trades 2 against alice's 0.45
    (refresh,) = refreshes(out, "md")
    trade, change = refresh.md_entries
    assert (trade.md_entry_type, trade.md_entry_px, trade.md_entry_size) == (
        p.MDEntryType.TRADE,
        D("0.45"),
        2,
    )
    assert (change.md_update_action, change.md_entry_px, change.md_entry_size) == (
        p.MDUpdateAction.CHANGE,
        D("0.45"),
        3,
    )
    out = ex.handle("a", cxl("r4", "x1", SELL), T0)  # the ask placed while nobody watched
    (refresh,) = refreshes(out, "md")
    (gone,) = refresh.md_entries
    assert (gone.md_update_action, gone.md_entry_px, gone.md_entry_size) == (
        p.MDUpdateAction.DELETE,
        D("0.60"),
        0,
    )
