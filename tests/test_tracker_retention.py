"""The order tracker's retention: bounded memory, and replays of evicted orders recognised."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from test_tracker import SYM, er, histories, nos

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.trading.tracker import OrderStatus, OrderTracker

D = Decimal
HEADER = Header(
    sender_comp_id="Kalshi",
    target_comp_id="key-1",
    msg_seq_num=7,
    sending_time=datetime(2026, 11, 20, 14, 30, tzinfo=timezone.utc),
)


def filled(t: OrderTracker, cl: str, clock: int, index: int | None = None) -> list[Any]:
    """Feed ``cl``: New, a partial fill, the rest (ExecIDs ``clock;1..3[;index]``); the reports."""
    tail = "" if index is None else f";{index}"
    reports = [
        er(cl, f"{clock};1{tail}", "0", "0"),
        er(cl, f"{clock};2{tail}", "F", "1", cum=4, last=("0.40", 4)),
        er(cl, f"{clock};3{tail}", "F", "2", cum=10, last=("0.40", 6)),
    ]
    t.on_messages(reports)
    return reports


def test_the_limits_are_arguments_with_defaults_read_back_as_attributes() -> None:
    t = OrderTracker()
    assert (t.max_terminal_orders, t.max_unordered_exec_ids) == (10_000, 50_000)
    t = OrderTracker(max_terminal_orders=None, max_unordered_exec_ids=0)
    assert (t.max_terminal_orders, t.max_unordered_exec_ids) == (None, 0)
    for bad in (
        {"max_terminal_orders": 0},
        {"max_terminal_orders": True},
        {"max_unordered_exec_ids": -1},
        {"max_terminal_orders": 1.5},
    ):
        with pytest.raises(LocalProtocolError, match=next(iter(bad))):
            OrderTracker(**bad)


def test_final_orders_beyond_the_limit_are_evicted_positions_are_not() -> None:
    t = OrderTracker(max_terminal_orders=2)
    t.sent(nos("live"))
    t.on_message(er("live", "1;1", "0", "0"))
    for n in range(5):
        t.sent(nos(f"o-{n}"))
        filled(t, f"o-{n}", 10 + n)
    assert sorted(t.orders) == ["live", "o-3", "o-4"]  # the live order stays, whatever its age
    assert [f.cl_ord_id for f in t.fills] == ["o-3", "o-3", "o-4", "o-4"]
    assert t.order("o-0") is None and t.rejection("o-0") is None
    assert t.position(SYM).net == 50 and t.position(SYM).avg_price == D("0.40")  # every fill
    assert t.has_exec_id("10;3") and t.has_exec_id("14;3") and not t.has_exec_id("15;1")
    assert not t.has_exec_id("-1;-1")  # pending reports share it: it identifies none


def test_a_replay_of_evicted_orders_counts_nothing_twice_and_resurrects_nothing() -> None:
    t = OrderTracker(max_terminal_orders=1)
    history: list[Any] = []
    for n in range(4):
        history += filled(t, f"o-{n}", 10 + n)
    t.sent(nos("c-1"))
    history.append(er("c-1", "20;1", "0", "0"))
    history.append(er("c-1", "21;1", "4", "4", qty=0, cum=0))  # canceled
    t.on_messages(history[-2:])
    before = (sorted(t.orders), len(t.fills), t.position(SYM).net, t.position(SYM).fees)
    assert before == (["c-1"], 0, 40, D("0.08"))
    new = [r.exec_id for r in history if not t.has_exec_id(r.exec_id)]
    assert new == []  # what catch-up code counts: nothing in the replay is new
    t.on_messages(history)  # a drop-copy replay of the last hours, after the live stream
    t.on_messages(
        p.decode(p.encode(r, HEADER.replace(poss_dup_flag=True))) for r in history
    )  # PossDup
    assert (sorted(t.orders), len(t.fills), t.position(SYM).net, t.position(SYM).fees) == before
    assert not t.open_orders()
    # a report not seen before, of an order not seen before (above the watermark): tracked
    t.on_message(er("o-9", "30;1", "0", "0"))
    assert t.order("o-9") is not None and t.order("o-9").status is OrderStatus.NEW  # type: ignore[union-attr]


def test_a_resent_pending_report_of_an_evicted_order_does_not_resurrect_it() -> None:
    t = OrderTracker(max_terminal_orders=1)
    pending = er("o-0", "-1;-1", "A", "A")
    t.sent(nos("o-0"))
    t.on_message(pending)
    filled(t, "o-0", 10)
    filled(t, "o-1", 11)  # o-0 is evicted
    assert t.order("o-0") is None
    t.on_message(p.decode(p.encode(pending, HEADER.replace(poss_dup_flag=True))))
    assert t.order("o-0") is None and not t.open_orders()
    # drop copy never replays pending reports; a live one (no PossDup) is a new order's
    t.on_message(er("o-2", "-1;-1", "A", "A"))
    assert t.order("o-2").status is OrderStatus.PENDING_NEW  # type: ignore[union-attr]


def test_a_replace_chain_is_kept_whole_until_its_latest_version_is_final() -> None:
    t = OrderTracker(max_terminal_orders=1)
    t.sent(nos("r-1"))
    t.on_message(er("r-1", "1;1", "0", "0"))
    t.on_message(er("r-2", "2;1", "5", "5", qty=8, orig="r-1"))  # r-1 is final (replaced)
    t.sent(p.OrderCancelRequest(cl_ord_id="r-c", orig_cl_ord_id="r-2", side=p.Side.BUY, symbol=SYM))
    for n in range(3):
        filled(t, f"o-{n}", 10 + n)
    assert [o.cl_ord_id for o in t.chain("r-1")] == ["r-1", "r-2"] and t.current("r-1") is t.order(
        "r-c"
    )
    t.on_message(er("r-c", "20;1", "4", "4", qty=0, orig="r-2"))  # the cancel: the chain is final
    filled(t, "o-9", 21)  # one more final order: the chain goes, cancel request included
    assert t.order("r-1") is t.order("r-2") is t.order("r-c") is None and sorted(t.orders) == [
        "o-9"
    ]
    t.on_messages(
        [er("r-2", "2;1", "5", "5", qty=8, orig="r-1"), er("r-c", "20;1", "4", "4", orig="r-2")]
    )
    assert sorted(t.orders) == ["o-9"]  # their reports again: recognised


def test_the_watermark_is_per_exchange_index() -> None:
    t = OrderTracker(max_terminal_orders=1)
    filled(t, "x-1", 500, index=1)
    filled(t, "x-2", 501, index=1)  # x-1 evicted: index 1's watermark is 500;3
    assert t.has_exec_id("500;3;1") and not t.has_exec_id("500;3") and not t.has_exec_id("500;3;2")
    t.on_message(er("y-1", "7;1", "0", "0"))  # index 0: clock 7 is behind index 1's, yet new
    assert t.order("y-1") is not None
    t.on_message(er("x-1", "500;2;1", "F", "1", cum=4, last=("0.40", 4)))
    assert t.order("x-1") is None and t.position(SYM).net == 20


def test_the_rules_limit_a_never_seen_order_below_the_watermark_is_taken_for_a_replay() -> None:
    # docs/tracker.md, "Retention": the price of a compact rule
    t = OrderTracker(max_terminal_orders=1)
    filled(t, "o-1", 10)
    filled(t, "o-2", 11)  # o-1 evicted: watermark 10;3
    t.on_message(er("late", "9;5", "0", "0"))  # never seen, but older than an evicted order
    assert t.order("late") is None and t.has_exec_id("9;5")
    t.sent(nos("mine"))  # an order the tracker holds is never affected
    t.on_message(er("mine", "9;6", "0", "0"))
    assert t.order("mine").status is OrderStatus.NEW  # type: ignore[union-attr]


def test_execids_not_in_kalshis_form_are_remembered_exactly_up_to_their_limit() -> None:
    t = OrderTracker(max_terminal_orders=1, max_unordered_exec_ids=3)
    for n in range(3):  # 3 ExecIDs each
        t.on_messages(
            [
                er(f"u-{n}", f"u{n}-new", "0", "0"),
                er(f"u-{n}", f"u{n}-f1", "F", "1", cum=4, last=("0.40", 4)),
                er(f"u-{n}", f"u{n}-f2", "F", "2", cum=10, last=("0.40", 6)),
            ]
        )
    # u-0 and u-1 were evicted: only u-1's three ExecIDs are still remembered
    assert [t.has_exec_id(f"u{n}-f1") for n in range(3)] == [False, True, True]
    t.on_message(er("u-1", "u1-f2", "F", "2", cum=10, last=("0.40", 6)))
    assert t.order("u-1") is None and t.position(SYM).net == 30


def test_loose_request_ids_are_bounded_too() -> None:
    t = OrderTracker(max_terminal_orders=2)
    for n in range(4):  # 35=9 for cancels this tracker never saw sent: tied to no order
        t.on_message(
            p.OrderCancelReject(
                order_id="x",
                cl_ord_id=f"c-{n}",
                orig_cl_ord_id=f"gone-{n}",
                ord_status="8",
                cxl_rej_response_to="1",
                cxl_rej_reason=1,
                text="NOT_FOUND",
            )
        )
    assert [t.rejection(f"c-{n}") is not None for n in range(4)] == [False, False, True, True]
    t.assign_group("future", "g")  # a group for an order not seen yet is kept until it comes
    t.on_message(er("future", "1;1", "0", "0"))
    assert t.order("future").group_id == "g"  # type: ignore[union-attr]


def test_soak_retained_state_stays_flat() -> None:
    """50,000 orders (New, partial fill, fill): orders, fills, ExecIDs and bytes kept stay flat."""
    t = OrderTracker(max_terminal_orders=1000)
    price, qty, zero, four, six = D("0.42"), D(10), D(0), D(4), D(6)
    buy, new, trade = p.Side.BUY, p.ExecType.NEW, p.ExecType.TRADE
    s_new, s_part, s_filled = p.OrdStatus.NEW, p.OrdStatus.PARTIALLY_FILLED, p.OrdStatus.FILLED
    feed = t.on_message

    def orders(first: int, last: int) -> None:
        for i in range(first, last):
            cl, c = f"o-{i}", 3 * i
            feed(
                p.ExecutionReport(
                    cl_ord_id=cl,
                    exec_id=f"{c + 1};1",
                    exec_type=new,
                    ord_status=s_new,
                    symbol=SYM,
                    side=buy,
                    order_qty=qty,
                    cum_qty=zero,
                    order_id=cl,
                )
            )
            feed(
                p.ExecutionReport(
                    cl_ord_id=cl,
                    exec_id=f"{c + 2};1",
                    exec_type=trade,
                    ord_status=s_part,
                    symbol=SYM,
                    side=buy,
                    order_qty=qty,
                    cum_qty=four,
                    last_px=price,
                    last_qty=four,
                )
            )
            feed(
                p.ExecutionReport(
                    cl_ord_id=cl,
                    exec_id=f"{c + 3};1",
                    exec_type=trade,
                    ord_status=s_filled,
                    symbol=SYM,
                    side=buy,
                    order_qty=qty,
                    cum_qty=qty,
                    last_px=price,
                    last_qty=six,
                )
            )

    orders(0, 45_000)
    assert (len(t), len(t.fills)) == (1000, 2000)
    gc.collect()
    tracemalloc.start()
    try:
        orders(45_000, 47_500)
        gc.collect()
        middle = tracemalloc.get_traced_memory()[0]
        orders(47_500, 50_000)
        gc.collect()
        end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert (len(t), len(t.fills), len(t.open_orders())) == (1000, 2000, 0)
    assert t.position(SYM).net == 500_000 and t.position(SYM).avg_price == price
    assert end - middle < 16 * 1024, (middle, end)  # flat: unbounded, 2,500 orders keep ~2.5 MB
    assert middle < 3 * 1024 * 1024  # what 1,000 retained orders take, with room
    assert t.has_exec_id("1;1") and t.has_exec_id("150000;1") and not t.has_exec_id("150001;1")


@settings(max_examples=100, deadline=None)
@given(histories(), histories())
def test_a_tracker_keeping_one_final_order_agrees_with_one_keeping_all(
    first: Any, second: Any
) -> None:
    """Live stream in ExecID order, then any replay: same positions, same orders where kept."""
    sent, reports = first
    for message in second[0]:  # a second batch of orders, later (their own ClOrdIDs, ExecIDs)
        sent.append(
            message.replace(cl_ord_id=f"b{message.cl_ord_id}")
            if message.MSG_TYPE == "D"
            else message.replace(
                cl_ord_id=f"b{message.cl_ord_id}", orig_cl_ord_id=f"b{message.orig_cl_ord_id}"
            )
        )
    offset = 1 + max(int(r.exec_id.split(";")[0]) for r in reports)
    for r in second[1]:
        clock = int(r.exec_id.split(";")[0])
        reports.append(
            r.replace(
                cl_ord_id=f"b{r.cl_ord_id}",
                exec_id=f"{offset + clock};1",
                orig_cl_ord_id=None if r.orig_cl_ord_id is None else f"b{r.orig_cl_ord_id}",
            )
        )
    small, full = OrderTracker(max_terminal_orders=1), OrderTracker(max_terminal_orders=None)
    for t in (small, full):
        for message in sent:
            t.sent(message)
        t.on_messages(reports)
        t.on_messages(reports[::-1] + reports)  # a replay, twice, in any order
    assert {s: (x.net, x.fees) for s, x in small.positions.items()} == {
        s: (x.net, x.fees) for s, x in full.positions.items()
    }
    for cl, order in small.orders.items():
        theirs = full.order(cl)
        assert theirs is not None and (order.status, order.cum_qty, order.fills) == (
            theirs.status,
            theirs.cum_qty,
            theirs.fills,
        )
    assert {o.cl_ord_id for o in small.open_orders()} == {o.cl_ord_id for o in full.open_orders()}
    assert all(small.has_exec_id(r.exec_id) for r in reports if r.exec_id != "-1;-1")
