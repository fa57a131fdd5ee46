"""Reading FIX message logs: frames cut out of any text that holds them, decoded.

What ``kalshi-fix decode`` and ``kalshi-fix replay`` read, and what
`kalshi_fix_sansio.restore` rebuilds a session's state from, as a library:

* `scan` cuts the frames out of one input (raw captures, doc examples with ``|`` or ``^A``
  separators, log lines with text before ``8=``, the adapters' message log with its escapes
  and ``<redacted N bytes>`` values undone), keeping every byte's input offset, and names
  each part that is not a frame (`Problem`);
* `decode_frame` decodes one `Found` frame tolerantly with a product's codec (`dialect`),
  secrets masked first, and checks it;
* `log_prefix` / `log_prefixes` read the time, direction and session id that the adapters'
  message log writes before each frame (`LogPrefix`).

`kalshi_fix_sansio.restore.LogReader` reads whole logs into entries (time, direction,
session, message) on top of these.

Examples:
    >>> from kalshi_fix_sansio import messagelog
    >>> log = (
    ...     b"2026-11-22T10:15:00.250000Z IN KalshiNR/my-key 8=FIXT.1.1|9=57|35=0|49=KalshiNR|"
    ...     b"56=my-key|34=7|52=20261122-10:15:00.250|10=114|\\n"
    ... )
    >>> [found] = messagelog.scan(log)
    >>> messagelog.log_prefix(log, found.offset).direction
    'IN'
    >>> msg, defects = messagelog.decode_frame(
    ...     messagelog.dialect("prediction"), found, 1, use_dollars=False, rfq_units="cents"
    ... )
    >>> msg.MSG_TYPE, msg.header.msg_seq_num, defects
    ('0', 7, ())
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Final, NamedTuple

from .framing import DEFAULT_MAX_MESSAGE_SIZE, SOH, Frame, Framer
from .redaction import SECRET_TAGS, mask_secrets

if TYPE_CHECKING:
    from . import Defect, Message

__all__ = [
    "PLACEHOLDER",
    "PRODUCTS",
    "Found",
    "LogPrefix",
    "Problem",
    "decode_frame",
    "dialect",
    "log_prefix",
    "log_prefixes",
    "printable",
    "scan",
]

PRODUCTS: Final = ("margin", "prediction")
"""The products whose logs can be read (the codec dialects)."""

PLACEHOLDER: Final = b"*"
"""Stands for a secret byte in a frame read from the input (never SOH or '='): `scan` puts it
where a value was redacted in the log, and `decode_frame` masks secrets with it before
decoding."""

# control characters would let a value forge lines or drive the terminal: shown escaped
_CONTROLS: Final[dict[int, str]] = {
    **{c: f"\\x{c:02x}" for c in (*range(32), *range(0x7F, 0xA0))},
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def printable(text: str) -> str:
    """``text`` with control characters (and U+2028/2029) escaped: it cannot forge lines."""
    return text.translate(_CONTROLS)


def dialect(product: str) -> ModuleType:
    """The codec module of a product (`kalshi_fix_sansio.prediction` or
    `kalshi_fix_sansio.margin`), imported on first use.

    Raises:
        ValueError: not one of `PRODUCTS`.
    """
    if product == "margin":
        from . import margin

        return margin
    if product == "prediction":
        from . import prediction

        return prediction
    raise ValueError(f"product must be one of {', '.join(PRODUCTS)}, got {product!r}")


# ---------------------------------------------------------------------------------------------
# Reading the input
#
# Every input is first rewritten into one buffer of SOH-separated frames (per line: `|` and `^A`
# separators become SOH, the message log's escapes are undone, its `<redacted N bytes>` values
# are put back as N placeholder bytes), keeping the input offset of every byte. One `Framer`
# then cuts frames out of the whole buffer (a frame may span lines in a raw capture).

_SECRET_ALT: Final = b"|".join(sorted(str(tag).encode() for tag in SECRET_TAGS))

# A line of the adapters' message log (adapters/_messagelog.py, MessageLog):
# "<ISO UTC time> <IN|OUT> <session id> <frame, SOH shown as |, control bytes escaped>".
_LOG_PREFIX: Final = re.compile(
    rb"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (?P<direction>IN|OUT) (?P<session>\S+) "
)
_LOG_GARBLED: Final = b"<garbled:"
_BOUNDARY_BEFORE: Final = rb"(?:(?<=[|\x01])|(?<=\^A)|^)"
_BOUNDARY_AFTER: Final = rb"(?=[|\x01]|\^A|$)"
_REDACTED: Final = (
    _BOUNDARY_BEFORE
    + rb"(?P<rtag>0*(?:"
    + _SECRET_ALT
    + rb"))=(?P<rval><redacted (?P<rlen>\d{1,9}) bytes>)"
    + _BOUNDARY_AFTER
)
_TOKENS: Final = re.compile(_REDACTED + rb"|(?P<caret>\^A)")
_TOKENS_LOG: Final = re.compile(
    _REDACTED + rb"|(?P<caret>\^A)|(?P<esc>\\x[0-9a-fA-F]{2}|\\u202[89])"
)
_TRAILER_NO_SOH: Final = re.compile(rb"(?:^|\x01)10=\d{3}\Z")
_SKIPPED: Final = re.compile(r"(\d+) bytes skipped$")
_FRAME_START: Final = re.compile(rb"(?<![0-9])8=")
_NEXT_FRAME: Final = re.compile(rb"(?<=\x01)8=FIX")


class Problem:
    """Input that cannot be parsed: what, and its byte offset in the input (``text``: a line of
    text with no frame in it, as opposed to a damaged frame)."""

    __slots__ = ("offset", "reason", "text")

    def __init__(self, reason: str, offset: int, text: bool = False) -> None:
        self.reason = reason
        self.offset = offset
        self.text = text


class Found:
    """A frame cut from the input.

    Attributes:
        frame: the frame (separators normalised, redacted values restored as placeholders).
        offset: the input offset of its first byte.
        locate: input offset of a byte offset within `frame`.
        redacted: the input had secret values redacted (its CheckSum cannot be verified).
    """

    __slots__ = ("frame", "locate", "offset", "redacted")

    def __init__(
        self, frame: bytes, offset: int, locate: Callable[[int], int], redacted: bool
    ) -> None:
        self.frame = frame
        self.offset = offset
        self.locate = locate
        self.redacted = redacted


class _Buffer:
    """Bytes rewritten from an input, with the input offset of every byte."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._new: list[int] = []  # buffer offset where each segment starts
        self._old: list[int] = []  # its input offset
        self._exact: list[bool] = []  # one input byte per buffer byte (else all map to _old)
        self.size = 0
        self.restored: list[int] = []  # buffer offsets of values restored from a redaction
        self.parts: list[tuple[int, int]] = []  # (start, end) of each line's FIX part

    def add(self, data: bytes, old: int, exact: bool = True) -> None:
        if not data:
            return
        self._chunks.append(data)
        self._new.append(self.size)
        self._old.append(old)
        self._exact.append(exact)
        self.size += len(data)

    def source(self, pos: int) -> int:
        """The input offset of buffer offset ``pos``."""
        i = bisect.bisect_right(self._new, pos) - 1
        if i < 0:
            return pos
        if self._exact[i]:
            return self._old[i] + pos - self._new[i]
        return self._old[i]

    def redacted(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` holds a value restored from a redaction."""
        i = bisect.bisect_left(self.restored, start)
        return i < len(self.restored) and self.restored[i] < end

    def data(self) -> bytes:
        return b"".join(self._chunks)


_Segment = tuple[bytes, int, bool, bool]  # data, input offset, exact, restored


def _rewrite(part: bytes, base: int, escapes: str | None) -> list[_Segment]:
    """Segments of one line's FIX part with SOH separators (``escapes``: the log's, or None)."""
    pipes = SOH not in part and b"^A" not in part
    tokens = _TOKENS_LOG if escapes is not None else _TOKENS
    out: list[_Segment] = []

    def literal(start: int, end: int) -> None:
        if end > start:
            text = part[start:end]
            out.append((text.replace(b"|", SOH) if pipes else text, base + start, True, False))

    pos = 0
    for m in tokens.finditer(part):
        literal(pos, m.start())
        pos = m.end()
        if m.group("caret"):
            out.append((SOH, base + m.start(), False, False))
        elif m.group("rval"):
            n = int(m.group("rlen"))
            if n > DEFAULT_MAX_MESSAGE_SIZE:  # not something the log wrote: keep it as it is
                literal(m.start(), m.end())
                continue
            literal(m.start(), m.start("rval"))
            out.append((PLACEHOLDER * n, base + m.start("rval"), False, True))
        else:
            escape = m.group("esc")
            if escape.startswith(b"\\u"):
                value = chr(int(escape[2:], 16)).encode()
            elif escapes == "nel" and escape.lower() == b"\\x85":
                value = "\x85".encode()
            else:
                value = bytes([int(escape[2:], 16)])
            out.append((value, base + m.start(), False, False))
    literal(pos, len(part))
    return out


class LogPrefix(NamedTuple):
    """What a line of the adapters' message log says before its frame.

    Attributes:
        time: the ISO 8601 UTC time as written (``2026-11-22T10:15:00.123456Z``).
        direction: ``"IN"`` (received) or ``"OUT"`` (sent).
        session: the session id (``<session type>/<SenderCompID>``).
    """

    time: str
    direction: str
    session: str


def log_prefix(data: bytes, offset: int) -> LogPrefix | None:
    """The message-log prefix of the input line holding byte ``offset`` (a frame's start).

    Args:
        data: the whole input, as given to `scan`.
        offset: an input offset, e.g. a frame's ``offset``.

    Returns:
        The prefix, or None when that line is not a message-log line.
    """
    start = max(data.rfind(b"\n", 0, offset), data.rfind(b"\r", 0, offset)) + 1
    return _prefix_at(data, start, offset)


def log_prefixes(data: bytes) -> Callable[[int], LogPrefix | None]:
    """`log_prefix` for frames read front to back (offsets must not decrease): each byte of
    ``data`` is searched for a line end once, however many frames a line holds.

    Args:
        data: the whole input, as given to `scan`.

    Returns:
        offset -> the message-log prefix of its line, or None.
    """
    line_start = searched = 0

    def at(offset: int) -> LogPrefix | None:
        nonlocal line_start, searched
        if offset > searched:
            end = max(data.rfind(b"\n", searched, offset), data.rfind(b"\r", searched, offset))
            if end >= 0:
                line_start = end + 1
            searched = offset
        return _prefix_at(data, line_start, offset)

    return at


def _prefix_at(data: bytes, start: int, offset: int) -> LogPrefix | None:
    """The message-log prefix of the line starting at ``start``, if it ends by ``offset``."""
    m = _LOG_PREFIX.match(data, start)
    if m is None or m.end() > offset:
        return None
    time_text, direction, session = (v.decode("ascii", "replace") for v in m.groups())
    return LogPrefix(time_text, direction, session)


def _frames_cleanly(data: bytes, redacted: bool) -> bool:
    framer = Framer()
    framer.feed(data)
    for item in framer:
        if isinstance(item, Frame) or item.reason.startswith("junk before"):
            continue
        if not (redacted and item.reason.startswith("CheckSum(10)")):
            return False
    return framer.buffered == 0


def _add_line(buf: _Buffer, line: bytes, base: int, problems: list[Problem]) -> None:
    """Append one input line (with its line ending) to the buffer."""
    body = line.rstrip(b"\r\n")
    log = _LOG_PREFIX.match(body)
    if log is not None and body.startswith(_LOG_GARBLED, log.end()):
        # the adapter logged bytes it could not frame, without their content
        note = body[log.end() :].decode("utf-8", "backslashreplace")
        problems.append(Problem(f"the log records garbled input: {note}", base + log.end()))
        buf.add(line[len(body) :], base + len(body))
        return
    start = body.find(b"8=FIX")
    if start < 0:
        start = body.find(b"8=")
    if start < 0:
        buf.add(line, base)
        return
    buf.add(body[:start], base)
    part = body[start:].rstrip(b" \t")
    variants: list[str | None] = [None]
    if log is not None and b"\\" in part:
        variants = ["raw", "nel", None]  # \x85 is a raw byte or U+0085; or no escapes at all
    segments = _rewrite(part, base + start, variants[0])
    if len(variants) > 1:
        for escapes in variants:
            candidate = _rewrite(part, base + start, escapes)
            data = b"".join(s[0] for s in candidate)
            if _frames_cleanly(data, any(s[3] for s in candidate)):
                segments = candidate
                break
    part_start = buf.size
    for data, old, exact, restored in segments:
        if restored:
            buf.restored.append(buf.size)
        buf.add(data, old, exact)
    if _TRAILER_NO_SOH.search(b"".join(s[0] for s in segments[-3:])):
        buf.add(SOH, base + start + len(part), False)  # "...|10=123" at the end of a line
    buf.parts.append((part_start, buf.size))
    buf.add(line[start + len(part) :], base + start + len(part))


def _normalized(data: bytes, problems: list[Problem]) -> _Buffer:
    buf = _Buffer()
    pos = 0
    for line in data.splitlines(keepends=True):
        _add_line(buf, line, pos, problems)
        pos += len(line)
    return buf


def _describe_start(text: bytes) -> str:
    """Why a ``8=...`` that the framer skipped is not a frame."""
    text = _hide_secrets(text[:64])
    soh = text.find(SOH)
    if 0 <= soh <= 40:
        value = text[2:soh].decode("latin-1")
        if value != "FIXT.1.1":
            return f"BeginString(8) is {value!r}, expected 'FIXT.1.1'"
    shown = text[:40].decode("latin-1").replace("\x01", "|")
    return f"garbled header: {shown!r} is not the start of a FIX frame"


def _junk(text: bytes, start: int, end: int, buf: _Buffer) -> Iterator[Problem]:
    """Problems in bytes that are not a frame: log prefixes, text before or after a frame on its
    line, blank lines and comment lines (``#`` first, e.g. a recording's header) are not
    problems; a whole line of other text is (a line with no frame, or a message-log line whose
    frame is destroyed)."""
    pos = start
    pieces = text[start:end].split(b"\n")
    for n, piece in enumerate(pieces):
        # the tail of the line a frame ended on, or the head of the line the next frame is on
        beside_frame = (n == 0 and start > 0 and text[start - 1 : start] != b"\n") or (
            n == len(pieces) - 1 and end < len(text)
        )
        m = _FRAME_START.search(piece)
        if m is not None:
            yield Problem(_describe_start(piece[m.start() :]), buf.source(pos + m.start()))
        elif SOH in piece:
            yield Problem(f"{len(piece)} bytes that are not a FIX frame", buf.source(pos))
        elif not beside_frame:
            log = _LOG_PREFIX.match(piece)
            skip = 0 if log is None else log.end()
            rest = piece[skip:].strip(b" \t\r\x0b\x0c")
            if rest and not (log is None and rest.startswith(b"#")):
                at = skip + piece[skip:].index(rest[:1])
                shown = printable(rest[:40].decode("utf-8", "backslashreplace"))
                what = "a message-log line without a FIX frame" if log else "text, not a FIX frame"
                yield Problem(f"{what}: {shown!r}", buf.source(pos + at), text=True)
        pos += len(piece) + 1


def scan(data: bytes, verify: bool = True) -> list[Found | Problem]:
    """The frames and the unparsable parts of one input, in input order.

    Args:
        data: the input: SOH, ``|`` or ``^A`` separators, raw streams or lines with text before
            ``8=``, including the adapters' message-log lines (escapes and redactions undone).
        verify: check BodyLength and CheckSum (doc examples often carry wrong ones); without it
            each line holds frames from ``8=`` to its end.

    Returns:
        `Found` frames and `Problem` records sorted by input offset.
    """
    problems: list[Problem] = []
    buf = _normalized(data, problems)
    text = buf.data()
    items: list[Found | Problem] = list(problems)

    def found(start: int, end: int) -> Found:
        return Found(
            text[start:end],
            buf.source(start),
            lambda pos: buf.source(start + pos),
            buf.redacted(start, end),
        )

    if not verify:
        for part_start, part_end in buf.parts:
            starts = [part_start] + [
                part_start + m.start() for m in _NEXT_FRAME.finditer(text, part_start, part_end)
            ]
            for start, end in zip(starts, [*starts[1:], part_end], strict=True):
                item = found(start, end)
                if not item.frame.endswith(SOH):
                    item.frame += SOH
                items.append(item)
    else:
        framer = Framer()
        framer.feed(text)
        for piece in framer:
            if isinstance(piece, Frame):
                items.append(found(piece.offset, piece.offset + len(piece.data)))
                continue
            m = _SKIPPED.search(piece.reason)
            end = piece.offset + (int(m.group(1)) if m else len(piece.data))
            if piece.reason.startswith("junk before"):
                items.extend(_junk(text, piece.offset, end, buf))
            elif piece.reason.startswith("CheckSum(10)") and buf.redacted(piece.offset, end):
                items.append(found(piece.offset, end))  # its only problem is the redaction
            else:
                reason = piece.reason
                if buf.redacted(piece.offset, end):
                    reason += " (a value was redacted in the log)"
                items.append(Problem(reason, buf.source(piece.offset)))
                newline = text.find(b"\n", piece.offset, end)
                if newline >= 0 and not piece.reason.startswith("CheckSum(10)"):
                    # resynchronising skipped the lines after it too: look at them
                    items.extend(_junk(text, newline + 1, end, buf))
        rest = text[framer.stream_offset :]
        if rest.startswith(b"8="):
            items.append(
                Problem(
                    f"incomplete frame: the input ends {len(rest)} bytes into it",
                    buf.source(framer.stream_offset),
                )
            )
        else:  # text after the last frame
            items.extend(_junk(text, framer.stream_offset, len(text), buf))
    if not any(isinstance(item, Found) for item in items):
        # no frame at all: the input is not a FIX log ("no FIX messages found"), unless frames
        # were damaged; its text lines are not listed one by one
        items = [item for item in items if not (isinstance(item, Problem) and item.text)]
    items.sort(key=lambda item: item.offset)
    return items


def _hide_secrets(frame: bytes) -> bytes:
    """Overwrite the secret values with as many placeholder bytes (lengths unchanged)."""
    return mask_secrets(frame, PLACEHOLDER)


def decode_frame(
    codec: ModuleType, item: Found, index: int, *, use_dollars: bool, rfq_units: str
) -> tuple[Message, tuple[Defect, ...]] | Problem:
    """Decode one frame cut by `scan` tolerantly (secrets masked first) and check it.

    Args:
        codec: the dialect module (`dialect`).
        item: the frame.
        index: its 1-based position among the frames, for the problem's text.
        use_dollars: prices in dollars (UseDollars=Y).
        rfq_units: units of RFQ quote prices, ``"cents"`` or ``"dollars"``.

    Returns:
        The message and its defects (every field converted), or why it cannot be read (located).
    """
    from .errors import DecodeError

    try:
        msg = codec.decode(
            _hide_secrets(item.frame), use_dollars=use_dollars, rfq_units=rfq_units, tolerant=True
        )
        return msg, tuple(msg.check())
    except DecodeError as exc:
        where = item.locate(exc.offset) if exc.offset is not None else item.offset
        return Problem(f"message #{index}: {exc}", where)
    except Exception as exc:  # a codec bug must not become a traceback here
        reason = f"message #{index}: internal error ({type(exc).__name__}: {exc}); please report it"
        return Problem(reason, item.offset)
