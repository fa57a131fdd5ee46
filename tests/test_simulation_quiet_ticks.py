"""`Simulation.run_once` skips the gateway ticker's quiet seconds inline when the exchange has
nothing due at any time; the general path is `Simulation.skip_tick`. A backtest run with the
inline skip and one with it turned off (the exchange made to answer that something may be due
at some time, so every skip takes `skip_tick`) give the same report, the same bytes on every
connection and the same clock, on a watching strategy and on one that trades."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.simulator.backtest import run_backtest
from kalshi_fix_sansio.simulator.gateway.exchange import Exchange
from kalshi_fix_sansio.simulator.simulation import Simulation, WireRecord
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
from kalshi_fix_sansio.simulator.testing.strategies import quoter


def _watch(ctx: Any) -> None:
    with ctx.client(market_data=True).market_data() as md:
        md.send(_subscribe(ctx))
        while ctx.seconds > 0 and md.next_event(ctx.seconds) is not None:
            pass


def _subscribe(ctx: Any) -> Any:
    from kalshi_fix_sansio.trading.builders import Requests

    return Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols))


def _run(path: Path, strategy: Callable[[Any], None]) -> tuple[str, str, str, int]:
    """The report, a digest of every byte written, a digest of the clock and of the ticker's
    next second after each `run_once`, and how many times `skip_tick` ran."""
    wire = hashlib.sha256()
    steps = hashlib.sha256()
    skips = [0]

    def hear(record: WireRecord) -> None:
        wire.update(f"{record.time!r} {record.sender} {record.connection} ".encode())
        wire.update(record.data)

    def run(ctx: Any) -> None:
        sim = ctx.simulation
        sim.wire_listeners.append(hear)
        general = sim.skip_tick

        def counted(*args: Any) -> bool:
            skips[0] += 1
            return general(*args)

        step = sim.run_once

        def stepped(until: float = math.inf) -> float:
            now = step(until)
            ticks = [t[0] for t in sim.scheduler._timers if t[2].callback == sim._ticker]
            steps.update(f"{now!r} {ticks!r}\n".encode())
            return now

        sim.skip_tick = counted
        sim.run_once = stepped
        strategy(ctx)

    result = run_backtest(run, path)
    return result.to_json(), wire.hexdigest(), steps.hexdigest(), skips[0]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("quiet") / "generated.log"
    with path.open("w", encoding="utf-8") as out:
        write_recording(out, messages=600, seed=7)
    return path


@pytest.mark.parametrize("strategy", [_watch, quoter], ids=["watch", "quoter"])
def test_the_inline_skip_equals_skip_tick(
    recording: Path, strategy: Callable[[Any], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    inline = _run(recording, strategy)
    real = Exchange.tick_due

    def never_idle(self: Exchange, now: float) -> bool:
        return True if now == math.inf else real(self, now)

    monkeypatch.setattr(Exchange, "tick_due", never_idle)
    general = _run(recording, strategy)
    assert inline[:3] == general[:3]
    assert general[3] > inline[3]  # the general run took `skip_tick` where the inline one did not
    assert Simulation.skip_tick is not None
