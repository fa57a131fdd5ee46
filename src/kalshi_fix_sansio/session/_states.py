"""The state machines as tables: every allowed transition, nothing else.

`Session` moves only through `transition()` (`TRANSITIONS`), `Supervisor` only through
`supervisor_transition()` (`SUPERVISOR_TRANSITIONS`, each row with the action it takes). The
docs' state pages (docs/session-states.md, docs/supervisor-states.md) are generated from the
tables by `render_markdown()` and `render_supervisor_markdown()`, and tests keep them in step.
"""

from __future__ import annotations

import enum
from collections import deque

from ..codec.errors import LocalProtocolError, RemoteProtocolError
from .events import CloseTransport, Event
from .store import StoreError

# The members of these enums are singletons compared by identity: hashed so too (`Enum.__hash__`
# is Python code, and the supervisor tests state membership on every message it reads or sends)
_identity_hash = object.__hash__


class State(enum.Enum):
    """Where a session is in its life."""

    __hash__ = _identity_hash

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

    __hash__ = _identity_hash

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


class Lifecycle:
    """A session's life, moved only through `TRANSITIONS`: its state and since when, the
    clock as last passed in, the events waiting to be read and the error that ended it.

    The session's parts that change its life (the session itself, its inbound side) share one.

    Args:
        acceptor: the session is an acceptor (START leads to AWAITING_LOGON).
    """

    __slots__ = ("acceptor", "error", "events", "now", "since", "state")

    def __init__(self, acceptor: bool) -> None:
        self.acceptor = acceptor
        self.state = State.IDLE
        self.since = 0.0
        """When the state was entered (the logon and logout timers count from it)."""
        self.now = 0.0
        """UTC seconds since the epoch, as the caller last passed them."""
        self.events: deque[Event] = deque()
        self.error: RemoteProtocolError | StoreError | None = None
        """The peer's fault that ended the session (raised by `next_event`)."""

    def move(self, trigger: Trigger) -> None:
        """Take the transition ``trigger`` (`transition`), at ``now``."""
        self.state = transition(self.state, trigger, acceptor=self.acceptor)
        self.since = self.now

    def close(self, reason: str, *, reconnect: bool, trigger: Trigger, reset: bool = False) -> None:
        """End the session benignly: closed (unless it is already) and a `CloseTransport`."""
        if self.state is not State.CLOSED:
            self.move(trigger)
        self.events.append(CloseTransport(reason, reconnect, reset))


# --------------------------------------------------------------------------------------------
# The supervisor's table


class SupervisorState(enum.Enum):
    """Where a `Supervisor` is."""

    __hash__ = _identity_hash

    IDLE = "idle"
    """Built; `Supervisor.start` not called yet."""
    WAITING = "waiting to connect"
    """No connection: open one at `Supervisor.connect_at`."""
    LOGGING_ON = "logging on"
    """Connected; our Logon is out."""
    ACTIVE = "active"
    """Logged on: application messages flow."""
    LOGGING_OUT = "logging out"
    """`Supervisor.close` sent our Logout; waiting for the answer (or the logout timeout)."""
    CLOSED = "closed"
    """Closed by `Supervisor.close`: nothing more happens."""
    FAILED = "failed"
    """Gave up: `Supervisor.failure` says why."""


class SupervisorInput(enum.Enum):
    """What moves a `Supervisor`: a call of its API, or what its session or backoff says."""

    __hash__ = _identity_hash

    START = "start()"
    CONNECTED = "connection_made()"
    CONNECT_FAILED = "connection_failed()"
    LOGGED_ON = "Logon answered"
    REFUSED = "Logon refused for good"
    ENDED = "session ended, may resume"
    """The session closed or failed and asks to reconnect (and `Supervisor.reconnect` is on)."""
    ENDED_FOR_GOOD = "session ended for good"
    """The session closed or failed and cannot resume (or reconnecting is off)."""
    GIVE_UP = "backoff ran out"
    CLOSE = "close()"


class SupervisorAction(enum.Enum):
    """What a `Supervisor` does on a transition (one method each, `Supervisor._ACTIONS`)."""

    __hash__ = _identity_hash

    NOTHING = "nothing"
    CONNECT = "connect at once"
    LOG_ON = "new Session, send its Logon"
    ATTEMPT_FAILED = "count the attempt; schedule the next (Reconnecting; see maintenance)"
    RETRY = "schedule the next attempt (Reconnecting; see maintenance)"
    LOGGED_ON = "reset the backoff; after a drop: Reconnected, re-subscribe"
    REFUSE = "fail with LogonRefused"
    RECONNECT = "Disconnected; plan the Logon's reset, schedule the next attempt"
    LOST = "Disconnected; fail with TransportError"
    GIVE_UP = "fail with ConnectionFailed"
    LOGOUT = "send the Logout"


_SS = SupervisorState
_SI = SupervisorInput
_SA = SupervisorAction

SUPERVISOR_TRANSITIONS: dict[
    tuple[SupervisorState, SupervisorInput], tuple[SupervisorState, SupervisorAction]
] = {
    # NOTHING rows keep the state: close() again, a failed connection reported late or twice,
    # the session's fault read after the close that ended its connection (its closed -> failed)
    (_SS.IDLE, _SI.START): (_SS.WAITING, _SA.CONNECT),
    (_SS.IDLE, _SI.CLOSE): (_SS.CLOSED, _SA.NOTHING),
    (_SS.IDLE, _SI.CONNECT_FAILED): (_SS.IDLE, _SA.NOTHING),
    (_SS.WAITING, _SI.CONNECTED): (_SS.LOGGING_ON, _SA.LOG_ON),
    (_SS.WAITING, _SI.CONNECT_FAILED): (_SS.WAITING, _SA.ATTEMPT_FAILED),
    (_SS.WAITING, _SI.GIVE_UP): (_SS.FAILED, _SA.GIVE_UP),
    (_SS.WAITING, _SI.CLOSE): (_SS.CLOSED, _SA.NOTHING),
    (_SS.WAITING, _SI.ENDED): (_SS.WAITING, _SA.NOTHING),
    (_SS.WAITING, _SI.ENDED_FOR_GOOD): (_SS.WAITING, _SA.NOTHING),
    (_SS.LOGGING_ON, _SI.LOGGED_ON): (_SS.ACTIVE, _SA.LOGGED_ON),
    (_SS.LOGGING_ON, _SI.REFUSED): (_SS.FAILED, _SA.REFUSE),
    (_SS.LOGGING_ON, _SI.ENDED): (_SS.WAITING, _SA.RETRY),
    (_SS.LOGGING_ON, _SI.ENDED_FOR_GOOD): (_SS.WAITING, _SA.RETRY),
    (_SS.LOGGING_ON, _SI.CLOSE): (_SS.LOGGING_OUT, _SA.LOGOUT),
    (_SS.LOGGING_ON, _SI.CONNECT_FAILED): (_SS.LOGGING_ON, _SA.NOTHING),
    (_SS.ACTIVE, _SI.ENDED): (_SS.WAITING, _SA.RECONNECT),
    (_SS.ACTIVE, _SI.ENDED_FOR_GOOD): (_SS.FAILED, _SA.LOST),
    (_SS.ACTIVE, _SI.CLOSE): (_SS.LOGGING_OUT, _SA.LOGOUT),
    (_SS.ACTIVE, _SI.CONNECT_FAILED): (_SS.ACTIVE, _SA.NOTHING),
    (_SS.LOGGING_OUT, _SI.ENDED): (_SS.CLOSED, _SA.NOTHING),
    (_SS.LOGGING_OUT, _SI.ENDED_FOR_GOOD): (_SS.CLOSED, _SA.NOTHING),
    (_SS.LOGGING_OUT, _SI.CLOSE): (_SS.LOGGING_OUT, _SA.NOTHING),
    (_SS.LOGGING_OUT, _SI.CONNECT_FAILED): (_SS.LOGGING_OUT, _SA.NOTHING),
    (_SS.CLOSED, _SI.ENDED): (_SS.CLOSED, _SA.NOTHING),
    (_SS.CLOSED, _SI.ENDED_FOR_GOOD): (_SS.CLOSED, _SA.NOTHING),
    (_SS.CLOSED, _SI.CLOSE): (_SS.CLOSED, _SA.NOTHING),
    (_SS.CLOSED, _SI.CONNECT_FAILED): (_SS.CLOSED, _SA.NOTHING),
    (_SS.FAILED, _SI.ENDED): (_SS.FAILED, _SA.NOTHING),
    (_SS.FAILED, _SI.ENDED_FOR_GOOD): (_SS.FAILED, _SA.NOTHING),
    (_SS.FAILED, _SI.CLOSE): (_SS.FAILED, _SA.NOTHING),
    (_SS.FAILED, _SI.CONNECT_FAILED): (_SS.FAILED, _SA.NOTHING),
}
"""(state, input) -> (next state, action). Anything else is refused."""


def supervisor_transition(
    state: SupervisorState, event: SupervisorInput
) -> tuple[SupervisorState, SupervisorAction]:
    """The supervisor's next state and the action it takes on ``event`` in ``state``.

    Args:
        state: the current state.
        event: what happened.

    Returns:
        The next state and the action.

    Raises:
        LocalProtocolError: the table has no such transition (named by state and input).
    """
    row = SUPERVISOR_TRANSITIONS.get((state, event))
    if row is None:
        raise LocalProtocolError(
            f"the supervisor cannot take {event.value} in state {state.value!r}"
        )
    return row


# --------------------------------------------------------------------------------------------
# The docs pages


def render_markdown() -> str:
    """The session's state page (docs/session-states.md), generated from `TRANSITIONS`.

    Returns:
        Markdown: a transition table and its diagram.
    """
    from ._statedoc import render_page  # the docs' drawing, not needed to run a session

    rows = [(ACCEPTOR_START[0], ACCEPTOR_START[1], ACCEPTOR_START[2], "acceptor")]
    rows += [
        (s, t, n, "initiator" if (s, t) == (_S.IDLE, _T.START) else "")
        for (s, t), n in TRANSITIONS.items()
    ]
    return render_page(
        header="DO NOT EDIT: generated from src/kalshi_fix_sansio/session/_states.py "
        "(python -m kalshi_fix_sansio.session._states).",
        title="Session states",
        intro=[
            "The session moves only along these transitions; anything else is refused with a",
            "`LocalProtocolError`.",
        ],
        columns=["From", "On", "To", "Note"],
        rows=[(s.value, t.value, n.value, note) for s, t, n, note in rows],
        edges=[(s.value, t.value, n.value) for s, t, n, _ in rows],
        drawing_intro=_DRAWN,
        aria="Session state diagram",
    )


_DRAWN = [
    "The same transitions drawn: an arrow to the next row is straight; a longer one runs",
    "along a lane beside the states, and arrows into one state on the same triggers share a",
    "lane (a dot marks where one joins it).",
]


def render_supervisor_markdown() -> str:
    """The supervisor's state page (docs/supervisor-states.md), generated from
    `SUPERVISOR_TRANSITIONS`.

    Returns:
        Markdown: a transition table with the actions, and its diagram.
    """
    from ._statedoc import render_page

    rows = SUPERVISOR_TRANSITIONS.items()
    return render_page(
        header="DO NOT EDIT: generated from src/kalshi_fix_sansio/session/_states.py "
        "(python -m kalshi_fix_sansio.session._states supervisor).",
        title="Supervisor states",
        intro=[
            "A `Supervisor` keeps one initiator session logged on across connections. It moves",
            "only along these transitions, each with the action it takes; any other input is",
            "refused with a `LocalProtocolError` naming the state and the input. The inputs are",
            "its API calls (`start()`, `connection_made()`, `connection_failed()`, `close()`)",
            "and what its session and its backoff say (Logon answered or refused, the session",
            "ended, the backoff ran out). The [session's own states](session-states.md) run",
            "inside `logging on`, `active` and `logging out`.",
            "",
            "The backoff runs out (`backoff ran out`) after `Backoff.attempts` for a session",
            "that never logged on, and after `Backoff.reconnect_attempts` for one that was: by",
            "default never, so a dropped session keeps trying, each attempt announced by a",
            "`Reconnecting`.",
            "",
            "Maintenance: inside a window of the `Backoff`'s `maintenance` schedule (Kalshi's:",
            "every Thursday 3:00-5:00 AM ET, with the moves Kalshi announces given as data; from",
            "the `now` it is given) the backoff of a session that was logged on does not run",
            "out: once `attempts` delays are spent there, each next attempt is scheduled at the",
            "`Backoff`'s `maintenance_retry` pace until the window ends,",
            "`WaitingOutMaintenance` once per window, and the whole backoff is taken again",
            "after it (see [Kalshi's maintenance window](adapters.md#kalshis-maintenance-window)).",
        ],
        columns=["From", "On", "To", "Action"],
        rows=[(s.value, i.value, n.value, a.value) for (s, i), (n, a) in rows],
        edges=[(s.value, i.value, n.value) for (s, i), (n, _) in rows],
        drawing_intro=[
            *_DRAWN[:-1],
            "lane (a dot marks where one joins it); an arrow back up is a reconnect. Rows that",
            "keep the state are in the table only.",
        ],
        aria="Supervisor state diagram",
    )


if __name__ == "__main__":  # pragma: no cover
    import sys

    page = render_supervisor_markdown if sys.argv[1:] == ["supervisor"] else render_markdown
    sys.stdout.write(page())
