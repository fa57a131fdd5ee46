"""The trio adapter's pump (`TrioPump`): the task that waits reads the socket itself, the
session's task connects and fires timers, a reader task reads while no task waits (see
``kalshi_fix_sansio.adapters.trio``)."""

from __future__ import annotations

import contextlib
import functools
import math
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import trio

from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.client.pump import (
    IDLE_HANDOFF,
    PumpParts,
    Readers,
    SessionAPI,
    Wait,
    deliver,
    pump_task,
)
from kalshi_fix_sansio.client.steps import CLOSE, Agenda, Disconnect, Received

from ._sockio import SocketTLS, SocketWriter, read_fact
from ._tls import connect_error, tls_context
from ._trioio import STREAM_ERRORS, Alarm, close_socket, open_socket, poke
from .rest import AsyncRestCompanion

__all__ = ["TrioPump"]

T = TypeVar("T")


class TrioPump(SocketWriter, PumpParts):
    """The trio pump of one session (see the module docstring): its tasks and its socket."""

    lock = contextlib.nullcontext()  # one thread: nothing to hold

    def __init__(self, session: SessionAPI, driver: Driver) -> None:
        super().__init__(session, driver, time.time)
        self.changed: trio.Event = trio.Event()  # the waiting tasks look again when set
        self.kick: Alarm = Alarm()
        self.later = self.kick.set  # `write` left bytes: the session's task waits to write them
        self.noted = self.kick.set  # the agenda changed: the session's task looks again
        self.scope: trio.CancelScope | None = None  # the session's task
        self.done = trio.Event()  # the session's task ended
        self.sock: socket.socket | None = None  # written by whoever has bytes for it
        self.tls: SocketTLS | None = None
        self.ssl: ssl.SSLContext | None = None  # the TLS context of the open
        self.readers = Readers(IDLE_HANDOFF)  # who reads the socket: the core's rule
        self.until = math.inf  # when the session's task pokes a waiting task's read
        self.time: Callable[[], float] = trio.current_time  # once open: its run's clock, direct
        self.prepare = functools.partial(tls_context, session.options)  # an open's TLS context
        self.nursery: trio.Nursery | None = None  # where the session's task runs (`start`)

    # -- what the session asks (`AsyncPump`) -------------------------------------------------

    def now(self) -> float:
        return self.time()

    async def drive(self, wait: Wait[T]) -> T:
        """Run ``wait``: while the socket is free this task reads it itself, in this frame (a
        report reaches it with no task switch and no frame of ours between it and trio's wait:
        each level of ``await`` costs every wait about 1.2k instructions); otherwise it rests
        until something changes (`_rest`)."""
        readers = self.readers
        try:
            now = wait.now
            while (deadline := wait.poll(now)) is not None:
                sock, sup = self.sock, self.driver
                if sock is None:
                    await self._rest(deadline)
                elif (claim := readers.claim(self)) != "read":
                    if claim == "preempt":
                        poke(sock)  # the reader task hands the socket over
                    await self._rest(deadline)
                else:  # the session's task pokes the read at ``deadline`` (`_idle`)
                    self.until = deadline
                    if deadline < self.kick.at:
                        self.kick.by(deadline)
                    try:
                        await trio.lowlevel.wait_readable(sock)
                        self._got(sup, sock)
                    except trio.ClosedResourceError:
                        pass  # poked: look again
                    finally:
                        self.until = math.inf
                        now = self.time()
                        if readers.release(now):
                            self.changed.set()
                    continue
                now = self.time()
        except BaseException:
            wait.close()  # failed or cancelled: the wait's own clean-up runs now
            raise
        return wait.result

    def wake(self) -> None:
        """Wake the waiting tasks (the one reading the socket: poked) and the session's task."""
        self.changed.set()
        self.kick.set()
        if self.sock is not None and self.readers.caller_reads():
            poke(self.sock)  # e.g. `run`'s ``until`` looks at what the callbacks did

    @contextlib.asynccontextmanager
    async def around(self) -> AsyncIterator[None]:
        """The nursery of ``async with`` a session (`AsyncAPI.__aenter__`): its tasks'."""
        try:
            async with trio.open_nursery() as self.nursery:
                yield
        finally:
            self.nursery = None

    REST = AsyncRestCompanion  # the session's REST companion (`spawn` runs it)

    def spawn(self, work: Callable[..., Awaitable[object]], *args: object) -> None:
        """Run ``work(*args)`` in the background: a task in the session's nursery (the REST
        companion)."""
        assert self.nursery is not None  # `TrioSession.open` gives it
        self.nursery.start_soon(work, *args)

    def start(self, sup: Driver, context: ssl.SSLContext | None) -> None:
        """Start the session's task in the session's `nursery`."""
        nursery = self.nursery
        assert nursery is not None  # `TrioSession.open` gives it
        self.time = trio.lowlevel.current_clock().current_time  # what trio.current_time asks
        self.done, self.ssl = trio.Event(), context
        self.agenda, self.scope = Agenda(), trio.CancelScope()
        nursery.start_soon(pump_task, self, sup, self.scope)

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and end the task."""
        sup = self.driver
        if sup.begun:
            self.perform(sup, sup.step(CLOSE, self.clock()))
            self.wake()
            if self.scope is not None:  # the session's task ends by then at the latest
                self.scope.deadline = trio.current_time() + sup.close_grace
            with trio.CancelScope(shield=True):
                await self.done.wait()
        self.nursery = None  # the next open is given one again

    def disconnect(self, action: Disconnect | None) -> None:
        """Drop the socket: the readers stop, the session's task closes it."""
        sock, self.sock, self.unsent = self.sock, None, b""
        if sock is not None:
            poke(sock)
        self.kick.set()

    # -- waiting: the task that waits reads the socket itself (`drive`), or rests ----------

    async def _rest(self, deadline: float) -> None:
        """Wait until something changes (another task read, wrote or woke us) or ``deadline``."""
        changed, readers = self.changed, self.readers
        readers.enter()
        try:
            with trio.move_on_at(deadline):
                await changed.wait()
        finally:
            readers.leave()
        if self.changed is changed and changed.is_set():
            self.changed = trio.Event()

    def _got(self, sup: Driver, sock: socket.socket) -> bool:
        """The socket is readable: read it once, then the core's read turn (`PumpParts.turn`);
        the resting tasks (`_rest`) look again, and the session's task when a callback is due
        (the connection lost: everyone). False: nothing whole yet (TLS: part of a record),
        wait again."""
        if sock is not self.sock:  # closed while this task waited: the session's task closes it
            self.wake()
            return True
        tls = self.tls
        fact = read_fact(sock) if tls is None else tls.recv(sock)
        if fact is None:
            return False
        self.turn(sup, sock, fact)
        if type(fact) is not Received:
            self.wake()  # the connection is lost
            return True
        if fact.data and tls is not None and tls.closed:
            self.turn(sup, sock, Received(b""))  # the peer's close_notify came after them
        if self.readers.waiting:
            self.changed.set()
        if sup.delivery.due(sup):
            self.kick.set()
        return True

    # -- the session's task ---------------------------------------------------------------

    async def idle(self, sup: Driver) -> None:
        """No connection (a backoff, a close under way): sleep until the driver's `WakeAt` or
        a kick, then step `WOKE`."""
        rest = self.agenda.wake_at - self.clock()
        if rest > 0:
            with self.kick.sleep(rest):
                await trio.sleep_forever()
            self.kick.rung = False
        self.woke(sup)

    def ended(self, sup: Driver) -> None:
        """The session's task ends (`pump_task`): the session is closed (`close` waits for it)."""
        sup.pump_closed()
        self.done.set()

    async def connect(self, sup: Driver) -> None:
        """Connect, then serve the connection until the driver is done with it."""
        self.agenda.connect_due = False
        context = self.ssl
        try:
            sock, tls = await open_socket(self.session.options, context)
        except (*STREAM_ERRORS, trio.TooSlowError) as exc:
            self.connect_failed(sup, connect_error(self.session.options.endpoint, context, exc))
            return
        self.sock, self.tls, self.unsent = sock, tls, b""
        self.readers.reset()
        try:
            self.connected(sup)  # the Logon
            if self.sock is not sock:  # closed while connecting
                return
            self.changed.set()  # a waiting task reads it
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read, sup, sock)
                while self.sock is sock:
                    if self.unsent:
                        self.write(sup, b"")
                    await deliver(self.session, sup, self)
                    if self.sock is not sock:
                        break
                    await self._idle_on(sup, sock)
                nursery.cancel_scope.cancel()
        finally:
            try:
                if self.sock is sock:  # cancelled from outside, or failed: log out, best effort
                    self.perform(sup, sup.step(CLOSE, self.clock()))  # may fail too
            finally:
                if self.sock is sock:
                    self.sock = None
                close_socket(sock)

    async def _idle_on(self, sup: Driver, sock: socket.socket) -> None:
        """Wait until kicked, the socket takes what waits for it, the driver's `WakeAt`
        (then `WOKE`) or the end of a waiting task's read (poked then)."""
        rest = min(self.agenda.wake_at - self.clock(), self.until - trio.current_time())
        with self.kick.sleep(max(rest, 0.0)), contextlib.suppress(trio.ClosedResourceError):
            if self.unsent:
                await trio.lowlevel.wait_writable(sock)
            else:
                await trio.sleep_forever()
        self.kick.rung = False
        if self.until <= trio.current_time():
            poke(sock)
        self.woke(sup)

    async def _read(self, sup: Driver, sock: socket.socket) -> None:
        """The reader task (see the module docstring): reads while no task waits."""
        readers, me = self.readers, trio.lowlevel.current_task()
        while self.sock is sock:
            rest = readers.background(self.time(), me)
            await (trio.sleep(rest) if rest else self._read_once(sup, sock))

    async def _read_once(self, sup: Driver, sock: socket.socket) -> None:
        """The reader task's read, holding the socket: wait until it has bytes (or is poked:
        a waiting task wants it), step them; then hand the socket back."""
        try:
            while sock is self.sock:
                try:
                    await trio.lowlevel.wait_readable(sock)
                except trio.ClosedResourceError:
                    return  # poked
                if self._got(sup, sock):
                    return
        finally:
            if self.readers.release(self.time()):
                self.changed.set()
