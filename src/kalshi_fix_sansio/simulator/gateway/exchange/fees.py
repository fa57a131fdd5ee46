"""Fees: the one place the exchange computes what a fill or a settlement costs.

`FeeSchedule` is Kalshi's fee rules as data, per product and per series (or market); the
exchange asks its fee model for every fill (`FeeModel.trade_fee`, with a `FeeFill`) and every
settled position (`FeeModel.settlement_fee`). A user model is any object with those two methods,
or a plain function of a `FeeFill` (`as_fee_model`: no settlement fee).

The default schedule reproduces the mock's figures: prediction taker ``0.07 x qty x p x (1 - p)``,
maker ``0.0175 x qty x p x (1 - p)`` (Kalshi's ``quadratic_with_maker_fees`` series: the mock
charges maker fees in every series unless a schedule says otherwise), margin taker
``0.0005 x qty x price`` and maker 0, each fill's fee rounded up to the cent on its own, and no
settlement fee. A series' ``multiplier`` scales its fees (Kalshi's series ``fee_multiplier``;
0 waives them). See docs/paper-trading.md, "Fees".

A schedule file (`FeeSchedule.load`) is a CSV table: a header line naming the columns, then one
row per scope; ``#`` starts a comment line. ``scope`` is ``prediction`` or ``margin`` (the
product's rates) or a series or market ticker (overrides for it); the other columns are
``taker``, ``maker``, ``multiplier``, ``settlement`` (dollars per winning contract) and
``round_to`` (dollars), each a decimal number, empty to keep the product's value. A bad file
raises `FeeScheduleError` naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, Final, Protocol, runtime_checkable

import attrs

__all__ = [
    "FEE_COLUMNS",
    "FeeFill",
    "FeeModel",
    "FeeRates",
    "FeeSchedule",
    "FeeScheduleError",
    "as_fee_model",
    "series_of",
]

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_CENT: Final = Decimal("0.01")

FEE_COLUMNS: Final = ("scope", "taker", "maker", "multiplier", "settlement", "round_to")
"""The columns of a schedule file (``scope`` first and required; the others optional)."""


def series_of(symbol: str) -> str:
    """The series ticker of a market ticker: the part before the first ``-``
    (``KXHIGHNY-23DEC31-B45`` -> ``KXHIGHNY``)."""
    return symbol.split("-", 1)[0]


@attrs.frozen
class FeeFill:
    """One fill a fee is computed for.

    Attributes:
        product: ``"prediction"`` or ``"margin"``.
        symbol: the market ticker.
        price: the fill's price, dollars (prediction: the YES price).
        qty: contracts.
        taker: True for the aggressor (taker), False for the resting order (maker).
    """

    product: str
    symbol: str
    price: Decimal
    qty: Decimal
    taker: bool


@runtime_checkable
class FeeModel(Protocol):
    """What the exchange asks for fees. Both return dollars, already rounded as charged."""

    def trade_fee(self, fill: FeeFill) -> Decimal:
        """The fee of one fill (each fill is charged on its own)."""

    def settlement_fee(self, product: str, symbol: str, payout_qty: Decimal) -> Decimal:
        """The fee of settling one holder's position that pays ``payout_qty`` contracts
        ($1 each); it is deducted from the payout."""


@attrs.frozen
class FeeRates:
    """Rates of a product, or a series' overrides of them (None: the product's).

    Attributes:
        taker: prediction: the coefficient of ``qty x p x (1 - p)``; margin: the fraction of
            the notional ``qty x price``.
        maker: the same for the resting side (0: no maker fees).
        multiplier: scales both (Kalshi's series ``fee_multiplier``; 0 waives the fees).
        settlement: dollars per winning contract at settlement (Kalshi: 0).
        round_to: each fee is rounded up to a multiple of this, dollars (0.01: the cent).
    """

    taker: Decimal | None = None
    maker: Decimal | None = None
    multiplier: Decimal | None = None
    settlement: Decimal | None = None
    round_to: Decimal | None = None

    def __attrs_post_init__(self) -> None:
        for name in FEE_COLUMNS[1:]:
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"{name} must be a Decimal >= 0, got {value!r}")
            if name == "round_to" and value == 0:
                raise ValueError("round_to must be > 0 (0.01: the cent)")

    def over(self, base: FeeRates) -> FeeRates:
        """These rates where set, ``base``'s elsewhere."""
        return FeeRates(
            **{
                name: base_value if mine is None else mine
                for name in FEE_COLUMNS[1:]
                for mine, base_value in [(getattr(self, name), getattr(base, name))]
            }
        )


PREDICTION_RATES: Final = FeeRates(
    taker=Decimal("0.07"),
    maker=Decimal("0.0175"),
    multiplier=_ONE,
    settlement=_ZERO,
    round_to=_CENT,
)
MARGIN_RATES: Final = FeeRates(
    taker=Decimal("0.0005"), maker=_ZERO, multiplier=_ONE, settlement=_ZERO, round_to=_CENT
)


def _round_up(amount: Decimal, step: Decimal) -> Decimal:
    if step == _CENT:
        return amount.quantize(_CENT, rounding=ROUND_CEILING)
    return (amount / step).to_integral_value(rounding=ROUND_CEILING) * step


def _as_dict(value: Mapping[str, FeeRates]) -> dict[str, FeeRates]:
    return dict(value)


def _prediction(rates: FeeRates) -> FeeRates:
    return rates.over(PREDICTION_RATES)


def _margin(rates: FeeRates) -> FeeRates:
    return rates.over(MARGIN_RATES)


class FeeScheduleError(ValueError):
    """A fee schedule file that cannot be used (the message names the file, line and field)."""


@attrs.frozen
class FeeSchedule:
    """Kalshi's fee rules per product and per series (see the module docstring).

    Attributes:
        prediction: the prediction product's rates (a field left None: the default's).
        margin: the margin product's rates (likewise).
        series: series or market ticker -> its overrides; a market's own entry wins over its
            series'.
    """

    prediction: FeeRates = attrs.field(default=PREDICTION_RATES, converter=_prediction)
    margin: FeeRates = attrs.field(default=MARGIN_RATES, converter=_margin)
    series: Mapping[str, FeeRates] = attrs.field(factory=dict, converter=_as_dict)

    def rates(self, product: str, symbol: str) -> FeeRates:
        """The rates that apply to a market (every field set)."""
        base = self.margin if product == "margin" else self.prediction
        own = self.series.get(symbol)
        group = self.series.get(series_of(symbol))
        if group is not None:
            base = group.over(base)
        if own is not None:
            base = own.over(base)
        return base

    def trade_fee(self, fill: FeeFill) -> Decimal:
        r = self.rates(fill.product, fill.symbol)
        rate = r.taker if fill.taker else r.maker
        assert rate is not None and r.multiplier is not None and r.round_to is not None
        if fill.product == "margin":
            amount = rate * fill.qty * fill.price
        else:
            amount = rate * fill.qty * fill.price * (_ONE - fill.price)
        if r.multiplier != _ONE:
            amount *= r.multiplier
        return _round_up(amount, r.round_to)

    def settlement_fee(self, product: str, symbol: str, payout_qty: Decimal) -> Decimal:
        r = self.rates(product, symbol)
        assert r.settlement is not None and r.multiplier is not None and r.round_to is not None
        if r.settlement == 0 or payout_qty <= 0:
            return _ZERO
        fee = _round_up(r.settlement * payout_qty * r.multiplier, r.round_to)
        return min(fee, payout_qty)  # never more than the payout

    @classmethod
    def of_kalshi(cls, rates: Mapping[str, Any]) -> FeeSchedule:
        """The schedule Kalshi charges: the general rates, with one override per series or
        market read from Kalshi (`kalshi_fix_sansio.rest.fees.KalshiFeesFetch.rates`: each
        with ``taker``, ``maker`` and ``multiplier``, None where the general rate holds)."""
        return cls(
            series={
                scope: FeeRates(taker=r.taker, maker=r.maker, multiplier=r.multiplier)
                for scope, r in rates.items()
            }
        )

    def dumps(self, comment: str = "") -> str:
        """The schedule as a schedule file's text (`load` reads it back to an equal schedule):
        a row per product and per series or market override, every field written;
        ``comment`` lines first (each prefixed ``#``)."""
        lines = [f"# {line}".rstrip() for line in comment.splitlines()]
        lines.append(",".join(FEE_COLUMNS))
        rows = [("prediction", self.prediction), ("margin", self.margin)]
        rows += sorted(self.series.items())
        for scope, rates in rows:
            cells = [getattr(rates, name) for name in FEE_COLUMNS[1:]]
            lines.append(",".join([scope, *("" if c is None else f"{c:f}" for c in cells)]))
        return "\n".join(lines) + "\n"

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FeeSchedule:
        """Read a schedule file (the module docstring gives the format).

        Raises:
            FeeScheduleError: unreadable, no header, an unknown column, a bad number, a scope
                given twice (the message names the file, line and field).
            OSError: the file cannot be opened.
        """
        name = os.fspath(path)
        with open(name, encoding="utf-8", newline="") as f:
            lines = [(n, line) for n, line in enumerate(f, start=1)]
        rows = [
            (n, line) for n, line in lines if line.strip() and not line.lstrip().startswith("#")
        ]
        if not rows:
            raise FeeScheduleError(f"{name}: no header line (columns: {', '.join(FEE_COLUMNS)})")
        head_line, head = rows[0]
        columns = [c.strip() for c in next(csv.reader([head]))]
        for column in columns:
            if column not in FEE_COLUMNS:
                raise FeeScheduleError(
                    f"{name}:{head_line}: unknown column {column!r} (columns: "
                    f"{', '.join(FEE_COLUMNS)})"
                )
        if columns[:1] != ["scope"] or len(set(columns)) != len(columns):
            raise FeeScheduleError(
                f"{name}:{head_line}: the header must start with 'scope' and name each column once"
            )
        products = {"prediction": PREDICTION_RATES, "margin": MARGIN_RATES}
        series: dict[str, FeeRates] = {}
        seen: set[str] = set()
        for n, line in rows[1:]:
            cells = [c.strip() for c in next(csv.reader([line]))]
            if len(cells) > len(columns):
                raise FeeScheduleError(
                    f"{name}:{n}: {len(cells)} fields, the header names {len(columns)}"
                )
            scope = cells[0]
            if not scope:
                raise FeeScheduleError(f"{name}:{n}: field 'scope': empty")
            if scope in seen:
                raise FeeScheduleError(f"{name}:{n}: field 'scope': {scope!r} given twice")
            seen.add(scope)
            values: dict[str, Decimal] = {}
            for column, cell in zip(columns[1:], cells[1:], strict=False):
                if not cell:
                    continue
                try:
                    value = Decimal(cell)
                except InvalidOperation:
                    value = Decimal("NaN")
                if not value.is_finite() or value < 0 or (column == "round_to" and value == 0):
                    need = "> 0" if column == "round_to" else ">= 0"
                    raise FeeScheduleError(
                        f"{name}:{n}: field {column!r}: {cell!r} is not a decimal number {need}"
                    )
                values[column] = value
            rates = FeeRates(**values)
            if scope in products:
                products[scope] = rates.over(products[scope])
            else:
                series[scope] = rates
        return cls(prediction=products["prediction"], margin=products["margin"], series=series)


class _FunctionFees:
    """A fee function of a `FeeFill` as a `FeeModel` (no settlement fee)."""

    def __init__(self, fn: Callable[[FeeFill], Decimal]) -> None:
        self.fn = fn

    def trade_fee(self, fill: FeeFill) -> Decimal:
        return self.fn(fill)

    def settlement_fee(self, product: str, symbol: str, payout_qty: Decimal) -> Decimal:
        return _ZERO

    def __repr__(self) -> str:
        return f"as_fee_model({self.fn!r})"


def as_fee_model(fees: FeeModel | Callable[[FeeFill], Decimal] | None) -> FeeModel:
    """A fee model from what a user gives: None (the default `FeeSchedule`), a `FeeModel`, or a
    function of a `FeeFill` returning the fill's fee in dollars (no settlement fee).

    Raises:
        TypeError: anything else.
    """
    if fees is None:
        return FeeSchedule()
    if isinstance(fees, FeeModel):
        return fees
    if callable(fees):
        return _FunctionFees(fees)
    raise TypeError(
        f"fees must be a FeeSchedule, a FeeModel or a function of a FeeFill, got {fees!r}"
    )
