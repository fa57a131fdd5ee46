"""What a kill tells (sans-IO): the `KillReport` of one session, the requests it sent and the
orders still open, and the events a driver emits when a kill starts and ends.

`kalshi_fix_sansio.trading.killswitch` makes them (and re-exports them: import them from there).
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from ..session.events import Event
from .tracker import OrderStatus

__all__ = ["KillFinished", "KillReport", "KillRequest", "KillStarted", "OutsideHalt", "StillOpen"]


@attrs.frozen
class KillRequest:
    """One request the kill switch sent.

    Attributes:
        msg_type: ``"q"`` (OrderMassCancelRequest), ``"UOG"`` (order group Trigger) or
            ``"F"`` (OrderCancelRequest).
        ref: its ClOrdID (35=q, 35=F) or the OrderGroupID (35=UOG).
        sent_at: when it was sent (the ``now`` given).
        covers: the ClOrdIDs of the tracked orders it was meant to cancel.
        answer: Kalshi's answer (``"35=r MassCancelResponse=6"``, ``"35=9 TOO_LATE..."``), or
            None when none came.
    """

    msg_type: str
    ref: str
    sent_at: float
    covers: tuple[str, ...]
    answer: str | None


@attrs.frozen
class StillOpen:
    """An order still open when the report was made, and why.

    Attributes:
        cl_ord_id: its ClOrdID (the latest of a replace chain).
        symbol: its market.
        status: its tracked `OrderStatus`.
        leaves_qty: what is left on the book (as tracked).
        reason: what the kill switch did about it and what is missing.
    """

    cl_ord_id: str
    symbol: str | None
    status: OrderStatus
    leaves_qty: Decimal
    reason: str


@attrs.frozen
class KillReport:
    """The kill switch's result for one session.

    Attributes:
        session: ``product/session type`` (e.g. ``prediction/KalshiNR``).
        done: nothing is open in the tracker and every 35=q was answered.
        started: when the kill began (the ``now`` of its start).
        at: when this report was made.
        halted: new orders and replaces are refused until ``rearm()``.
        sent: every request sent, in order, with its answer.
        canceled: the orders the kill meant to cancel that are final now, with their
            final status (a fill can end an order before its cancel).
        still_open: the open orders, each with its reason.
        triggered_groups: order groups triggered (they refuse new orders until Reset).
        waited_for_reconnect: the connection was down when the kill had to send: it acted
            after the reconnect.
        confirmed: the exchange confirmed that nothing of the session is open (True: the
            35=q answered ``531=6`` with nothing tracked open, and a drop-copy replay agreeing
            when one was asked for); it cannot (False: KalshiRT, which has no 35=q; a refused
            35=q; a drop copy that could not confirm; ``notes`` say why); or not yet (None).
        notes: what else happened (a rejected 35=q, the connection lost meanwhile...).
        not_found: the orders among ``canceled`` that the exchange answered it does not know
            (OrderCancelReject CxlRejReason 1 for an order it never acknowledged: lost in
            flight, never live): REJECTED with a `Rejection` of source ``"not_found"``.
        halt_reason: why new orders are refused (``halted``), e.g. ``"the kill switch"`` or a
            halt from the shell (`kalshi_fix_sansio.trading.haltfile`); None when not halted.
    """

    session: str
    done: bool
    started: float
    at: float
    halted: bool
    sent: tuple[KillRequest, ...]
    canceled: tuple[tuple[str, OrderStatus], ...]
    still_open: tuple[StillOpen, ...]
    triggered_groups: tuple[str, ...] = ()
    waited_for_reconnect: bool = False
    notes: tuple[str, ...] = ()
    confirmed: bool | None = None
    not_found: tuple[str, ...] = ()
    halt_reason: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        """How the orders the kill meant to take off ended: ``canceled`` (Canceled while it
        ran), ``gone`` (already gone: filled, expired, replaced, rejected, or unknown to the
        exchange; ``not_found`` of those), and ``still_open``."""
        canceled = sum(1 for _, status in self.canceled if status is OrderStatus.CANCELED)
        return {
            "canceled": canceled,
            "gone": len(self.canceled) - canceled,
            "not_found": len(self.not_found),
            "still_open": len(self.still_open),
        }

    def _halt_text(self) -> str:
        if not self.halted:
            return ""
        if self.halt_reason is None or self.halt_reason == "the kill switch":
            return "; new orders refused until rearm()"
        return f"; new orders refused: {self.halt_reason}"

    def __str__(self) -> str:
        verdict = (
            "done: nothing open" if self.done else f"NOT done: {len(self.still_open)} still open"
        )
        if self.done:
            verdict += (
                ", confirmed by the exchange"
                if self.confirmed
                else " that this session knows of; NOT confirmed by the exchange (see the notes)"
                if self.confirmed is False
                else ", not confirmed yet"
            )
        lines = [
            f"kill {self.session}: {verdict} after {self.at - self.started:.3f} s"
            + self._halt_text()
        ]
        if self.waited_for_reconnect:
            lines.append("  the connection was down: waited for the reconnect, then acted")
        for request in self.sent:
            what = {
                "q": "OrderMassCancelRequest",
                "UOG": "OrderGroup trigger",
                "F": "OrderCancelRequest",
            }
            covers = f" for {len(request.covers)} order(s)" if request.covers else ""
            answer = request.answer or "no answer"
            lines.append(
                f"  sent {what.get(request.msg_type, request.msg_type)} {request.ref}{covers}: {answer}"
            )
        for cl, status in self.canceled:
            if cl in self.not_found:
                lines.append(
                    f"  {cl}: {status.name} (not found: the exchange does not know it; never live)"
                )
            else:
                lines.append(f"  {cl}: {status.name}")
        for order in self.still_open:
            lines.append(
                f"  STILL OPEN {order.cl_ord_id} ({order.symbol}, {order.status.name}, "
                f"leaves {order.leaves_qty}): {order.reason}"
            )
        for group in self.triggered_groups:
            lines.append(f"  order group {group} triggered: Reset it before trading in it again")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


@attrs.frozen(slots=True, repr=False)
class KillStarted(Event):
    """The kill switch started on a session (the adapters log it at WARNING).

    Attributes:
        session: ``product/session type``.
        open_orders: the ClOrdIDs the tracker shows open when it started.
        halted: messages that can create a position are refused until ``rearm()``.
        means: how the orders are taken off (``one OrderMassCancelRequest (35=q)``...).
    """

    session: str
    open_orders: tuple[str, ...]
    halted: bool
    means: str

    def __repr__(self) -> str:
        halted = "; new orders refused while halted" if self.halted else ""
        return (
            f"KillStarted({self.session}: {len(self.open_orders)} open order(s) tracked; "
            f"{self.means}{halted})"
        )


@attrs.frozen(slots=True, repr=False)
class KillFinished(Event):
    """The kill switch ended: done, or given up with the session (the adapters log it at
    WARNING). ``report`` says what it cancelled and what is unconfirmed.

    Attributes:
        report: the `KillReport` at the end.
    """

    report: KillReport

    def __repr__(self) -> str:
        r = self.report
        verdict = "done" if r.done else f"NOT done, {len(r.still_open)} still open"
        confirmed = {True: "confirmed by the exchange", False: "NOT confirmed", None: "unconfirmed"}
        unconfirmed = "; ".join(n for n in r.notes if "confirm" in n)
        return (
            f"KillFinished({r.session}: {verdict}, {confirmed[r.confirmed]}; "
            f"{len(r.canceled)} order(s) final, {len(r.sent)} request(s) sent"
            + (f"; {unconfirmed}" if unconfirmed and not r.confirmed else "")
            + ")"
        )


@attrs.frozen(slots=True, repr=False)
class OutsideHalt(Event):
    """A halt set outside this process began or was lifted: the driver's `HaltSource
    <kalshi_fix_sansio.trading.killswitch.HaltSource>` (a client's
    `HaltFile <kalshi_fix_sansio.trading.haltfile.HaltFile>`: ``kalshi-fix kill`` /
    ``kalshi-fix rearm``) answered differently than before (the adapters log it at WARNING).

    While it holds, messages that can create a position are refused (`TradingHalted`, with
    ``reason``); ``rearm()`` does not lift it, removing it where it was set does. A halt that
    begins while the session runs also starts a kill (`KillStarted`) of the session's own
    orders, which does not halt again.

    Attributes:
        reason: why trading is halted (``a kill from the shell at ... by ...``), or None:
            lifted.
    """

    reason: str | None

    @property
    def halted(self) -> bool:
        """The halt began (False: it was lifted)."""
        return self.reason is not None

    def __repr__(self) -> str:
        if self.reason is None:
            return "OutsideHalt(lifted: new orders accepted again)"
        return f"OutsideHalt({self.reason}: new orders refused until it is lifted)"
