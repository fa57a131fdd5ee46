# private: the blocking simulated session (`simulator.world._inmemory._blocking.SimulatedSession`),
# made to take the general wait (`SyncAPI.next_event`)
"""A simulation's blocking ``next_event`` (`SimulatedSession.next_event`, in the private module
``kalshi_fix_sansio.simulator.world._inmemory._blocking``: `drive_next_event` written out, with
`Driver.take_event`'s look at a reader's empty queue not asked) held to the general wait
(`SyncAPI.next_event`: the pump's `drive` of a `WaitEvent`): with and without latency, with
timeouts that end waits with no event, the same events at the same times, the same bytes on
the wire, the same report, and after the session closed the same events left then the same
error."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.client.pump import SyncAPI
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
from kalshi_fix_sansio.simulator.world._inmemory import _blocking
from kalshi_fix_sansio.simulator.world.latency import ConstantLatency
from kalshi_fix_sansio.simulator.world.simulation import WireRecord
from kalshi_fix_sansio.trading.builders import Requests


def _strategy(seen: list[str], timeout: float) -> Any:
    def hear(record: WireRecord) -> None:
        seen.append(f"{record.sender} {record.time!r} {record.data!r}")

    def line(event: Any, ctx: Any) -> str:
        return f"{type(event).__name__} {getattr(event, 'raw', None)!r} {ctx.time()!r}"

    def watch(ctx: Any) -> None:
        ctx.simulation.wire_listeners.append(hear)
        with ctx.client(market_data=True).market_data() as md:
            md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
            while ctx.seconds > 0:
                event = md.next_event(timeout=min(ctx.seconds, timeout))
                seen.append("timeout" if event is None else line(event, ctx))
        try:  # closed: what is left, then what ended it
            while (event := md.next_event(timeout=1.0)) is not None:
                seen.append(line(event, ctx))
            seen.append("none")
        except Exception as exc:  # the closed session's error, compared below
            seen.append(f"raised {type(exc).__name__} {exc}")

    return watch


def _run(path: Path, latency: bool, timeout: float, general: bool, monkeypatch: Any) -> Any:
    with monkeypatch.context() as patch:
        if general:
            patch.setattr(_blocking.SimulatedSession, "next_event", SyncAPI.next_event)
        seen: list[str] = []
        options: dict[str, Any] = {"seed": 3, "cache": False}
        if latency:
            options["latency"] = {"KalshiMD": ConstantLatency(0.004)}
        result = run_backtest(_strategy(seen, timeout), path, **options)
    digest = hashlib.sha256("\n".join(seen).encode()).hexdigest()
    return result.to_json(), digest, seen.count("timeout"), len(seen), seen[-1]


@pytest.mark.parametrize("timeout", [0.7, 30.0], ids=["short-waits", "long-waits"])
@pytest.mark.parametrize("latency", [False, True], ids=["no-latency", "latency"])
def test_the_simulated_wait_is_the_general_wait(
    latency: bool, timeout: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "recording.log"
    with path.open("w", encoding="utf-8") as out:
        write_recording(out, messages=300, seed=8)
    inline = _run(path, latency, timeout, False, monkeypatch)
    general = _run(path, latency, timeout, True, monkeypatch)
    assert inline == general
    assert inline[3] > 300  # every recorded message's event (and the logon's) seen
    if timeout < 1.0:
        assert inline[2] > 0  # waits that ended with no event
    assert inline[4].startswith("raised ")  # the closed session's error, once none is left
