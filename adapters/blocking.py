"""Blocking adapter: a Kalshi FIX session in a ten-line script.

    from kalshi_fix_sansio.adapters.blocking import FixClient

    with FixClient.from_env("demo").market_data() as md:
        md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)
        for event in md.events(timeout=30):
            print(event)

The core's `Supervisor` makes every decision (reconnects, backoff, sequence resets, refused
Logons, logout on close); this module opens sockets (TLS from `ssl_context_for`), sleeps and
runs the supervisor in one background thread per session. That thread does all the socket I/O,
so heartbeats and TestRequests flow while the application is busy; `BlockingSession.send` hands
the message to the core under a lock and wakes the thread, which writes it at once.
``on_event`` and ``on_reconnect`` run in that thread (they may call `send`). Events wait in a
queue of at most ``max_queued_events``; while it is full the thread reads nothing.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from kalshi_fix_sansio._message import Message
from kalshi_fix_sansio.config import SessionConfig
from kalshi_fix_sansio.errors import LocalProtocolError
from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.session import Session
from kalshi_fix_sansio.supervisor import (
    Disconnected,
    Reconnected,
    Reconnecting,
    Supervisor,
    SupervisorState,
)

from ._client import (
    MAX_QUEUED_EVENTS,
    ClientBase,
    ConnectOptions,
    EventQueue,
    closed_error,
    log_event,
    new_supervisor,
)
from ._transport import READ_CHUNK, check_endpoint, loopback_addresses, ssl_context_for

__all__ = [
    "MAX_QUEUED_EVENTS",
    "BlockingSession",
    "Disconnected",
    "FixClient",
    "MarginFixClient",
    "Reconnected",
    "Reconnecting",
]


class BlockingSession:
    """One Kalshi FIX session over a blocking socket (``with``: log on, then log out).

    Args:
        config: the session config (initiator).
        options: endpoint, TLS, backoff and reconnect options.
        on_event: receives every event instead of the queue (in the session's thread).
        on_reconnect: called after each reconnect (in the session's thread), e.g. to re-subscribe.
        clock: UTC epoch seconds for the core; tests may pass their own.
        max_queued_events: most events queued before reading pauses.
    """

    def __init__(
        self,
        config: SessionConfig,
        options: ConnectOptions,
        *,
        on_event: Callable[[Event], None] | None = None,
        on_reconnect: Callable[[BlockingSession], None] | None = None,
        clock: Callable[[], float] = time.time,
        max_queued_events: int = MAX_QUEUED_EVENTS,
    ) -> None:
        self.config, self.options = config, options
        self.on_event, self.on_reconnect = on_event, on_reconnect
        self._clock = clock
        self._events = EventQueue(max_queued_events)
        self.supervisor: Supervisor | None = None
        self._cond = threading.Condition()  # guards the supervisor and the queue
        self._thread: threading.Thread | None = None
        self._running = False
        self._crash: Exception | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._ssl: ssl.SSLContext | None = None
        self._name = f"{config.product}/{config.session_type}"

    def __enter__(self) -> BlockingSession:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Connect and log on; a background thread keeps the session up until `close`.

        Raises:
            LogonRefused: Kalshi refused the Logon for good (its text is in the message).
            ConnectionFailed: every attempt the backoff allows failed.
            LocalProtocolError: the endpoint is not allowed, or the session is already open.
        """
        if self._thread is not None:
            raise LocalProtocolError("the session is already open: close it first")
        check_endpoint(self.options.endpoint, allow_unlisted_hosts=self.options.allow_unlisted_hosts)
        self._ssl = ssl_context_for(self.options.endpoint, self.options.ssl_context)
        if self.options.message_log is not None:
            self.options.message_log.open()
        sup = self.supervisor = new_supervisor(self.config, self.options)
        sup.start(self._clock())
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._running, self._crash = True, None
        self._thread = threading.Thread(target=self._run, args=(sup,), name=f"kalshi-fix {self._name}", daemon=True)
        self._thread.start()
        with self._cond:
            self._cond.wait_for(lambda: sup.state is SupervisorState.ACTIVE or not self._alive())
        if sup.state is not SupervisorState.ACTIVE:
            self.close()
            raise closed_error(sup, self._crash)

    def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        sup, thread = self.supervisor, self._thread
        if sup is not None and thread is not None:
            with self._cond:
                sup.close(self._clock())
            self._wake()
            if thread is not threading.current_thread():
                thread.join(self.config.logout_timeout + self.options.connect_timeout + 1)
                if not thread.is_alive():
                    self._thread = None
                    self._wake_r.close()
                    self._wake_w.close()
        if self.options.message_log is not None:
            self.options.message_log.close()

    def send(self, message: Message, *, resubscribe: bool = False) -> int:
        """Send an application message (the session's thread writes it at once).

        Args:
            message: a message of the session's dialect.
            resubscribe: send it again after every reconnect (market-data subscriptions).

        Returns:
            Its MsgSeqNum.

        Raises:
            TransportError: the connection is down (wait for `Reconnected`) or gone for good.
            LocalProtocolError: not open, or a message the session type does not carry.
            EncodeError: a missing field or a value the wire cannot carry.
        """
        sup = self.supervisor
        if sup is None:
            raise LocalProtocolError("not connected: use the session as a context manager first")
        with self._cond:
            seq = sup.send(message, self._clock(), resubscribe=resubscribe)
        self._wake()
        return seq

    def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: until one comes).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session ended (after the
                events queued before that were returned).
        """
        return self._wait(lambda _: True, timeout)

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Iterate events until ``timeout`` seconds pass with none (None: forever)."""
        while (event := self.next_event(timeout)) is not None:
            yield event

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float | None, send: Message | None = None) -> Event:
        """Optionally send a message, then wait for an event satisfying ``predicate``.

        Events skipped meanwhile stay queued, in order.

        Raises:
            TimeoutError: none came within ``timeout`` seconds (None: wait forever).
            LogonRefused, ConnectionFailed, TransportError: the session ended first.
        """
        if send is not None:
            self.send(send)
        event = self._wait(predicate, timeout)
        if event is None:
            raise TimeoutError(f"no matching event within {timeout:g} s")
        return event

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Wait until ``until()`` is true or the session ends (for ``on_event`` users).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session failed.
        """
        with self._cond:
            self._cond.wait_for(lambda: not self._alive() or (until is not None and until()))
        if self.supervisor is None or self.supervisor.failure is not None or self._crash is not None:
            raise closed_error(self.supervisor, self._crash)

    @property
    def session(self) -> Session | None:
        """The core `Session` of the current (or last) connection."""
        return None if self.supervisor is None else self.supervisor.session

    @property
    def connections(self) -> int:
        """How many connections logged on so far (1 + the reconnects)."""
        return 0 if self.supervisor is None else self.supervisor.connections

    @property
    def max_queued_events(self) -> int:
        """The event queue's bound."""
        return self._events.bound

    @property
    def queued_events(self) -> int:
        """How many events wait in the queue."""
        return len(self._events)

    def _alive(self) -> bool:
        return self._running

    def _wait(self, predicate: Callable[[Event], bool], timeout: float | None) -> Event | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (event := self._events.take(predicate)) is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                if not self._alive():
                    raise closed_error(self.supervisor, self._crash)
                self._cond.wait(remaining)
        self._wake()  # room in the queue: the thread may read again
        return event

    # -- the session's thread -------------------------------------------------------------

    def _run(self, sup: Supervisor) -> None:
        sock: socket.socket | None = None
        try:
            while True:
                with self._cond:
                    if sup.finished and sock is None:
                        break
                    at = sup.connect_at
                if sock is None and at is not None:
                    if self._sleep(at - self._clock()) is None:
                        sock = self._connect(sup)
                sock = self._write(sup, sock)
                self._deliver(sup)
                if sock is not None:
                    self._read(sup, sock)
            self._deliver(sup, force=True)
        except Exception as exc:  # a local error (e.g. a refused address): raised to the caller
            self._crash = exc
        finally:
            if sock is not None:
                sock.close()
            with self._cond:
                self._running = False
                self._cond.notify_all()

    def _sleep(self, seconds: float) -> bool | None:
        """Wait ``seconds`` or until woken; None when the time passed."""
        readable, _, _ = select.select([self._wake_r], [], [], max(seconds, 0.0))
        if readable:
            self._wake_r.recv(4096)
            return True
        return None

    def _connect(self, sup: Supervisor) -> socket.socket | None:
        ep, timeout = self.options.endpoint, self.options.connect_timeout
        try:
            if self._ssl is None:
                rows = socket.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)
                raw = socket.create_connection((loopback_addresses(ep, rows)[0], ep.port), timeout=timeout)
            else:
                raw = socket.create_connection((ep.host, ep.port), timeout=timeout)
            try:
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock = raw if self._ssl is None else self._ssl.wrap_socket(raw, server_hostname=ep.server_hostname)
            except BaseException:
                raw.close()
                raise
        except OSError as exc:
            with self._cond:
                sup.connection_failed(self._clock(), exc)
            return None
        with self._cond:
            if sup.connect_at is None:  # closed while connecting
                sock.close()
                return None
            sup.connection_made(self._clock())
        return sock

    def _read(self, sup: Supervisor, sock: socket.socket) -> None:
        with self._cond:
            deadline = sup.next_deadline()
            paused = self._events.full and self.on_event is None
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        wait = 0.0 if pending else None if deadline is None else max(deadline - self._clock(), 0.0)
        readable, _, _ = select.select([self._wake_r] if paused else [sock, self._wake_r], [], [], wait)
        if self._wake_r in readable:
            self._wake_r.recv(4096)
        data: bytes | None = None
        if sock in readable or pending:
            sock.settimeout(0.0)
            try:
                data = sock.recv(READ_CHUNK)
            except (ssl.SSLWantReadError, BlockingIOError):
                data = None
            except OSError as exc:
                with self._cond:
                    sup.connection_lost(self._clock(), f"read failed: {exc!r}")
                return
        now = self._clock()
        with self._cond:
            if data is not None:
                if data and self.options.message_log is not None:
                    self.options.message_log.received(data, now)
                sup.receive_data(data, now)
            sup.handle_timer(now)

    def _write(self, sup: Supervisor, sock: socket.socket | None) -> socket.socket | None:
        with self._cond:
            data, keep = sup.data_to_send(), sup.wants_transport
        if data and sock is not None:
            if self.options.message_log is not None:
                self.options.message_log.sent(data, self._clock())
            try:
                sock.settimeout(self.options.connect_timeout)
                sock.sendall(data)
            except OSError as exc:
                with self._cond:
                    sup.connection_lost(self._clock(), f"write failed: {exc!r}")
                return sock
        if sock is not None and not keep:
            sock.close()
            return None
        return sock

    def _deliver(self, sup: Supervisor, *, force: bool = False) -> None:
        while True:
            with self._cond:
                if not (force or self.on_event is not None or not self._events.full):
                    return
                event = sup.next_event()
                if event is None:
                    return
                if self.on_event is None:
                    self._events.put(event)
                self._cond.notify_all()
            log_event(self._name, event)
            if self.on_event is not None:
                self.on_event(event)
            if isinstance(event, Reconnected) and self.on_reconnect is not None:
                self.on_reconnect(self)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already woken (the pipe is full) or closed


class FixClient(ClientBase[BlockingSession]):
    """Kalshi FIX client for prediction (event contracts), blocking sockets."""

    PRODUCT = "prediction"

    def _make(self, config: SessionConfig, options: ConnectOptions, **session_options: Any) -> BlockingSession:
        return BlockingSession(config, options, **session_options)


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps), blocking sockets (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
