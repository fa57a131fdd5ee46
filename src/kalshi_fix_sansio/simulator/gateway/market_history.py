"""The mock gateway's market history: what its REST API serves on Kalshi's history endpoints.

`MarketHistory` is built from recordings (`MarketHistory.from_recordings`: the recorded
trades, with their receive times, and the recorded books) and answers, in the shape Kalshi's
Trade API v2 documents (prediction):

* ``GET /markets/trades`` and ``GET /historical/trades`` (`MarketHistory.trades_page`): the
  trades of a market (or of all), newest first, ``min_ts`` / ``max_ts`` / ``limit`` /
  ``cursor``, each with ``trade_id``, ``ticker``, ``count_fp``, ``yes_price_dollars``,
  ``no_price_dollars``, ``taker_side``, ``created_time``;
* ``GET /series/{series}/markets/{ticker}/candlesticks`` and
  ``GET /historical/markets/{ticker}/candlesticks`` (`MarketHistory.candles_page`): per period
  that ends in ``[start_ts, end_ts]`` and that the recording reached, the Yes bid and ask
  (open, low, high, close) and the trade price of the period, its volume; live: the
  ``*_dollars`` / ``volume_fp`` fields, historical: ``open`` ... / ``volume``, as Kalshi's two
  pages name them; the open interest is not in a recording and is answered 0;
* ``GET /markets/{ticker}/orderbook`` (`MarketHistory.orderbook`): the recording's last book
  of the market (``orderbook_fp``: ``yes_dollars`` bids and ``no_dollars`` bids, a Yes offer
  at p being a No bid at 1 - p, each list best last as Kalshi's).

A margin history (``product="margin"``, from perps recordings) answers Kalshi's margin pages
instead (perps_openapi): ``GET /margin/trades`` (``count``, ``price``, ``taker_side`` ``bid``
or ``ask``), ``GET /margin/markets/{ticker}/candlesticks`` (``bid``, ``ask``, ``price``: open,
low, high, close in dollars; ``volume``, ``volume_notional_value_dollars``, ``open_interest``
answered 0) and ``GET /margin/markets/{ticker}/orderbook`` (``orderbook``: ``bids`` and
``asks``, each best first); margin has no historical cutoff. The recordings' ``# funding``
lines are its `MarketHistory.funding`, which ``GET /margin/funding_rates/historical`` serves
when the REST app has no schedule of its own.

The historical cutoff splits them as Kalshi does: trades made before it are on the historical
trades page only; a market whose recording ends before it (settled) has its candlesticks on the
historical page only (the live one answers 404). `kalshi_fix_sansio.simulator.gateway.rest.RestApp`
routes the requests here (its ``history``); it is pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from ...codec import dialect
from ...trading.book import Books
from ...trading.funding import FundingRate, FundingSchedule
from ..data.recording import read_funding, read_recording

__all__ = ["HISTORY_ROUTES", "MarketHistory"]

HISTORY_ROUTES: Final = (
    "/trade-api/v2/markets/trades",
    "/trade-api/v2/historical/trades",
    "/trade-api/v2/series/{series}/markets/{ticker}/candlesticks",
    "/trade-api/v2/historical/markets/{ticker}/candlesticks",
    "/trade-api/v2/markets/{ticker}/orderbook",
    "/trade-api/v2/margin/trades",
    "/trade-api/v2/margin/markets/{ticker}/candlesticks",
    "/trade-api/v2/margin/markets/{ticker}/orderbook",
)
"""The paths the mock serves from a `MarketHistory`."""

_PRICE: Final = Decimal("0.0001")
_TWO: Final = Decimal("0.01")
_ONE: Final = Decimal(1)
_MAX_LIMIT: Final = 1000
_MAX_CANDLES: Final = 5000

Answer = tuple[int, dict[str, str], bytes]


def _json(status: int, body: object) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _iso(when: float) -> str:
    moment = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dollars(value: Decimal) -> str:
    return str(value.quantize(_PRICE))


def _count(value: Decimal) -> str:
    return str(value.quantize(_TWO))


@attrs.frozen
class _Trade:
    time: float
    market: str
    price: Decimal
    size: Decimal
    buy: bool  # the aggressor bought (Yes)
    trade_id: str


@attrs.frozen
class _Top:
    time: float
    bid: Decimal | None
    offer: Decimal | None


class MarketHistory:
    """Recorded trades and books, answered as Kalshi's market-history pages (see the module).

    Args:
        trades: the trades, in time order.
        tops: per market, its best bid and offer after each recorded change, in time order.
        books: per market, its last levels: ``(bids, offers)``, each ``{price: size}``.
        product: ``"prediction"`` or ``"margin"``: which of Kalshi's shapes it answers in.
        funding: perps funding rates (margin), served on the funding page.
    """

    def __init__(
        self,
        trades: Iterable[_Trade] = (),
        tops: Mapping[str, list[_Top]] | None = None,
        books: Mapping[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] | None = None,
        *,
        product: str = "prediction",
        funding: FundingSchedule | None = None,
    ) -> None:
        dialect(product)  # checks the product
        self._trades = sorted(trades, key=lambda t: t.time)
        self._tops = dict(tops or {})
        self._books = dict(books or {})
        self.product = product
        self.funding = funding

    @classmethod
    def from_recordings(
        cls, paths: Iterable[str | os.PathLike[str]], *, product: str = "prediction"
    ) -> MarketHistory:
        """The history of recordings (`kalshi_fix_sansio.simulator.data.recording`): every recorded
        trade, every change of each market's top of book, and (margin) their funding lines.

        Raises:
            RecordingError: a recording cannot be read (named, with its line).
        """
        dialect(product)  # checks the product
        trades: list[_Trade] = []
        tops: dict[str, list[_Top]] = {}
        books = Books()
        rates: list[FundingRate] = []
        for path in paths:
            if product == "margin":
                rates += read_funding(path).rates
            for item in read_recording(path, product=product):
                updates = books.apply(item.message)
                for trade in updates.trades:
                    trades.append(
                        _Trade(
                            item.time,
                            trade.symbol,
                            trade.price,
                            trade.size,
                            trade.aggressor_side != "2",
                            trade.trade_id or f"{trade.symbol}-{len(trades) + 1}",
                        )
                    )
                for symbol in updates.symbols:
                    book = books[symbol]
                    bid, offer = book.best_bid(), book.best_offer()
                    tops.setdefault(symbol, []).append(
                        _Top(
                            item.time,
                            bid.price if bid is not None else None,
                            offer.price if offer is not None else None,
                        )
                    )
        last = {}
        for book in books:
            bids, offers = book.depth()
            last[book.symbol] = (
                {lv.price: lv.size for lv in bids},
                {lv.price: lv.size for lv in offers},
            )
        funding = FundingSchedule(rates, quantum=None) if rates else None
        return cls(trades, tops, last, product=product, funding=funding)

    @property
    def markets(self) -> tuple[str, ...]:
        """The markets it knows."""
        return tuple(dict.fromkeys([*self._tops, *(t.market for t in self._trades)]))

    def last_time(self, market: str) -> float | None:
        """The last recorded time of a market (None: unknown)."""
        times = [t.time for t in self._trades if t.market == market]
        if self._tops.get(market):
            times.append(self._tops[market][-1].time)
        return max(times) if times else None

    # -- pages --------------------------------------------------------------------------------

    def trades_page(
        self, query: Mapping[str, list[str]], cutoff: float | None, historical: bool
    ) -> Answer:
        """``GET /markets/trades`` (``historical``: ``/historical/trades``; margin
        ``/margin/trades``): Kalshi's ``{"trades": [...], "cursor": ...}``, newest first."""
        try:
            limit = int(query.get("limit", ["100"])[0])
            start = int(query.get("cursor", ["0"])[0] or "0")
            low = _seconds(query, "min_ts")
            high = _seconds(query, "max_ts")
        except ValueError as exc:
            return _json(400, {"error": str(exc) or "limit and cursor must be integers"})
        if not 1 <= limit <= _MAX_LIMIT or start < 0:
            return _json(400, {"error": f"limit must be 1-{_MAX_LIMIT}"})
        ticker = query.get("ticker", [""])[0]
        chosen = [
            t
            for t in reversed(self._trades)
            if (not ticker or t.market == ticker)
            and (low is None or t.time >= low)
            and (high is None or t.time <= high)
            and (cutoff is not None and t.time < cutoff) == historical
        ]
        page = chosen[start : start + limit]
        cursor = str(start + limit) if start + limit < len(chosen) else ""
        records = [_trade_record(t, self.product == "margin") for t in page]
        return _json(200, {"trades": records, "cursor": cursor})

    def candles_page(
        self,
        ticker: str,
        query: Mapping[str, list[str]],
        cutoff: float | None,
        historical: bool,
    ) -> Answer:
        """A market's candlesticks, Kalshi's ``{"ticker": ..., "candlesticks": [...]}`` (margin:
        its perps candlesticks; a margin history has no cutoff: give None)."""
        last = self.last_time(ticker)
        if last is None:
            return _json(404, {"error": f"no such market: {ticker}"})
        settled = cutoff is not None and last < cutoff
        if settled != historical:
            where = "the historical" if settled else "the live"
            return _json(404, {"error": f"{ticker}: its candlesticks are on {where} page"})
        try:
            start = _seconds(query, "start_ts")
            end = _seconds(query, "end_ts")
            period = int(query.get("period_interval", [""])[0])
        except ValueError as exc:
            return _json(400, {"error": str(exc) or "period_interval must be an integer"})
        if start is None or end is None or period not in (1, 60, 1440):
            return _json(
                400, {"error": "start_ts, end_ts and period_interval (1, 60, 1440) are required"}
            )
        step = period * 60
        first = (int(start) // step) * step + (step if start % step else 0)
        if (end - first) / step > _MAX_CANDLES:
            return _json(400, {"error": f"more than {_MAX_CANDLES} candlesticks asked for"})
        tops = self._tops.get(ticker, [])
        trades = [t for t in self._trades if t.market == ticker]
        begin = min([t.time for t in trades] + [t.time for t in tops[:1]])
        out = []
        at = max(first, (int(begin) // step) * step + step)
        while at <= end and at - step <= last:
            out.append(self._candle(tops, trades, at - step, at, historical))
            at += step
        return _json(200, {"ticker": ticker, "candlesticks": out})

    def _candle(
        self, tops: list[_Top], trades: list[_Trade], begin: float, end: float, historical: bool
    ) -> dict[str, Any]:
        before = [t for t in tops if t.time <= begin]
        inside = [t for t in tops if begin < t.time <= end]
        seen = before[-1:] + inside
        traded = [t for t in trades if begin < t.time <= end]
        margin = self.product == "margin"
        suffix = "" if historical or margin else "_dollars"

        def ohlc(values: list[Decimal | None]) -> dict[str, str | None]:
            known = [v for v in values if v is not None]
            keys = ("open", "low", "high", "close")
            if not known:
                return {f"{k}{suffix}": None for k in keys}
            figures = (known[0], min(known), max(known), known[-1])
            return {f"{k}{suffix}": _dollars(v) for k, v in zip(keys, figures, strict=True)}

        prices = ohlc([t.price for t in traded])
        previous = [t.price for t in trades if t.time <= begin]
        mean = sum((t.price * t.size for t in traded), Decimal(0))
        volume = sum((t.size for t in traded), Decimal(0))
        prices[f"mean{suffix}"] = _dollars(mean / volume) if volume else None
        prices[f"previous{suffix}"] = _dollars(previous[-1]) if previous else None
        if margin:  # perps_openapi's MarginMarketCandlestick
            return {
                "end_period_ts": int(end),
                "bid": ohlc([t.bid for t in seen]),
                "ask": ohlc([t.offer for t in seen]),
                "price": prices,
                "volume": _count(volume),
                "volume_notional_value_dollars": _dollars(mean),
                "open_interest": _count(Decimal(0)),
                "open_interest_notional_value_dollars": _dollars(Decimal(0)),
            }
        return {
            "end_period_ts": int(end),
            "yes_bid": ohlc([t.bid for t in seen]),
            "yes_ask": ohlc([t.offer for t in seen]),
            "price": prices,
            f"volume{'' if historical else '_fp'}": _count(volume),
            f"open_interest{'' if historical else '_fp'}": _count(Decimal(0)),
        }

    def orderbook(self, ticker: str, query: Mapping[str, list[str]]) -> Answer:
        """``GET /markets/{ticker}/orderbook``: the last recorded book, Kalshi's
        ``orderbook_fp`` (``yes_dollars`` / ``no_dollars``, each ascending: best last); margin
        ``GET /margin/markets/{ticker}/orderbook``: ``orderbook``'s ``bids`` and ``asks``, each
        best first."""
        bids, offers = self._books.get(ticker, ({}, {}))
        try:
            depth = int(query.get("depth", ["0"])[0] or "0")
        except ValueError:
            return _json(400, {"error": "depth must be an integer"})
        if self.product == "margin":
            best = sorted(bids.items(), reverse=True), sorted(offers.items())
            if depth > 0:
                best = best[0][:depth], best[1][:depth]
            sides = {
                name: [[_dollars(p), _count(s)] for p, s in levels]
                for name, levels in zip(("bids", "asks"), best, strict=True)
            }
            return _json(200, {"orderbook": sides})
        yes = sorted(bids.items())
        no = sorted((_ONE - price, size) for price, size in offers.items())
        if depth > 0:
            yes, no = yes[-depth:], no[-depth:]
        return _json(
            200,
            {
                "orderbook_fp": {
                    "yes_dollars": [[_dollars(p), _count(s)] for p, s in yes],
                    "no_dollars": [[_dollars(p), _count(s)] for p, s in no],
                }
            },
        )


def _seconds(query: Mapping[str, list[str]], name: str) -> float | None:
    text = query.get(name, [""])[0]
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        raise ValueError(f"{name} must be a Unix time in seconds")
    return float(text)


def _trade_record(trade: _Trade, margin: bool) -> dict[str, Any]:
    """A trade of ``GET /markets/trades`` (margin: ``GET /margin/trades``, perps_openapi's
    MarginTrade)."""
    if margin:
        fields: dict[str, str] = {
            "count": _count(trade.size),
            "price": _dollars(trade.price),
            "taker_side": "bid" if trade.buy else "ask",
        }
    else:
        fields = {
            "count_fp": _count(trade.size),
            "yes_price_dollars": _dollars(trade.price),
            "no_price_dollars": _dollars(_ONE - trade.price),
            "taker_side": "yes" if trade.buy else "no",
        }
    return {
        "trade_id": trade.trade_id,
        "ticker": trade.market,
        **fields,
        "created_time": _iso(trade.time),
    }
