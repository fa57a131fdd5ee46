"""The file format of `FileStore <kalshi_fix_sansio.session.filestore.FileStore>`'s log: records, how
one is written, parsed and found again after damage, and the raw file writes and reads.

Private: `kalshi_fix_sansio.session.filestore` holds the store (opening, locking, replaying and
compacting the log) on this format.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib

from .store import MAX_SEQ

# --------------------------------------------------------------------------------------------
# FileStore: the log format
#
#   file    := HEADER record*
#   HEADER  := "KFIXLOG\n" u32 version(=1) u32 flags(=0)                        16 bytes
#   record  := MARK u32 crc u32 length u32 position payload                     16 + length
#   payload := u8 kind u32 generation u64 next_sender u64 next_target body      21 + body
#   body    := MESSAGE: u64 seq f64 time frame | RESET: f64 time | PRUNE: f64 cutoff
#              SENDER_SEQ, TARGET_SEQ: empty
#
# All integers big-endian. crc = CRC-32 of the bytes from `length` to the end of the record;
# position = the record's own byte offset in the file (mod 2**32). Every record carries the whole
# sequence state as it is *after* the record (next_sender, next_target, and the generation, which
# RESET increments), so the last valid record of the log alone gives the sequence numbers.

_MAGIC = b"KFIXLOG\n"
_VERSION = 1
_HEADER = _MAGIC + struct.pack(">II", _VERSION, 0)
_MARK = b"\xc5\xd2\x8f\x5a"  # never in a FIX frame's ASCII; helps find records after damage
_REC = struct.Struct(">4sIII")  # mark, crc, payload length, position
_STATE = struct.Struct(">BIQQ")  # kind, generation, next sender seq, next target seq
_HEAD = struct.Struct(">4sIIIBIQQ")  # _REC + _STATE in one go
_CRC = struct.Struct(">I")
_CRC_COVERED = struct.Struct(">IIBIQQ")  # length, position + _STATE: the header part the CRC covers
_MSG = struct.Struct(">Qd")  # seq, time
_F64 = struct.Struct(">d")
_U32 = 0xFFFFFFFF

MESSAGE = 1
SENDER_SEQ = 2
TARGET_SEQ = 3
RESET = 4
PRUNE = 5

_FIXED = _REC.size + _STATE.size  # 37: a SENDER_SEQ / TARGET_SEQ record
_MSG_FIXED = _FIXED + _MSG.size  # 53: a MESSAGE record without its frame
_MAX_FRAME = _U32 - _STATE.size - _MSG.size
_BASE_LIVE = len(_HEADER) + _FIXED  # a compacted log with no message: header + state record


def _record(pos: int, kind: int, gen: int, sender: int, target: int, body: bytes = b"") -> bytes:
    head = _CRC_COVERED.pack(_STATE.size + len(body), pos & _U32, kind, gen, sender, target)
    return b"".join((_MARK, _CRC.pack(zlib.crc32(body, zlib.crc32(head))), head, body))


def _message_record(pos: int, gen: int, target: int, seq: int, when: float, frame: bytes) -> bytes:
    return _record(pos, MESSAGE, gen, seq + 1, target, _MSG.pack(seq, when) + frame)


def _parse(data: bytes, view: memoryview, off: int) -> tuple[int, int, int, int, int] | None:
    """The record at ``off`` as (kind, generation, sender, target, end), or None if invalid."""
    n = len(data)
    if n - off < _FIXED:
        return None
    mark, crc, length, pos, kind, gen, sender, target = _HEAD.unpack_from(data, off)
    end = off + _REC.size + length
    if mark != _MARK or pos != off & _U32 or end > n or length < _STATE.size:
        return None
    extra = length - _STATE.size
    if kind == MESSAGE:
        if extra < _MSG.size or _MSG.unpack_from(data, off + _FIXED)[0] < 1:
            return None
    elif kind == SENDER_SEQ or kind == TARGET_SEQ:
        if extra:
            return None
    elif kind == RESET or kind == PRUNE:
        if extra != _F64.size:
            return None
    else:
        return None
    if not (0 < sender <= MAX_SEQ and 0 < target <= MAX_SEQ):
        return None
    if zlib.crc32(view[off + 8 : end]) != crc:
        return None
    return kind, gen, sender, target, end


def _resync(data: bytes, view: memoryview, start: int) -> int:
    """Offset of the next valid record at or after ``start``, or -1."""
    off = data.find(_MARK, start)
    while off >= 0:
        if _parse(data, view, off) is not None:
            return off
        off = data.find(_MARK, off + 1)
    return -1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - regular files do not do this
            raise OSError(28, "short write")
        view = view[written:]


if hasattr(os, "pread"):

    def _pread(fd: int, length: int, offset: int) -> bytes:
        return os.pread(fd, length, offset)

else:  # pragma: no cover - Windows

    def _pread(fd: int, length: int, offset: int) -> bytes:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, length)


def _fsync_dir(path: str) -> None:
    if sys.platform == "win32":  # pragma: no cover - directories cannot be fsynced there
        return
    dfd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
