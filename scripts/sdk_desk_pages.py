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
* margin: ``PerpsClient.exchange.status()`` (``kalshi.perps.models.exchange.ExchangeStatus``).

It prints one line per page (what the SDK's model holds) and exits 1 when the SDK refuses one.
"""

from __future__ import annotations

import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.codec import margin, prediction
from kalshi_fix_sansio.session.auth import load_public_key
from kalshi_fix_sansio.simulator.gateway.rest import RestServer
from kalshi_fix_sansio.simulator.gateway.server import MockGateway
from kalshi_fix_sansio.simulator.gateway.tls import self_signed, server_context
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

KEY_ID = "kalshi-sdk-desk-key"
SYMBOL = {"prediction": "HIGHNY-23DEC31", "margin": "BTC-PERP"}
PRICE = {"prediction": Decimal("0.40"), "margin": Decimal("19.4")}


def _order(product: str, cl: str, qty: int) -> Any:
    d = prediction if product == "prediction" else margin
    return d.NewOrderSingle(
        cl_ord_id=cl,
        side=d.Side.BUY,
        order_qty=Decimal(qty),
        ord_type=d.OrdType.LIMIT,
        price=PRICE[product],
        symbol=SYMBOL[product],
        time_in_force=d.TimeInForce.GTC,
    )


def _prepare(gateway: MockGateway, product: str) -> None:
    """Two resting orders of the SDK's key behind 5 of key-2's; a pause; a window ahead."""

    def rest() -> None:
        exchange = gateway.exchange
        exchange.connect("desk-other", "key-2", "KalshiNR", now=gateway.timers.time())
        exchange.handle("desk-other", _order(product, "k2-bid", 5), gateway.timers.time())
        exchange.connect("desk-sdk", KEY_ID, "KalshiNR", now=gateway.timers.time())
        for cl, qty in (("sdk-1", 10), ("sdk-2", 3)):
            exchange.handle("desk-sdk", _order(product, cl, qty), gateway.timers.time())

    gateway.call(rest)
    gateway.pause()
    gateway.schedule_maintenance(3600.0, 7200.0)


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
    else:
        with PerpsClient(
            key_id=KEY_ID, private_key=pem, base_url=base, transport=transport, max_retries=0
        ) as client:
            read("perps exchange.status()", client.exchange.status)
    return failures


def main() -> int:
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
        for product in ("prediction", "margin"):
            keys = {KEY_ID: load_public_key(public), "key-2": new_ed25519_keys()[1]}
            gateway = MockGateway(product, keys=keys, ssl_context=server_context(cert, private))
            gateway.start_in_thread()
            try:
                gateway.seed_market(SYMBOL[product])
                _prepare(gateway, product)
                with RestServer(gateway) as server:
                    verify = make_ssl_context(pinned_cert=str(cert))
                    failures += _check(product, server.base_url, pem, verify)
            finally:
                gateway.close()
    print(f"{'every page read' if not failures else f'{len(failures)} page(s) refused'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
