"""Kalshi's series, events and markets records, checked (prediction and margin; sans-IO).

The records of Kalshi's Trade API v2 market-metadata endpoints (their shape: see
`kalshi_fix_sansio.rest.instruments`) read into frozen values: `SeriesInfo`, `EventInfo`,
`MarketInfo` with its price grid (`PriceRange`). A parser returns the value, or why the record
cannot be one (a str): nothing from a bad record is kept.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

__all__ = [
    "MARKET_STATUSES",
    "PRICE_LEVEL_STRUCTURES",
    "EventInfo",
    "MarketInfo",
    "PriceRange",
    "SeriesInfo",
    "parse_event",
    "parse_market",
    "parse_series",
]

MARKET_STATUSES: Final = ("unopened", "open", "paused", "closed", "settled")
"""The ``status`` filters Kalshi's ``GET /markets`` and ``GET /events`` take."""

_STATUS_OF: Final[Mapping[str, str]] = {
    "initialized": "unopened",
    "inactive": "paused",
    "active": "open",
    "closed": "closed",
    "determined": "closed",
    "disputed": "closed",
    "amended": "closed",
    "finalized": "settled",
    "settled": "settled",
}
"""A market record's lifecycle ``status`` -> the filter it answers to (the filter's own words
map to themselves)."""

_MAX_TEXT: Final = 256
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_CENT: Final = Decimal("0.01")
_DECI: Final = Decimal("0.001")


@attrs.frozen
class PriceRange:
    """One interval of a market's price grid: prices from ``start`` to ``end`` (dollars, both
    included) on steps of ``step``."""

    start: Decimal
    end: Decimal
    step: Decimal


PRICE_LEVEL_STRUCTURES: Final[Mapping[str, tuple[PriceRange, ...]]] = {
    "linear_cent": (PriceRange(_ZERO, _ONE, _CENT),),
    "tapered_deci_cent": (
        PriceRange(_ZERO, Decimal("0.10"), _DECI),
        PriceRange(Decimal("0.10"), Decimal("0.90"), _CENT),
        PriceRange(Decimal("0.90"), _ONE, _DECI),
    ),
    "deci_cent": (PriceRange(_ZERO, _ONE, _DECI),),
}
"""Kalshi's named price grids (its fixed-point migration page), used when a market record has
no ``price_ranges``."""


@attrs.frozen
class SeriesInfo:
    """A series: a family of recurring events (``KXHIGHNY``).

    Attributes:
        ticker: the series ticker.
        title: its title.
        category: Kalshi's category ("" when not given).
        frequency: how often its events recur ("" when not given).
    """

    ticker: str
    title: str = ""
    category: str = ""
    frequency: str = ""


@attrs.frozen
class EventInfo:
    """An event: markets that settle on one happening (``KXHIGHNY-24JAN01``).

    Attributes:
        ticker: the event ticker.
        series: its series ticker.
        title: its title.
        mutually_exclusive: Kalshi's flag: at most one of its markets settles Yes.
        markets: its market tickers (those the catalogue holds).
    """

    ticker: str
    series: str
    title: str = ""
    mutually_exclusive: bool = False
    markets: tuple[str, ...] = ()


@attrs.frozen
class MarketInfo:
    """A market: one contract (``KXHIGHNY-24JAN01-T60``; a margin market's ticker).

    Attributes:
        ticker: the market ticker.
        event: its event ticker ("" for a margin market).
        series: its series ticker ("" for a margin market).
        title: its title.
        status: the filter word of its status (one of `MARKET_STATUSES`; Kalshi's own word
            when it is another).
        price_ranges: its price grid (prediction: within $0-$1; margin: one range from its
            tick up).
        close_time: when trading closes, UTC epoch seconds (None: not given).
        expiration_time: when it expires, UTC epoch seconds (None: not given).
        product: ``"prediction"`` or ``"margin"``.
    """

    ticker: str
    event: str = ""
    series: str = ""
    title: str = ""
    status: str = "open"
    price_ranges: tuple[PriceRange, ...] = PRICE_LEVEL_STRUCTURES["linear_cent"]
    close_time: float | None = None
    expiration_time: float | None = None
    product: str = "prediction"

    @property
    def tick_size(self) -> Decimal:
        """The finest step of its price grid."""
        return min(r.step for r in self.price_ranges)

    def tick_at(self, price: Decimal) -> Decimal | None:
        """The step of the price grid at ``price`` (None: outside the grid: no valid price).
        At a boundary of two ranges, the finer step."""
        steps = [r.step for r in self.price_ranges if r.start <= price <= r.end]
        return min(steps) if steps else None

    def on_grid(self, price: Decimal) -> bool:
        """Whether ``price`` is a price of the market's grid (inside a range, on its step)."""
        for r in self.price_ranges:
            if r.start <= price <= r.end and not (price - r.start) % r.step:
                return True
        return False


# --------------------------------------------------------------------------------------------
# Records


class _Bad(ValueError):
    pass


def _text(record: Mapping[str, Any], name: str, *, optional: bool = False) -> str:
    value = record.get(name)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or not len(value) <= _MAX_TEXT or not value.isprintable():
        raise _Bad(f"{name} is missing or not printable text of at most {_MAX_TEXT}")
    if not value and not optional:
        raise _Bad(f"{name} is empty")
    return value


def _ticker(record: Mapping[str, Any], name: str, *, optional: bool = False) -> str:
    value = _text(record, name, optional=optional)
    if value and (len(value) > 64 or not all(c.isalnum() or c in "-_." for c in value)):
        raise _Bad(f"{name} {value[:70]!r} is not a ticker (letters, digits, '-', '_', '.')")
    return value


def _number(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Bad(f"{name} is not a number: {value!r:.40}")
    text = str(value)
    try:
        out = Decimal(text) if 0 < len(text) <= 32 else Decimal("NaN")
    except InvalidOperation:
        out = Decimal("NaN")
    if not out.is_finite() or out < 0:
        raise _Bad(f"{name} is not a finite number >= 0: {text[:40]!r}")
    return out


def _when(record: Mapping[str, Any], *names: str) -> float | None:
    for name in names:
        text = record.get(name)
        if text is None or text == "":
            continue
        if not isinstance(text, str) or len(text) > 40:
            raise _Bad(f"{name} is not a date-time")
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _Bad(f"{name} is not an ISO 8601 date-time: {text!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return moment.timestamp()
    return None


def _ranges(record: Mapping[str, Any], product: str) -> tuple[PriceRange, ...]:
    if product == "margin":
        tick = _number(record.get("tick_size"), "tick_size")
        if tick <= 0:
            raise _Bad(f"tick_size {tick} is not above 0")
        return (PriceRange(tick, Decimal("1e12"), tick),)
    entries = record.get("price_ranges")
    if entries:
        if not isinstance(entries, list) or len(entries) > 64:
            raise _Bad("price_ranges is not a list of at most 64 ranges")
        out = []
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise _Bad(f"a price range is not an object: {entry!r:.60}")
            start = _number(entry.get("start"), "price_ranges start")
            end = _number(entry.get("end"), "price_ranges end")
            step = _number(entry.get("step"), "price_ranges step")
            if not (step > 0 and start < end <= _ONE):
                raise _Bad(f"price range {start}-{end} step {step} is not within $0-$1")
            out.append(PriceRange(start, end, step))
        return tuple(out)
    structure = record.get("price_level_structure")
    if structure:
        known = PRICE_LEVEL_STRUCTURES.get(structure) if isinstance(structure, str) else None
        if known is None:
            raise _Bad(f"price_level_structure {structure!r:.40} is not one this library knows")
        return known
    legacy = record.get("tick_size")
    if legacy is not None:  # legacy: integer cents
        cents = _number(legacy, "tick_size")
        if not 0 < cents < 100:
            raise _Bad(f"tick_size {cents} is not a number of cents between 0 and 100")
        return (PriceRange(_ZERO, _ONE, cents / 100),)
    return PRICE_LEVEL_STRUCTURES["linear_cent"]


def parse_series(record: Mapping[str, Any]) -> SeriesInfo | str:
    """A checked `SeriesInfo` from a series record, or why it cannot be one."""
    try:
        return SeriesInfo(
            _ticker(record, "ticker"),
            _text(record, "title", optional=True),
            _text(record, "category", optional=True),
            _text(record, "frequency", optional=True),
        )
    except _Bad as exc:
        return str(exc)


def parse_market(record: Mapping[str, Any], product: str = "prediction") -> MarketInfo | str:
    """A checked `MarketInfo` from a market record (prediction's ``GET /markets``, margin's
    ``GET /margin/markets``), or why it cannot be one."""
    try:
        ticker = _ticker(record, "ticker")
        event = _ticker(record, "event_ticker", optional=product == "margin")
        series = _ticker(record, "series_ticker", optional=True)
        if not series and event:
            series = event.split("-", 1)[0]  # Kalshi's tickers start with their series
        raw = record.get("status")
        status = "open" if raw is None and product == "margin" else _text(record, "status")
        return MarketInfo(
            ticker=ticker,
            event=event,
            series=series,
            title=_text(record, "title", optional=True),
            status=_STATUS_OF.get(status, status),
            price_ranges=_ranges(record, product),
            close_time=_when(record, "close_time"),
            expiration_time=_when(record, "expiration_time", "latest_expiration_time"),
            product=product,
        )
    except _Bad as exc:
        return str(exc)


def parse_event(record: Mapping[str, Any]) -> tuple[EventInfo, list[MarketInfo], list[str]] | str:
    """A checked `EventInfo` from an event record (its nested ``markets`` read too), with the
    markets read and why the others could not be; or why the event cannot be read."""
    try:
        ticker = _ticker(record, "event_ticker")
        series = _ticker(record, "series_ticker", optional=True) or ticker.split("-", 1)[0]
        flag = record.get("mutually_exclusive", False)
        if not isinstance(flag, bool):
            raise _Bad(f"mutually_exclusive is not true or false: {flag!r:.20}")
        nested = record.get("markets") or []
        if not isinstance(nested, list):
            raise _Bad("markets is not a list")
        title = _text(record, "title", optional=True)
    except _Bad as exc:
        return str(exc)
    markets: list[MarketInfo] = []
    bad: list[str] = []
    for entry in nested:
        market = (
            parse_market({"event_ticker": ticker, **entry})
            if isinstance(entry, Mapping)
            else "a market is not a JSON object"
        )
        if isinstance(market, str):
            bad.append(f"a market of event {ticker}: {market}")
        else:
            markets.append(market)
    event = EventInfo(ticker, series, title, flag, tuple(m.ticker for m in markets))
    return event, markets, bad
