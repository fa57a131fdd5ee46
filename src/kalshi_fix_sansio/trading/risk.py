"""Pre-trade risk limits, checked locally before an order is encoded, sequenced, stored or sent.

Sans-IO: no clock, no I/O. `RiskLimits` is a frozen value (account-wide defaults plus per-symbol
`SymbolLimits` overrides); `RiskChecker` judges a NewOrderSingle (35=D) or an
OrderCancelReplaceRequest (35=G) against it, the `OrderTracker` (open orders and positions) and,
when one is attached, a market-data `Books`. The `Driver` runs it in ``send`` when limits are
configured (``Driver(risk_limits=...)``, ``driver.gate.risk_limits = ...``; the adapters' sessions
take ``risk_limits=`` and ``session.risk_limits = ...``): a refused request raises
`RiskLimitExceeded` and nothing is sent or tracked.

Rules (see docs/risk-controls.md):

* Cancels (35=F) and mass cancels (35=q) are never refused: taking risk off is always allowed.
* A replace is judged as the order it becomes, and is refused by a limit only when it makes the
  measured value breach the limit *and* increases it: a replace that lowers the quantity (price
  unchanged) always passes, even when the limits were tightened below the order meanwhile.
* Notional of one order: prediction Buy (Yes) ``qty x price``; prediction Sell (No, "selling
  Yes is buying No") ``qty x (1 - price)``, the price being the Yes price; margin
  ``qty x price`` on either side.
* Worst-case position in a market: long ``net + leaves of open buys``, short ``leaves of open
  sells - net`` (net: the tracker's position, Buy +, Sell -); the new order adds to its side.
  An order with a replace pending counts once, with the larger of its versions' leaves.
* Price collar: ``min_price`` / ``max_price`` bound the order's price (prediction: the Yes
  price); ``max_price_distance`` bounds how far a buy may be above the best offer (the best bid
  when there is no offer) and a sell below the best bid (the best offer when there is no bid),
  when a book with a snapshot is available for the symbol (otherwise it is not checked).
* Event limits (prediction): ``events`` maps an event ticker to an `EventLimit`: the worst
  outcome of the event's markets together, positions plus open orders at their worst
  (`kalshi_fix_sansio.trading._eventrisk` states the rule), may lose at most
  ``max_worst_loss``; an order that would push it past the limit (and raise it) is refused.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Protocol

import attrs

from ..codec.errors import LocalProtocolError
from ._eventrisk import EventBook, EventLimit, events_of
from ._opencounts import OpenCounts
from .book import Books
from .marginrisk import MarginFigures, check_margin_risk
from .tracker import OrderTracker, TrackedOrder

__all__ = [
    "BookSource",
    "EventLimit",
    "Exposure",
    "RiskChecker",
    "RiskLimitExceeded",
    "RiskLimits",
    "SymbolLimits",
    "order_notional",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_BUY = "1"
_SYMBOLS_KEPT = 4096  # symbols whose limits a checker keeps built


class RiskLimitExceeded(LocalProtocolError):
    """A pre-trade risk limit refuses the order; nothing was encoded, sequenced, stored or sent.

    Attributes:
        limit: the limit's name (a `RiskLimits` / `SymbolLimits` field, e.g. ``"max_order_qty"``).
        symbol: the order's symbol (None for an account-wide limit).
        value: the limit's value.
        actual: the offending value (what the order would make it).
        msg_type: MsgType(35) of the request (``"D"`` or ``"G"``).
        cl_ord_id: its ClOrdID.
    """

    def __init__(
        self,
        text: str,
        *,
        limit: str,
        symbol: str | None,
        value: Decimal | int,
        actual: Decimal | int,
        msg_type: str,
        cl_ord_id: str | None,
    ) -> None:
        super().__init__(text)
        self.limit = limit
        self.symbol = symbol
        self.value = value
        self.actual = actual
        self.msg_type = msg_type
        self.cl_ord_id = cl_ord_id


# -- the limits ------------------------------------------------------------------------------------


def _decimal(value: Any) -> Any:
    """A limit's value as a Decimal: a Decimal, an int, or a str that reads as a number;
    anything else is kept as it is, for the validator to refuse naming the limit."""
    if value is None or isinstance(value, (Decimal, bool, float)):
        return value
    if not isinstance(value, (int, str)):
        return value
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError):
        return value


def _not_a_number(where: str, value: Any) -> str:
    """Why ``value`` is not a limit (``where``: ``Class.field``)."""
    takes = "risk limits take a Decimal, an int or a str"
    if isinstance(value, float):
        return (
            f"{where}: {value!r} is a float, which is not exact: write Decimal('{value!r}') or "
            f"'{value!r}' ({takes})"
        )
    if isinstance(value, str):
        return f"{where}: {value!r} is not a number ({takes} such as '0.45' or '100')"
    return f"{where}: {value!r} is a {type(value).__name__}, not a number ({takes})"


def _check_decimal(positive: bool) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Decimal | None) -> None:
        if value is None:
            return
        where = f"{type(instance).__name__}.{attribute.name}"
        if not isinstance(value, Decimal):
            raise LocalProtocolError(_not_a_number(where, value))
        if not value.is_finite() or value < 0 or (positive and value == 0):
            bound = "> 0" if positive else ">= 0"
            raise LocalProtocolError(
                f"{where} must be a finite number {bound} (or None: no limit), got {value}"
            )

    return check


def _check_count(instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LocalProtocolError(
            f"{type(instance).__name__}.{attribute.name} must be an int >= 0 (or None: no limit), "
            f"got {value!r}"
        )


def _check_bounds(instance: Any) -> None:
    low, high = instance.min_price, instance.max_price
    if low is not None and high is not None and low > high:
        raise LocalProtocolError(
            f"{type(instance).__name__}: min_price {low} is above max_price {high}"
        )


_POSITIVE = _check_decimal(True)
_NON_NEGATIVE = _check_decimal(False)


@attrs.frozen
class SymbolLimits:
    """Limits for one symbol; a field left None takes the account-wide value of `RiskLimits`.

    Attributes:
        max_order_qty: most contracts in one order (a replace: its new total OrderQty).
        max_order_notional: most dollars one order commits (see `order_notional`).
        max_open_orders: most live orders in this symbol (0: no new order).
        max_position: most contracts the worst-case position may reach on either side.
        min_price: lowest price an order may carry (prediction: the Yes price, dollars).
        max_price: highest price an order may carry.
        max_price_distance: how far (dollars) a buy may be above the best offer, or a sell
            below the best bid, of an attached book.

    Raises:
        LocalProtocolError: a value that is not a number, negative, zero where a positive one
            is needed, a float, or ``min_price`` above ``max_price``.
    """

    max_order_qty: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_POSITIVE
    )
    max_order_notional: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_POSITIVE
    )
    max_open_orders: int | None = attrs.field(default=None, validator=_check_count)
    max_position: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_NON_NEGATIVE
    )
    min_price: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_NON_NEGATIVE
    )
    max_price: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_NON_NEGATIVE
    )
    max_price_distance: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_NON_NEGATIVE
    )

    def __attrs_post_init__(self) -> None:
        _check_bounds(self)


def _symbols(value: Mapping[str, SymbolLimits] | None) -> Mapping[str, SymbolLimits]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise LocalProtocolError(
            f"RiskLimits.symbols must map symbols to SymbolLimits, got {type(value).__name__}"
        )
    out: dict[str, SymbolLimits] = {}
    for symbol, limits in value.items():
        if not isinstance(symbol, str) or not symbol:
            raise LocalProtocolError(
                f"RiskLimits.symbols: a symbol must be a non-empty str, got {symbol!r}"
            )
        if not isinstance(limits, SymbolLimits):
            raise LocalProtocolError(
                f"RiskLimits.symbols[{symbol!r}] must be a SymbolLimits, got {type(limits).__name__}"
            )
        out[symbol] = limits
    return MappingProxyType(out)


_PER_SYMBOL = tuple(a.name for a in attrs.fields(SymbolLimits) if a.name != "max_open_orders")


@attrs.frozen
class RiskLimits:
    """Pre-trade limits of one account (session), with per-symbol overrides.

    Every limit is off (None) unless set. A value here applies to every symbol, except where
    ``symbols`` overrides it for one symbol.

    Attributes:
        max_order_qty: most contracts in one order.
        max_order_notional: most dollars one order commits (`order_notional`).
        max_open_orders: most live orders of the account, all symbols together.
        max_open_orders_per_symbol: most live orders in any one symbol.
        max_position: most contracts the worst-case position in a market may reach, long or
            short, counting every open order as if it filled.
        min_price, max_price: bounds of an order's price (prediction: the Yes price).
        max_price_distance: how far a buy may be above the best offer (a sell below the best
            bid) of the attached book.
        symbols: symbol -> `SymbolLimits`, overriding the values above for that symbol.
        events: event ticker -> `EventLimit`: the most the event's worst outcome may lose
            (prediction; a market in one event at most).
        min_liquidation_distance: margin: the least distance, as a share of the mark price,
            from the mark to the liquidation price of the position an order would make, from
            Kalshi's figures (`kalshi_fix_sansio.trading.marginrisk`).
        max_notional_risk_use: margin: the largest share of Kalshi's notional value risk limit
            (of the market, and of the account) its usage plus an order may reach.

    Raises:
        LocalProtocolError: a value out of range (see `SymbolLimits`).

    Examples:
        >>> limits = RiskLimits(max_order_qty=100, symbols={"BTC-PERP": SymbolLimits(max_order_qty=5)})
        >>> limits.for_symbol("BTC-PERP").max_order_qty, limits.for_symbol("OTHER").max_order_qty
        (Decimal('5'), Decimal('100'))
        >>> limits.replace(max_order_qty=50).max_order_qty
        Decimal('50')
    """

    max_order_qty: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_POSITIVE
    )
    max_order_notional: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_POSITIVE
    )
    max_open_orders: int | None = attrs.field(default=None, validator=_check_count)
    max_open_orders_per_symbol: int | None = attrs.field(default=None, validator=_check_count)
    max_position: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_NON_NEGATIVE
    )
    min_price: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_NON_NEGATIVE
    )
    max_price: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_NON_NEGATIVE
    )
    max_price_distance: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_NON_NEGATIVE
    )
    symbols: Mapping[str, SymbolLimits] = attrs.field(factory=dict, converter=_symbols, hash=False)
    events: Mapping[str, EventLimit] = attrs.field(factory=dict, converter=events_of, hash=False)
    min_liquidation_distance: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_NON_NEGATIVE
    )
    max_notional_risk_use: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_POSITIVE
    )

    def __attrs_post_init__(self) -> None:
        _check_bounds(self)

    @property
    def margin_limits(self) -> bool:
        """A limit judged on Kalshi's margin figures is set."""
        return self.min_liquidation_distance is not None or self.max_notional_risk_use is not None

    def for_symbol(self, symbol: str) -> SymbolLimits:
        """The limits that apply to ``symbol``: its override where set, else the account's."""
        override = self.symbols.get(symbol)
        values = {name: getattr(self, name) for name in _PER_SYMBOL}
        values["max_open_orders"] = self.max_open_orders_per_symbol
        if override is not None:
            for name in (*_PER_SYMBOL, "max_open_orders"):
                mine = getattr(override, name)
                if mine is not None:
                    values[name] = mine
        return SymbolLimits(**values)

    def replace(self, **changes: Any) -> RiskLimits:
        """A copy with ``changes`` (field=value; None lifts a limit), validated again."""
        return attrs.evolve(self, **changes)

    def with_symbol(self, symbol: str, limits: SymbolLimits | None) -> RiskLimits:
        """A copy where ``symbol`` is overridden by ``limits`` (None: its override removed)."""
        symbols = dict(self.symbols)
        if limits is None:
            symbols.pop(symbol, None)
        else:
            symbols[symbol] = limits
        return attrs.evolve(self, symbols=symbols)


def order_notional(product: str, side: str, qty: Decimal, price: Decimal | None) -> Decimal:
    """Dollars one order commits.

    Prediction: a Buy (Yes) costs ``price`` per contract; a Sell (No) costs ``1 - price`` per
    contract (Kalshi treats every order as a bid or an ask for Yes: selling Yes at ``price`` is
    buying No at ``1 - price``). Without a price, the most a contract can cost: $1. Margin:
    ``qty x price`` on either side (without a price: 0, nothing to judge).

    Args:
        product: ``"prediction"`` or ``"margin"``.
        side: Side(54) code, ``"1"`` buy or ``"2"`` sell.
        qty: contracts.
        price: the order's price in dollars (prediction: the Yes price).
    """
    if product == "prediction":
        if price is None:
            return qty
        return qty * (price if side == _BUY else _ONE - price)
    return _ZERO if price is None else qty * price


# -- the checker -----------------------------------------------------------------------------------


class BookSource(Protocol):
    """Anything with a ``books`` attribute (an adapter's market-data session, a `Driver`)."""

    @property
    def books(self) -> Books | None: ...


@attrs.frozen
class Exposure:
    """What a symbol's live orders and position could become (from `RiskChecker.exposure`).

    Attributes:
        symbol: the market.
        open_orders: live orders (an order with a replace pending counts once).
        buy_leaves: contracts the open buys could still fill.
        sell_leaves: contracts the open sells could still fill.
        net: the position from fills (Buy +, Sell -).
    """

    symbol: str
    open_orders: int
    buy_leaves: Decimal
    sell_leaves: Decimal
    net: Decimal

    @property
    def worst_long(self) -> Decimal:
        """``net + buy_leaves``: the position if every open buy filled."""
        return self.net + self.buy_leaves

    @property
    def worst_short(self) -> Decimal:
        """``sell_leaves - net``: the short position if every open sell filled."""
        return self.sell_leaves - self.net


def _code(value: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    return str(value._value_ if isinstance(value, enum.Enum) else value)


def _f(value: Decimal | int) -> str:
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


class RiskChecker:
    """Judges orders against `RiskLimits`, the tracker's open orders and positions, and a book.

    The open-order counts and leaves it reads are the tracker's (`OrderTracker.open_counts`),
    kept as the tracker changes: a check costs the same whatever the desk holds.

    Args:
        limits: the limits.
        product: ``"prediction"`` or ``"margin"`` (how notional is computed).
        tracker: the order tracker the session keeps current.
        books: a `Books`, or anything with a ``books`` attribute (read at each check, so a
            market-data session that reconnects keeps serving), for ``max_price_distance``.
    """

    def __init__(
        self,
        limits: RiskLimits,
        *,
        product: str,
        tracker: OrderTracker,
        books: Books | BookSource | None = None,
    ) -> None:
        self.product = product
        self.limits = limits
        self.tracker = tracker
        self.books = books
        self.margin: MarginFigures | None = None
        """Kalshi's margin figures the margin limits are judged on (None: not read yet);
        `kalshi_fix_sansio.rest.marginrisk.MarginRiskFetch` reads them."""

    @property
    def limits(self) -> RiskLimits:
        """The limits in force (set a new `RiskLimits` to change them)."""
        return self._limits

    @limits.setter
    def limits(self, limits: RiskLimits) -> None:
        if not isinstance(limits, RiskLimits):
            raise LocalProtocolError(
                f"risk_limits must be a RiskLimits, got {type(limits).__name__}"
            )
        if limits.events and self.product != "prediction":
            raise LocalProtocolError(
                "RiskLimits.events: event limits are for prediction markets (margin markets "
                "belong to no event); set none on a margin session"
            )
        if limits.margin_limits and self.product != "margin":
            raise LocalProtocolError(
                "RiskLimits.min_liquidation_distance / max_notional_risk_use are judged on "
                "Kalshi's margin figures: set them on a margin session only"
            )
        self._limits = limits
        self._margin_on = limits.margin_limits
        self._for_symbol: dict[str, SymbolLimits] = {}  # `RiskLimits.for_symbol`, per symbol
        self._events: EventBook | None = None
        if limits.events and hasattr(self, "_tracker"):
            self._events = EventBook(limits.events, self._tracker, self._counts)

    @property
    def tracker(self) -> OrderTracker:
        """The order tracker whose open orders and positions the checks read (its
        `OrderTracker.open_counts`, kept as it changes)."""
        return self._tracker

    @tracker.setter
    def tracker(self, tracker: OrderTracker) -> None:
        self._tracker = tracker
        self._counts = tracker.open_counts()
        events = self._limits.events
        self._events = EventBook(events, tracker, self._counts) if events else None

    # -- feeding -------------------------------------------------------------------------------

    def sent(self, message: Any) -> None:
        """Nothing to do: the tracker's counts follow what it records (kept so that code
        calling it goes on working)."""

    def observe(self, message: Any) -> None:
        """Nothing to do: the tracker's counts follow every report it takes (kept so that code
        calling it goes on working)."""

    # -- reading -------------------------------------------------------------------------------

    def exposure(self, symbol: str) -> Exposure:
        """The symbol's live orders and worst-case position now."""
        count, buys, sells = self._counts.leaves(symbol)
        return Exposure(symbol, count, buys, sells, self._tracker.position(symbol).net)

    def open_orders(self) -> int:
        """Live orders of the account, all symbols (an order with a replace pending once)."""
        return self._counts.total

    def event_worst(self, event: str) -> tuple[Decimal, str]:
        """What the worst outcome of a configured event (`RiskLimits.events`) loses now, in
        dollars, and which outcome that is, in words.

        Raises:
            LocalProtocolError: ``event`` has no limit configured.
        """
        if self._events is None or event not in self._limits.events:
            raise LocalProtocolError(f"event {event!r} has no EventLimit in RiskLimits.events")
        return self._events.worst(event)

    def _books(self) -> Books | None:
        source = self.books
        if source is None or isinstance(source, Books):
            return source
        return source.books

    # -- judging -------------------------------------------------------------------------------

    def check(self, message: Any) -> None:
        """Refuse ``message`` if it breaches a limit (35=D and 35=G only; others pass).

        Raises:
            RiskLimitExceeded: which limit, the symbol, the limit and the offending value.
        """
        msg_type = message.MSG_TYPE
        if msg_type == "D":
            self._check(message, msg_type, None)
        elif msg_type == "G":
            orig = _code(getattr(message, "orig_cl_ord_id", None))
            target = self.tracker.order(orig) if orig is not None else None
            if target is not None and target.terminal:
                target = None
            self._check(message, msg_type, target)

    def check_trade(self, order: Any) -> None:
        """Refuse a trade a quote message can make (35=S, 35=UA, 35=U7: `OrderGate` sees it as
        an order of that symbol, side, size and price), judged as a new order that adds no
        resting order (the open-order counts are not applied).

        Raises:
            RiskLimitExceeded: which limit, the symbol, the limit and the offending value.
        """
        self._check(order, order.MSG_TYPE, None, rests=False)

    def _check(
        self, message: Any, msg_type: str, target: TrackedOrder | None, rests: bool = True
    ) -> None:
        symbol = _code(getattr(message, "symbol", None))
        side = _code(getattr(message, "side", None))
        if symbol is None or side is None:
            return  # not an order the encoder will take: it says why
        limits = self._for_symbol.get(symbol)
        if limits is None:  # built once per symbol and limits (40 % of a check otherwise)
            if len(self._for_symbol) >= _SYMBOLS_KEPT:
                self._for_symbol.clear()
            limits = self._for_symbol[symbol] = self._limits.for_symbol(symbol)
        cl = _code(getattr(message, "cl_ord_id", None))
        qty: Decimal = getattr(message, "order_qty", None) or _ZERO
        price: Decimal | None = getattr(message, "price", None)
        old_qty, old_price = _ZERO, None
        if target is not None:
            old_qty, old_price = target.order_qty, target.price
            if price is None:
                price = old_price

        def refuse(
            limit: str,
            value: Decimal | int,
            actual: Decimal | int,
            what: str,
            where: str | None = symbol,
        ) -> None:
            scope = f"on {where}" if where is not None else "on the account"
            raise RiskLimitExceeded(
                f"risk limit {limit}={_f(value)} refuses 35={msg_type} {cl!r} {scope}: {what}; "
                "nothing was sent",
                limit=limit,
                symbol=where,
                value=value,
                actual=actual,
                msg_type=msg_type,
                cl_ord_id=cl,
            )

        # size of the order it becomes (a replace: only when it grows)
        lim = limits.max_order_qty
        if lim is not None and qty > lim and qty > old_qty:
            refuse("max_order_qty", lim, qty, f"order quantity {_f(qty)} > {_f(lim)}")
        lim = limits.max_order_notional
        if lim is not None:
            notional = order_notional(self.product, side, qty, price)
            before = (
                order_notional(self.product, side, old_qty, old_price)
                if target is not None
                else _ZERO
            )
            if notional > lim and notional > before:
                refuse(
                    "max_order_notional",
                    lim,
                    notional,
                    f"order notional {_f(notional)} > {_f(lim)} ({self._rule(side)})",
                )
        # the price collar (a replace: only a new price)
        if price is not None and (target is None or price != old_price):
            self._collar(limits, symbol, side, price, refuse)
        # live orders and the worst-case position
        # (a replace adds no order)
        lim_n = limits.max_open_orders if target is None and rests else None
        if lim_n is not None:
            count = self._counts.open_orders(symbol) + 1
            if count > lim_n:
                refuse(
                    "max_open_orders", lim_n, count, f"{count} open orders in {symbol} > {lim_n}"
                )
        if limits.max_position is not None:
            self._position(limits.max_position, symbol, side, qty, target, refuse)
        events = self._events
        if events is not None and symbol in events.event_of:
            is_buy = side == _BUY
            leaves = qty if target is None else max(qty - target.cum_qty, _ZERO)
            chain = (
                _ZERO
                if target is None
                else self._counts.chain_costs(symbol, OpenCounts.chain_key(target), is_buy)
            )
            cost = order_notional("prediction", side, leaves, price)
            events.check(symbol, is_buy, cost, chain, refuse)
        if self._margin_on:
            self._margin(symbol, side, qty, price, target, refuse)
        lim_n = self._limits.max_open_orders
        if target is None and rests and lim_n is not None:
            count = self._counts.total + 1
            if count > lim_n:
                refuse("max_open_orders", lim_n, count, f"{count} open orders > {lim_n}", None)

    def _margin(
        self,
        symbol: str,
        side: str,
        qty: Decimal,
        price: Decimal | None,
        target: TrackedOrder | None,
        refuse: Any,
    ) -> None:
        """The limits judged on Kalshi's margin figures (`check_margin_risk`)."""
        _, buys, sells = self._counts.leaves(symbol)
        net = self._tracker.position(symbol).net
        is_buy = side == _BUY
        worst = net + buys if is_buy else net - sells
        added = qty
        if target is not None:  # a replace adds the growth of its chain's leaves only
            chain = self._counts.chain_leaves(symbol, OpenCounts.chain_key(target), is_buy)
            added = max(max(qty - target.cum_qty, _ZERO) - chain, _ZERO)
        limits = self._limits
        check_margin_risk(
            self.margin,
            symbol=symbol,
            buy=is_buy,
            qty=added,
            price=price,
            worst_before=worst,
            min_distance=limits.min_liquidation_distance,
            max_use=limits.max_notional_risk_use,
            refuse=refuse,
        )

    def _rule(self, side: str) -> str:
        if self.product != "prediction":
            return "qty x price"
        return "Buy/Yes: qty x price" if side == _BUY else "Sell/No: qty x (1 - price)"

    def _collar(
        self, limits: SymbolLimits, symbol: str, side: str, price: Decimal, refuse: Any
    ) -> None:
        if limits.min_price is not None and price < limits.min_price:
            refuse(
                "min_price", limits.min_price, price, f"price {_f(price)} < {_f(limits.min_price)}"
            )
        if limits.max_price is not None and price > limits.max_price:
            refuse(
                "max_price", limits.max_price, price, f"price {_f(price)} > {_f(limits.max_price)}"
            )
        lim = limits.max_price_distance
        if lim is None:
            return
        books = self._books()
        book = books.get(symbol) if books is not None else None
        if book is None or not book.has_snapshot:
            return
        bid, offer = book.best_bid(), book.best_offer()
        if side == _BUY:
            ref, name = (offer, "best offer") if offer is not None else (bid, "best bid")
            distance = None if ref is None else price - ref.price
        else:
            ref, name = (bid, "best bid") if bid is not None else (offer, "best offer")
            distance = None if ref is None else ref.price - price
        if ref is not None and distance is not None and distance > lim:
            where = "above" if side == _BUY else "below"
            refuse(
                "max_price_distance",
                lim,
                distance,
                f"price {_f(price)} is {_f(distance)} {where} the {name} {_f(ref.price)} > {_f(lim)}",
            )

    def _position(
        self,
        lim: Decimal,
        symbol: str,
        side: str,
        qty: Decimal,
        target: TrackedOrder | None,
        refuse: Any,
    ) -> None:
        exposure = self.exposure(symbol)
        long_side = side == _BUY
        before = exposure.worst_long if long_side else exposure.worst_short
        if target is None:
            after = before + qty
        else:  # the chain's leaves become the larger of what they were and the new version's
            chain = self._counts.chain_leaves(symbol, OpenCounts.chain_key(target), long_side)
            new_leaves = max(qty - target.cum_qty, _ZERO)
            after = before - chain + max(chain, new_leaves)
        if after > lim and after > before:
            which = "long" if long_side else "short"
            refuse(
                "max_position",
                lim,
                after,
                f"worst-case {which} position {_f(after)} > {_f(lim)} (net {_f(exposure.net)}, "
                f"open buys {_f(exposure.buy_leaves)}, open sells {_f(exposure.sell_leaves)}, "
                f"this order {_f(qty)})",
            )
