"""asyncio adapter: a Kalshi FIX session as an async context manager.

    from kalshi_fix_sansio.adapters.asyncio import FixClient

    async def main() -> None:
        async with FixClient.from_env("demo").market_data() as md:
            md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)   # no await: it queues
            async for event in md.events(timeout=30):
                print(event)

A pump over the core's `Driver`, which makes every decision. Each transport callback is one
driver call, then its answer goes to the transport (``connection_made`` included: no byte
comes before the driver knows the connection); what is read is in the tracker, the books and
the queue at once. TLS (from `ssl_context_for`) is the adapter's own, the ssl module's memory
BIOs on a plain transport (`_aio.TLSProtocol`: less per message than asyncio's SSL
transport, on every event loop). A task per session connects, sleeps until the driver's next
deadline, fires its timers and runs ``on_event`` / ``on_reconnect`` (awaited when
awaitable); it is woken only when the driver needs it sooner, a callback is due or the
connection ends. A waiting caller (`next_event`, `place`...) waits on a future of its own,
resolved by the next read. `AsyncSession.send` is synchronous: the bytes go to the transport's buffer at
once, so a forgotten ``await`` cannot lose a message (and a wrong ``await`` fails loudly).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias, TypeVar

from kalshi_fix_sansio._callers import Wait
from kalshi_fix_sansio._clientbase import MAX_QUEUED_EVENTS, ClientBase
from kalshi_fix_sansio._endpoints import loopback_addresses
from kalshi_fix_sansio._sessionbase import SessionBase
from kalshi_fix_sansio._tlsconfig import connect_error
from kalshi_fix_sansio.catchup import CatchUpComplete, CatchUpFailed, CatchUpStarted, ExecCursor
from kalshi_fix_sansio.driver import (
    Driver,
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    QueuePolicy,
)
from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.killswitch import KillReport, TradingHalted
from kalshi_fix_sansio.steps import (
    CLOSE,
    CONNECTED,
    START,
    WOKE,
    Action,
    Agenda,
    Buffered,
    ConnectFailed,
    Disconnect,
    Lost,
    Received,
    Write,
)
from kalshi_fix_sansio.supervisor import Disconnected, Reconnected, Reconnecting

from ._aio import TLSProtocol, within
from ._async import AsyncAPI, AsyncKillAll, deliver

__all__ = [
    "MAX_QUEUED_EVENTS",
    "AsyncSession",
    "CatchUpComplete",
    "CatchUpFailed",
    "CatchUpStarted",
    "Disconnected",
    "EventCallback",
    "EventQueueOverflow",
    "ExecCursor",
    "FallingBehind",
    "FixClient",
    "KillReport",
    "MarginFixClient",
    "MarketDataFolded",
    "QueuePolicy",
    "ReconnectHook",
    "Reconnected",
    "Reconnecting",
    "TradingHalted",
]

EventCallback: TypeAlias = Callable[[Event], Awaitable[None] | None]
"""``on_event``: called with every event (in the session's task); an awaitable is awaited."""
T = TypeVar("T")

ReconnectHook: TypeAlias = Callable[["AsyncSession"], Awaitable[None] | None]
"""``on_reconnect``: called after each reconnect and Logon; an awaitable is awaited."""


class _Connection(asyncio.Protocol):
    """A plain TCP connection's transport callbacks: each one is one call into its pump."""

    def __init__(self, pump: _Transport) -> None:
        self.pump = pump
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.pump.made(self)

    def data_received(self, data: bytes) -> None:
        self.pump.data(self, data)

    def eof_received(self) -> bool | None:
        self.pump.data(self, b"")
        return None  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.pump.lost(self, exc)

    def write(self, data: bytes) -> int:
        """Write ``data``; returns how many bytes wait in the transport's buffer."""
        transport = self.transport
        assert transport is not None
        transport.write(data)
        return transport.get_write_buffer_size()

    def buffered(self) -> int:
        """Bytes waiting in the transport's buffer."""
        return 0 if self.transport is None else self.transport.get_write_buffer_size()


_Conn: TypeAlias = "_Connection | TLSProtocol"


class _Changes:
    """The callers waiting for a change (`_Transport.changes`): each waits on a future of
    its own (a cancelled caller cancels only its own), and `set` resolves them all. Nothing
    is remembered for later callers: a caller polls its wait and then waits with no await in
    between, so no change can fall between the two.

    Deadlines share one timer: a wait arms it only when it must fire sooner than it is armed
    for; when it fires every caller looks again (one whose deadline is still ahead arms it
    anew). A caller that got its answer leaves the timer armed, so waits one after another,
    each ending before its deadline, schedule one timer per timeout, not one per wait.
    """

    __slots__ = ("timer", "timer_at", "waiting")

    def __init__(self) -> None:
        self.waiting: list[asyncio.Future[None]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = math.inf

    def wait(self, loop: asyncio.AbstractEventLoop, deadline: float) -> asyncio.Future[None]:
        """A future resolved at the next `set`, or (about) at ``deadline`` (``loop.time()``;
        ``math.inf``: none) or later."""
        waiter = loop.create_future()
        self.waiting.append(waiter)
        if deadline < self.timer_at:
            if self.timer is not None:
                self.timer.cancel()
            self.timer, self.timer_at = loop.call_at(deadline, self._expired), deadline
        return waiter

    def set(self) -> None:
        """Something changed: every waiting caller looks again."""
        waiting = self.waiting
        if waiting:
            self.waiting = []
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(None)

    def forget(self, waiter: asyncio.Future[None]) -> None:
        """A caller stopped waiting (cancelled, or failed)."""
        with contextlib.suppress(ValueError):
            self.waiting.remove(waiter)

    def reset(self) -> None:
        """Forget the timer (a new open: it may run on another event loop)."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer, self.timer_at = None, math.inf

    def _expired(self) -> None:
        self.timer, self.timer_at = None, math.inf
        self.set()


class _Transport:
    """The asyncio pump of one session (see the module docstring): its task, its connection
    and the callers waiting for a change."""

    def __init__(self, session: SessionBase) -> None:
        self.session, self.host = session, session._host
        self.host.perform = self.perform
        self.conn: _Conn | None = None
        self.agenda = Agenda()  # the driver's answers for later: wake at, connect, end
        self.buffered = False  # bytes waited in the transport's buffer when last looked
        self.task: asyncio.Task[None] | None = None
        self.changes = _Changes()  # the callers waiting for a change
        self.kick = asyncio.Event()  # the session's task has something to do
        self.ssl: ssl.SSLContext | None = None

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

    def start(self, sup: Driver, context: ssl.SSLContext | None) -> None:
        """Start the session's task."""
        self.ssl = context
        self.agenda = Agenda()
        self.changes.reset()
        name = f"kalshi-fix {self.session.name}"
        self.task = asyncio.create_task(self._run(sup), name=name)

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and end the task."""
        sup, task, host = self.host.driver, self.task, self.host
        if sup is not None and task is not None:
            self.perform(sup, sup.step(CLOSE, host.clock()))
            self.wake()
            if task is not asyncio.current_task():
                await asyncio.wait([task], timeout=self.session.config.logout_timeout + 1)
                task.cancel()
                await asyncio.wait([task])
                self.task, host.running = None, False
        host.opened = self.task is not None
        self.abort()

    def perform(self, sup: Driver, actions: Sequence[Action]) -> None:
        """Do what the driver said, in order: write into the transport's buffer (the driver
        judges what waits there); the session's task connects, sleeps until `WakeAt` and
        ends; a `Disconnect` closes the transport (aborts it when the bytes are dropped)."""
        for action in actions:
            if type(action) is Write:
                conn = self.conn
                if conn is None or conn.transport is None or conn.transport.is_closing():
                    continue  # no connection: nothing to write them to
                data = action.data
                if (log := self.host.message_log) is not None:
                    log.sent(data, self.host.clock())
                if size := conn.write(data):
                    self.buffered = True
                    self.perform(sup, sup.step(Buffered(size), self.host.clock()))
            elif type(action) is Disconnect:
                self.abort(action.abort)
            elif self.agenda.note(action):
                self.kick.set()  # the task sleeps until it looks again

    # -- the transport's callbacks: one driver call each -----------------------------------

    def made(self, conn: _Conn) -> None:
        sup = self.host.driver
        assert sup is not None and conn.transport is not None
        if self.conn is not None:  # one connection at a time
            conn.transport.abort()
            return
        self.conn, self.buffered = conn, False
        try:
            self.perform(sup, sup.step(CONNECTED, self.host.clock()))  # the Logon
        except Exception as exc:  # e.g. MessageLogError: asyncio would swallow it
            self.failed(exc)

    def data(self, conn: _Conn, data: bytes) -> None:
        """Step bytes read (``b""``: EOF) on ``conn``; wake the waiting callers (and the
        session's task when a callback is due); do what the driver says (write a Heartbeat to
        a TestRequest, a resend...)."""
        host = self.host
        sup = host.driver
        if conn is not self.conn or sup is None:
            return  # a connection already given up
        try:
            actions = host.received(sup, Received(data))
            self.changes.set()  # readers and `place` / `cancel` look again
            if actions:
                self.perform(sup, actions)
            if host.delivery.due(sup):
                self.kick.set()
        except Exception as exc:  # e.g. MessageLogError: asyncio would swallow it
            self.failed(exc)

    def failed(self, exc: Exception) -> None:
        """An error raised in a transport callback (the message log's `MessageLogError`, a
        bug): asyncio would only log it (an `OSError` not even that) and drop the connection,
        and the session would reconnect past it. It ends the session instead, raised to the
        application as an error of the session's task is (`Host.closed_error`), as the
        blocking and trio adapters do."""
        if self.host.crash is None:
            self.host.crash = exc
        self.abort()
        self.wake()  # the session's task ends, the waiting callers see why

    def lost(self, conn: _Conn, exc: Exception | None) -> None:
        if conn is not self.conn:
            return
        self.conn = None
        sup = self.host.driver
        assert sup is not None
        if exc is not None:
            self.perform(sup, sup.step(Lost(f"read failed: {exc}"), self.host.clock()))
        else:  # closed without an EOF seen (e.g. TLS abort)
            self.perform(sup, self.host.received(sup, Received(b"")))
        self.wake()

    # -- the session's task -------------------------------------------------------------------

    async def _run(self, sup: Driver) -> None:
        host = self.host
        try:
            self.perform(sup, sup.step(START, host.clock()))
            # a transport callback failed (`failed`): ended
            while host.crash is None and not self.agenda.finished:
                if self.agenda.connect_due:
                    self.agenda.connect_due = False
                    await self._connect(sup)
                await deliver(self.session, sup, self)
                if not self.agenda.finished and not self.agenda.connect_due:
                    await self._idle(sup)
            await deliver(self.session, sup, self)  # what the last input queued
        except Exception as exc:  # a local error (e.g. a refused address): raised to the caller
            host.crash = exc
        finally:
            self.abort()
            host.running = False
            self.wake()

    async def _idle(self, sup: Driver) -> None:
        """Wait until kicked or the driver's `WakeAt`; then step `WOKE` (its timers fire when
        due), after telling it what waits in the transport's buffer."""
        kick, clock = self.kick, self.host.clock
        if not kick.is_set():
            rest = self.agenda.wake_at - clock()
            timeout = None if rest == math.inf else max(rest, 0.0)
            with contextlib.suppress(asyncio.TimeoutError):  # not the builtin on 3.10
                await within(kick.wait(), timeout)
        kick.clear()
        conn = self.conn
        if self.buffered and conn is not None:  # a slow peer? the driver judges it
            size = conn.buffered()
            self.buffered = size > 0
            self.perform(sup, sup.step(Buffered(size), clock()))
        self.perform(sup, sup.step(WOKE, clock()))

    async def _connect(self, sup: Driver) -> None:
        options = self.session.options
        try:
            await asyncio.wait_for(self._open(), options.connect_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            if self.conn is None:
                error = exc if str(exc) else TimeoutError(f"{options.endpoint}: timed out")
                reported = connect_error(options.endpoint, self.ssl, error)  # final?
                self.perform(sup, sup.step(ConnectFailed(reported), self.host.clock()))

    async def _open(self) -> None:
        ep = self.session.options.endpoint
        loop = asyncio.get_running_loop()
        context = self.ssl
        if context is not None:  # TLS of our own over a plain transport (`TLSProtocol`)
            handshake: asyncio.Future[None] = loop.create_future()
            hostname = self.session.options.endpoint.server_hostname
            tls = functools.partial(TLSProtocol, context, hostname, handshake, self)
            transport, _ = await loop.create_connection(tls, ep.host, ep.port)
            try:
                await handshake
            except BaseException:
                transport.abort()
                raise
            return
        rows = await loop.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)
        error: OSError = OSError(f"no address for {ep}")
        for address in loopback_addresses(ep, rows):  # connect only to checked addresses
            try:
                await loop.create_connection(functools.partial(_Connection, self), address, ep.port)
                return
            except OSError as exc:
                error = exc
        raise error

    def abort(self, drop: bool = True) -> None:
        """Close the connection (``drop``: at once, dropping what waits to be written)."""
        conn, self.conn = self.conn, None
        if conn is not None and conn.transport is not None:
            if drop:
                conn.transport.abort()
            else:
                conn.transport.close()


class AsyncSession(AsyncAPI):
    """One Kalshi FIX session over an asyncio transport (``async with``: log on, then log out).

    Takes the arguments of `SessionBase`; ``on_event`` and ``on_reconnect`` (`EventCallback`,
    `ReconnectHook`) run in the session's task, an awaitable result awaited.
    """

    _PUMP = _Transport
    _pump: _Transport

    async def __aenter__(self) -> AsyncSession:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect and log on, then keep the session up in a background task.

        Raises:
            LogonRefused: Kalshi refused the Logon for good (its text is in the message).
            ConnectionFailed: every attempt the backoff allows failed.
            LocalProtocolError: the endpoint is not allowed, or the session is already open.
        """
        self._pump.start(*self._begin())
        await self._await_logon(self.close)

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        await self._pump.close()
        self._end()


class FixClient(ClientBase[AsyncSession], AsyncKillAll):
    """Kalshi FIX client for prediction (event contracts) on asyncio; sessions are `AsyncSession`."""

    PRODUCT = "prediction"
    _SESSION = AsyncSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on asyncio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
