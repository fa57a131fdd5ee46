"""Runtime behind the generated message classes: lazy typed decode and encode.

A decoded message keeps the frame, a tag -> raw-value dict and the flat (tag, value, ...) list;
each typed attribute is converted on first access and cached. That keeps `decode()` close to the
cost of splitting the frame while still checking what a FIX engine must check at once: the
header layout, the MsgType, required tags and duplicated tags. `Message.validate()` forces every
conversion when a caller wants all errors up front.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, NamedTuple, TypeVar

import attrs

from .errors import DecodeError, EncodeError
from .framing import checksum

SOH = b"\x01"
BEGIN_STRING = b"FIXT.1.1"
_new = object.__new__
_set = object.__setattr__

# SessionRejectReason(373) codes used for decode problems.
REJECT_INVALID_TAG_NUMBER = 0
REJECT_REQUIRED_TAG_MISSING = 1
REJECT_UNDEFINED_TAG = 3
REJECT_TAG_NO_VALUE = 4
REJECT_VALUE_OUT_OF_RANGE = 5
REJECT_INCORRECT_FORMAT = 6
REJECT_INVALID_MSGTYPE = 11
REJECT_TAG_REPEATED = 13
REJECT_GROUP_COUNT = 16


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


# [frame, tag -> raw value (built on first access), flat [tag, value, ...], use_dollars]
Src = list[Any]


def _wire(src: Src) -> dict[bytes, bytes]:
    wire: dict[bytes, bytes] | None = src[1]
    if wire is None:
        it = iter(src[2])
        wire = src[1] = dict(zip(it, it, strict=False))
    return wire


R = TypeVar("R", bound="FixRecord")
M = TypeVar("M", bound="Message")


@attrs.define(frozen=True, slots=True, eq=False, repr=False, kw_only=True)
class FixRecord:
    """Base of generated messages, group entries and the header.

    Typed attributes are properties; decoded instances convert the wire value on first access.
    """

    _src: Src | None = attrs.field(default=None, init=False)

    _FIELDS: ClassVar[tuple[FieldInfo, ...]] = ()
    _GROUPS: ClassVar[tuple[GroupInfo, ...]] = ()
    _MEMBERS: ClassVar[tuple[FieldInfo | GroupInfo, ...]] = ()  # wire order
    _REQUIRED: ClassVar[frozenset[bytes]] = frozenset()
    _TAGS: ClassVar[frozenset[bytes]] = frozenset()  # every tag an instance may hold
    _DELIMITER: ClassVar[bytes] = b""
    _OWN: ClassVar[frozenset[bytes]] = frozenset()  # entries: direct member tags
    _BY_KEY: ClassVar[dict[bytes, FieldInfo]] = {}  # tag bytes -> field (plain fields only)

    # -- lazy loading -------------------------------------------------------------------------

    def _load(self, info: FieldInfo, wire: dict[bytes, bytes] | None = None) -> Any:
        src = self._src
        if src is None:  # pragma: no cover - constructed instances always have their slots set
            raise AttributeError(info.attr)
        _attr, slot, tag, key, name, dec, dec_dollars, _secret = info
        raw = (wire if wire is not None else _wire(src)).get(key)
        if raw is None:
            value = None
        else:
            if src[3] and dec_dollars is not None:
                dec = dec_dollars
            try:
                value = dec(raw)
            except (ValueError, UnicodeDecodeError, ArithmeticError) as exc:
                raise DecodeError(
                    f"{self._what()}: {name}({tag}) has an invalid value: {exc}",
                    raw=src[0],
                    msg_type=self._msgtype_of(src),
                    tag=tag,
                    offset=_offset_of(src, key),
                    reject_reason=REJECT_INCORRECT_FORMAT,
                ) from None
        _set(self, slot, value)
        return value

    def _load_group(self, info: GroupInfo) -> Any:
        src = self._src
        if src is None:  # pragma: no cover
            raise AttributeError(info.attr)
        raw = _wire(src).get(info.key)
        if raw is None:
            value = None
        else:
            value = _parse_group(self, info, src, raw)
        _set(self, info.slot, value)
        return value

    def _what(self) -> str:
        return type(self).__name__

    def _materialize(self) -> None:
        """Load every lazy slot, absent fields included (encoding reads slots directly)."""
        src = self._src
        if src is None:
            return
        wire = _wire(src)
        load = self._load
        for info in self._FIELDS:
            load(info, wire)
        for ginfo in self._GROUPS:
            self._load_group(ginfo)

    @staticmethod
    def _msgtype_of(src: Src) -> str | None:
        frame: bytes = src[0]
        start = frame.find(b"\x0135=")
        if start < 0:
            return None
        end = frame.find(SOH, start + 4)
        return frame[start + 4 : end].decode("latin-1")

    # -- value protocol -------------------------------------------------------------------------

    def _values(self) -> Iterator[tuple[str, Any]]:
        for m in self._MEMBERS:
            yield m.attr, getattr(self, m.attr)

    def items(self) -> Iterator[tuple[int, str, Any]]:
        """The fields that are set, in wire order.

        Yields:
            ``(tag, FIX name, typed value)``; a repeating group yields its count tag and name
            with a tuple of entries.

        Raises:
            DecodeError: a decoded value is invalid.
        """
        for m in self._MEMBERS:
            value = getattr(self, m.attr)
            if value is not None:
                if isinstance(m, GroupInfo):
                    value = tuple(value)
                yield m.tag, m.name, value

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, FixRecord)
        mine = [(k, tuple(v) if isinstance(v, list) else v) for k, v in self._values()]
        theirs = [(k, tuple(v) if isinstance(v, list) else v) for k, v in other._values()]
        return mine == theirs and _extra(self) == _extra(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = []
        secret = {f.attr for f in self._FIELDS if f.secret}
        for name, value in self._values():
            if value is None:
                continue
            if name in secret:
                parts.append(f"{name}=<redacted>")
            else:
                parts.append(f"{name}={value!r}")
        extra = _extra(self)
        if extra:
            parts.append(f"extra_fields={extra!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _load_all(self) -> None:
        """Convert every field of a decoded instance now (no exception-driven lazy path)."""
        src = self._src
        if src is None:
            return
        wire = _wire(src)
        by_key = self._BY_KEY
        dollars = src[3]
        # only the fields present need converting; absent ones read as None on access
        for key, raw in wire.items():
            info = by_key.get(key)
            if info is None:
                continue
            _attr, slot, _tag, _key, _name, dec, dec_dollars, _secret = info
            if dollars and dec_dollars is not None:
                dec = dec_dollars
            try:
                value = dec(raw)
            except (ValueError, UnicodeDecodeError, ArithmeticError):
                self._load(info, wire)  # raises the DecodeError that names the field
                raise  # pragma: no cover - _load raised above
            _set(self, slot, value)
        for ginfo in self._GROUPS:
            self._load_group(ginfo)

    def validate(self: R) -> R:
        """Convert every field now (decoded instances convert lazily).

        Returns:
            self, for chaining.

        Raises:
            DecodeError: the first field whose wire value is invalid, naming tag and message.
        """
        self._load_all()
        for ginfo in self._GROUPS:
            entries = getattr(self, ginfo.attr)
            if entries:
                for entry in entries:
                    entry.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        """The typed values as a plain dict (groups as lists of dicts; None values left out).

        Returns:
            attribute name -> value, in wire order; secret data fields are redacted.
        """
        out: dict[str, Any] = {}
        secret = {f.attr for f in self._FIELDS if f.secret}
        for name, value in self._values():
            if value is None:
                continue
            if name in secret:
                out[name] = "<redacted>"
            elif isinstance(value, tuple):
                out[name] = [e.to_dict() for e in value]
            else:
                out[name] = value
        extra = _extra(self)
        if extra:
            out["extra_fields"] = [[tag, val] for tag, val in extra]
        return out

    def replace(self: R, **changes: Any) -> R:
        """A copy with some attributes changed (the class is frozen).

        Args:
            **changes: attribute name -> new value.

        Returns:
            A new instance of the same class.

        Raises:
            TypeError: an unknown attribute name.
        """
        kwargs = dict(self._values())
        extra = _extra(self)
        if extra and "extra_fields" in attrs.fields_dict(type(self)):
            kwargs["extra_fields"] = extra
        kwargs.update(changes)
        return type(self)(**kwargs)

    # -- encoding -------------------------------------------------------------------------------

    def _encode_into(self, out: list[bytes], use_dollars: bool) -> None:  # pragma: no cover
        raise NotImplementedError


def by_key(fields: tuple[FieldInfo, ...]) -> dict[bytes, FieldInfo]:
    """Tag bytes -> field, for a generated class's plain fields."""
    return {info.key: info for info in fields}


def header_raw(msg: FixRecord, keys: frozenset[bytes]) -> dict[bytes, bytes]:
    """Raw values of the header fields of a decoded message, read from the front of the frame.

    Cheaper than the typed header for the session's per-message checks: header fields follow
    8, 9 and 35, so only those few pairs are looked at; a header field placed later in the
    frame (allowed, unusual) is found through the full tag dict.

    Args:
        msg: a decoded message.
        keys: the header tags (as bytes).

    Returns:
        tag -> raw value for the header fields present.
    """
    src = msg._src
    assert src is not None
    flat: list[bytes] = src[2]
    out: dict[bytes, bytes] = {}
    i = 6
    n = len(flat)
    while i < n and flat[i] in keys:
        out[flat[i]] = flat[i + 1]
        i += 2
    if b"34" not in out or b"49" not in out or b"56" not in out or b"52" not in out:
        wire = _wire(src)
        out = {k: v for k, v in wire.items() if k in keys}
    return out


def _extra(rec: FixRecord) -> tuple[tuple[int, bytes], ...]:
    return getattr(rec, "extra_fields", ())


def _offset_of(src: Src, key: bytes) -> int | None:
    pos = src[0].find(SOH + key + b"=")
    return pos + 1 if pos >= 0 else (0 if src[0].startswith(key + b"=") else None)


def _parse_group(owner: FixRecord, info: GroupInfo, src: Src, raw: bytes) -> tuple[FixRecord, ...]:
    frame, _, flat, use_dollars = src
    what = f"{owner._what()}: group {info.name}({info.tag})"
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if count < 0 or not raw.isdigit():
        raise DecodeError(
            f"{what}: count {raw!r} is not a number",
            raw=frame,
            tag=info.tag,
            msg_type=owner._msgtype_of(src),
            reject_reason=REJECT_INCORRECT_FORMAT,
        )
    # find the count tag at an even (tag) position of the flat list
    i = 0
    n = len(flat)
    while True:
        i = flat.index(info.key, i)
        if i % 2 == 0:
            break
        i += 1
    entry_cls = info.entry
    delim = entry_cls._DELIMITER
    tags = entry_cls._TAGS
    required = entry_cls._REQUIRED
    j = i + 2
    entries: list[FixRecord] = []
    own = entry_cls._OWN
    for k in range(count):
        # An entry starts with the delimiter; tolerated: another member when the delimiter is
        # left out (Kalshi omits Symbol on multivariate QuoteRequest entries).
        if j >= n or flat[j] not in tags:
            found = flat[j].decode("latin-1") if j < n else "end of message"
            raise DecodeError(
                f"{what}: declares {count} entries but entry {k + 1} starts with "
                f"{found!r} instead of the delimiter tag {delim.decode()}",
                raw=frame,
                tag=info.tag,
                msg_type=owner._msgtype_of(src),
                reject_reason=REJECT_GROUP_COUNT,
            )
        start = j
        seen = {flat[j]}
        j += 2
        while j < n:
            t = flat[j]
            # a member seen twice (the delimiter included) starts the next entry
            if t not in tags or (t in own and t in seen):
                break
            seen.add(t)
            j += 2
        sub = flat[start:j]
        d = dict(zip(sub[0::2], sub[1::2], strict=True))
        missing = required - d.keys()
        if missing:
            tag = min(int(t) for t in missing)
            raise DecodeError(
                f"{what}: entry {k + 1} lacks required tag {tag}",
                raw=frame,
                tag=tag,
                msg_type=owner._msgtype_of(src),
                reject_reason=REJECT_REQUIRED_TAG_MISSING,
            )
        entry = _new(entry_cls)
        _set(entry, "_src", [frame, d, sub, use_dollars])
        entries.append(entry)
    return tuple(entries)


# ---------------------------------------------------------------------------------------------
# Messages


@attrs.define(frozen=True, slots=True, eq=False, repr=False, kw_only=True)
class Message(FixRecord):
    """Base class of every generated message class of both dialects.

    Attributes:
        extra_fields: tags the dialect does not define, as ``(tag, raw bytes)`` pairs: on a
            decoded message the unknown tags received (kept, never dropped); on a message you
            build, fields appended to the body when it is encoded.
    """

    _extra_fields: tuple[tuple[int, bytes], ...] = attrs.field(default=(), alias="extra_fields")

    MSG_TYPE: ClassVar[str] = ""
    CATEGORY: ClassVar[str] = "app"
    _MSGTYPE_FIELD: ClassVar[bytes] = b""
    _KNOWN: ClassVar[frozenset[bytes]] = frozenset()  # header, body, group and trailer tags
    _GROUP_TAGS: ClassVar[frozenset[bytes]] = frozenset()
    _HEADER_CLS: ClassVar[type[FixRecord]]

    @property
    def extra_fields(self) -> tuple[tuple[int, bytes], ...]:
        """Tags outside the dialect: kept on decode, appended on encode."""
        try:
            return self._extra_fields
        except AttributeError:
            src = self._src
            assert src is not None
            flat = src[2]
            known = self._KNOWN
            value = tuple(
                (int(flat[i]), flat[i + 1]) for i in range(0, len(flat), 2) if flat[i] not in known
            )
            _set(self, "_extra_fields", value)
            return value

    @property
    def raw(self) -> bytes | None:
        """The frame this message was decoded from (None for a message you built)."""
        src = self._src
        return src[0] if src is not None else None

    @property
    def header(self) -> Any:
        """The standard header of a decoded message (None for a message you built)."""
        src = self._src
        if src is None:
            return None
        h = _new(self._HEADER_CLS)
        _set(h, "_src", src)
        return h

    def _what(self) -> str:
        return f"{type(self).__name__} (35={self.MSG_TYPE})"

    def validate(self: M) -> M:
        """Convert every field now and check every rule decode() leaves for later.

        Returns:
            self, for chaining.

        Raises:
            DecodeError: the first problem, naming tag and message, with the raw frame.
        """
        src = self._src
        if src is not None:
            tags = src[2][0::2]
            if len(set(tags)) != len(tags):
                _check_repeats(type(self), src[0], tags)
        FixRecord.validate(self)
        return self


@attrs.define(frozen=True, slots=True, eq=False, repr=False, kw_only=True)
class UnknownMessage(Message):
    """A well-formed frame whose MsgType the dialect does not define.

    Nothing is dropped: every body tag is in `extra_fields`, and `msg_type` says what it was.
    """

    _msg_type: str = attrs.field(default="", alias="msg_type")

    @property
    def msg_type(self) -> str:
        """The MsgType(35) as received."""
        try:
            return self._msg_type
        except AttributeError:
            src = self._src
            assert src is not None
            value: str = src[2][5].decode("latin-1")
            _set(self, "_msg_type", value)
            return value

    def _values(self) -> Iterator[tuple[str, Any]]:
        yield "msg_type", self.msg_type

    def _encode_into(self, out: list[bytes], use_dollars: bool) -> None:
        pass


def _frame_error(
    text: str,
    frame: bytes,
    reason: int | None = None,
    tag: int | None = None,
    offset: int | None = None,
) -> DecodeError:
    return DecodeError(text, raw=frame, reject_reason=reason, tag=tag, offset=offset)


def split_fields(
    frame: bytes, data_tags: dict[bytes, bytes], by_length: bool = False
) -> list[bytes]:
    """Split a frame into the flat list ``[tag, value, tag, value, ...]``.

    Values of Data fields (RawData and any other Length/Data pair) are read by their declared
    length, so they may contain SOH and '='.

    Args:
        frame: one whole frame ending with SOH.
        data_tags: length tag -> data tag, for every Length/Data pair of the dialect.
        by_length: take the careful path even when no '=' appears in a value.

    Returns:
        The flat list (even length).

    Raises:
        DecodeError: a field without '=', or a Data field whose length is wrong.
    """
    if not frame.endswith(SOH):
        raise _frame_error("frame does not end with SOH (0x01)", frame, offset=len(frame))
    if not by_length:
        flat = frame.replace(b"=", SOH).split(SOH)
        # every field adds exactly one '=' and one SOH unless a value holds '=' (or SOH)
        if len(flat) == 2 * frame.count(SOH) + 1:
            del flat[-1]
            return flat
    flat = []
    pos = 0
    n = len(frame)
    pending_len: tuple[bytes, int] | None = None
    while pos < n:
        eq = frame.find(b"=", pos)
        soh = frame.find(SOH, pos)
        if eq < 0 or eq > soh:
            raise _frame_error(
                f"field at byte {pos} has no '=': {frame[pos:soh]!r}",
                frame,
                REJECT_INCORRECT_FORMAT,
                offset=pos,
            )
        tag = frame[pos:eq]
        if pending_len is not None and tag == pending_len[0]:
            end = eq + 1 + pending_len[1]
            if end >= n or frame[end : end + 1] != SOH:
                raise _frame_error(
                    f"data field {tag.decode('latin-1')} at byte {pos}: declared length "
                    f"{pending_len[1]} does not end at a SOH",
                    frame,
                    REJECT_INCORRECT_FORMAT,
                    tag=int(tag) if tag.isdigit() else None,
                    offset=pos,
                )
            flat += (tag, frame[eq + 1 : end])
            pos = end + 1
            pending_len = None
            continue
        value = frame[eq + 1 : soh]
        flat += (tag, value)
        pending_len = None
        data_tag = data_tags.get(tag)
        if data_tag is not None and value.isdigit() and len(value) <= 9:
            pending_len = (data_tag, int(value))
        pos = soh + 1
    return flat


def decode_frame(
    frame: bytes,
    classes: dict[bytes, type[Message]],
    data_tags: dict[bytes, bytes],
    length_tags: frozenset[bytes],
    use_dollars: bool,
    verify: bool,
) -> Message:
    """Decode one frame into the dialect's typed message (see the dialect modules' `decode`)."""
    if verify:
        verify_frame(frame)
    flat = split_fields(frame, data_tags)
    tags = flat[0::2]
    present = set(tags)
    if not present.isdisjoint(length_tags):
        # A Length field before its Data field: the data may hold SOH or '=', so split again,
        # reading the data by its length. (The fields before the data split correctly, so the
        # Length tag is among the tags found even when the data fooled the fast split.)
        flat = split_fields(frame, data_tags, True)
        tags = flat[0::2]
        present = set(tags)
    if len(flat) < 8 or flat[0] != b"8" or flat[2] != b"9" or flat[4] != b"35":
        raise _frame_error(
            "frame must start with 8=, 9=, 35=", frame, REJECT_INCORRECT_FORMAT, offset=0
        )
    mt = flat[5]
    cls = classes.get(mt)
    if cls is None:
        cls = classes[b""]
    if not cls._REQUIRED <= present:
        tag = min(int(t) for t in cls._REQUIRED - present)
        raise DecodeError(
            f"{cls.__name__} (35={mt.decode('latin-1')}): required tag {tag} is missing",
            raw=frame,
            msg_type=mt.decode("latin-1"),
            tag=tag,
            reject_reason=REJECT_REQUIRED_TAG_MISSING,
            offset=None,
        )
    if not present <= cls._KNOWN:
        for t in present - cls._KNOWN:
            # a tag is 1-9 digits without a leading zero ("055" is not tag 55)
            if not t.isdigit() or len(t) > 9 or t[:1] == b"0":
                raise _frame_error(
                    f"invalid tag number {t!r}",
                    frame,
                    REJECT_INVALID_TAG_NUMBER,
                    offset=_offset_of([frame], t),
                )
    # Tags may repeat inside repeating groups only. When a group is present the exact check (a
    # Python-level scan) waits for validate(); without groups it costs one comparison here.
    if len(present) != len(tags) and not (present & cls._GROUP_TAGS):
        _check_repeats(cls, frame, tags)
    return _finish(cls, frame, flat, use_dollars)


def _check_repeats(cls: type[Message], frame: bytes, tags: list[bytes]) -> None:
    seen: set[bytes] = set()
    group_tags = cls._GROUP_TAGS
    for t in tags:
        if t in seen and t not in group_tags:
            mt = cls._msgtype_of([frame])
            raise DecodeError(
                f"{cls.__name__} (35={mt}): tag {t.decode('latin-1')} appears more than once",
                raw=frame,
                msg_type=mt,
                tag=int(t) if t.isdigit() else None,
                reject_reason=REJECT_TAG_REPEATED,
            )
        seen.add(t)


def _finish(cls: type[Message], frame: bytes, flat: list[bytes], use_dollars: bool) -> Message:
    msg = _new(cls)
    _set(msg, "_src", [frame, None, flat, use_dollars])
    return msg


def verify_frame(frame: bytes) -> None:
    """Check BeginString, BodyLength and CheckSum of one whole frame.

    Args:
        frame: the frame, from ``8=`` to the SOH after ``10=ddd``.

    Raises:
        DecodeError: naming the field that is wrong.
    """
    prefix = b"8=" + BEGIN_STRING + SOH + b"9="
    if not frame.startswith(prefix):
        raise _frame_error(f"frame does not start with {prefix!r}", frame, offset=0)
    soh = frame.find(SOH, len(prefix))
    length_raw = frame[len(prefix) : soh]
    if soh < 0 or not length_raw.isdigit() or len(length_raw) > 9:
        raise _frame_error(
            f"BodyLength(9) is not a number: {length_raw!r}", frame, tag=9, offset=len(prefix)
        )
    body_end = soh + 1 + int(length_raw)
    trailer = frame[body_end:]
    if len(trailer) != 7 or not trailer.startswith(b"10=") or not trailer.endswith(SOH):
        raise _frame_error(
            f"BodyLength(9) is {int(length_raw)} but the body is not followed by CheckSum(10) "
            f"(frame is {len(frame)} bytes)",
            frame,
            tag=9,
            offset=len(prefix),
        )
    expected = checksum(memoryview(frame)[:body_end])
    got = trailer[3:6]
    if not got.isdigit() or int(got) != expected:
        raise _frame_error(
            f"CheckSum(10) is {got.decode('latin-1')}, computed {expected:03d}",
            frame,
            tag=10,
            offset=body_end,
        )


def finish_frame(body: list[bytes]) -> bytes:
    """Prefix BeginString and BodyLength, append CheckSum: the body list starts with 35=."""
    joined = b"".join(body)
    head = b"8=FIXT.1.1\x019=%d\x01" % len(joined)
    msg = head + joined
    return msg + b"10=%03d\x01" % checksum(msg)


def encode_message(msg: Message, header: FixRecord, use_dollars: bool) -> bytes:
    """Encode a message with its header (see the dialect modules' `encode`)."""
    prefix = getattr(msg, "_MSGTYPE_FIELD", b"")
    if prefix:  # a generated message class: its "35=...|" is precomputed
        out = [prefix]
        header._encode_into(out, use_dollars)
        msg._encode_into(out, use_dollars)
        extra = msg.extra_fields
        if extra:
            for tag, value in extra:
                out.append(_extra_field(tag, value, msg.MSG_TYPE))
        return finish_frame(out)
    if not isinstance(msg, Message) or (isinstance(msg, UnknownMessage) and not msg.msg_type):
        raise EncodeError(f"cannot encode {type(msg).__name__}: not a message of this dialect")
    mt = msg.msg_type if isinstance(msg, UnknownMessage) else msg.MSG_TYPE
    try:
        mt_bytes = mt.encode("latin-1")  # an UnknownMessage keeps the MsgType bytes it came with
    except UnicodeEncodeError:
        raise EncodeError(f"MsgType {mt!r} cannot be written on the wire", msg_type=mt) from None
    if not mt_bytes or SOH in mt_bytes or b"=" in mt_bytes:
        raise EncodeError(f"MsgType {mt!r} cannot be written on the wire", msg_type=mt)
    out = [b"35=" + mt_bytes + SOH]
    header._encode_into(out, use_dollars)
    msg._encode_into(out, use_dollars)
    for tag, value in msg.extra_fields:
        out.append(_extra_field(tag, value, mt))
    return finish_frame(out)


def _extra_field(tag: int, value: bytes | str, mt: str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(tag, int) or tag <= 0:
        raise EncodeError(f"extra field tag {tag!r} must be a positive int", msg_type=mt)
    if SOH in value:
        raise EncodeError(f"extra field {tag}: value contains SOH", msg_type=mt, tag=tag)
    return b"%d=%s\x01" % (tag, value)


def encode_group(
    out: list[bytes], key: bytes, entries: Sequence[FixRecord], use_dollars: bool, name: str
) -> None:
    """Append a repeating group: the count field, then each entry."""
    if not isinstance(entries, (tuple, list)):
        raise EncodeError(
            f"{name}: expected a tuple of group entries, got {type(entries).__name__}"
        )
    out.append(key + b"=%d\x01" % len(entries))
    for i, e in enumerate(entries, 1):
        values = dict(e._values())
        if all(v is None for v in values.values()):
            raise EncodeError(f"{name}: entry {i} has no field set")
        delimiter = e._MEMBERS[0]
        if len(entries) > 1 and values[delimiter.attr] is None:
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
