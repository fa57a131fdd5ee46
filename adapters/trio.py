"""Trio adapter: a Kalshi FIX session in a trio program.

    from kalshi_fix_sansio.adapters.trio import FixClient

    async def main() -> None:
        async with FixClient.from_env("demo").market_data() as md:
            md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)   # no await: it queues
            async for event in md.events(timeout=30):
                print(event)

    trio.run(main)

A pump over the core's `Driver`, which makes every decision. It connects with
`trio.open_tcp_stream`, then does TLS (`ssl_context_for`) on the connected socket: a
non-blocking `ssl.SSLSocket` driven with `trio.lowlevel.wait_readable` / ``wait_writable``
(`trio.SSLStream` was measured at 1.56x the instructions and 1.4x the system calls per order:
docs/decisions.md). ``async with`` opens a nursery (or pass yours to `TrioSession.open`) for
the session's task, which connects, sleeps until the driver's next deadline, fires its timers,
finishes writes and runs ``on_event`` / ``on_reconnect``. The task that waits (`next_event`,
`wait_for`, `place`...) reads the socket itself and feeds the driver, so a report reaches it
without a task switch; a reader task per connection reads while no task waits (from
`IDLE_HANDOFF` after the last one read), so the tracker stays current. `TrioSession.send` is
synchronous: its bytes go to the socket at once (what it cannot take yet, the task writes, in
order), so a forgotten ``await`` cannot lose a message (and a wrong ``await`` fails loudly).
"""

from __future__ import annotations

import contextlib
import math
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Final

try:
    import trio
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the trio adapter needs trio: pip install 'kalshi-fix-sansio[trio]'"
    ) from exc

from kalshi_fix_sansio._callers import Readers
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

from ._async import AsyncKillAll, AsyncSessionBase
from ._base import IDLE_HANDOFF
from ._client import MAX_QUEUED_EVENTS, ClientBase
from ._sockio import write_now
from ._transport import READ_CHUNK, Endpoint, loopback_addresses

__all__ = [
    "MAX_QUEUED_EVENTS",
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
    "TrioSession",
]

EventCallback = Callable[[Event], Awaitable[None] | None]
ReconnectHook = Callable[["TrioSession"], Awaitable[None] | None]
_STREAM_ERRORS: Final = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)
_RETRY: Final = 0.001
"""Seconds before retrying a TLS call that wants the direction another task waits on (a TLS 1.2
renegotiation, a TLS 1.3 key update answer): trio lets one task wait per direction."""


def _close(sock: socket.socket) -> None:
    trio.lowlevel.notify_closing(sock)  # a task waiting on it gets ClosedResourceError
    sock.close()


async def _handshake(tls: ssl.SSLSocket) -> None:
    while True:
        try:
            tls.do_handshake()
            return
        except ssl.SSLWantReadError:
            await trio.lowlevel.wait_readable(tls)
        except ssl.SSLWantWriteError:
            await trio.lowlevel.wait_writable(tls)


async def _open(ep: Endpoint, context: ssl.SSLContext | None) -> socket.socket:
    """A connected non-blocking socket (TLS with ``context``; plain TCP only to checked
    loopback addresses)."""
    if context is None:
        rows = await trio.socket.getaddrinfo(ep.host, ep.port, type=trio.socket.SOCK_STREAM)
        tcp = await trio.open_tcp_stream(loopback_addresses(ep, rows)[0], ep.port)
    else:
        tcp = await trio.open_tcp_stream(ep.host, ep.port)
    # the connected socket (TCP_NODELAY), driven here from now on; non-blocking for Python too,
    # so that TLS raises SSLWantRead/WriteError instead of spinning
    sock = socket.socket(fileno=tcp.socket.detach())
    sock.setblocking(False)
    if context is None:
        return sock
    try:
        tls = context.wrap_socket(sock, server_hostname=ep.server_hostname, do_handshake_on_connect=False)
        await _handshake(tls)
    except BaseException:
        _close(sock)
        raise
    return tls


class TrioSession(AsyncSessionBase):
    """One Kalshi FIX session over a trio-driven socket (``async with``: log on, then log out).

    Takes the arguments of `SessionBase`: ``config``, ``options``, ``on_event`` and
    ``on_reconnect`` (run in the session's task; an awaitable result is awaited), ``clock``
    (the core's; trio's own clock times the waits), ``max_queued_events``.
    """

    def _setup(self) -> None:
        self._changed: trio.Event = trio.Event()
        self._kick: trio.Event = trio.Event()
        self._scope: trio.CancelScope | None = None
        self._done = trio.Event()
        self._stack: contextlib.AsyncExitStack | None = None
        # the connection: a non-blocking socket (an ssl.SSLSocket for TLS), written directly
        # by `send` while it takes the bytes at once; what it does not take waits in _unsent
        # and the task writes it, in order, before anything else
        self._sock: socket.socket | None = None
        self._unsent = b""
        # who reads it: the core's rule (a task that waits, else the reader task once nobody
        # has read for IDLE_HANDOFF); one at a time (trio lets one task wait per direction)
        self._readers = Readers(IDLE_HANDOFF)  # `waiting`: tasks resting in `_wait_changed`
        self._reader_scope: trio.CancelScope | None = None  # the reader task's read

    async def __aenter__(self) -> TrioSession:
        stack = contextlib.AsyncExitStack()
        nursery = await stack.enter_async_context(trio.open_nursery())
        try:
            await self.open(nursery)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def open(self, nursery: trio.Nursery) -> None:
        """Connect and log on; the session's task runs in ``nursery`` until `aclose`.

        Raises:
            LogonRefused: Kalshi refused the Logon for good (its text is in the message).
            ConnectionFailed: every attempt the backoff allows failed.
            LocalProtocolError: the endpoint is not allowed, or the session is already open.
        """
        sup, context = self._begin()
        self._done = trio.Event()
        nursery.start_soon(self._run, sup, context)
        if not await self._await_logon(sup):
            await self.aclose()
            raise self._closed_error()

    async def aclose(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        sup = self.driver
        if sup is not None:
            sup.close(self._clock())
            self._wake()
            with trio.CancelScope(shield=True):
                with trio.move_on_after(self.config.logout_timeout + 1):
                    await self._done.wait()
                if self._scope is not None:
                    self._scope.cancel()
                await self._done.wait()
        self._close_log()

    def _is_open(self) -> bool:
        return self.driver is not None and not self._done.is_set()

    def _ended(self) -> bool:
        return self.driver is None or self._done.is_set()

    def _now(self) -> float:
        return trio.current_time()

    async def _wait_changed(self, deadline: float) -> None:
        """Wait until something changes or ``deadline``: reading the socket when nobody else
        does (the report reaches the waiting task without a task switch)."""
        sup, sock, readers = self.driver, self._sock, self._readers
        if sock is not None and sup is not None and sup.wants_transport:
            claim = readers.claim(self)  # one token: no task needs to know which waiter reads
            if claim == "read":
                try:
                    with trio.move_on_at(deadline):
                        await self._read_once(sup, sock)
                finally:
                    if readers.release(trio.current_time()):
                        self._changed.set()  # another waiting task takes the socket
                return
            if claim == "preempt" and self._reader_scope is not None:
                self._reader_scope.cancel()  # the reader task hands the socket over
        changed = self._changed
        readers.enter()
        try:
            with trio.move_on_at(deadline):
                await changed.wait()
        finally:
            readers.leave()
        if self._changed is changed and changed.is_set():
            self._changed = trio.Event()

    def _flush(self, sup: Driver) -> None:
        """Write what the core queued if the socket takes it now; else leave it to the task
        (woken, as when the driver needs it sooner or is done with the connection)."""
        sock, data = self._sock, self._to_send(sup)
        if sock is not None:
            self._unsent = write_now(sup, sock, self._unsent, data, self._clock)
        if sup.must_wake(bool(self._unsent)):
            self._kick.set()

    # -- the session's task ---------------------------------------------------------------

    async def _run(self, sup: Driver, context: ssl.SSLContext | None) -> None:
        try:
            with trio.CancelScope() as self._scope:
                while (rest := sup.connect_in(self._clock())) is not None:
                    if rest:
                        await self._wait_changed(trio.current_time() + rest)
                    elif (sock := await self._connect(sup, context)) is not None:
                        await self._serve(sup, sock)
                    await self._deliver(sup)
            await self._deliver(sup)
        except Exception as exc:  # a local error (e.g. a refused address): raised to the caller
            self._crash = exc
        finally:
            self._done.set()
            self._wake()

    async def _connect(self, sup: Driver, context: ssl.SSLContext | None) -> socket.socket | None:
        try:
            with trio.fail_after(self.options.connect_timeout):
                return await _open(self.options.endpoint, context)
        except (*_STREAM_ERRORS, trio.TooSlowError) as exc:
            sup.connection_failed(self._clock(), exc)
            return None

    async def _serve(self, sup: Driver, sock: socket.socket) -> None:
        sup.connection_made(self._clock())
        self._sock, self._unsent = sock, b""
        self._readers.reset()
        self._changed.set()  # a waiting task reads it
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read, sup, sock)
                while sup.wants_transport:
                    await self._write(sup, sock)
                    await self._deliver(sup)
                    if not sup.wants_transport:
                        break
                    await self._idle(sup)
                await self._write(sup, sock)
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True, deadline=trio.current_time() + 1.0):
                if sup.wants_transport:  # cancelled from outside: log out, best effort
                    sup.close(self._clock())
                    await self._write(sup, sock)
                self._sock = None
                _close(sock)

    async def _idle(self, sup: Driver) -> None:
        """Wait until kicked or the driver's next deadline; then fire its timers when due."""
        rest = sup.sleep_for(self._clock())
        if not self._kick.is_set():
            with trio.move_on_after(rest):
                await self._kick.wait()
        self._kick = trio.Event()
        sup.woke(self._clock())

    async def _read(self, sup: Driver, sock: socket.socket) -> None:
        """The reader task: reads while no task waits (from IDLE_HANDOFF after the last one
        read), so the tracker stays current and heartbeats flow while the application is busy."""
        readers, me = self._readers, trio.lowlevel.current_task()
        while sup.wants_transport:
            rest = readers.background(trio.current_time(), me)
            if rest:
                await trio.sleep(rest)
                continue
            try:
                with trio.CancelScope() as self._reader_scope:
                    await self._read_once(sup, sock)
            finally:
                self._reader_scope = None
                readers.release(trio.current_time())
                self._changed.set()  # a task waiting for the socket takes it

    async def _read_once(self, sup: Driver, sock: socket.socket) -> None:
        """Wait until the socket has bytes (or it closes), then feed them to the driver."""
        while sup.wants_transport and sock is self._sock:
            try:
                if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                    await trio.lowlevel.wait_readable(sock)  # TLS may hold decrypted bytes
                data = sock.recv(READ_CHUNK)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue  # a partial TLS record: wait for the rest
            except ssl.SSLWantWriteError:
                await trio.sleep(_RETRY)
                continue
            except _STREAM_ERRORS as exc:
                if sup.wants_transport and sock is self._sock:
                    sup.connection_lost(self._clock(), f"read failed: {exc!r}")
                    self._wake()
                return
            self._fed(sup, data)
            return

    async def _write(self, sup: Driver, sock: socket.socket) -> None:
        """Write what waits (first) and what the core queued, waiting for the socket within
        the driver's ``write_timeout``: the driver judges a peer that does not read."""
        self._unsent += self._to_send(sup)
        if not self._unsent:
            return
        sup.write_buffered(len(self._unsent), self._clock())
        limit = math.inf if sup.write_timeout is None else sup.write_timeout
        try:
            with trio.move_on_after(limit):
                while self._unsent:
                    try:
                        sent = sock.send(self._unsent)
                    except (ssl.SSLWantWriteError, BlockingIOError):
                        await trio.lowlevel.wait_writable(sock)
                        continue
                    except ssl.SSLWantReadError:
                        await trio.sleep(_RETRY)
                        continue
                    self._unsent = self._unsent[sent:]
            if not sup.wrote(len(self._unsent), self._clock()):
                self._unsent = b""
        except _STREAM_ERRORS as exc:
            sup.connection_lost(self._clock(), f"write failed: {exc!r}")
            self._unsent = b""


class FixClient(ClientBase[TrioSession], AsyncKillAll):
    """Kalshi FIX client for prediction (event contracts) on trio; sessions are `TrioSession`."""

    PRODUCT = "prediction"
    _SESSION = TrioSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on trio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
