"""An order book kept from KalshiMD market data (35=W snapshots, 35=X incrementals).

Kalshi's market data is aggregated by price level: a snapshot lists every level of a symbol; an
incremental entry says NEW / CHANGE / DELETE for one level, or reports a TRADE. Prices are
dollars (`Decimal`) in both products.

    books = Books()
    for event in session.events():
        if isinstance(event, ApplicationMessage):
            for symbol in books.apply(event.message):
                print(symbol, books[symbol].top())
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs

_BID = "0"
_OFFER = "1"
_TRADE = "2"
_NEW, _CHANGE, _DELETE = "0", "1", "2"


def _code(value: Any) -> str:
    return str(value.value if hasattr(value, "value") else value)


@attrs.frozen(slots=True)
class Level:
    """One aggregated price level."""

    price: Decimal
    size: Decimal


@attrs.define
class Book:
    """The levels of one symbol and its last trade.

    Attributes:
        symbol: the market ticker.
        bids: price -> size.
        offers: price -> size.
        last_trade: (price, size) of the last trade seen, if any.
    """

    symbol: str
    bids: dict[Decimal, Decimal] = attrs.field(factory=dict)
    offers: dict[Decimal, Decimal] = attrs.field(factory=dict)
    last_trade: Level | None = None

    def best_bid(self) -> Level | None:
        """The highest bid level."""
        if not self.bids:
            return None
        price = max(self.bids)
        return Level(price, self.bids[price])

    def best_offer(self) -> Level | None:
        """The lowest offer level."""
        if not self.offers:
            return None
        price = min(self.offers)
        return Level(price, self.offers[price])

    def top(self) -> tuple[Level | None, Level | None]:
        """(best bid, best offer)."""
        return self.best_bid(), self.best_offer()

    def __str__(self) -> str:
        bid, offer = self.top()
        b = f"{bid.size} @ {bid.price}" if bid else "-"
        o = f"{offer.size} @ {offer.price}" if offer else "-"
        return f"{self.symbol}: bid {b} | ask {o}"


class Books:
    """Books of every symbol seen, updated from decoded market-data messages."""

    def __init__(self) -> None:
        self._books: dict[str, Book] = {}

    def __getitem__(self, symbol: str) -> Book:
        return self._books[symbol]

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._books

    def __iter__(self) -> Iterator[Book]:
        return iter(self._books.values())

    def book(self, symbol: str) -> Book:
        """The book of ``symbol`` (created empty when first asked for)."""
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = Book(symbol)
        return book

    def apply(self, message: Any) -> list[str]:
        """Apply a snapshot (35=W) or incremental (35=X); other messages are ignored.

        Args:
            message: a decoded message of either dialect.

        Returns:
            The symbols whose book changed.
        """
        msg_type = getattr(message, "MSG_TYPE", "")
        if msg_type == "W":
            book = self.book(message.symbol)
            book.bids.clear()
            book.offers.clear()
            for e in message.md_entries or ():
                side = book.bids if _code(e.md_entry_type) == _BID else book.offers
                if e.md_entry_size:
                    side[e.md_entry_px] = e.md_entry_size
            return [book.symbol]
        if msg_type != "X":
            return []
        changed: list[str] = []
        for e in message.md_entries or ():
            if e.symbol is None:
                continue
            book = self.book(e.symbol)
            kind = _code(e.md_entry_type)
            if kind == _TRADE:
                book.last_trade = Level(e.md_entry_px, e.md_entry_size)
            else:
                side = book.bids if kind == _BID else book.offers
                action = _code(e.md_update_action)
                if action == _DELETE or not e.md_entry_size:
                    side.pop(e.md_entry_px, None)
                else:
                    side[e.md_entry_px] = e.md_entry_size
            if book.symbol not in changed:
                changed.append(book.symbol)
        return changed
