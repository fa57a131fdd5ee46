"""An asyncio market-maker skeleton: quote both sides around the mid, inside an order group.

What it does (for ``--seconds``, then it shuts down by itself; Ctrl-C shuts down the same way):

1. logs on to KalshiMD (market data) and KalshiNR (order entry) on one asyncio loop, each
   with its own API key (``--md-key-id`` / ``--md-key-file`` for market data): Kalshi allows
   exactly one connection per API key;
2. creates an order group (35=UOG) with a contracts limit: if quoting goes wrong, Kalshi
   cancels every quote of the group at once when the limit is hit;
3. subscribes to ``--symbol`` and keeps its book (`kalshi_fix_sansio.trading.book.Books`);
4. on every book change, takes the market's best bid and offer **without its own quotes**
   (the book shows them too) and quotes ``--size`` post-only on each side, ``--edge`` dollars
   away from the mid, on the price tick; when the mid moves it replaces its quotes
   (35=G) instead of cancelling and re-sending them;
5. prints every fill as it arrives (``on_event``: order-entry events are handled as they come,
   not queued);
6. on shutdown, whatever the exit path (the end of ``--seconds``, an error, Ctrl-C), takes
   every quote off the book with the kill switch (``session.kill()``: one
   OrderMassCancelRequest on KalshiNR, waiting until the tracker shows none open), then deletes
   the order group and logs out of both sessions. The order-entry session also logs on with
   CancelOrdersOnDisconnect, Kalshi's own last line if the process dies.

Strategy logic is deliberately absent (no inventory skew, no risk checks beyond the order
group): this is the plumbing a strategy plugs into.

Against Kalshi's demo environment::

    python examples/asyncio_market_maker.py --key-id KEY --key-file key.pem \\
        --md-key-id MD_KEY --md-key-file md-key.pem --symbol SOME-MARKET

Against the embedded mock gateway::

    python examples/asyncio_market_maker.py --mock --seconds 2

Paper trading: against a market-data recording replayed by the embedded mock gateway (the
shipped sample here), with the report printed at the end and written next to the recording::

    python examples/asyncio_market_maker.py --replay paper-sample.log --as-fast-as-possible \
        --seconds 3
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import _support

from kalshi_fix_sansio import ApplicationMessage, FixError
from kalshi_fix_sansio.adapters import asyncio as aio
from kalshi_fix_sansio.session.events import Event
from kalshi_fix_sansio.trading.book import Book, Books
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.prices import format_price, format_quantity
from kalshi_fix_sansio.trading.tracker import OrderTracker, TrackedOrder

TICK = {"prediction": Decimal("0.01"), "margin": Decimal("0.0001")}
"""Price tick per product (prediction without UseDollars quotes on the cent)."""
DEFAULT_EDGE = {"prediction": Decimal("0.01"), "margin": Decimal("0.05")}
BUY, SELL = "1", "2"


def market_top(book: Book, mine: OrderTracker) -> tuple[Decimal, Decimal] | None:
    """The best bid and offer of everyone else: our own open quotes taken out of the levels.

    Returns:
        (bid, offer), or None while a side is empty.
    """
    own: dict[tuple[str | None, Decimal | None], Decimal] = {}
    for order in mine.open_orders(book.symbol):
        key = (order.side, order.price)
        own[key] = own.get(key, Decimal(0)) + order.leaves_qty
    bid = next(
        (lvl.price for lvl in book.bids.depth() if lvl.size > own.get((BUY, lvl.price), 0)), None
    )
    offer = next(
        (lvl.price for lvl in book.offers.depth() if lvl.size > own.get((SELL, lvl.price), 0)),
        None,
    )
    return None if bid is None or offer is None else (bid, offer)


class MarketMaker:
    """Quotes one market from one order-entry session (see the module docstring)."""

    def __init__(
        self, oe: Any, requests: Requests, symbol: str, product: str, size: Decimal, edge: Decimal
    ) -> None:
        self.oe = oe
        self.requests = requests
        self.symbol = symbol
        self.product = product
        self.tick = TICK[product]
        self.size = size
        self.edge = edge
        self.group_id: str | None = None
        self.quotes: dict[str, TrackedOrder] = {}  # side code -> our live quote

    def prices(self, bid: Decimal, offer: Decimal) -> tuple[Decimal, Decimal]:
        """Our bid and offer: ``edge`` around the mid, rounded away from it onto the tick."""
        mid = (bid + offer) / 2
        ours_bid = ((mid - self.edge) / self.tick).to_integral_value(ROUND_FLOOR) * self.tick
        ours_offer = ((mid + self.edge) / self.tick).to_integral_value(ROUND_CEILING) * self.tick
        return ours_bid, ours_offer

    async def requote(self, book: Book) -> None:
        """Place or move both quotes after a book change."""
        top = market_top(book, self.oe.tracker)
        if top is None:
            return
        for side, price in zip((BUY, SELL), self.prices(*top), strict=True):
            live = self.quotes.get(side)
            if live is not None:  # its latest version; a filled or cancelled quote is gone
                live = self.oe.tracker.current(live.cl_ord_id)
                if live is not None and not live.is_open:
                    live = None
            if live is not None and live.price == price:
                continue
            request: Any
            if live is None:
                request = self.requests.new_order(
                    self.symbol,
                    side,
                    self.size,
                    price,
                    post_only=True,
                    order_group_id=self.group_id,
                )
            else:
                request = self.requests.replace(live, price=price)
            try:
                self.quotes[side] = await self.oe.place(request)
            except FixError as exc:  # e.g. POST_ONLY_CROSS: the market moved; next update retries
                print(f"quote {request.cl_ord_id} refused: {exc}")
                continue
            verb = "quote" if live is None else "requote"
            print(
                f"{verb} {'bid' if side == BUY else 'ask'} "
                f"{format_quantity(self.size, self.product)} @ {format_price(price, self.product)} "
                f"(market {format_price(top[0], self.product)} / "
                f"{format_price(top[1], self.product)})"
            )

    async def shut_down(self) -> None:
        """Take every quote off the book with the kill switch (one OrderMassCancelRequest on
        KalshiNR; it waits until the tracker shows no open order), then delete the group."""
        report = await self.oe.kill(timeout=10)
        _support.report_kill(report)
        if self.group_id is not None:
            self.oe.send(self.requests.delete_order_group(self.group_id))
            print(f"deleted order group {self.group_id}")


async def make_markets(target: _support.Target, args: argparse.Namespace) -> int:
    """Connect, quote for ``args.seconds``, shut down."""
    loop = asyncio.get_running_loop()
    group_created: asyncio.Future[str] = loop.create_future()

    def on_order_event(event: Event) -> None:
        if not isinstance(event, ApplicationMessage):
            return
        message: Any = event.message
        if message.MSG_TYPE == "UOH" and not group_created.done():
            group_created.set_result(message.order_group_id)
        elif message.MSG_TYPE == "8" and message.last_qty:
            print(
                f"fill {message.side.name} {format_quantity(message.last_qty, target.product)} @ "
                f"{format_price(message.last_px, target.product)} "
                f"({message.cl_ord_id})"
            )

    trading = target.client(aio)
    market_data = target.client(aio, market_data_key=True)  # one connection per API key
    requests = Requests(target.product, "KalshiNR")
    edge = args.edge if args.edge is not None else DEFAULT_EDGE[target.product]
    async with (
        market_data.market_data() as md,
        trading.order_entry(on_event=on_order_event, **_support.ORDER_ENTRY_FLAGS) as oe,
    ):
        maker = MarketMaker(oe, requests, target.symbol, target.product, args.size, edge)
        oe.send(requests.create_order_group(args.group_limit))
        maker.group_id = await asyncio.wait_for(group_created, 10)
        print(f"order group {maker.group_id} (limit {args.group_limit} contracts)")
        md.send(Requests(target.product, "KalshiMD").subscribe(target.symbol), resubscribe=True)
        books = Books()
        try:
            deadline = loop.time() + args.seconds
            while (remaining := deadline - loop.time()) > 0:
                event = await md.next_event(timeout=remaining)
                if isinstance(event, ApplicationMessage) and target.symbol in books.apply(
                    event.message
                ):
                    await maker.requote(books[target.symbol])
        finally:
            await maker.shut_down()
    print("logged out")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status (0 success, 1 failure, 2 usage error, 130
    interrupted)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to quote")
    parser.add_argument("--size", type=Decimal, default=Decimal(5), help="contracts per quote")
    parser.add_argument("--edge", type=Decimal, help="dollars from the mid to each quote")
    parser.add_argument(
        "--group-limit", type=int, default=100, help="contracts limit of the order group"
    )
    return _support.run(
        parser,
        argv,
        lambda target, args: asyncio.run(make_markets(target, args)),
        market_data_key=True,
    )


if __name__ == "__main__":
    sys.exit(main())
