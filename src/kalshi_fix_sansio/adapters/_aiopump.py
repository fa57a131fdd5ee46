"""The asyncio adapter's pump (`AioPump`): the loop serves its non-blocking socket, each read
one driver step (``loop.add_reader``), what the socket does not take written once it drains
(``add_writer``); a task per session connects and sleeps until what is due later (see
``kalshi_fix_sansio.adapters.asyncio``)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import socket
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any

from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.client.pump import (
    Changes,
    ConnectOptions,
    PumpParts,
    SessionAPI,
    pump_task,
)
from kalshi_fix_sansio.client.steps import CLOSE, Agenda, Disconnect, Received
from kalshi_fix_sansio.codec.errors import LocalProtocolError

from ._aio import open_socket
from ._sockio import SocketTLS, SocketWriter, read_fact
from ._tls import connect_error, tls_context
from .rest import AsyncRestCompanion

__all__ = ["AioPump"]


class AioPump(SocketWriter, PumpParts):
    """The asyncio pump of one session (see the module docstring): its task, its socket and
    the callers waiting for a change."""

    lock = contextlib.nullcontext()  # one thread: nothing to hold

    def __init__(self, session: SessionAPI, driver: Driver) -> None:
        super().__init__(session, driver, time.time)
        self.sock: socket.socket | None = None  # served by `loop` (`readable`, `writable`)
        self.tls: SocketTLS | None = None
        self.loop: Any = None  # the loop of the open (`start`), which serves `sock`
        self.task: asyncio.Task[None] | None = None
        self.changes: Changes[asyncio.Future[None]] = Changes(asyncio.get_running_loop)
        self.drive = self.changes.drive  # a caller's wait: on a future of its own
        self.kick = asyncio.Event()  # the session's task has something to do
        self.noted = self.kick.set  # the agenda changed: the task sleeps until it looks again
        self.looked = self.changes.set  # bytes read: `place` / `cancel` & co look again
        self.ssl: ssl.SSLContext | None = None
        self.spawned: set[asyncio.Task[object]] = set()  # background work under way (`spawn`)

    open_socket = staticmethod(open_socket)  # a connected socket and its TLS (`connect`)

    # -- what the session asks (`AsyncPump`) -------------------------------------------------

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def prepare(self) -> ssl.SSLContext | None:
        """An open's TLS context; on a loop that cannot watch a socket (``add_reader``: not on
        Windows' default proactor loop), `LocalProtocolError`, before anything is begun."""
        if type(asyncio.get_running_loop()).add_reader is asyncio.AbstractEventLoop.add_reader:
            raise LocalProtocolError(
                "the asyncio adapter needs an event loop that watches sockets (loop.add_reader): "
                "a selector event loop (on Windows, asyncio.WindowsSelectorEventLoopPolicy) or "
                "uvloop"
            )
        return tls_context(self.session.options)

    def wake(self) -> None:
        self.changes.set()
        self.kick.set()

    REST = AsyncRestCompanion  # the session's REST companion (`spawn` runs it)

    def spawn(self, work: Callable[..., Coroutine[object, object, object]], *args: object) -> None:
        """Run ``work(*args)`` in the background: a task (the REST companion)."""
        task = asyncio.get_running_loop().create_task(work(*args))
        self.spawned.add(task)  # kept until done: the loop keeps only a weak reference
        task.add_done_callback(self.spawned.discard)

    def start(self, sup: Driver, context: ssl.SSLContext | None) -> None:
        """Start the session's task."""
        self.ssl, self.loop = context, asyncio.get_running_loop()
        self.agenda = Agenda()
        self.changes.reset()
        name = f"kalshi-fix {self.session.name}"
        self.task = asyncio.create_task(pump_task(self, sup), name=name)

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and end the task."""
        sup, task = self.driver, self.task
        if task is not None:
            self.perform(sup, sup.step(CLOSE, self.clock()))
            self.wake()
            if task is not asyncio.current_task():
                await asyncio.wait([task], timeout=sup.close_grace)
                task.cancel()
                await asyncio.wait([task])
                self.task = None
                sup.pump_ended()
        sup.pump_closed(self.task is None)
        self.disconnect(None)

    def disconnect(self, action: Disconnect | None) -> None:
        """Close the socket, dropping what waits to be written for it (what the system took
        still goes): the loop stops serving it."""
        sock, self.sock, self.unsent = self.sock, None, b""
        if sock is not None:
            self.loop.remove_reader(sock)
            self.loop.remove_writer(sock)
            sock.close()

    # -- the loop serves the socket -----------------------------------------------------------

    def readable(self) -> None:
        """The socket has something for a read (``add_reader``): read it once, then the core's
        read turn (`PumpParts.turn`); the waiting callers look again, and the session's task
        when a callback is due (the connection ended: everyone). An error raised here ends the
        session (the loop would only log it: `PumpParts.failed`)."""
        sock, tls, sup = self.sock, self.tls, self.driver
        fact = read_fact(sock) if tls is None else tls.recv(sock)  # type: ignore[arg-type]
        if fact is None:
            return  # nothing whole yet (TLS: part of a record)
        try:
            self.turn(sup, sock, fact)
            if type(fact) is Received and fact.data:
                if tls is None or not tls.closed:
                    self.looked()
                    if sup.delivery.due(sup):
                        self.noted()
                    return
                self.turn(sup, sock, Received(b""))  # the peer's close_notify came after them
            if self.sock is sock:  # the connection ended: the driver closed it, else we do
                self.disconnect(None)
            self.wake()
        except Exception as exc:  # e.g. MessageLogError: the loop would swallow it
            self.failed(exc)

    def writable(self) -> None:
        """The socket takes bytes again (``add_writer``): write what waits (the driver is told
        what still does, `Buffered`); the loop stops asking once nothing does."""
        sock = self.sock
        try:
            self.write(self.driver, b"")
        except Exception as exc:  # as in `readable`
            self.failed(exc)
        if not self.unsent and sock is not None and self.sock is sock:
            self.loop.remove_writer(sock)

    # -- the session's task -------------------------------------------------------------------

    def ended(self, sup: Driver) -> None:
        """The session's task ends (`pump_task`): close the connection."""
        self.disconnect(None)

    async def idle(self, sup: Driver) -> None:
        """Wait until kicked or the driver's `WakeAt`; then step `WOKE` (its timers fire when
        due; the slow-peer verdict's too)."""
        kick = self.kick
        if not kick.is_set():
            rest = self.agenda.wake_at - self.clock()
            alarm = self.loop.call_later(rest, kick.set) if rest < math.inf else None
            try:
                await kick.wait()
            finally:
                if alarm is not None:
                    alarm.cancel()
        kick.clear()
        self.woke(sup)

    async def connect(self, sup: Driver) -> None:
        """Open a connection, which the loop serves from then on (`readable`, `writable`)."""
        self.agenda.connect_due = False
        options: ConnectOptions = self.session.options
        try:
            opening = self.open_socket(options, self.ssl)
            sock, tls = await asyncio.wait_for(opening, options.connect_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            self.connect_failed(sup, connect_error(options.endpoint, self.ssl, exc))
            return
        self.sock, self.tls, self.unsent = sock, tls, b""
        self.loop.add_reader(sock, self.readable)
        # `write` left bytes: `writable` once the socket takes more
        self.later = functools.partial(self.loop.add_writer, sock, self.writable)
        self.connected(sup)  # the Logon
