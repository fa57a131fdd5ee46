"""The acceptor side of the driver: one accepted connection's session and its loop's rules.

The mock gateway (`kalshi_fix_sansio.simulator.gateway.MockGateway`) runs one `AcceptorDriver` per
accepted connection; its pump only moves bytes and hands the events to the exchange. It drives
it as the clients' adapters drive the client `Driver <kalshi_fix_sansio.client.driver.Driver>`,
through the same loop part (`_pump.Loop`) and the same call, ``step(fact, now) -> actions``
(`kalshi_fix_sansio.client.steps`): the connection's life, the wake-ups and the slow-peer verdict are
the loop part's. The acceptor is the role, and decides what only an acceptor decides:

* **the first bytes**: on a plain TCP port (``plain=True``) a TLS handshake ends the
  connection at once, so the client's handshake fails now instead of at the Logon timeout;
* **the session's end**: a `CloseTransport`, the peer's protocol fault (`failure`), the
  peer closing, the slow-peer verdict: the loop part says `Disconnect` (with ``abort`` when
  the bytes waiting for the peer are to be dropped, not flushed) and `close_reason` says why;
* **faults, as public hooks** (what the gateway's ``Faults`` switch on): `duplicate`, `skip`,
  `garble_next`, `delay` (outbound bytes held that long, in order), `close_after` (close once
  the bytes of that many application messages went out) and `hang` (read nothing, send
  nothing, fire no timer; the peer closing is still noticed, and `next_deadline` asks to be
  woken every ``recheck`` seconds to look at the fault again).

The module reads no clock and does no I/O: ``now`` is passed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any, Final

from ..codec import Message
from ..codec.errors import LocalProtocolError, RemoteProtocolError
from ..codec.framing import checksum
from ..session.config import Role, SessionConfig
from ..session.events import NEED_DATA, CloseTransport, Event, LoggedOn
from ..session.machine import Session
from ._loop import DEFAULT_MAX_BUFFERED, Loop, Steps, not_a_fact
from .steps import Action, Fact, Kill, Send

__all__ = ["HUNG_RECHECK", "TLS_HANDSHAKE", "AcceptorDriver", "garble_checksum"]

TLS_HANDSHAKE: Final = b"\x16\x03"
"""The first bytes of a TLS ClientHello (a handshake record, version 3.x)."""
HUNG_RECHECK: Final = 0.05
"""Seconds between looks at the ``hang`` fault while it holds a connection."""


class AcceptorDriver:
    """One acceptor `Session` over one accepted connection, with the loop's rules (sans-IO).

    Args:
        config: the session config (acceptor).
        plain: the connection is plain TCP: a TLS handshake as its first bytes ends it.
        write_timeout: seconds bytes may wait for a peer that does not read before the
            connection counts as lost (`write_buffered`); None: no limit.
        max_buffered: most bytes that may wait for the peer (`write_buffered`).
        recheck: seconds between wake-ups while `hang` holds the connection.

    Raises:
        LocalProtocolError: the config is not an acceptor's, or ``write_timeout`` is not > 0.
    """

    def __init__(
        self,
        config: SessionConfig,
        *,
        plain: bool = False,
        write_timeout: float | None = None,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
        recheck: float = HUNG_RECHECK,
    ) -> None:
        if config.role is not Role.ACCEPTOR:
            raise LocalProtocolError("an AcceptorDriver runs an acceptor's session config")
        self.loop = Loop(self, self, write_timeout, max_buffered, lag_bounded=False)
        # the loop part's facts, and a send: the acceptor's own
        self._steps: Steps = {**self.loop.steps, Send: self._send}  # type: ignore[dict-item]
        """The loop part: the connection's life, the wake-ups and the slow-peer verdict
        (`step`)."""
        self.config = config
        self.plain = plain
        self.recheck = recheck
        self._session = Session(config)
        self.logged_on = False
        """The peer's Logon was accepted on this connection."""
        self.app_sent = 0
        """Application messages sent on this connection."""
        self.close_reason: str | None = None
        """Why the connection must close (None while it is in use)."""
        self.failure: RemoteProtocolError | None = None
        """The peer's protocol fault that ended the session, if one did."""
        self.delay = 0.0
        """Seconds each chunk of outbound bytes is held before `data_to_send` gives it out."""
        self.close_after: int | None = None
        """Close the connection once the bytes of this many application messages went out."""
        self._now = 0.0
        self._first = True
        self._hung = False
        self._garble = False
        # (when it may go, bytes, `app_sent` when it was queued): held by `delay`, in order
        self._held: deque[tuple[float, bytes, int]] = deque()

    # -- the loop's contract -------------------------------------------------------------------

    def step(self, fact: Fact, now: float) -> Sequence[Action]:
        """Take one fact of the loop at ``now`` and say what the loop must do (the same call
        as the client `Driver`'s; `kalshi_fix_sansio.client.steps`). A `Send` sends on the session
        (as `send`); a `Kill` is refused (the gateway has no kill switch of its own).

        Raises:
            LocalProtocolError: not a fact an acceptor takes; what `send` raises.
        """
        handler = self._steps.get(fact.__class__)
        if handler is None:
            raise not_a_fact(fact)
        return handler(fact, now)

    @property
    def session(self) -> Session:
        """The acceptor `Session` of this connection."""
        return self._session

    @property
    def finished(self) -> bool:
        """The connection ended (`close_reason` says why)."""
        return self.close_reason is not None

    @property
    def connect_at(self) -> float | None:
        """None: an acceptor never opens a connection."""
        return None

    def next_deadline(self) -> float | None:
        """When to fire the timers (`handle_timer`), or None (the connection is closing)."""
        if self.close_reason is not None:
            return None
        if self._hung:
            return self._now + self.recheck
        deadline = self._session.next_deadline()
        if self._held:
            due = self._held[0][0]
            if deadline is None or due < deadline:
                deadline = due
        return deadline

    def send(self, message: Message, now: float, *, resubscribe: bool = False) -> int:
        """Send an application message on the session (as `Session.send`).

        Raises:
            LocalProtocolError: as `Session.send` (not logged on, a message this session type
                does not carry...); EncodeError as well.
        """
        seq = self._session.send(message, now)
        self.app_sent += 1
        return seq

    def send_encoded(self, msg_type: str, body: bytes, now: float) -> int:
        """Send an application message whose body is already encoded (`Session.send_encoded`:
        the same frame as `send` of the message).

        Raises:
            LocalProtocolError: as `Session.send_encoded`.
        """
        seq = self._session.send_encoded(msg_type, body, now)
        self.app_sent += 1
        return seq

    def send_encoded_now(
        self, msg_type: str, body: bytes, now: float, handed: Any = None
    ) -> bytes | None:
        """`send_encoded`, then the bytes to write: what a `Woke` step at ``now`` would give
        (`Write`), without the step, when it would do nothing else (the connection in use, no
        timer due, no fault holding or changing the bytes, no sooner deadline to tell). None:
        sent and queued; step `Woke` as usual (the mock gateway's route of one market-data
        message, the common case first). ``handed``: the body, its frame's shape and its
        values (`Session.send_encoded_now`'s, which keeps the frame's in `Session.handed`).

        Raises:
            LocalProtocolError: as `Session.send_encoded` (nothing sent).
        """
        loop = self.loop
        told = loop._told
        if (
            told <= now
            or self.delay > 0
            or self._held
            or self._hung
            or self._garble
            or self.close_after is not None
            or self.close_reason is not None
            or not loop._open
            or loop._abort
            or loop._stuck_since is not None
        ):
            self._session.send_encoded(msg_type, body, now)  # `send_encoded`, inline
            self.app_sent += 1
            return None
        # the session's send, next deadline and bytes in one call (`Session.send_encoded_now`)
        data = self._session.send_encoded_now(msg_type, body, now, told, handed)
        self.app_sent += 1
        return data

    def _send(self, fact: Send, now: float) -> Sequence[Action]:
        fact.seq = self.send(fact.message, now)
        return self.loop.actions(now, True)

    def _kill_fact(self, fact: Kill, now: float) -> None:
        raise LocalProtocolError("an acceptor has no kill switch (Kill is a client's fact)")

    def _lag_bound(self) -> float | None:
        return None  # the gateway reads its events at once

    def connection_made(self, now: float) -> None:
        raise LocalProtocolError("an acceptor's connection is open from `Start`")

    def connection_failed(self, now: float, error: BaseException) -> None:
        raise LocalProtocolError("an acceptor opens no connection")

    def close(self, now: float) -> None:
        """End the connection now (the gateway drops it)."""
        self._now = now
        self._end("closed by the gateway")

    # -- inputs ------------------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """The connection is accepted: the session waits for the client's Logon."""
        self._now = now
        self._session.start(now)

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes read from the connection (``b""``: the peer closed it)."""
        self._now = now
        if self.close_reason is not None:
            return
        if self._hung:  # a hung gateway reads nothing, but notices the peer leaving
            if not data:
                self._end("the peer closed the connection")
            return
        if self._first:
            self._first = False
            if self.plain and data.startswith(TLS_HANDSHAKE):
                self._end("a TLS handshake on a plain TCP port")
                return
        self._session.receive_data(data, now)
        if not data:
            self._end("the peer closed the connection")

    def handle_timer(self, now: float) -> None:
        """Fire the session's timers that are due."""
        self._now = now
        if self.close_reason is not None or self._hung:
            return
        self._session.handle_timer(now)

    def connection_lost(self, now: float, reason: str) -> None:
        """The connection broke; ``reason`` is kept as `close_reason`."""
        self._now = now
        self._end(reason)

    # -- outputs ---------------------------------------------------------------------------------

    @property
    def wants_transport(self) -> bool:
        """The connection is in use; False: close it (the loop part says `Disconnect`)."""
        return self.close_reason is None

    def events(self) -> Iterator[Event]:
        """The session's events, in order. A `CloseTransport`, or a peer's protocol fault
        (kept as `failure`; the session's Logout is queued), ends the connection."""
        next_event = self._session.next_event
        while True:
            try:
                event = next_event()
            except RemoteProtocolError as exc:
                self.failure = exc
                self._end(str(exc))
                return
            if event is NEED_DATA:
                return
            if isinstance(event, CloseTransport):
                self._end(event.reason)
            elif isinstance(event, LoggedOn):
                self.logged_on = True
            yield event

    def data_to_send(self, now: float | None = None) -> bytes:
        """The bytes to write now (and forget): none while hung, none that `delay` holds."""
        if self._hung:
            return b""  # the session keeps them
        data = self._session.data_to_send()
        if data and self._garble:
            self._garble = False
            data = garble_checksum(data)
        if now is None:
            now = self._now
        if self.delay <= 0 and not self._held:
            if data and self.close_after is not None:
                self._sent_through(self.app_sent)
            return data
        held = self._held
        if data:
            held.append((now + self.delay, data, self.app_sent))
        out = []
        while held and held[0][0] <= now:
            _, chunk, sent = held.popleft()
            out.append(chunk)
            if self.close_after is not None:
                self._sent_through(sent)
        return b"".join(out)

    def _sent_through(self, app_sent: int) -> None:
        limit = self.close_after
        if limit is not None and app_sent >= limit:
            self._end(f"closed after {app_sent} application messages (close_after={limit})")

    def _end(self, reason: str) -> None:
        if self.close_reason is None:
            self.close_reason = reason

    # -- faults (public hooks) ---------------------------------------------------------------------

    def hang(self, hung: bool) -> None:
        """Hang (True) or serve again (False): while hung the connection reads nothing, sends
        nothing and fires no timer; the peer closing it is still noticed."""
        self._hung = hung

    @property
    def hung(self) -> bool:
        """`hang` holds the connection."""
        return self._hung

    def skip(self, count: int) -> None:
        """Skip ``count`` outbound MsgSeqNums: the peer sees a gap at the next message."""
        store = self._session.store
        store.set_next_sender_seq(store.next_sender_seq() + count)

    def garble_next(self) -> None:
        """Corrupt the CheckSum of the next frame `data_to_send` gives out."""
        self._garble = True


def garble_checksum(data: bytes) -> bytes:
    """``data`` (whole frames) with the CheckSum(10) of its first frame off by one."""
    end = data.find(b"\x0110=")
    if end < 0:
        return data
    body = data[: end + 1]
    return body + b"10=%03d\x01" % ((checksum(body) + 1) % 256) + data[end + 8 :]
