"""Pauses and settlement: the exchange-wide trading status and settling a market.

* `pause` cancels CancelOrderOnPause orders when a pause begins (``TRADING_PAUSED`` /
  ``EXCHANGE_PAUSED``), sends SecurityStatus 2 to subscribers (prediction); `resume` sends 3.
  New orders and replaces are refused during a pause (ER 103=2 / 35=9 102=99 with
  ``TRADING_PAUSED`` or ``EXCHANGE_PAUSED``); cancels are refused during an exchange pause only.
* `settle` (prediction only) cancels the market's orders (``MARKET_ALREADY_CLOSED``), voids a
  pending quote acceptance and closes the market's RFQs, sends SecurityStatus 100 then 101 (and
  drops those status subscriptions), and sends MarketSettlementReports with one party entry per
  position holder of the account (YES as LongQty, NO as ShortQty, PAYOUT = $1 per winning
  contract minus the settlement fee, MiscFeeAmt the fee: the exchange's fee model, by default
  0 as on Kalshi for yes/no markets), pages of ``fragment_size`` parties with
  TotNumMarketSettlementReports and LastFragment, to the account's sessions of the types the
  spec lists as receiving 35=UMS: KalshiPT always, KalshiNR/RT when connected with
  ``settlement_reports=True``. SettlementPrice(730) is written as the docs' examples write it,
  cents with two decimals (``730=100.00`` for yes, ``730=0.00`` for no). Orders for a settled
  market are rejected with ``MARKET_ALREADY_CLOSED`` (103=2).
"""

from __future__ import annotations

from decimal import Decimal

from .common import CENT, HOUSE_ACCOUNT, ONE, TICK, ZERO, eastern, utc
from .market_data import MarketData
from .model import Book, SettlementView
from .orders import Orders
from .rfq import Rfqs
from .routing import SETTLEMENT_REPORT
from .state import ExchangeState

__all__ = ["Settlement"]


def _amount(value: Decimal) -> Decimal:
    """Dollars as sent: to the cent, or to 4 decimals when a fee model charges sub-cent."""
    return value.quantize(TICK if value != value.quantize(CENT) else CENT)


class Settlement:
    """Pauses, resumptions and market settlement."""

    def __init__(self, state: ExchangeState, orders: Orders, rfqs: Rfqs, md: MarketData) -> None:
        self.state = state
        self.orders = orders
        self.rfqs = rfqs
        self.md = md
        self._receivers = state.routing.received_on(SETTLEMENT_REPORT)

    def pause(self, *, exchange: bool) -> None:
        """Begin a pause; when none was on, cancel CancelOrderOnPause orders and send status 2."""
        was = self.state.pause
        self.state.pause = "exchange" if exchange else "trading"
        if was is None:
            text = "EXCHANGE_PAUSED" if exchange else "TRADING_PAUSED"
            for order in self.state.orders_where(lambda o: o.cancel_on_pause):
                self.orders.cancel(order, text=text)
            self._send_status_all(2)

    def resume(self) -> None:
        """End a pause (no effect when not paused): status 3."""
        if self.state.pause is not None:
            self.state.pause = None
            self._send_status_all(3)

    def _send_status_all(self, status: int) -> None:
        for symbol, book in self.state.books.items():
            if not book.settled:
                self.md.send_status(symbol, status)

    def settleable(self, symbol: str, result: str, fragment_size: int) -> Book:
        """The book of a market that may be settled so.

        Raises:
            ValueError: margin product, unknown or settled market, bad result or fragment size.
        """
        if not self.state.prediction:
            raise ValueError("margin markets are not settled over FIX")
        if result not in ("yes", "no"):
            raise ValueError(f"result must be 'yes' or 'no', got {result!r}")
        if fragment_size < 1:
            raise ValueError(f"fragment_size must be >= 1, got {fragment_size}")
        book = self.state.books.get(symbol)
        if book is None:
            raise ValueError(f"unknown market {symbol!r}")
        if book.settled:
            raise ValueError(f"market {symbol} is already settled")
        return book

    def settle(self, book: Book, result: str, fragment_size: int) -> None:
        """Settle a market `settleable` returned (see the module docstring)."""
        symbol = book.symbol
        for order in self.state.orders_where(lambda o: o.symbol == symbol):
            self.orders.cancel(order, text="MARKET_ALREADY_CLOSED")
        for rfq in [r for r in self.rfqs.open_rfqs.values() if r.symbol == symbol]:
            if rfq.accepted is not None:
                self.rfqs.void(rfq.accepted, session=None)
            self.rfqs.close_rfq(rfq, "MARKET_ALREADY_CLOSED", expired=True)
        book.settled = True
        self.md.send_status(symbol, 100)
        self.md.send_status(symbol, 101)
        for s in self.state.sessions.values():
            s.status_symbols.discard(symbol)
        self.settlement_reports(symbol, result, fragment_size)

    def settlement_reports(self, symbol: str, result: str, fragment_size: int) -> None:
        """Pay out the market's positions: MarketSettlementReport pages per account."""
        d = self.state.d
        by_account: dict[str, list[tuple[str, Decimal]]] = {}
        for key in sorted(k for k in self.state.positions if k[0] == symbol):
            pos = self.state.positions.pop(key)
            if pos != 0:
                by_account.setdefault(key[1], []).append((key[2], pos))
        clearing = eastern(utc(self.state.now)).date()
        # dollars in the typed message; the wire is cents with 2 decimals, as in the docs'
        # examples (730=100.00): a 4-decimal dollar value keeps those 2 cent decimals
        price = (ONE if result == "yes" else ZERO).quantize(TICK)
        for account, parties in by_account.items():
            charged = []
            for holder, pos in parties:
                long_qty, short_qty = max(pos, ZERO), max(-pos, ZERO)
                won = long_qty if result == "yes" else short_qty
                fee = self.state.settlement_fee(symbol, won)
                charged.append((holder, pos, won - fee, fee))
                view = SettlementView(
                    time=self.state.now,
                    account=account,
                    holder=holder,
                    symbol=symbol,
                    result=result,
                    position=pos,
                    payout=won - fee,
                    fee=fee,
                )
                if account != HOUSE_ACCOUNT:
                    for listener in self.state.settlement_listeners:
                        listener(view)
            recipients = [
                s
                for s in self.state.sessions.values()
                if s.account == account
                and s.session_type in self._receivers
                and s.settlement_reports
            ]
            if not recipients:
                continue
            pages = [charged[i : i + fragment_size] for i in range(0, len(charged), fragment_size)]
            for n, page in enumerate(pages, start=1):
                entries = []
                for holder, pos, payout, fee in page:
                    long_qty, short_qty = max(pos, ZERO), max(-pos, ZERO)
                    entries.append(
                        d.MarketSettlementReportMarketSettlementPartyID(
                            market_settlement_party_id=holder,
                            market_settlement_party_role=d.MarketSettlementPartyRole(24),
                            long_qty=long_qty.quantize(CENT),
                            short_qty=short_qty.quantize(CENT),
                            collateral_amount_changes=(
                                d.CollateralAmountChange(
                                    collateral_amount_change=_amount(payout),
                                    collateral_amount_type=d.CollateralAmountType("PAYOUT"),
                                ),
                            ),
                            misc_fees=(
                                d.MiscFee(
                                    misc_fee_amt=_amount(fee),
                                    misc_fee_curr="USD",
                                    misc_fee_type=d.MiscFeeType("4"),
                                    misc_fee_basis=d.MiscFeeBasis(0),
                                ),
                            ),
                        )
                    )
                report = d.MarketSettlementReport(
                    market_settlement_report_id=self.state.uuid(),
                    symbol=symbol,
                    clearing_business_date=clearing,
                    tot_num_market_settlement_reports=len(pages),
                    market_result=d.MarketResult(result),
                    settlement_price=price,
                    market_settlement_party_ids=tuple(entries),
                    last_fragment=n == len(pages),
                )
                for session in recipients:
                    self.state.send(session, report)
