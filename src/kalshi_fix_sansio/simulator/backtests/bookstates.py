"""Book states compiled once: per market, its recorded book after each of its messages, as
columns (`book_states`).

A compiled recording (`kalshi_fix_sansio.simulator.backtests.compiled`) holds what each recorded message
says; what the book of a market *is* after a message is the fold of every message before it.
`book_states` makes that fold once, from the compiled columns, and keeps it as columns per
market: for each recorded message that names the market (a 35=W of it, a 35=X with an entry of
it), the message's place in the recording, its receive time, and the book's best ``depth``
levels of each side after it (prices and sizes, each an index into the compiled recording's
table of decimals, -1 where the side has fewer levels). A reader then finds the book of a
market at any time by a search of its times (`MarketStates.at`), with no Python step per
message between two reads.

The book is the recording's (a 35=W replaces the market's levels; a 35=X entry of a bid or an
offer sets its level to its size, whatever its update action says it was, and an update action
of 2 or a size of none or 0 removes it; a trade leaves the levels as they are), before any
client order: the exchange's recorded book while no client order rests in the market.

The columns are arrays of the standard library's `array` types, read through a `memoryview` of
the cache file mapped in memory, so a run's memory stays flat however long the recording; a
read by time (a search of the times, then a row's values) costs less in them than in numpy's
or Arrow's arrays, read one value at a time from Python.

The cache: the compiled recording's cache file with the suffix ``.kfb`` (`BOOK_SUFFIX`) for
``.kfc``, beside it, keyed
by the recording's content hash (the compiled form's key), the format (`BOOK_STATES_FORMAT`),
the depth and the machine's byte order, its columns checked by the CRC-32 its header holds, as
`compile_recording` checks its own: a key that does not match is computed again and
overwritten, a checksum that does not match is a `CompiledCacheError` naming the file. A
compiled recording with no cache file keeps its book states in memory.

Nothing here reads a clock.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import sys
import tempfile
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any, Final

from .compiled import (
    CACHE_SUFFIX,
    CompiledCacheError,
    CompiledRecording,
    _payload_checks,
    _payload_start,
    _read_header,
    _write,
)
from .compiled import _corrupt as _corrupt_cache

__all__ = [
    "BOOK_STATES_FORMAT",
    "BOOK_SUFFIX",
    "DEPTH",
    "BookStates",
    "MarketStates",
    "book_states",
]

BOOK_STATES_FORMAT: Final = 1
"""The version of the book states' cache: a cache of another version is computed again."""

BOOK_SUFFIX: Final = ".kfb"
"""The suffix of a recording's book states' cache (``day-1.log.kfb`` beside ``day-1.log.kfc``)."""

DEPTH: Final = 5
"""The levels of each side kept per book state by default."""

_MAGIC: Final = b"KFXBOOK\n"
# (name, typecode) of each market's columns; the four level columns hold ``depth`` per row
_COLUMNS: Final = (
    ("message", "q"),
    ("time", "d"),
    ("bid_px", "i"),
    ("bid_size", "i"),
    ("ask_px", "i"),
    ("ask_size", "i"),
)
_LEVELS: Final = ("bid_px", "bid_size", "ask_px", "ask_size")
_SEGMENT: Final = 4096  # a market's rows held before they go to the spill file
_HELD: Final = 1 << 16  # every market's rows held before they all go

Level = tuple[Decimal, Decimal]


class MarketStates:
    """One market's book states (see the module docstring): ``count`` rows, row ``i`` the book
    after recorded message ``messages[i]``, received at ``times[i]``.

    Attributes:
        symbol: the market.
        count: its rows.
        depth: the levels of each side a row holds.
        times: each row's receive time (UTC epoch seconds), never running backwards.
        messages: each row's message, its place in the recording (0: the first).
    """

    __slots__ = (
        "_ask_px",
        "_ask_size",
        "_bid_px",
        "_bid_size",
        "_decimals",
        "count",
        "depth",
        "messages",
        "symbol",
        "times",
    )

    def __init__(
        self,
        symbol: str,
        depth: int,
        columns: dict[str, Any],
        decimals: tuple[Any, ...],
    ) -> None:
        self.symbol = symbol
        self.depth = depth
        self.times: Any = columns["time"]
        self.messages: Any = columns["message"]
        self.count = len(self.times)
        self._bid_px, self._bid_size = columns["bid_px"], columns["bid_size"]
        self._ask_px, self._ask_size = columns["ask_px"], columns["ask_size"]
        self._decimals = decimals  # the compiled table, None last (index -1)

    def at(self, time: float) -> int:
        """The row of the book at ``time``: after the market's last message received at or
        before it; -1 before its first."""
        return bisect_right(self.times, time) - 1

    def after(self, message: int) -> int:
        """The row of the book after recorded message ``message`` (the last of the market's at
        or before it); -1 before its first."""
        return bisect_right(self.messages, message) - 1

    def since(self, message: int) -> int:
        """The first row of a message after ``message`` (``count``: none)."""
        return bisect_left(self.messages, message + 1)

    def top(self, row: int) -> tuple[Level | None, Level | None]:
        """The best bid and the best offer of row ``row`` (None: that side is empty, or
        ``row`` is -1)."""
        if row < 0:
            return None, None
        at, decimals = row * self.depth, self._decimals
        bid = self._bid_px[at]
        ask = self._ask_px[at]
        return (
            None if bid < 0 else (decimals[bid], decimals[self._bid_size[at]]),
            None if ask < 0 else (decimals[ask], decimals[self._ask_size[at]]),
        )

    def mid(self, row: int) -> Decimal | None:
        """The mid of the best bid and offer of row ``row`` (None: a side is empty), as the
        exchange's recorded mid is made."""
        bid, ask = self.top(row)
        if bid is None or ask is None:
            return None
        return (bid[0] + ask[0]) / _TWO

    def levels(self, row: int) -> tuple[list[Level], list[Level]]:
        """Row ``row``'s bids (best first: highest) and offers (best first: lowest), at most
        ``depth`` of each."""
        if row < 0:
            return [], []
        depth, decimals = self.depth, self._decimals
        at = row * depth
        sides: list[list[Level]] = []
        for pxs, sizes in ((self._bid_px, self._bid_size), (self._ask_px, self._ask_size)):
            side: list[Level] = []
            for k in range(at, at + depth):
                px = pxs[k]
                if px < 0:
                    break
                side.append((decimals[px], decimals[sizes[k]]))
            sides.append(side)
        return sides[0], sides[1]

    def column(self, name: str) -> Any:
        """A column by name (`_COLUMNS`: ``message``, ``time``, ``bid_px``, ``bid_size``,
        ``ask_px``, ``ask_size``): a sequence of numbers, read in place."""
        return {
            "message": self.messages,
            "time": self.times,
            "bid_px": self._bid_px,
            "bid_size": self._bid_size,
            "ask_px": self._ask_px,
            "ask_size": self._ask_size,
        }[name]


_TWO: Final = Decimal(2)


class BookStates:
    """A compiled recording's book states (`book_states`), per market.

    Attributes:
        markets: market -> its `MarketStates`, in the recording's order.
        depth: the levels of each side a row holds.
        cache_path: the cache file read or written (None: kept in memory).
        from_cache: read from the cache (nothing computed).
        size: the columns' bytes.
    """

    def __init__(
        self,
        markets: dict[str, MarketStates],
        depth: int,
        cache_path: str | None,
        from_cache: bool,
        size: int,
        keep: object = None,
    ) -> None:
        self.markets = markets
        self.depth = depth
        self.cache_path = cache_path
        self.from_cache = from_cache
        self.size = size
        self._keep = keep  # the mapped file (or bytes) the columns are views of

    def __getitem__(self, symbol: str) -> MarketStates:
        return self.markets[symbol]

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.markets

    def __repr__(self) -> str:
        return (
            f"BookStates(markets={len(self.markets)}, depth={self.depth}, "
            f"cache_path={self.cache_path!r}, from_cache={self.from_cache})"
        )


def book_states(compiled: CompiledRecording, depth: int = DEPTH) -> BookStates:
    """The book states of ``compiled`` (see the module docstring): read from its cache when it
    is the recording's, else computed (one pass over the compiled columns) and cached beside
    the compiled recording's own cache.

    Raises:
        ValueError: ``depth`` below 1.
        CompiledCacheError: a corrupt cache, or the compiled cache changed while read.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"book_states: depth must be a whole number >= 1, got {depth!r}")
    key = {
        "hash": compiled.content_hash,
        "depth": depth,
        "byteorder": sys.byteorder,
        "format": BOOK_STATES_FORMAT,
    }
    decimals = (*compiled._layout.decimals, None)
    where = _cache_file(compiled.cache_path)
    if where is not None and os.path.lexists(where):
        loaded = _load(where, key, depth, decimals)
        if loaded is not None:
            return loaded
    with tempfile.TemporaryFile() as spill:
        segments = _fold(compiled, depth, spill)
        header, parts = _payload(segments, spill, depth, key)
        if where is not None:
            with contextlib.suppress(OSError):
                base = _write(where, header, parts(), _MAGIC, BOOK_SUFFIX)
                return _mapped(where, header, base, depth, decimals, from_cache=False)
        data = b"".join(parts())
    view = memoryview(data)
    return _viewed(view, header, depth, decimals, None, False, data)


def _cache_file(compiled_cache: str | None) -> str | None:
    """The book states' cache beside the compiled recording's (its suffix `BOOK_SUFFIX`)."""
    if compiled_cache is None:
        return None
    stem = (
        compiled_cache[: -len(CACHE_SUFFIX)]
        if compiled_cache.endswith(CACHE_SUFFIX)
        else compiled_cache
    )
    return stem + BOOK_SUFFIX


# -- the fold ----------------------------------------------------------------------------------


class _Side:
    """One side of a book in the fold: price index -> size index, and the prices sorted by
    value (ascending)."""

    __slots__ = ("sizes", "sorted", "values")

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.values: list[Decimal] = []
        self.sorted: list[int] = []

    def set(self, px: int, size: int, value: Decimal) -> None:
        if px not in self.sizes:
            i = bisect_left(self.values, value)
            self.values.insert(i, value)
            self.sorted.insert(i, px)
        self.sizes[px] = size

    def remove(self, px: int, value: Decimal) -> None:
        if self.sizes.pop(px, None) is not None:
            i = bisect_left(self.values, value)
            del self.values[i]
            del self.sorted[i]

    def clear(self) -> None:
        self.sizes.clear()
        self.values.clear()
        self.sorted.clear()


class _Market:
    """A market's book in the fold and its rows not yet spilled."""

    __slots__ = ("asks", "bids", "rows", "segments")

    def __init__(self) -> None:
        self.bids = _Side()
        self.asks = _Side()
        self.rows: dict[str, array[Any]] = {name: array(code) for name, code in _COLUMNS}
        self.segments: list[tuple[int, int]] = []  # (offset in the spill file, rows)

    def row(self, message: int, time: float, depth: int, pad: array[Any]) -> None:
        rows = self.rows
        rows["message"].append(message)
        rows["time"].append(time)
        bids, asks = self.bids, self.asks
        best_bids = bids.sorted[: -depth - 1 : -1]
        best_asks = asks.sorted[:depth]
        rows["bid_px"].extend(best_bids)
        rows["bid_size"].extend([bids.sizes[px] for px in best_bids])
        rows["ask_px"].extend(best_asks)
        rows["ask_size"].extend([asks.sizes[px] for px in best_asks])
        short = depth - len(best_bids)
        if short:
            rows["bid_px"].extend(pad[:short])
            rows["bid_size"].extend(pad[:short])
        short = depth - len(best_asks)
        if short:
            rows["ask_px"].extend(pad[:short])
            rows["ask_size"].extend(pad[:short])

    def held(self) -> int:
        """Its rows not yet spilled."""
        return len(self.rows["message"])

    def spill(self, out: IO[bytes]) -> None:
        """Its rows to the end of ``out``, a segment (each column's rows one after the other)."""
        rows = self.rows
        count = len(rows["message"])
        if not count:
            return
        out.seek(0, os.SEEK_END)
        self.segments.append((out.tell(), count))
        for name, code in _COLUMNS:
            rows[name].tofile(out)
            rows[name] = array(code)


def _fold(compiled: CompiledRecording, depth: int, spill: IO[bytes]) -> dict[str, _Market]:
    """Each market's book after each of its messages, its rows spilled to ``spill`` a segment at
    a time: a market's `_SEGMENT` rows, or every market's after a chunk of the compiled columns
    once they hold `_HELD` rows together (memory flat in the recording's length)."""
    markets = {symbol: _Market() for symbol in compiled.info.markets}
    pad = array("i", [-1] * depth)
    message = 0
    for chunk in compiled.chunks():
        symbols, texts, decimals = chunk.symbol_table, chunk.text_table, chunk.decimal_table
        bid = texts.index("0") if "0" in texts else -2
        offer = texts.index("1") if "1" in texts else -2
        delete = texts.index("2") if "2" in texts else -2
        times, kinds, starts, base = chunk.times, chunk.kinds, chunk.starts, chunk.base
        types, names, pxs, sizes = chunk.types, chunk.markets, chunk.pxs, chunk.sizes
        actions, symbol_of = chunk.actions, chunk.symbols
        for i in range(chunk.count):
            kind = kinds[i]
            touched: dict[str, None] = {}
            if kind == 0:  # a 35=W: the market's levels become the snapshot's
                symbol = symbols[symbol_of[i]]
                if symbol is not None:
                    market = markets.setdefault(symbol, _Market())
                    market.bids.clear()
                    market.asks.clear()
                    touched[symbol] = None
            else:
                symbol = None
            if kind <= 1:
                for e in range(starts[i] - base, starts[i + 1] - base):
                    t = types[e]
                    if t != bid and t != offer:
                        continue
                    name = symbol if kind == 0 else symbols[names[e]]
                    px = pxs[e]
                    value = decimals[px]
                    if name is None or value is None:
                        continue
                    market = markets.get(name) or markets.setdefault(name, _Market())
                    side = market.bids if t == bid else market.asks
                    size = sizes[e]
                    if size < 0 or (actions[e] == delete and kind == 1) or not decimals[size]:
                        side.remove(px, value)
                    else:
                        side.set(px, size, value)
                    touched[name] = None
                if kind == 1:
                    for e in range(starts[i] - base, starts[i + 1] - base):
                        name = symbols[names[e]]
                        if name is not None and name not in touched and name in markets:
                            touched[name] = None  # a trade alone: the book as it was
                for name in touched:
                    market = markets[name]
                    market.row(message + i, times[i], depth, pad)
                    if market.held() >= _SEGMENT:
                        market.spill(spill)
        message += chunk.count
        if sum(market.held() for market in markets.values()) >= _HELD:
            for market in markets.values():
                market.spill(spill)
    for market in markets.values():
        market.spill(spill)
    return markets


# -- the cache -------------------------------------------------------------------------------


def _payload(
    markets: dict[str, _Market], spill: IO[bytes], depth: int, key: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    """The cache's header (each market's columns: where they lie, their length) and a maker of
    its payload, a block at a time (each column 8-aligned), from the spill file."""
    columns: list[list[Any]] = []
    offset = crc = 0
    for symbol, market in markets.items():
        count = sum(n for _, n in market.segments)
        for name, code in _COLUMNS:
            width = depth if name in _LEVELS else 1
            size = count * width * array(code).itemsize
            columns.append([symbol, name, offset, count * width, code])
            offset += _aligned(size)

    # the bytes of a row of each column, and where each column starts in a segment of one row
    widths = [(depth if name in _LEVELS else 1) * array(code).itemsize for name, code in _COLUMNS]
    starts = [sum(widths[:k]) for k in range(len(widths))]

    def parts() -> Iterator[bytes]:
        for market in markets.values():
            for width, start in zip(widths, starts, strict=True):
                written = 0
                for at, rows in market.segments:
                    spill.seek(at + rows * start)
                    block = spill.read(rows * width)
                    written += len(block)
                    yield block
                pad = _aligned(written) - written
                if pad:
                    yield b"\0" * pad

    for block in parts():
        crc = zlib.crc32(block, crc)
    header = {
        "format": BOOK_STATES_FORMAT,
        "key": key,
        "columns": columns,
        "payload_size": offset,
        "payload_crc32": crc,
    }
    return header, parts


def _aligned(size: int) -> int:
    return (size + 7) & ~7


def _corrupt(where: str, what: str) -> CompiledCacheError:
    return _corrupt_cache(where, what, "book-states cache", "the book states are computed again")


def _load(
    where: str, key: dict[str, Any], depth: int, decimals: tuple[Any, ...]
) -> BookStates | None:
    """The book states in the cache file ``where``; None when its key is not ``key``."""
    try:
        with open(where, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise _corrupt(where, "not a regular file")
            header, length = _read_header(
                fh, _MAGIC, "book-states cache", lambda what: _corrupt(where, what)
            )
            if header.get("format") != BOOK_STATES_FORMAT or header.get("key") != key:
                return None  # another version, depth or recording: computed again
            base = _payload_start(length)
            if not _payload_checks(fh, base, header):
                raise _corrupt(where, "its columns do not match their checksum")
        return _mapped(where, header, base, depth, decimals, from_cache=True)
    except OSError as exc:
        raise CompiledCacheError(where, 0, 0, f"cannot read: {exc.strerror or exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, CompiledCacheError):
            raise
        raise _corrupt(where, f"its header lacks {exc}") from None


def _mapped(
    where: str,
    header: dict[str, Any],
    base: int,
    depth: int,
    decimals: tuple[Any, ...],
    *,
    from_cache: bool,
) -> BookStates:
    """The cache file mapped in memory, its columns views of the map."""
    with open(where, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            raise _corrupt(where, "it is empty")
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(mapped)[base:]
    return _viewed(view, header, depth, decimals, where, from_cache, mapped)


def _viewed(
    view: memoryview,
    header: dict[str, Any],
    depth: int,
    decimals: tuple[Any, ...],
    where: str | None,
    from_cache: bool,
    keep: object,
) -> BookStates:
    columns: dict[str, dict[str, Any]] = {}
    for symbol, name, offset, count, code in header["columns"]:
        item = array(code).itemsize
        columns.setdefault(symbol, {})[name] = view[offset : offset + count * item].cast(code)
    markets = {
        symbol: MarketStates(symbol, depth, cols, decimals) for symbol, cols in columns.items()
    }
    return BookStates(markets, depth, where, from_cache, int(header["payload_size"]), keep)
