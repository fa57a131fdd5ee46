"""Perps funding and fee rebates, in P&L: Kalshi's funding rates, and opt-in incentive rebates.

Margin (perpetual) positions pay or receive funding at Kalshi's funding times (every 8 hours):
a positive rate means longs pay shorts, a negative one shorts pay longs. `FundingRate` is one
market's rate at one funding time with its mark price; a position of ``q`` signed contracts
receives ``-rate x q x mark_price`` dollars (negative: paid). `FundingSchedule` holds the rates
of several markets in time order, from Kalshi's REST page (`FundingSchedule.from_json` takes
``GET /margin/funding_rates/historical``'s body), a CSV file (`FundingSchedule.from_csv`) or
rows. A position counts at a funding time when it was held before it: a fill at the funding
time itself counts from the next one (the tracker, paper trading and backtests all use this
rule, `FundingSchedule.accrue`).

Rounding: Kalshi does not publish how it rounds a payment, so each payment is rounded to
``quantum`` (a cent by default) toward minus infinity: a payment paid is rounded up, one
received rounded down, never more P&L than exact arithmetic gives (``quantum=None``: exact).

`Rebates` is a user's own model of an incentive program or a fee rebate (Kalshi's programs are
per market and per period, and what a member earns depends on others' quotes: nothing here
guesses it): per market prefix, a rebate per maker contract and a share of the fees of maker
and of taker fills, each fill's rounded toward zero to ``quantum``. Nothing here does I/O or
reads a clock.

    >>> from decimal import Decimal as D
    >>> rate = FundingRate("KXBTCPERP", 1_780_000_000.0, D("0.0003"), D("101.25"))
    >>> rate.payment(D(10)), rate.payment(D(-10))
    (Decimal('-0.31'), Decimal('0.30'))
    >>> Rebates([RebateRule("KXBTC", maker_per_contract=D("0.005"))]).rebate(
    ...     "KXBTCPERP", D(3), D("0.05"), maker=True)
    Decimal('0.0150')
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Final

import attrs

__all__ = [
    "FundingPayment",
    "FundingRate",
    "FundingSchedule",
    "RebateRule",
    "Rebates",
    "funding_time",
]

_ZERO: Final = Decimal(0)
CENT: Final = Decimal("0.01")
_FIELDS: Final = ("market_ticker", "funding_time", "funding_rate", "mark_price")


def funding_time(value: Any, where: str = "funding_time") -> float:
    """A funding time as UTC epoch seconds: a number, or ISO 8601 text (``Z`` or an offset;
    without one, UTC).

    Raises:
        ValueError: neither, naming ``where``.
    """
    if isinstance(value, bool):
        raise ValueError(f"{where}: a time is epoch seconds or ISO 8601 text, got {value!r}")
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{where}: a time is epoch seconds or ISO 8601 text "
                f"(2026-06-11T04:00:00Z), got {value!r}"
            ) from None
    else:
        raise ValueError(f"{where}: a time is epoch seconds or ISO 8601 text, got {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{where}: expected a decimal number, got {value!r}")
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"{where}: expected a decimal number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{where}: expected a finite number, got {value!r}")
    return number


@attrs.frozen
class FundingRate:
    """One market's funding rate at one funding time.

    Attributes:
        symbol: the market ticker.
        time: the funding time, UTC epoch seconds.
        rate: the rate for the period, a fraction (0.0003 = 0.03 %); positive: longs pay.
        mark_price: the mark price per contract at the funding time, dollars.
        quantum: a payment is rounded to this toward minus infinity (None: exact).
    """

    symbol: str
    time: float
    rate: Decimal
    mark_price: Decimal
    quantum: Decimal | None = CENT

    def payment(self, position: Decimal) -> Decimal:
        """What ``position`` (signed contracts) receives, dollars (negative: paid):
        ``-rate x position x mark_price``, rounded (see the module docstring)."""
        exact = -self.rate * position * self.mark_price
        if self.quantum is None:
            return exact
        return exact.quantize(self.quantum, rounding=ROUND_FLOOR)


@attrs.frozen
class FundingPayment:
    """One payment of funding on one market's position.

    Attributes:
        rate: the `FundingRate` (market, time, rate, mark price).
        position: the signed contracts held at the funding time.
        amount: dollars received (negative: paid).
    """

    rate: FundingRate
    position: Decimal
    amount: Decimal

    def as_json(self) -> dict[str, Any]:
        """For programs: exact decimal strings, the time as ISO UTC."""
        when = datetime.fromtimestamp(self.rate.time, timezone.utc)
        return {
            "symbol": self.rate.symbol,
            "time": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "rate": str(self.rate.rate),
            "mark_price": str(self.rate.mark_price),
            "position": str(self.position),
            "amount": str(self.amount),
        }


class _Compared:
    """Equal when of the same class with the same `_key` (hashable by it)."""

    def _key(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Compared)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


class FundingSchedule(_Compared):
    """Funding rates of several markets, in time order (see the module docstring).

    Args:
        rates: the rates (any order; one per market and time).
        quantum: each payment rounded to this toward minus infinity (None: exact); overrides
            the rates' own.

    Raises:
        ValueError: two rates for the same market and time.
    """

    def __init__(self, rates: Iterable[FundingRate], *, quantum: Decimal | None = CENT) -> None:
        ordered = sorted(rates, key=lambda r: (r.time, r.symbol))
        seen: set[tuple[str, float]] = set()
        for r in ordered:
            if (r.symbol, r.time) in seen:
                when = datetime.fromtimestamp(r.time, timezone.utc).isoformat()
                raise ValueError(f"funding: two rates for {r.symbol} at {when}")
            seen.add((r.symbol, r.time))
        self.quantum = quantum
        self.rates: tuple[FundingRate, ...] = tuple(
            attrs.evolve(r, quantum=quantum) for r in ordered
        )
        """Every rate, by time then market."""

    def __len__(self) -> int:
        return len(self.rates)

    def _key(self) -> tuple[Any, ...]:
        return (self.rates, self.quantum)

    def __repr__(self) -> str:
        markets = ",".join(self.markets)
        return (
            f"FundingSchedule({len(self.rates)} rates, markets={markets}, quantum={self.quantum})"
        )

    @property
    def markets(self) -> tuple[str, ...]:
        """The markets with a rate, sorted."""
        return tuple(sorted({r.symbol for r in self.rates}))

    def due(self, after: float | None, upto: float) -> tuple[FundingRate, ...]:
        """The rates with ``after < time <= upto`` (``after`` None: from the first)."""
        return tuple(r for r in self.rates if (after is None or r.time > after) and r.time <= upto)

    def accrue(
        self, symbol: str, fills: Iterable[tuple[float, Decimal]], upto: float
    ) -> list[FundingPayment]:
        """The payments of a market's position up to ``upto`` (inclusive), from its fills
        (``(time, signed quantity)``: buys +, sells -): at each funding time the position
        is the fills before it (a fill at the funding time counts from the next one); a
        flat position pays nothing."""
        changes = sorted(fills, key=lambda f: f[0])
        payments: list[FundingPayment] = []
        position, n = _ZERO, 0
        for rate in self.rates:
            if rate.symbol != symbol:
                continue
            if rate.time > upto:
                break
            while n < len(changes) and changes[n][0] < rate.time:
                position += changes[n][1]
                n += 1
            if position:
                payments.append(FundingPayment(rate, position, rate.payment(position)))
        return payments

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, Any]],
        *,
        source: str = "funding",
        quantum: Decimal | None = CENT,
    ) -> FundingSchedule:
        """From rows of Kalshi's fields: ``market_ticker`` (or ``ticker``), ``funding_time``
        (ISO 8601 or epoch seconds), ``funding_rate``, ``mark_price``.

        Raises:
            ValueError: a missing or bad field, naming ``source``, the row and the field.
        """
        rates = []
        for n, row in enumerate(rows, 1):
            if not isinstance(row, Mapping):
                raise ValueError(f"{source}: rate {n}: expected an object, got {row!r}")
            where = f"{source}: rate {n}"
            symbol = row.get("market_ticker", row.get("ticker"))
            if not isinstance(symbol, str) or not symbol.strip():
                raise ValueError(f"{where}: market_ticker is missing or empty")
            for field in _FIELDS[1:]:
                if row.get(field) in (None, ""):
                    raise ValueError(f"{where} ({symbol}): {field} is missing")
            rates.append(
                FundingRate(
                    symbol.strip(),
                    funding_time(row["funding_time"], f"{where} ({symbol}): funding_time"),
                    _decimal(row["funding_rate"], f"{where} ({symbol}): funding_rate"),
                    _decimal(row["mark_price"], f"{where} ({symbol}): mark_price"),
                )
            )
        return cls(rates, quantum=quantum)

    @classmethod
    def from_json(
        cls, text: str | bytes, *, source: str = "funding", quantum: Decimal | None = CENT
    ) -> FundingSchedule:
        """From JSON: Kalshi's ``{"funding_rates": [...]}`` (the body of ``GET
        /margin/funding_rates/historical``) or a list of such rows (`from_rows`). Numbers
        are read as exact decimals.

        Raises:
            ValueError: not JSON, or a bad row (naming ``source``).
        """
        try:
            doc = json.loads(text, parse_float=Decimal)
        except ValueError as exc:
            raise ValueError(f"{source}: not JSON ({exc})") from None
        if isinstance(doc, Mapping):
            doc = doc.get("funding_rates")
        if not isinstance(doc, list):
            raise ValueError(
                f'{source}: expected {{"funding_rates": [...]}} or a list of funding rates'
            )
        return cls.from_rows(doc, source=source, quantum=quantum)

    @classmethod
    def from_csv(
        cls, text: str, *, source: str = "funding", quantum: Decimal | None = CENT
    ) -> FundingSchedule:
        """From CSV with a header naming ``market_ticker,funding_time,funding_rate,
        mark_price`` (any order, more columns ignored).

        Raises:
            ValueError: a missing column or a bad row (naming ``source`` and the row).
        """
        reader = csv.DictReader(io.StringIO(text))
        header = set(reader.fieldnames or ())
        missing = [f for f in _FIELDS if f not in header]
        if missing:
            raise ValueError(f"{source}: the CSV header lacks {', '.join(missing)}")
        return cls.from_rows(list(reader), source=source, quantum=quantum)

    @classmethod
    def from_text(
        cls, text: str, *, source: str = "funding", quantum: Decimal | None = CENT
    ) -> FundingSchedule:
        """`from_json` when the text starts with ``{`` or ``[``, else `from_csv`."""
        if text.lstrip()[:1] in ("{", "["):
            return cls.from_json(text, source=source, quantum=quantum)
        return cls.from_csv(text, source=source, quantum=quantum)

    def as_json(self) -> list[dict[str, Any]]:
        """The rates as Kalshi's rows (exact decimal strings, times as ISO UTC)."""
        return [
            {
                "market_ticker": r.symbol,
                "funding_time": datetime.fromtimestamp(r.time, timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "funding_rate": str(r.rate),
                "mark_price": str(r.mark_price),
            }
            for r in self.rates
        ]


@attrs.frozen
class RebateRule:
    """A rebate for the markets whose ticker starts with ``markets`` ("" every market).

    Attributes:
        markets: a ticker, or its series' prefix.
        maker_per_contract: dollars per contract of a maker (resting) fill.
        maker_fee_share: the share of a maker fill's fee given back (0 to 1).
        taker_fee_share: the share of a taker fill's fee given back (0 to 1).
    """

    markets: str = ""
    maker_per_contract: Decimal = _ZERO
    maker_fee_share: Decimal = _ZERO
    taker_fee_share: Decimal = _ZERO

    def __attrs_post_init__(self) -> None:
        for name in ("maker_per_contract", "maker_fee_share", "taker_fee_share"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(
                    f"rebate {self.markets or '*'}: {name} must be a Decimal >= 0, got {value!r}"
                )
        for name in ("maker_fee_share", "taker_fee_share"):
            if getattr(self, name) > 1:
                raise ValueError(
                    f"rebate {self.markets or '*'}: {name} is a share of the fee, 0 to 1"
                )


class Rebates(_Compared):
    """A user's rebates (see the module docstring): the rule of the longest matching prefix
    applies to a fill; no rule, no rebate.

    Args:
        rules: the rules (one per prefix).
        quantum: each fill's rebate rounded down to this (None: exact).
    """

    def __init__(
        self, rules: Sequence[RebateRule], *, quantum: Decimal | None = Decimal("0.0001")
    ) -> None:
        prefixes = [r.markets for r in rules]
        twice = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if twice:
            raise ValueError(f"rebates: two rules for {', '.join(p or '*' for p in twice)}")
        self.rules = tuple(sorted(rules, key=lambda r: -len(r.markets)))
        self.quantum = quantum

    def _key(self) -> tuple[Any, ...]:
        return (self.rules, self.quantum)

    def __repr__(self) -> str:
        return f"Rebates({list(self.rules)!r}, quantum={self.quantum})"

    def rule(self, symbol: str) -> RebateRule | None:
        """The rule for a market (the longest matching prefix), None: none."""
        return next((r for r in self.rules if symbol.startswith(r.markets)), None)

    def rebate(self, symbol: str, qty: Decimal, fee: Decimal, *, maker: bool) -> Decimal:
        """One fill's rebate, dollars (>= 0)."""
        rule = self.rule(symbol)
        if rule is None:
            return _ZERO
        if maker:
            amount = rule.maker_per_contract * qty + rule.maker_fee_share * fee
        else:
            amount = rule.taker_fee_share * fee
        if self.quantum is None or not amount:
            return amount
        return amount.quantize(self.quantum, rounding=ROUND_DOWN)

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "rebates") -> Rebates:
        """From JSON: ``{"quantum": "0.0001", "rules": [{"markets": "KXBTC",
        "maker_per_contract": "0.005", "maker_fee_share": "0", "taker_fee_share": "0"}]}``
        (``quantum`` optional, null: exact; a rule's figures optional, 0).

        Raises:
            ValueError: not JSON, an unknown key, or a bad figure (naming ``source``).
        """
        try:
            doc = json.loads(text, parse_float=Decimal)
        except ValueError as exc:
            raise ValueError(f"{source}: not JSON ({exc})") from None
        if not isinstance(doc, Mapping) or not isinstance(doc.get("rules"), list):
            raise ValueError(f'{source}: expected {{"rules": [...]}}')
        unknown = sorted(set(doc) - {"rules", "quantum"})
        if unknown:
            raise ValueError(f"{source}: unknown key {', '.join(unknown)}")
        names = {f.name for f in attrs.fields(RebateRule)}
        rules = []
        for n, row in enumerate(doc["rules"], 1):
            if not isinstance(row, Mapping):
                raise ValueError(f"{source}: rule {n}: expected an object")
            bad = sorted(set(row) - names)
            if bad:
                raise ValueError(f"{source}: rule {n}: unknown key {', '.join(bad)}")
            markets = row.get("markets", "")
            if not isinstance(markets, str):
                raise ValueError(f"{source}: rule {n}: markets is a ticker or prefix")
            figures = {
                k: _decimal(v, f"{source}: rule {n}: {k}") for k, v in row.items() if k != "markets"
            }
            try:
                rules.append(RebateRule(markets, **figures))
            except ValueError as exc:
                raise ValueError(f"{source}: rule {n}: {exc}") from None
        quantum = doc.get("quantum", "0.0001")
        try:
            return cls(
                rules,
                quantum=None if quantum is None else _decimal(quantum, f"{source}: quantum"),
            )
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None

    def as_json(self) -> dict[str, Any]:
        """The rules for programs (`from_json` reads it back)."""
        return {
            "quantum": None if self.quantum is None else str(self.quantum),
            "rules": [
                {
                    "markets": r.markets,
                    "maker_per_contract": str(r.maker_per_contract),
                    "maker_fee_share": str(r.maker_fee_share),
                    "taker_fee_share": str(r.taker_fee_share),
                }
                for r in sorted(self.rules, key=lambda r: r.markets)
            ],
        }
