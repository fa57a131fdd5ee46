"""The inbound checks: one of the parts a `Session` is built from.

`InboundChecks` holds what a session checks arriving messages against (the CompIDs it accepts,
the SendingTime tolerance, strictness) and judges: a MsgSeqNum that is not a number, a CompID
or SendingTime problem, a session message whose fields cannot be acted on, a PossDup message's
OrigSendingTime, a client's Logon (signature, flags, HeartBtInt). A fault FIX survives is
returned (a `Defect`, a problem, a refusal text); a fault that ends the session is rejected
through the writer's ``reject`` and raised as `RemoteProtocolError`. Nothing else is sent.

The protocol limits and SessionRejectReason codes the session's parts share are here too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..codec import MESSAGES, Defect, Header, fmt_timestamp, header_raw
from ..codec.errors import RemoteProtocolError
from ._outbound import sending_time
from .auth import logon_payload, verify_signature_b64
from .config import KALSHI_COMP_ID, MAX_HEARTBEAT_INTERVAL, Role, SessionConfig
from .store import MAX_SEQ

__all__ = ["MAX_HEARTBEAT_INTERVAL", "MAX_SEQ_NUM", "InboundChecks"]

# a UTCTimestamp: YYYYMMDD-HH:MM:SS[.sss|.ssssss|.sssssssss], told by its digits turned to '0'
# (one translate and one set lookup: a third of a regular expression's fullmatch)
DIGITS_TO_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else b for b in range(256))
STAMP_SHAPES = frozenset(
    b"00000000-00:00:00" + fraction for fraction in (b"", b".000", b".000000", b".000000000")
)


def well_formed_stamp(stamp: bytes) -> bool:
    """Whether ``stamp`` is a UTCTimestamp to the second, millisecond, microsecond or nanosecond."""
    return stamp.translate(DIGITS_TO_ZERO) in STAMP_SHAPES


_WINDOW_MARGIN = 0.001  # seconds kept clear of a second's edge by `stamp_window`


# the standard header's own fields (no 8, 9, 35), from the spec
_HEADER_KEYS = frozenset(info.key for info in Header._FIELDS)
# bounds on what the peer may send: a MsgSeqNum leaves room for the next one in the store
MAX_SEQ_NUM = MAX_SEQ - 1
MAX_SEQ_DIGITS = len(str(MAX_SEQ_NUM))
# SessionRejectReason codes of a defect that leaves a session message unusable: the tolerant
# initiator still rejects a session message for these (an undefined tag, an enum value the spec
# does not list yet or a header field out of place does not stop it being handled)
_UNUSABLE = frozenset({1, 4, 6, 13, 16})
# the session messages (category admin in the spec): the session handles them itself
ADMIN = frozenset(mt for mt, m in MESSAGES.items() if m.category == "admin")

# SessionRejectReason(373) codes the session sends
R_REQUIRED_MISSING = 1
R_VALUE_INCORRECT = 5
R_INCORRECT_FORMAT = 6
R_COMP_ID = 9
R_SENDING_TIME = 10
R_INVALID_MSGTYPE = 11

Reject = Callable[..., int]
"""The writer's ``reject(ref_seq, reason, text, now, ref_tag=None, ref_msg_type=None)``."""


class InboundChecks:
    """What arriving messages are checked against, and the judgements (see the module).

    Args:
        config: the session's configuration.
        reject: the writer's ``reject`` (`Outbound.reject`), for faults that end the session.
    """

    def __init__(self, config: SessionConfig, reject: Reject) -> None:
        self.config = config
        self._reject = reject
        self.strict = config.strict
        self.tolerance = config.time_tolerance
        """SendingTime tolerance in seconds (None: not checked)."""
        self._retransmission = config.spec.retransmission
        self.accepted_senders: frozenset[str] = frozenset()
        if config.role is Role.ACCEPTOR:
            self.expected_target = config.session_type
        else:
            allowed = config.inbound_sender_comp_ids or (KALSHI_COMP_ID, config.session_type)
            self.accepted_senders = frozenset(allowed)
            self.expected_target = config.sender_comp_id
        self.accepted_raw = frozenset(x.encode() for x in self.accepted_senders)
        """SenderCompIDs accepted, as bytes (the per-message comparison)."""
        self.expected_target_raw = self.expected_target.encode()
        """Our CompID, as the peer must write it in TargetCompID, as bytes."""
        # SendingTime bounds (lo, hi) and the seconds they are for (`_time_window`); a second
        # of 1 for lo and 0 for hi fits no clock
        self._window: tuple[bytes, bytes, int, int] = (b"", b"", 1, 0)
        self.stamp_window: tuple[bytes, bytes, float, float] = (b"", b"", math.inf, -math.inf)
        """Bounds inside the window (lo, and hi followed by 0xFF: above every stamp whose
        second is hi, so a whole stamp compares as its first 17 bytes do) at every clock
        reading in [from, to), a span of about half the tolerance (`_stamp_span`):
        `Inbound.on_frame` passes a well-formed SendingTime within them at such a reading
        without calling `sending_time`, which judges every other case (no clock fits the first
        one) and names the next span once the clock leaves this one."""

    def learn_peer(self, sender: str) -> None:
        """An acceptor's client logged on as ``sender``: only it is accepted from now on."""
        self.accepted_senders = frozenset({sender})
        self.accepted_raw = frozenset({sender.encode()})

    def no_seq_num(self, msg: Any, raw: bytes | None, mt: str) -> int:
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

    def comp_id_problem(
        self, sender_raw: bytes, target_raw: bytes, seq: int, mt: str, now: float
    ) -> None:
        """SenderCompID / TargetCompID not ours: the session ends (Reject 373=9, Logout).

        A strict session takes an empty one for what it is, a tag without a value, and rejects
        it in turn with the message's other defects.
        """
        if self.strict and (not sender_raw or not target_raw):
            return
        sender = sender_raw.decode("utf-8", "replace")
        target = target_raw.decode("utf-8", "replace")
        self._reject(seq, R_COMP_ID, f"CompID problem: {sender}->{target}", now, ref_msg_type=mt)
        raise RemoteProtocolError(
            f"CompID problem: received SenderCompID {sender!r} / TargetCompID {target!r}, "
            f"expected one of {sorted(self.accepted_senders)} / {self.expected_target!r}",
            reconnect=False,
        )

    def sending_time(self, msg: Any, stamp: bytes, seq: int, mt: str, now: float) -> None:
        """SendingTime within the tolerance of ``now`` (the fixed-width text sorts like time).

        Outside it ends the session (Reject 373=10, Logout). A missing or malformed SendingTime
        is a defect of the message, recorded here and handled in turn.
        """
        lo, hi, lo_s, hi_s = self._window
        tol = self.tolerance or 0.0
        # the bounds move only when now +- the tolerance reaches another second (the floors
        # `_time_window` takes, compared instead of computed)
        late = now - tol - 1
        early = now + tol
        if not (lo_s <= late < lo_s + 1 and hi_s <= early < hi_s + 1):
            lo, hi = self._time_window(now)
        _, _, valid_from, valid_to = self.stamp_window
        if not valid_from <= now < valid_to:  # the clock left the span: the next one
            self._stamp_span(now)
        if well_formed_stamp(stamp) and lo <= stamp[:17] <= hi:
            return
        if not well_formed_stamp(stamp):
            msg.header.sending_time  # noqa: B018 - records the defect (tolerant read)
            return
        self._reject(
            seq, R_SENDING_TIME, "SendingTime accuracy problem", now, ref_tag=52, ref_msg_type=mt
        )
        raise RemoteProtocolError(
            f"SendingTime {stamp.decode()} is more than {self.tolerance:g} s from now"
        )

    def _time_window(self, now: float) -> tuple[bytes, bytes]:
        """SendingTime bounds (to the second) for ``now`` +- the tolerance, kept with their
        seconds: formatted again only when a bound moves to another second."""
        tol = self.tolerance or 0.0
        lo_s = math.floor(now - tol - 1)
        hi_s = math.floor(now + tol)
        lo, hi, cached_lo_s, cached_hi_s = self._window
        if cached_lo_s != lo_s or cached_hi_s != hi_s:
            lo = fmt_timestamp(sending_time(lo_s))[:17]
            hi = fmt_timestamp(sending_time(hi_s))[:17]
            self._window = (lo, hi, lo_s, hi_s)
        return lo, hi

    def _stamp_span(self, now: float) -> None:
        """`stamp_window` for the clock readings from ``now`` to about half the tolerance on:
        the seconds every window of those readings holds (the latest reading's lowest second,
        the earliest's highest), and the readings they surely hold for, a millisecond in from
        each end (the float sums' rounding is far below it). Made once a span, not once a
        second: a clock that moves a second a message (a backtest's) formats no bounds per
        message."""
        tol = self.tolerance or 0.0
        hi_s = math.floor(now - _WINDOW_MARGIN + tol)  # floor(t + tol) >= hi_s from valid_from
        lo_s = math.floor(now + tol / 2 + _WINDOW_MARGIN - tol - 1)  # and <= lo_s before valid_to
        valid_from = hi_s - tol + _WINDOW_MARGIN  # <= now
        valid_to = lo_s + 2 + tol - _WINDOW_MARGIN  # > now + tol / 2
        lo = fmt_timestamp(sending_time(lo_s))[:17]
        hi = fmt_timestamp(sending_time(hi_s))[:17]
        self.stamp_window = (lo, hi + b"\xff", valid_from, valid_to)

    def admin_defect(self, msg: Any, mt: str) -> Defect | None:
        """Why a session message cannot be acted on (None: it can).

        Every field is converted first; a strict session refuses any defect, a tolerant one
        only those that leave a field unusable. Then the integers the session acts on are
        bounded.
        """
        defects: tuple[Defect, ...] = msg.check()
        if mt == "5":
            return None  # a Logout is honoured whatever else is wrong (its Text reads None)
        for d in defects:
            if self.strict or d.reason in _UNUSABLE:
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

    @staticmethod
    def poss_dup_problem(msg: Any) -> tuple[int, str] | None:
        """What is wrong with a PossDup message's OrigSendingTime(122), if anything:
        (SessionRejectReason, text)."""
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

    def orig_sending_time_problem(
        self, seq: int, mt: str, problem: tuple[int, str], now: float
    ) -> None:
        """A PossDup message's OrigSendingTime(122) missing (Reject 373=1) or malformed (373=6):
        rejected, the session goes on. Later than its SendingTime(52): a SendingTime accuracy
        problem, which ends the session as a stale SendingTime does (Reject 373=10, Logout)."""
        reason, text = problem
        self._reject(seq, reason, text, now, ref_tag=122, ref_msg_type=mt)
        if reason == R_SENDING_TIME:
            raise RemoteProtocolError(
                f"{text} (PossDupFlag=Y, MsgSeqNum {seq}): SendingTime accuracy problem"
            )

    def logon_refusal(self, msg: Any, seq: int, sender: str, target: str, now: float) -> str | None:
        """Why an acceptor refuses a client's Logon, as Kalshi refuses it (None: accepted).

        The session type, the API key and its signature over SendingTime's bytes as sent, the
        SendingTime tolerance, HeartBtInt, DefaultApplVerID, the flags the session type takes,
        and the configured ``logon_check``.
        """
        cfg = self.config
        if target != cfg.session_type:
            return f"TargetCompID {target!r} does not match this session ({cfg.session_type})"
        key = cfg.public_keys.get(sender)
        if key is None:
            return "unknown API key"
        defects = msg.check()
        for d in defects:  # an empty or repeated field makes the signed text ambiguous
            if d.reason in (4, 13):
                return str(d.text)
        raw_sig = msg.raw_data
        sent = msg.header.sending_time
        if raw_sig is None or sent is None:
            what = "RawData(96) signature" if raw_sig is None else "a valid SendingTime(52)"
            return f"{what} missing"
        tolerance = self.tolerance
        if tolerance is not None and abs(now - sent.timestamp()) > tolerance:
            return f"SendingTime is more than {tolerance:g} s from the server clock"
        # the signature covers SendingTime's bytes as sent, not the datetime read from them
        stamp = (msg.raw_value(52) or b"").decode("ascii", "replace")
        payload = logon_payload(stamp, seq, sender, target)
        if not verify_signature_b64(key, payload, raw_sig.decode("ascii", "replace")):
            return "invalid signature"
        problem = self._logon_problem(msg, defects)
        if problem is not None:
            return problem
        if cfg.spec.reset_seq_num_required and msg.reset_seq_num_flag is not True:
            return f"ResetSeqNumFlag(141)=Y is required on {cfg.session_type}"
        if msg.listener_session is True and msg.skip_pending_exec_reports is not True:
            return "ListenerSession requires SkipPendingExecReports=Y"
        if msg.listener_session is True and not cfg.spec.listener:
            return f"ListenerSession is not allowed on {cfg.session_type}"
        if cfg.logon_check is not None:
            text = cfg.logon_check(msg)
            if text:
                return text
        return None

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
            return str(defects[0].text)
        return None


def _out_of_range(tag: int, name: str, value: int) -> Defect:
    return Defect(
        tag, R_VALUE_INCORRECT, f"{name}({tag}) {value} is outside 1..{MAX_SEQ_NUM}", None
    )
