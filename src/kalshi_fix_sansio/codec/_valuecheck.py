"""`Message.check` of a remembered tag layout in one step: a pattern of the values' plain forms.

`Message.check` converts every field of a message and lists what does not convert, what an
enum does not list, and the structural defects. On a remembered tag layout (see `_decode`) the
structural checks depend on the tags alone and are made once; what still differs from one
message of the layout to the next is its values. Once a message of a layout has been checked
with nothing wrong, the layout gets a pattern of its frame: each field's tag, then the plain
form of a value its type converts (``[1-9]\\d{3}`` then a month and a day that exist, for a
date; the values an enum lists, for an enum field; the value itself for MsgType and for each
group's count, which the layout's entries fix). A frame of the layout that the pattern matches
whole has nothing wrong, so `check` returns at once; its values still convert when read, and
cannot fail. A frame it does not match is checked in full, as before: the pattern only ever
accepts less than the full check does, never more (the differential tests hold the two equal).

The pattern is made per layout and per price unit (prices in cents or in dollars read
differently) and kept on the layout (`Layout.pattern_cents`, `Layout.pattern_dollars`), is a
compiled regular expression (one C call over the frame), and is never made for a layout with a
field whose type has no plain form here (raw data) or a tag the message's records read as two
types. What it is made from (the plain form of each of the class's tags) is found afresh for
each layout: nothing is kept per class.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

from . import _values as v
from ._fields import Matcher, Record

__all__ = ["layout_matcher"]

# A UTC date that exists: a year 1000-9999 (datetime's range; earlier ones are checked in full)
# and a month with its days (February to the 28th: the 29th is checked in full). Written for
# sre's speed, each the same language as its plainer spelling: [0-9] (a range, not the digit
# category), the days 01-28 of any month first, an optional part as an alternation with the
# empty string (``(?:x|)``: a BRANCH; ``(?:x)?`` is a general REPEAT, dearer), the fraction of a
# second nested (.ddd, .dddddd, .ddddddddd), and each repeat possessive where Python has them
# (3.11: ``x++``, ``x{1,30}+``): what a repeat takes it never gives back, so sre keeps no point
# to go back to and its stack stays flat (each value is followed by a byte its repeats do not
# take: a possessive repeat matches what the greedy one does). Callgrind (Python 3.12), matching
# a 35=8 and a 35=X frame: 37.8k -> 30.8k (spellings) -> 25.3k (possessive).
_P = b"+" if sys.version_info >= (3, 11) else b""  # makes the repeat before it possessive
_DAY = (
    rb"[1-9][0-9]{3}"
    + _P
    + (
        rb"(?:(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-9]|2[0-8])"
        rb"|(?:0[13-9]|1[0-2])(?:29|30)"
        rb"|(?:0[13578]|1[02])31)"
    )
)
_TIME = (
    rb"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    rb"(?:\.[0-9]{3}" + _P + rb"(?:[0-9]{3}" + _P + rb"(?:[0-9]{3}" + _P + rb"|)|)|)"
)
_DECIMAL = rb"-?" + _P + rb"[0-9]{1,30}" + _P + rb"(?:\.[0-9]{1,30}" + _P + rb"|)"
_INT = rb"-?" + _P + rb"[0-9]{1,18}" + _P  # within 64 bits whatever the digits

# the plain form of each decoder's values (the cached decoders by the function they cache)
_PLAIN: dict[Callable[[bytes], Any], bytes] = {
    v.dec_str: rb"[^\x01]+" + _P,  # UTF-8 when the frame is ASCII (`check` asks first)
    v.dec_bool: rb"[YN]",
    v.dec_int: _INT,
    v.dec_int_cents: _INT,
    v._dec_decimal: _DECIMAL,
    v._dec_cents: _DECIMAL,
    v._dec_timestamp: _DAY + b"-" + _TIME,
    v._dec_date: _DAY,
    v._dec_time_any: _TIME,
}
# what `check` never reads: BeginString, BodyLength and CheckSum (the framer checks them)
_UNREAD = frozenset({b"8", b"9", b"10"})
_ANY = rb"[^\x01]*" + _P


def _plain_form(dec: Callable[[bytes], Any]) -> bytes | None:
    """The pattern of the values ``dec`` converts with nothing wrong (None: none here)."""
    enum_cls = getattr(dec, "enum_cls", None)
    if enum_cls is not None:  # only the values the enum lists: any other is a defect
        values = sorted((str(m.value).encode() for m in enum_cls), key=len, reverse=True)
        return b"(?:" + b"|".join(map(re.escape, values)) + b")"
    return _PLAIN.get(getattr(dec, "plain", dec))


def _forms(
    cls: type[Record], header: type[Record], dollars: bool
) -> tuple[dict[bytes, bytes], frozenset[bytes]]:
    """Tag -> the plain form of its values, over the message, its header and its groups'
    entries (a tag read as two types, or without a plain form, maps to b""); and the groups'
    count tags."""
    forms: dict[bytes, bytes] = {}
    counts: set[bytes] = set()
    todo: list[type[Record]] = [cls, header]
    while todo:
        rec = todo.pop()
        for info in rec._FIELDS:
            dec = (info.dec_dollars or info.dec) if dollars else info.dec
            form = _plain_form(dec) or b""
            if forms.setdefault(info.key, form) != form:
                forms[info.key] = b""
        for ginfo in rec._GROUPS:
            counts.add(ginfo.key)
            todo.append(ginfo.entry)
    return forms, frozenset(counts)


def layout_matcher(
    cls: type[Record], header: type[Record], flat: list[bytes], dollars: bool
) -> Matcher | None:
    """The pattern of the frames of ``flat``'s tag layout whose values all have their plain
    form (``cls``: their class, ``header``: its header's), made from a message of that layout
    ``check`` found with nothing wrong: its MsgType and group counts are taken as they are (the
    layout fixes them). None: the layout has a field without a plain form here."""
    forms, counts = _forms(cls, header, dollars)
    parts: list[bytes] = []
    for i in range(0, len(flat), 2):
        tag = flat[i]
        if tag in _UNREAD:
            form = _ANY
        elif tag == b"35" or tag in counts:
            form = re.escape(flat[i + 1])
        else:
            form = forms.get(tag, b"")
            if not form:
                return None
        parts.append(re.escape(tag) + b"=" + form + b"\x01")
    return re.compile(b"".join(parts)).fullmatch
