"""Event-level worst-case-loss limits (`RiskLimits(events=...)`, `EventLimit`): the worst outcome
of an event's markets, positions plus open orders at their worst, worked by hand for events of
2, 5 and 50 markets, mutually exclusive and independent; replaces judged by their chain; margin
refused; a check's cost flat in the number of live orders (Python calls counted); through a live
client against the mock gateway on each adapter, and in a backtest on a catalogue saved to a
file.
"""

from __future__ import annotations

import gc
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run

from kalshi_fix_sansio import EventLimit, RiskChecker, RiskLimitExceeded, RiskLimits
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest.instruments import EventInfo, Instruments, MarketInfo
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_MARKETS, SAMPLE_RECORDING
from kalshi_fix_sansio.trading.tracker import OrderTracker

D = Decimal
_ids = iter(range(10**9))


def nos(symbol: str, side: str, qty: Any, price: Any, cl: str | None = None) -> Any:
    return p.NewOrderSingle(
        cl_ord_id=cl or f"o-{next(_ids)}",
        side=p.Side.BUY if side == "buy" else p.Side.SELL,
        order_qty=D(qty),
        ord_type=p.OrdType.LIMIT,
        price=D(price),
        symbol=symbol,
        time_in_force=p.TimeInForce.GTC,
    )


def filled(tracker: OrderTracker, symbol: str, side: str, qty: Any, price: Any) -> None:
    """An order sent and filled in full (its position: ``qty`` at ``price``, no fee)."""
    order = nos(symbol, side, qty, price)
    tracker.sent(order)
    tracker.on_message(
        p.ExecutionReport(
            order_id=f"X-{order.cl_ord_id}",
            cl_ord_id=order.cl_ord_id,
            exec_id=f"{next(_ids)};1",
            exec_type=p.ExecType.TRADE,
            ord_status=p.OrdStatus.FILLED,
            side=order.side,
            symbol=symbol,
            order_qty=D(qty),
            cum_qty=D(qty),
            leaves_qty=D(0),
            avg_px=D(price),
            price=D(price),
            last_qty=D(qty),
            last_px=D(price),
        )
    )


class Desk:
    """A checker over one event, and what the driver does with an order: check, then record."""

    def __init__(self, markets: list[str], limit: Any, me: bool, all_no: bool = True) -> None:
        self.markets = markets
        self.tracker = OrderTracker()
        event = EventLimit(limit, markets=markets, mutually_exclusive=me, all_no=all_no)
        self.checker = RiskChecker(
            RiskLimits(events={"EV": event}), product="prediction", tracker=self.tracker
        )

    def place(self, symbol: str, side: str, qty: Any, price: Any) -> Any:
        order = nos(symbol, side, qty, price)
        self.checker.check(order)
        self.tracker.sent(order)
        return order

    def refused(self, symbol: str, side: str, qty: Any, price: Any) -> RiskLimitExceeded:
        with pytest.raises(RiskLimitExceeded) as info:
            self.place(symbol, side, qty, price)
        return info.value

    @property
    def worst(self) -> tuple[Decimal, str]:
        return self.checker.event_worst("EV")


def test_two_mutually_exclusive_markets_by_hand() -> None:
    a, b = "EV-A", "EV-B"
    desk = Desk([a, b], 6, me=True)
    filled(desk.tracker, a, "buy", 10, "0.40")  # cash 4, 10 Yes: loses -6 if A, 4 if not
    desk.place(b, "buy", 5, "0.30")  # open: loses 1.5 if B settles No
    # A Yes: -6 + 1.5 = -4.5; B Yes: 4 + 0 = 4; both No: 4 + 1.5 = 5.5
    assert desk.worst == (D("5.50"), "every market settles No")
    refusal = desk.refused(b, "buy", 2, "0.30")  # both No: 4 + 2.1 = 6.1 > 6
    assert refusal.limit == "max_worst_loss" and refusal.symbol == b
    assert (refusal.value, refusal.actual) == (D(6), D("6.10"))
    text = str(refusal)
    assert "event EV's worst outcome (every market settles No) would lose $6.10 > $6" in text
    assert "($5.50 before this order)" in text
    assert desk.tracker.order(refusal.cl_ord_id or "") is None  # nothing recorded
    desk.place(a, "sell", 10, "0.45")  # A Yes: -6 + 5.5 + 1.5 = 1.0: the worst stays 5.5
    assert desk.worst == (D("5.50"), "every market settles No")
    # one of the two surely settles Yes (all_no=False): the worst is the worse of A and B Yes
    sure = Desk([a, b], "4.5", me=True, all_no=False)
    filled(sure.tracker, a, "buy", 10, "0.40")
    sure.place(b, "buy", 7, "0.30")  # A Yes: -6 + 2.1 = -3.9; B Yes: 4 + 0 = 4
    assert sure.worst == (D("4.00"), "EV-B settles Yes, the others No")
    sure.place(b, "buy", 10, "0.30")  # A Yes: -6 + 5.1 = -0.9 (all No would be 9.1: not counted)
    assert sure.worst == (D("4.00"), "EV-B settles Yes, the others No")
    refusal = sure.refused(b, "sell", 1, "0.40")  # B Yes: 4 + 0.6 = 4.6 > 4.5
    assert refusal.actual == D("4.60") and "(EV-B settles Yes, the others No)" in str(refusal)


def test_five_markets_mutually_exclusive_and_independent_by_hand() -> None:
    markets = [f"EV-{n}" for n in range(5)]
    prices = ["0.10", "0.15", "0.20", "0.25", "0.30"]
    exclusive, independent = Desk(markets, 20, me=True), Desk(markets, 20, me=False)
    for desk in (exclusive, independent):
        for market, price in zip(markets, prices, strict=True):
            desk.place(market, "buy", 10, price)  # each loses 10 x price if it settles No
        # every market No: 1 + 1.5 + 2 + 2.5 + 3 = 10, the worst either way
        assert desk.worst[0] == D("10.00")
        desk.place(markets[0], "sell", 10, "0.10")  # loses 9 more if EV-0 settles Yes
        # exclusive: EV-0 Yes: 10 - 1 + 9 = 18; independent: 9 + 1.5 + 2 + 2.5 + 3 = 18
        assert desk.worst[0] == D("18.00")
    assert exclusive.worst[1] == "EV-0 settles Yes, the others No"
    assert independent.worst[1] == "each market at its own worst (independent markets)"
    # a second sell: exclusive: EV-1 Yes 10 - 1.5 + 9 = 17.5, the worst stays 18
    exclusive.place(markets[1], "sell", 10, "0.10")
    assert exclusive.worst == (D("18.00"), "EV-0 settles Yes, the others No")
    # independent: both can settle Yes: 9 + 9 + 2 + 2.5 + 3 = 25.5 > 20
    refusal = independent.refused(markets[1], "sell", 10, "0.10")
    assert (refusal.actual, refusal.value) == (D("25.50"), D(20))
    assert "would lose $25.50 > $20 ($18.00 before this order)" in str(refusal)
    # exclusive: 2.5 more if EV-3 settles No: EV-0 Yes: 12.5 - 1 + 9 = 20.5 > 20
    refusal = exclusive.refused(markets[3], "buy", 10, "0.25")
    assert refusal.actual == D("20.50") and "(EV-0 settles Yes, the others No)" in str(refusal)


def test_fifty_markets_by_hand() -> None:
    markets = [f"EV-{n:02d}" for n in range(50)]
    for me, all_no, worst in (
        (True, True, (D("50.98"), "every market settles No")),
        (True, False, (D("50.96"), "EV-00 settles Yes, the others No")),
        (False, True, (D("50.98"), "each market at its own worst (independent markets)")),
    ):
        desk = Desk(markets, 51, me=me, all_no=all_no)
        filled(desk.tracker, markets[7], "buy", 100, "0.50")  # loses 50 if No, -50 if Yes
        for market in markets:
            if market != markets[7]:
                desk.place(market, "buy", 1, "0.02")  # loses 0.02 if No
        # all No: 49 x 0.02 + 50 = 50.98; a market Yes (not EV-07): 50.98 - 0.02 = 50.96
        assert desk.worst == worst
        if all_no:
            desk.place(markets[0], "buy", 1, "0.02")  # 51.00: at the limit, not past it
            refusal = desk.refused(markets[1], "buy", 1, "0.02")
            assert (refusal.actual, refusal.symbol) == (D("51.02"), markets[1])


def test_a_replace_counts_its_chain_once_at_its_larger_version() -> None:
    desk = Desk(["EV-A", "EV-B"], 5, me=True)
    order = desk.place("EV-A", "buy", 10, "0.40")  # 4 if A settles No

    def replace(qty: Any, price: Any) -> Any:
        return p.OrderCancelReplaceRequest(
            cl_ord_id=f"r-{next(_ids)}",
            orig_cl_ord_id=order.cl_ord_id,
            side=p.Side.BUY,
            order_qty=D(qty),
            ord_type=p.OrdType.LIMIT,
            price=D(price),
            symbol="EV-A",
        )

    with pytest.raises(RiskLimitExceeded, match=r"would lose \$5.20 > \$5"):
        desk.checker.check(replace(13, "0.40"))  # 5.2: the order it becomes
    desk.checker.check(replace(20, "0.20"))  # 4.0: no more than it was
    bigger = replace(12, "0.40")
    desk.checker.check(bigger)  # 4.8
    desk.tracker.sent(bigger)  # pending: the chain counts once, at its larger version
    assert desk.worst == (D("4.80"), "every market settles No")
    refusal = desk.refused("EV-B", "buy", 1, "0.30")  # 4.8 + 0.3 = 5.1 > 5
    assert refusal.actual == D("5.10")


def test_bad_event_limits_are_named() -> None:
    with pytest.raises(LocalProtocolError, match="event limits are for prediction markets"):
        RiskChecker(
            RiskLimits(events={"E": EventLimit(1, markets=["E-A"])}),
            product="margin",
            tracker=OrderTracker(),
        )
    with pytest.raises(LocalProtocolError, match="market 'M' is in event 'E1' and in 'E2'"):
        RiskLimits(
            events={"E1": EventLimit(1, markets=["M"]), "E2": EventLimit(1, markets=["M", "N"])}
        )
    with pytest.raises(LocalProtocolError, match="finite number of dollars >= 0"):
        EventLimit(-1, markets=["M"])
    with pytest.raises(LocalProtocolError, match="non-empty list of market tickers"):
        EventLimit(1, markets=[])
    with pytest.raises(LocalProtocolError, match="names a market twice"):
        EventLimit(1, markets=["M", "M"])
    with pytest.raises(LocalProtocolError, match="has no EventLimit"):
        Desk(["M"], 1, me=True).checker.event_worst("OTHER")


def test_a_check_costs_the_same_at_10_and_1000_live_orders() -> None:
    markets = [f"EV-{n}" for n in range(5)]

    def calls(live: int) -> int:
        desk = Desk(markets, 10**9, me=True)
        for n in range(live):  # the event's markets and others alike
            desk.place(markets[n % 5] if n % 2 else f"OTHER-{n % 7}", "buy", 1, "0.01")
        order = nos(markets[0], "buy", 1, "0.02")
        count = 0

        def profile(frame: Any, event: str, arg: Any) -> None:
            nonlocal count
            if event in ("call", "c_call"):
                count += 1

        # A collection during the check would finalise other tests' garbage (sockets, generators)
        # and count their __del__ calls: collect first, and none while counting.
        gc.collect()
        gc.disable()
        sys.setprofile(profile)
        try:
            desk.checker.check(order)
        finally:
            sys.setprofile(None)
            gc.enable()
        return count

    assert calls(10) == calls(1000) > 0


# -- a live client against the mock gateway, each adapter; a backtest -------------------------

_runs = iter(range(10**6))


@ADAPTERS
def test_event_limits_on_a_live_session(adapter: str, prediction_gateway: GatewayHarness) -> None:
    from kalshi_fix_sansio.adapters.rest import RestCompanion
    from kalshi_fix_sansio.rest.instruments import InstrumentsFetch
    from kalshi_fix_sansio.simulator.gateway.rest import RestServer

    h = prediction_gateway
    event = f"KXLIVE-{next(_runs)}{adapter[:2].upper()}"
    a, b, c = (f"{event}-{x}" for x in "ABC")
    described = Instruments()
    described.add(EventInfo(event, "KXLIVE", "Who wins?", mutually_exclusive=True))
    for market in (a, b, c):
        h.gateway.seed_market(market)
        described.add(MarketInfo(market, event, "KXLIVE"))
    with RestServer(h.gateway, instruments=described) as rest:  # the markets from REST
        fetch = InstrumentsFetch(base_url=rest.base_url, event=event)
        RestCompanion(verify=h.ssl_context()).run(fetch)
    limits = RiskLimits(events={event: fetch.instruments.event_limit(event, 8)})
    assert limits.events[event].mutually_exclusive and limits.events[event].markets == (a, b, c)

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry(risk_limits=limits)
        async with d.opened(session):
            await d.call(session.place(nos(a, "buy", 10, "0.40"), timeout=5))  # 4 if A No
            placed = await d.call(session.place(nos(b, "buy", 10, "0.30"), timeout=5))  # 3
            seq = session.session.next_sender_seq
            late = nos(c, "buy", 5, "0.30")
            with pytest.raises(RiskLimitExceeded, match=r"would lose \$8.50 > \$8 \(\$7.00"):
                session.send(late)  # every market No: 4 + 3 + 1.5 = 8.5
            assert session.session.next_sender_seq == seq  # nothing sent
            assert session.tracker.order(late.cl_ord_id) is None
            cancel = p.OrderCancelRequest(
                cl_ord_id=f"c-{next(_ids)}",
                orig_cl_ord_id=placed.cl_ord_id,
                side=p.Side.BUY,
                symbol=b,
            )
            await d.call(session.cancel(cancel, timeout=5))  # B's 3 is gone: 4 + 1.5 = 5.5
            await d.call(session.place(late, timeout=5))

    run(adapter, scenario)


EVENT = SAMPLE_MARKETS[0].rsplit("-", 1)[0]
SEEN: list[str] = []


def event_limited(ctx: Any) -> None:
    """A backtest strategy: two resting buys, a third one past the event's limit."""
    catalogue = Instruments.loads(Path(ctx.params["catalogue"]).read_text())
    limit = catalogue.event_limit(EVENT, ctx.params["limit"])
    with ctx.client(risk_limits=RiskLimits(events={EVENT: limit})).order_entry() as oe:
        a, b = SAMPLE_MARKETS
        oe.send(nos(a, "buy", 100, "0.01"))  # $1 if A settles No
        oe.send(nos(b, "buy", 100, "0.01"))  # $1 if B settles No
        try:
            oe.send(nos(b, "buy", 1, "0.01"))  # all No: $2.01
            SEEN.append("sent")
        except RiskLimitExceeded as exc:
            SEEN.append(str(exc))
        oe.kill()


def test_event_limits_in_a_backtest_on_a_saved_catalogue(tmp_path: Path) -> None:
    catalogue = Instruments()
    catalogue.add(EventInfo(EVENT, EVENT.split("-")[0], "Paper", mutually_exclusive=True))
    for market in SAMPLE_MARKETS:
        catalogue.add(MarketInfo(market, EVENT, EVENT.split("-")[0]))
    saved = tmp_path / "catalogue.json"
    saved.write_text(catalogue.dumps())  # saved once, then read offline by the strategy
    SEEN.clear()
    run_backtest(event_limited, SAMPLE_RECORDING, params={"catalogue": str(saved), "limit": "2"})
    assert len(SEEN) == 1 and "would lose $2.01 > $2 ($2.00 before this order)" in SEEN[0]
    assert "(every market settles No)" in SEEN[0]
