# private: shortens the backtest's progress interval (`backtest._PROGRESS_EVERY`)
"""``kalshi-fix backtest``: one run writes its report, a sweep its ranking; a failing strategy
exits 1 naming the run and the simulated time; bad arguments exit 2 with one line."""

from __future__ import annotations

import io
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from kalshi_fix_sansio.cli import main

QUOTER = "kalshi_fix_sansio.simulator.testing.strategies:quoter"


def test_one_run_prints_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the shipped sample is found by name from anywhere
    assert main(["backtest", QUOTER, "paper-sample.log", "--param", "edge=0.03"]) == 0
    out, err = capsys.readouterr()
    assert "KXPAPER-26NOV20-A" in out and "max drawdown" in out
    assert "recording clock" not in err  # not a terminal: no progress lines
    result = json.loads((tmp_path / "paper-sample.log.backtest.json").read_text())
    assert result["run"]["params"]["edge"] == 0.03
    assert (tmp_path / "paper-sample.log.backtest.svg").read_text().startswith("<svg")


def test_a_sweep_ranks_its_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["backtest", QUOTER, "paper-sample.log", "--grid", "edge=0.01,0.03"]
    assert main([*args, "--jobs", "1", "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["rank", "params", "recordings"]
    assert len(table) == 4  # head, two runs, the file written
    runs = json.loads((tmp_path / "sweep.json").read_text())["runs"]
    for row, run in zip(table[1:3], runs, strict=True):
        figures = run["result"]["statistics"]["total"]  # the table: cents, 2 decimals, percent
        assert row.split()[-5:-1] == [
            f"{Decimal(figures['total']):+.2f}",
            f"{figures['sharpe']:.2f}",
            f"{Decimal(figures['max_drawdown']):.2f}",
            f"{figures['fill_ratio']:.1%}",
        ]
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    assert [r["rank"] for r in sweep["runs"]] == [1, 2]
    totals = [float(r["result"]["statistics"]["total"]["total"]) for r in sweep["runs"]]
    assert totals == sorted(totals, reverse=True)


def test_a_failing_strategy_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    strategy = tmp_path / "broken.py"
    strategy.write_text("def strategy(ctx):\n    raise ValueError('no quotes today')\n")
    assert main(["backtest", str(strategy), "paper-sample.log", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "backtest paper-sample.log: at 2026-11-20T14:59:55" in err
    assert "ValueError: no quotes today" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py", "paper-sample.log"], "strategy file missing.py not found"),
        ([QUOTER, "nothing.log"], "nothing.log"),
        ([QUOTER, "paper-sample.log", "--latency", "fast"], "latency 'fast'"),
        ([QUOTER, "paper-sample.log", "--param", "edge"], "expected NAME=VALUE"),
        ([QUOTER, "paper-sample.log", "--queue-model", "nope"], "unknown queue model"),
        ([QUOTER, "paper-sample.log", "--out", __file__], "is a file, not a folder"),
        (
            [QUOTER, "paper-sample.log", "--param", "colour=blue"],
            "--param colour=blue: the strategy kalshi_fix_sansio.simulator.testing.strategies:quoter has "
            "no parameter 'colour' (its parameters: edge, max_position, size)",
        ),
        (
            [QUOTER, "paper-sample.log", "--grid", "egde=0.01,0.02,0.03"],
            "--grid egde=0.01,0.02,0.03: the strategy kalshi_fix_sansio.simulator.testing.strategies:quoter"
            " has no parameter 'egde' (its parameters: edge, max_position, size)",
        ),
        ([QUOTER, "paper-sample.log", "--param", "edge=abc"], "--param edge=abc: edge takes a"),
        ([QUOTER, "paper-sample.log", "--param", "edge=NaN"], "--param edge=NaN: edge takes a"),
        ([QUOTER, "paper-sample.log", "--grid", "edge="], "--grid edge=: no value"),
        ([QUOTER, "paper-sample.log", "--grid", "edge=0.01,,0.03"], "--grid edge=: no value"),
        ([QUOTER, "paper-sample.log", "--grid", "size=1,two"], "--grid size=two: size takes a"),
        (
            [QUOTER, "paper-sample.log", "--settle", "KXPAPER-26NOV20-A=maybe"],
            "--settle KXPAPER-26NOV20-A=maybe: the result is yes or no",
        ),
        (
            [QUOTER, "paper-sample.log", "--settle", "NOPE-1=yes"],
            "--settle NOPE-1=yes: NOPE-1 is not a market of the recordings",
        ),
        (
            [QUOTER, "paper-sample.log", "--grid", "edge=0.01,0.02", "--settle", "NOPE-1=yes"],
            "--settle NOPE-1=yes: NOPE-1 is not a market of the recordings",
        ),
        ([QUOTER, "paper-sample.log", "--overrun", "0"], "--overrun: '0' is not a number of"),
        ([QUOTER, "paper-sample.log", "--sample-interval", "x"], "--sample-interval: 'x' is"),
    ],
)
def test_bad_arguments_exit_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each mistake: exit 2 and one line naming the option, before any run (no report
    written, nothing on standard output)."""
    monkeypatch.chdir(tmp_path)
    try:
        status = main(["backtest", *args])
    except SystemExit as exc:  # argparse's own refusals exit by themselves
        status = exc.code
    assert status == 2
    assert list(tmp_path.iterdir()) == []
    out, err = capsys.readouterr()
    assert err.startswith("kalshi-fix backtest: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_run_shows_its_progress_on_a_terminal_at_most_once_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every 1,000 messages the run says where it is (here every 100, the sample being short);
    the terminal gets a line only when a second passed since the last (each look here is half
    a second after the one before)."""
    import kalshi_fix_sansio.cli.backtest as cli_backtest
    import kalshi_fix_sansio.simulator.backtests.backtest as backtest_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(backtest_module, "_PROGRESS_EVERY", 100)
    clock = iter(range(100))
    monkeypatch.setattr(cli_backtest.time, "monotonic", lambda: next(clock) / 2)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["backtest", QUOTER, "paper-sample.log"]) == 0
    lines = terminal.getvalue().splitlines()
    # looks at 100, 200, 300, 400 messages, 0.5 s apart, after the first look at 0 s
    assert lines == [
        "200 messages, recording clock 2026-11-20 15:03:05 UTC",
        "400 messages, recording clock 2026-11-20 15:07:02 UTC",
    ]


def test_out_is_made_when_missing_and_the_options_reach_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out results`` that does not exist yet is made; ``--sample-interval`` sets the
    statistics' sampling (one sample at the start, one each 30 s, one at the end of the 431
    simulated seconds); the figures print at their stated precision."""
    where = tmp_path / "results" / "day"
    args = ["backtest", QUOTER, "paper-sample.log", "--out", str(where)]
    assert main([*args, "--sample-interval", "30"]) == 0
    out = capsys.readouterr().out
    result = json.loads((where / "paper-sample.log.backtest.json").read_text())
    total = result["statistics"]["total"]
    assert result["statistics"]["sample_interval"] == 30.0
    assert total["samples"] == 1 + 14 + 1  # 0, 30, ..., 420 s and the end
    drawdown = Decimal(total["max_drawdown"]).quantize(Decimal("0.01"))
    line = next(ln for ln in out.splitlines() if ln.startswith("max drawdown"))
    assert line.startswith(f"max drawdown ${drawdown} (over the P&L curve), Sharpe ")
    assert "(per 30 s sample, 16 samples)" in line
    assert f"fill ratio {total['fill_ratio']:.1%}" in line


def test_overrun_names_what_the_user_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strategy = tmp_path / "forever.py"
    strategy.write_text("def strategy(ctx):\n    while True:\n        ctx.sleep(1)\n")
    args = ["backtest", str(strategy), "paper-sample.log", "--out", str(tmp_path)]
    assert main([*args, "--overrun", "20"]) == 1
    err = capsys.readouterr().err
    assert "by more than overrun (20 s of simulated time; --overrun" in err
    assert "at 2026-11-20T15:07:26" in err  # the recording's end, 15:07:06, and 20 s
