"""The state every feature of the exchange shares, and the output of the current call.

`ExchangeState` holds what more than one feature reads or changes: the product's dialect, the
connected sessions, the markets' books, the open orders (by OrderID and by account and
ClOrdID), what is kept of the last finished ones (`finished`, at most ``max_finished``),
positions, the pause, the id generator and priority sequence, and the messages the current
call produced. It also has the checks and answers the features share: quantity, price
and party validation, per-session price rounding, the market refusal texts, and the business
(35=j) and session (35=3) rejects.
"""

from __future__ import annotations

import random
import uuid
from collections import OrderedDict
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from types import ModuleType
from typing import Any

from ....codec import Message, UnknownMessage
from ....codec import margin as _margin
from ....codec import prediction as _prediction
from ....codec.errors import DecodeError
from .common import (
    CENT,
    MAX_MARGIN_PRICE,
    MAX_QTY,
    ONE,
    TICK,
    as_dec,
    as_int,
    as_text,
)
from .fees import FeeFill, FeeModel, FeeSchedule
from .model import Book, ClientSession, FillView, Finished, Order, Outbound, SettlementView
from .queues import FifoQueue, QueueModel
from .routing import SessionRouting

__all__ = ["ExchangeState"]


def _checked_fee(fee: object, model: object) -> Decimal:
    if not isinstance(fee, Decimal) or not fee.is_finite() or fee < 0:
        raise ValueError(f"the fee model {model!r} answered {fee!r}, not a Decimal >= 0")
    return fee


class ExchangeState:
    """Shared exchange state of one product.

    Args:
        product: ``"prediction"`` or ``"margin"``.
        seed: seed of the id generator.
        max_finished: the most finished client orders kept in `finished`.

    Raises:
        ValueError: an unknown product.
    """

    def __init__(self, product: str, seed: int, max_finished: int = 100_000) -> None:
        if product == "prediction":
            self.d: ModuleType = _prediction
        elif product == "margin":
            self.d = _margin
        else:
            raise ValueError(f"product must be 'prediction' or 'margin', got {product!r}")
        self.product = product
        self.prediction = product == "prediction"
        self.routing = SessionRouting.for_product(product)
        self.own_types: frozenset[type[Message]] = frozenset(self.d.MESSAGES.values())
        self.rng = random.Random(seed)
        self.sessions: dict[str, ClientSession] = {}
        self.books: dict[str, Book] = {}
        self.open: dict[str, Order] = {}  # OrderID -> open order
        # (ExpireTime, seq, OrderID) of orders that may expire, earliest first; an entry whose
        # order is closed or has another ExpireTime now is stale and skipped when it comes up
        self.expiries: list[tuple[float, int, str]] = []
        # told when something can come due (an entry pushed on `expiries`, an RFQ opened): a
        # caller that stopped asking `tick` because nothing could (`Exchange.due_listener`)
        self.due_listener: Callable[[], object] | None = None
        self.by_cl: dict[tuple[str, str], Order] = {}  # (account, ClOrdID) -> open order
        # (account, ClOrdID) -> the last finished client orders, oldest first (`remember`)
        self.finished: OrderedDict[tuple[str, str], Finished] = OrderedDict()
        self.max_finished = max_finished
        self.positions: dict[tuple[str, str, str], Decimal] = {}  # (symbol, account, holder)
        self.pause: str | None = None  # None, "trading" or "exchange"
        self.seq = 0
        self.now = 0.0
        self.out: list[Outbound] = []
        self.fill_listeners: list[Callable[[FillView], None]] = []
        self.settlement_listeners: list[Callable[[SettlementView], None]] = []
        self.fees: FeeModel = FeeSchedule()
        self.queue_model: QueueModel = FifoQueue()

    def trade_fee(self, symbol: str, price: Decimal, qty: Decimal, *, taker: bool) -> Decimal:
        """The fee of one fill, from the fee model (the one place fills are charged).

        Raises:
            ValueError: the model answered something other than a Decimal >= 0.
        """
        fee = self.fees.trade_fee(FeeFill(self.product, symbol, price, qty, taker))
        return _checked_fee(fee, self.fees)

    def settlement_fee(self, symbol: str, payout_qty: Decimal) -> Decimal:
        """The fee of settling a holder's position paying ``payout_qty`` contracts, from the
        fee model (at most the payout)."""
        fee = self.fees.settlement_fee(self.product, symbol, payout_qty)
        return min(_checked_fee(fee, self.fees), max(payout_qty, Decimal(0)))

    def begin(self, now: float) -> None:
        """Start a call at ``now`` with no output yet."""
        self.now = now
        self.out = []

    def take_output(self) -> list[Outbound]:
        """The messages of the call, in order (the buffer is emptied)."""
        out, self.out = self.out, []
        return out

    def next_seq(self) -> int:
        """The next priority sequence number (orders, RFQs, quotes)."""
        self.seq += 1
        return self.seq

    def sessions_where(self, pred: Callable[[ClientSession], bool]) -> list[ClientSession]:
        """Connected sessions matching ``pred``, in connection order."""
        return [s for s in self.sessions.values() if pred(s)]

    def send(self, session: ClientSession, message: Any) -> None:
        self.out.append(Outbound(session.session_id, message))

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def enum(self, name: str, value: object) -> Any:
        try:
            return getattr(self.d, name)(value)
        except ValueError:
            return value

    def remember(self, order: Order) -> None:
        """Keep what a cancel naming a finished client order needs (`Finished`); past
        ``max_finished`` the oldest is forgotten (a cancel naming it is then unknown)."""
        finished = self.finished
        key = (order.account, order.cl_ord_id)
        finished.pop(key, None)  # a ClOrdID used again: the newer order's record, at the end
        finished[key] = Finished.of(order)
        while len(finished) > self.max_finished:
            finished.popitem(last=False)

    def orders_where(self, pred: Callable[[Order], bool]) -> list[Order]:
        return sorted((o for o in self.open.values() if pred(o)), key=lambda o: o.seq)

    def valid_qty(self, value: object) -> Decimal | None:
        d = as_dec(value)
        if d is None or d <= 0 or d > MAX_QTY:
            return None
        if d.quantize(CENT if self.prediction else ONE) != d:
            return None
        return d

    def valid_price(self, value: object) -> Decimal | None:
        d = as_dec(value)
        if d is None or d <= 0:
            return None
        if d >= (ONE if self.prediction else MAX_MARGIN_PRICE + 1):
            return None
        if d.quantize(TICK) != d:
            return None
        return d

    def parties(self, message: Any) -> tuple[int | None, str | None] | str:
        """(alloc_account, party_id) of a request, or an error text."""
        return self.party_fields(message.alloc_account, message.parties)

    @staticmethod
    def party_fields(alloc_raw: object, parties: Any) -> tuple[int | None, str | None] | str:
        """(alloc_account, party_id) from AllocAccount and a Parties group, or an error text."""
        alloc = as_int(alloc_raw)
        if alloc_raw is not None and (alloc is None or not 0 <= alloc <= 63):
            return "INVALID_ORDER"
        party: str | None = None
        if parties is not None:
            entries = list(parties)
            if len(entries) != 1:
                return "INVALID_ORDER"
            party = as_text(entries[0].party_id)
            if party is None or as_int(entries[0].party_role) != 24:
                return "INVALID_ORDER"
            if alloc:
                return "INVALID_ORDER"
        return alloc, party

    def px(self, session: ClientSession, price: Decimal | None) -> Decimal | None:
        if price is None:
            return None
        step = TICK if session.use_dollars else CENT
        return price.quantize(step, rounding=ROUND_HALF_EVEN)

    def business_reject(
        self,
        session: ClientSession,
        message: Message,
        reason: int,
        text: str,
        ref_id: str | None = None,
    ) -> None:
        seq = self.ref_seq(message)
        if isinstance(message, UnknownMessage):
            ref_type = as_text(message.msg_type) or "?"
        else:
            ref_type = message.MSG_TYPE or "?"
        d = self.d
        self.send(
            session,
            d.BusinessMessageReject(
                ref_seq_num=seq,
                text=text.replace("\x01", " ")[:512] or None,
                ref_msg_type=ref_type,
                business_reject_ref_id=ref_id,
                business_reject_reason=self.enum("BusinessRejectReason", reason),
            ),
        )

    def session_reject(
        self, session: ClientSession, message: Message, tag: int, reason: int, text: str
    ) -> None:
        """A session-level Reject (35=3) of a malformed field, as Kalshi sends for those."""
        d = self.d
        self.send(
            session,
            d.Reject(
                ref_seq_num=self.ref_seq(message),
                text=text,
                ref_tag_id=tag,
                ref_msg_type=message.MSG_TYPE or None,
                session_reject_reason=self.enum("SessionRejectReason", reason),
            ),
        )

    @staticmethod
    def ref_seq(message: Message) -> int:
        """The header MsgSeqNum of a decoded message (RefSeqNum of answers), else 0."""
        try:
            header = message.header
            if header is not None:
                return as_int(header.msg_seq_num) or 0
        except DecodeError:
            pass
        return 0

    def market_refusal(self, symbol: str) -> str | None:
        book = self.books.get(symbol)
        if book is None:
            return "MARKET_NOT_FOUND"
        if book.settled or book.closed:
            return "MARKET_ALREADY_CLOSED"
        if book.halted:
            return "MARKET_INACTIVE"
        if self.pause is not None:
            return f"{self.pause.upper()}_PAUSED"
        return None
