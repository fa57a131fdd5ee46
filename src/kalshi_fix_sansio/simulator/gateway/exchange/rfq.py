"""RFQ, the creator's side (prediction only): requests, acceptances, cancels, closures.

A margin exchange answers every RFQ message type as unsupported. The market makers' side
(quotes, quote cancels, confirmations) is in `rfq_quotes`; this module also keeps the RFQ and
quote records both sides share and the timers (confirmation deadline, RFQ lifetime).

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
* Void: an accepted quote not confirmed in time is voided at the first call at or after the
  deadline (`tick`): 35=AI 297=17 to the maker, and to the creator an unsolicited 35=UC
  21025=1 ``EXPIRED`` (QuoteID and ClOrdID of the acceptance) or, for 35=D, a Canceled
  report with Text ``EXPIRED``. The RFQ stays open for other quotes.
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
* Closed RFQs and their quotes are remembered (``RFQ_CLOSED``, ``EXPIRED`` answers) for the
  last ``finished_orders`` closures (`Exchange`'s bound on finished orders, kept apart for
  RFQs); an older one is forgotten, and a request naming it is answered ``NOT_FOUND``.
* RFQ messages to a creator go to the session that created the RFQ (or accepted the quote)
  while connected, else to the account's KalshiRT sessions; maker messages likewise to the
  quoting session, else the account's KalshiRFQ sessions. Listeners get only the 35=8
  copies. Prices on 35=S / 35=AI are rounded per session like report prices.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any, Final

from .common import (
    BUY,
    CENT,
    MAX_QTY,
    NONE_ID,
    ONE,
    SELL,
    ZERO,
    Status,
    as_dec,
    as_text,
    floor_cents,
    holder_of,
    to_ms,
    utc,
)
from .model import ClientSession, Order, Quote, Refusal, Rfq
from .orders import Orders
from .reports import Reports
from .routing import QUOTE, QUOTE_REQUEST
from .state import ExchangeState

__all__ = ["OBSCURED_CREATOR_ID", "QUOTE_CONFIRM_SECONDS", "RFQ_LIFETIME_SECONDS", "Rfqs"]

QUOTE_CONFIRM_SECONDS: Final = 30.0
"""Time a market maker has to confirm (35=U7) an accepted quote before it is voided."""
RFQ_LIFETIME_SECONDS: Final = 24 * 3600.0
"""Age at which an open RFQ expires (unsolicited 35=UB 21013=2)."""
OBSCURED_CREATOR_ID: Final = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
"""PartyID other users see on the RFQ broadcast of a creator with ObscureCreatorId=Y."""
MAX_CASH: Final = Decimal(1_000_000_000)


class Rfqs:
    """Every RFQ and quote, the creator's requests, and the RFQ timers."""

    def __init__(
        self, state: ExchangeState, orders: Orders, reports: Reports, max_closed: int = 100_000
    ) -> None:
        self.state = state
        self.max_closed = max_closed
        self._closed: deque[Rfq] = deque()  # closed RFQs still answered for, oldest first
        self.orders = orders
        self.reports = reports
        self.creator_types = state.routing.sent_on(QUOTE_REQUEST)
        """Session types that create RFQs (KalshiRT): the creator's messages go there."""
        self.maker_types = state.routing.sent_on(QUOTE)
        """Session types that quote (KalshiRFQ): broadcasts and maker messages go there."""
        self.rfqs: dict[str, Rfq] = {}  # server RfqId -> RFQ
        self._rfq_by_client: dict[tuple[str, str], Rfq] = {}  # (account, QuoteReqID) -> RFQ
        self.open_rfqs: dict[str, Rfq] = {}
        self.quotes: dict[str, Quote] = {}  # QuoteID -> latest quote with that id
        self._public_ids: dict[str, str] = {}

    @property
    def by_client_count(self) -> int:
        """How many RFQs are found by the creator's QuoteReqID."""
        return len(self._rfq_by_client)

    def public_id(self, account: str) -> str:
        """The account's pseudonymous public communications id (a UUID, fixed per account)."""
        pid = self._public_ids.get(account)
        if pid is None:
            pid = self._public_ids[account] = self.state.uuid()
        return pid

    def targets(
        self, account: str, origin: str | None, session_types: frozenset[str]
    ) -> list[ClientSession]:
        """The origin session while connected, else the account's sessions of that type."""
        first = self.state.sessions.get(origin) if origin is not None else None
        if first is not None:
            return [first]
        return [
            s
            for s in self.state.sessions.values()
            if s.account == account and s.session_type in session_types and not s.listener
        ]

    def quote_px(self, session: ClientSession, price: Decimal | None) -> Decimal | None:
        """A quote price for a session (None when absent or rounding to zero)."""
        px = self.state.px(session, price)
        return px if px else None

    @staticmethod
    def maker_px(quote: Quote, side: str) -> Decimal | None:
        """The maker's price a creator's side accepts: Side 1 takes the NO quote, 2 the YES."""
        return quote.no_px if side == BUY else quote.yes_px

    @staticmethod
    def maker_size(quote: Quote, side: str) -> Decimal | None:
        return quote.no_size if side == BUY else quote.yes_size

    def trade_px(self, quote: Quote, side: str) -> Decimal:
        """The YES price of an execution on the creator's side."""
        px = self.maker_px(quote, side)
        assert px is not None  # checked on acceptance
        return ONE - px if side == BUY else px

    def quote_size(self, rfq: Rfq, maker_px: Decimal | None, *, yes: bool) -> Decimal | None:
        """Contracts a quote side (``yes``: the YES quote) offers: the RFQ's OrderQty, or what
        its CashOrderQty buys (with the creator's taker fee, from the fee model, unless the RFQ
        excludes fees)."""
        if maker_px is None:
            return None
        if rfq.qty is not None:
            return rfq.qty
        assert rfq.cash is not None
        cash = rfq.cash
        price = ONE - maker_px  # the creator's cost per contract
        if rfq.fees_excluded:
            return min(floor_cents(cash / price), MAX_QTY)
        yes_px = maker_px if yes else price  # the fill's YES price
        symbol = rfq.symbol or ""

        def fits(cents: int) -> bool:
            q = Decimal(cents).scaleb(-2)
            fee = self.state.trade_fee(symbol, yes_px, q, taker=True) if cents else ZERO
            return q * price + fee <= cash

        hi = int(min(floor_cents(cash / price), MAX_QTY) * 100)  # no fee: the most it buys
        if fits(hi):
            return Decimal(hi).scaleb(-2).quantize(CENT)
        lo = 0  # fits(lo) holds, fits(hi) does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid
        return Decimal(lo).scaleb(-2).quantize(CENT)

    def quote_status(self, quote: Quote, session: ClientSession, status: int) -> Any:
        """A QuoteStatusReport (35=AI) of a quote for the maker's session."""
        d = self.state.d
        accepted = status == 0
        return d.QuoteStatusReport(
            quote_id=quote.quote_id,
            quote_req_id=quote.rfq.rfq_id,
            alloc_account=quote.alloc_account or None,
            quote_status=d.QuoteStatus(status),
            order_qty=quote.qty if accepted else quote.rfq.qty,
            bid_px=self.quote_px(session, quote.yes_px),
            offer_px=self.quote_px(session, quote.no_px),
            bid_size=quote.yes_size,
            offer_size=quote.no_size,
            side=d.Side(quote.side) if accepted else None,
            transact_time=to_ms(utc(quote.created)) if status == 10 else None,
        )

    def due(self) -> None:
        """Void accepted quotes past their confirmation time; expire day-old RFQs."""
        if not self.open_rfqs:
            return
        now = self.state.now
        due = [
            q
            for q in (r.accepted for r in self.open_rfqs.values())
            if q is not None and q.deadline <= now
        ]
        for quote in sorted(due, key=lambda q: (q.deadline, q.seq)):
            self.void(quote, session=None)
        for rfq in [
            r
            for r in self.open_rfqs.values()
            if r.accepted is None and r.created + RFQ_LIFETIME_SECONDS <= now
        ]:
            self.close_rfq(rfq, "RFQ_EXPIRED", expired=True)

    def close_rfq(self, rfq: Rfq, text: str, *, expired: bool) -> None:
        """Close an RFQ: cancel its pending quotes, tell the creator (``expired``), the makers."""
        d = self.state.d
        rfq.open = False
        self.open_rfqs.pop(rfq.rfq_id, None)
        for quote in rfq.quotes:
            if quote.state == "pending":
                quote.state = "cancelled"
        self._closed.append(rfq)
        while len(self._closed) > self.max_closed:
            self._forget(self._closed.popleft())
        if expired:
            for s in self.targets(rfq.account, rfq.session_id, self.creator_types):
                self.state.send(
                    s,
                    d.RFQCancelStatus(
                        quote_req_id=rfq.quote_req_id,
                        rfq_cancel_status=d.RFQCancelStatusValue(2),
                        rfq_id=rfq.rfq_id,
                    ),
                )
        for s in self.state.sessions.values():
            if s.session_type in self.maker_types:
                self.state.send(
                    s,
                    d.QuoteRequestReject(
                        text=text,
                        quote_req_id=rfq.rfq_id,
                        quote_request_reject_reason=d.QuoteRequestRejectReason(99),
                    ),
                )

    def _forget(self, rfq: Rfq) -> None:
        """Drop a closed RFQ and its quotes from every index (a newer one with the same ids
        stays)."""
        if self.rfqs.get(rfq.rfq_id) is rfq:
            del self.rfqs[rfq.rfq_id]
        key = (rfq.account, rfq.quote_req_id)
        if self._rfq_by_client.get(key) is rfq:
            del self._rfq_by_client[key]
        for quote in rfq.quotes:
            if self.quotes.get(quote.quote_id) is quote:
                del self.quotes[quote.quote_id]

    def void(self, quote: Quote, *, session: ClientSession | None) -> None:
        """Drop an accepted quote: 35=AI 17 to the maker, the creator's acceptance fails."""
        d = self.state.d
        rfq = quote.rfq
        quote.state = "cancelled"
        rfq.accepted = None
        makers = (
            [session]
            if session is not None
            else self.targets(quote.account, quote.session_id, self.maker_types)
        )
        for s in makers:
            self.state.send(s, self.quote_status(quote, s, 17))
        order = quote.order
        if order is not None:
            order.rfq = False
            self.orders.cancel(order, text="EXPIRED")
            return
        for s in self.targets(rfq.account, quote.accept_session, self.creator_types):
            self.state.send(
                s,
                d.AcceptQuoteStatus(
                    quote_id=quote.requested_id,
                    accept_quote_status=d.AcceptQuoteStatusValue(1),
                    cl_ord_id=quote.accept_cl,
                    text="EXPIRED",
                ),
            )

    # -- RFQ: creator ---------------------------------------------------------------------------

    def on_quote_request(self, session: ClientSession, msg: Any) -> None:
        """QuoteRequest (35=R) from a creator: 35=b and the broadcast; or 35=AG."""
        d = self.state.d
        req_id = as_text(msg.quote_req_id)

        def reject(reason: int, text: str) -> None:
            self.state.send(
                session,
                d.QuoteRequestReject(
                    text=text,
                    quote_req_id=req_id or NONE_ID,
                    quote_request_reject_reason=self.state.enum("QuoteRequestRejectReason", reason),
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
        symbol = as_text(entry.symbol)
        qty_raw, cash_raw = entry.order_qty, entry.cash_order_qty
        if symbol is None or (qty_raw is None) == (cash_raw is None):
            return reject(99, "INVALID_ORDER")
        qty: Decimal | None = None
        cash: Decimal | None = None
        if qty_raw is not None:
            raw = as_dec(qty_raw)
            if raw is not None and raw > MAX_QTY:
                return reject(3, "QUOTE_REQUEST_EXCEEDS_LIMIT")
            qty = self.state.valid_qty(qty_raw)
            if qty is None:
                return reject(99, "INVALID_ORDER")
        else:
            cash = as_dec(cash_raw)
            if cash is not None and cash > MAX_CASH:
                return reject(3, "QUOTE_REQUEST_EXCEEDS_LIMIT")
            if cash is None or cash <= 0 or cash.quantize(CENT) != cash:
                return reject(99, "INVALID_ORDER")
        fees_excluded = entry.target_cost_excludes_fees is True
        if fees_excluded and cash is None:
            return reject(99, "INVALID_ORDER")
        parties = self.state.party_fields(msg.alloc_account, entry.party_ids)
        if isinstance(parties, str):
            return reject(99, parties)
        alloc, party = parties
        refusal = self.state.market_refusal(symbol)
        if refusal is not None:
            return reject(1 if refusal == "MARKET_NOT_FOUND" else 99, refusal)
        account = session.account
        known = self._rfq_by_client.get((account, req_id))
        if known is not None and known.open:
            return reject(99, "RFQ already exists")
        holder = holder_of(account, alloc, party)
        same = [
            r
            for r in self.open_rfqs.values()
            if r.account == account and r.holder == holder and r.symbol == symbol
        ]
        if same:
            if entry.replace_existing is not True:
                return reject(99, "RFQ already exists")
            newest = max(same, key=lambda r: r.seq)
            for r in same:
                if r is not newest and r.accepted is None:
                    self.close_rfq(r, "RFQ_REPLACED", expired=True)
        rfq = Rfq(
            rfq_id=self.state.uuid(),
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
            created=self.state.now,
            seq=self.state.next_seq(),
        )
        self.rfqs[rfq.rfq_id] = rfq
        self.open_rfqs[rfq.rfq_id] = rfq
        if self.state.due_listener is not None:
            self.state.due_listener()
        self._rfq_by_client[(account, req_id)] = rfq
        self.state.send(
            session,
            d.QuoteRequestAck(
                quote_req_id=req_id,
                quote_request_type=d.QuoteRequestType(1),
                rfq_id=rfq.rfq_id,
                ex_destination=0,
            ),
        )
        creator_id = self.public_id(account)
        created = to_ms(utc(rfq.created))
        for s in self.state.sessions.values():
            if s.session_type not in self.maker_types:
                continue
            pid = creator_id if s.account == account or not rfq.obscure else OBSCURED_CREATOR_ID
            self.state.send(
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

    def acceptable(
        self,
        session: ClientSession,
        quote_id: str | None,
        rfq_id: str | None,
        side: str | None,
        qty_raw: object,
        *,
        prefer_better: bool,
    ) -> tuple[Quote, str, Decimal] | Refusal:
        """The quote, side and quantity an acceptance takes, or why it is refused."""
        quote = self.quotes.get(quote_id) if quote_id is not None else None
        if (
            quote is None
            or quote.rfq.account != session.account
            or (rfq_id is not None and rfq_id != quote.rfq.rfq_id)
        ):
            return Refusal("NOT_FOUND", 99)
        rfq = quote.rfq
        if not rfq.open:
            return Refusal("EXPIRED", 8)
        if rfq.accepted is not None:
            return Refusal("RFQ_ACCEPT_IN_PROGRESS", 99)
        if quote.state != "pending":
            return Refusal("EXPIRED", 8)
        if side != BUY and side != SELL:
            return Refusal("INVALID_ORDER", 11)
        refusal = self.state.market_refusal(rfq.symbol)
        if refusal is not None:
            return Refusal(refusal, 2)
        size = self.maker_size(quote, side)
        if not size:
            return Refusal("INVALID_ORDER", 11)  # no quote (or no size) on that side
        qty = size if qty_raw is None else self.state.valid_qty(qty_raw)
        if qty is None or qty > size:
            return Refusal("INVALID_ORDER", 11)
        if prefer_better:
            for other in rfq.quotes:
                px, best = self.maker_px(other, side), self.maker_px(quote, side)
                other_size = self.maker_size(other, side)
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

    def accept(
        self,
        quote: Quote,
        side: str,
        qty: Decimal,
        session: ClientSession,
        *,
        cl_ord_id: str | None,
        requested_id: str,
        order: Order | None,
    ) -> None:
        """Mark a quote accepted; the maker has `QUOTE_CONFIRM_SECONDS` to confirm."""
        quote.state = "accepted"
        quote.side = side
        quote.qty = qty
        quote.deadline = self.state.now + QUOTE_CONFIRM_SECONDS
        quote.requested_id = requested_id
        quote.accept_session = session.session_id
        quote.accept_cl = cl_ord_id
        quote.order = order
        quote.rfq.accepted = quote

    def notify_accepted(self, quote: Quote) -> None:
        """35=AI 297=0 to the maker."""
        for s in self.targets(quote.account, quote.session_id, self.maker_types):
            self.state.send(s, self.quote_status(quote, s, 0))

    def on_accept_quote(self, session: ClientSession, msg: Any) -> None:
        """AcceptQuote (35=UA): 35=UC to the creator, 35=AI 297=0 to the maker."""
        d = self.state.d
        qid = as_text(msg.quote_id)
        cl = as_text(msg.cl_ord_id)

        def answer(status: int, text: str | None = None, accepted: str | None = None) -> None:
            self.state.send(
                session,
                d.AcceptQuoteStatus(
                    quote_id=qid or NONE_ID,
                    accept_quote_status=d.AcceptQuoteStatusValue(status),
                    accepted_quote_id=accepted,
                    cl_ord_id=cl,
                    text=text,
                ),
            )

        if (cl is not None and len(cl) > 64) or isinstance(
            self.state.party_fields(None, msg.parties), str
        ):
            return answer(1, "INVALID_ORDER")
        result = self.acceptable(
            session,
            qid,
            as_text(msg.rfq_id),
            as_text(msg.side),
            msg.order_qty,
            prefer_better=msg.prefer_better_quote is True,
        )
        if isinstance(result, Refusal):
            return answer(1, result.text)
        quote, side, qty = result
        assert qid is not None  # a quote was found
        self.accept(quote, side, qty, session, cl_ord_id=cl, requested_id=qid, order=None)
        answer(0, accepted=quote.quote_id)
        self.notify_accepted(quote)

    def on_quote_order(
        self,
        session: ClientSession,
        msg: Any,
        cl: str,
        side: str,
        symbol: str,
        qty: Decimal,
        price: Decimal,
    ) -> None:
        """NewOrderSingle with QuoteID: accept a quote (the rest of the usual checks first)."""
        bad = self.reports.reject_new_order
        quote_id = as_text(msg.quote_id)
        inst = as_text(msg.exec_inst)
        if quote_id is None or (inst is not None and "E" in inst.split()):
            return bad(session, msg, "INVALID_ORDER", 11)
        if isinstance(self.state.parties(msg), str):
            return bad(session, msg, "INVALID_ORDER", 11)
        existing = self.state.by_cl.get((session.account, cl))
        if existing is not None and existing.open:
            return bad(session, msg, "ORDER_ALREADY_EXISTS", 6)
        result = self.acceptable(
            session, quote_id, as_text(msg.rfq_id), side, qty, prefer_better=False
        )
        if isinstance(result, Refusal):
            if result.text == "NOT_FOUND":  # not an ExecutionReport text (removed 2026-04-04)
                return bad(session, msg, "INVALID_ORDER", 11)
            return bad(session, msg, result.text, result.reason)
        quote, side, qty = result
        rfq = quote.rfq
        if symbol != rfq.symbol:
            return bad(session, msg, "INVALID_ORDER", 11)
        trade_px = self.trade_px(quote, side)
        if trade_px > price if side == BUY else trade_px < price:
            return bad(session, msg, "INVALID_PRICE", 11)
        order = self.orders.new_order(
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
        del self.state.open[order.order_id]  # not in the book; found by ClOrdID only
        order.rfq = True
        self.reports.emit(self.reports.report(order, Status.NEW, Status.NEW))
        self.accept(quote, side, qty, session, cl_ord_id=cl, requested_id=quote_id, order=order)
        self.notify_accepted(quote)

    def on_rfq_cancel(self, session: ClientSession, msg: Any) -> None:
        """RFQCancel (35=UE): 35=UB, and the RFQ closes."""
        d = self.state.d
        req = as_text(msg.quote_req_id)
        rid = as_text(msg.rfq_id)
        echo = req or rid or NONE_ID

        def answer(status: int, text: str | None = None, rfq_id: str | None = rid) -> None:
            self.state.send(
                session,
                d.RFQCancelStatus(
                    quote_req_id=echo,
                    rfq_cancel_status=d.RFQCancelStatusValue(status),
                    rfq_id=rfq_id,
                    text=text,
                ),
            )

        rfq: Rfq | None = None
        if rid is not None:
            rfq = self.rfqs.get(rid)
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
        self.close_rfq(rfq, "RFQ_CANCELLED", expired=False)
