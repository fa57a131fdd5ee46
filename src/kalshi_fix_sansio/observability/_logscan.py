"""Cutting the frames out of an input read line by line: how `kalshi_fix_sansio.observability.messagelog`
reads.

Private: `kalshi_fix_sansio.observability.messagelog` exports `Found`, `Problem`, `LogPrefix`,
`PLACEHOLDER` and `printable`, and its `scan_stream` and `scan` read with `scan_input`.

Every input is rewritten line by line (`read_lines`) into one stream of SOH-separated frames
(``|`` and ``^A`` separators become SOH, the message log's escapes are undone, its
``<redacted N bytes>`` values are put back as N placeholder bytes), keeping the input offset of
every byte. One `Framer` cuts the frames out of that stream (a frame may span lines in a raw
capture); the bytes it skips are told line by line. What is held stays bounded (`_Scanner`).
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO, Final, NamedTuple

from ..codec import MAX_LINE_BYTES, LineTooLong, read_lines
from ..codec.framing import DEFAULT_MAX_MESSAGE_SIZE, SOH, Frame, Framer
from ..codec.redaction import SECRET_TAGS, mask_secrets

__all__ = [
    "LOG_PREFIX",
    "PLACEHOLDER",
    "Found",
    "LogPrefix",
    "Problem",
    "hide_secrets",
    "log_prefix_of",
    "printable",
    "scan_input",
]

PLACEHOLDER: Final = b"*"
"""Stands for a secret byte in a frame read from the input (never SOH or '='):
`kalshi_fix_sansio.observability.messagelog.scan` puts it where a value was redacted in the log, and
`kalshi_fix_sansio.observability.messagelog.decode_frame` masks secrets with it before decoding."""


# control characters would let a value forge lines or drive the terminal: shown escaped
_CONTROLS: Final[dict[int, str]] = {
    **{c: f"\\x{c:02x}" for c in (*range(32), *range(0x7F, 0xA0))},
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def printable(text: str) -> str:
    """``text`` with control characters (and U+2028/2029) escaped: it cannot forge lines."""
    return text.translate(_CONTROLS)


_SECRET_ALT: Final = b"|".join(sorted(str(tag).encode() for tag in SECRET_TAGS))

# A line of the adapters' message log (_logwriter.py, MessageLog):
# "<ISO UTC time> <IN|OUT> <session id> <frame, SOH shown as |, control bytes escaped>".
LOG_PREFIX: Final = re.compile(
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
_MISMATCH: Final = re.compile(r"CheckSum\(10\) is \d{3}, computed \d{3};")
_FRAME_START: Final = re.compile(rb"(?<![0-9])8=")
_NEXT_FRAME: Final = re.compile(rb"(?<=\x01)8=FIX")
_TEXT_LINE: Final = re.compile(rb"^[ \t\r\x0b\x0c]*[^ \t\r\x0b\x0c\n#]", re.MULTILINE)
_HELD: Final = 1000  # problems held before the first frame (then text lines are counted)


class Problem:
    """Input that cannot be parsed: what, and its byte offset in the input (``text``: a line of
    text with no frame in it, as opposed to a damaged frame)."""

    __slots__ = ("offset", "reason", "text")

    def __init__(self, reason: str, offset: int, text: bool = False) -> None:
        self.reason = reason
        self.offset = offset
        self.text = text


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


class Found:
    """A frame cut from the input.

    Attributes:
        frame: the frame (separators normalised, redacted values restored as placeholders).
        offset: the input offset of its first byte.
        locate: input offset of a byte offset within `frame`.
        redacted: the input had secret values redacted (its CheckSum cannot be verified).
        prefix: the message-log prefix of the line it starts on
            (`kalshi_fix_sansio.observability.messagelog.log_prefix`), or None.
    """

    __slots__ = ("frame", "locate", "offset", "prefix", "redacted")

    def __init__(
        self,
        frame: bytes,
        offset: int,
        locate: Callable[[int], int],
        redacted: bool,
        prefix: LogPrefix | None = None,
    ) -> None:
        self.frame = frame
        self.offset = offset
        self.locate = locate
        self.redacted = redacted
        self.prefix = prefix


class _Buffer:
    """Bytes rewritten from an input, with the input offset of every byte: those from `start`
    on (`drop` forgets the older ones once they are read)."""

    def __init__(self) -> None:
        self.text = bytearray()  # the bytes from buffer offset `start` to `size`
        self.start = 0
        self.size = 0
        self.fed = 0  # where `take` starts
        self._new: list[int] = []  # buffer offset where each segment starts
        self._old: list[int] = []  # its input offset
        self._exact: list[bool] = []  # one input byte per buffer byte (else all map to _old)
        self.restored: list[int] = []  # buffer offsets of values restored from a redaction

    def add(self, data: bytes, old: int, exact: bool = True) -> None:
        if not data:
            return
        self.text += data
        self._new.append(self.size)
        self._old.append(old)
        self._exact.append(exact)
        self.size += len(data)

    def take(self, upto: int | None = None) -> bytes:
        """The bytes added since the last call, up to buffer offset ``upto`` (None: all)."""
        end = self.size if upto is None else upto
        data = bytes(self.text[self.fed - self.start : end - self.start])
        self.fed = end
        return data

    def get(self, start: int, end: int) -> bytes:
        return bytes(self.text[start - self.start : end - self.start])

    def byte_before(self, pos: int) -> bytes:
        return self.get(pos - 1, pos) if pos > self.start else b""

    def source(self, pos: int) -> int:
        """The input offset of buffer offset ``pos``."""
        i = bisect.bisect_right(self._new, pos) - 1
        if i < 0:
            return pos
        if self._exact[i]:
            return self._old[i] + pos - self._new[i]
        return self._old[i]

    def locator(self, start: int, end: int) -> Callable[[int], int]:
        """`source` for the offsets within ``[start, end)`` counted from ``start``, kept
        after `drop`."""
        first = max(bisect.bisect_right(self._new, start) - 1, 0)
        last = bisect.bisect_right(self._new, end)
        new, old, exact = self._new[first:last], self._old[first:last], self._exact[first:last]

        def locate(pos: int) -> int:
            at = start + pos
            i = bisect.bisect_right(new, at) - 1
            if i < 0:
                return at
            return old[i] + at - new[i] if exact[i] else old[i]

        return locate

    def redacted(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` holds a value restored from a redaction."""
        i = bisect.bisect_left(self.restored, start)
        return i < len(self.restored) and self.restored[i] < end

    def drop(self, pos: int) -> None:
        """Forget the bytes before buffer offset ``pos`` (the segment holding it stays)."""
        if pos <= self.start:
            return
        del self.text[: pos - self.start]
        self.start = pos
        i = bisect.bisect_right(self._new, pos) - 1
        if i > 0:
            del self._new[:i], self._old[:i], self._exact[:i]
        i = bisect.bisect_left(self.restored, pos)
        if i:
            del self.restored[:i]


_Segment = tuple[bytes, int, bool, bool]  # data, input offset, exact, restored


def _rewrite(
    part: bytes, base: int, escapes: str | None, pipes: bool | None = None
) -> list[_Segment]:
    """Segments of one line's FIX part with SOH separators (``escapes``: the log's, or None;
    ``pipes``: whether ``|`` separates fields, None: when the part holds no SOH or ``^A``).
    The values restored from ``<redacted N bytes>`` come to at most the largest frame a session
    accepts: past it, the text stays as it is (a log never wrote more)."""
    if pipes is None:
        pipes = SOH not in part and b"^A" not in part
    tokens = _TOKENS_LOG if escapes is not None else _TOKENS
    out: list[_Segment] = []
    room = DEFAULT_MAX_MESSAGE_SIZE

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
            if n > room:  # not something the log wrote: keep it as it is
                literal(m.start(), m.end())
                continue
            room -= n
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


def log_prefix_of(m: re.Match[bytes]) -> LogPrefix:
    """The `LogPrefix` a `LOG_PREFIX` match read."""
    time_text, direction, session = m.groups()
    return LogPrefix(time_text.decode(), direction.decode(), session.decode("ascii", "replace"))


def hide_secrets(frame: bytes) -> bytes:
    """Overwrite the secret values with as many placeholder bytes (lengths unchanged)."""
    return mask_secrets(frame, PLACEHOLDER)


def _frames_cleanly(data: bytes, redacted: bool) -> bool:
    framer = Framer()
    framer.feed(data)
    for item in framer:
        if isinstance(item, Frame) or item.reason.startswith("junk before"):
            continue
        if not (redacted and _MISMATCH.match(item.reason)):
            return False
    return framer.buffered == 0


def _add_line(
    buf: _Buffer,
    line: bytes,
    base: int,
    problems: list[Problem],
    log: re.Match[bytes] | None,
    *,
    starts: bool = True,
    ends: bool = True,
    in_part: bool = False,
) -> tuple[int, int] | None:
    """Append one input line (with its line ending) to the buffer: the buffer range of its FIX
    part, if it has one. A raw line too long to take whole comes in pieces: ``starts`` False
    for those after the first (``in_part``: its FIX part began before), ``ends`` False for
    those before the last."""
    body = line.rstrip(b"\r\n") if ends else line
    variants: list[str | None] = [None]
    pipes: bool | None = False  # a raw line: | is no separator (None: as the part says)
    if in_part:
        start, part = 0, body
    else:
        if log is not None and body.startswith(_LOG_GARBLED, log.end()):
            # the adapter logged bytes it could not frame, without their content
            note = body[log.end() :].decode("utf-8", "backslashreplace")
            problems.append(Problem(f"the log records garbled input: {note}", base + log.end()))
            buf.add(line[len(body) :], base + len(body))
            return None
        start = body.find(b"8=FIX")
        if start < 0:
            start = body.find(b"8=")
        if start < 0:
            buf.add(line, base)
            return None
        buf.add(body[:start], base)
        part = body[start:]
        if starts:
            pipes = None
        if log is not None and b"\\" in part:
            variants = ["raw", "nel", None]  # \x85 is a raw byte or U+0085; or no escapes at all
    if ends:
        part = part.rstrip(b" \t")
    segments = _rewrite(part, base + start, variants[0], pipes)
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
    if ends and _TRAILER_NO_SOH.search(b"".join(s[0] for s in segments[-3:])):
        buf.add(SOH, base + start + len(part), False)  # "...|10=123" at the end of a line
    part_end = buf.size
    buf.add(line[start + len(part) :], base + start + len(part))
    return part_start, part_end


def _describe_start(text: bytes) -> str:
    """Why a ``8=...`` that the framer skipped is not a frame."""
    text = hide_secrets(text[:64])
    soh = text.find(SOH)
    if 0 <= soh <= 40:
        value = text[2:soh].decode("latin-1")
        if value != "FIXT.1.1":
            return f"BeginString(8) is {value!r}, expected 'FIXT.1.1'"
    shown = text[:40].decode("latin-1").replace("\x01", "|")
    return f"garbled header: {shown!r} is not the start of a FIX frame"


def _junk(
    text: bytes, pos: int, source: Callable[[int], int], mid_start: bool, mid_end: bool
) -> Iterator[Problem]:
    """Problems in bytes that are not a frame (``text``, from buffer offset ``pos``; it starts
    in the middle of a line when ``mid_start``, ends in one when ``mid_end``): log prefixes,
    text before or after a frame on its line, blank lines and comment lines (``#`` first, e.g.
    a recording's header) are not problems; a whole line of other text is (a line with no
    frame, or a message-log line whose frame is destroyed)."""
    for at, piece, beside_frame in _pieces(text, mid_start, mid_end):
        m = _FRAME_START.search(piece)
        if m is not None:
            yield Problem(_describe_start(piece[m.start() :]), source(pos + at + m.start()))
        elif SOH in piece:
            yield Problem(f"{len(piece)} bytes that are not a FIX frame", source(pos + at))
        elif not beside_frame:
            log = LOG_PREFIX.match(piece)
            skip = 0 if log is None else log.end()
            rest = piece[skip:].strip(b" \t\r\x0b\x0c")
            if rest and not (log is None and rest.startswith(b"#")):
                first = skip + piece[skip:].index(rest[:1])
                shown = printable(rest[:40].decode("utf-8", "backslashreplace"))
                what = "a message-log line without a FIX frame" if log else "text, not a FIX frame"
                yield Problem(f"{what}: {shown!r}", source(pos + at + first), text=True)


def _pieces(text: bytes, mid_start: bool, mid_end: bool) -> Iterator[tuple[int, bytes, bool]]:
    """(offset, piece, beside a frame) of each piece of ``text`` between line ends (the first
    is the tail of the line a frame ended on when ``mid_start``, the last the head of the line
    the next frame is on when ``mid_end``). Without ``8=`` or SOH, only a line of text can be a
    problem: blank and comment lines are passed over in one search."""
    last = len(text)
    if b"8=" in text or SOH in text:
        pieces = text.split(b"\n")
        at = 0
        for n, piece in enumerate(pieces):
            beside = (n == 0 and mid_start) or (n == len(pieces) - 1 and mid_end)
            yield at, piece, beside
            at += len(piece) + 1
        return
    for m in _TEXT_LINE.finditer(text):
        start = m.start()
        end = text.find(b"\n", start)
        end = last if end < 0 else end
        beside = (start == 0 and mid_start) or (end == last and mid_end)
        yield start, text[start:end], beside


class _Scanner:
    """`scan_input`'s state: the input rewritten line by line (`_add_line`) into one stream of
    SOH-separated frames, cut by one `Framer` (a frame may span lines in a raw capture), the
    bytes the framer skipped told line by line (`_junk`), everything in input order.

    What is held is bounded: the rewritten bytes from the framer's read position (at most a
    frame it waits for: 4 MiB) or the start of the junk not told yet (at most a line), the
    problems found ahead of a frame still incomplete, and before the first frame at most
    `_HELD` problems (an input without a frame is not a FIX log: its text lines are not listed).
    """

    def __init__(self, verify: bool) -> None:
        self.verify = verify
        self.buf = _Buffer()
        self.framer = Framer()
        # the lines that frames may still start on: (input offset, its log prefix)
        self.lines: deque[tuple[int, re.Match[bytes] | None]] = deque()
        self.ready: list[tuple[int, int, Found | Problem]] = []  # sorted by input offset
        self.count = 0
        # skipped bytes not told yet: [junk_start, junk_end), the first byte in the middle of a
        # line (junk_mid), or all of it on the line of a damaged frame until a line end (skip)
        self.junk_start: int | None = None
        self.junk_end = 0
        self.junk_mid = False
        self.junk_skip = False
        self.in_part = False  # the FIX part of a raw line read in pieces began
        self.unfinished: int | None = None  # without verifying: where its last frame starts
        self.found = False  # a frame was told
        self.held: list[Problem] = []  # the problems before the first frame
        self.unlisted: list[Problem] = []  # text lines past _HELD of them: the first, counted
        self.unlisted_count = 0

    def feed(self, offset: int, data: bytes, starts: bool, ends: bool) -> Iterator[Found | Problem]:
        """Whole lines (or a piece of a raw one) at input ``offset``: what is certain so far.

        The framer is fed a line at a time (a run of lines without a frame start at once while
        no frame is pending: all of it is skipped), so that what it tells (where a damaged
        frame's skipped bytes end) does not depend on how the input arrived."""
        if not (starts and ends):
            self._line(offset, data, starts, ends)
        else:
            plain = -1  # where a run of lines without a frame start began in data
            at = 0
            for line in data.splitlines(keepends=True):
                if b"8=" in line or _LOG_GARBLED in line:
                    if plain >= 0:
                        self._plain(offset + plain, data[plain:at])
                        plain = -1
                    self._line(offset + at, line, True, True)
                elif plain < 0:
                    plain = at
                at += len(line)
            if plain >= 0:
                self._plain(offset + plain, data[plain:])
        yield from self._release(self._settled())
        self._drop()

    def _plain(self, offset: int, lines: bytes) -> None:
        """Lines without a frame start (text, blank, comments): one piece of text while no
        frame is pending (no frame starts on them, none needs their log prefix)."""
        if self.verify and self.framer.buffered:
            for line in lines.splitlines(keepends=True):
                self._line(offset, line, True, True)
                offset += len(line)
            return
        self.buf.add(lines, offset)
        self._framed()

    def _line(self, offset: int, line: bytes, starts: bool, ends: bool) -> None:
        """One line, or a piece of a raw one."""
        log = LOG_PREFIX.match(line) if starts else None
        if starts:
            self.lines.append((offset, log))
        problems: list[Problem] = []
        part = _add_line(
            self.buf, line, offset, problems, log, starts=starts, ends=ends, in_part=self.in_part
        )
        self.in_part = not ends and (self.in_part or part is not None)
        if part is not None and not self.verify:
            first = part[0] if self.unfinished is None else self.unfinished
            self.unfinished = self._frames(first, part[1], ends)
        self._framed(None if part is None else part[1])
        for problem in problems:
            self._put(problem)

    def _framed(self, upto: int | None = None) -> None:
        """Feed the framer what was added (verifying), up to ``upto`` (a line's FIX part's end:
        its line end goes with what follows), and take what it cuts."""
        if self.verify:
            self.framer.feed(self.buf.take(upto))
            self._cut()

    def finish(self, last: Problem | None = None) -> Iterator[Found | Problem]:
        """The end of the input (``last``: why it is read no further)."""
        self._framed()
        if self.verify:
            rest_start = self.framer.stream_offset
            rest = self.buf.get(rest_start, self.buf.size)
            self._close_junk(follows=bool(rest))
            if rest.startswith(b"8="):
                reason = f"incomplete frame: the input ends {len(rest)} bytes into it"
                self._put(Problem(reason, self.buf.source(rest_start)))
            elif rest:
                mid = rest_start > 0 and self.buf.byte_before(rest_start) != b"\n"
                self._tell(rest_start, self.buf.size, mid, False)
        if last is not None:
            self._put(last)
        yield from self._release(None)
        if not self.found:  # no frame at all: not a FIX log, its text lines are not listed
            yield from (p for p in self.held if not p.text)

    # -- what the framer cut ---------------------------------------------------------------

    def _cut(self) -> None:
        buf = self.buf
        for piece in self.framer:
            if isinstance(piece, Frame):
                self._close_junk(follows=True)
                self._put(self._found(piece.offset, piece.offset + len(piece.data), piece.data))
                continue
            m = _SKIPPED.search(piece.reason)
            end = piece.offset + (int(m.group(1)) if m else len(piece.data))
            if piece.reason.startswith("junk before"):
                if self.junk_start is None or self.junk_end != piece.offset:
                    self._close_junk(follows=True)
                    mid = piece.offset > 0 and buf.byte_before(piece.offset) != b"\n"
                    self._open_junk(piece.offset, mid, skip=False)
                self.junk_end = end
                self._digest_junk()
                continue
            self._close_junk(follows=True)
            redacted = buf.redacted(piece.offset, end)
            mismatch = _MISMATCH.match(piece.reason) is not None  # a whole frame, skipped exactly
            if mismatch and redacted:  # its only problem is the redaction
                self._put(self._found(piece.offset, end, buf.get(piece.offset, end)))
                continue
            reason = piece.reason + (" (a value was redacted in the log)" if redacted else "")
            self._put(Problem(reason, buf.source(piece.offset)))
            if not mismatch:
                # resynchronising skipped the lines after it too: look at them
                self._open_junk(piece.offset, False, skip=True)
                self.junk_end = end
                self._digest_junk()

    def _frames(self, start: int, end: int, ends: bool) -> int | None:
        """Without verifying: each frame of a line's FIX part, from ``8=`` to the next; the
        start of the last one when the line goes on (a raw one read in pieces) and it may too."""
        text = self.buf.get(start, end)
        starts = [0, *(m.start() for m in _NEXT_FRAME.finditer(text))]
        going_on = not ends and len(text) - starts[-1] <= MAX_LINE_BYTES
        for first, last in zip(starts, [*starts[1:], len(text)], strict=True):
            if going_on and first == starts[-1]:
                return start + first
            frame = text[first:last]
            frame += b"" if frame.endswith(SOH) else SOH
            self._put(self._found(start + first, start + last, frame))
        return None

    def _found(self, start: int, end: int, frame: bytes) -> Found:
        buf = self.buf
        offset = buf.source(start)
        lines = self.lines
        while len(lines) > 1 and lines[1][0] <= offset:
            lines.popleft()
        prefix = None
        if lines:
            line_offset, log = lines[0]
            if log is not None and line_offset + log.end() <= offset:
                prefix = log_prefix_of(log)
        return Found(frame, offset, buf.locator(start, end), buf.redacted(start, end), prefix)

    # -- the bytes the framer skipped -------------------------------------------------------

    def _open_junk(self, start: int, mid: bool, skip: bool) -> None:
        self.junk_start = start
        self.junk_mid = mid
        self.junk_skip = skip

    def _digest_junk(self) -> None:
        """Tell the whole lines of the pending junk (at most a line stays pending)."""
        start, end = self.junk_start, self.junk_end
        assert start is not None
        if self.junk_skip:  # the damaged frame's line: not told again
            newline = self.buf.text.find(b"\n", start - self.buf.start, end - self.buf.start)
            if newline < 0:
                self.junk_start = end
                return
            start = newline + self.buf.start + 1
            self.junk_skip = self.junk_mid = False
        newline = self.buf.text.rfind(b"\n", start - self.buf.start, end - self.buf.start)
        if newline >= 0:
            newline += self.buf.start
            if newline > start:  # not a line end alone (after a frame, most often)
                self._tell(start, newline + 1, self.junk_mid, True)
            start = newline + 1
            self.junk_mid = False
        if end - start > MAX_LINE_BYTES:  # a raw line without a frame start: told in parts
            self._tell(start, end, self.junk_mid, True)
            start = end
            self.junk_mid = True
        self.junk_start = start

    def _close_junk(self, follows: bool) -> None:
        """Tell the rest of the pending junk (``follows``: something is after it on its line)."""
        start = self.junk_start
        if start is None:
            return
        if not self.junk_skip and self.junk_end > start:
            self._tell(start, self.junk_end, self.junk_mid, follows)
        self.junk_start = None

    def _tell(self, start: int, end: int, mid_start: bool, mid_end: bool) -> None:
        text = self.buf.get(start, end)
        if not text.strip() or (
            # the text before a frame on its line (a log prefix): nothing to tell, most often
            mid_end and b"\n" not in text and SOH not in text and b"8=" not in text
        ):
            return
        for problem in _junk(text, start, self.buf.source, mid_start, mid_end):
            self._put(problem)

    # -- in input order ---------------------------------------------------------------------

    def _put(self, item: Found | Problem) -> None:
        self.count += 1
        entry = (item.offset, self.count, item)
        ready = self.ready
        if ready and ready[-1][0] > item.offset:  # ahead of what is waiting: rare
            bisect.insort(ready, entry)
        else:
            ready.append(entry)

    def _settled(self) -> int | None:
        """The input offset before which nothing more can be found (None: anywhere)."""
        if not self.verify:
            return None
        pos = self.framer.stream_offset
        if self.junk_start is not None:
            pos = min(pos, self.junk_start)
        return self.buf.source(pos)

    def _release(self, settled: int | None) -> Iterator[Found | Problem]:
        ready = self.ready
        count = len(ready)
        if settled is not None:
            count = bisect.bisect_left(ready, (settled,))  # those before it, in input order
        if not count:
            return
        released = ready[:count]
        del ready[:count]
        for _, _, item in released:
            if self.found:
                yield item
            elif isinstance(item, Found):
                self.found = True
                yield from self.held
                if self.unlisted:
                    first = self.unlisted[0]
                    more = self.unlisted_count - 1
                    reason = (
                        f"{first.reason}, and {more} more line(s) of text before the first "
                        "frame (not listed one by one)"
                    )
                    yield Problem(reason, first.offset, text=True)
                self.held = self.unlisted = []
                yield item
            elif len(self.held) < _HELD and not self.unlisted_count:
                self.held.append(item)
            else:  # too many to hold: other problems are told, text lines counted
                if not self.unlisted_count:
                    yield from (p for p in self.held if not p.text)
                    self.unlisted = [p for p in self.held if p.text][:1]
                    self.unlisted_count = sum(p.text for p in self.held)
                    self.held = []
                if not item.text:
                    yield item
                else:
                    self.unlisted_count += 1
                    if not self.unlisted:
                        self.unlisted = [item]

    def _drop(self) -> None:
        """Forget what can no longer be needed: the bytes before the framer's read position
        and the pending junk (but one, the byte before), the lines no frame can start on."""
        if self.verify:
            pos = self.framer.stream_offset
            if self.junk_start is not None:
                pos = min(pos, self.junk_start)
        else:
            pos = self.buf.size if self.unfinished is None else self.unfinished
        self.buf.drop(pos - 1)
        offset = self.buf.source(pos)
        lines = self.lines
        while len(lines) > 1 and lines[1][0] <= offset:
            lines.popleft()


def scan_input(stream: IO[bytes], verify: bool, max_line: int) -> Iterator[Found | Problem]:
    """What `kalshi_fix_sansio.observability.messagelog.scan_stream` yields (see it)."""
    scanner = _Scanner(verify)
    try:
        for offset, line, starts, ends in read_lines(stream, max_line, raw=True):
            yield from scanner.feed(offset, line, starts, ends)
    except LineTooLong as exc:
        reason = f"{exc.reason('a log line')}: the input is read no further (not a FIX log?)"
        yield from scanner.finish(Problem(reason, exc.offset))
        return
    yield from scanner.finish()
