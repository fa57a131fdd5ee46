"""Prices as people read them: one format per product, the same in every tool.

``kalshi-fix demo``, ``kalshi-fix decode`` (the table's typed values), ``kalshi-fix replay``
(its text output) and ``kalshi-fix md`` all show a price with `format_price`: dollars with a
``$``, to the product's tick:

* **prediction**: to the cent (``$0.40``), the tick of Price(44) on a session without
  UseDollars;
* **margin**: to $0.0001 (``$19.6000``), the tick of Price(44) on margin.

Both ticks are read from the spec's value rules (``spec/ranges.yaml``, `PRICE_TICK`), not
written here again. A price with more digits than its tick (a UseDollars subpenny price, an
average, a SettlementPrice of ``$0.306``) is shown with all of them: nothing is ever rounded.
Machine-readable output (``--json``) keeps the exact decimal strings instead.

Examples:
    >>> from decimal import Decimal
    >>> from kalshi_fix_sansio.prices import format_price
    >>> format_price(Decimal("0.4"), "prediction"), format_price(Decimal("0.4250"), "prediction")
    ('$0.40', '$0.425')
    >>> format_price(Decimal("19.6"), "margin")
    '$19.6000'
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

from ._generated.tables import FIELDS, VALUE_RULES

__all__ = ["PRICE_TAGS", "PRICE_TICK", "format_dollars", "format_price"]


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
