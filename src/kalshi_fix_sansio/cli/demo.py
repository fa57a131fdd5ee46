"""``kalshi-fix demo``: a whole trading story against the embedded mock Kalshi gateway.

The gateway starts in-process on free loopback ports with TLS (a fresh self-signed certificate
that the clients pin) and two freshly generated API keys. A client on the blocking adapter then
logs on to market data and prints the top of book, rests an order, gets filled by a crossing
order from a second API key (both fills printed), cancels an order, trips an order group (each
step of the trip said in words: the group's limit, the orders placed, the trader's trigger and
why the last order is refused), and logs out. The exit status is 0 when every step did what
Kalshi's documentation says it should.

The transcript reads as a trader would want it: every ExecutionReport shows ExecType(150) and
OrdStatus(39) with their codes and meanings, prices in one precision per product (prediction
to the cent, margin to $0.0001: `kalshi_fix_sansio.trading.prices`, as in every ``kalshi-fix`` tool),
the fee of each fill named maker or taker (from AggressorIndicator(1057) next to the
NoMiscFees group), and what OrderQty / CumQty / LeavesQty say on a cancel. ``show_fix``
(``kalshi-fix demo --show-fix``) also prints every FIX message the clients send (``>>``) and
receive (``<<``), ``|`` for SOH, secrets such as the Logon signature redacted
(`kalshi_fix_sansio.codec.redaction`, via the adapters' `MessageLog`).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any, TextIO

import attrs

from kalshi_fix_sansio.adapters.blocking import BlockingSession
from kalshi_fix_sansio.observability import MessageLog

from ..codec import margin, prediction
from ..session.events import ApplicationMessage, Event, LoggedOn
from ..simulator.gateway import MockGateway
from ..simulator.testing import new_ed25519_keys
from ..trading.prices import format_amount, format_price
from .common import code_label as _label
from .common import qty_text


class DemoFailed(Exception):
    """A step of the demo did not produce what it should."""


def _is(msg_type: str, **fields: Any) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        if not isinstance(event, ApplicationMessage) or event.message.MSG_TYPE != msg_type:
            return False
        return all(getattr(event.message, k) == v for k, v in fields.items())

    return check


class _FixPrinter(logging.Handler):
    """Prints the `MessageLog` lines of the demo's sessions: ``>>`` sent, ``<<`` received."""

    def __init__(self, story: _Story) -> None:
        super().__init__(logging.INFO)
        self.story = story

    def emit(self, record: logging.LogRecord) -> None:
        direction = getattr(record, "fix_direction", "?")
        session_type, _, key = str(getattr(record, "fix_session", "?/?")).partition("/")
        frame = record.getMessage().split(" ", 3)[-1]  # "<time> <dir> <session> <frame>"
        arrow = f"{key} >> {session_type}" if direction == "OUT" else f"{key} << {session_type}"
        self.story.say(f"    FIX {arrow}  {frame}")


class _Story:
    def __init__(self, product: str, out: TextIO, show_fix: bool = False) -> None:
        self.product = product
        self.p: ModuleType = prediction if product == "prediction" else margin
        self.out = out
        self._lock = threading.Lock()  # session threads print FIX lines too
        self.fix_logger: logging.Logger | None = None
        if show_fix:
            self.fix_logger = logging.Logger("kalshi-fix demo: FIX messages", logging.INFO)
            self.fix_logger.addHandler(_FixPrinter(self))
        if product == "prediction":
            self.symbol = "HIGHNY-23DEC31"
            self.prices = {
                "bid": Decimal("0.40"),
                "ask": Decimal("0.45"),
                "rest": Decimal("0.42"),
                "far": Decimal("0.10"),
                "group": Decimal("0.30"),
            }
        else:
            # a bitcoin perpetual's price is a bitcoin's in dollars (Price(44): fixed-point
            # dollars to $0.0001, no upper bound): about where BTC has traded, not Kalshi's
            # doc example value of 19.5
            self.symbol = "BTC-PERP"
            self.prices = {
                "bid": Decimal("97400.0000"),
                "ask": Decimal("97600.0000"),
                "rest": Decimal("97500.0000"),
                "far": Decimal("90000.0000"),
                "group": Decimal("95000.0000"),
            }

    def say(self, text: str) -> None:
        with self._lock:
            print(text, file=self.out, flush=True)

    def px(self, value: Decimal | None) -> str:
        return "-" if value is None else format_price(value, self.product)

    def qty(self, value: Decimal | None) -> str:
        return qty_text(value, self.product)

    def session(self, client: Any, session_type: str) -> BlockingSession:
        """A session of ``client``; with ``show_fix`` its frames go to the transcript."""
        config, options = client.profile(session_type)
        if self.fix_logger is not None:
            log = MessageLog(f"{session_type}/{config.sender_comp_id}", logger=self.fix_logger)
            options = attrs.evolve(options, message_log=log)
        return BlockingSession(config, options)

    def order(self, cl_ord_id: str, side: Any, qty: int, price: Decimal, **kw: Any) -> Any:
        p = self.p
        return p.NewOrderSingle(
            cl_ord_id=cl_ord_id,
            side=side,
            order_qty=Decimal(qty),
            ord_type=p.OrdType.LIMIT,
            price=price,
            symbol=self.symbol,
            time_in_force=p.TimeInForce.GTC,
            **kw,
        )

    def report(self, who: str, event: Event) -> Any:
        assert isinstance(event, ApplicationMessage)
        er: Any = event.message
        kind = f"ExecType={_label(er.exec_type)}"
        status = f"OrdStatus={_label(er.ord_status)}"
        self.say(
            f"  {who:<6}  {kind:<22} {status:<28} {er.side.name:<4} @ {self.px(er.price)}  "
            f"OrderQty {self.qty(er.order_qty)}  CumQty {self.qty(er.cum_qty)}  "
            f"LeavesQty {self.qty(er.leaves_qty)}" + (f"  Text={er.text}" if er.text else "")
        )
        if er.last_qty:
            fee = sum((f.misc_fee_amt or Decimal(0) for f in er.misc_fees or ()), Decimal(0))
            role = {True: "taker", False: "maker"}.get(er.aggressor_indicator, "exchange")
            why = {
                "taker": "AggressorIndicator=Y: this order took liquidity",
                "maker": "AggressorIndicator=N: this order was resting",
            }.get(role, "no AggressorIndicator")
            self.say(
                f"          fill {self.qty(er.last_qty)} @ {self.px(er.last_px)} (LastQty @ "
                f"LastPx), {role} fee {format_amount(fee)} ({why})"
            )
        return er

    def explain_cancel(self, er: Any, ordered: Decimal) -> None:
        self.say(
            f"          Kalshi reports OrderQty as CumQty + LeavesQty: after the cancel nothing "
            f"is open (LeavesQty {self.qty(er.leaves_qty)}) and {self.qty(er.cum_qty)} filled "
            f"(CumQty), so OrderQty reads {self.qty(er.order_qty)} for an order of "
            f"{self.qty(ordered)}: {self.qty(ordered - er.cum_qty)} contracts canceled"
        )

    def run(self) -> None:
        trader_signer, trader_pub = new_ed25519_keys()
        other_signer, other_pub = new_ed25519_keys()
        keys = {"trader-key": trader_pub, "other-key": other_pub}
        with MockGateway(self.product, keys=keys, tls=True) as gateway:
            self.say(
                f"mock Kalshi gateway ({self.product}) on 127.0.0.1, TLS, ports "
                + ", ".join(f"{k}={v}" for k, v in sorted(gateway.ports.items()))
            )
            gateway.seed_market(
                self.symbol,
                bids=[(self.prices["bid"], Decimal(25))],
                asks=[(self.prices["ask"], Decimal(30))],
            )
            trader = gateway.client("trader-key", trader_signer)
            other = gateway.client("other-key", other_signer)
            self.market_data(trader)
            self.say("2. order entry: trader-key and other-key log on to KalshiNR")
            with (
                self.session(trader, "KalshiNR") as oe,
                self.session(other, "KalshiNR") as oe2,
            ):
                self.trading(oe, oe2)
                self.say("logout: both order-entry sessions log out")
        self.say("done: every step behaved as Kalshi documents")

    def market_data(self, client: Any) -> None:
        p = self.p
        self.say("1. market data: log on to KalshiMD, subscribe, print the top of book")
        with self.session(client, "KalshiMD") as md:
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
            self.say(
                f"  {self.symbol} top of book: bid {self.qty(best_bid.md_entry_size)} @ "
                f"{self.px(best_bid.md_entry_px)}  |  ask {self.qty(best_ask.md_entry_size)} @ "
                f"{self.px(best_ask.md_entry_px)}"
            )

    def _logged_on(self, session: BlockingSession) -> None:
        event = session.wait_for(lambda e: isinstance(e, LoggedOn), 10)
        assert isinstance(event, LoggedOn)
        self.say(
            f"  logged on to {session.config.session_type} as {session.config.sender_comp_id} "
            f"(HeartBtInt {event.heartbeat_interval}, MsgSeqNum reset)"
        )

    def trading(self, oe: BlockingSession, oe2: BlockingSession) -> None:
        p = self.p
        self._logged_on(oe)
        self._logged_on(oe2)

        self.say(
            f"3. a resting order: trader buys 10 at {self.px(self.prices['rest'])}, between "
            "the bid and the ask"
        )
        oe.send(self.order("rest-1", p.Side.BUY, 10, self.prices["rest"]))
        self.report(
            "trader", oe.wait_for(_is("8", cl_ord_id="rest-1", exec_type=p.ExecType.NEW), 10)
        )

        self.say("4. a crossing order from the second API key: other sells 10 at the same price")
        oe2.send(self.order("cross-1", p.Side.SELL, 10, self.prices["rest"]))
        self.report(
            "other", oe2.wait_for(_is("8", cl_ord_id="cross-1", exec_type=p.ExecType.TRADE), 10)
        )
        self.report(
            "trader", oe.wait_for(_is("8", cl_ord_id="rest-1", exec_type=p.ExecType.TRADE), 10)
        )

        self.say("5. a cancel: trader rests a far order, then cancels it")
        oe.send(self.order("far-1", p.Side.BUY, 5, self.prices["far"]))
        new = self.report(
            "trader", oe.wait_for(_is("8", cl_ord_id="far-1", exec_type=p.ExecType.NEW), 10)
        )
        oe.send(
            p.OrderCancelRequest(
                cl_ord_id="cancel-1",
                orig_cl_ord_id="far-1",
                order_id=new.order_id,
                side=p.Side.BUY,
                symbol=self.symbol,
            )
        )
        canceled = self.report(
            "trader", oe.wait_for(_is("8", cl_ord_id="cancel-1", exec_type=p.ExecType.CANCELED), 10)
        )
        self.explain_cancel(canceled, new.order_qty)

        self.say("6. an order group: one risk limit over several orders, tripped by the trader")
        self.say(
            "  an order group caps the contracts its orders may FILL within a rolling 15 "
            "seconds; past the cap Kalshi triggers (trips) the group: it cancels every "
            "resting order in it and refuses new ones until the group is reset. The trader "
            "may also trigger it at will, as a kill switch for those orders"
        )
        oe.send(
            p.OrderGroupRequest(
                order_group_action=p.OrderGroupAction.CREATE, order_group_contracts_limit=5
            )
        )
        created = oe.wait_for(_is("UOH"), 10)
        assert isinstance(created, ApplicationMessage)
        group_id = created.message.order_group_id  # type: ignore[attr-defined]
        self.say(
            f"  trader creates a group with a 5-contract limit (OrderGroupRequest, Create): "
            f"{group_id}"
        )
        self.say(
            f"  trader places two 2-contract bids in the group at "
            f"{self.px(self.prices['group'])} (the group's id in SecondaryClOrdID): they "
            "rest below the market, nothing fills, so the group has used 0 of its 5 contracts"
        )
        for i in (1, 2):
            oe.send(
                self.order(
                    f"grp-{i}", p.Side.BUY, 2, self.prices["group"], secondary_cl_ord_id=group_id
                )
            )
            self.report(
                "trader", oe.wait_for(_is("8", cl_ord_id=f"grp-{i}", exec_type=p.ExecType.NEW), 10)
            )
        self.say(
            "  trader triggers the group (OrderGroupRequest, Trigger): Kalshi cancels both "
            "resting orders, with the text ORDER_GROUP_CANCEL"
        )
        oe.send(
            p.OrderGroupRequest(
                order_group_action=p.OrderGroupAction.TRIGGER, order_group_id=group_id
            )
        )
        for i in (1, 2):
            self.report(
                "trader",
                oe.wait_for(_is("8", cl_ord_id=f"grp-{i}", exec_type=p.ExecType.CANCELED), 10),
            )
        self.say(
            "  trader sends one more bid of 1 contract in the group: Kalshi rejects it with "
            "EXCEEDED_ORDER_GROUP_RISK_LIMIT (OrdRejReason 3) because the group is "
            "triggered, not because of its count (nothing has filled, and 1 contract is "
            "within 5): a triggered group takes no order until it is reset "
            "(OrderGroupRequest, Reset)"
        )
        oe.send(
            self.order("grp-3", p.Side.BUY, 1, self.prices["group"], secondary_cl_ord_id=group_id)
        )
        self.report("trader", oe.wait_for(_is("8", cl_ord_id="grp-3"), 10))


def run_demo(product: str = "prediction", out: TextIO | None = None, show_fix: bool = False) -> int:
    """Run the demo story.

    Args:
        product: ``"prediction"`` or ``"margin"``.
        out: where the transcript goes (default stdout).
        show_fix: also print every FIX message the clients exchange (secrets redacted).

    Returns:
        0 on success, 1 when a step failed (the reason is printed).
    """
    stream = out or sys.stdout
    story = _Story(product, stream, show_fix)
    try:
        story.run()
    except (DemoFailed, TimeoutError) as exc:
        print(f"demo failed: {exc}", file=stream)
        return 1
    return 0
