# private: the codec's several-fields reader (`_message.field_reader`)
"""`_message.field_reader`: a record's fields at once, each what its property reads.

The order tracker and the value ranges read a message's fields through it (the route
``docs/maintainers/value-path.md`` names "named fields"). Whatever a peer sends, a reader must
give what reading each property in turn gives on a fresh decode of the same frame: the same
values, the same `DecodeError` (strict), the same defects in the same order (tolerant). It
looks into the private module it tests (`_message`) and a record's `_eager` state.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from framing_helpers import make_frame
from strategies import forget_layouts

from kalshi_fix_sansio import DecodeError, FixRecord, margin, prediction
from kalshi_fix_sansio.codec._message import convert_now, field_reader

SAMPLES = Path(prediction.__file__).parent.parent / "simulator" / "testing" / "samples"
JUNK = [b"", b"x", b"-", b"1.2.3", b"99999999999999999999999", b"20261301", b"\xff\xfe"]


def frames(dialect: str) -> list[bytes]:
    text = (SAMPLES / f"{dialect}.fix").read_bytes()
    return [line.replace(b"|", b"\x01") for line in text.splitlines() if line.strip()]


def junked(frame: bytes, rng: random.Random) -> bytes:
    """``frame`` with one or two values after its MsgType replaced by junk, framed again."""
    fields = frame.split(b"\x01")[2:-2]  # from 35 to the last before 10
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(1, len(fields))
        tag, _, _value = fields[i].partition(b"=")
        fields[i] = tag + b"=" + rng.choice(JUNK)
    return make_frame(b"\x01".join(fields) + b"\x01")


def names_of(cls: type[FixRecord]) -> list[str]:
    """Every member of ``cls`` (groups too) and a name it does not have, shuffled."""
    names = [m.attr for m in cls._MEMBERS] + ["no_such_field"]
    random.Random(cls.__name__).shuffle(names)
    return names


def one_by_one(msg: Any, names: list[str]) -> tuple[Any, ...] | DecodeError:
    try:
        return tuple(getattr(msg, name, None) for name in names)
    except DecodeError as exc:
        return exc


def at_once(msg: Any, names: list[str]) -> tuple[Any, ...] | DecodeError:
    try:
        return field_reader(type(msg), names)(msg)
    except DecodeError as exc:
        return exc


def same(a: tuple[Any, ...] | DecodeError, b: tuple[Any, ...] | DecodeError) -> bool:
    """The same values, or the same error; a group's entries by their count (comparing them
    would read their values, which neither side has read)."""
    if isinstance(a, DecodeError) or isinstance(b, DecodeError):
        return type(a) is type(b) and (a.tag, str(a)) == (b.tag, str(b))
    return len(a) == len(b) and all(
        x == y if not isinstance(x, Sequence) or isinstance(x, str) else len(x) == len(y)
        for x, y in zip(a, b, strict=True)
    )


def cases() -> list[Any]:
    rng = random.Random(5)
    out = []
    for name, dialect in (("prediction", prediction), ("margin", margin)):
        for frame in frames(name):
            kind = frame.split(b"\x01")[2].decode()
            out.append(pytest.param(dialect, frame, True, id=f"{name}-{kind}"))
            for k in range(6):
                junk = junked(frame, rng)
                out.append(pytest.param(dialect, junk, False, id=f"{name}-{kind}-junk{k}"))
    return out


@pytest.mark.parametrize(("dialect", "frame", "clean"), cases())
@pytest.mark.parametrize("tolerant", [False, True], ids=["strict", "tolerant"])
@pytest.mark.parametrize("seen", [False, True], ids=["first-seen", "remembered"])
def test_a_reader_reads_what_the_properties_read(
    dialect: ModuleType, frame: bytes, clean: bool, tolerant: bool, seen: bool
) -> None:
    if seen:
        forget_layouts()  # every layout first seen
    try:
        fresh = dialect.decode(frame, tolerant=tolerant)
    except DecodeError:
        return  # refused at decode: nothing to read
    if seen:  # the layout remembered; its places found by a conversion
        convert_now(dialect.decode(frame, tolerant=tolerant))
        fresh = dialect.decode(frame, tolerant=tolerant)
        assert fresh._src.layout is not None or not clean  # (a frame with defects is not)
    names = names_of(type(fresh))
    want = one_by_one(fresh, names)
    msg = dialect.decode(frame, tolerant=tolerant)
    got = at_once(msg, names)
    assert same(got, want), (got, want)
    if tolerant:
        assert msg.defects == fresh.defects
    again = at_once(msg, names)  # converted now: read from the slots
    assert same(again, want) or isinstance(want, DecodeError)


def test_a_reader_converts_a_decoded_report_once_and_reads_its_slots() -> None:
    frame = frames("prediction")[2]  # a Trade report
    msg = prediction.decode(frame)
    assert msg._eager is False
    read = field_reader(prediction.ExecutionReport, ["exec_id", "last_qty", "misc_fees", "nope"])
    exec_id, last_qty, fees, nope = read(msg)
    assert msg._eager is None  # every plain field converted at once
    assert (exec_id, last_qty, nope) == ("4;7", Decimal("4.00"), None)
    assert fees == msg.misc_fees


def test_a_reader_of_a_built_request_reads_its_values_and_none_for_what_its_class_lacks() -> None:
    order = prediction.NewOrderSingle(cl_ord_id="o-1", price=Decimal("0.41"))
    read = field_reader(type(order), ["cl_ord_id", "orig_cl_ord_id", "price", "parties"])
    assert read(order) == ("o-1", None, Decimal("0.41"), None)
    assert read.__qualname__ == "read_NewOrderSingle"


def test_a_name_that_is_no_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="no field name"):
        field_reader(prediction.ExecutionReport, ["exec_id", "m._src"])
