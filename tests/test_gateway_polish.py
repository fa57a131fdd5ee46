"""Mock gateway fidelity (issue 26, item 7): an order for a ticker the gateway does not list is
rejected as Kalshi rejects it, unless the gateway auto-lists tickers (``auto_list_markets`` /
``kalshi-fix mock-gateway --auto-list``); stopping ``kalshi-fix mock-gateway`` with SIGTERM or
SIGINT removes its temporary key and certificate directory, as its banner says."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_cli_gateway import Gateway

from kalshi_fix_sansio import Backoff, OrderStatus
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.adapters.blocking import FixClient
from kalshi_fix_sansio.client import Endpoint
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.simulator.gateway import MockGateway, mock_api_key
from kalshi_fix_sansio.simulator.gateway.exchange import Exchange
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.tracker import OrderRejected

PRICE = {"prediction": Decimal("0.10"), "margin": Decimal("10")}


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_an_order_for_an_unlisted_ticker_is_rejected_market_not_found(product: str) -> None:
    signer, public_key = new_ed25519_keys()
    with MockGateway(product, keys={"k": public_key}, tls=True) as gateway:
        gateway.seed_market("LISTED")
        client = gateway.client("k", signer)
        orders = Requests(client.PRODUCT, "KalshiNR")
        with client.order_entry() as oe:
            with pytest.raises(OrderRejected, match="MARKET_NOT_FOUND") as rejected:
                oe.place(orders.new_order("NOT-LISTED", "buy", 1, PRICE[product]), timeout=10)
            rejection = rejected.value.rejection
            assert (rejection.source, rejection.text, rejection.reason) == (
                "execution_report",
                "MARKET_NOT_FOUND",
                1,  # ExecType 8, OrdRejReason 1
            )
            acked = oe.place(orders.new_order("LISTED", "buy", 1, PRICE[product]), timeout=10)
            assert acked.status is OrderStatus.NEW
        assert gateway.call(lambda: gateway.exchange.top_of_book("NOT-LISTED")) == (None, None)


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_auto_list_markets_lists_the_ticker_an_order_names(product: str) -> None:
    signer, public_key = new_ed25519_keys()
    with MockGateway(product, keys={"k": public_key}, tls=True, auto_list_markets=True) as gateway:
        client = gateway.client("k", signer)
        orders = Requests(client.PRODUCT, "KalshiNR")
        with client.order_entry() as oe:
            acked = oe.place(orders.new_order("ANY-TICKER", "buy", 3, PRICE[product]), timeout=10)
            assert acked.status is OrderStatus.NEW
        bid, ask = gateway.call(lambda: gateway.exchange.top_of_book("ANY-TICKER"))
        assert bid == (PRICE[product], Decimal(3)) and ask is None


def test_auto_list_also_lists_the_ticker_an_rfq_names() -> None:
    def rfq(symbol: str) -> p.QuoteRequest:
        return p.QuoteRequest(
            quote_req_id="rfq-1",
            related_sym=[p.QuoteRequestRelatedSym(symbol=symbol, order_qty=Decimal(10))],
        )

    for auto, listed in ((False, False), (True, True)):
        exchange = Exchange("prediction", auto_list_markets=auto)
        exchange.connect("s1", "acct", "KalshiRT", now=1.0)
        out = exchange.handle("s1", rfq("RFQ-TICKER"), now=2.0)
        texts = [getattr(o.message, "text", None) for o in out]
        assert ("MARKET_NOT_FOUND" in texts) is not listed, texts


class _Process(Gateway):
    """A running ``kalshi-fix mock-gateway`` (test_cli_gateway's), its certificate and workdir."""

    def __init__(self, *args: str) -> None:
        super().__init__(*args)
        certificate = next(
            line.split(": ", 1)[1] for line in self.banner if line.startswith("TLS certificate")
        )
        self.certificate = Path(certificate)
        self.workdir = self.certificate.parent

    def client(self) -> FixClient:
        key_id, signer, _ = mock_api_key("prediction")
        return FixClient(
            Credentials(key_id, signer),
            endpoints={
                name: Endpoint("127.0.0.1", int(port), server_hostname="localhost")
                for name, port in self.ports.items()
            },
            ssl_context=make_ssl_context(pinned_cert=str(self.certificate)),
            backoff=Backoff(base=0.05, cap=0.1, attempts=3, seed=1),
        )


@pytest.fixture
def auto_listing() -> Iterator[_Process]:
    gw = _Process("--auto-list")
    try:
        yield gw
    finally:
        assert "Traceback" not in gw.stop()


def test_cli_auto_list_flag(auto_listing: _Process) -> None:
    assert "markets: any ticker an order or RFQ names is listed (--auto-list)" in (
        auto_listing.banner
    )
    client = auto_listing.client()
    orders = Requests(client.PRODUCT, "KalshiNR")
    with client.order_entry() as oe:
        acked = oe.place(orders.new_order("NEW-TICKER", "buy", 1, Decimal("0.25")), timeout=10)
        assert acked.status is OrderStatus.NEW


def test_cli_without_auto_list_says_unlisted_tickers_are_rejected() -> None:
    gw = _Process("--market", "MKT")
    try:
        assert any(
            line.startswith(
                "markets: MKT; an order for an unlisted ticker is rejected "
                "MARKET_NOT_FOUND, as Kalshi does"
            )
            for line in gw.banner
        ), gw.banner
        client = gw.client()
        orders = Requests(client.PRODUCT, "KalshiNR")
        with client.order_entry() as oe:
            with pytest.raises(OrderRejected, match="MARKET_NOT_FOUND"):
                oe.place(orders.new_order("OTHER", "buy", 1, Decimal("0.25")), timeout=10)
    finally:
        assert "Traceback" not in gw.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_gateway_and_removes_its_temporary_files(signum: int) -> None:
    gw = _Process()
    try:
        key_file = next(
            Path(m.group(1))
            for line in gw.banner
            if (m := re.search(r"private key (\S+) \(a well-known mock key, removed when", line))
        )
        assert key_file.parent == gw.workdir and key_file.exists() and gw.certificate.exists()
        gw.proc.send_signal(signum)
        assert gw.proc.wait(20) == 0
        assert not gw.workdir.exists(), sorted(gw.workdir.iterdir())
    finally:
        assert "Traceback" not in gw.stop()


def test_seed_market_adds_by_default_and_replaces_the_house_levels_when_asked() -> None:
    """Seeding again added levels (the old best bid stayed best) without saying so: adding
    stays the default of `seed_market`, ``replace=True`` moves the book (the house's orders
    cancelled, the clients' kept); the console's ``seed`` replaces."""
    signer, public_key = new_ed25519_keys()
    d = Decimal
    with MockGateway("prediction", keys={"k": public_key}, tls=True) as gateway:
        top = lambda: gateway.call(lambda: gateway.exchange.top_of_book("MKT"))  # noqa: E731
        gateway.seed_market("MKT", bids=[(d("0.40"), d(10))], asks=[(d("0.60"), d(10))])
        gateway.seed_market("MKT", bids=[(d("0.30"), d(5))], asks=[(d("0.70"), d(5))])
        assert top() == ((d("0.40"), d(10)), (d("0.60"), d(10)))  # added: the old levels stay
        client = gateway.client("k", signer)
        with client.order_entry() as oe:
            mine = oe.place(
                Requests("prediction", "KalshiNR").new_order("MKT", "buy", 2, d("0.35"))
            )
            assert mine.status is OrderStatus.NEW
            gateway.seed_market(
                "MKT", bids=[(d("0.20"), d(7))], asks=[(d("0.50"), d(8))], replace=True
            )
            assert top() == ((d("0.35"), d(2)), (d("0.50"), d(8)))  # the client's bid stays
            house = gateway.call(lambda: gateway.exchange.open_orders("house"))
            assert sorted((o.price, o.leaves_qty) for o in house) == [
                (d("0.20"), d(7)),
                (d("0.50"), d(8)),
            ]
            oe.cancel(mine)


def _groups_exchange(**options: Any) -> Exchange:
    from engine_helpers import SYM, T0

    ex = Exchange(seed=1, **options)
    ex.seed_market(SYM, now=T0)
    ex.connect("a", "alice", "KalshiNR", now=T0)
    ex.connect("b", "bob", "KalshiNR", now=T0)
    return ex


def _create(ex: Exchange, session: str) -> Any:
    from engine_helpers import T0, group_req, one

    return one(ex.handle(session, group_req(1, limit=5), T0)).message


def test_order_groups_past_the_per_user_limit_are_refused_as_kalshi_refuses() -> None:
    """Kalshi allows 25,000 order groups per user; a Create past it is a business reject
    (35=j, as every order-group business error), the limit named; it is per user (bob still
    creates); a Delete frees a place. A small limit here, through the gateway's parameter."""
    from engine_helpers import T0, group_req

    with pytest.raises(ValueError, match="max_order_groups"):
        MockGateway("prediction", keys={}, max_order_groups=0)
    gateway = MockGateway("prediction", keys={}, max_order_groups=2)
    ex = gateway.exchange
    ex.seed_market("MKT", now=T0)
    ex.connect("a", "alice", "KalshiNR", now=T0)
    ex.connect("b", "bob", "KalshiNR", now=T0)
    first, _second = (_create(ex, "a") for _ in range(2))
    refused = _create(ex, "a")
    assert isinstance(refused, p.BusinessMessageReject), refused
    assert (refused.ref_msg_type, refused.business_reject_reason) == ("UOG", 0)
    assert refused.text == (
        "ORDER_GROUP_LIMIT_EXCEEDED: at most 2 order groups per user; delete one "
        "(OrderGroupAction 3) first"
    )
    assert isinstance(_create(ex, "b"), p.OrderGroupResponse)  # another user's own count
    ex.handle("a", group_req(3, first.order_group_id), T0 + 1)  # delete frees a place
    assert isinstance(_create(ex, "a"), p.OrderGroupResponse)
    assert isinstance(_create(ex, "a"), p.BusinessMessageReject)


def test_the_default_order_group_limit_is_kalshis_25000() -> None:
    from kalshi_fix_sansio.simulator.gateway.exchange import MAX_ORDER_GROUPS

    assert MAX_ORDER_GROUPS == 25_000
    ex = _groups_exchange()  # the default
    for _ in range(MAX_ORDER_GROUPS):
        assert isinstance(_create(ex, "a"), p.OrderGroupResponse)
    refused = _create(ex, "a")
    assert isinstance(refused, p.BusinessMessageReject)
    assert "at most 25000 order groups per user" in str(refused.text)
