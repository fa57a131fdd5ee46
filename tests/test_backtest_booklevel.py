"""Book-level backtests (`kalshi_fix_sansio.simulator.backtests.booklevel`): the same strategy and wake
schedule give the same report at the FIX level and at the book level."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.backtests.backtest import Context, run_backtest
from kalshi_fix_sansio.simulator.backtests.booklevel import MODES, Wake
from kalshi_fix_sansio.simulator.research.sweep import grid, run_sweep
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_RECORDING,
    SAMPLE_SETTLED,
    write_recording,
)
from kalshi_fix_sansio.simulator.testing.strategies import async_quoter, book_quoter
from kalshi_fix_sansio.simulator.world.latency import ConstantLatency, LogNormalLatency

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("booklevel") / "generated.log"
    with path.open("w") as out:
        write_recording(out, messages=400, seed=11, settle={"KXPAPER-26NOV20-A": "no"})
    return path


_QUOTER = "kalshi_fix_sansio.simulator.testing.strategies:book_quoter"


def _without_mode(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.to_json())
    assert data["run"].pop("mode", "fix") == result.run.get("mode", "fix")
    return data


def _both(recording: Path, **options: Any) -> tuple[Any, Any]:
    fix = run_backtest(book_quoter, recording, cache=False, **options)
    book = run_backtest(book_quoter, recording, cache=False, mode="book", **options)
    return fix, book


CASES: dict[str, dict[str, Any]] = {
    "no latency": {},
    "order entry drawn, market data constant": {
        "latency": {"KalshiNR": LogNormalLatency(0.02), "KalshiMD": ConstantLatency(0.05)}
    },
    "one constant model": {"latency": ConstantLatency(0.01)},
    "a short timer": {"params": {"every": 2.0, "edge": 0.01}},
}


@pytest.mark.parametrize("case", CASES)
def test_the_same_report_at_the_fix_level_and_the_book_level(case: str, generated: Path) -> None:
    fix, book = _both(generated, seed=5, **CASES[case])
    assert "mode" not in fix.run and book.run["mode"] == "book"
    assert _without_mode(book) == _without_mode(fix)
    assert fix.statistics["total"]["fills"] > 0  # it trades
    assert fix.statistics["total"]["orders"] > fix.statistics["total"]["fills"]  # and cancels


@pytest.mark.parametrize("recording", [SAMPLE_RECORDING, MARGIN_SAMPLE_RECORDING])
def test_the_shipped_samples_give_the_same_report_in_both_modes(recording: Path) -> None:
    settle = SAMPLE_SETTLED if recording == SAMPLE_RECORDING else None
    fix, book = _both(recording, settle=settle, params={"every": 5.0, "edge": 0.005})
    assert _without_mode(book) == _without_mode(fix)
    assert fix.statistics["total"]["fills"] > 0


def test_a_wake_says_why_and_the_books_are_the_watched_markets(generated: Path) -> None:
    seen: dict[str, list[Any]] = {"fix": [], "book": []}

    def strategy(ctx: Context) -> None:
        assert ctx.wait(0) == Wake(ctx.time())  # a timer wake at once: nothing watched yet
        ctx.watch(ctx.symbol)
        ctx.watch([ctx.symbol])  # named twice: once
        with ctx.order_entry() as oe:
            assert ctx.order_entry() is oe
            while (wake := ctx.wait(0.5)) is not None:
                assert wake.markets in ((), (ctx.symbol,))
                book = ctx.books[ctx.symbol]
                orders = tuple(type(event).__name__ for event in wake.orders)
                seen[ctx.mode].append((wake.time, wake.timer, book.top(), len(ctx.books), orders))
        assert ctx.seconds == 0

    for mode in MODES:
        run_backtest(strategy, generated, cache=False, mode=mode)
    assert seen["book"] == seen["fix"]
    assert any(timer for _, timer, *_ in seen["fix"])
    assert sum(not timer for _, timer, *_ in seen["fix"]) > 100
    assert {n for *_, n, _ in seen["fix"]} == {1}  # only the watched market's book
    assert seen["fix"][0][-1] == ("LoggedOn",)  # the order-entry session's events wake it


def test_the_modes_and_their_limits_are_named(generated: Path) -> None:
    with pytest.raises(LocalProtocolError, match="mode must be one of fix, book, got 'tick'"):
        run_backtest(book_quoter, generated, mode="tick")
    with pytest.raises(LocalProtocolError, match="mode='book' runs blocking strategies"):
        run_backtest(async_quoter, generated, mode="book")
    with pytest.raises(LocalProtocolError, match="LogNormalLatency for KalshiMD"):
        run_backtest(book_quoter, generated, mode="book", latency=LogNormalLatency(0.01))

    def bad_wait(ctx: Context) -> None:
        ctx.wait(-1)

    def bad_watch(ctx: Context) -> None:
        bad: Any = [ctx.symbol, 7]
        ctx.watch(bad)

    for mode in MODES:
        with pytest.raises(Exception, match="timeout must be seconds >= 0, got -1"):
            run_backtest(bad_wait, generated, mode=mode)
        with pytest.raises(Exception, match=r"ctx.watch: markets are named by their tickers"):
            run_backtest(bad_watch, generated, mode=mode)


def test_a_sweep_ranks_the_same_serial_on_processes_and_on_dask_in_both_modes() -> None:
    """Both modes' sweeps rank the same in this process, on 2 worker processes and on a local
    Dask cluster of 2 workers (one cluster, both modes' sweeps), and the two modes' rankings
    are the same table."""
    from dask.distributed import LocalCluster

    points = grid(edge=[0.005, 0.02], every=[5.0])
    tables = {}
    untyped: Any = LocalCluster
    # no dashboard, and the scheduler's HTTP server (which starts without one) on a free
    # loopback port: 8787, its default, may be taken by another cluster on this machine
    cluster_of_two = untyped(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )
    with cluster_of_two as cluster:
        for mode in MODES:
            options: dict[str, Any] = {"mode": mode, "cache": False, "seed": 3}
            serial = run_sweep(_QUOTER, [SAMPLE_RECORDING], points, jobs=1, **options)
            local = run_sweep(_QUOTER, [SAMPLE_RECORDING], points, jobs=2, **options)
            on_dask = run_sweep(
                _QUOTER,
                [SAMPLE_RECORDING],
                points,
                engine="dask",
                address=cluster.scheduler_address,
                **options,
            )
            assert local.to_json() == serial.to_json() == on_dask.to_json(), mode
            assert all(run.error is None for run in serial.runs)
            tables[mode] = serial.table("total")
    assert tables["book"] == tables["fix"]
    assert len({run.figure("total") for run in serial.runs}) > 1  # the ranking orders something


def test_the_command_runs_either_mode_and_names_a_mode_it_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the shipped sample is found by name from anywhere
    reports = {}
    for mode in MODES:
        where = tmp_path / mode
        args = ["backtest", _QUOTER, "paper-sample.log", "--param", "edge=0.005", "--mode", mode]
        assert main([*args, "--out", str(where)]) == 0
        assert "KXPAPER-26NOV20-A" in capsys.readouterr().out
        reports[mode] = json.loads((where / "paper-sample.log.backtest.json").read_text())
    assert reports["book"]["run"].pop("mode") == "book"
    assert reports["book"] == reports["fix"]
    async_ref = "kalshi_fix_sansio.simulator.testing.strategies:async_quoter"
    for args, message in (
        ([async_ref, "--mode", "book"], "--mode book: mode='book' runs blocking strategies"),
        ([_QUOTER, "--mode", "book", "--md-latency", "lognormal:0.1"], "LogNormalLatency"),
    ):
        assert main(["backtest", args[0], "paper-sample.log", *args[1:]]) == 2
        out, err = capsys.readouterr()
        assert err.startswith("kalshi-fix backtest: ") and message in err, err
        assert len(err.strip().splitlines()) == 1 and out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book", "fix"]  # nothing more written


def test_the_books_move_only_when_the_strategy_looks(generated: Path) -> None:
    """Between two waits (a sleep, a blocking order call) the books stay as the last wait left
    them in both modes: what arrived meanwhile waits for the next look, as a session's queued
    events do."""
    seen: dict[str, list[Any]] = {"fix": [], "book": []}

    def strategy(ctx: Context) -> None:
        ctx.watch(ctx.symbols)
        while (wake := ctx.wait(3.0)) is not None:
            before = [ctx.books[s].top() for s in wake.markets]
            ctx.simulation.run_for(7.0)  # simulated time passes (ctx.sleep)
            after = [ctx.books[s].top() for s in wake.markets]
            assert after == before
            seen[ctx.mode].append((wake.time, wake.markets, before))

    for mode in MODES:
        run_backtest(strategy, generated, cache=False, mode=mode)
    assert seen["book"] == seen["fix"] and len(seen["fix"]) > 50
