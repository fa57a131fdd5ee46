"""The REST protocol core (sans-IO): hosts and paths per environment and product, Kalshi's
signature, options checked, and the pager's bounds."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_check import page_errors
from test_driver import PUBLIC, SIGNER, Harness, rested

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest import RestPort
from kalshi_fix_sansio.rest.pages import (
    Pager,
    RestProblem,
    RestRequest,
    RestResponse,
    order_status,
    rest_base_url,
    rest_headers,
    rest_path,
    rest_signature_payload,
)
from kalshi_fix_sansio.rest.reconcile import Reconciliation, RestOptions
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.auth import verify_signature_b64
from kalshi_fix_sansio.session.events import Event
from kalshi_fix_sansio.simulator.gateway.rest import RestApp
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.tracker import OrderTracker

CREDS = Credentials("key-1", SIGNER)


def test_hosts_and_paths_follow_the_environment_and_product() -> None:
    assert rest_base_url("demo") == "https://external-api.demo.kalshi.co"
    assert rest_base_url("production") == "https://external-api.kalshi.com"
    assert rest_path("prediction", "fills") == "/trade-api/v2/portfolio/fills"
    assert rest_path("margin", "orders") == "/trade-api/v2/margin/orders"
    assert rest_path("margin", "limits") == "/trade-api/v2/account/limits/perps"
    with pytest.raises(LocalProtocolError, match="'demo' or 'production'"):
        rest_base_url("prod")
    rec = RestOptions(environment="production").build(OrderTracker(), CREDS, "margin")
    rec.start("asked", 1_767_225_600.0)
    request = rec.next_request(1_767_225_600.0)
    assert request is not None
    assert request.url == "https://external-api.kalshi.com/trade-api/v2/margin/fills?limit=200"
    # prediction first asks Kalshi's historical cutoff (one object: no limit); margin has none
    rec = RestOptions(environment="production").build(OrderTracker(), CREDS, "prediction")
    rec.start("asked", 1_767_225_600.0)
    request = rec.next_request(1_767_225_600.0)
    assert request is not None
    assert request.url == "https://external-api.kalshi.com/trade-api/v2/historical/cutoff"
    assert rest_path("prediction", "historical_fills") == "/trade-api/v2/historical/fills"
    with pytest.raises(LocalProtocolError, match="for margin, got 'cutoff'"):
        rest_path("margin", "cutoff")


def test_the_signature_covers_timestamp_method_and_path_without_the_query() -> None:
    headers = rest_headers("key-1", SIGNER, "GET", "/trade-api/v2/portfolio/fills?limit=5", 1.5)
    assert headers["KALSHI-ACCESS-KEY"] == "key-1"
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == "1500"
    payload = rest_signature_payload("1500", "get", "/trade-api/v2/portfolio/fills")
    assert payload == b"1500GET/trade-api/v2/portfolio/fills"
    assert verify_signature_b64(PUBLIC, payload, headers["KALSHI-ACCESS-SIGNATURE"])


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"base_url": "http://127.0.0.1:1"}, "https://host"),
        ({"page_size": 0}, "page_size must be an int > 0"),
        ({"retry_delay": -1}, "retry_delay must be a number > 0"),
        ({"product": "perps"}, "product must be"),
    ],
)
def test_options_out_of_range_are_refused(options: dict[str, object], words: str) -> None:
    with pytest.raises(LocalProtocolError, match=words):
        Reconciliation(OrderTracker(), CREDS, **options)  # type: ignore[arg-type]


def test_options_need_an_environment_or_a_base_url() -> None:
    with pytest.raises(LocalProtocolError, match="environment"):
        RestOptions().build(OrderTracker(), CREDS, "prediction")


def page(body: object) -> RestResponse:
    return RestResponse(200, json.dumps(body).encode())


def test_a_page_over_the_limit_and_too_many_pages_are_problems() -> None:
    pager = Pager("fills", page_size=1)
    (problem,) = pager.receive(page({"fills": [{}, {}]}), 0.0)
    assert isinstance(problem, RestProblem) and "more than the limit of 1" in problem.reason
    pager = Pager("fills", max_pages=2)
    assert pager.receive(page({"fills": [{}], "cursor": "a"}), 0.0) == []
    assert pager.params() == (("limit", "200"), ("cursor", "a"))
    (problem,) = pager.receive(page({"fills": [{}], "cursor": "b"}), 0.0)
    assert isinstance(problem, RestProblem) and "more than 2 pages" in problem.reason
    pager = Pager("fills")
    (problem,) = pager.receive(page({"fills": [], "cursor": "x" * 2000}), 0.0)
    assert isinstance(problem, RestProblem) and "printable ASCII" in problem.reason


def test_retry_after_is_bounded() -> None:
    pager = Pager("orders")
    (limited,) = pager.receive(RestResponse(429, b"", {"retry-after": "3600"}), 10.0)
    assert pager.wake_at == 70.0  # at most 60 s honoured
    assert limited.retry_in == 60.0  # type: ignore[attr-defined]
    pager.receive(RestResponse(429, b"", {"Retry-After": "nan"}), 100.0)
    assert pager.wake_at == 101.0  # not a number: retry_delay doubling (0.5, 1.0)


# -- the fault contract: whatever REST answers, only events come out --------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=6,
)
FIELDS = st.sampled_from(
    [
        "fill_id",
        "trade_id",
        "order_id",
        "client_order_id",
        "ticker",
        "side",
        "action",
        "count",
        "count_fp",
        "yes_price_dollars",
        "yes_price",
        "no_price_dollars",
        "status",
        "fill_count",
        "fill_count_fp",
        "initial_count_fp",
        "remaining_count",
        "created_time",
        "ts",
        "position",
        "position_fp",
        "price_dollars",
        "price",
        "outcome_side",
        "book_side",
        "last_update_reason",
        "market_ticker",
    ]
)
RECORD = st.dictionaries(
    FIELDS,
    JSON
    | st.sampled_from(
        [
            "yes",
            "no",
            "buy",
            "sell",
            "resting",
            "canceled",
            "executed",
            "0.42",
            "7.00",
            "2026-01-01T00:00:00Z",
            "o-1",
            "bid",
            "ask",
            "Decrease",
            "Trade",
            "0.00",
        ]
    ),
)
PAGE = st.fixed_dictionaries(
    {
        "fills": st.lists(RECORD, max_size=4),
        "orders": st.lists(RECORD, max_size=4),
        "market_positions": st.lists(RECORD, max_size=3),
    },
    optional={
        "cursor": st.none() | st.just("") | st.text(max_size=5) | st.integers(),
        "positions": st.lists(RECORD, max_size=3),
        "trades_created_ts": JSON | st.just("2026-01-01T00:00:00Z"),
        "orders_updated_ts": JSON | st.just("2026-01-01T00:00:00Z"),
    },
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([200, 200, 200, 401, 429, 500, 503, 404]),
            PAGE.map(lambda p: json.dumps(p).encode()) | st.binary(max_size=40),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["prediction", "margin"]),
)
def test_any_answer_gives_events_only(answers: list[tuple[int, bytes]], product: str) -> None:
    tracker = OrderTracker()
    rec = Reconciliation(tracker, CREDS, product=product, environment="demo", max_retries=2)
    rec.start("fuzz", 0.0)
    now = 0.0
    for status, body in answers:
        if not rec.active:
            break
        request = rec.next_request(now)
        if request is None:
            now = rec.wake_at or now
            request = rec.next_request(now)
        assert request is not None
        for event in rec.receive(RestResponse(status, body, {"Retry-After": "1"}), now):
            assert isinstance(event, Event)
    for order in tracker:
        assert order.cum_qty <= max(order.original_qty, order.order_qty)


def test_a_companions_one_step_is_a_request_a_pause_or_the_end() -> None:
    """`RestPort.next`, the step both companions (blocking, async) loop over."""
    rec = Reconciliation(OrderTracker(), CREDS, environment="demo", max_retries=2)
    port = RestPort(rec)
    assert port.next(0.0) is None  # no round under way
    rec.start("test", 0.0)
    request = port.next(0.0)
    assert isinstance(request, RestRequest) and request.method == "GET"
    port.answer(RestResponse(503, b"", {"Retry-After": "3"}), 0.0)  # asked again in 3 s
    assert port.next(0.0) == 1.0  # a second at most, then ask again
    assert port.next(2.5) == 0.5
    assert isinstance(port.next(3.0), RestRequest)


# -- the mock's pages in Kalshi's published shape (tests/kalshi_rest_openapi.yaml) ------------


def traded(product: str) -> tuple[Harness, RestApp]:
    """key-1's history on the mock: o-1 (a buy of 10) filled 3 as maker and resting, o-2 filled
    in full on arrival (never seen open), o-3 cancelled, o-4 (a sell of 4) filled 3 on arrival
    and resting; with the app serving it."""
    h, _ack = rested(product)
    app = RestApp(h.exchange, {"key-1": PUBLIC, "key-2": PUBLIC})
    h.other_trades("sell", [3])
    better = h.price + (Decimal("0.05") if product == "prediction" else Decimal("0.1"))
    h.route(h.exchange.handle("other", h.order("k2-bid", "buy", 5, better), h.now))
    h.pump()
    h.driver.send(h.order("o-2", "sell", 2, better), h.now)
    h.pump()
    h.place("o-3", "buy", 1)
    get(h, app, "orders")  # the mock lists the orders it saw open (a request looks)
    h.driver.send(Requests(product, "KalshiNR").cancel(h.tracked("o-3")), h.now)
    h.pump()
    h.driver.send(h.order("o-4", "sell", 4, better), h.now)  # 3 of k2-bid left
    h.pump()
    h.read()
    return h, app


def get(h: Harness, app: RestApp, endpoint: str, query: str = "") -> Any:
    path = rest_path(h.product, endpoint)
    headers = rest_headers("key-1", SIGNER, "GET", path, h.now)
    status, _, body = app.handle("GET", path + query, headers, h.now)
    assert status == 200, body
    return json.loads(body)


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_the_mock_pages_are_kalshis_published_shape(product: str) -> None:
    h, app = traded(product)
    endpoints = ["orders", "fills", "positions", "limits"]
    if product == "prediction":
        endpoints += ["cutoff", "historical_fills", "historical_orders"]
    pages = {name: get(h, app, name) for name in endpoints}
    for name, body in pages.items():
        assert page_errors(product, name, body) == [], name
    orders = {o["client_order_id"]: o for o in pages["orders"]["orders"]}
    assert set(orders) == {"o-1", "o-2", "o-3", "o-4"}  # o-2 filled on arrival is listed too
    if product == "prediction":
        assert [orders[c]["status"] for c in ("o-1", "o-2", "o-3", "o-4")] == [
            "resting",
            "executed",
            "canceled",
            "resting",
        ]
        assert (orders["o-4"]["fill_count_fp"], orders["o-4"]["remaining_count_fp"]) == (
            "3.00",
            "1.00",
        )
        assert (orders["o-2"]["outcome_side"], orders["o-2"]["book_side"]) == ("no", "ask")
        assert orders["o-2"]["taker_fill_cost_dollars"] == "1.1000"  # 2 No at 1 - 0.45
    else:
        assert [orders[c]["side"] for c in ("o-1", "o-2")] == ["bid", "ask"]
        assert [orders[c]["remaining_count"] for c in ("o-1", "o-2", "o-3", "o-4")] == [
            "7.00",
            "0.00",
            "0.00",
            "1.00",
        ]
        assert [order_status(orders[c]) for c in ("o-1", "o-2", "o-3", "o-4")] == [
            "resting",
            "executed",
            "canceled",
            "resting",
        ]
        (short,) = pages["positions"]["positions"]  # 3 bought at 19.4, 2 + 3 sold at 19.5
        assert (short["position"], short["entry_price"]) == ("-2.00", "19.5000")
        flip, close = pages["fills"]["fills"][:2]  # newest first
        assert (close["side"], close["realized_pnl"]) == ("ask", "0.2000")  # 2 of 3: +0.1 each
        assert (flip["entry_price"], flip["realized_pnl"]) == ("19.4000", "0.1000")  # 1 closed
    # Kalshi moves fills and finished orders older than its cutoff to the historical pages
    if product == "prediction":
        app.historical_cutoff = h.now + 1
        cutoff = get(h, app, "cutoff")
        assert page_errors(product, "cutoff", cutoff) == []
        assert get(h, app, "fills")["fills"] == []
        moved = get(h, app, "historical_fills")
        assert page_errors(product, "historical_fills", moved) == [] and len(moved["fills"]) == 3
        live = [o["client_order_id"] for o in get(h, app, "orders")["orders"]]
        assert sorted(live) == ["o-1", "o-4"]  # resting orders always stay on the live page
        old = get(h, app, "historical_orders")
        assert sorted(o["client_order_id"] for o in old["orders"]) == ["o-2", "o-3"]


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_the_schema_check_finds_what_is_missing_or_wrong(product: str) -> None:
    assert page_errors(product, "fills", {"fills": [{}], "cursor": ""})
    assert page_errors(product, "limits", {"usage_tier": "Basic", "read": {}, "write": {}})
    if product == "margin":  # the mock's former margin shape: buy/sell and price_dollars
        old = {"fill_id": "f", "order_id": "o", "ticker": "T", "side": "buy", "count": "1.00"}
        wrong = page_errors(product, "fills", {"fills": [old], "cursor": ""})
        assert any("'buy' is not one of ['bid', 'ask']" in e for e in wrong)
        assert any("required 'entry_price' is missing" in e for e in wrong)
    else:  # kalshi-sdk 22.4.0 also needs exchange_index
        fill = get(*traded(product), "fills")["fills"][0]
        del fill["exchange_index"]
        assert page_errors(product, "fills", {"fills": [fill], "cursor": ""}) == [
            "$.fills[0]: 'exchange_index' (kalshi-sdk requires it) is missing"
        ]
