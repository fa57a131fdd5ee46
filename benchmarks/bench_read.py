"""What reading Kalshi messages costs: every way of using the codec, side by side in one run.

    .venv/bin/python benchmarks/bench_read.py [--quick] [--write-docs] [--cpu-time]

The corpus is the library's own mixed Kalshi sample (``kalshi_fix_sansio.simulator.testing.samples``, built with
the encoder from the generated ``prediction`` classes): Heartbeat, NewOrderSingle,
ExecutionReport with the fee and collateral groups, a 10-entry incremental refresh (35=X) and a
20-level snapshot (35=W). Each row says what it converts. Read rows are compared with the
pure-Python split floor ``[f.split(b"=", 1) for f in frame.split(b"\\x01")]`` over the same
frames, encode rows with a minimal join encoder (join the ``tag=value`` strings, BodyLength,
CheckSum) given the values already as strings.

Peers: simplefix (a dev dependency), the QuickFIX C++ binding when importable (``quickfix`` or
``quickfix-ssl``; it parses without a data dictionary here: the Kalshi dictionary is not a
QuickFIX one, so it cannot type values or split groups and only has header-read and encode
rows), kalshi-sdk when importable (it needs Python >= 3.12: ``bash scripts/bench-peers`` runs
this benchmark with it installed; ``_kalshi_sdk.py`` says how it is called and what its rows
convert and keep).

Timing (as bench_session.py): many short rounds with garbage collection off; in each round the
baselines are timed first and last and every row in between (the order rotating from round to
round); a row's figure is the median over rounds of (baseline time / row time), with the
quartiles, so a machine whose speed drifts treats every row alike. The time column is the
row's best time per corpus pass. ``--cpu-time`` times by the thread's CPU time instead of wall
time (on a machine shared with other work: the time spent waiting for a core is left out).
"""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from operator import attrgetter
from typing import Any

import _kalshi_sdk
import _rows
from _docs import arguments, publish, write_block
from _layouts import fresh_and_after, history_counts, many_layouts
from _rows import Row, calibrate, not_installed, paired, use_cpu_time

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec._generated.prediction import _CODEC
from kalshi_fix_sansio.simulator.testing.samples import KEY, T0, frames

try:
    import simplefix
except ImportError:  # pragma: no cover - dev extra not installed
    simplefix = None
try:
    import quickfix
except ImportError:  # pragma: no cover - optional peer
    quickfix = None

FIRST_SIGHT = (
    "kalshi-fix-sansio: decode + read MsgType, MsgSeqNum, Symbol, each frame's tags seen for "
    "the first time"
)
READ_FIRST_SIGHT = (
    "kalshi-fix-sansio: decode + read every field present, each frame's tags seen for the "
    "first time"
)
READ_OVER_THE_BOUND = (
    "kalshi-fix-sansio: decode + read every field present, more distinct layouts than a codec "
    "remembers"
)
READ_MANY = "kalshi-fix-sansio: decode + read every field present, 1,500 distinct layouts"
READ_FRESH = "kalshi-fix-sansio: decode + read every field present, a codec of its own, fresh"
READ_AFTER = (
    "kalshi-fix-sansio: decode + read every field present, a codec of its own after 1,500 other "
    "layouts"
)
#: how many distinct layouts the rows above meet; the bound of the row past it (the bound
#: before 2026-11, so the row compares across the change)
MANY, SMALL_BOUND = 1500, 512
BEGIN = "<!-- read-results -->"
END = "<!-- /read-results -->"
CLORDID = "550e8400-e29b-41d4-a716-446655440000"


# -- the corpus and how a user reads it ----------------------------------------------------

forget_layouts = _CODEC.layouts.forget  # every layout the prediction codec remembered


# Kalshi's docs write the header as 35, 34, 52, 49, 56 (docs/maintainers/decisions.md), this encoder as
# 35, 49, 56, 34, 52 (the spec's order): the frames from Kalshi are read in Kalshi's order
_KALSHI_HEADER_ORDER = (b"34", b"52", b"49", b"56")


def kalshi_header_order(frame: bytes) -> bytes:
    """``frame`` with its leading header fields in the order of Kalshi's examples (34, 52, 49,
    56, then the others as they were): the same fields, so the same BodyLength and CheckSum."""
    fields = frame.split(b"\x01")
    end = 3
    while fields[end].split(b"=", 1)[0] in (*_KALSHI_HEADER_ORDER, b"43", b"97", b"122"):
        end += 1
    head = fields[3:end]
    rank = {t: i for i, t in enumerate(_KALSHI_HEADER_ORDER)}
    head.sort(key=lambda f: rank.get(f.split(b"=", 1)[0], len(rank)))
    out = b"\x01".join(fields[:3] + head + fields[end:])
    assert len(out) == len(frame) and sum(out) == sum(frame)
    return out


def corpus() -> list[bytes]:
    """Heartbeat, NewOrderSingle, ExecutionReport, 10-entry 35=X, 20-level 35=W; the frames
    Kalshi sends (all but the NewOrderSingle) with the header in its documented order."""
    fs = frames("prediction")
    kinds = [p.decode(f).MSG_TYPE for f in fs]
    assert kinds == ["0", "D", "8", "X", "W"], kinds
    return [f if kind == "D" else kalshi_header_order(f) for f, kind in zip(fs, kinds, strict=True)]


def _present(rec: Any) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Attribute names of the fields and groups set on a decoded record (its wire content)."""
    plain: list[str] = []
    groups: list[tuple[str, list[str]]] = []
    for member in type(rec)._MEMBERS:
        value = getattr(rec, member.attr)
        if value is None:
            continue
        if hasattr(member, "entry"):
            names: list[str] = []
            for entry in value:
                for name in _present(entry)[0]:
                    if name not in names:
                        names.append(name)
            groups.append((member.attr, names))
        else:
            plain.append(member.attr)
    return plain, groups


def full_reader(frame: bytes) -> Callable[[Any], None]:
    """A function reading, by attribute, every field present on ``frame``'s message.

    Header fields, body fields, and every field of every group entry; the attribute names are
    found once here (as a user's code names them), the reads happen in the timed loop.
    """
    msg = p.decode(frame)
    head = attrgetter(*_present(msg.header)[0])
    plain, groups = _present(msg)
    body = attrgetter(*plain) if plain else None
    group_readers = [(attrgetter(g), attrgetter(*names)) for g, names in groups]

    def read(m: Any) -> None:
        head(m.header)
        if body is not None:
            body(m)
        for get_group, get_entry in group_readers:
            for e in get_group(m):
                get_entry(e)

    return read


def symbol_of(m: Any) -> Any:
    """Symbol(55): the message's own, or the first entry's on an incremental refresh."""
    if m.MSG_TYPE == "X":
        return m.md_entries[0].symbol
    return getattr(m, "symbol", None)


def join_encoder(pairs: list[tuple[int, str]]) -> bytes:
    """A minimal correct FIX encoder: join, BodyLength, CheckSum."""
    body = "".join(f"{t}={v}\x01" for t, v in pairs).encode()
    head = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    msg = head + body
    return msg + b"10=%03d\x01" % (sum(msg) % 256)


NOS_PAIRS = [
    (35, "D"),
    (49, KEY),
    (56, "KalshiNR"),
    (34, "2"),
    (52, "20261120-14:30:00.125"),
    (11, CLORDID),
    (38, "10"),
    (40, "2"),
    (44, "75"),
    (54, "1"),
    (55, "HIGHNY-23DEC31"),
    (59, "1"),
]


def build_and_encode() -> bytes:
    """NewOrderSingle and Header built from typed values, then encoded."""
    order = p.NewOrderSingle(
        cl_ord_id=CLORDID,
        side=p.Side.BUY,
        order_qty=Decimal("10"),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.75"),
        symbol="HIGHNY-23DEC31",
        time_in_force=p.TimeInForce.GTC,
    )
    hdr = Header(sender_comp_id=KEY, target_comp_id="KalshiNR", msg_seq_num=2, sending_time=T0)
    return p.encode(order, hdr)


# -- rows ----------------------------------------------------------------------------------


def baseline_rows(fs: list[bytes], many: list[bytes], distinct: list[bytes]) -> dict[str, Row]:
    """The floors each row is compared with: splitting into byte pairs, a minimal join."""
    snap = [fs[4]]

    def split_floor(frames: list[bytes]) -> Callable[[], None]:
        def run() -> None:
            for f in frames:
                [x.split(b"=", 1) for x in f.split(b"\x01")]

        return run

    return {
        "split": Row("split floor", "splits into [tag, value] byte pairs", split_floor(fs), ""),
        "split-W": Row("split floor, 35=W alone", "splits into byte pairs", split_floor(snap), ""),
        "split-many": Row(
            f"split floor, {len(many):,} frames of distinct layouts",
            "splits into byte pairs",
            split_floor(many),
            "",
        ),
        "split-distinct": Row(
            f"split floor, {len(distinct):,} frames of distinct layouts",
            "splits into byte pairs",
            split_floor(distinct),
            "",
        ),
        "join": Row(
            "minimal join encoder",
            "NewOrderSingle from 12 ready (tag, str) pairs",
            lambda: join_encoder(NOS_PAIRS),
            "",
        ),
    }


def read_rows(
    fs: list[bytes],
    readers: list[Callable[[Any], None]],
    read_many: Callable[[], None],
    read_distinct: Callable[[], None],
    read_fresh: Callable[[], None],
    read_after: Callable[[], None],
    counts: tuple[int, int],
) -> list[Row]:
    """This library's read rows: lazy decode, header fields, every field, validate."""
    decode = p.decode
    many_count, distinct_count = counts

    def lazy() -> None:
        for f in fs:
            decode(f)

    def lazy_first_sight() -> None:
        for f in fs:
            forget_layouts()
            decode(f)

    def header3() -> None:
        for f in fs:
            m = decode(f)
            m.MSG_TYPE, m.header.msg_seq_num, symbol_of(m)

    def header3_first_sight() -> None:
        for f in fs:
            forget_layouts()
            m = decode(f)
            m.MSG_TYPE, m.header.msg_seq_num, symbol_of(m)

    def read_all() -> None:
        for f, read in zip(fs, readers, strict=True):
            read(decode(f))

    def read_all_first_sight() -> None:
        for f, read in zip(fs, readers, strict=True):
            forget_layouts()
            read(decode(f))

    def validate() -> None:
        for f in fs:
            decode(f).validate()

    return [
        Row(
            "kalshi-fix-sansio: lazy decode",
            "frame checked and split; no value converted",
            lazy,
            "split",
        ),
        Row(
            "kalshi-fix-sansio: lazy decode, each frame's tags seen for the first time",
            "as above, every layout remembered forgotten before each frame: the tag checks "
            "made in full (the first frame of each layout in a session)",
            lazy_first_sight,
            "split",
        ),
        Row(
            "kalshi-fix-sansio: decode + read MsgType, MsgSeqNum, Symbol",
            "3 values typed (Symbol: the first entry's on 35=X)",
            header3,
            "split",
        ),
        Row(
            FIRST_SIGHT,
            "as above, every layout remembered forgotten before each frame",
            header3_first_sight,
            "split",
        ),
        Row(
            "kalshi-fix-sansio: decode + read every field present",
            "every header, body and group-entry field typed (Decimal, datetime, enums)",
            read_all,
            "split",
            target=0.25,
        ),
        Row(
            READ_FIRST_SIGHT,
            "as above, every layout remembered forgotten before each frame: the tag checks "
            "made in full, each value from the tag dict (the first frame of each layout)",
            read_all_first_sight,
            "split",
        ),
        Row(
            READ_MANY,
            f"as above, over {distinct_count:,} frames of as many layouts, each with a subset of "
            "the header's optional fields, read in turn again and again (a codec of its own, "
            "the dialect's tables and bounds: the other rows' layouts stay)",
            read_distinct,
            "split-distinct",
            target=0.25,
        ),
        Row(
            READ_OVER_THE_BOUND,
            f"as above, over {many_count:,} frames of as many layouts, "
            f"{many_count // SMALL_BOUND}x the {SMALL_BOUND} a codec of its own bounded at "
            f"{SMALL_BOUND} remembers, read in turn again and again",
            read_many,
            "split-many",
        ),
        Row(
            READ_FRESH,
            "the corpus, every field, with a codec of its own that met nothing else",
            read_fresh,
            "split",
        ),
        Row(
            READ_AFTER,
            f"the same with a codec that first met {MANY:,} other layouts, each read twice (a "
            "snapshot storm, a catch-up, a replay before)",
            read_after,
            "split",
        ),
        Row(
            "kalshi-fix-sansio: decode + validate()",
            "every field converted and checked (required, enums, groups)",
            validate,
            "split",
        ),
    ]


def peer_read_rows(fs: list[bytes]) -> list[Row]:
    """simplefix's and QuickFIX's parse rows, or a row saying which is not installed."""
    rows: list[Row] = []
    if simplefix is not None:

        def sf_parse() -> None:
            parser = simplefix.FixParser()
            for f in fs:
                parser.append_buffer(f)
                parser.get_message()

        def sf_header() -> None:
            parser = simplefix.FixParser()
            for f in fs:
                parser.append_buffer(f)
                m = parser.get_message()
                m.get(35), int(m.get(34)), m.get(55)

        rows += [
            Row(
                "simplefix: parse", "byte pairs in a list (no types, no groups)", sf_parse, "split"
            ),
            Row(
                "simplefix: parse + read MsgType, MsgSeqNum, Symbol",
                "3 values (bytes; MsgSeqNum int)",
                sf_header,
                "split",
            ),
        ]
    else:  # pragma: no cover
        rows.append(Row("simplefix", "", None, "split", why=not_installed("simplefix")))
    if quickfix is not None:
        Message = quickfix.Message

        # its constructor takes str: the frame as read (bytes) is decoded in the timing, as a
        # caller of QuickFIX must (about 0.5 µs over the corpus)
        def qf_parse() -> None:
            for f in fs:
                Message(f.decode(), False)

        def qf_header() -> None:
            for f in fs:
                m = Message(f.decode(), False)
                h = m.getHeader()
                h.getField(35), int(h.getField(34)), m.getField(55) if m.isSetField(55) else None

        rows += [
            Row(
                "QuickFIX (C++): parse",
                "str fields in a map (no dictionary: no types, no "
                "groups); frame bytes -> str included",
                qf_parse,
                "split",
            ),
            Row(
                "QuickFIX (C++): parse + read MsgType, MsgSeqNum, Symbol",
                "3 values (str; MsgSeqNum int); frame bytes -> str included",
                qf_header,
                "split",
            ),
        ]
    else:
        rows.append(Row("QuickFIX (C++)", "", None, "split", why=not_installed("quickfix")))
    return rows


def worst_and_encode_rows(snap: bytes, snap_reader: Callable[[Any], None]) -> list[Row]:
    """The 35=W worst case and the encode rows, this library's then the peers'."""
    decode = p.decode

    def snap_read() -> None:
        snap_reader(decode(snap))

    def snap_validate() -> None:
        decode(snap).validate()

    order = p.NewOrderSingle(
        cl_ord_id=CLORDID,
        side=p.Side.BUY,
        order_qty=Decimal("10"),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.75"),
        symbol="HIGHNY-23DEC31",
        time_in_force=p.TimeInForce.GTC,
    )
    hdr = Header(sender_comp_id=KEY, target_comp_id="KalshiNR", msg_seq_num=2, sending_time=T0)
    assert p.decode(join_encoder(NOS_PAIRS)) == order
    assert build_and_encode() == p.encode(order, hdr) == join_encoder(NOS_PAIRS)

    rows = [
        Row(
            "worst case, 35=W alone: kalshi-fix-sansio decode + read every field",
            "20 entries x 4 fields typed, header, Symbol",
            snap_read,
            "split-W",
            target=0.25,
        ),
        Row(
            "worst case, 35=W alone: kalshi-fix-sansio decode + validate()",
            "every field converted and checked",
            snap_validate,
            "split-W",
        ),
        Row(
            "kalshi-fix-sansio: encode a prebuilt NewOrderSingle",
            "typed values -> wire (header given)",
            lambda: p.encode(order, hdr),
            "join",
        ),
        Row(
            "kalshi-fix-sansio: NewOrderSingle built from typed values + encoded",
            "NewOrderSingle(...) and Header(...) constructed, then encoded",
            build_and_encode,
            "join",
            target=0.35,
        ),
    ]
    if simplefix is not None:

        def sf_encode() -> bytes:
            msg = simplefix.FixMessage()
            msg.append_pair(8, "FIXT.1.1")
            for t, v in NOS_PAIRS:
                msg.append_pair(t, v)
            return bytes(msg.encode())

        rows.append(Row("simplefix: encode", "the same str pairs", sf_encode, "join"))
    if quickfix is not None:

        def qf_encode() -> bytes:
            m = quickfix.Message()
            h = m.getHeader()
            h.setField(8, "FIXT.1.1")
            for t, v in NOS_PAIRS[:5]:
                h.setField(t, v)
            for t, v in NOS_PAIRS[5:]:
                m.setField(t, v)
            return m.toString().encode()

        rows.append(
            Row("QuickFIX (C++): encode", "the same str pairs, toString()", qf_encode, "join")
        )
    else:
        rows.append(Row("QuickFIX (C++): encode", "", None, "join", why=not_installed("quickfix")))
    return rows


def build_rows() -> tuple[dict[str, Row], list[Row]]:
    fs = corpus()
    readers = [full_reader(f) for f in fs]
    many, read_many = many_layouts(fs, 3 * SMALL_BOUND, full_reader, SMALL_BOUND)
    distinct, read_distinct = many_layouts(fs, MANY, full_reader)
    read_fresh, read_after = fresh_and_after(fs, readers, MANY)
    baselines = baseline_rows(fs, many, distinct)
    rows = read_rows(
        fs, readers, read_many, read_distinct, read_fresh, read_after, (len(many), len(distinct))
    )
    rows += peer_read_rows(fs)
    sdk_read, sdk_worst, sdk_encode = kalshi_sdk_rows(fs, baselines)
    rows += sdk_read
    rows += worst_and_encode_rows(fs[4], readers[4])
    rows += sdk_encode
    after_worst = 1 + max((i for i, r in enumerate(rows) if r.baseline == "split-W"), default=-1)
    rows[after_worst:after_worst] = sdk_worst  # next to our 35=W rows
    return baselines, rows


# -- kalshi-sdk (a peer; its calls live in _kalshi_sdk.py) ------------------------------------


def strip_tags(frame: bytes, tags: frozenset[int]) -> bytes:
    """``frame`` without the fields ``tags`` (BodyLength and CheckSum recomputed)."""
    pairs = [f.split(b"=", 1) for f in frame.split(b"\x01")[:-1]]
    kept = [(int(t), v.decode()) for t, v in pairs if int(t) not in tags | {8, 9, 10}]
    return join_encoder(kept)


def group_counts(frames: list[bytes]) -> dict[int, int]:
    """Entries each NumInGroup tag announces on the wire, summed over ``frames``."""
    counts: dict[int, int] = {}
    for frame in frames:
        msg = p.decode(frame)
        for member in type(msg)._MEMBERS:
            value = getattr(msg, member.attr)
            if value is not None and hasattr(member, "entry"):
                counts[member.tag] = counts.get(member.tag, 0) + len(value)
    return counts


#: MDEntryDate / MDEntryTime: in every market-data entry since 2026-08-19, not in kalshi-sdk's
#: entry models (its entry parse stops at them); the "without 272/273" rows drop them.
MD_DATE_TIME = frozenset({272, 273})


def kalshi_sdk_rows(
    fs: list[bytes], baselines: dict[str, Row]
) -> tuple[list[Row], list[Row], list[Row]]:
    """kalshi-sdk's read rows, its 35=W row and its encode rows (one "why" row when absent).

    Adds the baseline ``split-old``: the split floor over the corpus without 272/273, for the
    row that shows kalshi-sdk's cost when it keeps every entry.
    """
    why = _kalshi_sdk.status()
    if why is not None:
        return [Row("kalshi-sdk", "", None, "split", why=why)], [], []
    import kalshi.fix as kf  # type: ignore[import-not-found]

    sdk = _kalshi_sdk.label()
    decode = kf.decode
    read_header = _kalshi_sdk.read_header
    old = [strip_tags(f, MD_DATE_TIME) for f in fs]
    baselines["split-old"] = Row(
        "split floor, corpus without 272/273",
        "splits into byte pairs (MD entries without MDEntryDate/Time)",
        lambda: [[x.split(b"=", 1) for x in f.split(b"\x01")] for f in old],
        "",
    )

    def full(frames: list[bytes]) -> Callable[[], None]:
        items = [(f, *_kalshi_sdk.full_reader(f)) for f in frames]

        def run() -> None:
            for f, to_model, read in items:
                raw = decode(f)
                read_header(raw)
                read(to_model(raw))

        return run

    def parse() -> None:
        for f in fs:
            decode(f)

    def header3() -> None:
        for f in fs:
            raw = decode(f)
            raw.msg_type, raw.seq_num, raw.get(55)

    cover = _kalshi_sdk.coverage(fs, group_counts(fs))
    cover_w = _kalshi_sdk.coverage([fs[4]], group_counts([fs[4]]))
    cover_old = _kalshi_sdk.coverage(old, group_counts(fs))  # the same entries, fewer tags
    typed = (
        "pydantic models: Decimal prices and quantities, datetime TransactTime, bool, int; "
        "ExecType, OrdStatus, Side, MDEntryType kept as str (enums on 35=D only); header "
        "read from the pairs as str (MsgSeqNum int, SendingTime str: no typed header)"
    )
    read_rows = [
        Row(
            f"{sdk}: parse (kalshi.fix.decode)",
            "str pairs in a list (CheckSum and BodyLength checked; no types, no groups)",
            parse,
            "split",
        ),
        Row(
            f"{sdk}: parse + read MsgType, MsgSeqNum, Symbol",
            "3 values (str; MsgSeqNum int; Symbol: the first 55 on the wire)",
            header3,
            "split",
        ),
        Row(
            f"{sdk}: parse + typed model + read every field present",
            f"{typed}; {cover.describe()}",
            full(fs),
            "split",
        ),
        Row(
            f"{sdk}: the same, on the corpus without MDEntryDate/Time (272/273)",
            f"as the row above; {cover_old.describe()} (Kalshi's market data before 2026-08-19)",
            full(old),
            "split-old",
        ),
    ]
    worst = [
        Row(
            f"worst case, 35=W alone: {sdk} parse + typed model + read every field",
            f"as its read-every-field row; {cover_w.describe()}",
            full([fs[4]]),
            "split-W",
        )
    ]

    encode = _kalshi_sdk.encoder(KEY, "KalshiNR", 2, NOS_PAIRS[4][1])
    prebuilt = _kalshi_sdk.new_order(CLORDID, "HIGHNY-23DEC31", cents=75, qty=10)
    assert encode(prebuilt) == join_encoder(NOS_PAIRS), encode(prebuilt)

    def build_and_encode_sdk() -> bytes:
        return encode(_kalshi_sdk.new_order(CLORDID, "HIGHNY-23DEC31", cents=75, qty=10))

    header = "header as 5 ready str pairs (no typed header; SendingTime given as str)"
    encode_rows = [
        Row(
            f"{sdk}: encode a prebuilt NewOrderSingle",
            f"to_body_fields() + encode(); {header}",
            lambda: encode(prebuilt),
            "join",
        ),
        Row(
            f"{sdk}: NewOrderSingle built from typed values + encoded",
            f"NewOrderSingle(...) (pydantic: enums, Decimal cents) constructed, then encoded; "
            f"{header}",
            build_and_encode_sdk,
            "join",
        ),
    ]
    return read_rows, worst, encode_rows


# -- measurement ---------------------------------------------------------------------------


def run(rounds: int, seconds: float) -> tuple[dict[str, Row], list[Row]]:
    baselines, rows = build_rows()
    live = [r for r in rows if r.fn is not None]
    for r in [*baselines.values(), *live]:
        calibrate(r, seconds)
    gc.collect()
    gc.disable()
    try:
        for i in range(rounds):
            before = {k: b.time_once() for k, b in baselines.items()}
            k = i % len(live)
            order = live[k:] + live[:k]
            if i % 2:
                order.reverse()
            took = {id(r): r.time_once() for r in order}
            after = {k: b.time_once() for k, b in baselines.items()}
            for key, b in baselines.items():
                b.times += [before[key], after[key]]
            for r in live:
                base = (before[r.baseline] + after[r.baseline]) / 2
                r.times.append(took[id(r)])
                r.ratios.append(base / took[id(r)])
    finally:
        gc.enable()
    return baselines, rows


def report(baselines: dict[str, Row], rows: list[Row], rounds: int) -> list[str]:
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} cores; {rounds} interleaved rounds"
        + ("; timed by the thread's CPU time" if _rows.clock is time.thread_time else ""),
        "",
        "| row | what it converts | best time | throughput vs baseline (median of rounds, "
        "quartiles) | target |",
        "|---|---|---:|---|---|",
    ]
    for b in baselines.values():
        lines.append(
            f"| baseline: {b.name} | {b.converts} | {min(b.times) * 1e6:.1f} µs | 1.00x | |"
        )
    base_name = {
        "split": "split floor",
        "split-W": "split floor (35=W)",
        "split-many": "split floor (the same frames)",
        "split-distinct": "split floor (the same frames)",
        "join": "join encoder",
        "split-old": "split floor (without 272/273)",
    }
    for r in rows:
        if r.fn is None:
            lines.append(f"| {r.name} | {r.why} | — | — | |")
            continue
        q1, med, q3 = r.quartiles()
        target = ""
        if r.target is not None:
            target = f">= {r.target}x: {'met' if med >= r.target else 'NOT met'}"
        lines.append(
            f"| {r.name} | {r.converts} | {min(r.times) * 1e6:.1f} µs "
            f"| **{med:.3f}x** {base_name[r.baseline]} ({q1:.3f}-{q3:.3f}) | {target} |"
        )
    lines.append("")
    by_name = {r.name: r for r in rows}
    ours = by_name["kalshi-fix-sansio: decode + read MsgType, MsgSeqNum, Symbol"]
    qf = by_name.get("QuickFIX (C++): parse + read MsgType, MsgSeqNum, Symbol")
    if qf is not None and qf.ratios:
        rel = paired(ours, qf)
        lines.append(
            f"* decode + read MsgType, MsgSeqNum, Symbol: {rel:.2f}x QuickFIX's throughput "
            f"(target >= 1.1x: {'met' if rel >= 1.1 else 'NOT met'}); with each frame's tags "
            f"seen for the first time: {paired(by_name[FIRST_SIGHT], qf):.2f}x"
        )
    else:
        lines.append(
            "* decode + read MsgType, MsgSeqNum, Symbol vs QuickFIX (target >= 1.1x): "
            "not measured, QuickFIX not installed"
        )
    fresh, after = by_name[READ_FRESH], by_name[READ_AFTER]
    if fresh.ratios:
        rel = paired(after, fresh)
        first_fresh, first_after = history_counts(corpus(), MANY)
        lines.append(
            f"* the corpus read after {MANY:,} other layouts: {rel:.3f}x a fresh codec's "
            f"throughput (target within 5 %: {'met' if abs(rel - 1) <= 0.05 else 'NOT met'}); "
            f"frames read as first seen in its first 100 passes: {first_after} (fresh: "
            f"{first_fresh})"
        )
    for r in rows:
        if r.target is not None and r.ratios:
            med = r.median()
            lines.append(
                f"* {r.name}: {med:.3f}x {base_name[r.baseline]} "
                f"(target >= {r.target}x: {'met' if med >= r.target else 'NOT met'})"
            )
    return lines + kalshi_sdk_summary(by_name)


def kalshi_sdk_summary(by_name: dict[str, Row]) -> list[str]:
    """Our throughput over kalshi-sdk's on the same work, paired round by round."""
    sdk = next((n.split(":")[0] for n in by_name if n.startswith("kalshi-sdk ")), None)
    if sdk is None:
        return []
    pairs = [
        ("decode + read every field present", "parse + typed model + read every field present"),
        (
            "NewOrderSingle built from typed values + encoded",
            "NewOrderSingle built from typed values + encoded",
        ),
        ("encode a prebuilt NewOrderSingle", "encode a prebuilt NewOrderSingle"),
    ]
    parts = [
        f"{ours}: {paired(by_name[f'kalshi-fix-sansio: {ours}'], by_name[f'{sdk}: {theirs}']):.2f}x"
        for ours, theirs in pairs
    ]
    worst = "worst case, 35=W alone: "
    ours_w = by_name[f"{worst}kalshi-fix-sansio decode + read every field"]
    theirs_w = by_name[f"{worst}{sdk} parse + typed model + read every field"]
    parts.append(f"35=W alone, read every field: {paired(ours_w, theirs_w):.2f}x")
    return [
        f"* kalshi-fix-sansio's throughput over {sdk}'s, same corpus, paired rounds: "
        + "; ".join(parts)
        + " (its reads keep fewer group entries, see its rows)"
    ]


def write_docs(lines: list[str]) -> None:
    """Write the table between this benchmark's markers in docs/maintainers/benchmarks.md."""
    write_block(BEGIN, END, lines)


def main(argv: list[str]) -> int:
    parser = arguments(__doc__ or "", "a few short rounds (a smoke test)")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--cpu-time", action="store_true", help="time by the thread's CPU time")
    args = parser.parse_args(argv)
    if args.cpu_time:
        use_cpu_time()
    rounds, seconds = (3, 0.002) if args.quick else (args.rounds, 0.01)
    baselines, rows = run(rounds, seconds)
    publish(report(baselines, rows, rounds), BEGIN, END, args.write_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
