"""What the blocking, asyncio and trio sessions do the same way, whatever their loop.

`SessionBase` is the loop-independent half of every adapter's session object: the core's
`Driver` (supervisor, order tracker, books, drop-copy catch-up, the event queue with its
`QueuePolicy`, and the loop's rules), the checks and the TLS context of `open`, `send`, the
properties, the message log calls and the same log lines (`log_event`). The asyncio and trio
sessions add the awaitable reading API of `_async.AsyncSessionBase`.

Every session keeps an `OrderTracker` (``session.tracker``), fed by the driver with every
event as the bytes are read (before the application sees it, however slowly it reads). What
`place` / `cancel` wait for is the driver's `OrderWaiter`, settled as the reports are read;
each adapter only blocks or awaits until it is done.

Rate limits (``SessionConfig.rate_limiter``): the core refuses what its buckets cannot take
(`RateLimitExceeded`) and says how long until they can (`Driver.offer`). With
``rate_limit="wait"`` (the default) `SessionBase._offer` returns that delay and the adapter
waits it, then offers again; with ``"raise"`` the core's refusal reaches the caller.

An adapter keeps only what its loop needs: sockets or streams, TLS handshakes, sleeping,
waking and the background thread or task. No protocol decision is made here: the driver makes
them all.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal

import attrs

from kalshi_fix_sansio import Message
from kalshi_fix_sansio._callers import Delivery, any_event
from kalshi_fix_sansio.book import Books
from kalshi_fix_sansio.catchup import (
    CatchUpComplete,
    CatchUpFailed,
    ExecCursor,
    OrdersNotReceived,
    OrdersUnknown,
)
from kalshi_fix_sansio.config import SessionConfig
from kalshi_fix_sansio.driver import (
    Driver,
    FallingBehind,
    MarketDataFolded,
    OrderWaiter,
    QueuePolicy,
    TrackingFailed,
)
from kalshi_fix_sansio.errors import LocalProtocolError
from kalshi_fix_sansio.events import (
    BusinessRejectReceived,
    DecodeFailure,
    Event,
    GapDetected,
    GarbledData,
    LogonRejected,
    RejectReceived,
    ResubscriptionRefused,
    Timeout,
)
from kalshi_fix_sansio.gate import TradingHalt
from kalshi_fix_sansio.killswitch import KillFinished, KillReport, KillStarted, KillSwitch
from kalshi_fix_sansio.metrics import SessionMetrics
from kalshi_fix_sansio.risk import BookSource, RiskLimits
from kalshi_fix_sansio.session import Session
from kalshi_fix_sansio.steps import Action, Kill, Received, Send
from kalshi_fix_sansio.supervisor import (
    Disconnected,
    Reconnected,
    Reconnecting,
    Supervisor,
    TransportError,
)
from kalshi_fix_sansio.tracker import OrderTracker

from ._client import ConnectOptions, describe_target
from ._transport import (
    MAX_BUFFERED_OUTBOUND,
    TRANSPORT_LOGGER_NAME,
    check_endpoint,
    session_logger,
    ssl_context_for,
)

_log = logging.getLogger(TRANSPORT_LOGGER_NAME)

_WARNING_EVENTS = (
    GapDetected,
    RejectReceived,
    BusinessRejectReceived,
    DecodeFailure,
    GarbledData,
    Timeout,
    KillStarted,
    KillFinished,
    ResubscriptionRefused,
    OrdersUnknown,
    OrdersNotReceived,
)

PLACE_TIMEOUT = 10.0
"""Default seconds `place` / `cancel` wait for Kalshi's answer."""

KILL_TIMEOUT = 10.0
"""Default seconds ``kill`` / ``kill_all`` wait for every order to be off the book."""

IDLE_HANDOFF: Final = 0.05
"""Seconds a session's socket may go unread after a waiting thread or task last read it before
the session's own thread (blocking) or reader task (trio) reads it: a caller that waits again
within it finds the socket free and reads it itself, with no hand-off (blocking:
`BlockingSession.idle_handoff`)."""

Until = Literal["ack", "filled"]
"""What `place` waits for: ``"ack"`` (acknowledged, or already final) or ``"filled"`` (final)."""

RateLimitMode = Literal["wait", "raise"]
"""What a session does with a message its rate limiter cannot take yet: ``"wait"`` until it can
(`place`, `cancel`, the blocking `send`, the async ``send_when_allowed``), or ``"raise"``
`RateLimitExceeded` at once."""


def log_fields(config: SessionConfig) -> dict[str, str]:
    """The ``extra`` fields of every log record about a session: ``product``,
    ``session_type`` and ``key_id`` (a log pipeline indexes them; ``event`` is added per
    record)."""
    return {
        "product": config.product,
        "session_type": config.session_type,
        "key_id": config.sender_comp_id,
    }


def log_event(name: str, event: Event, fields: Mapping[str, str] | None = None) -> None:
    """Log a connection event the same way in every adapter (``kalshi_fix_sansio.transport``).

    Reconnect attempts are logged at INFO with the attempt number and the delay; a lost
    connection and a refused Logon at WARNING.

    Args:
        name: the session's name (product/session type).
        event: any event; only connection events are logged.
        fields: the session's `log_fields`, given to each record as ``extra`` with
            ``event`` (the event's class name).
    """
    extra = {**(fields or {}), "event": type(event).__name__}
    if isinstance(event, Reconnecting):
        _log.info(
            "%s: connection attempt %d in %.3f s (%s)",
            name,
            event.attempt,
            event.delay,
            event.reason,
            extra=extra,
        )
    elif isinstance(event, Disconnected):
        _log.warning("%s: disconnected: %s", name, event.reason, extra=extra)
    elif isinstance(event, Reconnected):
        _log.info("%s: reconnected and logged on (attempt %d)", name, event.attempt, extra=extra)
    elif isinstance(event, LogonRejected):
        _log.warning("%s: Logon refused: %s", name, event.text, extra=extra)
    elif isinstance(event, CatchUpComplete):
        _log.info(
            "%s: caught up: %d missed ExecutionReport(s) recovered (%d replayed from %s)",
            name,
            event.recovered,
            event.replayed,
            ", ".join(event.begin_exec_ids.values()),
            extra=extra,
        )
    elif isinstance(event, CatchUpFailed):
        _log.warning("%s: catch-up failed: %s", name, event.reason, extra=extra)
    elif isinstance(event, FallingBehind):
        _log.warning(
            "%s: the application is %.1f s behind (%d events unread); the tracker is current",
            name,
            event.behind,
            event.queued,
            extra=extra,
        )
    elif isinstance(event, MarketDataFolded):
        _log.warning(
            "%s: %d unread market-data messages folded (%.1f s behind); the books are current",
            name,
            event.folded,
            event.behind,
            extra=extra,
        )
    elif isinstance(event, TrackingFailed):
        _log.error("%s: the order tracker failed: %s", name, event.error, extra=extra)


_CONNECTION_EVENTS = (
    Reconnecting,
    Disconnected,
    Reconnected,
    LogonRejected,
    CatchUpComplete,
    CatchUpFailed,
    FallingBehind,
    MarketDataFolded,
    TrackingFailed,
)


def log_session_event(logger: logging.Logger, event: Event, fields: Mapping[str, str]) -> None:
    """Log a protocol event on the session's own logger (`session_logger`): gaps, resends,
    rejects, garbled input and timeouts at WARNING, the rest (Logon, Logout, TestRequests,
    SequenceResets...) at INFO; the connection events `log_event` logs are not repeated.

    Args:
        logger: the session's logger.
        event: any event other than an application message.
        fields: the session's `log_fields` (``event`` is added).
    """
    if isinstance(event, _CONNECTION_EVENTS):
        return
    level = logging.WARNING if isinstance(event, _WARNING_EVENTS) else logging.INFO
    if logger.isEnabledFor(level):
        logger.log(level, "%r", event, extra={**fields, "event": type(event).__name__})


def make_queue_policy(max_queued_events: int | None, policy: QueuePolicy | None) -> QueuePolicy:
    """The event queue's policy from a session's ``max_queued_events`` and ``queue_policy``.

    Args:
        max_queued_events: most unread events before `EventQueueOverflow` (None: the
            policy's ``max_events``).
        policy: the rest of the policy (None: `QueuePolicy` defaults).

    Returns:
        The policy.

    Raises:
        LocalProtocolError: ``max_queued_events`` is not an integer >= 1, or ``policy`` is
            not a `QueuePolicy`.
    """
    if policy is None:
        policy = QueuePolicy()
    elif not isinstance(policy, QueuePolicy):
        raise LocalProtocolError(f"queue_policy must be a QueuePolicy, got {type(policy).__name__}")
    if max_queued_events is None:
        return policy
    if (
        isinstance(max_queued_events, bool)
        or not isinstance(max_queued_events, int)
        or max_queued_events < 1
    ):
        raise LocalProtocolError(
            f"max_queued_events must be an int >= 1, got {max_queued_events!r}"
        )
    return attrs.evolve(policy, max_events=max_queued_events)


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
        max_queued_events: most unread events before the session logs out with
            `EventQueueOverflow` (reading never pauses; see `QueuePolicy`).
        rate_limit: with a ``rate_limiter`` in the config, ``"wait"`` for tokens or
            ``"raise"`` `RateLimitExceeded` (`RateLimitMode`); also settable later as
            ``session.rate_limit``.
        tracker: the order tracker to keep current (e.g. restored after a restart); a new one
            if None.
        cursor: where drop-copy catch-up resumes (e.g. restored after a restart): the first
            Logon then requests what was missed since it.
        catch_up: recover the ExecutionReports missed while disconnected (EventResendRequest
            on KalshiNR after every reconnect); None: on where the session type allows it.
        queue_policy: what happens when the application reads slowly (`QueuePolicy`).
        risk_limits: pre-trade `RiskLimits` the core checks before every order is sent
            (`RiskLimitExceeded`); also settable later as ``session.risk_limits``.
        risk_books: the `Books`, or a market-data session, whose best prices the
            ``max_price_distance`` limit reads; also settable later as ``session.risk_books``.
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
        max_queued_events: int | None = None,
        rate_limit: RateLimitMode = "wait",
        tracker: OrderTracker | None = None,
        cursor: ExecCursor | None = None,
        catch_up: bool | None = None,
        queue_policy: QueuePolicy | None = None,
        risk_limits: RiskLimits | None = None,
        risk_books: Books | BookSource | None = None,
        shared_halt: TradingHalt | None = None,
    ) -> None:
        self.rate_limit = rate_limit
        self._halt = TradingHalt()  # the kill switch's halt of this session (kept across opens)
        self._shared_halt = shared_halt  # the client's (``kill_all``), if any
        self.config, self.options = config, options
        self.on_event, self.on_reconnect = on_event, on_reconnect
        self._clock = clock
        self.queue_policy = queue_policy_of = make_queue_policy(max_queued_events, queue_policy)
        """What happens when the application reads events slowly (`QueuePolicy`)."""
        if not queue_policy_of.queue_events and on_event is not None:
            raise LocalProtocolError(
                "on_event needs events: it cannot be used with queue_events=False"
            )
        if tracker is not None and not isinstance(tracker, OrderTracker):
            raise LocalProtocolError(
                f"tracker must be an OrderTracker, got {type(tracker).__name__}"
            )
        if cursor is not None and not isinstance(cursor, ExecCursor):
            raise LocalProtocolError(f"cursor must be an ExecCursor, got {type(cursor).__name__}")
        self._catch_up = catch_up
        self.cursor = cursor if cursor is not None else ExecCursor()
        """The newest ExecID seen per exchange index: where drop-copy catch-up resumes (save
        it with `ExecCursor.save` to resume after a restart)."""
        self.driver: Driver | None = None
        """The core's driver of the current (or last) open (None before the first)."""
        self._crash: Exception | None = None  # what stopped the thread or task unexpectedly
        self._lock: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        self._name = f"{config.product}/{config.session_type}"
        self._log_fields = log_fields(config)
        self.logger = session_logger(config.product, config.session_type, config.sender_comp_id)
        """This session's logger, ``kalshi_fix_sansio.session.<product>.<session type>.<key>``:
        its protocol events, with the ``extra`` fields ``product``, ``session_type``,
        ``key_id`` and ``event`` (connection events stay on ``kalshi_fix_sansio.transport``,
        with the same fields)."""
        self._metrics = SessionMetrics(config.product, config.session_type, config.sender_comp_id)
        self._delivery = Delivery(on_event is not None, on_reconnect is not None)
        self.tracker = tracker if tracker is not None else OrderTracker()
        """Orders, fills and positions of this session (fed with every event as it is read)."""
        self._setup()
        self._risk_limits, self._risk_books = risk_limits, risk_books
        self._new_driver(None)  # check the catch-up and risk options now, not at open

    # -- what each adapter provides -------------------------------------------------------

    def _setup(self) -> None:
        """Create the loop's own state (called at the end of ``__init__``)."""

    def _is_open(self) -> bool:
        """Opened and not closed since (default: until the thread or task has `_ended`)."""
        return not self._ended()

    def _ended(self) -> bool:
        """The session's thread or task is not running (never started, or finished)."""
        raise NotImplementedError  # pragma: no cover - each adapter says

    def _wake(self) -> None:
        """Wake the session's thread or task (something changed)."""
        raise NotImplementedError  # pragma: no cover - each adapter says

    def _perform(self, sup: Driver, actions: Sequence[Action]) -> None:
        """Do what the driver said (`kalshi_fix_sansio.steps`), in order, holding ``_lock``."""
        raise NotImplementedError  # pragma: no cover - each adapter says

    # -- the public API ---------------------------------------------------------------------

    def __repr__(self) -> str:
        state = "not opened" if self.driver is None else self.driver.state.value
        return f"<{type(self).__name__} {describe_target(self.config, self.options)} ({state})>"

    @property
    def risk_limits(self) -> RiskLimits | None:
        """The pre-trade `RiskLimits` checked before every order is sent (None: none).

        Set a new value at any time, open or not (e.g. ``session.risk_limits =
        session.risk_limits.replace(max_order_qty=10)``); None turns the checks off. It is kept
        across reconnects and opens.
        """
        return self._risk_limits

    @risk_limits.setter
    def risk_limits(self, limits: RiskLimits | None) -> None:
        if limits is not None and not isinstance(limits, RiskLimits):
            raise LocalProtocolError(
                f"risk_limits must be a RiskLimits, got {type(limits).__name__}"
            )
        with self._lock:
            self._risk_limits = limits
            if self.driver is not None:
                self.driver.risk_limits = limits

    @property
    def risk_books(self) -> Books | BookSource | None:
        """The `Books`, or a market-data session (its ``books`` are read at each check, so its
        reconnects are followed), whose best prices ``max_price_distance`` reads."""
        return self._risk_books

    @risk_books.setter
    def risk_books(self, books: Books | BookSource | None) -> None:
        with self._lock:
            self._risk_books = books
            if self.driver is not None:
                self.driver.risk_books = books

    @property
    def rate_limit(self) -> RateLimitMode:
        """``"wait"`` or ``"raise"``: see `RateLimitMode` (only matters with a rate limiter)."""
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, mode: RateLimitMode) -> None:
        if mode not in ("wait", "raise"):
            raise LocalProtocolError(f"rate_limit must be 'wait' or 'raise', got {mode!r}")
        self._rate_limit = mode

    @property
    def halted(self) -> bool:
        """Messages that can create a position are refused (`TradingHalted`) until `rearm`
        (after ``kill(halt=True)``, the default), or until the client that made this session
        re-arms (after its ``kill_all``)."""
        shared = self._shared_halt
        return self._halt.reason is not None or (shared is not None and shared.reason is not None)

    def rearm(self) -> None:
        """Accept new orders, replaces and quotes again after ``kill(halt=True)`` (a client's
        ``kill_all`` halt stays until ``client.rearm()``)."""
        with self._lock:
            self._halt.rearm()

    def _start_kill(
        self, halt: bool, use_groups: bool, fallback_after: float, confirm: bool | None = None
    ) -> KillSwitch:
        """Start the core's kill switch (`Driver.kill`) and get what it sent on its way."""
        sup = self.driver
        if sup is None:
            raise LocalProtocolError(f"not connected: {self._OPEN_HINT}")
        fact = Kill(
            halt=halt, use_groups=use_groups, fallback_after=fallback_after, confirm=confirm
        )
        with self._lock:
            self._perform(sup, sup.step(fact, self._clock()))
        assert fact.switch is not None
        return fact.switch

    def _kill_report(self, kill: KillSwitch) -> KillReport:
        """The report of ``kill`` now (a note when the session ended before it was done)."""
        with self._lock:
            report = kill.report(self._clock())
        if not report.done and self._ended():
            why = self._closed_error()
            report = attrs.evolve(report, notes=(*report.notes, f"the session ended: {why}"))
        return report

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
        self, message: Message, *, resubscribe: bool = False, wait: bool = True
    ) -> tuple[int | None, float]:
        """Hand ``message`` to the core: ``(MsgSeqNum, 0.0)`` once sent, or ``(None, delay)``
        when ``wait`` is asked and ``rate_limit`` is ``"wait"`` and the core says its tokens are
        ``delay`` seconds away (sleep, then offer again; what the driver refuses before sending,
        a live ClOrdID or a risk limit, is raised at once rather than after the wait). The
        driver records every order message it sends in the tracker, on every path.
        """
        sup = self.driver
        if sup is None:
            raise LocalProtocolError(f"not connected: {self._OPEN_HINT}")
        fact = Send(message, resubscribe=resubscribe, paced=wait and self._rate_limit == "wait")
        with self._lock:
            actions = sup.step(fact, self._clock())
            if actions:
                self._perform(sup, actions)
        return fact.seq, fact.delay

    def _waiter(self, message: Message, until: str = "ack") -> OrderWaiter:
        """What `place` / `cancel` wait for (`Driver.order_waiter`), before sending ``message``."""
        sup = self.driver
        if sup is None:
            raise LocalProtocolError(f"not connected: {self._OPEN_HINT}")
        with self._lock:
            return sup.order_waiter(message, until)

    def _forget(self, waiter: OrderWaiter) -> None:
        if self.driver is not None:
            with self._lock:
                self.driver.forget(waiter)

    @property
    def supervisor(self) -> Supervisor | None:
        """The core's connection `Supervisor` of the current (or last) open."""
        return None if self.driver is None else self.driver.supervisor

    @property
    def session(self) -> Session | None:
        """The core `Session` of the current (or last) connection."""
        return None if self.driver is None else self.driver.session

    @property
    def connections(self) -> int:
        """How many connections logged on so far (1 + the reconnects)."""
        return 0 if self.driver is None else self.driver.connections

    @property
    def books(self) -> Books | None:
        """The order books of a market-data session, current as the bytes are read (None on
        other session types, and before the first open)."""
        return None if self.driver is None else self.driver.books

    @property
    def metrics(self) -> SessionMetrics:
        """This session's counters and order round-trip histograms (`SessionMetrics`), kept
        by the core's driver across every reconnect and open; ``session.metrics.snapshot()``
        reads them all at once (a frozen `MetricsSnapshot`; nothing is reset)."""
        return self._metrics

    def received_at(self, event: Event) -> float | None:
        """When the bytes that produced ``event`` were read: the session clock's UTC epoch
        seconds (``clock``, `time.time` by default), as the adapter gave it to the core.

        Works for any event this session delivered (`next_event`, ``events``, ``wait_for``,
        ``on_event``), among the last 4096 (remembered by weak reference: the session does
        not keep an event you let go of alive); None for another object.
        """
        return self._delivery.received_at(event)

    @property
    def max_queued_events(self) -> int:
        """Most unread events before `EventQueueOverflow` (``queue_policy.max_events``)."""
        return self.queue_policy.max_events

    @property
    def queued_events(self) -> int:
        """How many events wait unread."""
        return 0 if self.driver is None else self.driver.queued

    @property
    def lag(self) -> float:
        """Seconds the oldest unread event has waited (0.0 when none waits): how far behind
        the application is."""
        return 0.0 if self.driver is None else self.driver.lag(self._clock())

    # -- shared steps -----------------------------------------------------------------------

    def _begin(self) -> tuple[Driver, ssl.SSLContext | None]:
        """The first half of every `open`: checks, TLS context, message log, a started core.

        Raises:
            LocalProtocolError: the endpoint is not allowed, or the session is already open.
        """
        if self._is_open():
            raise LocalProtocolError("the session is already open: close it first")
        check_endpoint(
            self.options.endpoint, allow_unlisted_hosts=self.options.allow_unlisted_hosts
        )
        context = ssl_context_for(self.options.endpoint, self.options.ssl_context)
        if self.options.message_log is not None:
            self.options.message_log.open()
        sup = self.driver = self._new_driver(self._metrics)
        self._delivery.on_event = self.on_event is not None
        self._delivery.on_reconnect = self.on_reconnect is not None
        sup.observer = self._observe
        self._crash = None
        _log.info(
            "%s: connecting: %s",
            self._name,
            describe_target(self.config, self.options),
            extra={**self._log_fields, "event": "connecting"},
        )
        return sup, context

    def _new_driver(self, metrics: SessionMetrics | None) -> Driver:
        """The core's `Driver` for an open, from the session's options (not started)."""
        options = self.options
        return Driver(
            self.config,
            backoff=options.backoff,
            reconnect=options.reconnect,
            maintenance_reset=options.maintenance_reset,
            peer=options.endpoint,
            tracker=self.tracker,
            cursor=self.cursor,
            catch_up=self._catch_up,
            policy=self.queue_policy,
            risk_limits=self._risk_limits,
            risk_books=self._risk_books,
            metrics=metrics,
            write_timeout=options.connect_timeout,
            max_buffered=MAX_BUFFERED_OUTBOUND,
            halt=self._halt,
            shared_halt=self._shared_halt,
        )

    def _observe(self, event: Event) -> None:
        """Every event as the driver reads it (before the application sees it): logged, and a
        `Reconnected` makes ``on_reconnect`` due."""
        log_event(self._name, event, self._log_fields)
        log_session_event(self.logger, event, self._log_fields)
        self._delivery.observe(event)

    def _close_log(self) -> None:
        if self.options.message_log is not None:
            self.options.message_log.close()

    def _logged_on(self, sup: Driver) -> bool:
        """`open` is done: the session logged on (if the connection is lost again at once, the
        events and then the error come through `next_event`, as for any later loss)."""
        return sup.connections > 0

    def _closed_error(self) -> Exception:
        """What reading from a session with no event left raises: what stopped its thread or
        task unexpectedly (e.g. a `LocalProtocolError` from `loopback_addresses`), else the
        driver's failure, else `TransportError` (closed) or `LocalProtocolError` (never
        opened)."""
        if self._crash is not None:
            return self._crash
        if self.driver is None:
            return LocalProtocolError(f"not connected: {self._OPEN_HINT}")
        return self.driver.failure or TransportError("the session is closed")

    def _check_failed(self) -> None:
        """Raise what ended the session, if it did not end with a clean close."""
        if self.driver is None or self.driver.failure is not None or self._crash is not None:
            raise self._closed_error()

    def _received(self, sup: Driver, fact: Received) -> Sequence[Action]:
        """Log the bytes read (``b""``: EOF) and step them."""
        now = self._clock()
        if fact.data and self.options.message_log is not None:
            self.options.message_log.received(fact.data, now)
        return sup.step(fact, now)

    def _take(self, predicate: Callable[[Event], bool]) -> Event | None:
        """The first unread event satisfying ``predicate`` (for the readers)."""
        sup = self.driver
        if sup is None:
            return None
        if not self.queue_policy.queue_events:
            raise LocalProtocolError(
                "this session was opened with queue_events=False: it queues no events "
                "(use session.tracker, place() and cancel())"
            )
        # `next_event`'s predicate takes the oldest: no scan of the queue
        now = self._clock()  # a first read that comes late is told FallingBehind at once
        item = (
            sup.next_event_with_time(now)
            if predicate is any_event
            else sup.take_with_time(predicate, now)
        )
        if item is None:
            return None
        return self._delivery.delivered(item)


def start_kills(sessions: list[Any], check: bool, options: dict[str, Any]) -> list[Any]:
    """Start the kill switch (``options``: `SessionBase._start_kill`'s) on each of ``sessions``
    (``check``: on the open order-entry ones among them): ``(session, kill)`` pairs."""
    targets = kill_targets(sessions) if check else sessions
    return [(s, s._start_kill(**options)) for s in targets]


def kill_targets(sessions: list[Any]) -> list[Any]:
    """The open sessions among ``sessions`` that can send OrderCancelRequests (order entry,
    not listeners)."""
    out = []
    for session in sessions:
        config = session.config
        spec = config.spec
        refused = set(spec.listener_refused) if config.listener_session else set()
        if session._is_open() and not session._ended() and "F" in set(spec.send) - refused:
            out.append(session)
    return out
