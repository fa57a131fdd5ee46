"""The sans-IO `Driver` and its drop-copy catch-up, against the mock gateway's exchange in memory.

No socket, no thread, no sleep: a `Driver` (initiator, fake clock) talks to an acceptor
`Session` wired to the mock gateway's pure `Exchange` the way ``gateway/server.py`` wires each
connection (LoggedOn -> ``Exchange.connect``, application messages -> ``Exchange.handle``, the
answers routed to the connection they name, ``Exchange.disconnect`` when it drops). A second
API key trades on the exchange directly while the driver's connection is down; on KalshiNR
what the exchange addressed to the dead connection is lost, as at Kalshi, and only a drop-copy
replay (35=U1 -> 35=8 ... -> 35=U2 / 35=U3) brings it back.

The ExecIDs and the cursor are in `test_driver_cursor`; the event queue's policy and a failing
tracker, over this module's harness, in `test_driver_queue`; the loop's rules in
`test_driver_loop`; the adapters' waits in `test_driver_waits`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio import Backoff, TradingStateChanged, margin, prediction
from kalshi_fix_sansio.client.driver import (
    Driver,
)
from kalshi_fix_sansio.client.supervisor import (
    Disconnected,
    Reconnected,
    Reconnecting,
    SupervisorState,
)
from kalshi_fix_sansio.codec.errors import LocalProtocolError, RemoteProtocolError
from kalshi_fix_sansio.codec.framing import Frame, Framer
from kalshi_fix_sansio.session.config import KALSHI_COMP_ID, Role, SessionConfig
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    BusinessRejectReceived,
    CloseTransport,
    Event,
    LoggedOn,
    RateLimited,
    RejectReceived,
)
from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.simulator.gateway import Exchange, Outbound
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.trading.catchup import (
    EVENT_RESEND_REJECT_REASONS,
    CatchUp,
    CatchUpComplete,
    CatchUpFailed,
    CatchUpStarted,
    ExecCursor,
    catches_up,
)
from kalshi_fix_sansio.trading.tracker import OrderStatus, TrackedOrder

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC, a Thursday at 19:00 ET: outside maintenance
SIGNER, PUBLIC = new_ed25519_keys()
DIALECT: dict[str, Any] = {"prediction": prediction, "margin": margin}
SYMBOL = {"prediction": "HIGHNY-23DEC31", "margin": "BTC-PERP"}
PRICE = {"prediction": Decimal("0.40"), "margin": Decimal("19.4")}
THREE_HOURS = 3 * 3600.0


# -- the harness -----------------------------------------------------------------------------------


class Harness:
    """A `Driver` for API key ``key-1``, a fake clock, and the mock exchange behind an acceptor
    `Session` per connection; ``key-2`` trades on the exchange directly."""

    def __init__(
        self,
        product: str = "prediction",
        session_type: str = "KalshiNR",
        *,
        exchange: Exchange | None = None,
        allowlist: Iterable[str] | None = None,
        now: float = T0,
        config_options: dict[str, Any] | None = None,
        **driver_options: Any,
    ) -> None:
        self.now = now
        self.product = product
        self.d = DIALECT[product]
        self.symbol = SYMBOL[product]
        self.price = PRICE[product]
        if exchange is None:
            exchange = Exchange(product, replay_allowlist=allowlist)
            exchange.seed_market(self.symbol, now=now)
        self.exchange = exchange
        self.session_type = session_type
        config = SessionConfig(
            sender_comp_id="key-1",
            product=product,
            session_type=session_type,
            signer=SIGNER,
            **{"heartbeat_interval": 5, **(config_options or {})},
        )
        driver_options.setdefault("backoff", Backoff(base=1.0, cap=4.0, attempts=5, seed=1))
        self.driver = Driver(config, peer="memory://gateway", **driver_options)
        self.gateway: Session | None = None
        self.sid = ""
        self.logged_on = False
        self.connections = 0
        self.sent: list[bytes] = []  # every frame the driver wrote, in order
        self._framer = Framer()
        self.withhold: Callable[[bytes], bool] | None = None
        """Frames to the driver from the first one this is True for are lost (a cut line)."""
        self._other_n = 0

    # the connection ---------------------------------------------------------------------------

    def start(self) -> None:
        self._start()
        self.connect()

    def connect(self) -> None:
        at = self.driver.supervisor.connect_at
        assert at is not None and at <= self.now, (at, self.now)
        self.connections += 1
        self.sid = f"{self.session_type}#{self.connections}"
        self.logged_on = False
        self.gateway = Session(
            SessionConfig(
                sender_comp_id=KALSHI_COMP_ID,
                product=self.product,
                session_type=self.session_type,
                role=Role.ACCEPTOR,
                public_keys={"key-1": PUBLIC},
                heartbeat_interval=5,
            )
        )
        self.gateway.start(self.now)
        self._connected()
        self.pump()

    def drop(self, reason: str = "test") -> None:
        """The connection breaks: the driver is told, the exchange forgets the session."""
        self._lost(reason)
        self._gone()

    def _gone(self) -> None:
        if self.gateway is not None and self.logged_on:
            self.exchange.disconnect(self.sid, self.now)  # what it sends is for other sessions
        self.gateway = None
        self.logged_on = False

    def reconnect(self) -> None:
        """Wait for the backoff delay on the fake clock, then connect."""
        at = self.driver.supervisor.connect_at
        assert at is not None, self.driver.supervisor.state
        self.advance_to(at)
        self.connect()

    def pump(self) -> None:
        """Move bytes both ways until both sides are quiet."""
        for _ in range(100):
            gateway = self.gateway
            data = self._out()
            if data:
                self._record(data)
            if gateway is None:
                return
            if data:
                gateway.receive_data(data, self.now)
            failed = False
            try:
                for event in gateway.events():
                    if isinstance(event, LoggedOn):
                        self.logged_on = True
                        self.route(
                            self.exchange.connect(
                                self.sid, event.sender_comp_id, self.session_type, now=self.now
                            )
                        )
                    elif isinstance(event, ApplicationMessage):
                        self.route(self.exchange.handle(self.sid, event.message, self.now))
                    elif isinstance(event, CloseTransport):
                        self._gone()
            except RemoteProtocolError:
                # the client's fault as the acceptor judged it (a SendingTime read too late, for
                # one): what it queued (its Reject, its Logout) goes out, then the connection
                # closes, as `AcceptorDriver` ends it
                failed = True
            reply = gateway.data_to_send()
            if reply and self.withhold is not None:
                reply = self._cut(reply)
            if reply and self.driver.supervisor.wants_transport:
                self._in(reply)
            if failed:
                self._gone()
            if self.gateway is None and self.driver.supervisor.wants_transport:
                self._in(b"")
            if not self.driver.supervisor.wants_transport:
                self._gone()
            if not data and not reply:
                return
        raise AssertionError("the two sides never went quiet")

    # how the driver is told (the role's methods; `Stepped` of test_driver_loop: its steps)

    def _start(self) -> None:
        self.driver.start(self.now)

    def _connected(self) -> None:
        self.driver.connection_made(self.now)

    def _lost(self, reason: str) -> None:
        self.driver.connection_lost(self.now, reason)

    def _timer(self) -> None:
        self.driver.handle_timer(self.now)

    def _out(self) -> bytes:
        return self.driver.data_to_send()

    def _in(self, data: bytes) -> None:
        self.driver.receive_data(data, self.now)

    def _record(self, data: bytes) -> None:
        self._framer.feed(data)
        self.sent.extend(item.data for item in self._framer if isinstance(item, Frame))

    def _cut(self, data: bytes) -> bytes:
        framer, kept = Framer(), []
        framer.feed(data)
        for item in framer:
            assert isinstance(item, Frame)
            if self.withhold is not None and self.withhold(item.data):
                self.withhold = lambda frame: True  # the line is cut: nothing more gets through
                break
            kept.append(item.data)
        return b"".join(kept)

    def route(self, outbound: Sequence[Outbound]) -> None:
        """Send what the exchange addressed to the driver's connection; the rest is lost."""
        for out in outbound:
            if out.session_id == self.sid and self.gateway is not None and self.logged_on:
                self.gateway.send(out.message, self.now)

    def advance_to(self, when: float) -> None:
        self.now = max(self.now, when)
        if self.gateway is not None:
            self.gateway.handle_timer(self.now)
        self._timer()
        self.pump()

    def advance(self, seconds: float) -> None:
        self.advance_to(self.now + seconds)

    # trading ----------------------------------------------------------------------------------

    def order(self, cl_ord_id: str, side: str, qty: int, price: Decimal | None = None) -> Any:
        d = self.d
        return d.NewOrderSingle(
            cl_ord_id=cl_ord_id,
            side=d.Side.BUY if side == "buy" else d.Side.SELL,
            order_qty=Decimal(qty),
            ord_type=d.OrdType.LIMIT,
            price=price or self.price,
            symbol=self.symbol,
            time_in_force=d.TimeInForce.GTC,
        )

    def place(self, cl_ord_id: str, side: str, qty: int, *, deliver: bool = True) -> None:
        """What an adapter's ``place()`` does: send on the driver (which tells the tracker)."""
        message = self.order(cl_ord_id, side, qty)
        self.driver.send(message, self.now)
        if deliver:
            self.pump()

    def other_trades(self, side: str, quantities: Iterable[int]) -> None:
        """``key-2`` sends one crossing order per quantity."""
        if self._other_n == 0:
            self.exchange.connect("other", "key-2", "KalshiNR", now=self.now)
        for qty in quantities:
            self._other_n += 1
            self.route(
                self.exchange.handle(
                    "other", self.order(f"k2-{self._other_n}", side, qty), self.now
                )
            )
            self.pump()

    # reading ----------------------------------------------------------------------------------

    def read(self) -> list[Event]:
        """Every unread event, oldest first."""
        out = []
        while (event := self.driver.next_event()) is not None:
            out.append(event)
        return out

    def tracked(self, cl_ord_id: str) -> TrackedOrder:
        """The tracker's order (it must know it)."""
        order = self.driver.tracker.order(cl_ord_id)
        assert order is not None, cl_ord_id
        return order

    def requests(self) -> list[bytes]:
        """The EventResendRequests (35=U1) the driver wrote."""
        return [frame for frame in self.sent if b"\x0135=U1\x01" in frame]


def of(events: Iterable[Event], cls: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def msg(event: Event | None) -> Any:
    """The typed message of an `ApplicationMessage` (its fields, untyped for brevity)."""
    assert isinstance(event, ApplicationMessage), event
    return event.message


def reports(events: Iterable[Event]) -> list[ApplicationMessage]:
    return [e for e in events if isinstance(e, ApplicationMessage) and e.message.MSG_TYPE == "8"]


def exec_ids(events: Iterable[Event]) -> list[str]:
    return [msg(e).exec_id for e in reports(events)]


def catch_up_events(events: Iterable[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, (CatchUpStarted, CatchUpComplete, CatchUpFailed))]


def begin_of(frame: bytes) -> str:
    """BeginExecID(21001) of an EventResendRequest frame."""
    return frame.split(b"\x0121001=", 1)[1].split(b"\x01", 1)[0].decode()


def rested(product: str = "prediction", **options: Any) -> tuple[Harness, str]:
    """Logged on, a buy of 10 resting, its acknowledgement read: (harness, its ExecID)."""
    h = Harness(product, **options)
    h.start()
    h.place("o-1", "buy", 10)
    (ack,) = exec_ids(h.read())
    return h, ack


# -- 2. which sessions catch up --------------------------------------------------------------------


def config(session_type: str, product: str = "prediction", **options: Any) -> SessionConfig:
    return SessionConfig(
        sender_comp_id="key-1",
        product=product,
        session_type=session_type,
        signer=SIGNER,
        **options,
    )


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_kalshi_nr_catches_up_listeners_included(product: str) -> None:
    assert catches_up(config("KalshiNR", product))
    listener = config("KalshiNR", product, listener_session=True, skip_pending_exec_reports=True)
    assert catches_up(listener)


@pytest.mark.parametrize(
    ("product", "session_type"),
    [
        ("prediction", "KalshiRT"),
        ("prediction", "KalshiDC"),
        ("prediction", "KalshiMD"),
        ("prediction", "KalshiPT"),
        ("prediction", "KalshiRFQ"),
        ("margin", "KalshiRT"),
        ("margin", "KalshiDC"),
        ("margin", "KalshiMD"),
    ],
)
def test_other_session_types_do_not_catch_up(product: str, session_type: str) -> None:
    assert not catches_up(config(session_type, product))
    assert Driver(config(session_type, product)).catch_up is None


def test_catch_up_true_on_kalshi_rt_is_refused_by_name() -> None:
    with pytest.raises(LocalProtocolError) as caught:
        Driver(config("KalshiRT"), catch_up=True)
    text = str(caught.value)
    assert "catch_up=True" in text and "KalshiRT (prediction)" in text
    assert "ResendRequest" in text and "KalshiNR" in text
    assert Driver(config("KalshiRT"), catch_up=False).catch_up is None


def test_an_acceptor_config_is_refused() -> None:
    acceptor = SessionConfig(
        sender_comp_id=KALSHI_COMP_ID, role=Role.ACCEPTOR, public_keys={"key-1": PUBLIC}
    )
    with pytest.raises(LocalProtocolError):
        Driver(acceptor)


def test_a_pump_waits_for_its_loop_the_logout_timeout_and_a_second_after_close() -> None:
    assert Driver(config("KalshiNR", logout_timeout=2.5)).close_grace == 3.5
    assert Driver(config("KalshiNR", logout_timeout=7.0)).close_grace == 8.0


def test_only_market_data_sessions_keep_books() -> None:
    assert Driver(config("KalshiMD")).books is not None
    assert Driver(config("KalshiNR")).books is None


# -- 3. fills while disconnected -------------------------------------------------------------------


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_fills_missed_while_disconnected_are_recovered_once(product: str) -> None:
    h, ack = rested(product)
    assert h.driver.catch_up is not None and h.driver.catch_up.cursor.last == {0: ack}
    h.drop("write failed: broken pipe")
    assert [type(e) for e in h.read()] == [CloseTransport, Disconnected, Reconnecting]  # no round
    h.other_trades("sell", [2, 2, 3])  # lost: key-1 has no connection
    assert h.tracked("o-1").cum_qty == 0
    h.reconnect()

    (request,) = h.requests()
    assert begin_of(request) == ack and b"\x0121002=" not in request  # up to the latest
    events = h.read()
    assert [type(e) for e in events[:3]] == [LoggedOn, Reconnected, CatchUpStarted]
    started, complete = catch_up_events(events)
    assert started == CatchUpStarted({0: ack}, "reconnected after a lost connection")
    assert complete == CatchUpComplete(3, 4, {0: ack}, "reconnected after a lost connection")
    assert events[-1] == complete
    replayed = reports(events)
    assert [e.poss_dup for e in replayed] == [True, False, False, False]  # the ack was known
    assert msg(replayed[0]).exec_id == ack
    assert {msg(e).exec_type for e in replayed[1:]} == {h.d.ExecType.TRADE}

    (view,) = h.exchange.open_orders("key-1")
    order = h.driver.tracker.order("o-1")
    assert order is not None and order.status is OrderStatus.PARTIALLY_FILLED
    assert (
        (order.order_qty, order.cum_qty, order.leaves_qty)
        == (
            view.order_qty,
            view.cum_qty,
            view.leaves_qty,
        )
        == (Decimal(10), Decimal(7), Decimal(3))
    )
    assert [f.qty for f in order.fills] == [2, 2, 3]
    position = h.driver.tracker.position(h.symbol)
    assert position.net == 7 == h.exchange.position(h.symbol, "key-1")
    assert h.driver.catch_up.cursor.last == {0: msg(replayed[-1]).exec_id}

    # the next replay starts at the last fill: it is repeated, marked, and not counted again
    h.drop()
    h.reconnect()
    assert begin_of(h.requests()[-1]) == msg(replayed[-1]).exec_id
    events = h.read()
    assert [e.poss_dup for e in reports(events)] == [True]
    assert catch_up_events(events)[-1] == CatchUpComplete(
        0, 1, {0: msg(replayed[-1]).exec_id}, "reconnected after a lost connection"
    )
    assert h.tracked("o-1").cum_qty == 7
    assert h.driver.tracker.position(h.symbol).net == 7 and len(h.driver.tracker.fills) == 3
    assert h.driver.catch_up.rounds == 2


def test_fills_made_while_connected_need_no_catch_up_at_first_logon() -> None:
    h, _ = rested()
    h.other_trades("sell", [4])
    events = h.read()
    assert not catch_up_events(events) and not h.requests()
    assert h.tracked("o-1").cum_qty == 4
    assert [e.poss_dup for e in reports(events)] == [False]


def test_a_drop_mid_replay_fails_the_round_and_the_next_asks_from_the_same_place() -> None:
    h, ack = rested()
    h.drop()
    h.other_trades("sell", [2, 2, 3])
    seen: list[bytes] = []

    def second_fill(frame: bytes) -> bool:  # the line is cut before the second fill
        if b"\x01150=F\x01" in frame:
            seen.append(frame)
        return len(seen) == 2

    h.withhold = second_fill
    h.reconnect()
    assert begin_of(h.requests()[-1]) == ack
    events = h.read()
    assert [type(e) for e in catch_up_events(events)] == [CatchUpStarted]  # still waiting
    first_fill = exec_ids(events)[-1]
    assert h.driver.catch_up is not None and h.driver.catch_up.active
    assert h.driver.catch_up.cursor.last == {0: first_fill}  # the cursor moved on
    h.drop("read timed out")
    events = h.read()
    assert [type(e) for e in events] == [
        CloseTransport,
        Disconnected,
        CatchUpFailed,
        Reconnecting,
        TradingStateChanged,  # o-1's market blocked until a round says what it did
    ]
    assert events[-1].unknown_markets == (h.symbol,)
    failed = events[2]
    assert isinstance(failed, CatchUpFailed)
    assert failed.recovered == 1 and failed.code is None
    assert "connection was lost before Kalshi finished the replay (exchange index 0)" in (
        failed.reason
    )
    assert not h.driver.catch_up.active

    h.withhold = None
    h.reconnect()
    assert len(h.requests()) == 2 and begin_of(h.requests()[-1]) == ack  # not the moved cursor
    events = h.read()
    assert catch_up_events(events) == [
        CatchUpStarted({0: ack}, "reconnected after a lost connection"),
        CatchUpComplete(2, 4, {0: ack}, "reconnected after a lost connection"),
    ]
    assert [e.poss_dup for e in reports(events)] == [True, True, False, False]
    assert h.tracked("o-1").cum_qty == 7
    assert h.driver.tracker.position(h.symbol).net == 7

    h.drop()  # a finished round carries nothing: the cursor decides again
    h.reconnect()
    assert begin_of(h.requests()[-1]) == exec_ids(events)[-1]


# -- 4. EventResendReject --------------------------------------------------------------------------


def test_an_account_not_allowlisted_fails_with_code_5() -> None:
    h, ack = rested(allowlist=["key-2"])
    h.drop()
    h.other_trades("sell", [3])
    h.reconnect()
    events = h.read()
    started, failed = catch_up_events(events)
    assert isinstance(started, CatchUpStarted) and isinstance(failed, CatchUpFailed)
    assert (failed.code, failed.exchange_index, failed.begin_exec_id, failed.recovered) == (
        5,
        0,
        ack,
        0,
    )
    assert failed.reason == (
        f"Kalshi refused the replay from {ack} (exchange index 0): EventResendReject 5: "
        "the account is not allowlisted for historical replay (ask institutional@kalshi.com)"
    )
    assert not reports(events) and h.tracked("o-1").cum_qty == 0
    assert (
        h.driver.supervisor.state is SupervisorState.ACTIVE
    )  # trading goes on without replay access


def test_a_cursor_outside_the_three_hour_window_fails_with_code_3() -> None:
    h, ack = rested()
    h.drop()
    h.other_trades("sell", [3])
    h.advance(THREE_HOURS + 60)
    h.connect()
    failed = catch_up_events(h.read())[-1]
    assert isinstance(failed, CatchUpFailed) and failed.code == 3
    assert failed.begin_exec_id == ack and failed.exchange_index == 0
    assert "3-hour lookback" in failed.reason and "EventResendReject 3" in failed.reason


# -- 5. nothing to resume from ---------------------------------------------------------------------


def test_no_report_and_no_order_means_no_request_but_a_reconnect_says_so() -> None:
    """Reports of orders the session never sent (a market maker's quotes, executed on another
    session of the account, are reported here) may have come while it was down: nothing to
    resume from, so a `CatchUpFailed` says the state cannot be proven (found by the
    simulation, seed 14)."""
    h = Harness()
    h.start()
    h.drop()
    h.reconnect()
    [failed] = catch_up_events(h.read())
    assert isinstance(failed, CatchUpFailed) and "no ExecutionReport was seen yet" in failed.reason
    assert not h.requests()
    assert h.driver.catch_up is not None and h.driver.catch_up.rounds == 0


def test_an_order_never_acknowledged_fails_for_want_of_an_exec_id() -> None:
    h = Harness()
    h.start()
    h.place("o-1", "buy", 10, deliver=False)
    h.drop()  # the order never reached the gateway
    h.reconnect()
    (failed,) = catch_up_events(h.read())
    assert isinstance(failed, CatchUpFailed) and failed.code is None
    assert "no ExecID to resume from" in failed.reason
    assert failed.reason.startswith("reconnected after a lost connection")
    assert not h.requests()


# -- 6. a restored cursor --------------------------------------------------------------------------


def test_a_saved_cursor_catches_up_at_the_first_logon(tmp_path: Path) -> None:
    first, ack = rested()
    assert first.driver.catch_up is not None
    first.driver.catch_up.cursor.save(tmp_path / "cursor.json")
    first.drop("the process exited")
    first.other_trades("sell", [5, 5])  # fills the order while no process runs

    h = Harness(exchange=first.exchange, cursor=ExecCursor.load(tmp_path / "cursor.json"))
    h.start()
    (request,) = h.requests()
    assert begin_of(request) == ack
    events = h.read()
    assert [type(e) for e in events[:2]] == [LoggedOn, CatchUpStarted]
    assert catch_up_events(events) == [
        CatchUpStarted({0: ack}, "started from a saved cursor"),
        CatchUpComplete(3, 3, {0: ack}, "started from a saved cursor"),
    ]
    order = h.driver.tracker.order("o-1")  # known from the replay alone
    assert order is not None and order.status is OrderStatus.FILLED and order.cum_qty == 10
    assert not h.exchange.open_orders("key-1")

    h.drop()  # later reconnects catch up from the cursor as usual
    h.reconnect()
    assert catch_up_events(h.read())[0] == CatchUpStarted(
        {0: exec_ids(events)[-1]}, "reconnected after a lost connection"
    )


# -- 7. catch-up off ---------------------------------------------------------------------------------


def test_catch_up_false_requests_nothing() -> None:
    h, ack = rested(catch_up=False)
    h.drop()
    h.other_trades("sell", [3])
    h.reconnect()
    assert not catch_up_events(h.read()) and not h.requests()
    assert h.tracked("o-1").cum_qty == 0  # missed
    assert h.driver.catch_up is not None and not h.driver.catch_up.enabled
    assert h.driver.catch_up.cursor.last == {0: ack}  # still followed, e.g. to save it

    restored = Harness(catch_up=False, cursor=ExecCursor({0: ack}))
    restored.start()
    assert not catch_up_events(restored.read()) and not restored.requests()


# -- the CatchUp state machine on its own ------------------------------------------------------------


def answer(message: Any, seq: int = 9) -> ApplicationMessage:
    return ApplicationMessage(message, seq, False, b"")


def test_a_transient_refusal_is_asked_again_from_the_same_begin_exec_id() -> None:
    p = prediction
    catch_up = CatchUp(ExecCursor({0: "5;1"}))
    begin, problem = catch_up.plan(reconnect=False)
    assert begin == [(0, "5;1")] and problem is None
    catch_up.started({2: (0, "5;1")})
    assert (
        catch_up.observe(answer(p.EventResendComplete(ref_seq_num=7, resend_event_count=0))) is None
    )
    assert catch_up.active  # not an answer to this round
    reject = p.EventResendReject(
        ref_seq_num=2, event_resend_reject_reason=p.EventResendRejectReason(1)
    )
    failed = catch_up.observe(answer(reject))
    assert isinstance(failed, CatchUpFailed) and failed.code == 1
    assert EVENT_RESEND_REJECT_REASONS[1] in failed.reason and not catch_up.active
    catch_up.cursor.observe("8;1")  # a live report moved the cursor meanwhile
    assert catch_up.plan(reconnect=True) == ([(0, "5;1")], None)
    catch_up.started({3: (0, "5;1")})
    done = catch_up.observe(answer(p.EventResendComplete(ref_seq_num=3, resend_event_count=4)))
    assert done == CatchUpComplete(0, 4, {0: "5;1"}, "reconnected after a lost connection")
    assert catch_up.plan(reconnect=True) == ([(0, "8;1")], None)  # carried no more


def test_an_unknown_reject_reason_is_still_a_failure() -> None:
    catch_up = CatchUp(ExecCursor({0: "5;1"}))
    catch_up.plan(reconnect=False)
    catch_up.started({2: (0, "5;1")})
    reject = prediction.EventResendReject(ref_seq_num=2, event_resend_reject_reason=99)
    failed = catch_up.observe(answer(reject))
    assert isinstance(failed, CatchUpFailed) and failed.code == 99
    assert "a reason this library does not know" in failed.reason


# -- a replay request refused by a Reject or a BusinessMessageReject ------------------------------


def _refusal(kind: type[Event], ref_seq_num: int, text: str) -> Event:
    fields: dict[str, Any] = {
        "ref_seq_num": ref_seq_num,
        "ref_msg_type": "U1",
        "reason": 6,
        "text": text,
        "message": prediction.Heartbeat(),
    }
    if kind is RejectReceived:
        fields["ref_tag_id"] = None
    else:
        fields["business_reject_ref_id"] = None
    return kind(**fields)


@pytest.mark.parametrize("kind", [BusinessRejectReceived, RejectReceived])
def test_a_refused_replay_request_ends_the_round_with_the_reason(kind: type[Event]) -> None:
    catch_up = CatchUp(ExecCursor({0: "5;1", 2: "9;4;2"}))
    begin, problem = catch_up.plan(reconnect=True)
    assert problem is None and begin == [(0, "5;1"), (2, "9;4;2")]
    catch_up.started({7: (0, "5;1"), 8: (2, "9;4;2")})
    assert catch_up.observe(_refusal(kind, 99, "not ours")) is None  # another message's
    assert catch_up.observe(_refusal(kind, 7, "restricted key")) is None  # index 2 still due
    done = catch_up.observe(_refusal(kind, 8, "restricted key"))
    assert isinstance(done, CatchUpFailed) and not catch_up.active
    assert "restricted key" in done.reason and "5;1" in done.reason
    assert (done.exchange_index, done.begin_exec_id, done.code) == (0, "5;1", None)


def test_a_rate_limited_replay_request_is_asked_again_from_the_same_place() -> None:
    catch_up = CatchUp(ExecCursor({0: "5;1"}))
    catch_up.plan(reconnect=True)
    catch_up.started({7: (0, "5;1")})
    failed = catch_up.observe(_refusal(RateLimited, 7, "too many requests"))
    assert isinstance(failed, CatchUpFailed)
    catch_up.cursor.observe("8;1")  # live reports moved the cursor meanwhile
    assert catch_up.plan(reconnect=True)[0] == [(0, "5;1")]


def test_a_replay_kalshi_never_answers_fails_at_its_deadline_and_is_asked_again() -> None:
    catch_up = CatchUp(ExecCursor({0: "5;1"}), timeout=30.0)
    catch_up.plan(reconnect=True)
    catch_up.started({7: (0, "5;1")}, now=100.0)
    assert catch_up.deadline == 130.0
    assert catch_up.timed_out(129.9) is None and catch_up.active
    failed = catch_up.timed_out(130.0)
    assert isinstance(failed, CatchUpFailed) and "within 30 s" in failed.reason
    assert not catch_up.active and catch_up.deadline is None
    assert catch_up.plan(reconnect=True)[0] == [(0, "5;1")]
    with pytest.raises(LocalProtocolError, match="timeout"):
        CatchUp(timeout=0)


def test_the_driver_names_the_catch_up_deadline_and_fails_the_round_there() -> None:
    h, _ = rested()
    h.drop()
    h.withhold = lambda frame: b"\x0135=U" in frame or b"\x0135=8\x01" in frame  # no answer
    h.reconnect()
    events = h.read()
    assert [type(e) for e in catch_up_events(events)] == [CatchUpStarted]
    catch_up = h.driver.catch_up
    assert catch_up is not None and catch_up.deadline is not None
    deadline = h.driver.next_deadline()
    assert deadline is not None and deadline <= catch_up.deadline
    h.advance_to(catch_up.deadline)
    (failed,) = catch_up_events(h.read())
    assert (
        isinstance(failed, CatchUpFailed)
        and "did not finish the replay within 60 s" in failed.reason
    )
    assert catch_up.deadline is None and not catch_up.active
