"""The reduce-only trading state: between active and halted, only what can only shrink a
position goes (`ReduceOnlyRefused` for the rest; cancels always go).

Hand-worked cases on an `OrderGate` for both products (prediction: Side 1 buys Yes, Side 2
sells Yes = buys No, a long No is a negative net; margin: long and short), the open orders on
the order's side counted as filled; replaces judged as their new quantity; a halt wins; a
resend withheld while reduce-only. Then the session's and the client's switch on every
adapter against the mock gateway over TLS, the halt file's reduce-only mode (``kalshi-fix kill
--reduce-only``), and a backtest.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from gateway_fixtures import SYMBOL, GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run
from test_driver import Harness
from test_risk import nos as risk_nos
from test_risk import ocrr

from kalshi_fix_sansio import (
    OrderGate,
    ReduceOnlyRefused,
    TradingHalt,
    TradingHalted,
    TradingState,
    TradingStateChanged,
    margin,
    prediction,
)
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.session.events import ApplicationMessage, ResendWithheld
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing import SessionPair
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
from kalshi_fix_sansio.trading.gate import WITHHELD_WHILE_REDUCE_ONLY
from kalshi_fix_sansio.trading.haltfile import HaltFile
from kalshi_fix_sansio.trading.tracker import OrderStatus

D = Decimal
DIALECTS: dict[str, Any] = {"prediction": prediction, "margin": margin}
PX = {"prediction": "0.40", "margin": "19.4"}
SYM = "HIGHNY-23DEC31"
OTHER = "OTHER-MKT"


def nos(
    cl: str,
    side: str,
    qty: int,
    product: str = "prediction",
    symbol: str = SYM,
    *,
    price: str | None = None,
    ioc: bool = False,
) -> Any:
    """A limit order (GTC, or IOC), at ``price`` (the product's usual one when None)."""
    message = risk_nos(cl, side, qty, price or PX[product], symbol, product)
    if ioc:
        return attrs.evolve(message, time_in_force=DIALECTS[product].TimeInForce.IOC)
    return message


def replace(cl: str, orig: str, side: str, qty: int) -> Any:
    return ocrr(cl, orig, qty, side=side)


def report(
    cl: str,
    exec_id: str,
    side: str,
    qty: int,
    filled: int,
    product: str = "prediction",
    *,
    symbol: str = SYM,
    canceled: bool = False,
) -> Any:
    """An ExecutionReport: New (``filled`` 0), a fill of all ``filled`` contracts, or
    ``canceled``."""
    d = DIALECTS[product]
    status = "0" if filled == 0 else ("2" if filled == qty else "1")
    status = "4" if canceled else status
    fields: dict[str, Any] = {}
    if filled:
        fields.update(last_qty=D(filled), last_px=D(PX[product]))
    return d.ExecutionReport(
        order_id=f"X-{cl}",
        cl_ord_id=cl,
        exec_id=exec_id,
        exec_type=d.ExecType("4" if canceled else "F" if filled else "0"),
        ord_status=d.OrdStatus(status),
        side=d.Side.BUY if side == "buy" else d.Side.SELL,
        symbol=symbol,
        order_qty=D(qty),
        cum_qty=D(filled),
        leaves_qty=D(0 if canceled else qty - filled),
        avg_px=D(PX[product]),
        price=D(PX[product]),
        **fields,
    )


def gate_with(product: str, *fills: tuple[str, int]) -> OrderGate:
    """A gate whose tracker holds the position the fills (side, qty) in ``SYM`` make."""
    gate = OrderGate(product)
    for n, (side, qty) in enumerate(fills):
        cl = f"fill-{n}"
        gate.tracker.sent(nos(cl, side, qty, product))
        gate.tracker.on_message(report(cl, f"e-{n}", side, qty, qty, product))
    return gate


def rest(gate: OrderGate, cl: str, side: str, qty: int, product: str = "prediction") -> None:
    """An order that passed the gate rests (acknowledged, nothing filled)."""
    message = nos(cl, side, qty, product)
    gate.check(message)
    gate.tracker.sent(message)
    gate.tracker.on_message(report(cl, f"n-{cl}", side, qty, 0, product))


def refused(gate: OrderGate, message: Any) -> ReduceOnlyRefused:
    with pytest.raises(ReduceOnlyRefused) as info:
        gate.check(message)
    return info.value


# -- hand-worked cases ------------------------------------------------------------------------------


def test_prediction_long_yes_only_sells_of_yes_pass_up_to_flat() -> None:
    """Long 10 Yes. Selling Yes (Side 2, buying No) reduces it; the open sells count as
    filled: 10 - 4 (resting) - 6 = 0 passes, - 7 would cross to a long No."""
    gate = gate_with("prediction", ("buy", 10))
    assert gate.tracker.position(SYM).net == 10
    gate.reduce_only("wind down")
    assert gate.state == (TradingState.REDUCE_ONLY, "wind down")
    rest(gate, "s1", "sell", 4)
    gate.check(nos("s2", "sell", 6))  # 10 - 4 - 6 = 0: flat at worst
    error = refused(gate, nos("s3", "sell", 7))  # 10 - 4 - 7 = -1: a long No
    assert (error.msg_type, error.symbol, error.reason) == ("D", SYM, "wind down")
    assert str(error) == (
        "35=D on HIGHNY-23DEC31 refused: trading is reduce-only (wind down) and a sell 7 could "
        "grow the position (net 10, open on that side 4: only an order that keeps the position "
        "on its side of zero and moves it toward zero passes); nothing was sent (rearm() to "
        "trade freely again)"
    )
    refused(gate, nos("b1", "buy", 1))  # more Yes
    refused(gate, nos("o1", "sell", 1, symbol=OTHER))  # flat elsewhere: nothing to reduce
    gate.check(
        p.OrderCancelRequest(cl_ord_id="c1", orig_cl_ord_id="s1", side=p.Side.SELL, symbol=SYM)
    )  # cancels always go
    gate.rearm()
    gate.check(nos("b1", "buy", 1))


def test_prediction_long_no_only_buys_of_yes_pass() -> None:
    """Long 5 No (sold 5 Yes: net -5). Buying Yes reduces it, up to 5."""
    gate = gate_with("prediction", ("sell", 5))
    assert gate.tracker.position(SYM).net == -5
    gate.reduce_only("wind down")
    gate.check(nos("b1", "buy", 5))
    refused(gate, nos("b2", "buy", 6))
    refused(gate, nos("s1", "sell", 1))  # more No


def test_margin_long_and_short() -> None:
    """Margin: long 3 (bought 5, sold 2) sells up to 3; short 4 buys up to 4."""
    long_ = gate_with("margin", ("buy", 5), ("sell", 2))
    long_.reduce_only("risk off")
    long_.check(nos("s", "sell", 3, "margin"))
    refused(long_, nos("s", "sell", 4, "margin"))
    refused(long_, nos("b", "buy", 1, "margin"))
    short = gate_with("margin", ("sell", 4))
    short.reduce_only("risk off")
    rest(short, "b1", "buy", 1, "margin")
    short.check(nos("b2", "buy", 3, "margin"))  # -4 + 1 + 3 = 0
    refused(short, nos("b2", "buy", 4, "margin"))
    refused(short, nos("s", "sell", 1, "margin"))


def test_a_replace_is_judged_as_its_new_quantity() -> None:
    """Long 10, a sell of 4 resting: replaced to 7 (10 - 7 = 3) passes, to 11 does not; a
    replace that does not grow its order always passes."""
    gate = gate_with("prediction", ("buy", 10))
    rest(gate, "s1", "sell", 4)
    gate.reduce_only("wind down")
    gate.check(replace("s1b", "s1", "sell", 7))
    gate.check(replace("s1b", "s1", "sell", 10))
    refused(gate, replace("s1b", "s1", "sell", 11))
    gate.check(replace("s1b", "s1", "sell", 2))


def test_a_halt_wins_and_a_shared_reduce_only_holds_until_its_owner_rearms() -> None:
    gate_shared = TradingHalt()
    gate = OrderGate("prediction", shared_halt=gate_shared)
    gate.tracker.sent(nos("f", "buy", 3))
    gate.tracker.on_message(report("f", "e", "buy", 3, 3))
    gate_shared.reduce_only("the client's reduce_only()")
    gate.check(nos("s", "sell", 3))
    gate.rearm()  # the session's own rearm does not lift the client's
    assert gate.state == (TradingState.REDUCE_ONLY, "the client's reduce_only()")
    gate.halt("the kill switch")
    with pytest.raises(TradingHalted):
        gate.check(nos("s", "sell", 3))  # halted wins, even for an order that reduces
    gate.reduce_only("wind down")  # the gate's own state: reduce-only, not halted
    gate.check(nos("s", "sell", 3))
    gate_shared.rearm()
    gate.rearm()
    assert gate.state == (TradingState.ACTIVE, None)


def test_a_stored_order_that_would_grow_is_withheld_from_a_resend() -> None:
    """KalshiRT: an order written while the exchange reads nothing, then reduce-only (flat:
    a buy would grow), then the exchange asks again: the order is gap-filled, ends REJECTED
    (not received), and the cancel is resent."""
    gate = OrderGate("prediction")
    pair = SessionPair.kalshi(session_type="KalshiRT", order_gate=gate)
    lost = [False]
    pair.filter_bytes = lambda way, data: b"" if lost[0] and way == "c2s" else data
    pair.start()
    lost[0] = True
    seq = pair.client.session.send(nos("sneak", "buy", 2), pair.now)
    pair.client.session.send(
        p.OrderCancelRequest(cl_ord_id="c-1", orig_cl_ord_id="x", side=p.Side.BUY, symbol=SYM),
        pair.now,
    )
    pair.pump()
    gate.reduce_only("wind down")
    lost[0] = False
    pair.client.session.send_test_request(pair.now)
    pair.pump()
    withheld = [e for e in pair.client.events if isinstance(e, ResendWithheld)]
    assert withheld == [ResendWithheld((seq,), ("D",), ("sneak",))]
    got = [e.message.MSG_TYPE for e in pair.server.events if isinstance(e, ApplicationMessage)]
    assert got == ["F"]
    order = gate.tracker.order("sneak")
    assert order is not None and order.status is OrderStatus.REJECTED
    assert order.rejection is not None and order.rejection.text == WITHHELD_WHILE_REDUCE_ONLY


def test_the_driver_announces_the_state_and_the_metric_follows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    h.start()
    with caplog.at_level(logging.WARNING):
        h.driver.reduce_only("wind down")
    logged = [r for r in caplog.records if getattr(r, "event", None) == "TradingStateChanged"]
    assert [r.levelno for r in logged] == [logging.WARNING]
    assert "reduce_only" in logged[0].getMessage() and "wind down" in logged[0].getMessage()
    with pytest.raises(ReduceOnlyRefused):
        h.place("b1", "buy", 1)
    assert h.driver.tracker.order("b1") is None  # nothing sent, nothing tracked
    assert h.driver.metrics.snapshot().trading_state == "reduce_only"
    h.driver.rearm()
    changes = []
    while (event := h.driver.next_event()) is not None:
        if isinstance(event, TradingStateChanged):
            changes.append((event.state, event.reason))
    assert changes == [
        (TradingState.REDUCE_ONLY, "wind down"),
        (TradingState.ACTIVE, None),
    ]
    assert h.driver.metrics.snapshot().trading_state == "active"


# -- every adapter against the mock gateway ---------------------------------------------------------


def ioc(cl: str, side: str, qty: int, product: str, price: str) -> Any:
    return nos(cl, side, qty, product, SYMBOL[product], price=price, ioc=True)


CROSS = {"prediction": ("0.45", "0.40"), "margin": ("19.6", "19.4")}  # the book's ask, bid


@ADAPTERS
def test_the_client_winds_a_book_down(adapter: str, tls_gateway: GatewayHarness) -> None:
    """Bought 5 (long), the client goes reduce-only: a buy is refused, a sell of 6 too (it
    would cross), a sell of 5 fills to flat; every session says so (`TradingStateChanged`);
    `rearm` trades again."""
    h = tls_gateway
    product = h.product
    ask, bid = CROSS[product]

    async def scenario(d: Driver) -> None:
        kind = d.module.MarginFixClient if product == "margin" else d.module.FixClient
        client = kind(h.credentials(), **h.client_kwargs(halt_file=False))
        session = client.order_entry()
        async with d.opened(session):
            await d.call(session.place(ioc("b1", "buy", 5, product, ask), timeout=10))
            assert session.tracker.position(h.symbol).net == 5
            client.reduce_only("wind down")
            event = await d.wait_for(session, lambda e: isinstance(e, TradingStateChanged), 5)
            assert (event.state, event.reason) == (TradingState.REDUCE_ONLY, "wind down")
            assert session.trading_state is TradingState.REDUCE_ONLY
            with pytest.raises(ReduceOnlyRefused):
                session.send(ioc("b2", "buy", 1, product, ask))
            with pytest.raises(ReduceOnlyRefused):
                session.send(ioc("s0", "sell", 6, product, bid))
            await d.call(session.place(ioc("s1", "sell", 5, product, bid), timeout=10))
            assert session.tracker.position(h.symbol).net == 0
            with pytest.raises(ReduceOnlyRefused):
                session.send(ioc("s2", "sell", 1, product, bid))  # flat: nothing to reduce
            client.rearm()
            event = await d.wait_for(session, lambda e: isinstance(e, TradingStateChanged), 5)
            assert event.state is TradingState.ACTIVE
            await d.call(session.place(ioc("b3", "buy", 1, product, ask), timeout=10))
        held = h.gateway.call(lambda: h.gateway.exchange.position(h.symbol, "key-1"))
        assert held == 1

    run(adapter, scenario)


@ADAPTERS
def test_the_halt_file_s_reduce_only_mode(
    adapter: str, prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    """``kalshi-fix kill --reduce-only`` writes the key's halt file in its reduce-only mode:
    a session of the key is reduce-only from its open (nothing cancelled), until the file
    goes."""
    h = prediction_gateway
    halt_file = HaltFile("key-1", tmp_path / "halts", interval=0.05)
    from datetime import datetime, timezone

    record = halt_file.halt(at=datetime.now(timezone.utc), host="desk", mode="reduce_only")
    assert record.reason.startswith("a reduce-only order from the shell at ")

    async def scenario(d: Driver) -> None:
        client = d.client(h, halt_file=halt_file)
        session = client.order_entry()
        async with d.opened(session):
            assert session.trading_state is TradingState.REDUCE_ONLY
            with pytest.raises(ReduceOnlyRefused) as info:
                session.send(ioc("b1", "buy", 1, "prediction", "0.45"))
            assert info.value.reason == record.reason
            halt_file.rearm()
            await d.wait_for(
                session,
                lambda e: isinstance(e, TradingStateChanged) and e.state is TradingState.ACTIVE,
                5,
            )
            await d.call(session.place(ioc("b2", "buy", 1, "prediction", "0.45"), timeout=10))

    run(adapter, scenario)


# -- a backtest -------------------------------------------------------------------------------------


def backtest(tmp_path: Path, strategy: Any) -> Any:
    """Run ``strategy`` (blocking API) over a short recording."""
    path = tmp_path / "day.log"
    with path.open("w") as out:
        write_recording(out, messages=60, seed=3)
    return run_backtest(strategy, path, seed=1)


def test_a_backtest_strategy_uses_the_same_switch(tmp_path: Path) -> None:
    seen: list[str] = []

    def strategy(ctx: Any) -> None:
        client = ctx.client()
        with client.order_entry() as oe:
            client.reduce_only("backtest wind-down")
            try:
                oe.send(nos("bt-1", "buy", 1, symbol=ctx.symbol))
            except ReduceOnlyRefused as exc:
                seen.append(f"refused {exc.msg_type} {exc.reason}")
            seen.append(oe.trading_state.value)
            client.rearm()
            seen.append(oe.trading_state.value)

    result = backtest(tmp_path, strategy)
    assert seen == ["refused D backtest wind-down", "reduce_only", "active"]
    assert all(r.account.bought == r.account.sold == 0 for r in result.report.rows)


def test_an_rfq_accept_is_judged_as_the_trade_it_makes() -> None:
    """Long 10 Yes. An AcceptQuote selling Yes to the maker's Yes bid (Side 2) for 10 passes,
    for 11 does not; one buying Yes never does; one naming a quote never seen cannot be judged;
    a QuoteRequest (it trades nothing) goes."""
    quote_id, rfq_id = (
        "6f1c1d36-8e0b-4a0e-9a57-6d3a1c2b3e4f",
        "0b7f3f5e-2f0a-4d8e-8a51-9e6c2d4f1a7b",
    )
    gate = gate_with("prediction", ("buy", 10))
    gate.observe(
        p.Quote(
            quote_id=quote_id,
            quote_req_id=rfq_id,
            symbol=SYM,
            bid_px=D("0.40"),
            offer_px=D("0.55"),
            bid_size=D(100),
            offer_size=D(100),
        )
    )
    gate.reduce_only("wind down")

    def accept(qty: int, side: Any, quote: str = quote_id) -> Any:
        return p.AcceptQuote(quote_id=quote, side=side, order_qty=D(qty))

    gate.check(accept(10, p.Side.SELL))
    error = refused(gate, accept(11, p.Side.SELL))
    assert (error.msg_type, error.symbol) == ("UA", SYM)
    refused(gate, accept(1, p.Side.BUY))
    assert "cannot be judged" in str(refused(gate, accept(1, p.Side.SELL, rfq_id)))
    gate.check(
        p.QuoteRequest(
            quote_req_id="rfq-2",
            related_sym=[p.QuoteRequestRelatedSym(symbol=SYM, order_qty=D(5))],
        )
    )
