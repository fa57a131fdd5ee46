"""The REST protocol core (sans-IO): hosts and paths per environment and product, Kalshi's
signature, options checked, and the pager's bounds."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_driver import PUBLIC, SIGNER

from kalshi_fix_sansio.adapters import Credentials
from kalshi_fix_sansio.auth import verify_signature_b64
from kalshi_fix_sansio.errors import LocalProtocolError
from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.reconcile import Reconciliation, RestOptions
from kalshi_fix_sansio.rest import (
    Pager,
    RestProblem,
    RestResponse,
    rest_base_url,
    rest_headers,
    rest_path,
    rest_signature_payload,
)
from kalshi_fix_sansio.tracker import OrderTracker

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
        ]
    ),
)
PAGE = st.fixed_dictionaries(
    {
        "fills": st.lists(RECORD, max_size=4),
        "orders": st.lists(RECORD, max_size=4),
        "market_positions": st.lists(RECORD, max_size=3),
    },
    optional={"cursor": st.none() | st.just("") | st.text(max_size=5) | st.integers()},
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
