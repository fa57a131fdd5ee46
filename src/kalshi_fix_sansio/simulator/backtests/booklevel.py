"""Book-level backtests: a strategy that reads books, with no market-data session.

A backtest at the FIX level (``run_backtest(..., mode="fix")``, the default) gives a strategy
a market-data session: every book change the exchange makes reaches it as a 35=X, encoded by the
gateway's session, carried through the in-memory connection, decoded and checked by the
client's session and applied to its `Books`. A strategy that reads books rather than every
message can run at the book level instead (``mode="book"``): the exchange's market-data
messages to it are applied to its `Books` as the exchange builds them, with no session, no
encode, no decode and no connection between; its order entry stays a FIX session end to end
(the same order gate and limits, fills, fees, queue model and latency model). With no
market-data delay, a market where no client order rests runs in a bulk span
(``kalshi_fix_sansio.simulator.gateway.exchange.spans``): its recorded messages set a plain table
of levels, not the exchange's books, and what changed reaches the strategy's `Books` when it
looks (``Pending``); the feed runs such messages one after the other while the strategy has
nothing to look at.

Both modes give a strategy the same few calls of its `Context
<kalshi_fix_sansio.simulator.backtests.backtest.Context>`, so the same code runs in either:

* ``ctx.watch(symbols)``: the markets whose changes wake it (FIX level: the context's
  market-data session subscribes to them); ``ctx.watch(symbols, wake=False)`` keeps their
  books without waking on their changes (a strategy woken by its own timer);
* ``ctx.books``: a `Books` of those markets, as the strategy's market-data session would show
  them (the exchange's books, the strategy's own resting orders in them, after the latency
  model's market-data delay);
* ``ctx.order_entry()``: its order-entry session (a FIX session in both modes), whose events
  wake it too;
* ``ctx.wait(timeout)``: returns a `Wake` when a watched market changed, an event reached the
  order-entry session, or ``timeout`` simulated seconds passed; None once the recordings have
  ended.

A wake comes between two instants of the simulated clock, once everything due at the instant
has run (every recorded message of that time, every byte due then): what the strategy sees is
the same in both modes, so the same wake schedule gives the same orders and the same report,
byte for byte but for the report's ``run.mode`` (tests/test_backtest_booklevel.py holds the two
modes to it). Waits of this kind are the blocking API's (a plain function).

The market-data latency is applied as a connection would: each message the exchange sends the
strategy reaches its books after the model's delay, never before one sent earlier, and a
subscription reaches the exchange after the delay too. A model that draws its delays
(`LogNormalLatency <kalshi_fix_sansio.simulator.world.latency.LogNormalLatency>`,
`EmpiricalLatency <kalshi_fix_sansio.simulator.world.latency.EmpiricalLatency>`) on market data is
refused at the book level: its draws share the run's generator with order entry's, so a run
without the market-data connection would draw other delays for the orders.

Nothing here reads a clock: the time is the simulation's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, timedelta, timezone
from datetime import time as dtime
from decimal import Decimal
from typing import Any, Final

import attrs

from ...codec.errors import LocalProtocolError
from ...session.events import ApplicationMessage, Event
from ...trading.book import DEFAULT_MAX_TRADES, Books, Trade
from ...trading.builders import Requests
from ..gateway.exchange.common import BUY, CENT, TICK
from ..gateway.exchange.spans import Pending
from ..world.latency import ConstantLatency, NoLatency
from ..world.simulation import Simulation
from ._feed import Feed
from ._lane import lane as _lane

__all__ = ["MODES", "Wake", "check_mode"]

MODES: Final = ("fix", "book")
"""The modes of a backtest: ``"fix"`` (a market-data session) and ``"book"`` (none)."""

_SESSION_ID: Final = "book-level market data"
_MD: Final = "KalshiMD"
_EPOCH_DAY: Final = date(1970, 1, 1)


@attrs.frozen
class Wake:
    """Why `Context.wait <kalshi_fix_sansio.simulator.backtests.backtest.Context.wait>` returned.

    Attributes:
        time: the simulated time of the wake (UTC epoch seconds).
        markets: the watched markets whose book changed since the last wake, in the order
            they changed first.
        orders: the events of the order-entry session since the last wake, in order.
    """

    time: float
    markets: tuple[str, ...] = ()
    orders: tuple[Event, ...] = ()

    @property
    def timer(self) -> bool:
        """The wait's own timeout woke it (no market changed, no order event)."""
        return not self.markets and not self.orders


_new = object.__new__
_SET_TIME, _SET_MARKETS, _SET_ORDERS = (  # its slots' setters
    vars(Wake)[name].__set__ for name in ("time", "markets", "orders")
)


def _wake(now: float, markets: tuple[str, ...]) -> Wake:
    """``Wake(now, markets)``: its three slots set as its attrs ``__init__`` sets them (each
    through ``object.__setattr__``: it is frozen), without the bound setter that ``__init__``
    makes at each call (a wake at almost every recorded message)."""
    wake: Wake = _new(Wake)
    _SET_TIME(wake, now)
    _SET_MARKETS(wake, markets)
    _SET_ORDERS(wake, ())
    return wake


def check_mode(mode: str, api: str, latency: object) -> None:
    """``mode`` is one of `MODES`; a book-level run is blocking, its market-data latency one
    that does not draw.

    Raises:
        LocalProtocolError: naming what is wrong.
    """
    if mode not in MODES:
        raise LocalProtocolError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode != "book":
        return
    if api != "blocking":
        raise LocalProtocolError(
            f"mode='book' runs blocking strategies (a plain function), not {api}: its waits "
            "(ctx.wait) are the blocking API's"
        )
    model = latency.get(_MD) if isinstance(latency, Mapping) else latency
    if model is not None and not isinstance(model, (NoLatency, ConstantLatency)):
        raise LocalProtocolError(
            f"mode='book' applies a market-data latency that does not draw (NoLatency, "
            f"ConstantLatency), got {type(model).__name__} for {_MD}: give the drawn model to "
            "order entry alone (latency={\"KalshiNR\": ...}) or run at mode='fix'"
        )


def _micros(seconds: float) -> int:
    """``seconds`` in whole microseconds as ``timedelta(seconds=seconds)`` counts them (its
    whole seconds exact, its fraction times a million split again, what is left rounded half
    to even on the total), without making the timedelta."""
    fraction, whole = math.modf(seconds)
    left, part = math.modf(fraction * 1_000_000.0)
    micros = int(whole) * 1_000_000 + int(part)
    if left > 0.5 or (left == 0.5 and micros & 1):
        micros += 1
    elif left < -0.5 or (left == -0.5 and micros & 1):
        micros -= 1
    return micros


def _quantized(made: dict[Decimal, Decimal], value: Decimal, exponent: Decimal) -> Decimal:
    """``value.quantize(exponent)``, kept in ``made`` for the next time (a zero is made each
    time: it is falsy, the callers' cache test)."""
    made[value] = out = value.quantize(exponent)
    return out


class Waker:
    """What ``ctx.watch``, ``ctx.books``, ``ctx.order_entry`` and ``ctx.wait`` do (see the
    module docstring); `FixWaker` and `BookWaker` differ in where the books come from.

    Args:
        sim: the run's simulation.
        client: makes a client of the run (``client(market_data=...)``: `Context.client`).
        end_time: the recordings' last recorded time.
    """

    def __init__(self, sim: Simulation, client: Callable[..., Any], end_time: float) -> None:
        self.sim = sim
        self.client = client
        self.end_time = end_time
        self.books = Books()
        self.watched: dict[str, None] = {}  # the markets whose changes wake `wait`
        self.kept: dict[str, None] = {}  # the markets whose books are kept (subscribed)
        self.changed: dict[str, None] = {}
        self.requests = Requests(sim.product, _MD)
        self.oe: Any = None
        self.feed: Feed | None = None  # a feed whose markets run in bulk spans (`BookWaker`)
        self._lane: Iterator[Wake] | None = None  # the change-woken wakes' lane (`BookWaker`)

    def order_entry(self, **options: Any) -> Any:
        """The strategy's order-entry session (made once; ``with`` opens it)."""
        if self.oe is None:
            self.oe = self.client(**options).order_entry()
        return self.oe

    def watch(self, symbols: str | Iterable[str], wake: bool = True) -> None:
        """Keep the books of ``symbols`` and (``wake``) wake on their changes."""
        names = [symbols] if isinstance(symbols, str) else list(symbols)
        wrong = [n for n in names if not isinstance(n, str) or not n]
        if wrong:
            raise LocalProtocolError(
                f"ctx.watch: markets are named by their tickers (str), got {wrong[0]!r}"
            )
        if wake:
            self.watched.update(dict.fromkeys(names))
        new = [s for s in dict.fromkeys(names) if s not in self.kept]
        if not new:
            return
        self.kept.update(dict.fromkeys(new))
        self.subscribe(new)

    def subscribe(self, symbols: list[str]) -> None:
        raise NotImplementedError

    def pull(self) -> None:
        """Take in what reached the books (the FIX level: the market-data session's events)."""

    def apply(self, message: Any) -> None:
        """A market-data message to the books; a watched market it changed wakes `wait`."""
        watched, changed = self.watched, self.changed
        for symbol in self.books.apply(message).symbols:
            if symbol in watched:
                changed[symbol] = None

    def wait(self, timeout: float | None = None) -> Wake | None:
        """Run the simulation until a watched market changes, an event reaches the
        order-entry session, or ``timeout`` simulated seconds pass (None: no timeout); None
        once the recordings have ended."""
        sim = self.sim
        now = sim.time()
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0
        ):
            raise LocalProtocolError(f"ctx.wait: timeout must be seconds >= 0, got {timeout!r}")
        end = self.end_time
        deadline = math.inf if timeout is None else now + timeout
        oe = self.oe
        feed = self.feed
        while True:
            self.pull()
            orders: list[Event] = []
            if oe is not None:
                while oe.queued_events:
                    event = oe.next_event(timeout=0)
                    if event is None:
                        break
                    orders.append(event)
            if self.changed or orders:
                markets = tuple(self.changed)
                self.changed = {}
                return Wake(now, markets, tuple(orders))
            if now >= end:
                return None
            if now >= deadline:
                return Wake(now)
            if feed is not None:
                limit = min(deadline, end)
                # woken by changes: the common step (a message of markets in spans) while there
                # is nothing to look at, else the general loop (its quiet stretches in one)
                if self.watched and not self.look() and feed.step(limit):
                    while not self.look() and feed.step(limit):
                        pass
                    now = sim.time()
                    continue
                if feed.run(limit, self.look):
                    now = sim.time()
                    continue
            now = sim.run_once(min(deadline, end))

    def look(self) -> bool:
        """Whether something reached the strategy since it last looked (`Feed.run` stops)."""
        return True

    def close(self) -> None:
        """The strategy returned: its market data stops."""


class FixWaker(Waker):
    """At the FIX level: a market-data session of the context's own feeds ``books``."""

    def __init__(self, sim: Simulation, client: Callable[..., Any], end_time: float) -> None:
        super().__init__(sim, client, end_time)
        self.md: Any = None

    def subscribe(self, symbols: list[str]) -> None:
        if self.md is None:
            self.md = self.client(market_data=True).market_data()
            self.md.open()
        self.md.send(self.requests.subscribe(symbols), resubscribe=True)

    def pull(self) -> None:
        md = self.md
        if md is None:
            return
        while md.queued_events:
            event = md.next_event(timeout=0)
            if event is None:
                break
            if isinstance(event, ApplicationMessage):
                self.apply(event.message)

    def close(self) -> None:
        if self.md is not None:
            self.md.close()
            self.md = None


class BookWaker(Waker):
    """At the book level: the exchange's market-data messages to a session of its own (no
    connection) reach ``books`` after the market-data latency, as bytes would.

    Args:
        key: the market-data key, whose account the exchange's session has.
    """

    def __init__(
        self,
        sim: Simulation,
        client: Callable[..., Any],
        end_time: float,
        key: str,
    ) -> None:
        super().__init__(sim, client, end_time)
        self.key = key
        model = sim._latency.get(_MD)  # what a market-data connection of the run would draw
        # no draw: the models a book-level run takes (`check_mode`) give the same every time
        self.md_delay: float | None = None if model is None else model.draw(sim._latency_rng)
        self.connected = False
        self.driver = self  # what the gateway's router calls on a connection
        self.logged_on = True
        self.api_key: str | None = None
        self.session_id = _SESSION_ID
        self.delay: float | None = None  # the router's fault settings (none here)
        self.close_after: int | None = None
        self._out: list[Any] = []
        self._arrived: list[Any] = []
        self._look = False  # something arrived that `wait` must look at
        self._due = {"up": -math.inf, "down": -math.inf}
        self._stamps: tuple[float, Any, Any] = (math.nan, None, None)
        self._day: tuple[int | None, date] = (None, _EPOCH_DAY)  # (days since the epoch, date)
        # each recorded price and size to the tick and the cent, made once per value (the
        # recording's values are few: its compiled form's table of decimals)
        self._ticks: dict[Decimal, Decimal] = {}
        self._cents: dict[Decimal, Decimal] = {}

    def start_spans(self, feed: Feed) -> None:
        """Let the markets with no client order in them run in bulk spans (`Feed.run`), when
        the market-data latency is none or 0 (with a delay, every message goes through the
        exchange as before)."""
        if self.md_delay:
            return
        exchange = self.sim.gateway.exchange
        # a pending market keeps the trades its book would keep (`Books()`: the default)
        feed.start_spans(
            exchange.start_spans(_SESSION_ID, self.watched, self._pending, DEFAULT_MAX_TRADES)
        )
        self.feed = feed

    def _pending(self, pending: Pending, watched: bool) -> None:
        """A market in a bulk span changed since the strategy last looked: its changes reach
        the books at the next look, in their place among the messages."""
        self._arrived.append(pending)
        if watched:
            self._look = True

    def look(self) -> bool:
        oe = self.oe
        return self._look or (oe is not None and bool(oe.queued_events))

    def wait(self, timeout: float | None = None) -> Wake | None:
        """`Waker.wait`, its common case first: a strategy woken by its markets' changes
        (no timeout) gets its next `Wake` from the lane (`_lane.lane`: a generator that lives
        from one such wake to the next); where the lane stops, and for any other wait, the
        general wait goes on from where it stands (the state the same as its own loop would
        have left), and the next wait with no timeout starts a new lane."""
        feed = self.feed
        if timeout is None and feed is not None:
            lane = self._lane
            if lane is None:
                lane = self._lane = _lane(self, feed, Wake, _quantized)
            wake = next(lane, None)
            if wake is not None:
                return wake
        self._lane = None  # what it read once may have changed in the general wait
        return super().wait(timeout)

    # -- the way a connection's bytes go --------------------------------------------------------

    def _after(self, way: str, callback: Callable[..., None], *args: Any) -> None:
        """``callback(*args)`` when bytes written now would arrive (`Pipe`'s rule)."""
        scheduler = self.sim.scheduler
        if self.md_delay is None:
            scheduler.call_soon(callback, *args)
            return
        due = max(scheduler.clock.time() + self.md_delay, self._due[way])
        self._due[way] = due
        scheduler.call_at(due, callback, *args)

    def subscribe(self, symbols: list[str]) -> None:
        if not self.connected:
            self._log_on()
        self._after("up", self._request, self.requests.subscribe(symbols))

    def _log_on(self) -> None:
        """As a market-data session's open: the Logon's way there and back."""
        gateway = self.sim.gateway
        if self.md_delay:
            self.sim.run_for(self.md_delay)
        now = self.sim.time()
        conn: Any = self  # what the gateway's router calls on a connection, without bytes
        gateway._conns[_SESSION_ID] = conn
        gateway._route(
            gateway.exchange.connect(
                _SESSION_ID,
                gateway.account_of(self.key),
                _MD,
                use_dollars=True,
                now=gateway.exchange_now(now),
            ),
            now,
        )
        self.connected = True
        if self.md_delay:
            self.sim.run_for(self.md_delay)

    def _request(self, message: Any) -> None:
        gateway, now = self.sim.gateway, self.sim.time()
        gateway._route(
            gateway.exchange.handle(_SESSION_ID, message, gateway.exchange_now(now)), now
        )

    # -- what the gateway's router calls --------------------------------------------------------

    def send(self, message: Any, now: float) -> None:
        self._out.append(message)

    def flush(self, now: float) -> None:
        if self._out:
            out, self._out = self._out, []
            self._after("down", self._arrive, out)

    def garble_next(self) -> None:
        """No fault is made on a session with no bytes."""

    def _arrive(self, messages: list[Any]) -> None:
        """Messages reach the strategy's side: held until it looks (`pull`), as a session
        queues its events until they are read."""
        self._arrived.extend(messages)
        self._look = True

    def pull(self) -> None:
        self._look = False
        if not self._arrived:
            return
        arrived, self._arrived = self._arrived, []
        for item in arrived:
            if item.__class__ is Pending:
                self._apply_pending(item)
            else:
                self.apply(item)

    def _apply_pending(self, pending: Pending) -> None:
        """A market's changes in a bulk span to its book, as the 35=X of each would have
        left it (prices to the tick, sizes to the cent, the trades kept, a crossed book
        reported); each changed level once, whatever the messages between two looks."""
        symbol = pending.symbol
        book = self.books._books.get(symbol)  # `Books.get`, without its call
        if book is None or not book.has_snapshot:
            pending.looked()
            return
        ticks, cents = self._ticks, self._cents
        levels = pending.levels
        if levels:
            bids, offers = book.bids, book.offers
            for (side, px), size in levels.items():
                px = ticks.get(px) or _quantized(ticks, px, TICK)
                if size:  # a new size (0: the level went)
                    size = cents.get(size) or _quantized(cents, size, CENT)
                (bids if side == BUY else offers).set(px, size)
            levels.clear()
        trades = pending.trades
        if trades:  # made `Trade`s when the strategy reads them (`_trade`)
            book.defer_trades(self._trade).extend(trades)
            trades.clear()
        if pending.crossed:
            book.consistent = False
            pending.crossed = False
        pending.queued = False  # emptied: `Pending.looked`
        if symbol in self.watched:
            self.changed[symbol] = None

    def _trade(self, symbol: str, value: tuple[float, Decimal, Decimal, str, str]) -> Trade:
        """A trade of a bulk span (`Pending.trades`) as the 35=X of it would have left it in
        the book (its price to the tick, its size to the cent, its date and time)."""
        when, px, size, aggressor, trade_id = value
        ticks, cents = self._ticks, self._cents
        day, clock = self._stamp(when)
        return Trade(
            symbol,
            ticks.get(px) or _quantized(ticks, px, TICK),
            cents.get(size) or _quantized(cents, size, CENT),
            aggressor,
            trade_id,
            None,
            day,
            clock,
        )

    def _stamp(self, when: float) -> tuple[Any, Any]:
        """MDEntryDate and MDEntryTime the exchange gives a trade at ``when``: the date and
        the time of ``to_ms(utc(when))`` (the epoch plus ``timedelta(seconds=when)``, to the
        millisecond), without the datetime or the timedelta: the date made once a day."""
        at, day, clock = self._stamps
        if when != at:
            days, micros = divmod(_micros(when), 86_400_000_000)
            if days != self._day[0]:
                self._day = (days, _EPOCH_DAY + timedelta(days=days))
            day = self._day[1]
            seconds, micros = divmod(micros, 1_000_000)
            clock = dtime(
                seconds // 3600,
                seconds // 60 % 60,
                seconds % 60,
                micros // 1000 * 1000,
                timezone.utc,  # by position: half the call of the keyword's
            )
            self._stamps = (when, day, clock)
        return day, clock

    def close(self) -> None:
        if self.connected:
            gateway, now = self.sim.gateway, self.sim.time()
            gateway._conns.pop(_SESSION_ID, None)
            gateway._route(gateway.exchange.disconnect(_SESSION_ID, gateway.exchange_now(now)), now)
            self.connected = False
