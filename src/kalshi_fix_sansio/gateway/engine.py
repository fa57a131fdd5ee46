"""The pure exchange engine of the mock Kalshi gateway: order books, matching and reports.

`Exchange` holds the markets, resting orders, positions, order groups and market-data
subscriptions of one product (``"prediction"`` or ``"margin"``). It does no I/O and reads no
clock: every call takes ``now`` (UTC epoch seconds) and returns the messages to send as
`Outbound` values (a session id and a typed message of the product's dialect). Ids are
deterministic: OrderIDs, TrdMatchIDs, order-group ids, report ids, RfqIds and the pseudonymous
RFQ party ids are UUIDs drawn from a ``random.Random(seed)``; ExecIDs are ``clock;event`` where
``clock`` counts the engine calls that produced execution reports and ``event`` numbers the
reports of one call from 1.

Behaviour follows Kalshi's FIX documentation (the reference notes). Where Kalshi is silent the
engine chooses, as listed here:

Orders
    * Limit orders only; one YES book per prediction market (Side 1 = buy YES at Price, Side 2 =
      sell YES = buy NO at ``1 - Price``); price-time priority; the fill price is the resting
      order's price; LastPx is the YES price. Prices must have at most 4 decimals: prediction
      ``0 < price < 1``, margin ``0 < price <= 1e9``. Quantities must be positive and at most
      100,000,000: prediction up to 2 decimals, margin whole contracts. Violations are rejected
      (ExecType 8) with Text ``INVALID_PRICE`` / ``INVALID_ORDER`` and OrdRejReason 11.
    * Every accepted order gets a New report first (as if AlwaysEmitNewBeforeTrade=Y), then its
      trades; the unfilled rest of an IOC order is cancelled with a report (as if
      EnableIocCancelReport=Y). Pending states are never reported.
    * TimeInForce omitted = GTC. Day orders expire at 11:59:59.999 pm US Eastern time (DST by
      the US rules). A GTD order needs ExpireTime; ExpireTime on another TimeInForce is
      rejected; a GTD time not in the future acts as IOC. Expiry is checked at the start of
      every call (`tick` does only that): an order expires when ``now >= ExpireTime``. It is
      reported as Canceled without Text, or Expired (150=C, 39=C) to sessions that connected
      with ``use_expired_ord_status=True``.
    * OrderQty on reports is CumQty + LeavesQty (Kalshi's default), or the order's requested
      total quantity for sessions connected with ``preserve_original_order_qty=True``. Rejects
      echo the requested quantity.
    * Self-trade prevention applies between orders of the same login account (any subaccount
      or FCM customer of it). The incoming order's SelfTradePreventionType decides: 1 (default,
      also 0) cancels the incoming order, 2 cancels the resting one. A cancel/replace that
      would cross the same account's resting order is refused (35=9, 102=18,
      ``SELF_CROSS_ATTEMPT``); so is a post-only order's replace that would cross
      (102=99, ``POST_ONLY_CROSS``).
    * Fill-or-kill checks the fillable volume first (taking self-trade prevention and order-group
      triggers on the way into account) and otherwise cancels with ``FOK_INSUFFICIENT_VOLUME``.
    * Reduce-only (ExecInst E; IOC only on prediction, IOC or FOK on margin) fills at most the
      position it reduces; with no such position it is cancelled with ``REDUCE_ONLY``.
    * Not modelled (accepted and ignored): MaxExecutionCost, ExDestination, balance and risk
      limits, rate limits. A 35=D with QuoteID accepts an RFQ quote (see RFQ below).
    * AllocAccount (0-63) and a single Parties entry (PartyRole 24) name the position holder:
      the PartyID, ``"<account>/<n>"`` for subaccount n > 0, else the account. Cancel and
      replace requests must repeat them. Order groups belong to (account, AllocAccount).
    * Fees (MiscFee, USD, type 4, basis 0) per fill, rounded up to the cent: prediction taker
      ``0.07 * qty * p * (1 - p)``, maker ``0.0175 * qty * p * (1 - p)``; margin taker
      ``0.0005 * qty * price``, maker 0. The BALANCE collateral change is, on prediction, the
      cash flow of the fill (cost of the YES or NO contracts bought, plus $1 per YES/NO pair
      the fill closes, minus the fee, to 4 decimals); on margin it is minus the fee (margin
      collateral is not modelled). LongQty / ShortQty are the holder's net position after the
      fill (prediction: YES / NO contracts).
    * System cancels carry Text where Kalshi has a fitting code: ``TRADING_PAUSED`` /
      ``EXCHANGE_PAUSED`` (CancelOrderOnPause), ``MARKET_ALREADY_CLOSED`` (settlement),
      ``ORDER_GROUP_CANCEL``, ``IMMEDIATE_OR_CANCELLED`` and the STP/FOK/post-only texts. User,
      mass and cancel-on-disconnect cancels carry none. Cancel reports of unsolicited cancels use
      the order's ClOrdID as both ClOrdID and OrigClOrdID.

Cancel, replace, mass cancel
    * Orders are found by (account, OrigClOrdID); OrderID, Side, Symbol, AllocAccount and the
      party must match, else 35=9 with CxlRejReason 1 and Text ``NOT_FOUND`` (OrdStatus of the
      order, or 8 when there is none, with OrderID ``NONE``). A filled order: 102=0 on cancel,
      102=2 ``CANNOT_UPDATE_FILLED_ORDER`` on replace. A new ClOrdID equal to an open order's:
      102=6 ``ORDER_ALREADY_EXISTS``.
    * Replace: OrderQty is the new total; below CumQty 102=2 ``INVALID_AMEND_QTY_FOR_ORDER``;
      equal to CumQty cancels the order. Price, TimeInForce and ExpireTime follow Kalshi's replace
      rules (omitted = unchanged). Priority is kept unless the price changes or the open quantity
      grows. The report is ExecType 5 / OrdStatus 5 with TimeInForce 6 (expiry) or 1; a replaced
      order that now crosses trades as the aggressor.
    * Mass cancel (KalshiNR only) cancels the orders the requesting session placed, one report
      each, then 35=r 531=6. MassCancelRequestType other than 6: 35=r 531=0 532=0; during an
      exchange pause 531=0 532=99. Cancel-on-disconnect cancels the orders the session placed.

Sessions and routing
    * An order's reports go to the session that placed it while it is connected, else to the
      account's other connected order-entry (KalshiNR/RT, non-listener) sessions; listener
      sessions of the account get a copy of every report (rejects included). 35=9, 35=j, 35=r
      and 35=UOH answer the requesting session only.
    * Order entry (35=D/F/G/UOG) is accepted on KalshiNR and KalshiRT, 35=q on KalshiNR only,
      35=V/35=e on KalshiMD only, 35=U1 on KalshiDC and KalshiNR (listeners included), 35=R/UA/UE
      on KalshiRT and 35=S/Z/U7 on KalshiRFQ (prediction only; a margin engine answers every
      RFQ message type as unsupported); anything else (or a listener sending orders or RFQ
      messages) is answered with 35=j 380=3. A message whose fields do not decode gets 35=j
      380=0. RefSeqNum is the header's MsgSeqNum of a decoded message, else 0.
    * Prices on reports are rounded (half-even) to whole cents for prediction sessions without
      UseDollars and to 4 decimals otherwise, so every report can be encoded.

Order groups
    * An OrderGroupID(20130) that is not a UUID (8-4-4-4-12 hex digits), on 35=UOG or 35=D, is a
      malformed field: the session Reject the order-groups page documents (35=3 373=6
      ``Incorrect data format for value``, RefTagID 20130, RefMsgType of the request), not a
      business reject. The gateway server sends it through the client's session.
    * Create needs OrderGroupContractsLimit 1-1,000,000 (35=j 380=5 when missing, 380=0 when out
      of range or when OrderGroupID is sent). Unknown group or other owner: 35=j 380=0
      ``ORDER_GROUP_NOT_FOUND``. Group cancels come before the 35=UOH answer. The rolling window
      holds the group's fills of the last 15 s (``now - 15 < t <= now``); when it exceeds the
      limit the group triggers at once: its open orders are cancelled (``ORDER_GROUP_CANCEL``),
      including the rest of an incoming order of the group, and new orders are rejected with
      ``EXCEEDED_ORDER_GROUP_RISK_LIMIT`` (103=3) until Reset. Update to a limit below the
      rolling volume triggers the group.

Pauses and settlement
    * `pause` cancels CancelOrderOnPause orders when a pause begins, sends SecurityStatus 2 to
      subscribers (prediction); `resume` sends 3. New orders and replaces are refused during a
      pause (ER 103=2 / 35=9 102=99 with ``TRADING_PAUSED`` or ``EXCHANGE_PAUSED``); cancels are
      refused during an exchange pause only.
    * `settle` (prediction only) cancels the market's orders, sends SecurityStatus 100 then 101
      (and drops those status subscriptions), and sends MarketSettlementReports with one party
      entry per position holder of the account (YES as LongQty, NO as ShortQty, PAYOUT = $1 per
      winning contract, settlement fee 0), pages of ``fragment_size`` parties with
      TotNumMarketSettlementReports and LastFragment, to the account's KalshiPT sessions and to
      KalshiNR/RT sessions connected with ``settlement_reports=True``. SettlementPrice(730)
      is written as the docs' examples write it, cents with two decimals (``730=100.00`` for
      yes, ``730=0.00`` for no). Orders for a settled market are rejected with
      ``MARKET_ALREADY_CLOSED`` (103=2).

Drop copy (EventResendRequest, 35=U1)
    * The engine keeps every ExecutionReport event it produced for a client account (not
      rejects, not house orders) for `DROP_COPY_WINDOW_SECONDS` (3 hours, Kalshi's lookback),
      one event per report (copies to listeners are not separate events). A 35=U1 on KalshiDC or
      KalshiNR replays, to the requesting session only, the account's events with
      ``BeginExecID <= ExecID <= EndExecID`` in ExecID order (clock, then event, numerically),
      rendered for that session's own logon flags (UseDollars, PreserveOriginalOrderQty,
      UseExpiredOrdStatus), with the original ExecIDs, then 35=U2 with ResendEventCount and
      RefSeqNum = the request's MsgSeqNum. EndExecID omitted = the latest ExecID; End < Begin
      replays nothing (35=U2 count 0).
    * 35=U3 reasons: 5 when the account is not in the engine's ``replay_allowlist`` (None, the
      default, allows everyone); 3 when BeginExecID is missing, malformed, of another exchange
      index (the mock has only index 0; ``c;e;0`` is read as ``c;e``), names a clock that has
      left the window, or lies beyond the latest ExecID issued (an unknown ExecID); 4 when
      EndExecID is malformed, of another exchange index, or beyond the latest ExecID. Codes 1
      (rate limit) and 2 (server error) are never sent.

RFQ (prediction only)
    * Creator (KalshiRT, not listener): 35=R needs QuoteReqID (max 64), exactly one NoRelatedSym
      entry with Symbol and exactly one of OrderQty (0.01 steps, <= 100,000,000) and
      CashOrderQty (whole cents, <= $1e9); MVE legs are not supported. Rejects are 35=AG with
      658=1 ``MARKET_NOT_FOUND``, 658=3 ``QUOTE_REQUEST_EXCEEDS_LIMIT`` (above those limits), or
      658=99 with ``INVALID_ORDER``, ``MVE_NOT_SUPPORTED``, ``MARKET_ALREADY_CLOSED``,
      ``TRADING_PAUSED`` / ``EXCHANGE_PAUSED`` or ``RFQ already exists`` (the account's QuoteReqID
      of an open RFQ, or an open RFQ of the same holder on the same market without
      ReplaceExisting=Y; with it, the holder's older RFQs there are closed except the newest).
      AllocAccount and the entry's Parties name the holder as for orders; 35=AG QuoteReqID is
      the client's id (``NONE`` when missing).
    * Accepted: 35=b (QuoteRequestType 1, RfqId = a server UUID, ExDestination 0), then a 35=R to
      every connected KalshiRFQ session (the creator's own included) with QuoteReqID = the RfqId,
      Symbol, OrderQty or CashOrderQty, TransactTime and one PartyID: the creator account's
      pseudonymous public id (a UUID fixed per account), or `OBSCURED_CREATOR_ID` for other
      accounts when ObscureCreatorId=Y. No PartyRole (as documented). OrderQty is absent on
      cash-sized RFQs. RFQs open before a maker connects are not re-sent.
    * Maker (KalshiRFQ): 35=S needs QuoteID (max 64), QuoteReqID = an open RfqId and its Symbol.
      BidPx is the YES price the maker buys YES at, OfferPx the NO price it buys NO at (dollars
      in the typed message; the wire unit follows the session); 0 or absent = no quote on that
      side, not both; each 0 < px < 1 with at most 4 decimals, and YES + NO <= $1 (a crossed quote
      is refused). Refused quotes get 35=AI 297=5 with Text ``INVALID_ORDER``, ``NOT_FOUND`` (RFQ),
      ``EXPIRED`` (RFQ closed), ``INVALID_PRICE``, ``SELF_CROSS_ATTEMPT`` (own account's RFQ),
      ``ORDER_ALREADY_EXISTS`` (QuoteID of another account's open quote, or of an accepted one)
      or the market texts; QuoteID echoes the client's id (``NONE`` when missing: FIX has no
      empty values). A new quote cancels the maker account's pending quotes on the same market
      (and its own pending quote with the same QuoteID) silently. RestRemainder, ExecInst and
      the maker fee subtleties of combos are ignored.
    * Sizes (BidSize/OfferSize): the RFQ's OrderQty, or for CashOrderQty the most contracts (0.01
      steps) whose cost at the creator's price ``1 - maker price`` plus the taker fee (rounded up
      to the cent) fits the cash; with TargetCostExcludesFees=Y cash / price. A quote whose
      sizes are all zero is refused (``INVALID_ORDER``).
    * Pending: 35=AI 297=10 to the maker (OrderQty = RFQ size, prices, sizes, TransactTime), and a
      35=S to the creator's session (else the account's KalshiRT sessions) with QuoteReqID = the
      RfqId, prices (absent when zero), OrderQty, sizes, TransactTime and PartyID = the maker's
      public id with PartyRole 35.
    * Accept: 35=UA Side 1 buys YES from the maker's NO quote at YES price ``1 - OfferPx``; Side
      2 sells YES to the maker's YES quote at ``BidPx``. OrderQty defaults to the side's size and
      may not exceed it; PreferBetterQuote=Y takes the pending quote of the RFQ with the best
      price for that side and enough size (strictly better than the named one, earliest first).
      Refusals are 35=UC 21025=1 with ``NOT_FOUND`` (unknown QuoteID, RfqId mismatch, another
      account's RFQ), ``EXPIRED`` (quote cancelled/voided/executed or RFQ closed),
      ``RFQ_ACCEPT_IN_PROGRESS`` (another acceptance of the RFQ awaits confirmation),
      ``INVALID_ORDER`` (bad Side, ClOrdID, Parties, quantity, or no quote on that side) or the
      market texts. Success: 35=UC 21025=0 with AcceptedQuoteId and the ClOrdID, then 35=AI
      297=0 to the maker with Side = the creator's Side and OrderQty = the accepted quantity.
      The position holder is the RFQ's holder; 79/453 on the acceptance are only validated.
    * Accept by 35=D with QuoteID (KalshiNR/RT): the usual NewOrderSingle checks apply, then
      ``18=E`` and RfqId without QuoteID are ``INVALID_ORDER``; an unknown quote is
      ``INVALID_ORDER`` (103=11), a dead one ``EXPIRED`` (103=8); Price is a limit on the YES
      trade price (worse: ``INVALID_PRICE``). Success: a New report for the order (not in the
      book, not mass-cancelled; a cancel/replace of it gets 35=9 102=0), then 35=AI 297=0.
    * Confirm: 35=U7 from the maker's account within `QUOTE_CONFIRM_SECONDS` (``now <
      accepted + 30``) -> 35=U8 21010=0, then the trade: New reports (the 35=D order already has
      one) and Trade reports for the creator (taker: aggressor, taker fee; to the accepting
      session) and the maker (maker fee; ClOrdID = QuoteID; to the maker account's KalshiNR/RT
      sessions, since KalshiRFQ carries no 35=8), positions and drop-copy history updated, a
      35=X trade entry with TrdType 1 (block trade), and the RFQ closes (RestRemainder is not
      modelled). Refusals: 35=U8 21010=1 ``NOT_FOUND``, ``QUOTE_NOT_ACCEPTED``, ``EXPIRED`` or
      the market texts (a pause blocks confirmation; the quote is then voided on time).
    * Void: an accepted quote not confirmed in time is voided at the first call at or after the
      deadline (`tick`): 35=AI 297=17 to the maker, and to the creator an unsolicited 35=UC
      21025=1 ``EXPIRED`` (QuoteID and ClOrdID of the acceptance) or, for 35=D, a Canceled
      report with Text ``EXPIRED``. The RFQ stays open for other quotes.
    * 35=Z (maker account's quote): pending -> 35=AI 297=17 then 35=U9 298=0; accepted -> voided
      as above, then 35=U9 298=0; unknown or other account's -> 298=1 ``NOT_FOUND``; finished ->
      298=1 ``EXPIRED``.
    * 35=UE by QuoteReqID (the account's) or RfqId (both must agree): 35=UB 21013=0 (QuoteReqID
      echoes the id used, RfqId set); 21013=1 ``NOT_FOUND``, ``RFQ_CLOSED`` or
      ``RFQ_ACCEPT_IN_PROGRESS``. Parties are ignored.
    * Every RFQ closure (cancel, execution, expiry after `RFQ_LIFETIME_SECONDS`, replacement,
      settlement of the market) cancels its pending quotes silently and sends every KalshiRFQ
      session a 35=AG with QuoteReqID = the RfqId, 658=99 and Text ``RFQ_CANCELLED``,
      ``RFQ_EXECUTED``, ``RFQ_EXPIRED``, ``RFQ_REPLACED`` or ``MARKET_ALREADY_CLOSED``. Closures
      the creator did not ask for by 35=UE (expiry, replacement, settlement) also send it an
      unsolicited 35=UB 21013=2 with RfqId. Settlement voids a pending acceptance first; an
      acceptance pending at the 24 h mark defers the expiry until it resolves.
    * RFQ messages to a creator go to the session that created the RFQ (or accepted the quote)
      while connected, else to the account's KalshiRT sessions; maker messages likewise to the
      quoting session, else the account's KalshiRFQ sessions. Listeners get only the 35=8
      copies. Prices on 35=S / 35=AI are rounded per session like report prices.

Market data
    * Snapshots (35=W, one per symbol) list aggregated bid levels best first, then offers best
      first; an unknown symbol gets an empty snapshot. Each call that changes subscribed books
      sends one 35=X per subscriber: trade entries (279=0, 269=2, AggressorSide, TradeID = the
      TrdMatchID) first, then the net level changes of the call (279=0 new, 1 changed, 2
      deleted with size 0). A level entry carries ClOrdID / AllocAccount when the subscriber's
      account owns the order that last changed the level. More than 1000 symbols in a request,
      or more than 100,000 subscriptions, get 35=Y 281=2; a bad SubscriptionRequestType 281=4;
      263=0/1 without symbols a 35=Y with Text only.
    * SecurityStatus is changes-only, as Kalshi documents: SecurityStatusRequest 263=1
      subscribes and sends nothing (no initial status); subscribers get 3 when `seed_market`
      creates the market (2 during a pause), 2 when a pause begins, 3 when it ends, 100 then 101 when it settles
      (the subscription is then dropped; subscribing to a settled market is a no-op). 263=2
      unsubscribes. Any other SubscriptionRequestType (Kalshi documents only 1 and 2) gets a
      session Reject 373=5 with RefTagID 263.
"""

from __future__ import annotations

import bisect
import enum
import random
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from types import ModuleType
from typing import Any, Final

import attrs

from .. import margin as _margin
from .. import prediction as _prediction
from .._message import Message, UnknownMessage
from ..errors import DecodeError

__all__ = [
    "DROP_COPY_WINDOW_SECONDS",
    "HOUSE_ACCOUNT",
    "OBSCURED_CREATOR_ID",
    "QUOTE_CONFIRM_SECONDS",
    "RFQ_LIFETIME_SECONDS",
    "ROLLING_WINDOW_SECONDS",
    "SESSION_TYPES",
    "Exchange",
    "OrderView",
    "Outbound",
]

HOUSE_ACCOUNT: Final = "house"
"""Account owning the liquidity `Exchange.seed_market` adds."""
SESSION_TYPES: Final = frozenset(
    {"KalshiNR", "KalshiRT", "KalshiDC", "KalshiPT", "KalshiRFQ", "KalshiMD"}
)
"""Session types `Exchange.connect` accepts."""
ROLLING_WINDOW_SECONDS: Final = 15.0
"""Length of an order group's rolling fill window."""
DROP_COPY_WINDOW_SECONDS: Final = 3 * 3600.0
"""How far back an EventResendRequest (35=U1) can replay execution reports (Kalshi: 3 hours)."""
QUOTE_CONFIRM_SECONDS: Final = 30.0
"""Time a market maker has to confirm (35=U7) an accepted quote before it is voided."""
RFQ_LIFETIME_SECONDS: Final = 24 * 3600.0
"""Age at which an open RFQ expires (unsolicited 35=UB 21013=2)."""
OBSCURED_CREATOR_ID: Final = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
"""PartyID other users see on the RFQ broadcast of a creator with ObscureCreatorId=Y."""

_ORDER_ENTRY: Final = frozenset({"KalshiNR", "KalshiRT"})
_MAX_QTY: Final = Decimal(100_000_000)
_MAX_MARGIN_PRICE: Final = Decimal(1_000_000_000)
_ECHO_LIMIT: Final = Decimal(10) ** 12
_MAX_MD_SYMBOLS: Final = 1000
_MAX_MD_SUBSCRIPTIONS: Final = 100_000
_MAX_GROUP_LIMIT: Final = 1_000_000
_TAKER_FEE: Final = Decimal("0.07")
_MAKER_FEE: Final = Decimal("0.0175")
_MARGIN_TAKER_FEE: Final = Decimal("0.0005")
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_CENT: Final = Decimal("0.01")
_TICK: Final = Decimal("0.0001")
_BUY: Final = "1"
_SELL: Final = "2"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NONE: Final = "NONE"
_RFQ: Final = "KalshiRFQ"
_MAX_CASH: Final = Decimal(1_000_000_000)
_EXEC_ID: Final = re.compile(r"(\d{1,18});(\d{1,18})(?:;(\d{1,6}))?")
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_ORDER_GROUP_ID_TAG: Final = 20130
_INCORRECT_DATA_FORMAT: Final = "Incorrect data format for value"


def _is_uuid(value: str) -> bool:
    """The canonical 8-4-4-4-12 hex form Kalshi issues (any version; no braces, no urn:)."""
    return _UUID.fullmatch(value) is not None


class _St(str, enum.Enum):
    """OrdStatus / ExecType values used internally (same codes in both dialects)."""

    NEW = "0"
    PARTIAL = "1"
    FILLED = "2"
    CANCELED = "4"
    REPLACED = "5"
    REJECTED = "8"
    EXPIRED = "C"
    TRADE = "F"


# -----------------------------------------------------------------------------------------------
# public value types


@attrs.frozen
class Outbound:
    """One message the server must send.

    Attributes:
        session_id: the connected session that gets it.
        message: a typed message of the engine's product dialect.
    """

    session_id: str
    message: Message


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


# -----------------------------------------------------------------------------------------------
# internal state


@attrs.define(eq=False, kw_only=True)
class _Session:
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


@attrs.define(eq=False, kw_only=True)
class _Order:
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
    cum_qty: Decimal = _ZERO
    notional: Decimal = _ZERO
    status: _St = _St.NEW
    open: bool = True
    resting: bool = False
    rfq: bool = False  # a 35=D quote acceptance waiting for the maker's confirmation

    @property
    def avg_px(self) -> Decimal:
        return self.notional / self.cum_qty if self.cum_qty else _ZERO


@attrs.define(eq=False, kw_only=True)
class _Group:
    group_id: str
    account: str
    alloc_account: int
    limit: int
    triggered: bool = False
    fills: list[tuple[float, Decimal]] = attrs.Factory(list)

    def volume(self, now: float) -> Decimal:
        cutoff = now - ROLLING_WINDOW_SECONDS
        self.fills = [f for f in self.fills if f[0] > cutoff]
        return sum((f[1] for f in self.fills), _ZERO)


class _Book:
    """One market: price levels per side (FIFO lists) and aggregated level sizes."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.settled = False
        self.levels: dict[str, dict[Decimal, list[_Order]]] = {_BUY: {}, _SELL: {}}
        self.prices: dict[str, list[Decimal]] = {_BUY: [], _SELL: []}  # ascending
        self.agg: dict[str, dict[Decimal, Decimal]] = {_BUY: {}, _SELL: {}}

    def best(self, side: str) -> Decimal | None:
        prices = self.prices[side]
        if not prices:
            return None
        return prices[-1] if side == _BUY else prices[0]

    def iter_priority(self, side: str) -> Iterator[_Order]:
        prices = self.prices[side]
        ordered = reversed(prices) if side == _BUY else iter(prices)
        for px in list(ordered):
            yield from list(self.levels[side].get(px, ()))

    def add(self, order: _Order) -> None:
        side, px = order.side, order.price
        level = self.levels[side].get(px)
        if level is None:
            level = self.levels[side][px] = []
            bisect.insort(self.prices[side], px)
            self.agg[side][px] = _ZERO
        level.append(order)
        self.agg[side][px] += order.leaves_qty
        order.resting = True

    def remove(self, order: _Order) -> None:
        side, px = order.side, order.price
        level = self.levels[side][px]
        level.remove(order)
        self.agg[side][px] -= order.leaves_qty
        order.resting = False
        if not level:
            del self.levels[side][px]
            del self.agg[side][px]
            self.prices[side].remove(px)

    def resize(self, order: _Order, leaves: Decimal) -> None:
        self.agg[order.side][order.price] += leaves - order.leaves_qty
        order.leaves_qty = leaves

    def snapshot(self) -> dict[str, dict[Decimal, Decimal]]:
        return {side: dict(levels) for side, levels in self.agg.items()}


@attrs.define(kw_only=True)
class _Report:
    """One execution-report event, rendered per recipient session."""

    exec_id: str
    exec_type: _St
    ord_status: _St
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
class _Trade:
    symbol: str
    price: Decimal
    qty: Decimal
    aggressor_side: str
    trade_id: str
    block: bool = False


@attrs.define(eq=False, kw_only=True)
class _Rfq:
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
    accepted: _Quote | None = None  # the quote waiting for the maker's confirmation
    quotes: list[_Quote] = attrs.Factory(list)


@attrs.define(eq=False, kw_only=True)
class _Quote:
    """One market maker's quote on an RFQ."""

    quote_id: str
    rfq: _Rfq
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
    side: str = _BUY  # the creator's side
    qty: Decimal = _ZERO
    deadline: float = 0.0
    requested_id: str = ""
    accept_session: str | None = None
    accept_cl: str | None = None
    order: _Order | None = None  # the creator's 35=D order, when accepted that way


@attrs.frozen
class _Refusal:
    """Why an acceptance is refused: Text and the OrdRejReason of the 35=D path."""

    text: str
    reason: int


# -----------------------------------------------------------------------------------------------
# small pure helpers


def _raw(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def _text(value: object) -> str | None:
    v = _raw(value)
    if isinstance(v, str) and v and "\x01" not in v:
        return v
    return None


def _int(value: object) -> int | None:
    v = _raw(value)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    return None


def _dec(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return None


def _echo_dec(value: object) -> Decimal | None:
    d = _dec(value)
    return d if d is not None and abs(d) <= _ECHO_LIMIT else None


def _utc(ts: float) -> datetime:
    return _EPOCH + timedelta(seconds=ts)


def _ms(dt: datetime) -> datetime:
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # pragma: no cover - out-of-range aware datetimes
        return None


def _nth_sunday(year: int, month: int, n: int) -> int:
    return 1 + (6 - date(year, month, 1).weekday()) % 7 + 7 * (n - 1)


def _et_offset(u: datetime) -> timedelta:
    """UTC offset of US Eastern time at the UTC instant ``u`` (US DST rules since 2007)."""
    y = u.year
    start = datetime(y, 3, _nth_sunday(y, 3, 2), 7, tzinfo=timezone.utc)
    end = datetime(y, 11, _nth_sunday(y, 11, 1), 6, tzinfo=timezone.utc)
    return timedelta(hours=-4) if start <= u < end else timedelta(hours=-5)


def _eastern(u: datetime) -> datetime:
    """The Eastern wall-clock time of ``u`` (returned with a UTC tzinfo label)."""
    return u + _et_offset(u)


def _end_of_et_day(u: datetime) -> datetime:
    eod = datetime.combine(_eastern(u).date(), dtime(23, 59, 59, 999000), tzinfo=timezone.utc)
    guess = eod - _et_offset(u)
    return eod - _et_offset(guess)


def _holder(account: str, alloc: int | None, party: str | None) -> str:
    if party is not None:
        return party
    if alloc:
        return f"{account}/{alloc}"
    return account


def _fee_cents(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_CEILING)


def _exec_key(exec_id: str | None) -> tuple[int, int] | None:
    """(clock, event) of an exchange-index-0 ExecID (``c;e`` or ``c;e;0``), else None."""
    if exec_id is None:
        return None
    m = _EXEC_ID.fullmatch(exec_id)
    if m is None or (m.group(3) is not None and int(m.group(3)) != 0):
        return None
    return int(m.group(1)), int(m.group(2))


def _floor_cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_FLOOR)


# -----------------------------------------------------------------------------------------------
# the engine


class Exchange:
    """The matching engine and exchange state of one product, driven by the gateway server.

    Args:
        product: ``"prediction"`` or ``"margin"``.
        seed: seed of the id generator (same seed and calls -> same ids).
        replay_allowlist: the accounts allowed to use EventResendRequest (35=U1); others get
            35=U3 with reason 5. None (the default): every account.

    Raises:
        ValueError: an unknown product.
    """

    def __init__(
        self,
        product: str = "prediction",
        *,
        seed: int = 0,
        replay_allowlist: Iterable[str] | None = None,
    ) -> None:
        if product == "prediction":
            self._d: ModuleType = _prediction
        elif product == "margin":
            self._d = _margin
        else:
            raise ValueError(f"product must be 'prediction' or 'margin', got {product!r}")
        self.product = product
        self._prediction = product == "prediction"
        self._own_types: frozenset[type[Message]] = frozenset(self._d.MESSAGES.values())
        self._rng = random.Random(seed)
        self._sessions: dict[str, _Session] = {}
        self._books: dict[str, _Book] = {}
        self._open: dict[str, _Order] = {}
        self._by_cl: dict[tuple[str, str], _Order] = {}
        self._groups: dict[str, _Group] = {}
        self._positions: dict[tuple[str, str, str], Decimal] = {}  # (symbol, account, holder)
        self._pause: str | None = None  # None, "trading" or "exchange"
        self._seq = 0
        self._clock = 0
        self._house_n = 0
        # per-call state
        self._now = 0.0
        self._out: list[Outbound] = []
        self._cycle_clock: int | None = None
        self._cycle_event = 0
        self._md_before: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
        self._md_touch: dict[tuple[str, str, Decimal], _Order] = {}
        self._md_trades: list[_Trade] = []
        # drop copy: (ExecID key, time, report) of every non-reject report, oldest first
        self._replay_allowlist = None if replay_allowlist is None else frozenset(replay_allowlist)
        self._history: deque[tuple[tuple[int, int], float, _Report]] = deque()
        self._clock_log: deque[tuple[int, float]] = deque()  # (ExecID clock, time it was used)
        self._pruned_clock = 0  # newest ExecID clock older than the replay window
        self._last_exec: tuple[int, int] = (0, 0)
        # RFQ (prediction)
        self._rfqs: dict[str, _Rfq] = {}  # server RfqId -> RFQ
        self._rfq_by_client: dict[tuple[str, str], _Rfq] = {}  # (account, QuoteReqID) -> RFQ
        self._open_rfqs: dict[str, _Rfq] = {}
        self._quotes: dict[str, _Quote] = {}  # QuoteID -> latest quote with that id
        self._public_ids: dict[str, str] = {}

    # -- sessions -------------------------------------------------------------------------------

    def connect(
        self,
        session_id: str,
        account: str,
        session_type: str,
        *,
        listener: bool = False,
        cancel_on_disconnect: bool = False,
        use_dollars: bool = False,
        settlement_reports: bool = False,
        preserve_original_order_qty: bool = False,
        use_expired_ord_status: bool = False,
        now: float,
    ) -> list[Outbound]:
        """Register a logged-on session.

        Args:
            session_id: the server's id of the connection (unique among connected sessions).
            account: the login account (API key owner) of the session.
            session_type: one of `SESSION_TYPES` (the session's TargetCompID).
            listener: ListenerSession(20126)=Y: a read-only copy of the account's reports.
            cancel_on_disconnect: CancelOrdersOnDisconnect(8013)=Y.
            use_dollars: UseDollars(21005)=Y (prices on reports keep 4 decimals; prediction
                sessions without it get whole cents).
            settlement_reports: ReceiveSettlementReports(20127)=Y (KalshiNR/RT; KalshiPT always
                receives settlement reports).
            preserve_original_order_qty: PreserveOriginalOrderQty(21008)=Y.
            use_expired_ord_status: UseExpiredOrdStatus(21012)=Y.
            now: current time, UTC epoch seconds.

        Returns:
            Messages to send (expiry reports due at ``now``).

        Raises:
            ValueError: the session id is already connected, or the session type is unknown.
        """
        if session_id in self._sessions:
            raise ValueError(f"session {session_id!r} is already connected")
        if session_type not in SESSION_TYPES:
            raise ValueError(
                f"unknown session type {session_type!r}; expected one of {sorted(SESSION_TYPES)}"
            )
        self._begin(now)
        self._sessions[session_id] = _Session(
            session_id=session_id,
            account=account,
            session_type=session_type,
            listener=listener,
            cancel_on_disconnect=cancel_on_disconnect,
            use_dollars=use_dollars or not self._prediction,
            settlement_reports=settlement_reports,
            preserve_original_order_qty=preserve_original_order_qty,
            use_expired_ord_status=use_expired_ord_status,
        )
        return self._finish()

    def disconnect(self, session_id: str, now: float) -> list[Outbound]:
        """Forget a session; with CancelOrdersOnDisconnect cancel the orders it placed.

        The cancel reports go to the account's other order-entry sessions and its listeners.
        An unknown session id is ignored.

        Args:
            session_id: the session that went away.
            now: current time, UTC epoch seconds.

        Returns:
            Messages to send to the remaining sessions.
        """
        self._begin(now)
        session = self._sessions.pop(session_id, None)
        if session is not None and session.cancel_on_disconnect:
            for order in self._orders_where(lambda o: o.session_id == session_id):
                self._cancel(order, text=None)
        return self._finish()

    def handle(self, session_id: str, message: Message, now: float) -> list[Outbound]:
        """Process one application message from a client session.

        Never raises on client input: malformed or refused requests become reject messages.

        Args:
            session_id: the connected session that sent it.
            message: the decoded message (of this engine's product dialect).
            now: current time, UTC epoch seconds.

        Returns:
            Messages to send (answers, execution reports to every interested session, market
            data).

        Raises:
            ValueError: the session id is not connected (a server bug, not client input).
        """
        session = self._sessions.get(session_id)
        if session is None:
            raise ValueError(f"session {session_id!r} is not connected")
        self._begin(now)
        try:
            message.validate()
        except DecodeError as exc:
            self._business_reject(session, message, 0, f"invalid message: {exc}")
            return self._finish()
        d = self._d
        kind = type(message)
        if kind not in self._own_types or isinstance(message, UnknownMessage):
            self._business_reject(
                session, message, 3, f"unsupported message type for {self.product}"
            )
        elif kind in (d.NewOrderSingle, d.OrderCancelRequest, d.OrderCancelReplaceRequest):
            if self._order_entry_allowed(session, message, nr_only=False):
                if kind is d.NewOrderSingle:
                    self._on_new_order(session, message)
                elif kind is d.OrderCancelRequest:
                    self._on_cancel(session, message)
                else:
                    self._on_replace(session, message)
        elif kind is d.OrderMassCancelRequest:
            if self._order_entry_allowed(session, message, nr_only=True):
                self._on_mass_cancel(session, message)
        elif kind is d.OrderGroupRequest:
            if self._order_entry_allowed(session, message, nr_only=False):
                self._on_order_group(session, message)
        elif kind is d.MarketDataRequest or (self._prediction and kind is d.SecurityStatusRequest):
            if session.session_type != "KalshiMD":
                self._business_reject(
                    session, message, 3, f"{kind.__name__} is accepted on KalshiMD sessions only"
                )
            elif kind is d.MarketDataRequest:
                self._on_md_request(session, message)
            else:
                self._on_status_request(session, message)
        elif kind is d.EventResendRequest:
            if session.session_type in ("KalshiDC", "KalshiNR"):
                self._on_event_resend(session, message)
            else:
                self._business_reject(
                    session, message, 3, "EventResendRequest is accepted on KalshiDC and KalshiNR"
                )
        elif self._prediction and kind in (d.QuoteRequest, d.AcceptQuote, d.RFQCancel):
            if self._rfq_allowed(session, message, "KalshiRT"):
                if kind is d.QuoteRequest:
                    self._on_quote_request(session, message)
                elif kind is d.AcceptQuote:
                    self._on_accept_quote(session, message)
                else:
                    self._on_rfq_cancel(session, message)
        elif self._prediction and kind in (d.Quote, d.QuoteCancel, d.QuoteConfirm):
            if self._rfq_allowed(session, message, _RFQ):
                if kind is d.Quote:
                    self._on_quote(session, message)
                elif kind is d.QuoteCancel:
                    self._on_quote_cancel(session, message)
                else:
                    self._on_quote_confirm(session, message)
        else:
            self._business_reject(
                session, message, 3, f"{kind.__name__} is not handled by this gateway"
            )
        return self._finish()

    # -- admin ----------------------------------------------------------------------------------

    def seed_market(
        self,
        symbol: str,
        *,
        bids: Sequence[tuple[Decimal, Decimal]] = (),
        asks: Sequence[tuple[Decimal, Decimal]] = (),
        now: float,
    ) -> list[Outbound]:
        """Create a market (open) if needed and add house liquidity to it.

        House orders are GTC with self-trade prevention "maker": a house order crossing older
        house liquidity cancels it; one crossing client orders trades with them.

        Args:
            symbol: market ticker.
            bids: ``(price, quantity)`` buy (YES bid) orders, prices in dollars.
            asks: ``(price, quantity)`` sell (YES offer) orders.
            now: current time, UTC epoch seconds.

        Returns:
            Messages to send (market data, SecurityStatus for a new market, reports of trades).

        Raises:
            ValueError: an invalid symbol, price or quantity; a settled market; liquidity that
                would cross the book during a pause.
        """
        if not symbol or "\x01" in symbol:
            raise ValueError(f"invalid symbol {symbol!r}")
        orders = [(_BUY, px, qty) for px, qty in bids] + [(_SELL, px, qty) for px, qty in asks]
        for _side, px, qty in orders:
            if self._valid_price(px) is None:
                raise ValueError(f"invalid {self.product} price {px!r} for {symbol}")
            if self._valid_qty(qty) is None:
                raise ValueError(f"invalid {self.product} quantity {qty!r} for {symbol}")
        book = self._books.get(symbol)
        if book is not None and book.settled:
            raise ValueError(f"market {symbol} is settled")
        if self._pause is not None and orders:
            bids_px = [px for side, px, _ in orders if side == _BUY]
            asks_px = [px for side, px, _ in orders if side == _SELL]
            if book is not None:
                bids_px += book.prices[_BUY]
                asks_px += book.prices[_SELL]
            if bids_px and asks_px and max(bids_px) >= min(asks_px):
                raise ValueError("seeded liquidity would cross the book during a pause")
        self._begin(now)
        if book is None:
            book = self._books[symbol] = _Book(symbol)
            self._send_status(symbol, 2 if self._pause is not None else 3)  # activated
        for side, px, qty in orders:
            self._house_n += 1
            order = self._new_order(
                cl_ord_id=f"house-{self._house_n}",
                account=HOUSE_ACCOUNT,
                alloc=None,
                party=None,
                session_id=None,
                symbol=symbol,
                side=side,
                price=px,
                qty=qty,
                tif="1",
                expire=None,
                post_only=False,
                reduce_only=False,
                stp=2,
                cancel_on_pause=False,
                group_id=None,
            )
            self._emit(self._report(order, _St.NEW, _St.NEW))
            self._execute(order, ioc=False)
        return self._finish()

    def tick(self, now: float) -> list[Outbound]:
        """Let time pass: run everything that is due at ``now``.

        Expires orders whose ExpireTime (GTD, Day) has come, voids accepted quotes that were not
        confirmed within `QUOTE_CONFIRM_SECONDS`, expires RFQs older than
        `RFQ_LIFETIME_SECONDS` and forgets execution reports older than
        `DROP_COPY_WINDOW_SECONDS`. Every other call does this too; the server calls `tick`
        from a timer so these are reported without client traffic.

        Args:
            now: current time, UTC epoch seconds.

        Returns:
            Messages to send (expiry reports, voided quotes, expired RFQs, market data).
        """
        self._begin(now)
        return self._finish()

    def pause(self, now: float, *, exchange: bool = False) -> list[Outbound]:
        """Begin a trading pause (cancels allowed) or an exchange pause (nothing allowed).

        Orders with CancelOrderOnPause=Y are cancelled when a pause begins.

        Args:
            now: current time, UTC epoch seconds.
            exchange: an exchange pause instead of a trading pause.

        Returns:
            Messages to send (cancel reports, SecurityStatus 2 on prediction).
        """
        self._begin(now)
        was = self._pause
        self._pause = "exchange" if exchange else "trading"
        if was is None:
            text = "EXCHANGE_PAUSED" if exchange else "TRADING_PAUSED"
            for order in self._orders_where(lambda o: o.cancel_on_pause):
                self._cancel(order, text=text)
            for symbol, book in self._books.items():
                if not book.settled:
                    self._send_status(symbol, 2)
        return self._finish()

    def resume(self, now: float) -> list[Outbound]:
        """End a pause (no effect when not paused).

        Args:
            now: current time, UTC epoch seconds.

        Returns:
            Messages to send (SecurityStatus 3 on prediction).
        """
        self._begin(now)
        if self._pause is not None:
            self._pause = None
            for symbol, book in self._books.items():
                if not book.settled:
                    self._send_status(symbol, 3)
        return self._finish()

    def settle(
        self, symbol: str, result: str, now: float, *, fragment_size: int = 50
    ) -> list[Outbound]:
        """Settle a prediction market: cancel its orders, pay out positions, send reports.

        Args:
            symbol: market ticker.
            result: ``"yes"`` or ``"no"``.
            now: current time, UTC epoch seconds.
            fragment_size: party entries per MarketSettlementReport page.

        Returns:
            Messages to send (cancel reports, voided quotes and closed RFQs, market data,
            SecurityStatus 100/101, MarketSettlementReports).

        Raises:
            ValueError: margin product, unknown or settled market, bad result or fragment size.
        """
        if not self._prediction:
            raise ValueError("margin markets are not settled over FIX")
        if result not in ("yes", "no"):
            raise ValueError(f"result must be 'yes' or 'no', got {result!r}")
        if fragment_size < 1:
            raise ValueError(f"fragment_size must be >= 1, got {fragment_size}")
        book = self._books.get(symbol)
        if book is None:
            raise ValueError(f"unknown market {symbol!r}")
        if book.settled:
            raise ValueError(f"market {symbol} is already settled")
        self._begin(now)
        for order in self._orders_where(lambda o: o.symbol == symbol):
            self._cancel(order, text="MARKET_ALREADY_CLOSED")
        for rfq in [r for r in self._open_rfqs.values() if r.symbol == symbol]:
            if rfq.accepted is not None:
                self._void(rfq.accepted, session=None)
            self._close_rfq(rfq, "MARKET_ALREADY_CLOSED", expired=True)
        book.settled = True
        self._send_status(symbol, 100)
        self._send_status(symbol, 101)
        for s in self._sessions.values():
            s.status_symbols.discard(symbol)
        self._settlement_reports(symbol, result, fragment_size)
        return self._finish()

    # -- queries --------------------------------------------------------------------------------

    def top_of_book(
        self, symbol: str
    ) -> tuple[tuple[Decimal, Decimal] | None, tuple[Decimal, Decimal] | None]:
        """Best bid and best offer of a market.

        Args:
            symbol: market ticker.

        Returns:
            ``((bid price, bid size) | None, (ask price, ask size) | None)``; an unknown market
            has neither.
        """
        book = self._books.get(symbol)
        if book is None:
            return None, None
        out: list[tuple[Decimal, Decimal] | None] = []
        for side in (_BUY, _SELL):
            px = book.best(side)
            out.append(None if px is None else (px, book.agg[side][px]))
        return out[0], out[1]

    def open_orders(self, account: str | None = None) -> list[OrderView]:
        """Open orders in priority-sequence order.

        Args:
            account: only this account's orders (None: all, house included).

        Returns:
            One `OrderView` per open order.
        """
        return [
            OrderView(
                order_id=o.order_id,
                cl_ord_id=o.cl_ord_id,
                account=o.account,
                holder=o.holder,
                session_id=o.session_id,
                symbol=o.symbol,
                side=o.side,
                price=o.price,
                order_qty=o.order_qty,
                cum_qty=o.cum_qty,
                leaves_qty=o.leaves_qty,
                time_in_force=o.tif,
                expire_time=o.expire_dt,
                order_group_id=o.group_id,
            )
            for o in self._orders_where(lambda o: account is None or o.account == account)
        ]

    def position(self, symbol: str, account: str, holder: str | None = None) -> Decimal:
        """Net position of a holder (prediction: YES contracts, negative = NO contracts).

        Args:
            symbol: market ticker.
            account: the login account.
            holder: ``account/n`` for subaccount n, or an FCM PartyID; None: the account's
                primary position.

        Returns:
            The position (0 when none or after settlement).
        """
        return self._positions.get((symbol, account, holder or account), _ZERO)

    # -- call lifecycle -------------------------------------------------------------------------

    def _begin(self, now: float) -> None:
        self._now = now
        self._out = []
        self._cycle_clock = None
        self._cycle_event = 0
        self._md_before = {}
        self._md_touch = {}
        self._md_trades = []
        self._expire_due()
        self._rfq_due()
        self._prune_history()

    def _finish(self) -> list[Outbound]:
        self._flush_market_data()
        out, self._out = self._out, []
        return out

    def _send(self, session: _Session, message: Any) -> None:
        self._out.append(Outbound(session.session_id, message))

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _exec_id(self) -> str:
        if self._cycle_clock is None:
            self._clock += 1
            self._cycle_clock = self._clock
            self._clock_log.append((self._clock, self._now))
        self._cycle_event += 1
        self._last_exec = (self._cycle_clock, self._cycle_event)
        return f"{self._cycle_clock};{self._cycle_event}"

    def _enum(self, name: str, value: object) -> Any:
        try:
            return getattr(self._d, name)(value)
        except ValueError:
            return value

    def _orders_where(self, pred: Callable[[_Order], bool]) -> list[_Order]:
        return sorted((o for o in self._open.values() if pred(o)), key=lambda o: o.seq)

    def _expire_due(self) -> None:
        now = self._now
        due = [o for o in self._open.values() if o.expire_ts is not None and o.expire_ts <= now]
        due.sort(key=lambda o: (o.expire_ts, o.seq))
        for order in due:
            if order.open:
                self._cancel(order, text=None, expired=True)

    # -- validation helpers ---------------------------------------------------------------------

    def _valid_qty(self, value: object) -> Decimal | None:
        d = _dec(value)
        if d is None or d <= 0 or d > _MAX_QTY:
            return None
        if d.quantize(_CENT if self._prediction else _ONE) != d:
            return None
        return d

    def _valid_price(self, value: object) -> Decimal | None:
        d = _dec(value)
        if d is None or d <= 0:
            return None
        if d >= (_ONE if self._prediction else _MAX_MARGIN_PRICE + 1):
            return None
        if d.quantize(_TICK) != d:
            return None
        return d

    def _parties(self, message: Any) -> tuple[int | None, str | None] | str:
        """(alloc_account, party_id) of a request, or an error text."""
        return self._party_fields(message.alloc_account, message.parties)

    @staticmethod
    def _party_fields(alloc_raw: object, parties: Any) -> tuple[int | None, str | None] | str:
        """(alloc_account, party_id) from AllocAccount and a Parties group, or an error text."""
        alloc = _int(alloc_raw)
        if alloc_raw is not None and (alloc is None or not 0 <= alloc <= 63):
            return "INVALID_ORDER"
        party: str | None = None
        if parties is not None:
            entries = list(parties)
            if len(entries) != 1:
                return "INVALID_ORDER"
            party = _text(entries[0].party_id)
            if party is None or _int(entries[0].party_role) != 24:
                return "INVALID_ORDER"
            if alloc:
                return "INVALID_ORDER"
        return alloc, party

    # -- routing and rendering ------------------------------------------------------------------

    def _recipients(self, account: str, origin: str | None) -> list[_Session]:
        out: list[_Session] = []
        first = self._sessions.get(origin) if origin is not None else None
        if first is not None:
            out.append(first)
        else:
            out.extend(
                s
                for s in self._sessions.values()
                if s.account == account and s.session_type in _ORDER_ENTRY and not s.listener
            )
        out.extend(
            s
            for s in self._sessions.values()
            if s.account == account and s.listener and s not in out
        )
        return out

    def _emit(self, report: _Report) -> None:
        if not report.rejected and report.account != HOUSE_ACCOUNT:
            key = _exec_key(report.exec_id)
            if key is not None:
                self._history.append((key, self._now, report))
        for session in self._recipients(report.account, report.session_id):
            self._send(session, self._render(report, session))

    def _px(self, session: _Session, price: Decimal | None) -> Decimal | None:
        if price is None:
            return None
        step = _TICK if session.use_dollars else _CENT
        return price.quantize(step, rounding=ROUND_HALF_EVEN)

    def _render(self, r: _Report, s: _Session) -> Any:
        d = self._d
        exec_type, status = r.exec_type, r.ord_status
        if r.expired and s.use_expired_ord_status:
            exec_type = status = _St.EXPIRED
        if r.rejected or s.preserve_original_order_qty:
            order_qty = r.order_qty
        else:
            order_qty = r.cum_qty + r.leaves_qty
        kw: dict[str, Any] = {
            "avg_px": self._px(s, r.avg_px),
            "cl_ord_id": r.cl_ord_id,
            "cum_qty": r.cum_qty.quantize(_CENT),
            "exec_id": r.exec_id,
            "order_id": r.order_id,
            "order_qty": order_qty.quantize(_CENT),
            "ord_status": d.OrdStatus(status.value),
            "orig_cl_ord_id": r.orig_cl_ord_id,
            "price": self._px(s, r.price),
            "side": self._enum("Side", r.side),
            "symbol": r.symbol,
            "text": r.text,
            "transact_time": r.transact,
            "ord_rej_reason": None
            if r.ord_rej_reason is None
            else self._enum("OrdRejReason", r.ord_rej_reason),
            "expire_time": r.expire_dt,
            "exec_type": d.ExecType(exec_type.value),
            "leaves_qty": r.leaves_qty.quantize(_CENT),
            "alloc_account": r.alloc_account or None,
        }
        if r.replaced_tif is not None:
            kw["time_in_force"] = d.TimeInForce(r.replaced_tif)
        if r.party_id is not None:
            kw["parties"] = (d.Party(party_id=r.party_id, party_role=d.PartyRole(24)),)
        if r.last_qty is not None:
            kw.update(
                last_px=self._px(s, r.last_px),
                last_qty=r.last_qty.quantize(_CENT),
                trd_match_id=r.trd_match_id,
                aggressor_indicator=r.aggressor,
                misc_fees=(
                    d.MiscFee(
                        misc_fee_amt=r.fee,
                        misc_fee_curr="USD",
                        misc_fee_type=d.MiscFeeType("4"),
                        misc_fee_basis=d.MiscFeeBasis(0),
                    ),
                ),
                long_qty=r.long_qty,
                short_qty=r.short_qty,
                collateral_amount_changes=(
                    d.CollateralAmountChange(
                        collateral_amount_change=r.balance,
                        collateral_amount_type=d.CollateralAmountType("BALANCE"),
                    ),
                ),
                clearing_business_date=r.clearing_date,
            )
        return d.ExecutionReport(**kw)

    def _report(
        self,
        order: _Order,
        exec_type: _St,
        status: _St,
        *,
        cl_ord_id: str | None = None,
        orig_cl_ord_id: str | None = None,
        text: str | None = None,
        expired: bool = False,
        replaced: bool = False,
    ) -> _Report:
        return _Report(
            exec_id=self._exec_id(),
            exec_type=exec_type,
            ord_status=status,
            order_id=order.order_id,
            cl_ord_id=cl_ord_id or order.cl_ord_id,
            orig_cl_ord_id=orig_cl_ord_id,
            account=order.account,
            session_id=order.session_id,
            side=order.side,
            symbol=order.symbol,
            price=order.price,
            order_qty=order.order_qty,
            cum_qty=order.cum_qty,
            leaves_qty=order.leaves_qty,
            avg_px=order.avg_px,
            transact=_ms(_utc(self._now)),
            text=text,
            expire_dt=order.expire_dt,
            replaced_tif=("6" if order.expire_dt is not None else "1") if replaced else None,
            alloc_account=order.alloc_account,
            party_id=order.party_id,
            expired=expired,
        )

    def _business_reject(
        self,
        session: _Session,
        message: Message,
        reason: int,
        text: str,
        ref_id: str | None = None,
    ) -> None:
        seq = self._ref_seq(message)
        if isinstance(message, UnknownMessage):
            ref_type = _text(message.msg_type) or "?"
        else:
            ref_type = message.MSG_TYPE or "?"
        d = self._d
        self._send(
            session,
            d.BusinessMessageReject(
                ref_seq_num=seq,
                text=text.replace("\x01", " ")[:512] or None,
                ref_msg_type=ref_type,
                business_reject_ref_id=ref_id,
                business_reject_reason=self._enum("BusinessRejectReason", reason),
            ),
        )

    def _session_reject(
        self, session: _Session, message: Message, tag: int, reason: int, text: str
    ) -> None:
        """A session-level Reject (35=3) of a malformed field, as Kalshi sends for those."""
        d = self._d
        self._send(
            session,
            d.Reject(
                ref_seq_num=self._ref_seq(message),
                text=text,
                ref_tag_id=tag,
                ref_msg_type=message.MSG_TYPE or None,
                session_reject_reason=self._enum("SessionRejectReason", reason),
            ),
        )

    @staticmethod
    def _ref_seq(message: Message) -> int:
        """The header MsgSeqNum of a decoded message (RefSeqNum of answers), else 0."""
        try:
            header = message.header
            if header is not None:
                return _int(header.msg_seq_num) or 0
        except DecodeError:
            pass
        return 0

    def _order_entry_allowed(self, session: _Session, message: Message, *, nr_only: bool) -> bool:
        name = type(message).__name__
        if session.listener:
            self._business_reject(session, message, 3, f"{name} not allowed on a listener session")
            return False
        allowed = {"KalshiNR"} if nr_only else _ORDER_ENTRY
        if session.session_type not in allowed:
            self._business_reject(
                session, message, 3, f"{name} is not accepted on {session.session_type}"
            )
            return False
        return True

    # -- new orders -----------------------------------------------------------------------------

    def _reject_new(self, session: _Session, message: Any, text: str, reason: int) -> None:
        report = _Report(
            exec_id=self._exec_id(),
            exec_type=_St.REJECTED,
            ord_status=_St.REJECTED,
            order_id=self._uuid(),
            cl_ord_id=_text(message.cl_ord_id) or _NONE,
            orig_cl_ord_id=None,
            account=session.account,
            session_id=session.session_id,
            side=_text(message.side) or _NONE,
            symbol=_text(message.symbol) or _NONE,
            price=_echo_dec(message.price),
            order_qty=_echo_dec(message.order_qty) or _ZERO,
            cum_qty=_ZERO,
            leaves_qty=_ZERO,
            avg_px=_ZERO,
            transact=_ms(_utc(self._now)),
            text=text,
            ord_rej_reason=reason,
            alloc_account=_int(message.alloc_account),
            rejected=True,
        )
        self._emit(report)

    def _on_new_order(self, session: _Session, msg: Any) -> None:
        group_field = _text(msg.order_group_id)
        if group_field is not None and not _is_uuid(group_field):
            # a malformed field: the session Reject, before any order handling
            return self._session_reject(
                session, msg, _ORDER_GROUP_ID_TAG, 6, _INCORRECT_DATA_FORMAT
            )
        bad = self._reject_new
        cl = _text(msg.cl_ord_id)
        side = _text(msg.side)
        symbol = _text(msg.symbol)
        if cl is None or len(cl) > 64 or symbol is None or side not in (_BUY, _SELL):
            return bad(session, msg, "INVALID_ORDER", 11)
        if _text(msg.ord_type) != "2":
            return bad(session, msg, "INVALID_ORDER", 11)
        qty = self._valid_qty(msg.order_qty)
        if qty is None:
            return bad(session, msg, "INVALID_ORDER", 11)
        price = self._valid_price(msg.price)
        if price is None:
            return bad(session, msg, "INVALID_PRICE", 11)
        tif = "1" if msg.time_in_force is None else _text(msg.time_in_force)
        if tif not in ("0", "1", "3", "4", "6"):
            return bad(session, msg, "INVALID_ORDER", 11)
        expire: datetime | None = None
        if tif == "6":
            expire = _aware(msg.expire_time)
            if expire is None:
                return bad(session, msg, "INVALID_ORDER", 11)
        elif msg.expire_time is not None:
            return bad(session, msg, "INVALID_ORDER", 11)
        inst = _text(msg.exec_inst)
        flags = set(inst.split()) if inst is not None else set()
        if msg.exec_inst is not None and (not flags or not flags <= {"6", "E"} or len(flags) > 1):
            return bad(session, msg, "INVALID_ORDER", 11)
        post_only, reduce_only = "6" in flags, "E" in flags
        if reduce_only and tif not in (("3",) if self._prediction else ("3", "4")):
            return bad(session, msg, "INVALID_ORDER", 11)
        stp = 1 if msg.self_trade_prevention_type is None else _int(msg.self_trade_prevention_type)
        if stp not in (0, 1, 2):
            return bad(session, msg, "INVALID_ORDER", 11)
        if getattr(msg, "quote_id", None) is not None or getattr(msg, "rfq_id", None) is not None:
            return self._on_quote_order(session, msg, cl, side, symbol, qty, price)
        parties = self._parties(msg)
        if isinstance(parties, str):
            return bad(session, msg, parties, 11)
        alloc, party = parties
        cop = msg.cancel_order_on_pause
        if cop is not None and not isinstance(cop, bool):
            return bad(session, msg, "INVALID_ORDER", 11)
        book = self._books.get(symbol)
        if book is None:
            return bad(session, msg, "MARKET_NOT_FOUND", 1)
        if book.settled:
            return bad(session, msg, "MARKET_ALREADY_CLOSED", 2)
        if self._pause is not None:
            return bad(session, msg, f"{self._pause.upper()}_PAUSED", 2)
        existing = self._by_cl.get((session.account, cl))
        if existing is not None and existing.open:
            return bad(session, msg, "ORDER_ALREADY_EXISTS", 6)
        group_id = _text(msg.secondary_cl_ord_id) or _text(msg.order_group_id)
        if group_id is not None:
            group = self._groups.get(group_id)
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
            expire = _end_of_et_day(_utc(self._now))
        elif expire is not None and expire.timestamp() <= self._now:
            ioc = True  # a GTD time in the past acts as IOC
        order = self._new_order(
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
            order.expire_dt = _ms(expire)  # reported, not scheduled
        self._emit(self._report(order, _St.NEW, _St.NEW))
        opposite = _SELL if side == _BUY else _BUY
        best = book.best(opposite)
        if post_only and best is not None and self._crosses(side, price, best):
            return self._cancel(order, text="POST_ONLY_CROSS")
        cap: Decimal | None = None
        if reduce_only:
            pos = self._positions.get((symbol, order.account, order.holder), _ZERO)
            cap = max(-pos, _ZERO) if side == _BUY else max(pos, _ZERO)
            if cap == 0 or (tif == "4" and cap < qty):
                return self._cancel(order, text="REDUCE_ONLY")
        if tif == "4" and self._fillable(order) < qty:
            return self._cancel(order, text="FOK_INSUFFICIENT_VOLUME")
        self._execute(order, ioc=ioc, cap=cap)

    def _new_order(
        self,
        *,
        cl_ord_id: str,
        account: str,
        alloc: int | None,
        party: str | None,
        session_id: str | None,
        symbol: str,
        side: str,
        price: Decimal,
        qty: Decimal,
        tif: str,
        expire: datetime | None,
        post_only: bool,
        reduce_only: bool,
        stp: int,
        cancel_on_pause: bool,
        group_id: str | None,
        register: bool = True,
    ) -> _Order:
        self._seq += 1
        holder = _holder(account, alloc, party)
        order = _Order(
            order_id=self._uuid(),
            cl_ord_id=cl_ord_id,
            account=account,
            holder=holder,
            alloc_account=alloc,
            party_id=party,
            session_id=session_id,
            symbol=symbol,
            side=side,
            price=price,
            order_qty=qty,
            tif=tif,
            expire_dt=None if expire is None else _ms(expire),
            expire_ts=None if expire is None else expire.timestamp(),
            post_only=post_only,
            reduce_only=reduce_only,
            stp=stp,
            cancel_on_pause=cancel_on_pause,
            group_id=group_id,
            seq=self._seq,
            leaves_qty=qty,
        )
        if register:
            self._open[order.order_id] = order
            self._by_cl[(account, cl_ord_id)] = order
        return order

    # -- matching -------------------------------------------------------------------------------

    @staticmethod
    def _crosses(side: str, price: Decimal, best: Decimal) -> bool:
        return price >= best if side == _BUY else price <= best

    def _fillable(self, taker: _Order) -> Decimal:
        """Quantity a fill-or-kill order would get, walking the book without changing it."""
        book = self._books[taker.symbol]
        opposite = _SELL if taker.side == _BUY else _BUY
        total = _ZERO
        want = taker.leaves_qty
        volumes: dict[str, Decimal] = {}
        blocked: set[str] = set()
        own_group = self._groups.get(taker.group_id) if taker.group_id else None
        own_volume = own_group.volume(self._now) if own_group is not None else _ZERO
        for maker in book.iter_priority(opposite):
            if not self._crosses(taker.side, taker.price, maker.price):
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
            group = self._groups.get(maker.group_id) if maker.group_id else None
            if group is not None:
                vol = volumes.get(group.group_id, group.volume(self._now)) + q
                volumes[group.group_id] = vol
                if vol > group.limit:
                    blocked.add(group.group_id)
            if own_group is not None:
                own_volume += q
                if own_volume > own_group.limit:
                    break
        return total

    def _execute(self, taker: _Order, *, ioc: bool, cap: Decimal | None = None) -> None:
        """Match an accepted (or re-priced) order, then rest or cancel what is left."""
        book = self._books[taker.symbol]
        opposite = _SELL if taker.side == _BUY else _BUY
        filled = _ZERO
        while taker.open and taker.leaves_qty > 0 and (cap is None or filled < cap):
            best = book.best(opposite)
            if best is None or not self._crosses(taker.side, taker.price, best):
                break
            maker = book.levels[opposite][best][0]
            if maker.account == taker.account:
                if taker.stp == 2:
                    self._cancel(maker, text="MAKER_CANCEL_FOR_SELF_TRADE_PREVENTION")
                    continue
                self._cancel(taker, text="TAKER_CANCEL_FOR_SELF_TRADE_PREVENTION")
                return
            q = min(taker.leaves_qty, maker.leaves_qty)
            if cap is not None:
                q = min(q, cap - filled)
            self._fill(taker, maker, best, q)
            filled += q
        if not taker.open:
            return
        if ioc or cap is not None:
            if taker.tif == "4":
                self._cancel(taker, text="FOK_INSUFFICIENT_VOLUME")
            else:
                self._cancel(taker, text="IMMEDIATE_OR_CANCELLED")
            return
        if not taker.resting:
            self._mark(book)
            book.add(taker)
            self._touch(taker)

    def _fill(self, taker: _Order, maker: _Order, price: Decimal, qty: Decimal) -> None:
        book = self._books[maker.symbol]
        self._mark(book)
        trade_id = self._uuid()
        reports = []
        for order, is_taker in ((taker, True), (maker, False)):
            if order.resting:
                book.resize(order, order.leaves_qty - qty)
                self._touch(order)
            else:
                order.leaves_qty -= qty
            order.cum_qty += qty
            order.notional += price * qty
            if order.leaves_qty == 0:
                order.status = _St.FILLED
                self._close(order)
            else:
                order.status = _St.PARTIAL
            fee, long_qty, short_qty, balance = self._book_position(order, price, qty, is_taker)
            report = self._report(order, _St.TRADE, order.status)
            report.last_px = price
            report.last_qty = qty
            report.trd_match_id = trade_id
            report.aggressor = is_taker
            report.fee = fee
            report.long_qty = long_qty
            report.short_qty = short_qty
            report.balance = balance
            report.clearing_date = self._clearing_date()
            reports.append(report)
        for report in reports:
            self._emit(report)
        self._md_trades.append(
            _Trade(
                symbol=taker.symbol,
                price=price,
                qty=qty,
                aggressor_side=taker.side,
                trade_id=trade_id,
            )
        )
        for order in (taker, maker):
            group = self._groups.get(order.group_id) if order.group_id else None
            if group is not None:
                group.fills.append((self._now, qty))
                if not group.triggered and group.volume(self._now) > group.limit:
                    self._trigger(group)

    def _book_position(
        self, order: _Order, price: Decimal, qty: Decimal, is_taker: bool
    ) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        key = (order.symbol, order.account, order.holder)
        pos = self._positions.get(key, _ZERO)
        buy = order.side == _BUY
        if self._prediction:
            rate = _TAKER_FEE if is_taker else _MAKER_FEE
            fee = _fee_cents(rate * qty * price * (_ONE - price))
            if buy:
                cash = -price * qty + min(qty, max(-pos, _ZERO))
            else:
                cash = -(_ONE - price) * qty + min(qty, max(pos, _ZERO))
            balance = (cash - fee).quantize(_TICK, rounding=ROUND_HALF_EVEN)
        else:
            fee = _fee_cents(_MARGIN_TAKER_FEE * qty * price) if is_taker else _ZERO
            balance = -fee
        pos = pos + qty if buy else pos - qty
        self._positions[key] = pos
        return (
            fee.quantize(_CENT),
            max(pos, _ZERO).quantize(_CENT),
            max(-pos, _ZERO).quantize(_CENT),
            balance,
        )

    def _clearing_date(self) -> date:
        local = _eastern(_utc(self._now))
        if not self._prediction and local.hour >= 16:
            return local.date() + timedelta(days=1)
        return local.date()

    def _close(self, order: _Order) -> None:
        """Take a finished order out of the book and the open set (leaves already settled)."""
        if order.resting:
            book = self._books[order.symbol]
            self._mark(book)
            self._touch(order)
            book.remove(order)
        order.open = False
        self._open.pop(order.order_id, None)

    def _cancel(
        self,
        order: _Order,
        *,
        text: str | None,
        cl_ord_id: str | None = None,
        expired: bool = False,
    ) -> None:
        if order.resting:
            book = self._books[order.symbol]
            self._mark(book)
            book.resize(order, _ZERO)
            self._touch(order)
        order.leaves_qty = _ZERO
        order.status = _St.CANCELED
        self._close(order)
        self._emit(
            self._report(
                order,
                _St.CANCELED,
                _St.CANCELED,
                cl_ord_id=cl_ord_id,
                orig_cl_ord_id=order.cl_ord_id,
                text=text,
                expired=expired,
            )
        )

    def _trigger(self, group: _Group) -> None:
        group.triggered = True
        for order in self._orders_where(lambda o: o.group_id == group.group_id):
            self._cancel(order, text="ORDER_GROUP_CANCEL")

    # -- cancel, replace, mass cancel -------------------------------------------------------------

    def _cancel_reject(
        self,
        session: _Session,
        msg: Any,
        order: _Order | None,
        response_to: str,
        reason: int,
        text: str | None,
    ) -> None:
        d = self._d
        self._send(
            session,
            d.OrderCancelReject(
                order_id=order.order_id if order is not None else _text(msg.order_id) or _NONE,
                cl_ord_id=_text(msg.cl_ord_id) or _NONE,
                orig_cl_ord_id=_text(msg.orig_cl_ord_id),
                ord_status=d.OrdStatus(order.status.value if order is not None else "8"),
                cxl_rej_response_to=d.CxlRejResponseTo(response_to),
                cxl_rej_reason=self._enum("CxlRejReason", reason),
                text=text,
            ),
        )

    def _find(self, session: _Session, msg: Any, response_to: str) -> tuple[_Order | None, bool]:
        """The order a cancel/replace names; (order, True) when it may be changed."""
        orig = _text(msg.orig_cl_ord_id)
        order = self._by_cl.get((session.account, orig)) if orig is not None else None
        parties = self._parties(msg)
        if (
            order is None
            or order.cl_ord_id != orig
            or (msg.order_id is not None and _text(msg.order_id) != order.order_id)
            or _text(msg.side) != order.side
            or _text(msg.symbol) != order.symbol
            or isinstance(parties, str)
            or (parties[0] or None) != (order.alloc_account or None)
            or parties[1] != order.party_id
        ):
            self._cancel_reject(session, msg, None, response_to, 1, "NOT_FOUND")
            return None, False
        if order.status == _St.FILLED:
            if response_to == "1":
                self._cancel_reject(session, msg, order, response_to, 0, None)
            else:
                self._cancel_reject(
                    session, msg, order, response_to, 2, "CANNOT_UPDATE_FILLED_ORDER"
                )
            return order, False
        if not order.open:
            self._cancel_reject(session, msg, order, response_to, 1, "NOT_FOUND")
            return order, False
        if order.rfq:  # a quote acceptance waiting for the maker: too late to change
            self._cancel_reject(session, msg, order, response_to, 0, None)
            return order, False
        if _text(msg.cl_ord_id) is None:
            self._cancel_reject(session, msg, order, response_to, 99, "INVALID_ORDER")
            return order, False
        return order, True

    def _on_cancel(self, session: _Session, msg: Any) -> None:
        order, ok = self._find(session, msg, "1")
        if order is None or not ok:
            return
        if self._pause == "exchange":
            return self._cancel_reject(session, msg, order, "1", 99, "EXCHANGE_PAUSED")
        self._cancel(order, text=None, cl_ord_id=_text(msg.cl_ord_id))

    def _on_replace(self, session: _Session, msg: Any) -> None:
        order, ok = self._find(session, msg, "2")
        if order is None or not ok:
            return

        def bad(reason: int, text: str) -> None:
            self._cancel_reject(session, msg, order, "2", reason, text)

        if self._pause is not None:
            return bad(99, f"{self._pause.upper()}_PAUSED")
        cl = _text(msg.cl_ord_id)
        assert cl is not None  # checked by _find
        if len(cl) > 64 or _text(msg.ord_type) != "2":
            return bad(99, "INVALID_ORDER")
        existing = self._by_cl.get((session.account, cl))
        if existing is not None and existing.open:
            return bad(6, "ORDER_ALREADY_EXISTS")
        qty = self._valid_qty(msg.order_qty)
        if qty is None:
            return bad(99, "INVALID_ORDER")
        price = order.price
        if msg.price is not None:
            new_price = self._valid_price(msg.price)
            if new_price is None:
                return bad(99, "INVALID_PRICE")
            price = new_price
        tif_raw = msg.time_in_force
        tif = None if tif_raw is None else _text(tif_raw)
        expire = order.expire_dt
        new_tif = order.tif
        if tif is None:
            if msg.expire_time is not None:
                return bad(99, "INVALID_ORDER")
        elif tif == "0":
            if msg.expire_time is not None:
                return bad(99, "INVALID_ORDER")
            new_tif, expire = "0", _ms(_end_of_et_day(_utc(self._now)))
        elif tif == "1":
            if msg.expire_time is not None:
                return bad(99, "INVALID_ORDER")
            new_tif, expire = "1", None
        elif tif == "6":
            expire = _aware(msg.expire_time)
            if expire is None or expire.timestamp() <= self._now:
                return bad(99, "INVALID_ORDER")
            new_tif, expire = "6", _ms(expire)
        else:
            return bad(99, "INVALID_ORDER")
        if qty < order.cum_qty:
            return bad(2, "INVALID_AMEND_QTY_FOR_ORDER")
        if qty == order.cum_qty:
            return self._cancel(order, text=None, cl_ord_id=cl)
        book = self._books[order.symbol]
        opposite = _SELL if order.side == _BUY else _BUY
        for other in book.iter_priority(opposite):
            if not self._crosses(order.side, price, other.price):
                break
            if other.account == order.account:
                return bad(18, "SELF_CROSS_ATTEMPT")
        best = book.best(opposite)
        if order.post_only and best is not None and self._crosses(order.side, price, best):
            return bad(99, "POST_ONLY_CROSS")
        leaves = qty - order.cum_qty
        lose_priority = price != order.price or leaves > order.leaves_qty
        self._mark(book)
        if lose_priority:
            self._touch(order)
            book.remove(order)
            self._seq += 1
            order.seq = self._seq
        else:
            book.resize(order, leaves)
            self._touch(order)
        previous = order.cl_ord_id
        del self._by_cl[(order.account, previous)]
        order.cl_ord_id = cl
        self._by_cl[(order.account, cl)] = order
        order.price = price
        order.order_qty = qty
        order.leaves_qty = leaves
        order.tif = new_tif
        order.expire_dt = expire
        order.expire_ts = None if expire is None else expire.timestamp()
        self._emit(
            self._report(order, _St.REPLACED, _St.REPLACED, orig_cl_ord_id=previous, replaced=True)
        )
        if lose_priority:
            self._execute(order, ioc=False)

    def _on_mass_cancel(self, session: _Session, msg: Any) -> None:
        d = self._d
        cl = _text(msg.cl_ord_id) or _NONE
        if _text(msg.mass_cancel_request_type) != "6" or self._pause == "exchange":
            reason = 99 if self._pause == "exchange" else 0
            self._send(
                session,
                d.OrderMassCancelReport(
                    cl_ord_id=cl,
                    order_id=self._uuid(),
                    mass_cancel_response=d.MassCancelResponse("0"),
                    mass_cancel_reject_reason=reason,
                ),
            )
            return
        for order in self._orders_where(lambda o: o.session_id == session.session_id):
            self._cancel(order, text=None)
        self._send(
            session,
            d.OrderMassCancelReport(
                cl_ord_id=cl,
                order_id=self._uuid(),
                mass_cancel_response=d.MassCancelResponse("6"),
            ),
        )

    # -- order groups ---------------------------------------------------------------------------

    def _on_order_group(self, session: _Session, msg: Any) -> None:
        action = _int(msg.order_group_action)
        alloc_raw = getattr(msg, "alloc_account", None)
        alloc = _int(alloc_raw) if alloc_raw is not None else 0
        gid = _text(msg.order_group_id)
        limit_raw = msg.order_group_contracts_limit
        limit = _int(limit_raw)

        def reject(reason: int, text: str) -> None:
            self._business_reject(session, msg, reason, text, gid)

        if gid is not None and not _is_uuid(gid):
            return self._session_reject(
                session, msg, _ORDER_GROUP_ID_TAG, 6, _INCORRECT_DATA_FORMAT
            )
        if alloc is None or not 0 <= alloc <= 63:
            return reject(0, "AllocAccount(79) must be 0-63")
        if action not in (1, 2, 3, 4, 5):
            return reject(0, f"unsupported OrderGroupAction(20131) {_raw(msg.order_group_action)}")
        if action in (1, 5):
            if limit_raw is None:
                return reject(5, "OrderGroupContractsLimit(20132) is required")
            if limit is None or not 1 <= limit <= _MAX_GROUP_LIMIT:
                return reject(0, "OrderGroupContractsLimit(20132) must be 1-1000000")
        if action == 1:
            if msg.order_group_id is not None:
                return reject(0, "OrderGroupID(20130) must not be sent on Create")
            assert limit is not None
            group = _Group(
                group_id=self._uuid(), account=session.account, alloc_account=alloc, limit=limit
            )
            self._groups[group.group_id] = group
            return self._group_response(session, group, with_limit=True)
        if gid is None:
            return reject(5, "OrderGroupID(20130) is required")
        group_or_none = self._groups.get(gid)
        if (
            group_or_none is None
            or group_or_none.account != session.account
            or group_or_none.alloc_account != alloc
        ):
            return reject(0, "ORDER_GROUP_NOT_FOUND")
        group = group_or_none
        if action == 2:
            group.triggered = False
            group.fills.clear()
        elif action == 3:
            for order in self._orders_where(lambda o: o.group_id == group.group_id):
                self._cancel(order, text="ORDER_GROUP_CANCEL")
            del self._groups[group.group_id]
        elif action == 4:
            self._trigger(group)
        else:
            assert limit is not None
            group.limit = limit
            if group.volume(self._now) > limit:
                self._trigger(group)
        self._group_response(session, group, with_limit=action == 5)

    def _group_response(self, session: _Session, group: _Group, *, with_limit: bool) -> None:
        d = self._d
        if self._prediction:
            message = d.OrderGroupResponse(
                order_group_id=group.group_id,
                order_group_contracts_limit=group.limit if with_limit else None,
                alloc_account=group.alloc_account,
            )
        else:
            message = d.OrderGroupResponse(order_group_id=group.group_id)
        self._send(session, message)

    # -- market data ----------------------------------------------------------------------------

    def _mark(self, book: _Book) -> None:
        if book.symbol not in self._md_before:
            self._md_before[book.symbol] = book.snapshot()

    def _touch(self, order: _Order) -> None:
        self._md_touch[(order.symbol, order.side, order.price)] = order

    def _md_stamp(self) -> tuple[date, dtime]:
        u = _ms(_utc(self._now))
        return u.date(), u.timetz()

    def _snapshot(self, symbol: str) -> Any:
        d = self._d
        day, clock = self._md_stamp()
        entries = []
        book = self._books.get(symbol)
        if book is not None:
            for side, kind in ((_BUY, "0"), (_SELL, "1")):
                prices = book.prices[side]
                for px in reversed(prices) if side == _BUY else prices:
                    entries.append(
                        d.MarketDataSnapshotFullRefreshMDEntry(
                            md_entry_type=d.MDEntryType(kind),
                            md_entry_px=px.quantize(_TICK),
                            md_entry_size=book.agg[side][px].quantize(_CENT),
                            md_entry_date=day,
                            md_entry_time=clock,
                        )
                    )
        return d.MarketDataSnapshotFullRefresh(symbol=symbol, md_entries=tuple(entries))

    def _on_md_request(self, session: _Session, msg: Any) -> None:
        d = self._d
        kind = _text(msg.subscription_request_type)
        symbols: list[str] = []
        for entry in msg.related_sym or ():
            sym = _text(entry.symbol)
            if sym is not None and sym not in symbols:
                symbols.append(sym)
        if kind not in ("0", "1", "2"):
            self._send(
                session,
                d.MarketDataRequestReject(
                    md_req_rej_reason=d.MDReqRejReason("4"),
                    text="unsupported SubscriptionRequestType(263)",
                ),
            )
            return
        if kind == "2":
            if msg.related_sym:
                session.md_symbols.difference_update(symbols)
            else:
                session.md_symbols.clear()
            return
        if not symbols:
            self._send(session, d.MarketDataRequestReject(text="NoRelatedSym(146) is required"))
            return
        if len(symbols) > _MAX_MD_SYMBOLS:
            self._send(
                session,
                d.MarketDataRequestReject(
                    md_req_rej_reason=d.MDReqRejReason("2"),
                    text=f"more than {_MAX_MD_SYMBOLS} symbols in one request",
                ),
            )
            return
        if kind == "1" and len(session.md_symbols | set(symbols)) > _MAX_MD_SUBSCRIPTIONS:
            self._send(
                session,
                d.MarketDataRequestReject(
                    md_req_rej_reason=d.MDReqRejReason("2"),
                    text=f"more than {_MAX_MD_SUBSCRIPTIONS} subscriptions",
                ),
            )
            return
        for sym in symbols:
            if kind == "1":
                session.md_symbols.add(sym)
            self._send(session, self._snapshot(sym))

    def _market_status(self, symbol: str) -> int | None:
        book = self._books.get(symbol)
        if book is None:
            return None
        if book.settled:
            return 101
        return 2 if self._pause is not None else 3

    def _on_status_request(self, session: _Session, msg: Any) -> None:
        kind = _text(msg.subscription_request_type)
        symbol = _text(msg.symbol)
        if kind not in ("1", "2"):
            self._session_reject(
                session, msg, 263, 5, "Value is incorrect (out of range) for this tag"
            )
            return
        if symbol is None:
            self._session_reject(session, msg, 55, 1, "Required tag missing")
            return
        if kind == "2":
            session.status_symbols.discard(symbol)
        elif self._market_status(symbol) != 101:  # changes only: nothing is sent now
            session.status_symbols.add(symbol)

    def _send_status(self, symbol: str, status: int) -> None:
        if not self._prediction:
            return
        d = self._d
        for session in self._sessions.values():
            if symbol in session.status_symbols:
                self._send(
                    session,
                    d.SecurityStatus(
                        symbol=symbol, security_trading_status=d.SecurityTradingStatus(status)
                    ),
                )

    def _flush_market_data(self) -> None:
        if not self._md_before and not self._md_trades:
            return
        d = self._d
        day, clock = self._md_stamp()
        common: dict[str, Any] = {"md_entry_date": day, "md_entry_time": clock}
        entry = d.MarketDataIncrementalRefreshMDEntry
        # (symbol, built entry or None, owning order) in output order
        changes: list[tuple[str, dict[str, Any], _Order | None]] = []
        for t in self._md_trades:
            changes.append(
                (
                    t.symbol,
                    {
                        "md_update_action": d.MDUpdateAction("0"),
                        "symbol": t.symbol,
                        "md_entry_type": d.MDEntryType("2"),
                        "md_entry_px": t.price.quantize(_TICK),
                        "md_entry_size": t.qty.quantize(_CENT),
                        "aggressor_side": d.AggressorSide(t.aggressor_side),
                        "trd_type": self._enum("TrdType", 1) if t.block else None,
                        "trade_id": t.trade_id,
                        **common,
                    },
                    None,
                )
            )
        for symbol, before in self._md_before.items():
            after = self._books[symbol].agg
            for side, kind in ((_BUY, "0"), (_SELL, "1")):
                old, new = before[side], after[side]
                prices = sorted(set(old) | set(new), reverse=side == _BUY)
                for px in prices:
                    if px in new and px not in old:
                        action, size = "0", new[px]
                    elif px in old and px not in new:
                        action, size = "2", _ZERO
                    elif old[px] != new[px]:
                        action, size = "1", new[px]
                    else:
                        continue
                    changes.append(
                        (
                            symbol,
                            {
                                "md_update_action": d.MDUpdateAction(action),
                                "symbol": symbol,
                                "md_entry_type": d.MDEntryType(kind),
                                "md_entry_px": px.quantize(_TICK),
                                "md_entry_size": size.quantize(_CENT),
                                **common,
                            },
                            self._md_touch.get((symbol, side, px)),
                        )
                    )
        if not changes:
            return
        for session in self._sessions.values():
            if not session.md_symbols:
                continue
            entries = []
            for symbol, fields, owner in changes:
                if symbol not in session.md_symbols:
                    continue
                if owner is not None and owner.account == session.account:
                    fields = {
                        **fields,
                        "cl_ord_id": owner.cl_ord_id,
                        "alloc_account": owner.alloc_account or 0,
                    }
                entries.append(entry(**fields))
            if entries:
                self._send(session, d.MarketDataIncrementalRefresh(md_entries=tuple(entries)))

    # -- settlement -----------------------------------------------------------------------------

    def _settlement_reports(self, symbol: str, result: str, fragment_size: int) -> None:
        d = self._d
        by_account: dict[str, list[tuple[str, Decimal]]] = {}
        for key in sorted(k for k in self._positions if k[0] == symbol):
            pos = self._positions.pop(key)
            if pos != 0:
                by_account.setdefault(key[1], []).append((key[2], pos))
        clearing = _eastern(_utc(self._now)).date()
        # dollars in the typed message; the wire is cents with 2 decimals, as in the docs'
        # examples (730=100.00): a 4-decimal dollar value keeps those 2 cent decimals
        price = (_ONE if result == "yes" else _ZERO).quantize(_TICK)
        for account, parties in by_account.items():
            recipients = [
                s
                for s in self._sessions.values()
                if s.account == account
                and (
                    s.session_type == "KalshiPT"
                    or (s.session_type in _ORDER_ENTRY and s.settlement_reports)
                )
            ]
            if not recipients:
                continue
            pages = [parties[i : i + fragment_size] for i in range(0, len(parties), fragment_size)]
            for n, page in enumerate(pages, start=1):
                entries = []
                for holder, pos in page:
                    long_qty, short_qty = max(pos, _ZERO), max(-pos, _ZERO)
                    payout = long_qty if result == "yes" else short_qty
                    entries.append(
                        d.MarketSettlementReportMarketSettlementPartyID(
                            market_settlement_party_id=holder,
                            market_settlement_party_role=d.MarketSettlementPartyRole(24),
                            long_qty=long_qty.quantize(_CENT),
                            short_qty=short_qty.quantize(_CENT),
                            collateral_amount_changes=(
                                d.CollateralAmountChange(
                                    collateral_amount_change=payout.quantize(_CENT),
                                    collateral_amount_type=d.CollateralAmountType("PAYOUT"),
                                ),
                            ),
                            misc_fees=(
                                d.MiscFee(
                                    misc_fee_amt=_ZERO.quantize(_CENT),
                                    misc_fee_curr="USD",
                                    misc_fee_type=d.MiscFeeType("4"),
                                    misc_fee_basis=d.MiscFeeBasis(0),
                                ),
                            ),
                        )
                    )
                report = d.MarketSettlementReport(
                    market_settlement_report_id=self._uuid(),
                    symbol=symbol,
                    clearing_business_date=clearing,
                    tot_num_market_settlement_reports=len(pages),
                    market_result=d.MarketResult(result),
                    settlement_price=price,
                    market_settlement_party_ids=tuple(entries),
                    last_fragment=n == len(pages),
                )
                for session in recipients:
                    self._send(session, report)

    # -- drop copy ------------------------------------------------------------------------------

    def _prune_history(self) -> None:
        """Forget reports (and ExecID clocks) older than the replay window."""
        cutoff = self._now - DROP_COPY_WINDOW_SECONDS
        history = self._history
        while history and history[0][1] < cutoff:
            history.popleft()
        log = self._clock_log
        while log and log[0][1] < cutoff:
            self._pruned_clock = log.popleft()[0]

    def _on_event_resend(self, session: _Session, msg: Any) -> None:
        d = self._d
        ref = self._ref_seq(msg)

        def reject(reason: int) -> None:
            self._send(
                session,
                d.EventResendReject(
                    ref_seq_num=ref,
                    event_resend_reject_reason=self._enum("EventResendRejectReason", reason),
                ),
            )

        allowlist = self._replay_allowlist
        if allowlist is not None and session.account not in allowlist:
            return reject(5)
        latest = self._last_exec
        begin = _exec_key(_text(msg.begin_exec_id))
        if begin is None or begin[0] <= self._pruned_clock or begin > latest:
            return reject(3)
        end = latest
        if msg.end_exec_id is not None:
            end_key = _exec_key(_text(msg.end_exec_id))
            if end_key is None or end_key > latest:
                return reject(4)
            end = end_key
        count = 0
        for key, _when, report in self._history:
            if key > end:
                break
            if key >= begin and report.account == session.account:
                self._send(session, self._render(report, session))
                count += 1
        self._send(session, d.EventResendComplete(ref_seq_num=ref, resend_event_count=count))

    # -- RFQ: helpers ---------------------------------------------------------------------------

    def _rfq_allowed(self, session: _Session, message: Message, session_type: str) -> bool:
        name = type(message).__name__
        if session.listener:
            self._business_reject(session, message, 3, f"{name} not allowed on a listener session")
            return False
        if session.session_type != session_type:
            self._business_reject(
                session, message, 3, f"{name} is accepted on {session_type} sessions only"
            )
            return False
        return True

    def _public_id(self, account: str) -> str:
        """The account's pseudonymous public communications id (a UUID, fixed per account)."""
        pid = self._public_ids.get(account)
        if pid is None:
            pid = self._public_ids[account] = self._uuid()
        return pid

    def _targets(self, account: str, origin: str | None, session_type: str) -> list[_Session]:
        """The origin session while connected, else the account's sessions of that type."""
        first = self._sessions.get(origin) if origin is not None else None
        if first is not None:
            return [first]
        return [
            s
            for s in self._sessions.values()
            if s.account == account and s.session_type == session_type and not s.listener
        ]

    def _market_refusal(self, symbol: str) -> str | None:
        book = self._books.get(symbol)
        if book is None:
            return "MARKET_NOT_FOUND"
        if book.settled:
            return "MARKET_ALREADY_CLOSED"
        if self._pause is not None:
            return f"{self._pause.upper()}_PAUSED"
        return None

    def _quote_px(self, session: _Session, price: Decimal | None) -> Decimal | None:
        """A quote price for a session (None when absent or rounding to zero)."""
        px = self._px(session, price)
        return px if px else None

    @staticmethod
    def _maker_px(quote: _Quote, side: str) -> Decimal | None:
        """The maker's price a creator's side accepts: Side 1 takes the NO quote, 2 the YES."""
        return quote.no_px if side == _BUY else quote.yes_px

    @staticmethod
    def _maker_size(quote: _Quote, side: str) -> Decimal | None:
        return quote.no_size if side == _BUY else quote.yes_size

    def _trade_px(self, quote: _Quote, side: str) -> Decimal:
        """The YES price of an execution on the creator's side."""
        px = self._maker_px(quote, side)
        assert px is not None  # checked on acceptance
        return _ONE - px if side == _BUY else px

    @staticmethod
    def _quote_size(rfq: _Rfq, maker_px: Decimal | None) -> Decimal | None:
        """Contracts a quote side offers: the RFQ's OrderQty, or what its CashOrderQty buys."""
        if maker_px is None:
            return None
        if rfq.qty is not None:
            return rfq.qty
        assert rfq.cash is not None
        cash = rfq.cash
        price = _ONE - maker_px  # the creator's cost per contract
        if rfq.fees_excluded:
            return min(_floor_cents(cash / price), _MAX_QTY)
        rate = _TAKER_FEE * price * (_ONE - price)

        def fits(cents: int) -> bool:
            q = Decimal(cents).scaleb(-2)
            return q * price + _fee_cents(rate * q) <= cash

        hi = int(min(_floor_cents(cash / (price + rate)), _MAX_QTY) * 100)
        if fits(hi):
            return Decimal(hi).scaleb(-2).quantize(_CENT)
        lo = 0  # fits(lo) holds, fits(hi) does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid
        return Decimal(lo).scaleb(-2).quantize(_CENT)

    def _quote_status(self, quote: _Quote, session: _Session, status: int) -> Any:
        d = self._d
        accepted = status == 0
        return d.QuoteStatusReport(
            quote_id=quote.quote_id,
            quote_req_id=quote.rfq.rfq_id,
            alloc_account=quote.alloc_account or None,
            quote_status=d.QuoteStatus(status),
            order_qty=quote.qty if accepted else quote.rfq.qty,
            bid_px=self._quote_px(session, quote.yes_px),
            offer_px=self._quote_px(session, quote.no_px),
            bid_size=quote.yes_size,
            offer_size=quote.no_size,
            side=d.Side(quote.side) if accepted else None,
            transact_time=_ms(_utc(quote.created)) if status == 10 else None,
        )

    def _rfq_due(self) -> None:
        """Void accepted quotes past their confirmation time; expire day-old RFQs."""
        if not self._open_rfqs:
            return
        now = self._now
        due = [
            q
            for q in (r.accepted for r in self._open_rfqs.values())
            if q is not None and q.deadline <= now
        ]
        for quote in sorted(due, key=lambda q: (q.deadline, q.seq)):
            self._void(quote, session=None)
        for rfq in [
            r
            for r in self._open_rfqs.values()
            if r.accepted is None and r.created + RFQ_LIFETIME_SECONDS <= now
        ]:
            self._close_rfq(rfq, "RFQ_EXPIRED", expired=True)

    def _close_rfq(self, rfq: _Rfq, text: str, *, expired: bool) -> None:
        """Close an RFQ: cancel its pending quotes, tell the creator (``expired``), the makers."""
        d = self._d
        rfq.open = False
        self._open_rfqs.pop(rfq.rfq_id, None)
        for quote in rfq.quotes:
            if quote.state == "pending":
                quote.state = "cancelled"
        if expired:
            for s in self._targets(rfq.account, rfq.session_id, "KalshiRT"):
                self._send(
                    s,
                    d.RFQCancelStatus(
                        quote_req_id=rfq.quote_req_id,
                        rfq_cancel_status=d.RFQCancelStatusValue(2),
                        rfq_id=rfq.rfq_id,
                    ),
                )
        for s in self._sessions.values():
            if s.session_type == _RFQ:
                self._send(
                    s,
                    d.QuoteRequestReject(
                        text=text,
                        quote_req_id=rfq.rfq_id,
                        quote_request_reject_reason=d.QuoteRequestRejectReason(99),
                    ),
                )

    def _void(self, quote: _Quote, *, session: _Session | None) -> None:
        """Drop an accepted quote: 35=AI 17 to the maker, the creator's acceptance fails."""
        d = self._d
        rfq = quote.rfq
        quote.state = "cancelled"
        rfq.accepted = None
        makers = (
            [session]
            if session is not None
            else self._targets(quote.account, quote.session_id, _RFQ)
        )
        for s in makers:
            self._send(s, self._quote_status(quote, s, 17))
        order = quote.order
        if order is not None:
            order.rfq = False
            self._cancel(order, text="EXPIRED")
            return
        for s in self._targets(rfq.account, quote.accept_session, "KalshiRT"):
            self._send(
                s,
                d.AcceptQuoteStatus(
                    quote_id=quote.requested_id,
                    accept_quote_status=d.AcceptQuoteStatusValue(1),
                    cl_ord_id=quote.accept_cl,
                    text="EXPIRED",
                ),
            )

    # -- RFQ: creator ---------------------------------------------------------------------------

    def _on_quote_request(self, session: _Session, msg: Any) -> None:
        d = self._d
        req_id = _text(msg.quote_req_id)

        def reject(reason: int, text: str) -> None:
            self._send(
                session,
                d.QuoteRequestReject(
                    text=text,
                    quote_req_id=req_id or _NONE,
                    quote_request_reject_reason=self._enum("QuoteRequestRejectReason", reason),
                ),
            )

        if req_id is None or len(req_id) > 64:
            return reject(99, "INVALID_ORDER")
        if msg.multivariate_collection_ticker is not None or msg.multivariate_selected_legs:
            return reject(99, "MVE_NOT_SUPPORTED")
        entries = list(msg.related_sym or ())
        if len(entries) != 1:
            return reject(99, "INVALID_ORDER")
        entry = entries[0]
        symbol = _text(entry.symbol)
        qty_raw, cash_raw = entry.order_qty, entry.cash_order_qty
        if symbol is None or (qty_raw is None) == (cash_raw is None):
            return reject(99, "INVALID_ORDER")
        qty: Decimal | None = None
        cash: Decimal | None = None
        if qty_raw is not None:
            raw = _dec(qty_raw)
            if raw is not None and raw > _MAX_QTY:
                return reject(3, "QUOTE_REQUEST_EXCEEDS_LIMIT")
            qty = self._valid_qty(qty_raw)
            if qty is None:
                return reject(99, "INVALID_ORDER")
        else:
            cash = _dec(cash_raw)
            if cash is not None and cash > _MAX_CASH:
                return reject(3, "QUOTE_REQUEST_EXCEEDS_LIMIT")
            if cash is None or cash <= 0 or cash.quantize(_CENT) != cash:
                return reject(99, "INVALID_ORDER")
        fees_excluded = entry.target_cost_excludes_fees is True
        if fees_excluded and cash is None:
            return reject(99, "INVALID_ORDER")
        parties = self._party_fields(msg.alloc_account, entry.party_ids)
        if isinstance(parties, str):
            return reject(99, parties)
        alloc, party = parties
        refusal = self._market_refusal(symbol)
        if refusal is not None:
            return reject(1 if refusal == "MARKET_NOT_FOUND" else 99, refusal)
        account = session.account
        known = self._rfq_by_client.get((account, req_id))
        if known is not None and known.open:
            return reject(99, "RFQ already exists")
        holder = _holder(account, alloc, party)
        same = [
            r
            for r in self._open_rfqs.values()
            if r.account == account and r.holder == holder and r.symbol == symbol
        ]
        if same:
            if entry.replace_existing is not True:
                return reject(99, "RFQ already exists")
            newest = max(same, key=lambda r: r.seq)
            for r in same:
                if r is not newest and r.accepted is None:
                    self._close_rfq(r, "RFQ_REPLACED", expired=True)
        self._seq += 1
        rfq = _Rfq(
            rfq_id=self._uuid(),
            quote_req_id=req_id,
            account=account,
            holder=holder,
            alloc_account=alloc,
            party_id=party,
            session_id=session.session_id,
            symbol=symbol,
            qty=qty,
            cash=cash,
            fees_excluded=fees_excluded,
            obscure=entry.obscure_creator_id is True,
            created=self._now,
            seq=self._seq,
        )
        self._rfqs[rfq.rfq_id] = rfq
        self._open_rfqs[rfq.rfq_id] = rfq
        self._rfq_by_client[(account, req_id)] = rfq
        self._send(
            session,
            d.QuoteRequestAck(
                quote_req_id=req_id,
                quote_request_type=d.QuoteRequestType(1),
                rfq_id=rfq.rfq_id,
                ex_destination=0,
            ),
        )
        creator_id = self._public_id(account)
        created = _ms(_utc(rfq.created))
        for s in self._sessions.values():
            if s.session_type != _RFQ:
                continue
            pid = creator_id if s.account == account or not rfq.obscure else OBSCURED_CREATOR_ID
            self._send(
                s,
                d.QuoteRequest(
                    quote_req_id=rfq.rfq_id,
                    related_sym=(
                        d.QuoteRequestRelatedSym(
                            symbol=symbol,
                            order_qty=qty,
                            cash_order_qty=cash,
                            transact_time=created,
                            party_ids=(d.QuoteRequestRelatedSymPartyID(party_id=pid),),
                        ),
                    ),
                ),
            )

    def _acceptable(
        self,
        session: _Session,
        quote_id: str | None,
        rfq_id: str | None,
        side: str | None,
        qty_raw: object,
        *,
        prefer_better: bool,
    ) -> tuple[_Quote, str, Decimal] | _Refusal:
        """The quote, side and quantity an acceptance takes, or why it is refused."""
        quote = self._quotes.get(quote_id) if quote_id is not None else None
        if (
            quote is None
            or quote.rfq.account != session.account
            or (rfq_id is not None and rfq_id != quote.rfq.rfq_id)
        ):
            return _Refusal("NOT_FOUND", 99)
        rfq = quote.rfq
        if not rfq.open:
            return _Refusal("EXPIRED", 8)
        if rfq.accepted is not None:
            return _Refusal("RFQ_ACCEPT_IN_PROGRESS", 99)
        if quote.state != "pending":
            return _Refusal("EXPIRED", 8)
        if side != _BUY and side != _SELL:
            return _Refusal("INVALID_ORDER", 11)
        refusal = self._market_refusal(rfq.symbol)
        if refusal is not None:
            return _Refusal(refusal, 2)
        size = self._maker_size(quote, side)
        if not size:
            return _Refusal("INVALID_ORDER", 11)  # no quote (or no size) on that side
        qty = size if qty_raw is None else self._valid_qty(qty_raw)
        if qty is None or qty > size:
            return _Refusal("INVALID_ORDER", 11)
        if prefer_better:
            for other in rfq.quotes:
                px, best = self._maker_px(other, side), self._maker_px(quote, side)
                other_size = self._maker_size(other, side)
                if (
                    other.state == "pending"
                    and px is not None
                    and best is not None
                    and px > best
                    and other_size is not None
                    and other_size >= qty
                ):
                    quote = other
        return quote, side, qty

    def _accept(
        self,
        quote: _Quote,
        side: str,
        qty: Decimal,
        session: _Session,
        *,
        cl_ord_id: str | None,
        requested_id: str,
        order: _Order | None,
    ) -> None:
        quote.state = "accepted"
        quote.side = side
        quote.qty = qty
        quote.deadline = self._now + QUOTE_CONFIRM_SECONDS
        quote.requested_id = requested_id
        quote.accept_session = session.session_id
        quote.accept_cl = cl_ord_id
        quote.order = order
        quote.rfq.accepted = quote

    def _notify_accepted(self, quote: _Quote) -> None:
        for s in self._targets(quote.account, quote.session_id, _RFQ):
            self._send(s, self._quote_status(quote, s, 0))

    def _on_accept_quote(self, session: _Session, msg: Any) -> None:
        d = self._d
        qid = _text(msg.quote_id)
        cl = _text(msg.cl_ord_id)

        def answer(status: int, text: str | None = None, accepted: str | None = None) -> None:
            self._send(
                session,
                d.AcceptQuoteStatus(
                    quote_id=qid or _NONE,
                    accept_quote_status=d.AcceptQuoteStatusValue(status),
                    accepted_quote_id=accepted,
                    cl_ord_id=cl,
                    text=text,
                ),
            )

        if (cl is not None and len(cl) > 64) or isinstance(
            self._party_fields(None, msg.parties), str
        ):
            return answer(1, "INVALID_ORDER")
        result = self._acceptable(
            session,
            qid,
            _text(msg.rfq_id),
            _text(msg.side),
            msg.order_qty,
            prefer_better=msg.prefer_better_quote is True,
        )
        if isinstance(result, _Refusal):
            return answer(1, result.text)
        quote, side, qty = result
        assert qid is not None  # a quote was found
        self._accept(quote, side, qty, session, cl_ord_id=cl, requested_id=qid, order=None)
        answer(0, accepted=quote.quote_id)
        self._notify_accepted(quote)

    def _on_quote_order(
        self,
        session: _Session,
        msg: Any,
        cl: str,
        side: str,
        symbol: str,
        qty: Decimal,
        price: Decimal,
    ) -> None:
        """NewOrderSingle with QuoteID: accept a quote (the rest of the usual checks first)."""
        bad = self._reject_new
        quote_id = _text(msg.quote_id)
        inst = _text(msg.exec_inst)
        if quote_id is None or (inst is not None and "E" in inst.split()):
            return bad(session, msg, "INVALID_ORDER", 11)
        if isinstance(self._parties(msg), str):
            return bad(session, msg, "INVALID_ORDER", 11)
        existing = self._by_cl.get((session.account, cl))
        if existing is not None and existing.open:
            return bad(session, msg, "ORDER_ALREADY_EXISTS", 6)
        result = self._acceptable(
            session, quote_id, _text(msg.rfq_id), side, qty, prefer_better=False
        )
        if isinstance(result, _Refusal):
            if result.text == "NOT_FOUND":  # not an ExecutionReport text (removed 2026-04-04)
                return bad(session, msg, "INVALID_ORDER", 11)
            return bad(session, msg, result.text, result.reason)
        quote, side, qty = result
        rfq = quote.rfq
        if symbol != rfq.symbol:
            return bad(session, msg, "INVALID_ORDER", 11)
        trade_px = self._trade_px(quote, side)
        if trade_px > price if side == _BUY else trade_px < price:
            return bad(session, msg, "INVALID_PRICE", 11)
        order = self._new_order(
            cl_ord_id=cl,
            account=session.account,
            alloc=rfq.alloc_account,
            party=rfq.party_id,
            session_id=session.session_id,
            symbol=symbol,
            side=side,
            price=price,
            qty=qty,
            tif="1",
            expire=None,
            post_only=False,
            reduce_only=False,
            stp=1,
            cancel_on_pause=False,
            group_id=None,
        )
        del self._open[order.order_id]  # not in the book; found by ClOrdID only
        order.rfq = True
        self._emit(self._report(order, _St.NEW, _St.NEW))
        self._accept(quote, side, qty, session, cl_ord_id=cl, requested_id=quote_id, order=order)
        self._notify_accepted(quote)

    def _on_rfq_cancel(self, session: _Session, msg: Any) -> None:
        d = self._d
        req = _text(msg.quote_req_id)
        rid = _text(msg.rfq_id)
        echo = req or rid or _NONE

        def answer(status: int, text: str | None = None, rfq_id: str | None = rid) -> None:
            self._send(
                session,
                d.RFQCancelStatus(
                    quote_req_id=echo,
                    rfq_cancel_status=d.RFQCancelStatusValue(status),
                    rfq_id=rfq_id,
                    text=text,
                ),
            )

        rfq: _Rfq | None = None
        if rid is not None:
            rfq = self._rfqs.get(rid)
            if rfq is not None and (
                rfq.account != session.account or (req is not None and req != rfq.quote_req_id)
            ):
                rfq = None
        elif req is not None:
            rfq = self._rfq_by_client.get((session.account, req))
        if rfq is None:
            return answer(1, "NOT_FOUND")
        if not rfq.open:
            return answer(1, "RFQ_CLOSED")
        if rfq.accepted is not None:
            return answer(1, "RFQ_ACCEPT_IN_PROGRESS")
        answer(0, rfq_id=rfq.rfq_id)
        self._close_rfq(rfq, "RFQ_CANCELLED", expired=False)

    # -- RFQ: market maker ----------------------------------------------------------------------

    def _on_quote(self, session: _Session, msg: Any) -> None:
        d = self._d
        qid = _text(msg.quote_id)
        rid = _text(msg.quote_req_id)
        alloc_raw = msg.alloc_account
        alloc = _int(alloc_raw)

        def reject(text: str) -> None:
            self._send(
                session,
                d.QuoteStatusReport(
                    quote_id=qid or _NONE,
                    quote_req_id=rid or _NONE,
                    quote_status=d.QuoteStatus(5),
                    text=text,
                ),
            )

        if qid is None or len(qid) > 64 or rid is None:
            return reject("INVALID_ORDER")
        if alloc_raw is not None and (alloc is None or not 0 <= alloc <= 63):
            return reject("INVALID_ORDER")
        rfq = self._rfqs.get(rid)
        if rfq is None:
            return reject("NOT_FOUND")
        if not rfq.open:
            return reject("EXPIRED")
        if _text(msg.symbol) != rfq.symbol:
            return reject("INVALID_ORDER")
        if rfq.account == session.account:
            return reject("SELF_CROSS_ATTEMPT")
        prices: list[Decimal | None] = []
        for raw in (msg.bid_px, msg.offer_px):
            if raw is None or _dec(raw) == 0:
                prices.append(None)
                continue
            px = self._valid_price(raw)
            if px is None:
                return reject("INVALID_PRICE")
            prices.append(px)
        yes_px, no_px = prices
        if yes_px is None and no_px is None:
            return reject("INVALID_PRICE")
        if yes_px is not None and no_px is not None and yes_px + no_px > _ONE:
            return reject("INVALID_PRICE")
        refusal = self._market_refusal(rfq.symbol)
        if refusal is not None:
            return reject(refusal)
        existing = self._quotes.get(qid)
        if existing is not None and (
            existing.state == "accepted"
            or (existing.state == "pending" and existing.account != session.account)
        ):
            return reject("ORDER_ALREADY_EXISTS")
        yes_size = self._quote_size(rfq, yes_px)
        no_size = self._quote_size(rfq, no_px)
        if not yes_size and not no_size:
            return reject("INVALID_ORDER")  # the RFQ's cash buys no contract at these prices
        if existing is not None and existing.state == "pending":
            existing.state = "cancelled"  # the maker reuses its own QuoteID
        for other in self._open_rfqs.values():  # replaces the maker's quote on this market
            if other.symbol == rfq.symbol:
                for q in other.quotes:
                    if q.state == "pending" and q.account == session.account:
                        q.state = "cancelled"
        self._seq += 1
        quote = _Quote(
            quote_id=qid,
            rfq=rfq,
            account=session.account,
            alloc_account=alloc,
            session_id=session.session_id,
            yes_px=yes_px,
            no_px=no_px,
            yes_size=yes_size,
            no_size=no_size,
            created=self._now,
            seq=self._seq,
        )
        self._quotes[qid] = quote
        rfq.quotes.append(quote)
        self._send(session, self._quote_status(quote, session, 10))
        maker_id = self._public_id(session.account)
        for s in self._targets(rfq.account, rfq.session_id, "KalshiRT"):
            self._send(
                s,
                d.Quote(
                    quote_id=qid,
                    quote_req_id=rfq.rfq_id,
                    symbol=rfq.symbol,
                    bid_px=self._quote_px(s, yes_px),
                    offer_px=self._quote_px(s, no_px),
                    order_qty=rfq.qty,
                    bid_size=yes_size,
                    offer_size=no_size,
                    transact_time=_ms(_utc(quote.created)),
                    parties=(d.Party(party_id=maker_id, party_role=d.PartyRole(35)),),
                ),
            )

    def _maker_quote(
        self, session: _Session, quote_id: str | None, rfq_id: str | None
    ) -> _Quote | None:
        quote = self._quotes.get(quote_id) if quote_id is not None else None
        if (
            quote is None
            or quote.account != session.account
            or (rfq_id is not None and rfq_id != quote.rfq.rfq_id)
        ):
            return None
        return quote

    def _on_quote_cancel(self, session: _Session, msg: Any) -> None:
        d = self._d
        qid = _text(msg.quote_id)

        def answer(status: int, text: str | None = None) -> None:
            self._send(
                session,
                d.QuoteCancelStatus(
                    quote_id=qid or _NONE,
                    quote_cancel_status=d.QuoteCancelStatusValue(status),
                    text=text,
                ),
            )

        quote = self._maker_quote(session, qid, _text(msg.rfq_id))
        if quote is None:
            return answer(1, "NOT_FOUND")
        if quote.state == "pending":
            quote.state = "cancelled"
            self._send(session, self._quote_status(quote, session, 17))
        elif quote.state == "accepted":
            self._void(quote, session=session)
        else:
            return answer(1, "EXPIRED")
        answer(0)

    def _on_quote_confirm(self, session: _Session, msg: Any) -> None:
        d = self._d
        qid = _text(msg.quote_id)

        def answer(status: int, text: str | None = None) -> None:
            self._send(
                session,
                d.QuoteConfirmStatus(
                    quote_id=qid or _NONE,
                    quote_confirm_status=d.QuoteConfirmStatusValue(status),
                    text=text,
                ),
            )

        quote = self._maker_quote(session, qid, _text(msg.rfq_id))
        if quote is None:
            return answer(1, "NOT_FOUND")
        if quote.state == "pending":
            return answer(1, "QUOTE_NOT_ACCEPTED")
        if quote.state != "accepted":
            return answer(1, "EXPIRED")
        refusal = self._market_refusal(quote.rfq.symbol)
        if refusal is not None:
            return answer(1, refusal)
        answer(0)
        self._execute_quote(quote)

    def _execute_quote(self, quote: _Quote) -> None:
        """Trade a confirmed quote: New and Trade reports for the creator and the maker."""
        rfq = quote.rfq
        side, qty = quote.side, quote.qty
        price = self._trade_px(quote, side)
        common: dict[str, Any] = {
            "symbol": rfq.symbol,
            "price": price,
            "qty": qty,
            "tif": "1",
            "expire": None,
            "post_only": False,
            "reduce_only": False,
            "stp": 1,
            "cancel_on_pause": False,
            "group_id": None,
            "register": False,
        }
        creator = quote.order
        if creator is None:
            creator = self._new_order(
                cl_ord_id=quote.accept_cl or quote.requested_id,
                account=rfq.account,
                alloc=rfq.alloc_account,
                party=rfq.party_id,
                session_id=quote.accept_session,
                side=side,
                **common,
            )
            self._emit(self._report(creator, _St.NEW, _St.NEW))
        creator.rfq = False
        maker = self._new_order(
            cl_ord_id=quote.quote_id,
            account=quote.account,
            alloc=quote.alloc_account,
            party=None,
            session_id=None,
            side=_SELL if side == _BUY else _BUY,
            **common,
        )
        self._emit(self._report(maker, _St.NEW, _St.NEW))
        self._fill(creator, maker, price, qty)
        self._md_trades[-1].block = True
        quote.state = "executed"
        rfq.accepted = None
        self._close_rfq(rfq, "RFQ_EXECUTED", expired=False)
