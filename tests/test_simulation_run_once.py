"""`Simulation.run_once` takes two common cases inline: the gateway ticker's quiet seconds
skipped when the exchange has nothing due at any time (the general path: `skip_tick`), and
the first timer run when it is the one callback due (the general path: `Scheduler.run_due`).
A backtest whose blocking waits step the simulation with `run_once`, and the same backtest
stepped by `run_once`'s general path (`_general_run_once` below: `next_deadline`, `skip_tick`,
`advance`, `run_due`) give the same report, the same bytes on every connection at the same
times, and the same clock and ticker after every step, on a watching strategy and on one that
trades."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
from kalshi_fix_sansio.simulator.testing.strategies import quoter
from kalshi_fix_sansio.simulator.world.simulation import Simulation, WireRecord
from kalshi_fix_sansio.trading.builders import Requests


def _general_run_once(sim: Simulation, until: float = math.inf) -> float:
    """`Simulation.run_once` by its general path."""
    scheduler, clock = sim.scheduler, sim.clock
    if scheduler.next_deadline() <= clock.time() and scheduler.run_due():
        return clock.time()
    while True:
        deadline = scheduler.next_deadline()
        timers = scheduler._timers
        if deadline <= until:
            second = min((t[0] for t in timers[1:3]), default=math.inf)
            if sim.skip_tick(timers[0], second, until):
                continue
        sim.advance(min(deadline, until))
        if scheduler.run_due() or clock.time() >= until:
            return clock.time()


def _watch(ctx: Any) -> None:
    with ctx.client(market_data=True).market_data() as md:
        md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
        while ctx.seconds > 0 and md.next_event(ctx.seconds) is not None:
            pass


def _run(path: Path, strategy: Callable[[Any], None], general: bool) -> tuple[str, ...]:
    """The report, a digest of every byte written and when, and a digest of the clock and of
    the ticker's next second after each step; and how many times `skip_tick` ran."""
    wire = hashlib.sha256()
    steps = hashlib.sha256()
    skips = [0]

    def hear(record: WireRecord) -> None:
        wire.update(f"{record.time!r} {record.sender} {record.connection} ".encode())
        wire.update(record.data)

    def run(ctx: Any) -> None:
        sim = ctx.simulation
        sim.wire_listeners.append(hear)
        skip, step = sim.skip_tick, sim.run_once

        def counted(*args: Any) -> bool:
            skips[0] += 1
            return bool(skip(*args))

        def stepped(until: float = math.inf) -> float:
            now = _general_run_once(sim, until) if general else step(until)
            ticks = [t[0] for t in sim.scheduler._timers if t[2].callback == sim._ticker]
            steps.update(f"{now!r} {ticks!r}\n".encode())
            return now

        sim.skip_tick = counted
        sim.run_once = stepped
        strategy(ctx)

    result = run_backtest(run, path)
    return result.to_json(), wire.hexdigest(), steps.hexdigest(), str(skips[0])


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("run-once") / "generated.log"
    with path.open("w", encoding="utf-8") as out:
        write_recording(out, messages=600, seed=7)
    return path


@pytest.mark.parametrize("strategy", [_watch, quoter], ids=["watch", "quoter"])
def test_run_once_equals_its_general_path(recording: Path, strategy: Callable[[Any], None]) -> None:
    inline = _run(recording, strategy, general=False)
    general = _run(recording, strategy, general=True)
    assert inline[:3] == general[:3]
    assert int(inline[3]) < int(general[3])  # the inline skip ran where `skip_tick` did not
