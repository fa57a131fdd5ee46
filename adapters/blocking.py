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
from typing import TypeVar

from kalshi_fix_sansio._callers import Readers, Until, Wait, drive
from kalshi_fix_sansio.catchup import CatchUpComplete, CatchUpFailed, CatchUpStarted, ExecCursor
from kalshi_fix_sansio.driver import (
    Driver,
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    QueuePolicy,
)
from kalshi_fix_sansio.killswitch import KillReport, TradingHalted
from kalshi_fix_sansio.supervisor import Disconnected, Reconnected, Reconnecting

from ._base import IDLE_HANDOFF
from ._client import MAX_QUEUED_EVENTS, ClientBase
from ._sockio import recv_now, write_now
from ._sync import SyncKillAll, SyncSessionBase
from ._transport import Endpoint, loopback_addresses

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

T = TypeVar("T")


class BlockingSession(SyncSessionBase):
    """One Kalshi FIX session over a blocking socket (``with``: log on, then log out).

    Takes the arguments of `SessionBase`: ``config``, ``options``, ``on_event`` and
    ``on_reconnect`` (both run in the session's callback thread), ``clock``,
    ``max_queued_events`` and the others.
    """

    _OPEN_HINT = "use the session as a context manager first"

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
        self._readers = Readers(IDLE_HANDOFF)  # who reads the socket: the core's rule
        self._sleeping = 0  # threads in `_cond.wait` (no notify without one)

    @property
    def idle_handoff(self) -> float:
        """Seconds after a waiting thread last read the socket before the session's thread
        reads it (see `IDLE_HANDOFF`); settable per session."""
        return self._readers.handoff

    @idle_handoff.setter
    def idle_handoff(self, seconds: float) -> None:
        self._readers.handoff = seconds

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
        self._running = True
        self._readers.reset()
        name = f"kalshi-fix {self._name}"
        self._thread = threading.Thread(target=self._run, args=(sup,), name=name, daemon=True)
        self._thread.start()
        if self.on_event is not None or self.on_reconnect is not None:
            self._dispatcher = threading.Thread(
                target=self._dispatch, args=(sup,), name=f"{name} callbacks", daemon=True
            )
            self._dispatcher.start()
        if not self._await_logon(sup):
            self.close()
            raise self._closed_error()

    def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        sup, thread = self.driver, self._thread
        if sup is not None and thread is not None:
            with self._lock:
                sup.close(self._clock())
                self._readers.closing()  # the session's thread reads the Logout's answer
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

    def _is_open(self) -> bool:
        return self._thread is not None

    def _ended(self) -> bool:
        return not self._running

    def _dispatching(self) -> bool:
        """The callback thread still has (or may get) callbacks to run (call holding the lock)."""
        sup = self.driver
        return self._dispatcher is not None and sup is not None and self._delivery.due(sup)

    # -- waiting: the thread that waits reads the socket itself ---------------------------

    def _drive(self, wait: Wait[T]) -> T:
        """Run a wait of the core holding the lock; for each change it waits for, this thread
        reads the socket when the core's `Readers` rule lets it, else rests until woken."""
        with self._lock:
            self._readers.enter()
            try:
                return drive(wait, self._wait_once)
            finally:
                if self._readers.leave() and self._sleeping:
                    self._cond.notify_all()  # another waiting thread reads the socket now

    def _wait_once(self, deadline: float) -> float:
        sock = self._sock
        if sock is not None:
            claim = self._readers.claim(threading.current_thread())
            if claim == "read":
                try:
                    self._step(sock, deadline)
                finally:
                    self._readers.release(time.monotonic())
                return time.monotonic()
            if claim == "preempt":
                self._wake()  # the session's thread hands the socket over
        return self._rest(deadline)

    def _rest(self, deadline: float) -> float:
        """Wait (holding the lock) until notified or ``deadline`` (the wait clock)."""
        self._sleeping += 1
        try:
            self._cond.wait(None if deadline == math.inf else deadline - time.monotonic())
        finally:
            self._sleeping -= 1
        return time.monotonic()

    def _step(self, sock: socket.socket, deadline: float) -> None:
        """Read once (waiting up to the core's next deadline or ``deadline``), fire the core's
        timers when due, write what the core answered. Holds the lock, except while waiting."""
        sup = self.driver
        assert sup is not None
        wait = sup.sleep_for(self._clock(), deadline - time.monotonic())  # until `woke`
        if isinstance(sock, ssl.SSLSocket) and sock.pending() > 0:
            readable = True  # TLS holds decrypted bytes
        else:
            writes = [sock] if self._unsent else []
            self._mu.release()
            try:
                ready, _, _ = select.select(
                    [sock, self._wake_r], writes, [], None if wait == math.inf else wait
                )
            finally:
                self._mu.acquire()
            if self._wake_r in ready:
                with contextlib.suppress(OSError):
                    self._wake_r.recv(4096)
            readable = sock in ready
        if sock is not self._sock:
            sup.awake()
            return
        if readable and (data := recv_now(sup, sock, self._clock)) is not None:
            self._received(sup, data)
        sup.woke(self._clock())
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
        if self._readers.other(threading.current_thread()) and sup.must_wake(bool(self._unsent)):
            self._wake()  # the reader must wait for writability, sooner, or close

    def _write(self, sup: Driver, sock: socket.socket) -> None:
        """Write what waits, then what the core answered, without blocking; close the socket
        when the core's rule says (holding the lock)."""
        self._unsent = write_now(sup, sock, self._unsent, self._to_send(sup), self._clock)
        if self._readers.closes(sup.wants_transport, threading.current_thread()):
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
                        rest = sup.connect_in(self._clock())
                        if rest is None:
                            break
                        if rest:
                            self._idle.wait(None if rest == math.inf else rest)
                        else:
                            self._connect(sup)
                        continue
                    rest = self._readers.background(time.monotonic(), me, sup.timer_in(self._clock()))
                    if rest:  # a waiting thread reads (or read lately)
                        self._idle.wait(rest)
                        continue
                    try:
                        self._step(sock, math.inf)
                    finally:
                        if self._readers.release(time.monotonic()) and self._sleeping:
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
        sock: socket.socket | None = None
        error: OSError | None = None
        self._mu.release()
        try:
            sock = _open(self.options.endpoint, self._ssl, self.options.connect_timeout)
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
        due = Until(self, lambda: self._delivery.due(sup))
        while True:
            with self._lock:
                if not drive(due, self._rest):  # the session ended, nothing is left
                    self._cond.notify_all()  # `run` waits for the last callback
                    return
                event, reconnected = self._delivery.take_callback(sup.next_event_with_time)
            try:
                if event is not None and self.on_event is not None:
                    self.on_event(event)
                if reconnected and self.on_reconnect is not None:
                    self.on_reconnect(self)
            finally:
                with self._lock:
                    if self._sleeping:
                        self._cond.notify_all()
                    if self._readers.caller_reads():
                        self._wake()  # a thread in `run` reads the socket: it looks again


def _open(ep: Endpoint, context: ssl.SSLContext | None, timeout: float) -> socket.socket:
    """A connected socket (TLS with ``context``; plain TCP only to checked loopback addresses),
    non-blocking from then on (`BlockingSession._step` waits in select)."""
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
        raw.settimeout(0.0)
    except BaseException:
        raw.close()
        raise
    return raw


class FixClient(ClientBase[BlockingSession], SyncKillAll):
    """Kalshi FIX client for prediction (event contracts), blocking sockets."""

    PRODUCT = "prediction"
    _SESSION = BlockingSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps), blocking sockets (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
