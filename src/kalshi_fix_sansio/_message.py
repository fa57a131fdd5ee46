"""Runtime behind the generated message classes: lazy typed decode and encode.

A decoded message keeps the frame, a tag -> raw-value dict and the flat (tag, value, ...) list;
each typed attribute is converted on first access and cached. That keeps `decode()` close to the
cost of splitting the frame while still checking what a FIX engine must check at once: the
header layout, the MsgType, required tags and duplicated tags. `Message.validate()` forces every
conversion when a caller wants all errors up front.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, NamedTuple, TypeVar

import attrs

from ._values import enc_int, enc_str
from .errors import DecodeError, EncodeError
from .framing import checksum
from .redaction import SECRET_TAGS

SOH = b"\x01"
BEGIN_STRING = b"FIXT.1.1"
_new = object.__new__
_set = object.__setattr__

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
            offset = _offset_of([frame], str(self.tag).encode())
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


# [frame, tag -> raw value (built on first access), flat [tag, value, ...], use_dollars,
#  defects: a list shared by a message and its group entries when decoded tolerantly, else None]
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
                text = f"{self._what()}: {name}({tag}) has an invalid value: {exc}"
                defects = src[4]
                if defects is None:
                    raise DecodeError(
                        text,
                        raw=src[0],
                        msg_type=self._msgtype_of(src),
                        tag=tag,
                        offset=_offset_of(src, key),
                        reject_reason=REJECT_INCORRECT_FORMAT,
                    ) from None
                # tolerant: the attribute reads None, the defect keeps the raw value
                _add(defects, Defect(tag, REJECT_INCORRECT_FORMAT, text, raw))
                value = None
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
            parts.append(f"extra_fields={_redacted(extra)!r}")
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
                # raises the DecodeError that names the field (or, tolerant, records it)
                self._load(info, wire)
                continue
            _set(self, slot, value)
        for ginfo in self._GROUPS:
            self._load_group(ginfo)

    def _check_into(self, defects: list[Defect]) -> None:
        """Tolerant `validate`: convert every field, list what is wrong instead of raising."""
        src = self._src
        if src is None:
            return
        self._load_all()
        enum_keys = _enum_keys(type(self))
        if enum_keys:
            wire = _wire(src)
            for key in enum_keys & wire.keys():
                info = self._BY_KEY[key]
                value = getattr(self, info.slot)
                if value is not None and not isinstance(value, enum.Enum):
                    _add(
                        defects,
                        Defect(
                            info.tag,
                            REJECT_VALUE_OUT_OF_RANGE,
                            f"{self._what()}: {info.name}({info.tag}) value {value!r} is not one "
                            "the spec lists",
                            wire[key],
                        )
                    )
        for ginfo in self._GROUPS:
            entries = getattr(self, ginfo.attr)
            if entries:
                for entry in entries:
                    entry._check_into(defects)

    def validate(self: R) -> R:
        """Convert every field now (decoded instances convert lazily).

        A message decoded with ``tolerant=True`` records problems instead of raising them: use
        `Message.check` there.

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
            out["extra_fields"] = [[tag, val] for tag, val in _redacted(extra)]
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


def _redacted(extra: tuple[tuple[int, bytes], ...]) -> tuple[tuple[int, bytes], ...]:
    return tuple((tag, b"<redacted>" if tag in SECRET_TAGS else value) for tag, value in extra)


def _offset_of(src: Src, key: bytes) -> int | None:
    pos = src[0].find(SOH + key + b"=")
    return pos + 1 if pos >= 0 else (0 if src[0].startswith(key + b"=") else None)


def _parse_group(owner: FixRecord, info: GroupInfo, src: Src, raw: bytes) -> tuple[FixRecord, ...]:
    frame, _, flat, use_dollars, defects = src
    n = len(flat)
    # bounded before use: no message holds more entries than it has fields
    count = int(raw) if raw.isdigit() and len(raw) <= 9 else -1
    if count < 0 or count > n // 2:
        problem = "is not a number" if count < 0 else "is more than the message can hold"
        error = _group_error(owner, info, src, f"count {raw!r} {problem}", info.tag)
        if defects is None:
            raise error
        # tolerant: read the entries that are there
        _add(defects, Defect(info.tag, REJECT_INCORRECT_FORMAT, str(error), raw))
        count = n
    # find the count tag at an even (tag) position of the flat list
    i = 0
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
            if count == n:  # tolerant read of a group whose count was unreadable
                break
            found = flat[j].decode("latin-1") if j < n else "end of message"
            error = _group_error(
                owner,
                info,
                src,
                f"declares {count} entries but entry {k + 1} starts with {found!r} instead of "
                f"the delimiter tag {delim.decode()}",
                info.tag,
                REJECT_GROUP_COUNT,
            )
            if defects is None:
                raise error
            _add(defects, Defect(info.tag, REJECT_GROUP_COUNT, str(error), raw))
            break
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
            if defects is None:
                tag = min(int(t) for t in missing)
                raise _group_error(
                    owner,
                    info,
                    src,
                    f"entry {k + 1} lacks required tag {tag}",
                    tag,
                    REJECT_REQUIRED_TAG_MISSING,
                )
            for tag in sorted(int(t) for t in missing):
                text = f"{owner._what()}: group {info.name}({info.tag}) entry {k + 1} lacks "
                _add(defects, Defect(tag, REJECT_REQUIRED_TAG_MISSING, f"{text}required tag {tag}"))
        entry = _new(entry_cls)
        _set(entry, "_src", [frame, d, sub, use_dollars, defects])
        entries.append(entry)
    return tuple(entries)


def _add(defects: list[Defect], defect: Defect) -> None:
    """Record a defect once (checking a message twice finds the same ones again)."""
    if defect not in defects:
        defects.append(defect)


def _group_error(
    owner: FixRecord,
    info: GroupInfo,
    src: Src,
    problem: str,
    tag: int,
    reason: int = REJECT_INCORRECT_FORMAT,
) -> DecodeError:
    """The error for a repeating-group problem (its text built only when there is one)."""
    return DecodeError(
        f"{owner._what()}: group {info.name}({info.tag}): {problem}",
        raw=src[0],
        tag=tag,
        msg_type=owner._msgtype_of(src),
        reject_reason=reason,
    )


def _enum_keys(cls: type[FixRecord]) -> frozenset[bytes]:
    """The tags of a class's enum fields (their decoders carry ``enum_cls``), cached per class."""
    cached: frozenset[bytes] | None = cls.__dict__.get("_ENUM_KEYS_CACHE")
    if cached is None:
        cached = frozenset(
            info.key for info in cls._FIELDS if getattr(info.dec, "enum_cls", None) is not None
        )
        type.__setattr__(cls, "_ENUM_KEYS_CACHE", cached)
    return cached


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
            # an invalid tag number (tolerant decode only) is not a field: its defect keeps it
            value = tuple(
                (int(flat[i]), flat[i + 1])
                for i in range(0, len(flat), 2)
                if flat[i] not in known and _valid_tag(flat[i])
            )
            _set(self, "_extra_fields", value)
            return value

    @property
    def defects(self) -> tuple[Defect, ...]:
        """What is wrong with a message decoded with ``tolerant=True`` (empty when nothing is).

        Lists the structural problems found by the decode (missing or undefined tags, ...) and
        the values found invalid so far; `check` converts every field and lists them all. A
        message you built, or one decoded strictly, has none.
        """
        src = self._src
        if src is None or src[4] is None:
            return ()
        return tuple(src[4])

    def check(self) -> tuple[Defect, ...]:
        """Convert every field now and list every problem instead of raising the first one.

        A field whose value does not convert reads None afterwards (its `Defect` keeps the raw
        bytes); an enum value the spec does not list is kept as the plain value and named. The
        header is checked too. After this the message reads tolerantly: no attribute raises.

        Returns:
            Every defect of the message (also in `defects` from now on).
        """
        src = self._src
        if src is None:
            return ()
        defects = src[4]
        if defects is None:
            defects = src[4] = []
        tags = src[2][0::2]
        if self._GROUPS and len(set(tags)) != len(tags):
            for d in _repeats(type(self), src[0], tags):
                _add(defects, d)
        self._check_into(defects)
        self.header._check_into(defects)
        return tuple(defects)

    def raw_value(self, tag: int) -> bytes | None:
        """The raw bytes of a tag's first occurrence as received (None when absent or built).

        Args:
            tag: the tag number.

        Returns:
            The value bytes, unconverted.
        """
        src = self._src
        if src is None:
            return None
        key = str(tag).encode()
        flat = src[2]
        for i in range(0, len(flat), 2):
            if flat[i] == key:
                value: bytes = flat[i + 1]
                return value
        return None

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
            self.header._load_all()
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


# Every byte except '=' and SOH (deleted by translate to leave the separators in order), and the
# separator sequence of a well-formed frame of up to 65,536 fields (longer ones split carefully).
_NOT_SEPARATOR = bytes(b for b in range(256) if b not in b"=\x01")
_SEPARATORS = b"=\x01" * 65536


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
        # The fast split (every '=' and SOH is a separator) is right only when the separators
        # alternate '=', SOH, '=', SOH ...: every field holds exactly one '='. Counting them is
        # not enough: a field without '=' next to a value holding '=' ("1234|58=1=2|") balances
        # the counts and would be read as tags 1234 and 1. Anything else takes the careful path.
        if _SEPARATORS.startswith(frame.translate(None, _NOT_SEPARATOR)):
            flat = frame.replace(b"=", SOH).split(SOH)
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
    tolerant: bool = False,
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
    if tolerant:
        defects = _structural_defects(cls, frame, flat, tags, present, cls is classes[b""])
        msg = _new(cls)
        _set(msg, "_src", [frame, None, flat, use_dollars, defects])
        return msg
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
            if not _valid_tag(t):
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


def _valid_tag(t: bytes) -> bool:
    """A tag is 1-9 digits without a leading zero ("055" is not tag 55)."""
    return t.isdigit() and len(t) <= 9 and t[:1] != b"0"


def _structural_defects(
    cls: type[Message],
    frame: bytes,
    flat: list[bytes],
    tags: list[bytes],
    present: set[bytes],
    unknown: bool,
) -> list[Defect]:
    """What a tolerant decode finds without converting values (cheap when nothing is wrong)."""
    header = present & _spec_tags()[1]
    n = len(header)
    if (
        not unknown
        and cls._REQUIRED <= present
        and present <= cls._KNOWN
        and (len(present) == len(tags) or present & cls._GROUP_TAGS)
        and b"=\x01" not in frame
        and header.issuperset(tags[3 : 3 + n])
    ):
        return []  # the common case, in set operations only
    defects: list[Defect] = []
    what = f"{cls.__name__} (35={flat[5].decode('latin-1')})"
    if unknown:
        defects.append(
            Defect(
                35,
                REJECT_INVALID_MSGTYPE,
                f"MsgType(35) {flat[5].decode('latin-1')!r} is not defined by the spec",
                flat[5],
            )
        )
    if not cls._REQUIRED <= present:
        for tag in sorted(int(t) for t in cls._REQUIRED - present):
            defects.append(
                Defect(tag, REJECT_REQUIRED_TAG_MISSING, f"{what}: required tag {tag} is missing")
            )
    if not present <= cls._KNOWN:
        wire = dict(zip(tags, flat[1::2], strict=True))
        for t in sorted(present - cls._KNOWN):
            value: bytes | None = wire[t]
            if _valid_tag(t) and int(t) in SECRET_TAGS:
                value = None  # never copied where it could be shown: raw_value() has it
            if not _valid_tag(t):
                text = f"{what}: invalid tag number {t.decode('latin-1')!r}"
                defects.append(Defect(None, REJECT_INVALID_TAG_NUMBER, text, value))
            elif unknown:
                continue  # an unknown message's body is all in extra_fields: nothing to name
            elif int(t) not in _spec_tags()[0]:
                text = f"{what}: tag {int(t)} is not defined by the spec"
                defects.append(Defect(int(t), REJECT_INVALID_TAG_NUMBER, text, value))
            else:
                text = f"{what}: tag {int(t)} is not defined for this message type"
                defects.append(Defect(int(t), REJECT_TAG_NOT_DEFINED_FOR_MSGTYPE, text, value))
    if len(present) != len(tags) and not (present & cls._GROUP_TAGS):
        defects.extend(_repeats(cls, frame, tags))
    if b"=\x01" in frame:  # a tag without a value somewhere (or '=' ending a data value)
        for i in range(7, len(flat), 2):
            if not flat[i]:
                t = flat[i - 1]
                text = f"{what}: tag {t.decode('latin-1')} has no value"
                no_value = int(t) if _valid_tag(t) else None
                defects.append(Defect(no_value, REJECT_TAG_NO_VALUE, text, b""))
    if n and not header.issuperset(tags[3 : 3 + n]):
        # a header field after the first body field
        i = 3
        while i < len(tags) and tags[i] in header:
            i += 1
        for t in tags[i:]:
            if t in header:
                text = f"{what}: header field {int(t)} comes after the body"
                defects.append(Defect(int(t), REJECT_TAG_ORDER, text))
                break
    return defects


def _repeats(cls: type[Message], frame: bytes, tags: list[bytes]) -> list[Defect]:
    out: list[Defect] = []
    try:
        _check_repeats(cls, frame, tags)
    except DecodeError as exc:
        out.append(Defect(exc.tag, REJECT_TAG_REPEATED, str(exc)))
    return out


_SPEC_TAGS: tuple[frozenset[int], frozenset[bytes]] | None = None


def _spec_tags() -> tuple[frozenset[int], frozenset[bytes]]:
    """Every tag the spec defines (either product), and the header's own fields (no 8, 9, 35).

    Loaded on first use: the generated modules import this one.
    """
    global _SPEC_TAGS
    if _SPEC_TAGS is None:
        from ._generated.common import Header
        from ._generated.tables import FIELDS

        _SPEC_TAGS = (frozenset(FIELDS), frozenset(info.key for info in Header._FIELDS))
    return _SPEC_TAGS


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
    _set(msg, "_src", [frame, None, flat, use_dollars, None])
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


class EncodeSpec(NamedTuple):
    """What `encode_message` checks a message against: one dialect's tables."""

    messages: dict[str, type[Message]]  # MsgType -> class
    header: type[FixRecord]
    rfq_classes: frozenset[type[Message]]  # messages whose BidPx/OfferPx follow `rfq_units`
    data_tags: dict[bytes, bytes]  # Length tag -> Data tag


_FRAMING_TAGS = frozenset({8, 9, 10, 35})
_MAX_TAG = 999_999_999  # a tag is 1-9 digits


def encode_message(
    msg: Message,
    header: FixRecord,
    use_dollars: bool,
    rfq_dollars: bool = False,
    spec: EncodeSpec | None = None,
) -> bytes:
    """Encode a message with its header (see the dialect modules' `encode`).

    Args:
        msg: the message.
        header: its standard header.
        use_dollars: session prices in dollars (UseDollars(21005)=Y).
        rfq_dollars: BidPx/OfferPx of the RFQ messages (``spec.rfq_classes``) in dollars.
        spec: the dialect's tables: the message and header must be its classes.

    Returns:
        The frame.

    Raises:
        EncodeError: and nothing else, whatever the message holds: it names the message and,
            where one is at fault, the field.
    """
    try:
        return _encode_message(msg, header, use_dollars, rfq_dollars, spec)
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


def _encode_message(
    msg: Message,
    header: FixRecord,
    use_dollars: bool,
    rfq_dollars: bool,
    spec: EncodeSpec | None,
) -> bytes:
    cls = msg.__class__
    prefix = getattr(cls, "_MSGTYPE_FIELD", b"")
    if spec is not None:
        if spec.messages.get(getattr(cls, "MSG_TYPE", "")) is not cls:
            _check_class(msg, spec)
        if header.__class__ is not spec.header and not isinstance(header, spec.header):
            raise EncodeError(
                f"header must be a {spec.header.__name__}, got {type(header).__name__}",
                msg_type=getattr(cls, "MSG_TYPE", None),
            )
        if rfq_dollars is not use_dollars and cls in spec.rfq_classes:
            use_dollars = rfq_dollars  # the message's only switchable prices are BidPx/OfferPx
    elif not isinstance(header, FixRecord) or isinstance(header, Message):
        raise EncodeError(f"header must be the standard Header, got {type(header).__name__}")
    if prefix:  # a generated message class: its "35=...|" is precomputed
        mt: str = msg.MSG_TYPE
        out = [prefix]
    else:
        if not isinstance(msg, Message) or (isinstance(msg, UnknownMessage) and not msg.msg_type):
            raise EncodeError(f"cannot encode {type(msg).__name__}: not a message of this dialect")
        mt = msg.msg_type if isinstance(msg, UnknownMessage) else msg.MSG_TYPE
        try:
            mt_bytes = mt.encode("latin-1")  # an UnknownMessage keeps the MsgType bytes it had
        except UnicodeEncodeError:
            raise EncodeError(f"MsgType {mt!r} cannot be written on the wire", msg_type=mt) from None
        if not mt_bytes or SOH in mt_bytes or b"=" in mt_bytes:
            raise EncodeError(f"MsgType {mt!r} cannot be written on the wire", msg_type=mt)
        if spec is not None and mt in spec.messages:
            raise EncodeError(
                f"MsgType {mt!r} is {spec.messages[mt].__name__} in this dialect: build that "
                "class (an unknown message of a known type would decode as a different one)",
                msg_type=mt,
            )
        out = [b"35=" + mt_bytes + SOH]
    header._encode_into(out, use_dollars)
    seq = header._msg_seq_num  # type: ignore[attr-defined]  # set: the header encoder read it
    if seq < 1:  # an int: the header encoder checked it
        raise EncodeError(f"MsgSeqNum(34) must be 1 or more, got {seq}", msg_type=mt, tag=34)
    msg._encode_into(out, use_dollars)
    extra = msg.extra_fields
    if extra:
        _extra_fields(out, extra, msg, mt, spec.data_tags if spec is not None else {})
    return finish_frame(out)


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
            raise EncodeError(f"{what}[{i}]: expected a (tag, value) pair, got {item!r}", msg_type=mt)
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
            if isinstance(entries, (tuple, list)):
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
    if not isinstance(entries, (tuple, list)):
        raise EncodeError(
            f"{name}: expected a tuple of group entries, got {type(entries).__name__}"
        )
    out.append(key + b"=%d\x01" % len(entries))
    for i, e in enumerate(entries, 1):
        if entry_cls is not None and not isinstance(e, entry_cls):
            raise EncodeError(
                f"{name}: entry {i} must be a {entry_cls.__name__}, got {type(e).__name__}"
            )
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
