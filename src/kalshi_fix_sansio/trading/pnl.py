"""Profit and loss per market: fills, fees, settlement, and the mark against a book's mid.

`MarketPnL` is one market's account: what was bought and sold at what cost, the fees, and the
settlement when the market settled (the position is then closed at the settlement price). Its
numbers are the ones both a live session (`OrderTracker.pnl`) and a paper-trading report
(`kalshi_fix_sansio.simulator.gateway.paper`) show. `PnLLedger` keeps a `MarketPnL` per market from fills and
settlement reports. Nothing here does I/O or reads a clock.

    >>> from decimal import Decimal as D
    >>> ledger = PnLLedger()
    >>> ledger.add("M", "1", D("0.40"), D(10), fee=D("0.17"))
    >>> ledger.add("M", "2", D("0.50"), D(4), fee=D("0.07"))
    >>> m = ledger.market("M")
    >>> m.position, m.realized, m.unrealized(D("0.45"))
    (Decimal('6'), Decimal('0.16'), Decimal('0.30'))
    >>> ledger.settle("M", D(1))
    >>> m.position, m.realized
    (Decimal('0'), Decimal('3.76'))

Conventions (prediction: one YES contract pays $1 when the market settles yes):

* ``position`` is signed YES contracts: buys +, sells - (a sell opens or grows a NO position).
* ``cash = sell proceeds - buy cost - fees + funding + rebates``: the money the trades moved
  (fees included; perps funding received and fee rebates, when a `FundingSchedule
  <kalshi_fix_sansio.trading.funding.FundingSchedule>` or `Rebates
  <kalshi_fix_sansio.trading.funding.Rebates>` is applied, else 0).
* ``total(mark) = cash + position x mark``: computed from the cash flows, exact (no
  average price in it).
* ``realized``: settled, ``cash + contracts held x settlement price - settlement fee`` (exact);
  otherwise the closed part of the trades, at the average price of the side held: the
  proceeds (or cost) of the contracts closed less their share of the cost (or proceeds) of
  the side held, less the fees (``sell proceeds - sold x buy cost / bought - fees`` when
  long), plus the funding and rebates (money already paid). That share is exact when it
  divides; when it does not (1 @ 0.40 and 2 @ 0.41, one sold), it is rounded to a
  millionth of a dollar (half to even), the one figure rounded.
* ``unrealized(mark) = total(mark) - realized``: ``position x (mark - average price)``, so
  that realized + unrealized is the exact total; 0 once settled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from decimal import Decimal, Inexact, localcontext
from typing import TYPE_CHECKING, Any

import attrs

from ._orders import Position, _Trades
from .corporate import CorporateAction, CorporateActions
from .funding import FundingPayment
from .settlement import SettlementAssembler, SettlementReport

if TYPE_CHECKING:
    from ._orders import Fill
    from .book import Book
    from .funding import FundingRate, FundingSchedule, Rebates

__all__ = ["MarketPnL", "PnLLedger", "Settlements", "book_mid"]

_ZERO = Decimal(0)
_TWO = Decimal(2)
_MICRO = Decimal("0.000001")  # where a share of a cost does not divide, rounded to this


def _share(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``amount x part / whole``: exact when it divides, else rounded to a millionth (half to
    even; see the module docstring)."""
    product = amount * part
    with localcontext() as ctx:
        # enough digits for any quotient that terminates (a divisor of d digits has at most
        # 3.33 d factors of 2 or 5, each adding one decimal)
        ctx.prec = max(28, len(product.as_tuple().digits) + 4 * len(whole.as_tuple().digits) + 2)
        ctx.traps[Inexact] = False
        ctx.clear_flags()
        share = product / whole
        if not ctx.flags[Inexact]:
            return share
    return share.quantize(_MICRO)


_COUNTS = attrs.filters.include(*(a.name for a in attrs.fields(_Trades)))  # a Position's fields


def book_mid(book: Book) -> Decimal | None:
    """The mid of a book's best bid and offer (one side only: that side's best; None: empty)."""
    bid, offer = book.best_bid(), book.best_offer()
    if bid is not None and offer is not None:
        return (bid.price + offer.price) / _TWO
    if bid is not None:
        return bid.price
    return offer.price if offer is not None else None


@attrs.define
class MarketPnL(_Trades):
    """One market's profit and loss (see the module docstring for the conventions).

    Attributes:
        symbol: the market.
        bought, sold: contracts bought and sold (``net``: bought - sold, what was held at
            settlement once settled).
        buy_cost, sell_proceeds: sum of price x quantity per side, dollars.
        fees: trading fees paid, dollars.
        fills: how many fills.
        settlement_price: the YES settlement price in dollars once settled (1 yes, 0 no), else
            None.
        settlement_fee: the settlement fee, dollars.
        result: the market result once settled (``"yes"``, ``"no"``, ...), when known.
        funding: perps funding received, dollars (negative: paid; 0 without a schedule).
        rebates: fee rebates and incentives received, dollars (0 without `Rebates`).
        corporate: cash of corporate actions received (dividends, spin-offs; negative: paid
            by a short position), dollars (0 without `CorporateActions
            <kalshi_fix_sansio.trading.corporate.CorporateActions>`).
    """

    fills: int = 0
    settlement_price: Decimal | None = None
    settlement_fee: Decimal = _ZERO
    result: str | None = None
    funding: Decimal = _ZERO
    rebates: Decimal = _ZERO
    corporate: Decimal = _ZERO

    @classmethod
    def from_position(cls, position: Position, fills: int = 0) -> MarketPnL:
        """The account of a tracker `Position` (same fills, same numbers; a copy of it)."""
        counts = attrs.asdict(position, recurse=False)
        return cls(**counts, fills=fills)

    @property
    def trades(self) -> Position:
        """The fills counted as a tracker `Position` (a copy)."""
        return Position(**attrs.asdict(self, filter=_COUNTS, recurse=False))

    @property
    def settled(self) -> bool:
        """The market settled: the position is closed."""
        return self.settlement_price is not None

    @property
    def position(self) -> Decimal:
        """Signed YES contracts held now (0 once settled)."""
        return _ZERO if self.settled else self.net

    @property
    def cash(self) -> Decimal:
        """Sell proceeds - buy cost - fees + funding + rebates + corporate cash, dollars."""
        return (
            self.sell_proceeds
            - self.buy_cost
            - self.fees
            + self.funding
            + self.rebates
            + self.corporate
        )

    @property
    def realized(self) -> Decimal:
        """Realized P&L, dollars (see the module docstring)."""
        if self.settlement_price is not None:
            return self.cash + self.net * self.settlement_price - self.settlement_fee
        net = self.net
        paid = self.funding + self.rebates + self.corporate - self.fees
        if net > 0:  # long: the contracts sold closed part of the buys, at their average
            return self.sell_proceeds - _share(self.buy_cost, self.sold, self.bought) + paid
        if net < 0:  # short: the contracts bought closed part of the sells
            return _share(self.sell_proceeds, self.bought, self.sold) - self.buy_cost + paid
        return self.cash

    def unrealized(self, mark: Decimal | None) -> Decimal:
        """P&L of the open position at ``mark`` (None, or settled: 0), dollars:
        ``total(mark) - realized`` (see the module docstring)."""
        if self.settled or mark is None or self.net == 0:
            return _ZERO
        return self.cash + self.net * mark - self.realized

    def unrealized_at(self, book: Book) -> Decimal:
        """`unrealized` at the book's mid (`book_mid`)."""
        return self.unrealized(book_mid(book))

    def total(self, mark: Decimal | None) -> Decimal:
        """``realized + unrealized(mark)``, dollars: exact, from the cash flows."""
        if self.settled or mark is None or self.net == 0:
            return self.realized
        return self.cash + self.net * mark

    def add(self, side: str, price: Decimal, qty: Decimal, fee: Decimal = _ZERO) -> None:
        """Count one fill (side ``"1"`` buy, ``"2"`` sell; price in dollars).

        Raises:
            ValueError: ``side`` is neither ``"1"`` nor ``"2"`` (``"buy"`` is not counted as a
                sell).
        """
        if side != "1" and side != "2":
            raise ValueError(
                f"{self.symbol}: a fill's side is '1' (buy) or '2' (sell), FIX Side(54); "
                f"got {side!r}"
            )
        self._add(side, price, qty, fee)
        self.fills += 1

    def settle(self, price: Decimal, *, fee: Decimal = _ZERO, result: str | None = None) -> None:
        """Close the position at the settlement ``price`` (YES, dollars)."""
        self.settlement_price = price
        self.settlement_fee = fee
        self.result = result

    def apply_funding(self, payments: Iterable[FundingPayment]) -> None:
        """Count funding payments (`kalshi_fix_sansio.trading.funding.FundingPayment`)."""
        for payment in payments:
            self.funding += payment.amount


class PnLLedger:
    """`MarketPnL` per market, from fills and settlements."""

    def __init__(self) -> None:
        self._markets: dict[str, MarketPnL] = {}

    def market(self, symbol: str) -> MarketPnL:
        """A market's account (a new, empty one when nothing happened in it)."""
        found = self._markets.get(symbol)
        if found is None:
            found = self._markets[symbol] = MarketPnL(symbol)
        return found

    def get(self, symbol: str) -> MarketPnL | None:
        """A market's account, None when nothing happened in it."""
        return self._markets.get(symbol)

    @property
    def markets(self) -> dict[str, MarketPnL]:
        """Every market with a fill or a settlement."""
        return dict(self._markets)

    def add(self, symbol: str, side: str, price: Decimal, qty: Decimal, *, fee: Decimal) -> None:
        """Count one fill."""
        self.market(symbol).add(side, price, qty, fee)

    def add_fills(self, fills: Iterable[Fill], *, rebates: Rebates | None = None) -> None:
        """Count tracker fills (`kalshi_fix_sansio.trading.tracker.Fill`); with ``rebates``,
        each fill's rebate too (a fill is a maker's when its AggressorIndicator says so)."""
        for fill in fills:
            self.add(fill.symbol, fill.side, fill.price, fill.qty, fee=fill.fees)
            if rebates is not None:
                maker = fill.aggressor is False
                self.rebate(fill.symbol, rebates, fill.qty, fill.fees, maker=maker)

    def rebate(
        self, symbol: str, rebates: Rebates, qty: Decimal, fee: Decimal, *, maker: bool
    ) -> Decimal:
        """Count one fill's rebate under ``rebates`` (`kalshi_fix_sansio.trading.funding.Rebates`);
        returns it."""
        amount = rebates.rebate(symbol, qty, fee, maker=maker)
        if amount:
            self.market(symbol).rebates += amount
        return amount

    def corporate(self, action: CorporateAction) -> None:
        """Apply one corporate action now, at its time (every fill counted so far came before
        it): `CorporateActions.apply <kalshi_fix_sansio.trading.corporate.CorporateActions.apply>`;
        a ticker change moves the market's account to the new ticker (when it has none)."""
        account = self._markets.get(action.symbol)
        if account is None:
            return
        if action.kind == "ticker_change":
            new = action.new_ticker
            if new is not None and new not in self._markets:
                del self._markets[action.symbol]
                self._markets[new] = attrs.evolve(account, symbol=new)
            return
        CorporateActions().apply(account, action, (_ZERO, _ZERO))

    def fund(self, rate: FundingRate) -> FundingPayment | None:
        """Pay one funding rate on its market's position now (None: flat or settled, nothing
        paid)."""
        account = self._markets.get(rate.symbol)
        if account is None or not account.position:
            return None
        payment = FundingPayment(rate, account.position, rate.payment(account.position))
        account.funding += payment.amount
        return payment

    def settle(
        self,
        symbol: str,
        price: Decimal,
        *,
        fee: Decimal = _ZERO,
        result: str | None = None,
    ) -> None:
        """Close a market's position at its settlement ``price`` (YES, dollars)."""
        self.market(symbol).settle(price, fee=fee, result=result)

    def apply_settlement(self, report: SettlementReport) -> None:
        """Apply an assembled settlement (`kalshi_fix_sansio.trading.settlement.SettlementReport`):
        its SettlementPrice closes the position, its fees (every party entry of the report:
        Kalshi sends an account the entries of its own holders) are the settlement fee."""
        self.settle(
            report.symbol,
            report.settlement_price,
            fee=report.total_fee,
            result=report.market_result,
        )


class Settlements:
    """The settled markets of a session, from its MarketSettlementReports (35=UMS pages joined
    by a `SettlementAssembler`); `OrderTracker` keeps one (`OrderTracker.pnl`)."""

    def __init__(self) -> None:
        self._assembler: SettlementAssembler | None = None  # made at the first page
        self.reports: dict[str, SettlementReport] = {}
        """The assembled settlement of each settled market, by symbol."""

    def on_message(self, message: Any) -> None:
        """Take one MarketSettlementReport page."""
        if self._assembler is None:
            self._assembler = SettlementAssembler()
        for report in self._assembler.on_message(message, 0.0):
            self.reports[report.symbol] = report

    def pnl(self, position: Position, fills: int = 0) -> MarketPnL:
        """The account of a tracker `Position` (``fills``: how many fills made it), closed at
        its market's settlement if any."""
        account = MarketPnL.from_position(position, fills)
        self.close(account)
        return account

    def account(
        self,
        position: Position,
        fills: Sequence[Fill],
        *,
        funding: FundingSchedule | None = None,
        now: float | None = None,
        rebates: Rebates | None = None,
        corporate: CorporateActions | None = None,
    ) -> MarketPnL:
        """The account of a tracker `Position` made by ``fills`` (tracker fills), with perps
        funding and rebates, closed at its market's settlement if any.

        Args:
            position: the position.
            fills: its fills (`kalshi_fix_sansio.trading.tracker.Fill`).
            funding: the payments at the funding times up to ``now`` are counted, on the
                position the fills before each made (their TransactTime).
            now: the time funding is counted to, UTC epoch seconds (required with ``funding``).
            rebates: each fill's rebate counted (a maker fill: AggressorIndicator(1057) N).
            corporate: the market's corporate actions up to ``now`` applied, each on the
                position the fills before it made
                (`kalshi_fix_sansio.trading.corporate.CorporateActions`).

        Raises:
            ValueError: ``funding`` or ``corporate`` without ``now``, or a fill without a
                TransactTime.
        """
        account = MarketPnL.from_position(position, len(fills))
        if rebates is not None:
            for fill in fills:
                maker = fill.aggressor is False
                account.rebates += rebates.rebate(fill.symbol, fill.qty, fill.fees, maker=maker)
        if funding is not None:
            if now is None:
                raise ValueError(
                    f"pnl({position.symbol!r}, funding=...): pass now= (epoch seconds)"
                )
            account.apply_funding(funding.accrue(position.symbol, _fill_times(fills), now))
        if corporate is not None:
            if now is None:
                raise ValueError(
                    f"pnl({position.symbol!r}, corporate=...): pass now= (epoch seconds)"
                )
            timed = [
                (t, f.side, f.qty) for f, (t, _) in zip(fills, _fill_times(fills), strict=True)
            ]
            corporate.adjust(account, timed, now)
        self.close(account)
        return account

    def close(self, account: MarketPnL) -> None:
        """Close ``account`` at its market's settlement, if it settled."""
        report = self.reports.get(account.symbol)
        if report is not None:
            account.settle(
                report.settlement_price, fee=report.total_fee, result=report.market_result
            )


def _fill_times(fills: Iterable[Fill]) -> list[tuple[float, Decimal]]:
    """``(TransactTime as epoch seconds, signed quantity)`` of each fill, for funding."""
    out = []
    for fill in fills:
        when = fill.transact_time
        if not isinstance(when, datetime):
            raise ValueError(
                f"{fill.symbol}: fill {fill.exec_id} has no TransactTime(60): funding needs "
                "each fill's time"
            )
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        out.append((when.timestamp(), fill.qty if fill.side == "1" else -fill.qty))
    return out
