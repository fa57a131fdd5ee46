"""One side of a book (`BookSide`: price -> aggregated size, best price first), its No view
(`NoBookSide`) and the `Level` they show: what `book.Book` keeps per side (the public names
are `kalshi_fix_sansio.trading.book`'s).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from decimal import Decimal
from typing import Protocol

import attrs

__all__ = ["BookSide", "Level", "NoBookSide"]

_ONE = Decimal(1)


class _Owner(Protocol):
    """The book a side belongs to (`book.Book`, which imports this module): what a change of
    the side drops."""

    _top: tuple[Level | None, Level | None] | None


@attrs.frozen(slots=True)
class Level:
    """One aggregated price level: price in dollars, size in contracts."""

    price: Decimal
    size: Decimal


_new = object.__new__
_SET_PRICE, _SET_SIZE = (vars(Level)[name].__set__ for name in ("price", "size"))  # its slots


def _level(price: Decimal, size: Decimal) -> Level:
    """``Level(price, size)``: its two slots set as its attrs ``__init__`` sets them (each
    through ``object.__setattr__``: it is frozen), without the bound setter that ``__init__``
    makes at each call (`BookSide.best` makes one at each change of the best level)."""
    level: Level = _new(Level)
    _SET_PRICE(level, price)
    _SET_SIZE(level, size)
    return level


class BookSide:
    """One side of a book: price -> aggregated size, best price first.

    Kept as a dict plus a sorted price list maintained with `bisect`: the best level is O(1), the
    best ``n`` levels O(n), an insert or delete O(log n) search + a short memmove. A message of
    many levels (a snapshot, a long 35=X) changes the dict alone and puts the list in order
    once (`Books._snapshot`; `_defer`, `_settle`): a memmove per level would make it quadratic
    in its levels.
    """

    __slots__ = ("_added", "_best", "_bids", "_owner", "_prices", "_sizes")

    def __init__(self, bids: bool) -> None:
        self._sizes: dict[Decimal, Decimal] = {}
        self._prices: list[Decimal] = []  # ascending
        self._bids = bids
        # deferred (`_defer`): the prices added since, in any order (the list is settled later)
        self._added: list[Decimal] | None = None
        self._best: Level | None = None  # the last `best` made (given again while it holds)
        # the book whose kept `Book.top` answer each change of this side drops (`_drop`)
        self._owner: _Owner | None = None

    @property
    def is_bids(self) -> bool:
        """True for the bid side (best = highest price)."""
        return self._bids

    def __len__(self) -> int:
        return len(self._prices)

    def __contains__(self, price: object) -> bool:
        return price in self._sizes

    def __getitem__(self, price: Decimal) -> Decimal:
        return self._sizes[price]

    def get(self, price: Decimal, default: Decimal | None = None) -> Decimal | None:
        """The size at ``price``, or ``default``."""
        return self._sizes.get(price, default)

    def __iter__(self) -> Iterator[Decimal]:
        """Prices, best first."""
        return reversed(self._prices) if self._bids else iter(self._prices)

    def best(self) -> Level | None:
        """The best level (highest bid / lowest offer), or ``None`` when the side is empty."""
        prices = self._prices
        if not prices:
            return None
        price = prices[-1] if self._bids else prices[0]
        size = self._sizes[price]
        level = self._best
        if level is None or level.price is not price or level.size is not size:
            level = self._best = _level(price, size)  # the same values: the same level
        return level

    def best_price(self) -> Decimal | None:
        """The best price, or ``None``."""
        if not self._prices:
            return None
        return self._prices[-1] if self._bids else self._prices[0]

    def depth(self, n: int | None = None) -> list[Level]:
        """The best ``n`` levels (all when ``n`` is None), best first."""
        prices = self._prices
        if n is None or n >= len(prices):
            chosen = prices[::-1] if self._bids else prices
        elif n <= 0:
            return []
        else:
            chosen = prices[: -n - 1 : -1] if self._bids else prices[:n]
        sizes = self._sizes
        return [Level(p, sizes[p]) for p in chosen]

    def as_dict(self) -> dict[Decimal, Decimal]:
        """A copy of the levels as price -> size."""
        return dict(self._sizes)

    def set(self, price: Decimal, size: Decimal) -> None:
        """Set the level at ``price`` to ``size`` (0 removes it; a level not there is added):
        for a feed of a book's own (the simulator's book-level backtests write the exchange's
        levels with it, the price and size already to the tick and the cent). The book's kept
        `Book.top` answer is dropped only when the change can move this side's best: a price
        at or beyond the best (at or above the best bid, at or below the best offer), or an
        empty side; any other change leaves both bests as they are."""
        if self._added is not None:  # deferred (`_defer`): the dict alone, the answer dropped
            if size:
                self._set(price, size)
            elif price in self._sizes:
                self._remove(price)
            return
        prices = self._prices
        if not prices or (price >= prices[-1] if self._bids else price <= prices[0]):
            owner = self._owner
            if owner is not None:
                owner._top = None
        sizes = self._sizes
        if size:
            if price not in sizes:
                insort(prices, price)
            sizes[price] = size
        elif price in sizes:
            del sizes[price]
            del prices[bisect_left(prices, price)]

    def _drop(self) -> None:
        """The owner book's kept `Book.top` answer dropped: this side is about to change."""
        owner = self._owner
        if owner is not None:
            owner._top = None

    def _set(self, price: Decimal, size: Decimal) -> None:
        self._drop()
        sizes = self._sizes
        if price not in sizes:
            added = self._added
            if added is None:
                insort(self._prices, price)
            else:
                added.append(price)
        sizes[price] = size

    def _remove(self, price: Decimal) -> None:
        self._drop()
        del self._sizes[price]
        if self._added is None:  # deferred: `_settle` leaves it out of the list
            prices = self._prices
            del prices[bisect_left(prices, price)]

    def _clear(self) -> None:
        self._drop()
        self._sizes.clear()
        self._prices.clear()

    def _defer(self) -> None:
        """From now until `_settle`, `_set` and `_remove` change the dict alone (the price list
        is not read meanwhile)."""
        if self._added is None:
            self._added = []

    def _settle(self) -> None:
        """Put the price list in order after `_defer`: the old prices still present, and those
        added, sorted once (the old ones are one sorted run: O(n + k log k) for k added)."""
        added = self._added
        if added is None:
            return
        self._added = None
        sizes = self._sizes
        old = self._prices
        if not old:  # every price comes from those added
            self._prices = sorted(sizes)
            return
        new = [p for p in dict.fromkeys(added) if p in sizes and not _holds(old, p)]
        if len(old) + len(new) != len(sizes):  # some old prices were removed
            old = self._prices = [p for p in old if p in sizes]
        if new:
            old += new
            old.sort()

    def __repr__(self) -> str:
        name = "bids" if self._bids else "offers"
        return f"BookSide({name}, {self.depth()!r})"


class NoBookSide:
    """A side of the No view: the opposite Yes side with every price ``p`` shown as ``1 - p``."""

    __slots__ = ("_yes",)

    def __init__(self, yes: BookSide) -> None:
        self._yes = yes

    def __len__(self) -> int:
        return len(self._yes)

    def __contains__(self, price: object) -> bool:
        return isinstance(price, Decimal) and (_ONE - price) in self._yes

    def __getitem__(self, price: Decimal) -> Decimal:
        return self._yes[_ONE - price]

    def __iter__(self) -> Iterator[Decimal]:
        """No prices, best first."""
        return (_ONE - p for p in self._yes)

    def best(self) -> Level | None:
        """The best No level."""
        level = self._yes.best()
        return None if level is None else Level(_ONE - level.price, level.size)

    def depth(self, n: int | None = None) -> list[Level]:
        """The best ``n`` No levels, best first."""
        return [Level(_ONE - lv.price, lv.size) for lv in self._yes.depth(n)]


def _holds(prices: list[Decimal], price: Decimal) -> bool:
    """Whether a sorted price list holds ``price``."""
    i = bisect_left(prices, price)
    return i < len(prices) and prices[i] == price
