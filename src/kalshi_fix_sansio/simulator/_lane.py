"""The book level's common case in one frame: a strategy woken by its markets' changes.

A book-level run (`kalshi_fix_sansio.simulator.booklevel`) whose markets run in bulk spans
wakes a change-woken strategy at almost every recorded message: the message goes to its
market's table (`BulkSpans.level`, after `BulkSpans.trade` for a trade), what changed reaches
the strategy's `Books`, and `BookWaker.wait` returns a `Wake`. `lane` does that in a generator
that lives from one wake to the next: what stays the same over the run (the scheduler, its
heap, the exchange, the spans' tables, the ledger) is read once when it starts, not at every
wait, and each ``next`` runs the messages up to the next wake and yields it.

It stops (the generator returns) wherever the step-by-step loop (`BookWaker.wait` through
`Waker.wait`, `Feed.step` and `Feed.run`) would do anything else: another callback due before
the next message (an order's bytes, a timeout; the statistics' sampler, a callback that only
reads, is run at its instant as `Feed.run` runs it, and the lane goes on: `Feed.readers`), a
message that is not the common one (a status, a market out of its span, several markets),
anything due in the exchange at any time (an order that can expire, an open RFQ), something for
the strategy that is not a watched market's change (an order event), the end of a recording. The
caller then goes on with the general wait from the state the lane left, the state that loop
would have left: tests/test_backtest_spans.py compares the two, wake by wake.

Nothing here reads a clock: the time is the simulation's.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from decimal import Decimal
from heapq import heapify, heappop, heappush, heapreplace
from typing import TYPE_CHECKING, Any, Protocol

from ..trading.book import Books, Trade
from . import _feed
from .gateway.exchange.common import BUY, CENT, SELL, TICK, ZERO
from .gateway.exchange.spans import Pending, gone
from .recording import RecordingError

if TYPE_CHECKING:
    from ._chunks import Chunk
    from ._feed import Feed


class Waker(Protocol):
    """What the lane reads and calls of a book-level waker (`booklevel.BookWaker`,
    which imports this module: the lane names no class of it)."""

    end_time: float
    watched: dict[str, None]
    changed: dict[str, None]
    books: Books
    oe: Any
    _arrived: list[Any]
    _look: bool
    _ticks: dict[Decimal, Decimal]
    _cents: dict[Decimal, Decimal]

    def pull(self) -> None: ...

    def _apply_pending(self, pending: Pending) -> None: ...

    def _trade(self, symbol: str, value: tuple[float, Decimal, Decimal, str, str]) -> Trade: ...


__all__ = ["Waker", "lane"]


def lane(
    waker: Waker,
    feed: Feed,
    wake_class: type[Any],
    quantized: Callable[[dict[Decimal, Decimal], Decimal, Decimal], Decimal],
) -> Iterator[Any]:
    """The wakes of a change-woken strategy (``waker``'s, its markets in ``feed``'s spans),
    one per ``next``, while each is the common case (see the module docstring); each is the
    `Wake` `BookWaker.wait` would return, the simulation left as that wait leaves it. The
    generator returns where it stops: the caller waits the general way from there.

    Each ``next`` runs, while nothing is for the strategy to look at: the second's ticker
    skipped up to the next message as `Simulation.skip_tick` skips it, the message (a 35=X of
    one market in a span: a level, or a trade then a level) to its table, the ledger marked
    (`PaperLedger.mark`), the next message's timer put back where `Feed.step` pushes it (its
    entry left first in the heap while the message runs, then replaced: one `heapreplace` for
    the step's pop and push, `_drop` where a callback went first meanwhile), what else is due at
    the instant run (`Scheduler.run_due`; a reader of ``feed``'s, the statistics' sampler, run
    the same way at its own instant when it comes first); then what reached the strategy to its
    books (`BookWaker._apply_pending`, `BookWaker.pull`) and its `Wake` (``wake_class``: made as
    `booklevel._wake` makes it; ``quantized``: `booklevel._quantized`).

    A watched market's message whose `Pending` is not already handed over goes to its book
    without one: the lane does what `level` does for a market nobody subscribes to itself
    (its table changed, nothing pending; the credits inline, as `level` takes them; the rare
    parts, a level that appears or goes, by `BulkSpans.appear` and `spans.gone`, what `level`
    does inline) and `trade` puts its trade in a list of the lane's, and after the
    message's instant the lane applies the level (its size the one the table now holds) and
    the trades as `_apply_pending` would have applied the `Pending` `pull` takes first. A
    book left crossed by the message gets its `Pending` the general way
    (`BulkSpans._pending`), so that `_apply_pending` reports it. tests/test_backtest_spans.py
    compares the lane with the general wait, and `level` with `BulkSpans.changes`."""
    spans = feed.spans
    timer = feed._timer
    sim = feed.sim
    scheduler, clock, exchange = sim.scheduler, sim.clock, sim.gateway.exchange
    if (
        spans is None
        or timer is None
        or feed.on_message is not None
        or clock._follow is not None
        or not feed.columns
    ):
        return  # (a clock that follows trio's: not a blocking run's; its time read by `time`)
    set_time, set_markets, set_orders = (  # its slots' setters
        vars(wake_class)[name].__set__ for name in ("time", "markets", "orders")
    )
    timers, order, ticker = scheduler._timers, scheduler._order, sim._ticker
    ledger, tables, items = feed.ledger, spans.tables, feed._items
    mids = ledger.mids
    level, trade, appear, uuid = spans.level, spans.trade, spans.appear, spans.state.uuid
    until = waker.end_time
    limit = clock.start + sim.max_time
    last = until if until < limit else limit  # `skip_tick`'s last second
    apply_pending = waker._apply_pending
    books, watched, ticks, cents = waker.books._books, waker.watched, waker._ticks, waker._cents
    new, make_trade = object.__new__, waker._trade
    origin = clock.start  # the ticker's seconds: origin, origin + 1.0... (`Feed.tie`)
    fresh = False  # what the exchange has due and the subscriptions: asked below
    read = True  # False: the inner loop stopped for a reader (`Feed.readers`), not a message
    readers = feed.readers
    # a change straight to a book, in the locals `book`, `side`, `px`, `size`, `moved` (whether
    # the level moved) and `trades` (a list, a `Pending`'s deque), kept from its message to
    # its wake
    direct = False
    book: Any = None
    trades: Any = None
    lazy_apply, apply = feed._lazy_apply, feed._apply
    chunk: Any = None  # the chunk of the next message (`Feed._chunk`), its columns below
    while True:
        if feed._chunk is not chunk:
            chunk = feed._chunk
            assert chunk is not None
            times, count, starts, base, message_kinds, types, markets = _columns(chunk)
            pxs, entry_sizes, actions, symbol_of, decimal_of, bid, offer, two = _values(chunk)
        i = feed._at - 1  # the next message's place in it (its row made or not: `_lazy`)
        # what `BookWaker.wait` asks before its common case, and `Feed.step` before a step
        oe = waker.oe
        if feed._timer is not timer:
            # the next message's timer made anew (`Feed._apply` took a message of the same
            # instant in `run_due`): the lane goes on with it, as a new lane would start
            timer = feed._timer
            if timer is None:
                return
        if (
            not waker.watched
            or waker._arrived
            or waker.changed
            or (oe is not None and oe.queued_events)
            or scheduler._ready
            or scheduler.waker is not None
            or clock._now >= until
        ):
            return
        if not fresh:  # at the start, and after callbacks ran (`run_due`): asked again
            if exchange.tick_due(math.inf):  # an expiry or an RFQ at some time: no skips
                return
            session = spans.state.sessions.get(spans.session_id)
            subscribed = session.md_symbols if session is not None else ()
            fresh = True
        waker._look = False  # as `BookWaker.pull` leaves it
        while True:  # nothing but the loop's own messages changes what the strategy sees
            top = timers[0]  # the feed's own timer is in the heap
            if top[2] is not timer:  # the ticker first: its quiet seconds up to what is next
                when, _order, tick = top
                if tick.cancelled or when > last:
                    return
                if tick.callback != ticker:
                    if tick.callback not in readers:
                        return
                    # a callback that only reads (the statistics' sampler): at its instant
                    # with what else is due then, as `Feed.run` runs it (`sim.advance`, then
                    # `Scheduler.run_due`), and the lane goes on from the top
                    if when > clock._now:  # `SimClock.advance_to` (within max_time: `last`)
                        clock._now = when
                    scheduler.run_due()
                    fresh = read = False
                    break
                n = len(timers)  # `_others`: the next callback is a child of the first
                before = timers[1][0] if n > 1 else math.inf
                if n > 2 and timers[2][0] < before:
                    before = timers[2][0]
                nxt = when + 1.0
                while nxt < before and nxt <= last:
                    when, nxt = nxt, nxt + 1.0
                if when > clock._now:  # `SimClock.advance_to`
                    clock._now = when
                tick.when = nxt
                heapreplace(timers, (nxt, next(order), tick))
                continue
            when = top[0]
            if when > until or message_kinds[i] != 1:  # (1: a 35=X)
                return
            # its entries in the chunk's columns (entry e: its level), each text an index into
            # the recording's texts (``bid``, ``offer``, ``two``: those of "0", "1", "2"), its
            # market and its decimals indexes into their tables
            e = starts[i] - base
            n = starts[i + 1] - base - e
            if n == 1:  # a level, or a trade then a level of its market: as `step` takes them
                pass
            elif n == 2 and types[e] == two:
                e += 1
                if markets[e - 1] != markets[e]:
                    return
            else:
                return
            t = types[e]
            if t != bid and t != offer:  # (`_feed._LEVELS`: a bid, an offer)
                return
            name = symbol_of[markets[e]]
            px = decimal_of[pxs[e]]
            if name is None or px is None:
                return
            table = tables.get(name)
            if table is None:
                return
            # the timer's entry stays first in the heap while the message runs (nothing it runs
            # reads the heap): `heapreplace` below puts the next message's in its place, one
            # step for `Feed.step`'s pop and push
            if when > clock._now:  # a recorded time, within max_time: `SimClock.advance_to`
                clock._now = when
            if (
                name in watched
                and ((pending := table.pending) is None or not pending.queued)
                and (book := books.get(name)) is not None
                and book.has_snapshot
                and name in subscribed
            ):
                # the message's changes straight to the strategy's book after it: what `trade`
                # and `level` would have made pending for `pull` (whatever else has arrived is
                # another market's, taken after it)
                trades = None
                if n == 2:  # `trade(table, name, entry, when, subscribed, trades)` inline
                    trades = []
                    j = e - 1
                    trade_px = decimal_of[pxs[j]]
                    trade_size = decimal_of[entry_sizes[j]]
                    if trade_px is not None and trade_size is not None:
                        aggressor = chunk.text_table[chunk.aggressors[j]] or BUY
                        key = (SELL if aggressor == BUY else BUY, trade_px)
                        credits = table.credit
                        credits[key] = credits.get(key, ZERO) + trade_size
                        trades.append(
                            (when, trade_px, trade_size, aggressor, chunk.trade_id(j) or uuid())
                        )
                # `level(table, name, entry, when, (), False)` inline (a market nobody else
                # sees, its `Pending` not handed over: nothing pending), its rare parts by
                # calls: whether the level moved, and the size it now has (0: gone)
                side = BUY if t == bid else SELL
                size = decimal_of[entry_sizes[e]]
                if size is None or actions[e] == two:
                    size = ZERO
                at = table.levels[side]
                # a table keeps sizes above 0 alone (`level`, this lane, and the exchange's
                # recorded levels it starts from, `RecordedMarkets.level`): ``old`` is 0 (absent)
                # or above, its truth its comparison with 0; ``not size`` is ``size == ZERO``
                old = at.get(px, ZERO)
                credits = table.credit
                if credits:  # `owed(credits, (side, px), old, size)` inline
                    if old > size:  # what it went down by, taken from the trades owed to it
                        credit = credits.pop((side, px), None)
                        if credit is not None:
                            drop = old - size  # `min(credit, drop)` counted, the rest kept
                            if credit > drop:
                                credits[side, px] = credit - drop
                    elif not size:
                        credits.pop((side, px), None)
                if size > ZERO:
                    at[px] = size
                    moved = old != size
                    if not old:  # a level that appears: its house order drawn
                        appear(table, side, px, size)
                elif old:
                    size = ZERO
                    moved = True
                    gone(table, at, side, px)
                else:
                    size = ZERO
                    moved = False
                if moved or trades:
                    if table.crossed:  # `level`'s crossed book: pending, the general way
                        pending = spans._pending(name, table)
                        if moved:
                            pending.levels[side, px] = size
                        if trades:
                            pending.trades.extend(trades)
                        pending.crossed = True
                    else:
                        direct = True  # the change's (book, side, px, size, moved, trades)
            else:
                seen = n == 2 and trade(table, name, chunk.entry(e - 1), when, subscribed)
                level(table, name, chunk.entry(e), when, subscribed, seen)
            feed.messages += 1
            mid = table.mid  # `PaperLedger.mark`: an unmoved mid with nothing due, inline
            if (
                when < ledger._rate_due
                and when - ledger._pointed < ledger._spacing
                and (mid is None or (kept := mids.get(name)) is mid or kept == mid)
            ):
                ledger.last_time = when
            else:
                ledger.mark(name, when, mid)
            i += 1
            if i < count:  # the next message, read in the columns: no row made (`_lazy`)
                after = times[i]
                if (after - origin).is_integer() and when != after - 1.0:  # `Feed._columns`
                    feed.tie = when > after - 1.0
                feed._at = i + 1
                if not feed._lazy:
                    feed._lazy = True
                    feed._row = None
                    timer.callback, timer.args = lazy_apply, ()
            else:  # the chunk's end: the next one's first row, the general way
                try:
                    item = next(items, None)
                except RecordingError as exc:
                    _drop(timers, top)
                    feed._timer = None
                    feed._fail(exc)
                    break
                if item is None:
                    _drop(timers, top)
                    feed._timer = None
                    feed._next_recording()
                    break
                after = item[0]
                feed._row = item
                feed._lazy = False
                timer.callback, timer.args = apply, (item,)
                chunk = feed._chunk
                assert chunk is not None
                times, count, starts, base, message_kinds, types, markets = _columns(chunk)
                pxs, entry_sizes, actions, symbol_of, decimal_of, bid, offer, two = _values(chunk)
                i = 0
            timer.when = after  # its timer back in the heap, as `step` pushes it
            if timers[0] is top:
                heapreplace(timers, (after, next(order), timer))
            else:  # a callback put in the heap meanwhile, due first
                _drop(timers, top)
                heappush(timers, (after, next(order), timer))
            if scheduler._ready or timers[0][0] <= when:
                scheduler.run_due()  # the rest of the instant, as `step` runs it
                fresh = False
                break
            if direct or waker._look or (oe is not None and oe.queued_events):
                break  # (`BookWaker.look`)
        # a message ran and something may be for the strategy: `BookWaker.wait`'s common case
        # (or a reader ran: ``read`` False)
        if direct:
            direct = False
            symbol = book.symbol
        elif not waker._look:
            if read:
                return
            read = True
            continue  # a reader ran and nothing is for the strategy: on from the top
        else:
            read = True  # (a reader's instant ran a message too: as after a message)
            arrived = waker._arrived
            pending = arrived[0] if len(arrived) == 1 else None
            if pending is None or pending.__class__ is not Pending:
                waker.pull()
                symbol = ""
            else:  # `pull`'s common case: one market's `Pending`
                waker._arrived = []
                waker._look = False
                levels, symbol = pending.levels, pending.symbol
                book = books.get(symbol)
                if (
                    len(levels) != 1
                    or pending.crossed
                    or book is None
                    or not book.has_snapshot
                    or symbol not in watched
                ):
                    apply_pending(pending)
                    symbol = ""
                else:  # `BookWaker._apply_pending`'s common case: one level of a watched market
                    (side, px), size = levels.popitem()
                    moved, trades = True, pending.trades
                    pending.queued = False  # emptied, with its trades below: `Pending.looked`
        if symbol:  # a watched market's one level, its trades (`_apply_pending`'s common case)
            if moved:
                px = ticks.get(px) or quantized(ticks, px, TICK)
                # the book's kept `top` dropped when the change can move a best: a level at or
                # above the best bid, at or below the best offer, or on an empty side (any
                # other change leaves both bests as they are: `Book.top` answers as it did)
                if side == BUY:
                    book_side = book.bids
                    prices = book_side._prices
                    if not prices or px >= prices[-1]:
                        book._top = None
                else:
                    book_side = book.offers
                    prices = book_side._prices
                    if not prices or px <= prices[0]:
                        book._top = None
                sizes = book_side._sizes
                if size:  # a new size (0: the level went)
                    size = cents.get(size) or quantized(cents, size, CENT)
                    if px not in sizes:  # `BookSide._set` (a lane's side is never deferred)
                        insort(prices, px)
                    sizes[px] = size
                elif px in sizes:  # `BookSide._remove`
                    del sizes[px]
                    del prices[bisect_left(prices, px)]
            if trades:  # made `Trade`s when the strategy reads them (`BookWaker._trade`)
                book._owe(make_trade).extend(trades)
                trades.clear()
            if not waker._arrived and (oe is None or not oe.queued_events):
                wake = new(wake_class)  # this market alone: as `booklevel._wake` makes it
                set_time(wake, clock._now)
                set_markets(wake, (symbol,))
                set_orders(wake, ())
                yield wake
                continue
            waker.changed[symbol] = None
            waker.pull()  # what arrived after the change (callbacks at its instant)
        changed = waker.changed
        if not changed or (oe is not None and oe.queued_events):
            return
        waker.changed = {}
        yield wake_class(clock._now, tuple(changed))


def _drop(timers: list[Any], top: tuple[Any, ...]) -> None:
    """The feed timer's entry ``top`` out of the scheduler's heap ``timers`` (first in it
    unless a callback due sooner was put in since): `Feed.step`'s pop."""
    if timers[0] is top:
        heappop(timers)
    else:
        timers.remove(top)
        heapify(timers)


def _columns(chunk: Chunk) -> tuple[Any, ...]:
    """The columns of ``chunk`` the lane reads for a message (as lists: `Chunk.lists`)."""
    times, kinds, starts, types, markets, _pxs, _sizes, _actions = chunk.lists()
    return (times, chunk.count, starts, chunk.base, kinds, types, markets)


def _values(chunk: Chunk) -> tuple[Any, ...]:
    """The columns of ``chunk`` the lane reads for a level, its tables, and the indexes of the
    texts it compares: a bid's and an offer's MDEntryType while `Feed.step` takes them as a
    level (`_feed._LEVELS`), "2" (a trade, a deletion); -2, which no entry has, for one not in
    the recording."""
    texts = chunk.text_table
    bid, offer = (
        texts.index(text) if text in texts and text in _feed._LEVELS else -2 for text in "01"
    )
    two = texts.index("2") if "2" in texts else -2
    *_, pxs, sizes, actions = chunk.lists()
    return (
        pxs,
        sizes,
        actions,
        chunk.symbol_table,
        chunk.decimal_table,
        bid,
        offer,
        two,
    )
