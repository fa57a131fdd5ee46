"""A frame a simulation's gateway built, read from the values it hands with it: the message
`Codec.decode_clean` would make of the frame, without reading the frame.

At the FIX level of a backtest the client decodes each 35=X its own simulation's gateway
encoded a moment before; the clean decode (`Codec.decode_clean`: the count of ``=``, the
layout's pattern over the whole frame, its groups) is about an eighth of the client's work. The
gateway formatted every one of those values itself, so it can hand them over with the frame's
bytes (`Pipe.hand_over`), with a `HandedShape`: the frame's tags, and for each field what the
gateway vouches for in its value, a plain form (`TEXT`, `INT`, `DECIMAL`, `TIMESTAMP`, `DATE`,
`TIME`: the value has that form, as `_valuecheck` writes it, and no ``=``; every byte ASCII) or
the set of the values it can hold.

`HandedReader.message` makes the message from them when that is provably what
`decode_clean(frame)` makes: the layout `decode_clean` would try for the frame (the remembered
one of as many fields) is the one learned for the shape, and the layout's pattern, field by
field, accepts every value the shape vouches for (`accepts`: checked once per shape and layout,
on the frame that taught it, which `decode_clean` read). Then the frame's ``=`` are its fields'
(no value holds one), it is ASCII, the pattern matches it whole and its groups are the handed
values: the same class, flat list, layout, source (`CheckedSource`) and cache state
(``hit.used``). Anything else is read by `decode_clean`, as before. tests/test_handed.py
compares the two on every frame the gateway hands in backtests of both products.
"""

from __future__ import annotations

import re
from typing import Any, Final

from ._decode import Codec, _message
from ._fields import CheckedSource, Layout
from ._valuecheck import _FILLED, _PLAIN, _joined, matcher_forms
from ._values import _dec_date, _dec_decimal, _dec_time_any, _dec_timestamp, dec_int

__all__ = [
    "DATE",
    "DECIMAL",
    "INT",
    "TEXT",
    "TIME",
    "TIMESTAMP",
    "HandedReader",
    "HandedShape",
    "accepts",
    "frame_shape",
    "plain_date",
    "plain_decimal",
    "plain_text",
    "plain_timestamp",
]

# the plain forms a gateway vouches for (`_valuecheck`'s, so a layout's pattern has the same)
TEXT: Final = _FILLED  # not empty, no SOH (and, vouched for, ASCII with no ``=``)
INT: Final = _PLAIN[dec_int]
DECIMAL: Final = _PLAIN[_dec_decimal]
TIMESTAMP: Final = _PLAIN[_dec_timestamp]
DATE: Final = _PLAIN[_dec_date]
TIME: Final = _PLAIN[_dec_time_any]

Vouched = bytes | frozenset[bytes]
"""What a gateway vouches for in one field's value: its plain form, or the values it can be."""

plain_decimal: Final = re.compile(DECIMAL).fullmatch
plain_timestamp: Final = re.compile(TIMESTAMP).fullmatch
plain_date: Final = re.compile(DATE).fullmatch


def plain_text(value: bytes) -> bool:
    """Whether ``value`` is a `TEXT` a gateway may vouch for: not empty, ASCII, no SOH and no
    ``=``."""
    return bool(value) and value.isascii() and b"\x01" not in value and b"=" not in value


class HandedShape:
    """The tags of the frames a gateway hands with their values, and what it vouches for in
    each value (`Vouched`, one a field, in order).

    Attributes:
        key: the tags joined by SOH (a `Layout`'s key).
        vouched: one `Vouched` a field.
    """

    __slots__ = ("key", "msg_type", "msg_type_field", "vouched")

    def __init__(
        self, tags: tuple[bytes, ...], vouched: tuple[Vouched, ...], msg_type: bytes = b""
    ) -> None:
        if len(tags) != len(vouched):
            raise ValueError("a shape vouches for each of its fields")
        self.key = b"\x01".join(tags)
        self.vouched = vouched
        self.msg_type = msg_type
        """A whole frame's MsgType (`frame_shape`); b"" for a body's."""
        self.msg_type_field = b"35=%s\x01" % msg_type if msg_type else b""
        """Its MsgType field as written (b"" for a body's)."""

    def __repr__(self) -> str:
        tags = self.key.replace(b"\x01", b"|").decode()
        return f"HandedShape({tags})"


# the session's fields around a body: BeginString, BodyLength and MsgType before the header
# `Outbound.own_header` writes (SenderCompID, TargetCompID, MsgSeqNum, SendingTime), CheckSum
# after the body
_HEAD_TAGS: Final = (b"8", b"9", b"35", b"49", b"56", b"34", b"52")
_FRAME_SHAPES: dict[tuple[bytes, HandedShape], HandedShape] = {}


def frame_shape(msg_type: bytes, body: HandedShape) -> HandedShape:
    """The shape of a whole frame a session writes with `Outbound.own_header` around a body of
    shape ``body`` (its values: BeginString, BodyLength, ``msg_type``, SenderCompID,
    TargetCompID, MsgSeqNum, SendingTime, the body's, CheckSum), one object per pair."""
    found = _FRAME_SHAPES.get((msg_type, body))
    if found is None:
        head: tuple[Vouched, ...] = (TEXT, INT, frozenset({msg_type}), TEXT, TEXT, INT, TIMESTAMP)
        found = HandedShape(
            (*_HEAD_TAGS, *body.key.split(b"\x01"), b"10"), (*head, *body.vouched, INT), msg_type
        )
        _FRAME_SHAPES[(msg_type, body)] = found
    return found


def accepts(shape: HandedShape, layout: Layout, flat: list[bytes], dollars: bool) -> bool:
    """Whether ``layout``'s pattern (prices in dollars or cents) matches every frame of
    ``shape`` whose values are as the shape vouches: the same tags, and field by field the
    pattern's form takes each value vouched for (a form vouched for: the same form, or any
    value not empty; a set of values: each of them, ASCII with no ``=``). ``flat``: a frame
    of the layout the pattern matched (its MsgType and group counts are the pattern's)."""
    if shape.key != layout.key:
        return False
    match = layout.pattern_dollars if dollars else layout.pattern_cents
    if not match:
        return False
    cls: Any = layout.cls
    forms = matcher_forms(cls, cls._HEADER_CLS, flat, dollars)
    if forms is None or len(forms) != len(shape.vouched):
        return False
    # the forms read are the pattern's own
    pattern = _joined([(tag, form, True) for tag, form in forms])
    if pattern != match.__self__.pattern:  # type: ignore[union-attr]
        return False
    for (_tag, form), vouched in zip(forms, shape.vouched, strict=True):
        if isinstance(vouched, frozenset):
            takes = re.compile(form).fullmatch
            for value in vouched:
                if not (value.isascii() and b"=" not in value and takes(value)):
                    return False
        elif vouched != form and form != _FILLED:
            return False
    return True


class HandedReader:
    """A session's read of the frames a simulation's gateway hands with their values (see the
    module): the message `Codec.decode_clean` makes of each, prices as the session reads them.

    Args:
        codec: the session's dialect codec.
        use_dollars: as the session passes it to `Codec.decode_clean`.
        rfq_dollars: as the session passes it to `Codec.decode_clean`.
    """

    __slots__ = ("_decode_clean", "_dollars", "_learned", "_recent", "_rfq_dollars")

    def __init__(self, codec: Codec, use_dollars: bool, rfq_dollars: bool | None) -> None:
        self._decode_clean = codec.decode_clean
        self._recent = codec.layouts.recent
        self._dollars = use_dollars
        self._rfq_dollars = rfq_dollars
        # shape -> the layout learned for it (its messages read in the session's price unit)
        self._learned: dict[HandedShape, Layout] = {}

    def message(self, handed: tuple[bytes, HandedShape, tuple[bytes, ...]]) -> Any:
        """`decode_clean(frame)`'s message of ``handed``'s frame (``(frame, shape, values)``),
        made from its values (the frame's, in order, as its shape vouches) when the layout
        `decode_clean` would try (the remembered one of as many fields) is the one learned for
        the shape; else `decode_clean`'s own (None: not a clean frame), the shape learned from
        it (`_learn`)."""
        values = handed[2]
        hit = self._recent.get(len(values))
        if hit is None or self._learned.get(handed[1]) is not hit:
            return self._learn(handed)
        hit.used = True
        flat = hit.template.copy()  # type: ignore[union-attr]
        flat[1::2] = values
        return _message(
            CheckedSource,
            handed[0],
            flat,
            self._dollars,
            {},
            hit.cls,
            hit.present,
            hit.header_at,
            hit,
        )

    def _learn(self, handed: tuple[bytes, HandedShape, tuple[bytes, ...]]) -> Any:
        """`decode_clean(frame)`; the shape's layout learned when the message is clean, read
        in the session's price unit, its values the handed ones, and the layout's pattern takes
        every frame of the shape (`accepts`)."""
        frame, shape, values = handed
        msg: Any = self._decode_clean(frame, self._dollars, self._rfq_dollars)
        if msg is None:
            return None
        src = msg._src
        layout = src.layout
        if (
            layout is not None
            and src.dollars == self._dollars
            and src.flat[1::2] == list(values)
            and accepts(shape, layout, src.flat, src.dollars)
        ):
            self._learned[shape] = layout
        else:
            self._learned.pop(shape, None)
        return msg
