"""Trio adapter: a Kalshi FIX session in a trio program.

    from kalshi_fix_sansio.adapters.trio import FixClient

    async def main() -> None:
        async with FixClient.from_env("demo").market_data() as md:
            md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)   # no await: it queues
            async for event in md.events(timeout=30):
                print(event)

    trio.run(main)

The core's `Supervisor` makes every decision (reconnects, backoff, sequence resets, refused
Logons, logout on close); this module opens streams (`trio.open_tcp_stream` + `trio.SSLStream`,
TLS from `ssl_context_for`), sleeps and runs the supervisor in a nursery: ``async with`` opens
one (or pass your own to `TrioSession.open`), holding a task that connects and writes, with a
reader task per connection, so heartbeats and TestRequests flow while the application is busy.
``on_event`` / ``on_reconnect`` run in that task; an awaitable result is awaited.

`TrioSession.send` is synchronous: the core queues the bytes and the session's task writes them
at its next step, so a forgotten ``await`` cannot lose a message (and an ``await`` by mistake
fails loudly). Events wait in a queue of at most ``max_queued_events``; while it is full the
reader reads nothing (TCP pushes back on Kalshi).
"""

from __future__ import annotations

import contextlib
import math
import ssl
from collections.abc import Awaitable, Callable
from typing import Final

try:
    import trio
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the trio adapter needs trio: pip install 'kalshi-fix-sansio[trio]'"
    ) from exc

from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.supervisor import Disconnected, Reconnected, Reconnecting, Supervisor

from ._base import AsyncSessionBase
from ._client import MAX_QUEUED_EVENTS, ClientBase
from ._transport import MAX_BUFFERED_OUTBOUND, READ_CHUNK, loopback_addresses

__all__ = [
    "MAX_QUEUED_EVENTS",
    "Disconnected",
    "FixClient",
    "MarginFixClient",
    "Reconnected",
    "Reconnecting",
    "TrioSession",
]

EventCallback = Callable[[Event], Awaitable[None] | None]
ReconnectHook = Callable[["TrioSession"], Awaitable[None] | None]
_STREAM_ERRORS: Final = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class TrioSession(AsyncSessionBase):
    """One Kalshi FIX session over a trio stream (``async with``: log on, then log out).

    Takes the arguments of `SessionBase`: ``config``, ``options``, ``on_event`` and
    ``on_reconnect`` (run in the session's task; an awaitable result is awaited), ``clock``
    (the core's; trio's own clock times the waits), ``max_queued_events``.
    """

    def _setup(self) -> None:
        self._changed = trio.Event()
        self._scope: trio.CancelScope | None = None
        self._done = trio.Event()
        self._stack: contextlib.AsyncExitStack | None = None

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
        sup = self.supervisor
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
        return self.supervisor is not None and not self._done.is_set()

    def _ended(self) -> bool:
        return self.supervisor is None or self._done.is_set()

    def _now(self) -> float:
        return trio.current_time()

    async def _wait_changed(self, deadline: float) -> None:
        changed = self._changed
        with trio.move_on_at(deadline):
            await changed.wait()
        if self._changed is changed and changed.is_set():
            self._changed = trio.Event()

    def _wake(self) -> None:
        self._changed.set()

    # -- the session's task ---------------------------------------------------------------

    async def _run(self, sup: Supervisor, context: ssl.SSLContext | None) -> None:
        try:
            with trio.CancelScope() as self._scope:
                while not sup.finished:
                    at = sup.connect_at
                    if at is not None:
                        await self._wait_changed(trio.current_time() + max(at - self._clock(), 0.0))
                        if sup.connect_at is not None and self._clock() >= at:
                            stream = await self._connect(sup, context)
                            if stream is not None:
                                await self._serve(sup, stream)
                    await self._deliver(sup)
            await self._deliver(sup, force=True)
        except Exception as exc:  # a local error (e.g. a refused address): raised to the caller
            self._crash = exc
        finally:
            self._done.set()
            self._wake()

    async def _connect(self, sup: Supervisor, context: ssl.SSLContext | None) -> trio.abc.Stream | None:
        ep = self.options.endpoint
        try:
            with trio.fail_after(self.options.connect_timeout):
                if context is None:
                    rows = await trio.socket.getaddrinfo(ep.host, ep.port, type=trio.socket.SOCK_STREAM)
                    tcp = await trio.open_tcp_stream(loopback_addresses(ep, rows)[0], ep.port)
                    return tcp
                tcp = await trio.open_tcp_stream(ep.host, ep.port)
                tls = trio.SSLStream(tcp, context, server_hostname=ep.server_hostname)
                try:
                    await tls.do_handshake()
                except BaseException:
                    await trio.aclose_forcefully(tcp)
                    raise
                return tls
        except (*_STREAM_ERRORS, trio.TooSlowError) as exc:
            error = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) and exc.__cause__ else exc
            sup.connection_failed(self._clock(), error)
            return None

    async def _serve(self, sup: Supervisor, stream: trio.abc.Stream) -> None:
        sup.connection_made(self._clock())
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read, sup, stream)
                while sup.wants_transport:
                    await self._write(sup, stream)
                    await self._deliver(sup)
                    if not sup.wants_transport:
                        break
                    deadline = sup.next_deadline()
                    wake = math.inf if deadline is None else trio.current_time() + deadline - self._clock()
                    await self._wait_changed(wake)
                    sup.handle_timer(self._clock())
                await self._write(sup, stream)
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True, deadline=trio.current_time() + 1.0):
                if sup.wants_transport:  # cancelled from outside: log out, best effort
                    sup.close(self._clock())
                    await self._write(sup, stream)
                await trio.aclose_forcefully(stream)

    async def _read(self, sup: Supervisor, stream: trio.abc.Stream) -> None:
        while sup.wants_transport:
            while self._queue.full and self.on_event is None:
                await self._wait_changed(math.inf)  # back-pressure: do not read
            try:
                data = bytes(await stream.receive_some(READ_CHUNK))
            except _STREAM_ERRORS as exc:
                sup.connection_lost(self._clock(), f"read failed: {exc!r}")
                self._wake()
                return
            self._received(sup, data)
            self._wake()
            if not data:
                return

    async def _write(self, sup: Supervisor, stream: trio.abc.Stream) -> None:
        data = self._to_send(sup)
        if not data:
            return
        try:
            if len(data) > MAX_BUFFERED_OUTBOUND:
                raise trio.TooSlowError(f"over {MAX_BUFFERED_OUTBOUND} bytes wait for the peer")
            with trio.fail_after(self.options.connect_timeout):
                await stream.send_all(data)
        except (*_STREAM_ERRORS, trio.TooSlowError) as exc:
            sup.connection_lost(self._clock(), f"write failed: {exc!r}")


class FixClient(ClientBase[TrioSession]):
    """Kalshi FIX client for prediction (event contracts) on trio; sessions are `TrioSession`."""

    PRODUCT = "prediction"
    _SESSION = TrioSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on trio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
