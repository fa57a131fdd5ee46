"""REST reconciliation, in memory: a `Driver` (fake clock) against the mock exchange, whose REST
pages the mock gateway's pure `RestApp` answers (signed requests checked as the Logon is).

An account not allowlisted for drop-copy replay ends with the tracker equal to the exchange
after a reconnect and after a restart; a fill that arrives by FIX, by replay and by REST, in
any order, counts once; malformed, wrongly paginated and rate-limited answers give clear
events and change nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from test_driver import PUBLIC, THREE_HOURS, Harness, exec_ids, of, rested

from kalshi_fix_sansio.rest.pages import RestRequest, RestResponse, rest_headers, rest_path
from kalshi_fix_sansio.rest.reconcile import (
    Reconciled,
    ReconciledFill,
    ReconcileFailed,
    ReconcileStarted,
    RestOptions,
    RestProblem,
    RestRateLimited,
)
from kalshi_fix_sansio.simulator.gateway.rest import RestApp
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.catchup import CatchUpComplete, CatchUpFailed, OrdersUnknown
from kalshi_fix_sansio.trading.tracker import OrderStatus

# a failed round ends here (its retries: test_reconcile_retry.py)
REST = RestOptions(base_url="https://127.0.0.1:1", round_retry=None)


def answer(app: RestApp, request: RestRequest, now: float) -> RestResponse:
    target = request.url.removeprefix(request.base_url)
    status, headers, body = app.handle(request.method, target, request.headers, now)
    return RestResponse(status, body, headers)


def serve(h: Harness, app: RestApp, *, limit: int = 20) -> list[Any]:
    """Answer the driver's REST requests until its round ends (a 429's wait on the fake
    clock); every event read."""
    for _ in range(limit):
        if not h.driver.rest_active:
            break
        request = h.driver.rest_request(h.now)
        if request is None:
            wake = h.driver.rest_wake_at
            assert wake is not None
            h.advance_to(wake)
            continue
        h.driver.rest_response(answer(app, request, h.now), h.now)
    assert not h.driver.rest_active
    return h.read()


def not_allowlisted(product: str = "prediction") -> tuple[Harness, RestApp]:
    h, _ack = rested(product, allowlist=["key-2"], rest=REST)
    return h, RestApp(h.exchange, {"key-1": PUBLIC, "key-2": PUBLIC})


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_not_allowlisted_reconnect_ends_equal_to_the_exchange(product: str) -> None:
    h, app = not_allowlisted(product)
    h.drop()
    h.other_trades("sell", [3, 2, 2])  # 7 filled while disconnected
    h.reconnect()
    events = h.read()
    failed = of(events, CatchUpFailed)[0]
    assert failed.code == 5 and not failed.retried
    (started,) = of(events, ReconcileStarted)
    assert started.reason.startswith("catch-up failed: Kalshi refused the replay")
    assert h.tracked("o-1").cum_qty == 0
    events = serve(h, app)
    fills = of(events, ReconciledFill)
    assert [(f.qty, f.source, f.new) for f in fills] == [
        (Decimal(3), "rest", True),
        (Decimal(2), "rest", True),
        (Decimal(2), "rest", True),
    ]
    (done,) = of(events, Reconciled)
    assert (done.added, done.added_qty, done.problems) == (3, Decimal(7), 0)
    order = h.tracked("o-1")
    assert (order.cum_qty, order.leaves_qty) == (Decimal(7), Decimal(3))
    assert h.driver.tracker.position(h.symbol).net == 7 == h.exchange.position(h.symbol, "key-1")
    # the same round again adds nothing: each fill counted once
    h.driver.reconcile(h.now)
    again = serve(h, app)
    assert of(again, Reconciled)[0].added == 0
    assert {f.source for f in of(again, ReconciledFill)} == {"rest"}
    assert h.driver.tracker.position(h.symbol).net == 7


def test_a_fill_by_fix_replay_and_rest_in_any_order_counts_once() -> None:
    for order in (("fix", "rest", "replay"), ("rest", "replay", "fix"), ("replay", "fix", "rest")):
        h, app = not_allowlisted()
        h.other_trades("sell", [4])  # a live fill: FIX has it
        live = [m for m in h.read()]
        reports = [e.message for e in live if getattr(e, "message", None) is not None]
        fill_report = [m for m in reports if m.MSG_TYPE == "8" and m.last_qty][-1]
        tracker = h.driver.tracker
        for source in order:
            if source == "fix" or source == "replay":
                tracker.on_message(fill_report)  # a drop-copy replay resends the same report
            else:
                h.driver.reconcile(h.now)
                serve(h, app)
        assert h.tracked("o-1").cum_qty == 4, order
        assert tracker.position(h.symbol).net == 4, order
        assert len(h.tracked("o-1").fills) == 1, order


def test_a_fill_rest_counted_first_is_not_counted_again_by_a_replay() -> None:
    h, app = not_allowlisted()
    h.drop()
    h.other_trades("sell", [3])
    h.reconnect()
    serve(h, app)
    assert h.tracked("o-1").cum_qty == 3
    h.exchange.replay_allowlist = None  # the account is allowlisted now
    h.drop()
    h.reconnect()  # replays from the acknowledgement: the same fill, under its FIX ExecID
    events = h.read()
    assert of(events, CatchUpComplete) and not of(events, ReconcileStarted)
    fills = [e for e in events if getattr(getattr(e, "message", None), "last_qty", None)]
    assert len(fills) == 1  # the replayed report of the fill REST counted
    order = h.tracked("o-1")
    assert order.cum_qty == 3 and len(order.fills) == 1
    assert order.fills[0].exec_id.startswith("rest:")
    assert h.driver.tracker.position(h.symbol).net == 3


def test_restart_older_than_the_replay_window_reconciles_from_rest() -> None:
    first, _ack = rested()  # allowlisted, but the restart comes too late for a replay
    app = RestApp(first.exchange, {"key-1": PUBLIC, "key-2": PUBLIC})
    assert first.driver.catch_up is not None
    cursor = first.driver.catch_up.cursor
    first.drop("the process exited")
    first.other_trades("sell", [3, 4])  # 7 filled while no process runs
    later = first.now + THREE_HOURS + 60
    # the new process: its tracker and cursor restored (as `restore` does from its message log)
    h = Harness(
        exchange=first.exchange, tracker=first.driver.tracker, cursor=cursor, now=later, rest=REST
    )
    h.start()
    events = h.read()
    failed = of(events, CatchUpFailed)[0]
    assert failed.code == 3 and not failed.retried
    assert of(events, ReconcileStarted)
    events = serve(h, app)
    assert of(events, Reconciled)[0].added_qty == 7
    assert h.tracked("o-1").cum_qty == 7
    assert h.driver.tracker.position(h.symbol).net == 7 == h.exchange.position(h.symbol, "key-1")


def test_a_5xx_is_asked_again_after_the_delay() -> None:
    h, app = not_allowlisted()
    h.drop()
    h.other_trades("sell", [5])
    h.reconnect()
    h.read()
    app.faults.rest_error_next = 1
    start = h.now
    events = serve(h, app)
    assert not of(events, RestProblem) and of(events, Reconciled)[0].added_qty == 5
    assert h.now >= start + 0.5  # retry_delay, on the fake clock


def test_unreachable_then_answered() -> None:
    h, app = not_allowlisted()
    h.driver.reconcile(h.now)
    request = h.driver.rest_request(h.now)
    assert request is not None and h.driver.rest_request(h.now) is None  # one in flight
    h.driver.rest_unreachable("connection refused", h.now)
    assert h.driver.rest_wake_at == h.now + 0.5
    events = serve(h, app)
    assert of(events, Reconciled)


# -- bad REST answers ------------------------------------------------------------------------------


def run_with(h: Harness, app: RestApp, rewrite: Any) -> list[Any]:
    """A round (the one under way, else one asked for) whose answers ``rewrite`` changes."""
    if not h.driver.rest_active:
        h.driver.reconcile(h.now)
    for _ in range(30):
        if not h.driver.rest_active:
            break
        request = h.driver.rest_request(h.now)
        if request is None:
            h.advance_to(h.driver.rest_wake_at or h.now)
            continue
        h.driver.rest_response(rewrite(request, answer(app, request, h.now)), h.now)
    return h.read()


def page(body: object, status: int = 200, **headers: str) -> RestResponse:
    return RestResponse(status, json.dumps(body).encode(), headers)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (RestResponse(200, b"<html>"), "the page is not JSON"),
        (page([1, 2]), "not a JSON object"),
        (page({"fills": "x"}), "has no fills list"),
        (page({"fills": [1]}), "a record is not a JSON object"),
        (page({"fills": [], "cursor": 5}), "the cursor is not a string"),
        (page({"fills": [], "cursor": "again"}), "empty page with a cursor"),
        (RestResponse(401), "401 unauthorized"),
        (RestResponse(404, b"nope"), "HTTP status 404"),
    ],
)
def test_a_bad_page_fails_the_round_and_applies_nothing(bad: RestResponse, words: str) -> None:
    h, app = not_allowlisted()
    h.drop()
    h.other_trades("sell", [3])
    h.reconnect()
    h.read()

    def rewrite(request: RestRequest, response: RestResponse) -> RestResponse:
        return bad if request.endpoint == "fills" else response

    events = run_with(h, app, rewrite)
    (problem,) = of(events, RestProblem)
    assert problem.endpoint == "fills" and words in problem.reason
    assert [e.endpoint for e in of(events, ReconcileFailed)] == ["fills"]
    assert not of(events, Reconciled) and h.tracked("o-1").cum_qty == 0


def test_a_cursor_that_loops_is_pagination_gone_wrong() -> None:
    h, app = not_allowlisted()
    seen: list[str] = []

    def rewrite(request: RestRequest, response: RestResponse) -> RestResponse:
        if request.endpoint != "fills":
            return response
        seen.append(dict(request.params).get("cursor", ""))
        return page(
            {"fills": [], "cursor": "c1"} if not seen[:-1] else {"fills": [{}], "cursor": "c1"}
        )

    events = run_with(h, app, rewrite)
    problems = of(events, RestProblem)
    assert problems and problems[0].endpoint == "fills"
    assert of(events, ReconcileFailed)


def test_429_waits_retry_after_then_gives_up_past_the_retries() -> None:
    h, app = not_allowlisted()
    h.drop()
    h.other_trades("sell", [2])
    h.reconnect()
    h.read()
    app.faults.rest_rate_limit_next = 2
    app.faults.rest_retry_after = 3
    start = h.now
    events = serve(h, app)
    limited = of(events, RestRateLimited)
    assert [(e.endpoint, e.retry_in, e.attempt) for e in limited] == [
        ("cutoff", 3.0, 1),  # the round's first page: Kalshi's historical cutoff
        ("cutoff", 3.0, 2),
    ]
    assert h.now >= start + 6 and h.tracked("o-1").cum_qty == 2
    app.faults.rest_rate_limit_next = 10
    h.driver.reconcile(h.now)
    events = serve(h, app)
    (problem,) = of(events, RestProblem)
    assert "rate limited (429) 5 times in a row" in problem.reason and problem.status == 429
    assert of(events, ReconcileFailed)


def test_a_malformed_record_is_named_and_skipped_and_a_contradiction_never_overwrites() -> None:
    h, app = not_allowlisted()
    h.other_trades("sell", [4])  # FIX counted 4
    h.read()

    def rewrite(request: RestRequest, response: RestResponse) -> RestResponse:
        body = json.loads(response.body)
        if request.endpoint == "fills":  # REST lists no fill of the order, and a bad record
            body["fills"] = [{"fill_id": "x", "count": "lots"}]
        if request.endpoint == "orders":  # and says it is unfilled: fewer than FIX said
            body["orders"][0]["fill_count_fp"] = "0.00"
        return page(body)

    events = run_with(h, app, rewrite)
    problems = of(events, RestProblem)
    assert [p.endpoint for p in problems] == ["fills"] and "count is not a number" in problems[
        0
    ].reason
    assert '"fill_id": "x"' in (problems[0].record or "")
    from kalshi_fix_sansio.rest.pages import RestContradiction

    (contradiction,) = [e for e in events if isinstance(e, RestContradiction)]
    assert (
        contradiction.endpoint == "orders" and "the tracker keeps its count" in contradiction.reason
    )
    assert h.tracked("o-1").cum_qty == 4 and h.driver.tracker.position(h.symbol).net == 4


def test_a_transient_catch_up_failure_does_not_reconcile() -> None:
    h, _ack = rested(rest=REST)  # allowlisted: catch-up works, no REST
    h.drop()
    h.other_trades("sell", [1])
    h.reconnect()
    events = h.read()
    assert of(events, CatchUpComplete) and not of(events, ReconcileStarted)
    assert exec_ids(events)


def test_each_fill_names_the_source_that_counted_it() -> None:
    h, _ack = rested(rest=REST)  # allowlisted: a drop-copy replay recovers what was missed
    app = RestApp(h.exchange, {"key-1": PUBLIC, "key-2": PUBLIC})
    h.other_trades("sell", [2])  # live: FIX
    h.drop()
    h.other_trades("sell", [3])  # missed, then replayed
    h.reconnect()
    assert of(h.read(), CatchUpComplete)
    h.exchange.replay_allowlist = ["key-2"]
    h.drop()
    h.other_trades("sell", [4])  # missed, and no replay: REST
    h.reconnect()
    events = serve(h, app)
    fills = of(events, ReconciledFill)
    assert [(f.qty, f.source, f.new) for f in fills] == [
        (Decimal(2), "fix", False),
        (Decimal(3), "replay", False),
        (Decimal(4), "rest", True),
    ]
    assert of(events, Reconciled)[0].sources == {"fix": 1, "replay": 1, "rest": 1}
    assert h.tracked("o-1").cum_qty == 9 == h.driver.tracker.position(h.symbol).net


def test_an_order_cancelled_while_unheard_ends_canceled() -> None:
    h, app = not_allowlisted()
    order = h.tracked("o-1")
    h.withhold = lambda frame: b"\x0135=8\x01" in frame  # the cancel's report is lost
    h.driver.send(Requests("prediction", "KalshiNR").cancel(order), h.now)
    h.pump()
    assert not h.exchange.open_orders("key-1")  # cancelled at the exchange
    h.drop()
    h.withhold = None
    h.reconnect()
    events = serve(h, app)
    assert h.tracked("o-1").status is OrderStatus.CANCELED
    assert of(events, Reconciled)[0].problems == 0


def test_a_restart_with_open_orders_and_no_cursor_reconciles() -> None:
    first, _ack = rested()
    app = RestApp(first.exchange, {"key-1": PUBLIC, "key-2": PUBLIC})
    first.drop("the process exited")
    first.other_trades("sell", [6])
    # the new process kept its orders (a message log) but no ExecID to replay from
    h = Harness(exchange=first.exchange, tracker=first.driver.tracker, now=first.now, rest=REST)
    h.start()
    events = h.read()
    (unknown,) = of(events, OrdersUnknown)
    assert unknown.cl_ord_ids == ("o-1",)
    (started,) = of(events, ReconcileStarted)
    assert started.reason.startswith("orders of unknown state (o-1)")
    serve(h, app)
    assert h.tracked("o-1").cum_qty == 6 == h.driver.tracker.position(h.symbol).net


def renamed(request: RestRequest, response: RestResponse) -> RestResponse:
    """REST's fill ids unlike FIX's TrdMatchID (Kalshi does not promise they match)."""
    body = json.loads(response.body)
    for fill in body.get("fills", []):
        fill["fill_id"] = fill["trade_id"] = "rest-" + fill["trade_id"]
    return page(body)


def test_without_matching_ids_fills_are_matched_by_quantity_either_way() -> None:
    h, app = not_allowlisted()
    h.other_trades("sell", [4])  # FIX counted 4
    h.read()
    h.drop()
    h.other_trades("sell", [3])  # missed
    h.reconnect()
    events = run_with(h, app, renamed)
    fills = of(events, ReconciledFill)
    assert [(f.qty, f.source, f.new) for f in fills] == [
        (Decimal(4), "fix", False),  # the same fill under another id: by quantity
        (Decimal(3), "rest", True),
    ]
    assert h.tracked("o-1").cum_qty == 7 == h.driver.tracker.position(h.symbol).net
    # the missed fill's own FIX report arriving late (a replay) is not counted again
    h.exchange.replay_allowlist = None
    h.drop()
    h.reconnect()
    replayed = [e for e in h.read() if getattr(getattr(e, "message", None), "last_qty", None)]
    assert [e.message.last_qty for e in replayed] == [Decimal(4), Decimal(3)]
    order = h.tracked("o-1")
    assert order.cum_qty == 7 and len(order.fills) == 2
    assert h.driver.tracker.position(h.symbol).net == 7


def test_a_lookback_reads_recent_fills_and_every_resting_order() -> None:
    options = RestOptions(base_url="https://127.0.0.1:1", lookback=600)
    h, _ack = rested(allowlist=["key-2"], rest=options)
    app = RestApp(h.exchange, {"key-1": PUBLIC, "key-2": PUBLIC})
    h.drop()
    h.other_trades("sell", [2])  # missed, and older than the lookback when REST is read
    h.advance(3600)
    h.other_trades("sell", [3])  # missed, recent
    h.reconnect()
    events = serve(h, app)
    (done,) = of(events, Reconciled)
    assert (done.orders, done.fills, done.added_qty) == (1, 1, Decimal(3))  # o-1: resting
    (problem,) = of(events, RestProblem)
    assert "2.00 filled contract(s) are not among the fills read" in problem.reason
    assert h.tracked("o-1").cum_qty == 3  # what could be proven; the rest named, not guessed


def test_a_key_answers_for_its_account() -> None:
    """A key answers for its account (the gateway's ``accounts``): a second key of the trading
    key's account reads its records; a key of another account (the counterparty's) its own."""
    h, _ = not_allowlisted()
    keys = {"key-1": PUBLIC, "key-2": PUBLIC, "key-3": PUBLIC}
    app = RestApp(h.exchange, keys, accounts={"key-3": "key-1"})
    h.drop()
    h.other_trades("sell", [3, 4])
    h.reconnect()
    h.read()
    request = h.driver.rest_request(h.now)
    assert request is not None and request.endpoint == "cutoff"  # the account's first: fills
    h.driver.rest_response(answer(app, request, h.now), h.now)
    request = h.driver.rest_request(h.now)
    assert request is not None and request.endpoint == "fills"
    target = request.url.removeprefix(request.base_url)
    seen = {}
    for key in ("key-1", "key-3", "key-2"):
        # the signature covers the time, the method and the path, not the key id
        status, _, body = app.handle(
            "GET", target, {**request.headers, "KALSHI-ACCESS-KEY": key}, h.now
        )
        assert status == 200, body
        seen[key] = json.loads(body)
    assert seen["key-3"] == seen["key-1"] != seen["key-2"]
    assert next(v for v in seen["key-1"].values() if isinstance(v, list))  # key-1's records


# -- Kalshi's historical cutoff: older fills and finished orders move to /historical/* ----------


def restarted_after_the_cutoff(quantities: list[int]) -> tuple[Harness, RestApp, list[str]]:
    """o-1 (a buy of 10) filled by ``quantities`` while no process ran; a restart 3 h later,
    Kalshi's cutoff after those fills; (harness, app, the endpoints the round asks, filled in
    by `serve_logged`)."""
    first, _ack = rested()
    app = RestApp(first.exchange, {"key-1": PUBLIC, "key-2": PUBLIC})
    assert first.driver.catch_up is not None
    cursor = first.driver.catch_up.cursor
    first.drop("the process exited")
    first.other_trades("sell", quantities)
    later = first.now + THREE_HOURS + 60
    app.historical_cutoff = later - 60
    h = Harness(
        exchange=first.exchange, tracker=first.driver.tracker, cursor=cursor, now=later, rest=REST
    )
    h.start()
    assert of(h.read(), ReconcileStarted)
    return h, app, []


def serve_logged(h: Harness, app: RestApp, asked: list[str]) -> list[Any]:
    def log(request: RestRequest, response: RestResponse) -> RestResponse:
        asked.append(request.endpoint)
        return response

    return run_with(h, app, log)


@pytest.mark.parametrize(("quantities", "moved"), [([3, 4], "fills"), ([3, 7], "fills, order")])
def test_fills_older_than_kalshis_cutoff_are_read_where_they_moved(
    quantities: list[int], moved: str
) -> None:
    h, app, asked = restarted_after_the_cutoff(quantities)
    assert json.loads(answer_of(app, h, "fills"))["fills"] == []  # not on the live page
    events = serve_logged(h, app, asked)
    assert asked[0] == "cutoff" and {"historical_fills", "historical_orders"} <= set(asked)
    (done,) = of(events, Reconciled)
    assert (done.added_qty, done.incomplete) == (sum(quantities), None)
    order = h.tracked("o-1")
    assert order.cum_qty == sum(quantities)
    assert order.status is (
        OrderStatus.FILLED if "order" in moved else OrderStatus.PARTIALLY_FILLED
    )
    assert h.driver.tracker.position(h.symbol).net == h.exchange.position(h.symbol, "key-1")


def answer_of(app: RestApp, h: Harness, endpoint: str) -> bytes:
    path = rest_path("prediction", endpoint)
    headers = rest_headers("key-1", h.driver.config.signer, "GET", path, h.now)
    status, _, body = app.handle("GET", path, headers, h.now)
    assert status == 200
    return body


def test_without_kalshis_cutoff_the_round_says_it_is_incomplete() -> None:
    h, app, _ = restarted_after_the_cutoff([3, 4])

    def no_cutoff(request: RestRequest, response: RestResponse) -> RestResponse:
        return page({"error": "not found"}, 404) if request.endpoint == "cutoff" else response

    events = run_with(h, app, no_cutoff)
    problem, missing = of(events, RestProblem)
    assert problem.endpoint == "cutoff" and problem.status == 404
    assert "the order says 7.00 filled, its fills list 0" in missing.reason
    (done,) = of(events, Reconciled)
    assert done.incomplete is not None and "/historical/fills" in done.incomplete
    assert done.added_qty == 0  # the fills moved out of the live page: said, not silent


def test_a_lookback_after_the_cutoff_reads_no_historical_page() -> None:
    options = RestOptions(base_url="https://127.0.0.1:1", lookback=600)
    h, _ack = rested(allowlist=["key-2"], rest=options)
    app = RestApp(h.exchange, {"key-1": PUBLIC, "key-2": PUBLIC}, historical_cutoff=h.now - 3600)
    h.drop()
    h.other_trades("sell", [2])
    h.reconnect()
    asked: list[str] = []
    events = serve_logged(h, app, asked)
    assert "historical_fills" not in asked and "historical_orders" not in asked
    assert of(events, Reconciled)[0].added_qty == 2


# -- the reader: Kalshi's published shape, the older one, and direction fields that disagree --


def older_shape(product: str) -> Any:
    def rewrite(request: RestRequest, response: RestResponse) -> RestResponse:
        body = json.loads(response.body)
        for record in body.get("fills", []) + body.get("orders", []):
            if product == "prediction":  # before outcome_side / book_side
                record.pop("outcome_side")
                record.pop("book_side")
            else:  # the mock's former margin shape: buy/sell, price_dollars, a status
                record["action"] = record["side"] = {"bid": "buy", "ask": "sell"}[record["side"]]
                record["price_dollars"] = record.pop("price")
        return page(body)

    return rewrite


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_the_reader_takes_the_published_shape_and_the_older_one(product: str) -> None:
    for rewrite in (lambda request, response: response, older_shape(product)):
        h, app = not_allowlisted(product)
        h.drop()
        h.other_trades("sell", [3, 2])
        h.reconnect()
        events = run_with(h, app, rewrite)
        assert not of(events, RestProblem)
        assert of(events, Reconciled)[0].added_qty == 5 == h.tracked("o-1").cum_qty


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_direction_fields_that_disagree_are_a_problem(product: str) -> None:
    h, app = not_allowlisted(product)
    h.drop()
    h.other_trades("sell", [3])
    h.reconnect()

    def flipped(request: RestRequest, response: RestResponse) -> RestResponse:
        body = json.loads(response.body)
        for record in body.get("fills", []):
            record["book_side"] = "ask"  # o-1 is a buy: bid
            if product == "margin":
                record["side"] = "bid"
        return page(body)

    events = run_with(h, app, flipped)
    unreadable, left = of(events, RestProblem)  # the record, then its order left as it is
    assert "the direction fields disagree" in unreadable.reason and "fills list 0" in left.reason
    assert h.tracked("o-1").cum_qty == 0


def changed(endpoint: str, change: dict[str, Any]) -> Any:
    """A rewrite that changes the first record of ``endpoint``'s pages: each key to its value,
    or removed where the value is None."""

    def rewrite(request: RestRequest, response: RestResponse) -> RestResponse:
        if request.endpoint != endpoint:
            return response
        body = json.loads(response.body)
        # prediction's positions page lists them as market_positions
        records = body["market_positions" if "market_positions" in body else endpoint]
        if records:
            for key, value in change.items():
                if value is None:
                    records[0].pop(key, None)
                else:
                    records[0][key] = value
        return page(body)

    return rewrite


def missed_while_down(product: str, quantities: list[int]) -> tuple[Harness, RestApp]:
    """``o-1`` filled by ``quantities`` while the connection was down; reconnected, the
    catch-up refused (not allowlisted): a REST round is under way."""
    h, app = not_allowlisted(product)
    h.drop()
    h.other_trades("sell", quantities)
    h.reconnect()
    h.read()
    return h, app


@pytest.mark.parametrize(
    ("product", "change", "words"),
    [
        ("prediction", {"fill_id": None, "trade_id": None}, "trade_id is missing"),
        ("prediction", {"fill_id": 7}, "fill_id is not a string"),
        (
            "prediction",
            {"fill_id": "f" * 129},
            "fill_id is not printable ASCII of at most 128 characters",
        ),
        (
            "prediction",
            {"order_id": "tab\there"},
            "order_id is not printable ASCII of at most 128 characters",
        ),
        ("prediction", {"count_fp": True}, "count_fp is not a number"),
        ("prediction", {"count_fp": None, "count": 10**16}, "count is out of range"),
        ("prediction", {"count_fp": "1" * 33}, "count_fp is not a number"),
        ("prediction", {"count_fp": "NaN"}, "count_fp is not a number"),
        ("prediction", {"count_fp": "-1.00"}, "count_fp is out of range (0 to 10^9)"),
        ("prediction", {"count_fp": None}, "count is missing"),
        ("prediction", {"count_fp": "0.00"}, "count is 0"),
        ("prediction", {"ticker": None, "market_ticker": None}, "market_ticker is missing"),
        (
            "prediction",
            {"yes_price_dollars": "1.20"},
            "the Yes price is not between 0 and 1 dollar",
        ),
        (
            "prediction",
            {"yes_price_dollars": None, "no_price_dollars": None},
            "yes_price_dollars (or no_price_dollars) is missing",
        ),
        ("prediction", {"outcome_side": "maybe"}, "outcome_side must be 'yes' or 'no'"),
        (
            "prediction",
            {"outcome_side": None, "book_side": None, "side": "up"},
            "outcome_side (or book_side) is missing or side is not 'yes' / 'no' and action not "
            "'buy' / 'sell'",
        ),
        (
            "prediction",
            {"ts": None, "created_time": "yesterday"},
            "created_time is not an ISO 8601 time",
        ),
        ("margin", {"side": "long"}, "side must be 'bid' or 'ask' (or 'buy' / 'sell')"),
        ("margin", {"side": None}, "side must be 'bid' or 'ask' (or 'buy' / 'sell')"),
        ("margin", {"action": "bid"}, "action must be 'bid' or 'ask' (or 'buy' / 'sell')"),
        ("margin", {"price": "0"}, "the price is not above 0 (and at most 10^9)"),
        ("margin", {"price": None}, "price_dollars is missing"),
    ],
)
def test_each_unreadable_fill_field_is_named(
    product: str, change: dict[str, Any], words: str
) -> None:
    h, app = missed_while_down(product, [3])
    events = run_with(h, app, changed("fills", change))
    unreadable = of(events, RestProblem)[0]
    assert unreadable.endpoint == "fills"
    assert unreadable.reason == f"a fill record cannot be read: {words}"
    assert h.tracked("o-1").cum_qty == 0  # the fill it could not read is not counted


def test_a_fill_listed_twice_counts_once() -> None:
    h, app = missed_while_down("prediction", [3])

    def doubled(request: RestRequest, response: RestResponse) -> RestResponse:
        body = json.loads(response.body)
        if request.endpoint == "fills":
            body["fills"] = body["fills"] * 2
        return page(body)

    events = run_with(h, app, doubled)
    (twice,) = of(events, RestProblem)
    assert twice.reason.endswith("is listed twice (pagination overlaps): counted once")
    assert of(events, Reconciled)[0].added_qty == 3 == h.tracked("o-1").cum_qty


@pytest.mark.parametrize(
    "change",
    [
        {"yes_price_dollars": None},  # the No price only: the Yes price is 1 minus it
        {"count_fp": None, "count": 3},  # the integer count of the older pages
        {"ts": None, "created_time": "2026-01-02T03:04:05"},  # no zone: UTC
        {"ts": None, "created_time": None},  # no time at all: the page's order decides
        {"fill_id": None},  # the trade_id names it
    ],
)
def test_fill_records_in_the_older_or_sparser_shapes_are_read(change: dict[str, Any]) -> None:
    h, app = missed_while_down("prediction", [3])
    events = run_with(h, app, changed("fills", change))
    assert not of(events, RestProblem)
    assert of(events, Reconciled)[0].added_qty == 3 == h.tracked("o-1").cum_qty


def test_a_prediction_price_in_cents_is_read_as_dollars() -> None:
    h, app = missed_while_down("prediction", [3])
    listed: list[Decimal] = []

    def in_cents(request: RestRequest, response: RestResponse) -> RestResponse:
        body = json.loads(response.body)
        for record in body.get("fills", []):
            listed.append(Decimal(record.pop("yes_price_dollars")))
            del record["no_price_dollars"]
            record["yes_price"] = int(listed[-1] * 100)
        return page(body)

    events = run_with(h, app, in_cents)
    assert not of(events, RestProblem)
    (fill,) = h.tracked("o-1").fills
    assert listed and fill.price == listed[0] and h.tracked("o-1").cum_qty == 3


@pytest.mark.parametrize(
    ("product", "change", "words"),
    [
        ("prediction", {"status": "open"}, "status is not one of"),
        ("prediction", {"fill_count_fp": "11.00"}, "fill_count is above the order's count"),
        ("prediction", {"ticker": None}, "ticker is missing"),
        (
            "margin",
            {"remaining_count": "many"},
            "no status, and remaining_count is not a count to tell it from",
        ),
        ("margin", {"status": 3}, "status is not one of"),
    ],
)
def test_each_unreadable_order_field_is_named(
    product: str, change: dict[str, Any], words: str
) -> None:
    h, app = missed_while_down(product, [3])
    events = run_with(h, app, changed("orders", change))
    problems = [p for p in of(events, RestProblem) if p.endpoint == "orders"]
    assert problems and problems[0].reason.startswith("an order record cannot be read: ")
    assert words in problems[0].reason


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"position_fp": None, "position": None}, "position is missing"),
        ({"position_fp": "1" + "0" * 10}, "position_fp is out of range"),
        ({"ticker": None, "market_ticker": None}, "market_ticker is missing"),
    ],
)
def test_each_unreadable_position_field_is_named(change: dict[str, Any], words: str) -> None:
    h, app = missed_while_down("prediction", [3])
    events = run_with(h, app, changed("positions", change))
    problems = [p for p in of(events, RestProblem) if p.endpoint == "positions"]
    assert [p.reason for p in problems] == [f"a position record cannot be read: {words}"]


def test_a_background_companion_that_fails_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`Driver.rest_work`, around a companion a pump runs in the background (`spawn`): its
    failure ends the companion, is logged on the session's logger, and is not raised into the
    thread or task; anything else (a cancellation) goes through."""
    h, _app = not_allowlisted()
    with caplog.at_level("ERROR"), h.driver.rest_work():
        raise RuntimeError("the page server went away")
    assert "the REST companion failed" in caplog.text
    assert "the page server went away" in caplog.text
    with pytest.raises(KeyboardInterrupt), h.driver.rest_work():
        raise KeyboardInterrupt
