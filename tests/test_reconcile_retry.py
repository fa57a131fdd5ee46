"""A REST reconciliation round that failed runs again by itself, with backoff, until one is
applied: the tracker does not stay behind the exchange until the application thinks of calling
``reconcile()``. In memory on the simulated clock (``Simulation(rest=True)``) and on the bare
sans-IO `Reconciliation`."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from test_reconcile import not_allowlisted
from test_simulation_rest import (
    BID,
    KEY_ID,
    SYMBOL,
    client,
    drop_and_fill_while_away,
    is_a,
    new_simulation,
)

from kalshi_fix_sansio import CatchUpFailed, Disconnected, OrderStatus
from kalshi_fix_sansio.client.pump import aserve_rest, serve_rest
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest.pages import RestResponse
from kalshi_fix_sansio.rest.reconcile import (
    Reconciled,
    ReconcileFailed,
    ReconcileStarted,
    Reconciliation,
    RestOptions,
)
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.trading.tracker import OrderTracker

T0 = 1_767_225_600.0
EMPTY = b'{"fills": [], "orders": [], "market_positions": [], "cursor": ""}'
CUTOFF = (
    b'{"trades_created_ts": "2025-06-01T00:00:00Z", "orders_updated_ts": "2025-06-01T00:00:00Z"}'
)
"""Kalshi's historical cutoff (a prediction round's first page)."""


def test_a_failed_round_is_retried_until_the_tracker_equals_the_exchange() -> None:
    sim = new_simulation(rest=True, rest_latency=0.1)
    options = RestOptions(environment="demo", max_retries=1, retry_delay=0.1, round_retry=5.0)
    with client(sim, "blocking").order_entry(rest=options) as oe:
        oe.place(BID)
        drop_and_fill_while_away(sim)
        oe.wait_for(is_a(Disconnected), timeout=10)
        sim.gateway.seed_market(SYMBOL, asks=[(Decimal("0.41"), Decimal(7))])  # filled away
        sim.gateway.faults.rest_error_next = 4  # REST is down: two passes of two 503s each
        sim.gateway.faults.refuse_keys = frozenset()
        oe.wait_for(is_a(CatchUpFailed), timeout=30)
        oe.wait_for(is_a(ReconcileStarted), timeout=10)
        first = oe.wait_for(is_a(ReconcileFailed), timeout=30)
        first_at = sim.clock.elapsed
        assert oe.tracker.order("bid-1").cum_qty == 0  # behind the exchange (7) meanwhile
        second = oe.wait_for(is_a(ReconcileFailed), timeout=30)
        second_at = sim.clock.elapsed
        done = oe.wait_for(is_a(Reconciled), timeout=60)
        done_at = sim.clock.elapsed
        order = oe.tracker.order("bid-1")
        position = oe.tracker.position(SYMBOL).net
    assert (first.retry_in, first.attempt) == (5.0, 1)
    assert (second.retry_in, second.attempt) == (10.0, 2)  # the delay doubles
    assert 5.0 <= second_at - first_at < 6.0  # two requests' latencies and their retry delay
    assert 10.0 <= done_at - second_at < 11.0
    assert done.added_qty == 7
    assert order is not None and (order.status, order.cum_qty, position) == (
        OrderStatus.PARTIALLY_FILLED,
        7,
        7,
    )
    assert sim.gateway.exchange.position(SYMBOL, KEY_ID) == position  # equals the exchange


def reconciliation(**options: Any) -> Reconciliation:
    signer, _ = new_ed25519_keys()
    return Reconciliation(
        OrderTracker(), Credentials("key", signer), positions=False, max_retries=1, **options
    )


def fail_a_pass(rec: Reconciliation, now: float) -> list[object]:
    """Two 503s: the page's retries run out, the pass fails."""
    events: list[object] = []
    for _ in range(2):
        request = rec.next_request(now if rec.wake_at is None else rec.wake_at)
        assert request is not None
        events += rec.receive(RestResponse(503), now)
    return events


def test_the_retry_waits_doubles_up_to_its_cap_and_reconcile_runs_it_at_once() -> None:
    rec = reconciliation(round_retry=2.0, round_retry_cap=5.0)
    rec.start("asked for", T0)
    delays = []
    for attempt in (1, 2, 3):
        failed = [e for e in fail_a_pass(rec, T0) if isinstance(e, ReconcileFailed)]
        assert len(failed) == 1 and failed[0].attempt == attempt
        delays.append(failed[0].retry_in)
        retry_in = failed[0].retry_in
        assert retry_in is not None and rec.active and rec.retrying_at == T0 + retry_in
        assert rec.next_request(T0 + retry_in - 0.01) is None  # not before its time
    assert delays == [2.0, 4.0, 5.0]  # doubling, then the cap
    assert rec.start("asked again", T0 + 1) == [ReconcileStarted("asked again")]  # now
    assert rec.retrying_at is None
    asked, events = [], []
    while (request := rec.next_request(T0 + 1)) is not None:  # the whole round, from its start
        asked.append(request.endpoint)
        body = CUTOFF if request.endpoint == "cutoff" else EMPTY
        events += rec.receive(RestResponse(200, body), T0 + 1)
    assert asked == ["cutoff", "fills", "orders", "historical_fills", "historical_orders"]
    assert isinstance(events[-1], Reconciled) and not rec.active and rec.failures == 0


def test_without_round_retry_a_failed_round_ends_and_a_closed_session_stops_retrying() -> None:
    rec = reconciliation(round_retry=None)
    rec.start("asked for", T0)
    failed = [e for e in fail_a_pass(rec, T0) if isinstance(e, ReconcileFailed)]
    assert failed == [ReconcileFailed("asked for", "cutoff", None, 1)]  # the first page
    assert not rec.active and rec.wake_at is None
    retrying = reconciliation(round_retry=5.0)
    retrying.start("asked for", T0)
    fail_a_pass(retrying, T0)
    assert retrying.active
    retrying.stop()  # what a REST companion does once the session ended
    assert not retrying.active and retrying.next_request(T0 + 1000) is None
    with pytest.raises(LocalProtocolError, match="round_retry must be"):
        reconciliation(round_retry=0)


def test_the_clients_background_rounds_run_the_companion_under_rest_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`serve_rest` (a blocking session's thread) and `aserve_rest` (an asyncio or trio
    session's task) run the companion's round on the driver, its failure logged by
    `Driver.rest_work`, not raised."""
    h, _app = not_allowlisted()
    ran: list[object] = []

    class Failing:
        def run(self, target: object) -> None:
            ran.append(target)
            raise RuntimeError("the sync page server went away")

    class AsyncFailing:
        async def run(self, target: object) -> None:
            ran.append(target)
            raise RuntimeError("the async page server went away")

    with caplog.at_level("ERROR"):
        serve_rest(Failing(), h.driver)
        asyncio.run(aserve_rest(AsyncFailing(), h.driver))
    assert ran == [h.driver, h.driver]
    assert "the sync page server went away" in caplog.text
    assert "the async page server went away" in caplog.text
