"""Order books kept from KalshiMD market data (35=W snapshots, 35=X incrementals).

Sans-IO: a `Books` is fed decoded messages of either dialect and reads no clock. Kalshi's market
data is aggregated by price level: a snapshot lists every level of one symbol; an incremental entry
says NEW / CHANGE / DELETE for one level, or reports a TRADE. Prices are dollars (`Decimal`) in
both products, sizes contracts.

    books = Books()
    for event in session.events():
        if isinstance(event, ApplicationMessage):
            updates = books.apply(event.message)
            for symbol in updates.symbols:
                print(books[symbol])
            for problem in updates.inconsistencies:
                ...  # re-subscribe: books.reset(problem.symbol), then a new 263=1 request

Rules (see docs/book.md):

* a snapshot replaces the symbol's levels (own-order entries too; recent trades are kept);
* book entries of an incremental for a symbol that has no snapshot yet are ignored and reported
  (`InconsistencyReason.BEFORE_SNAPSHOT`): Kalshi sends the snapshot "immediately after a
  263=1 subscription is accepted" and market data has no sequence number to tell which
  incrementals a later snapshot already contains, so they cannot be buffered safely;
* impossible entries (DELETE / CHANGE of an absent level, NEW of a present one, a negative or zero
  size) are skipped and reported; a book left crossed or locked after a message is reported. A
  reported book stays ``consistent=False`` until its next snapshot. Nothing is fixed silently.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterator
from datetime import date, time
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

import attrs

from ..codec import level_changes as _level_changes
from ..codec import trade_values as _trade_values
from ._bookfeed import BookFeeding
from ._bookfeed import typed_entries as _typed
from ._booksides import BookSide, Level, NoBookSide, _level
from ._booktrades import Trade
from ._booktrades import code_of as _code
from ._booktrades import trade_of as _trade_of
from ._booktrades import trade_of_entry as _trade

__all__ = [
    "DEFAULT_MAX_OWN_ORDERS",
    "DEFAULT_MAX_TRADES",
    "Book",
    "BookInconsistency",
    "BookSide",
    "BookUpdates",
    "Books",
    "InconsistencyReason",
    "Level",
    "NoBook",
    "NoBookSide",
    "OwnOrderEntry",
    "Trade",
]

_BID = "0"
_OFFER = "1"
_TRADE = "2"
_NEW, _CHANGE, _DELETE = "0", "1", "2"
_ZERO = Decimal(0)

DEFAULT_MAX_TRADES = 100
"""How many recent trades a `Book` keeps unless told otherwise."""
DEFAULT_MAX_OWN_ORDERS = 100
"""How many recent own-order entries a `Book` keeps unless told otherwise."""

_new = object.__new__


@attrs.frozen(slots=True)
class OwnOrderEntry:
    """A book entry of a 35=X caused by one of **your** orders (it carries ClOrdID 11 / AllocAccount 79).

    Attributes:
        symbol: market ticker.
        side: ``"0"`` bid / ``"1"`` offer (MDEntryType).
        action: ``"0"`` new / ``"1"`` change / ``"2"`` delete (MDUpdateAction).
        price: level price, dollars.
        size: the level's new aggregated size (not your order's size).
        cl_ord_id: ClOrdID(11) of your order, when it had a client-specified one.
        alloc_account: AllocAccount(79): your subaccount, ``0`` = primary or non-numeric account.
        entry_date: MDEntryDate(272), if sent.
        entry_time: MDEntryTime(273), if sent.
    """

    symbol: str
    side: str
    action: str
    price: Decimal
    size: Decimal
    cl_ord_id: str | None
    alloc_account: int | None
    entry_date: date | None = None
    entry_time: time | None = None


class InconsistencyReason(str, enum.Enum):
    """Why a `BookInconsistency` was reported (`str()` is the value, e.g. ``"crossed"``)."""

    CROSSED = "crossed"
    """The best bid is above the best offer after a message."""
    LOCKED = "locked"
    """The best bid equals the best offer after a message."""
    DELETE_ABSENT = "delete_absent"
    """DELETE of a level the book does not have (skipped)."""
    CHANGE_ABSENT = "change_absent"
    """CHANGE of a level the book does not have (skipped; see ``Books(legacy_actions=True)``)."""
    NEW_PRESENT = "new_present"
    """NEW of a level the book already has (skipped)."""
    NEGATIVE_SIZE = "negative_size"
    """A level or trade with a negative size (skipped)."""
    ZERO_SIZE = "zero_size"
    """NEW / CHANGE / snapshot level of size 0 (skipped: an aggregated level has a size)."""
    DUPLICATE_LEVEL = "duplicate_level"
    """A snapshot listing one price twice on a side (the last one is kept)."""
    MALFORMED_ENTRY = "malformed_entry"
    """An entry without price, size, entry type or update action, or with unknown codes (skipped)."""
    BEFORE_SNAPSHOT = "before_snapshot"
    """Entries for a symbol with no snapshot since creation or `Books.reset` (ignored)."""

    def __str__(self) -> str:
        return self.value


@attrs.frozen(slots=True)
class BookInconsistency:
    """An event returned by `Books.apply`: market data that does not fit the book.

    Attributes:
        symbol: market ticker.
        reason: what is wrong.
        message: a sentence for a human (the entry and the state it met).
    """

    symbol: str
    reason: InconsistencyReason
    message: str

    def __str__(self) -> str:
        return f"{self.symbol}: {self.reason.value}: {self.message}"


@attrs.define(slots=True)
class BookUpdates:
    """What one `Books.apply` call did.

    Iterating it (or `len`, `bool`, ``in``) goes over `symbols`, so ``for symbol in
    books.apply(message)`` works as it did when ``apply`` returned a list.

    Attributes:
        symbols: symbols whose book (levels, trades or own entries) changed, in first-seen order.
        inconsistencies: problems found, in order; empty when everything applied cleanly.
        trades: trade entries of the message.
        own_orders: book entries of the message caused by your orders.
    """

    symbols: list[str] = attrs.field(factory=list)
    inconsistencies: list[BookInconsistency] = attrs.field(factory=list)
    trades: list[Trade] = attrs.field(factory=list)
    own_orders: list[OwnOrderEntry] = attrs.field(factory=list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.symbols)

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.symbols


class _Side(Protocol):
    def best(self) -> Level | None: ...
    def depth(self, n: int | None = None) -> list[Level]: ...


class _TwoSided:
    """Top-of-book and depth queries over a ``bids`` and an ``offers`` side (a book, or its No
    view)."""

    __slots__ = ()
    bids: _Side
    offers: _Side

    def best_bid(self) -> Level | None:
        """The highest bid level (on the No view: 1 - the lowest Yes offer)."""
        return self.bids.best()

    def best_offer(self) -> Level | None:
        """The lowest offer level (on the No view: 1 - the highest Yes bid)."""
        return self.offers.best()

    def top(self) -> tuple[Level | None, Level | None]:
        """(best bid, best offer)."""
        return self.bids.best(), self.offers.best()

    def depth(self, n: int | None = None) -> tuple[list[Level], list[Level]]:
        """(bids, offers): the best ``n`` levels of each side (all if None), best first."""
        return self.bids.depth(n), self.offers.depth(n)


class NoBook(_TwoSided):
    """A prediction book seen from the No side: a Yes bid at ``p`` is a No offer at ``1 - p``.

    A live view (it follows the Yes book); only meaningful for prediction markets.

    Attributes:
        bids: No bids (from the Yes offers).
        offers: No offers (from the Yes bids).
    """

    __slots__ = ("_book", "bids", "offers")
    bids: NoBookSide
    offers: NoBookSide

    def __init__(self, book: Book) -> None:
        self._book = book
        self.bids = NoBookSide(book.offers)
        self.offers = NoBookSide(book.bids)

    def __str__(self) -> str:
        return _top_text(f"{self._book.symbol} (No)", *self.top())


def _top_text(name: str, bid: Level | None, offer: Level | None) -> str:
    b = f"{bid.size} @ {bid.price}" if bid else "-"
    o = f"{offer.size} @ {offer.price}" if offer else "-"
    return f"{name}: bid {b} | ask {o}"


class Book(_TwoSided):
    """The aggregated levels of one symbol, its recent trades and your own-order entries.

    Attributes:
        symbol: the market ticker.
        bids: the bid side (Yes bids on prediction), best (highest) first.
        offers: the offer side, best (lowest) first.
        trades: recent trades, oldest first, at most ``max_trades``.
        own_orders: recent book entries caused by your orders, oldest first, bounded.
        has_snapshot: False until a snapshot arrives (then incrementals apply).
        consistent: False once an inconsistency was reported, until the next snapshot.
    """

    __slots__ = (
        "_made",
        "_owed",
        "_top",
        "_trades",
        "bids",
        "consistent",
        "has_snapshot",
        "offers",
        "own_orders",
        "symbol",
    )
    bids: BookSide
    offers: BookSide

    def __init__(
        self,
        symbol: str,
        *,
        max_trades: int = DEFAULT_MAX_TRADES,
        max_own_orders: int = DEFAULT_MAX_OWN_ORDERS,
    ) -> None:
        self.symbol = symbol
        self.bids = BookSide(bids=True)
        self.offers = BookSide(bids=False)
        # `top`'s answer, kept until a change of a side drops it (None: read it again)
        self._top: tuple[Level | None, Level | None] | None = None
        self.bids._owner = self.offers._owner = self
        self._trades: deque[Trade] = deque(maxlen=max_trades)
        # trades kept as plain values, made `Trade`s when `trades` is read (`defer_trades`)
        self._owed: deque[Any] | None = None
        self._made: Callable[[str, Any], Trade] | None = None
        self.own_orders: deque[OwnOrderEntry] = deque(maxlen=max_own_orders)
        self.has_snapshot = False
        self.consistent = True

    def top(self) -> tuple[Level | None, Level | None]:
        """(best bid, best offer): `BookSide.best` of each side, inline (a book-level strategy
        reads it at every wake): the same `Level` objects, each made again only when its side's
        best price or size changed. The answer is kept (``_top``) until a change of a side that
        can move its best drops it: `BookSide._set`, `_remove` and `_clear` through the side's
        owner, `BookSide.set` only for a change at or beyond a best, and each feed that writes a
        side's dict in place itself. tests/test_book_top.py holds `top` and each side's `best`
        together after every writer's change."""
        top = self._top
        if top is not None:
            return top
        bids, offers = self.bids, self.offers
        prices = bids._prices
        bid: Level | None = None
        if prices:
            price = prices[-1]  # ascending: the best bid last
            size = bids._sizes[price]
            bid = bids._best
            if bid is None or bid.price is not price or bid.size is not size:
                bid = bids._best = _level(price, size)
        prices = offers._prices
        offer: Level | None = None
        if prices:
            price = prices[0]
            size = offers._sizes[price]
            offer = offers._best
            if offer is None or offer.price is not price or offer.size is not size:
                offer = offers._best = _level(price, size)
        top = self._top = bid, offer
        return top

    @property
    def trades(self) -> deque[Trade]:
        """Recent trades, oldest first, at most ``max_trades``: up to date when read (trades
        received as plain values are made here), so read it again after each event rather than
        keeping the deque."""
        owed = self._owed
        if owed:
            made, symbol = self._made, self.symbol
            assert made is not None
            self._trades.extend([made(symbol, value) for value in owed])
            owed.clear()
        return self._trades

    def defer_trades(self, made: Callable[[str, Any], Trade]) -> deque[Any]:
        """Where a feed of the book's own keeps trades as plain values until `trades` is read,
        each then made a `Trade` by ``made(symbol, value)`` in the order kept (the client's
        desk and the simulator's book-level backtests: most trades are never read). Keeps as
        many as `trades` does; the first ``made`` given is the one used."""
        owed = self._owed
        if owed is None:
            owed = self._owed = deque(maxlen=self._trades.maxlen)
            self._made = made
        return owed

    @property
    def last_trade(self) -> Trade | None:
        """The most recent trade, if any."""
        return self.trades[-1] if self.trades else None

    def spread(self) -> Decimal | None:
        """Best offer - best bid, or ``None`` when a side is empty."""
        bid, offer = self.bids.best_price(), self.offers.best_price()
        return None if bid is None or offer is None else offer - bid

    def is_crossed_or_locked(self) -> bool:
        """True when the best bid is at or above the best offer."""
        bid, offer = self.bids.best_price(), self.offers.best_price()
        return bid is not None and offer is not None and bid >= offer

    def own_order(self, cl_ord_id: str) -> OwnOrderEntry | None:
        """The most recent kept own-order entry with this ClOrdID."""
        for entry in reversed(self.own_orders):
            if entry.cl_ord_id == cl_ord_id:
                return entry
        return None

    def no_view(self) -> NoBook:
        """This (prediction) book seen from the No side: Yes bid at p = No offer at 1 - p."""
        return NoBook(self)

    def __str__(self) -> str:
        return _top_text(self.symbol, *self.top())

    def __repr__(self) -> str:
        return f"<Book {self}>"


# A 35=X of more entries than this has the book sides it changes deferred (`BookSide._defer`)
_DEFER_ENTRIES = 64


class _Done(NamedTuple):
    """What one 35=X has done so far (`Books._incremental`)."""

    symbols: set[str]  # the symbols in `BookUpdates.symbols`
    before: set[str]  # the symbols reported before their snapshot (once a message each)
    deferred: list[BookSide]  # the sides deferred (`BookSide._defer`)


class Books(BookFeeding):
    """Books of every symbol seen, updated from decoded market-data messages.

    Args:
        max_trades: recent trades kept per symbol.
        max_own_orders: recent own-order entries kept per symbol.
        legacy_actions: accept the feed Kalshi sent before 2026-06-16, which had no NEW action: a
            CHANGE of an absent level creates it and a CHANGE to size 0 deletes it (instead of
            reporting them).
    """

    def __init__(
        self,
        *,
        max_trades: int = DEFAULT_MAX_TRADES,
        max_own_orders: int = DEFAULT_MAX_OWN_ORDERS,
        legacy_actions: bool = False,
    ) -> None:
        if max_trades < 0 or max_own_orders < 0:
            raise ValueError("max_trades and max_own_orders must be >= 0")
        self._books: dict[str, Book] = {}
        self._max_trades = max_trades
        self._max_own = max_own_orders
        self._legacy = legacy_actions

    def __getitem__(self, symbol: str) -> Book:
        return self._books[symbol]

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._books

    def __iter__(self) -> Iterator[Book]:
        return iter(self._books.values())

    def __len__(self) -> int:
        return len(self._books)

    def get(self, symbol: str) -> Book | None:
        """The book of ``symbol``, or ``None``."""
        return self._books.get(symbol)

    def book(self, symbol: str) -> Book:
        """The book of ``symbol`` (created empty, awaiting its snapshot, when first asked for)."""
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = Book(
                symbol, max_trades=self._max_trades, max_own_orders=self._max_own
            )
        return book

    def reset(self, symbol: str | None = None) -> None:
        """Forget ``symbol``'s book (every book when None): call it when (re)subscribing.

        Until the next snapshot, incrementals for it are ignored and reported.
        """
        if symbol is None:
            self._books.clear()
        else:
            self._books.pop(symbol, None)

    def apply(self, message: Any) -> BookUpdates:
        """Apply a snapshot (35=W) or incremental (35=X) of either dialect; others are ignored.

        Returns:
            The symbols changed, the inconsistencies found, the trades and own-order entries seen.
        """
        msg_type = getattr(message, "MSG_TYPE", "")
        updates = self._updates()
        if msg_type == "X":
            self._incremental(message, updates)
        elif msg_type == "W":
            self._snapshot(message, updates)
        return updates

    @staticmethod
    def _updates() -> BookUpdates:
        """``BookUpdates()`` without its call (four list factories)."""
        updates: BookUpdates = _new(BookUpdates)
        updates.symbols = []
        updates.inconsistencies = []
        updates.trades = []
        updates.own_orders = []
        return updates

    # -- internals --------------------------------------------------------------------------

    def _snapshot(self, message: Any, updates: BookUpdates) -> None:
        symbol = message.symbol
        if symbol is None:
            return
        book = self.book(symbol)
        bids, offers = book.bids, book.offers
        bids._clear()
        offers._clear()
        book.own_orders.clear()
        book.has_snapshot = True
        book.consistent = True
        problems = updates.inconsistencies
        # the levels into the price dicts, then each side's price list sorted once (inserted
        # one by one, levels listed best first would each move the whole list: quadratic)
        try:
            for e in message.md_entries or ():
                kind = _code(e.md_entry_type)
                px, size = e.md_entry_px, e.md_entry_size
                if kind not in (_BID, _OFFER) or px is None or size is None:
                    problems.append(
                        BookInconsistency(
                            symbol,
                            InconsistencyReason.MALFORMED_ENTRY,
                            f"snapshot entry type={kind} px={px} size={size} skipped",
                        )
                    )
                    continue
                sizes = bids._sizes if kind == _BID else offers._sizes
                if size <= 0:
                    reason = (
                        InconsistencyReason.NEGATIVE_SIZE
                        if size < 0
                        else InconsistencyReason.ZERO_SIZE
                    )
                    problems.append(
                        BookInconsistency(
                            symbol, reason, f"snapshot {_side_name(kind)} {size} @ {px} skipped"
                        )
                    )
                    continue
                if px in sizes:
                    problems.append(
                        BookInconsistency(
                            symbol,
                            InconsistencyReason.DUPLICATE_LEVEL,
                            f"snapshot lists {_side_name(kind)} {px} twice ({sizes[px]}, then "
                            f"{size})",
                        )
                    )
                sizes[px] = size
        finally:
            bids._prices = sorted(bids._sizes)
            offers._prices = sorted(offers._sizes)
        updates.symbols.append(symbol)
        self._check_cross(book, problems)
        if problems:
            book.consistent = False

    def _incremental(self, message: Any, updates: BookUpdates) -> None:
        """Apply a 35=X."""
        changed = updates.symbols
        problems = updates.inconsistencies
        books = self._books
        plain = not self._legacy
        # a decoded message of plain level changes: their values read once from its fields,
        # its entries typed only for one that does not apply cleanly (`_entry` reports it)
        rows = _level_changes(message) if plain and hasattr(message, "_src") else None
        entries: Any = None
        if rows is None:
            entries = _typed(message)
            if entries is None:
                return
            count = len(entries)
        else:
            count = len(rows)
        if count > _DEFER_ENTRIES:
            self._many(entries if entries is not None else _typed(message) or (), updates)
        else:
            # a few entries: what the message has done is looked up in short lists
            for k in range(count):
                # the common entry, inline: an entry whose values `level_values` gives (each
                # present and converted, none of your orders), for a level of a book that has its
                # snapshot, applying cleanly, or a trade of such a book; every other entry takes
                # `_entry`, which reads, checks and reports each field (and, on a value that does
                # not convert, raises as it would)
                values: tuple[str, Any, Any, Any, Any] | None
                if rows is not None:
                    values = rows[k]
                else:
                    try:
                        values = entries[k].level_values() if plain else None
                    except AttributeError:  # not a generated entry: its attributes, in `_entry`
                        values = None
                if values is not None:
                    symbol, kind, action, px, size = values
                    book = books.get(symbol)
                    if book is None or not book.has_snapshot:
                        pass  # `_entry` reports it
                    elif kind == _TRADE:
                        if size >= 0:  # a trade, as `_entry` reads it (a negative size: there)
                            # its other values read from the fields too (None: one does not
                            # convert, the typed entry's attributes name it)
                            extra = None if rows is None else _trade_values(message, k)
                            if extra is not None:
                                trade = _trade_of(symbol, px, size, *extra)
                            else:
                                if entries is None:
                                    entries = _typed(message)
                                trade = _trade(entries[k], symbol, px, size)
                            book.trades.append(trade)
                            updates.trades.append(trade)
                            if symbol not in changed:
                                changed.append(symbol)
                            continue
                    elif kind == _BID or kind == _OFFER:
                        side = book.bids if kind == _BID else book.offers
                        sizes = side._sizes
                        if action == _DELETE:
                            fast = px in sizes
                            if fast:
                                del sizes[px]
                                prices = side._prices
                                del prices[bisect_left(prices, px)]
                        elif action == _NEW:
                            fast = size > 0 and px not in sizes
                            if fast:
                                insort(side._prices, px)
                                sizes[px] = size
                        elif action == _CHANGE:
                            fast = size > 0 and px in sizes
                            if fast:
                                sizes[px] = size
                        else:
                            fast = False
                        if fast:
                            book._top = None  # the side written in place: `top` read again
                            if symbol not in changed:
                                changed.append(symbol)
                            continue
                if entries is None:
                    entries = _typed(message)
                self._entry(entries[k], updates, None)
        for symbol in changed:
            book = books[symbol]
            bids, offers = book.bids._prices, book.offers._prices  # ascending: best bid last
            if bids and offers and bids[-1] >= offers[0]:
                self._check_cross(book, problems)

    def _many(self, entries: tuple[Any, ...], updates: BookUpdates) -> None:
        """The entries of a 35=X of more than ``_DEFER_ENTRIES``: each through `_entry`, what
        the message has done looked up in one step, the sides they change deferred (their
        price lists put in order once at the end, not moved at each level)."""
        done = _Done(set(), set(), [])
        try:
            for e in entries:
                self._entry(e, updates, done)
        finally:
            for side in done.deferred:
                side._settle()

    def _entry(self, e: Any, updates: BookUpdates, done: _Done | None) -> None:
        """Apply one entry of a 35=X, whatever it holds: each field read (converted) when the
        entry's handling needs it, each problem reported. ``done``: what a message of many
        entries has done so far; None: the message has a few (`_entries`)."""
        symbol = e.symbol
        if symbol is None:
            return
        problems = updates.inconsistencies
        book = self._books.get(symbol)
        if book is None or not book.has_snapshot:
            # reported once a message and symbol
            if done is None:
                before = InconsistencyReason.BEFORE_SNAPSHOT
                first = not any(p.reason is before and p.symbol == symbol for p in problems)
            else:
                first = symbol not in done.before
                done.before.add(symbol)
            if first:
                problems.append(
                    BookInconsistency(
                        symbol,
                        InconsistencyReason.BEFORE_SNAPSHOT,
                        "incremental entries before the symbol's snapshot ignored",
                    )
                )
            return
        kind = _code(e.md_entry_type)
        px, size = e.md_entry_px, e.md_entry_size
        if px is None or size is None or kind not in (_BID, _OFFER, _TRADE):
            self._report(book, problems, InconsistencyReason.MALFORMED_ENTRY, e, "entry skipped")
            return
        if kind == _TRADE:
            if size < 0:
                self._report(book, problems, InconsistencyReason.NEGATIVE_SIZE, e, "skipped")
                return
            trade = _trade(e, symbol, px, size)
            book.trades.append(trade)
            updates.trades.append(trade)
        elif not self._level(
            book, kind, e, px, size, problems, None if done is None else done.deferred
        ):
            return
        elif e.cl_ord_id is not None or e.alloc_account is not None:
            own = OwnOrderEntry(
                symbol,
                kind,
                _code(e.md_update_action) or "",
                px,
                size,
                e.cl_ord_id,
                e.alloc_account,
                e.md_entry_date,
                e.md_entry_time,
            )
            book.own_orders.append(own)
            updates.own_orders.append(own)
        if done is None:
            if symbol not in updates.symbols:
                updates.symbols.append(symbol)
        elif symbol not in done.symbols:
            done.symbols.add(symbol)
            updates.symbols.append(symbol)

    def _level(
        self,
        book: Book,
        kind: str,
        e: Any,
        px: Decimal,
        size: Decimal,
        problems: list[BookInconsistency],
        deferred: list[BookSide] | None,
    ) -> bool:
        """Apply one book entry; False (and a report) when it cannot be applied. ``deferred``:
        the sides deferred so far (the side is deferred too), or None: none are."""
        side = book.bids if kind == _BID else book.offers
        if deferred is not None and side._added is None:
            side._defer()
            deferred.append(side)
        action = _code(e.md_update_action)
        present = px in side._sizes
        if action == _DELETE:
            if not present:
                self._report(book, problems, InconsistencyReason.DELETE_ABSENT, e, "skipped")
                return False
            side._remove(px)
            return True
        if action not in (_NEW, _CHANGE):
            self._report(book, problems, InconsistencyReason.MALFORMED_ENTRY, e, "skipped")
            return False
        if size < 0:
            self._report(book, problems, InconsistencyReason.NEGATIVE_SIZE, e, "skipped")
            return False
        if self._legacy and action == _CHANGE:
            if size:
                side._set(px, size)
                return True
            if present:
                side._remove(px)
                return True
        if size == 0:
            self._report(book, problems, InconsistencyReason.ZERO_SIZE, e, "skipped")
            return False
        if action == _NEW and present:
            self._report(book, problems, InconsistencyReason.NEW_PRESENT, e, "skipped")
            return False
        if action == _CHANGE and not present:
            self._report(book, problems, InconsistencyReason.CHANGE_ABSENT, e, "skipped")
            return False
        side._set(px, size)
        return True

    @staticmethod
    def _report(
        book: Book,
        problems: list[BookInconsistency],
        reason: InconsistencyReason,
        e: Any,
        what: str,
    ) -> None:
        book.consistent = False
        kind = _code(e.md_entry_type)
        action = _code(e.md_update_action)
        problems.append(
            BookInconsistency(
                book.symbol,
                reason,
                f"{_action_name(action)} {_side_name(kind)} {e.md_entry_size} @ {e.md_entry_px} "
                f"({what})",
            )
        )

    @staticmethod
    def _check_cross(book: Book, problems: list[BookInconsistency]) -> None:
        bids, offers = book.bids._prices, book.offers._prices  # ascending: best bid last
        if not bids or not offers or bids[-1] < offers[0]:
            return
        bid, offer = bids[-1], offers[0]
        book.consistent = False
        reason = InconsistencyReason.LOCKED if bid == offer else InconsistencyReason.CROSSED
        problems.append(
            BookInconsistency(book.symbol, reason, f"best bid {bid} >= best offer {offer}")
        )


def _side_name(kind: str | None) -> str:
    return {_BID: "bid", _OFFER: "offer", _TRADE: "trade"}.get(kind or "", f"type {kind}")


def _action_name(action: str | None) -> str:
    return {_NEW: "NEW", _CHANGE: "CHANGE", _DELETE: "DELETE"}.get(action or "", f"action {action}")
