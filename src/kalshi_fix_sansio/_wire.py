"""Where a decoded record's raw values come from: the frame's flat (tag, value, ...) list, the tag
dicts built from it (a message's own fields without its entries), its repeating groups (cut into
entries and typed by the generated walk, or by the careful parser that names what is wrong) and
its header (typed by a walk from the first field after 35). The records themselves are in
`_message`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, overload

from ._fields import (
    _WALK_ERRORS,
    REJECT_GROUP_COUNT,
    REJECT_INCORRECT_FORMAT,
    REJECT_REQUIRED_TAG_MISSING,
    Defect,
    GroupInfo,
    Src,
    _add,
    _new,
)
from .errors import DecodeError

if TYPE_CHECKING:
    from ._message import FixRecord, Message

def _wire(src: Src) -> dict[bytes, bytes]:
    """Tag -> raw value of a record's own fields (a message: header and body, not its groups)."""
    wire: dict[bytes, bytes] | None = src[1]
    if wire is None:
        cls = src[5]
        if cls is not None and cls._GROUP_TAGS and not _fields_after_groups(cls):
            wire = src[1] = _own_wire(cls, src[2], src[6])
        else:
            wire = src[1] = _pairs(src[2])
    return wire


def _raw_of(src: Src, key: bytes) -> bytes | None:
    """One raw value of a record (its first occurrence), without building the tag dict when a
    message's tag cannot be one its groups hold too: one read of a few fields stays cheap."""
    wire: dict[bytes, bytes] | None = src[1]
    if wire is not None:
        return wire.get(key)
    cls = src[5]
    if cls is None or key in cls._GROUP_TAGS:
        return _wire(src).get(key)
    flat: list[bytes] = src[2]
    i = 0
    try:
        while True:
            i = flat.index(key, i)
            if not i & 1:  # a tag, not a value that reads alike
                return flat[i + 1]
            i += 1
    except ValueError:
        return None


def _pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    """Tag -> value of a flat list; a tag given twice keeps its first value (as `raw_value`)."""
    it = iter(flat)
    wire = dict(zip(it, it, strict=False))
    if len(wire) * 2 != len(flat):  # a repeated tag (a defect): the first occurrence counts
        wire = {}
        for i in range(0, len(flat) - 1, 2):
            wire.setdefault(flat[i], flat[i + 1])
    return wire


def _own_wire(
    cls: type[Message], flat: list[bytes], present: frozenset[bytes]
) -> dict[bytes, bytes]:
    """The header and body fields of a message with groups, without reading the entries.

    They come before the first group entry; the tags after it are checked, as a set, for a
    header or body tag placed later (allowed, unusual), in which case the whole frame is read.
    A tag given twice keeps its first value either way.
    """
    group_tags = cls._GROUP_TAGS
    i = 6
    n = len(flat)
    while i < n and flat[i] not in group_tags:
        i += 2
    wire = _pairs(flat[:i])
    if i < n and not _own_keys(cls).isdisjoint(present.difference(wire)):
        wire = _pairs(flat)
    return wire


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
        cached = frozenset(
            [*cls._HEADER_CLS._BY_KEY, *cls._BY_KEY, *(g.key for g in cls._GROUPS)]
        )
        type.__setattr__(cls, "_OWN_KEYS_CACHE", cached)
    return cached


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
    last = len(flat) - 2
    tag = flat[6]  # a decoded frame has 8, 9, 35 and at least one field more
    while tag in keys:
        out[tag] = flat[i + 1]
        if i == last:
            break
        i += 2
        tag = flat[i]
    if b"34" not in out or b"49" not in out or b"56" not in out or b"52" not in out:
        wire = _wire(src)
        out = {k: v for k, v in wire.items() if k in keys}
    return out


def _parse_group(owner: FixRecord, info: GroupInfo, src: Src) -> Sequence[FixRecord] | None:
    """A group's entries (None when its count tag is absent): `Entries` (typed as they are
    read) when its count is readable and its entries hold no nested group, else the careful
    parser's tuple."""
    flat: list[bytes] = src[2]
    key = info.key
    # the count tag's first occurrence at an even (tag) position: where `_raw_of` finds it
    i = 0
    try:
        while True:
            i = flat.index(key, i)
            if not i & 1:
                break
            i += 1
    except ValueError:
        return None
    raw = flat[i + 1]
    n = len(flat)
    # bounded before use: no message holds more entries than it has fields
    count = int(raw) if raw.isdigit() and len(raw) <= 9 else -1
    if 0 < count <= n // 2 and not info.entry._GROUPS:
        return Entries(type(owner), info, src, raw, i, count)
    if count < 0 or count > n // 2:
        problem = "is not a number" if count < 0 else "is more than the message can hold"
        error = _group_error(owner, info, src, f"count {raw!r} {problem}", info.tag)
        defects = src[4]
        if defects is None:
            raise error
        # tolerant: read the entries that are there
        _add(defects, Defect(info.tag, REJECT_INCORRECT_FORMAT, str(error), raw))
        count = n
    return _careful_group(owner, info, src, raw, i, count)


class Entries(Sequence["FixRecord"]):
    """The entries of a decoded repeating group: a read-only sequence, typed as it is read.

    An entry read by index is typed with the entries before it (one generated walk, in wire
    order), not the ones after it: a handler that reads the first entry of a 20-level snapshot
    types one. Iterating, `len`, a negative index or a slice type the whole group first, and
    that is where a group that is not well formed is found: the careful parser then reads it,
    raising its `DecodeError` (or, decoded tolerantly, recording its defects) — a group with a
    defect after the entries already read does not stop those reads. Compares equal to a tuple
    or list of equal entries. Threads reading one group at once each see its entries in order
    (an entry typed by two of them at once may be two equal objects).
    """

    __slots__ = ("_count", "_done", "_i", "_info", "_owner", "_raw", "_src", "_state")

    def __init__(
        self, owner: type[FixRecord], info: GroupInfo, src: Src, raw: bytes, i: int, count: int
    ) -> None:
        self._owner = owner  # its class: the message holds this sequence (no reference cycle)
        self._info = info
        self._src = src
        self._raw = raw
        self._i = i  # the count tag's position in the flat list
        self._count = count
        # the entries typed so far and where the next one starts, replaced as one value: two
        # threads reading at once each see a consistent pair
        self._state: tuple[tuple[FixRecord, ...], int] = ((), i + 2)
        self._done: tuple[FixRecord, ...] | None = None

    def _all(self) -> tuple[FixRecord, ...]:
        done = self._done
        if done is None:
            typed, j = self._state
            src = self._src
            entry_cls = self._info.entry
            flat: list[bytes] = src[2]
            walked = _walk(entry_cls, src, j, self._count - len(typed))
            if walked is not None and not (
                walked[1] < len(flat) and flat[walked[1]] in entry_cls._TAGS
            ):
                done = (*typed, *walked[0])
            else:  # a member out of the walk's order: the careful parser decides
                done = _careful_group(
                    self._owner, self._info, src, self._raw, self._i, self._count
                )
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
        if k.__class__ is int and 0 <= k < self._count:
            typed, j = self._state
            if k < len(typed):
                return typed[k]
            walked = _walk(self._info.entry, self._src, j, k + 1 - len(typed))
            if walked is not None:
                typed = (*typed, *walked[0])
                self._state = (typed, walked[1])
                return typed[k]
        return self._all()[k]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[FixRecord]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Entries, tuple, list)):
            return self._all() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._all())


def _walk(
    entry_cls: type[FixRecord], src: Src, j: int, count: int
) -> tuple[list[FixRecord], int] | None:
    """``count`` entries from ``flat[j]`` typed by the entry class's generated walk, and where
    it stopped; None when they are not laid out as the walk expects."""
    if count <= 0:
        return [], j
    try:
        return entry_cls._walk_entries(src[2], j, count, src)
    except _WALK_ERRORS:
        return None


def _careful_group(
    owner: FixRecord | type[FixRecord], info: GroupInfo, src: Src, raw: bytes, i: int, count: int
) -> tuple[FixRecord, ...]:
    """The careful parser: cuts the entries at their delimiters, naming what is wrong."""
    frame, _, flat, use_dollars, defects = src[:5]
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
        entry._blank()
        entry._src = [frame, d, sub, use_dollars, defects, None, None]
        entry._eager = True
        entries.append(entry)
    return tuple(entries)


def _group_error(
    owner: FixRecord | type[FixRecord],
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


def _walk_header(h: FixRecord) -> bool:
    """Convert every field of a header in one generated walk over the fields after 35 (in any
    order); False when the walk does not take them all (a header field placed after the body,
    given twice, or a value that does not convert), which leaves the tag-dict path to do it."""
    src = h._src
    assert src is not None
    try:
        end = h._walk(src[2], 6, src[3])
    except _WALK_ERRORS:
        end = -1
    if end >= 0 and end - 6 == 2 * len(_header_keys(type(h)).intersection(src[6])):
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
