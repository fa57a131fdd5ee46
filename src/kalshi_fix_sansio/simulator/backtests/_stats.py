"""A backtest's statistics, kept as it runs in constant memory per market.

`Statistics` follows every change of each market's P&L (`MarketPnL.total` against the last
recorded mid: a fill, a mid that moved, a settlement), the changes the P&L curve shows, and
keeps per market and in total the running peak and the largest drawdown from it, exactly (in
Decimal dollars): the total's drawdown is the curve's. It also samples each market's P&L and
position at a fixed interval of the recording's clock, from the run's start (every market of
the run, from 0) and once more at the end, and keeps the mean and standard deviation of the
P&L change per interval (Welford's update: no list of samples) and the largest and mean
absolute position. The orders the clients sent (35=D, 35=G: their OrderQty) are counted from
the bytes they wrote, for the fill ratio. Nothing here reads a clock.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Final

from ..gateway.paper import PaperLedger, PaperReport

__all__ = ["Statistics"]

_ZERO = Decimal(0)
TOTAL: Final = "*total*"
# one order frame a client wrote: its MsgType, then the rest of the frame up to its CheckSum
_ORDER_FRAME: Final = re.compile(rb"\x0135=(D|G)\x01(.*?)\x0110=\d{3}\x01", re.DOTALL)
_QTY: Final = re.compile(rb"(?:^|\x01)38=([0-9.]+)\x01")
_SYMBOL: Final = re.compile(rb"(?:^|\x01)55=([^\x01]+)\x01")


class _Drawdown:
    """The running peak of a P&L and the largest fall from it, exact."""

    __slots__ = ("peak", "worst")

    def __init__(self) -> None:
        self.peak = _ZERO  # every P&L starts at 0, with the run
        self.worst = _ZERO

    def add(self, pnl: Decimal) -> None:
        if pnl > self.peak:
            self.peak = pnl
        elif self.peak - pnl > self.worst:
            self.worst = self.peak - pnl


class _Series:
    """One market's (or the total's) sampled figures."""

    __slots__ = ("last", "m2", "max_abs", "mean", "n", "pos_sum", "samples")

    def __init__(self) -> None:
        self.last: float | None = None
        self.n = 0  # P&L changes seen
        self.mean = 0.0
        self.m2 = 0.0
        self.samples = 0
        self.pos_sum = 0.0
        self.max_abs = 0.0

    def add(self, pnl: float, position: float) -> None:
        if self.last is not None:
            change = pnl - self.last
            self.n += 1
            delta = change - self.mean
            self.mean += delta / self.n
            self.m2 += delta * (change - self.mean)
        self.last = pnl
        self.samples += 1
        self.pos_sum += abs(position)
        self.max_abs = max(self.max_abs, abs(position))

    def sharpe(self) -> float | None:
        if self.n < 2:
            return None
        std = math.sqrt(self.m2 / (self.n - 1))
        return None if std == 0 else self.mean / std


class Statistics:
    """See the module docstring.

    Args:
        ledger: the run's ledger (its changes are followed from now on).
        interval: seconds of the recording's clock between two samples.
        symbols: the run's markets, sampled from the start (0 until their first fill).
    """

    def __init__(self, ledger: PaperLedger, interval: float, symbols: tuple[str, ...] = ()) -> None:
        self.ledger = ledger
        self.interval = interval
        self.symbols = symbols
        self._series: dict[str, _Series] = {}
        self._drawdowns: dict[str, _Drawdown] = {TOTAL: _Drawdown()}
        self._totals: dict[str, Decimal] = {}  # each market's P&L at its last change
        self._total = _ZERO
        ledger.change_listeners.append(self.changed)
        self.ordered: dict[str, Decimal] = {}
        """Contracts the clients ordered per market (OrderQty of each 35=D and 35=G)."""
        self.orders: dict[str, int] = {}
        """Order messages (35=D, 35=G) the clients sent per market."""

    def changed(self, symbol: str) -> None:
        """A market's P&L may have changed (a fill, its mid, its settlement): follow it."""
        market = self.ledger.ledger.get(symbol)
        if market is None:  # no fill nor settlement yet: its P&L is 0
            return
        pnl = market.total(self.ledger.mids.get(symbol))
        before = self._totals.get(symbol, _ZERO)
        if pnl == before and symbol in self._totals:
            return
        self._totals[symbol] = pnl
        drawdown = self._drawdowns.get(symbol)
        if drawdown is None:
            drawdown = self._drawdowns[symbol] = _Drawdown()
        drawdown.add(pnl)
        self._total += pnl - before
        self._drawdowns[TOTAL].add(self._total)

    def sample(self) -> None:
        """Take one sample of every market (the run's and any other with a fill) and of the
        total."""
        ledger = self.ledger
        mids = ledger.mids
        markets = ledger.ledger.markets
        total = 0.0
        gross = 0.0
        for symbol in sorted(set(self.symbols) | set(markets)):
            market = markets.get(symbol)
            pnl = 0.0 if market is None else float(market.total(mids.get(symbol)))
            position = 0.0 if market is None else float(market.position)
            total += pnl
            gross += abs(position)
            self._get(symbol).add(pnl, position)
        self._get(TOTAL).add(total, gross)

    def _get(self, key: str) -> _Series:
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series()
        return series

    def client_bytes(self, data: bytes) -> None:
        """Count the order messages in bytes a client wrote."""
        for match in _ORDER_FRAME.finditer(data):
            body = b"\x01" + match.group(2)
            qty = _QTY.search(body)
            symbol = _SYMBOL.search(body)
            if qty is None or symbol is None:
                continue
            name = symbol.group(1).decode("utf-8", "replace")
            self.ordered[name] = self.ordered.get(name, _ZERO) + Decimal(qty.group(1).decode())
            self.orders[name] = self.orders.get(name, 0) + 1

    def as_json(self, report: PaperReport) -> dict[str, Any]:
        """The statistics per market and in total (see docs/backtest.md for each figure)."""
        markets: dict[str, Any] = {}
        filled_total = _ZERO
        for row in report.rows:
            account = row.account
            filled = account.bought + account.sold
            filled_total += filled
            markets[row.symbol] = self._figures(
                self._series.get(row.symbol),
                self._drawdowns.get(row.symbol),
                realized=account.realized,
                unrealized=row.unrealized,
                fees=account.fees + account.settlement_fee,
                fills=account.fills,
                filled=filled,
                ordered=self.ordered.get(row.symbol, _ZERO),
                orders=self.orders.get(row.symbol, 0),
            )
        total = self._figures(
            self._series.get(TOTAL),
            self._drawdowns[TOTAL],
            realized=sum((r.account.realized for r in report.rows), _ZERO),
            unrealized=sum((r.unrealized for r in report.rows), _ZERO),
            fees=report.fees,
            fills=sum(r.account.fills for r in report.rows),
            filled=filled_total,
            ordered=sum(self.ordered.values(), _ZERO),
            orders=sum(self.orders.values()),
        )
        return {"sample_interval": self.interval, "markets": markets, "total": total}

    @staticmethod
    def _figures(
        series: _Series | None,
        drawdown: _Drawdown | None,
        *,
        realized: Decimal,
        unrealized: Decimal,
        fees: Decimal,
        fills: int,
        filled: Decimal,
        ordered: Decimal,
        orders: int,
    ) -> dict[str, Any]:
        sharpe = None if series is None else series.sharpe()
        return {
            "realized": str(realized),
            "unrealized": str(unrealized),
            "total": str(realized + unrealized),
            "fees": str(fees),
            "fills": fills,
            "orders": orders,
            "contracts_ordered": str(ordered),
            "contracts_filled": str(filled),
            "fill_ratio": None if not ordered else _round(float(filled / ordered)),
            "max_drawdown": str(_ZERO if drawdown is None else drawdown.worst),
            "sharpe": None if sharpe is None else _round(sharpe),
            "samples": 0 if series is None else series.samples,
            "max_abs_position": _round(0.0 if series is None else series.max_abs),
            "mean_abs_position": _round(
                0.0 if series is None or not series.samples else series.pos_sum / series.samples
            ),
        }


def _round(value: float) -> float:
    """Figures to 10 significant digits: the same text on every machine."""
    return float(f"{value:.10g}")
