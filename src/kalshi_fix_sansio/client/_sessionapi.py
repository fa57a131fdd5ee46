"""What the blocking, asyncio and trio sessions show the same way, whatever their loop.

A session of every adapter is a **view** of its `Driver`, the one sans-IO client of the
session: the driver holds everything (the options, the tracker, the cursor, the halts, the
queue, the supervisor of the current connection) and lives across connections and opens; the
view holds only the driver and the adapter's **pump** (the object that performs the driver's
actions with its loop's I/O, `kalshi_fix_sansio.client.steps`), which the driver made with it.
`SessionAPI` (this module) is what every view shows; the blocking API (`_syncapi.SyncAPI`) and
the awaitable one (`_asyncapi.AsyncAPI`) add the core's waits, run with the pump's one way of
waiting. A loop author holds the same driver (``session.driver``) and steps it.

Every session's driver keeps an `OrderTracker` (``session.tracker``), fed with every event as
the bytes are read (before the application sees it, however slowly it reads). What `place` /
`cancel` wait for is the driver's `OrderWaiter`, settled as the reports are read; each adapter
only blocks or awaits until it is done.

Rate limits (``SessionConfig.rate_limiter``): the core refuses what its buckets cannot take
(`RateLimitExceeded`) and says how long until they can (a paced `Send`'s ``delay``). With
``rate_limit="wait"`` (the default) `Driver.offer` returns that delay and the view waits it,
then offers again; with ``"raise"`` the core's refusal reaches the caller.

An adapter keeps only what its loop needs: sockets or streams, TLS handshakes, sleeping,
waking and the background thread or task. No protocol decision is made here: the driver makes
them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final, Literal

from kalshi_fix_sansio.client.driver import Driver, RateLimitMode
from kalshi_fix_sansio.client.steps import Kill, Pump
from kalshi_fix_sansio.client.supervisor import Supervisor
from kalshi_fix_sansio.codec import Message
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.config import SessionConfig
from kalshi_fix_sansio.session.events import Event
from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.trading.book import Books
from kalshi_fix_sansio.trading.gate import TradingState
from kalshi_fix_sansio.trading.marginrisk import MarginFigures
from kalshi_fix_sansio.trading.risk import BookSource, RiskLimits

from ._clientoptions import ConnectOptions, SessionOptions

__all__ = [
    "IDLE_HANDOFF",
    "KILL_TIMEOUT",
    "PLACE_TIMEOUT",
    "SessionAPI",
    "Until",
    "kill_targets",
    "start_kills",
]

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


class SessionAPI:
    """One Kalshi FIX session: what every adapter's session shows of its `Driver` (see the
    module docstring).

    Args:
        config: the session config (initiator).
        options: endpoint, TLS, backoff and reconnect options.
        settings: the session's options (`SessionOptions`: callbacks, queue, tracker, risk,
            halts, REST...), made once and handed to the driver; None: made of ``chosen``.
        **chosen: `SessionOptions` fields as keywords, over ``settings``
            (``BlockingSession(config, options, on_event=...)``).
    """

    _OPEN_HINT: ClassVar[str] = "use the session in `async with` first"
    """How to open this adapter's session, for `send` before that."""
    _pump: Any  # the adapter's pump: its own API (`SyncPump`, `AsyncPump`) beside `Pump`
    _PUMP: ClassVar[Callable[..., Pump]]
    _SERVE_REST: ClassVar[Callable[..., Any]]  # a REST round in the background (`_start_rest`)
    """The adapter's pump: made by the session's driver (given the session and the driver),
    it performs the driver's actions with the loop's I/O (`Pump`)."""

    def __init__(
        self,
        config: SessionConfig,
        options: ConnectOptions,
        settings: SessionOptions | None = None,
        **chosen: Any,
    ) -> None:
        settings = SessionOptions.of(settings, chosen)
        # what the pump reads while the driver makes it
        self.options, self.clock = options, settings.clock
        self.on_event, self.on_reconnect = settings.on_event, settings.on_reconnect
        pump = self._PUMP
        self._driver = driver = Driver(
            config,
            options,
            settings=settings,
            start_rest=self._start_rest,
            pump=lambda made: pump(self, made),
            open_hint=self._OPEN_HINT,
        )
        self._pump = driver.pump
        # the driver's parts that live as long as it: the same objects, read here
        self.config = driver.config
        self.tracker = driver.tracker
        """Orders, fills and positions of this session (fed with every event as it is read)."""
        self.cursor = driver.cursor
        """The newest ExecID seen per exchange index: where drop-copy catch-up resumes (save
        it with `ExecCursor.save` to resume after a restart)."""
        self.metrics = driver.metrics
        """This session's counters and order round-trip histograms (`SessionMetrics`), kept
        by the driver across every reconnect and open; ``session.metrics.snapshot()`` reads
        them all at once (a frozen `MetricsSnapshot`; nothing is reset)."""
        self.queue_policy = driver.policy
        """What happens when the application reads events slowly (`QueuePolicy`)."""
        self.max_queued_events = driver.policy.max_events
        """Most unread events before `EventQueueOverflow` (``queue_policy.max_events``)."""
        self.halt_source = driver.halt_source
        """The halt set outside the process that this session's driver asks (None: none)."""
        self.name, self.logger = driver.name, driver.logger
        """The session's name in log lines (``product/session type``), and its logger
        (``kalshi_fix_sansio.session.<product>.<session type>.<key>``)."""

    def __repr__(self) -> str:
        driver = self._driver
        state = driver.supervisor.state.value if driver.begun else "not opened"
        return f"<{type(self).__name__} {driver.describe()} ({state})>"

    @property
    def driver(self) -> Driver:
        """The session's `Driver`, the one sans-IO client it is a view of (and the loop
        author's object): made with the session, it lives across connections and opens (each
        open renews its supervisor, desk and queue)."""
        return self._driver

    @property
    def risk_limits(self) -> RiskLimits | None:
        """The pre-trade `RiskLimits` checked before every order is sent (None: none).

        Set a new value at any time, open or not (e.g. ``session.risk_limits =
        session.risk_limits.replace(max_order_qty=10)``); None turns the checks off. It is kept
        across reconnects and opens (it is the driver's gate's: ``driver.gate.risk_limits``).
        """
        return self._driver.gate.risk_limits

    @risk_limits.setter
    def risk_limits(self, limits: RiskLimits | None) -> None:
        if limits is not None and not isinstance(limits, RiskLimits):
            raise LocalProtocolError(
                f"risk_limits must be a RiskLimits, got {type(limits).__name__}"
            )
        driver = self._driver
        with driver.lock:
            driver.gate.risk_limits = limits

    @property
    def margin_figures(self) -> MarginFigures | None:
        """Kalshi's margin figures the margin limits (``min_liquidation_distance``,
        ``max_notional_risk_use``) are judged on, and the metrics show (None: not read yet).

        Set the ones a `kalshi_fix_sansio.rest.marginrisk.MarginRiskFetch` read, at any time
        (e.g. every minute); they are kept across reconnects and opens.
        """
        return self._driver.gate.margin_figures

    @margin_figures.setter
    def margin_figures(self, figures: MarginFigures | None) -> None:
        driver = self._driver
        with driver.lock:
            driver.gate.margin_figures = figures

    @property
    def risk_books(self) -> Books | BookSource | None:
        """The `Books`, or a market-data session (its ``books`` are read at each check, so its
        reconnects are followed), whose best prices ``max_price_distance`` reads."""
        return self._driver.gate.risk_books

    @risk_books.setter
    def risk_books(self, books: Books | BookSource | None) -> None:
        driver = self._driver
        with driver.lock:
            driver.gate.risk_books = books

    @property
    def rate_limit(self) -> RateLimitMode:
        """``"wait"`` or ``"raise"``: see `RateLimitMode` (only matters with a rate limiter)."""
        return self._driver.rate_limit

    @rate_limit.setter
    def rate_limit(self, mode: RateLimitMode) -> None:
        self._driver.rate_limit = mode

    @property
    def halted(self) -> bool:
        """Messages that can create a position are refused (`TradingHalted`) until `rearm`
        (after ``kill(halt=True)``, the default), until the client that made this session
        re-arms (after its ``kill_all``), or while a halt from outside holds (``halt_reason``:
        the halt file of ``kalshi-fix kill``, until ``kalshi-fix rearm``)."""
        return self.halt_reason is not None

    @property
    def halt_reason(self) -> str | None:
        """Why messages that can create a position are refused (a halt from outside the
        process first), or None."""
        return self._driver.gate.halted

    def rearm(self) -> None:
        """Accept new orders, replaces and quotes again after ``kill(halt=True)`` (a client's
        ``kill_all`` halt stays until ``client.rearm()``; a halt from outside the process, the
        halt file of ``kalshi-fix kill``, until ``kalshi-fix rearm`` removes it)."""
        self._driver.rearm()

    def reduce_only(self, reason: str = "reduce-only") -> None:
        """Let through only orders, replaces and quote messages that can only shrink a position
        in their market (`ReduceOnlyRefused` for the others; cancels always go) until `rearm`
        (a `TradingStateChanged` event says so). A halt of this session is lifted by it; a
        client's or one from outside still wins."""
        self._driver.reduce_only(reason)

    @property
    def trading_state(self) -> TradingState:
        """What this session lets through: `TradingState.ACTIVE`, ``REDUCE_ONLY`` or
        ``HALTED``."""
        return self._driver.trading_state

    @property
    def unknown_markets(self) -> tuple[str, ...]:
        """Markets where an order's outcome is unknown: only what shrinks a position goes
        there (`OutcomeUnknown`) until the exchange's answer about the order, a round, or
        `release_unknown` lifts it (``("every market",)``: all)."""
        return self._driver.gate.unknown_markets

    def release_unknown(self, market: str | None = None) -> tuple[str, ...]:
        """Lift the block of unknown order outcomes in ``market`` (None: every market) once
        you checked the exchange yourself (its website, REST): the markets released. The
        tracker is not changed (``reconcile()`` makes it whole where REST is allowed)."""
        return self._driver.release_unknown(market)

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
        seq, _ = self._driver.offer(message, resubscribe=resubscribe, wait=False)
        assert seq is not None  # never None without waiting
        return seq

    @property
    def supervisor(self) -> Supervisor | None:
        """The core's connection `Supervisor` of the current (or last) open."""
        driver = self._driver
        return driver.supervisor if driver.begun else None

    @property
    def session(self) -> Session | None:
        """The core `Session` of the current (or last) connection."""
        return self._driver.session

    @property
    def connections(self) -> int:
        """How many connections logged on so far (1 + the reconnects)."""
        return self._driver.connections

    @property
    def books(self) -> Books | None:
        """The order books of a market-data session, current as the bytes are read (None on
        other session types, and before the first open)."""
        driver = self._driver
        return driver.books if driver.begun else None

    def received_at(self, event: Event) -> float | None:
        """When the bytes that produced ``event`` were read: the session clock's UTC epoch
        seconds (``clock``, the pump's wall clock by default), as the adapter gave it to the core.

        Works for any event this session delivered (`next_event`, ``events``, ``wait_for``,
        ``on_event``), among the last 4096 (remembered by weak reference: the session does
        not keep an event you let go of alive); None for another object.
        """
        return self._driver.delivery.received_at(event)

    @property
    def queued_events(self) -> int:
        """How many events wait unread."""
        return self._driver.queued_events

    @property
    def lag(self) -> float:
        """Seconds the oldest unread event has waited (0.0 when none waits): how far behind
        the application is."""
        return self._driver.lag_now()

    def reconcile(self) -> None:
        """Reconcile the tracker from Kalshi's REST API now (`ReconcileStarted`, then
        `Reconciled` or `ReconcileFailed`, as events); the adapter sends the requests.

        Raises:
            LocalProtocolError: the session was made without ``rest=``, or is not open.
        """
        self._driver.reconcile_now()

    def watch_desk(
        self,
        *,
        queue_every: float | None = None,
        status_every: float | None = None,
        markets: tuple[str, ...] = (),
        margin_every: float | None = None,
        margin_stale_after: int | None = 3,
    ) -> Any:
        """Read Kalshi's queue positions, exchange status and schedule, or margin figures, for
        this session now, then every ``queue_every`` / ``status_every`` / ``margin_every``
        seconds (None: on `DeskWatch.refresh` only; margin figures: not read), in the
        background (a thread, a task), until the session ends or ``watch.stop()``: the
        returned `DeskWatch <kalshi_fix_sansio.client.desk_watch.DeskWatch>` (see
        docs/desk.md). Margin figures
        with no read for ``margin_stale_after`` periods refuse orders that take risk.

        Raises:
            LocalProtocolError: the session was made without ``rest=``, is not open, or a
                period is not above 0.
        """
        from .desk_watch import DeskWatch, serve_desk

        watch = DeskWatch(
            self._driver,
            queue_every=queue_every,
            status_every=status_every,
            markets=markets,
            margin_every=margin_every,
            margin_stale_after=margin_stale_after,
        )
        pump: Any = self._pump
        if not self._driver.opened or not hasattr(pump, "spawn"):
            raise LocalProtocolError(
                "watch_desk needs an open session of an adapter (a simulation's: run "
                "RestCompanion().run(DeskWatch(session)) yourself)"
            )
        watch.refresh()
        companion = pump.REST.for_session(self.options, self._driver.clock)
        pump.spawn(serve_desk(companion), companion, watch)
        return watch

    # -- what each adapter's session does with its loop --------------------------------------

    def _start_rest(self) -> None:
        """Run the REST companion in the background: the pump's companion class (``REST``,
        trusting what the session trusts) served (``_SERVE_REST``: `serve_rest` or
        `aserve_rest`) by the pump's one way to spawn work (``spawn``: a thread, a task, a
        nursery task). A session whose pump has none (a simulation's) says so, and its round
        waits for a caller's `RestCompanion
        <kalshi_fix_sansio.adapters.rest.RestCompanion>`."""
        pump: Any = self._pump
        if hasattr(pump, "spawn"):
            companion = pump.REST.for_session(self.options, self._driver.clock)
            pump.spawn(self._SERVE_REST, companion, self._driver)
            return
        self._driver.rest_ended()
        self.logger.warning(
            "a REST reconciliation started, but %s sends no REST request by itself: run "
            "RestCompanion().run(session) (kalshi_fix_sansio.adapters.rest)",
            type(self).__name__,
        )


def start_kills(sessions: list[Any], check: bool, options: dict[str, Any]) -> list[Any]:
    """Press the kill switch (``options``: `Kill`'s) on each of ``sessions`` (``check``: on the
    open order-entry ones among them): ``(session, kill)`` pairs, each `KillSwitch` under way."""
    started = []
    for session in kill_targets(sessions) if check else sessions:
        fact = Kill(**options)
        session.driver.act(fact)
        assert fact.switch is not None
        started.append((session, fact.switch))
    return started


def kill_targets(sessions: list[Any]) -> list[Any]:
    """The open sessions among ``sessions`` that can send OrderCancelRequests (order entry,
    not listeners)."""
    out = []
    for session in sessions:
        config = session.config
        spec = config.spec
        refused = set(spec.listener_refused) if config.listener_session else set()
        driver = session.driver
        if driver.opened and driver.running and "F" in set(spec.send) - refused:
            out.append(session)
    return out
