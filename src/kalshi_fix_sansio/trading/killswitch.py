"""The kill switch (sans-IO): take every open order of a session off the book, and say when.

A `KillSwitch` is built over one order-entry session's config and its `OrderTracker`. It
decides, per session type, the fastest means Kalshi documents, sends through a callable it is
given, follows the answers, and says at any time what is still open and why:

* **KalshiNR** (both products): one OrderMassCancelRequest (35=q, ``530=6``): it cancels
  every order of the session on every shard, one ExecutionReport each, answered by an
  OrderMassCancelReport (35=r). It is sent even when the tracker knows no open order (a fresh
  process: the exchange may hold orders the tracker never saw).
* **KalshiRT** (no 35=q there): an order group with two or more open tracked orders is
  triggered (OrderGroupRequest 35=UOG action 4: one message cancels all its resting orders;
  the group then refuses new orders until it is Reset); every other open order gets its own
  OrderCancelRequest (35=F).
* **Follow-up**: an order that a 35=q or a trigger was meant to cancel and that is still open
  ``fallback_after`` seconds after the answer (35=r / 35=UOH; or after sending, without one)
  gets its own 35=F; at once when the 35=q or the trigger was refused (35=r ``531=0``, 35=j,
  35=3). Orders that open while the kill runs (an order in flight, a replacement) are
  cancelled the same way. A 35=F refused (35=9, e.g. too late: the order filled) is not sent
  again: the order is either final already (a fill arrives) or listed with Kalshi's answer.
* **Connection down**: nothing can be sent; the kill acts once the session is logged on again
  (the supervisor reconnects), and re-sends what the lost connection left unanswered.
* **Done** when the tracker shows no open order and the 35=q (if one was sent) was answered.
* **Confirmed** (`KillReport.confirmed`) only by the exchange: on KalshiNR the 35=q answered
  ``531=6`` (Kalshi cancelled every order of the key's KalshiNR session, those of earlier
  connections and processes included) with nothing tracked open (and, when asked, a drop-copy
  replay agreeing); never because the tracker is empty. KalshiRT has no 35=q: there the
  exchange confirms each order the tracker knows, and orders it never saw (another process's,
  not restored from its message log) cannot be seen, so the kill is never confirmed there.

A `Driver` emits `KillStarted` when a kill begins and `KillFinished` (with the report) when it
ends, and pressing the switch again while a kill is under way returns that kill (it halts
again if asked); the adapters log both at WARNING.

`KillReport` is the result: what was sent and answered, what is still open and why, whether it
is done. `TradingHalted` is what `kalshi_fix_sansio.client.driver.Driver.send` raises for a new order
or a replace while the driver is halted (``Driver.kill(now, halt=True)``, until
``Driver.rearm()``).

`KillSwitch` reads no clock and does no I/O: every call takes ``now``;
``kalshi_fix_sansio.client.driver.Driver.kill`` runs one over the driver's own session and tracker.
CancelOrdersOnDisconnect(8013) (``SessionConfig.cancel_orders_on_disconnect=True``) is the
exchange-side last line: Kalshi cancels the session's orders when its connection ends, even
when this process cannot send anything any more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol

import attrs

from ..codec import Message
from ..codec.errors import FixError, LocalProtocolError
from ..session.config import SessionConfig
from ..session.events import (
    ApplicationMessage,
    BusinessRejectReceived,
    Event,
    LoggedOn,
    RateLimited,
    RejectReceived,
)
from ..session.ratelimit import RateLimitExceeded
from ._killreport import (
    KillFinished,
    KillReport,
    KillRequest,
    KillStarted,
    OutsideHalt,
    StillOpen,
)
from .builders import Requests
from .gate import HALTED_MSG_TYPES
from .tracker import NOT_FOUND, OrderStatus, OrderTracker, TrackedOrder, says_unknown_order

__all__ = [
    "DEFAULT_FALLBACK_AFTER",
    "HALTED_MSG_TYPES",
    "HaltSource",
    "KillFinished",
    "KillReport",
    "KillRequest",
    "KillStarted",
    "KillSwitch",
    "OutsideHalt",
    "StillOpen",
    "cancels_orders",
]


DEFAULT_FALLBACK_AFTER: Final = 1.0
"""Seconds an order a 35=q or a group trigger was meant to cancel may stay open after the
answer (or, without one, after sending) before it gets its own OrderCancelRequest."""

_RATE_LIMIT_RETRY: Final = 1.0  # seconds to wait after a rate-limit 35=j (Kalshi gives none)


class HaltSource(Protocol):
    """A halt set outside the process that a `Driver <kalshi_fix_sansio.client.driver.Driver>` asks on
    its timer (``Driver(halt_source=...)``), as a session calls its message store: the object
    does its own I/O, the driver reads no clock and does none. A client's
    `HaltFile <kalshi_fix_sansio.trading.haltfile.HaltFile>` is one.

    The driver asks at `start <kalshi_fix_sansio.client.driver.Driver.start>`, then every
    ``interval`` seconds from its timer, never on the per-order path; a new answer becomes its
    outside halt (`OutsideHalt`). A source may also have ``release_request()`` (a `HaltFile`
    has): a new answer lifts the block of unknown order outcomes it names.
    """

    @property
    def interval(self) -> float:
        """Seconds between two looks (> 0)."""
        ...

    def poll(self, now: float) -> str | None:
        """Why trading is halted from outside, or None."""
        ...


def cancels_orders(config: SessionConfig) -> bool:
    """Whether a session of ``config`` can cancel orders (sends 35=F; not a listener)."""
    sends = set(config.spec.send)
    if config.listener_session:
        sends -= set(config.spec.listener_refused)
    return "F" in sends


@attrs.define
class _Request:
    msg_type: str
    ref: str
    sent_at: float
    covers: list[str]
    seq: int | None
    connection: int
    answer: str | None = None
    answered_at: float | None = None
    failed: bool = False  # refused: the orders it covers need their own 35=F at once
    not_found: bool = False  # a 35=F answered "unknown order": the exchange holds no such order


def _code(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


_MAX_CONFIRM_ROUNDS: Final = 3
"""Drop-copy confirmations one kill asks for before it reports what keeps appearing."""


class KillSwitch:
    """Cancel every open order of one session, by the fastest documented means (sans-IO).

    Feed it the session's events (`observe`) and let it send (`advance`) whenever the session
    is logged on; `done` says when nothing is left; `report` says what happened.

    Args:
        config: the session's config (product, session type: what it may send).
        tracker: the session's order tracker (kept current by the caller).
        now: when the kill starts.
        use_groups: trigger order groups where 35=q is not available (KalshiRT).
        fallback_after: see `DEFAULT_FALLBACK_AFTER`.
        halted: whether the caller also halted new orders (reported only).
        halt_reason: why (reported only; `KillReport.halt_reason`).
        confirm: once the tracker shows nothing open, wait for a drop-copy replay to confirm
            it (`confirm_due`, `confirming`, `confirmation`: the driver runs the replay); an
            order the replay reveals open is cancelled too, then it confirms again.

    Raises:
        LocalProtocolError: ``fallback_after`` is not a number >= 0.
    """

    def __init__(
        self,
        config: SessionConfig,
        tracker: OrderTracker,
        now: float,
        *,
        use_groups: bool = True,
        fallback_after: float = DEFAULT_FALLBACK_AFTER,
        halted: bool = False,
        confirm: bool = False,
        halt_reason: str | None = None,
    ) -> None:
        if (
            isinstance(fallback_after, bool)
            or not isinstance(fallback_after, (int, float))
            or not fallback_after >= 0
        ):
            raise LocalProtocolError(f"fallback_after must be seconds >= 0, got {fallback_after!r}")
        self.config, self.tracker = config, tracker
        self.started = now
        self.halted = halted
        self.halt_reason = halt_reason if halted else None
        self.fallback_after = float(fallback_after)
        spec = config.spec
        self.session = f"{config.product}/{config.session_type}"
        sends = set(spec.send) - (set(spec.listener_refused) if config.listener_session else set())
        self.can_cancel = "F" in sends
        self.can_mass_cancel = "q" in sends
        self.can_trigger = use_groups and "UOG" in sends and not self.can_mass_cancel
        self._requests = Requests(
            config.product,
            config.session_type,
            use_dollars=config.use_dollars,
            cl_ord_ids=config.cl_ord_ids,
        )
        self._sent: list[_Request] = []
        self._cover: dict[str, _Request] = {}  # ClOrdID -> the request meant to cancel it
        self._unbuildable: dict[str, str] = {}  # ClOrdID -> why no 35=F can be built
        self._targets: dict[str, None] = {}  # every order the kill meant to cancel, in order
        self._connection = 0  # logons seen since the start
        self._mass_pending = self.can_mass_cancel  # a 35=q is due on this connection
        self._retry_at: float | None = None
        self._down = False  # the last send attempt found the connection down
        self.waited_for_reconnect = False
        self._notes: list[str] = []
        self._triggered: list[str] = []
        self.finished_at: float | None = None
        """When `done` was first seen (and, with ``confirm``, the drop copy answered; None
        before)."""
        self.confirm = confirm
        self._confirm: str | None = None  # None, "due", "waiting", "confirmed", "unconfirmed"
        self._confirm_rounds = 0
        if not self.can_cancel:
            why = "a listener session" if config.listener_session else "this session type"
            self._notes.append(f"{self.session}: {why} cannot send OrderCancelRequest (35=F)")

    # -- state ----------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Nothing open in the tracker, and every 35=q sent was answered."""
        if any(r.msg_type == "q" and r.answer is None for r in self._sent):
            return False
        if self._mass_pending:  # KalshiNR: the exchange may hold orders the tracker never saw
            return False
        return not self.tracker.open_orders()

    def next_deadline(self) -> float | None:
        """When `advance` has something to do that no input will trigger, or None (while the
        connection is down: the next Logon is an input, and nothing can be sent before it; a
        fallback already due would wake the driver at once, over and over, until then)."""
        if self.finished_at is not None or self._down:
            return None
        due: list[float] = []
        if self._retry_at is not None:
            due.append(self._retry_at)
        for order in self.tracker.open_orders():
            request = self._cover.get(order.cl_ord_id)
            if request is not None and request.msg_type != "F" and not request.failed:
                due.append((request.answered_at or request.sent_at) + self.fallback_after)
        return min(due) if due else None

    # -- inputs ---------------------------------------------------------------------------

    def observe(self, event: Event, now: float) -> None:
        """An event of the session (after the tracker has seen it): answers to what the kill
        sent (35=r, 35=UOH, 35=9, 35=j, 35=3) and new logons."""
        if isinstance(event, ApplicationMessage):
            self._application(event.message, now, event.poss_dup)
        elif isinstance(event, BusinessRejectReceived):
            ref = event.business_reject_ref_id
            text = f"35=j {event.text or 'no text'} (BusinessRejectReason {event.reason})"
            for request in self._sent:
                if (
                    request.ref == ref
                    and request.answer is None
                    and request.connection == self._connection
                ):
                    if isinstance(event, RateLimited):
                        self._rate_limited(request, now, text)
                    else:
                        self._refused(request, now, text)
        elif isinstance(event, RejectReceived):
            for request in self._sent:
                if (
                    request.seq is not None
                    and request.seq == event.ref_seq_num
                    and request.connection == self._connection
                    and request.answer is None
                ):
                    self._refused(
                        request, now, f"35=3 {event.text or 'no text'} (reason {event.reason})"
                    )
        elif isinstance(event, LoggedOn):
            self._logged_on(now)
        self._check_done(now)

    def advance(self, now: float, send: Callable[[Message], int], *, connected: bool) -> None:
        """Send what is due now: the 35=q, triggers, 35=F for open orders not covered.

        Args:
            now: the current time.
            send: sends an application message on the session, returning its MsgSeqNum, and
                records an OrderCancelRequest in the tracker (a session whose config has an
                `kalshi_fix_sansio.trading.gate.OrderGate` does: a `Driver`'s has); may raise
                (`RateLimitExceeded`: tried again when the tokens are there; a
                `TransportError`: the connection is down, tried again at the next logon).
            connected: the session is logged on (False: nothing is attempted).
        """
        if self.finished_at is not None:
            return
        if not connected:
            self._down = True
            self._check_done(now)
            return
        if self._retry_at is not None and now < self._retry_at:
            return
        self._retry_at = None
        self._down = False
        open_orders = self.tracker.open_orders()
        for order in open_orders:
            self._targets.setdefault(order.cl_ord_id, None)
        if self._mass_pending:
            covers = [o.cl_ord_id for o in open_orders]
            message = self._requests.mass_cancel()
            cl = str(message.cl_ord_id)  # type: ignore[attr-defined]
            if not self._send(message, "q", cl, covers, now, send):
                return
            self._mass_pending = False
            if self._sent and self._sent[-1].ref == cl:
                self._check_done(now)
                return  # the 35=F follow-ups wait for its answer (or the fallback time)
        due = [o for o in open_orders if self._needs_cancel(o, now)]
        if self.can_trigger:
            left = self._trigger_groups(due, now, send)
            if left is None:
                return
            due = left
        for order in due:
            if not self.can_cancel:
                break
            try:
                message = self._requests.cancel(order)
            except FixError as exc:
                self._unbuildable[order.cl_ord_id] = f"no OrderCancelRequest can be built: {exc}"
                continue
            cl = str(message.cl_ord_id)  # type: ignore[attr-defined]
            if not self._send(message, "F", cl, [order.cl_ord_id], now, send):
                return
        self._check_done(now)

    # -- the report -----------------------------------------------------------------------

    def report(self, now: float) -> KillReport:
        """What was sent, what is final, what is still open and why, as of ``now``."""
        self._check_done(now)
        still: list[StillOpen] = []
        for order in self.tracker.open_orders():
            still.append(
                StillOpen(
                    order.cl_ord_id,
                    order.symbol,
                    order.status,
                    order.leaves_qty,
                    self._why(order, now),
                )
            )
        canceled: list[tuple[str, OrderStatus]] = []
        not_found: list[str] = []
        for cl in self._targets:
            current = self.tracker.current(cl)
            if (
                current is not None
                and current.terminal
                and not any(c == current.cl_ord_id for c, _ in canceled)
            ):
                canceled.append((current.cl_ord_id, current.status))
                rejection = current.rejection
                if rejection is not None and rejection.source == NOT_FOUND:
                    not_found.append(current.cl_ord_id)
        notes = list(self._notes)
        if any(r.msg_type == "q" and r.answer is None for r in self._sent):
            notes.append(
                "the OrderMassCancelRequest was not answered: orders the tracker does not know may be open"
            )
        if self._mass_pending and not self.tracker.open_orders():
            notes.append(
                "the OrderMassCancelRequest was not sent yet: orders the tracker does not know may be open"
            )
        if not self.can_mass_cancel and self.can_cancel:
            notes.append(
                f"{self.session} has no mass cancel: the exchange confirmed each order this "
                "session tracks; orders it never saw (another process's, unless its tracker was "
                "restored from that process's message log) cannot be confirmed: check them on "
                "the drop-copy session or Kalshi's portfolio page"
            )
        return KillReport(
            session=self.session,
            done=self.done,
            started=self.started,
            at=now,
            halted=self.halted,
            sent=tuple(
                KillRequest(r.msg_type, r.ref, r.sent_at, tuple(r.covers), r.answer)
                for r in self._sent
            ),
            canceled=tuple(canceled),
            still_open=tuple(still),
            triggered_groups=tuple(self._triggered),
            waited_for_reconnect=self.waited_for_reconnect,
            notes=tuple(notes),
            confirmed=self.confirmed,
            not_found=tuple(not_found),
            halt_reason=self.halt_reason,
        )

    # -- internals ------------------------------------------------------------------------

    def _send(
        self,
        message: Message,
        msg_type: str,
        ref: str,
        covers: Iterable[str],
        now: float,
        send: Callable[[Message], int],
    ) -> bool:
        """Send one request; False when nothing more can be sent now."""
        try:
            seq = send(message)
        except RateLimitExceeded as exc:
            wait = exc.wait if exc.wait != float("inf") else _RATE_LIMIT_RETRY
            self._retry_at = now + max(wait, 0.001)
            return False
        except LocalProtocolError as exc:  # refused locally: never sendable as it is
            if msg_type == "q":
                self._notes.append(
                    f"the OrderMassCancelRequest was refused locally ({exc}): OrderCancelRequests instead"
                )
            else:
                for cl in covers:
                    self._unbuildable[cl] = f"{msg_type} refused locally: {exc}"
            return True
        except FixError:  # the connection is down (or the session ended): at the next logon
            self._down = True
            self.waited_for_reconnect = True
            return False
        request = _Request(msg_type, ref, now, list(covers), seq, self._connection)
        self._sent.append(request)
        for cl in request.covers:
            self._cover[cl] = request
            self._unbuildable.pop(cl, None)
        return True

    def _needs_cancel(self, order: TrackedOrder, now: float) -> bool:
        """The order has no request under way that is still expected to cancel it."""
        cl = order.cl_ord_id
        if cl in self._unbuildable:
            return False
        request = self._cover.get(cl)
        if request is None:
            return True
        if request.msg_type == "F":
            return False  # answered (refused: not sent again) or awaited
        return (
            request.failed or now >= (request.answered_at or request.sent_at) + self.fallback_after
        )

    def _trigger_groups(
        self, due: list[TrackedOrder], now: float, send: Callable[[Message], int]
    ) -> list[TrackedOrder] | None:
        """Trigger each group holding two or more of ``due`` (never one triggered already);
        returns the orders left for 35=F (None: stop sending now)."""
        by_group: dict[str, list[TrackedOrder]] = {}
        for order in due:
            request = self._cover.get(order.cl_ord_id)
            if order.group_id is not None and (request is None or request.msg_type != "UOG"):
                by_group.setdefault(order.group_id, []).append(order)
        covered: set[str] = set()
        for group_id, orders in by_group.items():
            if len(orders) < 2 or group_id in self._triggered:
                continue
            accounts = {o.alloc_account for o in orders}
            shards = {o.ex_destination for o in orders}
            try:
                message = self._requests.trigger_order_group(
                    group_id,
                    alloc_account=accounts.pop() if len(accounts) == 1 else None,
                    ex_destination=shards.pop()
                    if len(shards) == 1 and self.config.product == "prediction"
                    else None,
                )
            except FixError:
                continue  # not a UUID, or fields the product lacks: 35=F for each
            if not self._send(message, "UOG", group_id, [o.cl_ord_id for o in orders], now, send):
                if self._retry_at is not None or self._down:
                    return None
                continue
            self._triggered.append(group_id)
            covered.update(o.cl_ord_id for o in orders)
        return [o for o in due if o.cl_ord_id not in covered]

    def _application(self, message: Any, now: float, poss_dup: bool) -> None:
        msg_type = message.MSG_TYPE
        if msg_type == "r":
            cl = _code(getattr(message, "cl_ord_id", None))
            for request in self._sent:
                if request.msg_type == "q" and request.ref == cl and request.answer is None:
                    response = _code(getattr(message, "mass_cancel_response", None))
                    request.answered_at = now
                    if response == "6":
                        request.answer = (
                            "35=r MassCancelResponse=6 (the session's orders cancelled)"
                        )
                    else:
                        reason = getattr(message, "mass_cancel_reject_reason", None)
                        self._refused(
                            request,
                            now,
                            f"35=r MassCancelResponse={response} (MassCancelRejectReason {reason})",
                        )
        elif msg_type == "UOH":
            group = _code(getattr(message, "order_group_id", None))
            for request in self._sent:
                if request.msg_type == "UOG" and request.ref == group and request.answer is None:
                    request.answer = "35=UOH (group triggered)"
                    request.answered_at = now
        elif msg_type == "9":
            cl = _code(getattr(message, "cl_ord_id", None))
            for request in self._sent:
                if request.msg_type == "F" and request.ref == cl and request.answer is None:
                    request.answer = (
                        f"35=9 {getattr(message, 'text', None) or 'no text'} "
                        f"(CxlRejReason {_code(getattr(message, 'cxl_rej_reason', None))})"
                    )
                    request.answered_at = now
                    request.failed = True
                    request.not_found = says_unknown_order(message)
        elif msg_type == "8":
            cl = _code(getattr(message, "cl_ord_id", None))
            exec_type = _code(getattr(message, "exec_type", None))
            if exec_type in ("A", "6", "E"):
                return  # a pending report is no answer
            self._reported(message, cl, exec_type, poss_dup)
            for request in self._sent:
                if request.msg_type == "F" and request.ref == cl and request.answer is None:
                    status = _code(getattr(message, "ord_status", None))
                    request.answer = f"35=8 ExecType={exec_type} OrdStatus={status}"
                    request.answered_at = now

    def _reported(self, message: Any, cl: str | None, exec_type: str | None, dup: bool) -> None:
        """A report of an order while the kill runs: one that ended Canceled counts among what
        the kill took off (a 35=q cancels orders the tracker never saw); an order the exchange
        had answered "unknown order" for and now reports open after all gets a 35=F again."""
        orig = _code(getattr(message, "orig_cl_ord_id", None))
        order = self.tracker.current(orig or cl or "")
        if order is None:
            return
        if exec_type == "4" and not dup and order.status is OrderStatus.CANCELED:
            self._targets.setdefault(order.cl_ord_id, None)
        request = self._cover.get(order.cl_ord_id)
        if request is not None and request.not_found and order.is_open:
            del self._cover[order.cl_ord_id]  # the exchange knows it after all: cancel it

    def _refused(self, request: _Request, now: float, text: str) -> None:
        request.answer, request.answered_at, request.failed = text, now, True
        if request.msg_type == "q":
            self._notes.append(
                f"the OrderMassCancelRequest was refused ({text}): OrderCancelRequests follow"
            )
        elif request.msg_type == "UOG":
            self._notes.append(
                f"the trigger of order group {request.ref} was refused ({text}): OrderCancelRequests follow"
            )
            if request.ref in self._triggered:
                self._triggered.remove(request.ref)

    def _rate_limited(self, request: _Request, now: float, text: str) -> None:
        """Kalshi's rate limit refused it: send it again later."""
        self._notes.append(
            f"{request.msg_type} {request.ref} was rate limited by Kalshi ({text}); sent again"
        )
        self._sent.remove(request)
        for cl in request.covers:
            if self._cover.get(cl) is request:
                del self._cover[cl]
        if request.msg_type == "q":
            self._mass_pending = True
        elif request.msg_type == "UOG" and request.ref in self._triggered:
            self._triggered.remove(request.ref)
        self._retry_at = now + _RATE_LIMIT_RETRY

    def _logged_on(self, now: float) -> None:
        """A new connection: what the last one left unanswered is sent again."""
        if self._down:
            self.waited_for_reconnect = True
        self._connection += 1
        lost = [r for r in self._sent if r.answer is None]
        for request in lost:
            request.answer = "no answer: the connection was lost"
            for cl in request.covers:
                if self._cover.get(cl) is request:
                    del self._cover[cl]
        if lost:
            self._notes.append(
                f"the connection was lost with {len(lost)} request(s) unanswered: sent again"
            )
        if any(r.msg_type == "q" for r in lost):
            self._mass_pending = True  # its answer was lost with the connection: ask again

    @property
    def confirm_due(self) -> bool:
        """Nothing is open in the tracker: a drop-copy replay should confirm it now."""
        return self._confirm == "due"

    @property
    def confirmed(self) -> bool | None:
        """The exchange confirmed nothing of the session is open (True), cannot (False), or
        not yet (None): see `KillReport.confirmed`."""
        if self._confirm == "unconfirmed":
            return False
        if not self.can_mass_cancel:
            return False if self.done else None
        answers = [r for r in self._sent if r.msg_type == "q" and r.answer is not None]
        if any(r.failed for r in answers) and not any(not r.failed for r in answers):
            return False if self.done else None
        if not self.done or (self.confirm and self._confirm not in ("confirmed", "skipped")):
            return None
        return True

    @property
    def means(self) -> str:
        """How this kill takes the orders off, in words."""
        if self.can_mass_cancel:
            return "one OrderMassCancelRequest (35=q) for the key's whole KalshiNR session"
        if self.can_trigger:
            return "order-group triggers (35=UOG) and OrderCancelRequests (35=F)"
        if self.can_cancel:
            return "OrderCancelRequests (35=F)"
        return "nothing: this session cannot cancel orders"

    def confirming(self) -> None:
        """The replay that confirms the kill was requested."""
        self._confirm = "waiting"
        self._confirm_rounds += 1

    def confirmation(self, ok: bool, note: str, now: float, *, replayed: bool = True) -> None:
        """The confirming replay ended: ``ok`` when Kalshi replayed everything (the tracker
        took it); ``note`` says how it went. An order it revealed open is cancelled next, then
        the kill confirms again (at most three rounds). ``replayed=False``: there was nothing
        to replay from (no ExecutionReport seen yet): noted, and the 35=q's answer stands."""
        if self._confirm != "waiting" and self._confirm != "due":
            return
        if not replayed:
            self._confirm = "skipped"
            self._notes.append(f"no drop-copy confirmation: {note}")
            self._check_done(now)
            return
        if ok and self.tracker.open_orders():
            self._notes.append(f"the drop copy showed open orders the tracker had not seen: {note}")
            if self._confirm_rounds < _MAX_CONFIRM_ROUNDS:
                self._confirm = None  # cancel them, then confirm again
                return
            ok, note = False, "orders kept appearing in the drop copy's replays"
        self._confirm = "confirmed" if ok else "unconfirmed"
        self._notes.append(
            f"drop copy confirmed nothing open: {note}"
            if ok
            else f"drop copy could not confirm: {note}"
        )
        self._check_done(now)

    def _check_done(self, now: float) -> None:
        if self.finished_at is not None or not self.done:
            return
        if self.confirm and self._confirm is None:
            self._confirm = "due"
        if self.confirm and self._confirm in ("due", "waiting"):
            return
        self.finished_at = now

    def _why(self, order: TrackedOrder, now: float) -> str:
        cl = order.cl_ord_id
        if cl in self._unbuildable:
            return self._unbuildable[cl]
        request = self._cover.get(cl)
        if request is None:
            if not self.can_cancel:
                return f"{self.session} cannot cancel orders: cancel it from an order-entry session"
            if self._down:
                return "nothing sent yet: the connection is down (waiting for the reconnect)"
            if self._retry_at is not None:
                return f"nothing sent yet: rate limited until {self._retry_at - now:+.3f} s"
            return "nothing sent yet"
        age = now - request.sent_at
        name = {
            "q": "OrderMassCancelRequest",
            "UOG": "order group trigger",
            "F": "OrderCancelRequest",
        }[request.msg_type]
        if request.answer is None:
            return f"{name} {request.ref} sent {age:.3f} s ago: no answer yet"
        if request.msg_type == "F" and request.not_found:
            return (
                f"{name} {request.ref} answered {request.answer}: the exchange holds no such "
                "open order, but it acknowledged this one earlier, so it ended (filled or "
                "canceled) without a report this session saw; a drop-copy replay or Kalshi's "
                "portfolio page says how"
            )
        if request.msg_type == "F":
            return f"{name} {request.ref} answered {request.answer}"
        return (
            f"{name} {request.ref} answered {request.answer}, but no Canceled report for this order "
            f"yet (its own OrderCancelRequest follows {self.fallback_after:g} s after the answer)"
        )
