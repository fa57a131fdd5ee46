"""The mock gateway's margin risk pages: ``/margin/risk``, ``/margin/notional_risk_limit`` and
``/margin/risk_parameters``, in the shapes of Kalshi's perps API, from the mock's own book of
each account's positions (`kalshi_fix_sansio.simulator.gateway.rest.RestApp`).

How the mock measures (its own figures; Kalshi publishes no formula):

* a position's mark is the price of its last fill, its notional ``|q| x mark``, its
  maintenance margin ``maintenance_rate x notional``;
* the account's equity is ``collateral`` plus every position's realized and unrealized P&L
  less its fees; a position's liquidation price is where its equity, ``equity`` less the other
  positions' maintenance margins plus ``q x (price - mark)``, meets its own maintenance margin
  at that price (the linear rule of `kalshi_fix_sansio.trading.marginrisk`, so a client
  carries the estimate forward exactly);
* the notional risk limit is ``notional_limit`` per market (``notional_limits`` overrides one
  market), the account's ``account_notional_limit`` when set; the usage is the positions'
  notionals plus the resting orders' (``qty x price``).

The fee pages: ``/margin/fee_tiers`` answers each listed market's maker and taker rate as the
exchange charges them (its `FeeSchedule`), ``/margin/fee_tier_rates`` the tiers of
`MarginTerms.fee_tier_rates`.

A key in ``denied`` is answered 403 on these pages (a key without the margin permission).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qs

import attrs

from ...rest.marginrisk import MARGIN_RISK_PAGES
from ...trading.marginrisk import liquidation_price

__all__ = ["MarginTerms", "margin_page"]

_PRICE: Final = Decimal("0.0001")
_TWO: Final = Decimal("0.01")
_ZERO: Final = Decimal(0)
_PATHS: Final = {
    **{path: name for name, path in MARGIN_RISK_PAGES.items()},
    "/trade-api/v2/margin/fee_tiers": "fee_tiers",
    "/trade-api/v2/margin/fee_tier_rates": "fee_tier_rates",
    "/trade-api/v2/margin/corporate_actions": "corporate_actions",
}


@attrs.define
class MarginTerms:
    """What the mock's margin risk pages answer from (settable at any time).

    Attributes:
        collateral: each account's cash, dollars.
        maintenance_rate: maintenance margin as a share of notional.
        notional_limit: the default notional value risk limit of a market.
        notional_limits: market -> its own limit.
        account_notional_limit: the account's effective limit (None: Kalshi's field left out).
        liquidation_ratio: ``liquidation_margin_ratio_threshold`` served.
        queue_entry_ratio: ``queue_entry_margin_ratio_threshold`` served.
        initial_margin_multiplier: ``initial_margin_multiplier`` served.
        denied: API key ids answered 403 on these pages.
        fee_tier_rates: ``/margin/fee_tier_rates``' rows: (fee schedule, tier, maker rate,
            taker rate).
        corporate_actions: ``/margin/corporate_actions``' notices, in Kalshi's shape (public:
            served without a key; ``ticker`` filters them).
    """

    collateral: Decimal = Decimal(1000)
    maintenance_rate: Decimal = Decimal("0.1")
    notional_limit: Decimal = Decimal(5000)
    notional_limits: dict[str, Decimal] = attrs.field(factory=dict)
    account_notional_limit: Decimal | None = None
    liquidation_ratio: Decimal = Decimal(1)
    queue_entry_ratio: Decimal = Decimal("0.9")
    initial_margin_multiplier: dict[str, Decimal] = attrs.field(
        factory=lambda: {"default": Decimal("1.5")}
    )
    denied: set[str] = attrs.field(factory=set)
    fee_tier_rates: list[tuple[str, int, Decimal, Decimal]] = attrs.field(
        factory=lambda: [("self_clearing_members", 0, Decimal(0), Decimal("0.0005"))]
    )
    corporate_actions: list[dict[str, Any]] = attrs.field(factory=list)


def _dollars(value: Decimal) -> str:
    return str(value.quantize(_PRICE))


def _number(value: Decimal) -> float | int:
    """A spec ``number``: a JSON number (an int when whole)."""
    return int(value) if value == value.to_integral_value() else float(value)


def margin_page(
    path: str,
    key_id: str,
    authenticate: Callable[[], str | None],
    terms: MarginTerms,
    books: Mapping[tuple[str, str], Any],
    resting: Callable[[str], list[tuple[str, Decimal, Decimal]]],
    fees: Callable[[], Mapping[str, tuple[Decimal, Decimal]]] = dict,
    query: str = "",
) -> tuple[int, dict[str, str], bytes] | None:
    """The answer to a margin risk page (None: not one of them).

    Args:
        path: the request's path.
        key_id: the API key that signed it.
        authenticate: its account (None: not authenticated: 401), asked on these paths only.
        terms: what to answer from.
        books: (account, market) -> the REST app's book (``net``, ``entry``, ``realized``,
            ``fees``, ``mark``).
        resting: an account's resting orders as (market, qty left, price).
        fees: each market's (maker, taker) rate, fractions of the notional, as the exchange
            charges them (``/margin/fee_tiers``).
        query: the request's query (``ticker`` filters the corporate actions).
    """
    name = _PATHS.get(path)
    if name is None:
        return None
    if name == "corporate_actions":  # public, as Kalshi's: a signed request is signed well
        if key_id and authenticate() is None:
            return _json(401, {"error": "unauthorized: bad KALSHI-ACCESS-* headers"})
        ticker = parse_qs(query).get("ticker", [""])[0]
        notices = [n for n in terms.corporate_actions if not ticker or n["market_ticker"] == ticker]
        return _json(200, {"corporate_actions": notices})
    account = authenticate()
    if account is None:
        return _json(401, {"error": "unauthorized: bad or missing KALSHI-ACCESS-* headers"})
    if key_id in terms.denied:
        return _json(403, {"error": "forbidden: this API key may not read the margin account"})
    if name in ("fee_tiers", "fee_tier_rates"):
        return _json(200, _fee_page(name, terms, fees))
    if name == "risk_parameters":
        return _json(
            200,
            {
                "liquidation_margin_ratio_threshold": _number(terms.liquidation_ratio),
                "queue_entry_margin_ratio_threshold": _number(terms.queue_entry_ratio),
                "initial_margin_multiplier": {
                    k: _number(v) for k, v in terms.initial_margin_multiplier.items()
                },
            },
        )
    mine = {symbol: book for (owner, symbol), book in sorted(books.items()) if owner == account}
    if name == "notional_risk_limit":
        return _json(200, _limit_page(terms, mine, resting(account)))
    return _json(200, _risk_page(terms, mine))


def _json(status: int, body: object) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _risk_page(terms: MarginTerms, books: Mapping[str, Any]) -> dict[str, Any]:
    rate = terms.maintenance_rate
    held = {s: b for s, b in books.items() if b.net != 0}
    equity = terms.collateral + sum(
        (b.realized - b.fees + (b.mark - b.entry) * b.net for b in books.values()), _ZERO
    )
    margins = {s: rate * abs(b.net) * b.mark for s, b in held.items()}
    rows = []
    for symbol, book in held.items():
        notional = abs(book.net) * book.mark
        own = equity - (sum(margins.values(), _ZERO) - margins[symbol])
        price = liquidation_price(book.net, book.mark, rate, own)
        rows.append(
            {
                "subaccount": 0,
                "market_ticker": symbol,
                "position": str(book.net.quantize(_TWO)),
                "mark_price": _dollars(book.mark),
                "position_notional": _dollars(notional),
                "maintenance_margin_required": _dollars(margins[symbol]),
                "position_leverage": _number((notional / margins[symbol]).quantize(_PRICE))
                if margins[symbol]
                else None,
                "estimated_liquidation_price": None if price is None else _dollars(price),
                "is_portfolio": False,
            }
        )
    total = sum((abs(b.net) * b.mark for b in held.values()), _ZERO)
    margin = sum(margins.values(), _ZERO)
    return {
        "total_position_notional": _dollars(total),
        "total_maintenance_margin": _dollars(margin),
        "positions": rows,
        "account_leverage": _number((total / margin).quantize(_PRICE)) if margin else None,
    }


def _limit_page(
    terms: MarginTerms, books: Mapping[str, Any], resting: list[tuple[str, Decimal, Decimal]]
) -> dict[str, Any]:
    usage: dict[str, Decimal] = {s: abs(b.net) * b.mark for s, b in books.items() if b.net != 0}
    for symbol, qty, price in resting:
        usage[symbol] = usage.get(symbol, _ZERO) + qty * price
    page: dict[str, Any] = {
        "default_notional_value_risk_limit": _dollars(terms.notional_limit),
        "notional_value_risk_limits_by_market_ticker": {
            s: _dollars(v) for s, v in sorted(terms.notional_limits.items())
        },
        "total_current_usage": _dollars(sum(usage.values(), _ZERO)),
        "current_usage_by_market_ticker": {s: _dollars(v) for s, v in sorted(usage.items())},
    }
    if terms.account_notional_limit is not None:
        page["effective_account_notional_value_risk_limit"] = _dollars(terms.account_notional_limit)
    return page


def _fee_page(
    name: str, terms: MarginTerms, fees: Callable[[], Mapping[str, tuple[Decimal, Decimal]]]
) -> dict[str, Any]:
    if name == "fee_tier_rates":
        return {
            "fee_tier_rates": [
                {
                    "fee_schedule": schedule,
                    "tier": tier,
                    "maker_fee_rate": _number(maker),
                    "taker_fee_rate": _number(taker),
                }
                for schedule, tier, maker, taker in terms.fee_tier_rates
            ]
        }
    rates = fees()
    return {
        "maker_fee_rates": {s: _number(maker) for s, (maker, _) in sorted(rates.items())},
        "taker_fee_rates": {s: _number(taker) for s, (_, taker) in sorted(rates.items())},
    }
