"""Message stores: the `MessageStore` contract (run against every store), `FileStore` durability.

* Contract tests run against every factory in `STORES`: add your own store class there to check
  it keeps the contract the session relies on.
* `FileStore`: reopen restores everything; a torn tail (the file cut at every byte of its last
  record, or garbage appended) recovers to the last complete record; damage inside the log is
  skipped without losing the sequence numbers; bad files give clear `StoreError`s; compaction
  keeps the content and shrinks the file; write failures are rolled back.

The model-based and SIGKILL tests of `FileStore` are in ``test_store_crash.py``.
"""

from __future__ import annotations

import errno
import itertools
import os
import random
import re
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.codec.errors import FixError, LocalProtocolError
from kalshi_fix_sansio.session import filestore as store_module
from kalshi_fix_sansio.session.filestore import FileStore, Recovery
from kalshi_fix_sansio.session.store import MemoryStore, MessageStore, StoreError

DOCS_STORES = Path(__file__).resolve().parents[1] / "docs" / "stores.md"
HEADER_LEN = 16


def frame(seq: int, tag: str = "") -> bytes:
    return b"8=FIXT.1.1\x0134=%d\x0158=%s\x01" % (seq, tag.encode())


# ----------------------------------------------------------------------------------- contract

StoreFactory = Callable[[Path], MessageStore]


def docs_sqlite_store(directory: Path) -> MessageStore:
    """The example store of ``docs/stores.md``, read from the page."""
    match = re.search(r"```python\n(import sqlite3\n.*?)```", DOCS_STORES.read_text(), re.DOTALL)
    assert match, f"no SqliteStore example in {DOCS_STORES}"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(DOCS_STORES), "exec"), namespace)
    store: MessageStore = namespace["SqliteStore"](str(directory / "store.db"))
    return store


# The stores the shipped library offers: the contract tests and the argument/closed-store checks.
SHIPPED: dict[str, StoreFactory] = {
    "memory": lambda _dir: MemoryStore(),
    "file": lambda d: FileStore(d / "store.log"),
    "file-fsync-tiny-compaction": lambda d: FileStore(d / "store.log", fsync=True, compact_bytes=1),
}
# Every store the contract tests run on: add your own MessageStore here.
STORES: dict[str, StoreFactory] = {**SHIPPED, "docs-sqlite-example": docs_sqlite_store}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MessageStore]:
    s = STORES[request.param](tmp_path)
    yield s
    s.close()


@pytest.fixture(params=sorted(SHIPPED))
def shipped(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MessageStore]:
    s = SHIPPED[request.param](tmp_path)
    yield s
    s.close()


def contents(s: MessageStore) -> list[tuple[int, bytes]]:
    return s.get(1, 0)


def test_is_a_message_store(store: MessageStore) -> None:
    assert isinstance(store, MessageStore)


def test_new_store_starts_at_one(store: MessageStore) -> None:
    assert store.next_sender_seq() == 1
    assert store.next_target_seq() == 1
    assert store.get(1, 0) == []
    assert store.get(0, 0) == []


def test_save_advances_sender_seq_and_get_selects_ranges(store: MessageStore) -> None:
    for seq in range(1, 11):
        if seq in (4, 7):
            store.set_next_sender_seq(seq + 1)  # an admin message: not stored
        else:
            store.save(seq, frame(seq), 100.0 + seq)
        assert store.next_sender_seq() == seq + 1
    stored = [s for s in range(1, 11) if s not in (4, 7)]
    assert store.get(1, 0) == [(s, frame(s)) for s in stored]
    assert store.get(0, 0) == store.get(1, 0)
    assert store.get(3, 5) == [(3, frame(3)), (5, frame(5))]
    assert store.get(4, 4) == []
    assert store.get(5, 5) == [(5, frame(5))]
    assert store.get(8, 0) == [(s, frame(s)) for s in (8, 9, 10)]
    assert store.get(9, 1000) == [(9, frame(9)), (10, frame(10))]
    assert store.get(11, 0) == []
    assert store.get(6, 3) == []
    assert store.next_target_seq() == 1


def test_save_of_a_stored_seq_replaces_it(store: MessageStore) -> None:
    store.save(1, frame(1), 1.0)
    store.save(2, frame(2), 2.0)
    store.save(1, frame(1, "again"), 3.0)
    assert store.next_sender_seq() == 2  # save makes seq + 1 the next one, as documented
    assert store.get(1, 0) == [(1, frame(1, "again")), (2, frame(2))]
    store.prune(2.5)  # the replacement carries the new time
    assert store.get(1, 0) == [(1, frame(1, "again"))]


def test_out_of_order_saves_are_returned_in_order(store: MessageStore) -> None:
    for seq in (5, 2, 9, 1, 7):
        store.save(seq, frame(seq), float(seq))
    assert [s for s, _ in store.get(1, 0)] == [1, 2, 5, 7, 9]
    assert [s for s, _ in store.get(2, 7)] == [2, 5, 7]
    assert store.next_sender_seq() == 8


def test_set_next_seqs(store: MessageStore) -> None:
    store.set_next_sender_seq(41)
    store.set_next_target_seq(17)
    store.set_next_target_seq(17)
    assert (store.next_sender_seq(), store.next_target_seq()) == (41, 17)
    store.save(41, frame(41), 1.0)
    assert (store.next_sender_seq(), store.next_target_seq()) == (42, 17)


def test_reset_drops_messages_and_restarts_both_seqs(store: MessageStore) -> None:
    for seq in range(1, 6):
        store.save(seq, frame(seq), float(seq))
    store.set_next_target_seq(30)
    store.reset(99.0)
    assert (store.next_sender_seq(), store.next_target_seq()) == (1, 1)
    assert store.get(1, 0) == []
    store.save(1, frame(1, "new"), 100.0)
    assert store.get(1, 0) == [(1, frame(1, "new"))]


def test_prune_drops_messages_saved_before_the_cutoff(store: MessageStore) -> None:
    for seq in range(1, 6):
        store.save(seq, frame(seq), 1000.0 + seq)
    store.prune(1003.0)  # 1003 itself is kept
    assert [s for s, _ in store.get(1, 0)] == [3, 4, 5]
    store.prune(0.0)
    assert [s for s, _ in store.get(1, 0)] == [3, 4, 5]
    assert store.next_sender_seq() == 6  # retention never touches sequence numbers
    store.prune(1e12)
    assert store.get(1, 0) == []


def test_bytes_like_frames_are_copied(shipped: MessageStore) -> None:
    buf = bytearray(frame(1))
    shipped.save(1, buf, 1.0)
    buf[0:1] = b"X"
    assert shipped.get(1, 1) == [(1, frame(1))]
    assert type(shipped.get(1, 1)[0][1]) is bytes


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.save(0, b"x", 1.0),
        lambda s: s.save(-1, b"x", 1.0),
        lambda s: s.save(True, b"x", 1.0),
        lambda s: s.save("1", b"x", 1.0),
        lambda s: s.save(2**63 - 1, b"x", 1.0),
        lambda s: s.save(1, "text", 1.0),
        lambda s: s.save(1, b"x", float("nan")),
        lambda s: s.save(1, b"x", "now"),
        lambda s: s.set_next_sender_seq(0),
        lambda s: s.set_next_target_seq(-5),
        lambda s: s.set_next_target_seq(1.5),
        lambda s: s.get(-1, 0),
        lambda s: s.get(1, -1),
        lambda s: s.reset(float("inf")),
        lambda s: s.prune(float("nan")),
    ],
)
def test_misuse_raises_local_error_and_changes_nothing(
    shipped: MessageStore, call: Callable[[MessageStore], object]
) -> None:
    shipped.save(1, frame(1), 1.0)
    with pytest.raises(LocalProtocolError):
        call(shipped)
    assert (shipped.next_sender_seq(), shipped.next_target_seq()) == (2, 1)
    assert shipped.get(1, 0) == [(1, frame(1))]


def test_closed_store_refuses_use(shipped: MessageStore) -> None:
    shipped.close()
    shipped.close()
    for call in (
        lambda: shipped.next_sender_seq(),
        lambda: shipped.save(1, b"x", 1.0),
        lambda: shipped.get(1, 0),
        lambda: shipped.set_next_target_seq(3),
    ):
        with pytest.raises(StoreError):
            call()


def test_store_error_is_a_fix_error() -> None:
    assert issubclass(StoreError, FixError)


def test_memory_store_is_a_context_manager() -> None:
    with MemoryStore() as s:
        s.save(1, b"x", 1.0)
    with pytest.raises(StoreError):
        s.get(1, 0)


def test_memory_store_max_messages_keeps_the_newest() -> None:
    s = MemoryStore(max_messages=8)
    for seq in range(1, 10):  # 9 = 8 + an eighth: nothing dropped yet
        s.save(seq, frame(seq), float(seq))
    assert [seq for seq, _ in s.get(1, 0)] == list(range(1, 10))
    s.save(10, frame(10), 10.0)  # past the ceiling: down to the newest 8 at once
    assert [seq for seq, _ in s.get(1, 0)] == list(range(3, 11))
    for seq in range(11, 1000):
        s.save(seq, frame(seq), float(seq))
        assert len(s.get(1, 0)) <= 9
    assert s.get(998, 999) == [(998, frame(998)), (999, frame(999))]
    assert s.next_sender_seq() == 1000  # the counters are not bounded, only what is kept
    for bad in (0, -1, 1.5, True):
        with pytest.raises(LocalProtocolError, match="max_messages"):
            MemoryStore(max_messages=bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- FileStore


def fill(s: FileStore) -> None:
    """A store with every kind of record: messages, gaps, both seqs, a reset, a prune."""
    for seq in range(1, 6):
        s.save(seq, frame(seq, "old"), float(seq))
    s.reset(10.0)
    for seq in range(1, 21):
        s.set_next_target_seq(seq + 1)
        if seq % 4 == 0:
            s.set_next_sender_seq(seq + 1)
        else:
            s.save(seq, frame(seq), 10.0 + seq)
    s.prune(13.0)


def snapshot(s: MessageStore) -> tuple[int, int, list[tuple[int, bytes]]]:
    return s.next_sender_seq(), s.next_target_seq(), s.get(1, 0)


def test_reopen_restores_everything(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    model = MemoryStore()
    with FileStore(path) as s:
        fill(s)
        fill(model)
        assert snapshot(s) == snapshot(model)
        assert s.recovery.created
    with FileStore(path) as s:
        assert snapshot(s) == snapshot(model)
        assert s.recovery.clean and not s.recovery.created
        # the times came back too: prune cuts at the same place
        s.prune(16.0)
        model.prune(16.0)
        assert snapshot(s) == snapshot(model)
        assert repr(s).startswith("FileStore(")
        assert s.path == path
    assert "closed" in repr(s)


def test_path_may_be_a_str_and_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.log"
    link = tmp_path / "link.log"
    with FileStore(str(real)) as s:
        s.save(1, frame(1), 1.0)
    link.symlink_to(real)
    with FileStore(link, compact_bytes=0) as s:
        s.save(2, frame(2), 2.0)
        s.compact()
    assert link.is_symlink()  # compaction replaced the target, not the link
    with FileStore(real) as s:
        assert [q for q, _ in s.get(1, 0)] == [1, 2]


def record_offsets(path: Path) -> list[int]:
    """Start offset of each record of a clean log (walks the length fields)."""
    data = path.read_bytes()
    offsets = []
    pos = HEADER_LEN
    while pos < len(data):
        offsets.append(pos)
        (length,) = struct.unpack_from(">I", data, pos + 8)
        pos += 16 + length
    assert pos == len(data)
    return offsets


LAST_CALLS: dict[str, Callable[[FileStore], None]] = {
    "message": lambda s: s.save(s.next_sender_seq(), frame(0, "last" * 20), 50.0),
    "sender-seq": lambda s: s.set_next_sender_seq(100),
    "target-seq": lambda s: s.set_next_target_seq(100),
    "reset": lambda s: s.reset(60.0),
    "prune": lambda s: s.prune(19.0),
}


@pytest.mark.parametrize("last", sorted(LAST_CALLS))
def test_torn_last_record_recovers_to_the_previous_one(tmp_path: Path, last: str) -> None:
    path = tmp_path / "s.log"
    with FileStore(path) as s:
        fill(s)
        before = snapshot(s)
        good_size = path.stat().st_size
        LAST_CALLS[last](s)
        after = snapshot(s)
        assert after != before
    full = path.read_bytes()
    assert len(full) > good_size
    with FileStore(path) as s:
        assert snapshot(s) == after  # the complete record counts
    for cut in range(good_size, len(full)):
        path.write_bytes(full[:cut])
        with FileStore(path) as s:
            assert snapshot(s) == before, cut
            assert s.recovery.truncated_at == (good_size if cut > good_size else None)
            assert s.recovery.truncated_bytes == cut - good_size
            assert not s.recovery.skipped
            assert path.stat().st_size == good_size  # truncated on open
            s.save(s.next_sender_seq(), frame(99), 99.0)  # and writable at once
            expected = snapshot(s)
        with FileStore(path) as s:
            assert snapshot(s) == expected
            assert s.recovery.clean


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00" * 4096,
        bytes(random.Random(7).randrange(256) for _ in range(1000)),
        b"\xc5\xd2\x8f\x5a",  # a record marker and nothing more
        b"\xc5\xd2\x8f\x5a" + b"\xff" * 40,
        b"8=FIXT.1.1\x019=5\x0135=0\x0110=000\x01",
    ],
    ids=["zeros", "random", "marker", "marker-junk", "text"],
)
def test_garbage_after_the_last_record_is_cut(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "s.log"
    with FileStore(path) as s:
        fill(s)
        expected = snapshot(s)
    size = path.stat().st_size
    with path.open("ab") as f:
        f.write(garbage)
    with FileStore(path) as s:
        assert snapshot(s) == expected
        assert s.recovery == Recovery(
            records=s.recovery.records, truncated_at=size, truncated_bytes=len(garbage)
        )
    assert path.stat().st_size == size


def test_a_copied_record_is_not_taken_for_a_real_one(tmp_path: Path) -> None:
    """Every record names its own offset: a valid record at the wrong place is garbage."""
    path = tmp_path / "s.log"
    with FileStore(path) as s:
        for seq in range(1, 4):
            s.save(seq, frame(seq), float(seq))
        expected = snapshot(s)
    data = path.read_bytes()
    offsets = record_offsets(path)
    copy = data[offsets[0] : offsets[1]]  # message 1, intact
    path.write_bytes(data + copy)
    with FileStore(path) as s:
        assert snapshot(s) == expected
        assert s.recovery.truncated_bytes == len(copy)


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))


def test_damage_inside_the_log_is_skipped_and_later_records_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    with FileStore(path) as s:
        for seq in range(1, 11):
            s.set_next_target_seq(seq * 10)
            s.save(seq, frame(seq), float(seq))
        expected = snapshot(s)
    offsets = record_offsets(path)  # target, message, target, message, ...
    msg5 = offsets[9]
    flip(path, msg5 + 60)  # a byte of message 5's frame
    with FileStore(path) as s:
        assert s.recovery.skipped == ((msg5, offsets[10] - msg5),)
        assert s.recovery.truncated_bytes == 0
        assert s.next_sender_seq() == expected[0]
        assert s.next_target_seq() == expected[1]
        assert s.get(1, 0) == [m for m in expected[2] if m[0] != 5]  # only message 5 is lost
        s.save(11, frame(11), 11.0)
    with FileStore(path) as s:  # still readable (the damaged bytes stay until compaction)
        assert [q for q, _ in s.get(1, 0)] == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
        s.compact()
    with FileStore(path) as s:
        assert s.recovery.clean
        assert [q for q, _ in s.get(1, 0)] == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]


@pytest.mark.parametrize("where", ["marker", "crc", "length", "position", "kind", "sender"])
def test_any_damaged_header_field_is_detected(tmp_path: Path, where: str) -> None:
    field_offset = {"marker": 1, "crc": 5, "length": 10, "position": 15, "kind": 16, "sender": 25}
    path = tmp_path / "s.log"
    with FileStore(path) as s:
        for seq in range(1, 6):
            s.save(seq, frame(seq), float(seq))
    offsets = record_offsets(path)
    flip(path, offsets[2] + field_offset[where])  # message 3
    with FileStore(path) as s:
        assert [q for q, _ in s.get(1, 0)] == [1, 2, 4, 5]
        assert s.recovery.skipped == ((offsets[2], offsets[3] - offsets[2]),)
        assert s.next_sender_seq() == 6


def test_a_damaged_seq_record_loses_no_sequence_number(tmp_path: Path) -> None:
    """Every record carries the full sequence state, so a lost SENDER_SEQ does not matter."""
    path = tmp_path / "s.log"
    with FileStore(path) as s:
        s.save(1, frame(1), 1.0)
        s.set_next_sender_seq(500)  # record 1: the one we damage
        s.set_next_target_seq(7)
        expected = snapshot(s)
    flip(path, record_offsets(path)[1] + 30)
    with FileStore(path) as s:
        assert snapshot(s) == expected
        assert len(s.recovery.skipped) == 1


def test_a_damaged_reset_record_does_not_resurrect_old_messages(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    with FileStore(path) as s:
        for seq in range(1, 6):
            s.save(seq, frame(seq, "before"), float(seq))
        s.reset(10.0)  # record 5
        s.set_next_sender_seq(3)  # admin messages 1 and 2 after the reset
        s.set_next_target_seq(4)
        expected = snapshot(s)
        assert expected == (3, 4, [])
    flip(path, record_offsets(path)[5] + 20)
    with FileStore(path) as s:
        assert snapshot(s) == expected


def test_damage_in_the_last_record_is_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    with FileStore(path) as s:
        s.save(1, frame(1), 1.0)
        before = snapshot(s)
        s.save(2, frame(2), 2.0)
    last = record_offsets(path)[-1]
    flip(path, last + 40)
    with FileStore(path) as s:
        assert snapshot(s) == before
        assert s.recovery.truncated_at == last


@pytest.mark.parametrize(
    ("content", "offset"),
    [
        (b"hello, this is not a store at all", 0),
        (b"KFIXLOX\n" + bytes(8), 6),
        (b"X", 0),  # a short file that is not a prefix of the header either
        (b"KFIXLOG\r\n", 7),
    ],
)
def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path, content: bytes, offset: int) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(content)
    with pytest.raises(StoreError) as info:
        FileStore(path)
    message = str(info.value)
    assert str(path) in message and "not a kalshi-fix-sansio message store" in message
    assert f"byte offset {offset}" in message
    assert info.value.offset == offset and info.value.path == path
    assert path.read_bytes() == content  # left alone


def test_unsupported_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    path.write_bytes(b"KFIXLOG\n" + struct.pack(">II", 2, 0))
    with pytest.raises(StoreError, match=r"unsupported store format version 2 at byte offset 8"):
        FileStore(path)


def test_a_creation_cut_short_is_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    with FileStore(path):
        pass
    header = path.read_bytes()
    assert len(header) == HEADER_LEN
    for k in range(HEADER_LEN):
        path.write_bytes(header[:k])
        with FileStore(path) as s:
            assert s.recovery.created
            assert snapshot(s) == (1, 1, [])
        assert path.read_bytes() == header


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory") as info:
        FileStore(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "s.log"
    with pytest.raises(StoreError, match="does not exist") as info:
        FileStore(path)
    assert str(path) in str(info.value)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions"
)
def test_permission_denied_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    FileStore(path).close()
    path.chmod(0o400)
    with pytest.raises(StoreError, match="Permission denied") as info:
        FileStore(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value.__cause__, PermissionError)


def test_permission_error_is_surfaced_with_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.log"
    real_open = os.open

    def denied(name: str, flags: int, mode: int = 0o777) -> int:
        if str(name).endswith("s.log"):
            raise PermissionError(errno.EACCES, "Permission denied", name)
        return real_open(name, flags, mode)

    monkeypatch.setattr(store_module.os, "open", denied)
    with pytest.raises(StoreError, match="Permission denied") as info:
        FileStore(path)
    assert str(path) in str(info.value) and "read and write access" in str(info.value)


def test_a_second_opener_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    with FileStore(path) as s:
        with pytest.raises(StoreError, match="in use by another FileStore"):
            FileStore(path)
        s.compact()  # the new file is locked too
        with pytest.raises(StoreError, match="in use"):
            FileStore(path)
    FileStore(path).close()


def test_compaction_keeps_content_and_shrinks_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    with FileStore(path, compact_bytes=0) as s:
        fill(s)
        for n in range(2000):
            s.set_next_target_seq(100 + n)  # inbound traffic: garbage once superseded
        s.prune(15.0)
        expected = snapshot(s)
        big = path.stat().st_size
        s.compact()
        assert snapshot(s) == expected
        small = path.stat().st_size
        assert small < big / 10
        # 16 header + one 37-byte state record + one record per stored message
        assert small == 16 + 37 + sum(53 + len(f) for _, f in expected[2])
        s.save(s.next_sender_seq(), frame(77), 77.0)
        expected = snapshot(s)
    assert not Path(str(path) + ".compact-tmp").exists()
    with FileStore(path) as s:
        assert snapshot(s) == expected
        assert s.recovery.clean


def test_automatic_compaction_bounds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    sizes = []
    with FileStore(path, compact_bytes=4096) as s:
        for n in range(1, 3001):
            s.set_next_target_seq(n + 1)
            if n % 3 == 0:
                s.save(s.next_sender_seq(), frame(n), float(n))
            sizes.append(path.stat().st_size)
        expected = snapshot(s)
        live = 16 + 37 + sum(53 + len(f) for _, f in expected[2])
        assert max(sizes) <= max(4096, 2 * live) + 200
        assert any(b < a for a, b in itertools.pairwise(sizes))  # it did compact
    with FileStore(path) as s:
        assert snapshot(s) == expected


def test_a_stale_compaction_file_is_removed_on_open(tmp_path: Path) -> None:
    """A kill during compaction, before the rename, leaves the old log and a partial new one."""
    path = tmp_path / "s.log"
    with FileStore(path) as s:
        fill(s)
        expected = snapshot(s)
    tmp = Path(str(path) + ".compact-tmp")
    tmp.write_bytes(path.read_bytes()[:100])
    with FileStore(path) as s:
        assert snapshot(s) == expected
    assert not tmp.exists()


def test_a_failed_compaction_leaves_the_store_working(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    tmp = Path(str(path) + ".compact-tmp")
    with FileStore(path, compact_bytes=200) as s:
        for n in range(1, 11):
            s.save(n, frame(n), float(n))
        tmp.mkdir()  # the temporary file cannot be created
        with pytest.raises(StoreError, match="compaction file") as info:
            s.compact()
        assert isinstance(info.value.__cause__, IsADirectoryError)
        for n in range(1, 100):  # automatic compactions fail quietly: the calls succeed
            s.set_next_target_seq(n + 1)
        assert isinstance(s.compaction_error, StoreError)
        expected = snapshot(s)
        tmp.rmdir()
        size = path.stat().st_size
        for n in range(100, 400):
            s.set_next_target_seq(n + 1)
        assert s.compaction_error is None  # retried once the log doubled, and it worked
        assert path.stat().st_size < size
        expected = (expected[0], 400, expected[2])
        assert snapshot(s) == expected
    with FileStore(path) as s:
        assert snapshot(s) == expected


def test_a_failed_write_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.log"
    s = FileStore(path)
    s.save(1, frame(1), 1.0)
    expected = snapshot(s)
    size = path.stat().st_size
    real_write = os.write

    def half_then_enospc(fd: int, data: bytes) -> int:
        if fd != s._fd:
            return real_write(fd, data)
        if len(data) > 10:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module.os, "write", half_then_enospc)
    with pytest.raises(StoreError, match="No space left on device") as info:
        s.save(2, frame(2), 2.0)
    assert info.value.path == path
    monkeypatch.setattr(store_module.os, "write", real_write)
    assert snapshot(s) == expected
    assert path.stat().st_size == size  # the half record was taken back
    s.save(2, frame(2), 2.0)
    expected = snapshot(s)
    s.close()
    with FileStore(path) as s2:
        assert snapshot(s2) == expected
        assert s2.recovery.clean


def test_a_failed_fsync_stops_further_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.log"
    with FileStore(path, fsync=True) as s:
        s.save(1, frame(1), 1.0)

        def eio(fd: int) -> None:
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(store_module.os, "fsync", eio)
        with pytest.raises(StoreError, match="Input/output error"):
            s.save(2, frame(2), 2.0)
        monkeypatch.undo()
        with pytest.raises(StoreError, match="close and reopen"):
            s.set_next_target_seq(5)
        assert s.get(1, 0) == [(1, frame(1))]  # reading still works
    with FileStore(path) as s:
        # the record whose fsync failed reached the page cache: it counts (no seq is reused)
        assert s.next_sender_seq() == 3


def test_fsync_true_syncs_every_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_fsync = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(store_module.os, "fsync", counting)
    with FileStore(tmp_path / "a.log", fsync=True, compact_bytes=0) as s:
        calls.clear()
        s.save(1, frame(1), 1.0)
        s.set_next_target_seq(2)
        s.set_next_target_seq(2)  # unchanged: nothing written
        s.reset(2.0)
        assert len(calls) == 3
    with FileStore(tmp_path / "b.log", compact_bytes=0) as s:
        calls.clear()
        s.save(1, frame(1), 1.0)
        s.set_next_target_seq(2)
        assert calls == []
        s.compact()  # compaction always syncs: the file, then the directory
        assert len(calls) == 2


def test_prune_is_durable_without_compaction(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    with FileStore(path, compact_bytes=0) as s:
        for seq in range(1, 6):
            s.save(seq, frame(seq), float(seq))
        s.prune(3.0)
        size = path.stat().st_size
        s.prune(3.0)  # nothing to drop: nothing written
        assert path.stat().st_size == size
    with FileStore(path) as s:
        assert [q for q, _ in s.get(1, 0)] == [3, 4, 5]
