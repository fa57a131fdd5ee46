"""What a record does: the runtime behind the generated message classes.

`FixRecord` (the base of every generated message, group entry and header) is `_fields.Record`
(its state and its class's wire tables) with what a decoded record does: convert its values
lazily (`FixRecord._load`, `FixRecord._fill`), check them (`Message.check`, ``validate``) and
show them (``items``, ``to_dict``, ``repr``); `field_reader` reads several of a record's
values at once for code outside the codec (the order tracker, the value ranges), which reads
no slot itself. Reading a frame into one is `_decode`'s work, writing one `_encode`'s; where
the raw values come from is `_wire`'s.

A decoded message keeps its `_fields.WireSource`; each typed attribute is converted on first
access and kept. That keeps `decode()` close to the cost of splitting the frame while still
checking what a FIX engine must check at once: the header layout, the MsgType, required tags and
duplicated tags. `Message.validate()` forces every conversion when a caller wants all errors up
front. The route a value takes from the wire to its attribute, and which of the routes a read
takes, is ``docs/maintainers/value-path.md``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from itertools import chain
from typing import Any, ClassVar, TypeVar

import attrs

from ._fields import (
    _CONVERT_ERRORS,
    _LAZY,
    REJECT_INCORRECT_FORMAT,
    REJECT_TAG_REPEATED,
    REJECT_VALUE_OUT_OF_RANGE,
    WALK_ERRORS,
    Defect,
    Defects,
    FieldInfo,
    GroupInfo,
    Record,
    WireSource,
    _add,
    _listed,
    _msgtype_in,
    _new,
    _offset_of,
    _set,
)
from ._valuecheck import layout_matcher
from ._wire import (
    Entries,
    _walk_header,
    body_places,
    header_places,
    load_group,
    own_raw,
    record_raw,
    record_wire,
)
from .errors import DecodeError
from .redaction import SECRET_TAGS

R = TypeVar("R", bound="FixRecord")
M = TypeVar("M", bound="Message")


@attrs.define(slots=True, eq=False, repr=False, kw_only=True)
class FixRecord(Record):
    """Base of generated messages, group entries and the header.

    Typed attributes are properties; decoded instances convert the wire value on first access.
    """

    # -- lazy loading -------------------------------------------------------------------------

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
        layout = src.layout
        if layout is not None and self._flat is None and type(self) is src.cls:
            # the message of a remembered layout (never a careful decode): each field from its
            # place, and each group absent from the frame read None
            at = layout.body_at
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

    def _get(self, info: FieldInfo) -> Any:
        """A field read for the first time (its slot `_LAZY`): the first of a message or its
        header converts only itself (`_load`: a handler often reads two or three fields), any
        later one (and any of a group entry) converts every field of the record (`_fill`)."""
        if self._eager is False:
            self._eager = True
            return self._load(info)
        self._fill()
        value = getattr(self, info.slot)
        if value is _LAZY:  # it did not convert: `_load` names why (or records it)
            return self._load(info)
        return value

    def _load(self, info: FieldInfo, wire: dict[bytes, bytes] | None = None) -> Any:
        """Convert one field alone with its `FieldInfo` decoder, from ``wire`` (a tag dict of
        the record's own fields) or from the source, and keep it in its slot: a value that does
        not convert raises the `DecodeError` naming it or, decoded tolerantly, is recorded as a
        `Defect` and reads None."""
        src = self._src
        if src is None:  # pragma: no cover - constructed instances always have their slots set
            raise AttributeError(info.attr)
        _attr, slot, tag, key, name, dec, dec_dollars, _secret = info
        if wire is not None:
            raw = wire.get(key)
        elif self._flat is None:  # a message or its header
            raw = own_raw(src, key)
        else:
            raw = record_raw(self, key)
        if raw is None:
            _set(self, slot, None)
            return None
        if dec_dollars is not None and src.dollars:
            dec = dec_dollars
        try:
            value = dec(raw)
        except _CONVERT_ERRORS as exc:
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

    def _check_into(self, defects: Defects) -> None:
        """Tolerant `validate`: convert every field, list what is wrong instead of raising."""
        src = self._src
        if src is None:
            return
        if self._eager is not None or self._GROUPS:  # else every field is converted already
            self._load_all()
        fields, read, kinds, _whole = self._ENUM_CHECK
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


FieldReader = Callable[[Any], tuple[Any, ...]]


def field_reader(cls: type, names: Sequence[str]) -> FieldReader:
    """A function reading the fields ``names`` of a record of ``cls`` at once: a tuple of
    their values in that order, each what its property reads (None for a name ``cls`` does not
    have: OrigClOrdID of a NewOrderSingle). For code that reads most of a record on every
    order (the order tracker, the value ranges): a property is a Python call, a slot read
    inline is not (Python 3.11: about 740 instructions against 20 a field). A class that is no
    `FixRecord` (a stand-in, another library's message) is read with ``getattr``.

    A decoded record is converted first, every plain field at once (`FixRecord._fill`, as
    `convert_now` does); when a value does not convert, every name is read through its
    property, so that one raises the `DecodeError` naming it or, decoded tolerantly, records
    its defect and reads None, as a read of it alone would. A group named is typed as its
    property types it (`_wire.load_group`): name one only when it is read. A record built, or
    converted already, costs a test. The function is Python source written for ``cls``
    (straight slot reads, as attrs writes its methods): make it once per class and keep it.

    Raises:
        ValueError: a name is no identifier.
    """
    if not issubclass(cls, FixRecord):
        return partial(_public_values, tuple(names))
    slots = {info.attr: info.slot for info in cls._MEMBERS}
    groups = {info.attr for info in cls._GROUPS}
    fast, slow = [], []
    for name in names:
        if not name.isidentifier():
            raise ValueError(f"{cls.__name__}: {name!r} is no field name")
        slot = slots.get(name)
        if slot is None:
            fast.append("None, ")
            slow.append("None, ")
        else:
            read = f"m.{slot}"
            if name in groups:  # `_LAZY` until typed
                read = f"({read} if {read} is not _LAZY else m.{name})"
            fast.append(f"{read}, ")
            slow.append(f"m.{name}, ")
    source = (
        "def read(m):\n"
        "    if m._eager is not None and m._src is not None and m._fill() is not None:\n"
        f"        return ({''.join(slow)})\n"
        f"    return ({''.join(fast)})\n"
    )
    namespace: dict[str, Any] = {"_LAZY": _LAZY}
    exec(source, namespace)  # our own source, from the class's member table
    reader: FieldReader = namespace["read"]
    reader.__qualname__ = f"read_{cls.__name__}"
    return reader


def _public_values(names: tuple[str, ...], record: Any) -> tuple[Any, ...]:
    return tuple([getattr(record, name, None) for name in names])


def _extra(rec: FixRecord) -> tuple[tuple[int, bytes], ...]:
    return getattr(rec, "extra_fields", ())


def _redacted(extra: tuple[tuple[int, bytes], ...]) -> tuple[tuple[int, bytes], ...]:
    return tuple((tag, b"<redacted>" if tag in SECRET_TAGS else value) for tag, value in extra)


def _check_entries(entries: Sequence[FixRecord], cls: type[Record], defects: Defects) -> None:
    """`FixRecord._check_into` of a group's entries, without a call for an entry that has every
    field converted, no group of its own and every enum value a member (most entries): first
    tested for the whole group at once, then entry by entry when one fails the test."""
    if cls._GROUPS:
        for entry in entries:
            entry._check_into(defects)
        return
    fields, read, kinds, whole = cls._ENUM_CHECK
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
        message you built, or one decoded strictly, has none. It lists each
        structural problem (a tag missing, repeated, a group miscounted) before the values that
        do not convert, each in the order found.
        """
        src = self._src
        if src is None or src.defects is None:
            return ()
        return _listed(src.defects)

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
            defects = src.defects = {}
        layout = src.layout
        if layout is not None and not defects:
            # a layout checked clean before: its frames whose values all have their plain
            # form have nothing wrong (`_valuecheck`), told in one step
            match = layout.pattern_dollars if src.dollars else layout.pattern_cents
            frame = src.frame
            if match and frame.isascii() and match(frame) is not None:  # type: ignore[operator]
                return ()
        if self._GROUPS:  # else the decode has looked for repeated tags already
            for d in _repeated(type(self), src):
                _add(defects, d)
        self._check_into(defects)
        self.header._check_into(defects)
        if layout is not None and not defects:
            if src.dollars and layout.pattern_dollars is None:
                found = layout_matcher(type(self), self._HEADER_CLS, src.flat, True)
                layout.pattern_dollars = found or False
            elif not src.dollars and layout.pattern_cents is None:
                found = layout_matcher(type(self), self._HEADER_CLS, src.flat, False)
                layout.pattern_cents = found or False
        return _listed(defects)

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
            header_at = src.header_at
            if header_at is not None:
                layout: Any = src.layout  # a layout's, where the header has places
                places = layout.header_fill_at
                if places is None:
                    places = header_places(layout, header_at, self._HEADER_CLS)
                if places:
                    try:
                        h._fill_at(src.flat, places, False)
                        h._eager = None  # every field converted
                        return h
                    except WALK_ERRORS:
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
    if layout is not None and layout.repeats is not None:
        return layout.repeats
    tags = src.flat[0::2]
    found = tuple(_repeats(cls, src.frame, tags)) if len(set(tags)) != len(tags) else ()
    if layout is not None:
        layout.repeats = found
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
