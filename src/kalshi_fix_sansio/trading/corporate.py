"""Corporate actions on margin positions and their P&L (sans-IO: no clock, no I/O).

Kalshi publishes the corporate actions of its margin markets (``GET /margin/corporate_actions``:
`kalshi_fix_sansio.rest.corporate.CorporateActionsFetch` reads them): dividends, spin-offs,
splits, a final settlement, a ticker change, each with its ``execution_time``. `CorporateActions`
holds the ones in force (``scheduled`` and ``applied``; ``cancelled`` and ``lapsed`` notices
change nothing) and applies them to a market's P&L account
(`kalshi_fix_sansio.trading.pnl.MarketPnL`) at their time, on the position held then (the fills
before it):

* ``cash_dividend``, ``special_dividend``, ``spin_off``: ``position x cash_per_contract`` is
  paid, to a long position and by a short one (``MarketPnL.corporate``, in ``cash`` and
  ``realized`` as funding is);
* ``stock_split`` (``ratio_old`` for ``ratio_new``): the contracts held before it count
  ``ratio_new / ratio_old`` times as many, at the same cost (the average price divides by the
  ratio): the P&L does not move, the position does;
* ``final_settlement``: the position is closed at ``settlement_price_per_contract`` (the
  account settles, as a prediction market at its settlement);
* ``ticker_change``: the market goes on under ``new_ticker`` (`CorporateActions.renamed`; a
  `PnLLedger <kalshi_fix_sansio.trading.pnl.PnLLedger>` moves the account, a tracker's ``pnl``
  counts the fills under both tickers as one account under the new one).

Worked by hand: long 10 contracts bought at 50 (cost 500), a 2-for-1 split, then a dividend of
0.25 per contract: 20 contracts at an average of 25, the dividend pays 20 x 0.25 = 5; marked at
26 the total is ``-500 + 5 + 20 x 26 = 25``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

__all__ = [
    "ACTION_KINDS",
    "CorporateAction",
    "CorporateActions",
    "parse_corporate_action",
]

ACTION_KINDS: Final = (
    "cash_dividend",
    "special_dividend",
    "spin_off",
    "stock_split",
    "final_settlement",
    "ticker_change",
)
"""Kalshi's corporate action types."""

_CASH: Final = frozenset({"cash_dividend", "special_dividend", "spin_off"})
_STATUSES: Final = ("scheduled", "cancelled", "applied", "lapsed")
_IN_FORCE: Final = frozenset({"scheduled", "applied"})
_ZERO: Final = Decimal(0)


@attrs.frozen
class CorporateAction:
    """One of Kalshi's corporate action notices (see the module).

    Attributes:
        id: Kalshi's id of the notice.
        symbol: the market ticker it acts on.
        kind: one of `ACTION_KINDS`.
        status: ``scheduled``, ``cancelled``, ``applied`` or ``lapsed``.
        time: its execution time, UTC epoch seconds (None: a cancelled notice has none).
        cash_per_contract: a cash action's dollars per contract.
        ratio: a split's ``ratio_new / ratio_old``.
        settlement_price: a final settlement's price per contract.
        new_ticker: a ticker change's new ticker.
    """

    id: str
    symbol: str
    kind: str
    status: str
    time: float | None
    cash_per_contract: Decimal | None = None
    ratio: Decimal | None = None
    settlement_price: Decimal | None = None
    new_ticker: str | None = None

    @property
    def in_force(self) -> bool:
        """Scheduled or applied, with a time: it acts on positions."""
        return self.status in _IN_FORCE and self.time is not None


def _money(value: object, where: str) -> Decimal:
    if not isinstance(value, str) or not 0 < len(value) <= 40:
        raise ValueError(f"{where}: {value!r:.40} is not a dollar string")
    try:
        read = Decimal(value)
    except InvalidOperation:
        read = Decimal("NaN")
    if not read.is_finite() or read < 0:
        raise ValueError(f"{where}: {value!r} is not an amount >= 0")
    return read


def _time(value: object, where: str) -> float:
    text = value if isinstance(value, str) else ""
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"{where}: {value!r:.40} is not an RFC 3339 time")
    return moment.timestamp()


def _terms(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    terms = record.get(key)
    if not isinstance(terms, Mapping):
        raise ValueError(f"no {key} terms")
    return terms


def parse_corporate_action(record: Mapping[str, Any]) -> CorporateAction | str:
    """One record of ``GET /margin/corporate_actions`` (Kalshi's shape); a str: why it cannot
    be read (a notice in force must carry the terms of its type; a cancelled one has none)."""
    try:
        ident, symbol = record.get("id"), record.get("market_ticker")
        kind, status = record.get("type"), record.get("status")
        if not isinstance(ident, str) or not isinstance(symbol, str) or not symbol:
            raise ValueError("id and market_ticker must be strings")
        if kind not in ACTION_KINDS or status not in _STATUSES:
            raise ValueError(f"type {kind!r:.40} / status {status!r:.40} is not Kalshi's")
        when = record.get("execution_time")
        time = None if when is None else _time(when, "execution_time")
        fields: dict[str, Any] = {}
        if status in _IN_FORCE:
            if time is None:
                raise ValueError("a notice in force has no execution_time")
            fields = _kind_fields(record, kind)
        return CorporateAction(ident, symbol, kind, status, time, **fields)
    except ValueError as exc:
        return f"corporate action {record.get('id')!r:.40}: {exc}"


def _kind_fields(record: Mapping[str, Any], kind: str) -> dict[str, Any]:
    if kind in _CASH:
        cash = _terms(record, "cash").get("cash_per_contract")
        return {"cash_per_contract": _money(cash, "cash.cash_per_contract")}
    if kind == "stock_split":
        split = _terms(record, "split")
        old = _money(split.get("ratio_old"), "split.ratio_old")
        new = _money(split.get("ratio_new"), "split.ratio_new")
        if not old or not new:
            raise ValueError("a split's ratios must be above 0")
        return {"ratio": new / old}
    if kind == "final_settlement":
        price = _terms(record, "final_settlement").get("settlement_price_per_contract")
        return {"settlement_price": _money(price, "settlement_price_per_contract")}
    change = _terms(record, "ticker_change")
    new_ticker = change.get("new_ticker")
    if not isinstance(new_ticker, str) or not new_ticker:
        raise ValueError("ticker_change.new_ticker is not a ticker")
    return {"new_ticker": new_ticker}


class CorporateActions:
    """The corporate actions in force, by market and time (see the module).

    Args:
        actions: `CorporateAction` notices (those not in force are kept out).
    """

    def __init__(self, actions: Iterable[CorporateAction] = ()) -> None:
        kept = [a for a in actions if a.in_force]
        self.actions: tuple[CorporateAction, ...] = tuple(
            sorted(kept, key=lambda a: (a.time or 0.0, a.id))
        )
        """In force, by execution time."""
        self._by_symbol: dict[str, list[CorporateAction]] = {}
        for action in self.actions:
            self._by_symbol.setdefault(action.symbol, []).append(action)

    def __len__(self) -> int:
        return len(self.actions)

    @classmethod
    def from_json(cls, text: str, *, source: str = "corporate actions") -> CorporateActions:
        """Kalshi's ``GET /margin/corporate_actions`` answer as saved (``{"corporate_actions":
        [...]}``, or the list alone).

        Raises:
            ValueError: not such JSON, or a notice that cannot be read (``source`` and its
                index named).
        """
        try:
            page = json.loads(text)
        except (ValueError, RecursionError):
            raise ValueError(f"{source}: not JSON") from None
        records = page.get("corporate_actions") if isinstance(page, dict) else page
        if not isinstance(records, list):
            raise ValueError(f"{source}: no corporate_actions list")
        actions = []
        for index, record in enumerate(records):
            read = parse_corporate_action(record) if isinstance(record, dict) else "not an object"
            if isinstance(read, str):
                raise ValueError(f"{source}: notice {index}: {read}")
            actions.append(read)
        return cls(actions)

    @property
    def markets(self) -> tuple[str, ...]:
        """The markets acted on, by ticker."""
        return tuple(sorted(self._by_symbol))

    def of(self, symbol: str, until: float) -> Sequence[CorporateAction]:
        """A market's actions executed at or before ``until``, by time."""
        return [
            a for a in self._by_symbol.get(symbol, ()) if a.time is not None and a.time <= until
        ]

    def renamed(self, symbol: str, until: float) -> str:
        """The ticker ``symbol`` trades under at ``until`` (its ticker changes followed)."""
        seen = {symbol}
        for action in self.of(symbol, until):
            if action.kind == "ticker_change" and action.new_ticker not in seen:
                assert action.new_ticker is not None
                seen.add(action.new_ticker)
                return self.renamed(action.new_ticker, until)
        return symbol

    def names(self, symbol: str, until: float) -> tuple[str, ...]:
        """Every ticker the market of ``symbol`` traded under up to ``until``, oldest first:
        those renamed into it, itself, and those it was renamed to (the last: `renamed`)."""
        chain = [self.renamed(symbol, until)]
        while True:
            before = next(
                (
                    a.symbol
                    for a in self.actions
                    if a.kind == "ticker_change"
                    and a.new_ticker == chain[0]
                    and a.time is not None
                    and a.time <= until
                    and a.symbol not in chain
                ),
                None,
            )
            if before is None:
                return tuple(chain)
            chain.insert(0, before)

    def apply(self, account: Any, action: CorporateAction, after: tuple[Decimal, Decimal]) -> None:
        """Apply one action to a P&L account (a `MarketPnL`) whose fills after the action's time
        bought and sold ``after`` (those are in the units after it)."""
        if action.kind == "stock_split":
            assert action.ratio is not None
            bought_after, sold_after = after
            account.bought = (account.bought - bought_after) * action.ratio + bought_after
            account.sold = (account.sold - sold_after) * action.ratio + sold_after
        elif action.kind in _CASH:
            assert action.cash_per_contract is not None
            held = (account.bought - after[0]) - (account.sold - after[1])
            account.corporate += held * action.cash_per_contract
        elif action.kind == "final_settlement" and account.settlement_price is None:
            assert action.settlement_price is not None
            account.settle(action.settlement_price, result="final_settlement")

    def adjust(self, account: Any, fills: Sequence[tuple[float, str, Decimal]], now: float) -> None:
        """Apply the market's actions up to ``now`` to ``account`` (a `MarketPnL` of its fills),
        those under its earlier tickers too (`names`): ``fills`` are (time, side
        ``"1"``/``"2"``, contracts) of the fills it counts."""
        names = self.names(account.symbol, now)
        acted = [a for name in names for a in self.of(name, now)]
        for action in sorted(acted, key=_executed) if len(names) > 1 else acted:
            assert action.time is not None
            bought = sum((q for t, s, q in fills if t >= action.time and s == "1"), _ZERO)
            sold = sum((q for t, s, q in fills if t >= action.time and s != "1"), _ZERO)
            self.apply(account, action, (bought, sold))


def _executed(action: CorporateAction) -> float:
    assert action.time is not None  # (`CorporateActions.of` keeps timed ones)
    return action.time
