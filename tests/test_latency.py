"""Latency models (`kalshi_fix_sansio.simulator.world.latency`) and a simulation's connections with them:
seeded draws repeat, bytes never overtake each other, a measured profile from a message log,
bad values named."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.gateway import mock_api_key
from kalshi_fix_sansio.simulator.testing.recordings import MARGIN_SAMPLE_RECORDING
from kalshi_fix_sansio.simulator.testing.strategies import quoter
from kalshi_fix_sansio.simulator.world.latency import (
    MAX_LATENCY,
    ConstantLatency,
    EmpiricalLatency,
    LatencyModel,
    LogNormalLatency,
    NoLatency,
    latency_profile,
)
from kalshi_fix_sansio.simulator.world.simulation import Simulation
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


FIT_STRATEGY_LOG = "md.log"


def _watch_with_a_log(log: Path) -> object:
    """A strategy that subscribes to the first market and reads every event, its market-data
    session writing the message log ``log``."""

    def strategy(ctx: Any) -> None:
        client = ctx.client(market_data=True, message_log_path=str(log))
        with client.market_data() as md:
            md.send(Requests(ctx.product, "KalshiMD").subscribe(ctx.symbol), resubscribe=True)
            while ctx.seconds > 0:
                if md.next_event(timeout=ctx.seconds) is None:
                    break

    return strategy


def test_a_fit_finds_the_latency_a_simulated_log_was_made_with(tmp_path: Path) -> None:
    """A backtest whose market data takes a log-normal 50 ms (sigma 0.3) writes a message log
    like a live session's; fitting its KalshiMD delays finds the median within 5 % (SendingTime
    is to the millisecond: the measured delays are up to 1 ms long) and sigma within 0.05, and
    the Kolmogorov-Smirnov test does not reject it; delays from two far-apart modes are
    rejected. `kalshi-fix fit-latency` saves the fit by name and a backtest takes it with
    ``--md-latency fitted:NAME``."""
    from kalshi_fix_sansio import cli
    from kalshi_fix_sansio.simulator.testing.recordings import write_recording
    from kalshi_fix_sansio.simulator.world.latency import fit_latency, fit_message_logs, load_fitted

    recording = tmp_path / "day.log"
    with recording.open("w", encoding="utf-8") as out:
        write_recording(out, messages=400, seed=5)
    log = tmp_path / FIT_STRATEGY_LOG
    truth = LogNormalLatency(0.05, sigma=0.3)
    run_backtest(_watch_with_a_log(log), recording, latency={"KalshiMD": truth}, seed=4)
    fit = fit_message_logs([log], session_type="KalshiMD")
    assert fit.samples >= 150 and fit.left_out == 0
    assert fit.model.median == pytest.approx(0.05, rel=0.05)
    assert fit.model.sigma == pytest.approx(0.3, abs=0.05)
    assert fit.ks < 0.1 and fit.p_value > 0.05
    rng = random.Random(1)
    two_modes = [rng.gauss(0.01, 0.0005) for _ in range(200)] + [
        rng.gauss(0.2, 0.005) for _ in range(200)
    ]
    assert fit_latency(two_modes).p_value < 0.01

    models = tmp_path / "models"
    status = cli.main(["fit-latency", str(log), "--name", "desk", "--models-dir", str(models)])
    assert status == 0
    saved = load_fitted("desk", models)
    assert set(saved) == {"KalshiMD"} and saved["KalshiMD"] == fit
    out = tmp_path / "out"
    command = ["backtest", "kalshi_fix_sansio.simulator.testing.strategies:quoter"]
    command += [str(recording), "--md-latency", "fitted:desk", "--models-dir", str(models)]
    assert cli.main([*command, "--out", str(out)]) == 0
    assert cli.main([*command[:-4], "--latency", "fitted:desk", "--models-dir", str(models)]) == 2


def test_fits_name_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kalshi_fix_sansio import cli
    from kalshi_fix_sansio.simulator.world.latency import fit_latency, load_fitted, save_fitted

    with pytest.raises(LocalProtocolError, match="2 or more delays above the floor"):
        fit_latency([0.0, 0.01], floor=0.0)
    with pytest.raises(LocalProtocolError, match="plain file name"):
        save_fitted("../x", {"KalshiMD": fit_latency([0.01, 0.02, 0.03])}, tmp_path)
    with pytest.raises(LocalProtocolError, match=r"nope\.latency\.json: cannot read it"):
        load_fitted("nope", tmp_path)
    (tmp_path / "bad.latency.json").write_text('{"schema": 1, "latency": {"KalshiMD": {}}}')
    with pytest.raises(LocalProtocolError, match=r"bad\.latency\.json: KalshiMD: not a latency"):
        load_fitted("bad", tmp_path)
    log = tmp_path / "empty.log"
    log.write_text("# nothing received\n")
    assert cli.main(["fit-latency", str(log), "--name", "x", "--models-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no session type with 2 or more received messages" in err, err
    assert len(err.strip().splitlines()) == 1
