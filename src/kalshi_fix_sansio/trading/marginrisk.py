"""Margin risk from Kalshi's own figures, as a pre-trade limit (sans-IO: no clock, no I/O).

Kalshi publishes, for a margin (perps) account, what it measures of the account's risk:

* ``GET /margin/risk``: per position its signed size, mark price, notional, maintenance margin
  required and estimated liquidation price; the account's totals and leverage;
* ``GET /margin/notional_risk_limit``: the notional value risk limit (a default, overridden per
  market, and the account's effective limit when one is set) and its current usage, in all and
  per market;
* ``GET /margin/risk_parameters``: the exchange's thresholds (the margin ratio at which an
  account is liquidated, at which it enters the liquidation queue) and initial-margin
  multipliers.

`MarginFigures` holds them (`kalshi_fix_sansio.rest.marginrisk.MarginRiskFetch` reads them);
two `kalshi_fix_sansio.trading.risk.RiskLimits` fields judge an order against them in the
order gate, before anything is sent, at a cost that does not grow with the orders held:

* ``max_notional_risk_use`` (a share of Kalshi's limit, e.g. ``0.9``): Kalshi's usage of the
  market plus this order's notional (``qty x price``) may be at most that share of the market's
  limit, and the account's usage plus it at most that share of the account's effective limit;
* ``min_liquidation_distance`` (a share of the mark, e.g. ``0.2``): the distance from the mark
  price to the liquidation price of the position the order would make may not fall below it.

The liquidation price after an order is Kalshi's estimate carried forward, by the linear rule
`liquidation_price`: with ``q`` contracts (long +, short -), mark ``m``, maintenance margin
``M`` (the rate ``r = M / (|q| m)``) and Kalshi's liquidation price ``L``, the equity the
position stands on is ``E = q m - q (1 - r) L`` long, ``E = |q| (1 + r) L - |q| m`` short
(equity at price ``P`` is ``E + q (P - m)``; liquidation where it meets ``r |q| P``). An
order adding ``d`` contracts (signed) at price ``p`` makes ``q' = q + d`` and
``E' = E + d (m - p)``; then ``L' = (q' m - E') / (q' (1 - r))`` long,
``L' = (E' + |q'| m) / (|q'| (1 + r))`` short, and the distance is ``(m - L') / m`` long,
``(L' - m) / m`` short (below 0: past liquidation). The
position it starts from is the worst case on the order's side (net plus open orders of that
side, as ``max_position``); the contracts added are those beyond Kalshi's ``q``.

An order that lowers the measured value (a reducing order) always passes. A market Kalshi
lists no liquidation price for (flat, or one it does not estimate) is not judged on distance.
When a limit is set and no figures were read yet, or the ones read are stale (``stale``: a
session's desk watch says so once no read came for its ``margin_stale_after`` periods), orders
that take risk are refused (the limit cannot be judged).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

__all__ = [
    "MarginFigures",
    "PositionRisk",
    "check_margin_risk",
    "equity_of",
    "liquidation_price",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class PositionRisk:
    """One position as Kalshi's ``GET /margin/risk`` measures it.

    Attributes:
        symbol: the market ticker.
        position: contracts, signed (long +, short -).
        mark_price: Kalshi's mark price, dollars.
        notional: the position's notional, dollars.
        maintenance_margin: the maintenance margin it requires (None: not given).
        liquidation_price: Kalshi's estimated liquidation price (None: none estimated).
        leverage: the position's leverage (None: not given).
    """

    symbol: str
    position: Decimal
    mark_price: Decimal
    notional: Decimal
    maintenance_margin: Decimal | None = None
    liquidation_price: Decimal | None = None
    leverage: Decimal | None = None

    @property
    def liquidation_distance(self) -> Decimal | None:
        """How far the mark may move against the position before liquidation, as a share of
        the mark: ``(mark - liquidation) / mark`` long, ``(liquidation - mark) / mark`` short
        (None: no liquidation price, no mark or no position)."""
        if self.liquidation_price is None or self.mark_price <= 0 or self.position == 0:
            return None
        return _signed(self.position, self.mark_price, self.liquidation_price)


@attrs.frozen
class MarginFigures:
    """A margin account's risk as Kalshi measures it (see the module).

    Attributes:
        positions: market ticker -> `PositionRisk`.
        total_notional: the sum of the positions' absolute notionals.
        total_maintenance_margin: the sum of their maintenance margins.
        account_leverage: total notional over total maintenance margin (None: no margin).
        default_notional_limit: Kalshi's notional value risk limit of a market (None: not
            read).
        notional_limits: market ticker -> its own limit (overrides the default).
        account_notional_limit: the account's effective notional limit, all markets together
            (None: Kalshi sets none).
        notional_usage: the account's current usage of its notional limit (None: not read).
        usage_by_market: market ticker -> its current usage.
        liquidation_ratio: the margin ratio at which Kalshi liquidates (None: not read).
        queue_entry_ratio: the margin ratio at which an account enters the liquidation queue.
        initial_margin_multiplier: Kalshi's initial-margin multipliers, by its keys.
        fetched_at: when they were read, UTC epoch seconds (None: set by hand).
        stale: why they are too old to judge on (None: they are current); orders that take
            risk are refused while it is set.
    """

    positions: Mapping[str, PositionRisk] = attrs.field(factory=dict, converter=_frozen_map)
    total_notional: Decimal = _ZERO
    total_maintenance_margin: Decimal = _ZERO
    account_leverage: Decimal | None = None
    default_notional_limit: Decimal | None = None
    notional_limits: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_frozen_map)
    account_notional_limit: Decimal | None = None
    notional_usage: Decimal | None = None
    usage_by_market: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_frozen_map)
    liquidation_ratio: Decimal | None = None
    queue_entry_ratio: Decimal | None = None
    initial_margin_multiplier: Mapping[str, Decimal] = attrs.field(
        factory=dict, converter=_frozen_map
    )
    fetched_at: float | None = None
    stale: str | None = None

    def notional_limit(self, symbol: str) -> Decimal | None:
        """The notional limit of one market: its own, else Kalshi's default."""
        return self.notional_limits.get(symbol, self.default_notional_limit)

    def metrics(self) -> dict[str, Decimal]:
        """The account's figures as gauges, by name (what a dashboard plots); a figure not
        read is left out."""
        out = {
            "margin_total_notional": self.total_notional,
            "margin_total_maintenance": self.total_maintenance_margin,
        }
        optional = {
            "margin_account_leverage": self.account_leverage,
            "margin_notional_usage": self.notional_usage,
            "margin_account_notional_limit": self.account_notional_limit,
            "margin_default_notional_limit": self.default_notional_limit,
        }
        out.update({name: value for name, value in optional.items() if value is not None})
        distances = [
            d for p in self.positions.values() if (d := p.liquidation_distance) is not None
        ]
        if distances:
            out["margin_min_liquidation_distance"] = min(distances)
        if self.stale is not None:
            out["margin_figures_stale"] = _ONE
        return out


def equity_of(position: Decimal, mark: Decimal, rate: Decimal, liquidation: Decimal) -> Decimal:
    """The equity a position stands on, from its liquidation price (the module's rule).

    Args:
        position: contracts, signed (not 0).
        mark: the mark price.
        rate: the maintenance rate (maintenance margin / notional).
        liquidation: the liquidation price.
    """
    if position > 0:
        return position * mark - position * (_ONE - rate) * liquidation
    size = -position
    return size * (_ONE + rate) * liquidation - size * mark


def liquidation_price(
    position: Decimal, mark: Decimal, rate: Decimal, equity: Decimal
) -> Decimal | None:
    """Where a position of ``position`` contracts standing on ``equity`` is liquidated, by the
    module's rule (None: flat, or a long one the equity carries to a price of 0)."""
    if position > 0:
        price = (position * mark - equity) / (position * (_ONE - rate))
        return price if price > 0 else None
    if position < 0:
        size = -position
        return (equity + size * mark) / (size * (_ONE + rate))
    return None


def _distance(
    risk: PositionRisk, rate: Decimal, equity: Decimal, position: Decimal, price: Decimal
) -> Decimal | None:
    """The liquidation distance of ``position`` contracts, those beyond Kalshi's bought or
    sold at ``price`` (None: no liquidation price)."""
    added = position - risk.position
    mark = risk.mark_price
    found = liquidation_price(position, mark, rate, equity + added * (mark - price))
    return None if found is None else _signed(position, mark, found)


def _signed(position: Decimal, mark: Decimal, liquidation: Decimal) -> Decimal:
    """How far the mark may move against the position before liquidation, as a share of the
    mark (below 0: past it)."""
    return (mark - liquidation) / mark if position > 0 else (liquidation - mark) / mark


def check_margin_risk(
    figures: MarginFigures | None,
    *,
    symbol: str,
    buy: bool,
    qty: Decimal,
    price: Decimal | None,
    worst_before: Decimal,
    min_distance: Decimal | None,
    max_use: Decimal | None,
    refuse: Callable[..., None],
) -> None:
    """Judge one order (qty contracts at ``price``, a buy or a sell) against Kalshi's figures.

    Args:
        figures: what Kalshi said (None: nothing read yet; stale: refused).
        symbol: the market.
        buy: the order buys.
        qty: contracts the order adds (a replace: the growth of its chain's leaves).
        price: its price (None: a market order, judged at Kalshi's mark).
        worst_before: the worst-case position on the order's side before it, signed (long +).
        min_distance: ``RiskLimits.min_liquidation_distance``.
        max_use: ``RiskLimits.max_notional_risk_use``.
        refuse: the checker's refusal (limit, value, actual, what[, where]).
    """
    after = worst_before + (qty if buy else -qty)
    reduces = abs(after) <= abs(worst_before) and (after >= 0) == (worst_before >= 0)
    if figures is None or figures.stale is not None:
        if reduces:
            return
        name = "min_liquidation_distance" if min_distance is not None else "max_notional_risk_use"
        value = min_distance if min_distance is not None else max_use
        why = (
            "Kalshi's margin figures were not read yet (watch them: session.watch_desk("
            "margin_every=...), or set the session's margin_figures to what a MarginRiskFetch "
            "read)"
            if figures is None
            else f"Kalshi's margin figures are stale: {figures.stale}"
        )
        refuse(name, value, _ZERO, why)
        return
    risk = figures.positions.get(symbol)
    if price is None:
        price = risk.mark_price if risk is not None else _ZERO
    if max_use is not None and qty > 0:
        _check_notional(figures, symbol, qty * price, max_use, refuse)
    if min_distance is None or risk is None or risk.position == 0 or qty <= 0:
        return
    if risk.liquidation_price is None or risk.mark_price <= 0:
        return
    margin = risk.maintenance_margin
    if margin is None or margin <= 0:
        return
    rate = margin / (abs(risk.position) * risk.mark_price)
    if rate >= _ONE:
        return
    equity = equity_of(risk.position, risk.mark_price, rate, risk.liquidation_price)
    if reduces:
        return  # it brings the position nearer flat: less risk
    distance = _distance(risk, rate, equity, after, price)
    before = _distance(risk, rate, equity, worst_before, price) if worst_before else None
    if distance is None or distance >= min_distance:
        return
    if before is not None and distance >= before:
        return
    refuse(
        "min_liquidation_distance",
        min_distance,
        distance,
        f"a position of {after:f} would stand {distance:.4f} of the mark "
        f"{risk.mark_price:f} from liquidation < {min_distance:f} (Kalshi's liquidation price "
        f"{risk.liquidation_price:f} for {risk.position:f})",
    )


def _check_notional(
    figures: MarginFigures,
    symbol: str,
    notional: Decimal,
    max_use: Decimal,
    refuse: Callable[..., None],
) -> None:
    limit = figures.notional_limit(symbol)
    if limit is not None:
        used = figures.usage_by_market.get(symbol, _ZERO) + notional
        if used > max_use * limit:
            refuse(
                "max_notional_risk_use",
                max_use,
                used,
                f"notional {used:f} (Kalshi's usage {figures.usage_by_market.get(symbol, _ZERO):f}"
                f" + this order {notional:f}) > {max_use:f} x Kalshi's limit {limit:f}",
            )
    limit = figures.account_notional_limit
    if limit is not None and figures.notional_usage is not None:
        used = figures.notional_usage + notional
        if used > max_use * limit:
            refuse(
                "max_notional_risk_use",
                max_use,
                used,
                f"account notional {used:f} (Kalshi's usage {figures.notional_usage:f} + this "
                f"order {notional:f}) > {max_use:f} x Kalshi's account limit {limit:f}",
                None,
            )
