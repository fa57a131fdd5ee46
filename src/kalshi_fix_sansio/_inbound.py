"""What a session does with what arrives: decoding, header checks, sequence numbers, gap
recovery, session messages, Logon and Logout, and delivery to the caller. Each fault is handled
in one named method; `_on_frame` is the entry point.
"""

from __future__ import annotations

from typing import Any

from ._fields import Defect
from ._session_core import (
    _ACTIVE,
    _ADMIN,
    _AWAITING_LOGON,
    _CLOSED,
    _HEADER_KEYS,
    _LOGON_SENT,
    _LOGOUT_SENT,
    _MAX_SEQ_DIGITS,
    _UNUSABLE,
    MAX_HEARTBEAT_INTERVAL,
    MAX_SEQ_NUM,
    R_COMP_ID,
    R_INCORRECT_FORMAT,
    R_INVALID_MSGTYPE,
    R_REQUIRED_MISSING,
    R_SENDING_TIME,
    R_VALUE_INCORRECT,
    _SessionCore,
    _well_formed_stamp,
    sending_time,
)
from ._states import Trigger
from ._wire import header_raw
from .auth import logon_payload, verify_signature_b64
from .errors import DecodeError, RemoteProtocolError
from .events import (
    BusinessRejectReceived,
    DecodeFailure,
    GapDetected,
    LoggedOn,
    LoggedOut,
    LogonRejected,
    RateLimited,
    RejectReceived,
    ResendRequestReceived,
    ResendRequestSent,
    SequenceReset,
    _application_message,
)

_RATE_LIMIT_EXCEEDED = 8  # BusinessRejectReason(380) of a rate-limit refusal


class _Inbound(_SessionCore):
    """The inbound side of a session (see `Session`)."""

    def _on_frame(self, frame: bytes, replay: bool = False) -> None:
        """Handle one inbound frame; ``replay``: a frame queued behind a gap, checked on receipt.

        The checks every message passes are written here once, each fault in one named
        method: `_garbled`, `_no_seq_num` (no usable MsgSeqNum), `_comp_id_problem`,
        `_sending_time_problem`, `_admin_defect` (a session message that cannot be acted on),
        `_in_turn` (gaps, duplicates, too low, PossDup), `_process` / `_process_app`.
        """
        if not replay:
            self._last_rx = self._now
        try:
            # BidPx/OfferPx of RFQ quotes in the units of this session type
            msg: Any = self._codec.decode(
                frame, use_dollars=self._dollars, tolerant=True, rfq_dollars=self._rfq_dollars
            )
        except DecodeError as exc:
            self._garbled(frame, exc)
            return
        # the raw header fields every message is checked by (the codec reads them where its
        # remembered layout has them, else from the front of the frame)
        raw_seq, sender, target, poss_dup, stamp = self._codec.session_header(msg)
        mt: str = msg.MSG_TYPE or msg.msg_type
        if raw_seq is None or not raw_seq.isdigit() or len(raw_seq) > _MAX_SEQ_DIGITS:
            seq = self._no_seq_num(msg, raw_seq, mt)
        else:
            seq = int(raw_seq)
            if not 1 <= seq <= MAX_SEQ_NUM:
                seq = self._no_seq_num(msg, raw_seq, mt)
        if mt != "0":
            self._test_req_id = None  # any message shows the peer is alive
        st = self._state
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
        if sender not in self._accepted_raw or target != self._expected_target_raw:
            self._comp_id_problem(sender or b"", target or b"", seq, mt)
        if not poss_dup and not replay and self._tolerance is not None:
            # SendingTime within the tolerance: the fixed-width text sorts like time
            window = self._window
            if window[0] != self._now:
                window = self._time_window(self._now)
            if not _well_formed_stamp(stamp) or not window[1] <= stamp[:17] <= window[2]:
                self._sending_time_problem(msg, stamp, seq, mt)
        if mt in _ADMIN:
            # a session message is acted on: the fields the session reads must be sound
            defect = self._admin_defect(msg, mt)
            if defect is not None:
                if st is _LOGON_SENT:
                    raise RemoteProtocolError(
                        f"malformed answer to our Logon: {defect.text}", reconnect=True
                    )
                if not seq:  # a SequenceReset-Reset, no usable MsgSeqNum: nothing to consume
                    self._reject_defect(frame, mt, seq, defect)
                    return
                self._refuse_in_turn(frame, msg, mt, seq, poss_dup, defect)
                return
            if mt == "4" and msg.gap_fill_flag is not True:
                self._on_sequence_reset(msg, seq)  # Reset mode ignores MsgSeqNum
                return
            if mt == "A" and st is _ACTIVE and msg.reset_seq_num_flag is True:
                self._on_reset_logon(seq)
                return
        elif not poss_dup and seq == self.store.next_target_seq():
            self._process_app(msg, mt, seq, poss_dup, frame)  # the common case: in turn
            if self._gaps.pending:
                self._drain_pending()
            return
        if self._in_turn(frame, msg, mt, seq, poss_dup):
            self._process(msg, mt, seq, poss_dup, frame)
            if self._gaps.pending:
                self._drain_pending()

    def _garbled(self, frame: bytes, exc: DecodeError) -> None:
        """A frame that does not decode (no fields, or 8, 9, 35 not first): FIX ignores it; no
        Reject, and its sequence number is not consumed (a gap recovers it like any lost
        message). Reported as a `DecodeFailure`."""
        self._events.append(DecodeFailure(exc, frame, None))

    def _comp_id_problem(self, sender_raw: bytes, target_raw: bytes, seq: int, mt: str) -> None:
        """SenderCompID / TargetCompID not ours: the session ends (Reject 373=9, Logout).

        A strict session takes an empty one for what it is, a tag without a value, and rejects
        it in turn with the message's other defects.
        """
        if self._strict and (not sender_raw or not target_raw):
            return
        sender = sender_raw.decode("utf-8", "replace")
        target = target_raw.decode("utf-8", "replace")
        self._reject(seq, R_COMP_ID, f"CompID problem: {sender}->{target}", ref_msg_type=mt)
        raise RemoteProtocolError(
            f"CompID problem: received SenderCompID {sender!r} / TargetCompID {target!r}, "
            f"expected one of {sorted(self._accepted_senders)} / {self._expected_target!r}",
            reconnect=False,
        )

    def _sending_time_problem(self, msg: Any, stamp: bytes, seq: int, mt: str) -> None:
        """SendingTime malformed or outside the tolerance.

        Outside it ends the session (Reject 373=10, Logout). A missing or malformed SendingTime
        is a defect of the message, handled in turn.
        """
        if not _well_formed_stamp(stamp):
            msg.header.sending_time  # noqa: B018 - records the defect (tolerant read)
            return
        self._reject(
            seq, R_SENDING_TIME, "SendingTime accuracy problem", ref_tag=52, ref_msg_type=mt
        )
        raise RemoteProtocolError(
            f"SendingTime {stamp.decode()} is more than {self._tolerance:g} s from now"
        )

    def _on_reset_logon(self, seq: int) -> None:
        """A reset Logon mid-session (MsgSeqNum 1): both sides start again from 1, and the
        receiver confirms with its own reset Logon."""
        self.store.reset(self._now)
        self.store.set_next_target_seq(seq + 1)
        self._gaps.clear()
        self._events.append(SequenceReset(seq, False))
        self._send_logon(self._now, reset=True, heartbeat=self.heartbeat_interval)

    def _in_turn(
        self,
        frame: bytes,
        msg: Any,
        mt: str,
        seq: int,
        poss_dup: bool,
    ) -> bool:
        """Whether the message is the one expected now; otherwise it is handled here.

        Beyond a gap it is kept (or the session ends, without retransmission); below the
        expected number a PossDup duplicate is ignored once its OrigSendingTime is checked, a
        Logout is honoured, anything else ends the session. A PossDup message in turn must have
        a sound OrigSendingTime.
        """
        expected = self.store.next_target_seq()
        if seq > expected:
            if mt == "A" and self._state is _LOGON_SENT and self._retransmission:
                # Logon answered with a higher MsgSeqNum: log on, then recover the gap
                self._on_logon_answer(msg)
                self._on_gap(b"", None, mt, seq, expected)
                self._gaps.keep(seq, b"")
                return False
            self._on_gap(frame, msg, mt, seq, expected)
            return False
        if seq < expected:
            if poss_dup:
                problem = self._poss_dup_problem(msg)
                if problem is not None:
                    self._orig_sending_time_problem(seq, mt, problem)
                return False
            if mt == "5":
                self._on_logout(msg)
                return False
            raise RemoteProtocolError(
                f"MsgSeqNum too low, expecting {expected} but received {seq}",
                reconnect=True,
                reset_seq_nums=not self._retransmission,
            )
        if poss_dup:
            problem = self._poss_dup_problem(msg)
            if problem is not None:
                self.store.set_next_target_seq(seq + 1)
                self._orig_sending_time_problem(seq, mt, problem)
                return False
        return True

    def _orig_sending_time_problem(self, seq: int, mt: str, problem: tuple[int, str]) -> None:
        """A PossDup message's OrigSendingTime(122) missing (Reject 373=1) or malformed (373=6):
        rejected, the session goes on. Later than its SendingTime(52): a SendingTime accuracy
        problem, which ends the session as a stale SendingTime does (Reject 373=10, Logout)."""
        reason, text = problem
        self._reject(seq, reason, text, ref_tag=122, ref_msg_type=mt)
        if reason == R_SENDING_TIME:
            raise RemoteProtocolError(
                f"{text} (PossDupFlag=Y, MsgSeqNum {seq}): SendingTime accuracy problem"
            )

    def _no_seq_num(self, msg: Any, raw: bytes | None, mt: str) -> int:
        """No usable MsgSeqNum(34) (missing, not a number, outside 1..MAX_SEQ_NUM): the
        session cannot go on, unless the message is a SequenceReset in Reset mode
        (GapFillFlag(123) absent or N), whose MsgSeqNum FIXT 1.1 ignores: it goes on with 0 for
        its number (RefSeqNum(45) of a Reject of it; it consumes none)."""
        if mt == "4" and msg.raw_value(123) in (None, b"N"):
            return 0
        what = "missing" if raw is None else f"{raw[:32]!r} is not a sequence number"
        raise RemoteProtocolError(
            f"MsgSeqNum(34) {what} (MsgType {mt!r}): FIXT 1.1 ends the session",
            reconnect=True,
            reset_seq_nums=not self._retransmission,
        )

    def _admin_defect(self, msg: Any, mt: str) -> Defect | None:
        """Why a session message cannot be acted on (None: it can).

        Every field is converted first; a strict session refuses any defect, a tolerant one
        only those that leave a field unusable. Then the integers the session acts on are
        bounded.
        """
        defects: tuple[Defect, ...] = msg.check()
        if mt == "5":
            return None  # a Logout is honoured whatever else is wrong (its Text reads None)
        for d in defects:
            if self._strict or d.reason in _UNUSABLE:
                if d.tag == 34 and mt == "4" and msg.gap_fill_flag is not True:
                    continue  # a SequenceReset-Reset's MsgSeqNum is ignored, whatever it holds
                return d
        if mt == "2":
            begin, end = msg.begin_seq_no, msg.end_seq_no
            if begin is not None and not 1 <= begin <= MAX_SEQ_NUM:
                return _out_of_range(7, "BeginSeqNo", begin)
            if end is not None and not 0 <= end <= MAX_SEQ_NUM:
                return _out_of_range(16, "EndSeqNo", end)
        elif mt == "4":
            new = msg.new_seq_no
            if new is not None and not 1 <= new <= MAX_SEQ_NUM:  # None: a defect found above
                return _out_of_range(36, "NewSeqNo", new)
        return None

    def _refuse_in_turn(
        self, frame: bytes, msg: Any, mt: str, seq: int, poss_dup: bool, defect: Defect
    ) -> None:
        """A message the session will not act on: Rejected in its turn, its number consumed."""
        expected = self.store.next_target_seq()
        if seq > expected:
            self._on_gap(frame, None, mt, seq, expected)  # rejected when the gap reaches it
            return
        if seq < expected:
            if poss_dup:
                return
            raise RemoteProtocolError(
                f"MsgSeqNum too low, expecting {expected} but received {seq}",
                reconnect=True,
                reset_seq_nums=not self._retransmission,
            )
        self.store.set_next_target_seq(seq + 1)
        self._reject_defect(frame, mt, seq, defect)
        if self._gaps.pending:
            self._drain_pending()

    def _reject_defect(self, frame: bytes, mt: str, seq: int, defect: Defect) -> None:
        self._events.append(DecodeFailure(defect.error(frame, mt), frame, seq))
        self._reject(seq, defect.reason, defect.text, ref_tag=defect.tag, ref_msg_type=mt)

    @staticmethod
    def _poss_dup_problem(msg: Any) -> tuple[int, str] | None:
        """What is wrong with a PossDup message's OrigSendingTime(122), if anything."""
        if b"122" not in header_raw(msg, _HEADER_KEYS):
            return R_REQUIRED_MISSING, "PossDupFlag=Y without OrigSendingTime(122)"
        header = msg.header
        orig = header.orig_sending_time
        if orig is None:
            return R_INCORRECT_FORMAT, "OrigSendingTime(122) is not a UTCTimestamp"
        sent = header.sending_time
        if sent is not None and orig > sent:
            return R_SENDING_TIME, "OrigSendingTime later than SendingTime"
        return None

    def _process(self, msg: Any, mt: str, seq: int, poss_dup: bool, frame: bytes) -> None:
        """Handle an in-sequence message (seq == expected)."""
        store = self.store
        if mt not in _ADMIN:
            self._process_app(msg, mt, seq, poss_dup, frame)
            return
        if mt == "0":
            store.set_next_target_seq(seq + 1)
            if self._test_req_id is not None and msg.test_req_id == self._test_req_id:
                self._test_req_id = None
            return
        if mt == "1":
            store.set_next_target_seq(seq + 1)
            self._send_admin(self.dialect.Heartbeat(test_req_id=msg.test_req_id), self._now)
            return
        if mt == "2":
            store.set_next_target_seq(seq + 1)
            self._on_resend_request(msg)
            return
        if mt == "4":  # gap fill in sequence
            new = msg.new_seq_no  # required: present, or the message was rejected before
            if new <= seq:
                store.set_next_target_seq(seq + 1)
                self._reject(
                    seq,
                    R_VALUE_INCORRECT,
                    f"SequenceReset-GapFill NewSeqNo {new} would not move past {seq}",
                    ref_tag=36,
                    ref_msg_type="4",
                )
                return
            store.set_next_target_seq(new)
            self._events.append(SequenceReset(new, True))
            return
        if mt == "5":
            if self._state is not _LOGON_SENT:
                # a Logout refusing our Logon belongs to no session: it must not move the
                # (possibly durable) sequence numbers the next Logon continues from
                store.set_next_target_seq(seq + 1)
            self._on_logout(msg)
            return
        if mt == "A":
            store.set_next_target_seq(seq + 1)
            if self._state is _LOGON_SENT:
                self._on_logon_answer(msg)
                return
            self._reject(
                seq, R_INVALID_MSGTYPE, "Logon received on an active session", ref_msg_type="A"
            )
            return
        if mt == "3":
            store.set_next_target_seq(seq + 1)
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
            return

    def _process_app(self, msg: Any, mt: str, seq: int, poss_dup: bool, frame: bytes) -> None:
        """Handle an in-sequence application message: delivered, with its defects named."""
        store = self.store
        if self._state is not _ACTIVE and self._state is not _LOGOUT_SENT:
            store.set_next_target_seq(seq + 1)
            return
        defects = msg.check() if self._validate else msg.defects
        store.set_next_target_seq(seq + 1)
        if defects and self._strict:
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
            return
        self._events.append(_application_message(msg, seq, poss_dup, frame, defects))

    def _on_logon_answer(self, msg: Any) -> None:
        hb = msg.heart_bt_int
        # Kalshi's interval when it gives a sane one; a non-positive or absurd one is ignored
        # (ours stays in force) rather than trusted with the timers
        if type(hb) is int and 0 < hb <= MAX_HEARTBEAT_INTERVAL:
            self.heartbeat_interval = hb
        self._move(Trigger.LOGON_ACCEPTED)
        self._test_req_id = None
        self._events.append(
            LoggedOn(
                self.heartbeat_interval,
                msg.reset_seq_num_flag is True,
                msg.header.sender_comp_id or "",
                msg,
            )
        )

    def _on_acceptor_logon(
        self, msg: Any, mt: str, seq: int, sender: str | None, target: str | None
    ) -> None:
        cfg = self.config
        if mt != "A":
            raise RemoteProtocolError(
                f"first message must be a Logon, received MsgType {mt}", reconnect=False
            )
        if target != cfg.session_type:
            self._refuse_logon(
                sender, f"TargetCompID {target!r} does not match this session ({cfg.session_type})"
            )
            return
        key = cfg.public_keys.get(sender or "")
        if key is None:
            self._refuse_logon(sender, "unknown API key")
            return
        defects = msg.check()
        for d in defects:  # an empty or repeated field makes the signed text ambiguous
            if d.reason in (4, 13):
                self._refuse_logon(sender, d.text)
                return
        raw_sig = msg.raw_data
        sent = msg.header.sending_time
        if raw_sig is None or sent is None:
            what = "RawData(96) signature" if raw_sig is None else "a valid SendingTime(52)"
            self._refuse_logon(sender, f"{what} missing")
            return
        tolerance = self._tolerance
        if tolerance is not None and abs(self._now - sent.timestamp()) > tolerance:
            self._refuse_logon(
                sender, f"SendingTime is more than {tolerance:g} s from the server clock"
            )
            return
        # the signature covers SendingTime's bytes as sent, not the datetime read from them
        stamp = (msg.raw_value(52) or b"").decode("ascii", "replace")
        payload = logon_payload(stamp, seq, sender or "", target or "")
        if not verify_signature_b64(key, payload, raw_sig.decode("ascii", "replace")):
            self._refuse_logon(sender, "invalid signature")
            return
        problem = self._logon_problem(msg, defects)
        if problem is not None:
            self._refuse_logon(sender, problem)
            return
        reset = msg.reset_seq_num_flag is True
        if cfg.spec.reset_seq_num_required and not reset:
            self._refuse_logon(sender, f"ResetSeqNumFlag(141)=Y is required on {cfg.session_type}")
            return
        if msg.listener_session is True and msg.skip_pending_exec_reports is not True:
            self._refuse_logon(sender, "ListenerSession requires SkipPendingExecReports=Y")
            return
        if msg.listener_session is True and not cfg.spec.listener:
            self._refuse_logon(sender, f"ListenerSession is not allowed on {cfg.session_type}")
            return
        if cfg.logon_check is not None:
            text = cfg.logon_check(msg)
            if text:
                self._refuse_logon(sender, text)
                return
        self.target_comp_id = sender
        # prices follow the client's UseDollars(21005) from here on (always dollars on margin)
        self._dollars = self.config.dollars or msg.use_dollars is True
        self._set_rfq_units()
        self._accepted_senders = frozenset({sender or ""})
        self._accepted_raw = frozenset({(sender or "").encode()})
        if reset:
            self.store.reset(self._now)
        expected = self.store.next_target_seq()
        if seq < expected:
            self._refuse_logon(
                sender, f"MsgSeqNum too low, expecting {expected} but received {seq}"
            )
            return
        hb = msg.heart_bt_int or cfg.heartbeat_interval  # checked above
        self.heartbeat_interval = hb
        self._send_logon(self._now, reset=reset, heartbeat=hb)
        self._move(Trigger.LOGON_ACCEPTED)
        self._events.append(LoggedOn(hb, reset, sender or "", msg))
        if seq > expected and self._retransmission:
            self._on_gap(b"", None, "A", seq, expected)
            self._gaps.keep(seq, b"")  # the Logon itself counts once the gap closes
        else:
            self.store.set_next_target_seq(seq + 1)

    def _logon_problem(self, msg: Any, defects: tuple[Defect, ...]) -> str | None:
        """Why a client's (signed) Logon is refused on content, as Kalshi refuses it."""
        product = self.config.product
        raw_hb = msg.raw_value(108)
        if raw_hb is None:
            if b"108" in msg._REQUIRED:
                return "HeartBtInt(108) is required"
        else:
            hb = msg.heart_bt_int
            minimum = 4 if product == "prediction" else 3
            if type(hb) is not int:
                return f"HeartBtInt(108) {raw_hb[:20]!r} is not a 64-bit integer"
            if not minimum <= hb <= MAX_HEARTBEAT_INTERVAL:
                rule = "> 3" if product == "prediction" else ">= 3"
                return (
                    f"HeartBtInt(108) {hb} is out of range: {product} requires {rule} seconds "
                    f"(at most {MAX_HEARTBEAT_INTERVAL})"
                )
        appl_ver = msg.raw_value(1137)
        if appl_ver != b"9":
            got = "missing" if appl_ver is None else f"{appl_ver[:20]!r}"
            return f"DefaultApplVerID(1137) must be 9 (FIX50SP2), got {got}"
        if msg.raw_value(50) is not None:
            return "SenderSubID(50) must not be sent on Logon"
        if defects:
            return defects[0].text
        return None

    def _refuse_logon(self, sender: str | None, text: str) -> None:
        self.target_comp_id = sender or "unknown"
        self._send_admin(self.dialect.Logout(text=text), self._now)
        self._events.append(LogonRejected(text))
        self._close(f"Logon refused: {text}", reconnect=False, trigger=Trigger.LOGON_REFUSED)

    def _on_logout(self, msg: Any) -> None:
        text = msg.text
        if self._state is _LOGON_SENT:
            self._events.append(LogonRejected(text or ""))
            self._close(
                f"Logon refused: {text or 'no reason given'}",
                reconnect=True,
                trigger=Trigger.LOGON_REFUSED,
            )
            return
        by_peer = self._state is _ACTIVE
        if by_peer:
            self._send_admin(self.dialect.Logout(), self._now)
        self._events.append(LoggedOut(text, by_peer))
        self._close("Logout exchange complete", reconnect=by_peer, trigger=Trigger.PEER_LOGOUT)

    def _on_gap(self, frame: bytes, msg: Any, mt: str, seq: int, expected: int) -> None:
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
        gaps = self._gaps
        if mt == "2" and msg is not None:
            # answer the peer's ResendRequest first, then ask for ours (no request loops); its
            # sequence number only needs to be consumed when the gap closes
            self._on_resend_request(msg)
            gaps.keep(seq, b"")
        elif frame:
            gaps.keep(seq, frame)  # bounded: past the bounds it is asked for again later
        if gaps.opens(expected):
            self._events.append(GapDetected(expected, seq, True))
            self._ask_resend(expected, self._now, fresh=True)
        gaps.seen(seq)

    def _ask_resend(self, expected: int, now: float, fresh: bool) -> None:
        self._send_admin(self.dialect.ResendRequest(begin_seq_no=expected, end_seq_no=0), now)
        self._gaps.asked(expected, now, fresh)
        self._events.append(ResendRequestSent(expected, 0))

    def _drain_pending(self) -> None:
        """Process the queued frames the sequence has reached, in turn (linear in their number)."""
        gaps = self._gaps
        if not gaps.pending or self._draining:
            return
        store = self.store
        self._draining = True
        try:
            while True:
                expected = store.next_target_seq()
                frame = gaps.take(expected)
                if frame is None:
                    break
                if not frame:  # answered already (a ResendRequest beyond the gap)
                    store.set_next_target_seq(expected + 1)
                    continue
                self._on_frame(frame, replay=True)
                if self._state is _CLOSED:
                    break
        finally:
            self._draining = False
        expected = store.next_target_seq()
        if gaps.settle(expected) and self._state is _ACTIVE:
            # frames past the queue's bound were not kept: ask for them again now
            self._ask_resend(expected, self._now, fresh=True)

    def _on_sequence_reset(self, msg: Any, seq: int) -> None:
        """SequenceReset in Reset mode (GapFillFlag not Y): MsgSeqNum is ignored."""
        new: int = msg.new_seq_no  # required: a SequenceReset without it was rejected before
        expected = self.store.next_target_seq()
        if new < expected:
            self._reject(
                seq,
                R_VALUE_INCORRECT,
                f"SequenceReset NewSeqNo {new} is lower than expected {expected}",
                ref_tag=36,
                ref_msg_type="4",
            )
            return
        self.store.set_next_target_seq(new)
        self._events.append(SequenceReset(new, False))
        self._drain_pending()

    def _on_resend_request(self, msg: Any) -> None:
        begin = msg.begin_seq_no or 1
        end_raw = msg.end_seq_no or 0
        now = self._now
        last = self.store.next_sender_seq() - 1
        end = last if end_raw == 0 or end_raw > last else end_raw
        resent = gap_filled = 0
        if begin > end:
            self._events.append(ResendRequestReceived(begin, end_raw, 0, 0))
            return
        stored = self.store.get(begin, end) if self._retransmission else []
        cursor = begin
        for seq, old_frame in stored:
            if seq > cursor:
                gap_filled += seq - cursor
                self._gap_fill(cursor, seq, now)
            self._resend(old_frame, seq, now)
            resent += 1
            cursor = seq + 1
        if cursor <= end:
            gap_filled += end + 1 - cursor
            self._gap_fill(cursor, end + 1, now)
        self._last_tx = now
        self._events.append(ResendRequestReceived(begin, end_raw, resent, gap_filled))

    def _gap_fill(self, seq: int, new_seq: int, now: float) -> None:
        header = self._header(seq, now, poss_dup=True, orig=sending_time(now))
        reset = self.dialect.SequenceReset(gap_fill_flag=True, new_seq_no=new_seq)
        self._out.append(self._encode(reset, header))

    def _resend(self, old_frame: bytes, seq: int, now: float) -> None:
        old = self.dialect.decode(
            old_frame, use_dollars=self._dollars, rfq_units=self._rfq_units
        )
        orig = old.header.sending_time
        header = self._header(seq, now, poss_dup=True, orig=orig)
        self._out.append(self._encode(old, header))


def _out_of_range(tag: int, name: str, value: int) -> Defect:
    return Defect(
        tag, R_VALUE_INCORRECT, f"{name}({tag}) {value} is outside 1..{MAX_SEQ_NUM}", None
    )
