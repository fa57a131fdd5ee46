"""The trading state of an `OrderGate` beside its halt: reduce-only, and the block while an
order's outcome is unknown (sans-IO; the gate's, private).

* `TradingState`: ACTIVE / REDUCE_ONLY / HALTED (halted wins over reduce-only, whoever set
  each).
* `shrinks`: the reduce-only rule, the same for both products. A position is the tracker's
  net (Buy +, Sell -): margin long / short; prediction the net Yes contracts (Side 1 buys Yes,
  Side 2 sells Yes, which is buying No: a long No is a negative net). An order on a side passes
  only when the position, plus the leaves of the open orders on that side, plus the order,
  neither crosses zero nor moves away from it.
* `UnknownOutcomes`: which markets the gate blocks while order outcomes are unknown.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Final

import attrs

from ..codec.errors import LocalProtocolError
from ..session.events import Event
from ._orders import ZERO

__all__ = [
    "OutcomeUnknown",
    "ReduceOnlyRefused",
    "TradingState",
    "TradingStateChanged",
    "UnknownOutcomes",
    "shrinks",
]

ALL_MARKETS: Final = "every market"


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
    outcome of an order is unknown (`OrdersUnknown`, a failed catch-up or REST round), until a
    round resolves it (`Reconciled`); nothing was sent. Cancels always go.

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
    it (a complete catch-up lifts what a failed one set); and the markets of the orders named
    unknown (``orders``), each until the round, or until the order ends or is first
    answered."""

    __slots__ = ("everywhere", "from_catch_up", "markets_", "orders")

    def __init__(self) -> None:
        self.everywhere: str | None = None
        self.from_catch_up = False  # the block everywhere came from a catch-up (a later one lifts)
        self.markets_: dict[str, tuple[str, bool]] = {}  # symbol -> reason, from a catch-up
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
        for symbol, (_, caught) in list(self.markets_.items()):
            if caught:
                del self.markets_[symbol]

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
