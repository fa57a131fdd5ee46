"""Runtime behind the generated message classes: lazy typed records and their defects.

Reading a frame into one of these is `_decode`'s work, writing one `_encode`'s; where their raw
values come from (tag dicts, groups, the header walk) is `_wire`'s, and the field-level
vocabulary (`FieldInfo`, `GroupInfo`, `Defect`) is in `_fields`.

A decoded message keeps its `_wire.WireSource` (the frame, the flat (tag, value, ...) list, a tag
-> raw-value dict built on first need); each typed attribute is converted on first access and
cached. Where each value comes from (the generated fast path or the careful path) is told in
`_wire`. That keeps `decode()` close to the
cost of splitting the frame while still checking what a FIX engine must check at once: the
header layout, the MsgType, required tags and duplicated tags. `Message.validate()` forces every
conversion when a caller wants all errors up front.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

import attrs

from ._fields import (
    _CONVERT_ERRORS,
    _LAZY,
    _WALK_ERRORS,
    REJECT_INCORRECT_FORMAT,
    REJECT_TAG_REPEATED,
    REJECT_VALUE_OUT_OF_RANGE,
    Conv,
    Defect,
    FieldInfo,
    GroupInfo,
    _add,
    _new,
    _offset_of,
    _set,
)
from ._valuecheck import layout_matcher
from ._wire import (
    Entries,
    WireSource,
    _msgtype_in,
    _walk_header,
    body_places,
    header_places,
    load_group,
    record_raw,
    record_wire,
)
from .errors import DecodeError
from .redaction import SECRET_TAGS

R = TypeVar("R", bound="FixRecord")

# header tag -> its index among a remembered layout's header places (`WireSource.header_at`),
# filled by the first codec made (`_decode.Codec`: the header class exists by then)
HEADER_PLACES: dict[bytes, int] = {}
M = TypeVar("M", bound="Message")


@attrs.define(slots=True, eq=False, repr=False, kw_only=True)
class FixRecord:
    """Base of generated messages, group entries and the header.

    Typed attributes are properties; decoded instances convert the wire value on first access.
    """

    # decoded: the message's raw source (shared by its header and group entries); built: None
    _src: WireSource | None = attrs.field(default=None, init=False)
    # a decoded group entry: its own fields, a span of the source's flat list; else None
    _flat: list[bytes] | None = attrs.field(default=None, init=False)
    # decoded: the next field read converts every field (`_fill`); a message and its header
    # start False (their first read converts one field: a handler often reads only a few)
    # None once every plain field is converted (a filled record, a walked header or entry)
    _eager: bool | None = attrs.field(default=True, init=False)

    _FIELDS: ClassVar[tuple[FieldInfo, ...]] = ()
    _GROUPS: ClassVar[tuple[GroupInfo, ...]] = ()
    _MEMBERS: ClassVar[tuple[FieldInfo | GroupInfo, ...]] = ()  # wire order
    _REQUIRED: ClassVar[frozenset[bytes]] = frozenset()
    _TAGS: ClassVar[frozenset[bytes]] = frozenset()  # every tag an instance may hold
    _DELIMITER: ClassVar[bytes] = b""
    _WALKED: ClassVar[bool] = False  # the header: filled by its generated walk first
    _OWN: ClassVar[frozenset[bytes]] = frozenset()  # entries: direct member tags
    _BY_KEY: ClassVar[dict[bytes, FieldInfo]] = {}  # tag bytes -> field (plain fields only)
    _CONV: ClassVar[Conv] = ()  # plain fields' converters (cents prices in cents)
    _CONV_D: ClassVar[Conv] = ()  # the same when the message's prices are in dollars
    # the order of a remembered layout's places for `_fill_at` (`_wire.layout_places`): the
    # indexes in `_FIELDS` of the required fields, then of each run of optional ones
    _AT_PLAN: ClassVar[tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]] = ((), ())

    # -- lazy loading -------------------------------------------------------------------------

    def _blank(self) -> None:
        """Set every member slot to `_LAZY` (generated per class): a decoded record's reads
        test for it and convert on demand."""

    def _fill(self) -> list[FieldInfo] | None:
        """Convert every plain field of a decoded instance at once (absent ones read None).

        A value that does not convert is left `_LAZY`, so that reading it takes `_load`, which
        raises the `DecodeError` naming it (or, tolerant, records its defect): converting the
        other fields early never raises or records anything a lazy read would not.

        Returns:
            The fields whose values did not convert, or None.
        """
        src = self._src
        if src is None:  # pragma: no cover - constructed instances always have their slots set
            return None
        layout: Any = src.layout
        if layout is not None and self._flat is None:  # remembered (never a careful decode)
            if type(self) is src.cls:
                # the message: each field from its place, and each group absent from the frame
                # read None (`_fill_at`)
                at = layout[4]
                if at is None:
                    at = body_places(src)
                if at:
                    try:
                        self._fill_at(src.flat, at, src.dollars)
                        self._eager = None
                        return None
                    except _CONVERT_ERRORS:
                        pass  # one does not convert: the tag-dict path below leaves it lazy
        careful = src.careful
        if self._WALKED and not careful and _walk_header(self):
            return None
        groups = self._GROUPS
        wire = record_wire(self)
        if groups:  # a group absent from the frame reads None without a lookup (or exception)
            present = src.present if self._flat is None else wire  # a message's tags; an entry's
            for ginfo in groups:
                if ginfo.key not in present:
                    _set(self, ginfo.slot, None)
        if not careful:
            try:  # the fast path: the generated straight-line converters
                self._fast_fill(wire, src.dollars)
                self._eager = None
                return None
            except _CONVERT_ERRORS:
                pass  # one does not: the careful loop below leaves it lazy for `_load` to name
        get = wire.get
        bad = None
        for slot, key, dec, info in self._CONV_D if src.dollars else self._CONV:
            raw = get(key)
            if raw is None:
                _set(self, slot, None)
                continue
            try:
                _set(self, slot, dec(raw))
            except _CONVERT_ERRORS:
                if bad is None:
                    bad = [info]
                else:
                    bad.append(info)
        return bad

    def _fast_fill(self, wire: dict[bytes, bytes], dollars: bool) -> None:
        """Convert every plain field from ``wire`` (generated per class, straight-line).

        Raises:
            ValueError, UnicodeDecodeError, ArithmeticError: a value does not convert.
        """
        for slot, key, dec, _info in self._CONV_D if dollars else self._CONV:
            raw = wire.get(key)
            _set(self, slot, None if raw is None else dec(raw))

    def _walk(self, flat: list[bytes], i: int, dollars: bool) -> int:
        """Read this group entry's members from ``flat[i:]`` in spec order (generated per entry
        class without nested groups).

        Returns:
            The position after the entry, or -1: no fast walk (the careful parser reads it).

        Raises:
            ValueError, UnicodeDecodeError, ArithmeticError: a value does not convert.
            IndexError: the frame ends inside the entry (a frame always ends with CheckSum, so
                only a malformed one does).
        """
        return -1

    def _fill_at(self, flat: list[bytes], at: tuple[Any, ...], dollars: bool) -> None:
        """Convert every plain field from its place in ``flat`` (``at``: a remembered layout's
        places in the order of `_AT_PLAN`, see `_wire.layout_places`: the layout's eighth
        member for the header, `_wire.body_places` for a message; generated per class), and
        set each group absent from the frame to None.

        Raises:
            ValueError, UnicodeDecodeError, ArithmeticError: a value does not convert.
        """
        raise NotImplementedError  # pragma: no cover - generated for every class it is called on

    @staticmethod
    def _walk_entries(
        flat: list[bytes], j: int, count: int, src: WireSource
    ) -> tuple[list[FixRecord], int] | None:
        """Read ``count`` entries of this class from ``flat[j:]`` (generated per entry class
        without nested groups, see `_flat_entries`).

        Returns:
            The entries and the position after the last, or None: no fast walk.

        Raises:
            ValueError, UnicodeDecodeError, ArithmeticError: a value does not convert.
            IndexError: the frame ends inside an entry.
        """
        return None

    @staticmethod
    def _walk_one(flat: list[bytes], j: int, src: WireSource) -> FixRecord | None:
        """`_walk_entries` for one entry, without its list (raising as it does): the entry (its
        span, ``_flat``, says where it ends), or None: no fast walk."""
        return None

    def _get(self, info: FieldInfo) -> Any:
        """A field read for the first time: the first of a message converts only itself, any
        later one (and any of a group entry) converts every field of the record."""
        if self._eager is False:  # `_load`'s common case, inline: a handler's first read
            self._eager = True  # (a message or its header: their source is the message's)
            src: Any = self._src
            _attr, slot, _tag, key, _name, dec, dec_dollars, _secret = info
            at = src.header_at
            if at is None:
                raw = src.raw(key)
            elif type(self) is not src.cls:
                # the header (a message and its header start False, an entry never does): the
                # field where the layout has it
                i = at[HEADER_PLACES[key]]
                raw = src.flat[i] if i > 0 else None
            else:  # the message of a remembered layout: `WireSource.raw` without its call
                where = src.layout[5]
                groups: frozenset[bytes] = src.cls._GROUP_TAGS  # type: ignore[attr-defined]
                if where is not None and key not in groups:
                    i = where.get(key, -1)
                    raw = src.flat[i + 1] if i >= 0 else None
                else:
                    raw = src.raw(key)
            if raw is None:
                _set(self, slot, None)
                return None
            if dec_dollars is not None and src.dollars:
                dec = dec_dollars
            try:
                value = dec(raw)
            except (ValueError, UnicodeDecodeError, ArithmeticError):
                return self._load(info)  # names the defect (or, tolerant, records it)
            _set(self, slot, value)
            return value
        self._fill()
        value = getattr(self, info.slot)
        if value is _LAZY:  # it did not convert: `_load` names why (or records it)
            return self._load(info)
        return value

    def _load(self, info: FieldInfo, wire: dict[bytes, bytes] | None = None) -> Any:
        src = self._src
        if src is None:  # pragma: no cover - constructed instances always have their slots set
            raise AttributeError(info.attr)
        _attr, slot, tag, key, name, dec, dec_dollars, _secret = info
        raw = wire.get(key) if wire is not None else record_raw(self, key)
        if raw is None:
            value = None
        else:
            if src.dollars and dec_dollars is not None:
                dec = dec_dollars
            try:
                value = dec(raw)
            except (ValueError, UnicodeDecodeError, ArithmeticError) as exc:
                text = f"{self._what()}: {name}({tag}) has an invalid value: {exc}"
                defects = src.defects
                if defects is None:
                    raise DecodeError(
                        text,
                        raw=src.frame,
                        msg_type=src.msg_type(),
                        tag=tag,
                        offset=_offset_of(src.frame, key),
                        reject_reason=REJECT_INCORRECT_FORMAT,
                    ) from None
                # tolerant: the attribute reads None, the defect keeps the raw value
                _add(defects, Defect(tag, REJECT_INCORRECT_FORMAT, text, raw))
                value = None
        _set(self, slot, value)
        return value

    # a group read for the first time (its slot `_LAZY`: a decoded record's): its entries, or
    # None when it is absent, kept in its slot
    _load_group = load_group

    @classmethod
    def _what(cls) -> str:
        return cls.__name__

    def _materialize(self) -> None:
        """Load every lazy slot, absent fields included (encoding reads slots directly)."""
        src = self._src
        if src is None:
            return
        if self._eager is not None:
            bad = self._fill()
            if bad is not None:
                wire = record_wire(self)
                for info in bad:
                    self._load(info, wire)
        self._load_groups()

    def _load_groups(self) -> None:
        """Parse every group now, entries typed, in member order (one read keeps its entries):
        what a group's parse finds wrong comes before what the checks after it find."""
        for ginfo in self._GROUPS:
            value = getattr(self, ginfo.slot)
            if value is _LAZY:
                value = self._load_group(ginfo)
            if value.__class__ is Entries:
                value.as_tuple()

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
        bad = self._fill() if self._eager is not None else None
        if bad is not None:
            # raises the DecodeError that names the first bad field in wire order (or, tolerant,
            # records each)
            wire = record_wire(self)
            order = {key: i for i, key in enumerate(wire)}
            for info in sorted(bad, key=lambda info: order[info.key]):
                self._load(info, wire)
        self._load_groups()

    def _check_into(self, defects: list[Defect]) -> None:
        """Tolerant `validate`: convert every field, list what is wrong instead of raising."""
        src = self._src
        if src is None:
            return
        if self._eager is not None or self._GROUPS:  # else every field is converted already
            self._load_all()
        fields, read, kinds, _whole = _enum_check(type(self))
        # every slot is set now (None when absent); the enum values in one step, by their types
        if fields and not kinds.issuperset(map(type, read(self))):
            for info in fields:
                value = getattr(self, info.slot)
                if value is not None and not isinstance(value, enum.Enum):
                    _add(
                        defects,
                        Defect(
                            info.tag,
                            REJECT_VALUE_OUT_OF_RANGE,
                            f"{self._what()}: {info.name}({info.tag}) value {value!r} is not "
                            "one the spec lists",
                            record_wire(self).get(info.key),
                        ),
                    )
        for ginfo in self._GROUPS:
            entries = getattr(self, ginfo.slot)  # loaded above: None, `Entries` or a tuple
            if entries.__class__ is Entries:
                entries = entries.as_tuple()
            if entries:
                _check_entries(entries, ginfo.entry, defects)

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
            elif isinstance(value, (tuple, Entries)):
                out[name] = [e.to_dict() for e in value]
            else:
                out[name] = value
        extra = _extra(self)
        if extra:
            out["extra_fields"] = [[tag, val] for tag, val in _redacted(extra)]
        return out

    def replace(self: R, **changes: Any) -> R:
        """A copy with some attributes changed (the fields are read-only properties).

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


def convert_now(record: FixRecord) -> None:
    """Convert every plain field of a decoded record now, where its reader will read most of
    them: one conversion of them all, instead of a first read converting its own field and
    the next one the rest. A value that does not convert stays for its read to name, as a
    lazy read would (`FixRecord._fill`); a record built, or already converted, costs a test."""
    if record._eager is False:
        record._fill()


def by_key(fields: tuple[FieldInfo, ...]) -> dict[bytes, FieldInfo]:
    """Tag bytes -> field, for a generated class's plain fields."""
    return {info.key: info for info in fields}


def convs(fields: tuple[FieldInfo, ...]) -> tuple[Conv, Conv]:
    """A generated class's converters: prices in cents, and with the session in dollars."""
    cents = tuple((f.slot, f.key, f.dec, f) for f in fields)
    dollars = tuple((f.slot, f.key, f.dec_dollars or f.dec, f) for f in fields)
    return cents, dollars


def _extra(rec: FixRecord) -> tuple[tuple[int, bytes], ...]:
    return getattr(rec, "extra_fields", ())


def _redacted(extra: tuple[tuple[int, bytes], ...]) -> tuple[tuple[int, bytes], ...]:
    return tuple((tag, b"<redacted>" if tag in SECRET_TAGS else value) for tag, value in extra)


# a class's enum fields, its enum slots read at once, the types their values may have, and
# a reader of ``_eager`` and the enum slots at once
EnumCheck = tuple[
    tuple[FieldInfo, ...],
    Callable[[Any], tuple[Any, ...]],
    frozenset[type],
    Callable[[Any], tuple[Any, ...]],
]


def _enum_check(cls: type[FixRecord]) -> EnumCheck:
    """A class's enum fields (their decoders carry ``enum_cls``) in spec order, a reader of
    their slots as one tuple, and the types a value of them may have (None, a member of its
    enum): a record whose values all have those types names no enum defect; and a reader of
    ``_eager`` with those slots: a record whose values there all have those types has every
    field converted too (``_eager`` None; True and False are no such type). Cached."""
    cached: EnumCheck | None = cls.__dict__.get("_ENUM_CHECK_CACHE")
    if cached is None:
        fields = tuple(
            info for info in cls._FIELDS if getattr(info.dec, "enum_cls", None) is not None
        )
        slots = [info.slot for info in fields] or ["_eager"]
        kinds = frozenset([type(None), *(info.dec.enum_cls for info in fields)])  # type: ignore[attr-defined]
        read = attrgetter(*slots, slots[0])  # a tuple even of one slot
        cached = (fields, read, kinds, attrgetter("_eager", *slots))
        type.__setattr__(cls, "_ENUM_CHECK_CACHE", cached)
    return cached


def _check_entries(
    entries: Sequence[FixRecord], cls: type[FixRecord], defects: list[Defect]
) -> None:
    """`FixRecord._check_into` of a group's entries, without a call for an entry that has every
    field converted, no group of its own and every enum value a member (most entries): first
    tested for the whole group at once, then entry by entry when one fails the test."""
    if cls._GROUPS:
        for entry in entries:
            entry._check_into(defects)
        return
    fields, read, kinds, whole = _enum_check(cls)
    if len(entries) > 1 and kinds.issuperset(map(type, chain.from_iterable(map(whole, entries)))):
        return
    for entry in entries:
        if entry._eager is not None or (fields and not kinds.issuperset(map(type, read(entry)))):
            entry._check_into(defects)


@attrs.define(slots=True, eq=False, repr=False, kw_only=True)
class Message(FixRecord):
    """Base class of every generated message class of both dialects.

    Attributes:
        extra_fields: tags the dialect does not define, as ``(tag, raw bytes)`` pairs: on a
            decoded message the unknown tags received (kept, never dropped); on a message you
            build, fields appended to the body when it is encoded.
    """

    _extra_fields: tuple[tuple[int, bytes], ...] = attrs.field(default=(), alias="extra_fields")
    _header: Any = attrs.field(default=None, init=False)  # decoded: the header, made once

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
            flat = src.flat
            known = self._KNOWN
            # an invalid tag number (tolerant decode only) is not a field: its defect keeps it
            value = tuple(
                (int(flat[i]), flat[i + 1])
                for i in range(0, len(flat), 2)
                if flat[i] not in known and _valid_tag(flat[i])
            )
            self._extra_fields = value
            return value

    @property
    def defects(self) -> tuple[Defect, ...]:
        """What is wrong with a message decoded with ``tolerant=True`` (empty when nothing is).

        Lists the structural problems found by the decode (missing or undefined tags, ...) and
        the values found invalid so far; `check` converts every field and lists them all. A
        message you built, or one decoded strictly, has none.
        """
        src = self._src
        if src is None or src.defects is None:
            return ()
        return tuple(src.defects)

    def check(self) -> tuple[Defect, ...]:
        """Convert every field now and list every problem instead of raising the first one.

        A field whose value does not convert reads None afterwards (its `Defect` keeps the raw
        bytes); an enum value the spec does not list is kept as the plain value and named. The
        header is checked too. After this the message reads tolerantly: no attribute raises.
        (A message whose tag layout was checked clean before, and whose every value has its
        type's plain form, is passed in one step: its values convert when read, and cannot
        fail.)

        Returns:
            Every defect of the message (also in `defects` from now on).
        """
        src = self._src
        if src is None:
            return ()
        defects = src.defects
        if defects is None:
            defects = src.defects = []
        layout = src.layout
        if layout is not None and not defects:
            # a layout checked clean before: its frames whose values all have their plain
            # form have nothing wrong (`_valuecheck`), told in one step
            match = layout[6][src.dollars]
            frame = src.frame
            if match and frame.isascii() and match(frame) is not None:
                return ()
        if self._GROUPS:  # else the decode has looked for repeated tags already
            for d in _repeated(type(self), src):
                _add(defects, d)
        self._check_into(defects)
        self.header._check_into(defects)
        if layout is not None and not defects and layout[6][src.dollars] is None:
            layout[6][src.dollars] = layout_matcher(type(self), src.flat, src.dollars) or False
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
        flat = src.flat
        for i in range(0, len(flat), 2):
            if flat[i] == key:
                value: bytes = flat[i + 1]
                return value
        return None

    @property
    def raw(self) -> bytes | None:
        """The frame this message was decoded from (None for a message you built)."""
        src = self._src
        return src.frame if src is not None else None

    @property
    def header(self) -> Any:
        """The standard header of a decoded message (None for a message you built)."""
        h = self._header
        if h is None:
            src = self._src
            if src is None:
                return None
            h = self._header = _new(self._HEADER_CLS)
            h._src = src
            h._flat = None
            # a remembered layout's header: its few fields converted from their places now
            # (about the cost of a first read converting one), each read then the slot's; else
            # (or one does not convert) its first field read converts that field alone, the
            # next all (`_fill`)
            if src.header_at is not None:
                places = src.layout[7]  # type: ignore[index]
                if places is None:
                    places = header_places(src, self._HEADER_CLS)
                if places:
                    try:
                        h._fill_at(src.flat, places, False)
                        h._eager = None  # every field converted
                        return h
                    except _WALK_ERRORS:
                        pass  # what it set is not to be trusted: blanked below
            h._blank()
            h._eager = False
        return h

    @classmethod
    def _what(cls) -> str:
        return f"{cls.__name__} (35={cls.MSG_TYPE})"

    def validate(self: M) -> M:
        """Convert every field now and check every rule decode() leaves for later.

        Returns:
            self, for chaining.

        Raises:
            DecodeError: the first problem, naming tag and message, with the raw frame.
        """
        src = self._src
        if src is not None:
            if _repeated(type(self), src):
                _check_repeats(type(self), src.frame, src.flat[0::2])
            self.header._load_all()
        FixRecord.validate(self)
        return self


@attrs.define(slots=True, eq=False, repr=False, kw_only=True)
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
            value: str = src.flat[5].decode("latin-1")
            self._msg_type = value
            return value

    def _values(self) -> Iterator[tuple[str, Any]]:
        yield "msg_type", self.msg_type

    def _encode_into(self, out: list[bytes], use_dollars: bool) -> None:
        pass


def _valid_tag(t: bytes) -> bool:
    """A tag is 1-9 digits without a leading zero ("055" is not tag 55)."""
    return t.isdigit() and len(t) <= 9 and t[:1] != b"0"


def _repeated(cls: type[Message], src: WireSource) -> tuple[Defect, ...]:
    """The defect of a tag repeated outside the groups (the first such tag), if any: made once
    per remembered tag layout (they depend on the tags alone), else from the frame's tags."""
    layout = src.layout
    if layout is not None:
        found: tuple[Defect, ...] | None = layout[2]
        if found is not None:
            return found
    tags = src.flat[0::2]
    found = tuple(_repeats(cls, src.frame, tags)) if len(set(tags)) != len(tags) else ()
    if layout is not None:
        layout[2] = found
    return found


def _repeats(cls: type[Message], frame: bytes, tags: list[bytes]) -> list[Defect]:
    out: list[Defect] = []
    try:
        _check_repeats(cls, frame, tags)
    except DecodeError as exc:
        out.append(Defect(exc.tag, REJECT_TAG_REPEATED, str(exc)))
    return out


def _check_repeats(cls: type[Message], frame: bytes, tags: list[bytes]) -> None:
    seen: set[bytes] = set()
    group_tags = cls._GROUP_TAGS
    for t in tags:
        if t in seen and t not in group_tags:
            mt = _msgtype_in(frame)
            raise DecodeError(
                f"{cls.__name__} (35={mt}): tag {t.decode('latin-1')} appears more than once",
                raw=frame,
                msg_type=mt,
                tag=int(t) if t.isdigit() else None,
                reject_reason=REJECT_TAG_REPEATED,
            )
        seen.add(t)
