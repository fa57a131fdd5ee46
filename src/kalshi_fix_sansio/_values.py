"""Wire <-> Python value conversion for every FIX type the spec uses.

Decoders take the raw bytes of one field value and return the typed value, raising `ValueError`
with a short reason (the message layer turns it into a `DecodeError` naming tag and message).
Encoders take the typed value and return bytes, raising `EncodeError` / `PriceUnitError` with a
message that names the field.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import EncodeError, PriceUnitError

UTC = timezone.utc
_DECIMAL_RE = re.compile(rb"-?(?:\d+(?:\.\d*)?|\.\d+)")
_INT_RE = re.compile(rb"-?\d+")
_TS_RE = re.compile(rb"(\d{8})-(\d\d):(\d\d):(\d\d)(?:\.(\d{3}|\d{6}|\d{9}))?")
_TIME_RE = re.compile(rb"(\d\d):(\d\d):(\d\d)(?:\.(\d{3}|\d{6}|\d{9}))?")
_HUNDRED = Decimal(100)


# ---------------------------------------------------------------------------------------------
# decoding


def dec_str(raw: bytes) -> str:
    return raw.decode("utf-8")


def dec_bool(raw: bytes) -> bool:
    if raw == b"Y":
        return True
    if raw == b"N":
        return False
    raise ValueError(f"expected Y or N, got {raw!r}")


def dec_int(raw: bytes) -> int:
    if raw.isdigit():
        return int(raw)
    if _INT_RE.fullmatch(raw) is None:
        raise ValueError(f"expected an integer, got {raw!r}")
    return int(raw)


_DECIMAL_CHARS = b"0123456789.-"


def dec_decimal(raw: bytes) -> Decimal:
    # Only digits, '.' and '-' (no exponent, NaN, spaces or '_', which Decimal() would take);
    # Decimal() itself refuses a misplaced '.' or '-'.
    if raw.translate(None, _DECIMAL_CHARS) or not raw:
        raise ValueError(f"expected a decimal number, got {raw!r}")
    try:
        return Decimal(raw.decode("ascii"))
    except ArithmeticError:
        raise ValueError(f"expected a decimal number, got {raw!r}") from None


def dec_cents(raw: bytes) -> Decimal:
    """A price sent in cents, returned in dollars (exact)."""
    return dec_decimal(raw).scaleb(-2)


def _fraction_us(frac: bytes | None) -> int:
    if not frac:
        return 0
    if len(frac) == 3:
        return int(frac) * 1000
    if len(frac) == 6:
        return int(frac)
    return int(frac[:6])  # nanoseconds: Python datetimes hold microseconds


_from_iso = datetime.fromisoformat


def dec_timestamp(raw: bytes) -> datetime:
    n = len(raw)
    if (n == 21 or n == 24 or n == 17) and raw[8:9] == b"-" and raw[:8].isdigit():
        # YYYYMMDD-HH:MM:SS[.sss|.ssssss] -> ISO text the C parser reads (3.10+)
        text = raw.decode("ascii", "replace")
        try:
            return _from_iso(f"{text[:4]}-{text[4:6]}-{text[6:8]}T{text[9:]}+00:00")
        except ValueError:
            pass
    m = _TS_RE.fullmatch(raw)
    if m is None:
        raise ValueError(f"expected UTCTimestamp YYYYMMDD-HH:MM:SS[.sss], got {raw!r}")
    d = m.group(1)
    return datetime(
        int(d[0:4]),
        int(d[4:6]),
        int(d[6:8]),
        int(m.group(2)),
        int(m.group(3)),
        int(m.group(4)),
        _fraction_us(m.group(5)),
        tzinfo=UTC,
    )


def dec_date(raw: bytes) -> date:
    if len(raw) != 8 or not raw.isdigit():
        raise ValueError(f"expected a date YYYYMMDD, got {raw!r}")
    return date(int(raw[0:4]), int(raw[4:6]), int(raw[6:8]))


def dec_time(raw: bytes) -> time:
    m = _TIME_RE.fullmatch(raw)
    if m is None:
        raise ValueError(f"expected UTCTimeOnly HH:MM:SS[.sss], got {raw!r}")
    return time(
        int(m.group(1)), int(m.group(2)), int(m.group(3)), _fraction_us(m.group(4)), tzinfo=UTC
    )


def dec_bytes(raw: bytes) -> bytes:
    return raw


def enum_decoder(cls: type[enum.Enum], base: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """Decoder for an enum field: the member when known, else the plain value (never an error)."""
    table: dict[bytes, Any] = {}
    for member in cls:
        table[str(member.value).encode()] = member

    def decode(raw: bytes) -> Any:
        hit = table.get(raw)
        return hit if hit is not None else base(raw)

    return decode


# ---------------------------------------------------------------------------------------------
# encoding


def enum_table(cls: type[enum.Enum]) -> dict[Any, bytes]:
    """value -> wire bytes for an enum (members of str/int enums hash like their values)."""
    return {m.value: str(m.value).encode() for m in cls}


def enc_enum(table: dict[Any, bytes], v: Any, name: str) -> bytes:
    """Encode an enum field: a member, its value, or another value of the right base type."""
    try:
        hit = table.get(v)
    except TypeError:
        hit = None
    if hit is not None:
        return hit
    first = next(iter(table), None)
    if isinstance(first, int):
        return enc_int(v, name)
    return enc_str(v, name)


def enc_str(v: Any, name: str) -> bytes:
    if isinstance(v, enum.Enum):
        v = v.value
    if not isinstance(v, str):
        raise EncodeError(f"{name}: expected str, got {type(v).__name__} {v!r}")
    if "\x01" in v:
        raise EncodeError(f"{name}: value contains the SOH delimiter (0x01): {v!r}")
    if not v:
        raise EncodeError(f"{name}: empty string; leave the field as None to omit it")
    return v.encode("utf-8")


def enc_bool(v: Any, name: str) -> bytes:
    if v is True:
        return b"Y"
    if v is False:
        return b"N"
    raise EncodeError(f"{name}: expected bool, got {type(v).__name__} {v!r}")


def enc_int(v: Any, name: str) -> bytes:
    if isinstance(v, enum.Enum):
        v = v.value
    if not isinstance(v, int) or isinstance(v, bool):
        raise EncodeError(f"{name}: expected int, got {type(v).__name__} {v!r}")
    return b"%d" % v


def _as_decimal(v: Any, name: str) -> Decimal:
    if v.__class__ is Decimal and v.is_finite():
        return v
    if isinstance(v, Decimal):
        d = v
    elif isinstance(v, int) and not isinstance(v, bool):
        d = Decimal(v)
    elif isinstance(v, str):
        try:
            d = Decimal(v)
        except InvalidOperation:
            raise EncodeError(f"{name}: {v!r} is not a decimal number") from None
    else:
        raise EncodeError(
            f"{name}: expected Decimal (or int / decimal string), got {type(v).__name__} {v!r}"
            + ("; floats are refused because they are inexact" if isinstance(v, float) else "")
        )
    if not d.is_finite():
        raise EncodeError(f"{name}: {d} is not a finite number")
    return d


def enc_decimal(v: Any, name: str) -> bytes:
    return format(_as_decimal(v, name), "f").encode("ascii")


def enc_dollars(v: Any, name: str, max_decimals: int) -> bytes:
    d = _as_decimal(v, name)
    exp = d.as_tuple().exponent
    if isinstance(exp, int) and exp < -max_decimals and d != round(d, max_decimals):
        raise PriceUnitError(
            f"{name}: price {d} has more than {max_decimals} decimal places of a dollar; "
            f"round it to a tick the market allows"
        )
    return format(d, "f").encode("ascii")


def enc_cents(v: Any, name: str, max_cent_decimals: int = 0) -> bytes:
    dollars = _as_decimal(v, name)
    cents = dollars.scaleb(2)
    if cents != round(cents, max_cent_decimals):
        if max_cent_decimals == 0:
            raise PriceUnitError(
                f"{name}: price {dollars} dollars is not a whole number of cents, and this "
                "session sends prices in cents; log on with UseDollars(21005)=Y for subpenny "
                "prices, or round the price"
            )
        raise PriceUnitError(
            f"{name}: price {dollars} dollars has more than {max_cent_decimals} decimal places "
            "of a cent"
        )
    if max_cent_decimals == 0:
        return b"%d" % int(cents)
    return format(cents, "f").encode("ascii")


def fmt_timestamp(v: datetime) -> bytes:
    """UTCTimestamp text: milliseconds, or microseconds when the value has sub-millisecond digits.

    Args:
        v: an aware datetime (converted to UTC).

    Returns:
        ``YYYYMMDD-HH:MM:SS.sss`` (or ``.ssssss``) as bytes.

    Raises:
        EncodeError: the datetime is naive.
    """
    if v.tzinfo is not UTC:
        if v.tzinfo is None or v.utcoffset() is None:
            raise EncodeError(f"naive datetime {v!r}: pass an aware UTC datetime")
        if v.utcoffset():
            v = v.astimezone(UTC)
    us = v.microsecond
    if us % 1000:
        frac = b"%06d" % us
    else:
        frac = b"%03d" % (us // 1000)
    return b"%04d%02d%02d-%02d:%02d:%02d.%s" % (
        v.year,
        v.month,
        v.day,
        v.hour,
        v.minute,
        v.second,
        frac,
    )


def enc_timestamp(v: Any, name: str) -> bytes:
    if not isinstance(v, datetime):
        raise EncodeError(f"{name}: expected an aware datetime, got {type(v).__name__} {v!r}")
    try:
        return fmt_timestamp(v)
    except EncodeError as exc:
        raise EncodeError(f"{name}: {exc}") from None


def enc_date(v: Any, name: str) -> bytes:
    if not isinstance(v, date) or isinstance(v, datetime):
        raise EncodeError(f"{name}: expected a date, got {type(v).__name__} {v!r}")
    return b"%04d%02d%02d" % (v.year, v.month, v.day)


def enc_time(v: Any, name: str) -> bytes:
    if not isinstance(v, time):
        raise EncodeError(f"{name}: expected a time, got {type(v).__name__} {v!r}")
    us = v.microsecond
    frac = b"%06d" % us if us % 1000 else b"%03d" % (us // 1000)
    return b"%02d:%02d:%02d.%s" % (v.hour, v.minute, v.second, frac)


def enc_bytes(v: Any, name: str) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8")
    if not isinstance(v, (bytes, bytearray)):
        raise EncodeError(f"{name}: expected bytes, got {type(v).__name__}")
    return bytes(v)


DECODERS: Mapping[str, Callable[[bytes], Any]] = {
    "str": dec_str,
    "bool": dec_bool,
    "int": dec_int,
    "Decimal": dec_decimal,
    "datetime": dec_timestamp,
    "date": dec_date,
    "time": dec_time,
    "bytes": dec_bytes,
}

ENCODERS: Mapping[str, Callable[[Any, str], bytes]] = {
    "str": enc_str,
    "bool": enc_bool,
    "int": enc_int,
    "Decimal": enc_decimal,
    "datetime": enc_timestamp,
    "date": enc_date,
    "time": enc_time,
    "bytes": enc_bytes,
}
