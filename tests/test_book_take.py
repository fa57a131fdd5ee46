# private: the desk's walk against the codec's remembered layouts (`_fields`, `_generated`)
"""`Books._take` (the client desk's apply, from the private module `trading._bookfeed`) held to
`Books.apply`'s general path.

A 35=X that `Codec.decode_clean` made (the private codec `_generated.<dialect>._CODEC`, whose
remembered layouts give each entry's places, `_fields.Layout.levels`) is read by `_take` from its
fields straight into the books; every entry that does not apply cleanly goes to `Books._entry`.
The same messages read as plain objects (every entry through its attributes, `_entry` alone)
must leave the same books: levels, trades (kept raw, made when read), own-order entries and
`Book.consistent`, on clean, crossed, deleted, unknown-level, unknown-code, before-snapshot and
bad-value entries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_book_fast import HDR, SYMBOLS, decoded, entry, entry_fields, plain_view, snapshot, state

from kalshi_fix_sansio import Books, DecodeError
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec._generated import margin as gm
from kalshi_fix_sansio.codec._generated import prediction as gp

CODECS = {p: gp._CODEC, m: gm._CODEC}


def clean(d: Any, message: Any) -> Any:
    """``message`` as the session reads it: `decode_clean`'s (its layout remembered, its
    pattern made), else decoded as usual (a frame `decode_clean` does not take)."""
    codec = CODECS[d]
    frame = d.encode(message, HDR, use_dollars=True)
    for _ in range(3):  # remembered, then its places, then its pattern
        if codec.decode(frame, True, False, True).check():
            break
    got = codec.decode_clean(frame, True, None)
    return got if got is not None else d.decode(frame, use_dollars=True)


def books_of(d: Any, legacy: bool) -> Books:
    books = Books(legacy_actions=legacy)
    books.apply(decoded(d, snapshot(d, SYMBOLS[0])))  # SYMBOLS[1]: no snapshot
    return books


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dialect=st.sampled_from([p, m]),
    legacy=st.booleans(),
    messages=st.lists(st.lists(entry_fields, min_size=1, max_size=4), min_size=1, max_size=8),
    own=st.booleans(),
)
def test_the_desk_s_walk_leaves_the_books_apply_leaves(
    dialect: Any, legacy: bool, messages: list[list[dict[str, Any]]], own: bool
) -> None:
    """The same 35=X messages, clean (`_take`'s walk) and as plain objects (every entry read
    through its attributes by `apply`): the same books after each message. ``own``: entries
    of your orders among them (a message with one is not the walk's)."""
    fast, careful = books_of(dialect, legacy), books_of(dialect, legacy)
    for fields in messages:
        if not own:
            fields = [{**f, "own": False} for f in fields]
        built = dialect.MarketDataIncrementalRefresh(md_entries=[entry(dialect, f) for f in fields])
        msg = clean(dialect, built)
        fast._take(msg)
        careful.apply(plain_view(msg))
        assert state(fast) == state(careful)


def level(action: str, kind: str, px: str, size: str, symbol: str = SYMBOLS[0]) -> dict[str, Any]:
    return {
        "md_update_action": action,
        "symbol": symbol,
        "md_entry_type": kind,
        "md_entry_px": px,
        "md_entry_size": size,
        "ms": 1,
        "own": False,
    }


# Each case: a 35=X's entries, what `_take` must leave as `apply` leaves it
CASES = {
    "clean": [level("1", "0", "0.3000", "4.00"), level("0", "1", "0.6500", "2.00")],
    "trade": [level("0", "2", "0.4500", "3.00"), level("2", "0", "0.3100", "0")],
    "crossed": [level("0", "0", "0.6500", "1.00")],
    "locked": [level("0", "1", "0.3100", "1.00")],
    "deleted": [level("2", "1", "0.6000", "0"), level("2", "1", "0.6000", "0")],
    "unknown level": [level("1", "0", "0.4400", "1.00"), level("1", "1", "0.6000", "5.00")],
    "new present": [level("0", "0", "0.3000", "1.00")],
    "zero size": [level("0", "0", "0.3300", "0")],
    "negative trade": [level("0", "2", "0.4500", "-1")],
    "before snapshot": [level("0", "0", "0.3000", "1.00", SYMBOLS[1])],
}


@pytest.mark.parametrize("dialect", [p, m])
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_kind_of_entry_leaves_the_books_apply_leaves(dialect: Any, case: str) -> None:
    fields = CASES[case]
    built = dialect.MarketDataIncrementalRefresh(md_entries=[entry(dialect, f) for f in fields])
    msg = clean(dialect, built)
    fast, careful = books_of(dialect, False), books_of(dialect, False)
    fast._take(msg)
    assert msg._src.checked and msg._src.layout.levels  # the walk's message
    want = careful.apply(plain_view(msg))
    assert state(fast) == state(careful)
    # a book reported is left inconsistent; the clean cases report nothing
    reported = any(problem.symbol == SYMBOLS[0] for problem in want.inconsistencies)
    assert fast[SYMBOLS[0]].consistent is not reported
    assert reported is (case not in ("clean", "trade", "before snapshot"))


def test_trades_are_kept_raw_and_made_when_read() -> None:
    msg = clean(p, p.MarketDataIncrementalRefresh(md_entries=[entry(p, CASES["trade"][0])]))
    books = books_of(p, False)
    books._take(msg)
    book = books[SYMBOLS[0]]
    assert book._owed is not None and len(book._owed) == 1 and not book._trades
    careful = books_of(p, False)
    careful.apply(plain_view(msg))
    assert list(book.trades) == list(careful[SYMBOLS[0]].trades) and not book._owed


def outcome(books: Books, run: str, msg: Any) -> Any:
    """What ``books.<run>(msg)`` does: the error it raises, or the books it leaves."""
    try:
        getattr(books, run)(msg)
    except DecodeError as error:
        return str(error)
    return state(books)


@pytest.mark.parametrize("bad", [b"270", b"271"])
def test_a_value_that_does_not_convert_does_what_it_does_in_apply(bad: bytes) -> None:
    """A clean message whose price or size is made one that does not convert (after its
    check: the walk's guard), in its second entry: `_take` hands that entry to `_entry`, which
    reads it as `apply` does (the same report or the same error), the first entry applied."""
    fields = [level("1", "0", "0.3000", "4.00"), level("1", "0", "0.3100", "2.00")]
    built = p.MarketDataIncrementalRefresh(md_entries=[entry(p, f) for f in fields])
    got = []
    for run in ("_take", "apply"):
        msg = clean(p, built)
        flat = msg._src.flat
        flat[len(flat) - 1 - flat[::-1].index(bad) + 1] = b"0.3x"  # the last entry's
        got.append(outcome(books_of(p, False), run, msg))
    assert got[0] == got[1]
    bids = {level.price: level.size for level in got[0][0][1][0]}
    assert bids[Decimal("0.3000")] == 4  # the first entry applied
