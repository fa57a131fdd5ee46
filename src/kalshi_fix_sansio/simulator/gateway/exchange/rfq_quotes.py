"""RFQ, the market makers' side (prediction only): quotes, quote cancels, confirmations.

Makers quote on KalshiRFQ sessions (the spec's senders of 35=S). The RFQs themselves, their
acceptance and closure are in `rfq`.

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
* Confirm: 35=U7 from the maker's account within `QUOTE_CONFIRM_SECONDS` (``now <
  accepted + 30``) -> 35=U8 21010=0, then the trade: New reports (the 35=D order already has
  one) and Trade reports for the creator (taker: aggressor, taker fee; to the accepting
  session) and the maker (maker fee; ClOrdID = QuoteID; to the maker account's KalshiNR/RT
  sessions, since KalshiRFQ carries no 35=8), positions and drop-copy history updated, a
  35=X trade entry with TrdType 1 (block trade), and the RFQ closes (RestRemainder is not
  modelled). Refusals: 35=U8 21010=1 ``NOT_FOUND``, ``QUOTE_NOT_ACCEPTED``, ``EXPIRED`` or
  the market texts (a pause blocks confirmation; the quote is then voided on time).
* 35=Z (maker account's quote): pending -> 35=AI 297=17 then 35=U9 298=0; accepted -> voided
  as above, then 35=U9 298=0; unknown or other account's -> 298=1 ``NOT_FOUND``; finished ->
  298=1 ``EXPIRED``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .common import BUY, NONE_ID, ONE, SELL, Status, as_dec, as_int, as_text, to_ms, utc
from .market_data import MarketData
from .matching import Matching
from .model import ClientSession, Quote
from .orders import Orders
from .reports import Reports
from .rfq import Rfqs
from .state import ExchangeState

__all__ = ["Quotes"]


class Quotes:
    """The market makers' requests: quotes, quote cancels and confirmations."""

    def __init__(
        self,
        state: ExchangeState,
        rfqs: Rfqs,
        orders: Orders,
        matching: Matching,
        reports: Reports,
        md: MarketData,
    ) -> None:
        self.state = state
        self.rfqs = rfqs
        self.orders = orders
        self.matching = matching
        self.reports = reports
        self.md = md

    def on_quote(self, session: ClientSession, msg: Any) -> None:
        """Quote (35=S) from a maker: 35=AI 297=10 and a 35=S to the creator; or 297=5."""
        d = self.state.d
        qid = as_text(msg.quote_id)
        rid = as_text(msg.quote_req_id)
        alloc_raw = msg.alloc_account
        alloc = as_int(alloc_raw)

        def reject(text: str) -> None:
            self.state.send(
                session,
                d.QuoteStatusReport(
                    quote_id=qid or NONE_ID,
                    quote_req_id=rid or NONE_ID,
                    quote_status=d.QuoteStatus(5),
                    text=text,
                ),
            )

        if qid is None or len(qid) > 64 or rid is None:
            return reject("INVALID_ORDER")
        if alloc_raw is not None and (alloc is None or not 0 <= alloc <= 63):
            return reject("INVALID_ORDER")
        rfq = self.rfqs.rfqs.get(rid)
        if rfq is None:
            return reject("NOT_FOUND")
        if not rfq.open:
            return reject("EXPIRED")
        if as_text(msg.symbol) != rfq.symbol:
            return reject("INVALID_ORDER")
        if rfq.account == session.account:
            return reject("SELF_CROSS_ATTEMPT")
        prices: list[Decimal | None] = []
        for raw in (msg.bid_px, msg.offer_px):
            if raw is None or as_dec(raw) == 0:
                prices.append(None)
                continue
            px = self.state.valid_price(raw)
            if px is None:
                return reject("INVALID_PRICE")
            prices.append(px)
        yes_px, no_px = prices
        if yes_px is None and no_px is None:
            return reject("INVALID_PRICE")
        if yes_px is not None and no_px is not None and yes_px + no_px > ONE:
            return reject("INVALID_PRICE")
        refusal = self.state.market_refusal(rfq.symbol)
        if refusal is not None:
            return reject(refusal)
        existing = self.rfqs.quotes.get(qid)
        if existing is not None and (
            existing.state == "accepted"
            or (existing.state == "pending" and existing.account != session.account)
        ):
            return reject("ORDER_ALREADY_EXISTS")
        yes_size = self.rfqs.quote_size(rfq, yes_px, yes=True)
        no_size = self.rfqs.quote_size(rfq, no_px, yes=False)
        if not yes_size and not no_size:
            return reject("INVALID_ORDER")  # the RFQ's cash buys no contract at these prices
        if existing is not None and existing.state == "pending":
            existing.state = "cancelled"  # the maker reuses its own QuoteID
        for other in self.rfqs.open_rfqs.values():  # replaces the maker's quote on this market
            if other.symbol == rfq.symbol:
                for q in other.quotes:
                    if q.state == "pending" and q.account == session.account:
                        q.state = "cancelled"
        quote = Quote(
            quote_id=qid,
            rfq=rfq,
            account=session.account,
            alloc_account=alloc,
            session_id=session.session_id,
            yes_px=yes_px,
            no_px=no_px,
            yes_size=yes_size,
            no_size=no_size,
            created=self.state.now,
            seq=self.state.next_seq(),
        )
        self.rfqs.quotes[qid] = quote
        rfq.quotes.append(quote)
        self.state.send(session, self.rfqs.quote_status(quote, session, 10))
        maker_id = self.rfqs.public_id(session.account)
        for s in self.rfqs.targets(rfq.account, rfq.session_id, self.rfqs.creator_types):
            self.state.send(
                s,
                d.Quote(
                    quote_id=qid,
                    quote_req_id=rfq.rfq_id,
                    symbol=rfq.symbol,
                    bid_px=self.rfqs.quote_px(s, yes_px),
                    offer_px=self.rfqs.quote_px(s, no_px),
                    order_qty=rfq.qty,
                    bid_size=yes_size,
                    offer_size=no_size,
                    transact_time=to_ms(utc(quote.created)),
                    parties=(d.Party(party_id=maker_id, party_role=d.PartyRole(35)),),
                ),
            )

    def maker_quote(
        self, session: ClientSession, quote_id: str | None, rfq_id: str | None
    ) -> Quote | None:
        """The maker account's quote named by a request (None: unknown or not theirs)."""
        quote = self.rfqs.quotes.get(quote_id) if quote_id is not None else None
        if (
            quote is None
            or quote.account != session.account
            or (rfq_id is not None and rfq_id != quote.rfq.rfq_id)
        ):
            return None
        return quote

    def on_quote_cancel(self, session: ClientSession, msg: Any) -> None:
        """QuoteCancel (35=Z): withdraw a pending quote or void an accepted one."""
        d = self.state.d
        qid = as_text(msg.quote_id)

        def answer(status: int, text: str | None = None) -> None:
            self.state.send(
                session,
                d.QuoteCancelStatus(
                    quote_id=qid or NONE_ID,
                    quote_cancel_status=d.QuoteCancelStatusValue(status),
                    text=text,
                ),
            )

        quote = self.maker_quote(session, qid, as_text(msg.rfq_id))
        if quote is None:
            return answer(1, "NOT_FOUND")
        if quote.state == "pending":
            quote.state = "cancelled"
            self.state.send(session, self.rfqs.quote_status(quote, session, 17))
        elif quote.state == "accepted":
            self.rfqs.void(quote, session=session)
        else:
            return answer(1, "EXPIRED")
        answer(0)

    def on_quote_confirm(self, session: ClientSession, msg: Any) -> None:
        """QuoteConfirm (35=U7): 35=U8, then the trade."""
        d = self.state.d
        qid = as_text(msg.quote_id)

        def answer(status: int, text: str | None = None) -> None:
            self.state.send(
                session,
                d.QuoteConfirmStatus(
                    quote_id=qid or NONE_ID,
                    quote_confirm_status=d.QuoteConfirmStatusValue(status),
                    text=text,
                ),
            )

        quote = self.maker_quote(session, qid, as_text(msg.rfq_id))
        if quote is None:
            return answer(1, "NOT_FOUND")
        if quote.state == "pending":
            return answer(1, "QUOTE_NOT_ACCEPTED")
        if quote.state != "accepted":
            return answer(1, "EXPIRED")
        refusal = self.state.market_refusal(quote.rfq.symbol)
        if refusal is not None:
            return answer(1, refusal)
        answer(0)
        self.execute_quote(quote)

    def execute_quote(self, quote: Quote) -> None:
        """Trade a confirmed quote: New and Trade reports for the creator and the maker."""
        rfq = quote.rfq
        side, qty = quote.side, quote.qty
        price = self.rfqs.trade_px(quote, side)
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
            creator = self.orders.new_order(
                cl_ord_id=quote.accept_cl or quote.requested_id,
                account=rfq.account,
                alloc=rfq.alloc_account,
                party=rfq.party_id,
                session_id=quote.accept_session,
                side=side,
                **common,
            )
            self.reports.emit(self.reports.report(creator, Status.NEW, Status.NEW))
        creator.rfq = False
        maker = self.orders.new_order(
            cl_ord_id=quote.quote_id,
            account=quote.account,
            alloc=quote.alloc_account,
            party=None,
            session_id=None,
            side=SELL if side == BUY else BUY,
            **common,
        )
        self.reports.emit(self.reports.report(maker, Status.NEW, Status.NEW))
        self.matching.fill(creator, maker, price, qty)
        self.md.trades[-1].block = True
        quote.state = "executed"
        rfq.accepted = None
        self.rfqs.close_rfq(rfq, "RFQ_EXECUTED", expired=False)
