"""Message stores: failures and edge cases a user would notice.

* Every error a `FileStore` raises names the file (and the byte offset when there is one): the
  disk is full or failing (``os.write`` / ``os.fsync`` / ``os.pread`` / ``os.replace`` /
  ``os.ftruncate`` / ``os.close`` fail, injected with monkeypatch), the file is not a regular
  file, is replaced or removed while being locked, the file was cut behind the store's back.
* A failed write leaves the store as it was, or refuses further writes when it cannot be sure
  of the file; a failed compaction keeps the old log intact and in use.
* Recovery: records whose CRC is right but whose content is impossible (a newer or buggy
  writer), markers inside stored frames, a PRUNE whose messages were lost to damage.
* Closed stores and bad arguments are refused for every method.
"""

from __future__ import annotations

import errno
import gc
import os
import shutil
import stat
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session import filestore as store_module
from kalshi_fix_sansio.session.filestore import FileStore
from kalshi_fix_sansio.session.store import MAX_SEQ, MemoryStore, StoreError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file semantics")

HEADER_LEN = 16
FIRST_FRAME_OFFSET = HEADER_LEN + 16 + 21 + 16  # header, record header, state, seq + time
MARK = b"\xc5\xd2\x8f\x5a"
MESSAGE, SENDER_SEQ, TARGET_SEQ, RESET, PRUNE = 1, 2, 3, 4, 5


def frame(seq: int, tag: str = "") -> bytes:
    return b"8=FIXT.1.1\x0134=%d\x0158=%s\x01" % (seq, tag.encode())


def snapshot(s: FileStore | MemoryStore) -> tuple[int, int, list[tuple[int, bytes]]]:
    return s.next_sender_seq(), s.next_target_seq(), s.get(1, 0)


def record(
    pos: int, kind: int, gen: int, sender: int, target: int, body: bytes = b"", *, length: int = -1
) -> bytes:
    """A log record built from the documented format (see the comment in store.py)."""
    if length < 0:
        length = 21 + len(body)
    covered = struct.pack(">IIBIQQ", length, pos & 0xFFFFFFFF, kind, gen, sender, target) + body
    return MARK + struct.pack(">I", zlib.crc32(covered)) + covered


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except FileNotFoundError:  # pragma: no cover - not Linux
        return -1


def raiser(code: int) -> Callable[..., Any]:
    def fail(*_args: object, **_kwargs: object) -> Any:
        raise OSError(code, os.strerror(code))

    return fail


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "s.log"


# ------------------------------------------------------------------------ closed stores, misuse

FILE_CALLS: dict[str, Callable[[FileStore], object]] = {
    "next_sender_seq": lambda s: s.next_sender_seq(),
    "next_target_seq": lambda s: s.next_target_seq(),
    "set_next_sender_seq": lambda s: s.set_next_sender_seq(5),
    "set_next_target_seq": lambda s: s.set_next_target_seq(5),
    "save": lambda s: s.save(2, frame(2), 2.0),
    "get": lambda s: s.get(1, 0),
    "reset": lambda s: s.reset(3.0),
    "prune": lambda s: s.prune(10.0),
    "compact": lambda s: s.compact(),
}


@pytest.mark.parametrize("method", sorted(FILE_CALLS))
def test_a_closed_file_store_refuses_every_method(path: Path, method: str) -> None:
    s = FileStore(path)
    s.save(1, frame(1), 1.0)
    s.close()
    size = path.stat().st_size
    with pytest.raises(StoreError, match="the FileStore is closed") as info:
        FILE_CALLS[method](s)
    assert info.value.path == path and str(path) in str(info.value)
    assert path.stat().st_size == size
    assert repr(s) == f"FileStore({str(path)!r}, closed)"
    s.close()  # still fine


MEMORY_CALLS: dict[str, Callable[[MemoryStore], object]] = {
    name: call for name, call in FILE_CALLS.items() if name != "compact"
}


@pytest.mark.parametrize("method", sorted(MEMORY_CALLS))
def test_a_closed_memory_store_refuses_every_method(method: str) -> None:
    s = MemoryStore()
    s.save(1, frame(1), 1.0)
    assert repr(s) == "MemoryStore(next_sender_seq=2, next_target_seq=1, messages=1, open)"
    s.close()
    assert repr(s) == "MemoryStore(next_sender_seq=2, next_target_seq=1, messages=0, closed)"
    with pytest.raises(StoreError, match="the MemoryStore is closed") as info:
        MEMORY_CALLS[method](s)
    assert info.value.path is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.get("1", 0), "begin must be an int, got str"),
        (lambda s: s.get(1, 2.0), "end must be an int, got float"),
        (lambda s: s.get(True, 0), "begin must be an int, got bool"),
        (lambda s: s.set_next_sender_seq(MAX_SEQ + 1), f"between 1 and {MAX_SEQ}, got"),
        (lambda s: s.set_next_target_seq(None), "next target seq must be an int, got NoneType"),
        (lambda s: s.save(1, frame(1), True), "now must be UTC seconds"),
        (lambda s: s.prune(float("-inf")), "older_than must be a finite number"),
    ],
)
@pytest.mark.parametrize("kind", ["memory", "file"])
def test_bad_arguments_are_named_in_the_error(
    path: Path, kind: str, call: Callable[[Any], object], message: str
) -> None:
    s: Any = MemoryStore() if kind == "memory" else FileStore(path)
    with s:
        s.save(1, frame(1), 1.0)
        expected = snapshot(s)
        with pytest.raises(LocalProtocolError, match=message):
            call(s)
        assert snapshot(s) == expected


@pytest.mark.parametrize(
    ("compact_bytes", "message"),
    [(-1, "compact_bytes must be >= 0, got -1"), ("16M", "compact_bytes must be an int")],
)
def test_bad_compact_bytes_is_refused_before_touching_the_disk(
    path: Path, compact_bytes: Any, message: str
) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        FileStore(path, compact_bytes=compact_bytes)
    assert not path.exists()


def test_a_frame_too_large_for_the_log_is_refused(path: Path) -> None:
    class Huge(bytes):  # a frame of 4 GiB, without allocating it
        def __len__(self) -> int:
            return 2**32

    with FileStore(path) as s:
        s.save(1, frame(1), 1.0)
        size = path.stat().st_size
        with pytest.raises(LocalProtocolError, match=r"frame of 4294967296 bytes is too large"):
            s.save(2, Huge(b"x"), 2.0)
        assert path.stat().st_size == size
        assert snapshot(s) == (2, 1, [(1, frame(1))])


def test_the_largest_sequence_number_survives_a_reopen(path: Path) -> None:
    with FileStore(path) as s:
        s.save(MAX_SEQ - 1, frame(1), 1.0)
        s.set_next_target_seq(MAX_SEQ)
        assert s.next_sender_seq() == MAX_SEQ
    with FileStore(path) as s:
        assert snapshot(s) == (MAX_SEQ, MAX_SEQ, [(MAX_SEQ - 1, frame(1))])
        assert s.recovery.clean


def test_an_unclosed_store_releases_its_lock_when_collected(path: Path) -> None:
    s = FileStore(path)
    s.save(1, frame(1), 1.0)
    gc.collect()  # other tests' garbage first: its sockets must not close in the count below
    fds = open_fds()
    del s
    gc.collect()
    assert open_fds() == fds - 1 or fds == -1
    with FileStore(path) as again:  # not "in use by another FileStore"
        assert again.get(1, 0) == [(1, frame(1))]


# ------------------------------------------------------------------------ opening


def test_a_fifo_is_not_a_store(path: Path) -> None:
    os.mkfifo(path)
    fds = open_fds()
    with pytest.raises(StoreError, match="is not a regular file") as info:
        FileStore(path)
    assert info.value.path == path and str(path) in str(info.value)
    assert open_fds() == fds
    assert stat.S_ISFIFO(path.stat().st_mode)


def test_a_directory_appearing_at_open_is_refused(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path became a directory between the check and the open."""

    def eisdir(*_args: object) -> int:
        raise IsADirectoryError(errno.EISDIR, "Is a directory")

    monkeypatch.setattr(store_module.os, "open", eisdir)
    with pytest.raises(StoreError, match=r"s\.log is a directory$") as info:
        FileStore(path)
    assert info.value.path == path
    assert info.value.__cause__ is None


def test_a_failing_lock_names_the_path_and_leaks_nothing(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FileStore(path).close()
    fds = open_fds()
    monkeypatch.setattr(store_module.fcntl, "flock", raiser(errno.ENOLCK))  # e.g. on NFS
    with pytest.raises(StoreError, match="cannot open the store: No locks available") as info:
        FileStore(path)
    assert info.value.path == path and str(path) in str(info.value)
    assert open_fds() == fds
    monkeypatch.undo()
    FileStore(path).close()


def make_store_file(path: Path, sender: int) -> None:
    with FileStore(path) as s:
        s.set_next_sender_seq(sender)


def test_a_file_replaced_while_locking_is_opened_again(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process compacted (renamed a new log over the file) between our open and lock."""
    make_store_file(path, 10)
    replacement = tmp_path / "new.log"
    make_store_file(replacement, 42)
    real_flock = store_module.fcntl.flock
    calls = []

    def replace_then_lock(fd: int, op: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            os.replace(replacement, path)
        real_flock(fd, op)

    monkeypatch.setattr(store_module.fcntl, "flock", replace_then_lock)
    fds = open_fds()
    with FileStore(path) as s:
        assert len(calls) == 2
        assert s.next_sender_seq() == 42  # the new file, not the one that was replaced
        assert open_fds() == fds + 1
        s.save(42, frame(42), 1.0)
    with FileStore(path) as s:
        assert s.get(1, 0) == [(42, frame(42))]


def test_a_file_removed_while_locking_is_created_again(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_store_file(path, 10)
    real_flock = store_module.fcntl.flock
    calls = []

    def remove_then_lock(fd: int, op: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            os.unlink(path)
        real_flock(fd, op)

    monkeypatch.setattr(store_module.fcntl, "flock", remove_then_lock)
    with FileStore(path) as s:
        assert s.recovery.created
        s.save(1, frame(1), 1.0)
    monkeypatch.undo()
    with FileStore(path) as s:  # the store wrote to the file at the path, not a deleted one
        assert s.get(1, 0) == [(1, frame(1))]


def keep_replacing(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    real_flock = store_module.fcntl.flock
    calls: list[int] = []

    def replace_then_lock(fd: int, op: int) -> None:
        calls.append(fd)
        spare = path.with_name("spare.log")
        shutil.copyfile(path, spare)
        os.replace(spare, path)
        real_flock(fd, op)

    monkeypatch.setattr(store_module.fcntl, "flock", replace_then_lock)
    return calls


def test_a_file_that_keeps_being_replaced_is_given_up(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_store_file(path, 10)
    calls = keep_replacing(path, monkeypatch)
    fds = open_fds()
    with pytest.raises(StoreError, match="the file keeps being replaced; cannot lock it") as info:
        FileStore(path)
    assert str(path) in str(info.value)
    assert len(calls) == 100
    assert open_fds() == fds


def test_the_keeps_being_replaced_error_carries_the_path(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_store_file(path, 10)
    keep_replacing(path, monkeypatch)
    with pytest.raises(StoreError) as info:
        FileStore(path)
    assert info.value.path == path


def test_a_stale_compaction_file_that_cannot_be_removed_is_reported(path: Path) -> None:
    make_store_file(path, 10)
    stale = Path(str(path) + ".compact-tmp")
    stale.mkdir()
    (stale / "x").write_bytes(b"x")
    with pytest.raises(StoreError, match="cannot remove a stale compaction file") as info:
        FileStore(path)
    assert info.value.path == path
    shutil.rmtree(stale)
    with FileStore(path) as s:  # the failed open released its lock
        assert s.next_sender_seq() == 10


def test_an_unreadable_log_is_reported(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_store_file(path, 10)
    fds = open_fds()
    monkeypatch.setattr(store_module.os, "pread", raiser(errno.EIO))
    with pytest.raises(StoreError, match="cannot read the store: Input/output error") as info:
        FileStore(path)
    assert info.value.path == path and info.value.offset == 0
    assert open_fds() == fds


def test_a_new_store_that_cannot_be_initialised(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module.os, "write", raiser(errno.ENOSPC))
    with pytest.raises(StoreError, match="cannot initialise the store: No space left") as info:
        FileStore(path)
    assert info.value.path == path
    monkeypatch.undo()
    assert path.read_bytes() == b""
    with FileStore(path) as s:  # an empty file is a new store
        assert s.recovery.created
        s.save(1, frame(1), 1.0)
    with FileStore(path) as s:
        assert s.get(1, 0) == [(1, frame(1))]


def test_unsupported_flags_are_refused(path: Path) -> None:
    content = b"KFIXLOG\n" + struct.pack(">II", 1, 1)
    path.write_bytes(content)
    with pytest.raises(StoreError, match=r"unsupported store flags 0x1 at byte offset 12") as info:
        FileStore(path)
    assert info.value.path == path and info.value.offset == 12
    assert path.read_bytes() == content


# ------------------------------------------------------------------------ recovery


def test_my_record_builder_matches_the_store(path: Path) -> None:
    """The crafted records below are only meaningful if valid ones built the same way load."""
    with FileStore(path) as s:
        s.save(1, frame(1), 1.0)
        size = path.stat().st_size
    with path.open("ab") as f:
        f.write(record(size, TARGET_SEQ, 0, 2, 77))
    with FileStore(path) as s:
        assert snapshot(s) == (2, 77, [(1, frame(1))])
        assert s.recovery.clean and s.recovery.records == 2


F64 = struct.pack(">d", 5.0)
IMPOSSIBLE: dict[str, Callable[[int], bytes]] = {
    "sender-seq-with-body": lambda pos: record(pos, SENDER_SEQ, 0, 9, 9, b"xx"),
    "target-seq-with-body": lambda pos: record(pos, TARGET_SEQ, 0, 9, 9, F64),
    "reset-short-time": lambda pos: record(pos, RESET, 1, 1, 1, b"\x00" * 4),
    "prune-long-cutoff": lambda pos: record(pos, PRUNE, 0, 9, 9, F64 + F64),
    "unknown-kind": lambda pos: record(pos, 9, 0, 9, 9),
    "sender-zero": lambda pos: record(pos, SENDER_SEQ, 0, 0, 9),
    "target-zero": lambda pos: record(pos, TARGET_SEQ, 0, 9, 0),
    "sender-too-large": lambda pos: record(pos, SENDER_SEQ, 0, MAX_SEQ + 1, 9),
    "message-seq-zero": lambda pos: record(
        pos, MESSAGE, 0, 1, 9, struct.pack(">Qd", 0, 1.0) + frame(0)
    ),
    "length-too-short": lambda pos: record(pos, SENDER_SEQ, 0, 9, 9, length=20),
    "length-past-the-end": lambda pos: record(pos, SENDER_SEQ, 0, 9, 9, length=0xFFFFFFF0),
    "wrong-offset": lambda pos: record(pos + 1, SENDER_SEQ, 0, 9, 9),
}


@pytest.mark.parametrize("case", sorted(IMPOSSIBLE))
def test_a_record_with_a_right_crc_but_impossible_content_is_skipped(path: Path, case: str) -> None:
    with FileStore(path) as s:
        s.save(1, frame(1), 1.0)
        s.save(2, frame(2), 2.0)
        size = path.stat().st_size
    bad = IMPOSSIBLE[case](size)
    after = record(size + len(bad), TARGET_SEQ, 0, 3, 77)
    with path.open("ab") as f:
        f.write(bad + after)
    with FileStore(path) as s:
        assert s.recovery.skipped == ((size, len(bad)),)
        assert s.recovery.truncated_bytes == 0
        assert snapshot(s) == (3, 77, [(1, frame(1)), (2, frame(2))])


def test_markers_inside_a_damaged_frame_are_not_taken_for_records(path: Path) -> None:
    with FileStore(path) as s:
        s.save(1, frame(1), 1.0)
        s.save(2, MARK + frame(2) + MARK * 3, 2.0)  # arbitrary bytes may hold the marker
        s.save(3, frame(3), 3.0)
    data = bytearray(path.read_bytes())
    second = FIRST_FRAME_OFFSET + len(frame(1))
    third = second + 53 + len(MARK + frame(2) + MARK * 3)
    assert data[second : second + 4] == MARK and data[third : third + 4] == MARK
    data[second + 5] ^= 0xFF  # its CRC
    path.write_bytes(bytes(data))
    with FileStore(path) as s:
        assert s.recovery.skipped == ((second, third - second),)
        assert snapshot(s) == (4, 1, [(1, frame(1)), (3, frame(3))])


def test_a_prune_whose_messages_were_lost_to_damage_replays(path: Path) -> None:
    with FileStore(path, compact_bytes=0) as s:
        s.save(1, frame(1), 1.0)
        s.save(2, frame(2), 20.0)
        s.prune(10.0)  # drops message 1
        s.set_next_target_seq(5)
    data = bytearray(path.read_bytes())
    data[FIRST_FRAME_OFFSET] ^= 0x20  # message 1 is damaged: the PRUNE finds nothing to drop
    path.write_bytes(bytes(data))
    with FileStore(path) as s:
        assert len(s.recovery.skipped) == 1
        assert snapshot(s) == (3, 5, [(2, frame(2))])


def test_damage_after_a_reset_loses_only_the_damaged_record(path: Path) -> None:
    with FileStore(path) as s:
        for seq in range(1, 4):
            s.save(seq, frame(seq, "old"), float(seq))
        s.reset(10.0)
        reset_end = path.stat().st_size
        s.save(1, frame(1, "new"), 11.0)
        s.save(2, frame(2, "new"), 12.0)
        s.set_next_target_seq(9)
    data = bytearray(path.read_bytes())
    data[reset_end + 20] ^= 0x20  # the first message after the reset
    path.write_bytes(bytes(data))
    with FileStore(path) as s:
        assert s.recovery.skipped == ((reset_end, 53 + len(frame(1, "new"))),)
        assert snapshot(s) == (3, 9, [(2, frame(2, "new"))])  # no "old" message comes back


def test_prune_then_compaction_then_reopen(path: Path) -> None:
    with FileStore(path, compact_bytes=0) as s:
        for seq in range(1, 6):
            s.save(seq, frame(seq), float(seq))
        s.reset(6.0)
        for seq in range(1, 4):
            s.save(seq, frame(seq, "new"), 10.0 + seq)
        s.prune(12.0)
        expected = snapshot(s)
        assert expected == (4, 1, [(2, frame(2, "new")), (3, frame(3, "new"))])
    with FileStore(path) as s:
        assert snapshot(s) == expected
        s.compact()
    with FileStore(path) as s:
        assert snapshot(s) == expected and s.recovery.clean


def torn_tail(path: Path) -> int:
    with FileStore(path) as s:
        s.save(1, frame(1), 1.0)
    good = path.stat().st_size
    with path.open("ab") as f:
        f.write(MARK + b"\x00" * 10)  # a record header cut short
    return good


def test_with_fsync_the_truncation_of_a_torn_tail_is_synced(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = torn_tail(path)
    synced: list[int] = []
    real_fsync = os.fsync

    def counting(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(store_module.os, "fsync", counting)
    with FileStore(path, fsync=True) as s:
        assert s.recovery.truncated_at == good
        assert synced == [path.stat().st_ino]
        assert path.stat().st_size == good
    synced.clear()
    with FileStore(path, fsync=True):  # clean: nothing to sync on open
        assert synced == []


def test_a_torn_tail_that_cannot_be_cut_is_reported(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = torn_tail(path)
    content = path.read_bytes()
    monkeypatch.setattr(store_module.os, "ftruncate", raiser(errno.EROFS))
    with pytest.raises(StoreError, match="cannot truncate the torn end of the store") as info:
        FileStore(path)
    assert "Read-only file system" in str(info.value)
    assert info.value.path == path and info.value.offset == good
    assert path.read_bytes() == content
    monkeypatch.undo()
    with FileStore(path) as s:
        assert s.get(1, 0) == [(1, frame(1))]


# ------------------------------------------------------------------------ writing, reading


def test_a_write_that_cannot_be_taken_back_refuses_further_writes(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = FileStore(path)
    s.save(1, frame(1), 1.0)
    expected = snapshot(s)
    size = path.stat().st_size
    real_write = os.write

    def half_then_enospc(fd: int, data: bytes) -> int:
        if len(data) > 10:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module.os, "write", half_then_enospc)
    monkeypatch.setattr(store_module.os, "ftruncate", raiser(errno.EIO))
    with pytest.raises(StoreError, match="cannot write the store: No space left") as info:
        s.save(2, frame(2), 2.0)
    assert info.value.path == path and info.value.offset == size
    monkeypatch.undo()
    assert path.stat().st_size > size  # the half record stays
    for call in (FILE_CALLS["save"], FILE_CALLS["reset"], FILE_CALLS["compact"]):
        with pytest.raises(StoreError, match=r"an earlier write failed \(No space left on device"):
            call(s)
    assert snapshot(s) == expected  # reads still work, nothing changed
    s.close()
    with FileStore(path) as s2:  # reopening cuts the half record
        assert snapshot(s2) == expected
        assert s2.recovery.truncated_at == size
        s2.save(2, frame(2), 2.0)


def test_a_failed_fsync_of_a_target_seq_is_reported_and_stops_writes(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FileStore(path, fsync=True) as s:
        s.set_next_target_seq(4)
        monkeypatch.setattr(store_module.os, "fsync", raiser(errno.EIO))
        with pytest.raises(StoreError, match="cannot fsync the store: Input/output error"):
            s.set_next_target_seq(5)
        monkeypatch.undo()
        assert s.next_target_seq() == 4
        with pytest.raises(StoreError, match=r"earlier write failed \(fsync: Input/output error"):
            s.set_next_sender_seq(9)


def test_a_read_error_names_the_frame_offset(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FileStore(path) as s:
        s.save(1, frame(1), 1.0)
        monkeypatch.setattr(store_module.os, "pread", raiser(errno.EIO))
        with pytest.raises(StoreError, match="cannot read the store: Input/output error") as info:
            s.get(1, 0)
        assert info.value.path == path and info.value.offset == FIRST_FRAME_OFFSET
        monkeypatch.undo()
        assert s.get(1, 0) == [(1, frame(1))]


def test_a_file_cut_behind_the_stores_back_is_reported(path: Path) -> None:
    with FileStore(path, compact_bytes=0) as s:
        s.save(1, frame(1), 1.0)
        s.save(2, frame(2), 2.0)
        os.truncate(path, path.stat().st_size - 3)
        second = FIRST_FRAME_OFFSET + len(frame(1)) + 53
        assert s.get(1, 1) == [(1, frame(1))]
        with pytest.raises(StoreError, match="shorter than its index") as info:
            s.get(1, 0)
        assert info.value.path == path and info.value.offset == second
        assert f"byte offset {second}" in str(info.value)
        size = path.stat().st_size
        with pytest.raises(StoreError, match="shorter than its index") as info:
            s.compact()  # refuses to write a log without message 2
        assert info.value.offset == second
        assert path.stat().st_size == size
        assert not Path(str(path) + ".compact-tmp").exists()


# ------------------------------------------------------------------------ compaction


@pytest.fixture
def busy(path: Path) -> Iterator[tuple[FileStore, tuple[int, int, list[tuple[int, bytes]]]]]:
    """A store with plenty of superseded records, compaction off."""
    with FileStore(path, compact_bytes=0) as s:
        for seq in range(1, 6):
            s.save(seq, frame(seq), float(seq))
        for target in range(2, 200):
            s.set_next_target_seq(target)
        yield s, snapshot(s)


@pytest.mark.parametrize(
    ("function", "code"),
    [("write", errno.ENOSPC), ("fsync", errno.EIO), ("replace", errno.EXDEV)],
)
def test_a_failed_compaction_keeps_the_old_log(
    path: Path,
    busy: tuple[FileStore, tuple[int, int, list[tuple[int, bytes]]]],
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    code: int,
) -> None:
    s, expected = busy
    content = path.read_bytes()
    monkeypatch.setattr(store_module.os, function, raiser(code))
    with pytest.raises(StoreError, match="cannot compact the store") as info:
        s.compact()
    assert os.strerror(code) in str(info.value) and info.value.path == path
    monkeypatch.undo()
    assert path.read_bytes() == content
    assert not Path(str(path) + ".compact-tmp").exists()
    assert snapshot(s) == expected
    s.save(6, frame(6), 6.0)  # still in use and writable
    s.compact()
    assert path.stat().st_size < len(content)
    assert snapshot(s)[2][-1] == (6, frame(6))


def test_a_compaction_file_that_cannot_be_removed_is_removed_on_next_open(
    path: Path,
    busy: tuple[FileStore, tuple[int, int, list[tuple[int, bytes]]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s, expected = busy
    monkeypatch.setattr(store_module.os, "replace", raiser(errno.EACCES))
    monkeypatch.setattr(store_module.os, "unlink", raiser(errno.EACCES))
    with pytest.raises(StoreError, match="cannot compact the store: Permission denied"):
        s.compact()
    monkeypatch.undo()
    tmp = Path(str(path) + ".compact-tmp")
    assert tmp.exists()
    s.close()
    with FileStore(path) as s2:
        assert snapshot(s2) == expected
    assert not tmp.exists()


def test_a_failed_automatic_compaction_is_recorded_not_raised(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FileStore(path, compact_bytes=1000) as s:
        s.save(1, frame(1), 1.0)
        monkeypatch.setattr(store_module.os, "replace", raiser(errno.EIO))
        target = 1
        while s.compaction_error is None:  # the write that triggers compaction succeeds
            target += 1
            s.set_next_target_seq(target)
            assert target < 100
        error = s.compaction_error
        assert "cannot compact the store: Input/output error" in str(error)
        assert error.path == path
        monkeypatch.undo()
        size = path.stat().st_size
        assert size >= 1000  # the old log is still there, with the triggering record
        assert not Path(str(path) + ".compact-tmp").exists()
        expected = snapshot(s)
        assert expected == (2, target, [(1, frame(1))])
    with FileStore(path) as s:
        assert snapshot(s) == expected


def test_a_failed_directory_fsync_after_compaction_is_reported(
    path: Path,
    busy: tuple[FileStore, tuple[int, int, list[tuple[int, bytes]]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s, expected = busy
    size = path.stat().st_size
    real_fsync = os.fsync

    def fail_on_directories(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(store_module.os, "fsync", fail_on_directories)
    with pytest.raises(StoreError, match="fsync the store's directory after compaction") as info:
        s.compact()
    assert info.value.path == path
    monkeypatch.undo()
    assert path.stat().st_size < size  # the new log is in place and in use
    assert snapshot(s) == expected
    s.save(6, frame(6), 6.0)
    expected = snapshot(s)
    s.close()
    with FileStore(path) as s2:
        assert snapshot(s2) == expected and s2.recovery.clean


def test_compaction_of_more_than_a_mebibyte(path: Path) -> None:
    big = [(seq, frame(seq, chr(64 + seq) * 100_000)) for seq in range(1, 25)]
    with FileStore(path, compact_bytes=0) as s:
        for seq, f in big:
            s.save(seq, f, float(seq))
        s.save(1, big[0][1], 1.0)  # a superseded copy to compact away
        s.compact()
        assert path.stat().st_size == HEADER_LEN + 37 + sum(53 + len(f) for _, f in big)
        assert s.get(1, 0) == big
    with FileStore(path) as s:
        assert s.get(1, 0) == big and s.recovery.clean


@pytest.mark.parametrize("fchmod", [True, False], ids=["fchmod", "no-fchmod"])
def test_compaction_keeps_the_file_mode(
    path: Path, monkeypatch: pytest.MonkeyPatch, fchmod: bool
) -> None:
    if not fchmod:
        monkeypatch.delattr(store_module.os, "fchmod")
    old_umask = os.umask(0o022)
    try:
        with FileStore(path) as s:
            s.save(1, frame(1), 1.0)
            path.chmod(0o640)
            s.compact()
            assert stat.S_IMODE(path.stat().st_mode) == 0o640
            assert s.get(1, 0) == [(1, frame(1))]
    finally:
        os.umask(old_umask)


# ------------------------------------------------------------------------ closing


def test_a_failing_close_is_reported_once_and_the_store_is_closed(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = FileStore(path)
    s.save(1, frame(1), 1.0)
    real_close = os.close

    def close_then_eio(fd: int) -> None:
        real_close(fd)  # like NFS: the descriptor is gone, a deferred write error is reported
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(store_module.os, "close", close_then_eio)
    with pytest.raises(StoreError, match="cannot close the store: Input/output error") as info:
        s.close()
    assert info.value.path == path
    monkeypatch.undo()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.get(1, 0)
    with FileStore(path) as s2:
        assert s2.get(1, 0) == [(1, frame(1))]
