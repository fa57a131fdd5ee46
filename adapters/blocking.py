"""Blocking adapter: a Kalshi FIX session in a ten-line script.

    from kalshi_fix_sansio.adapters.blocking import FixClient

    with FixClient.from_env("demo").market_data() as md:
        md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)
        for event in md.events(timeout=30):
            print(event)

A pump over the core's `Driver`, which makes every decision, under one lock per session. The
thread that waits (`next_event`, ``events``, `wait_for`, `place`, `cancel`, `kill`, `run`,
`open`, a rate-limit wait) reads the socket itself, feeds the driver and writes its answers: a
report reaches the caller with no hand-off between threads. `send` writes from the calling
thread. A background thread connects, reconnects and, while nobody waits (`IDLE_HANDOFF`),
reads and fires the timers, so heartbeats flow while the application is busy. ``on_event``
and ``on_reconnect`` run in a callback thread of the session (a slow callback never stops the
reading).
"""

from __future__ import annotations

import contextlib
import math
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Final

from kalshi_fix_sansio import Message
from kalshi_fix_sansio.catchup import CatchUpComplete, CatchUpFailed, CatchUpStarted, ExecCursor
from kalshi_fix_sansio.driver import (
    Driver,
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    OrderWaiter,
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
    IDLE_HANDOFF,
    KILL_TIMEOUT,
    PLACE_TIMEOUT,
    SessionBase,
    Until,
    kill_targets,
    matched,
)
from ._client import MAX_QUEUED_EVENTS, ClientBase
from ._transport import READ_CHUNK, loopback_addresses

__all__ = [
    "IDLE_HANDOFF",
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

_WOULD_BLOCK: Final = (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError)


class BlockingSession(SessionBase):
    """One Kalshi FIX session over a blocking socket (``with``: log on, then log out).

    Takes the arguments of `SessionBase`: ``config``, ``options``, ``on_event`` and
    ``on_reconnect`` (both run in the session's callback thread), ``clock``,
    ``max_queued_events`` and the others.
    """

    _OPEN_HINT = "use the session as a context manager first"

    idle_handoff: float = IDLE_HANDOFF
    """Seconds after a waiting thread last read the socket before the session's thread reads it
    (see `IDLE_HANDOFF`); settable per session."""

    def _setup(self) -> None:
        self._mu = threading.RLock()  # the one lock (reentrant: `run`'s `until` may call `send`)
        self._lock = self._mu
        self._cond = threading.Condition(self._mu)  # waiting threads and the callback thread
        self._idle = threading.Condition(self._mu)  # the session's thread, while it rests
        self._thread: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None  # runs on_event / on_reconnect
        self._running = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._ssl: ssl.SSLContext | None = None
        self._sock: socket.socket | None = None
        self._unsent = b""  # bytes the socket did not take yet (written first, in order)
        self._pump: threading.Thread | None = None  # the thread reading the socket now
        self._waiting = 0  # threads in `_block`
        self._sleeping = 0  # threads in `_cond.wait` (no notify without one)
        self._active = -math.inf  # when a waiting thread last read the socket (monotonic)

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
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._running, self._active = True, -math.inf
        name = f"kalshi-fix {self._name}"
        self._thread = threading.Thread(target=self._run, args=(sup,), name=name, daemon=True)
        self._thread.start()
        if self.on_event is not None or self.on_reconnect is not None:
            self._dispatcher = threading.Thread(
                target=self._dispatch, args=(sup,), name=f"{name} callbacks", daemon=True
            )
            self._dispatcher.start()
        with self._lock:
            self._block(lambda: self._logged_on(sup), None)
        if not self._logged_on(sup):
            self.close()
            raise self._closed_error()

    def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        sup, thread = self.driver, self._thread
        if sup is not None and thread is not None:
            with self._lock:
                sup.close(self._clock())
                self._active = -math.inf  # nobody waits: the session's thread reads the answer
                self._flush(sup)
                self._idle.notify()
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

    def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float | None, send: Message | None = None
    ) -> Event:
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

        def done() -> bool:
            return until is not None and until()

        with self._lock:
            if not self._block(done, None):
                while self._dispatching() and not done():  # the last callbacks
                    self._rest(None)
        self._check_failed()

    def send(self, message: Message, *, resubscribe: bool = False) -> int:
        """Send an application message now, as `SessionBase.send
        <kalshi_fix_sansio.adapters._base.SessionBase.send>`; with a rate limiter and
        ``rate_limit="wait"`` (the default) it first waits as long as the core says its tokens
        need (reading the socket meanwhile; in ``on_event``, that holds up the callbacks).

        Raises:
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now, or it never fits.
            TransportError, LocalProtocolError, EncodeError: as `SessionBase.send`.
        """
        return self._send_paced(message, resubscribe=resubscribe)

    def place(
        self, order: Message, *, timeout: float | None = PLACE_TIMEOUT, until: Until = "ack"
    ) -> TrackedOrder:
        """Send a NewOrderSingle (or OrderCancelReplaceRequest) and wait for Kalshi's answer.

        As `AsyncSessionBase.place <kalshi_fix_sansio.adapters._async.AsyncSessionBase.place>`
        (``until="ack"`` or ``"filled"``; a rate-limit wait first), blocking.

        Raises:
            OrderRejected: Kalshi rejected it (150=8, 35=9 or 35=j), with its reason.
            TimeoutError: no answer in time (the order stays tracked).
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now.
        """
        return self._settle(self._waiter(order, until), order, timeout)

    def cancel(self, request: Message, *, timeout: float | None = PLACE_TIMEOUT) -> TrackedOrder:
        """Send an OrderCancelRequest and wait for its Canceled report (or `OrderRejected`)."""
        return self._settle(self._waiter(request), request, timeout)

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

        As `AsyncSessionBase.kill <kalshi_fix_sansio.adapters._async.AsyncSessionBase.kill>`
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
        with self._lock:
            self._block(lambda: kill.finished_at is not None, deadline)

    def _send_paced(self, message: Message, *, resubscribe: bool = False) -> int:
        while True:
            seq, delay = self._offer(message, resubscribe=resubscribe)
            if seq is not None:
                return seq
            with self._lock:  # the rate limiter's wait: reading meanwhile
                self._block(lambda: False, time.monotonic() + delay)

    def _settle(self, waiter: OrderWaiter, message: Message, timeout: float | None) -> TrackedOrder:
        """Send ``message``, then wait until the driver settled ``waiter``."""
        try:
            self._send_paced(message)
            with self._lock:
                deadline = None if timeout is None else time.monotonic() + timeout
                ok = self._block(lambda: waiter.done, deadline)
                if ok is None:
                    raise self._closed_error()
                if not ok:
                    raise waiter.timeout_error(timeout)
        finally:
            if not waiter.done:
                self._forget(waiter)
        return waiter.outcome()

    def _wait(self, predicate: Callable[[Event], bool], timeout: float | None) -> Event | None:
        event: Event | None = None

        def taken() -> bool:
            nonlocal event
            event = self._take(predicate)
            return event is not None

        with self._lock:
            if self._block(taken, None if timeout is None else time.monotonic() + timeout) is None:
                raise self._closed_error()
        return event

    def _is_open(self) -> bool:
        return self._thread is not None

    def _ended(self) -> bool:
        return not self._running

    def _dispatching(self) -> bool:
        """The callback thread still has (or may get) callbacks to run (call holding the lock)."""
        sup = self.driver
        return self._dispatcher is not None and sup is not None and self._callback_due(sup)

    # -- waiting: the thread that waits reads the socket itself ---------------------------

    def _block(self, done: Callable[[], bool], deadline: float | None) -> bool | None:
        """Wait (holding the lock) until ``done()``: True; False when ``time.monotonic()``
        reached ``deadline`` first, None when the session ended first. While nobody else reads
        the socket, this thread reads it (and writes, and fires the core's timers) itself."""
        me = threading.current_thread()
        self._waiting += 1
        try:
            while not done():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return False
                if not self._running:
                    return None
                sock = self._sock
                if sock is not None and self._pump is None:
                    self._pump = me
                    try:
                        self._step(sock, deadline)
                    finally:
                        self._pump = None
                        self._active = time.monotonic()
                else:
                    if self._pump is self._thread:
                        self._wake()  # the session's thread hands the socket over
                    self._rest(None if deadline is None else deadline - now)
            return True
        finally:
            self._waiting -= 1
            if self._waiting and self._sleeping:
                self._cond.notify_all()  # another waiting thread reads the socket now

    def _rest(self, timeout: float | None) -> None:
        self._sleeping += 1
        try:
            self._cond.wait(timeout)
        finally:
            self._sleeping -= 1

    def _step(self, sock: socket.socket, deadline: float | None) -> None:
        """Read once (waiting up to the core's next deadline or ``deadline``), fire the core's
        timers when due, write what the core answered. Holds the lock, except while waiting."""
        sup = self.driver
        assert sup is not None
        readable = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        due = sup.next_deadline() if readable else sup.sleeping()  # sleeping: until `awake`
        if not readable:
            wait = None if due is None else max(due - self._clock(), 0.0)
            if deadline is not None:
                left = max(deadline - time.monotonic(), 0.0)
                wait = left if wait is None else min(wait, left)
            writes = [sock] if self._unsent else []
            self._mu.release()
            try:
                ready, _, _ = select.select([sock, self._wake_r], writes, [], wait)
            finally:
                self._mu.acquire()
                sup.awake()
            if self._wake_r in ready:
                with contextlib.suppress(OSError):
                    self._wake_r.recv(4096)
            readable = sock in ready
        if sock is not self._sock:
            return
        if readable:
            try:
                data = sock.recv(READ_CHUNK)
            except _WOULD_BLOCK:
                pass
            except OSError as exc:
                sup.connection_lost(self._clock(), f"read failed: {exc!r}")
            else:
                self._received(sup, data)
        if due is not None and (now := self._clock()) >= due:
            sup.handle_timer(now)
        self._write(sup, sock)
        if self._sleeping:
            self._cond.notify_all()  # readers, `place` / `cancel` and the callback thread

    def _flush(self, sup: Driver) -> None:
        """Write what `send` just gave the core, from the calling thread (holding the lock);
        wake the thread reading the socket if it must wait for something new."""
        sock = self._sock
        if sock is None:
            sup.data_to_send()  # no connection: nothing to write them to
            return
        self._write(sup, sock)
        pump = self._pump
        if pump is not None and pump is not threading.current_thread():
            if self._unsent or sup.wake_needed or not sup.wants_transport:
                self._wake()  # it must wait for writability, sooner, or close

    def _write(self, sup: Driver, sock: socket.socket) -> None:
        """Write what the core wants written (after what waits), without blocking; close the
        socket once the core is done with it (holding the lock)."""
        data, waited = self._to_send(sup), self._unsent
        if waited:
            data = waited + data
        if data:
            try:
                sent = sock.send(data)
            except _WOULD_BLOCK:
                sent = 0  # TLS: all or nothing; the same bytes (and more) are written later
            except OSError as exc:
                sent = len(data)
                sup.connection_lost(self._clock(), f"write failed: {exc!r}")
            self._unsent = data[sent:]
            if self._unsent or waited:  # the driver judges a peer that does not read
                sup.write_buffered(len(self._unsent), self._clock())
                if not sup.wants_transport:
                    self._unsent = b""
        if not sup.wants_transport and (not self._unsent or sock is not self._sock):
            if self._pump is None or self._pump is threading.current_thread():
                self._sock, self._unsent = None, b""
                sock.close()
                self._idle.notify()  # the session's thread reconnects (or ends)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # already woken (the pipe is full) or closed

    # -- the session's thread: connects, and reads while nobody waits --------------------------

    def _run(self, sup: Driver) -> None:
        me = threading.current_thread()
        with self._lock:
            try:
                while True:
                    sock = self._sock
                    if sock is None:
                        if sup.finished:
                            break
                        at = sup.connect_at
                        if at is None or (delay := at - self._clock()) > 0:
                            self._idle.wait(None if at is None else delay)
                        else:
                            self._connect(sup)
                        continue
                    due = sup.next_deadline()
                    if self._pump is not None or self._waiting:
                        self._idle.wait(self.idle_handoff)  # a waiting thread reads
                        continue
                    quiet = self._active + self.idle_handoff - time.monotonic()
                    if quiet > 0 and (due is None or due > self._clock()):
                        self._idle.wait(quiet if due is None else min(quiet, due - self._clock()))
                        continue
                    self._pump = me
                    try:
                        self._step(sock, None)
                    finally:
                        self._pump = None
                    if self._waiting and self._sleeping:
                        self._cond.notify_all()  # hand the socket to the thread that waits
            except Exception as exc:  # a local error (e.g. a refused address): raised to callers
                self._crash = exc
            finally:
                if self._sock is not None:
                    self._sock.close()
                    self._sock = None
                self._running = False
                self._cond.notify_all()

    def _connect(self, sup: Driver) -> None:
        """Open a connection (holding the lock, released while connecting)."""
        ep, timeout, context = self.options.endpoint, self.options.connect_timeout, self._ssl
        sock: socket.socket | None = None
        error: OSError | None = None
        self._mu.release()
        try:
            if context is None:
                rows = socket.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)
                address = loopback_addresses(ep, rows)[0]
            else:
                address = ep.host
            raw = socket.create_connection((address, ep.port), timeout=timeout)
            try:
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if context is not None:
                    raw = context.wrap_socket(raw, server_hostname=ep.server_hostname)
                raw.settimeout(0.0)  # non-blocking from now on: `_step` waits in select
            except BaseException:
                raw.close()
                raise
            sock = raw
        except OSError as exc:
            error = exc
        finally:
            self._mu.acquire()
        if sock is None:
            assert error is not None
            sup.connection_failed(self._clock(), error)
        elif self._connected(sup):
            self._sock, self._unsent = sock, b""
            self._write(sup, sock)  # the Logon
        else:
            sock.close()
        if self._sleeping:
            self._cond.notify_all()

    # -- the callback thread ----------------------------------------------------------------------

    def _dispatch(self, sup: Driver) -> None:
        """The callback thread: ``on_event`` with every event, ``on_reconnect`` when due, until
        the session's thread has ended and nothing is left."""
        while True:
            with self._lock:
                while not (self._callback_due(sup) or self._ended()):
                    self._rest(None)
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
                with self._lock:
                    if self._sleeping:
                        self._cond.notify_all()
                    if self._pump is not None and self._pump is not self._thread:
                        self._wake()  # a thread in `run` reads the socket: it looks again


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
