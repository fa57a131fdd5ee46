"""The exchange's records: public value types, connected sessions, orders, books, RFQs.

`Outbound` and `OrderView` are public (re-exported by `kalshi_fix_sansio.simulator.gateway`); the rest is
the engine's internal state, shared by the feature modules. `Book` is one market's price levels
(FIFO per price) with the aggregated sizes market data is built from.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType

import attrs

from ....codec import Message, finish_frame
from .common import BUY, HOUSE_ACCOUNT, ROLLING_WINDOW_SECONDS, SELL, ZERO, Status

__all__ = [
    "Book",
    "ClientSession",
    "EncodedMessage",
    "FillView",
    "Finished",
    "Order",
    "OrderGroup",
    "OrderView",
    "Outbound",
    "Quote",
    "Refusal",
    "Report",
    "Rfq",
    "SettlementView",
    "Trade",
]


class EncodedMessage:
    """A message the exchange made as bytes (`Outbound.message` for a session connected with
    ``wire=True``): its MsgType and its body, the fields after the standard header exactly as
    the dialect's encoder writes them (market data, prices in dollars). A session sends it with
    ``send_encoded``; `message` reads it back as the typed message.

    Attributes:
        MSG_TYPE: its MsgType (``"X"``).
        body: its fields after the standard header.
    """

    __slots__ = ("MSG_TYPE", "body")

    def __init__(self, msg_type: str, body: bytes) -> None:
        self.MSG_TYPE = msg_type
        self.body = body

    def message(self, dialect: ModuleType) -> Message:
        """The typed message of ``dialect`` (`kalshi_fix_sansio.codec.prediction` or
        ``margin``) these bytes are: what a receiver that reads no bytes gets."""
        frame = finish_frame(
            [b"35=%s\x01" % self.MSG_TYPE.encode(), _PLACEHOLDER_HEADER, self.body], {}
        )
        decoded: Message = dialect.decode(frame, use_dollars=True)
        return decoded

    def __repr__(self) -> str:
        return f"EncodedMessage({self.MSG_TYPE!r}, {self.body!r})"


_PLACEHOLDER_HEADER = b"49=Kalshi\x0156=-\x0134=1\x0152=19700101-00:00:00.000\x01"


@attrs.frozen
class Outbound:
    """One message the server must send.

    Attributes:
        session_id: the connected session that gets it.
        message: a typed message of the engine's product dialect, or its bytes (an
            `EncodedMessage`, for a session connected with ``wire=True``).
    """

    session_id: str
    message: Message | EncodedMessage


@attrs.frozen(kw_only=True)
class OrderView:
    """A read-only view of one open order (for tests, demos and the admin API).

    Attributes:
        order_id: the exchange OrderID.
        cl_ord_id: the current ClOrdID (the last one that changed the order).
        account: the login account that owns the order.
        holder: the position holder (PartyID, ``account/n`` for a subaccount, or the account).
        session_id: the session that placed the order (None for house liquidity).
        symbol: the market ticker.
        side: ``"1"`` buy (YES) or ``"2"`` sell (NO).
        price: limit price in dollars.
        order_qty: requested total quantity.
        cum_qty: filled quantity.
        leaves_qty: open quantity.
        time_in_force: TimeInForce code.
        expire_time: expiry (UTC) or None.
        order_group_id: the order group, if any.
    """

    order_id: str
    cl_ord_id: str
    account: str
    holder: str
    session_id: str | None
    symbol: str
    side: str
    price: Decimal
    order_qty: Decimal
    cum_qty: Decimal
    leaves_qty: Decimal
    time_in_force: str
    expire_time: datetime | None
    order_group_id: str | None


@attrs.frozen(kw_only=True)
class FillView:
    """One fill of a client order, as the exchange made it (`Exchange.fill_listeners`).

    Attributes:
        time: the exchange's time of the fill, UTC epoch seconds (a replay's recording clock).
        account: the login account that owns the order.
        holder: the position holder (PartyID, ``account/n`` or the account).
        symbol: the market ticker.
        side: ``"1"`` buy (YES) or ``"2"`` sell.
        price: the fill price in dollars (prediction: the YES price).
        qty: contracts filled.
        fee: the fee charged, dollars.
        aggressor: the order took liquidity (taker).
        order_id: the exchange OrderID.
        cl_ord_id: the order's current ClOrdID.
        trade_id: the trade's id, the fill report's TrdMatchID(880).
        order_qty: the order's OrderQty (None: not told).
        order_price: the order's limit price, dollars (None: not told).
    """

    time: float
    account: str
    holder: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    aggressor: bool
    order_id: str
    cl_ord_id: str
    trade_id: str | None = None
    order_qty: Decimal | None = None
    order_price: Decimal | None = None


@attrs.frozen(kw_only=True)
class SettlementView:
    """One holder's position paid out when a market settled (`Exchange.settlement_listeners`).

    Attributes:
        time: the exchange's time of the settlement, UTC epoch seconds.
        account: the login account.
        holder: the position holder (PartyID, ``account/n`` or the account).
        symbol: the market ticker.
        result: ``"yes"`` or ``"no"``.
        position: the signed YES position settled (negative: NO contracts).
        payout: dollars paid, the fee already deducted.
        fee: the settlement fee charged, dollars.
    """

    time: float
    account: str
    holder: str
    symbol: str
    result: str
    position: Decimal
    payout: Decimal
    fee: Decimal


@attrs.define(eq=False, kw_only=True)
class ClientSession:
    """A logged-on client session: its account, type, Logon flags and subscriptions."""

    session_id: str
    account: str
    session_type: str
    listener: bool
    cancel_on_disconnect: bool
    use_dollars: bool
    settlement_reports: bool
    preserve_original_order_qty: bool
    use_expired_ord_status: bool
    md_symbols: set[str] = attrs.Factory(set)
    status_symbols: set[str] = attrs.Factory(set)
    wire: bool = False
    """Its market data (35=X) made as bytes (`EncodedMessage`): a session that encodes."""


@attrs.define(eq=False, kw_only=True)
class Order:
    """One order (open or finished); ``resting`` while it is in its market's book."""

    order_id: str
    cl_ord_id: str
    account: str
    holder: str
    alloc_account: int | None
    party_id: str | None
    session_id: str | None
    symbol: str
    side: str
    price: Decimal
    order_qty: Decimal
    tif: str
    expire_dt: datetime | None
    expire_ts: float | None
    post_only: bool
    reduce_only: bool
    stp: int
    cancel_on_pause: bool
    group_id: str | None
    seq: int
    leaves_qty: Decimal
    cum_qty: Decimal = ZERO
    notional: Decimal = ZERO
    status: Status = Status.NEW
    open: bool = True
    session_type: str | None = None  # the placing session's type: 35=q reaches the key's own
    resting: bool = False
    rfq: bool = False  # a 35=D quote acceptance waiting for the maker's confirmation
    ahead: Decimal = ZERO  # the level's size when it joined (a replay's queue ahead of it)

    @property
    def avg_px(self) -> Decimal:
        return self.notional / self.cum_qty if self.cum_qty else ZERO


@attrs.frozen(kw_only=True)
class Finished:
    """What the exchange keeps of a finished client order (filled, cancelled, expired): what a
    cancel or cancel/replace naming it is answered with (`ExchangeState.finished`)."""

    order_id: str
    cl_ord_id: str
    side: str
    symbol: str
    alloc_account: int | None
    party_id: str | None
    status: Status

    @classmethod
    def of(cls, order: Order) -> Finished:
        return cls(
            order_id=order.order_id,
            cl_ord_id=order.cl_ord_id,
            side=order.side,
            symbol=order.symbol,
            alloc_account=order.alloc_account,
            party_id=order.party_id,
            status=order.status,
        )


@attrs.define(eq=False, kw_only=True)
class OrderGroup:
    """An order group: its owner, contracts limit and the fills of its rolling window."""

    group_id: str
    account: str
    alloc_account: int
    limit: int
    triggered: bool = False
    fills: list[tuple[float, Decimal]] = attrs.Factory(list)

    def volume(self, now: float) -> Decimal:
        cutoff = now - ROLLING_WINDOW_SECONDS
        self.fills = [f for f in self.fills if f[0] > cutoff]
        return sum((f[1] for f in self.fills), ZERO)


class Book:
    """One market: price levels per side (FIFO lists) and aggregated level sizes.

    ``before``, while a call's market data follows the book (`MarketData.mark
    <kalshi_fix_sansio.simulator.gateway.exchange.market_data.MarketData.mark>`), holds the
    aggregated size each level changed this call had before its first change, keyed ``(side,
    price)`` (None: the level was not there): the call's 35=X is made from those levels
    alone, with no copy of the book."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.settled = False
        self.halted = False  # a replayed SecurityStatus 2 (trading halt) until its 3
        self.closed = False  # a replayed SecurityStatus 100 / 101 (trading ended)
        self.levels: dict[str, dict[Decimal, list[Order]]] = {BUY: {}, SELL: {}}
        self.prices: dict[str, list[Decimal]] = {BUY: [], SELL: []}  # ascending
        self.agg: dict[str, dict[Decimal, Decimal]] = {BUY: {}, SELL: {}}
        # resting orders of clients (not the house's) per side: a recorded trade walks a side
        # for them only when there is one
        self.clients: dict[str, int] = {BUY: 0, SELL: 0}
        self.before: dict[tuple[str, Decimal], Decimal | None] | None = None

    def best(self, side: str) -> Decimal | None:
        prices = self.prices[side]
        if not prices:
            return None
        return prices[-1] if side == BUY else prices[0]

    def iter_priority(self, side: str) -> Iterator[Order]:
        prices = self.prices[side]
        ordered = reversed(prices) if side == BUY else iter(prices)
        for px in list(ordered):
            yield from list(self.levels[side].get(px, ()))

    def add(self, order: Order) -> None:
        side, px = order.side, order.price
        agg = self.agg[side]
        before = self.before
        if before is not None and (side, px) not in before:
            before[(side, px)] = agg.get(px)
        level = self.levels[side].get(px)
        if level is None:
            level = self.levels[side][px] = []
            bisect.insort(self.prices[side], px)
            agg[px] = ZERO
        order.ahead = agg[px]
        level.append(order)
        agg[px] += order.leaves_qty
        order.resting = True
        if order.account != HOUSE_ACCOUNT:
            self.clients[side] += 1

    def remove(self, order: Order) -> None:
        side, px = order.side, order.price
        agg = self.agg[side]
        before = self.before
        if before is not None and (side, px) not in before:
            before[(side, px)] = agg[px]
        level = self.levels[side][px]
        level.remove(order)
        agg[px] -= order.leaves_qty
        order.resting = False
        if order.account != HOUSE_ACCOUNT:
            self.clients[side] -= 1
        if not level:
            del self.levels[side][px]
            del agg[px]
            self.prices[side].remove(px)

    def resize(self, order: Order, leaves: Decimal) -> None:
        side, px = order.side, order.price
        agg = self.agg[side]
        before = self.before
        if before is not None and (side, px) not in before:
            before[(side, px)] = agg[px]
        agg[px] += leaves - order.leaves_qty
        order.leaves_qty = leaves


@attrs.define(kw_only=True)
class Report:
    """One execution-report event, rendered per recipient session."""

    exec_id: str
    exec_type: Status
    ord_status: Status
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    account: str
    session_id: str | None
    side: str
    symbol: str
    price: Decimal | None
    order_qty: Decimal
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    transact: datetime
    text: str | None = None
    ord_rej_reason: int | None = None
    expire_dt: datetime | None = None
    replaced_tif: str | None = None
    alloc_account: int | None = None
    party_id: str | None = None
    expired: bool = False
    rejected: bool = False
    last_px: Decimal | None = None
    last_qty: Decimal | None = None
    trd_match_id: str | None = None
    aggressor: bool | None = None
    fee: Decimal | None = None
    long_qty: Decimal | None = None
    short_qty: Decimal | None = None
    balance: Decimal | None = None
    clearing_date: date | None = None


@attrs.define(kw_only=True)
class Trade:
    """One trade of the current call, for the 35=X trade entries."""

    symbol: str
    price: Decimal
    qty: Decimal
    aggressor_side: str
    trade_id: str
    block: bool = False


@attrs.define(eq=False, kw_only=True)
class Rfq:
    """One request for quote (prediction)."""

    rfq_id: str  # server RfqId, the QuoteReqID makers see
    quote_req_id: str  # the creator's QuoteReqID
    account: str
    holder: str
    alloc_account: int | None
    party_id: str | None
    session_id: str
    symbol: str
    qty: Decimal | None
    cash: Decimal | None
    fees_excluded: bool
    obscure: bool
    created: float
    seq: int
    open: bool = True
    accepted: Quote | None = None  # the quote waiting for the maker's confirmation
    quotes: list[Quote] = attrs.Factory(list)


@attrs.define(eq=False, kw_only=True)
class Quote:
    """One market maker's quote on an RFQ."""

    quote_id: str
    rfq: Rfq
    account: str
    alloc_account: int | None
    session_id: str
    yes_px: Decimal | None  # BidPx: the maker buys YES at this price
    no_px: Decimal | None  # OfferPx: the maker buys NO at this price
    yes_size: Decimal | None
    no_size: Decimal | None
    created: float
    seq: int
    state: str = "pending"  # pending, accepted, executed, cancelled
    # set on acceptance
    side: str = BUY  # the creator's side
    qty: Decimal = ZERO
    deadline: float = 0.0
    requested_id: str = ""
    accept_session: str | None = None
    accept_cl: str | None = None
    order: Order | None = None  # the creator's 35=D order, when accepted that way


@attrs.frozen
class Refusal:
    """Why an acceptance is refused: Text and the OrdRejReason of the 35=D path."""

    text: str
    reason: int
