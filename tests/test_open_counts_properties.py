"""Property tests of the live-order counts the risk checks read (`OrderTracker.open_counts`).

Random flows of requests and answers, on a few ClOrdIDs and two symbols so that they collide:
new orders, replaces (chains, several pending, one answered by a cancel), cancels, every
ExecutionReport (pending, new, partial fill, fill, canceled, replaced, rejected, expired, a
report of an order the tracker never saw sent, a copy of a report already applied),
OrderCancelReject (too late, and "unknown order" proving a request never arrived),
BusinessMessageReject, a request proven never received (`not_received`, as a drop-copy
catch-up or a halt's withheld resend ends it), a request that could not be sent (`discard`),
and eviction of final orders (``max_terminal_orders`` small).

After every change, through the public API (`RiskChecker.exposure`, `RiskChecker.open_orders`,
`OrderTracker.open_counts`), the counts kept as the tracker changes equal a full recount of
`OrderTracker.orders` by the rules of `kalshi_fix_sansio.trading.risk`: for three trackers fed the same
flow: counts kept from the start, counts first asked for halfway (a tracker restored from a log
or a catch-up, then given to a session with limits: counted once, then kept), and a checker
built afresh on the first tracker at a random step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.trading.risk import RiskChecker, RiskLimitExceeded, RiskLimits
from kalshi_fix_sansio.trading.tracker import OrderTracker

D = Decimal
SYMBOLS = ("AAA-26", "BBB-26")
ORDERS = 4  # ClOrdIDs o0..o3: collisions on purpose
CANCELS = 3  # c0..c2
LIMITS = RiskLimits(
    max_order_qty=1000,
    max_order_notional=100_000,
    max_open_orders=1000,
    max_open_orders_per_symbol=1000,
    max_position=100_000,
)

# ExecutionReport (ExecType, OrdStatus) pairs
REPORTS = (
    ("A", "A"),  # pending new
    ("0", "0"),  # new
    ("F", "1"),  # partial fill
    ("F", "2"),  # fill
    ("4", "4"),  # canceled
    ("5", "0"),  # replaced
    ("8", "8"),  # rejected
    ("C", "C"),  # expired
    ("6", "6"),  # pending cancel
    ("E", "E"),  # pending replace
)

order_ids = st.integers(0, ORDERS - 1).map(lambda i: f"o{i}")
cancel_ids = st.integers(0, CANCELS - 1).map(lambda i: f"c{i}")
qtys = st.integers(0, 12)
sides = st.sampled_from(("1", "2"))
symbols = st.sampled_from(SYMBOLS)

new_orders = st.tuples(st.just("D"), order_ids, symbols, sides, qtys)
replaces = st.tuples(st.just("G"), order_ids, order_ids, sides, qtys)
reports = st.tuples(
    st.just("8"),
    st.one_of(order_ids, cancel_ids),
    st.one_of(st.none(), order_ids),
    st.sampled_from(REPORTS),
    qtys,
    qtys,
    st.one_of(st.none(), symbols),
    sides,
    st.booleans(),  # a copy of the last report applied (same ExecID)
)
# a replacement's own report naming the order it replaces: the chain's transitions
chain_reports = st.tuples(
    st.just("8"),
    order_ids,
    order_ids,
    st.sampled_from((("5", "0"), ("5", "1"), ("4", "4"), ("0", "0"), ("F", "1"), ("8", "8"))),
    qtys,
    qtys,
    st.none(),
    sides,
    st.just(False),
)
steps = st.one_of(
    new_orders,
    new_orders,
    replaces,
    replaces,
    st.tuples(st.just("F"), cancel_ids, order_ids),
    reports,
    reports,
    chain_reports,
    chain_reports,
    st.tuples(st.just("9"), st.one_of(order_ids, cancel_ids), order_ids, st.booleans()),
    st.tuples(st.just("j"), st.one_of(order_ids, cancel_ids)),
    st.tuples(st.just("not_received"), order_ids),
    st.tuples(st.just("discard"), st.one_of(order_ids, cancel_ids)),
    st.tuples(st.just("checker")),
)


class Flow:
    """Builds the messages of a step (ExecIDs numbered as they come)."""

    def __init__(self) -> None:
        self.clock = 0
        self.last_exec_id = "0;1"

    def message(self, step: tuple[Any, ...]) -> Any:
        kind = step[0]
        if kind == "D":
            _, cl, symbol, side, qty = step
            return p.NewOrderSingle(
                cl_ord_id=cl,
                side=p.Side(side),
                order_qty=D(qty),
                ord_type=p.OrdType.LIMIT,
                price=D("0.40"),
                symbol=symbol,
                time_in_force=p.TimeInForce.GTC,
            )
        if kind == "G":
            _, cl, orig, side, qty = step
            return p.OrderCancelReplaceRequest(
                cl_ord_id=cl,
                orig_cl_ord_id=orig,
                side=p.Side(side),
                order_qty=D(qty),
                ord_type=p.OrdType.LIMIT,
                price=D("0.41"),
                symbol=SYMBOLS[0],
            )
        if kind == "F":
            _, cl, orig = step
            return p.OrderCancelRequest(
                cl_ord_id=cl, orig_cl_ord_id=orig, side=p.Side.BUY, symbol=SYMBOLS[0]
            )
        if kind == "8":
            _, cl, orig, (exec_type, status), qty, cum, symbol, side, again = step
            if exec_type in ("A", "6", "E"):
                exec_id = "-1;-1"
            elif again:
                exec_id = self.last_exec_id
            else:
                self.clock += 1
                exec_id = self.last_exec_id = f"{self.clock};1"
            cum = min(cum, qty)
            fill: dict[str, Any] = {}
            if exec_type == "F":
                fill = {"last_qty": D(1), "last_px": D("0.40")}
            return p.ExecutionReport(
                order_id=f"X-{orig or cl}",
                cl_ord_id=cl,
                orig_cl_ord_id=orig,
                exec_id=exec_id,
                exec_type=p.ExecType(exec_type),
                ord_status=p.OrdStatus(status),
                side=p.Side(side),
                symbol=symbol,
                order_qty=D(qty),
                cum_qty=D(cum),
                leaves_qty=D(qty - cum),
                avg_px=D("0.40"),
                price=D("0.40"),
                **fill,
            )
        if kind == "9":
            _, cl, orig, unknown = step
            return p.OrderCancelReject(
                order_id=f"X-{orig}",
                cl_ord_id=cl,
                orig_cl_ord_id=orig,
                ord_status="0",
                cxl_rej_response_to="1",
                cxl_rej_reason=1 if unknown else 0,
                text="Unknown order" if unknown else "Too late",
            )
        if kind == "j":
            return p.BusinessMessageReject(
                ref_seq_num=1,
                text="Kalshi exchange unavailable",
                ref_msg_type="D",
                business_reject_ref_id=step[1],
                business_reject_reason=4,
            )
        return None


def apply(tracker: OrderTracker, step: tuple[Any, ...], message: Any) -> None:
    kind = step[0]
    if kind in ("D", "G", "F"):
        try:
            tracker.sent(message)
        except LocalProtocolError:
            pass  # a ClOrdID in use: refused, nothing changed
    elif kind in ("8", "9", "j"):
        tracker.on_message(message)
    elif kind == "not_received":
        tracker.not_received(step[1], "not in the drop-copy replay")
    elif kind == "discard":
        tracker.discard(step[1])


def recount(tracker: OrderTracker) -> tuple[int, dict[str, tuple[int, Decimal, Decimal]]]:
    """Every order walked: live chains per symbol (an unacknowledged replacement keyed by the
    ClOrdID it replaces), each side's leaves the largest of the chain's versions on it."""
    chains: dict[tuple[str, str], list[Decimal]] = {}
    for order in tracker.orders.values():
        if order.terminal or order.symbol is None:
            continue
        key = order.cl_ord_id
        if not order.acknowledged and order.orig_cl_ord_id is not None:
            key = order.orig_cl_ord_id
        leaves = chains.setdefault((order.symbol, key), [D(0), D(0)])
        side = 0 if order.side == "1" else 1
        leaves[side] = max(leaves[side], order.leaves_qty)
    out: dict[str, tuple[int, Decimal, Decimal]] = {}
    for (symbol, _), (buy, sell) in chains.items():
        count, buys, sells = out.get(symbol, (0, D(0), D(0)))
        out[symbol] = (count + 1, buys + buy, sells + sell)
    return len(chains), out


def agree(tracker: OrderTracker, checker: RiskChecker) -> None:
    total, per_symbol = recount(tracker)
    counts = tracker.open_counts()
    assert checker.open_orders() == total == counts.open_orders()
    for symbol in SYMBOLS:
        count, buys, sells = per_symbol.get(symbol, (0, D(0), D(0)))
        exposure = checker.exposure(symbol)
        assert (exposure.open_orders, exposure.buy_leaves, exposure.sell_leaves) == (
            count,
            buys,
            sells,
        ), (symbol, tracker.orders)
        assert exposure.net == tracker.position(symbol).net
        assert counts.open_orders(symbol) == count


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    flow=st.lists(steps, min_size=20, max_size=80),
    keep=st.sampled_from((None, 2)),
    halfway=st.integers(0, 80),
)
def test_counts_equal_a_recount_after_every_change(
    flow: list[tuple[Any, ...]], keep: int | None, halfway: int
) -> None:
    first = OrderTracker(max_terminal_orders=keep)
    checker = RiskChecker(LIMITS, product="prediction", tracker=first)
    late = OrderTracker(max_terminal_orders=keep)
    late_checker: RiskChecker | None = None
    build = Flow()
    for number, step in enumerate(flow):
        if number == halfway:  # counted once from what it holds, then kept
            late_checker = RiskChecker(LIMITS, product="prediction", tracker=late)
        if step[0] == "checker":
            checker = RiskChecker(LIMITS, product="prediction", tracker=first)
            continue
        message = build.message(step)
        apply(first, step, message)
        apply(late, step, message)
        agree(first, checker)
        if late_checker is not None:
            agree(late, late_checker)
    assert first.orders.keys() == late.orders.keys()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=st.lists(steps, min_size=1, max_size=40))
def test_open_order_limits_refuse_exactly_at_the_recount(flow: list[tuple[Any, ...]]) -> None:
    """A new order is refused by ``max_open_orders`` exactly when the recount is at the limit."""
    tracker = OrderTracker()
    checker = RiskChecker(RiskLimits(), product="prediction", tracker=tracker)
    build = Flow()
    for step in flow:
        apply(tracker, step, build.message(step))
        total, per_symbol = recount(tracker)
        for limits, count in (
            (RiskLimits(max_open_orders=total), total),
            (RiskLimits(max_open_orders_per_symbol=per_symbol.get(SYMBOLS[0], (0,))[0]), None),
        ):
            checker.limits = limits
            probe = build.message(("D", "new", SYMBOLS[0], "1", 1))
            with pytest.raises(RiskLimitExceeded) as refused:
                checker.check(probe)
            assert refused.value.limit == "max_open_orders"
            assert count is None or refused.value.actual == count + 1
            checker.limits = limits.replace(
                max_open_orders=None if limits.max_open_orders is None else total + 1,
                max_open_orders_per_symbol=(
                    None
                    if limits.max_open_orders_per_symbol is None
                    else limits.max_open_orders_per_symbol + 1
                ),
            )
            checker.check(probe)
