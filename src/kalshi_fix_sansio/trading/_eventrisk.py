"""Event-level worst-case-loss limits: an event's markets judged together (prediction, sans-IO).

An `EventLimit` bounds what a Kalshi event's worst outcome can lose, counting every position and
every open order of its markets. `EventBook` is what a `kalshi_fix_sansio.trading.risk.RiskChecker`
keeps of the configured events and how it judges one order against them.

A market's loss under each of its two outcomes, in dollars, from what was paid (Yes prices; a
sell of Yes at ``p`` is a buy of No at ``1 - p``):

* its fills: ``cash = buy_cost - sell_proceeds + fees`` (the tracker's `Position`), ``net`` the
  Yes contracts held (Buy +, Sell -): loss if it settles Yes ``cash - net``, if No ``cash``;
* its open orders counted at their worst for each outcome: an open buy only loses if No
  (``leaves x price``), an open sell only if Yes (``leaves x (1 - price)``); so
  ``loss_yes = cash - net + open sells' cost`` and ``loss_no = cash + open buys' cost``
  (`kalshi_fix_sansio.trading._opencounts.OpenCounts.costs`, kept as orders change).

An event's worst outcome:

* mutually exclusive markets ``m1..mn``: outcome k is "mk settles Yes, every other No":
  ``sum(loss_no) + (loss_yes[k] - loss_no[k])``; with ``all_no`` the outcome "every market
  settles No" (``sum(loss_no)``) is counted too. The worst is their largest;
* independent markets: each market at its own worst, summed (``sum(max(loss_yes, loss_no))``).

A check reads O(1) figures per market of the order's event: O(markets in the event), whatever
the number of live orders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from ..codec.errors import LocalProtocolError
from ._opencounts import OpenCounts
from .tracker import OrderTracker

__all__ = ["EventBook", "EventLimit"]

_ZERO = Decimal(0)


def _limit(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise LocalProtocolError(
            f"EventLimit.max_worst_loss takes dollars as a Decimal, an int or a str, got {value!r}"
        )
    try:
        out = Decimal(value)
    except ArithmeticError:
        out = Decimal("NaN")
    if not out.is_finite() or out < 0:
        raise LocalProtocolError(
            f"EventLimit.max_worst_loss must be a finite number of dollars >= 0, got {value!r}"
        )
    return out


def _markets(value: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str) or not value:
        raise LocalProtocolError(
            f"EventLimit.markets must be a non-empty list of market tickers, got {value!r}"
        )
    out = tuple(value)
    for market in out:
        if not isinstance(market, str) or not market:
            raise LocalProtocolError(f"EventLimit.markets: not a market ticker: {market!r}")
    if len(set(out)) != len(out):
        raise LocalProtocolError(f"EventLimit.markets names a market twice: {out!r}")
    return out


@attrs.frozen
class EventLimit:
    """The most an event's worst outcome may lose (prediction; see the module for the rule).

    Attributes:
        max_worst_loss: dollars.
        markets: the event's market tickers (e.g. from `kalshi_fix_sansio.rest.instruments.
            Instruments.event_limit`, or written by hand).
        mutually_exclusive: at most one of them settles Yes (Kalshi's ``mutually_exclusive``);
            False: they settle independently.
        all_no: (mutually exclusive) the event may end with every market No, so that outcome
            is counted too. True by default, the safe side; False only when one market surely
            settles Yes (a complete list of the possible answers).

    Raises:
        LocalProtocolError: a limit that is not a number of dollars >= 0, or no markets.
    """

    max_worst_loss: Decimal = attrs.field(converter=_limit)
    markets: tuple[str, ...] = attrs.field(converter=_markets)
    mutually_exclusive: bool = False
    all_no: bool = True


def events_of(value: Mapping[str, EventLimit] | None) -> Mapping[str, EventLimit]:
    """``RiskLimits.events`` checked: event ticker -> `EventLimit`, a market in one event."""
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise LocalProtocolError(
            f"RiskLimits.events must map event tickers to EventLimit, got {type(value).__name__}"
        )
    out: dict[str, EventLimit] = {}
    owner: dict[str, str] = {}
    for event, limit in value.items():
        if not isinstance(event, str) or not event:
            raise LocalProtocolError(f"RiskLimits.events: not an event ticker: {event!r}")
        if not isinstance(limit, EventLimit):
            raise LocalProtocolError(
                f"RiskLimits.events[{event!r}] must be an EventLimit, got {type(limit).__name__}"
            )
        for market in limit.markets:
            if market in owner:
                raise LocalProtocolError(
                    f"RiskLimits.events: market {market!r} is in event {owner[market]!r} and "
                    f"in {event!r}: a market belongs to one event"
                )
            owner[market] = event
        out[event] = limit
    return MappingProxyType(out)


class EventBook:
    """The configured events of a checker, and their judgement (see the module).

    Args:
        events: event ticker -> `EventLimit`.
        tracker: the tracker whose positions and open orders count.
        counts: its `OpenCounts` (told to keep costs).
    """

    def __init__(
        self, events: Mapping[str, EventLimit], tracker: OrderTracker, counts: OpenCounts
    ) -> None:
        self.events = events
        self.tracker = tracker
        self.counts = counts
        counts.keep_costs()
        self.event_of: dict[str, str] = {m: e for e, lim in events.items() for m in lim.markets}
        """Market ticker -> its event (the markets of the configured events only)."""

    def losses(self, market: str) -> tuple[Decimal, Decimal]:
        """``(loss if Yes, loss if No)`` of one market: its fills and its open orders at
        their worst."""
        position = self.tracker.position(market)
        cash = position.buy_cost - position.sell_proceeds + position.fees
        buys, sells = self.counts.costs(market)
        return cash - position.net + sells, cash + buys

    def worst(
        self,
        event: str,
        changed: str | None = None,
        extra_yes: Decimal = _ZERO,
        extra_no: Decimal = _ZERO,
    ) -> tuple[Decimal, str]:
        """The worst outcome of ``event``: ``(its loss, which outcome in words)``, with
        ``changed``'s losses raised by ``extra_yes`` / ``extra_no`` (an order judged)."""
        limit = self.events[event]
        rows = []
        for market in limit.markets:
            yes, no = self.losses(market)
            if market == changed:
                yes, no = yes + extra_yes, no + extra_no
            rows.append((market, yes, no))
        if not limit.mutually_exclusive:
            total = sum((max(yes, no) for _, yes, no in rows), _ZERO)
            return total, "each market at its own worst (independent markets)"
        all_no = sum((no for _, _, no in rows), _ZERO)
        best, which = None, ""
        for market, yes, no in rows:
            if best is None or yes - no > best:
                best, which = yes - no, market
        assert best is not None
        if limit.all_no and best <= 0:
            return all_no, "every market settles No"
        return all_no + best, f"{which} settles Yes, the others No"

    def check(
        self,
        symbol: str,
        side_buy: bool,
        cost: Decimal,
        chain_cost: Decimal,
        refuse: Any,
    ) -> None:
        """Refuse an order on ``symbol`` whose cost if it fills (``cost``: what it pays; a
        replace: its chain's cost ``chain_cost`` before) would push its event's worst outcome
        past the limit (and raise it)."""
        event = self.event_of.get(symbol)
        if event is None:
            return
        grows = max(cost, chain_cost) - chain_cost
        if grows <= 0:
            return
        before, _ = self.worst(event)
        if side_buy:
            after, outcome = self.worst(event, symbol, extra_no=grows)
        else:
            after, outcome = self.worst(event, symbol, extra_yes=grows)
        limit = self.events[event].max_worst_loss
        if after > limit and after > before:
            refuse(
                "max_worst_loss",
                limit,
                after,
                f"event {event}'s worst outcome ({outcome}) would lose ${after:f} > "
                f"${limit:f} (${before:f} before this order)",
            )
