"""The client desk's apply of market data to its books (`BookFeeding._take`, which `book.Books`
inherits; private).

The desk applies every 35=W and 35=X of a market-data session to its `Books` and reads nothing
of the `BookUpdates` (`OrderDesk.apply <kalshi_fix_sansio.client._desk.OrderDesk.apply>`). A
35=X that `Codec.decode_clean` made, of a remembered layout of plain level changes
(`Layout.levels`: each entry's five values at the same places in every message of it), is read
from its fields straight into the books: each entry's values read and applied in one walk, with
no tuple per entry, no typed entry and no `BookUpdates`, its trades kept as raw values until
`Book.trades` is read. Every other message takes `Books.apply`, and every other entry of such a
message (a symbol without a book or its snapshot, a change that does not apply cleanly, a code
the walk does not know, a value that does not convert) `Books._entry`, which reads, checks and
reports each field as `apply` does: the books end as `apply` leaves them.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..codec import LEVEL_NUMBERS, WALK_ERRORS, Entries, level_places
from ..codec import trade_values as _trade_values
from ._booktrades import Trade
from ._booktrades import trade_of as _trade_of

_ZERO = Decimal(0)
# a 35=X entry's MDEntryType and MDUpdateAction as they are on the wire (their plain forms)
_BID, _OFFER, _TRADE = b"0", b"1", b"2"
_NEW, _CHANGE, _DELETE = b"0", b"1", b"2"
# A 35=X of more entries than this takes `Books.apply`, which defers the sides it changes (as
# `book._DEFER_ENTRIES` says)
_MOST = 64


class BookFeeding:
    """`Books`' apply for a reader of the books alone (`_take`); `Books` sets the attributes
    (typed here as `Any`: this module names nothing of `book`, which imports it)."""

    _books: dict[str, Any]
    _legacy: bool

    if TYPE_CHECKING:  # the `Books`'

        def apply(self, message: Any) -> Any: ...

        def _entry(self, e: Any, updates: Any, done: None) -> None: ...

        @staticmethod
        def _updates() -> Any: ...

        @staticmethod
        def _check_cross(book: Any, problems: list[Any]) -> None: ...

    def _take(self, message: Any) -> None:
        """`apply` for a caller that does not read its `BookUpdates` (the client's desk): the
        books (levels, trades, own-order entries, `Book.consistent`) end as `apply` leaves them,
        and a value that does not convert raises as it raises there. A clean 35=X of plain
        level changes is read from its fields into the books in one walk; a trade of a book
        with its snapshot is kept as its raw values (``(px, size, message, k)``, `Book.defer_trades`),
        made the `Trade` that `apply` makes when `Book.trades` is read (`_owed_trade`)."""
        src: Any = getattr(message, "_src", None)
        layout: Any = None if src is None or not src.checked or self._legacy else src.layout
        places: Any = None if layout is None else layout.levels
        if places is None and layout is not None and message.MSG_TYPE == "X":
            places = level_places(message)  # once per layout
        if not places or len(places) > _MOST:  # None, False: not such a message
            self.apply(message)
            return
        flat = src.flat
        number_of, number_dec = LEVEL_NUMBERS[layout.cls]
        books = self._books
        touched: list[Any] = []
        updates: Any = None
        entries: Any = None
        k = -1
        for a, s, t, p, z in places:
            k += 1
            # a value that does not convert: the entry read as `apply` reads it (it raises)
            try:
                px = number_of(r := flat[p])  # (a zero is falsy: tested against None)
                if px is None:
                    px = number_dec(r)
                size = number_of(r := flat[z])
                if size is None:
                    size = number_dec(r)
                book = books.get(flat[s].decode())
            except WALK_ERRORS:
                book = None
            if book is not None and book.has_snapshot:
                kind = flat[t]
                if kind == _TRADE:
                    if size >= _ZERO:  # (a negative size: reported by `_entry`)
                        owed = book._owed
                        if owed is None:
                            owed = book.defer_trades(_owed_trade)
                        owed.append((px, size, message, k))
                        if book not in touched:
                            touched.append(book)
                        continue
                elif kind == _BID or kind == _OFFER:
                    side = book.bids if kind == _BID else book.offers
                    sizes = side._sizes
                    action = flat[a]
                    if action == _CHANGE:
                        fast = size > _ZERO and px in sizes
                        if fast:
                            sizes[px] = size
                    elif action == _NEW:
                        fast = size > _ZERO and px not in sizes
                        if fast:
                            insort(side._prices, px)
                            sizes[px] = size
                    elif action == _DELETE:
                        fast = px in sizes
                        if fast:
                            del sizes[px]
                            prices = side._prices
                            del prices[bisect_left(prices, px)]
                    else:
                        fast = False
                    if fast:
                        book._top = None  # the side written in place: `Book.top` read again
                        if book not in touched:
                            touched.append(book)
                        continue
            # every other entry: read, checked and reported field by field, as `apply` does
            if updates is None:
                updates = self._updates()
                entries = typed_entries(message)
            self._entry(entries[k], updates, None)
        # after the message: a book it left crossed or locked is reported (as `apply` does)
        problems = [] if updates is None else updates.inconsistencies
        if updates is not None:
            for symbol in updates.symbols:
                if books[symbol] not in touched:
                    touched.append(books[symbol])
        for book in touched:
            bids, offers = book.bids._prices, book.offers._prices  # ascending: best bid last
            if bids and offers and bids[-1] >= offers[0]:
                self._check_cross(book, problems)


def _owed_trade(symbol: str, value: tuple[Decimal, Decimal, Any, int]) -> Trade:
    """The `Trade` of the ``k``-th entry of a 35=X kept by `BookFeeding._take` as ``(px, size,
    message, k)``: the one `Books.apply` makes of it (`trade_values`, then `trade_of`)."""
    px, size, message, k = value
    extra = _trade_values(message, k)
    assert extra is not None  # `decode_clean`'s message: every value converts
    return _trade_of(symbol, px, size, *extra)


def typed_entries(message: Any) -> tuple[Any, ...] | None:
    """A 35=X's entries, typed, as a tuple (None: it has no group)."""
    entries = message.md_entries
    if entries is None or entries.__class__ is tuple:  # a group of one entry: a tuple already
        return entries
    return entries.as_tuple() if entries.__class__ is Entries else tuple(entries)
