"""The account's fee schedule read from Kalshi's REST API (sans-IO: no I/O, no clock).

`KalshiFeesFetch` reads what Kalshi charges, one `KalshiFeeRates` per series (prediction) or
market (margin) (``rates``); `FeeSchedule.of_kalshi
<kalshi_fix_sansio.simulator.gateway.exchange.fees.FeeSchedule.of_kalshi>` makes them the
model the mock exchange, paper trading and backtests charge every fill with:

* margin: ``GET /margin/fee_tiers`` (signed: the account's own maker and taker rate per market,
  fractions of the notional) makes one override per market; ``GET /margin/fee_tier_rates``
  (Kalshi's tiers of each fee schedule) is kept as read (``tier_rates``);
* prediction: ``GET /series`` (public) gives each series' ``fee_type`` and ``fee_multiplier``:
  ``quadratic`` (Kalshi's general table, no maker fee) and ``quadratic_with_maker_fees`` (with
  the maker fee) make one override per series; ``flat`` (Kalshi's specific table, not a
  formula the schedule holds) is named in ``missing``.

``FeeSchedule.dumps`` writes that schedule as a schedule file: saved once, an offline run
charges it with ``--fees FILE``. A page refused, given up or unreadable is named in ``missing``;
``refused`` says in one line why Kalshi refused the key (401, 403).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from ..codec.errors import LocalProtocolError
from ..session import Credentials
from ._accountpages import AccountPages
from .pages import API_PREFIX

__all__ = [
    "FEE_PAGES",
    "FEE_TYPES",
    "KalshiFeeRates",
    "KalshiFeesFetch",
    "rates_of_series",
    "rates_of_tiers",
]

FEE_PAGES: Final[Mapping[str, str]] = {
    "fee_tiers": f"{API_PREFIX}/margin/fee_tiers",
    "fee_tier_rates": f"{API_PREFIX}/margin/fee_tier_rates",
    "series_list": f"{API_PREFIX}/series",
}
"""The pages read, by the names their events carry."""

FEE_TYPES: Final = ("quadratic", "quadratic_with_maker_fees", "flat")
"""Kalshi's series fee types (``flat`` is not modelled)."""

_ZERO: Final = Decimal(0)


@attrs.frozen
class KalshiFeeRates:
    """What Kalshi charges in one series or market (None: the product's general rate).

    Attributes:
        taker: margin: the taker's fraction of the notional (prediction: None, the general
            table's coefficient).
        maker: the maker's (prediction: 0 for a ``quadratic`` series, None: with maker fees).
        multiplier: the series' ``fee_multiplier`` (prediction).
    """

    taker: Decimal | None = None
    maker: Decimal | None = None
    multiplier: Decimal | None = None


def _rate(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{where}: {value!r:.40} is not a number")
    text = value if isinstance(value, str) else repr(value)
    try:
        rate = Decimal(text) if len(text) <= 40 else Decimal("NaN")
    except InvalidOperation:
        rate = Decimal("NaN")
    if not rate.is_finite() or rate < 0:
        raise ValueError(f"{where}: {text[:40]!r} is not a rate >= 0")
    return rate


def rates_of_tiers(page: Mapping[str, Any]) -> dict[str, KalshiFeeRates] | str:
    """``GET /margin/fee_tiers``'s answer as one `KalshiFeeRates` per market (a str: why
    not)."""
    try:
        makers, takers = page.get("maker_fee_rates"), page.get("taker_fee_rates")
        if not isinstance(makers, Mapping) or not isinstance(takers, Mapping):
            raise ValueError("maker_fee_rates and taker_fee_rates must be objects")
        out: dict[str, KalshiFeeRates] = {}
        for ticker in sorted(set(makers) | set(takers)):
            if not isinstance(ticker, str) or not 0 < len(ticker) <= 128:
                raise ValueError(f"{ticker!r:.40} is not a market ticker")
            maker = makers.get(ticker)
            taker = takers.get(ticker)
            out[ticker] = KalshiFeeRates(
                taker=None if taker is None else _rate(taker, f"taker_fee_rates[{ticker!r}]"),
                maker=None if maker is None else _rate(maker, f"maker_fee_rates[{ticker!r}]"),
            )
        return out
    except ValueError as exc:
        return str(exc)


def rates_of_series(record: Mapping[str, Any]) -> tuple[str, KalshiFeeRates] | str:
    """One series record's fees: (its ticker, its `KalshiFeeRates`); a str: why not (``flat``
    too)."""
    ticker = record.get("ticker")
    if not isinstance(ticker, str) or not 0 < len(ticker) <= 64:
        return f"a series ticker {ticker!r:.40} is not one"
    kind = record.get("fee_type")
    try:
        multiplier = _rate(record.get("fee_multiplier"), f"series {ticker}: fee_multiplier")
    except ValueError as exc:
        return str(exc)
    if kind == "quadratic":
        return ticker, KalshiFeeRates(maker=_ZERO, multiplier=multiplier)
    if kind == "quadratic_with_maker_fees":
        return ticker, KalshiFeeRates(multiplier=multiplier)
    if kind == "flat":
        return f"series {ticker}: fee type 'flat' (Kalshi's specific table) is not modelled"
    return f"series {ticker}: fee type {kind!r:.40} is not one of {', '.join(FEE_TYPES)}"


class KalshiFeesFetch(AccountPages):
    """Read the account's fee schedule from Kalshi (see the module).

    Args:
        product: ``"prediction"`` or ``"margin"``.
        credentials: the API key (margin's pages are the account's: required there).
        environment: ``"demo"`` or ``"production"``.
        base_url: ``https://host[:port]`` instead (e.g. the mock gateway's REST server).
        max_retries: 429 / 5xx answers of one page before it is given up.
        retry_delay: the first delay after a 429 / 5xx without ``Retry-After`` (doubling).

    Raises:
        LocalProtocolError: an argument out of range (named).
    """

    def __init__(
        self,
        product: str,
        *,
        credentials: Credentials | None = None,
        environment: str = "production",
        base_url: str | None = None,
        max_retries: int = 4,
        retry_delay: float = 0.5,
    ) -> None:
        if product not in ("prediction", "margin"):
            raise LocalProtocolError(f"product must be prediction or margin, got {product!r}")
        if credentials is not None and not isinstance(credentials, Credentials):
            raise LocalProtocolError("credentials must be Credentials or None")
        if product == "margin" and credentials is None:
            raise LocalProtocolError(
                "credentials are needed: Kalshi's margin fee tiers are the account's"
            )
        kinds = ("fee_tiers", "fee_tier_rates") if product == "margin" else ("series_list",)
        super().__init__(
            [(kind, FEE_PAGES[kind]) for kind in kinds],
            credentials=credentials,
            environment=environment,
            base_url=base_url,
            max_retries=max_retries,
            retry_delay=retry_delay,
            optional=("fee_tier_rates",),
        )
        self.product = product
        self.rates: dict[str, KalshiFeeRates] = {}
        """Series (prediction) or market (margin) -> its rates, as read (complete once
        ``fetched_at`` is set)."""
        self.tier_rates: list[dict[str, Any]] = []
        """Kalshi's fee tiers (margin): ``fee_schedule``, ``tier``, ``maker_fee_rate``,
        ``taker_fee_rate``, as read."""
        self.fetched_at: float | None = None
        """When the fee page was read (None: it was not)."""

    def _take(self, kind: str, path: str, page: dict[str, Any], now: float) -> None:
        if kind == "fee_tier_rates":
            rows = page.get("fee_tier_rates")
            if isinstance(rows, list) and all(isinstance(r, dict) for r in rows):
                self.tier_rates = rows
            else:
                self.missing.append(f"{path}: unreadable (no fee_tier_rates list)")
            return
        if kind == "fee_tiers":
            read = rates_of_tiers(page)
            if isinstance(read, str):
                self.missing.append(f"{path}: unreadable ({read})")
                return
            self.rates.update(read)
            self.fetched_at = now
            return
        records = page.get("series")
        if not isinstance(records, list):
            self.missing.append(f"{path}: unreadable (no series list)")
            return
        for record in records:
            found = rates_of_series(record) if isinstance(record, dict) else "not an object"
            if isinstance(found, str):
                self.missing.append(found)
            else:
                self.rates[found[0]] = found[1]
        self.fetched_at = now
