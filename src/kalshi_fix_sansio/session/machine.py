"""The sans-IO FIX session: bytes in, events and bytes out, time passed in by the caller.

A `Session` runs one Kalshi FIXT.1.1 session (either role) for one connection:

* ``receive_data(data, now)`` buffers bytes from the transport (``b""`` means EOF);
* ``next_event()`` returns one `Event` or `NEED_DATA`; ``events()`` iterates them;
* ``send(message, now)`` stamps, stores and queues an application message, returning its
  MsgSeqNum;
* ``data_to_send()`` returns the bytes to write (the session answers the peer by itself:
  heartbeats, TestRequests, resends, gap fills, rejects);
* ``next_deadline()`` / ``handle_timer(now)`` drive heartbeats and timeouts;
* ``send_test_request(now)`` probes the peer now (a TestRequest; its TestReqID returned);
* ``logout(now, text)`` ends the session politely.

With ``SessionConfig(rate_limiter=...)`` the session keeps to Kalshi's rate limits: ``send``
raises `RateLimitExceeded` (nothing encoded, sequenced or stored) for an application message
its buckets cannot take at ``now``, ``send_delay(message, now)`` says how long until they can,
and a `RateLimited` (35=j 380=8) drains the buckets the refused message billed. Session
messages are never billed.

``now`` is always UTC seconds since the epoch (``time.time()``): it stamps SendingTime and drives
the timers. The module does no I/O and reads no clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

from ..codec import Message, dialect, finish_frame
from ..codec.errors import EncodeError, LocalProtocolError, RemoteProtocolError
from ..codec.framing import Frame, Framer, Garbled
from ._billing import RateBilling
from ._checks import ADMIN, InboundChecks
from ._inbound import Inbound
from ._outbound import Outbound, sending_time
from ._recovery import GapRecovery
from ._states import Lifecycle, State, Trigger
from .config import OrderCheck, Role, SessionConfig
from .events import (
    NEED_DATA,
    ApplicationMessage,
    Event,
    GarbledData,
    RateLimited,
    TestRequestSent,
    Timeout,
)
from .store import MAX_SEQ, MemoryStore, MessageStore, StoreError

__all__ = ["Session", "sending_time"]

# The parts a Session is built from, each with a small interface and tested alone:
#   Lifecycle (_states)        the state, moved only through the table; the clock; the events
#   Outbound (_outbound)       the writer: header, sequence numbers, store, the bytes queued
#   InboundChecks (_checks)    CompIDs, SendingTime, MsgSeqNum, session messages' fields, Logon
#   GapRecovery (_recovery)    frames kept behind a gap, ResendRequests, answering the peer's
#   Inbound (_inbound)         each frame that arrives, routed through the checks and handled
#   RateBilling (_billing)     the rate limiter, and what each MsgSeqNum was billed
# The Session is the public API over them and runs the timers. The parts hold each other's
# bound methods where the per-message path calls them.

_RESEND_RETRIES = 3  # ResendRequests repeated (one heartbeat interval apart) before giving up
# the states as module constants (Enum attribute lookups are slow on the hot path), in order
_IDLE, _AWAITING_LOGON, _LOGON_SENT, _ACTIVE, _LOGOUT_SENT, _CLOSED, _FAILED = State


class Session:
    """One FIX session over one connection (initiator or acceptor).

    Args:
        config: the frozen session configuration.

    Raises:
        LocalProtocolError: the configuration cannot work (see `SessionConfig`).
    """

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.dialect: ModuleType = dialect(config.product)
        self.store: MessageStore = config.store if config.store is not None else MemoryStore()
        self._acceptor = config.role is Role.ACCEPTOR
        self._eof = False
        self._test_req_count = 0
        self._framer = Framer(max_message_size=config.max_message_size)
        self._next_whole = self._framer.next_whole
        self._take_whole = self._framer.take_whole
        self._may_send = frozenset(config.spec.send)
        # what `send` checks a message against, read once
        self._messages: dict[str, type[Message]] = self.dialect.MESSAGES
        self._unknown: type[Message] = self.dialect.Unknown
        refused = config.spec.listener_refused if config.listener_session else ()
        self._listener_refused = frozenset(refused)
        # the parts
        life = self._life = Lifecycle(self._acceptor)
        self._events = life.events
        writer = self._writer = Outbound(config, self.dialect, self.store)
        self._out = writer.out
        self._send_admin = writer.send_admin
        checks = InboundChecks(config, writer.reject)
        self._gaps = GapRecovery(
            writer,
            life.events.append,
            self._replay,
            lambda: life.state is _ACTIVE,
            max_messages=config.max_pending_messages,
            max_bytes=config.max_pending_bytes,
            retries=_RESEND_RETRIES,
            withhold=None if config.order_gate is None else config.order_gate.withhold,
        )
        inbound = self._inbound = Inbound(config, life, writer, checks, self._gaps)
        self._on_frame = inbound.on_frame
        self._read_app = inbound.read_app
        self._test_request_factor = config.test_request_factor  # read by `next_deadline`
        limiter = config.rate_limiter
        self._billing = RateBilling(limiter) if limiter is not None else None
        self.handed: tuple[bytes, Any, tuple[bytes, ...]] | None = None
        """The frame `send_encoded_now` last made with its values, its shape and its values."""
        self.handed_in: tuple[bytes, Any, tuple[bytes, ...]] | None = None
        """A frame a peer in this process built, with its shape and values (that peer's
        `handed`), set before that very frame (the same bytes object) is read: `read` makes
        its message from the values rather than decoding the frame (`codec._handed`: the
        message decoding makes). Any other frame is decoded as usual. (The simulator's
        in-memory link sets it; a socket's reader never does.)"""
        gate = self._gate = config.order_gate  # every order-creating message passes it in `send`
        self._gated: frozenset[str] = frozenset() if gate is None else gate.msg_types

    def _replay(self, frame: bytes) -> bool:
        return self._inbound.replay(frame)

    @property
    def state(self) -> State:
        """Where the session is in its life (see `State` and the state diagram).

        IDLE until `start()`; AWAITING_LOGON (acceptor) or LOGON_SENT (initiator); ACTIVE once
        logged on; LOGOUT_SENT after `logout()`; then CLOSED (close the transport; a
        `CloseTransport` event says whether to reconnect) or FAILED (a peer's protocol fault:
        `next_event()` raised `RemoteProtocolError`). Only the table in `State`'s module moves it.
        """
        return self._life.state

    @property
    def heartbeat_interval(self) -> int:
        """The heartbeat interval in force, in seconds: ours, or Kalshi's from its Logon."""
        return self._inbound.heartbeat_interval

    @property
    def target_comp_id(self) -> str | None:
        """The TargetCompID(56) the session writes (an acceptor learns it from the Logon)."""
        return self._writer.target_comp_id

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
        self._life.now = now
        self._inbound.last_rx = self._writer.last_tx = now
        if not self._acceptor and self.config.signer is None:
            raise LocalProtocolError(
                "an initiator needs a signer to sign its Logon (SessionConfig.signer)"
            )
        self._life.move(Trigger.START)
        if self._acceptor:
            return
        if self.config.resets_on_logon:
            self.store.reset(now)
        self._writer.send_logon(now, reset=self.config.resets_on_logon)

    def receive_data(self, data: bytes, now: float) -> None:
        """Buffer bytes received from the transport; ``b""`` means the peer closed it.

        Args:
            data: the bytes (any chunk size).
            now: UTC seconds since the epoch.

        Raises:
            LocalProtocolError: the session already ended with an error.
        """
        if self._life.error is not None:
            raise LocalProtocolError(f"session ended: {self._life.error}; make a new Session")
        self._life.now = now
        if self._life.state is _CLOSED:
            return  # a closed session reads nothing more: nothing to buffer
        if not data:
            self._eof = True
            return
        self._framer.feed(data)

    def read(self, data: bytes, now: float) -> ApplicationMessage | None:
        """`receive_data`, and a read that is one whole application message in turn handled at
        once: its event returned when it is all the read did (the session active, no error, no
        other event, nothing queued to send, no TestRequest waiting and no gap open before or
        after: its only timer that moves is the peer's, later). None: `next_event` gives what
        the bytes made (the message's event too, when it was not all), as after `receive_data`.

        The receive path of a client's driver (one call where `receive_data` and two
        `next_event` calls were).

        Raises:
            LocalProtocolError: as `receive_data`.
        """
        life = self._life
        events = self._events
        if (
            life.state is not _ACTIVE
            or life.error is not None
            or events
            or not data
            or self._inbound.test_req_id is not None
            or self._gaps.until
        ):
            self.receive_data(data, now)
            return None
        life.now = now
        if not self._take_whole(data):  # not a whole frame of a head seen before: fed
            frame = self._framer.feed_whole(data)
            if frame is not data:  # not one whole frame, or not the bytes read as they are
                if frame is not None:
                    self._handle(frame)
                return None
        try:  # `_handle`, the event of a clean message in its turn returned at once
            event = self._read_app(data, self.handed_in)
        except (RemoteProtocolError, StoreError) as exc:
            self._fail(exc)
            return None
        if event is not None:
            return event  # nothing else done: nothing queued, written, or moved but its number
        if len(events) == 1 and not self._out and life.state is _ACTIVE and not self._gaps.until:
            only = events[0]
            if only.__class__ is ApplicationMessage:
                events.clear()
                return only
        return None

    def _handle(self, frame: bytes) -> None:
        """A whole frame (`next_event`'s fast path): handled, a fault failing the session."""
        try:
            self._on_frame(frame)
        except (RemoteProtocolError, StoreError) as exc:
            self._fail(exc)

    def next_event(self) -> Any:
        """The next event, or `NEED_DATA`.

        Returns:
            An `Event`, or `NEED_DATA` when more input (or a timer) is needed.

        Raises:
            RemoteProtocolError: the peer ended the session with a protocol fault; the Logout
                is queued in `data_to_send()`.
            StoreError: the message store could not record what was read (after the events
                read before it were returned); the session has failed.
        """
        events = self._events
        life = self._life
        framer = self._framer
        item: Frame | Garbled | None
        while not events:
            if life.error is not None:
                raise life.error
            if life.state is _CLOSED:
                return NEED_DATA
            if not framer.buffered:
                item = None  # nothing buffered (after a read's last frame): no frame to look for
            else:
                data = self._next_whole()  # the fast path: a whole frame, no Frame object
                if data is not None:
                    try:
                        self._on_frame(data)
                    except (RemoteProtocolError, StoreError) as exc:
                        self._fail(exc)
                    continue
                item = framer.next()
            if item is None:
                if self._eof:
                    self._eof = False
                    life.close(
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
        event = events.popleft()
        if self._billing is not None and type(event) is RateLimited:
            self._billing.learn(event, self._life.now)  # Kalshi's count ran ahead of ours
        return event

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
        return self._writer.take() if self._out else b""  # most reads answer nothing

    def send_duplicate(self, now: float) -> bool:
        """Queue the message this session sent last again, as a possible duplicate.

        The copy keeps its MsgSeqNum, gains PossDupFlag(43)=Y and OrigSendingTime(122), as a
        resent message does. This is a fault to inject (the mock gateway's ``duplicate_next``
        uses it): a peer must recognise the copy as a duplicate and not act on it twice.

        Args:
            now: UTC seconds since the epoch.

        Returns:
            True if a message was queued again; False when nothing is waiting to be written
            (`data_to_send` has already taken it) or nothing was sent yet.
        """
        if not self._out:
            return False
        self._writer.resend(self._out[-1], self.store.next_sender_seq() - 1, now)
        return True

    def send(self, message: Message, now: float) -> int:
        """Send an application message.

        Args:
            message: a message of this session's dialect.
            now: UTC seconds since the epoch.

        Returns:
            The MsgSeqNum it was sent with.

        Raises:
            ValueRangeError: a value outside the ranges Kalshi documents (price, tick, quantity,
                ClOrdID, AllocAccount...: `kalshi_fix_sansio.codec.ranges`), initiator role only:
                nothing was encoded, sequenced, stored or billed. A `LocalProtocolError`.
            RateLimitExceeded: the rate limiter (``SessionConfig.rate_limiter``) cannot take it
                at ``now``: nothing was encoded, sequenced, stored or billed; its ``wait`` says
                how long until it can (as `send_delay`). A `LocalProtocolError`.
            LocalProtocolError: not logged on, a listener session, a message type this session
                type does not carry, an admin message (the session sends those itself), or an
                over-size message.
            EncodeError: a required field is missing or a value cannot go on the wire.
            TypeError: ``message`` is not a message at all (a string, say).
        """
        life = self._life
        life.now = now
        if life.state is not _ACTIVE:
            early = life.state in (_IDLE, _LOGON_SENT, _AWAITING_LOGON)
            what = (
                "before the Logon completes"
                if early
                else "after the session failed"
                if life.state is _FAILED
                else "after the Logout"
            )
            raise LocalProtocolError(
                f"cannot send an application message {what} (state {life.state.value})"
            )
        try:
            msg_type = message.MSG_TYPE
        except AttributeError:  # no cost on the path of a message
            raise TypeError(
                f"send() takes a {self.config.product} message (a class of "
                f"kalshi_fix_sansio.codec.{self.config.product}, as Requests builds them), got "
                f"{type(message).__name__} {message!r:.60}"
            ) from None
        mt = msg_type if msg_type else getattr(message, "msg_type", "")
        if mt in ADMIN:
            raise LocalProtocolError(
                f"{type(message).__name__} is a session message; the session sends those itself "
                "(use logout() to end the session)"
            )
        if not isinstance(message, Message) or (
            self._messages.get(mt) is not type(message) and type(message) is not self._unknown
        ):
            raise LocalProtocolError(
                f"{type(message).__name__} is not a {self.config.product} message; build it from "
                f"kalshi_fix_sansio.codec.{self.config.product}"
            )
        writer = self._writer
        gate: OrderCheck | None = None  # the order gate, for a message it checks
        cl = None
        if not self._acceptor:
            if mt in self._listener_refused:
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
            if mt in self._gated and (gate := self._gate) is not None:
                # the order gate (halt, live ClOrdID, risk limits) checks and records it (the
                # tracker) before its values are checked and it is encoded; forgotten again if
                # it cannot go
                cl = gate.admit(message, mt, now)  # raises before anything is encoded or stored
        billing = self._billing
        try:
            if not self._acceptor:
                # Kalshi's value ranges (spec/ranges.yaml), before anything is encoded or
                # stored: as `check_values`, with the checks of the session's units
                check = writer.value_checks.get(msg_type)
                if check is not None:
                    check(message, now)
            if billing is None:
                seq = writer.send_app(message, now)
            else:  # raises before anything is encoded
                seq = billing.send(writer.send_app, message, now)
        except BaseException:
            if gate is not None:
                gate.discard(cl)
            raise
        if gate is not None:
            gate.sent(message, mt, cl, now, seq)
        return seq

    def send_out(self, message: Message, now: float) -> tuple[int, bytes]:
        """`send`, handing back at once every byte queued to write, its frame last (what
        `data_to_send` would give next): a driver that writes them itself takes them here,
        never coming back for them.

        Returns:
            The MsgSeqNum it was sent with, and the bytes to write.

        Raises:
            LocalProtocolError: as `send` (the other errors too).
        """
        seq = self.send(message, now)
        out = self._out  # `Outbound.take`, inline: nearly always the one frame just queued
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return seq, data

    def send_encoded(self, msg_type: str, body: bytes, now: float) -> int:
        """Send an application message whose body is already encoded (the acceptor's entry: the
        mock gateway's market data made as bytes). The session adds the standard header
        (MsgSeqNum, SendingTime, the CompIDs), BodyLength and CheckSum, numbers, stores (on a
        retransmission session) and queues it as `send` does the message: the same frame.

        Args:
            msg_type: its MsgType, an application message of this session's dialect.
            body: its fields after the standard header, as the dialect's encoder writes them
                (the session does not read them).
            now: UTC seconds since the epoch.

        Returns:
            The MsgSeqNum it was sent with.

        Raises:
            LocalProtocolError: not logged on, an initiator (its order gate and value checks
                read the message: use `send`), a rate limiter configured, a MsgType the
                dialect does not have or a session message, or an over-size message.
        """
        life = self._life
        life.now = now
        if life.state is not _ACTIVE:
            raise LocalProtocolError(f"cannot send_encoded in state {life.state.value}")
        if not self._acceptor or self._billing is not None:
            raise LocalProtocolError(
                "send_encoded is an acceptor's without a rate limiter: an initiator's messages "
                "go through send (its order gate, value checks and billing read the message)"
            )
        cls = self._messages.get(msg_type)
        if cls is None or msg_type in ADMIN:
            raise LocalProtocolError(
                f"send_encoded takes an application MsgType of {self.config.product}, got "
                f"{msg_type!r}"
            )
        return self._writer.send_encoded(cls._MSGTYPE_FIELD, body, now)

    def send_encoded_now(
        self, msg_type: str, body: bytes, now: float, told: float, handed: Any = None
    ) -> bytes | None:
        """`send_encoded`, then `data_to_send` when `next_deadline` is not sooner than
        ``told``: the bytes to write (`AcceptorDriver.send_encoded_now
        <kalshi_fix_sansio.client._acceptor.AcceptorDriver.send_encoded_now>`'s session
        part); None: sent and queued, a deadline sooner than ``told`` to tell.

        Its common case in one step (the session active with no error and no gap open, no
        retransmission store, nothing queued before it): the frame numbered and made as
        `Outbound.send_encoded` makes it, the next number set, and handed back rather than
        queued and taken (`data_to_send` would take it alone), the deadline `next_deadline`
        would give read with the frame just sent. tests/test_session_send_encoded_now.py
        compares it with the three calls. ``handed``: the body, the shape of a whole frame of
        it and the body's values (the simulated exchange's, `codec._handed`), when it has
        them: a frame made in one step then keeps the frame, its shape and all its values in
        `handed` (`Outbound.frame_values`; None when a header value is not plain), for its
        caller to hand over with the frame.

        Raises:
            LocalProtocolError: as `send_encoded` (nothing sent).
        """
        life = self._life
        writer = self._writer
        store = self.store
        cls = self._messages.get(msg_type)
        if (
            life.state is not _ACTIVE
            or life.error is not None
            or cls is None
            or msg_type in ADMIN
            or not self._acceptor
            or self._billing is not None
            or writer._retransmission
            or writer.out
            or self._gaps.until
        ):
            return self._send_then_take(msg_type, body, now, told)
        life.now = now
        # an open `MemoryStore`'s numbers read and set as its methods would: the store itself,
        # or the one a store forwarding every call to it names as ``forwards_to_memory`` (the
        # gateway's store picked at Logon: a name no store holds by chance, as one that only
        # caches in a `MemoryStore` must still be asked); another store asked, as
        # `Outbound.send_encoded` asks it
        mem = getattr(store, "forwards_to_memory", store)
        if type(mem) is not MemoryStore or mem._closed:
            mem = None
        seq = store.next_sender_seq() if mem is None else mem._sender
        if handed is None:
            head = writer.own_header(seq, now)
            frame = finish_frame([cls._MSGTYPE_FIELD, head, body], writer._spec.heads)
        else:  # the same frame, its values kept (`Outbound.frame_values`)
            frame, self.handed = writer.frame_values(cls, seq, body, handed, now)
        if len(frame) > writer._max_size:  # refused: as `send_encoded` refuses it
            return self._send_then_take(msg_type, body, now, told)
        if mem is None:
            store.set_next_sender_seq(seq + 1)
        elif seq < MAX_SEQ:
            mem._sender = seq + 1
        else:  # out of range: as `set_next_sender_seq` refuses it
            mem.set_next_sender_seq(seq + 1)
        writer.last_tx = now
        # `next_deadline` of an active session with no gap open, its last send now
        if self._active_due(now) < told:
            writer.out.append(frame)  # queued, as `_queue_app` queues it
            return None
        return frame

    def _send_then_take(self, msg_type: str, body: bytes, now: float, told: float) -> bytes | None:
        """`send_encoded_now` as the calls it stands for: `send_encoded`, `next_deadline` and
        `data_to_send`."""
        self.send_encoded(msg_type, body, now)
        deadline = self.next_deadline()
        return None if deadline is not None and deadline < told else self.data_to_send()

    def send_delay(self, message: Message, now: float) -> float:
        """Seconds from ``now`` until the rate limiter can take ``message`` (0.0: `send` it
        now; ``inf``: it never fits its bucket). Always 0.0 without a limiter. Bills nothing
        and checks nothing else: an adapter sleeps this long, then calls `send`.

        Args:
            message: the application message to send.
            now: UTC seconds since the epoch.

        Returns:
            The delay in seconds.
        """
        billing = self._billing
        return 0.0 if billing is None else billing.limiter.check(message, now)

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
        self._life.now = now
        if self._life.state is not _ACTIVE:
            raise LocalProtocolError(f"cannot send a Reject in state {self._life.state.value!r}")
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
        self._life.now = now
        if self._life.state not in (_ACTIVE, _LOGON_SENT):
            raise LocalProtocolError(f"cannot log out in state {self._life.state.value!r}")
        self._send_admin(self.dialect.Logout(text=text), now)
        self._life.move(Trigger.LOGOUT)

    def send_test_request(self, now: float, test_req_id: str | None = None) -> str:
        """Send a TestRequest (35=1) now and wait for its Heartbeat as the liveness timer's
        own would: the peer has ``disconnect_factor`` heartbeat intervals from when it was
        last heard to answer (a Heartbeat echoing the TestReqID), else `Timeout("heartbeat")`.
        A `TestRequestSent` event is queued, as for the timer's.

        Args:
            now: UTC seconds since the epoch.
            test_req_id: TestReqID(112); None: a new one (``TEST-<n>-<ms>``).

        Returns:
            The TestReqID sent (the one now awaited; it replaces one the timer sent before).

        Raises:
            LocalProtocolError: not logged on, or ``test_req_id`` is empty.
        """
        self._life.now = now
        if self._life.state is not _ACTIVE:
            raise LocalProtocolError(
                f"cannot send a TestRequest in state {self._life.state.value!r}"
            )
        if test_req_id is None:
            self._test_req_count += 1
            test_req_id = f"TEST-{self._test_req_count}-{int(now * 1000)}"
        elif not isinstance(test_req_id, str) or not test_req_id:
            raise LocalProtocolError(f"test_req_id must be a non-empty str, got {test_req_id!r}")
        self._send_admin(self.dialect.TestRequest(test_req_id=test_req_id), now)
        self._inbound.test_req_id = test_req_id
        self._events.append(TestRequestSent(test_req_id))
        return test_req_id

    def next_deadline(self) -> float | None:
        """When `handle_timer` must next be called (UTC seconds), or None.

        Returns:
            The absolute deadline, or None when no timer runs (idle or closed).
        """
        life = self._life
        st = life.state
        if st is not _ACTIVE or life.error is not None:  # ACTIVE: the common case, inline
            if st is _IDLE or st is _CLOSED or life.error is not None:
                return None
            if st is _LOGON_SENT or st is _AWAITING_LOGON:
                return life.since + self.config.logon_timeout
            if st is _LOGOUT_SENT:
                return life.since + self.config.logout_timeout
        due = self._active_due(self._writer.last_tx)
        gaps = self._gaps
        if gaps.until:  # a gap open: the ResendRequest's timer too
            resend_due = gaps.due(self._inbound.heartbeat_interval)
            if resend_due is not None and resend_due < due:
                due = resend_due
        return due

    def _active_due(self, last_tx: float) -> float:
        """An active session's next timer with no gap open, its last send at ``last_tx``: the
        heartbeat due after it or the peer's silence timeout (the TestRequest's, or the
        disconnect once one is out), whichever is first."""
        inbound = self._inbound
        hb = inbound.heartbeat_interval
        factor = (
            self._test_request_factor
            if inbound.test_req_id is None
            else self.config.disconnect_factor
        )
        due = last_tx + hb
        peer_due = inbound.last_rx + hb * factor
        return peer_due if peer_due < due else due  # `min`, inline: this runs before every wait

    def handle_timer(self, now: float) -> None:
        """Fire whatever timers are due: heartbeat, TestRequest, logon/logout/peer timeouts.

        Args:
            now: UTC seconds since the epoch (calling early is harmless).
        """
        self._life.now = now
        st = self._life.state
        if st in (_IDLE, _CLOSED) or self._life.error is not None:
            return
        if st in (_LOGON_SENT, _AWAITING_LOGON):
            if now >= self._life.since + self.config.logon_timeout:
                self._events.append(Timeout("logon"))
                self._life.close(
                    f"no Logon within {self.config.logon_timeout:g} s",
                    reconnect=True,
                    trigger=Trigger.TIMEOUT,
                )
            return
        if st is _LOGOUT_SENT:
            if now >= self._life.since + self.config.logout_timeout:
                self._events.append(Timeout("logout"))
                self._life.close(
                    "the peer did not answer our Logout", reconnect=False, trigger=Trigger.TIMEOUT
                )
            return
        hb = self.heartbeat_interval
        cfg = self.config
        if not self._gaps.timer(now, hb):  # a ResendRequest asked again, or given up
            self._life.close(
                f"gap from MsgSeqNum {self.store.next_target_seq()} not filled after "
                f"{_RESEND_RETRIES + 1} ResendRequests",
                reconnect=True,
                trigger=Trigger.TIMEOUT,
            )
            return
        silent = now - self._inbound.last_rx
        if self._inbound.test_req_id is not None and silent >= hb * cfg.disconnect_factor:
            self._events.append(Timeout("heartbeat"))
            self._life.close(
                f"no message from the peer for {silent:.1f} s, TestRequest unanswered",
                reconnect=True,
                trigger=Trigger.TIMEOUT,
            )
            return
        if self._inbound.test_req_id is None and silent >= hb * cfg.test_request_factor:
            self._test_req_count += 1
            self._inbound.test_req_id = f"TEST-{self._test_req_count}-{int(now * 1000)}"
            self._send_admin(self.dialect.TestRequest(test_req_id=self._inbound.test_req_id), now)
            self._events.append(TestRequestSent(self._inbound.test_req_id))
        if now - self._writer.last_tx >= hb:
            self._send_admin(self.dialect.Heartbeat(), now)

    def _fail(self, exc: RemoteProtocolError | StoreError) -> None:
        """A session-ending fault (the peer's, or our message store's): Logout queued, state
        failed, error raised next (after the events already queued)."""
        life = self._life
        if life.state in (_ACTIVE, _LOGON_SENT, _AWAITING_LOGON) and self.target_comp_id:
            text = str(exc) if isinstance(exc, RemoteProtocolError) else "internal error"
            try:
                self._send_admin(self.dialect.Logout(text=text[:200]), life.now)
            except (EncodeError, LocalProtocolError, StoreError):  # its store may be what broke
                pass
        life.move(Trigger.FATAL)
        life.error = exc
