"""Latency models (`kalshi_fix_sansio.simulator.latency`) and a simulation's connections with them:
seeded draws repeat, bytes never overtake each other, a measured profile from a message log,
bad values named."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.backtest import run_backtest
from kalshi_fix_sansio.simulator.gateway import mock_api_key
from kalshi_fix_sansio.simulator.latency import (
    MAX_LATENCY,
    ConstantLatency,
    EmpiricalLatency,
    LatencyModel,
    LogNormalLatency,
    NoLatency,
    latency_profile,
)
from kalshi_fix_sansio.simulator.simulation import Simulation
from kalshi_fix_sansio.simulator.testing.recordings import MARGIN_SAMPLE_RECORDING
from kalshi_fix_sansio.simulator.testing.strategies import quoter
from kalshi_fix_sansio.trading.builders import ClOrdIDGenerator, Requests

KEY_ID, SIGNER, PUBLIC_KEY = mock_api_key("prediction")
SYMBOL = "HIGHNY-23DEC31"


def draws(model: LatencyModel, seed: int, n: int = 50) -> list[float]:
    rng = random.Random(seed)
    return [model.draw(rng) for _ in range(n)]


def test_models_draw_within_bounds_and_repeat_per_seed() -> None:
    assert draws(NoLatency(), 1) == [0.0] * 50
    assert draws(ConstantLatency(0.25), 1) == [0.25] * 50
    skewed = LogNormalLatency(0.02, sigma=1.0, floor=0.005)
    first = draws(skewed, 7)
    assert first == draws(skewed, 7) and first != draws(skewed, 8)
    assert all(0.005 <= d <= MAX_LATENCY for d in first)
    assert sorted(first)[25] == pytest.approx(0.02, rel=1.0)  # about half under the median
    measured = EmpiricalLatency([0.01, 0.02, 0.5])
    assert set(draws(measured, 3, 200)) == {0.01, 0.02, 0.5}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ConstantLatency(-1), r"ConstantLatency\.seconds must be >= 0"),
        (lambda: ConstantLatency(float("nan")), "finite number of seconds"),
        (lambda: ConstantLatency(True), "finite number of seconds"),
        (lambda: ConstantLatency(MAX_LATENCY + 1), "at most 60 s"),
        (lambda: LogNormalLatency(0), r"LogNormalLatency\.median must be > 0"),
        (lambda: LogNormalLatency(0.01, sigma=-1), r"sigma must be in \[0, 5\]"),
        (lambda: EmpiricalLatency([]), "at least one measured delay"),
        (lambda: EmpiricalLatency([0.1, -0.2]), r"samples\[1\] must be >= 0"),
    ],
)
def test_bad_values_are_named(make: object, message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        make()  # type: ignore[operator]


def test_a_profile_is_measured_from_a_message_log(tmp_path: Path) -> None:
    log = tmp_path / "session.log"
    log.write_text(
        "# a comment\n"
        "2026-11-20T15:00:00.030000Z IN KalshiMD/k 8=FIXT.1.1|9=5|35=0|52=20261120-15:00:00.000|10=000|\n"
        "2026-11-20T15:00:01.000000Z OUT KalshiMD/k 8=FIXT.1.1|9=5|35=0|52=20261120-15:00:00.900|10=000|\n"
        "2026-11-20T15:00:02.010000Z IN KalshiNR/k 8=FIXT.1.1|9=5|35=8|52=20261120-15:00:02.000|10=000|\n"
        "2026-11-20T15:00:02.990000Z IN KalshiMD/k 8=FIXT.1.1|9=5|35=0|52=20261120-15:00:03.000|10=000|\n"
    )
    profile = latency_profile(log)
    assert profile.samples == pytest.approx((0.030, 0.010, 0.0))
    assert profile.negative == 1  # the local clock behind Kalshi's: counted as 0
    assert profile.quantile(1.0) == pytest.approx(0.030)
    md = EmpiricalLatency.from_message_log(log, session_type="KalshiMD")
    assert md.samples == pytest.approx((0.030, 0.0))
    with pytest.raises(LocalProtocolError, match=r"no received message .* on KalshiRT"):
        EmpiricalLatency.from_message_log(log, session_type="KalshiRT")
    bad = tmp_path / "bad.log"
    bad.write_text("hello\n")
    with pytest.raises(LocalProtocolError, match=r"bad\.log: line 1 \(byte 0\): not a message-log"):
        latency_profile(bad)
    with pytest.raises(LocalProtocolError, match="cannot read it"):
        latency_profile(tmp_path / "missing.log")


def trade(sim: Simulation) -> list[tuple[str, bytes]]:
    orders = Requests("prediction", "KalshiNR", cl_ord_ids=ClOrdIDGenerator("l-", sequential=True))
    sim.gateway.seed_market(SYMBOL, asks=[(Decimal("0.45"), Decimal(30))])
    with sim.client(KEY_ID, SIGNER).order_entry() as oe:
        for _ in range(5):
            oe.send(orders.new_order(SYMBOL, "buy", 1, Decimal("0.40")))
        oe.place(orders.new_order(SYMBOL, "buy", 2, Decimal("0.45")), until="filled")
        oe.kill()
    return [(r.sender, r.data) for r in sim.wire]


def test_a_connection_with_latency_keeps_its_bytes_in_order() -> None:
    """Widely spread delays: every frame still arrives in the order written (the gateway
    would refuse a sequence gap), the same run repeats, another seed times it otherwise."""
    spread = LogNormalLatency(0.05, sigma=3.0)

    def run(seed: int) -> tuple[list[tuple[str, bytes]], float]:
        sim = Simulation("prediction", keys={KEY_ID: PUBLIC_KEY}, seed=seed, latency=spread)
        wire = trade(sim)
        return wire, sim.clock.elapsed

    first, elapsed = run(1)
    assert run(1) == (first, elapsed)
    assert elapsed > 0.05 * 4  # at least two round trips of the median
    assert run(2)[1] != elapsed
    plain = Simulation("prediction", keys={KEY_ID: PUBLIC_KEY})
    trade(plain)
    assert plain.clock.elapsed < elapsed


def test_latency_by_session_type_is_checked() -> None:
    with pytest.raises(LocalProtocolError, match="KalshiXX is not a session type here"):
        Simulation("prediction", keys={}, latency={"KalshiXX": NoLatency()})
    with pytest.raises(LocalProtocolError, match="must be a LatencyModel"):
        Simulation("prediction", keys={}, latency=0.5)  # type: ignore[arg-type]


def test_a_margin_recording_backtests() -> None:
    """Either product: the margin sample, the same quoter."""
    result = run_backtest(quoter, MARGIN_SAMPLE_RECORDING, params={"size": 1, "edge": 0.05})
    assert result.run["product"] == "margin"
    assert result.report.end == "end of the recording"
    assert (
        result.to_json()
        == run_backtest(quoter, MARGIN_SAMPLE_RECORDING, params={"size": 1, "edge": 0.05}).to_json()
    )
