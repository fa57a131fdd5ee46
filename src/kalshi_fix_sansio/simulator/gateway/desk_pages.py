"""The mock gateway's desk pages: queue positions, the exchange's status and its schedule.

`DeskPages` answers, for `kalshi_fix_sansio.simulator.gateway.rest.RestApp`, the pages of
`kalshi_fix_sansio.rest.desk` in Kalshi's published shapes (prediction: Trade API OpenAPI;
margin: the perps API's ``ExchangeStatus``), from what the mock knows:

* ``GET /portfolio/orders/queue_positions`` and ``/portfolio/orders/{order_id}/queue_position``
  (prediction, signed): the matching engine's queue ahead of each resting order of the key's
  account (`Exchange.queue_positions`); ``market_tickers`` and ``event_ticker`` filter them
  (an event is the ticker's part before its last ``-``, as the mock's catalogue says); an
  order not resting is 404;
* ``GET /exchange/status`` (margin ``/margin/exchange/status``; public): ``trading_active``
  False during a pause of the exchange (`MockGateway.pause`, the console's ``pause``),
  ``exchange_active`` False during an exchange pause or a maintenance window
  (`MockGateway.maintenance`), with ``exchange_estimated_resume_time`` its end;
* ``GET /exchange/schedule`` (prediction; public): trading every day around the clock
  (``standard_hours``) and the maintenance windows of ``faults.maintenance_windows`` (the
  console's ``schedule``; a maintenance started adds its own).

A page named in ``faults.rest_forbidden`` is answered 403 (a key that lacks the permission).
Pure: no I/O, no clock (``now`` is an argument).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qs, unquote

from ...rest.pages import API_PREFIX, rest_path
from .exchange import Exchange
from .listening import Faults

__all__ = ["DeskPages"]

Answer = tuple[int, dict[str, str], bytes]
Authenticate = Callable[[str, str, Mapping[str, str], float], "str | None"]

_TWO: Final = Decimal("0.01")
_ORDERS: Final = f"{API_PREFIX}/portfolio/orders/"
_DAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _json(status: int, body: object) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _iso(when: float) -> str:
    moment = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DeskPages:
    """The desk pages of one exchange (see the module).

    Args:
        exchange: the exchange whose queues and pause are served.
        faults: the gateway's faults (``maintenance_until``, ``maintenance_windows``,
            ``rest_forbidden``).
    """

    def __init__(self, exchange: Exchange, faults: Faults) -> None:
        self.exchange = exchange
        self.faults = faults
        product = exchange.product
        names = ["exchange_status"]
        if product == "prediction":
            names += ["queue_positions", "exchange_schedule"]
        self._paths = {rest_path(product, name): name for name in names}

    def route(self, path: str) -> tuple[str, str | None] | None:
        """(the page, its order id) of a path, or None: not a desk page."""
        name = self._paths.get(path)
        if name is not None:
            return name, None
        if self.exchange.product == "prediction" and path.startswith(_ORDERS):
            order_id, _, tail = path.removeprefix(_ORDERS).partition("/")
            if tail == "queue_position" and order_id:
                return "queue_position", unquote(order_id)
        return None

    def handle(
        self, path: str, query: str, headers: Mapping[str, str], now: float, auth: Authenticate
    ) -> Answer | None:
        """Answer a GET of a desk page (None: not one). ``auth(method, path, headers, now)``
        is the app's check of Kalshi's signature: the account, or None."""
        route = self.route(path)
        if route is None:
            return None
        name, order_id = route
        signed = any(h.startswith("kalshi-access-") for h in headers)
        account = auth("GET", path, headers, now) if signed else None
        if (signed or name.startswith("queue")) and account is None:
            return _json(401, {"error": "unauthorized: bad or missing KALSHI-ACCESS-* headers"})
        if name in self.faults.rest_forbidden:
            return _json(403, {"error": f"forbidden: the API key may not read {name}"})
        if name == "exchange_status":
            return _json(200, self.status(now))
        if name == "exchange_schedule":
            return _json(200, {"schedule": self.schedule(now)})
        assert account is not None
        rows = self.exchange.queue_positions(account)
        if order_id is not None:
            found = [ahead for oid, _, ahead in rows if oid == order_id]
            if not found:
                return _json(404, {"error": f"no resting order {order_id}"})
            return _json(200, {"queue_position_fp": str(found[0].quantize(_TWO))})
        params = parse_qs(query)
        markets = {t for v in params.get("market_tickers", []) for t in v.split(",") if t}
        event = params.get("event_ticker", [""])[0]
        positions = [
            {
                "order_id": oid,
                "market_ticker": ticker,
                "queue_position_fp": str(ahead.quantize(_TWO)),
            }
            for oid, ticker, ahead in rows
            if (not markets or ticker in markets)
            and (not event or ticker.rpartition("-")[0] == event)
        ]
        return _json(200, {"queue_positions": positions})

    def status(self, now: float) -> dict[str, Any]:
        """The exchange's status now (Kalshi's ``ExchangeStatus``; margin's has no resume
        time)."""
        paused = self.exchange.paused
        until = self.faults.maintenance_until
        down = until is not None and until > now
        body: dict[str, Any] = {
            "exchange_active": paused != "exchange" and not down,
            "trading_active": paused is None and not down,
        }
        if self.exchange.product == "prediction":
            body["exchange_estimated_resume_time"] = _iso(until) if down and until else None
        return body

    def schedule(self, now: float) -> dict[str, Any]:
        """Kalshi's ``Schedule``: trading around the clock every day of the week from
        ``now``'s day on (Eastern hours ``00:00``-``23:59``) and the maintenance windows,
        earliest first."""
        today = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        week = {
            "start_time": today.isoformat().replace("+00:00", "Z"),
            "end_time": (today + datetime.timedelta(days=7)).isoformat().replace("+00:00", "Z"),
            **{day: [{"open_time": "00:00", "close_time": "23:59"}] for day in _DAYS},
        }
        windows = [
            {"start_datetime": _iso(start), "end_datetime": _iso(end)}
            for start, end in sorted(self.faults.maintenance_windows)
        ]
        return {"standard_hours": [week], "maintenance_windows": windows}
