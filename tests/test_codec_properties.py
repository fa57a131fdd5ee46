"""Property tests of the generated codecs of both dialects (strategies derived from the spec).

* round trip: ``decode(encode(msg)) == msg`` and ``encode(decode(frame)) == frame`` for every
  message class of both dialects (prediction in cents and in dollars);
* the Framer cuts exactly the encoded frame out of a stream fed in any chunking;
* fuzzing: arbitrary bytes and mutated frames (bit flips, truncation, inserted bytes, absurd
  BodyLength, huge group counts, bad values and tags) raise nothing but DecodeError, quickly;
* unknown enum values decode to the plain value; unknown tags are kept and re-encoded.
"""

from __future__ import annotations

import itertools
import os
import sys
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import (
    DIALECTS,
    SIMPLE_HEADER,
    Shape,
    delimiter_optional_groups,
    enum_fields,
    enum_of,
    fix_type,
    generated_module,
    group_tags,
    headers,
    iter_fields,
    message_classes,
    messages,
    minimal_record,
    record_strategy,
    simple_value,
)

from kalshi_fix_sansio import (
    DecodeError,
    EncodeError,
    Frame,
    Framer,
    Message,
    UnknownMessage,
    checksum,
)

SOH = b"\x01"
# Python refuses int() of digit strings past a limit (ValueError): the fuzz uses strings just
# below it and past it (see also test_digit_strings_past_the_int_limit below).
INT_DIGITS_LIMIT = getattr(sys, "get_int_max_str_digits", lambda: 4300)() or 4300
LONG_DIGITS = b"9" * (INT_DIGITS_LIMIT - 100)
HUGE_DIGITS = b"9" * (INT_DIGITS_LIMIT + 1)
PREFIX = b"8=FIXT.1.1\x01"
# decode of the fuzz frames (up to a few thousand fields) takes milliseconds; the deadline catches
# pathological (super-linear) behaviour while tolerating a loaded 2-core machine
DEADLINE = timedelta(milliseconds=1000)
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

# KALSHI_FIX_PROPERTY_SCALE=20 multiplies the example counts for a long fuzzing run
SCALE = float(os.environ.get("KALSHI_FIX_PROPERTY_SCALE", "1"))


def examples(n: int) -> int:
    return max(1, round(n * SCALE))


ROUND_TRIP = settings(max_examples=examples(10), deadline=None, suppress_health_check=SLOW_OK)
PER_DIALECT = settings(max_examples=examples(50), deadline=None, suppress_health_check=SLOW_OK)
FUZZ = settings(max_examples=examples(120), deadline=DEADLINE, suppress_health_check=SLOW_OK)

CLASS_CASES = [pytest.param(d, cls, id=f"{d}-{cls.__name__}") for d, cls in message_classes()]
DIALECT_CASES = [pytest.param(name, id=name) for name in DIALECTS]


def use_dollars_modes(dialect_name: str) -> tuple[bool, ...]:
    """Prediction prices go out in cents or, after UseDollars=Y, in dollars; margin: dollars."""
    return (
        (False, True) if generated_module(DIALECTS[dialect_name]).USE_DOLLARS_SWITCH else (False,)
    )


# -- frame helpers ---------------------------------------------------------------------------


def make_frame(body: bytes) -> bytes:
    """A frame around ``body`` (which starts with 35=) with correct BodyLength and CheckSum."""
    msg = PREFIX + b"9=%d\x01" % len(body) + body
    return msg + b"10=%03d\x01" % checksum(msg)


def body_of(frame: bytes) -> bytes:
    """The bytes from 35= up to the CheckSum(10) field of a well-formed frame."""
    start = frame.index(SOH, len(PREFIX)) + 1
    return frame[start:-7]


def head_of(frame: bytes) -> bytes:
    """The ``8=...|9=...|`` prefix of a well-formed frame."""
    return frame[: frame.index(SOH, len(PREFIX)) + 1]


def split_body(body: bytes) -> list[bytes]:
    """The SOH-separated pieces of a body (lossless: ``join_body`` restores it)."""
    assert body.endswith(SOH)
    return body[:-1].split(SOH)


def join_body(fields: list[bytes]) -> bytes:
    return b"".join(f + SOH for f in fields)


def feed(stream: bytes, cuts: list[int]) -> list[Any]:
    """Feed ``stream`` to a fresh Framer cut at ``cuts``; drain after every feed."""
    framer = Framer()
    items: list[Any] = []
    bounds = [0, *sorted(c for c in set(cuts) if 0 < c < len(stream)), len(stream)]
    for a, b in itertools.pairwise(bounds):
        framer.feed(stream[a:b])
        items.extend(framer)
    return items


def exercise(dialect: ModuleType, frame: bytes, *, depth: int = 0) -> list[bool]:
    """Decode a frame every way and touch everything; only DecodeError may escape decoding.

    Returns, per (use_dollars, verify) combination, whether the frame decoded and validated.
    Any exception other than DecodeError propagates and fails the calling test; so does an
    exception other than EncodeError from re-encoding a message that decoded cleanly.
    """
    outcome = []
    for use_dollars, verify in itertools.product((False, True), (False, True)):
        try:
            msg = dialect.decode(frame, use_dollars=use_dollars, verify=verify)
            msg.validate()
            header = msg.header.validate()
            _ = (msg.extra_fields, msg.raw, repr(msg), msg.to_dict(), list(msg.items()))
            _ = (repr(header), header.to_dict())
        except DecodeError as exc:
            assert exc.raw == frame
            outcome.append(False)
            continue
        outcome.append(True)
        try:
            again = dialect.encode(msg, header, use_dollars=use_dollars)
        except EncodeError:
            continue
        if depth == 0:
            # what the codec encodes, it decodes
            assert all(exercise(dialect, again, depth=1)), again
    return outcome


# -- the strategies are derived from the spec -------------------------------------------------


@pytest.mark.parametrize("dialect_name", DIALECT_CASES)
def test_strategies_cover_every_field(dialect_name: str) -> None:
    """Every member of every class has a FIX type with a strategy, and the enum detection by
    name agrees with the decoder the generated code installed."""
    dialect = DIALECTS[dialect_name]
    for cls in dialect.MESSAGES.values():
        record_strategy(dialect, cls)  # raises LookupError for a type without a strategy
        for owner, info in iter_fields(cls):
            is_enum_decoder = "enum_decoder" in getattr(info.dec, "__qualname__", "")
            assert (enum_of(dialect, info) is not None) == is_enum_decoder, (owner, info.name)
            assert fix_type(info.tag) != "NUMINGROUP", (owner, info.name)


# -- round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize(("dialect_name", "cls"), CLASS_CASES)
@ROUND_TRIP
@given(data=st.data())
def test_round_trip(dialect_name: str, cls: type[Message], data: st.DataObject) -> None:
    dialect = DIALECTS[dialect_name]
    msg = data.draw(messages(dialect, cls), label="msg")
    header = data.draw(headers(), label="header")
    for use_dollars in use_dollars_modes(dialect_name):
        frame = dialect.encode(msg, header, use_dollars=use_dollars)
        decoded = dialect.decode(frame, use_dollars=use_dollars, verify=True)
        assert type(decoded) is cls
        assert decoded.validate() is decoded
        assert decoded == msg
        assert decoded.header == header
        assert decoded.extra_fields == ()
        assert decoded.raw == frame
        # byte-identical re-encode: of the validated message, and of a fresh lazy one
        assert dialect.encode(decoded, decoded.header, use_dollars=use_dollars) == frame
        lazy = dialect.decode(frame, use_dollars=use_dollars)
        assert dialect.encode(lazy, header, use_dollars=use_dollars) == frame


DELIMITER_OPTIONAL = [
    pytest.param(d, cls, id=f"{d}-{cls.__name__}")
    for d, cls in message_classes()
    if delimiter_optional_groups(cls)
]


@pytest.mark.parametrize(("dialect_name", "cls"), DELIMITER_OPTIONAL)
@ROUND_TRIP
@given(data=st.data())
def test_round_trip_single_entry_without_delimiter(
    dialect_name: str, cls: type[Message], data: st.DataObject
) -> None:
    """Where the spec leaves an entry's first member optional (multivariate QuoteRequest: no
    Symbol), a one-entry group round-trips with or without it."""
    dialect = DIALECTS[dialect_name]
    msg = data.draw(messages(dialect, cls, Shape(delimiters=False, max_entries=1)), label="msg")
    frame = dialect.encode(msg, data.draw(headers(), label="header"))
    decoded = dialect.decode(frame, verify=True).validate()
    assert decoded == msg
    assert dialect.encode(decoded, decoded.header) == frame


# -- framing ----------------------------------------------------------------------------------


@st.composite
def encoded(draw: st.DrawFn, dialect_name: str) -> tuple[type[Message], bytes]:
    """(class, frame) of a random valid message of the dialect."""
    dialect = DIALECTS[dialect_name]
    cls = draw(st.sampled_from(list(dialect.MESSAGES.values())))
    msg = draw(messages(dialect, cls))
    use_dollars = draw(st.sampled_from(use_dollars_modes(dialect_name)))
    return cls, dialect.encode(msg, draw(headers()), use_dollars=use_dollars)


@pytest.mark.parametrize("dialect_name", DIALECT_CASES)
@PER_DIALECT
@given(data=st.data())
def test_framer_cuts_exactly_the_encoded_frame(dialect_name: str, data: st.DataObject) -> None:
    _, frame = data.draw(encoded(dialect_name), label="frame")
    n = len(frame)
    cuts = data.draw(st.lists(st.integers(1, n - 1), max_size=12), label="cuts")
    for chunking in ([], list(range(1, n)), cuts):
        items = feed(frame, chunking)
        assert items == [Frame(frame, 0)]
    # two frames back to back, cut anywhere
    items = feed(frame + frame, cuts)
    assert items == [Frame(frame, 0), Frame(frame, n)]


# -- fuzzing the decoder ------------------------------------------------------------------------

INTERESTING_VALUES = [
    b"",
    b"0",
    b"1",
    b"2",
    b"3",
    b"-1",
    b"Y",
    b"N",
    b"x",
    b"=",
    b"a=b",
    b"1.5",
    b"-0.25",
    b".",
    b"-",
    b"1e5",
    b"NaN",
    b"Infinity",
    b" 1",
    b"+1",
    b"\xff\xfe",
    b"\xc3\x28",
    "١٢".encode(),
    b"0" * 30,
    b"9" * 25,
    LONG_DIGITS,
    HUGE_DIGITS,
    b"999999999",
    b"20261120-14:30:00.125",
    b"20261120-14:30:00.125999999",
    b"20261320-25:61:61",
    b"20261120-14:30:60",
    b"20260230",
    b"20261120",
    b"99999999",
    b"14:30:00.125",
    b"24:00:00",
]
INTERESTING_TAGS = [
    b"",
    b"0",
    b"-1",
    b"abc",
    b"9999",
    b"055",
    b" 55",
    b"8",
    b"9",
    b"10",
    b"35",
    b"95",
    b"96",
    LONG_DIGITS,
    HUGE_DIGITS,
]

values_st = st.one_of(
    st.sampled_from(INTERESTING_VALUES),
    st.binary(max_size=12).map(lambda b: b.replace(SOH, b"")),
)


def dialect_tags(dialect: ModuleType) -> list[bytes]:
    """Every tag any class of the dialect knows, sorted (for drawing tags to insert)."""
    known: set[bytes] = set()
    for cls in dialect.MESSAGES.values():
        known |= cls._KNOWN
    return sorted(known)


def tags_st(dialect: ModuleType) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(dialect_tags(dialect)),
        st.sampled_from(INTERESTING_TAGS),
        st.integers(1, 30000).map(b"%d".__mod__),
    )


@st.composite
def field_mutation(draw: st.DrawFn, dialect: ModuleType, fields: list[bytes]) -> list[bytes]:
    """One field-level change to the body fields (the 35= field is kept in place)."""
    fields = list(fields)
    n = len(fields)
    i = draw(st.integers(1, max(1, n - 1))) if n > 1 else 0
    kind = draw(st.sampled_from(["value", "tag", "insert", "dup", "drop", "swap", "move"]))
    if kind == "value" and n > 1:
        tag, _, _ = fields[i].partition(b"=")
        fields[i] = tag + b"=" + draw(values_st)
    elif kind == "tag" and n > 1:
        _, _, value = fields[i].partition(b"=")
        fields[i] = draw(tags_st(dialect)) + b"=" + value
    elif kind == "insert":
        fields.insert(draw(st.integers(1, n)), draw(tags_st(dialect)) + b"=" + draw(values_st))
    elif kind == "dup" and n > 1:
        fields.insert(draw(st.integers(1, n)), fields[i])
    elif kind == "drop" and n > 1:
        del fields[i]
    elif kind in ("swap", "move") and n > 2:
        j = draw(st.integers(1, n - 1))
        if kind == "swap":
            fields[i], fields[j] = fields[j], fields[i]
        else:
            fields.insert(j, fields.pop(i))
    return fields


@st.composite
def mutated(draw: st.DrawFn, dialect_name: str) -> tuple[bytes, bytes, bytes]:
    """(valid frame, mutated frame as is, mutated body re-framed with correct length/checksum)."""
    dialect = DIALECTS[dialect_name]
    cls, frame = draw(encoded(dialect_name))
    body = body_of(frame)
    kind = draw(
        st.sampled_from(
            [
                *("fields", "fields", "count", "repeat", "flip", "truncate", "bytes"),
                *("bodylength", "checksum"),
            ]
        )
    )
    raw = frame
    if kind == "repeat":
        # a run of fields (group entries among them) repeated many times
        fields = split_body(body)
        i = draw(st.integers(1, len(fields) - 1))
        j = draw(st.integers(i + 1, min(len(fields), i + 8)))
        fields[j:j] = fields[i:j] * draw(st.integers(1, 200))
        body = join_body(fields)
        raw = head_of(frame) + body + frame[-7:]
    elif kind == "fields":
        fields = split_body(body)
        for _ in range(draw(st.integers(1, 4))):
            fields = draw(field_mutation(dialect, fields))
        body = join_body(fields)
        raw = head_of(frame) + body + frame[-7:]
    elif kind == "count":
        # a group count (e.g. 268=2) replaced by an absurd one (e.g. 268=999999999)
        fields = split_body(body)
        counts = {b"%d" % t for t in group_tags(cls)}
        where = [i for i, f in enumerate(fields) if f.partition(b"=")[0] in counts]
        if where:
            i = draw(st.sampled_from(where))
            tag, _, value = fields[i].partition(b"=")
            n = int(value)
            new = draw(
                st.sampled_from(
                    [0, n - 1, n + 1, 2 * n + 7, 999_999_999, 10**30, -1, b"", b"1x", LONG_DIGITS]
                )
            )
            fields[i] = tag + b"=" + (new if isinstance(new, bytes) else b"%d" % new)
            body = join_body(fields)
            raw = head_of(frame) + body + frame[-7:]
    elif kind == "flip":
        buf = bytearray(frame)
        for pos in draw(st.lists(st.integers(0, len(frame) - 1), min_size=1, max_size=4)):
            buf[pos] ^= 1 << draw(st.integers(0, 7))
        raw = bytes(buf)
        body = body_of(frame)
        cut = draw(st.integers(0, len(body) - 1))
        body = body[:cut] + bytes([body[cut] ^ (1 << draw(st.integers(0, 7)))]) + body[cut + 1 :]
    elif kind == "truncate":
        raw = frame[: draw(st.integers(0, len(frame) - 1))]
        body = body[: draw(st.integers(0, len(body)))]
    elif kind == "bytes":
        junk = draw(
            st.one_of(st.binary(min_size=1, max_size=16), st.sampled_from(INTERESTING_VALUES))
        )
        i = draw(st.integers(0, len(frame)))
        j = draw(st.integers(i, min(len(frame), i + draw(st.integers(0, 8)))))
        raw = frame[:i] + junk + frame[j:]
        i = draw(st.integers(0, len(body)))
        j = draw(st.integers(i, min(len(body), i + draw(st.integers(0, 8)))))
        body = body[:i] + junk + body[j:]
    elif kind == "bodylength":
        n = len(body)
        absurd = draw(
            st.sampled_from(
                [
                    *(b"0", b"1", b"%d" % (n - 1), b"%d" % (n + 1), b"999999999", b"9" * 30),
                    *(LONG_DIGITS, b"-1", b"", b"x", b"0" * 20 + b"%d" % n),
                ]
            )
        )
        raw = PREFIX + b"9=" + absurd + SOH + body + frame[-7:]
    else:  # checksum
        raw = frame[:-4] + draw(st.sampled_from([b"000", b"999", b"abc", b"25"])) + SOH
    return frame, raw, make_frame(body)


@pytest.mark.parametrize("dialect_name", DIALECT_CASES)
@FUZZ
@given(data=st.data())
def test_fuzz_mutated_frames(dialect_name: str, data: st.DataObject) -> None:
    dialect = DIALECTS[dialect_name]
    frame, raw, reframed = data.draw(mutated(dialect_name), label="case")
    cuts = data.draw(st.lists(st.integers(1, 2 * len(frame)), max_size=6), label="cuts")
    exercise(dialect, raw)
    exercise(dialect, reframed)
    # the re-framed mutant has sound framing: the framer yields it as it is
    assert feed(reframed, cuts) == [Frame(reframed, 0)]
    # whatever the framer cuts out of a stream decodes the same with verify on and off
    for item in feed(raw + reframed + frame, cuts):
        if isinstance(item, Frame):
            outcome = exercise(dialect, item.data)
            assert outcome[0::2] == outcome[1::2], item.data


@pytest.mark.parametrize("dialect_name", DIALECT_CASES)
@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.binary(max_size=200).map(lambda b: PREFIX + b"9=" + b),
        st.binary(max_size=200).map(lambda b: make_frame(b"35=" + b)),
        st.binary(max_size=200).map(lambda b: make_frame(b"35=0\x01" + b)),
    ),
    cuts=st.lists(st.integers(1, 300), max_size=6),
)
def test_fuzz_arbitrary_bytes(dialect_name: str, data: bytes, cuts: list[int]) -> None:
    dialect = DIALECTS[dialect_name]
    exercise(dialect, data)
    for item in feed(data, cuts):
        if isinstance(item, Frame):
            exercise(dialect, item.data)


@st.composite
def large_group_frames(draw: st.DrawFn, dialect_name: str) -> bytes:
    """A message whose largest group holds hundreds to thousands of entries, sometimes with a
    wrong (or absurd) count or with its entries' tags repeated."""
    dialect = DIALECTS[dialect_name]
    with_groups = [c for c in dialect.MESSAGES.values() if c._GROUPS]
    cls = draw(st.sampled_from(with_groups))
    msg = draw(messages(dialect, cls, Shape(all_optional_set=True)))
    group = draw(st.sampled_from(cls._GROUPS))
    n = draw(st.integers(300, 1500))
    entries = getattr(msg, group.attr)
    msg = msg.replace(**{group.attr: [entries[k % len(entries)] for k in range(n)]})
    frame = dialect.encode(msg, draw(headers()))
    kind = draw(st.sampled_from(["as is", "count", "no delimiters", "dup tags"]))
    body = body_of(frame)
    key = b"\x01%d=" % group.tag
    if kind == "count":
        absurd = draw(st.sampled_from([b"%d" % (n + 1), b"%d" % (n - 1), b"999999999"]))
        body = body.replace(key + b"%d\x01" % n, key + absurd + SOH, 1)
    elif kind == "no delimiters":
        delim = b"\x01" + group.entry._DELIMITER + b"="
        body = body.replace(delim, b"\x019999=")
    elif kind == "dup tags":
        fields = split_body(body)
        body = join_body([f for f in fields for _ in range(2)])
    return make_frame(body)


@pytest.mark.parametrize("dialect_name", DIALECT_CASES)
@settings(max_examples=examples(8), deadline=DEADLINE, suppress_health_check=SLOW_OK)
@given(data=st.data())
def test_decode_of_large_groups_is_not_pathological(dialect_name: str, data: st.DataObject) -> None:
    dialect = DIALECTS[dialect_name]
    frame = data.draw(large_group_frames(dialect_name), label="frame")
    try:
        dialect.decode(frame, verify=True).validate()
    except DecodeError:
        pass


@st.composite
def field_soup(draw: st.DrawFn, dialect_name: str) -> bytes:
    """A frame with a valid header and MsgType, then random fields: known tags (group counts
    and members included) with small counts and odd values, in any order."""
    dialect = DIALECTS[dialect_name]
    cls = draw(st.sampled_from(list(dialect.MESSAGES.values())))
    tags = sorted(cls._KNOWN - {b"8", b"9", b"10", b"35"})
    head = b"35=%s\x0149=K\x0156=C\x0134=1\x0152=20261120-14:30:00.125\x01" % (
        cls.MSG_TYPE.encode()
    )
    fields = draw(
        st.lists(
            st.tuples(
                st.one_of(st.sampled_from(tags), st.sampled_from(tags), tags_st(dialect)),
                st.one_of(st.sampled_from([b"0", b"1", b"2", b"3"]), values_st),
            ),
            max_size=40,
        )
    )
    return make_frame(head + b"".join(t + b"=" + v + SOH for t, v in fields))


@pytest.mark.parametrize("dialect_name", DIALECT_CASES)
@FUZZ
@given(data=st.data())
def test_fuzz_field_soup(dialect_name: str, data: st.DataObject) -> None:
    dialect = DIALECTS[dialect_name]
    exercise(dialect, data.draw(field_soup(dialect_name), label="frame"))


# -- unknown enum values and unknown tags -------------------------------------------------------


def _first_enum_field(dialect_name: str, base: type, ftype: str) -> Any:
    cases = enum_fields(DIALECTS[dialect_name], base, lambda t: t == ftype)
    assert cases, f"{dialect_name}: no {ftype} enum field"
    cls, info, members = cases[0]
    return pytest.param(
        dialect_name, cls, info, members, base, id=f"{dialect_name}-{cls.__name__}-{info.name}"
    )


ENUM_CASES = [
    _first_enum_field(name, base, ftype)
    for name in DIALECTS
    for base, ftype in ((str, "CHAR"), (int, "INT"))
]


@pytest.mark.parametrize(("dialect_name", "cls", "info", "members", "base"), ENUM_CASES)
@settings(max_examples=examples(25), deadline=None, suppress_health_check=SLOW_OK)
@given(data=st.data())
def test_unknown_enum_value_decodes_to_plain_value(
    dialect_name: str, cls: type[Message], info: Any, members: Any, base: type, data: st.DataObject
) -> None:
    dialect = DIALECTS[dialect_name]
    known = {m.value for m in members}
    msg = data.draw(messages(dialect, cls), label="msg")
    msg = msg.replace(**{info.attr: data.draw(st.sampled_from(list(members)))})
    frame = dialect.encode(msg, data.draw(headers(), label="header"))
    if base is str:
        unknown: Any = data.draw(
            st.sampled_from([c for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in known])
        )
    else:
        unknown = data.draw(st.integers(-(10**6), 10**6).filter(lambda v: v not in known))
    fields = split_body(body_of(frame))
    i = next(k for k, f in enumerate(fields) if f.startswith(info.key + b"="))
    fields[i] = info.key + b"=" + str(unknown).encode()
    spliced = make_frame(join_body(fields))
    decoded = dialect.decode(spliced, verify=True).validate()
    value = getattr(decoded, info.attr)
    assert type(value) is base
    assert value == unknown
    assert decoded == msg.replace(**{info.attr: unknown})
    assert dialect.encode(decoded, decoded.header) == spliced


def extra_fields_st(cls: type[Message]) -> st.SearchStrategy[list[tuple[int, bytes]]]:
    """Distinct unknown tags (not known to the class, not a Length/Data tag) with values."""
    excluded = {b"89", b"93", b"95", b"96"}
    return st.lists(
        st.tuples(
            st.one_of(st.just(9999), st.integers(1, 99_999)).filter(
                lambda t: b"%d" % t not in cls._KNOWN and b"%d" % t not in excluded
            ),
            # non-empty: a tag without a value is a defect the decoder names, refused by encode
            st.one_of(
                st.just(b"x"),
                st.binary(min_size=1, max_size=10).map(lambda b: b.replace(SOH, b"+")),
            ),
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda tv: tv[0],
    )


@pytest.mark.parametrize("dialect_name", DIALECT_CASES)
@PER_DIALECT
@given(data=st.data())
def test_unknown_tags_are_kept_and_reencoded(dialect_name: str, data: st.DataObject) -> None:
    dialect = DIALECTS[dialect_name]
    cls = data.draw(st.sampled_from(list(dialect.MESSAGES.values())), label="cls")
    msg = data.draw(messages(dialect, cls), label="msg")
    header = data.draw(headers(), label="header")
    extras = data.draw(extra_fields_st(cls), label="extras")
    frame = dialect.encode(msg, header)
    tail = b"".join(b"%d=%s\x01" % (t, v) for t, v in extras)
    spliced = make_frame(body_of(frame) + tail)
    decoded = dialect.decode(spliced, verify=True).validate()
    assert decoded.extra_fields == tuple(extras)
    assert decoded == msg.replace(extra_fields=tuple(extras))
    assert dialect.encode(decoded, decoded.header) == spliced
    # a message built with extra_fields encodes them at the end of the body
    assert dialect.encode(msg.replace(extra_fields=tuple(extras)), header) == spliced
    if not cls._GROUPS:
        # without groups the unknown tags may sit anywhere after MsgType
        fields = split_body(body_of(frame))
        for t, v in extras:
            fields.insert(data.draw(st.integers(1, len(fields))), b"%d=%s" % (t, v))
        decoded = dialect.decode(make_frame(join_body(fields)), verify=True).validate()
        assert sorted(decoded.extra_fields) == sorted(extras)
        assert decoded.replace(extra_fields=()) == msg


# -- regressions: library bugs the properties above found (now fixed) ----------------------------

_HB = b"35=0\x0149=K\x0156=C\x0134=1\x0152=20261120-14:30:00.125\x01"


def _touch(dialect: ModuleType, frame: bytes, verify: bool) -> None:
    msg = dialect.decode(frame, verify=verify)
    msg.validate()
    _ = (msg.extra_fields, repr(msg))


@pytest.mark.parametrize("dialect_name", DIALECT_CASES)
@pytest.mark.parametrize(
    ("frame", "verify"),
    [
        pytest.param(
            PREFIX + b"9=" + HUGE_DIGITS + SOH + _HB + b"10=000\x01",
            True,
            id="verify_frame-BodyLength",
        ),
        pytest.param(make_frame(_HB + b"95=" + HUGE_DIGITS + SOH), False, id="split-RawDataLength"),
        pytest.param(make_frame(_HB + HUGE_DIGITS + b"=x\x01"), False, id="extra_fields-tag"),
        pytest.param(
            make_frame(_HB + (HUGE_DIGITS + b"=x\x01") * 2), False, id="repeated-unknown-tag"
        ),
    ],
)
def test_digit_strings_past_the_int_limit(dialect_name: str, frame: bytes, verify: bool) -> None:
    """Digit strings past int()'s 4300-digit limit: a DecodeError or a kept value, never ValueError."""
    try:
        _touch(DIALECTS[dialect_name], frame, verify)
    except DecodeError:
        return
    msg = DIALECTS[dialect_name].decode(frame, verify=verify)
    assert any(len(raw) > 4300 for _, raw in msg.extra_fields)  # kept whole, as an unknown field


def _entries_without_required_members() -> list[Any]:
    out = []
    for dialect_name, cls in message_classes():
        for g in cls._GROUPS:
            if not g.entry._REQUIRED:
                out.append(pytest.param(dialect_name, cls, g, id=f"{dialect_name}-{cls.__name__}"))
    return out


@pytest.mark.parametrize(("dialect_name", "cls", "group"), _entries_without_required_members())
def test_empty_group_entry_is_refused_or_round_trips(
    dialect_name: str, cls: type[Message], group: Any
) -> None:
    dialect = DIALECTS[dialect_name]
    msg = minimal_record(dialect, cls).replace(**{group.attr: [group.entry()]})
    try:
        frame = dialect.encode(msg, SIMPLE_HEADER)
    except EncodeError:
        return  # refusing the empty entry is fine
    assert dialect.decode(frame).validate() == msg


def _delimiter_cases() -> list[Any]:
    """(dialect, class, group, entry without its delimiter, the same entry with it, an entry with
    only the delimiter), for every group whose delimiter the spec leaves optional."""
    out = []
    for dialect_name, cls in message_classes():
        dialect = DIALECTS[dialect_name]
        for g in cls._GROUPS:
            first = g.entry._MEMBERS[0]
            if first.key in g.entry._REQUIRED:
                continue
            other = next(m for m in g.entry._FIELDS[1:] if m.key not in g.entry._REQUIRED)
            base = minimal_record(dialect, g.entry)
            without = base.replace(**{other.attr: simple_value(dialect, other)})
            delimiter = {first.attr: simple_value(dialect, first)}
            out.append(
                (
                    dialect_name,
                    cls,
                    g,
                    without,
                    without.replace(**delimiter),
                    base.replace(**delimiter),
                )
            )
    return out


@pytest.mark.parametrize(
    ("dialect_name", "cls", "group", "without", "both", "only"),
    [pytest.param(*c, id=f"{c[0]}-{c[1].__name__}") for c in _delimiter_cases()],
)
def test_entry_without_delimiter_then_entry_with_it(
    dialect_name: str, cls: type[Message], group: Any, without: Any, both: Any, only: Any
) -> None:
    dialect = DIALECTS[dialect_name]
    msg = minimal_record(dialect, cls).replace(**{group.attr: [without, both]})
    try:
        frame = dialect.encode(msg, SIMPLE_HEADER)
    except EncodeError:
        return  # an entry without its delimiter among several is ambiguous: refused
    assert dialect.decode(frame).validate() == msg


@pytest.mark.parametrize(
    ("dialect_name", "cls", "group", "without", "both", "only"),
    [pytest.param(*c, id=f"{c[0]}-{c[1].__name__}") for c in _delimiter_cases()],
)
def test_entry_with_delimiter_then_entry_without_it(
    dialect_name: str, cls: type[Message], group: Any, without: Any, both: Any, only: Any
) -> None:
    dialect = DIALECTS[dialect_name]
    msg = minimal_record(dialect, cls).replace(**{group.attr: [only, without]})
    try:
        frame = dialect.encode(msg, SIMPLE_HEADER)
    except EncodeError:
        return  # refusing the ambiguous group is fine
    assert dialect.decode(frame).validate() == msg


@pytest.mark.parametrize("dialect_name", DIALECT_CASES)
def test_unknown_non_ascii_msgtype_reencodes(dialect_name: str) -> None:
    dialect = DIALECTS[dialect_name]
    frame = make_frame(_HB.replace(b"35=0", "35=é".encode()))
    msg = dialect.decode(frame, verify=True).validate()
    assert isinstance(msg, UnknownMessage)
    try:
        again = dialect.encode(msg, msg.header)
    except EncodeError:
        return
    assert again == frame


@pytest.mark.parametrize("dialect_name", DIALECT_CASES)
def test_zero_padded_known_tag_reencodes(dialect_name: str) -> None:
    dialect = DIALECTS[dialect_name]
    cls = dialect.MESSAGES["S"] if "S" in dialect.MESSAGES else dialect.MESSAGES["D"]
    frame = dialect.encode(minimal_record(dialect, cls), SIMPLE_HEADER)
    assert b"\x0155=" in frame
    spliced = make_frame(body_of(frame) + b"055=x\x01")
    with pytest.raises(DecodeError, match="invalid tag number") as ei:
        dialect.decode(spliced, verify=True)
    assert ei.value.reject_reason == 0
