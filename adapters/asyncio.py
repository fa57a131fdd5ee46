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
import math
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from kalshi_fix_sansio._aio import within
from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.supervisor import Disconnected, Reconnected, Reconnecting, Supervisor

from ._base import AsyncSessionBase
from ._client import MAX_QUEUED_EVENTS, ClientBase
from ._transport import MAX_BUFFERED_OUTBOUND, READ_CHUNK, loopback_addresses

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


class AsyncSession(AsyncSessionBase):
    """One Kalshi FIX session over asyncio streams (``async with``: log on, then log out).

    Takes the arguments of `SessionBase`: ``config``, ``options``, ``on_event`` and
    ``on_reconnect`` (`EventCallback`, `ReconnectHook`: run in the session's task, an
    awaitable result is awaited), ``clock``, ``max_queued_events``.
    """

    def _setup(self) -> None:
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()  # events queued or the supervisor moved
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
        sup, task = self.supervisor, self._task
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
        task, sup = self._task, self.supervisor
        return task is None or task.done() or (sup is not None and sup.finished)

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

    def _flush(self, sup: Supervisor) -> None:
        self._write(sup)

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
                    if data is None:
                        sup.handle_timer(self._clock())
                    else:
                        self._received(sup, data)
            await self._deliver(sup, force=True)
        except Exception as exc:  # a local error (e.g. a refused address): raised to the caller
            self._crash = exc
        finally:
            self._abort()
            self._wake()

    async def _sleep_until(self, sup: Supervisor, at: float) -> None:
        while sup.connect_at is not None and (delay := at - self._clock()) > 0:
            await self._wait_changed(self._now() + delay)  # close() wakes us

    async def _connect(self, sup: Supervisor) -> asyncio.StreamReader | None:
        ep, timeout = self.options.endpoint, self.options.connect_timeout
        try:
            reader, writer = await asyncio.wait_for(self._open(), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            sup.connection_failed(self._clock(), exc if str(exc) else TimeoutError(f"{ep}: timed out"))
            return None
        if not self._connected(sup):
            writer.transport.abort()
            return None
        self._writer = writer
        return reader

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
            await self._wait_changed(math.inf if timeout is None else self._now() + timeout)
            return None
        try:
            return await within(reader.read(READ_CHUNK), timeout)
        except asyncio.TimeoutError:
            return b"" if reader.exception() is not None else None
        except OSError as exc:
            sup.connection_lost(self._clock(), f"read failed: {exc}")
            return None

    def _write(self, sup: Supervisor) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            sup.data_to_send()  # no connection: nothing to write them to
            return
        data = self._to_send(sup)
        if not data:
            return
        writer.write(data)
        if writer.transport.get_write_buffer_size() > MAX_BUFFERED_OUTBOUND:
            sup.connection_lost(self._clock(), f"the peer is not reading: over {MAX_BUFFERED_OUTBOUND} bytes wait")
            self._wake()

    def _abort(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.transport.abort()


class FixClient(ClientBase[AsyncSession]):
    """Kalshi FIX client for prediction (event contracts) on asyncio; sessions are `AsyncSession`."""

    PRODUCT = "prediction"
    _SESSION = AsyncSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on asyncio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
