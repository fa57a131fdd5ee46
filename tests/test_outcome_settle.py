"""An unknown order outcome always has a way out, and the default does not strand a desk.

KalshiNR without REST: an order's reports are lost with its connection (a TCP reset just after
the exchange took it), and the catch-up after the reconnect fails (no ExecID seen yet, or the
key not allowlisted for the replay). The order is named in `OrdersUnknown` and its market
refuses what could grow a position (`OutcomeUnknown`). By default the session then asks the
exchange how the order ended, with a cancel of it (`OutcomesAsked`), and the answer lifts the
block: the order was live (Canceled, its CumQty counted), it had filled (35=9 too late, the
fill learned), it never arrived (35=9 unknown order). When the answer leaves the fills unknown
(canceled or expired while down: `FillsUnknown`) the block stays until `release_unknown`.
Every way out is tried: the automatic question, a cancel of one's own, ``release_unknown``
on the gate, the driver and a session, and the block of a failed catch-up lifting once the
orders open then ended. All against the mock gateway's exchange in memory (`test_driver`'s
harness), on a fake clock.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_driver import Harness

from kalshi_fix_sansio import (
    CatchUpFailed,
    FillInferred,
    FillsUnknown,
    OrderGate,
    OrderNotFound,
    OrdersUnknown,
    OutcomesAsked,
    OutcomeUnknown,
    TradingStateChanged,
)
from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.simulator.gateway import mock_api_key
from kalshi_fix_sansio.simulator.world.simulation import Simulation
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.haltfile import HaltFile
from kalshi_fix_sansio.trading.tracker import OrderStatus

REPORT = b"\x0135=8\x01"


def ioc(h: Harness, cl: str, qty: int) -> Any:
    return h.order(cl, "buy", qty).replace(time_in_force=h.d.TimeInForce.IOC)


def lose_reports(h: Harness, order: Any, *, while_down: int = 0) -> list[Any]:
    """``order`` reaches the exchange, every report after it is lost with the connection, the
    line is reset (``key-2`` sells ``while_down`` at our price meanwhile), and the session
    logs on again: the events read since."""
    h.withhold = lambda frame: REPORT in frame
    h.driver.send(order, h.now)
    h.pump()
    h.withhold = None
    h.drop("reset")
    if while_down:
        h.other_trades("sell", [while_down])
    h.reconnect()
    h.pump()
    return h.read()


def of(events: list[Any], cls: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def blocked(h: Harness) -> OutcomeUnknown:
    with pytest.raises(OutcomeUnknown) as info:
        h.driver.send(h.order("probe", "buy", 1), h.now)
    return info.value


# -- the question asked by itself -------------------------------------------------------------------


def test_an_ioc_filled_while_its_report_was_lost_is_learned_and_the_market_trades_again() -> None:
    h = Harness()
    h.start()
    h.other_trades("sell", [3])  # resting: the IOC fills whole
    events = lose_reports(h, ioc(h, "ioc-1", 3))
    assert of(events, CatchUpFailed)  # no ExecID seen yet: nothing to replay from
    (unknown,) = of(events, OrdersUnknown)
    assert unknown.cl_ord_ids == ("ioc-1",)
    (asked,) = of(events, OutcomesAsked)
    assert asked.cl_ord_ids == ("ioc-1",)
    (learned,) = of(events, FillInferred)  # 35=9 too late, OrdStatus 2: it filled whole
    assert (learned.cl_ord_id, learned.qty, learned.price) == ("ioc-1", 3, h.price)
    order = h.tracked("ioc-1")
    assert order.status is OrderStatus.FILLED and order.cum_qty == 3
    assert h.driver.tracker.position(h.symbol).net == 3
    assert [e.unknown_markets for e in of(events, TradingStateChanged)][-1] == ()
    h.place("next", "buy", 1)  # trades again: nothing waits for a REST round
    assert h.tracked("next").status is OrderStatus.NEW


@pytest.mark.parametrize("filled_while_down", [0, 2])
def test_a_live_order_is_canceled_by_the_question_and_its_fills_counted(
    filled_while_down: int,
) -> None:
    h = Harness()
    h.start()
    events = lose_reports(h, h.order("gtc-1", "buy", 5), while_down=filled_while_down)
    assert of(events, OutcomesAsked)[0].cl_ord_ids == ("gtc-1",)
    order = h.tracked("gtc-1")
    assert order.status is OrderStatus.CANCELED and order.cum_qty == filled_while_down
    assert h.driver.tracker.position(h.symbol).net == filled_while_down
    assert sum(e.qty for e in of(events, FillInferred)) == filled_while_down
    assert h.driver.gate.unknown_markets == ()
    h.place("next", "buy", 1)


def test_an_order_that_never_arrived_is_settled_not_found() -> None:
    h = Harness()
    h.start()
    h.driver.send(h.order("lost", "buy", 2), h.now)  # written as the line is cut: never read
    h.drop()
    h.reconnect()
    h.pump()
    events = h.read()
    assert [e.cl_ord_id for e in of(events, OrderNotFound)] == ["lost"]
    assert h.driver.gate.unknown_markets == ()
    h.place("next", "buy", 1)


def test_a_key_not_allowlisted_for_the_replay_is_unblocked_by_the_answer() -> None:
    """The catch-up is refused (EventResendReject: not allowlisted), nothing replays, no REST:
    the question still settles the order, and the failed catch-up's block goes with it."""
    h = Harness(allowlist=())
    h.start()
    h.place("first", "buy", 1)  # its report gives the cursor an ExecID: a replay is asked
    h.other_trades("sell", [1, 2])  # fills "first"; 2 rest for the IOC
    h.read()
    events = lose_reports(h, ioc(h, "ioc-1", 2))
    (failed,) = of(events, CatchUpFailed)
    assert failed.retried is False
    assert of(events, OutcomesAsked)[0].cl_ord_ids == ("ioc-1",)
    assert h.tracked("ioc-1").status is OrderStatus.FILLED
    assert h.driver.gate.unknown_markets == ()
    h.place("next", "buy", 1)


def test_a_session_of_the_blocking_adapter_settles_by_itself_in_a_simulation() -> None:
    """Through an adapter, in the in-memory simulation (margin, KalshiNR, no REST): the order's
    acknowledgement garbled, its fill's report lost with the gap that follows, the catch-up
    fails (no ExecID yet). The session asks, the Canceled report says CumQty 6, the fill is
    counted and the market trades again, with nothing done by the application."""
    events: list[object] = []
    key_id, signer, public = mock_api_key("margin")
    sim = Simulation("margin", keys={key_id: public})
    book = {"bids": [(Decimal("0.20"), Decimal(50))], "asks": [(Decimal("0.80"), Decimal(50))]}
    sim.gateway.seed_market("ABC-PERP", **book)
    orders = Requests("margin", "KalshiNR")
    client = sim.client(key_id, signer, heartbeat_interval=10)
    with client.order_entry(on_event=events.append) as oe:
        sim.gateway.faults.garble_next = True  # the order's acknowledgement: skipped
        oe.send(orders.new_order("ABC-PERP", "sell", 9, Decimal("0.56"), cl_ord_id="s1"))
        sim.run_for(1)
        sim.gateway.seed_market("ABC-PERP", bids=[(Decimal("0.66"), Decimal(6))])  # fills 6
        sim.run_for(30)  # the fill's report is lost: a gap, a reconnect, no ExecID to resume
        assert [type(e) for e in events if isinstance(e, (OrdersUnknown, OutcomesAsked))] == [
            OrdersUnknown,
            OutcomesAsked,
        ]
        assert [(e.cl_ord_id, e.qty) for e in events if isinstance(e, FillInferred)] == [("s1", 6)]
        assert oe.tracker.current("s1").status is OrderStatus.CANCELED
        assert oe.tracker.position("ABC-PERP").net == -6
        assert oe.unknown_markets == ()
        oe.send(orders.new_order("ABC-PERP", "sell", 1, Decimal("0.79"), cl_ord_id="s2"))


def test_a_session_releases_by_hand_what_the_answer_left_unknown() -> None:
    """The same through the blocking adapter with an IOC: 6 of its 9 fill, the rest is
    canceled, every report lost. The answer ("unknown order", OrdStatus 4) leaves the fills
    unknown: the market stays blocked until ``oe.release_unknown(...)``."""
    events: list[object] = []
    key_id, signer, public = mock_api_key("margin")
    sim = Simulation("margin", keys={key_id: public})
    sim.gateway.seed_market("ABC-PERP", bids=[(Decimal("0.66"), Decimal(6))])
    orders = Requests("margin", "KalshiNR")
    with sim.client(key_id, signer, heartbeat_interval=10).order_entry(
        on_event=events.append
    ) as oe:
        sim.gateway.faults.garble_next = True  # the fill's report: skipped, then a gap
        oe.send(
            orders.new_order(
                "ABC-PERP", "sell", 9, Decimal("0.56"), time_in_force="ioc", cl_ord_id="s1"
            )
        )
        sim.run_for(30)
        assert [e.cl_ord_id for e in events if isinstance(e, FillsUnknown)] == ["s1"]
        assert oe.unknown_markets == ("ABC-PERP",)
        with pytest.raises(OutcomeUnknown, match="release_unknown"):
            oe.send(orders.new_order("ABC-PERP", "sell", 1, Decimal("0.79"), cl_ord_id="s2"))
        assert oe.release_unknown("ABC-PERP") == ("ABC-PERP",)
        assert oe.unknown_markets == ()
        oe.send(orders.new_order("ABC-PERP", "sell", 1, Decimal("0.79"), cl_ord_id="s2"))


# -- an answer that leaves the fills unknown, and the ways out by hand ------------------------------


def partly_filled_ioc(h: Harness) -> list[Any]:
    """An IOC for 5 against 2 resting: 2 fill, 3 are canceled; every report of it lost."""
    h.start()
    h.other_trades("sell", [2])
    return lose_reports(h, ioc(h, "ioc-1", 5))


def test_an_order_ended_without_its_fills_said_keeps_its_block_until_released() -> None:
    h = Harness()
    events = partly_filled_ioc(h)
    (said,) = of(events, FillsUnknown)
    assert (said.cl_ord_id, said.ord_status) == ("ioc-1", "4")  # canceled at the exchange
    assert not of(events, OrderNotFound)  # it was live: never "never live"
    assert h.tracked("ioc-1").status is OrderStatus.PENDING_NEW  # as the tracker had it
    assert h.driver.gate.unknown_markets == (h.symbol,)
    error = blocked(h)
    assert error.cl_ord_ids == ("ioc-1",)
    assert "release_unknown()" in str(error) and "cancel" in str(error)
    assert h.driver.release_unknown("OTHER-MARKET") == ()
    assert h.driver.release_unknown(h.symbol) == (h.symbol,)
    (changed,) = of(h.read(), TradingStateChanged)
    assert changed.unknown_markets == ()
    h.place("next", "buy", 1)


def test_without_the_question_a_cancel_of_ones_own_lifts_the_failed_catch_ups_block_too() -> None:
    """``settle_unknown=False``: the block waits. A cancel of the named order answers (the
    order rested: Canceled, its CumQty); the failed catch-up had blocked the market of every
    order open then, and that block lifts too once they all ended."""
    h = Harness(settle_unknown=False)
    h.start()
    events = lose_reports(h, h.order("gtc-1", "buy", 5))
    assert of(events, OrdersUnknown) and not of(events, OutcomesAsked)
    blocked(h)
    h.driver.send(cancel(h, "gtc-1"), h.now)
    h.pump()
    assert h.tracked("gtc-1").status is OrderStatus.CANCELED
    assert h.driver.gate.unknown_markets == ()
    h.place("next", "buy", 1)


def cancel(h: Harness, orig: str) -> Any:
    return h.d.OrderCancelRequest(
        cl_ord_id=f"cxl-{orig}", orig_cl_ord_id=orig, side=h.d.Side.BUY, symbol=h.symbol
    )


def test_release_unknown_by_hand_on_the_gate() -> None:
    h = Harness()
    gate: OrderGate = h.driver.gate
    gate.tracker.sent(h.order("a", "buy", 1))
    gate.outcomes_unknown(("a",), "lost")
    gate.outcomes_unknown(("never-seen",), "restored")
    assert gate.unknown_markets == ("every market",)
    assert gate.release_unknown(h.symbol) == ()  # every market stays blocked
    assert gate.release_unknown() == ("every market",)
    assert gate.unknown_markets == ()
    assert gate.release_unknown() == ()


def test_release_unknown_refuses_a_market_that_is_not_a_name() -> None:
    h = Harness()
    with pytest.raises(Exception, match="market must be a non-empty str or None, got 3"):
        h.driver.release_unknown(3)  # type: ignore[arg-type]


# -- the driver driven by hand, as the embedding guide shows -----------------------------------------


def test_a_driver_driven_by_hand_answers_its_session() -> None:
    h = Harness()
    assert h.driver.session is None  # not started
    h.driver.start(h.now)
    h.connect()  # connection_made, then the bytes both ways
    session = h.driver.session
    assert session is not None and session is h.driver.supervisor.session
    assert h.driver.connections == 1


# -- from the shell: kalshi-fix release-unknown ------------------------------------------------------


def test_release_unknown_from_the_shell_reaches_the_running_session(tmp_path: Path) -> None:
    """The key's release request (written by the command) is applied at the session's next
    look at its halt file; one written before the session started is not for it."""
    halt_file = HaltFile("key-1", tmp_path)
    args = ["release-unknown", "--key-id", "key-1", "--halt-dir", str(tmp_path), "--all"]
    assert main(args) == 0  # before the session: not for it
    h = Harness(halt_source=halt_file)
    events = partly_filled_ioc(h)
    assert of(events, FillsUnknown) and h.driver.gate.unknown_markets == (h.symbol,)
    h.advance(halt_file.interval)
    assert h.driver.gate.unknown_markets == (h.symbol,)  # the old request released nothing
    market = ["--market", h.symbol]
    assert main(args[:-1] + market) == 0
    h.advance(halt_file.interval)
    assert h.driver.gate.unknown_markets == ()
    h.place("next", "buy", 1)


def test_release_unknown_from_the_shell_refuses_what_it_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["release-unknown", "--key-id", "key-1", "--halt-dir", str(tmp_path)]
    assert main(base) == 2  # neither --market nor --all
    assert "one of the arguments --market --all is required" in capsys.readouterr().err
    open_to_all = tmp_path / "open-to-all"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)
    assert main([*base[:-1], str(open_to_all), "--all"]) == 1
    assert "writable by every user" in capsys.readouterr().err
    assert HaltFile("key-1", open_to_all).release_request() is None


def test_settle_unknown_takes_a_bool_or_none() -> None:
    with pytest.raises(Exception, match="settle_unknown must be True, False or None, got 'yes'"):
        Harness(settle_unknown="yes")


@pytest.mark.parametrize(
    ("options", "asks"),
    [
        ({"block_unknown": False}, False),  # no block: the session asks nothing by itself
        ({"block_unknown": False, "settle_unknown": True}, True),
    ],
)
def test_without_the_block_the_question_is_asked_only_when_told(
    options: dict[str, bool], asks: bool
) -> None:
    h = Harness(**options)
    h.start()
    events = lose_reports(h, h.order("gtc-1", "buy", 5))
    assert bool(of(events, OutcomesAsked)) is asks
    assert (h.tracked("gtc-1").status is OrderStatus.CANCELED) is asks
