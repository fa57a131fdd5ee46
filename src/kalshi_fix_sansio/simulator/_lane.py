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

Each ``next`` runs, while nothing is for the strategy to look at: the second's ticker skipped
up to the next message as `Simulation.skip_tick` skips it (`_skip`), the message (a 35=X of one
market in a span: a level, or a trade then a level) to its table, the ledger marked
(`PaperLedger.mark`), the next message's timer put back where `Feed.step` pushes it (its entry
left first in the heap while the message runs, nothing it runs reading the heap, then replaced:
one `heapreplace` for the step's pop and push, `_drop` where a callback went first meanwhile;
`_next_chunk` at a chunk's end), what else is due at the instant run (`Scheduler.run_due`; a
reader of the feed's, the statistics' sampler, run the same way at its own instant when it
comes first); then what reached the strategy to its books and its `Wake` (`_waking`).

A watched market's message whose `Pending` is not already handed over goes to its book without
one (`_direct`): the lane does what `level` does for a market nobody subscribes to itself (its
table changed, nothing pending) and keeps the trades in a list of its own, and after the
message's instant its wake applies the level (its size the one the table now holds) and the
trades as `_apply_pending` would have applied the `Pending` `pull` takes first. A book left
crossed by the message gets its `Pending` the general way (`BulkSpans._pending`), so that
`_apply_pending` reports it. `level` is compared with `BulkSpans.changes` there too.

The per-message loop stays in `lane` (its locals read once); what is rare or per wake is a
function of its own, one call each where it happens.

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
    one per ``next``, while each is the common case (the module docstring says what each
    ``next`` runs and where the lane stops); each is the `Wake` `BookWaker.wait` would return,
    the simulation left as that wait leaves it (``wake_class``: made as `booklevel._wake`
    makes it; ``quantized``: `booklevel._quantized`). The generator returns where it stops:
    the caller waits the general way from there."""
    spans, timer, sim = feed.spans, feed._timer, feed.sim
    scheduler, clock, exchange = sim.scheduler, sim.clock, sim.gateway.exchange
    if spans is None or timer is None or feed.on_message is not None or not feed.columns:
        return
    if clock._follow is not None:
        return  # (a clock that follows trio's: not a blocking run's; its time read by `time`)
    timers, order, ticker, readers = scheduler._timers, scheduler._order, sim._ticker, feed.readers
    ledger, tables, items, mids = feed.ledger, spans.tables, feed._items, feed.ledger.mids
    level, trade = spans.level, spans.trade
    until = waker.end_time
    last = min(until, clock.start + sim.max_time)  # `skip_tick`'s last second
    books, watched = waker.books._books, waker.watched
    deliver = _waking(waker, clock, wake_class, quantized)
    origin = clock.start  # the ticker's seconds: origin, origin + 1.0... (`Feed.tie`)
    fresh = False  # what the exchange has due and the subscriptions: asked below
    read = True  # False: the inner loop stopped for a reader (`Feed.readers`), not a message
    direct = False  # a change straight to a book: `book`, `side`, `px`, `size`, `moved`, `trades`
    chunk: Any = None  # the chunk of the next message (`Feed._chunk`), its columns below
    while True:
        if feed._chunk is not chunk:
            chunk = feed._chunk
            assert chunk is not None
            times, count, starts, base, message_kinds, types, markets = _columns(chunk)
            pxs, entry_sizes, actions, symbol_of, decimal_of, bid, offer, two = _values(chunk)
        i = feed._at - 1  # the next message's place in it (its row made or not: `_lazy`)
        oe = waker.oe
        if feed._timer is not timer:  # made anew (`Feed._apply` in `run_due`): on with it
            timer = feed._timer
            if timer is None:
                return
        if _stopped(waker, oe, scheduler, clock, until):
            return
        if not fresh:  # at the start, and after callbacks ran (`run_due`): asked again
            if (subscribed := _subscribed(exchange, spans)) is None:
                return
            fresh = True
        waker._look = False  # as `BookWaker.pull` leaves it
        while True:  # nothing but the loop's own messages changes what the strategy sees
            top = timers[0]  # the feed's own timer is in the heap
            if top[2] is not timer:  # the ticker first (or a reader: on from the top)
                skipped = _skip(top, timers, order, ticker, readers, last, clock, scheduler)
                if skipped is None:
                    return
                if skipped:
                    continue
                fresh = read = False
                break
            when = top[0]
            if when > until or message_kinds[i] != 1:  # (1: a 35=X)
                return
            # its entries in the chunk's columns (entry e: its level; `_values` says the rest)
            e = starts[i] - base
            n = starts[i + 1] - base - e
            if n == 2 and types[e] == two and markets[e] == markets[e + 1]:
                e += 1  # a trade then a level of its market (else a level): as `step` takes them
            elif n != 1:
                return
            t = types[e]
            if t != bid and t != offer:  # (`_feed._LEVELS`: a bid, an offer)
                return
            name = symbol_of[markets[e]]
            px = decimal_of[pxs[e]]
            if name is None or px is None or (table := tables.get(name)) is None:
                return
            if when > clock._now:  # a recorded time, within max_time: `SimClock.advance_to`
                clock._now = when
            if (
                name in watched
                and ((pending := table.pending) is None or not pending.queued)
                and (book := books.get(name)) is not None
                and book.has_snapshot
                and name in subscribed
            ):
                # its changes straight to the strategy's book after it (`_direct`)
                side = BUY if t == bid else SELL
                size = decimal_of[entry_sizes[e]]  # (a deletion: 0)
                change = _direct(
                    spans, name, table, chunk, e, n, side, px, size, actions[e] == two, when
                )
                if change is not None:
                    size, moved, trades = change
                    direct = True
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
                    _go_lazy(feed, timer)
            else:  # the chunk's end: the next one's first row, the general way
                got = _next_chunk(feed, items, timers, top, timer)
                if got is None:
                    break
                after, chunk = got
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
        # a message (or a reader: ``read`` False) ran: `BookWaker.wait`'s common case
        if direct:
            direct = False
            wake = deliver(oe, book, side, px, size, moved, trades)
        elif not waker._look:
            if read:
                return
            read = True
            continue  # a reader ran and nothing is for the strategy: on from the top
        else:
            read = True  # (a reader's instant ran a message too: as after a message)
            wake = deliver(oe, None, None, None, None, False, None)
        if wake is None:
            return
        yield wake


def _waking(
    waker: Waker,
    clock: Any,
    wake_class: type[Any],
    quantized: Callable[[dict[Decimal, Decimal], Decimal, Decimal], Decimal],
) -> Callable[..., Any]:
    """The lane's wake after a message (``deliver``): what it wrote straight to the table of
    a watched market's ``book`` (``side``, ``px``, ``size``, ``moved``, ``trades``; ``book``
    None: none), or what arrived for the strategy (`BookWaker.pull`, its common case written
    out: one market's `Pending` of one level), applied to its books as `_apply_pending`
    applies it, and the `Wake` `BookWaker.wait` returns; None where the lane stops."""
    set_time, set_markets, set_orders = (  # its slots' setters
        vars(wake_class)[name].__set__ for name in ("time", "markets", "orders")
    )
    books, watched, ticks, cents = waker.books._books, waker.watched, waker._ticks, waker._cents
    apply_pending, make_trade, new = waker._apply_pending, waker._trade, object.__new__

    def deliver(oe: Any, book: Any, side: Any, px: Any, size: Any, moved: bool, trades: Any) -> Any:
        if book is not None:
            symbol = book.symbol
        else:
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
                return wake
            waker.changed[symbol] = None
            waker.pull()  # what arrived after the change (callbacks at its instant)
        changed = waker.changed
        if not changed or (oe is not None and oe.queued_events):
            return None
        waker.changed = {}
        return wake_class(clock._now, tuple(changed))

    return deliver


def _stopped(waker: Waker, oe: Any, scheduler: Any, clock: Any, until: float) -> bool:
    """Whether the lane stops before its next message: what `BookWaker.wait` asks before its
    common case (nothing watched, something arrived or changed, an order event queued), and
    `Feed.step` before a step (a callback ready, the scheduler's waker set, the run's end)."""
    return bool(
        not waker.watched
        or waker._arrived
        or waker.changed
        or (oe is not None and oe.queued_events)
        or scheduler._ready
        or scheduler.waker is not None
        or clock._now >= until
    )


def _direct(
    spans: Any,
    name: str,
    table: Any,
    chunk: Chunk,
    e: int,
    n: int,
    side: str,
    px: Decimal,
    size: Decimal | None,
    deleted: bool,
    when: float,
) -> tuple[Decimal, bool, list[Any] | None] | None:
    """A watched market's message (its level at entry ``e`` of ``chunk``, a trade before it
    when ``n`` is 2) made straight to its ``table`` at ``when``, for its book after it: what
    `trade` and `level` would have made pending for `pull`. `level(table, name, entry, when,
    (), False)` written out (a market nobody else sees, its `Pending` not handed over: nothing
    pending): the level at ``side`` and ``px`` set to ``size`` (None or ``deleted``: 0, gone),
    the credits taken as `level` takes them (`owed`, inline), its rare parts by calls (a trade,
    `_credit`; a level that appears, `BulkSpans.appear`, or goes, `spans.gone`; a book left
    crossed, `_cross`). The level's size now, whether it moved, and the trades (a list, or
    None), which the wake applies to the book as `_apply_pending` would have applied the
    `Pending`; None: nothing for the book (nothing changed, or the book is crossed)."""
    trades = _credit(chunk, table, e - 1, when, spans) if n == 2 else None
    if size is None or deleted:
        size = ZERO
    at = table.levels[side]
    # a table keeps sizes above 0 alone (`level`, this lane, and the exchange's recorded levels
    # it starts from, `RecordedMarkets.level`): ``old`` is 0 (absent) or above, its truth its
    # comparison with 0; ``not size`` is ``size == ZERO``
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
            spans.appear(table, side, px, size)
    elif old:
        size = ZERO
        moved = True
        gone(table, at, side, px)
    else:
        size = ZERO
        moved = False
    if not moved and not trades:
        return None
    if table.crossed:  # `level`'s crossed book: pending, the general way
        _cross(spans, name, table, side, px, size, moved, trades)
        return None
    return size, moved, trades


def _skip(
    top: tuple[Any, ...],
    timers: list[Any],
    order: Iterator[int],
    ticker: Any,
    readers: Any,
    last: float,
    clock: Any,
    scheduler: Any,
) -> bool | None:
    """The heap's first entry ``top`` when it is not the feed's timer: the ticker's quiet
    seconds skipped up to what is next, as `Simulation.skip_tick` skips them (True: on with
    the heap's new first), or a callback that only reads (the statistics' sampler) run at its
    instant with what else is due then, as `Feed.run` runs it (`sim.advance`, then
    `Scheduler.run_due`; False: the lane goes on from the top); None: anything else, the lane
    stops."""
    when, _order, tick = top
    if tick.cancelled or when > last:
        return None
    if tick.callback != ticker:
        if tick.callback not in readers:
            return None
        if when > clock._now:  # `SimClock.advance_to` (within max_time: ``last``)
            clock._now = when
        scheduler.run_due()
        return False
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
    return True


def _credit(chunk: Chunk, table: Any, j: int, when: float, spans: Any) -> list[Any]:
    """`trade(table, name, entry, when, subscribed, trades)` inline for the lane's trade at
    entry ``j`` of ``chunk`` (a market nobody else sees): its credit to the resting side, and
    the list of its trade (none when its price or size is not a decimal)."""
    trades: list[Any] = []
    decimal_of = chunk.decimal_table
    *_, pxs, entry_sizes, _actions = chunk.lists()
    trade_px = decimal_of[pxs[j]]
    trade_size = decimal_of[entry_sizes[j]]
    if trade_px is not None and trade_size is not None:
        aggressor = chunk.text_table[chunk.aggressors[j]] or BUY
        key = (SELL if aggressor == BUY else BUY, trade_px)
        credits = table.credit
        credits[key] = credits.get(key, ZERO) + trade_size
        trade_id = chunk.trade_id(j) or spans.state.uuid()
        trades.append((when, trade_px, trade_size, aggressor, trade_id))
    return trades


def _cross(
    spans: Any,
    name: str,
    table: Any,
    side: str,
    px: Decimal,
    size: Decimal,
    moved: bool,
    trades: Any,
) -> None:
    """A lane's change that left ``table``'s book crossed: pending the general way, as
    `level` makes it (`BulkSpans._pending`), so that `_apply_pending` reports it."""
    pending = spans._pending(name, table)
    if moved:
        pending.levels[side, px] = size
    if trades:
        pending.trades.extend(trades)
    pending.crossed = True


def _next_chunk(
    feed: Feed, items: Iterator[Any], timers: list[Any], top: tuple[Any, ...], timer: Any
) -> tuple[float, Chunk] | None:
    """At a chunk's end, the next one's first row taken the general way, its timer made to
    apply it (`Feed._apply`): its time and the chunk; None at the recording's end or where
    it fails (the feed's timer dropped, `Feed._next_recording` or `Feed._fail` called)."""
    try:
        item = next(items, None)
    except RecordingError as exc:
        _drop(timers, top)
        feed._timer = None
        feed._fail(exc)
        return None
    if item is None:
        _drop(timers, top)
        feed._timer = None
        feed._next_recording()
        return None
    feed._row = item
    feed._lazy = False
    timer.callback, timer.args = feed._apply, (item,)
    chunk = feed._chunk
    assert chunk is not None
    return item[0], chunk


def _subscribed(exchange: Any, spans: Any) -> Any:
    """The markets the spans' session subscribes to (`Session.md_symbols`; none without a
    session), asked at the lane's start and after callbacks ran; None where the exchange has
    something due at some time (an order that can expire, an open RFQ): the lane stops."""
    if exchange.tick_due(math.inf):
        return None
    session = spans.state.sessions.get(spans.session_id)
    return session.md_symbols if session is not None else ()


def _go_lazy(feed: Feed, timer: Any) -> None:
    """The feed's timer made to read its next message by index, with no row made
    (`Feed._lazy_apply`), after a chunk's first message (`_next_chunk`: its row made)."""
    feed._lazy = True
    feed._row = None
    timer.callback, timer.args = feed._lazy_apply, ()


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
