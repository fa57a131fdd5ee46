"""Where the raw value of a decoded record's field comes from: the functions of the value path.

A decoded message keeps one `_fields.WireSource` (the frame, its flat (tag, value, ...) list,
the set of its tags, its defects, the `_fields.Layout` it shares with the messages of its tag
layout when that is remembered, the tag dict built on first need); its header and its group
entries keep the same source, an entry also its span of the flat list. Here is how a value is
found in them: by one tag (`own_raw`, `record_raw`), as a tag dict (`tag_dict`, `record_wire`),
from a remembered layout's places (`body_places`, `header_places`, `layout_places`), by the
header's walk (`_walk_header`), and a group's entries (`load_group`, `Entries`, the careful
parser `_careful_group`). Which of them a read takes, and why there are these and no others, is
``docs/maintainers/value-path.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, TypeVar, cast, overload

from ._fields import (
    REJECT_GROUP_COUNT,
    REJECT_INCORRECT_FORMAT,
    REJECT_REQUIRED_TAG_MISSING,
    WALK_ERRORS,
    Defect,
    GroupInfo,
    Layout,
    Record,
    WireSource,
    _add,
    _new,
    _set,
)
from ._values import member_table
from .errors import DecodeError

E = TypeVar("E", bound=Record)  # a group's entry class


def tag_dict(src: WireSource) -> dict[bytes, bytes]:
    """Tag -> raw value of the message's own fields (header and body, not its groups'); a tag
    given twice keeps its first value. Built on first need, kept on the source."""
    wire = src._by_tag
    if wire is None:
        flat = src.flat
        layout = src.layout
        if layout is None:
            end = _own_end(src.cls, flat, src.present)
        elif layout.own_end is not None:  # it depends on the tags alone: once per layout
            end = layout.own_end
        else:
            end = layout.own_end = _own_end(src.cls, flat, src.present)
        wire = src._by_tag = _pairs(flat if end == len(flat) else flat[:end])
    return wire


def own_raw(src: WireSource, key: bytes) -> bytes | None:
    """One raw value of the message's own fields (its first occurrence), without building the
    tag dict when the tag cannot be one its groups hold too: a read of a few fields stays
    cheap."""
    wire = src._by_tag
    if wire is not None:
        return wire.get(key)
    if key in src.cls._GROUP_TAGS:
        return tag_dict(src).get(key)
    flat = src.flat
    layout = src.layout
    if layout is not None and layout.first_places is not None:  # each tag's first place
        i = layout.first_places.get(key, -1)
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


def front_header(src: WireSource, keys: frozenset[bytes]) -> dict[bytes, bytes]:
    """Tag -> raw value of the header fields present (``keys``: the header's tags), read from
    the front of the frame: header fields follow 8, 9 and 35, so only those few pairs are
    looked at; a header field placed later in the frame (allowed, unusual) is found through
    the full tag dict."""
    flat = src.flat
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
        out = {k: v for k, v in tag_dict(src).items() if k in keys}
    return out


def body_places(src: WireSource) -> tuple[Any, ...]:
    """Where each plain field of a message of a remembered layout has its value in ``flat``, in
    the order its `_fill_at` reads them (`layout_places`; empty: none): the first occurrence
    among the message's own fields, as `tag_dict` keeps it. Once per layout
    (`Layout.body_at`)."""
    layout = src.layout
    assert layout is not None
    at = layout.body_at
    if at is None:
        own = tag_dict(src)  # the own fields are a prefix of ``flat``: first occurrences agree
        where = first_places(layout, src.flat)
        fields = src.cls._FIELDS
        places = [where[info.key] + 1 if info.key in own else -1 for info in fields]
        # none for a class without plain fields (it has no `_fill_at`)
        at = layout.body_at = layout_places(src.cls, places, src.present) if fields else ()
    return at


def layout_places(
    cls: type[Record], places: Sequence[int], present: frozenset[bytes]
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


def header_places(layout: Layout, header_at: tuple[int, ...], cls: type[Record]) -> tuple[Any, ...]:
    """Where each header field of a message of a remembered layout whose header has places
    (``header_at``: `Layout.header_at`) has its value, in the order the header's generated
    `_fill_at` reads them (`layout_places`; empty: none). Once per layout
    (`Layout.header_fill_at`)."""
    at = layout.header_fill_at = layout_places(cls, header_at, frozenset())
    return at


def first_places(layout: Layout, flat: list[bytes]) -> dict[bytes, int]:
    """Tag -> its first place in ``flat`` (a tag's, not a value's that reads alike), for a
    message of a remembered layout: the same for every message of it. Once per layout
    (`Layout.first_places`)."""
    where = layout.first_places
    if where is None:
        # from the end: the first occurrence is written last, and stays
        where = layout.first_places = dict(
            zip(flat[-2::-2], range(len(flat) - 2, -1, -2), strict=True)
        )
    return where


LevelChange = tuple[str, Any, Any, Any, Any]
"""A 35=X entry's (Symbol, MDEntryType, MDUpdateAction, MDEntryPx, MDEntrySize), as its
``level_values()`` gives them."""

# the order of a plain level change's first tags, then the tags that may follow them
_LEVEL_TAGS = (b"279", b"55", b"269", b"270", b"271")
_LEVEL_TAIL = (b"272", b"273")
# a trade's tags, in the order they may follow those (then none of an order's)
_TRADE_TAGS = (b"2446", b"828", b"1003")
# the order `trade_values` gives a trade's values in
_TRADE_ORDER = (b"2446", b"1003", b"828", b"272", b"273")
# an entry class -> its lookups and converters (`_level_readers`): MDUpdateAction's and
# MDEntryType's member lookups, the prices' and sizes' cache lookup, then the three decoders
LEVEL_READERS: dict[type[Record], tuple[Any, ...]] = {}
# a 35=X class whose layouts of plain level changes were found (`level_places`) -> the prices'
# and sizes' cache lookup and decoder of its entries (theirs in `LEVEL_READERS`)
LEVEL_NUMBERS: dict[type[Record], tuple[Any, Any]] = {}
# an entry class with a trade's fields -> the converters of `_TRADE_ORDER`'s fields
_TRADE_READERS: dict[type[Record], tuple[Any, ...]] = {}


def level_changes(msg: Record) -> list[LevelChange] | None:
    """The level changes of a decoded 35=X, read from its fields once, without typing its
    group: each entry's (Symbol, MDEntryType, MDUpdateAction, MDEntryPx, MDEntrySize) as its
    ``level_values()`` gives them, in order. For a message of a remembered layout whose group
    is the only one and whose every entry holds those five fields first, in that order, then
    at most MDEntryDate and MDEntryTime, then at most a trade's AggressorSide, TrdType and
    TradeID (none of your orders' fields: a layout's tags say so once), and nothing of the group
    after it. None otherwise, or when a value does not convert: its entries are then read as
    `md_entries` reads them (which names what does not convert). A trade entry's other values:
    `trade_values`."""
    src = msg._src
    layout = None if src is None else src.layout
    if layout is None:
        return None
    assert src is not None
    places = layout.levels
    flat = src.flat
    if places is None:
        places = level_places(msg)
    if places is False:
        return None
    assert isinstance(places, tuple)
    action_of, kind_of, number_of, action_dec, kind_dec, number_dec = LEVEL_READERS[
        msg._GROUPS[0].entry
    ]
    out = []
    try:
        for a, s, k, p, z in places:
            # a member is never falsy: a miss (None) is the decoder's (the plain value)
            action = action_of(r := flat[a]) or action_dec(r)
            kind = kind_of(r := flat[k]) or kind_dec(r)
            px = number_of(r := flat[p])  # (a zero is falsy: tested against None)
            if px is None:
                px = number_dec(r)
            size = number_of(r := flat[z])
            if size is None:
                size = number_dec(r)
            out.append((flat[s].decode(), kind, action, px, size))
    except WALK_ERRORS:
        return None
    return out


def level_places(msg: Record) -> tuple[tuple[int, int, int, int, int], ...] | bool:
    """`Layout.levels` of a decoded message of a remembered layout (`level_changes`): found at
    its first message, kept on the layout (False: not a layout of plain level changes)."""
    src = msg._src
    assert src is not None and src.layout is not None
    layout = src.layout
    places = layout.levels = _level_places(layout, src.flat) or False
    if places:
        readers = LEVEL_READERS[msg._GROUPS[0].entry]
        LEVEL_NUMBERS[layout.cls] = (readers[2], readers[5])
    return places


def _level_places(layout: Layout, flat: list[bytes]) -> tuple[tuple[int, int, int, int, int], ...]:
    """`Layout.levels` (`level_places`), found once per layout (empty: not such a layout)."""
    groups = layout.cls._GROUPS
    if len(groups) != 1:
        return ()
    entry = groups[0].entry
    if entry not in LEVEL_READERS and not _level_readers(entry):
        return ()
    i = first_places(layout, flat).get(groups[0].key, -1)
    raw = flat[i + 1] if i >= 0 else b""
    if not raw.isdigit() or len(raw) > 9:
        return ()
    n, j = len(flat), i + 2
    places = []
    trades = []
    tail = _LEVEL_TAIL + _TRADE_TAGS if entry in _TRADE_READERS else _LEVEL_TAIL
    for _ in range(int(raw)):
        if tuple(flat[j : j + 10 : 2]) != _LEVEL_TAGS:
            return ()
        places.append((j + 1, j + 3, j + 5, j + 7, j + 9))
        j += 10
        at: dict[bytes, int] = {}
        for tag in tail:
            if j < n and flat[j] == tag:
                at[tag] = j + 1
                j += 2
        trades.append(tuple(at.get(tag) for tag in _TRADE_ORDER))
    if j < n and flat[j] in entry._TAGS:
        return ()
    layout.trades = tuple(trades)
    return tuple(places)


def trade_values(msg: Record, k: int) -> tuple[Any, Any, Any, Any, Any] | None:
    """The AggressorSide, TradeID, TrdType, MDEntryDate and MDEntryTime (None: absent) of the
    ``k``-th entry of a 35=X whose `level_changes` were read (not None), as the typed entry's
    attributes give them. None when one does not convert (the typed entry names it)."""
    src: Any = msg._src
    side, trade_id, trd, day, clock = src.layout.trades[k]
    of_side, of_id, of_trd, of_day, of_clock = _TRADE_READERS[msg._GROUPS[0].entry]
    flat = src.flat
    try:
        return (
            None if side is None else of_side(flat[side]),
            None if trade_id is None else of_id(flat[trade_id]),
            None if trd is None else of_trd(flat[trd]),
            None if day is None else of_day(flat[day]),
            None if clock is None else of_clock(flat[clock]),
        )
    except WALK_ERRORS:
        return None


def _level_readers(entry: type[Record]) -> bool:
    """Keep ``entry``'s lookups and converters for `level_changes` (MDUpdateAction's and
    MDEntryType's member tables and decoders, the prices' and sizes' cache and decoder): False
    when it is not a 35=X entry of level changes."""
    fields = {info.key: info.dec for info in entry._FIELDS}
    if not set(_LEVEL_TAGS + _LEVEL_TAIL) <= fields.keys() or not hasattr(entry, "level_values"):
        return False
    action, kind, px = fields[b"279"], fields[b"269"], fields[b"270"]
    if fields[b"271"] is not px or fields[b"55"] is not bytes.decode:
        return False
    tables = [getattr(dec, "enum_cls", None) for dec in (action, kind)]
    cache = getattr(px, "cache", None)
    if None in tables or cache is None:
        return False
    members = [member_table(cls).get for cls in tables]  # type: ignore[arg-type]
    LEVEL_READERS[entry] = (members[0], members[1], cache.get, action, kind, px)
    if set(_TRADE_TAGS) <= fields.keys():
        _TRADE_READERS[entry] = tuple(fields[tag] for tag in _TRADE_ORDER)
    return True


def record_wire(rec: Record) -> dict[bytes, bytes]:
    """Tag -> raw value of a decoded record's own fields: a message's or header's from its
    source (`tag_dict`), a group entry's from its span (first occurrence of a tag)."""
    span = rec._flat
    if span is None:
        return tag_dict(rec._src)  # type: ignore[arg-type]
    return _pairs(span)


def record_raw(rec: Record, key: bytes) -> bytes | None:
    """One raw value of a decoded record's own fields (its first occurrence): a message's or
    header's from its source (`own_raw`), a group entry's from its span."""
    span = rec._flat
    if span is None:
        return own_raw(rec._src, key)  # type: ignore[arg-type]
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


def _own_end(cls: type[Record], flat: list[bytes], present: frozenset[bytes]) -> int:
    """Where the header and body fields of a message end in ``flat`` (``len(flat)``: the whole
    list holds them).

    A message with groups has them before the first group entry, read without the entries,
    unless a header or body tag is placed after it (allowed, unusual: the tags after it are
    checked as a set) or the spec places a plain field after a group of the class (`_TAIL`:
    then its fields are read from the whole frame at once, as they rarely all lead it).
    """
    group_tags = cls._GROUP_TAGS
    n = len(flat)
    if not group_tags or cls._TAIL:
        return n
    i = 6
    while i < n and flat[i] not in group_tags:
        i += 2
    if i < n and not cls._OWN_KEYS.isdisjoint(present.difference(flat[0:i:2])):
        return n
    return i


def header_raw(msg: Record, keys: frozenset[bytes]) -> dict[bytes, bytes]:
    """Raw values of the header fields of a decoded message (see `front_header`)."""
    src = msg._src
    assert src is not None
    return front_header(src, keys)


class GroupPlace(NamedTuple):
    """Where one repeating group of a decoded record is: what its parsers read."""

    owner: type[Record]  # the record's class (no reference to the record: no cycle)
    info: GroupInfo
    src: WireSource  # the message's source
    flat: list[bytes]  # the record's fields: a message's whole list, or an entry's span
    raw: bytes  # the count field's value
    i: int  # the count tag's position in ``flat``
    declared: int  # the entries its count declares (read tolerantly with none: ``len(flat)``)


# a GroupPlace made from its tuple in C (its generated __new__ is a Python call)
_place: Any = tuple.__new__


def load_group(owner: Record, info: GroupInfo) -> Any:
    """A group's entries (None when its count tag is absent), kept in its slot (a group read
    for the first time: `Record._load_group`): a group of one entry (a 35=X's usual one)
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
        i = first_places(layout, flat).get(key, -1)
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
        except WALK_ERRORS:
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


class Entries(Sequence[E]):
    """The entries of a decoded repeating group: a read-only sequence, typed as it is read.

    An entry read by index is typed with the entries before it (one generated walk, in wire
    order) and at most as many after it as were typed before: a handler that reads the first
    entry of a 20-level snapshot types one (a group of one entry is typed when the group is
    read), and reading the entries by index one after another costs time linear in them.
    Iterating, `len`, a negative index or a slice type the whole group first, and that is where
    a group that is not well formed is found: the careful parser then reads it, raising its
    `DecodeError` (or, decoded tolerantly, recording its defects) — a group with a defect after
    the entries already read does not stop those reads. Compares equal to a tuple or list of
    equal entries. Threads reading one group at once each see its entries in order
    (an entry typed by two of them at once may be two equal objects).
    """

    __slots__ = ("_at", "_done", "_state")

    def __init__(self, at: GroupPlace) -> None:
        self._at = at
        # the entries typed so far and where the next one starts, replaced as one value: two
        # threads reading at once each see a consistent pair
        self._state: tuple[tuple[E, ...], int] = ((), at.i + 2)
        self._done: tuple[E, ...] | None = None

    def as_tuple(self) -> tuple[E, ...]:
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
            walked: tuple[Sequence[Record], int] | None = ([], j)
            if count > 0:  # `_walk`, without its call
                try:
                    walked = entry_cls._walk_entries(flat, j, count, at.src)
                except WALK_ERRORS:
                    walked = None
            if walked is not None and not (
                walked[1] < len(flat) and flat[walked[1]] in entry_cls._TAGS
            ):
                done = (*typed, *cast("Sequence[E]", walked[0]))
            else:  # a member out of the walk's order: the careful parser decides
                done = cast("tuple[E, ...]", _careful_group(at))
            self._done = done
        return done

    @overload
    def __getitem__(self, k: int) -> E: ...

    @overload
    def __getitem__(self, k: slice) -> tuple[E, ...]: ...

    def __getitem__(self, k: int | slice) -> E | tuple[E, ...]:
        done = self._done
        if done is not None:
            return done[k]
        at = self._at
        if k.__class__ is int and 0 <= k < at.declared:
            typed, j = self._state
            have = len(typed)
            if k < have:
                return typed[k]
            # Up to as many entries again as are typed (within the count): each read past them
            # copies them into a new tuple, so reading the entries by index one after another
            # copies each a bounded number of times, not once per later entry (quadratic).
            # Entries that do not walk are left to the careful parser when reached: only the
            # ones up to k are asked for again.
            need = k + 1 - have
            more = min(max(need, have), at.declared - have)
            walked = _walk(at.info.entry, at.src, at.flat, j, more)
            if walked is None and more > need:
                walked = _walk(at.info.entry, at.src, at.flat, j, need)
            if walked is not None:
                typed = (*typed, *cast("Sequence[E]", walked[0]))
                self._state = (typed, walked[1])
                return typed[k]
        return self.as_tuple()[k]

    def __len__(self) -> int:
        return len(self.as_tuple())

    def __iter__(self) -> Iterator[E]:
        return iter(self.as_tuple())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Entries, tuple, list)):
            return self.as_tuple() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.as_tuple())


def _walk(
    entry_cls: type[Record], src: WireSource, flat: list[bytes], j: int, count: int
) -> tuple[Sequence[Record], int] | None:
    """``count`` entries from ``flat[j]`` typed by the entry class's generated walk, and where
    it stopped; None when they are not laid out as the walk expects."""
    if count <= 0:
        return [], j
    try:
        return entry_cls._walk_entries(flat, j, count, src)
    except WALK_ERRORS:
        return None


# The entries of a group lacking a required tag named one by one (tolerant read); past them,
# one defect per tag says how many more lack it (`_careful_group`)
NAMED_ENTRIES = 10


def _careful_group(at: GroupPlace) -> tuple[Record, ...]:
    """The careful parser: cuts the entries at their delimiters, naming what is wrong (the
    first `NAMED_ENTRIES` entries lacking a required tag one by one, the others counted)."""
    owner, info, src, flat, raw, i, count = at
    defects = src.defects
    n = len(flat)
    entry_cls = info.entry
    delim = entry_cls._DELIMITER
    tags = entry_cls._TAGS
    required = entry_cls._REQUIRED
    j = i + 2
    entries: list[Record] = []
    own = entry_cls._OWN
    named = 0  # entries lacking a required tag named so far
    more: dict[int, list[int]] = {}  # past them: a tag -> [entries lacking it, the first]
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
            if named < NAMED_ENTRIES:
                named += 1
                for tag in sorted(int(t) for t in missing):
                    text = f"{owner._what()}: group {info.name}({info.tag}) entry {k + 1} lacks "
                    _add(
                        defects,
                        Defect(tag, REJECT_REQUIRED_TAG_MISSING, f"{text}required tag {tag}"),
                    )
            else:
                for t in missing:
                    counted = more.setdefault(int(t), [0, k + 1])
                    counted[0] += 1
        entry = _new(entry_cls)
        entry._blank()
        entry._src = src
        entry._flat = sub
        entry._eager = True
        entries.append(entry)
    if more:
        assert defects is not None  # only a tolerant read counts
        for tag, (lacking, first) in sorted(more.items()):
            text = (
                f"{owner._what()}: group {info.name}({info.tag}): {lacking} more "
                f"{'entry lacks' if lacking == 1 else 'entries lack'} required tag {tag} (the "
                f"first of them entry {first}; the first {NAMED_ENTRIES} entries lacking a "
                "required tag are named one by one)"
            )
            _add(defects, Defect(tag, REJECT_REQUIRED_TAG_MISSING, text))
    return tuple(entries)


def _group_error(
    owner: type[Record],
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


def _walk_header(h: Record) -> bool:
    """Convert every field of a header at once in one generated walk over the fields after 35
    (in any order; `FixRecord._fill` reads a remembered layout's header from its places first);
    False when it does not take them all (a header field placed after the body, given twice, or
    a value that does not convert), which leaves the tag-dict path to do it (and to name the
    value)."""
    src = h._src
    assert src is not None
    try:
        end = h._walk(src.flat, 6, src.dollars)
    except WALK_ERRORS:
        end = -1
    # a layout with header places has each of its header fields once in the run after 35:
    # a walk that ends (it stops at the first tag not the header's) took them all
    if end >= 0 and (
        src.header_at is not None or end - 6 == 2 * len(h._OWN.intersection(src.present))
    ):
        h._eager = None  # every field converted
        return True
    h._blank()  # what the walk set is not to be trusted: the tag-dict path converts each field
    return False
