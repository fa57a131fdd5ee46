"""What the blocking, asyncio and trio sessions do the same way, whatever their loop.

`SessionBase` is the loop-independent half of every adapter's session object: the core's
`Supervisor`, the bounded `EventQueue`, the checks and the TLS context of `open`, `send`, the
properties, the hand-off of events to the queue or to ``on_event``, the message log calls and
the same log lines (`log_event`). `AsyncSessionBase` adds the awaitable reading API of the
asyncio and trio sessions (`next_event`, `events`, ``async for``, `wait_for`, `run`, `place`,
`cancel`) over two hooks each loop provides: `AsyncSessionBase._now` and
`AsyncSessionBase._wait_changed`.

Every session keeps an `OrderTracker` (``session.tracker``), fed here with every event the
core produces (before the queue or ``on_event`` gets it). `Settlement` is the one definition
of what `place` / `cancel` wait for; each adapter only blocks or awaits until it is settled.

Rate limits (``SessionConfig.rate_limiter``): the core refuses what its buckets cannot take
(`RateLimitExceeded`) and says how long until they can (``Session.send_delay``). With
``rate_limit="wait"`` (the default) `SessionBase._offer` returns that delay and the adapter
sleeps it, then offers again; with ``"raise"`` the core's refusal reaches the caller.

An adapter subclasses one of them and keeps only what its loop needs: sockets or streams,
TLS handshakes, sleeping, waking and the background thread or task. No protocol decision is
made here: the supervisor makes them all.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import logging
import math
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ClassVar, Literal

import attrs

from kalshi_fix_sansio import Message
from kalshi_fix_sansio.config import SessionConfig
from kalshi_fix_sansio.errors import LocalProtocolError
from kalshi_fix_sansio.events import Event, LogonRejected
from kalshi_fix_sansio.session import Session
from kalshi_fix_sansio.supervisor import (
    Disconnected,
    Reconnected,
    Reconnecting,
    Supervisor,
    TransportError,
)
from kalshi_fix_sansio.tracker import OrderRejected, OrderTracker, TrackedOrder

from ._client import MAX_QUEUED_EVENTS, ConnectOptions
from ._transport import TRANSPORT_LOGGER_NAME, check_endpoint, ssl_context_for

_log = logging.getLogger(TRANSPORT_LOGGER_NAME)

PLACE_TIMEOUT = 10.0
"""Default seconds `place` / `cancel` wait for Kalshi's answer."""

Until = Literal["ack", "filled"]
"""What `place` waits for: ``"ack"`` (acknowledged, or already final) or ``"filled"`` (final)."""

RateLimitMode = Literal["wait", "raise"]
"""What a session does with a message its rate limiter cannot take yet: ``"wait"`` until it can
(`place`, `cancel`, the blocking `send`, the async ``send_when_allowed``), or ``"raise"``
`RateLimitExceeded` at once."""


@attrs.frozen
class Settlement:
    """What `place` / `cancel` wait for: the request ``request``'s answer about order ``target``.

    `result` is None while unsettled; it returns a snapshot of the order once settled (with
    ``until="ack"``: acknowledged by Kalshi or already final; otherwise: final: filled,
    canceled, expired or replaced, following the replace chain; ``"answer"``, for a cancel: an
    ExecutionReport carried the request's ClOrdID) and raises `OrderRejected`
    once Kalshi rejected the request (ExecutionReport 150=8, OrderCancelReject 35=9 or
    BusinessMessageReject 35=j with BusinessRejectRefID = the request's ClOrdID).
    """

    tracker: OrderTracker
    request: str
    target: str
    until: str

    def result(self) -> TrackedOrder | None:
        rejection = self.tracker.rejection(self.request)
        if rejection is not None:
            raise OrderRejected(rejection)
        if self.until == "ack":
            order = self.tracker.order(self.target)
            done = order is not None and (order.acknowledged or order.terminal)
        elif self.until == "answer":  # a cancel: an ExecutionReport carrying its ClOrdID
            order = self.tracker.current(self.target)
            done = self.tracker.answered(self.request)
        else:
            order = self.tracker.current(self.target)
            done = order is not None and order.terminal
        return order.snapshot() if done and order is not None else None

    def timeout_error(self, timeout: float | None) -> TimeoutError:
        what = {"ack": "acknowledgement", "answer": "answer"}.get(self.until, "final state")
        return TimeoutError(f"no {what} of {self.request} within {timeout:g} s (still tracked)")


def new_supervisor(config: SessionConfig, options: ConnectOptions) -> Supervisor:
    """The core's `Supervisor` for one session, configured from the connection options.

    Args:
        config: the session config.
        options: backoff, reconnect and maintenance options; the endpoint names the peer.

    Returns:
        A supervisor (not started).
    """
    return Supervisor(
        config,
        backoff=options.backoff,
        reconnect=options.reconnect,
        maintenance_reset=options.maintenance_reset,
        peer=options.endpoint,
    )


def log_event(name: str, event: Event) -> None:
    """Log a connection event the same way in every adapter (``kalshi_fix_sansio.transport``).

    Reconnect attempts are logged at INFO with the attempt number and the delay; a lost
    connection and a refused Logon at WARNING.

    Args:
        name: the session's name (product/session type).
        event: any event; only connection events are logged.
    """
    if isinstance(event, Reconnecting):
        _log.info(
            "%s: connection attempt %d in %.3f s (%s)", name, event.attempt, event.delay, event.reason
        )
    elif isinstance(event, Disconnected):
        _log.warning("%s: disconnected: %s", name, event.reason)
    elif isinstance(event, Reconnected):
        _log.info("%s: reconnected and logged on (attempt %d)", name, event.attempt)
    elif isinstance(event, LogonRejected):
        _log.warning("%s: Logon refused: %s", name, event.text)


def check_queue_bound(max_queued_events: int) -> int:
    """Validate an adapter's event-queue bound.

    Args:
        max_queued_events: most events queued before reading pauses.

    Returns:
        The bound.

    Raises:
        LocalProtocolError: not an integer >= 1.
    """
    if isinstance(max_queued_events, bool) or max_queued_events < 1:
        raise LocalProtocolError(f"max_queued_events must be >= 1, got {max_queued_events!r}")
    return max_queued_events


class EventQueue:
    """The bounded event queue of a session (no locking: each adapter guards it its own way).

    Args:
        bound: most events held; `full` tells the pump to stop reading.
    """

    def __init__(self, bound: int) -> None:
        self.bound = check_queue_bound(bound)
        self._events: collections.deque[Event] = collections.deque()

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    @property
    def full(self) -> bool:
        """As many events wait as the bound allows."""
        return len(self._events) >= self.bound

    def put(self, event: Event) -> None:
        """Queue an event (the pump checks `full` before it reads more)."""
        self._events.append(event)

    def pop(self) -> Event | None:
        """The oldest event, or None."""
        return self._events.popleft() if self._events else None

    def take(self, predicate: Callable[[Event], bool]) -> Event | None:
        """Remove and return the first event satisfying ``predicate``; the others stay in order."""
        for index, event in enumerate(self._events):
            if predicate(event):
                del self._events[index]
                return event
        return None


def closed_error(supervisor: Supervisor | None, crash: Exception | None = None) -> Exception:
    """What reading from a session with no event left raises.

    Args:
        supervisor: the session's supervisor (None: never opened).
        crash: what stopped the session's task or thread unexpectedly (e.g. a
            `LocalProtocolError` from `loopback_addresses`), raised as is.

    Returns:
        The crash, the supervisor's failure, or a `TransportError` / `LocalProtocolError`.
    """
    if crash is not None:
        return crash
    if supervisor is None:
        return LocalProtocolError("not connected: open the session first (`with` / `async with` it)")
    if supervisor.failure is not None:
        return supervisor.failure
    return TransportError("the session is closed")


def matched(event: Event | None, timeout: float | None) -> Event:
    """The event `wait_for` found; None (nothing matched in time) raises `TimeoutError`."""
    if event is None:
        raise TimeoutError(f"no matching event within {timeout:g} s")
    return event


async def maybe_await(result: object) -> None:
    """Await a callback's result when it is awaitable (a coroutine function's)."""
    if inspect.isawaitable(result):
        await result


def _cl_ord_id(message: Message) -> str:
    cl = getattr(message, "cl_ord_id", None)
    if cl is None:
        raise LocalProtocolError(f"35={message.MSG_TYPE} has no ClOrdID")
    return str(cl)


class SessionBase:
    """One Kalshi FIX session: the part every adapter shares (see the module docstring).

    Args:
        config: the session config (initiator).
        options: endpoint, TLS, backoff and reconnect options.
        on_event: receives every event instead of the queue (in the session's thread or
            task; the async adapters await an awaitable result).
        on_reconnect: called after each reconnect and Logon, e.g. to re-subscribe (awaited
            when awaitable, in the async adapters).
        clock: UTC epoch seconds for the core; tests may pass their own.
        max_queued_events: most events queued before reading pauses.
        rate_limit: with a ``rate_limiter`` in the config, ``"wait"`` for tokens or
            ``"raise"`` `RateLimitExceeded` (`RateLimitMode`); also settable later as
            ``session.rate_limit``.
    """

    _OPEN_HINT: ClassVar[str] = "use the session in `async with` first"
    """How to open this adapter's session, for `send` before that."""

    def __init__(
        self,
        config: SessionConfig,
        options: ConnectOptions,
        *,
        on_event: Callable[[Event], object] | None = None,
        on_reconnect: Callable[[Any], object] | None = None,
        clock: Callable[[], float] = time.time,
        max_queued_events: int = MAX_QUEUED_EVENTS,
        rate_limit: RateLimitMode = "wait",
    ) -> None:
        self.rate_limit = rate_limit
        self.config, self.options = config, options
        self.on_event, self.on_reconnect = on_event, on_reconnect
        self._clock = clock
        self._queue = EventQueue(max_queued_events)
        self.supervisor: Supervisor | None = None
        self._crash: Exception | None = None  # what stopped the thread or task unexpectedly
        self._lock: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        self._name = f"{config.product}/{config.session_type}"
        self.tracker = OrderTracker()
        """Orders, fills and positions of this session (fed with every event it receives)."""
        self._setup()

    # -- what each adapter provides -------------------------------------------------------

    def _setup(self) -> None:
        """Create the loop's own state (called at the end of ``__init__``)."""

    def _is_open(self) -> bool:
        raise NotImplementedError  # pragma: no cover - each adapter says

    def _ended(self) -> bool:
        """The session's thread or task is not running (never started, or finished)."""
        raise NotImplementedError  # pragma: no cover - each adapter says

    def _wake(self) -> None:
        """Wake the session's thread or task (something changed)."""
        raise NotImplementedError  # pragma: no cover - each adapter says

    def _flush(self, sup: Supervisor) -> None:
        """Get the bytes the core just queued on their way (default: wake the writer)."""
        self._wake()

    # -- the public API ---------------------------------------------------------------------

    @property
    def rate_limit(self) -> RateLimitMode:
        """``"wait"`` or ``"raise"``: see `RateLimitMode` (only matters with a rate limiter)."""
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, mode: RateLimitMode) -> None:
        if mode not in ("wait", "raise"):
            raise LocalProtocolError(f"rate_limit must be 'wait' or 'raise', got {mode!r}")
        self._rate_limit = mode

    def send(self, message: Message, *, resubscribe: bool = False) -> int:
        """Send an application message now (synchronous in every adapter: never awaited).

        The core takes the message at once; its bytes are written at once (asyncio: into the
        transport's buffer; blocking and trio: to the socket from here, what it does not take
        at once by the session's thread or task, in order).
        The asyncio and trio ``send`` never waits for rate-limit tokens: it raises
        `RateLimitExceeded` (await ``send_when_allowed`` to wait); the blocking one waits
        when ``rate_limit`` is ``"wait"``.

        Args:
            message: a message of the session's dialect.
            resubscribe: send it again after every reconnect (market-data subscriptions).

        Returns:
            Its MsgSeqNum.

        Raises:
            RateLimitExceeded: the rate limiter cannot take it now (nothing was sent).
            TransportError: the connection is down (wait for `Reconnected`) or gone for good.
            LocalProtocolError: not open, or a message the session type does not carry.
            EncodeError: a missing field or a value the wire cannot carry.
        """
        seq, _ = self._offer(message, resubscribe=resubscribe, wait=False)
        assert seq is not None  # never None without waiting
        return seq

    def _offer(
        self, message: Message, *, resubscribe: bool = False, track: bool = False, wait: bool = True
    ) -> tuple[int | None, float]:
        """Hand ``message`` to the core: ``(MsgSeqNum, 0.0)`` once sent, or ``(None, delay)``
        when ``wait`` is asked and ``rate_limit`` is ``"wait"`` and the core says its tokens are
        ``delay`` seconds away (sleep, then offer again). ``track``: record it in the tracker
        first (the answer may come before this returns), forgotten again if it is not sent.
        """
        sup = self.supervisor
        if sup is None:
            raise LocalProtocolError(f"not connected: {self._OPEN_HINT}")
        with self._lock:
            now = self._clock()
            if wait and self._rate_limit == "wait" and sup.session is not None:
                delay = sup.session.send_delay(message, now)
                if 0.0 < delay < math.inf:  # inf: the core's refusal says it never fits
                    return None, delay
            if track:
                self.tracker.sent(message)
            try:
                seq = sup.send(message, now, resubscribe=resubscribe)
            except BaseException:
                if track:
                    self.tracker.discard(str(message.cl_ord_id))  # type: ignore[attr-defined]
                raise
        self._flush(sup)
        return seq, 0.0

    def _placing(self, order: Message, until: str) -> Settlement:
        """What `place` waits for, once it has sent ``order`` (checked here, not sent)."""
        if until not in ("ack", "filled"):
            raise LocalProtocolError(f"until must be 'ack' or 'filled', got {until!r}")
        if order.MSG_TYPE not in ("D", "G"):
            raise LocalProtocolError(
                f"place sends a NewOrderSingle or OrderCancelReplaceRequest, not 35={order.MSG_TYPE}"
            )
        cl = _cl_ord_id(order)
        return Settlement(self.tracker, cl, cl, until)

    def _cancelling(self, request: Message) -> Settlement:
        """What `cancel` waits for, once it has sent ``request`` (checked here, not sent)."""
        if request.MSG_TYPE != "F":
            raise LocalProtocolError(f"cancel sends an OrderCancelRequest, not 35={request.MSG_TYPE}")
        orig = getattr(request, "orig_cl_ord_id", None)
        if orig is None:
            raise LocalProtocolError("the OrderCancelRequest has no OrigClOrdID")
        return Settlement(self.tracker, _cl_ord_id(request), str(orig), "answer")

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

    # -- shared steps -----------------------------------------------------------------------

    def _begin(self) -> tuple[Supervisor, ssl.SSLContext | None]:
        """The first half of every `open`: checks, TLS context, message log, a started core.

        Raises:
            LocalProtocolError: the endpoint is not allowed, or the session is already open.
        """
        if self._is_open():
            raise LocalProtocolError("the session is already open: close it first")
        check_endpoint(self.options.endpoint, allow_unlisted_hosts=self.options.allow_unlisted_hosts)
        context = ssl_context_for(self.options.endpoint, self.options.ssl_context)
        if self.options.message_log is not None:
            self.options.message_log.open()
        sup = self.supervisor = new_supervisor(self.config, self.options)
        self._crash = None
        sup.start(self._clock())
        return sup, context

    def _close_log(self) -> None:
        if self.options.message_log is not None:
            self.options.message_log.close()

    def _logged_on(self, sup: Supervisor) -> bool:
        """`open` is done: the session logged on (if the connection is lost again at once, the
        events and then the error come through `next_event`, as for any later loss)."""
        return sup.connections > 0

    def _closed_error(self) -> Exception:
        return closed_error(self.supervisor, self._crash)

    def _check_failed(self) -> None:
        """Raise what ended the session, if it did not end with a clean close."""
        if self.supervisor is None or self.supervisor.failure is not None or self._crash is not None:
            raise self._closed_error()

    def _connected(self, sup: Supervisor) -> bool:
        """Tell the core a connection is up; False when the session closed meanwhile."""
        if sup.connect_at is None:  # closed while connecting
            return False
        sup.connection_made(self._clock())
        return True

    def _received(self, sup: Supervisor, data: bytes) -> None:
        """Log and feed bytes read from the connection (``b""``: EOF)."""
        now = self._clock()
        if data and self.options.message_log is not None:
            self.options.message_log.received(data, now)
        sup.receive_data(data, now)

    def _to_send(self, sup: Supervisor) -> bytes:
        """The bytes the core wants written, logged as sent."""
        data = sup.data_to_send()
        if data and self.options.message_log is not None:
            self.options.message_log.sent(data, self._clock())
        return data

    def _pull(self, sup: Supervisor, force: bool) -> Event | None:
        """The core's next event if there is room for it, queued unless ``on_event`` takes it."""
        if not (force or self.on_event is not None or not self._queue.full):
            return None
        event = sup.next_event()
        if event is not None:
            try:
                self.tracker.on_event(event)
            except Exception:  # a bug there must not stop the session
                _log.exception("%s: the order tracker failed on %r", self._name, event)
            if self.on_event is None:
                self._queue.put(event)
        return event


class AsyncSessionBase(SessionBase):
    """The asyncio and trio sessions: `SessionBase` plus the awaitable reading API."""

    def _now(self) -> float:
        """The loop's monotonic clock, which times every wait."""
        raise NotImplementedError  # pragma: no cover - each adapter says

    async def _wait_changed(self, deadline: float) -> None:
        """Wait until something changes or `_now` reaches ``deadline`` (``math.inf``: none)."""
        raise NotImplementedError  # pragma: no cover - each adapter says

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
            await self.send_when_allowed(send)
        return matched(await self._wait(predicate, timeout), timeout)

    async def send_when_allowed(self, message: Message, *, resubscribe: bool = False) -> int:
        """`send`, first waiting as long as the core says the rate limiter needs to take
        ``message`` (``rate_limit="wait"``, the default; with ``"raise"``: as `send`).

        Raises:
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now, or it never fits.
            TransportError, LocalProtocolError, EncodeError: as `send`.
        """
        return await self._send_paced(message, resubscribe=resubscribe)

    async def _send_paced(
        self, message: Message, *, resubscribe: bool = False, track: bool = False
    ) -> int:
        while True:
            seq, delay = self._offer(message, resubscribe=resubscribe, track=track)
            if seq is not None:
                return seq
            deadline = self._now() + delay
            while self._now() < deadline:
                await self._wait_changed(deadline)

    async def run(self, until: Callable[[], bool] | None = None) -> None:
        """Wait until ``until()`` is true or the session ends (for ``on_event`` users).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session failed.
        """
        await self._until(lambda: until is not None and until())
        self._check_failed()

    async def place(
        self, order: Message, *, timeout: float | None = PLACE_TIMEOUT, until: Until = "ack"
    ) -> TrackedOrder:
        """Send a NewOrderSingle (or OrderCancelReplaceRequest) and wait for Kalshi's answer.

        Args:
            order: the order (its ClOrdID must be new to ``tracker``).
            timeout: seconds to wait (None: forever).
            until: ``"ack"``: until acknowledged (New, a fill, Replaced) or already final;
                ``"filled"``: until final (filled, canceled, expired; a replace is followed).

        Returns:
            A snapshot of the tracked order (``status`` says which state ended the wait).

        Raises:
            OrderRejected: Kalshi rejected it (150=8, 35=9 or 35=j), with its reason.
            TimeoutError: no answer in time (the order stays tracked).
            RateLimitExceeded: ``rate_limit="raise"`` and the rate limiter cannot take it now
                (with ``"wait"``, the default, it waits first: not counted in ``timeout``).
            LogonRefused, ConnectionFailed, TransportError: the session ended first.
        """
        settlement = self._placing(order, until)
        await self._send_paced(order, track=True)
        return await self._settle(settlement, timeout)

    async def cancel(self, request: Message, *, timeout: float | None = PLACE_TIMEOUT) -> TrackedOrder:
        """Send an OrderCancelRequest and wait for its answer: the order's Canceled report.

        Returns:
            A snapshot of the order (looked up through the request's ClOrdID).


        Raises:
            OrderRejected: an OrderCancelReject (35=9) or 35=j answered it.
            TimeoutError: no answer in time.
            RateLimitExceeded: as `place`.
        """
        settlement = self._cancelling(request)
        await self._send_paced(request, track=True)
        return await self._settle(settlement, timeout)

    async def _settle(self, settlement: Settlement, timeout: float | None) -> TrackedOrder:
        deadline = self._now() + (math.inf if timeout is None else timeout)
        while (result := settlement.result()) is None:
            if self._now() >= deadline:
                raise settlement.timeout_error(timeout)
            if self._ended():
                raise self._closed_error()
            await self._wait_changed(deadline)
        return result

    async def _wait(self, predicate: Callable[[Event], bool], timeout: float | None) -> Event | None:
        deadline = self._now() + (math.inf if timeout is None else timeout)
        while True:
            full = self._queue.full  # the reader may have stopped reading
            if (event := self._queue.take(predicate)) is not None:
                break
            if self._now() >= deadline:
                return None
            if self._ended():
                raise self._closed_error()
            await self._wait_changed(deadline)
        if full:
            self._wake()  # room in the queue again: the reader may read again
        return event

    async def _until(self, done: Callable[[], bool]) -> None:
        """Wait until ``done()`` or the session's task ends."""
        while not done() and not self._ended():
            await self._wait_changed(math.inf)

    async def _await_logon(self, sup: Supervisor) -> bool:
        await self._until(lambda: self._logged_on(sup))
        return self._logged_on(sup)

    def _queue_events(self, sup: Supervisor) -> bool:
        """Queue the core's events while there is room (a read callback, no ``on_event``):
        whether any was queued."""
        queued = False
        while (event := self._pull(sup, False)) is not None:
            log_event(self._name, event)
            queued = True
        return queued

    async def _deliver(self, sup: Supervisor, *, force: bool = False) -> None:
        """Hand the core's events to the queue or ``on_event``, while there is room."""
        while (event := self._pull(sup, force)) is not None:
            log_event(self._name, event)
            if self.on_event is not None:
                await maybe_await(self.on_event(event))
            self._wake()
            if isinstance(event, Reconnected) and self.on_reconnect is not None:
                await maybe_await(self.on_reconnect(self))
                self._flush(sup)
