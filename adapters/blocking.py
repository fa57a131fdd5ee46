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
the message to the core under a lock (first sleeping, outside the lock, as long as the core's
rate limiter asks, if one is configured) and writes its bytes to the socket itself when the
socket takes them at once, else wakes the thread, which writes them.
Every byte read goes to the core's `Driver` in that thread, which keeps the order tracker and
the books current at once. ``on_event`` and ``on_reconnect`` run in a second thread of the
session (they may call `send`), so a slow callback never stops the reading. Reading never pauses
for a slow application: the driver's `QueuePolicy` decides what happens when events pile up
unread.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

from kalshi_fix_sansio import Message
from kalshi_fix_sansio.catchup import CatchUpComplete, CatchUpFailed, CatchUpStarted, ExecCursor
from kalshi_fix_sansio.driver import (
    Driver,
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    QueuePolicy,
)
from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.killswitch import (
    DEFAULT_FALLBACK_AFTER,
    KillReport,
    KillSwitch,
    TradingHalted,
)
from kalshi_fix_sansio.supervisor import Disconnected, Reconnected, Reconnecting
from kalshi_fix_sansio.tracker import TrackedOrder

from ._base import (
    KILL_TIMEOUT,
    PLACE_TIMEOUT,
    SessionBase,
    Settlement,
    Until,
    kill_targets,
    matched,
)
from ._client import MAX_QUEUED_EVENTS, ClientBase
from ._transport import READ_CHUNK, loopback_addresses

__all__ = [
    "MAX_QUEUED_EVENTS",
    "BlockingSession",
    "CatchUpComplete",
    "CatchUpFailed",
    "CatchUpStarted",
    "Disconnected",
    "EventQueueOverflow",
    "ExecCursor",
    "FallingBehind",
    "FixClient",
    "KillReport",
    "MarginFixClient",
    "MarketDataFolded",
    "QueuePolicy",
    "Reconnected",
    "Reconnecting",
    "TradingHalted",
]


class BlockingSession(SessionBase):
    """One Kalshi FIX session over a blocking socket (``with``: log on, then log out).

    Takes the arguments of `SessionBase`: ``config``, ``options``, ``on_event`` and
    ``on_reconnect`` (both run in the session's callback thread), ``clock``,
    ``max_queued_events`` and the others.
    """

    _OPEN_HINT = "use the session as a context manager first"

    def _setup(self) -> None:
        self._cond = threading.Condition()  # guards the driver (and so its queue)
        self._lock = self._cond
        self._thread: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None  # runs on_event / on_reconnect
        self._running = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._ssl: ssl.SSLContext | None = None
        # the connection's socket, written directly by `send` (see `_flush`); every call on it
        # (read, write, close) holds `_io`: an SSL object must not be used by two threads at once
        self._sock: socket.socket | None = None
        self._io = threading.Lock()
        self._unsent = b""  # bytes a direct write could not finish: the thread writes them first
        self._read_until: float | None = None  # the core deadline the thread's select waits for

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
        sup, self._ssl = self._begin()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._running = True
        self._thread = threading.Thread(target=self._run, args=(sup,), name=f"kalshi-fix {self._name}", daemon=True)
        self._thread.start()
        if self.on_event is not None or self.on_reconnect is not None:
            self._dispatcher = threading.Thread(
                target=self._dispatch, args=(sup,), name=f"kalshi-fix {self._name} callbacks", daemon=True
            )
            self._dispatcher.start()
        with self._cond:
            self._cond.wait_for(lambda: self._logged_on(sup) or self._ended())
        if not self._logged_on(sup):
            self.close()
            raise self._closed_error()

    def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        sup, thread = self.driver, self._thread
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
        dispatcher = self._dispatcher
        if dispatcher is not None and dispatcher is not threading.current_thread():
            dispatcher.join(self.config.logout_timeout + 1)
            if not dispatcher.is_alive():
                self._dispatcher = None
        self._close_log()

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
        return matched(self._wait(predicate, timeout), timeout)

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Wait until ``until()`` is true or the session ends (for ``on_event`` users).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session failed.
        """
        with self._cond:
            self._cond.wait_for(
                lambda: (self._ended() and not self._dispatching()) or (until is not None and until())
            )
        self._check_failed()

    def send(self, message: Message, *, resubscribe: bool = False) -> int:
        """Send an application message now, as `SessionBase.send
        <kalshi_fix_sansio.adapters._base.SessionBase.send>`; with a rate limiter and
        ``rate_limit="wait"`` (the default) it first sleeps as long as the core says its tokens
        need (in ``on_event``, that holds up the session's thread as long).

        Raises:
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now, or it never fits.
            TransportError, LocalProtocolError, EncodeError: as `SessionBase.send`.
        """
        return self._send_paced(message, resubscribe=resubscribe)

    def place(
        self, order: Message, *, timeout: float | None = PLACE_TIMEOUT, until: Until = "ack"
    ) -> TrackedOrder:
        """Send a NewOrderSingle (or OrderCancelReplaceRequest) and wait for Kalshi's answer.

        As `AsyncSessionBase.place <kalshi_fix_sansio.adapters._base.AsyncSessionBase.place>`
        (``until="ack"`` or ``"filled"``; a rate-limit wait first), blocking.

        Raises:
            OrderRejected: Kalshi rejected it (150=8, 35=9 or 35=j), with its reason.
            TimeoutError: no answer in time (the order stays tracked).
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now.
        """
        settlement = self._placing(order, until)
        self._send_paced(order)
        return self._settle(settlement, timeout)

    def cancel(self, request: Message, *, timeout: float | None = PLACE_TIMEOUT) -> TrackedOrder:
        """Send an OrderCancelRequest and wait for its Canceled report (or `OrderRejected`)."""
        settlement = self._cancelling(request)
        self._send_paced(request)
        return self._settle(settlement, timeout)

    def kill(
        self,
        *,
        timeout: float | None = KILL_TIMEOUT,
        halt: bool = True,
        use_groups: bool = True,
        fallback_after: float = DEFAULT_FALLBACK_AFTER,
        confirm: bool | None = None,
    ) -> KillReport:
        """Take every open order of this session off the book and wait until none is open.

        As `AsyncSessionBase.kill <kalshi_fix_sansio.adapters._base.AsyncSessionBase.kill>`
        (one 35=q on KalshiNR; order-group triggers and single 35=F on KalshiRT; with the
        connection down it waits for the reconnect; ``confirm``: a drop-copy replay confirms
        nothing is open, by default where the session catches up), blocking.

        Returns:
            The `KillReport`: done, or what is still open and why.
        """
        kill = self._start_kill(halt, use_groups, fallback_after, confirm)
        self._await_kill(kill, None if timeout is None else time.monotonic() + timeout)
        return self._kill_report(kill)

    def _await_kill(self, kill: KillSwitch, deadline: float | None) -> None:
        with self._cond:
            while kill.finished_at is None and not self._ended():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return
                self._cond.wait(remaining)

    def _send_paced(self, message: Message, *, resubscribe: bool = False) -> int:
        while True:
            seq, delay = self._offer(message, resubscribe=resubscribe)
            if seq is not None:
                return seq
            time.sleep(delay)

    def _settle(self, settlement: Settlement, timeout: float | None) -> TrackedOrder:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (result := settlement.result()) is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise settlement.timeout_error(timeout)
                if self._ended():
                    raise self._closed_error()
                self._cond.wait(remaining)
        return result

    def _is_open(self) -> bool:
        return self._thread is not None

    def _ended(self) -> bool:
        return not self._running

    def _dispatching(self) -> bool:
        """The callback thread still has (or may get) callbacks to run (call holding the lock)."""
        sup = self.driver
        return self._dispatcher is not None and sup is not None and self._callback_due(sup)

    def _wait(self, predicate: Callable[[Event], bool], timeout: float | None) -> Event | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (event := self._take(predicate)) is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                if self._ended():
                    raise self._closed_error()
                self._cond.wait(remaining)
        return event

    def _dispatch(self, sup: Driver) -> None:
        """The callback thread: ``on_event`` with every event, ``on_reconnect`` when due, until
        the session's thread has ended and nothing is left."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._callback_due(sup) or self._ended())
                if not self._callback_due(sup):
                    self._cond.notify_all()  # `run` waits for the last callback
                    return
                event, reconnected = self._take_callback(sup)
            try:
                if event is not None and self.on_event is not None:
                    self.on_event(event)
                if reconnected and self.on_reconnect is not None:
                    self.on_reconnect(self)
            finally:
                with self._cond:
                    self._cond.notify_all()

    # -- the session's thread -------------------------------------------------------------

    def _run(self, sup: Driver) -> None:
        sock: socket.socket | None = None
        try:
            while True:
                with self._cond:
                    if sup.finished and sock is None:
                        break
                    at = sup.connect_at
                if sock is None and at is not None:
                    if self._sleep(at - self._clock()) is None:
                        sock = self._sock = self._connect(sup)
                sock = self._write(sup, sock)
                if sock is not None:
                    self._read(sup, sock)
        except Exception as exc:  # a local error (e.g. a refused address): raised to the caller
            self._crash = exc
        finally:
            if sock is not None:
                self._close_socket(sock)
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

    def _connect(self, sup: Driver) -> socket.socket | None:
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
        sock.settimeout(0.0)  # non-blocking from now on: `_write` alone waits, for `sendall`
        with self._cond:
            if self._connected(sup):
                return sock
        sock.close()
        return None

    def _read(self, sup: Driver, sock: socket.socket) -> None:
        with self._cond:
            deadline = self._read_until = sup.next_deadline()
        with self._io:
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        wait = 0.0 if pending else None if deadline is None else max(deadline - self._clock(), 0.0)
        readable, _, _ = select.select([sock, self._wake_r], [], [], wait)
        if self._wake_r in readable:
            self._wake_r.recv(4096)
        data: bytes | None = None
        if sock in readable or pending:
            try:
                with self._io:
                    data = sock.recv(READ_CHUNK)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                data = None
            except OSError as exc:
                with self._cond:
                    sup.connection_lost(self._clock(), f"read failed: {exc!r}")
                return
        with self._cond:
            if data is not None:
                self._received(sup, data)
            sup.handle_timer(self._clock())
            if data is not None or sup.queued or self._reconnected:
                self._cond.notify_all()  # readers, `place` / `cancel` and the callback thread

    def _write(self, sup: Driver, sock: socket.socket | None) -> socket.socket | None:
        if sock is None:
            with self._cond:
                sup.data_to_send()  # no connection: nothing to write them to
            return None
        with self._io:
            with self._cond:
                data, keep = self._unsent + self._to_send(sup), sup.wants_transport
            self._unsent = b""
            if data:
                try:
                    sock.settimeout(self.options.connect_timeout)
                    sock.sendall(data)
                except OSError as exc:
                    with self._cond:
                        sup.connection_lost(self._clock(), f"write failed: {exc!r}")
                    return sock
                finally:
                    with contextlib.suppress(OSError):
                        sock.settimeout(0.0)  # non-blocking again, for `_flush` and `_read`
        if not keep:
            self._close_socket(sock)
            return None
        return sock

    def _close_socket(self, sock: socket.socket) -> None:
        with self._io:
            self._sock = None
            sock.close()

    def _flush(self, sup: Driver) -> None:
        """Write what `send` just queued from the calling thread when the socket takes it at
        once (no hand-off to the session's thread on the way out); otherwise, or while the
        thread is using the socket, wake the thread, which writes it."""
        sock = self._sock
        if sock is None or not self._io.acquire(blocking=False):
            self._wake()
            return
        try:
            if sock is not self._sock or self._unsent:
                self._wake()
                return
            with self._cond:
                data = self._to_send(sup)
            if not data:
                return
            try:
                sent = sock.send(data)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                sent = 0
            except OSError as exc:
                with self._cond:
                    sup.connection_lost(self._clock(), f"write failed: {exc!r}")
                self._wake()
                return
            if sent < len(data):
                self._unsent = data[sent:]  # TLS: all or nothing; the thread retries the same bytes
                self._wake()
                return
            with self._cond:  # a deadline the thread's select does not know yet: wake it
                deadline, waiting = sup.next_deadline(), self._read_until
            if deadline is not None and (waiting is None or deadline < waiting):
                self._wake()
        finally:
            self._io.release()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already woken (the pipe is full) or closed


class FixClient(ClientBase[BlockingSession]):
    """Kalshi FIX client for prediction (event contracts), blocking sockets."""

    PRODUCT = "prediction"
    _SESSION = BlockingSession

    def kill_all(
        self,
        *,
        timeout: float | None = KILL_TIMEOUT,
        halt: bool = True,
        use_groups: bool = True,
        fallback_after: float = DEFAULT_FALLBACK_AFTER,
        confirm: bool | None = None,
    ) -> list[KillReport]:
        """`BlockingSession.kill` on every open order-entry session this client made, at once
        (one deadline for all).

        Returns:
            One `KillReport` per session killed (none open: an empty list).
        """
        started = [
            (s, s._start_kill(halt, use_groups, fallback_after, confirm))
            for s in kill_targets(self._made_sessions())
        ]
        deadline = None if timeout is None else time.monotonic() + timeout
        for session, kill in started:
            session._await_kill(kill, deadline)
        return [session._kill_report(kill) for session, kill in started]


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps), blocking sockets (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
