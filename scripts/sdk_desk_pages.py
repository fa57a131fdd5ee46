"""kalshi-sdk's own REST client reads the mock gateway's desk pages into its models (not CI).

Run by ``bash scripts/sdk-desk-pages`` with a Python that has kalshi-sdk 22.4.0 (>= 3.12: the
``.venv-peers`` that ``bash scripts/bench-peers`` makes) and this project installed. For each
product it starts a `MockGateway` over TLS with its HTTPS REST server, rests two orders of the
SDK's key behind another account's, pauses trading, announces a maintenance window, then
reads every desk page with kalshi-sdk's clients (``KalshiClient`` for prediction,
``PerpsClient`` for margin), their transport trusting the mock's certificate:

* ``client.orders.queue_positions()`` (models ``OrderQueuePosition``) and
  ``client.orders.queue_position(order_id)``;
* ``client.exchange.status()`` (``ExchangeStatus``), ``client.exchange.schedule()``
  (``Schedule``, ``WeeklySchedule``, ``MaintenanceWindow``);
* prediction fees: ``client.series.list()`` (``Series``, with its fee type);
* margin: ``PerpsClient.exchange.status()`` (``kalshi.perps.models.exchange.ExchangeStatus``),
  ``.margin.risk()``, ``.margin.notional_risk_limit()``, ``.exchange.risk_parameters()``,
  ``.margin.fee_tiers()``, ``.margin.fee_tier_rates()`` and ``.margin.corporate_actions()``
  (a notice of every type, and a cancelled one), the margin account holding a position.

It prints one line per page (what the SDK's model holds) and exits 1 when the SDK refuses one.

Without Python 3.12 the same pages are checked against the SDK's models alone, in two steps:
``--save-pages FILE`` (this project's Python) writes every page's body as the mock served it
over TLS, and ``scripts/sdk_page_models.py FILE SDK_DIR`` (any Python with pydantic 2, the
kalshi-sdk wheel unzipped in ``SDK_DIR``) validates each with the model the SDK's client uses.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.codec import margin, prediction
from kalshi_fix_sansio.rest.pages import rest_headers
from kalshi_fix_sansio.session.auth import load_public_key
from kalshi_fix_sansio.simulator.gateway.rest import RestServer
from kalshi_fix_sansio.simulator.gateway.server import MockGateway
from kalshi_fix_sansio.simulator.gateway.tls import self_signed, server_context
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

KEY_ID = "kalshi-sdk-desk-key"
SYMBOL = {"prediction": "HIGHNY-23DEC31", "margin": "BTC-PERP"}
PRICE = {"prediction": Decimal("0.40"), "margin": Decimal("19.4")}


def _order(product: str, cl: str, qty: int, side: Any = None) -> Any:
    d = prediction if product == "prediction" else margin
    return d.NewOrderSingle(
        cl_ord_id=cl,
        side=d.Side.BUY if side is None else side,
        order_qty=Decimal(qty),
        ord_type=d.OrdType.LIMIT,
        price=PRICE[product],
        symbol=SYMBOL[product],
        time_in_force=d.TimeInForce.GTC,
    )


def _prepare(gateway: MockGateway, product: str) -> None:
    """Two resting orders of the SDK's key behind 5 of key-2's (margin: a short of 2 first);
    a pause; a window ahead."""

    def rest() -> None:
        exchange = gateway.exchange
        exchange.connect("desk-other", "key-2", "KalshiNR", now=gateway.timers.time())
        exchange.handle("desk-other", _order(product, "k2-bid", 5), gateway.timers.time())
        exchange.connect("desk-sdk", KEY_ID, "KalshiNR", now=gateway.timers.time())
        if product == "margin":  # a position: 2 sold into key-2's bid (then 3 left ahead)
            sell = _order(product, "sdk-sell", 2, margin.Side.SELL)
            exchange.handle("desk-sdk", sell, gateway.timers.time())
        for cl, qty in (("sdk-1", 10), ("sdk-2", 3)):
            exchange.handle("desk-sdk", _order(product, cl, qty), gateway.timers.time())

    gateway.call(rest)
    gateway.pause()
    gateway.schedule_maintenance(3600.0, 7200.0)


def _notice(n: int, kind: str, status: str = "scheduled", **terms: Any) -> dict[str, Any]:
    """A corporate action notice of BTC-PERP in Kalshi's shape."""
    record: dict[str, Any] = {
        "id": f"ca-{n}",
        "market_id": "m-BTC-PERP",
        "market_ticker": SYMBOL["margin"],
        "type": kind,
        "status": status,
        "updated_ts": "2026-11-19T12:00:00Z",
    }
    if status != "cancelled":
        record["execution_time"] = f"2026-11-20T15:{n:02d}:00Z"
        record.update(terms)
    return record


NOTICES: Final = [
    _notice(1, "cash_dividend", cash={"cash_per_contract": "0.25"}),
    _notice(2, "special_dividend", cash={"cash_per_contract": "1.5"}),
    _notice(3, "spin_off", cash={"cash_per_contract": "0.1"}),
    _notice(4, "stock_split", split={"ratio_old": "1", "ratio_new": "2"}),
    _notice(
        5,
        "final_settlement",
        "applied",
        final_settlement={"reason": "delisted", "settlement_price_per_contract": "35"},
    ),
    _notice(6, "ticker_change", ticker_change={"old_ticker": "BTC-PERP", "new_ticker": "BTC2"}),
    _notice(7, "cash_dividend", "cancelled"),
]
"""The corporate actions the mock serves: every type Kalshi has."""

PAGES: Final = {
    "prediction": {
        "queue_positions": "/portfolio/orders/queue_positions",
        "exchange_status": "/exchange/status",
        "exchange_schedule": "/exchange/schedule",
        "series_list": "/series",
    },
    "margin": {
        "perps_exchange_status": "/margin/exchange/status",
        "margin_risk": "/margin/risk",
        "notional_risk_limit": "/margin/notional_risk_limit",
        "risk_parameters": "/margin/risk_parameters",
        "fee_tiers": "/margin/fee_tiers",
        "fee_tier_rates": "/margin/fee_tier_rates",
        "corporate_actions": "/margin/corporate_actions",
    },
}
"""Every page ``--save-pages`` writes, by product and name (paths under /trade-api/v2)."""


def _check(product: str, base_url: str, pem: bytes, verify: Any) -> list[str]:
    """Each desk page read by kalshi-sdk's client; the refusals."""
    import kalshi  # type: ignore[import-not-found]
    from kalshi.perps import PerpsClient  # type: ignore[import-not-found]

    transport = httpx.HTTPTransport(verify=verify)
    base = base_url + "/trade-api/v2"
    failures: list[str] = []

    def read(what: str, call: Any) -> Any:
        try:
            value = call()
        except Exception as exc:  # the SDK's refusal is the finding
            failures.append(f"{product} {what}: {type(exc).__name__}: {exc}")
            print(f"FAIL {product} {what}: {exc}")
            return None
        print(f"ok   {product} {what}: {value!r:.160}")
        return value

    if product == "prediction":
        with kalshi.KalshiClient(
            key_id=KEY_ID, private_key=pem, base_url=base, transport=transport, max_retries=0
        ) as client:
            rows = read("orders.queue_positions()", client.orders.queue_positions) or []
            for row in rows:
                read(
                    f"orders.queue_position({row.order_id})",
                    lambda oid=row.order_id: client.orders.queue_position(oid),
                )
            read("exchange.status()", client.exchange.status)
            read("exchange.schedule()", client.exchange.schedule)
            read("series.list()", client.series.list)
    else:
        with PerpsClient(
            key_id=KEY_ID, private_key=pem, base_url=base, transport=transport, max_retries=0
        ) as client:
            read("perps exchange.status()", client.exchange.status)
            read("margin.risk()", client.margin.risk)
            read("margin.notional_risk_limit()", client.margin.notional_risk_limit)
            read("exchange.risk_parameters()", client.exchange.risk_parameters)
            read("margin.fee_tiers()", client.margin.fee_tiers)
            read("margin.fee_tier_rates()", client.margin.fee_tier_rates)
            read("margin.corporate_actions()", client.margin.corporate_actions)
    return failures


def _save(product: str, base_url: str, verify: Any, signer: Any) -> dict[str, Any]:
    """Every page of `PAGES` of ``product`` as the mock serves it over TLS, signed by
    ``KEY_ID``'s ``signer`` (the queue position of each order too)."""
    out: dict[str, Any] = {}
    with httpx.Client(verify=verify) as client:

        def get(path: str) -> Any:
            full = "/trade-api/v2" + path
            headers = rest_headers(KEY_ID, signer, "GET", full, time.time())
            answer = client.get(base_url + full, headers=headers)
            answer.raise_for_status()
            return answer.json()

        for name, path in PAGES[product].items():
            out[name] = get(path)
        if product == "prediction":
            out["queue_position"] = [
                get(f"/portfolio/orders/{row['order_id']}/queue_position")
                for row in out["queue_positions"]["queue_positions"]
            ]
    return out


def _gateways(cert: Path, private: Path, keys: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Each product's mock gateway over TLS, prepared (`_prepare`), and its REST server."""
    for product in ("prediction", "margin"):
        gateway = MockGateway(product, keys=keys, ssl_context=server_context(cert, private))
        gateway.start_in_thread()
        try:
            gateway.seed_market(SYMBOL[product])
            with RestServer(gateway) as server:  # (it counts the fills from now on)
                _prepare(gateway, product)
                if server.app.margin_terms is not None:
                    server.app.margin_terms.corporate_actions = list(NOTICES)
                yield product, server
        finally:
            gateway.close()


def save_pages(target: Path) -> int:
    """``--save-pages FILE``: every page of both products, as JSON, for
    scripts/sdk_page_models.py."""
    signer, public = new_ed25519_keys()
    pages: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cert, private = self_signed(Path(tmp))
        keys = {KEY_ID: public, "key-2": new_ed25519_keys()[1]}
        for product, server in _gateways(cert, private, keys):
            verify = make_ssl_context(pinned_cert=str(cert))
            pages[product] = _save(product, server.base_url, verify, signer)
    target.write_text(json.dumps(pages, indent=1))
    print(f"{sum(len(p) for p in pages.values())} pages saved in {target}")
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--save-pages"] and len(sys.argv) == 3:
        return save_pages(Path(sys.argv[2]))
    failures: list[str] = []
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with tempfile.TemporaryDirectory() as tmp:
        cert, private = self_signed(Path(tmp))
        keys = {KEY_ID: load_public_key(public), "key-2": new_ed25519_keys()[1]}
        for product, server in _gateways(cert, private, keys):
            verify = make_ssl_context(pinned_cert=str(cert))
            failures += _check(product, server.base_url, pem, verify)
    print(f"{'every page read' if not failures else f'{len(failures)} page(s) refused'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
