"""Every fault switch of the mock gateway, survived by the blocking adapter over TLS.

Each test sets one of `Faults` (``drop_after``, ``skip_seq``, ``duplicate_next``,
``garble_next``, ``silent``, ``delay``, ``reject_next_logon``) on a real `MockGateway` on
loopback and checks that the client recovers the way Kalshi documents: on KalshiRT nothing is
lost or duplicated (every order's execution reports arrive exactly once, counted by ExecID,
PossDup resends once) and sequence numbers continue; on KalshiNR the session resets. Also: one
connection per API key ("already exists"), and bad input from a client never brings the
gateway down.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from gateway_fixtures import BOOK, GatewayHarness

from kalshi_fix_sansio import (
    Backoff,
    CatchUpComplete,
    ConnectionFailed,
    Reconnected,
    margin,
    prediction,
)
from kalshi_fix_sansio.adapters.blocking import BlockingSession, FixClient, MarginFixClient
from kalshi_fix_sansio.codec.framing import Frame, Framer, checksum
from kalshi_fix_sansio.session.config import SessionConfig
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    CloseTransport,
    Event,
    GapDetected,
    GarbledData,
    LoggedOn,
    LogonRejected,
    ResendRequestReceived,
    ResendRequestSent,
    SequenceReset,
    TestRequestSent,
    Timeout,
)
from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.simulator.gateway import MockGateway
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

RT_NR = pytest.mark.parametrize("retransmission", [True, False], ids=["KalshiRT", "KalshiNR"])


# --------------------------------------------------------------------------------------------
# helpers


def dialect(h: GatewayHarness) -> ModuleType:
    return prediction if h.product == "prediction" else margin


def make_client(h: GatewayHarness, key: str = "key-1", **kwargs: Any) -> FixClient:
    cls = FixClient if h.product == "prediction" else MarginFixClient
    client: FixClient = cls(h.credentials(key), **h.client_kwargs(**kwargs))
    return client


def buy(h: GatewayHarness, cl_ord_id: str) -> Any:
    """One contract at the best ask: fills at once (a New report, then a Trade report)."""
    p = dialect(h)
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(1),
        ord_type=p.OrdType.LIMIT,
        price=BOOK[h.product][1][0][0],
        symbol=h.symbol,
        time_in_force=p.TimeInForce.GTC,
    )


class Recorder:
    """Every event of a session, and its execution reports counted once per ExecID.

    An ExecID seen again must carry PossDupFlag=Y (a resend): it counts once. A second copy
    without PossDup is a duplicate delivery and fails the test at once.
    """

    def __init__(self, session: BlockingSession, h: GatewayHarness) -> None:
        self.session = session
        self.h = h
        self.events: list[Event] = []
        self.reports: dict[str, ApplicationMessage] = {}

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, ApplicationMessage) and event.message.MSG_TYPE == "8":
            exec_id = event.message.exec_id  # type: ignore[attr-defined]
            if exec_id in self.reports:
                assert event.poss_dup, f"ExecutionReport {exec_id} delivered twice without PossDup"
                return
            self.reports[exec_id] = event

    def of(self, cls: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]

    def seen(self, cls: type[Event]) -> Callable[[], bool]:
        return lambda: any(isinstance(e, cls) for e in self.events)

    def kinds(self, cl_ord_id: str) -> list[str]:
        return sorted(
            str(e.message.exec_type.value)  # type: ignore[attr-defined]
            for e in self.reports.values()
            if e.message.cl_ord_id == cl_ord_id  # type: ignore[attr-defined]
        )

    def filled(self, *cl_ord_ids: str) -> Callable[[], bool]:
        return lambda: all(self.kinds(c) == ["0", "F"] for c in cl_ord_ids)

    def pump_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout} s; events: {self.events}")
            event = self.session.next_event(min(remaining, 0.25))
            if event is not None:
                self(event)

    def pump_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            event = self.session.next_event(remaining)
            if event is not None:
                self(event)

    def trade(self, *cl_ord_ids: str, timeout: float = 5.0) -> None:
        """Send one filling buy per ClOrdID and wait for all their reports."""
        for cl_ord_id in cl_ord_ids:
            self.session.send(buy(self.h, cl_ord_id))
        self.pump_until(self.filled(*cl_ord_ids), timeout)

    def app_seqs(self) -> list[int]:
        return [e.seq_num for e in self.events if isinstance(e, ApplicationMessage)]

    def assert_exactly_once(self, *cl_ord_ids: str) -> None:
        for cl_ord_id in cl_ord_ids:
            assert self.kinds(cl_ord_id) == ["0", "F"], (cl_ord_id, self.kinds(cl_ord_id))
        ids = {e.message.cl_ord_id for e in self.reports.values()}  # type: ignore[attr-defined]
        assert ids <= set(cl_ord_ids), ids

    def assert_at_most_once(self, *cl_ord_ids: str) -> None:
        """KalshiNR may lose what was in flight; it never delivers anything twice."""
        for cl_ord_id in cl_ord_ids:
            assert self.kinds(cl_ord_id) in ([], ["0"], ["F"], ["0", "F"]), cl_ord_id


def open_session(h: GatewayHarness, retransmission: bool, **flags: Any) -> BlockingSession:
    """An order-entry session of key-1 (client options and session flags both accepted)."""
    extra = {k: flags.pop(k) for k in ("message_log_path", "backoff") if k in flags}
    return make_client(h, **extra).order_entry(retransmission=retransmission, **flags)


def log_frames(path: Path, direction: str | None = None) -> list[dict[str, str]]:
    """The frames of a FIX message log file as tag -> value maps (the last value of a tag)."""
    frames = []
    for line in path.read_text(encoding="utf-8").splitlines():
        _when, way, _sid, text = line.split(" ", 3)
        if direction is None or way == direction:
            fields = dict(f.split("=", 1) for f in text.split("|") if "=" in f)
            fields["<dir>"] = way
            frames.append(fields)
    return frames


def assert_continuous(rec: Recorder) -> None:
    """KalshiRT: no reset anywhere, and application messages in increasing MsgSeqNum order."""
    assert all(not e.reset_seq_nums for e in rec.of(LoggedOn))
    assert all(not e.reset_seq_nums for e in rec.of(Reconnected))
    seqs = rec.app_seqs()
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs


# --------------------------------------------------------------------------------------------
# writes


def test_the_reports_of_one_order_go_out_in_one_write(
    prediction_gateway: GatewayHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filling order's New and Trade reports are written when its input is processed, in one
    write to the connection's transport (the gateway writes once per connection per input)."""
    h = prediction_gateway
    gateway = h.gateway
    writes: list[bytes] = []
    with open_session(h, False) as oe:
        rec = Recorder(oe, h)
        rec.trade("warm-up")
        (conn,) = [c for c in gateway._conns.values() if c.logged_on]
        transport = conn.transport
        write = transport.write
        monkeypatch.setattr(transport, "write", lambda data: (writes.append(data), write(data)))
        rec.trade("one")
    reports = [w for w in writes if b"\x0111=one\x01" in w]
    assert len(reports) == 1 and reports[0].count(b"\x0135=8\x01") == 2


# --------------------------------------------------------------------------------------------
# drop_after


@RT_NR
def test_drop_after_mid_burst(
    prediction_gateway: GatewayHarness, tmp_path: Path, retransmission: bool
) -> None:
    h = prediction_gateway
    log = tmp_path / "fix.log"
    with open_session(h, retransmission, message_log_path=log) as oe:
        rec = Recorder(oe, h)
        rec.trade("warm-up")
        h.gateway.faults.drop_after = 5  # mid-way through the burst's reports
        burst = [f"burst-{i}" for i in range(4)]
        for cl_ord_id in burst:
            oe.send(buy(h, cl_ord_id))
        rec.pump_until(rec.seen(Reconnected))
        h.gateway.faults.drop_after = None
        if retransmission:
            rec.pump_until(rec.filled(*burst))
        rec.trade("after")
        rec.pump_for(0.2)
    (reconnected,) = rec.of(Reconnected)
    assert reconnected.reset_seq_nums is not retransmission
    logons = [f for f in log_frames(log, "OUT") if f["35"] == "A"]
    if retransmission:
        rec.assert_exactly_once("warm-up", *burst, "after")
        assert_continuous(rec)
        assert all("141" not in f for f in logons) and logons[-1]["34"] != "1"
    else:
        rec.assert_at_most_once("warm-up", *burst, "after")
        assert rec.filled("warm-up", "after")()
        assert all(f["141"] == "Y" and f["34"] == "1" for f in logons)


# --------------------------------------------------------------------------------------------
# skip_seq


@RT_NR
def test_skip_seq(prediction_gateway: GatewayHarness, retransmission: bool) -> None:
    h = prediction_gateway
    with open_session(h, retransmission) as oe:
        rec = Recorder(oe, h)
        rec.trade("s-1")
        h.gateway.faults.skip_seq = 3
        oe.send(buy(h, "s-2"))
        if retransmission:
            rec.pump_until(rec.filled("s-2"))
        else:
            rec.pump_until(rec.seen(Reconnected))
        rec.trade("s-3")
        rec.pump_for(0.2)
    (gap,) = rec.of(GapDetected)
    assert gap.received == gap.expected + 3
    if retransmission:
        # ResendRequest, answered with a gap fill over the skipped numbers; nothing lost
        assert gap.recoverable
        (request,) = rec.of(ResendRequestSent)
        assert request.begin == gap.expected
        fills = [e for e in rec.of(SequenceReset) if e.gap_fill]
        assert fills and fills[0].new_seq_num == gap.received
        assert not rec.of(Reconnected)
        rec.assert_exactly_once("s-1", "s-2", "s-3")
        assert_continuous(rec)
    else:
        # no retransmission on KalshiNR: reconnect with a reset
        assert not gap.recoverable
        assert not rec.of(ResendRequestSent)
        (reconnected,) = rec.of(Reconnected)
        assert reconnected.reset_seq_nums
        rec.assert_at_most_once("s-1", "s-2", "s-3")
        assert rec.filled("s-1", "s-3")()


# --------------------------------------------------------------------------------------------
# duplicate_next


def _duplicate_next(h: GatewayHarness, tmp_path: Path, retransmission: bool) -> None:
    log = tmp_path / "fix.log"
    with open_session(h, retransmission, message_log_path=log) as oe:
        rec = Recorder(oe, h)
        rec.trade("dup-0")
        h.gateway.faults.duplicate_next = True
        rec.trade("dup-1")
        rec.trade("dup-2")
        rec.pump_for(0.2)
    reports = [f for f in log_frames(log, "IN") if f["35"] == "8"]
    # the duplicate went over the wire: the same MsgSeqNum and ExecID twice, once with PossDup
    copies = [f for f in reports if f["11"] == "dup-1" and f["150"] == "0"]
    assert len(copies) == 2, copies
    assert copies[0]["34"] == copies[1]["34"] and copies[0]["17"] == copies[1]["17"]
    assert "43" not in copies[0] and copies[1]["43"] == "Y" and "122" in copies[1]
    # ...and the application got it once
    rec.assert_exactly_once("dup-0", "dup-1", "dup-2")
    assert not any(e.poss_dup for e in rec.of(ApplicationMessage))
    assert not rec.of(Reconnected) and not rec.of(GapDetected)


def test_duplicate_next_on_kalshi_rt_is_delivered_once(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    _duplicate_next(prediction_gateway, tmp_path, retransmission=True)


def test_duplicate_next_on_kalshi_nr_is_delivered_once(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    _duplicate_next(prediction_gateway, tmp_path, retransmission=False)


# --------------------------------------------------------------------------------------------
# garble_next


@RT_NR
def test_garble_next(prediction_gateway: GatewayHarness, retransmission: bool) -> None:
    h = prediction_gateway
    p = dialect(h)
    with open_session(h, retransmission) as oe:
        rec = Recorder(oe, h)
        rec.trade("g-1")
        h.gateway.faults.garble_next = True  # the New report of g-2: its Trade reveals the gap
        oe.send(buy(h, "g-2"))
        if retransmission:
            rec.pump_until(rec.filled("g-2"))
        else:  # KalshiNR: the reconnect's drop-copy catch-up brings back what the gap lost
            rec.pump_until(rec.seen(CatchUpComplete))
        rec.trade("g-3")
        rec.pump_for(0.2)
    (garbled,) = rec.of(GarbledData)
    assert "CheckSum" in garbled.reason
    (gap,) = rec.of(GapDetected)
    assert gap.received == gap.expected + 1
    if retransmission:
        assert gap.recoverable and rec.of(ResendRequestSent)
        rec.assert_exactly_once("g-1", "g-2", "g-3")
        resent = [e for e in rec.reports.values() if e.poss_dup]
        assert [(e.message.cl_ord_id, e.message.exec_type) for e in resent] == [  # type: ignore[attr-defined]
            ("g-2", p.ExecType.NEW)
        ]
        assert not rec.of(Reconnected)
        assert_continuous(rec)
    else:
        assert not gap.recoverable
        assert rec.of(Reconnected)[0].reset_seq_nums
        # the garbled New and the Trade behind the gap are lost to the session, and recovered
        # by the catch-up's replay (each once; g-1's last report comes back marked PossDup)
        (done,) = rec.of(CatchUpComplete)
        assert done.recovered == 2
        rec.assert_exactly_once("g-1", "g-2", "g-3")
        order = oe.tracker.order("g-2")
        assert order is not None and order.status.name == "FILLED"


# --------------------------------------------------------------------------------------------
# silent


def test_silent_gateway_on_kalshi_rt_reconnects_and_recovers_both_ways(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    # TestRequest after 0.75 s of silence, give up after 1.75 s
    with open_session(h, True, test_request_factor=0.15, disconnect_factor=0.35) as oe:
        rec = Recorder(oe, h)
        rec.trade("q-1")
        h.gateway.faults.silent = True
        oe.send(buy(h, "q-2"))  # the hung gateway never reads this: the client resends it
        rec.pump_until(rec.seen(Reconnected), timeout=6)
        h.gateway.faults.silent = False
        rec.pump_until(rec.filled("q-2"))
        rec.trade("q-3")
        rec.pump_for(0.2)
    kinds = [type(e) for e in rec.events]
    assert kinds.index(TestRequestSent) < kinds.index(Timeout) < kinds.index(Reconnected)
    assert [e.what for e in rec.of(Timeout)] == ["heartbeat"]
    assert any("TestRequest unanswered" in e.reason for e in rec.of(CloseTransport))
    # the gateway asked for what it missed (q-2), and the client resent it
    assert any(e.resent >= 1 for e in rec.of(ResendRequestReceived))
    rec.assert_exactly_once("q-1", "q-2", "q-3")
    assert_continuous(rec)


# --------------------------------------------------------------------------------------------
# delay


def test_delayed_replies_all_arrive(prediction_gateway: GatewayHarness) -> None:
    h = prediction_gateway
    with open_session(h, True) as oe:
        rec = Recorder(oe, h)
        h.gateway.faults.delay = 0.2
        started = time.monotonic()
        for cl_ord_id in ("l-1", "l-2", "l-3"):
            oe.send(buy(h, cl_ord_id))
        rec.pump_until(rec.filled("l-1", "l-2", "l-3"), timeout=5)
        assert time.monotonic() - started >= 0.2
        h.gateway.faults.delay = 0.0
        rec.pump_for(0.2)
    rec.assert_exactly_once("l-1", "l-2", "l-3")
    assert_continuous(rec)
    assert not rec.of(Reconnected) and not rec.of(GapDetected) and not rec.of(Timeout)


# --------------------------------------------------------------------------------------------
# reject_next_logon


def _reject_next_logon(h: GatewayHarness, tmp_path: Path, retransmission: bool) -> None:
    log = tmp_path / "fix.log"
    h.gateway.faults.reject_next_logon = "rate limit exceeded"
    started = time.monotonic()
    with open_session(h, retransmission, message_log_path=log) as oe:
        elapsed = time.monotonic() - started
        rec = Recorder(oe, h)
        rec.trade("r-1")
        rec.pump_for(0.2)
    assert [e.text for e in rec.of(LogonRejected)] == ["rate limit exceeded"]
    # one seeded full-jitter delay, then the second Logon is accepted
    first_delay = Backoff(base=0.05, cap=0.2, attempts=8, seed=7).next_delay()
    assert first_delay is not None and elapsed >= first_delay
    logons = [f for f in log_frames(log, "OUT") if f["35"] == "A"]
    assert len(logons) == 2, [f["34"] for f in logons]
    logouts = [f for f in log_frames(log, "OUT") if f["35"] == "5"]
    assert len(logouts) == 1  # only the final one, on leaving the `with` block
    assert len(rec.of(LoggedOn)) == 1 and not rec.of(GapDetected)
    rec.assert_exactly_once("r-1")


def test_reject_next_logon_on_kalshi_nr(prediction_gateway: GatewayHarness, tmp_path: Path) -> None:
    _reject_next_logon(prediction_gateway, tmp_path, retransmission=False)


def test_reject_next_logon_on_kalshi_rt(prediction_gateway: GatewayHarness, tmp_path: Path) -> None:
    _reject_next_logon(prediction_gateway, tmp_path, retransmission=True)


# --------------------------------------------------------------------------------------------
# one connection per API key


def test_a_second_connection_with_the_same_key_gets_already_exists(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    with open_session(h, False) as first:
        rec = Recorder(first, h)
        second = open_session(h, False, backoff=Backoff(base=0.01, cap=0.02, attempts=1, seed=1))
        with pytest.raises(ConnectionFailed, match="already exists") as info:
            second.open()
        assert info.value.attempts == 1  # a refused Logon is final: no retry
        # the first connection is untouched and still trades
        rec.trade("x-1")
        assert h.gateway.connected() == ["key-1"]
        # a KalshiRT session of the same key is refused too
        rt = open_session(h, True, backoff=Backoff(base=0.01, cap=0.02, attempts=0, seed=1))
        with pytest.raises(ConnectionFailed, match="already exists"):
            rt.open()
    assert not rec.of(Reconnected) and not rec.of(CloseTransport)
    # after a clean logout the key is free again (released before the gateway answered it)
    assert h.gateway.connected() == []
    with open_session(h, False) as again:
        Recorder(again, h).trade("x-2")


# --------------------------------------------------------------------------------------------
# bad input from a client


def _fix(mt: str, seq: int, *fields: tuple[int, str], sender: str = "key-2") -> bytes:
    stamp = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000"
    head = [(35, mt), (49, sender), (56, "KalshiNR"), (34, str(seq)), (52, stamp)]
    body = "".join(f"{tag}={value}\x01" for tag, value in [*head, *fields]).encode()
    start = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    return start + body + b"10=%03d\x01" % (checksum(start + body) % 256)


class RawClient:
    """A TLS socket to the gateway that sends whatever bytes it is given."""

    def __init__(self, h: GatewayHarness, context: ssl.SSLContext) -> None:
        raw = socket.create_connection(("127.0.0.1", h.gateway.ports["KalshiNR"]), timeout=2)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.framer = Framer()
        self.frames: list[dict[str, str]] = []
        self.closed = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read(self, timeout: float) -> None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        self.framer.feed(data)
        for item in self.framer:
            if isinstance(item, Frame):
                text = item.data.decode("utf-8", "replace")
                self.frames.append(dict(f.split("=", 1) for f in text.split("\x01") if "=" in f))

    def expect(self, condition: Callable[[], bool], timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"not seen in {timeout} s; frames: {self.frames}"
            assert not self.closed or condition(), f"closed early; frames: {self.frames}"
            self._read(min(remaining, 0.2))

    def expect_frame(self, **tags: str) -> dict[str, str]:
        def find() -> dict[str, str] | None:
            return next(
                (f for f in self.frames if all(f.get(t[1:]) == v for t, v in tags.items())), None
            )

        self.expect(lambda: find() is not None)
        found = find()
        assert found is not None
        return found

    def quiet_for(self, seconds: float) -> list[dict[str, str]]:
        before = len(self.frames)
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0 and not self.closed:
            self._read(remaining)
        return self.frames[before:]

    def close(self) -> None:
        self.sock.close()


def test_bad_input_never_crashes_the_gateway(prediction_gateway: GatewayHarness) -> None:
    h = prediction_gateway
    context = h.ssl_context()
    junk = b"\x00\xff not FIX at all \x01=\x01" * 40
    with open_session(h, False) as trader:
        rec = Recorder(trader, h)
        rec.trade("before")

        # 1. junk, then an application message instead of a Logon: ignored, then disconnected
        a = RawClient(h, context)
        a.send(junk)
        assert a.quiet_for(0.2) == []  # garbled input is ignored
        a.send(_fix("D", 1, (11, "sneaky")))
        a.expect(lambda: a.closed)
        assert not any(f.get("35") == "A" for f in a.frames)
        a.close()

        # 2. a Logon with a forged signature: Logout with the reason, then disconnected
        b = RawClient(h, context)
        b.send(_fix("A", 1, (98, "0"), (108, "5"), (141, "Y"), (95, "4"), (96, "AAAA")))
        assert b.expect_frame(_35="5")["58"] == "invalid signature"
        b.expect(lambda: b.closed)
        b.close()

        # 3. a properly signed Logon for key-2, then garbage of every kind on that session
        c = RawClient(h, context)
        client_session = Session(
            SessionConfig(
                sender_comp_id="key-2",
                product="prediction",
                session_type="KalshiNR",
                signer=h.signers["key-2"],
                heartbeat_interval=5,
            )
        )
        client_session.start(time.time())
        c.send(client_session.data_to_send())
        c.expect_frame(_35="A")
        assert h.gateway.connected() == ["key-1", "key-2"]
        c.send(junk)  # ignored
        bad_sum = _fix("0", 2)
        c.send(bad_sum[:-4] + b"%03d\x01" % ((int(bad_sum[-4:-1]) + 1) % 256))  # ignored
        c.send(b"8=FIXT.1.1\x019=999999999\x0135=0\x01")  # over the size cap: ignored
        c.send(_fix("D", 2, (11, "q"), (38, "abc"), (40, "2"), (44, "45"), (54, "1"), (55, "X")))
        reject = c.expect_frame(_35="3", _45="2")
        assert reject["371"] == "38" and reject["372"] == "D"
        c.send(_fix("D", 3, (11, "r")))  # required fields missing
        assert c.expect_frame(_35="3", _45="3")["373"] == "1"
        c.send(_fix("ZZ", 4, (11, "s")))  # a message type Kalshi does not have
        unsupported = c.expect_frame(_45="4")
        assert unsupported["35"] in ("3", "j")
        c.send(_fix("1", 5, (112, "still-there")))  # the session still answers
        c.expect_frame(_35="0", _112="still-there")
        c.send(_fix("0", 6, sender="key-1"))  # a CompID problem ends the session
        c.expect_frame(_35="5")
        c.expect(lambda: c.closed)
        c.close()

        # the trader was never disturbed and still trades
        rec.trade("after")
        rec.pump_for(0.1)
        assert not rec.of(Reconnected) and not rec.of(CloseTransport)
        rec.assert_exactly_once("before", "after")
        assert h.gateway.connected() == ["key-1"]  # key-2 released before its Logout went out
    # and key-2 can log on and trade normally afterwards
    with make_client(h, "key-2").order_entry() as other:
        Recorder(other, h).trade("key-2-trades")


def test_a_client_that_does_not_read_is_dropped_past_max_buffered() -> None:
    """The gateway writes without waiting for a client; what waits for one that stopped
    reading is judged by its driver: past ``max_buffered`` bytes the connection is dropped
    (aborted) and the API key freed, while the gateway keeps serving."""
    signer, public = new_ed25519_keys()
    with MockGateway("prediction", keys={"key-1": public}, max_buffered=64 * 1024) as gw:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once
        sock.connect(("127.0.0.1", gw.ports["KalshiNR"]))
        session = Session(
            SessionConfig(
                sender_comp_id="key-1", product="prediction", session_type="KalshiNR",
                signer=signer,
            )
        )  # fmt: skip
        session.start(time.time())
        sock.sendall(session.data_to_send())
        sock.settimeout(5)
        assert b"\x0135=A\x01" in sock.recv(65536)  # logged on; never read again
        assert gw.connected() == ["key-1"]
        ping = "x" * 150  # each TestRequest is answered by a Heartbeat carrying it
        deadline = time.monotonic() + 30
        seq = 2
        try:
            while gw.connected() and time.monotonic() < deadline:
                batch = b"".join(
                    _fix("1", seq + i, (112, ping), sender="key-1") for i in range(200)
                )
                sock.sendall(batch)
                seq += 200
        except OSError:  # the gateway aborted the connection
            pass
        finally:
            sock.close()
        assert gw.connected() == []
        assert any("not reading" in line for line in gw.log), gw.log[-3:]
        with gw.client("key-1", signer).order_entry():  # and the gateway still serves
            assert gw.connected() == ["key-1"]


@pytest.mark.parametrize("write_timeout", [0, -1.0])
def test_a_write_timeout_that_is_not_positive_is_refused_at_once(write_timeout: float) -> None:
    with pytest.raises(ValueError, match="write_timeout must be > 0"):
        MockGateway("prediction", keys={}, write_timeout=write_timeout)


def test_gateway_close_does_not_wait_for_a_client_that_does_not_read(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    idle = RawClient(h, h.ssl_context())  # connected, never reads again
    try:
        idle.quiet_for(0.1)
        closer = threading.Thread(target=h.gateway.close)
        closer.start()
        closer.join(1.5)
        blocked = closer.is_alive()
    finally:
        idle.close()  # lets a blocked close() finish
    closer.join(5)
    assert not blocked, "MockGateway.close() still blocked after 1.5 s"


# --------------------------------------------------------------------------------------------
# every fault in turn on one KalshiRT session


def test_kalshi_rt_survives_every_fault_in_turn(
    tls_gateway: GatewayHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every fault in turn on one KalshiRT session, ordered by events, not by timing.

    The drop step is the delicate one: drop-2 must be on its way when the gateway drops the
    connection after answering drop-1. The gateway's exchange holds drop-1 until the test has
    sent drop-2 (two `threading.Event`), and the drop threshold is above what a new connection
    sends before the test clears it, so the gateway drops exactly one connection whatever the
    machine's load (a `time.sleep(0.03)` and a race with the reconnect made it flaky).
    """
    h = tls_gateway
    faults = h.gateway.faults
    sent: list[str] = []
    drop_1_handled = threading.Event()
    drop_2_sent = threading.Event()
    handle = h.gateway.exchange.handle

    def handle_holding_drop_1(session_id: str, message: Any, now: float) -> Any:
        if getattr(message, "cl_ord_id", None) == "drop-1":
            drop_1_handled.set()
            assert drop_2_sent.wait(10), "the test never sent drop-2"
        return handle(session_id, message, now)

    monkeypatch.setattr(h.gateway.exchange, "handle", handle_holding_drop_1)
    with open_session(h, True, test_request_factor=0.2, disconnect_factor=0.5) as oe:
        rec = Recorder(oe, h)

        def step(name: str, until: Callable[[], bool] | None = None) -> None:
            oe.send(buy(h, name))
            sent.append(name)
            if until is not None:
                rec.pump_until(until, timeout=6)

        step("ok", rec.filled("ok"))
        faults.skip_seq = 2
        step("skip", rec.filled("skip"))
        faults.duplicate_next = True
        step("duplicate", rec.filled("duplicate"))
        faults.garble_next = True
        step("garble", rec.filled("garble"))
        faults.delay = 0.1
        step("delay", rec.filled("delay"))
        # this connection has sent one report per ExecID so far: it closes after its next write
        # (drop-1's reports); a new connection sends far fewer before the faults are cleared
        faults.drop_after = len(rec.reports) + 1
        step("drop-1")
        assert drop_1_handled.wait(10), "the gateway never read drop-1"
        step("drop-2")  # the gateway's loop is held in drop-1: the connection is still up
        drop_2_sent.set()
        rec.pump_until(rec.seen(Reconnected), timeout=6)
        faults.delay = 0.0
        faults.drop_after = None
        rec.pump_until(rec.filled("drop-1", "drop-2"))
        faults.silent = True
        step("silent", lambda: len(rec.of(Reconnected)) == 2)
        faults.silent = False
        rec.pump_until(rec.filled("silent"))
        step("last", rec.filled("last"))
        rec.pump_for(0.2)
    rec.assert_exactly_once(*sent)
    assert_continuous(rec)
    assert len(rec.of(Reconnected)) == 2
    resent = {e.message.cl_ord_id for e in rec.reports.values() if e.poss_dup}  # type: ignore[attr-defined]
    # garble's report is always resent (its first copy failed its CheckSum); drop-2's report is
    # resent when the gateway read drop-2 before the connection dropped, and otherwise filled
    # fresh after the client's own resend: which one is a matter of timing, both are correct
    assert "garble" in resent, resent
    assert all(g.recoverable for g in rec.of(GapDetected))
