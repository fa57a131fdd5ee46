"""The sans-IO connection supervisor, driven with a fake clock and an in-memory gateway.

No socket, no thread, no sleep: a `Supervisor` runs against an acceptor `Session` (the mock
gateway's core); "connecting" is calling `connection_made`, the wire is two byte buffers.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import attrs
import pytest

from kalshi_fix_sansio import Backoff, TransportError
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.client import in_maintenance_window
from kalshi_fix_sansio.client.supervisor import (
    ConnectionFailed,
    Disconnected,
    LogonRefused,
    Reconnected,
    Reconnecting,
    Supervisor,
    SupervisorState,
    logon_refusal_is_final,
)
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.config import KALSHI_COMP_ID, Role, SessionConfig
from kalshi_fix_sansio.session.events import CloseTransport, Event, LoggedOn, LogonRejected
from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.session.ratelimit import RateLimiter, Tier
from kalshi_fix_sansio.session.store import MemoryStore
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC, a Thursday at 19:00 ET: outside maintenance
SIGNER, PUBLIC = new_ed25519_keys()


class Harness:
    """A supervisor, a fake clock and one in-memory gateway session per connection."""

    def __init__(
        self,
        session_type: str = "KalshiNR",
        *,
        refuse: list[str] | None = None,
        limiter: RateLimiter | None = None,
        **options: Any,
    ) -> None:
        self.now = T0
        self.refuse = list(refuse or [])
        config = SessionConfig(
            sender_comp_id="key-1",
            product="prediction",
            session_type=session_type,
            signer=SIGNER,
            store=MemoryStore(),
            heartbeat_interval=5,
            rate_limiter=limiter,
        )
        options.setdefault("backoff", Backoff(base=1.0, cap=4.0, attempts=3, seed=1))
        self.sup = Supervisor(config, peer="tls://gateway:8228", **options)
        self.gateway: Session | None = None
        self.gateway_store = MemoryStore()  # kept across connections, as Kalshi keeps RT's
        self.events: list[Event] = []
        self.logons = 0

    def _check(self, logon: Any) -> str | None:
        self.logons += 1
        return self.refuse.pop(0) if self.refuse else None

    def connect(self) -> None:
        assert self.sup.connect_at is not None and self.sup.connect_at <= self.now
        config = SessionConfig(
            sender_comp_id=KALSHI_COMP_ID,
            product="prediction",
            session_type=self.sup.config.session_type,
            role=Role.ACCEPTOR,
            public_keys={"key-1": PUBLIC},
            store=self.gateway_store,
            logon_check=self._check,
        )
        self.gateway = Session(config)
        self.gateway.start(self.now)
        self.sup.connection_made(self.now)
        self.pump()

    def pump(self) -> None:
        """Move bytes both ways until both sides are quiet; collect the supervisor's events."""
        for _ in range(50):
            moved = False
            gateway = self.gateway
            data = self.sup.data_to_send()
            if data and gateway is not None:
                gateway.receive_data(data, self.now)
                moved = True
            if gateway is not None:
                for event in gateway.events():
                    if isinstance(event, CloseTransport):
                        self.gateway = None
                reply = gateway.data_to_send()
                if reply and self.sup.wants_transport:
                    self.sup.receive_data(reply, self.now)
                    moved = True
                if self.gateway is None and self.sup.wants_transport:
                    self.sup.receive_data(b"", self.now)
            if not self.sup.wants_transport:
                self.gateway = None
            while (event := self.sup.next_event()) is not None:
                self.events.append(event)
            if not moved:
                return

    def advance_to(self, when: float) -> None:
        self.now = max(self.now, when)
        self.sup.handle_timer(self.now)
        self.pump()

    def of(self, cls: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]


def order() -> Any:
    return p.NewOrderSingle(
        cl_ord_id="c-1",
        side=p.Side.BUY,
        order_qty=Decimal(1),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.5"),
        symbol="X",
        time_in_force=p.TimeInForce.GTC,
    )


def md_request() -> Any:
    return p.MarketDataRequest(
        subscription_request_type=p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
        related_sym=[p.MarketDataRequestRelatedSym(symbol="X")],
    )


def test_first_connection_is_due_at_once_and_logs_on() -> None:
    h = Harness()
    assert h.sup.state is SupervisorState.IDLE and h.sup.connect_at is None
    h.sup.start(h.now)
    assert h.sup.connect_at == T0 and h.sup.next_deadline() == T0
    h.connect()
    assert h.sup.state is SupervisorState.ACTIVE and h.sup.connections == 1
    assert [type(e) for e in h.events] == [LoggedOn]
    assert isinstance(h.sup.send(order(), h.now), int)


def test_a_final_refusal_fails_at_once_with_kalshis_text() -> None:
    h = Harness(refuse=["unknown API key"])
    h.sup.start(h.now)
    h.connect()
    assert h.sup.state is SupervisorState.FAILED and h.logons == 1
    failure = h.sup.failure
    assert isinstance(failure, LogonRefused) and failure.text == "unknown API key"
    assert "unknown API key" in str(failure) and failure.attempts == 1
    assert h.sup.connect_at is None and not h.sup.wants_transport
    assert not h.of(Reconnecting) and h.of(LogonRejected)[0].text == "unknown API key"


def test_a_refusal_that_asks_to_retry_later_is_retried_after_a_jittered_delay() -> None:
    h = Harness(refuse=["rate limit exceeded, try again later"])
    h.sup.start(h.now)
    h.connect()
    (retry,) = h.of(Reconnecting)
    expected = Backoff(base=1.0, cap=4.0, attempts=3, seed=1).next_delay()
    assert retry.attempt == 2 and retry.delay == expected and "rate limit" in retry.reason
    assert h.sup.state is SupervisorState.WAITING and h.sup.connect_at == T0 + retry.delay
    h.advance_to(T0 + retry.delay)
    h.connect()
    assert h.sup.state is SupervisorState.ACTIVE and h.logons == 2
    assert not h.of(Reconnected)  # the first connection: nothing was lost


def test_refusal_texts() -> None:
    for text in ("unknown API key", "invalid signature", "already exists", ""):
        assert logon_refusal_is_final(text), text
    for text in (
        "Too many logons, try again later",
        "rate limit exceeded",
        "exchange under maintenance",
    ):
        assert not logon_refusal_is_final(text), text


def test_connection_failures_give_up_when_the_backoff_runs_out() -> None:
    h = Harness(backoff=Backoff(base=1.0, attempts=2, seed=3))
    h.sup.start(h.now)
    for attempt in (1, 2):
        h.sup.connection_failed(h.now, ConnectionRefusedError("refused"))
        h.pump()
        assert h.of(Reconnecting)[-1].attempt == attempt + 1
        h.now = h.sup.connect_at or h.now
    h.sup.connection_failed(h.now, ConnectionRefusedError("refused"))
    failure = h.sup.failure
    assert isinstance(failure, ConnectionFailed) and not isinstance(failure, LogonRefused)
    assert failure.attempts == 3 and isinstance(failure.__cause__, ConnectionRefusedError)
    assert "after 3 attempts" in str(failure) and "tls://gateway:8228" in str(failure)


def test_a_connect_timeout_that_says_nothing_is_reported_as_a_timeout_naming_the_endpoint() -> None:
    h = Harness(backoff=Backoff(base=1.0, attempts=0, seed=3))
    h.sup.start(h.now)
    h.sup.connection_failed(h.now, TimeoutError())  # asyncio's; trio's TooSlowError alike
    failure = h.sup.failure
    assert isinstance(failure, ConnectionFailed)
    assert isinstance(failure.last_error, TimeoutError)
    assert str(failure.last_error) == "tls://gateway:8228: timed out"
    h = Harness(backoff=Backoff(base=1.0, attempts=0, seed=3))
    h.sup.start(h.now)
    h.sup.connection_failed(h.now, TimeoutError("timed out"))  # words of its own: kept
    assert str(h.sup.failure.last_error) == "timed out"  # type: ignore[union-attr]


def test_a_lost_connection_is_reported_then_reconnected_with_a_reset_on_kalshi_nr() -> None:
    h = Harness(backoff=Backoff(base=1.0, attempts=3, rng=random.Random(5)))
    h.sup.start(h.now)
    h.connect()
    h.sup.connection_lost(h.now, "write failed: broken pipe")
    h.pump()
    lost, retry = h.events[-2:]
    assert lost == Disconnected("write failed: broken pipe")
    assert isinstance(retry, Reconnecting) and retry.attempt == 1 and 0 <= retry.delay <= 1.0
    with pytest.raises(TransportError, match="reconnect is under way"):
        h.sup.send(order(), h.now)
    h.advance_to(h.sup.connect_at or 0)
    h.connect()
    assert h.events[-1] == Reconnected(1, True) and h.sup.connections == 2


def test_kalshi_rt_continues_its_sequence_numbers_after_a_drop() -> None:
    h = Harness("KalshiRT")
    h.sup.start(h.now)
    h.connect()
    h.sup.send(order(), h.now)
    h.pump()
    h.sup.receive_data(b"", h.now)
    h.pump()
    h.advance_to(h.sup.connect_at or 0)
    h.connect()
    assert h.events[-1] == Reconnected(1, False)
    assert h.sup.session is not None and h.sup.session.next_sender_seq > 2


def test_subscription_follows_the_logon_on_the_wire() -> None:
    h = Harness("KalshiMD")
    h.sup.start(h.now)
    h.connect()
    h.sup.send(md_request(), h.now, resubscribe=True)
    h.pump()
    h.sup.receive_data(b"", h.now)
    h.pump()
    h.advance_to(h.sup.connect_at or 0)
    h.connect()
    assert isinstance(h.events[-1], Reconnected)
    assert len(h.sup.subscriptions) == 1
    assert h.sup.session is not None and h.sup.session.next_sender_seq == 3  # Logon, then 35=V


def test_a_resubscription_waits_for_the_rate_limiter_after_a_reconnect() -> None:
    limiter = RateLimiter("prediction", Tier("tiny", read=10.0, write=10.0))
    h = Harness("KalshiMD", limiter=limiter)
    h.sup.start(h.now)
    h.connect()
    h.sup.send(md_request(), h.now, resubscribe=True)
    h.pump()
    h.sup.receive_data(b"", h.now)  # the connection drops
    h.pump()
    h.advance_to(h.sup.connect_at or 0)
    limiter.drain("read", h.now)  # REST used the Read budget meanwhile
    h.connect()
    assert isinstance(h.events[-1], Reconnected)
    session = h.sup.session
    assert session is not None and session.next_sender_seq == 2  # the Logon only: 35=V waits
    due = h.sup.next_deadline()
    assert due is not None and h.now < due <= h.now + 1.0  # when the bucket holds its cost
    h.advance_to(due)
    assert session.next_sender_seq == 3  # then the subscription goes
    assert h.sup.next_deadline() != due


def test_reconnect_off_fails_after_reporting_the_loss() -> None:
    h = Harness(reconnect=False)
    h.sup.start(h.now)
    h.connect()
    h.sup.receive_data(b"", h.now)
    h.pump()
    assert isinstance(h.events[-1], Disconnected)
    assert isinstance(h.sup.failure, TransportError) and "reconnect is off" in str(h.sup.failure)


def test_close_logs_out_and_waits_for_the_answer() -> None:
    h = Harness()
    h.sup.start(h.now)
    h.connect()
    h.sup.close(h.now)
    assert h.sup.state is SupervisorState.LOGGING_OUT
    h.pump()
    assert h.sup.state is SupervisorState.CLOSED and h.sup.finished and h.sup.failure is None
    assert not h.of(Disconnected)


def test_close_while_waiting_to_reconnect_closes_at_once() -> None:
    h = Harness()
    h.sup.start(h.now)
    h.sup.close(h.now)
    assert h.sup.state is SupervisorState.CLOSED and h.sup.connect_at is None
    with pytest.raises(TransportError, match="closed"):
        h.sup.send(order(), h.now)


def test_a_logon_timeout_is_a_failed_attempt() -> None:
    h = Harness()
    h.sup.start(h.now)
    h.sup.connection_made(h.now)  # nobody answers
    deadline = h.sup.next_deadline()
    assert deadline is not None
    h.sup.handle_timer(deadline)
    h.pump()
    assert h.of(Reconnecting)[0].attempt == 2 and "no Logon" in h.of(Reconnecting)[0].reason


def test_misuse_is_refused() -> None:
    h = Harness()
    with pytest.raises(LocalProtocolError, match="not started"):
        h.sup.send(order(), h.now)
    with pytest.raises(LocalProtocolError):
        h.sup.connection_made(h.now)
    h.sup.start(h.now)
    with pytest.raises(LocalProtocolError):
        h.sup.start(h.now)
    acceptor = attrs.evolve(
        h.sup.config, role=Role.ACCEPTOR, signer=None, public_keys={"k": PUBLIC}
    )
    with pytest.raises(LocalProtocolError):
        Supervisor(acceptor)


def test_backoff_full_jitter_with_an_injected_rng() -> None:
    backoff = Backoff(base=1.0, cap=4.0, attempts=4, rng=random.Random(0))
    delays = list(backoff.delays())
    bounds = [1.0, 2.0, 4.0, 4.0]
    assert len(delays) == 4 and all(0 <= d <= b for d, b in zip(delays, bounds, strict=True))
    assert backoff.next_delay() is None


def test_maintenance_window() -> None:
    thursday_4am_et = 1_767_862_800.0  # 2026-01-08 09:00 UTC = 04:00 EST
    assert in_maintenance_window(thursday_4am_et)
    assert not in_maintenance_window(T0)


def test_already_exists_while_reconnecting_is_retried() -> None:
    # after a drop Kalshi may still hold our old connection: only a reconnect retries it
    h = Harness()
    h.sup.start(h.now)
    h.connect()
    h.refuse.append("already exists")
    h.sup.receive_data(b"", h.now)
    h.pump()
    h.advance_to(h.sup.connect_at or 0)
    h.connect()
    assert h.sup.failure is None and h.of(Reconnecting)[-1].attempt == 2
    h.advance_to(h.sup.connect_at or 0)
    h.connect()
    assert h.events[-1] == Reconnected(2, True) and h.logons == 3
