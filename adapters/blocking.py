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
from collections.abc import Callable, Sequence
from typing import TypeVar

from kalshi_fix_sansio import _callers as waits
from kalshi_fix_sansio._callers import Readers, Wait
from kalshi_fix_sansio._clientbase import MAX_QUEUED_EVENTS, ClientBase, ConnectOptions
from kalshi_fix_sansio._endpoints import loopback_addresses
from kalshi_fix_sansio._sessionbase import SessionBase
from kalshi_fix_sansio._tlsconfig import connect_error
from kalshi_fix_sansio._transport import READ_CHUNK
from kalshi_fix_sansio.catchup import CatchUpComplete, CatchUpFailed, CatchUpStarted, ExecCursor
from kalshi_fix_sansio.client import IDLE_HANDOFF
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
    CONNECTED,
    START,
    WOKE,
    Action,
    Agenda,
    ConnectFailed,
    Disconnect,
    Received,
    Write,
)
from kalshi_fix_sansio.supervisor import Disconnected, Reconnected, Reconnecting

from ._sockio import read_fact, write_now
from ._sync import SyncAPI, SyncKillAll

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


class _Threads:
    """The blocking pump of one session (see the module docstring): its lock, its threads
    and its socket. Every driver call and every TLS call is made holding the lock, except
    the wait for the socket."""

    ready: _Ready  # the reader's wait and the pipe that wakes it (made at each open)

    def __init__(self, session: SessionBase) -> None:
        self.session, self.host = session, session._host
        self.host.perform = self.perform
        self.host.lock = self.mu = threading.RLock()  # the one lock (`run`'s `until` may `send`)
        self.cond = threading.Condition(self.mu)  # waiting threads and the callback thread
        self.idle = threading.Condition(self.mu)  # the session's thread, while it rests
        self.sleeping = 0  # threads resting on `cond` (no notify without one)
        self.readers = Readers(IDLE_HANDOFF)  # who reads the socket: the core's rule
        self.thread: threading.Thread | None = None
        self.callbacks: threading.Thread | None = None
        self.ssl: ssl.SSLContext | None = None
        self.sock: socket.socket | None = None
        self.unsent = b""  # bytes the socket did not take yet (written first, in order)
        self.full = False  # the last read filled its chunk: TLS may hold more
        self.agenda = Agenda()  # the driver's answers for later: wake at, connect, end
        self.close_due = False  # `Disconnect` while another thread read: it closes
        self.now: Callable[[], float] = time.monotonic  # the wait clock (`SyncPump.now`)

    # -- what the session asks ----------------------------------------------------------------

    def open(self, sup: Driver, context: ssl.SSLContext | None) -> bool:
        """Start the session's threads and wait for the Logon: True once logged on."""
        self.ssl, self.ready = context, _Ready()
        self.agenda = Agenda()
        self.readers.reset()
        self.readers.enter()  # waiting from now on: the session's thread leaves us the Logon
        name = f"kalshi-fix {self.session.name}"
        self.thread = _started(self._run, sup, name)
        if self.session.on_event is not None or self.session.on_reconnect is not None:
            self.callbacks = _started(self._deliver, sup, f"{name} callbacks")
        try:
            return self.drive(waits.Until(self.host, self.host.logged_on))
        finally:
            with self.mu:
                self.readers.leave()

    def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and stop the threads."""
        sup = self.host.driver
        if sup is not None and self.thread is not None:
            with self.mu:
                self.readers.closing()  # the session's thread reads the Logout's answer
                self.perform(sup, sup.step(CLOSE, self.host.clock()))
                self.idle.notify()
        timeout = self.session.config.logout_timeout + 1
        self.thread = _joined(self.thread, timeout + self.session.options.connect_timeout)
        self.callbacks = _joined(self.callbacks, timeout)
        self.host.opened = self.thread is not None

    def drive(self, wait: Wait[T]) -> T:
        """Run a wait of the core to its end holding the lock, counted as waiting by the
        `Readers` rule: for each change, read the socket when the rule lets this thread, else
        rest until woken."""
        with self.mu:
            self.readers.enter()
            try:
                return waits.drive(wait, self._wait_once)
            finally:
                self.readers.leave()  # the last read woke the others: one may read now

    def dispatching(self) -> bool:
        """The callback thread still has (or may get) callbacks to run (holding the lock)."""
        sup = self.host.driver
        return self.callbacks is not None and sup is not None and self.host.delivery.due(sup)

    def perform(self, sup: Driver, actions: Sequence[Action]) -> None:
        """Do what the driver said, in order, holding the lock."""
        for action in actions:
            if type(action) is Write:
                self._write(sup, action.data)
            elif type(action) is Disconnect:
                self._disconnect()
            elif self.agenda.note(action):
                self._nudge()  # a thread asleep past it looks again

    # -- waiting: the thread that waits reads the socket itself -------------------------------

    def _wait_once(self, deadline: float) -> float:
        sock = self.sock
        if sock is not None:
            claim = self.readers.claim(threading.get_ident())
            if claim == "read":
                self._step(sock, deadline)
                return time.monotonic()
            if claim == "preempt":
                self.ready.wake()  # the session's thread hands the socket over
        return self._rest(deadline)

    def _rest(self, deadline: float) -> float:
        """Wait until `_changed` or ``deadline`` (``time.monotonic``), not reading the socket."""
        self.sleeping += 1
        try:
            self.cond.wait(None if deadline == math.inf else deadline - time.monotonic())
        finally:
            self.sleeping -= 1
        return time.monotonic()

    def _changed(self) -> None:
        """The waiting threads look again (what they wait for may have changed)."""
        if self.sleeping:
            self.cond.notify_all()
        if self.readers.caller_reads():
            self.ready.wake()  # the waiting thread that reads the socket looks again

    def _step(self, sock: socket.socket, deadline: float) -> None:
        """The reader's turn (`Readers.claim` or `Readers.background` gave it): read once,
        waiting up to the driver's `WakeAt` or ``deadline``, step what was read (or `WOKE`),
        do what the driver says; give the socket back. Holds the lock except in the wait:
        every TLS call too."""
        host = self.host
        sup = host.driver
        assert sup is not None
        try:
            wait = min(self.agenda.wake_at - host.clock(), deadline - time.monotonic())
            # TLS may hold decrypted bytes poll cannot see only after a read that filled
            # its chunk (a record is read whole, and only up to the chunk)
            readable = self.full and isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            if not readable:
                self.mu.release()
                try:
                    readable = self.ready.wait(sock, bool(self.unsent), max(wait, 0.0))
                finally:
                    self.mu.acquire()
            fact = read_fact(sock) if readable else None
            if fact is None:
                actions = sup.step(WOKE, host.clock())
            elif type(fact) is Received:
                self.full = len(fact.data) == READ_CHUNK
                actions = host.received(sup, fact)
            else:
                actions = sup.step(fact, host.clock())
            if actions:
                self.perform(sup, actions)
            if self.unsent and self.sock is sock:
                self._write(sup, b"")  # the socket may take what waits now
            if self.close_due:
                self._disconnect()
        finally:
            self.readers.release(time.monotonic())
            if self.sleeping:
                self.cond.notify_all()  # readers, `place` / `cancel` and the callback thread

    def _write(self, sup: Driver, data: bytes) -> None:
        """Write what waits, then ``data``, without blocking; what the socket does not take
        waits (the reader waits for the socket to take it)."""
        sock = self.sock
        if sock is None:
            return  # no connection: nothing to write them to
        if data and (log := self.host.message_log) is not None:
            log.sent(data, self.host.clock())
        left, actions = write_now(sup, sock, self.unsent, data, self.host.clock)
        self.unsent = left
        if actions:
            self.perform(sup, actions)
        if left and self.sock is sock:
            self._nudge()  # the reader waits for the socket to take them

    def _nudge(self) -> None:
        """The thread that reads the socket, or the session's thread resting, looks again."""
        if not self.readers.owns(threading.get_ident()):
            self.ready.wake()
        self.idle.notify()

    def _disconnect(self) -> None:
        """Close the socket now if nobody else reads it, else when its reader is back."""
        sock = self.sock
        if sock is None:
            self.close_due = False
            return
        if not self.readers.owns(threading.get_ident()):
            self.close_due = True
            self.ready.wake()
            return
        self.close_due = False
        self.sock, self.unsent = None, b""
        sock.close()
        self.idle.notify()  # the session's thread reconnects (or ends)

    # -- the session's thread: connects, and reads while nobody waits -------------------------

    def _run(self, sup: Driver) -> None:
        me, host = threading.get_ident(), self.host

        def timer_in() -> float | None:  # asked only while a caller read lately
            at = self.agenda.wake_at
            return None if at == math.inf else at - host.clock()

        with self.mu:
            try:
                self.perform(sup, sup.step(START, host.clock()))
                while not self.agenda.finished:
                    sock = self.sock
                    if sock is not None:
                        rest = self.readers.background(time.monotonic(), me, timer_in)
                        if rest:  # a waiting thread reads (or read lately)
                            self.idle.wait(None if rest == math.inf else rest)
                        else:
                            self._step(sock, math.inf)
                    elif self.agenda.connect_due:
                        self._connect(sup)
                    else:  # a backoff, or a close under way
                        rest = self.agenda.wake_at - host.clock()
                        if rest > 0:
                            self.idle.wait(None if rest == math.inf else rest)
                        if self.sock is None and not self.agenda.connect_due:
                            self.perform(sup, sup.step(WOKE, host.clock()))
            except Exception as exc:  # a local error (e.g. a refused address): raised to callers
                host.crash = exc
            finally:
                if self.sock is not None:
                    self.sock.close()
                self.ready.close()
                self.sock, host.running = None, False
                self.cond.notify_all()

    def _connect(self, sup: Driver) -> None:
        """Open a connection (the lock released meanwhile), then log on over it."""
        self.agenda.connect_due = False
        options = self.session.options
        self.mu.release()
        try:
            sock: socket.socket | OSError = _open(options, self.ssl)
        except OSError as exc:
            sock = exc
        finally:
            self.mu.acquire()
        if isinstance(sock, OSError):
            error = connect_error(options.endpoint, self.ssl, sock)  # final: not retried
            self.perform(sup, sup.step(ConnectFailed(error), self.host.clock()))
        else:
            self.sock, self.full, self.unsent = sock, True, b""  # TLS may hold more at once
            self.perform(sup, sup.step(CONNECTED, self.host.clock()))  # the Logon
        self._changed()  # a thread waiting to log on reads the socket now

    # -- the callback thread --------------------------------------------------------------------

    def _deliver(self, sup: Driver) -> None:
        """``on_event`` with every event, ``on_reconnect`` when due (each outside the lock: a
        slow callback never stops the reading), until the session has ended and nothing is
        left."""
        session, delivery = self.session, self.host.delivery
        due = waits.Until(self.host, lambda: delivery.due(sup))
        while True:
            with self.mu:
                if not waits.drive(due, self._rest):  # the session ended, nothing is left
                    self._changed()  # `run` waits for the last callback
                    return
                event, reconnected = delivery.take_callback(sup.next_event_with_time)
            try:
                if event is not None and session.on_event is not None:
                    session.on_event(event)
                if reconnected and session.on_reconnect is not None:
                    session.on_reconnect(session)
            finally:
                with self.mu:
                    self._changed()  # e.g. `run`'s ``until`` may hold now


def _started(target: object, sup: Driver, name: str) -> threading.Thread:
    """A daemon thread named ``name`` running ``target(sup)``, started."""
    thread = threading.Thread(target=target, args=(sup,), name=name, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


def _joined(thread: threading.Thread | None, timeout: float) -> threading.Thread | None:
    """Wait up to ``timeout`` seconds for ``thread`` to end (unless it is the calling thread):
    None once it has ended, else ``thread``."""
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)
    return thread if thread is not None and thread.is_alive() else None


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


class BlockingSession(SyncAPI):
    """One Kalshi FIX session over a blocking socket (``with``: log on, then log out).

    Takes the arguments of `SessionBase`; ``on_event`` and ``on_reconnect`` run in the
    session's callback thread.
    """

    _PUMP = _Threads
    _pump: _Threads

    @property
    def idle_handoff(self) -> float:
        """Seconds after a waiting thread last read the socket before the session's thread
        reads it (see `IDLE_HANDOFF`); settable per session."""
        return self._pump.readers.handoff

    @idle_handoff.setter
    def idle_handoff(self, seconds: float) -> None:
        self._pump.readers.handoff = seconds

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
        if not self._pump.open(*self._begin()):
            self.close()
            raise self._host.closed_error()

    def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        self._pump.close()
        self._end()


class FixClient(ClientBase[BlockingSession], SyncKillAll):
    """Kalshi FIX client for prediction (event contracts), blocking sockets."""

    PRODUCT = "prediction"
    _SESSION = BlockingSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps), blocking sockets (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
