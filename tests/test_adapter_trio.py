# private: wraps the trio pump's socket and holds its connect (`_sockio`, `_triopump`)
"""End-to-end tests of the trio adapter against the mock Kalshi gateway over real TLS.

Each test runs its own ``trio.run(...)`` (pytest-trio is not needed); the gateway runs in its
own thread with asyncio (`tests/gateway_fixtures.py`), so the client and the gateway talk over
real loopback TLS sockets. Two tests reach inside the adapter: its TLS in memory (the private
`_sockio` module's `SocketTLS`) and a connect held open (the private `_triopump` module's
``open_socket``, replaced).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from gateway_fixtures import BOOK, GatewayHarness, dropped

from kalshi_fix_sansio import Backoff, ConnectionFailed, Reconnected, margin, prediction
from kalshi_fix_sansio.adapters import _triopump, make_ssl_context
from kalshi_fix_sansio.adapters import trio as trio_adapter
from kalshi_fix_sansio.adapters._sockio import SocketTLS
from kalshi_fix_sansio.adapters.trio import FixClient, MarginFixClient, TrioSession
from kalshi_fix_sansio.client import Endpoint
from kalshi_fix_sansio.client.steps import Received
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    CloseTransport,
    Event,
    GapDetected,
    GarbledData,
    LoggedOn,
    LogonRejected,
    TestRequestSent,
    Timeout,
)
from kalshi_fix_sansio.simulator.gateway.tls import self_signed
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

BACKOFF = {"base": 0.05, "cap": 0.2, "attempts": 8, "seed": 7}  # as client_kwargs() uses


@attrs.define
class RecordingBackoff(Backoff):
    """A `Backoff` that remembers every delay it handed out."""

    taken: list[float] = attrs.field(factory=list)

    def next_delay(self) -> float | None:
        delay = super().next_delay()
        if delay is not None:
            self.taken.append(delay)
        return delay


def seeded_delays(n: int) -> list[float]:
    """The first ``n`` delays of the fixtures' seeded backoff."""
    reference = Backoff(**BACKOFF)
    return [d for d in (reference.next_delay() for _ in range(n)) if d is not None]


def dialect(h: GatewayHarness) -> Any:
    return prediction if h.product == "prediction" else margin


def client_for(h: GatewayHarness, **extra: Any) -> FixClient:
    cls = FixClient if h.product == "prediction" else MarginFixClient
    client: FixClient = cls(h.credentials(), **h.client_kwargs(**extra))
    return client


def ask(h: GatewayHarness) -> Decimal:
    return BOOK[h.product][1][0][0]


def buy_at_ask(h: GatewayHarness, cl_ord_id: str, qty: int = 1) -> Any:
    p = dialect(h)
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(qty),
        ord_type=p.OrdType.LIMIT,
        price=ask(h),
        symbol=h.symbol,
        time_in_force=p.TimeInForce.GTC,
    )


def is_er(cl_ord_id: str, exec_type: str | None = None) -> Callable[[Event], bool]:
    """An ExecutionReport for ``cl_ord_id`` (of ExecType ``"NEW"`` / ``"TRADE"``)."""

    def check(event: Event) -> bool:
        if not isinstance(event, ApplicationMessage) or event.message.MSG_TYPE != "8":
            return False
        er: Any = event.message
        if er.cl_ord_id != cl_ord_id:
            return False
        return exec_type is None or er.exec_type.name == exec_type

    return check


def ers(events: list[Event], cl_ord_id: str) -> list[Any]:
    """The ExecutionReport events of ``cl_ord_id``, in arrival order."""
    return [e for e in events if is_er(cl_ord_id)(e)]


async def drain(session: TrioSession) -> list[Event]:
    """The events already queued (without reading more)."""
    out: list[Event] = []
    while session.queued_events:
        event = await session.next_event(0)
        assert event is not None
        out.append(event)
    return out


def kinds(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def logouts(h: GatewayHarness) -> int:
    """Clean Logout exchanges the gateway saw (a bare EOF logs something else)."""
    return sum("Logout exchange complete" in line for line in h.gateway.log)


# ----------------------------------------------------------------------------------------------
# the module


def test_module_imports_the_real_trio() -> None:
    assert trio_adapter.trio is trio
    assert Path(trio.__file__).parent.name == "trio"
    # not the adapter module itself (``kalshi_fix_sansio/adapters/trio.py``)
    assert Path(trio.__file__).resolve() != Path(trio_adapter.__file__).resolve()
    assert Path(trio_adapter.__file__).parent not in Path(trio.__file__).resolve().parents
    with pytest.raises(LocalProtocolError, match="max_queued_events"):
        FixClient(Credentials("k", new_ed25519_keys()[0])).session("KalshiNR", max_queued_events=0)


def test_factories_per_product() -> None:
    creds = Credentials("k", new_ed25519_keys()[0])
    client = FixClient(creds)
    assert client.order_entry().config.session_type == "KalshiNR"
    assert client.order_entry(retransmission=True).config.session_type == "KalshiRT"
    assert client.drop_copy().config.session_type == "KalshiDC"
    assert client.market_data().config.session_type == "KalshiMD"
    assert client.post_trade().config.session_type == "KalshiPT"
    assert client.rfq().config.session_type == "KalshiRFQ"
    shared = FixClient(creds, backoff=Backoff(seed=1))
    first, second = shared.order_entry(), shared.market_data()
    assert (
        first.options.backoff is not second.options.backoff
    )  # no session resets another's retries
    assert first.options.backoff == second.options.backoff == Backoff(seed=1)
    perps = MarginFixClient(creds)
    assert perps.order_entry().config.product == "margin"
    with pytest.raises(LocalProtocolError, match="no KalshiPT"):
        perps.post_trade()
    with pytest.raises(LocalProtocolError, match="no KalshiRFQ"):
        perps.rfq()


def test_open_without_a_nursery_says_where_the_session_runs() -> None:
    session = FixClient(Credentials("k", new_ed25519_keys()[0])).order_entry()

    async def main() -> None:
        with pytest.raises(LocalProtocolError, match="runs in a nursery"):
            await session.open()
        assert not session.driver.opened  # refused before anything was begun

    trio.run(main)


# ----------------------------------------------------------------------------------------------
# logon, an order, logout


def test_logon_order_fill_and_clean_logout(tls_gateway: GatewayHarness) -> None:
    h = tls_gateway
    client = client_for(h)
    p = dialect(h)

    async def main() -> None:
        async with client.order_entry() as oe:
            # the gateway verified the Ed25519 signature of our Logon and lists the key
            assert h.gateway.connected() == ["key-1"]
            seq = oe.send(buy_at_ask(h, "buy-1"))
            assert seq == 2  # after the Logon
            event = await oe.wait_for(is_er("buy-1", "TRADE"), 5)
            assert isinstance(event, ApplicationMessage)
            trade: Any = event.message
            assert trade.ord_status == p.OrdStatus.FILLED
            assert trade.last_qty == Decimal(1)
            assert trade.last_px == ask(h)
            # what wait_for stepped over stays queued, in order
            first = await oe.next_event(1)
            assert isinstance(first, LoggedOn) and first.reset_seq_nums
            new = await oe.next_event(1)
            assert new is not None and is_er("buy-1", "NEW")(new)
            assert await oe.next_event(0.05) is None
        assert oe.supervisor is not None and oe.supervisor.finished
        assert h.gateway.connected() == []  # released before the gateway answered our Logout
        assert logouts(h) == 1

    trio.run(main)


# ----------------------------------------------------------------------------------------------
# timers


def test_silent_gateway_test_request_timeout_and_reconnect(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    client = client_for(h, heartbeat_interval=4)

    async def main() -> None:
        # the adapter's one end-to-end timer test (when a timer is due is the core's rule,
        # tested on a fake clock): TestRequest after 0.4 s of silence, given up after 1 s
        flags = {"test_request_factor": 0.1, "disconnect_factor": 0.25}
        async with client.order_entry(**flags) as oe:
            h.gateway.faults.silent = True
            start = trio.current_time()
            rec = await oe.wait_for(lambda e: isinstance(e, Reconnected), 10)
            h.gateway.faults.silent = False
            assert 0.8 < trio.current_time() - start < 5
            assert isinstance(rec, Reconnected) and rec.reset_seq_nums  # KalshiNR resets
            before = await drain(oe)
            names = kinds(before)
            assert names.index("TestRequestSent") < names.index("Timeout")
            assert names.index("Timeout") < names.index("CloseTransport")
            # no report yet, nothing to resume from: the reconnect says so
            assert names[-2:] == ["LoggedOn", "CatchUpFailed"]
            assert next(e for e in before if isinstance(e, Timeout)).what == "heartbeat"
            assert sum(isinstance(e, TestRequestSent) for e in before) == 1
            await oe.wait_for(is_er("alive", "TRADE"), 5, send=buy_at_ask(h, "alive"))

    trio.run(main)


# ----------------------------------------------------------------------------------------------
# drops and reconnects


def test_drop_reconnects_nr_with_reset(prediction_gateway: GatewayHarness) -> None:
    h = prediction_gateway
    backoff = RecordingBackoff(**BACKOFF)
    client = client_for(h, backoff=backoff)
    events: list[Event] = []
    hook: list[int] = []

    async def on_event(event: Event) -> None:
        await trio.lowlevel.checkpoint()
        events.append(event)

    async def on_reconnect(session: TrioSession) -> None:
        h.gateway.faults.drop_after = None
        hook.append(session.send(buy_at_ask(h, "after-1")))

    # catch-up off: its replay would count towards drop_after (tests/test_never_lose_a_fill.py)
    oe = client.session("KalshiNR", on_event=on_event, on_reconnect=on_reconnect, catch_up=False)

    async def main() -> None:
        async with oe:
            h.gateway.faults.drop_after = 2  # NEW + TRADE, then the gateway hangs up
            h.gateway.faults.reject_next_logon = "try again later"  # and refuses the first comeback
            oe.send(buy_at_ask(h, "nr-1"))
            with trio.fail_after(10):
                await oe.run(until=lambda: any(is_er("after-1", "TRADE")(e) for e in events))

    trio.run(main)
    names = kinds(events)
    assert names.count("LoggedOn") == 2
    assert [e.message.exec_type.name for e in ers(events, "nr-1")] == ["NEW", "TRADE"]
    drop = next(e for e in events if isinstance(e, CloseTransport))
    assert drop.reconnect
    assert LogonRejected("try again later") in events
    rec = next(e for e in events if isinstance(e, Reconnected))
    assert rec.reset_seq_nums and rec.attempt >= 2
    relogon = [e for e in events if isinstance(e, LoggedOn)][1]
    assert relogon.reset_seq_nums
    assert names.index("Reconnected") > names.index("LogonRejected")
    assert hook == [2]  # the hook's order is the first message after the reset Logon
    after = ers(events, "after-1")
    assert [e.seq_num for e in after] == [2, 3]  # the gateway restarted from 1 as well
    # one jittered delay before the comeback, one after each refused attempt: the seeded sequence
    assert len(backoff.taken) == rec.attempt
    assert backoff.taken == seeded_delays(rec.attempt)
    assert oe.connections == 2


def test_drop_reconnects_rt_and_recovers_missed_reports(tls_gateway: GatewayHarness) -> None:
    h = tls_gateway
    backoff = RecordingBackoff(**BACKOFF)
    client = client_for(h, backoff=backoff)

    async def main() -> None:
        async with client.order_entry(retransmission=True) as oe:
            faults = h.gateway.faults
            faults.garble_next = True  # the NEW report is lost on the wire...
            faults.drop_after = 2  # ...and the connection drops after the TRADE report
            oe.send(buy_at_ask(h, "rt-1"))
            rec = await oe.wait_for(lambda e: isinstance(e, Reconnected), 10)
            faults.drop_after = None
            assert isinstance(rec, Reconnected) and not rec.reset_seq_nums  # KalshiRT resumes
            seen: list[Event] = []
            with trio.fail_after(10):
                async for event in oe:
                    seen.append(event)
                    if is_er("rt-1", "TRADE")(event):
                        break
            seen += [e async for e in oe.events(timeout=0.3)]  # any late duplicate
            relogon = [e for e in seen if isinstance(e, LoggedOn)]
            assert relogon and not relogon[-1].reset_seq_nums
            assert any(isinstance(e, GarbledData) for e in seen)
            assert any(isinstance(e, GapDetected) and e.recoverable for e in seen)
            reports = ers(seen, "rt-1")
            exec_ids = [e.message.exec_id for e in reports]
            assert len(exec_ids) == len(set(exec_ids)) == 2  # none lost, none twice
            assert sorted(e.message.exec_type.name for e in reports) == ["NEW", "TRADE"]
            assert any(e.poss_dup for e in reports)  # recovered by ResendRequest
            last_seq = max(e.seq_num for e in reports)
            event = await oe.wait_for(is_er("rt-2", "TRADE"), 5, send=buy_at_ask(h, "rt-2"))
            assert isinstance(event, ApplicationMessage)
            assert event.seq_num > last_seq and not event.poss_dup  # the sequence continues
        assert backoff.taken == seeded_delays(len(backoff.taken)) and backoff.taken

    trio.run(main)


# ----------------------------------------------------------------------------------------------
# logout


def test_logout_on_exception_and_on_cancellation(prediction_gateway: GatewayHarness) -> None:
    h = prediction_gateway
    client = client_for(h)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="boom"):
            async with client.order_entry():
                assert h.gateway.connected() == ["key-1"]
                raise RuntimeError("boom")
        assert h.gateway.connected() == []  # released before the gateway answered our Logout
        assert logouts(h) == 1
        with dropped(h) as gone:
            with trio.CancelScope() as scope:
                async with client.order_entry():
                    assert h.gateway.connected() == ["key-1"]
                    scope.cancel()  # the application's task is cancelled, the session open
                    await trio.sleep_forever()
            assert scope.cancelled_caught
            # the Logout goes out, the socket closes at once; then the gateway drops it
            assert await trio.to_thread.run_sync(gone.wait, 3), "the gateway kept it open"
        assert h.gateway.connected() == []
        assert logouts(h) == 2

    trio.run(main)


# ----------------------------------------------------------------------------------------------
# back-pressure


def test_unread_events_are_kept_in_order_while_the_tracker_is_current(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    client = client_for(h)
    oe = client.session("KalshiNR", max_queued_events=100)

    async def main() -> None:
        async with oe:
            for n in range(4):
                oe.send(buy_at_ask(h, f"bp-{n}"))
            with trio.fail_after(5):  # nothing read yet: the tracker follows every report
                await oe.run(
                    until=lambda: all(
                        (o := oe.tracker.order(f"bp-{n}")) is not None and o.terminal
                        for n in range(4)
                    )
                )
            assert oe.queued_events >= 8  # run() waits on the session's wake-ups, reads nothing
            got: list[Event] = []
            while (event := await oe.next_event(0)) is not None:
                got.append(event)
            reports = [e for e in got if isinstance(e, ApplicationMessage)]
            seqs = [e.seq_num for e in reports]
            assert seqs == list(range(2, 10))  # every report, in order
            for n in range(4):
                assert [e.message.exec_type.name for e in ers(got, f"bp-{n}")] == ["NEW", "TRADE"]

    trio.run(main)


# ----------------------------------------------------------------------------------------------
# transport policy and failures


def test_refuses_unlisted_host_and_plain_tcp_off_loopback() -> None:
    creds = Credentials("key-x", new_ed25519_keys()[0])
    endpoints = {
        "KalshiNR": Endpoint("fix.example.com", 8228),
        "KalshiRT": Endpoint("10.1.2.3", 8229, tls=False),
    }
    client = FixClient(creds, endpoints=endpoints)

    async def main() -> None:
        unlisted = client.order_entry()
        with pytest.raises(LocalProtocolError, match="documented FIX hosts"):
            async with unlisted:
                pytest.fail("connected to an unlisted host")
        plain = client.order_entry(retransmission=True)
        with pytest.raises(LocalProtocolError, match="plain TCP"):
            async with plain:
                pytest.fail("connected over plain TCP")
        assert unlisted.connections == plain.connections == 0
        with pytest.raises(LocalProtocolError, match="not connected"):
            unlisted.send(prediction.TestRequest(test_req_id="x"))

    trio.run(main)


def test_attempts_exhausted_raise_connection_failed(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens once the probe is closed
    quick = Backoff(base=0.01, cap=0.01, attempts=2, seed=3)
    nobody = FixClient(
        h.credentials(),
        endpoints={"KalshiNR": Endpoint("127.0.0.1", closed_port, server_hostname="localhost")},
        ssl_context=h.ssl_context(),
        backoff=quick,
    )
    (tmp_path / "other").mkdir()
    other_cert, _ = self_signed(tmp_path / "other")
    wrong_pin = client_for(
        h, ssl_context=make_ssl_context(pinned_cert=str(other_cert)), backoff=quick
    )

    async def main() -> None:
        with pytest.raises(ConnectionFailed) as refused:
            async with nobody.order_entry():
                pass
        assert refused.value.attempts == 3
        assert isinstance(refused.value.last_error, OSError)
        with pytest.raises(ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED") as pinned:
            async with wrong_pin.order_entry():
                pass
        assert isinstance(pinned.value.last_error, ssl.SSLError)

    trio.run(main)
    assert h.gateway.connected() == []


def test_importing_the_trio_adapter_without_trio_says_what_to_install() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['trio'] = None\n"
        "try:\n"
        "    import kalshi_fix_sansio.adapters.trio\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install trio (the trio extra: in a checkout, pip install '.[trio]')" in out.stdout


def test_tls_recv_returns_the_plaintext_and_says_when_close_notify_followed_it(
    tmp_path: Path,
) -> None:
    cert, key = self_signed(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_context.wrap_bio(s_in, s_out, server_side=True)
    tls = SocketTLS(make_ssl_context(pinned_cert=str(cert)), "localhost")
    answer = b""
    for _ in range(10):  # the handshake in memory, both ends
        done, out = tls.shake(answer)
        s_in.write(out)
        with contextlib.suppress(ssl.SSLWantReadError):
            server.do_handshake()
        answer = s_out.read()
        if done:
            break
    assert done
    tls.incoming.write(answer)

    def plaintext(fact: object) -> bytes:
        assert isinstance(fact, Received), fact  # never a `Lost` here
        return fact.data

    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    with ours, theirs:
        assert tls.recv(ours) is None  # nothing to read yet
        server.write(b"first")
        theirs.sendall(s_out.read())
        assert plaintext(tls.recv(ours)) == b"first" and not tls.closed
        server.write(b"last")
        with pytest.raises(ssl.SSLWantReadError):
            server.unwrap()  # close_notify, after the last bytes and in the same read
        theirs.sendall(s_out.read())
        assert plaintext(tls.recv(ours)) == b"last" and tls.closed
        theirs.close()
        assert plaintext(tls.recv(ours)) == b""  # then the TCP close


def test_a_session_closed_while_it_connects_ends_cleanly(
    prediction_gateway: GatewayHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``aclose`` while the connection is being made: the connection that then succeeds is
    closed unused, and the session ends as closed, not with the core's refusal of a connection
    nobody asked for any more."""
    h = prediction_gateway
    real_open = _triopump.open_socket

    async def main() -> None:
        connecting, release = trio.Event(), trio.Event()

        async def held_open(*args: Any) -> Any:
            connecting.set()
            await release.wait()
            return await real_open(*args)

        monkeypatch.setattr(_triopump, "open_socket", held_open)
        session = client_for(h).order_entry()
        outcome: list[BaseException] = []
        async with trio.open_nursery() as nursery:

            async def opener() -> None:
                try:
                    await session.open(nursery)
                except Exception as exc:
                    outcome.append(exc)

            nursery.start_soon(opener)
            await connecting.wait()
            nursery.start_soon(session.aclose)
            await trio.testing.wait_all_tasks_blocked()  # aclose told the core: closed
            release.set()
        assert outcome and not isinstance(outcome[0], LocalProtocolError), outcome
        await session.run()  # ended closed: nothing left to raise

    trio.run(main)
    assert h.gateway.connected() == []
