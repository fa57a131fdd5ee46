"""The bytes of a 35=X's entries as the exchange writes them (`_Wire`), and the shapes of the
frames a gateway hands over with their values (`codec._handed`): `MarketData`'s writer of the
entries its subscribers take as bytes.

Each distinct price, size, symbol and time is written once and kept (a symbol, a price and a
size only when of its plain form: a kept value is one the gateway can vouch for); a body made
here keeps its values with it (`_Wire.handed`) when each is plain, for the router to hand over
with its frame.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from ....codec import (
    DATE,
    DECIMAL,
    TEXT,
    TIME,
    HandedShape,
    Vouched,
    enc_date,
    enc_decimal,
    enc_dollars,
    enc_str,
    frame_shape,
    plain_date,
    plain_decimal,
    plain_text,
)
from ....codec.errors import EncodeError
from .common import CENT, TICK
from .model import Order, Trade

__all__ = ["LEVEL", "LEVEL_FRAME", "entries_shape"]

# one change of a call: (symbol, the trade or None, MDEntryType, price, size, MDUpdateAction,
# the order that last changed the level or None)
_Change = tuple[str, Trade | None, str, Decimal, Decimal, str, Order | None]

_ASCII: Final = {c: c.encode() for c in ("0", "1", "2")}  # MDUpdateAction, MDEntryType
# a 35=X body of one level's change as `_Wire.level_body` vouches for its values
# (`codec._handed`)
LEVEL: Final = HandedShape(
    (b"268", b"279", b"55", b"269", b"270", b"271", b"272", b"273"),
    (
        frozenset({b"1"}),
        frozenset({b"0", b"1", b"2"}),
        TEXT,
        frozenset({b"0", b"1"}),
        DECIMAL,
        DECIMAL,
        DATE,
        TIME,
    ),
)
LEVEL_FRAME: Final = frame_shape(b"X", LEVEL)  # a whole 35=X of it, as a session writes it
_MOST_CACHED: Final = 4096  # values a cache keeps (emptied when full: memory stays flat)
_EPOCH_DAY: Final = date(1970, 1, 1)
_MOST_SECONDS: Final = 2.0**33  # epoch seconds read as whole seconds and a fraction (year 2242)
_MILLIS_TEXT: Final = tuple(b"%03d\x01" % ms for ms in range(1000))  # MDEntryTime's end
_SECONDS_TEXT: Final = tuple(b"%02d." % s for s in range(60))  # MDEntryTime's seconds


class _Wire:
    """The bytes of 35=X entries, as the dialect's encoder writes the entry objects
    (`MarketData._entries`) made of the same changes: the same fields in the same order, each
    value written by the codec's own value encoders (prices to the tick, sizes to the cent),
    each distinct price, size, symbol and time written once (tests/test_engine_md_wire.py compares
    them with the encoder's on every kind of entry of both dialects)."""

    def __init__(self, aggressor: Callable[[str], Any]) -> None:
        self._aggressor = aggressor
        # `entries_body`'s shapes by their entries' kinds (`entries_shape`)
        self._shapes: dict[tuple[bool, ...], HandedShape] = {}
        self._stamp_at = float("nan")  # the time `_stamp` was made for
        self._stamp = b""
        self._minute_at = -1  # the whole epoch minute `_minute` is the text of
        self._minute = b""
        self._days: dict[int, bytes] = {}  # days from the epoch -> MDEntryDate's text
        self._px: dict[Decimal, bytes] = {}
        # sizes by their text: a level's size is a new Decimal at each change (the sum
        # `Book.resize` makes), whose hash (a modular power, not kept until asked) costs several
        # times its text; equal texts are the same sign, digits and exponent, so the same bytes
        self._size: dict[str, bytes] = {}
        self._symbols: dict[str, bytes] = {}
        self._sides: dict[str, bytes] = {}
        # the day of `_minute` (MDEntryDate's value), and whether its dates and times have
        # their plain form (`codec._handed`: a time of a day always has)
        self._day = b""
        self._minute_plain = False
        self.handed: tuple[bytes, HandedShape, tuple[bytes, ...]] | None = None
        """The body `level_body` last made from values of their plain form, its shape and
        its values (`codec._handed`: a frame of it handed over with them); None: none."""

    def entries(self, changes: list[_Change], now: float) -> list[bytes]:
        """Each change's entry bytes; [] when one is a block trade (TrdType: the objects write
        it) or a value the codec refuses (the objects' encode says so, as before)."""
        if now != self._stamp_at:  # a trade's entry (the first ones) reads it too
            self._stamp, self._stamp_at = self._stamp_of(now), now
        out: list[bytes] = []
        add = out.append
        for symbol, t, kind, px, size, action, _owner in changes:
            if t is None:
                data = self.level(symbol, kind, px, size, action, now)
            elif t.block:
                return []
            else:
                data = self._trade(symbol, t, px, size)
            if data is None:
                return []
            add(data)
        return out

    def level(
        self, symbol: str, kind: str, px: Decimal, size: Decimal, action: str, now: float
    ) -> bytes | None:
        """The entry of a level's change (MDEntryType ``kind``, MDUpdateAction ``action``);
        None: a value the codec refuses."""
        if now != self._stamp_at:
            self._stamp, self._stamp_at = self._stamp_of(now), now
        try:
            return b"279=%s\x0155=%s\x01269=%s\x01270=%s\x01271=%s\x01%s" % (
                _ASCII[action],
                self._symbols.get(symbol) or self._symbol(symbol),
                _ASCII[kind],
                self._px.get(px) or self._price(px),
                self._size.get(text := str(size)) or self._qty(size, text),
                self._stamp,
            )
        except EncodeError:
            return None

    def level_body(
        self, symbol: str, kind: str, px: Decimal, size: Decimal, action: str, now: float
    ) -> bytes | None:
        """The 35=X body of one level's change (``b"268=1|"`` and `level`'s entry), its frame's
        shape and its values kept in `handed` when each is of its plain form (`LEVEL_FRAME`:
        its symbol, price and size kept, as only such are, and its day's); None: a value the
        codec refuses."""
        if now != self._stamp_at:
            self._stamp, self._stamp_at = self._stamp_of(now), now
        name = self._symbols.get(symbol)
        price = self._px.get(px)
        qty = self._size.get(text := str(size))
        code = _ASCII[action]
        side = _ASCII[kind]
        stamp = self._stamp
        if name is None or price is None or qty is None or not self._minute_plain:
            data = self.level(symbol, kind, px, size, action, now)  # kept when plain
            if data is None:
                return None
            body = b"268=1\x01" + data
            name = self._symbols.get(symbol)
            price = self._px.get(px)
            qty = self._size.get(text)
            if name is None or price is None or qty is None or not self._minute_plain:
                return body
        else:
            body = b"268=1\x01279=%s\x0155=%s\x01269=%s\x01270=%s\x01271=%s\x01%s" % (
                code,
                name,
                side,
                price,
                qty,
                stamp,
            )
        values = (b"1", code, name, side, price, qty, self._day, stamp[-13:-1])
        self.handed = (body, LEVEL_FRAME, values)
        return body

    def entries_body(self, changes: list[_Change], now: float) -> bytes | None:
        """The 35=X body of ``changes`` (`entries`, under their count), its frame's shape and
        its values kept in `handed` when each is of its plain form (`entries_values`); None:
        as `entries`."""
        wire, vouched = self.entries_values(changes, now)
        if not wire:
            return None
        body = b"268=%d\x01%s" % (len(wire), b"".join(wire))
        if vouched is not None:
            self.handed = (body, vouched[0], vouched[1])
        return body

    def entries_values(
        self, changes: list[_Change], now: float
    ) -> tuple[list[bytes], tuple[HandedShape, tuple[bytes, ...]] | None]:
        """`entries(changes, now)` (each value formatted once, as there), and the shape and
        values of the whole 35=X of them under their count (`entries_shape`) when each value
        is of its plain form: each symbol, price and size kept (as only such are), each
        TradeID ASCII with no ``=``, the stamp's day plain; None when one is not."""
        if now != self._stamp_at:
            self._stamp, self._stamp_at = self._stamp_of(now), now
        stamp = self._stamp
        day = self._day
        time = stamp[-13:-1]
        symbols, prices, sizes = self._symbols, self._px, self._size
        plain = self._minute_plain and len(changes) <= _MOST_HANDED
        wire: list[bytes] = []
        add = wire.append
        values = [b"%d" % len(changes)]
        trades: list[bool] = []
        try:
            for symbol, t, kind, px, size, action, _owner in changes:
                name = symbols.get(symbol)
                if name is None:  # formatted, kept when plain
                    name = self._symbol(symbol)
                    plain = plain and symbol in symbols
                price = prices.get(px)
                if price is None:
                    price = self._price(px)
                    plain = plain and px in prices
                qty = sizes.get(text := str(size))
                if qty is None:
                    qty = self._qty(size, text)
                    plain = plain and text in sizes
                if t is None:
                    code = _ASCII[action]
                    side = _ASCII[kind]
                    add(
                        b"279=%s\x0155=%s\x01269=%s\x01270=%s\x01271=%s\x01%s"
                        % (code, name, side, price, qty, stamp)
                    )
                    values += (code, name, side, price, qty, day, time)
                    trades.append(False)
                    continue
                if t.block:
                    return [], None  # (TrdType: the objects write it)
                aggressor = self._sides.get(t.aggressor_side) or self._side(t.aggressor_side)
                tid = enc_str(t.trade_id, "TradeID(1003)")  # (not empty, no SOH)
                add(
                    b"279=0\x0155=%s\x01269=2\x01270=%s\x01271=%s\x01%s2446=%s\x011003=%s\x01"
                    % (name, price, qty, stamp, aggressor, tid)
                )
                values += (b"0", name, b"2", price, qty, day, time, aggressor, tid)
                trades.append(True)
                plain = plain and tid.isascii() and b"=" not in tid
        except EncodeError:
            return [], None
        if not plain:
            return wire, None
        key = tuple(trades)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = entries_shape(self._aggressor, key)
        return wire, (shape, tuple(values))

    def _trade(self, symbol: str, t: Trade, px: Decimal, size: Decimal) -> bytes | None:
        """The entry of a trade (not a block trade) at the stamp `entries` set."""
        try:
            return b"279=0\x0155=%s\x01269=2\x01270=%s\x01271=%s\x01%s2446=%s\x011003=%s\x01" % (
                self._symbols.get(symbol) or self._symbol(symbol),
                self._px.get(px) or self._price(px),
                self._size.get(text := str(size)) or self._qty(size, text),
                self._stamp,
                self._sides.get(t.aggressor_side) or self._side(t.aggressor_side),
                enc_str(t.trade_id, "TradeID(1003)"),
            )
        except EncodeError:
            return None

    def _stamp_of(self, now: float) -> bytes:
        """MDEntryDate and MDEntryTime of `MarketData.md_stamp` at ``now`` (``to_ms(utc(now))``)
        as the encoder writes them, without the datetime: `utc` adds ``timedelta(seconds=now)``
        to the epoch, so its days are the date's and its seconds and microseconds the time's
        (to the millisecond: three digits). The text up to the minute is made once per minute
        (a replay's times come in order), the seconds and milliseconds from tables; the
        microseconds are `timedelta`'s own rounding of a float: the whole seconds, then the
        fraction's microseconds rounded half to even."""
        if 0.0 <= now < _MOST_SECONDS:
            second = int(now)
            micros = round((now - second) * 1e6)  # exact: ``now - second`` loses no bit
            if micros >= 1_000_000:
                second, micros = second + 1, micros - 1_000_000
            minute = second // 60
            if minute != self._minute_at:
                self._minute = self._minute_text(minute)
                self._minute_at = minute
                self._day = self._minute[4:-11]  # "272=" and "|273=HH:MM:" around it
                self._minute_plain = plain_date(self._day) is not None
            return self._minute + _SECONDS_TEXT[second - minute * 60] + _MILLIS_TEXT[micros // 1000]
        since = timedelta(seconds=now)  # before the epoch, or too far after it to be a time
        self._minute_at = -1  # (no values of such a time kept: the next minute's made again)
        self._minute_plain = False
        second = since.days * 86_400 + since.seconds
        return (
            self._minute_text(second // 60)
            + _SECONDS_TEXT[second % 60]
            + _MILLIS_TEXT[since.microseconds // 1000]
        )

    def _minute_text(self, minute: int) -> bytes:
        """MDEntryDate and MDEntryTime up to the minutes' colon, of whole UTC epoch minutes."""
        days, m = divmod(minute, 1440)
        day = self._days.get(days)
        if day is None:
            if len(self._days) >= _MOST_CACHED:
                self._days.clear()
            day = self._days[days] = enc_date(_EPOCH_DAY + timedelta(days=days), "MDEntryDate(272)")
        return b"272=%s\x01273=%02d:%02d:" % (day, m // 60, m % 60)

    # (a symbol, a price and a size are kept only when of their plain form, `codec._handed`'s:
    # `level_body` hands the values kept with their frame)
    def _symbol(self, symbol: str) -> bytes:
        data = enc_str(symbol, "Symbol(55)")
        return _kept(self._symbols, symbol, data) if plain_text(data) else data

    def _price(self, px: Decimal) -> bytes:
        data = enc_dollars(px.quantize(TICK), "MDEntryPx(270)", 4)
        return _kept(self._px, px, data) if plain_decimal(data) else data

    def _qty(self, size: Decimal, text: str) -> bytes:
        """``size``'s bytes, kept as ``text`` (its `str`: a zero's sign is in it, and a text is
        never empty, so `_kept` keeps a zero too)."""
        data = enc_decimal(size.quantize(CENT), "MDEntrySize(271)")
        return _kept(self._size, text, data) if plain_decimal(data) else data

    def _side(self, side: str) -> bytes:
        data = self._sides[side] = enc_str(self._aggressor(side), "AggressorSide(2446)")
        return data


_MOST_HANDED: Final = 16  # the most entries of a body handed with its values
_LEVEL_TAGS: Final = (b"279", b"55", b"269", b"270", b"271", b"272", b"273")
_TRADE_TAGS: Final = (*_LEVEL_TAGS, b"2446", b"1003")
_ENTRIES_SHAPES: dict[tuple[Any, tuple[bool, ...]], HandedShape] = {}


def entries_shape(aggressor: Any, trades: tuple[bool, ...]) -> HandedShape:
    """The shape of a whole 35=X of `_Wire.entries_body`'s entries, a trade's or a level's
    as ``trades`` says, in order, AggressorSide written by ``aggressor`` (an enum: any of its
    values); one per enum and sequence."""
    found = _ENTRIES_SHAPES.get((aggressor, trades))
    if found is None:
        sides = frozenset(str(m.value).encode() for m in aggressor)
        level = LEVEL.vouched[1:]
        trade = (frozenset({b"0"}), TEXT, frozenset({b"2"}), DECIMAL, DECIMAL, DATE, TIME)
        tags: list[bytes] = [b"268"]
        vouched: list[Vouched] = [frozenset({b"%d" % len(trades)})]
        for is_trade in trades:
            tags += _TRADE_TAGS if is_trade else _LEVEL_TAGS
            vouched += (*trade, sides, TEXT) if is_trade else level
        found = frame_shape(b"X", HandedShape(tuple(tags), tuple(vouched)))
        _ENTRIES_SHAPES[(aggressor, trades)] = found
    return found


def _kept(cache: dict[Any, bytes], value: Any, data: bytes) -> bytes:
    """``data``, kept in ``cache`` as ``value``'s text (a full cache is emptied first: memory
    stays flat). A zero is never kept: equal Decimals quantize to the same one but for
    zero's sign."""
    if value:
        if len(cache) >= _MOST_CACHED:
            cache.clear()
        cache[value] = data
    return data
