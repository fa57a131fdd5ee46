"""Request builders: correct Kalshi requests, refused locally before anything is sent.

`Requests` builds the client-to-Kalshi messages of one product and session type: market data
(MarketDataRequest subscribe / snapshot / unsubscribe, SecurityStatusRequest), order groups
(create / reset / delete / trigger / update limit), mass cancel, drop-copy EventResendRequest
ranges, RFQ (create, quote, accept, confirm, cancel quote, cancel RFQ) and orders (new order,
cancel and cancel/replace from an order). Every rule the reference pages state that can be
checked locally is checked, and a broken one raises `RequestError` naming the field and the
rule; the message returned is then sent with ``Session.send`` (or an adapter) as usual. Value
ranges (prices, ticks, quantities, ClOrdIDs, AllocAccount...) come from the one table that
``Session.send`` also applies, `kalshi_fix_sansio.codec.ranges` (from ``spec/ranges.yaml``); a value
outside them raises its `ValueRangeError <kalshi_fix_sansio.codec.ranges.ValueRangeError>`, a
`RequestError`.

`ClOrdIDGenerator` makes ClOrdIDs that meet Kalshi's rules (at most 64 characters of
letters, digits and ``- _ : + = /``; UUIDs preferred).

Examples:
    >>> from decimal import Decimal
    >>> from kalshi_fix_sansio.trading.builders import Requests
    >>> rq = Requests("prediction", "KalshiNR")
    >>> order = rq.new_order("HIGHNY-23DEC31", "buy", Decimal(10), Decimal("0.75"),
    ...                      cl_ord_id="o-1")
    >>> order.price, order.time_in_force
    (Decimal('0.75'), <TimeInForce.GTC: '1'>)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from ..codec import Message, dialect
from ..codec.ranges import RequestError, rules_for
from ..codec.spec import SESSIONS, SessionSpec
from ._requests_core import CLORDID_MAX_LENGTH, ClOrdIDGenerator, _value, check_cl_ord_id
from ._requests_rfq import RfqRequests

__all__ = [
    "CLORDID_MAX_LENGTH",
    "MAX_ORDER_GROUP_LIMIT",
    "MAX_SYMBOLS_PER_REQUEST",
    "ClOrdIDGenerator",
    "OrderLike",
    "RequestError",
    "Requests",
    "TickGrid",
    "check_cl_ord_id",
]

MAX_ORDER_GROUP_LIMIT: int = int(
    next(
        r.max
        for r in rules_for("OrderGroupContractsLimit", "UOG", "prediction")
        if r.max is not None
    )
)
"""OrderGroupContractsLimit(20132) range is 1-1,000,000 (Kalshi's Order Groups page; ``spec/ranges.yaml``)."""

MAX_SYMBOLS_PER_REQUEST = 1_000
"""Unique symbols per snapshot / subscription request (Kalshi's Market Data page, since 2026-09-03)."""

_EXEC_ID = re.compile(r"(\d+);(\d+)(?:;(\d+))?")  # drop-copy.md §1: clock;event[;index]


class TickGrid(Protocol):
    """A market's price grid (`kalshi_fix_sansio.rest.instruments.MarketInfo`): the step at a
    price, None outside its ranges. A builder's ``tick`` takes one: the price is checked on
    the market's own grid (its ``price_ranges`` from Kalshi's REST API)."""

    def tick_at(self, price: Decimal) -> Decimal | None: ...


class OrderLike(Protocol):
    """What cancel / replace need from an order: a NewOrderSingle, an OrderCancelReplaceRequest,
    an ExecutionReport, or a tracker's `TrackedOrder <kalshi_fix_sansio.trading.tracker.TrackedOrder>`
    (its OrderID, AllocAccount, Parties, ExDestination, price and quantity are used too when
    present)."""

    @property
    def cl_ord_id(self) -> str | None: ...

    @property
    def side(self) -> Any: ...

    @property
    def symbol(self) -> str | None: ...


class Requests(RfqRequests):
    """Builds the requests one session type of one product sends.

    Args:
        product: ``"prediction"`` or ``"margin"``.
        session_type: the Kalshi session type (TargetCompID): KalshiNR, KalshiRT, KalshiDC,
            KalshiRFQ, KalshiMD (``kalshi_fix_sansio.codec.spec.SESSIONS`` lists what each sends).
        use_dollars: the session logs on with UseDollars(21005)=Y (prediction; margin always
            uses dollars). Sets the default price tick: a cent without, $0.0001 with.
        listener: a listener session (ListenerSession 20126=Y): order entry is refused.
        cl_ord_ids: where ClOrdIDs come from when a builder is not given one.

    Raises:
        RequestError: unknown product or session type.
    """

    def __init__(
        self,
        product: str = "prediction",
        session_type: str = "KalshiNR",
        *,
        use_dollars: bool = False,
        listener: bool = False,
        cl_ord_ids: Callable[[], str] | None = None,
    ) -> None:
        spec = SESSIONS.get((product, session_type))
        if spec is None:
            known = sorted({f"{p}/{s}" for p, s in SESSIONS})
            raise RequestError(
                "?",
                "session_type",
                None,
                f"unknown product/session type {product}/{session_type}",
                f"known: {', '.join(known)}",
            )
        self.product = product
        self.session_type = session_type
        self.spec: SessionSpec = spec
        self.dialect = dialect(product)
        self.use_dollars = use_dollars or product == "margin"
        self.listener = listener
        self.cl_ord_ids = cl_ord_ids or ClOrdIDGenerator()

    # -- market data -----------------------------------------------------------------------

    def _symbols(self, symbols: str | Iterable[str], mt: str) -> list[str]:
        items = [symbols] if isinstance(symbols, str) else list(symbols)
        seen: dict[str, None] = {}
        for s in items:
            seen[self._text(s, mt, "Symbol", 55) or ""] = None
        if not seen:
            raise RequestError(mt, "NoRelatedSym", 146, "at least one symbol")
        if len(seen) > MAX_SYMBOLS_PER_REQUEST:
            raise RequestError(
                mt,
                "NoRelatedSym",
                146,
                f"at most {MAX_SYMBOLS_PER_REQUEST} unique symbols",
                str(len(seen)),
            )
        return list(seen)

    def _md(self, kind: str, symbols: str | Iterable[str] | None) -> Message:
        self._carried("V", "MarketDataRequest")
        group = self.dialect.MarketDataRequestRelatedSym
        related = (
            None if symbols is None else [group(symbol=s) for s in self._symbols(symbols, "V")]
        )
        return self._build(
            "MarketDataRequest",
            subscription_request_type=self.dialect.SubscriptionRequestType(kind),
            related_sym=related,
        )

    def subscribe(self, symbols: str | Iterable[str]) -> Message:
        """MarketDataRequest (35=V) ``263=1``: snapshot plus updates for up to 1,000 symbols."""
        return self._md("1", symbols)

    def snapshot(self, symbols: str | Iterable[str]) -> Message:
        """MarketDataRequest (35=V) ``263=0``: one snapshot per symbol (up to 1,000)."""
        return self._md("0", symbols)

    def unsubscribe(self, symbols: str | Iterable[str] | None = None) -> Message:
        """MarketDataRequest (35=V) ``263=2``: stop the listed symbols; none = every subscription
        of the session (NoRelatedSym(146) omitted)."""
        return self._md("2", symbols)

    def security_status(self, symbol: str, *, subscribe: bool = True) -> Message:
        """SecurityStatusRequest (35=e, prediction KalshiMD): subscribe (``263=1``) to or
        unsubscribe (``263=2``) from one market's status changes."""
        self._carried("e", "SecurityStatusRequest")
        return self._build(
            "SecurityStatusRequest",
            subscription_request_type=self.dialect.SubscriptionRequestType(
                "1" if subscribe else "2"
            ),
            symbol=self._text(symbol, "e", "Symbol", 55),
        )

    # -- order groups ----------------------------------------------------------------------

    def _existing_group(
        self, action: int, group_id: str, alloc_account: int | None, ex_destination: int | None
    ) -> Message:
        """An OrderGroupRequest acting on an existing group (its id must be a UUID)."""
        group = self._uuid(group_id, "UOG", "OrderGroupID", 20130)
        return self._group(action, group, None, alloc_account, ex_destination)

    def _group(
        self,
        action: int,
        group_id: str | None,
        limit: int | None,
        alloc_account: int | None,
        ex_destination: int | None,
    ) -> Message:
        self._carried("UOG", "OrderGroupRequest")
        if self.product == "margin" and (alloc_account is not None or ex_destination is not None):
            raise RequestError(
                "UOG",
                "AllocAccount" if alloc_account is not None else "ExDestination",
                79 if alloc_account is not None else 100,
                "not documented on margin order groups",
            )
        # OrderGroupContractsLimit 1-1,000,000, ExDestination >= 0: spec/ranges.yaml (_build)
        return self._build(
            "OrderGroupRequest",
            order_group_action=self.dialect.OrderGroupAction(action),
            order_group_id=None
            if group_id is None
            else self._uuid(group_id, "UOG", "OrderGroupID", 20130),
            order_group_contracts_limit=limit,
            alloc_account=self._alloc(alloc_account, "UOG"),
            ex_destination=ex_destination,
        )

    def create_order_group(
        self, limit: int, *, alloc_account: int | None = None, ex_destination: int | None = None
    ) -> Message:
        """OrderGroupRequest (35=UOG) Create (``20131=1``): a group with a contracts limit
        1-1,000,000; Kalshi returns the id in 35=UOH."""
        if limit is None:
            raise RequestError("UOG", "OrderGroupContractsLimit", 20132, "required on Create")
        return self._group(1, None, limit, alloc_account, ex_destination)

    def reset_order_group(
        self, group_id: str, *, alloc_account: int | None = None, ex_destination: int | None = None
    ) -> Message:
        """OrderGroupRequest Reset (``20131=2``): clear the triggered state and rolling counter."""
        return self._existing_group(2, group_id, alloc_account, ex_destination)

    def delete_order_group(
        self, group_id: str, *, alloc_account: int | None = None, ex_destination: int | None = None
    ) -> Message:
        """OrderGroupRequest Delete (``20131=3``): remove the group, cancelling its orders."""
        return self._existing_group(3, group_id, alloc_account, ex_destination)

    def trigger_order_group(
        self, group_id: str, *, alloc_account: int | None = None, ex_destination: int | None = None
    ) -> Message:
        """OrderGroupRequest Trigger (``20131=4``): cancel the group's orders, block new ones."""
        return self._existing_group(4, group_id, alloc_account, ex_destination)

    def update_order_group_limit(
        self,
        group_id: str,
        limit: int,
        *,
        alloc_account: int | None = None,
        ex_destination: int | None = None,
    ) -> Message:
        """OrderGroupRequest Update (``20131=5``): a new contracts limit (1-1,000,000)."""
        if limit is None:
            raise RequestError("UOG", "OrderGroupContractsLimit", 20132, "required on Update")
        return self._group(
            5,
            self._uuid(group_id, "UOG", "OrderGroupID", 20130),
            limit,
            alloc_account,
            ex_destination,
        )

    # -- mass cancel, drop copy -------------------------------------------------------------

    def mass_cancel(self, cl_ord_id: str | None = None) -> Message:
        """OrderMassCancelRequest (35=q, KalshiNR only): cancel every order of the session on all
        shards (``530=6``). Kalshi allows one per second (see `kalshi_fix_sansio.session.ratelimit`)."""
        self._carried("q", "OrderMassCancelRequest")
        return self._build(
            "OrderMassCancelRequest",
            cl_ord_id=self._id(cl_ord_id, "q"),
            mass_cancel_request_type=self.dialect.MassCancelRequestType("6"),
        )

    def event_resend(self, begin_exec_id: str, end_exec_id: str | None = None) -> Message:
        """EventResendRequest (35=U1, KalshiDC / KalshiNR): replay ExecutionReports from
        ``begin_exec_id`` to ``end_exec_id`` inclusive (default: the latest on the same exchange
        index). ExecIDs are ``clock;event`` (exchange index 0) or ``clock;event;index``; a range
        stays on one exchange index, and its end must not come before its begin."""
        self._carried("U1", "EventResendRequest")
        begin = self._exec_id(begin_exec_id, "BeginExecID", 21001)
        if end_exec_id is not None:
            end = self._exec_id(end_exec_id, "EndExecID", 21002)
            if end[2] != begin[2]:
                raise RequestError(
                    "U1",
                    "EndExecID",
                    21002,
                    "must use the same exchange index as BeginExecID",
                    f"{end_exec_id!r} vs {begin_exec_id!r}",
                )
            if end[:2] < begin[:2]:
                raise RequestError(
                    "U1",
                    "EndExecID",
                    21002,
                    "must not come before BeginExecID",
                    f"{end_exec_id!r} < {begin_exec_id!r}",
                )
        return self._build(
            "EventResendRequest", begin_exec_id=begin_exec_id, end_exec_id=end_exec_id
        )

    @staticmethod
    def _exec_id(value: str, field: str, tag: int) -> tuple[int, int, int]:
        m = _EXEC_ID.fullmatch(value) if isinstance(value, str) else None
        if m is None:
            raise RequestError(
                "U1",
                field,
                tag,
                "an ExecID 'clock;event' or 'clock;event;exchange_index' "
                "(pending reports' -1;-1 are never replayed)",
                repr(value),
            )
        return int(m[1]), int(m[2]), int(m[3] or 0)

    # -- orders -----------------------------------------------------------------------------

    def new_order(
        self,
        symbol: str,
        side: Any,
        order_qty: Decimal | int,
        price: Decimal,
        *,
        time_in_force: Any = "gtc",
        expire_time: datetime | None = None,
        cl_ord_id: str | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        tick: Decimal | TickGrid | None = None,
        order_group_id: str | None = None,
        alloc_account: int | None = None,
        ex_destination: int | None = None,
        quote_id: str | None = None,
        rfq_id: str | None = None,
        party_id: str | None = None,
        self_trade_prevention_type: int | None = None,
        cancel_order_on_pause: bool | None = None,
        max_execution_cost: Decimal | None = None,
    ) -> Message:
        """NewOrderSingle (35=D): a limit order. ``price`` is in dollars: prediction 1-99 cents
        on the cent (or, with UseDollars, above $0 and below $1 on $0.0001 or the market's
        ``tick``: a step, or the market's `TickGrid`, e.g. a ``MarketInfo`` of
        `kalshi_fix_sansio.rest.instruments`); margin positive with at most 4 decimals and
        whole quantities. GTD
        (``time_in_force="gtd"`` / 6) needs ``expire_time``; reduce-only needs IOC (or FOK on
        margin). ``order_group_id`` goes in SecondaryClOrdID(526). ``quote_id`` (prediction)
        accepts an RFQ quote."""
        mt = "D"
        self._carried(mt, "NewOrderSingle")
        tif = self._tif(time_in_force, expire_time, mt)
        exec_inst = None
        if reduce_only:
            allowed = ("3",) if self.product == "prediction" else ("3", "4")
            if tif is None or tif.value not in allowed:
                raise RequestError(
                    mt,
                    "ExecInst",
                    18,
                    "reduce-only (E) needs TimeInForce IOC"
                    + (" or FOK" if self.product == "margin" else ""),
                )
            if quote_id is not None:
                raise RequestError(
                    mt, "ExecInst", 18, "reduce-only (E) is not allowed with QuoteID(117)"
                )
            if post_only:
                raise RequestError(mt, "ExecInst", 18, "one instruction: post-only or reduce-only")
            exec_inst = self.dialect.ExecInst.REDUCE_ONLY
        elif post_only:
            exec_inst = self.dialect.ExecInst.POST_ONLY
        extra: dict[str, Any] = {}
        if self.product == "prediction":
            # ExDestination -1 or >= 0: spec/ranges.yaml, checked in _build
            if rfq_id is not None and quote_id is None:
                raise RequestError(mt, "RfqId", 21023, "only with QuoteID(117)")
            extra = {
                "ex_destination": ex_destination,
                "quote_id": None if quote_id is None else self._text(quote_id, mt, "QuoteID", 117),
                "rfq_id": None if rfq_id is None else self._text(rfq_id, mt, "RfqId", 21023),
                "max_execution_cost": max_execution_cost,
            }
        else:
            for name, value, tag in (
                ("ExDestination", ex_destination, 100),
                ("QuoteID", quote_id, 117),
                ("RfqId", rfq_id, 21023),
                ("MaxExecutionCost", max_execution_cost, 21009),
            ):
                if value is not None:
                    raise RequestError(
                        mt,
                        name,
                        tag,
                        "not available on margin"
                        + (": RFQs and quotes are prediction only" if tag in (117, 21023) else ""),
                    )
        return self._build(
            "NewOrderSingle",
            cl_ord_id=self._id(cl_ord_id, mt),
            exec_inst=exec_inst,
            order_qty=self._qty(order_qty, mt),
            ord_type=self.dialect.OrdType.LIMIT,
            price=self._price(price, mt, tick=tick),
            side=self._side(side, mt),
            symbol=self._text(symbol, mt, "Symbol", 55),
            time_in_force=tif,
            expire_time=expire_time,
            parties=self._parties(party_id, mt),
            alloc_account=self._alloc(alloc_account, mt),
            secondary_cl_ord_id=None
            if order_group_id is None
            else self._uuid(order_group_id, mt, "SecondaryClOrdID", 526),
            self_trade_prevention_type=self_trade_prevention_type,
            cancel_order_on_pause=cancel_order_on_pause,
            **extra,
        )

    def _from(self, order: OrderLike, mt: str) -> dict[str, Any]:
        orig = getattr(order, "cl_ord_id", None)
        if orig is None:
            raise RequestError(mt, "OrigClOrdID", 41, "the order has no ClOrdID to refer to")
        check_cl_ord_id(orig, field="OrigClOrdID", tag=41, msg_type=mt)
        if getattr(order, "terminal", False) is True:  # a tracker's order in a final state
            status = getattr(getattr(order, "status", None), "name", "final").lower()
            later = getattr(order, "replaced_by", None)
            raise RequestError(
                mt,
                "OrigClOrdID",
                41,
                f"order {orig!r} is {status}: nothing left to "
                + ("cancel" if mt == "F" else "replace"),
                f"it continues as {later!r}: build from tracker.current({orig!r})" if later else "",
            )
        if getattr(order, "symbol", None) is None or getattr(order, "side", None) is None:
            raise RequestError(
                mt, "Symbol", 55, "the order must carry its Symbol and Side (they must match)"
            )
        fields: dict[str, Any] = {
            "orig_cl_ord_id": orig,
            "order_id": getattr(order, "order_id", None),
            "side": self._side(order.side, mt),
            "symbol": order.symbol,
            "alloc_account": getattr(order, "alloc_account", None),
        }
        parties = getattr(order, "parties", None)
        if parties:  # must match the original (order-entry.md §3, §4): the customer account (24)
            # entry, which requests carry alone; ExecutionReports add an operator entry (12).
            # An entry without a PartyRole can only be that account (24 is its only role).
            entries = [
                q
                for q in parties
                if getattr(q, "party_id", None) is not None
                and _value(getattr(q, "party_role", None)) in ("24", "None")
            ][:1]
            fields["parties"] = [
                self.dialect.Party(
                    party_id=q.party_id, party_role=self.dialect.PartyRole.CUSTOMER_ACCOUNT
                )
                for q in entries
            ] or None
        if self.product == "prediction":
            dest = getattr(order, "ex_destination", None)
            fields["ex_destination"] = dest
        return fields

    def cancel(self, order: OrderLike, *, cl_ord_id: str | None = None) -> Message:
        """OrderCancelRequest (35=F) for ``order`` (its ClOrdID becomes OrigClOrdID; Side,
        Symbol, OrderID, AllocAccount, the Parties' customer account (PartyRole 24) and
        ExDestination are copied so they match: an FCM order's cancel without its Parties is
        answered 35=9 NOT_FOUND).
        A tracker's order already final (filled, canceled, replaced...) raises `RequestError`."""
        self._carried("F", "OrderCancelRequest")
        fields = self._from(order, "F")
        return self._build("OrderCancelRequest", cl_ord_id=self._id(cl_ord_id, "F"), **fields)

    def replace(
        self,
        order: OrderLike,
        *,
        price: Decimal | None = None,
        order_qty: Decimal | int | None = None,
        time_in_force: Any = None,
        expire_time: datetime | None = None,
        cl_ord_id: str | None = None,
        tick: Decimal | TickGrid | None = None,
    ) -> Message:
        """OrderCancelReplaceRequest (35=G) for ``order``: a new price and/or total quantity
        (default: the order's own), and optionally a new expiry: Day or GTC (no ExpireTime) or
        GTD with ExpireTime; neither keeps the expiry as it is. Side, Symbol, OrderID,
        AllocAccount, Parties and ExDestination are copied as for `cancel`."""
        mt = "G"
        self._carried(mt, "OrderCancelReplaceRequest")
        fields = self._from(order, mt)
        new_price = price if price is not None else getattr(order, "price", None)
        new_qty = order_qty if order_qty is not None else getattr(order, "order_qty", None)
        if new_qty is None:
            raise RequestError(mt, "OrderQty", 38, "required: the new total quantity")
        return self._build(
            "OrderCancelReplaceRequest",
            cl_ord_id=self._id(cl_ord_id, mt),
            order_qty=self._qty(new_qty, mt),
            ord_type=self.dialect.OrdType.LIMIT,
            price=None if new_price is None else self._price(new_price, mt, tick=tick),
            time_in_force=self._tif(time_in_force, expire_time, mt, replace=True),
            expire_time=expire_time,
            **fields,
        )
