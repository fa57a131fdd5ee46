"""Bulk spans of recorded markets: a market's recorded messages applied to a plain table of
levels while no client order is there (the book-level backtests of
`kalshi_fix_sansio.simulator.backtests.booklevel`).

While a replayed market has no client order resting in it, nothing taken from its recorded
liquidity (`recorded`: ``shown == recorded``), and no market-data subscriber but the one
session a book-level run keeps for its strategy, what the exchange would do with a recorded
message of it is known without the exchange: its levels become the recorded sizes, a level that
appears gets a house order (an id drawn from the exchange's generator, a priority sequence
number), a recorded trade is owed to the level's next decrease (the queue model's credit), and
the strategy's session would get the level changes and the trades. `BulkSpans` keeps that in a
plain table per market (`join`), applies the recorded messages to it (`apply`: no house order,
no queue bookkeeping, no 35=X built), and hands the strategy's side what changed (`Pending`:
the levels' new sizes and the trades since it last looked). When a client's message names the
market (an order reaching it, a subscription), a recorded message needs the exchange (a status,
a settlement, a message of markets not all in spans) or the market settles, the exchange's
recorded book is set from the table in one step (`leave`): the same levels, the same house
orders (ids and sequence numbers as drawn), the same credits, as if every message had gone
through it; from then on the market runs the exchange's full path until it qualifies again.

Nothing here reads a clock: times are the replay's.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Container, Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

from .common import BUY, SELL, ZERO
from .model import Order
from .recorded import RecordedMarkets, house_order

__all__ = ["BulkSpans", "Pending", "gone"]

_SIDES: Final = {"0": BUY, "1": SELL}
_TWO: Final = Decimal(2)  # the same quotient as `/ 2`, without an int made a Decimal
_Key = tuple[str, Decimal]  # (side, price)
# the house order of a level: the exchange's own (made before the span), or the (uuid bits,
# priority sequence, recorded-n, first size) of the one the exchange would have made
_Token = Order | tuple[int, int, int, Decimal]
# the message types that name their market in Symbol(55), or in NoRelatedSym (35=V); any other
# type but these takes every market out of its span (RFQs and quotes, rare in a backtest)
_NAMED: Final = frozenset({"D", "F", "G"})
_NAME_NOTHING: Final = frozenset({"q", "UOG", "e", "U1"})


class Pending:
    """What changed in a market in a bulk span since the strategy's books last had it.

    Attributes:
        symbol: the market.
        levels: ``(side, price) -> size`` of each level that changed (0: gone), as recorded.
        trades: ``(exchange time, price, size, aggressor side, trade id)`` of each trade (the
            last ``max_trades``: what a book keeps).
        crossed: the book was crossed or locked after one of the changes.
        queued: handed to the strategy's side and not yet looked at (a market keeps its
            `Pending`, emptied at each look: `looked`).
    """

    __slots__ = ("crossed", "levels", "queued", "symbol", "trades")

    def __init__(self, symbol: str, max_trades: int | None) -> None:
        self.symbol = symbol
        self.levels: dict[_Key, Decimal] = {}
        self.trades: deque[tuple[float, Decimal, Decimal, str, str]] = deque(maxlen=max_trades)
        self.crossed = False
        self.queued = False

    def looked(self) -> None:
        """The strategy's books had it: emptied, the market's next change hands it over
        again (while the market stays in its span)."""
        self.levels.clear()
        self.trades.clear()
        self.crossed = False
        self.queued = False


class _Table:
    """One market in a span: its levels, their house orders, the credits, what is pending,
    the best bid and offer and their mid (kept as the levels change).

    Each side's prices are kept sorted too (``bids``, ``asks``: ascending; a price goes in
    when its level appears, out when it goes, `_in` and `_out`), so that the best price that
    follows one that went is the list's end, not ``max`` or ``min`` of the side's levels."""

    __slots__ = (
        "ask",
        "asks",
        "bid",
        "bids",
        "credit",
        "crossed",
        "houses",
        "levels",
        "mid",
        "pending",
    )

    def __init__(
        self,
        levels: dict[str, dict[Decimal, Decimal]],
        houses: dict[_Key, _Token],
        credit: dict[_Key, Decimal],
    ) -> None:
        self.levels = levels
        self.houses = houses
        self.credit = credit
        self.pending: Pending | None = None
        self.bids = sorted(levels[BUY])
        self.asks = sorted(levels[SELL])
        self.bid: Decimal | None = self.bids[-1] if self.bids else None
        self.ask: Decimal | None = self.asks[0] if self.asks else None
        self.mid: Decimal | None = None
        self.crossed = False
        self.best()

    def best(self) -> None:
        """The mid of the best bid and offer (None: a side is empty), and whether the book is
        crossed or locked."""
        bid, ask = self.bid, self.ask
        if bid is None or ask is None:
            self.mid = None
            self.crossed = False
        else:
            self.mid = (bid + ask) / _TWO
            self.crossed = bid >= ask


class BulkSpans:
    """The markets in bulk spans (see the module docstring).

    Args:
        recorded: the exchange's recorded markets.
        session_id: the strategy's market-data session at the exchange (its subscriptions
            get `Pending` changes; no other session may subscribe to a market in a span).
        watched: the markets whose changes wake the strategy.
        notify: called with a market's new `Pending` (and whether it is watched) when it
            first changes after the strategy last looked.
        max_trades: the trades a `Pending` keeps (None: all).
    """

    def __init__(
        self,
        recorded: RecordedMarkets,
        session_id: str,
        watched: Mapping[str, None],
        notify: Callable[[Pending, bool], None],
        max_trades: int | None = None,
    ) -> None:
        self.max_trades = max_trades
        self.recorded = recorded
        self.state = recorded.state
        self.session_id = session_id
        self.watched = watched
        self.notify = notify
        self.tables: dict[str, _Table] = {}
        """The markets in spans now."""

    # -- which markets ----------------------------------------------------------------------

    def takes(self, kind: str, symbol: str | None, entries: tuple[tuple[Any, ...], ...]) -> bool:
        """Whether a recorded message goes to the tables (every market it names in a span)."""
        tables = self.tables
        if kind == "X":
            for entry in entries:
                name = entry[1]
                if name is not None and name not in tables:
                    return False
            return bool(tables)
        return kind == "W" and symbol in tables

    def join(self, symbol: str) -> bool:
        """Put a market in a span when it qualifies (see the module docstring); whether it is
        in one now."""
        if symbol in self.tables:
            return True
        recorded, state = self.recorded, self.state
        book = state.books.get(symbol)
        if book is None or book.settled or book.clients[BUY] or book.clients[SELL]:
            return False
        for session in state.sessions.values():
            if session.session_id != self.session_id and symbol in session.md_symbols:
                return False
        if any(key[0] == symbol for key in recorded._taken):
            return False
        levels = recorded.recorded.get(symbol, {BUY: {}, SELL: {}})
        houses: dict[_Key, _Token] = {}
        for side in (BUY, SELL):
            for px, size in levels[side].items():
                key = (symbol, side, px)
                house = recorded._house.get(key)
                if (
                    house is None
                    or not house.open
                    or house.leaves_qty != size
                    or recorded._shown.get(key) != size
                ):
                    return False  # what a client took of it is not yet set against the level
                houses[(side, px)] = house
        credit = {(k[1], k[2]): v for k, v in recorded._credit.items() if k[0] == symbol}
        levels = {BUY: dict(levels[BUY]), SELL: dict(levels[SELL])}
        self.tables[symbol] = _Table(levels, houses, credit)
        return True

    def leave(self, symbol: str) -> None:
        """Take a market out of its span: the exchange's recorded book set from its table (the
        levels, the house orders as drawn, the credits); its pending changes stay the
        strategy's."""
        table = self.tables.pop(symbol, None)
        if table is None:
            return
        recorded, state = self.recorded, self.state
        book = state.books[symbol]
        levels = table.levels
        for key in [k for k in recorded._house if k[0] == symbol]:
            house = recorded._house[key]
            if table.houses.get((key[1], key[2])) is not house:  # gone (or made again) since
                if house.resting:
                    book.remove(house)
                house.open = False
                house.leaves_qty = ZERO
                state.open.pop(house.order_id, None)
                del recorded._house[key]
                recorded._shown.pop(key, None)
        for (side, px), token in table.houses.items():
            size = levels[side][px]
            key = (symbol, side, px)
            if isinstance(token, Order):
                book.resize(token, size)
            else:
                bits, seq, n, first = token
                order_id = str(uuid.UUID(int=bits, version=4))
                house = recorded._house[key] = house_order(
                    symbol, side, px, first, order_id, seq, n
                )
                house.leaves_qty = size
                state.open[house.order_id] = house
                book.add(house)
            recorded._shown[key] = size
        recorded.recorded[symbol] = levels
        for key in [k for k in recorded._credit if k[0] == symbol]:
            del recorded._credit[key]
        for (side, px), credit in table.credit.items():
            recorded._credit[(symbol, side, px)] = credit

    def leave_all(self, symbols: Iterable[str | None]) -> list[str]:
        """`leave` each of ``symbols`` in a span; those that were."""
        left = []
        for symbol in symbols:
            if symbol is not None and symbol in self.tables:
                self.leave(symbol)
                left.append(symbol)
        return left

    def leave_named(self, message: Any) -> list[str]:
        """A client's message reaches the exchange: the markets it names leave their spans
        (every market, for a message whose markets are not named in one place); those that
        were in one."""
        if not self.tables:
            return []
        kind = type(message).MSG_TYPE
        if kind in _NAMED:
            return self.leave_all([_text(getattr(message, "symbol", None))])
        if kind == "V":
            related = getattr(message, "related_sym", None) or ()
            return self.leave_all([_text(getattr(e, "symbol", None)) for e in related])
        if kind in _NAME_NOTHING:
            return []
        return self.leave_all(list(self.tables))

    # -- one recorded message ---------------------------------------------------------------

    def apply(
        self, kind: str, symbol: str | None, entries: tuple[tuple[Any, ...], ...], now: float
    ) -> None:
        """A recorded 35=X or 35=W of markets in spans (`takes`), at exchange time ``now``:
        what `RecordedMarkets.apply_row` would do, to the tables."""
        if kind == "X":
            self.changes(entries, now)
        elif symbol is not None:  # a 35=W: the levels become the snapshot's
            table = self.tables[symbol]
            new: dict[str, dict[Decimal, Decimal]] = {BUY: {}, SELL: {}}
            for t, _n, px, size, _a, _g, _i in entries:
                side = _SIDES.get(t)
                if side is not None and px is not None and size is not None:
                    new[side][px] = size
            # each level of either (the old ones going), as a 35=X of their new sizes
            self.changes(
                tuple(
                    (t, symbol, px, new[side].get(px, ZERO), None, None, None)
                    for t, side in (("0", BUY), ("1", SELL))
                    for px in sorted(set(table.levels[side]) | set(new[side]))
                ),
                now,
            )

    def changes(self, entries: tuple[tuple[Any, ...], ...], now: float) -> None:
        """A recorded 35=X's entries (every market they name in a span), at exchange time
        ``now``: its trades first (`trade`: each owed to its level's next decrease, its id
        drawn when it has none), then its levels (`level`); what changed is pending for the
        strategy's side, with whether the book was crossed after the message. The general
        path: the feed's loops hand the common message (one market, a level and at most a
        trade before it) to `trade` and `level` themselves."""
        tables = self.tables
        session = self.state.sessions.get(self.session_id)
        subscribed = session.md_symbols if session is not None else ()
        n = len(entries)
        if n > 1 and (entries[1][0] == "2" if n == 2 else any(e[0] == "2" for e in entries)):
            entries = tuple(sorted(entries, key=_not_a_trade))  # the trades first, in order
        changed: str | dict[str, None] | None = None  # the market (the common case: one)
        for entry in entries:
            t, name, px = entry[0], entry[1], entry[2]
            if name is None or px is None:
                continue
            reached: bool | None
            if t == "2":
                reached = self.trade(tables[name], name, entry, now, subscribed)
            elif t == "0" or t == "1":
                reached = self.level(tables[name], name, entry, now, subscribed, False, False)
            else:
                continue
            if reached:
                if changed is None:
                    changed = name
                elif changed != name:
                    changed = _also(changed, name)
        if changed is None:
            return
        if isinstance(changed, str):
            table = tables[changed]
            if table.crossed:
                self._pending(changed, table).crossed = True
            return
        for name in changed:
            table = tables[name]
            if table.crossed:
                self._pending(name, table).crossed = True

    def level(
        self,
        table: _Table,
        name: str,
        entry: tuple[Any, ...],
        now: float,
        subscribed: Container[str],
        seen: bool,
        last: bool = True,
    ) -> bool | None:
        """A 35=X's level entry (a bid or an offer, its price given) of market ``name``
        (``table``: in a span), the strategy's subscriptions (``subscribed``) read once by the
        caller: `RecordedMarkets.level` with nothing taken and no client order there (a level
        that appears gets the house order the exchange would make, its id and priority drawn
        here), its new size pending for the strategy's side. ``seen``: a trade of the same
        message reached the strategy's side first (`trade`); ``last``: the message's last
        entry, after which whether the book is crossed is noted (False: `changes` notes it
        after the message). Whether the change reached the strategy's side (a subscribed
        market's level that moved); None when the level did not move (nothing changed, for
        any subscriptions: the book-level lane reads it)."""
        t, _name, px, size, action, _aggressor, _trade_id = entry
        side = BUY if t == "0" else SELL
        if action == "2" or size is None:
            size = ZERO
        levels = table.levels[side]
        old = levels.get(px, ZERO)
        key = (side, px)
        credits = table.credit
        if credits:
            if old > size:
                credit = credits.pop(key, None)  # None: no recorded trade owed to it
                if credit is not None:
                    counted = min(credit, old - size)
                    if credit > counted:
                        credits[key] = credit - counted
            elif size == ZERO:
                credits.pop(key, None)
        if size > ZERO:
            levels[px] = size
            if old == size:
                if last and seen and table.crossed:
                    self._pending(name, table).crossed = True
                return None
            if old <= ZERO:  # the exchange would show it with a new house order
                recorded, state = self.recorded, self.state
                recorded._n += 1
                bits = state.rng.getrandbits(128)  # as `ExchangeState.uuid` draws the id
                table.houses[key] = (bits, state.next_seq(), recorded._n, size)
                _in(table, side, px)
        else:
            if old <= ZERO:
                if last and seen and table.crossed:
                    self._pending(name, table).crossed = True
                return None
            size = ZERO
            del levels[px]
            del table.houses[key]
            _out(table, side, px)
        pending = table.pending
        if pending is None or not pending.queued:
            if name not in subscribed:
                return False
            if pending is None:
                pending = self._pending(name, table)
            else:  # `_pending`'s common case: the market's, handed over again
                pending.queued = True
                self.notify(pending, name in self.watched)
        pending.levels[key] = size
        reached = name in subscribed
        if last and table.crossed and (seen or reached):  # after the message
            pending.crossed = True
        return reached

    def appear(self, table: _Table, side: str, px: Decimal, size: Decimal) -> None:
        """A level that appears in ``table`` (its size set in its levels): the house order the
        exchange would show it with (its id's bits and its priority sequence drawn here, as
        `RecordedMarkets.level` draws them), and the best bid or offer it may be. `level`
        does the same inline (a call there costs the timer-woken runs' quiet loop); the
        book-level lane calls this (tests/test_backtest_spans.py holds the two together)."""
        recorded, state = self.recorded, self.state
        recorded._n += 1
        bits = state.rng.getrandbits(128)  # as `ExchangeState.uuid` draws the id
        table.houses[side, px] = (bits, state.next_seq(), recorded._n, size)
        _in(table, side, px)

    def trade(
        self,
        table: _Table,
        name: str,
        entry: tuple[Any, ...],
        now: float,
        subscribed: Container[str],
        sink: list[tuple[float, Decimal, Decimal, str, str]] | None = None,
    ) -> bool:
        """A 35=X's trade entry of market ``name`` (``table``: in a span): owed to its level's
        next decrease, its id drawn when it has none, pending for the strategy's side (or, given
        ``sink``, put there instead: the book-level lane takes it to the book itself). Whether
        it reached that side (the message's level entry to follow: `level`'s ``seen``)."""
        _t, _name, px, size, _action, aggressor, trade_id = entry
        if px is None or size is None:
            return False
        aggressor = aggressor or BUY
        key = (SELL if aggressor == BUY else BUY, px)
        credits = table.credit
        credits[key] = credits.get(key, ZERO) + size
        trade_id = trade_id or self.state.uuid()
        if name not in subscribed:
            return False
        (self._pending(name, table).trades if sink is None else sink).append(
            (now, px, size, aggressor, trade_id)
        )
        return True

    def _pending(self, symbol: str, table: _Table) -> Pending:
        """The market's `Pending`, handed to the strategy's side (`notify`) when it was not."""
        pending = table.pending
        if pending is None:
            pending = table.pending = Pending(symbol, self.max_trades)
        if not pending.queued:
            pending.queued = True
            self.notify(pending, symbol in self.watched)
        return pending

    def mid(self, symbol: str) -> Decimal | None:
        """The recorded mid of a market in a span (`Exchange.recorded_mid`)."""
        return self.tables[symbol].mid


def gone(table: _Table, levels: dict[Decimal, Decimal], side: str, px: Decimal) -> None:
    """A level of ``table`` (``levels``: its side's) that went: out of its levels, its house
    order with it, the best bid or offer found again when it was that: what `BulkSpans.level`
    does inline, for the book-level lane."""
    del levels[px]
    del table.houses[side, px]
    _out(table, side, px)


def _in(table: _Table, side: str, px: Decimal) -> None:
    """A price whose level appears (it was not in ``table``'s side) into the side's sorted
    prices; the best bid or offer when it goes in at the best end (a bid above every other, an
    offer below every other: what comparing it with the best found)."""
    if side == BUY:
        prices = table.bids
        i = bisect_left(prices, px)
        prices.insert(i, px)
        if i == len(prices) - 1:
            table.bid = px
            table.best()
    else:
        prices = table.asks
        i = bisect_left(prices, px)
        prices.insert(i, px)
        if not i:
            table.ask = px
            table.best()


def _out(table: _Table, side: str, px: Decimal) -> None:
    """A price whose level went out of ``table``'s side's sorted prices; when it was the best
    (the list's end it was at), the best is the next one (``max`` or ``min`` of the levels
    left), None when the side is empty."""
    if side == BUY:
        prices = table.bids
        i = bisect_left(prices, px)
        del prices[i]
        if i == len(prices):
            table.bid = prices[-1] if prices else None
            table.best()
    else:
        prices = table.asks
        i = bisect_left(prices, px)
        del prices[i]
        if not i:
            table.ask = prices[0] if prices else None
            table.best()


def _also(changed: str | dict[str, None], name: str) -> dict[str, None]:
    """The markets ``changed`` (one, or those met so far) and ``name``, in the order met."""
    if isinstance(changed, str):
        return {changed: None, name: None}
    changed[name] = None
    return changed


def _not_a_trade(entry: tuple[Any, ...]) -> bool:
    return bool(entry[0] != "2")


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))
