"""The codec's field-level vocabulary: how a generated class's fields and groups map to the wire
(`FieldInfo`, `GroupInfo`), what a received message may have wrong (`Defect`, with the
SessionRejectReason codes a strict session answers it with). Where a decoded record's raw values
come from is `_wire.WireSource`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from .errors import DecodeError

if TYPE_CHECKING:
    from ._message import FixRecord


SOH = b"\x01"
BEGIN_STRING = b"FIXT.1.1"
_new = object.__new__
_set = setattr  # records do not override __setattr__: the builtin is 3x faster than object's


class _Lazy:
    """The value of a decoded record's slot not converted yet (`_LAZY`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<not converted yet>"


# A decoded record's members start as this (`FixRecord._blank`): a read tests for it instead of
# raising and catching AttributeError on an unset slot (600-800 ns a time)
_LAZY: Any = _Lazy()

# SessionRejectReason(373) codes used for decode problems.
REJECT_INVALID_TAG_NUMBER = 0
REJECT_REQUIRED_TAG_MISSING = 1
REJECT_TAG_NOT_DEFINED_FOR_MSGTYPE = 2
REJECT_UNDEFINED_TAG = 3
REJECT_TAG_NO_VALUE = 4
REJECT_VALUE_OUT_OF_RANGE = 5
REJECT_INCORRECT_FORMAT = 6
REJECT_INVALID_MSGTYPE = 11
REJECT_TAG_REPEATED = 13
REJECT_TAG_ORDER = 14
REJECT_GROUP_COUNT = 16


@attrs.frozen(slots=True)
class Defect:
    """One thing wrong with a received message that did not stop it from being read.

    A session delivers an exchange message with its defects listed instead of dropping it (see
    `ApplicationMessage.defects`); a strict session (the acceptor, or ``strict_inbound=True``)
    rejects the message with `reason` instead.

    Attributes:
        tag: the tag at fault, when one is (None for a problem of the whole message).
        reason: the SessionRejectReason(373) a strict session answers it with: 0 undefined tag,
            1 required tag missing, 2 tag not defined for this message type, 4 tag without a
            value, 5 value out of range (an enum value the spec does not list), 6 incorrect
            data format, 11 invalid MsgType, 13 tag repeated, 14 header field after the body,
            16 wrong number of repeating-group entries.
        text: what is wrong and where, in words (message, group entry, tag).
        value: the raw wire value at fault, when there is one (the typed attribute of a value
            that does not convert reads None; this keeps the bytes).
    """

    tag: int | None
    reason: int
    text: str
    value: bytes | None = None

    def error(self, frame: bytes, msg_type: str | None = None) -> DecodeError:
        """This defect as the `DecodeError` a strict decode raises.

        Args:
            frame: the frame it was found in.
            msg_type: its MsgType(35).

        Returns:
            The error (not raised).
        """
        offset = None
        if self.tag is not None:
            offset = _offset_of(frame, str(self.tag).encode())
        return DecodeError(
            self.text,
            raw=frame,
            msg_type=msg_type,
            tag=self.tag,
            offset=offset,
            reject_reason=self.reason,
        )


class AnyTag(frozenset[bytes]):
    """A tag set that holds every tag (an unknown message's tags may all repeat in groups)."""

    def __contains__(self, tag: object) -> bool:
        return True


class FieldInfo(NamedTuple):
    """How one field of a generated class maps to the wire."""

    attr: str  # public attribute name
    slot: str  # private slot holding the typed value
    tag: int
    key: bytes  # the tag as bytes, the key in the wire dict
    name: str  # FIX name
    dec: Callable[[bytes], Any]  # wire -> value (session prices: the cents form on prediction)
    dec_dollars: Callable[[bytes], Any] | None  # wire -> value when the session uses dollars
    secret: bool  # never shown in repr (RawData)


class GroupInfo(NamedTuple):
    """How one repeating group of a generated class maps to the wire."""

    attr: str
    slot: str
    tag: int
    key: bytes
    name: str  # FIX name of the count field
    entry: type[FixRecord]


# (slot, tag bytes, decoder, field) per plain field of a class, in member order: `FixRecord._fill`
Conv = tuple[tuple[str, bytes, Callable[[bytes], Any], FieldInfo], ...]
_CONVERT_ERRORS = (ValueError, UnicodeDecodeError, ArithmeticError)
_WALK_ERRORS = (ValueError, UnicodeDecodeError, ArithmeticError, IndexError)


def _offset_of(frame: bytes, key: bytes) -> int | None:
    """Where tag ``key``'s first field starts in ``frame`` (None: it is not there)."""
    pos = frame.find(SOH + key + b"=")
    return pos + 1 if pos >= 0 else (0 if frame.startswith(key + b"=") else None)


def _add(defects: list[Defect], defect: Defect) -> None:
    """Record a defect once (checking a message twice finds the same ones again)."""
    if defect not in defects:
        defects.append(defect)
