"""The mock gateway's REST API: Kalshi's portfolio pages served from the exchange's own state.

`RestApp` answers ``GET`` requests for the product's orders, fills, positions and API limits
(the paths of `kalshi_fix_sansio.rest.rest_path`), page by page by ``cursor``, newest first, as
Kalshi's Trade API v2 does. It is pure (no I/O, no clock: ``now`` is an argument): give it an
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
on) and every order it saw open (at its creation, a fill or a request); an order placed and
cancelled without a fill between two of those is not listed.
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

from ..auth import PublicKey, verify_signature_b64
from ..rest import rest_path, rest_signature_payload
from .exchange import Exchange, FillView
from .listening import Faults

__all__ = ["BASIC_LIMITS", "MAX_CLOCK_SKEW", "RestApp", "RestServer"]

MAX_CLOCK_SKEW: Final = 300.0
"""Seconds a request's KALSHI-ACCESS-TIMESTAMP may differ from the gateway's clock."""
_MAX_LIMIT: Final = 1000
_TWO: Final = Decimal("0.01")
_PRICE: Final = Decimal("0.0001")


def _iso(when: float) -> str:
    moment = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(status: int, body: object, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


BASIC_LIMITS: Final[Mapping[str, Any]] = {
    "usage_tier": "Basic",
    "read": {"refill_rate": 200, "bucket_capacity": 200},
    "write": {"refill_rate": 100, "bucket_capacity": 100},
}
"""The mock's default answer to the limits page: Kalshi's shape (token buckets per second and
their capacity), the Basic tier's prediction budgets."""


class RestApp:
    """Kalshi's REST portfolio pages for one `Exchange` (see the module).

    Args:
        exchange: the exchange whose state is served (its fills are kept from now on).
        keys: API key id -> public key.
        faults: the failures to inject (a `MockGateway`'s ``faults``).
        accounts: API key id -> its account (a `MockGateway`'s ``accounts``); a key not in it
            is an account of its own.
        limits: what ``GET /account/limits`` (``/account/limits/perps``) answers, Kalshi's
            shape (default `BASIC_LIMITS`: the Basic tier's token buckets).
    """

    def __init__(
        self,
        exchange: Exchange,
        keys: Mapping[str, PublicKey],
        faults: Faults | None = None,
        accounts: Mapping[str, str] | None = None,
        limits: Mapping[str, Any] | None = None,
    ) -> None:
        self.exchange = exchange
        self.limits: Mapping[str, Any] = BASIC_LIMITS if limits is None else limits
        self.keys = keys
        self.accounts: Mapping[str, str] = accounts if accounts is not None else {}
        self.faults = faults if faults is not None else Faults()
        self.product = exchange.product
        self._fills: list[tuple[FillView, int]] = []  # (fill, arrival number)
        self._orders: dict[str, dict[str, Any]] = {}  # order_id -> the last view of it
        self._now = 0.0  # when it last heard of the exchange (a fill, a request)
        exchange.fill_listeners.append(self._on_fill)
        for view in exchange.open_orders():  # what rests already
            self._snapshot(view.account)
        self._paths = {
            rest_path(self.product, name): name
            for name in ("orders", "fills", "positions", "limits")
        }

    # -- the exchange's state ----------------------------------------------------------------

    def _on_fill(self, fill: FillView) -> None:
        self._now = fill.time
        self._fills.append((fill, len(self._fills)))
        self._snapshot(fill.account)

    def _snapshot(self, account: str) -> None:
        for view in self.exchange.open_orders(account):
            self._orders[view.order_id] = {
                "account": account,
                "order_id": view.order_id,
                "client_order_id": view.cl_ord_id,
                "ticker": view.symbol,
                "side": view.side,
                "price": view.price,
                "order_qty": view.order_qty,
                "ts": self._orders.get(view.order_id, {}).get("ts", int(self._now)),
            }

    def _side_fields(self, side: str, price: Decimal) -> dict[str, Any]:
        buy = side == "1"
        if self.product == "prediction":
            return {
                "side": "yes",
                "action": "buy" if buy else "sell",
                "yes_price_dollars": str(price.quantize(_PRICE)),
                "no_price_dollars": str((1 - price).quantize(_PRICE)),
            }
        return {
            "side": "buy" if buy else "sell",
            "action": "buy" if buy else "sell",
            "price_dollars": str(price.quantize(_PRICE)),
        }

    def fills(self, account: str) -> list[dict[str, Any]]:
        """The account's fill records, newest first."""
        out = []
        for fill, n in reversed(self._fills):
            if fill.account != account:
                continue
            trade = fill.trade_id or f"fill-{n}"
            out.append(
                {
                    "fill_id": trade,
                    "trade_id": trade,
                    "order_id": fill.order_id,
                    "client_order_id": fill.cl_ord_id,
                    "ticker": fill.symbol,
                    "market_ticker": fill.symbol,
                    **self._side_fields(fill.side, fill.price),
                    "count": int(fill.qty),
                    "count_fp": str(fill.qty.quantize(_TWO)),
                    "is_taker": fill.aggressor,
                    "created_time": _iso(fill.time),
                    "ts": int(fill.time),
                }
            )
        return out

    def orders(self, account: str) -> list[dict[str, Any]]:
        """The account's order records (open ones and those seen before), newest first."""
        self._snapshot(account)
        open_ids = {view.order_id for view in self.exchange.open_orders(account)}
        filled: dict[str, Decimal] = {}
        for fill, _ in self._fills:
            if fill.account == account:
                filled[fill.order_id] = filled.get(fill.order_id, Decimal(0)) + fill.qty
        out = []
        for order in reversed(self._orders.values()):
            if order["account"] != account:
                continue
            cum = filled.get(order["order_id"], Decimal(0))
            qty = order["order_qty"]
            if order["order_id"] in open_ids:
                status = "resting"
            else:
                status = "executed" if cum >= qty else "canceled"
            remaining = qty - cum if status == "resting" else Decimal(0)
            out.append(
                {
                    "order_id": order["order_id"],
                    "client_order_id": order["client_order_id"],
                    "ticker": order["ticker"],
                    **self._side_fields(order["side"], order["price"]),
                    "type": "limit",
                    "status": status,
                    "fill_count": int(cum),
                    "fill_count_fp": str(cum.quantize(_TWO)),
                    "remaining_count": int(remaining),
                    "remaining_count_fp": str(remaining.quantize(_TWO)),
                    "initial_count_fp": str(qty.quantize(_TWO)),
                    "created_time": _iso(order["ts"]),
                    "ts": order["ts"],
                }
            )
        return out

    def positions(self, account: str) -> list[dict[str, Any]]:
        """The account's market positions (its primary holder's)."""
        symbols = {fill.symbol for fill, _ in self._fills if fill.account == account}
        out = []
        for symbol in sorted(symbols):
            net = self.exchange.position(symbol, account)
            out.append(
                {"ticker": symbol, "position": int(net), "position_fp": str(net.quantize(_TWO))}
            )
        return out

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
        name = self._paths.get(parts.path)
        if name is None:
            return _json(404, {"error": f"no such endpoint: {parts.path}"})
        if method != "GET":
            return _json(405, {"error": f"{method} not allowed"})
        account = self._authenticated(method, parts.path, lowered, now)
        if account is None:
            return _json(401, {"error": "unauthorized: bad or missing KALSHI-ACCESS-* headers"})
        if name == "limits":
            return _json(200, dict(self.limits))
        query = parse_qs(parts.query)
        try:
            limit = int(query.get("limit", ["100"])[0])
            start = int(query.get("cursor", ["0"])[0] or "0")
        except ValueError:
            return _json(400, {"error": "limit and cursor must be integers"})
        if not 1 <= limit <= _MAX_LIMIT or start < 0:
            return _json(400, {"error": f"limit must be 1-{_MAX_LIMIT}"})
        records = getattr(self, name)(account)
        since = query.get("min_ts", [""])[0]
        if since:
            if not since.isdigit() or len(since) > 12:
                return _json(400, {"error": "min_ts must be a Unix time in seconds"})
            records = [r for r in records if r.get("ts", 0) >= int(since)]
        status = query.get("status", [""])[0]
        if status and name == "orders":
            records = [r for r in records if r["status"] == status]
        page = records[start : start + limit]
        cursor = str(start + limit) if start + limit < len(records) else ""
        key = {"orders": "orders", "fills": "fills"}.get(name)
        if key is None:
            key = "market_positions" if self.product == "prediction" else "positions"
        body: dict[str, Any] = {key: page, "cursor": cursor}
        if key == "market_positions":
            body["event_positions"] = []
        return _json(200, body)

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

    Use ``with RestServer(gateway) as rest:``; `base_url` is what a `RestOptions` takes.
    """

    def __init__(self, gateway: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.gateway = gateway
        self.app = gateway.call(
            lambda: RestApp(gateway.exchange, gateway.keys, gateway.faults, gateway.accounts)
        )
        context: ssl.SSLContext | None = gateway.ssl_context
        if context is None:
            raise ValueError("the REST server speaks HTTPS only: start the gateway with TLS")
        app, faults = self.app, gateway.faults

        class Handler(BaseHTTPRequestHandler):
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
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
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
