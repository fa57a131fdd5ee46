"""The exchange driven by a recording (`Exchange.replay`): client orders against recorded books.

Each test states one of the paper-trading assumptions docs/paper-trading.md lists: taking
recorded liquidity (walking levels, fees), the queue ahead of a resting order, trades through
its price, recorded liquidity crossing it, the recording never changed by client liquidity, and
what a recorded SecurityStatus (halt, reopening, end of trading) does to client orders.
"""

from __future__ import annotations

import random
from datetime import date, time
from decimal import Decimal as D
from typing import Any

from engine_helpers import BUY, SELL, SYM, T0, cxl, group_req, md_req, nos, of, rpl

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import Exchange, Outbound

DAY, CLOCK = date(2026, 6, 15), time(14, 0)


def level(action: str, kind: str, px: str, size: str) -> Any:
    return p.MarketDataIncrementalRefreshMDEntry(
        md_update_action=p.MDUpdateAction(action),
        symbol=SYM,
        md_entry_type=p.MDEntryType(kind),
        md_entry_px=D(px),
        md_entry_size=D(size),
        md_entry_date=DAY,
        md_entry_time=CLOCK,
    )


def trade(px: str, size: str, aggressor: str, trade_id: str = "t-1") -> Any:
    return p.MarketDataIncrementalRefreshMDEntry(
        md_update_action=p.MDUpdateAction("0"),
        symbol=SYM,
        md_entry_type=p.MDEntryType("2"),
        md_entry_px=D(px),
        md_entry_size=D(size),
        md_entry_date=DAY,
        md_entry_time=CLOCK,
        aggressor_side=p.AggressorSide(aggressor),
        trade_id=trade_id,
    )


def incremental(*entries: Any) -> Any:
    return p.MarketDataIncrementalRefresh(md_entries=entries)


def snapshot(bids: list[tuple[str, str]], offers: list[tuple[str, str]]) -> Any:
    entries = [
        p.MarketDataSnapshotFullRefreshMDEntry(
            md_entry_type=p.MDEntryType(kind),
            md_entry_px=D(px),
            md_entry_size=D(size),
            md_entry_date=DAY,
            md_entry_time=CLOCK,
        )
        for kind, levels in (("0", bids), ("1", offers))
        for px, size in levels
    ]
    return p.MarketDataSnapshotFullRefresh(symbol=SYM, md_entries=tuple(entries))


def recorded_exchange(**options: Any) -> Exchange:
    """An exchange with one trader (NR) and one market-data subscriber, book 0.40 x 0.45
    (``options``: the `Exchange`'s)."""
    ex = Exchange("prediction", **options)
    ex.connect("nr", "alice", "KalshiNR", now=T0)
    ex.connect("md", "alice-md", "KalshiMD", now=T0)
    ex.replay(snapshot([("0.40", "10"), ("0.39", "20")], [("0.45", "5"), ("0.46", "10")]), T0)
    ex.handle("md", md_req("1", SYM), T0)
    return ex


def fills(out: list[Outbound]) -> list[tuple[D, D, D]]:
    """(LastPx, LastQty, fee) of alice's trade reports."""
    return [
        (m.last_px, m.last_qty, sum((f.misc_fee_amt for f in m.misc_fees or ()), D(0)))
        for m in of(out, p.ExecutionReport, "nr")
        if m.exec_type == p.ExecType.TRADE
    ]


def test_a_crossing_order_walks_the_recorded_levels_with_taker_fees() -> None:
    ex = recorded_exchange()
    out = ex.handle("nr", nos("b1", BUY, 8, "0.46"), T0 + 1)
    # 5 at 0.45, then 3 at 0.46; taker fee 0.07 * q * p * (1 - p), rounded up to the cent
    assert fills(out) == [(D("0.45"), D("5"), D("0.09")), (D("0.46"), D("3"), D("0.06"))]
    assert ex.position(SYM, "alice") == 8
    assert ex.top_of_book(SYM)[1] == (D("0.46"), D("7"))


def test_taken_liquidity_stays_taken_until_the_recording_shows_it_gone() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("b1", BUY, 3, "0.45"), T0 + 1)
    assert ex.top_of_book(SYM)[1] == (D("0.45"), D("2"))
    ex.replay(incremental(level("1", "1", "0.45", "6")), T0 + 2)  # someone adds 1
    assert ex.top_of_book(SYM)[1] == (D("0.45"), D("3"))  # 6 recorded - 3 taken
    ex.replay(incremental(level("1", "1", "0.45", "2")), T0 + 3)  # 4 leave: the 3 we took
    assert ex.top_of_book(SYM)[1] == (D("0.45"), D("2"))


def test_taken_liquidity_stays_taken_while_the_level_grows_with_no_client_order_left() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("b1", BUY, 3, "0.45"), T0 + 1)  # filled: no client order rests
    ex.replay(incremental(level("1", "1", "0.45", "6")), T0 + 2)
    assert ex.top_of_book(SYM)[1] == (D("0.45"), D("3"))  # 6 recorded - 3 taken
    ex.replay(incremental(level("1", "1", "0.45", "7")), T0 + 3)  # the 3 still taken
    assert ex.top_of_book(SYM)[1] == (D("0.45"), D("4"))


def test_a_resting_order_fills_only_after_the_queue_ahead_of_it() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("b1", BUY, 4, "0.40"), T0 + 1)  # behind 10 at 0.40
    out = ex.replay(incremental(level("1", "0", "0.40", "7")), T0 + 2)  # 3 cancelled ahead
    assert fills(out) == []
    out = ex.replay(incremental(trade("0.40", "5", "2"), level("1", "0", "0.40", "2")), T0 + 3)
    assert fills(out) == []  # 7 ahead, 5 traded: 2 still ahead
    out = ex.replay(incremental(trade("0.40", "5", "2", "t-2")), T0 + 4)
    # 2 ahead consumed, 3 of the 5 reach us: maker fee 0.0175 * 3 * 0.4 * 0.6, rounded up
    assert fills(out) == [(D("0.40"), D("3"), D("0.02"))]
    md = of(out, p.MarketDataIncrementalRefresh, "md")[0]
    trades = [e for e in md.md_entries if e.md_entry_type == p.MDEntryType.TRADE]
    assert [(e.md_entry_px, e.md_entry_size, e.trade_id) for e in trades] == [
        (D("0.40"), D("5.00"), "t-2")  # the recorded trade, as recorded
    ]


def test_size_added_after_a_resting_order_is_behind_it() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("b1", BUY, 2, "0.40"), T0 + 1)  # 10 ahead
    ex.replay(incremental(level("1", "0", "0.40", "30")), T0 + 2)  # 20 join behind us
    out = ex.replay(incremental(trade("0.40", "11", "2")), T0 + 3)
    assert fills(out) == [(D("0.40"), D("1"), D("0.01"))]


def test_a_recorded_trade_through_a_resting_price_fills_it() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("s1", SELL, 4, "0.43"), T0 + 1)  # inside the spread, alone at 0.43
    out = ex.replay(incremental(trade("0.45", "3", "1")), T0 + 2)  # a buyer paid 0.45
    assert fills(out) == [(D("0.43"), D("3"), D("0.02"))]
    assert ex.position(SYM, "alice") == -3


def test_recorded_liquidity_crossing_a_resting_order_trades_with_it() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("b1", BUY, 4, "0.43"), T0 + 1)
    out = ex.replay(incremental(level("0", "1", "0.42", "10")), T0 + 2)  # an offer at 0.42
    assert fills(out) == [(D("0.43"), D("4"), D("0.02"))]
    assert ex.top_of_book(SYM)[1] == (D("0.42"), D("6"))


def test_market_data_shows_the_client_order_in_its_level() -> None:
    ex = recorded_exchange()
    out = ex.handle("nr", nos("b1", BUY, 4, "0.40"), T0 + 1)
    md = of(out, p.MarketDataIncrementalRefresh, "md")[0]
    assert [(e.md_entry_px, e.md_entry_size) for e in md.md_entries] == [(D("0.40"), D("14.00"))]
    out = ex.replay(incremental(level("1", "0", "0.40", "12")), T0 + 2)
    md = of(out, p.MarketDataIncrementalRefresh, "md")[0]
    assert [(e.md_entry_px, e.md_entry_size) for e in md.md_entries] == [(D("0.40"), D("16.00"))]


def test_cancels_and_the_kill_switch_work_as_live() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("b1", BUY, 4, "0.40"), T0 + 1)
    out = ex.handle("nr", cxl("c1", "b1", BUY), T0 + 2)
    assert [m.ord_status for m in of(out, p.ExecutionReport, "nr")] == [p.OrdStatus.CANCELED]
    out = ex.replay(incremental(trade("0.40", "50", "2")), T0 + 3)
    assert fills(out) == []
    assert ex.open_orders("alice") == []


def test_a_recorded_settlement_settles_the_market() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("b1", BUY, 2, "0.45"), T0 + 1)
    report = p.MarketSettlementReport(
        market_settlement_report_id="r-1",
        symbol=SYM,
        clearing_business_date=DAY,
        market_result=p.MarketResult("yes"),
        settlement_price=D("1"),
    )
    ex.replay(report, T0 + 2)
    assert ex.position(SYM, "alice") == 0
    assert ex.top_of_book(SYM) == (None, None)
    out = ex.handle("nr", nos("b2", BUY, 1, "0.45"), T0 + 3)
    assert [m.text for m in of(out, p.ExecutionReport, "nr")] == ["MARKET_ALREADY_CLOSED"]


def test_recorded_fills_count_in_an_order_group_and_trigger_it() -> None:
    ex = recorded_exchange()
    out = ex.handle("nr", group_req(1, limit=3), T0)
    gid = of(out, p.OrderGroupResponse, "nr")[0].order_group_id
    ex.handle("nr", nos("b1", BUY, 2, "0.41", secondary_cl_ord_id=gid), T0 + 1)
    ex.handle("nr", nos("b2", BUY, 5, "0.40", secondary_cl_ord_id=gid), T0 + 1)
    out = ex.replay(incremental(trade("0.39", "4", "2")), T0 + 2)  # sells through both bids
    reports = of(out, p.ExecutionReport, "nr")
    assert [(m.cl_ord_id, m.exec_type, m.text) for m in reports] == [
        ("b1", p.ExecType.TRADE, None),
        ("b2", p.ExecType.TRADE, None),  # 4 contracts > 3: the group cancels what is left
        ("b2", p.ExecType.CANCELED, "ORDER_GROUP_CANCEL"),
    ]


def test_the_exchange_clock_in_a_replay_is_the_recordings() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("b1", BUY, 1, "0.40"), T0 + 1)
    out = ex.replay(incremental(trade("0.40", "20", "2")), T0 + 3600.25)
    (fill,) = of(out, p.ExecutionReport, "nr")
    assert fill.transact_time.timestamp() == T0 + 3600.25
    md = of(out, p.MarketDataIncrementalRefresh, "md")[0]
    assert md.md_entries[0].md_entry_time.isoformat() == "15:00:00.250000+00:00"


def status(code: int) -> Any:
    return p.SecurityStatus(symbol=SYM, security_trading_status=p.SecurityTradingStatus(code))


def texts(out: list[Outbound], cls: type[Any] = p.ExecutionReport) -> list[tuple[str, Any]]:
    return [(m.cl_ord_id, m.text) for m in of(out, cls, "nr")]


def test_a_recorded_halt_refuses_orders_until_the_market_reopens() -> None:
    ex = recorded_exchange()
    ex.handle("md", p.SecurityStatusRequest(subscription_request_type="1", symbol=SYM), T0)
    ex.handle("nr", nos("b1", BUY, 4, "0.40"), T0 + 1)  # resting before the halt
    out = ex.replay(status(2), T0 + 2)
    (halt,) = of(out, p.SecurityStatus, "md")  # subscribers get the recorded status
    assert halt.security_trading_status == p.SecurityTradingStatus(2)
    out = ex.handle("nr", nos("b2", BUY, 1, "0.45"), T0 + 3)
    (rejected,) = of(out, p.ExecutionReport, "nr")
    assert (rejected.ord_status, rejected.text) == (p.OrdStatus.REJECTED, "MARKET_INACTIVE")
    assert rejected.ord_rej_reason == p.OrdRejReason(2)
    out = ex.handle("nr", rpl("b1r", "b1", BUY, 4, "0.41"), T0 + 3)
    assert texts(out, p.OrderCancelReject) == [("b1r", "MARKET_INACTIVE")]
    assert [o.cl_ord_id for o in ex.open_orders("alice")] == ["b1"]  # resting orders stay
    out = ex.replay(status(3), T0 + 4)  # reactivated: Kalshi cancels resting orders
    assert texts(out) == [("b1", "MARKET_REACTIVATED")]
    assert ex.open_orders("alice") == []
    out = ex.handle("nr", nos("b3", BUY, 2, "0.45"), T0 + 5)
    assert [m.exec_type for m in of(out, p.ExecutionReport, "nr")][-1] == p.ExecType.TRADE


def test_cancels_work_while_a_recorded_halt_lasts() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("b1", BUY, 4, "0.40"), T0 + 1)
    ex.replay(status(2), T0 + 2)
    out = ex.handle("nr", cxl("c1", "b1", BUY), T0 + 3)
    assert [m.ord_status for m in of(out, p.ExecutionReport, "nr")] == [p.OrdStatus.CANCELED]
    out = ex.replay(status(3), T0 + 4)
    assert texts(out) == []  # nothing left to cancel


def test_recorded_end_of_trading_cancels_and_refuses_then_the_market_settles() -> None:
    ex = recorded_exchange()
    ex.handle("nr", nos("b1", BUY, 2, "0.45"), T0 + 1)  # bought 2
    ex.handle("nr", nos("b2", BUY, 3, "0.40"), T0 + 1)  # resting
    out = ex.replay(status(100), T0 + 2)  # trading ended, result determined
    assert texts(out) == [("b2", "MARKET_ALREADY_CLOSED")]
    out = ex.handle("nr", nos("b3", BUY, 1, "0.45"), T0 + 3)
    assert texts(out) == [("b3", "MARKET_ALREADY_CLOSED")]
    assert ex.position(SYM, "alice") == 2
    ex.settle(SYM, "yes", T0 + 4)  # the replay's settle, or a recorded 35=UMS
    assert ex.settled(SYM) and ex.position(SYM, "alice") == 0


def test_the_recorded_mid_follows_the_best_levels_as_they_come_and_go() -> None:
    """`recorded_mid` (kept as the levels change) is the mid of the recorded best bid and offer
    after every change: new bests, the best removed, a side emptied, prices written twice."""
    ex = Exchange("prediction")
    rng = random.Random(3)
    book: dict[str, dict[D, D]] = {"0": {}, "1": {}}
    assert ex.recorded_mid(SYM) is None
    for step in range(600):
        kind = rng.choice("01")
        px = D(rng.randrange(30, 70)) / 100 if kind == "0" else D(rng.randrange(50, 90)) / 100
        if step % 7 == 0:
            px = px.quantize(D("0.001"))  # the same price written another way
        size = D(0) if rng.random() < 0.4 else D(rng.randrange(1, 50))
        if size:
            book[kind][px] = size
        else:
            book[kind].pop(px, None)
        entry = (kind, SYM, px, size, "2" if not size else "0", None, None)
        ex.replay_row("X", None, None, None, (entry,), T0 + step)
        bids, asks = book["0"], book["1"]
        want = (max(bids) + min(asks)) / 2 if bids and asks else None
        assert ex.recorded_mid(SYM) == want, step


def test_a_level_comes_out_the_same_with_a_client_order_elsewhere_in_the_book() -> None:
    """`RecordedMarkets.level` takes a short path in a book with no client order (nothing to
    take, cross or queue behind); a client order anywhere in the book sends every level of it
    through the general path. With one resting far below every recorded level (nothing
    reaches it), random level changes and trades (their credit set against the decreases)
    give the same market data, books and mids either way, and the same state behind them:
    client orders joining both books halfway fill alike."""
    fast, general = recorded_exchange(), recorded_exchange()
    general.handle("nr", nos("far", BUY, 1, "0.01"), T0)
    rng = random.Random(11)
    for step in range(800):
        if step == 400:  # both books take the general path from here: what the short one left
            for ex in (fast, general):
                for n in range(30, 45):  # one behind each recorded bid's queue
                    ex.handle("nr", nos(f"b{n}", BUY, 3, f"0.{n}"), T0 + 400)
        kind = rng.choice("01")
        px = D(rng.randrange(30, 45)) / 100 if kind == "0" else D(rng.randrange(50, 65)) / 100
        size = D(0) if rng.random() < 0.2 else D(rng.randrange(1, 40))
        entries: tuple[tuple[Any, ...], ...] = (
            (kind, SYM, px, size, "2" if not size else "1", None, None),
        )
        if rng.random() < 0.5:  # a trade at that level first, the level's decrease after it
            traded = D(rng.randrange(1, 30))
            aggressor = "2" if kind == "0" else "1"
            entries = (("2", SYM, px, traded, "0", aggressor, f"t-{step}"), *entries)
        now = T0 + 1 + step
        out = [ex.replay_row("X", None, None, None, entries, now) for ex in (fast, general)]
        assert fills(out[0]) == fills(out[1]), step
        seen = [of(o, p.MarketDataIncrementalRefresh, "md") for o in out]
        assert seen[0] == seen[1], step
        assert fast.recorded_mid(SYM) == general.recorded_mid(SYM), step
        top, other = fast.top_of_book(SYM), general.top_of_book(SYM)
        assert top[1] == other[1] and (top[0] == other[0] or top[0] is None), step
    assert any(o.cl_ord_id == "far" for o in general.open_orders("alice"))  # never reached
