"""What the exchange shows of itself: its markets' states, top of book, open orders and
positions (read-only queries of `kalshi_fix_sansio.simulator.gateway.exchange.Exchange`)."""

from __future__ import annotations

from collections.abc import Container
from decimal import Decimal
from typing import Any

from .common import BUY, HOUSE_ACCOUNT, SELL, ZERO
from .model import OrderView
from .spans import BulkSpans
from .state import ExchangeState

__all__ = ["Queries"]


def _client(order: Any) -> bool:
    return bool(order.account != HOUSE_ACCOUNT)


class Queries:
    """The exchange's read-only queries (a mixin of `Exchange`, which sets ``_state``)."""

    _state: ExchangeState
    spans: BulkSpans | None  # markets in bulk spans get their books back before a query

    def markets(self) -> dict[str, str]:
        """Every listed market -> its state, in the words of Kalshi's market filters:
        ``open``, ``paused`` (a trading halt), ``closed`` (trading ended) or ``settled``."""
        out: dict[str, str] = {}
        for symbol, book in sorted(self._state.books.items()):
            if book.settled:
                out[symbol] = "settled"
            elif book.closed:
                out[symbol] = "closed"
            else:
                out[symbol] = "paused" if book.halted else "open"
        return out

    def settled(self, symbol: str) -> bool:
        """Whether a market is settled."""
        book = self._state.books.get(symbol)
        return book is not None and book.settled

    def top_of_book(
        self, symbol: str
    ) -> tuple[tuple[Decimal, Decimal] | None, tuple[Decimal, Decimal] | None]:
        """Best bid and best offer of a market.

        Args:
            symbol: market ticker.

        Returns:
            ``((bid price, bid size) | None, (ask price, ask size) | None)``; an unknown market
            has neither.
        """
        if self.spans is not None:
            self.spans.leave(symbol)
        book = self._state.books.get(symbol)
        if book is None:
            return None, None
        out: list[tuple[Decimal, Decimal] | None] = []
        for side in (BUY, SELL):
            px = book.best(side)
            out.append(None if px is None else (px, book.agg[side][px]))
        return out[0], out[1]

    def open_orders(self, account: str | None = None) -> list[OrderView]:
        """Open orders in priority-sequence order.

        Args:
            account: only this account's orders (None: all, house included).

        Returns:
            One `OrderView` per open order.
        """
        if self.spans is not None and account in (None, HOUSE_ACCOUNT):
            self.spans.leave_all(list(self.spans.tables))
        return [
            OrderView(
                order_id=o.order_id,
                cl_ord_id=o.cl_ord_id,
                account=o.account,
                holder=o.holder,
                session_id=o.session_id,
                symbol=o.symbol,
                side=o.side,
                price=o.price,
                order_qty=o.order_qty,
                cum_qty=o.cum_qty,
                leaves_qty=o.leaves_qty,
                time_in_force=o.tif,
                expire_time=o.expire_dt,
                order_group_id=o.group_id,
            )
            for o in self._state.orders_where(lambda o: account is None or o.account == account)
        ]

    @property
    def paused(self) -> str | None:
        """The pause on (`Exchange.pause`): ``"trading"`` (cancels allowed), ``"exchange"``
        (nothing allowed), or None."""
        return self._state.pause

    def queue_positions(self, account: str | None) -> list[tuple[str, str, Decimal]]:
        """``(order id, market, contracts ahead)`` of each resting order of ``account`` (None:
        of every client), in priority-sequence order: the resting size before it at its price
        (price-time priority); in a replayed market, the recorded queue ahead of it
        (``Order.ahead``, as the exchange's queue model moved it)."""
        if self.spans is not None:  # markets in bulk spans get their books back first
            self.spans.leave_all(list(self.spans.tables))
        out = []
        replayed = self._replayed
        wanted = (lambda o: o.account == account) if account is not None else _client
        for order in self._state.orders_where(lambda o: o.resting and wanted(o)):
            if order.symbol in replayed:
                ahead = order.ahead
            else:
                level = self._state.books[order.symbol].levels[order.side].get(order.price, [])
                ahead = ZERO
                for other in level:
                    if other is order:
                        break
                    ahead += other.leaves_qty
            out.append((order.order_id, order.symbol, ahead))
        return out

    @property
    def _replayed(self) -> Container[str]:
        """The markets a replay drives (their queue ahead is the recorded one)."""
        recorded = getattr(self, "_recorded", None)
        markets: Container[str] = {} if recorded is None else recorded.recorded
        return markets

    def position(self, symbol: str, account: str, holder: str | None = None) -> Decimal:
        """Net position of a holder (prediction: YES contracts, negative = NO contracts).

        Args:
            symbol: market ticker.
            account: the login account.
            holder: ``account/n`` for subaccount n, or an FCM PartyID; None: the account's
                primary position.

        Returns:
            The position (0 when none or after settlement).
        """
        return self._state.positions.get((symbol, account, holder or account), ZERO)
