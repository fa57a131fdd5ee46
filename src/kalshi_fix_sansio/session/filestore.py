"""`FileStore`: the session's sequence numbers and resend messages in an append-only log on disk.

It survives restarts and a process killed at any instant (SIGKILL in the middle of a write), and
optionally power loss (``fsync=True``). Like the rest of the core it does no networking and reads
no clock: every call that records a time takes it as an argument. The crash guarantees are
described here and in ``docs/stores.md``, the file format there and in the private module that
writes and parses its records (``_filelog``); `kalshi_fix_sansio.session.store` has the `MessageStore`
protocol and `MemoryStore`.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from ..codec.errors import LocalProtocolError
from ._filelog import (
    _BASE_LIVE,
    _F64,
    _FIXED,
    _HEADER,
    _MAGIC,
    _MAX_FRAME,
    _MSG,
    _MSG_FIXED,
    _REC,
    _STATE,
    _U32,
    _VERSION,
    MESSAGE,
    PRUNE,
    RESET,
    SENDER_SEQ,
    TARGET_SEQ,
    _fsync_dir,
    _message_record,
    _parse,
    _pread,
    _record,
    _resync,
    _write_all,
)
from .store import (
    MAX_SEQ,
    StoreError,
    _check_bound,
    _check_frame,
    _check_seq,
    _check_time,
    _Index,
)

if sys.platform != "win32":
    import fcntl

__all__ = ["FileStore", "Recovery", "make_store_dir"]

_TMP_SUFFIX = ".compact-tmp"
_O_BINARY: int = getattr(os, "O_BINARY", 0)
_DIR_MODE = 0o700  # a directory made for store files: its owner's only, like the files (0600)


def make_store_dir(path: str | os.PathLike[str]) -> Path:
    """Create the directory ``path`` for store files, with its missing parents.

    Every directory it creates is its owner's only, mode 0700 whatever the umask (the files a
    `FileStore` creates in it are 0600): the store holds the account's order flow, and in a
    directory others may write to, its files could be replaced. A directory that already
    exists, ``path`` or a parent, keeps its mode (it is the user's, maybe shared on purpose:
    tighten it with ``chmod 700``), as does one another process creates meanwhile.

    Args:
        path: the directory.

    Returns:
        ``path``, as a `Path`.

    Raises:
        FileExistsError: ``path`` or a parent exists and is not a directory (the error names
            it).
        OSError: a directory cannot be created, e.g. `PermissionError` (the error names it).
    """
    target = Path(path)
    missing: list[Path] = []
    here = target
    while not here.is_dir():  # a symlink to a directory is one
        if here.exists() or here.is_symlink():  # a file, or a dangling link, is in the way
            raise FileExistsError(
                errno.EEXIST, "exists and is not a directory: cannot hold store files", str(here)
            )
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, _DIR_MODE)
        except FileExistsError:
            if not directory.is_dir():
                raise
            continue  # made meanwhile by another process: theirs, left as it is
        # the umask only takes bits away from 0700: put back an owner bit it took
        if os.name == "posix" and stat.S_IMODE(os.stat(directory).st_mode) != _DIR_MODE:
            os.chmod(directory, _DIR_MODE)
    return target


@dataclass(frozen=True)
class Recovery:
    """What `FileStore` found in its log when it opened it.

    Attributes:
        created: the file did not exist or was empty, and a new store was written.
        records: how many valid records were replayed.
        truncated_at: byte offset where a torn or invalid tail was cut off, or None.
        truncated_bytes: how many bytes were cut off there (0 when the log ended cleanly).
        skipped: ``(offset, length)`` of each damaged region *inside* the log that replay
            skipped to resynchronise on the next valid record (never happens after a crash;
            means the file was damaged on disk or edited).
    """

    created: bool = False
    records: int = 0
    truncated_at: int | None = None
    truncated_bytes: int = 0
    skipped: tuple[tuple[int, int], ...] = ()

    @property
    def clean(self) -> bool:
        """True when the log was read to its end without cutting or skipping anything."""
        return self.truncated_bytes == 0 and not self.skipped


class FileStore:
    """A durable message store: an append-only, CRC-checked log file.

    Every change is one record appended with a single unbuffered ``os.write`` on an
    ``O_APPEND`` descriptor: `save` writes one MESSAGE record (the frame *and* the new next
    sender seq), `set_next_sender_seq` / `set_next_target_seq` a SENDER_SEQ / TARGET_SEQ record
    (nothing when the value does not change), `reset` a RESET record, `prune` a PRUNE record
    (only when it drops something). Every record also carries the complete sequence state, so
    the last valid record alone tells the sequence numbers.

    Crash guarantees:

    * **Process killed at any point** (SIGKILL, OOM, crash): a completed call is never lost,
      because its bytes are in the kernel once ``os.write`` returns. A kill during a write leaves
      at most one torn record at the end of the log; opening the store truncates the log to the
      last valid record. That can only lose the call that was in progress, whose message the
      session had not put on the wire yet (it saves before queuing the bytes). Therefore
      `next_sender_seq` after a restart is always greater than every seq handed out by a
      completed `save` / `set_next_sender_seq`: no sequence number is ever reused.
    * **Power loss / kernel crash**: only with ``fsync=True``, which calls ``os.fsync`` after
      every record. That costs one disk flush per call: from ~0.05 ms on NVMe with a write
      cache to 5-20 ms on spinning or network disks, for every outbound message *and* every
      inbound one (the target seq moves on each). Without it, a power cut can lose the last
      seconds of records (the OS flushes dirty pages every ~5-30 s).
    * **Damaged file** (bit rot, an edit): an invalid record in the middle of the log is
      skipped: replay searches for the next valid record (its marker, its own file offset and
      its CRC must all match, so bytes inside a stored frame are never mistaken for a record)
      and goes on from there. Only the damaged records are lost, and since every record carries
      the full sequence state, the sequence numbers come from the last valid record. What was
      cut or skipped is reported in `recovery`.

    Compaction: once the log is at least ``compact_bytes`` long *and* at least twice the size
    of its live content (header, one state record, the stored messages), the next write is
    followed by a compaction: the live content is written to ``<path>.compact-tmp`` in the same
    directory, fsynced, renamed over the log with ``os.replace`` (atomic) and the directory is
    fsynced. A kill at any moment leaves either the old or the new log complete (a stale
    temporary file is removed on the next open). A failed automatic compaction never fails the
    call that triggered it (that record is already written): the error is kept in
    `compaction_error` and compaction is retried once the log has doubled.

    The store takes an exclusive ``flock`` on the file (POSIX): a second `FileStore` on the same
    file, in this process or another, raises `StoreError` instead of silently sharing sequence
    numbers. The whole log is read once at open; after that `get` reads frames with
    ``os.pread`` from an in-memory index of record offsets.

    Attributes:
        recovery: what opening the log found (`Recovery`).
        compaction_error: the error of the last failed automatic compaction, or None.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: bool = False,
        compact_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        """Open the store at ``path``, creating it if missing, and replay its log.

        Args:
            path: the log file. Its directory must exist (`make_store_dir` creates one, mode
                0700); the file is created (mode 0o600) if missing. A symlink is followed
                (compaction replaces its target).
            fsync: ``os.fsync`` after every record, for durability across power loss.
            compact_bytes: compact the log once it reaches this size (and at least twice its
                live content); 0 turns automatic compaction off (`compact` still works).

        Raises:
            StoreError: ``path`` is a directory, its directory does not exist, the file is not
                a store (bad header: the error gives the byte offset), its version is not
                supported, permission is denied, or another `FileStore` holds it.
            LocalProtocolError: ``compact_bytes`` is negative or not an int.
        """
        self._fd = -1
        self._path = Path(path)
        self._real = os.path.realpath(os.fspath(path))
        self._fsync = bool(fsync)
        self._compact_bytes = _check_bound("compact_bytes", compact_bytes)
        self._compact_at = self._compact_bytes
        self._sender = 1
        self._target = 1
        self._gen = 0
        self._index: _Index[tuple[int, int, int]] = _Index()  # frame offset, length, record size
        self._live = _BASE_LIVE
        self._size = 0
        self._failed: str | None = None
        self.compaction_error: StoreError | None = None
        self.recovery = Recovery()
        if os.path.isdir(self._real):
            raise StoreError(
                f"{self._path} is a directory; give the path of a store file inside it",
                path=self._path,
            )
        parent = os.path.dirname(self._real) or "."
        if not os.path.isdir(parent):
            raise StoreError(
                f"{self._path}: directory {parent} does not exist; create it first",
                path=self._path,
            )
        fd = self._open_locked()
        try:
            self._fd = fd
            self._remove_stale_tmp()
            self._replay()
        except BaseException:
            self._fd = -1
            os.close(fd)
            raise

    # ------------------------------------------------------------------ opening

    def _error(self, doing: str, exc: OSError, offset: int | None = None) -> StoreError:
        reason = exc.strerror or str(exc)
        if isinstance(exc, PermissionError):
            reason += " (the store needs read and write access to the file and its directory)"
        return StoreError(f"{self._path}: cannot {doing}: {reason}", path=self._path, offset=offset)

    def _lock(self, fd: int) -> bool:
        if sys.platform == "win32":  # pragma: no cover - no flock; document single-opener use
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _open_locked(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | _O_BINARY
        for _ in range(100):
            try:
                fd = os.open(self._real, flags, 0o600)
            except IsADirectoryError:
                raise StoreError(f"{self._path} is a directory", path=self._path) from None
            except OSError as exc:
                raise self._error("open the store", exc) from exc
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise StoreError(f"{self._path} is not a regular file", path=self._path)
                if not self._lock(fd):
                    raise StoreError(
                        f"{self._path} is in use by another FileStore (in this process or "
                        "another): one session per store file",
                        path=self._path,
                    )
                try:
                    now_at = os.stat(self._real)
                except FileNotFoundError:
                    now_at = None
                if now_at is not None and (now_at.st_dev, now_at.st_ino) == (
                    st.st_dev,
                    st.st_ino,
                ):
                    return fd
            except OSError as exc:
                os.close(fd)
                raise self._error("open the store", exc) from exc
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # a compaction replaced the file between open and lock: go again
        raise StoreError(
            f"{self._path}: the file keeps being replaced; cannot lock it", path=self._path
        )

    def _remove_stale_tmp(self) -> None:
        try:
            os.unlink(self._real + _TMP_SUFFIX)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._error("remove a stale compaction file", exc) from exc

    def _read_all(self) -> bytes:
        chunks: list[bytes] = []
        offset = 0
        try:
            while True:
                chunk = _pread(self._fd, 1 << 20, offset)
                if not chunk:
                    break
                chunks.append(chunk)
                offset += len(chunk)
        except OSError as exc:
            raise self._error("read the store", exc, offset) from exc
        return b"".join(chunks)

    def _replay(self) -> None:
        data = self._read_all()
        n = len(data)
        header = len(_HEADER)
        if n < header and data == _HEADER[:n]:
            # new (or empty) file, or a creation killed before the header was complete
            try:
                if n:
                    os.ftruncate(self._fd, 0)
                _write_all(self._fd, _HEADER)
                if self._fsync:
                    os.fsync(self._fd)
                    _fsync_dir(self._real)
            except OSError as exc:
                raise self._error("initialise the store", exc) from exc
            self._size = header
            self.recovery = Recovery(created=True)
            return
        self._check_header(data)
        view = memoryview(data)
        index = self._index
        gen, sender, target = 0, 1, 1
        records = 0
        skipped: list[tuple[int, int]] = []
        pos = header
        try:
            while pos < n:
                rec = _parse(data, view, pos)
                if rec is None:
                    nxt = _resync(data, view, pos + 1)
                    if nxt < 0:
                        break  # a torn or invalid tail
                    skipped.append((pos, nxt - pos))
                    pos = nxt
                    continue
                kind, rgen, sender, target, end = rec
                if rgen != gen:  # a RESET happened (maybe in a damaged region)
                    index.clear()
                    gen = rgen
                if kind == MESSAGE:
                    seq, when = _MSG.unpack_from(data, pos + _REC.size + _STATE.size)
                    start = pos + _MSG_FIXED
                    index.put(seq, when, (start, end - start, end - pos))
                elif kind == PRUNE:
                    (cutoff,) = _F64.unpack_from(data, pos + _FIXED)
                    doomed = index.older_than(cutoff)
                    if doomed:
                        index.remove(doomed)
                elif kind == RESET:
                    index.clear()
                records += 1
                pos = end
        finally:
            view.release()
        truncated_at: int | None = None
        if pos < n:
            truncated_at = pos
            try:
                os.ftruncate(self._fd, pos)
                if self._fsync:
                    os.fsync(self._fd)
            except OSError as exc:
                raise self._error("truncate the torn end of the store", exc, pos) from exc
        self._gen, self._sender, self._target = gen, sender, target
        self._size = pos
        self._live = _BASE_LIVE + sum(v[1][2] for v in index.entries.values())
        self.recovery = Recovery(
            records=records,
            truncated_at=truncated_at,
            truncated_bytes=n - pos,
            skipped=tuple(skipped),
        )

    def _check_header(self, data: bytes) -> None:
        head = data[: len(_HEADER)]
        if head[:8] != _MAGIC or len(head) < len(_HEADER):
            offset = next(
                (i for i, (a, b) in enumerate(zip(head, _HEADER, strict=False)) if a != b),
                len(head),
            )
            raise StoreError(
                f"{self._path} is not a kalshi-fix-sansio message store: bad header at byte "
                f"offset {offset} (expected the magic {_MAGIC!r})",
                path=self._path,
                offset=offset,
            )
        version, flags = struct.unpack(">II", head[8:])
        if version != _VERSION:
            raise StoreError(
                f"{self._path}: unsupported store format version {version} at byte offset 8 "
                f"(this library reads version {_VERSION})",
                path=self._path,
                offset=8,
            )
        if flags:
            raise StoreError(
                f"{self._path}: unsupported store flags {flags:#x} at byte offset 12",
                path=self._path,
                offset=12,
            )

    # ------------------------------------------------------------------ writing

    def _check_open(self) -> None:
        if self._fd < 0:
            raise StoreError(f"{self._path}: the FileStore is closed", path=self._path)

    def _check_writable(self) -> None:
        self._check_open()
        if self._failed is not None:
            raise StoreError(
                f"{self._path}: an earlier write failed ({self._failed}); close and reopen "
                "the store",
                path=self._path,
            )

    def _append(self, record: bytes) -> None:
        start = self._size
        try:
            _write_all(self._fd, record)
        except OSError as exc:
            # Take the partial record back so later records are not appended after garbage;
            # if even that fails, refuse further writes (a reopen recovers the log).
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                self._failed = exc.strerror or str(exc)
            raise self._error("write the store", exc, start) from exc
        if self._fsync:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                # After a failed fsync the kernel may have dropped the dirty pages and a later
                # fsync may succeed without them: do not go on writing on top of that.
                self._failed = f"fsync: {exc.strerror or exc}"
                raise self._error("fsync the store", exc, start) from exc
        self._size = start + len(record)

    def _maybe_compact(self) -> None:
        if not self._compact_at or self._size < self._compact_at or self._size < 2 * self._live:
            return
        try:
            self.compact()
        except StoreError as exc:
            self.compaction_error = exc
            self._compact_at = max(self._compact_bytes, 2 * self._size)
        else:
            self.compaction_error = None
            self._compact_at = self._compact_bytes

    # ------------------------------------------------------------------ the protocol

    @property
    def path(self) -> Path:
        """The store file, as given to the constructor."""
        return self._path

    def __repr__(self) -> str:
        if self._fd < 0:
            return f"FileStore({str(self._path)!r}, closed)"
        return (
            f"FileStore({str(self._path)!r}, next_sender_seq={self._sender}, "
            f"next_target_seq={self._target}, messages={len(self._index)}, bytes={self._size})"
        )

    def __enter__(self) -> FileStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            self._fd = -1
            try:
                os.close(fd)
            except OSError:  # pragma: no cover
                pass

    def next_sender_seq(self) -> int:
        """The MsgSeqNum the next outbound message gets.

        Returns:
            A sequence number >= 1.

        Raises:
            StoreError: the store is closed.
        """
        self._check_open()
        return self._sender

    def next_target_seq(self) -> int:
        """The MsgSeqNum expected on the next inbound message.

        Returns:
            A sequence number >= 1.

        Raises:
            StoreError: the store is closed.
        """
        self._check_open()
        return self._target

    def set_next_sender_seq(self, seq: int) -> None:
        """Set the MsgSeqNum the next outbound message gets (one SENDER_SEQ record).

        Args:
            seq: the new value, >= 1.

        Raises:
            LocalProtocolError: ``seq`` is not an int in range.
            StoreError: the store is closed or the write failed (the value is then unchanged).
        """
        self._check_writable()
        _check_seq("next sender seq", seq)
        if seq == self._sender:
            return
        self._append(_record(self._size, SENDER_SEQ, self._gen, seq, self._target))
        self._sender = seq
        self._maybe_compact()

    def set_next_target_seq(self, seq: int) -> None:
        """Set the MsgSeqNum expected on the next inbound message (one TARGET_SEQ record).

        Args:
            seq: the new value, >= 1.

        Raises:
            LocalProtocolError: ``seq`` is not an int in range.
            StoreError: the store is closed or the write failed (the value is then unchanged).
        """
        self._check_writable()
        _check_seq("next target seq", seq)
        if seq == self._target:
            return
        self._append(_record(self._size, TARGET_SEQ, self._gen, self._sender, seq))
        self._target = seq
        self._maybe_compact()

    def save(self, seq: int, frame: bytes, now: float) -> None:
        """Store an outbound message and make ``seq + 1`` the next sender seq: one record.

        Args:
            seq: the message's MsgSeqNum, >= 1 (a stored seq is replaced).
            frame: the encoded message (bytes; a bytearray or memoryview is copied).
            now: when it was sent, UTC seconds since the epoch.

        Raises:
            LocalProtocolError: an argument has the wrong type or is out of range.
            StoreError: the store is closed or the write failed (nothing changed then).
        """
        self._check_writable()
        _check_seq("seq", seq, MAX_SEQ - 1)
        data = _check_frame(frame)
        when = _check_time("now", now)
        if len(data) > _MAX_FRAME:
            raise LocalProtocolError(f"frame of {len(data)} bytes is too large for a FileStore")
        pos = self._size
        record = _message_record(pos, self._gen, self._target, seq, when, data)
        self._append(record)
        old = self._index.put(seq, when, (pos + _MSG_FIXED, len(data), len(record)))
        if old is not None:
            self._live -= old[1][2]
        self._live += len(record)
        self._sender = seq + 1
        self._maybe_compact()

    def get(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """The stored messages with ``begin <= seq <= end``, ascending (read with ``os.pread``).

        Args:
            begin: the first sequence number wanted (>= 0).
            end: the last one wanted; 0 means "up to the last stored message".

        Returns:
            ``(seq, frame)`` pairs in ascending order; missing sequence numbers are absent.

        Raises:
            LocalProtocolError: ``begin`` or ``end`` is negative or not an int.
            StoreError: the store is closed, or the file cannot be read or was cut short
                behind the store's back.
        """
        self._check_open()
        _check_bound("begin", begin)
        _check_bound("end", end)
        entries = self._index.entries
        out: list[tuple[int, bytes]] = []
        for seq in self._index.select(begin, end):
            offset, length, _ = entries[seq][1]
            out.append((seq, self._read_frame(offset, length)))
        return out

    def _read_frame(self, offset: int, length: int) -> bytes:
        try:
            frame = _pread(self._fd, length, offset)
        except OSError as exc:
            raise self._error("read the store", exc, offset) from exc
        if len(frame) != length:
            raise StoreError(
                f"{self._path}: the file is shorter than its index (byte offset {offset}); "
                "was it modified behind the store's back?",
                path=self._path,
                offset=offset,
            )
        return frame

    def reset(self, now: float) -> None:
        """Both next sequence numbers back to 1 and every stored message dropped (one record).

        Args:
            now: when the reset happened, UTC seconds since the epoch.

        Raises:
            LocalProtocolError: ``now`` is not a finite number.
            StoreError: the store is closed or the write failed (nothing changed then).
        """
        self._check_writable()
        when = _check_time("now", now)
        gen = (self._gen + 1) & _U32
        self._append(_record(self._size, RESET, gen, 1, 1, _F64.pack(when)))
        self._gen, self._sender, self._target = gen, 1, 1
        self._index.clear()
        self._live = _BASE_LIVE
        self._maybe_compact()

    def prune(self, older_than: float) -> None:
        """Drop the stored messages saved before ``older_than`` (one PRUNE record, if any).

        The messages leave the index at once (`get` no longer returns them, even after a
        reopen); their bytes leave the file at the next compaction.

        Args:
            older_than: cutoff, UTC seconds since the epoch (messages saved at it are kept).

        Raises:
            LocalProtocolError: ``older_than`` is not a finite number.
            StoreError: the store is closed or the write failed (nothing changed then).
        """
        self._check_writable()
        cutoff = _check_time("older_than", older_than)
        doomed = self._index.older_than(cutoff)
        if not doomed:
            return
        body = _F64.pack(cutoff)
        self._append(_record(self._size, PRUNE, self._gen, self._sender, self._target, body))
        for _, (_, _, size) in self._index.remove(doomed):
            self._live -= size
        self._maybe_compact()

    def compact(self) -> None:
        """Rewrite the log with only its live content, atomically (see the class docstring).

        Runs automatically; call it to shrink the file now (e.g. after a large `prune`).

        Raises:
            StoreError: the store is closed, or the new log could not be written (the old log
                is then intact and still in use).
        """
        self._check_writable()
        tmp = self._real + _TMP_SUFFIX
        flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND | _O_BINARY
        try:
            mode = stat.S_IMODE(os.fstat(self._fd).st_mode)
            fd = os.open(tmp, flags, mode)
        except OSError as exc:
            raise self._error("create the compaction file", exc) from exc
        committed = False
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            self._lock(fd)  # held across the rename: the new log is locked from its first moment
            entries = self._index.entries
            new: dict[int, tuple[float, tuple[int, int, int]]] = {}
            head = _record(len(_HEADER), SENDER_SEQ, self._gen, self._sender, self._target)
            parts = [_HEADER, head]
            pos = buffered = len(_HEADER) + len(head)
            old_log = self._read_all()  # bounded like the log itself; slices beat a pread each
            gen, sender, target = self._gen, self._sender, self._target
            for seq in self._index.seqs:
                when, (offset, length, _) = entries[seq]
                if offset + length > len(old_log):
                    raise StoreError(
                        f"{self._path}: the file is shorter than its index (byte offset "
                        f"{offset}); was it modified behind the store's back?",
                        path=self._path,
                        offset=offset,
                    )
                body = _MSG.pack(seq, when) + old_log[offset : offset + length]
                rec = _record(pos, MESSAGE, gen, sender, target, body)
                new[seq] = (when, (pos + _MSG_FIXED, length, len(rec)))
                parts.append(rec)
                pos += len(rec)
                buffered += len(rec)
                if buffered >= 1 << 20:
                    _write_all(fd, b"".join(parts))
                    parts.clear()
                    buffered = 0
            _write_all(fd, b"".join(parts))
            os.fsync(fd)
            os.replace(tmp, self._real)
            committed = True
        except BaseException as exc:
            os.close(fd)
            if not committed:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            if isinstance(exc, OSError):
                raise self._error("compact the store", exc) from exc
            raise
        old, self._fd = self._fd, fd
        self._index.entries = new
        self._size = self._live = pos
        os.close(old)
        try:
            _fsync_dir(self._real)
        except OSError as exc:
            raise self._error("fsync the store's directory after compaction", exc) from exc

    def close(self) -> None:
        """Close the file and release its lock; safe to call more than once.

        Raises:
            StoreError: closing the file descriptor failed.
        """
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError as exc:
                raise self._error("close the store", exc) from exc
