"""Property tests of the exchange engine: random order flow from several accounts on one market.

After every engine call:

* the book at rest is not crossed (best bid < best ask);
* every outbound message encodes for its session (cents or dollars);
* the market-data book rebuilt from the snapshot and 35=X updates equals the engine's book;
* each ExecID names one event: a session never sees it twice, copies to other sessions agree.

Over the whole run, per order (reports in the order they were sent):

* nothing follows a terminal report (Filled, Canceled, Rejected, Expired);
* OrderQty = CumQty + LeavesQty while open; a cancel removes exactly the open quantity; CumQty
  grows by LastQty on each trade;
* every trade has a buyer and a seller of the same quantity and price, one aggressor; positions
  sum to zero; the engine's open orders are exactly the orders without a terminal report.

A second property sends arbitrary (type-correct) requests and checks the engine never raises.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import Exchange, Outbound

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC).timestamp()
SYM = "KXPROP-26MAR02"
HEADER = Header(
    sender_comp_id="Kalshi",
    target_comp_id="client",
    msg_seq_num=1,
    sending_time=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
)
# session id -> (account, session type, connect options)
SESSIONS: dict[str, tuple[str, str, dict[str, bool]]] = {
    "a": ("alice", "KalshiNR", {}),
    "al": (
        "alice",
        "KalshiNR",
        {
            "listener": True,
            "use_dollars": True,
            "preserve_original_order_qty": True,
            "use_expired_ord_status": True,
        },
    ),
    "b": ("bob", "KalshiNR", {"use_dollars": True, "preserve_original_order_qty": True}),
    "c": ("carol", "KalshiRT", {"preserve_original_order_qty": True}),
    "md": ("dave", "KalshiMD", {}),
}
TRADERS = ("alice", "bob", "carol")
ENTRY = {"alice": "a", "bob": "b", "carol": "c"}
CANONICAL = {"alice": "al", "bob": "b", "carol": "c"}  # copies with the requested OrderQty
TERMINAL = {"2", "4", "8", "C"}
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def norm(value: Any) -> str:
    v = str(getattr(value, "value", value))
    return "4" if v == "C" else v


class Harness:
    """Drives one engine and checks every answer."""

    def __init__(self) -> None:
        self.ex = Exchange(seed=0)
        self.now = T0
        self.n = 0
        self.events: dict[str, tuple[Any, ...]] = {}
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.history: dict[str, list[Any]] = defaultdict(list)  # order id -> canonical reports
        self.orders: dict[str, list[str]] = defaultdict(list)  # account -> order ids
        self.account_of: dict[str, str] = {}
        self.md_book: dict[tuple[str, D], D] = {}
        self.check(self.ex.seed_market(SYM, now=self.now))
        for sid, (account, kind, options) in SESSIONS.items():
            self.check(self.ex.connect(sid, account, kind, now=self.now, **options))
        sub = p.MarketDataRequest(
            subscription_request_type="1", related_sym=(p.MarketDataRequestRelatedSym(symbol=SYM),)
        )
        self.check(self.ex.handle("md", sub, self.now))
        self.groups: dict[str, str] = {}
        for account in TRADERS:
            req = p.OrderGroupRequest(order_group_action=1, order_group_contracts_limit=6)
            out = self.ex.handle(ENTRY[account], req, self.now)
            self.check(out)
            self.groups[account] = str(
                next(
                    o.message for o in out if isinstance(o.message, p.OrderGroupResponse)
                ).order_group_id
            )

    # -- running ops -----------------------------------------------------------------------------

    def cl(self) -> str:
        self.n += 1
        return f"o{self.n}"

    def last(self, order_id: str) -> Any:
        return self.history[order_id][-1]

    def target(self, account: str, k: int) -> Any | None:
        ids = self.orders[account]
        return self.last(ids[k % len(ids)]) if ids else None

    def run(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind == "new":
            _, account, side, price, qty, tif, post_only, stp, grouped, on_pause = op
            extra: dict[str, Any] = {"cancel_order_on_pause": on_pause}
            if tif is not None:
                extra["time_in_force"] = tif
            if tif == "6":
                extra["expire_time"] = datetime.fromtimestamp(self.now, UTC) + timedelta(
                    seconds=3 if post_only else 30
                )
            if post_only:
                extra["exec_inst"] = "6"
            if stp is not None:
                extra["self_trade_prevention_type"] = stp
            if grouped:
                extra["secondary_cl_ord_id"] = self.groups[account]
            msg: Any = p.NewOrderSingle(
                cl_ord_id=self.cl(),
                side=side,
                order_qty=qty,
                ord_type="2",
                price=price,
                symbol=SYM,
                **extra,
            )
            self.check(self.ex.handle(ENTRY[account], msg, self.now))
        elif kind == "cancel":
            _, account, k = op
            er = self.target(account, k)
            if er is not None:
                msg = p.OrderCancelRequest(
                    cl_ord_id=self.cl(), orig_cl_ord_id=er.cl_ord_id, side=er.side, symbol=SYM
                )
                self.check(self.ex.handle(ENTRY[account], msg, self.now))
        elif kind == "replace":
            _, account, k, qty, price = op
            er = self.target(account, k)
            if er is not None:
                msg = p.OrderCancelReplaceRequest(
                    cl_ord_id=self.cl(),
                    orig_cl_ord_id=er.cl_ord_id,
                    side=er.side,
                    symbol=SYM,
                    order_qty=er.order_qty if qty is None else qty,
                    ord_type="2",
                    price=price,
                )
                self.check(self.ex.handle(ENTRY[account], msg, self.now))
        elif kind == "advance":
            self.now += op[1]
            self.check(self.ex.tick(self.now))
        elif kind == "mass":
            msg = p.OrderMassCancelRequest(cl_ord_id=self.cl(), mass_cancel_request_type="6")
            self.check(self.ex.handle(ENTRY[op[1]], msg, self.now))
        elif kind == "group":
            req = p.OrderGroupRequest(order_group_action=op[2], order_group_id=self.groups[op[1]])
            self.check(self.ex.handle(ENTRY[op[1]], req, self.now))
        elif kind == "pause":  # pause, try to trade and cancel, resume
            _, exchange, account, k = op
            self.check(self.ex.pause(self.now, exchange=exchange))
            self.run(("new", account, p.Side.BUY, D("0.99"), D(1), None, False, None, False, False))
            self.run(("cancel", account, k))
            self.check(self.ex.resume(self.now))

    # -- per-call checks -------------------------------------------------------------------------

    def check(self, out: list[Outbound]) -> None:
        for o in out:
            account, _kind, options = SESSIONS[o.session_id]
            frame = p.encode(o.message, HEADER, use_dollars=options.get("use_dollars", False))
            assert frame.startswith(b"8=FIXT.1.1")
            if isinstance(o.message, p.ExecutionReport):
                self.on_report(o.session_id, account, options, o.message)
            elif isinstance(o.message, p.MarketDataIncrementalRefresh):
                self.on_md(o.message)
        bid, ask = self.ex.top_of_book(SYM)
        if bid is not None and ask is not None:
            assert bid[0] < ask[0], (bid, ask)
        engine_book: dict[tuple[str, D], D] = defaultdict(D)
        for view in self.ex.open_orders():
            assert view.leaves_qty > 0
            engine_book[("0" if view.side == "1" else "1", view.price)] += view.leaves_qty
        assert self.md_book == dict(engine_book)

    def on_report(self, sid: str, account: str, options: dict[str, bool], er: Any) -> None:
        assert er.exec_id not in self.seen[sid], er.exec_id
        self.seen[sid].add(er.exec_id)
        key = (er.order_id, norm(er.exec_type), er.cum_qty, er.leaves_qty, er.last_qty, er.side)
        assert self.events.setdefault(er.exec_id, key) == key
        if not options.get("preserve_original_order_qty") and norm(er.exec_type) != "8":
            assert er.order_qty == er.cum_qty + er.leaves_qty
        if CANONICAL[account] == sid:
            if er.order_id not in self.account_of:
                self.account_of[er.order_id] = account
                self.orders[account].append(er.order_id)
            self.history[er.order_id].append(er)

    def on_md(self, msg: Any) -> None:
        for e in msg.md_entries:
            assert e.symbol == SYM
            if e.md_entry_type == p.MDEntryType.TRADE:
                continue
            key = (e.md_entry_type.value, e.md_entry_px)
            action = e.md_update_action
            if action == p.MDUpdateAction.NEW:
                assert key not in self.md_book
                self.md_book[key] = e.md_entry_size
            elif action == p.MDUpdateAction.CHANGE:
                assert key in self.md_book
                self.md_book[key] = e.md_entry_size
            else:
                assert self.md_book.pop(key) is not None and e.md_entry_size == 0

    # -- whole-run checks ------------------------------------------------------------------------

    def finish(self) -> None:
        open_ids = {v.order_id for v in self.ex.open_orders()}
        trades: dict[str, list[Any]] = defaultdict(list)
        for order_id, reports in self.history.items():
            closed = False
            cum = D(0)
            previous = None
            for er in reports:
                assert not closed, f"report after the terminal one for {order_id}"
                status, kind = norm(er.ord_status), norm(er.exec_type)
                closed = status in TERMINAL
                if kind == "8":
                    assert previous is None and er.cum_qty == er.leaves_qty == 0
                    previous = er
                    continue
                assert er.cum_qty + er.leaves_qty <= er.order_qty
                if status not in TERMINAL:
                    assert er.cum_qty + er.leaves_qty == er.order_qty
                if status == "2":
                    assert er.leaves_qty == 0 and er.cum_qty == er.order_qty
                if status == "4":
                    assert er.leaves_qty == 0
                    assert previous is not None
                    assert er.order_qty - er.cum_qty == previous.leaves_qty  # what was open
                if kind == "F":
                    assert er.cum_qty == cum + er.last_qty and er.last_qty > 0
                    trades[er.trd_match_id].append(er)
                else:
                    assert er.cum_qty == cum
                cum = er.cum_qty
                previous = er
            assert (order_id in open_ids) == (not closed)
        bought = sold = D(0)
        for legs in trades.values():
            assert len(legs) == 2
            buy, sell = sorted(legs, key=lambda er: er.side.value)
            assert (buy.side, sell.side) == (p.Side.BUY, p.Side.SELL)
            assert buy.last_qty == sell.last_qty and buy.last_px == sell.last_px
            assert {buy.aggressor_indicator, sell.aggressor_indicator} == {True, False}
            assert self.account_of[buy.order_id] != self.account_of[sell.order_id]
            bought += buy.last_qty
            sold += sell.last_qty
        assert bought == sold
        assert sum(self.ex.position(SYM, a) for a in TRADERS) == 0


# -- strategies ------------------------------------------------------------------------------------

traders = st.sampled_from(TRADERS)
prices = st.integers(44, 56).map(lambda c: D(c) / 100)
qtys = st.sampled_from([D(1), D(2), D(3), D(5), D("0.5"), D("2.25")])
new_ops = st.tuples(
    st.just("new"),
    traders,
    st.sampled_from([p.Side.BUY, p.Side.SELL]),
    prices,
    qtys,
    st.sampled_from([None, None, None, "1", "1", "3", "4", "6", "0"]),  # TimeInForce
    st.sampled_from([False] * 5 + [True]),  # post-only
    st.sampled_from([None, None, 1, 2]),  # SelfTradePreventionType
    st.sampled_from([False] * 3 + [True]),  # in the account's order group
    st.sampled_from([False] * 3 + [True]),  # CancelOrderOnPause
)
cancel_ops = st.tuples(st.just("cancel"), traders, st.integers(0, 50))
replace_ops = st.tuples(
    st.just("replace"),
    traders,
    st.integers(0, 50),
    st.one_of(st.none(), qtys, st.sampled_from([D(6), D(8)])),
    st.one_of(st.none(), prices),
)
advance_ops = st.tuples(st.just("advance"), st.sampled_from([1, 4, 16, 40]))
mass_ops = st.tuples(st.just("mass"), st.sampled_from(["alice", "bob"]))
group_ops = st.tuples(st.just("group"), traders, st.sampled_from([2, 2, 4]))
pause_ops = st.tuples(st.just("pause"), st.booleans(), traders, st.integers(0, 50))
OPS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "new": new_ops,
    "cancel": cancel_ops,
    "replace": replace_ops,
    "advance": advance_ops,
    "mass": mass_ops,
    "group": group_ops,
    "pause": pause_ops,
}
WEIGHTED = ["new"] * 12 + ["cancel", "replace"] * 3 + ["advance"] * 2 + ["mass", "group", "pause"]
op_lists = st.lists(st.sampled_from(WEIGHTED).flatmap(OPS.__getitem__), min_size=15, max_size=50)


@SETTINGS
@given(op_lists)
def test_random_order_flow_keeps_the_books_consistent(ops: list[tuple[Any, ...]]) -> None:
    harness = Harness()
    for op in ops:
        harness.run(op)
    harness.finish()


# -- robustness --------------------------------------------------------------------------------------

texts = st.one_of(
    st.sampled_from([SYM, "o1", "NONE", "-", "x" * 65]),
    st.text(st.characters(blacklist_characters="\x01", codec="utf-8"), max_size=8),
)
maybe_text = st.one_of(st.none(), texts)
decimals = st.one_of(
    st.none(),
    st.sampled_from([D(0), D(1), D("0.5"), D("0.0001"), D("-1"), D("19.5"), D("1e30")]),
    st.decimals(min_value=-10, max_value=10**12, allow_nan=False, allow_infinity=False, places=6),
)
ints = st.one_of(st.none(), st.integers(-5, 2_000_000))
datetimes = st.one_of(
    st.none(),
    st.datetimes(timezones=st.just(UTC)),
    st.just(datetime(2026, 3, 2, 15, 1, tzinfo=UTC)),
)


def enum_or_raw(enum: Any) -> st.SearchStrategy[Any]:
    raw = st.integers(-1, 300) if issubclass(enum, int) else st.text("0123456789ABCEF ", max_size=3)
    return st.one_of(st.none(), st.sampled_from(list(enum)), raw)


def requests(d: Any) -> st.SearchStrategy[Any]:
    parties = st.one_of(
        st.none(),
        st.lists(st.builds(d.Party, party_id=maybe_text, party_role=ints), max_size=2).map(tuple),
    )
    common = {"cl_ord_id": maybe_text, "side": enum_or_raw(d.Side), "symbol": maybe_text}
    options = [
        st.builds(
            d.NewOrderSingle,
            exec_inst=enum_or_raw(d.ExecInst),
            order_qty=decimals,
            ord_type=enum_or_raw(d.OrdType),
            price=decimals,
            time_in_force=enum_or_raw(d.TimeInForce),
            expire_time=datetimes,
            parties=parties,
            alloc_account=ints,
            secondary_cl_ord_id=maybe_text,
            self_trade_prevention_type=enum_or_raw(d.SelfTradePreventionType),
            cancel_order_on_pause=st.one_of(st.none(), st.booleans()),
            **common,
        ),
        st.builds(
            d.OrderCancelRequest,
            order_id=maybe_text,
            orig_cl_ord_id=maybe_text,
            parties=parties,
            alloc_account=ints,
            **common,
        ),
        st.builds(
            d.OrderCancelReplaceRequest,
            order_id=maybe_text,
            orig_cl_ord_id=maybe_text,
            order_qty=decimals,
            ord_type=enum_or_raw(d.OrdType),
            price=decimals,
            time_in_force=enum_or_raw(d.TimeInForce),
            expire_time=datetimes,
            alloc_account=ints,
            **common,
        ),
        st.builds(
            d.OrderMassCancelRequest,
            cl_ord_id=maybe_text,
            mass_cancel_request_type=enum_or_raw(d.MassCancelRequestType),
        ),
        st.builds(
            d.OrderGroupRequest,
            order_group_action=enum_or_raw(d.OrderGroupAction),
            order_group_id=maybe_text,
            order_group_contracts_limit=ints,
        ),
        st.builds(
            d.MarketDataRequest,
            subscription_request_type=enum_or_raw(d.SubscriptionRequestType),
            related_sym=st.one_of(
                st.none(),
                st.lists(
                    st.builds(d.MarketDataRequestRelatedSym, symbol=maybe_text), max_size=3
                ).map(tuple),
            ),
        ),
    ]
    if d is p:
        options.append(
            st.builds(
                d.SecurityStatusRequest,
                subscription_request_type=enum_or_raw(d.SubscriptionRequestType),
                symbol=maybe_text,
            )
        )
    return st.one_of(*options)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([p, m]),
    st.data(),
)
def test_arbitrary_requests_never_raise_and_answers_encode(d: Any, data: st.DataObject) -> None:
    product = "prediction" if d is p else "margin"
    symbol = SYM if d is p else "BTC-PERP"
    ex = Exchange(product)
    bids = [(D("0.40"), D(5))] if d is p else [(D("19"), D(5))]
    asks = [(D("0.60"), D(5))] if d is p else [(D("20"), D(5))]
    ex.seed_market(symbol, bids=bids, asks=asks, now=T0)
    for sid, (account, kind, options) in SESSIONS.items():
        ex.connect(sid, account, kind, now=T0, **options)
    for i in range(data.draw(st.integers(1, 8))):
        sid = data.draw(st.sampled_from(list(SESSIONS)))
        message = data.draw(requests(d))
        out = ex.handle(sid, message, T0 + i)
        for o in out:
            options = SESSIONS[o.session_id][2]
            d.encode(o.message, HEADER, use_dollars=options.get("use_dollars", False))
    bid, ask = ex.top_of_book(symbol)
    assert bid is None or ask is None or bid[0] < ask[0]
