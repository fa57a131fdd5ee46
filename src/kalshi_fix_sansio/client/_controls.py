"""What an application sets and reads on a session's `Driver`, and the first and last steps of
an open.

The driver is the one sans-IO client of a session: it lives across connections and opens, and
the user's blocking or awaitable session (`kalshi_fix_sansio.client._sessionapi`) and a loop
author both hold it. `SessionControls` is its part that answers the application: the pre-trade
limits and the rate-limit mode (settable at any time, open or not, kept across opens), the
halts, what is queued and how late, the open's checks (`begin`) and end (`end`), and every
event as it is read (`observe`: logged, callbacks made due, a REST round's companion started).
It holds nothing of its own: the state is the driver's, set in `Driver.__init__`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..codec import Message
from ..codec.errors import LocalProtocolError
from ..rest.reconcile import ReconcileStarted
from ..session.events import Event
from ..session.machine import Session
from ..trading.gate import TradingState
from ._clientoptions import ConnectOptions, describe_target
from ._endpoints import check_endpoint
from ._loglines import log_event, log_session_event
from ._transport import TRANSPORT_LOGGER_NAME

if TYPE_CHECKING:
    from ..observability import MessageLog
    from ..session.config import SessionConfig
    from ..trading.gate import OrderGate
    from ._callers import Delivery
    from ._queue import QueuePolicy
    from .steps import Pump
    from .supervisor import Supervisor

__all__ = ["RateLimitMode", "SessionControls"]

RateLimitMode = Literal["wait", "raise"]
"""What a session does with a message its rate limiter cannot take yet: ``"wait"`` until it can
(`place`, `cancel`, the blocking `send`, the async ``send_when_allowed``), or ``"raise"``
`RateLimitExceeded` at once."""

T = TypeVar("T")

_log = logging.getLogger(TRANSPORT_LOGGER_NAME)


class SessionControls:
    """The application's side of a `Driver` (see the module docstring)."""

    # the driver's (`Driver.__init__`, `Driver._parts`)
    config: SessionConfig
    options: ConnectOptions | None
    gate: OrderGate
    policy: QueuePolicy
    supervisor: Supervisor
    delivery: Delivery
    pump: Pump
    lock: Any
    clock: Callable[[], float]
    begun: bool
    opened: bool
    running: bool
    open_hint: str
    message_log: MessageLog | None
    name: str
    logger: logging.Logger
    _log_fields: dict[str, str]
    _rate_limit: RateLimitMode
    _rest_running: bool
    _start_rest: Callable[[], None] | None
    _last_input: float

    if TYPE_CHECKING:  # the driver's

        def announce(self, now: float) -> None: ...

        @property
        def queued(self) -> int: ...

        def lag(self, now: float) -> float: ...

        def offer(
            self, message: Message, *, resubscribe: bool = False, wait: bool = True
        ) -> tuple[int | None, float]: ...

        def reconcile(self, now: float, reason: str = ...) -> None: ...

        def renew(self) -> None: ...

    # -- a setting, kept across opens ---------------------------------------------------------

    @property
    def rate_limit(self) -> RateLimitMode:
        """``"wait"`` or ``"raise"``: see `RateLimitMode` (only matters with a rate limiter)."""
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, mode: RateLimitMode) -> None:
        if mode not in ("wait", "raise"):
            raise LocalProtocolError(f"rate_limit must be 'wait' or 'raise', got {mode!r}")
        self._rate_limit = mode

    # -- the halts ---------------------------------------------------------------------------

    def rearm(self) -> None:
        """Accept new orders, replaces and quotes again after ``kill(halt=True)`` (a client's
        ``kill_all`` halt stays until ``client.rearm()``; a halt from outside the process, the
        halt file of ``kalshi-fix kill``, until ``kalshi-fix rearm`` removes it)."""
        with self.lock:
            self.gate.rearm()
            self.announce(self._last_input)

    def release_unknown(self, market: str | None = None) -> tuple[str, ...]:
        """Lift the block of unknown order outcomes (`OutcomeUnknown`) in ``market`` (None:
        everywhere) by hand, once you checked the exchange yourself: what it says is taken as
        known. The markets released (a `TradingStateChanged` says so; logged at WARNING).
        `rearm` does not lift it: it is about halts."""
        if market is not None and (not isinstance(market, str) or not market):
            raise LocalProtocolError(
                f"release_unknown: market must be a non-empty str or None, got {market!r}"
            )
        with self.lock:
            released = self.gate.release_unknown(market)
            if released:
                self.logger.warning(
                    "%s: unknown order outcomes released by hand in %s",
                    self.name,
                    ", ".join(released),
                    extra={**self._log_fields, "event": "release_unknown"},
                )
            self.announce(self._last_input)
        return released

    def reduce_only(self, reason: str = "reduce-only") -> None:
        """Let through only orders, replaces and quote messages that can only shrink a position
        (`ReduceOnlyRefused` for the others; cancels always go) until `rearm`; a halt of this
        session (``kill(halt=True)``) is lifted by it, a client's or an outside one is not."""
        if not isinstance(reason, str) or not reason:
            raise LocalProtocolError(f"reduce_only: reason must be a non-empty str, got {reason!r}")
        with self.lock:
            self.gate.reduce_only(reason)
            self.announce(self._last_input)

    @property
    def trading_state(self) -> TradingState:
        """What the order gate lets through: `TradingState.ACTIVE`, ``REDUCE_ONLY`` or
        ``HALTED`` (``gate.state`` says why)."""
        return self.gate.state[0]

    # -- what the application reads ------------------------------------------------------------

    # read from the core (the supervisor, the queue), whoever drives it: an adapter's pump or
    # a loop of one's own (`start`, `connection_made`... as the embedding guide shows)

    @property
    def session(self) -> Session | None:
        """The core `Session` of the current (or last) connection (None before the first
        connection)."""
        return self.supervisor.session

    @property
    def connections(self) -> int:
        """How many connections logged on so far (1 + the reconnects)."""
        return self.supervisor.connections

    @property
    def queued_events(self) -> int:
        """How many events wait unread."""
        return self.queued

    def lag_now(self) -> float:
        """Seconds the oldest unread event has waited now (0.0 when none waits): how far
        behind the application is."""
        return self.lag(self.clock()) if self.begun else 0.0

    def reconcile_now(self) -> None:
        """Reconcile the tracker from Kalshi's REST API now (`ReconcileStarted`, then
        `Reconciled` or `ReconcileFailed`, as events); the pump's companion sends the requests.

        Raises:
            LocalProtocolError: the driver was made without ``rest=``, or is not open.
        """
        if not self.begun:
            raise LocalProtocolError(f"not connected: {self.open_hint}")
        with self.lock:
            self.reconcile(self.clock())

    # -- an open -------------------------------------------------------------------------------

    def begin(self, prepare: Callable[[], T]) -> tuple[Any, T]:
        """The first half of every open by a pump: checks, what the pump prepares from the
        options (``prepare``: the TLS context it builds from the options as data), the message
        log opened, the driver renewed.

        Returns:
            ``(driver, prepared)``.

        Raises:
            LocalProtocolError: the endpoint is not allowed, the session is already open, and
                what ``prepare`` raises (a TLS context refused: `ssl_context_for`).
        """
        if self.opened:
            raise LocalProtocolError("the session is already open: close it first")
        options = self.options
        if options is not None:
            check_endpoint(options.endpoint, allow_unlisted_hosts=options.allow_unlisted_hosts)
        prepared = prepare()
        self.message_log = log = None if options is None else options.message_log
        if log is not None:
            log.open()
        self.renew()
        self.opened = self.running = True
        _log.info(
            "%s: connecting: %s",
            self.name,
            self.describe(),
            extra={**self._log_fields, "event": "connecting"},
        )
        return self, prepared

    def end(self) -> None:
        """The last step of every close by a pump: the message log closed."""
        if self.options is not None and self.options.message_log is not None:
            self.options.message_log.close()

    def describe(self) -> str:
        """What the session connects to, for log lines and ``repr``."""
        if self.options is None:
            return self.name
        return describe_target(self.config, self.options)

    # -- every event as it is read -------------------------------------------------------------

    def observe(self, event: Event) -> None:
        """Every event but an order's as the driver reads it (before the application sees it):
        logged, a `Reconnected` makes ``on_reconnect`` due, and a `ReconcileStarted` starts the
        pump's REST companion unless one runs."""
        log_event(self.name, event, self._log_fields)
        log_session_event(self.logger, event, self._log_fields)
        self.delivery.observe(event)
        if event.__class__ is ReconcileStarted and not self._rest_running:
            self._rest_running = True
            start = self._start_rest
            if start is None:
                self._rest_running = False
                self.logger.warning(
                    "a REST reconciliation started, but nothing sends its requests: run "
                    "RestCompanion().run(driver) (kalshi_fix_sansio.adapters.rest)"
                )
            else:
                start()

    def rest_ended(self) -> None:
        """The REST companion of the round under way is done (the round ended, or the
        companion failed): the next `ReconcileStarted` starts a new one."""
        self._rest_running = False

    @contextlib.contextmanager
    def rest_work(self) -> Iterator[None]:
        """Around a REST companion's run in the background (a thread or a task of the pump's):
        a failure ends the companion (the next round starts another) and is logged, not
        raised to the thread or task."""
        try:
            yield
        except Exception:
            self.rest_ended()
            self.logger.exception("the REST companion failed")
