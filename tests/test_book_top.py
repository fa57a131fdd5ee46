# private: the lane is switched off to hold `top` to the general wait too (`booklevel._lane`);
# the book module's deferral threshold lowered to take a short message through `_many`
"""`Book.top` is `BookSide.best` of each side: the same levels, the same objects, after every
change of every writer of a side, though `top` keeps its answer until a change drops it.

Private parts tested here: a book side's changes as the feeds make them (`BookSide._set`,
`_remove`, `_clear`, `_defer` and `_settle` around a message of many levels; the public
`BookSide.set` the book level writes with among them), the kept answer (`Book._top`), the
client desk's apply (`Books._take`, from the private module `trading._bookfeed`, with the
private codec `_generated.<dialect>._CODEC` through test_book_take's `clean`), the book
module's deferral threshold (`book._DEFER_ENTRIES`) and the book-level lane
(`simulator.backtests.booklevel._lane`, turned off for the general wait).
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_book_fast import SYMBOLS, decoded, entry, entry_fields, plain_view, snapshot
from test_book_take import clean

from kalshi_fix_sansio import Books
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.backtests import booklevel
from kalshi_fix_sansio.simulator.backtests.backtest import Context, run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
from kalshi_fix_sansio.trading import book as book_module
from kalshi_fix_sansio.trading.book import Book, Trade


def held(book: Book) -> None:
    """``book.top()`` is what each side's `best` gives, as the same objects, and what `top`
    reads afresh (its kept answer dropped); asked again, the same answer."""
    top = book.top()
    best = (book.bids.best(), book.offers.best())
    book._top = None
    fresh = book.top()
    assert top == best == fresh
    assert top[0] is best[0] is fresh[0] and top[1] is best[1] is fresh[1]
    again = book.top()
    assert again[0] is top[0] and again[1] is top[1]


@pytest.mark.parametrize("seed", range(8))
def test_top_is_each_sides_best(seed: int) -> None:
    """After each change of a random sequence (levels set, set by `BookSide.set` as the book
    level sets them, removed, sides emptied, many levels under `_defer`), with `top` read before each (its
    answer kept), `top` gives what ``(bids.best(), offers.best())`` gives, as the same objects;
    and a level given again while the best did not change is the one given before."""
    rng = random.Random(seed)
    book = Book("S")
    prices = [Decimal(f"0.{n:02d}") for n in range(1, 100)]
    sizes = [Decimal(n) for n in range(1, 30)] + [Decimal("5.00"), Decimal("5")]
    kept = 0
    for step in range(3000):
        bids = rng.random() < 0.5
        side = book.bids if bids else book.offers
        roll = rng.random()
        if step % 3:
            book.top()  # an answer kept before the change
        if roll < 0.3:
            side._set(rng.choice(prices), rng.choice(sizes))
        elif roll < 0.6:  # `BookSide.set`, the book level's writer (0: gone), any price
            size = rng.choice(sizes) if rng.random() < 0.8 else Decimal(0)
            side.set(rng.choice(prices), size)
        elif roll < 0.9 and side._sizes:
            side._remove(rng.choice(list(side._sizes)))
        elif roll < 0.95:
            side._defer()
            for _ in range(rng.randrange(1, 6)):
                if rng.random() < 0.7:
                    side._set(rng.choice(prices), rng.choice(sizes))
                else:  # `set` of a deferred side, a level set or gone
                    side.set(rng.choice(prices), rng.choice([*sizes, Decimal(0)]))
            side._settle()
        elif roll < 0.97:
            side._clear()
        kept += book._top is not None
        if step % 2:  # `top` first, then `best`
            held(book)
        else:  # `best` first, then `top`
            best = (book.bids.best(), book.offers.best())
            top = book.top()
            assert top[0] is best[0] and top[1] is best[1]
    assert kept > 300  # changes that leave the answer kept are among them


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dialect=st.sampled_from([p, m]),
    legacy=st.booleans(),
    messages=st.lists(st.lists(entry_fields, min_size=1, max_size=4), min_size=1, max_size=10),
    defer=st.booleans(),
)
def test_top_after_each_message_of_every_feed(
    dialect: Any, legacy: bool, messages: list[list[dict[str, Any]]], defer: bool
) -> None:
    """The same 35=X messages through each writer of `Books` (the decoded message's inline
    path of `apply`, the plain objects' `_entry`, the desk's `_take`, and with ``defer`` a
    long message's deferred sides, `_many`), with snapshots among them: `top` of every book,
    read before each message, is each side's `best` after it."""
    every = [Books(legacy_actions=legacy) for _ in range(3)]
    first = decoded(dialect, snapshot(dialect, SYMBOLS[0]))
    for books in every:
        books.apply(first)
    for n, fields in enumerate(messages):
        for books in every:
            for book in books:
                book.top()
        if n % 4 == 3:  # a snapshot again, of either market (the other's first)
            again = decoded(dialect, snapshot(dialect, SYMBOLS[n % 8 // 4]))
            for books in every:
                books.apply(again)
        else:
            built = dialect.MarketDataIncrementalRefresh(
                md_entries=[entry(dialect, {**f, "own": False}) for f in fields]
            )
            msg = clean(dialect, built)
            with pytest.MonkeyPatch.context() as patch:
                if defer:
                    patch.setattr(book_module, "_DEFER_ENTRIES", 0)
                every[0].apply(decoded(dialect, built))
                every[1].apply(plain_view(msg))
                every[2]._take(msg)
        for books in every:
            for book in books:
                held(book)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("top") / "plain.log"
    with path.open("w") as out:
        write_recording(out, messages=400, seed=5)
    return path


@pytest.mark.parametrize("how", ["lane", "general", "timer", "fix"])
def test_top_at_each_wake_of_a_backtest(
    recording: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A strategy that reads `top` of every book at every wake (so an answer is kept across
    each change), woken by both markets' changes through the book-level lane, through the
    general wait (the lane turned off: `BookWaker._apply_pending`, `pull`), by a timer, and at
    the FIX level (the desk's `_take`): `top` is each side's `best` at every wake."""
    if how == "general":
        monkeypatch.setattr(booklevel, "_lane", lambda *_args: iter(()))
    wakes: list[int] = []

    def strategy(ctx: Context) -> None:
        ctx.watch(ctx.symbols, wake=how != "timer")
        while ctx.wait(1.0 if how == "timer" else None) is not None:
            for book in ctx.books:
                held(book)
            wakes.append(1)

    run_backtest(strategy, recording, cache=False, mode="fix" if how == "fix" else "book")
    assert len(wakes) > 100


def test_set_is_a_level_set_or_gone_and_defer_trades_keeps_values() -> None:
    """`BookSide.set` sets a level (0: removes it; a price not there: nothing), keeping
    `top`'s answer where the change cannot move a best; `Book.defer_trades` keeps trades as
    values, made `Trade`s by the first ``made`` given when `trades` is read."""
    book = Book("S")
    bids, offers = book.bids, book.offers
    bids.set(Decimal("0.40"), Decimal("10"))
    offers.set(Decimal("0.45"), Decimal("3"))
    top = book.top()
    bids.set(Decimal("0.30"), Decimal("7"))  # below the best bid: the answer kept
    offers.set(Decimal("0.50"), Decimal("1"))  # above the best offer: kept
    assert book.top() is top and book.depth() == (bids.depth(), offers.depth())
    assert [(lv.price, lv.size) for lv in bids.depth()] == [
        (Decimal("0.40"), Decimal("10")),
        (Decimal("0.30"), Decimal("7")),
    ]
    bids.set(Decimal("0.40"), Decimal("0"))  # the best bid gone: the next one
    assert book.top() is not top and book.top()[0] == bids.best()
    assert bids.best() is not None and bids.best().price == Decimal("0.30")  # type: ignore[union-attr]
    bids.set(Decimal("0.20"), Decimal("0"))  # not there: nothing
    assert len(bids) == 1 and Decimal("0.20") not in bids
    held(book)

    def made(symbol: str, value: tuple[Decimal, Decimal]) -> Trade:
        return Trade(symbol, *value)

    def other(symbol: str, value: tuple[Decimal, Decimal]) -> Trade:
        return Trade("other", *value)

    owed = [(Decimal("0.41"), Decimal("2")), (Decimal("0.42"), Decimal("1"))]
    book.defer_trades(made).extend(owed)
    book.defer_trades(other).append((Decimal("0.43"), Decimal("5")))  # made: the first given
    assert [(t.symbol, t.price, t.size) for t in book.trades] == [
        ("S", Decimal("0.41"), Decimal("2")),
        ("S", Decimal("0.42"), Decimal("1")),
        ("S", Decimal("0.43"), Decimal("5")),
    ]
