"""The mock gateway's instruments: Kalshi's series, events and markets pages from its markets.

`MarketCatalogue` answers, in the shape Kalshi's Trade API v2 documents, the metadata pages a
`kalshi_fix_sansio.rest.instruments.InstrumentsFetch` reads:

* ``GET /events`` (``series_ticker``, ``status``, ``with_nested_markets``, ``limit``,
  ``cursor``) and ``GET /events/{event_ticker}`` (``{"event", "markets"}``);
* ``GET /series`` (every series, not paged, as Kalshi's) and ``GET /series/{series_ticker}``,
  each with its fees as the exchange charges them (``fee_type``, ``fee_multiplier``);
* ``GET /markets`` (``tickers``, ``event_ticker``, ``series_ticker``, ``status``, ``limit``,
  ``cursor``) and ``GET /markets/{ticker}``;
* margin: ``GET /margin/markets`` and ``GET /margin/markets/{ticker}``.

What it lists: the exchange's markets (`Exchange.markets`, their state as ``status``), each
described by a configured `Instruments` where it holds the market (title, event, grid, times),
else by its ticker alone (Kalshi's naming: the event is the ticker without its last ``-`` part,
the series its first part; a cent grid; not mutually exclusive); and the configured markets the
exchange has not listed (as ``unopened``). Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qs

import attrs

from ...codec.errors import LocalProtocolError
from ...rest.instruments import EventInfo, Instruments, MarketInfo, PriceRange, SeriesInfo
from .exchange import Exchange
from .exchange.fees import FeeSchedule, series_of

__all__ = ["CATALOGUE_ROUTES", "MarketCatalogue", "page_bounds"]

CATALOGUE_ROUTES: Final = (
    "/trade-api/v2/events",
    "/trade-api/v2/events/{event_ticker}",
    "/trade-api/v2/series",
    "/trade-api/v2/series/{series_ticker}",
    "/trade-api/v2/markets",
    "/trade-api/v2/markets/{ticker}",
    "/trade-api/v2/margin/markets",
    "/trade-api/v2/margin/markets/{ticker}",
)
"""The paths the mock serves from a `MarketCatalogue`."""

_RECORD_STATUS: Final[Mapping[str, str]] = {
    "unopened": "initialized",
    "open": "active",
    "paused": "inactive",
    "closed": "closed",
    "settled": "finalized",
}
_MAX_LIMIT: Final = 1000
_MARGIN_TICK: Final = Decimal("0.0001")  # the mock's margin price step (Price(44) on margin)
_MARGIN_TOP: Final = Decimal(1_000_000)

Answer = tuple[int, dict[str, str], bytes]


def _json(status: int, body: object) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _iso(when: float | None) -> str | None:
    if when is None:
        return None
    moment = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def page_bounds(query: Mapping[str, list[str]]) -> tuple[int, int, Answer | None]:
    """``(limit, start, None)`` of a paged request (its ``limit`` and integer ``cursor``), or
    ``(0, 0, the 400 answer that says why not)``."""
    try:
        limit = int(query.get("limit", ["100"])[0])
        start = int(query.get("cursor", ["0"])[0] or "0")
    except ValueError:
        return 0, 0, _json(400, {"error": "limit and cursor must be integers"})
    if not 1 <= limit <= _MAX_LIMIT or start < 0:
        return 0, 0, _json(400, {"error": f"limit must be 1-{_MAX_LIMIT}"})
    return limit, start, None


class MarketCatalogue:
    """Kalshi's metadata pages of one exchange's markets (see the module).

    Args:
        exchange: the exchange whose markets are listed.
        instruments: how they are described (None: by their tickers alone). Settable.
    """

    def __init__(self, exchange: Exchange, instruments: Instruments | None = None) -> None:
        self.exchange = exchange
        self.instruments = instruments

    def catalogue(self) -> Instruments:
        """Every market listed now, described (the exchange's state as status)."""
        product = self.exchange.product
        given = self.instruments
        out = Instruments(product)
        described: dict[str, MarketInfo] = {}
        if given is not None:
            out.add(*(given.series(e.series) for e in given.events() if e.series))
            out.add(*given.events())
            described = {m.ticker: m for m in given.markets()}
        listed = self.exchange.markets()
        for ticker, market in described.items():
            if ticker not in listed:  # configured, not (yet) listed on the exchange
                out.add(attrs.evolve(market, status="unopened"))
        for ticker, status in listed.items():
            market = described.get(ticker) or self._named(ticker, product)
            out.add(attrs.evolve(market, status=status))
        return out

    @staticmethod
    def _named(ticker: str, product: str) -> MarketInfo:
        if product == "margin":
            grid = (PriceRange(_MARGIN_TICK, _MARGIN_TOP, _MARGIN_TICK),)
            return MarketInfo(ticker, title=ticker, price_ranges=grid, product=product)
        event = ticker.rsplit("-", 1)[0] if "-" in ticker else ticker
        return MarketInfo(ticker, event=event, series=ticker.split("-", 1)[0], title=ticker)

    # -- records -------------------------------------------------------------------------------

    @staticmethod
    def market_record(market: MarketInfo) -> dict[str, Any]:
        """A market in Kalshi's shape (prediction's market, or margin's)."""
        if market.product == "margin":
            return {
                "ticker": market.ticker,
                "title": market.title,
                "tick_size": str(market.tick_size),
                "contract_size": "1",
            }
        return {
            "ticker": market.ticker,
            "event_ticker": market.event,
            "market_type": "binary",
            "title": market.title,
            "status": _RECORD_STATUS.get(market.status, market.status),
            "price_ranges": [
                {"start": str(r.start), "end": str(r.end), "step": str(r.step)}
                for r in market.price_ranges
            ],
            "close_time": _iso(market.close_time),
            "expiration_time": _iso(market.expiration_time),
        }

    def event_record(self, catalogue: Instruments, event: EventInfo, nested: bool) -> Any:
        """An event in Kalshi's shape (its markets nested when asked)."""
        record: dict[str, Any] = {
            "event_ticker": event.ticker,
            "series_ticker": event.series,
            "title": event.title,
            "mutually_exclusive": event.mutually_exclusive,
        }
        if nested:
            record["markets"] = [self.market_record(catalogue.market(m)) for m in event.markets]
        return record

    # -- pages ---------------------------------------------------------------------------------

    def handle(self, path: str, query_text: str) -> Answer | None:
        """The answer to a metadata page; None: not such a path."""
        parts = path.removeprefix("/trade-api/v2/").split("/")
        margin = self.exchange.product == "margin"
        if parts[:1] == ["margin"]:
            if not margin:
                return None
            parts = parts[1:]
        if not parts or parts[0] not in ("events", "series", "markets") or len(parts) > 2:
            return None
        if margin and parts[0] != "markets":
            return _json(404, {"error": "margin markets have no series or events"})
        if parts[0] == "markets" and parts[1:] and parts[1] in ("trades",):
            return None
        query = parse_qs(query_text)
        catalogue = self.catalogue()
        kind = parts[0]
        if len(parts) == 2:
            return self._one(catalogue, kind, parts[1])
        status = query.get("status", [""])[0]
        limit, start, refused = page_bounds(query)
        if refused is not None:
            return refused
        series = query.get("series_ticker", [None])[0]
        if kind == "series":  # Kalshi's list is not paged
            return _json(200, {"series": [self.series_record(f) for f in self._all_series()]})
        records: list[Any]
        if kind == "events":
            nested = query.get("with_nested_markets", [""])[0] == "true"
            events = [
                e
                for e in catalogue.events(series=series)
                if not status or any(catalogue.market(m).status == status for m in e.markets)
            ]
            records = [self.event_record(catalogue, e, nested) for e in events]
        else:
            tickers = query.get("tickers", [""])[0]
            wanted = set(tickers.split(",")) if tickers else None
            event = query.get("event_ticker", [None])[0]
            records = [
                self.market_record(m)
                for m in catalogue.markets(series=series, event=event, status=status or None)
                if wanted is None or m.ticker in wanted
            ]
        page = records[start : start + limit]
        cursor = str(start + limit) if start + limit < len(records) else ""
        return _json(200, {kind: page, "cursor": cursor})

    def _all_series(self) -> list[SeriesInfo]:
        """Every series: the described ones and those of the listed markets."""
        catalogue = self.catalogue()
        tickers = {e.series for e in catalogue.events() if e.series}
        tickers |= {series_of(m) for m in self.exchange.markets()}
        return [
            catalogue.series(t) if _held(catalogue, t) else SeriesInfo(t) for t in sorted(tickers)
        ]

    def series_record(self, found: SeriesInfo) -> dict[str, Any]:
        """A series in Kalshi's shape, its fees the exchange's: ``fee_type`` ``quadratic``
        (no maker fee) or ``quadratic_with_maker_fees``, and its ``fee_multiplier``."""
        fees = self.exchange.fees
        maker, multiplier = Decimal("0.0175"), Decimal(1)
        if isinstance(fees, FeeSchedule):
            rates = fees.rates("prediction", found.ticker)
            maker, multiplier = rates.maker or Decimal(0), rates.multiplier or Decimal(0)
        return {
            "ticker": found.ticker,
            "title": found.title,
            "category": found.category,
            "categories": [found.category] if found.category else [],
            "frequency": found.frequency,
            "tags": [],
            "settlement_sources": [],
            "contract_url": "",
            "contract_terms_url": "",
            "fee_type": "quadratic_with_maker_fees" if maker else "quadratic",
            "fee_multiplier": int(multiplier)
            if multiplier == multiplier.to_integral_value()
            else float(multiplier),
            "additional_prohibitions": [],
        }

    def _one(self, catalogue: Instruments, kind: str, ticker: str) -> Answer:
        try:
            if kind == "series":
                found: SeriesInfo = catalogue.series(ticker)
                return _json(200, {"series": self.series_record(found)})
            if kind == "events":
                event = catalogue.event(ticker)
                markets = [self.market_record(catalogue.market(m)) for m in event.markets]
                return _json(
                    200, {"event": self.event_record(catalogue, event, False), "markets": markets}
                )
            return _json(200, {"market": self.market_record(catalogue.market(ticker))})
        except LocalProtocolError:  # not held
            return _json(404, {"error": f"not found: {ticker}"})


def _held(catalogue: Instruments, ticker: str) -> bool:
    try:
        catalogue.series(ticker)
    except LocalProtocolError:
        return False
    return True
