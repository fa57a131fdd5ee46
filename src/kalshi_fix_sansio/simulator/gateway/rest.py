"""The mock gateway's REST API: Kalshi's portfolio pages served from the exchange's own state.

`RestApp` answers ``GET`` requests for the product's orders, fills, positions and API limits
(the paths of `kalshi_fix_sansio.rest.pages.rest_path`), and for prediction Kalshi's historical cutoff
and historical fills and orders (`RestApp.historical_cutoff`), page by page by ``cursor``,
newest first, as Kalshi's Trade API v2 does, each record in the shape of Kalshi's published
OpenAPI (prediction: Trade API 3.20.0, with the ``exchange_index`` and ``fee_cost_dollars``
later clients require; margin: the perps API): ``outcome_side`` / ``book_side``, fees and fill
costs, positions' totals; margin's ``bid`` / ``ask`` sides, ``price``, ``entry_price``,
``fees`` and ``realized_pnl`` (from the mock's own book of the account's position).

It is pure (no I/O, no clock: ``now`` is an argument): give it an
`Exchange` and the API keys' public keys. Every request must carry Kalshi's three headers
(``KALSHI-ACCESS-KEY``, ``-TIMESTAMP``, ``-SIGNATURE``): the signature over timestamp + method +
path is checked with the key's public key exactly as the FIX Logon's (``verify_signature_b64``),
and a bad or stale one is answered 401. A key answers for its account: the gateway's
``accounts`` (a key in none is an account of its own).

`RestServer` serves a `MockGateway`'s `RestApp` over HTTPS on loopback with the standard
library (`http.server`), with the gateway's TLS context (its throwaway certificate), each
request run in the gateway's loop (`MockGateway.call`). The gateway's `Faults` switch REST
failures on: ``rest_rate_limit_next`` (429 with ``Retry-After``), ``rest_error_next`` (503) and
``rest_delay`` (slow pages).

What the mock keeps: every fill of a client order (a fill listener, from the app's creation
on) and every order it saw open (at its creation, a fill or a request) or filled (an order
filled in full on arrival is listed too); an order placed and cancelled without a fill between
two of those is not listed.
"""

from __future__ import annotations

import datetime
import json
import ssl
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import attrs

from ...rest.instruments import Instruments
from ...rest.pages import order_status, rest_path, rest_signature_payload
from ...session.auth import PublicKey, verify_signature_b64
from ...trading.funding import FundingSchedule
from .desk_pages import DeskPages
from .exchange import Exchange, FeeSchedule, FillView
from .listening import Faults
from .margin_pages import MarginTerms, margin_page
from .market_catalogue import MarketCatalogue, page_bounds
from .market_history import MarketHistory

__all__ = [
    "BASIC_LIMITS",
    "MAX_CLOCK_SKEW",
    "PERPS_BASIC_LIMITS",
    "REQUEST_TIMEOUT",
    "RestApp",
    "RestServer",
]

MAX_CLOCK_SKEW: Final = 300.0
"""Seconds a request's KALSHI-ACCESS-TIMESTAMP may differ from the gateway's clock."""
_MAX_LIMIT: Final = 1000
_TWO: Final = Decimal("0.01")
_PRICE: Final = Decimal("0.0001")
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)


def _iso(when: float) -> str:
    moment = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(status: int, body: object, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def _dollars(value: Decimal) -> str:
    return str(value.quantize(_PRICE))


def _count(value: Decimal) -> str:
    return str(value.quantize(_TWO))


BASIC_LIMITS: Final[Mapping[str, Any]] = {
    "usage_tier": "Basic",
    "read": {"refill_rate": 200, "bucket_capacity": 200},
    "write": {"refill_rate": 100, "bucket_capacity": 100},
    "grants": [],
}
"""The mock's default answer to ``GET /account/limits``: Kalshi's shape (token buckets per
second and their capacity, the active usage-level grants: none at Basic), the Basic tier's
prediction budgets."""

PERPS_BASIC_LIMITS: Final[Mapping[str, Any]] = {
    "usage_tier": "Basic",
    "read": {"refill_rate": 100, "bucket_capacity": 100},
    "write": {"refill_rate": 50, "bucket_capacity": 50},
    "grants": [],
}
"""The mock's default answer to ``GET /account/limits/perps``: Kalshi's shape with perps
buckets of their own (Kalshi publishes no perps budgets per tier: these figures are the mock's;
Basic's Write bucket holds 1 s of budget, as Kalshi's perps burst rule says)."""

_CANCEL_REASON: Final = "Decrease"  # margin: a cancel is a decrease to zero (Kalshi's words)


@attrs.define
class _Book:
    """One account's position in one market, as the REST pages show it."""

    net: Decimal = _ZERO
    entry: Decimal = _ZERO  # the average price of the open position (prediction: Yes price)
    realized: Decimal = _ZERO
    fees: Decimal = _ZERO
    traded: Decimal = _ZERO
    mark: Decimal = _ZERO  # the last fill's price
    updated: float = 0.0

    def fill(
        self, buy: bool, price: Decimal, qty: Decimal, fee: Decimal
    ) -> tuple[Decimal, Decimal]:
        """Book a fill; (the entry price it met, the PnL it realized)."""
        entry, signed = self.entry, qty if buy else -qty
        realized = _ZERO
        if self.net and (self.net > 0) != buy:  # it reduces (or flips) the position
            closed = min(qty, abs(self.net))
            realized = (price - entry) * closed * (1 if self.net > 0 else -1)
            self.realized += realized
            rest = self.net + signed
            if rest == 0 or (rest > 0) != (self.net > 0):
                self.entry = price if rest else _ZERO
        else:
            self.entry = (entry * abs(self.net) + price * qty) / (abs(self.net) + qty)
        self.net += signed
        self.fees += fee
        self.traded += price * qty
        self.mark = price
        return entry, realized


@attrs.define
class _Fill:
    view: FillView
    number: int  # arrival order
    entry: Decimal
    realized: Decimal


@attrs.define
class _Order:
    account: str
    order_id: str
    cl_ord_id: str
    symbol: str
    side: str
    price: Decimal
    order_qty: Decimal
    created: float
    updated: float
    open: bool = True


class RestApp:
    """Kalshi's REST portfolio pages for one `Exchange` (see the module).

    Args:
        exchange: the exchange whose state is served (its fills are kept from now on).
        keys: API key id -> public key.
        faults: the failures to inject (a `MockGateway`'s ``faults``).
        accounts: API key id -> its account (a `MockGateway`'s ``accounts``); a key not in it
            is an account of its own.
        limits: what ``GET /account/limits`` (``/account/limits/perps``) answers, Kalshi's
            shape (default `BASIC_LIMITS`, margin `PERPS_BASIC_LIMITS`).
        historical_cutoff: Kalshi's historical cutoff, UTC epoch seconds (prediction): fills
            made and orders finished before it leave ``/portfolio/fills`` and
            ``/portfolio/orders`` for ``/historical/fills`` and ``/historical/orders``, and
            ``GET /historical/cutoff`` answers it. None: nothing moved (the cutoff answered is
            the epoch). Settable at any time (`historical_cutoff`).
        history: the markets' public history served on Kalshi's market-history endpoints
            (trades, candlesticks, order book: `MarketHistory`; a margin one on the margin
            pages, its funding rates too when ``funding`` is None); None: those answer 404.
            Settable at any time.
        funding: the perps funding rates ``GET /margin/funding_rates/historical`` answers
            (`kalshi_fix_sansio.trading.funding.FundingSchedule`; ``ticker``, ``start_ts`` and
            ``end_ts`` filter them, as Kalshi's); None: it answers 404. Settable at any time.
        instruments: how the exchange's markets are described on Kalshi's series, events and
            markets pages (`MarketCatalogue`; None: by their tickers). Settable
            (``catalogue.instruments``).
    """

    def __init__(
        self,
        exchange: Exchange,
        keys: Mapping[str, PublicKey],
        faults: Faults | None = None,
        accounts: Mapping[str, str] | None = None,
        limits: Mapping[str, Any] | None = None,
        historical_cutoff: float | None = None,
        history: MarketHistory | None = None,
        funding: FundingSchedule | None = None,
        instruments: Instruments | None = None,
    ) -> None:
        self.history = history
        self.funding = funding
        self.catalogue = MarketCatalogue(exchange, instruments)
        """The series, events and markets pages (public, as Kalshi's)."""
        self.exchange = exchange
        self.product = exchange.product
        default = BASIC_LIMITS if self.product == "prediction" else PERPS_BASIC_LIMITS
        self.limits: Mapping[str, Any] = default if limits is None else limits
        self.keys = keys
        self.accounts: Mapping[str, str] = accounts if accounts is not None else {}
        self.faults = faults if faults is not None else Faults()
        self.historical_cutoff = historical_cutoff
        self._fills: list[_Fill] = []
        self._orders: dict[str, _Order] = {}  # order_id -> what was seen of it
        self._books: dict[tuple[str, str], _Book] = {}  # (account, symbol)
        self._now = 0.0  # when it last heard of the exchange (a fill, a request)
        exchange.fill_listeners.append(self._on_fill)
        for view in exchange.open_orders():  # what rests already
            self._snapshot(view.account)
        names = ["orders", "fills", "positions", "limits"]
        if self.product == "prediction":
            names += ["cutoff", "historical_fills", "historical_orders"]
        self._paths = {rest_path(self.product, name): name for name in names}
        self.desk = DeskPages(exchange, self.faults)
        """Queue positions, the exchange's status and schedule (`DeskPages`)."""
        self.margin_terms: MarginTerms | None = MarginTerms() if self.product == "margin" else None
        """What the margin risk pages answer from (`MarginTerms`; margin only)."""

    # -- the exchange's state ----------------------------------------------------------------

    def _on_fill(self, fill: FillView) -> None:
        self._now = fill.time
        order = self._orders.get(fill.order_id)
        if order is None:  # filled on arrival: never seen open
            order = self._orders[fill.order_id] = _Order(
                fill.account,
                fill.order_id,
                fill.cl_ord_id,
                fill.symbol,
                fill.side,
                fill.order_price if fill.order_price is not None else fill.price,
                fill.order_qty if fill.order_qty is not None else fill.qty,
                fill.time,
                fill.time,
            )
        order.cl_ord_id, order.updated = fill.cl_ord_id, fill.time
        book = self._books.setdefault((fill.account, fill.symbol), _Book())
        entry, realized = book.fill(fill.side == "1", fill.price, fill.qty, fill.fee)
        book.updated = fill.time
        self._fills.append(_Fill(fill, len(self._fills), entry, realized))
        self._snapshot(fill.account)

    def _snapshot(self, account: str) -> None:
        seen = set()
        for view in self.exchange.open_orders(account):
            seen.add(view.order_id)
            order = self._orders.get(view.order_id)
            if order is None:
                self._orders[view.order_id] = _Order(
                    account,
                    view.order_id,
                    view.cl_ord_id,
                    view.symbol,
                    view.side,
                    view.price,
                    view.order_qty,
                    self._now,
                    self._now,
                )
            else:
                order.cl_ord_id, order.price, order.order_qty = (
                    view.cl_ord_id,
                    view.price,
                    view.order_qty,
                )
        for order in self._orders.values():
            if order.account == account and order.open and order.order_id not in seen:
                order.open = False  # finished (filled or cancelled) since last seen
                order.updated = max(order.updated, self._now)

    def _moved(self, when: float) -> bool:
        """Older than the historical cutoff: served by the historical pages only."""
        return self.historical_cutoff is not None and when < self.historical_cutoff

    def _side_fields(self, side: str, price: Decimal) -> dict[str, Any]:
        buy = side == "1"
        if self.product == "prediction":
            return {
                "side": "yes",
                "action": "buy" if buy else "sell",
                "outcome_side": "yes" if buy else "no",
                "book_side": "bid" if buy else "ask",
                "yes_price_dollars": _dollars(price),
                "no_price_dollars": _dollars(_ONE - price),
            }
        return {"side": "bid" if buy else "ask", "price": _dollars(price)}

    def _fill_record(self, booked: _Fill) -> dict[str, Any]:
        fill = booked.view
        trade = fill.trade_id or f"fill-{booked.number}"
        if self.product == "prediction":
            return {
                "fill_id": trade,
                "trade_id": trade,
                "order_id": fill.order_id,
                "ticker": fill.symbol,
                "market_ticker": fill.symbol,
                **self._side_fields(fill.side, fill.price),
                "count_fp": _count(fill.qty),
                "is_taker": fill.aggressor,
                "fee_cost": _dollars(fill.fee),
                "fee_cost_dollars": _dollars(fill.fee),
                "created_time": _iso(fill.time),
                "ts": int(fill.time),
                "exchange_index": 0,
            }
        return {
            "fill_id": trade,
            "order_id": fill.order_id,
            "ticker": fill.symbol,
            **self._side_fields(fill.side, fill.price),
            "count": _count(fill.qty),
            "is_taker": fill.aggressor,
            "entry_price": _dollars(booked.entry),
            "fees": _dollars(fill.fee),
            "realized_pnl": _dollars(booked.realized),
            "created_time": _iso(fill.time),
            "order_source": "user",
        }

    def _fill_rows(self, account: str, historical: bool) -> list[tuple[float, dict[str, Any]]]:
        return [
            (booked.view.time, self._fill_record(booked))
            for booked in reversed(self._fills)
            if booked.view.account == account and self._moved(booked.view.time) == historical
        ]

    def fills(self, account: str) -> list[dict[str, Any]]:
        """The account's fill records on ``/portfolio/fills`` (``/margin/fills``), newest
        first."""
        return [record for _, record in self._fill_rows(account, False)]

    def _order_rows(self, account: str, historical: bool) -> list[tuple[float, dict[str, Any]]]:
        self._snapshot(account)
        done: dict[str, list[_Fill]] = {}
        for booked in self._fills:
            if booked.view.account == account:
                done.setdefault(booked.view.order_id, []).append(booked)
        out = []
        for order in reversed(self._orders.values()):
            if order.account != account:
                continue
            if (not order.open and self._moved(order.updated)) != historical:
                continue
            fills = done.get(order.order_id, [])
            out.append((order.created, self._order_record(order, fills)))
        return out

    def _order_record(self, order: _Order, fills: list[_Fill]) -> dict[str, Any]:
        cum = sum((f.view.qty for f in fills), _ZERO)
        remaining = max(order.order_qty - cum, _ZERO) if order.open else _ZERO
        common = {
            "order_id": order.order_id,
            "user_id": order.account,
            "client_order_id": order.cl_ord_id,
            "ticker": order.symbol,
            **self._side_fields(order.side, order.price),
            "created_time": _iso(order.created),
            "last_update_time": _iso(order.updated),
        }
        if self.product == "margin":
            if order.open:
                reason = "Trade" if fills else ""
            else:
                reason = "Trade" if cum >= order.order_qty else _CANCEL_REASON
            return {
                **common,
                "fill_count": _count(cum),
                "remaining_count": _count(remaining),
                "last_update_reason": reason,
                "order_source": "user",
            }
        if order.open:
            status = "resting"
        else:
            status = "executed" if cum >= order.order_qty else "canceled"
        costs = dict.fromkeys(("taker_fill", "maker_fill", "taker_fees", "maker_fees"), _ZERO)
        for booked in fills:
            fill, role = booked.view, "taker" if booked.view.aggressor else "maker"
            paid = fill.price if fill.side == "1" else _ONE - fill.price
            costs[f"{role}_fill"] += paid * fill.qty
            costs[f"{role}_fees"] += fill.fee
        return {
            **common,
            "type": "limit",
            "status": status,
            "fill_count_fp": _count(cum),
            "remaining_count_fp": _count(remaining),
            "initial_count_fp": _count(order.order_qty),
            **{
                f"{key}_dollars" if "fees" in key else f"{key}_cost_dollars": _dollars(value)
                for key, value in costs.items()
            },
            "ts": int(order.created),
            "exchange_index": 0,
        }

    def orders(self, account: str) -> list[dict[str, Any]]:
        """The account's order records on ``/portfolio/orders`` (``/margin/orders``): open
        ones and those seen before, newest first."""
        return [record for _, record in self._order_rows(account, False)]

    def positions(self, account: str) -> list[dict[str, Any]]:
        """The account's market positions (its primary holder's)."""
        out: list[dict[str, Any]] = []
        for (owner, symbol), book in sorted(self._books.items()):
            if owner != account:
                continue
            net = self.exchange.position(symbol, account)
            if self.product == "margin":
                out.append(
                    {
                        "market_ticker": symbol,
                        "position": _count(net),
                        "entry_price": _dollars(book.entry),
                        "unrealized_pnl": _dollars((book.mark - book.entry) * book.net),
                        "margin_used": _dollars(_ZERO),
                        "fees": _dollars(book.fees),
                        "roe": None,
                        "subaccount": 0,
                        "is_portfolio": False,
                    }
                )
                continue
            held = book.entry if net >= 0 else _ONE - book.entry
            out.append(
                {
                    "ticker": symbol,
                    "total_traded_dollars": _dollars(book.traded),
                    "position_fp": _count(net),
                    "market_exposure_dollars": _dollars(abs(net) * held),
                    "realized_pnl_dollars": _dollars(book.realized),
                    "resting_orders_count": 0,
                    "fees_paid_dollars": _dollars(book.fees),
                    "last_updated_ts": _iso(book.updated),
                    "exchange_index": 0,
                }
            )
        return out

    def cutoff(self) -> dict[str, str]:
        """``GET /historical/cutoff``'s answer (the one cutoff for markets, fills and orders)."""
        stamp = _iso(self.historical_cutoff or 0.0)
        return {"market_settled_ts": stamp, "trades_created_ts": stamp, "orders_updated_ts": stamp}

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], now: float
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: ``(status, headers, body)``.

        Args:
            method: the HTTP method.
            target: the path with its query.
            headers: the request's headers (names in any case).
            now: the gateway's time, UTC epoch seconds.
        """
        self._now = now
        lowered = {k.lower(): v for k, v in headers.items()}
        faults = self.faults
        if faults.rest_rate_limit_next > 0:
            faults.rest_rate_limit_next -= 1
            return _json(
                429,
                {"error": "too many requests"},
                **{"Retry-After": f"{faults.rest_retry_after:g}"},
            )
        if faults.rest_error_next > 0:
            faults.rest_error_next -= 1
            return _json(503, {"error": "service unavailable"})
        parts = urlsplit(target)
        if parts.path == _FUNDING_PATH and method == "GET":
            return self._funding(parts.query, lowered, now)
        name = self._paths.get(parts.path)
        if name is None and method == "GET":
            desk = self.desk.handle(parts.path, parts.query, lowered, now, self._authenticated)
            if desk is not None:
                return desk
        if name is None and self.margin_terms is not None and method == "GET":
            answer = self._margin_page(parts.path, lowered, now, parts.query)
            if answer is not None:
                return answer
        if name is None and self.history is not None and method == "GET":
            answer = self._history(self.history, parts.path, parts.query, lowered, now)
            if answer is not None:
                return answer
        if name is None and method == "GET":
            answer = self._catalogue(parts.path, parts.query, lowered, now)
            if answer is not None:
                return answer
        if name is None:
            return _json(404, {"error": f"no such endpoint: {parts.path}"})
        if method != "GET":
            return _json(405, {"error": f"{method} not allowed"})
        if name == "cutoff" and not any(h.startswith("kalshi-access-") for h in lowered):
            return _json(200, self.cutoff())  # public, as Kalshi's: the history import asks it
        account = self._authenticated(method, parts.path, lowered, now)
        if account is None:
            return _json(401, {"error": "unauthorized: bad or missing KALSHI-ACCESS-* headers"})
        if name == "limits":
            return _json(200, dict(self.limits))
        if name == "cutoff":
            return _json(200, self.cutoff())
        query = parse_qs(parts.query)
        limit, start, refused = page_bounds(query)
        if refused is not None:
            return refused
        if name == "positions":
            records = self.positions(account)
        else:
            historical = name.startswith("historical_")
            rows = (
                self._fill_rows(account, historical)
                if name.endswith("fills")
                else self._order_rows(account, historical)
            )
            for bound, keep in (("min_ts", float.__ge__), ("max_ts", float.__lt__)):
                text = query.get(bound, [""])[0]
                if text:
                    if not text.isdigit() or len(text) > 12:
                        return _json(400, {"error": f"{bound} must be a Unix time in seconds"})
                    rows = [row for row in rows if keep(float(row[0]), float(text))]
            records = [record for _, record in rows]
        status = query.get("status", [""])[0]
        if status and name == "orders":
            records = [r for r in records if order_status(r) == status]
        page = records[start : start + limit]
        cursor = str(start + limit) if start + limit < len(records) else ""
        if name != "positions":
            key = "fills" if name.endswith("fills") else "orders"
            return _json(200, {key: page, "cursor": cursor})
        if self.product == "margin":  # Kalshi's margin positions page is not paged
            return _json(200, {"positions": records})
        return _json(200, {"market_positions": page, "event_positions": [], "cursor": cursor})

    def _history(
        self,
        history: MarketHistory,
        path: str,
        query_text: str,
        headers: Mapping[str, str],
        now: float,
    ) -> tuple[int, dict[str, str], bytes] | None:
        """A market-history page (Kalshi serves them without a key: a request that carries
        Kalshi's headers must carry good ones); None: not such a path."""
        route = _history_route(path)
        if route is None:
            return None
        signed = any(h.startswith("kalshi-access-") for h in headers)
        if signed and self._authenticated("GET", path, headers, now) is None:
            return _json(401, {"error": "unauthorized: bad KALSHI-ACCESS-* headers"})
        kind, ticker = route
        query = parse_qs(query_text)
        margin = kind.startswith("margin_")
        if margin != (history.product == "margin"):
            return _json(404, {"error": f"no such endpoint: {path}"})
        cutoff = None if margin else self.historical_cutoff  # margin has no cutoff
        if kind in ("trades", "historical_trades", "margin_trades"):
            return history.trades_page(query, cutoff, kind == "historical_trades")
        if kind in ("orderbook", "margin_orderbook"):
            return history.orderbook(ticker, query)
        return history.candles_page(ticker, query, cutoff, kind == "historical_candlesticks")

    def _funding(
        self, query_text: str, headers: Mapping[str, str], now: float
    ) -> tuple[int, dict[str, str], bytes]:
        """``GET /margin/funding_rates/historical``: public, as Kalshi's (a signed request must
        be signed well); ``{"funding_rates": [...]}``, Kalshi's rows, oldest first."""
        funding = self.funding
        if funding is None and self.history is not None:
            funding = self.history.funding  # a margin recording's # funding lines
        if funding is None:
            return _json(404, {"error": f"no such endpoint: {_FUNDING_PATH}"})
        signed = any(h.startswith("kalshi-access-") for h in headers)
        if signed and self._authenticated("GET", _FUNDING_PATH, headers, now) is None:
            return _json(401, {"error": "unauthorized: bad KALSHI-ACCESS-* headers"})
        query = parse_qs(query_text)
        ticker = query.get("ticker", [""])[0]
        bounds = []
        for name in ("start_ts", "end_ts"):
            text = query.get(name, [""])[0]
            if text and (not text.isdigit() or len(text) > 12):
                return _json(400, {"error": f"{name} must be a Unix time in seconds"})
            bounds.append(float(text) if text else None)
        start, end = bounds
        rows = [
            {**row, "funding_rate": float(rate.rate)}  # a JSON number, as Kalshi's
            for rate, row in zip(funding.rates, funding.as_json(), strict=True)
            if (not ticker or rate.symbol == ticker)
            and (start is None or rate.time >= start)
            and (end is None or rate.time <= end)
        ]
        return _json(200, {"funding_rates": rows})

    def _catalogue(
        self, path: str, query_text: str, headers: Mapping[str, str], now: float
    ) -> tuple[int, dict[str, str], bytes] | None:
        """A series, events or markets page (public, as Kalshi's: a request that carries
        Kalshi's headers must carry good ones); None: not such a path."""
        answer = self.catalogue.handle(path, query_text)
        if answer is None:
            return None
        signed = any(h.startswith("kalshi-access-") for h in headers)
        if signed and self._authenticated("GET", path, headers, now) is None:
            return _json(401, {"error": "unauthorized: bad KALSHI-ACCESS-* headers"})
        return answer

    def _margin_page(
        self, path: str, headers: Mapping[str, str], now: float, query: str = ""
    ) -> tuple[int, dict[str, str], bytes] | None:
        """A margin risk page (`margin_page`); None: not such a path."""
        assert self.margin_terms is not None
        return margin_page(
            path,
            headers.get("kalshi-access-key", ""),
            lambda: self._authenticated("GET", path, headers, now),
            self.margin_terms,
            self._books,
            lambda account: [
                (v.symbol, v.leaves_qty, v.price) for v in self.exchange.open_orders(account)
            ],
            self._fee_rates,
            query,
        )

    def _fee_rates(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Each listed margin market's (maker, taker) rate as the exchange charges it."""
        fees = self.exchange.fees
        if not isinstance(fees, FeeSchedule):
            return {}
        out = {}
        for symbol in self.exchange.markets():
            rates = fees.rates("margin", symbol)
            scale = rates.multiplier if rates.multiplier is not None else _ONE
            out[symbol] = ((rates.maker or _ZERO) * scale, (rates.taker or _ZERO) * scale)
        return out

    def _authenticated(
        self, method: str, path: str, headers: Mapping[str, str], now: float
    ) -> str | None:
        key_id = headers.get("kalshi-access-key", "")
        stamp = headers.get("kalshi-access-timestamp", "")
        signature = headers.get("kalshi-access-signature")
        public = self.keys.get(key_id)
        if public is None or signature is None or not (0 < len(stamp) <= 16 and stamp.isdigit()):
            return None
        if abs(int(stamp) / 1000 - now) > MAX_CLOCK_SKEW:
            return None
        if not verify_signature_b64(public, rest_signature_payload(stamp, method, path), signature):
            return None
        return self.accounts.get(key_id, key_id)


_FUNDING_PATH: Final = "/trade-api/v2/margin/funding_rates/historical"


def _history_route(path: str) -> tuple[str, str] | None:
    """(the history endpoint, its market) of a path; None: not one."""
    parts = path.removeprefix("/trade-api/v2/").split("/")
    if parts in (["markets", "trades"], ["historical", "trades"]):
        return ("trades" if parts[0] == "markets" else "historical_trades"), ""
    if parts == ["margin", "trades"]:
        return "margin_trades", ""
    if len(parts) == 4 and parts[:2] == ["margin", "markets"]:
        if parts[3] in ("candlesticks", "orderbook"):
            return f"margin_{parts[3]}", parts[2]
        return None
    if len(parts) == 5 and parts[0] == "series" and parts[2::2] == ["markets", "candlesticks"]:
        return "candlesticks", parts[3]
    if len(parts) == 4 and parts[:2] == ["historical", "markets"] and parts[3] == "candlesticks":
        return "historical_candlesticks", parts[2]
    if len(parts) == 3 and parts[0] == "markets" and parts[2] == "orderbook":
        return "orderbook", parts[1]
    return None


REQUEST_TIMEOUT: Final = 10.0
"""Seconds the mock's REST server waits on one client's socket (its TLS handshake, a request's
bytes) before it drops that connection."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (a timeout, a reset): nothing to report."""


class RestServer:
    """A `MockGateway`'s REST API over HTTPS on loopback (standard library, its own thread).

    Args:
        gateway: the gateway (its exchange, keys, faults, TLS context and loop).
        host: the address to listen on.
        port: the port (0: a free one).
        history: the markets' public history it serves (`RestApp`'s ``history``).
        instruments: how it describes the markets (`RestApp`'s ``instruments``).

    Use ``with RestServer(gateway) as rest:``; `base_url` is what a `RestOptions` takes.
    """

    def __init__(
        self,
        gateway: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        history: MarketHistory | None = None,
        instruments: Instruments | None = None,
    ) -> None:
        self.gateway = gateway
        self.app = gateway.call(
            lambda: RestApp(
                gateway.exchange,
                gateway.keys,
                gateway.faults,
                gateway.accounts,
                history=history,
                instruments=instruments,
            )
        )
        context: ssl.SSLContext | None = gateway.ssl_context
        if context is None:
            raise ValueError("the REST server speaks HTTPS only: start the gateway with TLS")
        app, faults = self.app, gateway.faults

        class Handler(BaseHTTPRequestHandler):
            timeout = REQUEST_TIMEOUT  # a client that stalls (its TLS handshake included)

            def setup(self) -> None:
                """The TLS handshake in the request's own thread, bounded by ``timeout``: a
                client that connects and says nothing holds only its own thread, never the
                loop that accepts (nor `close`)."""
                super().setup()
                self.request.do_handshake()

            def do_GET(self) -> None:
                if faults.rest_delay > 0:
                    time.sleep(faults.rest_delay)
                headers = {k: v for k, v in self.headers.items()}
                status, extra, body = gateway.call(
                    lambda: app.handle("GET", self.path, headers, gateway.timers.time())
                )
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._host = host
        self._server = _Server((host, port), Handler)
        self._server.socket = context.wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:<port>`` (the certificate names 127.0.0.1 and localhost)."""
        return f"https://{self._host}:{self.port}"

    def start(self) -> RestServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="mock-kalshi-rest",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> RestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
