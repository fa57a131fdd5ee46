"""Trio adapter: a Kalshi FIX session in a trio program.

    import trio
    from kalshi_fix_sansio.adapters.trio import FixClient

    async def main() -> None:
        client = FixClient.from_env("demo")
        async with client.market_data() as md:
            await md.send(subscribe(["HIGHNY-23DEC31"]))
            async for event in md.events(timeout=30):
                print(event)

    trio.run(main)

The adapter only pumps bytes between a TLS stream (`trio.open_tcp_stream` + `trio.SSLStream`)
and the sans-IO `Session` and drives its timers; every protocol decision is the core's. It
offers the behaviour and API of `kalshi_fix_sansio.adapters.blocking`, with ``await``:

* entering ``async with`` connects and logs on (retrying with full-jitter `Backoff`); leaving it
  logs out, also on an exception or a cancellation (the logout runs in a shielded cancel scope
  bounded by the session's ``logout_timeout``);
* a dropped connection is re-established with a fresh Logon (a new signature), sequence numbers
  reset or kept as `reconnect_plan` reads the session type's rules, and a `Reconnected` event
  (the blocking adapter's class) is emitted; when the backoff runs out, `ConnectionFailed`.
  As `Backoff` documents, the first attempt after a drop already waits one jittered delay (so
  clients dropped together do not return together); each session uses its own copy of the
  client's `Backoff`. A reconnect interrupted by a cancellation starts again on the next pump;
* `TrioSession.send` waits while a reconnect is under way; after a write failure it raises
  `TransportError` and the next pump reconnects;
* **pump on demand**, like the blocking adapter: there is no background task. Bytes are read,
  timers (heartbeats, TestRequests, timeouts) fired and answers written while a task awaits
  `TrioSession.next_event`, `TrioSession.events`, `TrioSession.wait_for` or `TrioSession.run`.
  Keep one of them running (at least once per heartbeat interval), e.g. in its own task of a
  nursery, or the peer will time the session out. `TrioSession.send` may be called from other
  tasks at the same time (writes are serialised by a lock; reads by another).

Time: the core wants UTC epoch seconds (``time.time()``); trio's clock is monotonic. The adapter
converts each of the core's absolute deadlines into a relative wait on trio's clock (so user
timeouts follow trio's clock, the session's timers the wall clock).

Back-pressure: events wait in a bounded queue (`MAX_QUEUED_EVENTS` by default). While it is
full the adapter neither parses further frames nor reads the socket (what was read stays in the
session's framer: at most one `READ_CHUNK`), so TCP flow control pushes back on Kalshi. Outbound,
more than `MAX_BUFFERED_OUTBOUND` bytes waiting for a stream that does not take them raise
`TransportError`, as do writes that do not complete within ``connect_timeout``.
"""

from __future__ import annotations

import collections
import inspect
import logging
import math
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import attrs
import trio

from kalshi_fix_sansio._message import Message
from kalshi_fix_sansio._states import State
from kalshi_fix_sansio.config import SessionConfig
from kalshi_fix_sansio.errors import LocalProtocolError, RemoteProtocolError
from kalshi_fix_sansio.events import NEED_DATA, CloseTransport, Event, LoggedOn
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

__all__ = ["MAX_QUEUED_EVENTS", "FixClient", "MarginFixClient", "Reconnected", "TrioSession"]

MAX_QUEUED_EVENTS: Final = 1024
"""Default bound of a session's event queue: while this many events wait, nothing is read."""

_CLOSE_TIMEOUT: Final = 1.0  # seconds for a TLS close_notify before the socket is just closed

_log = logging.getLogger(TRANSPORT_LOGGER_NAME)

EventCallback = Callable[[Event], Awaitable[None] | None]
ReconnectHook = Callable[["TrioSession"], Awaitable[None] | None]

# what a broken or closed connection raises under trio
_STREAM_ERRORS: Final = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


async def _open_loopback(endpoint: Endpoint) -> trio.SocketStream:
    """Plain TCP: resolve, refuse unless every address is loopback, connect to those only."""
    rows = await trio.socket.getaddrinfo(endpoint.host, endpoint.port, type=trio.socket.SOCK_STREAM)
    last: OSError | None = None
    for address in loopback_addresses(endpoint, rows):
        try:
            return await trio.open_tcp_stream(address, endpoint.port)
        except OSError as exc:
            last = exc
    assert last is not None  # loopback_addresses returns at least one address
    raise last


class TrioSession:
    """One Kalshi FIX session over a trio TLS stream.

    Use it as an async context manager: it logs on when entered and logs out when left.

    Args:
        config: the session config (initiator).
        options: endpoint, TLS, backoff and reconnect options (the session draws its delays
            from its own copy of ``options.backoff``, kept as ``backoff``).
        on_event: optional callback (plain or async) receiving every event; then
            `next_event` / `events` yield nothing and `run` drives the session. It must not
            call `next_event`, `wait_for`, `run` or `aclose` itself.
        on_reconnect: called (plain or async) after each reconnect + logon, e.g. to
            re-subscribe market data; it may ``await session.send(...)``.
        clock: the time source given to the core (UTC epoch seconds); tests may pass their own.
        max_queued_events: bound of the event queue (see the module's back-pressure notes).

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
        # a copy: `ClientBase` hands one Backoff to every session of a client, and sessions
        # reconnecting at the same time must not reset or use up each other's retries
        self.backoff = attrs.evolve(options.backoff)
        self._clock = clock
        self._stream: trio.abc.Stream | None = None
        self._ssl: ssl.SSLContext | None = None
        self.session: Session | None = None
        self._events: collections.deque[Event] = collections.deque()
        self._backlog = False  # the session holds frames not yet turned into events
        self._outbound = bytearray()
        self._send_lock = trio.Lock()
        self._pump_lock = trio.Lock()
        self._connecting = False
        self._ready = trio.Event()
        self._interrupted: bool | None = None  # a reconnect was cancelled: its reset flag
        self._closing = False
        self._logged_on = False
        self.connections = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> TrioSession:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Connect and log on (retrying with backoff).

        Raises:
            ConnectionFailed: every attempt failed, or Kalshi refused the Logon each time.
            LocalProtocolError: the endpoint is not allowed (plain TCP off loopback, unlisted
                host).
        """
        check_endpoint(
            self.options.endpoint, allow_unlisted_hosts=self.options.allow_unlisted_hosts
        )
        # the one place that picks TLS: a TLS endpoint always gets a context (warns if weak)
        self._ssl = ssl_context_for(self.options.endpoint, self.options.ssl_context)
        self._closing = False
        try:
            async with self._pump_lock:
                await self._connect(reset=False, first=True)
        except BaseException:
            await self._close_stream()
            raise

    async def aclose(self) -> None:
        """Log out (waiting up to the logout timeout for Kalshi's answer) and close.

        Runs shielded from cancellation, so it completes (within ``logout_timeout``) even
        when the surrounding scope was cancelled.
        """
        self._closing = True
        self._interrupted = None
        with trio.CancelScope(shield=True):
            session = self.session
            if (
                session is not None
                and self._stream is not None
                and session.state in (State.ACTIVE, State.LOGON_SENT)
            ):
                with trio.move_on_after(self.config.logout_timeout + _CLOSE_TIMEOUT):
                    try:
                        session.logout(self._clock())
                        await self._flush()
                        await self._await_logout(session)
                    except (
                        *_STREAM_ERRORS,
                        TransportError,
                        RemoteProtocolError,
                        LocalProtocolError,
                    ):
                        pass
            await self._close_stream()
            self.session = None
            self._ready.set()
            if self.options.message_log is not None:
                self.options.message_log.close()

    async def _await_logout(self, session: Session) -> None:
        deadline = trio.current_time() + self.config.logout_timeout
        while current_state(session) is State.LOGOUT_SENT and self.session is session:
            if trio.current_time() >= deadline:
                return
            try:
                self._pump_lock.acquire_nowait()
            except trio.WouldBlock:
                # another task is pumping: it will see Kalshi's Logout
                await trio.sleep(0.01)
                continue
            try:
                await self._pump_locked(deadline)
            finally:
                self._pump_lock.release()

    # -- use ----------------------------------------------------------------------------

    @property
    def queued_events(self) -> int:
        """How many events wait in the queue (at most about ``max_queued_events``)."""
        return len(self._events)

    async def send(self, message: Message) -> int:
        """Send an application message.

        While a reconnect is under way this waits until it completed (or failed).

        Args:
            message: a message of the session's dialect.

        Returns:
            Its MsgSeqNum.

        Raises:
            LocalProtocolError: not logged on, or a message the session type does not carry.
            EncodeError: a missing field or a value the wire cannot carry.
            TransportError: the connection is gone (or more than `MAX_BUFFERED_OUTBOUND`
                bytes wait for a peer that does not read).
        """
        if self._connecting and (self.session is None or self.session.state is not State.ACTIVE):
            await self._ready.wait()
        session = self.session
        if session is None:
            if self.connections:
                raise TransportError("the session is closed")
            raise LocalProtocolError(
                "not connected: use the session as an async context manager first"
            )
        seq = session.send(message, self._clock())
        await self._flush()
        return seq

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: forever).

        Returns:
            The event, or None when the timeout passed.

        Raises:
            ConnectionFailed: the connection dropped and could not be re-established.
            TransportError: the session is closed.
        """
        deadline = math.inf if timeout is None else trio.current_time() + timeout
        while not self._events:
            if trio.current_time() >= deadline:
                await trio.lowlevel.checkpoint()
                return None
            async with self._pump_lock:
                if self._events:
                    break
                await self._pump_locked(deadline)
        return self._events.popleft()

    def events(self, timeout: float | None = None) -> _EventIterator:
        """Iterate events until ``timeout`` seconds pass with none (None: forever).

        Use as ``async for event in session.events(timeout=30):``. ``async for event in
        session`` is the same with no timeout.

        Returns:
            An async iterator of events (application messages, rejects, reconnects...).
        """
        return _EventIterator(self, timeout)

    def __aiter__(self) -> _EventIterator:
        return _EventIterator(self, None)

    async def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float, send: Message | None = None
    ) -> Event:
        """Optionally send a message, then wait until an event satisfies ``predicate``.

        Events seen meanwhile are not lost: they stay queued for `events()` in order.

        Args:
            predicate: tests each event.
            timeout: seconds to wait.
            send: a message to send first.

        Returns:
            The first event satisfying the predicate.

        Raises:
            TimeoutError: none did in time.
        """
        if send is not None:
            await self.send(send)
        deadline = trio.current_time() + timeout
        seen: list[Event] = []
        try:
            while True:
                remaining = deadline - trio.current_time()
                event = await self.next_event(remaining) if remaining > 0 else None
                if event is None:
                    raise TimeoutError(f"no matching event within {timeout:g} s")
                if predicate(event):
                    return event
                seen.append(event)
        finally:
            self._events.extendleft(reversed(seen))

    async def run(self, until: Callable[[], bool] | None = None) -> None:
        """Pump until ``until()`` is true or the session ends (for callback users).

        Meant for use with ``on_event``; without it events collect in the bounded queue and,
        once it is full, nothing more is read.
        """
        while (self.session is not None or self._interrupted is not None) and (
            until is None or not until()
        ):
            async with self._pump_lock:
                await self._pump_locked(trio.current_time() + 1.0)

    # -- internals ------------------------------------------------------------------------

    async def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            result = self.on_event(event)
            if inspect.isawaitable(result):
                await result
        else:
            self._events.append(event)

    async def _connect(self, *, reset: bool, first: bool) -> None:
        """Connect and log on, retrying with backoff (the caller holds the pump lock)."""
        self.backoff.reset()
        self._connecting = True
        if self._ready.is_set():
            self._ready = trio.Event()
        try:
            attempts = await self._attempts(reset, first)
        except trio.Cancelled:
            await self._close_stream()
            self.session = None
            if not first and not self._closing:
                self._interrupted = reset  # the next pump starts the reconnect again
            raise
        except BaseException:
            await self._close_stream()
            self.session = None
            self._interrupted = None
            raise
        finally:
            self._connecting = False
            self._ready.set()
        self._interrupted = None
        self.connections += 1
        _log.info(
            "%s: logged on to %s (attempt %d)",
            self.options.endpoint,
            self.config.session_type,
            attempts,
        )
        if not first:
            await self._emit(Reconnected(attempts, reset))
            if self.on_reconnect is not None:
                result = self.on_reconnect(self)
                if inspect.isawaitable(result):
                    await result

    async def _attempts(self, reset: bool, first: bool) -> int:
        """Try until one connection logs on; returns how many attempts it took."""
        options = self.options
        attempts = 0
        if not first:
            # a dropped connection: wait a jittered delay first, so that the clients Kalshi
            # dropped together (maintenance) do not all come back at the same moment
            await self._backoff_or_fail(attempts, None, first=False)
        while True:
            attempts += 1
            try:
                await self._connect_once(reset)
            except (*_STREAM_ERRORS, TransportError, RemoteProtocolError) as exc:
                await self._close_stream()
                _log.warning(
                    "%s: connection attempt %d failed: %s: %s",
                    options.endpoint,
                    attempts,
                    type(exc).__name__,
                    exc,
                )
                await self._backoff_or_fail(attempts, exc, first=first)
                continue
            return attempts

    async def _backoff_or_fail(
        self, attempts: int, exc: BaseException | None, *, first: bool
    ) -> None:
        options = self.options
        delay = None
        if not self._closing and (options.reconnect or first):
            delay = self.backoff.next_delay()
        if delay is None:
            raise ConnectionFailed.for_endpoint(
                options.endpoint, attempts=attempts, last_error=exc
            ) from exc
        await trio.sleep(delay)

    async def _connect_once(self, reset: bool) -> None:
        options = self.options
        ep = options.endpoint
        try:
            context = self._ssl if ep.tls else None  # set by open(): TLS endpoints get TLS
            if ep.tls and context is None:
                context = self._ssl = ssl_context_for(ep, options.ssl_context)
            with trio.fail_after(options.connect_timeout):
                if context is None:
                    tcp = await _open_loopback(ep)
                else:
                    tcp = await trio.open_tcp_stream(ep.host, ep.port)
                stream: trio.abc.Stream = tcp
                if context is not None:
                    tls = trio.SSLStream(tcp, context, server_hostname=ep.server_hostname)
                    try:
                        await tls.do_handshake()
                    except trio.BrokenResourceError as exc:
                        await trio.aclose_forcefully(tcp)
                        reason = exc.__cause__ or exc
                        raise TransportError(f"TLS handshake with {ep} failed: {reason}") from exc
                    except BaseException:
                        await trio.aclose_forcefully(tcp)
                        raise
                    stream = tls
        except trio.TooSlowError:
            raise TransportError(
                f"connect to {ep} timed out after {options.connect_timeout:g} s"
            ) from None
        self._stream = stream
        self._outbound.clear()
        self._backlog = False
        config = self.config
        if reset and not config.resets_on_logon:
            config = attrs.evolve(config, reset_seq_num=True)
        session = Session(config)
        self.session = session
        session.start(self._clock())
        await self._flush()
        while current_state(session) is not State.ACTIVE:
            await self._pump_locked(math.inf, during_logon=True)
            if current_state(session) is State.CLOSED:
                break
        if current_state(session) is not State.ACTIVE:
            raise TransportError("Logon did not complete")

    async def _pump_locked(self, deadline: float, during_logon: bool = False) -> None:
        """Read once (until data, a session timer, or ``deadline`` on trio's clock), process,
        write. The caller holds the pump lock."""
        if self._interrupted is not None and not during_logon:
            await self._connect(reset=self._interrupted, first=False)
            return
        session = self.session
        stream = self._stream
        if session is None or stream is None:
            raise TransportError("the session is closed")
        if self._backlog and not during_logon:
            # frames already read wait in the session: turn them into events before reading
            before = len(self._events)
            await self._process(session, during_logon)
            if self.session is not session or len(self._events) > before:
                await trio.lowlevel.checkpoint()
                return
        full = (
            not during_logon
            and self.on_event is None
            and len(self._events) >= self.max_queued_events
        )
        wake = deadline
        session_deadline = session.next_deadline()
        if session_deadline is not None:
            wake = min(wake, trio.current_time() + max(session_deadline - self._clock(), 0.0))
        data: bytes | None = None
        with trio.move_on_at(wake):
            if full:
                await trio.sleep_forever()  # do not read: the consumer is behind
            try:
                data = bytes(await stream.receive_some(READ_CHUNK))
            except _STREAM_ERRORS:
                data = b""
        now = self._clock()
        if data is not None:
            if self.options.message_log is not None and data:
                self.options.message_log.received(data, now)
            session.receive_data(data, now)
        session.handle_timer(now)
        await self._process(session, during_logon)

    async def _process(self, session: Session, during_logon: bool) -> None:
        """Turn buffered frames into events while the queue has room; then write."""
        self._backlog = False
        try:
            while True:
                if (
                    not during_logon
                    and self.on_event is None
                    and len(self._events) >= self.max_queued_events
                ):
                    self._backlog = True
                    break
                event = session.next_event()
                if event is NEED_DATA:
                    break
                await self._on_session_event(event, during_logon)
                if self.session is not session:
                    return  # the connection ended (and was maybe replaced) meanwhile
        except RemoteProtocolError as exc:
            try:
                await self._flush()  # the Logout the core queued
            except TransportError:
                pass
            await self._after_close(exc.reconnect, exc.reset_seq_nums, str(exc), during_logon)
            return
        try:
            await self._flush()
        except TransportError:
            # the write failed: the core was told (EOF), its CloseTransport ends or replaces
            # the connection as for a read failure
            if self.session is session:
                await self._process(session, during_logon)

    async def _on_session_event(self, event: Event, during_logon: bool) -> None:
        if isinstance(event, LoggedOn):
            self._logged_on = True
        await self._emit(event)
        if isinstance(event, CloseTransport):
            await self._after_close(
                event.reconnect, event.reset_seq_nums, event.reason, during_logon
            )

    async def _after_close(
        self, reconnect: bool, reset: bool, reason: str, during_logon: bool
    ) -> None:
        try:
            await self._flush()
        except TransportError:
            pass
        await self._close_stream()
        if during_logon:
            raise TransportError(reason)
        if self._closing or not reconnect or not self.options.reconnect:
            self.session = None
            return
        plan = reconnect_plan(
            self.config,
            after_gap_teardown=reset,
            after_maintenance=in_maintenance_window(self._clock()),
            maintenance_reset=self.options.maintenance_reset,
        )
        _log.info(
            "%s: connection lost (%s); reconnecting: %s", self.options.endpoint, reason, plan.reason
        )
        await self._connect(reset=plan.reset_seq_nums, first=False)

    async def _flush(self) -> None:
        """Write what the core queued (in order, one writer at a time)."""
        session = self.session
        if session is None:
            return
        data = session.data_to_send()
        if data:
            self._outbound += data
            if len(self._outbound) > MAX_BUFFERED_OUTBOUND:
                self._outbound.clear()
                self._lost(session)
                await self._close_stream()
                raise TransportError(
                    f"more than {MAX_BUFFERED_OUTBOUND} bytes wait for a peer that does not read"
                )
        async with self._send_lock:
            stream = self._stream
            if not self._outbound or stream is None or self.session is not session:
                return
            data = bytes(self._outbound)
            self._outbound.clear()
            if self.options.message_log is not None:
                self.options.message_log.sent(data, self._clock())
            try:
                with trio.fail_after(self.options.connect_timeout):
                    await stream.send_all(data)
            except (*_STREAM_ERRORS, trio.TooSlowError) as exc:
                self._lost(session)
                raise TransportError(f"connection lost while sending: {exc!r}") from exc

    def _lost(self, session: Session) -> None:
        """Tell the core the connection is gone (the next pump reconnects)."""
        try:
            session.receive_data(b"", self._clock())
        except LocalProtocolError:  # the session already ended with an error
            pass

    async def _close_stream(self) -> None:
        stream = self._stream
        self._stream = None
        if stream is not None:
            with trio.CancelScope(shield=True, deadline=trio.current_time() + _CLOSE_TIMEOUT):
                try:
                    await stream.aclose()
                except _STREAM_ERRORS:  # pragma: no cover
                    pass


class _EventIterator:
    """``async for`` over a session's events, ending after ``timeout`` seconds with none."""

    def __init__(self, session: TrioSession, timeout: float | None) -> None:
        self._session = session
        self._timeout = timeout

    def __aiter__(self) -> _EventIterator:
        return self

    async def __anext__(self) -> Event:
        event = await self._session.next_event(self._timeout)
        if event is None:
            raise StopAsyncIteration
        return event


class FixClient(ClientBase[TrioSession]):
    """Kalshi FIX client for prediction (event contracts), trio.

    Factories: `order_entry`, `drop_copy`, `market_data`, `post_trade`, `rfq`, `session`.
    """

    PRODUCT = "prediction"

    def _make(
        self, config: SessionConfig, options: ConnectOptions, **session_options: Any
    ) -> TrioSession:
        return TrioSession(config, options, **session_options)


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps), trio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"
