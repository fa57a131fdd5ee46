"""The mock gateway's exchange: a pure, deterministic matching engine and exchange state.

`Exchange` holds the markets, resting orders, positions, order groups and market-data
subscriptions of one product (``"prediction"`` or ``"margin"``). It does no I/O and reads no
clock: every call takes ``now`` (UTC epoch seconds) and returns the messages to send as
`Outbound` values (a session id and a typed message of the product's dialect). Ids are
deterministic: OrderIDs, TrdMatchIDs, order-group ids, report ids, RfqIds and the pseudonymous
RFQ party ids are UUIDs drawn from a ``random.Random(seed)``; ExecIDs are ``clock;event`` where
``clock`` counts the engine calls that produced execution reports and ``event`` numbers the
reports of one call from 1.

Behaviour follows Kalshi's FIX documentation (the reference notes); where Kalshi is silent the
engine chooses, and each feature module lists its choices in its docstring:

=================  ==========================================================================
`orders`           order lifecycle: creation, cancels of every kind, expiry, forgetting
`order_entry`      35=D/F/G/q: new orders, cancel, cancel/replace, mass cancel
`matching`         price-time matching, self-trade prevention, FOK/IOC, fees, positions
`order_groups`     35=UOG/UOH: the rolling 15-second limit and triggers
`reports`          ExecutionReports: ExecIDs, routing to sessions and listeners, rendering
`market_data`      35=V/W/X/Y snapshots and incrementals, 35=e/f security status
`drop_copy`        35=U1/U2/U3: replay of the last 3 hours of reports (100,000 at most)
`rfq`              RFQ creators: 35=R/b/UA/UC/UE/UB, acceptance, closure, timers
`rfq_quotes`       RFQ market makers: 35=S/AI/Z/U9/U7/U8, the block trade
`settlement`       pauses, resumptions, settlement and MarketSettlementReports
`fees`             the fee model: Kalshi's fee rules per product and series, or your own
`queues`           queue models: where a replay's cancellations fall in a level's queue
`recorded`         a recording's books driving the markets (`Exchange.replay`)
`routing`          which session types carry which messages, from ``spec/sessions.yaml``
`state`            the state the features share and the current call's output
`model`, `common`  records, books, constants and value helpers
=================  ==========================================================================

Memory stays flat however many orders pass: a finished order leaves the live state (the books,
the open orders); what stays is bounded, each bound an argument of `Exchange`: the execution
reports drop copy can replay (``drop_copy_window``, ``drop_copy_reports``), and the last
``finished_orders`` finished client orders (what a cancel naming one is answered with) and,
apart, as many closed RFQs.

Requests are dispatched by MsgType. Each is accepted on the session types whose ``send`` list in
the spec's session table has it; anything else (or a listener session sending orders, order
groups or RFQ messages) is answered with 35=j 380=3, a message type the product lacks with
35=j 380=3 too, and a message whose fields do not decode with 35=j 380=0. RefSeqNum is the
header's MsgSeqNum of a decoded message, else 0. Malformed fields the docs answer with a session
Reject (35=3) come back as an `Outbound` Reject that the server sends through the client's
session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ....codec import Message, UnknownMessage
from ....codec.errors import DecodeError
from .common import (
    BUY,
    HOUSE_ACCOUNT,
    ROLLING_WINDOW_SECONDS,
    SELL,
    Status,
    as_text,
    check_count,
)
from .drop_copy import DROP_COPY_MAX_REPORTS, DROP_COPY_WINDOW_SECONDS, DropCopy
from .fees import (
    FeeFill,
    FeeModel,
    FeeRates,
    FeeSchedule,
    FeeScheduleError,
    as_fee_model,
)
from .level_row import LevelRow
from .market_data import MarketData
from .matching import Matching
from .model import (
    Book,
    ClientSession,
    EncodedMessage,
    FillView,
    OrderView,
    Outbound,
    SettlementView,
)
from .order_entry import OrderEntry
from .order_groups import MAX_ORDER_GROUPS, OrderGroups
from .orders import FINISHED_ORDERS_KEPT, Orders
from .queries import Queries
from .queues import FifoQueue, ProbQueue, QueueModel, RiskAverseQueue, queue_model
from .recorded import RecordedMarkets
from .reports import Reports
from .rfq import OBSCURED_CREATOR_ID, QUOTE_CONFIRM_SECONDS, RFQ_LIFETIME_SECONDS, Rfqs
from .rfq_quotes import Quotes
from .routing import SESSION_TYPES, SETTLEMENT_BY_DEFAULT
from .settlement import Settlement
from .spans import BulkSpans, Pending
from .state import ExchangeState

__all__ = [
    "DROP_COPY_MAX_REPORTS",
    "DROP_COPY_WINDOW_SECONDS",
    "FINISHED_ORDERS_KEPT",
    "HOUSE_ACCOUNT",
    "MAX_ORDER_GROUPS",
    "OBSCURED_CREATOR_ID",
    "QUOTE_CONFIRM_SECONDS",
    "RATE_LIMIT_REJECT_TEXT",
    "RFQ_LIFETIME_SECONDS",
    "ROLLING_WINDOW_SECONDS",
    "SESSION_TYPES",
    "EncodedMessage",
    "Exchange",
    "FeeFill",
    "FeeModel",
    "FeeRates",
    "FeeSchedule",
    "FeeScheduleError",
    "FifoQueue",
    "FillView",
    "OrderView",
    "Outbound",
    "ProbQueue",
    "QueueModel",
    "RiskAverseQueue",
    "SettlementView",
    "as_fee_model",
    "queue_model",
]

_Handler = Callable[[ClientSession, Any], None]

RATE_LIMIT_REJECT_TEXT = "Rate limit exceeded"
"""Kalshi's Text(58) on a 35=j with BusinessRejectReason(380)=8 (`Exchange.reject_rate_limited`)."""
_RATE_LIMIT_EXCEEDED = 8  # BusinessRejectReason(380): Rate limit exceeded


def _check_bounds(window: float, reports: int, finished: int, groups: int) -> None:
    if isinstance(window, bool) or not isinstance(window, (int, float)) or not 0 < window < 1e9:
        raise ValueError(f"drop_copy_window must be a number of seconds > 0, got {window!r}")
    check_count("drop_copy_reports", reports)
    check_count("finished_orders", finished)
    check_count("max_order_groups", groups)


class Exchange(Queries):
    """The matching engine and exchange state of one product, driven by the gateway server.

    Args:
        product: ``"prediction"`` or ``"margin"``.
        seed: seed of the id generator (same seed and calls -> same ids).
        replay_allowlist: the accounts allowed to use EventResendRequest (35=U1); others get
            35=U3 with reason 5. None (the default): every account.
        auto_list_markets: list a market the first time a NewOrderSingle (35=D) or an RFQ
            (35=R) names it, with an empty book, for quick experiments. False (the default):
            only `seed_market` lists markets, and an order for any other ticker is rejected as
            Kalshi rejects it (``MARKET_NOT_FOUND``, OrdRejReason 1).
        drop_copy_window: seconds an execution report stays replayable by 35=U1 (Kalshi's 3
            hours, `DROP_COPY_WINDOW_SECONDS`).
        drop_copy_reports: the most execution reports kept for 35=U1
            (`DROP_COPY_MAX_REPORTS`); past it the oldest go, as when they leave the window.
        finished_orders: how many finished client orders are remembered for a cancel or
            cancel/replace naming one (answered 102=0 when filled, ``NOT_FOUND`` with its OrderID
            when cancelled; a forgotten one is unknown), and apart how many closed RFQs
            (`FINISHED_ORDERS_KEPT`).
        fees: the fee model of every fill and settlement: a `FeeSchedule` (None: the default
            one, Kalshi's rules as the mock applies them), any `FeeModel`, or a function of a
            `FeeFill` returning the fee in dollars (`as_fee_model`).
        queue_model: in a replay, where recorded cancellations fall in a level's queue
            relative to a resting client order (`QueueModel`; None: `FifoQueue`, all ahead).
        max_order_groups: the most order groups an account may have at once
            (`MAX_ORDER_GROUPS`: Kalshi's 25,000 per user); a Create past it gets 35=j.

    Raises:
        ValueError: an unknown product, or a bound that is not a positive number.
        TypeError: ``fees`` or ``queue_model`` is not a model.
    """

    def __init__(
        self,
        product: str = "prediction",
        *,
        seed: int = 0,
        replay_allowlist: Iterable[str] | None = None,
        auto_list_markets: bool = False,
        drop_copy_window: float = DROP_COPY_WINDOW_SECONDS,
        drop_copy_reports: int = DROP_COPY_MAX_REPORTS,
        finished_orders: int = FINISHED_ORDERS_KEPT,
        fees: FeeModel | Callable[[FeeFill], Decimal] | None = None,
        queue_model: QueueModel | None = None,
        max_order_groups: int = MAX_ORDER_GROUPS,
    ) -> None:
        _check_bounds(drop_copy_window, drop_copy_reports, finished_orders, max_order_groups)
        state = self._state = ExchangeState(product, seed, finished_orders)
        state.fees = as_fee_model(fees)
        if queue_model is not None:
            if not isinstance(queue_model, QueueModel):
                raise TypeError(f"queue_model must be a QueueModel, got {queue_model!r}")
            state.queue_model = queue_model
        self.product = product
        self.auto_list_markets = auto_list_markets
        self._house_n = 0
        self._drop_copy = DropCopy(state, replay_allowlist, drop_copy_window, drop_copy_reports)
        self._reports = Reports(state, self._drop_copy)
        self._md = MarketData(state)
        self._orders = Orders(state, self._reports, self._md)
        self._groups = OrderGroups(state, self._orders, max_order_groups)
        self._matching = Matching(state, self._orders, self._groups, self._md, self._reports)
        self._rfqs = Rfqs(state, self._orders, self._reports, finished_orders)
        self._quotes = Quotes(
            state, self._rfqs, self._orders, self._matching, self._reports, self._md
        )
        self._settlement = Settlement(state, self._orders, self._rfqs, self._md)
        self._recorded = RecordedMarkets(
            state, self._orders, self._matching, self._md, self._settlement, self._open_market
        )
        self.recorded_mid: Callable[[str], Decimal | None] = self._recorded.mid
        """The mid of a replayed market's recorded best bid and offer (without client orders);
        None when a side is empty or the market is not replayed (`RecordedMarkets.mid`, called
        as it is: the feed asks it after every recorded message)."""
        self.replay_level = LevelRow(
            state, self._reports, self._md, self._drop_copy, self._rfqs, self._recorded
        ).replay
        """`replay_market` of the common recorded row in one step (`LevelRow.replay`: one level
        of one market resized; None: not that row, nothing done)."""
        self.spans: BulkSpans | None = None
        """The markets in bulk spans (`start_spans`; None: none, every message the full path)."""
        entry = OrderEntry(
            state, self._orders, self._matching, self._groups, self._reports, self._rfqs, self._md
        )
        handlers: dict[str, _Handler] = {
            "D": entry.on_new_order,
            "F": entry.on_cancel,
            "G": entry.on_replace,
            "q": entry.on_mass_cancel,
            "UOG": self._groups.on_order_group,
            "V": self._md.on_md_request,
            "e": self._md.on_status_request,
            "U1": self._drop_copy.on_event_resend,
            "R": self._rfqs.on_quote_request,
            "UA": self._rfqs.on_accept_quote,
            "UE": self._rfqs.on_rfq_cancel,
            "S": self._quotes.on_quote,
            "Z": self._quotes.on_quote_cancel,
            "U7": self._quotes.on_quote_confirm,
        }
        # MsgType -> (handler, the session types that may send it), for this product
        self._routes: dict[str, tuple[_Handler, frozenset[str]]] = {
            msg_type: (handler, state.routing.sent_on(msg_type))
            for msg_type, handler in handlers.items()
            if state.routing.sent_on(msg_type)
        }

    def sizes(self) -> dict[str, int]:
        """How many records the exchange holds, by kind (what stays bounded however long it
        runs; a test of its memory counts these): ``open_orders``, ``orders_by_clordid`` (the
        open ones), ``finished_orders``, ``expiry_entries``, ``drop_copy_reports``,
        ``exec_clocks``, ``rfqs``, ``rfqs_by_client``, ``quotes``, ``resting`` (orders in the
        books)."""
        state, rfqs, drop_copy = self._state, self._rfqs, self._drop_copy
        return {
            "open_orders": len(state.open),
            "orders_by_clordid": len(state.by_cl),
            "finished_orders": len(state.finished),
            "expiry_entries": len(state.expiries),
            "drop_copy_reports": len(drop_copy),
            "exec_clocks": drop_copy.clocks,
            "rfqs": len(rfqs.rfqs),
            "rfqs_by_client": rfqs.by_client_count,
            "quotes": len(rfqs.quotes),
            "resting": sum(
                len(level)
                for book in state.books.values()
                for levels in book.levels.values()
                for level in levels.values()
            ),
        }

    @property
    def replay_allowlist(self) -> frozenset[str] | None:
        """The accounts allowed to use EventResendRequest (None: every one); settable."""
        return self._drop_copy._replay_allowlist

    @replay_allowlist.setter
    def replay_allowlist(self, accounts: Iterable[str] | None) -> None:
        self._drop_copy._replay_allowlist = None if accounts is None else frozenset(accounts)

    @property
    def fill_listeners(self) -> list[Callable[[FillView], None]]:
        """Callables told of every fill of a client order (`FillView`), as it is made; append
        to it (a paper-trading report listens here)."""
        return self._state.fill_listeners

    @property
    def settlement_listeners(self) -> list[Callable[[SettlementView], None]]:
        """Callables told of every client position paid out when a market settles
        (`SettlementView`: the payout and the settlement fee); append to it."""
        return self._state.settlement_listeners

    @property
    def due_listener(self) -> Callable[[], object] | None:
        """Called when an order with an ExpireTime rests or an RFQ opens: a caller that stops
        calling `tick` while `tick_due` at ``math.inf`` is False starts again (None: none)."""
        return self._state.due_listener

    @due_listener.setter
    def due_listener(self, listener: Callable[[], object] | None) -> None:
        self._state.due_listener = listener

    @property
    def fees(self) -> FeeModel:
        """The fee model every fill and settlement is charged by (see ``fees`` above)."""
        return self._state.fees

    @property
    def queue_model(self) -> QueueModel:
        """Where a replay's cancellations fall in a level's queue (see ``queue_model``)."""
        return self._state.queue_model

    def subscribers(self) -> list[str]:
        """The connected sessions subscribed to some market's data, in connection order."""
        return [s.session_id for s in self._state.sessions.values() if s.md_symbols]

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
        settlement_reports: bool | None = None,
        preserve_original_order_qty: bool = False,
        use_expired_ord_status: bool = False,
        wire: bool = False,
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
            settlement_reports: ReceiveSettlementReports(20127): True (Y), False (N), None
                (the Logon left it out: Kalshi's default, Y on KalshiPT, N elsewhere).
            preserve_original_order_qty: PreserveOriginalOrderQty(21008)=Y.
            use_expired_ord_status: UseExpiredOrdStatus(21012)=Y.
            wire: the session encodes what it is sent (a FIX connection's): its market data
                (35=X) comes as bytes, an `EncodedMessage` its session sends with
                ``send_encoded`` (the same frame), not as a message object.
            now: current time, UTC epoch seconds.

        Returns:
            Messages to send (expiry reports due at ``now``).

        Raises:
            ValueError: the session id is already connected, or the session type is unknown.
        """
        if session_id in self._state.sessions:
            raise ValueError(f"session {session_id!r} is already connected")
        if session_type not in SESSION_TYPES:
            raise ValueError(
                f"unknown session type {session_type!r}; expected one of {sorted(SESSION_TYPES)}"
            )
        self._begin(now)
        self._state.sessions[session_id] = ClientSession(
            session_id=session_id,
            account=account,
            session_type=session_type,
            listener=listener,
            cancel_on_disconnect=cancel_on_disconnect,
            use_dollars=use_dollars or not self._state.prediction,
            settlement_reports=(
                session_type in SETTLEMENT_BY_DEFAULT
                if settlement_reports is None
                else settlement_reports
            ),
            preserve_original_order_qty=preserve_original_order_qty,
            use_expired_ord_status=use_expired_ord_status,
            wire=wire,
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
        session = self._state.sessions.pop(session_id, None)
        if session is not None and session.cancel_on_disconnect:
            for order in self._state.orders_where(lambda o: o.session_id == session_id):
                self._orders.cancel(order, text=None)
        return self._finish()

    def reject_rate_limited(self, session_id: str, message: Message, now: float) -> list[Outbound]:
        """Answer an application message as Kalshi does over its rate limit, without
        handling it: BusinessMessageReject (35=j) with BusinessRejectReason(380)=8 and
        Text(58) ``Rate limit exceeded``, RefSeqNum and RefMsgType naming the message.

        Args:
            session_id: the connected session that sent it.
            message: the message (not handled: nothing of it reaches the book).
            now: current time, UTC epoch seconds.

        Returns:
            The reject, to send on that session.

        Raises:
            ValueError: the session id is not connected (a server bug, not client input).
        """
        session = self._state.sessions.get(session_id)
        if session is None:
            raise ValueError(f"session {session_id!r} is not connected")
        self._begin(now)
        self._state.business_reject(session, message, _RATE_LIMIT_EXCEEDED, RATE_LIMIT_REJECT_TEXT)
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
        state = self._state
        session = state.sessions.get(session_id)
        if session is None:
            raise ValueError(f"session {session_id!r} is not connected")
        self._begin(now)
        try:
            message.validate()
        except DecodeError as exc:
            state.business_reject(session, message, 0, f"invalid message: {exc}")
            return self._finish()
        kind = type(message)
        name = kind.__name__
        route = self._routes.get(kind.MSG_TYPE or "")
        if kind not in state.own_types or isinstance(message, UnknownMessage):
            state.business_reject(
                session, message, 3, f"unsupported message type for {self.product}"
            )
        elif route is None:
            state.business_reject(session, message, 3, f"{name} is not handled by this gateway")
        elif session.listener and state.routing.refused_to_listener(
            session.session_type, kind.MSG_TYPE
        ):
            state.business_reject(session, message, 3, f"{name} not allowed on a listener session")
        elif session.session_type not in route[1]:
            types = " and ".join(sorted(route[1]))
            state.business_reject(session, message, 3, f"{name} is accepted on {types} only")
        else:
            if self.auto_list_markets:
                self._auto_list(message)
            spans = self.spans
            # the markets it names get their recorded books back, in spans again after it if
            # they still qualify (a subscription, a cancel, an order that did not rest)
            left = () if spans is None else spans.leave_named(message)
            route[0](session, message)
            if spans is not None:
                for symbol in left:
                    spans.join(symbol)
        return self._finish()

    def _auto_list(self, message: Message) -> None:
        """List the market a 35=D or 35=R names when it is unknown (``auto_list_markets``)."""
        kind = type(message).MSG_TYPE
        if kind == "D":
            names = [getattr(message, "symbol", None)]
        elif kind == "R":
            names = [
                getattr(e, "symbol", None) for e in getattr(message, "related_sym", None) or ()
            ]
        else:
            return
        for name in names:
            symbol = as_text(name)
            if symbol is not None and symbol not in self._state.books:
                self._open_market(symbol)

    def _open_market(self, symbol: str) -> Book:
        """A new, empty, open market (SecurityStatus to its status subscribers)."""
        book = self._state.books[symbol] = Book(symbol)
        self._md.send_status(symbol, 2 if self._state.pause is not None else 3)  # activated
        return book

    # -- admin ----------------------------------------------------------------------------------

    def seed_market(
        self,
        symbol: str,
        *,
        bids: Sequence[tuple[Decimal, Decimal]] = (),
        asks: Sequence[tuple[Decimal, Decimal]] = (),
        now: float,
        replace: bool = False,
    ) -> list[Outbound]:
        """Create a market (open) if needed and add house liquidity to it (``replace``: in
        place of the house liquidity resting there, which is cancelled first).

        House orders are GTC with self-trade prevention "maker": a house order crossing older
        house liquidity cancels it; one crossing client orders trades with them.

        Args:
            symbol: market ticker.
            bids: ``(price, quantity)`` buy (YES bid) orders, prices in dollars.
            asks: ``(price, quantity)`` sell (YES offer) orders.
            now: current time, UTC epoch seconds.
            replace: cancel the house's resting orders in the market first, so that the book
                holds these levels (and the clients' orders) only; False adds to them.

        Returns:
            Messages to send (market data, SecurityStatus for a new market, reports of trades).

        Raises:
            ValueError: an invalid symbol, price or quantity; a settled market; liquidity that
                would cross the book during a pause.
        """
        if not symbol or "\x01" in symbol:
            raise ValueError(f"invalid symbol {symbol!r}")
        orders = [(BUY, px, qty) for px, qty in bids] + [(SELL, px, qty) for px, qty in asks]
        for _side, px, qty in orders:
            if self._state.valid_price(px) is None:
                raise ValueError(f"invalid {self.product} price {px!r} for {symbol}")
            if self._state.valid_qty(qty) is None:
                raise ValueError(f"invalid {self.product} quantity {qty!r} for {symbol}")
        book = self._state.books.get(symbol)
        if book is not None and book.settled:
            raise ValueError(f"market {symbol} is settled")
        if self._state.pause is not None and orders:
            bids_px = [px for side, px, _ in orders if side == BUY]
            asks_px = [px for side, px, _ in orders if side == SELL]
            if book is not None and not replace:
                bids_px += book.prices[BUY]
                asks_px += book.prices[SELL]
            if bids_px and asks_px and max(bids_px) >= min(asks_px):
                raise ValueError("seeded liquidity would cross the book during a pause")
        self._begin(now)
        if book is None:
            book = self._open_market(symbol)
        elif replace:
            for old in self._state.orders_where(
                lambda o: o.symbol == symbol and o.account == HOUSE_ACCOUNT
            ):
                self._orders.cancel(old, text="replaced by seed")
        for side, px, qty in orders:
            self._house_n += 1
            order = self._orders.new_order(
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
            self._reports.emit(self._reports.report(order, Status.NEW, Status.NEW))
            self._matching.execute(order, ioc=False)
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

    def tick_due(self, now: float) -> bool:
        """Whether `tick` at ``now`` has something to report: an order whose ExpireTime has
        come, or an open RFQ (its accepted quote's confirmation time, its lifetime). False:
        `tick` would send nothing (the rest of what it does, forgetting drop-copy reports past
        their window, every call does first), so a caller on a simulated clock may skip it.

        Args:
            now: current time, UTC epoch seconds.
        """
        expiries = self._state.expiries
        return bool(expiries and expiries[0][0] <= now) or bool(self._rfqs.open_rfqs)

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
        self._settlement.pause(exchange=exchange)
        return self._finish()

    def resume(self, now: float) -> list[Outbound]:
        """End a pause (no effect when not paused).

        Args:
            now: current time, UTC epoch seconds.

        Returns:
            Messages to send (SecurityStatus 3 on prediction).
        """
        self._begin(now)
        self._settlement.resume()
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
        if self.spans is not None:
            self.spans.leave(symbol)
        book = self._settlement.settleable(symbol, result, fragment_size)
        self._begin(now)
        self._settlement.settle(book, result, fragment_size)
        self._recorded.forget(symbol)
        return self._finish()

    def list_markets(self, symbols: Iterable[str], now: float) -> list[Outbound]:
        """List markets (open, empty books) that are not listed yet: a replay lists its
        recording's markets before it starts, so orders for them are accepted from the start.

        Args:
            symbols: market tickers.
            now: current time, UTC epoch seconds.

        Returns:
            Messages to send (SecurityStatus to status subscribers).
        """
        self._begin(now)
        for symbol in symbols:
            if symbol not in self._state.books:
                self._open_market(symbol)
        return self._finish()

    def replay(self, message: Message, now: float) -> list[Outbound]:
        """Apply one recorded market-data message (see `recorded`): the books follow it,
        resting client orders fill as its trades and level changes reach them, subscribers get
        its changes (with the client orders' own levels) and trades; a recorded 35=UMS settles
        the market with its MarketResult.

        Args:
            message: a 35=W, 35=X, 35=f or 35=UMS of this product's dialect (other types are
                ignored).
            now: its recorded time, UTC epoch seconds (the exchange's clock in a replay).

        Returns:
            Messages to send.
        """
        self._begin(now)
        self._recorded.apply(message)
        return self._finish()

    def replay_row(
        self,
        kind: str,
        symbol: str | None,
        status: int | None,
        result: str | None,
        entries: tuple[tuple[Any, ...], ...],
        now: float,
    ) -> list[Outbound]:
        """`replay` of one recorded message as a compiled recording's columns give it
        (`CompiledRecording.rows <kalshi_fix_sansio.simulator.backtests.compiled.CompiledRecording.rows>`):
        no message object.

        Args:
            kind: its MsgType, ``"W"``, ``"X"``, ``"f"`` or ``"UMS"`` (others are ignored).
            symbol: Symbol(55) of a 35=W, 35=f or 35=UMS.
            status: SecurityTradingStatus(326) of a 35=f.
            result: MarketResult of a 35=UMS.
            entries: its entries, each ``(MDEntryType, Symbol, MDEntryPx, MDEntrySize,
                MDUpdateAction, AggressorSide, TradeID)`` as plain values (None: absent).
            now: its recorded time, UTC epoch seconds.

        Returns:
            Messages to send.
        """
        self._begin(now)
        self._recorded.apply_row(kind, symbol, status, result, entries)
        return self._finish()

    def replay_market(
        self, entries: tuple[tuple[Any, ...], ...], now: float
    ) -> list[Outbound] | tuple[list[str], bytes] | None:
        """`replay_row` of a recorded 35=X whose entries all name one listed market
        (`RecordedMarkets.one_market`), the common message: the same call, but when all it
        sends is one 35=X to that market's subscribers, all encoding
        (`MarketData.market_entries`), their session ids and its body, no `Outbound` made.
        None: another message, nothing done (`replay_row` it)."""
        book = self._recorded.one_market(entries)
        if book is None:
            return None
        self._begin(now)
        self._recorded.apply_market(book, entries)
        if not self._state.out:  # nothing due ran at the call's start, no client order filled
            sent = self._md.market_entries()
            if sent is True:
                return []  # `_finish`'s, the call having sent nothing
            if sent is not False:
                return sent
        return self._finish()

    def start_spans(
        self,
        session_id: str,
        watched: Mapping[str, None],
        notify: Callable[[Pending, bool], None],
        max_trades: int | None = None,
    ) -> BulkSpans:
        """Let replayed markets run in bulk spans (`spans`: a book-level backtest's) for the
        market-data session ``session_id``; `BulkSpans` says what ``watched``, ``notify`` and
        ``max_trades`` are."""
        self.spans = BulkSpans(self._recorded, session_id, watched, notify, max_trades)
        return self.spans

    # -- queries --------------------------------------------------------------------------------

    # -- call lifecycle -------------------------------------------------------------------------

    def _begin(self, now: float) -> None:
        """Start a call: run what is due at ``now`` (expiries, RFQ timers, replay window)."""
        state = self._state
        state.begin(now)
        self._reports.begin()
        self._md.begin()
        expiries = state.expiries
        if expiries and expiries[0][0] <= now:  # `tick_due`'s two questions, asked here
            self._orders.expire_due()
        if self._rfqs.open_rfqs:
            self._rfqs.due()
        self._drop_copy.prune()

    def _finish(self) -> list[Outbound]:
        """End a call: market data of its book changes, then everything it produced."""
        self._md.flush()
        return self._state.take_output()
