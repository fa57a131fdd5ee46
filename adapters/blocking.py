"""Blocking-socket adapter: a Kalshi FIX session in a ten-line script.

    from kalshi_fix_sansio.adapters.blocking import FixClient

    client = FixClient.from_env("demo")
    with client.market_data() as md:
        md.send(subscribe(["HIGHNY-23DEC31"]))
        for event in md.events(timeout=30):
            print(event)

The adapter only pumps bytes between a TLS socket and the sans-IO `Session` and drives its
timers; every protocol decision is the core's. It logs on when entered and logs out when left
(even on an exception), reconnects with full-jitter backoff and a fresh Logon signature, and
pulls from the socket only when you ask for events, so memory stays bounded.
"""

from __future__ import annotations

import collections
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from kalshi_fix_sansio._message import Message
from kalshi_fix_sansio._states import State
from kalshi_fix_sansio.config import SessionConfig
from kalshi_fix_sansio.errors import LocalProtocolError, RemoteProtocolError
from kalshi_fix_sansio.events import CloseTransport, Event, LoggedOn, LogonRejected
from kalshi_fix_sansio.session import Session

from ._client import ClientBase, ConnectOptions, current_state
from ._transport import (
    READ_CHUNK,
    ConnectionFailed,
    Endpoint,
    TransportError,
    check_endpoint,
    in_maintenance_window,
    loopback_addresses,
    reconnect_plan,
    ssl_context_for,
)

__all__ = ["BlockingSession", "FixClient", "MarginFixClient", "Reconnected"]


@attrs.frozen(slots=True)
class Reconnected(Event):
    """The adapter reconnected and logged on again after a drop.

    Attributes:
        attempt: how many connection attempts it took.
        reset_seq_nums: the new Logon reset sequence numbers.
    """

    attempt: int
    reset_seq_nums: bool


def _connect_loopback(endpoint: Endpoint, timeout: float) -> socket.socket:
    """Plain TCP: resolve, refuse unless every address is loopback, connect to those only."""
    rows = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    last: OSError | None = None
    for address in loopback_addresses(endpoint, rows):
        try:
            return socket.create_connection((address, endpoint.port), timeout=timeout)
        except OSError as exc:
            last = exc
    assert last is not None  # loopback_addresses returns at least one address
    raise last


class BlockingSession:
    """One Kalshi FIX session over a blocking TLS socket.

    Args:
        config: the session config (initiator).
        options: endpoint, TLS, backoff and reconnect options.
        on_event: optional callback receiving every event (then `events()` yields nothing).
        on_reconnect: called after each reconnect+logon (e.g. to re-subscribe market data).
        clock: the time source (UTC seconds); tests may pass their own.
    """

    def __init__(
        self,
        config: SessionConfig,
        options: ConnectOptions,
        *,
        on_event: Callable[[Event], None] | None = None,
        on_reconnect: Callable[[BlockingSession], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.options = options
        self.on_event = on_event
        self.on_reconnect = on_reconnect
        self._clock = clock
        self._sock: socket.socket | None = None
        self._ssl: ssl.SSLContext | None = None
        self.session: Session | None = None
        self._events: collections.deque[Event] = collections.deque()
        self._closing = False
        self._logged_on = False
        self.connections = 0

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> BlockingSession:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Connect and log on (retrying with backoff).

        Raises:
            ConnectionFailed: every attempt failed, or Kalshi refused the Logon.
            LocalProtocolError: the endpoint is not allowed (plain TCP off loopback, unlisted
                host).
        """
        check_endpoint(
            self.options.endpoint, allow_unlisted_hosts=self.options.allow_unlisted_hosts
        )
        # the one place that picks TLS: a TLS endpoint always gets a context (warns if weak)
        self._ssl = ssl_context_for(self.options.endpoint, self.options.ssl_context)
        self._connect(reset=False, first=True)

    def close(self) -> None:
        """Log out (waiting up to the logout timeout for Kalshi's answer) and close."""
        self._closing = True
        session = self.session
        if session is not None and session.state in (State.ACTIVE, State.LOGON_SENT):
            try:
                session.logout(self._clock())
                self._flush()
                deadline = self._clock() + self.config.logout_timeout
                while current_state(session) is State.LOGOUT_SENT and self._clock() < deadline:
                    self._pump(deadline)
            except (OSError, TransportError, RemoteProtocolError, LocalProtocolError):
                pass
        self._close_socket()
        if self.options.message_log is not None:
            self.options.message_log.close()

    # -- use ----------------------------------------------------------------------------

    def send(self, message: Message) -> int:
        """Send an application message.

        Args:
            message: a message of the session's dialect.

        Returns:
            Its MsgSeqNum.

        Raises:
            LocalProtocolError: not logged on, or a message the session type does not carry.
            EncodeError: a missing field or a value the wire cannot carry.
            TransportError: the connection is gone.
        """
        if self.session is None:
            raise LocalProtocolError("not connected: use the session as a context manager first")
        seq = self.session.send(message, self._clock())
        self._flush()
        return seq

    def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: forever).

        Returns:
            The event, or None when the timeout passed.

        Raises:
            ConnectionFailed: the connection dropped and could not be re-established.
        """
        deadline = None if timeout is None else self._clock() + timeout
        while not self._events:
            if deadline is not None and self._clock() >= deadline:
                return None
            if self.session is None:
                raise TransportError("the session is closed")
            self._pump(deadline)
        return self._events.popleft()

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Iterate events until ``timeout`` seconds pass with none (None: forever).

        Yields:
            Events (application messages, rejects, reconnects...).
        """
        while True:
            event = self.next_event(timeout)
            if event is None:
                return
            yield event

    def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float, send: Message | None = None
    ) -> Event:
        """Optionally send a message, then wait until an event satisfies ``predicate``.

        Events seen meanwhile are not lost: they stay queued for `events()` in order.

        Args:
            predicate: tests each event.
            timeout: seconds to wait.
            send: a message to send first.

        Returns:
            The first event satisfying the predicate.

        Raises:
            TimeoutError: none did in time.
        """
        if send is not None:
            self.send(send)
        deadline = self._clock() + timeout
        seen: list[Event] = []
        try:
            while True:
                remaining = deadline - self._clock()
                event = self.next_event(max(remaining, 0.0)) if remaining > 0 else None
                if event is None:
                    raise TimeoutError(f"no matching event within {timeout:g} s")
                if predicate(event):
                    return event
                seen.append(event)
        finally:
            self._events.extendleft(reversed(seen))

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Pump until ``until()`` is true (for callback users; with ``on_event``)."""
        while self.session is not None and (until is None or not until()):
            self._pump(self._clock() + 1.0)

    # -- internals ------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)
        else:
            self._events.append(event)

    def _connect(self, *, reset: bool, first: bool) -> None:
        options = self.options
        backoff = options.backoff
        backoff.reset()
        attempts = 0
        last: BaseException | None = None
        if not first:
            # after a lost connection, wait a jittered delay first: clients dropped together
            # must not all come back in the same instant
            delay = backoff.next_delay()
            if delay is None:
                raise ConnectionFailed.for_endpoint(options.endpoint, attempts=0)
            time.sleep(delay)
        while True:
            attempts += 1
            try:
                self._connect_once(reset)
            except (OSError, TransportError, RemoteProtocolError) as exc:
                last = exc
                self._close_socket()
                delay = backoff.next_delay() if options.reconnect or first else None
                if delay is None:
                    raise ConnectionFailed.for_endpoint(
                        options.endpoint, attempts=attempts, last_error=last
                    ) from exc
                time.sleep(delay)
                continue
            self.connections += 1
            if not first:
                self._emit(Reconnected(attempts, reset))
                if self.on_reconnect is not None:
                    self.on_reconnect(self)
            return

    def _connect_once(self, reset: bool) -> None:
        options = self.options
        ep = options.endpoint
        context = self._ssl if ep.tls else None  # set by open(): TLS endpoints get TLS
        if ep.tls and context is None:
            context = self._ssl = ssl_context_for(ep, options.ssl_context)
        if context is None:
            raw = _connect_loopback(ep, options.connect_timeout)
        else:
            raw = socket.create_connection((ep.host, ep.port), timeout=options.connect_timeout)
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock: socket.socket = raw
            if context is not None:
                sock = context.wrap_socket(raw, server_hostname=ep.server_hostname)
        except BaseException:
            raw.close()
            raise
        self._sock = sock
        config = self.config
        if reset and not config.resets_on_logon:
            config = attrs.evolve(config, reset_seq_num=True)
        session = Session(config)
        self.session = session
        session.start(self._clock())
        self._flush()
        while current_state(session) is not State.ACTIVE:
            self._pump(None, during_logon=True)
            if current_state(session) is State.CLOSED:
                break
        if current_state(session) is not State.ACTIVE:
            raise TransportError("Logon did not complete")

    def _pump(self, deadline: float | None, during_logon: bool = False) -> None:
        """Read once (until data, a session timer, or ``deadline``), process, write."""
        session = self.session
        sock = self._sock
        if session is None or sock is None:
            raise TransportError("the session is closed")
        now = self._clock()
        waits = [d for d in (session.next_deadline(), deadline) if d is not None]
        timeout = max(min(waits) - now, 0.0) if waits else None
        sock.settimeout(timeout)
        try:
            data = sock.recv(READ_CHUNK)
        except TimeoutError:
            data = None
        except OSError:
            data = b""
        now = self._clock()
        if data is not None:
            if self.options.message_log is not None and data:
                self.options.message_log.received(data, now)
            session.receive_data(data, now)
        session.handle_timer(now)
        try:
            for event in session.events():
                self._on_session_event(event, during_logon)
        except RemoteProtocolError as exc:
            self._flush()
            self._after_close(exc.reconnect, exc.reset_seq_nums, str(exc), during_logon)
            return
        self._flush()

    def _on_session_event(self, event: Event, during_logon: bool) -> None:
        if isinstance(event, LoggedOn):
            self._logged_on = True
        if isinstance(event, LogonRejected) and during_logon:
            self._emit(event)
            return
        if isinstance(event, CloseTransport):
            self._emit(event)
            self._after_close(event.reconnect, event.reset_seq_nums, event.reason, during_logon)
            return
        self._emit(event)

    def _after_close(self, reconnect: bool, reset: bool, reason: str, during_logon: bool) -> None:
        self._close_socket()
        if during_logon:
            raise TransportError(reason)
        if self._closing or not reconnect or not self.options.reconnect:
            self.session = None
            return
        plan = reconnect_plan(
            self.config,
            after_gap_teardown=reset,
            after_maintenance=in_maintenance_window(self._clock()),
            maintenance_reset=self.options.maintenance_reset,
        )
        self._connect(reset=plan.reset_seq_nums, first=False)

    def _flush(self) -> None:
        session = self.session
        sock = self._sock
        if session is None:
            return
        data = session.data_to_send()
        if not data or sock is None:
            return
        if self.options.message_log is not None:
            self.options.message_log.sent(data, self._clock())
        try:
            sock.settimeout(self.options.connect_timeout)
            sock.sendall(data)
        except OSError as exc:
            session.receive_data(b"", self._clock())
            raise TransportError(f"connection lost while sending: {exc}") from exc

    def _close_socket(self) -> None:
        sock = self._sock
        self._sock = None
        if sock is not None:
            try:
                sock.close()
            except OSError:  # pragma: no cover
                pass


class FixClient(ClientBase[BlockingSession]):
    """Kalshi FIX client for prediction (event contracts), blocking sockets.

    Factories: `order_entry`, `drop_copy`, `market_data`, `post_trade`, `rfq`, `session`.
    """

    PRODUCT = "prediction"

    def _make(
        self, config: SessionConfig, options: ConnectOptions, **session_options: Any
    ) -> BlockingSession:
        session_options.pop("max_queued_events", None)  # reads only on demand: no queue bound
        return BlockingSession(config, options, **session_options)


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps), blocking sockets (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
