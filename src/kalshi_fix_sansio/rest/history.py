"""Kalshi's published market history as sans-IO requests and answers (both products).

This module never does I/O and never reads the clock (time is an argument). It builds the
requests of Kalshi's Trade API v2 market-history endpoints, pages them by ``cursor`` through
`kalshi_fix_sansio.rest.pages.Pager`, checks every record and keeps what it could read; the
HTTP I/O is the REST companion's (`kalshi_fix_sansio.adapters.rest.RestCompanion.run` takes a
`HistoryFetch` as it takes a reconciliation round).

The endpoints (`history_path`; Kalshi's documented paths under ``/trade-api/v2``):

* ``GET /historical/cutoff``: where Kalshi's live data ends (``trades_created_ts``,
  ``market_settled_ts``): older trades are on ``GET /historical/trades`` only, and the
  candlesticks of markets settled before the cutoff on
  ``GET /historical/markets/{ticker}/candlesticks`` only;
* ``GET /markets/trades`` (and ``/historical/trades``): the public trades of a market
  (``ticker``, ``min_ts``, ``max_ts``, ``limit`` up to 1000, ``cursor``): ``trade_id``,
  ``ticker``, ``count_fp``, ``yes_price_dollars``, ``taker_side`` (``yes`` / ``no``),
  ``created_time``;
* ``GET /series/{series}/markets/{ticker}/candlesticks`` (and the historical one):
  ``start_ts``, ``end_ts``, ``period_interval`` (1, 60 or 1440 minutes): per period its
  ``end_period_ts``, the Yes bid and ask (``yes_bid`` / ``yes_ask``: open, low, high, close),
  the trade ``price`` and the ``volume``;
* ``GET /markets/{ticker}/orderbook``: the book of the present moment: Yes bids and No bids
  (``orderbook_fp``: ``yes_dollars`` / ``no_dollars``, ``[price, count]`` pairs); a No bid at
  q is a Yes offer at 1 - q.

Margin (``product="margin"``, perps: Kalshi's margin REST API, ``perps_openapi.yaml``) has no
historical cutoff and no historical pages; its endpoints:

* ``GET /margin/trades`` (``margin_trades``): a market's public trades (``ticker``,
  ``min_ts``, ``max_ts``, ``limit`` up to 1000, ``cursor``): ``trade_id``, ``ticker``,
  ``count`` (a fixed-point count), ``price`` (dollars), ``taker_side`` (``bid``: the taker
  bought, ``ask``: the taker sold), ``created_time``;
* ``GET /margin/markets/{ticker}/candlesticks`` (``margin_candlesticks``): ``start_ts``,
  ``end_ts``, ``period_interval`` (1, 60, 1440): per period ``end_period_ts``, ``bid`` and
  ``ask`` (open, low, high, close, dollars), the trade ``price`` and the ``volume``;
* ``GET /margin/markets/{ticker}/orderbook`` (``margin_orderbook``): ``orderbook``: ``bids``
  best first and ``asks`` best first, ``[price, count]`` pairs;
* ``GET /margin/funding_rates/historical`` (``funding_rates``): the funding rates.

`HistoryFetch` is the state machine: `HistoryFetch.next_request` gives the request to send
(signed with the API key when one is given: Kalshi serves these endpoints without one),
`HistoryFetch.receive` takes its answer. A page refused with 429 or 5xx is asked again after
a delay (``Retry-After``, or doubling from ``retry_delay``) up to ``max_retries`` times; a
request given up, refused (401, 404...) or answered with a page that cannot be read is told
in `HistoryFetch.missing` (one line each: what, which market, why), and the fetch goes on with
the next one: what was fetched is kept. A live candlestick request answered 404 (the market
settled before the cutoff) is asked again on the historical path.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from ..codec.errors import LocalProtocolError
from ..session import Credentials
from ..session.events import Event
from ..trading.funding import FundingRate, FundingSchedule
from ._fetchloop import FetchLoop
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
    "CANDLE_PERIODS",
    "DEFAULT_SOURCES",
    "HISTORY_ENDPOINTS",
    "HISTORY_SOURCES",
    "MAX_CANDLES_PER_REQUEST",
    "BookSnapshot",
    "Candle",
    "HistoryFetch",
    "PublicTrade",
    "history_path",
    "parse_candle",
    "parse_orderbook",
    "parse_trade",
    "series_of",
]

HISTORY_ENDPOINTS: Final = (
    "cutoff",
    "trades",
    "historical_trades",
    "candlesticks",
    "historical_candlesticks",
    "orderbook",
    "funding_rates",
    "margin_trades",
    "margin_candlesticks",
    "margin_orderbook",
)
"""The market-history endpoints, by the names `history_path` takes (``funding_rates`` and the
``margin_*`` ones: margin's ``GET /margin/funding_rates/historical``, ``/margin/trades``,
``/margin/markets/{ticker}/candlesticks`` and ``/margin/markets/{ticker}/orderbook``)."""

HISTORY_SOURCES: Final = ("trades", "candles", "orderbook", "funding")
"""What a `HistoryFetch` can read: public trades, candlesticks, the present order book, and
a perps market's funding rates (`HistoryFetch.funding`)."""

DEFAULT_SOURCES: Final[Mapping[str, tuple[str, ...]]] = {
    "prediction": ("trades", "candles"),
    "margin": ("trades", "candles", "funding"),
}
"""What a `HistoryFetch` reads when not told, per product (a perps recording carries its
funding rates)."""

_TRADE_KINDS: Final = ("trades", "historical_trades", "margin_trades")
_BOOK_KINDS: Final = ("orderbook", "margin_orderbook")

FUNDING_WINDOW: Final = 300 * 86400
"""Seconds of funding rates asked per request (Kalshi's every 8 hours: 900 rates at most)."""

CANDLE_PERIODS: Final = (1, 60, 1440)
"""Kalshi's candlestick periods, minutes."""

MAX_CANDLES_PER_REQUEST: Final = 5000
"""The most periods one candlestick request asks for (a longer window is asked in parts)."""

_MAX_TEXT: Final = 64
_ONE: Final = Decimal(1)


def series_of(ticker: str) -> str:
    """The series of a market ticker: its part before the first ``-`` (``KXHIGHNY`` of
    ``KXHIGHNY-24JAN01-T60``), as Kalshi names its series, events and markets."""
    return ticker.split("-", 1)[0]


def history_path(endpoint: str, ticker: str = "", series: str = "") -> str:
    """The full path (``/trade-api/v2/...``) of one of `HISTORY_ENDPOINTS`.

    Args:
        endpoint: the endpoint's name.
        ticker: the market (candlesticks, orderbook).
        series: its series (live candlesticks; default `series_of` the ticker).

    Raises:
        LocalProtocolError: an unknown endpoint, or a ticker that is not one.
    """
    fixed = {
        "cutoff": "/historical/cutoff",
        "trades": "/markets/trades",
        "historical_trades": "/historical/trades",
        "funding_rates": "/margin/funding_rates/historical",
        "margin_trades": "/margin/trades",
    }
    if endpoint in fixed:
        return API_PREFIX + fixed[endpoint]
    if endpoint not in HISTORY_ENDPOINTS:
        raise LocalProtocolError(f"endpoint must be one of {HISTORY_ENDPOINTS}, got {endpoint!r}")
    _check_ticker(ticker)
    if endpoint.startswith("margin_"):  # margin_candlesticks, margin_orderbook
        return f"{API_PREFIX}/margin/markets/{ticker}/{endpoint.removeprefix('margin_')}"
    if endpoint == "orderbook":
        return f"{API_PREFIX}/markets/{ticker}/orderbook"
    if endpoint == "historical_candlesticks":
        return f"{API_PREFIX}/historical/markets/{ticker}/candlesticks"
    series = series or series_of(ticker)
    _check_ticker(series)
    return f"{API_PREFIX}/series/{series}/markets/{ticker}/candlesticks"


def _check_ticker(ticker: object) -> None:
    if (
        not isinstance(ticker, str)
        or not 0 < len(ticker) <= _MAX_TEXT
        or not all(c.isalnum() or c in "-_." for c in ticker)
    ):
        raise LocalProtocolError(
            f"a market ticker is letters, digits, '-', '_' and '.' (at most {_MAX_TEXT}), "
            f"got {ticker!r}"
        )


# --------------------------------------------------------------------------------------------
# Records


@attrs.frozen
class PublicTrade:
    """One public trade of a market (``GET /markets/trades``, margin ``GET /margin/trades``).

    Attributes:
        market: the market ticker.
        time: when it traded, UTC epoch seconds.
        price: its Yes price (margin: the contract's price), dollars.
        size: contracts.
        taker_side: ``"yes"`` (the taker bought Yes: an offer was lifted) or ``"no"`` (the taker
            bought No: a Yes bid was hit); margin ``"bid"`` (the taker bought) or ``"ask"``
            (the taker sold), as Kalshi's pages say.
        trade_id: Kalshi's trade id.
    """

    market: str
    time: float
    price: Decimal
    size: Decimal
    taker_side: str
    trade_id: str

    @property
    def bought(self) -> bool:
        """The taker bought (Yes, or a perps contract): an offer was lifted."""
        return self.taker_side in ("yes", "bid")


@attrs.frozen
class Candle:
    """One candlestick of a market: what its period ended on.

    Attributes:
        market: the market ticker.
        end: the end of its period, UTC epoch seconds.
        period: its length, minutes.
        bid: the Yes bid (margin: the bid) at the period's close (None: no bid).
        offer: the Yes ask (margin: the ask) at the period's close (None: no offer).
        last: the last trade price of the period (None: no trade).
        volume: contracts traded in the period.
    """

    market: str
    end: float
    period: int
    bid: Decimal | None
    offer: Decimal | None
    last: Decimal | None
    volume: Decimal


@attrs.frozen
class BookSnapshot:
    """A market's order book at one moment (``GET /markets/{ticker}/orderbook``, margin
    ``GET /margin/markets/{ticker}/orderbook``).

    Attributes:
        market: the market ticker.
        time: when it was read (the answer's arrival), UTC epoch seconds.
        bids: Yes bids (margin: bids), ``(price, size)`` best first.
        offers: Yes offers (No bids at 1 - price; margin: asks), ``(price, size)`` best first.
    """

    market: str
    time: float
    bids: tuple[tuple[Decimal, Decimal], ...]
    offers: tuple[tuple[Decimal, Decimal], ...]


class _Bad(ValueError):
    pass


def _decimal(record: Mapping[str, Any], *names: str, optional: bool = False) -> Decimal | None:
    """The first of ``names`` present, as a finite Decimal (a string or a number)."""
    for name in names:
        if name not in record or record[name] is None:
            continue
        value = record[name]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _Bad(f"{name} is not a number: {value!r:.40}")
        text = str(value)
        if not 0 < len(text) <= 32:
            raise _Bad(f"{name} is not a number: {text[:40]!r}")
        try:
            out = Decimal(text)
        except InvalidOperation:
            raise _Bad(f"{name} is not a number: {text!r}") from None
        if not out.is_finite() or out < 0:
            raise _Bad(f"{name} is not a finite number >= 0: {text!r}")
        return out
    if optional:
        return None
    raise _Bad(f"{' or '.join(names)} is missing")


def _price(
    record: Mapping[str, Any], *names: str, optional: bool = False, margin: bool = False
) -> Decimal | None:
    """A Yes price in dollars: ``*_dollars`` fields as they are, legacy integer cents / 100
    (``margin``: a perps price in dollars, any above 0)."""
    value = _decimal(record, *names, optional=optional)
    if value is None:
        return None
    name = next(n for n in names if record.get(n) is not None)
    if margin:
        if value <= 0:
            raise _Bad(f"{name} {value} is not a price above $0")
        return value
    if not name.endswith("dollars") and isinstance(record[name], int) and value >= 1:
        value = value / 100  # Kalshi's legacy integer cents
    if not 0 < value < 1:
        raise _Bad(f"{name} {value} is not a Yes price between $0 and $1")
    return value


def _when(text: object, name: str) -> float:
    if not isinstance(text, str) or not 0 < len(text) <= 40:
        raise _Bad(f"{name} is missing or not a date-time")
    head, dot, tail = text.replace("Z", "+00:00").partition(".")
    if dot:  # at most microseconds: Kalshi may send more digits
        digits = len(tail) - len(tail.lstrip("0123456789"))
        tail = tail[: min(digits, 6)] + tail[digits:]
    try:
        moment = datetime.datetime.fromisoformat(head + dot + tail)
    except ValueError:
        raise _Bad(f"{name} is not an ISO 8601 date-time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def _text(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= 128 or not value.isprintable():
        raise _Bad(f"{name} is missing or not printable text")
    return value


def parse_trade(record: Mapping[str, Any], product: str = "prediction") -> PublicTrade | str:
    """A checked `PublicTrade` from one record of ``GET /markets/trades`` (margin:
    ``GET /margin/trades``, ``price`` and ``count``), or why it cannot be one."""
    margin = product == "margin"
    try:
        side = record.get("taker_side")
        sides = ("bid", "ask") if margin else ("yes", "no")
        if side not in sides:
            raise _Bad(f"taker_side is not {sides[0]!r} or {sides[1]!r}: {side!r:.40}")
        size = _decimal(record, "count_fp", "count")
        assert size is not None
        if size <= 0:
            raise _Bad(f"count_fp {size} is not a positive count")
        names = ("price", "price_dollars") if margin else ("yes_price_dollars", "yes_price")
        price = _price(record, *names, margin=margin)
        assert price is not None
        return PublicTrade(
            market=_text(record, "ticker"),
            time=_when(record.get("created_time"), "created_time"),
            price=price,
            size=size,
            taker_side=str(side),
            trade_id=_text(record, "trade_id"),
        )
    except _Bad as exc:
        return str(exc)


def _close(record: Mapping[str, Any], name: str, margin: bool = False) -> Decimal | None:
    part = record.get(name)
    if part is None:
        return None
    if not isinstance(part, Mapping):
        raise _Bad(f"{name} is not an object")
    try:
        return _price(part, "close_dollars", "close", optional=True, margin=margin)
    except _Bad as exc:
        raise _Bad(f"{name}: {exc}") from None


def parse_candle(
    market: str, period: int, record: Mapping[str, Any], product: str = "prediction"
) -> Candle | str:
    """A checked `Candle` from one of the ``candlesticks`` of a candlestick answer (the live
    shape's ``*_dollars`` / ``volume_fp`` fields, or the historical one's ``close`` /
    ``volume``; margin: ``bid``, ``ask``, ``price`` and ``volume``), or why it cannot be one."""
    margin = product == "margin"
    bid, ask = ("bid", "ask") if margin else ("yes_bid", "yes_ask")
    try:
        end = record.get("end_period_ts")
        if isinstance(end, bool) or not isinstance(end, int) or not 0 <= end < 10**11:
            raise _Bad(f"end_period_ts is not a Unix time in seconds: {end!r:.40}")
        volume = _decimal(record, "volume_fp", "volume", optional=True)
        return Candle(
            market=market,
            end=float(end),
            period=period,
            bid=_close(record, bid, margin),
            offer=_close(record, ask, margin),
            last=_close(record, "price", margin),
            volume=volume if volume is not None else Decimal(0),
        )
    except _Bad as exc:
        return str(exc)


def _levels(
    entries: object, name: str, no_side: bool, margin: bool = False, best_high: bool = True
) -> tuple[tuple[Decimal, Decimal], ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise _Bad(f"{name} is not a list")
    out: dict[Decimal, Decimal] = {}
    for entry in entries:
        if not isinstance(entry, list) or len(entry) != 2:
            raise _Bad(f"{name}: a level is not a [price, count] pair: {entry!r:.60}")
        key = f"price in {name}"  # "... yes_dollars": dollars; "... yes": legacy cents
        price = _price({key: entry[0]}, key, margin=margin)
        size = _decimal({f"count in {name}": entry[1]}, f"count in {name}")
        assert price is not None and size is not None
        if size > 0:
            out[_ONE - price if no_side else price] = size
    best_first = sorted(out.items(), reverse=best_high and not no_side)
    return tuple(best_first)


def parse_orderbook(
    market: str, time: float, page: Mapping[str, Any], product: str = "prediction"
) -> BookSnapshot | str:
    """A checked `BookSnapshot` from ``GET /markets/{ticker}/orderbook``'s answer (Kalshi's
    ``orderbook_fp`` with ``yes_dollars`` / ``no_dollars``, or the legacy ``orderbook`` with
    ``yes`` / ``no`` in cents; margin: ``orderbook`` with ``bids`` and ``asks``), or why it
    cannot be one."""
    try:
        if product == "margin":
            book = page.get("orderbook")
            if not isinstance(book, Mapping):
                raise _Bad("the answer has no orderbook object")
            bids = _levels(book.get("bids"), "bids", no_side=False, margin=True)
            asks = _levels(book.get("asks"), "asks", False, margin=True, best_high=False)
            return BookSnapshot(market, time, bids, asks)
        book = page.get("orderbook_fp")
        if isinstance(book, Mapping):
            yes, no = "yes_dollars", "no_dollars"
        else:
            book, yes, no = page.get("orderbook"), "yes", "no"
            if not isinstance(book, Mapping):
                raise _Bad("the answer has no orderbook_fp object")
        bids = _levels(book.get(yes), yes, no_side=False)
        offers = _levels(book.get(no), no, no_side=True)
        return BookSnapshot(market, time, bids, offers)
    except _Bad as exc:
        return str(exc)


# --------------------------------------------------------------------------------------------
# The fetch


@attrs.define
class _Task:
    """One request (paged) of the fetch."""

    kind: str  # an endpoint of HISTORY_ENDPOINTS
    market: str
    pager: Pager
    path: str
    what: str  # for `missing`: what it reads


def _utc(moment: float) -> str:
    stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


class HistoryFetch(FetchLoop):
    """Read markets' public history from Kalshi's REST API (see the module).

    Args:
        markets: the market tickers.
        since: the window's start, UTC epoch seconds.
        until: its end (exclusive), UTC epoch seconds.
        sources: which of `HISTORY_SOURCES` to read (None: the product's `DEFAULT_SOURCES`).
        period: the candlestick period, minutes (one of `CANDLE_PERIODS`).
        product: ``"prediction"`` or ``"margin"`` (perps: Kalshi's margin pages, no cutoff).
        credentials: an API key to sign the requests with (None: unsigned, as Kalshi serves
            these endpoints).
        environment: ``"demo"`` or ``"production"``: Kalshi's REST host of it.
        base_url: ``https://host[:port]`` instead (e.g. the mock gateway's REST server).
        series: market -> its series ticker, where it is not the ticker's first part.
        page_size: trades asked per page (Kalshi allows up to 1000).
        max_pages: pages read per request at most.
        max_retries: 429 / 5xx answers of one page before it is given up.
        retry_delay: the first delay after a 429 / 5xx without ``Retry-After`` (doubling).

    Raises:
        LocalProtocolError: an argument out of range (named).
    """

    def __init__(
        self,
        markets: Sequence[str],
        since: float,
        until: float,
        *,
        sources: Sequence[str] | None = None,
        period: int = 1,
        product: str = "prediction",
        credentials: Credentials | None = None,
        environment: str = "demo",
        base_url: str | None = None,
        series: Mapping[str, str] | None = None,
        page_size: int = 1000,
        max_pages: int = 1000,
        max_retries: int = 4,
        retry_delay: float = 0.5,
    ) -> None:
        if isinstance(markets, str) or not markets:
            raise LocalProtocolError(
                f"markets must be a non-empty list of tickers, got {markets!r}"
            )
        for market in markets:
            _check_ticker(market)
        for name, value in (("since", since), ("until", until)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise LocalProtocolError(f"{name} must be UTC epoch seconds, got {value!r}")
        if not until > since:
            raise LocalProtocolError(f"until ({_utc(until)}) must be after since ({_utc(since)})")
        if product not in DEFAULT_SOURCES:
            raise LocalProtocolError(f"product must be 'prediction' or 'margin', got {product!r}")
        if sources is None:
            sources = DEFAULT_SOURCES[product]
        unknown = [s for s in sources if s not in HISTORY_SOURCES]
        if unknown or not sources or isinstance(sources, str):
            raise LocalProtocolError(
                f"sources must be some of {', '.join(HISTORY_SOURCES)}, got {sources!r}"
            )
        if period not in CANDLE_PERIODS:
            raise LocalProtocolError(
                f"period must be one of {CANDLE_PERIODS} minutes (Kalshi's), got {period!r}"
            )
        if credentials is not None and not isinstance(credentials, Credentials):
            raise LocalProtocolError("credentials must be Credentials or None")
        check_positive("page_size", page_size, integer=True)
        if page_size > 1000:
            raise LocalProtocolError(f"page_size must be at most 1000 (Kalshi's), got {page_size}")
        check_positive("max_pages", max_pages, integer=True)
        check_positive("max_retries", max_retries, integer=True)
        check_positive("retry_delay", retry_delay, integer=False)
        self.markets = tuple(dict.fromkeys(markets))
        self.since = float(since)
        self.until = float(until)
        self.sources = tuple(s for s in HISTORY_SOURCES if s in sources)
        self.period = period
        self.product = product
        self.credentials = credentials
        self.base_url = (
            check_base_url(base_url) if base_url is not None else rest_base_url(environment)
        )
        self.series = dict(series or {})
        for name in self.series.values():
            _check_ticker(name)
        self._options: dict[str, Any] = {
            "max_pages": max_pages,
            "max_retries": max_retries,
            "retry_delay": retry_delay,
        }
        self.page_size = page_size
        self.trades: list[PublicTrade] = []
        """The trades read (every market's, in the order read)."""
        self.candles: list[Candle] = []
        """The candlesticks read."""
        self.books: list[BookSnapshot] = []
        """The order books read (one moment each)."""
        self.funding: list[FundingRate] = []
        """The funding rates read (``sources`` with ``funding``), in the order read:
        ``FundingSchedule(fetch.funding)`` is a backtest's or a tracker's schedule."""
        self.missing: list[str] = []
        """What could not be fetched, or was fetched and could not be read: one line each."""
        self.events: list[Event] = []
        """Every event of the answers (`RestRateLimited`, `RestProblem`)."""
        self.cutoff: dict[str, float] | None = None
        """Kalshi's historical cutoff (``trades_created_ts``, ``market_settled_ts``) once read."""
        self.requests = 0
        """How many requests were sent."""
        self._tasks: list[_Task] = []
        self._seen: set[str] = set()
        self._in_flight: RestRequest | None = None
        margin = product == "margin"  # margin has no historical cutoff, no historical pages
        if not margin and ("trades" in self.sources or "candles" in self.sources):
            self._add("cutoff", "", (), "Kalshi's historical cutoff")
        else:
            self._plan()

    # -- planning --------------------------------------------------------------------------

    def _add(self, kind: str, market: str, params: Sequence[tuple[str, str]], what: str) -> None:
        paged = kind in (*_TRADE_KINDS, "funding_rates")
        pager = Pager(
            kind,
            page_size=self.page_size if paged else 1,
            params=params,
            **self._options,
        )
        path = history_path(kind, market, self.series.get(market, ""))
        self._tasks.append(_Task(kind, market, pager, path, what))

    def _plan(self) -> None:
        """The requests of every market once the cutoff is known (or known not to be)."""
        cutoff = self.cutoff or {}
        trades_cut = cutoff.get("trades_created_ts")
        margin = "margin_" if self.product == "margin" else ""
        for market in self.markets:
            if "trades" in self.sources:
                self._plan_trades(market, trades_cut)
            if "candles" in self.sources:
                self._plan_candles(market, f"{margin}candlesticks")
            if "orderbook" in self.sources:
                self._add(f"{margin}orderbook", market, (), f"the order book of {market}")
            if "funding" in self.sources:
                self._plan_funding(market)

    def _plan_funding(self, market: str) -> None:
        start = self.since
        while start < self.until:
            end = min(self.until, start + FUNDING_WINDOW)
            params = (
                ("ticker", market),
                ("start_ts", str(int(start))),
                ("end_ts", str(int(end))),
            )
            what = f"the funding rates of {market} from {_utc(start)} to {_utc(end)}"
            self._add("funding_rates", market, params, what)
            start = end

    def _window(self, start: float, end: float) -> tuple[tuple[str, str], ...]:
        return (("min_ts", str(int(start))), ("max_ts", str(int(end))))

    def _plan_trades(self, market: str, cut: float | None) -> None:
        since, until = self.since, self.until
        ticker = (("ticker", market),)
        if cut is not None and since < cut:
            end = min(until, cut)
            what = f"the historical trades of {market} from {_utc(since)} to {_utc(end)}"
            self._add("historical_trades", market, ticker + self._window(since, end), what)
            since = cut
        if since < until:
            what = f"the trades of {market} from {_utc(since)} to {_utc(until)}"
            kind = "margin_trades" if self.product == "margin" else "trades"
            self._add(kind, market, ticker + self._window(since, until), what)

    def _plan_candles(self, market: str, kind: str) -> None:
        step = self.period * 60
        start = self.since
        while start < self.until:
            end = min(self.until, start + step * MAX_CANDLES_PER_REQUEST)
            params = (
                ("start_ts", str(int(start))),
                ("end_ts", str(int(end))),
                ("period_interval", str(self.period)),
            )
            where = "historical " if kind.startswith("historical") else ""
            what = (
                f"the {where}{self.period}-minute candlesticks of {market} from {_utc(start)} "
                f"to {_utc(end)}"
            )
            self._add(kind, market, params, what)
            start = end

    def _after(self, task: _Task, events: list[Event], now: float) -> list[Event]:
        self.events += events
        pager = task.pager
        if pager.failed:
            self._tasks.pop(0)
            if task.kind == "candlesticks" and pager.status == 404:  # settled before the cutoff
                self._plan_candles_again(task)
            else:
                reason = next((e.reason for e in events if isinstance(e, RestProblem)), "refused")
                reason = reason.replace(" (reconcile again later)", "")  # the round's words
                kept = ""
                if pager.records and task.kind in _TRADE_KINDS:
                    before = len(self.trades)
                    self._take_trades(task, pager.records)  # its first pages are kept
                    kept = f"; the {len(self.trades) - before} trades of its first pages kept"
                self.missing.append(f"{task.what}: not fetched ({reason}){kept}")
                if task.kind == "cutoff":
                    self._plan()
            return events
        if not pager.done:
            return events
        self._tasks.pop(0)
        self._take(task, now)
        return events

    def _plan_candles_again(self, task: _Task) -> None:
        """A live candlestick request answered 404: the same window on the historical path."""
        params = task.pager.extra
        what = task.what.replace("the ", "the historical ", 1)
        pager = Pager("historical_candlesticks", page_size=1, params=params, **self._options)
        path = history_path("historical_candlesticks", task.market)
        self._tasks.insert(0, _Task("historical_candlesticks", task.market, pager, path, what))

    def _take(self, task: _Task, now: float) -> None:
        """Keep what a finished request read (a record that cannot be read is told)."""
        records = task.pager.records
        if task.kind == "cutoff":
            self._read_cutoff(records[0])
            self._plan()
            return
        if task.kind in _BOOK_KINDS:
            book = parse_orderbook(task.market, now, records[0], self.product)
            if isinstance(book, str):
                self.missing.append(f"{task.what}: unreadable ({book})")
            else:
                self.books.append(book)
            return
        if task.kind in _TRADE_KINDS:
            self._take_trades(task, records)
            return
        if task.kind == "funding_rates":
            self._take_funding(task, records)
            return
        self._take_candles(task, records[0])

    def _take_funding(self, task: _Task, records: list[dict[str, Any]]) -> None:
        bad = 0
        first = ""
        known = {(r.symbol, r.time) for r in self.funding}
        for n, record in enumerate(records, 1):
            try:
                (rate,) = FundingSchedule.from_rows([record], source=f"record {n}").rates
            except ValueError as exc:
                bad += 1
                first = first or str(exc)
                continue
            if rate.symbol == task.market and (rate.symbol, rate.time) not in known:
                known.add((rate.symbol, rate.time))  # a window's edge is read once
                self.funding.append(rate)
        if bad:
            self.missing.append(f"{task.what}: {bad} record(s) unreadable (first: {first})")

    def _read_cutoff(self, record: Mapping[str, Any]) -> None:
        out: dict[str, float] = {}
        for name in ("trades_created_ts", "market_settled_ts"):
            try:
                out[name] = _when(record.get(name), name)
            except _Bad as exc:
                self.missing.append(
                    f"Kalshi's historical cutoff: {exc}: the historical endpoints were not asked"
                )
                return
        self.cutoff = out

    def _take_trades(self, task: _Task, records: list[dict[str, Any]]) -> None:
        bad = 0
        first = ""
        for record in records:
            trade = parse_trade(record, self.product)
            if isinstance(trade, str):
                bad += 1
                first = first or trade
            elif (
                trade.market == task.market
                and self.since <= trade.time < self.until
                and trade.trade_id not in self._seen
            ):  # a trade on both sides of the cutoff's second is read once
                self._seen.add(trade.trade_id)
                self.trades.append(trade)
        if bad:
            self.missing.append(f"{task.what}: {bad} trade record(s) unreadable (first: {first})")

    def _take_candles(self, task: _Task, page: Mapping[str, Any]) -> None:
        entries = page.get("candlesticks")
        if not isinstance(entries, list):
            self.missing.append(f"{task.what}: unreadable (the answer has no candlesticks list)")
            return
        bad = 0
        first = ""
        for record in entries:
            candle = (
                parse_candle(task.market, self.period, record, self.product)
                if isinstance(record, Mapping)
                else "a candlestick is not a JSON object"
            )
            if isinstance(candle, str):
                bad += 1
                first = first or candle
            elif self.since < candle.end <= self.until:
                self.candles.append(candle)
        if bad:
            self.missing.append(f"{task.what}: {bad} candlestick(s) unreadable (first: {first})")
