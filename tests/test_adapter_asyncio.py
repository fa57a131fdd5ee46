"""The asyncio adapter end to end, against the real mock gateway over TLS on loopback.

Each test drives its own event loop with `asyncio.run` (no pytest plugin needed); the gateway
runs in its own thread (`tests/gateway_fixtures.py`) with freshly generated keys and a pinned
self-signed certificate.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness, watching

from kalshi_fix_sansio import (
    Backoff,
    ConnectionFailed,
    EventQueueOverflow,
    Reconnected,
    TransportError,
    margin,
    prediction,
)
from kalshi_fix_sansio.adapters.asyncio import AsyncSession, FixClient, MarginFixClient
from kalshi_fix_sansio.client import MAX_QUEUED_EVENTS, Endpoint
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    Event,
    LoggedOn,
    LoggedOut,
    TestRequestSent,
    Timeout,
)
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

ASK = {"prediction": Decimal("0.45"), "margin": Decimal("19.6")}
FAR = {"prediction": Decimal("0.10"), "margin": Decimal("15")}


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def client_for(gw: GatewayHarness, key_id: str = "key-1", **extra: Any) -> FixClient:
    cls = FixClient if gw.product == "prediction" else MarginFixClient
    return cls(gw.credentials(key_id), **gw.client_kwargs(**extra))


def dialect(gw: GatewayHarness) -> ModuleType:
    return prediction if gw.product == "prediction" else margin


def order(gw: GatewayHarness, cl_ord_id: str, price: Decimal, qty: int = 1) -> Any:
    p = dialect(gw)
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(qty),
        ord_type=p.OrdType.LIMIT,
        price=price,
        symbol=gw.symbol,
        time_in_force=p.TimeInForce.GTC,
    )


def is_report(cl_ord_id: str, exec_type: Any = None) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        if not isinstance(event, ApplicationMessage) or event.message.MSG_TYPE != "8":
            return False
        er: Any = event.message
        return bool(er.cl_ord_id == cl_ord_id and (exec_type is None or er.exec_type == exec_type))

    return check


def of_type(cls: type[Event]) -> Callable[[Event], bool]:
    return lambda event: isinstance(event, cls)


async def connected(gw: GatewayHarness) -> list[str]:
    return await asyncio.to_thread(gw.gateway.connected)


async def drain(session: AsyncSession) -> list[Event]:
    return [event async for event in session.events(timeout=0)]


def close_log(session: AsyncSession) -> None:
    # ClientBase opens one MessageLog file per session and nothing closes it (reported)
    if session.options.message_log is not None:
        session.options.message_log.close()


def log_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


# -- logon, orders ----------------------------------------------------------------------------


def test_logon_order_and_execution_report(tls_gateway: GatewayHarness) -> None:
    gw = tls_gateway
    p = dialect(gw)

    async def main() -> None:
        async with client_for(gw).order_entry() as oe:
            assert isinstance(oe, AsyncSession)
            assert oe.max_queued_events == MAX_QUEUED_EVENTS
            assert await connected(gw) == ["key-1"]  # the gateway checked our signature
            assert oe.send(order(gw, "buy-1", ASK[gw.product])) == 2
            trade = await oe.wait_for(is_report("buy-1", p.ExecType.TRADE), 5)
            assert isinstance(trade, ApplicationMessage)
            er: Any = trade.message
            assert (er.last_px, er.last_qty, er.side) == (ASK[gw.product], 1, p.Side.BUY)
            assert er.ord_status == p.OrdStatus.FILLED
            # wait_for left the events it skipped queued, in order
            logon = await oe.next_event(1)
            assert isinstance(logon, LoggedOn) and logon.reset_seq_nums
            new = await oe.next_event(1)
            assert new is not None and is_report("buy-1", p.ExecType.NEW)(new)
            assert await oe.next_event(0.1) is None
        assert await connected(gw) == []  # released before the gateway answered our Logout

    run(main())


def test_callback_mode_and_run_until(prediction_gateway: GatewayHarness) -> None:
    gw = prediction_gateway
    p = dialect(gw)
    seen: list[Event] = []

    async def on_event(event: Event) -> None:
        seen.append(event)

    async def main() -> None:
        async with client_for(gw).order_entry(on_event=on_event) as oe:
            oe.send(order(gw, "cb-1", FAR[gw.product]))
            done = is_report("cb-1", p.ExecType.NEW)
            await asyncio.wait_for(oe.run(until=lambda: any(map(done, seen))), 5)
            assert oe.queued_events == 0  # the callback got everything
            assert await oe.next_event(0.05) is None
        assert isinstance(seen[0], LoggedOn)
        assert any(isinstance(e, LoggedOut) for e in seen)  # the Logout exchange on leaving

    run(main())


# -- heartbeats and TestRequests --------------------------------------------------------------


def test_test_request_from_kalshi_is_answered(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    gw = prediction_gateway
    path = tmp_path / "fix.log"

    def send_test_request() -> None:  # runs in the gateway's loop: the acceptor asks us
        gateway = gw.gateway
        conn = gateway._conns[gateway._by_key["key-1"]]
        assert conn.session.send_test_request(time.time(), "GW-PING-1") == "GW-PING-1"
        conn.flush(time.time())  # written now, by its connection

    async def main() -> None:
        async with client_for(gw, message_log_path=path).order_entry() as oe:
            await oe.wait_for(of_type(LoggedOn), 5)
            with watching(("IN", "|35=1|"), ("OUT", "|112=GW-PING-1|")) as watch:
                await asyncio.to_thread(gw.gateway.call, send_test_request)
                assert await asyncio.to_thread(watch.seen.wait, 3), "TestRequest not answered"
            answer = next(x for x in log_lines(path) if " OUT " in x and "|112=GW-PING-1|" in x)
            assert "|35=0|" in answer
        close_log(oe)

    run(main())


def test_silent_gateway_makes_the_client_time_out_and_reconnect(
    prediction_gateway: GatewayHarness,
) -> None:
    gw = prediction_gateway
    p = dialect(gw)
    # the adapter's one end-to-end timer test (when a timer is due is the core's rule, tested
    # on a fake clock): TestRequest after 0.4 s of silence, given up after 1 s
    factors = {"test_request_factor": 0.1, "disconnect_factor": 0.25}

    async def main() -> None:
        client = client_for(gw, heartbeat_interval=4, config=factors)
        async with client.order_entry() as oe:
            await oe.wait_for(of_type(LoggedOn), 5)
            gw.gateway.faults.silent = True  # no Heartbeat leaves the gateway any more
            await oe.wait_for(of_type(TestRequestSent), 4)
            timeout = await oe.wait_for(of_type(Timeout), 4)
            assert isinstance(timeout, Timeout) and timeout.what == "heartbeat"
            gw.gateway.faults.silent = False
            reconnected = await oe.wait_for(of_type(Reconnected), 5)
            assert isinstance(reconnected, Reconnected) and reconnected.reset_seq_nums
            assert oe.connections == 2
            oe.send(order(gw, "after-1", FAR[gw.product]))
            await oe.wait_for(is_report("after-1", p.ExecType.NEW), 5)

    run(main())


# -- drops and reconnects ---------------------------------------------------------------------


def test_kalshirt_drop_resumes_and_missed_reports_are_resent(tls_gateway: GatewayHarness) -> None:
    gw = tls_gateway
    p = dialect(gw)
    delays: list[float] = []

    class RecordingBackoff(Backoff):
        def next_delay(self) -> float | None:
            delay = super().next_delay()
            if delay is not None:
                delays.append(delay)
            return delay

    backoff = RecordingBackoff(base=0.05, cap=0.2, attempts=8, seed=7)

    async def main() -> None:
        async with client_for(gw, backoff=backoff).order_entry(retransmission=True) as oe:
            assert oe.config.session_type == "KalshiRT"
            await oe.wait_for(of_type(LoggedOn), 5)
            faults = gw.gateway.faults
            # the next report is garbled on the wire, then the gateway hangs up
            faults.garble_next = True
            faults.drop_after = 1
            oe.send(order(gw, "rt-1", ASK[gw.product]))
            reconnected = await oe.wait_for(of_type(Reconnected), 10)
            faults.drop_after = None
            assert isinstance(reconnected, Reconnected)
            assert not reconnected.reset_seq_nums  # KalshiRT keeps its sequence numbers
            assert oe.connections == 2
            new1 = await oe.wait_for(is_report("rt-1", p.ExecType.NEW), 5)
            trade1 = await oe.wait_for(is_report("rt-1", p.ExecType.TRADE), 5)
            assert isinstance(new1, ApplicationMessage) and new1.poss_dup  # resent
            assert isinstance(trade1, ApplicationMessage)
            oe.send(order(gw, "rt-2", ASK[gw.product]))
            new2 = await oe.wait_for(is_report("rt-2", p.ExecType.NEW), 5)
            trade2 = await oe.wait_for(is_report("rt-2", p.ExecType.TRADE), 5)
            rest = await drain(oe)
        relogon = [e for e in rest if isinstance(e, LoggedOn)]
        assert len(relogon) == 1 and not relogon[0].reset_seq_nums  # the resumed Logon
        reports = [new1, trade1, new2, trade2]
        reports += [
            e for e in rest if isinstance(e, ApplicationMessage) and e.message.MSG_TYPE == "8"
        ]
        exec_ids = [e.message.exec_id for e in reports if isinstance(e, ApplicationMessage)]
        assert len(exec_ids) == 4 and len(set(exec_ids)) == 4  # none lost, none twice
        # the reconnect waited seeded full-jitter delays (the sequence repeats for this seed)
        expected = Backoff(base=0.05, cap=0.2, attempts=8, seed=7).delays()
        assert delays and delays == list(itertools.islice(expected, len(delays)))

    run(main())


def test_market_data_resubscribes_in_on_reconnect(tls_gateway: GatewayHarness) -> None:
    gw = tls_gateway
    p = dialect(gw)
    request = p.MarketDataRequest(
        subscription_request_type=p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
        related_sym=[p.MarketDataRequestRelatedSym(symbol=gw.symbol)],
    )
    hooked: list[int] = []

    async def resubscribe(session: AsyncSession) -> None:
        hooked.append(session.connections)
        gw.gateway.faults.drop_after = None
        session.send(request)

    def snapshot(event: Event) -> bool:
        return isinstance(event, ApplicationMessage) and event.message.MSG_TYPE == "W"

    async def main() -> None:
        async with client_for(gw).market_data(on_reconnect=resubscribe) as md:
            await md.wait_for(of_type(LoggedOn), 5)
            gw.gateway.faults.drop_after = 1  # hang up after the first snapshot
            await md.wait_for(snapshot, 5, send=request)
            await md.wait_for(of_type(Reconnected), 10)
            again = await md.wait_for(snapshot, 5)
            assert isinstance(again, ApplicationMessage)
            assert again.message.symbol == gw.symbol  # type: ignore[attr-defined]
        assert hooked == [2]

    run(main())


def test_connection_failed_when_reconnect_attempts_run_out(
    prediction_gateway: GatewayHarness,
) -> None:
    gw = prediction_gateway

    async def main() -> None:
        # maintenance_retry=None: on the wall clock, a Thursday 3-5 AM ET would keep the
        # session through Kalshi's maintenance window instead
        backoff = Backoff(base=0.01, cap=0.05, seed=3, maintenance_retry=None, reconnect_attempts=3)
        client = client_for(gw, backoff=backoff)
        async with client.order_entry() as oe:
            await oe.wait_for(of_type(LoggedOn), 5)
            await asyncio.to_thread(gw.gateway.close)  # the gateway is gone for good
            with pytest.raises(ConnectionFailed) as info:
                async for _event in oe:
                    pass
            assert info.value.attempts == 3
            with pytest.raises(ConnectionFailed):
                oe.send(order(gw, "late", FAR[gw.product]))

    run(main())


# -- logout -----------------------------------------------------------------------------------


def test_clean_logout_on_exit_and_on_exception(prediction_gateway: GatewayHarness) -> None:
    gw = prediction_gateway

    class Boom(Exception):
        pass

    async def main() -> None:
        client = client_for(gw)
        oe = client.order_entry()
        async with oe:
            await oe.wait_for(of_type(LoggedOn), 5)
            assert await connected(gw) == ["key-1"]
        assert await connected(gw) == []  # released before the gateway answered our Logout
        left = await drain(oe)
        assert any(isinstance(e, LoggedOut) and not e.by_peer for e in left)
        with pytest.raises(TransportError, match="closed"):
            await oe.next_event(1)
        with pytest.raises(TransportError):
            oe.send(order(gw, "late", FAR[gw.product]))

        oe2 = client.order_entry()
        with pytest.raises(Boom):
            async with oe2:
                await oe2.wait_for(of_type(LoggedOn), 5)
                assert await connected(gw) == ["key-1"]
                raise Boom
        assert await connected(gw) == []
        assert any(isinstance(e, LoggedOut) for e in await drain(oe2))
        done = [x for x in gw.gateway.log if "Logout exchange complete" in x]
        assert len(done) == 2  # the gateway saw two clean Logout exchanges

    run(main())


def test_send_before_entering_is_a_local_error(prediction_gateway: GatewayHarness) -> None:
    gw = prediction_gateway

    async def main() -> None:
        oe = client_for(gw).order_entry()
        with pytest.raises(LocalProtocolError, match="async with"):
            oe.send(order(gw, "early", FAR[gw.product]))
        with pytest.raises(LocalProtocolError, match="async with"):
            await oe.next_event()

    run(main())


# -- refusals ---------------------------------------------------------------------------------


def test_refuses_unlisted_hosts_and_plain_tcp_off_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    signer, _ = new_ed25519_keys()
    credentials = Credentials("key-1", signer)
    dialed: list[tuple[Any, ...]] = []

    async def fake_getaddrinfo(loop: Any, *args: Any, **kwargs: Any) -> Any:
        dialed.append(args)
        raise ConnectionRefusedError("no network in this test")

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", fake_getaddrinfo)

    async def main() -> None:
        unlisted = {"KalshiNR": Endpoint("fix.example.com", 8228)}
        with pytest.raises(LocalProtocolError, match="not one of Kalshi's documented FIX hosts"):
            async with FixClient(credentials, endpoints=unlisted).order_entry():
                pytest.fail("connected to an unlisted host")
        plain = {"KalshiNR": Endpoint("10.1.2.3", 8228, tls=False)}
        with pytest.raises(LocalProtocolError, match="plain TCP"):
            async with FixClient(credentials, endpoints=plain).order_entry():
                pytest.fail("connected over plain TCP")
        assert dialed == []  # refused before any connection attempt
        # the opt-in lets the unlisted host through to the dialer
        client = FixClient(
            credentials,
            endpoints=unlisted,
            allow_unlisted_hosts=True,
            backoff=Backoff(attempts=0),
        )
        with pytest.raises(ConnectionFailed, match=r"fix\.example\.com"):
            async with client.order_entry():
                pass
        assert [a[:2] for a in dialed] == [("fix.example.com", 8228)]

    run(main())


# -- back-pressure ----------------------------------------------------------------------------


def test_an_application_that_stops_reading_gets_a_named_failure(
    prediction_gateway: GatewayHarness,
) -> None:
    gw = prediction_gateway
    p = dialect(gw)
    count = 12

    async def main() -> None:
        async with client_for(gw).order_entry(max_queued_events=4) as oe:
            for i in range(count):
                oe.send(order(gw, f"bp-{i}", FAR[gw.product]))
            got: list[Event | None] = []
            with pytest.raises(EventQueueOverflow, match="over the limit of 4") as caught:
                while True:
                    got.append(await oe.next_event(5))
            # every event queued before the overflow is read first, in order; then the error
            assert isinstance(got[0], LoggedOn)
            reports = [e for e in got if isinstance(e, ApplicationMessage)]
            assert reports
            for i, event in enumerate(reports):
                assert is_report(f"bp-{i}", p.ExecType.NEW)(event)
            assert caught.value.queued == 5
            # the tracker took every report it read, whatever the queue did
            assert all(oe.tracker.order(f"bp-{i}") is not None for i in range(count))

    run(main())
