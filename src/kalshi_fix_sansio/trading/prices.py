"""Prices and quantities as people read them: one format per product, the same in every tool.

Every ``kalshi-fix`` command (``demo``, ``decode``'s table of typed values, ``replay``'s text
output, ``md``, ``order``, ``cancel``) and every script of ``examples/`` show a price with
`format_price` and a quantity with `format_quantity`. A price is dollars with a ``$``, to the
product's tick:

* **prediction**: to the cent (``$0.40``), the tick of Price(44) on a session without
  UseDollars;
* **margin**: to $0.0001 (``$19.6000``), the tick of Price(44) on margin.

Both ticks are read from the spec's value rules (``spec/ranges.yaml``, `PRICE_TICK`), not
written here again. A price with more digits than its tick (a UseDollars subpenny price, an
average, a SettlementPrice of ``$0.306``) is shown with all of them: nothing is ever rounded.
Machine-readable output (``--json``) keeps the exact decimal strings instead.

A quantity is a number of contracts: a whole number without decimals (``25``, however the wire
wrote it: ``25.00`` on a prediction report), a fraction to the product's quantity step
(prediction: hundredths of a contract, ``2.50``; margin trades whole contracts only), again with
all its digits when it has more. An amount of money that is not a price (a fee, a position's
fees, a notional) is dollars to the cent with `format_amount`; the top of a book reads
``HIGHNY-23DEC31: bid 25 @ $0.40 | ask 30 @ $0.45`` (`format_top`).

Examples:
    >>> from decimal import Decimal
    >>> from kalshi_fix_sansio.trading.prices import format_price
    >>> format_price(Decimal("0.4"), "prediction"), format_price(Decimal("0.4250"), "prediction")
    ('$0.40', '$0.425')
    >>> format_price(Decimal("19.6"), "margin")
    '$19.6000'
    >>> from kalshi_fix_sansio.trading.prices import format_quantity
    >>> format_quantity(Decimal("25.00"), "prediction"), format_quantity(Decimal("2.5"), "prediction")
    ('25', '2.50')
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ..codec import FIELDS, VALUE_RULES

if TYPE_CHECKING:
    from .book import Book

__all__ = [
    "PRICE_TAGS",
    "PRICE_TICK",
    "QUANTITY_STEP",
    "QUANTITY_TAGS",
    "format_amount",
    "format_dollars",
    "format_price",
    "format_quantity",
    "format_top",
]


def _display_ticks() -> dict[str, Decimal]:
    """product -> the tick of Price(44) on its default session (prediction: whole cents)."""
    ticks: dict[str, Decimal] = {}
    for rule in VALUE_RULES:
        if rule.tag == 44 and rule.check == "tick" and rule.tick and rule.when in (None, "cents"):
            for product in rule.products:
                if product in ticks:
                    raise RuntimeError(f"spec/ranges.yaml: two Price(44) ticks for {product}")
                ticks[product] = Decimal(rule.tick)
    return ticks


PRICE_TICK: Final[Mapping[str, Decimal]] = MappingProxyType(_display_ticks())
"""The precision prices are shown in, per product: the tick of Price(44) in
``spec/ranges.yaml`` (prediction ``0.01``: whole cents without UseDollars; margin ``0.0001``)."""

PRICE_TAGS: Final[frozenset[int]] = frozenset(
    tag for tag, spec in FIELDS.items() if spec.type == "PRICE"
)
"""Tags of the fields whose FIX type is PRICE (Price(44), LastPx(31), AvgPx(6), MDEntryPx(270)...)."""


_CENT: Final = Decimal("0.01")


def _quantity_steps() -> dict[str, Decimal]:
    """product -> the step of OrderQty(38) on a NewOrderSingle (prediction 0.01, margin 1)."""
    steps: dict[str, Decimal] = {}
    for rule in VALUE_RULES:
        if rule.tag == 38 and rule.check == "tick" and rule.tick:
            for product, msg_type, _ in rule.paths:
                if msg_type == "D":
                    if steps.get(product, Decimal(rule.tick)) != Decimal(rule.tick):
                        raise RuntimeError(
                            f"spec/ranges.yaml: two OrderQty(38) steps for {product}"
                        )
                    steps[product] = Decimal(rule.tick)
    return steps


QUANTITY_STEP: Final[Mapping[str, Decimal]] = MappingProxyType(_quantity_steps())
"""The step a fractional quantity is shown to, per product: the tick of OrderQty(38) on a
NewOrderSingle in ``spec/ranges.yaml`` (prediction ``0.01`` contract; margin ``1``)."""

QUANTITY_TAGS: Final[frozenset[int]] = frozenset(
    tag for tag, spec in FIELDS.items() if spec.type == "QTY"
)
"""Tags of the fields whose FIX type is QTY (OrderQty(38), CumQty(14), MDEntrySize(271)...)."""


def format_dollars(value: Decimal | int, tick: Decimal) -> str:
    """Dollars with a ``$``, to ``tick``, more digits only when the value has them.

    Nothing is rounded: ``Decimal("0.425")`` on a tick of ``0.01`` shows as ``$0.425``. A
    negative amount reads ``-$0.02``; a value that is not a finite number shows as it is.

    Args:
        value: the amount in dollars.
        tick: the precision to show it in (``Decimal("0.01")``: cents).

    Returns:
        The text, e.g. ``$0.40``.
    """
    d = Decimal(value)
    if not d.is_finite():
        return str(d)
    sign = "-" if d.is_signed() and d else ""
    d = d.copy_abs()
    try:
        on_tick = d.quantize(tick)
    except InvalidOperation:  # more digits than the context holds: shown whole
        on_tick = None
    if on_tick is not None and on_tick == d:
        return f"{sign}${on_tick:f}"
    text = f"{d:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{sign}${text}"


def format_price(value: Decimal | int, product: str) -> str:
    """A price (in dollars, as the API holds it) in the one format of ``product``.

    Args:
        value: the price in dollars.
        product: ``"prediction"`` (shown to the cent) or ``"margin"`` (to $0.0001).

    Returns:
        The text: ``$0.40`` on prediction, ``$19.6000`` on margin.

    Raises:
        KeyError: ``product`` is not one of Kalshi's products.
    """
    return format_dollars(value, PRICE_TICK[product])


def format_amount(value: Decimal | int) -> str:
    """An amount of money that is not a price (a fee, a notional), in dollars to the cent.

    Args:
        value: the amount in dollars.

    Returns:
        The text: ``$0.02``, ``-$1.50``, ``$0.0125`` (nothing rounded).
    """
    return format_dollars(value, _CENT)


def format_quantity(value: Decimal | int, product: str) -> str:
    """A quantity (contracts) in the one format of ``product``.

    A whole number shows without decimals whatever its scale on the wire (``25.00`` -> ``25``);
    a fraction to the product's `QUANTITY_STEP` (prediction ``2.5`` -> ``2.50``), with more
    digits only when the value has them (nothing is rounded). A value that is not a finite
    number shows as it is.

    Args:
        value: the number of contracts.
        product: ``"prediction"`` or ``"margin"``.

    Returns:
        The text, e.g. ``25`` or ``2.50``.

    Raises:
        KeyError: ``product`` is not one of Kalshi's products.
    """
    step = QUANTITY_STEP[product]
    d = Decimal(value)
    if not d.is_finite():
        return str(d)
    if d == d.to_integral_value():
        return str(int(d))
    return format_dollars(d, step).replace("$", "", 1)


def format_top(book: Book, product: str) -> str:
    """The top of a book in one line, prices and sizes in the product's one format.

    Args:
        book: a `kalshi_fix_sansio.trading.book.Book`.
        product: ``"prediction"`` or ``"margin"``.

    Returns:
        E.g. ``HIGHNY-23DEC31: bid 25 @ $0.40 | ask 30 @ $0.45`` (``-`` for an empty side).
    """
    bid, offer = book.top()
    shown = [
        "-"
        if level is None
        else f"{format_quantity(level.size, product)} @ {format_price(level.price, product)}"
        for level in (bid, offer)
    ]
    return f"{book.symbol}: bid {shown[0]} | ask {shown[1]}"
