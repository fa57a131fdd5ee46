# private: the codec's remembered value patterns (`_valuecheck`, `_decode`: `decode_clean` too)
"""`Message.check` of a remembered layout held to the full check of the careful path.

A layout checked clean once gets a pattern of its frames' plain values (`_valuecheck`): a frame
of the layout it matches is passed in one step, any other is checked in full. Here frames of
every class of both dialects are encoded, their layout taught to the codec with a clean frame,
and then their values changed (the tags kept, so the layout stays the one remembered): junk,
values just outside a type's plain form (29 February, hour 24, a 19-digit integer, a value no
enum lists, non-ASCII text), group counts off by one. `check` on the fast path must list the
careful path's defects, and every value read after it must be the careful path's.

(A test of private modules: `_valuecheck`'s patterns, through the codec of `_decode` (the
generated modules' ``_CODEC`` and its remembered layouts) and the decoded records' ``_src``, to
know that the pattern was used; `_fields.GroupInfo` tells a group member.)
"""

from __future__ import annotations

import random
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import (
    DIALECTS,
    forget_layouts,
    generated_module,
    headers,
    message_classes,
    messages,
)

from kalshi_fix_sansio import DecodeError, FixRecord, margin, prediction
from kalshi_fix_sansio.codec._decode import Codec
from kalshi_fix_sansio.codec._fields import GroupInfo

EXAMPLES = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# values just inside and just outside the plain forms, and junk
VALUES = [
    b"",
    b"x",
    b"Y",
    b"N",
    b"y",
    b"0",
    b"-0",
    b"007",
    b"-1",
    b"1.",
    b".5",
    b"-1.5",
    b"1.5",
    b"999999999999999999",
    b"9999999999999999999",
    b"99999999999999999999",
    b"1e3",
    b"\xff",
    b"\xc3\xa9t\xc3\xa9",
    b"=",
    b"20261120",
    b"20260229",
    b"20240229",
    b"20261131",
    b"00010101",
    b"20261120-23:59:59",
    b"20261120-24:00:00",
    b"20261120-23:59:60",
    b"20240229-12:00:00.000",
    b"20260229-12:00:00.000",
    b"20261120-12:60:00",
    b"20261120-12:00:00.5",
    b"20261120-12:00:00.123456789",
    b"12:00:00",
    b"12:00:00.000",
    b"24:00:00",
    b"1",
    b"2",
    b"F",
    b"Q",
]


def _codec(dialect: ModuleType) -> Codec:
    codec: Codec = generated_module(dialect)._CODEC
    return codec


def _reads(rec: FixRecord) -> list[Any]:
    """Every member of a record and of its entries, or the error its read raises."""
    out: list[Any] = []
    for m in rec._MEMBERS:
        try:
            value = getattr(rec, m.attr)
        except DecodeError as exc:
            out.append((m.attr, "raises", str(exc)))
            continue
        if isinstance(m, GroupInfo) and value is not None:
            out.append((m.attr, [_reads(entry) for entry in value]))
        else:
            out.append((m.attr, value))
    return out


def checked(codec: Codec, frame: bytes, careful: bool, dollars: bool) -> list[Any]:
    """What a tolerant decode's `check` lists, and every value (header included) after it."""
    try:
        msg = codec.decode(frame, dollars, False, True, None, careful)
    except DecodeError as exc:  # a change that breaks the frame (a Length before its Data)
        return [("raises", str(exc), exc.tag, exc.reject_reason, exc.offset)]
    return [msg.check(), msg.defects, _reads(msg), _reads(msg.header)]


def changed(frame: bytes, rng: random.Random, counts: bool) -> bytes:
    """``frame`` with one to three values changed (tags and their order kept)."""
    fields = frame.split(b"\x01")[:-1]
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(3, len(fields) - 1)  # neither BeginString nor BodyLength nor CheckSum
        tag, _, value = fields[i].partition(b"=")
        if counts and value.isdigit() and rng.random() < 0.5:
            new = b"%d" % (int(value) + rng.choice((1, -1)))
        else:
            new = rng.choice(VALUES)
        fields[i] = tag + b"=" + new
    return b"\x01".join(fields) + b"\x01"


def _taught(codec: Codec, frame: bytes, dollars: bool) -> Any:
    """Teach the codec ``frame``'s layout (it must check clean); the layout's pattern."""
    for _ in range(3):  # remembered, then its places, then checked clean
        msg = codec.decode(frame, dollars, False, True)
        assert msg.check() == ()
    src = msg._src
    assert src is not None
    layout = src.layout
    if layout is None:
        return None
    return layout.pattern_dollars if src.dollars else layout.pattern_cents


CLASSES = message_classes()


@EXAMPLES
@given(
    which=st.sampled_from(range(len(CLASSES))),
    data=st.data(),
    dollars=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_changed_value_is_checked_as_the_careful_path_checks_it(
    which: int, data: st.DataObject, dollars: bool, seed: int
) -> None:
    dialect_name, cls = CLASSES[which]
    dialect = DIALECTS[dialect_name]
    msg = data.draw(messages(dialect, cls), label="msg")
    frame = dialect.encode(msg, data.draw(headers(), label="header"), use_dollars=dollars)
    codec = _codec(dialect)
    _taught(codec, frame, dollars)
    rng = random.Random(seed)
    for case in (frame, changed(frame, rng, False), changed(frame, rng, True)):
        careful = checked(codec, case, True, dollars)
        for _ in range(2):
            assert checked(codec, case, False, dollars) == careful, case


def _samples(dialect: ModuleType) -> list[bytes]:
    path = (
        Path(prediction.__file__).parent.parent
        / f"simulator/testing/samples/{dialect.__name__.split('.')[-1]}.fix"
    )
    return [
        line.replace(b"|", b"\x01")
        for line in path.read_bytes().splitlines()
        if line.startswith(b"8=")
    ]


def test_the_samples_are_checked_in_one_step_and_their_changes_in_full() -> None:
    """Every sample of both dialects gets a pattern; each of its values in turn given each of
    `VALUES` (and each group count one more and one less), and a few changes of several values
    at once: a change the pattern passes must check clean, every change must list what the
    careful path lists and read what it reads. Counted, so a pattern that never matches (or
    matches all) fails."""
    passed = fell = 0
    for dialect in (prediction, margin):
        codec = _codec(dialect)
        for frame in _samples(dialect):
            forget_layouts()
            match = _taught(codec, frame, False)
            assert match, frame  # no sample has a field without a plain form
            fields = frame.split(b"\x01")[:-1]
            cases = []
            for i in range(3, len(fields) - 1):
                tag, _, value = fields[i].partition(b"=")
                news = [
                    *VALUES,
                    *(
                        (b"%d" % (int(value) + 1), b"%d" % (int(value) - 1))
                        if value.isdigit()
                        else ()
                    ),
                ]
                cases += [
                    b"\x01".join([*fields[:i], tag + b"=" + new, *fields[i + 1 :]]) + b"\x01"
                    for new in news
                ]
            rng = random.Random(frame)
            cases += [changed(frame, rng, True) for _ in range(20)]
            for case in cases:
                if case.isascii() and match(case) is not None:  # as `check` asks
                    passed += 1
                    assert checked(codec, case, False, False)[0] == (), case
                else:
                    fell += 1
                assert checked(codec, case, False, False) == checked(codec, case, True, False), case
    assert passed >= 100 and fell >= 1000, (passed, fell)


def test_decode_clean_takes_only_what_the_decode_and_check_find_clean() -> None:
    """`Codec.decode_clean` (the session's one-step decode and check): over the samples of both
    dialects and their changes as above (an ``=`` inside a value and an empty value among
    them), a frame it takes is one the careful path checks clean, and its message reads and
    checks as the tolerant decode's does; every other frame gives None (the session then
    decodes and checks it as before). A frame of another layout with as many fields, and a
    layout whose pattern is not yet made, fall back too. Counted: both ways are taken."""
    took = fell = 0
    for dialect in (prediction, margin):
        codec = _codec(dialect)
        for frame in _samples(dialect):
            forget_layouts()
            assert codec.decode_clean(frame, False, None) is None  # nothing remembered yet
            _taught(codec, frame, False)
            fields = frame.split(b"\x01")[:-1]
            cases = [frame]
            for i in range(3, len(fields) - 1):
                tag, _, value = fields[i].partition(b"=")
                cases += [
                    b"\x01".join([*fields[:i], tag + b"=" + new, *fields[i + 1 :]]) + b"\x01"
                    for new in (*VALUES, value + b"=1", b"=" + value)
                ]
            rng = random.Random(frame)
            cases += [changed(frame, rng, True) for _ in range(10)]
            for case in cases:
                fast = codec.decode_clean(case, False, None)
                careful = checked(codec, case, True, False)
                if fast is None:
                    fell += 1
                    continue
                took += 1
                assert careful[0] == (), case
                assert [fast.check(), fast.defects, _reads(fast), _reads(fast.header)] == careful
    assert took >= 100 and fell >= 1000, (took, fell)


def test_decode_clean_falls_back_on_another_layout_of_as_many_fields() -> None:
    """Two layouts of a class with as many fields: the one last decoded is the one tried, so a
    frame of the other falls back (None) and is decoded as usual, which makes it the one
    tried next."""
    one = next(line for line in _samples(prediction) if b"\x0135=X\x01" in line)
    fields = one.split(b"\x01")[:-1]
    # the same fields with two of the entry's swapped: another layout, as many fields
    at = next(i for i, f in enumerate(fields) if f.startswith(b"270="))
    fields[at], fields[at + 1] = fields[at + 1], fields[at]
    other = b"\x01".join(fields) + b"\x01"
    codec = _codec(prediction)
    forget_layouts()
    _taught(codec, one, False)
    _taught(codec, other, False)
    assert codec.decode_clean(one, False, None) is None  # the other layout is the one tried
    assert codec.decode_clean(other, False, None) is not None
    assert codec.decode(one, False, False, True).check() == ()
    assert codec.decode_clean(one, False, None) is not None


def test_plain_forms_accept_exactly_their_values() -> None:
    """The date, time and decimal patterns (spelled for sre's speed) accept exactly what they
    name: every date of four years that exists but 29 February, and no other month or day; a
    time with no fraction or 3, 6 or 9 digits of one; a decimal of 1-30 digits, a point and
    1-30 more."""
    import datetime
    import re

    from kalshi_fix_sansio.codec import _valuecheck

    day = re.compile(_valuecheck._DAY).fullmatch
    for year in (1999, 2000, 2024, 2100):
        for month in range(14):
            for d in range(33):
                try:
                    ok = datetime.date(year, month, d) is not None and (month, d) != (2, 29)
                except ValueError:
                    ok = False
                assert (day(b"%d%02d%02d" % (year, month, d)) is not None) == ok, (year, month, d)
    time = re.compile(_valuecheck._TIME).fullmatch
    for n in range(12):
        fraction = b"." + b"7" * (n - 1) if n else b""
        assert (time(b"23:59:59" + fraction) is not None) == (n in (0, 4, 7, 10)), n
    assert time(b"24:00:00") is None and time(b"19:60:00") is None
    decimal = re.compile(_valuecheck._DECIMAL).fullmatch
    for text, ok in (
        (b"1", True), (b"-1.5", True), (b"9" * 30 + b"." + b"9" * 30, True), (b"1.", False),
        (b".5", False), (b"1.2.3", False), (b"-", False), (b"9" * 31, False), (b"1.5-", False),
    ):  # fmt: skip
        assert (decimal(text) is not None) == ok, text


def _reframed(fields: list[bytes]) -> bytes:
    """A frame of ``fields`` (35= onwards, no BodyLength nor CheckSum), both made right."""
    body = b"\x01".join(fields) + b"\x01"
    head = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    return head + body + b"10=%03d\x01" % (sum(head + body) % 256)


def _strictly(dialect: ModuleType, frame: bytes, dollars: bool) -> FixRecord | None:
    """The strict decode of a frame, BodyLength and CheckSum verified, and validated (a
    recording's check); None when it refuses the frame."""
    try:
        return dialect.decode(frame, use_dollars=dollars, verify=True).validate()
    except DecodeError:
        return None


def _names(cls: type[FixRecord]) -> set[str]:
    names = {m.attr for m in cls._MEMBERS}
    for ginfo in cls._GROUPS:
        names |= _names(ginfo.entry)  # type: ignore[arg-type]
    return names


def _read_alone(scan: Any, values: tuple[bytes, ...], at: int, decoded: Any) -> None:
    """The value at ``at`` read by its own decoder (`LayoutScan.decoders`) is the decoded
    field's: the same type and the same text (a Decimal's exponent too)."""
    alone = scan.decoders[at](values[at])
    assert type(alone) is type(decoded) and repr(alone) == repr(decoded), (alone, decoded)


def test_a_layout_scan_accepts_only_what_the_strict_decode_accepts() -> None:
    """`layout_scan` (the compile's check of a recorded frame): made from each sample of both
    dialects, in both price units, its `values` accepts a changed frame (each value in turn
    given each of `VALUES` and group counts one more and one less, BodyLength and CheckSum
    made right again; and changes of BodyLength, CheckSum and BeginString alone) only when the
    strict decode with verification and `validate` accept it too, and then gives the raw
    values the decode read, each of which its own decoder reads as the decode did. Counted: a
    scan that never accepts (or accepts all) fails."""
    from kalshi_fix_sansio.codec import layout_scan

    passed = fell = 0
    for dialect in (prediction, margin):
        for sample in _samples(dialect):
            fields = sample.split(b"\x01")[2:-2]
            frame = _reframed(fields)
            for dollars in (False, True):
                msg = _strictly(dialect, frame, dollars)
                assert msg is not None, frame
                scan = layout_scan(msg, _names(type(msg)))
                if scan is None:  # a field without a plain form (raw data)
                    continue
                assert scan.values(frame) is not None, frame
                cases = [
                    frame.replace(b"\x0110=", b"\x0110=1", 1),
                    frame.replace(b"\x019=", b"\x019=1", 1),
                    frame.replace(b"FIXT.1.1", b"FIX.4.4", 1),
                    frame[:-1],
                ]
                for i in range(1, len(fields)):
                    tag, _, value = fields[i].partition(b"=")
                    news = [*VALUES]
                    if value.isdigit():
                        news += [b"%d" % (int(value) + 1), b"%d" % (int(value) - 1)]
                    cases += [
                        _reframed([*fields[:i], tag + b"=" + new, *fields[i + 1 :]]) for new in news
                    ]
                for case in cases:
                    values = scan.values(case)
                    if values is None:
                        fell += 1
                        continue
                    passed += 1
                    decoded = _strictly(dialect, case, dollars)
                    assert decoded is not None, case
                    for name, at in scan.fields.items():
                        tag = next(f.tag for f in type(decoded)._FIELDS if f.attr == name)
                        assert values[at] == decoded.raw_value(tag), (name, case)
                        _read_alone(scan, values, at, getattr(decoded, name))
                    for group, entries in scan.groups.items():
                        got = getattr(decoded, group)
                        assert len(got) == len(entries), case
                        for entry, places in zip(got, entries, strict=True):
                            span = entry._flat
                            raw = dict(reversed(list(zip(span[0::2], span[1::2], strict=True))))
                            for name, at in places.items():
                                key = next(f.key for f in type(entry)._FIELDS if f.attr == name)
                                assert values[at] == raw[key], (group, name, case)
                                _read_alone(scan, values, at, getattr(entry, name))
    assert passed >= 3000 and fell >= 10000, (passed, fell)


def _session_events(frames: list[bytes], forget: bool) -> list[list[Any]]:
    """What a logged-on session makes of each of ``frames`` in turn (each event's kind, sequence
    number, defects, message values and Rejects sent); ``forget``: the codec's layouts forgotten
    before each frame, so none takes `Codec.decode_clean` (the general path)."""
    from test_session import logged_on

    r = logged_on("session=KalshiNR")
    assert r.session is not None
    out = []
    for frame in frames:
        if forget:
            forget_layouts()
        r.deliver(frame)
        seen: list[Any] = [
            (
                type(e).__name__,
                getattr(e, "seq_num", None),
                getattr(e, "defects", None),
                _reads(e.message) if hasattr(e, "message") else None,
            )
            for e in r.session.events()
        ]
        seen.append(r.session.data_to_send().count(b"\x0135=3\x01"))
        out.append(seen)
    return out


def test_a_session_makes_the_same_events_with_decode_clean_and_without() -> None:
    """The session's one-step decode and check (`Codec.decode_clean`, taken once a layout is
    checked clean) against the general path (the layouts forgotten before each frame): a table
    of frames of one 35=8 layout, clean and with a value out of its form, a text holding ``=``,
    an empty value, non-ASCII text, a tag moved: the same events, defects, values and Rejects,
    frame by frame, and the fast path taken for the clean ones."""
    from test_session import logged_on

    r = logged_on("session=KalshiNR")
    body = "6=0|11={cl}|14=0|17=1;1|37=o|38=1|39=0|54={side}|55={sym}|150=0|151={leaves}"
    rows = [
        dict(cl="c", side="1", sym="X", leaves="1"),
        dict(cl="c", side="1", sym="X", leaves="1"),
        dict(cl="c", side="1", sym="X", leaves="1"),
        dict(cl="d", side="2", sym="Y", leaves="0.5"),
        dict(cl="c", side="1", sym="X", leaves="x"),
        dict(cl="c=d", side="1", sym="X", leaves="1"),
        dict(cl="c", side="7", sym="X", leaves="1"),
        dict(cl="c", side="1", sym="", leaves="1"),
        dict(cl="c", side="1", sym="\u00e9", leaves="1"),
        dict(cl="c", side="1", sym="X", leaves="1.5."),
        dict(cl="c", side="1", sym="X", leaves="1"),
    ]
    frames = [
        r.frame(f"35=8|34={seq}|" + body.format(**row)) for seq, row in enumerate(rows, start=2)
    ]
    frames.append(
        r.frame(
            f"35=8|34={len(frames) + 2}|" + body.format(**rows[0]).replace("6=0|11=c", "11=c|6=0")
        )
    )
    codec = _codec(prediction)
    forget_layouts()
    fast = _session_events(frames, forget=False)
    taken = [codec.decode_clean(f, False, None) is not None for f in frames]
    assert fast == _session_events(frames, forget=True)
    assert taken[2:4] == [True, True] and not any(taken[4:10]) and taken[10], taken
    assert [e[0][0] for e in fast] == ["ApplicationMessage"] * len(frames)
