"""Market-data recordings: what a KalshiMD session received, with receive times, line by line.

A recording is a FIX message log (the lines `MessageLog` writes, which ``kalshi-fix decode``
and ``kalshi-fix replay`` read) with a header comment naming the product and the markets::

    # kalshi-fix recording v1 product=prediction markets=HIGHNY-23DEC31,KXBTC-25
    2026-11-20T14:30:00.125000Z IN KalshiMD/key-1 8=FIXT.1.1|9=...|35=W|...|10=123|
    2026-11-20T14:30:00.380000Z IN KalshiMD/key-1 8=FIXT.1.1|9=...|35=X|...|10=045|

Each line is ``<receive time, ISO UTC> <IN|OUT> <session id> <frame with | for SOH>``. The
replay (`kalshi_fix_sansio.gateway.replay`) takes the received (``IN``) market-data messages:
snapshots (35=W), incremental refreshes (35=X: level changes and trades), SecurityStatus (35=f)
and MarketSettlementReports (35=UMS, when a settlement session was recorded into the same file);
everything else (Logon, Heartbeats, what the client sent) is skipped. Lines starting with ``#``
are comments. The receive times are the recording's clock.

`read_recording` streams a recording (one line in memory at a time, whatever its length);
`check_recording` reads it once through to find what it holds and the first problem, so that a
replay can refuse a bad file before it starts. A problem is a `RecordingError` whose message is
one line naming the file, the line and the byte offset. `RecordingWriter` writes one (the
recorder, ``examples/trio_md_recorder.py``, and the sample generator use it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from types import ModuleType
from typing import IO, Any, Final

import attrs

from . import margin as _margin
from . import prediction as _prediction
from .errors import DecodeError

__all__ = [
    "HEADER_PREFIX",
    "REPLAYED_TYPES",
    "Recorded",
    "RecordingError",
    "RecordingInfo",
    "RecordingWriter",
    "check_recording",
    "read_recording",
]

HEADER_PREFIX: Final = "# kalshi-fix recording v1"
"""How a recording's first line starts; ``product=`` and ``markets=`` words follow."""

REPLAYED_TYPES: Final = frozenset({"W", "X", "f", "UMS"})
"""The MsgTypes a replay takes from a recording (received ones only)."""

_LINE: Final = re.compile(rb"(\S+) (IN|OUT) (\S+) (8=.*?)\r?\n?\Z", re.DOTALL)
_DIALECTS: Final[dict[str, ModuleType]] = {"prediction": _prediction, "margin": _margin}


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
class RecordingInfo:
    """What `check_recording` found in a recording.

    Attributes:
        product: ``"prediction"`` or ``"margin"`` (from the header).
        markets: every market the recording names (header first, then as they appear).
        messages: how many messages a replay takes from it.
        lines: how many lines it has.
        first_time: the first such message's receive time (epoch seconds), None when none.
        last_time: the last one's.
    """

    product: str
    markets: tuple[str, ...]
    messages: int
    lines: int
    first_time: float | None
    last_time: float | None

    @property
    def duration(self) -> float:
        """Seconds from the first to the last replayed message."""
        if self.first_time is None or self.last_time is None:
            return 0.0
        return self.last_time - self.first_time


def _header(path: str, text: str, offset: int) -> tuple[str, tuple[str, ...]]:
    words = dict(w.partition("=")[::2] for w in text[len(HEADER_PREFIX) :].split())
    product = words.get("product", "")
    if product not in _DIALECTS:
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


def _symbols(message: Any) -> Iterator[str]:
    symbol = getattr(message, "symbol", None)
    if isinstance(symbol, str):
        yield symbol
    for entry in getattr(message, "md_entries", None) or ():
        name = getattr(entry, "symbol", None)
        if isinstance(name, str):
            yield name


def read_recording(
    path: str | os.PathLike[str], *, product: str | None = None
) -> Iterator[Recorded]:
    """The market-data messages of a recording, in file order, streamed line by line.

    Args:
        path: the recording.
        product: the product the caller expects; a recording whose header names another is
            refused. None: the header's (prediction when there is no header).

    Yields:
        Each received 35=W / 35=X / 35=f / 35=UMS message with its line and receive time. A
        receive time earlier than the one before (a clock step back while recording) is raised
        to it: the recording's clock never runs backwards.

    Raises:
        RecordingError: the file cannot be read, is of another product, or has a line that is
            not a message-log line, a frame that is truncated or corrupt (BodyLength,
            CheckSum), a time that is not one, or a message that does not decode. Raised when
            the reader reaches it: `check_recording` finds it before a replay starts.
    """
    name = os.fspath(path)
    try:
        fh = open(name, "rb")
    except OSError as exc:
        raise RecordingError(name, 0, 0, f"cannot read: {exc.strerror or exc}") from None
    with fh:
        yield from _read(fh, name, product)


def _read(fh: IO[bytes], name: str, product: str | None) -> Iterator[Recorded]:
    codec: ModuleType | None = _DIALECTS.get(product or "")
    offset = 0
    last = float("-inf")
    for number, raw in enumerate(fh, 1):
        start, offset = offset, offset + len(raw)
        if raw.startswith(b"#"):
            text = raw.decode("utf-8", "replace").strip()
            if number == 1 and text.startswith(HEADER_PREFIX):
                found, _ = _header(name, text, start)
                if product is not None and found != product:
                    raise RecordingError(
                        name,
                        number,
                        start,
                        f"a recording of {found}, not {product}: replay it with the {found} "
                        "gateway",
                    )
                codec = _DIALECTS[found]
            continue
        if not raw.strip():
            continue
        m = _LINE.match(raw)
        if m is None:
            shown = raw[:40].decode("utf-8", "backslashreplace").rstrip()
            raise RecordingError(name, number, start, f"not a message-log line: {shown!r}")
        stamp, direction, _session, frame_text = m.groups()
        if direction != b"IN":
            continue
        if b"\\x" in frame_text:  # escaped control bytes: not market data, never replayed
            continue
        frame = frame_text.replace(b"|", b"\x01")
        kind = _msg_type(frame)
        if kind not in REPLAYED_TYPES:
            if not raw.endswith(b"\n") and not frame.endswith(b"\x01"):
                raise RecordingError(name, number, start, "truncated: the file ends mid-frame")
            continue
        if codec is None:
            codec = _prediction
        try:
            message = codec.decode(frame, use_dollars=True, verify=True)
            message.validate()
        except DecodeError as exc:
            cut = "" if raw.endswith(b"\n") else " (the file ends mid-frame: truncated?)"
            raise RecordingError(name, number, start, f"{exc}{cut}") from None
        moment = _epoch(stamp.decode("ascii", "replace"))
        if moment is None:
            raise RecordingError(name, number, start, f"{stamp.decode()!r} is not a UTC time")
        if moment < last:
            moment = last
        last = moment
        if codec is _prediction:
            _check_prediction(name, number, start, message)
        yield Recorded(number, start, moment, message)


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


def check_recording(path: str | os.PathLike[str], *, product: str | None = None) -> RecordingInfo:
    """Read a recording once through (streamed): what it holds, or its first problem.

    Args:
        path: the recording.
        product: the product the caller expects (see `read_recording`).

    Returns:
        What it holds.

    Raises:
        RecordingError: the first problem (see `read_recording`), or a file with no market
            data at all.
    """
    name = os.fspath(path)
    found_product = product
    header_markets: tuple[str, ...] = ()
    lines = 0
    try:
        with open(name, "rb") as fh:
            first = fh.readline()
            lines = 1 + sum(1 for _ in fh)
    except OSError as exc:
        raise RecordingError(name, 0, 0, f"cannot read: {exc.strerror or exc}") from None
    if first.startswith(HEADER_PREFIX.encode()):
        header_product, header_markets = _header(name, first.decode("utf-8", "replace"), 0)
        found_product = found_product or header_product
    markets: dict[str, None] = dict.fromkeys(header_markets)
    count = 0
    first_time: float | None = None
    last_time: float | None = None
    for item in read_recording(name, product=product):
        count += 1
        if first_time is None:
            first_time = item.time
        last_time = item.time
        for symbol in _symbols(item.message):
            markets.setdefault(symbol, None)
    if not count:
        raise RecordingError(name, 0, 0, "no market data (35=W / 35=X) received in it")
    return RecordingInfo(
        product=found_product or "prediction",
        markets=tuple(markets),
        messages=count,
        lines=lines,
        first_time=first_time,
        last_time=last_time,
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
        if product not in _DIALECTS:
            raise ValueError(f"product must be 'prediction' or 'margin', got {product!r}")
        self.out = out
        self.session_id = session_id
        try:
            empty = out.tell() == 0
        except OSError:  # a pipe (standard output): a stream of its own
            empty = True
        if empty:
            out.write(f"{HEADER_PREFIX} product={product} markets={','.join(markets)}\n")

    def write(self, frame: bytes, received: float, direction: str = "IN") -> None:
        """Write one frame received (or sent) at ``received`` (UTC epoch seconds)."""
        moment = datetime.fromtimestamp(received, timezone.utc)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        text = frame.replace(b"\x01", b"|").decode("ascii", "backslashreplace")
        self.out.write(f"{stamp} {direction} {self.session_id} {text}\n")
