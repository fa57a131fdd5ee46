"""REST reconciliation in a simulation, in memory on the simulated clock: the gateway's REST
pages (``Simulation(rest=True)``) answer a round the session starts by itself, through each of
the three APIs. An order rests; the connection drops and the gateway refuses the key while
house liquidity fills the order; the account is not allowed drop-copy replay, so catch-up fails
(EventResendRejectReason 5) and the session reconciles from the REST pages: the fills come
back, the first page answered 429 with a Retry-After the round waits out in simulated time.

Nothing here waits on the wall clock: every wait is on the simulation's clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest

from kalshi_fix_sansio import Backoff, CatchUpFailed, Disconnected, OrderStatus
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest.reconcile import (
    Reconciled,
    ReconcileFailed,
    ReconcileStarted,
    RestOptions,
    RestProblem,
)
from kalshi_fix_sansio.session.events import Event
from kalshi_fix_sansio.simulator.gateway import mock_api_key
from kalshi_fix_sansio.simulator.world.simulation import Simulation

SYMBOL = "HIGHNY-23DEC31"
KEY_ID, SIGNER, PUBLIC = mock_api_key("prediction")
RETRY_AFTER = 2.0  # seconds the REST pages ask the round to wait after their 429
LATENCY = 0.1  # simulated seconds from a REST request to its answer


def new_simulation(**options: Any) -> Simulation:
    sim = Simulation("prediction", keys={KEY_ID: PUBLIC}, **options)
    sim.gateway.seed_market(
        SYMBOL, bids=[(Decimal("0.40"), Decimal(25))], asks=[(Decimal("0.45"), Decimal(30))]
    )
    sim.gateway.exchange.replay_allowlist = ["another-account"]  # no drop-copy replay: REST
    return sim


def client(sim: Simulation, api: str) -> Any:
    backoff = Backoff(base=0.5, cap=1.0, attempts=None, seed=3)  # retries while refused
    return sim.client(KEY_ID, SIGNER, api=api, backoff=backoff)


BID = p.NewOrderSingle(
    cl_ord_id="bid-1",
    side=p.Side.BUY,
    order_qty=Decimal(10),
    ord_type=p.OrdType.LIMIT,
    price=Decimal("0.41"),
    symbol=SYMBOL,
    time_in_force=p.TimeInForce.GTC,
)


def drop_and_fill_while_away(sim: Simulation) -> None:
    """The connection drops, the key is refused, and house liquidity fills 7 of the bid."""
    sim.gateway.faults.refuse_keys = frozenset({KEY_ID})
    assert sim.gateway.disconnect(KEY_ID) == 1


def fill_and_let_back(sim: Simulation) -> None:
    sim.gateway.seed_market(SYMBOL, asks=[(Decimal("0.41"), Decimal(3))])
    sim.gateway.seed_market(SYMBOL, asks=[(Decimal("0.41"), Decimal(4))])
    sim.gateway.faults.rest_rate_limit_next = 1  # the round's first page: 429
    sim.gateway.faults.rest_retry_after = RETRY_AFTER
    sim.gateway.faults.refuse_keys = frozenset()


def is_a(kind: type[Event]) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, kind)


def a_fill(event: Event) -> bool:
    report = getattr(event, "message", None)
    return getattr(report, "exec_type", None) == p.ExecType.TRADE


@attrs.frozen
class Outcome:
    failed: CatchUpFailed
    started_at: float
    reconciled: Reconciled
    reconciled_at: float
    status: OrderStatus
    cum_qty: Decimal
    position: Decimal


def outcome(
    sim: Simulation, oe: Any, failed: CatchUpFailed, started_at: float, done: Reconciled
) -> Outcome:
    order = oe.tracker.order("bid-1")
    assert order is not None
    position = oe.tracker.position(SYMBOL).net
    return Outcome(
        failed, started_at, done, sim.clock.elapsed, order.status, order.cum_qty, position
    )


def run_blocking(sim: Simulation) -> Outcome:
    with client(sim, "blocking").order_entry(rest=RestOptions(environment="demo")) as oe:
        oe.place(BID)
        drop_and_fill_while_away(sim)
        oe.wait_for(is_a(Disconnected), timeout=10)
        fill_and_let_back(sim)
        failed = oe.wait_for(is_a(CatchUpFailed), timeout=30)
        oe.wait_for(is_a(ReconcileStarted), timeout=10)
        started_at = sim.clock.elapsed
        done = oe.wait_for(is_a(Reconciled), timeout=30)
        return outcome(sim, oe, failed, started_at, done)


async def scenario(sim: Simulation, api: str) -> Outcome:
    async with client(sim, api).order_entry(rest=RestOptions(environment="demo")) as oe:
        await oe.place(BID)
        drop_and_fill_while_away(sim)
        await oe.wait_for(is_a(Disconnected), timeout=10)
        fill_and_let_back(sim)
        failed = await oe.wait_for(is_a(CatchUpFailed), timeout=30)
        await oe.wait_for(is_a(ReconcileStarted), timeout=10)
        started_at = sim.clock.elapsed
        done = await oe.wait_for(is_a(Reconciled), timeout=30)
        return outcome(sim, oe, failed, started_at, done)


RUNS: dict[str, Callable[[Simulation], Outcome]] = {
    "blocking": run_blocking,
    "asyncio": lambda sim: sim.run_asyncio(scenario(sim, "asyncio")),
    "trio": lambda sim: sim.run_trio(scenario, sim, "trio"),
}


@pytest.mark.parametrize("api", list(RUNS))
def test_a_session_reconciles_from_the_rest_pages_in_memory(api: str) -> None:
    sim = new_simulation(rest=True, rest_latency=LATENCY)
    out = RUNS[api](sim)
    assert out.failed.code == 5  # the account may not replay: catch-up cannot make it whole
    assert out.reconciled.added == 2 and out.reconciled.added_qty == 7
    assert out.reconciled.sources == {"rest": 2} and out.reconciled.problems == 0
    assert (out.status, out.cum_qty, out.position) == (OrderStatus.PARTIALLY_FILLED, 7, 7)
    # the 429's Retry-After and at least the three pages (fills, orders, positions), each a
    # request's latency, passed on the simulated clock, and not much more
    took = out.reconciled_at - out.started_at
    assert RETRY_AFTER + 3 * LATENCY <= took < RETRY_AFTER + 10 * LATENCY


def test_the_three_apis_reconcile_the_same_way() -> None:
    outcomes = [run(new_simulation(rest=True)) for run in RUNS.values()]
    seen = [(o.reconciled, o.started_at, o.reconciled_at) for o in outcomes]
    assert seen[0] == seen[1] == seen[2]  # the same round at the same simulated times


def test_without_rest_pages_the_round_says_why_and_nothing_else_breaks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = new_simulation()
    with caplog.at_level(logging.WARNING):
        with client(sim, "blocking").order_entry(rest=RestOptions(environment="demo")) as oe:
            oe.place(BID)
            oe.reconcile()
            oe.wait_for(is_a(ReconcileStarted), timeout=1)
            sim.run_for(5)
            assert oe.tracker.order("bid-1") is not None
    assert "this simulation serves no REST pages: make it with Simulation(..., rest=True)" in (
        caplog.text
    )
    with pytest.raises(LocalProtocolError, match=r"Simulation\(\.\.\., rest=True\)"):
        sim.serve_rest(object())
    with pytest.raises(LocalProtocolError, match="rest_latency must be seconds >= 0"):
        Simulation("prediction", keys={KEY_ID: PUBLIC}, rest_latency=-1)


def test_a_round_asked_for_runs_in_memory_too() -> None:
    async def main(sim: Simulation) -> Reconciled:
        async with client(sim, "asyncio").order_entry(rest=RestOptions(environment="demo")) as oe:
            await oe.place(BID)
            sim.gateway.seed_market(SYMBOL, asks=[(Decimal("0.41"), Decimal(2))])
            await oe.wait_for(a_fill, timeout=5)  # the fill arrives over FIX: REST adds nothing
            oe.reconcile()
            done: Reconciled = await oe.wait_for(is_a(Reconciled), timeout=5)
            return done

    sim = new_simulation(rest=True)
    done = sim.run_asyncio(main(sim))
    assert (done.added, done.sources, done.problems) == (0, {"fix": 1}, 0)


def test_pages_that_fail_give_no_answer_and_the_round_fails_cleanly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = new_simulation(rest=True)
    assert sim.rest is not None

    def broken(*args: object) -> tuple[int, dict[str, str], bytes]:
        raise RuntimeError("a bug of the pages")

    monkeypatch.setattr(sim.rest, "handle", broken)
    options = RestOptions(environment="demo", max_retries=1, retry_delay=0.1)
    with client(sim, "blocking").order_entry(rest=options) as oe:
        oe.place(BID)
        oe.reconcile()
        problem = oe.wait_for(is_a(RestProblem), timeout=10)
        failed = oe.wait_for(is_a(ReconcileFailed), timeout=1)
    assert failed.endpoint == "cutoff"  # the first page (prediction)
    assert "no answer (the REST pages failed: RuntimeError: a bug of the pages), 2 times" in (
        problem.reason
    )
