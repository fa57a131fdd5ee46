"""Straight-line typed converters: the expression that turns one raw value into its typed value.

A generated class converts every field of a decoded record in one method (`_fast_fill`) with
one expression per field, written here from the field's decoders. Values that repeat (prices,
quantities, timestamps, dates, times, enum members) are looked up in the module's bounded
caches inline (`CACHE_LOOKUPS`, and ``_d_<Enum>`` for an enum's members), so the common case
costs a dict lookup and no Python call; anything else calls
the same decoder the lazy path uses, so both paths accept and refuse exactly the same values.
"""

from __future__ import annotations

import re

# decoder -> expression of the raw value ``r`` (bytes, not None); the decoder itself is the
# fallback of every cached lookup, so a cache miss or a bad value behaves as the lazy path does
_INLINE = {
    "_v.dec_str": 'r.decode("utf-8")',
    "_v.dec_bytes": "r",
    "_v.dec_bool": '(True if r == b"Y" else False if r == b"N" else _v.dec_bool(r))',
    "_v.dec_int": "(int(r) if r.isdigit() and len(r) <= 18 else _v.dec_int(r))",
    "_VALUES.dec_decimal": "(x if (x := _c_decimal(r)) is not None else _VALUES.dec_decimal(r))",
    "_VALUES.dec_cents": "(x if (x := _c_cents(r)) is not None else _VALUES.dec_cents(r))",
    "_VALUES.dec_timestamp": (
        "(x if (x := _c_timestamp(r)) is not None else _VALUES.dec_timestamp(r))"
    ),
    "_VALUES.dec_date": "(x if (x := _c_date(r)) is not None else _VALUES.dec_date(r))",
    "_VALUES.dec_time": "(x if (x := _c_time(r)) is not None else _VALUES.dec_time(r))",
}
# the names the expressions use, defined once per generated module (`CACHE_LOOKUPS`): lookups
# in the module's own value caches (`_values.ValueCaches`, ``_VALUES``)
CACHE_LOOKUPS = {
    "_c_decimal": "_VALUES.decimals.get",
    "_c_cents": "_VALUES.cents.get",
    "_c_timestamp": "_VALUES.timestamps.get",
    "_c_date": "_VALUES.dates.get",
    "_c_time": "_VALUES.times.get",
}
_ENUM = re.compile(r"_v\.enum_decoder\((\w+), ((?:_v|_VALUES)\.\w+)\)")


def _inline(dec: str) -> str:
    """The inline expression of one decoder expression (as the generator writes decoders)."""
    m = _ENUM.fullmatch(dec)
    if m is not None:  # the member when the value is listed, else the plain value
        return f"(x if (x := _d_{m.group(1)}(r)) is not None else {_inline(m.group(2))})"
    try:
        return _INLINE[dec]
    except KeyError:
        return f"{dec}(r)"


def enum_lookups(expr: str) -> set[str]:
    """The enum classes whose member lookup (``_d_<Enum>``) an expression uses."""
    return set(re.findall(r"\b_d_(\w+)\(", expr))


def fill_expr(dec: str, dec_dollars: str | None) -> str:
    """The typed value of ``r`` for a field with these decoders (``dollars``: the session flag).

    Args:
        dec: the decoder expression (prices: the cents form on a dialect with UseDollars).
        dec_dollars: the decoder when the message's prices are in dollars, or None.

    Returns:
        A Python expression of ``r`` and ``dollars``.
    """
    if dec_dollars is None or dec_dollars == dec:
        return _inline(dec)
    return f"({_inline(dec_dollars)} if dollars else {_inline(dec)})"


# converters whose cache rarely holds the value of the next message: a time of day or a timestamp
# changes from one message to the next, so a lookup misses and the decoder (a Python call) runs
_LAZY_ON_MISS = re.compile(
    r"\(x if \(x := (_c_time|_c_timestamp)\(r\)\) is not None else _VALUES\.dec_(?:time|timestamp)\(r\)\)"
)


def lazy_on_miss(fill: str) -> str | None:
    """The cache lookup of a converter that is that lookup alone (else its decoder), when its
    values rarely repeat: a group entry's walk takes the cached value or leaves the field lazy,
    converted on first read (most entries' times are never read: an order book reads none)."""
    m = _LAZY_ON_MISS.fullmatch(fill)
    return m.group(1) if m is not None else None


def at_fill(fill: str) -> str:
    """A converter as a remembered layout's fill (`_fill_at`) writes it: text decodes with the
    default codec, UTF-8 (no argument to parse: 0.2k instructions less a field). Timestamps
    keep their cache: a burst's reports and headers share their millisecond."""
    return fill.replace('r.decode("utf-8")', "r.decode()")
