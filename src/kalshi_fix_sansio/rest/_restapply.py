"""Apply Kalshi's REST orders, fills and positions to an `OrderTracker` (private: see
`kalshi_fix_sansio.rest.reconcile` and ``_restfills`` for the mapping).

Every REST fill missing from the tracker enters it as an ExecutionReport of the product's
dialect (ExecID ``rest:<fill_id>``), so it is counted by the tracker's own rules: once, into the
order and the position. An order's state follows REST (cancelled, acknowledged) only where the
tracker has nothing final; any disagreement is a `RestContradiction`, never an overwrite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import ModuleType
from typing import Any

from ..codec import dialect
from ..session.events import Event
from ..trading import REST_EXEC_PREFIX, Fill, OrderStatus, TrackedOrder
from ..trading.corporate import CorporateActions
from ..trading.pnl import MarketPnL
from ..trading.tracker import OrderTracker
from ._reconcileevents import SOURCES, Reconciled, ReconciledFill
from ._restfills import (
    RestFill,
    RestOrder,
    parse_fill,
    parse_order,
    parse_position,
)
from .pages import RestContradiction, RestProblem, shown

_ZERO = Decimal(0)


def _source(fill: Fill, replayed: Callable[[str], bool]) -> str:
    if fill.exec_id.startswith(REST_EXEC_PREFIX):
        return "rest"
    return "replay" if replayed(fill.exec_id) else "fix"


class _Round:
    """One application of REST records to a tracker."""

    def __init__(
        self,
        tracker: OrderTracker,
        product: str,
        replayed: Callable[[str], bool],
        windowed: bool = False,
    ) -> None:
        self.windowed = windowed  # fills read from a time on: older ones are not listed
        self.tracker = tracker
        self.prediction = product == "prediction"
        self.d: ModuleType = dialect(product)  # loaded on first use, as the session's
        self.replayed = replayed
        self.events: list[Event] = []
        self.problems = 0
        self.sources = dict.fromkeys(SOURCES, 0)
        self.orders = self.fills = self.added = 0
        self.added_qty = _ZERO
        self.symbols: set[str] = set()

    def problem(self, endpoint: str, reason: str, record: object) -> None:
        self.problems += 1
        self.events.append(RestProblem(endpoint, reason, shown(record)))

    def contradiction(self, endpoint: str, record: object, reason: str) -> None:
        self.problems += 1
        self.events.append(RestContradiction(endpoint, shown(record), reason))

    # -- reading ---------------------------------------------------------------------------

    def read_orders(self, records: Sequence[Mapping[str, Any]]) -> list[RestOrder]:
        out: dict[str, RestOrder] = {}
        for record in records:
            parsed = parse_order(record, self.prediction)
            if isinstance(parsed, str):
                self.problem("orders", f"an order record cannot be read: {parsed}", record)
            else:
                out.setdefault(parsed.order_id, parsed)  # (recent and resting lists overlap)
        return list(out.values())

    def read_fills(self, records: Sequence[Mapping[str, Any]]) -> dict[str, list[RestFill]]:
        """REST fills by order_id, oldest first (pages list the newest first)."""
        seen: set[str] = set()
        by_order: dict[str, list[tuple[float, int, RestFill]]] = {}
        for index, record in enumerate(records):
            parsed = parse_fill(record, self.prediction)
            if isinstance(parsed, str):
                self.problem("fills", f"a fill record cannot be read: {parsed}", record)
                continue
            if parsed.fill_id in seen:
                self.problem(
                    "fills",
                    f"fill {parsed.fill_id} is listed twice (pagination overlaps): counted once",
                    record,
                )
                continue
            seen.add(parsed.fill_id)
            by_order.setdefault(parsed.order_id, []).append((parsed.ts, -index, parsed))
        return {key: [f for *_, f in sorted(entries)] for key, entries in by_order.items()}

    # -- applying --------------------------------------------------------------------------

    def find(self, rest: RestOrder, by_order_id: Mapping[str, TrackedOrder]) -> TrackedOrder | None:
        order = self.tracker.current(rest.cl_ord_id) if rest.cl_ord_id else None
        if order is None:
            order = by_order_id.get(rest.order_id)
        return order

    def report(self, order: TrackedOrder, rest: RestOrder, **fields: Any) -> None:
        d = self.d
        self.tracker.on_message(
            d.ExecutionReport(
                cl_ord_id=order.cl_ord_id,
                order_id=rest.order_id,
                symbol=rest.symbol,
                side=d.Side(rest.side),
                order_qty=order.original_qty or rest.order_qty,
                price=rest.price,
                **fields,
            )
        )

    def introduce(self, rest: RestOrder) -> TrackedOrder | None:
        """An order resting at Kalshi the tracker does not know, or one of the account's own
        quotes that traded: an acknowledgement of it (its fills follow, `order`)."""
        d = self.d
        cl = rest.cl_ord_id or f"{REST_EXEC_PREFIX}{rest.order_id}"
        self.tracker.on_message(
            d.ExecutionReport(
                exec_id=f"{REST_EXEC_PREFIX}{rest.order_id}:new",
                exec_type=d.ExecType.NEW,
                ord_status=d.OrdStatus.NEW,
                cl_ord_id=cl,
                order_id=rest.order_id,
                symbol=rest.symbol,
                side=d.Side(rest.side),
                order_qty=rest.order_qty,
                leaves_qty=rest.order_qty,
                cum_qty=_ZERO,
                price=rest.price,
            )
        )
        return self.tracker.order(cl)

    def order(self, rest: RestOrder, order: TrackedOrder, fills: list[RestFill]) -> None:
        tracker = self.tracker
        versions = tracker.chain(order.cl_ord_id)
        counted_fills = [f for version in versions for f in version.fills]
        counted = sum((f.qty for f in counted_fills), _ZERO)
        cl = order.cl_ord_id
        listed = sum((f.qty for f in fills), _ZERO)
        if order.symbol is not None and order.symbol != rest.symbol:
            return self.contradiction(
                "orders", rest.record, f"order {cl}: ticker {rest.symbol}, FIX said {order.symbol}"
            )
        if listed > rest.fill_count or (listed < rest.fill_count and not self.windowed):
            return self.problem(
                "fills",
                f"order {cl} ({rest.order_id}): the order says {rest.fill_count} filled, its "
                f"fills list {listed}: left as it is (reconcile again)",
                rest.record,
            )
        if rest.fill_count < counted:
            return self.contradiction(
                "orders",
                rest.record,
                f"order {cl}: Kalshi's REST API says {rest.fill_count} filled, the tracker "
                f"counted {counted}: the tracker keeps its count",
            )
        limit = order.original_qty if order.original_qty > 0 else rest.order_qty
        if rest.fill_count > limit:
            return self.contradiction(
                "orders",
                rest.record,
                f"order {cl}: Kalshi's REST API says {rest.fill_count} filled, more than its "
                f"OrderQty {limit}: nothing added",
            )
        self.orders += 1
        self.fills += len(fills)
        self.symbols.add(rest.symbol)
        known: dict[str, Fill] = {}
        for mine in counted_fills:
            known[mine.exec_id] = mine
            if mine.trd_match_id:
                known.setdefault(mine.trd_match_id, mine)
        missing = rest.fill_count - counted
        unmatched = [
            f
            for f in fills
            if not (
                known.get(f.trade_id)
                or known.get(f.fill_id)
                or known.get(REST_EXEC_PREFIX + f.fill_id)
            )
        ]
        adding: list[RestFill] = []
        for fill in reversed(unmatched):  # the newest are the missed ones
            if missing <= 0:
                break
            if fill.qty > missing:
                self.contradiction(
                    "fills",
                    fill.record,
                    f"order {cl}: fill {fill.fill_id} of {fill.qty} does not fit the {missing} "
                    "missing: not added",
                )
                break
            adding.append(fill)
            missing -= fill.qty
        else:
            if missing > 0:  # only when fills were read from a time on (else listed == count)
                self.problem(
                    "fills",
                    f"order {cl}: {missing} filled contract(s) are not among the fills read "
                    "(older than the lookback): not added",
                    rest.record,
                )
        new = {id(f) for f in adding}
        default = (
            "replay" if any(_source(f, self.replayed) == "replay" for f in counted_fills) else "fix"
        )
        cum = counted
        for fill in fills:
            hit = known.get(fill.trade_id) or known.get(fill.fill_id)
            hit = hit or known.get(REST_EXEC_PREFIX + fill.fill_id)
            if id(fill) in new:
                cum += fill.qty
                self.add(order, rest, fill, cum, limit)
                source = "rest"
            else:
                source = _source(hit, self.replayed) if hit is not None else default
            self.sources[source] += 1
            self.events.append(
                ReconciledFill(cl, fill.fill_id, fill.qty, fill.price, source, id(fill) in new)
            )
        if adding and cum == rest.fill_count:
            tracker.rest_counted[cl] = cum
        self.state(rest, tracker.current(cl) or order, cum, limit)

    def add(
        self, order: TrackedOrder, rest: RestOrder, fill: RestFill, cum: Decimal, limit: Decimal
    ) -> None:
        d = self.d
        filled = cum >= limit
        self.report(
            order,
            rest,
            exec_id=f"{REST_EXEC_PREFIX}{fill.fill_id}",
            exec_type=d.ExecType.TRADE,
            ord_status=d.OrdStatus.FILLED if filled else d.OrdStatus.PARTIALLY_FILLED,
            last_qty=fill.qty,
            last_px=fill.price,
            cum_qty=cum,
            leaves_qty=max(limit - cum, _ZERO),
            trd_match_id=fill.trade_id,
        )
        self.added += 1
        self.added_qty += fill.qty

    def state(self, rest: RestOrder, order: TrackedOrder, cum: Decimal, limit: Decimal) -> None:
        """The order's state as REST says, where the tracker has nothing final."""
        d = self.d
        if rest.status == "canceled" and order.is_open:
            self.report(
                order,
                rest,
                exec_id=f"{REST_EXEC_PREFIX}{rest.order_id}:canceled",
                exec_type=d.ExecType.CANCELED,
                ord_status=d.OrdStatus.CANCELED,
                cum_qty=cum,
                leaves_qty=_ZERO,
            )
        elif rest.status == "resting" and order.terminal:
            self.contradiction(
                "orders",
                rest.record,
                f"order {order.cl_ord_id}: Kalshi's REST API says resting, the tracker has it "
                f"{order.status.name}: the tracker keeps its state",
            )
        elif rest.status == "resting" and order.status is OrderStatus.PENDING_NEW:
            self.report(
                order,
                rest,
                exec_id=f"{REST_EXEC_PREFIX}{rest.order_id}:new",
                exec_type=d.ExecType.NEW,
                ord_status=d.OrdStatus.PARTIALLY_FILLED if cum else d.OrdStatus.NEW,
                cum_qty=cum,
                leaves_qty=max(limit - cum, _ZERO),
            )
        elif rest.status == "executed" and order.status is not OrderStatus.FILLED and cum < limit:
            self.contradiction(
                "orders",
                rest.record,
                f"order {order.cl_ord_id}: Kalshi's REST API says executed with {cum} of {limit} "
                "filled",
            )

    def positions(
        self,
        records: Sequence[Mapping[str, Any]],
        corporate: tuple[CorporateActions, float] | None = None,
    ) -> None:
        for record in records:
            parsed = parse_position(record)
            if isinstance(parsed, str):
                self.problem("positions", f"a position record cannot be read: {parsed}", record)
                continue
            symbol, net = parsed
            if symbol not in self.symbols:
                continue
            held = self.tracker.position(symbol).net
            if held != net and corporate is not None:  # Kalshi's position after its actions
                held = _after_actions(self.tracker, symbol, held, *corporate)
            if held != net:
                self.contradiction(
                    "positions",
                    record,
                    f"{symbol}: Kalshi holds {net}, the tracker {held} (fills of orders it does "
                    "not track: other sessions or keys, or before its history)",
                )


def _after_actions(
    tracker: OrderTracker, symbol: str, held: Decimal, actions: CorporateActions, now: float
) -> Decimal:
    """The tracker's position in ``symbol`` after the corporate actions up to ``now`` (splits,
    a final settlement: `CorporateActions.adjust`); a fill without a time (one REST added)
    counts as before every action."""
    try:
        return tracker.pnl(symbol, corporate=actions, now=now).position
    except ValueError:  # a fill without a TransactTime: every fill before the actions
        account = MarketPnL.from_position(tracker.position(symbol))
        actions.adjust(account, [], now)
        return account.position


def apply_rest(
    tracker: OrderTracker,
    product: str,
    reason: str,
    *,
    orders: Sequence[Mapping[str, Any]],
    fills: Sequence[Mapping[str, Any]],
    positions: Sequence[Mapping[str, Any]] = (),
    replayed: Callable[[str], bool] = lambda exec_id: False,
    windowed: bool = False,
    incomplete: str | None = None,
    ours: Callable[[str], bool] | None = None,
    corporate: tuple[CorporateActions, float] | None = None,
) -> list[Event]:
    """Apply one reconciliation's records to ``tracker``; returns its events, `Reconciled` last
    (``incomplete``: why pages may be missing, for it).

    Orders in scope: those the tracker knows (by ``client_order_id`` = ClOrdID, else by
    ``order_id`` = OrderID), those resting at Kalshi, and those whose ``client_order_id``
    ``ours`` says is the account's own (the QuoteID of a Quote one of its RFQ sessions sent:
    a maker's fill); the rest of the account's history (another process's orders) is left out.
    ``corporate``: (the margin corporate actions, now): a position is compared with Kalshi's
    after them.
    """
    state = _Round(tracker, product, replayed, windowed)
    rest_orders = state.read_orders(orders)
    rest_fills = state.read_fills(fills)
    by_order_id = {o.order_id: o for o in tracker if o.order_id}
    for rest in rest_orders:
        order = state.find(rest, by_order_id)
        if order is None:
            own = ours is not None and rest.cl_ord_id is not None and ours(rest.cl_ord_id)
            if rest.status != "resting" and not own:
                continue  # history outside the tracker's orders
            order = state.introduce(rest)
            if order is None:  # pragma: no cover - the tracker always takes a new order
                continue
        state.order(rest, order, rest_fills.get(rest.order_id, []))
    state.positions(positions, corporate)
    state.events.append(
        Reconciled(
            reason,
            state.orders,
            state.fills,
            state.added,
            state.added_qty,
            {k: v for k, v in state.sources.items() if v},
            state.problems,
            incomplete,
        )
    )
    return state.events
