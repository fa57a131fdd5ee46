"""Reports the tracker never saw, read from the ones it sees: the order tracker's rules for them.

`MissedReports` is the part of `kalshi_fix_sansio.trading.tracker.OrderTracker` that counts a fill
whose report was lost (a report's CumQty above the fills counted: `FillInferred`), takes an
inferred fill back when its report arrives after all, and ends an order REPLACED when a report
of its replacement comes without the Replaced report; the rules are the tracker's module
docstring's. It keeps no state of its own: the tracker's dicts are its.

* A report that raises an order's CumQty above the fills counted for it (a fill's report was
  lost) counts the difference as one inferred fill (`FillInferred`: ExecID
  ``inferred:<ExecID>``, priced from AvgPx), kept in `OrderTracker.inferred` until taken.
  Only for an order known before that report (sent, or reported on with its OrderQty): the
  first report of an order known only from reports (a listener's, a replay begun mid-order)
  infers nothing.
* A fill report at or below the CumQty a fill was inferred up to (the lost report, arriving
  after all) takes its quantity back from the inferred fill and counts at its own price: any
  order of arrival of a complete set of reports gives the same fills and position.
* Another report of a replacement we sent (not pending, not a reject) ends the order it
  replaces REPLACED, as its lost ExecType 5 report would have.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

import attrs

from ._opencounts import OpenCounts
from ._orderfields import REPORT, Values
from ._orders import (
    INFERRED_EXEC_PREFIX,
    ZERO,
    FillInferred,
    OrderStatus,
    Position,
    TrackedOrder,
    _code,
)

__all__ = ["MissedReports"]

_REPLACED = OrderStatus.REPLACED
_NOT_ANSWERS: Final = frozenset({"A", "6", "E"})  # ExecTypes that do not answer a request
_AGGRESSOR_INDICATOR: Final = REPORT.index("aggressor_indicator")
_AVG_PX: Final = REPORT.index("avg_px")
_CUM_QTY: Final = REPORT.index("cum_qty")
_EXEC_ID: Final = REPORT.index("exec_id")
_LAST_PX: Final = REPORT.index("last_px")
_LAST_QTY: Final = REPORT.index("last_qty")
_TRD_MATCH_ID: Final = REPORT.index("trd_match_id")


_MILLIONTH: Final = Decimal("0.000001")


class MissedReports:
    """The order tracker's rules for reports it never saw (see the module docstring)."""

    _orders: dict[str, TrackedOrder]
    _positions: dict[str, Position]
    _owed: dict[str, Any]  # ClOrdID -> CumQty up to which fills were inferred
    _counts: OpenCounts | None
    _untrack: Callable[[object], None]
    inferred: list[FillInferred]
    chain: Callable[[str], list[TrackedOrder]]  # the tracker's: every version of an order
    _fill: Callable[[TrackedOrder, Values, Any], None]  # the tracker's: count a fill report

    def _took_effect(self, replacement: TrackedOrder, exec_type: str | None) -> None:
        """A report of a replacement we sent, other than its Replaced report (lost: a gap, a
        replay begun past it): the order it replaces is REPLACED, as that report would make it."""
        if exec_type in _NOT_ANSWERS or replacement.orig_cl_ord_id is None:
            return  # a pending report answers nothing
        old = self._orders.get(replacement.orig_cl_ord_id)
        if old is None or old.replaced_by is not None:
            return
        old.replaced_by = replacement.cl_ord_id
        if not old.terminal:
            old.status = _REPLACED
        if self._counts is not None:
            self._counts.update(old)

    def _infer(self, order: TrackedOrder, v: Values, qty: Any) -> None:
        """A report raised ``order``'s CumQty ``qty`` above the fills counted: one inferred fill
        of ``qty`` (`FillInferred`), the lost report of it recognised later by its CumQty."""
        cum = v[_CUM_QTY]
        versions = self.chain(order.cl_ord_id)
        seen = [f for version in versions for f in version._fills]
        price = v[_AVG_PX]
        if price is not None and price > 0:
            seen_qty = sum((f.qty for f in seen), ZERO)
            if seen_qty + qty == cum:  # what AvgPx says the missing fills cost
                missing = (price * cum - sum((f.qty * f.price for f in seen), ZERO)) / qty
                if missing > 0:  # to a millionth: a price taken back exactly when it is known
                    price = missing.quantize(_MILLIONTH)
        else:
            price = order.price if order.price is not None else ZERO
        exec_id = v[_EXEC_ID]
        exec_id = exec_id if exec_id.__class__ is str else _code(exec_id) or ""
        values = list(v)  # the report, as the trade report that was lost
        values[_EXEC_ID] = INFERRED_EXEC_PREFIX + exec_id
        values[_LAST_PX], values[_LAST_QTY] = price, qty
        values[_TRD_MATCH_ID] = values[_AGGRESSOR_INDICATOR] = None
        self._fill(order, tuple(values), None)  # no fees, no collateral: not known
        fill = order._fills[-1]
        self._owed[order.cl_ord_id] = max(cum, self._owed.get(order.cl_ord_id, ZERO))
        self.inferred.append(
            FillInferred(order.cl_ord_id, qty, price, cum, exec_id, fill.symbol, fill.side)
        )

    def _late(self, order: TrackedOrder, cum: Any, qty: Any) -> None:
        """A fill report of CumQty ``cum`` arrived after a report of a higher CumQty (counted,
        ``qty``): if a fill was inferred for its order's chain up to at least ``cum``, that
        much of the inferred fill is taken back (the real one counts, at its own price)."""
        owed = self._owed
        for version in self.chain(order.cl_ord_id):
            upto = owed.get(version.cl_ord_id)
            if upto is None or cum > upto:
                continue
            fills, seqs = list(version._fills), list(version._fill_seqs or ())
            for index in range(len(fills) - 1, -1, -1):
                fill = fills[index]
                if qty <= 0 or not fill.exec_id.startswith(INFERRED_EXEC_PREFIX):
                    continue
                take = min(qty, fill.qty)
                qty -= take
                self._positions[fill.symbol]._add(fill.side, fill.price, -take, ZERO)
                if take == fill.qty:
                    del fills[index], seqs[index]
                else:
                    fills[index] = attrs.evolve(fill, qty=fill.qty - take)
                    self._untrack(fills[index])
            version._fills, version._fill_seqs = tuple(fills), seqs or None
            self._untrack(version._fills)
            if not any(f.exec_id.startswith(INFERRED_EXEC_PREFIX) for f in fills):
                del owed[version.cl_ord_id]
