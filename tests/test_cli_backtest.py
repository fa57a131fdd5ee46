"""``kalshi-fix backtest``: one run writes its report, a sweep its ranking; a failing strategy
exits 1 naming the run and the simulated time; bad arguments exit 2 with one line."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from kalshi_fix_sansio.cli import main

QUOTER = "kalshi_fix_sansio.testing.strategies:quoter"


def test_one_run_prints_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the shipped sample is found by name from anywhere
    assert main(["backtest", QUOTER, "paper-sample.log", "--param", "edge=0.03"]) == 0
    out, err = capsys.readouterr()
    assert "KXPAPER-26NOV20-A" in out and "max drawdown" in out
    assert "recording clock" not in err  # not a terminal: no progress lines
    result = json.loads((tmp_path / "paper-sample.backtest.json").read_text())
    assert result["run"]["params"]["edge"] == 0.03
    assert (tmp_path / "paper-sample.backtest.svg").read_text().startswith("<svg")


def test_a_sweep_ranks_its_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["backtest", QUOTER, "paper-sample.log", "--grid", "edge=0.01,0.03"]
    assert main([*args, "--jobs", "1", "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["rank", "params", "recordings"]
    assert len(table) == 4  # head, two runs, the file written
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    assert [r["rank"] for r in sweep["runs"]] == [1, 2]
    totals = [float(r["result"]["statistics"]["total"]["total"]) for r in sweep["runs"]]
    assert totals == sorted(totals, reverse=True)


def test_a_failing_strategy_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    strategy = tmp_path / "broken.py"
    strategy.write_text("def strategy(ctx):\n    raise ValueError('no quotes today')\n")
    assert main(["backtest", str(strategy), "paper-sample.log", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "backtest paper-sample: at 2026-11-20T14:59:55" in err
    assert "ValueError: no quotes today" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py", "paper-sample.log"], "strategy file missing.py not found"),
        ([QUOTER, "nothing.log"], "nothing.log"),
        ([QUOTER, "paper-sample.log", "--latency", "fast"], "latency 'fast'"),
        ([QUOTER, "paper-sample.log", "--param", "edge"], "expected NAME=VALUE"),
        ([QUOTER, "paper-sample.log", "--queue-model", "nope"], "unknown queue model"),
        ([QUOTER, "paper-sample.log", "--out", "/nonexistent"], "not a directory"),
    ],
)
def test_bad_arguments_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kalshi-fix backtest: ") and message in err
    assert len(err.strip().splitlines()) == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_run_shows_its_progress_on_a_terminal_at_most_once_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every 1,000 messages the run says where it is (here every 100, the sample being short);
    the terminal gets a line only when a second passed since the last (each look here is half
    a second after the one before)."""
    import kalshi_fix_sansio.backtest as backtest_module
    import kalshi_fix_sansio.cli.backtest as cli_backtest

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
