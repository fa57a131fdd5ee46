"""The asyncio adapter's pump (`AioPump`): each transport callback one driver step, a task per
session for what is due later (see ``kalshi_fix_sansio.adapters.asyncio``)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import socket
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import TypeVar

from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.client.pump import (
    READ_CHUNK,
    Changes,
    PumpParts,
    SessionAPI,
    Wait,
    loopback_addresses,
    pump_task,
)
from kalshi_fix_sansio.client.steps import CLOSE, Agenda, Buffered, Disconnect

from ._aio import Conn, TLSProtocol
from ._sockio import TransportWriter
from ._tls import MemoryTLS, connect_error, tls_context
from .rest import AsyncRestCompanion

__all__ = ["AioPump"]

T = TypeVar("T")


class AioPump(TransportWriter, PumpParts):
    """The asyncio pump of one session (see the module docstring): its task, its connection
    and the callers waiting for a change."""

    lock = contextlib.nullcontext()  # one thread: nothing to hold

    def __init__(self, session: SessionAPI, driver: Driver) -> None:
        super().__init__(session, driver, time.time)
        self.conn: Conn | None = None
        self.buffered = False  # bytes waited in the transport's buffer when last looked
        self.task: asyncio.Task[None] | None = None
        self.changes: Changes[asyncio.Future[None]] = Changes()  # the callers waiting
        self.kick = asyncio.Event()  # the session's task has something to do
        self.noted = self.kick.set  # the agenda changed: the task sleeps until it looks again
        self.looked = self.changes.set  # bytes read: `place` / `cancel` & co look again
        self.ssl: ssl.SSLContext | None = None
        self.spawned: set[asyncio.Task[object]] = set()  # background work under way (`spawn`)
        self.prepare = functools.partial(tls_context, session.options)  # an open's TLS context

    # -- what the session asks (`AsyncPump`) -------------------------------------------------

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def drive(self, wait: Wait[T]) -> T:
        loop = asyncio.get_running_loop()
        changes = self.changes
        waiter: asyncio.Future[None] | None = None
        try:
            now = wait.now
            while (deadline := wait.poll(now)) is not None:
                waiter = changes.wait(loop, deadline)
                await waiter
                now = loop.time()
        except BaseException:
            if waiter is not None:
                changes.forget(waiter)
            wait.close()  # failed or cancelled: the wait's own clean-up runs now
            raise
        return wait.result

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
        self.ssl = context
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
        self.abort()

    def disconnect(self, action: Disconnect | None) -> None:
        """Close the transport (abort it when the driver drops what waits to be written)."""
        self.abort(action is None or action.abort)

    def drop(self, conn: Conn) -> None:
        """Abort ``conn``, a connection the pump does not take (`PumpParts.made`)."""
        if conn.transport is not None:
            conn.transport.abort()

    # -- the session's task -------------------------------------------------------------------

    def ended(self, sup: Driver) -> None:
        """The session's task ends (`pump_task`): close the connection."""
        self.abort()

    async def idle(self, sup: Driver) -> None:
        """Wait until kicked or the driver's `WakeAt`; then step `WOKE` (its timers fire when
        due), after telling it what waits in the transport's buffer."""
        kick, clock = self.kick, self.clock
        if not kick.is_set():
            rest = self.agenda.wake_at - clock()
            alarm = (
                asyncio.get_running_loop().call_later(rest, kick.set) if rest < math.inf else None
            )
            try:
                await kick.wait()
            finally:
                if alarm is not None:
                    alarm.cancel()
        kick.clear()
        conn = self.conn
        if self.buffered and conn is not None:  # a slow peer? the driver judges it
            size = conn.buffered()
            self.buffered = size > 0
            self.perform(sup, sup.step(Buffered(size), clock()))
        self.woke(sup)

    async def connect(self, sup: Driver) -> None:
        """Open a connection (the transport serves it: `made`, `data`, `lost`)."""
        self.agenda.connect_due, self.buffered = False, False
        options = self.session.options
        try:
            await asyncio.wait_for(self._open(), options.connect_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            if self.conn is None:
                self.connect_failed(sup, connect_error(options.endpoint, self.ssl, exc))

    async def _open(self) -> None:
        """Connect (plain TCP only to checked loopback addresses); with TLS, do the handshake
        over the plain transport with a stream reader (`_tls.MemoryTLS.handshake`, trio's
        too), then hand the transport to `TLSProtocol`."""
        ep, loop, context = self.session.options.endpoint, asyncio.get_running_loop(), self.ssl
        if context is None:
            rows = await loop.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)
            error: OSError = OSError(f"no address for {ep}")
            for address in loopback_addresses(ep, rows):  # connect only to checked addresses
                try:
                    plain = functools.partial(TLSProtocol, None, self)
                    await loop.create_connection(plain, address, ep.port)
                    return
                except OSError as exc:
                    error = exc
            raise error
        reader = asyncio.StreamReader()
        shaking = functools.partial(asyncio.StreamReaderProtocol, reader)
        transport, _ = await loop.create_connection(shaking, ep.host, ep.port)
        try:
            tls = MemoryTLS(context, ep.server_hostname)
            await tls.handshake(transport.write, functools.partial(reader.read, READ_CHUNK))
        except BaseException:
            transport.abort()
            raise
        protocol = TLSProtocol(tls, self)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)

    def abort(self, drop: bool = True) -> None:
        """Close the connection (``drop``: at once, dropping what waits to be written)."""
        conn, self.conn = self.conn, None
        if conn is not None and conn.transport is not None:
            if drop:
                conn.transport.abort()
            else:
                conn.transport.close()
