# private: the simulated connection's client end (`simulator.world._inmemory._blocking._End`), made
# to take the general path (`Driver.read_bytes`)
"""A simulated connection's client end reads a chunk at the simulated clock itself
(`Driver.read_bytes` written out in ``_End.data_received``, the private module
``kalshi_fix_sansio.simulator.world._inmemory._blocking``, when the driver writes no message log and
its clock is the simulation's) held to the general path (`Driver.read_bytes`): on every API,
with and without latency, the same events at the same receive times, the same bytes on the
wire and the same report; the end's own read taken by the blocking API's sessions only.
`Context.seconds`, which reads the simulated clock itself, is held to ``max(0.0, end_time -
time())`` at every event on the way (under trio, the clock follows trio's)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
from kalshi_fix_sansio.simulator.world._inmemory import _blocking
from kalshi_fix_sansio.simulator.world.latency import ConstantLatency
from kalshi_fix_sansio.simulator.world.simulation import WireRecord
from kalshi_fix_sansio.trading.builders import Requests


def _line(event: Any, md: Any, ctx: Any) -> str:
    # `Context.seconds` reads the clock itself: as its general form, ``time`` asked
    assert ctx.seconds == max(0.0, ctx.end_time - ctx.time())
    return (
        f"{type(event).__name__} {getattr(event, 'seq_num', None)} "
        f"{getattr(event, 'raw', None)!r} {md.received_at(event)!r} {ctx.time()!r}"
    )


def _strategy(seen: list[str], api: str) -> Any:
    def hear(record: WireRecord) -> None:
        seen.append(f"{record.sender} {record.time!r} {record.data!r}")

    if api == "blocking":

        def watch(ctx: Any) -> None:
            ctx.simulation.wire_listeners.append(hear)
            with ctx.client(market_data=True).market_data() as md:
                md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
                while ctx.seconds > 0:
                    event = md.next_event(timeout=min(ctx.seconds, 0.7))
                    seen.append("timeout" if event is None else _line(event, md, ctx))

        return watch

    async def watch_async(ctx: Any) -> None:
        ctx.simulation.wire_listeners.append(hear)
        async with ctx.client(market_data=True).market_data() as md:
            md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
            while ctx.seconds > 0:
                event = await md.next_event(timeout=min(ctx.seconds, 0.7))
                seen.append("timeout" if event is None else _line(event, md, ctx))

    return watch_async


def _run(path: Path, api: str, latency: bool, lane: bool, monkeypatch: Any) -> tuple[Any, ...]:
    reads = {"general": 0}
    general = Driver.read_bytes

    def read_bytes(self: Driver, data: bytes) -> Any:
        reads["general"] += 1
        return general(self, data)

    made = _blocking._End.__init__

    def end(self: Any, link: Any, sup: Any) -> None:
        made(self, link, sup)
        if not lane:
            self.clock = None  # the general path: `Driver.read_bytes`

    with monkeypatch.context() as patch:
        patch.setattr(Driver, "read_bytes", read_bytes)
        patch.setattr(_blocking._End, "__init__", end)
        seen: list[str] = []
        options: dict[str, Any] = {"api": api, "seed": 3, "cache": False}
        if latency:
            options["latency"] = {"KalshiMD": ConstantLatency(0.004)}
        result = run_backtest(_strategy(seen, api), path, **options)
    digest = hashlib.sha256("\n".join(seen).encode()).hexdigest()
    return (result.to_json(), digest, len(seen)), reads["general"]


@pytest.mark.parametrize("latency", [False, True], ids=["no-latency", "latency"])
@pytest.mark.parametrize("api", ["blocking", "asyncio", "trio"])
def test_the_end_reads_as_the_driver_reads(
    api: str, latency: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "recording.log"
    with path.open("w", encoding="utf-8") as out:
        write_recording(out, messages=300, seed=8)
    inline, general_on_lane = _run(path, api, latency, True, monkeypatch)
    asked, general_off_lane = _run(path, api, latency, False, monkeypatch)
    assert inline == asked
    assert inline[2] > 300  # every recorded message's event (and the logon's) seen
    # the end's own read: the blocking pump's (its clock is the simulated clock's `time`);
    # asyncio's pump is the adapter's, and trio's clock is `Simulation.time`
    assert (general_on_lane == 0) == (api == "blocking")
    assert general_off_lane > 300
