"""Market data: snapshots, incremental refreshes and security status (35=V/W/X/Y, 35=e/f).

* Snapshots (35=W, one per symbol) list aggregated bid levels best first, then offers best
  first; an unknown symbol gets an empty snapshot. Each call that changes subscribed books sends
  one 35=X per subscriber: trade entries (279=0, 269=2, AggressorSide, TradeID = the TrdMatchID;
  TrdType 1 for RFQ block trades) first, then the net level changes of the call (279=0 new, 1
  changed, 2 deleted with size 0). A level entry carries ClOrdID / AllocAccount when the
  subscriber's account owns the order that last changed the level. More than 1000 symbols in a
  request, or more than 100,000 subscriptions, get 35=Y 281=2; a bad SubscriptionRequestType
  281=4; 263=0/1 without symbols a 35=Y with Text only.
* SecurityStatus (prediction) is changes-only, as Kalshi documents: SecurityStatusRequest 263=1
  subscribes and sends nothing (no initial status); subscribers get 3 when `seed_market` creates
  the market (2 during a pause), 2 when a pause begins, 3 when it ends, 100 then 101 when it
  settles (the subscription is then dropped; subscribing to a settled market is a no-op). 263=2
  unsubscribes. Any other SubscriptionRequestType (Kalshi documents only 1 and 2) gets a session
  Reject 373=5 with RefTagID 263.

The features report book changes here as they make them (`mark` before a book changes,
`touch` for the order that changed a level, `trades` for fills); `flush` turns them into the
35=X messages at the end of the call. A market nobody subscribes to costs nothing here: `mark`
remembers only the books of markets some session subscribes to when the call first changes
them, and `flush` builds entries for those alone (a later subscriber's snapshot is read from
the book itself, so it is whole either way).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import time as dtime
from decimal import Decimal
from typing import Any, Final

import attrs

from ....codec import HandedShape, enc_int, enc_str
from .common import BUY, CENT, SELL, TICK, ZERO, as_text, to_ms, utc
from .md_wire import _Change, _Wire
from .model import Book, ClientSession, EncodedMessage, Order, Outbound, Trade
from .state import ExchangeState

__all__ = ["MarketData"]

MAX_MD_SYMBOLS: Final = 1000
MAX_MD_SUBSCRIPTIONS: Final = 100_000


class MarketData:
    """Market-data subscriptions and the book changes of the current call."""

    def __init__(self, state: ExchangeState) -> None:
        self.state = state
        # the books `mark` follows this call, by symbol (each one's `Book.before` set)
        self._before: dict[str, Book] = {}
        self._unwatched: set[str] = set()
        # the subscribers of each market `mark` followed, asked once when it first followed it
        # this call (`_encoders`: their session ids when they all encode, else None); read by
        # `level_entry` and `market_entries` for a market in `_before` only, so never stale
        self._encoding: dict[str, list[str] | None] = {}
        self._touched: dict[tuple[str, str, Decimal], Order] = {}
        self.trades: list[Trade] = []
        """The trades of the current call, in order."""
        self._stamp_at = float("nan")  # the time `md_stamp` last made its stamp for
        self._stamp: tuple[date, dtime] = (date.min, dtime.min)
        d = state.d
        # the enum members every 35=X entry names, looked up once (an enum call per field of
        # each entry was a tenth of building a 35=X)
        self._actions = {a: d.MDUpdateAction(a) for a in ("0", "1", "2")}
        self._kinds = {k: d.MDEntryType(k) for k in ("0", "1", "2")}
        self._wire = _Wire(d.AggressorSide)

    def begin(self) -> None:
        """Start a call with no book changes."""
        if self._before:
            self._unfollow()
        if self._unwatched:
            self._unwatched = set()
        if self._touched:
            self._touched = {}
        if self.trades:
            self.trades = []

    def _unfollow(self) -> None:
        """The books `mark` followed stop noting their levels' sizes."""
        for book in self._before.values():
            book.before = None
        self._before = {}

    def mark(self, book: Book) -> None:
        """Follow a book's changes from now to the end of the call (only when some session
        subscribes to its market: nobody gets a 35=X of the others): the book notes the size
        each level it changes had before (`Book.before`), no copy of its levels."""
        symbol = book.symbol
        if symbol in self._before or symbol in self._unwatched:
            return
        # `watched`, and who the 35=X goes to, in one look at the sessions: `_encoders` is []
        # exactly when no session subscribes (None: one that reads messages does)
        encoders = self._encoders(symbol)
        if encoders is None or encoders:
            self._before[symbol] = book
            book.before = {}
            self._encoding[symbol] = encoders
        else:
            self._unwatched.add(symbol)

    def touch(self, order: Order) -> None:
        """Note the order that last changed its price level (of a book `mark` remembered)."""
        if order.symbol in self._before:
            self._touched[(order.symbol, order.side, order.price)] = order

    def md_stamp(self) -> tuple[date, dtime]:
        """MDEntryDate and MDEntryTime of the call (UTC, milliseconds)."""
        now = self.state.now
        if now != self._stamp_at:  # a call's stamp, made once per time (a replay's calls)
            u = to_ms(utc(now))
            self._stamp = (u.date(), u.timetz())
            self._stamp_at = now
        return self._stamp

    def snapshot(self, symbol: str) -> Any:
        """The 35=W of a market: bids best first, then offers best first."""
        d = self.state.d
        day, clock = self.md_stamp()
        entries = []
        book = self.state.books.get(symbol)
        if book is not None:
            for side, kind in ((BUY, "0"), (SELL, "1")):
                prices = book.prices[side]
                for px in reversed(prices) if side == BUY else prices:
                    entries.append(
                        d.MarketDataSnapshotFullRefreshMDEntry(
                            md_entry_type=d.MDEntryType(kind),
                            md_entry_px=px.quantize(TICK),
                            md_entry_size=book.agg[side][px].quantize(CENT),
                            md_entry_date=day,
                            md_entry_time=clock,
                        )
                    )
        return d.MarketDataSnapshotFullRefresh(symbol=symbol, md_entries=tuple(entries))

    def on_md_request(self, session: ClientSession, msg: Any) -> None:
        """MarketDataRequest (35=V): subscribe, unsubscribe or snapshot; or 35=Y."""
        d = self.state.d
        kind = as_text(msg.subscription_request_type)
        # each symbol once, in the order asked (a dict: a list's search per entry was
        # quadratic in the entries)
        named = (as_text(entry.symbol) for entry in msg.related_sym or ())
        symbols = [sym for sym in dict.fromkeys(named) if sym is not None]
        if kind not in ("0", "1", "2"):
            self.state.send(
                session,
                d.MarketDataRequestReject(
                    md_req_rej_reason=d.MDReqRejReason("4"),
                    text="unsupported SubscriptionRequestType(263)",
                ),
            )
            return
        if kind == "2":
            if msg.related_sym:
                session.md_symbols.difference_update(symbols)
            else:
                session.md_symbols.clear()
            return
        if not symbols:
            self.state.send(
                session, d.MarketDataRequestReject(text="NoRelatedSym(146) is required")
            )
            return
        if len(symbols) > MAX_MD_SYMBOLS:
            self.state.send(
                session,
                d.MarketDataRequestReject(
                    md_req_rej_reason=d.MDReqRejReason("2"),
                    text=f"more than {MAX_MD_SYMBOLS} symbols in one request",
                ),
            )
            return
        if kind == "1" and len(session.md_symbols | set(symbols)) > MAX_MD_SUBSCRIPTIONS:
            self.state.send(
                session,
                d.MarketDataRequestReject(
                    md_req_rej_reason=d.MDReqRejReason("2"),
                    text=f"more than {MAX_MD_SUBSCRIPTIONS} subscriptions",
                ),
            )
            return
        for sym in symbols:
            if kind == "1":
                session.md_symbols.add(sym)
            self.state.send(session, self.snapshot(sym))

    def market_status(self, symbol: str) -> int | None:
        """SecurityTradingStatus of a market now (None: no such market)."""
        book = self.state.books.get(symbol)
        if book is None:
            return None
        if book.settled:
            return 101
        if book.closed:
            return 100
        return 2 if self.state.pause is not None or book.halted else 3

    def on_status_request(self, session: ClientSession, msg: Any) -> None:
        """SecurityStatusRequest (35=e): subscribe to changes or unsubscribe."""
        kind = as_text(msg.subscription_request_type)
        symbol = as_text(msg.symbol)
        if kind not in ("1", "2"):
            self.state.session_reject(
                session, msg, 263, 5, "Value is incorrect (out of range) for this tag"
            )
            return
        if symbol is None:
            self.state.session_reject(session, msg, 55, 1, "Required tag missing")
            return
        if kind == "2":
            session.status_symbols.discard(symbol)
        elif self.market_status(symbol) != 101:  # changes only: nothing is sent now
            session.status_symbols.add(symbol)

    def send_status(self, symbol: str, status: int) -> None:
        """A SecurityStatus (35=f) to the market's status subscribers (prediction)."""
        if not self.state.prediction:
            return
        d = self.state.d
        for session in self.state.sessions.values():
            if symbol in session.status_symbols:
                self.state.send(
                    session,
                    d.SecurityStatus(
                        symbol=symbol, security_trading_status=d.SecurityTradingStatus(status)
                    ),
                )

    def flush(self) -> None:
        """One 35=X per subscriber with the call's trades and net level changes.

        Only the markets `mark` remembered (some session subscribed) are looked at: every trade
        is in a book its fill marked, so a trade in any other market has no subscriber. Each
        entry is made once and shared by every subscriber of its market, but for a level whose
        last change was an order of the subscriber's account (its ClOrdID and AllocAccount):
        as an entry object for a session that reads messages, as its bytes for one that
        encodes (`ClientSession.wire`: an `EncodedMessage`, no message object, no encode).
        """
        followed = self._before
        if not followed:
            return
        if self._flush_one():  # the common call
            return
        changes = self._changes()  # (the books are no longer followed)
        if not changes:
            return
        built: list[Any] | None = None  # the entry objects, made for the first reader
        wire: list[bytes] | None = None  # the entries' bytes, made for the first encoder
        vouched: tuple[HandedShape, tuple[bytes, ...]] | None = None  # their values
        for session in self.state.sessions.values():
            wanted = session.md_symbols
            if not wanted:
                continue
            if session.wire:
                if wire is None:  # (and the whole body's values, when plain)
                    wire, vouched = self._wire.entries_values(changes, self.state.now)
                if wire:  # [] : an entry only the objects write (a block trade)
                    self._send_wire(session, changes, wire, vouched)
                    continue
            if built is None:
                built = self._entries(changes)
            account = session.account
            entries = [
                entry if c[6] is None or c[6].account != account else _own(entry, c[6])
                for c, entry in zip(changes, built, strict=True)
                if c[0] in wanted
            ]
            if entries:
                refresh = self.state.d.MarketDataIncrementalRefresh(md_entries=tuple(entries))
                self.state.send(session, refresh)

    def _flush_one(self) -> bool:
        """`flush` of the common call (a replayed level's change): `level_entry`'s call, each
        subscriber's 35=X an `EncodedMessage` of the one body. False: not that call (nothing
        done: `flush` goes on)."""
        found = self.level_entry()
        if found is True or found is False:
            return found
        subscribers, body = found
        out = self.state.out
        for session_id in subscribers:
            out.append(Outbound(session_id, EncodedMessage("X", body)))
        return True

    def level_entry(self) -> tuple[list[str], bytes] | bool:
        """The 35=X of the common call (a replayed level's change): at most one book followed,
        one level of it noted, no trade, no client order's level, its subscribers all
        encoding. The entry's bytes made once (`_Wire.level`), the body one join: the
        subscribers' session ids and the body, no `Outbound` made (`_flush_one` makes them;
        `market_entries` hands them on as they are). True: the call sends nothing (no book
        followed, or the level's size came back); False: not that call (nothing done: `flush`
        it). The books are no longer followed after it (but on False)."""
        if not self._before:
            return True  # no market some session subscribes to changed (`flush`'s first test)
        if len(self._before) != 1 or self.trades or self._touched:
            return False
        for symbol, book in self._before.items():
            before = book.before
            if before is None or len(before) != 1:
                return False
            subscribers = self._encoding[symbol]  # `_encoders`, asked by `mark`
            if subscribers is None:
                return False
            for (side, px), old in before.items():
                self._before = {}
                book.before = None
                size = book.agg[side].get(px)
                if size == old or not subscribers:
                    return True
                if size is None:
                    action, size = "2", ZERO
                else:
                    action = "0" if old is None else "1"
                # (its values kept with it: `_Wire.level_body`)
                body = self._wire.level_body(symbol, _KIND[side], px, size, action, self.state.now)
                if body is None:  # a value the codec refuses: the objects' encode says so
                    self._before, book.before = {symbol: book}, before
                    return False
                return subscribers, body
        return True

    def market_entries(self) -> tuple[list[str], bytes] | bool:
        """The 35=X of a call that changed one market only (a replayed row of one market: its
        trades and levels), its subscribers all encoding, no client order's level in it: the
        subscribers' session ids and the body each would get from `flush` (`_send_wire`), no
        `Outbound` made; `level_entry` first (one level, no trade: no list of changes). True:
        the call sends nothing; False: not that call, nothing done (`flush` it). The books are
        no longer followed after it (but on False)."""
        found = self.level_entry()
        followed = self._before
        if found is not False or len(followed) != 1 or self._touched:
            return found
        for symbol, book in followed.items():
            subscribers = self._encoding[symbol]  # `_encoders`, asked by `mark`
            if subscribers is None:
                return False
            before = book.before
            changes = self._changes()  # (the book is no longer followed)
            if not changes or not subscribers:
                return True
            body = self._wire.entries_body(changes, self.state.now)  # (its values kept)
            if body is None:  # a block trade, or a value the codec refuses: the objects' way
                self._before, book.before = followed, before
                return False
            return subscribers, body
        return True

    def _encoders(self, symbol: str) -> list[str] | None:
        """The session ids of ``symbol``'s subscribers when they all encode (`ClientSession.wire`:
        they take a 35=X as its bytes); None when one reads messages."""
        subscribers = []
        for session in self.state.sessions.values():
            if symbol in session.md_symbols:
                if not session.wire:
                    return None
                subscribers.append(session.session_id)
        return subscribers

    def _changes(self) -> list[_Change]:
        """The call's changes in output order: its trades, then per book followed (in the
        order `mark` first followed them) the levels whose size changed (bids best first,
        then offers best first), each ``(symbol, the trade or None, MDEntryType, price,
        size, MDUpdateAction, the order that last changed the level)``; read from the levels
        the books noted (`Book.before`), not from a copy of each book; the books are no
        longer followed after it."""
        changes: list[_Change] = []
        add = changes.append
        followed = self._before
        self._before = {}
        for t in self.trades:
            if t.symbol in followed:
                add((t.symbol, t, "2", t.price, t.qty, "0", None))
        touched = self._touched
        for symbol, book in followed.items():
            before = book.before
            book.before = None
            if not before:
                continue
            agg = book.agg
            if len(before) == 1:  # the common case: one level changed
                for (side, px), old in before.items():
                    size = agg[side].get(px)
                    if size != old:
                        _level(add, symbol, side, px, old, size, touched)
                continue
            bids, asks = agg[BUY], agg[SELL]
            moved = [
                (side, px, old, size)
                for (side, px), old in before.items()
                if (size := (bids if side == BUY else asks).get(px)) != old
            ]
            if len(moved) > 1:  # bids best first, then offers best first
                moved.sort(key=_output_order)
            for side, px, old, size in moved:
                _level(add, symbol, side, px, old, size, touched)
        return changes

    def _entries(self, changes: list[_Change]) -> list[Any]:
        """The entry objects of the call's changes."""
        d = self.state.d
        day, clock = self.md_stamp()
        entry = d.MarketDataIncrementalRefreshMDEntry
        actions, kinds = self._actions, self._kinds
        built = []
        for symbol, t, kind, px, size, action, _owner in changes:
            if t is not None:
                built.append(
                    entry(
                        md_update_action=actions["0"],
                        symbol=symbol,
                        md_entry_type=kinds["2"],
                        md_entry_px=px.quantize(TICK),
                        md_entry_size=size.quantize(CENT),
                        md_entry_date=day,
                        md_entry_time=clock,
                        aggressor_side=d.AggressorSide(t.aggressor_side),
                        trd_type=self.state.enum("TrdType", 1) if t.block else None,
                        trade_id=t.trade_id,
                    )
                )
            else:
                built.append(
                    entry(
                        md_update_action=actions[action],
                        symbol=symbol,
                        md_entry_type=kinds[kind],
                        md_entry_px=px.quantize(TICK),
                        md_entry_size=size.quantize(CENT),
                        md_entry_date=day,
                        md_entry_time=clock,
                    )
                )
        return built

    def _send_wire(
        self,
        session: ClientSession,
        changes: list[_Change],
        wire: list[bytes],
        vouched: tuple[HandedShape, tuple[bytes, ...]] | None = None,
    ) -> None:
        """A subscriber's 35=X as bytes (`EncodedMessage`); the whole body's shape and values
        kept with it (`_Wire.handed`) when ``vouched`` has them and its entries are all of
        ``wire`` as they are."""
        wanted, account = session.md_symbols, session.account
        if len(changes) == 1:  # the common case: one entry, no list
            c = changes[0]
            if c[0] not in wanted:
                return
            data = wire[0]
            owned = c[6] is not None and c[6].account == account
            if owned:
                data += _own_bytes(c[6])  # type: ignore[arg-type]
            body = b"268=1\x01" + data
            if vouched is not None and not owned:  # the body of `wire`: its values kept
                self._wire.handed = (body, vouched[0], vouched[1])
        else:
            entries = [
                data if c[6] is None or c[6].account != account else data + _own_bytes(c[6])
                for c, data in zip(changes, wire, strict=True)
                if c[0] in wanted
            ]
            if not entries:
                return
            body = b"268=%d\x01%s" % (len(entries), b"".join(entries))
            if vouched is not None and entries == wire:  # the body of `wire`: its values kept
                self._wire.handed = (body, vouched[0], vouched[1])
        self.state.out.append(Outbound(session.session_id, EncodedMessage("X", body)))


def _output_order(level: tuple[str, Decimal, Decimal | None, Decimal | None]) -> Any:
    """A changed level's place in a 35=X: the bids (best, the highest, first), then the
    offers (best, the lowest, first)."""
    side, px = level[0], level[1]
    return (0, -px) if side == BUY else (1, px)


def _level(
    add: Callable[[_Change], None],
    symbol: str,
    side: str,
    px: Decimal,
    old: Decimal | None,
    size: Decimal | None,
    touched: dict[tuple[str, str, Decimal], Order],
) -> None:
    """One changed level's change: 279=0 new, 1 changed, 2 deleted (size 0)."""
    if size is None:
        action, size = "2", ZERO
    else:
        action = "0" if old is None else "1"
    owner = touched.get((symbol, side, px)) if touched else None
    add((symbol, None, "0" if side == BUY else "1", px, size, action, owner))


def _own(built: Any, owner: Order) -> Any:
    """A level entry as the account whose order last changed the level gets it."""
    return attrs.evolve(built, cl_ord_id=owner.cl_ord_id, alloc_account=owner.alloc_account or 0)


def _own_bytes(owner: Order) -> bytes:
    """What `_own` adds to a level entry, as bytes (ClOrdID and AllocAccount are the entry's
    last fields)."""
    cl = b"" if owner.cl_ord_id is None else b"11=%s\x01" % enc_str(owner.cl_ord_id, "ClOrdID(11)")
    return cl + b"79=%s\x01" % enc_int(owner.alloc_account or 0, "AllocAccount(79)")


_KIND: Final = {BUY: "0", SELL: "1"}  # a level's MDEntryType
