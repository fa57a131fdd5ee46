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
    raise ImportError("the trio adapter needs trio: pip install 'kalshi-fix-sansio[trio]'") from exc

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


def _poke(sock: socket.socket) -> None:
    """End every wait on ``sock`` (ClosedResourceError): its waiters look again."""
    trio.lowlevel.notify_closing(sock)


def _close(sock: socket.socket) -> None:
    _poke(sock)
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
        tls = context.wrap_socket(
            sock, server_hostname=ep.server_hostname, do_handshake_on_connect=False
        )
        await _handshake(tls)
    except BaseException:
        _close(sock)
        raise
    return tls


class _Alarm:
    """Wakes the session's task (`AsyncSessionBase._wake` sets it): ends its nap, or makes the
    next one end at once."""

    def __init__(self) -> None:
        self.rung = False
        self.nap: trio.CancelScope | None = None  # the task's nap under way

    def set(self) -> None:
        if self.nap is None:
            self.rung = True
        else:
            self.nap.cancel()

    def sleep(self, seconds: float) -> trio.CancelScope:
        """The next nap: ``seconds`` long, over at once when rung since the last."""
        self.nap = trio.CancelScope(deadline=trio.current_time() + seconds)
        if self.rung:
            self.rung = False
            self.nap.cancel()
        return self.nap


class TrioSession(AsyncSessionBase):
    """One Kalshi FIX session over a trio-driven socket (``async with``: log on, then log out).

    Takes the arguments of `SessionBase`: ``config``, ``options``, ``on_event`` and
    ``on_reconnect`` (run in the session's task; an awaitable result is awaited), ``clock``
    (the core's; trio's own clock times the waits), ``max_queued_events``.
    """

    _kick: _Alarm

    def _setup(self) -> None:
        self._changed: trio.Event = trio.Event()
        self._kick = _Alarm()
        self._scope: trio.CancelScope | None = None
        self._done = trio.Event()
        self._stack: contextlib.AsyncExitStack | None = None
        # the connection: a non-blocking socket (an ssl.SSLSocket for TLS), written at once by
        # whoever has bytes for it; what it does not take waits in _unsent (written first, in
        # order) and the session's task writes it once the socket takes it
        self._sock: socket.socket | None = None
        self._unsent = b""
        # who reads it: the core's rule (a task that waits, else the reader task once nobody
        # has read for IDLE_HANDOFF); one at a time (trio lets one task wait per direction).
        # A read ends with bytes, or when poked (`_poke`): no cancel scope per read
        self._readers = Readers(IDLE_HANDOFF)
        self._until = math.inf  # when the waiting task's read ends (the session's task pokes it)

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
            self._flush(sup)
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
                self._until, nap = deadline, self._kick.nap
                if nap is not None and deadline < nap.deadline:
                    nap.deadline = deadline  # the session's task pokes this read then
                try:
                    await self._read_once(sup, sock)
                finally:
                    self._until = math.inf
                    if readers.release(trio.current_time()):
                        self._changed.set()  # another waiting task takes the socket
                return
            if claim == "preempt":
                _poke(sock)  # the reader task hands the socket over
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
        """Write what the core queued if the socket takes it now; wake the session's task when
        it must write the rest, the driver needs it sooner or is done with the connection."""
        self._write(sup)
        if sup.must_wake(bool(self._unsent)):
            self._kick.set()

    def _write(self, sup: Driver) -> None:
        """Write what waits, then what the core queued, without waiting (the driver judges a
        peer that does not read: `Driver.wrote`)."""
        data, sock = self._to_send(sup), self._sock
        if sock is not None:
            self._unsent = write_now(sup, sock, self._unsent, data, self._clock)

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
                while True:
                    self._write(sup)
                    await self._deliver(sup)
                    if not sup.wants_transport:
                        break
                    await self._idle(sup, sock)
                self._write(sup)
                nursery.cancel_scope.cancel()
        finally:
            if sup.wants_transport:  # cancelled from outside: log out, best effort
                sup.close(self._clock())
                self._write(sup)
            self._sock = None
            _close(sock)

    async def _idle(self, sup: Driver, sock: socket.socket) -> None:
        """Wait until kicked, the socket takes what waits for it, the driver's next deadline
        (its timers fire then) or the end of a waiting task's read (poked then)."""
        rest = sup.sleep_for(self._clock(), self._until - trio.current_time())
        with self._kick.sleep(rest):
            with contextlib.suppress(trio.ClosedResourceError):  # poked
                if self._unsent:
                    await trio.lowlevel.wait_writable(sock)
                else:
                    await trio.sleep_forever()
        self._kick.nap = None
        if self._until <= trio.current_time():
            _poke(sock)
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
                await self._read_once(sup, sock)
            finally:
                readers.release(trio.current_time())
                self._changed.set()  # a task waiting for the socket takes it

    async def _read_once(self, sup: Driver, sock: socket.socket) -> None:
        """Wait until the socket has bytes (or is poked, or closes), then feed them to the
        driver."""
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
            except trio.ClosedResourceError:
                return  # poked
            except OSError as exc:
                if sup.wants_transport and sock is self._sock:
                    sup.connection_lost(self._clock(), f"read failed: {exc!r}")
                    self._wake()
                return
            self._fed(sup, data)
            return


class FixClient(ClientBase[TrioSession], AsyncKillAll):
    """Kalshi FIX client for prediction (event contracts) on trio; sessions are `TrioSession`."""

    PRODUCT = "prediction"
    _SESSION = TrioSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on trio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
