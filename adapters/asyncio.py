"""asyncio adapter: a Kalshi FIX session as an async context manager.

    from kalshi_fix_sansio.adapters.asyncio import FixClient

    async def main() -> None:
        async with FixClient.from_env("demo").market_data() as md:
            md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)   # no await: it queues
            async for event in md.events(timeout=30):
                print(event)

The core's `Supervisor` makes every decision (reconnects, backoff, sequence resets, refused
Logons, logout on close); this module opens streams (`asyncio.open_connection`, TLS from
`ssl_context_for`), sleeps and runs the supervisor in one background task per session, so
heartbeats and TestRequests flow while the application is busy elsewhere. ``on_event`` and
``on_reconnect`` run in that task (an awaitable result is awaited); meanwhile nothing is read.

`AsyncSession.send` is synchronous: it hands the message to the core and writes the bytes to
the transport's buffer at once, so a forgotten ``await`` cannot lose a message (and an
``await`` by mistake fails loudly: an int is not awaitable). Events wait in a queue of at most
``max_queued_events``; while it is full the task reads nothing (TCP pushes back on Kalshi).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

from kalshi_fix_sansio._message import Message
from kalshi_fix_sansio.config import SessionConfig
from kalshi_fix_sansio.errors import LocalProtocolError
from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.session import Session
from kalshi_fix_sansio.supervisor import (
    Disconnected,
    Reconnected,
    Reconnecting,
    Supervisor,
    SupervisorState,
)

from ._client import (
    MAX_QUEUED_EVENTS,
    ClientBase,
    ConnectOptions,
    EventQueue,
    closed_error,
    log_event,
    new_supervisor,
)
from ._transport import (
    MAX_BUFFERED_OUTBOUND,
    READ_CHUNK,
    check_endpoint,
    loopback_addresses,
    ssl_context_for,
)

__all__ = [
    "MAX_QUEUED_EVENTS",
    "AsyncSession",
    "Disconnected",
    "EventCallback",
    "FixClient",
    "MarginFixClient",
    "ReconnectHook",
    "Reconnected",
    "Reconnecting",
]

EventCallback: TypeAlias = Callable[[Event], Awaitable[None] | None]
"""``on_event``: called with every event (in the session's task); an awaitable is awaited."""
ReconnectHook: TypeAlias = Callable[["AsyncSession"], Awaitable[None] | None]
"""``on_reconnect``: called after each reconnect and Logon; an awaitable is awaited."""

_Streams: TypeAlias = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class AsyncSession:
    """One Kalshi FIX session over asyncio streams (``async with``: log on, then log out).

    Args:
        config: the session config (initiator).
        options: endpoint, TLS, backoff and reconnect options.
        on_event: receives every event instead of the queue (may be a coroutine function).
        on_reconnect: called (or awaited) after each reconnect, e.g. to re-subscribe.
        clock: UTC epoch seconds for the core; tests may pass their own.
        max_queued_events: most events queued before reading pauses.
    """

    def __init__(
        self,
        config: SessionConfig,
        options: ConnectOptions,
        *,
        on_event: EventCallback | None = None,
        on_reconnect: ReconnectHook | None = None,
        clock: Callable[[], float] = time.time,
        max_queued_events: int = MAX_QUEUED_EVENTS,
    ) -> None:
        self.config, self.options = config, options
        self.on_event, self.on_reconnect = on_event, on_reconnect
        self._clock = clock
        self._queue = EventQueue(max_queued_events)
        self.supervisor: Supervisor | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()  # events queued or the supervisor moved
        self._ssl: ssl.SSLContext | None = None
        self._name = f"{config.product}/{config.session_type}"

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
        if self._task is not None:
            raise LocalProtocolError("the session is already open: close it first")
        check_endpoint(self.options.endpoint, allow_unlisted_hosts=self.options.allow_unlisted_hosts)
        self._ssl = ssl_context_for(self.options.endpoint, self.options.ssl_context)
        if self.options.message_log is not None:
            self.options.message_log.open()
        sup = self.supervisor = new_supervisor(self.config, self.options)
        sup.start(self._clock())
        task = self._task = asyncio.create_task(self._run(sup), name=f"kalshi-fix {self._name}")
        while sup.state is not SupervisorState.ACTIVE and not sup.finished and not task.done():
            await self._wait_changed(None)
        if sup.state is not SupervisorState.ACTIVE:
            crash = task.exception() if task.done() and not task.cancelled() else None
            await self.close()
            raise closed_error(sup, crash if isinstance(crash, Exception) else None)

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        sup, task = self.supervisor, self._task
        if sup is not None and task is not None:
            sup.close(self._clock())
            self._write(sup)
            self._changed.set()
            if task is not asyncio.current_task():
                await asyncio.wait([task], timeout=self.config.logout_timeout + 1)
                task.cancel()
                await asyncio.wait([task])
                self._task = None
        self._abort()
        if self.options.message_log is not None:
            self.options.message_log.close()

    def send(self, message: Message, *, resubscribe: bool = False) -> int:
        """Send an application message now (synchronous: no ``await``).

        Args:
            message: a message of the session's dialect.
            resubscribe: send it again after every reconnect (market-data subscriptions).

        Returns:
            Its MsgSeqNum.

        Raises:
            TransportError: the connection is down (wait for `Reconnected`) or gone for good.
            LocalProtocolError: not open, or a message the session type does not carry.
            EncodeError: a missing field or a value the wire cannot carry.
        """
        sup = self.supervisor
        if sup is None:
            raise LocalProtocolError("not connected: use the session in `async with` first")
        seq = sup.send(message, self._clock(), resubscribe=resubscribe)
        self._write(sup)
        return seq

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: until one comes).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session ended (after the
                events queued before that were returned).
        """
        return await self._wait(lambda _: True, timeout)

    async def events(self, timeout: float | None = None) -> AsyncIterator[Event]:
        """Iterate events until ``timeout`` seconds pass with none (None: forever)."""
        while (event := await self.next_event(timeout)) is not None:
            yield event

    def __aiter__(self) -> AsyncIterator[Event]:
        return self.events()

    async def wait_for(
        self,
        predicate: Callable[[Event], bool],
        timeout: float | None,
        send: Message | None = None,
    ) -> Event:
        """Optionally send a message, then wait for an event satisfying ``predicate``.

        Events skipped meanwhile stay queued, in order.

        Raises:
            TimeoutError: none came within ``timeout`` seconds (None: wait forever).
            LogonRefused, ConnectionFailed, TransportError: the session ended first.
        """
        if send is not None:
            self.send(send)
        event = await self._wait(predicate, timeout)
        if event is None:
            raise TimeoutError(f"no matching event within {timeout:g} s")
        return event

    async def _wait(self, predicate: Callable[[Event], bool], timeout: float | None) -> Event | None:
        deadline = None if timeout is None else self._clock() + timeout
        while (event := self._queue.take(predicate)) is None:
            remaining = None if deadline is None else deadline - self._clock()
            if remaining is not None and remaining <= 0:
                return None
            self._check_alive()
            await self._wait_changed(remaining)
        self._changed.set()  # room in the queue: the task may read again
        return event

    def _check_alive(self) -> None:
        task, sup = self._task, self.supervisor
        crash = task.exception() if task is not None and task.done() and not task.cancelled() else None
        if task is None or task.done() or (sup is not None and sup.finished):
            raise closed_error(sup, crash if isinstance(crash, Exception) else None)

    async def run(self, until: Callable[[], bool] | None = None) -> None:
        """Wait until ``until()`` is true or the session ends (for ``on_event`` users).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session failed.
        """
        sup = self.supervisor
        while sup is not None and not sup.finished and (until is None or not until()):
            await self._wait_changed(None)
        if sup is None or sup.failure is not None:
            raise closed_error(sup)

    @property
    def session(self) -> Session | None:
        """The core `Session` of the current (or last) connection."""
        return None if self.supervisor is None else self.supervisor.session

    @property
    def connections(self) -> int:
        """How many connections logged on so far (1 + the reconnects)."""
        return 0 if self.supervisor is None else self.supervisor.connections

    @property
    def max_queued_events(self) -> int:
        """The event queue's bound."""
        return self._queue.bound

    @property
    def queued_events(self) -> int:
        """How many events wait in the queue."""
        return len(self._queue)

    # -- the background task ------------------------------------------------------------

    async def _run(self, sup: Supervisor) -> None:
        reader: asyncio.StreamReader | None = None
        try:
            while not sup.finished or reader is not None:
                if reader is None and (at := sup.connect_at) is not None:
                    await self._sleep_until(sup, at)
                    reader = await self._connect(sup)
                self._write(sup)
                if reader is not None and not sup.wants_transport:
                    reader = None
                    self._abort()
                await self._deliver(sup)
                if reader is not None:
                    data = await self._read(sup, reader)
                    now = self._clock()
                    if data is None:
                        sup.handle_timer(now)
                    else:
                        if data and self.options.message_log is not None:
                            self.options.message_log.received(data, now)
                        sup.receive_data(data, now)
            await self._deliver(sup, force=True)
        finally:
            self._abort()
            self._changed.set()

    async def _sleep_until(self, sup: Supervisor, at: float) -> None:
        while sup.connect_at is not None and (delay := at - self._clock()) > 0:
            await self._wait_changed(delay)  # close() wakes us

    async def _connect(self, sup: Supervisor) -> asyncio.StreamReader | None:
        ep, timeout = self.options.endpoint, self.options.connect_timeout
        try:
            streams = await asyncio.wait_for(self._open(), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            sup.connection_failed(self._clock(), exc if str(exc) else TimeoutError(f"{ep}: timed out"))
            return None
        if sup.connect_at is None:  # closed while connecting
            streams[1].transport.abort()
            return None
        self._writer = streams[1]
        sup.connection_made(self._clock())
        return streams[0]

    async def _open(self) -> _Streams:
        ep = self.options.endpoint
        if self._ssl is not None:
            return await asyncio.open_connection(
                ep.host, ep.port, ssl=self._ssl, server_hostname=ep.server_hostname, limit=READ_CHUNK
            )
        loop = asyncio.get_running_loop()
        rows = await loop.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)
        error: OSError = OSError(f"no address for {ep}")
        for address in loopback_addresses(ep, rows):  # connect only to checked addresses
            try:
                return await asyncio.open_connection(address, ep.port, limit=READ_CHUNK)
            except OSError as exc:
                error = exc
        raise error

    async def _read(self, sup: Supervisor, reader: asyncio.StreamReader) -> bytes | None:
        deadline = sup.next_deadline()
        timeout = None if deadline is None else max(deadline - self._clock(), 0.0)
        if self._queue.full and self.on_event is None:  # back-pressure: do not read
            await self._wait_changed(timeout)
            return None
        try:
            return await asyncio.wait_for(reader.read(READ_CHUNK), timeout)
        except asyncio.TimeoutError:
            return b"" if reader.exception() is not None else None
        except OSError as exc:
            sup.connection_lost(self._clock(), f"read failed: {exc}")
            return None

    def _write(self, sup: Supervisor) -> None:
        data = sup.data_to_send()
        writer = self._writer
        if not data or writer is None or writer.is_closing():
            return
        if self.options.message_log is not None:
            self.options.message_log.sent(data, self._clock())
        writer.write(data)
        if writer.transport.get_write_buffer_size() > MAX_BUFFERED_OUTBOUND:
            sup.connection_lost(self._clock(), f"the peer is not reading: over {MAX_BUFFERED_OUTBOUND} bytes wait")
            self._changed.set()

    async def _deliver(self, sup: Supervisor, *, force: bool = False) -> None:
        room = force or self.on_event is not None
        while (room or not self._queue.full) and (event := sup.next_event()):
            log_event(self._name, event)
            if self.on_event is not None:
                await _maybe_await(self.on_event(event))
            else:
                self._queue.put(event)
            self._changed.set()
            if isinstance(event, Reconnected) and self.on_reconnect is not None:
                await _maybe_await(self.on_reconnect(self))
                self._write(sup)

    def _abort(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.transport.abort()

    async def _wait_changed(self, timeout: float | None) -> None:
        self._changed.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)


async def _maybe_await(result: object) -> None:
    if inspect.isawaitable(result):
        await result


class FixClient(ClientBase[AsyncSession]):
    """Kalshi FIX client for prediction (event contracts) on asyncio; sessions are `AsyncSession`."""

    PRODUCT = "prediction"

    def _make(self, config: SessionConfig, options: ConnectOptions, **session_options: Any) -> AsyncSession:
        return AsyncSession(config, options, **session_options)


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on asyncio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
