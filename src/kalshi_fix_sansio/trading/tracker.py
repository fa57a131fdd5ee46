"""Order tracker: ClOrdID -> order state from ExecutionReports and rejects (sans-IO).

`OrderTracker` is fed decoded messages (or session events) and keeps, per ClOrdID, the order's
state, its fills, and per symbol the position built from those fills. It reads no clock, does
no I/O and works the same on prediction and margin messages, fed from an order-entry session,
a listener session or a drop-copy replay (or all of them: duplicates by ExecID are ignored).

    >>> from decimal import Decimal
    >>> from kalshi_fix_sansio import prediction as p
    >>> from kalshi_fix_sansio.trading.tracker import OrderStatus, OrderTracker
    >>> t = OrderTracker()
    >>> _ = t.sent(p.NewOrderSingle(cl_ord_id="o-1", side=p.Side.BUY, order_qty=Decimal(10),
    ...                             ord_type=p.OrdType.LIMIT, price=Decimal("0.42"), symbol="X"))
    >>> t.order("o-1").status is OrderStatus.PENDING_NEW
    True

Rules:

* States: `OrderStatus`. FILLED, CANCELED, REJECTED, EXPIRED and REPLACED are terminal and
  final: a later report never moves an order out of them (its fill, if any, is still counted).
* A replace (ExecType 5) ends the previous ClOrdID as REPLACED and continues the order under
  the new ClOrdID (``orig_cl_ord_id`` / ``replaced_by`` link the chain); so does another
  report of a replacement we sent, its ExecType 5 lost.
* A report whose OrigClOrdID names another order (a cancel's report carries the cancel
  request's ClOrdID in 11 and the order's in 41) updates the order named by OrigClOrdID; the
  request's ClOrdID becomes an alias of it.
* CumQty never decreases; LeavesQty is OrderQty - CumQty while the order is live, 0 after.
  ``order_qty`` is OrderQty(38) of the last report applied; ``original_qty`` is the quantity
  the order was for while live, which the report that ends it does not lower (Kalshi's
  Canceled or Expired report carries OrderQty = CumQty + LeavesQty = CumQty, 0 for an unfilled
  order, unless PreserveOriginalOrderQty(21008)=Y).
* Fills (ExecType F) are kept once per ExecID, with their fees (NoMiscFees) and collateral
  changes (NoCollateralAmountChanges); positions are the signed sum of fills (Buy +, Sell -;
  prediction: Yes contracts, LastPx the Yes price).
* Reports never seen (`kalshi_fix_sansio.trading._missed`): a CumQty above the fills counted is an
  inferred fill (`FillInferred`).
* OrderCancelReject (35=9) and BusinessMessageReject (35=j, BusinessRejectReceived, matched by
  BusinessRejectRefID = ClOrdID) are kept as `Rejection` per request ClOrdID; a rejected new
  order or replacement becomes REJECTED, a pending cancel/replace of the order is undone.
* A 35=9 that says the exchange does not know the order (`says_unknown_order`: CxlRejReason 1,
  Text not a mismatch of the order's attributes) about an order Kalshi never reported on (an
  unacknowledged new order: lost in flight, never received) ends it REJECTED with a
  `Rejection` of source ``"not_found"`` (Kalshi's text): it was never live, unless the 35=9's
  OrdStatus(39) is an order's own (`ended_unseen`: canceled, expired; the order was live and
  ended, its fills not said), which leaves it as it is. A report of that
  order arriving after all (a drop-copy replay, a late acknowledgement) is the exchange's own
  word and wins: the order leaves REJECTED and takes the report's state (its fills count, as
  every fill does). An acknowledged order answered so stays as it is (it was live; how it
  ended is not known until a report says).
* What a cancel (35=F) or replace (35=G) must repeat "as on the original" is kept on the
  order: Symbol, Side, OrderID, AllocAccount(79), the Parties (NoPartyIDs 453) and
  ExDestination(100); from the request sent, else from the first report carrying it, and a
  replacement inherits what its request did not carry from the order it replaces.
* Retention: live orders are always kept; of the final ones, the last ``max_terminal_orders``
  (a replace chain counts once, when its latest version is final), with their fills,
  rejections and request ClOrdIDs. Positions are sums and lose nothing. A report of an evicted
  order arriving again (PossDup resend, drop-copy replay) is recognised and ignored: its
  ExecID is at or below the highest ExecID of the evicted orders of its exchange index
  (Kalshi's ExecIDs ``clock;event[;index]`` are ordered within an index), and its ClOrdID is
  not tracked. `OrderTracker.has_exec_id` answers by the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..codec.errors import LocalProtocolError
from ..session.events import ApplicationMessage, BusinessRejectReceived
from ._collector import untracker
from ._missed import MissedReports
from ._opencounts import OpenCounts
from ._orderfields import (
    REPORT,
    REPORT_READERS,
    REQUEST_READERS,
    Values,
    report_reader,
    request_reader,
)
from ._orders import (
    _BY_CODE,
    INFERRED_EXEC_PREFIX,
    NOT_FOUND,
    PENDING_EXEC_ID,
    TERMINAL,
    ZERO,
    CollateralChange,
    Fill,
    FillInferred,
    OrderNotFound,
    OrderParty,
    OrderRejected,
    OrderStatus,
    Position,
    Rejection,
    TrackedOrder,
    _code,
    _first,
    _int,
    _live,
    _parties,
    _sent_order,
    counted_from_rest,
    ended_unseen,
    says_unknown_order,
    versions,
)
from ._rejects import RejectRules
from ._retention import Retention, _link
from .pnl import MarketPnL, Settlements
from .settlement import SettlementReport

__all__ = [
    "INFERRED_EXEC_PREFIX",
    "NOT_FOUND",
    "TERMINAL",
    "CollateralChange",
    "Fill",
    "FillInferred",
    "OrderNotFound",
    "OrderParty",
    "OrderRejected",
    "OrderStatus",
    "OrderTracker",
    "Position",
    "Rejection",
    "TrackedOrder",
    "ended_unseen",
    "says_unknown_order",
]


DEFAULT_MAX_TERMINAL_ORDERS = 10_000
"""Final orders an `OrderTracker` keeps by default (a replace chain counts once)."""

DEFAULT_MAX_UNORDERED_EXEC_IDS = 50_000
"""Evicted ExecIDs not in Kalshi's ``clock;event[;index]`` form remembered exactly by default."""

# The states as module constants: reading a member off its Enum class costs ~50 ns a time.
_PENDING_NEW = OrderStatus.PENDING_NEW
_NEW = OrderStatus.NEW
_PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED
_FILLED = OrderStatus.FILLED
_REPLACED = OrderStatus.REPLACED
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL
_REJECTED = OrderStatus.REJECTED
_PENDING_REPLACE = OrderStatus.PENDING_REPLACE
# a report's values by position in its reader's tuple (`_orderfields.REPORT`, in that order)
(
    _AGGRESSOR_INDICATOR,
    _ALLOC_ACCOUNT,
    _AVG_PX,
    _CL_ORD_ID,
    _CUM_QTY,
    _EXEC_ID,
    _EXEC_TYPE,
    _LAST_PX,
    _LAST_QTY,
    _ORD_REJ_REASON,
    _ORD_STATUS,
    _ORDER_ID,
    _ORDER_QTY,
    _ORIG_CL_ORD_ID,
    _PRICE,
    _SIDE,
    _SYMBOL,
    _TEXT,
    _TRANSACT_TIME,
    _TRD_MATCH_ID,
) = range(len(REPORT))
_NOT_ANSWERS = frozenset({"A", "6", "E"})  # ExecTypes that do not answer a request: pending
_PENDING = frozenset({_PENDING_CANCEL, _PENDING_REPLACE})


class OrderTracker(RejectRules, MissedReports):
    """ClOrdID -> `TrackedOrder`, fills and positions (see the module docstring).

    Feed it with `on_event` (session events) or `on_message` (decoded messages), and `sent`
    for the orders, replaces and cancels you send.

    Retention (memory stays flat however long the session runs): live orders are never
    evicted. Once more than ``max_terminal_orders`` orders are final, the oldest final one is
    forgotten with its whole replace chain, its fills, rejections and request ClOrdIDs
    (`order`, `fills`, `rejection` no longer return them); positions keep every fill. Its
    reports, if they arrive again, are still recognised (see `has_exec_id`).

    Args:
        max_terminal_orders: final orders kept (a replace chain counts once, when its latest
            version is final), at least 1; None keeps every order (memory grows with the
            number of orders, about 1 KB each).
        max_unordered_exec_ids: ExecIDs of evicted orders that are not in Kalshi's
            ``clock;event[;index]`` form (no watermark applies to them) remembered exactly,
            the most recent first.

    Raises:
        LocalProtocolError: a limit out of range.
    """

    def __init__(
        self,
        *,
        max_terminal_orders: int | None = DEFAULT_MAX_TERMINAL_ORDERS,
        max_unordered_exec_ids: int = DEFAULT_MAX_UNORDERED_EXEC_IDS,
    ) -> None:
        if max_terminal_orders is not None and (
            isinstance(max_terminal_orders, bool)
            or not isinstance(max_terminal_orders, int)
            or max_terminal_orders < 1
        ):
            raise LocalProtocolError(
                f"max_terminal_orders must be an integer >= 1 or None, got {max_terminal_orders!r}"
            )
        if (
            isinstance(max_unordered_exec_ids, bool)
            or not isinstance(max_unordered_exec_ids, int)
            or max_unordered_exec_ids < 0
        ):
            raise LocalProtocolError(
                f"max_unordered_exec_ids must be an integer >= 0, got {max_unordered_exec_ids!r}"
            )
        self._orders: dict[str, TrackedOrder] = {}
        self._alias: dict[str, str] = {}  # request ClOrdID -> the order's ClOrdID
        self._cancels: dict[str, str] = {}  # cancel request ClOrdID -> the order's ClOrdID
        self._rejections: dict[str, Rejection] = {}
        self._seen: set[Any] = set()  # de-duplication keys of the retained orders' reports
        self._answered: set[str] = set()  # ClOrdIDs a non-pending ExecutionReport carried
        self._fill_count = 0  # fills applied: the next fill's arrival number
        self._positions: dict[str, Position] = {}
        self._groups: dict[str, str] = {}  # ClOrdID -> group assigned before its first report
        self._settlements = Settlements()  # MarketSettlementReports -> settled markets
        self.settlements: dict[str, SettlementReport] = self._settlements.reports
        """The assembled settlement of each settled market, by symbol (filled as they come)."""
        self._retention = Retention(  # eviction of final orders: shares the state above
            self._orders,
            self._alias,
            self._cancels,
            self._rejections,
            self._seen,
            self._answered,
            self._groups,
            max_terminal=max_terminal_orders,
            max_unordered=max_unordered_exec_ids,
        )
        self._counts: OpenCounts | None = None  # kept once `open_counts` is called
        self.rest_counted: dict[str, Any] = {}
        """ClOrdID -> the CumQty up to which Kalshi's REST fills made the order whole
        (`kalshi_fix_sansio.rest.reconcile`): a FIX or replayed fill of it at or below that CumQty
        was counted already (set by a reconciliation only)."""
        self.queue: dict[str, tuple[Any, float]] = {}
        """ClOrdID -> (contracts ahead, when read) of the resting orders, as Kalshi's queue
        positions last said (`set_queue_positions`; a ``DeskWatch`` keeps it current); read one
        with `queue_ahead`."""
        self._owed: dict[str, Any] = {}  # ClOrdID -> CumQty fills were inferred up to
        self.inferred: list[FillInferred] = []
        """`FillInferred` not yet taken (a session's driver takes and queues each at once; fed
        by hand, they stay until the list is cleared)."""
        # Orders are records of atoms in no reference cycle: the collector need not walk them
        # (`_collector`; a full collection over a million live orders took 1.5 s).
        self._untrack = untracker()
        self.max_terminal_orders = max_terminal_orders
        """Final orders kept (a replace chain counts once); None: every order is kept."""
        self.max_unordered_exec_ids = max_unordered_exec_ids
        """Evicted ExecIDs not in Kalshi's ``clock;event[;index]`` form remembered exactly."""

    # -- queries ---------------------------------------------------------------------------

    def order(self, cl_ord_id: str) -> TrackedOrder | None:
        """The order of a ClOrdID (a cancel request's ClOrdID gives the order it cancels)."""
        found = self._orders.get(cl_ord_id)
        if found is None and cl_ord_id in self._alias:
            found = self._orders.get(self._alias[cl_ord_id])
        return found

    def current(self, cl_ord_id: str) -> TrackedOrder | None:
        """The latest version of an order, following ``replaced_by``."""
        found = self.order(cl_ord_id)
        while found is not None and found.replaced_by is not None:
            found = self._orders.get(found.replaced_by)
        return found

    def chain(self, cl_ord_id: str) -> list[TrackedOrder]:
        """Every version of an order, first to latest (`_orders.versions`)."""
        return versions(self._orders, self.order(cl_ord_id))

    def rejection(self, cl_ord_id: str) -> Rejection | None:
        """Why the request with this ClOrdID was rejected, if it was."""
        return self._rejections.get(cl_ord_id)

    def answered(self, cl_ord_id: str) -> bool:
        """An ExecutionReport (not a pending one) carried this ClOrdID, or it was rejected."""
        return cl_ord_id in self._answered or cl_ord_id in self._rejections

    def has_exec_id(self, exec_id: str) -> bool:
        """Whether a report with this ExecID was already applied (a copy of it would change
        nothing), evicted orders included.

        Exact for the orders kept. For evicted orders: True for every ExecID of theirs; in
        Kalshi's form ``clock;event[;index]`` by the watermark (at or below the highest ExecID
        of an evicted order on that exchange index, so also for an ExecID below it that this
        tracker never saw), otherwise while it is among the last ``max_unordered_exec_ids``
        remembered. Pending reports share ExecID ``-1;-1``, which identifies none: False.
        """
        if exec_id == PENDING_EXEC_ID:
            return False
        return exec_id in self._seen or exec_id in self._retention.forgotten

    @property
    def orders(self) -> dict[str, TrackedOrder]:
        """Every tracked ClOrdID (a copy of the mapping; the orders are live)."""
        return dict(self._orders)

    def open_orders(self, symbol: str | None = None) -> list[TrackedOrder]:
        """Live orders (`TrackedOrder.is_open`), optionally of one symbol."""
        return [
            o for o in self._orders.values() if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def queue_ahead(self, cl_ord_id: str) -> Any:
        """The contracts ahead of a resting order (a ``Decimal``) as Kalshi's queue positions
        last said; None when not read, or when the order is no longer open."""
        known = self.queue.get(cl_ord_id)
        order = self._orders.get(cl_ord_id)
        if known is None or order is None or not order.is_open:
            return None
        return known[0]

    def set_queue_positions(self, positions: Iterable[Any], now: float) -> list[str]:
        """Take Kalshi's queue positions (each with ``order_id`` and ``ahead``,
        `kalshi_fix_sansio.rest.desk.QueuePosition`) read at ``now``: they replace those held
        (an order not listed rests no more). Returns the order ids no open order carries."""
        by_id = {o.order_id: o.cl_ord_id for o in self._orders.values() if o.is_open}
        queue: dict[str, tuple[Any, float]] = {}
        strangers = []
        for position in positions:
            cl = by_id.get(position.order_id)
            if cl is None:
                strangers.append(position.order_id)
            else:
                queue[cl] = (position.ahead, now)
        self.queue = queue
        return strangers

    def open_counts(self) -> OpenCounts:
        """Live orders and their leaves per symbol and for the account, kept from now on as
        every change is applied (`kalshi_fix_sansio.trading._opencounts.OpenCounts`: each read and each
        change O(1), whatever the tracker holds). The first call counts the orders held once;
        later calls return the same object. A `kalshi_fix_sansio.trading.risk.RiskChecker` calls it: a
        tracker nobody asks keeps no counts and pays nothing for them."""
        counts = self._counts
        if counts is None:
            counts = self._counts = self._retention.counts = OpenCounts(self._orders.values())
        return counts

    def group(self, group_id: str) -> list[TrackedOrder]:
        """The orders of an order group (SecondaryClOrdID 526 of the order sent, or
        `assign_group`), replacements included."""
        return [o for o in self._orders.values() if o.group_id == group_id]

    def assign_group(self, cl_ord_id: str, group_id: str) -> None:
        """Record that an order belongs to an order group, for an order this tracker did not
        see sent: Kalshi's ExecutionReports (live, listener or drop-copy replay) do not carry
        the group, so learn it where it is known (the process that sent the order, or Kalshi's
        REST order list). The order's replacements, earlier and later, are in the group too; a
        ClOrdID not tracked yet gets it when its first report arrives.

        Raises:
            LocalProtocolError: the order is already in another group.
        """
        order = self.order(cl_ord_id)
        if order is None:
            if cl_ord_id not in self._groups:
                self._retention.loosen(cl_ord_id)
            self._groups[cl_ord_id] = group_id
            return
        versions = self.chain(order.cl_ord_id)
        other = {o.group_id for o in versions} - {None, group_id}
        if other:
            raise LocalProtocolError(
                f"order {cl_ord_id!r} is already in order group {other.pop()!r}, not {group_id!r}"
            )
        for version in versions:
            version.group_id = group_id

    @property
    def fills(self) -> tuple[Fill, ...]:
        """Every fill of the orders kept, once each, in arrival order."""
        numbered = [
            pair
            for o in self._orders.values()
            if o._fill_seqs
            for pair in zip(o._fill_seqs, o._fills, strict=True)
        ]
        numbered.sort(key=_first)
        return tuple(fill for _, fill in numbered)

    def position(self, symbol: str) -> Position:
        """The position in a symbol (flat when nothing filled)."""
        return self._positions.get(symbol) or Position(symbol)

    @property
    def positions(self) -> dict[str, Position]:
        """Positions of every symbol with a fill."""
        return dict(self._positions)

    def pnl(self, symbol: str, **funding: Any) -> MarketPnL:
        """A market's profit and loss (`kalshi_fix_sansio.trading.pnl.MarketPnL`): its fills and fees,
        closed at the settlement price once its MarketSettlementReport (35=UMS, every page)
        arrived; ``.unrealized_at(book)`` marks the open position to a book's mid. Its
        ``fills`` counts the fills of the orders still kept (see ``max_terminal_orders``).
        ``funding=``, ``now=``, ``rebates=``, ``corporate=``: perps funding and margin
        corporate actions up to ``now``, and each fill's rebate
        (`Settlements.account <kalshi_fix_sansio.trading.pnl.Settlements.account>`). A ticker
        change among the corporate actions moves the account: ``symbol``, old or new, gives
        the market's one account under its ticker at ``now``, of the fills under every ticker
        it traded under (`CorporateActions.names
        <kalshi_fix_sansio.trading.corporate.CorporateActions.names>`)."""
        corporate, now = funding.get("corporate"), funding.get("now")
        names = (symbol,) if corporate is None or now is None else corporate.names(symbol, now)
        fills = [f for o in self._orders.values() for f in o._fills if f.symbol in names]
        position = self.position(symbol)
        if len(names) > 1:  # one market under its tickers: one position, under the last
            position = Position(names[-1])
            for name in names:
                held = self.position(name)
                position.bought += held.bought
                position.sold += held.sold
                position.buy_cost += held.buy_cost
                position.sell_proceeds += held.sell_proceeds
                position.fees += held.fees
        return self._settlements.account(position, fills, **funding)

    def __iter__(self) -> Iterator[TrackedOrder]:
        return iter(list(self._orders.values()))

    def __len__(self) -> int:
        return len(self._orders)

    # -- input -----------------------------------------------------------------------------

    def sent(self, message: Any) -> TrackedOrder | None:
        """Record a request you send: NewOrderSingle (pending new), OrderCancelReplaceRequest
        (the new ClOrdID, pending replace of OrigClOrdID) or OrderCancelRequest.

        Returns:
            The new order's record (None for a cancel or another message type).

        Raises:
            LocalProtocolError: the ClOrdID is already tracked (a rejected one may be reused).
        """
        msg_type = getattr(message, "MSG_TYPE", None)
        if msg_type != "D" and msg_type != "G" and msg_type != "F":
            return None
        # Its fields at once (`_orderfields.REQUEST`); a field a request class does not have
        # (OrigClOrdID on 35=D, Price on 35=F...) reads None.
        read = REQUEST_READERS.get(message.__class__) or request_reader(message.__class__)
        (
            alloc_account,
            cl,
            ex_destination,
            order_group_id,
            qty,
            orig,
            parties,
            price,
            secondary_cl_ord_id,
            side,
            symbol,
        ) = read(message)
        if cl.__class__ is not str:
            cl = _code(cl)
            if cl is None:
                return None
        existing = self._orders.get(cl)
        if (existing is not None and existing.status is not _REJECTED) or cl in self._cancels:
            raise LocalProtocolError(f"ClOrdID {cl!r} is already tracked: use a new one")
        if cl in self._rejections:
            del self._rejections[cl]
        if orig is not None and orig.__class__ is not str:
            orig = _code(orig)
        if msg_type == "F":
            if orig is not None:
                self._cancels[cl] = orig
                self._alias[cl] = orig
                target = self._orders.get(orig)
                if target is not None:
                    _link(target, cl)
                else:
                    self._retention.loosen(cl)
            return None
        previous = self.order(orig) if orig is not None else None
        group = secondary_cl_ord_id or order_group_id
        if not group:
            group = previous.group_id if previous is not None else None
        qty = qty or ZERO
        order = _sent_order(
            cl,
            _PENDING_NEW if msg_type == "D" else _PENDING_REPLACE,
            symbol if symbol.__class__ is str else _code(symbol),
            side if side.__class__ is str else _code(side),
            price,
            qty,
            orig,
            group if group is None or group.__class__ is str else _code(group),
            None if alloc_account is None else _int(alloc_account),
            None if ex_destination is None else _int(ex_destination),
            _parties(parties) if parties else (),
        )
        if previous is not None:
            order.cum_qty = previous.cum_qty
            order.price = order.price if order.price is not None else previous.price
            for attr in ("alloc_account", "ex_destination"):
                if getattr(order, attr) is None:
                    setattr(order, attr, getattr(previous, attr))
            if not order.parties:
                order.parties = previous.parties
        if existing is not None:  # a rejected ClOrdID sent again: its bookkeeping carries over
            order._keys = existing._keys
            order._requests = existing._requests
        self._orders[cl] = order
        self._untrack(order)
        if self._counts is not None:
            self._counts.update(order)
        return order

    def discard(self, cl_ord_id: str) -> None:
        """Forget a request that could not be sent (only if Kalshi never reported on it)."""
        order = self._orders.get(cl_ord_id)
        if order is not None and not order.acknowledged and not order._fills:
            del self._orders[cl_ord_id]
            self._seen.difference_update(order._keys)
            if self._counts is not None:
                self._counts.drop(cl_ord_id)
        if self._cancels.pop(cl_ord_id, None) is not None:
            target = self._orders.get(self._alias.pop(cl_ord_id, ""))
            if target is not None and target._requests and cl_ord_id in target._requests:
                target._requests.remove(cl_ord_id)

    def on_event(self, event: Any) -> None:
        """Feed a session event: ApplicationMessage and BusinessRejectReceived (a `RateLimited`
        too) are used."""
        if event.__class__ is ApplicationMessage:  # every message the driver reads: one call
            message = event.message
            msg_type = message.MSG_TYPE
            if msg_type == "8":
                self._execution_report(message)
            elif msg_type == "9" or msg_type == "j" or msg_type == "UMS":
                self.on_message(message)
        elif isinstance(event, (ApplicationMessage, BusinessRejectReceived)):
            self.on_message(event.message)

    def on_messages(self, messages: Iterable[Any]) -> None:
        """Feed several decoded messages, in order."""
        for message in messages:
            self.on_message(message)

    def on_message(self, message: Any) -> None:
        """Feed one decoded message: 35=8, 35=9, 35=j and 35=UMS are used, others ignored."""
        msg_type = getattr(message, "MSG_TYPE", None)
        if msg_type == "8":
            self._execution_report(message)
        elif msg_type == "9":
            self._cancel_reject(message)
        elif msg_type == "j":
            self._business_reject(message)
        elif msg_type == "UMS":
            self._settlements.on_message(message)

    # -- ExecutionReport -------------------------------------------------------------------

    def _execution_report(self, message: Any) -> None:
        """Apply a report."""
        # The report's plain fields are read at once (`_orderfields.REPORT`, by position); its
        # groups through their properties. Codes are compared as they come: the dialects' enums
        # are str enums, equal to (and hashed as) their codes; anything else becomes its code.
        read = REPORT_READERS.get(message.__class__) or report_reader(message.__class__)
        v = read(message)
        exec_id = v[_EXEC_ID]
        if exec_id is None:
            return
        if exec_id.__class__ is not str:
            exec_id = _code(exec_id) or ""  # (never "": a value has a code)
        cl = v[_CL_ORD_ID]
        if cl is None:
            return
        if cl.__class__ is not str:
            cl = _code(cl) or ""  # (never "")
        exec_type = v[_EXEC_TYPE]
        if exec_type is not None and not isinstance(exec_type, str):
            exec_type = _code(exec_type)
        key: Any = exec_id
        if exec_id == PENDING_EXEC_ID:  # pending reports share this ExecID
            key = (exec_id, cl, exec_type or "")
        seen = self._seen
        if key in seen:
            return
        orig = v[_ORIG_CL_ORD_ID]
        if orig is not None and orig.__class__ is not str:
            orig = _code(orig)
        orders = self._orders
        retention = self._retention
        if (
            retention.evicted
            and cl not in orders
            and retention.replay_of_evicted(message, cl, orig, exec_id)
        ):
            return
        code = v[_ORD_STATUS]
        status = _BY_CODE.get(code)
        if status is None and code is not None:
            status = _BY_CODE.get(_code(code) or "")
        if exec_type not in _NOT_ANSWERS:
            self._answered.add(cl)
        if exec_type == "5" or (status is _REPLACED and orig is not None and orig != cl):
            order = self._replaced(cl, orig, v, message)
            status = None  # the new version's state comes from its quantities
        elif orig is not None and orig != cl:
            placeholder = orders.get(cl)
            if (
                placeholder is not None
                and not placeholder.acknowledged
                and placeholder.orig_cl_ord_id == orig
            ):
                del orders[cl]  # a replacement answered by a cancel (new qty = filled)
            else:
                placeholder = None
            order = self._get(orig, v, message)
            if placeholder is not None:
                order._keys += placeholder._keys
            self._alias[cl] = orig
            _link(order, cl)
        else:
            target = self._alias.get(cl, cl)  # `_get`, inline: an order's own report
            order = orders.get(target) or self._new(target, _PENDING_NEW)
            if (
                order.symbol is None
                or order.side is None
                or v[_ALLOC_ACCOUNT] is not None
                or (not order.parties and getattr(message, "parties", None))
            ):  # something to learn
                self._learn(order, v, message)
        seen.add(key)
        order._keys += (key,)
        final = order.status in TERMINAL
        self._apply(order, v, message, exec_type, status)
        counts = self._counts
        if counts is not None:  # what this report touched: the order, the one it names
            counts.update(order)
            if orig is not None and orig != order.cl_ord_id:
                named = orders.get(orig)
                if named is not None:
                    counts.update(named)
            if cl != order.cl_ord_id and cl not in orders:
                counts.drop(cl)  # a replacement answered by a cancel: an alias now
        if not final and order.status in TERMINAL:
            self._retention.finished(order)

    def _new(self, cl: str, status: OrderStatus, **fields: Any) -> TrackedOrder:
        """An order first seen in a report (not sent by us: a listener's, a replay's)."""
        order = self._orders[cl] = TrackedOrder(
            cl, status, group_id=self._groups.pop(cl, None), **fields
        )
        self._untrack(order)
        return order

    def _get(self, cl: str, v: Values, message: Any) -> TrackedOrder:
        order = self._orders.get(cl)
        if order is None:  # not sent by us: a listener or drop-copy session's report
            order = self._new(cl, _PENDING_NEW)
        self._learn(order, v, message)
        return order

    @staticmethod
    def _learn(order: TrackedOrder, v: Values, message: Any) -> None:
        """Take from a report what the order does not know yet (what the next request repeats)."""
        if order.symbol is None:
            order.symbol = _code(v[_SYMBOL])
        if order.side is None:
            order.side = _code(v[_SIDE])
        if order.alloc_account is None:
            value = v[_ALLOC_ACCOUNT]
            if value is not None:
                order.alloc_account = _int(value)
        if not order.parties:
            parties = getattr(message, "parties", None)  # typed on first read
            if parties:
                order.parties = _parties(parties)

    def _replaced(self, cl: str, orig: str | None, v: Values, message: Any) -> TrackedOrder:
        new = self._orders.get(cl)
        if new is None:
            new = self._new(cl, _PENDING_REPLACE, orig_cl_ord_id=orig)
        new.orig_cl_ord_id = orig
        if orig is not None:
            old = self._orders.get(orig)
            if old is None:
                old = self._new(orig, _REPLACED, acknowledged=True)
                self._learn(old, v, message)
            old.replaced_by = cl
            if not old.terminal:
                old.status = _REPLACED
            for attr in (
                "symbol",
                "side",
                "group_id",
                "order_id",
                "alloc_account",
                "ex_destination",
            ):
                if getattr(new, attr) is None:
                    setattr(new, attr, getattr(old, attr))
            if not new.parties:
                new.parties = old.parties
            if old.group_id is None:
                old.group_id = new.group_id  # assigned to the replacement before it was seen
            new.cum_qty = max(new.cum_qty, old.cum_qty)
        self._learn(new, v, message)
        return new

    def _apply(
        self,
        order: TrackedOrder,
        v: Values,
        message: Any,
        exec_type: str | None,
        status: OrderStatus | None,
    ) -> None:
        filled = None  # the quantity of the fill this report counted
        if exec_type == "F" and v[_LAST_QTY] is not None and v[_LAST_PX] is not None:
            rest = self.rest_counted  # orders REST reconciliation made whole (rarely any)
            if not rest or not counted_from_rest(order, rest, v[_CUM_QTY], v[_TRD_MATCH_ID]):
                self._fill(order, v, message)
                filled = v[_LAST_QTY]
                if self._owed and v[_CUM_QTY] is not None:  # of its chain: a replace's too
                    self._late(order, v[_CUM_QTY], filled)  # it may be a fill inferred before
        if status is _REJECTED or exec_type == "8":
            rejection = Rejection(
                order.cl_ord_id, "execution_report", v[_TEXT], _int(v[_ORD_REJ_REASON]), message
            )
            self._rejections.setdefault(order.cl_ord_id, rejection)
            if not order.terminal:
                order.rejection = rejection
        if order.status in TERMINAL:
            ended = order.rejection
            if (
                ended is None
                or ended.source != NOT_FOUND
                or exec_type in _NOT_ANSWERS
                or status is _REJECTED
                or exec_type == "8"
            ):
                return  # final: quantities and state stay as they were
            # the exchange reports an order its 35=9 said it did not know: its report wins
            order.status, order.rejection = _PENDING_NEW, None
            self._rejections.pop(order.cl_ord_id, None)
        value = v[_ORDER_ID]
        if value is not None:
            order.order_id = value if value.__class__ is str else _code(value)
        if status is not _PENDING_NEW:
            order.acknowledged = True
        cum = order.cum_qty
        value = v[_CUM_QTY]
        if value is not None and value > cum:
            if (filled is None or value - cum > filled) and order.original_qty:
                self._infer(order, v, value - cum - (filled or ZERO))  # a fill missed
            order.cum_qty = cum = value
        qty = v[_ORDER_QTY]
        if qty is None:
            qty = order.order_qty
        if cum > qty:
            qty = cum
        order.order_qty = qty
        if status not in TERMINAL or qty >= order.original_qty:  # the ending report never lowers it
            order.original_qty = qty
        value = v[_PRICE]
        if value is not None:
            order.price = value
        value = v[_AVG_PX]
        if value is not None:
            order.avg_px = value
        value = v[_TEXT]
        if value is not None:
            order.text = value
        if order.status is _PENDING_REPLACE and status is not _REJECTED and exec_type != "8":
            self._took_effect(order, exec_type)  # its own report: the replace took effect
        if status in TERMINAL:
            order.status = status  # (None is not in TERMINAL)
        elif status is _PENDING_NEW:
            pass  # never a step back
        elif status in _PENDING:
            order.status = status
        else:  # New, Partially Filled, a replacement's report, or a status we do not know
            order.status = _live(order)

    def _fill(self, order: TrackedOrder, v: Values, message: Any) -> None:
        fees = ZERO
        entries = getattr(message, "misc_fees", None)
        if entries is not None:
            for fee in entries:
                amount = fee.misc_fee_amt
                if amount is not None:
                    fees += amount
        collateral: tuple[CollateralChange, ...] = ()
        entries = getattr(message, "collateral_amount_changes", None)
        if entries is not None:
            collateral = tuple(
                [
                    CollateralChange(c.collateral_amount_change, _code(c.collateral_amount_type))
                    for c in entries
                    if c.collateral_amount_change is not None
                ]
            )
        symbol = order.symbol or _code(v[_SYMBOL]) or ""
        side = order.side or _code(v[_SIDE]) or "1"
        price, qty = v[_LAST_PX], v[_LAST_QTY]
        exec_id, order_id, match = v[_EXEC_ID], v[_ORDER_ID], v[_TRD_MATCH_ID]
        fill = Fill(
            exec_id if exec_id.__class__ is str else _code(exec_id) or "",
            order.cl_ord_id,
            order_id if order_id.__class__ is str else _code(order_id),
            symbol,
            side,
            price,
            qty,
            fees,
            collateral,
            match if match.__class__ is str else _code(match),
            v[_AGGRESSOR_INDICATOR],
            v[_TRANSACT_TIME],
        )
        order._fills += (fill,)
        # Kept as long as its order, and as free of cycles: out of the collector's walk too.
        # (A tuple holding a record stays tracked whatever the record: it is untracked here.)
        untrack = self._untrack
        for record in (fill, order._fills, collateral, *collateral):
            untrack(record)
        count = self._fill_count
        if order._fill_seqs is None:
            order._fill_seqs = [count]
        else:
            order._fill_seqs.append(count)
        self._fill_count = count + 1
        position = self._positions.get(symbol)
        if position is None:
            position = self._positions[symbol] = Position(symbol)
        position._add(side, price, qty, fees)
