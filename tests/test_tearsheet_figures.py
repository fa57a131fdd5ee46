"""The tearsheet (`kalshi_fix_sansio.simulator.research.tearsheet`) for people: every figure of the run's
JSON is on the page under a label in words, money as dollars, shares as percentages, the same
value read back from the page's text; the run's models written out (no repr, no raw field name);
no table cut off, nor the page wider than the window, at 1,280 and 800 px in headless Chromium."""

from __future__ import annotations

import os
import random
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import attrs
import pytest

from kalshi_fix_sansio.simulator.backtests.backtest import BacktestResult, run_backtest
from kalshi_fix_sansio.simulator.gateway import FeeRates, FeeSchedule, ProbQueue, queue_model
from kalshi_fix_sansio.simulator.research.tearsheet import tearsheet_html, write_tearsheet
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING
from kalshi_fix_sansio.simulator.testing.strategies import quoter
from kalshi_fix_sansio.simulator.world.latency import (
    ConstantLatency,
    EmpiricalLatency,
    LogNormalLatency,
    NoLatency,
)

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"

LABELS = {  # the statistics' labels, written here independently of the page's code
    "total": "Total P&L",
    "realized": "Realized P&L",
    "unrealized": "Unrealized P&L (at the last mid)",
    "fees": "Fees",
    "max_drawdown": "Largest drawdown",
    "sharpe": "Sharpe ratio (per sample, not annualized)",
    "fill_ratio": "Fill ratio (contracts filled / ordered)",
    "fills": "Fills",
    "orders": "Orders sent (new and replace)",
    "contracts_ordered": "Contracts ordered",
    "contracts_filled": "Contracts filled",
    "samples": "Samples",
    "max_abs_position": "Largest position (contracts)",
    "mean_abs_position": "Mean position (contracts)",
}
MONEY = {"total", "realized", "unrealized", "fees", "max_drawdown"}
COUNTS = {"fills", "orders", "samples"}


@pytest.fixture(scope="module")
def run() -> BacktestResult:
    """A backtest with a latency per session and a queue model, over both shipped markets
    (one settled)."""
    return run_backtest(
        quoter,
        SAMPLE_RECORDING,
        params={"size": 2, "edge": 0.02},
        settle={"KXPAPER-26NOV20-B": "yes"},
        latency={"KalshiNR": LogNormalLatency(0.02, 0.3), "KalshiMD": ConstantLatency(0.05)},
        queue_model=queue_model("prob-power:3"),
    )


class _Page(HTMLParser):
    """Each section's tables (rows of cell texts) and definition-list pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.pairs: dict[str, list[tuple[str, str]]] = {}
        self.section = ""
        self.cell: list[str] | None = None
        self.row: list[str] = []
        self.term = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.section = dict(attrs).get("id") or ""
        elif tag == "table":
            self.tables.setdefault(self.section, []).append([])
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th", "dt", "dd"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
        elif tag == "tr":
            self.tables[self.section][-1].append(self.row)
        elif tag == "dt" and self.cell is not None:
            self.term = "".join(self.cell).strip()
        elif tag == "dd" and self.cell is not None:
            self.pairs.setdefault(self.section, []).append((self.term, "".join(self.cell).strip()))
        if tag in ("td", "th", "dt", "dd"):
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _dollars(text: str) -> Decimal:
    """A money cell read back: ``$1,234.56`` or ``-$0.02``."""
    assert text.lstrip("-").startswith("$"), f"{text!r} is not money"
    return Decimal(text.replace("$", "").replace(",", ""))


def _same(key: str, value: Any, shown: str) -> None:
    """The page's text ``shown`` is the JSON's ``value`` of the figure ``key``."""
    where = f"{key}: {value!r} shown as {shown!r}"
    if value is None:
        assert shown == "-", where
    elif key in MONEY:
        assert _dollars(shown) == Decimal(value), where
    elif key == "fill_ratio":
        assert shown.endswith("%") and abs(float(shown[:-1]) - value * 100) <= 0.05, where
    elif key in COUNTS:
        assert int(shown.replace(",", "")) == value, where
    else:  # contracts, the Sharpe ratio: to two decimals
        assert abs(Decimal(shown.replace(",", "")) - Decimal(str(value))) <= Decimal("0.005"), where


def test_every_statistic_of_the_json_is_on_the_page_under_its_label(run: BacktestResult) -> None:
    statistics = run.as_json()["statistics"]
    (table,) = _page(tearsheet_html(run)).tables["statistics"]
    head, *rows = table
    markets = sorted(statistics["markets"])
    assert head == ["Figure", "All markets", *markets]
    by_label = {row[0]: row[1:] for row in rows}
    assert set(by_label) == {LABELS[k] for k in statistics["total"]}
    for key, label in LABELS.items():
        cells = by_label[label]
        _same(key, statistics["total"][key], cells[0])
        for market, shown in zip(markets, cells[1:], strict=True):
            _same(key, statistics["markets"][market][key], shown)


def test_the_summary_and_the_per_market_rows_are_the_report_s_figures(run: BacktestResult) -> None:
    report = run.as_json()["report"]
    page = _page(tearsheet_html(run))
    summary = dict(page.pairs["summary"])
    assert _dollars(summary["Total P&L"]) == Decimal(report["total"])
    assert _dollars(summary["Fees paid"]) == Decimal(report["fees"])
    (table,) = page.tables["per-market"]
    head, *rows = table
    column = {name: i for i, name in enumerate(head)}
    for market, row in zip(report["markets"], rows, strict=True):
        assert row[column["Market"]] == market["symbol"]
        for name, key in (("Realized P&L", "realized"), ("Total P&L", "total"), ("Fees", "fees")):
            assert _dollars(row[column[name]]) == Decimal(market[key]), (market["symbol"], key)
        assert Decimal(row[column["Position (contracts)"]]) == Decimal(market["position"])
    settled = rows[1][column["Marked at"]]
    assert settled == "settled yes $1.00", settled


def test_the_run_s_models_are_written_out(run: BacktestResult) -> None:
    html = tearsheet_html(run)
    items = dict(_page(html).pairs["run"])
    assert items["Queue model"] == "probabilistic, power 3 (the expected share)"
    assert items["Latency, order entry (KalshiNR)"] == "log-normal, median 20 ms, sigma 0.3"
    assert items["Latency, market data (KalshiMD)"] == "constant, 50 ms"
    assert items["Fees"] == (
        "taker 7.00%, maker 1.75% of contracts x price x (1 - price); "
        "each fill's fee rounded up to $0.01"
    )
    assert items["Strategy parameters"] == "edge = 0.02, size = 2"
    assert items["Run's clock"] == "2026-11-20 14:59:55 UTC to 2026-11-20 15:07:06 UTC"
    text = "\n".join(f"{k} {v}" for section in _page(html).pairs.values() for k, v in section)
    text += "\n".join(c for t in _page(html).tables.values() for rows in t for r in rows for c in r)
    for raw in ("Decimal(", "FeeRates", "FeeSchedule", "Queue(", "Latency(", "ProbQueue"):
        assert raw not in html, raw
    raw_names = set(run.as_json()["statistics"]["total"]) | set(run.run) | {"sample_interval"}
    for name in sorted(n for n in raw_names if "_" in n):
        assert name not in text, f"raw name {name} on the page"


def _clipped(path: Path, width: int) -> list[str]:
    """What is cut off on the page at ``width`` px: a table wider than the box around it, or
    the page wider than the window."""
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(path.as_uri(), wait_until="load")
        problems: list[str] = page.evaluate(
            """() => {
              const out = [];
              for (const t of document.querySelectorAll('table')) {
                const box = t.parentElement;
                if (t.getBoundingClientRect().width > box.clientWidth + 1)
                  out.push(`table "${t.querySelector('th').textContent}": ` +
                    `${Math.round(t.getBoundingClientRect().width)} px in ${box.clientWidth} px`);
              }
              const wide = document.documentElement.scrollWidth;
              if (wide > window.innerWidth + 1) out.push(`page ${wide} px wide`);
              return out;
            }"""
        )
        browser.close()
    return problems


@pytest.mark.parametrize("width", [1280, 800])
def test_nothing_is_cut_off(run: BacktestResult, tmp_path: Path, width: int) -> None:
    path = write_tearsheet(run, tmp_path / "run.html")
    assert _clipped(path, width) == []


def test_every_model_is_written_out(run: BacktestResult) -> None:
    """The other latency models, queue models drawn or not, a series' own fee rates (its
    multiplier too), and a model this page does not know: its name and fields, no repr."""
    fees = FeeSchedule(series={"KXBTC": FeeRates(taker=Decimal("0.035"), multiplier=Decimal(2))})
    cases = [
        (
            {"KalshiNR": ConstantLatency(0.1)},
            "fifo",
            {"Latency, order entry (KalshiNR)": "constant, 100 ms"},
        ),
        (
            {"KalshiMD": EmpiricalLatency([0.01, 0.02, 0.03])},
            "risk-averse",
            {
                "Latency, market data (KalshiMD)": "measured, 3 delays resampled (median 20 ms)",
                "Queue model": "risk-averse: every recorded cancellation is behind your order",
            },
        ),
        (
            NoLatency(),
            "prob-log",
            {
                "Latency, every session": "none",
                "Queue model": "probabilistic, log form (the expected share)",
            },
        ),
        (None, "fifo", {"Latency": "none: every message arrives at once"}),
    ]
    for latency, queue, expected in cases:
        plain = {k: v for k, v in run.run.items() if k not in ("latency", "models")}
        models = {"queue_model": repr(queue_model(queue)), "fees": repr(fees)}
        changed = attrs.evolve(run, run={**plain, "latency": _json(latency), "models": models})
        items = dict(_page(tearsheet_html(changed)).pairs["run"])
        for key, text in expected.items():
            assert items[key] == text, (key, items)
        assert (
            items["Fees, KXBTC"]
            == "taker 3.50%, maker as the product of contracts x price x (1 - price); times 2"
        )
    drawn = ProbQueue.power(2, rng=random.Random(1))
    odd = {"queue_model": repr(drawn), "fees": "MyFees(rate=Decimal('0.01'), name='desk')"}
    changed = attrs.evolve(run, run={**run.run, "models": odd})
    items = dict(_page(tearsheet_html(changed)).pairs["run"])
    assert items["Queue model"] == "probabilistic, power 2 (each cancellation drawn from the seed)"
    assert items["Fees"] == "MyFees (rate 0.01, name desk)"


def _json(latency: Any) -> Any:
    """A latency as a backtest's ``run`` keeps it."""
    if isinstance(latency, dict):
        return {k: repr(v) for k, v in latency.items()}
    return None if latency is None else repr(latency)
