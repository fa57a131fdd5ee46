"""The paper-trading report's picture (`kalshi_fix_sansio.simulator.gateway.paper.PaperReport.svg`): total P&L
above, each market's position below, against the recording's clock.

Both panels share the time axis, which spans the whole replay (the first to the last recorded
time the report saw): the curves start at the first fill and hold their last value to the end.
Axes carry round ticks (dollars above, contracts below, clock times along the foot), the zero
line is dashed, and a legend names each market's colour. Every element has a ``class`` (``pnl``,
``position`` with ``data-symbol``, ``panel``, ``tick``, ``legend``) so that tests and styles can
find it. The picture is plain SVG 1.1: no script, no external font or image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from html import escape
from typing import Final, Protocol

__all__ = ["WIDTH", "draw"]

WIDTH: Final = 900
_LEFT: Final = 80
_RIGHT: Final = 20
_PNL: Final = (50, 230)  # (top, bottom) of the P&L panel
_POSITION: Final = (270, 430)
_PER_ROW: Final = 3  # legend entries per row
_LEGEND_WIDTH: Final = (WIDTH - _LEFT - _RIGHT) // _PER_ROW
_NAME_CHARS: Final = 28  # longer market names are cut (the full name is the entry's tooltip)
_COLORS: Final = (  # the P&L's, then the markets' (dashed once they come round again)
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_TIME_STEPS: Final = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800)
_TIME_STEPS_LONG: Final = (21600, 43200, 86400, 172800, 604800)


class _Point(Protocol):
    @property
    def time(self) -> float: ...
    @property
    def pnl(self) -> Decimal: ...
    @property
    def positions(self) -> tuple[tuple[str, Decimal], ...]: ...


def draw(
    points: Sequence[_Point],
    first_time: float | None,
    last_time: float | None,
    headline: str,
) -> str:
    """The SVG document (see the module docstring).

    Args:
        points: the curve (`kalshi_fix_sansio.simulator.gateway.paper.Point`), in time order.
        first_time: the start of the replay's span on the recording's clock (epoch seconds).
        last_time: its end, on the same clock.
        headline: the title line.
    """
    times = [p.time for p in points]
    t0 = min([*times, *([first_time] if first_time is not None else [])], default=0.0)
    t1 = max([*times, *([last_time] if last_time is not None else [])], default=t0)
    span = (t1 - t0) or 1.0
    x0, x1 = _LEFT, WIDTH - _RIGHT

    def x(t: float) -> float:
        return x0 + (t - t0) / span * (x1 - x0)

    symbols = sorted({s for p in points for s, _ in p.positions})
    rows = max(1, math.ceil(len(symbols) / _PER_ROW))
    legend_y = _POSITION[1] + 40
    footer_y = legend_y + 16 * rows + 10
    height = footer_y + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{x0}" y="22" font-size="15" font-weight="bold">{escape(headline)}</text>',
    ]
    pnl = [float(p.pnl) for p in points]
    y, ticks = _scale(pnl, *_PNL, whole=False)
    parts += _panel("pnl", "total P&L ($)", x0, x1, *_PNL, y, ticks)
    series = {s: [float(dict(p.positions).get(s, 0)) for p in points] for s in symbols}
    y2, ticks2 = _scale([v for vs in series.values() for v in vs], *_POSITION, whole=True)
    parts += _panel("position", "position (contracts)", x0, x1, *_POSITION, y2, ticks2)
    if first_time is not None or points:
        parts += _time_axis(t0, t1, x)
    if points:
        curve = [(x(p.time), y(v)) for p, v in zip(points, pnl, strict=True)]
        parts.append(_polyline(_steps(curve, x1), 0, 'class="pnl"'))
    else:
        mid = (_PNL[0] + _PNL[1]) / 2
        parts.append(
            f'<text x="{(x0 + x1) / 2}" y="{mid}" text-anchor="middle" fill="#555">'
            "no fills: nothing traded</text>"
        )
    for n, (symbol, values) in enumerate(series.items()):
        line = [(x(p.time), y2(v)) for p, v in zip(points, values, strict=True)]
        data = f'class="position" data-symbol="{escape(symbol)}"'
        parts.append(_polyline(_steps(line, x1), n + 1, data))
        parts.append(_legend(symbol, n, legend_y))
    clock = f"{_stamp(t0)} to {_stamp(t1)}" if first_time is not None or points else "-"
    parts.append(
        f'<text class="footer" x="{x0}" y="{footer_y}" fill="#555">'
        f"recording clock (UTC): {clock}</text>"
    )
    parts.append("</svg>")
    return "\n".join(p for p in parts if p) + "\n"


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _scale(
    values: list[float], top: int, bottom: int, *, whole: bool
) -> tuple[Callable[[float], float], list[float]]:
    """The value -> y map of a panel and its round ticks (0 always shown)."""
    lo, hi = min([*values, 0.0]), max([*values, 0.0])
    if hi == lo:
        hi = lo + 1
    raw = (hi - lo) / 4
    magnitude = 10.0 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multiples if m * magnitude >= raw * (1 - 1e-9))
    if whole:
        step = max(1.0, step)  # whole contracts
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = [n * step for n in range(first, last + 1)]
    low, high = ticks[0], ticks[-1]

    def y(v: float) -> float:
        return bottom - (v - low) / (high - low) * (bottom - top)

    return y, ticks


def _label(value: float, step: float) -> str:
    """A tick's text: as many decimals as the step needs (0.25 -> 2, 5 -> 0)."""
    decimals = next((d for d in range(7) if abs(step * 10**d - round(step * 10**d)) < 1e-6), 6)
    text = f"{value:,.{decimals}f}"
    return "0" if value == 0 or float(text.replace(",", "")) == 0 else text


def _panel(
    name: str,
    label: str,
    x0: float,
    x1: float,
    top: int,
    bottom: int,
    y: Callable[[float], float],
    ticks: list[float],
) -> list[str]:
    out = [
        f'<text x="{x0}" y="{top - 6}" fill="#333">{escape(label)}</text>',
        f'<rect class="panel {name}" x="{x0}" y="{top}" width="{x1 - x0}" '
        f'height="{bottom - top}" fill="#fafafa" stroke="#ccc"/>',
    ]
    step = ticks[1] - ticks[0]
    for value in ticks:
        at = y(value)
        dash = ' stroke-dasharray="4 3"' if value == 0 else ""
        color = "#999" if value == 0 else "#e6e6e6"
        out.append(
            f'<line x1="{x0}" y1="{at:.1f}" x2="{x1}" y2="{at:.1f}" stroke="{color}"{dash}/>'
        )
        out.append(
            f'<text class="tick {name}" x="{x0 - 6}" y="{at + 4:.1f}" text-anchor="end">'
            f"{_label(value, step)}</text>"
        )
    return out


def _time_axis(t0: float, t1: float, x: Callable[[float], float]) -> list[str]:
    span = t1 - t0
    step = next((s for s in (*_TIME_STEPS, *_TIME_STEPS_LONG) if span / s <= 6), 0)
    if not step:
        step = 86400 * math.ceil(span / 6 / 86400)
    form = "%H:%M:%S" if step < 60 else "%H:%M" if step < 86400 else "%m-%d"
    out = []
    tick = math.ceil(t0 / step) * step
    while tick <= t1 + 1e-6:
        at = x(tick)
        for top, bottom in (_PNL, _POSITION):
            out.append(
                f'<line x1="{at:.1f}" y1="{top}" x2="{at:.1f}" y2="{bottom}" stroke="#eee"/>'
            )
        text = datetime.fromtimestamp(tick, timezone.utc).strftime(form)
        anchor = "end" if at + 4 * len(text) > WIDTH else "middle"  # the last one: inside
        out.append(
            f'<text class="tick time" x="{at:.1f}" y="{_POSITION[1] + 16}" '
            f'text-anchor="{anchor}">{text}</text>'
        )
        tick += step
    return out


def _steps(line: list[tuple[float, float]], end: float) -> list[tuple[float, float]]:
    """Stairs: each value held until the next one, the last one until ``end``."""
    if not line:
        return []
    out: list[tuple[float, float]] = []
    for px, py in line:
        if out:
            out.append((px, out[-1][1]))
        out.append((px, py))
    if out[-1][0] < end:
        out.append((end, out[-1][1]))
    return out


def _stroke(n: int) -> str:
    """Line colour (and dashes) of curve ``n`` (0: the P&L, 1...: the markets in order)."""
    if n == 0:
        return f'stroke="{_COLORS[0]}"'
    turn, color = divmod(n - 1, len(_COLORS) - 1)
    dash = f' stroke-dasharray="{2 + 2 * turn} 3"' if turn else ""
    return f'stroke="{_COLORS[1 + color]}"{dash}'


def _polyline(points: list[tuple[float, float]], n: int, attributes: str) -> str:
    if not points:
        return ""
    text = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    return f'<polyline {attributes} fill="none" {_stroke(n)} stroke-width="1.5" points="{text}"/>'


def _legend(symbol: str, n: int, top: int) -> str:
    at_x = _LEFT + _LEGEND_WIDTH * (n % _PER_ROW)
    at_y = top + 16 * (n // _PER_ROW)
    name = symbol if len(symbol) <= _NAME_CHARS else symbol[: _NAME_CHARS - 1] + "…"
    return (
        f'<g class="legend"><title>{escape(symbol)}</title>'
        f'<line x1="{at_x}" y1="{at_y - 4}" x2="{at_x + 18}" y2="{at_y - 4}" {_stroke(n + 1)} '
        f'stroke-width="3"/><text x="{at_x + 24}" y="{at_y}">{escape(name)}</text></g>'
    )
