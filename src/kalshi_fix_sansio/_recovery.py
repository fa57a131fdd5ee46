"""Gap recovery: what a session remembers while it waits for a resend.

When an inbound MsgSeqNum jumps ahead on a retransmission session, the session asks for the
missing range (ResendRequest, EndSeqNo 0) and keeps the frames that arrived beyond the gap, to
process them in turn once the gap closes. `GapRecovery` holds that state and makes its small
decisions: whether a frame is kept (the queue is bounded), when the ResendRequest is due again,
when to give up. It sends nothing itself; the session does, as the decisions say.
"""

from __future__ import annotations

import enum

__all__ = ["GapRecovery", "Retry"]


class Retry(enum.Enum):
    """What an unanswered ResendRequest calls for when its timer runs out."""

    ASK = "ask again"
    GIVE_UP = "give up"


class GapRecovery:
    """The state of gap recovery on one session.

    Args:
        max_messages: most frames kept behind the gap.
        max_bytes: most bytes kept behind the gap.
        retries: ResendRequests repeated (one heartbeat interval apart) while nothing moves,
            before giving up.
    """

    __slots__ = (
        "_asked_at",
        "_asked_from",
        "_bytes",
        "_dropped",
        "_max_bytes",
        "_max_messages",
        "_retries",
        "_retries_left",
        "pending",
        "until",
    )

    def __init__(self, max_messages: int, max_bytes: int, retries: int) -> None:
        self.pending: dict[int, bytes] = {}
        """MsgSeqNum -> frame kept beyond the gap (``b""``: counts, already handled)."""
        self.until = 0
        """The highest MsgSeqNum seen beyond the gap (0: no gap open)."""
        self._bytes = 0
        self._dropped = False
        self._asked_at = 0.0
        self._asked_from = 0
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._retries = retries
        self._retries_left = retries

    @property
    def open(self) -> bool:
        """A gap is being recovered."""
        return self.until != 0

    def opens(self, expected: int) -> bool:
        """Whether a frame beyond ``expected`` opens a new gap (none is being recovered there)."""
        return self.until < expected

    def seen(self, seq: int) -> None:
        """A frame numbered ``seq`` arrived beyond the gap (kept or not)."""
        self.until = max(self.until, seq)

    def keep(self, seq: int, frame: bytes) -> None:
        """Keep a frame to process in turn; past the bounds it is not kept (and asked again)."""
        if seq in self.pending:
            return
        if not frame:
            self.pending[seq] = frame
        elif len(self.pending) < self._max_messages and self._bytes + len(frame) <= self._max_bytes:
            self.pending[seq] = frame
            self._bytes += len(frame)
        else:
            self._dropped = True

    def take(self, seq: int) -> bytes | None:
        """The frame kept for ``seq``, removed from the queue (None when there is none)."""
        frame = self.pending.pop(seq, None)
        if frame is not None:
            self._bytes -= len(frame)
        return frame

    def settle(self, expected: int) -> bool:
        """After the queue was drained up to ``expected``: forget what the sequence passed.

        Returns:
            True when frames past the bound were not kept and must be asked for again now.
        """
        pending = self.pending
        if pending:  # what a SequenceReset moved past is stale
            for old in [s for s in pending if s < expected]:
                self._bytes -= len(pending.pop(old))
        if pending:
            return False
        if expected > self.until:
            self.clear()
            return False
        if self._dropped:
            self._dropped = False
            return True
        return False

    def asked(self, expected: int, now: float, fresh: bool) -> None:
        """A ResendRequest from ``expected`` went out at ``now`` (``fresh``: a new gap)."""
        self._asked_at = now
        self._asked_from = expected
        if fresh:
            self._retries_left = self._retries

    def due(self, interval: float) -> float | None:
        """When the ResendRequest is due again if nothing arrives (None: no gap open)."""
        return self._asked_at + interval if self.until else None

    def retry(self, expected: int) -> Retry:
        """The ResendRequest's timer ran out: ask again, or give up after the retries."""
        if expected > self._asked_from:  # the resend is progressing: a fresh allowance
            self._retries_left = self._retries
        elif self._retries_left <= 0:
            return Retry.GIVE_UP
        self._retries_left -= 1
        return Retry.ASK

    def clear(self) -> None:
        """Forget the gap and everything kept (a reset, or the gap closed)."""
        self.pending.clear()
        self._bytes = 0
        self._dropped = False
        self.until = 0
