"""The paper-trading report's picture (`PaperReport.svg`): well-formed SVG whose curves are
drawn where its own axes say, with nothing outside the picture.

The checks read the SVG as XML: the P&L curve and each market's position curve are polylines
inside their panels, every vertex lies on the line through the axis's tick labels (the value a
reader takes off the axis is the report's number), time runs left to right, and every text fits
in the picture (at about 7.5 px per character of the 12 px font).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from decimal import Decimal as D
from typing import Any

import pytest

from kalshi_fix_sansio.simulator.gateway.paper import PaperLedger, PaperReport

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp()
A, B = "KXPAPER-26NOV20-A", "KXPAPER-26NOV20-B"


class Fill:
    account = "k"

    def __init__(self, time: float, symbol: str, side: str, price: str, qty: int) -> None:
        self.time, self.symbol, self.side = time, symbol, side
        self.price, self.qty, self.fee = D(price), D(qty), D("0.02")


def traded() -> PaperReport:
    """Two markets over ten minutes: buys and sells, mids that move, B settles no."""
    ledger = PaperLedger()
    ledger.on_mid(A, T0, D("0.40"))
    ledger.on_fill(Fill(T0 + 30, A, "1", "0.40", 10))
    ledger.on_mid(A, T0 + 60, D("0.46"))
    ledger.on_fill(Fill(T0 + 90, B, "2", "0.70", 6))
    ledger.on_mid(B, T0 + 120, D("0.65"))
    ledger.on_fill(Fill(T0 + 200, A, "2", "0.47", 4))
    ledger.on_mid(A, T0 + 300, D("0.31"))
    ledger.settle(B, "no", T0 + 420)
    ledger.on_mid(A, T0 + 600, D("0.35"))
    return ledger.report([A, B])


def parse(report: PaperReport) -> ET.Element:
    root = ET.fromstring(report.svg("test"))
    assert root.tag == f"{SVG}svg"
    return root


def vertices(line: ET.Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in line.attrib["points"].split())]


def by_class(root: ET.Element, tag: str, name: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if name in e.attrib.get("class", "").split()]


def axis(root: ET.Element, panel: str) -> tuple[float, float]:
    """(y at 0, pixels per unit) from the panel's tick labels: a straight line through all."""
    ticks = [
        (float((t.text or "").replace(",", "")), float(t.attrib["y"]) - 4)
        for t in by_class(root, "text", "tick")
        if panel in t.attrib["class"].split()
    ]
    assert len(ticks) >= 2, ticks
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    per_unit = (y0 - y1) / (v1 - v0)
    assert per_unit > 0  # larger values higher up
    zero = y0 + v0 * per_unit
    for value, y in ticks:
        assert y == pytest.approx(zero - value * per_unit, abs=0.15)
    return zero, per_unit


def panel_box(root: ET.Element, name: str) -> tuple[float, float, float, float]:
    (rect,) = [r for r in by_class(root, "rect", "panel") if name in r.attrib["class"].split()]
    x, y = float(rect.attrib["x"]), float(rect.attrib["y"])
    return x, y, x + float(rect.attrib["width"]), y + float(rect.attrib["height"])


def steps(values: list[float]) -> list[float]:
    """The values in order, each run of equal ones once."""
    return [v for n, v in enumerate(values) if n == 0 or abs(v - values[n - 1]) > 0.005]


def values_drawn(line: ET.Element, zero: float, per_unit: float) -> list[float]:
    """The values a reader takes off the axis along the curve, each step once."""
    return steps([(zero - y) / per_unit for _, y in vertices(line)])


def test_the_picture_draws_pnl_and_positions_where_the_axes_say() -> None:
    report = traded()
    root = parse(report)
    (pnl,) = by_class(root, "polyline", "pnl")
    left, top, right, bottom = panel_box(root, "pnl")
    points = vertices(pnl)
    assert all(left <= x <= right and top <= y <= bottom for x, y in points)
    assert [x for x, _ in points] == sorted(x for x, _ in points)  # time runs left to right
    assert points[0][0] > left and points[-1][0] == right  # first fill after the start; held
    zero, per_unit = axis(root, "pnl")
    drawn = values_drawn(pnl, zero, per_unit)
    assert drawn == pytest.approx(steps([float(p.pnl) for p in report.points]), abs=0.01)
    assert drawn[-1] == pytest.approx(float(report.total), abs=0.01)  # ends at the total
    (zero_line,) = [
        line
        for line in root.iter(f"{SVG}line")
        if "stroke-dasharray" in line.attrib
        and top <= float(line.attrib["y1"]) <= bottom
        and "legend" not in line.attrib.get("class", "")
    ]
    assert float(zero_line.attrib["y1"]) == pytest.approx(zero, abs=0.15)

    lines = {e.attrib["data-symbol"]: e for e in by_class(root, "polyline", "position")}
    assert sorted(lines) == [A, B]
    zero, per_unit = axis(root, "position")
    left, top, right, bottom = panel_box(root, "position")
    for symbol, line in lines.items():
        assert all(left <= x <= right and top <= y <= bottom for x, y in vertices(line))
        drawn = values_drawn(line, zero, per_unit)
        held = [float(dict(p.positions).get(symbol, 0)) for p in report.points]
        assert drawn == pytest.approx(steps(held), abs=0.01)
    assert values_drawn(lines[A], zero, per_unit)[-1] == 6  # bought 10, sold 4
    assert values_drawn(lines[B], zero, per_unit)[-1] == 0  # settled: closed


def texts(root: ET.Element) -> list[tuple[str, float, float, str]]:
    return [
        (t.text or "", float(t.attrib["x"]), float(t.attrib["y"]), t.attrib.get("text-anchor", ""))
        for t in root.iter(f"{SVG}text")
    ]


def assert_fits(root: ET.Element) -> None:
    width, height = float(root.attrib["width"]), float(root.attrib["height"])
    assert root.attrib["viewBox"] == f"0 0 {width:g} {height:g}"
    for text, x, y, anchor in texts(root):
        size = 7.5 * len(text)
        start = {"end": x - size, "middle": x - size / 2}.get(anchor, x)
        assert 0 <= start and start + size <= width, (text, x, anchor)
        assert 12 <= y <= height, (text, y)


def test_every_text_fits_and_the_legend_names_each_market() -> None:
    root = parse(traded())
    assert_fits(root)
    legend = [t.text for g in by_class(root, "g", "legend") for t in g.iter(f"{SVG}text")]
    assert legend == [A, B]
    times = [t for t, *_ in texts(root) if ":" in t and len(t) <= 8]
    assert times[0] == "15:00" and times == sorted(times)  # round clock times along the foot
    (footer,) = by_class(root, "text", "footer")
    assert footer.text == "recording clock (UTC): 2026-11-20 15:00:00 to 2026-11-20 15:10:00"


def test_many_markets_with_long_names_still_fit() -> None:
    ledger = PaperLedger()
    names = [f"KXLONGMARKETNAME-26NOV20-T{n:02d}-WITH-A-LONG-TAIL" for n in range(11)]
    for n, name in enumerate(names):
        ledger.on_fill(Fill(T0 + 100 * n, name, "1", "0.50", n + 1))
    root = parse(ledger.report())
    assert_fits(root)
    legends = by_class(root, "g", "legend")
    assert [g.find(f"{SVG}title").text for g in legends] == names  # type: ignore[union-attr]
    strokes = {
        (e.attrib["stroke"], e.attrib.get("stroke-dasharray"))
        for e in by_class(root, "polyline", "position")
    }
    assert len(strokes) == len(names)  # no two markets drawn alike


@pytest.mark.parametrize("seen", [False, True])
def test_nothing_traded_is_said_not_drawn(seen: bool) -> None:
    ledger = PaperLedger()
    if seen:
        ledger.on_mid(A, T0, D("0.40"))
        ledger.on_mid(A, T0 + 60, D("0.42"))
    root = parse(ledger.report([A]))
    assert_fits(root)
    assert by_class(root, "polyline", "pnl") == []
    assert any(t == "no fills: nothing traded" for t, *_ in texts(root))
    (footer,) = by_class(root, "text", "footer")
    clock: Any = footer.text
    assert clock.endswith("15:01:00" if seen else ": -")
