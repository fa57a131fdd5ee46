"""The acceptor side of the driver (`kalshi_fix_sansio.simulator.gateway.AcceptorDriver`: the mock
gateway runs it), on a fake clock: a client `Session` talks to an `AcceptorDriver` in memory.

What the gateway's pump no longer decides for itself: the session's end (a peer closing, a
TLS handshake on a plain port, a protocol fault), the slow-peer verdict, deadline re-arming,
and each fault hook (hang, delay, close_after, garble_next, duplicate, skip).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
from step_helpers import StepLog

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.client.steps import (
    START,
    WOKE,
    Action,
    Buffered,
    Disconnect,
    Fact,
    Received,
    WakeAt,
    Write,
)
from kalshi_fix_sansio.codec.errors import LocalProtocolError, RemoteProtocolError
from kalshi_fix_sansio.codec.framing import Frame, Framer, checksum
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    BusinessRejectReceived,
    CloseTransport,
    Event,
    GapDetected,
    GarbledData,
    LoggedOn,
)
from kalshi_fix_sansio.session.machine import sending_time
from kalshi_fix_sansio.simulator.gateway import AcceptorDriver
from kalshi_fix_sansio.simulator.testing import SessionPair

T0 = 1_800_000_000.0
HB = 30  # the client's HeartBtInt


class Link:
    """A client `Session` and an `AcceptorDriver` wired in memory, with a clock moved by hand."""

    def __init__(self, **driver_options: Any) -> None:
        pair = SessionPair.kalshi("prediction", "KalshiNR", heartbeat_interval=HB)
        self.now = T0
        self.client = pair.client.session
        self.driver = AcceptorDriver(pair.server.session.config, **driver_options)
        self.seen: list[Event] = []  # the driver's events
        self.got: list[Event] = []  # the client's events
        self.wire: list[bytes] = []  # what the driver gave out, chunk by chunk
        self.client_error: RemoteProtocolError | None = None
        self.log = StepLog()  # every action the driver's steps gave, and the bytes to give out

    def step(self, fact: Fact) -> Sequence[Action]:
        """Step ``fact`` now, as the gateway's pump does."""
        return self.log.step(self.driver, fact, self.now)

    def wake_at(self) -> float | None:
        return self.log.wake_at()

    def disconnect(self) -> Disconnect | None:
        return self.log.disconnect()

    def start(self) -> None:
        self.step(START)
        self.client.start(self.now)
        self.c2s()
        self.s2c()
        assert self.driver.logged_on and any(isinstance(e, LoggedOn) for e in self.got)

    def c2s(self, data: bytes | None = None) -> None:
        self.step(Received(self.client.data_to_send() if data is None else data))
        self.seen.extend(self.driver.events())

    def s2c(self) -> bytes:
        data = self.log.take_outbox() + self.driver.data_to_send(self.now)
        if data:
            self.wire.append(data)
            self.client.receive_data(data, self.now)
            try:
                self.got.extend(self.client.events())
            except RemoteProtocolError as exc:  # e.g. a gap on KalshiNR
                self.client_error = exc
        return data

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.step(WOKE)
        self.seen.extend(self.driver.events())

    def report(self, text: str = "x") -> int:
        reject = p.BusinessMessageReject(
            ref_seq_num=1, ref_msg_type="D", business_reject_reason=0, text=text
        )
        return self.driver.send(reject, self.now)


@pytest.fixture
def link() -> Iterator[Link]:
    link = Link()
    link.start()
    yield link


def frames(data: bytes) -> list[bytes]:
    framer = Framer()
    framer.feed(data)
    return [item.data for item in framer if isinstance(item, Frame)]


def sound(frame: bytes) -> bool:
    """The frame's CheckSum(10) is right."""
    return field(frame, 10) == f"{checksum(frame[: frame.rindex(b'10=')]):03d}"


def field(frame: bytes, tag: int) -> str | None:
    for part in frame.split(b"\x01"):
        if part.startswith(b"%d=" % tag):
            return part.split(b"=", 1)[1].decode()
    return None


def test_an_initiator_config_is_refused() -> None:
    pair = SessionPair.kalshi()
    with pytest.raises(LocalProtocolError, match="acceptor"):
        AcceptorDriver(pair.client.session.config)


def test_logon_then_application_messages_both_ways(link: Link) -> None:
    assert link.driver.wants_transport and link.driver.close_reason is None
    link.report("one")
    assert link.driver.app_sent == 1
    link.s2c()
    assert [e.text for e in link.got if isinstance(e, BusinessRejectReceived)] == ["one"]


def test_the_deadline_is_the_sessions_and_timers_fire_through_the_driver(link: Link) -> None:
    deadline = link.driver.next_deadline()
    assert deadline == link.driver.session.next_deadline() == T0 + HB
    link.advance(HB)
    heartbeat = frames(link.s2c())
    assert [field(f, 35) for f in heartbeat] == ["0"]


def test_a_sooner_deadline_is_told_as_a_wake_up(link: Link) -> None:
    driver = link.driver
    told = link.wake_at()
    assert told is not None and told > T0 + 1.0
    assert link.step(WOKE) == ()  # nothing sooner: nothing told
    driver.delay = 1.0
    link.report()
    link.s2c()  # held until T0 + 1
    assert driver.next_deadline() == T0 + 1.0
    actions = link.step(WOKE)
    assert [a.deadline for a in actions if isinstance(a, WakeAt)] == [T0 + 1.0]


def test_a_look_before_the_deadline_asks_the_acceptors_own_deadline_alone(link: Link) -> None:
    """A `WOKE` before the deadline told (the gateway's look after its exchange sent): the
    bytes to write, the acceptor's own deadline looked at (the lag bound an acceptor never
    has is not asked when that is no sooner), and a wake-up told when it moved sooner."""
    driver = link.driver
    told = link.wake_at()
    assert told is not None and told > link.now
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(driver), "_lag_bound", _not_asked)
        link.report("a")
        actions = link.step(WOKE)
        assert [type(a) for a in actions] == [Write]  # sent: its heartbeat later, not sooner
    driver.hang(True)  # looked at again in `recheck` seconds: sooner
    actions = link.step(WOKE)
    assert [a.deadline for a in actions if isinstance(a, WakeAt)] == [link.now + driver.recheck]


def _not_asked(self: Any) -> float | None:
    raise AssertionError("an acceptor's lag bound was asked")


def test_the_peer_closing_ends_the_connection(link: Link) -> None:
    link.c2s(b"")
    assert not link.driver.wants_transport
    assert link.driver.close_reason == "the peer closed the connection"
    assert any(isinstance(e, CloseTransport) for e in link.seen)
    assert link.driver.next_deadline() is None


@pytest.mark.parametrize("plain", [True, False])
def test_a_tls_handshake_on_a_plain_port_closes_at_once(plain: bool) -> None:
    link = Link(plain=plain)
    link.step(START)
    link.c2s(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    assert link.driver.wants_transport is not plain
    if plain:
        assert link.driver.close_reason == "a TLS handshake on a plain TCP port"


def test_a_protocol_fault_of_the_peer_ends_the_connection_with_a_logout(link: Link) -> None:
    stamp = sending_time(link.now).strftime("%Y%m%d-%H:%M:%S.000").encode()
    body = b"35=0\x0149=someone-else\x0156=KalshiNR\x0134=2\x0152=" + stamp + b"\x01"
    frame = b"8=FIXT.1.1\x019=%d\x01" % len(body) + body
    frame += b"10=%03d\x01" % checksum(frame)
    link.c2s(frame)
    assert not link.driver.wants_transport
    assert link.driver.failure is not None
    sent = frames(link.driver.data_to_send(link.now))
    assert field(sent[-1], 35) == "5"  # the session's Logout goes out before the close


# -- the slow peer ---------------------------------------------------------------------------


def test_over_max_buffered_the_connection_counts_as_lost() -> None:
    link = Link(max_buffered=1000)
    link.start()
    link.step(Buffered(1000))
    assert link.driver.wants_transport and link.disconnect() is None
    link.step(Buffered(1001))
    disconnect = link.disconnect()
    assert not link.driver.wants_transport and disconnect is not None and disconnect.abort
    assert "not reading" in (link.driver.close_reason or "")


def test_bytes_waiting_write_timeout_seconds_count_as_lost() -> None:
    link = Link(write_timeout=5.0)
    link.start()
    link.step(Buffered(10))
    assert link.wake_at() == T0 + 5.0  # sooner than the heartbeat
    link.advance(4.9)
    assert link.driver.wants_transport
    link.step(Buffered(0))  # the peer read: the clock starts again
    link.step(Buffered(10))
    link.advance(4.9)
    assert link.driver.wants_transport
    link.advance(0.1)
    disconnect = link.disconnect()
    assert not link.driver.wants_transport and disconnect is not None and disconnect.abort


# -- faults ---------------------------------------------------------------------------------------


def test_hang_reads_nothing_sends_nothing_fires_nothing(link: Link) -> None:
    driver = link.driver
    driver.hang(True)
    expected = driver.session.next_target_seq
    link.client.send(_order(), link.now)
    link.c2s()
    assert driver.session.next_target_seq == expected  # not read
    assert not any(isinstance(e, ApplicationMessage) for e in link.seen)
    assert driver.next_deadline() == link.now + driver.recheck  # look at the fault again
    link.report()
    assert link.s2c() == b""  # nothing leaves
    link.advance(HB * 3)  # no heartbeat, no TestRequest, no timeout
    assert link.s2c() == b"" and driver.wants_transport
    driver.hang(False)
    assert [field(f, 35) for f in frames(link.s2c())] == ["j"]  # what waited goes now


def test_hang_still_notices_the_peer_closing(link: Link) -> None:
    link.driver.hang(True)
    link.c2s(b"")
    assert not link.driver.wants_transport


def test_delay_holds_the_bytes_in_order(link: Link) -> None:
    driver = link.driver
    driver.delay = 0.5
    link.report("a")
    assert link.s2c() == b""
    link.now += 0.25
    driver.delay = 0.0
    link.report("b")  # not before "a"
    assert link.s2c() == b""
    assert driver.next_deadline() == T0 + 0.5
    link.now += 0.25
    out = frames(link.s2c())
    assert [field(f, 58) for f in out] == ["a", "b"]
    assert driver.next_deadline() == driver.session.next_deadline()


def test_close_after_closes_once_that_many_messages_went_out(link: Link) -> None:
    driver = link.driver
    driver.close_after = 2
    link.report()
    link.s2c()
    assert driver.wants_transport
    link.report()
    link.s2c()
    assert not driver.wants_transport
    link.step(WOKE)
    disconnect = link.disconnect()
    assert disconnect is not None and not disconnect.abort  # flush, then close
    assert "close_after=2" in (driver.close_reason or "")


def test_close_after_waits_for_delayed_bytes(link: Link) -> None:
    driver = link.driver
    driver.close_after, driver.delay = 1, 1.0
    link.report()
    link.s2c()
    assert driver.wants_transport  # held, not sent yet
    link.now += 1.0
    assert link.s2c() and not driver.wants_transport


def test_garble_next_corrupts_one_checksum(link: Link) -> None:
    """The next frame's CheckSum(10) is one more than its bytes sum to; the one after is sound."""
    link.driver.garble_next()
    link.report("a")
    link.report("b")
    data = link.s2c()
    first, second = (m.group(0) for m in re.finditer(rb"8=FIXT.*?\x0110=\d{3}\x01", data))
    assert first[-7:] == b"10=%03d\x01" % ((checksum(first[:-7]) + 1) % 256)
    assert not sound(first) and sound(second)
    assert sum(isinstance(e, GarbledData) for e in link.got) == 1  # the client drops it
    link.report("c")
    (third,) = frames(link.driver.data_to_send(link.now))  # once only
    assert sound(third)


def test_duplicate_resends_the_last_message_as_poss_dup(link: Link) -> None:
    seq = link.report("a")
    assert link.driver.session.send_duplicate(link.now)
    first, copy = frames(link.driver.data_to_send(link.now))
    assert field(first, 34) == field(copy, 34) == str(seq)
    assert field(copy, 43) == "Y" and field(first, 43) is None


def test_skip_leaves_a_gap_the_peer_sees(link: Link) -> None:
    before = link.driver.session.next_sender_seq
    link.driver.skip(2)
    assert link.report() == before + 2
    link.s2c()
    assert any(isinstance(e, GapDetected) for e in link.got)


def _order() -> Any:
    return p.NewOrderSingle(
        cl_ord_id="o-1", side=p.Side.BUY, order_qty=Decimal(1), ord_type=p.OrdType.LIMIT,
        price=Decimal("0.40"), symbol="HIGHNY-23DEC31",
    )  # fmt: skip
