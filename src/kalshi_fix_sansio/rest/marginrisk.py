"""Kalshi's margin risk pages read into `MarginFigures` (sans-IO: no I/O, no clock).

`MarginRiskFetch` reads, signed with the account's API key, ``GET /margin/risk``,
``GET /margin/notional_risk_limit`` and ``GET /margin/risk_parameters`` (Kalshi's perps API;
none is paged) and keeps what they say in a
`kalshi_fix_sansio.trading.marginrisk.MarginFigures` (``figures``), which the order gate judges
the margin limits on (``gate.margin_figures = fetch.figures``). A REST companion runs it as it
runs an instruments fetch (`kalshi_fix_sansio.adapters.rest.RestCompanion.run`).

A page refused with 429 or 5xx is asked again after a delay (``Retry-After``, or doubling from
``retry_delay``) up to ``max_retries`` times; a page given up, refused or unreadable is told in
``missing`` (one line each), and ``refused`` says in one line why the key cannot read them
(401: the signature; 403: the key lacks the permission). Figures are made only when the risk
page and the notional limit page were both read: the first of them that fails ends the fetch
(the parameters are optional: when they fail, their fields stay None).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from ..codec.errors import LocalProtocolError
from ..session import Credentials
from ..session.events import Event
from ..trading.marginrisk import MarginFigures, PositionRisk
from ._accountpages import AccountPages
from .pages import API_PREFIX

__all__ = [
    "MARGIN_RISK_PAGES",
    "MarginFiguresRead",
    "MarginFiguresStale",
    "MarginRiskFetch",
    "parse_margin_risk",
    "parse_notional_risk_limit",
    "parse_risk_parameters",
]

MARGIN_RISK_PAGES: Final[Mapping[str, str]] = {
    "margin_risk": f"{API_PREFIX}/margin/risk",
    "notional_risk_limit": f"{API_PREFIX}/margin/notional_risk_limit",
    "risk_parameters": f"{API_PREFIX}/margin/risk_parameters",
}
"""The pages read, by the names their events carry."""

_MAX_TEXT: Final = 40


@attrs.frozen(slots=True)
class MarginFiguresRead(Event):
    """A session's desk watch read Kalshi's margin figures: the order gate judges the margin
    limits on them and the metrics show them from now on (``session.margin_figures``).

    Attributes:
        figures: what was read.
    """

    figures: MarginFigures


@attrs.frozen(slots=True)
class MarginFiguresStale(Event):
    """No read of Kalshi's margin figures came for the watch's ``margin_stale_after`` periods:
    orders that take risk are refused (the margin limits cannot be judged) until the next
    `MarginFiguresRead`; reducing orders and cancels still go.

    Attributes:
        reason: why, in one line (what the refusals say).
    """

    reason: str


def _number(value: object, where: str, *, optional: bool = False) -> Decimal | None:
    """A figure: Kalshi's fixed-point string, or a JSON number (read through its text).

    Raises:
        ValueError: not one (the message names ``where``).
    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{where}: {value!r:.40} is not a number")
    text = value if isinstance(value, str) else repr(value)
    try:
        read = Decimal(text) if len(text) <= _MAX_TEXT else None
    except InvalidOperation:
        read = None
    if read is None or not read.is_finite():
        raise ValueError(f"{where}: {text[:40]!r} is not a number")
    return read


def _figure(value: object, where: str) -> Decimal:
    read = _number(value, where)
    assert read is not None
    return read


def _figures_map(value: object, where: str) -> dict[str, Decimal]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} is not an object")
    out: dict[str, Decimal] = {}
    for key, figure in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= 128:
            raise ValueError(f"{where}: a key {key!r:.40} is not a market ticker")
        out[key] = _figure(figure, f"{where}[{key!r}]")
    return out


def parse_margin_risk(page: Mapping[str, Any], subaccount: int = 0) -> dict[str, Any] | str:
    """``GET /margin/risk``'s answer as `MarginFigures` fields (the positions of
    ``subaccount``); a str: why it cannot be read."""
    try:
        positions: dict[str, PositionRisk] = {}
        rows = page.get("positions")
        if rows is not None and not isinstance(rows, list):
            raise ValueError("positions is not a list")
        for index, row in enumerate(rows or ()):
            where = f"positions[{index}]"
            if not isinstance(row, Mapping):
                raise ValueError(f"{where} is not an object")
            if row.get("subaccount", 0) != subaccount:
                continue
            ticker = row.get("market_ticker")
            if not isinstance(ticker, str) or not 0 < len(ticker) <= 128:
                raise ValueError(f"{where}.market_ticker {ticker!r:.40} is not a ticker")
            positions[ticker] = PositionRisk(
                ticker,
                _figure(row.get("position"), f"{where}.position"),
                _figure(row.get("mark_price"), f"{where}.mark_price"),
                _figure(row.get("position_notional"), f"{where}.position_notional"),
                _number(
                    row.get("maintenance_margin_required"),
                    f"{where}.maintenance_margin_required",
                    optional=True,
                ),
                _number(
                    row.get("estimated_liquidation_price"),
                    f"{where}.estimated_liquidation_price",
                    optional=True,
                ),
                _number(row.get("position_leverage"), f"{where}.position_leverage", optional=True),
            )
        return {
            "positions": positions,
            "total_notional": _figure(
                page.get("total_position_notional"), "total_position_notional"
            ),
            "total_maintenance_margin": _figure(
                page.get("total_maintenance_margin"), "total_maintenance_margin"
            ),
            "account_leverage": _number(
                page.get("account_leverage"), "account_leverage", optional=True
            ),
        }
    except ValueError as exc:
        return str(exc)


def parse_notional_risk_limit(page: Mapping[str, Any]) -> dict[str, Any] | str:
    """``GET /margin/notional_risk_limit``'s answer as `MarginFigures` fields; a str: why it
    cannot be read. The account's limit is its effective one, else the member's."""
    try:
        account = _number(
            page.get("effective_account_notional_value_risk_limit"),
            "effective_account_notional_value_risk_limit",
            optional=True,
        )
        if account is None:
            account = _number(
                page.get("member_notional_value_risk_limit"),
                "member_notional_value_risk_limit",
                optional=True,
            )
        return {
            "default_notional_limit": _figure(
                page.get("default_notional_value_risk_limit"), "default_notional_value_risk_limit"
            ),
            "notional_limits": _figures_map(
                page.get("notional_value_risk_limits_by_market_ticker"),
                "notional_value_risk_limits_by_market_ticker",
            ),
            "account_notional_limit": account,
            "notional_usage": _figure(page.get("total_current_usage"), "total_current_usage"),
            "usage_by_market": _figures_map(
                page.get("current_usage_by_market_ticker"), "current_usage_by_market_ticker"
            ),
        }
    except ValueError as exc:
        return str(exc)


def parse_risk_parameters(page: Mapping[str, Any]) -> dict[str, Any] | str:
    """``GET /margin/risk_parameters``'s answer as `MarginFigures` fields; a str: why it
    cannot be read."""
    try:
        return {
            "liquidation_ratio": _figure(
                page.get("liquidation_margin_ratio_threshold"), "liquidation_margin_ratio_threshold"
            ),
            "queue_entry_ratio": _figure(
                page.get("queue_entry_margin_ratio_threshold"), "queue_entry_margin_ratio_threshold"
            ),
            "initial_margin_multiplier": _figures_map(
                page.get("initial_margin_multiplier"), "initial_margin_multiplier"
            ),
        }
    except ValueError as exc:
        return str(exc)


_PARSERS: Final = {
    "margin_risk": parse_margin_risk,
    "notional_risk_limit": parse_notional_risk_limit,
    "risk_parameters": parse_risk_parameters,
}


class MarginRiskFetch(AccountPages):
    """Read Kalshi's margin risk pages into `MarginFigures` (see the module).

    Args:
        credentials: the margin API key (the pages are the account's).
        environment: ``"demo"`` or ``"production"``.
        base_url: ``https://host[:port]`` instead (e.g. the mock gateway's REST server).
        subaccount: whose positions are read (Kalshi's subaccount number; 0: the primary).
        parameters: also read the exchange's risk parameters.
        max_retries: 429 / 5xx answers of one page before it is given up.
        retry_delay: the first delay after a 429 / 5xx without ``Retry-After`` (doubling).

    Raises:
        LocalProtocolError: an argument out of range (named).
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        environment: str = "demo",
        base_url: str | None = None,
        subaccount: int = 0,
        parameters: bool = True,
        max_retries: int = 4,
        retry_delay: float = 0.5,
    ) -> None:
        if not isinstance(credentials, Credentials):
            raise LocalProtocolError(
                "credentials must be Credentials: Kalshi's margin risk pages are the account's"
            )
        if isinstance(subaccount, bool) or not isinstance(subaccount, int) or subaccount < 0:
            raise LocalProtocolError(f"subaccount must be an int >= 0, got {subaccount!r}")
        super().__init__(
            [
                (k, path)
                for k, path in MARGIN_RISK_PAGES.items()
                if parameters or k != "risk_parameters"
            ],
            credentials=credentials,
            environment=environment,
            base_url=base_url,
            max_retries=max_retries,
            retry_delay=retry_delay,
            optional=("risk_parameters",),
        )
        self.subaccount = subaccount
        self._read: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None

    @property
    def figures(self) -> MarginFigures | None:
        """What was read (None: the risk page or the notional limit page is missing)."""
        if "margin_risk" not in self._read or "notional_risk_limit" not in self._read:
            return None
        fields: dict[str, Any] = {}
        for part in self._read.values():
            fields.update(part)
        return MarginFigures(**fields, fetched_at=self._fetched_at)

    def _take(self, kind: str, path: str, page: dict[str, Any], now: float) -> None:
        parser: Any = _PARSERS[kind]
        read = parser(page, self.subaccount) if kind == "margin_risk" else parser(page)
        if isinstance(read, str):
            self.missing.append(f"{path}: unreadable ({read})")
        else:
            self._read[kind] = read
            self._fetched_at = now if self._fetched_at is None else self._fetched_at
