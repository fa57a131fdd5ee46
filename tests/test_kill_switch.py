"""The kill switch: every open order off the book, by the fastest documented means, and a report.

Sans-IO first (the `Driver` against the mock exchange in memory, a fake clock: see
``test_driver.Harness``): KalshiNR sends one OrderMassCancelRequest (35=q), KalshiRT triggers
order groups and sends single OrderCancelRequests (35=F); orders the 35=q did not reach get
their own 35=F after ``fallback_after``; with the connection down the kill waits for the
reconnect; a halted driver refuses new orders until ``rearm()``; a timed-out report says what is
open and why. Then end to end per adapter against the mock gateway over TLS, the order-entry
connection down included, and the client's ``kill_all``.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run
from test_driver import Harness

from kalshi_fix_sansio import Backoff, Disconnected, TradingHalted
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.client.supervisor import SupervisorState
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.killswitch import KillReport, KillSwitch
from kalshi_fix_sansio.trading.risk import RiskLimitExceeded, RiskLimits
from kalshi_fix_sansio.trading.tracker import OrderStatus, OrderTracker

SYMBOL = "HIGHNY-23DEC31"
BID = Decimal("0.42")


# -- sans-IO: the Driver over the exchange in memory -------------------------------------------


def place(
    h: Harness, cl_ord_id: str, *, group: str | None = None, price: Decimal | None = None
) -> None:
    """A resting buy sent through the driver (as the adapters' ``place`` does)."""
    order = h.order(cl_ord_id, "buy", 2, price)
    if group is not None:
        order = h.d.NewOrderSingle(
            cl_ord_id=cl_ord_id,
            side=h.d.Side.BUY,
            order_qty=Decimal(2),
            ord_type=h.d.OrdType.LIMIT,
            price=price or h.price,
            symbol=h.symbol,
            time_in_force=h.d.TimeInForce.GTC,
            secondary_cl_ord_id=group,
        )
    h.driver.send(order, h.now)
    if h.driver.tracker.order(cl_ord_id) is None:  # a driver that does not track what it sends
        h.driver.tracker.sent(order)
    h.pump()


def gateway_open(h: Harness) -> list[str]:
    return sorted(o.cl_ord_id for o in h.exchange.open_orders("key-1"))


def sent_types(h: Harness) -> list[str]:
    return [
        frame.split(b"\x0135=", 1)[1].split(b"\x01", 1)[0].decode()
        for frame in h.sent
        if any(f"\x0135={t}\x01".encode() in frame for t in ("q", "F", "UOG"))
    ]


def create_group(h: Harness, limit: int = 100) -> str:
    rq = Requests(h.product, h.session_type)
    h.driver.send(rq.create_order_group(limit), h.now)
    h.pump()
    (answer,) = [
        e for e in h.read() if getattr(getattr(e, "message", None), "MSG_TYPE", "") == "UOH"
    ]
    return str(answer.message.order_group_id)  # type: ignore[attr-defined]


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_kalshi_nr_sends_one_mass_cancel_and_is_done(product: str) -> None:
    h = Harness(product)
    h.start()
    for n in range(3):
        place(h, f"o-{n}")
    assert len(gateway_open(h)) == 3
    kill = h.driver.kill(h.now)
    h.pump()
    assert sent_types(h) == ["q"]
    assert kill.done and gateway_open(h) == []
    report = kill.report(h.now)
    assert report.done and report.still_open == () and report.halted
    assert [r.msg_type for r in report.sent] == ["q"] and "MassCancelResponse=6" in str(
        report.sent[0].answer
    )
    assert sorted(cl for cl, _ in report.canceled) == ["o-0", "o-1", "o-2"]
    assert {status for _, status in report.canceled} == {OrderStatus.CANCELED}
    assert "done: nothing open" in str(report)


def test_kalshi_nr_with_nothing_tracked_still_sends_the_mass_cancel() -> None:
    h = Harness()
    h.start()
    kill = h.driver.kill(h.now, halt=False)
    assert not kill.done  # the exchange may hold orders this tracker never saw
    h.pump()
    assert sent_types(h) == ["q"] and kill.done
    assert not kill.report(h.now).halted and h.driver.gate.halted is None


def test_kalshi_rt_triggers_groups_and_cancels_the_rest_one_by_one() -> None:
    h = Harness(session_type="KalshiRT")
    h.start()
    group = create_group(h)
    place(h, "g-1", group=group)
    place(h, "g-2", group=group)
    place(h, "solo-1")
    place(h, "solo-2")
    assert len(gateway_open(h)) == 4
    kill = h.driver.kill(h.now)
    h.pump()
    assert sorted(sent_types(h)) == ["F", "F", "UOG", "UOG"]  # create + trigger, two cancels
    assert gateway_open(h) == [] and kill.done
    report = kill.report(h.now)
    assert report.triggered_groups == (group,)
    by_type = {r.msg_type: r for r in report.sent}
    assert sorted(by_type["UOG"].covers) == ["g-1", "g-2"] and by_type["UOG"].answer is not None
    assert "Reset it" in str(report)


def test_kalshi_rt_without_groups_sends_single_cancels() -> None:
    h = Harness(session_type="KalshiRT")
    h.start()
    group = create_group(h)
    place(h, "g-1", group=group)
    place(h, "g-2", group=group)
    kill = h.driver.kill(h.now, use_groups=False)
    h.pump()
    assert sent_types(h).count("F") == 2 and kill.done and kill.report(h.now).triggered_groups == ()


def test_the_mass_cancel_reaches_the_orders_of_earlier_connections() -> None:
    # Kalshi's 35=q cancels the orders of the key's KalshiNR session, not of one connection
    h = Harness()
    h.start()
    place(h, "old-1")
    h.drop()
    h.reconnect()
    kill = h.driver.kill(h.now, fallback_after=0.5)
    h.pump()
    assert sent_types(h) == ["q"] and kill.done and gateway_open(h) == []
    assert kill.report(h.now).confirmed is True


def test_orders_the_mass_cancel_missed_get_their_own_cancel_after_the_fallback_time() -> None:
    h = Harness()
    h.start()
    place(h, "old-1")
    place(h, "old-2")
    for order in h.exchange._state.open.values():  # orders the 35=q does not reach
        order.session_type = "KalshiRT"
    kill = h.driver.kill(h.now, fallback_after=0.5)
    h.pump()
    assert sent_types(h) == ["q"] and not kill.done
    report = kill.report(h.now)
    assert not report.done and {o.cl_ord_id for o in report.still_open} == {"old-1", "old-2"}
    assert all("no Canceled report for this order yet" in o.reason for o in report.still_open)
    deadline = h.driver.next_deadline()
    assert deadline is not None and deadline <= h.now + 0.5
    h.advance(0.5)
    assert sent_types(h) == ["q", "F", "F"] and kill.done and gateway_open(h) == []


def test_with_the_connection_down_the_kill_acts_after_the_reconnect() -> None:
    h = Harness()
    h.start()
    place(h, "o-1")
    h.drop()
    assert h.driver.supervisor.state is SupervisorState.WAITING
    kill = h.driver.kill(h.now, fallback_after=0.25)
    report = kill.report(h.now)
    assert not report.done
    assert "connection is down" in report.still_open[0].reason
    h.reconnect()
    h.advance(0.25)
    final = kill.report(h.now)
    assert final.done and final.waited_for_reconnect and gateway_open(h) == []
    assert "waited for the reconnect" in str(final)


def test_halt_refuses_new_orders_and_replaces_until_rearmed() -> None:
    h = Harness()
    h.start()
    place(h, "o-1")
    h.driver.kill(h.now)
    h.pump()
    with pytest.raises(TradingHalted, match="rearm") as caught:
        h.driver.send(h.order("o-2", "buy", 1), h.now)
    assert caught.value.msg_type == "D" and isinstance(caught.value, LocalProtocolError)
    replace = h.d.OrderCancelReplaceRequest(
        cl_ord_id="o-1b",
        orig_cl_ord_id="o-1",
        side=h.d.Side.BUY,
        order_qty=Decimal(3),
        ord_type=h.d.OrdType.LIMIT,
        price=h.price,
        symbol=h.symbol,
    )
    with pytest.raises(TradingHalted):
        h.driver.send(replace, h.now)
    assert h.driver.tracker.order("o-2") is None  # nothing was tracked or sent
    h.driver.gate.rearm()
    assert h.driver.gate.halted is None
    place(h, "o-3")
    assert gateway_open(h) == ["o-3"]


def test_a_refused_single_cancel_is_reported_with_kalshis_answer() -> None:
    # an order the exchange does not know (e.g. forgotten by a restart): its 35=F is refused
    h = Harness(session_type="KalshiRT")
    h.start()
    ghost = h.order("ghost-1", "buy", 1)
    h.driver.tracker.sent(ghost)
    h.driver.tracker.on_message(
        h.d.ExecutionReport(
            cl_ord_id="ghost-1",
            order_id="00000000-0000-4000-8000-000000000001",
            exec_id="1;1",
            exec_type=h.d.ExecType.NEW,
            ord_status=h.d.OrdStatus.NEW,
            side=h.d.Side.BUY,
            symbol=h.symbol,
            order_qty=Decimal(1),
            cum_qty=Decimal(0),
            leaves_qty=Decimal(1),
        )
    )
    kill = h.driver.kill(h.now)
    h.pump()
    h.advance(5.0)
    report = kill.report(h.now)
    assert not report.done
    (still,) = report.still_open
    assert still.cl_ord_id == "ghost-1" and "35=9" in still.reason and "NOT_FOUND" in still.reason
    assert "STILL OPEN ghost-1" in str(report)
    # it was live (acknowledged): how it ended is not known, so it is not settled as never live
    assert "acknowledged this one earlier" in still.reason and report.not_found == ()
    assert h.tracked("ghost-1").status is OrderStatus.NEW


def test_a_session_type_without_cancels_says_so() -> None:
    tracker = OrderTracker()
    tracker.sent(
        p.NewOrderSingle(
            cl_ord_id="x-1",
            side=p.Side.BUY,
            order_qty=Decimal(1),
            ord_type=p.OrdType.LIMIT,
            price=BID,
            symbol=SYMBOL,
        )
    )
    h = Harness(session_type="KalshiRT")
    config = h.driver.config.__class__(
        sender_comp_id="key-1",
        session_type="KalshiRT",
        listener_session=True,
        skip_pending_exec_reports=True,
    )
    kill = KillSwitch(config, tracker, 0.0)
    sent: list[Any] = []
    kill.advance(0.0, sent.append, connected=True)
    report = kill.report(1.0)
    assert sent == [] and not report.done
    assert "cannot cancel orders" in report.still_open[0].reason
    with pytest.raises(LocalProtocolError, match="fallback_after"):
        KillSwitch(config, tracker, 0.0, fallback_after=-1)


# -- end to end, per adapter, against the mock gateway over TLS ---------------------------------


def limit(cl_ord_id: str, price: Decimal = BID, group: str | None = None) -> Any:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(2),
        ord_type=p.OrdType.LIMIT,
        price=price,
        symbol=SYMBOL,
        time_in_force=p.TimeInForce.GTC,
        secondary_cl_ord_id=group,
    )


def is_group_answer(event: Any) -> bool:
    return getattr(getattr(event, "message", None), "MSG_TYPE", "") == "UOH"


def open_at_gateway(h: GatewayHarness, key: str = "key-1") -> list[str]:
    return sorted(o.cl_ord_id for o in h.gateway.call(lambda: h.gateway.exchange.open_orders(key)))


@ADAPTERS
@pytest.mark.parametrize("session_type", ["KalshiNR", "KalshiRT"])
def test_kill_leaves_nothing_open_per_adapter(
    adapter: str, session_type: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = d.client(h).session(session_type)
        async with d.opened(session):
            groups: list[str | None] = [None, None, None]
            if session_type == "KalshiRT":  # two of the three in an order group
                create = Requests("prediction", session_type).create_order_group(50)
                answer = await d.call(session.wait_for(is_group_answer, 5.0, send=create))
                groups[0] = groups[1] = str(answer.message.order_group_id)
            for n, group in enumerate(groups):
                await d.call(session.place(limit(f"{adapter}-{n}", group=group)))
            assert len(open_at_gateway(h)) == 3
            report: KillReport = await d.call(session.kill(timeout=10))
            assert report.done and report.still_open == (), str(report)
            assert open_at_gateway(h) == []
            expected = ["q"] if session_type == "KalshiNR" else ["F", "UOG"]
            assert sorted(r.msg_type for r in report.sent) == expected
            # KalshiNR: the 35=q's answer and a drop-copy replay confirm it; KalshiRT has no
            # mass cancel, so orders this session never saw cannot be confirmed
            assert report.confirmed is (session_type == "KalshiNR"), str(report)
            with pytest.raises(TradingHalted):
                await d.call(session.place(limit(f"{adapter}-late")))
            session.rearm()
            await d.call(session.place(limit(f"{adapter}-after")))
            assert open_at_gateway(h) == [f"{adapter}-after"]
            await d.call(session.kill(timeout=10, halt=False))

    run(adapter, scenario)


@ADAPTERS
def test_a_kill_is_logged_at_warning_when_it_starts_and_ends(
    adapter: str, prediction_gateway: GatewayHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = d.client(h).session("KalshiRT")
        async with d.opened(session):
            await d.call(session.place(limit(f"{adapter}-logged")))
            with caplog.at_level(logging.WARNING, logger="kalshi_fix_sansio"):
                await d.call(session.kill(timeout=10))

    run(adapter, scenario)
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
        and getattr(r, "event", "") in ("KillStarted", "KillFinished")
    ]
    assert len(lines) == 2, lines
    assert "1 open order(s) tracked" in lines[0] and "NOT confirmed" in lines[1], lines


async def connection_down(d: Driver, h: GatewayHarness, session: Any) -> None:
    """key-1's connection drops and the gateway refuses it until ``refuse_keys`` is cleared."""
    h.gateway.faults.refuse_keys = frozenset({"key-1"})
    assert h.gateway.disconnect("key-1") == 1
    await d.wait_for(session, lambda e: isinstance(e, Disconnected), 10)


def retrying(d: Driver, h: GatewayHarness) -> Any:
    """A client whose supervisor retries for ever, quickly."""
    return d.client(h, backoff=Backoff(base=0.05, cap=0.2, attempts=None, seed=3))


@ADAPTERS
def test_kill_with_the_order_entry_connection_down_waits_for_the_reconnect(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = retrying(d, h).order_entry()
        async with d.opened(session):
            await d.call(session.place(limit("down-1")))
            await d.call(session.place(limit("down-2")))
            await connection_down(d, h, session)
            # the key may log on again in 0.3 s: the kill, called now, waits for the reconnect
            lift = threading.Timer(
                0.3, lambda: setattr(h.gateway.faults, "refuse_keys", frozenset())
            )
            lift.start()
            try:
                report: KillReport = await d.call(session.kill(timeout=10, fallback_after=0.2))
            finally:
                lift.join()
            assert report.done and report.waited_for_reconnect, str(report)
            assert open_at_gateway(h) == []

    run(adapter, scenario)


@ADAPTERS
def test_a_timed_out_kill_lists_what_is_open_and_why(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = retrying(d, h).order_entry()
        async with d.opened(session):
            await d.call(session.place(limit("stuck-1")))
            await connection_down(d, h, session)
            report: KillReport = await d.call(session.kill(timeout=0.3))
            assert not report.done
            (still,) = report.still_open
            assert still.cl_ord_id == "stuck-1" and "connection is down" in still.reason
            assert "NOT done" in str(report)
            h.gateway.faults.refuse_keys = frozenset()
            again: KillReport = await d.call(session.kill(timeout=10, fallback_after=0.2))
            assert again.done and open_at_gateway(h) == []

    run(adapter, scenario)


@ADAPTERS
def test_kill_all_cancels_on_the_clients_open_order_entry_sessions(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    # the mock gateway takes one connection per API key (as Kalshi): one session open here;
    # a session made but never opened is left alone
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        client = d.client(h)
        nr, unopened = client.order_entry(), client.order_entry(retransmission=True)
        assert await d.call(client.kill_all(timeout=1)) == []  # nothing open yet
        assert client.halted and unopened.halted  # halted all the same, until rearm()
        client.rearm()
        async with d.opened(nr):
            await d.call(nr.place(limit("nr-1")))
            await d.call(nr.place(limit("nr-2")))
            reports: list[KillReport] = await d.call(client.kill_all(timeout=10))
            assert [r.session for r in reports] == ["prediction/KalshiNR"]
            assert reports[0].done, str(reports[0])
            assert open_at_gateway(h) == [] and nr.halted and unopened.halted
            assert client.order_entry().halted  # a session made afterwards is halted too
            with pytest.raises(TradingHalted):
                await d.call(nr.place(limit("nr-3")))
            client.rearm()  # the client's halt lifts; nr's own kill still holds it
            assert nr.halted and not unopened.halted and client.halted is None

    run(adapter, scenario)


@ADAPTERS
def test_a_clients_limits_see_what_its_earlier_session_left_open(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    # position limits do not start from zero again in the next session of the same key
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        client = d.client(h, risk_limits=RiskLimits(max_position=Decimal(3)))
        async with d.opened(client.order_entry()) as first:
            await d.call(first.place(limit(f"{adapter}-first")))  # 2 contracts resting
        async with d.opened(client.order_entry()) as second:
            assert second.tracker is client.tracker and second.risk_limits is client.risk_limits
            with pytest.raises(RiskLimitExceeded, match="max_position"):
                await d.call(second.place(limit(f"{adapter}-second")))  # 2 + 2 > 3
            await d.call(second.kill(timeout=10))

    run(adapter, scenario)


# -- drop-copy confirmation ------------------------------------------------------------------------


def replay_requests(h: Harness) -> list[bytes]:
    return [frame for frame in h.sent if b"\x0135=U1\x01" in frame]


def test_kalshi_nr_kill_is_confirmed_by_a_drop_copy_replay() -> None:
    h = Harness()
    h.start()
    for n in range(2):
        place(h, f"o-{n}")
    h.other_trades("sell", [1])  # o-0 partly filled: the cursor has an ExecID to replay from
    kill = h.driver.kill(h.now)
    h.pump()
    assert sent_types(h) == ["q"] and len(replay_requests(h)) == 1
    assert kill.finished_at is not None and gateway_open(h) == []
    report = kill.report(h.now)
    assert report.done and report.confirmed is True
    assert any("drop copy confirmed nothing open" in note for note in report.notes)


def test_a_confirmation_kalshi_refuses_is_reported_and_the_kill_still_ends() -> None:
    h = Harness(allowlist=[])  # the account may not use historical replay (35=U3 reason 5)
    h.start()
    place(h, "o-0")
    h.other_trades("sell", [1])
    kill = h.driver.kill(h.now)
    h.pump()
    report = kill.report(h.now)
    assert kill.finished_at is not None and report.done and report.confirmed is False
    assert any("drop copy could not confirm" in n and "allowlisted" in n for n in report.notes)


def test_without_an_execid_there_is_nothing_to_confirm_from() -> None:
    h = Harness()
    h.start()  # no order, no report: the 35=r answering the 35=q carries no ExecID
    kill = h.driver.kill(h.now)
    h.pump()
    report = kill.report(h.now)
    assert kill.finished_at is not None and report.done
    # the 35=q's answer is the exchange's confirmation; the drop copy had nothing to add
    assert report.confirmed is True and replay_requests(h) == []
    assert any("nothing to replay from" in note for note in report.notes)


def test_confirmation_can_be_turned_off_and_is_refused_where_there_is_no_replay() -> None:
    h = Harness()
    h.start()
    place(h, "o-0")
    kill = h.driver.kill(h.now, confirm=False)
    h.pump()  # the 35=q's answer is the exchange's confirmation
    assert kill.finished_at is not None and kill.report(h.now).confirmed is True
    assert replay_requests(h) == []
    rt = Harness(session_type="KalshiRT")
    rt.start()
    with pytest.raises(LocalProtocolError, match="cannot ask the drop copy to confirm"):
        rt.driver.kill(rt.now, confirm=True)
