"""What a decoded record is made of, declared once for every codec module that reads one.

* the field-level vocabulary: how a generated class's fields and groups map to the wire
  (`FieldInfo`, `GroupInfo`), what a received message may have wrong (`Defect`, with the
  SessionRejectReason codes a strict session answers it with);
* `Record`: the state a decoded record keeps (its `WireSource`, its span, ``_eager``) and the
  wire tables its generated class carries (`derive_tables` adds those derived from the
  others, once, when the generated module is imported);
* `WireSource`: the raw source of one decoded message, shared by its header and its entries;
* `Layout`: what the messages of one remembered tag layout share (the codec remembers them,
  `_decode.LayoutCache`), each member named.

This module imports no other codec module: `_wire` (where a value comes from), `_message` (what
a record does), `_valuecheck`, `_decode` and `_encode` import it (``tests/test_imports.py``).
The route of a value from the wire to an attribute is told in
``docs/maintainers/value-path.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, ClassVar, NamedTuple

import attrs

from .errors import DecodeError

SOH = b"\x01"
BEGIN_STRING = b"FIXT.1.1"
_new = object.__new__
_set = setattr  # records do not override __setattr__: the builtin is 3x faster than object's


class _Lazy:
    """The value of a decoded record's slot not converted yet (`_LAZY`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<not converted yet>"


# A decoded record's members start as this (`Record._blank`): a read tests for it instead of
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
# the reasons told when a value does not convert (the rest: the frame's structure is wrong)
_VALUE_REASONS = frozenset((REJECT_VALUE_OUT_OF_RANGE, REJECT_INCORRECT_FORMAT))


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


Defects = dict[Defect, None]
"""A tolerantly decoded message's defects (`WireSource.defects`): its keys, in the order they
were found, each once; a dict, so that finding one again (a message checked twice) is told in
constant time (`_add`)."""


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
    entry: type[Record]


# (slot, tag bytes, decoder, field) per plain field of a class, in member order: the careful
# loop of `FixRecord._fill`
Conv = tuple[tuple[str, bytes, Callable[[bytes], Any], FieldInfo], ...]
# a class's enum fields, its enum slots read at once, the types their values may have, and a
# reader of ``_eager`` and the enum slots at once (`derive_tables`, `_message._check_entries`)
EnumCheck = tuple[
    tuple[FieldInfo, ...],
    Callable[[Any], tuple[Any, ...]],
    frozenset[type],
    Callable[[Any], tuple[Any, ...]],
]
_CONVERT_ERRORS = (ValueError, UnicodeDecodeError, ArithmeticError)
WALK_ERRORS = (ValueError, UnicodeDecodeError, ArithmeticError, IndexError)


@attrs.define(slots=True, eq=False, repr=False, kw_only=True)
class Record:
    """What every generated record (message, group entry, header) keeps and declares.

    `_message.FixRecord` adds what a record does; this is what the reading code of `_wire`
    needs of one: its state once decoded, the wire tables of its class (written by the code
    generator, or derived from those once, `derive_tables`), and the methods the generator
    writes per class (their defaults here: no fast path).
    """

    # decoded: the message's raw source (shared by its header and group entries); built: None
    _src: WireSource | None = attrs.field(default=None, init=False)
    # a decoded group entry: its own fields, a span of the source's flat list; else None
    _flat: list[bytes] | None = attrs.field(default=None, init=False)
    # decoded: the next field read converts every field (`FixRecord._fill`); a message and its
    # header start False (their first read converts one field: a handler often reads only a
    # few); None once every plain field is converted (a filled record, a walked header or entry)
    _eager: bool | None = attrs.field(default=True, init=False)

    # -- written by the code generator
    _FIELDS: ClassVar[tuple[FieldInfo, ...]] = ()
    _GROUPS: ClassVar[tuple[GroupInfo, ...]] = ()
    _MEMBERS: ClassVar[tuple[FieldInfo | GroupInfo, ...]] = ()  # wire order
    _REQUIRED: ClassVar[frozenset[bytes]] = frozenset()
    _TAGS: ClassVar[frozenset[bytes]] = frozenset()  # an entry's: every tag it may hold
    _OWN: ClassVar[frozenset[bytes]] = frozenset()  # an entry's or the header's member tags
    _DELIMITER: ClassVar[bytes] = b""  # an entry's first member
    _WALKED: ClassVar[bool] = False  # the header: its generated walk converts it in one pass
    _GROUP_TAGS: ClassVar[frozenset[bytes]] = frozenset()  # a message's: its groups' tags
    # a message's and the header's: the order of a remembered layout's places for `_fill_at`
    # (`_wire.layout_places`): the indexes in `_FIELDS` of the required fields, then of each run
    # of optional ones
    _AT_PLAN: ClassVar[tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]] = ((), ())
    # -- derived from those once (`derive_tables`)
    _BY_KEY: ClassVar[dict[bytes, FieldInfo]] = {}  # tag bytes -> field (plain fields only)
    _CONV: ClassVar[Conv] = ()  # plain fields' converters (session prices in cents)
    _CONV_D: ClassVar[Conv] = ()  # the same when the message's prices are in dollars
    _ENUM_CHECK: ClassVar[EnumCheck]  # its enum fields and how to test their values at once
    _OWN_KEYS: ClassVar[frozenset[bytes]] = frozenset()  # a message's header, body, count tags
    _TAIL: ClassVar[bool] = False  # a message's spec places a plain field after a group

    def _blank(self) -> None:
        """Set every member slot to `_LAZY` (generated per class): a decoded record's reads
        test for it and convert on demand."""

    def _fast_fill(self, wire: dict[bytes, bytes], dollars: bool) -> None:
        """Convert every plain field from ``wire`` (generated per class, straight-line).

        Raises:
            ValueError, UnicodeDecodeError, ArithmeticError: a value does not convert.
        """
        for slot, key, dec, _info in self._CONV_D if dollars else self._CONV:
            raw = wire.get(key)
            _set(self, slot, None if raw is None else dec(raw))

    def _walk(self, flat: list[bytes], i: int, dollars: bool) -> int:
        """Read the header's members from ``flat[i:]`` in any order (generated for the header).

        Returns:
            The position after the last of them, or -1: no fast walk (the tag dict is read).

        Raises:
            ValueError, UnicodeDecodeError, ArithmeticError: a value does not convert.
            IndexError: the frame ends inside the header (only a malformed one does).
        """
        return -1

    def _fill_at(self, flat: list[bytes], at: tuple[Any, ...], dollars: bool) -> None:
        """Convert every plain field from its place in ``flat`` (``at``: a remembered layout's
        places in the order of `_AT_PLAN`, see `_wire.layout_places`: `Layout.header_fill_at`
        for the header, `Layout.body_at` for a message; generated per message class and for the
        header), and set each group absent from the frame to None.

        Raises:
            ValueError, UnicodeDecodeError, ArithmeticError: a value does not convert.
        """
        raise NotImplementedError  # pragma: no cover - generated for every class it is called on

    @staticmethod
    def _walk_entries(
        flat: list[bytes], j: int, count: int, src: WireSource
    ) -> tuple[Sequence[Record], int] | None:
        """Read ``count`` entries of this class from ``flat[j:]`` (generated per entry class
        without nested groups, see `_wire.Entries`).

        Returns:
            The entries and the position after the last, or None: no fast walk.

        Raises:
            ValueError, UnicodeDecodeError, ArithmeticError: a value does not convert.
            IndexError: the frame ends inside an entry.
        """
        return None

    @staticmethod
    def _walk_one(flat: list[bytes], j: int, src: WireSource) -> Record | None:
        """`_walk_entries` for one entry, without its list (raising as it does): the entry (its
        span, ``_flat``, says where it ends), or None: no fast walk."""
        return None

    @classmethod
    def _what(cls) -> str:
        return cls.__name__


def derive_tables(cls: type[Record], header: type[Record] | None = None) -> None:
    """Set the tables of a generated class derived from those the generator writes (its
    `_FIELDS`, `_GROUPS`, `_MEMBERS`): once, as its module is imported, never changed after.

    Args:
        cls: the class.
        header: a message class's header class (its tags are among the message's own).
    """
    fields = cls._FIELDS
    cls._BY_KEY = {info.key: info for info in fields}
    cls._CONV = tuple((f.slot, f.key, f.dec, f) for f in fields)
    cls._CONV_D = tuple((f.slot, f.key, f.dec_dollars or f.dec, f) for f in fields)
    cls._ENUM_CHECK = _enum_check(fields)
    if header is not None:
        cls._OWN_KEYS = frozenset([*header._BY_KEY, *cls._BY_KEY, *(g.key for g in cls._GROUPS)])
        kinds = [isinstance(m, GroupInfo) for m in cls._MEMBERS]
        cls._TAIL = True in kinds and False in kinds[kinds.index(True) :]


def _enum_check(fields: tuple[FieldInfo, ...]) -> EnumCheck:
    """A class's enum fields (their decoders carry ``enum_cls``) in spec order, a reader of
    their slots as one tuple, and the types a value of them may have (None, a member of its
    enum): a record whose values all have those types names no enum defect; and a reader of
    ``_eager`` with those slots: a record whose values there all have those types has every
    field converted too (``_eager`` None; True and False are no such type)."""
    enums = tuple(info for info in fields if getattr(info.dec, "enum_cls", None) is not None)
    slots = [info.slot for info in enums] or ["_eager"]
    kinds = frozenset([type(None), *(info.dec.enum_cls for info in enums)])  # type: ignore[attr-defined]
    return enums, attrgetter(*slots, slots[0]), kinds, attrgetter("_eager", *slots)


Record._ENUM_CHECK = _enum_check(())


class WireSource:
    """The raw source of one decoded message, shared by its header and its group entries.

    Attributes:
        frame: the frame as received.
        flat: its fields, ``[tag, value, tag, value, ...]`` (8, 9, 35 first).
        dollars: session-unit prices are in dollars (else integer cents).
        defects: decoded tolerantly: what is wrong, in the order found, each once (`Defects`:
            shared with the header and the entries, and filled as values are read); decoded
            strictly: None.
        cls: the message's class.
        present: every tag of the frame (shared by every message of a remembered layout).
        header_at: `Layout.header_at` of a message of a remembered layout with a plain header
            (where each header field's value is in ``flat``); else None.
        layout: the remembered tag layout the message's frame has, or None when the frame's
            layout is not remembered (its first frame, one too long, a careful decode).
        careful: every value of the message comes from the careful path (`CarefulSource`).
        checked: every value of the message was found in its plain form, so each converts
            (`CheckedSource`: `Codec.decode_clean`'s).
    """

    __slots__ = (
        "_by_tag",
        "cls",
        "defects",
        "dollars",
        "flat",
        "frame",
        "header_at",
        "layout",
        "present",
    )

    careful = False  # `CarefulSource` says True
    checked = False  # `CheckedSource` says True

    # made by `_decode.Codec.decode` alone, which sets every attribute
    frame: bytes
    flat: list[bytes]
    dollars: bool
    defects: Defects | None
    cls: type[Record]
    present: frozenset[bytes]
    header_at: tuple[int, ...] | None
    layout: Layout | None
    _by_tag: dict[bytes, bytes] | None  # the tag dict, built on first need (`_wire.tag_dict`)

    def msg_type(self) -> str | None:
        """MsgType(35) as received."""
        return _msgtype_in(self.frame)


class CarefulSource(WireSource):
    """A `WireSource` whose every value comes from the careful path (the fast path's reference)."""

    __slots__ = ()

    careful = True


class CheckedSource(WireSource):
    """A `WireSource` of a message `Codec.decode_clean` made: its frame matched its layout's
    value pattern, each value in its plain form, so every value converts when read."""

    __slots__ = ()

    checked = True


Matcher = Callable[[bytes], Any]
"""A compiled pattern's ``fullmatch`` (`_valuecheck.layout_matcher`)."""
# `Layout.header_at` until the layout's second frame (its places are found then)
_NOT_YET: tuple[int, ...] = ()


class Layout:
    """What the messages of one remembered tag layout share: what depends on their tags alone.

    Made by `_decode.LayoutCache` when a frame whose tags were not remembered is found clean;
    every member but the first four is found once, on first need, by the message that needs it.

    Attributes:
        cls: the message class.
        key: the frame's tags joined by SOH (the layout's key among its class's).
        present: the set of its tags (every message of the layout shares it).
        used: read since the cache's hand last passed it (a second chance before eviction).
        header_at: where each header field's value is in ``flat``, in `Header` field order (-1:
            absent), or None when the header's own run of fields does not hold each header tag
            of the frame once (the reader then looks for itself); ``()`` until the layout's
            second frame (its first one costs nothing more: `_decode.Codec.decode`).
        repeats: the defects of a tag repeated outside the groups (`_message._repeated`:
            empty when none is; `Message.check` and `validate` need them, the decode does not
            look for them in a frame with groups).
        own_end: where the message's own fields end in ``flat`` (`_wire._own_end`).
        first_places: each tag's first place in ``flat`` (`_wire.first_places`: the group
            counts' and the fields' places are read from it).
        body_at: where each plain field of the message has its value, in the order its
            `_fill_at` reads them (`_wire.body_places`; empty: none).
        header_fill_at: ``header_at`` in the order the header's `_fill_at` reads them
            (`_wire.header_places`; empty: none).
        pattern_cents, pattern_dollars: the pattern of its frames with nothing wrong, prices in
            cents or in dollars (`_valuecheck.layout_matcher`): None until a message of the
            layout is checked clean, False when the layout has none.
        levels: where each entry of a 35=X's group of plain level changes has its
            MDUpdateAction, Symbol, MDEntryType, MDEntryPx and MDEntrySize (`_wire.level_changes`);
            None until first asked, False when the layout is not such a message.
        trades: for each of those entries, where its AggressorSide, TradeID, TrdType,
            MDEntryDate and MDEntryTime have their values (None: absent), in the same order
            (`_wire.trade_values`); set with ``levels``.
        template: the ``flat`` of its frames with each value empty, ``[tag, b"", tag, b"",
            ...]`` (`_decode.Codec.decode_clean` fills a copy); None until first needed.
    """

    __slots__ = (
        "body_at",
        "cls",
        "first_places",
        "header_at",
        "header_fill_at",
        "key",
        "levels",
        "own_end",
        "pattern_cents",
        "pattern_dollars",
        "present",
        "repeats",
        "template",
        "trades",
        "used",
    )

    def __init__(self, cls: type[Record], key: bytes, present: frozenset[bytes]) -> None:
        self.cls = cls
        self.key = key
        self.present = present
        self.used = False
        self.header_at: tuple[int, ...] | None = _NOT_YET
        self.repeats: tuple[Defect, ...] | None = None
        self.own_end: int | None = None
        self.first_places: dict[bytes, int] | None = None
        self.body_at: tuple[Any, ...] | None = None
        self.header_fill_at: tuple[Any, ...] | None = None
        self.pattern_cents: Matcher | bool | None = None
        self.pattern_dollars: Matcher | bool | None = None
        self.levels: tuple[tuple[int, int, int, int, int], ...] | bool | None = None
        self.trades: tuple[tuple[int | None, ...], ...] = ()
        self.template: list[bytes] | None = None


def _msgtype_in(frame: bytes) -> str | None:
    """MsgType(35) of a frame as received (None: it has none)."""
    start = frame.find(b"\x0135=")
    if start < 0:
        return None
    end = frame.find(SOH, start + 4)
    return frame[start + 4 : end].decode("latin-1")


def _offset_of(frame: bytes, key: bytes) -> int | None:
    """Where tag ``key``'s first field starts in ``frame`` (None: it is not there)."""
    pos = frame.find(SOH + key + b"=")
    return pos + 1 if pos >= 0 else (0 if frame.startswith(key + b"=") else None)


def _is_value_defect(defect: Defect) -> bool:
    return defect.reason in _VALUE_REASONS


def _listed(defects: Defects) -> tuple[Defect, ...]:
    """A message's defects as it tells them: what is wrong with the frame's structure (tags
    missing, undefined, repeated, groups miscounted) before the values that do not convert, each
    in the order found. Found order alone depends on how the frame was read (a remembered tag
    layout finds a group's defect when the group is read, a careful decode at once), the list
    told must not: a strict session rejects the first one."""
    return tuple(sorted(defects, key=_is_value_defect))


def _add(defects: Defects, defect: Defect) -> None:
    """Record a defect once (checking a message twice finds the same ones again), in constant
    time: a message with a defect in each of its group entries is checked in time linear in
    them (a list searched before each append took time quadratic in them)."""
    defects[defect] = None
