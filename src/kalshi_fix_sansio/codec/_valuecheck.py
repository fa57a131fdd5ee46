"""`Message.check` of a remembered tag layout in one step: a pattern of the values' plain forms.

`Message.check` converts every field of a message and lists what does not convert, what an
enum does not list, and the structural defects. On a remembered tag layout (see `_decode`) the
structural checks depend on the tags alone and are made once; what still differs from one
message of the layout to the next is its values. Once a message of a layout has been checked
with nothing wrong, the layout gets a pattern of its frame: each field's tag, then the plain
form of a value its type converts (``[1-9]\\d{3}`` then a month and a day that exist, for a
date; the values an enum lists, for an enum field; the value itself for MsgType and for each
group's count, which the layout's entries fix; any value not empty for the fields it does
not read), each value captured: a frame it matches is read from its groups in the order of its
fields (`Codec.decode_clean`). A frame of the layout that the pattern matches
whole has nothing wrong, so `check` returns at once; its values still convert when read, and
cannot fail. A frame it does not match is checked in full, as before: the pattern only ever
accepts less than the full check does, never more (the differential tests hold the two equal).

The pattern is made per layout and per price unit (prices in cents or in dollars read
differently) and kept on the layout (`Layout.pattern_cents`, `Layout.pattern_dollars`), is a
compiled regular expression (one C call over the frame), and is never made for a layout with a
field whose type has no plain form here (raw data) or a tag the message's records read as two
types. What it is made from (the plain form of each of the class's tags) is found afresh for
each layout: nothing is kept per class.

`layout_scan` makes the same pattern for a strict reader of many frames (a recording's compile):
from a message that decoded and validated clean, a `LayoutScan` whose `LayoutScan.values` tells
a frame of the layout that the strict decode (BeginString, BodyLength and CheckSum verified)
and ``validate()`` accept, and reads the values it was asked for, without decoding the frame:
BeginString is pinned, BodyLength and CheckSum are checked on the bytes, and the enums' values
are those the enum lists (``validate`` takes others; their frames are decoded).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Collection
from typing import Any, cast

from . import _values as v
from ._fields import BEGIN_STRING, Matcher, Record
from ._wire import _own_end
from .framing import sum_sound

__all__ = ["LayoutScan", "layout_matcher", "layout_scan", "matcher_forms"]

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
_FILLED = rb"[^\x01]+" + _P


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
    forms = matcher_forms(cls, header, flat, dollars)
    if forms is None:
        return None
    return re.compile(_joined([(tag, form, True) for tag, form in forms])).fullmatch


def matcher_forms(
    cls: type[Record], header: type[Record], flat: list[bytes], dollars: bool
) -> list[tuple[bytes, bytes]] | None:
    """Each field of ``flat``'s tag layout as `layout_matcher`'s pattern reads it: its tag and
    the form its value must have (the pattern is these, each ``tag=(form)`` and SOH, in
    order); None: the layout has a field without a plain form here (no pattern)."""
    fields = _fields(cls, header, flat, dollars, frozenset(), sound=False)
    if fields is None:
        return None
    # every value captured, in order (`Codec.decode_clean` reads the fields from them), and
    # none empty: an unread field's too (an empty one, which the framer refuses, is checked in
    # full)
    return [(tag, _FILLED if form == _ANY else form) for tag, form, _ in fields]


def _joined(fields: list[tuple[bytes, bytes, bool]]) -> bytes:
    """The pattern of a frame of `_fields`, each captured value a group."""
    return b"".join(_part(tag, form, captured, b"\x01") for tag, form, captured in fields)


def _part(tag: bytes, form: bytes, captured: bool, end: bytes) -> bytes:
    return re.escape(tag) + b"=" + (b"(" + form + b")" if captured else form) + end


def _fields(
    cls: type[Record],
    header: type[Record],
    flat: list[bytes],
    dollars: bool,
    capture: frozenset[int],
    sound: bool,
) -> list[tuple[bytes, bytes, bool]] | None:
    """The fields of ``flat``'s tag layout (its class ``cls``, its header's ``header``): (tag,
    the form of its values, captured) each, in order, each value whose place in ``flat`` is in
    ``capture`` captured; ``sound``: BeginString as the codec writes it, BodyLength a group
    (the first) and CheckSum three digits (`LayoutScan` checks their values), else any value
    of theirs. None: a field has no plain form here."""
    forms, counts = _forms(cls, header, dollars)
    fields: list[tuple[bytes, bytes, bool]] = []
    for i in range(0, len(flat), 2):
        tag = flat[i]
        captured = False
        if tag in _UNREAD:
            form = _SOUND[tag] if sound else _ANY
        elif tag == b"35" or tag in counts:
            form = re.escape(flat[i + 1])
        else:
            form = forms.get(tag, b"")
            if not form:
                return None
            captured = i + 1 in capture
        fields.append((tag, form, captured))
    return fields


# a text's plain form in a message-log line (`LayoutScan.line_parts`): printable ASCII but `|`
# (SOH there) and a backslash (escaped bytes, ``\\xNN``, are never read from a log line)
_LINE_TEXT = rb"[ -\[\]-{}~]+" + _P


def _line_parts(fields: list[tuple[bytes, bytes, bool]]) -> tuple[tuple[bytes, bool], ...] | None:
    """A sound layout's fields as the parts of a message-log line's frame (`|` for SOH): each
    its pattern and whether it holds a group (BodyLength's, CheckSum's and the captured
    values'); None when a value's form could hold `|`, a backslash or a byte not printable."""
    parts: list[tuple[bytes, bool]] = []
    for tag, form, captured in fields:
        if form == _PLAIN[v.dec_str]:
            form = _LINE_TEXT
        elif tag == b"10":
            captured = True
        if b"\\|" in form or b"\\\\" in form or not all(0x20 <= c <= 0x7E for c in form):
            return None
        parts.append((_part(tag, form, captured, b"\\|"), captured or tag == b"9"))
    return tuple(parts)


# BeginString, BodyLength and CheckSum of a sound frame (`LayoutScan`)
_SOUND = {b"8": re.escape(BEGIN_STRING), b"9": rb"([0-9]{1,9}" + _P + b")", b"10": rb"[0-9]{3}"}


class LayoutScan:
    """The frames of one tag layout that decode and validate with nothing wrong, told and read
    in one step (`layout_scan`): a compiled pattern of the layout whose every value has its
    plain form, some of them captured, as `layout_matcher`'s is for `Message.check`.

    A frame `values` accepts is one that ``decode(frame, verify=True).validate()`` (in the
    price unit the scan was made for) accepts too: its tags are the layout's, in order, its
    MsgType and group counts the layout's, its BeginString, BodyLength and CheckSum right, and
    each value one its type converts (an enum's: one the enum lists); the pattern only ever
    accepts less than the decode and validation do, never more. A frame it does not accept is
    not thereby wrong: decode it.

    Attributes:
        fields: the message's own fields captured, attribute name -> index in `values`.
        groups: each repeating group of the message, attribute name -> per entry, the entry's
            fields captured (attribute name -> index in `values`).
        absent: the index in `values` of an empty value (``b""``, which no captured value is):
            a reader may point a field the layout lacks at it.
        line_parts: the same frames as written in a message-log line (`|` for SOH), one part
            per field in order: its pattern (ending in ``\\|``) and whether it holds a group
            (BodyLength's first, the captured values' in `values`' order, CheckSum's last);
            None when a value's form could hold `|`, a backslash or a byte not printable. A
            reader of log lines that matches them must still check BodyLength and CheckSum
            (the CheckSum over the frame with SOH, where each `|` counts 1, not 124).
        head: how many bytes a frame has before its BodyLength's value (``8=FIXT.1.1<SOH>9=``).
        decoders: per value of `values`, the decoder the strict decode reads its field with
            (None: BodyLength's, the empty one's): of a frame the scan accepts, ``decoders[i]
            (values[i])`` is the field's value in the decoded message.
    """

    __slots__ = ("_match", "absent", "decoders", "fields", "groups", "head", "line_parts")

    def __init__(
        self,
        match: Matcher,
        fields: dict[str, int],
        groups: dict[str, tuple[dict[str, int], ...]],
        absent: int,
    ) -> None:
        self._match = match
        self.fields = fields
        self.groups = groups
        self.absent = absent
        self.line_parts: tuple[tuple[bytes, bool], ...] | None = None
        self.head = len(b"8=" + BEGIN_STRING + b"\x019=")
        self.decoders: tuple[Callable[[bytes], Any] | None, ...] = ()

    def values(self, frame: bytes) -> tuple[bytes, ...] | None:
        """The captured values of ``frame`` (the first its BodyLength, the last ``b""``), or
        None when the scan does not accept it (see the class)."""
        if not frame.isascii():  # a text's plain form is any byte but SOH: UTF-8 when ASCII
            return None
        m = self._match(frame)
        if m is None:
            return None
        body_end = len(frame) - 7  # 10=ddd<SOH>
        if int(m[1]) != body_end - m.end(1) - 1 or not sum_sound(frame, body_end):
            return None
        values: tuple[bytes, ...] = m.groups()
        return values


def layout_scan(message: Record, names: Collection[str]) -> LayoutScan | None:
    """The `LayoutScan` of a decoded message's tag layout, capturing the fields ``names``
    (attribute names) of the message and of its groups' entries; made from a message that
    decoded and validated with nothing wrong (``message.validate()`` returned), in its price
    unit.

    Returns:
        The scan, or None: the message was built, not decoded, or decoded carefully, or its
        layout has a field without a plain form here, or a group with nested groups.
    """
    src = message._src
    if src is None or src.careful:
        return None
    flat = src.flat
    cls = type(message)
    places: dict[int, tuple[str | None, int, str]] = {}  # value place -> (group, entry, name)
    decoders: dict[int, Callable[[bytes], Any]] = {}  # value place -> its field's decoder
    dollars = src.dollars
    own_end = _own_end(cls, flat, src.present)
    first: dict[bytes, int] = {}
    for i in range(0, own_end, 2):
        first.setdefault(flat[i], i + 1)
    for info in cls._FIELDS:
        if info.attr in names and info.key in first:
            places[first[info.key]] = (None, 0, info.attr)
            decoders[first[info.key]] = (info.dec_dollars or info.dec) if dollars else info.dec
    counts = {flat[i]: i for i in range(len(flat) - 2, -1, -2)}  # each tag's first place
    for ginfo in cls._GROUPS:
        entries = getattr(message, ginfo.attr)
        if not entries:
            continue
        if ginfo.entry._GROUPS:
            return None
        j = counts[ginfo.key] + 2  # the first entry's first tag
        for k, entry in enumerate(entries):
            span = entry._flat
            if span is None or flat[j : j + len(span)] != span:
                return None
            seen: set[bytes] = set()
            for at in range(0, len(span), 2):
                key = span[at]
                member = ginfo.entry._BY_KEY.get(key)
                if member is not None and member.attr in names and key not in seen:
                    places[j + at + 1] = (ginfo.attr, k, member.attr)
                    decoders[j + at + 1] = (
                        (member.dec_dollars or member.dec) if dollars else member.dec
                    )
                seen.add(key)
            j += len(span)
    header: type[Record] = cast("Any", cls)._HEADER_CLS
    found = _fields(cls, header, flat, src.dollars, frozenset(places), sound=True)
    if found is None:
        return None
    pattern = _joined(found)
    fields: dict[str, int] = {}
    groups: dict[str, list[dict[str, int]]] = {}
    for n, place in enumerate(sorted(places), 1):  # group 0 (values[0]) is the BodyLength
        group, k, name = places[place]
        if group is None:
            fields[name] = n
        else:
            entries_ = groups.setdefault(group, [])
            while len(entries_) <= k:
                entries_.append({})
            entries_[k][name] = n
    absent = len(places) + 1
    match = re.compile(pattern + b"()").fullmatch
    scan = LayoutScan(match, fields, {g: tuple(e) for g, e in groups.items()}, absent)
    scan.line_parts = _line_parts(found)
    scan.decoders = (None, *(decoders[place] for place in sorted(places)), None)
    return scan
