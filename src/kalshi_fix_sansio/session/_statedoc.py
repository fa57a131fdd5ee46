"""State tables drawn for the docs: a Markdown table of the transitions and an inline SVG.

The session's table (`_states.TRANSITIONS`) and the supervisor's
(`_states.SUPERVISOR_TRANSITIONS`) are rendered by the same two functions here, so both pages
read alike and a test can compare each page with its table. The diagram is an inline SVG: it
renders with any mkdocs theme, offline, with no JavaScript (a Mermaid block shows as code unless
the site loads Mermaid's script, which the docs cannot count on).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

Edge = tuple[str, str, str]
"""(from state, trigger, to state), by their names."""


def render_page(
    *,
    header: str,
    title: str,
    intro: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    edges: Sequence[Edge],
    drawing_intro: Sequence[str],
    aria: str,
) -> str:
    """A state page: a comment saying where it comes from, a title, the table, the drawing.

    Args:
        header: the "do not edit" comment's text.
        title: the page's heading.
        intro: the lines before the table.
        columns: the table's column names.
        rows: the table's rows (one cell per column).
        edges: the transitions drawn (a state to itself is not drawn).
        drawing_intro: the lines before the drawing.
        aria: the drawing's accessible name.

    Returns:
        Markdown.
    """
    lines = [f"<!-- {header} -->", f"# {title}", "", *intro, ""]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += [
        "",
        *drawing_intro,
        "",
        '<div class="state-diagram">',
        *svg(edges, aria),
        "</div>",
        "",
    ]
    return "\n".join(lines)


def _ranks(order: list[str], edges: dict[tuple[str, str], list[str]]) -> dict[str, int]:
    """Each state's rank: the longest path to it from the first state, back edges left out
    (a transition to a state already on the path, as a reconnect is)."""
    out: dict[str, list[str]] = {}
    for s, n in edges:
        out.setdefault(s, []).append(n)
    back: set[tuple[str, str]] = set()
    seen: set[str] = set()

    def visit(s: str, path: set[str]) -> None:
        seen.add(s)
        path.add(s)
        for n in out.get(s, []):
            if n in path:
                back.add((s, n))
            elif n not in seen:
                visit(n, path)
        path.discard(s)

    for s in order:
        if s not in seen:
            visit(s, set())
    rank = dict.fromkeys(order, 0)
    for _ in order:
        for s, n in edges:
            if (s, n) not in back:
                rank[n] = max(rank[n], rank[s] + 1)
    return rank


_Lane = tuple[tuple[str, tuple[str, ...]] | None, int, list[tuple[float, float]]]
"""A lane beside the states: its key (target, triggers) while only such arrows use it, else None;
its width in label lines; the vertical spans it carries."""

_Placed = tuple[str, str, list[str], tuple[int, int, float, float] | None]
"""An arrow: from, to, its labels, and its lane (side, index, start and end height) or None for a
straight arrow to the next rank."""


def _route(
    edges: dict[tuple[str, str], list[str]],
    rank: dict[str, int],
    pos: dict[str, tuple[float, float]],
    h: float,
) -> tuple[dict[int, list[_Lane]], list[_Placed]]:
    """Each arrow's course: straight to the next rank, else along a lane on the target's side
    (else the source's), shared with arrows into the same state on the same triggers, or any lane
    whose spans it does not touch, or a new one on the side with fewer.

    Returns:
        The lanes per side (-1 left, 1 right) and the arrows in the order they are drawn.
    """
    lanes: dict[int, list[_Lane]] = {-1: [], 1: []}
    placed: list[_Placed] = []
    exits: dict[str, int] = {}
    by_span = sorted(
        edges.items(), key=lambda e: (abs(rank[e[0][1]] - rank[e[0][0]]), rank[e[0][0]])
    )
    for (s, n), labels in by_span:
        (xs, ys), (_, yn) = pos[s], pos[n]
        if rank[n] == rank[s] + 1:
            placed.append((s, n, labels, None))
            continue
        key = (n, tuple(labels))
        exits[s] = exits.get(s, 0) + 1
        y0, y1 = ys + h * min(0.45 + 0.2 * exits[s], 0.85), yn + h * 0.25
        top, bottom = min(y0, y1), max(y0, y1)
        (xn, _), toward = pos[n], xs  # the lane on the target's side (else the source's)
        if xn:
            toward = xn
        sides = [1 if toward > 0 else -1] if toward else [-1, 1]
        choice = next(
            ((sd, k) for sd in sides for k, ln in enumerate(lanes[sd]) if ln[0] == key), None
        )
        if choice is None:
            choice = next(
                (
                    (sd, k)
                    for sd in sorted(sides, key=lambda sd: len(lanes[sd]))
                    for k, ln in enumerate(lanes[sd])
                    if all(bottom < a - 6 or top > b + 6 for a, b in ln[2])
                ),
                None,
            )
        if choice is None:
            sd = min(sides, key=lambda sd: len(lanes[sd]))
            lanes[sd].append((key, 0, []))
            choice = (sd, len(lanes[sd]) - 1)
        sd, k = choice
        old = lanes[sd][k]
        lanes[sd][k] = (
            old[0] if old[0] == key else None,
            max(old[1], len(labels)),
            [*old[2], (top, bottom)],
        )
        placed.append((s, n, labels, (sd, k, y0, y1)))
    return lanes, placed


def svg(rows: Sequence[Edge], aria: str) -> list[str]:
    """The transitions as SVG lines: states in ranks (longest path from the first state); an
    arrow to the next rank is straight, a longer one (or one back up) runs along a lane beside
    the states, and arrows into one state on the same triggers share a lane.

    Args:
        rows: the transitions; a state to itself is left out.
        aria: the drawing's accessible name.

    Returns:
        The lines of the ``<svg>`` element.
    """
    w, h, gap, sep, line, char = 150, 34, 120, 190, 14, 6.6
    edges: dict[tuple[str, str], list[str]] = {}
    for s, t, n in rows:
        if s == n:
            continue
        labels = edges.setdefault((s, n), [])
        if t not in labels:
            labels.append(t)
    order = list(dict.fromkeys(x for s, _, n in rows for x in (s, n)))
    rank = _ranks(order, edges)
    ranks: dict[int, list[str]] = {}
    for s in order:
        ranks.setdefault(rank[s], []).append(s)
    pos = {
        s: ((i - (len(row) - 1) / 2) * sep, 10.0 + r * gap)
        for r, row in ranks.items()
        for i, s in enumerate(row)
    }
    inner = max((len(row) - 1) * sep / 2 + w / 2 for row in ranks.values()) + 24
    lanes, placed = _route(edges, rank, pos, h)

    def lane_x(sd: int, k: int) -> float:
        widths = [ln[1] * line + 14 for ln in lanes[sd]]
        return sd * (inner + sum(widths[:k]) + widths[k] / 2)

    half = max(inner + sum(ln[1] * line + 14 for ln in lanes[sd]) for sd in (-1, 1)) + 4
    height = 20 + max(rank.values()) * gap + h
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{-half:.0f} 0 {2 * half:.0f} {height}" '
        f'width="{2 * half:.0f}" style="max-width:100%;height:auto" font-family="sans-serif" '
        f'font-size="12" role="img" aria-label="{escape(aria)}">',
        '<defs><marker id="state-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    ]

    notes: list[str] = []  # labels, drawn over every arrow

    def label(x: float, y: float, texts: list[str], rotate: bool = False) -> None:
        out = notes
        lw, lh = max(len(t) for t in texts) * char + 6, len(texts) * line + 2
        turn = " rotate(-90)" if rotate else ""
        out.append(f'<g transform="translate({x:.1f},{y:.1f}){turn}">')
        out.append(
            f'<rect x="{-lw / 2:.1f}" y="{-lh / 2:.1f}" width="{lw:.1f}" height="{lh}" fill="#fff"/>'
        )
        for i, t in enumerate(texts):
            y_text = -lh / 2 + (i + 0.8) * line + 1
            out.append(
                f'<text y="{y_text:.1f}" text-anchor="middle" fill="#333">{escape(t)}</text>'
            )
        out.append("</g>")

    arrow = 'stroke="#555" fill="none" marker-end="url(#state-arrow)"'
    labelled: set[tuple[int, int]] = set()
    for s, n, labels, at in placed:
        (xs, ys), (xn, yn) = pos[s], pos[n]
        if at is None:
            out.append(f'<path d="M{xs:.1f},{ys + h} L{xn:.1f},{yn}" {arrow}/>')
            f = 0.5 if xs == xn or not xs else 0.25
            x, y = xs + (xn - xs) * f, ys + h + (yn - ys - h) * f
            if not xs and xn:  # arrows spreading out of a middle state: labels on the outside
                x += (1 if xn > 0 else -1) * (max(len(t) for t in labels) * char / 2 + 6)
            label(x, y, labels)
            continue
        sd, k, y0, y1 = at
        x = lane_x(sd, k)
        out.append(
            f'<path d="M{xs + sd * w / 2:.1f},{y0:.1f} H{x:.1f} V{y1:.1f} '
            f'H{xn + sd * w / 2:.1f}" {arrow}/>'
        )
        shared, _, spans = lanes[sd][k]
        if shared is not None and len(spans) > 1:
            out.append(f'<circle cx="{x:.1f}" cy="{y0:.1f}" r="3" fill="#555"/>')
        if shared is None or (sd, k) not in labelled:
            labelled.add((sd, k))
            top, bottom = (
                (min(a for a, _ in spans), max(b for _, b in spans))
                if shared
                else (min(y0, y1), max(y0, y1))
            )
            label(x, (top + bottom) / 2, labels, rotate=True)
    out += notes
    for s, (x, y) in pos.items():
        out.append(
            f'<rect x="{x - w / 2:.1f}" y="{y}" width="{w}" height="{h}" rx="8" '
            'fill="#e8f0fa" stroke="#2a6099"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{y + h / 2 + 4:.1f}" text-anchor="middle" font-weight="bold" '
            f'fill="#1a3d66">{escape(s)}</text>'
        )
    out.append("</svg>")
    return out
