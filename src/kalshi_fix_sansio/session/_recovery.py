"""Gap recovery: one of the parts a `Session` is built from.

When an inbound MsgSeqNum jumps ahead on a retransmission session, the session hands the frame
to `GapRecovery.behind`: it asks for the missing range (ResendRequest, EndSeqNo 0) and keeps the
frames that arrived beyond the gap, to process them in turn once the gap closes (`drain`,
through the session's ``replay``). It decides whether a frame is kept (the queue is bounded),
when the ResendRequest is due again and when to give up (`timer`), and answers the peer's
ResendRequests (`answer`: stored application messages resent, the rest gap-filled, and while
the order gate halts trading, the stored messages it refuses gap-filled too). It writes
through the outbound writer and reports through ``emit``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from ._outbound import Outbound
from .events import (
    Event,
    GapDetected,
    ResendRequestReceived,
    ResendRequestSent,
    ResendWithheld,
)

__all__ = ["GapRecovery", "Retry"]


class Retry(enum.Enum):
    """What an unanswered ResendRequest calls for when its timer runs out."""

    ASK = "ask again"
    GIVE_UP = "give up"


class GapRecovery:
    """Gap recovery on one session (see the module).

    Args:
        writer: the session's outbound writer (ResendRequests, resends and gap fills).
        emit: where events go (the session's event queue).
        replay: the session's handling of a frame kept behind the gap, in its turn; returns
            False once the session closed (the rest is not replayed).
        active: whether the session is logged on (a ResendRequest may go out).
        max_messages: most frames kept behind the gap.
        max_bytes: most bytes kept behind the gap.
        retries: ResendRequests repeated (one heartbeat interval apart) while nothing moves,
            before giving up.
        withhold: asked with each stored message a ResendRequest would resend: True keeps it
            back (it is gap-filled instead: the order gate's halt, `OrderGate.withhold`).
    """

    __slots__ = (
        "_active",
        "_asked_at",
        "_asked_from",
        "_bytes",
        "_draining",
        "_dropped",
        "_emit",
        "_max_bytes",
        "_max_messages",
        "_replay",
        "_retransmission",
        "_retries",
        "_retries_left",
        "_store",
        "_withhold",
        "_writer",
        "pending",
        "until",
    )

    def __init__(
        self,
        writer: Outbound,
        emit: Callable[[Event], None],
        replay: Callable[[bytes], bool],
        active: Callable[[], bool],
        *,
        max_messages: int,
        max_bytes: int,
        retries: int,
        withhold: Callable[[Any], bool] | None = None,
    ) -> None:
        self._writer = writer
        self._withhold = withhold
        self._store = writer.store
        self._retransmission = writer.config.spec.retransmission
        self._emit = emit
        self._replay = replay
        self._active = active
        self._draining = False
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

    # -- what the session asks of it ------------------------------------------------------

    def behind(self, seq: int, frame: bytes, expected: int, now: float) -> None:
        """A frame numbered ``seq`` arrived beyond ``expected``: kept to process in its turn
        (``b""``: it counts, already handled), and the missing range asked for if no gap is
        being recovered there yet."""
        self.keep(seq, frame)  # bounded: past the bounds it is asked for again later
        if self.opens(expected):
            self._emit(GapDetected(expected, seq, True))
            self.ask(expected, now, fresh=True)
        self.seen(seq)

    def ask(self, expected: int, now: float, fresh: bool) -> None:
        """Send a ResendRequest from ``expected`` to the end (``fresh``: for a new gap)."""
        writer = self._writer
        writer.send_admin(writer.dialect.ResendRequest(begin_seq_no=expected, end_seq_no=0), now)
        self.asked(expected, now, fresh)
        self._emit(ResendRequestSent(expected, 0))

    def drain(self, now: float) -> None:
        """Process the kept frames the sequence has reached, in turn (linear in their number)."""
        if not self.pending or self._draining:
            return
        store = self._store
        self._draining = True
        try:
            while True:
                expected = store.next_target_seq()
                frame = self.take(expected)
                if frame is None:
                    break
                if not frame:  # answered already (a ResendRequest beyond the gap)
                    store.set_next_target_seq(expected + 1)
                    continue
                if not self._replay(frame):
                    break
        finally:
            self._draining = False
        expected = store.next_target_seq()
        if self.settle(expected) and self._active():
            # frames past the queue's bound were not kept: ask for them again now
            self.ask(expected, now, fresh=True)

    def timer(self, now: float, interval: float) -> bool:
        """Ask again for a gap whose ResendRequest (or what it brought back) got lost.

        Returns:
            False when the retries are used up: the session gives up.
        """
        due = self.due(interval)
        if due is None or now < due:
            return True
        expected = self._store.next_target_seq()
        if self.retry(expected) is Retry.GIVE_UP:
            return False
        self.ask(expected, now, fresh=False)
        return True

    def answer(self, msg: Any, now: float) -> None:
        """Answer the peer's ResendRequest at once: stored application messages resent with
        PossDupFlag=Y and OrigSendingTime, the rest (admin messages, anything no longer
        stored, everything without retransmission) as SequenceReset-GapFill; EndSeqNo 0 or
        beyond the last sent means "to the end"."""
        writer, store = self._writer, self._store
        begin = msg.begin_seq_no or 1
        end_raw = msg.end_seq_no or 0
        last = store.next_sender_seq() - 1
        end = last if end_raw == 0 or end_raw > last else end_raw
        resent = gap_filled = 0
        if begin > end:
            self._emit(ResendRequestReceived(begin, end_raw, 0, 0))
            return
        stored = store.get(begin, end) if self._retransmission else []
        cursor = begin
        withhold, withheld = self._withhold, []
        for seq, old_frame in stored:
            old = writer.stored(old_frame)
            if withhold is not None and withhold(old):
                withheld.append((seq, old))  # gap-filled with the numbers around it
                continue
            if seq > cursor:
                gap_filled += seq - cursor
                writer.gap_fill(cursor, seq, now)
            writer.resend_message(old, seq, now)
            resent += 1
            cursor = seq + 1
        if cursor <= end:
            gap_filled += end + 1 - cursor
            writer.gap_fill(cursor, end + 1, now)
        writer.last_tx = now
        if withheld:
            self._emit(
                ResendWithheld(
                    tuple(seq for seq, _ in withheld),
                    tuple(old.MSG_TYPE for _, old in withheld),
                    tuple(getattr(old, "cl_ord_id", None) or "" for _, old in withheld),
                )
            )
        self._emit(ResendRequestReceived(begin, end_raw, resent, gap_filled))
