"""Backtests: recorded messages per second through the whole in-memory path, beside paper
trading over a socket and beside the codec's own decode of the same frames, in the same run.

    .venv/bin/python benchmarks/bench_backtest.py [--quick] [--sizes N ...] [--rows NAME ...]
        [--runs K] [--breakdown N] [--instructions [--src DIR]] [--write-docs]

A generated recording (`kalshi_fix_sansio.simulator.testing.recordings.write_recording`: two prediction
markets, level changes and trades) of N messages. Five rows per size, each in a process of its
own (so its peak resident memory is its own):

* **backtest**: `run_backtest` with a blocking strategy that subscribes to both markets and
  reads every event (its session keeps the books): the compiled recording read (its cache
  written before the timed run, as a sweep's first compile leaves it), the exchange, its 35=X
  encoded for the subscriber, the client's session, driver and books, all in memory on the
  simulated clock. Rate = recorded messages / the run's CPU seconds (the process's own time:
  other jobs on the shared machine move the wall clock much more than this), and wall.
* **backtest, book level** and **backtest, books at the FIX level**: a strategy that watches
  both markets and reads the top of each book that changed at every wake (`read_books`:
  ``ctx.watch``, ``ctx.wait``, ``ctx.books``), run with ``mode="book"`` (no market-data
  session: the exchange's messages to it applied to its books as they are built) and with the
  default ``mode="fix"`` (a market-data session the context opens); **backtest, book level,
  timer**: `read_books_on_timer`, every book read at a wake every `TIMER` (10) seconds of the
  recording, at the book level; ``--block booklevel`` writes their table, with the rows
  measured beside them (`BESIDE`: hftbacktest's four, the book states' two).
* **compile**: `compile_recording` with no cache yet: the recording checked once (each
  frame's BodyLength and CheckSum verified, each message decoded and validated, as
  `check_recording` does) and its columns written to its cache.
* **compiled read**: a warm cache loaded (the recording's bytes hashed, the columns' hash
  checked) and every message read back from the columns: what a run pays for the recording.
* **paper trading**: the same recording replayed by the mock gateway to a blocking client
  over plain TCP on loopback, ``as_fast_as_possible`` (`bench_replay.one`): the path a
  backtest replaces. Rate per wall second (two processes' work: the gateway's thread and the
  client's).
* **recording read**: the text recording read the way backtests read it before they were
  compiled: its check (`check_recording`) and a second read (`read_recording`, decoded again).
* **decode only**: `kalshi_fix_sansio.codec.prediction.decode` of each recorded frame, once: the
  codec's rate, a floor of what any path that reads each message pays (a run on a compiled
  recording decodes each message once, in the client, and encodes it once, beside the
  exchange and the books).
* **hftbacktest** (a peer, not like for like): the same recording converted to hftbacktest's
  event arrays (one event per book level or trade entry, per market; the conversion is not
  timed), replayed by its `HashMapMarketDepthBacktest` (compiled Rust): no FIX, no session, no
  encode or decode, no exchange of ours. Four rows: a strategy that reads both books at every
  feed (``wait_next_feed``: `read_books`' peer) or at a wake every `TIMER` seconds
  (``elapse``: `read_books_on_timer`'s peer), its loop a numba function or (**Python loop**) the
  same function run by the interpreter (numba's compilation, and the first calls of the
  backtest's methods from the interpreter, on a warm-up run not timed). Rate per CPU second in
  recorded messages, and its events in the note under the table. It needs ``pip install -r
  benchmarks/peer-requirements.txt`` (hftbacktest 2.4.4, with numba and numpy: not a dependency
  of the project, not installed by CI): without it the rows say so.
* **compile, book states**: the compile, then the book states computed and cached
  (`kalshi_fix_sansio.simulator.backtests.bookstates.book_states`: each market's book after each of its
  messages, as columns); the note gives their size beside the recording's.
* **book states, timer** and **book states, every change**: the book states alone (their cache
  loaded and checked, then a wake every `TIMER` seconds of the recording reading each market's
  top, found by a search of its times; or the top after each of the market's messages since the
  last wake, a batch a wake): no exchange, no ledger, no strategy's books. What a run that jumps
  would pay for the books it reads: the floor of that design, beside the rows above.
* **backtest, book level, timer, one wake** and **..., no books**: the timer row's parts, its
  per-message work (`read_books_on_timer` woken once, at the end) and its wait (woken every
  `TIMER` seconds, no books: `wake_on_timer`); **jump state, timer**: a cost model of a run that
  jumps (`jump_state_timer`: the exchange state it must set at each wake, from columns made
  before the clock), held to the book states by a test.

The notes under the table give the ratios of the book level's rates to hftbacktest's and to the
book states' floor measured at the same size (`RATIOS`).

Each row runs ``--runs`` times (3 by default), each run in a process of its own; the table gives
the median run per CPU second. Under the table, a line per backtest rate target whose row
ran, at the largest size (the median and the best run): a compile (with or without the book
states) >= 50,000 recorded messages per CPU second, the FIX level (``backtest``) >= 20,000, the
book level woken by its timer (``backtest, book level, timer``) >= 2,000,000, the book level
woken at every change (``backtest, book level``) >= 300,000.

``--instructions`` counts a backtest's instructions per recorded message under callgrind
(``PYTHONHASHSEED=0``): the difference between a 1,000- and a 3,000-message run of the watching
strategy, each in a fresh interpreter (start-up, Logon and the first layouts cancel out), with a
warm cache and with a cold one (the compile counted in the run); ``--src DIR`` counts another
tree's ``src`` instead (``git archive REV src | tar -x -C DIR``: the code before a change),
whose runs have no cache if it has none; ``--warm`` counts the warm cache alone (half the
time); ``--one-market`` counts a watcher of the first market alone (`watch_one`). Needs
valgrind; some 10 minutes on a loaded machine.

``--instructions --compile`` counts a compile's instructions per recorded message
(`compile_recording` with no cache, callgrind, ``PYTHONHASHSEED=0``) at each of ``--sizes``
(20,000 and 100,000 by default): its count less a 1,000-message compile's, over the
difference; ``--src DIR`` as above.

``--instructions --side`` counts the simulator's side of a recorded message alone (the feed,
the exchange, the gateway's session, the pipe, the scheduler: not the client's read) and its
parts, `_backtest_side.py` says how; ``--src DIR`` as above.

``--instructions --modes`` counts the book-reading strategies' instructions per recorded message
at the FIX level and at the book level the same way (a warm cache; ``--src DIR`` too;
``--book-only``: the book-level rows alone, a few minutes fewer).

``--sweep-overhead`` times a sweep of 8 runs of the shipped book quoter on the shipped sample,
in both modes, in this process, on 2 local worker processes and on a local Dask cluster of 2
workers (started before the clock): wall seconds per run, and each ranking's digest.

``--breakdown N`` profiles one backtest of N messages (cProfile; the recording compiled before
it) and prints the share of its time each part of the path takes (the recording's check and
read, the exchange, the ledger, the gateway's session, the client, the strategy's waits, the
scheduler's own time, the rest).

``--breakdown N --modes`` does the same for the two book-level strategies (bulk spans: the
compiled read, the spans' tables, the ledger's marks, the full path, the books, the ticks).
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _docs import arguments, publish

BEGIN = "<!-- backtest-results -->"
END = "<!-- /backtest-results -->"
COMPILED = ("<!-- backtest-compiled-results -->", "<!-- /backtest-compiled-results -->")
"""The markers of the compiled recordings' table (``--block compiled``)."""
BOOK_LEVEL = ("<!-- backtest-booklevel-results -->", "<!-- /backtest-booklevel-results -->")
"""The markers of the book-level table (``--block booklevel``)."""


def _recording(directory: str, messages: int) -> Path:
    from kalshi_fix_sansio.simulator.testing.recordings import write_recording

    path = Path(directory) / "bench.log"
    with open(path, "w", encoding="utf-8") as out:
        write_recording(out, messages=messages)
    return path


def watch(ctx: Any) -> None:
    """The strategy of every backtest here: subscribe to both markets, read every event."""
    from kalshi_fix_sansio.trading.builders import Requests

    with ctx.client(market_data=True).market_data() as md:
        md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
        while ctx.seconds > 0 and md.next_event(timeout=ctx.seconds) is not None:
            pass


def watch_one(ctx: Any) -> None:
    """`watch` of the first market alone (``--instructions --one-market``): the other
    market's messages reach no client."""
    from kalshi_fix_sansio.trading.builders import Requests

    with ctx.client(market_data=True).market_data() as md:
        md.send(Requests(ctx.product, "KalshiMD").subscribe([ctx.symbols[0]]))
        while ctx.seconds > 0 and md.next_event(timeout=ctx.seconds) is not None:
            pass


def read_books(ctx: Any) -> None:
    """The book-level strategy of the book-level rows (in either mode): watch both markets,
    read the top of each book that changed at every wake."""
    ctx.watch(ctx.symbols)
    books = ctx.books
    while (wake := ctx.wait()) is not None:
        for symbol in wake.markets:
            books[symbol].top()


TIMER = 10.0
"""The timer-woken strategies' wake, in seconds of recording (a generated recording has a
message about every second: some ten messages a wake)."""


def read_books_on_timer(ctx: Any) -> None:
    """The timer-woken strategy of the book-level rows: keeps both markets' books without
    waking on their changes (``ctx.watch(..., wake=False)``), woken every `TIMER` simulated
    seconds by its own timer, reads the top of every book at each wake."""
    ctx.watch(ctx.symbols, wake=False)
    books = ctx.books
    while ctx.wait(TIMER) is not None:
        for book in books:
            book.top()


def read_books_once(ctx: Any) -> None:
    """`read_books_on_timer` with one wake, at the recording's end: its per-message work alone
    (the wakes' share is the difference of the two rows)."""
    ctx.watch(ctx.symbols, wake=False)
    books = ctx.books
    while ctx.wait(1e9) is not None:
        for book in books:
            book.top()


def wake_on_timer(ctx: Any) -> None:
    """Woken every `TIMER` seconds with no books kept: the bare wait's share of a wake."""
    while ctx.wait(TIMER) is not None:
        pass


def backtest(messages: int, strategy: Any = watch, mode: str = "fix") -> dict[str, Any]:
    """One backtest of a watching strategy (the recording compiled before it): messages, CPU
    and wall seconds, peak RSS."""
    from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
    from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording

    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(tmp, messages)
        compile_recording(path)
        cpu, wall = time.process_time(), time.perf_counter()
        result = run_backtest(strategy, path, mode=mode)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"messages": result.messages, "cpu": cpu, "wall": wall, "peak_kib": float(peak)}


def recording_read(messages: int) -> dict[str, float]:
    """The backtest's two passes over the recording: the check, then the run's read."""
    from kalshi_fix_sansio.simulator.data.recording import check_recording, read_recording

    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(tmp, messages)
        cpu, wall = time.process_time(), time.perf_counter()
        info = check_recording(path)
        count = sum(1 for _ in read_recording(path, product=info.product, checked=True))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"messages": count, "cpu": cpu, "wall": wall, "peak_kib": float(peak)}


def compile_once(messages: int, states: bool = False) -> dict[str, float]:
    """`compile_recording` with no cache yet: the check, the columns, the cache written
    (``states``: then the book states computed and cached, `book_states`; the size is theirs)."""
    from kalshi_fix_sansio.simulator.backtests.bookstates import book_states
    from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording

    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(tmp, messages)
        cpu, wall = time.process_time(), time.perf_counter()
        compiled = compile_recording(path)
        cached = book_states(compiled).size if states else Path(f"{path}.kfc").stat().st_size
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        size = cached / path.stat().st_size
    return _taken(compiled.info.messages, cpu, wall, size=size)


def _taken(messages: int, cpu: float, wall: float, **more: float) -> dict[str, float]:
    """A row's result: its messages, CPU and wall seconds, the peak RSS so far, ``more``."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"messages": messages, "cpu": cpu, "wall": wall, "peak_kib": float(peak), **more}


def compiled_read(messages: int) -> dict[str, float]:
    """A warm cache loaded (hashes checked) and every message read from its columns."""
    from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording

    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(tmp, messages)
        compile_recording(path)
        cpu, wall = time.process_time(), time.perf_counter()
        count = sum(1 for _ in compile_recording(path).timed())
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"messages": count, "cpu": cpu, "wall": wall, "peak_kib": float(peak)}


def decode_only(messages: int) -> dict[str, float]:
    """The codec's decode of each recorded frame (read from the file first)."""
    from kalshi_fix_sansio import prediction

    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(tmp, messages)
        frames = [
            line.split(b" ", 3)[3].rstrip(b"\n").replace(b"|", b"\x01")
            for line in path.read_bytes().splitlines(keepends=True)
            if not line.startswith(b"#")
        ]
    cpu, wall = time.process_time(), time.perf_counter()
    for frame in frames:
        prediction.decode(frame, use_dollars=True)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"messages": len(frames), "cpu": cpu, "wall": wall, "peak_kib": float(peak)}


def paper(messages: int) -> dict[str, float]:
    """Paper trading over a socket (`bench_replay.one`)."""
    from bench_replay import one

    got = one(messages)
    return {"messages": got["messages"], "cpu": 0.0, "wall": got["seconds"], **got}


HFTBACKTEST_MISSING = (
    "hftbacktest is not installed: `.venv/bin/pip install -r benchmarks/peer-requirements.txt` "
    "(pip install hftbacktest==2.4.4: not a dependency of the project) and run this benchmark "
    "again to take its row"
)


def _events(path: Path) -> tuple[int, list[Any]]:
    """The recording as hftbacktest's events, one array per market (in the recording's market
    order): a 35=W clears the book and sets each level; each 35=X entry is a level (size 0:
    deleted) or a trade. Both timestamps are the recorded receive time in nanoseconds."""
    import numpy as np
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_CLEAR_EVENT,
        DEPTH_EVENT,
        EXCH_EVENT,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
        event_dtype,
    )

    from kalshi_fix_sansio.simulator.data.recording import check_recording, read_recording

    info = check_recording(path)
    rows: dict[str, list[tuple[int, int, int, float, float, int, int, float]]] = {
        m: [] for m in info.markets
    }
    both = EXCH_EVENT | LOCAL_EVENT
    count = 0
    for item in read_recording(path, product=info.product, checked=True):
        count += 1
        msg, ts = item.message, round(item.time * 1e9)
        if msg.MSG_TYPE == "W":
            rows[msg.symbol].append((DEPTH_CLEAR_EVENT | both, ts, ts, 0.0, 0.0, 0, 0, 0.0))
        for e in msg.md_entries or ():
            symbol = msg.symbol if msg.MSG_TYPE == "W" else e.symbol
            kind, px = e.md_entry_type.value, float(e.md_entry_px)
            if kind == "2":
                side = SELL_EVENT if getattr(e.aggressor_side, "value", "1") == "2" else BUY_EVENT
                ev, qty = TRADE_EVENT | both | side, float(e.md_entry_size)
            else:
                side = BUY_EVENT if kind == "0" else SELL_EVENT
                gone = msg.MSG_TYPE == "X" and e.md_update_action.value == "2"
                ev, qty = DEPTH_EVENT | both | side, 0.0 if gone else float(e.md_entry_size)
            rows[symbol].append((ev, ts, ts, px, qty, 0, 0, 0.0))
    return count, [np.array(r, dtype=event_dtype) for r in rows.values()]


def _hbt_assets(arrays: list[Any]) -> list[Any]:
    from hftbacktest import BacktestAsset

    return [
        BacktestAsset()
        .data([a])
        .linear_asset(1.0)
        .constant_order_latency(0, 0)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(0.01)
        .lot_size(0.01)
        for a in arrays
    ]


def hbt_every_feed(hbt: Any, markets: int, _step: int) -> tuple[int, float]:
    """hftbacktest's strategy woken at every feed (every recorded book or trade event of
    either market), reading both books' tops: `read_books`' peer."""
    feeds, seen = 0, 0.0
    while hbt.wait_next_feed(False, 10**15) == 2:
        feeds += 1
        for i in range(markets):
            depth = hbt.depth(i)
            seen += depth.best_bid + depth.best_ask
    return feeds, seen


def hbt_on_timer(hbt: Any, markets: int, step: int) -> tuple[int, float]:
    """hftbacktest's strategy woken every ``step`` nanoseconds (`TIMER`), reading both books'
    tops: `read_books_on_timer`'s peer."""
    wakes, seen = 0, 0.0
    while hbt.elapse(step) == 0:
        wakes += 1
        for i in range(markets):
            depth = hbt.depth(i)
            seen += depth.best_bid + depth.best_ask
    return wakes, seen


def hftbacktest(messages: int, timer: bool = False, compiled: bool = True) -> dict[str, Any]:
    """hftbacktest's replay of the same recording, a strategy reading both books at every feed
    (``timer``: at a wake every `TIMER` seconds), its loop compiled by numba or (``compiled``
    False) run by the interpreter, calling the same compiled backtest (see the module
    docstring); the row says why when hftbacktest is missing."""
    try:
        from hftbacktest import HashMapMarketDepthBacktest
        from numba import njit
    except ImportError:
        return {"messages": float(messages), "skipped": HFTBACKTEST_MISSING}

    loop = hbt_on_timer if timer else hbt_every_feed
    run = njit(loop) if compiled else loop
    step = round(TIMER * 1e9)
    with tempfile.TemporaryDirectory() as tmp:
        count, arrays = _events(_recording(tmp, messages))
    # numba compiles the loop (or, run by the interpreter, the backtest's methods it calls)
    # on a first run of the recording's start, not timed
    warm = HashMapMarketDepthBacktest(_hbt_assets([a[:2000] for a in arrays]))
    run(warm, len(arrays), step)
    warm.close()
    hbt = HashMapMarketDepthBacktest(_hbt_assets(arrays))
    cpu, wall = time.process_time(), time.perf_counter()
    feeds, _ = run(hbt, len(arrays), step)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    hbt.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "messages": count,
        "events": float(sum(len(a) for a in arrays)),
        "feeds": float(feeds),
        "cpu": cpu,
        "wall": wall,
        "peak_kib": float(peak),
    }


def hftbacktest_python(messages: int) -> dict[str, Any]:
    """`hftbacktest` with its strategy's loop in plain Python."""
    return hftbacktest(messages, compiled=False)


def hftbacktest_timer(messages: int) -> dict[str, Any]:
    """`hftbacktest` woken by its timer, its loop compiled."""
    return hftbacktest(messages, timer=True)


def hftbacktest_timer_python(messages: int) -> dict[str, Any]:
    """`hftbacktest` woken by its timer, its loop in plain Python."""
    return hftbacktest(messages, timer=True, compiled=False)


def compile_with_states(messages: int) -> dict[str, float]:
    """`compile_once`, then the book states computed and cached (`book_states`)."""
    return compile_once(messages, states=True)


def _states_run(messages: int, every_change: bool) -> dict[str, Any]:
    """The book states' own cost of a wake every `TIMER` seconds (their cache loaded, its
    checksum checked, then the wakes): each market's book found by a search of its times and
    its top read (``every_change``: the top after each of its messages since the last wake, the
    batch a change-woken strategy would read), and nothing else: no exchange, no ledger, no
    strategy's books. The floor of a run that jumps (see docs/maintainers/benchmarks.md)."""
    from kalshi_fix_sansio.simulator.backtests.bookstates import book_states
    from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording

    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(tmp, messages)
        book_states(compile_recording(path))
        cpu, wall = time.process_time(), time.perf_counter()
        compiled = compile_recording(path)
        markets = list(book_states(compiled).markets.values())
        first, last = compiled.info.first_time, compiled.info.last_time
        assert first is not None and last is not None
        now, wakes, reads = first, 0, 0
        rows = dict.fromkeys(range(len(markets)), -1)
        while now < last:
            now += TIMER
            wakes += 1
            for k, market in enumerate(markets):
                row = market.at(now)
                if every_change:
                    for i in range(rows[k] + 1, row + 1):
                        market.top(i)
                    reads += row - rows[k]
                    rows[k] = row
                else:
                    market.top(row)
                    reads += 1
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return _taken(compiled.info.messages, cpu, wall, feeds=float(reads))


def states_timer(messages: int) -> dict[str, Any]:
    """`_states_run`: a timer's wakes, every market's top at each."""
    return _states_run(messages, every_change=False)


def states_every_change(messages: int) -> dict[str, Any]:
    """`_states_run`: every change of every market, read in a batch at each wake."""
    return _states_run(messages, every_change=True)


class _JumpColumns:
    """What `jump_state_timer` reads, made once before its clock (what a compile would cache):
    per market, each level change (its time, its key, its new size, the draw of the house
    order its level has then, -1 when gone), each trade (its time and what a book keeps of it)
    and each change of the queue model's credits (a trade owed to the opposite level, a
    level's decrease: its time, key and amount); per recorded message, the draws before it (a
    level that appears, a trade with no id: one 128-bit draw each)."""

    def __init__(self, compiled: Any) -> None:
        self.times: list[float] = []
        self.draws = [0]
        self.changes: dict[str, tuple[list[float], list[Any], list[Any], list[int]]] = {}
        self.trades: dict[str, tuple[list[float], list[Any]]] = {}
        self.credits: dict[str, tuple[list[float], list[tuple[Any, Any]]]] = {}
        for name in compiled.info.markets:
            self.changes[name] = ([], [], [], [])
            self.trades[name] = ([], [])
            self.credits[name] = ([], [])
        books: dict[tuple[str, str], dict[Any, Any]] = {}
        lives: dict[tuple[str, str, Any], int] = {}
        draws = 0
        for when, kind, symbol, _status, _result, entries in compiled.rows():
            self.times.append(when)
            if kind == "W":  # each level of the old book or the snapshot, at its new size
                new = {(e[0], e[2]): e[3] for e in entries if e[0] in ("0", "1")}
                for t in ("0", "1"):
                    for px in books.get((symbol, t), {}):
                        new.setdefault((t, px), None)
                entries = tuple((t, symbol, px, v, None, None, None) for (t, px), v in new.items())
            for t, name, px, size, action, aggressor, trade_id in entries:
                if name not in self.changes or px is None:
                    continue
                if t == "2":
                    aggressor = aggressor or "0"
                    self.trades[name][0].append(when)
                    self.trades[name][1].append((when, px, size, aggressor, trade_id))
                    self.credits[name][0].append(when)
                    self.credits[name][1].append((("1" if aggressor == "0" else "0", px), size))
                    draws += trade_id is None
                elif t in ("0", "1"):
                    side = books.setdefault((name, t), {})
                    new = size if action != "2" and size else 0
                    old = side.get(px, 0)
                    if new:
                        side[px] = new
                        if not old:
                            lives[name, t, px] = draws
                            draws += 1
                    else:
                        side.pop(px, None)
                    times, keys, sizes, houses = self.changes[name]
                    times.append(when)
                    keys.append((t, px))
                    sizes.append(new)
                    houses.append(lives[name, t, px] if new else -1)
                    if old > new:
                        self.credits[name][0].append(when)
                        self.credits[name][1].append(((t, px), new - old))
            self.draws.append(draws)


def jump_state_timer(messages: int, check: bool = False) -> dict[str, Any]:
    """A cost model of a run that jumps, woken every `TIMER` seconds (`_JumpColumns` made
    before the clock): at each wake, the exchange state of each market as a byte-identical
    jump must hold it, set from columns with no Python step per level change: the levels
    folded (``dict(zip(...))``), the house orders of the levels that appeared, their ids cut
    from one draw for all the wake's draws (``getrandbits(128 * k)`` consumes the words of
    ``k`` draws of 128 bits), the strategy's pending levels and trades, then the top read
    from the book states; the queue model's credits in a Python step per trade and decrease.
    No wait, no ledger, no strategy's `Books`. ``check``: each wake's folded best bid and
    offer held to the book states' (tests/test_benchmarks.py)."""
    import random
    from bisect import bisect_right
    from collections import deque

    from kalshi_fix_sansio.simulator.backtests.bookstates import book_states
    from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording

    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(tmp, messages)
        compiled = compile_recording(path)
        states = book_states(compiled)
        columns = _JumpColumns(compiled)
        rng, mask = random.Random(1), (1 << 128) - 1
        first, last = compiled.info.first_time, compiled.info.last_time
        assert first is not None and last is not None
        markets = list(compiled.info.markets)
        levels: dict[str, dict[Any, Any]] = {m: {} for m in markets}
        houses: dict[str, dict[Any, Any]] = {m: {} for m in markets}
        credit: dict[str, dict[Any, Any]] = {m: {} for m in markets}
        trades: dict[str, deque[Any]] = {m: deque() for m in markets}
        at = {m: [0, 0, 0] for m in markets}  # the next change, trade, credit of each
        times, draws = columns.times, columns.draws
        cpu, wall = time.process_time(), time.perf_counter()
        now, placed = first, 0
        while now < last:
            now += TIMER
            upto = bisect_right(times, now)
            base, k = draws[placed], draws[upto] - draws[placed]
            bits = rng.getrandbits(128 * k) if k else 0
            for m in markets:
                cursor = at[m]
                change_times, keys, sizes, lives = columns.changes[m]
                a, b = cursor[0], bisect_right(change_times, now, cursor[0])
                if b > a:
                    changed = dict(
                        zip(keys[a:b], sizes[a:b], strict=True)
                    )  # also the strategy's pending
                    book, house = levels[m], houses[m]
                    book.update(changed)
                    for key, draw in dict(zip(keys[a:b], lives[a:b], strict=True)).items():
                        if draw < 0:
                            del book[key]
                            house.pop(key, None)
                        elif draw >= base:
                            o = draw - base
                            house[key] = ((bits >> (128 * o)) & mask, o, book[key])
                trade_times, kept = columns.trades[m]
                t = bisect_right(trade_times, now, cursor[1])
                trades[m].extend(kept[cursor[1] : t])
                trades[m].clear()  # taken by the strategy's books
                credit_times, amounts = columns.credits[m]
                c = bisect_right(credit_times, now, cursor[2])
                owed = credit[m]
                for key, amount in amounts[cursor[2] : c]:
                    if amount > 0:
                        owed[key] = owed.get(key, 0) + amount
                    else:
                        have = owed.pop(key, None)
                        if have is not None and have + amount > 0:
                            owed[key] = have + amount
                cursor[:] = [b, t, c]
                market = states[m]
                top = market.top(market.at(now))
                if check:
                    book = levels[m]
                    bids = [px for (s, px) in book if s == "0"]
                    asks = [px for (s, px) in book if s == "1"]
                    best = (max(bids) if bids else None, min(asks) if asks else None)
                    assert best == tuple(None if x is None else x[0] for x in top), (now, m)
            placed = upto
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return _taken(compiled.info.messages, cpu, wall)


def book_level(messages: int) -> dict[str, Any]:
    """The book-level strategy at the book level (``mode="book"``: no market-data session)."""
    return backtest(messages, read_books, "book")


def book_level_timer(messages: int) -> dict[str, Any]:
    """The timer-woken book strategy at the book level."""
    return backtest(messages, read_books_on_timer, "book")


def book_level_one_wake(messages: int) -> dict[str, Any]:
    """`read_books_once` at the book level: the timer row's per-message work."""
    return backtest(messages, read_books_once, "book")


def book_level_bare_timer(messages: int) -> dict[str, Any]:
    """`wake_on_timer` at the book level: the timer row's wait, no books."""
    return backtest(messages, wake_on_timer, "book")


def book_strategy_fix(messages: int) -> dict[str, Any]:
    """The book-level strategy at the FIX level (its market data through a session)."""
    return backtest(messages, read_books, "fix")


ROWS: dict[str, Callable[[int], dict[str, Any]]] = {
    "backtest": backtest,
    "backtest, book level": book_level,
    "backtest, book level, timer": book_level_timer,
    "backtest, books at the FIX level": book_strategy_fix,
    "paper trading": paper,
    "compile": compile_once,
    "compiled read": compiled_read,
    "recording read": recording_read,
    "decode only": decode_only,
    "hftbacktest": hftbacktest,
    "hftbacktest, Python loop": hftbacktest_python,
    "hftbacktest, timer": hftbacktest_timer,
    "hftbacktest, timer, Python loop": hftbacktest_timer_python,
    "compile, book states": compile_with_states,
    "book states, timer": states_timer,
    "book states, every change": states_every_change,
    "backtest, book level, timer, one wake": book_level_one_wake,
    "backtest, book level, timer, no books": book_level_bare_timer,
    "jump state, timer": jump_state_timer,
}
BOOK_ROWS = (
    "backtest, book level",
    "backtest, book level, timer",
    "backtest, books at the FIX level",
)
"""The rows of the book-reading strategy (their own table: ``--block booklevel``)."""
BESIDE = (
    "hftbacktest",
    "hftbacktest, Python loop",
    "hftbacktest, timer",
    "hftbacktest, timer, Python loop",
    "compile, book states",
    "book states, timer",
    "book states, every change",
    "backtest, book level, timer, one wake",
    "backtest, book level, timer, no books",
    "jump state, timer",
)
"""The rows measured beside the book level's in its table: hftbacktest's replay of the same
recording, the book states' compile and their own cost (what a run that jumps would pay for
its books)."""
RATIOS = (
    ("backtest, book level", "hftbacktest, Python loop"),
    ("backtest, book level", "hftbacktest"),
    ("backtest, book level, timer", "hftbacktest, timer, Python loop"),
    ("backtest, book level, timer", "hftbacktest, timer"),
    ("backtest, book level, timer", "book states, timer"),
    ("backtest, book level", "book states, every change"),
)
"""The pairs whose ratio of rates the report gives, when both ran at a size."""
WHAT = {
    "backtest": "compiled read, exchange, 35=X encoded, client session, books, scheduler",
    "backtest, book level": "compiled read, the spans' tables, the books at each wake (a change)",
    "backtest, book level, timer": "as book level, woken by its 10 s timer (every book read)",
    "backtest, books at the FIX level": "as backtest, the strategy woken by ctx.wait",
    "paper trading": "the gateway and a client over TCP on loopback, lockstep",
    "compile": "the check (decode, validate), the columns, the cache written",
    "compiled read": "the cache's hashes checked, every message read from its columns",
    "recording read": "before compiling: the check (decode, validate) and a second read (decode)",
    "decode only": "one decode of each frame",
    "hftbacktest": "its event arrays into two books (Rust; no FIX), woken at every feed",
    "hftbacktest, Python loop": "as hftbacktest, its loop run by the interpreter",
    "hftbacktest, timer": "as hftbacktest, woken every 10 s (numba loop)",
    "hftbacktest, timer, Python loop": "as hftbacktest, woken every 10 s (interpreted loop)",
    "compile, book states": "compile, then each market's book after each message (columns)",
    "book states, timer": "the book states alone: a search by time and a top per book a wake",
    "book states, every change": "the book states alone: each change's top, a batch a wake",
    "backtest, book level, timer, one wake": "as book level, timer, one wake at the end",
    "backtest, book level, timer, no books": "as book level, timer, no books kept or read",
    "jump state, timer": "a jump's exchange state set from columns at each 10 s wake",
}


TARGETS = (
    ("compile", "compile", 50_000),
    ("compile, book states", "compile with the book states", 50_000),
    ("backtest", "FIX level, the watching strategy (every event)", 20_000),
    (
        "backtest, book level, timer",
        "book level, `read_books_on_timer` (a wake every 10 s)",
        2_000_000,
    ),
    ("backtest, book level", "book level, `read_books` (woken at every change)", 300_000),
)
"""The backtests' rate targets per CPU second: (row, what its line names, the target)."""


def _rate(r: dict[str, Any]) -> float:
    return float(r["messages"]) / r["cpu"] if r.get("cpu") else 0.0


def measure(
    sizes: list[int], rows: list[str] | None = None, runs: int = 1
) -> list[tuple[str, dict[str, Any]]]:
    """Each row at each size, ``runs`` times in a process of its own; a row's result is its
    median run by CPU rate, with every run's rate under ``rates``."""
    results = []
    for size in sizes:
        for name in rows or ROWS:
            taken = []
            for _ in range(runs):
                done = subprocess.run(
                    [sys.executable, __file__, "--one", name, str(size)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                taken.append(json.loads(done.stdout.strip().splitlines()[-1]))
            taken.sort(key=_rate)
            result = dict(taken[len(taken) // 2])
            result["rates"] = [_rate(r) for r in taken]
            results.append((name, result))
    return results


def verdicts(results: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """One line per rate target whose row was measured, at the largest size: the median and
    best run per CPU second against the target, held or not."""
    lines = []
    for row, what, target in TARGETS:
        taken = [r for name, r in results if name == row and "skipped" not in r]
        if not taken:
            continue
        r = max(taken, key=lambda r: r["messages"])
        rates = r.get("rates") or [_rate(r)]
        median, best = _rate(r), max(rates)
        held = "held" if median >= target else "NOT held"
        lines.append(
            f"* project target: {what} >= {target:,} recorded messages per CPU second: "
            f"{median:,.0f} (median of {len(rates)} runs of {int(r['messages']):,} messages; "
            f"best {best:,.0f}) — {held}"
        )
    return lines


def ratios(results: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """One line per pair of `RATIOS` measured at the same size: the first row's rate over the
    second's (per CPU second, the median runs)."""
    rates = {(name, int(r["messages"])): _rate(r) for name, r in results if "skipped" not in r}
    lines = []
    for size in sorted({n for _, n in rates}):
        for ours, theirs in RATIOS:
            a, b = rates.get((ours, size)), rates.get((theirs, size))
            if a and b:
                lines.append(f"at {size:,} messages: {ours} / {theirs} = {a / b:.2f}x")
    return lines


def report(results: list[tuple[str, dict[str, Any]]]) -> list[str]:
    head = "a blocking strategy that reads every book"
    if any(name == "paper trading" for name, _ in results):
        head += "; paper trading: plain TCP on loopback, `as_fast_as_possible`"
    if results and all(name in BOOK_ROWS + BESIDE for name, _ in results):
        head = (
            "`read_books` (the top of each changed book, at every wake) and, timer, "
            f"`read_books_on_timer` (every book, at a wake every {TIMER:.0f} s)"
        )
    lines = [
        f"Python {platform.python_version()}, {platform.machine()}; {head}.",
        "",
        "| recorded messages | path | what each message goes through | per CPU second "
        "| per wall second | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    notes = []
    for name, r in results:
        if "skipped" in r:
            notes.append(f"{name}: {r['skipped']}.")
            continue
        cpu = f"{_rate(r):,.0f}" if r["cpu"] else "-"
        wall = f"{r['messages'] / r['wall']:,.0f}" if r["wall"] else "-"
        lines.append(
            f"| {int(r['messages']):,} | {name} | {WHAT[name]} | {cpu} | {wall} "
            f"| {r['peak_kib'] / 1024:.0f} MiB |"
        )
        if "size" in r:
            what = "the book states are" if name == "compile, book states" else "the cache is"
            notes.append(
                f"{name} at {int(r['messages']):,} messages: {what} {r['size']:.0%} of "
                "the recording's size."
            )
        if "events" in r and r["cpu"]:
            notes.append(
                f"{name} at {int(r['messages']):,} messages: {int(r['events']):,} events "
                f"({r['events'] / r['cpu']:,.0f} per CPU second), {int(r['feeds']):,} feeds "
                "read by the strategy."
            )
    notes += ratios(results)
    if notes:
        lines += ["", *notes]
    targets = verdicts(results)
    if targets:
        lines += ["", *targets]
    return lines


INSTRUCTIONS_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import bench_backtest
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
options = {"no": {"cache": False}}.get(sys.argv[4], {})
run_backtest(getattr(bench_backtest, sys.argv[5]), sys.argv[3], **options)
"""


def instructions(src: str | None, warm_only: bool = False, strategy: str = "watch") -> list[str]:
    """A backtest's instructions per recorded message (callgrind): 3,000 less 1,000 messages,
    over 2,000, with a warm and a cold cache (``warm_only``: the warm one alone; see the
    module docstring); ``strategy``: ``watch`` or ``watch_one``."""
    here = str(Path(__file__).resolve().parent)
    tree = src or str(Path(__file__).resolve().parent.parent / "src")
    compiled = (Path(tree) / "kalshi_fix_sansio" / "simulator" / "compiled.py").exists()
    lines = [
        f"Python {platform.python_version()}; callgrind, `PYTHONHASHSEED=0`, the watching "
        f"strategy (`{strategy}`), {tree}:",
        "",
        "| cache | instructions per recorded message |",
        "|---|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        paths = _two_recordings(tmp)
        caches = (("warm", True),) if warm_only else (("warm", True), ("cold", False))
        for label, warm in caches if compiled else (("none", False),):
            counts = {}
            for n, path in paths.items():
                cache = ("yes" if warm else "no") if compiled else "none"
                args = [sys.executable, "-c", INSTRUCTIONS_CHILD, tree, here, str(path), cache]
                args.append(strategy)
                if warm:  # compiled first, outside the count
                    subprocess.run(args, check=True, capture_output=True)
                else:
                    Path(f"{path}.kfc").unlink(missing_ok=True)
                counts[n] = _instructions_of(args, Path(tmp) / f"cg-{label}-{n}.out")
            lines.append(f"| {label} | {(counts[3_000] - counts[1_000]) / 2_000:,.0f} |")
    return lines


COMPILE_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording
compile_recording(sys.argv[2], cache=False)
"""


def compile_instructions(sizes: list[int], src: str | None) -> list[str]:
    """A compile's instructions per recorded message (callgrind): each size's count less a
    1,000-message compile's, over the difference (start-up and imports cancel out)."""
    tree = src or str(Path(__file__).resolve().parent.parent / "src")
    lines = [
        f"Python {platform.python_version()}; callgrind, `PYTHONHASHSEED=0`, "
        f"`compile_recording(cache=False)`, {tree}:",
        "",
        "| recorded messages | instructions per recorded message |",
        "|---|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        counts = {}
        for n in (1_000, *sizes):
            (Path(tmp) / str(n)).mkdir()
            path = _recording(str(Path(tmp) / str(n)), n)
            args = [sys.executable, "-c", COMPILE_CHILD, tree, str(path)]
            counts[n] = _instructions_of(args, Path(tmp) / f"cg-compile-{n}.out")
        for n in sizes:
            per = (counts[n] - counts[1_000]) / (n - 1_000)
            lines.append(f"| {n + 2:,} | {per:,.0f} |")
    return lines


def _two_recordings(tmp: str) -> dict[int, Path]:
    """A 1,000- and a 3,000-message recording (their difference cancels start-up out)."""
    paths = {}
    for n in (1_000, 3_000):
        (Path(tmp) / str(n)).mkdir()
        paths[n] = _recording(str(Path(tmp) / str(n)), n)
    return paths


def _instructions_of(args: list[str], out: Path) -> int:
    """The instructions a command runs, under callgrind."""
    from _traced import counted, traced

    cmd, env = traced("callgrind", args, out)
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    got = counted("callgrind", out)
    assert isinstance(got, int)
    return got


MODES_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import bench_backtest
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
run_backtest(getattr(bench_backtest, sys.argv[5]), sys.argv[3], mode=sys.argv[4])
"""

MODE_ROWS = (
    ("fix", "read_books", "fix, `read_books`"),
    ("book", "read_books", "book, `read_books`"),
    ("book", "read_books_on_timer", "book, `read_books_on_timer`"),
)
"""(mode, strategy, label) of each row of ``--instructions --modes``."""


def instructions_by_mode(src: str | None = None, book_only: bool = False) -> list[str]:
    """The book-reading strategies' instructions per recorded message (callgrind) at the FIX
    level and at the book level: 3,000 less 1,000 messages, over 2,000, a warm cache
    (``src``: another tree's, the before of a change; ``book_only``: the book rows alone)."""
    here = str(Path(__file__).resolve().parent)
    tree = src or str(Path(__file__).resolve().parent.parent / "src")
    lines = [
        f"Python {platform.python_version()}; callgrind, `PYTHONHASHSEED=0`, a strategy that "
        f"reads the book of each change (`read_books`) or every book at each {TIMER:.0f} s timer "
        f"(`read_books_on_timer`), a warm cache, {tree}; 3,000 less 1,000 messages, over 2,000:",
        "",
        "| mode, strategy | instructions per recorded message |",
        "|---|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        paths = _two_recordings(tmp)
        for mode, strategy, label in MODE_ROWS:
            if book_only and mode != "book":
                continue
            counts = {}
            for n, path in paths.items():
                args = [sys.executable, "-c", MODES_CHILD, tree, here, str(path), mode, strategy]
                subprocess.run(args, check=True, capture_output=True)  # the cache, uncounted
                name = f"cg-{mode}-{strategy}-{n}.out"
                counts[n] = _instructions_of(args, Path(tmp) / name)
            lines.append(f"| {label} | {(counts[3_000] - counts[1_000]) / 2_000:,.0f} |")
    return lines


def sweep_overhead(runs: int = 8) -> list[str]:
    """What a run costs on each engine, in both modes: a sweep of ``runs`` runs of the shipped
    `book_quoter` on the shipped sample (edge varied) in this process, on 2 local worker
    processes and on a local Dask cluster of 2 workers (started before the clock, as a
    cluster a sweep is given is), wall seconds per run, and the digest of each ranking."""
    import hashlib

    from dask.distributed import LocalCluster

    from kalshi_fix_sansio.simulator.research.sweep import grid, run_sweep
    from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING

    ref = "kalshi_fix_sansio.simulator.testing.strategies:book_quoter"
    points = grid(edge=[round(0.002 * (i + 1), 3) for i in range(runs)], every=[5.0])
    lines = [
        f"Python {platform.python_version()}; {runs} runs of `book_quoter` on `paper-sample.log`"
        " (its compiled form in memory); the cluster started before the clock.",
        "",
        "| mode | engine | wall seconds per run | ranking digest |",
        "|---|---|---:|---|",
    ]
    untyped: Any = LocalCluster
    with untyped(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,  # and the scheduler's HTTP server on any free loopback port
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:
        engines: dict[str, dict[str, Any]] = {
            "this process (jobs=1)": {"jobs": 1},
            "local processes (jobs=2)": {"jobs": 2},
            "Dask, a local cluster (2 workers)": {
                "engine": "dask",
                "address": cluster.scheduler_address,
            },
        }
        for mode in ("fix", "book"):
            for label, how in engines.items():
                wall = time.perf_counter()
                result = run_sweep(ref, [SAMPLE_RECORDING], points, mode=mode, cache=False, **how)
                wall = time.perf_counter() - wall
                digest = hashlib.sha256(result.table("total").encode()).hexdigest()[:12]
                lines.append(f"| {mode} | {label} | {wall / runs:.3f} | `{digest}` |")
    return lines


def write_docs(lines: list[str]) -> None:
    """Write the table between this benchmark's markers in docs/maintainers/benchmarks.md."""
    from _docs import write_block

    write_block(BEGIN, END, lines)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(ROWS[sys.argv[2]](int(sys.argv[3]))))
        return
    parser = arguments(__doc__ or "", "one small recording (a smoke run)")
    parser.add_argument("--sizes", type=int, nargs="+", help="recording lengths")
    parser.add_argument("--breakdown", type=int, help="profile one backtest of N messages")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), help="only these rows")
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs of each row, each in a process of its own: the table gives the median",
    )
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions per message (callgrind)"
    )
    parser.add_argument("--src", help="with --instructions: another tree's src (the before)")
    parser.add_argument(
        "--warm", action="store_true", help="with --instructions: the warm cache's count alone"
    )
    parser.add_argument(
        "--one-market",
        action="store_true",
        help="with --instructions: the watcher of one market of two (watch_one)",
    )
    parser.add_argument(
        "--sweep-overhead",
        action="store_true",
        help="a sweep's wall time per run in this process, on processes and on Dask, both modes",
    )
    parser.add_argument(
        "--modes",
        action="store_true",
        help="with --instructions: the book-reading strategy at the FIX and the book level",
    )
    parser.add_argument(
        "--side",
        action="store_true",
        help="with --instructions: the simulator's side of a message and its parts",
    )
    parser.add_argument(
        "--book-only",
        action="store_true",
        help="with --instructions --modes: the book-level rows alone (not the FIX level's)",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="with --instructions: a compile's instructions per message (--sizes)",
    )
    parser.add_argument(
        "--block",
        choices=("main", "compiled", "booklevel"),
        default="main",
        help="with --write-docs: the table to write (compiled: the compiled recordings' rows)",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: at least one run of each row")
    if args.src is not None and not (Path(args.src) / "kalshi_fix_sansio").is_dir():
        # a tree without the package would count the installed checkout instead
        parser.error(f"--src {args.src}: no kalshi_fix_sansio package there (name the tree's src)")
    if args.sweep_overhead:
        print("\n".join(sweep_overhead()))
        return
    if args.instructions and args.compile:
        sizes = args.sizes or [20_000, 100_000]
        print("\n".join(compile_instructions(sizes, args.src)))
        return
    if args.instructions and args.side:
        from _backtest_side import side_instructions

        print("\n".join(side_instructions(args.src)))
        return
    if args.instructions:
        print(
            "\n".join(
                instructions_by_mode(args.src, args.book_only)
                if args.modes
                else instructions(args.src, args.warm, "watch_one" if args.one_market else "watch")
            )
        )
        return
    if args.breakdown:
        from _backtest_profile import breakdown, breakdown_book

        print("\n".join((breakdown_book if args.modes else breakdown)(args.breakdown)))
        return
    sizes = args.sizes or ([400] if args.quick else [20_000, 100_000])
    begin, end = {"compiled": COMPILED, "booklevel": BOOK_LEVEL}.get(args.block, (BEGIN, END))
    publish(report(measure(sizes, args.rows, args.runs)), begin, end, args.write_docs)


if __name__ == "__main__":
    main()
