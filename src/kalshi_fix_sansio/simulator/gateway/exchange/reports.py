"""Execution reports: ExecIDs, building a report from an order, routing and rendering it.

One `Report` is one execution-report event; it is rendered per recipient session, so the
session's Logon flags shape what it gets:

* Prices are rounded (half-even) to whole cents for prediction sessions without UseDollars and
  to 4 decimals otherwise, so every report can be encoded.
* OrderQty is CumQty + LeavesQty (Kalshi's default), or the order's requested total quantity for
  sessions connected with ``preserve_original_order_qty=True``. Rejects echo the requested
  quantity. Expiries are Canceled, or Expired (150=C, 39=C) with ``use_expired_ord_status``.
* ExecIDs are ``clock;event``: ``clock`` counts the engine calls that produced execution
  reports and ``event`` numbers the reports of one call from 1.

Routing: an order's reports go to the session that placed it while it is connected, else to the
account's other connected sessions that may place orders (the spec's senders of 35=D, not
listeners); listener sessions of the account get a copy of every report (rejects included).
Every report of a client account except rejects is kept for drop-copy replay.
"""

from __future__ import annotations

from typing import Any, Protocol

from .common import (
    CENT,
    HOUSE_ACCOUNT,
    NONE_ID,
    ZERO,
    Status,
    as_int,
    as_text,
    echo_dec,
    to_ms,
    utc,
)
from .model import ClientSession, Order, Report
from .routing import NEW_ORDER
from .state import ExchangeState


class DropCopyLog(Protocol):
    """What the reports keep of each execution for drop-copy replay (`drop_copy.DropCopy`)."""

    last_exec: tuple[int, int]

    def clock_used(self, clock: int) -> None: ...

    def record(self, report: Report) -> None: ...


__all__ = ["Reports", "render_report"]


class Reports:
    """Issues ExecIDs, builds execution reports and sends them to the sessions that get them."""

    def __init__(self, state: ExchangeState, drop_copy: DropCopyLog) -> None:
        self.state = state
        self.drop_copy = drop_copy
        self._order_entry = state.routing.sent_on(NEW_ORDER)
        self._clock = 0
        self._cycle_clock: int | None = None
        self._cycle_event = 0

    def begin(self) -> None:
        """Start a call: its reports share one ExecID clock, drawn at the first report."""
        self._cycle_clock = None
        self._cycle_event = 0

    def exec_id(self) -> str:
        """The next ExecID of this call."""
        if self._cycle_clock is None:
            self._clock += 1
            self._cycle_clock = self._clock
            self.drop_copy.clock_used(self._clock)
        self._cycle_event += 1
        self.drop_copy.last_exec = (self._cycle_clock, self._cycle_event)
        return f"{self._cycle_clock};{self._cycle_event}"

    def recipients(self, account: str, origin: str | None) -> list[ClientSession]:
        """The sessions an account's report goes to (see the module docstring)."""
        out: list[ClientSession] = []
        first = self.state.sessions.get(origin) if origin is not None else None
        if first is not None:
            out.append(first)
        else:
            out.extend(
                self.state.sessions_where(
                    lambda s: (
                        s.account == account
                        and s.session_type in self._order_entry
                        and not s.listener
                    )
                )
            )
        out.extend(
            self.state.sessions_where(
                lambda s: s.account == account and s.listener and s not in out
            )
        )
        return out

    def emit(self, report: Report) -> None:
        """Keep a report for replay (client accounts, not rejects) and send it."""
        if not report.rejected and report.account != HOUSE_ACCOUNT:
            self.drop_copy.record(report)
        for session in self.recipients(report.account, report.session_id):
            self.state.send(session, render_report(self.state, report, session))

    def report(
        self,
        order: Order,
        exec_type: Status,
        status: Status,
        *,
        cl_ord_id: str | None = None,
        orig_cl_ord_id: str | None = None,
        text: str | None = None,
        expired: bool = False,
        replaced: bool = False,
    ) -> Report:
        return Report(
            exec_id=self.exec_id(),
            exec_type=exec_type,
            ord_status=status,
            order_id=order.order_id,
            cl_ord_id=cl_ord_id or order.cl_ord_id,
            orig_cl_ord_id=orig_cl_ord_id,
            account=order.account,
            session_id=order.session_id,
            side=order.side,
            symbol=order.symbol,
            price=order.price,
            order_qty=order.order_qty,
            cum_qty=order.cum_qty,
            leaves_qty=order.leaves_qty,
            avg_px=order.avg_px,
            transact=to_ms(utc(self.state.now)),
            text=text,
            expire_dt=order.expire_dt,
            replaced_tif=("6" if order.expire_dt is not None else "1") if replaced else None,
            alloc_account=order.alloc_account,
            party_id=order.party_id,
            expired=expired,
        )

    def reject_new_order(
        self, session: ClientSession, message: Any, text: str, reason: int
    ) -> None:
        report = Report(
            exec_id=self.exec_id(),
            exec_type=Status.REJECTED,
            ord_status=Status.REJECTED,
            order_id=self.state.uuid(),
            cl_ord_id=as_text(message.cl_ord_id) or NONE_ID,
            orig_cl_ord_id=None,
            account=session.account,
            session_id=session.session_id,
            side=as_text(message.side) or NONE_ID,
            symbol=as_text(message.symbol) or NONE_ID,
            price=echo_dec(message.price),
            order_qty=echo_dec(message.order_qty) or ZERO,
            cum_qty=ZERO,
            leaves_qty=ZERO,
            avg_px=ZERO,
            transact=to_ms(utc(self.state.now)),
            text=text,
            ord_rej_reason=reason,
            alloc_account=as_int(message.alloc_account),
            rejected=True,
        )
        self.emit(report)


def render_report(state: ExchangeState, r: Report, s: ClientSession) -> Any:
    """The ExecutionReport of ``r`` as session ``s`` gets it (its logon flags applied)."""
    d = state.d
    exec_type, status = r.exec_type, r.ord_status
    if r.expired and s.use_expired_ord_status:
        exec_type = status = Status.EXPIRED
    if r.rejected or s.preserve_original_order_qty:
        order_qty = r.order_qty
    else:
        order_qty = r.cum_qty + r.leaves_qty
    kw: dict[str, Any] = {
        "avg_px": state.px(s, r.avg_px),
        "cl_ord_id": r.cl_ord_id,
        "cum_qty": r.cum_qty.quantize(CENT),
        "exec_id": r.exec_id,
        "order_id": r.order_id,
        "order_qty": order_qty.quantize(CENT),
        "ord_status": d.OrdStatus(status.value),
        "orig_cl_ord_id": r.orig_cl_ord_id,
        "price": state.px(s, r.price),
        "side": state.enum("Side", r.side),
        "symbol": r.symbol,
        "text": r.text,
        "transact_time": r.transact,
        "ord_rej_reason": None
        if r.ord_rej_reason is None
        else state.enum("OrdRejReason", r.ord_rej_reason),
        "expire_time": r.expire_dt,
        "exec_type": d.ExecType(exec_type.value),
        "leaves_qty": r.leaves_qty.quantize(CENT),
        "alloc_account": r.alloc_account or None,
    }
    if r.replaced_tif is not None:
        kw["time_in_force"] = d.TimeInForce(r.replaced_tif)
    if r.party_id is not None:
        kw["parties"] = (d.Party(party_id=r.party_id, party_role=d.PartyRole(24)),)
    if r.last_qty is not None:
        kw.update(
            last_px=state.px(s, r.last_px),
            last_qty=r.last_qty.quantize(CENT),
            trd_match_id=r.trd_match_id,
            aggressor_indicator=r.aggressor,
            misc_fees=(
                d.MiscFee(
                    misc_fee_amt=r.fee,
                    misc_fee_curr="USD",
                    misc_fee_type=d.MiscFeeType("4"),
                    misc_fee_basis=d.MiscFeeBasis(0),
                ),
            ),
            long_qty=r.long_qty,
            short_qty=r.short_qty,
            collateral_amount_changes=(
                d.CollateralAmountChange(
                    collateral_amount_change=r.balance,
                    collateral_amount_type=d.CollateralAmountType("BALANCE"),
                ),
            ),
            clearing_business_date=r.clearing_date,
        )
    return d.ExecutionReport(**kw)
