"""The desk's REST pages, in memory: queue positions, the exchange's status and its schedule.

The mock's pages are Kalshi's published shape (tests/kalshi_rest_openapi.yaml) and say what
its matching engine and console know; a `DeskWatch` on a `Driver` (fake clock) reads them
through the pure `RestApp` and changes what the session does: the tracker's queue ahead and
its metric, the gate's refusal while the exchange pauses trading, the maintenance windows the
reconnection waits out. The same over TLS and from the shell: test_desk_rest_tls.py.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from openapi_check import page_errors
from test_driver import PUBLIC, SIGNER, T0, Harness, of, rested
from test_reconcile import answer

from kalshi_fix_sansio.client import Backoff, in_maintenance_window
from kalshi_fix_sansio.client.desk_watch import (
    DeskWatch,
    ExchangePaused,
    ExchangePausedError,
    ExchangeResumed,
    QueuePositionsRead,
    ScheduleRead,
)
from kalshi_fix_sansio.codec.errors import LocalProtocolError, RemoteProtocolError
from kalshi_fix_sansio.rest import RestPort
from kalshi_fix_sansio.rest.desk import (
    DeskFetch,
    desk_path,
    parse_exchange_schedule,
    parse_exchange_status,
    parse_queue_positions,
)
from kalshi_fix_sansio.rest.pages import RestProblem, RestRequest, rest_headers
from kalshi_fix_sansio.rest.reconcile import RestOptions
from kalshi_fix_sansio.simulator.gateway.rest import RestApp
from kalshi_fix_sansio.trading.builders import Requests

REST = RestOptions(base_url="https://127.0.0.1:1", round_retry=None, automatic=False)


def desk(product: str = "prediction", **options: Any) -> tuple[Harness, RestApp]:
    """key-1 logged on with a buy of 10 resting behind key-2's buy of 5 at the same price."""
    h = Harness(product, rest=REST, **options)
    h.start()
    h.exchange.connect("bidder", "key-2", "KalshiNR", now=h.now)
    h.route(h.exchange.handle("bidder", h.order("k2-bid", "buy", 5), h.now))
    h.place("o-1", "buy", 10)
    h.read()
    return h, RestApp(h.exchange, {"key-1": PUBLIC, "key-2": PUBLIC})


def sell(h: Harness, qty: int) -> None:
    """key-3 sells ``qty`` at the bid: the queue there trades, first come first filled."""
    h.exchange.disconnect("seller", h.now)  # (none the first time)
    h.exchange.connect("seller", "key-3", "KalshiNR", now=h.now)
    h.route(h.exchange.handle("seller", h.order(f"k3-{h.now}-{qty}", "sell", qty), h.now))
    h.pump()


def get(h: Harness, app: RestApp, path: str, *, signed: bool = True) -> tuple[int, Any]:
    headers = rest_headers("key-1", SIGNER, "GET", path, h.now) if signed else {}
    status, _, body = app.handle("GET", path, headers, h.now)
    return status, json.loads(body)


def run(port: RestPort, app: RestApp, h: Harness, *, limit: int = 20) -> list[Any]:
    """What a companion does, on the fake clock: answer what is due; stop when nothing is."""
    events: list[Any] = []
    for _ in range(limit):
        todo = port.next(h.now)
        if not isinstance(todo, RestRequest):
            break
        events += port.answer(answer(app, todo, h.now), h.now)
    return events


# -- the mock's pages --------------------------------------------------------------------------


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_the_mock_desk_pages_are_kalshis_published_shape(product: str) -> None:
    h, app = desk(product)
    pages = ["exchange_status"]
    if product == "prediction":
        pages += ["queue_positions", "exchange_schedule"]
    h.exchange.pause(h.now)  # a pause and a maintenance window say so on the pages
    app.faults.maintenance_windows.append((h.now + 60, h.now + 3660))
    for page in pages:
        status, body = get(h, app, desk_path(product, page))
        assert status == 200 and page_errors(product, page, body) == [], (page, body)
    status, body = get(h, app, desk_path(product, "exchange_status"), signed=False)  # public
    assert status == 200 and body["trading_active"] is False and body["exchange_active"] is True
    if product == "prediction":
        (position,) = get(h, app, desk_path(product, "queue_positions"))[1]["queue_positions"]
        one = desk_path(product, "queue_position", position["order_id"])
        status, body = get(h, app, one)
        assert status == 200 and page_errors(product, "queue_position", body) == []
        assert body == {"queue_position_fp": "5.00"}
        schedule = get(h, app, desk_path(product, "exchange_schedule"))[1]["schedule"]
        assert [parse_exchange_schedule({"schedule": schedule}).windows[0].start] == [h.now + 60]


def test_queue_positions_are_the_contracts_ahead_in_price_time_priority() -> None:
    h, app = desk()
    path = desk_path("prediction", "queue_positions")
    (before,) = parse_queue_positions(get(h, app, path)[1])
    assert (before.market, before.ahead) == (h.symbol, Decimal(5))
    sell(h, 3)  # fills 3 of key-2's bid, first in the queue
    (after,) = parse_queue_positions(get(h, app, path)[1])
    assert after.ahead == Decimal(2) and after.order_id == before.order_id
    assert get(h, app, path + "?market_tickers=OTHER-MKT")[1] == {"queue_positions": []}
    h.driver.send(Requests("prediction", "KalshiNR").cancel(h.tracked("o-1")), h.now)
    h.pump()
    assert get(h, app, path)[1] == {"queue_positions": []}
    status, _ = get(h, app, desk_path("prediction", "queue_position", before.order_id))
    assert status == 404  # an order not resting has no place in a queue


def test_the_queue_pages_want_a_key_and_a_forbidden_page_is_403() -> None:
    h, app = desk()
    path = desk_path("prediction", "queue_positions")
    assert get(h, app, path, signed=False)[0] == 401
    app.faults.rest_forbidden = frozenset({"queue_positions"})
    status, body = get(h, app, path)
    assert status == 403 and "may not read queue_positions" in body["error"]


# -- the parsers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "page", "words"),
    [
        (parse_queue_positions, {"queue_positions": {}}, "queue_positions is not a list"),
        (parse_queue_positions, {"queue_positions": [{"order_id": "a"}]}, "market_ticker"),
        (
            parse_queue_positions,
            {
                "queue_positions": [
                    {"order_id": "a", "market_ticker": "M", "queue_position_fp": "-1"}
                ]
            },
            "queue_position_fp is not a contract count >= 0",
        ),
        (parse_exchange_status, {"exchange_active": "yes"}, "exchange_active is not true or"),
        (
            parse_exchange_status,
            {"exchange_active": True, "trading_active": False, "exchange_estimated_resume_time": 5},
            "exchange_estimated_resume_time is not an RFC 3339",
        ),
        (
            parse_exchange_schedule,
            {
                "schedule": {
                    "maintenance_windows": [
                        {
                            "start_datetime": "2026-01-01T05:00:00Z",
                            "end_datetime": "2026-01-01T04:00:00Z",
                        }
                    ]
                }
            },
            "a window ends before it starts",
        ),
    ],
)
def test_pages_not_in_kalshis_shape_are_refused_naming_the_field(
    parse: Any, page: object, words: str
) -> None:
    with pytest.raises(RemoteProtocolError, match=words):
        parse(page)
    assert parse_queue_positions({"queue_positions": None}) == ()  # null: none


# -- what a session does with them -------------------------------------------------------------


def test_a_desk_watch_shows_each_resting_orders_queue_ahead_and_its_metric() -> None:
    h, app = desk()
    watch = DeskWatch(h.driver, queue_every=5.0)
    port = RestPort(watch)
    run(port, app, h)
    assert h.driver.tracker.queue_ahead("o-1") == Decimal(5)
    assert h.driver.metrics.snapshot().queue_ahead == 5.0
    (read,) = of(h.read(), QueuePositionsRead)
    assert [p.ahead for p in read.positions] == [Decimal(5)] and read.at == h.now
    assert watch.wake_at == h.now + 5.0 and port.next(h.now) == 1.0  # sleeps, a second at most
    sell(h, 4)
    h.advance(5.0)
    run(port, app, h)
    assert h.driver.tracker.queue_ahead("o-1") == Decimal(1)
    h.driver.send(Requests("prediction", "KalshiNR").cancel(h.tracked("o-1")), h.now)
    h.pump()
    assert h.driver.tracker.queue_ahead("o-1") is None  # no longer resting
    watch.stop()
    assert port.next(h.now) is None


def test_trading_paused_by_the_exchange_is_an_event_and_orders_are_refused_before_the_wire() -> (
    None
):
    h, app = desk()
    watch = DeskWatch(h.driver, status_every=30.0)
    port = RestPort(watch)
    run(port, app, h)
    assert not of(h.read(), ExchangePaused)
    h.exchange.pause(h.now)  # the console's pause
    h.advance(30.0)
    run(port, app, h)
    (paused,) = of(h.read(), ExchangePaused)
    assert paused.status.trading_active is False
    sent = len(h.sent)
    with pytest.raises(ExchangePausedError, match=r"35=D refused: trading is paused by the exc"):
        h.place("o-2", "buy", 1)
    assert len(h.sent) == sent and h.driver.tracker.order("o-2") is None  # nothing went
    h.driver.send(Requests("prediction", "KalshiNR").cancel(h.tracked("o-1")), h.now)  # goes
    h.pump()
    assert b"\x0135=F\x01" in h.sent[-1] or any(b"\x0135=F\x01" in f for f in h.sent[sent:])
    h.exchange.resume(h.now)
    h.advance(30.0)
    run(port, app, h)
    assert of(h.read(), ExchangeResumed)
    h.place("o-3", "buy", 1)
    assert h.tracked("o-3").acknowledged


def test_kalshis_schedule_replaces_the_fixed_thursday_window() -> None:
    h, app = desk(backoff=Backoff(base=1.0, cap=4.0, attempts=5, seed=1))
    thursday = T0 + 8 * 3600 + 7 * 86400  # 2026-01-08 03:00 ET: in the fixed window
    maintenance = h.driver.supervisor.backoff.maintenance
    assert maintenance.contains(thursday) and in_maintenance_window(thursday)
    app.faults.maintenance_windows.append((T0 + 3600, T0 + 5400))
    watch = DeskWatch(h.driver)
    watch.refresh("exchange_schedule")
    run(RestPort(watch), app, h)
    (read,) = of(h.read(), ScheduleRead)
    assert [(w.start, w.end) for w in read.schedule.windows] == [(T0 + 3600, T0 + 5400)]
    maintenance = h.driver.supervisor.backoff.maintenance
    assert maintenance.contains(T0 + 3600) and not maintenance.contains(thursday)
    assert maintenance.seconds_until_end(T0 + 4000) == 1400.0
    assert not watch.active  # read on request only: nothing more to do


def test_a_forbidden_page_is_one_clear_problem_and_nothing_changes() -> None:
    h, app = desk()
    app.faults.rest_forbidden = frozenset({"queue_positions"})
    watch = DeskWatch(h.driver)
    watch.refresh("queue_positions")
    events = run(RestPort(watch), app, h)
    (problem,) = of(events, RestProblem)
    assert problem.status == 403
    assert (
        problem.reason
        == "queue_positions: 403 forbidden: the API key lacks the permission to read it"
    )
    assert h.driver.tracker.queue_ahead("o-1") is None and of(h.read(), RestProblem)


def test_without_rest_the_desk_pages_are_refused_with_one_line() -> None:
    h, _ = rested()
    with pytest.raises(
        LocalProtocolError, match=r"REST is off for this session: make it with rest="
    ):
        DeskWatch(h.driver)
    m, _ = desk("margin")
    with pytest.raises(LocalProtocolError, match="queue positions are prediction's only"):
        DeskWatch(m.driver, queue_every=1.0)
    with pytest.raises(LocalProtocolError, match="status_every must be a number > 0"):
        DeskWatch(m.driver, status_every=0)


def test_a_desk_fetch_reads_the_pages_once() -> None:
    h, app = desk()
    h.exchange.pause(h.now, exchange=True)
    fetch = DeskFetch(
        "prediction",
        ["queue_positions", "exchange_status", "exchange_schedule"],
        credentials=h.driver.reconciliation.credentials,  # type: ignore[union-attr]
        base_url="https://127.0.0.1:1",
    )
    port = RestPort(fetch)
    while isinstance(todo := port.next(h.now), RestRequest):
        port.answer(answer(app, todo, h.now), h.now)
    assert fetch.missing == [] and fetch.status is not None and fetch.schedule is not None
    assert fetch.status.reason == "the exchange is inactive (Kalshi's exchange status)"
    assert [p.ahead for p in fetch.positions] == [Decimal(5)]
    with pytest.raises(LocalProtocolError, match="read with an API key: give credentials"):
        DeskFetch("prediction", ["queue_positions"])
