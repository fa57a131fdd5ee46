"""``kalshi-fix demo``: a whole trading story against the embedded mock Kalshi gateway.

The gateway starts in-process on free loopback ports with TLS (a fresh self-signed certificate
that the clients pin) and two freshly generated API keys. A client on the blocking adapter then
logs on to market data and prints the top of book, rests an order, gets filled by a crossing
order from a second API key (both fills printed), cancels an order, trips an order group, and
logs out. The transcript is short and readable; the exit status is 0 when every step did what
Kalshi's documentation says it should.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any, TextIO

from . import margin, prediction
from .adapters.blocking import BlockingSession
from .events import ApplicationMessage, Event, LoggedOn
from .gateway import MockGateway
from .testing import new_ed25519_keys


class DemoFailed(Exception):
    """A step of the demo did not produce what it should."""


def _is(msg_type: str, **attrs: Any) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        if not isinstance(event, ApplicationMessage) or event.message.MSG_TYPE != msg_type:
            return False
        return all(getattr(event.message, k) == v for k, v in attrs.items())

    return check


class _Story:
    def __init__(self, product: str, out: TextIO) -> None:
        self.product = product
        self.p: ModuleType = prediction if product == "prediction" else margin
        self.out = out
        if product == "prediction":
            self.symbol = "HIGHNY-23DEC31"
            self.px = {"bid": Decimal("0.40"), "ask": Decimal("0.45"), "rest": Decimal("0.42"),
                       "far": Decimal("0.10"), "group": Decimal("0.30")}
        else:
            self.symbol = "BTC-PERP"
            self.px = {"bid": Decimal("19.4000"), "ask": Decimal("19.6000"),
                       "rest": Decimal("19.5000"), "far": Decimal("15.0000"),
                       "group": Decimal("18.0000")}

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def order(self, cl_ord_id: str, side: Any, qty: int, price: Decimal, **kw: Any) -> Any:
        p = self.p
        return p.NewOrderSingle(
            cl_ord_id=cl_ord_id, side=side, order_qty=Decimal(qty), ord_type=p.OrdType.LIMIT,
            price=price, symbol=self.symbol, time_in_force=p.TimeInForce.GTC, **kw,
        )

    def report(self, who: str, event: Event) -> Any:
        assert isinstance(event, ApplicationMessage)
        er: Any = event.message
        status = er.ord_status.name if hasattr(er.ord_status, "name") else er.ord_status
        line = (f"  {who:<6} ExecutionReport {er.exec_type.name:<8} {status:<16} "
                f"{er.side.name} {er.order_qty} @ {er.price}  cum {er.cum_qty} leaves {er.leaves_qty}")
        if er.last_qty:
            fee = er.misc_fees[0].misc_fee_amt if er.misc_fees else Decimal(0)
            line += f"  (fill {er.last_qty} @ {er.last_px}, fee ${fee})"
        if er.text:
            line += f"  [{er.text}]"
        self.say(line)
        return er

    def run(self) -> None:
        trader_signer, trader_pub = new_ed25519_keys()
        other_signer, other_pub = new_ed25519_keys()
        keys = {"trader-key": trader_pub, "other-key": other_pub}
        with MockGateway(self.product, keys=keys, tls=True) as gateway:
            self.say(f"mock Kalshi gateway ({self.product}) on 127.0.0.1, TLS, ports "
                     + ", ".join(f"{k}={v}" for k, v in sorted(gateway.ports.items())))
            gateway.seed_market(self.symbol, bids=[(self.px["bid"], Decimal(25))],
                                asks=[(self.px["ask"], Decimal(30))])
            trader = gateway.client("trader-key", trader_signer)
            other = gateway.client("other-key", other_signer)
            self.market_data(trader)
            with trader.order_entry() as oe, other.order_entry() as oe2:
                self.trading(oe, oe2)
                self.say("logout: both order-entry sessions log out")
        self.say("done: every step behaved as Kalshi documents")

    def market_data(self, client: Any) -> None:
        p = self.p
        self.say("1. market data: log on to KalshiMD, subscribe, print the top of book")
        with client.market_data() as md:
            self._logged_on(md)
            request = p.MarketDataRequest(
                subscription_request_type=p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
                related_sym=[p.MarketDataRequestRelatedSym(symbol=self.symbol)],
            )
            event = md.wait_for(_is("W", symbol=self.symbol), 10, send=request)
            assert isinstance(event, ApplicationMessage)
            snap: Any = event.message
            bids = [e for e in snap.md_entries or () if e.md_entry_type == p.MDEntryType.BID]
            asks = [e for e in snap.md_entries or () if e.md_entry_type == p.MDEntryType.OFFER]
            if not bids or not asks:
                raise DemoFailed(f"snapshot without both sides: {snap}")
            best_bid = max(bids, key=lambda e: e.md_entry_px)
            best_ask = min(asks, key=lambda e: e.md_entry_px)
            self.say(f"  {self.symbol} top of book: bid {best_bid.md_entry_size} @ "
                     f"{best_bid.md_entry_px}  |  ask {best_ask.md_entry_size} @ {best_ask.md_entry_px}")

    def _logged_on(self, session: BlockingSession) -> None:
        event = session.wait_for(lambda e: isinstance(e, LoggedOn), 10)
        assert isinstance(event, LoggedOn)
        self.say(f"  logged on to {session.config.session_type} as {session.config.sender_comp_id} "
                 f"(HeartBtInt {event.heartbeat_interval}, MsgSeqNum reset)")

    def trading(self, oe: BlockingSession, oe2: BlockingSession) -> None:
        p = self.p
        self.say("2. order entry: trader-key and other-key log on to KalshiNR")
        self._logged_on(oe)
        self._logged_on(oe2)

        self.say("3. a resting order: trader buys 10 between the bid and the ask")
        oe.send(self.order("rest-1", p.Side.BUY, 10, self.px["rest"]))
        self.report("trader", oe.wait_for(_is("8", cl_ord_id="rest-1", exec_type=p.ExecType.NEW), 10))

        self.say("4. a crossing order from the second API key: other sells 10 at the same price")
        oe2.send(self.order("cross-1", p.Side.SELL, 10, self.px["rest"]))
        self.report("other", oe2.wait_for(_is("8", cl_ord_id="cross-1", exec_type=p.ExecType.TRADE), 10))
        self.report("trader", oe.wait_for(_is("8", cl_ord_id="rest-1", exec_type=p.ExecType.TRADE), 10))

        self.say("5. a cancel: trader rests a far order, then cancels it")
        oe.send(self.order("far-1", p.Side.BUY, 5, self.px["far"]))
        new = self.report("trader", oe.wait_for(_is("8", cl_ord_id="far-1", exec_type=p.ExecType.NEW), 10))
        oe.send(p.OrderCancelRequest(cl_ord_id="cancel-1", orig_cl_ord_id="far-1", order_id=new.order_id,
                                     side=p.Side.BUY, symbol=self.symbol))
        self.report("trader", oe.wait_for(_is("8", cl_ord_id="cancel-1", exec_type=p.ExecType.CANCELED), 10))

        self.say("6. an order group trip: a group with a 5-contract limit, two orders in it, trigger")
        oe.send(p.OrderGroupRequest(order_group_action=p.OrderGroupAction.CREATE,
                                    order_group_contracts_limit=5))
        created = oe.wait_for(_is("UOH"), 10)
        assert isinstance(created, ApplicationMessage)
        group_id = created.message.order_group_id  # type: ignore[attr-defined]
        self.say(f"  order group created: {group_id}")
        for i in (1, 2):
            oe.send(self.order(f"grp-{i}", p.Side.BUY, 2, self.px["group"], secondary_cl_ord_id=group_id))
            self.report("trader", oe.wait_for(_is("8", cl_ord_id=f"grp-{i}", exec_type=p.ExecType.NEW), 10))
        oe.send(p.OrderGroupRequest(order_group_action=p.OrderGroupAction.TRIGGER, order_group_id=group_id))
        for i in (1, 2):
            self.report("trader", oe.wait_for(_is("8", cl_ord_id=f"grp-{i}", exec_type=p.ExecType.CANCELED), 10))
        oe.send(self.order("grp-3", p.Side.BUY, 1, self.px["group"], secondary_cl_ord_id=group_id))
        self.report("trader", oe.wait_for(_is("8", cl_ord_id="grp-3"), 10))


def run_demo(product: str = "prediction", out: TextIO | None = None) -> int:
    """Run the demo story.

    Args:
        product: ``"prediction"`` or ``"margin"``.
        out: where the transcript goes (default stdout).

    Returns:
        0 on success, 1 when a step failed (the reason is printed).
    """
    stream = out or sys.stdout
    story = _Story(product, stream)
    try:
        story.run()
    except (DemoFailed, TimeoutError) as exc:
        print(f"demo failed: {exc}", file=stream)
        return 1
    return 0
