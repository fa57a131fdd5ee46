"""The RFQ family of the request builders (prediction): QuoteRequest, Quote, AcceptQuote,
QuoteConfirm, QuoteCancel and RFQCancel.

Private: `kalshi_fix_sansio.trading.builders.Requests` has these methods (it derives from
`RfqRequests`); their checks are `RequestsCore`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..codec import Message, dialect
from ..codec.ranges import RequestError
from ._requests_core import RequestsCore

__all__ = ["RfqRequests"]


class RfqRequests(RequestsCore):
    """The RFQ builders of `Requests <kalshi_fix_sansio.trading.builders.Requests>`."""

    # -- RFQ (prediction) -------------------------------------------------------------------

    def _rfq(self, msg_type: str, name: str) -> None:
        if self.product == "margin":
            raise RequestError(
                msg_type, None, None, f"{name}: RFQs and quotes are not available on margin"
            )
        self._carried(msg_type, name)

    def create_rfq(
        self,
        symbol: str | None = None,
        *,
        order_qty: Decimal | int | None = None,
        cash_order_qty: Decimal | int | None = None,
        quote_req_id: str | None = None,
        collection: str | None = None,
        legs: Sequence[tuple[str, str, str]] | None = None,
        alloc_account: int | None = None,
        target_cost_excludes_fees: bool | None = None,
        obscure_creator_id: bool | None = None,
        rest_remainder: bool | None = None,
        replace_existing: bool | None = None,
        party_id: str | None = None,
    ) -> Message:
        """QuoteRequest (35=R, creator on KalshiRT): an RFQ for one market (``symbol``) or an MVE
        combination (``collection`` + ``legs`` of (event ticker, market ticker, "yes"/"no")),
        sized by ``order_qty`` (0.01 steps) or ``cash_order_qty`` (dollars). The per-RFQ flags
        go inside the NoRelatedSym group, where Kalshi reads them."""
        self._rfq("R", "QuoteRequest")
        p = dialect("prediction")
        if (symbol is None) == (collection is None):
            raise RequestError(
                "R", "Symbol", 55, "give either a symbol or an MVE collection with legs"
            )
        if collection is not None and not legs:
            raise RequestError(
                "R",
                "NoMultivariateSelectedLegs",
                20181,
                "required with MultivariateCollectionTicker(20180)",
            )
        if legs and collection is None:
            raise RequestError("R", "MultivariateCollectionTicker", 20180, "required with legs")
        if (order_qty is None) == (cash_order_qty is None):
            raise RequestError(
                "R", "OrderQty", 38, "give exactly one of OrderQty(38) and CashOrderQty(152)"
            )
        if target_cost_excludes_fees and cash_order_qty is None:
            raise RequestError("R", "TargetCostExcludesFees", 21033, "only with CashOrderQty(152)")
        qty = None if order_qty is None else self._qty(order_qty, "R")
        cash = (
            None if cash_order_qty is None else self._qty(cash_order_qty, "R", "CashOrderQty", 152)
        )
        leg_groups = None
        if legs:
            leg_groups = []
            for event, market, side in legs:
                if side not in ("yes", "no"):
                    raise RequestError(
                        "R", "MultivariateSelectedSide", 20184, "'yes' or 'no'", repr(side)
                    )
                leg_groups.append(
                    p.QuoteRequestMultivariateSelectedLeg(
                        multivariate_selected_event_ticker=self._text(
                            event, "R", "MultivariateSelectedEventTicker", 20182
                        ),
                        multivariate_selected_market_ticker=self._text(
                            market, "R", "MultivariateSelectedMarketTicker", 20183
                        ),
                        multivariate_selected_side=p.MultivariateSelectedSide(side),
                    )
                )
        parties = None
        if party_id is not None:
            parties = [
                p.QuoteRequestRelatedSymPartyID(
                    party_id=self._text(party_id, "R", "PartyID", 448),
                    party_role=p.PartyRole.CUSTOMER_ACCOUNT,
                )
            ]
        entry_fields: dict[str, Any] = {
            "symbol": None if symbol is None else self._text(symbol, "R", "Symbol", 55),
            "order_qty": qty,
            "cash_order_qty": cash,
            "target_cost_excludes_fees": target_cost_excludes_fees,
            "obscure_creator_id": obscure_creator_id,
            "rest_remainder": rest_remainder,
            "replace_existing": replace_existing,
            "party_ids": parties,
        }
        entry = p.QuoteRequestRelatedSym(**{k: v for k, v in entry_fields.items() if v is not None})
        return self._build(
            "QuoteRequest",
            quote_req_id=self._id(quote_req_id, "R", "QuoteReqID", 131),
            related_sym=[entry],
            alloc_account=self._alloc(alloc_account, "R"),
            multivariate_collection_ticker=None
            if collection is None
            else self._text(collection, "R", "MultivariateCollectionTicker", 20180),
            multivariate_selected_legs=leg_groups,
        )

    def quote(
        self,
        quote_req_id: str,
        symbol: str,
        *,
        bid_px: Decimal | None = None,
        offer_px: Decimal | None = None,
        quote_id: str | None = None,
        post_only: bool = False,
        alloc_account: int | None = None,
        rest_remainder: bool | None = None,
    ) -> Message:
        """Quote (35=S, market maker on KalshiRFQ) answering the RFQ ``quote_req_id``: ``bid_px``
        is the YES price, ``offer_px`` the NO price, in dollars on whole cents 1-99 (the wire
        carries integer cents there); one side may be left out, not both."""
        self._rfq("S", "Quote")
        p = dialect("prediction")
        if bid_px in (None, 0) and offer_px in (None, 0):
            raise RequestError("S", "BidPx", 132, "quote at least one side (BidPx or OfferPx)")
        bid = None if bid_px in (None, 0) else self._quote_px(bid_px, "BidPx", 132)
        offer = None if offer_px in (None, 0) else self._quote_px(offer_px, "OfferPx", 133)
        return self._build(
            "Quote",
            quote_id=self._id(quote_id, "S", "QuoteID", 117),
            quote_req_id=self._text(quote_req_id, "S", "QuoteReqID", 131),
            symbol=self._text(symbol, "S", "Symbol", 55),
            bid_px=bid,
            offer_px=offer,
            exec_inst=p.ExecInst.POST_ONLY if post_only else None,
            alloc_account=self._alloc(alloc_account, "S"),
            rest_remainder=rest_remainder,
        )

    def _quote_px(self, value: Any, field: str, tag: int) -> Decimal:
        # the maker's 35=S prices are integer cents 1-99 whatever UseDollars says (rfq.md §3.1)
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise RequestError("S", field, tag, "a price is a Decimal in dollars", repr(value))
        return Decimal(value)  # whole cents 1-99: spec/ranges.yaml, checked in _build

    def accept_quote(
        self,
        quote_id: str,
        side: Any,
        *,
        order_qty: Decimal | int | None = None,
        rfq_id: str | None = None,
        cl_ord_id: str | None = None,
        prefer_better_quote: bool | None = None,
        party_id: str | None = None,
    ) -> Message:
        """AcceptQuote (35=UA, creator on KalshiRT): side ``buy``/1 accepts the maker's NO quote,
        ``sell``/2 the YES quote; ``order_qty`` in 0.01 steps."""
        self._rfq("UA", "AcceptQuote")
        return self._build(
            "AcceptQuote",
            quote_id=self._text(quote_id, "UA", "QuoteID", 117),
            rfq_id=self._text(rfq_id, "UA", "RfqId", 21023, required=False),
            side=self._side(side, "UA"),
            order_qty=None if order_qty is None else self._qty(order_qty, "UA"),
            cl_ord_id=None if cl_ord_id is None else self._id(cl_ord_id, "UA"),
            parties=self._parties(party_id, "UA"),
            prefer_better_quote=prefer_better_quote,
        )

    def confirm_quote(self, quote_id: str, rfq_id: str | None = None) -> Message:
        """QuoteConfirm (35=U7, KalshiRFQ): confirm an accepted quote within 30 s. Giving
        ``rfq_id`` makes it cheaper in rate-limit tokens."""
        self._rfq("U7", "QuoteConfirm")
        return self._build(
            "QuoteConfirm",
            quote_id=self._text(quote_id, "U7", "QuoteID", 117),
            rfq_id=self._text(rfq_id, "U7", "RfqId", 21023, required=False),
        )

    def cancel_quote(self, quote_id: str, rfq_id: str | None = None) -> Message:
        """QuoteCancel (35=Z, KalshiRFQ): withdraw one of our quotes."""
        self._rfq("Z", "QuoteCancel")
        return self._build(
            "QuoteCancel",
            quote_id=self._text(quote_id, "Z", "QuoteID", 117),
            rfq_id=self._text(rfq_id, "Z", "RfqId", 21023, required=False),
        )

    def cancel_rfq(
        self,
        quote_req_id: str | None = None,
        *,
        rfq_id: str | None = None,
        party_id: str | None = None,
    ) -> Message:
        """RFQCancel (35=UE, KalshiRT): cancel our RFQ by its client id (QuoteReqID) or the
        server's RfqId (one of them is required)."""
        self._rfq("UE", "RFQCancel")
        if quote_req_id is None and rfq_id is None:
            raise RequestError("UE", "QuoteReqID", 131, "required unless RfqId(21023) is given")
        return self._build(
            "RFQCancel",
            quote_req_id=self._text(quote_req_id, "UE", "QuoteReqID", 131, required=False),
            rfq_id=self._text(rfq_id, "UE", "RfqId", 21023, required=False),
            parties=self._parties(party_id, "UE"),
        )
