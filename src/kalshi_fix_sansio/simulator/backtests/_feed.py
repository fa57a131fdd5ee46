"""A backtest's recordings, fed into a simulation's exchange on the simulated clock.

`Feed` reads the compiled recordings (`kalshi_fix_sansio.simulator.backtests.compiled.compile_recording`:
checked and compiled once, their columns streamed a chunk at a time, no frame decoded again) and
hands each recorded message to the exchange as the columns give it (`Exchange.replay_row`:
plain values, no message object; a 35=X of one market and its route in one step,
`Router.replay_market`) at its recorded time, as a callback of the simulation's
scheduler: the books follow the recording, market-data subscribers get its messages, resting
client orders fill as its trades and level changes reach them. Several
recordings run in sequence: the markets of each are listed when it starts; a recording that
starts before the one before it ends is refused. When the last one ends, the markets
``settle`` names are settled (a recorded 35=UMS settles its market where it is), and the
ledger is told how the recordings ended.

In a book-level run (`kalshi_fix_sansio.simulator.backtests.booklevel`) the markets with no client order
in them run in bulk spans (`kalshi_fix_sansio.simulator.gateway.exchange.spans`): their recorded
messages go to a plain table of levels, not through the exchange, the ledger's mids read from
it; and `Feed.run` runs the simulation instant after instant while the strategy has nothing to
look at, the recorded messages of markets in spans one after the other in one loop (no
scheduler callback each).

Nothing here reads a clock: the time is the simulation's, which the recordings move.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from heapq import heappop, heappush, heapreplace
from typing import Any, Final

from ...codec.errors import LocalProtocolError
from ..data.recording import RecordingError
from ..gateway.exchange.spans import BulkSpans
from ..gateway.net import Timer
from ..gateway.paper import PaperLedger
from ..world.simulation import QUIET, Simulation
from ._chunks import Chunk
from .compiled import CompiledRecording, Entries, Row, compile_recording

__all__ = ["Feed", "compile_recordings"]

_LEVELS: Final = frozenset({"0", "1"})  # a bid's and an offer's MDEntryType (35=X entries)


def compile_recordings(
    paths: Sequence[str | os.PathLike[str]],
    product: str | None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    cache: bool = True,
) -> list[CompiledRecording]:
    """Check and compile each recording (`compile_recording`: once, then from its cache),
    all of one product, in time order.

    Raises:
        RecordingError: a recording's first problem (file, line, byte), or a corrupt cache.
        LocalProtocolError: no recording, recordings of two products, or one that starts
            before the one before it ends.
    """
    if not paths:
        raise LocalProtocolError("a backtest needs at least one recording")
    compiled: list[CompiledRecording] = []
    for path in paths:
        recording = _compiled(os.fspath(path), product, cache_dir, cache)
        info = recording.info
        product = product or info.product
        if compiled and info.product != compiled[0].info.product:
            raise LocalProtocolError(
                f"{os.fspath(path)} is a {info.product} recording, {os.fspath(paths[0])} a "
                f"{compiled[0].info.product} one: a backtest runs one product"
            )
        before = compiled[-1].info if compiled else None
        if (
            before is not None
            and before.last_time is not None
            and info.first_time is not None
            and info.first_time < before.last_time
        ):
            raise LocalProtocolError(
                f"{os.fspath(path)} starts before {os.fspath(paths[len(compiled) - 1])} ends: "
                "recordings run in sequence (give them in time order)"
            )
        compiled.append(recording)
    return compiled


_IN_MEMORY: dict[tuple[object, ...], CompiledRecording] = {}
_MOST_IN_MEMORY = 4


def _stamp(path: str) -> tuple[int, int]:
    """A recording's size and modification time: what says it changed since it was compiled."""
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)  # the reader says what is wrong with it
    return (st.st_size, st.st_mtime_ns)


def _compiled(
    path: str, product: str | None, cache_dir: str | os.PathLike[str] | None, cache: bool
) -> CompiledRecording:
    """`compile_recording`; a compiled form kept in memory (no cache file: ``cache=False``, or
    a recording's directory that cannot be written) is kept for the next run in this process
    while the file's size and time stay the same (a sweep runs the same recordings many
    times), at most a few of them."""
    where = None if cache_dir is None else os.path.realpath(cache_dir)
    key = (os.path.realpath(path), *_stamp(path), product, where, cache)
    recording = _IN_MEMORY.get(key)
    if recording is None:
        recording = compile_recording(path, product=product, cache_dir=cache_dir, cache=cache)
        if recording.cache_path is None:
            if len(_IN_MEMORY) >= _MOST_IN_MEMORY:
                del _IN_MEMORY[next(iter(_IN_MEMORY))]
            _IN_MEMORY[key] = recording
    return recording


class Feed:
    """The recordings of one run, fed into ``sim``'s exchange (see the module docstring).

    Args:
        sim: the simulation (its clock starts at or before the first recorded time).
        recordings: the recordings, compiled (`compile_recordings`), in time order.
        ledger: the run's ledger (fills, mids, settlements).
        settle: market -> ``"yes"`` / ``"no"``, settled when the last recording ends.
        on_message: called with each recorded message (a compiled `Row`) after the exchange
            took it.
        columns: read the recordings a chunk of columns at a time (`CompiledRecording.chunks`),
            the current chunk in ``_chunk`` and the next message's place in it in ``_at``: a
            book-level run's lane (`_lane.lane`) reads the messages there by index (``_lazy``)
            and the rows are made only for the general path (`_columns`, `_settle`).
    """

    def __init__(
        self,
        sim: Simulation,
        recordings: Sequence[CompiledRecording],
        ledger: PaperLedger,
        settle: Mapping[str, str],
        on_message: Callable[[Any, float], None] | None = None,
        *,
        columns: bool = False,
    ) -> None:
        self.sim = sim
        self.recordings = list(recordings)
        self.paths = [r.path for r in self.recordings]
        self.infos = [r.info for r in self.recordings]
        self.ledger = ledger
        self.settle = dict(settle)
        self.on_message = on_message
        self.messages = 0
        """Recorded messages fed so far."""
        self.done = False
        """The last recording ended (or one failed: `error`)."""
        self.error: RecordingError | None = None
        self._index = -1
        self._items: Iterator[Row] = iter(())
        self.spans: BulkSpans | None = None
        """The markets in bulk spans (`start_spans`; None: every message through the exchange)."""
        self._row: Row | None = None  # the next recorded message, due at its time
        self._timer: Timer | None = None  # its callback
        self.columns = columns
        self._chunk: Chunk | None = None  # (``columns``) the chunk of the next message read
        self._at = 0  # the place after it in the chunk
        # the lane read the next message from the chunk's columns: ``_row`` not made yet, its
        # timer's callback `_lazy_apply` (`_settle` makes it)
        self._lazy = False
        self.readers: set[Callable[..., object]] = set()
        """Callbacks that only read the simulation and return `QUIET` (the statistics'
        sampler, `backtest._sample_every`): a loop that runs the messages itself (the book
        level's lane) runs such a callback at its instant, as `Scheduler.run_due` would, and
        goes on, where any other callback stops it."""
        self.tie = True
        """Whether the ticker, every second (`Simulation._parks` False), would run before
        the last message read (`_ticks`) when that message is due at one of its seconds (a
        parked ticker brought back at that second takes that place, `Simulation._unpark`)."""
        sim._feed = self
        exchange = sim.gateway.exchange
        exchange.fill_listeners.append(ledger.on_fill)
        exchange.settlement_listeners.append(ledger.on_settlement)  # a settlement's fee

    @property
    def end_time(self) -> float:
        """The last recorded time of the last recording (its start when it has no message)."""
        for info in reversed(self.infos):
            if info.last_time is not None:
                return info.last_time
        return self.sim.clock.start

    def start(self) -> None:
        """Begin with the first recording (its first message is due at its recorded time)."""
        self._next_recording()

    def start_spans(self, spans: BulkSpans) -> None:
        """Run the markets that qualify in bulk spans from now on (those listed so far)."""
        self.spans = spans
        for info in self.infos[: self._index + 1]:
            for symbol in info.markets:
                spans.join(symbol)

    def _next_recording(self) -> None:
        self._index += 1
        if self._index >= len(self.paths):
            self._finish()
            return
        recording = self.recordings[self._index]
        gateway = self.sim.gateway
        now = self.sim.clock.time()
        gateway._route(gateway.exchange.list_markets(recording.info.markets, now), now)
        if self.spans is not None:
            for symbol in recording.info.markets:
                self.spans.join(symbol)
        # checked and compiled before the run: its columns, no frame decoded again
        self._items = self._columns(recording) if self.columns else self._ticks(recording.rows())
        self._next()

    def _next(self, timer: Timer | None = None) -> None:
        """The next recorded message read and its callback asked for at its time (`Scheduler.
        call_at`); ``timer``: the one of the message just taken, out of the scheduler, to carry
        it (as `Scheduler.push` would make it: its time and row set, nothing else changed)."""
        try:
            item = next(self._items, None)
        except RecordingError as exc:  # a cache file changed since it was checked
            self._fail(exc)
            return
        if item is None:
            self._next_recording()
            return
        self._row = item
        # `Scheduler.call_at`, inline: every row asks it
        scheduler, when = self.sim.scheduler, item[0]
        timers = scheduler._timers
        sooner = not timers or when < timers[0][0]
        if timer is None:
            timer = Timer(when, self._apply, (item,))
        else:
            timer.when, timer.args = when, (item,)
        self._timer = timer
        heappush(timers, (when, next(scheduler._order), timer))
        if sooner and scheduler.waker is not None:
            scheduler.waker()

    def _ticks(self, rows: Iterator[Row]) -> Iterator[Row]:
        """``rows``, each noted against the ticker's seconds as it is read (`tie`). A message
        is asked for when the one before it is taken, at that one's time (the first of a
        recording at the clock's); the ticker, every second, is asked for at each second
        when the clock reaches the second before. So of a message due at one of its seconds,
        the ticker comes first when the message before it was taken within the second
        before, last when earlier, and as with the message before when that one was due at
        the second before (first for the run's first message: the ticker was asked for when
        the simulation was made)."""
        clock = self.sim.clock
        origin = clock.start  # the ticker's seconds: origin, origin + 1.0...
        before = clock._now
        for row in rows:
            when = row[0]
            if (when - origin).is_integer() and before != when - 1.0:  # (else: as the one before)
                self.tie = before > when - 1.0
            before = when
            yield row

    def _columns(self, recording: CompiledRecording) -> Iterator[Row]:
        """The recording's rows from its chunks (`CompiledRecording.chunks`), each noted
        against the ticker's seconds as `_ticks` notes them, the chunk and the place in it
        kept (``_chunk``, ``_at``); where the lane read on in the chunk's columns meanwhile
        (``_at`` moved), the rows go on from there: the feed's place is one, whoever read."""
        clock = self.sim.clock
        origin = clock.start  # the ticker's seconds: origin, origin + 1.0...
        before = clock._now
        for chunk in recording.chunks():
            self._chunk = chunk
            times, count = chunk.times, chunk.count
            at = start = 0  # the place after the last message read; where the rows start
            while at < count:
                for at, row in enumerate(chunk.rows(start), start + 1):
                    when = row[0]
                    if (when - origin).is_integer() and before != when - 1.0:  # (else: as before)
                        self.tie = before > when - 1.0
                    before = when
                    self._at = at
                    yield row
                    if self._at != at:  # the lane read on: the rows from its place
                        at = start = self._at
                        before = times[at - 1]
                        break

    def _settle(self) -> Row:
        """The next message's `Row`, made from the columns where the lane read it (``_lazy``),
        its timer given back to `_apply` with it: what the general path reads."""
        chunk = self._chunk
        assert chunk is not None
        row = self._row = chunk.row(self._at - 1)
        self._lazy = False
        timer = self._timer
        if timer is not None:
            timer.callback, timer.args = self._apply, (row,)
        return row

    def _lazy_apply(self) -> object:
        """The next message's callback while the lane read it from the columns: `_apply` of
        its row (`_settle`)."""
        return self._apply(self._settle())

    def _apply(self, row: Row) -> object:
        """One recorded message to the exchange (a callback of the scheduler): `QUIET` when
        the exchange sent nothing to anyone and the recordings go on (no client saw it: no
        wait wakes for it)."""
        timer, self._timer = self._timer, None
        clock = self.sim.clock
        now = clock._now if clock._follow is None else clock.time()
        if self.spans is not None:
            quiet = self._take(row, now)
            self._next()
        else:
            gateway = self.sim.gateway
            entries = row[5]
            # the common message, a 35=X of one market: the exchange's call and its route in
            # one step (`Router.replay_market`), the ledger's mark as `_follow` makes it; None:
            # not such a message, nothing done (`_take` takes it)
            # (its 35=X handed over, `Router.handed`, when nothing else runs before it comes
            # back: no ``on_message``)
            on_message = self.on_message
            sent = (
                gateway.replay_market(entries, now, on_message is None) if row[1] == "X" else None
            )
            if sent is None:
                quiet = self._take(row, now)
            else:
                self.messages += 1
                name = entries[0][1]  # its one market (`replay_market` took it)
                handed = gateway.handed
                if handed is not None:
                    gateway.handed = None
                    try:
                        self.ledger.mark(name, now, gateway.exchange.recorded_mid(name))
                        # its timer carries the next message at the FIX level
                        self._next(timer)
                    except BaseException:  # the chunk delivered later, as `Pipe.write` would
                        self.sim.scheduler.call_soon(handed[0]._receive, handed[1])
                        raise
                    # the pipe's delivery (`Pipe._receive`), the scheduler's next callback had
                    # it been written (`Pipe.hand_over`), run here as below: one whole frame
                    # the gateway's session built, to the client's read of such (`Pipe.built`),
                    # with its values when the session made it of them
                    pipe = handed[0]
                    if not pipe._closing:
                        pipe.built(handed[1], handed[2])
                    return None
                self.ledger.mark(name, now, gateway.exchange.recorded_mid(name))
                if on_message is not None:
                    on_message(row, now)
                quiet = not sent
            # its timer carries the next message at the FIX level (a book-level loop tells its
            # feed's steps apart by their timers: a new one each)
            self._next(timer if self.spans is None else None)
        if quiet:
            return None if self.done else QUIET
        # the scheduler's next callback (the pipe's delivery of what the message sent: the
        # first of those due now) run here, as `Scheduler.run_due` runs it next: one hop less
        ready = self.sim.scheduler._ready
        if ready:
            timer = ready.popleft()
            if not timer.cancelled:
                timer.callback(*timer.args)
        return None

    def _take(self, row: Row, now: float) -> bool:
        """One recorded message at ``now``; True: the exchange sent nothing to anyone (it went
        to the spans' tables, or no session was told). At the FIX level, a 35=X of one market
        that `Router.replay_market` takes never comes here (`_apply` gives it that step)."""
        gateway = self.sim.gateway
        exchange = gateway.exchange
        _time, kind, symbol, status, result, entries = row
        spans = self.spans
        if spans is not None and spans.takes(kind, symbol, entries):
            quiet = not exchange.tick_due(now)
            if not quiet:  # what the exchange's call would have run first (expiries...)
                gateway._route(exchange.tick(now), now)
            self._bulk(spans, row, now)
            return quiet
        names: list[str | None] = []
        if spans is not None:  # its markets get their recorded books back, then spans again
            names = [e[1] for e in entries] if kind == "X" else [symbol]
            spans.leave_all(names)
        out = exchange.replay_row(kind, symbol, status, result, entries, now)
        if out:
            gateway._route(out, now)
        self.messages += 1
        self._follow(kind, symbol, result, entries, now)
        if spans is not None:
            for name in dict.fromkeys(names):
                if name is not None:
                    spans.join(name)
        if self.on_message is not None:
            self.on_message(row, now)
        return not out

    def _bulk(self, spans: BulkSpans, row: Row, now: float) -> None:
        """A recorded message of markets in spans to their tables, the ledger's marks read
        from them."""
        _time, kind, symbol, _status, _result, entries = row
        if kind == "X":
            spans.changes(entries, now)
        else:
            spans.apply(kind, symbol, entries, now)
        self.messages += 1
        mark, tables = self.ledger.mark, spans.tables
        if kind == "X":
            if len(entries) == 1:  # the common case: one market
                symbol = entries[0][1]
                if symbol is not None:
                    mark(symbol, now, tables[symbol].mid)
            else:
                for name in {e[1]: None for e in entries}:
                    if name is not None:
                        mark(name, now, tables[name].mid)
        elif symbol is not None:
            mark(symbol, now, tables[symbol].mid)
        if self.on_message is not None:
            self.on_message(row, now)

    def run(self, until: float, look: Callable[[], bool]) -> bool:
        """Run the simulation instant after instant up to ``until``, as `Simulation.run_once`
        would, while ``look()`` is False (the strategy has nothing to look at): the recorded
        messages of markets in spans in one loop, no scheduler callback each. Whether anything
        ran (False: nothing is due by ``until``)."""
        sim = self.sim
        scheduler = sim.scheduler
        timers = scheduler._timers
        ran = False
        while not look():
            if not scheduler._ready:
                while timers and timers[0][2].cancelled:
                    heappop(timers)
                if not timers or timers[0][0] > until:
                    return ran
                entry = timers[0]
                ran = True
                if entry[2] is self._timer:
                    heappop(timers)
                    self._timer = None
                    sim.clock.advance_to(entry[0])  # a recorded time: within max_time
                    self._span(until, look)
                elif sim.skip_tick(entry, _others(timers, math.inf), until):
                    continue  # seconds with nothing due: no call
                else:
                    sim.advance(entry[0])
                if not scheduler._ready and not (timers and timers[0][0] <= sim.clock.time()):
                    continue  # nothing else due at this instant
            scheduler.run_due()  # the rest of the instant
            ran = True
        return ran

    def step(self, until: float) -> bool:
        """`run`'s common step for a strategy woken by its markets' changes, called while it
        has nothing to look at: the second's ticker skipped up to the next recorded message,
        the message (one of markets in spans, nothing due in the exchange) to the tables, the
        next one put in its place, what else is due at the instant run. Whether it ran (False:
        not the common case, nothing but the ticker's skip done: `run` it)."""
        sim = self.sim
        scheduler = sim.scheduler
        timer = self._timer
        timers = scheduler._timers
        if self._lazy:
            self._settle()
        if timer is None or scheduler._ready or not timers:
            return False
        top = timers[0]  # the feed's own timer is in the heap
        while top[2] is not timer:
            if top[2].cancelled:
                heappop(timers)
            elif top[0] > until or not sim.skip_tick(top, _others(timers, math.inf), until):
                return False  # another callback first: `run`'s (as `run` would skip the same)
            top = timers[0]
        when = top[0]
        row = self._row
        spans = self.spans
        assert row is not None and spans is not None
        if when > until:
            return False
        _time, kind, symbol, _status, _result, entries = row
        table = None  # the common message (a 35=X of one market in a span): no `_bulk`
        if kind == "X" and entries and self.on_message is None:
            name = entries[0][1]
            n = len(entries)
            if name is not None and (n == 1 or (n == 2 and entries[1][1] == name)):
                table = spans.tables.get(name)
        if (table is None and not spans.takes(kind, symbol, entries)) or (
            sim.gateway.exchange.tick_due(when)
        ):
            return False
        heappop(timers)
        self._timer = None
        sim.clock.advance_to(when)  # a recorded time: within max_time
        if table is not None:
            entry = entries[-1]  # a level, after a trade: as `_quiet` takes it
            if entry[0] in _LEVELS and entry[2] is not None and (n == 1 or entries[0][0] == "2"):
                session = spans.state.sessions.get(spans.session_id)
                subscribed = session.md_symbols if session is not None else ()
                seen = n == 2 and spans.trade(table, name, entries[0], when, subscribed)
                spans.level(table, name, entry, when, subscribed, seen)
            else:
                spans.changes(entries, when)
            self.messages += 1
            self.ledger.mark(name, when, table.mid)
        else:
            self._bulk(spans, row, when)
        try:
            item = next(self._items, None)
        except RecordingError as exc:
            self._fail(exc)
            return True
        if item is None:
            self._next_recording()
        else:  # its callback would be asked for now, after every callback asked for before
            self._row = item
            if scheduler.waker is None:  # `Scheduler.push`, with the timer that left the heap
                timer.when, timer.args = item[0], (item,)
                heappush(timers, (item[0], next(scheduler._order), timer))
                self._timer = timer
            else:
                self._timer = scheduler.push((item[0], next(scheduler._order)), self._apply, item)
        if scheduler._ready or (timers and timers[0][0] <= when):
            scheduler.run_due()  # the rest of the instant, as `run` runs it
        return True

    def _span(self, until: float, look: Callable[[], bool]) -> None:
        """The next recorded message, due now, and those after it while each goes to the spans'
        tables, the callbacks due between them run as the scheduler would (a second's tick, a
        sample of the statistics) while they send nothing; the message they stop at is
        scheduled where its callback would have been (`Scheduler.push`)."""
        sim = self.sim
        scheduler = sim.scheduler
        timers = scheduler._timers
        order = scheduler._order
        row = self._settle() if self._lazy else self._row
        assert row is not None
        now = row[0]
        advance = sim.clock.advance_to
        spans = self.spans
        assert spans is not None
        takes, bulk = spans.takes, self._bulk
        tick_due = sim.gateway.exchange.tick_due
        items = self._items
        while True:
            if takes(row[1], row[2], row[5]) and not tick_due(now):  # `_take`, the common case
                bulk(spans, row, now)
                quiet = True
            else:
                quiet = self._take(row, now)
            try:
                item = next(items, None)
                if quiet and item is not None and not spans.watched and not look():
                    item, now = self._quiet(item, now, until)
            except RecordingError as exc:
                self._fail(exc)
                return
            if item is None:
                self._next_recording()
                return
            # its callback would be asked for now, after every callback asked for before
            when = item[0]
            key = (when, next(order))
            if not quiet:
                break  # what the message sent comes first
            while timers:  # the callbacks due before it (a timer's entry sorts against key)
                top = timers[0]
                if top[2].cancelled:
                    heappop(timers)
                    continue
                if top > key or top[0] > until or (top[0] != now and look()):
                    break
                # seconds with nothing due before the message and the next other callback
                if sim.skip_tick(top, _others(timers, when), top[0] if look() else until):
                    now = sim.clock.time()
                    continue
                heappop(timers)
                if top[0] != now:
                    sim.advance(top[0])
                    now = top[0]
                top[2].callback(*top[2].args)
                if scheduler._ready:
                    break
            if (
                scheduler._ready
                or (timers and timers[0] < key)
                or when > until
                or (when != now and look())
            ):
                break
            if when != now:
                advance(when)  # a recorded time: within the run's max_time
                now = when
            row = item
        self._row = item
        self._timer = scheduler.push(key, self._apply, item)

    def _quiet(self, item: Row, now: float, until: float) -> tuple[Row | None, float]:
        """The recorded messages from ``item`` on, while nothing else is due before them and
        each goes to the spans' tables with no watched market (a strategy woken by its own
        timer): one loop, the second's ticker followed as a number (each second it would skip
        with nothing due) and put back in its place once. The first message not taken and
        the time of the last one taken (``now`` when none was)."""
        sim = self.sim
        timers = sim.scheduler._timers
        while timers and timers[0][2].cancelled:
            heappop(timers)
        if sim._parked is None:  # the ticker first, else another callback: `_span`'s loop
            ticker = timers[0] if timers else None
            if sim.scheduler._ready or (ticker is not None and ticker[2].callback != sim._tick):
                return item, now
            others = _others(timers, math.inf)
        else:  # parked (nothing can come due): the next callback is the first
            if sim.scheduler._ready:
                return item, now
            ticker = None
            others = timers[0][0] if timers else math.inf
        last = min(until, others)
        exchange = self.sim.gateway.exchange
        if exchange.tick_due(last) or exchange.tick_due(sim.gateway.exchange_now(last)):
            return item, now  # an expiry (or an RFQ) may come due among them
        spans = self.spans
        assert spans is not None
        takes, bulk, items = spans.takes, self._bulk, self._items
        # the common message (a 35=X of one market) in this loop: the tables' changes in one
        # call (a level, or a trade then a level: `BulkSpans.level` and `trade`, the
        # subscriptions read here once; another 35=X `changes`), the ledger's mark inline
        # (`PaperLedger.mark`: an unmoved mid with nothing due only moves its `last_time`, set
        # once at the end); anything else as `_bulk`
        changes, level, trade, tables = spans.changes, spans.level, spans.trade, spans.tables
        session = spans.state.sessions.get(spans.session_id)
        subscribed = session.md_symbols if session is not None else ()
        sides = _LEVELS
        ledger = self.ledger
        mids, on_mid = ledger.mids, ledger.on_mid
        due, pointed, spacing = ledger._rate_due, ledger._pointed, ledger._spacing
        fast = self.on_message is None
        count = 0
        marked: float | None = None  # the last mark that only moved the ledger's last time
        tick = start = math.inf if ticker is None else ticker[0]
        nxt: Row | None = item
        try:
            while nxt is not None:
                when, kind, symbol, _status, _result, entries = nxt
                if when > until or when >= others:
                    break
                table = None
                if fast and kind == "X" and entries:
                    name = entries[0][1]
                    n = len(entries)
                    if name is not None and (n == 1 or (n == 2 and entries[1][1] == name)):
                        table = tables.get(name)
                        if table is None:
                            break  # a market not in a span: the exchange's
                if table is None and not takes(kind, symbol, entries):
                    break
                if tick <= when:  # the ticker's seconds up to it (`skip_tick`'s steps)
                    tick += 1.0
                    while tick < when:
                        tick += 1.0
                now = when
                if table is not None:
                    entry = entries[-1]  # a level, after a trade (`changes`' order)
                    if entry[0] in sides and entry[2] is not None:
                        if n == 1:
                            level(table, name, entry, when, subscribed, False)
                        elif entries[0][0] == "2":
                            seen = trade(table, name, entries[0], when, subscribed)
                            level(table, name, entry, when, subscribed, seen)
                        else:
                            changes(entries, when)
                    else:
                        changes(entries, when)
                    count += 1
                    mid = table.mid
                    if (
                        when < due
                        and when - pointed < spacing
                        and (
                            mid is None
                            or mid is (marked_mid := mids.get(name))
                            or marked_mid == mid
                        )
                    ):
                        marked = when
                    else:
                        on_mid(name, when, mid)
                        marked = None
                        due, pointed, spacing = ledger._rate_due, ledger._pointed, ledger._spacing
                else:
                    bulk(spans, nxt, when)
                    marked = None
                    due, pointed, spacing = ledger._rate_due, ledger._pointed, ledger._spacing
                nxt = next(items, None)  # a cache that changed raises: the clock still set
        finally:
            self.messages += count
            if marked is not None:
                ledger.last_time = marked
            sim.clock.advance_to(now)  # a recorded time: within the run's max_time
            if ticker is not None and tick != start:  # in its place, before the next message
                timer = ticker[2]
                timer.when = tick
                heapreplace(timers, (tick, sim.scheduler.reserve(), timer))
        return nxt, now

    def _follow(
        self, kind: str, symbol: str | None, result: str | None, entries: Entries, now: float
    ) -> None:
        """The ledger follows a recorded message, as `follow
        <kalshi_fix_sansio.simulator.gateway.replay.follow>` does a decoded one: the recorded
        mid of each market it moves, a recorded settlement once the exchange settled the
        market."""
        ledger, exchange = self.ledger, self.sim.gateway.exchange
        if kind == "X":  # `mark`: `on_mid` with its common case (nothing moved) first
            if len(entries) == 1:  # the common case: one entry
                name = entries[0][1]
                if name is not None:
                    ledger.mark(name, now, exchange.recorded_mid(name))
                return
            for name in {e[1]: None for e in entries}:
                if name is not None:
                    ledger.mark(name, now, exchange.recorded_mid(name))
        elif kind == "UMS":
            outcome = (result or "").lower()
            if outcome in ("yes", "no") and symbol is not None and exchange.settled(symbol):
                ledger.settle(symbol, outcome, now)
        elif symbol is not None:
            ledger.mark(symbol, now, exchange.recorded_mid(symbol))

    def _finish(self) -> None:
        gateway, now = self.sim.gateway, self.sim.clock.time()
        exchange = gateway.exchange
        for symbol, result in sorted(self.settle.items()):
            if exchange.settled(symbol):
                continue
            gateway._route(exchange.settle(symbol, result, now), now)
            self.ledger.settle(symbol, result, now)
        self.ledger.end = (
            "end of the recording" if len(self.paths) == 1 else "end of the recordings"
        )
        self.done = True

    def _fail(self, exc: RecordingError) -> None:
        self.error = exc
        self.ledger.end = f"stopped: {exc}"
        self.done = True


def _others(timers: list[tuple[float, int, Timer]], before: float) -> float:
    """``before``, or the time of the scheduler's second timer when sooner (the heap's first
    is the ticker: the next one is one of its two children)."""
    n = len(timers)
    if n > 1 and timers[1][0] < before:
        before = timers[1][0]
    if n > 2 and timers[2][0] < before:
        before = timers[2][0]
    return before
