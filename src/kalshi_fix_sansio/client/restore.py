"""Warm restart: rebuild the order tracker, the books and the catch-up cursor from a message log.

A client killed and started again has lost its `OrderTracker` (it lives in memory). The FIX
message log the adapters write (``message_log_path=``, one line per frame:
``<ISO UTC time> <IN|OUT> <session type>/<API key id> <frame>``) holds everything that built
it. `restore` feeds that log, in order, through the code a session uses: what we sent to
`OrderTracker.sent`, what we received to `OrderTracker.on_message`, market data to
`Books.apply`, and every received ExecutionReport's ExecID to an `ExecCursor` (where a
drop-copy catch-up resumes). ``kalshi-fix replay`` runs the same code (`LogReader`, `Replay`).

    >>> from kalshi_fix_sansio.client.restore import restore
    >>> restored = restore(b"")  # a path, or the log's bytes
    >>> restored.messages, len(restored.tracker), restored.cursor
    (0, 0, ExecCursor({}))

Which lines feed what, by the session type of each line (its session id, or in a log without
one the TargetCompID of what we sent): order-entry and drop-copy sessions (KalshiNR, KalshiRT,
KalshiDC: the types that receive ExecutionReports) feed the tracker and the cursor; market
data (KalshiMD) feeds the books; a line whose session type is unknown feeds both (each ignores
the message types it does not know).

Reading the log reads files, line by line (a file is never held whole); the rest of the
package's rules hold (no clock, no socket).
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Final

import attrs

from ..codec.errors import FixError
from ..observability import (
    Entry,
    LogIssue,
    LogReader,
    Reporter,
    parse_time,
    session_feeds,
)
from ..observability.messagelog import PRODUCTS
from ..trading import naming_order

if TYPE_CHECKING:
    from ..trading.book import Book, Books, BookUpdates, Trade
    from ..trading.catchup import ExecCursor
    from ..trading.tracker import Fill, OrderTracker, Position, TrackedOrder

_RATE_LIMIT_EXCEEDED: Final = 8  # BusinessRejectReason(380) of Kalshi's rate-limit reject

__all__ = [
    "Accounts",
    "Changes",
    "Entry",
    "LogIssue",
    "LogReader",
    "Replay",
    "RestoreError",
    "Restored",
    "parse_time",
    "restore",
    "session_feeds",
]

_TRACKER_TYPES: Final = frozenset({"D", "F", "G", "8", "9", "j"})
"""Message types the tracker takes (sent: D, F, G; received: 8, 9, j)."""
_MAX_LISTED: Final = 5
"""Problems named in a `RestoreError`'s message (all of them are on the exception)."""


# ---------------------------------------------------------------------------------------------
# Feeding the tracker, the books and the cursor


@dataclass
class Changes:
    """What one message changed.

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


def _strings(values: Iterable[Any]) -> tuple[str | None, ...]:
    return tuple(None if v is None else str(v) for v in values)


def _order_state(order: TrackedOrder) -> tuple[str | None, ...]:
    """What `Replay.apply` compares to tell whether an order changed (values as text: 4.00
    after 4 is a change to show)."""
    return _strings(
        (
            order.status.name,
            order.is_open,
            order.symbol,
            order.side,
            order.price,
            order.order_qty,
            order.original_qty,
            order.cum_qty,
            order.leaves_qty,
            order.avg_px,
            order.order_id,
            order.orig_cl_ord_id,
            order.replaced_by,
            order.group_id,
            order.text,
            None if order.rejection is None else order.rejection.text,
        )
    )


def _position_state(position: Position) -> tuple[str | None, ...]:
    return _strings(
        (position.net, position.bought, position.sold, position.avg_price, position.fees)
    )


class Replay:
    """An `OrderTracker`, a `Books` and an `ExecCursor` fed from log entries, as a client's
    sessions feed them.

    Sent NewOrderSingle / OrderCancelReplaceRequest / OrderCancelRequest go to
    `OrderTracker.sent`; received messages to `OrderTracker.on_message` (35=8, 35=9, 35=j), the
    ExecID of each received ExecutionReport to `ExecCursor.observe`, market data to
    `Books.apply` (35=W, 35=X), each from the session types that carry them (`session_feeds`).
    A resent request (PossDupFlag=Y) whose ClOrdID is already tracked is not sent twice.

    Args:
        max_trades: recent market trades kept per symbol.

    Attributes:
        tracker: the order tracker.
        books: the order books.
        cursor: the newest ExecID received per exchange index.
        applied: entries applied.
        time: the time of the last entry applied that had one.
    """

    def __init__(self, max_trades: int = 100) -> None:
        from ..trading.book import Books
        from ..trading.catchup import ExecCursor
        from ..trading.tracker import OrderTracker

        self.tracker = OrderTracker()
        self.books = Books(max_trades=max_trades)
        self.cursor = ExecCursor()
        self.applied = 0
        self.time: datetime | None = None
        self._trades: deque[Trade] = deque(maxlen=max_trades)  # every symbol's, as they came
        self._numbered: dict[tuple[str | None, object], str] = {}  # (session, seq) -> ClOrdID
        self._replays: dict[tuple[str | None, object], object] = {}  # (session, seq) -> begin
        self._carry: dict[int, str] = {}  # index -> BeginExecID of a replay still owed

    def apply(self, entry: Entry) -> Changes:
        """Feed one message; what it changed.

        A sent request the tracker refuses (its ClOrdID is in use) and book inconsistencies are
        in `Changes.problems`; the replay goes on.
        """
        from ..codec.errors import LocalProtocolError
        from ..trading.tracker import Position

        msg: Any = entry.message
        changes = Changes()
        self.applied += 1
        if entry.time is not None:
            self.time = entry.time
        tracks, books = session_feeds(entry.session_type)
        names = {
            str(v)
            for v in (
                getattr(msg, "cl_ord_id", None),
                getattr(msg, "orig_cl_ord_id", None),
                getattr(msg, "business_reject_ref_id", None),
            )
            if v is not None
        }
        withheld = self._withheld(entry.session_type, msg) if entry.direction == "OUT" else []
        names.update(withheld)
        before = {o.cl_ord_id: (o.status.name, _order_state(o)) for o in self._named(names)}
        symbols = {str(msg.symbol)} if getattr(msg, "symbol", None) is not None else set()
        symbols.update(o.symbol for o in self._named(names) if o.symbol is not None)
        positions = {s: _position_state(self.tracker.position(s)) for s in symbols}
        if entry.direction == "OUT":
            if tracks:
                if withheld:  # gap-filled by a resend while halted: never received
                    from ..trading.gate import WITHHELD_WHILE_HALTED

                    for cl in withheld:
                        self.tracker.not_received(cl, WITHHELD_WHILE_HALTED)
                if msg.MSG_TYPE == "U1":  # a drop-copy replay request: see `resume_cursor`
                    self._replays[(entry.session_type, msg.header.msg_seq_num)] = msg.begin_exec_id
                if msg.MSG_TYPE in ("D", "G"):  # as the session's gate: a 35=j may name it so
                    number = (entry.session_type, msg.header.msg_seq_num)
                    self._numbered[number] = str(msg.cl_ord_id)
                try:
                    self.tracker.sent(msg)
                except LocalProtocolError as exc:
                    if msg.header.poss_dup_flag is not True:
                        changes.problems.append(str(exc))
        else:
            if tracks:
                self._replay_answer(entry.session_type, msg)
                if msg.MSG_TYPE == "j" and msg.business_reject_ref_id is None:
                    named = self._numbered.get((entry.session_type, msg.ref_seq_num))
                    if named is not None and msg.ref_msg_type in ("D", "G"):
                        msg = naming_order(msg, named)
                self.tracker.on_message(msg)
                exec_id = getattr(msg, "exec_id", None) if msg.MSG_TYPE == "8" else None
                if isinstance(exec_id, str):
                    self.cursor.observe(exec_id)
            if books:
                updates: BookUpdates = self.books.apply(msg)
                changes.books = list(updates.symbols)
                changes.trades = list(updates.trades)
                self._trades.extend(updates.trades)
                changes.problems.extend(str(p) for p in updates.inconsistencies)
        for order in self._named(names):
            previous = before.get(order.cl_ord_id)
            if previous is None or previous[1] != _order_state(order):
                changes.orders.append(order)
                if previous is not None:
                    changes.was[order.cl_ord_id] = previous[0]
        symbols.update(o.symbol for o in changes.orders if o.symbol is not None)
        for symbol in sorted(symbols):
            position = self.tracker.position(symbol)
            was = positions.get(symbol) or _position_state(Position(symbol))
            if _position_state(position) != was:
                changes.positions.append(position)
        return changes

    def _withheld(self, session_type: str | None, msg: Any) -> list[str]:
        """The orders and replaces a SequenceReset-GapFill we sent covers: a resend gap-fills
        an order only when the order gate withholds it (halted by the kill switch), and the
        live tracker then ended it REJECTED (`OrderGate.withhold`). A Logon that resets the
        numbers forgets the numbers before it."""
        numbered = self._numbered
        if msg.MSG_TYPE == "A" and msg.reset_seq_num_flag is True:
            for key in [k for k in numbered if k[0] == session_type]:
                del numbered[key]
        if msg.MSG_TYPE != "4" or msg.gap_fill_flag is not True:
            return []
        begin, end = msg.header.msg_seq_num, msg.new_seq_no
        if not isinstance(begin, int) or not isinstance(end, int):
            return []
        return [
            cl
            for (session, seq), cl in numbered.items()
            if session == session_type and isinstance(seq, int) and begin <= seq < end
        ]

    def _replay_answer(self, session_type: str | None, msg: Any) -> None:
        """What a received message says of a replay request the log sent: refused by the rate
        limit, the next Logon asks again from the same BeginExecID (as the live session's
        catch-up carries it); answered, or refused otherwise, nothing is owed."""
        msg_type = msg.MSG_TYPE
        if msg_type not in ("j", "3", "U2", "U3"):
            return
        begin = self._replays.pop((session_type, msg.ref_seq_num), None)
        if not isinstance(begin, str):
            return
        from ..trading.catchup import ExecCursor

        indexes = ExecCursor()
        if not indexes.observe(begin):
            return
        for index in indexes.last:
            if msg_type == "j" and msg.business_reject_reason == _RATE_LIMIT_EXCEEDED:
                self._carry[index] = begin
            else:
                self._carry.pop(index, None)

    def resume_cursor(self) -> ExecCursor:
        """Where the next catch-up resumes: `cursor`, but from the BeginExecID of a replay
        request the rate limit refused and no later one answered (the reports from there were
        never replayed: resuming from the newest ExecID would skip them)."""
        from ..trading.catchup import ExecCursor

        if not self._carry:
            return self.cursor
        last = self.cursor.last
        last.update(self._carry)
        return ExecCursor(last)

    def feed(self, entry: Entry, on_issue: Reporter) -> Changes | None:
        """`apply` an entry; an exception while applying it (a bug) is told to ``on_issue`` as
        a problem (`LogIssue.applied` False) and gives None: the replay goes on."""
        try:
            return self.apply(entry)
        except Exception as exc:  # a tracker or book bug must not end the replay unseen
            on_issue(
                LogIssue(
                    entry.source,
                    entry.offset,
                    f"message #{entry.index}: internal error ({type(exc).__name__}: {exc}) "
                    "while applying it; please report it",
                )
            )
            return None

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
# One account per tracker


class Accounts:
    """Which API keys' order-entry and drop-copy lines feed the tracker: one account per tracker.

    `restore` and ``kalshi-fix replay`` ask it about every entry (`admits`), then `check` the
    log as a whole: the positions of two accounts are never merged silently. An account line
    is a line of a session type that receives ExecutionReports (KalshiNR, KalshiRT, KalshiDC),
    or, where the session type is unknown, an order message (35=D, F, G, 8, 9, j); its key is
    `Entry.key_id`. Market-data lines are no account's: every key's feed the books.

    Args:
        key_ids: the API keys (one account's) whose lines to keep; None keeps every key's, and
            `check` refuses a log of more than one.

    Attributes:
        key_ids: as given (a frozenset), or None.
        seen: the keys of the account lines asked about, in order of first appearance.
        used: the keys of the account lines admitted.
    """

    def __init__(self, key_ids: str | Iterable[str] | None = None) -> None:
        self.key_ids = _names(key_ids, "key_id")
        self.seen: dict[str, None] = {}
        self.used: dict[str, None] = {}

    def admits(self, entry: Entry) -> bool:
        """Whether the entry feeds the replay (False: another account's line, left out)."""
        kind = entry.session_type
        if not session_feeds(kind)[0]:
            return True
        if kind is None and entry.message.MSG_TYPE not in _TRACKER_TYPES:
            return True
        key = entry.key_id
        if key is not None:
            self.seen.setdefault(key, None)
        if self.key_ids is not None and key not in self.key_ids:
            return False  # another account's (or nobody's we can tell)
        if key is not None:
            self.used.setdefault(key, None)
        return True

    def check(
        self,
        *,
        option: str = "key_id=",
        name: str = "key_id",
        action: str = "restore",
        partial: bool = False,
    ) -> None:
        """Refuse what was read: several keys and no ``key_ids``, or none of ``key_ids``.

        Args:
            option: how the caller selects a key, for the message (``"--key-id KEY"``).
            name: the option's name, for the message (``"--key-id"``).
            action: what the caller does, for the message (``"replay"``).
            partial: only what a part of the log already refuses (several keys without
                ``key_ids``): for a log read once as it comes (a pipe), asked after each
                entry; the rest needs the whole log.

        Raises:
            RestoreError: with the keys the log holds in `RestoreError.key_ids`.
        """
        held = ", ".join(self.seen)
        if self.key_ids is None and len(self.seen) > 1:
            raise RestoreError(
                f"the log holds the orders of {len(self.seen)} API keys ({held}): pass {option} "
                f"to {action} one account (positions of two accounts are never merged)",
                key_ids=self.seen,
            )
        if partial:
            return
        if self.key_ids is not None and self.seen and not self.used:
            raise RestoreError(
                f"the log holds no order-entry line of {name} "
                f"{', '.join(sorted(self.key_ids))}; it holds those of {held}",
                key_ids=self.seen,
            )


# ---------------------------------------------------------------------------------------------
# restore()


class RestoreError(FixError):
    """The log cannot be restored as asked: unreadable parts (with ``strict``), several API
    keys' orders and no ``key_id``, or no order-entry line of the ``key_id`` given.

    Attributes:
        problems: every part that could not be read (each with its input and byte offset).
        key_ids: the API keys whose order-entry or drop-copy lines the log holds, when that is
            the reason.
    """

    def __init__(
        self, text: str, *, problems: Iterable[LogIssue] = (), key_ids: Iterable[str] = ()
    ) -> None:
        super().__init__(text)
        self.problems: tuple[LogIssue, ...] = tuple(problems)
        self.key_ids: tuple[str, ...] = tuple(key_ids)


@attrs.frozen(eq=False)
class Restored:
    """The state a message log rebuilt (see `restore`).

    Attributes:
        tracker: orders, fills and positions, as the live session's tracker held them.
        books: the order books of the market data in the log.
        cursor: the newest ExecID per exchange index among the ExecutionReports received:
            where a drop-copy catch-up resumes (from an older one where a replay request of
            the log was refused by the rate limit and not answered since: `Replay.resume_cursor`).
        messages: messages applied (read from the selected sessions).
        ignored: messages read but left out (other sessions, by ``key_id`` / ``session_type``).
        problems: parts that could not be read, each with its input and byte offset (empty
            unless ``strict=False``: ``strict`` raises instead).
        warnings: caveats of messages that were applied (defects, refused requests, market data
            that did not fit the book), located the same way.
        key_ids: the API keys whose order-entry and drop-copy lines fed the tracker.
        last_time: the time of the last message applied (its log line's, else its
            SendingTime), or None.
    """

    tracker: OrderTracker
    books: Books
    cursor: ExecCursor
    messages: int
    ignored: int
    problems: tuple[LogIssue, ...]
    warnings: tuple[LogIssue, ...]
    key_ids: tuple[str, ...]
    last_time: datetime | None


def _names(value: str | Iterable[str] | None, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    names = frozenset([value] if isinstance(value, str) else value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{what} must be a non-empty string or strings, got {value!r}")
    return names


@contextlib.contextmanager
def _opened(
    source: str | os.PathLike[str] | bytes, number: int
) -> Iterator[tuple[str, bytes | IO[bytes]]]:
    """(name, bytes) of bytes given, (path, the file open) of a path: read as it is used."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield f"<bytes #{number}>", bytes(source)
        return
    path = os.fspath(source)
    with open(path, "rb") as handle:
        yield path, handle


def _problems_text(problems: list[LogIssue]) -> str:
    shown = "; ".join(str(p) for p in problems[:_MAX_LISTED])
    more = len(problems) - _MAX_LISTED
    if more > 0:
        shown += f"; and {more} more"
    return (
        f"{len(problems)} part(s) of the log could not be read: {shown}. The state would miss "
        "what they held: repair or remove those lines, or pass strict=False to restore "
        "without them (Restored.problems lists them)"
    )


def restore(
    *sources: str | os.PathLike[str] | bytes,
    product: str = "prediction",
    key_id: str | Iterable[str] | None = None,
    session_type: str | Iterable[str] | None = None,
    strict: bool = True,
    use_dollars: bool = False,
    rfq_units: str = "cents",
) -> Restored:
    """Rebuild the order tracker, the books and the catch-up cursor from FIX message logs.

    The messages of ``sources`` are fed in order (the first source's, then the next's) through
    `Replay`, the code ``kalshi-fix replay`` runs: what we sent to `OrderTracker.sent`, what we
    received to `OrderTracker.on_message`, market data to `Books.apply`, every received
    ExecutionReport's ExecID to `ExecCursor.observe`.

    One tracker is one account: when the order-entry and drop-copy lines (KalshiNR, KalshiRT,
    KalshiDC) of the log name several API keys, ``key_id`` must say which (two accounts'
    positions are never merged silently). Market-data lines feed the books whatever their key.

    Args:
        *sources: message-log files (paths), or their contents as bytes, oldest first
            (rotated logs: the older file first). Also reads what ``kalshi-fix decode`` reads.
            A file is read line by line, never held whole (what grows is the state: the
            orders it shows); a line longer than
            `kalshi_fix_sansio.observability.messagelog.MAX_LINE_BYTES` (16 MiB + 4 KiB) is a problem that
            ends that file's reading (``strict`` raises it).
        product: ``"prediction"`` or ``"margin"``: the dialect of the log (the log does not
            say, and prices would read wrong with the other one).
        key_id: the API key (or keys of one account) whose order-entry and drop-copy lines to
            restore; lines of other keys on those sessions are left out (`Restored.ignored`).
        session_type: only the lines of this session type (or these), e.g. ``"KalshiNR"``.
            Needs the session ids of the adapters' message log, or messages whose TargetCompID
            names it (a received message in a log without session ids has no session type).
        strict: raise `RestoreError` when a part of the log cannot be read (the message names
            the file and byte offset of each); False restores without them and lists them in
            `Restored.problems`. Messages with defects are applied either way, as the live
            session delivered them (`Restored.warnings`).
        use_dollars: read every session's prices as dollars (for a log that lacks the Logon
            that sent UseDollars=Y; the Logon in the log is followed anyway).
        rfq_units: units of RFQ quote prices, ``"cents"`` or ``"dollars"`` (as for
            ``kalshi-fix decode``).

    Returns:
        The `Restored` state.

    Raises:
        RestoreError: unreadable parts (``strict``); several API keys and no ``key_id``; a
            ``key_id`` of which the log has no order-entry line while it has other keys'.
        OSError: a file cannot be read (FileNotFoundError when it does not exist).
        ValueError: an unknown product, session type or RFQ units, or an empty ``key_id``.
    """
    if product not in PRODUCTS:
        raise ValueError(f"product must be one of {', '.join(PRODUCTS)}, got {product!r}")
    if rfq_units not in ("cents", "dollars"):
        raise ValueError(f"rfq_units must be 'cents' or 'dollars', got {rfq_units!r}")
    accounts = Accounts(key_id)
    types = _names(session_type, "session_type")
    if types is not None:
        from ..codec.spec import SESSIONS

        known = sorted(name for prod, name in SESSIONS if prod == product)
        unknown = sorted(types - set(known))
        if unknown:
            raise ValueError(
                f"{product} has no session type {', '.join(map(repr, unknown))}: "
                f"one of {', '.join(known)}"
            )
    problems: list[LogIssue] = []
    warnings: list[LogIssue] = []

    def report(issue: LogIssue) -> None:
        (warnings if issue.applied else problems).append(issue)

    reader = LogReader(
        product=product, use_dollars=use_dollars, rfq_units=rfq_units, on_issue=report
    )
    replay = Replay()
    ignored = 0
    for number, source in enumerate(sources, 1):
        with _opened(source, number) as (name, data):
            for entry in reader.entries(data, name):
                if types is not None and entry.session_type not in types:
                    ignored += 1
                    continue
                if not accounts.admits(entry):
                    ignored += 1
                    continue
                changes = replay.feed(entry, reader.report)
                for text in changes.problems if changes is not None else ():
                    reason = f"message #{entry.index}: {text}"
                    report(LogIssue(name, entry.offset, reason, applied=True))
    accounts.check()
    if strict and problems:
        raise RestoreError(_problems_text(problems), problems=problems)
    # said when the process that wrote the log inferred them (their fills are kept, ExecID
    # inferred:...): the restored session does not announce them again
    replay.tracker.inferred.clear()
    cursor = replay.resume_cursor()
    cursor.restored = True  # even empty: a first Logon from it cannot prove nothing was missed
    return Restored(
        tracker=replay.tracker,
        books=replay.books,
        cursor=cursor,
        messages=replay.applied,
        ignored=ignored,
        problems=tuple(problems),
        warnings=tuple(warnings),
        key_ids=tuple(accounts.used),
        last_time=replay.time,
    )
