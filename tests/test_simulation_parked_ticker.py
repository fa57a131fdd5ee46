"""The gateway's expiry ticker parked while nothing can come due is the ticker every second: the
same backtests and simulations run with it parked and with it forced to run every second
(`Simulation._parks` False: its timer in the scheduler at each second, skipped) give the same
report, the same wakes and books, and the same bytes at the same times on every connection.

Private parts tested here: `simulation.Simulation._parks` (switched off for the general path),
`Simulation._parked` and `Simulation._unpark` (watched, to see the ticker park and come back).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio

from kalshi_fix_sansio.codec import prediction as p
from kalshi_fix_sansio.simulator.backtests.backtest import Context, run_backtest
from kalshi_fix_sansio.simulator.gateway import mock_api_key
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_MARKETS, write_recording
from kalshi_fix_sansio.simulator.world.latency import ConstantLatency
from kalshi_fix_sansio.simulator.world.simulation import DEFAULT_START, Simulation, WireRecord
from kalshi_fix_sansio.trading.builders import Requests

KEY_ID, SIGNER, PUBLIC = mock_api_key("prediction")
SYMBOL = "HIGHNY-23DEC31"


class Unparked:
    """How often a parked ticker came back (`Simulation._unpark` with something parked)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        unpark = Simulation._unpark

        def counted(sim: Simulation) -> None:
            self.count += sim._parked is not None
            unpark(sim)

        monkeypatch.setattr(Simulation, "_unpark", counted)


def _wire(sim: Simulation, into: list[Any]) -> None:
    def hear(record: WireRecord) -> None:
        into.append((record.time, record.sender, record.connection, record.data))

    sim.wire_listeners.append(hear)


def _gtd(
    plan: dict[int, tuple[str, str, float]],
    timer: float | None,
    wake: bool,
    seen: list[Any],
    wire: list[Any],
) -> Any:
    """A strategy of the book-level API (either mode) that keeps both books, woken by their
    changes (``wake``) and every ``timer`` seconds, and at the wakes ``plan`` names rests a GTD
    order a cent behind the best price, expiring the given seconds later; it notes each wake
    (time, markets, tops, order events) and every chunk on the wire."""

    def strategy(ctx: Context) -> None:
        requests = Requests(ctx.product, "KalshiNR")
        ctx.watch(list(ctx.symbols), wake=wake)
        _wire(ctx.simulation, wire)
        n = 0
        with ctx.order_entry() as oe:
            while (woke := ctx.wait(timer)) is not None:
                n += 1
                tops = [(b.symbol, repr(b.top())) for b in ctx.books]
                events = tuple(repr(e) for e in woke.orders)
                seen.append((woke.time, woke.markets, tops, events))
                action = plan.get(n)
                book = None if action is None else ctx.books[action[0]]
                if action is None or book is None:
                    continue
                symbol, side, seconds = action
                bid, offer = book.best_bid(), book.best_offer()
                if bid is None or offer is None:
                    continue
                cent = Decimal("0.01")
                price = bid.price - cent if side == "buy" else offer.price + cent
                until = datetime.fromtimestamp(woke.time + seconds, timezone.utc)
                oe.send(
                    requests.new_order(
                        symbol,
                        side,
                        1,
                        price,
                        time_in_force="gtd",
                        expire_time=until,
                        cl_ord_id=f"gtd-{n}",
                    )
                )

    return strategy


# seed of the recording and of the plan, mode, wake timer, woken by changes, NR's latency: the
# generated recordings' messages are often on whole seconds (the ticker's), one or more
# seconds apart or less; orders expire after 0.5 s to 60 s, a second after a whole-second
# wake among them (a tick due at a recorded message's instant), some late in the run
CASES = [
    (17, "fix", None, True, None),  # an expiry at a whole second with a message there
    (0, "fix", None, True, None),
    (1, "book", None, True, None),
    (2, "book", 7.0, False, None),
    (3, "fix", 1.0, False, None),
    (4, "book", 0.7, True, None),
    (5, "fix", None, True, 0.5),  # the order's bytes arrive on whole seconds
    (6, "book", None, True, 1.0),
    (7, "fix", 7.0, False, 0.002),
]


def _run(path: Path, case: tuple[Any, ...], parks: bool, mp: pytest.MonkeyPatch) -> Any:
    seed, mode, timer, wake, latency = case
    rng = random.Random(seed)
    plan = {
        n: (rng.choice(SAMPLE_MARKETS), rng.choice(["buy", "sell"]), rng.choice(SECONDS))
        for n in rng.sample(range(2, 250), 12)
    }
    plan[260] = (SAMPLE_MARKETS[0], "buy", 1.0)  # late in the run
    mp.setattr(Simulation, "_parks", parks)
    seen: list[Any] = []
    wire: list[Any] = []
    options: dict[str, Any] = {"cache": False, "mode": mode}
    if latency is not None:
        options["latency"] = {"KalshiNR": ConstantLatency(latency)}
    result = run_backtest(_gtd(plan, timer, wake, seen, wire), path, **options)
    return json.loads(result.to_json()), seen, wire


SECONDS = (0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 20.5, 60.0)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_backtests_with_the_ticker_parked_are_those_with_it_every_second(
    case: tuple[Any, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "recording.log"
    with path.open("w") as out:
        write_recording(out, messages=300, seed=case[0])
    unparked = Unparked(monkeypatch)
    parked = _run(path, case, True, monkeypatch)
    assert unparked.count >= 1  # parked, and brought back by an order
    every = _run(path, case, False, monkeypatch)
    assert parked == every
    _report, seen, wire = parked
    assert len(seen) > 20
    reports = [
        data for _t, sender, _c, data in wire if sender == "gateway" and b"\x0135=8\x01" in data
    ]
    assert any(b"\x01150=0\x01" not in data for data in reports)  # some expired or filled


def _simulation(api: str, parks: bool, mp: pytest.MonkeyPatch) -> list[Any]:
    """A GTD order resting then expiring (with the ticker parked for a minute before it), an
    RFQ opened and left to expire, a GTD order placed late: each chunk on the wire."""
    mp.setattr(Simulation, "_parks", parks)
    sim = Simulation("prediction", keys={KEY_ID: PUBLIC}, seed=4)
    sim.gateway.seed_market(SYMBOL, bids=[(Decimal("0.40"), Decimal(10))])
    wire: list[Any] = []
    _wire(sim, wire)
    expire = DEFAULT_START + timedelta(seconds=75)
    late = DEFAULT_START + timedelta(seconds=400)

    def order(cl: str, until: datetime) -> p.NewOrderSingle:
        return p.NewOrderSingle(
            cl_ord_id=cl,
            side=p.Side.BUY,
            order_qty=Decimal(1),
            ord_type=p.OrdType.LIMIT,
            price=Decimal("0.30"),
            symbol=SYMBOL,
            time_in_force=p.TimeInForce.GTD,
            expire_time=until,
        )

    rfq = p.QuoteRequest(
        quote_req_id="rfq-1",
        related_sym=[p.QuoteRequestRelatedSym(symbol=SYMBOL, order_qty=Decimal(10))],
    )
    client = sim.client(KEY_ID, SIGNER, api=api)
    if api == "blocking":
        with client.order_entry(retransmission=True) as oe:
            sim.run_for(60.5)
            oe.send(order("gtd-1", expire))
            sim.run_for(30.0)
            oe.send(rfq)
            sim.run_for(300.0)
            oe.send(order("gtd-2", late))
            sim.run_for(30.0)
        return wire

    async def run() -> None:
        # the API's own sleep, on the simulated clock (as tests/test_simulation_edges.py's)
        pause = trio.sleep if api == "trio" else __import__("asyncio").sleep
        async with client.order_entry(retransmission=True) as oe:
            await pause(60.5)
            oe.send(order("gtd-1", expire))
            await pause(30.0)
            oe.send(rfq)
            await pause(300.0)
            oe.send(order("gtd-2", late))
            await pause(30.0)

    if api == "trio":
        sim.run_trio(run)
    else:
        sim.run_asyncio(run())
    return wire


@pytest.mark.parametrize("api", ["blocking", "asyncio", "trio"])
def test_a_simulation_with_the_ticker_parked_is_one_with_it_every_second(
    api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unparked = Unparked(monkeypatch)
    parked = _simulation(api, True, monkeypatch)
    assert unparked.count >= 1  # at least the one parked when the simulation was made
    every = _simulation(api, False, monkeypatch)
    assert parked == every
    reports = [
        d for _t, sender, _c, d in parked if sender == "gateway" and b"\x0111=gtd-1\x01" in d
    ]
    assert len(reports) == 2  # new, then expired on the ticker
