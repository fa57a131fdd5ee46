# private: the supervisor's private transition table (`_states`) and its page
"""The supervisor's transition table alone, and its page in the docs.

The table lives in the private module `kalshi_fix_sansio.session._states` (beside the session's): these
tests import it to check the table's shape; what a `Supervisor` does on each row is tested
through its public API in test_supervisor.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_driver import API_KEY, T0, ContractDriver, build_frame
from fault_strategies import app_types, arbitrary_chunks, mutated, valid_frame_parts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.client.supervisor import Supervisor, SupervisorState
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session._states import (
    SUPERVISOR_TRANSITIONS,
    SupervisorAction,
    SupervisorInput,
    render_supervisor_markdown,
    supervisor_transition,
)
from kalshi_fix_sansio.session.config import KALSHI_COMP_ID, Role, SessionConfig
from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.session.store import MemoryStore
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

S, In, A = SupervisorState, SupervisorInput, SupervisorAction
DOCS = Path(__file__).resolve().parent.parent / "docs" / "supervisor-states.md"


def supervisor() -> Supervisor:
    signer, _ = new_ed25519_keys()
    config = SessionConfig(
        sender_comp_id="key-1", product="prediction", session_type="KalshiNR", signer=signer
    )
    return Supervisor(config)


def test_every_state_is_reached_from_idle_and_only_closed_and_failed_are_final() -> None:
    moves: dict[SupervisorState, set[SupervisorState]] = {}
    for (state, _), (nxt, _) in SUPERVISOR_TRANSITIONS.items():
        moves.setdefault(state, set()).add(nxt)
    reached, todo = {S.IDLE}, [S.IDLE]
    while todo:
        for nxt in moves.get(todo.pop(), ()):
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    assert reached == set(S)
    final = {s for s in S if moves.get(s, set()) <= {s}}
    assert final == {S.CLOSED, S.FAILED}


def test_a_row_that_does_nothing_keeps_the_state_or_closes() -> None:
    for (state, event), (nxt, action) in SUPERVISOR_TRANSITIONS.items():
        if action is A.NOTHING:
            assert nxt in (state, S.CLOSED), (state, event)
        if nxt is state and action is not A.NOTHING:
            assert (state, event) == (S.WAITING, In.CONNECT_FAILED), (state, event)  # a retry


def test_every_input_and_action_is_used() -> None:
    assert {event for _, event in SUPERVISOR_TRANSITIONS} == set(In)
    assert {action for _, action in SUPERVISOR_TRANSITIONS.values()} == set(A)


def test_the_supervisor_has_a_method_for_every_action() -> None:
    """`Supervisor._ACTIONS` (private) maps each action but NOTHING to its method."""
    assert set(Supervisor._ACTIONS) == set(A) - {A.NOTHING}


def test_closing_and_a_late_connection_failure_are_accepted_in_every_state() -> None:
    for state in S:
        assert (state, In.CLOSE) in SUPERVISOR_TRANSITIONS
        assert (state, In.CONNECT_FAILED) in SUPERVISOR_TRANSITIONS


@pytest.mark.parametrize(
    ("state", "event"),
    [(s, i) for s in S for i in In if (s, i) not in SUPERVISOR_TRANSITIONS],
)
def test_an_input_outside_the_table_is_refused_naming_state_and_input(
    state: SupervisorState, event: SupervisorInput
) -> None:
    with pytest.raises(LocalProtocolError) as info:
        supervisor_transition(state, event)
    assert event.value in str(info.value) and repr(state.value) in str(info.value)


def test_the_supervisor_refuses_what_its_table_does_not_take() -> None:
    sup = supervisor()
    with pytest.raises(LocalProtocolError, match=r"connection_made\(\) in state 'idle'"):
        sup.connection_made(0.0)
    sup.start(0.0)
    assert sup.connect_at == 0.0  # waiting to connect, at once
    with pytest.raises(LocalProtocolError, match=r"start\(\) in state 'waiting to connect'"):
        sup.start(0.0)
    sup.close(1.0)
    sup.close(2.0)  # idempotent: a row that does nothing
    sup.connection_failed(3.0, OSError("late"))  # reported after the close: changes nothing
    assert sup.state is S.CLOSED and sup.connect_at is None and sup.failure is None


def test_a_failed_connection_counts_and_the_backoff_running_out_fails() -> None:
    sup = supervisor()
    sup.backoff.attempts = 1
    sup.start(0.0)
    sup.connection_failed(0.0, OSError("refused"))
    waiting, connect_at = sup.state, sup.connect_at
    sup.connection_failed(1.0, OSError("refused again"))
    assert waiting is S.WAITING and connect_at is not None
    assert sup.state is S.FAILED and sup.failure is not None and sup.connect_at is None
    assert "2 attempts" in str(sup.failure) and "refused again" in str(sup.failure)


def test_the_docs_page_is_generated_from_the_table() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_supervisor_markdown(), (
        "docs/supervisor-states.md is stale: "
        "python -m kalshi_fix_sansio.session._states supervisor > docs/supervisor-states.md"
    )


def test_the_docs_page_has_a_row_per_transition_and_draws_every_state() -> None:
    page = render_supervisor_markdown()
    rows = [line for line in page.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(SUPERVISOR_TRANSITIONS) + 1  # + the header
    drawing = page[page.index("<svg") :]
    for state in S:
        assert f">{state.value}</text>" in drawing, state
    moving = {i for (s, i), (n, _) in SUPERVISOR_TRANSITIONS.items() if n is not s}
    for event in moving:
        assert event.value in drawing, event


# -- the table and a peer's bytes -----------------------------------------------------------------

FAULT_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def logged_on_supervisor(session_type: str) -> Supervisor:
    """A supervisor logged on to an in-memory acceptor (the mock gateway's core)."""
    signer, public = new_ed25519_keys()
    config = SessionConfig(
        sender_comp_id=API_KEY,
        product="prediction",
        session_type=session_type,
        signer=signer,
        store=MemoryStore(),
    )
    sup = Supervisor(config, backoff=Backoff(attempts=2, seed=1))
    gateway = Session(
        SessionConfig(
            sender_comp_id=KALSHI_COMP_ID,
            product="prediction",
            session_type=session_type,
            role=Role.ACCEPTOR,
            public_keys={API_KEY: public},
        )
    )
    gateway.start(T0)
    sup.start(T0)
    sup.connection_made(T0)
    gateway.receive_data(sup.data_to_send(), T0)
    list(gateway.events())
    sup.receive_data(gateway.data_to_send(), T0)
    assert sup.state is S.ACTIVE, list(iter(sup.next_event, None))
    return sup


@FAULT_SETTINGS
@given(session_type=st.sampled_from(["KalshiNR", "KalshiRT"]), data=st.data())
def test_no_bytes_from_the_peer_reach_an_input_the_table_refuses(
    session_type: str, data: st.DataObject
) -> None:
    """Whatever the peer sends (valid, mutated or arbitrary frames, timers running), the
    supervisor's inputs stay inside its table: nothing escapes receive_data or handle_timer."""
    sup = logged_on_supervisor(session_type)
    now = T0
    msg_types = app_types("prediction", session_type, Role.INITIATOR)
    for _ in range(data.draw(st.integers(1, 8), label="steps")):
        session = sup.session
        if not sup.wants_transport or session is None:
            break
        step = data.draw(st.sampled_from(["valid", "mutated", "mutated", "bytes", "timer"]))
        if step == "timer":
            now += data.draw(st.sampled_from([0.5, 30.0, 80.0]), label="seconds")
            sup.handle_timer(now)
        elif step == "bytes":
            sup.receive_data(data.draw(arbitrary_chunks, label="chunk"), now)
        else:
            peer = ContractDriver(session, p, "Kalshi", API_KEY, now)
            fields = data.draw(valid_frame_parts(peer, msg_types), label="frame fields")
            if step == "mutated":
                fields = data.draw(mutated(fields), label="mutated fields")
            sup.receive_data(build_frame(fields), now)
        sup.data_to_send()
        while sup.next_event() is not None:
            pass
    state = sup.state
    assert state in (S.ACTIVE, S.WAITING, S.FAILED), state
    if state is S.WAITING:  # a reconnect is due: the table takes the next connection
        sup.connection_made(now)
        assert sup.state is S.LOGGING_ON
