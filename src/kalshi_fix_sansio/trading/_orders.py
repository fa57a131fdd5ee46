"""The order model of the tracker: `OrderStatus`, `TrackedOrder`, fills, rejections, positions.

Private: `kalshi_fix_sansio.trading.tracker` exports these names (and documents the rules that move an
order from one state to another); this module holds what an order, a fill and a position are,
`tracker` what a report does to them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from ..codec.errors import FixError
from ..session.events import Event

__all__ = [
    "INFERRED_EXEC_PREFIX",
    "NOT_FOUND",
    "PENDING_EXEC_ID",
    "TERMINAL",
    "ZERO",
    "CollateralChange",
    "Fill",
    "FillInferred",
    "OrderNotFound",
    "OrderParty",
    "OrderRejected",
    "OrderStatus",
    "Position",
    "Rejection",
    "TrackedOrder",
    "ended_unseen",
    "naming_order",
    "says_unknown_order",
]

ZERO = Decimal(0)
PENDING_EXEC_ID = "-1;-1"
NOT_FOUND = "not_found"
"""`Rejection.source` of an order the exchange answered it does not know (see
`says_unknown_order`)."""

_UNKNOWN_ORDER = 1  # CxlRejReason(102) 1: Unknown order


def naming_order(reject: Any, cl_ord_id: str) -> Any:
    """A BusinessMessageReject (35=j) like ``reject`` with ``cl_ord_id`` as its
    BusinessRejectRefID: Kalshi may name the order it refused by RefSeqNum alone (the field is
    optional; its rate-limit reject leaves it out), and the tracker matches a 35=j to its order
    by that ID (else the order stays pending for ever)."""
    return type(reject)(
        ref_seq_num=reject.ref_seq_num,
        text=reject.text,
        ref_tag_id=reject.ref_tag_id,
        ref_msg_type=reject.ref_msg_type,
        business_reject_ref_id=cl_ord_id,
        business_reject_reason=reject.business_reject_reason,
    )


def says_unknown_order(message: Any) -> bool:
    """Whether an OrderCancelReject (35=9) says the exchange holds no such order.

    Kalshi answers a cancel or replace of an order it does not find with CxlRejReason(102) 1,
    "Unknown order" (its order-entry page: not found); the same code also covers a request
    whose OrderID, Side or Symbol do not match the order (Text ``ORDER_ATTRIBUTES_MISMATCH``):
    that one proves nothing about the order, so a Text naming a mismatch is not taken.

    Args:
        message: a decoded 35=9 (any object with ``cxl_rej_reason`` and ``text``).

    Returns:
        True for CxlRejReason 1 without a mismatch in its Text.
    """
    reason = getattr(message, "cxl_rej_reason", None)
    try:
        code = _int(reason)
    except (TypeError, ValueError):
        return False
    if code != _UNKNOWN_ORDER:
        return False
    text = getattr(message, "text", None)
    return not (isinstance(text, str) and "MISMATCH" in text.upper())


_ENDED: Final = frozenset({"2", "4", "C"})  # OrdStatus: filled, canceled, expired


def ended_unseen(message: Any) -> bool:
    """Whether an OrderCancelReject (35=9) says the order it answers was live at the exchange
    and is no longer: its OrdStatus(39) is that of an order that ended (2 filled, 4 canceled,
    C expired), not 8 (Rejected), which answers a request about an order the exchange never
    had. A
    cancel of an order that ended while no report of it was seen (lost with a connection)
    is answered so: unknown order (canceled, expired) or too late (filled)."""
    status = getattr(message, "ord_status", None)
    if status is None:
        return False
    return (status if status.__class__ is str else _code(status)) in _ENDED


class OrderStatus(enum.Enum):
    """The state of one ClOrdID (values are OrdStatus(39) codes)."""

    PENDING_NEW = "A"
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    EXPIRED = "C"
    PENDING_REPLACE = "E"

    # Members are singletons compared by identity: hash them so too (`Enum.__hash__` is
    # Python code, and the tracker tests membership of `TERMINAL` on every report).
    __hash__ = object.__hash__


TERMINAL = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
        OrderStatus.REPLACED,
    }
)
"""States an order never leaves."""

_BY_CODE = {s.value: s for s in OrderStatus}


@attrs.frozen
class CollateralChange:
    """One NoCollateralAmountChanges entry: ``amount`` dollars of ``type`` (BALANCE, PAYOUT)."""

    amount: Decimal
    type: str | None


@attrs.frozen
class Fill:
    """One Trade ExecutionReport (ExecType F).

    Attributes:
        exec_id: ExecID(17), unique.
        cl_ord_id: the order (ClOrdID) the fill belongs to.
        order_id: OrderID(37).
        symbol: Symbol(55).
        side: Side(54) code, ``"1"`` buy / ``"2"`` sell.
        price: LastPx(31) (prediction: the Yes price whatever the side).
        qty: LastQty(32).
        fees: the sum of MiscFeeAmt(137).
        collateral: the collateral changes.
        trd_match_id: TrdMatchID(880).
        aggressor: AggressorIndicator(1057).
        transact_time: TransactTime(60).
    """

    exec_id: str
    cl_ord_id: str
    order_id: str | None
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    fees: Decimal = ZERO
    collateral: tuple[CollateralChange, ...] = ()
    trd_match_id: str | None = None
    aggressor: bool | None = None
    transact_time: Any = None

    @property
    def signed_qty(self) -> Decimal:
        """``qty`` for a buy, ``-qty`` for a sell."""
        return self.qty if self.side == "1" else -self.qty


@attrs.frozen
class Rejection:
    """Why Kalshi refused a request (a new order, a replace or a cancel).

    Attributes:
        cl_ord_id: the request's ClOrdID.
        source: ``"execution_report"`` (150=8), ``"cancel_reject"`` (35=9),
            ``"business_reject"`` (35=j), ``"not_received"`` (no message: a drop-copy
            replay proved the exchange never received the request, see
            `kalshi_fix_sansio.trading.catchup.OrdersNotReceived`; or a halted session gap-filled it
            when the exchange asked for it again, see
            `kalshi_fix_sansio.session.events.ResendWithheld`), or ``"not_found"`` (the order
            itself, never acknowledged: a 35=9 answering its cancel said the exchange does
            not know it, so it was never live; see `kalshi_fix_sansio.trading.tracker.OrderNotFound`).
        text: Text(58).
        reason: OrdRejReason(103), CxlRejReason(102) or BusinessRejectReason(380).
        message: the message itself (for ``"not_found"``: the 35=9).
    """

    cl_ord_id: str
    source: str
    text: str | None
    reason: int | None
    message: Any = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen(slots=True)
class OrderNotFound(Event):
    """An order the exchange does not know, so it was never live: Kalshi answered a cancel (or
    replace) of it with OrderCancelReject (35=9) CxlRejReason 1, unknown order
    (`says_unknown_order`), while it had never acknowledged the order (an order lost in flight
    at a drop never reaches the exchange). The tracker ends it REJECTED with a `Rejection` of
    source ``"not_found"`` (a `place()` waiting for it is answered, the kill switch counts it
    off the book). Should a report of it arrive after all, the report wins
    (`kalshi_fix_sansio.trading.tracker`).

    Attributes:
        cl_ord_id: the order's ClOrdID.
        request: the ClOrdID of the cancel (or replace) Kalshi answered.
        text: Kalshi's Text(58) (``NOT_FOUND`` on the mock gateway), or None.
    """

    cl_ord_id: str
    request: str
    text: str | None


INFERRED_EXEC_PREFIX: Final = "inferred:"
"""The ExecID prefix of a fill the tracker inferred from a CumQty above the fills it saw
(``inferred:<the report's ExecID>``; see `FillInferred`)."""


@attrs.frozen(slots=True)
class FillInferred(Event):
    """A fill the library did not see, inferred: an ExecutionReport of an order the tracker
    knew said CumQty(14) above the fills it had counted (the report of a fill was lost: a
    garbled frame, a gap never filled, a replay that began past it). The tracker counts the
    missing quantity as one fill (ExecID ``inferred:<the report's ExecID>``, in the order's
    ``fills`` and the position) at ``price``, so the position follows the exchange's CumQty;
    should the lost report arrive later after all (a replay, another session's copy), its
    fill replaces that much of the inferred one, at its own price. ``price`` is what AvgPx(6)
    says the missing fills cost (AvgPx x CumQty less the fills seen), else the report's AvgPx,
    else the order's limit price: an estimate, with no fees. With REST reconciliation
    (``rest=``), a round starts (Kalshi's fill list names the real fills); without it,
    reconcile the order from Kalshi's portfolio pages.

    Attributes:
        cl_ord_id: the order's ClOrdID (the version the report was about).
        qty: the quantity inferred (CumQty less the fills seen).
        price: the price it was counted at (see above).
        cum_qty: the report's CumQty.
        exec_id: the ExecID of the report that showed it.
        symbol: the order's Symbol.
        side: the order's Side code (``"1"`` buy, ``"2"`` sell).
    """

    cl_ord_id: str
    qty: Decimal
    price: Decimal
    cum_qty: Decimal
    exec_id: str
    symbol: str
    side: str

    @property
    def text(self) -> str:
        """One line: what was inferred, of which order."""
        return (
            f"order {self.cl_ord_id}: CumQty {self.cum_qty} is {self.qty} above the fills seen "
            f"(report {self.exec_id}): {self.qty} inferred filled at {self.price}, a fill the "
            "library did not see"
        )


@attrs.frozen
class OrderParty:
    """One NoPartyIDs(453) entry of an order: PartyID(448) and PartyRole(452).

    FCM members name the customer account with PartyRole 24 (``<fcm uuid>_<suffix>``); a cancel
    or replace must repeat that entry (order-entry.md §2.3, §3, §4). Reports may add an
    operator entry (PartyRole 12, the SenderSubID captured), which requests do not repeat.
    """

    party_id: str
    party_role: int | None = None


def _parties(entries: Any) -> tuple[OrderParty, ...]:
    """The entries of a Parties group (any dialect's), without the ones with no PartyID."""
    out: list[OrderParty] = []
    for entry in entries:
        party_id = _code(getattr(entry, "party_id", None))
        if party_id is not None:
            out.append(OrderParty(party_id, _int(getattr(entry, "party_role", None))))
    return tuple(out)


class OrderRejected(FixError):
    """Kalshi rejected the request (`place` / `cancel` of the adapters); ``rejection`` says why."""

    def __init__(self, rejection: Rejection) -> None:
        self.rejection = rejection
        super().__init__(
            f"{rejection.cl_ord_id} rejected ({rejection.source}): "
            f"{rejection.text or 'no text'} (reason {rejection.reason})"
        )


@attrs.define(on_setattr=attrs.setters.NO_OP)  # plain attribute writes: the per-report path
class TrackedOrder:
    """One ClOrdID's state (a live object: the tracker updates it; `snapshot` copies it).

    Attributes:
        cl_ord_id: ClOrdID(11).
        status: the `OrderStatus`.
        symbol, side, price, order_qty: the order (side as the code ``"1"`` / ``"2"``).
        cum_qty: CumQty(14), across a replace chain as Kalshi reports it.
        original_qty: the quantity this ClOrdID was for while it was live: OrderQty(38) of the
            request sent or of the reports before it became final; the report that ends it
            does not lower it (a cancel's report carries OrderQty = CumQty unless
            PreserveOriginalOrderQty, so ``order_qty`` of an unfilled canceled order is 0 while
            this stays the quantity ordered). A replacement's is its own quantity.
        avg_px: AvgPx(6) of the last report.
        order_id: OrderID(37).
        orig_cl_ord_id: the ClOrdID this one replaced.
        replaced_by: the ClOrdID that replaced this one.
        group_id: order group: SecondaryClOrdID(526) / OrderGroupID(20130) of the order sent,
            or `OrderTracker.assign_group`. Kalshi's ExecutionReports carry neither, so an
            order known only from reports (a listener's, a drop-copy replay's) has None until
            assigned.
        alloc_account: AllocAccount(79): the subaccount (sent, or from a report); a cancel or
            replace must carry the same.
        parties: the Parties (NoPartyIDs 453: `OrderParty` entries) of the order sent, or of
            its first report that carried them; a cancel or replace must repeat the customer
            account (PartyRole 24). Empty when the order has none (not an FCM order).
        ex_destination: ExDestination(100) of the order sent (prediction: its exchange index);
            None for an order known only from reports (a cancel or replace then auto-routes
            by Symbol).
        fills: this ClOrdID's fills, in arrival order (a tuple).
        text: Text(58) of the last report that carried one.
        rejection: why it was rejected.
        acknowledged: Kalshi reported on it (beyond a pending report).
    """

    cl_ord_id: str
    status: OrderStatus
    symbol: str | None = None
    side: str | None = None
    price: Decimal | None = None
    order_qty: Decimal = ZERO
    cum_qty: Decimal = ZERO
    avg_px: Decimal | None = None
    order_id: str | None = None
    orig_cl_ord_id: str | None = None
    replaced_by: str | None = None
    group_id: str | None = None
    alloc_account: int | None = None
    ex_destination: int | None = None
    _fills: tuple[Fill, ...] = attrs.field(default=(), converter=tuple, alias="fills")
    text: str | None = None
    rejection: Rejection | None = None
    acknowledged: bool = False
    parties: tuple[OrderParty, ...] = ()
    original_qty: Decimal = attrs.field(
        default=attrs.Factory(lambda self: self.order_qty, takes_self=True)
    )
    # The tracker's bookkeeping: the de-duplication keys of the reports applied to this
    # ClOrdID, the request ClOrdIDs (cancels) that are aliases of it, and the arrival number
    # of each of its fills (`OrderTracker.fills` orders by them); dropped with it.
    # Fills and keys are tuples: the garbage collector stops tracking a tuple of strings (the
    # keys) and never tracks the empty one (an order without fills), so an order the tracker
    # keeps costs a full collection one object, not three (docs/maintainers/benchmarks.md, "The tail").
    _keys: tuple[Any, ...] = attrs.field(init=False, default=(), repr=False, eq=False)
    _requests: list[str] | None = attrs.field(init=False, default=None, repr=False, eq=False)
    _fill_seqs: list[int] | None = attrs.field(init=False, default=None, repr=False, eq=False)

    @property
    def fills(self) -> tuple[Fill, ...]:
        """This ClOrdID's fills, in arrival order."""
        return self._fills

    @property
    def leaves_qty(self) -> Decimal:
        """OrderQty - CumQty while live, 0 once terminal."""
        return ZERO if self.terminal else max(self.order_qty - self.cum_qty, ZERO)

    @property
    def terminal(self) -> bool:
        """In a final state."""
        return self.status in TERMINAL

    @property
    def is_open(self) -> bool:
        """Live: not terminal, and not an unacknowledged replacement request."""
        return not self.terminal and (self.acknowledged or self.orig_cl_ord_id is None)

    def snapshot(self) -> TrackedOrder:
        """A copy the tracker will not change."""
        return attrs.evolve(self)  # the fills: a tuple, shared


@attrs.define
class _Trades:
    """A symbol's fills counted by side (signed: Buy +, Sell -; prediction: Yes contracts): the
    counts a tracker `Position` and a P&L account (`kalshi_fix_sansio.trading.pnl.MarketPnL`) both are.

    Attributes:
        symbol: the market.
        bought, sold: contracts bought and sold.
        buy_cost, sell_proceeds: sum of price x quantity per side.
        fees: fees paid.
    """

    symbol: str
    bought: Decimal = ZERO
    sold: Decimal = ZERO
    buy_cost: Decimal = ZERO
    sell_proceeds: Decimal = ZERO
    fees: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        """bought - sold."""
        return self.bought - self.sold

    @property
    def avg_price(self) -> Decimal | None:
        """Average price of the side the position is on (buys when long, sells when short).

        It depends only on the set of fills, not their order (None when flat).
        """
        if self.net > 0:
            return self.buy_cost / self.bought
        if self.net < 0:
            return self.sell_proceeds / self.sold
        return None

    def _add(self, side: str, price: Decimal, qty: Decimal, fees: Decimal) -> None:
        if side == "1":
            self.bought += qty
            self.buy_cost += qty * price
        else:
            self.sold += qty
            self.sell_proceeds += qty * price
        self.fees += fees


@attrs.define
class Position(_Trades):
    """A symbol's position from the tracker's fills: ``bought``, ``sold``, ``buy_cost``,
    ``sell_proceeds``, ``fees``, ``net`` and ``avg_price`` (see the base's conventions)."""

    def add(self, fill: Fill) -> None:
        """Count one fill in the position."""
        self._add(fill.side, fill.price, fill.qty, fill.fees)


def _code(value: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    if isinstance(value, enum.Enum):  # the dialects' enums: their code, a str
        value = value._value_
    return value if value.__class__ is str else str(value)


def _int(value: Any) -> int | None:
    if value is None or value.__class__ is int:
        return value
    return int(value._value_ if isinstance(value, enum.Enum) else value)


def _first(pair: tuple[int, Fill]) -> int:
    return pair[0]


def _exec_position(exec_id: str) -> tuple[int, tuple[int, int]] | None:
    """(exchange index, (clock, event)) of a Kalshi ExecID ``clock;event[;index]``, else None."""
    parts = exec_id.split(";")
    count = len(parts)
    if count != 2 and count != 3:
        return None
    try:
        return (int(parts[2]) if count == 3 else 0), (int(parts[0]), int(parts[1]))
    except ValueError:
        return None


_LIVE_NEW, _LIVE_PARTIAL, _LIVE_FILLED = (
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
)


_new_object = object.__new__


def _sent_order(
    cl_ord_id: str,
    status: OrderStatus,
    symbol: str | None,
    side: str | None,
    price: Decimal | None,
    qty: Decimal,
    orig_cl_ord_id: str | None,
    group_id: str | None,
    alloc_account: int | None,
    ex_destination: int | None,
    parties: tuple[OrderParty, ...],
) -> TrackedOrder:
    """``TrackedOrder(cl_ord_id, status, symbol, side, price, qty, original_qty=qty, ...)``
    for a request sent, its slots written here: attrs' ``__init__`` takes keyword arguments
    (a dict per call) and converts the fills, ~6.5k instructions more per order. Every slot
    is written (tests/test_tracker.py compares it with the attrs-built order)."""
    order: TrackedOrder = _new_object(TrackedOrder)
    order.cl_ord_id = cl_ord_id
    order.status = status
    order.symbol = symbol
    order.side = side
    order.price = price
    order.order_qty = qty
    order.cum_qty = ZERO
    order.avg_px = None
    order.order_id = None
    order.orig_cl_ord_id = orig_cl_ord_id
    order.replaced_by = None
    order.group_id = group_id
    order.alloc_account = alloc_account
    order.ex_destination = ex_destination
    order._fills = ()
    order.text = None
    order.rejection = None
    order.acknowledged = False
    order.parties = parties
    order.original_qty = qty
    order._keys = ()
    order._requests = None
    order._fill_seqs = None
    return order


def _live(order: TrackedOrder) -> OrderStatus:
    """The state of a live order from its quantities."""
    cum = order.cum_qty
    if cum <= 0:
        return _LIVE_NEW
    if cum >= order.order_qty:
        return _LIVE_FILLED
    return _LIVE_PARTIAL


REST_EXEC_PREFIX: Final = "rest:"
"""The ExecID prefix of a fill the tracker counted from Kalshi's REST fill list."""


def counted_from_rest(
    order: TrackedOrder, rest_counted: Mapping[str, Any], cum: Any, match: Any
) -> bool:
    """Whether a FIX or replayed fill report of ``order`` was counted already from REST: its
    TrdMatchID is a REST fill's of the order, or its CumQty is at or below the CumQty REST made
    the order whole up to (``rest_counted``, the tracker's, by ClOrdID)."""
    rest_cum = rest_counted.get(order.cl_ord_id)
    if rest_cum is None:
        return False
    if match is not None:
        for fill in order._fills:
            if fill.trd_match_id == match and fill.exec_id.startswith(REST_EXEC_PREFIX):
                return True
    return isinstance(cum, Decimal) and cum <= rest_cum


def versions(orders: Mapping[str, TrackedOrder], found: TrackedOrder | None) -> list[TrackedOrder]:
    """Every version of the order ``found`` is one of, first to latest, each once: requests
    that name each other in a circle (OrigClOrdID, ``replaced_by``) end the walk, never loop."""
    back: set[str] = set()
    while found is not None and found.cl_ord_id not in back:
        back.add(found.cl_ord_id)
        earlier = orders.get(found.orig_cl_ord_id) if found.orig_cl_ord_id else None
        if earlier is None:
            break
        found = earlier
    out: list[TrackedOrder] = []
    while found is not None and found not in out:
        out.append(found)
        found = orders.get(found.replaced_by) if found.replaced_by else None
    return out
