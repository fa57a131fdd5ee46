"""One regression test per concrete case of issue 9, section 3 ("The fault contract").

Each test gets a session into the state the case needs (logged on in either role, an initiator
waiting for Kalshi's Logon answer, an acceptor waiting for the client's Logon), feeds it one
hand-built frame (correct BodyLength and CheckSum, so it reaches the session), fires its timers a
few times, and asserts

* the contract: `receive_data`, `next_event` / `events`, `handle_timer`, `next_deadline` and
  `data_to_send` raise nothing but `RemoteProtocolError` (the `ContractDriver` stops feeding once
  the session has ended, so no `LocalProtocolError` is the caller's fault);
* every frame the session writes is well formed (8=FIXT.1.1, BodyLength, CheckSum, no empty
  value, MsgSeqNum an integer >= 1);
* a sensible outcome: the message is rejected (DecodeFailure + Reject 35=3 naming its MsgSeqNum),
  or the session ends (RemoteProtocolError / CloseTransport), as the case allows.

A failing test prints the exact calls, with the bytes, that reproduce it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fault_driver import (
    ContractDriver,
    Field,
    awaiting_client_logon,
    awaiting_logon_answer,
    build_frame,
    data_tags,
    field_value,
    frame_body,
    logged_on,
    stamp,
)
from fault_strategies import app_types
from strategies import minimal_record

from kalshi_fix_sansio import (
    ApplicationMessage,
    DecodeFailure,
    GarbledData,
    Header,
    LoggedOn,
    LogonRejected,
    Role,
)

MAX_SEQ = 2**63 - 1
MAX_SANE_HEARTBEAT = 2**31 - 1
"""A loose upper bound: whatever bound the session picks for HeartBtInt, it is below this."""

VICTIMS = [
    pytest.param(("prediction", "KalshiNR", Role.INITIATOR), id="prediction-NR-initiator"),
    pytest.param(("prediction", "KalshiNR", Role.ACCEPTOR), id="prediction-NR-acceptor"),
    pytest.param(("prediction", "KalshiRT", Role.INITIATOR), id="prediction-RT-initiator"),
    pytest.param(("margin", "KalshiRT", Role.ACCEPTOR), id="margin-RT-acceptor"),
]
"""Logged-on sessions each mid-session case runs against: both roles, with and without
retransmission, both products."""


@pytest.fixture(params=VICTIMS)
def session(request: pytest.FixtureRequest) -> ContractDriver:
    product, session_type, role = request.param
    return logged_on(product, session_type, role)


# -- outcome helpers -------------------------------------------------------------------------


def has(driver: ContractDriver, event_type: type) -> bool:
    return any(isinstance(e, event_type) for e in driver.events)


def rejects_for(driver: ContractDriver, seq: int) -> list[bytes]:
    """The Rejects (35=3) the session wrote whose RefSeqNum(45) is ``seq``."""
    return [f for f in driver.written_of_type(b"3") if field_value(f, b"45") == b"%d" % seq]


def describe(driver: ContractDriver) -> str:
    return (
        f"events: {driver.event_types()}\nerror: {driver.error!r}\n"
        f"written: {driver.written}\n{driver.reproducer()}"
    )


def assert_rejected_or_ended(driver: ContractDriver, seq: int) -> None:
    """A malformed session message: DecodeFailure + Reject naming it, or the session ended."""
    assert not has(driver, ApplicationMessage), describe(driver)
    if driver.ended:
        return
    assert has(driver, DecodeFailure), describe(driver)
    assert rejects_for(driver, seq), describe(driver)
    assert driver.session.next_target_seq == seq + 1, describe(driver)


def assert_sane_heartbeat(driver: ContractDriver) -> None:
    """Refused, or logged on with a positive interval of bounded size (an absurd HeartBtInt
    from the peer is refused or ignored, never adopted)."""
    for event in driver.events:
        if isinstance(event, LoggedOn):
            assert 0 < event.heartbeat_interval <= MAX_SANE_HEARTBEAT, describe(driver)
    if not driver.ended:
        assert 0 < driver.session.heartbeat_interval <= MAX_SANE_HEARTBEAT, describe(driver)


def feed_and_tick(driver: ContractDriver, frame: bytes) -> None:
    """Feed one frame, then let the session's timers fire a few times."""
    driver.feed(frame)
    driver.run_timers(4)


def app_frame(driver: ContractDriver, seq: bytes) -> bytes:
    """A minimal valid application message the peer sends on this session, MsgSeqNum ``seq``."""
    config = driver.session.config
    msg_type = app_types(config.product, config.session_type, config.role)[0]
    message = minimal_record(driver.dialect, driver.dialect.MESSAGES[msg_type])
    header = Header(
        sender_comp_id=driver.peer_sender,
        target_comp_id=driver.peer_target,
        msg_seq_num=1,
        sending_time=datetime.fromtimestamp(driver.now, timezone.utc),
    )
    encoded = driver.dialect.encode(message, header, use_dollars=config.dollars)
    lengths = data_tags(driver.dialect)
    body = [(t, seq if t == b"34" else v) for t, v in frame_body(encoded, lengths)]
    return build_frame(body)


# -- the cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["heartbeat", "application"])
def test_5000_digit_msg_seq_num(session: ContractDriver, kind: str) -> None:
    """Today: ValueError (int() of more than 4300 digits) from next_event()."""
    huge = b"9" * 5000
    if kind == "heartbeat":
        frame = session.frame(b"0", seq=huge)
    else:
        frame = app_frame(session, huge)
    expected = session.expected_seq
    feed_and_tick(session, frame)
    assert not has(session, ApplicationMessage), describe(session)
    assert session.ended or has(session, DecodeFailure), describe(session)
    if not session.ended:
        assert session.session.next_target_seq == expected, describe(session)


def test_non_utf8_test_req_id_on_test_request(session: ContractDriver) -> None:
    """Today: DecodeError from next_event() (reading TestReqID to echo it)."""
    seq = session.expected_seq
    feed_and_tick(session, session.frame(b"1", [(b"112", b"\xff\xfe")]))
    assert_rejected_or_ended(session, seq)
    assert not any(b"\xff" in f for f in session.written_of_type(b"0")), describe(session)


def test_gap_fill_flag_x_on_sequence_reset(session: ContractDriver) -> None:
    """Today: DecodeError from next_event() (GapFillFlag 123=X is not a boolean)."""
    seq = session.expected_seq
    feed_and_tick(session, session.frame(b"4", [(b"123", b"X"), (b"36", b"%d" % (seq + 5))]))
    assert_rejected_or_ended(session, seq)


def test_begin_seq_no_x_on_resend_request(session: ContractDriver) -> None:
    """Today: DecodeError from next_event() (BeginSeqNo 7=x)."""
    seq = session.expected_seq
    feed_and_tick(session, session.frame(b"2", [(b"7", b"x"), (b"16", b"0")]))
    assert_rejected_or_ended(session, seq)


def test_non_utf8_text_on_logout(session: ContractDriver) -> None:
    """Today: DecodeError from next_event() (Text 58 of the peer's Logout)."""
    feed_and_tick(session, session.frame(b"5", [(b"58", b"bye \xff\xfe")]))
    # either rejected like any malformed message, or the Logout honoured: both end cleanly
    assert session.ended or has(session, DecodeFailure), describe(session)


def test_bad_ref_seq_num_on_reject(session: ContractDriver) -> None:
    """Today: DecodeError from next_event() (RefSeqNum 45=x on an inbound Reject)."""
    seq = session.expected_seq
    feed_and_tick(session, session.frame(b"3", [(b"45", b"x"), (b"373", b"5")]))
    assert_rejected_or_ended(session, seq)


def test_heart_bt_int_x_on_mid_session_logon(session: ContractDriver) -> None:
    """108=x on a Logon that arrives on an active session."""
    seq = session.expected_seq
    body: list[Field] = [(b"98", b"0"), (b"108", b"x"), (b"1137", b"9")]
    feed_and_tick(session, session.frame(b"A", body))
    assert_rejected_or_ended(session, seq)


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_heart_bt_int_x_on_logon_answer(product: str) -> None:
    """Today: DecodeError from next_event() (108=x in Kalshi's answer to our Logon)."""
    driver = awaiting_logon_answer(product, "KalshiNR")
    body: list[Field] = [(b"98", b"0"), (b"108", b"x"), (b"141", b"Y"), (b"1137", b"9")]
    feed_and_tick(driver, driver.frame(b"A", body, seq=1))
    # refused (the session ends) or ignored (logged on with our own interval)
    if not driver.ended:
        assert has(driver, LoggedOn), describe(driver)
        assert driver.session.heartbeat_interval == driver.session.config.heartbeat_interval


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_heart_bt_int_x_on_client_logon(product: str) -> None:
    """108=x in a correctly signed client Logon: the acceptor refuses it, nothing escapes."""
    acceptor = awaiting_client_logon(product, "KalshiNR")
    feed_and_tick(acceptor.driver, acceptor.logon(heartbeat=b"x"))
    driver = acceptor.driver
    assert not has(driver, LoggedOn), describe(driver)
    assert driver.ended or has(driver, LogonRejected), describe(driver)


def test_empty_test_req_id_is_not_echoed(session: ContractDriver) -> None:
    """Today: EncodeError from next_event() (a Heartbeat with an empty TestReqID)."""
    seq = session.expected_seq
    feed_and_tick(session, session.frame(b"1", [(b"112", b"")]))
    # rejected (tag without a value), or answered without the empty field, or ended; every frame
    # written was already checked: none carries "112=" with nothing after it
    answered = rejects_for(session, seq) or session.written_of_type(b"0")
    assert session.ended or answered, describe(session)


@pytest.mark.parametrize("role", [Role.INITIATOR, Role.ACCEPTOR])
def test_empty_msg_type_with_bad_comp_id(role: Role) -> None:
    """Today: EncodeError from next_event() (the CompID Reject echoes RefMsgType 372=<empty>)."""
    driver = logged_on("prediction", "KalshiNR", role)
    frame = build_frame(
        [
            (b"35", b""),
            (b"49", b"Intruder"),
            (b"56", driver.peer_target.encode()),
            (b"34", b"%d" % driver.expected_seq),
            (b"52", stamp(driver.now)),
        ]
    )
    feed_and_tick(driver, frame)
    assert not has(driver, ApplicationMessage), describe(driver)
    assert driver.ended or has(driver, DecodeFailure) or has(driver, GarbledData), describe(driver)


@pytest.mark.parametrize(
    "keep",
    [
        pytest.param((b"35", b"34", b"52"), id="no-CompIDs"),
        pytest.param((b"35", b"56", b"34", b"52"), id="no-SenderCompID"),
        pytest.param((b"35", b"49", b"34"), id="no-TargetCompID-no-SendingTime"),
        pytest.param((b"35", b"34"), id="MsgType-and-MsgSeqNum-only"),
        pytest.param((b"35",), id="MsgType-only"),
    ],
)
@pytest.mark.parametrize("msg_type", [b"0", b"1", b"D", b"8"])
def test_frame_with_header_fields_missing(
    session: ContractDriver, keep: tuple[bytes, ...], msg_type: bytes
) -> None:
    """Found by the property test (work in progress): a Heartbeat of just 35, 34 and 52 made
    the header layout lookup index past the end of the field list (IndexError)."""
    head = [f for f in session.header(msg_type) if f[0] in keep]
    body: list[Field] = [(b"112", b"t-1")] if msg_type == b"1" else []
    feed_and_tick(session, build_frame([*head, *body]))
    assert not has(session, ApplicationMessage), describe(session)


@pytest.mark.parametrize("gap_fill", [False, True], ids=["reset", "gap-fill"])
@pytest.mark.parametrize("new_seq_no", [2**63, 2**64, 10**30])
def test_new_seq_no_beyond_int64(session: ContractDriver, gap_fill: bool, new_seq_no: int) -> None:
    """Today: LocalProtocolError from next_event() (the store refuses NewSeqNo >= 2**63)."""
    seq = session.expected_seq
    body: list[Field] = [(b"36", b"%d" % new_seq_no)]
    if gap_fill:
        body.insert(0, (b"123", b"Y"))
    feed_and_tick(session, session.frame(b"4", body))
    assert session.session.next_target_seq <= MAX_SEQ, describe(session)
    assert session.ended or has(session, DecodeFailure) or rejects_for(session, seq), describe(
        session
    )


@pytest.mark.parametrize("then", ["heartbeat", "test-request", "application"])
def test_new_seq_no_at_the_int64_limit_then_a_message(session: ContractDriver, then: str) -> None:
    """Found by the property test: NewSeqNo = 2**63 - 1 is accepted, and the next message (the
    in-sequence application fast path) moves the expected number to 2**63: LocalProtocolError
    from the store. The last MsgSeqNum must not break the session's own bookkeeping."""
    session.feed(session.frame(b"4", [(b"36", b"%d" % MAX_SEQ)]))
    if session.ended:
        return  # refusing so high a NewSeqNo outright is fine too
    seq = b"%d" % session.expected_seq
    if then == "heartbeat":
        frame = session.frame(b"0", seq=seq)
    elif then == "test-request":
        frame = session.frame(b"1", [(b"112", b"t-1")], seq=seq)
    else:
        frame = app_frame(session, seq)
    feed_and_tick(session, frame)
    assert session.session.next_target_seq <= MAX_SEQ, describe(session)


@pytest.mark.parametrize("begin", [b"-5", b"0", b"-" + b"9" * 25], ids=["-5", "0", "-26-digits"])
def test_negative_begin_seq_no(session: ContractDriver, begin: bytes) -> None:
    """Today: LocalProtocolError (store.get(-5, ...) on KalshiRT), or a GapFill with 34=-5 on a
    session without retransmission: the session never writes MsgSeqNum <= 0."""
    seq = session.expected_seq
    feed_and_tick(session, session.frame(b"2", [(b"7", begin), (b"16", b"0")]))
    # well-formedness of the answer (no 34=-5) is checked by the driver on every frame written
    assert session.ended or has(session, DecodeFailure) or rejects_for(session, seq), describe(
        session
    )


def test_resend_request_minus_5_on_non_retransmitting_session() -> None:
    """The exact case of the issue: KalshiNR answered 7=-5 with a GapFill carrying 34=-5."""
    driver = logged_on("prediction", "KalshiNR", Role.ACCEPTOR)
    feed_and_tick(driver, driver.frame(b"2", [(b"7", b"-5"), (b"16", b"0")]))
    for frame in driver.written_of_type(b"4"):
        assert int(field_value(frame, b"34") or b"0") >= 1, describe(driver)


@pytest.mark.parametrize("seq", [b"0", b"-1", b"00"])
def test_acceptor_logon_with_msg_seq_num_0(seq: bytes) -> None:
    """Today: LocalProtocolError (signature payload with MsgSeqNum 0) from next_event()."""
    acceptor = awaiting_client_logon("prediction", "KalshiNR")
    feed_and_tick(acceptor.driver, acceptor.logon(seq=seq))
    driver = acceptor.driver
    assert not has(driver, LoggedOn), describe(driver)
    assert driver.ended, describe(driver)


@pytest.mark.parametrize("product", ["prediction", "margin"])
@pytest.mark.parametrize(
    "heartbeat", [b"9" * 400, b"9" * 20, b"-30", b"0"], ids=["400-digits", "20-digits", "-30", "0"]
)
def test_absurd_heart_bt_int_in_logon_answer(product: str, heartbeat: bytes) -> None:
    """Today: OverflowError from every later next_deadline() (int + float of 400 digits)."""
    driver = awaiting_logon_answer(product, "KalshiNR")
    body: list[Field] = [(b"98", b"0"), (b"108", heartbeat), (b"141", b"Y"), (b"1137", b"9")]
    driver.feed(driver.frame(b"A", body, seq=1))
    assert_sane_heartbeat(driver)
    for _ in range(5):
        driver.check_deadline()
        driver.timer(31.0)
    driver.run_timers(5)


@pytest.mark.parametrize("heartbeat", [b"9" * 400, b"0", b"-30"], ids=["400-digits", "0", "-30"])
def test_absurd_heart_bt_int_in_client_logon(heartbeat: bytes) -> None:
    """The acceptor side of the same case: it must not adopt an absurd interval."""
    acceptor = awaiting_client_logon("prediction", "KalshiNR")
    driver = acceptor.driver
    driver.feed(acceptor.logon(heartbeat=heartbeat))
    assert_sane_heartbeat(driver)
    for _ in range(5):
        driver.check_deadline()
        driver.timer(31.0)


@pytest.mark.parametrize(
    ("tag", "first_value"),
    [
        pytest.param(b"52", b"", id="empty-SendingTime-first"),
        pytest.param(b"52", b"x", id="bad-SendingTime-first"),
        pytest.param(b"34", b"", id="empty-MsgSeqNum-first"),
        pytest.param(b"49", b"other", id="other-SenderCompID-first"),
    ],
)
def test_client_logon_with_a_duplicated_header_field(tag: bytes, first_value: bytes) -> None:
    """Found by the property test (work in progress): a signed client Logon carrying ``52=``
    before its real SendingTime raised LocalProtocolError ("sending_time is empty", from
    auth.logon_payload): the signature check read one 52 and the time check the other."""
    acceptor = awaiting_client_logon("prediction", "KalshiNR")
    driver = acceptor.driver
    fields = frame_body(acceptor.logon(), driver.lengths)
    feed_and_tick(driver, build_frame([fields[0], (tag, first_value), *fields[1:]]))
    assert not has(driver, LoggedOn), describe(driver)
    assert driver.ended, describe(driver)
