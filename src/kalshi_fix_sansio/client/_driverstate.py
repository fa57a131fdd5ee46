"""The trading state of `kalshi_fix_sansio.client.driver.Driver` (its methods; private): the
events that tell its order gate an order outcome became unknown or known again, and the
`TradingStateChanged` it emits when what the gate lets through changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..observability.metrics import SessionMetrics
from ..rest.reconcile import Reconciled, ReconcileFailed
from ..session.events import Event
from ..trading.catchup import CatchUpComplete, CatchUpFailed, OrdersUnknown
from ..trading.gate import ALL_MARKETS, OrderGate, TradingState, TradingStateChanged

__all__ = ["OUTCOME_EVENTS", "StateDriving"]


def _orders_unknown(gate: OrderGate, event: Any) -> None:
    gate.outcomes_unknown(event.cl_ord_ids, event.reason)


def _catch_up_failed(gate: OrderGate, event: Any) -> None:
    gate.state_unknown(f"catch-up failed: {event.reason}", catch_up=True)


def _reconcile_failed(gate: OrderGate, event: Any) -> None:
    gate.state_unknown(f"a REST reconciliation failed ({event.endpoint}): {event.reason}")


OUTCOME_EVENTS: dict[type, Callable[[OrderGate, Any], None]] = {
    OrdersUnknown: _orders_unknown,
    CatchUpFailed: _catch_up_failed,
    ReconcileFailed: _reconcile_failed,
    CatchUpComplete: lambda gate, _: gate.outcomes_known(catch_up=True),
    Reconciled: lambda gate, _: gate.outcomes_known(),
}
"""The events that tell the order gate an order outcome became unknown, or known again."""


class StateDriving:
    """`Driver`'s trading-state announcements (it sets the attributes below and has
    ``_emit``)."""

    gate: OrderGate
    metrics: SessionMetrics
    _announced: tuple[TradingState, str | None, tuple[str, ...]]

    def _emit(self, event: Event, now: float) -> None:  # pragma: no cover - the driver's
        raise NotImplementedError

    def announce(self, now: float) -> None:
        """Say what the order gate lets through now, if it changed: a `TradingStateChanged`
        (and the ``trading_state`` metric). A block by unknown outcomes is looked at again at
        every step while it holds (an order that ends lifts its market)."""
        gate = self.gate
        gate.state_changed = False
        state, reason = gate.state
        markets = gate.unknown_markets
        if markets:
            gate.state_changed = True
        seen = (state, reason, markets)
        if seen == self._announced:
            return
        self._announced = seen
        metrics = self.metrics
        metrics.trading_state = state.value
        metrics.unknown_markets = -1 if markets == (ALL_MARKETS,) else len(markets)
        self._emit(TradingStateChanged(state, reason, markets), now)
