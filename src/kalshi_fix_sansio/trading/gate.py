"""The order gate: one check every order-creating message passes, at the session's writer.

An `OrderGate` sits in a session's configuration (``SessionConfig(order_gate=...)``), so every
path an application can reach — `kalshi_fix_sansio.session.machine.Session.send`, the `Supervisor`,
the `Driver`, the adapters' ``send`` / ``place`` / ``wait_for(send=)``, re-subscriptions and
the kill switch itself — meets the same check just before the message is encoded, sequenced,
stored or sent. A `Driver` makes one for its session when the config has none; a plain
`Session` (the embedding guide) takes one through its config.

What it refuses (raising before anything is encoded; nothing is sent or tracked):

* while halted (`halt`, the kill switch; or a shared `TradingHalt`, e.g. a client's
  ``kill_all``): every message that can create or enlarge a position or solicit one
  (`HALTED_MSG_TYPES`: NewOrderSingle 35=D, OrderCancelReplaceRequest 35=G, Quote 35=S,
  AcceptQuote 35=UA, QuoteConfirm 35=U7, QuoteRequest 35=R) with `TradingHalted`. Cancels,
  mass cancels, order-group requests, quote and RFQ cancels always go: taking risk off is
  never refused;
* while reduce-only (`reduce_only`; a shared or outside `TradingHalt` may be too: a client's
  ``reduce_only``, ``kalshi-fix kill --reduce-only``): an order, replace or quote message that
  could grow the position in its market (`ReduceOnlyRefused`); and, in a market where an
  order's outcome is unknown (`outcomes_unknown`, `state_unknown`, until `outcomes_known`),
  the same with `OutcomeUnknown` (``block_unknown``). The rules are
  `kalshi_fix_sansio.trading._tradingstate`'s; `state` says which holds;
* a NewOrderSingle or replace whose ClOrdID is still live in the tracker (Kalshi requires a
  ClOrdID that matches no open order);
* once a watched dead man's switch (`watch`, a driver's ``dead_man``) is past its deadline:
  the message's ``now`` is compared with `DeadMansSwitch.deadline` (one comparison) and, at or
  past it, the switch fires there and then (the driver's firing: the halt, the
  `DeadMansSwitchFired` event, the kill) before the halt above refuses the message;
* with ``risk_limits``: what the pre-trade `RiskChecker` refuses (`RiskLimitExceeded`):
  orders and replaces as before, and the quote messages judged as the trade they can make —
  an AcceptQuote as the creator's side of the quote it names (price and size from the Quote
  35=S the session received, `observe`), a Quote as the maker's two possible trades (the size
  from the RFQ 35=R received), a QuoteConfirm as the maker's side of the accepted quote (from
  the QuoteStatusReport 35=AI ``297=0``). A quote message the gate cannot judge because the
  quote or RFQ it names was never seen is refused while a limit that needs it is set (say so
  to the gate with `observe`).

The same halt covers what the session resends from its store: while halted, a stored message
of `HALTED_MSG_TYPES` that a ResendRequest asks for is gap-filled instead of resent
(`withhold`), so an order written before the kill can never reach the exchange after it.

What it records: every order message sent (35=D, 35=G, 35=F) goes into the `OrderTracker`
before it is written (the answer may be read before ``send`` returns) and is forgotten again
if it could not be sent (the `RiskChecker` reads the tracker's counts, so an order counts
against the limits from then on); the metrics learn it once it went.

The gate reads no clock and does no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs

from ..codec import UnknownMessage
from ..codec.errors import LocalProtocolError
from ._tradingstate import (
    ALL_MARKETS,
    OutcomeUnknown,
    ReduceOnlyRefused,
    TradingHalt,
    TradingState,
    TradingStateChanged,
    TradingStateRules,
    UnknownOutcomes,
)
from ._tradingstate import (
    code as _code,
)
from .book import Books
from .deadman import DeadMansSwitch
from .marginrisk import MarginFigures
from .risk import BookSource, RiskChecker, RiskLimitExceeded, RiskLimits
from .tracker import OrderTracker

if TYPE_CHECKING:
    from ..observability.metrics import SessionMetrics

__all__ = [
    "ALL_MARKETS",
    "GATED_MSG_TYPES",
    "HALTED_MSG_TYPES",
    "TRACKED_MSG_TYPES",
    "WITHHELD_WHILE_HALTED",
    "WITHHELD_WHILE_REDUCE_ONLY",
    "ExchangePausedError",
    "OrderGate",
    "OutcomeUnknown",
    "ReduceOnlyRefused",
    "TradingHalt",
    "TradingHalted",
    "TradingState",
    "TradingStateChanged",
]

TRACKED_MSG_TYPES: Final = frozenset({"D", "G", "F"})
"""Order messages recorded in the tracker as they are sent."""

HALTED_MSG_TYPES: Final = frozenset({"D", "G", "S", "UA", "U7", "R"})
"""What a halted gate refuses: every message that can create or enlarge a position, or ask
for one (NewOrderSingle, OrderCancelReplaceRequest, Quote, AcceptQuote, QuoteConfirm,
QuoteRequest)."""

WITHHELD_WHILE_HALTED: Final = (
    "not received by the exchange: trading was halted when the exchange asked for it again "
    "(ResendRequest), so it was gap-filled, not resent"
)
"""The `Rejection` text of an order or replace a halted session kept out of a resend
(`kalshi_fix_sansio.session.events.ResendWithheld`)."""

WITHHELD_WHILE_REDUCE_ONLY: Final = (
    "not received by the exchange: trading was reduce-only when the exchange asked for it "
    "again (ResendRequest) and it could have grown a position, so it was gap-filled, not resent"
)
"""The `Rejection` text of an order or replace a reduce-only session kept out of a resend."""

GATED_MSG_TYPES: Final = HALTED_MSG_TYPES | TRACKED_MSG_TYPES
"""Every message type the gate looks at (others pass it without a call)."""

_UNWATCHED: Final = DeadMansSwitch(1)  # a gate without a switch: never armed, never due
_QUOTES_KEPT: Final = 4096  # quotes and RFQs remembered for judging quote messages (FIFO)
_ONE: Final = Decimal(1)
_BUY, _SELL = "1", "2"


def _no_firing(now: float) -> None:
    """The firing of a gate that watches no switch (never called: never due)."""


class TradingHalted(LocalProtocolError):
    """A message that could create a position while trading is halted by the kill switch
    (nothing was sent); ``rearm()`` the session (or the client) to trade again.

    Attributes:
        msg_type: MsgType(35) of the refused message.
        reason: why trading is halted.
    """

    def __init__(self, text: str, *, msg_type: str, reason: str) -> None:
        super().__init__(text)
        self.msg_type = msg_type
        self.reason = reason


class ExchangePausedError(LocalProtocolError):
    """A message that could create a position while Kalshi's exchange status says trading is
    paused (`OrderGate.exchange_paused`, kept by a ``DeskWatch``): nothing was sent.

    Attributes:
        msg_type: the refused message's MsgType.
        reason: the pause, in words.
    """

    def __init__(self, text: str, *, msg_type: str, reason: str) -> None:
        super().__init__(text)
        self.msg_type = msg_type
        self.reason = reason


@attrs.frozen
class _AsOrder:
    """A quote message seen as the order it can make, for `RiskChecker.check_trade`."""

    MSG_TYPE: str
    cl_ord_id: str | None
    symbol: str
    side: str
    order_qty: Decimal
    price: Decimal | None


@attrs.frozen
class _Quote:
    symbol: str | None
    yes_px: Decimal | None
    no_px: Decimal | None
    yes_size: Decimal | None
    no_size: Decimal | None
    accepted_side: str | None = None
    accepted_qty: Decimal | None = None


_NUMBERED_KEPT: Final = 256
"""How many orders sent an `OrderGate` remembers by MsgSeqNum (a 35=j answers within
moments)."""


class OrderGate(TradingStateRules):
    """The halt, the live-ClOrdID rule and the pre-trade limits of one session, checked by the
    session's writer for every order-creating message (see the module docstring); the session
    layer's `kalshi_fix_sansio.session.config.OrderCheck`.

    Args:
        product: ``"prediction"`` or ``"margin"``.
        tracker: the order tracker the orders go into (a new one if None).
        risk_limits: pre-trade `RiskLimits` (None: none; settable later).
        risk_books: the `Books` (or an object with ``books``) ``max_price_distance`` reads.
        halt: this gate's own `TradingHalt` (a new one if None).
        shared_halt: a `TradingHalt` shared with other gates (a client's ``kill_all``): it
            refuses too while set; `rearm` does not lift it.
        metrics: the session metrics told of each order sent (round trips).
        outside_halt: a `TradingHalt` set from outside the process (a driver's
            ``halt_source``: the halt file of a kill from the shell): it refuses too while
            set; `rearm` does not lift it.
        block_unknown: refuse what could grow a position in a market where an order's outcome
            is unknown (`outcomes_unknown`, `state_unknown`) until `outcomes_known`
            (`OutcomeUnknown`); settable later.

    Raises:
        LocalProtocolError: ``risk_limits`` is not a `RiskLimits`.
    """

    msg_types: ClassVar[frozenset[str]] = GATED_MSG_TYPES
    """Every message type the gate looks at (`OrderCheck.msg_types`)."""

    def __init__(
        self,
        product: str,
        *,
        tracker: OrderTracker | None = None,
        risk_limits: RiskLimits | None = None,
        risk_books: Books | BookSource | None = None,
        halt: TradingHalt | None = None,
        shared_halt: TradingHalt | None = None,
        metrics: SessionMetrics | None = None,
        outside_halt: TradingHalt | None = None,
        block_unknown: bool = True,
    ) -> None:
        self.product = product
        self.tracker = tracker if tracker is not None else OrderTracker()
        """The orders, fills and positions the limits read."""
        self.own_halt = halt if halt is not None else TradingHalt()
        self.shared_halt = shared_halt
        self.outside_halt = outside_halt
        self.metrics = metrics
        self._risk: RiskChecker | None = None
        self._margin: MarginFigures | None = None
        self._risk_books = risk_books
        self.risk_limits = risk_limits
        self._quotes: OrderedDict[str, _Quote] = OrderedDict()  # QuoteID -> what it offers
        # MsgSeqNum -> ClOrdID of the last orders sent: Kalshi's 35=j may name the order it
        # refused by RefSeqNum alone (BusinessRejectRefID is optional; its rate-limit reject)
        self._numbered: dict[int, str] = {}
        self._rfqs: OrderedDict[str, tuple[str | None, Decimal | None]] = OrderedDict()
        self.on_quote: Callable[[str], None] | None = None
        """Told the QuoteID of every Quote (35=S) that went out (a driver's: its account's
        `quote_sent`, so that a REST round of the account's order entry knows its fills)."""
        self.block_unknown = block_unknown
        """Whether unknown order outcomes block what could grow a position (`OutcomeUnknown`)."""
        self._unknown: UnknownOutcomes | None = (
            None  # None: no outcome unknown (per order: one test)
        )
        self._dead_man = _UNWATCHED  # `watch`: its deadline compared with each message's now
        self._fire: Callable[[float], None] = _no_firing
        self.exchange_paused: str | None = None
        """Why Kalshi's exchange status says trading is paused (a ``DeskWatch`` sets and
        clears it): `HALTED_MSG_TYPES` are refused meanwhile (`ExchangePausedError`); cancels
        go. None: not paused."""
        self.state_changed = False
        """Set when the trading state or the unknown-outcome block may have changed (a driver
        announces it, `TradingStateChanged`, and clears it)."""
        for shared in (self.own_halt, shared_halt, outside_halt):
            if shared is not None:
                shared._gates.add(self)

    # -- the halt --------------------------------------------------------------------------------

    @property
    def halted(self) -> str | None:
        """Why `HALTED_MSG_TYPES` are refused (a halt from outside the process first: `rearm`
        does not lift it; then this gate's own), or None."""
        outside = self.outside_halt
        if outside is not None and outside.reason is not None:
            return outside.reason
        reason = self.own_halt.reason
        if reason is None and self.shared_halt is not None:
            reason = self.shared_halt.reason
        return reason

    def halt(self, reason: str = "halted") -> None:
        """Refuse `HALTED_MSG_TYPES` until `rearm`; cancels and mass cancels still go."""
        self.own_halt.halt(reason)

    def rearm(self) -> None:
        """Lift this gate's halt and reduce-only (a shared halt stays until its owner re-arms
        it)."""
        self.own_halt.rearm()

    def use_outside_halt(self, halt: TradingHalt) -> None:
        """Ask ``halt`` (set from outside the process) from now on."""
        self.outside_halt = halt
        halt._gates.add(self)
        self.state_changed = True

    def watch(self, switch: DeadMansSwitch, fire: Callable[[float], None]) -> None:
        """Refuse from ``switch``'s deadline on: a gated message whose ``now`` is at or past
        `DeadMansSwitch.deadline` calls ``fire(now)`` first (a driver's firing: it halts, emits
        `DeadMansSwitchFired` and starts the kill), then meets the halt (`TradingHalted`)."""
        self._dead_man, self._fire = switch, fire

    # -- the limits ------------------------------------------------------------------------------

    @property
    def risk_limits(self) -> RiskLimits | None:
        """The pre-trade `RiskLimits` (None: none); set a new value to change them."""
        return None if self._risk is None else self._risk.limits

    @risk_limits.setter
    def risk_limits(self, limits: RiskLimits | None) -> None:
        if limits is None:
            self._risk = None
        elif self._risk is not None:
            self._risk.limits = limits
        else:
            if not isinstance(limits, RiskLimits):
                raise LocalProtocolError(
                    f"risk_limits must be a RiskLimits, got {type(limits).__name__}"
                )
            self._risk = RiskChecker(
                limits, product=self.product, tracker=self.tracker, books=self._risk_books
            )
            self._risk.margin = self._margin

    @property
    def margin_figures(self) -> MarginFigures | None:
        """Kalshi's margin figures the margin limits (``min_liquidation_distance``,
        ``max_notional_risk_use``) are judged on (None: not read yet); set the ones read
        (`kalshi_fix_sansio.rest.marginrisk.MarginRiskFetch.figures`) to refresh them."""
        return self._margin

    @margin_figures.setter
    def margin_figures(self, figures: MarginFigures | None) -> None:
        if figures is not None and not isinstance(figures, MarginFigures):
            raise LocalProtocolError(
                f"margin_figures must be MarginFigures or None, got {type(figures).__name__}"
            )
        self._margin = figures
        if self._risk is not None:
            self._risk.margin = figures
        if self.metrics is not None:
            gauges = figures.metrics() if figures is not None else {}
            self.metrics.margin = {name: float(value) for name, value in gauges.items()}

    @property
    def risk_books(self) -> Books | BookSource | None:
        """The books ``max_price_distance`` reads (None: that limit is not checked)."""
        return self._risk_books

    @risk_books.setter
    def risk_books(self, books: Books | BookSource | None) -> None:
        self._risk_books = books
        if self._risk is not None:
            self._risk.books = books

    @property
    def risk(self) -> RiskChecker | None:
        """The `RiskChecker` in use (None without limits)."""
        return self._risk

    # -- the check -------------------------------------------------------------------------------

    def check(self, message: Any, now: float | None = None) -> None:
        """Raise what the writer would refuse ``message`` for; changes nothing but a watched
        dead man's switch past its deadline at ``now`` (None: not looked at), which fires.

        Raises:
            TradingHalted: halted, and the message can create a position.
            RiskLimitExceeded: a pre-trade limit refuses it.
            LocalProtocolError: its ClOrdID is still live.
        """
        msg_type = message.MSG_TYPE or getattr(message, "msg_type", "")  # an Unknown's own
        if msg_type in GATED_MSG_TYPES:
            if now is not None and now >= self._dead_man.deadline:
                self._fire(now)
            try:
                if msg_type != "F":
                    self._check(message, msg_type)
            except AttributeError as exc:
                if getattr(exc, "obj", message) is not message:
                    raise  # not the message's: a bug, shown as it is
                raise self._unreadable(message, msg_type, exc) from None
            if isinstance(message, UnknownMessage):  # as `admit` refuses it
                raise self._unreadable(message, msg_type, None)

    def admit(self, message: Any, msg_type: str, now: float) -> str | None:
        """`check` at ``now``, then record an order message in the tracker: the writer calls
        this just before encoding ``message``; the ClOrdID returned goes to `sent` once it went
        out, or to `discard` if it could not.

        Raises:
            TradingHalted: as `check` (a watched dead man's switch past its deadline fires
                first).
            RiskLimitExceeded: as `check`.
            LocalProtocolError: as `check`, or the ClOrdID is already tracked.
        """
        if now >= self._dead_man.deadline:  # the one comparison on the order path
            self._fire(now)
        try:
            if msg_type != "F":
                self._check(message, msg_type)
                if msg_type not in TRACKED_MSG_TYPES:
                    if isinstance(message, UnknownMessage):  # `sent` could not read it either
                        raise self._unreadable(message, msg_type, None)
                    return None
            order = self.tracker.sent(message)  # 35=D / G: the new order, its ClOrdID a str
            cl = order.cl_ord_id if order is not None else message.cl_ord_id
        except AttributeError as exc:  # a hand-built message without a field the gate reads
            if getattr(exc, "obj", message) is not message:
                raise  # not the message's: a bug, shown as it is
            raise self._unreadable(message, msg_type, exc) from None
        return cl if cl.__class__ is str else _code(cl)

    def withhold(self, message: Any) -> bool:
        """Whether a stored message a ResendRequest asks for must not be resent: True while
        halted for `HALTED_MSG_TYPES` (the session gap-fills it instead, so the exchange never
        receives it). A withheld NewOrderSingle or replace ends REJECTED in the tracker
        (source ``"not_received"``, text `WITHHELD_WHILE_HALTED`), its replaced order live
        again. Anything else (cancels, mass cancels) is resent; an order or replace resent is
        remembered by its MsgSeqNum, as when it was first sent (after a restart the gate never
        saw it go out: a 35=j may name it by that number).

        While reduce-only, a stored order or replace that could grow a position now (its own
        leaves counted once) is withheld the same way (text `WITHHELD_WHILE_REDUCE_ONLY`), and
        so is every stored quote message (Quote, AcceptQuote, QuoteConfirm: the quote it makes
        or takes may be gone); a QuoteRequest is resent. An unknown outcome withholds
        nothing."""
        msg_type = message.MSG_TYPE
        text = WITHHELD_WHILE_HALTED
        if msg_type in HALTED_MSG_TYPES and self.halted is None and self._withheld(message):
            text = WITHHELD_WHILE_REDUCE_ONLY
        elif msg_type not in HALTED_MSG_TYPES or self.halted is None:
            if msg_type == "D" or msg_type == "G":
                cl = message.cl_ord_id
                numbered = self._numbered
                numbered[message.header.msg_seq_num] = cl if cl.__class__ is str else str(cl)
                if len(numbered) > _NUMBERED_KEPT:
                    del numbered[next(iter(numbered))]
            return False
        if msg_type in TRACKED_MSG_TYPES:
            cl = message.cl_ord_id
            self.tracker.not_received(cl if cl.__class__ is str else str(cl), text)
        return True

    def _unreadable(
        self, message: Any, msg_type: str, exc: AttributeError | None
    ) -> LocalProtocolError:
        """What refuses a message the gate cannot read: an `UnknownMessage` (its fields are
        only ``extra_fields``) or an object without a field the gate reads."""
        from ..codec import margin, prediction

        codec = margin if self.product == "margin" else prediction
        cls = codec.MESSAGES.get(msg_type)
        build = (
            f"build it as kalshi_fix_sansio.codec.{self.product}.{cls.__name__}"
            if cls is not None
            else f"build it from kalshi_fix_sansio.codec.{self.product}"
        )
        name = type(message).__name__
        if isinstance(message, UnknownMessage):
            what = (
                f"{name}(msg_type={msg_type!r}) cannot pass the order gate: an Unknown message "
                "carries its fields only in extra_fields, so the gate cannot read the fields "
                "it checks (ClOrdID, Side, OrderQty, Price, QuoteID...)"
            )
        else:
            field = getattr(exc, "name", None) or str(exc)
            what = (
                f"{name} (35={msg_type}) cannot pass the order gate: it has no {field!r}, "
                "which the gate reads to check it"
            )
        return LocalProtocolError(f"{what}; {build}; nothing was sent or tracked")

    def sent(self, message: Any, msg_type: str, cl: str | None, now: float, seq: int = 0) -> None:
        """``message`` went out (after `admit`) as MsgSeqNum ``seq``."""
        if msg_type == "S":
            self._quote_sent(message)
        if cl is None:
            return
        numbered = self._numbered
        numbered[seq] = cl
        if len(numbered) > _NUMBERED_KEPT:
            del numbered[next(iter(numbered))]
        if self.metrics is not None:
            self.metrics.on_order_sent(msg_type, cl, now)

    def sent_as(self, seq: object) -> str | None:
        """The ClOrdID of the order or replace sent as MsgSeqNum ``seq`` on this connection
        (one of the last `_NUMBERED_KEPT`), or None."""
        return self._numbered.get(seq) if isinstance(seq, int) else None

    def renumbered(self) -> None:
        """The session's numbers started again (a Logon with ResetSeqNumFlag=Y)."""
        self._numbered.clear()

    def discard(self, cl: str | None) -> None:
        """``message`` could not be sent (after `admit`): forget it."""
        if cl is not None:
            self.tracker.discard(cl)

    def _check(self, message: Any, msg_type: str) -> None:
        guard = self.own_halt.guard  # a halt or reduce-only
        if guard is None and self.shared_halt is not None:
            guard = self.shared_halt.guard
        if guard is None and self.outside_halt is not None:
            guard = self.outside_halt.guard
        if (guard is not None or self._unknown is not None) and msg_type in HALTED_MSG_TYPES:
            self._restricted(message, msg_type)
        if self.exchange_paused is not None and msg_type in HALTED_MSG_TYPES:  # one test
            raise self._paused(msg_type, self.exchange_paused)
        if msg_type == "D" or msg_type == "G":
            self._check_live(message.cl_ord_id)
            if self._risk is not None:
                self._risk.check(message)
        elif self._risk is not None and msg_type != "R":
            for order in self._trades(message, msg_type):
                self._risk.check_trade(order)

    def _halted(self, msg_type: str) -> TradingHalted:
        """The refusal of a ``msg_type`` message while halted (`halted` says why)."""
        reason = self.halted or "halted"
        outside = self.outside_halt
        if outside is not None and outside.reason is not None:
            lift = "set outside this process: rearm() does not lift it; kalshi-fix rearm does"
        else:
            lift = "rearm() to trade again"
        return TradingHalted(
            f"35={msg_type} refused: trading is halted by {reason}; nothing was sent ({lift})",
            msg_type=msg_type,
            reason=reason,
        )

    @staticmethod
    def _paused(msg_type: str, reason: str) -> ExchangePausedError:
        """The refusal of a ``msg_type`` message while the exchange pauses trading."""
        return ExchangePausedError(
            f"35={msg_type} refused: {reason}; nothing was sent (send it again once the "
            "exchange status says trading is active: ExchangeResumed)",
            msg_type=msg_type,
            reason=reason,
        )

    def _check_live(self, cl: object) -> None:
        live = self.tracker.order(cl) if cl.__class__ is str else None
        if live is not None and live.cl_ord_id == cl and not live.terminal:  # not an alias
            raise LocalProtocolError(
                f"ClOrdID {cl!r} is still live ({live.status.name} order, {live.symbol}): Kalshi "
                "requires a ClOrdID that matches no open order; use a new one (nothing was sent)"
            )

    # -- quotes ----------------------------------------------------------------------------------

    def observe(self, message: Any) -> None:
        """A message received on the session: Quotes (35=S, offered to an RFQ creator), RFQs
        (35=R, to a market maker) and QuoteStatusReports (35=AI, a maker's quote accepted) are
        remembered (the last 4,096 of each) to judge the quote messages that refer to them."""
        msg_type = message.MSG_TYPE
        if msg_type == "S":
            quote_id = _code(message.quote_id)
            if quote_id is not None:
                self._remember(
                    self._quotes,
                    quote_id,
                    _Quote(
                        _code(message.symbol),
                        message.bid_px,
                        message.offer_px,
                        message.bid_size,
                        message.offer_size,
                    ),
                )
        elif msg_type == "R":
            rfq_id = _code(message.quote_req_id)
            entries = message.related_sym or ()
            if rfq_id is not None and entries:
                entry = entries[0]
                self._remember(self._rfqs, rfq_id, (_code(entry.symbol), entry.order_qty))
        elif msg_type == "AI" and _code(message.quote_status) == "0":
            quote_id = _code(message.quote_id)
            known = self._quotes.get(quote_id) if quote_id is not None else None
            if known is not None and quote_id is not None:
                self._quotes[quote_id] = attrs.evolve(
                    known, accepted_side=_code(message.side), accepted_qty=message.order_qty
                )

    def _quote_sent(self, message: Any) -> None:
        """A maker's Quote went out: remember its prices and the RFQ's size (for 35=U7)."""
        quote_id = _code(message.quote_id)
        if quote_id is None:
            return
        symbol, qty = self._rfqs.get(_code(message.quote_req_id) or "", (None, None))
        self._remember(
            self._quotes,
            quote_id,
            _Quote(_code(message.symbol) or symbol, message.bid_px, message.offer_px, qty, qty),
        )
        if self.on_quote is not None:
            self.on_quote(quote_id)

    @staticmethod
    def _remember(table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        if len(table) > _QUOTES_KEPT:
            table.popitem(last=False)

    def _trades(self, message: Any, msg_type: str) -> list[_AsOrder]:
        """The trades a quote message can make, as orders (raises when it cannot be judged)."""
        if msg_type == "UA":  # the creator takes one side of a quote it received
            quote = self._known_quote(message, msg_type)
            side = _code(message.side)
            if side == _BUY:  # buys YES from the maker's NO quote
                px, size = quote.no_px, quote.no_size
                price = None if px is None else _ONE - px
            else:  # sells YES to the maker's YES quote
                px, size = quote.yes_px, quote.yes_size
                price = px
            qty = message.order_qty if message.order_qty is not None else size
            what = "the quote's size on that side"
            return [self._as_order(msg_type, message, quote.symbol, side, qty, price, what)]
        if msg_type == "S":  # the maker's quote: either side may be taken, for the RFQ's size
            symbol, qty = self._rfqs.get(_code(message.quote_req_id) or "", (None, None))
            symbol = _code(message.symbol) or symbol
            what = "the RFQ's size (the QuoteRequest 35=R was not seen)"
            out = []
            if message.bid_px is not None:
                out.append(
                    self._as_order(msg_type, message, symbol, _BUY, qty, message.bid_px, what)
                )
            if message.offer_px is not None:
                price = _ONE - message.offer_px
                out.append(self._as_order(msg_type, message, symbol, _SELL, qty, price, what))
            return out
        if msg_type == "U7":  # the maker confirms: the side the creator took, reversed
            quote = self._known_quote(message, msg_type)
            if quote.accepted_side == _BUY:  # the creator bought YES: the maker sells YES
                side, price = _SELL, None if quote.no_px is None else _ONE - quote.no_px
            else:
                side, price = _BUY, quote.yes_px
            what = "the accepted quantity (the QuoteStatusReport 35=AI 297=0 was not seen)"
            return [
                self._as_order(
                    msg_type, message, quote.symbol, side, quote.accepted_qty, price, what
                )
            ]
        return []

    def _known_quote(self, message: Any, msg_type: str) -> _Quote:
        quote_id = _code(message.quote_id)
        quote = self._quotes.get(quote_id) if quote_id is not None else None
        if quote is None:
            raise self._unjudged(msg_type, quote_id, "the quote it names was not seen")
        return quote

    def _as_order(
        self,
        msg_type: str,
        message: Any,
        symbol: str | None,
        side: str | None,
        qty: Decimal | None,
        price: Decimal | None,
        what: str,
    ) -> _AsOrder:
        ref = _code(getattr(message, "cl_ord_id", None)) or _code(message.quote_id)
        if symbol is None or side is None:
            raise self._unjudged(msg_type, ref, "its market or side is not known")
        if qty is None:
            raise self._unjudged(msg_type, ref, f"{what} is not known")
        return _AsOrder(msg_type, ref, symbol, side, qty, price)

    def _unjudged(self, msg_type: str, ref: str | None, why: str) -> RiskLimitExceeded:
        return RiskLimitExceeded(
            f"risk limits refuse 35={msg_type} {ref!r}: it cannot be judged, {why} (feed the "
            "session's received messages to OrderGate.observe; a Driver does); nothing was sent",
            limit="unjudged",
            symbol=None,
            value=0,
            actual=0,
            msg_type=msg_type,
            cl_ord_id=ref,
        )
