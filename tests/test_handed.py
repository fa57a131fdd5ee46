# private: `codec._handed` (a frame read from the values its gateway hands with it), the
# gateway's `_Wire` (`simulator.gateway.exchange.md_wire`) and `Outbound`'s header values
"""A frame the simulation's gateway hands over with its values (`codec._handed`) is read into
the very message `Codec.decode_clean` makes of its bytes.

The differential test: in backtests of both products (the shipped samples, generated
recordings with trades, levels that appear and vanish, two markets and statuses, a quoter's
orders placed and filled), every frame handed with its values is read both ways, each from the
same layout cache state: the message made from the values (`HandedReader.message`) and
`decode_clean(frame)`'s have the same class, every field's value and type (the header's and
the groups' entries' too), the same flat list, source class (`CheckedSource`), frame (``raw``),
defects (none), layout, and leave the cache in the same state (``hit.used``, the remembered
layouts by count). A run with the values handed and one with them not read (the frame decoded)
give the same events and the same report, byte for byte. A value changed on purpose is caught.

The plain forms a gateway vouches for are held to the layout patterns' own (`accepts`), and
what it cannot vouch for is not handed: a Symbol with ``=``, a SendingTime of February 29th,
a MsgSeqNum of 19 digits, a TradeID not ASCII.

(A test of the private `codec._handed`, `codec._fields` (`CheckedSource`), the gateway's
`simulator.gateway.exchange.md_wire` (`_Wire`) and `session._outbound` (`Outbound`).)
"""

from __future__ import annotations

import calendar
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_handover import CASES as HANDOVER_CASES
from test_handover import _recording  # the same recordings as the hand-over's tests

from kalshi_fix_sansio import margin, prediction
from kalshi_fix_sansio.codec import _handed, dialect_codec, finish_frame
from kalshi_fix_sansio.codec._fields import CheckedSource
from kalshi_fix_sansio.codec._handed import HandedReader, HandedShape, accepts
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording
from kalshi_fix_sansio.simulator.gateway.exchange import md_wire
from kalshi_fix_sansio.simulator.gateway.exchange.md_wire import LEVEL_FRAME, _Wire
from kalshi_fix_sansio.simulator.testing import SessionPair
from kalshi_fix_sansio.simulator.testing.strategies import Quotes
from kalshi_fix_sansio.trading.builders import Requests

_MESSAGE = HandedReader.message


def _values(record: Any) -> list[Any]:
    """Every field of ``record`` read, its value and type, its groups' entries' too."""
    out: list[Any] = []
    for info in record._FIELDS:
        value = getattr(record, info.attr)
        out.append((info.attr, value, type(value)))
    for ginfo in record._GROUPS:
        entries = getattr(record, ginfo.attr)
        out.append((ginfo.attr, None if entries is None else [_values(e) for e in entries]))
    return out


def _same(handed: Any, decoded: Any) -> None:
    """The two messages of one frame alike in everything a reader can see."""
    assert handed is not None and decoded is not None
    assert type(handed) is type(decoded)
    a, b = handed._src, decoded._src
    assert type(a) is type(b) is CheckedSource
    assert a.frame is b.frame
    assert a.flat == b.flat and [type(x) for x in a.flat] == [type(x) for x in b.flat]
    for name in ("dollars", "defects", "cls", "present", "header_at", "layout"):
        assert getattr(a, name) == getattr(b, name), name
    assert handed.raw == decoded.raw == a.frame
    tags = [int(t) for t in a.flat[0::2]]
    assert [handed.raw_value(t) for t in tags] == [decoded.raw_value(t) for t in tags]
    dialect = margin if handed.__module__.endswith("margin") else prediction
    encoded = [dialect.encode(m, m.header, use_dollars=a.dollars) for m in (handed, decoded)]
    assert encoded[0] == encoded[1] == a.frame
    assert _values(handed) == _values(decoded)
    assert _values(handed.header) == _values(decoded.header)
    assert handed.check() == decoded.check() == ()
    assert repr(handed) == repr(decoded)


class Compared:
    """`HandedReader.message` read both ways from the same cache state, each frame."""

    def __init__(self) -> None:
        self.read = 0  # frames read from their values
        self.frames: list[bytes] = []

    def message(self, reader: HandedReader, handed: Any) -> Any:
        frame = handed[0]
        recent = reader._recent
        before = dict(recent)
        used = {id(x): x.used for x in before.values()}
        learned = reader._learned.get(handed[1])
        msg = _MESSAGE(reader, handed)
        if learned is None or msg is None or learned is not msg._src.layout:
            return msg  # learned now: `decode_clean`'s own message
        after = dict(recent), {id(x): x.used for x in recent.values()}
        recent.clear()
        recent.update(before)
        for layout in before.values():
            layout.used = used[id(layout)]
        decoded = reader._decode_clean(frame, reader._dollars, reader._rfq_dollars)
        assert (dict(recent), {id(x): x.used for x in recent.values()}) == after
        _same(msg, decoded)
        self.read += 1
        self.frames.append(frame)
        return msg


def _line(event: Any) -> list[Any]:
    line = [type(event).__name__, getattr(event, "seq_num", None)]
    if hasattr(event, "message"):
        message = event.message
        line += [event.raw, repr(message), event.defects, type(message._src)]
        line += [_values(message), _values(message.header)]
    return line


def _watch(seen: list[Any]) -> Any:
    def watch(ctx: Any) -> None:
        with ctx.client(market_data=True).market_data() as md:
            md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
            while ctx.seconds > 0 and (event := md.next_event(timeout=ctx.seconds)) is not None:
                seen.append(_line(event))

    return watch


def _quote(seen: list[Any]) -> Any:
    """A quoter's orders placed and filled mid-run, with its two sessions."""

    def quote(ctx: Any) -> None:
        quotes = Quotes(ctx)
        with ctx.client(market_data=True).market_data() as md, ctx.client().order_entry() as oe:
            md.send(quotes.subscribe(), resubscribe=True)
            while ctx.seconds > 0 and (event := md.next_event(timeout=ctx.seconds)) is not None:
                seen.append(_line(event))
                for request in quotes.on_event(event, oe.tracker):
                    oe.send(request)
            seen.append(sorted(repr(o) for o in oe.tracker.orders.values()))

    return quote


# the hand-over's cases of a watcher and a quoter (its other cases test its other paths)
CASES = [case for case in HANDOVER_CASES if case[1] in ("watch", "quote")]


def _run(case: str, strategy: str, where: Path, cache: Path) -> tuple[list[Any], str]:
    """A run from the codecs' first sight (a message's source class tells its layout seen): the
    recording compiled into ``cache`` first, so that the run itself decodes nothing before its
    strategy does (a shipped sample is otherwise compiled in memory, in the run)."""
    where.mkdir()
    seen: list[Any] = []
    path, options = _recording(where, case)
    compile_recording(path, cache_dir=cache)
    for product in ("prediction", "margin"):
        dialect_codec(product).layouts.forget()
    run = _watch(seen) if strategy == "watch" else _quote(seen)
    result = run_backtest(run, path, seed=4, cache_dir=cache, **options)
    return seen, result.to_json()


@pytest.mark.parametrize(("case", "strategy"), CASES, ids=[f"{c}-{s}" for c, s in CASES])
def test_a_handed_frame_reads_as_its_bytes_decode(
    case: str, strategy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared = Compared()
    with monkeypatch.context() as patch:
        patch.setattr(HandedReader, "message", lambda self, h: compared.message(self, h))
        handed, handed_json = _run(case, strategy, tmp_path / "handed", tmp_path / "cache")
    # the values read where they should be (a quoter's market, with its orders resting in
    # it, takes the exchange's general way: no values)
    assert compared.read > 50 if strategy == "watch" else compared.read >= 0
    # the same run with the values not read: each frame decoded from its bytes
    with monkeypatch.context() as patch:
        patch.setattr(
            HandedReader,
            "message",
            lambda self, h: self._decode_clean(h[0], self._dollars, self._rfq_dollars),
        )
        decoded, decoded_json = _run(case, strategy, tmp_path / "decoded", tmp_path / "cache")
    assert handed == decoded
    assert handed_json == decoded_json


def test_a_wrong_value_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison fails when one handed value is not the frame's (a level's price, once
    its shape is learned: the frame that teaches a shape must hand its own values)."""
    level_body = _Wire.level_body
    made = [0]

    def spoiled(self: _Wire, *args: Any) -> Any:
        body = level_body(self, *args)
        if self.handed is not None and self.handed[0] is body and made[0] > 5:
            values = list(self.handed[2])
            values[4] = b"0.0001" if values[4] != b"0.0001" else b"0.0002"
            self.handed = (body, self.handed[1], tuple(values))
        made[0] += 1
        return body

    compared = Compared()
    monkeypatch.setattr(_Wire, "level_body", spoiled)
    monkeypatch.setattr(HandedReader, "message", lambda self, h: compared.message(self, h))
    with pytest.raises(Exception, match=r"AssertionError|assert"):
        _run("generated", "watch", tmp_path / "spoiled", tmp_path / "cache")


_CODEC = dialect_codec("prediction")


def _layout_of(dollars: bool) -> Any:
    """The layout of `_X`'s frames and a frame's flat list, from the codec's first sight: its
    third frame read from it, its pattern made by a check."""
    _CODEC.layouts.forget()
    for seq in (5, 6, 7):
        frame = _X % (159, seq)
        msg = _CODEC.decode(frame, dollars, False, True, None)
        assert msg.check() == ()
    assert msg._src.layout is not None
    return msg._src.layout, msg._src.flat


_X = (
    b"8=FIXT.1.1\x019=%d\x0135=X\x0149=KalshiNR\x0156=ME\x0134=%d\x0152=20261120-15:00:00.000\x01"
    b"268=1\x01279=1\x0155=KXSYM\x01269=0\x01270=0.4500\x01271=10.00\x01272=20261120\x01"
    b"273=15:00:00.000\x0110=000\x01"
)


def test_the_vouched_forms_are_the_patterns() -> None:
    """A level's shape is accepted by the layout of a 35=X of one level in dollars, and not
    where a form differs (prices in cents: integers), a tag does, or a price is vouched for
    only as text."""
    shape = LEVEL_FRAME
    for dollars in (True, False):  # (a price's form is the same in cents on prediction)
        layout, flat = _layout_of(dollars)
        assert accepts(shape, layout, flat, dollars)
    whole = HandedShape(
        tuple(shape.key.split(b"\x01")), (*shape.vouched[:11], _handed.INT, *shape.vouched[12:])
    )
    assert not accepts(whole, layout, flat, False)  # a price vouched for as an integer
    tags = list(shape.key.split(b"\x01"))
    tags[9] = b"58"
    assert not accepts(HandedShape(tuple(tags), shape.vouched), layout, flat, True)
    vouched = (*shape.vouched[:11], _handed.TEXT, *shape.vouched[12:])
    wider = HandedShape(tuple(shape.key.split(b"\x01")), vouched)
    assert not accepts(wider, layout, flat, True)


def test_what_is_not_plain_is_not_handed() -> None:
    """The gateway hands no values it cannot vouch for: each such body is still the one
    `level` writes, made the general way."""
    wire = _Wire(prediction.AggressorSide)
    now = 1_763_650_800.0  # 2025-11-20
    px, size = Decimal("0.45"), Decimal(10)
    body = wire.level_body("KXSYM", "0", px, size, "1", now)
    assert body == b"268=1\x01" + wire.level("KXSYM", "0", px, size, "1", now)  # formats, keeps
    body = wire.level_body("KXSYM", "0", px, size, "1", now)
    assert wire.handed is not None and wire.handed[0] is body
    wire.handed = None
    assert wire.level_body("KX=SYM", "0", px, size, "1", now) == b"268=1\x01" + wire.level(
        "KX=SYM", "0", px, size, "1", now
    )
    assert wire.level_body("KX=SYM", "0", px, size, "1", now) is not None and wire.handed is None
    leap = calendar.timegm((2028, 2, 29, 12, 0, 0)) + 0.25
    wire.level_body("KXSYM", "0", px, size, "1", leap)
    assert wire.handed is None  # February 29th: the date's pattern leaves it to the full check
    wire.level_body("KXSYM", "0", px, size, "1", now + 1)
    assert wire.handed is not None  # (the decimals of 28 digits or fewer, all a Decimal
    # quantizes, are plain: `plain_decimal` refuses 31, `test_the_plain_checks_...`)


def test_the_header_values_are_vouched_only_when_plain() -> None:
    """`Outbound.frame_values`: the frame `own_header` and `finish_frame` make, and its values
    only when each is of its plain form."""
    pair = SessionPair.kalshi("prediction", "KalshiMD", now=1_763_650_800.0)
    pair.start()
    writer = pair.server.session._writer
    sender = writer._sender.encode()
    target = writer.target_comp_id.encode()
    cls = prediction.MarketDataIncrementalRefresh
    wire = _Wire(prediction.AggressorSide)
    now = 1_763_650_800.125
    body = wire.level_body("KXSYM", "0", Decimal("0.45"), Decimal(10), "1", now)
    body = wire.level_body("KXSYM", "0", Decimal("0.45"), Decimal(10), "1", now)
    handed = wire.handed
    assert handed is not None and handed[0] is body

    def general(seq: int, at: float) -> bytes:
        head = writer.own_header(seq, at)
        return finish_frame([cls._MSGTYPE_FIELD, head, body], writer._spec.heads)

    frame, values = writer.frame_values(cls, 7, body, handed, now)
    assert frame == general(7, now)
    assert values is not None and values[0] is frame and values[1] is LEVEL_FRAME
    flat = frame[:-1].split(b"\x01")
    assert values[2] == tuple(f.split(b"=", 1)[1] for f in flat)
    assert values[2][3:7] == (sender, target, b"7", b"20251120-15:00:00.125")
    for seq, at in (
        (10**18 - 1, now),
        (10**18, now),
        (8, float(calendar.timegm((2028, 2, 29, 0, 0, 0)))),
    ):
        frame, values = writer.frame_values(cls, seq, body, handed, at)
        assert frame == general(seq, at)
        assert (values is None) is (seq == 10**18 or at != now)  # 19 digits; February 29th
    writer.target_comp_id = "M=E"
    frame, values = writer.frame_values(cls, 9, body, handed, now)
    assert frame == general(9, now) and values is None


def test_the_plain_checks_mark_what_the_patterns_take() -> None:
    assert _handed.plain_text(b"KXSYM") and not _handed.plain_text(b"")
    assert not _handed.plain_text(b"a=b") and not _handed.plain_text("é".encode())
    assert _handed.plain_decimal(b"0.4500") and not _handed.plain_decimal(b"1" * 31)
    assert _handed.plain_date(b"20261120") and not _handed.plain_date(b"20280229")
    shape = md_wire.entries_shape(prediction.AggressorSide, (True,))
    assert "|268|279|55|269|270|271|272|273|2446|1003|10)" in repr(shape)
