# private: the parts a `Session` is built from, each alone (`_outbound`, `_checks`)
"""The parts a `Session` is built from, each alone through its own small interface.

These tests are about private modules and import them: the outbound writer
(`kalshi_fix_sansio.session._outbound.Outbound`), the inbound checks (`_checks.InboundChecks`), gap
recovery (`_recovery.GapRecovery`), rate billing (`_billing.RateBilling`), the session's life
(`_states.Lifecycle`) and the inbound side (`_inbound.Inbound`). What the whole session does is
tested through its public API elsewhere (test_session.py, the scenarios, the fault contract).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kalshi_fix_sansio import Header, State
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.errors import EncodeError, LocalProtocolError, RemoteProtocolError
from kalshi_fix_sansio.session._billing import RateBilling
from kalshi_fix_sansio.session._checks import InboundChecks
from kalshi_fix_sansio.session._inbound import Inbound
from kalshi_fix_sansio.session._outbound import Outbound
from kalshi_fix_sansio.session._recovery import GapRecovery
from kalshi_fix_sansio.session._states import Lifecycle, Trigger
from kalshi_fix_sansio.session.config import KALSHI_COMP_ID, Role, SessionConfig
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    CloseTransport,
    Event,
    GapDetected,
    RateLimited,
    ResendRequestReceived,
    ResendRequestSent,
)
from kalshi_fix_sansio.session.machine import sending_time
from kalshi_fix_sansio.session.ratelimit import RateLimiter, RateLimitExceeded, Tier
from kalshi_fix_sansio.session.store import MemoryStore
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.simulator.testing.samples import prediction_messages

NOW = 1_800_000_000.0
SIGNER, PUBLIC = new_ed25519_keys()


def config(session_type: str = "KalshiRT", **kw: Any) -> SessionConfig:
    return SessionConfig(
        sender_comp_id="key-1",
        product="prediction",
        session_type=session_type,
        signer=SIGNER,
        store=MemoryStore(),
        **kw,
    )


def writer(session_type: str = "KalshiRT", **kw: Any) -> Outbound:
    cfg = config(session_type, **kw)
    assert cfg.store is not None
    return Outbound(cfg, p, cfg.store)


def order(cl_ord_id: str = "c-1") -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(1),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.5"),
        symbol="X",
    )


def from_kalshi(msg: Any, seq: int, now: float = NOW, **header: Any) -> bytes:
    """A frame Kalshi sends the client ``key-1``."""
    fields: dict[str, Any] = dict(
        sender_comp_id=KALSHI_COMP_ID,
        target_comp_id="key-1",
        msg_seq_num=seq,
        sending_time=sending_time(now),
    )
    fields.update(header)
    frame: bytes = p.encode(msg, Header(**fields))
    return frame


def fields(frame: bytes) -> dict[bytes, bytes]:
    return dict(f.split(b"=", 1) for f in frame.split(b"\x01")[:-1])


# -- the outbound writer ------------------------------------------------------------------------


def test_the_writer_numbers_stores_and_queues() -> None:
    w = writer()
    assert w.send_app(order(), NOW) == 1
    assert w.send_admin(p.Heartbeat(), NOW + 1) == 2
    assert w.store.next_sender_seq() == 3 and w.last_tx == NOW + 1
    assert [seq for seq, _ in w.store.get(1, 2)] == [1]  # an admin message is never stored
    first, second = (fields(f) for f in w.out)
    assert (first[b"35"], first[b"34"], first[b"49"], first[b"56"]) == (
        b"D",
        b"1",
        b"key-1",
        b"KalshiRT",
    )
    assert second[b"35"] == b"0"
    data = w.take()
    assert data.count(b"\x0110=") == 2 and w.take() == b""


@pytest.mark.parametrize(
    "now",
    [
        NOW,
        NOW + 0.0005,
        NOW + 0.9999,
        NOW + 1.0,
        NOW + 59.999,
        0.0,
        0.001,
        86_399.999,
        -1.5,
        1_700_000_000.123456,
        4_102_444_799.999,
        1_800_000_000.1 + 1e-7,
    ],
)
def test_the_writers_own_header_is_the_header_encoders_bytes(now: float) -> None:
    """`own_header` writes what the Header encoder writes for `header(seq, now)`: the same
    frame, whichever second (its text cached) and millisecond."""
    w = writer()
    for seq in (1, 9, 10, 123_456_789):
        head = w.own_header(seq, now - 1.0)  # the stamp of another second first, then this one
        head = w.own_header(seq, now)
        assert w.encode(order(), None, head) == w.encode(order(), w.header(seq, now))


def test_the_writers_own_header_across_seconds_minutes_and_days_of_one_writer() -> None:
    """One writer across readings a second apart (its minute's text kept, each second's two
    digits added), across minutes, hours, days and years, and back: each header the Header
    encoder's bytes."""
    w = writer()
    readings = [NOW + i * 0.7 for i in range(200)]  # seconds of a few minutes, some twice
    readings += [4_102_444_799.5 - 61 + i for i in range(64)]  # into the next year
    readings += [86_399.999, 86_400.0, 59.999, 60.0, -1.5, -60.0, NOW, NOW - 3_600.25]
    for now in readings:
        head = w.own_header(7, now)
        assert w.encode(order(), None, head) == w.encode(order(), w.header(7, now)), now


def test_the_writers_own_header_follows_the_target_and_refuses_what_the_encoder_refuses() -> None:
    w = writer()
    w.target_comp_id = "KalshiNR"  # an acceptor learns its peer's CompID at the Logon
    assert fields(w.encode(order(), None, w.own_header(3, NOW)))[b"56"] == b"KalshiNR"
    with pytest.raises(EncodeError, match="MsgSeqNum"):
        w.own_header(0, NOW)
    w.target_comp_id = None
    with pytest.raises(EncodeError, match="TargetCompID"):
        w.own_header(1, NOW)


def test_the_writer_does_not_store_without_retransmission() -> None:
    w = writer("KalshiNR")
    w.send_app(order(), NOW)
    assert w.store.next_sender_seq() == 2 and w.store.get(1, 1) == []


def test_the_writer_resends_as_a_possible_duplicate_and_fills_gaps() -> None:
    w = writer()
    w.send_app(order(), NOW)
    original = w.take()
    w.resend(original, 1, NOW + 5)
    w.gap_fill(2, 4, NOW + 5)
    resent, fill = (fields(f) for f in w.out)
    assert resent[b"43"] == b"Y" and resent[b"122"] == fields(original)[b"52"]
    assert resent[b"34"] == b"1" and resent[b"11"] == b"c-1"
    assert (fill[b"35"], fill[b"123"], fill[b"36"], fill[b"34"]) == (b"4", b"Y", b"4", b"2")


def test_the_writer_refuses_an_oversize_message_and_cuts_a_reject_text() -> None:
    w = writer(max_message_size=100)
    with pytest.raises(LocalProtocolError, match="over max_message_size 100"):
        w.send_app(order("x" * 64), NOW)
    assert w.out == [] and w.store.next_sender_seq() == 1
    w = writer()
    w.reject(7, 5, "y" * 300, NOW, ref_tag=36, ref_msg_type="4")
    reject = fields(w.out[0])
    assert (reject[b"45"], reject[b"373"], reject[b"371"]) == (b"7", b"5", b"36")
    assert len(reject[b"58"]) == 200


def test_the_writer_signs_the_initiators_logon() -> None:
    w = writer()
    w.send_logon(NOW, reset=True)
    logon = fields(w.out[0])
    assert logon[b"35"] == b"A" and logon[b"141"] == b"Y" and logon[b"96"]


# -- the inbound checks -------------------------------------------------------------------------


class Rejects:
    """Stands in for the writer's reject: records what would be sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any, **kw: Any) -> int:
        self.sent.append((*args, kw))
        return len(self.sent)


def checks(**kw: Any) -> tuple[InboundChecks, Rejects]:
    rejects = Rejects()
    return InboundChecks(config(**kw), rejects), rejects


def test_a_foreign_comp_id_is_rejected_and_ends_the_session() -> None:
    c, rejects = checks()
    assert b"Kalshi" in c.accepted_raw and c.expected_target_raw == b"key-1"
    with pytest.raises(RemoteProtocolError, match="CompID problem") as info:
        c.comp_id_problem(b"Mallory", b"key-1", 5, "8", NOW)
    assert not info.value.reconnect
    assert rejects.sent == [(5, 9, "CompID problem: Mallory->key-1", NOW, {"ref_msg_type": "8"})]


def test_sending_time_outside_the_tolerance_ends_the_session() -> None:
    c, rejects = checks(sending_time_tolerance=30)
    msg = p.decode(from_kalshi(p.Heartbeat(), 1), tolerant=True)
    c.sending_time(msg, b"20270115-08:00:00.000", 1, "0", NOW)  # NOW: 2027-01-15 08:00:00
    assert rejects.sent == []
    with pytest.raises(RemoteProtocolError, match="more than 30 s from now"):
        c.sending_time(msg, b"20270115-08:00:45.000", 1, "0", NOW)
    assert rejects.sent[0][:2] == (1, 10)
    c.sending_time(msg, b"not a time", 2, "0", NOW)  # a defect of the message, not an end


def test_a_missing_seq_num_ends_the_session_unless_a_sequence_reset_resets() -> None:
    c, _ = checks()
    reset = p.decode(from_kalshi(p.SequenceReset(new_seq_no=9), 1), tolerant=True)
    assert c.no_seq_num(reset, None, "4") == 0
    heartbeat = p.decode(from_kalshi(p.Heartbeat(), 1), tolerant=True)
    with pytest.raises(RemoteProtocolError, match=r"MsgSeqNum\(34\) missing"):
        c.no_seq_num(heartbeat, None, "0")


def test_a_session_message_with_an_unusable_field_is_named() -> None:
    c, _ = checks()
    request = p.decode(from_kalshi(p.ResendRequest(begin_seq_no=0, end_seq_no=0), 3), tolerant=True)
    defect = c.admin_defect(request, "2")
    assert defect is not None and defect.tag == 7 and defect.reason == 5
    fine = p.decode(from_kalshi(p.ResendRequest(begin_seq_no=1, end_seq_no=0), 3), tolerant=True)
    assert c.admin_defect(fine, "2") is None


def test_a_poss_dup_without_orig_sending_time_is_a_problem() -> None:
    frame = from_kalshi(p.Heartbeat(), 4, poss_dup_flag=True)
    assert InboundChecks.poss_dup_problem(p.decode(frame, tolerant=True)) == (
        1,
        "PossDupFlag=Y without OrigSendingTime(122)",
    )


def test_an_acceptor_checks_the_logon_signature_and_the_key() -> None:
    client = writer("KalshiNR")
    client.send_logon(NOW, reset=True)
    logon = p.decode(client.out[0], tolerant=True)
    acceptor = SessionConfig(
        sender_comp_id=KALSHI_COMP_ID,
        product="prediction",
        session_type="KalshiNR",
        role=Role.ACCEPTOR,
        public_keys={"key-1": PUBLIC},
    )
    c = InboundChecks(acceptor, Rejects())
    assert c.logon_refusal(logon, 1, "key-1", "KalshiNR", NOW) is None
    assert c.logon_refusal(logon, 1, "key-2", "KalshiNR", NOW) == "unknown API key"
    assert c.logon_refusal(logon, 2, "key-1", "KalshiNR", NOW) == "invalid signature"
    assert "does not match" in (c.logon_refusal(logon, 1, "key-1", "KalshiRT", NOW) or "")
    c.learn_peer("key-1")
    assert c.accepted_raw == frozenset({b"key-1"})


# -- gap recovery ---------------------------------------------------------------------------------


class Recovery:
    """Gap recovery with a real writer, its events in a list and a replay that records."""

    def __init__(self, **kw: Any) -> None:
        self.writer = writer()
        self.events: list[Event] = []
        self.replayed: list[bytes] = []
        self.active = True
        kw.setdefault("max_messages", 10)
        kw.setdefault("max_bytes", 1 << 20)
        kw.setdefault("retries", 1)
        self.gaps = GapRecovery(
            self.writer, self.events.append, self.replay, lambda: self.active, **kw
        )

    def replay(self, frame: bytes) -> bool:
        self.replayed.append(frame)
        self.writer.store.set_next_target_seq(self.writer.store.next_target_seq() + 1)
        return True


def test_a_gap_is_asked_for_once_and_its_frames_replayed_in_turn() -> None:
    r = Recovery()
    store = r.writer.store
    f4, f5 = b"frame-4", b"frame-5"
    r.gaps.behind(5, f5, 2, NOW)
    r.gaps.behind(4, f4, 2, NOW)
    assert r.events == [GapDetected(2, 5, True), ResendRequestSent(2, 0)]
    assert [fields(f)[b"35"] for f in r.writer.out] == [b"2"]  # one ResendRequest
    store.set_next_target_seq(4)  # 2 and 3 came back
    r.gaps.drain(NOW)
    assert r.replayed == [f4, f5] and not r.gaps.open and not r.gaps.pending


def test_an_unanswered_resend_request_is_asked_again_then_given_up() -> None:
    r = Recovery(retries=1)
    r.gaps.behind(5, b"frame-5", 2, NOW)
    assert r.gaps.timer(NOW + 1, 30) and len(r.writer.out) == 1  # not due yet
    assert r.gaps.timer(NOW + 30, 30) and len(r.writer.out) == 2  # asked again
    assert not r.gaps.timer(NOW + 60, 30)  # given up


def test_a_resend_request_is_answered_with_the_stored_messages_and_gap_fills() -> None:
    r = Recovery()
    w = r.writer
    w.send_app(order("a"), NOW)
    w.send_admin(p.Heartbeat(), NOW)
    w.send_app(order("b"), NOW)
    w.take()
    r.gaps.answer(p.decode(from_kalshi(p.ResendRequest(begin_seq_no=1, end_seq_no=0), 2)), NOW)
    assert [(fields(f)[b"35"], fields(f)[b"34"]) for f in w.out] == [
        (b"D", b"1"),
        (b"4", b"2"),
        (b"D", b"3"),
    ]
    assert r.events == [ResendRequestReceived(1, 0, 2, 1)]


# -- rate billing ---------------------------------------------------------------------------------


def test_billing_remembers_what_each_message_took_and_a_rejection_drains_it() -> None:
    limiter = RateLimiter("prediction", Tier("test", read=10, write=10))
    billing = RateBilling(limiter, kept=2)
    full = limiter.available("write", NOW)
    charges = billing.limiter.reserve(order(), NOW)  # checked and billed in one step
    assert limiter.available("write", NOW) == full - sum(c.cost for c in charges) < full
    billing.limiter.refund(charges, NOW)  # not sent after all: the tokens are back
    assert limiter.available("write", NOW) == full
    charges = billing.limiter.reserve(order(), NOW)
    billing.sent(1, charges)
    reject = p.BusinessMessageReject(ref_msg_type="D", business_reject_reason=8)
    refused = RateLimited(1, "D", None, 8, "rate limited", reject)
    billing.learn(refused, NOW)
    assert limiter.available("write", NOW) == 0.0
    assert billing.limiter.check(order(), NOW) > 0.0
    with pytest.raises(RateLimitExceeded):
        billing.limiter.reserve(order(), NOW)  # nothing billed: still empty, not below
    assert limiter.available("write", NOW) == 0.0
    for seq in (2, 3, 4):
        billing.sent(seq, [])
    assert sorted(billing._billed) == [3, 4]  # only the last ``kept``


# -- the session's life ----------------------------------------------------------------------------


def test_the_life_moves_only_through_the_table() -> None:
    life = Lifecycle(acceptor=False)
    life.now = NOW
    life.move(Trigger.START)
    assert (life.state, life.since) == (State.LOGON_SENT, NOW)
    with pytest.raises(LocalProtocolError, match="cannot start"):
        life.move(Trigger.START)
    life.close("bye", reconnect=True, trigger=Trigger.EOF)
    closed = life.state
    life.close("again", reconnect=False, trigger=Trigger.EOF)  # already closed: events only
    assert closed is State.CLOSED and life.state is State.CLOSED
    assert list(life.events) == [
        CloseTransport("bye", True, False),
        CloseTransport("again", False, False),
    ]
    assert Lifecycle(acceptor=True).state is State.IDLE


# -- the inbound side ------------------------------------------------------------------------------


def inbound(session_type: str = "KalshiRT") -> tuple[Inbound, Lifecycle, Outbound]:
    cfg = config(session_type)
    life = Lifecycle(acceptor=False)
    w = Outbound(cfg, p, w_store := cfg.store or MemoryStore())
    assert w_store is w.store
    gaps = GapRecovery(
        w,
        life.events.append,
        lambda f: True,
        lambda: life.state is State.ACTIVE,
        max_messages=10,
        max_bytes=1 << 20,
        retries=3,
    )
    side = Inbound(cfg, life, w, InboundChecks(cfg, w.reject), gaps)
    life.now = NOW
    life.move(Trigger.START)
    return side, life, w


def test_the_inbound_side_logs_on_and_delivers_in_turn() -> None:
    side, life, w = inbound()
    side.on_frame(
        from_kalshi(p.Logon(encrypt_method=0, heart_bt_int=15, default_appl_ver_id="9"), 1)
    )
    assert life.state is State.ACTIVE and side.heartbeat_interval == 15
    report = next(m for m, _ in prediction_messages() if isinstance(m, p.ExecutionReport))
    side.on_frame(from_kalshi(report, 2))
    delivered = [e for e in life.events if isinstance(e, ApplicationMessage)]
    assert [e.seq_num for e in delivered] == [2] and w.store.next_target_seq() == 3
    assert side.last_rx == NOW


def test_the_inbound_side_hands_a_frame_beyond_a_gap_to_recovery() -> None:
    side, life, w = inbound()
    side.on_frame(
        from_kalshi(p.Logon(encrypt_method=0, heart_bt_int=15, default_appl_ver_id="9"), 1)
    )
    w.take()
    side.on_frame(from_kalshi(p.Heartbeat(), 4))
    assert [fields(f)[b"35"] for f in w.out] == [b"2"]  # a ResendRequest from 2
    assert any(isinstance(e, GapDetected) for e in life.events)


def test_the_inbound_side_raises_a_fault_that_ends_the_session() -> None:
    side, _life, _w = inbound("KalshiNR")
    side.on_frame(
        from_kalshi(p.Logon(encrypt_method=0, heart_bt_int=15, default_appl_ver_id="9"), 1)
    )
    with pytest.raises(RemoteProtocolError, match="no retransmission"):
        side.on_frame(from_kalshi(p.Heartbeat(), 5))
