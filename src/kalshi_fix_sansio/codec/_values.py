"""Wire <-> Python value conversion for every FIX type the spec uses.

Decoders take the raw bytes of one field value and return the typed value, raising `ValueError`
with a short reason (the message layer turns it into a `DecodeError` naming tag and message).
Encoders take the typed value and return bytes, raising `EncodeError` / `PriceUnitError` with a
message that names the field, and nothing else: whatever a caller puts into a field, the encoder
either writes a value its decoder reads back equal, or refuses it.

Decimal arithmetic here never goes through the decimal context: cents <-> dollars moves the
exponent of the exact value (no rounding at 28 digits), and the integrality checks compare
digits, so a 40-digit value is converted exactly or refused, never rounded.
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timezone
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from typing import Any

from .errors import EncodeError, PriceUnitError

UTC = timezone.utc
_DECIMAL_RE = re.compile(rb"-?(?:\d+(?:\.\d*)?|\.\d+)")
_INT_RE = re.compile(rb"-?\d+")
# UTCTimestamp YYYYMMDD-HH:MM:SS[.sss|.ssssss|.sssssssss] and UTCTimeOnly HH:MM:SS[...]
# (FIX 5.0 SP2 / FIXT 1.1; Kalshi writes milliseconds). On bytes, \d is [0-9] only.
_TS_RE = re.compile(rb"(\d{8})-(\d\d):(\d\d):(\d\d)(?:\.(\d{3}|\d{6}|\d{9}))?")
_TIME_RE = re.compile(rb"(\d\d):(\d\d):(\d\d)(?:\.(\d{3}|\d{6}|\d{9}))?")
_COLON = 58  # ord(":")
_DOT = 46  # ord(".")
# Longest decimal text (digits, zeros implied by the exponent included) the encoder writes: a
# bound so that Decimal("1E+999999999") is refused instead of written as a gigabyte of zeros.
MAX_DECIMAL_DIGITS = 1000
_MAXD = MAX_DECIMAL_DIGITS
# Arithmetic in this context is exact (precision and exponent range are the maximum): moving a
# value between cents and dollars never rounds, whatever its number of digits.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


# ---------------------------------------------------------------------------------------------
# decoding


# a str field's value: the UTF-8 text (UnicodeDecodeError, a ValueError, when it is not); the
# method itself, a call in C (a function calling it costs a Python call more per read)
dec_str: Callable[[bytes], str] = bytes.decode


def dec_bool(raw: bytes) -> bool:
    if raw == b"Y":
        return True
    if raw == b"N":
        return False
    raise ValueError(f"expected Y or N, got {raw!r}")


# FIX integers fit in 64 bits: a longer value is refused before any conversion (a peer's
# 4000-digit "int" must not cost time or reach the caller as a number nothing expects)
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1


def dec_int(raw: bytes) -> int:
    if raw.isdigit() and len(raw) <= 18:
        return int(raw)
    if _INT_RE.fullmatch(raw) is None:
        raise ValueError(f"expected an integer, got {raw[:40]!r}")
    if len(raw) > 21 or not INT_MIN <= (value := int(raw)) <= INT_MAX:
        raise ValueError(f"integer {raw[:40]!r} is outside the 64-bit range")
    return value


_DECIMAL_CHARS = b"0123456789.-"


# Values that repeat (prices, quantities, the dates and times of market-data entries) are
# converted once: raw bytes -> immutable value, in bounded dicts emptied when full. Only short
# values are kept, so a peer cannot make them hold much. They belong to a `ValueCaches`, one per
# generated module (each dialect's, whose codec owns it, and the header's); the module-level
# decoders below keep none.
_CACHE_SIZE = 4096
_CACHED_LEN = 32


def _cached(cache: dict[bytes, Any], plain: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """``plain`` remembering what it returns in ``cache``: a value of at most ``_CACHED_LEN``
    bytes, the whole dict emptied when it holds ``_CACHE_SIZE``."""
    get = cache.get

    def dec(raw: bytes) -> Any:
        hit = get(raw)
        if hit is not None:
            return hit
        value = plain(raw)
        if len(raw) <= _CACHED_LEN:  # (one call less: a time of day is new each message)
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[raw] = value
        return value

    dec.plain = plain  # type: ignore[attr-defined]  # lets a check know the type it reads
    dec.cache = cache  # type: ignore[attr-defined]  # lets a reader look a value up first
    return dec


class ValueCaches:
    """The bounded caches of one generated module's converters, and those converters.

    Attributes:
        decimals, cents, timestamps, dates, times: raw bytes (at most 32) -> the immutable
            value, at most 4,096 each; emptied when full.
        cents_written: a Decimal -> its whole cents as written (`enc_cents`), at most 4,096;
            emptied when full.
        dec_decimal, dec_cents, dec_timestamp, dec_date, dec_time: the decoders of those types
            reading and filling them (the module-level functions of the same names, cached
            here).
        enc_cents: `enc_cents` reading and filling ``cents_written``.
    """

    __slots__ = (
        "cents",
        "cents_written",
        "dates",
        "dec_cents",
        "dec_date",
        "dec_decimal",
        "dec_time",
        "dec_timestamp",
        "decimals",
        "enc_cents",
        "times",
        "timestamps",
    )

    def __init__(self) -> None:
        self.decimals: dict[bytes, Decimal] = {}
        self.cents: dict[bytes, Decimal] = {}
        self.timestamps: dict[bytes, datetime] = {}
        self.dates: dict[bytes, date] = {}
        self.times: dict[bytes, time] = {}
        self.cents_written: dict[Decimal, bytes] = {}
        self.dec_decimal: Callable[[bytes], Decimal] = _cached(self.decimals, _dec_decimal)
        self.dec_cents: Callable[[bytes], Decimal] = _cached(self.cents, _dec_cents)
        self.dec_timestamp: Callable[[bytes], datetime] = _cached(self.timestamps, _dec_timestamp)
        self.dec_date: Callable[[bytes], date] = _cached(self.dates, _dec_date)
        self.dec_time: Callable[[bytes], time] = _cached(self.times, _dec_time_any)
        self.enc_cents: CentsEncoder = _cents_writer(self.cents_written)


def _dec_decimal(raw: bytes) -> Decimal:
    # Only digits, '.' and '-' (no exponent, NaN, spaces or '_', which Decimal() would take);
    # Decimal() itself refuses a misplaced '.' or '-'.
    if raw.translate(None, _DECIMAL_CHARS) or not raw:
        raise ValueError(f"expected a decimal number, got {raw!r}")
    try:
        return Decimal(raw.decode("ascii"))
    except ArithmeticError:
        raise ValueError(f"expected a decimal number, got {raw!r}") from None


def _shift(d: Decimal, places: int) -> Decimal:
    """``d * 10**places``, exact at any size (in the default context scaleb rounds to 28 digits)."""
    return d.scaleb(places, _EXACT)


def _is_whole(d: Decimal) -> bool:
    return d == int(d)  # exact: int() truncates, the comparison is exact


def _dec_cents(raw: bytes) -> Decimal:
    """A price sent in cents, returned in dollars (exact, whatever the number of digits)."""
    return _shift(_dec_decimal(raw), -2)


def dec_int_cents(raw: bytes) -> Decimal:
    """A price documented as integer cents, returned in dollars.

    Kalshi's RFQ pages give BidPx/OfferPx on the market maker's session as integer cents ("only
    the integer part considered"): a value with a decimal point is refused, never divided by 100
    (``132=0.7500`` read this way would be $0.0075).
    """
    if raw.isdigit():
        return _shift(Decimal(raw.decode("ascii")), -2)
    if _INT_RE.fullmatch(raw) is None:
        raise ValueError(f"expected a price in integer cents, got {raw!r}")
    return _shift(Decimal(raw.decode("ascii")), -2)


def _fraction_us(frac: bytes | None) -> int:
    if not frac:
        return 0
    if len(frac) == 3:
        return int(frac) * 1000
    if len(frac) == 6:
        return int(frac)
    return int(frac[:6])  # nanoseconds: Python datetimes hold microseconds


_from_iso = datetime.fromisoformat
# fromisoformat reads YYYYMMDD and any one separator before the time (3.11 on)
_ISO_BASIC = sys.version_info >= (3, 11)


def _dec_timestamp(raw: bytes) -> datetime:
    n = len(raw)
    if (
        (n == 21 or n == 24 or n == 17)
        and raw[8:9] == b"-"
        and raw[11] == _COLON
        and raw[14] == _COLON
        and (n == 17 or raw[17] == _DOT)
        and raw[:8].isdigit()
    ):
        # YYYYMMDD-HH:MM:SS[.sss|.ssssss] -> ISO text the C parser reads. The separators are
        # checked first: fromisoformat alone also takes "12:00:00,512" and "120000.1". From
        # Python 3.11 it reads the frame's text as it is (a basic-format date, any one
        # character before the time): a third of the work of writing it out again.
        text = raw.decode("ascii", "replace")
        try:
            if _ISO_BASIC:
                return _from_iso(text + "+00:00")
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


def _dec_date(raw: bytes) -> date:
    if len(raw) != 8 or not raw.isdigit():
        raise ValueError(f"expected a date YYYYMMDD, got {raw!r}")
    return date(int(raw[0:4]), int(raw[4:6]), int(raw[6:8]))


_time_from_iso = time.fromisoformat


# ':' and '.' read as digits: with the separators where they belong, the other places are digits
# (one misplaced is no digit to fromisoformat, which refuses it: the careful parser names why)
_SEPARATORS_AS_DIGITS = bytes.maketrans(b":.", b"00")


def _dec_time_any(raw: bytes) -> time:
    n = len(raw)
    if (
        (n == 12 or n == 15 or n == 8)
        and raw[2] == _COLON
        and raw[5] == _COLON
        and (n == 8 or raw[8] == _DOT)
        and raw.translate(_SEPARATORS_AS_DIGITS).isdigit()
    ):
        # HH:MM:SS[.sss|.ssssss] -> ISO text the C parser reads; separators and digits checked
        # first (fromisoformat alone also takes "12:00:00,512" and "120000").
        try:
            return _time_from_iso(raw.decode("ascii") + "+00:00")
        except ValueError:
            pass
    return _dec_time(raw)


def _dec_time(raw: bytes) -> time:
    m = _TIME_RE.fullmatch(raw)
    if m is None:
        raise ValueError(f"expected UTCTimeOnly HH:MM:SS[.sss], got {raw!r}")
    return time(
        int(m.group(1)), int(m.group(2)), int(m.group(3)), _fraction_us(m.group(4)), tzinfo=UTC
    )


def dec_bytes(raw: bytes) -> bytes:
    return raw


def member_table(cls: type[enum.Enum]) -> dict[bytes, Any]:
    """Wire bytes -> member of an enum, for the generated converters' inline lookups (built
    once per generated module, never changed)."""
    return {str(m.value).encode(): m for m in cls}


def enum_decoder(cls: type[enum.Enum], base: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """Decoder for an enum field: the member when known, else the plain value (never an error)."""
    table = member_table(cls)

    def decode(raw: bytes) -> Any:
        hit = table.get(raw)
        return hit if hit is not None else base(raw)

    decode.enum_cls = cls  # type: ignore[attr-defined]  # lets a check find the enum fields
    decode.base = base  # type: ignore[attr-defined]
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
    try:
        return v.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodeError(
            f"{name}: character {v[exc.start]!r} at index {exc.start} cannot be written as "
            "UTF-8 (a lone surrogate)"
        ) from None


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
    if not INT_MIN <= v <= INT_MAX:  # the decoder refuses it: so does the encoder
        raise EncodeError(
            f"{name}: integer of {v.bit_length()} bits is outside the 64-bit range FIX carries"
        )
    return b"%d" % v


def _as_decimal(v: Any, name: str) -> Decimal:
    if v.__class__ is Decimal and v.is_finite() and -_MAXD <= v.adjusted() <= _MAXD:
        return v
    if isinstance(v, Decimal):
        d = v
    elif isinstance(v, int) and not isinstance(v, bool):
        try:
            d = Decimal(v)
        except ValueError:  # past the int -> str digit limit
            raise EncodeError(f"{name}: integer too large to write as a decimal") from None
    elif isinstance(v, str):
        try:
            d = Decimal(v)
        except ArithmeticError:
            raise EncodeError(f"{name}: {v!r} is not a decimal number") from None
    else:
        raise EncodeError(
            f"{name}: expected Decimal (or int / decimal string), got {type(v).__name__} {v!r}"
            + ("; floats are refused because they are inexact" if isinstance(v, float) else "")
        )
    if not d.is_finite():
        raise EncodeError(f"{name}: {d} is not a finite number")
    if not -_MAXD <= d.adjusted() <= _MAXD:
        # 1E+999999999 would be written as a gigabyte of zeros
        raise EncodeError(
            f"{name}: {d:.6E} needs more than {MAX_DECIMAL_DIGITS} digits in fixed-point form"
        )
    return d


def _plain_text(v: Any) -> str | None:
    """``str(v)`` of a short finite Decimal written without an exponent, else None.

    The fast path of the price and quantity encoders: such text is what ``format(v, "f")``
    writes (short, so within the digit bound), and its digits can be read directly.
    """
    if v.__class__ is Decimal:
        t = str(v)
        if len(t) < 24 and t[-1].isdigit() and "E" not in t:
            return t
    return None


def enc_decimal(v: Any, name: str) -> bytes:
    t = _plain_text(v)
    if t is not None:
        return t.encode("ascii")
    return format(_as_decimal(v, name), "f").encode("ascii")


def enc_dollars(v: Any, name: str, max_decimals: int) -> bytes:
    t = _plain_text(v)
    if t is not None and len(t.partition(".")[2]) <= max_decimals:
        return t.encode("ascii")
    d = _as_decimal(v, name)
    if not _is_whole(_shift(d, max_decimals)):
        raise PriceUnitError(
            f"{name}: price {d} has more than {max_decimals} decimal places of a dollar; "
            f"round it to a tick the market allows"
        )
    return format(d, "f").encode("ascii")


SUBPENNY_HINT = (
    "this session sends prices in cents; log on with UseDollars(21005)=Y for subpenny prices, "
    "or round the price"
)
RFQ_CENTS_HINT = (
    "quote prices (BidPx/OfferPx) on this session are integer cents (rfq_units='cents'); round "
    "the price to a cent"
)


CentsEncoder = Callable[..., bytes]
"""`enc_cents`' signature: ``(value, name, max_cent_decimals=0, hint=SUBPENNY_HINT)``."""


def enc_cents(v: Any, name: str, max_cent_decimals: int = 0, hint: str = SUBPENNY_HINT) -> bytes:
    """A dollar price as the cents the wire carries: whole cents, or with ``max_cent_decimals``
    decimals of a cent; anything finer is a `PriceUnitError` naming the field (``hint``: what
    to do about it)."""
    if max_cent_decimals == 0 and v.__class__ is Decimal and v.is_finite():
        written = _whole_cents(v)
        if written is not None:
            return written
    return _cents(v, name, max_cent_decimals, hint)


def _whole_cents(v: Decimal) -> bytes | None:
    """A finite Decimal's whole cents as written, read from its digits (None: it is not a whole
    number of cents, or is too long to read so)."""
    t = str(v)  # `_plain_text`, inline
    if len(t) < 24 and "E" not in t:
        units, _, fraction = t.partition(".")
        if len(fraction) > 2:  # a price read in dollars ("0.3100"): its zeros say nothing
            fraction = fraction.rstrip("0")
        if len(fraction) <= 2:  # whole cents: the digits, the point moved two places
            return b"%d" % int(units + fraction.ljust(2, "0"))
    return None


def _cents(v: Any, name: str, max_cent_decimals: int, hint: str) -> bytes:
    """`enc_cents` of any value: exact whatever its number of digits, or refused."""
    dollars = _as_decimal(v, name)
    cents = dollars.scaleb(2, _EXACT)  # exact, whatever the number of digits
    if max_cent_decimals == 0:
        whole = int(cents)
        if cents == whole:
            return b"%d" % whole
    if not _is_whole(cents if max_cent_decimals == 0 else _shift(cents, max_cent_decimals)):
        if max_cent_decimals == 0:
            raise PriceUnitError(
                f"{name}: price {dollars} dollars is not a whole number of cents; {hint}"
            )
        raise PriceUnitError(
            f"{name}: price {dollars} dollars has more than {max_cent_decimals} decimal places "
            "of a cent"
        )
    return format(cents, "f").encode("ascii")


def _cents_writer(written: dict[Decimal, bytes]) -> CentsEncoder:
    """`enc_cents` remembering the whole cents it writes in ``written`` (a function of the value
    alone: 0.31 and 0.3100 write the same), at most ``_CACHE_SIZE``, emptied when full: an
    order's price is most often one seen before, and often the very Decimal a decoder's cache
    handed out (its hash kept in it). Whole cents only: a field that takes fractions of a cent
    writes its value's own digits ("100.00"), which equal Decimals ("1.0000", "1.00") do not
    share."""
    get = written.get

    def enc(v: Any, name: str, max_cent_decimals: int = 0, hint: str = SUBPENNY_HINT) -> bytes:
        if max_cent_decimals == 0 and v.__class__ is Decimal and v.is_finite():  # (sNaN: no hash)
            hit = get(v)
            if hit is not None:
                return hit
            found = _whole_cents(v)
            if found is not None:
                if len(written) >= _CACHE_SIZE:
                    written.clear()
                written[v] = found
                return found
        return _cents(v, name, max_cent_decimals, hint)

    return enc


def fmt_timestamp(v: datetime) -> bytes:
    """UTCTimestamp text: milliseconds, or microseconds when the value has sub-millisecond digits.

    Args:
        v: an aware datetime (converted to UTC).

    Returns:
        ``YYYYMMDD-HH:MM:SS.sss`` (or ``.ssssss``) as bytes.

    Raises:
        EncodeError: the datetime is naive, or cannot be expressed in UTC (its time zone fails,
            or the UTC time falls outside years 1-9999).
    """
    if v.tzinfo is not UTC:
        try:
            offset = v.utcoffset()
            if offset is None:
                raise EncodeError(f"naive datetime {v!r}: pass an aware UTC datetime")
            if offset:
                v = v.astimezone(UTC)
        except EncodeError:
            raise
        except Exception as exc:  # a tzinfo's own error, or OverflowError past year 9999
            raise EncodeError(f"datetime {v!r} cannot be converted to UTC: {exc}") from None
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
    """UTCTimeOnly: an aware time whose offset is zero (the decoder returns UTC times)."""
    if not isinstance(v, time):
        raise EncodeError(f"{name}: expected a time, got {type(v).__name__} {v!r}")
    if v.tzinfo is not UTC:
        try:
            offset = v.utcoffset()
        except Exception as exc:  # a tzinfo's own error
            raise EncodeError(f"{name}: time {v!r}: its time zone fails: {exc}") from None
        if offset is None:
            raise EncodeError(f"{name}: naive time {v!r}: pass a UTC time (tzinfo=timezone.utc)")
        if offset:
            raise EncodeError(
                f"{name}: time {v!r} is not in UTC (offset {offset}); UTCTimeOnly has no date "
                "to convert it with"
            )
    us = v.microsecond
    frac = b"%06d" % us if us % 1000 else b"%03d" % (us // 1000)
    return b"%02d:%02d:%02d.%s" % (v.hour, v.minute, v.second, frac)


def enc_bytes(v: Any, name: str) -> bytes:
    if not isinstance(v, (bytes, bytearray)):
        # str too: decoded data is bytes, so text would not come back equal
        raise EncodeError(f"{name}: expected bytes, got {type(v).__name__}")
    if not v:
        raise EncodeError(f"{name}: empty data; leave the field as None to omit it")
    return bytes(v)


# the converters of the values that take no cache (a `ValueCaches` has the cached ones)
dec_decimal = _dec_decimal
dec_cents = _dec_cents
dec_timestamp = _dec_timestamp
dec_date = _dec_date
dec_time = _dec_time_any

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
