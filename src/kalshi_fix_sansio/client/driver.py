"""The sans-IO driver: one session's supervisor, order tracker, books, catch-up and event queue.

Between the connection `Supervisor` and an event loop sits one `Driver`. It takes the same I/O
facts as the supervisor (`start`, `connection_made`, `connection_failed`, `receive_data`,
`connection_lost`, `handle_timer`, `send`, `close`, each with ``now``) and gives the same
outputs (`data_to_send`, `connect_at`, `wants_transport`, `next_deadline`, `failure`), and
after every input it takes every event the supervisor produced, at once, and:

* feeds the `OrderTracker` (``driver.tracker``) and, on market-data sessions, the `Books`
  (``driver.books``): the order state and the books are current where the bytes are read,
  whatever the application does;
* runs drop-copy catch-up (`kalshi_fix_sansio.trading.catchup.CatchUp`) on sessions without
  retransmission: after every reconnect (and at the first Logon when started from a saved
  cursor) it sends EventResendRequests from the last ExecIDs seen, and says in an event
  whether the order state is whole again;
* queues the events for the application under a `QueuePolicy`: reading never pauses because
  the application is slow, so heartbeats and liveness never fail for it. Order-entry,
  drop-copy and post-trade events are never dropped: when more than
  ``QueuePolicy.max_events`` wait unread, the driver logs out and fails with a named
  `EventQueueOverflow` (after the events before it). Market-data book messages (35=W / 35=X)
  are folded when more than ``QueuePolicy.max_market_data`` wait: the books are current,
  one `MarketDataFolded` says how many were folded. When the oldest unread event has waited
  ``QueuePolicy.lag_warning`` seconds, a `FallingBehind` goes to the front of the queue.

It also keeps ``driver.metrics`` (`kalshi_fix_sansio.observability.metrics.SessionMetrics`) current: messages
and bytes in and out, rejects, events, queue depth and order round trips, timed with the ``now``
of each input; and each queued event keeps that ``now`` as its receive time
(`next_event_with_time`).

Every order-creating message, on any path (the driver's ``send``, the `Supervisor`'s, the
`Session`'s, re-subscriptions, the kill switch), passes the session's `OrderGate`
(``driver.gate``, `kalshi_fix_sansio.trading.gate`; the driver puts one in its session config when the
config has none): the halt of the kill switch, the live-ClOrdID rule and, with
``risk_limits``, the pre-trade `RiskChecker` (`kalshi_fix_sansio.trading.risk`) refuse before anything
is encoded, sequenced, stored or sent; order messages (35=D, 35=G, 35=F) are recorded in the
tracker before they go out (and forgotten if they cannot go).

A halt set outside the process (``halt_source``: a client's
`HaltFile <kalshi_fix_sansio.trading.haltfile.HaltFile>`, written by ``kalshi-fix kill``) is asked at
`start` and then on the driver's own timer, never per order; while it holds, the gate refuses
as when halted (`OutsideHalt` says when it begins and lifts). A dead man's switch
(``dead_man``, `DeadMansSwitch`) is checked on the same timer, before the events of a read or
a lost connection, and by the gate on every order-creating message (one comparison of its
``now`` with the switch's deadline): when the application has not called ``alive`` for its
interval, the driver halts and kills its orders, and a message sent past the deadline fires it
there and is refused.

An adapter therefore only moves bytes, does TLS, sleeps and hands events from `next_event` to
the application; ``place()`` / ``cancel()`` wait on the tracker, never on the queue.

`Driver` is one class, the client of one session across its connections: what it does is in
its own methods, grouped by meaning (the loop's inputs and outputs, the event queue, the receive
path, REST reconciliation, the kill switch and the halts, the trading state's announcements, the
application's side), and what it keeps is in the parts it owns: the `Supervisor` (connections,
and the `Session` under it), the `OrderDesk` (``desk``: the tracker, the books, catch-up, the
waits of ``place()``), the `OrderGate` (``gate``), the `Loop` part (the loop contract's steps),
the queue's `QueuePolicy` and `SessionMetrics`.

The receive path: a read goes through one call per layer. `received` steps it through the loop
part, whose `Received` step hands bytes read on an open connection before any deadline to
`quick_read`: the supervisor's read asks the session's `Session.read`, which hands back the event
of a read that was one application message and nothing else, and the desk queues it and applies
it to the books. When that is all the read did, nothing is to be written and no deadline came
sooner than the one the loop last told, and `quick_read` says so without asking the layers below
for their bytes and deadlines. Every other read takes the general path (`receive_data`, then the
loop's actions).
"""

from __future__ import annotations

import contextlib
import logging
import math
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

import attrs

from ..codec import Message
from ..codec.errors import FixError, LocalProtocolError, TransportError
from ..observability.metrics import SessionMetrics
from ..rest.pages import RestRequest, RestResponse
from ..rest.reconcile import (
    Reconciled,
    ReconcileFailed,
    ReconcileStarted,
    Reconciliation,
    RestOptions,
    wants_reconciliation,
)
from ..session import Credentials
from ..session.config import SessionConfig
from ..session.events import ApplicationMessage, Event
from ..session.machine import Session
from ..session.store import StoreError
from ..trading.book import Books
from ..trading.catchup import (
    CatchUp,
    CatchUpComplete,
    CatchUpFailed,
    ExecCursor,
    OrdersUnknown,
    catches_up,
)
from ..trading.deadman import DeadMansSwitch
from ..trading.gate import (
    ALL_MARKETS,
    OrderGate,
    TradingHalt,
    TradingHalted,
    TradingState,
    TradingStateChanged,
)
from ..trading.killswitch import (
    DEFAULT_FALLBACK_AFTER,
    HaltSource,
    KillReport,
    KillSwitch,
    OutsideHalt,
    cancels_orders,
)
from ..trading.risk import BookSource
from ..trading.tracker import FillInferred, OrderTracker
from ._callers import Delivery, any_event
from ._clientoptions import ConnectOptions, SessionOptions, describe_target
from ._desk import OrderDesk, OrderWaiter
from ._endpoints import check_endpoint
from ._loglines import log_event, log_fields, log_session_event
from ._loop import DEFAULT_MAX_BUFFERED, Loop, Steps, not_a_fact
from ._queue import (
    BOOK_TYPES,
    DEFAULT_MAX_EVENTS,
    DEFAULT_MAX_MARKET_DATA,
    EventQueueOverflow,
    EventsNotRead,
    FallingBehind,
    MarketDataFolded,
    TrackingFailed,
    book_symbols,
    is_book,
    make_queue_policy,
)
from ._transport import TRANSPORT_LOGGER_NAME, session_logger
from .account import Account
from .reconnect import Backoff
from .steps import NO_PUMP, Action, Fact, Kill, Pump, Received, Send, Write
from .supervisor import _ACTIVE, Supervisor

if TYPE_CHECKING:
    from ..observability import MessageLog
    from ..observability.metrics import SessionMetrics
    from ..session.config import SessionConfig
    from ..trading.book import Books
    from ..trading.deadman import DeadMansSwitch
    from ..trading.gate import OrderGate
    from ._callers import Delivery
    from ._clientoptions import ConnectOptions
    from ._desk import OrderDesk
    from .steps import Pump
    from .supervisor import Supervisor

__all__ = [
    "DEFAULT_MAX_BUFFERED",
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_MAX_MARKET_DATA",
    "Driver",
    "EventsNotRead",
    "OrderWaiter",
    "RateLimitMode",
    "TrackingFailed",
]

RateLimitMode = Literal["wait", "raise"]
"""What a session does with a message its rate limiter cannot take yet: ``"wait"`` until it can
(`place`, `cancel`, the blocking `send`, the async ``send_when_allowed``), or ``"raise"``
`RateLimitExceeded` at once."""

T = TypeVar("T")

_log = logging.getLogger(TRANSPORT_LOGGER_NAME)

FIRST_LOOK: Final = object()
"""``Driver._release_seen`` before an open's first look at the halt source: a request to
release unknown outcomes already there is older than the session, so not for it."""


def _orders_unknown(gate: OrderGate, event: Any) -> None:
    gate.outcomes_unknown(event.cl_ord_ids, event.reason)


def _catch_up_failed(gate: OrderGate, event: Any) -> None:
    gate.state_unknown(f"catch-up failed: {event.reason}", catch_up=True)


def _reconcile_failed(gate: OrderGate, event: Any) -> None:
    gate.state_unknown(f"a REST reconciliation failed ({event.endpoint}): {event.reason}")


OUTCOME_EVENTS: dict[type, Callable[[OrderGate, Any], None]] = {
    OrdersUnknown: _orders_unknown,
    CatchUpFailed: _catch_up_failed,
    ReconcileFailed: _reconcile_failed,
    CatchUpComplete: lambda gate, _: gate.outcomes_known(catch_up=True),
    Reconciled: lambda gate, _: gate.outcomes_known(),
}
"""The events that tell the order gate an order outcome became unknown, or known again."""

_NOTHING: tuple[Action, ...] = ()
_RECONCILE_ON = frozenset(
    {CatchUpFailed, OrdersUnknown, FillInferred}
)  # `wants_reconciliation`'s events


def _check_parts(
    rest: RestOptions | None,
    block_unknown: bool | None,
    settle_unknown: bool | None,
    tracker: OrderTracker | None,
    cursor: ExecCursor | None,
    halt_source: HaltSource | None,
) -> None:
    """The driver's parts given as keywords are of their types, or a `LocalProtocolError`."""
    if rest is not None and not isinstance(rest, RestOptions):
        raise LocalProtocolError(f"rest must be RestOptions or None, got {rest!r}")
    for name, value in (("block_unknown", block_unknown), ("settle_unknown", settle_unknown)):
        if value is not None and not isinstance(value, bool):
            raise LocalProtocolError(f"{name} must be True, False or None, got {value!r}")
    if tracker is not None and not isinstance(tracker, OrderTracker):
        raise LocalProtocolError(f"tracker must be an OrderTracker, got {type(tracker).__name__}")
    if cursor is not None and not isinstance(cursor, ExecCursor):
        raise LocalProtocolError(f"cursor must be an ExecCursor, got {type(cursor).__name__}")
    if halt_source is not None:
        interval = getattr(halt_source, "interval", None)
        if (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not 0 < interval < math.inf
        ):
            raise LocalProtocolError(f"halt_source.interval must be seconds > 0, got {interval!r}")


def _order_gate(
    config: SessionConfig,
    *,
    tracker: OrderTracker | None,
    halt: TradingHalt | None,
    shared_halt: TradingHalt | None,
    risk_books: Books | BookSource | None,
    metrics: SessionMetrics,
    outside_halt: TradingHalt | None,
    block_unknown: bool | None,
) -> tuple[OrderGate, SessionConfig]:
    """The session's `OrderGate`: the config's own (given the driver's parts), or a new one put
    in the config."""
    given = config.order_gate
    if given is not None and not isinstance(given, OrderGate):
        raise LocalProtocolError(
            f"SessionConfig.order_gate of a driver must be an OrderGate, got {given!r}"
        )
    gate = given
    if gate is None:
        gate = OrderGate(
            config.product,
            tracker=tracker,
            halt=halt,
            shared_halt=shared_halt,
            risk_books=risk_books,
            metrics=metrics,
            outside_halt=outside_halt,
            block_unknown=block_unknown is not False,
        )
        config = attrs.evolve(config, order_gate=gate)
    else:
        if tracker is not None and tracker is not gate.tracker:
            raise LocalProtocolError(
                "tracker: the config's OrderGate keeps another OrderTracker (give it to the gate)"
            )
        if gate.metrics is None:
            gate.metrics = metrics
        if outside_halt is not None:
            gate.use_outside_halt(outside_halt)
        if block_unknown is not None:
            gate.block_unknown = block_unknown
    return gate, config


def _catch_up_setting(
    config: SessionConfig, cursor: ExecCursor | None, catch_up: bool | None
) -> bool | None:
    """Whether drop-copy catch-up runs (None: the session type cannot request a replay)."""
    possible = catches_up(config)
    if cursor and not possible:
        raise LocalProtocolError(
            f"cursor: {config.session_type} ({config.product}) does not catch up with "
            "drop copy, so an ExecCursor would be ignored (give it to a KalshiNR session)"
        )
    if catch_up and not possible:
        raise LocalProtocolError(
            f"catch_up=True: {config.session_type} ({config.product}) cannot request a "
            "replay of missed ExecutionReports (drop-copy catch-up runs on KalshiNR; "
            "KalshiRT recovers by ResendRequest)"
        )
    return None if not possible else catch_up is not False


class Driver:
    """One initiator session's supervisor, tracker, books, catch-up and event queue (sans-IO).

    Args:
        config: the session config (initiator).
        options: the connection's options as data (`ConnectOptions`: endpoint, TLS, backoff,
            reconnect, message log...), for a pump that connects: when given, its
            ``backoff``, ``reconnect``, ``maintenance_reset``, ``account``, endpoint (as
            ``peer``) and ``connect_timeout`` (as ``write_timeout``) are the driver's, in place
            of those keywords.
        settings: the session's options (`SessionOptions`), made once by whoever makes the
            driver (an adapter's session, a client); None: made of the keywords below.
        backoff: reconnect delays (the driver's own; see `Supervisor`).
        reconnect: reconnect after a logged-on connection is lost.
        maintenance_reset: see `Supervisor`.
        peer: how errors name the other end.
        metrics: the `SessionMetrics` to keep current (e.g. one kept across opens); a new
            one if None.
        write_timeout: seconds bytes may wait for a peer that does not read before the
            connection counts as lost (`write_buffered`); None: no limit.
        max_buffered: most bytes that may wait for the peer (`write_buffered`).
        halt: the `TradingHalt` of this driver's gate (e.g. one kept across opens); a new one
            if None.
        account: the `Account <kalshi_fix_sansio.client.account.Account>` of the session's key (its
            Logon budget and order; the `Supervisor`'s ``account``).
        start_rest: starts the pump's REST companion when a round begins (None: a warning
            says nothing sends the round's requests).
        pump: makes the `Pump` that performs the driver's actions with a loop's I/O (given
            the driver); None: none (a loop author steps the driver and performs them).
        open_hint: how to open, in the error of a call before that.
        **chosen: `SessionOptions` fields as keywords (``Driver(config, risk_limits=...)``),
            over ``settings``.

    Raises:
        LocalProtocolError: the config is an acceptor's, ``catch_up=True`` on a session type
            that cannot request a replay, ``risk_limits`` is not a `RiskLimits`, the config's
            `OrderGate` keeps another tracker than ``tracker``, a bad ``max_queued_events``,
            ``queue_policy``, ``tracker``, ``cursor`` or ``rate_limit``, or ``on_event`` with
            ``queue_events=False``.
    """

    def __init__(
        self,
        config: SessionConfig,
        options: ConnectOptions | None = None,
        *,
        settings: SessionOptions | None = None,
        backoff: Backoff | None = None,
        reconnect: bool = True,
        maintenance_reset: bool = False,
        peer: object = "the gateway",
        metrics: SessionMetrics | None = None,
        write_timeout: float | None = None,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
        halt: TradingHalt | None = None,
        account: Account | None = None,
        start_rest: Callable[[], None] | None = None,
        pump: Callable[[Driver], Pump] | None = None,
        open_hint: str = "drive it with step(fact, now)",
        **chosen: Any,
    ) -> None:
        made = SessionOptions.of(settings, chosen)
        on_event, on_reconnect, clock = made.on_event, made.on_reconnect, made.clock
        tracker, cursor, rest, dead_man = made.tracker, made.cursor, made.rest, made.dead_man
        risk_limits, risk_books, shared_halt = made.risk_limits, made.risk_books, made.shared_halt
        halt_source, outside_halt = made.halt_source, made.outside_halt
        block_unknown, settle_unknown = made.block_unknown, made.settle_unknown
        _check_parts(rest, block_unknown, settle_unknown, tracker, cursor, halt_source)
        self.settle_unknown = settle_unknown
        """Whether an `OrdersUnknown` makes the session ask the exchange about its orders (a
        cancel each; None: when the block is on and there is no REST reconciliation)."""
        policy = make_queue_policy(made.max_queued_events, made.queue_policy)
        if not policy.queue_events and on_event is not None:
            raise LocalProtocolError(
                "on_event needs events: it cannot be used with queue_events=False"
            )
        if options is not None:  # a pump's connection options: its settings are the driver's
            backoff, reconnect = options.backoff, options.reconnect
            maintenance_reset, peer = options.maintenance_reset, options.endpoint
            write_timeout, account = options.connect_timeout, options.account
        if halt_source is not None and outside_halt is None:
            outside_halt = TradingHalt()
        if metrics is None:
            metrics = SessionMetrics(config.product, config.session_type, config.sender_comp_id)
        gate, config = _order_gate(
            config,
            tracker=tracker,
            halt=halt,
            shared_halt=shared_halt,
            risk_books=risk_books,
            metrics=metrics,
            outside_halt=outside_halt,
            block_unknown=block_unknown,
        )
        self.gate = gate
        if account is not None:  # the account's order entry knows its RFQ sessions' quotes
            gate.on_quote = account.quote_sent
        """The `OrderGate` every order-creating message of this session passes (kept across
        opens, as the tracker and the halts it asks)."""
        self.config = config
        self.options = options
        """The connection's options as data (endpoint, TLS, backoff, message log), for the
        pump that connects (None: a loop author's driver, its settings the keywords)."""
        self.policy = policy
        """What happens when the application reads events slowly (`QueuePolicy`)."""
        self.on_event, self.on_reconnect = on_event, on_reconnect
        self.time_source = clock
        """UTC epoch seconds the core runs on when given (a test's, a simulation's); None: the
        pump's wall clock (``clock`` is the one in use)."""
        self.name = f"{config.product}/{config.session_type}"
        """The session's name in log lines: ``product/session type``."""
        self._log_fields = log_fields(config)
        self.logger = session_logger(config.product, config.session_type, config.sender_comp_id)
        """This session's logger, ``kalshi_fix_sansio.session.<product>.<session type>.<key>``:
        its protocol events, with the ``extra`` fields ``product``, ``session_type``,
        ``key_id`` and ``event`` (connection events stay on ``kalshi_fix_sansio.transport``,
        with the same fields)."""
        self.tracker: OrderTracker = gate.tracker
        """Orders, fills and positions, fed with every event as it is read."""
        self._catch_up_on = _catch_up_setting(config, cursor, made.catch_up)
        self._cursor = cursor
        self.cursor = cursor if cursor is not None else ExecCursor()
        """The newest ExecID seen per exchange index: where drop-copy catch-up resumes (save
        it with `ExecCursor.save` to resume after a restart)."""
        self._supervisor_options = (backoff, reconnect, maintenance_reset, peer, account)
        self._write_timeout, self._max_buffered = write_timeout, max_buffered
        self.rest_options = rest
        self._start_rest = start_rest  # how the pump's REST companion starts (None: none)
        self._rest_running = False  # a companion runs the round under way
        self.observer: Callable[[Event], None] | None = None
        """Also called with every event other than an `ApplicationMessage` (connection,
        session and catch-up events, `FallingBehind`...) as it happens, after the driver logged
        it and before it is queued. It must not block."""
        if risk_limits is not None:
            gate.risk_limits = risk_limits
        metrics.attach(self._depth)
        self.metrics = metrics
        """Counters and order round-trip histograms (`kalshi_fix_sansio.observability.metrics`), kept
        current as the bytes are read and written; ``metrics.snapshot()`` reads them."""
        self.halt_source = halt_source
        """The `HaltSource` asked on the timer (None: none)."""
        self.outside_halt = outside_halt
        """The `TradingHalt` the ``halt_source`` sets (None without one)."""
        self._arm_dead_man(dead_man)
        # -- what a pump and the application's waits share (a session of the adapters) --
        self.delivery = Delivery(on_event is not None, on_reconnect is not None)
        self.open_hint = open_hint  # how to open, for an error before that
        self.message_log: MessageLog | None = None  # the message log of the current open
        self._rate_limit: RateLimitMode = "wait"  # what `offer` does when the limiter is full
        self.rate_limit = made.rate_limit
        self.crash: Exception | None = None  # what stopped the pump (`pump_failed`)
        self.opened = False  # opened and not closed since (a second open is refused)
        self.running = False  # the pump's thread or task runs (until `pump_ended`)
        self.begun = False  # `renew` was called: a pump opened the driver at least once
        self.pump: Pump = NO_PUMP if pump is None else pump(self)
        """What performs the actions with a loop's I/O (`Pump`), made by the factory given:
        the driver calls it, never the other way round."""
        self.lock = self.pump.lock
        self.clock = self.pump.clock
        self._parts()

    def _parts(self) -> None:
        """What one open runs on: a new supervisor, order desk (books, catch-up, the kill
        switch), REST round, event queue and loop part (the gate, the tracker, the cursor,
        the metrics and the halts are the driver's, across opens)."""
        config, gate, metrics = self.config, self.gate, self.metrics
        backoff, reconnect, maintenance_reset, peer, account = self._supervisor_options
        self.supervisor = Supervisor(
            config,
            backoff=backoff,
            reconnect=reconnect,
            maintenance_reset=maintenance_reset,
            peer=peer,
            account=account,
        )
        on = self._catch_up_on
        catch_up_part = None if on is None else CatchUp(self._cursor, enabled=on)
        self.desk = OrderDesk(
            config, self.supervisor, gate, metrics, catch_up_part, emit=self._emit, put=self._put
        )
        """The order desk: tracker, books, gate memory, catch-up and the kill switch, fed with
        every event as it is read (`kalshi_fix_sansio.client._desk`)."""
        self.books: Books | None = self.desk.books
        """The order books of a market-data session (None on other session types)."""
        self.catch_up: CatchUp | None = catch_up_part
        """The drop-copy catch-up of this session (None where the session type has none)."""
        rest = self.rest_options
        self.reconciliation: Reconciliation | None = None
        """REST reconciliation of ``tracker`` (None without ``rest``)."""
        if rest is not None:
            self.reconciliation = rest.build(
                self.tracker,
                Credentials(config.sender_comp_id, config.signer),
                config.product,
                catch_up_part.replayed if catch_up_part is not None else None,
                None if account is None else account.made_quote,
            )
            self.reconciliation.sink = self._emit_all  # the answers' events: queued
        self._queue: deque[tuple[Event, float]] = deque()
        self._market_data = 0  # unread 35=W / 35=X events in the queue
        self._warned = False
        self._reading = False  # the application took an event: warn when it falls behind
        self._not_read = 0  # events dropped before the application read any
        self._last_input = 0.0  # the ``now`` of the last input
        self._announced: tuple[TradingState, str | None, tuple[str, ...]] = (
            TradingState.ACTIVE,
            None,
            (),
        )  # the trading state last announced (`announce`)
        self._failure: FixError | None = None
        self._halt_due: float | None = None  # when to ask the halt source next
        self._release_seen: object = FIRST_LOOK  # the shell's last release request seen
        self.loop = Loop(
            self, self.supervisor, self._write_timeout, self._max_buffered, quick=self.quick_read
        )
        """The loop part: the connection's life, the wake-ups and the slow-peer verdict
        (`step`)."""
        # the loop part's facts, and a send: the driver's own
        self._steps: Steps = {**self.loop.steps, Send: self._send}  # type: ignore[dict-item]
        self._read = self.loop.read  # what `received` steps, without `step`'s call or the fact

    def renew(self) -> None:
        """Begin an open: a new supervisor, desk, queue and loop part (the first open runs on
        those made with the driver); the last open's crash forgotten."""
        if self.begun:
            self._parts()
        self.begun = True
        self.crash = None

    # -- what a pump and the application's waits ask (`_callers.WaitHost`) ------------------

    def take_event(self, predicate: Callable[[Event], bool]) -> Event | None:
        """The first unread event satisfying ``predicate`` (taken, as delivered), or None.

        A reader's take of the oldest (``any_event``, once it reads) is `next_event_with_time`,
        `_taken` and `Delivery.delivered` written out: the same steps in the same order."""
        queue = self._queue
        if predicate is any_event and self._reading and self.begun and self.policy.queue_events:
            if not queue:
                return None  # nothing to take (a wait's look before the next read)
            item = queue.popleft()
            event = item[0]
            if (  # `_taken`, inline
                self._market_data
                and event.__class__ is ApplicationMessage
                and event.message.MSG_TYPE in BOOK_TYPES
            ):
                self._market_data -= 1
            if not queue:
                self._warned = False
            delivery = self.delivery
            delivery.recent.append(weakref.ref(event))
            delivery.times.append(item[1])
            return event
        if not self.begun:
            return None
        if not self.policy.queue_events:
            raise LocalProtocolError(
                "this session was opened with queue_events=False: it queues no events "
                "(use session.tracker, place() and cancel())"
            )
        now = None  # the clock matters only to the first read: one that comes late is told
        if not self._reading:  # FallingBehind at once
            now = self.clock()
        elif not queue:
            return None  # nothing to take
        found = (  # `next_event`'s predicate takes the oldest: no scan of the queue
            self.next_event_with_time(now)
            if predicate is any_event
            else self.take_with_time(predicate, now)
        )
        if found is None:
            return None
        return self.delivery.delivered(found)

    def ended(self) -> bool:
        return not self.running  # the pump's thread or task: never started, or finished

    def closed_error(self) -> Exception:
        """What reading from a session with no event left raises: what stopped its pump's
        thread or task unexpectedly (e.g. a `LocalProtocolError` from `loopback_addresses`),
        else the driver's failure, else `TransportError` (closed) or `LocalProtocolError`
        (never opened)."""
        if self.crash is not None:
            return self.crash
        if not self.begun:
            return LocalProtocolError(f"not connected: {self.open_hint}")
        return self.failure or TransportError("the session is closed")

    def offer(
        self, message: Message, *, resubscribe: bool = False, wait: bool = True
    ) -> tuple[int | None, float]:
        """Hand ``message`` to the core: ``(MsgSeqNum, 0.0)`` once sent, or ``(None, delay)``
        when ``wait`` is asked and ``rate_limit`` is ``"wait"`` and the core says its tokens are
        ``delay`` seconds away (sleep, then offer again; what the driver refuses before sending,
        a live ClOrdID or a risk limit, is raised at once rather than after the wait). Every
        order message sent is recorded in the tracker, on every path.
        """
        if not self.begun:
            raise LocalProtocolError(f"not connected: {self.open_hint}")
        if wait and self._rate_limit == "wait" and self.config.rate_limiter is not None:
            fact = Send(message, resubscribe, True)  # paced: `_send` says how long to wait
            with self.lock:
                now = self.clock()
                try:
                    actions = self._send(fact, now)
                except TradingHalted:  # the dead man's switch may have fired on it
                    self.pump.perform(self, self.loop.actions(now, False))  # its kill goes now
                    raise
                if actions:
                    self.pump.perform(self, actions)
            if fact.error is not None:  # the store failed: the session ended with it
                raise fact.error
            return fact.seq, fact.delay
        with self.lock:  # nothing paces it: sent now, its bytes handed to the pump at once
            now = self.clock()
            try:
                seq, data = self.supervisor.send_out(message, now, resubscribe=resubscribe)
            except (StoreError, TradingHalted):  # not sent: the session ended with the
                # store; or halted, maybe by the dead man's switch firing on it: its kill goes now
                self.pump.perform(self, self.loop.actions(now, False))
                raise
            if data:
                self.metrics.on_sent_bytes(data)
                self.pump.write(self, data)
        return seq, 0.0

    def give_up(self, waiter: OrderWaiter) -> None:
        with self.lock:  # its caller gave up: no longer settled
            self.desk.forget(waiter)

    def waiter(self, message: Message, until: str = "ack") -> OrderWaiter:
        """What `place` / `cancel` wait for (`OrderDesk.order_waiter`), before sending
        ``message``."""
        if not self.begun:
            raise LocalProtocolError(f"not connected: {self.open_hint}")
        with self.lock:
            return self.desk.order_waiter(message, until)

    def act(self, fact: Fact) -> None:
        """Step an application's fact (`CLOSE`, `Kill`) at the pump's time and have the pump
        perform the answer, under its lock."""
        if not self.begun:
            raise LocalProtocolError(f"not connected: {self.open_hint}")
        with self.lock:
            self.pump.perform(self, self.step(fact, self.clock()))

    def logged_on(self) -> bool:
        """The open is done: logged on (a loss right after comes through `next_event`)."""
        return self.begun and self.supervisor.connections > 0

    def check_failed(self) -> None:
        """Raise what ended the session, if it did not end with a clean close."""
        if not self.begun or self.failure is not None or self.crash is not None:
            raise self.closed_error()

    def pump_failed(self, error: Exception) -> None:
        """The pump cannot go on (a refused address, a failing message log): raised to callers."""
        if self.crash is None:
            self.crash = error

    def pump_ended(self) -> None:
        """The pump's thread or task ended (after its last delivery)."""
        self.running = False

    def pump_closed(self, cleanly: bool = True) -> None:
        """The pump closed the session (not ``cleanly``: its thread or task still runs)."""
        self.opened = not cleanly

    @property
    def close_grace(self) -> float:
        """Seconds a pump waits for its loop to end once it stepped `CLOSE`: the logout
        timeout for the peer's answer, and a second for the loop's last turn."""
        return self.config.logout_timeout + 1.0

    # -- the loop author's orders ---------------------------------------------------------------

    def place(self, order: Message, now: float, until: str = "ack") -> OrderWaiter:
        """Send an order (or a replace) at ``now``: the `OrderWaiter` returned is done once it
        is acknowledged (``until="filled"``: final) or rejected, as the reports are read. Its
        bytes are the next `data_to_send`. Raises as `send` (the waiter then forgotten)."""
        waiter = self.desk.order_waiter(order, until)
        try:
            self.send(order, now)
        except BaseException:
            self.desk.forget(waiter)
            raise
        return waiter

    def cancel(self, request: Message, now: float) -> OrderWaiter:
        """Send a cancel at ``now``: its `OrderWaiter` is done once it is answered (`place`)."""
        return self.place(request, now)

    # -- outputs (as the supervisor's) ----------------------------------------------------------

    @property
    def failure(self) -> FixError | None:
        """Why the session ended (the queue overflowed, or the supervisor gave up), else None."""
        return self._failure or self.supervisor.failure

    def next_deadline(self) -> float | None:
        """When to call `handle_timer` (or, while waiting, to connect), or None.

        While events wait unread, that includes when the oldest of them will be
        ``lag_warning`` seconds old (`FallingBehind` is due then, even if nothing is read).
        """
        deadline = self.supervisor.next_deadline()
        desk = self.desk  # its deadlines are a catch-up round's and a kill's: none without them
        if (desk.catch_up is not None or desk.kill is not None) and (
            due := desk.next_deadline()
        ) is not None:
            if deadline is None or due < deadline:
                deadline = due
        halt_due = self._halt_due  # the halt source's next look (None without one)
        if halt_due is not None and (deadline is None or halt_due < deadline):
            deadline = halt_due
        if self.dead_man is not None and (due := self.dead_man.next_deadline()) is not None:
            if deadline is None or due < deadline:
                deadline = due
        if self._queue and self._reading and not self._warned:
            due = self._queue[0][1] + self.policy.lag_warning
            if deadline is None or due < deadline:
                return due
        return deadline

    def data_to_send(self, now: float | None = None) -> bytes:
        """Bytes to write to the current connection (and forget); ``now`` is not needed."""
        data = self.supervisor.data_to_send()
        if data:
            self.metrics.on_sent_bytes(data)
        return data

    # -- inputs -----------------------------------------------------------------------------------

    def step(self, fact: Fact, now: float) -> Sequence[Action]:
        """Take one fact of the loop at ``now`` and say what the loop must do: the driver's
        contract with an event loop (`kalshi_fix_sansio.client.steps`; the loop part, `Loop`).

        Raises:
            LocalProtocolError: not a fact; and what the method the fact stands for raises
                (`send`, `kill`).
        """
        handler = self._steps.get(fact.__class__)  # `Loop.step`, one call less per fact
        if handler is None:
            raise not_a_fact(fact)
        return handler(fact, now)

    def _send(self, fact: Send, now: float) -> Sequence[Action]:
        """`Send`: sent now (``fact.seq``) and its bytes written, or, ``paced``, not before
        ``fact.delay`` seconds (what `send` would refuse before that, a live ClOrdID or a risk
        limit, is raised at once, not after the wait). A send never brings the next deadline
        sooner, and one that went through was on a connection in use: its bytes are all there
        is to do. A store that fails ends the session (``fact.error``, raised to the
        application once the loop is told)."""
        message = fact.message
        sup = self.supervisor
        if fact.paced and self.config.rate_limiter is not None:  # else nothing paces it
            session = sup.session
            if session is not None:
                delay = session.send_delay(message, now)
                if 0.0 < delay < math.inf:  # inf: the session's refusal says it never fits
                    self.gate.check(message, now)
                    fact.delay = delay
                    return _NOTHING
        try:
            fact.seq, data = sup.send_out(message, now, resubscribe=fact.resubscribe)
        except StoreError as exc:  # not sent, and the session ended with it
            fact.error = exc
            return self.loop.actions(now, False)
        if not data:
            return _NOTHING
        self.metrics.on_sent_bytes(data)
        return (Write(data),)

    def start(self, now: float) -> None:
        """Begin: the first connection is due at once (the halt source is asked first: a
        session opened while halted from outside refuses new orders from the start)."""
        if self.halt_source is not None:
            self._ask_halt_source(now, started=False)
        if self.dead_man is not None:
            self.dead_man.alive(now)  # opening a session is the application's act
        self.supervisor.start(now)

    def connection_made(self, now: float) -> None:
        """A connection (TCP + TLS) is open: a new session logs on over it."""
        due = self._halt_due
        if due is not None and now >= due:
            self._ask_halt_source(now)
        self.supervisor.connection_made(now)
        self._pump(now)

    def connection_failed(self, now: float, error: BaseException) -> None:
        """Opening a connection failed."""
        self.supervisor.connection_failed(now, error)
        self._pump(now)

    def connection_lost(self, now: float, reason: str) -> None:
        """The connection broke; ``reason`` is reported as is (after the firing of a dead
        man's switch past its deadline, as `receive_data`)."""
        dead_man = self.dead_man
        if dead_man is not None and now >= dead_man.deadline:
            self._check_dead_man(now)
        self.supervisor.connection_lost(now, reason)
        self._pump(now)

    def handle_timer(self, now: float) -> None:
        """Fire the timers that are due (the halt source's look and the dead man's switch
        among them)."""
        due = self._halt_due
        if due is not None and now >= due:
            self._ask_halt_source(now)
        if self.dead_man is not None:
            self._check_dead_man(now)
        self.supervisor.handle_timer(now)
        self._pump(now)

    def send(self, message: Message, now: float, *, resubscribe: bool = False) -> int:
        """Send an application message on the logged-on session (see `Supervisor.send`).

        Every order-creating message passes the session's `OrderGate` (``gate``) just before
        it is encoded: an order message (35=D, 35=G, 35=F) is recorded in ``tracker`` first
        (the answer may be read before this returns) and forgotten again if it is not sent.
        Before that, while halted a message that can create a position is refused; a
        NewOrderSingle or OrderCancelReplaceRequest is refused when its ClOrdID is still live
        in the tracker, or when ``risk_limits`` refuses it; cancels never are.

        Raises:
            TradingHalted: halted (`kill`, `halt`) and the message can create a position;
                also when ``now`` is at or past the ``dead_man`` switch's deadline: the switch
                fires first (its halt, event and kill; the kill's bytes in `data_to_send`).
            RiskLimitExceeded: a pre-trade limit refuses it (nothing was sent or tracked).
            LocalProtocolError: its ClOrdID is still live, or already tracked;
                ``resubscribe=True`` on a message that is not a subscription; and as
                `Supervisor.send`.
            RateLimitExceeded, TransportError, EncodeError: as `Supervisor.send` (then it is
                not tracked either).
        """
        return self.supervisor.send(message, now, resubscribe=resubscribe)

    def close(self, now: float) -> None:
        """Log out (if logged on), then close; idempotent."""
        self.supervisor.close(now)
        self._pump(now)

    # -- internals ----------------------------------------------------------------------------------

    def _pump(self, now: float) -> None:
        """Take every event the supervisor has to the desk (which queues them), then the loop's
        rules: waiters settled, `FallingBehind` when the oldest unread event is late."""
        self._last_input = now
        pending = self.supervisor.pending  # `Supervisor.next_event`, without its call
        desk = self.desk
        while pending:
            event = pending.popleft()
            if event.__class__ is ApplicationMessage:  # nearly every event: one test
                desk.apply(event, now)
            else:
                self._emit(event, now)
                desk.notice(event, now)
        desk.advance(now)
        if self.gate.state_changed:  # one test per input
            self.announce(now)
        queue = self._queue
        if (
            queue
            and self._reading
            and not self._warned
            and now >= queue[0][1] + self.policy.lag_warning
        ):
            self._warn(now)

    def _asks_unknown(self) -> bool:
        """Whether orders of unknown outcome are asked about (``settle_unknown``; never on a
        session that cannot cancel, a listener's)."""
        settle = self.settle_unknown
        if settle is None:
            settle = self.gate.block_unknown and self.reconciliation is None
        return settle and cancels_orders(self.config)

    def _emit(self, event: Event, now: float) -> None:
        on_gate = OUTCOME_EVENTS.get(event.__class__)
        if on_gate is not None:  # an order outcome unknown, or known again: before anyone reads
            on_gate(self.gate, event)
        self.metrics.on_event(event, now)
        self.observe(event)
        if self.observer is not None:
            self.observer(event)
        self._put(event, now)
        if on_gate is not None and event.__class__ is OrdersUnknown and self._asks_unknown():
            self.desk.ask_unknown(event.cl_ord_ids, now)
        rest = self.reconciliation
        if rest is not None and event.__class__ in _RECONCILE_ON:  # never an order's event
            why = wants_reconciliation(event)
            assert self.rest_options is not None
            if why is not None and self.rest_options.automatic:
                self._emit_all(rest.start(why, now), now)

    # -- the event queue: the application's reads, and what is queued under the `QueuePolicy` --

    def next_event(self, now: float | None = None) -> Event | None:
        """The oldest unread event, or None.

        ``now`` (optional, on every read method): the current time, which lets the first read
        of an application that starts reading late be told `FallingBehind` at once.
        """
        if not self._reading:
            self._first_read(now)
        if not self._queue:
            return None
        event = self._queue.popleft()[0]
        self._taken(event)
        return event

    def next_event_with_time(self, now: float | None = None) -> tuple[Event, float] | None:
        """The oldest unread event and its receive time, or None.

        The receive time is the ``now`` of the input that produced the event: for a message,
        the ``now`` given to `receive_data` with the bytes that completed it (the adapters
        pass their clock's UTC epoch seconds). The driver reads no clock: it is the time the
        caller said. A `FallingBehind` carries the time of the oldest event behind it.
        """
        if not self._reading:
            self._first_read(now)
        if not self._queue:
            return None
        item = self._queue.popleft()
        self._taken(item[0])
        return item

    def take(self, predicate: Callable[[Event], bool], now: float | None = None) -> Event | None:
        """Remove and return the first unread event satisfying ``predicate`` (others stay)."""
        item = self.take_with_time(predicate, now)
        return None if item is None else item[0]

    def take_with_time(
        self, predicate: Callable[[Event], bool], now: float | None = None
    ) -> tuple[Event, float] | None:
        """`take`, with the event's receive time (as `next_event_with_time`)."""
        if not self._reading:
            self._first_read(now)
        for index, item in enumerate(self._queue):
            if predicate(item[0]):
                del self._queue[index]
                self._taken(item[0])
                return item
        return None

    @property
    def queued(self) -> int:
        """How many events wait unread."""
        return len(self._queue)

    def lag(self, now: float) -> float:
        """Seconds the oldest unread event has waited (0.0 when none waits)."""
        return max(now - self._queue[0][1], 0.0) if self._queue else 0.0

    def _depth(self) -> int:
        return len(self._queue)

    def _lag_bound(self) -> float | None:
        """The loop part's wake-up bound (`Loop.deadline`): ``lag_warning`` while reads may
        queue events (a connection in use, events queued for the application)."""
        policy = self.policy
        if not policy.queue_events or self._failure is not None or not self._reading:
            return None
        return policy.lag_warning if self.supervisor.wants_transport else None

    def _first_read(self, now: float | None) -> None:
        """The application reads: from now on it is warned when it falls behind, at once if
        the oldest event already waited ``lag_warning`` (until now, nobody was reading)."""
        self._reading = True
        if now is None:
            now = self._last_input
        queue = self._queue
        if queue and now - queue[0][1] >= self.policy.lag_warning:
            self._warn(now)

    def _taken(self, event: Event) -> None:
        if (  # `_is_book`, inline
            self._market_data
            and event.__class__ is ApplicationMessage
            and event.message.MSG_TYPE in BOOK_TYPES
        ):
            self._market_data -= 1
        if not self._queue:
            self._warned = False

    def _warn(self, now: float) -> None:
        """Put a `FallingBehind` at the front of the queue, as old as the oldest event."""
        queue = self._queue
        self._warned = True
        behind = FallingBehind(len(queue), now - queue[0][1])
        self.metrics.on_event(behind, now)
        if self.observer is not None:
            self.observer(behind)
        queue.appendleft((behind, queue[0][1]))  # as old as the oldest: `lag` holds

    def _put(self, event: Event, now: float) -> None:
        policy = self.policy
        if not policy.queue_events or self._failure is not None:
            return
        queue = self._queue
        queue.append((event, now))
        if len(queue) > self.metrics.queue_high_water:
            self.metrics.queue_high_water = len(queue)
        if (  # `_is_book`, inline (an application message is of that class exactly)
            self.books is not None
            and event.__class__ is ApplicationMessage
            and event.message.MSG_TYPE in BOOK_TYPES
        ):
            self._market_data += 1
            if self._market_data > policy.max_market_data:
                self._fold(now)
        elif len(queue) - self._market_data - (self._not_read > 0) > policy.max_events:
            if self._reading:
                self._overflow(now)
            else:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        """Nobody read an event yet and too many wait: drop the oldest, say so at the front."""
        queue = self._queue
        at = 1 if self._not_read else 0  # behind the `EventsNotRead` already in front
        oldest = queue[at]
        del queue[at]
        if is_book(oldest[0]):
            self._market_data -= 1
        self._not_read += 1
        notice = (EventsNotRead(self._not_read), queue[0][1] if at else oldest[1])
        if at:
            queue[0] = notice
        else:
            queue.appendleft(notice)

    def _fold(self, now: float) -> None:
        kept: deque[tuple[Event, float]] = deque()
        symbols: set[str] = set()
        folded, oldest = 0, now
        for event, at in self._queue:
            if is_book(event):
                folded += 1
                oldest = min(oldest, at)
                symbols.update(book_symbols(event))
            else:
                kept.append((event, at))
        notice = MarketDataFolded(folded, tuple(sorted(symbols)), now - oldest)
        self.metrics.on_event(notice, now)
        if self.observer is not None:
            self.observer(notice)
        kept.append((notice, now))
        self._queue = kept
        self._market_data = 0

    def _overflow(self, now: float) -> None:
        queued, behind = len(self._queue), self.lag(now)
        self._failure = EventQueueOverflow(
            f"{queued} events wait unread, over the limit of {self.policy.max_events} "
            f"(QueuePolicy.max_events / max_queued_events); the oldest has waited {behind:.1f} s. "
            "The application stopped reading events: the session logged out rather than drop "
            "one (the order tracker is current). Read events faster, raise the limit, or pass "
            "queue_events=False if you only use place() / cancel() and the tracker",
            queued=queued,
            behind=behind,
        )
        self.supervisor.close(now)

    # -- the receive path ---------------------------------------------------------------------

    def received(self, fact: Received) -> Sequence[Action]:
        """Log the bytes read (``b""``: EOF), step them at the pump's time (`read_bytes`)."""
        return self.read_bytes(fact.data)

    def read_bytes(self, data: bytes) -> Sequence[Action]:
        """The pump's read of ``data`` (``b""``: EOF), logged and stepped through the loop
        part's `Received` step (its ``read``) at the pump's time: `received` without the
        fact."""
        now = self.clock()
        if data and self.message_log is not None:
            self.message_log.received(data, now)
        return self._read(data, now)

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes read from the connection (``b""``: the peer closed it).

        ``now`` is the receive time of every event these bytes produce
        (`next_event_with_time`). A dead man's switch past its deadline fires first: its
        `DeadMansSwitchFired` comes before what the bytes bring (a `Disconnected` included).
        (A read before the deadline the loop last told takes `quick_read`: the switch's
        deadline is not earlier than that one, a rearm telling the loop its new one, so it is
        not due there.)
        """
        dead_man = self.dead_man
        if dead_man is not None and now >= dead_man.deadline:
            self._check_dead_man(now)
        self.metrics.bytes_in += len(data)
        self.supervisor.receive_data(data, now)
        self._pump(now)

    def quick_read(self, data: bytes, now: float, told: float) -> bool:
        """`receive_data` of bytes (not EOF) read before the deadline the loop last told
        (``told``): True when the loop has nothing to do after it (nothing to write, no
        deadline sooner than ``told``: a market-data message queued and applied to the books,
        and nothing else); False: the loop's actions after a read are due."""
        self.metrics.bytes_in += len(data)
        # `Supervisor.read`, inline: the session's read when the supervisor is active with
        # nothing of its own waiting, else its `receive_data` (None: what it made queued)
        sup = self.supervisor
        session = sup.session
        if session is None or sup._state is not _ACTIVE or sup._events or sup._out:
            sup.receive_data(data, now)
            event = None
        else:
            event = session.read(data, now)
            if event is None:
                sup._process(session, now)
        if event is None or not self.desk.read_book(event, now):
            if event is not None:
                self.supervisor.pending.append(event)
            self._pump(now)
            return False
        self._last_input = now
        if self.gate.state_changed:
            self.announce(now)
            return False
        queue = self._queue
        if queue and self._reading and not self._warned:  # `FallingBehind`'s deadline
            due = queue[0][1] + self.policy.lag_warning
            if now >= due:
                self._warn(now)
                return False
            return due >= told
        return True

    def _emit_all(self, events: Sequence[Event], now: float) -> list[Event]:
        for event in events:
            self._emit(event, now)
        return list(events)

    # -- REST reconciliation (the I/O part sends; `kalshi_fix_sansio.rest.reconcile`) ----------------

    def _rest(self) -> Reconciliation:
        if self.reconciliation is None:
            raise LocalProtocolError(
                "this driver has no REST reconciliation: give it rest=RestOptions(...)"
            )
        return self.reconciliation

    def reconcile(self, now: float, reason: str = "asked for (reconcile())") -> None:
        """Start a REST reconciliation now (`ReconcileStarted`; a round under way runs again
        when it ends).

        Raises:
            LocalProtocolError: the driver has no ``rest``.
        """
        self._emit_all(self._rest().start(reason, now), now)

    def rest_request(self, now: float) -> RestRequest | None:
        """The next REST request to send (None: none now; see `rest_wake_at`)."""
        return self._rest().next_request(now)

    @property
    def rest_wake_at(self) -> float | None:
        """When the next REST request may go after a 429 / 5xx (None: now or none)."""
        return None if self.reconciliation is None else self.reconciliation.wake_at

    @property
    def rest_active(self) -> bool:
        """A REST reconciliation round is under way."""
        return self.reconciliation is not None and self.reconciliation.active

    def rest_response(self, response: RestResponse, now: float) -> list[Event]:
        """The answer to the REST request in flight: its events are queued (and returned)."""
        return self._rest().receive(response, now)  # its sink queues them

    def rest_unreachable(self, error: str, now: float) -> list[Event]:
        """The REST request in flight got no answer (``error`` in words): it is asked again
        after a delay; events queued (and returned)."""
        return self._rest().unreachable(error, now)  # its sink queues them

    # -- the kill switch, the halt source and the dead man's switch ---------------------------

    def _arm_dead_man(self, dead_man: DeadMansSwitch | None) -> None:
        if dead_man is not None and not isinstance(dead_man, DeadMansSwitch):
            raise LocalProtocolError(f"dead_man must be a DeadMansSwitch, got {dead_man!r}")
        self.dead_man = dead_man
        """The `DeadMansSwitch` asked on the timer, before a read's or a lost connection's
        events, and by the gate on every order-creating message (None: none)."""
        self._dead_man_seen = 0 if dead_man is None else dead_man.firings  # acted upon
        if dead_man is not None:  # a message sent past the deadline fires it there and then
            self.gate.watch(dead_man, self._check_dead_man)

    def kill_report(self, kill: KillSwitch) -> KillReport:
        """The report of ``kill`` now (a note when the session ended before it was done)."""
        with self.lock:
            report = kill.report(self.clock())
        if not report.done and self.ended():
            why = self.closed_error()
            report = attrs.evolve(report, notes=(*report.notes, f"the session ended: {why}"))
        return report

    def kill(
        self,
        now: float,
        *,
        halt: bool = True,
        use_groups: bool = True,
        fallback_after: float = DEFAULT_FALLBACK_AFTER,
        confirm: bool | None = None,
    ) -> KillSwitch:
        """Cancel every open order of this session by the fastest documented means
        (`kalshi_fix_sansio.trading.killswitch`): what can be sent now is sent now; the driver then
        keeps the returned `KillSwitch` current as the answers are read, sends its follow-ups
        (and, if the connection is down, what it could not send, after the reconnect) until
        ``kill_switch.done``. ``kill_switch.report(now)`` says where it is.

        Args:
            now: the current time.
            halt: also refuse new orders and replaces (`TradingHalted`) until `rearm`.
            use_groups: trigger order groups where 35=q is not available (KalshiRT).
            fallback_after: see `kalshi_fix_sansio.trading.killswitch.DEFAULT_FALLBACK_AFTER`.
            confirm: once the tracker shows nothing open, confirm it with a drop-copy replay
                from the cursor (EventResendRequest; an order it reveals open is cancelled
                too); None: when the session catches up (KalshiNR with ``catch_up`` on).

        Returns:
            The kill switch under way: pressing it again while one is under way returns that
            one (halting again if ``halt``); after one ended, a new one starts. A
            `KillStarted` event says it began, a `KillFinished` (with its report) that it
            ended.

        Raises:
            LocalProtocolError: ``confirm=True`` on a session that cannot request a replay.
        """
        can_confirm = self.catch_up is not None and self.catch_up.enabled
        if confirm and not can_confirm:
            raise LocalProtocolError(
                f"confirm=True: {self.config.session_type} ({self.config.product}) cannot ask "
                "the drop copy to confirm (a KalshiNR session with catch_up on can)"
            )
        if halt:
            self.gate.halt("the kill switch")
        kill = self.desk.kill
        if kill is not None and kill.finished_at is None:
            return kill  # pressed again: the kill under way goes on
        kill = KillSwitch(
            self.config,
            self.tracker,
            now,
            use_groups=use_groups,
            fallback_after=fallback_after,
            halted=self.gate.halted is not None,
            halt_reason=self.gate.halted,
            confirm=can_confirm if confirm is None else confirm,
        )
        self.desk.start_kill(kill, now)
        return kill

    def _kill_fact(self, fact: Kill, now: float) -> None:
        fallback = DEFAULT_FALLBACK_AFTER if fact.fallback_after is None else fact.fallback_after
        fact.switch = self.kill(
            now,
            halt=fact.halt,
            use_groups=fact.use_groups,
            fallback_after=fallback,
            confirm=fact.confirm,
        )

    def _ask_halt_source(self, now: float, *, started: bool = True) -> None:
        """Ask the halt source; a new answer becomes the outside halt (an `OutsideHalt`
        event), and a halt that begins while the session runs starts a kill of its orders.
        A source that fails halts (fail-closed), the reason naming the error."""
        source, outside = self.halt_source, self.outside_halt
        assert source is not None and outside is not None
        if self.supervisor.finished:
            self._halt_due = None
            return
        self._halt_due = now + source.interval
        self._ask_release(source)
        try:
            reason = source.poll(now)
        except Exception as exc:  # the source's own failure must not stop the session
            reason = f"halted: the halt source failed ({type(exc).__name__}: {exc})"
        if reason is not None and not isinstance(reason, str):
            reason = f"halted: the halt source answered {reason!r}"
        reducing = reason is not None and getattr(source, "reducing", False) is True
        before = outside.reason
        if (reason, reducing) == (outside.guard, outside.reducing is not None):
            return
        if reason is None:
            outside.rearm()
        elif reducing:  # reduce-only from outside: the gate judges each order, nothing cancelled
            outside.reduce_only(reason)
            reason = None
        else:
            outside.halt(reason)
        if reason != before:
            self._emit(OutsideHalt(reason), now)
        if reason is not None and before is None and started and cancels_orders(self.config):
            self.kill(now, halt=False)

    def _ask_release(self, source: HaltSource) -> None:
        """A new request from the shell to lift the block of unknown order outcomes
        (``kalshi-fix release-unknown``: `HaltFile.release_request`) is applied as
        ``release_unknown()`` is; the open's first look only remembers what is there."""
        ask = getattr(source, "release_request", None)
        if ask is None:
            return
        try:
            request = ask()
        except Exception:  # a request that cannot be read releases nothing
            return
        stamp = None if request is None else request[0]
        seen, self._release_seen = self._release_seen, stamp
        if request is None or seen is FIRST_LOOK or stamp == seen:
            return
        released = self.gate.release_unknown(request[1])
        if released:
            self.logger.warning(
                "%s: unknown order outcomes released from the shell in %s",
                self.name,
                ", ".join(released),
                extra={**self._log_fields, "event": "release_unknown"},
            )

    def _check_dead_man(self, now: float) -> None:
        """Ask the dead man's switch: at a new firing, halt (the halt shared with the client's
        other sessions if any, else this gate's own) and start a kill of this session's
        orders, with a `DeadMansSwitchFired` event (once per firing). The timer, a read, a
        lost connection and the gate (an order-creating message at or past the deadline)
        call it: the firing comes before anything else of that input."""
        switch = self.dead_man
        assert switch is not None
        if self.supervisor.finished:
            return
        fired = switch.check(now)
        if fired is None or self._dead_man_seen == switch.firings:
            return
        self._dead_man_seen = switch.firings
        gate = self.gate
        (gate.own_halt if gate.shared_halt is None else gate.shared_halt).halt(fired.reason)
        self._emit(fired, now)
        if cancels_orders(self.config):
            self.kill(now, halt=False)

    # -- the trading state's announcements ---------------------------------------------------

    def announce(self, now: float) -> None:
        """Say what the order gate lets through now, if it changed: a `TradingStateChanged`
        (and the ``trading_state`` metric). A block by unknown outcomes is looked at again at
        every step while it holds (an order that ends lifts its market)."""
        gate = self.gate
        gate.state_changed = False
        state, reason = gate.state
        markets = gate.unknown_markets
        if markets:
            gate.state_changed = True
        seen = (state, reason, markets)
        if seen == self._announced:
            return
        self._announced = seen
        metrics = self.metrics
        metrics.trading_state = state.value
        metrics.unknown_markets = -1 if markets == (ALL_MARKETS,) else len(markets)
        self._emit(TradingStateChanged(state, reason, markets), now)

    # -- the application's side: limits, halts, what is queued, an open's first and last steps --

    # the driver's (`Driver.__init__`, `Driver._parts`)

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
