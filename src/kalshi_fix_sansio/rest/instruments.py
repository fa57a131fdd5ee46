"""Instruments by name: Kalshi's series, events and markets as a sans-IO catalogue.

This module never does I/O and never reads the clock (time is an argument). It builds the
requests of Kalshi's Trade API v2 market-metadata endpoints, pages them by ``cursor`` through
`kalshi_fix_sansio.rest.pages.Pager`, checks every record and keeps what it could read in an
`Instruments` catalogue; the HTTP I/O is the REST companion's
(`kalshi_fix_sansio.adapters.rest.RestCompanion.run` takes an `InstrumentsFetch` as it takes a
history fetch).

The endpoints (Kalshi's documented paths under ``/trade-api/v2``; served without an API key):

* ``GET /events`` (``series_ticker``, ``status``, ``with_nested_markets=true``, ``limit`` up to
  200, ``cursor``): ``event_ticker``, ``series_ticker``, ``title``, ``mutually_exclusive`` and,
  nested, the event's markets;
* ``GET /events/{event_ticker}``: ``{"event": {...}, "markets": [...]}``;
* ``GET /series/{series_ticker}``: ``{"series": {"ticker", "title", "category",
  "frequency"}}``;
* ``GET /markets`` (``tickers``, ``event_ticker``, ``series_ticker``, ``status``, ``limit`` up
  to 1000, ``cursor``): per market ``ticker``, ``event_ticker``, ``title``, ``status``,
  ``close_time``, ``expiration_time`` (or ``latest_expiration_time``), and its price grid:
  ``price_ranges`` (``[{"start", "end", "step"}]``, dollars), else ``price_level_structure``
  (``linear_cent``, ``tapered_deci_cent``, ``deci_cent``), else the legacy ``tick_size``
  (integer cents);
* margin: ``GET /margin/markets``: ``ticker``, ``title``, ``tick_size`` (dollars).

A page refused with 429 or 5xx is asked again after a delay (``Retry-After``, or doubling from
``retry_delay``) up to ``max_retries`` times; a request given up, refused (401, 404...) or
answered with a record that cannot be read is told in `InstrumentsFetch.missing` (one line
each: what, why), and the fetch goes on with the next one.

`Instruments` keeps what was read, looked up by series, event or ticker, searched by title,
and fresh for ``max_age`` seconds from the time it was read (`Instruments.fresh`); `dumps` /
`Instruments.loads` write and read it as JSON text, so a backtest runs on a catalogue saved
once, offline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from ..codec.errors import LocalProtocolError
from ..session import Credentials
from ..session.events import Event
from ..trading.risk import EventLimit
from ._fetchloop import FetchLoop
from ._instrumentrecords import (
    MARKET_STATUSES,
    PRICE_LEVEL_STRUCTURES,
    EventInfo,
    MarketInfo,
    PriceRange,
    SeriesInfo,
    parse_event,
    parse_market,
    parse_series,
)
from .pages import (
    API_PREFIX,
    Pager,
    RestProblem,
    RestRequest,
    check_base_url,
    check_positive,
    rest_base_url,
)

__all__ = [
    "DEFAULT_MAX_AGE",
    "MARKET_STATUSES",
    "PRICE_LEVEL_STRUCTURES",
    "EventInfo",
    "Instruments",
    "InstrumentsFetch",
    "MarketInfo",
    "PriceRange",
    "SeriesInfo",
    "parse_event",
    "parse_market",
    "parse_series",
]

DEFAULT_MAX_AGE: Final = 3600.0
"""Seconds a catalogue read from Kalshi stays fresh by default (`Instruments.fresh`)."""


# --------------------------------------------------------------------------------------------
# The catalogue


def _as_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_as_json(v) for v in value]
    if attrs.has(type(value)):
        return {k: _as_json(v) for k, v in attrs.asdict(value, recurse=False).items()}
    return value


class Instruments:
    """A catalogue of series, events and markets (see the module).

    Args:
        product: ``"prediction"`` or ``"margin"``.
        fetched_at: when it was read, UTC epoch seconds (None: configured by hand, always
            fresh).
        max_age: seconds it stays fresh after ``fetched_at``.
    """

    def __init__(
        self,
        product: str = "prediction",
        *,
        fetched_at: float | None = None,
        max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        if product not in ("prediction", "margin"):
            raise LocalProtocolError(f"product must be prediction or margin, got {product!r}")
        check_positive("max_age", max_age, integer=False)
        self.product = product
        self.fetched_at = fetched_at
        self.max_age = float(max_age)
        self._series: dict[str, SeriesInfo] = {}
        self._events: dict[str, EventInfo] = {}
        self._markets: dict[str, MarketInfo] = {}

    # -- filling -------------------------------------------------------------------------------

    def add(self, *items: SeriesInfo | EventInfo | MarketInfo) -> None:
        """Add (or replace) series, events and markets. A market names its event: the event
        lists it from then on (an event not held is made from the market's tickers)."""
        for item in items:
            if isinstance(item, SeriesInfo):
                self._series[item.ticker] = item
            elif isinstance(item, EventInfo):
                known = self._events.get(item.ticker)
                extra = () if known is None else known.markets
                merged = tuple(dict.fromkeys((*item.markets, *extra)))
                self._events[item.ticker] = attrs.evolve(item, markets=merged)
            elif isinstance(item, MarketInfo):
                self._markets[item.ticker] = item
                if item.event:
                    event = self._events.get(item.event) or EventInfo(item.event, item.series)
                    if item.ticker not in event.markets:
                        event = attrs.evolve(event, markets=(*event.markets, item.ticker))
                    self._events[item.event] = event
            else:
                raise LocalProtocolError(
                    f"Instruments.add takes SeriesInfo, EventInfo or MarketInfo, got {item!r:.80}"
                )

    # -- reading -------------------------------------------------------------------------------

    def fresh(self, now: float) -> bool:
        """Whether it is younger than ``max_age`` at ``now`` (a catalogue made by hand always
        is)."""
        return self.fetched_at is None or now - self.fetched_at < self.max_age

    def market(self, ticker: str) -> MarketInfo:
        """The market of ``ticker``.

        Raises:
            LocalProtocolError: not in the catalogue (named).
        """
        market = self._markets.get(ticker)
        if market is None:
            raise LocalProtocolError(f"market {ticker!r} is not in the catalogue ({self._held()})")
        return market

    def event(self, ticker: str) -> EventInfo:
        """The event of ``ticker``.

        Raises:
            LocalProtocolError: not in the catalogue (named).
        """
        event = self._events.get(ticker)
        if event is None:
            raise LocalProtocolError(f"event {ticker!r} is not in the catalogue ({self._held()})")
        return event

    def series(self, ticker: str) -> SeriesInfo:
        """The series of ``ticker`` (a series known only from its events: its ticker alone).

        Raises:
            LocalProtocolError: neither it nor an event of it is in the catalogue.
        """
        series = self._series.get(ticker)
        if series is None:
            if not any(e.series == ticker for e in self._events.values()):
                raise LocalProtocolError(
                    f"series {ticker!r} is not in the catalogue ({self._held()})"
                )
            series = SeriesInfo(ticker)
        return series

    def markets(
        self, *, series: str | None = None, event: str | None = None, status: str | None = None
    ) -> list[MarketInfo]:
        """The markets held, by ticker, optionally of one series, one event, one status."""
        return [
            m
            for _, m in sorted(self._markets.items())
            if (series is None or m.series == series)
            and (event is None or m.event == event)
            and (status is None or m.status == status)
        ]

    def events(self, *, series: str | None = None) -> list[EventInfo]:
        """The events held, by ticker, optionally of one series."""
        return [e for _, e in sorted(self._events.items()) if series is None or e.series == series]

    def search(self, text: str) -> list[MarketInfo]:
        """Markets whose title, ticker, or event's or series' title contains ``text`` (any
        case), by ticker."""
        wanted = text.casefold()
        out = []
        for ticker, market in sorted(self._markets.items()):
            event = self._events.get(market.event)
            series = self._series.get(market.series)
            texts = (
                ticker,
                market.title,
                event.title if event is not None else "",
                series.title if series is not None else "",
            )
            if any(wanted in t.casefold() for t in texts):
                out.append(market)
        return out

    def event_of(self, market: str) -> EventInfo | None:
        """The event a market belongs to (None: not held, or a margin market)."""
        info = self._markets.get(market)
        return None if info is None else self._events.get(info.event)

    def event_limit(
        self, event: str, max_worst_loss: Decimal | int | str, *, all_no: bool = True
    ) -> EventLimit:
        """An `EventLimit` of ``event`` from the catalogue: its markets and Kalshi's
        ``mutually_exclusive`` flag.

        Args:
            event: the event ticker.
            max_worst_loss: dollars the event's worst outcome may lose at most.
            all_no: (mutually exclusive events) whether the outcome "every market settles No"
                is counted too (True: the safe side; False when one of them surely settles Yes).

        Raises:
            LocalProtocolError: a margin catalogue, or the event is not held or has no market.
        """
        if self.product != "prediction":
            raise LocalProtocolError("event limits are for prediction markets: margin has none")
        info = self.event(event)
        if not info.markets:
            raise LocalProtocolError(f"event {event!r} has no market in the catalogue")
        return EventLimit(
            max_worst_loss,
            markets=info.markets,
            mutually_exclusive=info.mutually_exclusive,
            all_no=all_no,
        )

    def __len__(self) -> int:
        return len(self._markets)

    def _held(self) -> str:
        return f"{len(self._markets)} markets, {len(self._events)} events held"

    # -- saving --------------------------------------------------------------------------------

    def dumps(self) -> str:
        """The catalogue as JSON text (`loads` reads it back)."""
        return json.dumps(
            {
                "product": self.product,
                "fetched_at": self.fetched_at,
                "max_age": self.max_age,
                "series": [_as_json(s) for _, s in sorted(self._series.items())],
                "events": [_as_json(e) for _, e in sorted(self._events.items())],
                "markets": [_as_json(m) for _, m in sorted(self._markets.items())],
            },
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str | bytes) -> Instruments:
        """A catalogue from `dumps`'s text.

        Raises:
            LocalProtocolError: not such text (what is wrong named).
        """
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LocalProtocolError(
                f"not a saved instruments catalogue: not JSON (line {exc.lineno}, column "
                f"{exc.colno}: {exc.msg})"
            ) from None
        except ValueError as exc:  # bytes that are not UTF-8
            raise LocalProtocolError(f"not a saved instruments catalogue: {exc}") from None
        try:
            out = cls(doc["product"], fetched_at=doc["fetched_at"], max_age=doc["max_age"])
            for record in doc["series"]:
                out.add(SeriesInfo(**record))
            for record in doc["events"]:
                out.add(EventInfo(**{**record, "markets": tuple(record["markets"])}))
            for record in doc["markets"]:
                ranges = tuple(
                    PriceRange(Decimal(r["start"]), Decimal(r["end"]), Decimal(r["step"]))
                    for r in record["price_ranges"]
                )
                out.add(MarketInfo(**{**record, "price_ranges": ranges}))
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise LocalProtocolError(
                f"not a saved instruments catalogue: {type(exc).__name__}: {exc}"
            ) from None
        return out


# --------------------------------------------------------------------------------------------
# The fetch


@attrs.define
class _Task:
    kind: str  # a Pager endpoint name
    pager: Pager
    path: str
    what: str


class InstrumentsFetch(FetchLoop):
    """Read series, events and markets from Kalshi's REST API into an `Instruments` (see the
    module); run by a REST companion as a history fetch is.

    Prediction: the events of ``series`` (or every open... event Kalshi lists, filtered by
    ``status``) with their markets (``GET /events?with_nested_markets=true``); ``event``: that
    event alone (``GET /events/{event}``); ``series`` also reads the series
    (``GET /series/{series}``); ``tickers``: those markets (``GET /markets?tickers=``). Margin:
    ``GET /margin/markets``.

    Args:
        product: ``"prediction"`` or ``"margin"``.
        series: a series ticker.
        event: an event ticker.
        status: one of `MARKET_STATUSES` (Kalshi filters by it).
        tickers: market tickers.
        credentials: an API key to sign with (None: unsigned, as Kalshi serves these).
        environment: ``"demo"`` or ``"production"``.
        base_url: ``https://host[:port]`` instead (e.g. the mock gateway's REST server).
        max_age: seconds the catalogue read stays fresh.
        page_size: records asked per page (at most 200: Kalshi's events limit).
        max_pages: pages read per request at most.
        max_retries: 429 / 5xx answers of one page before it is given up.
        retry_delay: the first delay after a 429 / 5xx without ``Retry-After`` (doubling).

    Raises:
        LocalProtocolError: an argument out of range (named).
    """

    def __init__(
        self,
        product: str = "prediction",
        *,
        series: str | None = None,
        event: str | None = None,
        status: str | None = None,
        tickers: Sequence[str] = (),
        credentials: Credentials | None = None,
        environment: str = "demo",
        base_url: str | None = None,
        max_age: float = DEFAULT_MAX_AGE,
        page_size: int = 200,
        max_pages: int = 1000,
        max_retries: int = 4,
        retry_delay: float = 0.5,
    ) -> None:
        if product not in ("prediction", "margin"):
            raise LocalProtocolError(f"product must be prediction or margin, got {product!r}")
        for name, value in (("series", series), ("event", event)):
            if value is not None:
                _check(name, value)
        if isinstance(tickers, str):
            raise LocalProtocolError(f"tickers must be a list of tickers, got {tickers!r}")
        for ticker in tickers:
            _check("a ticker", ticker)
        if status is not None and status not in MARKET_STATUSES:
            raise LocalProtocolError(
                f"status must be one of {', '.join(MARKET_STATUSES)}, got {status!r}"
            )
        if product == "margin" and (series or event):
            raise LocalProtocolError("margin markets have no series or events: name tickers")
        if credentials is not None and not isinstance(credentials, Credentials):
            raise LocalProtocolError("credentials must be Credentials or None")
        check_positive("page_size", page_size, integer=True)
        if page_size > 200:
            raise LocalProtocolError(f"page_size must be at most 200 (Kalshi's), got {page_size}")
        check_positive("max_pages", max_pages, integer=True)
        check_positive("max_retries", max_retries, integer=True)
        check_positive("retry_delay", retry_delay, integer=False)
        self.product = product
        self.credentials = credentials
        self.base_url = (
            check_base_url(base_url) if base_url is not None else rest_base_url(environment)
        )
        self.instruments = Instruments(product, max_age=max_age)
        """What was read (its ``fetched_at``: when the first answer came)."""
        self.missing: list[str] = []
        """What could not be fetched, or was fetched and could not be read: one line each."""
        self.events: list[Event] = []
        """Every event of the answers (`RestRateLimited`, `RestProblem`)."""
        self.requests = 0
        """How many requests were sent."""
        self._options: dict[str, Any] = {
            "max_pages": max_pages,
            "max_retries": max_retries,
            "retry_delay": retry_delay,
            "page_size": page_size,
        }
        self._tasks: list[_Task] = []
        self._in_flight: RestRequest | None = None
        filters = (("status", status),) if status is not None else ()
        if product == "margin":
            what = "the margin markets"
            self._add("margin_markets", f"{API_PREFIX}/margin/markets", filters, what)
        elif tickers:
            query = (("tickers", ",".join(tickers)), *filters)
            self._add("markets", f"{API_PREFIX}/markets", query, f"the markets {tickers}")
        if event is not None:
            self._add("event_one", f"{API_PREFIX}/events/{event}", (), f"the event {event}")
        if series is not None:
            self._add("series_one", f"{API_PREFIX}/series/{series}", (), f"the series {series}")
        if product == "prediction" and event is None and not tickers:
            query = (("with_nested_markets", "true"), *filters)
            if series is not None:
                query = (("series_ticker", series), *query)
            where = f" of series {series}" if series is not None else ""
            self._add("events", f"{API_PREFIX}/events", query, f"the events{where}")

    def _add(self, kind: str, path: str, params: Iterable[tuple[str, str]], what: str) -> None:
        options = dict(self._options)
        if kind == "margin_markets" or kind == "markets":
            options["page_size"] = min(1000, options["page_size"])
        pager = Pager(kind, params=tuple(params), **options)
        self._tasks.append(_Task(kind, pager, path, what))

    def _after(self, task: _Task, events: list[Event], now: float) -> list[Event]:
        self.events += events
        pager = task.pager
        if pager.failed:
            self._tasks.pop(0)
            reason = next((e.reason for e in events if isinstance(e, RestProblem)), "refused")
            reason = reason.replace(" (reconcile again later)", "")
            self.missing.append(f"{task.what}: not fetched ({reason})")
            return events
        if pager.done:
            self._tasks.pop(0)
            if self.instruments.fetched_at is None:
                self.instruments.fetched_at = now
            self._take(task)
        return events

    def _take(self, task: _Task) -> None:
        catalogue = self.instruments
        records = task.pager.records
        if task.kind == "series_one":
            found = records[0].get("series")
            series = parse_series(found) if isinstance(found, Mapping) else "no series object"
            if isinstance(series, str):
                self.missing.append(f"{task.what}: unreadable ({series})")
            else:
                catalogue.add(series)
            return
        if task.kind == "event_one":
            found = records[0].get("event")
            if not isinstance(found, Mapping):
                self.missing.append(f"{task.what}: unreadable (no event object)")
                return
            markets = records[0].get("markets")
            records = [{**found, "markets": markets if markets is not None else []}]
        bad = 0
        first = ""
        for record in records:
            if task.kind in ("events", "event_one"):
                read = parse_event(record)
                if isinstance(read, str):
                    bad, first = bad + 1, first or read
                    continue
                event, markets, problems = read
                catalogue.add(event, *markets)
                self.missing += problems
            else:
                market = parse_market(record, self.product)
                if isinstance(market, str):
                    bad, first = bad + 1, first or market
                else:
                    catalogue.add(market)
        if bad:
            self.missing.append(f"{task.what}: {bad} record(s) unreadable (first: {first})")


def _check(name: str, value: object) -> None:
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= 64
        or not all(c.isalnum() or c in "-_." for c in value)
    ):
        raise LocalProtocolError(
            f"{name} is letters, digits, '-', '_' and '.' (at most 64), got {value!r}"
        )
