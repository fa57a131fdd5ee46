"""``kalshi-fix replay``: rebuild orders, positions and books from a FIX message log.

Reads any input ``kalshi-fix decode`` reads (`scan` cuts the frames, `decode_frame` decodes them,
secrets masked), feeds the messages in the log's order to an `OrderTracker` (what we sent to
`OrderTracker.sent`, what we received to `OrderTracker.on_message`) and to a `Books`, and prints
the orders, positions, books and recent trades as they stood at the end, at a moment
(``--at TIME``), or after every message (``--step``). See docs/replay.md.

Where each message comes from: the adapters' message log says IN or OUT; in other logs a
SenderCompID starting with ``Kalshi`` is received and a TargetCompID starting with ``Kalshi`` is
sent, else the message types Kalshi's session types send or receive decide (`Entry.inferred`).
"""

from __future__ import annotations

import argparse
import functools
import json
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import IO, TYPE_CHECKING, Any, Final

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, dialect, emit
from .decode import (
    Problem,
    add_codec_options,
    decode_frame,
    log_prefix,
    printable,
    read_input,
    scan,
)

if TYPE_CHECKING:
    from .. import Message
    from ..book import Book, BookUpdates, Trade
    from ..tracker import Fill, Position, TrackedOrder

__all__ = [
    "JSON_SCHEMA_VERSION",
    "Changes",
    "Entry",
    "Replay",
    "add_replay_parser",
    "book_record",
    "fill_record",
    "order_record",
    "parse_time",
    "position_record",
    "replay_command",
    "state_record",
    "state_text",
    "trade_record",
]

JSON_SCHEMA_VERSION: Final = 1
"""The ``schema`` of every ``--json`` object (raised when a field changes meaning or goes)."""

# body fields shown on a --step line, in this order, when the message has them
_KEY_TAGS: Final = (
    11, 41, 150, 39, 55, 54, 38, 44, 32, 31, 14, 151, 6, 103, 102, 379, 380, 263, 146, 268, 58
)
_SIDES: Final = {"1": "buy", "2": "sell"}
_FIX_TIME: Final = ("%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S")


def parse_time(text: str) -> datetime:
    """A moment given on the command line, as an aware UTC datetime.

    Accepts ISO 8601 (``2026-11-22T10:15:00``, ``...Z``, ``...+00:00``, fractional seconds,
    a space instead of ``T``) and FIX UTCTimestamp (``20261122-10:15:00.123``); a time without
    an offset is UTC.

    Raises:
        ValueError: not such a time (the message shows an example).
    """
    value = text.strip()
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        for pattern in _FIX_TIME:
            try:
                moment = datetime.strptime(value, pattern)
                break
            except ValueError:
                continue
    if moment is None:
        raise ValueError(
            f"{text!r} is not an ISO 8601 UTC time (e.g. 2026-11-22T10:15:00Z or "
            "2026-11-22T10:15:00.250)"
        )
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: Any) -> str | None:
    """A value for JSON and tables: Decimals exact, enums their name, None stays None."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, datetime):
        return _iso(value)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Direction


@functools.cache
def _sent_and_received(product: str) -> tuple[frozenset[str], frozenset[str]]:
    """MsgTypes a client sends / receives on the product's session types (spec tables)."""
    from ..spec import SESSIONS

    send: set[str] = set()
    receive: set[str] = set()
    for (prod, _), spec in SESSIONS.items():
        if prod == product:
            send.update(spec.send)
            receive.update(spec.receive)
    return frozenset(send - receive), frozenset(receive - send)


def _direction(msg: Message, product: str) -> str:
    """``IN``, ``OUT`` or ``?`` for a message of a log that does not say (see the module doc)."""
    sender = msg.header.sender_comp_id
    target = msg.header.target_comp_id
    if isinstance(sender, str) and sender.startswith("Kalshi"):
        return "IN"
    if isinstance(target, str) and target.startswith("Kalshi"):
        return "OUT"
    send, receive = _sent_and_received(product)
    if msg.MSG_TYPE in send:
        return "OUT"
    if msg.MSG_TYPE in receive:
        return "IN"
    return "?"


# ---------------------------------------------------------------------------------------------
# The replay itself


@dataclass(frozen=True)
class Entry:
    """One decoded message of the log, where and when it was.

    Attributes:
        index: its 1-based position among the log's frames.
        offset: the input offset of its first byte.
        time: the log line's time, else its SendingTime(52), else None.
        direction: ``"IN"`` (received), ``"OUT"`` (sent) or ``"?"`` (unknown).
        inferred: the direction was inferred (the log did not say).
        session: the message log's session id, or None.
        message: the decoded message (secrets masked).
    """

    index: int
    offset: int
    time: datetime | None
    direction: str
    inferred: bool
    session: str | None
    message: Message


@dataclass
class Changes:
    """What one message changed (for ``--step``).

    Attributes:
        orders: the orders it changed (or created), as they are after it.
        was: the status name each of those orders had before it (absent: a new order).
        positions: the positions it moved.
        books: the symbols whose book changed.
        trades: the market trades it reported.
        problems: book inconsistencies and refusals of the tracker, as sentences.
    """

    orders: list[TrackedOrder] = field(default_factory=list)
    was: dict[str, str] = field(default_factory=dict)
    positions: list[Position] = field(default_factory=list)
    books: list[str] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def symbols(self) -> set[str]:
        """Every symbol it concerns."""
        found = {o.symbol for o in self.orders if o.symbol}
        found.update(p.symbol for p in self.positions)
        found.update(self.books)
        found.update(t.symbol for t in self.trades)
        return found


class Replay:
    """An `OrderTracker` and a `Books` fed from log entries, as a client's session feeds them.

    Sent NewOrderSingle / OrderCancelReplaceRequest / OrderCancelRequest go to
    `OrderTracker.sent`; every received message goes to `OrderTracker.on_message` (35=8, 35=9,
    35=j) and `Books.apply` (35=W, 35=X). A resent request (PossDupFlag=Y) whose ClOrdID is
    already tracked is not sent twice.

    Args:
        max_trades: recent market trades kept per symbol.
    """

    def __init__(self, max_trades: int = 100) -> None:
        from ..book import Books
        from ..tracker import OrderTracker

        self.tracker = OrderTracker()
        self.books = Books(max_trades=max_trades)
        self.applied = 0
        self.time: datetime | None = None
        self._trades: deque[Trade] = deque(maxlen=max_trades)  # every symbol's, as they came

    def apply(self, entry: Entry) -> Changes:
        """Feed one message; what it changed.

        A sent request the tracker refuses (its ClOrdID is in use) and book inconsistencies are
        in `Changes.problems`; the replay goes on.
        """
        from ..errors import LocalProtocolError
        from ..tracker import Position

        msg: Any = entry.message
        changes = Changes()
        self.applied += 1
        if entry.time is not None:
            self.time = entry.time
        names = {
            str(v)
            for v in (
                getattr(msg, "cl_ord_id", None),
                getattr(msg, "orig_cl_ord_id", None),
                getattr(msg, "business_reject_ref_id", None),
            )
            if v is not None
        }
        before = {r["cl_ord_id"]: r for r in map(order_record, self._named(names))}
        symbols = {str(msg.symbol)} if getattr(msg, "symbol", None) is not None else set()
        symbols.update(str(r["symbol"]) for r in before.values() if r["symbol"] is not None)
        positions = {s: position_record(self.tracker.position(s)) for s in symbols}
        if entry.direction == "OUT":
            try:
                self.tracker.sent(msg)
            except LocalProtocolError as exc:
                if msg.header.poss_dup_flag is not True:
                    changes.problems.append(str(exc))
        else:
            self.tracker.on_message(msg)
            updates: BookUpdates = self.books.apply(msg)
            changes.books = list(updates.symbols)
            changes.trades = list(updates.trades)
            self._trades.extend(updates.trades)
            changes.problems.extend(str(p) for p in updates.inconsistencies)
        for order in self._named(names):
            previous = before.get(order.cl_ord_id)
            if previous != order_record(order):
                changes.orders.append(order)
                if previous is not None:
                    changes.was[order.cl_ord_id] = previous["status"]
        symbols.update(o.symbol for o in changes.orders if o.symbol is not None)
        for symbol in sorted(symbols):
            position = self.tracker.position(symbol)
            was = positions.get(symbol) or position_record(Position(symbol))
            if position_record(position) != was:
                changes.positions.append(position)
        return changes

    def _named(self, names: Iterable[str]) -> list[TrackedOrder]:
        """The orders these ClOrdIDs name, every version of their replace chains."""
        found: dict[str, TrackedOrder] = {}
        for name in sorted(names):
            for version in self.tracker.chain(name):
                found.setdefault(version.cl_ord_id, version)
        return list(found.values())

    def orders(self, symbol: str | None = None) -> list[TrackedOrder]:
        """Every tracked order (of ``symbol``), in the order first seen."""
        return [o for o in self.tracker if symbol is None or o.symbol == symbol]

    def positions(self, symbol: str | None = None) -> list[Position]:
        """Positions with fills (of ``symbol``), by symbol."""
        found = self.tracker.positions
        return [found[s] for s in sorted(found) if symbol is None or s == symbol]

    def book_list(self, symbol: str | None = None) -> list[Book]:
        """Books (of ``symbol``), by symbol."""
        return sorted(
            (b for b in self.books if symbol is None or b.symbol == symbol), key=lambda b: b.symbol
        )

    def trades(self, symbol: str | None, count: int) -> list[Trade]:
        """The last ``count`` market trades (of ``symbol``), oldest first, across books."""
        if symbol is None:
            found = list(self._trades)
        else:
            book = self.books.get(symbol)
            found = list(book.trades) if book is not None else []
        return found[-count:] if count > 0 else []

    def fills(self, symbol: str | None, count: int) -> list[Fill]:
        """The last ``count`` of our fills (of ``symbol``), in arrival order."""
        found = [f for f in self.tracker.fills if symbol is None or f.symbol == symbol]
        return found[-count:] if count > 0 else []


# ---------------------------------------------------------------------------------------------
# Reading the log


class _Reader:
    """Turns `scan` items into `Entry`s, following each session's UseDollars(21005)."""

    def __init__(self, data: bytes, source: str, args: argparse.Namespace, err: IO[str]) -> None:
        self.data = data
        self.source = source
        self.args = args
        self.err = err
        self.codec = dialect(args.dialect)
        self.dollars: dict[str, bool] = {}  # session -> logged on with UseDollars=Y
        self.failures = 0
        self.frames = 0

    def warn(self, offset: int, text: str) -> None:
        emit(self.err, f"{self.source}: byte {offset}: {printable(text)}")

    def entries(self) -> Iterator[Entry]:
        """The log's messages in order; malformed parts are told on ``err`` and skipped."""
        index = 0
        for item in scan(self.data):
            if isinstance(item, Problem):
                self.failures += 1
                self.warn(item.offset, f"malformed: {item.reason} (skipped)")
                continue
            index += 1
            self.frames += 1
            prefix = log_prefix(self.data, item.offset)
            session = prefix.session if prefix is not None else None
            key = session or ""
            decoded = decode_frame(
                self.codec,
                item,
                index,
                use_dollars=self.args.use_dollars or self.dollars.get(key, False),
                rfq_units=self.args.rfq_units,
            )
            if isinstance(decoded, Problem):
                self.failures += 1
                self.warn(decoded.offset, f"{decoded.reason} (skipped)")
                continue
            msg, defects = decoded
            if defects:
                first = defects[0]
                where = f"tag {first.tag}" if first.tag is not None else "message"
                self.warn(
                    item.offset,
                    f"message #{index} ({type(msg).__name__}): {len(defects)} defect(s), first "
                    f"{where}: {first.text} (applied, as a session delivers it)",
                )
            moment: datetime | None = None
            if prefix is not None:
                direction, inferred = prefix.direction, False
                try:
                    moment = parse_time(prefix.time)
                except ValueError:
                    self.warn(item.offset, f"message #{index}: the log line's time "
                              f"{prefix.time!r} is not a time: SendingTime(52) is used")
            else:
                direction, inferred = _direction(msg, self.args.dialect), True
            if moment is None:
                sending = msg.header.sending_time
                moment = sending if isinstance(sending, datetime) else None
            if msg.MSG_TYPE == "A" and direction == "OUT":
                self.dollars[key] = getattr(msg, "use_dollars", None) is True
            yield Entry(index, item.offset, moment, direction, inferred, session, msg)


# ---------------------------------------------------------------------------------------------
# Showing the state


def _side(code: str | None) -> str | None:
    return None if code is None else _SIDES.get(code, code)


def order_record(order: TrackedOrder) -> dict[str, Any]:
    """One order for ``--json`` (quantities and prices as exact decimal strings)."""
    return {
        "cl_ord_id": order.cl_ord_id,
        "symbol": order.symbol,
        "side": _side(order.side),
        "status": order.status.name,
        "open": order.is_open,
        "price": _text(order.price),
        "order_qty": _text(order.order_qty),
        "cum_qty": _text(order.cum_qty),
        "leaves_qty": _text(order.leaves_qty),
        "avg_px": _text(order.avg_px),
        "order_id": order.order_id,
        "orig_cl_ord_id": order.orig_cl_ord_id,
        "replaced_by": order.replaced_by,
        "group_id": order.group_id,
        "text": order.text,
        "rejection": None if order.rejection is None else order.rejection.text,
    }


def position_record(position: Position) -> dict[str, Any]:
    """One position for ``--json``."""
    return {
        "symbol": position.symbol,
        "net": _text(position.net),
        "bought": _text(position.bought),
        "sold": _text(position.sold),
        "avg_price": _text(position.avg_price),
        "fees": _text(position.fees),
    }


def _levels(levels: Iterable[Any]) -> list[dict[str, str | None]]:
    return [{"price": _text(lv.price), "size": _text(lv.size)} for lv in levels]


def book_record(book: Book, depth: int) -> dict[str, Any]:
    """One book for ``--json``: the best ``depth`` levels of each side, best first."""
    bids, offers = book.depth(depth)
    return {
        "symbol": book.symbol,
        "has_snapshot": book.has_snapshot,
        "consistent": book.consistent,
        "bids": _levels(bids),
        "offers": _levels(offers),
    }


def _trade_time(trade: Trade) -> str | None:
    """MDEntryDate(272) + MDEntryTime(273) as ISO UTC (the time alone without a date)."""
    if trade.entry_time is None:
        return None
    if trade.entry_date is None:
        return trade.entry_time.isoformat()
    moment = datetime.combine(trade.entry_date, trade.entry_time)
    return _iso(moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc))


def trade_record(trade: Trade) -> dict[str, Any]:
    """One market trade for ``--json``."""
    return {
        "symbol": trade.symbol,
        "price": _text(trade.price),
        "size": _text(trade.size),
        "aggressor_side": _side(trade.aggressor_side),
        "trade_id": trade.trade_id,
        "time": _trade_time(trade),
    }


def fill_record(fill: Fill) -> dict[str, Any]:
    """One of our fills for ``--json``."""
    return {
        "exec_id": fill.exec_id,
        "cl_ord_id": fill.cl_ord_id,
        "symbol": fill.symbol,
        "side": _side(fill.side),
        "price": _text(fill.price),
        "qty": _text(fill.qty),
        "fees": _text(fill.fees),
        "time": _text(fill.transact_time),
    }


def state_record(replay: Replay, args: argparse.Namespace) -> dict[str, Any]:
    """The whole state for ``--json`` (see docs/replay.md for the schema)."""
    symbol = args.symbol
    orders = replay.orders(symbol)
    return {
        "schema": JSON_SCHEMA_VERSION,
        "kind": "state",
        "at": _iso(args.at),
        "time": _iso(replay.time),
        "messages": replay.applied,
        "symbol": symbol,
        "open_orders": [o.cl_ord_id for o in orders if o.is_open],
        "orders": [order_record(o) for o in orders],
        "positions": [position_record(p) for p in replay.positions(symbol)],
        "books": [book_record(b, args.depth) for b in replay.book_list(symbol)],
        "trades": [trade_record(t) for t in replay.trades(symbol, args.trades)],
        "fills": [fill_record(f) for f in replay.fills(symbol, args.trades)],
    }


def _table(rows: Sequence[Sequence[str | None]], indent: str = "  ") -> list[str]:
    """Rows as left-aligned columns (None shows as '-'), the first row being the heading."""
    cells = [[printable(c) if c is not None else "-" for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]


Row = Sequence[str | None]


def _section(title: str, head: Row, rows: Sequence[Row]) -> list[str]:
    """``title (n):`` and a table, or ``title: none``."""
    if not rows:
        return [f"{title}: none"]
    return [f"{title} ({len(rows)}):", *_table([head, *rows])]


_ORDER_HEAD: Final = (
    "ClOrdID", "symbol", "side", "status", "price", "qty", "cum", "leaves", "avg px"
)
_POSITION_HEAD: Final = ("symbol", "net", "avg price", "bought", "sold", "fees")
_TRADE_HEAD: Final = ("symbol", "size", "price", "aggressor", "time", "trade id")
_FILL_HEAD: Final = ("ClOrdID", "symbol", "side", "qty", "price", "fees", "exec id")


def _order_row(o: TrackedOrder) -> Row:
    quantities = (o.price, o.order_qty, o.cum_qty, o.leaves_qty, o.avg_px)
    return (o.cl_ord_id, o.symbol, _side(o.side), o.status.name, *map(_text, quantities))


def _position_row(p: Position) -> Row:
    return (p.symbol, *map(_text, (p.net, p.avg_price, p.bought, p.sold, p.fees)))


def _trade_row(t: Trade) -> Row:
    size_price = map(_text, (t.size, t.price))
    return (t.symbol, *size_price, _side(t.aggressor_side), _trade_time(t), t.trade_id)


def _fill_row(f: Fill) -> Row:
    quantities = map(_text, (f.qty, f.price, f.fees))
    return (f.cl_ord_id, f.symbol, _side(f.side), *quantities, f.exec_id)


def _book_text(book: Book, depth: int) -> list[str]:
    state = "consistent" if book.consistent else "INCONSISTENT"
    if not book.has_snapshot:
        state = "no snapshot"
    bids, offers = book.depth(depth)
    lines = [f"  {book.symbol} ({state})"]
    if not bids and not offers:
        return [*lines, "    empty"]
    rows: list[Row] = [("#", "bid size", "bid", "ask", "ask size")]
    for i in range(max(len(bids), len(offers))):
        bid = (_text(bids[i].size), _text(bids[i].price)) if i < len(bids) else ("", "")
        ask = (_text(offers[i].price), _text(offers[i].size)) if i < len(offers) else ("", "")
        rows.append((str(i + 1), *bid, *ask))
    return [*lines, *_table(rows, "    ")]


def state_text(replay: Replay, args: argparse.Namespace) -> str:
    """The whole state as text (see docs/replay.md)."""
    symbol = args.symbol
    when = f"at {_iso(args.at)}" if args.at is not None else "at the end of the log"
    last = _iso(replay.time) or "no time"
    head = f"state {when}: {replay.applied} message(s) applied, the last at {last}"
    if symbol is not None:
        head += f", symbol {symbol}"
    orders = replay.orders(symbol)
    lines = [head]
    open_rows = [_order_row(o) for o in orders if o.is_open]
    lines += _section("open orders", _ORDER_HEAD, open_rows)
    lines += _section("all orders", _ORDER_HEAD, list(map(_order_row, orders)))
    lines += _section("positions", _POSITION_HEAD, list(map(_position_row, replay.positions(symbol))))
    books = replay.book_list(symbol)
    if books:
        lines.append(f"books (best {args.depth} levels):")
        for book in books:
            lines += _book_text(book, args.depth)
    else:
        lines.append("books: none")
    if args.trades:
        trades = replay.trades(symbol, args.trades)
        lines += _section("recent trades", _TRADE_HEAD, list(map(_trade_row, trades)))
        fills = replay.fills(symbol, args.trades)
        lines += _section("our fills", _FILL_HEAD, list(map(_fill_row, fills)))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# --step


def _key_fields(msg: Message) -> dict[str, Any]:
    """The body fields worth a glance (ClOrdID, ExecType, prices...), by tag name."""
    found: dict[int, tuple[str, Any]] = {}
    for tag, name, value in msg.items():
        if tag in _KEY_TAGS and value is not None:
            found[tag] = (name, len(value) if isinstance(value, tuple) else value)
    return {found[t][0]: found[t][1] for t in _KEY_TAGS if t in found}


def _changes_lines(changes: Changes, replay: Replay, depth: int) -> list[str]:
    lines = []
    for o in changes.orders:
        was = changes.was.get(o.cl_ord_id)
        status = f"{was} -> {o.status.name}" if was not in (None, o.status.name) else o.status.name
        lines.append(
            f"    order {o.cl_ord_id}: {status} {_side(o.side) or '-'} {o.symbol or '-'} "
            f"qty {o.order_qty} cum {o.cum_qty} leaves {o.leaves_qty} avg px {_text(o.avg_px) or '-'}"
        )
    for p in changes.positions:
        lines.append(
            f"    position {p.symbol}: net {p.net} avg price {_text(p.avg_price) or '-'} "
            f"fees {p.fees}"
        )
    for symbol in changes.books:
        book = replay.books.get(symbol)
        if book is not None:
            bids, offers = book.depth(depth)
            shown = " ".join(f"{lv.size}@{lv.price}" for lv in bids) or "-"
            asked = " ".join(f"{lv.size}@{lv.price}" for lv in offers) or "-"
            lines.append(f"    book {symbol}: bids {shown} | asks {asked}")
    for t in changes.trades:
        lines.append(
            f"    trade {t.symbol}: {t.size} @ {t.price} aggressor {_side(t.aggressor_side)}"
        )
    lines += [f"    ! {p}" for p in changes.problems]
    return [printable(line) for line in lines]


def _step_text(entry: Entry, changes: Changes, replay: Replay, depth: int) -> str:
    msg = entry.message
    fields = " ".join(f"{k}={_text(v)}" for k, v in _key_fields(msg).items())
    direction = entry.direction + ("?" if entry.inferred and entry.direction != "?" else "")
    line = (
        f"#{entry.index} {_iso(entry.time) or '-'} {direction} {entry.session or '-'} "
        f"{type(msg).__name__}({msg.MSG_TYPE})"
    )
    lines = [printable(f"{line} {fields}".rstrip()), *_changes_lines(changes, replay, depth)]
    return "\n".join(lines)


def _step_record(entry: Entry, changes: Changes, replay: Replay, depth: int) -> dict[str, Any]:
    books = [replay.books.get(s) for s in changes.books]
    return {
        "schema": JSON_SCHEMA_VERSION,
        "kind": "message",
        "index": entry.index,
        "offset": entry.offset,
        "time": _iso(entry.time),
        "direction": entry.direction,
        "direction_inferred": entry.inferred,
        "session": entry.session,
        "msg_type": entry.message.MSG_TYPE,
        "name": type(entry.message).__name__,
        "fields": {k: _text(v) for k, v in _key_fields(entry.message).items()},
        "orders": [order_record(o) for o in changes.orders],
        "positions": [position_record(p) for p in changes.positions],
        "books": [book_record(b, depth) for b in books if b is not None],
        "trades": [trade_record(t) for t in changes.trades],
        "problems": changes.problems,
    }


# ---------------------------------------------------------------------------------------------
# The command


def replay_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix replay``.

    Args:
        args: parsed arguments.
        out: where the state (and the steps) go.
        err: where problems go.

    Returns:
        0 when every frame was read, 1 when some input could not be parsed (skipped; the state
        is printed) or it held no FIX message, 2 when the input cannot be read.
    """
    source = read_input(args.file, err, "replay")
    if source is None:
        return EXIT_USAGE
    name, data = source
    reader = _Reader(data, name, args, err)
    replay = Replay(max_trades=args.trades)
    for entry in reader.entries():
        if args.at is not None and entry.time is not None and entry.time > args.at:
            break
        try:
            changes = replay.apply(entry)
        except Exception as exc:  # a tracker or book bug must not end the replay unseen
            reader.failures += 1
            reader.warn(
                entry.offset,
                f"message #{entry.index}: internal error ({type(exc).__name__}: {exc}) while "
                "applying it; please report it (skipped)",
            )
            continue
        if not args.step:
            for problem in changes.problems:
                reader.warn(entry.offset, f"message #{entry.index}: {problem}")
            continue
        if args.symbol is not None and args.symbol not in changes.symbols() | {
            getattr(entry.message, "symbol", None)
        }:
            continue
        if args.json:
            emit(out, json.dumps(_step_record(entry, changes, replay, args.depth)))
        else:
            emit(out, _step_text(entry, changes, replay, args.depth))
    if reader.frames == 0 and reader.failures == 0:
        emit(err, f"kalshi-fix replay: {name}: no FIX messages found")
        return EXIT_FAILED
    if args.json:
        emit(out, json.dumps(state_record(replay, args)))
    else:
        emit(out, ("\n" if args.step else "") + state_text(replay, args))
    if reader.failures:
        emit(err, f"kalshi-fix replay: {reader.failures} malformed frame(s) skipped")
        return EXIT_FAILED
    return EXIT_OK


def _time_arg(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


def add_replay_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix replay`` and its options to the subcommands of ``kalshi-fix``."""
    rep = sub.add_parser(
        "replay",
        help="rebuild orders, positions and books from a FIX message log",
        description="Feed a FIX log (the adapters' message log, or any log 'kalshi-fix decode' "
        "reads) through the order tracker and the order books, and print the orders, "
        "positions, books and recent trades at the end of the log, at a moment (--at) or "
        "after every message (--step). Secrets are never shown.",
        epilog="exit status: 0 every frame read, 1 some input could not be parsed (skipped, "
        "told on stderr) or no FIX messages found, 2 usage error",
    )
    rep.add_argument("file", help="the log ('-' for stdin)")
    rep.add_argument(
        "--at",
        type=_time_arg,
        metavar="TIME",
        help="the state as it stood at TIME (ISO 8601 UTC, e.g. 2026-11-22T10:15:00Z): stops "
        "before the first message after it",
    )
    rep.add_argument(
        "--step", action="store_true", help="one line per message and what it changed"
    )
    rep.add_argument("--symbol", help="only this symbol's orders, positions, books and trades")
    rep.add_argument(
        "--depth", type=_count_arg, default=5, metavar="N", help="book levels shown (default 5)"
    )
    rep.add_argument(
        "--trades",
        type=_count_arg,
        default=10,
        metavar="N",
        help="recent trades and fills shown (default 10)",
    )
    rep.add_argument("--json", action="store_true", help="JSON output (docs/replay.md)")
    add_codec_options(rep)
