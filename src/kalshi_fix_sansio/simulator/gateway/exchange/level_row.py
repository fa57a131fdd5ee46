"""A recorded 35=X of one market with its call's start inline; its common row in one step.

Most rows of a market-data recording change the size of one price level that the recording
already showed. Through `Exchange.replay_market` such a row takes some fifteen Python calls:
the call's start (`Exchange._begin`, which resets four parts), `RecordedMarkets.one_market`,
`apply_market` and `level`, `MarketData.mark` and `_encoders`, `Book.resize`, then
`market_entries` and `level_entry` for the 35=X. `LevelRow.replay` makes the same state changes
and gives the same answer in one call, for exactly that row:

* one entry, a bid's or an offer's (MDEntryType 0 or 1), a price, a size above zero, and
  MDUpdateAction not 2 (delete); or a recorded trade with its price and size, then such an
  entry (most often the level the trade took: its 35=X has the trade's entry first);
* its market listed and not settled, no client order resting in it, nothing due at the call's
  start (no order to expire, no open RFQ);
* the level's house order open and last shown at its size (nothing taken from it by clients);
* the market's subscribers, one or more, all taking a 35=X as bytes (`ClientSession.wire`).

Any other row of one listed market with nothing due at its start starts its call here too, then
goes through `RecordedMarkets.apply_market` and `MarketData.market_entries` as `replay_market`
takes it. Anything else is not done here (None: nothing changed), and the caller takes
`replay_market`. tests/test_engine_level_row.py holds the two ways to the same answer and the
same state after every row.
"""

from __future__ import annotations

from typing import Any, Final

from .common import BUY, SELL, ZERO
from .drop_copy import DropCopy
from .market_data import MarketData
from .model import Book, Outbound, Trade
from .recorded import RecordedMarkets, _best
from .reports import Reports
from .rfq import Rfqs
from .state import ExchangeState

__all__ = ["LevelRow"]

_SIDES: Final = {"0": BUY, "1": SELL}  # a level's MDEntryType -> its side


class LevelRow:
    """`Exchange.replay_market` of the common recorded row (see the module docstring), reading
    the exchange's parts directly."""

    __slots__ = ("_drop_copy", "_md", "_recorded", "_reports", "_rfqs", "_state")

    def __init__(
        self,
        state: ExchangeState,
        reports: Reports,
        md: MarketData,
        drop_copy: DropCopy,
        rfqs: Rfqs,
        recorded: RecordedMarkets,
    ) -> None:
        self._state = state
        self._reports = reports
        self._md = md
        self._drop_copy = drop_copy
        self._rfqs = rfqs
        self._recorded = recorded

    def replay(
        self, entries: tuple[tuple[Any, ...], ...], now: float
    ) -> tuple[list[str], bytes] | list[Outbound] | None:
        """`Exchange.replay_market` of ``entries`` at ``now`` when nothing is due at the call's
        start: the same state changes and the same answer (the subscribers' session ids and
        the 35=X body, or the call's output as a list). The common row (the module docstring)
        in one step; any other row of one market through `RecordedMarkets.apply_market` and
        `MarketData.market_entries`, as `replay_market` takes it. None: not a row of one
        listed market, or something due at the call's start; nothing done.
        """
        if not entries:
            return None
        entry = entries[0]
        name = entry[1]
        state = self._state
        book = state.books.get(name)
        if book is None or book.settled:
            return None
        if len(entries) > 1:
            for other in entries:
                if other[1] != name:
                    return None  # two markets (`RecordedMarkets.one_market`)
        expiries = state.expiries
        if (expiries and expiries[0][0] <= now) or self._rfqs.open_rfqs:
            return None  # the call's start has something to do (`Exchange._begin`)
        # `Exchange._begin` with nothing due: no expiry, no RFQ timer
        state.now = now
        state.out = []
        reports = self._reports
        reports._cycle_clock = None  # `Reports.begin`
        reports._cycle_event = 0
        md = self._md
        if md._before or md._unwatched or md._touched or md.trades:
            md.begin()
        drop_copy = self._drop_copy
        if drop_copy._history or drop_copy._clock_log:  # `prune` has something to look at
            drop_copy.prune()
        if len(entries) == 1:
            sent = self._level(book, None, entry, now)
            if sent is not None:
                return sent
        elif len(entries) == 2 and entry[0] == "2":  # a trade, then (most often) its level
            sent = self._level(book, entry, entries[1], now)
            if sent is not None:
                return sent
        self._recorded.apply_market(book, entries)
        return self._finish()

    def _finish(self) -> tuple[list[str], bytes] | list[Outbound]:
        """What `Exchange.replay_market` answers once the row is applied."""
        state, md = self._state, self._md
        if not state.out:  # no client order filled
            sent = md.market_entries()
            if sent is True:
                return []  # `_finish`'s, the call having sent nothing
            if sent is not False:
                return sent
        md.flush()
        return state.take_output()

    def _level(
        self, book: Book, trade: tuple[Any, ...] | None, entry: tuple[Any, ...], now: float
    ) -> tuple[list[str], bytes] | list[Outbound] | None:
        """The common row's change and its 35=X (`RecordedMarkets.apply_market`, `level`'s
        common change, `MarketData.mark`, `Book.resize`, `level_entry`), after the recorded
        ``trade`` when there is one (`RecordedMarkets.trade` with no client order to fill, then
        `market_entries`: the trade's entry first); None: not that row, nothing done (the call
        started)."""
        t, name, px, size, action, _aggressor, _trade_id = entry
        side = _SIDES.get(t)
        if side is None or px is None or size is None or action == "2" or not size > ZERO:
            return None
        if trade is not None:
            _kind, _name, trade_px, trade_size, _action, aggressor, trade_id = trade
            if trade_px is None or trade_size is None:
                return None
        clients = book.clients
        if clients[BUY] or clients[SELL]:
            return None
        recorded = self._recorded
        key = (name, side, px)
        house = recorded._house.get(key)
        if house is None or not house.open:
            return None
        shown = recorded._shown
        if shown.get(key) is not house.leaves_qty or key in recorded._taken:
            return None
        market = recorded.recorded.get(name)
        if market is None:
            return None
        state = self._state
        subscribers = []  # `MarketData._encoders`, inline
        for session in state.sessions.values():
            if name in session.md_symbols:
                if not session.wire:
                    return None
                subscribers.append(session.session_id)
        if not subscribers:
            return None
        md = self._md
        md._encoding[name] = subscribers  # `MarketData.mark`: the market followed
        credits = recorded._credit
        if trade is not None:  # `RecordedMarkets.trade`: its credit, then the trade kept
            aggressor = aggressor or BUY
            credited = (name, SELL if aggressor == BUY else BUY, trade_px)
            credits[credited] = credits.get(credited, ZERO) + trade_size
            recorded_trade = Trade(
                symbol=name,
                price=trade_px,
                qty=trade_size,
                aggressor_side=aggressor,
                trade_id=trade_id or state.uuid(),
            )
            md.trades.append(recorded_trade)
        # `RecordedMarkets.level`'s common change: the recorded size, the side's best
        levels = market[side]
        old = levels.get(px, ZERO)
        levels[px] = size
        kept = recorded._best.get(name)
        if kept is not None:
            if kept[0] is not market:
                del recorded._best[name]
            elif side == BUY:
                if kept[1] is None or px > kept[1]:
                    recorded._best[name] = _best(market, px, kept[2])
            elif kept[2] is None or px < kept[2]:
                recorded._best[name] = _best(market, kept[1], px)
        if key in credits:  # a recorded trade's credit set against a decrease
            drop = old - size
            if drop > ZERO:
                credit = credits.pop(key)
                if credit > drop:
                    credits[key] = credit - drop
        # `Book.resize`, then `level_entry` or `market_entries` (the book no longer followed)
        agg = book.agg[side]
        was = agg[px]
        new = agg[px] = was + (size - house.leaves_qty)
        house.leaves_qty = size
        shown[key] = size
        if trade is None:
            if new == was:
                return []  # the level's size came back: nothing sent
            body = md._wire.level_body(name, t, px, new, "1", now)  # (its values kept with it)
            if body is not None:
                return subscribers, body
        else:
            changes: list[Any] = [(name, recorded_trade, "2", trade_px, trade_size, "0", None)]
            if new != was:
                changes.append((name, None, t, px, new, "1", None))
            body = md._wire.entries_body(changes, now)  # (its values kept with it)
            if body is not None:
                return subscribers, body
        # a value the codec refuses (or a block trade): the book followed, the general way on
        md._before = {name: book}
        book.before = {(side, px): was}
        return self._finish()
