"""The promises a trading desk assumes of the library, held against the mock exchange's own
state: its open orders and its fills are the truth, not the client's tracker.

* **A kill that reports done** (``KillReport.done``) leaves no order of the session's API key
  resting at the exchange, and none of them fills after it, while the session stays halted
  (until ``rearm``, ``reduce_only`` or a restart; an order in flight as the kill was pressed
  included): checked as the kill returns, after every
  step and at every fill.
* **Reduce-only** never lets a position grow: while the session's order gate is reduce-only, no
  order or replace it writes could grow its position at the exchange. An order could grow it
  unless the exchange's net position in its market, plus the leaves of the account's open
  orders there on its side, plus its quantity, keeps to its side of zero and moves toward it (a
  replace is judged by what it adds to its order; a replace of an order no longer open at
  the exchange adds nothing: Kalshi refuses it).
* **An event limit** is never exceeded: while one is set (``RiskLimits.events``), no order or
  replace the session writes could take its event's worst outcome at the exchange past the
  limit: the exchange's fills in the event's markets (fees left out: they are charged as an
  order fills, after its check) and the account's open orders there at their worst, the order
  added at its worst.
* **An unknown outcome** blocks: while the session's order gate holds the outcome of an order in
  a market unknown (an ``OrdersUnknown``, a failed catch-up or REST round; until the order is
  answered or a round resolves it), no order or replace it writes to that market could grow the
  position at the exchange.

The last three are judged by the session's state as it wrote the order (reduce-only, the
unknown outcome, the limit in force) against the exchange's as the exchange takes it: what the
session wrote before it, held by a stall or a slow connection, is there by then. They hold
until something else of the account trades in the market (the RFQ maker's quotes filled beside
the session's orders: the exchange's position moved before the session could know).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Final

from ....trading.gate import ALL_MARKETS, TradingState
from ...world.simulation import WireRecord

__all__ = ["EVENT", "DeskWatch"]

EVENT: Final = "DST-26JAN"
"""The event of a prediction schedule's event limit (its one market, the traded one)."""

_ZERO: Final = Decimal(0)
_Order = tuple[str, bool, Decimal, Decimal, "str | None"]
"""An order's market, side (buy), quantity, price in dollars and OrigClOrdID."""
_Written = tuple[_Order, str, "str | None", "str | None", "tuple[Decimal, tuple[str, ...]] | None"]
"""An order written where a promise binds: the order, its frame shown, the reduce-only reason,
the unknown outcome, the event limit (dollars, markets) in force as it was written."""
_CENTS: Final = Decimal("0.01")
_BUY: Final = b"1"


class DeskWatch:
    """The desk's promises of a run (see the module docstring).

    Args:
        exchange: the mock gateway's exchange.
        account: the account of the session's key.
        ours: whether a ClOrdID is one of the session's orders (not a quote of the account's
            RFQ maker).
        gate: the session's order gate now (None: no session).
        violate: records a broken promise (invariant, detail).
        prices_in_cents: the wire's prices are cents (prediction), not dollars.
    """

    def __init__(
        self,
        exchange: Any,
        account: str,
        ours: Callable[[str], bool],
        gate: Callable[[], Any],
        violate: Callable[[str, str], None],
        *,
        prices_in_cents: bool,
    ) -> None:
        self._exchange = exchange
        self._account = account
        self._ours = ours
        self._gate = gate
        self._violate = violate
        self.judged = True
        """The reduce-only, event-limit and unknown-outcome promises are held (False once an
        order of the account that is not the session's filled)."""
        self._cents = prices_in_cents
        self.killed = False
        """A kill of the session reported done, and the session is halted since."""
        self.event_limit: tuple[Decimal, tuple[str, ...]] | None = None
        """The event limit set (dollars, the event's markets), None: none."""
        self._net: dict[str, Decimal] = {}  # symbol -> the account's net position (Buy +)
        self._cash: dict[str, Decimal] = {}  # symbol -> paid for buys less sells' proceeds
        # ClOrdID -> an order written where a promise binds, judged as the exchange takes it
        self._written: dict[str, _Written] = {}
        self._taken: set[str] = set()  # the session's ClOrdIDs the exchange took
        exchange.fill_listeners.append(self._filled)
        handle = exchange.handle

        def handled(session_id: str, message: Any, now: float) -> Any:
            self._received(message)
            return handle(session_id, message, now)

        exchange.handle = handled

    # -- the kill ---------------------------------------------------------------------------

    def kill_done(self) -> None:
        """A kill of the session reported done: from now on, nothing of its key rests or fills."""
        self.killed = True
        self.check_resting()

    def check_resting(self) -> None:
        """After a kill's done: no order of the session's key open at the exchange."""
        if not self.killed:
            return
        left = [o for o in self._exchange.open_orders(self._account) if self._ours(o.cl_ord_id)]
        if left:
            shown = ", ".join(f"{o.cl_ord_id} {o.leaves_qty:g}@{o.price:g}" for o in left)
            self._violate("order rests after a kill", f"open at the exchange: {shown}")

    def _filled(self, fill: Any) -> None:
        if fill.account != self._account:
            return
        sign = 1 if fill.side == "1" else -1
        symbol = fill.symbol
        self._net[symbol] = self._net.get(symbol, _ZERO) + sign * fill.qty
        self._cash[symbol] = self._cash.get(symbol, _ZERO) + sign * fill.qty * fill.price
        ours = self._ours(fill.cl_ord_id)
        if not ours:
            self.judged = False
        if self.killed and ours:
            self._violate(
                "fill after a kill",
                f"{fill.cl_ord_id} filled {fill.qty:g}@{fill.price:g} after the kill was done",
            )

    def worst(self, markets: tuple[str, ...]) -> Decimal:
        """What the worst outcome of the event of ``markets`` loses at the exchange now."""
        return self._worst(markets, "", True, _ZERO, _ZERO, None)

    # -- what the session writes ------------------------------------------------------------

    def frame(self, record: WireRecord, fields: dict[bytes, bytes], shown: str) -> None:
        """A frame either side wrote (`WireWatch`'s frame listener)."""
        if record.sender != "client" or not self.judged:
            return
        msg_type = fields.get(b"35")
        if msg_type != b"D" and msg_type != b"G":
            return
        if record.session_type not in ("KalshiNR", "KalshiRT"):
            return
        gate = self._gate()
        if gate is None:
            return
        poss_dup = fields.get(b"43") == b"Y"
        state, reason = gate.state
        reducing = state is TradingState.REDUCE_ONLY
        limit = self.event_limit
        if not reducing and (poss_dup or (limit is None and gate.unknown_outcomes is None)):
            if poss_dup and self._written:  # a resend where reduce-only no longer binds
                self._resent(fields.get(b"11"), None, None)
            return  # nothing binds (the common case: parsed no further)
        order = self._order(fields)
        cl = fields.get(b"11")
        if order is None or cl is None:
            return
        if poss_dup:  # reduce-only judged by the state now, the others as first written
            self._resent(cl, (order, shown) if reducing else None, reason)
            return
        symbol = order[0]
        unknown = _unknown_here(gate, symbol)
        if limit is None or symbol not in limit[1]:
            limit = None
        if reducing or unknown is not None or limit is not None:
            # judged as the exchange takes it (`_received`), by the session's state as it wrote
            # it: what it wrote before (held by a stall or a slow connection) is there by then
            self._written[cl.decode()] = (
                order,
                shown,
                reason if reducing else None,
                unknown,
                limit,
            )

    def _resent(
        self, cl: bytes | None, written: tuple[_Order, str] | None, reducing: str | None
    ) -> None:
        """A resend (PossDup) of an order: the reduce-only state it is judged by is the state
        as it is resent (``written`` None: not reduce-only), the unknown outcome and the event
        limit those of its first writing."""
        if cl is None:
            return
        key = cl.decode()
        first = self._written.get(key)
        unknown, limit = (None, None) if first is None else (first[3], first[4])
        if written is None:
            if first is None:
                return
            written = first[0], first[1]
        if reducing is None and unknown is None and limit is None:
            self._written.pop(key, None)
        else:
            self._written[key] = (written[0], written[1], reducing, unknown, limit)

    def _received(self, message: Any) -> None:
        """The exchange takes a message: an order of the session written where a promise
        binds is judged against what it meets there (a ClOrdID taken before: a duplicate,
        refused)."""
        if message.MSG_TYPE not in ("D", "G"):
            return
        cl = getattr(message, "cl_ord_id", None)
        if cl is None:
            return
        cl = str(getattr(cl, "value", cl))
        if not self._ours(cl) or cl in self._taken:
            return
        self._taken.add(cl)
        written = self._written.pop(cl, None)
        if written is None or not self.judged:
            return
        (symbol, buy, qty, price, orig), shown, reducing, unknown, limit = written
        if (reducing is not None or unknown is not None) and self._grows(symbol, buy, qty, orig):
            if reducing is not None:
                self._violate(
                    "position grown while reduce-only",
                    f"{self._where(symbol, buy)} while reduce-only ({reducing}): {shown}",
                )
            if unknown is not None:
                self._violate(
                    "order past an unknown outcome",
                    f"{self._where(symbol, buy)} while the outcome of {unknown} is unknown: "
                    f"{shown}",
                )
        if limit is not None:
            worst = self._worst(limit[1], symbol, buy, qty, price, orig)
            if worst > limit[0]:
                self._violate(
                    "event limit exceeded",
                    f"the event's worst outcome at the exchange would lose ${worst:f} > the "
                    f"limit ${limit[0]:f}: {shown}",
                )

    def _order(self, fields: dict[bytes, bytes]) -> _Order | None:
        """An order's market, side (buy), quantity, price in dollars and OrigClOrdID."""
        symbol, side, qty = fields.get(b"55"), fields.get(b"54"), fields.get(b"38")
        if symbol is None or side is None or qty is None:
            return None
        raw = fields.get(b"44")
        price = _ZERO if raw is None else Decimal(raw.decode())
        if self._cents:
            price *= _CENTS
        orig = fields.get(b"41")
        return (
            symbol.decode(),
            side == _BUY,
            Decimal(qty.decode()),
            price,
            None if orig is None else orig.decode(),
        )

    def _open(self, symbol: str) -> list[Any]:
        return [o for o in self._exchange.open_orders(self._account) if o.symbol == symbol]

    def _where(self, symbol: str, buy: bool) -> str:
        net = self._net.get(symbol, _ZERO)
        leaves = sum((o.leaves_qty for o in self._open(symbol) if (o.side == "1") == buy), _ZERO)
        side = "buy" if buy else "sell"
        return (
            f"a {side} that could grow the position at the exchange (net {net:g}, open on "
            f"that side {leaves:g})"
        )

    def _grows(self, symbol: str, buy: bool, qty: Decimal, orig: str | None) -> bool:
        """Whether an order (a replace of ``orig``) could grow the position at the exchange."""
        open_orders = self._open(symbol)
        leaves = _ZERO
        replaced = None
        for o in open_orders:
            if (o.side == "1") == buy:
                leaves += o.leaves_qty
            if orig is not None and o.cl_ord_id == orig:
                replaced = o
        if orig is not None:
            if replaced is None:  # not at the exchange (yet, or any more): nothing it adds
                return False
            qty = qty - replaced.cum_qty - replaced.leaves_qty  # what it adds to its order
            if qty <= 0:
                return False
        net = self._net.get(symbol, _ZERO)
        if buy:
            return not (net < 0 and net + leaves + qty <= 0)
        return not (net > 0 and net - leaves - qty >= 0)

    def _worst(
        self,
        markets: Iterable[str],
        symbol: str,
        buy: bool,
        qty: Decimal,
        price: Decimal,
        orig: str | None,
    ) -> Decimal:
        """The event's worst outcome at the exchange (independent markets: each at its own
        worst), with the order added at its worst (a replace of an order not open at the
        exchange adds nothing: Kalshi refuses it, as `_grows` judges it)."""
        if orig is not None and not any(o.cl_ord_id == orig for o in self._open(symbol)):
            qty = _ZERO
        total = _ZERO
        for market in markets:
            cash, net = self._cash.get(market, _ZERO), self._net.get(market, _ZERO)
            buys = sells = _ZERO
            for o in self._open(market):
                if orig is not None and o.cl_ord_id == orig:
                    qty -= o.cum_qty  # the replace's leaves take the place of the order's
                    continue
                if o.side == "1":
                    buys += o.leaves_qty * o.price
                else:
                    sells += o.leaves_qty * (1 - o.price)
            if market == symbol:
                if buy:
                    buys += qty * price
                else:
                    sells += qty * (1 - price)
            total += max(cash - net + sells, cash + buys)
        return total


def _unknown_here(gate: Any, symbol: str) -> str | None:
    """The orders (or the reason) whose unknown outcome blocks ``symbol`` in ``gate`` now, as
    the gate holds it (without pruning it: reading changes nothing), or None."""
    unknown = gate.unknown_outcomes
    if unknown is None:
        return None
    if unknown.everywhere is not None:
        return f"orders of {ALL_MARKETS} ({unknown.everywhere})"
    if symbol in unknown.markets_:
        return f"the orders in {symbol} ({unknown.markets_[symbol][0]})"
    order_of = gate.tracker.order
    for cl, (market, reason, acked) in unknown.orders.items():
        if market != symbol:
            continue
        order = order_of(cl)
        if order is None or order.terminal or (order.acknowledged and not acked):
            continue
        return f"{cl} ({reason})"
    return None
