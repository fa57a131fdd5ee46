"""Sample strategies for backtests (`kalshi_fix_sansio.simulator.backtests.backtest`): a small two-sided quoter,
the same logic on the blocking API (`quoter`) and the awaitable one (`async_quoter`, asyncio or
trio). Not advice: a strategy to try the tools on.

The quoter follows the first market of the recordings (``ctx.symbol``). On every change of its
book it quotes ``size`` contracts on each side, ``edge`` dollars from the recorded mid (rounded
away from it to the price tick), one order per side: a new quote when the side has none, a
replace (35=G) when the target price moved. It stops quoting a side at ``max_position``
contracts of inventory on that side. When the recordings end (``ctx.seconds`` reaches 0) it
takes every quote off the book with the kill switch and logs out.

    kalshi-fix backtest kalshi_fix_sansio.simulator.testing.strategies:quoter paper-sample.log \\
        --grid edge=0.01,0.02,0.03
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from ...session.events import ApplicationMessage, Event
from ...trading.book import Book, Books
from ...trading.builders import ClOrdIDGenerator, Requests
from ...trading.prices import PRICE_TICK

__all__ = ["BOOK_PARAMS", "PARAMS", "Quotes", "async_quoter", "book_quoter", "quoter"]

PARAMS: dict[str, Any] = {"size": 2, "edge": 0.02, "max_position": 10}
"""The quoter's default parameters (a run's ``params`` override them)."""


class Quotes:
    """The quoter's logic, whatever the API: what to send after each market-data event."""

    def __init__(self, ctx: Any, symbol: str | None = None, prefix: str = "q-") -> None:
        params = {**PARAMS, **ctx.params}
        self.symbol: str = symbol or ctx.symbol
        self.size = Decimal(str(params["size"]))
        self.edge = Decimal(str(params["edge"]))
        self.max_position = Decimal(str(params["max_position"]))
        self.tick = PRICE_TICK[ctx.product]
        self.prediction = ctx.product == "prediction"  # prices between a tick and 1 - a tick
        self.requests = Requests(
            ctx.product, "KalshiNR", cl_ord_ids=ClOrdIDGenerator(prefix, sequential=True)
        )
        self.md_requests = Requests(ctx.product, "KalshiMD")
        self.books = Books()

    def subscribe(self) -> Any:
        """The market-data subscription to send first."""
        return self.md_requests.subscribe(self.symbol)

    def on_event(self, event: Event, tracker: Any) -> list[Any]:
        """The orders to send after ``event`` (``tracker``: the order-entry session's)."""
        if not isinstance(event, ApplicationMessage) or self.symbol not in self.books.apply(
            event.message
        ):
            return []
        return self.for_book(self.books[self.symbol], tracker)

    def for_book(self, book: Book, tracker: Any) -> list[Any]:
        """The orders to send for the market's ``book`` as it is now."""
        bid, offer = book.best_bid(), book.best_offer()
        if bid is None or offer is None:
            return []
        mid = (bid.price + offer.price) / 2
        position = tracker.position(self.symbol).net
        out = []
        for side, price, room in (
            (
                "buy",
                (mid - self.edge).quantize(self.tick, ROUND_FLOOR),
                self.max_position - position,
            ),
            (
                "sell",
                (mid + self.edge).quantize(self.tick, ROUND_CEILING),
                self.max_position + position,
            ),
        ):
            if self.prediction and not self.tick <= price <= 1 - self.tick:
                continue
            mine = [o for o in tracker.open_orders(self.symbol) if _side(o) == side]
            if not mine:
                if room >= self.size:
                    out.append(self.requests.new_order(self.symbol, side, self.size, price))
            elif mine[0].price != price:
                out.append(self.requests.replace(mine[0], price=price))
        return out


def _side(order: Any) -> str:
    code = str(getattr(order.side, "value", order.side))
    return "buy" if code == "1" else "sell"


def quoter(ctx: Any) -> None:
    """The quoter on the blocking API."""
    quotes = Quotes(ctx)
    with ctx.client(market_data=True).market_data() as md, ctx.client().order_entry() as oe:
        md.send(quotes.subscribe(), resubscribe=True)
        while ctx.seconds > 0:
            event = md.next_event(timeout=ctx.seconds)
            if event is None:
                break
            for request in quotes.on_event(event, oe.tracker):
                oe.send(request)
        oe.kill()


async def async_quoter(ctx: Any) -> None:
    """The quoter on the awaitable API (asyncio, or trio with ``api="trio"``)."""
    quotes = Quotes(ctx)
    async with ctx.client(market_data=True).market_data() as md, ctx.client().order_entry() as oe:
        md.send(quotes.subscribe(), resubscribe=True)
        while ctx.seconds > 0:
            event = await md.next_event(timeout=ctx.seconds)
            if event is None:
                break
            for request in quotes.on_event(event, oe.tracker):
                oe.send(request)
        await oe.kill()


BOOK_PARAMS: dict[str, Any] = {**PARAMS, "every": 30.0}
"""`book_quoter`'s default parameters: the quoter's, and ``every`` (seconds between two
wakes of its timer)."""


def book_quoter(ctx: Any) -> None:
    """The quoter on books, for either mode of a backtest (``mode="fix"`` or ``"book"``): it
    watches every market of the recordings and quotes each as `quoter` quotes its one market,
    on each change of that market's book (``ctx.books``); every ``every`` seconds with no
    change, its timer takes its quotes off the book (they are placed again at the next change).
    It never reads a message itself."""
    every = float({**BOOK_PARAMS, **ctx.params}["every"])
    quotes = {s: Quotes(ctx, s, f"q{n}-") for n, s in enumerate(ctx.symbols)}
    ctx.watch(ctx.symbols)
    with ctx.order_entry() as oe:
        while (wake := ctx.wait(every)) is not None:
            if wake.timer:
                for order in oe.tracker.open_orders():
                    oe.send(quotes[order.symbol].requests.cancel(order))
                continue
            for quote in quotes.values():
                book = ctx.books.get(quote.symbol)
                if quote.symbol in wake.markets and book is not None:
                    for request in quote.for_book(book, oe.tracker):
                        oe.send(request)
        oe.kill()
