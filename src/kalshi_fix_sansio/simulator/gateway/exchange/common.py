"""Constants and small pure helpers every feature of the exchange shares.

Typed-message values arrive as enums, strings, ints or Decimals; `as_text`, `as_int`, `as_dec`
read them leniently (None when unusable) so the features never raise on client input. The time
helpers convert the engine's ``now`` (UTC epoch seconds) and know US Eastern time (Kalshi's
trading day and clearing date) by the US DST rules.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from decimal import ROUND_FLOOR, Decimal
from typing import Final

__all__ = [
    "BUY",
    "CENT",
    "HOUSE_ACCOUNT",
    "INCORRECT_DATA_FORMAT",
    "MAX_MARGIN_PRICE",
    "MAX_QTY",
    "NONE_ID",
    "ONE",
    "ORDER_GROUP_ID_TAG",
    "ROLLING_WINDOW_SECONDS",
    "SELL",
    "TICK",
    "ZERO",
    "Status",
    "as_dec",
    "as_int",
    "as_text",
    "aware_utc",
    "check_count",
    "crosses",
    "eastern",
    "echo_dec",
    "end_of_et_day",
    "exec_key",
    "floor_cents",
    "holder_of",
    "is_uuid",
    "raw_value",
    "to_ms",
    "utc",
]

HOUSE_ACCOUNT: Final = "house"
"""Account owning the liquidity `Exchange.seed_market` adds."""
ROLLING_WINDOW_SECONDS: Final = 15.0
"""Length of an order group's rolling fill window."""

MAX_QTY: Final = Decimal(100_000_000)
MAX_MARGIN_PRICE: Final = Decimal(1_000_000_000)
ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
CENT: Final = Decimal("0.01")
TICK: Final = Decimal("0.0001")
BUY: Final = "1"
SELL: Final = "2"
NONE_ID: Final = "NONE"
"""What id fields echo when the client sent none (FIX has no empty values)."""
ORDER_GROUP_ID_TAG: Final = 20130
INCORRECT_DATA_FORMAT: Final = "Incorrect data format for value"

_ECHO_LIMIT: Final = Decimal(10) ** 12
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EXEC_ID: Final = re.compile(r"(\d{1,18});(\d{1,18})(?:;(\d{1,6}))?")
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def is_uuid(value: str) -> bool:
    """The canonical 8-4-4-4-12 hex form Kalshi issues (any version; no braces, no urn:)."""
    return _UUID.fullmatch(value) is not None


class Status(str, enum.Enum):
    """OrdStatus / ExecType values used internally (same codes in both dialects)."""

    NEW = "0"
    PARTIAL = "1"
    FILLED = "2"
    CANCELED = "4"
    REPLACED = "5"
    REJECTED = "8"
    EXPIRED = "C"
    TRADE = "F"


def crosses(side: str, price: Decimal, best: Decimal) -> bool:
    """Whether a ``side`` order at ``price`` trades against the opposite side's ``best``."""
    return price >= best if side == BUY else price <= best


def raw_value(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def as_text(value: object) -> str | None:
    v = raw_value(value)
    if isinstance(v, str) and v and "\x01" not in v:
        return v
    return None


def as_int(value: object) -> int | None:
    v = raw_value(value)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    return None


def as_dec(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return None


def echo_dec(value: object) -> Decimal | None:
    d = as_dec(value)
    return d if d is not None and abs(d) <= _ECHO_LIMIT else None


def utc(ts: float) -> datetime:
    return _EPOCH + timedelta(seconds=ts)


def to_ms(dt: datetime) -> datetime:
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def aware_utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # pragma: no cover - out-of-range aware datetimes
        return None


def _nth_sunday(year: int, month: int, n: int) -> int:
    return 1 + (6 - date(year, month, 1).weekday()) % 7 + 7 * (n - 1)


def _et_offset(u: datetime) -> timedelta:
    """UTC offset of US Eastern time at the UTC instant ``u`` (US DST rules since 2007)."""
    y = u.year
    start = datetime(y, 3, _nth_sunday(y, 3, 2), 7, tzinfo=timezone.utc)
    end = datetime(y, 11, _nth_sunday(y, 11, 1), 6, tzinfo=timezone.utc)
    return timedelta(hours=-4) if start <= u < end else timedelta(hours=-5)


def eastern(u: datetime) -> datetime:
    """The Eastern wall-clock time of ``u`` (returned with a UTC tzinfo label)."""
    return u + _et_offset(u)


def end_of_et_day(u: datetime) -> datetime:
    eod = datetime.combine(eastern(u).date(), dtime(23, 59, 59, 999000), tzinfo=timezone.utc)
    guess = eod - _et_offset(u)
    return eod - _et_offset(guess)


def holder_of(account: str, alloc: int | None, party: str | None) -> str:
    if party is not None:
        return party
    if alloc:
        return f"{account}/{alloc}"
    return account


def exec_key(exec_id: str | None) -> tuple[int, int] | None:
    """(clock, event) of an exchange-index-0 ExecID (``c;e`` or ``c;e;0``), else None."""
    if exec_id is None:
        return None
    m = _EXEC_ID.fullmatch(exec_id)
    if m is None or (m.group(3) is not None and int(m.group(3)) != 0):
        return None
    return int(m.group(1)), int(m.group(2))


def floor_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_FLOOR)


def check_count(name: str, value: object) -> None:
    """A bound given as a count (``finished_orders``, ...) must be a whole number >= 1.

    Raises:
        ValueError: it is not (the message names it).
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
