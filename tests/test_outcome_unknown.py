"""No new exposure while an order's outcome is unknown: from `OrdersUnknown` (or a failed
catch-up or REST round) until a round resolves it, what could grow a position in the affected
markets is refused with `OutcomeUnknown`; cancels always go, and so does what can only shrink
a position.

By hand on an `OrderGate` (which markets, what lifts the block, the switch off), then through
the sans-IO `Driver` against the mock exchange (a session restored with an order open and
nothing to replay from), every adapter against the mock gateway over TLS, and a backtest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run
from test_driver import Harness
from test_reduce_only import OTHER, SYM, backtest, nos, report

from kalshi_fix_sansio import (
    OrderGate,
    OrdersUnknown,
    OrderTracker,
    OutcomeUnknown,
    TradingStateChanged,
)
from kalshi_fix_sansio import prediction as p


def cancel(cl: str, orig: str, symbol: str = SYM) -> Any:
    return p.OrderCancelRequest(cl_ord_id=cl, orig_cl_ord_id=orig, side=p.Side.BUY, symbol=symbol)


def blocked(gate: OrderGate, message: Any) -> OutcomeUnknown:
    with pytest.raises(OutcomeUnknown) as info:
        gate.check(message)
    return info.value


# -- by hand ----------------------------------------------------------------------------------------


def test_an_unknown_order_blocks_growth_in_its_market_until_it_ends() -> None:
    """Long 4 in SYM, an order of unknown outcome there: a buy is refused (named, with the
    order), a sell of up to 4 passes (it can only shrink), cancels pass, the other market
    trades; the order's Canceled report lifts the block."""
    gate = OrderGate("prediction")
    gate.tracker.sent(nos("f", "buy", 4))
    gate.tracker.on_message(report("f", "e-f", "buy", 4, 4))
    gate.tracker.sent(nos("lost", "buy", 2))
    gate.outcomes_unknown(("lost",), "lost at the drop")
    assert gate.unknown_markets == (SYM,)
    error = blocked(gate, nos("b1", "buy", 1))
    assert (error.msg_type, error.symbol, error.cl_ord_ids) == ("D", SYM, ("lost",))
    assert error.reason == "lost at the drop"
    assert str(error).startswith(
        "35=D on HIGHNY-23DEC31 refused: the outcome of order lost is unknown (lost at the "
        "drop) and a buy 1 could grow the position (net 4, open on that side 2"
    )
    gate.check(nos("s1", "sell", 4))  # 4 - 0 - 4 = 0
    blocked(gate, nos("s1", "sell", 5))
    gate.check(cancel("c1", "lost"))
    gate.check(nos("o1", "buy", 9, symbol=OTHER))
    cancelled = report("lost", "e-lost", "buy", 2, 0, canceled=True)
    gate.tracker.on_message(cancelled)
    assert gate.unknown_markets == ()
    gate.check(nos("b1", "buy", 1))


def test_a_failed_round_blocks_the_markets_of_the_open_orders_until_a_round_resolves_it() -> None:
    """Their reports may be missing: the markets of the orders open then are blocked (none
    when nothing is open); a complete catch-up lifts what a failed one set, `Reconciled`
    everything."""
    gate = OrderGate("prediction")
    gate.state_unknown("catch-up failed: timed out", catch_up=True)
    assert gate.unknown_markets == ()  # nothing open: nothing can be missing
    gate.tracker.sent(nos("open", "buy", 2))
    gate.state_unknown("catch-up failed: timed out", catch_up=True)
    assert gate.unknown_markets == (SYM,)
    error = blocked(gate, nos("b", "buy", 1))
    assert (error.reason, error.cl_ord_ids) == ("catch-up failed: timed out", ())
    gate.check(nos("b", "buy", 1, symbol=OTHER))
    gate.outcomes_known(catch_up=True)  # a complete catch-up lifts what a failed one set
    gate.check(nos("b", "buy", 1))
    gate.state_unknown("a REST reconciliation failed (/portfolio/fills): 500")
    gate.outcomes_known(catch_up=True)  # not what a catch-up can lift
    blocked(gate, nos("b", "buy", 1))
    gate.outcomes_known()  # `Reconciled`
    gate.check(nos("b", "buy", 1))


def test_an_unknown_order_of_no_known_market_blocks_every_market() -> None:
    gate = OrderGate("prediction")
    gate.outcomes_unknown(("never-seen",), "restored")
    assert gate.unknown_markets == ("every market",)
    blocked(gate, nos("b", "buy", 1, symbol=OTHER))


def test_the_block_can_be_turned_off() -> None:
    gate = OrderGate("prediction", block_unknown=False)
    gate.tracker.sent(nos("lost", "buy", 2))
    gate.outcomes_unknown(("lost",), "lost at the drop")
    gate.outcomes_unknown(("never-seen",), "restored")
    gate.state_unknown("catch-up failed")
    assert gate.unknown_markets == ()
    gate.check(nos("b1", "buy", 1))


# -- the driver: a session restored with an order open and nothing to replay from -------------------


def restored(order: Any) -> OrderTracker:
    tracker = OrderTracker()
    tracker.sent(order)
    return tracker


def test_the_driver_blocks_from_orders_unknown_until_the_order_is_settled() -> None:
    """The session does not ask by itself here (``settle_unknown=False``): a cancel of the
    application's own settles the order."""
    h0 = Harness()
    h = Harness(tracker=restored(h0.order("lost-1", "buy", 3)), settle_unknown=False)
    h.start()
    h.pump()
    events = []
    while (event := h.driver.next_event()) is not None:
        events.append(event)
    assert any(isinstance(e, OrdersUnknown) and e.cl_ord_ids == ("lost-1",) for e in events)
    changed = [e for e in events if isinstance(e, TradingStateChanged)]
    assert [e.unknown_markets for e in changed] == [(h.symbol,)]
    assert h.driver.metrics.snapshot().unknown_markets == 1
    with pytest.raises(OutcomeUnknown):
        h.place("n1", "buy", 1)
    assert h.driver.tracker.order("n1") is None  # nothing sent or tracked
    h.driver.send(cancel("c1", "lost-1", h.symbol), h.now)  # cancels always go
    h.pump()  # the exchange never had it: the cancel is refused, the order settled
    changed = []
    while (event := h.driver.next_event()) is not None:
        if isinstance(event, TradingStateChanged):
            changed.append(event)
    assert [e.unknown_markets for e in changed] == [()]
    assert h.driver.metrics.snapshot().unknown_markets == 0
    h.place("n1", "buy", 1)


def test_a_driver_without_the_block_trades_on() -> None:
    h0 = Harness()
    h = Harness(tracker=restored(h0.order("lost-1", "buy", 3)), block_unknown=False)
    h.start()
    h.pump()
    h.place("n1", "buy", 1)
    assert h.driver.tracker.order("n1") is not None


# -- every adapter against the mock gateway; a backtest ---------------------------------------------


def order(cl: str, symbol: str) -> Any:
    return nos(cl, "buy", 1, symbol=symbol, price="0.30")


@ADAPTERS
def test_a_restored_session_blocks_until_the_unknown_order_is_settled(
    adapter: str, prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        client = d.client(h, halt_file=False)
        session = client.order_entry(
            tracker=restored(order("lost-1", h.symbol)), settle_unknown=False
        )
        async with d.opened(session):
            await d.wait_for(session, lambda e: isinstance(e, OrdersUnknown), 10)
            assert session.unknown_markets == (h.symbol,)
            with pytest.raises(OutcomeUnknown) as info:
                session.send(order("n1", h.symbol))
            assert info.value.cl_ord_ids == ("lost-1",)
            session.send(cancel("c1", "lost-1", h.symbol))
            await d.wait_for(
                session,
                lambda e: isinstance(e, TradingStateChanged) and e.unknown_markets == (),
                10,
            )
            await d.call(session.place(order("n1", h.symbol), timeout=10))

    run(adapter, scenario)


def test_a_backtest_strategy_meets_the_same_block(tmp_path: Path) -> None:
    seen: list[str] = []

    def strategy(ctx: Any) -> None:
        client = ctx.client()
        tracker = restored(order("lost-1", ctx.symbol))
        with client.order_entry(tracker=tracker, settle_unknown=False) as oe:
            oe.wait_for(lambda e: isinstance(e, OrdersUnknown), 10)
            try:
                oe.send(order("n1", ctx.symbol))
            except OutcomeUnknown as exc:
                seen.append(f"refused {exc.cl_ord_ids}")
            seen.append(repr(oe.unknown_markets == (ctx.symbol,)))

    backtest(tmp_path, strategy)
    assert seen == ["refused ('lost-1',)", "True"]
