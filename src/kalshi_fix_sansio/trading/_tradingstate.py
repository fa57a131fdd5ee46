"""The trading state of an `OrderGate` beside its halt: reduce-only, and the block while an
order's outcome is unknown (sans-IO; the gate's, private).

* `TradingState`: ACTIVE / REDUCE_ONLY / HALTED (halted wins over reduce-only, whoever set
  each); a `TradingHalt` holds a halt and a reduce-only reason that several gates may share,
  and marks the gates that read it when either changes (``state_changed``: a driver
  announces it).
* `TradingStateRules`: the gate's methods for both rules (they run only while one holds).
* `shrinks`: the reduce-only rule, the same for both products. A position is the tracker's
  net (Buy +, Sell -): margin long / short; prediction the net Yes contracts (Side 1 buys Yes,
  Side 2 sells Yes, which is buying No: a long No is a negative net). An order on a side passes
  only when the position, plus the leaves of the open orders on that side, plus the order,
  neither crosses zero nor moves away from it.
* `UnknownOutcomes`: which markets the gate blocks while order outcomes are unknown.
"""

from __future__ import annotations

import enum
import weakref
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..codec.errors import LocalProtocolError
from ..session.events import Event
from ._opencounts import OpenCounts
from ._orders import ZERO
from .risk import RiskLimitExceeded

if TYPE_CHECKING:
    from .tracker import OrderTracker

_BUY: Final = "1"

__all__ = [
    "ALL_MARKETS",
    "OutcomeUnknown",
    "ReduceOnlyRefused",
    "TradingHalt",
    "TradingState",
    "TradingStateChanged",
    "TradingStateRules",
    "UnknownOutcomes",
    "code",
    "shrinks",
]

_WAYS_OUT: Final = (
    "it lifts once the exchange answers about the order: the session asks by itself with a "
    "cancel unless settle_unknown=False, and a cancel of yours asks too; or by a REST "
    "reconciliation, or release_unknown() once you checked the exchange; cancels always go"
)
"""What `OutcomeUnknown`'s text says lifts the block."""

ALL_MARKETS: Final = "every market"
"""`OrderGate.unknown_markets` when an unknown outcome blocks every market: ``(ALL_MARKETS,)``."""


class TradingState(enum.Enum):
    """What an order gate lets through (`OrderGate.state`)."""

    ACTIVE = "active"
    """Every order the other rules allow."""
    REDUCE_ONLY = "reduce_only"
    """Only orders that can only shrink a position; cancels always."""
    HALTED = "halted"
    """No message that can create a position; cancels always."""


@attrs.frozen(slots=True)
class TradingStateChanged(Event):
    """A session's trading state, or the markets an unknown order outcome blocks, changed (a
    `kalshi_fix_sansio.client.driver.Driver` says so at its next step; logged at WARNING,
    the ``trading_state`` metric follows).

    Attributes:
        state: what the session's order gate lets through now.
        reason: why it is halted or reduce-only (None: active).
        unknown_markets: the markets where an order's outcome is unknown, so that only what
            shrinks a position goes there (``("every market",)``: all; empty: none).
    """

    state: TradingState
    reason: str | None
    unknown_markets: tuple[str, ...] = ()


class ReduceOnlyRefused(LocalProtocolError):
    """An order, replace or quote message that could grow a position while trading is
    reduce-only (nothing was sent); cancels always go. ``rearm()`` to trade freely again.

    Attributes:
        msg_type: MsgType(35) of the refused message.
        symbol: its market (None: not known).
        reason: why trading is reduce-only.
    """

    def __init__(self, text: str, *, msg_type: str, symbol: str | None, reason: str) -> None:
        super().__init__(text)
        self.msg_type = msg_type
        self.symbol = symbol
        self.reason = reason


class OutcomeUnknown(LocalProtocolError):
    """An order, replace or quote message that could grow a position in a market where the
    outcome of an order is unknown (`OrdersUnknown`, a failed catch-up or REST round); nothing
    was sent. Cancels always go. What lifts it: the exchange's answer about the order (a
    session asks by itself with a cancel, ``settle_unknown``; a cancel of your own does the
    same), the end of the orders that were open when a round failed, a REST reconciliation
    (`Reconciled`), a complete catch-up (what a failed one set), or ``release_unknown()`` once
    you checked the exchange yourself (``kalshi-fix release-unknown`` from the shell).

    Attributes:
        msg_type: MsgType(35) of the refused message.
        symbol: its market (None: not known).
        reason: why the outcome is unknown.
        cl_ord_ids: the orders whose outcome is unknown in that market (empty: unknown which).
    """

    def __init__(
        self,
        text: str,
        *,
        msg_type: str,
        symbol: str | None,
        reason: str,
        cl_ord_ids: tuple[str, ...] = (),
    ) -> None:
        super().__init__(text)
        self.msg_type = msg_type
        self.symbol = symbol
        self.reason = reason
        self.cl_ord_ids = cl_ord_ids


class TradingHalt:
    """A halt that several gates can share (a client's sessions): while ``reason`` is set,
    each gate refuses `HALTED_MSG_TYPES`; while only ``reducing`` is set, each lets through
    only what can shrink a position (`TradingState.REDUCE_ONLY`).

    Args:
        reason: why trading is halted (None: it is not).
        reducing: why trading is reduce-only (None: it is not).

    Attributes:
        reason: why trading is halted (None: it is not).
        reducing: why trading is reduce-only (None: it is not; a halt wins over it).
    """

    __slots__ = ("__weakref__", "_gates", "_reason", "_reducing", "guard")

    def __init__(self, reason: str | None = None, reducing: str | None = None) -> None:
        self._reason = reason
        self._reducing = reducing
        self.guard: str | None = reason or reducing  # what a gate reads per order: either
        self._gates: weakref.WeakSet[Any] = weakref.WeakSet()  # the gates that read it

    def __repr__(self) -> str:
        return f"TradingHalt(reason={self._reason!r}, reducing={self._reducing!r})"

    @property
    def reason(self) -> str | None:
        return self._reason

    @reason.setter
    def reason(self, reason: str | None) -> None:
        self._set(reason, self._reducing)

    @property
    def reducing(self) -> str | None:
        return self._reducing

    @reducing.setter
    def reducing(self, reason: str | None) -> None:
        self._set(self._reason, reason)

    @property
    def state(self) -> TradingState:
        """`TradingState.HALTED`, `TradingState.REDUCE_ONLY` or `TradingState.ACTIVE`."""
        if self._reason is not None:
            return TradingState.HALTED
        return TradingState.ACTIVE if self._reducing is None else TradingState.REDUCE_ONLY

    def halt(self, reason: str) -> None:
        """Halt every gate that shares this."""
        self._set(reason, self._reducing)

    def reduce_only(self, reason: str) -> None:
        """Let every gate that shares this through only what shrinks a position (a halt set
        here is lifted: reduce-only is the state from now on)."""
        self._set(None, reason)

    def rearm(self) -> None:
        """Lift the halt and reduce-only."""
        self._set(None, None)

    def _set(self, reason: str | None, reducing: str | None) -> None:
        if (reason, reducing) == (self._reason, self._reducing):
            return
        self._reason, self._reducing = reason, reducing
        self.guard = reason or reducing
        for gate in list(self._gates):
            gate.state_changed = True


def _orders(cl_ord_ids: tuple[str, ...]) -> str:
    if not cl_ord_ids:
        return "the orders"
    named = ", ".join(cl_ord_ids[:3]) + (" ..." if len(cl_ord_ids) > 3 else "")
    return f"order{'s' if len(cl_ord_ids) > 1 else ''} {named}"


def code(value: Any) -> str | None:
    """A FIX value as its code (an enum's value; a str as it is; None stays None)."""
    if value is None or value.__class__ is str:
        return value
    return str(getattr(value, "value", value))


def shrinks(net: Decimal, side_leaves: Decimal, buy: bool, qty: Decimal) -> bool:
    """Whether an order of ``qty`` on a side can only shrink the position ``net`` (Buy +,
    Sell -), the open orders on that side (``side_leaves``) counted as filled too."""
    if buy:
        return net < ZERO and net + side_leaves + qty <= ZERO
    return net > ZERO and net - side_leaves - qty >= ZERO


class UnknownOutcomes:
    """Which markets are blocked while order outcomes are unknown.

    Three kinds: every market (``everywhere``: an unknown order or an open order whose market
    is not known) until a round resolves it; the markets of the orders open when a catch-up or
    a REST round failed (``markets``: their reports may be missing), until a round resolves
    it (a complete catch-up lifts what a failed one set) or every one of those orders ended
    (its ending report carries its CumQty: its fills are whole); and the markets of the orders
    named unknown (``orders``), each until the round, or until the order ends or is first
    answered. `release` lifts any of them by hand."""

    __slots__ = ("everywhere", "from_catch_up", "markets_", "orders")

    def __init__(self) -> None:
        self.everywhere: str | None = None
        self.from_catch_up = False  # the block everywhere came from a catch-up (a later one lifts)
        # symbol -> reason, from a catch-up, the orders open there then
        self.markets_: dict[str, tuple[str, bool, tuple[str, ...]]] = {}
        self.orders: dict[str, tuple[str, str, bool]] = {}  # ClOrdID -> symbol, reason, acked

    def __bool__(self) -> bool:
        return self.everywhere is not None or bool(self.orders) or bool(self.markets_)

    def markets(self) -> tuple[str, ...]:
        """The markets blocked (``(ALL_MARKETS,)`` when every one is)."""
        if self.everywhere is not None:
            return (ALL_MARKETS,)
        named = {symbol for symbol, _, _ in self.orders.values()}
        return tuple(sorted(named | self.markets_.keys()))

    def catch_up_done(self) -> None:
        """A complete catch-up: lift what a failed one set."""
        if self.from_catch_up:
            self.everywhere = None
            self.from_catch_up = False
        for symbol, (_, caught, _) in list(self.markets_.items()):
            if caught:
                del self.markets_[symbol]

    def release(self, symbol: str | None) -> tuple[str, ...]:
        """Lift the block of ``symbol`` (None: every block); the markets released."""
        released = self.markets()
        if symbol is None:
            self.everywhere = None
            self.from_catch_up = False
            self.markets_.clear()
            self.orders.clear()
            return released
        self.markets_.pop(symbol, None)
        for cl in [cl for cl, (s, _, _) in self.orders.items() if s == symbol]:
            del self.orders[cl]
        return tuple(m for m in released if m == symbol)

    def why(self, symbol: str | None) -> tuple[str, tuple[str, ...]] | None:
        """Why ``symbol`` is blocked and the unknown orders there, or None (not blocked)."""
        named = tuple(cl for cl, (s, _, _) in self.orders.items() if s == symbol)
        if self.everywhere is not None:
            return self.everywhere, named
        market = self.markets_.get(symbol) if symbol is not None else None
        if market is not None:
            return market[0], named
        if not named:
            return None
        return self.orders[named[0]][1], named


class TradingStateRules:
    """The reduce-only and unknown-outcome rules of `kalshi_fix_sansio.trading.gate.OrderGate`
    (its methods, mixed in; they run only while a halt, reduce-only or a block holds)."""

    # the gate's
    own_halt: TradingHalt
    shared_halt: TradingHalt | None
    outside_halt: TradingHalt | None
    tracker: OrderTracker
    block_unknown: bool
    state_changed: bool
    _unknown: UnknownOutcomes | None

    if TYPE_CHECKING:  # the gate's

        def _halted(self, msg_type: str) -> LocalProtocolError: ...

        def _trades(self, message: Any, msg_type: str) -> list[Any]: ...

    def reduce_only(self, reason: str = "reduce-only") -> None:
        """Let through only orders, replaces and quote messages that can only shrink a position
        (`ReduceOnlyRefused` for the others) until `rearm`; cancels always go. A halt of this
        gate is lifted (reduce-only is its state now); a shared or outside halt still wins."""
        self.own_halt.reduce_only(reason)

    @property
    def state(self) -> tuple[TradingState, str | None]:
        """The trading state and why: halted wins (a halt from outside first), then
        reduce-only (outside, own, shared), else `TradingState.ACTIVE` (reason None)."""
        halts = [h for h in (self.outside_halt, self.own_halt, self.shared_halt) if h is not None]
        for halt in halts:
            if halt.reason is not None:
                return TradingState.HALTED, halt.reason
        for halt in halts:
            if halt.reducing is not None:
                return TradingState.REDUCE_ONLY, halt.reducing
        return TradingState.ACTIVE, None

    @property
    def unknown_outcomes(self) -> UnknownOutcomes | None:
        """What blocks new exposure while order outcomes are unknown, as recorded (None:
        nothing), read without pruning the orders that ended since: for a checker that must not
        change what it checks (simulation testing). Read-only: change it through
        `outcomes_unknown`, `state_unknown`, `outcomes_known` and `release_unknown`."""
        return self._unknown

    @property
    def unknown_markets(self) -> tuple[str, ...]:
        """The markets where an unknown order outcome blocks what could grow a position
        (``("every market",)``: all of them; empty: none)."""
        unknown = self._pruned()
        return () if unknown is None else unknown.markets()

    def outcomes_unknown(self, cl_ord_ids: tuple[str, ...], reason: str) -> None:
        """The outcome of these orders is unknown (`OrdersUnknown`): block their markets (every
        market for an order of no known market) until `outcomes_known`, or until the order
        ends or is first answered. Nothing when ``block_unknown`` is off."""
        if not self.block_unknown or not cl_ord_ids:
            return
        unknown = self._unknown if self._unknown is not None else UnknownOutcomes()
        for cl in cl_ord_ids:
            order = self.tracker.order(cl)
            if order is None or order.symbol is None:
                unknown.everywhere = reason
                unknown.from_catch_up = False
            elif not order.terminal:
                unknown.orders[cl] = (order.symbol, reason, order.acknowledged)
        self._block(unknown)

    def state_unknown(self, reason: str, *, catch_up: bool = False) -> None:
        """Reports of the orders open now may be missing (a failed catch-up, ``catch_up=True``:
        a later complete one lifts it; a failed REST round): block their markets (every
        market for an open order of no known market; none when nothing is open) until
        `outcomes_known`. Nothing when ``block_unknown`` is off."""
        if not self.block_unknown:
            return
        unknown = self._unknown if self._unknown is not None else UnknownOutcomes()
        for order in self.tracker.open_orders():
            symbol = order.symbol
            if symbol is None:
                if unknown.everywhere is None or not catch_up:
                    unknown.from_catch_up = catch_up
                unknown.everywhere = reason
            else:  # the market, with this order among those whose end lifts it
                known = unknown.markets_.get(symbol)
                if known is None:
                    unknown.markets_[symbol] = (reason, catch_up, (order.cl_ord_id,))
                    continue
                held = tuple(dict.fromkeys((*known[2], order.cl_ord_id)))
                kept = known[:2] if catch_up else (reason, False)  # a REST failure's wins
                unknown.markets_[symbol] = (*kept, held)
        self._block(unknown)

    def outcomes_known(self, *, catch_up: bool = False) -> None:
        """A round resolved the unknown outcomes (`Reconciled`): lift the block. With
        ``catch_up=True`` (a complete catch-up) only what a failed catch-up set."""
        unknown = self._unknown
        if unknown is None:
            return
        if catch_up:
            unknown.catch_up_done()
            self._block(unknown)
        else:
            self._block(None)

    def release_unknown(self, symbol: str | None = None) -> tuple[str, ...]:
        """Lift the block of unknown outcomes in ``symbol`` (None: everywhere) by hand, once
        you checked the exchange by other means (its website, REST, the drop copy): what could
        grow a position there is sent again. Returns the markets released (``("every
        market",)`` when every market was blocked). The tracker is not changed: a REST
        reconciliation is what makes it whole."""
        unknown = self._pruned()
        if unknown is None:
            return ()
        released = unknown.release(symbol)
        self._block(unknown)
        return released

    def _block(self, unknown: UnknownOutcomes | None) -> None:
        self._unknown = unknown if unknown else None
        self.state_changed = True

    def _pruned(self) -> UnknownOutcomes | None:
        """The block, without the orders that ended or were answered since."""
        unknown = self._unknown
        if unknown is None:
            return None
        order_of = self.tracker.order
        for cl, (_, _, acked) in list(unknown.orders.items()):
            order = order_of(cl)
            if order is None or order.terminal or (order.acknowledged and not acked):
                del unknown.orders[cl]
        current = self.tracker.current
        for symbol, (_, _, held) in list(unknown.markets_.items()):
            if all((o := current(cl)) is None or o.terminal for cl in held):
                del unknown.markets_[symbol]  # each ended with its CumQty: nothing missing
        if not unknown:
            self._block(None)
            return None
        return unknown

    def _restricted(self, message: Any, msg_type: str) -> None:
        """The halt, reduce-only and unknown-outcome rules (only while one holds)."""
        state, reason = self.state
        if state is TradingState.HALTED:
            raise self._halted(msg_type)
        if msg_type == "R":  # an RFQ trades nothing: what answers it is judged
            return
        unknown = self._pruned()
        if state is TradingState.ACTIVE and unknown is None:
            return
        for symbol, side, qty, target in self._as_trades(message, msg_type, reason, unknown):
            if state is TradingState.REDUCE_ONLY and not self._shrinks(symbol, side, qty, target):
                assert reason is not None
                raise ReduceOnlyRefused(
                    f"35={msg_type} on {symbol} refused: trading is reduce-only ({reason}) and "
                    f"{self._grows(symbol, side, qty)}; nothing was sent (rearm() to trade "
                    "freely again)",
                    msg_type=msg_type,
                    symbol=symbol,
                    reason=reason,
                )
            why = None if unknown is None else unknown.why(symbol)
            if why is not None and not self._shrinks(symbol, side, qty, target):
                raise OutcomeUnknown(
                    f"35={msg_type} on {symbol} refused: the outcome of "
                    f"{_orders(why[1])} is unknown ({why[0]}) and "
                    f"{self._grows(symbol, side, qty)}; nothing was sent ({_WAYS_OUT})",
                    msg_type=msg_type,
                    symbol=symbol,
                    reason=why[0],
                    cl_ord_ids=why[1],
                )

    def _as_trades(
        self, message: Any, msg_type: str, reason: str | None, unknown: UnknownOutcomes | None
    ) -> list[tuple[str, str, Decimal, Any]]:
        """The trades a message can make: ``(symbol, side, qty, the order a replace
        replaces)``."""
        if msg_type == "D" or msg_type == "G":
            symbol, side = code(message.symbol), code(message.side)
            target = None
            if msg_type == "G":
                orig = code(message.orig_cl_ord_id)
                target = self.tracker.order(orig) if orig is not None else None
                if target is not None and target.terminal:
                    target = None
                if target is not None:
                    symbol, side = symbol or target.symbol, side or target.side
            qty = message.order_qty
            if symbol is None or side is None or qty is None:
                raise self._unjudged_state(msg_type, reason, unknown, "its market or side")
            return [(symbol, side, qty, target)]
        try:
            trades = self._trades(message, msg_type)
        except RiskLimitExceeded as exc:
            raise self._unjudged_state(msg_type, reason, unknown, str(exc)) from None
        return [(t.symbol, t.side, t.order_qty, None) for t in trades]

    def _unjudged_state(
        self, msg_type: str, reason: str | None, unknown: UnknownOutcomes | None, what: str
    ) -> LocalProtocolError:
        text = f"35={msg_type} refused: it cannot be judged ({what})"
        if reason is not None:
            return ReduceOnlyRefused(
                f"{text} while trading is reduce-only ({reason}); nothing was sent",
                msg_type=msg_type,
                symbol=None,
                reason=reason,
            )
        assert unknown is not None
        why = unknown.everywhere or "orders of unknown outcome"
        return OutcomeUnknown(
            f"{text} while an order outcome is unknown ({why}); nothing was sent ({_WAYS_OUT})",
            msg_type=msg_type,
            symbol=None,
            reason=why,
        )

    def _shrinks(self, symbol: str, side: str, qty: Decimal, target: Any) -> bool:
        """The reduce-only rule (`shrinks`); a replace that does not grow its order passes."""
        counts = self.tracker.open_counts()  # counted from now on (O(1) per change)
        _, buys, sells = counts.leaves(symbol)
        buy = side == _BUY
        leaves = buys if buy else sells
        if target is not None:
            chain = counts.chain_leaves(symbol, OpenCounts.chain_key(target), buy)
            new = qty - target.cum_qty
            if new <= chain:
                return True
            leaves, qty = leaves - chain, new
        return shrinks(self.tracker.position(symbol).net, leaves, buy, qty)

    def _grows(self, symbol: str, side: str, qty: Decimal) -> str:
        _, buys, sells = self.tracker.open_counts().leaves(symbol)
        net = self.tracker.position(symbol).net
        what = f"buy {qty}" if side == _BUY else f"sell {qty}"
        open_ = buys if side == _BUY else sells
        return (
            f"a {what} could grow the position (net {net}, open on that side {open_}: only an "
            "order that keeps the position on its side of zero and moves it toward zero passes)"
        )

    def _withheld(self, message: Any) -> bool:
        """While reduce-only: whether a stored message must not be resent (`withhold`)."""
        state, _ = self.state
        msg_type = message.MSG_TYPE
        if state is not TradingState.REDUCE_ONLY or msg_type == "R":
            return False
        if msg_type != "D" and msg_type != "G":
            return True
        symbol, side = code(message.symbol), code(message.side)
        if symbol is None or side is None:
            return True
        cl = code(message.cl_ord_id)
        live = self.tracker.order(cl) if cl is not None else None
        counted = live is not None and not live.terminal  # its leaves are in the counts
        qty = ZERO if counted else (message.order_qty or ZERO)
        _, buys, sells = self.tracker.open_counts().leaves(symbol)
        leaves = buys if side == _BUY else sells
        return not shrinks(self.tracker.position(symbol).net, leaves, side == _BUY, qty)
