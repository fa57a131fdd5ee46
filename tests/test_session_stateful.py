"""A KalshiRT client and a mock acceptor talking through a lossy in-memory channel.

The channel drops whole frames, delivers torn frames, duplicates frames, holds one direction or
both back while time passes (TCP never reorders, so "delay" means silence followed by a burst)
and cuts the connection. Both sides keep their `MemoryStore` across reconnections and the client
logs on without a reset (KalshiRT), so whatever was lost is recovered with ResendRequest.

The oracle: every ExecutionReport the acceptor's ``send()`` accepted (unique ExecID) and every
NewOrderSingle the client's ``send()`` accepted (unique ClOrdID) reaches the other side exactly
once after a final healing phase (perfect channel, time passing); sequence numbers never go
backwards, and the MsgSeqNums of delivered application messages strictly increase per side.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kalshi_fix_sansio import Frame, Framer, State
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.errors import RemoteProtocolError
from kalshi_fix_sansio.session.config import KALSHI_COMP_ID, Role, SessionConfig
from kalshi_fix_sansio.session.events import ApplicationMessage, CloseTransport, Event
from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.session.store import MemoryStore
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

T0 = 1_800_000_000.0
API_KEY = "key-1"
HB = 5  # heartbeat interval: short, so that delays trigger TestRequests and timeouts
C2S, S2C = "c2s", "s2c"
SIGNER, PUBLIC = new_ed25519_keys()
TRANSACT = datetime(2027, 1, 15, tzinfo=timezone.utc)

# Workaround for the stall documented by test_lost_resend_request_is_requested_again: while
# it is open, the healing phase reconnects (as an application watchdog would) when the two
# sides stay out of sync on a perfect channel, but only if the current connection lost,
# tore or duplicated a frame (faults TCP itself never makes). Set to False once that test
# passes.
STALL_WATCHDOG = False
STALL_AFTER = 6 * HB


def execution_report(exec_id: str) -> p.ExecutionReport:
    return p.ExecutionReport(
        cl_ord_id="c-1",
        order_id="o-1",
        exec_id=exec_id,
        exec_type=p.ExecType.NEW,
        ord_status=p.OrdStatus.NEW,
        side=p.Side.BUY,
        symbol="HIGHNY-23DEC31",
        order_qty=Decimal(10),
        cum_qty=Decimal(0),
        leaves_qty=Decimal(10),
        avg_px=Decimal(0),
        price=Decimal("0.75"),
        transact_time=TRANSACT,
    )


def new_order(cl_ord_id: str) -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(10),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.75"),
        symbol="HIGHNY-23DEC31",
    )


class End:
    """One side: a store that outlives connections, the current Session, what it delivered."""

    def __init__(self, name: str, config: SessionConfig, store: MemoryStore) -> None:
        self.name = name
        self.config = config
        self.store = store
        self.session = Session(config)
        self.dead = False  # the current connection ended for this side
        self.events: list[Event] = []
        self.delivered: list[ApplicationMessage] = []
        self.ids: list[str] = []  # ExecID / ClOrdID of every delivered message, in order
        self.last_seq = 0  # MsgSeqNum of the last delivered application message
        self.max_sender = store.next_sender_seq()
        self.max_target = store.next_target_seq()


class Link:
    """A KalshiRT client and a mock Kalshi acceptor joined by a channel we control.

    Each direction is a list of pending chunks; the sending side's output is cut into frames,
    so a chunk is one frame (or what is left of one after `garble`).
    """

    def __init__(self) -> None:
        self.now = T0
        client_store, server_store = MemoryStore(), MemoryStore()
        self.client = End(
            "client",
            SessionConfig(
                sender_comp_id=API_KEY,
                session_type="KalshiRT",
                signer=SIGNER,
                heartbeat_interval=HB,
                store=client_store,
            ),
            client_store,
        )
        self.server = End(
            "server",
            SessionConfig(
                sender_comp_id=KALSHI_COMP_ID,
                session_type="KalshiRT",
                role=Role.ACCEPTOR,
                public_keys={API_KEY: PUBLIC},
                heartbeat_interval=HB,
                store=server_store,
            ),
            server_store,
        )
        assert not self.client.config.resets_on_logon  # RT continues its sequence numbers
        self.pipes: dict[str, list[bytes]] = {C2S: [], S2C: []}
        self.sent_reports: dict[str, int] = {}  # ExecID -> MsgSeqNum the acceptor gave it
        self.sent_orders: dict[str, int] = {}  # ClOrdID -> MsgSeqNum the client gave it
        self.connections = 0
        self.stall_reconnects = 0
        self.lossy = False  # the current connection lost, tore or duplicated a frame
        self.log: list[str] = []
        self.connect()

    # -- plumbing ---------------------------------------------------------------------------

    def ends(self) -> tuple[End, End]:
        return self.client, self.server

    def route(self, direction: str) -> tuple[End, End]:
        return (self.client, self.server) if direction == C2S else (self.server, self.client)

    def connect(self) -> None:
        """A new TCP connection: new Sessions over the same stores, empty channel."""
        self.connections += 1
        self.log.append(f"{self.now - T0:.3f} connect #{self.connections}")
        for end in self.ends():
            end.session = Session(end.config)
            end.dead = False
        self.pipes = {C2S: [], S2C: []}
        self.lossy = False
        self.server.session.start(self.now)
        self.client.session.start(self.now)
        self.settle()

    def flush(self) -> None:
        """Move what each session queued into its direction of the channel, frame by frame."""
        for end, direction in ((self.client, C2S), (self.server, S2C)):
            data = end.session.data_to_send()
            if not data:
                continue
            framer = Framer()
            framer.feed(data)
            frames = list(framer)
            assert all(isinstance(f, Frame) for f in frames), f"{end.name} wrote garbage: {frames}"
            assert b"".join(f.data for f in frames) == data, f"{end.name} wrote a torn frame"
            self.pipes[direction].extend(f.data for f in frames)

    def collect(self, end: End) -> None:
        """Run the session's events; note deliveries and the end of the connection."""
        if end.dead:
            return
        try:
            for event in end.session.events():
                end.events.append(event)
                if isinstance(event, ApplicationMessage):
                    self.record(end, event)
                elif isinstance(event, CloseTransport):
                    self.log.append(f"{self.now - T0:.3f} {end.name} closes: {event.reason}")
                    end.dead = True
        except RemoteProtocolError as exc:
            self.log.append(f"{self.now - T0:.3f} {end.name} fails: {exc}")
            end.dead = True

    def record(self, end: End, event: ApplicationMessage) -> None:
        msg = event.message
        if end is self.client:
            assert isinstance(msg, p.ExecutionReport), msg
            key = msg.exec_id
            sent = self.sent_reports
        else:
            assert isinstance(msg, p.NewOrderSingle), msg
            key = msg.cl_ord_id
            sent = self.sent_orders
        self.log.append(
            f"{self.now - T0:.3f} {end.name} delivers {key} seq={event.seq_num} "
            f"possdup={event.poss_dup}"
        )
        assert event.seq_num > end.last_seq, (
            f"{end.name} delivered seq {event.seq_num} after seq {end.last_seq}\n{self.story()}"
        )
        assert key not in end.ids, f"{end.name} delivered {key} twice\n{self.story()}"
        assert key in sent, f"{end.name} delivered {key}, never sent"
        assert sent[key] == event.seq_num, (
            f"{end.name} delivered {key} as seq {event.seq_num}, sent as {sent[key]}\n{self.story()}"
        )
        end.last_seq = event.seq_num
        end.ids.append(key)
        end.delivered.append(event)

    def settle(self) -> None:
        """Process both sides, queue their output; a finished connection is torn down."""
        for _ in range(1000):
            for end in self.ends():
                self.collect(end)
            self.flush()
            self.check_seqs()
            closer = next((e for e in self.ends() if e.dead), None)
            if closer is None:
                return
            self.hang_up(closer)
        raise AssertionError("connections keep ending without progress")

    def hang_up(self, closer: End) -> None:
        """The closer closes its socket: what it wrote so far (its Logout) still reaches the
        peer, then EOF; what travelled the other way is lost. Then both reconnect."""
        peer = self.client if closer is self.server else self.server
        direction = C2S if closer is self.client else S2C
        if not peer.dead:
            data = b"".join(self.pipes[direction])
            if data:
                peer.session.receive_data(data, self.now)
            peer.session.receive_data(b"", self.now)
            self.collect(peer)
        for end in self.ends():
            end.session.data_to_send()  # the socket is gone
        self.now += 1.0  # reconnect backoff
        self.connect()

    def check_seqs(self) -> None:
        for end in self.ends():
            sender, target = end.store.next_sender_seq(), end.store.next_target_seq()
            assert sender >= end.max_sender, (
                f"{end.name} next_sender_seq went back from {end.max_sender} to {sender}\n"
                + self.story()
            )
            assert target >= end.max_target, (
                f"{end.name} next_target_seq went back from {end.max_target} to {target}\n"
                + self.story()
            )
            end.max_sender, end.max_target = sender, target

    # -- what the test does -----------------------------------------------------------------

    def send_report(self) -> int | None:
        session = self.server.session
        if self.server.dead or session.state is not State.ACTIVE:
            return None
        exec_id = f"E{len(self.sent_reports) + 1}"
        seq = session.send(execution_report(exec_id), self.now)
        self.sent_reports[exec_id] = seq
        self.log.append(f"{self.now - T0:.3f} server sends {exec_id} seq={seq}")
        self.settle()
        return seq

    def send_order(self) -> int | None:
        session = self.client.session
        if self.client.dead or session.state is not State.ACTIVE:
            return None
        cl_ord_id = f"C{len(self.sent_orders) + 1}"
        seq = session.send(new_order(cl_ord_id), self.now)
        self.sent_orders[cl_ord_id] = seq
        self.log.append(f"{self.now - T0:.3f} client sends {cl_ord_id} seq={seq}")
        self.settle()
        return seq

    def deliver(self, direction: str, count: int = 1) -> None:
        """Deliver the next ``count`` chunks of one direction, one at a time."""
        for _ in range(count):
            pipe = self.pipes[direction]
            if not pipe:
                return
            chunk = pipe.pop(0)
            _, dst = self.route(direction)
            self.log.append(f"{self.now - T0:.3f} {direction} {_brief(chunk)} ({len(chunk)} bytes)")
            dst.session.receive_data(chunk, self.now)
            self.settle()

    def drop(self, direction: str) -> None:
        if self.pipes[direction]:
            self.log.append(
                f"{self.now - T0:.3f} drop {direction} {_brief(self.pipes[direction][0])}"
            )
            self.pipes[direction].pop(0)
            self.lossy = True

    def garble(self, direction: str, keep: int) -> None:
        """Deliver only the first ``keep`` bytes of the next frame; the rest is lost."""
        pipe = self.pipes[direction]
        if pipe:
            chunk = pipe.pop(0)
            keep = max(1, min(keep, len(chunk) - 1))
            self.log.append(f"{self.now - T0:.3f} garble {direction} {_brief(chunk)} keep={keep}")
            pipe.insert(0, chunk[:keep])
            self.lossy = True
            self.deliver(direction)

    def duplicate(self, direction: str) -> None:
        pipe = self.pipes[direction]
        if pipe:
            self.log.append(f"{self.now - T0:.3f} duplicate {direction} {_brief(pipe[0])}")
            pipe.insert(0, pipe[0])
            self.lossy = True

    def disconnect(self) -> None:
        """The connection breaks: pending bytes are lost, both sides reconnect."""
        self.log.append(f"{self.now - T0:.3f} disconnect")
        for end in self.ends():
            end.session.data_to_send()
        self.now += 1.0
        self.connect()

    def pump(self, only: str | None = None, limit: int = 10_000) -> None:
        """Perfect channel until both directions (or direction ``only``) are empty."""
        for _ in range(limit):
            if only is not None:
                direction = only if self.pipes[only] else None
            else:
                direction = C2S if self.pipes[C2S] else S2C if self.pipes[S2C] else None
            if direction is None:
                return
            self.deliver(direction)
        raise AssertionError("the sessions never stop talking")

    def advance(self, seconds: float, flowing: str | None = None) -> None:
        """Let time pass, firing every timer when it is due. Nothing is delivered, except in
        direction ``flowing`` (if given), which is delivered as soon as anything is queued:
        the other direction is held back for ``seconds``."""
        target = self.now + seconds
        for _ in range(10_000):
            if flowing is not None:
                self.pump(flowing)
            due = [(d, e) for e in self.ends() if (d := e.session.next_deadline()) is not None]
            first = min((d for d, _ in due), default=None)
            if first is None or first > target:
                self.now = target
                return
            self.now = max(self.now, first)
            for deadline, end in due:
                if deadline <= self.now and not end.dead:
                    end.session.handle_timer(self.now)
                    after = end.session.next_deadline()
                    assert after is None or after > self.now or end.session.state is State.CLOSED, (
                        f"{end.name}: handle_timer({self.now}) left the deadline at {after}"
                    )
            self.settle()
        raise AssertionError("timers keep firing without time passing")

    def in_sync(self) -> bool:
        c, s = self.client.session, self.server.session
        return (
            not self.pipes[C2S]
            and not self.pipes[S2C]
            and c.state is State.ACTIVE
            and s.state is State.ACTIVE
            and c.next_target_seq == s.next_sender_seq
            and s.next_target_seq == c.next_sender_seq
        )

    def heal(self, rounds: int = 300, watchdog: bool | None = None) -> None:
        """Perfect channel, time passing, until both sides are idle and in sync.

        With ``STALL_WATCHDOG`` (see `test_lost_resend_request_is_requested_again`), an
        application watchdog reconnects when the sides stay out of sync for ``STALL_AFTER``
        seconds of a perfect channel after the connection lost, tore or duplicated a frame.
        """
        watchdog = STALL_WATCHDOG if watchdog is None else watchdog
        since = self.now
        for _ in range(rounds):
            self.pump()
            if self.in_sync():
                break
            if watchdog and self.lossy and self.now - since >= STALL_AFTER:
                self.log.append(f"{self.now - T0:.3f} watchdog: still out of sync, reconnect")
                self.stall_reconnects += 1
                self.disconnect()
                since = self.now
                continue
            first = min(
                (d for e in self.ends() if (d := e.session.next_deadline()) is not None),
                default=self.now + HB,
            )
            self.advance(max(first, self.now) - self.now)
        else:
            raise AssertionError("never healed:\n" + self.story())
        # one more heartbeat both ways proves nothing is stuck behind a gap
        self.advance(HB * 1.0)
        self.pump()
        assert self.in_sync(), self.story()

    def check_delivered(self) -> None:
        for end, sent in ((self.client, self.sent_reports), (self.server, self.sent_orders)):
            missing = sorted(set(sent) - set(end.ids), key=lambda k: sent[k])
            assert not missing, f"{end.name} never got {missing}\n" + self.story()
            assert len(end.ids) == len(set(end.ids)) == len(sent)

    def story(self, last: int = 120) -> str:
        return "\n".join(self.log[-last:])


def _brief(frame: bytes) -> str:
    fields = dict(f.split(b"=", 1) for f in frame.split(b"\x01") if b"=" in f)
    mt = fields.get(b"35", b"?").decode()
    seq = fields.get(b"34", b"?").decode()
    return f"35={mt} 34={seq}"


# ------------------------------------------------------------------------------------------
# the stateful test

DIRECTIONS = st.sampled_from([C2S, S2C])


class LossyChannel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.link = Link()

    @rule(count=st.integers(1, 3))
    def server_sends_execution_reports(self, count: int) -> None:
        for _ in range(count):
            self.link.send_report()

    @rule(count=st.integers(1, 3))
    def client_sends_new_orders(self, count: int) -> None:
        for _ in range(count):
            self.link.send_order()

    @rule(direction=DIRECTIONS, count=st.integers(1, 8))
    def deliver(self, direction: str, count: int) -> None:
        self.link.deliver(direction, count)

    @precondition(lambda self: self.link.pipes[C2S] or self.link.pipes[S2C])
    @rule(direction=DIRECTIONS)
    def drop(self, direction: str) -> None:
        self.link.drop(direction)

    @precondition(lambda self: self.link.pipes[C2S] or self.link.pipes[S2C])
    @rule(direction=DIRECTIONS, keep=st.integers(1, 300))
    def deliver_torn_frame(self, direction: str, keep: int) -> None:
        self.link.garble(direction, keep)

    @precondition(lambda self: self.link.pipes[C2S] or self.link.pipes[S2C])
    @rule(direction=DIRECTIONS)
    def duplicate(self, direction: str) -> None:
        self.link.duplicate(direction)

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 5.0, 7.0, 13.0, 35.0]))
    def delay(self, seconds: float) -> None:
        self.link.advance(seconds)

    @rule(direction=DIRECTIONS, seconds=st.sampled_from([2.0, 5.0, 7.0, 13.0, 35.0]))
    def hold_one_direction(self, direction: str, seconds: float) -> None:
        self.link.advance(seconds, flowing=S2C if direction == C2S else C2S)

    @rule()
    def disconnect(self) -> None:
        self.link.disconnect()

    @rule()
    def pump(self) -> None:
        self.link.pump()

    @invariant()
    def sequence_numbers_never_go_back(self) -> None:
        self.link.check_seqs()

    @invariant()
    def nothing_delivered_twice(self) -> None:
        for end in self.link.ends():
            assert len(end.ids) == len(set(end.ids))
            seqs = [e.seq_num for e in end.delivered]
            assert seqs == sorted(set(seqs))

    def teardown(self) -> None:
        self.link.heal()
        self.link.check_delivered()
        self.link.check_seqs()


LossyChannel.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLossyChannel = LossyChannel.TestCase


# ------------------------------------------------------------------------------------------
# plain regression tests for fault sequences worth keeping


def _logged_on() -> Link:
    link = Link()
    link.pump()
    assert link.in_sync() and link.connections == 1
    return link


def _find(pipe: list[bytes], msg_type: bytes, seq: int | None = None) -> int:
    """Index of the one frame of ``msg_type`` (and MsgSeqNum ``seq``) waiting in ``pipe``."""
    tags = [b"\x0135=" + msg_type + b"\x01"]
    if seq is not None:
        tags.append(b"\x0134=%d\x01" % seq)
    hits = [i for i, frame in enumerate(pipe) if all(t in frame for t in tags)]
    assert len(hits) == 1, [_brief(f) for f in pipe]
    return hits[0]


@pytest.mark.parametrize("lost", ["resend-request", "resent-message"])
def test_lost_resend_request_is_requested_again(lost: str) -> None:
    link = _logged_on()
    e1 = link.send_report()  # E1: lost on the way
    link.drop(S2C)
    link.send_report()  # E2: the client sees the gap and asks for E1 again
    link.deliver(S2C)
    assert [type(e).__name__ for e in link.client.events[-2:]] == [
        "GapDetected",
        "ResendRequestSent",
    ]
    if lost == "resend-request":
        del link.pipes[C2S][_find(link.pipes[C2S], b"2")]
    else:
        link.deliver(C2S)  # the acceptor resends E1 and E2 (PossDup=Y)...
        del link.pipes[S2C][_find(link.pipes[S2C], b"8", e1)]  # ...and E1 is lost again
    # From here on the channel is perfect: heartbeats flow both ways, the client's MsgSeqNum
    # keeps moving past the gap, so the client must ask again (or give up and reconnect).
    link.heal(watchdog=False)
    link.check_delivered()


def test_duplicated_logon_ends_the_session_and_the_next_logon_recovers() -> None:
    """A Logon seen twice is MsgSeqNum too low without PossDup: the acceptor ends the session.
    The client's answering Logout (MsgSeqNum 2) never reaches the failed acceptor, so the next
    Logon (MsgSeqNum 3) opens a gap the client fills; orders sent meanwhile arrive once."""
    link = Link()
    link.duplicate(C2S)
    link.deliver(C2S, 2)
    assert link.connections == 2  # the acceptor failed and both sides reconnected
    assert any("MsgSeqNum too low" in line for line in link.log)
    link.deliver(C2S)  # Logon #2 with MsgSeqNum 3: the acceptor expects 2 and asks for it
    link.deliver(S2C, 2)  # Logon answer, ResendRequest: the client gap-fills 2..3
    link.send_order()
    link.send_order()
    link.pump()
    link.send_report()
    link.pump()
    assert link.in_sync()
    link.check_delivered()
    assert [e.poss_dup for e in link.server.delivered] == [False, False]


def test_messages_in_flight_when_the_connection_breaks_arrive_once_as_possdup() -> None:
    """Both directions lose what was on the wire; the part already delivered is not repeated,
    the rest comes back with PossDup=Y after the next Logon, in order, exactly once."""
    link = _logged_on()
    for _ in range(3):
        link.send_report()
        link.send_order()
    link.deliver(S2C)  # E1 arrives, E2 and E3 do not
    link.deliver(C2S, 2)  # C1 and C2 arrive, C3 does not
    link.disconnect()
    assert link.send_report() is None  # not logged on yet
    link.pump()
    link.send_report()  # E4 after the recovery
    link.send_order()  # C4
    link.pump()
    link.heal(watchdog=False)
    link.check_delivered()
    assert [(e.seq_num, e.poss_dup) for e in link.client.delivered] == [
        (link.sent_reports[k], k in ("E2", "E3")) for k in ("E1", "E2", "E3", "E4")
    ]
    assert [e.poss_dup for e in link.server.delivered] == [False, False, True, False]


def test_torn_frame_then_silence_is_recovered_by_heartbeat_gap_detection() -> None:
    """Half an ExecutionReport arrives and the rest is lost; the acceptor's next Heartbeat is
    swallowed with it as garbage. Hearing nothing valid, the client sends a TestRequest; the
    Heartbeat answering it reveals the gap and the report is resent."""
    link = _logged_on()
    link.send_report()
    link.garble(S2C, 40)
    assert link.client.ids == []
    link.heal(watchdog=False)
    link.check_delivered()
    names = [type(e).__name__ for e in link.client.events]
    assert "GarbledData" in names and "TestRequestSent" in names
    assert [e.poss_dup for e in link.client.delivered] == [True]
