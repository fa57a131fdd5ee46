"""The exchange forgets finished orders: its live state stays flat over a day of orders, and
what must stay answerable (cancels of finished orders, drop-copy replay, closed RFQs) is kept
within documented, configurable bounds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from engine_helpers import BUY, SELL, SYM, T0, UTC, cxl, ers, nos, of, one, rpl
from rfq_helpers import accept, open_rfq, quote, resend, rfq_exchange, to  # noqa: F401

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import Exchange
from kalshi_fix_sansio.simulator.gateway.exchange import (
    DROP_COPY_MAX_REPORTS,
    DROP_COPY_WINDOW_SECONDS,
    FINISHED_ORDERS_KEPT,
)


def traders(**bounds: Any) -> Exchange:
    """alice (a) and bob (b) on KalshiNR, alice's drop copy (dc), one empty market."""
    ex = Exchange(seed=3, **bounds)
    ex.seed_market(SYM, now=T0)
    for sid, account, kind in (("a", "alice", "KalshiNR"), ("b", "bob", "KalshiNR")):
        ex.connect(sid, account, kind, now=T0)
    ex.connect("dc", "alice", "KalshiDC", now=T0)
    return ex


def day_of_orders(ex: Exchange, orders: int, start: float, step: float) -> float:
    """``orders`` orders that finish, about one per ``step`` seconds: fills (alice's resting
    buy taken by bob), cancels, and GTD orders cancelled before their expiry. Returns the
    time after the last."""
    now, placed, i = start, 0, 0
    expire = datetime.fromtimestamp(start, UTC) + timedelta(days=30)
    while placed < orders:
        now += step
        i += 1
        kind = i % 3
        if kind == 0:  # a fill: two orders finish
            ex.handle("a", nos(f"f{i}", BUY, 1, "0.45"), now)
            ex.handle("b", nos(f"g{i}", SELL, 1, "0.45"), now)
            placed += 2
        elif kind == 1:  # a cancel
            ex.handle("a", nos(f"c{i}", BUY, 1, "0.40"), now)
            ex.handle("a", cxl(f"x{i}", f"c{i}", BUY), now)
            placed += 1
        else:  # a GTD order, cancelled 29 days before its expiry
            gtd = nos(f"t{i}", SELL, 2, "0.60", time_in_force=p.TimeInForce.GTD, expire_time=expire)
            ex.handle("b", gtd, now)
            ex.handle("b", cxl(f"y{i}", f"t{i}", SELL), now)
            placed += 1
    return now


def test_memory_stays_flat_over_a_day_of_orders() -> None:
    bounds = {"finished_orders": 1_000, "drop_copy_reports": 2_000}
    ex = traders(**bounds)
    step = 86_400 / 50_000  # 50,000 orders over a day
    now = day_of_orders(ex, 25_000, T0, step)
    half = ex.sizes()
    now = day_of_orders(ex, 25_000, now, step)
    full = ex.sizes()
    # stale expiry entries (GTD orders cancelled early) are swept once they outnumber the open
    # orders' by 1,024: bounded, not constant
    assert half.pop("expiry_entries") <= 1024 and full.pop("expiry_entries") <= 1024
    assert full == half  # flat: the second half of the day added nothing
    assert full["finished_orders"] == bounds["finished_orders"]
    assert full["drop_copy_reports"] <= bounds["drop_copy_reports"]
    assert full["exec_clocks"] <= bounds["drop_copy_reports"]
    for live in ("open_orders", "orders_by_clordid", "resting"):
        assert full[live] == 0, (live, full)
    # a finished order is still answered as Kalshi answers it, the day's first is forgotten
    ex.handle("a", nos("last", BUY, 1, "0.45"), now)
    ex.handle("b", nos("taker", SELL, 1, "0.45"), now)
    reject = one(of(ex.handle("a", cxl("x", "last", BUY), now), p.OrderCancelReject))
    assert (reject.ord_status, reject.cxl_rej_reason) == (p.OrdStatus.FILLED, 0)
    reject = one(of(ex.handle("a", cxl("x", "f3", BUY), now), p.OrderCancelReject))
    assert (reject.ord_status, reject.cxl_rej_reason, reject.text) == (
        p.OrdStatus.REJECTED,
        1,
        "NOT_FOUND",
    )
    out = ex.handle("dc", resend("1;1"), now)  # the first reports are gone: U3 reason 3
    assert one(to(out, "dc")).event_resend_reject_reason == 3


def test_a_cancel_of_a_finished_order_is_answered_until_it_is_forgotten() -> None:
    ex = traders(finished_orders=3)
    ex.handle("a", nos("filled", BUY, 1, "0.45"), T0 + 1)
    ex.handle("b", nos("taker", SELL, 1, "0.45"), T0 + 1)
    ex.handle("a", nos("cancelled", BUY, 1, "0.40"), T0 + 2)
    ex.handle("a", cxl("x1", "cancelled", BUY), T0 + 2)
    assert ex.sizes()["open_orders"] == ex.sizes()["orders_by_clordid"] == 0
    order_ids = {r.cl_ord_id: r.order_id for r in ers(ex.handle("dc", resend("1;1"), T0 + 3), "dc")}

    def answer(request: Any) -> Any:
        return one(of(ex.handle("a", request, T0 + 4), p.OrderCancelReject, "a"))

    too_late = answer(cxl("x2", "filled", BUY))  # filled: too late to cancel (102=0)
    assert (too_late.order_id, too_late.ord_status, too_late.cxl_rej_reason, too_late.text) == (
        order_ids["filled"],
        p.OrdStatus.FILLED,
        0,
        None,
    )
    filled = answer(rpl("x3", "filled", BUY, 2, "0.45"))
    assert (filled.cxl_rej_reason, filled.text) == (2, "CANNOT_UPDATE_FILLED_ORDER")
    gone = answer(cxl("x4", "cancelled", BUY))  # cancelled: unknown, with its OrderID
    assert (gone.order_id, gone.ord_status, gone.cxl_rej_reason, gone.text) == (
        order_ids["cancelled"],
        p.OrdStatus.CANCELED,
        1,
        "NOT_FOUND",
    )
    wrong_side = answer(cxl("x5", "filled", SELL))  # the attributes must still match
    assert (wrong_side.order_id, wrong_side.cxl_rej_reason) == ("NONE", 1)
    # three more finished orders: "filled" (the oldest) is forgotten, then unknown
    for n in range(3):
        ex.handle("a", nos(f"more{n}", BUY, 1, "0.40"), T0 + 5)
        ex.handle("a", cxl(f"z{n}", f"more{n}", BUY), T0 + 5)
    assert ex.sizes()["finished_orders"] == 3
    forgotten = answer(cxl("x6", "filled", BUY))
    assert (forgotten.order_id, forgotten.ord_status, forgotten.cxl_rej_reason) == (
        "NONE",
        p.OrdStatus.REJECTED,
        1,
    )
    assert forgotten.text == "NOT_FOUND"


def test_a_clordid_used_again_after_its_order_finished_names_the_newer_order() -> None:
    ex = traders(finished_orders=10)
    ex.handle("a", nos("same", BUY, 1, "0.45"), T0 + 1)
    ex.handle("b", nos("taker", SELL, 1, "0.45"), T0 + 1)  # "same" filled
    out = ex.handle("a", nos("same", BUY, 1, "0.40"), T0 + 2)  # accepted again, as before
    assert [r.exec_type for r in ers(out, "a")] == [p.ExecType.NEW]
    out = ex.handle("a", cxl("x1", "same", BUY), T0 + 3)  # the open one is cancelled
    assert [r.exec_type for r in ers(out, "a")] == [p.ExecType.CANCELED]
    reject = one(of(ex.handle("a", cxl("x2", "same", BUY), T0 + 4), p.OrderCancelReject))
    assert (reject.ord_status, reject.text) == (p.OrdStatus.CANCELED, "NOT_FOUND")  # the newer


def test_drop_copy_keeps_a_bounded_number_of_reports() -> None:
    ex = traders(drop_copy_reports=4)
    for n in range(4):  # New then Canceled: two reports (one engine call each) per order
        ex.handle("a", nos(f"o{n}", BUY, 1, "0.40"), T0 + n)
        ex.handle("a", cxl(f"x{n}", f"o{n}", BUY), T0 + n)
    assert ex.sizes()["drop_copy_reports"] == 4
    out = ex.handle("dc", resend("5;1", seq=3), T0 + 10)
    *replayed, complete = to(out, "dc")
    assert [(r.cl_ord_id, r.exec_type.value) for r in replayed] == [
        ("o2", "0"),
        ("x2", "4"),
        ("o3", "0"),
        ("x3", "4"),
    ]
    assert complete.resend_event_count == 4
    for begin in ("1;1", "4;1"):  # the forgotten clocks: BeginExecID too small (U3 reason 3)
        reject = one(to(ex.handle("dc", resend(begin), T0 + 10), "dc"))
        assert reject.event_resend_reject_reason == 3


def test_drop_copy_window_is_configurable() -> None:
    ex = traders(drop_copy_window=60)
    ex.handle("a", nos("old", BUY, 1, "0.40"), T0)
    ex.handle("a", nos("new", BUY, 1, "0.40"), T0 + 30)
    out = ex.handle("dc", resend("1;1"), T0 + 61)  # "old" (T0) has left the 60 s window
    assert one(to(out, "dc")).event_resend_reject_reason == 3
    assert [r.cl_ord_id for r in ers(ex.handle("dc", resend("2;1"), T0 + 61), "dc")] == ["new"]
    assert ex.sizes()["drop_copy_reports"] == 1


def test_closed_rfqs_are_forgotten_past_the_bound() -> None:
    ex = Exchange(seed=5, finished_orders=2)
    ex.seed_market("KXRFQ-26JUN15-T50", now=T0)
    ex.connect("rt", "alice", "KalshiRT", now=T0)
    ex.connect("mm", "bob", "KalshiRFQ", now=T0)
    ids = []
    for n in range(5):
        ids.append(open_rfq(ex, f"cr{n}", now=T0 + n))
        ex.handle("mm", quote(f"q{n}", ids[-1]), T0 + n)
        ex.handle("rt", p.RFQCancel(quote_req_id=f"cr{n}"), T0 + n)
    sizes = ex.sizes()
    assert (sizes["rfqs"], sizes["rfqs_by_client"], sizes["quotes"]) == (2, 2, 2)

    def cancel_text(**ids: str) -> str | None:
        return one(to(ex.handle("rt", p.RFQCancel(**ids), T0 + 9), "rt")).text  # type: ignore[no-any-return]

    assert cancel_text(quote_req_id="cr4") == cancel_text(rfq_id=ids[4]) == "RFQ_CLOSED"
    assert cancel_text(quote_req_id="cr0") == cancel_text(rfq_id=ids[0]) == "NOT_FOUND"
    assert one(to(ex.handle("rt", accept("q4"), T0 + 9), "rt")).text == "EXPIRED"
    assert one(to(ex.handle("rt", accept("q0"), T0 + 9), "rt")).text == "NOT_FOUND"


@pytest.mark.parametrize(
    ("bound", "value"),
    [
        ("drop_copy_window", 0),
        ("drop_copy_window", float("nan")),
        ("drop_copy_reports", 0),
        ("drop_copy_reports", 2.5),
        ("finished_orders", -1),
        ("finished_orders", True),
    ],
)
def test_a_bound_that_is_not_positive_is_refused(bound: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"^{bound} must be"):
        Exchange(**{bound: value})  # type: ignore[arg-type]


def test_the_defaults() -> None:
    assert DROP_COPY_WINDOW_SECONDS == 3 * 3600  # Kalshi's lookback
    assert DROP_COPY_MAX_REPORTS == FINISHED_ORDERS_KEPT == 100_000
