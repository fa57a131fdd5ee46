"""Matching: price-time priority, fills, fees and positions.

* Limit orders only; one YES book per prediction market (Side 1 = buy YES at Price, Side 2 =
  sell YES = buy NO at ``1 - Price``); price-time priority; the fill price is the resting
  order's price; LastPx is the YES price. Every accepted order gets a New report first (as if
  AlwaysEmitNewBeforeTrade=Y), then its trades; the unfilled rest of an IOC order is cancelled
  with a report (as if EnableIocCancelReport=Y). Pending states are never reported.
* Self-trade prevention applies between orders of the same login account (any subaccount or
  FCM customer of it). The incoming order's SelfTradePreventionType decides: 1 (default, also
  0) cancels the incoming order, 2 cancels the resting one.
* Fill-or-kill checks the fillable volume first (taking self-trade prevention and order-group
  triggers on the way into account) and otherwise cancels with ``FOK_INSUFFICIENT_VOLUME``.
  Reduce-only fills at most the position it reduces (``cap``).
* Fees (MiscFee, USD, type 4, basis 0) per fill, from the exchange's fee model (`fees`; by
  default rounded up to the cent: prediction taker ``0.07 * qty * p * (1 - p)``, maker
  ``0.0175 * qty * p * (1 - p)``; margin taker ``0.0005 * qty * price``, maker 0). The
  BALANCE collateral change is, on prediction, the cash flow of the fill (cost of the YES or NO
  contracts bought, plus $1 per YES/NO pair the fill closes, minus the fee, to 4 decimals); on
  margin it is minus the fee (margin collateral is not modelled). LongQty / ShortQty are the
  holder's net position after the fill (prediction: YES / NO contracts).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from .common import (
    BUY,
    CENT,
    HOUSE_ACCOUNT,
    ONE,
    SELL,
    TICK,
    ZERO,
    Status,
    crosses,
    eastern,
    utc,
)
from .market_data import MarketData
from .model import FillView, Order, Trade
from .order_groups import OrderGroups
from .orders import Orders
from .reports import Reports
from .state import ExchangeState

__all__ = ["Matching"]


class Matching:
    """The matching engine of every market."""

    def __init__(
        self,
        state: ExchangeState,
        orders: Orders,
        groups: OrderGroups,
        md: MarketData,
        reports: Reports,
    ) -> None:
        self.state = state
        self.orders = orders
        self.groups = groups
        self.md = md
        self.reports = reports

    def fillable(self, taker: Order) -> Decimal:
        """Quantity a fill-or-kill order would get, walking the book without changing it."""
        book = self.state.books[taker.symbol]
        opposite = SELL if taker.side == BUY else BUY
        total = ZERO
        want = taker.leaves_qty
        volumes: dict[str, Decimal] = {}
        blocked: set[str] = set()
        own_group = self.groups.by_id.get(taker.group_id) if taker.group_id else None
        own_volume = own_group.volume(self.state.now) if own_group is not None else ZERO
        for maker in book.iter_priority(opposite):
            if not crosses(taker.side, taker.price, maker.price):
                break
            if maker.account == taker.account:
                if taker.stp == 2:
                    continue
                break
            if maker.group_id is not None and maker.group_id in blocked:
                continue
            q = min(want - total, maker.leaves_qty)
            total += q
            if total >= want:
                break
            group = self.groups.by_id.get(maker.group_id) if maker.group_id else None
            if group is not None:
                vol = volumes.get(group.group_id, group.volume(self.state.now)) + q
                volumes[group.group_id] = vol
                if vol > group.limit:
                    blocked.add(group.group_id)
            if own_group is not None:
                own_volume += q
                if own_volume > own_group.limit:
                    break
        return total

    def execute(self, taker: Order, *, ioc: bool, cap: Decimal | None = None) -> None:
        """Match an accepted (or re-priced) order, then rest or cancel what is left."""
        book = self.state.books[taker.symbol]
        opposite = SELL if taker.side == BUY else BUY
        filled = ZERO
        while taker.open and taker.leaves_qty > 0 and (cap is None or filled < cap):
            best = book.best(opposite)
            if best is None or not crosses(taker.side, taker.price, best):
                break
            maker = book.levels[opposite][best][0]
            if maker.account == taker.account:
                if taker.stp == 2:
                    self.orders.cancel(maker, text="MAKER_CANCEL_FOR_SELF_TRADE_PREVENTION")
                    continue
                self.orders.cancel(taker, text="TAKER_CANCEL_FOR_SELF_TRADE_PREVENTION")
                return
            q = min(taker.leaves_qty, maker.leaves_qty)
            if cap is not None:
                q = min(q, cap - filled)
            self.fill(taker, maker, best, q)
            filled += q
        if not taker.open:
            return
        if ioc or cap is not None:
            if taker.tif == "4":
                self.orders.cancel(taker, text="FOK_INSUFFICIENT_VOLUME")
            else:
                self.orders.cancel(taker, text="IMMEDIATE_OR_CANCELLED")
            return
        if not taker.resting:
            self.md.mark(book)
            book.add(taker)
            self.md.touch(taker)

    def fill(self, taker: Order, maker: Order, price: Decimal, qty: Decimal) -> None:
        """Trade ``qty`` at ``price`` between two orders: reports, positions, groups."""
        book = self.state.books[maker.symbol]
        self.md.mark(book)
        trade_id = self.state.uuid()
        reports = []
        for order, is_taker in ((taker, True), (maker, False)):
            if order.resting:
                book.resize(order, order.leaves_qty - qty)
                self.md.touch(order)
            else:
                order.leaves_qty -= qty
            order.cum_qty += qty
            order.notional += price * qty
            if order.leaves_qty == 0:
                order.status = Status.FILLED
                self.orders.close(order)
            else:
                order.status = Status.PARTIAL
            fee, long_qty, short_qty, balance = self.book_position(order, price, qty, is_taker)
            if self.state.fill_listeners and order.account != HOUSE_ACCOUNT:
                self._tell(order, price, qty, fee, is_taker, trade_id)
            report = self.reports.report(order, Status.TRADE, order.status)
            report.last_px = price
            report.last_qty = qty
            report.trd_match_id = trade_id
            report.aggressor = is_taker
            report.fee = fee
            report.long_qty = long_qty
            report.short_qty = short_qty
            report.balance = balance
            report.clearing_date = self.clearing_date()
            reports.append(report)
        for report in reports:
            self.reports.emit(report)
        self.md.trades.append(
            Trade(
                symbol=taker.symbol,
                price=price,
                qty=qty,
                aggressor_side=taker.side,
                trade_id=trade_id,
            )
        )
        for order in (taker, maker):
            self.groups.record_fill(order, qty)

    def _tell(
        self, order: Order, price: Decimal, qty: Decimal, fee: Decimal, taker: bool, trade_id: str
    ) -> None:
        view = FillView(
            time=self.state.now,
            account=order.account,
            holder=order.holder,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            fee=fee,
            aggressor=taker,
            order_id=order.order_id,
            cl_ord_id=order.cl_ord_id,
            trade_id=trade_id,
            order_qty=order.order_qty,
            order_price=order.price,
        )
        for listener in self.state.fill_listeners:
            listener(view)

    def book_position(
        self, order: Order, price: Decimal, qty: Decimal, is_taker: bool
    ) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """Move the holder's position; (fee, LongQty, ShortQty, BALANCE change)."""
        key = (order.symbol, order.account, order.holder)
        pos = self.state.positions.get(key, ZERO)
        buy = order.side == BUY
        fee = self.state.trade_fee(order.symbol, price, qty, taker=is_taker)
        if self.state.prediction:
            if buy:
                cash = -price * qty + min(qty, max(-pos, ZERO))
            else:
                cash = -(ONE - price) * qty + min(qty, max(pos, ZERO))
            balance = (cash - fee).quantize(TICK, rounding=ROUND_HALF_EVEN)
        else:
            balance = -fee
        pos = pos + qty if buy else pos - qty
        self.state.positions[key] = pos
        return (
            fee if fee != fee.quantize(CENT) else fee.quantize(CENT),
            max(pos, ZERO).quantize(CENT),
            max(-pos, ZERO).quantize(CENT),
            balance,
        )

    def clearing_date(self) -> date:
        """ClearingBusinessDate of a fill now (margin: the next day from 4 pm ET)."""
        local = eastern(utc(self.state.now))
        if not self.state.prediction and local.hour >= 16:
            return local.date() + timedelta(days=1)
        return local.date()
