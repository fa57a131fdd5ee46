# private: the book's fast paths against the codec's lazy slots and caches (`_fields`)
"""The book update's fast paths held to the careful ones.

`Books` applies the common entry of a decoded 35=X (a level of a book with its snapshot, applying
cleanly) inline from the values the entry's walk converted; every other entry is read through its
attributes, field by field. A decoded 35=X entry's MDEntryTime is converted by its walk only when
the value is cached (a miss is left lazy, converted when read), and a group of one entry is typed
when the group is first read. Each is compared here with the path it shortcuts; the lazy
member is looked at through the generated walk's own slots and the codec's sentinel (the private
modules `_fields` and `_generated`, whose codec `_CODEC` makes `decode_clean`'s messages: their
trades kept raw by `Books._take`). A long 35=X's deferred price lists are compared with the
short message's path by lowering `book._DEFER_ENTRIES`, the book module's private threshold.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal as D
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import Books, DecodeError, Entries, Header
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec import level_changes, trade_values
from kalshi_fix_sansio.codec._fields import _LAZY
from kalshi_fix_sansio.codec._generated import margin as gm
from kalshi_fix_sansio.codec._generated import prediction as gp
from kalshi_fix_sansio.trading import book

SYMBOLS = ("KXA-26DEC31-T1", "KXB-26DEC31-T2")
DAY = date(2026, 11, 23)
HDR = Header(
    sender_comp_id="KalshiMD",
    target_comp_id="key",
    msg_seq_num=2,
    sending_time=datetime(2026, 11, 23, 18, 50, tzinfo=timezone.utc),
)
ENTRY_ATTRS = (
    "md_update_action",
    "symbol",
    "md_entry_type",
    "md_entry_px",
    "md_entry_size",
    "md_entry_date",
    "md_entry_time",
    "aggressor_side",
    "trd_type",
    "trade_id",
    "cl_ord_id",
    "alloc_account",
)


def decoded(d: Any, message: Any) -> Any:
    return d.decode(d.encode(message, HDR, use_dollars=True), use_dollars=True)


def plain_view(message: Any) -> Any:
    """The message as an object that is no generated record: `Books` reads its attributes."""
    entries = [
        SimpleNamespace(**{a: getattr(e, a) for a in ENTRY_ATTRS}) for e in message.md_entries
    ]
    return SimpleNamespace(MSG_TYPE="X", md_entries=entries)


def snapshot(d: Any, symbol: str) -> Any:
    e = d.MarketDataSnapshotFullRefreshMDEntry
    return d.MarketDataSnapshotFullRefresh(
        symbol=symbol,
        md_entries=[
            e(
                md_entry_type=d.MDEntryType(t),
                md_entry_px=D(px),
                md_entry_size=D("10.00"),
                md_entry_date=DAY,
                md_entry_time=time(18, 50, tzinfo=timezone.utc),
            )
            for t, px in (("0", "0.3000"), ("0", "0.3100"), ("1", "0.6000"), ("1", "0.6100"))
        ],
    )


entry_fields = st.fixed_dictionaries(
    {
        "md_update_action": st.sampled_from(["0", "1", "2", "7"]),
        "symbol": st.sampled_from(SYMBOLS),
        "md_entry_type": st.sampled_from(["0", "1", "2", "9"]),
        "md_entry_px": st.sampled_from(
            ["0.3000", "0.3100", "0.4500", "0.6000", "0.6100", "0.2500"]
        ),
        "md_entry_size": st.sampled_from(["0", "1.00", "5.00", "-1"]),
        "ms": st.integers(0, 999),
        "own": st.booleans(),
    }
)


def entry(d: Any, f: dict[str, Any]) -> Any:
    own = {"cl_ord_id": "c-1", "alloc_account": 2} if f["own"] else {}
    return d.MarketDataIncrementalRefreshMDEntry(
        md_update_action=d.MDUpdateAction(f["md_update_action"])
        if f["md_update_action"] != "7"
        else "7",
        symbol=f["symbol"],
        md_entry_type=d.MDEntryType(f["md_entry_type"]) if f["md_entry_type"] != "9" else "9",
        md_entry_px=D(f["md_entry_px"]),
        md_entry_size=D(f["md_entry_size"]),
        md_entry_date=DAY,
        md_entry_time=time(18, 50, 0, f["ms"] * 1000, tzinfo=timezone.utc),
        **own,
    )


def state(books: Books) -> list[Any]:
    return [
        (b.symbol, b.depth(), b.consistent, b.has_snapshot, list(b.trades), list(b.own_orders))
        for b in books
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dialect=st.sampled_from([p, m]),
    legacy=st.booleans(),
    messages=st.lists(st.lists(entry_fields, min_size=1, max_size=4), min_size=1, max_size=8),
)
def test_decoded_entries_apply_as_entries_read_field_by_field(
    dialect: Any, legacy: bool, messages: list[list[dict[str, Any]]]
) -> None:
    """The same 35=X messages, decoded (the inline path for the common entry) and as plain
    objects (every entry read through its attributes): the same updates, reports and books."""
    fast, careful = Books(legacy_actions=legacy), Books(legacy_actions=legacy)
    for books in (fast, careful):
        books.apply(decoded(dialect, snapshot(dialect, SYMBOLS[0])))  # SYMBOLS[1]: none
    for fields in messages:
        msg = decoded(
            dialect,
            dialect.MarketDataIncrementalRefresh(md_entries=[entry(dialect, f) for f in fields]),
        )
        got = fast.apply(msg)
        want = careful.apply(plain_view(msg))
        assert got == want
        assert state(fast) == state(careful)


def test_the_common_entries_take_the_inline_path() -> None:
    """NEW, CHANGE and DELETE of a level, applied cleanly, read no entry attribute but
    `level_values` (a property read would fail here), and the book changes as the entries
    say."""
    books = Books()
    books.apply(decoded(p, snapshot(p, SYMBOLS[0])))
    msg = decoded(
        p,
        p.MarketDataIncrementalRefresh(
            md_entries=[
                entry(
                    p,
                    {
                        "md_update_action": a,
                        "symbol": SYMBOLS[0],
                        "md_entry_type": t,
                        "md_entry_px": px,
                        "md_entry_size": size,
                        "ms": 5,
                        "own": False,
                    },
                )
                for a, t, px, size in (
                    ("0", "0", "0.3200", "4.00"),
                    ("1", "1", "0.6000", "7.00"),
                    ("2", "0", "0.3000", "0"),
                )
            ]
        ),
    )
    entries = msg.md_entries
    assert entries.__class__ is Entries
    typed = entries.as_tuple()

    class Guard(type(typed[0])):  # type: ignore[misc]
        __slots__ = ()

        def __getattribute__(self, name: str) -> Any:
            if not name.startswith("_") and name != "level_values":
                raise AssertionError(f"read {name}")
            return object.__getattribute__(self, name)

    for e in typed:
        e.__class__ = Guard
    updates = books.apply(msg)
    assert updates.symbols == [SYMBOLS[0]] and not updates.inconsistencies
    book = books[SYMBOLS[0]]
    assert book.bids.depth() == [
        p_level("0.3200", "4.00"),
        p_level("0.3100", "10.00"),
    ]
    assert book.offers.depth() == [p_level("0.6000", "7.00"), p_level("0.6100", "10.00")]


def test_a_trade_of_a_book_with_its_snapshot_takes_the_inline_path() -> None:
    """A trade entry of a book with its snapshot reads `level_values` and the trade's own
    fields only (not its symbol, type, price and size again, as `_entry` does), and is the
    trade the careful path makes."""
    msg = decoded(
        p,
        p.MarketDataIncrementalRefresh(
            md_entries=[
                entry(
                    p,
                    {
                        "md_update_action": "0",
                        "symbol": SYMBOLS[0],
                        "md_entry_type": "2",
                        "md_entry_px": "0.4500",
                        "md_entry_size": "5.00",
                        "ms": 7,
                        "own": False,
                    },
                )
            ]
        ),
    )
    careful = Books()
    careful.apply(decoded(p, snapshot(p, SYMBOLS[0])))
    want = careful.apply(plain_view(msg))
    (e,) = msg.md_entries
    allowed = {"level_values", "trd_type", "aggressor_side", "trade_id"}
    allowed |= {"md_entry_date", "md_entry_time"}

    class Guard(type(e)):  # type: ignore[misc]
        __slots__ = ()

        def __getattribute__(self, name: str) -> Any:
            if not name.startswith("_") and name not in allowed:
                raise AssertionError(f"read {name}")
            return object.__getattribute__(self, name)

    e.__class__ = Guard
    books = Books()
    books.apply(decoded(p, snapshot(p, SYMBOLS[0])))
    got = books.apply(msg)
    assert got == want and len(got.trades) == 1 and got.symbols == [SYMBOLS[0]]
    assert state(books) == state(careful)


def p_level(px: str, size: str) -> Any:
    from kalshi_fix_sansio.trading.book import Level

    return Level(D(px), D(size))


def frame_x(time_text: str, tail: str = "") -> bytes:
    body = (
        f"268=1|279=0|55={SYMBOLS[0]}|269=0|270=0.3000|271=1.00|272=20261123|273={time_text}|{tail}"
    )
    head = "35=X|49=KalshiMD|56=key|34=2|52=20261123-18:50:00.000|"
    data = (head + body).replace("|", "\x01").encode()
    out = b"8=FIXT.1.1\x019=" + str(len(data)).encode() + b"\x01" + data
    return out + b"10=" + f"{sum(out) % 256:03d}".encode() + b"\x01"


def test_a_time_missing_its_cache_is_converted_when_read() -> None:
    gp._VALUES.times.clear()
    raw = frame_x("18:51:02.345")
    msg = p.decode(raw, use_dollars=True)
    (e,) = msg.md_entries
    assert e._md_entry_time is _LAZY and e._eager is True  # the walk left it to its read
    assert e.md_entry_px == D("0.30") and e.md_entry_date == DAY
    assert e.md_entry_time == time(18, 51, 2, 345000, tzinfo=timezone.utc)
    assert e._eager is None
    # cached now: the next entry's walk converts it
    (e2,) = p.decode(raw, use_dollars=True).md_entries
    assert e2._eager is None and e2.md_entry_time == e.md_entry_time
    # a lazy time is converted when the message is encoded again and when it is checked
    again = p.decode(frame_x("18:51:03.000"), use_dollars=True)
    assert again.md_entries[0]._md_entry_time is _LAZY
    assert p.encode(again, again.header, use_dollars=True) == frame_x("18:51:03.000")
    checked = p.decode(frame_x("18:51:04.000"), use_dollars=True, tolerant=True)
    assert checked.md_entries[0]._md_entry_time is _LAZY
    assert checked.check() == ()
    assert checked.md_entries[0].md_entry_time == time(18, 51, 4, tzinfo=timezone.utc)


def test_a_bad_time_left_lazy_is_named_when_read() -> None:
    strict = p.decode(frame_x("25:61:00.000"), use_dollars=True)
    (e,) = strict.md_entries
    assert e.md_entry_px == D("0.30")
    with pytest.raises(DecodeError) as err:
        e.md_entry_time  # noqa: B018
    assert err.value.tag == 273
    tolerant = p.decode(frame_x("25:61:00.000"), use_dollars=True, tolerant=True)
    assert [d.tag for d in tolerant.check()] == [273]
    assert tolerant.md_entries[0].md_entry_time is None


def test_a_one_entry_group_is_a_typed_tuple_when_read_and_a_stray_member_still_found() -> None:
    msg = p.decode(frame_x("18:50:00.123"), use_dollars=True)
    entries = msg.md_entries
    assert entries.__class__ is tuple and len(entries) == 1  # read whole: a plain tuple
    assert entries[0]._md_entry_px == D("0.30")  # typed by the walk when the group was read
    # members of the entry out of the walk's order (AggressorSide after ClOrdID): the entry
    # read by index is the walk's, the group read whole the careful parser's, as for a longer
    # group
    stray = frame_x("18:50:00.123", "11=c-1|2446=1|")
    careful = gp._CODEC.decode(stray, use_dollars=True, careful=True)
    (want,) = careful.md_entries
    assert want.aggressor_side == p.AggressorSide.BUY and want.cl_ord_id == "c-1"
    msg = p.decode(stray, use_dollars=True)
    assert msg.md_entries._done is None
    assert msg.md_entries[0].aggressor_side is None  # the walk stopped before it
    (got,) = list(msg.md_entries)
    assert got._flat == want._flat and got.aggressor_side == p.AggressorSide.BUY


def level_attrs(e: Any) -> tuple[Any, ...]:
    return (e.symbol, e.md_entry_type, e.md_update_action, e.md_entry_px, e.md_entry_size)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dialect=st.sampled_from([p, m]),
    fields=st.lists(entry_fields, min_size=1, max_size=4),
    careful=st.booleans(),
)
def test_level_values_are_the_attributes_or_none(
    dialect: Any, fields: list[dict[str, Any]], careful: bool
) -> None:
    """`level_values()` of a decoded 35=X entry (walked, or carefully parsed and not read yet)
    equals what its attributes read, or is None: never for a walked entry that names none of
    your orders, always for one that does."""
    frame = dialect.encode(
        dialect.MarketDataIncrementalRefresh(md_entries=[entry(dialect, f) for f in fields]),
        HDR,
        use_dollars=True,
    )
    codec = gp._CODEC if dialect is p else gm._CODEC
    msg = codec.decode(frame, use_dollars=True, careful=careful)
    for e, f in zip(msg.md_entries, fields, strict=True):
        got = e.level_values()
        if got is not None:
            assert got == level_attrs(e)
            assert not f["own"]
        elif not careful:
            assert f["own"]
        if f["own"]:
            assert got is None
    for e in msg.md_entries:  # every value read through its attribute: given when not own
        level_attrs(e)
        assert (e.level_values() is None) == (e.cl_ord_id is not None)


PRICES = tuple(f"0.{k:02d}00" for k in range(20, 80))  # 60 levels: long messages add and drop
level = st.tuples(
    st.sampled_from(["0", "1", "2"]),
    st.sampled_from(PRICES),
    st.sampled_from(["1.00", "5.00", "0", "-1"]),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dialect=st.sampled_from([p, m]),
    legacy=st.booleans(),
    levels=st.lists(level, min_size=1, max_size=90),
    messages=st.lists(
        st.lists(
            st.tuples(entry_fields, st.sampled_from(PRICES)),
            min_size=book._DEFER_ENTRIES + 1,
            max_size=2 * book._DEFER_ENTRIES,
        ),
        min_size=1,
        max_size=2,
    ),
)
def test_a_message_of_many_levels_applies_as_its_levels_one_by_one(
    dialect: Any,
    legacy: bool,
    levels: list[tuple[str, str, str]],
    messages: list[list[tuple[dict[str, Any], str]]],
) -> None:
    """A snapshot, and a 35=X of more than `_DEFER_ENTRIES` entries, change the sides' price
    dicts and put each price list in order once at the end (a memmove per level made a long
    message quadratic): the same levels as the snapshot lists (the last of a price kept), and
    the same updates, reports and books as the same 35=X applied entry by entry (the path of
    a short message, forced here)."""
    e = dialect.MarketDataSnapshotFullRefreshMDEntry
    snap = dialect.MarketDataSnapshotFullRefresh(
        symbol=SYMBOLS[0],
        md_entries=[
            e(
                md_entry_type=t,
                md_entry_px=D(px),
                md_entry_size=D(size),
                md_entry_date=DAY,
                md_entry_time=time(18, 50, tzinfo=timezone.utc),
            )
            for t, px, size in levels
        ],
    )
    deferred, one_by_one = Books(legacy_actions=legacy), Books(legacy_actions=legacy)
    for books in (deferred, one_by_one):
        books.apply(decoded(dialect, snap))
    want: dict[str, dict[D, D]] = {"0": {}, "1": {}}
    for t, px, size in levels:
        if t in want and D(size) > 0:
            want[t][D(px)] = D(size)
    got = deferred[SYMBOLS[0]]
    assert got.bids.depth() == [p_level(str(x), str(want["0"][x])) for x in sorted(want["0"])[::-1]]
    assert got.offers.depth() == [p_level(str(x), str(want["1"][x])) for x in sorted(want["1"])]
    for drawn in messages:
        msg = decoded(
            dialect,
            dialect.MarketDataIncrementalRefresh(
                md_entries=[entry(dialect, {**f, "md_entry_px": px}) for f, px in drawn]
            ),
        )
        long = deferred.apply(msg)
        with mock.patch.object(book, "_DEFER_ENTRIES", len(drawn)):
            short = one_by_one.apply(msg)
        assert long == short
        assert state(deferred) == state(one_by_one)


def _levels_message(d: Any, fields: list[dict[str, Any]]) -> Any:
    """A 35=X of ``fields`` decoded twice: the second decode is of a remembered layout."""
    message = d.MarketDataIncrementalRefresh(md_entries=[entry(d, f) for f in fields])
    decoded(d, message)
    return decoded(d, message)


def _level(action: str, kind: str, px: str, size: str, own: bool = False) -> dict[str, Any]:
    return {
        "md_update_action": action,
        "symbol": SYMBOLS[0],
        "md_entry_type": kind,
        "md_entry_px": px,
        "md_entry_size": size,
        "ms": 7,
        "own": own,
    }


@pytest.mark.parametrize("d", [p, m])
def test_level_changes_are_the_entries_level_values(d: Any) -> None:
    """`level_changes` reads a 35=X of plain level changes from its fields once: each entry's
    `level_values`, in order, its group left untyped; the books apply it as the typed entries
    (the careful path, attribute by attribute, agrees)."""
    fields = [_level("0", "0", "0.3200", "4.00"), _level("2", "1", "0.6100", "0")]
    msg = _levels_message(d, fields)
    rows = level_changes(msg)
    assert msg._md_entries is _LAZY  # not typed by it
    assert rows == [e.level_values() for e in msg.md_entries]
    assert rows is not None and rows[0][0] == SYMBOLS[0] and rows[1][2] == "2"
    fast, careful = Books(), Books()
    for books in (fast, careful):
        books.apply(decoded(d, snapshot(d, SYMBOLS[0])))
    assert fast.apply(_levels_message(d, fields)) == careful.apply(plain_view(msg))
    assert state(fast) == state(careful)


def _trade_entry(d: Any, ms: int, **extra: Any) -> Any:
    return d.MarketDataIncrementalRefreshMDEntry(
        md_update_action=d.MDUpdateAction("0"),
        symbol=SYMBOLS[0],
        md_entry_type=d.MDEntryType("2"),
        md_entry_px=D("0.4500"),
        md_entry_size=D("3.00"),
        md_entry_date=DAY,
        md_entry_time=time(18, 50, 0, ms * 1000, tzinfo=timezone.utc),
        **extra,
    )


@pytest.mark.parametrize("d", [p, m])
@pytest.mark.parametrize(
    "extra",
    [
        {"aggressor_side": "1", "trade_id": "t-1"},
        {"aggressor_side": "2", "trd_type": 1, "trade_id": "t-2"},
        {"trd_type": 5},  # not a member: the plain value
        {},
    ],
)
def test_a_trade_s_values_are_read_from_its_fields(d: Any, extra: dict[str, Any]) -> None:
    """A 35=X with a trade's fields is read from its fields too: `level_changes` gives each
    entry's `level_values`, `trade_values` a trade's AggressorSide, TradeID, TrdType,
    MDEntryDate and MDEntryTime as its typed entry's attributes give them (its group left
    untyped), and the books apply it as the careful path does."""
    if "aggressor_side" in extra:
        extra = {**extra, "aggressor_side": d.AggressorSide(extra["aggressor_side"])}
    if extra.get("trd_type") == 1:
        extra = {**extra, "trd_type": d.TrdType(1)}
    message = d.MarketDataIncrementalRefresh(
        md_entries=[
            _trade_entry(d, 7, **extra),
            entry(d, _level("1", "1", "0.6000", "4.00")),
            _trade_entry(d, 9),
        ]
    )
    decoded(d, message)
    msg = decoded(d, message)  # a remembered layout
    rows = level_changes(msg)
    values = [trade_values(msg, k) for k in range(3)]
    assert msg._md_entries is _LAZY  # not typed by them
    typed = decoded(d, message).md_entries
    assert rows == [e.level_values() for e in typed]
    assert values == [
        (e.aggressor_side, e.trade_id, e.trd_type, e.md_entry_date, e.md_entry_time) for e in typed
    ]
    fast, careful = Books(), Books()
    for books in (fast, careful):
        books.apply(decoded(d, snapshot(d, SYMBOLS[0])))
    got = fast.apply(msg)
    assert got == careful.apply(plain_view(decoded(d, message)))
    assert len(got.trades) == 2 and state(fast) == state(careful)


def test_a_trade_value_that_does_not_convert_is_read_by_the_typed_entry() -> None:
    """`trade_values` is None when a trade's value does not convert; the books then read the
    typed entry, which names it (as the careful path does)."""
    gp._VALUES.times.clear()
    tail = "2446=1|1003=t-1|"
    good = frame_x("18:51:02.345", tail).replace(b"269=0", b"269=2")
    bad = frame_x("25:61:00.000", tail).replace(b"269=0", b"269=2")
    for frame in (good, good):  # the second decode: a remembered layout
        msg = p.decode(_summed(frame), use_dollars=True)
    assert level_changes(msg) is not None
    want = (p.AggressorSide("1"), "t-1", None, DAY, time(18, 51, 2, 345000, timezone.utc))
    assert trade_values(msg, 0) == want
    msg = p.decode(_summed(bad), use_dollars=True)
    assert level_changes(msg) is not None and trade_values(msg, 0) is None
    books = Books()
    books.apply(decoded(p, snapshot(p, SYMBOLS[0])))
    with pytest.raises(DecodeError) as err:
        books.apply(msg)
    assert err.value.tag == 273


def _summed(frame: bytes) -> bytes:
    """``frame`` with its CheckSum made again."""
    body = frame[: frame.rindex(b"10=")]
    return body + b"10=%03d\x01" % (sum(body) % 256)


def test_level_changes_of_other_messages_are_none() -> None:
    """None (the entries are typed and read as before) for a 35=X with one of your orders, a
    message that was not decoded, and a value that does not convert."""
    assert level_changes(_levels_message(p, [_level("0", "0", "0.3200", "4.00", own=True)])) is None
    built = p.MarketDataIncrementalRefresh(md_entries=[entry(p, _level("0", "0", "0.32", "4"))])
    assert level_changes(built) is None
    msg = _levels_message(p, [_level("0", "0", "0.3200", "4.00")])
    frame = msg._src.frame.replace(b"270=0.32", b"270=0.3x")
    frame = frame[: frame.rindex(b"10=")] + b"10=%03d\x01" % (
        sum(frame[: frame.rindex(b"10=")]) % 256
    )
    bad = p.decode(frame, use_dollars=True, tolerant=True)
    assert level_changes(bad) is None


def test_a_clean_message_s_trades_are_kept_raw_and_made_as_apply_makes_them() -> None:
    """`Books._take` (the client desk's apply, its updates unread): a 35=X that
    `Codec.decode_clean` made keeps its trades as raw values, made `Trade`s when `Book.trades`
    is read, the ones `apply` makes, in order with the trades of a message decoded otherwise
    between them (the general path: made at once); the books alike."""
    codec = gp._CODEC
    message = p.MarketDataIncrementalRefresh(
        md_entries=[
            _trade_entry(p, 7, aggressor_side=p.AggressorSide("1"), trade_id="t-1"),
            entry(p, _level("1", "1", "0.6000", "4.00")),
            _trade_entry(p, 9, trd_type=p.TrdType(1)),
        ]
    )
    frame = p.encode(message, HDR, use_dollars=True)
    for _ in range(3):  # remembered, then its places, then its pattern
        assert codec.decode(frame, True, False, True).check() == ()
    clean = [codec.decode_clean(frame, True, None) for _ in range(2)]
    other = decoded(p, message)  # decoded, not checked: its trades made at once
    careful = codec.decode(frame, True, False, True, None, True)  # no remembered layout
    assert all(m is not None and m._src.checked for m in clean) and not other._src.checked
    kept, applied = Books(), Books()
    for books in (kept, applied):
        books.apply(decoded(p, snapshot(p, SYMBOLS[0])))
    book = kept[SYMBOLS[0]]
    kept._take(clean[0])
    assert book._owed is not None and len(book._owed) == 2 and not book._trades
    # between them: a decoded message, one read from its typed entries (no remembered layout)
    # and one you built (no source): their trades made at once
    others = (other, careful, message)
    for msg in (*others, clean[1]):
        kept._take(msg)
    for msg in (clean[0], *others, clean[1]):
        applied.apply(msg)
    assert len(book._owed) == 2 and len(book._trades) == 8
    assert state(kept) == state(applied)
    assert len(book.trades) == 10 and not book._owed
