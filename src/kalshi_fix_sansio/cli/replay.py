"""``kalshi-fix replay``: rebuild orders, positions and books from a FIX message log.

Reads the log and feeds it through the code `kalshi_fix_sansio.client.restore` runs for a warm
restart (`LogReader` reads any input ``kalshi-fix decode`` reads, secrets masked; `Replay` feeds
an `OrderTracker` and a `Books`), and prints the orders, positions, books and recent trades as
they stood at the end, at a moment (``--at TIME``), or after every message (``--step``). The
text shows prices in the product's one format (`kalshi_fix_sansio.trading.prices`: ``$0.42`` on
prediction, ``$19.5000`` on margin); ``--json`` keeps exact decimal strings. See docs/replay.md.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import IO, TYPE_CHECKING, Any, Final

from ..client.restore import (
    Accounts,
    Changes,
    Entry,
    LogIssue,
    LogReader,
    Replay,
    RestoreError,
    parse_time,
)
from ..codec.spec import FIELDS
from ..observability.messagelog import printable
from ..trading.prices import PRICE_TAGS, QUANTITY_TAGS, format_amount, format_price, format_quantity
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Interrupted,
    close_input,
    emit,
    interrupted_by_signals,
    open_input,
    reason_of,
    whole_number,
)
from .decode import READING_HELP, Progress, add_codec_options
from .paper import recording_path

if TYPE_CHECKING:
    from .. import Message
    from ..trading.book import Book, Trade
    from ..trading.tracker import Fill, Position, TrackedOrder

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
"""The ``schema`` of every ``--json`` object (raised when a field changes meaning or goes; a
new field does not raise it)."""

# body fields shown on a --step line, in this order, when the message has them
_KEY_TAGS: Final = (
    11,
    41,
    150,
    39,
    55,
    54,
    38,
    44,
    32,
    31,
    14,
    151,
    6,
    103,
    102,
    379,
    380,
    263,
    146,
    268,
    58,
)
_SIDES: Final = {"1": "buy", "2": "sell"}
_PRICE_NAMES: Final = frozenset(FIELDS[tag].name for tag in PRICE_TAGS)
_QUANTITY_NAMES: Final = frozenset(FIELDS[tag].name for tag in QUANTITY_TAGS)


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


def _px(value: Any, product: str) -> str | None:
    """A price for the text output: the product's one format (`format_price`); None stays."""
    return None if value is None else format_price(value, product)


def _qty(value: Any, product: str) -> str:
    """A quantity for the text output: the product's one format (`format_quantity`)."""
    return "-" if value is None else format_quantity(value, product)


def _level(level: Any, product: str) -> str:
    """A book level as ``size@price``."""
    return f"{_qty(level.size, product)}@{_px(level.price, product)}"


def _product(args: argparse.Namespace) -> str:
    """The product whose price format the text uses (``--dialect``)."""
    return str(getattr(args, "dialect", None) or "prediction")


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
        "original_qty": _text(order.original_qty),
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


def state_record(
    replay: Replay, args: argparse.Namespace, accounts: Accounts | None = None, ignored: int = 0
) -> dict[str, Any]:
    """The whole state for ``--json`` (see docs/replay.md for the schema).

    Args:
        replay: the replayed state.
        args: the command's arguments (``symbol``, ``at``, ``depth``, ``trades``).
        accounts: the API keys whose order lines fed the tracker (`Accounts.used`).
        ignored: messages of other API keys left out (``--key-id``).
    """
    symbol = args.symbol
    orders = replay.orders(symbol)
    return {
        "schema": JSON_SCHEMA_VERSION,
        "kind": "state",
        "at": _iso(args.at),
        "time": _iso(replay.time),
        "messages": replay.applied,
        "key_ids": [] if accounts is None else list(accounts.used),
        "ignored": ignored,
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
    "ClOrdID",
    "symbol",
    "side",
    "status",
    "price",
    "qty",
    "cum",
    "leaves",
    "avg px",
)
_POSITION_HEAD: Final = ("symbol", "net", "avg price", "bought", "sold", "fees")
_TRADE_HEAD: Final = ("symbol", "size", "price", "aggressor", "time", "trade id")
_FILL_HEAD: Final = ("ClOrdID", "symbol", "side", "qty", "price", "fees", "exec id")


def _order_row(o: TrackedOrder, product: str) -> Row:
    quantities = (_qty(q, product) for q in (o.original_qty, o.cum_qty, o.leaves_qty))
    return (
        o.cl_ord_id,
        o.symbol,
        _side(o.side),
        o.status.name,
        _px(o.price, product),
        *quantities,
        _px(o.avg_px, product),
    )


def _position_row(p: Position, product: str) -> Row:
    return (
        p.symbol,
        _qty(p.net, product),
        _px(p.avg_price, product),
        _qty(p.bought, product),
        _qty(p.sold, product),
        format_amount(p.fees),
    )


def _trade_row(t: Trade, product: str) -> Row:
    return (
        t.symbol,
        _qty(t.size, product),
        _px(t.price, product),
        _side(t.aggressor_side),
        _trade_time(t),
        t.trade_id,
    )


def _fill_row(f: Fill, product: str) -> Row:
    return (
        f.cl_ord_id,
        f.symbol,
        _side(f.side),
        _qty(f.qty, product),
        _px(f.price, product),
        format_amount(f.fees),
        f.exec_id,
    )


def _book_text(book: Book, depth: int, product: str) -> list[str]:
    state = "consistent" if book.consistent else "INCONSISTENT"
    if not book.has_snapshot:
        state = "no snapshot"
    bids, offers = book.depth(depth)
    lines = [f"  {book.symbol} ({state})"]
    if not bids and not offers:
        return [*lines, "    empty"]
    rows: list[Row] = [("#", "bid size", "bid", "ask", "ask size")]
    for i in range(max(len(bids), len(offers))):
        bid = (
            (_qty(bids[i].size, product), _px(bids[i].price, product))
            if i < len(bids)
            else ("", "")
        )
        ask = (
            (_px(offers[i].price, product), _qty(offers[i].size, product))
            if i < len(offers)
            else ("", "")
        )
        rows.append((str(i + 1), *bid, *ask))
    return [*lines, *_table(rows, "    ")]


def state_text(
    replay: Replay, args: argparse.Namespace, accounts: Accounts | None = None, ignored: int = 0
) -> str:
    """The whole state as text (see docs/replay.md; the arguments as for `state_record`, and
    ``args.dialect`` chooses the prices' format, prediction when absent)."""
    symbol = args.symbol
    product = _product(args)
    when = f"at {_iso(args.at)}" if args.at is not None else "at the end of the log"
    last = _iso(replay.time) or "no time"
    head = f"state {when}: {replay.applied} message(s) applied, the last at {last}"
    if accounts is not None and accounts.used:
        head += f", API key {', '.join(accounts.used)}"
    if ignored:
        head += f" ({ignored} message(s) of other API keys left out)"
    if symbol is not None:
        head += f", symbol {symbol}"
    orders = replay.orders(symbol)
    lines = [head]
    open_rows = [_order_row(o, product) for o in orders if o.is_open]
    lines += _section("open orders", _ORDER_HEAD, open_rows)
    lines += _section("all orders", _ORDER_HEAD, [_order_row(o, product) for o in orders])
    positions = [_position_row(p, product) for p in replay.positions(symbol)]
    lines += _section("positions", _POSITION_HEAD, positions)
    books = replay.book_list(symbol)
    if books:
        lines.append(f"books (best {args.depth} levels):")
        for book in books:
            lines += _book_text(book, args.depth, product)
    else:
        lines.append("books: none")
    if args.trades:
        trades = replay.trades(symbol, args.trades)
        lines += _section("recent trades", _TRADE_HEAD, [_trade_row(t, product) for t in trades])
        fills = replay.fills(symbol, args.trades)
        lines += _section("our fills", _FILL_HEAD, [_fill_row(f, product) for f in fills])
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


def _changes_lines(changes: Changes, replay: Replay, depth: int, product: str) -> list[str]:
    lines = []
    for o in changes.orders:
        was = changes.was.get(o.cl_ord_id)
        status = f"{was} -> {o.status.name}" if was not in (None, o.status.name) else o.status.name
        lines.append(
            f"    order {o.cl_ord_id}: {status} {_side(o.side) or '-'} {o.symbol or '-'} "
            f"qty {_qty(o.original_qty, product)} cum {_qty(o.cum_qty, product)} "
            f"leaves {_qty(o.leaves_qty, product)} "
            f"avg px {_px(o.avg_px, product) or '-'}"
        )
    for p in changes.positions:
        lines.append(
            f"    position {p.symbol}: net {_qty(p.net, product)} "
            f"avg price {_px(p.avg_price, product) or '-'} fees {format_amount(p.fees)}"
        )
    for symbol in changes.books:
        book = replay.books.get(symbol)
        if book is not None:
            bids, offers = book.depth(depth)
            shown = " ".join(_level(lv, product) for lv in bids) or "-"
            asked = " ".join(_level(lv, product) for lv in offers) or "-"
            lines.append(f"    book {symbol}: bids {shown} | asks {asked}")
    for t in changes.trades:
        lines.append(
            f"    trade {t.symbol}: {_qty(t.size, product)} @ {_px(t.price, product)} "
            f"aggressor {_side(t.aggressor_side)}"
        )
    lines += [f"    ! {p}" for p in changes.problems]
    return [printable(line) for line in lines]


def _field_text(name: str, value: Any, product: str) -> str | None:
    """A key field of a step's line: prices and quantities in the product's one format."""
    if isinstance(value, Decimal) and name in _PRICE_NAMES:
        return _px(value, product)
    if isinstance(value, Decimal) and name in _QUANTITY_NAMES:
        return _qty(value, product)
    return _text(value)


def _step_text(entry: Entry, changes: Changes, replay: Replay, depth: int, product: str) -> str:
    msg = entry.message
    fields = " ".join(f"{k}={_field_text(k, v, product)}" for k, v in _key_fields(msg).items())
    direction = entry.direction + ("?" if entry.inferred and entry.direction != "?" else "")
    line = (
        f"#{entry.index} {_iso(entry.time) or '-'} {direction} {entry.session or '-'} "
        f"{type(msg).__name__}({msg.MSG_TYPE})"
    )
    changed = _changes_lines(changes, replay, depth, product)
    lines = [printable(f"{line} {fields}".rstrip()), *changed]
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
    """Run ``kalshi-fix replay``: the log is read line by line, never held whole.

    A file (or stdin redirected from one) is read twice: once to find whose orders it holds
    (several API keys without ``--key-id`` are refused before anything is printed), then to
    replay it. A pipe can be read only once: the replay refuses at the first line of a second
    API key, and a ``--key-id`` that names none of the log's keys at the end.

    Args:
        args: parsed arguments.
        out: where the state (and the steps) go.
        err: where problems go.

    Returns:
        0 when every frame was read, 1 when some input could not be parsed (skipped; the state
        is printed; a line longer than `kalshi_fix_sansio.observability.messagelog.MAX_LINE_BYTES` ends the
        reading there) or it held no FIX message, 2 when the input cannot be read, or it holds
        the orders of several API keys and ``--key-id`` does not choose one (or names none of
        them), 130 / 143 when SIGINT / SIGTERM stopped it (one line, no state printed).
    """
    progress = Progress()
    try:
        with interrupted_by_signals():
            source = open_input(recording_path(args.file), err, "replay")
            if source is None:
                return EXIT_USAGE
            name, stream = source
            progress.at(name)
            try:
                return _replay(name, stream, args, out, err, progress)
            except OSError as exc:  # a read failing mid-way (EIO, a vanished mount)
                emit(err, f"kalshi-fix replay: cannot read {name}: {reason_of(exc)}")
                return EXIT_USAGE
            finally:
                close_input(stream)
    except Interrupted as stop:
        emit(err, progress.stopped("replay", stop, "; no state printed"))
        return stop.status


def _start(stream: IO[bytes]) -> int | None:
    """Where a second reading starts (None: the stream cannot be read twice, a pipe)."""
    try:
        return stream.tell() if stream.seekable() else None
    except (OSError, ValueError):
        return None


def _refused(name: str, accounts: Accounts, err: IO[str], *, partial: bool = False) -> bool:
    """Whether the keys read so far are refused (then one line on ``err``)."""
    try:
        accounts.check(option="--key-id KEY", name="--key-id", action="replay", partial=partial)
    except RestoreError as exc:
        emit(err, f"kalshi-fix replay: {name}: {printable(str(exc))}")
        return True
    return False


def _replay(
    name: str,
    stream: IO[bytes],
    args: argparse.Namespace,
    out: IO[str],
    err: IO[str],
    progress: Progress,
) -> int:
    accounts = Accounts(args.key_id)
    start = _start(stream)
    if start is not None:
        # a first, silent pass: whose orders the log holds, before anything is printed
        for entry in LogReader(
            product=args.dialect, use_dollars=args.use_dollars, rfq_units=args.rfq_units
        ).entries(stream, name):
            progress.offset = entry.offset
            accounts.admits(entry)
        if _refused(name, accounts, err):
            return EXIT_USAGE
        stream.seek(start)

    def tell(issue: LogIssue) -> None:
        text = issue.reason + ("" if issue.applied else " (skipped)")
        emit(err, f"{issue.source}: byte {issue.offset}: {printable(text)}")

    reader = LogReader(
        product=args.dialect,
        use_dollars=args.use_dollars,
        rfq_units=args.rfq_units,
        on_issue=tell,
    )
    replay = Replay(max_trades=args.trades)
    ignored = 0
    for entry in reader.entries(stream, name):
        progress.offset = entry.offset
        if args.at is not None and entry.time is not None and entry.time > args.at:
            break
        if not accounts.admits(entry):
            ignored += 1
            continue
        if start is None and _refused(name, accounts, err, partial=True):
            return EXIT_USAGE  # read once (a pipe): refused where a second key shows
        changes = replay.feed(entry, reader.report)
        if changes is None:
            continue
        if not args.step:
            for problem in changes.problems:
                reader.report(
                    LogIssue(name, entry.offset, f"message #{entry.index}: {problem}", applied=True)
                )
            continue
        if args.symbol is not None and args.symbol not in changes.symbols() | {
            getattr(entry.message, "symbol", None)
        }:
            continue
        if args.json:
            emit(out, json.dumps(_step_record(entry, changes, replay, args.depth)))
        else:
            emit(out, _step_text(entry, changes, replay, args.depth, args.dialect))
    if start is None and _refused(name, accounts, err):
        return EXIT_USAGE
    if reader.frames == 0 and reader.failures == 0:
        emit(err, f"kalshi-fix replay: {name}: no FIX messages found")
        return EXIT_FAILED
    if args.json:
        emit(out, json.dumps(state_record(replay, args, accounts, ignored)))
    else:
        emit(out, ("\n" if args.step else "") + state_text(replay, args, accounts, ignored))
    if reader.failures:
        emit(err, f"kalshi-fix replay: {reader.failures} malformed frame(s) skipped")
        return EXIT_FAILED
    return EXIT_OK


def _time_arg(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _key_arg(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an API key id cannot be empty")
    return text


def add_replay_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix replay`` and its options to the subcommands of ``kalshi-fix``."""
    rep = sub.add_parser(
        "replay",
        description="Feed a FIX log (the adapters' message log, or any log 'kalshi-fix decode' "
        "reads) through the order tracker and the order books, and print the orders, "
        "positions, books and recent trades at the end of the log, at a moment (--at) or "
        f"after every message (--step). Secrets are never shown. {READING_HELP} A file is "
        "read twice (whose orders it holds, then the replay); a pipe once.",
        epilog="exit status: 0 every frame read, 1 some input could not be parsed (skipped, "
        "told on stderr; a line too long ends the reading) or no FIX messages found, 2 usage "
        "error (a log of several API keys without --key-id included), 130 / 143 Ctrl-C / "
        "SIGTERM (it stops at once, no state printed)",
    )
    rep.add_argument("file", help="the log ('-' for stdin)")
    rep.add_argument(
        "--at",
        type=_time_arg,
        metavar="TIME",
        help="the state as it stood at TIME (ISO 8601 UTC, e.g. 2026-11-22T10:15:00Z): stops "
        "before the first message after it",
    )
    rep.add_argument("--step", action="store_true", help="one line per message and what it changed")
    rep.add_argument("--symbol", help="only this symbol's orders, positions, books and trades")
    rep.add_argument(
        "--key-id",
        action="append",
        type=_key_arg,
        metavar="KEY",
        help="only this API key's order-entry and drop-copy lines (repeat it for the keys of "
        "one account); needed when the log holds several keys' orders. Market data is kept",
    )
    rep.add_argument(
        "--depth",
        type=whole_number(0),
        default=5,
        metavar="N",
        help="book levels shown (default 5)",
    )
    rep.add_argument(
        "--trades",
        type=whole_number(0),
        default=10,
        metavar="N",
        help="recent trades and fills shown (default 10)",
    )
    rep.add_argument("--json", action="store_true", help="JSON output (docs/replay.md)")
    add_codec_options(rep)
