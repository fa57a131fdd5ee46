"""The session's state and its outbound side: what `Session` is built from.

`_SessionCore` holds a session's state (built from its frozen config) and writes what the session
sends (headers, application and session messages, the Logon, Rejects), and moves the state
through the table in `_states`. `_inbound._Inbound` adds the handling of what arrives, and
`session.Session` the public API. The constants here are the protocol limits and codes the
three share.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

from . import margin, prediction
from ._generated import margin as _gen_margin
from ._generated import prediction as _gen_prediction
from ._generated.common import Header
from ._generated.tables import MESSAGES
from ._message import Message
from ._recovery import GapRecovery
from ._states import State, Trigger, transition
from ._values import fmt_timestamp
from .auth import logon_payload, signature_b64
from .config import KALSHI_COMP_ID, LOGON_FLAGS, Role, SessionConfig
from .errors import EncodeError, LocalProtocolError, RemoteProtocolError
from .events import (
    CloseTransport,
    Event,
)
from .framing import Framer
from .store import MAX_SEQ, MemoryStore, MessageStore

UTC = timezone.utc
# a UTCTimestamp: YYYYMMDD-HH:MM:SS[.sss|.ssssss|.sssssssss], told by its digits turned to '0'
# (one translate and one set lookup: a third of a regular expression's fullmatch)
_DIGITS_TO_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else b for b in range(256))
_STAMP_SHAPES = frozenset(
    b"00000000-00:00:00" + fraction for fraction in (b"", b".000", b".000000", b".000000000")
)


def _well_formed_stamp(stamp: bytes) -> bool:
    """Whether ``stamp`` is a UTCTimestamp to the second, millisecond, microsecond or nanosecond."""
    return stamp.translate(_DIGITS_TO_ZERO) in _STAMP_SHAPES


# the standard header's own fields (no 8, 9, 35), from the spec
_HEADER_KEYS = frozenset(info.key for info in Header._FIELDS)
# bounds on what the peer may send: a MsgSeqNum leaves room for the next one in the store
MAX_SEQ_NUM = MAX_SEQ - 1
_MAX_SEQ_DIGITS = len(str(MAX_SEQ_NUM))
MAX_HEARTBEAT_INTERVAL = 3600
"""Largest HeartBtInt(108) accepted from the peer, in seconds (Kalshi's docs set no maximum)."""
# SessionRejectReason codes of a defect that leaves a session message unusable: the tolerant
# initiator still rejects a session message for these (an undefined tag, an enum value the spec
# does not list yet or a header field out of place does not stop it being handled)
_UNUSABLE = frozenset({1, 4, 6, 13, 16})
# the session messages (category admin in the spec): the session handles them itself
_ADMIN = frozenset(mt for mt, m in MESSAGES.items() if m.category == "admin")
# the states as module constants: Enum attribute lookups are slow on the hot path
_IDLE = State.IDLE
_AWAITING_LOGON = State.AWAITING_LOGON
_LOGON_SENT = State.LOGON_SENT
_ACTIVE = State.ACTIVE
_LOGOUT_SENT = State.LOGOUT_SENT
_CLOSED = State.CLOSED
_FAILED = State.FAILED
_PRUNE_EVERY = 1024
_RESEND_RETRIES = 3  # ResendRequests repeated (one heartbeat interval apart) before giving up

# SessionRejectReason(373) codes the session sends
R_REQUIRED_MISSING = 1
R_VALUE_INCORRECT = 5
R_INCORRECT_FORMAT = 6
R_SIGNATURE = 8
R_COMP_ID = 9
R_SENDING_TIME = 10
R_INVALID_MSGTYPE = 11


def sending_time(now: float) -> datetime:
    """``now`` as an aware UTC datetime truncated to milliseconds (Kalshi's SendingTime precision).

    Args:
        now: UTC seconds since the epoch.

    Returns:
        The datetime.
    """
    dt = datetime.fromtimestamp(now, UTC)
    return dt.replace(microsecond=dt.microsecond - dt.microsecond % 1000)


class _SessionCore:
    """A session's state and its outbound side (see `Session`)."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.dialect: ModuleType = prediction if config.product == "prediction" else margin
        self.store: MessageStore = config.store if config.store is not None else MemoryStore()
        self._state = _IDLE
        self.heartbeat_interval = config.heartbeat_interval
        self._acceptor = config.role is Role.ACCEPTOR
        self._framer = Framer(max_message_size=config.max_message_size)
        self._next_whole = self._framer.next_whole
        self._events: deque[Event] = deque()
        self._out: list[bytes] = []
        self._now = 0.0
        self._last_rx = 0.0
        self._last_tx = 0.0
        self._state_since = 0.0
        self._test_req_id: str | None = None
        self._test_req_count = 0
        self._gaps = GapRecovery(
            config.max_pending_messages, config.max_pending_bytes, _RESEND_RETRIES
        )
        self._strict = config.strict
        self._error: RemoteProtocolError | None = None
        self._saved = 0
        self._draining = False
        self._eof = False
        spec = config.spec
        self._retransmission = spec.retransmission
        self._may_send = frozenset(spec.send)
        if self._acceptor:
            self.target_comp_id: str | None = None  # learned from the client's Logon
            self._accepted_senders: frozenset[str] = frozenset()
            self._expected_target = config.session_type
        else:
            self.target_comp_id = config.session_type
            allowed = config.inbound_sender_comp_ids or (KALSHI_COMP_ID, config.session_type)
            self._accepted_senders = frozenset(allowed)
            self._expected_target = config.sender_comp_id
        self._accepted_raw = frozenset(x.encode() for x in self._accepted_senders)
        self._expected_target_raw = self._expected_target.encode()
        self._dollars = config.dollars
        self._set_rfq_units()
        self._validate = config.validate_messages
        gen = _gen_prediction if config.product == "prediction" else _gen_margin
        self._classes = gen._CLASSES
        self._data_tags = gen._DATA_TAGS
        self._length_tags = gen._LENGTH_TAGS
        self._rfq_classes = gen._RFQ_CLASSES
        self._codec = gen._CODEC  # decodes inbound frames; reads their raw header
        self._tolerance = config.time_tolerance
        self._window: tuple[float, bytes, bytes, int, int] = (-1.0, b"", b"", 0, 0)

    def _header(
        self, seq: int, now: float, poss_dup: bool = False, orig: datetime | None = None
    ) -> Header:
        return Header(
            sender_comp_id=self.config.sender_comp_id,
            target_comp_id=self.target_comp_id,
            msg_seq_num=seq,
            sending_time=sending_time(now),
            poss_dup_flag=True if poss_dup else None,
            orig_sending_time=orig,
        )

    def _encode(self, message: Message, header: Header) -> bytes:
        frame: bytes = self.dialect.encode(
            message, header, use_dollars=self._dollars, rfq_units=self._rfq_units
        )
        if len(frame) > self.config.max_message_size:
            raise LocalProtocolError(
                f"{type(message).__name__} encodes to {len(frame)} bytes, over max_message_size "
                f"{self.config.max_message_size}"
            )
        return frame

    def _send_app(self, message: Message, now: float) -> int:
        store = self.store
        seq = store.next_sender_seq()
        frame = self._encode(message, self._header(seq, now))
        if self._retransmission:
            # persist before the bytes can reach the wire: a crash never reuses a sequence number
            store.save(seq, frame, now)
            self._saved += 1
            if self._saved % _PRUNE_EVERY == 0:
                store.prune(now - self.config.retention_seconds)
        else:
            store.set_next_sender_seq(seq + 1)
        self._out.append(frame)
        self._last_tx = now
        return seq

    def _send_admin(self, message: Message, now: float, seq: int | None = None) -> int:
        store = self.store
        if seq is None:
            seq = store.next_sender_seq()
        frame = self._encode(message, self._header(seq, now))
        store.set_next_sender_seq(seq + 1)
        self._out.append(frame)
        self._last_tx = now
        return seq

    def _send_logon(self, now: float, reset: bool, heartbeat: int | None = None) -> None:
        cfg = self.config
        seq = self.store.next_sender_seq()
        header = self._header(seq, now)
        kwargs: dict[str, Any] = {
            "encrypt_method": 0,
            "heart_bt_int": heartbeat or cfg.heartbeat_interval,
            "default_appl_ver_id": "9",
            "reset_seq_num_flag": True if reset else None,
        }
        if not self._acceptor:
            assert header.sending_time is not None
            stamp = fmt_timestamp(header.sending_time).decode()
            payload = logon_payload(stamp, seq, cfg.sender_comp_id, cfg.session_type)
            sig = signature_b64(cfg.signer, payload).encode()
            kwargs["raw_data"] = sig
            if cfg.send_raw_data_length:
                kwargs["raw_data_length"] = len(sig)
            for attr, (_fix, _tag) in LOGON_FLAGS.items():
                value = getattr(cfg, attr)
                if value is None or value is False:
                    continue
                if attr == "use_dollars" and cfg.product == "margin":
                    continue
                kwargs[attr] = value
        logon = self.dialect.Logon(**kwargs)
        frame = self._encode(logon, header)
        self.store.set_next_sender_seq(seq + 1)
        self._out.append(frame)
        self._last_tx = now

    def _reject(
        self,
        ref_seq: int,
        reason: int,
        text: str,
        ref_tag: int | None = None,
        ref_msg_type: str | None = None,
    ) -> None:
        self._send_admin(
            self.dialect.Reject(
                ref_seq_num=ref_seq,
                ref_tag_id=ref_tag,
                ref_msg_type=ref_msg_type or None,  # nothing built from an empty peer string
                session_reject_reason=reason,
                text=text[:200],
            ),
            self._now,
        )

    def _set_rfq_units(self) -> None:
        """BidPx/OfferPx units of RFQ messages: by session type (or UseDollars, if configured)."""
        cfg = self.config
        self._rfq_units: str = self.dialect.rfq_units_for(
            cfg.session_type,
            use_dollars=self._dollars,
            follow_use_dollars=cfg.rfq_follow_use_dollars,
        )
        self._rfq_dollars = self._rfq_units == "dollars"

    def _move(self, trigger: Trigger) -> None:
        self._state = transition(self._state, trigger, acceptor=self._acceptor)
        self._state_since = self._now

    def _close(
        self, reason: str, *, reconnect: bool, trigger: Trigger, reset: bool = False
    ) -> None:
        if self._state is not _CLOSED:
            self._move(trigger)
        self._events.append(CloseTransport(reason, reconnect, reset))

    def _fail(self, exc: RemoteProtocolError) -> None:
        """A session-ending peer fault: Logout queued, state closed, error raised next."""
        if self._state in (_ACTIVE, _LOGON_SENT, _AWAITING_LOGON) and self.target_comp_id:
            try:
                self._send_admin(self.dialect.Logout(text=str(exc)[:200]), self._now)
            except (EncodeError, LocalProtocolError):  # pragma: no cover - defensive
                pass
        self._move(Trigger.FATAL)
        self._error = exc

    def _time_window(self, now: float) -> tuple[float, bytes, bytes, int, int]:
        """SendingTime bounds (to the second) for ``now`` +- the tolerance: ``(now, lo, hi,
        lo_second, hi_second)``, formatted again only when a bound moves to another second."""
        tol = self._tolerance or 0.0
        lo_s = math.floor(now - tol - 1)
        hi_s = math.floor(now + tol)
        cached = self._window
        if cached[3] == lo_s and cached[4] == hi_s:
            cached = self._window = (now, cached[1], cached[2], lo_s, hi_s)
        else:
            lo = fmt_timestamp(sending_time(lo_s))[:17]
            hi = fmt_timestamp(sending_time(hi_s))[:17]
            cached = self._window = (now, lo, hi, lo_s, hi_s)
        return cached
