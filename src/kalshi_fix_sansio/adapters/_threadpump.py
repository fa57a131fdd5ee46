"""The blocking adapter's pump (`ThreadPump`): one lock per session, the thread that waits reads
the socket itself, a background thread connects, reconnects and reads while nobody waits, and a
callback thread runs ``on_event`` / ``on_reconnect`` (see ``kalshi_fix_sansio.adapters.blocking``).
"""

from __future__ import annotations

import functools
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.client.pump import (
    IDLE_HANDOFF,
    READ_CHUNK,
    PumpParts,
    Readers,
    SessionAPI,
    Until,
    Wait,
    deliver_sync,
    drive,
    loop_moves,
)
from kalshi_fix_sansio.client.steps import CLOSE, Agenda, Disconnect, Received

from ._blockingio import Ready, joined, open_socket, started
from ._sockio import SocketWriter, read_fact
from ._tls import connect_error, tls_context
from .rest import RestCompanion

__all__ = ["ThreadPump"]

T = TypeVar("T")


class ThreadPump(SocketWriter, PumpParts):
    """The blocking pump of one session (see the module docstring): its lock, its threads
    and its socket. Every driver call and every TLS call is made holding the lock, except
    the wait for the socket."""

    ready: Ready  # the reader's wait and the pipe that wakes it (made at each open)

    def __init__(self, session: SessionAPI, driver: Driver) -> None:
        super().__init__(session, driver, time.time)
        self.lock = self.mu = threading.RLock()  # the one lock (`run`'s `until` may `send`)
        self.cond = threading.Condition(self.mu)  # waiting threads and the callback thread
        self.idle = threading.Condition(self.mu)  # the session's thread, while it rests
        self.sleeping = 0  # threads resting on `cond` (no notify without one)
        self.readers = Readers(IDLE_HANDOFF)  # who reads the socket: the core's rule
        self.thread: threading.Thread | None = None
        self.callbacks: threading.Thread | None = None
        self.ssl: ssl.SSLContext | None = None
        self.sock: socket.socket | None = None
        self.tls = None  # the socket does its own TLS
        self.full = False  # the last read filled its chunk: TLS may hold more
        self.now: Callable[[], float] = time.monotonic  # the wait clock (`SyncPump.now`)
        self.prepare = functools.partial(tls_context, session.options)  # an open's TLS context

    # -- what the session asks ----------------------------------------------------------------

    def open(self, sup: Driver, context: ssl.SSLContext | None) -> bool:
        """Start the session's threads and wait for the Logon: True once logged on."""
        self.ssl, self.ready = context, Ready()
        self.agenda = Agenda()
        self.readers.reset()
        self.readers.enter()  # waiting from now on: the session's thread leaves us the Logon
        name = f"kalshi-fix {self.session.name}"
        self.thread = started(self._run, (sup,), name)
        if self.session.on_event is not None or self.session.on_reconnect is not None:
            self.callbacks = started(deliver_sync, (self, sup), f"{name} callbacks")
        try:
            return self.drive(Until(self.driver, self.driver.logged_on))
        finally:
            with self.mu:
                self.readers.leave()

    def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and stop the threads."""
        sup = self.driver
        if self.thread is not None:
            with self.mu:
                self.readers.closing()  # the session's thread reads the Logout's answer
                self.perform(sup, sup.step(CLOSE, self.clock()))
                self.idle.notify()
        timeout = sup.close_grace  # and a connection under way: its connect timeout
        self.thread = joined(self.thread, timeout + self.session.options.connect_timeout)
        self.callbacks = joined(self.callbacks, timeout)
        sup.pump_closed(self.thread is None)

    REST = RestCompanion  # the session's REST companion (`spawn` runs it)

    def spawn(self, work: Callable[..., None], *args: object) -> None:
        """Run ``work(*args)`` in the background: a daemon thread (the REST companion)."""
        started(work, args, "kalshi-rest")

    def drive(self, wait: Wait[T]) -> T:
        """Run a wait of the core to its end holding the lock, counted as waiting by the
        `Readers` rule: for each change, read the socket when the rule lets this thread, else
        rest until woken."""
        with self.mu:
            self.readers.enter()
            try:
                return drive(wait, self._wait_once)
            finally:
                self.readers.leave()  # the last read woke the others: one may read now

    def dispatching(self) -> bool:
        """The callback thread still has (or may get) callbacks to run (holding the lock)."""
        sup = self.driver
        return self.callbacks is not None and sup.delivery.due(sup)

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
        return self.rest(deadline)

    def rest(self, deadline: float) -> float:
        """Wait until `wake` or ``deadline`` (``time.monotonic``), not reading the socket."""
        self.sleeping += 1
        try:
            self.cond.wait(None if deadline == math.inf else deadline - time.monotonic())
        finally:
            self.sleeping -= 1
        return time.monotonic()

    def wake(self) -> None:
        """The waiting threads look again (what they wait for may have changed)."""
        if self.sleeping:
            self.cond.notify_all()
        if self.readers.caller_reads():
            self.ready.wake()  # the waiting thread that reads the socket looks again

    def _step(self, sock: socket.socket, deadline: float) -> None:
        """The reader's turn (`Readers.claim` or `Readers.background` gave it): read once,
        waiting up to the driver's `WakeAt` or ``deadline``, then the core's read turn
        (`PumpParts.turn`); give the socket back. Holds the lock except in the wait: every TLS
        call too."""
        clock = self.clock
        try:
            wait = min(self.agenda.wake_at - clock(), deadline - time.monotonic())
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
            self.full = type(fact) is Received and len(fact.data) == READ_CHUNK
            self.turn(self.driver, sock, fact)
        finally:
            self.readers.release(time.monotonic())
            if self.sleeping:
                self.cond.notify_all()  # readers, `place` / `cancel` and the callback thread

    def _nudge(self) -> None:
        """The thread that reads the socket, or the session's thread resting, looks again."""
        if not self.readers.owns(threading.get_ident()):
            self.ready.wake()
        self.idle.notify()

    later = _nudge  # `write` left bytes: the reader waits for the socket to take them
    noted = _nudge  # the agenda changed: a thread asleep past it looks again

    def disconnect(self, action: Disconnect | None = None) -> None:
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
        me, clock = threading.get_ident(), self.clock
        with self.mu:
            try:
                for connect in loop_moves(self, sup):
                    sock = self.sock
                    if sock is not None:  # served first, though a connection is due: the
                        # `Disconnect` of a socket another thread read is done by that reader
                        rest = self.readers.background(time.monotonic(), me, self.timer_in)
                        if rest:  # a waiting thread reads (or read lately)
                            self.idle.wait(None if rest == math.inf else rest)
                        else:
                            self._step(sock, math.inf)
                    elif connect:
                        self._connect(sup)
                    else:  # a backoff, or a close under way
                        rest = self.agenda.wake_at - clock()
                        if rest > 0:
                            self.idle.wait(None if rest == math.inf else rest)
                        if self.sock is None and not self.agenda.connect_due:
                            self.woke(sup)
            except Exception as exc:  # a local error (e.g. a refused address): raised to callers
                sup.pump_failed(exc)
            finally:
                if self.sock is not None:
                    self.sock.close()
                self.ready.close()
                self.sock = None
                sup.pump_ended()
                self.cond.notify_all()

    def _connect(self, sup: Driver) -> None:
        """Open a connection (the lock released meanwhile), then log on over it."""
        self.agenda.connect_due = False
        options = self.session.options
        self.mu.release()
        try:
            sock: socket.socket | OSError = open_socket(options, self.ssl)
        except OSError as exc:
            sock = exc
        finally:
            self.mu.acquire()
        if isinstance(sock, OSError):
            self.connect_failed(sup, connect_error(options.endpoint, self.ssl, sock))
        else:
            self.sock, self.full, self.unsent = sock, True, b""  # TLS may hold more at once
            self.connected(sup)  # the Logon
        self.wake()  # a thread waiting to log on reads the socket now
