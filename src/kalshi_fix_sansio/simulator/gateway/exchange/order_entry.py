"""Order entry: NewOrderSingle, cancel, cancel/replace and mass cancel (35=D/F/G/q).

New orders
    * Prices must have at most 4 decimals: prediction ``0 < price < 1``, margin
      ``0 < price <= 1e9``. Quantities must be positive and at most 100,000,000: prediction up to
      2 decimals, margin whole contracts. Violations are rejected (ExecType 8) with Text
      ``INVALID_PRICE`` / ``INVALID_ORDER`` and OrdRejReason 11.
    * TimeInForce omitted = GTC. A GTD order needs ExpireTime; ExpireTime on another TimeInForce
      is rejected; a GTD time not in the future acts as IOC.
    * Reduce-only (ExecInst E; IOC only on prediction, IOC or FOK on margin) fills at most the
      position it reduces; with no such position it is cancelled with ``REDUCE_ONLY``. A
      post-only order that would cross is cancelled with ``POST_ONLY_CROSS``.
    * Not modelled (accepted and ignored): MaxExecutionCost, ExDestination, balance and risk
      limits, rate limits. A 35=D with QuoteID accepts an RFQ quote (`rfq`).
    * AllocAccount (0-63) and a single Parties entry (PartyRole 24) name the position holder:
      the PartyID, ``"<account>/<n>"`` for subaccount n > 0, else the account. Cancel and
      replace requests must repeat them.
    * Orders for an unknown market (one `Exchange.seed_market` never listed, unless the exchange
      was made with ``auto_list_markets=True``) are rejected with ``MARKET_NOT_FOUND`` (103=1,
      Kalshi's mapping in its ExecutionReport Text table), for a settled one (or one whose
      replayed SecurityStatus said trading ended, 100 / 101) with ``MARKET_ALREADY_CLOSED``, for
      one a replayed SecurityStatus halted (326=2, until its 3) with ``MARKET_INACTIVE``, during
      a pause with ``TRADING_PAUSED`` / ``EXCHANGE_PAUSED`` (103=2); replaces get the same
      texts (35=9, 102=99); cancels are refused during an exchange pause only.

Cancel, replace, mass cancel
    * Orders are found by (account, OrigClOrdID); OrderID, Side, Symbol, AllocAccount and the
      party must match, else 35=9 with CxlRejReason 1 and Text ``NOT_FOUND`` (OrdStatus of the
      order, or 8 when there is none, with OrderID ``NONE``). A filled order: 102=0 on cancel,
      102=2 ``CANNOT_UPDATE_FILLED_ORDER`` on replace. Finished orders are answered so while
      the exchange remembers them (the last ``finished_orders``, see `orders`); an older one
      is unknown. A new ClOrdID equal to an open order's: 102=6 ``ORDER_ALREADY_EXISTS``.
    * Replace: OrderQty is the new total; below CumQty 102=2 ``INVALID_AMEND_QTY_FOR_ORDER``;
      equal to CumQty cancels the order. Price, TimeInForce and ExpireTime follow Kalshi's
      replace rules (omitted = unchanged). Priority is kept unless the price changes or the
      open quantity grows. The report is ExecType 5 / OrdStatus 5 with TimeInForce 6 (expiry)
      or 1; a replaced order that now crosses trades as the aggressor. A replace that would
      cross the same account's resting order is refused (35=9, 102=18, ``SELF_CROSS_ATTEMPT``);
      so is a post-only order's replace that would cross (102=99, ``POST_ONLY_CROSS``).
    * Mass cancel cancels the orders the requesting session placed, one report each, then 35=r
      531=6. MassCancelRequestType other than 6: 35=r 531=0 532=0; during an exchange pause
      531=0 532=99. 35=9 and 35=r answer the requesting session only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from .common import (
    BUY,
    INCORRECT_DATA_FORMAT,
    NONE_ID,
    ORDER_GROUP_ID_TAG,
    SELL,
    ZERO,
    Status,
    as_int,
    as_text,
    aware_utc,
    crosses,
    end_of_et_day,
    is_uuid,
    to_ms,
    utc,
)
from .market_data import MarketData
from .matching import Matching
from .model import ClientSession, Finished, Order
from .order_groups import OrderGroups
from .orders import Orders
from .reports import Reports
from .rfq import Rfqs
from .state import ExchangeState

__all__ = ["OrderEntry"]


class OrderEntry:
    """The order-entry requests of client sessions."""

    def __init__(
        self,
        state: ExchangeState,
        orders: Orders,
        matching: Matching,
        groups: OrderGroups,
        reports: Reports,
        rfq: Rfqs,
        md: MarketData,
    ) -> None:
        self.state = state
        self.orders = orders
        self.matching = matching
        self.groups = groups
        self.reports = reports
        self.rfq = rfq
        self.md = md

    def on_new_order(self, session: ClientSession, msg: Any) -> None:
        """NewOrderSingle (35=D): validate, then New report and matching; or a reject."""
        group_field = as_text(msg.order_group_id)
        if group_field is not None and not is_uuid(group_field):
            # a malformed field: the session Reject, before any order handling
            return self.state.session_reject(
                session, msg, ORDER_GROUP_ID_TAG, 6, INCORRECT_DATA_FORMAT
            )
        bad = self.reports.reject_new_order
        cl = as_text(msg.cl_ord_id)
        side = as_text(msg.side)
        symbol = as_text(msg.symbol)
        if cl is None or len(cl) > 64 or symbol is None or side not in (BUY, SELL):
            return bad(session, msg, "INVALID_ORDER", 11)
        if as_text(msg.ord_type) != "2":
            return bad(session, msg, "INVALID_ORDER", 11)
        qty = self.state.valid_qty(msg.order_qty)
        if qty is None:
            return bad(session, msg, "INVALID_ORDER", 11)
        price = self.state.valid_price(msg.price)
        if price is None:
            return bad(session, msg, "INVALID_PRICE", 11)
        tif = "1" if msg.time_in_force is None else as_text(msg.time_in_force)
        if tif not in ("0", "1", "3", "4", "6"):
            return bad(session, msg, "INVALID_ORDER", 11)
        expire: datetime | None = None
        if tif == "6":
            expire = aware_utc(msg.expire_time)
            if expire is None:
                return bad(session, msg, "INVALID_ORDER", 11)
        elif msg.expire_time is not None:
            return bad(session, msg, "INVALID_ORDER", 11)
        inst = as_text(msg.exec_inst)
        flags = set(inst.split()) if inst is not None else set()
        if msg.exec_inst is not None and (not flags or not flags <= {"6", "E"} or len(flags) > 1):
            return bad(session, msg, "INVALID_ORDER", 11)
        post_only, reduce_only = "6" in flags, "E" in flags
        if reduce_only and tif not in (("3",) if self.state.prediction else ("3", "4")):
            return bad(session, msg, "INVALID_ORDER", 11)
        stp = (
            1 if msg.self_trade_prevention_type is None else as_int(msg.self_trade_prevention_type)
        )
        if stp not in (0, 1, 2):
            return bad(session, msg, "INVALID_ORDER", 11)
        if getattr(msg, "quote_id", None) is not None or getattr(msg, "rfq_id", None) is not None:
            return self.rfq.on_quote_order(session, msg, cl, side, symbol, qty, price)
        parties = self.state.parties(msg)
        if isinstance(parties, str):
            return bad(session, msg, parties, 11)
        alloc, party = parties
        cop = msg.cancel_order_on_pause
        if cop is not None and not isinstance(cop, bool):
            return bad(session, msg, "INVALID_ORDER", 11)
        refusal = self.state.market_refusal(symbol)
        if refusal is not None:
            return bad(session, msg, refusal, 1 if refusal == "MARKET_NOT_FOUND" else 2)
        book = self.state.books[symbol]
        existing = self.state.by_cl.get((session.account, cl))
        if existing is not None and existing.open:
            return bad(session, msg, "ORDER_ALREADY_EXISTS", 6)
        group_id = as_text(msg.secondary_cl_ord_id) or as_text(msg.order_group_id)
        if group_id is not None:
            group = self.groups.by_id.get(group_id)
            if (
                group is None
                or group.account != session.account
                or group.alloc_account != (alloc or 0)
            ):
                return bad(session, msg, "ORDER_GROUP_NOT_FOUND", 11)
            if group.triggered:
                return bad(session, msg, "EXCEEDED_ORDER_GROUP_RISK_LIMIT", 3)
        ioc = tif in ("3", "4")
        if tif == "0":
            expire = end_of_et_day(utc(self.state.now))
        elif expire is not None and expire.timestamp() <= self.state.now:
            ioc = True  # a GTD time in the past acts as IOC
        order = self.orders.new_order(
            cl_ord_id=cl,
            account=session.account,
            alloc=alloc,
            party=party,
            session_id=session.session_id,
            symbol=symbol,
            side=side,
            price=price,
            qty=qty,
            tif=tif,
            expire=None if ioc else expire,
            post_only=post_only,
            reduce_only=reduce_only,
            stp=2 if stp == 2 else 1,
            cancel_on_pause=bool(cop),
            group_id=group_id,
        )
        if ioc and expire is not None:
            order.expire_dt = to_ms(expire)  # reported, not scheduled
        self.reports.emit(self.reports.report(order, Status.NEW, Status.NEW))
        opposite = SELL if side == BUY else BUY
        best = book.best(opposite)
        if post_only and best is not None and crosses(side, price, best):
            return self.orders.cancel(order, text="POST_ONLY_CROSS")
        cap: Decimal | None = None
        if reduce_only:
            pos = self.state.positions.get((symbol, order.account, order.holder), ZERO)
            cap = max(-pos, ZERO) if side == BUY else max(pos, ZERO)
            if cap == 0 or (tif == "4" and cap < qty):
                return self.orders.cancel(order, text="REDUCE_ONLY")
        if tif == "4" and self.matching.fillable(order) < qty:
            return self.orders.cancel(order, text="FOK_INSUFFICIENT_VOLUME")
        self.matching.execute(order, ioc=ioc, cap=cap)

    def cancel_reject(
        self,
        session: ClientSession,
        msg: Any,
        order: Order | Finished | None,
        response_to: str,
        reason: int,
        text: str | None,
    ) -> None:
        """An OrderCancelReject (35=9) to the requesting session."""
        d = self.state.d
        self.state.send(
            session,
            d.OrderCancelReject(
                order_id=order.order_id if order is not None else as_text(msg.order_id) or NONE_ID,
                cl_ord_id=as_text(msg.cl_ord_id) or NONE_ID,
                orig_cl_ord_id=as_text(msg.orig_cl_ord_id),
                ord_status=d.OrdStatus(order.status.value if order is not None else "8"),
                cxl_rej_response_to=d.CxlRejResponseTo(response_to),
                cxl_rej_reason=self.state.enum("CxlRejReason", reason),
                text=text,
            ),
        )

    def find(self, session: ClientSession, msg: Any, response_to: str) -> tuple[Order | None, bool]:
        """The open order a cancel/replace names; (order, True) when it may be changed. A
        finished order (`ExchangeState.finished`) is answered as Kalshi does: filled, too late
        (102=0) or ``CANNOT_UPDATE_FILLED_ORDER``; cancelled or expired, ``NOT_FOUND``."""
        orig = as_text(msg.orig_cl_ord_id)
        key = (session.account, orig or "")
        order = self.state.by_cl.get(key) if orig is not None else None
        named: Order | Finished | None = order
        if named is None and orig is not None:
            named = self.state.finished.get(key)
        parties = self.state.parties(msg)
        if (
            named is None
            or named.cl_ord_id != orig
            or (msg.order_id is not None and as_text(msg.order_id) != named.order_id)
            or as_text(msg.side) != named.side
            or as_text(msg.symbol) != named.symbol
            or isinstance(parties, str)
            or (parties[0] or None) != (named.alloc_account or None)
            or parties[1] != named.party_id
        ):
            self.cancel_reject(session, msg, None, response_to, 1, "NOT_FOUND")
            return None, False
        if named.status == Status.FILLED:
            if response_to == "1":
                self.cancel_reject(session, msg, named, response_to, 0, None)
            else:
                self.cancel_reject(
                    session, msg, named, response_to, 2, "CANNOT_UPDATE_FILLED_ORDER"
                )
            return None, False
        if order is None or not order.open:
            self.cancel_reject(session, msg, named, response_to, 1, "NOT_FOUND")
            return None, False
        if order.rfq:  # a quote acceptance waiting for the maker: too late to change
            self.cancel_reject(session, msg, order, response_to, 0, None)
            return order, False
        if as_text(msg.cl_ord_id) is None:
            self.cancel_reject(session, msg, order, response_to, 99, "INVALID_ORDER")
            return order, False
        return order, True

    def on_cancel(self, session: ClientSession, msg: Any) -> None:
        """OrderCancelRequest (35=F)."""
        order, ok = self.find(session, msg, "1")
        if order is None or not ok:
            return
        if self.state.pause == "exchange":
            return self.cancel_reject(session, msg, order, "1", 99, "EXCHANGE_PAUSED")
        self.orders.cancel(order, text=None, cl_ord_id=as_text(msg.cl_ord_id))

    def on_replace(self, session: ClientSession, msg: Any) -> None:
        """OrderCancelReplaceRequest (35=G)."""
        order, ok = self.find(session, msg, "2")
        if order is None or not ok:
            return

        def bad(reason: int, text: str) -> None:
            self.cancel_reject(session, msg, order, "2", reason, text)

        refusal = self.state.market_refusal(order.symbol)
        if refusal is not None:
            return bad(99, refusal)
        cl = as_text(msg.cl_ord_id)
        assert cl is not None  # checked by _find
        if len(cl) > 64 or as_text(msg.ord_type) != "2":
            return bad(99, "INVALID_ORDER")
        existing = self.state.by_cl.get((session.account, cl))
        if existing is not None and existing.open:
            return bad(6, "ORDER_ALREADY_EXISTS")
        qty = self.state.valid_qty(msg.order_qty)
        if qty is None:
            return bad(99, "INVALID_ORDER")
        price = order.price
        if msg.price is not None:
            new_price = self.state.valid_price(msg.price)
            if new_price is None:
                return bad(99, "INVALID_PRICE")
            price = new_price
        tif_raw = msg.time_in_force
        tif = None if tif_raw is None else as_text(tif_raw)
        expire = order.expire_dt
        new_tif = order.tif
        if tif is None:
            if msg.expire_time is not None:
                return bad(99, "INVALID_ORDER")
        elif tif == "0":
            if msg.expire_time is not None:
                return bad(99, "INVALID_ORDER")
            new_tif, expire = "0", to_ms(end_of_et_day(utc(self.state.now)))
        elif tif == "1":
            if msg.expire_time is not None:
                return bad(99, "INVALID_ORDER")
            new_tif, expire = "1", None
        elif tif == "6":
            expire = aware_utc(msg.expire_time)
            if expire is None or expire.timestamp() <= self.state.now:
                return bad(99, "INVALID_ORDER")
            new_tif, expire = "6", to_ms(expire)
        else:
            return bad(99, "INVALID_ORDER")
        if qty < order.cum_qty:
            return bad(2, "INVALID_AMEND_QTY_FOR_ORDER")
        if qty == order.cum_qty:
            return self.orders.cancel(order, text=None, cl_ord_id=cl)
        book = self.state.books[order.symbol]
        opposite = SELL if order.side == BUY else BUY
        for other in book.iter_priority(opposite):
            if not crosses(order.side, price, other.price):
                break
            if other.account == order.account:
                return bad(18, "SELF_CROSS_ATTEMPT")
        best = book.best(opposite)
        if order.post_only and best is not None and crosses(order.side, price, best):
            return bad(99, "POST_ONLY_CROSS")
        leaves = qty - order.cum_qty
        lose_priority = price != order.price or leaves > order.leaves_qty
        self.md.mark(book)
        if lose_priority:
            self.md.touch(order)
            book.remove(order)
            order.seq = self.state.next_seq()
        else:
            book.resize(order, leaves)
            self.md.touch(order)
        previous = order.cl_ord_id
        del self.state.by_cl[(order.account, previous)]
        order.cl_ord_id = cl
        self.state.by_cl[(order.account, cl)] = order
        order.price = price
        order.order_qty = qty
        order.leaves_qty = leaves
        order.tif = new_tif
        order.expire_dt = expire
        order.expire_ts = None if expire is None else expire.timestamp()
        self.orders.watch_expiry(order)
        self.reports.emit(
            self.reports.report(
                order, Status.REPLACED, Status.REPLACED, orig_cl_ord_id=previous, replaced=True
            )
        )
        if lose_priority:
            self.matching.execute(order, ioc=False)

    def on_mass_cancel(self, session: ClientSession, msg: Any) -> None:
        """OrderMassCancelRequest (35=q): cancel the session's orders, then 35=r.

        "The session" is the FIX session, the API key's KalshiNR session (its CompIDs), not
        one connection: orders an earlier connection of the key placed on KalshiNR are
        cancelled too (docs/maintainers/decisions.md).
        """
        d = self.state.d
        cl = as_text(msg.cl_ord_id) or NONE_ID
        if as_text(msg.mass_cancel_request_type) != "6" or self.state.pause == "exchange":
            reason = 99 if self.state.pause == "exchange" else 0
            self.state.send(
                session,
                d.OrderMassCancelReport(
                    cl_ord_id=cl,
                    order_id=self.state.uuid(),
                    mass_cancel_response=d.MassCancelResponse("0"),
                    mass_cancel_reject_reason=reason,
                ),
            )
            return
        mine = session.account, session.session_type
        for order in self.state.orders_where(lambda o: (o.account, o.session_type) == mine):
            self.orders.cancel(order, text=None)
        self.state.send(
            session,
            d.OrderMassCancelReport(
                cl_ord_id=cl,
                order_id=self.state.uuid(),
                mass_cancel_response=d.MassCancelResponse("6"),
            ),
        )
