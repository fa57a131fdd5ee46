"""A compiled recording's chunk as columns a reader takes by index (`Chunk`).

`CompiledRecording.rows <kalshi_fix_sansio.simulator.backtests.compiled.CompiledRecording.rows>` makes a
`Row` of every message, a tuple of entry tuples, and a book-level run's lane
(`kalshi_fix_sansio.simulator.backtests._lane`) takes most of them apart again at once. A `Chunk` holds
the same chunk of columns as they are read (arrays of numbers: each text, market and decimal
an index into the recording's tables), so the lane reads a message's fields by index, each
value looked up in its table as it is read, with no row made; `row` and `rows` make the rows
of the general path from the same columns, from any message on, and they equal what
`CompiledRecording.rows` yields for those messages (tests/test_backtest_columns.py compares
them).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from itertools import islice, repeat
from operator import sub
from typing import Any, Final

__all__ = ["KINDS", "Chunk"]

Row = tuple[float, str, str | None, int | None, str | None, tuple[tuple[Any, ...], ...]]
KINDS: Final = ("W", "X", "f", "UMS")  # the kind column's values: 0, 1, 2, 3


def _from(values: array[Any], at: int) -> Iterator[Any]:
    """An iterator over ``values`` from index ``at`` (set in place: no skip step by step)."""
    it = iter(values)
    it.__setstate__(at)  # type: ignore[attr-defined]
    return it


class Chunk:
    """One chunk of a compiled recording's messages as its columns (see the module docstring).
    Per message ``i``: ``times[i]``, ``kinds[i]`` (0 W, 1 X, 2 f, 3 UMS: `KINDS`),
    ``symbols[i]`` (an index into ``symbol_table``), ``statuses[i]`` and ``results[i]``
    (``text_table``), and its entries from ``starts[i] - base`` to ``starts[i + 1] - base``;
    per entry ``j``: ``types[j]``, ``actions[j]``, ``aggressors[j]`` (``text_table``),
    ``markets[j]`` (``symbol_table``), ``pxs[j]`` and ``sizes[j]`` (``decimal_table``), and
    `trade_id`. Each table holds None last: an index of -1 (no value) is None."""

    __slots__ = (
        "_lists",
        "actions",
        "aggressors",
        "base",
        "count",
        "decimal_table",
        "kinds",
        "markets",
        "nones",
        "pxs",
        "results",
        "sizes",
        "starts",
        "statuses",
        "symbol_table",
        "symbols",
        "text_table",
        "times",
        "trade_base",
        "trade_bytes",
        "trade_ends",
        "types",
    )

    def __init__(
        self,
        tables: tuple[list[str | None], list[str | None], list[Any]],
        messages: dict[str, array[Any]],
        base: int,
        entries: dict[str, array[Any]],
        trade_base: int,
        trade_bytes: bytes,
    ) -> None:
        self.symbol_table, self.text_table, self.decimal_table = tables
        self.times, self.kinds = messages["time"], messages["kind"]
        self.symbols, self.statuses, self.results = (
            messages["symbol"],
            messages["status"],
            messages["result"],
        )
        self.count = count = len(self.times)
        # whether the chunk has no status, no Symbol, no result of a message's own (35=X
        # messages have none): no lookup per message for such a column
        self.nones = (
            self.statuses.count(NO_STATUS) == count,
            self.symbols.count(-1) == count,
            self.results.count(-1) == count,
        )
        self.base = base
        self.starts = array("q", (base,))  # where each message's entries start, absolute
        self.starts += messages["entries"]
        self.types, self.markets = entries["type"], entries["entry_symbol"]
        self.pxs, self.sizes = entries["px"], entries["size"]
        self.actions, self.aggressors = entries["action"], entries["aggressor"]
        # entry j's TradeID: from trade_ends[j] to trade_ends[j + 1] (equal: none) in the
        # recording's trade bytes, of which ``trade_bytes`` holds the chunk's from
        # ``trade_base`` on
        self.trade_ends = array("q", (trade_base,))
        self.trade_ends += entries["trade_end"]
        self.trade_base, self.trade_bytes = trade_base, trade_bytes
        self._lists: tuple[list[Any], ...] | None = None  # `lists`

    def lists(self) -> tuple[list[Any], ...]:
        """The columns a reader takes one value at a time, as lists (a list's item is read in
        a step of its own, an array's makes a number each time), made once a chunk when first
        asked: times, kinds, starts, and the entries' types, markets, prices, sizes, actions."""
        lists = self._lists
        if lists is None:
            columns = (self.times, self.kinds, self.starts, self.types, self.markets)
            lists = self._lists = tuple(
                column.tolist() for column in (*columns, self.pxs, self.sizes, self.actions)
            )
        return lists

    def trade_id(self, j: int) -> str | None:
        """Entry ``j``'s TradeID (None: none), as `compiled._trade_ids` reads it."""
        start, end = self.trade_ends[j], self.trade_ends[j + 1]
        if end > start:
            base = self.trade_base
            return self.trade_bytes[start - base : end - base].decode()
        return None

    def _trade_ids(self, j: int) -> Iterator[str | None]:
        ends, data, base = self.trade_ends, self.trade_bytes, self.trade_base
        start = ends[j]
        for end in _from(ends, j + 1):
            if end > start:
                yield data[start - base : end - base].decode()
                start = end
            else:
                yield None

    def entry(self, j: int) -> tuple[Any, ...]:
        """Entry ``j`` as a row's entry tuple (`CompiledEntry`'s fields, in its order)."""
        texts, decimals = self.text_table, self.decimal_table
        return (
            texts[self.types[j]],
            self.symbol_table[self.markets[j]],
            decimals[self.pxs[j]],
            decimals[self.sizes[j]],
            texts[self.actions[j]],
            texts[self.aggressors[j]],
            self.trade_id(j),
        )

    def row(self, i: int) -> Row:
        """Message ``i``'s `Row`, as `CompiledRecording.rows` yields it."""
        base = self.base
        status = self.statuses[i]
        entries = range(self.starts[i] - base, self.starts[i + 1] - base)
        return (
            self.times[i],
            KINDS[self.kinds[i]],
            self.symbol_table[self.symbols[i]],
            None if status == NO_STATUS else status,
            self.text_table[self.results[i]],
            tuple(map(self.entry, entries)),
        )

    def rows(self, i: int) -> Iterator[Row]:
        """The `Row` of each message from ``i`` to the chunk's end, made in C as
        `CompiledRecording.rows` makes them (no Python step per message)."""
        j = self.starts[i] - self.base
        texts, decimals = self.text_table.__getitem__, self.decimal_table.__getitem__
        symbols = self.symbol_table.__getitem__
        entries_of = zip(
            map(texts, _from(self.types, j)),
            map(symbols, _from(self.markets, j)),
            map(decimals, _from(self.pxs, j)),
            map(decimals, _from(self.sizes, j)),
            map(texts, _from(self.actions, j)),
            map(texts, _from(self.aggressors, j)),
            self._trade_ids(j),
            strict=True,  # read as the messages ask: never all at once
        )
        starts = self.starts
        counts = map(sub, _from(starts, i + 1), _from(starts, i))
        entries = map(tuple, map(islice, repeat(entries_of), counts))
        # no lookup per message for a column with no value in the chunk (35=X messages have
        # no Symbol, status or result of their own)
        left = self.count - i
        status, symbol, result = self.statuses, self.symbols, self.results
        none_status, none_symbol, none_result = self.nones
        statuses = (
            repeat(None, left)
            if none_status
            else map(_STATUS_OF.get, _from(status, i), _from(status, i))
        )
        syms = repeat(None, left) if none_symbol else map(symbols, _from(symbol, i))
        results = repeat(None, left) if none_result else map(texts, _from(result, i))
        return zip(
            _from(self.times, i),
            map(KINDS.__getitem__, _from(self.kinds, i)),
            syms,
            statuses,
            results,
            entries,
            strict=True,
        )


NO_STATUS: Final = -(2**63)  # the status column's none (`_compiling._NO_STATUS`)
_STATUS_OF: Final[dict[int, None]] = {NO_STATUS: None}
