"""asyncio adapter: a Kalshi FIX session as an async context manager.

    import asyncio

    from kalshi_fix_sansio.adapters.asyncio import FixClient

    async def main() -> None:
        client = FixClient.from_env("demo")
        async with client.market_data() as md:
            await md.send(subscribe(["HIGHNY-23DEC31"]))
            async for event in md.events(timeout=30):
                print(event)

    asyncio.run(main())

The adapter only pumps bytes between a TLS stream (`asyncio.open_connection`) and the sans-IO
`Session` and drives its timers; every protocol decision is the core's. It offers what the
blocking adapter (`kalshi_fix_sansio.adapters.blocking`) offers, with ``await``: it logs on
when entered and logs out when left (also on an exception, waiting up to the logout timeout
for Kalshi's answer), reconnects with full-jitter `Backoff` and a fresh Logon signature
(after a drop every attempt, the first included, waits its jittered delay, as `Backoff`
documents; `reconnect_plan` decides whether the new Logon resets sequence numbers), reports each
reconnect as a `Reconnected` event (the blocking adapter's class) and calls ``on_reconnect``
(e.g. to re-subscribe market data), and writes the FIX message log when one is configured.

How it runs:

* **A reader task.** Entering connects and logs on in the caller's task; then one task per
  session reads the stream, feeds `Session.receive_data`, calls `Session.handle_timer` at
  `Session.next_deadline` (heartbeats and TestRequests flow while the application is busy
  elsewhere), drains `Session.data_to_send` after every call into the core, closes the stream
  when the core says so and reconnects. ``on_event`` and ``on_reconnect`` run in that task:
  they may ``await session.send(...)`` but must not wait for events (nothing is read while
  they run).
* **Bounded memory.** Events wait in a queue of at most ``max_queued_events``
  (`MAX_QUEUED_EVENTS`, 10,000 by default). While the queue is full the reader takes no more
  events from the core and does not read the socket, so the kernel's TCP window slows the
  sender down; it resumes as the application consumes. The session's timers pause with it:
  an application that stops consuming for longer than the heartbeat timeouts can lose the
  connection (the adapter then reconnects). `AsyncSession.wait_for` leaves the events it skips
  in the queue, so if the queue fills without a match it times out. With ``on_event`` there is
  no queue: the reader waits for the callback (an ``async`` callback is awaited).
* **Writes** wait for the transport (``drain``). A peer that does not take our bytes for
  ``connect_timeout`` seconds, or more than `MAX_BUFFERED_OUTBOUND` bytes waiting, counts as a
  lost connection.
* **Sending during a reconnect** waits until the new Logon completes (or raises
  `ConnectionFailed` when every attempt failed).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeAlias

import attrs

from kalshi_fix_sansio._message import Message
from kalshi_fix_sansio._states import State
from kalshi_fix_sansio.config import SessionConfig
from kalshi_fix_sansio.errors import LocalProtocolError, RemoteProtocolError
from kalshi_fix_sansio.events import NEED_DATA, CloseTransport, Event
from kalshi_fix_sansio.session import Session

from ._client import ClientBase, ConnectOptions, check_queue_bound, current_state
from ._transport import (
    MAX_BUFFERED_OUTBOUND,
    READ_CHUNK,
    TRANSPORT_LOGGER_NAME,
    ConnectionFailed,
    Endpoint,
    TransportError,
    check_endpoint,
    in_maintenance_window,
    loopback_addresses,
    reconnect_plan,
    ssl_context_for,
)
from .blocking import Reconnected

__all__ = [
    "MAX_QUEUED_EVENTS",
    "AsyncSession",
    "EventCallback",
    "FixClient",
    "MarginFixClient",
    "ReconnectHook",
    "Reconnected",
]

MAX_QUEUED_EVENTS: Final = 10_000
"""Default bound of an `AsyncSession`'s event queue; reading pauses while it is full."""

_CLOSE_WAIT: Final = 1.0  # seconds a graceful TLS close may take before the stream is aborted

EventCallback: TypeAlias = Callable[[Event], Awaitable[None] | None]
"""``on_event``: called with every event (in the reader task); an awaitable result is awaited."""

ReconnectHook: TypeAlias = Callable[["AsyncSession"], Awaitable[None] | None]
"""``on_reconnect``: called after each reconnect and Logon; an awaitable result is awaited."""

_log = logging.getLogger(TRANSPORT_LOGGER_NAME)


@attrs.frozen(slots=True)
class _Ended:
    """Why the core ended a connection (from `CloseTransport` or `RemoteProtocolError`)."""

    reconnect: bool
    reset: bool
    reason: str


async def _open_loopback(
    endpoint: Endpoint,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Plain TCP: resolve, refuse unless every address is loopback, connect to those only."""
    loop = asyncio.get_running_loop()
    rows = await loop.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    last: OSError | None = None
    for address in loopback_addresses(endpoint, rows):
        try:
            return await asyncio.open_connection(address, endpoint.port, limit=READ_CHUNK)
        except OSError as exc:
            last = exc
    assert last is not None  # loopback_addresses returns at least one address
    raise last


class AsyncSession:
    """One Kalshi FIX session over an asyncio TLS stream.

    Use it as an async context manager: entering connects and logs on, leaving logs out.

    Args:
        config: the session config (initiator).
        options: endpoint, TLS, backoff and reconnect options.
        on_event: optional callback receiving every event (then `events()` yields nothing);
            it may be a coroutine function.
        on_reconnect: called (or awaited) after each reconnect and Logon, e.g. to re-subscribe
            market data; it may ``await send(...)`` but must not wait for events.
        clock: the time source (UTC seconds); tests may pass their own.
        max_queued_events: most events queued for the application before reading pauses.

    Raises:
        LocalProtocolError: ``max_queued_events`` is below 1.
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
        check_queue_bound(max_queued_events)
        self.config = config
        self.options = options
        self.on_event = on_event
        self.on_reconnect = on_reconnect
        self.max_queued_events = max_queued_events
        self._clock = clock
        self.session: Session | None = None
        self.connections = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ssl: ssl.SSLContext | None = None
        self._backoff = attrs.evolve(options.backoff)
        self._events: collections.deque[Event] = collections.deque()
        self._task: asyncio.Task[None] | None = None
        self._failure: Exception | None = None
        self._end_reason: str | None = None
        self._opened = False
        self._finished = False
        self._closing = False
        self._reconnecting = False
        self._popped = 0  # events taken from the front of the queue
        self._edits = 0  # events taken from elsewhere (wait_for)
        self._changed = asyncio.Event()  # new events or a new state
        self._room = asyncio.Event()  # the consumer took events (or we are closing)
        self._write_lock = asyncio.Lock()

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncSession:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect and log on (retrying with backoff), then start the reader task.

        Raises:
            ConnectionFailed: every attempt failed, or Kalshi refused the Logon each time.
            LocalProtocolError: the endpoint is not allowed (plain TCP off loopback, unlisted
                host), or the session is already open.
        """
        if self._opened and not self._finished:
            raise LocalProtocolError("the session is already open: leave it before entering again")
        options = self.options
        check_endpoint(options.endpoint, allow_unlisted_hosts=options.allow_unlisted_hosts)
        self._ssl = ssl_context_for(options.endpoint, options.ssl_context)
        # our own copy: a client hands the same Backoff to all its sessions
        self._backoff = attrs.evolve(options.backoff)
        self._changed = asyncio.Event()
        self._room = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._failure = None
        self._end_reason = None
        self._closing = self._reconnecting = self._finished = False
        self._opened = True
        try:
            await self._connect(reset=False, first=True)
        except BaseException:
            self._finished = True
            self.session = None
            self._abort_transport()
            raise
        name = f"kalshi-fix {self.config.product}/{self.config.session_type} reader"
        self._task = asyncio.create_task(self._read_loop(), name=name)

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout for Kalshi's answer) and close.

        Never raises for a connection that is already gone; events still queued stay
        readable with `next_event`.
        """
        self._closing = True
        self._room.set()
        self._wake()
        await self._close_session()

    async def _close_session(self) -> None:
        task = self._task
        current = asyncio.current_task()
        session = self.session
        try:
            if (
                session is not None
                and task is not None
                and not task.done()
                and not self._reconnecting
                and current_state(session) in (State.ACTIVE, State.LOGON_SENT)
            ):
                try:
                    session.logout(self._clock())
                    await self._flush()
                except (LocalProtocolError, TransportError):
                    pass
                if task is current:
                    return  # called from a callback: the reader ends once Kalshi answers
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(
                        asyncio.shield(task), self.config.logout_timeout + _CLOSE_WAIT
                    )
        finally:
            if task is not current:
                if task is not None:
                    if not task.done():
                        task.cancel()
                    await asyncio.wait([task])
                    self._task = None
                await self._close_transport()
                self.session = None
                self._finished = True
                self._wake()
                if self.options.message_log is not None:
                    self.options.message_log.close()

    # -- use ----------------------------------------------------------------------------

    async def send(self, message: Message) -> int:
        """Send an application message (waiting for a reconnect in progress to log on).

        Args:
            message: a message of the session's dialect.

        Returns:
            Its MsgSeqNum.

        Raises:
            LocalProtocolError: not connected or not logged on, or a message the session type
                does not carry.
            EncodeError: a missing field or a value the wire cannot carry.
            ConnectionFailed: the connection dropped and could not be re-established.
            TransportError: the connection is gone (on KalshiRT the message stays in the store
                and is resent if Kalshi asks for it after the reconnect).
        """
        while True:
            self._check_alive(what="send")
            session = self.session
            if session is not None and (
                asyncio.current_task() is self._task  # a callback: never wait for ourselves
                or (not self._reconnecting and current_state(session) is not State.CLOSED)
            ):
                break
            await self._wait_changed(None)  # the connection ended: a reconnect may follow
        seq = session.send(message, self._clock())
        await self._flush(strict=True)
        return seq

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: forever).

        Args:
            timeout: seconds to wait; None waits until an event comes or the session ends.

        Returns:
            The event, or None when the timeout passed.

        Raises:
            ConnectionFailed: the connection dropped and could not be re-established (after
                the events queued before that were returned).
            TransportError: the session is closed and no event is left.
            LocalProtocolError: the session was never opened.
        """
        deadline = None if timeout is None else self._clock() + timeout
        while not self._events:
            remaining = None if deadline is None else deadline - self._clock()
            if remaining is not None and remaining <= 0:
                return None
            self._check_alive(what="read events")
            await self._wait_changed(remaining)
        event = self._events.popleft()
        self._popped += 1
        self._room.set()
        return event

    async def events(self, timeout: float | None = None) -> AsyncIterator[Event]:
        """Iterate events until ``timeout`` seconds pass with none (None: forever).

        Args:
            timeout: seconds of silence that end the iteration.

        Yields:
            Events (application messages, rejects, reconnects...).

        Raises:
            ConnectionFailed: as `next_event`.
            TransportError: as `next_event`.
        """
        while True:
            event = await self.next_event(timeout)
            if event is None:
                return
            yield event

    def __aiter__(self) -> AsyncIterator[Event]:
        """``async for event in session``: `events()` without a timeout.

        Returns:
            The iterator.
        """
        return self.events()

    async def wait_for(
        self,
        predicate: Callable[[Event], bool],
        timeout: float,
        send: Message | None = None,
    ) -> Event:
        """Optionally send a message, then wait until an event satisfies ``predicate``.

        Events seen meanwhile are not lost: they stay queued for `events()` in order.

        Args:
            predicate: tests each event.
            timeout: seconds to wait.
            send: a message to send first.

        Returns:
            The first event satisfying the predicate (taken out of the queue).

        Raises:
            TimeoutError: none did in time.
            ConnectionFailed: the connection dropped and could not be re-established.
            TransportError: the session closed without a matching event.
        """
        if send is not None:
            await self.send(send)
        deadline = self._clock() + timeout
        index = 0
        popped, edits = self._popped, self._edits
        while True:
            if self._edits != edits:  # another waiter took an event from the middle
                index, edits = 0, self._edits
            else:
                index = max(index - (self._popped - popped), 0)
            popped = self._popped
            queue = self._events
            while index < len(queue):
                event = queue[index]
                if predicate(event):
                    del queue[index]
                    self._edits += 1
                    edits = self._edits
                    self._room.set()
                    return event
                index += 1
            self._check_alive(what="wait for events")
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise TimeoutError(f"no matching event within {timeout:g} s")
            await self._wait_changed(remaining)

    async def run(self, until: Callable[[], bool] | None = None) -> None:
        """Wait until ``until()`` is true or the session ends (for ``on_event`` users).

        ``until`` is checked after every event and at least once a second.

        Args:
            until: the stop condition (None: run until the session ends).

        Raises:
            ConnectionFailed: the connection dropped and could not be re-established.
            LocalProtocolError: the session was never opened.
        """
        while until is None or not until():
            if self._failure is not None:
                raise self._failure
            if not self._opened:
                raise LocalProtocolError("not connected: use the session in `async with` first")
            if self._finished:
                return
            await self._wait_changed(1.0)

    @property
    def queued_events(self) -> int:
        """How many events wait in the queue."""
        return len(self._events)

    # -- internals: the reader ------------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            while True:
                ended: _Ended | None = None
                while ended is None:
                    ended = await self._step(None, during_logon=False)
                self._reconnecting = ended.reconnect and self.options.reconnect
                await self._close_transport()
                if self._closing or not self._reconnecting:
                    self._end_reason = ended.reason
                    return
                plan = reconnect_plan(
                    self.config,
                    after_gap_teardown=ended.reset,
                    after_maintenance=in_maintenance_window(self._clock()),
                    maintenance_reset=self.options.maintenance_reset,
                )
                _log.info("%s: %s; reconnecting (%s)", self._name, ended.reason, plan.reason)
                self._wake()
                cause = TransportError(ended.reason)
                await self._connect(reset=plan.reset_seq_nums, first=False, cause=cause)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failure = exc
            self._abort_transport()
        finally:
            self._reconnecting = False
            self._finished = True
            self.session = None
            self._wake()

    async def _connect(
        self, *, reset: bool, first: bool, cause: BaseException | None = None
    ) -> None:
        """Connect and log on; the first connection tries at once, a reconnect waits first.

        Every retry (and a reconnect's first attempt) waits the next full-jitter delay of the
        backoff, so clients dropped together spread apart.
        """
        options = self.options
        backoff = self._backoff
        backoff.reset()
        attempts = 0
        last = cause
        while True:
            if attempts or not first:
                delay = backoff.next_delay() if options.reconnect or first else None
                if delay is None:
                    raise ConnectionFailed.for_endpoint(
                        options.endpoint, attempts=attempts, last_error=last
                    ) from last
                await asyncio.sleep(delay)
            attempts += 1
            try:
                await self._connect_once(reset)
            except (OSError, asyncio.TimeoutError, TransportError, RemoteProtocolError) as exc:
                self._abort_transport()
                _log.info("%s: connection attempt %d failed: %r", self._name, attempts, exc)
                last = exc
                continue
            self.connections += 1
            self._reconnecting = False
            self._wake()
            if not first:
                await self._emit(Reconnected(attempts, reset))
                if self.on_reconnect is not None:
                    result = self.on_reconnect(self)
                    if inspect.isawaitable(result):
                        await result
            return

    async def _connect_once(self, reset: bool) -> None:
        endpoint = self.options.endpoint
        timeout = self.options.connect_timeout
        context = self._ssl if endpoint.tls else None  # set by open(): TLS endpoints get TLS
        if endpoint.tls and context is None:
            context = self._ssl = ssl_context_for(endpoint, self.options.ssl_context)
        if context is not None:
            opening = asyncio.open_connection(
                endpoint.host,
                endpoint.port,
                ssl=context,
                server_hostname=endpoint.server_hostname,
                ssl_handshake_timeout=timeout,
                limit=READ_CHUNK,
            )
        else:
            opening = _open_loopback(endpoint)
        self._reader, self._writer = await asyncio.wait_for(opening, timeout)
        config = self.config
        if reset and not config.resets_on_logon:
            config = attrs.evolve(config, reset_seq_num=True)
        session = Session(config)
        self.session = session
        session.start(self._clock())
        await self._flush()
        while current_state(session) is not State.ACTIVE:
            ended = await self._step(None, during_logon=True)
            if ended is not None:
                raise TransportError(ended.reason)

    async def _step(self, deadline: float | None, *, during_logon: bool) -> _Ended | None:
        """Read once (until data, a session timer or ``deadline``), process, write."""
        session = self.session
        reader = self._reader
        if session is None or reader is None:
            raise TransportError("the session is closed")
        now = self._clock()
        waits = [d for d in (session.next_deadline(), deadline) if d is not None]
        timeout = max(min(waits) - now, 0.0) if waits else None
        data = await _read(reader, timeout)
        now = self._clock()
        if data is not None:
            log = self.options.message_log
            if log is not None and data:
                log.received(data, now)
            session.receive_data(data, now)
        session.handle_timer(now)
        return await self._process(session, during_logon=during_logon)

    async def _process(self, session: Session, *, during_logon: bool) -> _Ended | None:
        """Take the core's events (pausing while the queue is full), then write its bytes."""
        ended: _Ended | None = None
        try:
            while ended is None:
                if not during_logon:
                    await self._wait_for_room()
                event = session.next_event()
                if event is NEED_DATA:
                    break
                if isinstance(event, CloseTransport):
                    ended = _Ended(event.reconnect, event.reset_seq_nums, event.reason)
                await self._emit(event)
        except RemoteProtocolError as exc:
            ended = _Ended(exc.reconnect, exc.reset_seq_nums, str(exc))
        await self._flush()
        return ended

    async def _wait_for_room(self) -> None:
        if self.on_event is not None:
            return
        while len(self._events) >= self.max_queued_events and not self._closing:
            await self._flush()  # answers already decided go out before we pause
            self._room.clear()
            if len(self._events) < self.max_queued_events or self._closing:
                return
            await self._room.wait()

    async def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            result = self.on_event(event)
            if inspect.isawaitable(result):
                await result
        else:
            self._events.append(event)
        self._wake()

    # -- internals: the transport ---------------------------------------------------------

    async def _flush(self, *, strict: bool = False) -> None:
        session = self.session
        if session is None:
            return
        data = session.data_to_send()
        if not data:
            return
        writer = self._writer
        if writer is None or writer.is_closing():
            if strict:
                raise TransportError("the connection is gone: the message was not written")
            return
        log = self.options.message_log
        if log is not None:
            log.sent(data, self._clock())
        try:
            writer.write(data)
            if writer.transport.get_write_buffer_size() > MAX_BUFFERED_OUTBOUND:
                raise TransportError(
                    f"the peer is not reading: over {MAX_BUFFERED_OUTBOUND} bytes are waiting"
                )
            async with self._write_lock:
                await asyncio.wait_for(writer.drain(), self.options.connect_timeout)
        except (OSError, asyncio.TimeoutError, TransportError) as exc:
            writer.transport.abort()  # the reader sees the end of the stream and reconnects
            if strict:
                detail = str(exc) or type(exc).__name__
                raise TransportError(f"connection lost while sending: {detail}") from exc

    async def _close_transport(self) -> None:
        writer = self._writer
        self._reader = self._writer = None
        if writer is None:
            return
        try:
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), _CLOSE_WAIT)
        except asyncio.CancelledError:
            writer.transport.abort()
            raise
        except Exception:  # a timeout, or the error the connection died of
            writer.transport.abort()

    def _abort_transport(self) -> None:
        writer = self._writer
        self._reader = self._writer = None
        if writer is not None:
            writer.transport.abort()

    # -- internals: waiting -----------------------------------------------------------------

    def _wake(self) -> None:
        self._changed.set()

    async def _wait_changed(self, timeout: float | None) -> None:
        self._changed.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def _check_alive(self, *, what: str) -> None:
        if self._failure is not None:
            raise self._failure
        if not self._opened:
            raise LocalProtocolError(
                f"cannot {what}: not connected; use the session in `async with` first"
            )
        if self._finished:
            reason = f" ({self._end_reason})" if self._end_reason else ""
            raise TransportError(f"the session is closed{reason}")

    @property
    def _name(self) -> str:
        return f"{self.config.product}/{self.config.session_type}"


async def _read(reader: asyncio.StreamReader, timeout: float | None) -> bytes | None:
    """One read: bytes, ``b""`` at the end of the stream, None when ``timeout`` passed."""
    if timeout is not None and timeout <= 0:
        return None
    try:
        return await asyncio.wait_for(reader.read(READ_CHUNK), timeout)
    except asyncio.TimeoutError:
        # the stream's own error may be a TimeoutError too (ETIMEDOUT): that is the end
        return b"" if reader.exception() is not None else None
    except OSError:
        return b""


class FixClient(ClientBase[AsyncSession]):
    """Kalshi FIX client for prediction (event contracts), asyncio streams.

    Factories: `order_entry`, `drop_copy`, `market_data`, `post_trade`, `rfq`, `session`; each
    returns an `AsyncSession` to use with ``async with``.
    """

    PRODUCT = "prediction"

    def _make(
        self, config: SessionConfig, options: ConnectOptions, **session_options: Any
    ) -> AsyncSession:
        return AsyncSession(config, options, **session_options)


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps), asyncio streams (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
