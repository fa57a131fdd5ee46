"""`Book.top` is `BookSide.best` of each side, inline: the same levels, the same objects.

Private parts tested here: a book side's changes as the feeds make them (`BookSide._set`,
`_remove`, the dict of sizes written in place as the book-level lane writes it, `_defer` and
`_settle` around a message of many levels).
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from kalshi_fix_sansio.trading.book import Book


@pytest.mark.parametrize("seed", range(8))
def test_top_is_each_sides_best(seed: int) -> None:
    """After each change of a random sequence (levels set, resized in place, removed, sides
    emptied, many levels under `_defer`), `top` gives what ``(bids.best(), offers.best())``
    gives, as the same objects, whichever of the two is asked first; and a level given again
    while the best did not change is the one given before."""
    rng = random.Random(seed)
    book = Book("S")
    prices = [Decimal(f"0.{n:02d}") for n in range(1, 100)]
    sizes = [Decimal(n) for n in range(1, 30)] + [Decimal("5.00"), Decimal("5")]
    for step in range(3000):
        side = book.bids if rng.random() < 0.5 else book.offers
        roll = rng.random()
        if roll < 0.45:
            side._set(rng.choice(prices), rng.choice(sizes))
        elif roll < 0.6 and side._sizes:  # a size written in place, as the lane writes it
            side._sizes[rng.choice(list(side._sizes))] = rng.choice(sizes)
        elif roll < 0.9 and side._sizes:
            side._remove(rng.choice(list(side._sizes)))
        elif roll < 0.95:
            side._defer()
            for _ in range(rng.randrange(1, 6)):
                side._set(rng.choice(prices), rng.choice(sizes))
            side._settle()
        elif roll < 0.97:
            side._clear()
        if step % 2:  # `top` first, then `best`
            top = book.top()
            best = (book.bids.best(), book.offers.best())
        else:  # `best` first, then `top`
            best = (book.bids.best(), book.offers.best())
            top = book.top()
        assert top == best
        assert top[0] is best[0] and top[1] is best[1]
        again = book.top()
        assert again[0] is top[0] and again[1] is top[1]
