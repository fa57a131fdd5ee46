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
from collections.abc import Sequence

from kalshi_fix_sansio.catchup import CatchUpComplete, CatchUpFailed, CatchUpStarted, ExecCursor
from kalshi_fix_sansio.driver import (
    Driver,
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    QueuePolicy,
)
from kalshi_fix_sansio.killswitch import KillReport, TradingHalted
from kalshi_fix_sansio.steps import (
    CLOSE,
    CONNECT,
    CONNECTED,
    FINISHED,
    START,
    WOKE,
    Action,
    ConnectFailed,
    Disconnect,
    Received,
    WakeAt,
    Write,
)
from kalshi_fix_sansio.supervisor import Disconnected, Reconnected, Reconnecting

from ._base import IDLE_HANDOFF
from ._client import MAX_QUEUED_EVENTS, ClientBase, ConnectOptions
from ._sockio import read_fact, write_now
from ._sync import SyncKillAll, SyncSessionBase, joined, started
from ._transport import READ_CHUNK, connect_error, loopback_addresses

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


class BlockingSession(SyncSessionBase):
    """One Kalshi FIX session over a blocking socket (``with``: log on, then log out).

    Takes the arguments of `SessionBase`; ``on_event`` and ``on_reconnect`` run in the
    session's callback thread.
    """

    def _setup(self) -> None:
        super()._setup()  # the lock, the waiting threads' condition, the `Readers` rule
        self._idle = threading.Condition(self._mu)  # the session's thread, while it rests
        self._thread: threading.Thread | None = None
        self._running = False
        self._sock: socket.socket | None = None
        self._unsent = b""  # bytes the socket did not take yet (written first, in order)
        self._full = False  # the last read filled its chunk: TLS may hold more
        self._wake_at = math.inf  # the driver's `WakeAt` (its clock)
        self._connect_due = False  # the driver said `Connect`
        self._finished = False  # the driver said `Finished`
        self._close_due = False  # `Disconnect` while another thread read: it closes

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
        self._ready = _Ready()  # the reader's wait, and the pipe that wakes it
        self._wake_at, self._connect_due, self._finished = math.inf, False, False
        self._running = True
        self._readers.reset()
        self._readers.enter()  # waiting from now on: the session's thread leaves us the Logon
        self._thread = started(self._run, sup, f"kalshi-fix {self._name}")
        self._start_callbacks(sup)
        try:
            logged_on = self._await_logon(sup)
        finally:
            with self._lock:
                self._readers.leave()
        if not logged_on:
            self.close()
            raise self._closed_error()

    def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        sup = self.driver
        if sup is not None and self._thread is not None:
            with self._lock:
                self._readers.closing()  # the session's thread reads the Logout's answer
                self._perform(sup, sup.step(CLOSE, self._clock()))
                self._idle.notify()
        timeout = self.config.logout_timeout + 1
        self._thread = joined(self._thread, timeout + self.options.connect_timeout)
        self._callbacks = joined(self._callbacks, timeout)
        self._close_log()

    def _is_open(self) -> bool:
        return self._thread is not None

    def _ended(self) -> bool:
        return not self._running

    # -- waiting: the thread that waits reads the socket itself ---------------------------

    def _wait_once(self, deadline: float) -> float:
        sock = self._sock
        if sock is not None:
            claim = self._readers.claim(threading.get_ident())
            if claim == "read":
                self._step(sock, deadline)
                return time.monotonic()
            if claim == "preempt":
                self._wake()  # the session's thread hands the socket over
        return self._rest(deadline)

    def _changed(self) -> None:
        super()._changed()
        if self._readers.caller_reads():
            self._wake()  # the waiting thread that reads the socket looks again

    def _step(self, sock: socket.socket, deadline: float) -> None:
        """The reader's turn (`Readers.claim` or `Readers.background` gave it): read once,
        waiting up to the driver's `WakeAt` or ``deadline``, step what was read (or `WOKE`),
        do what the driver says; give the socket back. Holds the lock except in the wait:
        every TLS call too."""
        sup = self.driver
        assert sup is not None
        try:
            wait = min(self._wake_at - self._clock(), deadline - time.monotonic())
            # TLS may hold decrypted bytes poll cannot see only after a read that filled
            # its chunk (a record is read whole, and only up to the chunk)
            readable = self._full and isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            if not readable:
                self._mu.release()
                try:
                    readable = self._ready.wait(sock, bool(self._unsent), max(wait, 0.0))
                finally:
                    self._mu.acquire()
            fact = read_fact(sock) if readable else None
            if fact is None:
                actions = sup.step(WOKE, self._clock())
            elif type(fact) is Received:
                self._full = len(fact.data) == READ_CHUNK
                actions = self._received(sup, fact)
            else:
                actions = sup.step(fact, self._clock())
            if actions:
                self._perform(sup, actions)
            if self._unsent and self._sock is sock:
                self._write(sup, b"")  # the socket may take what waits now
            if self._close_due:
                self._disconnect()
        finally:
            self._readers.release(time.monotonic())
            if self._sleeping:
                self._cond.notify_all()  # readers, `place` / `cancel` and the callback thread

    def _perform(self, sup: Driver, actions: Sequence[Action]) -> None:
        """Do what the driver said, in order, holding the lock."""
        for action in actions:
            if type(action) is Write:
                self._write(sup, action.data)
            elif type(action) is WakeAt:
                self._wake_at = action.deadline
                self._nudge()  # a thread asleep past it looks again
            elif type(action) is Disconnect:
                self._disconnect()
            elif action is CONNECT:
                self._connect_due = True
                self._idle.notify()
            elif action is FINISHED:
                self._finished = True
                self._idle.notify()

    def _write(self, sup: Driver, data: bytes) -> None:
        """Write what waits, then ``data``, without blocking; what the socket does not take
        waits (the reader waits for the socket to take it)."""
        sock = self._sock
        if sock is None:
            return  # no connection: nothing to write them to
        if data and (log := self.options.message_log) is not None:
            log.sent(data, self._clock())
        left, actions = write_now(sup, sock, self._unsent, data, self._clock)
        self._unsent = left
        if actions:
            self._perform(sup, actions)
        if left and self._sock is sock:
            self._nudge()  # the reader waits for the socket to take them

    def _nudge(self) -> None:
        """The thread that reads the socket, or the session's thread resting, looks again."""
        if not self._readers.owns(threading.get_ident()):
            self._wake()
        self._idle.notify()

    def _disconnect(self) -> None:
        """Close the socket now if nobody else reads it, else when its reader is back."""
        sock = self._sock
        if sock is None:
            self._close_due = False
            return
        if not self._readers.owns(threading.get_ident()):
            self._close_due = True
            self._wake()
            return
        self._close_due = False
        self._sock, self._unsent = None, b""
        sock.close()
        self._idle.notify()  # the session's thread reconnects (or ends)

    def _wake(self) -> None:
        self._ready.wake()

    # -- the session's thread: connects, and reads while nobody waits --------------------------

    def _run(self, sup: Driver) -> None:
        me = threading.get_ident()

        def timer_in() -> float | None:  # asked only while a caller read lately
            at = self._wake_at
            return None if at == math.inf else at - self._clock()

        with self._lock:
            try:
                self._perform(sup, sup.step(START, self._clock()))
                while not self._finished:
                    sock = self._sock
                    if sock is not None:
                        rest = self._readers.background(time.monotonic(), me, timer_in)
                        if rest:  # a waiting thread reads (or read lately)
                            self._idle.wait(None if rest == math.inf else rest)
                        else:
                            self._step(sock, math.inf)
                    elif self._connect_due:
                        self._connect(sup)
                    else:  # a backoff, or a close under way
                        rest = self._wake_at - self._clock()
                        if rest > 0:
                            self._idle.wait(None if rest == math.inf else rest)
                        if self._sock is None and not self._connect_due:
                            self._perform(sup, sup.step(WOKE, self._clock()))
            except Exception as exc:  # a local error (e.g. a refused address): raised to callers
                self._crash = exc
            finally:
                if self._sock is not None:
                    self._sock.close()
                self._ready.close()
                self._sock, self._running = None, False
                self._cond.notify_all()

    def _connect(self, sup: Driver) -> None:
        """Open a connection (the lock released meanwhile), then log on over it."""
        self._connect_due = False
        self._mu.release()
        try:
            sock: socket.socket | OSError = _open(self.options, self._ssl)
        except OSError as exc:
            sock = exc
        finally:
            self._mu.acquire()
        if isinstance(sock, OSError):
            error = connect_error(self.options.endpoint, self._ssl, sock)  # final: not retried
            self._perform(sup, sup.step(ConnectFailed(error), self._clock()))
        else:
            self._sock, self._full, self._unsent = sock, True, b""  # TLS may hold more at once
            self._perform(sup, sup.step(CONNECTED, self._clock()))  # the Logon
        self._changed()  # a thread waiting to log on reads the socket now


class _Ready:
    """The reader's wait: until its socket has something for a read (or takes bytes again,
    while some wait for it), the session's wake-up pipe has a byte, or a timeout. ``poll``
    where the system has it (the pipe registered once, the socket again only when the
    connection or what is watched changes), else ``select``."""

    def __init__(self) -> None:
        self.r, self.w = socket.socketpair()  # a byte in it wakes the wait
        self.r.setblocking(False)
        self.w.setblocking(False)
        self.poll = select.poll() if hasattr(select, "poll") else None
        if self.poll is not None:
            self.poll.register(self.r, select.POLLIN)
        self.fd, self.writing = -1, False  # the socket polled, and whether for writing too

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # already woken (the pipe is full), or closed
            self.w.send(b"\0")

    def close(self) -> None:
        self.r.close()
        self.w.close()

    def wait(self, sock: socket.socket, writing: bool, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds (``math.inf``: no limit); True when ``sock`` had an
        event: bytes, EOF or an error for the read to find (or, waiting for ``writing``, room
        to write: the read then finds nothing)."""
        if self.poll is None:
            return self._select(sock, writing, timeout)
        fd = sock.fileno()
        if fd != self.fd or writing is not self.writing:
            self._watch(fd, writing)
        readable = False
        for got, _ in self.poll.poll(None if timeout == math.inf else timeout * 1000.0):
            if got == fd:
                readable = True
            else:
                self.r.recv(4096)
        return readable

    def _watch(self, fd: int, writing: bool) -> None:
        assert self.poll is not None
        events = select.POLLIN | select.POLLOUT if writing else select.POLLIN
        if fd == self.fd:
            self.poll.modify(fd, events)
        else:
            if self.fd != -1:
                self.poll.unregister(self.fd)  # a closed connection's
            self.poll.register(fd, events)
        self.fd, self.writing = fd, writing

    def _select(self, sock: socket.socket, writing: bool, timeout: float) -> bool:
        ready, _, _ = select.select(
            [sock, self.r], [sock] if writing else [], [], None if timeout == math.inf else timeout
        )
        if self.r in ready:
            self.r.recv(4096)
        return sock in ready


def _open(options: ConnectOptions, context: ssl.SSLContext | None) -> socket.socket:
    """A connected socket to ``options.endpoint`` within ``options.connect_timeout`` (TLS with
    ``context``; plain TCP only to checked loopback addresses), non-blocking from then on
    (`BlockingSession._step` waits in poll, or select)."""
    ep = options.endpoint
    if context is None:
        rows = socket.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)
        address = loopback_addresses(ep, rows)[0]
    else:
        address = ep.host
    raw = socket.create_connection((address, ep.port), timeout=options.connect_timeout)
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
