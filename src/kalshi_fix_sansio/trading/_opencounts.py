"""Live orders and their leaves per symbol, kept as the order tracker changes (sans-IO).

`OpenCounts` is what a pre-trade check reads (`kalshi_fix_sansio.trading.risk.RiskChecker`): per symbol
the live orders and the contracts the open buys and sells could still fill, and the live orders
of the account, each in O(1). The tracker tells it every order a change touched
(`OpenCounts.update`, `OpenCounts.drop`), so a change costs O(1) and a check never walks the
orders: the figures at 0 and at 100,000 live orders are the same (docs/maintainers/benchmarks.md,
"Risk checks by live orders").

What counts, by the rules of `kalshi_fix_sansio.trading.risk`:

* a live order (not terminal) with a symbol;
* orders are counted by chain: an unacknowledged replacement (a replace pending) is keyed by the
  ClOrdID it replaces, so an order with a replace pending counts once;
* a chain's leaves on a side are the largest leaves (OrderQty - CumQty, at least 0) of its
  versions on that side (a replace that changed the side, which Kalshi refuses, would count on
  both: the worst case).

Costs (`OpenCounts.keep_costs`, for the event limits; off until asked, and nothing is computed
for them until then): per symbol the dollars the open buys and sells would pay if they filled,
prediction's rule (`kalshi_fix_sansio.trading.risk.order_notional`: a buy ``leaves x price``, a
sell ``leaves x (1 - price)``, $1 a contract without a price); a chain counts, per side, the
largest cost of its versions.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ._collector import untracker
from ._orders import TERMINAL, ZERO, TrackedOrder

__all__ = ["OpenCounts"]

_BUY = "1"

# What one live order adds: (symbol, chain key, buy side, leaves, price).
_Entry = tuple[str, str, bool, Decimal, "Decimal | None"]
_ONE = Decimal(1)


def _cost(is_buy: bool, leaves: Decimal, price: Decimal | None) -> Decimal:
    """What the leaves pay if they fill (prediction: a sell buys No at 1 - price)."""
    if price is None:
        return leaves
    return leaves * price if is_buy else leaves * (_ONE - price)


class _Symbol:
    """A symbol's live chains and the leaves of their buys and sells."""

    __slots__ = ("buy_cost", "buys", "count", "sell_cost", "sells")

    def __init__(self) -> None:
        self.count = 0
        self.buys = ZERO
        self.sells = ZERO
        self.buy_cost = ZERO  # with costs kept: what the open buys pay if they fill
        self.sell_cost = ZERO


class _Chain:
    """The live versions of one chain: ClOrdID -> (buy side, leaves, cost)."""

    __slots__ = ("buy", "buy_cost", "members", "sell", "sell_cost")

    def __init__(self) -> None:
        self.members: dict[str, tuple[bool, Decimal, Decimal]] = {}
        self.buy = ZERO  # the largest leaves of its buy versions
        self.sell = ZERO  # of its sell versions
        self.buy_cost = ZERO  # with costs kept: the largest cost of its buy versions
        self.sell_cost = ZERO

    def leaves(self) -> tuple[Decimal, Decimal]:
        buy = sell = ZERO
        for is_buy, leaves, _ in self.members.values():
            if is_buy:
                if leaves > buy:
                    buy = leaves
            elif leaves > sell:
                sell = leaves
        return buy, sell

    def costs(self) -> tuple[Decimal, Decimal]:
        """The largest cost of its buy versions, and of its sell versions."""
        members = self.members.values()
        buys = [cost for is_buy, _, cost in members if is_buy]
        sells = [cost for is_buy, _, cost in members if not is_buy]
        return max(buys, default=ZERO), max(sells, default=ZERO)


class OpenCounts:
    """Live orders and leaves per symbol and for the account (see the module docstring).

    Read-only for its users: `OrderTracker.open_counts` returns the tracker's, kept current.
    """

    __slots__ = ("_chains", "_costs", "_of", "_symbols", "_untrack", "total")

    def __init__(self, orders: Iterable[TrackedOrder] = ()) -> None:
        # What it keeps per live order is atoms in no cycle (strings, Decimals, bools): kept out
        # of the collector's walk as made (`_collector`), each tuple before a dict takes it
        # (a dict holding only untracked objects stays untracked).
        self._untrack = untracker()
        self._of: dict[str, _Entry] = {}  # ClOrdID of a live order -> what it adds
        self._chains: dict[tuple[str, str], _Chain] = {}  # (symbol, chain key) -> its versions
        self._symbols: dict[str, _Symbol] = {}
        self._costs = False  # `keep_costs`
        self.total = 0
        """Live orders of the account, every symbol (an order with a replace pending once)."""
        for order in orders:
            self.update(order)

    # -- reading -------------------------------------------------------------------------------

    def open_orders(self, symbol: str | None = None) -> int:
        """Live orders of ``symbol`` (None: of the account), an order with a replace pending
        once."""
        if symbol is None:
            return self.total
        counts = self._symbols.get(symbol)
        return 0 if counts is None else counts.count

    def leaves(self, symbol: str) -> tuple[int, Decimal, Decimal]:
        """``(live orders, leaves of the open buys, leaves of the open sells)`` of ``symbol``."""
        counts = self._symbols.get(symbol)
        if counts is None:
            return 0, ZERO, ZERO
        return counts.count, counts.buys, counts.sells

    def chain_leaves(self, symbol: str, key: str, buy: bool) -> Decimal:
        """The leaves a chain (keyed by `chain_key`) counts on one side (0: not live)."""
        chain = self._chains.get((symbol, key))
        if chain is None:
            return ZERO
        return chain.buy if buy else chain.sell

    def keep_costs(self) -> None:
        """Keep the costs of the open orders from now on (`costs`, `chain_costs`): counted
        once for the orders live now, then kept as they change (the event limits ask; a
        checker without them never does, and pays nothing for them)."""
        if self._costs:
            return
        self._costs = True
        entries = list(self._of.items())
        self._of.clear()
        self._chains.clear()
        self._symbols.clear()
        self.total = 0
        for cl, entry in entries:
            self._of[cl] = entry
            self._join(cl, entry)

    def costs(self, symbol: str) -> tuple[Decimal, Decimal]:
        """``(what the open buys pay, what the open sells pay)`` of ``symbol`` if they filled
        (zeros until `keep_costs`)."""
        counts = self._symbols.get(symbol)
        if counts is None:
            return ZERO, ZERO
        return counts.buy_cost, counts.sell_cost

    def chain_costs(self, symbol: str, key: str, buy: bool) -> Decimal:
        """The cost a chain (keyed by `chain_key`) counts on one side (0: not live)."""
        chain = self._chains.get((symbol, key))
        if chain is None:
            return ZERO
        return chain.buy_cost if buy else chain.sell_cost

    @staticmethod
    def chain_key(order: TrackedOrder) -> str:
        """The chain an order counts in: the ClOrdID it replaces while the replace is
        pending (not acknowledged), else its own."""
        orig = order.orig_cl_ord_id
        return order.cl_ord_id if order.acknowledged or orig is None else orig

    # -- the tracker's calls -------------------------------------------------------------------

    def update(self, order: TrackedOrder) -> None:
        """``order`` (the object the tracker holds under its ClOrdID) may have changed."""
        cl = order.cl_ord_id
        symbol = order.symbol
        new: _Entry | None = None
        if symbol is not None and order.status not in TERMINAL:
            orig = order.orig_cl_ord_id
            leaves = order.order_qty - order.cum_qty
            new = (
                symbol,
                cl if order.acknowledged or orig is None else orig,
                order.side == _BUY,
                leaves if leaves > ZERO else ZERO,
                order.price,
            )
        old = self._of.get(cl)
        if old == new:
            return
        if old is not None:
            self._leave(cl, old)
        if new is not None:
            self._untrack(new)
            self._of[cl] = new
            self._join(cl, new)

    def drop(self, cl: str) -> None:
        """The order of ClOrdID ``cl`` is no longer tracked."""
        old = self._of.get(cl)
        if old is not None:
            self._leave(cl, old)

    def _join(self, cl: str, entry: _Entry) -> None:
        symbol, key, is_buy, leaves, price = entry
        chain = self._chains.get((symbol, key))
        counts = self._symbols.get(symbol)
        if counts is None:
            counts = self._symbols[symbol] = _Symbol()
        untrack = self._untrack
        if chain is None:
            chain = _Chain()
            untrack(chain)
            untrack(chain.members)
            self._chains[symbol, key] = chain
            counts.count += 1
            self.total += 1
        member = (is_buy, leaves, _cost(is_buy, leaves, price) if self._costs else ZERO)
        untrack(member)
        chain.members[cl] = member
        self._settle(chain, counts)

    def _leave(self, cl: str, entry: _Entry) -> None:
        del self._of[cl]
        symbol, key = entry[0], entry[1]
        chain = self._chains[symbol, key]
        counts = self._symbols[symbol]
        del chain.members[cl]
        self._settle(chain, counts)
        if not chain.members:
            del self._chains[symbol, key]
            self.total -= 1
            counts.count -= 1
            if not counts.count:
                del self._symbols[symbol]

    def _settle(self, chain: _Chain, counts: _Symbol) -> None:
        """The chain's versions changed: its leaves (and costs), and the symbol's, follow."""
        buy, sell = chain.leaves()
        if buy != chain.buy:
            counts.buys += buy - chain.buy
            chain.buy = buy
        if sell != chain.sell:
            counts.sells += sell - chain.sell
            chain.sell = sell
        if self._costs:
            buy, sell = chain.costs()
            counts.buy_cost += buy - chain.buy_cost
            chain.buy_cost = buy
            counts.sell_cost += sell - chain.sell_cost
            chain.sell_cost = sell
