"""The paper-trading report: fills, fees, position and P&L per market, over a replay.

`PaperLedger` follows one replay (the gateway's `Replay` feeds it): every fill of the traders'
orders (`kalshi_fix_sansio.simulator.gateway.FillView`), the recorded mid of each market as the recording
moves, and settlements (with their fees, `kalshi_fix_sansio.simulator.gateway.SettlementView`).
`PaperLedger.report` gives a `PaperReport`: per market the fills, contracts bought and sold,
fees, the position, the last recorded mid, realized and unrealized P&L
(`kalshi_fix_sansio.trading.pnl.MarketPnL`, the numbers `OrderTracker.pnl` gives a live session), and
P&L and position over time. It renders as a terminal table (`PaperReport.table`), a
picture (`PaperReport.svg`: P&L above, positions below, against the recording's clock) and
JSON (`PaperReport.as_json`); `PaperReport.write` writes the picture and the JSON next to the
recording (each through a temporary file renamed over its path, never through a symbolic link).
Nothing here reads a clock: times are the recording's.

Memory stays flat however long the recording: the P&L curve keeps at most ``max_points``
points (when full, every other point goes and the spacing doubles).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from ...trading.corporate import CorporateActions
from ...trading.funding import FundingPayment, FundingSchedule, Rebates
from ...trading.pnl import MarketPnL, PnLLedger
from ._paperchart import draw

__all__ = [
    "JSON_SCHEMA_VERSION",
    "PaperFill",
    "PaperLedger",
    "PaperReport",
    "PaperRow",
    "Point",
]

JSON_SCHEMA_VERSION: Final = 2
"""The ``schema`` of `PaperReport.as_json` (raised when a field changes meaning or goes; 2: a
market's ``fees`` are its trading and settlement fees, ``settlement_fee`` the latter's part)."""

_ZERO = Decimal(0)
_CENT = Decimal("0.01")


@attrs.frozen
class Point:
    """One point of the curves: the recording's time, total P&L, positions by market."""

    time: float
    pnl: Decimal
    positions: tuple[tuple[str, Decimal], ...]


@attrs.frozen
class PaperFill:
    """One fill the report counted (the tearsheet's fills table).

    Attributes:
        time: the recording's time of the fill (epoch seconds).
        symbol: the market.
        side: ``"1"`` buy, ``"2"`` sell.
        price, qty: the fill's price (dollars) and contracts.
        fee: the fee charged, dollars.
        maker: the order rested (not the aggressor).
        rebate: the rebate counted on it, dollars (0 without `Rebates`).
    """

    time: float
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    maker: bool
    rebate: Decimal = _ZERO


@attrs.frozen
class PaperRow:
    """One market's line of the report.

    Attributes:
        symbol: the market.
        account: the market's `MarketPnL` (fills, fees, position, settlement).
        mid: the last recorded mid (None: the recording never showed both sides).
        settled_at: when it settled, on the recording's clock (None: not settled).
    """

    symbol: str
    account: MarketPnL
    mid: Decimal | None
    settled_at: float | None = None

    unrealized: Decimal = attrs.field(init=False)
    """Open position marked to the last recorded mid (as the row was made)."""
    total: Decimal = attrs.field(init=False)
    """Realized + unrealized (as the row was made)."""

    def __attrs_post_init__(self) -> None:
        account, mid = self.account, self.mid
        object.__setattr__(self, "unrealized", account.unrealized(mid))
        object.__setattr__(self, "total", account.total(mid))


class PaperLedger:
    """Collects a replay's fills, mids and settlements (see the module docstring).

    Args:
        accounts: only the fills of these login accounts (None: every client account).
        max_points: most points the P&L curve keeps.
        funding: perps funding rates: each is paid on the position held before its time, as
            the recording's clock passes it (`kalshi_fix_sansio.trading.funding`).
        rebates: the user's fee rebates and incentives, counted per fill.
        corporate: margin corporate actions: each applied to its market's account as the
            recording's clock passes its time (`kalshi_fix_sansio.trading.corporate`).
    """

    def __init__(
        self,
        accounts: Sequence[str] | None = None,
        max_points: int = 2000,
        *,
        funding: FundingSchedule | None = None,
        rebates: Rebates | None = None,
        corporate: CorporateActions | None = None,
    ) -> None:
        self.accounts = None if accounts is None else frozenset(accounts)
        self.ledger = PnLLedger()
        self.funding = funding
        self.rebates = rebates
        self.fills: list[PaperFill] = []
        """Every fill counted, in order."""
        self.payments: list[FundingPayment] = []
        """The funding paid and received so far, in time order."""
        self._rates = funding.rates if funding is not None else ()
        self._next_rate = 0  # the first rate not yet due
        self.corporate = corporate
        self._actions = corporate.actions if corporate is not None else ()
        self._next_action = 0  # the first corporate action not yet due
        self.mids: dict[str, Decimal] = {}
        self.points: list[Point] = []
        self.max_points = max(4, max_points)
        self._spacing = 0.0  # seconds between points (doubles when the curve is full)
        self.first_time: float | None = None
        self.last_time: float | None = None
        # what `mark` reads: the first funding rate's time not yet due (-inf: nothing seen yet),
        # the last point's time (inf: no market counted, so no point but a forced one)
        self._rate_due = -math.inf
        self._pointed = math.inf
        self._settlement_fees: dict[str, Decimal] = {}
        self._settled_at: dict[str, float] = {}
        self.end: str = ""
        """How the replay ended (``"end of the recording"``, or what stopped it)."""
        self.change_listeners: list[Callable[[str], None]] = []
        """Called with a market's symbol each time its P&L may have changed (a fill, a
        recorded mid, its settlement), after the ledger counted it; append to it."""

    def _changed(self, symbol: str) -> None:
        for listener in self.change_listeners:
            listener(symbol)

    def _seen(self, time: float) -> None:
        if self.first_time is None:
            self.first_time = time
            self._rate_due = self._rates[0].time if self._rates else math.inf
            if self._actions:
                self._rate_due = min(self._rate_due, self._actions[0].time or math.inf)
        self.last_time = time
        rates = self._rates
        while self._next_rate < len(rates) and rates[self._next_rate].time <= time:
            rate = rates[self._next_rate]
            self._next_rate += 1
            nxt = self._next_rate
            self._rate_due = rates[nxt].time if nxt < len(rates) else math.inf
            payment = self.ledger.fund(rate)
            if payment is not None:
                self.payments.append(payment)
                self._changed(rate.symbol)
                self._point(rate.time, force=True)
        if self._actions:
            self._act(time)

    def _act(self, time: float) -> None:
        """Apply the corporate actions due at ``time`` (`_rate_due` then names the next rate
        or action)."""
        actions = self._actions
        while self._next_action < len(actions) and (actions[self._next_action].time or 0) <= time:
            action = actions[self._next_action]
            self._next_action += 1
            self.ledger.corporate(action)
            self._changed(action.new_ticker or action.symbol)
            self._point(action.time or time, force=True)
        nxt = self._next_action
        rate = self._rates[self._next_rate].time if self._next_rate < len(self._rates) else math.inf
        due = (actions[nxt].time or math.inf) if nxt < len(actions) else math.inf
        self._rate_due = min(rate, due)

    def on_fill(self, fill: Any) -> None:
        """One fill (a `kalshi_fix_sansio.simulator.gateway.FillView`)."""
        if self.accounts is not None and fill.account not in self.accounts:
            return
        self._seen(fill.time)
        self.ledger.add(fill.symbol, fill.side, fill.price, fill.qty, fee=fill.fee)
        maker = getattr(fill, "aggressor", None) is False  # None: not told, not a maker
        rebate = _ZERO
        if self.rebates is not None:
            rebate = self.ledger.rebate(fill.symbol, self.rebates, fill.qty, fill.fee, maker=maker)
        self.fills.append(
            PaperFill(
                fill.time, fill.symbol, fill.side, fill.price, fill.qty, fill.fee, maker, rebate
            )
        )
        self._changed(fill.symbol)
        self._point(fill.time, force=True)

    def mark(self, symbol: str, time: float, mid: Decimal | None) -> None:
        """`on_mid`, its common case first: with no funding rate and no point of the curve
        due, a mid that did not move only moves `last_time`, one that moved is kept (and its
        listeners told) too."""
        if time < self._rate_due and time - self._pointed < self._spacing:
            self.last_time = time
            mids = self.mids
            if mid is not None and mids.get(symbol) != mid:
                mids[symbol] = mid
                if self.change_listeners:
                    self._changed(symbol)
            return
        self.on_mid(symbol, time, mid)

    def on_mid(self, symbol: str, time: float, mid: Decimal | None) -> None:
        """A market's recorded mid at ``time`` (None: a side is empty; the last one stays)."""
        self._seen(time)
        if mid is not None and self.mids.get(symbol) != mid:
            self.mids[symbol] = mid
            if self.change_listeners:
                self._changed(symbol)
        self._point(time)

    def on_settlement(self, settled: Any) -> None:
        """One position paid out at a settlement (a `kalshi_fix_sansio.simulator.gateway.SettlementView`):
        its fee counts in the market's settlement fee (`settle` closes the market)."""
        if self.accounts is not None and settled.account not in self.accounts:
            return
        fees = self._settlement_fees
        fees[settled.symbol] = fees.get(settled.symbol, _ZERO) + settled.fee

    def settle(self, symbol: str, result: str, time: float) -> None:
        """A market settled (``"yes"`` or ``"no"``); its settlement fee is what
        `on_settlement` was told of it."""
        self._seen(time)
        fee = self._settlement_fees.pop(symbol, _ZERO)
        self._settled_at[symbol] = time
        self.ledger.settle(symbol, Decimal(1 if result == "yes" else 0), fee=fee, result=result)
        self._changed(symbol)
        self._point(time, force=True)

    def _point(self, time: float, *, force: bool = False) -> None:
        points = self.points
        if points and not force and time - points[-1].time < self._spacing:
            return
        markets = self.ledger.markets
        if not markets and not force:
            return
        total = sum((m.total(self.mids.get(s)) for s, m in markets.items()), _ZERO)
        positions = tuple((s, m.position) for s, m in sorted(markets.items()))
        points.append(Point(time, total, positions))
        if len(points) > self.max_points:
            self.points = points[::2] + ([points[-1]] if len(points) % 2 == 0 else [])
            span = self.points[-1].time - self.points[0].time
            self._spacing = max(self._spacing * 2, span / self.max_points)
        self._pointed = self.points[-1].time

    def report(self, markets: Sequence[str] = ()) -> PaperReport:
        """The report now.

        Args:
            markets: markets to list even without a fill (the recording's).
        """
        names = sorted(set(markets) | set(self.ledger.markets))
        market, mids, settled = self.ledger.market, self.mids, self._settled_at
        rows = tuple(PaperRow(s, market(s), mids.get(s), settled.get(s)) for s in names)
        return PaperReport(
            rows,
            tuple(self.points),
            self.first_time,
            self.last_time,
            self.end,
            funding=None if self.funding is None else tuple(self.payments),
            rebates=self.rebates is not None,
            fills=tuple(self.fills),
            corporate=self.corporate is not None,
        )


def _iso(time: float | None) -> str | None:
    if time is None:
        return None
    return datetime.fromtimestamp(time, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _money(value: Decimal) -> str:
    return f"{value.quantize(_CENT):+,}"


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value}"


@attrs.frozen
class PaperReport:
    """What a replay would have earned, per market (see the module docstring).

    Attributes:
        rows: one `PaperRow` per market, by symbol.
        points: the P&L and position curve, in time order.
        first_time, last_time: the recording's first and last time seen (epoch seconds).
        end: how the replay ended.
        funding: the funding payments in time order; None: no funding schedule (the report
            then shows no funding, as before funding was counted).
        rebates: rebates were counted (the report shows them).
        fills: every fill counted, in order (the tearsheet lists them; not in `as_json`).
        corporate: corporate actions were applied (the report shows their cash).
    """

    rows: tuple[PaperRow, ...]
    points: tuple[Point, ...] = ()
    first_time: float | None = None
    last_time: float | None = None
    end: str = ""
    funding: tuple[FundingPayment, ...] | None = None
    rebates: bool = False
    fills: tuple[PaperFill, ...] = ()
    corporate: bool = False

    @property
    def funding_total(self) -> Decimal:
        """Funding received over every market, dollars (negative: paid)."""
        return sum((r.account.funding for r in self.rows), _ZERO)

    @property
    def rebates_total(self) -> Decimal:
        """Rebates received over every market, dollars."""
        return sum((r.account.rebates for r in self.rows), _ZERO)

    @property
    def corporate_total(self) -> Decimal:
        """Cash of corporate actions over every market, dollars (negative: paid)."""
        return sum((r.account.corporate for r in self.rows), _ZERO)

    @property
    def total(self) -> Decimal:
        """Total P&L over every market, dollars."""
        return sum((r.total for r in self.rows), _ZERO)

    @property
    def fees(self) -> Decimal:
        """Fees over every market (trading and settlement), dollars."""
        return sum((r.account.fees + r.account.settlement_fee for r in self.rows), _ZERO)

    def table(self) -> str:
        """The report as a text table (one line per market, then the total)."""
        head = ["market", "fills", "bought", "sold", "fees", "position", "mark", "realized"]
        head += ["unrealized", "total"]
        extra = (["funding"] if self.funding is not None else []) + (
            ["rebates"] if self.rebates else []
        )
        extra += ["corporate"] if self.corporate else []
        head[5:5] = extra
        lines: list[list[str]] = [head]
        for row in self.rows:
            a = row.account
            if a.settled:
                mark = f"settled {a.result or ''} {a.settlement_price}".strip()
            else:
                mark = "-" if row.mid is None else f"mid {row.mid}"
            lines.append(
                [
                    row.symbol,
                    str(a.fills),
                    _qty(a.bought),
                    _qty(a.sold),
                    f"{(a.fees + a.settlement_fee).quantize(_CENT)}",
                    *self._extra(a.funding, a.rebates, a.corporate),
                    _qty(a.position),
                    mark,
                    _money(a.realized),
                    _money(row.unrealized),
                    _money(row.total),
                ]
            )
        fills = sum(r.account.fills for r in self.rows)
        fees = f"{self.fees.quantize(_CENT)}"
        more = self._extra(self.funding_total, self.rebates_total, self.corporate_total)
        lines.append(["total", str(fills), "", "", fees, *more, "", "", "", "", _money(self.total)])
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        mark_column = 6 + len(extra)
        out = []
        for n, line in enumerate(lines):
            cells = [
                c.ljust(w) if i == 0 or i == mark_column else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            ]
            out.append("  ".join(cells).rstrip())
            if n == 0 or n == len(lines) - 2:
                out.append("  ".join("-" * w for w in widths))
        span = f"{_iso(self.first_time)} to {_iso(self.last_time)}" if self.first_time else ""
        tail = [f"recording clock {span}" if span else "nothing replayed"]
        if self.end:
            tail.append(f"ended: {self.end}")
        return "\n".join(out + tail)

    def _extra(self, funding: Decimal, rebates: Decimal, corporate: Decimal) -> list[str]:
        """The funding, rebates and corporate cells of a line, those the report shows."""
        cells = [_money(funding)] if self.funding is not None else []
        cells += [_money(rebates)] if self.rebates else []
        return cells + ([_money(corporate)] if self.corporate else [])

    def as_json(self) -> dict[str, Any]:
        """The report for programs: exact decimal strings, times as ISO UTC (``funding`` and
        ``rebates`` only when they were counted)."""
        rows: list[dict[str, Any]] = []
        for row in self.rows:
            a = row.account
            rows.append(
                {
                    "symbol": row.symbol,
                    "fills": a.fills,
                    "bought": str(a.bought),
                    "sold": str(a.sold),
                    "buy_cost": str(a.buy_cost),
                    "sell_proceeds": str(a.sell_proceeds),
                    "fees": str(a.fees + a.settlement_fee),
                    "settlement_fee": str(a.settlement_fee),
                    "position": str(a.position),
                    "mid": None if row.mid is None else str(row.mid),
                    "settled": a.settled,
                    "result": a.result,
                    "settlement_price": (
                        None if a.settlement_price is None else str(a.settlement_price)
                    ),
                    "realized": str(a.realized),
                    "unrealized": str(row.unrealized),
                    "total": str(row.total),
                }
            )
            if self.funding is not None:
                rows[-1]["funding"] = str(a.funding)
            if self.rebates:
                rows[-1]["rebates"] = str(a.rebates)
            if self.corporate:
                rows[-1]["corporate"] = str(a.corporate)
        doc: dict[str, Any] = {
            "schema": JSON_SCHEMA_VERSION,
            "first_time": _iso(self.first_time),
            "last_time": _iso(self.last_time),
            "end": self.end,
            "markets": rows,
            "total": str(self.total),
            "fees": str(self.fees),
            "curve": [
                {
                    "time": _iso(p.time),
                    "pnl": str(p.pnl),
                    "positions": {s: str(q) for s, q in p.positions},
                }
                for p in self.points
            ],
        }
        if self.funding is not None:
            doc["funding"] = str(self.funding_total)
            doc["funding_payments"] = [p.as_json() for p in self.funding]
        if self.rebates:
            doc["rebates"] = str(self.rebates_total)
        if self.corporate:
            doc["corporate"] = str(self.corporate_total)
        return doc

    def svg(self, title: str = "paper trading") -> str:
        """The picture: total P&L over time (top), each market's position (bottom), against
        the recording's clock, with round ticks and a legend of the markets' colours."""
        sign = "-" if self.total < 0 else "+"
        headline = f"{title}: total P&L {sign}${abs(self.total).quantize(_CENT):,}"
        return draw(self.points, self.first_time, self.last_time, headline)

    def write(self, recording: str | os.PathLike[str], directory: str | None = None) -> list[Path]:
        """Write ``<recording>.paper.json`` and ``<recording>.paper.svg``.

        Each file is written to a new temporary file in the same directory, then renamed over
        its path: a reader never sees half a report, and a symbolic link at the path is never
        written through (it is refused: `OSError` naming it, and nothing is written there).

        Args:
            recording: the recording's path (the files are named after it).
            directory: where to write them (default: next to the recording).

        Returns:
            The paths written.

        Raises:
            OSError: a file cannot be written (a missing directory, no permission, a symbolic
                link at its path); the message names the path.
        """
        path = Path(recording)
        where = Path(directory) if directory is not None else path.parent
        stem = where / path.name
        json_path = stem.with_name(path.name + ".paper.json")
        svg_path = stem.with_name(path.name + ".paper.svg")
        _write_new(json_path, json.dumps(self.as_json(), indent=2) + "\n")
        _write_new(svg_path, self.svg(f"paper trading on {path.name}"))
        return [json_path, svg_path]


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a new temporary file renamed over it (see
    `PaperReport.write`); a symbolic link at ``path`` is refused."""
    if path.is_symlink():
        raise OSError(
            f"{path} is a symbolic link: the report is not written through it (remove it, or "
            "write the report elsewhere with --report-dir)"
        )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(tmp, flags, 0o666)  # new (O_EXCL): never an existing file or link
    except OSError as exc:
        raise OSError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)  # renames over the path: a link there would be replaced, not followed
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OSError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
