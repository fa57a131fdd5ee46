"""Market-data recordings: what a KalshiMD session received, with receive times, line by line.

A recording is a FIX message log (the lines `MessageLog` writes, which ``kalshi-fix decode``
and ``kalshi-fix replay`` read) with a header comment naming the product and the markets::

    # kalshi-fix recording v1 product=prediction markets=HIGHNY-23DEC31,KXBTC-25
    2026-11-20T14:30:00.125000Z IN KalshiMD/key-1 8=FIXT.1.1|9=...|35=W|...|10=123|
    2026-11-20T14:30:00.380000Z IN KalshiMD/key-1 8=FIXT.1.1|9=...|35=X|...|10=045|

Each line is ``<receive time, ISO UTC> <IN|OUT> <session id> <frame with | for SOH>``. The
replay (`kalshi_fix_sansio.simulator.gateway.replay`) takes the received (``IN``) market-data messages:
snapshots (35=W), incremental refreshes (35=X: level changes and trades), SecurityStatus (35=f)
and MarketSettlementReports (35=UMS, when a settlement session was recorded into the same file);
everything else (Logon, Heartbeats, what the client sent) is skipped. Lines starting with ``#``
are comments. The receive times are the recording's clock.

`read_recording` streams a recording (one line in memory at a time, and a line is at most
`MAX_LINE_BYTES` long: a longer one is an error read no further); `check_recording` reads it
once through to find what it holds and the first problem, so that a replay can refuse a bad file
before it starts. A recording is a regular file: a device (``/dev/zero``), a pipe or a
directory is refused before anything is read (a pipe could not be read twice anyway). A problem
is a `RecordingError` whose message is one line naming the file, the line and the byte offset.
`RecordingWriter` writes one (the recorder, ``examples/trio_md_recorder.py``, and the sample
generator use it).

A receive time earlier than the one before it (the recording machine's clock stepped back, an
NTP correction) is not an error: the replay holds the clock at the later time (the exchange's
clock never runs backwards) and `check_recording` counts such lines and names the largest step
(`RecordingInfo.steps_back`, `ClockStep`), which ``kalshi-fix mock-gateway --replay`` prints as
a warning before it starts.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from types import ModuleType
from typing import IO, Any, Final

import attrs

from ...codec import MAX_LINE_BYTES, PRODUCTS, LineTooLong, dialect, log_line, read_lines
from ...codec.errors import DecodeError, LocalProtocolError
from ...trading.funding import FundingRate, FundingSchedule

__all__ = [
    "FUNDING_PREFIX",
    "HEADER_PREFIX",
    "MAX_LINE_BYTES",
    "REPLAYED_TYPES",
    "ClockStep",
    "Recorded",
    "RecordingError",
    "RecordingInfo",
    "RecordingWriter",
    "check_recording",
    "read_funding",
    "read_recording",
]

HEADER_PREFIX: Final = "# kalshi-fix recording v1"
"""How a recording's first line starts; ``product=`` and ``markets=`` words follow."""

FUNDING_PREFIX: Final = "# funding "
"""How a recording's funding-rate line starts (a comment to every other reader): then
``market_ticker=... funding_time=<ISO UTC> funding_rate=... mark_price=...`` (`read_funding`,
`RecordingWriter.funding`)."""

REPLAYED_TYPES: Final = frozenset({"W", "X", "f", "UMS"})
"""The MsgTypes a replay takes from a recording (received ones only)."""


class RecordingError(ValueError):
    """A recording cannot be replayed: the message is one line naming the file, the line and
    the byte offset where the problem is.

    Attributes:
        path: the file.
        line: the 1-based line number (0: the file as a whole).
        offset: the byte offset of that line's start.
        reason: what is wrong, in words.
    """

    def __init__(self, path: str, line: int, offset: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.offset = offset
        self.reason = reason
        where = f"line {line} (byte {offset})" if line else "file"
        super().__init__(f"{path}: {where}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.line, self.offset, self.reason))


@attrs.frozen
class Recorded:
    """One recorded market-data message.

    Attributes:
        line: its 1-based line number in the file.
        offset: the byte offset of its line.
        time: its receive time, UTC epoch seconds (the recording's clock).
        message: the decoded message (prices in dollars, as market data carries them).
    """

    line: int
    offset: int
    time: float
    message: Any


@attrs.frozen
class ClockStep:
    """A receive time earlier than the one before it: the replay holds the clock at
    ``previous`` there (see the module docstring).

    Attributes:
        path: the recording.
        line: the 1-based line number of the earlier time.
        offset: the byte offset of that line.
        time: the time written on it (epoch seconds).
        previous: the latest time before it (epoch seconds), which the replay keeps.
    """

    path: str
    line: int
    offset: int
    time: float
    previous: float

    @property
    def seconds(self) -> float:
        """How far back the time steps."""
        return self.previous - self.time

    def __str__(self) -> str:
        return (
            f"{self.path}: line {self.line} (byte {self.offset}): the time {_iso(self.time)} is "
            f"{self.seconds:.6f} s before {_iso(self.previous)}, the latest time before it"
        )


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@attrs.frozen
class RecordingInfo:
    """What `check_recording` found in a recording.

    Attributes:
        product: ``"prediction"`` or ``"margin"`` (from the header).
        markets: every market the recording names (header first, then as they appear).
        messages: how many messages a replay takes from it.
        lines: how many lines it has.
        first_time: the first such message's receive time (epoch seconds), None when none.
        last_time: the last one's (the latest: times never run backwards in a replay).
        steps_back: how many messages have a receive time earlier than the one before.
        largest_step_back: the largest such step, None when there is none.
    """

    product: str
    markets: tuple[str, ...]
    messages: int
    lines: int
    first_time: float | None
    last_time: float | None
    steps_back: int = 0
    largest_step_back: ClockStep | None = None

    @property
    def duration(self) -> float:
        """Seconds from the first to the last replayed message."""
        if self.first_time is None or self.last_time is None:
            return 0.0
        return self.last_time - self.first_time


def _header(path: str, text: str, offset: int) -> tuple[str, tuple[str, ...]]:
    words = dict(w.partition("=")[::2] for w in text[len(HEADER_PREFIX) :].split())
    product = words.get("product", "")
    if product not in PRODUCTS:
        raise RecordingError(path, 1, offset, f"the header names no known product: {text!r}")
    markets = tuple(m for m in words.get("markets", "").split(",") if m)
    return product, markets


def _epoch(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# A receive time as `RecordingWriter` writes it (microseconds, UTC): its minute, second and
# microsecond; and the epoch seconds of the minutes met (a recording's minutes are few)
_STAMP: Final = re.compile(
    rb"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}):([0-5][0-9])\.([0-9]{6})Z"
)
_MINUTES: dict[bytes, int] = {}
_MOST_MINUTES: Final = 4096


def _stamp_epoch(stamp: bytes) -> float | None:
    """`_epoch` of a line's receive time: one written as `RecordingWriter` writes them from
    its minute's epoch seconds (the same float: datetime's ``timestamp()`` divides the
    microseconds since the epoch by a million, as this does), any other by `_epoch`."""
    m = _STAMP.fullmatch(stamp)
    if m is None:
        return _epoch(stamp.decode("ascii", "replace"))
    minute = _MINUTES.get(m[1])
    if minute is None:
        whole = _epoch(m[1].decode() + ":00Z")
        if whole is None:  # no such minute: named with the whole text
            return _epoch(stamp.decode("ascii", "replace"))
        if len(_MINUTES) >= _MOST_MINUTES:
            _MINUTES.clear()
        minute = _MINUTES[m[1]] = int(whole)
    return (minute * 1_000_000 + int(m[2] + m[3])) / 1_000_000  # (seconds, microseconds)


def _symbols(message: Any) -> Iterator[str]:
    symbol = getattr(message, "symbol", None)
    if isinstance(symbol, str):
        yield symbol
    for entry in getattr(message, "md_entries", None) or ():
        name = getattr(entry, "symbol", None)
        if isinstance(name, str):
            yield name


def read_recording(
    path: str | os.PathLike[str],
    *,
    product: str | None = None,
    max_line: int = MAX_LINE_BYTES,
    checked: bool = False,
) -> Iterator[Recorded]:
    """The market-data messages of a recording, in file order, streamed line by line.

    Args:
        path: the recording (a regular file).
        product: the product the caller expects; a recording whose header names another is
            refused. None: the header's (prediction when there is no header).
        max_line: the longest line allowed, in bytes (newline included).
        checked: `check_recording` read this file whole and it has not changed since: its
            frames' BodyLength and CheckSum are not verified again nor their fields validated
            (a frame that does not decode is still an error).

    Yields:
        Each received 35=W / 35=X / 35=f / 35=UMS message with its line and receive time. A
        receive time earlier than the one before (a clock step back while recording) is raised
        to it: the recording's clock never runs backwards (`check_recording` counts these).

    Raises:
        RecordingError: the file cannot be read, is not a regular file, is of another product,
            or has a line longer than ``max_line``, a line that is not a message-log line, a
            frame that is truncated or corrupt (BodyLength, CheckSum), a time that is not one,
            or a message that does not decode. Raised when the reader reaches it:
            `check_recording` finds it before a replay starts.
    """
    name = os.fspath(path)
    with _open(name) as fh:
        for line, offset, moment, message in _read(
            fh, name, product, max_line, _Scan(), verify=not checked
        ):
            yield Recorded(line, offset, moment, message)


_KINDS: Final = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a pipe"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(name: str, mode: int) -> RecordingError | None:
    if stat.S_ISREG(mode):
        return None
    kind = next((text for test, text in _KINDS if test(mode)), "something else")
    return RecordingError(
        name,
        0,
        0,
        f"not a regular file but {kind}: a recording is a regular file (read twice: once to "
        "check it, once to replay it)",
    )


def _open(name: str) -> IO[bytes]:
    """The recording open for reading, once it is known to be a regular file (a FIFO is never
    opened: that would wait for a writer)."""
    try:
        problem = _not_regular(name, os.stat(name).st_mode)
        if problem is not None:
            raise problem
        fh = open(name, "rb")
    except OSError as exc:
        raise RecordingError(name, 0, 0, f"cannot read: {exc.strerror or exc}") from None
    problem = _not_regular(name, os.fstat(fh.fileno()).st_mode)  # replaced since the stat
    if problem is not None:
        fh.close()
        raise problem
    return fh


class _Scan:
    """What a read found on the way: the header, the lines, the clock's steps back."""

    def __init__(self) -> None:
        self.product: str | None = None
        self.markets: tuple[str, ...] = ()
        self.lines = 0
        self.steps_back = 0
        self.largest: ClockStep | None = None

    def step_back(self, step: ClockStep) -> None:
        self.steps_back += 1
        if self.largest is None or step.seconds > self.largest.seconds:
            self.largest = step


def _blocks(fh: IO[bytes], name: str, max_line: int, scan: _Scan) -> Iterator[tuple[int, bytes]]:
    """(byte offset, whole lines) of ``fh`` a block at a time, none longer than ``max_line``
    (else an error naming the line after the ``scan.lines`` counted so far, read no further
    than ``max_line`` + 64 KiB of it)."""
    try:
        for offset, lines, _starts, _ends in read_lines(fh, max_line):
            yield offset, lines
    except LineTooLong as exc:
        reason = exc.reason("a recording line") + " (not a recording?)"
        raise RecordingError(name, scan.lines + 1, exc.offset, reason) from None


def _lines(fh: IO[bytes], name: str, max_line: int, scan: _Scan) -> Iterator[tuple[int, bytes]]:
    """(byte offset, line) of each line (see `_blocks`), counted in ``scan.lines``."""
    for offset, lines in _blocks(fh, name, max_line, scan):
        for line in lines.splitlines(keepends=True):
            scan.lines += 1
            yield offset, line
            offset += len(line)


def _read(
    fh: IO[bytes],
    name: str,
    product: str | None,
    max_line: int,
    scan: _Scan,
    verify: bool = True,
    known: Callable[[bytes, str], Any] | None = None,
) -> Iterator[tuple[int, int, float, Any]]:
    """The recorded messages of ``fh``, each checked (see `read_recording`), as the fields of
    its `Recorded` (line, offset, time, message); ``known``: see `_Reader`."""
    line = _Reader(name, product, scan, verify, known).line
    for start, raw in _lines(fh, name, max_line, scan):
        got = line(start, raw)
        if got is not None:
            yield got


class _Reader:
    """A recording's lines read one at a time, each checked (see `read_recording`): what the
    read keeps from line to line (the product's codec, the latest receive time). ``known``
    (the compile's): given a replayed frame and its MsgType, what it makes of a frame it can
    tell decodes and validates with nothing wrong, and passes the product's price check
    (given as the message, undecoded), or None (the frame is decoded and checked here)."""

    def __init__(
        self,
        name: str,
        product: str | None,
        scan: _Scan,
        verify: bool = True,
        known: Callable[[bytes, str], Any] | None = None,
    ) -> None:
        self.name, self.product, self.scan, self.verify, self.known = (
            name,
            product,
            scan,
            verify,
            known,
        )
        self.codec: ModuleType | None = dialect(product) if product in PRODUCTS else None
        self.last = float("-inf")  # the latest receive time so far

    @property
    def prediction(self) -> bool:
        """Whether book prices are checked below $1 (`_check_prediction`): a prediction
        recording's (one without a header is read as one)."""
        codec = self.codec or dialect("prediction")
        return codec.__name__ == "kalshi_fix_sansio.codec.prediction"

    def line(self, start: int, raw: bytes) -> tuple[int, int, float, Any] | None:
        """The recorded message of line ``scan.lines`` (``raw``, at byte ``start``): (line,
        offset, time, message), or None (a line that holds none)."""
        name, product, scan, verify, known = (
            self.name,
            self.product,
            self.scan,
            self.verify,
            self.known,
        )
        number = scan.lines
        if raw.startswith(b"#"):
            text = raw.decode("utf-8", "replace").strip()
            if number == 1 and text.startswith(HEADER_PREFIX):
                found, scan.markets = _header(name, text, start)
                if product is not None and found != product:
                    raise RecordingError(
                        name,
                        number,
                        start,
                        f"a recording of {found}, not {product}: replay it with the {found} "
                        "gateway",
                    )
                scan.product = found
                self.codec = dialect(found)
            return None
        if raw.isspace():  # (a line read is never empty)
            return None
        parts = log_line(raw)
        if parts is None:
            shown = raw[:40].decode("utf-8", "backslashreplace").rstrip()
            raise RecordingError(name, number, start, f"not a message-log line: {shown!r}")
        stamp, direction, _session, frame_text = parts
        if direction != b"IN":
            return None
        # escaped control bytes: not market data, never replayed (find: ``in`` first tries
        # the needle as a byte's number, an exception raised and cleared every time)
        if frame_text.find(b"\\x") >= 0:
            return None
        frame = frame_text.replace(b"|", b"\x01")
        kind = _msg_type(frame)
        if kind not in REPLAYED_TYPES:
            if not raw.endswith(b"\n") and not frame.endswith(b"\x01"):
                raise RecordingError(name, number, start, "truncated: the file ends mid-frame")
            return None
        codec = self.codec
        if codec is None:
            codec = self.codec = dialect("prediction")
        message = None if known is None else known(frame, kind)
        told = message is not None
        if not told:
            try:
                message = codec.decode(frame, use_dollars=True, verify=verify)
                if verify:
                    message.validate()
            except DecodeError as exc:
                cut = "" if raw.endswith(b"\n") else " (the file ends mid-frame: truncated?)"
                raise RecordingError(name, number, start, f"{exc}{cut}") from None
        moment = _stamp_epoch(stamp)
        if moment is None:
            raise RecordingError(name, number, start, f"{stamp.decode()!r} is not a UTC time")
        last = self.last
        if moment < last:
            scan.step_back(ClockStep(name, number, start, moment, last))
            moment = last
        self.last = moment
        if not told and self.prediction:
            _check_prediction(name, number, start, message)
        return number, start, moment, message


def _msg_type(frame: bytes) -> str:
    at = frame.find(b"\x0135=")
    if at < 0:
        return ""
    end = frame.find(b"\x01", at + 4)
    return frame[at + 4 : end if end >= 0 else len(frame)].decode("ascii", "replace")


def _check_prediction(name: str, number: int, start: int, message: Any) -> None:
    """A prediction book price is below $1: a larger one is another product's recording."""
    for entry in getattr(message, "md_entries", None) or ():
        px = entry.md_entry_px
        if px is not None and px >= 1:
            raise RecordingError(
                name,
                number,
                start,
                f"price {px} is not a prediction price (a margin recording without its "
                "header? replay it with --product margin)",
            )


def check_recording(
    path: str | os.PathLike[str],
    *,
    product: str | None = None,
    max_line: int = MAX_LINE_BYTES,
) -> RecordingInfo:
    """Read a recording once through (streamed): what it holds, or its first problem.

    Args:
        path: the recording (a regular file).
        product: the product the caller expects (see `read_recording`).
        max_line: the longest line allowed, in bytes (see `read_recording`).

    Returns:
        What it holds, with the receive times that step back (`RecordingInfo.steps_back`).

    Raises:
        RecordingError: the first problem (see `read_recording`), or a file with no market
            data at all.
    """
    name = os.fspath(path)
    scan = _Scan()
    markets: dict[str, None] = {}
    count = 0
    first_time: float | None = None
    last_time: float | None = None
    with _open(name) as fh:
        for _line, _offset, moment, message in _read(fh, name, product, max_line, scan):
            if not count:
                markets = dict.fromkeys(scan.markets)
                first_time = moment
            count += 1
            last_time = moment
            for symbol in _symbols(message):
                markets.setdefault(symbol, None)
    if not count:
        raise RecordingError(name, 0, 0, "no market data (35=W / 35=X) received in it")
    return RecordingInfo(
        product=product or scan.product or "prediction",
        markets=tuple(markets),
        messages=count,
        lines=scan.lines,
        first_time=first_time,
        last_time=last_time,
        steps_back=scan.steps_back,
        largest_step_back=scan.largest,
    )


class RecordingWriter:
    """Writes a recording: the header, then one message-log line per received frame.

    Args:
        out: a text file opened for writing (or appending; the header goes first only into an
            empty file).
        product: ``"prediction"`` or ``"margin"``.
        markets: the markets recorded (for the header).
        session_id: the session id on each line, ``KalshiMD/<API key id>``.
    """

    def __init__(
        self, out: IO[str], product: str, markets: list[str], session_id: str = "KalshiMD/-"
    ) -> None:
        if product not in PRODUCTS:
            raise ValueError(f"product must be 'prediction' or 'margin', got {product!r}")
        self.out = out
        self.session_id = session_id
        try:
            empty = out.tell() == 0
        except OSError:  # a pipe (standard output): a stream of its own
            empty = True
        if empty:
            out.write(f"{HEADER_PREFIX} product={product} markets={','.join(markets)}\n")

    def funding(self, rate: FundingRate) -> None:
        """Write a perps funding rate (a ``# funding`` comment line, `read_funding` reads it)."""
        (row,) = FundingSchedule([rate], quantum=None).as_json()
        self.out.write(FUNDING_PREFIX + " ".join(f"{k}={v}" for k, v in row.items()) + "\n")

    def write(self, frame: bytes, received: float, direction: str = "IN") -> None:
        """Write one frame received (or sent) at ``received`` (UTC epoch seconds)."""
        moment = datetime.fromtimestamp(received, timezone.utc)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        text = frame.replace(b"\x01", b"|").decode("ascii", "backslashreplace")
        self.out.write(f"{stamp} {direction} {self.session_id} {text}\n")


def read_funding(path: str | os.PathLike[str]) -> FundingSchedule:
    """The funding rates a recording carries (its ``# funding`` lines, `FUNDING_PREFIX`), as a
    backtest's schedule (empty when it has none). Streamed: one line in memory at a time.

    Raises:
        RecordingError: the file cannot be read, or a funding line is bad (naming the line
            and the field).
    """
    name = os.fspath(path)
    prefix = FUNDING_PREFIX.encode()
    rows: list[dict[str, str]] = []
    try:
        with open(name, "rb") as fh:
            offset = 0
            for number, raw in enumerate(fh, 1):
                if raw.startswith(prefix):
                    text = raw[len(prefix) :].decode("ascii", "replace").split()
                    row = dict(word.partition("=")[::2] for word in text)
                    try:
                        FundingSchedule.from_rows([row], source="funding line")
                    except ValueError as exc:
                        raise RecordingError(name, number, offset, str(exc)) from None
                    rows.append(row)
                offset += len(raw)
    except OSError as exc:
        raise RecordingError(name, 0, 0, exc.strerror or str(exc)) from None
    try:
        return FundingSchedule.from_rows(rows, source=name)
    except ValueError as exc:  # the same rate twice
        raise RecordingError(name, 0, 0, str(exc)) from None


def _message_log(
    path: str | os.PathLike[str],
) -> Iterator[tuple[str, bytes, bytes, bytes, bytes]]:
    """Each message-log line of a file (comments and blank lines skipped), streamed:
    ``(where, time, direction, session id, frame with |)``, ``where`` naming the file, the line
    and its byte offset for the reader's own errors (the order-log, live-log and latency
    readers of `kalshi_fix_sansio.simulator.research.fitting`, `kalshi_fix_sansio.simulator.research.compare`
    and `kalshi_fix_sansio.simulator.world.latency`).

    Raises:
        LocalProtocolError: the file cannot be read, a line is too long, or a line is not a
            message-log line (named by file, line and byte offset).
    """
    name = os.fspath(path)
    number = 0
    try:
        with open(name, "rb") as fh:
            for offset, lines, _starts, _ends in read_lines(fh, MAX_LINE_BYTES):
                for raw in lines.splitlines(keepends=True):
                    number += 1
                    at, offset = offset, offset + len(raw)
                    if raw.startswith(b"#") or not raw.strip():
                        continue
                    where = f"{name}: line {number} (byte {at})"
                    parts = log_line(raw)
                    if parts is None:
                        shown = raw[:40].decode("utf-8", "backslashreplace").rstrip()
                        raise LocalProtocolError(f"{where}: not a message-log line: {shown!r}")
                    yield (where, *parts)
    except LineTooLong as exc:
        raise LocalProtocolError(
            f"{name}: line {number + 1} (byte {exc.offset}): {exc.reason('a message-log line')}"
        ) from None
    except OSError as exc:
        raise LocalProtocolError(f"{name}: cannot read it: {exc.strerror or exc}") from None
