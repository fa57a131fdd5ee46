# private: walks the generated classes' member infos (`_fields`) to draw every field
"""Hypothesis strategies for the generated message classes, derived from the spec at import time.

Nothing here is listed per message: every strategy is built from what the generated code
exposes (``cls._MEMBERS`` in wire order, ``cls._REQUIRED``, ``GroupInfo.entry``: the member
infos of the private `_fields` module) and from the FIX type of each tag in ``spec.FIELDS``.
Enum fields are recognised by the dialect module holding an ``enum.Enum`` subclass named like
the field (or with the suffix ``Value``).

Generated values are chosen so that every one of them survives an encode/decode round trip in
every wire unit the dialects use: prices are whole cents (valid as integer cents, as dollars and
as "cents with decimals"), decimals carry at most four places, timestamps millisecond or
microsecond precision.
"""

from __future__ import annotations

import enum
import functools
import importlib
import string
from collections.abc import Callable
from datetime import date, datetime, time, timezone
from decimal import Decimal
from types import ModuleType
from typing import Any, NamedTuple

from hypothesis import strategies as st

from kalshi_fix_sansio import FixRecord, Header, Message, margin, prediction
from kalshi_fix_sansio.codec import spec as tables
from kalshi_fix_sansio.codec._fields import FieldInfo, GroupInfo

UTC = timezone.utc

DIALECTS: dict[str, ModuleType] = {"prediction": prediction, "margin": margin}

MAX_GROUP_ENTRIES = 4

# -- scalar values by FIX type ----------------------------------------------------------------

_PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "

_ascii_text = st.text(alphabet=_PRINTABLE, min_size=1, max_size=16)
_unicode_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x01"),
    min_size=1,
    max_size=12,
)
_letters_text = st.text(  # non-ASCII letters mixed with ASCII
    alphabet=st.characters(categories=("Lu", "Ll", "Lo", "Nd")),
    min_size=1,
    max_size=12,
)
text_values = st.one_of(_ascii_text, _ascii_text, _letters_text, _unicode_text)
"""Non-empty text without SOH; mostly printable ASCII, sometimes any Unicode."""


def _decimal(min_value: int, max_value: int) -> st.SearchStrategy[Decimal]:
    """Decimals n * 10**-places with up to four places (the exponent is kept: 1.50 stays 1.50)."""
    return st.builds(
        lambda n, places: Decimal(n).scaleb(-places),
        st.integers(min_value, max_value),
        st.integers(0, 4),
    )


_cents_prices = st.integers(1, 99_999).map(lambda n: Decimal(n).scaleb(-2))
"""Whole-cent dollar prices: exact in cents, in dollars and in cents with decimals."""


def _ms(dt: Any) -> Any:
    return dt.replace(microsecond=dt.microsecond - dt.microsecond % 1000)


_aware_datetimes = st.datetimes(timezones=st.just(UTC))
timestamps = st.one_of(_aware_datetimes.map(_ms), _aware_datetimes.map(_ms), _aware_datetimes)
"""Aware UTC datetimes, mostly with millisecond precision, sometimes microsecond precision."""

times_utc = st.times().map(lambda t: _ms(t).replace(tzinfo=UTC))
"""UTC times with millisecond precision."""

_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "STRING": text_values,
    "CURRENCY": text_values,
    "MULTIPLEVALUESTRING": text_values,
    "EXCHANGE": text_values,
    "CHAR": st.sampled_from(_PRINTABLE),
    "BOOLEAN": st.booleans(),
    "INT": st.integers(-(2**63), 2**63 - 1),
    "SEQNUM": st.integers(0, 2**63 - 1),
    "LENGTH": st.integers(0, 2**31 - 1),
    "PRICE": _cents_prices,
    "QTY": _decimal(0, 10**12),
    "FLOAT": _decimal(0, 10**12),
    "AMT": _decimal(-(10**12), 10**12),
    "UTCTIMESTAMP": timestamps,
    "UTCDATEONLY": st.dates(),
    "LOCALMKTDATE": st.dates(),
    "UTCTIMEONLY": times_utc,
}

# the types values come back as, for a quick sanity check of the table above
PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "STRING": str,
    "CHAR": str,
    "BOOLEAN": bool,
    "INT": int,
    "SEQNUM": int,
    "LENGTH": int,
    "PRICE": Decimal,
    "QTY": Decimal,
    "AMT": Decimal,
    "UTCTIMESTAMP": datetime,
    "UTCDATEONLY": date,
    "LOCALMKTDATE": date,
    "UTCTIMEONLY": time,
    "DATA": bytes,
}

_no_soh_bytes = st.binary(min_size=1, max_size=64).map(lambda b: b.replace(b"\x01", b"+"))
_base64_bytes = st.text(
    alphabet=string.ascii_letters + string.digits + "+/=", min_size=4, max_size=88
).map(str.encode)


# -- spec lookups ---------------------------------------------------------------------------------


def fix_type(tag: int) -> str:
    """The FIX type of a tag, from the spec tables."""
    return tables.FIELDS[tag].type


def enum_of(dialect: ModuleType, info: FieldInfo) -> type[enum.Enum] | None:
    """The dialect's enum class for a field (named like the field, or with suffix Value)."""
    for name in (info.name, info.name + "Value"):
        candidate = getattr(dialect, name, None)
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return candidate
    return None


def data_pairs(cls: type[FixRecord]) -> dict[int, int]:
    """Data tag -> its Length tag, for the Length/Data pairs the class holds."""
    module = importlib.import_module(cls.__module__)
    raw: dict[bytes, bytes] = getattr(module, "_DATA_TAGS", {})
    tags = {m.tag for m in cls._MEMBERS}
    pairs = {int(data): int(length) for length, data in raw.items()}
    return {d: n for d, n in pairs.items() if d in tags and n in tags}


def iter_fields(cls: type[FixRecord]) -> list[tuple[type[FixRecord], FieldInfo]]:
    """Every (owner class, field) of a class and its group entries, recursively."""
    out: list[tuple[type[FixRecord], FieldInfo]] = []
    for m in cls._MEMBERS:
        if isinstance(m, GroupInfo):
            out += iter_fields(m.entry)
        else:
            out.append((cls, m))
    return out


def group_tags(cls: type[FixRecord]) -> list[int]:
    """The NUMINGROUP tags of a class and its group entries, recursively."""
    out: list[int] = []
    for g in cls._GROUPS:
        out.append(g.tag)
        out += group_tags(g.entry)
    return out


def generated_module(dialect: ModuleType) -> ModuleType:
    """The generated module behind a dialect (its wire tables and dialect constants)."""
    return importlib.import_module(next(iter(dialect.MESSAGES.values())).__module__)


def forget_layouts() -> None:
    """Forget the tag layouts every dialect's codec remembered (the private ``_CODEC`` of the
    generated modules): the next frame of each is seen for the first time."""
    for dialect in DIALECTS.values():
        generated_module(dialect)._CODEC.layouts.forget()


def message_classes() -> list[tuple[str, type[Message]]]:
    """(dialect name, class) for every message class of both dialects, in MESSAGES order."""
    return [(name, cls) for name, d in DIALECTS.items() for cls in d.MESSAGES.values()]


# -- field and record strategies -------------------------------------------------------------


def field_values(dialect: ModuleType, info: FieldInfo) -> st.SearchStrategy[Any]:
    """Valid values of one field: enum members, or values of its FIX type."""
    members = enum_of(dialect, info)
    if members is not None:
        return st.sampled_from(list(members))
    ftype = fix_type(info.tag)
    if ftype not in _SCALARS:
        raise LookupError(f"no strategy for {info.name}({info.tag}) of FIX type {ftype}")
    return _SCALARS[ftype]


def _data_kwargs(data_tag: FieldInfo, length_tag: FieldInfo, required: bool) -> Any:
    """A DATA field with its LENGTH partner: SOH-free bytes with the length left out, or any
    bytes (SOH and '=' included) with the length set."""
    without_length = st.one_of(_base64_bytes, _no_soh_bytes).map(
        lambda b: {data_tag.attr: b, length_tag.attr: None}
    )
    with_length = st.binary(min_size=1, max_size=64).map(
        lambda b: {data_tag.attr: b, length_tag.attr: len(b)}
    )
    choice = st.one_of(without_length, with_length)
    if not required:
        choice = st.one_of(choice, st.just({data_tag.attr: None, length_tag.attr: None}))
    return choice


class Shape(NamedTuple):
    """How records are drawn (hashable, so strategies are built once per class and shape)."""

    all_optional_set: bool = False  # every optional member set, not only sometimes
    delimiters: bool = True  # group entries always carry their first member (the delimiter)
    max_entries: int = MAX_GROUP_ENTRIES


DEFAULT_SHAPE = Shape()


def delimiter_optional_groups(cls: type[FixRecord]) -> list[GroupInfo]:
    """The groups (nested ones included) whose entry delimiter the spec leaves optional."""
    out: list[GroupInfo] = []
    for g in cls._GROUPS:
        if g.entry._MEMBERS[0].key not in g.entry._REQUIRED:
            out.append(g)
        out += delimiter_optional_groups(g.entry)
    return out


@functools.cache
def record_strategy(
    dialect: ModuleType,
    cls: type[FixRecord],
    shape: Shape = DEFAULT_SHAPE,
    entry: bool = False,
) -> st.SearchStrategy[Any]:
    """Valid instances of a message, group entry or header class.

    Required members are always set; optional ones are sometimes None. Groups hold
    1..``shape.max_entries`` entries built recursively. A group ``entry`` always has at least one
    member set (an entry with none has no wire form) and, with ``shape.delimiters``, its first
    member: without the delimiter, entry boundaries are ambiguous on the wire in general.
    """
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    pairs = data_pairs(cls)
    by_tag = {m.tag: m for m in cls._MEMBERS}
    lengths = set(pairs.values())
    data_parts: list[st.SearchStrategy[Any]] = []
    for index, m in enumerate(cls._MEMBERS):
        is_required = m.key in cls._REQUIRED or shape.all_optional_set
        if entry and index == 0 and shape.delimiters:
            is_required = True
        if isinstance(m, GroupInfo):
            values: st.SearchStrategy[Any] = st.lists(
                record_strategy(dialect, m.entry, shape, entry=True),
                min_size=1,
                max_size=shape.max_entries,
            )
        elif m.tag in lengths:
            continue  # set together with its DATA field
        elif fix_type(m.tag) == "DATA":
            if m.tag in pairs:
                data_parts.append(_data_kwargs(m, by_tag[pairs[m.tag]], is_required))
            elif is_required:
                raise LookupError(f"{cls.__name__}: required DATA field {m.name} without length")
            continue
        else:
            values = field_values(dialect, m)
        if is_required:
            required[m.attr] = values
        else:
            optional[m.attr] = values
    fields = st.fixed_dictionaries(required, optional=optional)
    if entry and not required:
        fields = fields.filter(bool)

    def build(kwargs: dict[str, Any], data: list[dict[str, Any]]) -> Any:
        kwargs = dict(kwargs)
        for part in data:
            kwargs.update(part)
        return cls(**kwargs)

    return st.builds(build, fields, st.tuples(*data_parts).map(list))


def messages(
    dialect: ModuleType, cls: type[Message], shape: Shape = DEFAULT_SHAPE
) -> st.SearchStrategy[Any]:
    """Valid instances of one message class of a dialect."""
    return record_strategy(dialect, cls, shape)


def headers(all_optional_set: bool = False) -> st.SearchStrategy[Header]:
    """Standard headers: the four required fields (MsgSeqNum >= 1), optional ones sometimes."""
    base = record_strategy(prediction, Header, Shape(all_optional_set=all_optional_set))
    return st.builds(lambda h, seq: h.replace(msg_seq_num=seq), base, st.integers(1, 2**31 - 1))


# -- deterministic values (for pinned reproducers) ---------------------------------------------

_SIMPLE: dict[str, Any] = {
    "STRING": "S",
    "CURRENCY": "USD",
    "MULTIPLEVALUESTRING": "S",
    "EXCHANGE": "X",
    "CHAR": "1",
    "BOOLEAN": False,
    "INT": 1,
    "SEQNUM": 1,
    "LENGTH": 1,
    "PRICE": Decimal("0.55"),
    "QTY": Decimal(2),
    "FLOAT": Decimal(2),
    "AMT": Decimal("1.25"),
    "UTCTIMESTAMP": datetime(2026, 11, 20, 14, 30, 0, 125000, tzinfo=UTC),
    "UTCDATEONLY": date(2026, 11, 20),
    "LOCALMKTDATE": date(2026, 11, 20),
    "UTCTIMEONLY": time(14, 30, tzinfo=UTC),
    "DATA": b"c2lnbmF0dXJl",
}


def simple_value(dialect: ModuleType, info: FieldInfo) -> Any:
    """A fixed valid value of a field: its enum's first member, or a plain value of its type."""
    members = enum_of(dialect, info)
    if members is not None:
        return next(iter(members))
    return _SIMPLE[fix_type(info.tag)]


def minimal_record(dialect: ModuleType, cls: type[FixRecord]) -> Any:
    """An instance with exactly the required members set (groups: one minimal entry)."""
    kwargs: dict[str, Any] = {}
    for m in cls._MEMBERS:
        if m.key not in cls._REQUIRED:
            continue
        if isinstance(m, GroupInfo):
            entry = minimal_record(dialect, m.entry)
            if not entry._REQUIRED:
                first = m.entry._MEMBERS[0]
                assert isinstance(first, FieldInfo)
                entry = entry.replace(**{first.attr: simple_value(dialect, first)})
            kwargs[m.attr] = [entry]
        else:
            kwargs[m.attr] = simple_value(dialect, m)
    return cls(**kwargs)


SIMPLE_HEADER = Header(
    sender_comp_id="K",
    target_comp_id="C",
    msg_seq_num=1,
    sending_time=_SIMPLE["UTCTIMESTAMP"],
)


def enum_fields(dialect: ModuleType, base: type, predicate: Callable[[str], bool]) -> list[Any]:
    """(message class, top-level field, enum) for every enum field whose enum values are of
    ``base`` and whose FIX type satisfies ``predicate``."""
    out = []
    for cls in dialect.MESSAGES.values():
        for m in cls._FIELDS:
            e = enum_of(dialect, m)
            if e is not None and predicate(fix_type(m.tag)):
                if all(isinstance(x.value, base) for x in e):
                    out.append((cls, m, e))
    return out
