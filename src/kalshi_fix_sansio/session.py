"""The sans-IO FIX session: bytes in, events and bytes out, time passed in by the caller.

A `Session` runs one Kalshi FIXT.1.1 session (either role) for one connection:

* ``receive_data(data, now)`` buffers bytes from the transport (``b""`` means EOF);
* ``next_event()`` returns one `Event` or `NEED_DATA`; ``events()`` iterates them;
* ``send(message, now)`` stamps, stores and queues an application message, returning its
  MsgSeqNum;
* ``data_to_send()`` returns the bytes to write (the session answers the peer by itself:
  heartbeats, TestRequests, resends, gap fills, rejects);
* ``next_deadline()`` / ``handle_timer(now)`` drive heartbeats and timeouts;
* ``logout(now, text)`` ends the session politely.

``now`` is always UTC seconds since the epoch (``time.time()``): it stamps SendingTime and drives
the timers. The module does no I/O and reads no clock.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

from . import margin, prediction
from ._decode import decode_frame as _decode_frame
from ._generated import margin as _gen_margin
from ._generated import prediction as _gen_prediction
from ._generated.common import Header
from ._generated.tables import MESSAGES
from ._message import Defect, Message, header_raw
from ._recovery import GapRecovery, Retry
from ._states import State, Trigger, transition
from ._values import fmt_timestamp
from .auth import logon_payload, signature_b64, verify_signature_b64
from .config import KALSHI_COMP_ID, LOGON_FLAGS, Role, SessionConfig
from .errors import DecodeError, EncodeError, LocalProtocolError, RemoteProtocolError
from .events import (
    NEED_DATA,
    ApplicationMessage,
    BusinessRejectReceived,
    CloseTransport,
    DecodeFailure,
    Event,
    GapDetected,
    GarbledData,
    LoggedOn,
    LoggedOut,
    LogonRejected,
    RejectReceived,
    ResendRequestReceived,
    ResendRequestSent,
    SequenceReset,
    TestRequestSent,
    Timeout,
)
from .framing import Frame, Framer
from .store import MAX_SEQ, MemoryStore, MessageStore

UTC = timezone.utc
# a UTCTimestamp: YYYYMMDD-HH:MM:SS[.sss|.ssssss|.sssssssss]
_UTC_TIMESTAMP = re.compile(rb"[0-9]{8}-[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3}|\.[0-9]{6}|\.[0-9]{9})?")
_well_formed_stamp = _UTC_TIMESTAMP.fullmatch
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


class Session:
    """One FIX session over one connection (initiator or acceptor).

    Args:
        config: the frozen session configuration.

    Raises:
        LocalProtocolError: the configuration cannot work (see `SessionConfig`).
    """

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
        self._tolerance = config.time_tolerance
        self._window: tuple[float, bytes, bytes] = (-1.0, b"", b"")

    # ------------------------------------------------------------------------------------------
    # public API

    @property
    def state(self) -> State:
        """Where the session is in its life (see `State` and the state diagram).

        IDLE until `start()`; AWAITING_LOGON (acceptor) or LOGON_SENT (initiator); ACTIVE once
        logged on; LOGOUT_SENT after `logout()`; then CLOSED (close the transport; a
        `CloseTransport` event says whether to reconnect) or FAILED (a peer's protocol fault:
        `next_event()` raised `RemoteProtocolError`). Only the table in `State`'s module moves it.
        """
        return self._state

    @property
    def next_sender_seq(self) -> int:
        """The MsgSeqNum our next message gets."""
        return self.store.next_sender_seq()

    @property
    def next_target_seq(self) -> int:
        """The MsgSeqNum we expect next from the peer."""
        return self.store.next_target_seq()

    def start(self, now: float) -> None:
        """Begin the session on a fresh connection.

        The initiator queues its Logon (signed, with a fresh SendingTime); the acceptor starts
        waiting for the client's Logon.

        Args:
            now: UTC seconds since the epoch.

        Raises:
            LocalProtocolError: called twice, or an initiator without a signer.
        """
        self._now = now
        self._last_rx = self._last_tx = now
        if not self._acceptor and self.config.signer is None:
            raise LocalProtocolError(
                "an initiator needs a signer to sign its Logon (SessionConfig.signer)"
            )
        self._move(Trigger.START)
        if self._acceptor:
            return
        if self.config.resets_on_logon:
            self.store.reset(now)
        self._send_logon(now, reset=self.config.resets_on_logon)

    def receive_data(self, data: bytes, now: float) -> None:
        """Buffer bytes received from the transport; ``b""`` means the peer closed it.

        Args:
            data: the bytes (any chunk size).
            now: UTC seconds since the epoch.

        Raises:
            LocalProtocolError: the session already ended with an error.
        """
        if self._error is not None:
            raise LocalProtocolError(f"session ended: {self._error}; make a new Session")
        self._now = now
        if self._state is _CLOSED:
            return  # a closed session reads nothing more: nothing to buffer
        if not data:
            self._eof = True
            return
        self._framer.feed(data)

    def next_event(self) -> Any:
        """The next event, or `NEED_DATA`.

        Returns:
            An `Event`, or `NEED_DATA` when more input (or a timer) is needed.

        Raises:
            RemoteProtocolError: the peer ended the session with a protocol fault; the Logout
                is queued in `data_to_send()`.
        """
        events = self._events
        while not events:
            if self._error is not None:
                raise self._error
            if self._state is _CLOSED:
                return NEED_DATA
            data = self._next_whole()  # the fast path: a whole frame, no Frame object
            if data is not None:
                try:
                    self._on_frame(data)
                except RemoteProtocolError as exc:
                    self._fail(exc)
                continue
            item = self._framer.next()
            if item is None:
                if self._eof:
                    self._eof = False
                    self._close(
                        "the peer closed the connection", reconnect=True, trigger=Trigger.EOF
                    )
                    continue
                return NEED_DATA
            if isinstance(item, Frame):
                try:
                    self._on_frame(item.data)
                except RemoteProtocolError as exc:
                    self._fail(exc)
            else:
                events.append(GarbledData(item.reason, item.offset))
        return events.popleft()

    def events(self) -> Iterator[Event]:
        """Iterate `next_event()` until it returns `NEED_DATA`.

        Yields:
            Events.

        Raises:
            RemoteProtocolError: as `next_event()`.
        """
        next_event = self.next_event
        while True:
            event = next_event()
            if event is NEED_DATA:
                return
            yield event

    def data_to_send(self) -> bytes:
        """Bytes to write to the transport (and forget).

        Returns:
            The queued bytes (``b""`` when there are none).
        """
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out.clear()
        return data

    def send(self, message: Message, now: float) -> int:
        """Send an application message.

        Args:
            message: a message of this session's dialect.
            now: UTC seconds since the epoch.

        Returns:
            The MsgSeqNum it was sent with.

        Raises:
            LocalProtocolError: not logged on, a listener session, a message type this session
                type does not carry, an admin message (the session sends those itself), or an
                over-size message.
            EncodeError: a required field is missing or a value cannot go on the wire.
        """
        self._now = now
        if self._state is not _ACTIVE:
            early = self._state in (_IDLE, _LOGON_SENT, _AWAITING_LOGON)
            what = (
                "before the Logon completes"
                if early
                else "after the session failed"
                if self._state is _FAILED
                else "after the Logout"
            )
            raise LocalProtocolError(
                f"cannot send an application message {what} (state {self._state.value})"
            )
        mt = message.MSG_TYPE if message.MSG_TYPE else getattr(message, "msg_type", "")
        if mt in _ADMIN:
            raise LocalProtocolError(
                f"{type(message).__name__} is a session message; the session sends those itself "
                "(use logout() to end the session)"
            )
        if not isinstance(message, Message) or (
            self.dialect.MESSAGES.get(mt) is not type(message)
            and type(message) is not self.dialect.Unknown
        ):
            raise LocalProtocolError(
                f"{type(message).__name__} is not a {self.config.product} message; build it from "
                f"kalshi_fix_sansio.{self.config.product}"
            )
        if not self._acceptor:
            if self.config.listener_session and mt in self.config.spec.listener_refused:
                raise LocalProtocolError(
                    f"{type(message).__name__} (35={mt}) cannot be sent on a listener session: "
                    "it only receives ExecutionReports"
                )
            if mt not in self._may_send:
                carried = ", ".join(sorted(self._may_send)) or "none"
                raise LocalProtocolError(
                    f"{type(message).__name__} (35={mt}) is not carried by {self.config.session_type} "
                    f"({self.config.product}); it sends: {carried}"
                )
        return self._send_app(message, now)

    def reject(
        self,
        ref_seq_num: int,
        reason: int,
        now: float,
        *,
        ref_tag_id: int | None = None,
        ref_msg_type: str | None = None,
        text: str | None = None,
    ) -> int:
        """Send a session-level Reject(35=3) of a message the peer sent and the session delivered.

        For an application layer that finds a field unacceptable after delivery (the mock
        gateway rejects a malformed OrderGroupID this way, as Kalshi does). The session rejects
        what it cannot read by itself; this is for the rules it does not know.

        Args:
            ref_seq_num: RefSeqNum(45): the MsgSeqNum of the message rejected (already received).
            reason: SessionRejectReason(373).
            now: UTC seconds since the epoch.
            ref_tag_id: RefTagID(371), the tag at fault.
            ref_msg_type: RefMsgType(372).
            text: Text(58) (cut to 200 characters).

        Returns:
            The MsgSeqNum the Reject was sent with.

        Raises:
            LocalProtocolError: not logged on, or ``ref_seq_num`` is not a MsgSeqNum received.
            EncodeError: a value cannot go on the wire.
        """
        self._now = now
        if self._state is not _ACTIVE:
            raise LocalProtocolError(f"cannot send a Reject in state {self._state.value!r}")
        if type(ref_seq_num) is not int or not 1 <= ref_seq_num < self.store.next_target_seq():
            raise LocalProtocolError(
                f"ref_seq_num {ref_seq_num!r} is not the MsgSeqNum of a message received"
            )
        return self._send_admin(
            self.dialect.Reject(
                ref_seq_num=ref_seq_num,
                ref_tag_id=ref_tag_id,
                ref_msg_type=ref_msg_type or None,
                session_reject_reason=reason,
                text=text[:200] if text else None,
            ),
            now,
        )

    def logout(self, now: float, text: str | None = None) -> None:
        """Start a clean Logout; the session closes when the peer answers (or times out).

        Args:
            now: UTC seconds since the epoch.
            text: optional Text(58).

        Raises:
            LocalProtocolError: the session is not logged on or logging on.
        """
        self._now = now
        if self._state not in (_ACTIVE, _LOGON_SENT):
            raise LocalProtocolError(f"cannot log out in state {self._state.value!r}")
        self._send_admin(self.dialect.Logout(text=text), now)
        self._move(Trigger.LOGOUT)

    def next_deadline(self) -> float | None:
        """When `handle_timer` must next be called (UTC seconds), or None.

        Returns:
            The absolute deadline, or None when no timer runs (idle or closed).
        """
        st = self._state
        if st in (_IDLE, _CLOSED) or self._error is not None:
            return None
        if st is _LOGON_SENT or st is _AWAITING_LOGON:
            return self._state_since + self.config.logon_timeout
        if st is _LOGOUT_SENT:
            return self._state_since + self.config.logout_timeout
        hb = self.heartbeat_interval
        cfg = self.config
        heartbeat_due = self._last_tx + hb
        if self._test_req_id is None:
            peer_due = self._last_rx + hb * cfg.test_request_factor
        else:
            peer_due = self._last_rx + hb * cfg.disconnect_factor
        due = min(heartbeat_due, peer_due)
        resend_due = self._gaps.due(hb)
        if resend_due is not None:
            due = min(due, resend_due)
        return due

    def handle_timer(self, now: float) -> None:
        """Fire whatever timers are due: heartbeat, TestRequest, logon/logout/peer timeouts.

        Args:
            now: UTC seconds since the epoch (calling early is harmless).
        """
        self._now = now
        st = self._state
        if st in (_IDLE, _CLOSED) or self._error is not None:
            return
        if st in (_LOGON_SENT, _AWAITING_LOGON):
            if now >= self._state_since + self.config.logon_timeout:
                self._events.append(Timeout("logon"))
                self._close(
                    f"no Logon within {self.config.logon_timeout:g} s",
                    reconnect=True,
                    trigger=Trigger.TIMEOUT,
                )
            return
        if st is _LOGOUT_SENT:
            if now >= self._state_since + self.config.logout_timeout:
                self._events.append(Timeout("logout"))
                self._close(
                    "the peer did not answer our Logout", reconnect=False, trigger=Trigger.TIMEOUT
                )
            return
        hb = self.heartbeat_interval
        cfg = self.config
        resend_due = self._gaps.due(hb)
        if resend_due is not None and now >= resend_due:
            # a ResendRequest (or what it brought back) got lost: ask again, then give up
            expected = self.store.next_target_seq()
            if self._gaps.retry(expected) is Retry.GIVE_UP:
                self._close(
                    f"gap from MsgSeqNum {expected} not filled after "
                    f"{_RESEND_RETRIES + 1} ResendRequests",
                    reconnect=True,
                    trigger=Trigger.TIMEOUT,
                )
                return
            self._ask_resend(expected, now, fresh=False)
        silent = now - self._last_rx
        if self._test_req_id is not None and silent >= hb * cfg.disconnect_factor:
            self._events.append(Timeout("heartbeat"))
            self._close(
                f"no message from the peer for {silent:.1f} s, TestRequest unanswered",
                reconnect=True,
                trigger=Trigger.TIMEOUT,
            )
            return
        if self._test_req_id is None and silent >= hb * cfg.test_request_factor:
            self._test_req_count += 1
            self._test_req_id = f"TEST-{self._test_req_count}-{int(now * 1000)}"
            self._send_admin(self.dialect.TestRequest(test_req_id=self._test_req_id), now)
            self._events.append(TestRequestSent(self._test_req_id))
        if now - self._last_tx >= hb:
            self._send_admin(self.dialect.Heartbeat(), now)

    # ------------------------------------------------------------------------------------------
    # outbound

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

    # ------------------------------------------------------------------------------------------
    # state

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

    # ------------------------------------------------------------------------------------------
    # inbound

    def _time_window(self, now: float) -> tuple[float, bytes, bytes]:
        """SendingTime bounds (to the second) for ``now`` +- the tolerance, cached per ``now``."""
        cached = self._window
        if cached[0] != now:
            tol = self._tolerance or 0.0
            lo = fmt_timestamp(sending_time(now - tol - 1))[:17]
            hi = fmt_timestamp(sending_time(now + tol))[:17]
            cached = self._window = (now, lo, hi)
        return cached

    def _on_frame(self, frame: bytes, replay: bool = False) -> None:
        """Handle one inbound frame; ``replay``: a frame queued behind a gap, checked on receipt.

        Each fault has one named place: `_decode` (garbled), `_seq_num` (no usable MsgSeqNum),
        `_check_comp_ids`, `_check_sending_time`, `_admin_defect` (a session message that cannot
        be acted on), `_in_turn` (gaps, duplicates, too low), `_process` / `_process_app`.
        """
        if not replay:
            self._last_rx = self._now
        msg = self._decode(frame)
        if msg is None:
            return
        header = header_raw(msg, _HEADER_KEYS)
        mt: str = msg.MSG_TYPE or msg.msg_type
        seq = self._seq_num(header.get(b"34"), mt)
        if mt != "0":
            self._test_req_id = None  # any message shows the peer is alive
        st = self._state
        if st is _AWAITING_LOGON:
            self._on_acceptor_logon(
                msg,
                mt,
                seq,
                header.get(b"49", b"").decode("utf-8", "replace"),
                header.get(b"56", b"").decode("utf-8", "replace"),
            )
            return
        if st is _LOGON_SENT and mt not in ("A", "5"):
            raise RemoteProtocolError(
                f"expected a Logon in answer to ours, received MsgType {mt!r} (MsgSeqNum {seq})"
            )
        self._check_comp_ids(header, seq, mt)
        poss_dup = header.get(b"43") == b"Y"
        if not poss_dup and not replay:
            self._check_sending_time(msg, header, seq, mt)
        if mt in _ADMIN:
            # a session message is acted on: the fields the session reads must be sound
            defect = self._admin_defect(msg, mt)
            if defect is not None:
                if st is _LOGON_SENT:
                    raise RemoteProtocolError(
                        f"malformed answer to our Logon: {defect.text}", reconnect=True
                    )
                self._refuse_in_turn(frame, msg, mt, seq, poss_dup, defect)
                return
            if mt == "4" and msg.gap_fill_flag is not True:
                self._on_sequence_reset(msg, seq)  # Reset mode ignores MsgSeqNum
                return
            if mt == "A" and st is _ACTIVE and msg.reset_seq_num_flag is True:
                self._on_reset_logon(seq)
                return
        if self._in_turn(frame, msg, mt, seq, poss_dup, header):
            self._process(msg, mt, seq, poss_dup, frame)
            if self._gaps.pending:
                self._drain_pending()

    def _decode(self, frame: bytes) -> Any:
        """The message, read tolerantly; None for a garbled frame (reported, ignored)."""
        try:
            msg: Any = _decode_frame(
                frame, self._classes, self._data_tags, self._length_tags, self._dollars, False, True
            )
        except DecodeError as exc:
            # garbled (no fields, or 8, 9, 35 not first): FIX ignores it; no Reject, and its
            # sequence number is not consumed (a gap recovers it like any lost message)
            self._events.append(DecodeFailure(exc, frame, None))
            return None
        if type(msg) in self._rfq_classes:  # BidPx/OfferPx in the units of this session type
            msg._src[3] = self._rfq_dollars
        return msg

    def _check_comp_ids(self, header: dict[bytes, bytes], seq: int, mt: str) -> None:
        """A wrong SenderCompID / TargetCompID ends the session (Reject 373=9, Logout).

        A strict session takes an empty one for what it is, a tag without a value, and rejects
        it in turn with the message's other defects.
        """
        sender_raw = header.get(b"49", b"")
        target_raw = header.get(b"56", b"")
        if sender_raw in self._accepted_raw and target_raw == self._expected_target_raw:
            return
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

    def _check_sending_time(self, msg: Any, header: dict[bytes, bytes], seq: int, mt: str) -> None:
        """SendingTime outside the tolerance ends the session (Reject 373=10, Logout).

        The fixed-width format sorts like time, so the text is compared. A missing or malformed
        SendingTime is a defect of the message, handled in turn.
        """
        if self._tolerance is None:
            return
        stamp = header.get(b"52", b"")
        _, lo, hi = self._time_window(self._now)
        if _well_formed_stamp(stamp) is None:
            msg.header.sending_time  # noqa: B018 - records the defect (tolerant read)
        elif not lo <= stamp[:17] <= hi:
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
        header: dict[bytes, bytes],
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
                problem = self._poss_dup_problem(msg, header)
                if problem is not None:
                    self._reject(seq, problem[0], problem[1], ref_tag=122, ref_msg_type=mt)
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
            problem = self._poss_dup_problem(msg, header)
            if problem is not None:
                self.store.set_next_target_seq(seq + 1)
                self._reject(seq, problem[0], problem[1], ref_tag=122, ref_msg_type=mt)
                return False
        return True

    def _seq_num(self, raw: bytes | None, mt: str) -> int:
        """MsgSeqNum(34) as a bounded int; without a usable one the session cannot go on."""
        if raw is not None and raw.isdigit() and len(raw) <= _MAX_SEQ_DIGITS:
            seq = int(raw)
            if 1 <= seq <= MAX_SEQ_NUM:
                return seq
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
                return d
        if mt == "2":
            begin, end = msg.begin_seq_no, msg.end_seq_no
            if begin is not None and not 1 <= begin <= MAX_SEQ_NUM:
                return _out_of_range(7, "BeginSeqNo", begin)
            if end is not None and not 0 <= end <= MAX_SEQ_NUM:
                return _out_of_range(16, "EndSeqNo", end)
        elif mt == "4":
            new = msg.new_seq_no
            if new is not None and not 1 <= new <= MAX_SEQ_NUM:
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
    def _poss_dup_problem(msg: Any, raw: dict[bytes, bytes]) -> tuple[int, str] | None:
        """What is wrong with a PossDup message's OrigSendingTime(122), if anything."""
        if b"122" not in raw:
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
            new = msg.new_seq_no
            if new is None or new <= seq:
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
        # a session message of an unknown kind cannot reach here: _ADMIN lists them all

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
            self._events.append(
                BusinessRejectReceived(
                    msg.ref_seq_num,
                    msg.ref_msg_type,
                    msg.business_reject_ref_id,
                    msg.business_reject_reason,
                    msg.text,
                    msg,
                )
            )
            return
        self._events.append(ApplicationMessage(msg, seq, poss_dup, frame, defects))

    # -- logon ----------------------------------------------------------------------------------

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
        stamp = _raw_field(msg, b"52")
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

    # -- sequence numbers -------------------------------------------------------------------------

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
        new = msg.new_seq_no
        expected = self.store.next_target_seq()
        if new is None:
            self._reject(
                seq,
                R_REQUIRED_MISSING,
                "SequenceReset without NewSeqNo(36)",
                ref_tag=36,
                ref_msg_type="4",
            )
            return
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


def _raw_field(msg: Message, key: bytes) -> str:
    """A header value exactly as received (the signature covers the bytes, not the datetime)."""
    src = msg._src
    assert src is not None
    flat = src[2]
    for i in range(0, len(flat), 2):
        if flat[i] == key:
            value: bytes = flat[i + 1]
            return value.decode("utf-8", "replace")
    return ""


def _out_of_range(tag: int, name: str, value: int) -> Defect:
    return Defect(
        tag, R_VALUE_INCORRECT, f"{name}({tag}) {value} is outside 1..{MAX_SEQ_NUM}", None
    )
