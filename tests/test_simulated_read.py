"""A simulated connection's client end reads as every pump reads (`Driver.read_bytes`): on every
API, with and without latency, every chunk the simulated gateway writes goes through that one
call, and a run gives the same events at the same receive times, the same bytes on the wire and
the same report each time. `Context.seconds`, which reads the simulated clock itself, is held to
``max(0.0, end_time - time())`` at every event on the way (under trio, the clock follows
trio's)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
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


def _run(path: Path, api: str, latency: bool, monkeypatch: Any) -> tuple[Any, ...]:
    reads = {"driver": 0}
    general = Driver.read_bytes

    def read_bytes(self: Driver, data: bytes) -> Any:
        reads["driver"] += 1
        return general(self, data)

    with monkeypatch.context() as patch:
        patch.setattr(Driver, "read_bytes", read_bytes)
        seen: list[str] = []
        options: dict[str, Any] = {"api": api, "seed": 3, "cache": False}
        if latency:
            options["latency"] = {"KalshiMD": ConstantLatency(0.004)}
        result = run_backtest(_strategy(seen, api), path, **options)
    digest = hashlib.sha256("\n".join(seen).encode()).hexdigest()
    return (result.to_json(), digest, len(seen)), reads["driver"]


@pytest.mark.parametrize("latency", [False, True], ids=["no-latency", "latency"])
@pytest.mark.parametrize("api", ["blocking", "asyncio", "trio"])
def test_the_end_reads_as_the_driver_reads(
    api: str, latency: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "recording.log"
    with path.open("w", encoding="utf-8") as out:
        write_recording(out, messages=300, seed=8)
    first, reads = _run(path, api, latency, monkeypatch)
    again, reads_again = _run(path, api, latency, monkeypatch)
    assert first == again and reads == reads_again
    assert first[2] > 300  # every recorded message's event (and the logon's) seen
    assert reads > 300  # every chunk through the pumps' one read
