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

    Returns:
        Markdown: a transition table and its Mermaid source.
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
    lines += ["", "```mermaid", "stateDiagram-v2"]
    for s, t, n, _ in rows:
        lines.append(f"    {s.name} --> {n.name}: {t.value}")
    lines += ["```", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(render_markdown())
