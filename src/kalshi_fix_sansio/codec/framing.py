"""Sans-IO stream framer: bytes in, complete FIX frames out.

The framer never reads a socket or a clock. Feed it whatever chunks the transport delivers and
pull results with :meth:`Framer.next` (or iterate over the framer). Every consumed byte of the
stream is accounted for by exactly one result, in stream order:

* a :class:`Frame` holds one complete message, from ``8=`` to the SOH after ``10=ddd``;
* a :class:`Garbled` reports bytes that were dropped and why.

Frames are delimited by BodyLength(9) only. The framer never searches for ``10=`` to find the end
of a message, so bodies may contain SOH and ``=`` (RawData and similar fields).

Error handling:

* a frame whose boundaries are sound but whose CheckSum(10) does not match is skipped exactly;
* any other defect (wrong BeginString(8), missing or non-numeric BodyLength(9), a frame larger than
  ``max_message_size``, a body not followed by ``10=ddd<SOH>``) makes the framer resynchronise:
  it drops bytes until the next ``8=<begin_string><SOH>`` after the start of the bad frame;
* bytes that cannot start a frame are reported as junk as soon as they are seen, so memory stays
  bounded even when the peer sends garbage forever. A long run of junk that arrives over several
  feeds may therefore be reported as several adjacent :class:`Garbled` records.

Every :class:`Garbled` reason ends with ``"N bytes skipped"`` giving the exact number of bytes
dropped (``"junk before BeginString: N bytes skipped"`` for bytes that cannot start a frame,
``"<what was wrong>; N bytes skipped"`` otherwise); ``Garbled.data`` keeps at most the first 256
of them.
"""

from __future__ import annotations

import enum
import re
import zlib
from collections.abc import Iterator
from typing import Final, TypeAlias

import attrs

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "SOH",
    "Frame",
    "Framer",
    "Garbled",
    "checksum",
]

SOH: Final[bytes] = b"\x01"
"""The FIX field separator (0x01)."""

DEFAULT_MAX_MESSAGE_SIZE: Final[int] = 4 * 1024 * 1024
"""Default upper bound on the size of one frame, in bytes (large snapshots and batches fit)."""

_ADLER_CHUNK: Final = 256  # 256 * 255 < 65521: Adler-32's low half is the exact byte sum
_ADLER_ASCII_CHUNK: Final = 515  # 515 * 127 < 65521: the same for ASCII bytes (FIX in practice)
_RECORD_CAP: Final = 256  # bytes of dropped data kept in Garbled.data
_MAX_LENGTH_DIGITS: Final = 20  # BodyLength(9) digits examined before giving up on a SOH
_MAX_BEGIN_STRING: Final = 32  # BeginString(8) bytes examined to quote a wrong value
_TRAILER: Final = b"10="
_TRAILER_LEN: Final = 7  # b"10=ddd\x01"
_LENGTH_TAG: Final = b"9="
_MIN_MAX_MESSAGE_SIZE: Final = 64

_SOH_BYTE: Final = 0x01
_EMPTY: Final = b""
_adler32: Final = zlib.adler32
_DIGIT_0: Final = 0x30
_DIGIT_9: Final = 0x39
# b"ddd\x01" -> the byte sum of b"10=ddd\x01", for every three-digit CheckSum text
_TAIL_SUMS: Final = {b"%03d\x01" % i: sum(b"10=%03d\x01" % i) for i in range(1000)}
# a whole trailer b"10=ddd<SOH>" -> (ddd, the byte sum of those seven bytes) (the decoder's)
_TRAILERS: Final = {b"10=%03d\x01" % i: (i, sum(b"10=%03d\x01" % i)) for i in range(256)}


def _sound_trailers() -> tuple[tuple[bytes, ...], ...]:
    """For each value of (1 + a whole frame's byte sum) mod 256, the trailers b"10=ddd<SOH>"
    that make the frame's CheckSum right: ddd = the sum of the bytes before the trailer, so
    ddd + the trailer's own byte sum = the frame's sum (mod 256). None, one or two per value."""
    table: list[list[bytes]] = [[] for _ in range(256)]
    for c in range(256):
        trailer = b"10=%03d\x01" % c
        table[(1 + c + sum(trailer)) & 0xFF].append(trailer)
    return tuple(tuple(trailers) for trailers in table)


_SOUND_TRAILERS: Final = _sound_trailers()
# checksum -> the trailer text that carries it
_CHECKSUM_TAILS: Final = tuple(b"%03d\x01" % i for i in range(256))


def sum_sound(frame: bytes, body_end: int) -> bool:
    """Whether ``frame`` ends at ``body_end`` with its CheckSum(10) field, ``10=ddd<SOH>``
    (ddd in 000-255), and ddd is the byte sum of the bytes before that field, modulo 256: the
    whole frame summed once and the trailer's own bytes taken back out."""
    known = _TRAILERS.get(frame[body_end:])
    if known is None:
        return False
    n = len(frame)
    if n <= _ADLER_CHUNK or (n <= _ADLER_ASCII_CHUNK and frame.isascii()):
        total = _adler32(frame, 0)  # the exact byte sum (see `checksum`)
    else:
        total = checksum(frame)
    return (total - known[1]) & 0xFF == known[0]


def checksum(data: bytes | bytearray | memoryview) -> int:
    """Compute the FIX CheckSum(10) of ``data``: the sum of all bytes modulo 256.

    Uses ``zlib.adler32`` over chunks of at most 256 bytes: for such a chunk the low 16 bits of
    Adler-32 started at 0 are the exact byte sum, which is far faster than ``sum(data)``.

    Args:
        data: The bytes to sum, usually a frame up to and including the SOH before ``10=``.
            A memoryview of any format is summed over its raw bytes.

    Returns:
        The checksum, an integer in ``range(256)``.
    """
    if isinstance(data, memoryview) and (data.ndim != 1 or data.itemsize != 1):
        data = data.cast("B")
    n = len(data)
    if n <= _ADLER_CHUNK:
        return zlib.adler32(data, 0) & 0xFF
    ascii_only = isinstance(data, (bytes, bytearray)) and data.isascii()
    chunk = _ADLER_ASCII_CHUNK if ascii_only else _ADLER_CHUNK
    if n <= chunk:
        return zlib.adler32(data, 0) & 0xFF
    total = 0
    adler32 = zlib.adler32
    if isinstance(data, bytes):  # slices of bytes: copying a chunk costs less than a view
        for i in range(0, n, chunk):
            total += adler32(data[i : i + chunk], 0)
        return total & 0xFF
    with memoryview(data) as view:
        for i in range(0, n, chunk):
            total += adler32(view[i : i + chunk], 0)
    return total & 0xFF


def _computed_checksum(frame: bytes) -> int | None:
    """The CheckSum a whole frame should carry, or None when its trailer is not ``10=ddd<SOH>``.

    Sums the whole frame in one go, then takes the trailer's bytes back out (one table lookup,
    which also tells whether the trailer holds three digits).
    """
    digit_sum = _TAIL_SUMS.get(frame[-4:])
    if digit_sum is None:
        return None
    size = len(frame)
    if size <= _ADLER_CHUNK or (size <= _ADLER_ASCII_CHUNK and frame.isascii()):
        total = _adler32(frame, 0) & 0xFFFF
    else:
        total = checksum(frame)
    return (total - digit_sum) & 0xFF


@attrs.frozen(slots=True)
class Frame:
    """One complete FIX message cut from the stream.

    Attributes:
        data: The whole frame, from ``8=`` to the SOH after the CheckSum(10) value. Its
            BodyLength(9) and CheckSum(10) have been verified.
        offset: Stream offset of the frame's first byte, counting from the first byte ever fed.
    """

    data: bytes
    offset: int


@attrs.frozen(slots=True)
class Garbled:
    """Bytes the framer dropped, and why.

    Attributes:
        reason: Human-readable description naming the offending tag, ending with
            ``"N bytes skipped"`` where N is the exact number of bytes dropped.
        offset: Stream offset of the first dropped byte.
        data: The dropped bytes, truncated to the first 256 (the reason gives the true count).
    """

    reason: str
    offset: int
    data: bytes


class _Step(enum.Enum):
    AGAIN = 0  # state changed without producing a result: run the state machine again


_AGAIN: Final = _Step.AGAIN


# Parser states.
_START: Final = 0  # a frame must start at the read position
_LENGTH: Final = 1  # BeginString matched; reading BodyLength(9)
_BODY: Final = 2  # BodyLength known; waiting for the body and the CheckSum(10) trailer
_RESYNC: Final = 3  # dropping bytes until the next BeginString

_Result: TypeAlias = "Frame | Garbled | _Step | None"


class Framer:
    """Incremental FIX framer over a byte stream.

    Feed chunks with :meth:`feed` and drain results with :meth:`next` (or ``for item in
    framer``) after every feed. While the framer waits for more bytes it holds at most
    ``max_message_size`` bytes plus the last chunk fed. Extracting frames costs time linear in
    the number of bytes, however many frames a single chunk holds.

    Examples:
        >>> framer = Framer()
        >>> framer.feed(b"8=FIXT.1.1\\x019=5\\x0135=0\\x0110=241\\x01")
        >>> [type(item).__name__ for item in framer]
        ['Frame']
    """

    __slots__ = (
        "_base",
        "_begin_string",
        "_body_end",
        "_body_len",
        "_buf",
        "_head",
        "_head_len",
        "_max_message_size",
        "_partials",
        "_plen",
        "_pos",
        "_prefix",
        "_reason",
        "_scan",
        "_sizes",
        "_state",
        "_work",
    )

    def __init__(
        self,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        begin_string: bytes = b"FIXT.1.1",
    ) -> None:
        """Create a framer.

        Args:
            max_message_size: Largest accepted frame in bytes, from ``8=`` to the final SOH.
                A frame whose BodyLength(9) would exceed it is reported as soon as the length is
                read, without waiting for the body.
            begin_string: The expected BeginString(8) value; frames with another value are
                reported as garbled.

        Raises:
            ValueError: If ``max_message_size`` is below 64, or ``begin_string`` is empty,
                longer than 32 bytes, or contains SOH or ``=``.
        """
        if max_message_size < _MIN_MAX_MESSAGE_SIZE:
            raise ValueError(
                f"max_message_size must be at least {_MIN_MAX_MESSAGE_SIZE}, got {max_message_size}"
            )
        if (
            not begin_string
            or len(begin_string) > _MAX_BEGIN_STRING
            or SOH in begin_string
            or b"=" in begin_string
        ):
            raise ValueError(f"invalid begin_string: {begin_string!r}")
        self._max_message_size = max_message_size
        self._begin_string = bytes(begin_string)
        self._prefix = b"8=" + self._begin_string + SOH
        self._plen = len(self._prefix)
        # the fast path's frame start: the prefix, BodyLength(9)'s digits (a group) and SOH
        self._head = re.compile(
            re.escape(self._prefix + _LENGTH_TAG) + b"([0-9]{1,%d})\x01" % _MAX_LENGTH_DIGITS
        ).match
        # the heads with a three-digit BodyLength the pattern matched -> their frame's size
        self._head_len = self._plen + len(_LENGTH_TAG) + 4
        self._sizes: dict[bytes, int] = {}
        # _partials[k] is the first k bytes of the prefix (k < len(prefix)).
        self._partials = tuple(self._prefix[:k] for k in range(self._plen))
        # the bytes fed and not yet consumed: a bytes chunk fed while nothing was buffered is
        # kept as it is (frames are sliced from it); a bytearray once a chunk must be appended
        self._buf: bytes | bytearray = _EMPTY
        self._pos = 0  # read position in _buf; bytes before it are consumed
        self._base = 0  # stream offset of _buf[0]
        self._state = _START
        # Offsets below are relative to _pos, which stays at the frame start while a frame is
        # parsed, so compaction (which moves _buf and _pos together) never invalidates them.
        self._scan = 0  # _LENGTH: next byte to search for SOH; _RESYNC: where the search starts
        self._body_end = 0  # _BODY: offset of the first trailer byte
        self._body_len = 0  # _BODY: the BodyLength(9) value
        self._reason: str | None = None  # _RESYNC: why the first dropped byte is bad
        # Bytes copied, moved or scanned; exposed for the linear-cost tests only.
        self._work = 0

    @property
    def buffered(self) -> int:
        """Number of bytes fed but not yet consumed by a returned result."""
        return len(self._buf) - self._pos

    @property
    def stream_offset(self) -> int:
        """Total number of bytes consumed so far (the offset of the next unconsumed byte)."""
        return self._base + self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Buffer a chunk of the stream.

        Args:
            data: The next bytes received, of any length (an empty chunk is a no-op). A
                bytearray or memoryview is copied, so the caller may reuse its buffer; a bytes
                chunk (immutable) may be kept as it is.
        """
        if isinstance(data, memoryview):
            if data.nbytes == 0:
                return
        elif not data:
            return
        buf = self._buf
        pos = self._pos
        if pos == len(buf):
            # nothing buffered (the common case): the chunk becomes the buffer, a bytes chunk
            # without a copy (frames are then sliced from it once, not copied in and out)
            self._base += pos
            self._pos = 0
            self._buf = data if type(data) is bytes else bytes(data)
            return
        if type(buf) is bytes:  # a chunk taken whole, with bytes left in it (a frame cut short)
            rest = len(buf) - pos
            self._work += rest
            self._base += pos
            self._pos = 0
            if type(data) is bytes and rest <= len(data):
                # the cut frame's start joins the next chunk: a copy no larger than the chunk
                self._buf = buf[pos:] + data
                return
            self._buf = grown = bytearray(buf[pos:] if pos else buf)  # a long frame: grow
            grown += data
            return
        if pos:
            self._compact()
        buf += data

    def feed_whole(self, data: bytes) -> bytes | None:
        """`feed` then `next_whole`, in one call (a reader's common case: nothing buffered, a
        bytes chunk taken as the buffer, as `feed` takes it; any other chunk through `feed`).

        Returns:
            What `next_whole` returns after the chunk is fed: ``data`` itself when it is one
            whole, well-formed frame and nothing was buffered before it.
        """
        pos = self._pos
        if pos == len(self._buf) and type(data) is bytes and data:  # `feed`'s first case
            self._base += pos
            self._pos = 0
            self._buf = data
        else:
            self.feed(data)
        return self.next_whole()

    def take_whole(self, data: bytes) -> bool:
        """Whether ``data``, read while nothing is buffered, is one whole, well-formed frame
        with a head seen before (BeginString and a three-digit BodyLength): then it is
        consumed, as `feed_whole` consumes it when it returns ``data`` itself. False: nothing
        was done (call `feed_whole`, which reads the chunk the general way).

        The same checks as `next_whole`'s (the size the head gives, the bound, the CheckSum)
        for the one case of a reader's chunk that is a frame, in one call rather than two.
        """
        buf = self._buf
        if self._pos != len(buf) or self._state == _RESYNC or type(data) is not bytes:
            return False
        size = self._sizes.get(data[: self._head_len], -1)  # -1: a head not seen before
        if size != len(data) or size > self._max_message_size:
            return False
        if size <= _ADLER_CHUNK or (size <= _ADLER_ASCII_CHUNK and data.isascii()):
            sound = _SOUND_TRAILERS[_adler32(data) & 0xFF]
        else:
            sound = _SOUND_TRAILERS[(checksum(data) + 1) & 0xFF]
        if not data.endswith(sound):
            return False
        self._work += size
        self._state = _START
        self._base += len(buf) + size
        self._buf = _EMPTY
        self._pos = 0
        return True

    def next(self) -> Frame | Garbled | None:
        """Return the next result from the buffered bytes.

        Returns:
            A :class:`Frame`, a :class:`Garbled` record, or ``None`` when more data is needed.
        """
        if self._pos == len(self._buf):
            return None  # nothing buffered (the common case after the last whole frame)
        if self._state != _RESYNC:  # fast path: a whole, well-formed frame at the read position
            offset = self._base + self._pos
            data = self.next_whole()
            if data is not None:
                return Frame(data, offset)
        while True:
            state = self._state
            item: _Result
            if state == _RESYNC:
                item = self._resync()
            else:
                item = self._frame()
            if item is _AGAIN:
                continue
            if self._pos << 1 > len(self._buf):
                self._compact()
            return item

    def next_whole(self) -> bytes | None:
        """Return the next frame's bytes when a whole, well-formed frame is at the read position.

        The fast path of :meth:`next`, without a :class:`Frame` object: for a caller that only
        needs the bytes. ``None`` means "call :meth:`next`": more data is needed, or the bytes at
        the read position need the full state machine (a defect, a partial frame, resync), which
        then reports exactly what is wrong.

        Returns:
            The frame (BeginString, BodyLength and CheckSum verified), or ``None``.
        """
        # While a frame is parsed (_LENGTH, _BODY) the read position stays at its start, so a
        # frame completed by the latest feed is taken whole from there too.
        if self._state == _RESYNC:
            return None
        buf = self._buf
        pos = self._pos
        # a head seen before (BeginString, a three-digit BodyLength, SOH: the same bytes the
        # pattern below matched then) -> the size it gives; else the pattern reads it
        size = self._sizes.get(buf[pos : pos + self._head_len]) if type(buf) is bytes else None
        if size is None:
            head = self._head(buf, pos)  # BeginString, then BodyLength: 1 to 20 digits and SOH
            if head is None:
                return None
            at = head.end()
            size = at - pos + int(head[1]) + _TRAILER_LEN
            if at - pos == self._head_len and type(buf) is bytes:  # at most 1,000 such heads
                self._sizes[buf[pos:at]] = size
        end = pos + size
        n = len(buf)
        if end > n or size > self._max_message_size:
            return None
        if type(buf) is bytes:  # a chunk fed whole: the frame is the chunk, or one slice of it
            data = buf if size == n else buf[pos:end]
        else:
            data = bytes(buf) if size == n else bytes(buf[pos:end])  # the whole buffer: one copy
        # the CheckSum, inline: the whole frame's byte sum (plus one) from Adler-32's low half
        # (started at 1; exact up to 256 bytes, or 515 ASCII ones) names the trailers that
        # make the frame sound, and one endswith tells whether it ends with one of them
        if size <= _ADLER_CHUNK or (size <= _ADLER_ASCII_CHUNK and data.isascii()):
            sound = _SOUND_TRAILERS[_adler32(data) & 0xFF]
        else:
            sound = _SOUND_TRAILERS[(checksum(data) + 1) & 0xFF]
        if not data.endswith(sound):
            return None  # the general path reports the defect (trailer or CheckSum mismatch)
        self._work += size
        self._state = _START
        if end == n:  # nothing after it (one frame per read): the buffer starts again empty
            self._buf = _EMPTY
            self._base += end
            self._pos = 0
        else:
            self._pos = end
            if end << 1 > n:
                self._compact()
        return data

    def __iter__(self) -> Iterator[Frame | Garbled]:
        """Drain the buffered results by calling :meth:`next` until it returns ``None``.

        Yields:
            Each :class:`Frame` or :class:`Garbled` result, in stream order.
        """
        while True:
            item = self.next()
            if item is None:
                return
            yield item

    # -- internals ---------------------------------------------------------------------------

    def _compact(self) -> None:
        pos = self._pos
        buf = self._buf
        self._work += len(buf) - pos
        if isinstance(buf, bytearray):
            del buf[:pos]
        else:
            self._buf = buf[pos:]
        self._base += pos
        self._pos = 0

    def _frame(self) -> _Result:
        """Parse the frame starting at the read position (states _START, _LENGTH, _BODY)."""
        buf = self._buf
        pos = self._pos
        n = len(buf)
        state = self._state
        if state == _START:
            if not buf.startswith(self._prefix, pos):
                return self._not_a_frame_start()
            state = self._state = _LENGTH
            self._scan = self._plen + 2
        if state == _LENGTH:
            tag_start = pos + self._plen
            if n < tag_start + 2:
                return None
            if not buf.startswith(_LENGTH_TAG, tag_start):
                got = bytes(buf[tag_start : tag_start + 2])
                return self._error(
                    f"BodyLength(9) missing: second field starts with {got!r}, expected b'9='"
                )
            digits_start = tag_start + 2
            limit = digits_start + _MAX_LENGTH_DIGITS + 1
            scan = pos + self._scan
            soh = buf.find(SOH, scan, limit)
            if soh < 0:
                if n >= limit:
                    self._work += limit - scan
                    return self._error(
                        f"BodyLength(9) has no SOH within {_MAX_LENGTH_DIGITS} digits: "
                        f"{bytes(buf[digits_start : limit - 1])!r}"
                    )
                self._work += n - scan
                self._scan = n - pos
                return None
            self._work += soh - scan
            digits = buf[digits_start:soh]
            if not digits.isdigit():
                return self._error(f"BodyLength(9) is not a number: {bytes(digits)!r}")
            body_len = int(digits)
            body_end = soh + 1 - pos + body_len
            size = body_end + _TRAILER_LEN
            if size > self._max_message_size:
                return self._error(
                    f"frame of {size} bytes exceeds max_message_size {self._max_message_size}"
                )
            self._body_end = body_end
            self._body_len = body_len
            self._state = _BODY
        # _BODY
        body_end = pos + self._body_end
        end = body_end + _TRAILER_LEN
        if n < end:
            if n > body_end:
                problem = self._trailer_problem(body_end, n)
                if problem is not None:
                    return self._error(problem)
            return None
        if not (
            buf.startswith(_TRAILER, body_end)
            and buf[end - 1] == _SOH_BYTE
            and buf[body_end + 3 : end - 1].isdigit()
        ):
            problem = self._trailer_problem(body_end, end)
            assert problem is not None
            return self._error(problem)
        size = end - pos
        data = bytes(buf[pos:end])
        self._work += size
        self._state = _START
        computed = _computed_checksum(data)
        assert computed is not None  # the trailer was checked above: three digits
        if _CHECKSUM_TAILS[computed] != data[-4:]:
            reason = f"CheckSum(10) is {data[-4:-1].decode('ascii')}, computed {computed:03d}"
            return self._drop(size, reason)
        self._pos = end
        return Frame(data, self._base + pos)

    def _trailer_problem(self, body_end: int, stop: int) -> str | None:
        """Check the trailer bytes in ``[body_end, stop)``; describe the first defect found."""
        buf = self._buf
        for k in range(body_end, min(stop, body_end + _TRAILER_LEN)):
            i = k - body_end
            c = buf[k]
            if i < 3:
                if c != _TRAILER[i]:
                    return (
                        f"BodyLength(9) says {self._body_len} but the body is not followed by "
                        f"CheckSum(10)"
                    )
            elif i < 6:
                if not _DIGIT_0 <= c <= _DIGIT_9:
                    got = bytes(buf[body_end + 3 : k + 1])
                    return f"CheckSum(10) is not three digits: {got!r}"
            elif c != _SOH_BYTE:
                got = bytes(buf[body_end + 3 : k + 1])
                return f"CheckSum(10) is not terminated by SOH: {got!r}"
        return None

    def _not_a_frame_start(self) -> _Result:
        """Handle a read position (state _START) that does not hold the full prefix."""
        buf = self._buf
        pos = self._pos
        n = len(buf)
        avail = n - pos
        if avail < self._plen and buf.startswith(self._partials[avail], pos):
            return None  # a partial prefix: the next feed may complete it
        if buf.startswith(b"8=", pos):
            value_start = pos + 2
            limit = value_start + _MAX_BEGIN_STRING
            soh = buf.find(SOH, value_start, limit)
            if soh < 0:
                if n < limit:
                    return None  # wait for the SOH to quote the whole value
                value = buf[value_start:limit].decode("latin-1")
                return self._error(
                    f"BeginString(8) is {value!r}... (no SOH within {_MAX_BEGIN_STRING} bytes), "
                    f"expected {self._begin_string.decode('latin-1')!r}"
                )
            value = buf[value_start:soh].decode("latin-1")
            return self._error(
                f"BeginString(8) is {value!r}, expected {self._begin_string.decode('latin-1')!r}"
            )
        return self._error(None)

    def _error(self, reason: str | None) -> _Step:
        """Start resynchronising: the frame at the read position is bad (None: junk)."""
        self._state = _RESYNC
        self._reason = reason
        self._scan = 1
        return _AGAIN

    def _resync(self) -> _Result:
        """Drop bytes until the next frame start (state _RESYNC)."""
        buf = self._buf
        pos = self._pos
        n = len(buf)
        start = pos + self._scan
        found = buf.find(self._prefix, start)
        if found >= 0:
            self._work += found - start
            end = found
        else:
            self._work += n - start
            end = n - self._partial_tail(start, n)
        reason = self._reason
        if end > pos:
            item: _Result = self._drop(end - pos, reason)
        else:
            item = _AGAIN if found >= 0 else None
        if found >= 0:
            self._state = _START
        else:
            self._reason = None
            self._scan = 0
        return item

    def _partial_tail(self, start: int, n: int) -> int:
        """Length of the longest suffix of ``buf[start:n]`` that is a proper prefix start."""
        buf = self._buf
        first = max(start, n - (self._plen - 1))
        p = buf.find(b"8", first, n)
        while p >= 0:
            if buf.startswith(self._partials[n - p], p):
                return n - p
            p = buf.find(b"8", p + 1, n)
        return 0

    def _drop(self, length: int, reason: str | None) -> Garbled:
        """Consume ``length`` bytes at the read position and report them (None: junk)."""
        pos = self._pos
        kept = min(length, _RECORD_CAP)
        self._work += kept
        item = Garbled(
            f"junk before BeginString: {length} bytes skipped"
            if reason is None
            else f"{reason}; {length} bytes skipped",
            self._base + pos,
            bytes(self._buf[pos : pos + kept]),
        )
        self._pos = pos + length
        return item
