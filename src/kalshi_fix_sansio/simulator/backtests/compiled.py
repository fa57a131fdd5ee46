"""Compiled recordings: a recording checked once and compiled into columns, cached beside it.

`compile_recording` reads a recording (`kalshi_fix_sansio.simulator.data.recording`) once, with
every check `check_recording` makes (the same errors, naming the file, the line and the byte
offset), and compiles what a replay takes from it into columns: per message its receive time,
line, byte offset, kind (35=W, 35=X, 35=f, 35=UMS), market, trading status and settlement
result; per book or trade entry its type, market, price, size, update action, aggressor side
and trade id. Texts and prices are numbered once each (tables of distinct values), so the
columns are arrays of numbers: no Python object per message, in the compile or after it.

The compiled form is written to a cache file, ``<recording>.kfc`` beside the recording or in a
directory of the caller's (``cache_dir``), keyed by the hash of the recording's bytes
(SHA-256), the compiled form's version (`COMPILED_FORMAT`) and how it was checked (the
product, the longest line allowed). The text recording stays the source of truth: a cache
whose key does not match the recording is compiled again and overwritten, never trusted; a
cache whose columns do not match the checksum its own header holds (CRC-32: what catches a
file damaged on disk; the key's SHA-256 is what ties a cache to its recording) is a
`CompiledCacheError` (one line naming the cache file); a cache is written through a temporary file renamed over it, so
a reader never sees half of one. `CompiledRecording.messages` reads the columns back a chunk at
a time (memory stays flat however long the recording), each message a `CompiledMessage`: the
fields a replay reads, as plain values. Backtests and sweeps
(`kalshi_fix_sansio.simulator.backtests.backtest`) run on it: the recording is read once, and no frame
is decoded a second time.

The cache file: 8 bytes ``KFXCOMP\n``, the header's length (8 bytes, little-endian), the
header (JSON: the key, what the check found, the tables, where each column lies, the CRC-32
of the columns), then the columns, each an array of the machine's byte order at a multiple of 8
bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import struct
import sys
import tempfile
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from itertools import chain, islice, repeat
from operator import sub
from typing import IO, Any, ClassVar, Final

import attrs

from ...codec import MAX_LINE_BYTES
from ..data.recording import (
    ClockStep,
    Recorded,
    RecordingError,
    RecordingInfo,
    _blocks,
    _open,
    _Reader,
    _Scan,
)
from ._chunks import Chunk
from ._compiling import (
    _COLUMNS,
    _ENTRY_COLUMNS,
    _MESSAGE_COLUMNS,
    _NO_STATUS,
    _Builder,
    _Plans,
    compile_lines,
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


COMPILED_FORMAT: Final = 3
"""The version of the compiled form (`compile_recording`): a cache of another version is
compiled again. (3: the recording's bytes hashed with SHA-256, not BLAKE2b.)"""

CACHE_SUFFIX: Final = ".kfc"
"""The file name suffix of a compiled recording's cache (``day-1.log.kfc``)."""

_MAGIC: Final = b"KFXCOMP\n"
_HEAD: Final = struct.Struct("<Q")  # the header's length, after the magic
_MOST_HEADER: Final = 1 << 30
_CHUNK: Final = 4096  # messages read from a compiled form at a time
_SPILL: Final = 8192  # messages a compile holds before its columns go to temporary files


class CompiledCacheError(RecordingError):
    """A compiled recording's cache file is corrupt (its columns do not match the checksum its
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
_STATUS_OF: Final[dict[int, None]] = {_NO_STATUS: None}  # a status column's none: None

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


def _nones(column: array[Any], none: int) -> Iterator[None] | None:
    """None for each value of a column when every one is ``none`` (no value); else None."""
    if column.count(none) == len(column):
        return repeat(None, len(column))
    return None


class _Hashing:
    """A binary file whose bytes are hashed as they are read (the recording's content hash)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._read = getattr(fh, "read1", None) or fh.read
        self.hash = _recording_hash()

    def read1(self, size: int = -1) -> bytes:
        block: bytes = self._read(size)
        self.hash.update(block)
        return block


def _recording_hash() -> hashlib._Hash:
    """A new hash of a recording's bytes: SHA-256, which OpenSSL computes with the processor's
    own instructions where it has them (x86's SHA extensions, ARMv8's): every run hashes its
    recordings again, and this is about twice as fast as CPython's BLAKE2b on such a machine
    (docs/maintainers/decisions.md, "The key, and never trusting it")."""
    return hashlib.sha256()


def _content_hash(name: str) -> str:
    """The hash of the recording's bytes (what its compiled cache is keyed by)."""
    digest = _recording_hash()
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
        content_hash: the SHA-256 hash of the recording's bytes its cache is keyed by.
        cache_path: the cache file read or written; None when there is none (``cache=False``,
            a shipped sample without ``cache_dir``, or the recording's own directory cannot be
            written: the compiled form is then kept in memory).
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
        rows: Iterator[Row] = self._raw(rows=True)  # made as rows: no second tuple each
        return rows

    def _raw(self, rows: bool = False) -> Iterator[Any]:
        """(line, offset, receive time, kind, Symbol, SecurityTradingStatus, MarketResult,
        entries) of each message; ``rows``: `rows`' tuples instead."""
        names = [n for n, _ in _MESSAGE_COLUMNS if not rows or n not in ("line", "offset")]
        for chunk in self._chunk_columns(names):
            (symbols_, texts_, decimals_), m, entry, e, trade, trades = chunk
            trade_ends = e["trade_end"]
            # every entry of the chunk, as the tuples a replay reads, made as they are read
            entries_of = zip(
                map(texts_.__getitem__, e["type"]),
                map(symbols_.__getitem__, e["entry_symbol"]),
                map(decimals_.__getitem__, e["px"]),
                map(decimals_.__getitem__, e["size"]),
                map(texts_.__getitem__, e["action"]),
                map(texts_.__getitem__, e["aggressor"]),
                _trade_ids(trades, trade_ends, trade),
                strict=True,  # read as the messages ask: never all at once
            )
            # each message's entries (its column "entries": where they end) and its other
            # columns, zipped in C: no Python step per message
            counts = map(sub, m["entries"], chain((entry,), m["entries"]))
            entries_ = map(tuple, map(islice, repeat(entries_of), counts))
            # no lookup per message for a column with no value in the chunk (35=X
            # messages have no Symbol, status or result of their own)
            status, symbol, result = m["status"], m["symbol"], m["result"]
            statuses = _nones(status, _NO_STATUS) or map(_STATUS_OF.get, status, status)
            syms = _nones(symbol, -1) or map(symbols_.__getitem__, symbol)
            results = _nones(result, -1) or map(texts_.__getitem__, result)
            if rows:
                kinds = map(_KINDS.__getitem__, m["kind"])
                yield from zip(m["time"], kinds, syms, statuses, results, entries_, strict=True)
            else:
                yield from zip(
                    m["line"],
                    m["offset"],
                    m["time"],
                    m["kind"],
                    syms,
                    statuses,
                    results,
                    entries_,
                    strict=True,
                )
            # one chunk at a time
            del chunk, m, e, trades, trade_ends, entries_of, entries_, status, symbol, result

    def chunks(self) -> Iterator[Chunk]:
        """The messages in file order a chunk at a time, each chunk's columns looked up in the
        tables (`Chunk`: what a book-level run's lane reads by index; `Chunk.rows` gives the
        rows `rows` gives; errors: as `messages`)."""
        names = ("time", "kind", "symbol", "status", "result", "entries")
        for chunk in self._chunk_columns(names):
            yield Chunk(*chunk)
            del chunk  # one chunk at a time

    def _chunk_columns(self, names: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """Each chunk of messages read from the cache: the tables (symbols, texts, decimals,
        each with None at -1: an index of -1, no value, is None), the message columns
        ``names`` of the chunk, the index of its first entry, its entry columns, the offset of
        its first trade byte and its trade bytes (what `Chunk` takes, in its order)."""
        layout = self._layout
        tables = tuple([*t, None] for t in (layout.symbols, layout.texts, layout.decimals))
        total = self.info.messages
        with self._opener() as fh:
            start = entry = trade = 0
            while start < total:
                stop = min(total, start + _CHUNK)
                m = {n: self._column(fh, n, start, stop) for n in names}
                end = m["entries"][-1]
                e = {n: self._column(fh, n, entry, end) for n, _ in _ENTRY_COLUMNS}
                trade_ends = e["trade_end"]
                last = trade_ends[-1] if end > entry else trade
                trades = self._column(fh, "trades", trade, last).tobytes()
                yield tables, m, entry, e, trade, trades
                del m, e, trades, trade_ends  # one chunk at a time
                start, entry, trade = stop, end, last

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
    overwritten (never trusted); one whose columns do not match the checksum its header holds is a
    `CompiledCacheError`. A cache beside the recording that cannot be written is skipped (the
    compiled form is then kept in memory); one in ``cache_dir`` is an error. A recording shipped
    inside the package (a sample) is compiled in memory unless ``cache_dir`` is given: nothing
    is written into the installed package.

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


_PACKAGE: Final = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
"""The installed package's folder: a shipped sample is cached in memory, never beside itself."""


def _cache_file(name: str, cache_dir: str | os.PathLike[str] | None) -> str | None:
    if cache_dir is None:
        if os.path.realpath(name).startswith(_PACKAGE + os.sep):
            return None  # a shipped sample: nothing written into the installed package
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


def _corrupt(
    where: str,
    what: str,
    kind: str = "compiled cache",
    again: str = "the recording is compiled again",
) -> CompiledCacheError:
    return CompiledCacheError(
        where, 0, 0, f"a corrupt {kind} ({what}): delete it ({again}) or run without the cache"
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
            header, length = _read_header(
                fh, _MAGIC, "compiled recording", lambda what: _corrupt(where, what)
            )
            if header.get("format") != COMPILED_FORMAT:
                return None  # another version of the compiled form: compiled again
            if not _fits(header.get("key") or {}, content_hash, product, max_line):
                return None
            base = _payload_start(length)
            if not _payload_checks(fh, base, header):
                raise _corrupt(where, "its columns do not match their checksum")
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


def _read_header(
    fh: IO[bytes], magic: bytes, kind: str, corrupt: Callable[[str], CompiledCacheError]
) -> tuple[dict[str, Any], int]:
    """A cache file's header (a JSON object; {} when it is not one) after its ``magic`` and
    its length, and that length; what is wrong with it raised as ``corrupt(what)``, a file
    with another magic as not a ``kind``."""
    if fh.read(len(magic)) != magic:
        raise corrupt(f"not a {kind}")
    size = fh.read(_HEAD.size)
    (length,) = _HEAD.unpack(size) if len(size) == _HEAD.size else (-1,)
    if not 0 < length <= _MOST_HEADER:
        raise corrupt("its header is cut short")
    try:
        header = json.loads(fh.read(length))
    except ValueError:
        raise corrupt("its header is not JSON") from None
    if not isinstance(header, dict):
        return {}, length
    return header, length


def _payload_checks(fh: IO[bytes], base: int, header: Mapping[str, Any]) -> bool:
    """Whether the columns from ``base`` on are as long as the header says, with its
    CRC-32 (what catches a file damaged on disk)."""
    fh.seek(base)
    crc, got = 0, 0
    while block := fh.read(1 << 20):
        crc = zlib.crc32(block, crc)
        got += len(block)
    return got == header.get("payload_size") and crc == header.get("payload_crc32")


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
    """Where the columns start after a header of ``header_length`` bytes (8-aligned; every
    cache's magic is 8 bytes)."""
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


def _write(
    where: str,
    header: Mapping[str, Any],
    payload: Iterable[array[Any] | bytes],
    magic: bytes = _MAGIC,
    suffix: str = CACHE_SUFFIX,
) -> int:
    """Write a cache file whole through a temporary file renamed over it (a reader never sees
    half of one); where its columns start."""
    text = json.dumps(header, sort_keys=True).encode()
    head = magic + _HEAD.pack(len(text)) + text
    head += b"\0" * (_payload_start(len(text)) - len(head))
    directory = os.path.dirname(where) or "."
    fd, temporary = tempfile.mkstemp(prefix=".compiling-", suffix=suffix, dir=directory)
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


def _compile(name: str, product: str | None, max_line: int, built: _Builder) -> dict[str, Any]:
    """Check the recording (as `check_recording` does) and compile it into ``built`` (its
    columns spill to temporary files when it is given a cache to write); the cache's header."""
    symbols, texts, decimals = built.symbols, built.texts, built.decimals
    scan = _Scan()
    plans = _Plans()
    with _open(name) as raw:
        fh = _Hashing(raw)
        reader = _Reader(name, product, scan, known=plans.cells)
        plans.fill = lambda plan, values: built.fill(plan, values, reader.prediction)
        blocks = _blocks(fh, name, max_line, scan)  # type: ignore[arg-type]
        count, first_time = compile_lines(blocks, reader, built, plans, _SPILL)
        last_time = reader.last
        content_hash = fh.hash.hexdigest()
    markets = dict.fromkeys(scan.markets)
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
    crc = 0
    for part in built.parts():
        crc = zlib.crc32(part, crc)
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
        "payload_crc32": crc,
    }
