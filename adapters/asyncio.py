"""asyncio adapter: a Kalshi FIX session as an async context manager.

    from kalshi_fix_sansio.adapters.asyncio import FixClient

    async def main() -> None:
        async with FixClient.from_env("demo").market_data() as md:
            md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)   # no await: it queues
            async for event in md.events(timeout=30):
                print(event)

The core's `Supervisor` makes every decision (reconnects, backoff, sequence resets, refused
Logons, logout on close); this module connects (`loop.create_connection`, TLS from
`ssl_context_for`), sleeps and runs the supervisor in one background task per session, so
heartbeats and TestRequests flow while the application is busy elsewhere. What the transport
reads goes to the core's `Driver` in the transport's own callback
(`_Connection.data_received`), which keeps the order tracker and the books current and queues
the events at once: no task switch on the way in. The task wakes for timers, reconnects and
the callbacks: ``on_event`` and ``on_reconnect`` run in it (an awaitable result is awaited);
reading goes on meanwhile.

`AsyncSession.send` is synchronous: it hands the message to the core and writes the bytes to
the transport's buffer at once, so a forgotten ``await`` cannot lose a message (and an
``await`` by mistake fails loudly: an int is not awaitable). Reading never pauses for a slow
application: the driver's `QueuePolicy` decides what happens when events pile up unread.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from kalshi_fix_sansio._aio import within
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
from kalshi_fix_sansio.supervisor import Disconnected, Reconnected, Reconnecting

from ._base import AsyncKillAll, AsyncSessionBase
from ._client import MAX_QUEUED_EVENTS, ClientBase
from ._transport import MAX_BUFFERED_OUTBOUND, loopback_addresses

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
ReconnectHook: TypeAlias = Callable[["AsyncSession"], Awaitable[None] | None]
"""``on_reconnect``: called after each reconnect and Logon; an awaitable is awaited."""



class _Connection(asyncio.Protocol):
    """A connection's transport callbacks, handed to its session (bytes held until the session
    takes the connection over: nothing is lost between the connect and that moment)."""

    def __init__(self, session: AsyncSession, sup: Driver) -> None:
        self.session = session
        self.sup = sup
        self.transport: asyncio.Transport | None = None
        self.adopted = False
        self.early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.adopted:
            self.session._on_data(self, data)
        else:
            self.early.append(data)

    def eof_received(self) -> bool | None:
        self.data_received(b"")
        return None  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        if self.adopted:
            self.session._on_lost(self, exc)


class AsyncSession(AsyncSessionBase):
    """One Kalshi FIX session over an asyncio transport (``async with``: log on, then log out).

    Takes the arguments of `SessionBase`: ``config``, ``options``, ``on_event`` and
    ``on_reconnect`` (`EventCallback`, `ReconnectHook`: run in the session's task, an
    awaitable result is awaited), ``clock``, ``max_queued_events``.
    """

    def _setup(self) -> None:
        self._conn: _Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()  # events queued or the supervisor moved (readers wait)
        self._kick = asyncio.Event()  # the session's task has something to do
        self._armed = -math.inf  # the core deadline the task's wait ends at (core clock)
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
        self._task = asyncio.create_task(self._run(sup), name=f"kalshi-fix {self._name}")
        if not await self._await_logon(sup):
            await self.close()
            raise self._closed_error()

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        sup, task = self.driver, self._task
        if sup is not None and task is not None:
            sup.close(self._clock())
            self._write(sup)
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
        # the task ends after its last delivery: a waiter never misses an event the core still
        # held when the connection closed (it is told in a transport callback, not the task)
        task = self._task
        return task is None or task.done()

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def _wait_changed(self, deadline: float) -> None:
        # a new Event per change, as in trio: clearing a shared one lost wake-ups (the task and
        # the reader both wait on it, and wait_for starts its waiter one loop turn late)
        changed = self._changed
        timeout = None if deadline == math.inf else max(deadline - self._now(), 0.0)
        with contextlib.suppress(asyncio.TimeoutError):
            await within(changed.wait(), timeout)
        if self._changed is changed and changed.is_set():
            self._changed = asyncio.Event()

    def _wake(self) -> None:
        self._changed.set()
        self._kick.set()

    def _flush(self, sup: Driver) -> None:
        self._write(sup)
        self._kick_if_sooner(sup)

    # -- the connection's callbacks: what is read goes to the core at once ----------------

    def _on_data(self, conn: _Connection, data: bytes) -> None:
        """Feed bytes read (``b""``: EOF) to the core's driver (tracker, books and queue are
        current at once); wake the readers, and the task when a callback is due."""
        if conn is not self._conn:
            return  # a connection already given up
        sup = conn.sup
        self._received(sup, data)
        self._changed.set()  # readers and `place` / `cancel` look again
        if self._callback_due(sup):
            self._kick.set()
        self._write(sup)  # what the core answered (a Heartbeat to a TestRequest, a resend)
        if data and sup.wants_transport:
            self._kick_if_sooner(sup)
        else:
            self._kick.set()

    def _on_lost(self, conn: _Connection, exc: Exception | None) -> None:
        """The transport closed: tell the core why (an EOF was fed already), wake the task."""
        if conn is not self._conn:
            return
        self._conn = None
        if exc is not None:
            conn.sup.connection_lost(self._clock(), f"read failed: {exc}")
        elif conn.sup.wants_transport:
            self._received(conn.sup, b"")  # closed without an EOF seen (e.g. TLS abort)
        self._wake()

    def _kick_if_sooner(self, sup: Driver) -> None:
        """Wake the task when the core now wants its timer before the task's wait ends."""
        deadline = sup.next_deadline()
        if deadline is not None and deadline < self._armed:
            self._kick.set()

    # -- the background task ------------------------------------------------------------

    async def _run(self, sup: Driver) -> None:
        try:
            while not sup.finished or self._conn is not None:
                if self._conn is None and (at := sup.connect_at) is not None:
                    await self._sleep_until(sup, at)
                    await self._connect(sup)
                self._write(sup)
                if self._conn is not None and not sup.wants_transport:
                    self._abort()
                await self._deliver(sup)
                if self._conn is not None:
                    await self._idle(sup)
                    sup.handle_timer(self._clock())
            await self._deliver(sup)
        except Exception as exc:  # a local error (e.g. a refused address): raised to the caller
            self._crash = exc
        finally:
            self._abort()
            self._wake()

    async def _idle(self, sup: Driver) -> None:
        """Wait until kicked, or until the core's next deadline."""
        deadline = sup.next_deadline()
        self._armed = math.inf if deadline is None else deadline
        kick = self._kick
        if not kick.is_set():
            timeout = None if deadline is None else max(deadline - self._clock(), 0.0)
            with contextlib.suppress(asyncio.TimeoutError):
                await within(kick.wait(), timeout)
        kick.clear()
        self._armed = -math.inf  # not waiting: nothing needs a kick for its deadline

    async def _sleep_until(self, sup: Driver, at: float) -> None:
        while sup.connect_at is not None and (delay := at - self._clock()) > 0:
            await self._wait_changed(self._now() + delay)  # close() wakes us

    async def _connect(self, sup: Driver) -> None:
        ep, timeout = self.options.endpoint, self.options.connect_timeout
        try:
            conn = await asyncio.wait_for(self._open(sup), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            sup.connection_failed(self._clock(), exc if str(exc) else TimeoutError(f"{ep}: timed out"))
            return
        assert conn.transport is not None
        if not self._connected(sup):
            conn.transport.abort()
            return
        self._conn, conn.adopted = conn, True
        for data in conn.early:  # what came before the session took the connection
            self._on_data(conn, data)
        conn.early.clear()

    async def _open(self, sup: Driver) -> _Connection:
        ep = self.options.endpoint
        loop = asyncio.get_running_loop()

        def connection() -> _Connection:
            return _Connection(self, sup)

        if self._ssl is not None:
            _, conn = await loop.create_connection(
                connection, ep.host, ep.port, ssl=self._ssl, server_hostname=ep.server_hostname
            )
            return conn
        rows = await loop.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)
        error: OSError = OSError(f"no address for {ep}")
        for address in loopback_addresses(ep, rows):  # connect only to checked addresses
            try:
                _, conn = await loop.create_connection(connection, address, ep.port)
                return conn
            except OSError as exc:
                error = exc
        raise error

    def _write(self, sup: Driver) -> None:
        conn = self._conn
        transport = None if conn is None else conn.transport
        if transport is None or transport.is_closing():
            sup.data_to_send()  # no connection: nothing to write them to
            return
        data = self._to_send(sup)
        if not data:
            return
        transport.write(data)
        if transport.get_write_buffer_size() > MAX_BUFFERED_OUTBOUND:
            sup.connection_lost(self._clock(), f"the peer is not reading: over {MAX_BUFFERED_OUTBOUND} bytes wait")
            self._wake()

    def _abort(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and conn.transport is not None:
            conn.transport.abort()


class FixClient(ClientBase[AsyncSession], AsyncKillAll):
    """Kalshi FIX client for prediction (event contracts) on asyncio; sessions are `AsyncSession`."""

    PRODUCT = "prediction"
    _SESSION = AsyncSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on asyncio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
