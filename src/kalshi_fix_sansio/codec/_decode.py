"""Reading a frame: splitting it into fields and building its typed message, strictly or
tolerantly (what is wrong becomes `Message.defects`), and checking BeginString, BodyLength and
CheckSum; and each dialect's `Codec`, which owns every cache its messages are read and written
with (`LayoutCache`, `_values.ValueCaches`, the heads of the frames it writes). The message
classes themselves are in `_message`.
"""

from __future__ import annotations

import re
from collections import deque
from itertools import count
from typing import Any

from ._fields import (
    _NOT_YET,
    BEGIN_STRING,
    REJECT_INCORRECT_FORMAT,
    REJECT_INVALID_MSGTYPE,
    REJECT_INVALID_TAG_NUMBER,
    REJECT_REQUIRED_TAG_MISSING,
    REJECT_TAG_NO_VALUE,
    REJECT_TAG_NOT_DEFINED_FOR_MSGTYPE,
    REJECT_TAG_ORDER,
    SOH,
    CarefulSource,
    CheckedSource,
    Defect,
    Defects,
    Layout,
    Record,
    WireSource,
    _new,
    _offset_of,
)
from ._message import Message, _check_repeats, _repeats, _valid_tag
from ._values import INT_MAX, INT_MIN, ValueCaches
from ._wire import front_header
from .errors import DecodeError
from .framing import checksum, sum_sound
from .redaction import SECRET_TAGS

# an integer as written canonically: what int() parses and str() writes back the same
_INTEGER_TAG = re.compile(rb"-?[1-9][0-9]*")


def _tag_number(t: bytes) -> int | None:
    """The tag number a Reject's RefTagID(371) names for ``t`` as received: a valid tag's, and
    that of an invalid tag number written as a (signed) integer, 0 or ``-1`` (QuickFIX's
    acceptance test 14a expects ``371=-1``), as long as an INT field can carry it; None for a
    tag that is not a number ("x1") or not written as one ("055", "+1", "-0"), since RefTagID
    would not show it as received."""
    if _valid_tag(t) or t == b"0":
        return int(t)
    if len(t) > 20 or _INTEGER_TAG.fullmatch(t) is None:  # 64 bits: at most 20 characters
        return None
    number = int(t)
    return number if INT_MIN <= number <= INT_MAX else None


def _frame_error(
    text: str,
    frame: bytes,
    reason: int | None = None,
    tag: int | None = None,
    offset: int | None = None,
) -> DecodeError:
    return DecodeError(text, raw=frame, reject_reason=reason, tag=tag, offset=offset)


# Every byte except '=' and SOH (deleted by translate to leave the separators in order), and the
# separator sequence of a well-formed frame of up to 65,536 fields (a longer one is told by
# `_alternate`).
_NOT_SEPARATOR = bytes(b for b in range(256) if b not in b"=\x01")
_SEPARATORS = b"=\x01" * 65536
_PREFIX9 = b"8=" + BEGIN_STRING + SOH + b"9="  # a frame starts with these bytes


def _alternate(separators: bytes) -> bool:
    """Whether a frame's separators (its '=' and SOH bytes, in order) are '=', SOH, '=', SOH,
    ..., SOH, of any length: no two alike side by side, the first '=' and the last SOH. (For
    the frames of more than 65,536 fields, `_SEPARATORS` holding the shorter ones: two scans
    in C, where the careful split they took before costs about 6 times as much per field.)"""
    return (
        separators[:1] == b"="
        and separators[-1:] == SOH
        and b"==" not in separators
        and b"\x01\x01" not in separators
    )


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
        separators = frame.translate(None, _NOT_SEPARATOR)
        if _SEPARATORS.startswith(separators) or (
            len(separators) > len(_SEPARATORS) and _alternate(separators)
        ):
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


# The raw MsgSeqNum, SenderCompID, TargetCompID, PossDupFlag (== b"Y") and SendingTime (b"" when
# absent) of a message: what a session checks every message by (`Codec.session_header`).
SessionHeader = tuple[bytes | None, bytes | None, bytes | None, bool, bytes]
_SESSION_HEADER_TAGS = (b"34", b"49", b"56", b"43", b"52")

_NO_LAYOUTS: dict[bytes, Layout] = {}

# The default bounds of a codec's remembered layouts: at most MAX_LAYOUTS, of at most
# MAX_LAYOUT_TAGS fields each (a longer frame is never remembered), of LAYOUT_TAG_BUDGET fields
# in all (what a layout costs grows with its fields: about 90 bytes a field, 420 once checked).
_MAX_LAYOUTS = 4096
_MAX_LAYOUT_TAGS = 1024
_LAYOUT_TAG_BUDGET = 1 << 17


def _size(layout: Layout) -> int:
    """How many fields a layout has (its key's tags)."""
    return layout.key.count(SOH) + 1


class LayoutCache:
    """A codec's remembered tag layouts: class -> the frame's tags joined by SOH -> `Layout`.

    A frame found clean has its tag layout remembered; a later frame of the same layout skips
    every structural check (they depend on the tags alone) and reads its values from the
    layout's places (see `_fields.Layout`). A live session sees a few dozen layouts; a snapshot
    storm, a catch-up or a replay may meet thousands.

    Bound: at most ``bound`` layouts, each of at most ``max_tags`` fields, of at most
    ``budget`` fields in all (one codec per dialect, each its own). Eviction (a clock, the
    usual approximation of least recently used): the layouts wait in a queue in the order they
    were remembered; a new layout is always remembered, and when that passes a bound the
    oldest ones leave, except that one read since it was last at the head (`Layout.used`, set
    on every hit) goes to the tail instead, marked unread. So the layouts a session reads stay,
    and a new working set is remembered from its first frame whatever the process met before:
    the cost of reading it does not depend on history (a cache that only admits a share of the
    new layouts keeps a past storm's stale ones until enough misses have gone by). A cycle over
    more distinct layouts than the bound, met again and again, is read as first seen.

    Threads decoding with one codec share it: the queue's ends and the dicts change by one C
    call each; a layout read while another thread evicts it stays valid. The count of fields
    is recounted from the queue every ``bound`` layouts remembered, so an update lost between
    threads does not move the bound for long.
    """

    __slots__ = (
        "_queue",
        "_recount",
        "_tags",
        "bound",
        "budget",
        "by_class",
        "max_tags",
        "recent",
    )

    def __init__(
        self,
        classes: list[type[Message]],
        bound: int,
        max_tags: int,
        budget: int = _LAYOUT_TAG_BUDGET,
    ) -> None:
        self.bound = bound
        self.max_tags = max_tags
        self.budget = budget
        # made once, never replaced: the codec's decode keeps a reference to it
        self.by_class: dict[type[Record], dict[bytes, Layout]] = {cls: {} for cls in classes}
        # count of fields -> the layout of as many fields the codec's decode last found here
        # (`Codec.decode_clean` tries it); made once, never replaced, as ``by_class``
        self.recent: dict[int, Layout] = {}
        self._queue: deque[Layout] = deque()
        self._tags = 0  # the fields of the layouts in the queue
        self._recount = count(1)

    def __len__(self) -> int:
        """How many layouts are remembered now (at most ``bound``)."""
        return sum(map(len, self.by_class.values()))

    @property
    def fields(self) -> int:
        """How many fields the remembered layouts have in all (at most ``budget``)."""
        return self._tags

    def forget(self) -> None:
        """Forget every layout remembered (the tests' and the benchmarks' first sight)."""
        queue, self._queue = self._queue, deque()
        self._tags = 0
        self.recent.clear()
        for layout in queue:
            self.by_class[layout.cls].pop(layout.key, None)

    def remember(
        self, cls: type[Message], key: bytes, present: frozenset[bytes]
    ) -> frozenset[bytes]:
        """Remember the layout of a frame found clean, making room for it; the set of its tags
        (a layout remembered already shares its own)."""
        layouts = self.by_class[cls]
        known = layouts.get(key)
        if known is not None:  # a tolerant decode of a known layout with a value missing
            return known.present
        size = key.count(SOH) + 1
        if self.bound <= 0 or size > self.budget:  # nothing is remembered
            return present
        queue = self._queue
        self._tags += size
        while queue and (len(queue) >= self.bound or self._tags > self.budget):
            self._evict(queue)
        layout = Layout(cls, key, present)
        queue.append(layout)
        layouts[key] = layout
        if not next(self._recount) % self.bound:
            self._tags = sum(map(_size, list(queue)))
        return present

    def _evict(self, queue: deque[Layout]) -> None:
        """Forget the layout longest unread (at most one turn of the queue)."""
        for _ in range(len(queue)):
            try:
                old = queue.popleft()
            except IndexError:  # another thread emptied it
                return
            if not old.used:
                break
            old.used = False  # a second chance
            queue.append(old)
        else:
            try:
                old = queue.popleft()
            except IndexError:
                return
        size = _size(old)
        self._tags -= size
        if self.recent.get(size) is old:
            self.recent.pop(size, None)
        olds = self.by_class[old.cls]
        if olds.get(old.key) is old:
            olds.pop(old.key, None)


def _message(
    source: type[WireSource],
    frame: bytes,
    flat: list[bytes],
    use_dollars: bool,
    defects: Defects | None,
    cls: Any,
    present: frozenset[bytes],
    header_at: Any,
    layout: Layout | None,
) -> Message:
    """A decoded message of class ``cls`` over its source: every attribute set here, no
    ``__init__`` call (`Codec.decode`'s and `Codec.decode_clean`'s hot path). Its first read
    converts that field alone (a careful source's: the whole record); its header is typed on
    first read."""
    src: WireSource = _new(source)
    src.frame = frame
    src.flat = flat
    src.dollars = use_dollars
    src.defects = defects
    src.cls = cls
    src.present = present
    src.header_at = header_at
    src.layout = layout
    src._by_tag = None
    msg: Message = _new(cls)
    msg._blank()
    msg._src = src
    msg._flat = None
    msg._eager = source.careful
    msg._header = None  # a read of None costs no exception
    return msg


class Codec:
    """One dialect's decoder, and every cache its messages are read and written with (each
    generated dialect module has one, ``_CODEC``; nothing of it is shared with another
    dialect's).

    Attributes:
        values: the bounded caches of the dialect's value converters (`_values.ValueCaches`: at
            most 4,096 values of at most 32 bytes per kind, and 4,096 prices written in cents;
            the header's fields have their own, in the generated ``common`` module, as the
            `Header` class is one for both dialects).
        layouts: the tag layouts remembered (`LayoutCache`: at most ``max_layouts`` of at most
            ``max_layout_tags`` fields, ``layout_budget`` fields in all; a clock past the
            bound).
        heads: BodyLength -> BeginString and BodyLength as written, with their byte sum, for
            the frames the dialect encodes (`_encode.finish_frame`: at most one per length up
            to 8,192, about 1 MB at most).
    """

    __slots__ = (
        "_at",
        "_by_class",
        "_classes",
        "_data_tags",
        "_header_keys",
        "_header_order",
        "_length_tags",
        "_recent",
        "_rfq_classes",
        "_spec_tags",
        "_unknown",
        "heads",
        "layouts",
        "values",
    )

    def __init__(
        self,
        classes: dict[bytes, type[Message]],
        data_tags: dict[bytes, bytes],
        rfq_classes: frozenset[type[Message]] = frozenset(),
        *,
        header: type[Record],
        spec_tags: frozenset[int],
        values: ValueCaches | None = None,
        max_layouts: int = _MAX_LAYOUTS,
        max_layout_tags: int = _MAX_LAYOUT_TAGS,
        layout_budget: int = _LAYOUT_TAG_BUDGET,
    ) -> None:
        """``classes``: MsgType -> class, ``b""`` -> the class of an unknown MsgType;
        ``data_tags``: length tag -> data tag of each Length/Data pair; ``rfq_classes``: the
        classes whose BidPx/OfferPx follow ``rfq_dollars`` instead of ``use_dollars``;
        ``header``: the header class; ``spec_tags``: every tag the spec defines (either
        product)."""
        self._classes = classes
        self._unknown = classes[b""]
        self._data_tags = data_tags
        self._length_tags = frozenset(data_tags)
        self._rfq_classes = rfq_classes
        self._spec_tags = spec_tags
        self.values = values if values is not None else ValueCaches()
        self.heads: dict[int, tuple[bytes, int]] = {}
        self.layouts = LayoutCache(
            [c for k, c in classes.items() if k], max_layouts, max_layout_tags, layout_budget
        )
        self._by_class = self.layouts.by_class
        self._recent = self.layouts.recent
        # the header's own fields (no 8, 9, 35) in spec order, as a set, and where the
        # session's five header fields are among a layout's header places
        self._header_order = tuple(info.key for info in header._FIELDS)
        self._header_keys = frozenset(self._header_order)
        self._at = tuple(self._header_order.index(t) for t in _SESSION_HEADER_TAGS)

    def decode(
        self,
        frame: bytes,
        use_dollars: bool = False,
        verify: bool = False,
        tolerant: bool = False,
        rfq_dollars: bool | None = None,
        careful: bool = False,
    ) -> Message:
        """Decode one frame into the dialect's typed message (see the dialect modules' `decode`;
        ``rfq_dollars``: BidPx/OfferPx of the RFQ classes in dollars, None: as ``use_dollars``;
        ``careful``: every value from the careful path, the fast path's reference: the careful
        field splitter, no remembered layout, no generated converter or walk). The
        options may be passed by position (the generated ``decode`` does: a call with keywords
        costs about 35 ns more), never as bare literals.
        """
        if verify:
            verify_frame(frame)
        hit: Layout | None = None
        cls: Any = None
        key: bytes | None = None
        if not careful:
            # `split_fields`' fast split, inline (the careful one when it does not apply)
            if frame[-1:] == SOH and _SEPARATORS.startswith(frame.translate(None, _NOT_SEPARATOR)):
                flat = frame.replace(b"=", SOH).split(SOH)
                del flat[-1]
            else:
                flat = split_fields(frame, self._data_tags)
            tags = flat[0::2]
            # A frame whose tags, in order, were seen before in a frame of its class with
            # nothing wrong is checked by one lookup: every structural check below depends on
            # the tags alone. (A tag without a value is not a tag check: the tolerant decode
            # looks for one each time.)
            if len(flat) >= 8:
                cls = self._classes.get(flat[5])
            key = b""  # none: an unknown MsgType or too many fields to remember
            if cls is not None and len(tags) <= self.layouts.max_tags:
                key = b"\x01".join(tags)
                hit = self._by_class.get(cls, _NO_LAYOUTS).get(key)
                # (find: half the instructions of ``in`` for a two-byte needle)
                if hit is not None and tolerant and frame.find(b"=\x01") >= 0:
                    hit = None
        if hit is not None:
            hit.used = True
            self._recent[len(tags)] = hit
            present = hit.present
            header_at = hit.header_at
            if header_at is _NOT_YET:  # the layout's second frame: its places now
                header_at = hit.header_at = self._header_places(tags, present)
            defects: Defects | None = {} if tolerant else None
            source: type[WireSource] = WireSource
        else:
            if careful:
                flat = split_fields(frame, self._data_tags, True)
            cls, flat, present, defects, source = self._checked(frame, flat, key, tolerant)
            header_at = None
        if rfq_dollars is not None and cls in self._rfq_classes:
            use_dollars = rfq_dollars  # an RFQ quote: its only switchable prices are BidPx/OfferPx
        return _message(source, frame, flat, use_dollars, defects, cls, present, header_at, hit)

    def decode_clean(
        self, frame: bytes, use_dollars: bool, rfq_dollars: bool | None
    ) -> Message | None:
        """The message ``decode(frame, use_dollars, False, True, rfq_dollars)`` makes, for a
        frame whose `Message.check` would find nothing wrong, told and read in one C-level step;
        None: not such a frame as far as this step sees (decode it, and check it, as usual).

        The frame's layout is guessed from its count of ``=`` (`LayoutCache.recent`: the
        remembered layout of as many fields `decode` last found), and that layout's frame
        pattern, the pattern `Message.check` matches (`_valuecheck.layout_matcher`: each tag in
        order, each value in its plain form and not empty, each captured), must match the frame
        whole. Its tags are then the layout's, each followed by an ``=``, and with no more
        ``=`` than fields each value is free of them: the fields `decode` splits are the
        pattern's, and are read from its groups. So the message is the one `decode` would make
        from that layout, and its `check` would return () at once: a caller that would check it
        may take it as checked (the session does), and its source is a `CheckedSource` (a
        reader may count on each value converting). Every other frame gives None here.
        """
        n = frame.count(b"=")
        hit = self._recent.get(n)
        if hit is None:
            return None
        cls: Any = hit.cls
        if rfq_dollars is not None and cls in self._rfq_classes:
            use_dollars = rfq_dollars  # as `decode` reads an RFQ quote's prices
        match = hit.pattern_dollars if use_dollars else hit.pattern_cents
        if not match or hit.header_at is _NOT_YET or not frame.isascii():
            return None
        found = match(frame)  # type: ignore[operator]
        if found is None:
            return None
        hit.used = True
        template = hit.template
        if template is None:
            template = hit.template = [x for tag in hit.key.split(SOH) for x in (tag, b"")]
        flat = template.copy()
        flat[1::2] = found.groups()
        return _message(
            CheckedSource, frame, flat, use_dollars, {}, cls, hit.present, hit.header_at, hit
        )

    def _checked(
        self, frame: bytes, flat: list[bytes], key: bytes | None, tolerant: bool
    ) -> tuple[type[Message], list[bytes], frozenset[bytes], Defects | None, type[WireSource]]:
        """The checks on the tags alone of a frame whose layout is not remembered (``key``: its
        tags joined, b"" when it is not to be remembered, None for a careful decode), each made
        once; the layout remembered when the frame is clean.

        Returns:
            The message class, the field list (split again by length when the frame holds a
            Data field), the set of its tags, its defects (tolerant: `Defects`) and its source.

        Raises:
            DecodeError: what is wrong (strict).
        """
        tags = flat[0::2]
        present = frozenset(tags)  # frozen: a remembered layout shares it
        has_data = not present.isdisjoint(self._length_tags)
        if has_data and key is not None:
            # A Length field before its Data field: the data may hold SOH or '=', so split
            # again, reading the data by its length. (The fields before the data split
            # correctly, so the Length tag is among the tags found even when the data fooled
            # the fast split; such a frame's layout is never remembered.)
            flat = split_fields(frame, self._data_tags, True)
            tags = flat[0::2]
            present = frozenset(tags)
        source = CarefulSource if key is None else WireSource
        if len(flat) < 8 or flat[0] != b"8" or flat[2] != b"9" or flat[4] != b"35":
            raise _frame_error(
                "frame must start with 8=, 9=, 35=", frame, REJECT_INCORRECT_FORMAT, offset=0
            )
        mt = flat[5]
        cls = self._classes.get(mt)
        if cls is None:
            cls = self._unknown
        unknown = cls is self._unknown
        # the checks on the tags alone, each made once
        required = cls._REQUIRED <= present
        known = present <= cls._KNOWN
        once = len(present) == len(tags) or bool(present & cls._GROUP_TAGS)
        clean = required and known and once and not unknown and self._header_first(tags, present)
        if clean and key and not has_data:
            present = self.layouts.remember(cls, key, present)
        if tolerant:
            if clean and b"=\x01" not in frame:
                defects: Defects = {}
            else:
                defects = dict.fromkeys(
                    self._structural_defects(cls, frame, flat, tags, present, unknown)
                )
            return cls, flat, present, defects, source
        if not required:
            tag = min(int(t) for t in cls._REQUIRED - present)
            raise DecodeError(
                f"{cls.__name__} (35={mt.decode('latin-1')}): required tag {tag} is missing",
                raw=frame,
                msg_type=mt.decode("latin-1"),
                tag=tag,
                reject_reason=REJECT_REQUIRED_TAG_MISSING,
                offset=None,
            )
        if not known:
            for t in present - cls._KNOWN:
                if not _valid_tag(t):
                    raise _frame_error(
                        f"invalid tag number {t!r}",
                        frame,
                        REJECT_INVALID_TAG_NUMBER,
                        tag=_tag_number(t),
                        offset=_offset_of(frame, t),
                    )
        # Tags may repeat inside repeating groups only. When a group is present the exact check
        # (a Python-level scan) waits for validate(); without groups it costs one comparison.
        if not once:
            _check_repeats(cls, frame, tags)
        return cls, flat, present, None, source

    def session_header(self, msg: Message) -> SessionHeader:
        """The raw MsgSeqNum, SenderCompID, TargetCompID, PossDupFlag (``== b"Y"``) and
        SendingTime (``b""`` when absent) of a message this codec decoded, as received: the
        fields a session checks every message by. From the remembered places of its layout
        when it has them, else from the front of the frame (the first frame of a layout, an
        unusual one)."""
        src: Any = msg._src
        at = src.header_at
        if at is None:
            header = front_header(src, self._header_keys)
            return (
                header.get(b"34"),
                header.get(b"49"),
                header.get(b"56"),
                header.get(b"43") == b"Y",
                header.get(b"52", b""),
            )
        flat = src.flat
        i_seq, i_sender, i_target, i_poss_dup, i_sent = self._at
        seq = at[i_seq]
        sender = at[i_sender]
        target = at[i_target]
        poss_dup = at[i_poss_dup]
        sent = at[i_sent]
        return (
            flat[seq] if seq > 0 else None,
            flat[sender] if sender > 0 else None,
            flat[target] if target > 0 else None,
            poss_dup > 0 and flat[poss_dup] == b"Y",
            flat[sent] if sent > 0 else b"",
        )

    def session_places(self, msg: Message) -> tuple[int, int, int, int] | None:
        """Where the raw MsgSeqNum, SenderCompID, TargetCompID and SendingTime of a message this
        codec decoded are in its field list (``msg._src.flat``), the places `session_header`
        reads them from, when its layout's places are known and it has those four fields and
        no PossDupFlag; else None. The same for every message of its layout."""
        src: Any = msg._src
        at = src.header_at
        if not at:  # None, or not known yet
            return None
        seq, sender, target, poss_dup, sent = (at[i] for i in self._at)
        if poss_dup > 0 or min(seq, sender, target, sent) < 0:
            return None
        return seq, sender, target, sent

    def _header_places(
        self, tags: list[bytes], present: frozenset[bytes]
    ) -> tuple[int, ...] | None:
        """Where each header field's value is in a frame's flat list, in `Header` field order (-1:
        absent), when the frame's first run of header fields holds each header tag of the frame
        once (a later repeat of one changes nothing: the run comes first); else None."""
        keys = self._header_keys
        run = 3
        while run < len(tags) and tags[run] in keys:
            run += 1
        head = tags[3:run]
        if not len(head) == len(set(head)) == len(present & keys):
            return None
        order = self._header_order
        places = [-1] * len(order)
        for i in range(3, run):
            places[order.index(tags[i])] = 2 * i + 1  # tag i's value is flat[2 * i + 1]
        return tuple(places)

    def _header_first(self, tags: list[bytes], present: frozenset[bytes]) -> bool:
        """Whether every header field of a frame comes before its first body field."""
        header = present & self._header_keys
        return header.issuperset(tags[3 : 3 + len(header)])

    def _structural_defects(
        self,
        cls: type[Message],
        frame: bytes,
        flat: list[bytes],
        tags: list[bytes],
        present: frozenset[bytes],
        unknown: bool,
    ) -> list[Defect]:
        """What a tolerant decode finds without converting values (`decode_frame` has found that
        something is wrong: this names it)."""
        header = present & self._header_keys
        n = len(header)
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
                    Defect(
                        tag, REJECT_REQUIRED_TAG_MISSING, f"{what}: required tag {tag} is missing"
                    )
                )
        if not present <= cls._KNOWN:
            wire = dict(zip(tags, flat[1::2], strict=True))
            for t in sorted(present - cls._KNOWN):
                value: bytes | None = wire[t]
                if _valid_tag(t) and int(t) in SECRET_TAGS:
                    value = None  # never copied where it could be shown: raw_value() has it
                if not _valid_tag(t):
                    text = f"{what}: invalid tag number {t.decode('latin-1')!r}"
                    defects.append(Defect(_tag_number(t), REJECT_INVALID_TAG_NUMBER, text, value))
                elif unknown:
                    continue  # an unknown message's body is all in extra_fields: nothing to name
                elif int(t) not in self._spec_tags:
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
                    no_value = _tag_number(t)
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


def verify_frame(frame: bytes) -> None:
    """Check BeginString, BodyLength and CheckSum of one whole frame.

    Args:
        frame: the frame, from ``8=`` to the SOH after ``10=ddd``.

    Raises:
        DecodeError: naming the field that is wrong.
    """
    prefix = _PREFIX9
    if not frame.startswith(prefix):
        raise _frame_error(f"frame does not start with {prefix!r}", frame, offset=0)
    soh = frame.find(SOH, len(prefix))
    length_raw = frame[len(prefix) : soh]
    if soh < 0 or not length_raw.isdigit() or len(length_raw) > 9:
        raise _frame_error(
            f"BodyLength(9) is not a number: {length_raw!r}", frame, tag=9, offset=len(prefix)
        )
    body_end = soh + 1 + int(length_raw)
    if sum_sound(frame, body_end):
        return
    trailer = frame[body_end:]
    if len(trailer) != 7 or not trailer.startswith(b"10=") or not trailer.endswith(SOH):
        raise _frame_error(
            f"BodyLength(9) is {int(length_raw)} but the body is not followed by CheckSum(10) "
            f"(frame is {len(frame)} bytes)",
            frame,
            tag=9,
            offset=len(prefix),
        )
    expected = checksum(frame[:body_end])
    got = trailer[3:6]
    raise _frame_error(
        f"CheckSum(10) is {got.decode('latin-1')}, computed {expected:03d}",
        frame,
        tag=10,
        offset=body_end,
    )


def rfq_units_for(
    table: dict[str, str], session_type: str, use_dollars: bool, follow_use_dollars: bool
) -> str:
    """The RFQ price units of a session type from its dialect's table (see the dialects')."""
    if follow_use_dollars:
        return "dollars" if use_dollars else "cents"
    return table.get(session_type, "cents")


def rfq_dollars(rfq_units: str, error: type[Exception]) -> bool:
    """``rfq_units`` as the flag the codec reads; ``error`` for anything but cents/dollars."""
    if rfq_units == "cents":
        return False
    if rfq_units == "dollars":
        return True
    raise error(f"rfq_units must be 'cents' or 'dollars', got {rfq_units!r}")
