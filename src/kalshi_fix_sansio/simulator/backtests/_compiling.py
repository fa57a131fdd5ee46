"""How a recording's messages become the compiled form's columns (`kalshi_fix_sansio.simulator.backtests.compiled`):
the columns themselves, each message's cells (its kind, its texts and prices numbered in tables
of distinct values, its entries), the builder that holds them (in lists, packed into arrays a
block at a time, spilled to temporary files), and the compile's shortcut past the decode: the
plans of the tag layouts met, each a `LayoutScan` of the codec's, and the cells learnt for each
raw value (`_Plans`).
"""

from __future__ import annotations

import operator
import re
import struct
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Final
from zlib import adler32

from ...codec import LayoutScan, layout_scan
from ...codec.framing import checksum
from ..data.recording import _MINUTES, _Reader
from ..gateway.exchange.common import as_dec, as_int, raw_value

_NONE: Final = -1
_KIND_CODE: Final = {"W": 0, "X": 1, "f": 2, "UMS": 3}
_NO_STATUS: Final = -(2**63)
# (name, array typecode) of each column: per message, then per book or trade entry; indexes
# into the tables (symbols, texts, decimals) are -1 where the recorded field had no value
_MESSAGE_COLUMNS: Final = (
    ("time", "d"),  # receive time (epoch seconds), never running backwards
    ("line", "q"),
    ("offset", "q"),
    ("kind", "b"),  # 0 W, 1 X, 2 f, 3 UMS
    ("symbol", "i"),  # Symbol(55) of a W, f or UMS (symbols)
    ("status", "q"),  # SecurityTradingStatus(326) of a 35=f (_NO_STATUS: none)
    ("result", "i"),  # MarketResult of a 35=UMS (texts)
    ("entries", "q"),  # the end (exclusive) of its entries in the entry columns
)
_ENTRY_COLUMNS: Final = (
    ("type", "i"),  # MDEntryType(269) (texts)
    ("entry_symbol", "i"),  # Symbol(55) (symbols)
    ("px", "i"),  # MDEntryPx(270) (decimals)
    ("size", "i"),  # MDEntrySize(271) (decimals)
    ("action", "i"),  # MDUpdateAction(279) (texts)
    ("aggressor", "i"),  # AggressorSide(2446) (texts)
    ("trade_end", "q"),  # the end of its TradeID(1003) in the trade bytes (empty: none)
)
_COLUMNS: Final = (*_MESSAGE_COLUMNS, *_ENTRY_COLUMNS, ("trades", "B"))


def _raw_text(value: object) -> str | None:
    """A field's text (an enum member's value), None when it is not text."""
    value = raw_value(value)
    return value if isinstance(value, str) else None


class _Interned:
    """Distinct values, each numbered once (as many as distinct values, not messages)."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._index: dict[str, int] = {}
        self._objects: dict[object, int] = {}  # a field's value as decoded -> its text's index

    def of(self, value: object) -> int:
        """The index of a field's text (an enum member's value); -1 when it is not text."""
        index = self._objects.get(value)
        if index is None:
            index = self._objects[value] = self(_raw_text(value))
        return index

    def __call__(self, value: str | None) -> int:
        if value is None:
            return _NONE
        index = self._index.get(value)
        if index is None:
            index = self._index[value] = len(self.values)
            self.values.append(value)
        return index


_ENTRY_FIELDS: Final = (
    "md_entry_type",
    "symbol",
    "md_entry_px",
    "md_entry_size",
    "md_update_action",
    "aggressor_side",
    "trade_id",
)


def _entry_getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """The seven fields of an entry class, in `_ENTRY_FIELDS` order (None where it has none)."""
    if all(hasattr(cls, name) for name in _ENTRY_FIELDS):
        return operator.attrgetter(*_ENTRY_FIELDS)
    return lambda entry: tuple(getattr(entry, name, None) for name in _ENTRY_FIELDS)


# What the compile makes of one message (`_Builder.cells`, `_Plans.cells`): its kind code, the
# indexes of its Symbol and MarketResult, its SecurityTradingStatus, and its entries, each as
# the indexes of `_ENTRY_FIELDS` but the last, then its TradeID's bytes (b"": none)
Cells = tuple[int, int, int, int, list[tuple[int, int, int, int, int, int, bytes]]]


class _Builder:
    """The columns of a compile, a message at a time: arrays of numbers, moved to a temporary
    file per column every `_SPILL` messages (memory stays flat however long the recording),
    and the tables."""

    def __init__(self) -> None:
        self.cols: dict[str, array[Any]] = {n: array(t) for n, t in _COLUMNS}
        self.symbols, self.texts, self.decimals = _Interned(), _Interned(), _Interned()
        self.counts = dict.fromkeys(self.cols, 0)  # what each column holds, spilled or not
        self.entries = 0  # entries so far
        self.trade_bytes = 0  # trade id bytes so far
        self._spilled: dict[str, IO[bytes]] = {}
        self._getters: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
        # the numbers not in the columns' arrays yet: each message's eight (`_MESSAGE_COLUMNS`'
        # order) and each entry's six in one list each, the entries' trade ends in another;
        # one list's ``extend`` a message costs a fraction of an ``append`` a number (an
        # array's parses its argument as a C call would); they go to the arrays a block at a
        # time (`_flush`), each column a slice of its list, emptied in place
        self._messages: list[Any] = []
        self._entries: list[int] = []
        self._trade_ends: list[int] = []
        self._message, self._entry = self._messages.extend, self._entries.extend
        self._trade_end, self._trades = self._trade_ends.append, self.cols["trades"].frombytes

        # the cell of a field's value as decoded, per column of `_Plan.caches`
        symbol, text = self.symbols.of, self.texts.of
        self.convert: tuple[Callable[[Any], Any], ...] = (
            *(symbol, self._status_cell, text, text, symbol),
            *(self._decimal_cell, self._decimal_cell, text, text),
        )

    def _decimal_cell(self, value: Any) -> int:
        value = as_dec(value)  # finite only: what a replay reads
        return _NONE if value is None else self.decimals(str(value))

    @staticmethod
    def _status_cell(value: Any) -> int:
        value = as_int(value)
        return _NO_STATUS if value is None else value

    def cells(self, message: Any) -> Cells:
        """A decoded message's cells (its texts and prices numbered in the tables)."""
        symbol_, status_, result_, type_, esymbol_, px_, size_, action_, aggressor_ = self.convert
        kind = type(message).MSG_TYPE
        status = status_(getattr(message, "security_trading_status", None))
        entries = []
        if kind == "W" or kind == "X":
            getters = self._getters
            for entry in getattr(message, "md_entries", None) or ():
                get = getters.get(type(entry))
                if get is None:
                    get = getters[type(entry)] = _entry_getter(type(entry))
                kind_, symbol, px, size, action, aggressor, trade_id = get(entry)
                entries.append(
                    (
                        type_(kind_),
                        esymbol_(symbol),
                        px_(px),
                        size_(size),
                        action_(action),
                        aggressor_(aggressor),
                        (_raw_text(trade_id) or "").encode(),
                    )
                )
        return (
            _KIND_CODE[kind],
            symbol_(getattr(message, "symbol", None)),
            status,
            result_(getattr(message, "market_result", None)),
            entries,
        )

    def fill(self, plan: _Plan, values: Any, prediction: bool) -> bool:
        """Learn the cell of each value of a sound frame (one its plan's scan accepts) that
        was not met before, from its field decoded alone (the decoder the frame's decode
        reads it with), numbered in the order `cells` numbers a decoded message's values (so
        the tables are the same); False: one is a prediction price of $1 or more, or does not
        decode (the frame is then decoded and checked in full)."""
        caches, decoders, convert = plan.caches, plan.scan.decoders, self.convert
        for column, at in plan.order:
            cache = caches[column]
            raw = values[at]
            if raw in cache:
                continue
            decoder = decoders[at]
            if decoder is None:
                return False
            try:
                value = decoder(raw)
            except Exception:  # never: the scan accepts only values that decode
                return False
            if prediction and column == 5 and value is not None and value >= 1:
                return False  # `_check_prediction`'s: the frame is decoded and refused
            cache[raw] = convert[column](value)
        return True

    def add(self, moment: float, line: int, offset: int, cells: Cells) -> None:
        """Append a message's cells (its receive time, line and offset first) to the columns."""
        kind, symbol, status, result, entries = cells
        if entries:
            entry, trade_end, trades = self._entry, self._trade_end, self._trades
            for cell in entries:
                entry(cell[:6])
                trade_id = cell[6]
                if trade_id:
                    trades(trade_id)
                    self.trade_bytes += len(trade_id)
                trade_end(self.trade_bytes)
            self.entries += len(entries)
        self._message((moment, line, offset, kind, symbol, status, result, self.entries))

    def told(self, moment: float, line: int, offset: int, plan: _Plan, values: Any) -> bool:
        """Append the message of a frame a plan reads (its scan's ``values``, more may follow
        them) as `add` would its cells; False (nothing appended): a value not met before."""
        caches = plan.caches
        try:
            symbol = caches[0][values[plan.symbol]]
            status = caches[1][values[plan.status]]
            result = caches[2][values[plan.result]]
            cells = [cache[values[at]] for cache, at in plan.flat]
        except KeyError:
            return False
        if cells:
            self._entry(cells)
            if plan.trade_ids:
                trades, trade_end = self._trades, self._trade_end
                for at in plan.trade_ids:
                    trade_id = values[at]
                    if trade_id:
                        trades(trade_id)
                        self.trade_bytes += len(trade_id)
                    trade_end(self.trade_bytes)
            else:
                self._trade_ends += [self.trade_bytes] * len(plan.entries)
            self.entries += len(plan.entries)
        self._message((moment, line, offset, plan.kind, symbol, status, result, self.entries))
        return True

    def _flush(self) -> None:
        """Move the numbers held in lists to their columns' arrays (packed at once)."""
        for held, columns in (
            (self._messages, _MESSAGE_COLUMNS),
            (self._entries, _ENTRY_COLUMNS[:-1]),
            (self._trade_ends, _ENTRY_COLUMNS[-1:]),
        ):
            if held:
                step = len(columns)
                for k, (name, code) in enumerate(columns):
                    part = held[k::step]
                    self.cols[name].frombytes(struct.pack(f"@{len(part)}{code}", *part))
                held.clear()

    def spill(self) -> None:
        """Move the columns held so far to their temporary files."""
        self._flush()
        for name, column in self.cols.items():
            if column:
                out = self._spilled.get(name)
                if out is None:
                    out = self._spilled[name] = tempfile.TemporaryFile()
                out.write(column)
                self.counts[name] += len(column)
                del column[:]

    def close(self) -> None:
        for out in self._spilled.values():
            out.close()

    def layout(self) -> tuple[list[list[Any]], int]:
        """Each column's [name, offset, count, typecode] in the payload, and its size."""
        self._flush()
        layout, at = [], 0
        for name, code in _COLUMNS:
            column = self.cols[name]
            count = self.counts[name] + len(column)
            layout.append([name, at, count, code])
            at += _aligned(count * column.itemsize)
        return layout, at

    def parts(self) -> Iterator[bytes | array[Any]]:
        """The payload, a block at a time: each column (spilled, then held), padded to 8."""
        self._flush()
        for name, _code in _COLUMNS:
            column, size = self.cols[name], 0
            spilled = self._spilled.get(name)
            if spilled is not None:
                spilled.seek(0)
                while block := spilled.read(1 << 20):
                    size += len(block)
                    yield block
            size += len(column) * column.itemsize
            yield column
            yield b"\0" * (_aligned(size) - size)


def _aligned(size: int) -> int:
    return (size + 7) & ~7


# the fields the compile reads of a message (`_Plans`), besides its entries' `_ENTRY_FIELDS`
_MESSAGE_FIELDS: Final = ("symbol", "security_trading_status", "market_result")
_SCANNED: Final = frozenset((*_MESSAGE_FIELDS, *_ENTRY_FIELDS))
# the cell of a field a message lacks, per column of `_Plan.caches`
_ABSENT: Final = (_NONE, _NO_STATUS, *(_NONE,) * 8)
_PLANS_PER_SHAPE: Final = 8  # layouts of one MsgType and field count tried per frame
# layouts remembered in all (others are decoded each time): a plan's pattern is some 15-20 KB
# for a snapshot of 8 levels, so that a recording of many layouts holds a few MB of them
_MOST_PLANS: Final = 256


class _Plan:
    """How the compile reads the frames of one tag layout without decoding them: its
    `LayoutScan` and where each cell's raw value is in the scan's values."""

    __slots__ = (
        "caches",
        "entries",
        "flat",
        "kind",
        "order",
        "result",
        "scan",
        "status",
        "symbol",
        "trade_ids",
    )

    def __init__(self, scan: LayoutScan, kind: str, caches: tuple[dict[bytes, Any], ...]) -> None:
        fields, absent = scan.fields, scan.absent
        self.scan = scan
        self.kind = _KIND_CODE[kind]
        self.caches = caches
        self.symbol, self.status, self.result = (fields.get(n, absent) for n in _MESSAGE_FIELDS)
        entries = scan.groups.get("md_entries", ()) if kind == "W" or kind == "X" else ()
        self.entries = tuple(tuple(e.get(n, absent) for n in _ENTRY_FIELDS) for e in entries)
        # (the cache, where the raw value is) of each entry's six cells, one entry after another
        self.flat = tuple((caches[3 + j], at[j]) for at in self.entries for j in range(6))
        # where each entry's TradeID is (none when the layout has none)
        ids = tuple(at[6] for at in self.entries)
        self.trade_ids = ids if any(at != absent for at in ids) else ()
        # (column, where the raw value is) in the order `_Builder.cells` numbers them
        self.order = (
            *((3 + j, at[j]) for at in self.entries for j in range(6)),
            (0, self.symbol),
            (1, self.status),
            (2, self.result),
        )

    def cells(self, values: tuple[bytes, ...]) -> Cells | None:
        """The cells of a frame of the layout from its scan's ``values`` (more may follow
        them), or None: a value not met before."""
        try:
            c = self.caches
            types, syms, pxs, sizes, actions, sides = c[3], c[4], c[5], c[6], c[7], c[8]
            entries = [
                (
                    types[values[t]],
                    syms[values[s]],
                    pxs[values[p]],
                    sizes[values[z]],
                    actions[values[a]],
                    sides[values[g]],
                    values[d],
                )
                for t, s, p, z, a, g, d in self.entries
            ]
            return (
                self.kind,
                c[0][values[self.symbol]],
                c[1][values[self.status]],
                c[2][values[self.result]],
                entries,
            )
        except KeyError:  # a value not met before
            return None


class _Plans:
    """The compile's shortcut: a frame whose tag layout was met before, and whose values the
    layout's `LayoutScan` accepts, is one that decodes and validates with nothing wrong (the
    codec's word for it: the scan accepts less than the decode and validation do, never
    more), so its cells come from its raw values, without decoding it: each raw value's cell
    is the one the decoded messages before it gave it (``caches``, per kind and column, learnt
    from the messages decoded, which passed every check, the prediction price check too). A
    frame the scan does not accept, or with a value not met before, is decoded and checked in
    full (`_read`), and what its message gives is learnt: a bad recording is named exactly as
    the check names it."""

    def __init__(self) -> None:
        self._shapes: dict[tuple[str, int], list[_Plan]] = {}
        self._count = 0
        self._caches: dict[str, tuple[dict[bytes, Any], ...]] = {}
        self._lined: list[_Plan] = []  # the plans read from whole log lines (`lines`)
        self.changed = False  # `_lined` changed since the last `lines()`
        # `_Builder.fill` of the compile's builder: the values of a frame a plan's scan
        # accepts that were not met before, learnt without decoding the frame (None: decode it)
        self.fill: Callable[[_Plan, tuple[bytes, ...]], bool] | None = None

    def lines(self) -> _LinePlans | None:
        """The plans read from whole log lines, as they are now (None: none yet)."""
        self.changed = False
        return _LinePlans(self._lined) if self._lined else None

    def _drop(self, plans: list[_Plan], plan: _Plan) -> None:
        plans.remove(plan)
        if plan in self._lined:
            self._lined.remove(plan)
            self.changed = True

    def cells(self, frame: bytes, kind: str) -> Cells | None:
        """The cells of a frame told by a plan, or None (decode it)."""
        plans = self._shapes.get((kind, frame.count(b"\x01")))
        if plans is None:
            return None
        for plan in plans:
            values = plan.scan.values(frame)
            if values is not None:
                break
        else:
            return None
        cells = plan.cells(values)
        if cells is None and self.fill is not None and self.fill(plan, values):
            cells = plan.cells(values)
        return cells

    def learn(self, message: Any, cells: Cells) -> None:
        """Learn from a decoded message that passed every check, and its cells: its layout's
        plan (made at its first frame) and the cell of each of its raw values."""
        frame: bytes = message.raw
        kind: str = type(message).MSG_TYPE
        plans = self._shapes.setdefault((kind, frame.count(b"\x01")), [])
        for plan in plans:
            values = plan.scan.values(frame)
            if values is not None:
                break
        else:
            if len(plans) >= _PLANS_PER_SHAPE or self._count >= _MOST_PLANS:
                return
            scan = layout_scan(message, _SCANNED)
            values = None if scan is None else scan.values(frame)
            if scan is None or values is None:
                return
            caches = self._caches.get(kind)
            if caches is None:
                caches = self._caches[kind] = tuple({b"": cell} for cell in _ABSENT)
            plan = _Plan(scan, kind, caches)
            plans.append(plan)
            self._count += 1
            if scan.line_parts is not None and len(self._lined) < _MOST_LINE_PLANS:
                self._lined.append(plan)
                self.changed = True
        _kind, symbol, status, result, entries = cells
        found = [(0, plan.symbol, symbol), (1, plan.status, status), (2, plan.result, result)]
        if len(entries) != len(plan.entries):
            self._drop(plans, plan)  # never: the scan reads the entries the decode reads
            return
        for at, cell in zip(plan.entries, entries, strict=True):
            if values[at[6]] != cell[6]:  # the TradeID's bytes are its raw value
                self._drop(plans, plan)  # never: a text's plain form is itself
                return
            found += zip(range(3, 9), at, cell[:6], strict=False)
        caches = plan.caches
        for column, at_, cell_ in found:
            if caches[column].setdefault(values[at_], cell_) != cell_:
                self._drop(plans, plan)  # never: a raw value gives one cell
                return


# layouts read from whole log lines (`_LinePlans`), the first met: one pattern of them all is
# made again when one is added (at most once a block of lines), some 15-20 KB a layout
_MOST_LINE_PLANS: Final = 16
# a log line's head as `RecordingWriter` writes it (`_STAMP`'s groups: the receive time's
# minute, second and microseconds), received, then its session id (groups 1-4)
_LINE_HEAD: Final = (
    rb"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}):([0-5][0-9])\.([0-9]{6})Z IN (\S+) "
)
_HEAD_SIZE: Final = len("2026-11-20T14:30:00.125000Z IN  ")  # and the session id's
_LINE_END: Final = (rb"(\r?\n|\r|\Z)", True)  # one line end, as `bytes.splitlines` cuts
_EMPTY: Final = (b"()", True)  # the scan's value of a field a layout lacks (b"")
_EXACT_ADLER: Final = 512  # frames of printable ASCII this long: Adler-32's low half is the sum


class _LinePlans:
    """The plans of several layouts read from a recording's whole log lines in one match: one
    pattern, the log line's head (`_LINE_HEAD`) then the layouts' `LayoutScan.line_parts`
    merged where they start alike (a tree of the parts: sre tries the parts that differ, not
    the whole layouts again), each ended by an empty group (`LayoutScan.absent`'s value),
    its CheckSum and the line's end. The group a match closed last (its line end's) names the
    layout; ``leaves`` maps it to what to read: the groups of the scan's values in their order,
    then the head's four, the CheckSum's and the line end's; the plan; and what the frame's
    `|` add to its byte sum (123 each: 124 where SOH is 1)."""

    def __init__(self, plans: list[_Plan]) -> None:
        tree: dict[Any, Any] = {}
        for k, plan in enumerate(plans):
            parts = plan.scan.line_parts or ()
            node = tree
            for part in (*parts[:-1], _EMPTY, parts[-1], _LINE_END):
                node = node.setdefault(part, {})
            node.setdefault(None, k)  # (the same layout twice: the first)
        out: list[bytes] = [_LINE_HEAD]
        paths: dict[int, list[int]] = {}
        number = 5  # the groups after the head's four, numbered as their "(" come

        def walk(node: dict[Any, Any], path: list[int]) -> None:
            nonlocal number
            many = len(node) > 1
            out.append(b"(?:" if many else b"")
            for i, (part, child) in enumerate(node.items()):
                out.append(b"|" if i else b"")
                if part is None:
                    paths[child] = path
                    continue
                pattern, group = part
                out.append(pattern)
                if group:
                    number += 1
                walk(child, [*path, number - 1] if group else path)
            out.append(b")" if many else b"")

        walk(tree, [])
        self.match = re.compile(b"".join(out)).match
        self.leaves: dict[int, tuple[tuple[int, ...], _Plan, int]] = {}
        for k, path in paths.items():
            plan = plans[k]
            pipes = len(plan.scan.line_parts or ()) - 1
            self.leaves[path[-1]] = ((*path[:-2], 1, 2, 3, 4, *path[-2:]), plan, 123 * pipes)
        self.head = plans[0].scan.head


def compile_lines(
    blocks: Iterable[tuple[int, bytes]],
    reader: _Reader,
    built: _Builder,
    plans: _Plans,
    spill: int,
) -> tuple[int, float]:
    """Read a recording's blocks of whole lines into ``built`` (its columns spilled every
    ``spill`` messages): a line a `_LinePlans` reads whole, whose BodyLength and CheckSum are
    right, whose receive time is not before the latest one and whose values were met before,
    in one match; any other line through ``reader`` (`_Reader.line`: its errors, its
    decode), its message learnt. The messages and the first's receive time."""
    scan = reader.scan
    line, add, told, fill = reader.line, built.add, built.told, built.fill
    cells_of, learn = built.cells, plans.learn
    minutes = _MINUTES
    count = 0
    first = 0.0
    match = None
    leaves: dict[int, tuple[tuple[int, ...], _Plan, int]] = {}
    head = 0
    for offset, data in blocks:
        if plans.changed:
            found = plans.lines()
            if found is not None:
                match, leaves, head = found.match, found.leaves, found.head + 1
        pos, size = 0, len(data)
        while pos < size:
            if match is not None and (m := match(data, pos)) is not None:
                groups, plan, pipes = leaves[m.lastindex]  # type: ignore[index]
                v = m.group(*groups)
                end = m.end()
                start = pos + _HEAD_SIZE + len(v[-3])  # the frame's "8="
                body_end = end - len(v[-1]) - 7  # its "10="
                minute = minutes.get(v[-6])
                if (
                    minute is not None
                    and int(v[0]) == body_end - start - head - len(v[0])
                    and (
                        (
                            adler32(data[start:body_end], 0)
                            if body_end - start <= _EXACT_ADLER
                            else checksum(data[start:body_end])
                        )
                        - pipes
                    )
                    & 0xFF
                    == int(v[-2])
                ):
                    moment = (minute * 1_000_000 + int(v[-5] + v[-4])) / 1_000_000
                    if moment >= reader.last and (
                        told(moment, scan.lines + 1, offset + pos, plan, v)
                        or (
                            fill(plan, v, reader.prediction)
                            and told(moment, scan.lines + 1, offset + pos, plan, v)
                        )
                    ):
                        reader.last = moment
                        scan.lines += 1
                        if not count:
                            first = moment
                        count += 1
                        if not count % spill:
                            built.spill()
                        pos = end
                        continue
            end = _line_end(data, pos, size)
            scan.lines += 1
            got = line(offset + pos, data[pos:end])
            pos = end
            if got is None:
                continue
            number, at, moment, message = got
            if message.__class__ is not tuple:  # decoded: learnt
                cells = cells_of(message)
                learn(message, cells)
                message = cells
            add(moment, number, at, message)
            if not count:
                first = moment
            count += 1
            if not count % spill:
                built.spill()
    return count, first


def _line_end(data: bytes, pos: int, size: int) -> int:
    """Where the line of ``data`` starting at ``pos`` ends (after its line end, as
    `bytes.splitlines` cuts: at a ``\\n``, a ``\\r`` or a ``\\r\\n``)."""
    n = data.find(b"\n", pos)
    r = data.find(b"\r", pos, size if n < 0 else n)
    if r >= 0:
        return r + 2 if r + 1 == n else r + 1
    return size if n < 0 else n + 1
