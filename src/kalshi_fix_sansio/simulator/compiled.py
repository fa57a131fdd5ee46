"""Compiled recordings: a recording checked once and compiled into columns, cached beside it.

`compile_recording` reads a recording (`kalshi_fix_sansio.simulator.recording`) once, with
every check `check_recording` makes (the same errors, naming the file, the line and the byte
offset), and compiles what a replay takes from it into columns: per message its receive time,
line, byte offset, kind (35=W, 35=X, 35=f, 35=UMS), market, trading status and settlement
result; per book or trade entry its type, market, price, size, update action, aggressor side
and trade id. Texts and prices are numbered once each (tables of distinct values), so the
columns are arrays of numbers: no Python object per message, in the compile or after it.

The compiled form is written to a cache file, ``<recording>.kfc`` beside the recording or in a
directory of the caller's (``cache_dir``), keyed by the hash of the recording's bytes
(BLAKE2b), the compiled form's version (`COMPILED_FORMAT`) and how it was checked (the
product, the longest line allowed). The text recording stays the source of truth: a cache
whose key does not match the recording is compiled again and overwritten, never trusted; a
cache whose columns do not match the hash its own header holds is a `CompiledCacheError` (one
line naming the cache file); a cache is written through a temporary file renamed over it, so
a reader never sees half of one. `CompiledRecording.messages` reads the columns back a chunk at
a time (memory stays flat however long the recording), each message a `CompiledMessage`: the
fields a replay reads, as plain values. Backtests and sweeps
(`kalshi_fix_sansio.simulator.backtest`) run on it: the recording is read once, and no frame
is decoded a second time.

The cache file: 8 bytes ``KFXCOMP\n``, the header's length (8 bytes, little-endian), the
header (JSON: the key, what the check found, the tables, where each column lies, the hash of
the columns), then the columns, each an array of the machine's byte order at a multiple of 8
bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import operator
import os
import stat
import struct
import sys
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from itertools import islice
from typing import IO, Any, ClassVar, Final

import attrs

from ..codec import MAX_LINE_BYTES, LayoutScan, layout_scan
from .gateway.exchange.common import as_dec, as_int, raw_value
from .recording import (
    ClockStep,
    Recorded,
    RecordingError,
    RecordingInfo,
    _open,
    _read,
    _Scan,
)

__all__ = [
    "CACHE_SUFFIX",
    "COMPILED_FORMAT",
    "CompiledCacheError",
    "CompiledEntry",
    "CompiledMessage",
    "CompiledRecording",
    "compile_recording",
]


COMPILED_FORMAT: Final = 1
"""The version of the compiled form (`compile_recording`): a cache of another version is
compiled again."""

CACHE_SUFFIX: Final = ".kfc"
"""The file name suffix of a compiled recording's cache (``day-1.log.kfc``)."""

_MAGIC: Final = b"KFXCOMP\n"
_HEAD: Final = struct.Struct("<Q")  # the header's length, after the magic
_MOST_HEADER: Final = 1 << 30
_CHUNK: Final = 4096  # messages read from a compiled form at a time
_SPILL: Final = 8192  # messages a compile holds before its columns go to temporary files
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


class CompiledCacheError(RecordingError):
    """A compiled recording's cache file is corrupt (its columns do not match the hash its
    header holds, or it is not a cache at all) or cannot be written where it was asked for: the
    message is one line naming the file. Delete it (the recording is compiled again) or run
    without the cache."""


class CompiledEntry:
    """One book or trade entry of a `CompiledMessage`: the values a replay reads, as plain
    values (text, `Decimal`), None where the recorded entry had none."""

    __slots__ = (
        "aggressor_side",
        "md_entry_px",
        "md_entry_size",
        "md_entry_type",
        "md_update_action",
        "symbol",
        "trade_id",
    )

    def __init__(
        self,
        md_entry_type: str | None,
        symbol: str | None,
        md_entry_px: Decimal | None,
        md_entry_size: Decimal | None,
        md_update_action: str | None,
        aggressor_side: str | None,
        trade_id: str | None,
    ) -> None:
        self.md_entry_type = md_entry_type
        self.symbol = symbol
        self.md_entry_px = md_entry_px
        self.md_entry_size = md_entry_size
        self.md_update_action = md_update_action
        self.aggressor_side = aggressor_side
        self.trade_id = trade_id


class CompiledMessage:
    """One recorded message read from a compiled recording: its ``MSG_TYPE`` (``"W"``,
    ``"X"``, ``"f"``, ``"UMS"``, a class attribute as on decoded messages) and the fields a
    replay reads (``symbol``, ``md_entries``, ``security_trading_status``, ``market_result``)
    as plain values. What else the recorded frame held is not kept: `read_recording` decodes
    the text recording whole."""

    MSG_TYPE: ClassVar[str] = ""
    __slots__ = ("market_result", "md_entries", "security_trading_status", "symbol")

    def __init__(
        self,
        symbol: str | None,
        md_entries: tuple[CompiledEntry, ...],
        security_trading_status: int | None,
        market_result: str | None,
    ) -> None:
        self.symbol = symbol
        self.md_entries = md_entries
        self.security_trading_status = security_trading_status
        self.market_result = market_result


class _Snapshot(CompiledMessage):
    MSG_TYPE = "W"
    __slots__ = ()


class _Incremental(CompiledMessage):
    MSG_TYPE = "X"
    __slots__ = ()


class _Status(CompiledMessage):
    MSG_TYPE = "f"
    __slots__ = ()


class _Settlement(CompiledMessage):
    MSG_TYPE = "UMS"
    __slots__ = ()


_CLASSES: Final = (_Snapshot, _Incremental, _Status, _Settlement)
_KINDS: Final = ("W", "X", "f", "UMS")

Entries = tuple[tuple[Any, ...], ...]  # each entry as `CompiledEntry`'s fields, in its order
Row = tuple[float, str, str | None, int | None, str | None, Entries]  # `CompiledRecording.rows`


def _trade_ids(trades: bytes, ends: Any, base: int) -> Iterator[str | None]:
    """Each entry's TradeID (None: none): ``trades`` holds the trade bytes from ``base``."""
    start = 0
    for k in ends:
        if k - base > start:
            yield trades[start : k - base].decode()
            start = k - base
        else:
            yield None


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


class _Hashing:
    """A binary file whose bytes are hashed as they are read (the recording's content hash)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._read = getattr(fh, "read1", None) or fh.read
        self.hash = hashlib.blake2b(digest_size=32)

    def read1(self, size: int = -1) -> bytes:
        block: bytes = self._read(size)
        self.hash.update(block)
        return block


def _content_hash(name: str) -> str:
    """The hash of the recording's bytes (what its compiled cache is keyed by)."""
    digest = hashlib.blake2b(digest_size=32)
    with _open(name) as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@attrs.frozen
class _Layout:
    """Where each column of a compiled form lies (name -> offset, count, typecode) and the
    tables its indexes point into."""

    columns: Mapping[str, tuple[int, int, str]]
    symbols: tuple[str, ...]
    texts: tuple[str, ...]
    decimals: tuple[Decimal, ...]


class CompiledRecording:
    """A recording checked once and compiled into columns (`compile_recording`): receive
    times, message kinds, markets, book levels, trades, statuses and settlements, read back a
    chunk at a time (memory stays flat however long the recording).

    Attributes:
        path: the recording (the text file stays the source of truth).
        info: what the check found in it (`RecordingInfo`, as `check_recording` gives).
        content_hash: the BLAKE2b hash of the recording's bytes its cache is keyed by.
        cache_path: the cache file read or written; None when there is none (``cache=False``,
            or the recording's own directory cannot be written: the compiled form is then
            kept in memory).
        from_cache: the columns came from the cache (no compile ran).
    """

    def __init__(
        self,
        path: str,
        info: RecordingInfo,
        content_hash: str,
        layout: _Layout,
        opener: Callable[[], IO[bytes]],
        base: int,
        cache_path: str | None,
        from_cache: bool,
    ) -> None:
        self.path = path
        self.info = info
        self.content_hash = content_hash
        self.cache_path = cache_path
        self.from_cache = from_cache
        self._layout = layout
        self._opener = opener
        self._base = base

    def __repr__(self) -> str:
        return (
            f"CompiledRecording({self.path!r}, messages={self.info.messages}, "
            f"cache_path={self.cache_path!r}, from_cache={self.from_cache})"
        )

    def messages(self) -> Iterator[Recorded]:
        """The recorded messages in file order, as `read_recording` yields them (line, byte
        offset, receive time), each a `CompiledMessage`.

        Raises:
            CompiledCacheError: the cache file changed since it was checked.
        """
        for line, offset, moment, message in self._rows():
            yield Recorded(line, offset, moment, message)

    def timed(self) -> Iterator[tuple[float, CompiledMessage]]:
        """(receive time, message) of each recorded message in file order: what a replay
        takes (`messages` without the line and offset)."""
        for _line, _offset, moment, message in self._rows():
            yield moment, message

    def _rows(self) -> Iterator[tuple[int, int, float, CompiledMessage]]:
        for line, offset, moment, kind, symbol, status, result, entries in self._raw():
            entries_ = tuple(CompiledEntry(*entry) for entry in entries)
            yield line, offset, moment, _CLASSES[kind](symbol, entries_, status, result)

    def rows(self) -> Iterator[Row]:
        """(receive time, MsgType, Symbol, SecurityTradingStatus, MarketResult, entries as
        tuples of `CompiledEntry`'s fields) of each recorded message in file order: what a
        backtest hands ``Exchange.replay_row``, no object per message (errors: as `messages`)."""
        for _line, _offset, moment, kind, symbol, status, result, entries in self._raw():
            yield moment, _KINDS[kind], symbol, status, result, entries

    def _raw(self) -> Iterator[tuple[int, int, float, int, Any, Any, Any, Entries]]:
        layout = self._layout  # its tables with None at -1: an index of -1 (no value) is None
        tables = (layout.symbols, layout.texts, layout.decimals)
        symbols_, texts_, decimals_ = ([*t, None] for t in tables)
        total = self.info.messages
        with self._opener() as fh:
            start = entry = trade = 0
            while start < total:
                stop = min(total, start + _CHUNK)
                m = {n: self._column(fh, n, start, stop) for n, _ in _MESSAGE_COLUMNS}
                end = m["entries"][-1]
                e = {n: self._column(fh, n, entry, end) for n, _ in _ENTRY_COLUMNS}
                trade_ends = e["trade_end"]
                last = trade_ends[-1] if end > entry else trade
                trades = self._column(fh, "trades", trade, last).tobytes()
                # every entry of the chunk, as the tuples a replay reads, made as they are read
                rows = zip(
                    map(texts_.__getitem__, e["type"]),
                    map(symbols_.__getitem__, e["entry_symbol"]),
                    map(decimals_.__getitem__, e["px"]),
                    map(decimals_.__getitem__, e["size"]),
                    map(texts_.__getitem__, e["action"]),
                    map(texts_.__getitem__, e["aggressor"]),
                    _trade_ids(trades, trade_ends, trade),
                    strict=True,  # read as the messages ask: never all at once
                )
                trade = last
                kinds, syms, statuses, results = m["kind"], m["symbol"], m["status"], m["result"]
                bounds, lines, offsets, times = m["entries"], m["line"], m["offset"], m["time"]
                j = 0
                for i in range(stop - start):
                    bound, status = bounds[i] - entry, statuses[i]
                    status = None if status == _NO_STATUS else status
                    message = (kinds[i], symbols_[syms[i]], status, texts_[results[i]])
                    yield lines[i], offsets[i], times[i], *message, tuple(islice(rows, bound - j))
                    j = bound
                del m, e, trades, trade_ends, rows  # one chunk in memory at a time
                start, entry = stop, end

    def _column(self, fh: IO[bytes], name: str, start: int, stop: int) -> array[Any]:
        offset, count, code = self._layout.columns[name]
        column: array[Any] = array(code)
        if stop <= start:
            return column
        want = (stop - start) * column.itemsize
        fh.seek(self._base + offset + start * column.itemsize)
        data = fh.read(want) if stop <= count else b""
        if len(data) != want:
            raise CompiledCacheError(
                self.cache_path or self.path,
                0,
                0,
                "the compiled cache changed while it was read (delete it: the recording is "
                "compiled again)",
            )
        column.frombytes(data)
        return column


def compile_recording(
    path: str | os.PathLike[str],
    *,
    product: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cache: bool = True,
    max_line: int = MAX_LINE_BYTES,
) -> CompiledRecording:
    """Check a recording once and compile it into columns, cached for the next run.

    The cache is ``<recording>.kfc`` beside the recording, or in ``cache_dir``
    (``<recording's name>-<hash of its absolute path>.kfc``). It is keyed by the hash of the
    recording's bytes, the compiled form's version (`COMPILED_FORMAT`), the product and
    ``max_line`` it was checked with: a cache that does not match is compiled again and
    overwritten (never trusted); one whose columns do not match the hash its header holds is a
    `CompiledCacheError`. A cache beside the recording that cannot be written is skipped (the
    compiled form is then kept in memory); one in ``cache_dir`` is an error.

    Args:
        path: the recording (a regular file).
        product: the product the caller expects (see `read_recording`).
        cache_dir: where the cache goes (made when missing); None: beside the recording.
        cache: False: neither read nor write a cache (the compiled form is kept in memory).
        max_line: the longest line allowed, in bytes (see `read_recording`).

    Returns:
        The compiled recording (`CompiledRecording.info` is what `check_recording` gives).

    Raises:
        RecordingError: the recording's first problem, exactly as `check_recording` names it
            (file, line, byte offset).
        CompiledCacheError: a corrupt cache, or one that cannot be written in ``cache_dir``.
    """
    name = os.fspath(path)
    if cache and cache_dir is not None and os.path.exists(cache_dir):
        if not os.path.isdir(cache_dir):
            reason = "not a directory: the cache directory is one"
            raise CompiledCacheError(os.fspath(cache_dir), 0, 0, reason)
    where = _cache_file(name, cache_dir) if cache else None
    if where is not None and os.path.lexists(where):
        loaded = _load(name, where, _content_hash(name), product, max_line)
        if loaded is not None:
            return loaded
    built = _Builder()
    try:
        header = _compile(name, product, max_line, built)
        info, layout, content_hash = (
            _info(name, header["info"]),
            _layout(header),
            header["key"]["hash"],
        )
        if where is not None:
            try:
                if cache_dir is not None:
                    os.makedirs(cache_dir, exist_ok=True)
                base = _write(where, header, built.parts())
                opener = _opener(where, os.stat(where))
            except OSError as exc:
                if cache_dir is not None:
                    reason = f"cannot write the compiled cache: {exc.strerror or exc}"
                    raise CompiledCacheError(where, 0, 0, reason) from None
            else:  # the run reads the cache file
                return CompiledRecording(
                    name, info, content_hash, layout, opener, base, where, False
                )
        data = b"".join(built.parts())  # no cache: kept in memory
    finally:
        built.close()
    return CompiledRecording(
        name, info, content_hash, layout, lambda: io.BytesIO(data), 0, None, False
    )


def _cache_file(name: str, cache_dir: str | os.PathLike[str] | None) -> str:
    if cache_dir is None:
        return name + CACHE_SUFFIX
    real = os.path.realpath(name).encode("utf-8", "surrogateescape")
    tag = hashlib.blake2b(real, digest_size=8).hexdigest()
    return os.path.join(os.fspath(cache_dir), f"{os.path.basename(name)}-{tag}{CACHE_SUFFIX}")


def _fits(key: Mapping[str, Any], content_hash: str, product: str | None, max_line: int) -> bool:
    """Whether a cache's key is the recording's now, checked as asked."""
    if (key.get("hash"), key.get("max_line"), key.get("byteorder")) != (
        content_hash,
        max_line,
        sys.byteorder,
    ):
        return False
    header = key.get("header")
    if header is not None:  # the recording names its product: asking for another is an error
        return product is None or product == header
    return key.get("decoded_as") == (product or "prediction")


def _corrupt(where: str, what: str) -> CompiledCacheError:
    return CompiledCacheError(
        where,
        0,
        0,
        f"a corrupt compiled cache ({what}): delete it (the recording is compiled again) or run "
        "without the cache",
    )


def _load(
    name: str, where: str, content_hash: str, product: str | None, max_line: int
) -> CompiledRecording | None:
    """The compiled form in the cache file ``where``; None when it is of another version or
    does not match the recording (compile again)."""
    try:
        with open(where, "rb") as fh:
            stamp = os.fstat(fh.fileno())
            if not stat.S_ISREG(stamp.st_mode):
                raise _corrupt(where, "not a regular file")
            if fh.read(len(_MAGIC)) != _MAGIC:
                raise _corrupt(where, "not a compiled recording")
            size = fh.read(_HEAD.size)
            (length,) = _HEAD.unpack(size) if len(size) == _HEAD.size else (-1,)
            if not 0 < length <= _MOST_HEADER:
                raise _corrupt(where, "its header is cut short")
            try:
                header = json.loads(fh.read(length))
            except ValueError:
                raise _corrupt(where, "its header is not JSON") from None
            if not isinstance(header, dict) or header.get("format") != COMPILED_FORMAT:
                return None  # another version of the compiled form: compiled again
            if not _fits(header.get("key") or {}, content_hash, product, max_line):
                return None
            base = _payload_start(length)
            fh.seek(base)
            digest, got = hashlib.blake2b(digest_size=32), 0
            while block := fh.read(1 << 20):
                digest.update(block)
                got += len(block)
            if got != header.get("payload_size") or digest.hexdigest() != header.get("payload"):
                raise _corrupt(where, "its columns do not match their hash")
            info, layout = _info(name, header["info"]), _layout(header)
    except OSError as exc:
        raise CompiledCacheError(where, 0, 0, f"cannot read: {exc.strerror or exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RecordingError):
            raise
        raise _corrupt(where, f"its header lacks {exc}") from None
    return CompiledRecording(
        name, info, content_hash, layout, _opener(where, stamp), base, where, True
    )


def _opener(where: str, stamp: os.stat_result) -> Callable[[], IO[bytes]]:
    """Opens the cache file checked as ``stamp`` (refusing it if it changed since), by its
    absolute path (a strategy may change the working directory)."""
    marks = (stamp.st_ino, stamp.st_size, stamp.st_mtime_ns)
    where = os.path.abspath(where)

    def opener() -> IO[bytes]:
        fh = open(where, "rb")
        now = os.fstat(fh.fileno())
        if (now.st_ino, now.st_size, now.st_mtime_ns) != marks:
            fh.close()
            raise CompiledCacheError(
                where, 0, 0, "the compiled cache changed since it was checked: run again"
            )
        return fh

    return opener


def _payload_start(header_length: int) -> int:
    return (len(_MAGIC) + _HEAD.size + header_length + 7) & ~7


def _info(name: str, data: Mapping[str, Any]) -> RecordingInfo:
    step = data["largest_step_back"]
    return RecordingInfo(
        product=str(data["product"]),
        markets=tuple(str(m) for m in data["markets"]),
        messages=int(data["messages"]),
        lines=int(data["lines"]),
        first_time=data["first_time"],
        last_time=data["last_time"],
        steps_back=int(data["steps_back"]),
        largest_step_back=None if step is None else ClockStep(name, *step),
    )


def _layout(header: Mapping[str, Any]) -> _Layout:
    columns = {str(n): (int(o), int(c), str(t)) for n, o, c, t in header["columns"]}
    if set(columns) != {n for n, _ in _COLUMNS}:
        raise ValueError("'columns'")
    return _Layout(
        columns,
        tuple(str(s) for s in header["symbols"]),
        tuple(str(s) for s in header["texts"]),
        tuple(Decimal(str(d)) for d in header["decimals"]),
    )


def _write(where: str, header: Mapping[str, Any], payload: Iterable[array[Any] | bytes]) -> int:
    """Write a cache file whole through a temporary file renamed over it (a reader never sees
    half of one); where its columns start."""
    text = json.dumps(header, sort_keys=True).encode()
    head = _MAGIC + _HEAD.pack(len(text)) + text
    head += b"\0" * (_payload_start(len(text)) - len(head))
    directory = os.path.dirname(where) or "."
    fd, temporary = tempfile.mkstemp(prefix=".compiling-", suffix=CACHE_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(head)
            for part in payload:
                out.write(part)
        os.replace(temporary, where)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return len(head)


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
        # the numbers of each column not in its array yet, and each one's append: a list's
        # append costs a fraction of an array's (which parses its argument as a C call would);
        # they go to the arrays a block at a time (`_flush`), emptied in place
        self._held: dict[str, list[Any]] = {n: [] for n, _ in _COLUMNS[:-1]}
        held = self._held
        self._time, self._line, self._offset = (held[n].append for n in ("time", "line", "offset"))
        self._kind, self._symbol = held["kind"].append, held["symbol"].append
        self._status, self._result = held["status"].append, held["result"].append
        self._entry_end = held["entries"].append
        self._entry_adds = tuple(held[n].append for n, _ in _ENTRY_COLUMNS[:-1])
        self._trade_end, self._trades = held["trade_end"].append, self.cols["trades"].frombytes

    def cells(self, message: Any) -> Cells:
        """A decoded message's cells (its texts and prices numbered in the tables)."""
        symbols, texts, decimals = self.symbols, self.texts, self.decimals
        kind = type(message).MSG_TYPE
        status = as_int(getattr(message, "security_trading_status", None))
        entries = []
        if kind == "W" or kind == "X":
            getters = self._getters
            for entry in getattr(message, "md_entries", None) or ():
                get = getters.get(type(entry))
                if get is None:
                    get = getters[type(entry)] = _entry_getter(type(entry))
                type_, symbol, px, size, action, aggressor, trade_id = get(entry)
                px, size = as_dec(px), as_dec(size)  # finite only: what a replay reads
                entries.append(
                    (
                        texts.of(type_),
                        symbols.of(symbol),
                        _NONE if px is None else decimals(str(px)),
                        _NONE if size is None else decimals(str(size)),
                        texts.of(action),
                        texts.of(aggressor),
                        (_raw_text(trade_id) or "").encode(),
                    )
                )
        return (
            _KIND_CODE[kind],
            symbols.of(getattr(message, "symbol", None)),
            _NO_STATUS if status is None else status,
            texts.of(getattr(message, "market_result", None)),
            entries,
        )

    def add(self, moment: float, line: int, offset: int, cells: Cells) -> None:
        """Append a message's cells (its receive time, line and offset first) to the columns."""
        kind, symbol, status, result, entries = cells
        self._time(moment)
        self._line(line)
        self._offset(offset)
        self._kind(kind)
        self._symbol(symbol)
        self._status(status)
        self._result(result)
        if entries:
            type_, symbol_, px_, size_, action_, aggressor_ = self._entry_adds
            trade_end_, trades = self._trade_end, self._trades
            for kind_, esymbol, px, size, action, aggressor, trade_id in entries:
                type_(kind_)
                symbol_(esymbol)
                px_(px)
                size_(size)
                action_(action)
                aggressor_(aggressor)
                if trade_id:
                    trades(trade_id)
                    self.trade_bytes += len(trade_id)
                trade_end_(self.trade_bytes)
            self.entries += len(entries)
        self._entry_end(self.entries)

    def _flush(self) -> None:
        """Move the numbers held in lists to their columns' arrays (packed at once)."""
        for name, held in self._held.items():
            if held:
                column = self.cols[name]
                column.frombytes(struct.pack(f"@{len(held)}{column.typecode}", *held))
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
_MOST_PLANS: Final = 4096  # layouts remembered in all (others are decoded each time)


class _Plan:
    """How the compile reads the frames of one tag layout without decoding them: its
    `LayoutScan` and where each cell's raw value is in the scan's values."""

    __slots__ = ("caches", "entries", "kind", "result", "scan", "status", "symbol")

    def __init__(self, scan: LayoutScan, kind: str, caches: tuple[dict[bytes, Any], ...]) -> None:
        fields, absent = scan.fields, scan.absent
        self.scan = scan
        self.kind = _KIND_CODE[kind]
        self.caches = caches
        self.symbol, self.status, self.result = (fields.get(n, absent) for n in _MESSAGE_FIELDS)
        entries = scan.groups.get("md_entries", ()) if kind == "W" or kind == "X" else ()
        self.entries = tuple(tuple(e.get(n, absent) for n in _ENTRY_FIELDS) for e in entries)


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
        try:
            c = plan.caches
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
                for t, s, p, z, a, g, d in plan.entries
            ]
            return (
                plan.kind,
                c[0][values[plan.symbol]],
                c[1][values[plan.status]],
                c[2][values[plan.result]],
                entries,
            )
        except KeyError:  # a value not met before
            return None

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
        _kind, symbol, status, result, entries = cells
        found = [(0, plan.symbol, symbol), (1, plan.status, status), (2, plan.result, result)]
        if len(entries) != len(plan.entries):
            plans.remove(plan)  # never: the scan reads the entries the decode reads
            return
        for at, cell in zip(plan.entries, entries, strict=True):
            if values[at[6]] != cell[6]:  # the TradeID's bytes are its raw value
                plans.remove(plan)  # never: a text's plain form is itself
                return
            found += zip(range(3, 9), at, cell[:6], strict=False)
        caches = plan.caches
        for column, at_, cell_ in found:
            if caches[column].setdefault(values[at_], cell_) != cell_:
                plans.remove(plan)  # never: a raw value gives one cell
                return


def _compile(name: str, product: str | None, max_line: int, built: _Builder) -> dict[str, Any]:
    """Check the recording (as `check_recording` does) and compile it into ``built`` (its
    columns spill to temporary files when it is given a cache to write); the cache's header."""
    symbols, texts, decimals = built.symbols, built.texts, built.decimals
    markets: dict[str, None] = {}
    scan = _Scan()
    plans = _Plans()
    count = 0
    first_time = last_time = 0.0
    with _open(name) as raw:
        fh = _Hashing(raw)
        read = _read(fh, name, product, max_line, scan, known=plans.cells)  # type: ignore[arg-type]
        add = built.add
        for line, offset, moment, message in read:
            if not count:
                markets = dict.fromkeys(scan.markets)
                first_time = moment
            count += 1
            if message.__class__ is tuple:  # told by a plan: its cells
                add(moment, line, offset, message)
            else:
                cells = built.cells(message)
                plans.learn(message, cells)
                add(moment, line, offset, cells)
            last_time = moment
            if not count % _SPILL:
                built.spill()
        content_hash = fh.hash.hexdigest()
    if not count:
        raise RecordingError(name, 0, 0, "no market data (35=W / 35=X) received in it")
    for market in symbols.values:  # in the order met: each message's, then its entries'
        markets.setdefault(market, None)
    step = scan.largest
    info = {
        "product": product or scan.product or "prediction",
        "markets": list(markets),
        "messages": count,
        "lines": scan.lines,
        "first_time": first_time,
        "last_time": last_time,
        "steps_back": scan.steps_back,
        "largest_step_back": None
        if step is None
        else [step.line, step.offset, step.time, step.previous],
    }
    layout, size = built.layout()
    digest = hashlib.blake2b(digest_size=32)
    for part in built.parts():
        digest.update(part)
    return {
        "format": COMPILED_FORMAT,
        "key": {
            "hash": content_hash,
            "max_line": max_line,
            "byteorder": sys.byteorder,
            "header": scan.product,
            "decoded_as": info["product"],
        },
        "info": info,
        "columns": layout,
        "symbols": symbols.values,
        "texts": texts.values,
        "decimals": decimals.values,
        "payload_size": size,
        "payload": digest.hexdigest(),
    }
