"""The one-page HTML tearsheet (`kalshi_fix_sansio.simulator.research.tearsheet`): opened in headless
Chromium with every request watched (the page itself is the only one), its sections rendered;
the same result gives the same bytes; a backtest's, a paper report's and a sweep's, from the
API and the command line."""

from __future__ import annotations

import os
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.simulator.backtests.backtest import BacktestResult, run_backtest
from kalshi_fix_sansio.simulator.research.sweep import run_sweep
from kalshi_fix_sansio.simulator.research.tearsheet import tearsheet_html, write_tearsheet
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_RECORDING,
)
from kalshi_fix_sansio.simulator.testing.strategies import quoter
from kalshi_fix_sansio.trading.funding import (
    FundingRate,
    FundingSchedule,
    RebateRule,
    Rebates,
)

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
QUOTER = "kalshi_fix_sansio.simulator.testing.strategies:quoter"
REPORT_SECTIONS = ("summary", "curves", "drawdown", "per-day", "per-market", "fills")


@pytest.fixture(scope="module")
def margin_run() -> BacktestResult:
    when = 1_795_186_860.0  # 2026-11-20T15:01:00Z, inside the margin sample
    schedule = FundingSchedule(
        [FundingRate("KXPAPER-PERP-A", when + 60 * n, D("0.0004"), D("19.5")) for n in range(2)]
    )
    return run_backtest(
        quoter,
        MARGIN_SAMPLE_RECORDING,
        params={"size": 3, "edge": 0.01},
        funding=schedule,
        rebates=Rebates([RebateRule("KXPAPER", maker_per_contract=D("0.003"))]),
    )


def _open(path: Path) -> dict[str, Any]:
    """Open ``path`` in headless Chromium: every request made, and what each section shows."""
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--proxy-server=http://127.0.0.1:9"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri(), wait_until="load")
        shown = page.evaluate(
            """() => Object.fromEntries(Array.from(document.querySelectorAll('section')).map(
                 (s) => [s.id, {height: s.getBoundingClientRect().height,
                                svgs: s.querySelectorAll('svg').length,
                                rows: s.querySelectorAll('tbody tr').length,
                                text: s.innerText}]))"""
        )
        browser.close()
    return {"requests": requests, "sections": shown}


def test_a_backtest_s_tearsheet_renders_offline_with_every_section(
    margin_run: BacktestResult, tmp_path: Path
) -> None:
    path = write_tearsheet(margin_run, tmp_path / "run.html")
    seen = _open(path)
    assert seen["requests"] == [path.as_uri()], "the page fetched something"
    sections = seen["sections"]
    for name in (*REPORT_SECTIONS, "funding", "statistics", "run"):
        assert sections[name]["height"] > 20, f"section {name} not rendered"
    assert sections["curves"]["svgs"] == 1 and sections["drawdown"]["svgs"] == 1
    assert sections["fills"]["rows"] == len(margin_run.report.fills) > 0
    assert sections["funding"]["rows"] == len(margin_run.report.funding or ())
    assert "Rebates received" in sections["summary"]["text"]
    assert "Funding received" in sections["summary"]["text"]
    assert f"Total P&L\n${margin_run.report.total.normalize()}" in sections["summary"]["text"]
    text = path.read_text()
    assert "<script" not in text and "http://" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_the_same_result_gives_the_same_bytes(margin_run: BacktestResult) -> None:
    again = run_backtest(
        quoter,
        MARGIN_SAMPLE_RECORDING,
        params={"size": 3, "edge": 0.01},
        funding=FundingSchedule(
            [
                FundingRate("KXPAPER-PERP-A", 1_795_186_860.0 + 60 * n, D("0.0004"), D("19.5"))
                for n in range(2)
            ]
        ),
        rebates=Rebates([RebateRule("KXPAPER", maker_per_contract=D("0.003"))]),
    )
    assert tearsheet_html(again) == tearsheet_html(margin_run)


def test_a_paper_report_s_tearsheet_has_no_funding_section_without_a_schedule(
    tmp_path: Path,
) -> None:
    result = run_backtest(quoter, SAMPLE_RECORDING, settle={"KXPAPER-26NOV20-B": "yes"})
    path = write_tearsheet(result.report, tmp_path / "paper.html")
    seen = _open(path)
    assert seen["requests"] == [path.as_uri()]
    assert set(seen["sections"]) == set(REPORT_SECTIONS)
    assert "funding" not in seen["sections"]["per-market"]["text"].lower()


def test_a_sweep_s_tearsheet_ranks_its_runs(tmp_path: Path) -> None:
    sweep = run_sweep(
        QUOTER, [SAMPLE_RECORDING], [{"edge": 0.01}, {"edge": 0.03}], jobs=1, each=False
    )
    path = write_tearsheet(sweep, tmp_path / "sweep.html")
    seen = _open(path)
    assert seen["requests"] == [path.as_uri()]
    assert set(seen["sections"]) == {"ranking"}  # no walk-forward figures: no such section
    assert seen["sections"]["ranking"]["rows"] == 2
    assert "edge=0.01" in seen["sections"]["ranking"]["text"]


def test_anything_else_is_refused() -> None:
    with pytest.raises(TypeError, match="a BacktestResult, a PaperReport or a SweepResult"):
        tearsheet_html({"total": 1})  # type: ignore[arg-type]


def test_the_command_line_writes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "bt.html"
    argv = ["backtest", QUOTER, str(SAMPLE_RECORDING), "--out", str(tmp_path)]
    assert main([*argv, "--tearsheet", str(sheet)]) == 0
    assert f"tearsheet: {sheet}" in capsys.readouterr().out
    assert '<section id="per-market">' in sheet.read_text()
    grid = tmp_path / "grid.html"
    assert main([*argv, "--grid", "edge=0.01,0.03", "--jobs", "1", "--tearsheet", str(grid)]) == 0
    assert '<section id="ranking">' in grid.read_text()
    capsys.readouterr()
    made = tmp_path / "missing" / "x.html"  # its folder is made
    assert main([*argv, "--tearsheet", str(made)]) == 0 and made.is_file()
    capsys.readouterr()
    nowhere = sheet / "x.html"  # under a file: no folder can be made
    assert main([*argv, "--tearsheet", str(nowhere)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--tearsheet" in err and "is a file, not a folder" in err


def test_paper_trading_s_command_takes_funding_rebates_and_writes_the_tearsheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kalshi-fix mock-gateway --replay REC --funding --rebates --tearsheet``: the report
    counts them (the JSON's fields, even with nothing paid) and the page is written; a bad
    rebates file is one line, exit 2, before the gateway starts."""
    import io
    import json
    import shutil
    import sys

    recording = tmp_path / "perps.log"
    shutil.copy(MARGIN_SAMPLE_RECORDING, recording)
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "market_ticker,funding_time,funding_rate,mark_price\n"
        "KXPAPER-PERP-A,2026-11-20T15:01:00Z,0.0004,19.5\n"
    )
    rebates = tmp_path / "rebates.json"
    rebates.write_text('{"rules": [{"markets": "KXPAPER", "maker_per_contract": "0.003"}]}')
    sheet = tmp_path / "paper.html"
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # the admin console: no commands
    replay = ["mock-gateway", "--product", "margin", "--plain", "--port-base", "0", "--replay"]
    argv = [*replay, str(recording), "--start", "now", "--as-fast-as-possible", "--exit-at-end"]
    more = ["--funding", str(rates), "--rebates", str(rebates), "--tearsheet", str(sheet)]
    assert main([*argv, *more]) == 0
    out = capsys.readouterr().out
    assert f"tearsheet: {sheet}" in out and "funding" in out
    doc = json.loads((tmp_path / "perps.log.paper.json").read_text())
    assert doc["funding"] == "0" and doc["funding_payments"] == [] and doc["rebates"] == "0"
    assert '<section id="funding">' in sheet.read_text()
    rebates.write_text('{"rules": [{"markets": "KXPAPER", "maker_per_contract": "-1"}]}')
    assert main([*argv, *more]) == 2
    out, err = capsys.readouterr()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"kalshi-fix mock-gateway: --rebates {rebates}: rule 1:")
