# private: the codec's fast path held to its careful path (`_decode`, `_fields`)
"""The fast path held to the careful path: every value, entry boundary and defect, equal.

A decoded value comes from one of two paths (see `kalshi_fix_sansio.codec._wire`): the generated fast
path (the fast field splitter, remembered tag layouts, the generated converters and walks) or
the careful path (the careful field splitter, each field's `FieldInfo` decoder one at a time,
the careful group parser). A decode with ``careful=True`` takes the careful path for every
value: it is the reference here. Frames are generated messages of every class of both dialects,
encoded and then broken on purpose (junk values, fields repeated, dropped, swapped or moved past
the body, group counts off by one, zero, huge or not a number), read in the same drawn order
both ways, strictly and tolerantly: the errors, the values, the group entries (the span of the
frame each covers) and the defects must be the same.

(Reads the private codec of the generated dialect modules, ``_CODEC``, and the decoded records'
private ``_src`` / ``_flat``; `_decode.split_fields` is compared fast against careful directly.)
"""

from __future__ import annotations

import os
import random
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

from kalshi_fix_sansio import DecodeError, FixRecord, Header, Message
from kalshi_fix_sansio.codec._decode import Codec, split_fields
from kalshi_fix_sansio.codec._fields import GroupInfo

EXAMPLES = settings(
    max_examples=int(os.environ.get("DIFF_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# values a peer may put in any field: valid for some types, invalid for others
JUNK = [b"", b"x", b"-1", b"0", b"1.5", b"99999999999999999999", b"Y", b"1e3", b"\xff", b"="]

# what a broken frame does to one of its fields (counts: to a group's count field)
OPS = ["junk", "repeat", "drop", "swap", "to_end", "count"]
COUNTS = [b"0", b"x", b"99999", b"-1", b""]


def _error(exc: DecodeError) -> tuple[Any, ...]:
    return ("raises", str(exc), exc.tag, exc.reject_reason, exc.offset)


def _count_tags(cls: type[FixRecord]) -> set[bytes]:
    out: set[bytes] = set()
    for g in cls._GROUPS:
        out.add(g.key)
        out |= _count_tags(g.entry)
    return out


def broken(frame: bytes, cls: type[Message], ops: list[tuple[str, int, int]]) -> bytes:
    """``frame`` with each of ``ops`` applied: (what, which field, which junk or count)."""
    fields = frame.split(b"\x01")[:-1]
    counts = _count_tags(cls)
    for what, where, pick in ops:
        body = len(fields) - 4  # after 8, 9, 35; before 10
        if body < 1:
            break
        i = 3 + where % body
        tag = fields[i].partition(b"=")[0]
        if what == "junk":
            fields[i] = tag + b"=" + JUNK[pick % len(JUNK)]
        elif what == "repeat":
            fields.insert(i, fields[i])
        elif what == "drop":
            del fields[i]
        elif what == "swap" and i + 1 < len(fields) - 1:
            fields[i], fields[i + 1] = fields[i + 1], fields[i]
        elif what == "to_end":
            fields.insert(len(fields) - 1, fields.pop(i))
        elif what == "count":
            places = [k for k, f in enumerate(fields) if f.partition(b"=")[0] in counts]
            if places:
                k = places[where % len(places)]
                t, _, raw = fields[k].partition(b"=")
                n = int(raw) if raw.isdigit() else 1  # an earlier op may have broken it
                shifted = [str(n + 1).encode(), str(max(n - 1, 0)).encode()]
                fields[k] = t + b"=" + [*shifted, *COUNTS][pick % (len(COUNTS) + 2)]
    return b"\x01".join(fields) + b"\x01"


def _read(rec: FixRecord, m: Any) -> Any:
    """A member's value, a group's as its number of entries, or the error its read raises."""
    try:
        value = getattr(rec, m.attr)
        if isinstance(m, GroupInfo) and value is not None:
            value = ("group", len(value))
    except DecodeError as exc:
        return _error(exc)
    return value


def account(
    codec: Codec,
    frame: bytes,
    careful: bool,
    tolerant: bool,
    use_dollars: bool,
    rng: random.Random,
) -> list[Any]:
    """Everything a decode tells, read in ``rng``'s order: its error, or per record (message,
    header, each group entry in turn) its class, the span of fields it covers and its values
    (or the error a read raises), then the defects, and what `check` / `validate` make of a
    fresh decode."""
    options = {"use_dollars": use_dollars, "tolerant": tolerant, "careful": careful}
    try:
        msg = codec.decode(frame, **options)
    except DecodeError as exc:
        return [_error(exc)]
    out: list[Any] = []
    src = msg._src
    assert src is not None and src.careful is careful
    out.append(src.flat)
    for g in msg._GROUPS:
        # an entry read by index first (the walk types those before it; not compared: by
        # design the fast path reads an entry before a defect of its group, the careful path
        # refuses the whole group): the full reads below must not differ
        first, k = rng.random(), rng.randrange(4)
        if first < 0.3:
            try:
                entries = getattr(msg, g.attr)
                if entries is not None:
                    entries[k]
            except (DecodeError, IndexError):
                pass
    todo: list[FixRecord] = [msg, msg.header]
    while todo:
        rec = todo.pop(0)
        members = list(rec._MEMBERS)
        rng.shuffle(members)
        out.append((type(rec).__name__, rec._flat))
        for m in members:
            out.append((m.attr, _read(rec, m)))
            if isinstance(m, GroupInfo):
                try:
                    entries = getattr(rec, m.attr)
                    if entries is not None:
                        todo.extend(entries)
                except DecodeError:
                    continue
    out.append(("defects", msg.defects))
    fresh = codec.decode(frame, **options)
    if tolerant:
        out.append(("check", fresh.check()))
    else:
        try:
            fresh.validate()
        except DecodeError as exc:
            out.append(("validate", _error(exc)))
        else:
            out.append(("validate", "ok"))
    return out


def _codec(dialect: ModuleType) -> Codec:
    codec: Codec = generated_module(dialect)._CODEC
    return codec


CLASSES = message_classes()
HEAD = Header._OWN


@EXAMPLES
@given(
    which=st.sampled_from(range(len(CLASSES))),
    data=st.data(),
    ops=st.lists(
        st.tuples(st.sampled_from(OPS), st.integers(0, 10**6), st.integers(0, 100)), max_size=3
    ),
    use_dollars=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_fast_path_reads_what_the_careful_path_reads(
    which: int,
    data: st.DataObject,
    ops: list[tuple[str, int, int]],
    use_dollars: bool,
    seed: int,
) -> None:
    dialect_name, cls = CLASSES[which]
    dialect = DIALECTS[dialect_name]
    msg = data.draw(messages(dialect, cls), label="msg")
    header = data.draw(headers(), label="header")
    frame = broken(dialect.encode(msg, header, use_dollars=use_dollars), cls, ops)
    codec = _codec(dialect)
    for tolerant in (False, True):
        careful = account(codec, frame, True, tolerant, use_dollars, random.Random(seed))
        for _ in range(2):  # the second decode may come from a remembered tag layout
            fast = account(codec, frame, False, tolerant, use_dollars, random.Random(seed))
            assert fast == careful, (frame, tolerant)


def test_a_broken_group_is_read_alike_both_ways() -> None:
    """The cases the generated frames must reach, checked here rather than left to luck, on a
    35=W snapshot: its group count one too high (a defect both ways) or one too low (both ways
    the entries declared are read and the one past them is not), and an entry whose members
    come out of the walk's order (tolerated: the careful parser reads it)."""
    from kalshi_fix_sansio import prediction

    samples = (
        __import__("pathlib").Path(prediction.__file__).parent.parent
        / "simulator/testing/samples/prediction.fix"
    )
    frame = next(
        line.replace(b"|", b"\x01")
        for line in samples.read_bytes().splitlines()
        if b"|35=W|" in line
    )
    fields = frame.split(b"\x01")[:-1]
    k = next(i for i, f in enumerate(fields) if f.startswith(b"268="))
    n = int(fields[k][4:])
    cases = [[*fields[:k], b"268=%d" % count, *fields[k + 1 :]] for count in (n - 1, n + 1)]
    cases.append([*fields[: k + 1], fields[k + 2], fields[k + 1], *fields[k + 3 :]])
    codec = _codec(prediction)
    for case, wrong in zip(cases, (False, True, False), strict=True):
        case_frame = b"\x01".join(case) + b"\x01"
        for tolerant in (False, True):
            careful = account(codec, case_frame, True, tolerant, False, random.Random(1))
            fast = account(codec, case_frame, False, tolerant, False, random.Random(1))
            assert fast == careful
        defects = codec.decode(case_frame, tolerant=True).check()
        assert bool(defects) is wrong, defects


_TAGS = st.sampled_from([b"8", b"9", b"35", b"49", b"55", b"58", b"268", b"269", b"x", b""])
_VALUES = st.binary(max_size=6).map(lambda b: b.replace(b"\x01", b"").replace(b"=", b""))


@EXAMPLES
@given(
    fields=st.lists(
        st.tuples(_TAGS, _VALUES, st.sampled_from([b"=", b"", b"==", b"=a="])), max_size=12
    )
)
def test_the_fast_splitter_splits_as_the_careful_one(
    fields: list[tuple[bytes, bytes, bytes]],
) -> None:
    """Without Length/Data pairs (which always take the careful split) the fast field
    splitter gives the careful one's fields, or fails with its error."""
    frame = b"".join(tag + eq + value + b"\x01" for tag, value, eq in fields)

    def outcome(by_length: bool) -> Any:
        try:
            return split_fields(frame, {}, by_length)
        except DecodeError as exc:
            return _error(exc)

    assert outcome(False) == outcome(True)


def _sample_frames() -> list[bytes]:
    """Every frame of the prediction dialect's samples (`kalshi_fix_sansio.simulator.testing`)."""
    from kalshi_fix_sansio import prediction

    samples = (
        __import__("pathlib").Path(prediction.__file__).parent.parent
        / "simulator/testing/samples/prediction.fix"
    )
    return [
        line.replace(b"|", b"\x01")
        for line in samples.read_bytes().splitlines()
        if line.startswith(b"8=")
    ]


def test_a_layout_checked_before_is_checked_alike() -> None:
    """`check` and `validate` make the checks on the tags alone once per remembered tag layout
    (a tag repeated outside the groups: its defect is kept with the layout); a message of that
    layout checked later must list the same defects, in the same order, as the full check of
    the careful path, its own values' defects included. On every sample and on each with a
    header field repeated (allowed beside groups by the decode, named by `check`), an enum
    value the spec does not list, or both; and with a body field repeated later with another
    value (a message of a remembered layout converts its fields from the first places)."""
    from kalshi_fix_sansio import prediction

    frames = _sample_frames()
    cases = []
    for frame in frames:
        fields = frame.split(b"\x01")[:-1]
        repeated = [*fields[:4], fields[3], *fields[4:]]  # the first header field twice
        # the first body field given again later with another value, valid where the first is
        # when it ends in a digit (the first one counts)
        k = next(i for i, f in enumerate(fields) if i > 2 and f.partition(b"=")[0] not in HEAD)
        last = fields[k][-1:]
        again = fields[k][:-1] + (b"%d" % ((int(last) + 1) % 10) if last.isdigit() else b"x")
        body_repeated = [*fields[: k + 1], *fields[k + 1 : k + 2], again, *fields[k + 2 :]]
        for case in (fields, repeated, body_repeated):
            cases.append(case)
            k = next((i for i, f in enumerate(case) if f.startswith((b"269=", b"54="))), None)
            if k is not None:  # MDEntryType / Side: a value no enum lists
                cases.append([*case[:k], case[k].partition(b"=")[0] + b"=Q", *case[k + 1 :]])
    codec = _codec(prediction)
    from_memory = seen_repeat = 0
    for case in cases:
        frame = b"\x01".join(case) + b"\x01"
        forget_layouts()
        for tolerant in (False, True):
            careful = account(codec, frame, True, tolerant, False, random.Random(2))
            for _ in range(3):  # the layout learnt, its places found, its repeats kept
                assert account(codec, frame, False, tolerant, False, random.Random(2)) == careful
        layout = codec.decode(frame, tolerant=True)._src.layout  # type: ignore[union-attr]
        if layout is not None and layout.repeats is not None:  # checked from the layout
            from_memory += 1
            seen_repeat += bool(layout.repeats)
    # the frames with groups present (8, X, W), each plain and with a header field repeated
    assert from_memory >= 6 and seen_repeat >= 3, (from_memory, seen_repeat)


def test_a_bad_header_value_on_a_remembered_layout_is_named_alike() -> None:
    """A header read in full on a frame of a remembered layout converts each field from the
    layout's header places; a value there that does not convert must be named, strictly and
    tolerantly, as the careful path names it. On every sample, each header field in turn
    given a value no header type reads (not a number, not Y/N, not a timestamp, not UTF-8),
    decoded after a clean frame of the same layout taught the codec its places."""
    from kalshi_fix_sansio import prediction

    frames = _sample_frames()
    header_tags = Header._OWN
    codec = _codec(prediction)
    broken_at_places = 0
    for frame in frames:
        fields = frame.split(b"\x01")[:-1]
        k = 3
        while k < len(fields) and fields[k].partition(b"=")[0] in header_tags:
            tag = fields[k].partition(b"=")[0]
            case = b"\x01".join([*fields[:k], tag + b"=x\xff", *fields[k + 1 :]]) + b"\x01"
            forget_layouts()
            for _ in range(2):  # the layout learnt, then its header places
                codec.decode(frame, tolerant=True)
            for tolerant in (False, True):
                careful = account(codec, case, True, tolerant, False, random.Random(3))
                fast = account(codec, case, False, tolerant, False, random.Random(3))
                assert fast == careful, (case, tolerant)
            src = codec.decode(case, tolerant=True)._src
            assert src is not None
            broken_at_places += src.header_at is not None
            k += 1
    # SenderCompID, TargetCompID, MsgSeqNum and SendingTime at least, on every sample
    assert broken_at_places >= 4 * len(frames), broken_at_places
