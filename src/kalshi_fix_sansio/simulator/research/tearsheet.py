"""A one-page HTML tearsheet of a backtest, a paper-trading report or a sweep.

`tearsheet_html` makes one self-contained HTML document: inline CSS, inline SVG pictures drawn
here (the P&L and inventory curves of `PaperReport.svg
<kalshi_fix_sansio.simulator.gateway.paper.PaperReport.svg>`, and the drawdown under the curve's running
peak), no script, no font, no image or style fetched, no external address. `write_tearsheet`
writes it (through a temporary file renamed over the path, as the reports are written).

For a backtest (`BacktestResult <kalshi_fix_sansio.simulator.backtests.backtest.BacktestResult>`) or a
paper-trading report (`PaperReport <kalshi_fix_sansio.simulator.gateway.paper.PaperReport>`) the page
has, each in a ``<section>`` with an ``id``: ``summary`` (total, fees, funding and rebates when
counted, fills), ``curves`` (P&L and positions), ``drawdown``, ``per-day`` (UTC days: fills,
contracts, fees, funding, rebates, and the P&L at the curve's last point of the day and its change
over the day), ``per-market`` (the report's rows), ``fills``, ``funding`` (the payments, when a
schedule was given) and, for a backtest, ``statistics`` (the total's figures, then each
market's) and ``run``. For a sweep (`SweepResult <kalshi_fix_sansio.simulator.research.sweep.SweepResult>`):
``ranking`` (every run, best first) and, when a walk-forward run of it is given
(``walk_forward=``), ``walk-forward`` (its folds: chosen in sample, scored out of sample) and
``overfitting`` (the probability of backtest overfitting, the deflated Sharpe ratio). The
same result gives the same bytes: nothing on the page is the time it was made.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..gateway.paper import PaperReport, _write_new
from ._readable import STATISTICS, figure, label, money, percent, ratio, run_items

if TYPE_CHECKING:
    from ..backtests.backtest import BacktestResult
    from .sweep import SweepResult
    from .walkforward import WalkForward

__all__ = ["FILLS_SHOWN", "tearsheet_html", "write_tearsheet"]

FILLS_SHOWN: Final = 2000
"""The fills table lists at most this many fills (the first ones; the page says how many more)."""

_ZERO: Final = Decimal(0)
_CENT: Final = Decimal("0.01")
_CSS: Final = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
margin:24px auto;max-width:1000px;color:#1b1b1b;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:4px 0 8px;font-variant-numeric:tabular-nums}
th,td{padding:3px 9px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th{background:#f4f4f4;white-space:normal;vertical-align:bottom}td.l,th.l{text-align:left}
.w{white-space:normal;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%}.note{color:#555;font-size:13px}
.neg{color:#b00020}svg{max-width:100%;height:auto}
dl.kv{display:grid;grid-template-columns:minmax(9em,max-content) minmax(0,1fr);gap:2px 16px}
dl.kv dt{color:#555}dl.kv dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
@media (max-width:900px){body{font-size:13px;margin:12px auto}th,td{padding:3px 4px}}
"""


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _money(value: Decimal) -> str:
    text = money(value)
    return f'<span class="neg">{text}</span>' if value < 0 else text


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value}"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], left: int = 1) -> str:
    """A table (cells already HTML); the first ``left`` columns align left."""

    def cells(tag: str, row: Sequence[str]) -> str:
        return "".join(
            f'<{tag} class="l">{c}</{tag}>' if i < left else f"<{tag}>{c}</{tag}>"
            for i, c in enumerate(row)
        )

    body = "".join(f"<tr>{cells('td', r)}</tr>" for r in rows)
    return (
        f'<div class="scroll"><table><thead><tr>{cells("th", [escape(h) for h in head])}'
        f"</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _wrap(cell: str) -> str:
    """A cell's text that may wrap onto more lines (the others keep to one)."""
    return f'<span class="w">{cell}</span>'


def _section(ident: str, title: str, body: str) -> str:
    return f'<section id="{ident}"><h2>{escape(title)}</h2>{body}</section>'


def _pairs(items: Iterable[tuple[str, str]]) -> str:
    return '<dl class="kv">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _drawdown_svg(report: PaperReport) -> str:
    """The drawdown: how far the P&L curve is below its running peak (from 0), over time."""
    points = report.points
    if not points:
        return '<p class="note">No P&amp;L curve: nothing filled.</p>'
    width, height, left, top, bottom = 900, 180, 80, 20, 150
    t0 = report.first_time if report.first_time is not None else points[0].time
    t1 = report.last_time if report.last_time is not None else points[-1].time
    span = (t1 - t0) or 1.0
    peak, falls = _ZERO, []
    for p in points:
        peak = max(peak, p.pnl)
        falls.append((p.time, peak - p.pnl))
    worst = max(f for _, f in falls)
    scale = worst if worst > 0 else Decimal(1)

    def x(t: float) -> float:
        return left + (t - t0) / span * (width - left - 20)

    def y(v: Decimal) -> float:
        return top + float(v / scale) * (bottom - top)

    path = [f"{x(t0):.1f},{top:.1f}"]
    for t, fall in falls:
        path.append(f"{x(t):.1f},{y(fall):.1f}")
    path.append(f"{x(t1):.1f},{y(falls[-1][1]):.1f}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="drawdown" role="img">'
        f"<title>drawdown below the running peak</title>"
        f'<line class="zero" x1="{left}" y1="{top}" x2="{width - 20}" y2="{top}" '
        'stroke="#999" stroke-dasharray="4 3"/>'
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">$0</text>'
        f'<text x="{left - 6}" y="{bottom + 4}" text-anchor="end" font-size="11">'
        f"-${worst.quantize(_CENT):,}</text>"
        f'<polyline fill="none" stroke="#b00020" stroke-width="1.5" points="{" ".join(path)}"/>'
        f'<text x="{left}" y="{height - 8}" font-size="11">{_iso(t0)} UTC</text>'
        f'<text x="{width - 20}" y="{height - 8}" font-size="11" text-anchor="end">'
        f"{_iso(t1)} UTC</text></svg>"
    )


def _day(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d")


def _per_day(report: PaperReport) -> str:
    days: dict[str, dict[str, Decimal]] = {}

    def day(moment: float) -> dict[str, Decimal]:
        return days.setdefault(_day(moment), {})

    def add(row: dict[str, Decimal], key: str, value: Decimal) -> None:
        row[key] = row.get(key, _ZERO) + value

    for f in report.fills:
        row = day(f.time)
        add(row, "fills", Decimal(1))
        add(row, "contracts", f.qty)
        add(row, "fees", f.fee)
        add(row, "rebates", f.rebate)
    for market in report.rows:  # a settlement's fee on its day, beside the fills' fees
        if market.settled_at is not None and market.account.settlement_fee:
            add(day(market.settled_at), "fees", market.account.settlement_fee)
    for payment in report.funding or ():
        add(day(payment.rate.time), "funding", payment.amount)
    for p in report.points:
        day(p.time)["pnl"] = p.pnl  # the day's last point
    if not days:
        return '<p class="note">Nothing happened on the recording\'s clock.</p>'
    head = ["Day (UTC)", "Fills", "Contracts", "Fees"]
    head += ["Funding"] if report.funding is not None else []
    head += ["Rebates"] if report.rebates else []
    head += ["P&L at day end", "Change over the day"]
    rows, last = [], _ZERO
    for name in sorted(days):
        row = days[name]
        cells = [name, str(row.get("fills", _ZERO)), _qty(row.get("contracts", _ZERO))]
        cells.append(money(row.get("fees", _ZERO)))
        if report.funding is not None:
            cells.append(_money(row.get("funding", _ZERO)))
        if report.rebates:
            cells.append(_money(row.get("rebates", _ZERO)))
        pnl = row.get("pnl")
        if pnl is None:
            cells += ["-", "-"]
        else:
            cells += [_money(pnl), _money(pnl - last)]
            last = pnl
        rows.append(cells)
    return _table(head, rows)


def _per_market(report: PaperReport) -> str:
    head = ["Market", "Fills", "Bought (contracts)", "Sold (contracts)", "Fees"]
    head += ["Funding"] if report.funding is not None else []
    head += ["Rebates"] if report.rebates else []
    head += ["Position (contracts)", "Marked at", "Realized P&L", "Unrealized P&L", "Total P&L"]
    rows = []
    for row in report.rows:
        a = row.account
        if a.settled:
            price = "" if a.settlement_price is None else money(a.settlement_price)
            mark = escape(f"settled {a.result or ''} {price}".replace("  ", " ").strip())
        else:
            mark = "-" if row.mid is None else f"mid {money(row.mid)}"
        cells = [escape(row.symbol), str(a.fills), _qty(a.bought), _qty(a.sold)]
        cells.append(money(a.fees + a.settlement_fee))
        if report.funding is not None:
            cells.append(_money(a.funding))
        if report.rebates:
            cells.append(_money(a.rebates))
        cells += [_qty(a.position), _wrap(mark), _money(a.realized), _money(row.unrealized)]
        cells.append(_money(row.total))
        rows.append(cells)
    return _table(head, rows)


def _fills(report: PaperReport) -> str:
    fills = report.fills
    if not fills:
        return '<p class="note">No fills.</p>'
    head = ["Time (UTC)", "Market", "Side", "Price", "Contracts", "Fee", "Liquidity"]
    head += ["Rebate"] if report.rebates else []
    rows = []
    for f in fills[:FILLS_SHOWN]:
        cells = [_iso(f.time), escape(f.symbol), "buy" if f.side == "1" else "sell"]
        cells += [money(f.price), _qty(f.qty), money(f.fee), "maker" if f.maker else "taker"]
        if report.rebates:
            cells.append(money(f.rebate))
        rows.append(cells)
    more = len(fills) - FILLS_SHOWN
    note = f'<p class="note">The first {FILLS_SHOWN} of {len(fills)} fills.</p>' if more > 0 else ""
    return _table(head, rows, left=3) + note


def _funding(report: PaperReport) -> str:
    payments = report.funding or ()
    if not payments:
        return '<p class="note">No position was held at a funding time: nothing paid.</p>'
    rows = [
        [
            _iso(p.rate.time),
            escape(p.rate.symbol),
            percent(p.rate.rate, 4),
            money(p.rate.mark_price),
            _qty(p.position),
            _money(p.amount),
        ]
        for p in payments
    ]
    head = ["Funding time (UTC)", "Market", "Rate", "Mark price", "Position", "Received"]
    return _table(head, rows, left=2)


def _figure(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return escape(json.dumps(value, sort_keys=True, default=str))
    return escape(str(value))


STATISTICS_COLUMNS: Final = 4
"""The statistics table shows the total and at most this many markets side by side; more
markets follow in further tables of as many (a table never outgrows a narrow window)."""


def _statistics(statistics: Mapping[str, Any]) -> str:
    """One row per figure (its label and unit), one column for the total and one per market."""
    total = statistics.get("total", {})
    markets = statistics.get("markets", {})
    present = {k for figures in [total, *markets.values()] for k in figures}
    keys = [k for k in STATISTICS if k in present] + sorted(present - STATISTICS.keys())
    columns = [("All markets", total), *sorted(markets.items())]
    tables = []
    for at in range(0, len(columns), STATISTICS_COLUMNS):
        group = columns[at : at + STATISTICS_COLUMNS]
        rows = [
            [escape(label(k))] + [escape(figure(k, figures.get(k))) for _name, figures in group]
            for k in keys
        ]
        tables.append(_table(["Figure", *(name for name, _figures in group)], rows))
    interval = statistics.get("sample_interval")
    note = (
        ""
        if interval is None
        else f'<p class="note">Sampled every {escape(f"{interval:g}")} s of the recording\'s '
        "clock (the Sharpe ratio's and the positions' samples).</p>"
    )
    return "".join(tables) + note


def _report_page(report: PaperReport, title: str, extra: Sequence[str]) -> list[str]:
    summary = [("Total P&amp;L", _money(report.total)), ("Fees paid", money(report.fees))]
    if report.funding is not None:
        summary.append(("Funding received", _money(report.funding_total)))
    if report.rebates:
        summary.append(("Rebates received", _money(report.rebates_total)))
    summary.append(("Fills", f"{sum(r.account.fills for r in report.rows):,}"))
    if report.first_time is not None and report.last_time is not None:
        clock = f"{_iso(report.first_time)} to {_iso(report.last_time)} UTC"
        summary.append(("Recording's clock", clock))
    if report.end:
        summary.append(("Ended", escape(report.end)))
    curves = report.svg(title)
    sections = [
        _section("summary", "Summary", _pairs(summary)),
        _section("curves", "P&L and inventory", curves),
        _section("drawdown", "Drawdown", _drawdown_svg(report)),
        _section("per-day", "Per day", _per_day(report)),
        _section("per-market", "Per market", _per_market(report)),
        _section("fills", "Fills", _fills(report)),
    ]
    if report.funding is not None:
        sections.append(_section("funding", "Funding", _funding(report)))
    return sections + list(extra)


def _sweep_page(sweep: SweepResult, by: str, walked: WalkForward | None) -> list[str]:
    doc = sweep.as_json(by)
    head = ["Rank", "Parameters", "Recordings", "Total P&L", "Sharpe ratio", "Largest drawdown"]
    head += ["Fill ratio", "Fills", "Error"]
    rows = []
    for run in doc["runs"]:
        params = " ".join(f"{k}={v}" for k, v in sorted(run["params"].items())) or "-"
        cells = [str(run["rank"]), _wrap(escape(params))]
        cells.append(_wrap(escape(", ".join(run["recordings"]))))
        if run["result"] is None:
            cells += ["-", "-", "-", "-", "-", _wrap(escape(run["error"] or ""))]
        else:
            total = run["result"]["statistics"]["total"]
            cells += [
                _money(Decimal(total["total"])),
                ratio(total.get("sharpe")),
                money(total["max_drawdown"]),
                percent(total.get("fill_ratio")),
                escape(figure("fills", total.get("fills"))),
                "",
            ]
        rows.append(cells)
    sections = [_section("ranking", f"Ranking (by {by})", _table(head, rows, left=3))]
    if walked is not None:
        sections += _walk_forward_sections(walked)
    return sections


def _walk_forward_sections(walked: WalkForward) -> list[str]:
    """The folds of a walk-forward run, then its overfitting figures."""

    def params(index: int | None) -> str:
        if index is None:
            return "-"
        chosen = walked.params[index]
        return _wrap(escape(" ".join(f"{k}={v}" for k, v in sorted(chosen.items())) or "-"))

    def score(value: Decimal | float | None) -> str:
        if isinstance(value, Decimal):
            return _money(value)
        return _figure(value)

    head = ["fold", "in sample", "out of sample", "chosen", "in-sample score"]
    head += ["out-of-sample score", "out-of-sample P&L", "best out of sample", "rank"]
    rows = [
        [
            str(f.index),
            _wrap(escape(", ".join(f.train))),
            _wrap(escape(", ".join(f.test))),
            params(f.chosen),
            score(f.train_score),
            score(f.test_score),
            score(f.test_pnl),
            params(f.test_best),
            _figure(f.test_rank),
        ]
        for f in walked.folds
    ]
    summary = _pairs(
        [
            ("scored by", escape(walked.by)),
            ("out-of-sample P&L", _money(walked.out_of_sample_pnl)),
            ("walk-forward efficiency", _figure(walked.efficiency)),
            (
                "winners differ",
                f"{sum(f.winners_differ for f in walked.folds)} of {len(walked.folds)} folds",
            ),
        ]
    )
    o, d = walked.overfitting, walked.deflated
    guard = _pairs(
        [
            ("probability of backtest overfitting", _figure(o.pbo)),
            ("splits", f"{o.splits} of {o.groups} blocks"),
            ("deflated Sharpe ratio", _figure(d.dsr)),
            ("of the set", params(d.chosen)),
            ("its Sharpe per period", _figure(d.sharpe)),
            ("expected best of the unskilled", _figure(d.expected_max)),
            ("trials", str(d.trials)),
            ("note", escape("; ".join(n for n in (o.note, d.note) if n)) or "-"),
        ]
    )
    return [
        _section("walk-forward", "Walk-forward", _table(head, rows, left=4) + summary),
        _section("overfitting", "Overfitting", guard),
    ]


def tearsheet_html(
    result: BacktestResult | PaperReport | SweepResult,
    *,
    title: str | None = None,
    by: str = "total",
    walk_forward: WalkForward | None = None,
) -> str:
    """The tearsheet of ``result`` as one HTML document (see the module docstring).

    Args:
        result: a backtest's `BacktestResult`, a `PaperReport` or a sweep's `SweepResult`.
        title: the page's title (default: the run's name, or "paper trading" / "sweep").
        by: a sweep's ranking (`kalshi_fix_sansio.simulator.research.sweep.RANKINGS`).
        walk_forward: a sweep's walk-forward run
            (`kalshi_fix_sansio.simulator.research.walkforward.walk_forward`): its folds and
            overfitting figures follow the ranking.

    Raises:
        TypeError: ``result`` is none of these.
    """
    from ..backtests.backtest import BacktestResult
    from .sweep import SweepResult

    if isinstance(result, BacktestResult):
        name = title or f"backtest {result.name}"
        extra = [
            _section("statistics", "Statistics", _statistics(result.statistics)),
            _section(
                "run", "Run", _pairs((escape(k), escape(v)) for k, v in run_items(result.run))
            ),
        ]
        sections = _report_page(result.report, name, extra)
    elif isinstance(result, PaperReport):
        name = title or "paper trading"
        sections = _report_page(result, name, [])
    elif isinstance(result, SweepResult):
        name = title or f"sweep of {len(result.runs)} runs"
        sections = _sweep_page(result, by, walk_forward)
    else:
        raise TypeError(
            "a tearsheet is of a BacktestResult, a PaperReport or a SweepResult, got "
            f"{type(result).__name__}"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(name)}</title><style>{_CSS}</style></head>\n<body><h1>{escape(name)}</h1>"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def write_tearsheet(
    result: BacktestResult | PaperReport | SweepResult,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    by: str = "total",
    walk_forward: WalkForward | None = None,
) -> Path:
    """Write `tearsheet_html` to ``path`` (through a temporary file renamed over it; a
    symbolic link at the path is refused).

    Returns:
        The path written.

    Raises:
        OSError: the file cannot be written (the message names it).
        TypeError: ``result`` is not a result a tearsheet shows.
    """
    target = Path(path)
    _write_new(target, tearsheet_html(result, title=title, by=by, walk_forward=walk_forward))
    return target
