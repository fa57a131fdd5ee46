"""Recorded markets: a recording's books drive the exchange, and client orders trade against
them (paper trading; ``Exchange.replay``).

The recorded liquidity of each price level is one house order (account ``house``) whose size
follows the recording. Client orders live in the same books, so everything else (matching,
fees, order groups, cancels, replaces, the kill switch, drop copy, settlement, market data)
works as with seeded liquidity. The assumptions, which docs/paper-trading.md states for users:

* A client order that crosses the recorded book trades at once at the recorded levels' prices
  and sizes, walking levels (taker fees). What it took is missing from that level until the
  recording shows the level shrinking by as much (the trader who really took it), then the
  recorded size shows again: ``shown = recorded - taken``, and each recorded decrease of the
  level reduces ``taken``.
* A resting client order joins the back of its level: the queue ahead of it is the level's
  size when it arrived (`Book.add` notes it as ``Order.ahead``). Recorded decreases of the
  level shorten that queue: trades all of their size, cancellations (decreases no recorded
  trade explains) as much as the exchange's queue model (`queues`) puts ahead of it (the
  default `FifoQueue`: all of it); a recorded trade at the level first
  consumes the queue ahead, and what is left of its size fills the client order (maker fee).
  A recorded trade at a worse price than a resting client order (the recorded aggressor went
  through the client's price) fills the client order first. Size added to the level after it
  (recorded increases) is behind it.
* Recorded liquidity that arrives crossing a resting client order trades with it at the
  client's price (the recorded order is the aggressor).
* The client's resting liquidity never changes what the recording says later: recorded
  traders do not react to it, recorded trades are sent as recorded, and a level's recorded
  size is never reduced by what the client would have displaced.
* A recorded trade and the level decrease that reports the same trade are counted once: the
  traded quantity is set against the next decreases of that level.
* A recorded SecurityStatus (prediction) changes the market as on Kalshi: 2 (trading halt,
  "market deactivated") refuses new orders and replaces (``MARKET_INACTIVE``; cancels still
  work, resting orders stay) until a 3, which cancels the client orders resting in the market
  (``MARKET_REACTIVATED``: Kalshi cancels all resting orders when it reactivates a market);
  100 or 101 (trading ended) cancels them (``MARKET_ALREADY_CLOSED``) and refuses new ones,
  and the market still settles at a recorded 35=UMS or the replay's ``settle``. The recorded
  books go on as recorded throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from .common import BUY, HOUSE_ACCOUNT, SELL, ZERO, Status, as_dec, as_int, as_text
from .market_data import MarketData
from .matching import Matching
from .model import Book, Order, Trade
from .orders import Orders
from .settlement import Settlement
from .state import ExchangeState

__all__ = ["RecordedMarkets", "house_order"]

_Level = tuple[str, str, Decimal]  # (symbol, side, price)
_SIDES: Final = {"0": BUY, "1": SELL}


_Best = tuple[dict[str, dict[Decimal, Decimal]], Decimal | None, Decimal | None, Decimal | None]


def _best(
    levels: dict[str, dict[Decimal, Decimal]], bid: Decimal | None, ask: Decimal | None
) -> _Best:
    """What `RecordedMarkets.mid` keeps of a market's levels: their best bid and offer and
    the mid of the two (None: a side is empty)."""
    return (levels, bid, ask, None if bid is None or ask is None else (bid + ask) / 2)


class RecordedMarkets:
    """The recorded books and the client orders' place in their queues."""

    def __init__(
        self,
        state: ExchangeState,
        orders: Orders,
        matching: Matching,
        md: MarketData,
        settlement: Settlement,
        open_market: Callable[[str], Book],
    ) -> None:
        self.state = state
        self.settlement = settlement
        self.open_market = open_market
        self.orders = orders
        self.matching = matching
        self.md = md
        # symbol -> side -> price -> recorded size
        self.recorded: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
        self._house: dict[_Level, Order] = {}  # the recorded liquidity of each level
        self._shown: dict[_Level, Decimal] = {}  # the size last given to that house order
        self._taken: dict[_Level, Decimal] = {}  # what clients took of it
        self._credit: dict[_Level, Decimal] = {}  # recorded trades awaiting their decrease
        self._n = 0
        # symbol -> (its recorded levels, their best bid, their best offer, their mid) as
        # `mid` last found them, kept as `level` changes them (levels set from elsewhere, the
        # spans', are another object: found again)
        self._best: dict[str, _Best] = {}

    def mid(self, symbol: str) -> Decimal | None:
        """The mid of a market's recorded best bid and offer (None: a side is empty, or the
        market is not replayed): `Exchange.recorded_mid`."""
        levels = self.recorded.get(symbol)
        if levels is None:
            return None
        kept = self._best.get(symbol)
        if kept is not None and kept[0] is levels:
            return kept[3]
        bids, asks = levels[BUY], levels[SELL]
        kept = self._best[symbol] = _best(
            levels, max(bids) if bids else None, min(asks) if asks else None
        )
        return kept[3]

    # -- one recorded message ---------------------------------------------------------------

    def apply(self, message: Any) -> None:
        """One recorded message (`Exchange.replay`): 35=W, 35=X, 35=f or 35=UMS."""
        kind = type(message).MSG_TYPE
        if kind == "W":
            book = self._book(message.symbol)
            if book is not None:
                self.snapshot(book, message.md_entries)
        elif kind == "X":
            entries = message.md_entries or ()
            for entry in entries:  # trades first: a level's decrease reports the same trade
                if as_text(entry.md_entry_type) == "2":
                    book = self._book(entry.symbol)
                    px, size = as_dec(entry.md_entry_px), as_dec(entry.md_entry_size)
                    if book is not None and px is not None and size is not None:
                        aggressor = as_text(entry.aggressor_side) or BUY
                        self.trade(book, px, size, aggressor, as_text(entry.trade_id) or "")
            for entry in entries:
                side = _SIDES.get(as_text(entry.md_entry_type) or "")
                book = self._book(entry.symbol)
                px, size = as_dec(entry.md_entry_px), as_dec(entry.md_entry_size)
                if side is None or book is None or px is None:
                    continue
                if as_text(entry.md_update_action) == "2" or size is None:
                    size = ZERO
                self.level(book, side, px, size)
        elif kind == "f":
            status = as_int(message.security_trading_status)
            book = self._book(message.symbol)
            if book is not None and status is not None:
                self.status(book, status)
        elif kind == "UMS":
            book = self._book(message.symbol)
            result = (as_text(message.market_result) or "").lower()
            if book is not None and result in ("yes", "no") and self.state.prediction:
                self.settlement.settle(book, result, 50)
                self.forget(book.symbol)

    def apply_row(
        self,
        kind: str,
        symbol: str | None,
        status: int | None,
        result: str | None,
        entries: tuple[tuple[Any, ...], ...],
    ) -> None:
        """One recorded message as a compiled recording's columns give it (`Exchange.replay_row`):
        what `apply` does with the message, from plain values (each entry ``(MDEntryType,
        Symbol, MDEntryPx, MDEntrySize, MDUpdateAction, AggressorSide, TradeID)``)."""
        if kind == "X":
            if len(entries) == 1:  # the common case: one entry, its book looked up once
                book = self._book_named(entries[0][1])  # listed when first seen, whatever else
                if book is not None:
                    self.apply_market(book, entries)
                return
            # as `apply`: each entry's market is listed when first seen, whatever its values
            for t, name, px, size, _action, aggressor, trade_id in entries:
                if t == "2":  # trades first: a level's decrease reports the same trade
                    book = self._book_named(name)
                    if book is not None and px is not None and size is not None:
                        self.trade(book, px, size, aggressor or BUY, trade_id or "")
            for t, name, px, size, action, _aggressor, _trade_id in entries:
                side = _SIDES.get(t)
                book = self._book_named(name)
                if side is None or book is None or px is None:
                    continue
                self.level(book, side, px, ZERO if action == "2" or size is None else size)
        elif kind == "W":
            book = self._book_named(symbol)
            if book is not None:
                self._snapshot_levels(
                    book,
                    [(_SIDES.get(t), px, size) for t, _n, px, size, _a, _g, _i in entries],
                )
        elif kind == "f":
            book = self._book_named(symbol)
            if book is not None and status is not None:
                self.status(book, status)
        elif kind == "UMS":
            book = self._book_named(symbol)
            result = (result or "").lower()
            if book is not None and result in ("yes", "no") and self.state.prediction:
                self.settlement.settle(book, result, 50)
                self.forget(book.symbol)

    def one_market(self, entries: tuple[tuple[Any, ...], ...]) -> Book | None:
        """The book of the one market the entries of a recorded 35=X all name, listed and not
        settled (`Exchange.replay_market`'s message, for `apply_market`). None: no entry, two
        markets, a market not listed yet (`apply_row` lists it) or settled."""
        if not entries:
            return None
        name = entries[0][1]
        book = self.state.books.get(name) if name is not None else None
        if book is None or book.settled:
            return None
        for entry in entries:
            if entry[1] != name:
                return None
        return book

    def apply_market(self, book: Book, entries: tuple[tuple[Any, ...], ...]) -> None:
        """`apply_row` of a recorded 35=X whose entries all name ``book``'s market (found by
        `one_market`): the same, its book not looked up again; one entry (the common message)
        to `trade` or `level` directly, several through `apply_row`."""
        if len(entries) != 1:
            self.apply_row("X", None, None, None, entries)
            return
        t, _name, px, size, action, aggressor, trade_id = entries[0]
        if px is None:
            return
        if t == "2":
            if size is not None:
                self.trade(book, px, size, aggressor or BUY, trade_id or "")
            return
        side = _SIDES.get(t)
        if side is not None:
            self.level(book, side, px, ZERO if action == "2" or size is None else size)

    def _book_named(self, name: str | None) -> Book | None:
        """`_book` of a plain market name."""
        if name is None:
            return None
        book = self.state.books.get(name) or self.open_market(name)
        return None if book.settled else book

    def status(self, book: Book, status: int) -> None:
        """A recorded SecurityStatus: the market halts (2), reopens (3: the client orders
        resting in it are cancelled, as Kalshi cancels resting orders when it reactivates a
        market) or stops trading (100, 101: its client orders are cancelled); subscribers get
        the status as recorded."""
        cancel = None
        if status == 2:
            book.halted = True
        elif status == 3 and book.halted:
            book.halted = False
            cancel = "MARKET_REACTIVATED"
        elif status in (100, 101):
            book.closed = True
            cancel = "MARKET_ALREADY_CLOSED"
        if cancel is not None:
            for order in self.state.orders_where(
                lambda o: o.symbol == book.symbol and o.account != HOUSE_ACCOUNT
            ):
                self.orders.cancel(order, text=cancel)
        self.md.send_status(book.symbol, status)

    def _book(self, symbol: object) -> Book | None:
        """The book of a recorded market (listed when first seen); None once settled."""
        name = as_text(symbol)
        if name is None:
            return None
        book = self.state.books.get(name) or self.open_market(name)
        return None if book.settled else book

    def forget(self, symbol: str) -> None:
        """Drop what is kept about a settled market."""
        self.recorded.pop(symbol, None)
        self._best.pop(symbol, None)
        for table in (self._house, self._shown, self._taken, self._credit):
            for key in [k for k in table if k[0] == symbol]:
                del table[key]

    def snapshot(self, book: Book, entries: Any) -> None:
        """A recorded 35=W: the book becomes the snapshot's levels."""
        self._snapshot_levels(
            book,
            [
                (
                    _SIDES.get(as_text(entry.md_entry_type) or ""),
                    as_dec(entry.md_entry_px),
                    as_dec(entry.md_entry_size),
                )
                for entry in entries or ()
            ],
        )

    def _snapshot_levels(
        self, book: Book, entries: list[tuple[str | None, Decimal | None, Decimal | None]]
    ) -> None:
        """`snapshot` of (side, price, size) entries."""
        new: dict[str, dict[Decimal, Decimal]] = {BUY: {}, SELL: {}}
        for side, px, size in entries:
            if side is not None and px is not None and size is not None:
                new[side][px] = size
        old = self.recorded.get(book.symbol, {BUY: {}, SELL: {}})
        for side in (BUY, SELL):
            for px in sorted(set(old.get(side, {})) | set(new[side])):
                self.level(book, side, px, new[side].get(px, ZERO))

    def trade(self, book: Book, px: Decimal, size: Decimal, aggressor: str, trade_id: str) -> None:
        """A recorded trade entry: fill the client orders it reached, then send it as recorded."""
        self.md.mark(book)
        hit = SELL if aggressor == BUY else BUY
        left = size
        # no client order rests on that side: nothing to fill, no queue to move
        for order in book.iter_priority(hit) if book.clients[hit] else ():
            if order.account == HOUSE_ACCOUNT or not order.open:
                continue
            if order.price == px:
                q = min(order.leaves_qty, max(ZERO, left - order.ahead))
                order.ahead = max(ZERO, order.ahead - left)
            elif (order.price < px) if hit == SELL else (order.price > px):
                q = min(order.leaves_qty, left)  # the recorded aggressor went through it
                left -= q
            else:
                break
            if q > 0:
                self._fill(order, q, aggressor)
                self.md.trades.pop()  # subscribers get the recorded trade (below) instead
        key = (book.symbol, hit, px)
        self._credit[key] = self._credit.get(key, ZERO) + size
        self.md.trades.append(
            Trade(
                symbol=book.symbol,
                price=px,
                qty=size,
                aggressor_side=aggressor,
                trade_id=trade_id or self.state.uuid(),
            )
        )

    def level(self, book: Book, side: str, px: Decimal, size: Decimal) -> None:
        """A recorded level's new size (0: the level is gone)."""
        symbol = book.symbol
        key = (symbol, side, px)
        recorded = self.recorded.get(symbol)
        if recorded is None:
            recorded = self.recorded[symbol] = {BUY: {}, SELL: {}}
        levels = recorded[side]
        old = levels.get(px, ZERO)
        if size > ZERO:
            levels[px] = size
        else:
            levels.pop(px, None)
        kept = self._best.get(symbol)
        if kept is not None:  # the best of the side moved by this level (`mid`)
            if kept[0] is not recorded:
                del self._best[symbol]
            else:
                was = best = kept[1] if side == BUY else kept[2]
                if size > ZERO:
                    if best is None or (px > best if side == BUY else px < best):
                        best = px
                elif px == best:
                    best = (max(levels) if side == BUY else min(levels)) if levels else None
                if best is not was:  # the mid too, once, not at each look
                    if side == BUY:
                        self._best[symbol] = _best(recorded, best, kept[2])
                    else:
                        self._best[symbol] = _best(recorded, kept[1], best)
        house = self._house.get(key)
        if house is not None and not house.open:
            house = None
        clients = book.clients
        if (
            not clients[BUY]
            and not clients[SELL]
            and self._shown.get(key) is (None if house is None else house.leaves_qty)
            and key not in self._taken
        ):
            # a book with no client order, a level nothing was taken from (its house order as
            # last shown: the same object, or none and none shown): the general path below
            # with no queue to move and nothing to cross, the size shown the size recorded
            credits = self._credit
            if key in credits:  # a recorded trade's credit set against a decrease
                drop = old - size
                if drop > ZERO:  # (popped and put back, as below: the same order)
                    credit = credits.pop(key)
                    if credit > drop:
                        credits[key] = credit - drop
                elif size == ZERO:
                    del credits[key]
            if house is not None and size > ZERO:  # the common change: its size
                self.md.mark(book)
                book.resize(house, size)
                self._shown[key] = size
            else:  # a new house order, or its level gone
                self._show(book, key, size)
            return
        # what clients took of the level: before, and from its house order since its size was
        # last set (`_consumed`, inline)
        now = ZERO if house is None else house.leaves_qty
        taken = self._taken.pop(key, ZERO) + (self._shown.get(key, ZERO) - now)
        drop = old - size
        if drop > ZERO:
            credit = self._credit.pop(key, ZERO)
            counted = credit if credit <= drop else drop  # `min`, inline (as the max below)
            if credit > counted:
                self._credit[key] = credit - counted
            # cancels (or trades not recorded as such): the queue moves up, where client
            # orders rest on the side (none: no queue to move)
            if drop > counted and book.clients[side]:
                self._cancelled(book, side, px, old, drop - counted)
            taken = taken - drop if taken > drop else ZERO
        elif size == ZERO:
            self._credit.pop(key, None)
        shown = size - taken if size > taken else ZERO
        # no client order rests on the other side: nothing to cross (`_cross` gives zero)
        if shown > ZERO and book.clients[SELL if side == BUY else BUY]:
            crossed = self._cross(book, side, px, shown)
            shown -= crossed
            taken += crossed
        elif shown > ZERO and house is not None:  # `_show`'s common case: the size changes
            if taken > ZERO:
                self._taken[key] = taken
            self.md.mark(book)
            book.resize(house, shown)
            self._shown[key] = shown
            return
        if taken > ZERO:
            self._taken[key] = taken
        self._show(book, key, shown)

    def _cancelled(self, book: Book, side: str, px: Decimal, old: Decimal, size: Decimal) -> None:
        """``size`` recorded contracts cancelled from a level of ``old``: the queue model says
        how many were ahead of each resting client order there, kept between what must have
        been (what the queue behind it could not hold) and what could have been."""
        model = self.state.queue_model
        for order in book.levels[side].get(px, ()):
            if order.account == HOUSE_ACCOUNT or order.ahead <= 0:
                continue
            behind = max(ZERO, old - order.ahead)
            share = model.cancelled_ahead(order.ahead, behind, size)
            low, high = max(ZERO, size - behind), min(size, order.ahead)
            order.ahead = max(ZERO, order.ahead - min(max(share, low), high))

    # -- the house orders -----------------------------------------------------------------------

    def _show(self, book: Book, key: _Level, size: Decimal) -> None:
        house = self._house.get(key)
        if house is not None and not house.open:
            house = None
        if size <= ZERO:
            if house is not None:
                self.orders.close(house)
                house.leaves_qty = ZERO
            self._house.pop(key, None)
            self._shown.pop(key, None)
            return
        self.md.mark(book)
        if house is not None:
            book.resize(house, size)
        else:
            house = self._house[key] = self._new_house(book.symbol, key[1], key[2], size)
            self.state.open[house.order_id] = house
            book.add(house)
        self._shown[key] = size

    def _new_house(self, symbol: str, side: str, px: Decimal, qty: Decimal) -> Order:
        self._n += 1
        return house_order(symbol, side, px, qty, self.state.uuid(), self.state.next_seq(), self._n)

    def _cross(self, book: Book, side: str, px: Decimal, qty: Decimal) -> Decimal:
        """Recorded liquidity arriving across resting client orders trades with them."""
        opposite = SELL if side == BUY else BUY
        best = book.best(opposite)
        if best is None or not (px >= best if side == BUY else px <= best):
            return ZERO
        filled = ZERO
        for order in book.iter_priority(opposite):
            if not (px >= order.price if side == BUY else px <= order.price):
                break
            if order.account == HOUSE_ACCOUNT or not order.open:
                continue
            q = min(qty - filled, order.leaves_qty)
            self._fill(order, q, side)
            filled += q
            if filled >= qty:
                break
        return filled

    def _fill(self, order: Order, qty: Decimal, aggressor: str) -> None:
        """The recording's trader (aggressor side ``aggressor``) fills a resting client order
        at its price (the client is the maker)."""
        taker = self._new_house(order.symbol, aggressor, order.price, qty)
        self.matching.fill(taker, order, order.price, qty)


def house_order(
    symbol: str, side: str, px: Decimal, qty: Decimal, order_id: str, seq: int, n: int
) -> Order:
    """The house order of a recorded level (or of the recording's trader filling a client)."""
    return Order(
        order_id=order_id,
        cl_ord_id=f"recorded-{n}",
        account=HOUSE_ACCOUNT,
        holder=HOUSE_ACCOUNT,
        alloc_account=None,
        party_id=None,
        session_id=None,
        symbol=symbol,
        side=side,
        price=px,
        order_qty=qty,
        tif="1",
        expire_dt=None,
        expire_ts=None,
        post_only=False,
        reduce_only=False,
        stp=2,
        cancel_on_pause=False,
        group_id=None,
        seq=seq,
        leaves_qty=qty,
        status=Status.NEW,
    )
