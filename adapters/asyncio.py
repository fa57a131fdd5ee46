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
    CONNECT,
    CONNECTED,
    FINISHED,
    START,
    WOKE,
    Action,
    Buffered,
    ConnectFailed,
    Disconnect,
    Lost,
    Received,
    WakeAt,
    Write,
)
from kalshi_fix_sansio.supervisor import Disconnected, Reconnected, Reconnecting

from ._aio import TLSProtocol, within
from ._async import AsyncKillAll, AsyncSessionBase
from ._client import MAX_QUEUED_EVENTS, ClientBase
from ._transport import connect_error, loopback_addresses

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
    """A plain TCP connection's transport callbacks: each one is one call into its session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.session._made(self)

    def data_received(self, data: bytes) -> None:
        session, sup = self.session, self.session.driver
        if self is session._conn and sup is not None:  # else a connection already given up
            try:
                session._fed(sup, Received(data))
            except Exception as exc:  # e.g. MessageLogError: asyncio would swallow it
                session._failed(exc)

    def eof_received(self) -> bool | None:
        self.data_received(b"")
        return None  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.session._on_lost(self, exc)

    def write(self, data: bytes) -> int:
        """Write ``data``; returns how many bytes wait in the transport's buffer."""
        transport = self.transport
        assert transport is not None
        transport.write(data)
        return transport.get_write_buffer_size()

    def buffered(self) -> int:
        """Bytes waiting in the transport's buffer."""
        return 0 if self.transport is None else self.transport.get_write_buffer_size()


class _TLSConnection(TLSProtocol):
    """A TLS connection (`TLSProtocol`) whose callbacks are one call each into its session,
    which gets it once the handshake is done."""

    def __init__(
        self, session: AsyncSession, context: ssl.SSLContext, handshake: asyncio.Future[None]
    ) -> None:
        super().__init__(context, session.options.endpoint.server_hostname, handshake)
        self.session = session

    def tls_made(self) -> None:
        self.session._made(self)

    def tls_data(self, data: bytes) -> None:
        session, sup = self.session, self.session.driver
        if self is session._conn and sup is not None:  # else a connection already given up
            try:
                session._fed(sup, Received(data))
            except Exception as exc:  # e.g. MessageLogError: asyncio would swallow it
                session._failed(exc)

    def tls_lost(self, exc: Exception | None) -> None:
        self.session._on_lost(self, exc)


_Conn: TypeAlias = "_Connection | _TLSConnection"


class _Changes:
    """The callers waiting for a change (`AsyncSession._changed`): each waits on a future of
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


class AsyncSession(AsyncSessionBase):
    """One Kalshi FIX session over an asyncio transport (``async with``: log on, then log out).

    Takes the arguments of `SessionBase`; ``on_event`` and ``on_reconnect`` (`EventCallback`,
    `ReconnectHook`) run in the session's task, an awaitable result awaited.
    """

    def _setup(self) -> None:
        self._conn: _Conn | None = None
        self._wake_at = math.inf  # the driver's `WakeAt` (its clock)
        self._connect_due = False  # the driver said `Connect`
        self._finished = False  # the driver said `Finished`
        self._buffered = False  # bytes waited in the transport's buffer when last looked
        self._task: asyncio.Task[None] | None = None
        self._changed: _Changes = _Changes()  # the callers waiting for a change
        self._kick: asyncio.Event = asyncio.Event()
        self._ssl: ssl.SSLContext | None = None

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
        sup, self._ssl = self._begin()
        self._wake_at, self._connect_due, self._finished = math.inf, False, False
        self._changed.reset()
        self._task = asyncio.create_task(self._run(sup), name=f"kalshi-fix {self._name}")
        await self._await_logon(sup, self.close)

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        sup, task = self.driver, self._task
        if sup is not None and task is not None:
            self._perform(sup, sup.step(CLOSE, self._clock()))
            self._wake()
            if task is not asyncio.current_task():
                await asyncio.wait([task], timeout=self.config.logout_timeout + 1)
                task.cancel()
                await asyncio.wait([task])
                self._task = None
        self._abort()
        self._close_log()

    def _is_open(self) -> bool:
        return self._task is not None

    def _ended(self) -> bool:
        task = self._task  # it ends after its last delivery: no event is missed
        return task is None or task.done()

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def _wait_changed(self, deadline: float) -> None:
        changes = self._changed
        waiter = changes.wait(asyncio.get_running_loop(), deadline)
        try:
            await waiter
        except BaseException:
            changes.forget(waiter)
            raise

    async def _drive(self, wait: Wait[T]) -> T:
        # `AsyncSessionBase._drive` with `_wait_changed` inline (one coroutine less per wake)
        loop = asyncio.get_running_loop()
        changes = self._changed
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

    def _perform(self, sup: Driver, actions: Sequence[Action]) -> None:
        """Do what the driver said, in order: write into the transport's buffer (the driver
        judges what waits there); the session's task connects, sleeps until `WakeAt` and
        ends; a `Disconnect` closes the transport (aborts it when the bytes are dropped)."""
        for action in actions:
            if type(action) is Write:
                conn = self._conn
                if conn is None or conn.transport is None or conn.transport.is_closing():
                    continue  # no connection: nothing to write them to
                data = action.data
                if (log := self.options.message_log) is not None:
                    log.sent(data, self._clock())
                if size := conn.write(data):
                    self._buffered = True
                    self._perform(sup, sup.step(Buffered(size), self._clock()))
            elif type(action) is WakeAt:
                self._wake_at = action.deadline
                self._kick.set()  # the task sleeps until it
            elif type(action) is Disconnect:
                self._abort(action.abort)
            elif action is CONNECT:
                self._connect_due = True
                self._kick.set()
            elif action is FINISHED:
                self._finished = True
                self._kick.set()

    # -- the transport's callbacks: one driver call each -----------------------------------

    def _made(self, conn: _Conn) -> None:
        sup = self.driver
        assert sup is not None and conn.transport is not None
        if self._conn is not None:  # one connection at a time
            conn.transport.abort()
            return
        self._conn, self._buffered = conn, False
        try:
            self._perform(sup, sup.step(CONNECTED, self._clock()))  # the Logon
        except Exception as exc:  # e.g. MessageLogError: asyncio would swallow it
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        """An error raised in a transport callback (the message log's `MessageLogError`, a
        bug): asyncio would only log it (an `OSError` not even that) and drop the connection,
        and the session would reconnect past it. It ends the session instead, raised to the
        application as an error of the session's task is (`SessionBase._closed_error`), as
        the blocking and trio adapters do."""
        if self._crash is None:
            self._crash = exc
        self._abort()
        self._wake()  # the session's task ends, the waiting callers see why

    def _on_lost(self, conn: _Conn, exc: Exception | None) -> None:
        if conn is not self._conn:
            return
        self._conn = None
        sup = self.driver
        assert sup is not None
        if exc is not None:
            self._perform(sup, sup.step(Lost(f"read failed: {exc}"), self._clock()))
        else:  # closed without an EOF seen (e.g. TLS abort)
            self._perform(sup, self._received(sup, Received(b"")))
        self._wake()

    # -- the background task ----------------------------------------------------------------------

    async def _run(self, sup: Driver) -> None:
        try:
            self._perform(sup, sup.step(START, self._clock()))
            # a transport callback failed (`_failed`): ended
            while self._crash is None and not self._finished:
                if self._connect_due:
                    self._connect_due = False
                    await self._connect(sup)
                await self._deliver(sup)
                if not self._finished and not self._connect_due:
                    await self._idle(sup)
            await self._deliver(sup)  # what the last input queued
        except Exception as exc:  # a local error (e.g. a refused address): raised to the caller
            self._crash = exc
        finally:
            self._abort()
            self._wake()

    async def _idle(self, sup: Driver) -> None:
        """Wait until kicked or the driver's `WakeAt`; then step `WOKE` (its timers fire when
        due), after telling it what waits in the transport's buffer."""
        kick = self._kick
        if not kick.is_set():
            rest = self._wake_at - self._clock()
            timeout = None if rest == math.inf else max(rest, 0.0)
            with contextlib.suppress(asyncio.TimeoutError):  # not the builtin on 3.10
                await within(kick.wait(), timeout)
        kick.clear()
        conn = self._conn
        if self._buffered and conn is not None:  # a slow peer? the driver judges it
            size = conn.buffered()
            self._buffered = size > 0
            self._perform(sup, sup.step(Buffered(size), self._clock()))
        self._perform(sup, sup.step(WOKE, self._clock()))

    async def _connect(self, sup: Driver) -> None:
        try:
            await asyncio.wait_for(self._open(), self.options.connect_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            if self._conn is None:
                error = exc if str(exc) else TimeoutError(f"{self.options.endpoint}: timed out")
                reported = connect_error(self.options.endpoint, self._ssl, error)  # final?
                self._perform(sup, sup.step(ConnectFailed(reported), self._clock()))

    async def _open(self) -> None:
        ep = self.options.endpoint
        loop = asyncio.get_running_loop()
        context = self._ssl
        if context is not None:  # TLS of our own over a plain transport (`TLSProtocol`)
            handshake: asyncio.Future[None] = loop.create_future()
            tls = functools.partial(_TLSConnection, self, context, handshake)
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

    def _abort(self, drop: bool = True) -> None:
        """Close the connection (``drop``: at once, dropping what waits to be written)."""
        conn, self._conn = self._conn, None
        if conn is not None and conn.transport is not None:
            if drop:
                conn.transport.abort()
            else:
                conn.transport.close()


class FixClient(ClientBase[AsyncSession], AsyncKillAll):
    """Kalshi FIX client for prediction (event contracts) on asyncio; sessions are `AsyncSession`."""

    PRODUCT = "prediction"
    _SESSION = AsyncSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on asyncio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
