"""Where every value of a decoded message comes from, in one place.

A decoded message keeps one `WireSource`: the frame, its field list (``flat``: tag, value, tag,
value, ...), the set of its tags, its defects, the header places of a remembered tag layout, and
the tag -> raw value dict built on first need. Its header and every group entry keep the same
source; an entry also keeps its own span of the field list (``FixRecord._flat``).

A typed value comes from one of two paths:

* the fast path, generated per class (`kalshi_fix_sansio._generated`): ``_fast_fill`` converts
  every plain field of a record from the tag dict with straight-line converters and caches,
  ``_fill_at`` converts a message's or its header's fields from the places their remembered
  layout keeps (`layout_places`), the header's ``_walk`` in one pass over the fields after 35
  otherwise, and ``_walk_entries`` cuts and converts a group's entries in one pass
  (``_walk_one`` a group's only entry); each gives up (an exception, or None / -1) on
  anything it does not expect, and the careful path takes over for that record.
* the careful path, written once here and in `_message`: the careful field splitter
  (`_decode.split_fields` with ``by_length``), `FixRecord._fill`'s loop and `FixRecord._load`
  (each field's `FieldInfo` decoder from `_values`, one at a time, naming a value that does not
  convert as a `DecodeError` or, decoded tolerantly, a `Defect`), and `_careful_group` (cuts the
  entries at their delimiters and names what is wrong with the group).

A message decoded with ``careful=True`` (`_decode.Codec.decode`) takes the careful path for every
value, from the split on: it is the reference the fast path is tested against
(``tests/test_differential.py``).

When: a record's typed attributes start as `_fields._LAZY`; a read of one that is still lazy goes
to `FixRecord._get`, which looks at ``FixRecord._eager``:

* False (a decoded message or header not read yet): convert this one field alone, with its
  careful decoder (a handler often reads two or three fields), and say True;
* True: convert the whole record (`FixRecord._fill`: the header's walk, else the generated
  ``_fast_fill``, else the careful loop), then read the slot; a value that did not convert is
  left lazy and `FixRecord._load` names it;
* None: every plain field is converted already (a filled record, a walked header or entry).

A group's attribute is read by `load_group`: `Entries` (the generated walk, entry by entry as
they are read, a group of one entry when the group is read; the careful parser for the whole
group when the walk gives up) or, at once, the careful parser's tuple (entries holding a nested
group, a count that is not a number or larger than the message can hold, a careful decode).

A group entry's walk leaves a time of day or a timestamp that is not in its value cache lazy
(most are never read, and each message brings a new one): the entry then says ``_eager`` True,
and a read of it converts the entry's fields (`FixRecord._fill`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from ._fields import (
    _WALK_ERRORS,
    REJECT_GROUP_COUNT,
    REJECT_INCORRECT_FORMAT,
    REJECT_REQUIRED_TAG_MISSING,
    SOH,
    Defect,
    GroupInfo,
    _add,
    _new,
    _set,
)
from .errors import DecodeError

if TYPE_CHECKING:
    from ._message import FixRecord, Message


class WireSource:
    """The raw source of one decoded message, shared by its header and its group entries.

    Attributes:
        frame: the frame as received.
        flat: its fields, ``[tag, value, tag, value, ...]`` (8, 9, 35 first).
        dollars: session-unit prices are in dollars (else integer cents).
        defects: decoded tolerantly: what is wrong (shared with the header and the entries, and
            filled as values are read); decoded strictly: None.
        cls: the message's class.
        present: every tag of the frame (shared by every message of a remembered layout).
        header_at: where each header field's value is in ``flat``, in `Header` field order (-1:
            absent), for a message of a remembered layout with a plain header; else None.
        layout: the remembered tag layout the message's frame has (`_decode.Layout`: what
            its frames share, the checks `Message.check` makes on the tags alone among it), or
            None when the frame's layout is not remembered.
        careful: every value of the message comes from the careful path (see the module).
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

    # made by `_decode.Codec.decode` alone, which sets every attribute
    frame: bytes
    flat: list[bytes]
    dollars: bool
    defects: list[Defect] | None
    cls: type[Message]
    present: frozenset[bytes]
    header_at: tuple[int, ...] | None
    layout: list[Any] | None
    _by_tag: dict[bytes, bytes] | None

    def by_tag(self) -> dict[bytes, bytes]:
        """Tag -> raw value of the message's own fields (header and body, not its groups'); a
        tag given twice keeps its first value. Built on first need."""
        wire = self._by_tag
        if wire is None:
            flat = self.flat
            layout = self.layout
            if layout is None:
                end = _own_end(self.cls, flat, self.present)
            else:  # where the own fields end depends on the tags alone: once per layout
                end = layout[3]
                if end is None:
                    end = layout[3] = _own_end(self.cls, flat, self.present)
            wire = self._by_tag = _pairs(flat if end == len(flat) else flat[:end])
        return wire

    def raw(self, key: bytes) -> bytes | None:
        """One raw value of the message's own fields (its first occurrence), without building
        the tag dict when the tag cannot be one its groups hold too: a read of a few fields
        stays cheap."""
        wire = self._by_tag
        if wire is not None:
            return wire.get(key)
        if key in self.cls._GROUP_TAGS:
            return self.by_tag().get(key)
        flat = self.flat
        layout = self.layout
        if layout is not None and layout[5] is not None:  # each tag's first place, known
            i = layout[5].get(key, -1)
            return flat[i + 1] if i >= 0 else None
        i = 0
        try:
            while True:
                i = flat.index(key, i)
                if not i & 1:  # a tag, not a value that reads alike
                    return flat[i + 1]
                i += 1
        except ValueError:
            return None

    def msg_type(self) -> str | None:
        """MsgType(35) as received."""
        return _msgtype_in(self.frame)

    def header_raw(self, keys: frozenset[bytes]) -> dict[bytes, bytes]:
        """Tag -> raw value of the header fields present (``keys``: the header's tags), read
        from the front of the frame: header fields follow 8, 9 and 35, so only those few
        pairs are looked at; a header field placed later in the frame (allowed, unusual) is
        found through the full tag dict."""
        flat = self.flat
        out: dict[bytes, bytes] = {}
        i = 6
        last = len(flat) - 2
        tag = flat[6]  # a decoded frame has 8, 9, 35 and at least one field more
        while tag in keys:
            out[tag] = flat[i + 1]
            if i == last:
                break
            i += 2
            tag = flat[i]
        if b"34" not in out or b"49" not in out or b"56" not in out or b"52" not in out:
            out = {k: v for k, v in self.by_tag().items() if k in keys}
        return out


class CarefulSource(WireSource):
    """A `WireSource` whose every value comes from the careful path (the fast path's reference)."""

    __slots__ = ()

    careful = True


def _msgtype_in(frame: bytes) -> str | None:
    """MsgType(35) of a frame as received (None: it has none)."""
    start = frame.find(b"\x0135=")
    if start < 0:
        return None
    end = frame.find(SOH, start + 4)
    return frame[start + 4 : end].decode("latin-1")


def body_places(src: WireSource) -> tuple[Any, ...]:
    """Where each plain field of a message of a remembered layout has its value in ``flat``, in
    the order its `_fill_at` reads them (`layout_places`; empty: none): the first occurrence
    among the message's own fields, as `WireSource.by_tag` keeps it. Once per layout (its fifth
    member)."""
    layout = src.layout
    assert layout is not None
    at: tuple[Any, ...] | None = layout[4]
    if at is None:
        own = src.by_tag()  # the own fields are a prefix of ``flat``: first occurrences agree
        where = _first_places(layout, src.flat)
        fields = src.cls._FIELDS
        places = [where[info.key] + 1 if info.key in own else -1 for info in fields]
        # none for a class without plain fields (it has no `_fill_at`)
        at = layout[4] = layout_places(src.cls, places, src.present) if fields else ()
    return at


def layout_places(
    cls: type[FixRecord], places: Sequence[int], present: frozenset[bytes]
) -> tuple[Any, ...]:
    """A record's places (``places``: each plain field's place in ``flat``, in `_FIELDS` order,
    -1 when absent) in the order its generated `_fill_at` reads them (`_AT_PLAN`): the place of
    each required field, then per run of up to four optional fields None when none of them is
    present (they read None at once) or their places, then per group whether its count tag is
    in ``present``. Empty when a required field is absent (never on a remembered layout, which
    is clean: the caller then takes the path that does not use places)."""
    required, runs = cls._AT_PLAN
    out: list[Any] = []
    for k in required:
        if places[k] < 0:
            return ()
        out.append(places[k])
    for run in runs:
        part = tuple(places[k] for k in run)
        out.append(part if max(part) > 0 else None)
    out += [g.key in present for g in cls._GROUPS]
    return tuple(out)


def header_places(src: WireSource, cls: type[FixRecord]) -> tuple[Any, ...]:
    """Where each header field of a message of a remembered layout whose header has places
    (``src.header_at``) has its value, in the order the header's generated `_fill_at` reads
    them (`layout_places`; empty: none). Once per layout (its eighth member)."""
    layout: Any = src.layout
    assert src.header_at is not None
    at: tuple[Any, ...] = layout_places(cls, src.header_at, frozenset())
    layout[7] = at
    return at


def _first_places(layout: list[Any], flat: list[bytes]) -> dict[bytes, int]:
    """Tag -> its first place in ``flat`` (a tag's, not a value's that reads alike), for a
    message of a remembered layout: the same for every message of it. Once per layout (its
    sixth member)."""
    where: dict[bytes, int] | None = layout[5]
    if where is None:
        where = layout[5] = {}
        for k in range(len(flat) - 2, -1, -2):  # from the end: the first occurrence stays
            where[flat[k]] = k
    return where


def record_wire(rec: FixRecord) -> dict[bytes, bytes]:
    """Tag -> raw value of a decoded record's own fields: a message's or header's from its
    source, a group entry's from its span (first occurrence of a tag)."""
    span = rec._flat
    if span is None:
        return rec._src.by_tag()  # type: ignore[union-attr]
    return _pairs(span)


def record_raw(rec: FixRecord, key: bytes) -> bytes | None:
    """One raw value of a decoded record's own fields (its first occurrence)."""
    span = rec._flat
    if span is None:
        return rec._src.raw(key)  # type: ignore[union-attr]
    return _pairs(span).get(key)  # an entry: small, and read whole once it is read


def _pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    """Tag -> value of a flat list; a tag given twice keeps its first value (as `raw_value`)."""
    it = iter(flat)
    wire = dict(zip(it, it, strict=False))
    if len(wire) * 2 != len(flat):  # a repeated tag (a defect): the first occurrence counts
        wire = {}
        for i in range(0, len(flat) - 1, 2):
            wire.setdefault(flat[i], flat[i + 1])
    return wire


def _own_end(cls: type[Message], flat: list[bytes], present: frozenset[bytes]) -> int:
    """Where the header and body fields of a message end in ``flat`` (``len(flat)``: the whole
    list holds them).

    A message with groups has them before the first group entry, read without the entries,
    unless a header or body tag is placed after it (allowed, unusual: the tags after it are
    checked as a set) or the spec places a plain field after a group of the class.
    """
    group_tags = cls._GROUP_TAGS
    n = len(flat)
    if not group_tags or _fields_after_groups(cls):
        return n
    i = 6
    while i < n and flat[i] not in group_tags:
        i += 2
    if i < n and not _own_keys(cls).isdisjoint(present.difference(flat[0:i:2])):
        return n
    return i


def _fields_after_groups(cls: type[Message]) -> bool:
    """Whether the spec places a plain field after a group of the class (cached per class):
    then its fields are read from the whole frame at once, as they rarely all lead it."""
    cached: bool | None = cls.__dict__.get("_TAIL_CACHE")
    if cached is None:
        kinds = [isinstance(m, GroupInfo) for m in cls._MEMBERS]
        cached = True in kinds and False in kinds[kinds.index(True) :]
        type.__setattr__(cls, "_TAIL_CACHE", cached)
    return cached


def _own_keys(cls: type[Message]) -> frozenset[bytes]:
    """The header, body and group count tags of a message class (cached per class)."""
    cached: frozenset[bytes] | None = cls.__dict__.get("_OWN_KEYS_CACHE")
    if cached is None:
        cached = frozenset([*cls._HEADER_CLS._BY_KEY, *cls._BY_KEY, *(g.key for g in cls._GROUPS)])
        type.__setattr__(cls, "_OWN_KEYS_CACHE", cached)
    return cached


def header_raw(msg: FixRecord, keys: frozenset[bytes]) -> dict[bytes, bytes]:
    """Raw values of the header fields of a decoded message (see `WireSource.header_raw`)."""
    src = msg._src
    assert src is not None
    return src.header_raw(keys)


class GroupPlace(NamedTuple):
    """Where one repeating group of a decoded record is: what its parsers read."""

    owner: type[FixRecord]  # the record's class (no reference to the record: no cycle)
    info: GroupInfo
    src: WireSource  # the message's source
    flat: list[bytes]  # the record's fields: a message's whole list, or an entry's span
    raw: bytes  # the count field's value
    i: int  # the count tag's position in ``flat``
    declared: int  # the entries its count declares (read tolerantly with none: ``len(flat)``)


# a GroupPlace made from its tuple in C (its generated __new__ is a Python call)
_place: Any = tuple.__new__


def load_group(owner: FixRecord, info: GroupInfo) -> Any:
    """A group's entries (None when its count tag is absent), kept in its slot (a group read
    for the first time: `FixRecord._load_group`): a group of one entry (a 35=X's usual one)
    typed now, as the tuple of it, and any other `Entries` (typed as they are read) when its
    count is readable, its entries hold no nested group and the message is not read carefully;
    else the careful parser's tuple."""
    src = owner._src
    assert src is not None
    flat = owner._flat
    key = info.key
    layout = src.layout
    if flat is None and layout is not None:  # a message of a remembered layout
        flat = src.flat
        where = layout[5]
        if where is None:
            where = _first_places(layout, flat)
        i = where.get(key, -1)
        if i < 0:
            _set(owner, info.slot, None)
            return None
    else:
        if flat is None:
            flat = src.flat
        # the count tag's first occurrence at an even (tag) position: where `record_raw` finds it
        i = 0
        try:
            while True:
                i = flat.index(key, i)
                if not i & 1:
                    break
                i += 1
        except ValueError:
            _set(owner, info.slot, None)
            return None
    raw = flat[i + 1]
    n = len(flat)
    entry_cls = info.entry
    if raw == b"1" and not entry_cls._GROUPS and not src.careful:
        # one entry (a 35=X's usual one): typed now, as its first read would type it, and the
        # group whole when nothing of it follows the entry (what `Entries.as_tuple` finds; else
        # the group is read as below, as it is read, the careful parser deciding)
        try:
            entry = entry_cls._walk_one(flat, i + 2, src)
        except _WALK_ERRORS:
            entry = None
        if entry is not None:
            j = i + 2 + len(entry._flat)  # type: ignore[arg-type]  # a walked entry has its span
            if j >= n or flat[j] not in entry_cls._TAGS:
                # read whole: the tuple of its entry (what `Entries.as_tuple` gives)
                one = (entry,)
                _set(owner, info.slot, one)
                return one
    # bounded before use: no message holds more entries than it has fields
    count = int(raw) if raw.isdigit() and len(raw) <= 9 else -1
    if 0 < count <= n // 2 and not entry_cls._GROUPS and not src.careful:
        entries = _new(Entries)  # `Entries.__init__`, without its call
        entries._at = _place(GroupPlace, (type(owner), info, src, flat, raw, i, count))
        entries._state = ((), i + 2)
        entries._done = None
        _set(owner, info.slot, entries)
        return entries
    if count < 0 or count > n // 2:
        problem = "is not a number" if count < 0 else "is more than the message can hold"
        error = _group_error(type(owner), info, src, f"count {raw!r} {problem}", info.tag)
        defects = src.defects
        if defects is None:
            raise error
        # tolerant: read the entries that are there
        _add(defects, Defect(info.tag, REJECT_INCORRECT_FORMAT, str(error), raw))
        count = n
    value = _careful_group(_place(GroupPlace, (type(owner), info, src, flat, raw, i, count)))
    _set(owner, info.slot, value)
    return value


class Entries(Sequence["FixRecord"]):
    """The entries of a decoded repeating group: a read-only sequence, typed as it is read.

    An entry read by index is typed with the entries before it (one generated walk, in wire
    order), not the ones after it: a handler that reads the first entry of a 20-level snapshot
    types one (a group of one entry is typed when the group is read). Iterating, `len`, a
    negative index or a slice type the whole group first, and that is where a group that is not
    well formed is found: the careful parser then reads it, raising its `DecodeError` (or,
    decoded tolerantly, recording its defects) — a group with a defect after the entries already
    read does not stop those reads. Compares equal to a tuple
    or list of equal entries. Threads reading one group at once each see its entries in order
    (an entry typed by two of them at once may be two equal objects).
    """

    __slots__ = ("_at", "_done", "_state")

    def __init__(self, at: GroupPlace) -> None:
        self._at = at
        # the entries typed so far and where the next one starts, replaced as one value: two
        # threads reading at once each see a consistent pair
        self._state: tuple[tuple[FixRecord, ...], int] = ((), at.i + 2)
        self._done: tuple[FixRecord, ...] | None = None

    def as_tuple(self) -> tuple[FixRecord, ...]:
        """Every entry, typed, as a tuple (the same tuple at each call): the whole group is read,
        as iterating it reads it (a group that is not well formed raises its `DecodeError` here
        or, decoded tolerantly, records its defects)."""
        done = self._done
        if done is None:
            typed, j = self._state
            at = self._at
            entry_cls = at.info.entry
            flat = at.flat
            count = at.declared - len(typed)
            walked: tuple[list[FixRecord], int] | None = ([], j)
            if count > 0:  # `_walk`, without its call
                try:
                    walked = entry_cls._walk_entries(flat, j, count, at.src)
                except _WALK_ERRORS:
                    walked = None
            if walked is not None and not (
                walked[1] < len(flat) and flat[walked[1]] in entry_cls._TAGS
            ):
                done = (*typed, *walked[0])
            else:  # a member out of the walk's order: the careful parser decides
                done = _careful_group(at)
            self._done = done
        return done

    @overload
    def __getitem__(self, k: int) -> FixRecord: ...

    @overload
    def __getitem__(self, k: slice) -> tuple[FixRecord, ...]: ...

    def __getitem__(self, k: int | slice) -> FixRecord | tuple[FixRecord, ...]:
        done = self._done
        if done is not None:
            return done[k]
        at = self._at
        if k.__class__ is int and 0 <= k < at.declared:
            typed, j = self._state
            if k < len(typed):
                return typed[k]
            walked = _walk(at.info.entry, at.src, at.flat, j, k + 1 - len(typed))
            if walked is not None:
                typed = (*typed, *walked[0])
                self._state = (typed, walked[1])
                return typed[k]
        return self.as_tuple()[k]

    def __len__(self) -> int:
        return len(self.as_tuple())

    def __iter__(self) -> Iterator[FixRecord]:
        return iter(self.as_tuple())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Entries, tuple, list)):
            return self.as_tuple() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.as_tuple())


def _walk(
    entry_cls: type[FixRecord], src: WireSource, flat: list[bytes], j: int, count: int
) -> tuple[list[FixRecord], int] | None:
    """``count`` entries from ``flat[j]`` typed by the entry class's generated walk, and where
    it stopped; None when they are not laid out as the walk expects."""
    if count <= 0:
        return [], j
    try:
        return entry_cls._walk_entries(flat, j, count, src)
    except _WALK_ERRORS:
        return None


def _careful_group(at: GroupPlace) -> tuple[FixRecord, ...]:
    """The careful parser: cuts the entries at their delimiters, naming what is wrong."""
    owner, info, src, flat, raw, i, count = at
    defects = src.defects
    n = len(flat)
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
        missing = required.difference(sub[0::2])
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
        entry._blank()
        entry._src = src
        entry._flat = sub
        entry._eager = True
        entries.append(entry)
    return tuple(entries)


def _group_error(
    owner: type[FixRecord],
    info: GroupInfo,
    src: WireSource,
    problem: str,
    tag: int,
    reason: int = REJECT_INCORRECT_FORMAT,
) -> DecodeError:
    """The error for a repeating-group problem (its text built only when there is one)."""
    return DecodeError(
        f"{owner._what()}: group {info.name}({info.tag}): {problem}",
        raw=src.frame,
        tag=tag,
        msg_type=src.msg_type(),
        reject_reason=reason,
    )


def _walk_header(h: FixRecord) -> bool:
    """Convert every field of a header at once in one generated walk over the fields after 35
    (in any order; `FixRecord._fill` reads a remembered layout's header from its places first);
    False when it does not take them all (a header field placed after the body, given twice, or
    a value that does not convert), which leaves the tag-dict path to do it (and to name the
    value)."""
    src = h._src
    assert src is not None
    try:
        end = h._walk(src.flat, 6, src.dollars)
    except _WALK_ERRORS:
        end = -1
    # a layout with header places has each of its header fields once in the run after 35:
    # a walk that ends (it stops at the first tag not the header's) took them all
    if end >= 0 and (
        src.header_at is not None
        or end - 6 == 2 * len(_header_keys(type(h)).intersection(src.present))
    ):
        h._eager = None  # every field converted
        return True
    h._blank()  # what the walk set is not to be trusted: the tag-dict path converts each field
    return False


def _header_keys(cls: type[FixRecord]) -> frozenset[bytes]:
    cached: frozenset[bytes] | None = cls.__dict__.get("_KEYS_CACHE")
    if cached is None:
        cached = frozenset(cls._BY_KEY)
        type.__setattr__(cls, "_KEYS_CACHE", cached)
    return cached
