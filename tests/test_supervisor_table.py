"""The supervisor's transition table alone, and its page in the docs.

The table lives in the private module `kalshi_fix_sansio._states` (beside the session's): these
tests import it to check the table's shape; what a `Supervisor` does on each row is tested
through its public API in test_supervisor.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kalshi_fix_sansio._states import (
    SUPERVISOR_TRANSITIONS,
    SupervisorAction,
    SupervisorInput,
    render_supervisor_markdown,
    supervisor_transition,
)
from kalshi_fix_sansio.config import SessionConfig
from kalshi_fix_sansio.errors import LocalProtocolError
from kalshi_fix_sansio.supervisor import Supervisor, SupervisorState
from kalshi_fix_sansio.testing import new_ed25519_keys

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
        "python -m kalshi_fix_sansio._states supervisor > docs/supervisor-states.md"
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
