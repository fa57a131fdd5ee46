"""The whole client in memory on a simulated clock (`kalshi_fix_sansio.simulator.world.simulation`), through each
of the three user APIs: log on, rest two orders, let five minutes pass (heartbeats both ways),
the gateway fills one (house liquidity crossing it), the fill reaches the tracker, a kill takes
the other off the book, log out. Each run twice gives the same frames byte for byte, and the
three APIs give the same frames as each other: the bytes depend on the script, not on the loop.

Nothing here waits on the wall clock or times anything: the waits, and asyncio's and trio's own
sleeps, are on the simulation's clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
import trio

from kalshi_fix_sansio import ApplicationMessage, KillReport, OrderStatus, TrackedOrder
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.session.events import Event
from kalshi_fix_sansio.simulator.gateway import mock_api_key
from kalshi_fix_sansio.simulator.world.simulation import Simulation, WireRecord

SYMBOL = "HIGHNY-23DEC31"
KEY_ID, SIGNER, PUBLIC = mock_api_key("prediction")
QUIET = 300.0  # seconds of simulated time with two orders resting


def new_simulation(**options: Any) -> Simulation:
    sim = Simulation("prediction", keys={KEY_ID: PUBLIC}, **options)
    sim.gateway.seed_market(
        SYMBOL, bids=[(Decimal("0.40"), Decimal(25))], asks=[(Decimal("0.45"), Decimal(30))]
    )
    return sim


def bid(cl_ord_id: str, price: str) -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(5),
        ord_type=p.OrdType.LIMIT,
        price=Decimal(price),
        symbol=SYMBOL,
        time_in_force=p.TimeInForce.GTC,
    )


def cross_bid_1(sim: Simulation) -> None:
    """The gateway fills ``bid-1``: house liquidity offered at its price trades with it."""
    sim.gateway.seed_market(SYMBOL, asks=[(Decimal("0.41"), Decimal(5))])


def fill_of_bid_1(event: Event) -> bool:
    if not isinstance(event, ApplicationMessage) or event.message.MSG_TYPE != "8":
        return False
    report: Any = event.message
    return bool(report.cl_ord_id == "bid-1" and report.exec_type == p.ExecType.TRADE)


@attrs.frozen
class Outcome:
    """What a run of the scenario saw."""

    sim: Simulation
    placed: tuple[TrackedOrder, TrackedOrder]
    filled_at: float  # simulated seconds since the start
    filled: TrackedOrder
    position: Decimal
    kill: KillReport
    left_open: list[TrackedOrder]
    halted: bool


def run_blocking() -> Outcome:
    sim = new_simulation()
    client = sim.client(KEY_ID, SIGNER)
    with client.order_entry() as oe:
        placed = (oe.place(bid("bid-1", "0.41")), oe.place(bid("bid-2", "0.39")))
        sim.run_for(QUIET)
        cross_bid_1(sim)
        oe.wait_for(fill_of_bid_1, timeout=10)
        filled_at = sim.clock.elapsed
        filled, position = oe.tracker.order("bid-1"), oe.tracker.position(SYMBOL).net
        kill = oe.kill()
        left, halted = oe.tracker.open_orders(), oe.halted
    assert filled is not None
    return Outcome(sim, placed, filled_at, filled, position, kill, left, halted)


async def scenario(
    sim: Simulation, api: str, pause: Callable[[float], Awaitable[object]]
) -> Outcome:
    """The same script with the awaitable API (asyncio or trio); ``pause`` is the API's own
    sleep (``asyncio.sleep``, ``trio.sleep``), which runs on the simulated clock."""
    client = sim.client(KEY_ID, SIGNER, api=api)
    async with client.order_entry() as oe:
        placed = (await oe.place(bid("bid-1", "0.41")), await oe.place(bid("bid-2", "0.39")))
        await pause(QUIET)
        cross_bid_1(sim)
        await oe.wait_for(fill_of_bid_1, timeout=10)
        filled_at = sim.clock.elapsed
        filled, position = oe.tracker.order("bid-1"), oe.tracker.position(SYMBOL).net
        kill = await oe.kill()
        left, halted = oe.tracker.open_orders(), oe.halted
    assert filled is not None
    return Outcome(sim, placed, filled_at, filled, position, kill, left, halted)


def run_asyncio() -> Outcome:
    sim = new_simulation()
    return sim.run_asyncio(scenario(sim, "asyncio", asyncio.sleep))


def run_trio() -> Outcome:
    sim = new_simulation()
    return sim.run_trio(scenario, sim, "trio", trio.sleep)


RUNS: dict[str, Callable[[], Outcome]] = {
    "blocking": run_blocking,
    "asyncio": run_asyncio,
    "trio": run_trio,
}


def sent(wire: list[WireRecord], sender: str, msg_type: str) -> list[WireRecord]:
    return [r for r in wire if r.sender == sender and msg_type in r.msg_types]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    return {api: run() for api, run in RUNS.items()}


@pytest.mark.parametrize("api", list(RUNS))
def test_an_order_is_placed_filled_and_killed(outcomes: dict[str, Outcome], api: str) -> None:
    out = outcomes[api]
    assert [o.status for o in out.placed] == [OrderStatus.NEW, OrderStatus.NEW]
    # the fill reached the tracker: the order, its quantity and the position
    assert out.filled.status is OrderStatus.FILLED and out.filled.cum_qty == 5
    assert out.position == 5
    # the kill took the other order off the book, confirmed by the drop copy, and halted
    assert out.kill.done and out.kill.confirmed is True and out.halted
    assert [c for c, _ in out.kill.canceled] == ["bid-2"]
    assert out.left_open == [] and out.kill.still_open == ()
    wire = out.sim.wire
    (mass_cancel,) = sent(wire, "client", "q")
    assert b"\x0111=sim-1\x01" in mass_cancel.data  # the simulation's ClOrdIDs, not a UUID
    # logged on once, logged out at the end, both ways
    assert len(sent(wire, "client", "A")) == 1 and len(sent(wire, "gateway", "A")) == 1
    assert wire[-2].msg_types == ("5",) and wire[-2].sender == "client"
    assert wire[-1].msg_types == ("5",) and wire[-1].sender == "gateway"
    assert out.sim.gateway.connected() == []


@pytest.mark.parametrize("api", list(RUNS))
def test_minutes_pass_on_the_simulated_clock(outcomes: dict[str, Outcome], api: str) -> None:
    out = outcomes[api]
    assert out.filled_at == QUIET  # the fill came at once, after five quiet minutes
    assert out.sim.clock.elapsed == QUIET  # the kill and the logout took no simulated time
    wire = out.sim.wire
    for side in ("client", "gateway"):
        beats = [r.time - out.sim.clock.start for r in sent(wire, side, "0")]
        assert beats == [30.0 * n for n in range(1, 11)], (side, beats)  # every 30 s
    # SendingTime is the simulated clock's: the last heartbeat says 14:35:00, five minutes in
    assert b"\x0152=20260105-14:35:00.000\x01" in sent(wire, "client", "0")[-1].data


@pytest.mark.parametrize("api", list(RUNS))
def test_a_run_repeats_byte_for_byte(outcomes: dict[str, Outcome], api: str) -> None:
    again = RUNS[api]()
    first = outcomes[api].sim.wire
    assert len(first) > 30
    assert again.sim.wire == first


def test_the_three_apis_write_the_same_bytes(outcomes: dict[str, Outcome]) -> None:
    blocking = outcomes["blocking"].sim.wire
    assert outcomes["asyncio"].sim.wire == blocking
    assert outcomes["trio"].sim.wire == blocking
