"""The fault contract (issue 9, section 3) as a property: whatever bytes the peer sends, only
`RemoteProtocolError` escapes, and every frame the session writes is well formed.

Sessions of every session type of both products (derived from the spec's session table), in both
roles, are logged on through an in-memory `SessionPair`; then the test plays the peer with

* arbitrary byte chunks (random, and random-but-FIX-shaped);
* valid frames of the dialect: session messages (Heartbeat, TestRequest, ResendRequest,
  SequenceReset, Reject, Logout, Logon) and generated application messages, encoded as the peer
  would, mostly with the MsgSeqNum the session expects;
* the same frames mutated (absurdly long digits, negative numbers, empty values, non-UTF-8 bytes,
  a dropped / duplicated / swapped / inserted field, a field without '=', another MsgType) with
  BodyLength and CheckSum fixed up so the frame reaches the session;

interleaved with ``handle_timer(now)`` at advancing times and application sends. A third test
does the same to the Logon exchange itself (Kalshi's answer to an initiator, a client's signed
Logon to an acceptor).

The checks live in `fault_driver.ContractDriver`: an escape or a malformed frame fails with
the exact calls and bytes that reproduce it.

Budget: 300 examples per test, derandomized (the same inputs on every CI run). For a longer,
random exploration: ``FAULT_CONTRACT_EXAMPLES=5000 FAULT_CONTRACT_RANDOM=1 pytest ...``.
"""

from __future__ import annotations

import os
from typing import Any

from fault_driver import (
    ADMIN_TYPES,
    DIALECTS,
    ROLES,
    SESSION_KINDS,
    ContractDriver,
    Field,
    awaiting_client_logon,
    awaiting_logon_answer,
    build_frame,
    frame_body,
    logged_on,
)
from fault_strategies import admin_bodies, app_types, arbitrary_chunks, mutated, valid_frame_parts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import messages

from kalshi_fix_sansio import Role
from kalshi_fix_sansio.codec.spec import SESSIONS

EXAMPLES = int(os.environ.get("FAULT_CONTRACT_EXAMPLES", "300"))
RANDOM = os.environ.get("FAULT_CONTRACT_RANDOM", "") not in ("", "0")

contract_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SESSION_UNDER_TEST = [(p, s, r) for (p, s) in SESSION_KINDS for r in ROLES]
"""Every (product, session type, role): 2 roles x every session type of the spec."""


def test_every_session_type_and_role_is_driven() -> None:
    """The property tests below cover the spec's whole session table, in both roles."""
    assert {(p, s) for p, s, _ in SESSION_UNDER_TEST} == set(SESSIONS)
    assert {r for _, _, r in SESSION_UNDER_TEST} == {Role.INITIATOR, Role.ACCEPTOR}
    for product, session_type, role in SESSION_UNDER_TEST:
        driver = logged_on(product, session_type, role)
        assert driver.session.state.value == "active"


# -- steps -----------------------------------------------------------------------------------


def chunk_cuts(data: st.DataObject, size: int) -> list[int]:
    """Where to cut a frame between receive_data() calls (usually nowhere)."""
    if size < 2 or data.draw(st.integers(0, 3), label="cut?") != 0:
        return []
    cuts: list[int] = data.draw(
        st.lists(st.integers(1, size - 1), max_size=3), label="cut frame at"
    )
    return cuts


def step_timer(driver: ContractDriver, data: st.DataObject) -> None:
    hb = float(driver.session.config.heartbeat_interval)
    how = data.draw(
        st.sampled_from(["small", "heartbeat", "long", "deadline"]), label="timer advance"
    )
    if how == "deadline":
        deadline = driver.check_deadline()
        advance = 1.0 if deadline is None else max(deadline - driver.now, 0.0) + 0.001
    elif how == "small":
        advance = data.draw(st.floats(0.0, 2.0), label="seconds")
    elif how == "heartbeat":
        advance = hb * data.draw(st.sampled_from([0.5, 1.0, 1.25]), label="intervals")
    else:
        advance = hb * data.draw(st.sampled_from([2.5, 5.0]), label="intervals")
    driver.timer(advance)


def step_frame(
    driver: ContractDriver, data: st.DataObject, msg_types: list[str], mutate: bool
) -> None:
    fields: list[Field] = data.draw(valid_frame_parts(driver, msg_types), label="frame fields")
    if mutate:
        fields = data.draw(mutated(fields), label="mutated fields")
    frame = build_frame(fields)
    driver.feed(frame, chunk_cuts(data, len(frame)))


def step_send(driver: ContractDriver, data: st.DataObject) -> None:
    """The application sends a message (gives KalshiRT/PT something to resend)."""
    config = driver.session.config
    spec = SESSIONS[(config.product, config.session_type)]
    dialect = DIALECTS[config.product]
    sendable = spec.send if config.role is Role.INITIATOR else spec.receive
    names = [t for t in sendable if t in dialect.MESSAGES and t not in ADMIN_TYPES]
    if not names:
        return
    msg_type = data.draw(st.sampled_from(names), label="send MsgType")
    message: Any = data.draw(messages(dialect, dialect.MESSAGES[msg_type]), label="send message")
    driver.send_app(message)


def finish(driver: ContractDriver, data: st.DataObject) -> None:
    """Let the timers run out, maybe close the connection, and check once more."""
    driver.run_timers(3)
    if data.draw(st.booleans(), label="eof at the end"):
        driver.eof()
    driver.run_timers(2)


# -- the properties --------------------------------------------------------------------------


@contract_settings
@given(kind=st.sampled_from(SESSION_UNDER_TEST), data=st.data())
def test_arbitrary_bytes_keep_the_fault_contract(
    kind: tuple[str, str, Role], data: st.DataObject
) -> None:
    driver = logged_on(*kind)
    for _ in range(data.draw(st.integers(1, 6), label="steps")):
        if data.draw(st.integers(0, 3), label="timer?") == 0:
            step_timer(driver, data)
        else:
            driver.feed(data.draw(arbitrary_chunks, label="chunk"))
    finish(driver, data)


STEP_KINDS = ["mutated"] * 5 + ["valid"] * 3 + ["timer"] * 2 + ["bytes", "send"]


@contract_settings
@given(kind=st.sampled_from(SESSION_UNDER_TEST), data=st.data())
def test_mutated_frames_keep_the_fault_contract(
    kind: tuple[str, str, Role], data: st.DataObject
) -> None:
    product, session_type, role = kind
    driver = logged_on(product, session_type, role)
    msg_types = app_types(product, session_type, role)
    for _ in range(data.draw(st.integers(1, 8), label="steps")):
        step = data.draw(st.sampled_from(STEP_KINDS), label="step")
        if step == "timer":
            step_timer(driver, data)
        elif step == "bytes":
            driver.feed(data.draw(arbitrary_chunks, label="chunk"))
        elif step == "send":
            step_send(driver, data)
        else:
            step_frame(driver, data, msg_types, mutate=step == "mutated")
    finish(driver, data)


@contract_settings
@given(
    kind=st.sampled_from(SESSION_UNDER_TEST),
    data=st.data(),
)
def test_mutated_logons_keep_the_fault_contract(
    kind: tuple[str, str, Role], data: st.DataObject
) -> None:
    """The Logon exchange: Kalshi's answer to an initiator, a client's Logon to an acceptor."""
    product, session_type, role = kind
    spec = SESSIONS[(product, session_type)]
    if role is Role.INITIATOR:
        driver = awaiting_logon_answer(product, session_type)
        body: list[Field] = data.draw(admin_bodies(b"A", 1, 2), label="Logon answer body")
        if spec.reset_seq_num_required and data.draw(st.booleans(), label="141=Y"):
            body = [f for f in body if f[0] != b"141"] + [(b"141", b"Y")]
        fields = [*driver.header(b"A", 1), *body]
    else:
        acceptor = awaiting_client_logon(product, session_type)
        driver = acceptor.driver
        frame = acceptor.logon(reset=spec.reset_seq_num_required or data.draw(st.booleans()))
        fields = frame_body(frame, driver.lengths)
    if data.draw(st.integers(0, 4), label="mutate Logon?") != 0:
        fields = data.draw(mutated(fields), label="mutated Logon")
    frame = build_frame(fields)
    driver.feed(frame, chunk_cuts(data, len(frame)))
    msg_types = app_types(product, session_type, role)
    for _ in range(data.draw(st.integers(0, 3), label="steps after the Logon")):
        step = data.draw(st.sampled_from(STEP_KINDS), label="step")
        if step == "timer":
            step_timer(driver, data)
        elif step == "bytes":
            driver.feed(data.draw(arbitrary_chunks, label="chunk"))
        elif step in ("mutated", "valid"):
            step_frame(driver, data, msg_types, mutate=step == "mutated")
    finish(driver, data)
