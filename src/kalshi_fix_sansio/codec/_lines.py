"""Reading an input's lines within a bound: what the message-log reader and recordings share.

Private: `kalshi_fix_sansio.observability.messagelog` (what ``kalshi-fix decode``, ``kalshi-fix replay`` and
`kalshi_fix_sansio.client.restore` read) and `kalshi_fix_sansio.simulator.data.recording` (a replay's market data)
read their input with `read_lines`, and export `MAX_LINE_BYTES`. A line ends at ``\\n``,
``\\r`` or ``\\r\\n`` (as `bytes.splitlines`) and is read a block at a time, so that memory
stays at one line however large the input; a line longer than the bound is refused
(`LineTooLong`) once that many bytes of it are read, never read whole (``/dev/zero`` is one
endless line). A raw FIX stream has no line ends at all: the message-log reader asks for such a
line (it holds SOH) in pieces instead, each cut where a frame starts (or after an SOH).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from typing import IO, Final

from .framing import DEFAULT_MAX_MESSAGE_SIZE, SOH

__all__ = [
    "MAX_LINE_BYTES",
    "LineTooLong",
    "NotASmallFile",
    "Piece",
    "log_line",
    "read_lines",
    "read_small_file",
]

MAX_LINE_BYTES: Final = 4 * DEFAULT_MAX_MESSAGE_SIZE + 4096
"""The longest line a message log (or a recording) may have, line end included: 16 MiB +
4 KiB, room for the largest frame a session accepts (4 MiB) with every byte written as
``\\xNN``, after the time, the direction and the session id. A longer line is refused, read no
further than this (a raw FIX stream without line ends is read in pieces instead, by the
message-log reader)."""

# a message-log line's head: time, direction, session id, then the frame from its "8=" (only
# the head is matched: the frame is sliced off, not scanned by the pattern)
_LOG_HEAD: Final = re.compile(rb"(\S+) (IN|OUT) (\S+) 8=")

_BLOCK: Final = 64 * 1024  # bytes read at a time (a line is joined once it ends)
_FRAME_START: Final = SOH + b"8=FIX"

Piece = tuple[int, bytes, bool, bool]
"""(input offset, bytes, starts a line, ends a line): whole lines (both true: one or more), or a
piece of a raw line cut where it is too long."""


class LineTooLong(Exception):
    """A line longer than the bound (`read_lines` read no further).

    Attributes:
        offset: the input offset where the line starts (for a raw line read in pieces, where
            the part without an SOH to cut at starts).
        max_line: the bound.
    """

    def __init__(self, offset: int, max_line: int) -> None:
        super().__init__(offset, max_line)
        self.offset = offset
        self.max_line = max_line

    def reason(self, what: str) -> str:
        """The problem in words: ``what`` names the input's kind (``"a recording line"``)."""
        return f"the line is longer than {self.max_line:,} bytes, the longest {what} may be"


def read_lines(
    stream: IO[bytes], max_line: int = MAX_LINE_BYTES, *, raw: bool = False
) -> Iterator[Piece]:
    """The lines of ``stream`` (a binary file, pipe or stdin's buffer), read 64 KiB at a time
    (``read1`` where the stream has it: what a pipe holds is taken without waiting for more).

    Args:
        stream: what to read.
        max_line: the longest line, in bytes (line end included).
        raw: a longer line that holds SOH (a raw FIX stream without line ends) comes in pieces
            instead of being refused: each cut just before a frame's ``8=FIX``, else just after
            an SOH.

    Yields:
        `Piece` tuples in input order: runs of whole lines, and the pieces ``raw`` cuts.

    Raises:
        LineTooLong: a line longer than ``max_line`` (with ``raw``, a part of one without an
            SOH where it would be cut), after reading at most ``max_line`` + 64 KiB of it.
    """
    read = getattr(stream, "read1", None) or stream.read
    held: list[bytes] = []  # the start of a line not ended yet
    size = 0
    offset = 0  # the input offset of held[0]
    starts = True  # held starts a line (False: the rest of a raw line already cut)
    soh = False  # held holds SOH: a raw line, cut as it comes (with ``raw``)
    while True:
        block = read(_BLOCK)
        if not block:
            if held:
                data = b"".join(held)
                yield from _lines(data, offset, starts, max_line, max_line, raw, ended=True)
            return
        # the end of the last line ended here (a last \r may be a \r\n's first half)
        end = max(block.rfind(b"\n"), block.rfind(b"\r", 0, len(block) - 1)) + 1
        if end:
            data = b"".join([*held, block[:end]]) if held else block[:end]
            yield from _lines(data, offset, starts, max_line, max_line, raw, ended=True)
            offset += len(data)
            starts = True
            rest = block[end:]
            held, size, soh = [rest], len(rest), raw and SOH in rest
            continue
        held.append(block)
        size += len(block)
        soh = soh or (raw and SOH in block)
        if size > max_line or (soh and size > _BLOCK):  # refused, or a raw line cut
            data = b"".join(held)
            limit = _BLOCK if soh else max_line
            done = 0
            for piece in _lines(data, offset, starts, max_line, limit, raw, ended=False):
                yield piece
                done += len(piece[1])
                starts = piece[3]
            offset += done
            rest = data[done:]
            held, size = [rest], len(rest)


def _lines(
    data: bytes,
    offset: int,
    starts: bool,
    max_line: int,
    limit: int,
    raw: bool,
    *,
    ended: bool,
) -> Iterator[Piece]:
    """The lines of ``data``, a raw one in pieces where it is too long. Unless ``ended``, its
    last line goes on (or its \\r may be a \\r\\n's): it is kept back (not yielded), but
    for the pieces a raw one is cut in past ``limit`` bytes."""
    if ended and starts and len(data) <= max_line:
        yield offset, data, True, True  # whole lines, none too long: most of them
        return
    lines = data.splitlines(keepends=True)
    last = len(lines) - 1
    for number, line in enumerate(lines):
        going_on = not ended and number == last
        longest = limit if going_on else max_line
        while len(line) > longest:
            cut = _cut(line, longest) if raw else 0
            if not cut:
                if len(line) > max_line:
                    raise LineTooLong(offset, max_line)
                break
            yield offset, line[:cut], starts, False
            offset += cut
            starts = False
            line = line[cut:]
        if going_on:
            return
        yield offset, line, starts, True
        offset += len(line)
        starts = True


def _cut(line: bytes, max_line: int) -> int:
    """Where a raw line is cut (0: it holds no SOH there): before the last frame start within
    the bound, else after its last SOH."""
    at = line.rfind(_FRAME_START, 0, max_line)
    if at >= 0:
        return at + 1
    return line.rfind(SOH, 0, max_line) + 1


def log_line(raw: bytes) -> tuple[bytes, bytes, bytes, bytes] | None:
    """A message-log line's (time, direction, session id, frame): the frame is the rest of the
    line from its ``8=``, one line end (``\\r\\n``, ``\\n`` or ``\\r``) taken off; None when
    ``raw`` is not such a line. (What the pattern ``(\\S+) (IN|OUT) (\\S+) (8=.*?)\\r?\\n?\\Z``
    matches, without scanning the frame a character at a time: about five times faster.)"""
    m = _LOG_HEAD.match(raw)
    if m is None:
        return None
    frame = raw[m.end() - 2 :]
    if frame.endswith(b"\n"):
        frame = frame[:-1]
    if frame.endswith(b"\r"):
        frame = frame[:-1]
    stamp, direction, session = m.groups()
    return stamp, direction, session, frame


class NotASmallFile(ValueError):
    """`read_small_file` refused the file: it is not a regular file, or is over the bound
    (the text says which, without the path: the caller names it)."""


def read_small_file(path: str, limit: int) -> bytes:
    """The whole of a small regular file (a key, a halt record), never waiting nor reading
    more than ``limit`` + 1 bytes: opened non-blocking (a FIFO without a writer is not waited
    on), its kind checked on the open descriptor (a device such as ``/dev/zero``, a pipe, a
    directory or a socket is refused unread).

    Raises:
        NotASmallFile: not a regular file, or more than ``limit`` bytes.
        OSError: it cannot be opened or read (``FileNotFoundError``, ``PermissionError``, ...).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = {
                "d": "a directory",
                "c": "a character device",
                "b": "a block device",
                "p": "a pipe (FIFO)",
                "s": "a socket",
            }.get(stat.filemode(mode)[0], "not a file")
            raise NotASmallFile(f"not a regular file but {kind}")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise NotASmallFile(f"over {limit:,} bytes")
    return b"".join(chunks)
