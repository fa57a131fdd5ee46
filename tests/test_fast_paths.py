# private: the codec's fast read paths held to a reference (`_values`, `_message`)
"""The fast read paths against a plain reference decoder.

A decoded record converts its fields in bulk (`FixRecord._fill`) from the second field read on,
and the value converters cache what repeats. Whatever the order fields are read in, and whether
through attributes, ``validate()`` or ``check()``, each value must equal what the plain
reference below makes of the flat (tag, value) list with the `_values` converters, and a
tolerant decode must record the same defects as reading each field alone through
`FixRecord._load` (the per-field path). It looks into the private modules it tests:
`_values`, `_fields`, `_message` (`convert_now`), `_decode` and `_generated`.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timezone
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from framing_helpers import make_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import DIALECTS, forget_layouts, headers, message_classes, messages

from kalshi_fix_sansio import DecodeError, FixRecord, Header, Message, prediction
from kalshi_fix_sansio.codec import _values as v
from kalshi_fix_sansio.codec._fields import FieldInfo, GroupInfo
from kalshi_fix_sansio.codec._message import convert_now

ERROR = object()  # the reference's "does not convert"
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CLASSES = [pytest.param(d, cls, id=f"{d}-{cls.__name__}") for d, cls in message_classes()]

# values a peer may put in any field: valid for some types, invalid for others
JUNK = [
    b"",
    b"x",
    b"Y",
    b"-",
    b"1.2.3",
    b"12",
    b"0.75",
    b"-0",
    b"1e5",
    b"99999999999999999999999",
    b"20261120",
    b"20261301",
    b"20261120-14:30:00.125",
    b"20261120-25:00:00.000",
    b"20261120-14:30:00,125",
    b"14:30:00.125",
    b"14:30:00.123456789",
    b"24:00:00",
    b"14:30:00,125",
    b"\xff\xfe",
    b"\xd9\xa3",  # Arabic-Indic digit three
]


# -- the reference ---------------------------------------------------------------------------


def reference(rec: FixRecord) -> dict[str, Any]:
    """attr -> value (or ERROR) of every plain field, converted one by one from the flat list."""
    src = rec._src
    assert src is not None
    flat = src.flat if rec._flat is None else rec._flat
    out: dict[str, Any] = {}
    for info in rec._FIELDS:
        raw = None
        for i in range(0, len(flat), 2):
            if flat[i] == info.key:
                raw = flat[i + 1]  # the first occurrence, as raw_value() gives it
                break
        if raw is None:
            out[info.attr] = None
            continue
        dec = info.dec_dollars if src.dollars and info.dec_dollars is not None else info.dec
        try:
            out[info.attr] = dec(raw)
        except (ValueError, UnicodeDecodeError, ArithmeticError):
            out[info.attr] = ERROR
    return out


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same type (Decimal('1.50') keeps its exponent, times their zone)."""
    if type(a) is not type(b) or a != b:
        return False
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()
    if isinstance(a, (datetime, time)):
        return a.tzinfo is b.tzinfo
    return True


def records(msg: Message) -> list[FixRecord]:
    """The message, its header and every group entry (groups read through the attributes)."""
    out: list[FixRecord] = [msg, msg.header]
    i = 0
    while i < len(out):
        rec = out[i]
        for g in rec._GROUPS:
            entries = getattr(rec, g.attr)
            if entries:
                out.extend(entries)
        i += 1
    return out


def read(rec: FixRecord, info: FieldInfo) -> Any:
    try:
        return getattr(rec, info.attr)
    except DecodeError:
        return ERROR


def check_record(
    rec: FixRecord, expected: dict[str, Any], order: list[int], tolerant: bool
) -> None:
    fields = rec._FIELDS
    for i in order:
        info = fields[i % len(fields)]
        got = read(rec, info)
        want = expected[info.attr]
        if want is ERROR:
            assert got is (None if tolerant else ERROR), (type(rec).__name__, info, got)
        else:
            assert same(got, want), (type(rec).__name__, info.attr, got, want)


def per_field_defects(dialect: ModuleType, frame: bytes, use_dollars: bool) -> set[Any]:
    """Defects of a tolerant decode when every field is read alone through `_load`."""
    msg = dialect.decode(frame, tolerant=True, use_dollars=use_dollars)
    out: list[FixRecord] = [msg, msg.header]
    i = 0
    while i < len(out):
        rec = out[i]
        for f in rec._FIELDS:
            rec._load(f)
        for g in rec._GROUPS:
            entries = rec._load_group(g)
            if entries:
                out.extend(entries)
        i += 1
    return set(msg.defects)


def read_one_entry(msg: Message, rng: random.Random) -> None:
    """Read one entry of each group by index first (a group types the entries up to the one
    read, the rest when it is read in full): the full reads after it must not differ."""
    for g in msg._GROUPS:
        try:
            entries = getattr(msg, g.attr)
            if entries is not None:
                entries[rng.randrange(4)]
        except (DecodeError, IndexError):
            pass  # an entry that is not there, or (strict) a group that does not parse


def compare(dialect: ModuleType, frame: bytes, use_dollars: bool, rng: random.Random) -> None:
    for tolerant in (False, True):
        try:
            msg = dialect.decode(frame, tolerant=tolerant, use_dollars=use_dollars)
            if rng.random() < 0.5:
                read_one_entry(msg, rng)
            recs = records(msg)
        except DecodeError:
            continue  # a frame that cannot be split (or, strict, a structural error): no values
        # attributes read in a random order (the first read of a message is the lazy one)
        expected = [reference(r) for r in recs]
        for rec, exp in zip(recs, expected, strict=True):
            if rec._FIELDS:
                order = [rng.randrange(len(rec._FIELDS)) for _ in range(3)]
                order += rng.sample(range(len(rec._FIELDS)), len(rec._FIELDS))
                check_record(rec, exp, order, tolerant)
        if tolerant:
            assert set(msg.defects) <= per_field_defects(dialect, frame, use_dollars)
            value_defects = {d for d in msg.defects if d.reason == 6 and not _group_count(msg, d)}
            wanted = {
                (info.tag, _raw(rec, info))
                for rec, exp in zip(recs, expected, strict=True)
                for info in rec._FIELDS
                if exp[info.attr] is ERROR
            }
            assert {(d.tag, d.value) for d in value_defects} == wanted
            # check() on a fresh decode finds what reading everything plus checking finds
            fresh = dialect.decode(frame, tolerant=True, use_dollars=use_dollars)
            assert set(fresh.check()) == set(msg.check())
            fresh_recs = records(fresh)
            for rec, exp in zip(fresh_recs, expected, strict=True):
                for info in rec._FIELDS:
                    want = exp[info.attr]
                    got = getattr(rec, info.attr)
                    assert got is None if want is ERROR else same(got, want)
        else:
            # validate() raises exactly when some field of the message does not convert
            fresh = dialect.decode(frame, use_dollars=use_dollars)
            bad = any(
                e[info.attr] is ERROR
                for r, e in zip(recs, expected, strict=True)
                for info in r._FIELDS
            )
            try:
                fresh.validate()
            except DecodeError as exc:
                assert bad or exc.reject_reason == 13 or _group_trouble(fresh)
            else:
                assert not bad
                for rec, exp in zip(records(fresh), expected, strict=True):
                    for info in rec._FIELDS:
                        assert same(getattr(rec, info.slot), exp[info.attr])


def _raw(rec: FixRecord, info: FieldInfo) -> bytes:
    src = rec._src
    assert src is not None
    flat = src.flat if rec._flat is None else rec._flat
    return next(flat[i + 1] for i in range(0, len(flat), 2) if flat[i] == info.key)


def _group_count(msg: Message, d: Any) -> bool:
    return any(isinstance(m, GroupInfo) and m.tag == d.tag for m in _all_members(type(msg)))


def _all_members(cls: type[FixRecord]) -> list[Any]:
    out: list[Any] = list(cls._MEMBERS)
    for g in cls._GROUPS:
        out += _all_members(g.entry)
    return out


def _group_trouble(msg: Message) -> bool:
    try:
        msg._load_all()
        msg.header._load_all()
    except DecodeError:
        return True
    return False


# -- corpus ----------------------------------------------------------------------------------


def mutate(frame: bytes, rng: random.Random) -> bytes:
    """A frame with a few body values replaced by junk, a field repeated or one left out."""
    fields = frame.split(b"\x01")[:-1]
    body = list(range(3, len(fields) - 1))  # after 8, 9, 35; before 10
    for _ in range(rng.randint(1, 3)):
        i = rng.choice(body)
        tag, _, value = fields[i].partition(b"=")
        what = rng.random()
        if what < 0.7:
            fields[i] = tag + b"=" + rng.choice(JUNK)
        elif what < 0.85:
            fields.insert(i, fields[i])
            body.append(len(fields) - 2)
        elif len(body) > 1:
            fields[i] = b"58=" + value  # the field's value under another (string) tag
    return b"\x01".join(fields) + b"\x01"


@pytest.mark.parametrize(("dialect_name", "cls"), CLASSES)
@SETTINGS
@given(data=st.data())
def test_fast_paths_equal_the_reference(
    dialect_name: str, cls: type[Message], data: st.DataObject
) -> None:
    dialect = DIALECTS[dialect_name]
    msg = data.draw(messages(dialect, cls), label="msg")
    header = data.draw(headers(), label="header")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = random.Random(seed)
    for use_dollars in (False, True):
        frame = dialect.encode(msg, header, use_dollars=use_dollars)
        compare(dialect, frame, use_dollars, rng)
        for _ in range(3):
            compare(dialect, mutate(frame, rng), use_dollars, rng)


SAMPLES = [
    line.replace(b"|", b"\x01")
    for line in (
        __import__("pathlib").Path(prediction.__file__).parent.parent
        / "simulator/testing/samples/prediction.fix"
    )
    .read_bytes()
    .splitlines()
    if line.strip()
]


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda f: f.split(b"\x01")[2].decode())
def test_samples_and_their_mutations(frame: bytes) -> None:
    rng = random.Random(11)
    for use_dollars in (False, True):
        compare(prediction, frame, use_dollars, rng)
        for _ in range(40):
            compare(prediction, mutate(frame, rng), use_dollars, rng)


@pytest.mark.parametrize(
    "raw", [*JUNK, b"20261120-14:30:00", b"20261120-14:30:00.123456", b"14:30:00"]
)
def test_cached_converters_equal_the_uncached(raw: bytes) -> None:
    plain = {
        v.dec_decimal: v._dec_decimal,
        v.dec_cents: lambda r: v._shift(v._dec_decimal(r), -2),
        v.dec_timestamp: v._dec_timestamp,
        v.dec_time: v._dec_time,
        v.dec_date: _plain_date,
    }
    for fast, slow in plain.items():
        for _ in range(2):  # the second call may come from the cache
            try:
                want = slow(raw)
            except ValueError as exc:
                with pytest.raises(ValueError) as info:
                    fast(raw)
                assert str(info.value) == str(exc)
            else:
                assert same(fast(raw), want)


def _plain_date(raw: bytes) -> date:
    if len(raw) != 8 or not raw.isdigit():
        raise ValueError(f"expected a date YYYYMMDD, got {raw!r}")
    return date(int(raw[0:4]), int(raw[4:6]), int(raw[6:8]))


def test_cached_times_are_utc() -> None:
    assert v.dec_time(b"14:30:00.125").tzinfo is timezone.utc
    assert v.dec_timestamp(b"20261120-14:30:00.125").tzinfo is timezone.utc


def test_the_header_is_made_once() -> None:
    msg = prediction.decode(SAMPLES[0])
    assert msg.header is msg.header


def test_a_remembered_layouts_header_converted_at_once_names_a_bad_value() -> None:
    """The header of a frame of a layout seen twice is converted whole when it is made: a value
    that does not convert leaves it to the lazy reads, which name it as before (strictly, the
    read raises; tolerantly, it reads None and the defect says why), the others read right."""
    frame = SAMPLES[2]
    bad = frame.replace(b"\x0134=", b"\x0134=x", 1)
    assert bad != frame
    forget_layouts()  # every layout first seen
    prediction.decode(frame)  # the layout remembered
    good = prediction.decode(frame).header  # its places found: converted whole
    assert good._eager is None and isinstance(good.msg_seq_num, int)
    strict = prediction.decode(bad).header
    assert strict.sender_comp_id == good.sender_comp_id
    with pytest.raises(DecodeError) as info:
        strict.msg_seq_num  # noqa: B018
    assert info.value.tag == 34
    tolerant = prediction.decode(bad, tolerant=True)
    assert tolerant.header.msg_seq_num is None
    assert [d.tag for d in tolerant.defects] == [34]
    assert tolerant.header.sending_time == good.sending_time


def test_convert_now_fills_a_remembered_layouts_slots_and_leaves_a_bad_value_to_its_read() -> None:
    """`convert_now` (as the driver converts a report) fills a message whose layout's places
    are known at once, with the values the lazy reads make; a value that does not convert is
    left to its read, which names it."""
    frame = make_frame(
        b"35=8\x0149=Kalshi\x0156=key-1\x0134=2\x01"
        b"52=20260101-00:00:00.001\x016=0\x0111=o1\x0114=0.00\x0117=1;1\x0137=e1\x01"
        b"38=1.00\x0139=0\x0144=40\x0154=1\x0155=HIGHNY-23DEC31\x01"
        b"60=20260101-00:00:07.125\x01150=0\x01151=1.00\x01"
    )
    forget_layouts()  # every layout first seen
    prediction.decode(frame)  # the layout remembered
    convert_now(prediction.decode(frame))  # and its places found
    msg = prediction.decode(frame)
    assert msg._src.layout is not None
    convert_now(msg)  # its places known: `_fill_at` at once
    assert msg._eager is None and msg._cl_ord_id == "o1"  # the slots themselves converted
    assert msg._transact_time == v.dec_timestamp(b"20260101-00:00:07.125")
    assert msg.transact_time == v.dec_timestamp(b"20260101-00:00:07.125")
    assert msg.transact_time.tzinfo is timezone.utc
    bad = prediction.decode(frame.replace(b"00:00:07.125", b"00:00:07,125"), tolerant=True)
    convert_now(bad)
    assert bad.cl_ord_id == "o1" and bad.transact_time is None
    assert [d.tag for d in bad.defects] == [60]


def test_records_keep_the_plain_setattr() -> None:
    """Lazy reads store converted values with the builtin ``setattr`` (3x cheaper than
    ``object.__setattr__``): that is right only while no record class overrides it (a frozen
    one would)."""

    def subclasses(cls: type) -> list[type]:
        return [c for s in cls.__subclasses__() for c in (s, *subclasses(s))]

    records = subclasses(FixRecord)
    assert len(records) > 50  # every generated message, entry and header of both dialects
    assert [c for c in records if c.__setattr__ is not object.__setattr__] == []


# -- the layout cache: a frame whose tags were seen before is checked by one lookup ----------


def _outcome(frame: bytes, tolerant: bool, use_dollars: bool) -> tuple[Any, ...]:
    """Everything a decode tells: its error, or the class, the defects and what validate()
    makes of the message."""
    try:
        msg = prediction.decode(frame, tolerant=tolerant, use_dollars=use_dollars)
    except DecodeError as exc:
        return ("raises", str(exc), exc.tag, exc.reject_reason, exc.offset)
    defects = list(msg.defects)
    try:
        msg.validate()
    except DecodeError as exc:
        checked: Any = ("raises", str(exc), exc.tag, exc.reject_reason)
    else:
        checked = repr(msg)
    return (type(msg), defects, list(msg.defects), checked)


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda f: f.split(b"\x01")[2].decode())
def test_a_remembered_layout_decodes_as_a_new_one(frame: bytes) -> None:
    """Each sample and its mutations (junk values, a repeated field, a value under another
    tag, a value left empty, another MsgType) decode alike the first time their tags are seen
    and after the sample's layout is remembered: strict and tolerant, every defect and error."""
    rng = random.Random(5)
    mutations = [mutate(frame, rng) for _ in range(25)]
    fields = frame.split(b"\x01")
    for i in range(3, len(fields) - 2):  # a value left empty, the tags unchanged
        tag = fields[i].partition(b"=")[0]
        mutations.append(b"\x01".join([*fields[:i], tag + b"=", *fields[i + 1 :]]))
    for mt in (b"8", b"D", b"W", b"0", b"ZZ"):  # the same tags under another MsgType
        mutations.append(b"\x01".join([*fields[:2], b"35=" + mt, *fields[3:]]))
    for tolerant in (False, True):
        for use_dollars in (False, True):
            for case in [frame, *mutations]:
                forget_layouts()
                first = _outcome(case, tolerant, use_dollars)
                _outcome(frame, tolerant, use_dollars)  # the sample's layout remembered
                again = _outcome(case, tolerant, use_dollars)
                assert again == first, case
                assert _outcome(case, tolerant, use_dollars) == first, case


def test_a_remembered_layout_shares_its_tag_set() -> None:
    forget_layouts()
    frame = next(f for f in SAMPLES if b"\x0135=8\x01" in f)
    first, second = prediction.decode(frame), prediction.decode(frame, tolerant=True)
    assert first._src is not None and second._src is not None
    assert first._src.present is second._src.present  # one frozen set, never changed by a read
    assert isinstance(first._src.present, frozenset)
    assert first == second and not second.defects


def test_a_frame_too_long_to_remember_is_checked_each_time() -> None:
    """(Reads the private codec of the generated prediction module.)"""
    from kalshi_fix_sansio.codec import _decode
    from kalshi_fix_sansio.codec._generated import prediction as gen

    forget_layouts()
    frame = next(f for f in SAMPLES if b"\x0135=W\x01" in f)
    fields = frame.split(b"\x01")[:-1]
    start = next(i for i, f in enumerate(fields) if f.startswith(b"268="))
    entry = fields[
        start + 1 : start
        + 1
        + next(k for k, f in enumerate(fields[start + 2 :], 1) if f.startswith(b"269="))
    ]
    n = _decode._MAX_LAYOUT_TAGS // len(entry) + 1
    body = [*fields[:start], b"268=%d" % n, *entry * n, fields[-1]]
    long_frame = b"\x01".join(body) + b"\x01"
    assert len(long_frame.split(b"\x01")) > _decode._MAX_LAYOUT_TAGS
    for tolerant in (False, True):
        first = _outcome(long_frame, tolerant, False)
        assert first[0] is prediction.MarketDataSnapshotFullRefresh
        assert _outcome(long_frame, tolerant, False) == first
    assert len(gen._CODEC.layouts) == 0


def _places_read(msg: Message) -> dict[bytes, bytes] | None:
    """The header fields read from a remembered layout's places (None: it keeps none)."""
    assert msg._src is not None
    at = msg._src.header_at
    if at is None:
        return None
    flat = msg._src.flat
    order = [info.key for info in Header._FIELDS]
    return {tag: flat[i] for tag, i in zip(order, at, strict=True) if i > 0}


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda f: f.split(b"\x01")[2].decode())
def test_a_layouts_header_places_read_what_the_front_of_the_frame_holds(frame: bytes) -> None:
    """Where a remembered layout says the header fields are, the values are those the
    session's general path reads from the front of the frame, for every sample and mutation."""
    from kalshi_fix_sansio.codec._wire import header_raw
    from kalshi_fix_sansio.session._checks import _HEADER_KEYS

    rng = random.Random(3)
    cases = [frame, *(mutate(frame, rng) for _ in range(30))]
    fields = frame.split(b"\x01")[:-1]
    for extra in (b"43=N", b"50=desk", b"122=20261120-14:30:00.000"):
        cases.append(b"\x01".join([*fields[:4], extra, *fields[4:]]) + b"\x01")
    seen = 0
    for case in cases:
        forget_layouts()
        for tolerant in (False, True):
            try:
                prediction.decode(case, tolerant=tolerant)  # the layout remembered, if clean
                msg = prediction.decode(case, tolerant=tolerant)
            except DecodeError:
                continue
            places = _places_read(msg)
            if places is not None:
                seen += 1
                assert places == header_raw(msg, _HEADER_KEYS)
    assert seen  # the sample's own layout at least


def test_a_header_tag_past_the_header_reads_as_the_front_of_the_frame() -> None:
    """A layout with a header tag also after the body (allowed once a group is present, where
    repeats wait for validate()) reads the header's own run, as the front of the frame does; a
    header tag given twice in that run leaves no places at all."""
    from kalshi_fix_sansio.codec._wire import header_raw
    from kalshi_fix_sansio.session._checks import _HEADER_KEYS

    forget_layouts()
    frame = next(f for f in SAMPLES if b"\x0135=8\x01" in f and b"\x01136=" in f)
    end = frame.rindex(b"10=")
    late = frame[:end] + b"34=999\x01" + frame[end:]
    twice = frame.replace(b"\x0134=", b"\x0134=7\x0134=", 1)
    for case, has_places in ((late, True), (twice, False)):
        for _ in range(2):
            msg = prediction.decode(case, tolerant=True)
        strict = prediction.decode(case)
        assert msg._src is not None and strict._src is not None
        assert msg._src.present is strict._src.present  # the layout remembered
        places = _places_read(msg)
        assert (places is not None) is has_places
        if places is not None:
            assert places == header_raw(msg, _HEADER_KEYS) and places[b"34"] != b"999"
