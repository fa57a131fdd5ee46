"""Writing a message: the header and body fields, extra fields, repeating groups, BodyLength
and CheckSum, refusing with `EncodeError` whatever its decoder would refuse. The message classes
themselves are in `_message`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple
from zlib import adler32

from ._fields import SOH
from ._message import FixRecord, Message, UnknownMessage
from ._values import enc_int, enc_str
from ._wire import Entries
from .errors import DecodeError, EncodeError
from .framing import checksum

_TRAILERS = tuple(b"10=%03d\x01" % i for i in range(256))  # CheckSum -> its field
_SUMS = tuple(b"%03d" % i for i in range(256))  # CheckSum -> its value
_MAX_CACHED_HEAD = 8192  # BodyLengths whose head is kept (a codec's stay under ~1 MB)
_ADLER_EXACT = 256  # 256 * 255 < 65521: Adler-32's low half is then the exact byte sum
Heads = dict[int, tuple[bytes, int]]
"""BodyLength -> (``8=...|9=...|``, its byte sum): a codec's (`_decode.Codec.heads`)."""


def _head(length: int, heads: Heads) -> tuple[bytes, int]:
    """BeginString and BodyLength for a body of ``length`` bytes, and their byte sum (kept in
    ``heads`` up to ``_MAX_CACHED_HEAD``)."""
    head = b"8=FIXT.1.1\x019=%d\x01" % length
    found = (head, checksum(head))
    if length <= _MAX_CACHED_HEAD:
        heads[length] = found
    return found


def finish_frame(body: list[bytes], heads: Heads) -> bytes:
    """Prefix BeginString and BodyLength, append CheckSum: the body list starts with 35=.

    The head and its byte sum come from ``heads`` by BodyLength (the dialect's codec's), the
    CheckSum field from a table: the body is summed once and the frame joined once.
    """
    joined = b"".join(body)
    n = len(joined)
    head = heads.get(n)
    if head is None:
        head = _head(n, heads)
    total = head[1] + (adler32(joined, 0) if n <= _ADLER_EXACT else checksum(joined))
    return b"".join((head[0], joined, _TRAILERS[total & 0xFF]))


def finish_frame_values(joined: bytes, heads: Heads) -> tuple[bytes, bytes, bytes]:
    """`finish_frame` of a body already joined (it starts with 35=), and the values of the
    frame's BodyLength and CheckSum fields (a frame handed over with its values:
    `_handed`)."""
    n = len(joined)
    head = heads.get(n)
    if head is None:
        head = _head(n, heads)
    total = (head[1] + (adler32(joined, 0) if n <= _ADLER_EXACT else checksum(joined))) & 0xFF
    return b"".join((head[0], joined, _TRAILERS[total])), b"%d" % n, _SUMS[total]


class EncodeSpec(NamedTuple):
    """What `encode_message` checks a message against: one dialect's tables."""

    messages: dict[str, type[Message]]  # MsgType -> class
    header: type[FixRecord]
    rfq_classes: frozenset[type[Message]]  # messages whose BidPx/OfferPx follow `rfq_units`
    data_tags: dict[bytes, bytes]  # Length tag -> Data tag
    heads: Heads  # the heads of the frames it writes (its codec's: `_decode.Codec.heads`)


_UNSET = object()
_FRAMING_TAGS = frozenset({8, 9, 10, 35})
_MAX_TAG = 999_999_999  # a tag is 1-9 digits


def encode_message(
    msg: Message,
    header: FixRecord | None,
    use_dollars: bool,
    rfq_dollars: bool = False,
    spec: EncodeSpec | None = None,
    head: bytes = b"",
) -> bytes:
    """Encode a message with its header (see the dialect modules' `encode`).

    Args:
        msg: the message.
        header: its standard header (None: ``head`` is the header, already encoded).
        use_dollars: session prices in dollars (UseDollars(21005)=Y).
        rfq_dollars: BidPx/OfferPx of the RFQ messages (``spec.rfq_classes``) in dollars.
        spec: the dialect's tables: the message and header must be its classes.
        head: with ``header`` None, the header's fields after MsgType as they go on the wire
            (a session's own: `session_head`).

    Returns:
        The frame.

    Raises:
        EncodeError: and nothing else, whatever the message holds: it names the message and,
            where one is at fault, the field.
    """
    try:  # one frame: the common path pays no call for the error handling
        cls = msg.__class__
        prefix = getattr(cls, "_MSGTYPE_FIELD", b"")
        if spec is not None:
            if spec.messages.get(getattr(cls, "MSG_TYPE", "")) is not cls:
                _check_class(msg, spec)
            if header is None:
                pass  # ``head`` is the header, encoded
            elif header.__class__ is not spec.header and not isinstance(header, spec.header):
                raise EncodeError(
                    f"header must be a {spec.header.__name__}, got {type(header).__name__}",
                    msg_type=getattr(cls, "MSG_TYPE", None),
                )
            if rfq_dollars is not use_dollars and cls in spec.rfq_classes:
                use_dollars = rfq_dollars  # the message's only switchable prices are BidPx/OfferPx
        elif header is None or not isinstance(header, FixRecord) or isinstance(header, Message):
            raise EncodeError(f"header must be the standard Header, got {type(header).__name__}")
        if prefix:  # a generated message class: its "35=...|" is precomputed
            mt: str = msg.MSG_TYPE
            out = [prefix]
        else:
            if not isinstance(msg, Message) or (
                isinstance(msg, UnknownMessage) and not msg.msg_type
            ):
                raise EncodeError(
                    f"cannot encode {type(msg).__name__}: not a message of this dialect"
                )
            mt = msg.msg_type if isinstance(msg, UnknownMessage) else msg.MSG_TYPE
            try:
                mt_bytes = mt.encode("latin-1")  # an UnknownMessage keeps the MsgType bytes it had
            except UnicodeEncodeError:
                raise EncodeError(
                    f"MsgType {mt!r} cannot be written on the wire", msg_type=mt
                ) from None
            if not mt_bytes or SOH in mt_bytes or b"=" in mt_bytes:
                raise EncodeError(f"MsgType {mt!r} cannot be written on the wire", msg_type=mt)
            if spec is not None and mt in spec.messages:
                raise EncodeError(
                    f"MsgType {mt!r} is {spec.messages[mt].__name__} in this dialect: build that "
                    "class (an unknown message of a known type would decode as a different one)",
                    msg_type=mt,
                )
            out = [b"35=" + mt_bytes + SOH]
        if header is None:
            out.append(head)
        else:
            header._encode_into(out, use_dollars)
            seq = header._msg_seq_num  # type: ignore[attr-defined]  # set: the header encoder read it
            if seq < 1:  # an int: the header encoder checked it
                raise EncodeError(
                    f"MsgSeqNum(34) must be 1 or more, got {seq}", msg_type=mt, tag=34
                )
        msg._encode_into(out, use_dollars)
        # the slot itself when set (a constructed message): not the Python-level property
        extra: Any = getattr(msg, "_extra_fields", _UNSET)
        if extra is _UNSET:
            extra = msg.extra_fields
        if extra:
            _extra_fields(out, extra, msg, mt, spec.data_tags if spec is not None else {})
        return finish_frame(out, spec.heads if spec is not None else {})
    except EncodeError as exc:
        if exc.msg_type is not None and exc.tag is not None:
            raise
        raise _in_context(exc, msg) from None
    except DecodeError as exc:  # re-encoding a decoded message whose wire value is invalid
        raise EncodeError(
            f"cannot re-encode a decoded message: {exc}", msg_type=exc.msg_type, tag=exc.tag
        ) from None
    except Exception as exc:  # a fast path met a value only the slow encoders name
        raise _diagnose(msg, header, exc) from exc


def _check_class(msg: Message, spec: EncodeSpec) -> None:
    """Refuse a message that is not of the dialect (a class of the other product, say)."""
    cls = type(msg)
    mt = getattr(cls, "MSG_TYPE", None)
    expected = spec.messages.get(mt) if isinstance(mt, str) else None
    if expected is not None and isinstance(msg, expected):
        return  # a subclass of the dialect's class
    if isinstance(msg, UnknownMessage) and "_MSGTYPE_FIELD" not in cls.__dict__:
        return  # checked by its msg_type
    name = next(iter(spec.messages.values())).__module__.rsplit(".", 1)[-1]
    raise EncodeError(
        f"cannot encode {cls.__module__}.{cls.__name__} with the {name} dialect: not one of its "
        "message classes",
        msg_type=mt,
    )


def _extra_fields(
    out: list[bytes],
    extra: Sequence[tuple[int, bytes]],
    msg: Message,
    mt: str,
    data_tags: dict[bytes, bytes],
) -> None:
    """Append `extra_fields`, refusing what the decoder would not read back as extra fields."""
    what = f"{type(msg).__name__} (35={mt}) extra_fields"
    if not isinstance(extra, (tuple, list)):
        raise EncodeError(
            f"{what}: expected a tuple of (tag, value) pairs, got {type(extra).__name__}",
            msg_type=mt,
        )
    known = msg._KNOWN
    seen: set[int] = set()
    pending: tuple[int, int, int] | None = None  # (length tag, data tag, length)
    for i, item in enumerate(extra):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise EncodeError(
                f"{what}[{i}]: expected a (tag, value) pair, got {item!r}", msg_type=mt
            )
        tag, value = item
        if not isinstance(tag, int) or isinstance(tag, bool) or not 0 < tag <= _MAX_TAG:
            raise EncodeError(
                f"{what}[{i}]: tag {tag!r} must be an int from 1 to {_MAX_TAG}", msg_type=mt
            )
        key = b"%d" % tag
        if tag in _FRAMING_TAGS:
            raise EncodeError(
                f"{what}: tag {tag} is written by the codec (BeginString, BodyLength, MsgType, "
                "CheckSum)",
                msg_type=mt,
                tag=tag,
            )
        if key in known:
            raise EncodeError(
                f"{what}: tag {tag} is a field of {type(msg).__name__} or the header; set it as "
                "an attribute (decoded, it would not come back as an extra field)",
                msg_type=mt,
                tag=tag,
            )
        if tag in seen:
            raise EncodeError(f"{what}: tag {tag} appears twice", msg_type=mt, tag=tag)
        seen.add(tag)
        if isinstance(value, str):
            value = enc_str(value, f"{what}: tag {tag}")
        elif isinstance(value, (bytes, bytearray)):
            value = bytes(value)
        else:
            raise EncodeError(
                f"{what}: tag {tag}: expected bytes or str, got {type(value).__name__}",
                msg_type=mt,
                tag=tag,
            )
        if not value:
            raise EncodeError(f"{what}: tag {tag} has an empty value", msg_type=mt, tag=tag)
        if SOH in value:
            raise EncodeError(f"{what}: tag {tag}: value contains SOH", msg_type=mt, tag=tag)
        if pending is not None:
            length_tag, data_tag, length = pending
            if tag != data_tag or len(value) != length:
                raise EncodeError(
                    f"{what}: length field {length_tag} must be followed at once by its data "
                    f"field {data_tag} of {length} bytes",
                    msg_type=mt,
                    tag=length_tag,
                )
            pending = None
        data = data_tags.get(key)
        if data is not None:
            if not value.isdigit() or len(value) > 9:
                raise EncodeError(
                    f"{what}: length field {tag} must be a number, got {value!r}",
                    msg_type=mt,
                    tag=tag,
                )
            pending = (tag, int(data), int(value))
        out.append(b"%s=%s\x01" % (key, value))
    if pending is not None:
        raise EncodeError(
            f"{what}: length field {pending[0]} must be followed at once by its data field "
            f"{pending[1]}",
            msg_type=mt,
            tag=pending[0],
        )


_LABEL = re.compile(r"(?:\w+: )?[A-Za-z]+\((\d+)\)")


def _in_context(exc: EncodeError, msg: Any) -> EncodeError:
    """The same error (same class) naming the message, and the tag its text names first."""
    mt = exc.msg_type or getattr(msg, "MSG_TYPE", None) or getattr(msg, "_msg_type", None)
    text = str(exc)
    name = type(msg).__name__
    if not text.startswith(name):
        text = f"{name} (35={mt}): {text}" if mt else f"{name}: {text}"
    tag = exc.tag
    if tag is None:
        m = _LABEL.match(str(exc))
        tag = int(m.group(1)) if m else None
    return type(exc)(text, msg_type=mt, tag=tag)


def _diagnose(msg: Any, header: Any, exc: Exception) -> EncodeError:
    """The EncodeError for an exception a fast encode path raised: find the field at fault."""
    mt = getattr(msg, "MSG_TYPE", None) or getattr(msg, "_msg_type", None)
    stack: list[Any] = [header, msg]
    while stack:
        rec = stack.pop()
        if not isinstance(rec, FixRecord):
            continue
        for info in rec._FIELDS:
            try:
                value = getattr(rec, info.attr)
            except Exception:  # an unreadable value is not what failed here
                continue
            label = f"{type(rec).__name__}: {info.name}({info.tag})"
            try:
                if value.__class__ is str:
                    enc_str(value, label)
                elif value.__class__ is int:
                    enc_int(value, label)
            except EncodeError as found:
                return EncodeError(str(found), msg_type=mt, tag=info.tag)
        for ginfo in rec._GROUPS:
            entries = getattr(rec, ginfo.slot, None)
            if isinstance(entries, (tuple, list, Entries)):
                stack.extend(entries)
    return EncodeError(
        f"{type(msg).__name__}: cannot be encoded: {type(exc).__name__}: {exc}", msg_type=mt
    )


def encode_group(
    out: list[bytes],
    key: bytes,
    entries: Sequence[FixRecord],
    use_dollars: bool,
    name: str,
    entry_cls: type[FixRecord] | None = None,
) -> None:
    """Append a repeating group: the count field, then each entry."""
    if not isinstance(entries, (tuple, list, Entries)):
        raise EncodeError(
            f"{name}: expected a tuple of group entries, got {type(entries).__name__}"
        )
    out.append(key + b"=%d\x01" % len(entries))
    several = len(entries) > 1
    for i, e in enumerate(entries, 1):
        if entry_cls is not None and not isinstance(e, entry_cls):
            raise EncodeError(
                f"{name}: entry {i} must be a {entry_cls.__name__}, got {type(e).__name__}"
            )
        delimiter = e._MEMBERS[0]
        if getattr(e, delimiter.attr) is None:  # else a field is set, the delimiter first
            if all(v is None for _, v in e._values()):
                raise EncodeError(f"{name}: entry {i} has no field set")
            if several:
                raise EncodeError(
                    f"{name}: entry {i} lacks the group's first field {delimiter.name}"
                    f"({delimiter.tag}), which separates entries when there are several"
                )
        e._encode_into(out, use_dollars)


def missing(owner: str, name: str, tag: int, msg_type: str | None) -> EncodeError:
    """The error for a required field left as None."""
    return EncodeError(
        f"{owner}: required field {name}({tag}) is missing", msg_type=msg_type, tag=tag
    )
