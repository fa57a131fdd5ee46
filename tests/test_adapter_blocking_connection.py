"""End-to-end tests of the blocking adapter's connection life against the mock Kalshi gateway.

As `test_adapter_blocking` (its helpers and fixtures): drops and reconnects (KalshiRT resumes
and recovers what it missed, KalshiNR resets; the seeded full-jitter delays), clean logout (on
exit, on an exception, to a hung gateway), the transport policy (unlisted hosts, plain TCP off
loopback) and connection failures.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness, dropped
from test_adapter_blocking import (
    REST,
    Recorder,
    RecordingBackoff,
    buy,
    dialect,
    is_report,
    log_frames,
    make_client,
    seeded_delays,
    taken,
)

from kalshi_fix_sansio import ConnectionFailed, Reconnected
from kalshi_fix_sansio.client import KALSHI_FIX_HOSTS, Endpoint
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    CloseTransport,
    GapDetected,
    LoggedOn,
    LogonRejected,
    ResendRequestSent,
    Timeout,
)

# --------------------------------------------------------------------------------------------
# drops and reconnects


def test_drop_on_kalshi_rt_resumes_and_resends_what_was_missed(
    tls_gateway: GatewayHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = tls_gateway
    log = tmp_path / "fix.log"
    faults = h.gateway.faults
    rt_2_handled, rt_3_sent = threading.Event(), threading.Event()
    handle = h.gateway.exchange.handle

    def handle_holding_rt_2(session_id: str, message: Any, now: float) -> Any:
        if getattr(message, "cl_ord_id", None) == "rt-2":  # rt-3 is on its way meanwhile
            rt_2_handled.set()
            assert rt_3_sent.wait(10), "the test never sent rt-3"
        return handle(session_id, message, now)

    monkeypatch.setattr(h.gateway.exchange, "handle", handle_holding_rt_2)
    with make_client(h, message_log_path=log).order_entry(retransmission=True) as oe:
        rec = Recorder(oe)
        oe.send(buy(h, "rt-1"))
        rec.pump_until(lambda: rec.filled("rt-1"))
        # the gateway closes the connection once rt-2's reports are out; rt-3 reaches it while
        # it handles rt-2 (held until rt-3 is sent) and writes (delayed), so rt-3's reports are
        # stored but never delivered. A new connection sends 2 reports at most: no second drop
        faults.delay = 0.15
        faults.drop_after = 4
        oe.send(buy(h, "rt-2"))
        assert rt_2_handled.wait(10), "the gateway never read rt-2"
        oe.send(buy(h, "rt-3"))  # read by the gateway while it writes rt-2's reports
        rt_3_sent.set()

        def on_reconnect() -> bool:
            if rec.of(Reconnected):
                faults.delay = 0.0
                faults.drop_after = None
                return True
            return False

        rec.pump_until(on_reconnect, timeout=5)
        rec.pump_until(lambda: rec.filled("rt-1", "rt-2", "rt-3"), timeout=5)
        oe.send(buy(h, "rt-4"))
        rec.pump_until(lambda: rec.filled("rt-4"), timeout=3)
        rec.pump_for(0.2)
    rec.assert_exactly_once("rt-1", "rt-2", "rt-3", "rt-4")
    # what was missed came back: rt-3's reports as PossDup resends after a ResendRequest when
    # the gateway had read rt-3 before the drop, else rt-3 itself resent by the client (the
    # gateway keeps reading while a delayed write is held, so which of the two is timing)
    resent = [e for e in rec.reports.values() if e.poss_dup]
    assert {e.message.cl_ord_id for e in resent} <= {"rt-3"}  # type: ignore[attr-defined]
    assert all(g.recoverable for g in rec.of(GapDetected))
    if resent:
        assert rec.of(GapDetected) and rec.of(ResendRequestSent)
    # sequence numbers continue: no reset anywhere
    reconnected = rec.of(Reconnected)
    assert len(reconnected) == 1 and reconnected[0].reset_seq_nums is False
    assert all(not e.reset_seq_nums for e in rec.of(LoggedOn))
    seqs = [e.seq_num for e in rec.events if isinstance(e, ApplicationMessage)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    logons = [f for f in log_frames(log, "OUT") if f["35"] == "A"]
    assert len(logons) >= 2
    assert all("141" not in f for f in logons)
    assert [int(f["34"]) for f in logons] == sorted(int(f["34"]) for f in logons)
    # Logon 1 and rt-1..rt-3 (2-4) went out first: the reconnect Logon continues from there
    # (5, or more when a heartbeat or logout slipped in), never back to 1
    assert int(logons[-1]["34"]) >= 5


@pytest.mark.parametrize("wait", ["poll", "select"])
def test_drop_on_kalshi_nr_reconnects_with_a_reset(
    tls_gateway: GatewayHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wait: str
) -> None:
    if wait == "select":  # a system without poll (Windows): the reader waits in select
        monkeypatch.delattr(select, "poll")
    h = tls_gateway
    log = tmp_path / "fix.log"
    # catch-up off: its replay would count towards drop_after (tests/test_never_lose_a_fill.py)
    with make_client(h, message_log_path=log).order_entry(catch_up=False) as oe:
        rec = Recorder(oe)
        h.gateway.faults.drop_after = 2
        oe.send(buy(h, "nr-1"))
        rec.pump_until(rec.seen(Reconnected), timeout=5)
        h.gateway.faults.drop_after = None
        oe.send(buy(h, "nr-2"))
        rec.pump_until(lambda: rec.filled("nr-1", "nr-2"))
        assert h.gateway.connected() == ["key-1"]
    rec.assert_exactly_once("nr-1", "nr-2")
    (reconnected,) = rec.of(Reconnected)
    assert reconnected.reset_seq_nums is True
    assert all(e.reset_seq_nums for e in rec.of(LoggedOn))
    # the new Logon carries 141=Y and MsgSeqNum 1; the gateway's numbers restart too
    logons = [f for f in log_frames(log, "OUT") if f["35"] == "A"]
    assert len(logons) == 2
    assert all(f["141"] == "Y" and f["34"] == "1" for f in logons)
    after = [e.seq_num for e in rec.events if is_report("nr-2")(e)]
    assert after == [2, 3]


def test_kalshi_rt_restart_resends_a_fill_that_happened_while_away(
    tls_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = tls_gateway
    p = dialect(h)
    log = tmp_path / "fix.log"
    store_dir = tmp_path / "store"
    price = REST[h.product]  # between the bid and the ask: it rests
    with make_client(h, message_log_path=log, store_dir=store_dir).order_entry(
        retransmission=True
    ) as oe:
        rec = Recorder(oe)
        oe.send(buy(h, "away", price))
        rec.pump_until(lambda: rec.kinds("away") == ["0"])
    oe.config.store.close()  # the process ends: the store file is all that is left  # type: ignore[union-attr]
    assert h.gateway.connected() == []  # released before the gateway answered our Logout

    # key-2 sells into the resting order while key-1 is away
    sell = p.NewOrderSingle(
        cl_ord_id="sell",
        side=p.Side.SELL,
        order_qty=Decimal(1),
        ord_type=p.OrdType.LIMIT,
        price=price,
        symbol=h.symbol,
        time_in_force=p.TimeInForce.GTC,
    )
    with make_client(h, "key-2").order_entry() as other:
        other.wait_for(is_report("sell", p.ExecType.TRADE), 3, send=sell)

    # a new client on the same store directory: the sequence continues and the fill is resent
    with make_client(h, message_log_path=log, store_dir=store_dir).order_entry(
        retransmission=True
    ) as again:
        rec2 = Recorder(again)
        rec2.pump_until(lambda: rec2.kinds("away") == ["F"])
    (logged_on,) = rec2.of(LoggedOn)
    assert logged_on.reset_seq_nums is False
    (fill,) = rec2.reports.values()
    assert fill.poss_dup and fill.seq_num > max(e.seq_num for e in rec.reports.values())
    er: Any = fill.message
    assert er.last_px == price and er.ord_status == p.OrdStatus.FILLED
    assert er.aggressor_indicator is not True  # the resting side: maker
    assert er.misc_fees[0].misc_fee_curr == "USD"
    assert rec2.of(GapDetected)[0].recoverable
    logons = [f for f in log_frames(log, "OUT") if f["35"] == "A"]
    assert len(logons) == 2 and "141" not in logons[1]
    assert int(logons[1]["34"]) > int(logons[0]["34"])


def test_reconnect_after_a_drop_waits_a_jittered_seeded_delay(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    backoff = RecordingBackoff(base=0.05, cap=0.2, attempts=8, seed=7)
    with make_client(h, backoff=backoff).order_entry() as oe:
        rec = Recorder(oe)
        assert taken(oe) == []  # the first connection is immediate
        h.gateway.faults.drop_after = 2
        oe.send(buy(h, "d-1"))
        rec.pump_until(rec.seen(Reconnected), timeout=5)
        h.gateway.faults.drop_after = None
    (reconnected,) = rec.of(Reconnected)
    assert reconnected.attempt == 1
    # one full-jitter delay from the seeded sequence before the attempt (spreads the clients
    # Kalshi drops together)
    assert taken(oe) == pytest.approx(seeded_delays(1))
    assert backoff.taken == []  # each session draws from its own copy of the client's policy


def test_failed_attempts_wait_the_seeded_full_jitter_delays(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    backoff = RecordingBackoff(base=0.05, cap=0.2, attempts=8, seed=7)
    h.gateway.faults.reject_next_logon = "FIX logon service busy; retry with backoff"
    started = time.monotonic()
    with make_client(h, backoff=backoff).order_entry() as oe:
        elapsed = time.monotonic() - started
        rec = Recorder(oe)
        rec.pump_until(rec.seen(LoggedOn), timeout=2)
    assert taken(oe) == pytest.approx(seeded_delays(1))
    assert elapsed >= taken(oe)[0]
    assert [e.text for e in rec.of(LogonRejected)] == ["FIX logon service busy; retry with backoff"]
    assert oe.connections == 1


# --------------------------------------------------------------------------------------------
# logout


def _logouts(h: GatewayHarness) -> int:
    return sum("Logout exchange complete" in line for line in h.gateway.log)


def test_clean_logout_on_exit_and_on_an_exception(
    tls_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = tls_gateway
    log = tmp_path / "fix.log"
    client = make_client(h, message_log_path=log)
    with client.order_entry() as oe:
        assert isinstance(oe.next_event(2), LoggedOn)
        assert h.gateway.connected() == ["key-1"]
    assert h.gateway.connected() == []  # released before the gateway answered our Logout
    assert _logouts(h) == 1
    kinds = [(f["<dir>"], f["35"]) for f in log_frames(log)]
    assert kinds[-2:] == [("OUT", "5"), ("IN", "5")]

    class Boom(Exception):
        pass

    with pytest.raises(Boom), client.order_entry(retransmission=True) as rt:
        assert isinstance(rt.next_event(2), LoggedOn)
        assert h.gateway.connected() == ["key-1"]
        raise Boom
    assert h.gateway.connected() == []
    assert _logouts(h) == 2
    kinds = [(f["<dir>"], f["35"]) for f in log_frames(log)]
    assert kinds[-2:] == [("OUT", "5"), ("IN", "5")]
    assert rt.connections == 1  # no reconnect after our own Logout


def test_logout_to_a_hung_gateway_gives_up_after_the_logout_timeout(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    rec = Recorder()
    session = make_client(h).order_entry(logout_timeout=0.5, on_event=rec)
    with dropped(h) as gone:
        with session as oe:
            oe.run(until=rec.seen(LoggedOn))
            h.gateway.faults.silent = True  # the gateway hangs: our Logout goes unanswered
            started = time.monotonic()
        took = time.monotonic() - started
        h.gateway.faults.silent = False
        assert 0.45 <= took < 2.0
        assert [e.what for e in rec.of(Timeout)] == ["logout"]
        (close,) = rec.of(CloseTransport)
        assert close.reconnect is False and session.connections == 1
        assert gone.wait(3), "the gateway never saw the connection closed"  # not left open
    assert h.gateway.connected() == []


# --------------------------------------------------------------------------------------------
# transport policy and connection failures


def test_unlisted_host_and_plain_tcp_off_loopback_are_refused_before_connecting(
    prediction_gateway: GatewayHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = prediction_gateway
    attempts: list[Any] = []

    def no_connect(*args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(args)
        raise AssertionError("no connection may be attempted")

    monkeypatch.setattr(socket, "create_connection", no_connect)
    kalshi_host = sorted(KALSHI_FIX_HOSTS)[0]
    cases = [
        (Endpoint("fix.example.com", 8228), {}, "allow_unlisted_hosts"),
        (Endpoint("10.1.2.3", 8228), {}, "allow_unlisted_hosts"),
        (Endpoint("10.1.2.3", 8228, tls=False), {}, "plain TCP"),
        (Endpoint("fix.example.com", 8228, tls=False), {"allow_unlisted_hosts": True}, "plain TCP"),
        (Endpoint(kalshi_host, 8228, tls=False), {}, "plain TCP"),
    ]
    for endpoint, extra, text in cases:
        client = make_client(h, endpoints={"KalshiNR": endpoint}, **extra)
        session = client.order_entry()
        with pytest.raises(LocalProtocolError, match=text):
            with session:
                pass  # pragma: no cover
        assert session.connections == 0
    assert attempts == []


def test_attempts_exhausted_raise_connection_failed(prediction_gateway: GatewayHarness) -> None:
    h = prediction_gateway
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    backoff = RecordingBackoff(base=0.01, cap=0.02, attempts=2, seed=5)
    endpoint = Endpoint("127.0.0.1", port, server_hostname="localhost")
    client = make_client(h, endpoints={"KalshiNR": endpoint}, backoff=backoff)
    session = client.order_entry()
    with pytest.raises(ConnectionFailed) as info:
        with session:
            pass  # pragma: no cover
    assert info.value.attempts == 3
    assert isinstance(info.value.last_error, ConnectionRefusedError)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert taken(session) == pytest.approx(seeded_delays(2, base=0.01, cap=0.02, seed=5))
