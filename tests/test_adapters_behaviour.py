# private: fills the pumps' socket and disk writes (`filestore`)
"""One behavioural suite for the three adapters (blocking, asyncio, trio) against the mock gateway.

Each scenario is written once, as a coroutine over a small `Driver` that hides only the
spelling of each adapter (``with`` or ``async with``, a plain or awaited call). Same events,
same errors, same logging, same bounds; a refused Logon is final; a lost connection is visible
at once; the session's timers fire and its reports are read while the application is busy.
Nothing here sleeps: a busy application blocks on a `threading.Event` that the FIX message log
(`gateway_fixtures.FrameWatch`) sets when the frame the test waits for crosses the socket.
A socket that cannot take bytes is made by refusing a write: the blocking adapter's
`ssl.SSLSocket.send`, or for trio (a plain socket under TLS in memory) the socket's ``send``
(its class swapped for one that refuses once).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import trio
from gateway_fixtures import BOOK, GatewayHarness, watching

from kalshi_fix_sansio import Backoff, ConnectionFailed, FallingBehind, QueuePolicy, TransportError
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters import asyncio as asyncio_adapter
from kalshi_fix_sansio.adapters import blocking as blocking_adapter
from kalshi_fix_sansio.adapters import trio as trio_adapter
from kalshi_fix_sansio.client import MAX_QUEUED_EVENTS, TRANSPORT_LOGGER_NAME
from kalshi_fix_sansio.client.supervisor import (
    Disconnected,
    LogonRefused,
    Reconnected,
    Reconnecting,
)
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    CloseTransport,
    Event,
    LoggedOn,
    LogonRejected,
)
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

MODULES: dict[str, ModuleType] = {
    "blocking": blocking_adapter,
    "asyncio": asyncio_adapter,
    "trio": trio_adapter,
}
ADAPTERS = pytest.mark.parametrize("adapter", list(MODULES))


class Driver:
    """The one place where the adapters' spellings differ."""

    def __init__(self, adapter: str) -> None:
        self.adapter = adapter
        self.module = MODULES[adapter]

    def client(
        self, h: GatewayHarness, credentials: Credentials | None = None, **options: Any
    ) -> Any:
        return self.module.FixClient(credentials or h.credentials(), **h.client_kwargs(**options))

    @contextlib.asynccontextmanager
    async def opened(self, session: Any) -> AsyncIterator[Any]:
        if self.adapter == "blocking":
            with session:
                yield session
        else:
            async with session:
                yield session

    async def call(self, result: Any) -> Any:
        return await result if inspect.isawaitable(result) else result

    async def wait_for(
        self, session: Any, predicate: Callable[[Event], bool], timeout: float = 5.0
    ) -> Any:
        return await self.call(session.wait_for(predicate, timeout))

    async def checkpoint(self) -> None:
        """Let the adapter's loop run (asyncio, trio); nothing for the blocking adapter."""
        if self.adapter == "asyncio":
            await asyncio.sleep(0)
        elif self.adapter == "trio":
            await trio.lowlevel.checkpoint()

    async def busy(self, seconds: float) -> None:
        """The application does something else for ``seconds`` of real time without reading
        events. Only for tests whose subject is the passage of real time on the adapter's own
        clock (a stall longer than the heartbeat interval, a rate-limit window refilling); any
        other wait uses `busy_until` on an event."""
        await self.busy_until_or_timeout(threading.Event(), seconds)

    async def busy_until_or_timeout(self, done: threading.Event, seconds: float) -> None:
        if self.adapter == "blocking":
            done.wait(seconds)
        elif self.adapter == "asyncio":
            await asyncio.to_thread(done.wait, seconds)
        else:
            await trio.to_thread.run_sync(done.wait, seconds)

    async def busy_until(self, done: threading.Event, timeout: float = 5.0) -> None:
        """The application does something else, without reading events, until ``done`` is set
        (by another thread: the session's, through the message log)."""
        if self.adapter == "blocking":
            finished = done.wait(timeout)  # the main thread is really busy
        elif self.adapter == "asyncio":
            finished = await asyncio.to_thread(done.wait, timeout)
        else:
            finished = await trio.to_thread.run_sync(done.wait, timeout)
        assert finished, f"not seen within {timeout} s"


def run(adapter: str, scenario: Callable[[Driver], Awaitable[None]]) -> None:
    driver = Driver(adapter)
    if adapter == "trio":
        trio.run(scenario, driver)
    else:
        asyncio.run(scenario(driver))  # type: ignore[arg-type]


def buy(cl_ord_id: str) -> Any:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(1),
        ord_type=p.OrdType.LIMIT,
        price=BOOK["prediction"][1][0][0],
        symbol="HIGHNY-23DEC31",
        time_in_force=p.TimeInForce.GTC,
    )


def is_report(cl_ord_id: str) -> Callable[[Event], bool]:
    return lambda e: (
        isinstance(e, ApplicationMessage) and getattr(e.message, "cl_ord_id", None) == cl_ord_id
    )


def out_frames(path: Path, msg_type: str) -> list[str]:
    return [
        line
        for line in path.read_text().splitlines()
        if " OUT " in line and f"|35={msg_type}|" in line
    ]


@ADAPTERS
def test_same_bound_everywhere(adapter: str) -> None:
    module = MODULES[adapter]
    assert MAX_QUEUED_EVENTS == 150_000
    with pytest.raises(LocalProtocolError, match="max_queued_events"):
        module.FixClient(Credentials("k", new_ed25519_keys()[0])).order_entry(max_queued_events=0)


@ADAPTERS
def test_log_on_trade_and_send_is_not_awaitable(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    async def scenario(d: Driver) -> None:
        session = d.client(prediction_gateway).order_entry()
        with pytest.raises(LocalProtocolError, match="not connected"):
            session.send(buy("early"))
        async with d.opened(session):
            await d.wait_for(session, lambda e: isinstance(e, LoggedOn))
            seq = session.send(buy("t-1"))
            assert isinstance(seq, int) and not inspect.isawaitable(seq)
            report = await d.wait_for(session, is_report("t-1"))
            assert report.message.cl_ord_id == "t-1"
        left = []  # events queued before the close stay readable, then the end is an error
        with pytest.raises(TransportError, match="closed"):
            while True:
                left.append(await d.call(session.next_event(5.0)))
        assert None not in left and any(isinstance(e, CloseTransport) for e in left)

    run(adapter, scenario)


@ADAPTERS
@pytest.mark.parametrize("text", ["unknown API key", "already exists"])
def test_a_refused_logon_is_final(
    adapter: str, text: str, prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    log = tmp_path / "fix.log"
    if text == "unknown API key":
        credentials = Credentials("nobody", new_ed25519_keys()[0])
    else:
        credentials = h.credentials()
        h.gateway.faults.reject_next_logon = text

    async def scenario(d: Driver) -> None:
        session = d.client(
            h, credentials, message_log_path=log, backoff=Backoff(attempts=10)
        ).order_entry()
        started = time.monotonic()
        with pytest.raises(LogonRefused) as info:
            async with d.opened(session):
                pass
        assert time.monotonic() - started < 2.0
        assert info.value.text == text and text in str(info.value) and info.value.attempts == 1
        assert isinstance(
            info.value, ConnectionFailed
        )  # older `except ConnectionFailed` still catch it

    run(adapter, scenario)
    assert len(out_frames(log, "A")) == 1  # one Logon on the wire, no silent retries


@ADAPTERS
def test_a_refusal_asking_to_retry_later_is_retried_and_logged(
    adapter: str, prediction_gateway: GatewayHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = prediction_gateway
    h.gateway.faults.reject_next_logon = "rate limit exceeded"

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry()
        async with d.opened(session):
            rejected = await d.wait_for(session, lambda e: isinstance(e, LogonRejected))
            retry = await d.wait_for(session, lambda e: isinstance(e, Reconnecting))
            await d.wait_for(session, lambda e: isinstance(e, LoggedOn))
        assert rejected.text == "rate limit exceeded"
        assert retry.attempt == 2 and "rate limit exceeded" in retry.reason

    with caplog.at_level(logging.INFO, logger=TRANSPORT_LOGGER_NAME):
        run(adapter, scenario)
    lines = [r.getMessage() for r in caplog.records if r.name == TRANSPORT_LOGGER_NAME]
    assert any(
        line.startswith("prediction/KalshiNR: connection attempt 2 in ") and " s (" in line
        for line in lines
    ), lines


@ADAPTERS
def test_a_lost_connection_is_visible_at_once(
    adapter: str, prediction_gateway: GatewayHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry()
        async with d.opened(session):
            h.gateway.faults.drop_after = 1
            session.send(buy("d-1"))
            started = time.monotonic()
            lost = await d.wait_for(session, lambda e: isinstance(e, Disconnected))
            assert time.monotonic() - started < 2.0
            h.gateway.faults.drop_after = None
            retry = await d.wait_for(session, lambda e: isinstance(e, Reconnecting))
            back = await d.wait_for(session, lambda e: isinstance(e, Reconnected))
            assert "closed" in lost.reason
            assert retry.attempt == 1 and 0 <= retry.delay <= 0.2
            assert back.reset_seq_nums  # KalshiNR resets
            session.send(buy("d-2"))
            await d.wait_for(session, is_report("d-2"))

    with caplog.at_level(logging.INFO, logger=TRANSPORT_LOGGER_NAME):
        run(adapter, scenario)
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == TRANSPORT_LOGGER_NAME]
    assert any(level == logging.WARNING and "disconnected" in text for level, text in lines), lines
    assert any(
        level == logging.INFO and "connection attempt 1 in" in text for level, text in lines
    ), lines


@ADAPTERS
def test_without_reconnect_a_loss_is_reported_then_raised(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = d.client(h, reconnect=False).order_entry()
        async with d.opened(session):
            h.gateway.faults.drop_after = 1
            session.send(buy("r-1"))
            await d.wait_for(session, lambda e: isinstance(e, Disconnected))
            with pytest.raises(TransportError, match="reconnect is off"):
                await d.wait_for(session, lambda e: False, 5.0)
            with pytest.raises(TransportError):
                session.send(buy("r-2"))

    run(adapter, scenario)


@pytest.mark.parametrize("adapter", ["blocking", "trio"])
def test_bytes_the_socket_does_not_take_at_once_go_out_later_in_order(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    """`send` writes to the socket itself (blocking, trio; asyncio's transport buffers what its
    socket does not take); when the socket cannot take the bytes (its send buffer is full),
    they wait and go out as soon as it can, before what is sent after them."""

    async def scenario(d: Driver) -> None:
        session = d.client(prediction_gateway).order_entry()
        async with d.opened(session):
            await d.wait_for(session, lambda e: isinstance(e, LoggedOn))
            sock = session._pump.sock
            refused: list[bytes] = []
            if adapter == "trio":  # TLS in memory: the (plain) socket refuses the ciphertext

                class Full(socket.socket):
                    __slots__ = ()

                    def send(self, data: Any, flags: int = 0) -> int:
                        if refused:
                            return super().send(data, flags)
                        refused.append(bytes(data))  # once: then the real send
                        raise BlockingIOError(errno.EAGAIN, "the send buffer is full")

                sock.__class__ = Full
            else:
                assert isinstance(sock, ssl.SSLSocket)

                def full(data: bytes, flags: int = 0) -> int:
                    if sock.gettimeout() != 0.0:  # a blocking write waits, it is never refused
                        return ssl.SSLSocket.send(sock, data, flags)
                    refused.append(bytes(data))  # once: then the real send
                    del sock.send
                    raise ssl.SSLWantWriteError("the send buffer is full")

                sock.send = full  # type: ignore[method-assign]
            session.send(buy("u-1"))
            if adapter == "trio":
                assert session._pump.unsent == refused[0]  # u-1's TLS record waits for the socket
            session.send(buy("u-2"))
            first = await d.wait_for(session, is_report("u-1"))
            second = await d.wait_for(session, is_report("u-2"))
            assert first.seq_num < second.seq_num
            # the blocking session's thread may have written u-1 itself (waiting, never refused)
            if adapter == "trio":
                assert len(refused) == 1 and not session._pump.unsent
            elif refused:
                assert len(refused) == 1 and b"\x0111=u-1\x01" in refused[0]

    run(adapter, scenario)


@ADAPTERS
def test_a_busy_application_costs_neither_the_connection_nor_a_report(
    adapter: str, prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    """While the application reads nothing, the session reads the reports (the tracker follows
    them), fires its timers (a TestRequest after 0.15 HeartBtInt of inbound silence: 0.6 s) and
    reads the answer; the application blocks until that answer was logged, then is told first
    how far behind it is (lag warning 0.3 s) and reads everything in order. Whether the timers
    fire on time is the sans-IO core's rule, tested on a fake clock (tests/scenarios:
    initiator_heartbeat_when_idle, initiator_test_request_then_heartbeat_timeout; the driver's
    lag warning in test_driver); this shows each adapter runs them while nobody reads."""
    h = prediction_gateway
    log = tmp_path / "fix.log"

    async def scenario(d: Driver) -> None:
        client = d.client(h, heartbeat_interval=4, message_log_path=log)
        session = client.order_entry(
            queue_policy=QueuePolicy(lag_warning=0.3), test_request_factor=0.15
        )
        async with d.opened(session):
            with watching(("OUT", "|35=1|"), ("IN", "|35=0|")) as watch:
                for i in range(3):
                    session.send(buy(f"b-{i}"))
                await d.busy_until(watch.seen)
            # the tracker followed every report while nobody read, and liveness held
            for i in range(3):
                order = session.tracker.order(f"b-{i}")
                assert order is not None and order.acknowledged
            assert out_frames(log, "1"), "no TestRequest went out while the application was busy"
            assert session.lag >= 0.3
            # the application is told first how far behind it is, then reads everything in order
            first = await d.call(session.next_event(5.0))
            assert isinstance(first, FallingBehind) and first.behind >= 0.3 and first.queued >= 4
            seen: list[str] = []
            while (event := await d.call(session.next_event(0.1))) is not None:
                assert not isinstance(event, Disconnected), event
                cl = getattr(getattr(event, "message", None), "cl_ord_id", None)
                if cl is not None:
                    seen.append(cl)
            assert list(dict.fromkeys(seen)) == ["b-0", "b-1", "b-2"]  # in order, none lost
            assert session.lag == 0.0 and session.connections == 1

    run(adapter, scenario)


@ADAPTERS
def test_a_store_that_cannot_write_ends_the_session_at_once(
    adapter: str,
    prediction_gateway: GatewayHarness,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KalshiRT with a full disk: the send that meets it raises `StoreError`, and the session
    ends with it at once: the next read gives what was queued, then the same error (it waited
    for the next heartbeat to fail again before)."""
    from kalshi_fix_sansio.session import filestore
    from kalshi_fix_sansio.session.store import StoreError

    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    async def scenario(d: Driver) -> None:
        session = d.client(prediction_gateway, store_dir=tmp_path / "stores").order_entry(
            retransmission=True
        )
        async with d.opened(session):
            await d.call(session.place(buy("before"), timeout=5))
            monkeypatch.setattr(filestore, "_write_all", full)
            with pytest.raises(StoreError, match="No space left"):
                session.send(buy("after"))
            started = time.monotonic()
            with pytest.raises(StoreError, match="No space left"):
                while True:  # what was queued, then the error
                    assert await d.call(session.next_event(10.0)) is not None
            assert time.monotonic() - started < 1.0
            monkeypatch.undo()

    run(adapter, scenario)
