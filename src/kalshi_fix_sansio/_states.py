"""The session state machine as a table: every allowed transition, nothing else.

`Session` moves only through `transition()`; the docs' state diagram (docs/session.md) is
generated from `TRANSITIONS` by `render_markdown()` and a test keeps the page in step.
"""

from __future__ import annotations

import enum

from .errors import LocalProtocolError


class State(enum.Enum):
    """Where a session is in its life."""

    IDLE = "idle"
    """Built; `start()` not called yet."""
    AWAITING_LOGON = "awaiting logon"
    """Acceptor: connected, waiting for the client's Logon."""
    LOGON_SENT = "logon sent"
    """Initiator: our Logon is out, waiting for the answer."""
    ACTIVE = "active"
    """Logged on: application messages flow."""
    LOGOUT_SENT = "logout sent"
    """Our Logout is out, waiting for the peer's."""
    CLOSED = "closed"
    """Over; close the transport."""
    FAILED = "failed"
    """Ended by a peer's protocol fault: `next_event()` raises the `RemoteProtocolError` (the
    Logout is queued in `data_to_send()`); feeding it more raises `LocalProtocolError`. Make a
    new `Session` for the next connection."""


class Trigger(enum.Enum):
    """What moves a session from one state to another."""

    START = "start()"
    LOGON_ACCEPTED = "Logon exchange done"
    LOGON_REFUSED = "Logon refused"
    LOGOUT = "logout() / Logout sent"
    PEER_LOGOUT = "Logout received"
    TIMEOUT = "timer ran out"
    EOF = "transport closed"
    FATAL = "session-ending fault"


_S = State
_T = Trigger

TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (_S.IDLE, _T.START): _S.LOGON_SENT,  # initiator; an acceptor goes to AWAITING_LOGON
    (_S.IDLE, _T.EOF): _S.CLOSED,
    (_S.AWAITING_LOGON, _T.LOGON_ACCEPTED): _S.ACTIVE,
    (_S.AWAITING_LOGON, _T.LOGON_REFUSED): _S.CLOSED,
    (_S.AWAITING_LOGON, _T.TIMEOUT): _S.CLOSED,
    (_S.AWAITING_LOGON, _T.EOF): _S.CLOSED,
    (_S.AWAITING_LOGON, _T.FATAL): _S.FAILED,
    (_S.LOGON_SENT, _T.LOGON_ACCEPTED): _S.ACTIVE,
    (_S.LOGON_SENT, _T.LOGON_REFUSED): _S.CLOSED,
    (_S.LOGON_SENT, _T.TIMEOUT): _S.CLOSED,
    (_S.LOGON_SENT, _T.EOF): _S.CLOSED,
    (_S.LOGON_SENT, _T.FATAL): _S.FAILED,
    (_S.LOGON_SENT, _T.LOGOUT): _S.LOGOUT_SENT,
    (_S.ACTIVE, _T.LOGOUT): _S.LOGOUT_SENT,
    (_S.ACTIVE, _T.PEER_LOGOUT): _S.CLOSED,
    (_S.ACTIVE, _T.TIMEOUT): _S.CLOSED,
    (_S.ACTIVE, _T.EOF): _S.CLOSED,
    (_S.ACTIVE, _T.FATAL): _S.FAILED,
    (_S.LOGOUT_SENT, _T.PEER_LOGOUT): _S.CLOSED,
    (_S.LOGOUT_SENT, _T.TIMEOUT): _S.CLOSED,
    (_S.LOGOUT_SENT, _T.EOF): _S.CLOSED,
    (_S.LOGOUT_SENT, _T.FATAL): _S.FAILED,
    # a fault found while the events of a close are still being read
    (_S.CLOSED, _T.FATAL): _S.FAILED,
}
"""(state, trigger) -> next state. Anything else is refused."""

ACCEPTOR_START = (_S.IDLE, _T.START, _S.AWAITING_LOGON)


def transition(state: State, trigger: Trigger, *, acceptor: bool = False) -> State:
    """The state after `trigger` in `state`.

    Args:
        state: the current state.
        trigger: what happened.
        acceptor: the session is an acceptor (START leads to AWAITING_LOGON).

    Returns:
        The next state.

    Raises:
        LocalProtocolError: the table has no such transition.
    """
    if acceptor and (state, trigger) == ACCEPTOR_START[:2]:
        return ACCEPTOR_START[2]
    nxt = TRANSITIONS.get((state, trigger))
    if nxt is None:
        raise LocalProtocolError(f"cannot {trigger.value} in state {state.value!r}")
    return nxt


def render_markdown() -> str:
    """The state diagram page (docs/session-states.md), generated from the table.

    The diagram is an inline SVG drawn here from the same rows as the table: it renders with any
    mkdocs theme, offline, with no JavaScript (a Mermaid block shows as code unless the site loads
    Mermaid's script, which the docs cannot count on).

    Returns:
        Markdown: a transition table and its diagram.
    """
    rows = [(ACCEPTOR_START[0], ACCEPTOR_START[1], ACCEPTOR_START[2], "acceptor")]
    rows += [
        (s, t, n, "initiator" if (s, t) == (_S.IDLE, _T.START) else "")
        for (s, t), n in TRANSITIONS.items()
    ]
    lines = [
        "<!-- DO NOT EDIT: generated from src/kalshi_fix_sansio/_states.py "
        "(python -m kalshi_fix_sansio._states). -->",
        "# Session states",
        "",
        "The session moves only along these transitions; anything else is refused with a",
        "`LocalProtocolError`.",
        "",
        "| From | On | To | Note |",
        "|---|---|---|---|",
    ]
    for s, t, n, note in rows:
        lines.append(f"| {s.value} | {t.value} | {n.value} | {note} |")
    lines += [
        "",
        "The same transitions drawn: an arrow to the next row is straight; a longer one runs",
        "along a lane beside the states, and arrows into one state on the same triggers share a",
        "lane (a dot marks where one joins it).",
        "",
        '<div class="state-diagram">',
        *_svg([(s, t, n) for s, t, n, _ in rows]),
        "</div>",
        "",
    ]
    return "\n".join(lines)


def _svg(rows: list[tuple[State, Trigger, State]]) -> list[str]:
    """The transitions as SVG lines: states in ranks (longest path from the first state)."""
    from html import escape

    w, h, gap, sep, line, char = 150, 34, 120, 190, 14, 6.6
    edges: dict[tuple[State, State], list[str]] = {}
    for s, t, n in rows:
        labels = edges.setdefault((s, n), [])
        if t.value not in labels:
            labels.append(t.value)
    order = list(dict.fromkeys(x for s, _, n in rows for x in (s, n)))
    rank = dict.fromkeys(order, 0)
    for _ in order:
        for s, n in edges:
            rank[n] = max(rank[n], rank[s] + 1)
    ranks: dict[int, list[State]] = {}
    for s in order:
        ranks.setdefault(rank[s], []).append(s)
    pos = {
        s: ((i - (len(row) - 1) / 2) * sep, 10.0 + r * gap)
        for r, row in ranks.items()
        for i, s in enumerate(row)
    }
    inner = max((len(row) - 1) * sep / 2 + w / 2 for row in ranks.values()) + 24
    # A lane per side: its key (target, triggers) while only such arrows use it, else None;
    # its width in label lines; the vertical spans it carries.
    Lane = tuple[tuple[State, tuple[str, ...]] | None, int, list[tuple[float, float]]]
    lanes: dict[int, list[Lane]] = {-1: [], 1: []}
    placed: list[tuple[State, State, list[str], tuple[int, int, float, float] | None]] = []
    exits: dict[State, int] = {}
    by_span = sorted(edges.items(), key=lambda e: (rank[e[0][1]] - rank[e[0][0]], rank[e[0][0]]))
    for (s, n), labels in by_span:
        (xs, ys), (_, yn) = pos[s], pos[n]
        if rank[n] == rank[s] + 1:
            placed.append((s, n, labels, None))
            continue
        key = (n, tuple(labels))
        exits[s] = exits.get(s, 0) + 1
        y0, y1 = ys + h * min(0.45 + 0.2 * exits[s], 0.85), yn + h * 0.25
        sides = [1 if xs > 0 else -1] if xs else [-1, 1]
        choice = next(
            ((sd, k) for sd in sides for k, ln in enumerate(lanes[sd]) if ln[0] == key), None
        )
        if choice is None:
            choice = next(
                (
                    (sd, k)
                    for sd in sorted(sides, key=lambda sd: len(lanes[sd]))
                    for k, ln in enumerate(lanes[sd])
                    if all(y1 < a - 6 or y0 > b + 6 for a, b in ln[2])
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
            [*old[2], (y0, y1)],
        )
        placed.append((s, n, labels, (sd, k, y0, y1)))

    def lane_x(sd: int, k: int) -> float:
        widths = [ln[1] * line + 14 for ln in lanes[sd]]
        return sd * (inner + sum(widths[:k]) + widths[k] / 2)

    half = max(inner + sum(ln[1] * line + 14 for ln in lanes[sd]) for sd in (-1, 1)) + 4
    height = 20 + max(rank.values()) * gap + h
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{-half:.0f} 0 {2 * half:.0f} {height}" '
        f'width="{2 * half:.0f}" style="max-width:100%;height:auto" font-family="sans-serif" '
        'font-size="12" role="img" aria-label="Session state diagram">',
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
            f = 0.5 if xs == xn else 0.25
            label(xs + (xn - xs) * f, ys + h + (yn - ys - h) * f, labels)
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
                (min(a for a, _ in spans), max(b for _, b in spans)) if shared else (y0, y1)
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
            f'fill="#1a3d66">{escape(s.value)}</text>'
        )
    out.append("</svg>")
    return out


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(render_markdown())
