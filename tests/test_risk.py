"""Pre-trade risk limits (`kalshi_fix_sansio.trading.risk`): each limit, replaces judged on their effect,
and the property that no sequence of places, replaces, fills and cancels breaches a limit —
through the sans-IO `Driver` against the mock exchange in memory, and through each adapter
against the mock gateway over TLS. A refused request leaves nothing sent and nothing tracked.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_adapters_behaviour import ADAPTERS, Driver, run
from test_driver import Harness

from kalshi_fix_sansio import margin, prediction
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.trading.book import Books
from kalshi_fix_sansio.trading.risk import (
    RiskChecker,
    RiskLimitExceeded,
    RiskLimits,
    SymbolLimits,
    order_notional,
)
from kalshi_fix_sansio.trading.tracker import OrderRejected, OrderTracker

D = Decimal
SYM = "HIGHNY-23DEC31"
DIALECTS: dict[str, Any] = {"prediction": prediction, "margin": margin}


def nos(
    cl: str,
    side: str = "buy",
    qty: Any = 10,
    price: Any = "0.40",
    symbol: str = SYM,
    product: str = "prediction",
) -> Any:
    d = DIALECTS[product]
    return d.NewOrderSingle(
        cl_ord_id=cl,
        side=d.Side.BUY if side == "buy" else d.Side.SELL,
        order_qty=D(qty),
        ord_type=d.OrdType.LIMIT,
        price=D(price),
        symbol=symbol,
        time_in_force=d.TimeInForce.GTC,
    )


def ocrr(
    cl: str, orig: str, qty: Any, price: Any = "0.40", side: str = "buy", symbol: str = SYM
) -> Any:
    return p.OrderCancelReplaceRequest(
        cl_ord_id=cl,
        orig_cl_ord_id=orig,
        side=p.Side.BUY if side == "buy" else p.Side.SELL,
        order_qty=D(qty),
        ord_type=p.OrdType.LIMIT,
        price=D(price),
        symbol=symbol,
    )


def cancel(cl: str, orig: str, side: str = "buy", symbol: str = SYM) -> Any:
    return p.OrderCancelRequest(
        cl_ord_id=cl,
        orig_cl_ord_id=orig,
        side=p.Side.BUY if side == "buy" else p.Side.SELL,
        symbol=symbol,
    )


def er(
    cl: str,
    exec_id: str,
    status: str,
    *,
    qty: Any = 10,
    cum: Any = 0,
    side: str = "buy",
    orig: str | None = None,
    exec_type: str | None = None,
    last_qty: Any = None,
    price: Any = "0.40",
) -> Any:
    """An ExecutionReport of the order ``cl`` (status: OrdStatus code)."""
    fields: dict[str, Any] = {}
    if last_qty is not None:
        fields.update(last_qty=D(last_qty), last_px=D(price))
    return p.ExecutionReport(
        order_id=f"X-{cl}",
        cl_ord_id=cl,
        orig_cl_ord_id=orig,
        exec_id=exec_id,
        exec_type=p.ExecType(exec_type or status),
        ord_status=p.OrdStatus(status),
        side=p.Side.BUY if side == "buy" else p.Side.SELL,
        symbol=SYM,
        order_qty=D(qty),
        cum_qty=D(cum),
        leaves_qty=D(qty) - D(cum),
        avg_px=D(price),
        price=D(price),
        **fields,
    )


def checker(
    limits: RiskLimits, product: str = "prediction", **kw: Any
) -> tuple[RiskChecker, OrderTracker]:
    tracker = OrderTracker()
    return RiskChecker(limits, product=product, tracker=tracker, **kw), tracker


def place(rc: RiskChecker, tracker: OrderTracker, message: Any) -> None:
    """What the driver does: check, record, (send)."""
    rc.check(message)
    tracker.sent(message)
    rc.sent(message)


def refused(rc: RiskChecker, message: Any) -> RiskLimitExceeded:
    with pytest.raises(RiskLimitExceeded) as info:
        rc.check(message)
    return info.value


# -- the limits, one by one -----------------------------------------------------------------------


def test_max_order_qty_names_the_limit_symbol_and_values() -> None:
    rc, _ = checker(RiskLimits(max_order_qty=100))
    rc.check(nos("ok", qty=100))
    error = refused(rc, nos("fat", qty=D("1E+12")))
    assert str(error) == (
        "risk limit max_order_qty=100 refuses 35=D 'fat' on HIGHNY-23DEC31: "
        "order quantity 1000000000000 > 100; nothing was sent"
    )
    assert (error.limit, error.symbol, error.value, error.actual) == (
        "max_order_qty",
        SYM,
        D(100),
        D("1E+12"),
    )
    assert (error.msg_type, error.cl_ord_id) == ("D", "fat")
    assert isinstance(error, LocalProtocolError)


def test_notional_per_product_and_side() -> None:
    assert order_notional("prediction", "1", D(10), D("0.30")) == D("3.00")
    assert order_notional("prediction", "2", D(10), D("0.30")) == D("7.00")  # No at 1 - 0.30
    assert order_notional("prediction", "1", D(10), None) == D(10)
    assert order_notional("margin", "1", D(2), D("19.5")) == D("39.0")
    assert order_notional("margin", "2", D(2), D("19.5")) == D("39.0")
    rc, _ = checker(RiskLimits(max_order_notional=5))
    rc.check(nos("buy", "buy", 10, "0.30"))  # $3.00 of Yes
    error = refused(rc, nos("sell", "sell", 10, "0.30"))  # $7.00 of No
    assert str(error) == (
        "risk limit max_order_notional=5 refuses 35=D 'sell' on HIGHNY-23DEC31: order notional "
        "7.00 > 5 (Sell/No: qty x (1 - price)); nothing was sent"
    )
    assert error.actual == D("7.00")
    mc, _ = checker(RiskLimits(max_order_notional=100), product="margin")
    error = refused(mc, nos("m", "sell", 6, "19.5", symbol="BTC-PERP", product="margin"))
    assert str(error) == (
        "risk limit max_order_notional=100 refuses 35=D 'm' on BTC-PERP: order notional 117.0 > 100 "
        "(qty x price); nothing was sent"
    )


def test_max_open_orders_per_symbol_and_per_account() -> None:
    rc, tracker = checker(RiskLimits(max_open_orders=3, max_open_orders_per_symbol=2))
    place(rc, tracker, nos("a"))
    place(rc, tracker, nos("b"))
    error = refused(rc, nos("c"))
    assert str(error) == (
        "risk limit max_open_orders=2 refuses 35=D 'c' on HIGHNY-23DEC31: 3 open orders in "
        "HIGHNY-23DEC31 > 2; nothing was sent"
    )
    place(rc, tracker, nos("x", symbol="OTHER"))
    error = refused(rc, nos("y", symbol="THIRD"))
    assert str(error) == (
        "risk limit max_open_orders=3 refuses 35=D 'y' on the account: 4 open orders > 3; nothing was sent"
    )
    assert error.symbol is None and rc.open_orders() == 3
    tracker.on_message(er("a", "1;1", "0"))
    tracker.on_message(er("a", "1;2", "4", exec_type="4"))  # canceled: no longer counted
    place(rc, tracker, nos("c"))
    assert rc.exposure(SYM).open_orders == 2


def test_max_position_counts_open_orders_at_worst_case() -> None:
    rc, tracker = checker(RiskLimits(max_position=20))
    place(rc, tracker, nos("b1", "buy", 8))
    tracker.on_message(
        er("b1", "1;1", "1", exec_type="F", qty=8, cum=5, last_qty=5)
    )  # net +5, 3 left
    place(rc, tracker, nos("s1", "sell", 10))
    exposure = rc.exposure(SYM)
    assert (exposure.net, exposure.buy_leaves, exposure.sell_leaves) == (5, 3, 10)
    assert (exposure.worst_long, exposure.worst_short) == (8, 5)
    rc.check(nos("b2", "buy", 12))  # 8 + 12 = 20
    error = refused(rc, nos("b3", "buy", 13))
    assert str(error) == (
        "risk limit max_position=20 refuses 35=D 'b3' on HIGHNY-23DEC31: worst-case long position "
        "21 > 20 (net 5, open buys 3, open sells 10, this order 13); nothing was sent"
    )
    rc.check(nos("s2", "sell", 15))  # 5 + 15 = 20
    error = refused(rc, nos("s3", "sell", 16))
    assert error.limit == "max_position" and error.actual == 21
    assert "worst-case short position 21 > 20" in str(error)


def test_price_collar_absolute() -> None:
    rc, _ = checker(RiskLimits(min_price="0.05", max_price="0.95"))
    rc.check(nos("ok", price="0.05"))
    assert str(refused(rc, nos("lo", price="0.01"))) == (
        "risk limit min_price=0.05 refuses 35=D 'lo' on HIGHNY-23DEC31: price 0.01 < 0.05; nothing was sent"
    )
    assert str(refused(rc, nos("hi", price="0.99"))) == (
        "risk limit max_price=0.95 refuses 35=D 'hi' on HIGHNY-23DEC31: price 0.99 > 0.95; nothing was sent"
    )


def snapshot(symbol: str, bids: list[tuple[str, int]], offers: list[tuple[str, int]]) -> Any:
    entries = [
        p.MarketDataSnapshotFullRefreshMDEntry(
            md_entry_type=p.MDEntryType(kind), md_entry_px=D(px), md_entry_size=D(n)
        )
        for kind, levels in (("0", bids), ("1", offers))
        for px, n in levels
    ]
    return p.MarketDataSnapshotFullRefresh(symbol=symbol, md_entries=entries)


class MarketData:
    """Stands for a market-data session: its ``books`` are read at each check."""

    def __init__(self) -> None:
        self.books: Books | None = None


def test_price_collar_distance_from_the_book() -> None:
    md = MarketData()
    rc, _ = checker(RiskLimits(max_price_distance="0.05"), books=md)
    rc.check(nos("no-book", price="0.99"))  # no book: not checked
    md.books = Books()
    md.books.apply(snapshot(SYM, [("0.40", 10)], [("0.45", 10)]))
    rc.check(nos("b", "buy", price="0.50"))
    assert str(refused(rc, nos("b2", "buy", price="0.51"))) == (
        "risk limit max_price_distance=0.05 refuses 35=D 'b2' on HIGHNY-23DEC31: price 0.51 is "
        "0.06 above the best offer 0.45 > 0.05; nothing was sent"
    )
    rc.check(nos("s", "sell", price="0.35"))
    assert "price 0.34 is 0.06 below the best bid 0.40 > 0.05" in str(
        refused(rc, nos("s2", "sell", price="0.34"))
    )
    md.books.apply(snapshot(SYM, [("0.40", 10)], []))  # no offer: a buy is judged from the best bid
    assert "0.06 above the best bid 0.40" in str(refused(rc, nos("b3", "buy", price="0.46")))
    rc.books = md.books  # a Books itself works too
    rc.check(nos("b4", "buy", price="0.45"))


def test_symbol_overrides_and_reading_back() -> None:
    limits = RiskLimits(
        max_order_qty=100, max_position=50, symbols={"BTC-PERP": SymbolLimits(max_order_qty=5)}
    )
    assert limits.for_symbol("BTC-PERP") == SymbolLimits(max_order_qty=5, max_position=50)
    assert limits.for_symbol(SYM).max_order_qty == 100
    tighter = limits.with_symbol(SYM, SymbolLimits(max_order_qty=1, max_open_orders=2))
    assert tighter.for_symbol(SYM) == SymbolLimits(
        max_order_qty=1, max_open_orders=2, max_position=50
    )
    assert tighter.with_symbol(SYM, None) == limits
    assert limits.replace(max_order_qty=None).max_order_qty is None
    rc, _ = checker(tighter)
    assert refused(rc, nos("o", qty=2)).value == 1
    rc.limits = tighter.with_symbol(SYM, None)  # changed at run time
    rc.check(nos("o", qty=2))


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        (
            {"max_order_qty": 0},
            "RiskLimits.max_order_qty must be a finite number > 0 (or None: no limit), got 0",
        ),
        ({"max_order_notional": "-1"}, "RiskLimits.max_order_notional must be a finite number > 0"),
        ({"max_position": "NaN"}, "RiskLimits.max_position must be a finite number >= 0"),
        (
            {"max_open_orders": -1},
            "RiskLimits.max_open_orders must be an int >= 0 (or None: no limit), got -1",
        ),
        ({"max_open_orders": True}, "RiskLimits.max_open_orders must be an int >= 0"),
        (
            {"min_price": 0.5},
            "RiskLimits.min_price: 0.5 is a float, which is not exact: write Decimal('0.5') or "
            "'0.5'",
        ),
        ({"min_price": "x"}, "RiskLimits.min_price: 'x' is not a number"),
        ({"max_position": "2O0"}, "RiskLimits.max_position: '2O0' is not a number"),
        ({"max_order_qty": 10.5}, "RiskLimits.max_order_qty: 10.5 is a float, which is not exact"),
        ({"max_order_qty": [1]}, "RiskLimits.max_order_qty: [1] is a list, not a number"),
        (
            {"min_price": "0.6", "max_price": "0.5"},
            "RiskLimits: min_price 0.6 is above max_price 0.5",
        ),
        (
            {"symbols": {"X": {"max_order_qty": 1}}},
            "RiskLimits.symbols['X'] must be a SymbolLimits, got dict",
        ),
        ({"symbols": []}, "RiskLimits.symbols must map symbols to SymbolLimits, got list"),
    ],
)
def test_invalid_limits_are_refused_clearly(kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(LocalProtocolError) as info:
        RiskLimits(**kwargs)
    assert str(info.value).startswith(text)


def test_cancels_are_never_refused() -> None:
    rc, _ = checker(
        RiskLimits(max_open_orders=0, max_order_qty=1, max_position=0, max_price="0.01")
    )
    rc.check(cancel("c-1", "o-1"))
    rc.check(
        p.OrderMassCancelRequest(
            cl_ord_id="m-1", mass_cancel_request_type=p.MassCancelRequestType("6")
        )
    )


# -- replaces: judged on their effect ----------------------------------------------------------------


def test_replace_is_judged_as_the_order_it_becomes() -> None:
    rc, tracker = checker(RiskLimits(max_order_qty=10, max_position=15, max_order_notional=4))
    place(rc, tracker, nos("o1", qty=10))
    tracker.on_message(er("o1", "1;1", "0"))
    rc.check(ocrr("o2", "o1", 6))  # lowers the quantity
    error = refused(rc, ocrr("o2", "o1", 11))
    assert str(error) == (
        "risk limit max_order_qty=10 refuses 35=G 'o2' on HIGHNY-23DEC31: order quantity 11 > 10; nothing was sent"
    )
    error = refused(rc, ocrr("o2", "o1", 10, price="0.41"))  # $4.10: a higher price, same qty
    assert error.limit == "max_order_notional" and error.actual == D("4.10")
    place(rc, tracker, nos("o3", qty=5))  # worst long 15
    tracker.on_message(er("o3", "2;1", "0", qty=5))
    rc.limits = rc.limits.replace(max_order_qty=100, max_order_notional=None)
    error = refused(rc, ocrr("o4", "o3", 6))  # +1 leaves
    assert "worst-case long position 16 > 15" in str(error)


def test_a_replace_that_lowers_quantity_always_passes_even_under_tightened_limits() -> None:
    rc, tracker = checker(RiskLimits())
    place(rc, tracker, nos("o1", qty=50))
    tracker.on_message(er("o1", "1;1", "0", qty=50))
    place(rc, tracker, nos("o2", qty=50))
    rc.limits = RiskLimits(
        max_order_qty=10, max_position=5, max_open_orders=1, max_order_notional=1, min_price="0.50"
    )  # tightened below what is open
    rc.check(ocrr("r1", "o1", 40))
    place(rc, tracker, ocrr("r1", "o1", 40))
    rc.check(ocrr("r2", "o1", 30))  # a second replace pending on the same order
    assert refused(rc, nos("new", qty=1, price="0.60")).limit == "max_position"
    assert (
        refused(rc, ocrr("r3", "o2", 50, price="0.30")).limit == "min_price"
    )  # a new price out of the collar


def test_a_pending_replace_counts_once_with_the_larger_leaves() -> None:
    rc, tracker = checker(RiskLimits(max_position=30, max_open_orders=1))
    place(rc, tracker, nos("o1", qty=10))
    tracker.on_message(er("o1", "1;1", "0"))
    place(rc, tracker, ocrr("o2", "o1", 25))  # pending: worst 25, one order
    assert rc.exposure(SYM).buy_leaves == 25 and rc.exposure(SYM).open_orders == 1
    tracker.on_message(er("o2", "1;2", "5", exec_type="5", orig="o1", qty=25))
    assert rc.exposure(SYM).buy_leaves == 25 and rc.open_orders() == 1
    assert "worst-case long position 31 > 30" in str(refused(rc, ocrr("o3", "o2", 31)))


# -- through the Driver: nothing sent, nothing tracked -------------------------------------------------


def test_the_driver_refuses_before_anything_is_sent_or_tracked() -> None:
    h = Harness(risk_limits=RiskLimits(max_order_qty=10))
    h.start()
    seq = h.driver.supervisor.session.next_sender_seq  # type: ignore[union-attr]
    with pytest.raises(RiskLimitExceeded, match="max_order_qty=10"):
        h.driver.send(h.order("fat", "buy", 11), h.now)
    assert h.driver.data_to_send() == b""
    assert h.driver.tracker.order("fat") is None
    assert h.driver.supervisor.session.next_sender_seq == seq  # type: ignore[union-attr]
    h.driver.send(h.order("ok", "buy", 10), h.now)  # raw send: tracked by the driver
    assert h.driver.tracker.order("ok") is not None
    h.pump()
    assert [o.cl_ord_id for o in h.exchange.open_orders("key-1")] == ["ok"]
    # limits read back and changed at run time
    assert h.driver.gate.risk_limits == RiskLimits(max_order_qty=10)
    h.driver.gate.risk_limits = None
    h.driver.send(h.order("big", "buy", 11), h.now)
    h.driver.gate.risk_limits = RiskLimits(max_open_orders_per_symbol=2)
    with pytest.raises(RiskLimitExceeded, match="3 open orders"):
        h.driver.send(h.order("third", "buy", 1), h.now)
    with pytest.raises(LocalProtocolError, match="risk_limits must be a RiskLimits, got dict"):
        h.driver.gate.risk_limits = {"max_order_qty": 1}  # type: ignore[assignment]


def test_a_live_clordid_is_refused_locally_and_a_failed_send_is_forgotten() -> None:
    h = Harness()
    h.start()
    h.place("o-1", "buy", 5)
    with pytest.raises(LocalProtocolError) as info:
        h.driver.send(h.order("o-1", "buy", 5), h.now)
    assert str(info.value) == (
        "ClOrdID 'o-1' is still live (NEW order, HIGHNY-23DEC31): Kalshi requires a ClOrdID that "
        "matches no open order; use a new one (nothing was sent)"
    )
    with pytest.raises(LocalProtocolError, match="still live"):
        h.driver.send(ocrr("o-1", "o-1", 4), h.now)
    assert h.driver.data_to_send() == b""
    assert len(h.exchange.open_orders("key-1")) == 1
    h.drop()
    with pytest.raises(Exception, match="reconnect"):
        h.driver.send(h.order("o-2", "buy", 5), h.now)  # cannot be sent: not tracked
    assert h.driver.tracker.order("o-2") is None


def test_an_order_refused_by_a_business_reject_stops_counting() -> None:
    h = Harness(risk_limits=RiskLimits(max_open_orders=1))
    h.start()
    h.driver.send(h.order("o-1", "buy", 5), h.now)
    assert h.gateway is not None
    h.gateway.receive_data(h.driver.data_to_send(), h.now)
    assert [e.message.MSG_TYPE for e in h.gateway.events() if hasattr(e, "message")] == [
        "D"
    ]  # not to the exchange
    h.gateway.send(
        p.BusinessMessageReject(
            ref_seq_num=2,
            ref_msg_type="D",
            business_reject_ref_id="o-1",
            business_reject_reason=p.BusinessRejectReason(0),
            text="no",
        ),
        h.now,
    )
    h.pump()
    assert h.driver.tracker.rejection("o-1") is not None
    h.place("o-2", "buy", 5)  # o-1 no longer counts


# -- the property: no sequence breaches a limit ---------------------------------------------------------

LIMITS = RiskLimits(
    max_order_qty=12,
    max_order_notional=8,
    max_open_orders=3,
    max_position=20,
    min_price="0.30",
    max_price="0.50",
)

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("place"),
            st.sampled_from(["buy", "sell"]),
            st.integers(1, 16),
            st.sampled_from(["0.25", "0.35", "0.40", "0.45", "0.55"]),
        ),
        st.tuples(
            st.just("replace"),
            st.integers(0, 5),
            st.integers(1, 16),
            st.sampled_from(["0.35", "0.40", "0.60"]),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("fill"), st.sampled_from(["buy", "sell"]), st.integers(1, 8)),
    ),
    min_size=1,
    max_size=14,
)


def assert_within(orders: list[Any], net: Decimal, limits: RiskLimits = LIMITS) -> None:
    """The exchange's view of the account breaches no limit."""
    assert len(orders) <= (limits.max_open_orders or 10**9)
    buys = sum((o.leaves_qty for o in orders if o.side == "1"), D(0))
    sells = sum((o.leaves_qty for o in orders if o.side == "2"), D(0))
    assert net + buys <= limits.max_position  # type: ignore[operator]
    assert sells - net <= limits.max_position  # type: ignore[operator]
    for o in orders:
        assert o.order_qty <= limits.max_order_qty  # type: ignore[operator]
        assert (
            order_notional("prediction", o.side, o.order_qty, o.price) <= limits.max_order_notional
        )  # type: ignore[operator]
        assert limits.min_price <= o.price <= limits.max_price  # type: ignore[operator]


def live(tracker: OrderTracker) -> list[Any]:
    return sorted(tracker.open_orders(), key=lambda o: o.cl_ord_id)


@settings(max_examples=25, deadline=None)
@given(ops)
def test_no_sequence_breaches_a_limit_through_the_driver(steps: list[Any]) -> None:
    h = Harness(risk_limits=LIMITS)
    h.start()
    ids = itertools.count(1)
    for step in steps:
        message = None
        if step[0] == "place":
            _, side, qty, price = step
            message = h.order(f"o-{next(ids)}", side, qty, D(price))
        elif step[0] in ("replace", "cancel") and live(h.driver.tracker):
            orders = live(h.driver.tracker)
            target = orders[step[1] % len(orders)]
            side = "buy" if target.side == "1" else "sell"
            if step[0] == "replace":
                message = ocrr(f"o-{next(ids)}", target.cl_ord_id, step[2], step[3], side)
            else:
                message = cancel(f"c-{next(ids)}", target.cl_ord_id, side)
        elif step[0] == "fill":
            h.other_trades("sell" if step[1] == "buy" else "buy", [step[2]])
        if message is not None:
            sent = len(h.sent)
            try:
                h.driver.send(message, h.now)
            except RiskLimitExceeded:
                assert message.MSG_TYPE != "F"
                assert h.driver.data_to_send() == b""
                order = h.driver.tracker.order(message.cl_ord_id)
                assert order is None
                h.pump()
                assert len(h.sent) == sent
            h.pump()
        assert_within(h.exchange.open_orders("key-1"), h.exchange.position(SYM, "key-1"))


# -- through each adapter, against the mock gateway over TLS -------------------------------------------

_markets = itertools.count(1)


@ADAPTERS
@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=ops)
def test_no_sequence_breaches_a_limit_through_each_adapter(
    adapter: str, prediction_gateway: GatewayHarness, steps: list[Any]
) -> None:
    h = prediction_gateway
    symbol = (
        f"RISK-{next(_markets)}"  # a fresh market per example: its orders and position start empty
    )
    h.gateway.seed_market(symbol)
    limits = LIMITS.replace(max_open_orders=None, max_open_orders_per_symbol=3)

    def truth() -> tuple[list[Any], Decimal]:
        orders = h.gateway.call(
            lambda: [o for o in h.gateway.exchange.open_orders("key-1") if o.symbol == symbol]
        )
        return orders, h.gateway.call(lambda: h.gateway.exchange.position(symbol, "key-1"))

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry(risk_limits=limits)
        async with d.opened(session):
            assert session.risk_limits == limits
            for n, step in enumerate(steps):
                cl = f"{symbol}-{n}"
                message = None
                orders = sorted(session.tracker.open_orders(symbol), key=lambda o: o.cl_ord_id)
                if step[0] == "place":
                    message = nos(cl, step[1], step[2], step[3], symbol=symbol)
                elif step[0] in ("replace", "cancel") and orders:
                    target = orders[step[1] % len(orders)]
                    side = "buy" if target.side == "1" else "sell"
                    if step[0] == "replace":
                        message = ocrr(cl, target.cl_ord_id, step[2], step[3], side, symbol=symbol)
                    else:
                        message = cancel(cl, target.cl_ord_id, side, symbol=symbol)
                elif step[0] == "fill":  # house liquidity crossing the book
                    px = D("0.30") if step[1] == "buy" else D("0.50")
                    key = "bids" if step[1] == "buy" else "asks"
                    h.gateway.seed_market(symbol, **{key: [(px, D(step[2]))]})
                if message is None:
                    continue
                seq = session.session.next_sender_seq
                try:
                    if message.MSG_TYPE == "F":
                        await d.call(session.cancel(message, timeout=5))
                    else:
                        await d.call(session.place(message, timeout=5))
                except RiskLimitExceeded:
                    assert session.session.next_sender_seq == seq  # nothing sent
                    assert session.tracker.order(cl) is None  # nothing tracked
                    assert all(o.cl_ord_id != cl for o in truth()[0])
                except OrderRejected:
                    pass  # the gateway's answer (e.g. a replace below the filled quantity)
                assert_within(*truth(), limits=limits.replace(max_open_orders=3))

    run(adapter, scenario)


@ADAPTERS
def test_limits_change_at_run_time_on_a_session(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry()
        assert session.risk_limits is None
        session.risk_limits = RiskLimits(max_order_qty=2)  # before open: kept for it
        async with d.opened(session):
            with pytest.raises(RiskLimitExceeded, match="order quantity 3 > 2"):
                session.send(nos("r-1", qty=3))
            assert session.tracker.order("r-1") is None
            session.risk_limits = session.risk_limits.replace(max_order_qty=3)
            placed = await d.call(session.place(nos("r-1", qty=3, price="0.41")))
            assert placed.order_qty == 3
            with pytest.raises(LocalProtocolError, match="'r-1' is still live"):
                session.send(nos("r-1", qty=1))
            await d.call(session.cancel(cancel("r-c", "r-1")))

    run(adapter, scenario)
