"""Shared fixtures for end-to-end tests: a real mock gateway over TLS on loopback.

`tls_gateway` starts `MockGateway` in its own thread with a freshly generated self-signed
certificate and two freshly generated Ed25519 API keys; `endpoints()` and `client_kwargs()` give
what an adapter's client needs to reach it (pinned certificate, loopback endpoints).
`watching` gives a `threading.Event` set when given frames have crossed a client's socket (read
from the FIX message log), for tests that wait on the wire instead of sleeping.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.client import Endpoint
from kalshi_fix_sansio.observability import MESSAGE_LOGGER_NAME
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.auth import Ed25519Signer
from kalshi_fix_sansio.simulator.gateway.server import MockGateway
from kalshi_fix_sansio.simulator.gateway.tls import self_signed, server_context
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

SYMBOL = {"prediction": "HIGHNY-23DEC31", "margin": "BTC-PERP"}
BOOK = {
    "prediction": ([(Decimal("0.40"), Decimal(25))], [(Decimal("0.45"), Decimal(30))]),
    "margin": ([(Decimal("19.4"), Decimal(25))], [(Decimal("19.6"), Decimal(30))]),
}


@dataclass
class GatewayHarness:
    gateway: MockGateway
    product: str
    cert: Path
    signers: dict[str, Ed25519Signer] = field(default_factory=dict)

    @property
    def symbol(self) -> str:
        return SYMBOL[self.product]

    def endpoints(self) -> dict[str, Endpoint]:
        return {
            name: Endpoint("127.0.0.1", port, server_hostname="localhost")
            for name, port in self.gateway.ports.items()
        }

    def ssl_context(self) -> ssl.SSLContext:
        return make_ssl_context(pinned_cert=str(self.cert))

    def credentials(self, key_id: str = "key-1") -> Credentials:
        return Credentials(key_id, self.signers[key_id])

    def client_kwargs(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for FixClient / MarginFixClient of any adapter."""
        kwargs: dict[str, Any] = {
            "endpoints": self.endpoints(),
            "ssl_context": self.ssl_context(),
            "backoff": Backoff(base=0.05, cap=0.2, attempts=8, seed=7),
            "heartbeat_interval": 5,
        }
        kwargs.update(extra)
        return kwargs


def start_gateway(
    product: str, tmp: Path, keys: tuple[str, ...] = ("key-1", "key-2")
) -> GatewayHarness:
    cert, key = self_signed(tmp)
    signers: dict[str, Ed25519Signer] = {}
    public = {}
    for key_id in keys:
        signer, pub = new_ed25519_keys()
        signers[key_id] = signer
        public[key_id] = pub
    gateway = MockGateway(
        product, keys=public, ssl_context=server_context(cert, key), heartbeat_interval=5
    )
    gateway.start_in_thread()
    bids, asks = BOOK[product]
    gateway.seed_market(SYMBOL[product], bids=bids, asks=asks)
    return GatewayHarness(gateway, product, cert, signers)


def running_gateway(product: str, tmp: Path) -> Iterator[GatewayHarness]:
    """A fixture's gateway: started, yielded, closed."""
    harness = start_gateway(product, tmp)
    try:
        yield harness
    finally:
        harness.gateway.close()


@pytest.fixture(params=["prediction", "margin"])
def tls_gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GatewayHarness]:
    yield from running_gateway(request.param, tmp_path)


@pytest.fixture
def prediction_gateway(tmp_path: Path) -> Iterator[GatewayHarness]:
    yield from running_gateway("prediction", tmp_path)


@pytest.fixture
def margin_gateway(tmp_path: Path) -> Iterator[GatewayHarness]:
    yield from running_gateway("margin", tmp_path)


class FrameWatch(logging.Handler):
    """The FIX message log's lines (``<time> <IN|OUT> <session id> <frame>``), and an event set
    when ``wanted`` has matched one line of each of its entries, in order."""

    def __init__(self, *wanted: tuple[str, str]) -> None:
        super().__init__(logging.INFO)
        self.wanted = list(wanted)  # (direction, text in the frame) still to see
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if self.wanted and f" {self.wanted[0][0]} " in line and self.wanted[0][1] in line:
            self.wanted.pop(0)
            if not self.wanted:
                self.seen.set()


@contextlib.contextmanager
def watching(*wanted: tuple[str, str]) -> Iterator[FrameWatch]:
    """A `FrameWatch` on the message log while the block runs (the log enabled at INFO)."""
    logger = logging.getLogger(MESSAGE_LOGGER_NAME)
    watch, level = FrameWatch(*wanted), logger.level
    logger.addHandler(watch)
    logger.setLevel(logging.INFO)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)
        logger.setLevel(level)


@contextlib.contextmanager
def dropped(h: GatewayHarness) -> Iterator[threading.Event]:
    """An event set when the gateway has dropped a connection (its API key released, the
    exchange told), for a test that waits on the gateway instead of polling it."""
    exchange = h.gateway.exchange
    disconnect = exchange.disconnect
    done = threading.Event()

    def disconnect_and_tell(session_id: str, now: float) -> Any:
        try:
            return disconnect(session_id, now)
        finally:
            done.set()

    exchange.disconnect = disconnect_and_tell  # type: ignore[method-assign]
    try:
        yield done
    finally:
        del exchange.disconnect  # the class's method again
