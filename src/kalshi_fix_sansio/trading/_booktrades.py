"""A trade of a book: the `Trade` record of a 35=X's trade entry (MDEntryType 2) and how an
entry, or its values read from the fields, make one (the public name is
`kalshi_fix_sansio.trading.book`'s).
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any

import attrs

__all__ = ["Trade", "code_of", "trade_of", "trade_of_entry"]

_NO_VALUE = object()


def code_of(value: Any) -> str | None:
    """A field's code as a plain str: an enum member's value, a str as it is (None: None)."""
    if value is None or value.__class__ is str:
        return value
    # an Enum member keeps its value in ``_value_``: read without the Python-level ``value``
    # property (twice per entry on every 35=X)
    code = getattr(value, "_value_", _NO_VALUE)
    if code is _NO_VALUE:
        code = value.value if hasattr(value, "value") else value
    return code if code.__class__ is str else str(code)


@attrs.frozen(slots=True)
class Trade:
    """A trade entry (MDEntryType 2) of a 35=X.

    Attributes:
        symbol: market ticker.
        price: MDEntryPx(270), dollars.
        size: MDEntrySize(271), contracts.
        aggressor_side: AggressorSide(2446) code, ``"1"`` buy / ``"2"`` sell, if sent.
        trade_id: TradeID(1003), the trade UUID, if sent (since 2026-10-08).
        trd_type: TrdType(828), ``1`` for a block trade; ``None`` on regular order-book trades.
        entry_date: MDEntryDate(272), UTC, if sent.
        entry_time: MDEntryTime(273), UTC, if sent.
    """

    symbol: str
    price: Decimal
    size: Decimal
    aggressor_side: str | None = None
    trade_id: str | None = None
    trd_type: int | None = None
    entry_date: date | None = None
    entry_time: time | None = None


def trade_of_entry(e: Any, symbol: str, px: Decimal, size: Decimal) -> Trade:
    """The `Trade` of a trade entry whose symbol, price and size are read."""
    trd = e.trd_type
    return trade_of(
        symbol, px, size, e.aggressor_side, e.trade_id, trd, e.md_entry_date, e.md_entry_time
    )


def trade_of(
    symbol: str,
    px: Decimal,
    size: Decimal,
    side: Any,
    trade_id: str | None,
    trd: Any,
    day: date | None,
    clock: time | None,
) -> Trade:
    """The `Trade` of a trade entry's values (`trade_of_entry`, `codec.trade_values`)."""
    return Trade(
        symbol,
        px,
        size,
        code_of(side),
        trade_id,
        None if trd is None else int(getattr(trd, "value", trd)),
        day,
        clock,
    )
