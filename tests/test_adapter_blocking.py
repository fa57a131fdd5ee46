"""End-to-end tests of the blocking adapter against the mock Kalshi gateway over TLS on loopback.

Every test talks to a real `MockGateway` (its own thread, a fresh self-signed certificate that
the client pins, fresh Ed25519 keys ``key-1`` and ``key-2``) through `FixClient` /
`MarginFixClient` and `BlockingSession`: logon with a signature the server verifies, orders and
their execution reports, heartbeats and TestRequests, the event API (iterator, `wait_for`,
callback) and market-data re-subscription after a reconnect. The connection's life (drops and
reconnects, logout, the transport policy, connection failures) is in
`test_adapter_blocking_connection`, with the helpers of this module.

Timeouts are short and the gateway's book is the fixture's: prediction bid 0.40 / ask 0.45,
margin bid 19.4 / ask 19.6, so a buy of one contract at the ask fills at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from gateway_fixtures import BOOK, GatewayHarness

from kalshi_fix_sansio import (
    Backoff,
    ConnectionFailed,
    Disconnected,
    Reconnected,
    Reconnecting,
    margin,
    prediction,
)
from kalshi_fix_sansio.adapters.blocking import BlockingSession, FixClient, MarginFixClient
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    CloseTransport,
    Event,
    LoggedOn,
    LogonRejected,
    RejectReceived,
    TestRequestSent,
    Timeout,
)
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

FEE = {"prediction": Decimal("0.02"), "margin": Decimal("0.01")}  # taker fee of one contract
REST = {"prediction": Decimal("0.42"), "margin": Decimal("19.5")}  # inside the spread


# --------------------------------------------------------------------------------------------
# helpers


def dialect(h: GatewayHarness) -> ModuleType:
    return prediction if h.product == "prediction" else margin


def make_client(h: GatewayHarness, key: str = "key-1", **kwargs: Any) -> FixClient:
    cls = FixClient if h.product == "prediction" else MarginFixClient
    client: FixClient = cls(h.credentials(key), **h.client_kwargs(**kwargs))
    return client


def best_ask(h: GatewayHarness) -> Decimal:
    return BOOK[h.product][1][0][0]


def best_bid(h: GatewayHarness) -> Decimal:
    return BOOK[h.product][0][0][0]


def buy(h: GatewayHarness, cl_ord_id: str, price: Decimal | None = None) -> Any:
    p = dialect(h)
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(1),
        ord_type=p.OrdType.LIMIT,
        price=best_ask(h) if price is None else price,
        symbol=h.symbol,
        time_in_force=p.TimeInForce.GTC,
    )


def subscribe(h: GatewayHarness) -> Any:
    p = dialect(h)
    return p.MarketDataRequest(
        subscription_request_type=p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
        related_sym=[p.MarketDataRequestRelatedSym(symbol=h.symbol)],
    )


def is_report(cl_ord_id: str, exec_type: str | None = None) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        if not isinstance(event, ApplicationMessage) or event.message.MSG_TYPE != "8":
            return False
        er: Any = event.message
        return er.cl_ord_id == cl_ord_id and (exec_type is None or er.exec_type == exec_type)

    return check


def is_snapshot(event: Event) -> bool:
    return isinstance(event, ApplicationMessage) and event.message.MSG_TYPE == "W"


class Recorder:
    """Every event of a session, and its execution reports counted once per ExecID.

    An ExecID seen again must carry PossDupFlag=Y (a resend): it counts once. A second copy
    without PossDup is a duplicate delivery and fails the test at once.
    """

    def __init__(self, session: BlockingSession | None = None) -> None:
        self.session = session
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

    def kinds(self, cl_ord_id: str) -> list[str]:
        return sorted(
            str(e.message.exec_type.value)  # type: ignore[attr-defined]
            for e in self.reports.values()
            if e.message.cl_ord_id == cl_ord_id  # type: ignore[attr-defined]
        )

    def filled(self, *cl_ord_ids: str) -> bool:
        return all(self.kinds(c) == ["0", "F"] for c in cl_ord_ids)

    def pump_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        assert self.session is not None
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout} s; events: {self.events}")
            event = self.session.next_event(min(remaining, 0.25))
            if event is not None:
                self(event)

    def pump_for(self, seconds: float) -> None:
        assert self.session is not None
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            event = self.session.next_event(remaining)
            if event is not None:
                self(event)

    def seen(self, cls: type[Event]) -> Callable[[], bool]:
        return lambda: any(isinstance(e, cls) for e in self.events)

    def assert_exactly_once(self, *cl_ord_ids: str) -> None:
        for cl_ord_id in cl_ord_ids:
            assert self.kinds(cl_ord_id) == ["0", "F"], (cl_ord_id, self.kinds(cl_ord_id))
        assert {e.message.cl_ord_id for e in self.reports.values()} <= set(cl_ord_ids)  # type: ignore[attr-defined]


def log_frames(path: Path, direction: str | None = None) -> list[dict[str, str]]:
    """The frames of a FIX message log file as tag -> value maps (the last value of a tag)."""
    frames = []
    for line in path.read_text(encoding="utf-8").splitlines():
        _when, way, _sid, text = line.split(" ", 3)
        if direction is not None and way != direction:
            continue
        fields = dict(f.split("=", 1) for f in text.split("|") if "=" in f)
        fields["<dir>"] = way
        fields["<time>"] = _when
        frames.append(fields)
    return frames


@attrs.define
class RecordingBackoff(Backoff):
    """A Backoff that remembers every delay it handed out."""

    taken: list[float] = attrs.field(factory=list, init=False)

    def next_delay(self) -> float | None:
        delay = super().next_delay()
        if delay is not None:
            self.taken.append(delay)
        return delay


def taken(session: BlockingSession) -> list[float]:
    """The delays the session's own backoff (a copy of the client's policy) handed out."""
    backoff = session.options.backoff
    assert isinstance(backoff, RecordingBackoff)
    return backoff.taken


def seeded_delays(n: int, *, base: float = 0.05, cap: float = 0.2, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(0.0, min(cap, base * 2.0**i)) for i in range(n)]


# --------------------------------------------------------------------------------------------
# logon, orders, execution reports


def test_logon_is_verified_and_a_buy_at_the_ask_fills(tls_gateway: GatewayHarness) -> None:
    h = tls_gateway
    p = dialect(h)
    with make_client(h).order_entry() as oe:
        logged_on = oe.wait_for(lambda e: isinstance(e, LoggedOn), 2)
        assert isinstance(logged_on, LoggedOn)
        assert logged_on.heartbeat_interval == 5
        assert logged_on.reset_seq_nums is True  # KalshiNR always resets
        assert h.gateway.connected() == ["key-1"]
        seq = oe.send(buy(h, "buy-1"))
        assert seq == 2
        new = oe.wait_for(is_report("buy-1", p.ExecType.NEW), 3)
        trade = oe.wait_for(is_report("buy-1", p.ExecType.TRADE), 3)
    assert isinstance(new, ApplicationMessage) and isinstance(trade, ApplicationMessage)
    assert new.seq_num < trade.seq_num
    er: Any = trade.message
    assert er.exec_type == p.ExecType.TRADE
    assert er.ord_status == p.OrdStatus.FILLED
    assert er.side == p.Side.BUY
    assert er.symbol == h.symbol
    assert er.last_px == best_ask(h)
    assert er.last_qty == Decimal(1)
    assert er.cum_qty == Decimal(1) and er.leaves_qty == Decimal(0)
    assert er.exec_id and er.exec_id != new.message.exec_id  # type: ignore[attr-defined]
    assert er.order_id == new.message.order_id  # type: ignore[attr-defined]
    assert len(er.misc_fees) == 1
    fee = er.misc_fees[0]
    assert fee.misc_fee_amt == FEE[h.product]
    assert fee.misc_fee_curr == "USD"
    assert fee.misc_fee_type == p.MiscFeeType("4")
    assert fee.misc_fee_basis == p.MiscFeeBasis(0)
    assert not any("LogonRejected" in line for line in h.gateway.log)


def test_a_malformed_order_group_id_gets_a_session_reject_over_the_wire(
    tls_gateway: GatewayHarness,
) -> None:
    # order-groups page: OrderGroupID not a valid UUID -> session Reject (35=3); the gateway
    # sends the exchange's Reject through the client's session, in sequence
    h = tls_gateway
    p = dialect(h)
    request = p.OrderGroupRequest(
        order_group_action=p.OrderGroupAction(2), order_group_id="not-a-uuid"
    )
    with make_client(h).order_entry() as oe:
        seq = oe.send(request)
        reject = oe.wait_for(lambda e: isinstance(e, RejectReceived), 3)
        assert isinstance(reject, RejectReceived)
        assert (reject.ref_seq_num, reject.ref_tag_id, reject.ref_msg_type, reject.reason) == (
            seq,
            20130,
            "UOG",
            6,
        )
        assert reject.text == "Incorrect data format for value"
        oe.send(buy(h, "after-reject", best_bid(h)))  # both sides are still in step
        assert oe.wait_for(is_report("after-reject", p.ExecType.NEW), 3)


def test_security_status_arrives_on_a_change_not_on_subscribe(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    p = prediction
    seen: list[str] = []
    with make_client(h).market_data() as md:
        md.send(p.SecurityStatusRequest(subscription_request_type="1", symbol=h.symbol))
        md.send(
            p.MarketDataRequest(
                subscription_request_type=p.SubscriptionRequestType.SNAPSHOT,
                related_sym=[p.MarketDataRequestRelatedSym(symbol=h.symbol)],
            )
        )
        # the snapshot answers the later request: a status sent on subscribe would come first
        while True:
            event = md.next_event(3)
            assert event is not None, "no snapshot"
            if isinstance(event, ApplicationMessage):
                seen.append(event.message.MSG_TYPE)
                if is_snapshot(event):
                    break
        assert "f" not in seen
        h.gateway.pause()
        status = md.wait_for(
            lambda e: isinstance(e, ApplicationMessage) and e.message.MSG_TYPE == "f", 3
        )
        assert isinstance(status, ApplicationMessage)
        message: Any = status.message
        assert (message.symbol, message.security_trading_status) == (
            h.symbol,
            p.SecurityTradingStatus.TRADING_HALT,
        )


def test_a_resting_buy_below_the_ask_does_not_fill(prediction_gateway: GatewayHarness) -> None:
    h = prediction_gateway
    p = dialect(h)
    with make_client(h).order_entry() as oe:
        oe.send(buy(h, "rest-1", best_bid(h)))
        new = oe.wait_for(is_report("rest-1"), 3)
        assert new.message.exec_type == p.ExecType.NEW  # type: ignore[attr-defined]
        assert new.message.leaves_qty == Decimal(1)  # type: ignore[attr-defined]
        with pytest.raises(TimeoutError):
            oe.wait_for(is_report("rest-1", p.ExecType.TRADE), 0.3)


def test_use_dollars_carries_subpenny_prices(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    p = dialect(h)
    log = tmp_path / "fix.log"
    with make_client(h, message_log_path=log).order_entry(use_dollars=True) as oe:
        oe.send(buy(h, "sub", Decimal("0.4525")))
        trade = oe.wait_for(is_report("sub", p.ExecType.TRADE), 3)
    er: Any = trade.message
    assert er.price == Decimal("0.4525") and er.last_px == best_ask(h)
    wire = [f for f in log_frames(log) if f.get("11") == "sub"]
    assert wire[0]["44"] == "0.4525"  # dollars on the wire, not cents
    assert log_frames(log, "OUT")[0]["21005"] == "Y"


def test_a_client_signing_with_the_wrong_key_is_refused(prediction_gateway: GatewayHarness) -> None:
    h = prediction_gateway
    wrong_signer, _public = new_ed25519_keys()  # a fresh key that is not key-1's
    backoff = Backoff(base=0.01, cap=0.02, attempts=1, seed=3)
    client = FixClient(Credentials("key-1", wrong_signer), **h.client_kwargs(backoff=backoff))
    rec = Recorder()
    session = client.order_entry(on_event=rec)
    with pytest.raises(ConnectionFailed) as info:
        session.open()
    assert info.value.attempts == 1  # a refused Logon is final: no silent retry
    assert "invalid signature" in str(info.value)
    assert [e.text for e in rec.of(LogonRejected)] == ["invalid signature"]
    assert not rec.of(LoggedOn)
    assert h.gateway.connected() == []
    assert sum("LogonRejected(text='invalid signature')" in line for line in h.gateway.log) == 1

    # an API key the gateway does not know at all
    stranger = FixClient(Credentials("key-9", wrong_signer), **h.client_kwargs(backoff=backoff))
    with pytest.raises(ConnectionFailed, match="unknown API key"):
        stranger.order_entry().open()

    # the right key still logs on
    with make_client(h).order_entry() as oe:
        assert isinstance(oe.next_event(2), LoggedOn)


# --------------------------------------------------------------------------------------------
# heartbeats and TestRequests


def test_test_request_is_answered_and_a_silent_gateway_forces_a_reconnect(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    """The adapter's one end-to-end timer test: the session's timers fire on the socket (a
    TestRequest after 0.1 HeartBtInt of silence, 0.5 s; a silent gateway given up after 0.25,
    1.25 s). When a Heartbeat or a TestRequest is due is the core's rule, tested on a fake
    clock (tests/scenarios: initiator_heartbeat_when_idle, initiator_test_request_*)."""
    h = prediction_gateway
    p = dialect(h)
    log = tmp_path / "fix.log"
    session = make_client(h, message_log_path=log).order_entry(
        test_request_factor=0.1, disconnect_factor=0.25
    )
    with session as oe:
        rec = Recorder(oe)
        # 1. an answered TestRequest: the gateway's Heartbeat echoes TestReqID
        rec.pump_until(rec.seen(TestRequestSent), timeout=2)
        test_req_id = rec.of(TestRequestSent)[0].test_req_id
        rec.pump_until(
            lambda: any(
                f.get("35") == "0" and f.get("112") == test_req_id for f in log_frames(log, "IN")
            ),
            timeout=1,
        )
        assert not rec.of(Timeout) and not rec.of(Reconnected)

        # 2. the gateway goes silent: TestRequest, no answer, timeout, reconnect
        h.gateway.faults.silent = True
        mark = len(rec.events)
        rec.pump_until(rec.seen(Reconnected), timeout=5)
        h.gateway.faults.silent = False
        later = [type(e) for e in rec.events[mark:]]
        assert TestRequestSent in later
        assert later.index(TestRequestSent) < later.index(Timeout) < later.index(Reconnected)
        assert [e.what for e in rec.of(Timeout)] == ["heartbeat"]
        closes = rec.of(CloseTransport)
        assert closes and "TestRequest unanswered" in closes[-1].reason
        assert h.gateway.connected() == ["key-1"]
        # the new connection trades
        oe.send(buy(h, "after"))
        oe.wait_for(is_report("after", p.ExecType.TRADE), 3)


# --------------------------------------------------------------------------------------------
# the event API


def test_a_gateway_gone_for_good_ends_in_connection_failed(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    # on the wall clock: maintenance_retry=None, or on a Thursday 3-5 AM ET the session would
    # be kept through Kalshi's maintenance window (tests/test_supervisor_maintenance.py)
    backoff = RecordingBackoff(
        base=0.01, cap=0.02, seed=11, maintenance_retry=None, reconnect_attempts=2
    )
    with make_client(h, backoff=backoff).order_entry() as oe:
        rec = Recorder(oe)
        oe.send(buy(h, "last"))
        rec.pump_until(lambda: rec.filled("last"))
        closer = threading.Thread(target=h.gateway.close)  # the client keeps reading meanwhile
        closer.start()
        with pytest.raises(ConnectionFailed) as info:
            rec.pump_until(lambda: False, timeout=5)
        closer.join(5)
        # a delay before each of the two attempts the policy allows, both refused
        assert info.value.attempts == 2
        assert isinstance(info.value.last_error, ConnectionRefusedError)
        assert taken(oe) == pytest.approx(seeded_delays(2, base=0.01, cap=0.02, seed=11))
        # what was queued before the failure is still there
        assert isinstance(rec.events[0], LoggedOn) and rec.filled("last")
        # the drop was reported at once, before the failure
        kinds = [type(e) for e in rec.events]
        assert kinds.index(CloseTransport) < kinds.index(Disconnected) < kinds.index(Reconnecting)
        assert oe.next_event(0.0) is None
        with pytest.raises(ConnectionFailed):
            oe.send(buy(h, "too-late"))
    # leaving the block after the failure does not raise


def test_wait_for_keeps_the_other_events_queued_in_order(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    p = dialect(h)
    with make_client(h).order_entry() as oe:
        oe.send(buy(h, "w-1"))
        oe.send(buy(h, "w-2"))
        got = oe.wait_for(is_report("w-2", p.ExecType.TRADE), 3)
        assert isinstance(got, ApplicationMessage)
        rest = []
        while (event := oe.next_event(0.2)) is not None:
            rest.append(event)
        assert isinstance(rest[0], LoggedOn)
        reports = [(e.message.cl_ord_id, e.message.exec_type) for e in rest[1:]]  # type: ignore[attr-defined]
        assert reports == [
            ("w-1", p.ExecType.NEW),
            ("w-1", p.ExecType.TRADE),
            ("w-2", p.ExecType.NEW),
        ]
        seqs = [e.seq_num for e in rest[1:]]  # type: ignore[attr-defined]
        assert seqs == sorted(seqs) and seqs[-1] < got.seq_num
        # a wait that times out loses nothing either
        oe.send(buy(h, "w-3"))
        with pytest.raises(TimeoutError):
            oe.wait_for(lambda e: False, 0.3)
        queued = [oe.next_event(0.5), oe.next_event(0.5)]
        assert [e.message.exec_type for e in queued] == [  # type: ignore[union-attr]
            p.ExecType.NEW,
            p.ExecType.TRADE,
        ]
        # send= sends first, then waits
        trade = oe.wait_for(is_report("w-4", p.ExecType.TRADE), 3, send=buy(h, "w-4"))
        assert trade.message.last_px == best_ask(h)  # type: ignore[attr-defined]
        assert oe.next_event(0.5).message.exec_type == p.ExecType.NEW  # type: ignore[union-attr]


def test_on_event_callback_receives_every_event(prediction_gateway: GatewayHarness) -> None:
    h = prediction_gateway
    p = dialect(h)
    rec = Recorder()
    session = make_client(h).order_entry(on_event=rec)
    with session as oe:
        oe.send(buy(h, "cb-1"))
        oe.run(until=lambda: rec.filled("cb-1"))
        # nothing is queued for the iterator in callback mode
        assert oe.next_event(0.1) is None
        assert list(oe.events(timeout=0.1)) == []
    assert isinstance(rec.events[0], LoggedOn)
    types = [
        e.message.exec_type
        for e in rec.events
        if isinstance(e, ApplicationMessage)  # type: ignore[attr-defined]
    ]
    assert types == [p.ExecType.NEW, p.ExecType.TRADE]


# --------------------------------------------------------------------------------------------
# market data


def test_market_data_snapshot_and_resubscription_after_a_reconnect(
    tls_gateway: GatewayHarness,
) -> None:
    h = tls_gateway
    p = dialect(h)
    request = subscribe(h)
    hooks: list[BlockingSession] = []

    def resubscribe(session: BlockingSession) -> None:
        hooks.append(session)
        h.gateway.faults.drop_after = None
        session.send(request)

    with make_client(h).market_data(on_reconnect=resubscribe) as md:
        rec = Recorder(md)
        h.gateway.faults.drop_after = 1  # close right after the first snapshot
        md.send(request)
        rec.pump_until(rec.seen(Reconnected), timeout=5)
        rec.pump_until(lambda: sum(is_snapshot(e) for e in rec.events) == 2, timeout=3)
    assert hooks == [md]
    kinds = [type(e).__name__ for e in rec.events if not isinstance(e, LogonRejected)]
    first_snapshot = next(i for i, e in enumerate(rec.events) if is_snapshot(e))
    reconnect = next(i for i, e in enumerate(rec.events) if isinstance(e, Reconnected))
    last_snapshot = max(i for i, e in enumerate(rec.events) if is_snapshot(e))
    assert first_snapshot < reconnect < last_snapshot, kinds
    assert rec.of(Reconnected)[0].reset_seq_nums is True  # KalshiMD always resets
    for event in (rec.events[first_snapshot], rec.events[last_snapshot]):
        snap: Any = event.message  # type: ignore[attr-defined]
        assert snap.symbol == h.symbol
        bids = [e.md_entry_px for e in snap.md_entries if e.md_entry_type == p.MDEntryType.BID]
        asks = [e.md_entry_px for e in snap.md_entries if e.md_entry_type == p.MDEntryType.OFFER]
        assert bids == [best_bid(h)] and asks == [best_ask(h)]
