"""Session API behaviour not covered by the scenario files: config checks, guards, edge paths."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from scenario_runner import Runner

from kalshi_fix_sansio import margin, prediction
from kalshi_fix_sansio.codec.errors import LocalProtocolError, RemoteProtocolError
from kalshi_fix_sansio.session.config import Role, SessionConfig
from kalshi_fix_sansio.session.events import (
    NEED_DATA,
    ApplicationMessage,
    CloseTransport,
    DecodeFailure,
    LogonRejected,
    ResendRequestReceived,
)
from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.session.store import MemoryStore
from kalshi_fix_sansio.simulator.testing import SessionPair, new_ed25519_keys

SIGNER, PUBLIC = new_ed25519_keys()


def order(**kw: object) -> prediction.NewOrderSingle:
    fields: dict[str, object] = dict(
        cl_ord_id="c1",
        side=prediction.Side.BUY,
        order_qty=Decimal(1),
        ord_type=prediction.OrdType.LIMIT,
        price=Decimal("0.5"),
        symbol="X",
    )
    fields.update(kw)
    return prediction.NewOrderSingle(**fields)  # type: ignore[arg-type]


def runner(*config: str) -> Runner:
    r = Runner(Path("inline.scn"))
    r.d_config(list(config))
    return r


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"product": "futures"}, "product must be 'prediction' or 'margin'"),
        ({"session_type": "KalshiXX"}, "'KalshiXX' is not a prediction session type"),
        ({"product": "margin", "session_type": "KalshiRFQ"}, "not a margin session type"),
        ({"product": "margin", "session_type": "KalshiPT"}, "not a margin session type"),
        ({"heartbeat_interval": 3}, "Kalshi prediction requires > 3"),
        ({"product": "margin", "heartbeat_interval": 2}, ">= 3"),
        ({"reset_seq_num": False}, "requires ResetSeqNumFlag(141)=Y"),
        ({"listener_session": True}, "requires SkipPendingExecReports(21011)=Y"),
        (
            {
                "listener_session": True,
                "skip_pending_exec_reports": True,
                "session_type": "KalshiDC",
            },
            "ListenerSession is not available on KalshiDC",
        ),
        (
            {
                "listener_session": True,
                "skip_pending_exec_reports": True,
                "cancel_orders_on_disconnect": True,
            },
            "CancelOrdersOnDisconnect(8013) must be N on a listener session",
        ),
        ({"product": "margin", "receive_settlement_reports": True}, "margin has no such flag"),
        (
            {"session_type": "KalshiMD", "use_dollars": True},
            "UseDollars is not available on KalshiMD",
        ),
        ({"session_type": "KalshiRT", "message_retention_period": 80}, "1-72 hours"),
        ({"message_retention_period": 24}, "allowed on: KalshiPT, KalshiRT"),
        ({"sender_comp_id": ""}, "sender_comp_id must be a non-empty string"),
        ({"logon_timeout": 0}, "logon_timeout must be > 0"),
        ({"signer": "not a signer"}, "signer must have a sign"),
    ],
)
def test_invalid_configurations_say_why(kwargs: dict[str, object], text: str) -> None:
    args: dict[str, object] = {"sender_comp_id": "key-1"}
    args.update(kwargs)
    with pytest.raises(LocalProtocolError) as ei:
        SessionConfig(**args)  # type: ignore[arg-type]
    assert text in str(ei.value)


def test_config_defaults_follow_the_session_profile() -> None:
    nr = SessionConfig(sender_comp_id="k")
    rt = SessionConfig(sender_comp_id="k", session_type="KalshiRT")
    assert nr.resets_on_logon and not rt.resets_on_logon
    assert SessionConfig(sender_comp_id="k", product="margin").dollars
    assert not nr.dollars and SessionConfig(sender_comp_id="k", use_dollars=True).dollars
    assert nr.time_tolerance == 120.0
    assert SessionConfig(sender_comp_id="Kalshi", role=Role.ACCEPTOR).time_tolerance == 30.0
    assert SessionConfig(sender_comp_id="k", sending_time_tolerance=None).time_tolerance is None
    assert rt.retention_seconds == 24 * 3600


# -- guards ----------------------------------------------------------------------------------


def test_initiator_needs_a_signer() -> None:
    with pytest.raises(LocalProtocolError, match="needs a signer"):
        Session(SessionConfig(sender_comp_id="k")).start(0.0)


def test_start_twice_and_logout_when_idle_are_refused() -> None:
    s = Session(SessionConfig(sender_comp_id="k", signer=SIGNER))
    with pytest.raises(LocalProtocolError, match="cannot log out in state 'idle'"):
        s.logout(0.0)
    s.start(0.0)
    with pytest.raises(LocalProtocolError, match=r"cannot start\(\) in state 'logon sent'"):
        s.start(0.0)


def test_send_guards() -> None:
    pair = SessionPair.kalshi(session_type="KalshiRT")
    pair.start()
    client = pair.client.session
    with pytest.raises(LocalProtocolError, match="session message"):
        client.send(prediction.Heartbeat(), pair.now)
    with pytest.raises(LocalProtocolError, match="is not a prediction message"):
        client.send(margin.NewOrderSingle(), pair.now)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="is not carried by KalshiRT"):
        client.send(
            prediction.OrderMassCancelRequest(cl_ord_id="m", mass_cancel_request_type="6"), pair.now
        )
    before = client.next_sender_seq
    with pytest.raises(LocalProtocolError, match="over max_message_size"):
        client.send(order(symbol="X" * 5_000_000), pair.now)
    assert client.next_sender_seq == before  # nothing consumed


def test_sending_on_a_closed_session_after_an_error() -> None:
    r = runner("session=KalshiNR")
    r.d_start([])
    r.deliver(r.frame("35=A|34=1|98=0|108=30|141=Y"))
    r.deliver(r.frame("35=0|34=5"))
    assert r.session is not None
    events = []
    with pytest.raises(RemoteProtocolError) as ei:
        events.extend(r.session.events())
    assert ei.value.reset_seq_nums and ei.value.reconnect
    with pytest.raises(RemoteProtocolError):
        r.session.next_event()
    with pytest.raises(LocalProtocolError, match="session ended"):
        r.session.receive_data(b"x", r.now)
    assert r.session.next_deadline() is None
    r.session.handle_timer(r.now + 100)  # harmless
    assert b"35=5" in r.session.data_to_send()


# -- inbound edge paths --------------------------------------------------------------------


def logged_on(*config: str) -> Runner:
    r = runner(*config)
    r.d_start([])
    r.deliver(
        r.frame(
            "35=A|34=1|98=0|108=30|141=Y"
            if "session=KalshiRT" not in config
            else "35=A|34=1|98=0|108=30"
        )
    )
    assert r.session is not None
    list(r.session.events())
    r.session.data_to_send()
    return r


def test_malformed_application_message_is_delivered_with_its_defect() -> None:
    r = logged_on("session=KalshiNR")
    assert r.session is not None
    bad = r.frame("35=8|34=2|6=0|11=c|14=0|17=1;1|37=o|38=1|39=0|54=1|55=X|150=0|151=x")
    r.deliver(bad)
    (event,) = list(r.session.events())
    assert isinstance(event, ApplicationMessage) and event.seq_num == 2 and event.raw == bad
    (defect,) = event.defects
    assert (defect.tag, defect.reason, defect.value) == (151, 6, b"x")
    assert "LeavesQty(151)" in defect.text and "ExecutionReport" in defect.text
    message = event.message
    assert message.leaves_qty is None and message.cl_ord_id == "c"  # type: ignore[attr-defined]
    assert message.raw_value(151) == b"x" and message.defects == event.defects
    assert r.session.data_to_send() == b""  # no Reject for the exchange's message
    assert r.session.next_target_seq == 3


def test_malformed_application_message_is_rejected_when_strict() -> None:
    r = logged_on("session=KalshiNR", "strict_inbound=Y")
    assert r.session is not None
    bad = r.frame("35=8|34=2|6=0|11=c|14=0|17=1;1|37=o|38=1|39=0|54=1|55=X|150=0|151=x")
    r.deliver(bad)
    events = list(r.session.events())
    assert isinstance(events[0], DecodeFailure) and events[0].seq_num == 2 and events[0].raw == bad
    assert "LeavesQty(151)" in str(events[0].error)
    out = r.session.data_to_send()
    assert (
        b"35=3\x01" in out and b"45=2\x01" in out and b"371=151\x01" in out and b"373=6\x01" in out
    )
    assert r.session.next_target_seq == 3


def test_lazy_values_when_validation_is_off() -> None:
    r = logged_on("session=KalshiNR", "validate=N")
    assert r.session is not None
    r.deliver(r.frame("35=8|34=2|6=0|11=c|14=0|17=1;1|37=o|38=1|39=0|54=1|55=X|150=0|151=x"))
    (event,) = list(r.session.events())
    assert isinstance(event, ApplicationMessage)
    assert event.message.cl_ord_id == "c"  # type: ignore[attr-defined]


@pytest.mark.parametrize("strict", [False, True])
def test_message_missing_required_tags(strict: bool) -> None:
    r = logged_on("session=KalshiNR", f"strict_inbound={'Y' if strict else 'N'}")
    assert r.session is not None
    r.deliver(r.frame("35=D|34=2|11=c"))  # required tags missing
    (event,) = list(r.session.events())
    if strict:
        assert isinstance(event, DecodeFailure) and event.seq_num == 2
        assert b"373=1\x01" in r.session.data_to_send()
    else:
        assert isinstance(event, ApplicationMessage)
        assert {d.tag for d in event.defects} == {38, 40, 44, 54, 55}
        assert {d.reason for d in event.defects} == {1}
        assert r.session.data_to_send() == b""
    assert r.session.next_target_seq == 3


@pytest.mark.parametrize("strict", [False, True])
def test_defective_message_beyond_a_gap_is_handled_once_in_turn(strict: bool) -> None:
    r = logged_on("session=KalshiRT", f"strict_inbound={'Y' if strict else 'N'}")
    assert r.session is not None
    bad = r.frame("35=D|34=4|11=c")
    r.deliver(bad)
    names = [type(e).__name__ for e in r.session.events()]
    assert names == ["GapDetected", "ResendRequestSent"]  # nothing about it yet
    assert b"35=2\x01" in r.session.data_to_send()
    for seq in (2, 3):
        r.deliver(r.frame(f"35=0|34={seq}|43=Y|122={{now}}"))
    events = list(r.session.events())
    kind = DecodeFailure if strict else ApplicationMessage
    assert [type(e) for e in events] == [kind]  # once, in its turn
    assert events[0].raw == bad  # type: ignore[attr-defined]
    assert r.session.next_target_seq == 5


def test_logon_on_an_active_session_without_reset_is_rejected() -> None:
    r = logged_on("session=KalshiNR")
    assert r.session is not None
    r.deliver(r.frame("35=A|34=2|98=0|108=30"))
    assert list(r.session.events()) == []
    assert b"373=11\x01" in r.session.data_to_send()


def test_logout_beyond_a_gap_ends_the_session() -> None:
    r = logged_on("session=KalshiRT")
    assert r.session is not None
    r.deliver(r.frame("35=5|34=9|58=bye"))
    names = [type(e).__name__ for e in r.session.events()]
    assert names == ["LoggedOut", "CloseTransport"]


def test_resend_request_past_the_end_and_non_retransmission_gap_fill() -> None:
    r = logged_on("session=KalshiNR")
    assert r.session is not None
    r.session.send(order(), r.now)
    r.session.data_to_send()
    r.deliver(r.frame("35=2|34=2|7=1|16=0"))
    (event,) = list(r.session.events())
    assert isinstance(event, ResendRequestReceived) and event.resent == 0 and event.gap_filled == 2
    out = r.session.data_to_send()
    assert out.count(b"35=4\x01") == 1 and b"36=3\x01" in out
    r.deliver(r.frame("35=2|34=3|7=9|16=12"))
    (event,) = list(r.session.events())
    assert isinstance(event, ResendRequestReceived) and event.gap_filled == 0


def test_acceptor_logon_checks() -> None:
    seen: list[str] = []

    def check(logon: object) -> str | None:
        seen.append("called")
        return "already exists"

    store = MemoryStore()
    store.set_next_target_seq(5)
    cfg = SessionConfig(
        sender_comp_id="Kalshi",
        session_type="KalshiRT",
        role=Role.ACCEPTOR,
        public_keys={"key-1": PUBLIC},
        logon_check=check,
    )
    s = Session(cfg)
    s.start(1_800_000_000.0)
    client = Session(SessionConfig(sender_comp_id="key-1", session_type="KalshiRT", signer=SIGNER))
    client.start(1_800_000_000.0)
    s.receive_data(client.data_to_send(), 1_800_000_000.0)
    events = list(s.events())
    assert seen == ["called"]
    assert isinstance(events[0], LogonRejected) and events[0].text == "already exists"
    assert isinstance(events[1], CloseTransport)
    assert b"58=already exists\x01" in s.data_to_send()
    assert s.next_event() is NEED_DATA

    # a stored sequence the client's Logon does not reach: MsgSeqNum too low
    low = Session(
        SessionConfig(
            sender_comp_id="Kalshi",
            session_type="KalshiRT",
            role=Role.ACCEPTOR,
            public_keys={"key-1": PUBLIC},
            store=store,
        )
    )
    low.start(1_800_000_000.0)
    client = Session(SessionConfig(sender_comp_id="key-1", session_type="KalshiRT", signer=SIGNER))
    client.start(1_800_000_000.0)
    low.receive_data(client.data_to_send(), 1_800_000_000.0)
    events = list(low.events())
    assert isinstance(events[0], LogonRejected) and "MsgSeqNum too low" in events[0].text


def test_acceptor_refuses_a_logon_without_signature() -> None:
    r = runner("role=acceptor", "session=KalshiNR")
    r.d_start([])
    r.deliver(r.frame("35=A|49=key-1|56=KalshiNR|34=1|98=0|108=30|141=Y|1137=9", fill=True))
    assert r.session is not None
    events = list(r.session.events())
    assert isinstance(events[0], LogonRejected) and "signature missing" in events[0].text


def test_eof_before_start_and_garbage_during_logon() -> None:
    s = Session(SessionConfig(sender_comp_id="k", signer=SIGNER))
    s.receive_data(b"", 0.0)
    r = runner("session=KalshiNR")
    r.d_start([])
    assert r.session is not None
    r.deliver(r.frame("35=A|34=x|98=0|108=30|141=Y"))
    with pytest.raises(RemoteProtocolError, match=r"MsgSeqNum\(34\) b'x' is not a sequence"):
        list(r.session.events())


def test_a_fatal_fault_leaves_the_session_failed() -> None:
    from kalshi_fix_sansio import State

    r = logged_on("session=KalshiNR")
    assert r.session is not None and r.session.state is State.ACTIVE
    r.deliver(r.frame("35=0|34=1"))  # MsgSeqNum too low
    with pytest.raises(RemoteProtocolError, match="too low"):
        list(r.session.events())
    assert r.session.state is State.FAILED
    with pytest.raises(RemoteProtocolError):  # the error stays the answer
        r.session.next_event()
    with pytest.raises(LocalProtocolError, match="session ended"):
        r.session.receive_data(b"8=FIXT.1.1\x01", r.now)
    with pytest.raises(LocalProtocolError, match="after the session failed"):
        r.session.send(order(), r.now)
    assert r.session.next_deadline() is None


def test_every_logon_flag_of_the_spec_is_a_config_field() -> None:
    import attrs as _attrs

    from kalshi_fix_sansio.session.config import LOGON_FLAGS

    fields = _attrs.fields_dict(SessionConfig)
    assert LOGON_FLAGS and all(attr in fields for attr in LOGON_FLAGS)


def test_reject_refuses_what_was_not_received_and_outside_a_session() -> None:
    r = logged_on("session=KalshiNR")
    assert r.session is not None
    with pytest.raises(LocalProtocolError, match="is not the MsgSeqNum of a message received"):
        r.session.reject(5, 5, r.now)
    with pytest.raises(LocalProtocolError, match="is not the MsgSeqNum"):
        r.session.reject(True, 5, r.now)  # type: ignore[arg-type]
    seq = r.session.reject(1, 5, r.now, ref_tag_id=11, ref_msg_type="D", text="x" * 300)
    out = r.session.data_to_send()
    assert b"35=3\x01" in out and b"\x0145=1\x01" in out and b"\x01373=5\x01" in out
    assert b"x" * 201 not in out and seq == 2
    r.session.logout(r.now)
    with pytest.raises(LocalProtocolError, match="cannot send a Reject in state"):
        r.session.reject(1, 5, r.now)


def test_an_unanswered_resend_request_is_repeated_then_given_up() -> None:
    r = logged_on("session=KalshiRT")
    assert r.session is not None
    r.deliver(r.frame("35=0|34=5"))  # 2..4 missing
    list(r.session.events())
    asked = [r.session.data_to_send().count(b"\x0135=2\x01")]
    for _ in range(4):
        deadline = r.session.next_deadline()
        assert deadline is not None
        r.now = deadline
        r.deliver(r.frame("35=0|34=6|43=Y|122={now}"))  # keeps the peer alive, fills nothing
        r.session.handle_timer(r.now)
        events = list(r.session.events())
        asked.append(r.session.data_to_send().count(b"\x0135=2\x01"))
        if any(isinstance(e, CloseTransport) for e in events):
            break
    assert asked == [1, 1, 1, 1, 0]  # asked, repeated three times, then given up
    closing = [e for e in events if isinstance(e, CloseTransport)]
    assert closing and "not filled after 4 ResendRequests" in closing[0].reason
    assert closing[0].reconnect


def test_send_duplicate_queues_the_last_message_again_as_a_possible_duplicate() -> None:
    r = logged_on("session=KalshiNR")
    session = r.session
    assert session is not None
    assert session.send_duplicate(r.now) is False  # nothing waiting to be written
    seq = session.send(order(), r.now)
    assert session.send_duplicate(r.now + 1) is True
    first, second = [f for f in session.data_to_send().split(b"8=FIXT.1.1\x01") if f]
    assert f"\x0134={seq}\x01".encode() in first and f"\x0134={seq}\x01".encode() in second
    assert b"\x0143=Y\x01" in second and b"\x01122=" in second
    assert b"\x0143=Y\x01" not in first
    assert (
        first.split(b"\x0111=")[1].split(b"\x01")[0]
        == second.split(b"\x0111=")[1].split(b"\x01")[0]
    )
