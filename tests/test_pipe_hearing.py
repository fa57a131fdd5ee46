"""A simulated connection's pipe asks its ``record`` (`Simulation._record`) only for the chunks
someone hears (`Hearing`: the simulation's ``record_wire``, ``wire_listeners`` and
``client_listeners``, read at each write), held to the pipe that asks it for every chunk
(`pipe_pair` as the simulation module names it, called without ``hearing``): with listeners
and the wire's record switched on and off during a backtest, the same chunks heard by each,
the same wire kept, the same report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
from kalshi_fix_sansio.simulator.world import simulation
from kalshi_fix_sansio.simulator.world.simulation import WireRecord
from kalshi_fix_sansio.trading.builders import Requests


def _strategy(heard: dict[str, list[Any]]) -> Any:
    def wire(record: WireRecord) -> None:
        heard["wire"].append((record.time, record.sender, record.connection, record.data))

    def client(data: bytes) -> None:
        heard["client"].append(data)

    def watch(ctx: Any) -> None:
        sim = ctx.simulation
        sim.record_wire = False
        with ctx.client(market_data=True).market_data() as md:
            md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
            n = 0
            while ctx.seconds > 0 and md.next_event(timeout=ctx.seconds) is not None:
                n += 1
                if n == 40:
                    sim.wire_listeners.append(wire)
                elif n == 80:
                    sim.wire_listeners.remove(wire)
                    sim.client_listeners.append(client)
                elif n == 120:
                    sim.record_wire = True
                elif n == 160:
                    sim.record_wire = False
                    sim.client_listeners.remove(client)
                elif n == 200:
                    sim.wire_listeners.append(wire)
                if n in (60, 100, 140, 180):  # a client's own chunk: a heartbeat's TestRequest
                    md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
        heard["wire_kept"] = [(r.time, r.sender, r.connection, r.data) for r in sim.wire]

    return watch


def _run(path: Path, always: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    heard: dict[str, list[Any]] = {"wire": [], "client": []}
    with monkeypatch.context() as patch:
        if always:
            made = simulation.pipe_pair

            def pipe_pair(*args: Any) -> Any:
                return made(*args[:5])  # no ``hearing``: ``record`` asked for every chunk

            patch.setattr(simulation, "pipe_pair", pipe_pair)
        result = run_backtest(_strategy(heard), path, seed=3, cache=False)
    return result.to_json(), heard


def test_the_pipe_asks_record_for_what_is_heard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "recording.log"
    with path.open("w", encoding="utf-8") as out:
        write_recording(out, messages=300, seed=8)
    heard = _run(path, False, monkeypatch)
    always = _run(path, True, monkeypatch)
    assert heard == always
    got = heard[1]
    assert got["wire"] and got["client"] and got["wire_kept"]  # each heard something
    assert {s for _t, s, _c, _d in got["wire"]} == {"client", "gateway"}
