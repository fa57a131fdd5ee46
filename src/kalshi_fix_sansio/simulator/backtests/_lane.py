"""The book level's common case in one frame: a strategy woken by its markets' changes.

A book-level run (`kalshi_fix_sansio.simulator.backtests.booklevel`) whose markets run in bulk spans
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
one: the lane does what `level` does for a market nobody subscribes to itself (its table
changed, nothing pending; the credits as `level` takes them, `_owed`; a trade's, `_credit`;
a level that appears or goes, `BulkSpans.appear` and `spans.gone`) and keeps the trades in a
list of its own, and after the message's instant its wake applies the level (its size the one
the table now holds) and the trades as `_apply_pending` would have applied the `Pending` `pull`
takes first. A book left crossed by the message gets its `Pending` the general way (`_cross`),
so that `_apply_pending` reports it. `level` is compared with `BulkSpans.changes` there too.

The per-message loop stays in `lane`, its locals read once when it starts; what is rare (the
ticker's seconds, a chunk's end, a trade, a crossed book) or once a wake (`_waking`'s wake) is
a function of its own: a call in the common case is an instruction cost at every message (the
benchmarks' pair counts hold the lane within 5 % of one function).

Nothing here reads a clock: the time is the simulation's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from heapq import heapify, heappop, heappush, heapreplace
from typing import TYPE_CHECKING, Any, Protocol, cast

from ...trading.book import Books, Trade
from ..data.recording import RecordingError
from ..gateway.exchange.common import BUY, CENT, SELL, TICK, ZERO
from ..gateway.exchange.spans import Pending, gone
from . import _feed

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
    """The wakes of a change-woken strategy, one per ``next`` (see the module docstring)."""
    spans, timer, sim = cast(Any, feed.spans), feed._timer, feed.sim
    if not _starts(feed):
        return
    scheduler, clock, exchange = sim.scheduler, sim.clock, sim.gateway.exchange
    timers, order = scheduler._timers, scheduler._order
    ledger, tables, items, mids = feed.ledger, spans.tables, feed._items, feed.ledger.mids
    level, trade, appear = spans.level, spans.trade, spans.appear
    last = min(until := waker.end_time, clock.start + sim.max_time)  # `skip_tick`'s last second
    books, watched = waker.books._books, waker.watched
    deliver = _waking(waker, clock, wake_class, quantized)
    fresh, read, direct, origin = False, True, False, clock.start  # (origin: `Feed.tie`'s)
    chunk: Any = None  # the chunk of the next message (`Feed._chunk`), its columns below
    book: Any = None  # and ``side``, ``px``, ``size``, ``moved``, ``trades``: a ``direct`` change
    side, px, size, moved, trades = cast(Any, (None,) * 5)
    while True:
        if feed._chunk is not chunk:
            chunk = feed._chunk
            times, count, starts, base, message_kinds, types, markets = _columns(chunk)
            pxs, qtys, actions, symbol_of, decimal_of, bid, offer, two = _values(chunk)
        i, oe = feed._at - 1, waker.oe  # (i: the next message's place, its row made or not)
        if feed._timer is not timer and (timer := feed._timer) is None:  # (made anew: `run_due`)
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
            return  # what `BookWaker.wait` asks before its common case, and `Feed.step`
        if not fresh and (subscribed := _subscribed(exchange, spans)) is None:
            return  # (asked at the start, and after callbacks ran: `run_due`)
        fresh = True
        waker._look = False  # as `BookWaker.pull` leaves it
        while True:  # nothing but the loop's own messages changes what the strategy sees
            top = timers[0]  # the feed's own timer is in the heap
            if top[2] is not timer:  # the ticker first (or a reader: on from the top)
                if (skipped := _skip(top, timers, order, sim, feed, last)) is None:
                    return
                if skipped:
                    continue
                fresh = read = False
                break
            when = top[0]
            if when > until or message_kinds[i] != 1:  # (1: a 35=X)
                return
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
                trades = _credit(chunk, table, e - 1, when, spans, pxs, qtys) if n == 2 else None
                side = BUY if t == bid else SELL
                size = decimal_of[qtys[e]]
                if size is None or actions[e] == two:
                    size = ZERO
                at = table.levels[side]
                old = at.get(px, ZERO)  # 0 (absent) or above: a table keeps sizes above 0
                if table.credit:
                    _owed(table.credit, side, px, old, size)
                if size > ZERO:
                    at[px] = size
                    moved = old != size
                    if not old:  # a level that appears: its house order drawn
                        appear(table, side, px, size)
                else:
                    size, moved = ZERO, old != ZERO
                    if moved:
                        gone(table, at, side, px)
                if moved or trades:
                    if table.crossed:  # `level`'s crossed book: pending, the general way
                        _cross(spans, name, table, side, px, size, moved, trades)
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
                    _go_lazy(feed, timer)
            else:  # the chunk's end: the next one's first row, the general way
                if (got := _next_chunk(feed, items, timers, top, timer)) is None:
                    break
                after, chunk = got
                times, count, starts, base, message_kinds, types, markets = _columns(chunk)
                pxs, qtys, actions, symbol_of, decimal_of, bid, offer, two = _values(chunk)
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
        if not direct and not waker._look:  # (a message, or a reader: ``read`` False, ran)
            if read:
                return
            read = True
            continue  # a reader ran and nothing is for the strategy: on from the top
        wake = deliver(oe, book if direct else None, side, px, size, moved, trades)
        read, direct = True, False
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
            if moved:  # to the tick and the cent (a size of 0: the level went)
                px = ticks.get(px) or quantized(ticks, px, TICK)
                if size:
                    size = cents.get(size) or quantized(cents, size, CENT)
                # its kept `top` dropped only where the change can move a best (`BookSide.set`)
                (book.bids if side == BUY else book.offers).set(px, size)
            if trades:  # made `Trade`s when the strategy reads them (`BookWaker._trade`)
                book.defer_trades(make_trade).extend(trades)
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


def _owed(credits: dict[Any, Decimal], side: str, px: Decimal, old: Decimal, size: Decimal) -> None:
    """`level`'s credits taken for the lane's level at ``side`` and ``px`` going from ``old``
    to ``size``: what it went down by taken from the trades owed to it (``credits``: the
    table's), the rest kept; a level gone owes nothing."""
    if old > size:
        credit = credits.pop((side, px), None)
        if credit is not None:
            drop = old - size  # `min(credit, drop)` counted, the rest kept
            if credit > drop:
                credits[side, px] = credit - drop
    elif not size:
        credits.pop((side, px), None)


def _starts(feed: Feed) -> bool:
    """Whether the lane runs on ``feed``: spans, a timer, no message hook, its columns; a
    clock that does not follow trio's (a blocking run's: its time read by `time`)."""
    return (
        feed.spans is not None
        and feed._timer is not None
        and feed.on_message is None
        and bool(feed.columns)
        and feed.sim.clock._follow is None
    )


def _skip(
    top: tuple[Any, ...], timers: list[Any], order: Iterator[int], sim: Any, feed: Feed, last: float
) -> bool | None:
    """The heap's first entry ``top`` when it is not the feed's timer: the ticker's quiet
    seconds skipped up to what is next, as `Simulation.skip_tick` skips them (True: on with
    the heap's new first), or a callback that only reads (the statistics' sampler) run at its
    instant with what else is due then, as `Feed.run` runs it (`sim.advance`, then
    `Scheduler.run_due`; False: the lane goes on from the top); None: anything else, the lane
    stops."""
    when, _order, tick = top
    clock, scheduler = sim.clock, sim.scheduler
    if tick.cancelled or when > last:
        return None
    if tick.callback != sim._ticker:
        if tick.callback not in feed.readers:
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


def _credit(
    chunk: Chunk, table: Any, j: int, when: float, spans: Any, pxs: Any, sizes: Any
) -> list[Any]:
    """`trade(table, name, entry, when, subscribed, trades)` inline for the lane's trade at
    entry ``j`` of ``chunk`` (a market nobody else sees): its credit to the resting side, and
    the list of its trade (none when its price or size is not a decimal)."""
    trades: list[Any] = []
    decimal_of = chunk.decimal_table
    trade_px = decimal_of[pxs[j]]
    trade_size = decimal_of[sizes[j]]
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
