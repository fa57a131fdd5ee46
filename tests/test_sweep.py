"""Sweeps (`kalshi_fix_sansio.simulator.research.sweep`): a strategy file over a grid of parameters × recordings,
the same ranking to the byte in serial, on worker processes and on a Dask cluster (the
``sweep`` extra, installed by the dev extra: a local cluster here); a failed run named and the
rest kept; bad arguments named; the ``kalshi-fix backtest --grid`` command on Dask."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import dask

# the sweep extra, which the dev extra installs: this module fails without it, never skips (and
# Dask's own config is complete before a test sets some of it)
import distributed  # noqa: F401
import pytest

from kalshi_fix_sansio import cli
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.research.sweep import (
    RANKINGS,
    RunOutcome,
    SweepResult,
    grid,
    load_strategy,
    run_sweep,
)
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING, write_recording

STRATEGY = '''\
"""Buys ``size`` at the first best offer of the first market, then holds to the end."""

import logging
from decimal import Decimal

from kalshi_fix_sansio import ApplicationMessage
from kalshi_fix_sansio.trading.book import Books
from kalshi_fix_sansio.trading.builders import ClOrdIDGenerator, Requests

PARAMS = {"size": 1, "fail": False}


def strategy(ctx):
    if ctx.params["fail"]:
        # what a Dask worker logs as it works (a slow event loop, its memory): not the user's
        logging.getLogger("distributed.worker").warning("a Dask worker's own warning")
        raise RuntimeError("told to fail")
    orders = Requests(ctx.product, "KalshiNR", cl_ord_ids=ClOrdIDGenerator("sw-", sequential=True))
    books = Books()
    bought = False
    with ctx.client(market_data=True).market_data() as md, ctx.client().order_entry() as oe:
        md.send(Requests(ctx.product, "KalshiMD").subscribe(ctx.symbol), resubscribe=True)
        while ctx.seconds > 0:
            event = md.next_event(timeout=ctx.seconds)
            if event is None:
                break
            if bought or not isinstance(event, ApplicationMessage):
                continue
            if ctx.symbol in books.apply(event.message):
                offer = books[ctx.symbol].best_offer()
                if offer is not None:
                    size = Decimal(str(ctx.params["size"]))
                    oe.send(orders.new_order(ctx.symbol, "buy", size, offer.price))
                    bought = True
'''

TRIVIAL = "def strategy(ctx):\n    return None\n"
"""A strategy that returns at once: what a run costs besides the strategy."""


@pytest.fixture(scope="module")
def strategy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sweep-strategy") / "buy_once.py"
    path.write_text(STRATEGY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    where = tmp_path_factory.mktemp("sweep-recordings")
    paths = []
    for day in (1, 2):  # in time order: a run may take them in sequence
        path = where / f"day-{day}.log"
        with path.open("w", encoding="utf-8") as out:
            write_recording(out, messages=120, seed=day, start=1_790_000_000.0 + day * 1_800)
        paths.append(path)
    return paths


POINTS = grid(size=[1, 4], fail=[False, True])
"""Two parameter sets that trade, and two whose runs fail: 8 runs over the 2 recordings."""
FAILED = [2, 3, 6, 7]


def _serial(strategy_file: Path, recordings: list[Path]) -> SweepResult:
    return run_sweep(f"{strategy_file}:strategy", recordings, POINTS, jobs=1, seed=1)


def test_a_failed_run_is_named_and_the_others_keep_their_results(
    strategy_file: Path, recordings: list[Path]
) -> None:
    result = _serial(strategy_file, recordings)
    assert [run.index for run in result.runs] == list(range(8))
    failed = {run.index: run for run in result.failed}
    assert sorted(failed) == FAILED
    for index, run in failed.items():
        assert run.result is None
        assert run.error is not None and "told to fail" in run.error
        assert f"run-{index}" in run.error
        assert dict(run.params) == {"size": 4 if index > 3 else 1, "fail": True}
        assert run.recordings == (f"day-{1 + index % 2}.log",)
    for run in result.runs:
        if run.index not in FAILED:
            assert run.error is None and run.result is not None
            assert run.result["statistics"]["total"]["fills"] > 0
    table = result.table().splitlines()  # a header, 8 runs (the failed last), 4 errors
    assert [line.split()[-1] for line in table[5:9]] == ["failed"] * 4
    assert table[9].startswith("rank 5: backtest run-2: at ") and "told to fail" in table[9]


def test_each_ranking_orders_the_runs_by_its_figure(
    strategy_file: Path, recordings: list[Path]
) -> None:
    result = _serial(strategy_file, recordings)
    for by in RANKINGS:
        ranked = result.ranked(by)
        finished = [run for run in ranked if run.figure(by) is not None]
        figures = [run.figure(by) for run in finished]
        best_first = sorted(figures, reverse=by != "max_drawdown")
        assert figures == best_first, by
        rest = [run.index for run in ranked[len(finished) :]]  # no figure: in sweep order
        assert rest == sorted(rest) and set(FAILED) <= set(rest), by
        document = json.loads(result.to_json(by))
        assert document["ranked_by"] == by
        assert [run["index"] for run in document["runs"]] == [run.index for run in ranked]
        assert [run["rank"] for run in document["runs"]] == list(range(1, 9))
    with pytest.raises(LocalProtocolError, match=r"rank by one of total, sharpe.*'pnl'"):
        result.ranked("pnl")


def test_ties_keep_the_sweep_order() -> None:
    runs = tuple(
        RunOutcome(i, {}, ("r.log",), {"statistics": {"total": {"total": "1.00"}}}, None)
        for i in range(3)
    )
    assert [run.index for run in SweepResult(runs).ranked("total")] == [0, 1, 2]


def test_a_run_over_every_recording_in_sequence(
    strategy_file: Path, recordings: list[Path]
) -> None:
    result = run_sweep(f"{strategy_file}:strategy", recordings, [{"size": 1}], each=False, jobs=1)
    (run,) = result.runs
    assert run.recordings == ("day-1.log", "day-2.log")
    assert run.result is not None and run.result["run"]["recordings"] == list(run.recordings)


def test_grid() -> None:
    assert grid(edge=[1, 2], size=[1, 5]) == [
        {"edge": 1, "size": 1},
        {"edge": 1, "size": 5},
        {"edge": 2, "size": 1},
        {"edge": 2, "size": 5},
    ]
    assert grid(size=iter([3])) == [{"size": 3}]
    assert grid() == [{}]
    with pytest.raises(LocalProtocolError, match="grid: size has no value"):
        grid(edge=[1], size=[])


def test_load_strategy_gives_the_function_and_its_params(strategy_file: Path) -> None:
    function, params = load_strategy(str(strategy_file))  # the name defaults to strategy
    assert function.__name__ == "strategy"
    assert params == {"size": 1, "fail": False}
    again, _ = load_strategy(f"{strategy_file}:strategy")
    assert again is function  # loaded once per process
    by_module, none = load_strategy("kalshi_fix_sansio.simulator.research.sweep:grid")
    assert by_module is grid and none == {}


def test_load_strategy_names_what_is_wrong(tmp_path: Path) -> None:
    missing = tmp_path / "missing.py"
    with pytest.raises(LocalProtocolError, match=f"strategy file {missing} not found"):
        load_strategy(str(missing))
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(LocalProtocolError, match=f"{empty} has no strategy function 'run'"):
        load_strategy(f"{empty}:run")
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_here\n", encoding="utf-8")
    with pytest.raises(LocalProtocolError, match=f"strategy file {broken}: ModuleNotFoundError"):
        load_strategy(str(broken))
    bad_params = tmp_path / "bad_params.py"
    bad_params.write_text(TRIVIAL + "PARAMS = [1]\n", encoding="utf-8")
    with pytest.raises(LocalProtocolError, match="PARAMS must be a dict, got list"):
        load_strategy(str(bad_params))
    with pytest.raises(LocalProtocolError, match=r"strategy module no_such_pkg\.mod: "):
        load_strategy("no_such_pkg.mod:strategy")


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    trivial = tmp_path / "trivial.py"
    trivial.write_text(TRIVIAL, encoding="utf-8")
    reference = f"{trivial}:strategy"
    sample = [SAMPLE_RECORDING]
    with pytest.raises(LocalProtocolError, match="engine must be one of local, dask, got 'ray'"):
        run_sweep(reference, sample, engine="ray")
    with pytest.raises(LocalProtocolError, match="a sweep needs at least one recording"):
        run_sweep(reference, [])
    with pytest.raises(LocalProtocolError, match="a sweep needs at least one parameter set"):
        run_sweep(reference, sample, [])
    with pytest.raises(LocalProtocolError, match="'tcp://h:8786' is a Dask scheduler's"):
        run_sweep(reference, sample, address="tcp://h:8786")
    with pytest.raises(LocalProtocolError, match=f"strategy file {tmp_path / 'nope.py'} not"):
        run_sweep(f"{tmp_path / 'nope.py'}:strategy", sample)
    with pytest.raises(LocalProtocolError, match=f"{trivial} has no strategy function 'other'"):
        run_sweep(f"{trivial}:other", sample)


def test_a_relative_strategy_file_is_sent_by_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker of a cluster may run in another directory: the run carries absolute paths.
    Here the first run's strategy moves the process to another directory; the second run,
    in the same process after it, still finds the strategy file and its recording."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    wanders = f"import os\n\ndef strategy(ctx):\n    os.chdir({str(elsewhere)!r})\n"
    (tmp_path / "wanders.py").write_text(wanders, encoding="utf-8")
    for name in ("day-1.log", "day-2.log"):
        (tmp_path / name).write_bytes(Path(SAMPLE_RECORDING).read_bytes())
    monkeypatch.chdir(tmp_path)  # the directory is put back after the test
    result = run_sweep("wanders.py:strategy", ["day-1.log", "day-2.log"], jobs=1)
    assert Path.cwd() == elsewhere  # the second run ran in another directory
    assert [(o.recordings, o.error) for o in result.runs] == [
        (("day-1.log",), None),
        (("day-2.log",), None),
    ]


def test_dask_without_its_extra_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trivial = tmp_path / "trivial.py"
    trivial.write_text(TRIVIAL, encoding="utf-8")
    monkeypatch.setitem(sys.modules, "distributed", None)  # its import fails
    # a command that works from a checkout or a wheel (the package is not on PyPI yet)
    with pytest.raises(LocalProtocolError, match=r'pip install -e "\.\[sweep\]" in a checkout'):
        run_sweep(f"{trivial}:strategy", [SAMPLE_RECORDING], engine="dask")


def test_a_dask_scheduler_that_cannot_be_reached_is_named(tmp_path: Path) -> None:
    trivial = tmp_path / "trivial.py"
    trivial.write_text(TRIVIAL, encoding="utf-8")
    with socket.socket() as free:  # a port nothing listens on once closed
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(LocalProtocolError, match=f"the Dask scheduler at {address} cannot be"),
    ):
        run_sweep(f"{trivial}:strategy", [SAMPLE_RECORDING], engine="dask", address=address)


def test_serial_parallel_and_the_command_on_dask_give_the_same_bytes(
    strategy_file: Path,
    recordings: list[Path],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """8 runs (4 parameter sets × 2 recordings, 4 of them failing): the JSON of every ranking
    is byte-identical in serial and on 2 worker processes, and ``kalshi-fix backtest
    FILE:strategy RECORDINGS --grid ... --engine dask --jobs 2`` (`run_sweep` on a local Dask
    cluster of 2 workers: the one cluster this suite starts) prints the same ranking and
    writes the same sweep.json; the finished runs traded and differ, so a result given to the
    wrong run would show. The workers' own warnings (each failing run makes one) do not reach
    the command's standard error: it has the runs' lines only."""
    serial = _serial(strategy_file, recordings)
    parallel = run_sweep(f"{strategy_file}:strategy", recordings, POINTS, jobs=2, seed=1)
    for by in RANKINGS:
        assert parallel.to_json(by) == serial.to_json(by), by
    totals = {run.figure("total") for run in serial.runs if run.result is not None}
    assert len(totals) == 4, "every finished run should have its own total"
    command = ["backtest", f"{strategy_file}:strategy", *map(str, recordings), "--seed", "1"]
    command += ["--grid", "size=1,4", "--grid", "fail=false,true", "--engine", "dask"]
    capfd.readouterr()  # what the serial runs printed
    status = cli.main([*command, "--jobs", "2", "--rank-by", "sharpe", "--out", str(tmp_path)])
    printed = capfd.readouterr()  # the workers' too: their standard error is this process's
    assert status == 1, printed.err  # runs failed: listed, and the status says so
    assert (tmp_path / "sweep.json").read_text(encoding="utf-8") == serial.to_json("sharpe")
    assert serial.table("sharpe") in printed.out
    finished = [line for line in printed.err.splitlines() if line.startswith("run ")]
    assert len(finished) == 8 and sum(" failed (" in line for line in finished) == 4
    assert printed.err.splitlines() == finished, printed.err


def test_a_ranking_keeps_true_ties_exact() -> None:
    """Totals are exact decimal strings, ranked exactly: 0.005 and 0.0050 are one figure
    (sweep order decides); 0.00500000000000000001, which a float reads as 0.005, ranks above
    them, and 0.004999 below."""

    def run(index: int, total: str) -> RunOutcome:
        figures = {"total": total, "sharpe": None, "max_drawdown": "0", "fill_ratio": None}
        result = {"statistics": {"total": {**figures, "fills": 1}}}
        return RunOutcome(index, {"n": index}, ("day.log",), result, None)

    totals = ("0.004999", "0.0050", "0.005", "0.00500000000000000001")
    sweep = SweepResult(tuple(run(i, total) for i, total in enumerate(totals)))
    assert [r.index for r in sweep.ranked("total")] == [3, 1, 2, 0]
    assert sweep.runs[1].figure("total") == sweep.runs[2].figure("total")
