"""Message stores: the session's sequence numbers and the outbound messages kept for resend.

A FIX session needs two counters that must survive whatever happens to the process (the
MsgSeqNum of the next outbound message and the MsgSeqNum expected on the next inbound one) and,
on retransmission sessions, the outbound application messages it may have to resend. The
session reads and writes them through the `MessageStore` protocol; two implementations ship:

* `MemoryStore`: plain dicts and lists, gone with the process (tests, market-data sessions).
* `FileStore` (in `kalshi_fix_sansio.session.filestore`): an append-only log on disk that survives
  restarts and a process killed at any instant (SIGKILL in the middle of a write), optionally
  power loss (``fsync=True``).

Like the rest of the core, this module does no networking and reads no clock: every call that
records a time takes it as an argument (``now``, UTC seconds since the epoch, `time.time()`
style). The file format and the crash guarantees are described in ``docs/stores.md`` and in
`kalshi_fix_sansio.session.filestore`.
"""

from __future__ import annotations

import bisect
import math
from pathlib import Path
from typing import Generic, Protocol, TypeVar, runtime_checkable

from ..codec.errors import FixError, LocalProtocolError

__all__ = [
    "MAX_SEQ",
    "MemoryStore",
    "MessageStore",
    "StoreError",
]

MAX_SEQ = 2**63 - 1
"""The largest next sequence number a store accepts (it must fit the FileStore log's unsigned 64-bit
fields with room for ``seq + 1``); a larger one raises `LocalProtocolError`."""


class StoreError(FixError):
    """A message store cannot do what was asked: the file is not a store, is locked, unreadable,
    a write failed, or the store is closed.

    Attributes:
        path: the store file concerned, when there is one.
        offset: the byte offset in that file of the problem, when known.
    """

    def __init__(self, text: str, *, path: Path | None = None, offset: int | None = None) -> None:
        super().__init__(text)
        self.path = path
        self.offset = offset


@runtime_checkable
class MessageStore(Protocol):
    """What the session needs from a message store; implement it to plug in your own.

    A store holds three things: the next outbound MsgSeqNum, the next expected inbound MsgSeqNum
    (both start at 1) and the outbound messages that may have to be resent, each with the time it
    was sent. The session calls the methods from one thread, never concurrently, and treats any
    exception as fatal for the current operation (nothing is retried behind your back).

    The contract an implementation must keep (the session's correctness rests on it):

    * `save` is atomic: after it returns, the message is retrievable with `get` **and**
      `next_sender_seq()` is ``seq + 1``; if it raises, neither happened. A durable store must
      make the pair durable together (one record, one transaction), so that a crash can never
      leave a stored message with a sequence number the store would hand out again.
    * The session saves a message *before* its bytes can reach the wire, and moves the counters
      (`set_next_sender_seq` after an admin message, `set_next_target_seq` after each inbound
      message) right after. A durable store must therefore never, after a restart, report a
      `next_sender_seq()` lower than what a completed call left it at: reusing an outbound
      sequence number makes Kalshi reject or, worse, ignore messages.
    * `get` returns copies the caller may keep; a missing sequence number is simply absent from
      the result (the session fills the hole with a SequenceReset-GapFill).
    * Times are UTC seconds since the epoch passed in by the caller; a store never reads a clock.

    Methods of a closed store may raise; `close` itself may be called any number of times.
    `MemoryStore` is a compact reference implementation; ``docs/stores.md`` shows one on SQLite,
    and ``tests/test_store.py`` runs its contract tests on every factory in its ``STORES`` dict
    (add yours there).
    """

    def next_sender_seq(self) -> int:
        """The MsgSeqNum the next outbound message gets.

        Returns:
            A sequence number >= 1 (1 for a new store or after `reset`).
        """
        ...

    def next_target_seq(self) -> int:
        """The MsgSeqNum expected on the next inbound message.

        Returns:
            A sequence number >= 1 (1 for a new store or after `reset`).
        """
        ...

    def set_next_sender_seq(self, seq: int) -> None:
        """Set the MsgSeqNum the next outbound message gets (after an unsaved admin message).

        Args:
            seq: the new value, >= 1.
        """
        ...

    def set_next_target_seq(self, seq: int) -> None:
        """Set the MsgSeqNum expected on the next inbound message.

        Args:
            seq: the new value, >= 1.
        """
        ...

    def save(self, seq: int, frame: bytes, now: float) -> None:
        """Store an outbound message for resend and make ``seq + 1`` the next sender seq, atomically.

        Saving a sequence number already stored replaces that message.

        Args:
            seq: the message's MsgSeqNum, >= 1.
            frame: the complete encoded message, as sent.
            now: when it was sent, UTC seconds since the epoch.
        """
        ...

    def get(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """The stored messages with ``begin <= seq <= end``, ascending.

        Args:
            begin: the first sequence number wanted.
            end: the last one wanted; 0 means "up to the last stored message".

        Returns:
            ``(seq, frame)`` pairs in ascending seq order; missing sequence numbers are absent.
        """
        ...

    def reset(self, now: float) -> None:
        """Start over: both next sequence numbers back to 1, every stored message dropped.

        Called for a Logon with ResetSeqNumFlag(141)=Y.

        Args:
            now: when the reset happened, UTC seconds since the epoch.
        """
        ...

    def prune(self, older_than: float) -> None:
        """Drop the stored messages saved before ``older_than`` (retention).

        Args:
            older_than: cutoff, UTC seconds since the epoch; messages saved at exactly this
                time are kept. The session computes it from MessageRetentionPeriod.
        """
        ...

    def close(self) -> None:
        """Release the store's resources; safe to call more than once."""
        ...


# --------------------------------------------------------------------------------------------
# argument checks (caller misuse -> LocalProtocolError at once)


def _check_seq(name: str, value: int, maximum: int = MAX_SEQ) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LocalProtocolError(f"{name} must be an int, got {type(value).__name__}")
    if not 1 <= value <= maximum:
        raise LocalProtocolError(f"{name} must be between 1 and {maximum}, got {value}")
    return value


def _check_bound(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LocalProtocolError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise LocalProtocolError(f"{name} must be >= 0, got {value}")
    return value


def _check_time(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LocalProtocolError(
            f"{name} must be UTC seconds since the epoch (a float), got {type(value).__name__}"
        )
    result = float(value)
    if not math.isfinite(result):
        raise LocalProtocolError(f"{name} must be a finite number, got {value!r}")
    return result


def _check_frame(frame: bytes) -> bytes:
    if isinstance(frame, bytes):
        return frame
    if isinstance(frame, (bytearray, memoryview)):
        return bytes(frame)
    raise LocalProtocolError(f"frame must be bytes, got {type(frame).__name__}")


# --------------------------------------------------------------------------------------------
# the sorted index both stores use: seqs ascending (for bisect) + seq -> (time, value)

_V = TypeVar("_V")


class _Index(Generic[_V]):
    __slots__ = ("entries", "seqs")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.entries: dict[int, tuple[float, _V]] = {}

    def put(self, seq: int, time: float, value: _V) -> tuple[float, _V] | None:
        """Insert or replace; returns the replaced entry."""
        old = self.entries.get(seq)
        self.entries[seq] = (time, value)
        if old is None:
            seqs = self.seqs
            if not seqs or seq > seqs[-1]:
                seqs.append(seq)  # the usual case: O(1)
            else:
                bisect.insort(seqs, seq)
        return old

    def select(self, begin: int, end: int) -> list[int]:
        seqs = self.seqs
        lo = bisect.bisect_left(seqs, begin)
        hi = len(seqs) if end == 0 else bisect.bisect_right(seqs, end)
        return seqs[lo:hi]

    def older_than(self, cutoff: float) -> list[int]:
        entries = self.entries
        return [s for s in self.seqs if entries[s][0] < cutoff]

    def remove(self, doomed: list[int]) -> list[tuple[float, _V]]:
        entries = self.entries
        removed = [entries.pop(s) for s in doomed]
        gone = set(doomed)
        self.seqs = [s for s in self.seqs if s not in gone]
        return removed

    def drop_oldest(self, count: int) -> None:
        """Remove the ``count`` lowest sequence numbers."""
        doomed = self.seqs[:count]
        del self.seqs[:count]
        entries = self.entries
        for seq in doomed:
            del entries[seq]

    def clear(self) -> None:
        self.seqs = []
        self.entries = {}

    def __len__(self) -> int:
        return len(self.seqs)


# --------------------------------------------------------------------------------------------


class MemoryStore:
    """A message store in memory: fast, and gone with the process.

    `get` costs O(log n + k) for k messages returned; `save` of the next sequence number is
    O(1). Use it for tests, for sessions that reset sequence numbers at every logon, and for
    market-data sessions; use `FileStore` when sequence numbers must survive a restart.

    After `close` every method except `close` raises `StoreError` (it catches a session that
    keeps using a store it gave up).

    With ``max_messages`` the store keeps only the newest messages: past ``max_messages`` plus
    an eighth, the oldest go down to ``max_messages`` at once (so that memory stays flat on a
    session that runs for days whatever its retention; a ResendRequest for a message gone is
    answered with a SequenceReset-GapFill, as for any missing one).
    """

    def __init__(self, *, max_messages: int | None = None) -> None:
        """Create an empty store: both next sequence numbers are 1.

        Args:
            max_messages: the most messages kept, about (see the class docstring); None: no
                bound but `prune`.

        Raises:
            LocalProtocolError: ``max_messages`` is not an int >= 1.
        """
        self._sender = 1
        self._target = 1
        self._index: _Index[bytes] = _Index()
        self._closed = False
        self._max: int | None = None
        self._ceiling = 0
        if max_messages is not None:
            self._max = _check_seq("max_messages", max_messages)
            self._ceiling = self._max + max(1, self._max // 8)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"MemoryStore(next_sender_seq={self._sender}, next_target_seq={self._target}, "
            f"messages={len(self._index)}, {state})"
        )

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the MemoryStore is closed")

    def next_sender_seq(self) -> int:
        """The MsgSeqNum the next outbound message gets.

        Returns:
            A sequence number >= 1.

        Raises:
            StoreError: the store is closed.
        """
        if self._closed:
            self._check_open()
        return self._sender

    def next_target_seq(self) -> int:
        """The MsgSeqNum expected on the next inbound message.

        Returns:
            A sequence number >= 1.

        Raises:
            StoreError: the store is closed.
        """
        if self._closed:
            self._check_open()
        return self._target

    def set_next_sender_seq(self, seq: int) -> None:
        """Set the MsgSeqNum the next outbound message gets.

        Args:
            seq: the new value, >= 1.

        Raises:
            LocalProtocolError: ``seq`` is not an int in range.
            StoreError: the store is closed.
        """
        if self._closed or type(seq) is not int or not 1 <= seq <= MAX_SEQ:  # else: checked
            self._check_open()
            seq = _check_seq("next sender seq", seq)
        self._sender = seq

    def set_next_target_seq(self, seq: int) -> None:
        """Set the MsgSeqNum expected on the next inbound message.

        Args:
            seq: the new value, >= 1.

        Raises:
            LocalProtocolError: ``seq`` is not an int in range.
            StoreError: the store is closed.
        """
        if self._closed or type(seq) is not int or not 1 <= seq <= MAX_SEQ:  # else: checked
            self._check_open()
            seq = _check_seq("next target seq", seq)
        self._target = seq

    def save(self, seq: int, frame: bytes, now: float) -> None:
        """Store an outbound message and make ``seq + 1`` the next sender seq.

        Args:
            seq: the message's MsgSeqNum, >= 1 (a stored seq is replaced).
            frame: the encoded message (bytes; a bytearray or memoryview is copied).
            now: when it was sent, UTC seconds since the epoch.

        Raises:
            LocalProtocolError: an argument has the wrong type or is out of range.
            StoreError: the store is closed.
        """
        self._check_open()
        _check_seq("seq", seq, MAX_SEQ - 1)
        data = _check_frame(frame)
        when = _check_time("now", now)
        index = self._index
        index.put(seq, when, data)
        self._sender = seq + 1
        if self._max is not None and len(index) > self._ceiling:
            index.drop_oldest(len(index) - self._max)

    def get(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """The stored messages with ``begin <= seq <= end``, ascending.

        Args:
            begin: the first sequence number wanted (>= 0).
            end: the last one wanted; 0 means "up to the last stored message".

        Returns:
            ``(seq, frame)`` pairs in ascending order; missing sequence numbers are absent.

        Raises:
            LocalProtocolError: ``begin`` or ``end`` is negative or not an int.
            StoreError: the store is closed.
        """
        self._check_open()
        _check_bound("begin", begin)
        _check_bound("end", end)
        entries = self._index.entries
        return [(s, entries[s][1]) for s in self._index.select(begin, end)]

    def reset(self, now: float) -> None:
        """Both next sequence numbers back to 1 and every stored message dropped.

        Args:
            now: when the reset happened, UTC seconds since the epoch.

        Raises:
            LocalProtocolError: ``now`` is not a finite number.
            StoreError: the store is closed.
        """
        self._check_open()
        _check_time("now", now)
        self._sender = 1
        self._target = 1
        self._index.clear()

    def prune(self, older_than: float) -> None:
        """Drop the stored messages saved before ``older_than``.

        Args:
            older_than: cutoff, UTC seconds since the epoch (messages saved at it are kept).

        Raises:
            LocalProtocolError: ``older_than`` is not a finite number.
            StoreError: the store is closed.
        """
        self._check_open()
        cutoff = _check_time("older_than", older_than)
        doomed = self._index.older_than(cutoff)
        if doomed:
            self._index.remove(doomed)

    def close(self) -> None:
        """Close the store (its content is dropped); safe to call more than once."""
        self._closed = True
        self._index.clear()
