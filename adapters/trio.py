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
import inspect
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

try:
    import trio
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the trio adapter needs trio: pip install 'kalshi-fix-sansio[trio]'"
    ) from exc

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


class TrioSession:
    """One Kalshi FIX session over a trio stream (``async with``: log on, then log out).

    Args:
        config: the session config (initiator).
        options: endpoint, TLS, backoff and reconnect options.
        on_event: receives every event instead of the queue (plain or async).
        on_reconnect: called (or awaited) after each reconnect, e.g. to re-subscribe.
        clock: UTC epoch seconds for the core (trio's own clock times the waits).
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
        self._changed = trio.Event()
        self._scope: trio.CancelScope | None = None
        self._done = trio.Event()
        self._stack: contextlib.AsyncExitStack | None = None
        self._crash: Exception | None = None
        self._name = f"{config.product}/{config.session_type}"

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
        if self.supervisor is not None and not self._done.is_set():
            raise LocalProtocolError("the session is already open: close it first")
        check_endpoint(self.options.endpoint, allow_unlisted_hosts=self.options.allow_unlisted_hosts)
        context = ssl_context_for(self.options.endpoint, self.options.ssl_context)
        if self.options.message_log is not None:
            self.options.message_log.open()
        sup = self.supervisor = new_supervisor(self.config, self.options)
        self._done, self._crash = trio.Event(), None
        sup.start(self._clock())
        nursery.start_soon(self._run, sup, context)
        while sup.state is not SupervisorState.ACTIVE and not self._done.is_set():
            await self._wait_changed(math.inf)
        if sup.state is not SupervisorState.ACTIVE:
            await self.aclose()
            raise closed_error(sup, self._crash)

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
        if self.options.message_log is not None:
            self.options.message_log.close()

    def send(self, message: Message, *, resubscribe: bool = False) -> int:
        """Send an application message (synchronous: the session's task writes it).

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
        self._wake()
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
        self, predicate: Callable[[Event], bool], timeout: float | None, send: Message | None = None
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

    async def run(self, until: Callable[[], bool] | None = None) -> None:
        """Wait until ``until()`` is true or the session ends (for ``on_event`` users).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session failed.
        """
        sup = self.supervisor
        while sup is not None and not self._done.is_set() and (until is None or not until()):
            await self._wait_changed(math.inf)
        if sup is None or sup.failure is not None or self._crash is not None:
            raise closed_error(sup, self._crash)

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

    async def _wait(self, predicate: Callable[[Event], bool], timeout: float | None) -> Event | None:
        deadline = trio.current_time() + (math.inf if timeout is None else timeout)
        while (event := self._queue.take(predicate)) is None:
            if trio.current_time() >= deadline:
                return None
            if self.supervisor is None or self._done.is_set():
                raise closed_error(self.supervisor, self._crash)
            await self._wait_changed(deadline)
        self._wake()  # room in the queue: the reader may read again
        return event

    # -- the session's task ---------------------------------------------------------------

    async def _run(self, sup: Supervisor, context: Any) -> None:
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

    async def _connect(self, sup: Supervisor, context: Any) -> trio.abc.Stream | None:
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
            now = self._clock()
            if data and self.options.message_log is not None:
                self.options.message_log.received(data, now)
            sup.receive_data(data, now)
            self._wake()
            if not data:
                return

    async def _write(self, sup: Supervisor, stream: trio.abc.Stream) -> None:
        data = sup.data_to_send()
        if not data:
            return
        if self.options.message_log is not None:
            self.options.message_log.sent(data, self._clock())
        try:
            if len(data) > MAX_BUFFERED_OUTBOUND:
                raise trio.TooSlowError(f"over {MAX_BUFFERED_OUTBOUND} bytes wait for the peer")
            with trio.fail_after(self.options.connect_timeout):
                await stream.send_all(data)
        except (*_STREAM_ERRORS, trio.TooSlowError) as exc:
            sup.connection_lost(self._clock(), f"write failed: {exc!r}")

    async def _deliver(self, sup: Supervisor, *, force: bool = False) -> None:
        room = force or self.on_event is not None
        while (room or not self._queue.full) and (event := sup.next_event()):
            log_event(self._name, event)
            if self.on_event is not None:
                await _maybe_await(self.on_event(event))
            else:
                self._queue.put(event)
            self._wake()
            if isinstance(event, Reconnected) and self.on_reconnect is not None:
                await _maybe_await(self.on_reconnect(self))

    def _wake(self) -> None:
        self._changed.set()

    async def _wait_changed(self, deadline: float) -> None:
        """Wait until something changes or trio's clock reaches ``deadline``."""
        changed = self._changed
        with trio.move_on_at(deadline):
            await changed.wait()
        if self._changed is changed and changed.is_set():
            self._changed = trio.Event()


async def _maybe_await(result: object) -> None:
    if inspect.isawaitable(result):
        await result


class FixClient(ClientBase[TrioSession]):
    """Kalshi FIX client for prediction (event contracts) on trio; sessions are `TrioSession`."""

    PRODUCT = "prediction"

    def _make(self, config: SessionConfig, options: ConnectOptions, **session_options: Any) -> TrioSession:
        return TrioSession(config, options, **session_options)


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on trio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
