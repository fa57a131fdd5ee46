"""What a session does with what arrives: one of the parts a `Session` is built from.

`Inbound` takes each frame the framer cuts (`on_frame`): it decodes it, puts its header through
the inbound checks (`InboundChecks`), hands what arrives beyond a gap to gap recovery
(`GapRecovery`) and handles each message in its turn: session messages (Heartbeat, TestRequest,
ResendRequest, SequenceReset, Reject, Logon, Logout) are acted on, application messages
delivered as events. It moves the session's life (`Lifecycle`) through the table and writes
through the outbound writer (`Outbound`). It also keeps what the timers need to know of the peer:
when it last heard from it, the TestRequest waiting for an answer, the heartbeat interval.
"""

from __future__ import annotations

from typing import Any

from ..codec import Defect, HandedReader, dialect_codec
from ..codec.errors import DecodeError, RemoteProtocolError
from ._checks import (
    ADMIN,
    DIGITS_TO_ZERO,
    MAX_HEARTBEAT_INTERVAL,
    MAX_SEQ_DIGITS,
    MAX_SEQ_NUM,
    R_INVALID_MSGTYPE,
    R_VALUE_INCORRECT,
    STAMP_SHAPES,
    InboundChecks,
)
from ._outbound import Outbound
from ._recovery import GapRecovery
from ._states import Lifecycle, State, Trigger
from .config import SessionConfig
from .events import (
    ApplicationMessage,
    BusinessRejectReceived,
    DecodeFailure,
    GapDetected,
    LoggedOn,
    LoggedOut,
    LogonRejected,
    RateLimited,
    RejectReceived,
    SequenceReset,
    _set_defects,
    _set_message,
    _set_poss_dup,
    _set_raw,
    _set_seq_num,
)
from .store import MemoryStore

__all__ = ["Inbound"]

_new = object.__new__
_UNTRIED: Any = object()  # `on_frame`'s message not decoded yet
_LANES = 256  # the layouts `Inbound.read_app` remembers the header places of, at most
_RATE_LIMIT_EXCEEDED = 8  # BusinessRejectReason(380) of a rate-limit refusal
# the states as module constants (Enum attribute lookups are slow on the hot path), in order
_IDLE, _AWAITING_LOGON, _LOGON_SENT, _ACTIVE, _LOGOUT_SENT, _CLOSED, _FAILED = State


class Inbound:
    """The inbound side of a session (see the module).

    Args:
        config: the session's configuration.
        life: the session's life (state, clock, events).
        writer: the outbound writer (answers, Rejects, Logon and Logout).
        checks: the inbound checks.
        gaps: gap recovery.
    """

    def __init__(
        self,
        config: SessionConfig,
        life: Lifecycle,
        writer: Outbound,
        checks: InboundChecks,
        gaps: GapRecovery,
    ) -> None:
        self.config = config
        self._life = life
        self._events = life.events
        self._writer = writer
        self._send_admin = writer.send_admin
        self._reject = writer.reject
        self._checks = checks
        self._check_time = checks.sending_time if checks.tolerance is not None else None
        self._gaps = gaps
        self.store = writer.store
        self.dialect = writer.dialect
        self._codec = dialect_codec(
            config.product
        )  # decodes inbound frames; reads their raw header
        self._decode = self._codec.decode
        self._decode_clean = self._codec.decode_clean
        # layout -> where `read_app` reads its four header fields, () for none (`_lane_places`)
        self._lanes: dict[Any, tuple[int, ...]] = {}
        self._retransmission = config.spec.retransmission
        self._strict = config.strict
        self._validate = config.validate_messages
        self._dollars, self._rfq_dollars = writer.dollars, writer.rfq_dollars  # read as written
        # a frame handed over with its values, read from them (`codec._handed`)
        self._read_handed = HandedReader(self._codec, self._dollars, self._rfq_dollars).message
        self.heartbeat_interval = config.heartbeat_interval
        """The interval in force: ours, or the peer's from its Logon."""
        self.last_rx = 0.0
        """When the peer was last heard from (the TestRequest timer counts from it)."""
        self.test_req_id: str | None = None
        """Our TestRequest waiting for its Heartbeat (None: none waiting)."""

    def replay(self, frame: bytes) -> bool:
        """A frame kept behind the gap, in its turn (gap recovery's ``replay``): False once
        the session closed."""
        self.on_frame(frame, replay=True)
        return self._life.state is not _CLOSED

    def on_frame(self, frame: bytes, replay: bool = False, msg: Any = _UNTRIED) -> None:
        """Handle one inbound frame; ``replay``: a frame kept behind a gap, checked on receipt;
        ``msg``: what `Codec.decode_clean` made of it already (`read_app`: the message, or None).

        The checks every message passes are written here once; each fault is judged by the
        inbound checks (`InboundChecks`), gaps go to gap recovery, and the message in its turn
        to `_process` / `_process_app`.
        """
        life = self._life
        now = life.now
        if not replay:
            self.last_rx = now
        # a frame of a layout read before whose values all have their plain form: decoded
        # and found clean in one step (`Codec.decode_clean`: what the decode below and the
        # value check would make of it); any other: None, and it takes the decode and the check
        if msg is _UNTRIED:
            msg = self._decode_clean(frame, self._dollars, self._rfq_dollars)
        clean = msg is not None
        if not clean:
            try:
                # BidPx/OfferPx of RFQ quotes in the units of this session type; the options by
                # position (no keywords: a cheaper call), verify off and tolerant on
                msg = self._decode(frame, self._dollars, False, True, self._rfq_dollars)
            except DecodeError as exc:
                # no fields, or 8, 9, 35 not first: FIX ignores it; no Reject, and its sequence
                # number is not consumed (a gap recovers it like any lost message)
                self._events.append(DecodeFailure(exc, frame, None))
                return
        # the raw header fields every message is checked by (the codec reads them where its
        # remembered layout has them, else from the front of the frame)
        raw_seq, sender, target, poss_dup, stamp = self._codec.session_header(msg)
        mt: str = msg.MSG_TYPE or msg.msg_type
        checks = self._checks
        if raw_seq is None or not raw_seq.isdigit() or len(raw_seq) > MAX_SEQ_DIGITS:
            seq = checks.no_seq_num(msg, raw_seq, mt)
        else:
            seq = int(raw_seq)
            if not 1 <= seq <= MAX_SEQ_NUM:
                seq = checks.no_seq_num(msg, raw_seq, mt)
        if mt != "0":
            self.test_req_id = None  # any message shows the peer is alive
        st = life.state
        if st is _AWAITING_LOGON:
            self._on_acceptor_logon(
                msg,
                mt,
                seq,
                (sender or b"").decode("utf-8", "replace"),
                (target or b"").decode("utf-8", "replace"),
            )
            return
        if st is _LOGON_SENT and mt not in ("A", "5"):
            raise RemoteProtocolError(
                f"expected a Logon in answer to ours, received MsgType {mt!r} (MsgSeqNum {seq})"
            )
        if sender not in checks.accepted_raw or target != checks.expected_target_raw:
            checks.comp_id_problem(sender or b"", target or b"", seq, mt, now)
        check_time = self._check_time
        if check_time is not None and not poss_dup and not replay:
            # a well-formed SendingTime inside the window at a clock reading the window surely
            # holds for passes here; `sending_time` judges every other case (and moves the window)
            lo, hi_top, valid_from, valid_to = checks.stamp_window
            if not (
                valid_from <= now < valid_to
                and lo <= stamp <= hi_top
                and stamp.translate(DIGITS_TO_ZERO) in STAMP_SHAPES
            ):
                check_time(msg, stamp, seq, mt, now)
        if mt in ADMIN:
            # a session message is acted on: the fields the session reads must be sound
            defect = checks.admin_defect(msg, mt)
            if defect is not None:
                if st is _LOGON_SENT:
                    raise RemoteProtocolError(
                        f"malformed answer to our Logon: {defect.text}", reconnect=True
                    )
                if not seq:  # a SequenceReset-Reset, no usable MsgSeqNum: nothing to consume
                    self._reject_defect(frame, mt, seq, defect)
                    return
                self._refuse_in_turn(frame, mt, seq, poss_dup, defect)
                return
            if mt == "4" and msg.gap_fill_flag is not True:
                self._on_sequence_reset(msg, seq)  # Reset mode ignores MsgSeqNum
                return
            if mt == "A" and st is _ACTIVE and msg.reset_seq_num_flag is True:
                self._on_reset_logon(seq)
                return
        elif not poss_dup and seq == self.store.next_target_seq():
            self._process_app(msg, mt, seq, poss_dup, frame, clean)  # the common case: in turn
            if self._gaps.pending:
                self._gaps.drain(now)
            return
        if self._in_turn(frame, msg, mt, seq, poss_dup):
            self._process(msg, mt, seq, poss_dup, frame)
            if self._gaps.pending:
                self._gaps.drain(now)

    def read_app(self, frame: bytes, handed: Any = None) -> ApplicationMessage | None:
        """`on_frame` of a frame `Session.read` read (the session active, with no error, no
        event queued, no TestRequest waiting and no gap open), the event of a clean application
        message in its turn returned rather than queued; None: the frame was `on_frame`'s
        (what it made queued).

        The message's own lane: a frame `Codec.decode_clean` takes, not a session message or
        a 35=j, not a possible duplicate, its MsgSeqNum the one expected, its CompIDs the
        session's and its SendingTime well inside the window (the same quick test as
        `on_frame`'s) is what `on_frame` and `_process_app` would make of it (no other check
        of theirs applies in that state: it is delivered as it is, its number consumed).
        Every other frame goes to `on_frame` with the message decoded here (nothing done twice,
        nothing done before it). ``handed``: a frame, its shape and its values, when a
        simulation's gateway handed them over (`Session.handed_in`): when that frame is
        ``frame`` itself, the message made from them (`codec._handed.HandedReader`: the one
        `decode_clean` makes).
        """
        msg: Any = (
            self._decode_clean(frame, self._dollars, self._rfq_dollars)
            if handed is None or handed[0] is not frame
            else self._read_handed(handed)
        )
        if msg is None:
            self.on_frame(frame, False, None)
            return None
        src = msg._src
        places = self._lanes.get(src.layout)
        if places is None:  # the layout's first message here
            places = self._lane_places(msg, src.layout)
        if not places or self._gaps.pending:
            self.on_frame(frame, False, msg)
            return None
        seq_at, sender_at, target_at, sent_at = places
        flat = src.flat
        raw_seq = flat[seq_at]
        checks = self._checks
        if (
            not raw_seq.isdigit()
            or len(raw_seq) > MAX_SEQ_DIGITS
            or flat[sender_at] not in checks.accepted_raw
            or flat[target_at] != checks.expected_target_raw
        ):
            self.on_frame(frame, False, msg)
            return None
        seq = int(raw_seq)
        now = self._life.now
        if self._check_time is not None:
            lo, hi_top, valid_from, valid_to = checks.stamp_window
            stamp = flat[sent_at]
            if not (
                valid_from <= now < valid_to
                and lo <= stamp <= hi_top
                and stamp.translate(DIGITS_TO_ZERO) in STAMP_SHAPES
            ):
                self.on_frame(frame, False, msg)
                return None
        self.last_rx = now  # as `on_frame` sets it, before the store is asked
        store = self.store
        # a `MemoryStore` (its own class), open: its number read and set here as
        # `next_target_seq` and `set_next_target_seq` would (``seq + 1`` is an int in range:
        # nothing there can refuse it)
        mem = store if type(store) is MemoryStore and not store._closed else None
        expected = store.next_target_seq() if mem is None else mem._target
        if seq != expected or not 1 <= seq <= MAX_SEQ_NUM:
            self.on_frame(frame, False, msg)
            return None
        event = _new(ApplicationMessage)  # as `_process_app` makes it
        _set_message(event, msg)
        _set_seq_num(event, seq)
        _set_poss_dup(event, False)
        _set_raw(event, frame)
        _set_defects(event, ())
        if mem is not None:
            mem._target = seq + 1
            return event
        try:
            store.set_next_target_seq(seq + 1)
        except BaseException:  # as `_process_app`: queued for delivery before the store fails
            self._events.append(event)
            raise
        return event

    def _lane_places(self, msg: Any, layout: Any) -> tuple[int, ...]:
        """Where `read_app` reads the MsgSeqNum, SenderCompID, TargetCompID and SendingTime of
        the messages of ``msg``'s layout, a message `Codec.decode_clean` made (the places
        `session_header` reads: `Codec.session_places`), remembered for the layout; () when its
        messages go to `on_frame` whatever their values: a session message or a 35=j, a layout
        with a PossDupFlag or without one of those four fields, or one whose header the codec
        reads from the front of the frame. At most `_LANES` layouts are remembered (all
        forgotten past that: a new working set is found again from its first messages)."""
        mt: str = msg.MSG_TYPE
        places = None if mt in ADMIN or mt == "j" else self._codec.session_places(msg)
        lanes = self._lanes
        if len(lanes) >= _LANES:
            lanes.clear()
        lanes[layout] = places = places or ()
        return places

    def _too_low(self, expected: int, seq: int) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"MsgSeqNum too low, expecting {expected} but received {seq}",
            reconnect=True,
            reset_seq_nums=not self._retransmission,
        )

    def _in_turn(self, frame: bytes, msg: Any, mt: str, seq: int, poss_dup: bool) -> bool:
        """Whether the message is the one expected now; otherwise it is handled here.

        Beyond a gap it is kept (or the session ends, without retransmission); below the
        expected number a PossDup duplicate is ignored once its OrigSendingTime is checked, a
        Logout is honoured, anything else ends the session. A PossDup message in turn must have
        a sound OrigSendingTime.
        """
        expected = self.store.next_target_seq()
        checks = self._checks
        if seq > expected:
            if mt == "A" and self._life.state is _LOGON_SENT and self._retransmission:
                # Logon answered with a higher MsgSeqNum: log on, then recover the gap
                self._on_logon_answer(msg)
                self._on_gap(b"", None, mt, seq, expected)
                return False
            self._on_gap(frame, msg, mt, seq, expected)
            return False
        if seq < expected:
            if poss_dup:
                problem = checks.poss_dup_problem(msg)
                if problem is not None:
                    checks.orig_sending_time_problem(seq, mt, problem, self._life.now)
                return False
            if mt == "5":
                self._on_logout(msg)
                return False
            raise self._too_low(expected, seq)
        if poss_dup:
            problem = checks.poss_dup_problem(msg)
            if problem is not None:
                self.store.set_next_target_seq(seq + 1)
                checks.orig_sending_time_problem(seq, mt, problem, self._life.now)
                return False
        return True

    def _on_gap(self, frame: bytes, msg: Any, mt: str, seq: int, expected: int) -> None:
        """A message beyond ``expected``: without retransmission the session ends; a Logout is
        honoured; a ResendRequest is answered first (no request loops); anything else goes to
        gap recovery, which keeps it and asks for the gap."""
        if not self._retransmission:
            self._events.append(GapDetected(expected, seq, False))
            raise RemoteProtocolError(
                f"MsgSeqNum gap: expected {expected}, received {seq}; {self.config.session_type} "
                "has no retransmission, reconnect with ResetSeqNumFlag=Y",
                reconnect=True,
                reset_seq_nums=True,
            )
        if mt == "5" and msg is not None:
            self._on_logout(msg)
            return
        if mt == "2" and msg is not None:
            # its sequence number only needs to be consumed when the gap closes
            self._gaps.answer(msg, self._life.now)
            frame = b""
        self._gaps.behind(seq, frame, expected, self._life.now)

    def _refuse_in_turn(
        self, frame: bytes, mt: str, seq: int, poss_dup: bool, defect: Defect
    ) -> None:
        """A message the session will not act on: Rejected in its turn, its number consumed."""
        expected = self.store.next_target_seq()
        if seq > expected:
            self._on_gap(frame, None, mt, seq, expected)  # rejected when the gap reaches it
            return
        if seq < expected:
            if poss_dup:
                return
            raise self._too_low(expected, seq)
        self.store.set_next_target_seq(seq + 1)
        self._reject_defect(frame, mt, seq, defect)
        self._gaps.drain(self._life.now)

    def _reject_defect(self, frame: bytes, mt: str, seq: int, defect: Defect) -> None:
        self._events.append(DecodeFailure(defect.error(frame, mt), frame, seq))
        self._reject(
            seq, defect.reason, defect.text, self._life.now, ref_tag=defect.tag, ref_msg_type=mt
        )

    def _process(self, msg: Any, mt: str, seq: int, poss_dup: bool, frame: bytes) -> None:
        """Handle an in-sequence message (seq == expected)."""
        store = self.store
        if mt not in ADMIN:
            self._process_app(msg, mt, seq, poss_dup, frame)
            return
        if mt == "5":
            if self._life.state is not _LOGON_SENT:
                # a Logout refusing our Logon belongs to no session: it must not move the
                # (possibly durable) sequence numbers the next Logon continues from
                store.set_next_target_seq(seq + 1)
            self._on_logout(msg)
            return
        if mt == "4":  # gap fill in sequence
            new = msg.new_seq_no  # required: present, or the message was rejected before
            if new > seq:
                store.set_next_target_seq(new)
                self._events.append(SequenceReset(new, True))
                return
        store.set_next_target_seq(seq + 1)
        if mt == "0":
            if self.test_req_id is not None and msg.test_req_id == self.test_req_id:
                self.test_req_id = None
        elif mt == "1":
            self._send_admin(self.dialect.Heartbeat(test_req_id=msg.test_req_id), self._life.now)
        elif mt == "2":
            self._gaps.answer(msg, self._life.now)
        elif mt == "4":
            text = f"SequenceReset-GapFill NewSeqNo {msg.new_seq_no} would not move past {seq}"
            self._reject(seq, R_VALUE_INCORRECT, text, self._life.now, ref_tag=36, ref_msg_type="4")
        elif mt == "A":
            if self._life.state is _LOGON_SENT:
                self._on_logon_answer(msg)
                return
            text = "Logon received on an active session"
            self._reject(seq, R_INVALID_MSGTYPE, text, self._life.now, ref_msg_type="A")
        elif mt == "3":
            self._events.append(
                RejectReceived(
                    msg.ref_seq_num,
                    msg.ref_tag_id,
                    msg.ref_msg_type,
                    msg.session_reject_reason,
                    msg.text,
                    msg,
                )
            )

    def _process_app(
        self, msg: Any, mt: str, seq: int, poss_dup: bool, frame: bytes, clean: bool = False
    ) -> None:
        """Handle an in-sequence application message: delivered, with its defects named
        (``clean``: `Codec.decode_clean` made it, so it has none, as its check would say)."""
        store = self.store
        st = self._life.state
        if st is not _ACTIVE and st is not _LOGOUT_SENT:
            store.set_next_target_seq(seq + 1)
            return
        defects = () if clean else msg.check() if self._validate else msg.defects
        if defects and self._strict:
            store.set_next_target_seq(seq + 1)
            self._reject_defect(frame, mt, seq, defects[0])
            return
        if mt == "j":
            reason = msg.business_reject_reason
            kind = RateLimited if reason == _RATE_LIMIT_EXCEEDED else BusinessRejectReceived
            self._events.append(
                kind(
                    msg.ref_seq_num,
                    msg.ref_msg_type,
                    msg.business_reject_ref_id,
                    msg.business_reject_reason,
                    msg.text,
                    msg,
                )
            )
        else:
            event = _new(ApplicationMessage)  # ApplicationMessage(...), its slots set directly
            _set_message(event, msg)
            _set_seq_num(event, seq)
            _set_poss_dup(event, poss_dup)
            _set_raw(event, frame)
            _set_defects(event, defects)
            self._events.append(event)
        # recorded as received once it is queued for delivery: a store that fails here loses
        # nothing (the session fails after delivering it; a resend may bring it again)
        store.set_next_target_seq(seq + 1)

    def _on_sequence_reset(self, msg: Any, seq: int) -> None:
        """SequenceReset in Reset mode (GapFillFlag not Y): MsgSeqNum is ignored."""
        new: int = msg.new_seq_no  # required: a SequenceReset without it was rejected before
        expected = self.store.next_target_seq()
        if new < expected:
            text = f"SequenceReset NewSeqNo {new} is lower than expected {expected}"
            self._reject(seq, R_VALUE_INCORRECT, text, self._life.now, ref_tag=36, ref_msg_type="4")
            return
        self.store.set_next_target_seq(new)
        self._events.append(SequenceReset(new, False))
        self._gaps.drain(self._life.now)

    def _on_reset_logon(self, seq: int) -> None:
        """A reset Logon mid-session (MsgSeqNum 1): both sides start again from 1, and the
        receiver confirms with its own reset Logon."""
        self.store.reset(self._life.now)
        self.store.set_next_target_seq(seq + 1)
        self._gaps.clear()
        self._events.append(SequenceReset(seq, False))
        self._writer.send_logon(self._life.now, reset=True, heartbeat=self.heartbeat_interval)

    # -- Logon and Logout -------------------------------------------------------------------

    def _on_logon_answer(self, msg: Any) -> None:
        hb = msg.heart_bt_int
        # Kalshi's interval when it gives a sane one; a non-positive or absurd one is ignored
        # (ours stays in force) rather than trusted with the timers
        if type(hb) is int and 0 < hb <= MAX_HEARTBEAT_INTERVAL:
            self.heartbeat_interval = hb
        self._life.move(Trigger.LOGON_ACCEPTED)
        self.test_req_id = None
        self._events.append(
            LoggedOn(
                self.heartbeat_interval,
                msg.reset_seq_num_flag is True,
                msg.header.sender_comp_id or "",
                msg,
            )
        )

    def _on_acceptor_logon(self, msg: Any, mt: str, seq: int, sender: str, target: str) -> None:
        if mt != "A":
            raise RemoteProtocolError(
                f"first message must be a Logon, received MsgType {mt}", reconnect=False
            )
        refusal = self._checks.logon_refusal(msg, seq, sender, target, self._life.now)
        if refusal is not None:
            self._refuse_logon(sender, refusal)
            return
        writer = self._writer
        writer.target_comp_id = sender
        # prices follow the client's UseDollars(21005) from here on (always dollars on margin)
        writer.set_dollars(self.config.dollars or msg.use_dollars is True)
        self._dollars, self._rfq_dollars = writer.dollars, writer.rfq_dollars
        self._read_handed = HandedReader(self._codec, self._dollars, self._rfq_dollars).message
        self._checks.learn_peer(sender)
        reset = msg.reset_seq_num_flag is True
        if reset:
            self.store.reset(self._life.now)
        expected = self.store.next_target_seq()
        if seq < expected:
            self._refuse_logon(
                sender, f"MsgSeqNum too low, expecting {expected} but received {seq}"
            )
            return
        hb = msg.heart_bt_int or self.config.heartbeat_interval  # checked above
        self.heartbeat_interval = hb
        writer.send_logon(self._life.now, reset=reset, heartbeat=hb)
        self._life.move(Trigger.LOGON_ACCEPTED)
        self._events.append(LoggedOn(hb, reset, sender, msg))
        if seq > expected and self._retransmission:
            self._on_gap(b"", None, "A", seq, expected)  # the Logon counts once the gap closes
        else:
            self.store.set_next_target_seq(seq + 1)

    def _refuse_logon(self, sender: str, text: str) -> None:
        self._writer.target_comp_id = sender or "unknown"
        self._send_admin(self.dialect.Logout(text=text), self._life.now)
        self._events.append(LogonRejected(text))
        self._life.close(f"Logon refused: {text}", reconnect=False, trigger=Trigger.LOGON_REFUSED)

    def _on_logout(self, msg: Any) -> None:
        text = msg.text
        if self._life.state is _LOGON_SENT:
            self._events.append(LogonRejected(text or ""))
            self._life.close(
                f"Logon refused: {text or 'no reason given'}",
                reconnect=True,
                trigger=Trigger.LOGON_REFUSED,
            )
            return
        by_peer = self._life.state is _ACTIVE
        if by_peer:
            self._send_admin(self.dialect.Logout(), self._life.now)
        self._events.append(LoggedOut(text, by_peer))
        self._life.close("Logout exchange complete", reconnect=by_peer, trigger=Trigger.PEER_LOGOUT)
