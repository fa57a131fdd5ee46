"""The order desk of a driver: what one session's events do to its orders and books.

`OrderDesk` is the part of `kalshi_fix_sansio.client.driver.Driver` that knows about trading. The
driver hands it every event the supervisor produces, in order, as the bytes are read; the desk

* feeds the `OrderTracker` and, on market-data sessions, the `Books`, and lets the `OrderGate`
  remember the quotes and RFQs it judges quote messages by (a bug there becomes a
  `TrackingFailed` event, never a lost message);
* runs drop-copy catch-up (`CatchUp`) after each Logon, marks the replayed reports the tracker
  had already seen as PossDup, and names (`OrdersUnknown`) or settles (`OrdersNotReceived`)
  the orders that were in flight when the connection was lost;
* says when a 35=9 proved an order was never live (`OrderNotFound`: the tracker ended it),
  and when a report's CumQty showed a fill the tracker never saw (`FillInferred`: counted);
* asks the exchange how orders of unknown outcome ended, a cancel each, when the driver
  says so (`ask_unknown`; `kalshi_fix_sansio.trading.outcomes`), and settles them by the
  answers;
* drives the kill switch under way (`KillSwitch`): its follow-ups, its confirmation by the
  drop copy, its `KillStarted` / `KillFinished` events.

It reads no clock and does no I/O: it sends through the supervisor and hands events back to
the driver through two callables, ``emit`` (a notice: counted, observed and queued) and ``put``
(an application message: queued). The driver owns the queue and the loop's rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

import attrs

from ..codec import Message, UnknownMessage, convert_now
from ..codec.errors import FixError, LocalProtocolError
from ..observability.metrics import SessionMetrics
from ..session.config import SessionConfig
from ..session.events import (
    ApplicationMessage,
    BusinessRejectReceived,
    Event,
    LoggedOn,
    RejectReceived,
)
from ..session.store import StoreError
from ..trading import naming_order
from ..trading.book import Books
from ..trading.catchup import (
    NOT_RECEIVED_AFTER_REPLAY,
    UNKNOWN_AFTER_FAILED_CATCH_UP,
    UNKNOWN_AFTER_REPLAY,
    UNKNOWN_AFTER_RESTART,
    UNKNOWN_RESTORED,
    CatchUp,
    CatchUpComplete,
    CatchUpFailed,
    OrdersNotReceived,
    OrdersUnknown,
)
from ..trading.gate import OrderGate
from ..trading.killswitch import KillFinished, KillStarted, KillSwitch
from ..trading.outcomes import OutcomeQuery
from ..trading.tracker import OrderNotFound, OrderRejected, OrderStatus, OrderTracker, TrackedOrder
from ._queue import BOOK_TYPES, TrackingFailed
from .supervisor import Disconnected, Reconnected, Supervisor, SupervisorState

__all__ = ["OrderDesk", "OrderWaiter", "cl_ord_id"]

_CL_ORD_ID: Final = re.compile(rb"\x0111=([^\x01]+)\x01")  # a stored frame's ClOrdID
_QUOTE_TYPES: Final = frozenset({"S", "R", "AI"})  # what the gate remembers to judge quotes

Emit = Callable[[Event, float], None]


class OrderWaiter:
    """The answer ``place`` / ``cancel`` wait for: request ``request``'s, about order ``target``.

    The driver settles it as the reports are read: `done` turns True and `outcome` returns a
    snapshot of the order (``until="ack"``: acknowledged by Kalshi or already final;
    ``"filled"``: final (filled, canceled, expired or replaced, following the replace chain);
    ``"answer"``, for a cancel: an ExecutionReport carried the request's ClOrdID), or raises
    `OrderRejected` once Kalshi rejected the request (ExecutionReport 150=8, OrderCancelReject
    35=9 or BusinessMessageReject 35=j with BusinessRejectRefID = the request's ClOrdID), or
    a drop-copy replay proved the exchange never received it (`OrdersNotReceived`), or a 35=9
    answering a cancel of it said the exchange does not know it (`OrderNotFound`).

    Attributes:
        request: the ClOrdID of the request waited for.
        target: the ClOrdID of the order it is about.
        until: ``"ack"``, ``"filled"`` or ``"answer"``.
        done: settled (`outcome` returns or raises).
    """

    __slots__ = ("_order", "_rejected", "done", "request", "target", "until")

    def __init__(self, request: str, target: str, until: str) -> None:
        self.request, self.target, self.until = request, target, until
        self.done = False
        self._order: TrackedOrder | None = None
        self._rejected: OrderRejected | None = None

    def outcome(self) -> TrackedOrder:
        """The order's snapshot once settled.

        Raises:
            OrderRejected: Kalshi rejected the request.
            LocalProtocolError: not settled yet.
        """
        if self._rejected is not None:
            raise self._rejected
        if self._order is None:
            raise LocalProtocolError(f"the answer to {self.request} has not come yet")
        return self._order

    def timeout_error(self, timeout: float | None) -> TimeoutError:
        """What a wait that gave up after ``timeout`` seconds raises."""
        what = {"ack": "acknowledgement", "answer": "answer"}.get(self.until, "final state")
        return TimeoutError(f"no {what} of {self.request} within {timeout:g} s (still tracked)")

    def settle(self, tracker: OrderTracker) -> bool:
        """Look at ``tracker`` again; True once settled (the driver calls it)."""
        rejection = tracker.rejection(self.request)
        if rejection is not None:
            self._rejected = OrderRejected(rejection)
            self.done = True
            return True
        if self.until == "ack":
            order = tracker.order(self.target)
            done = order is not None and (order.acknowledged or order.terminal)
        elif self.until == "answer":
            order = tracker.current(self.target)
            done = tracker.answered(self.request)
        else:
            order = tracker.current(self.target)
            done = order is not None and order.terminal
        if done and order is not None:
            self._order = order.snapshot()
            self.done = True
        return self.done


def cl_ord_id(message: Message) -> str:
    """The ClOrdID of an order or cancel message (`LocalProtocolError` when it has none)."""
    cl = getattr(message, "cl_ord_id", None)
    if cl is None:
        kind = message.MSG_TYPE or getattr(message, "msg_type", "")
        text = f"{type(message).__name__} (35={kind}) has no ClOrdID"
        if isinstance(message, UnknownMessage):
            text += (
                ": an Unknown message carries its fields only in extra_fields; build the "
                f"message class of 35={kind} from kalshi_fix_sansio.codec.prediction or .margin"
            )
        raise LocalProtocolError(text)
    return str(cl)


class OrderDesk:
    """Tracker, books, gate memory, catch-up and kill switch of one driver (see the module)."""

    def __init__(
        self,
        config: SessionConfig,
        supervisor: Supervisor,
        gate: OrderGate,
        metrics: SessionMetrics,
        catch_up: CatchUp | None,
        *,
        emit: Emit,
        put: Emit,
    ) -> None:
        self.config = config
        self.supervisor = supervisor
        self.gate = gate
        self.tracker: OrderTracker = gate.tracker
        self.metrics = metrics
        self.catch_up = catch_up
        self.books: Books | None = Books() if "W" in config.spec.receive else None
        self.kill: KillSwitch | None = None  # the kill switch under way
        self._emit = emit
        self._put = put
        self._waiters: list[OrderWaiter] = []  # what place() / cancel() wait for
        self._in_flight: tuple[str, ...] = ()  # unacknowledged orders at a catch-up's Logon
        # orders a replay cannot settle, with why: named unknown by a failed catch-up, or
        # restored from the log; the replay's cursor may be past their reports (seen on a later
        # connection, or by the process before)
        self._carried: dict[str, str] = {}
        self._dialect: Any = None
        self.outcomes = OutcomeQuery(config)
        """The cancels asking how orders of unknown outcome ended (`ask_unknown`)."""

    # -- what the driver asks --------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest of the catch-up round's and the kill switch's deadlines, or None."""
        deadline = None
        catch_up = self.catch_up
        if catch_up is not None:
            deadline = catch_up.deadline
        if self.kill is not None and (due := self.kill.next_deadline()) is not None:
            if deadline is None or due < deadline:
                deadline = due
        return deadline

    def advance(self, now: float) -> None:
        """After the events of an input: the kill switch's follow-ups, a catch-up timeout."""
        if self.kill is not None:
            self._drive_kill(now)
        catch_up = self.catch_up
        if catch_up is not None and catch_up.deadline is not None and now >= catch_up.deadline:
            self._catch_up_result(catch_up.timed_out(now), now)
        if self._waiters:
            tracker = self.tracker
            self._waiters = [w for w in self._waiters if not w.settle(tracker)]

    # -- the answers place / cancel wait for ------------------------------------------------

    def order_waiter(self, message: Message, until: str = "ack") -> OrderWaiter:
        """See `Driver.order_waiter <kalshi_fix_sansio.client.driver.Driver.order_waiter>`."""
        kind = message.MSG_TYPE or getattr(message, "msg_type", "")  # an Unknown's own
        if kind == "F":
            orig = getattr(message, "orig_cl_ord_id", None)
            if orig is None:
                raise LocalProtocolError("the OrderCancelRequest has no OrigClOrdID")
            waiter = OrderWaiter(cl_ord_id(message), str(orig), "answer")
        else:
            if until not in ("ack", "filled"):
                raise LocalProtocolError(f"until must be 'ack' or 'filled', got {until!r}")
            if kind not in ("D", "G"):
                raise LocalProtocolError(
                    f"place sends a NewOrderSingle or OrderCancelReplaceRequest, not 35={kind}"
                )
            cl = cl_ord_id(message)
            waiter = OrderWaiter(cl, cl, until)
        if not waiter.settle(self.tracker):
            self._waiters.append(waiter)
        return waiter

    def forget(self, waiter: OrderWaiter) -> None:
        """Stop settling ``waiter`` (its wait gave up)."""
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    # -- events ----------------------------------------------------------------------------

    def apply(self, event: ApplicationMessage, now: float) -> None:
        """An application message: queued, then fed to the tracker, the books and catch-up."""
        message = event.message
        msg_type = message.MSG_TYPE
        counts = self.metrics.messages_in
        counts[msg_type] = counts.get(msg_type, 0) + 1
        if msg_type == "8":
            self._report(event, message, now)
        elif msg_type in BOOK_TYPES and self.books is not None:
            self._put(event, now)
            try:  # the tracker takes no book message; its updates are not read here
                self.books._take(message)
            except Exception as exc:  # a bug there must not stop the session or lose the message
                self._emit(TrackingFailed(f"{type(exc).__name__}: {exc}"), now)
        else:
            self._other(event, message, msg_type, now)
        if self.kill is not None:
            self.kill.observe(event, now)

    def read_book(self, event: ApplicationMessage, now: float) -> bool:
        """`apply` and `advance` of a market-data session's book message (35=W / 35=X) when
        the queue and the books are all they do (no kill switch, catch-up or order waiter to
        follow): True; False: not such a message or desk, nothing done.

        `apply`'s branch of a book message, its own steps in its order (counted, queued, fed
        to the books), written out: with no kill switch there is nothing after it."""
        message = event.message
        msg_type = message.MSG_TYPE
        books = self.books
        if (
            books is None
            or self.kill is not None
            or self.catch_up is not None
            or self._waiters
            or msg_type not in BOOK_TYPES
        ):
            return False
        counts = self.metrics.messages_in
        counts[msg_type] = counts.get(msg_type, 0) + 1
        self._put(event, now)
        try:  # as in `apply`
            books._take(message)
        except Exception as exc:
            self._emit(TrackingFailed(f"{type(exc).__name__}: {exc}"), now)
        return True

    def notice(self, event: Event, now: float) -> None:
        """An event other than an application message (already queued by the driver)."""
        if self.kill is not None:
            self.kill.observe(event, now)
        if isinstance(event, BusinessRejectReceived):  # a 35=j names a request it refused
            try:
                self.tracker.on_event(self._named(event))
            except Exception as exc:  # as in `apply`: never stop the session for it
                self._emit(TrackingFailed(f"{type(exc).__name__}: {exc}"), now)
        if isinstance(event, LoggedOn):
            if event.reset_seq_nums:
                self.gate.renumbered()
            if self.supervisor.connections == 1:  # a reconnect's catch-up follows Reconnected
                self._logged_on(now, reconnect=False)
        elif isinstance(event, Reconnected):
            self._logged_on(now, reconnect=True)
        elif self.catch_up is not None:
            if isinstance(event, Disconnected):
                self._catch_up_result(self.catch_up.connection_lost(), now)
            elif isinstance(event, (RejectReceived, BusinessRejectReceived)):
                self._catch_up_result(self.catch_up.observe(event), now)

    def _named(self, event: BusinessRejectReceived) -> BusinessRejectReceived:
        """``event`` with the ClOrdID of the order it refused as its BusinessRejectRefID when
        Kalshi named that order by RefSeqNum alone (`naming_order`)."""
        if event.business_reject_ref_id is not None or event.ref_msg_type not in ("D", "G"):
            return event
        cl = self.gate.sent_as(event.ref_seq_num)
        if cl is None:
            cl = self._stored_as(event.ref_seq_num)
        if cl is None:
            return event
        message = naming_order(event.message, cl)
        return attrs.evolve(event, business_reject_ref_id=cl, message=message)

    def _stored_as(self, seq: int | None) -> str | None:
        """The ClOrdID of the message the session's store holds as MsgSeqNum ``seq``: KalshiRT's
        numbers and store go on across a restart, and a reject Kalshi resends to the restarted
        process names an order its gate never saw go out (found by the simulation, seed 2304)."""
        session = self.supervisor.session
        if session is None or not isinstance(seq, int) or seq < 1:
            return None
        try:
            stored = session.store.get(seq, seq)
        except StoreError:  # an unreadable store names nothing (the reject stays as it came)
            return None
        found = _CL_ORD_ID.search(stored[0][1]) if stored else None
        return found.group(1).decode("ascii", "replace") if found else None

    def _other(self, event: ApplicationMessage, message: Any, msg_type: str, now: float) -> None:
        never_live: TrackedOrder | None = None
        if msg_type == "9":
            convert_now(message)  # the metrics and the tracker read most of it
            self.metrics.on_answer(message, msg_type, now)
            try:  # an order the exchange does not know, ended by this 35=9: said after
                never_live = self.tracker.not_found_target(message)
            except Exception as exc:  # as below: never stop the session for it
                self._emit(TrackingFailed(f"{type(exc).__name__}: {exc}"), now)
        elif msg_type in _QUOTE_TYPES:
            try:  # quotes and RFQs the gate judges the quote messages by
                self.gate.observe(message)
            except Exception as exc:  # never stop the session or lose the message for it
                self._emit(TrackingFailed(f"{type(exc).__name__}: {exc}"), now)
        self._put(event, now)
        try:
            self.tracker.on_event(event)
        except Exception as exc:  # a bug there must not stop the session or lose the message
            self._emit(TrackingFailed(f"{type(exc).__name__}: {exc}"), now)
            return
        if never_live is not None and never_live.status is OrderStatus.REJECTED:
            request = cl_ord_id(message)
            self._emit(OrderNotFound(never_live.cl_ord_id, request, message.text), now)
        if msg_type == "9" and self.outcomes.asking:  # the answer to a question asked
            self._answered(message, now)
        if self.catch_up is not None:
            self._catch_up_result(self.catch_up.observe(event), now)

    def _report(self, event: ApplicationMessage, message: Any, now: float) -> None:
        """An ExecutionReport, converted at once (its readers read most of it). During a
        catch-up, a replayed report the tracker has seen already is queued with
        ``poss_dup=True``: the application sees each report once as new."""
        convert_now(message)
        self.metrics.on_answer(message, "8", now)
        catch_up = self.catch_up
        new: bool | None = None
        if catch_up is not None and catch_up.active:  # a round under way
            exec_id = getattr(message, "exec_id", None)
            new = isinstance(exec_id, str) and not self.tracker.has_exec_id(exec_id)
            if not new and not event.poss_dup:
                event = attrs.evolve(event, poss_dup=True)
        self._put(event, now)
        tracker = self.tracker
        try:
            tracker.on_event(event)  # the risk checks' counts follow (`open_counts`)
        except Exception as exc:  # a bug there must not stop the session or lose the message
            self._emit(TrackingFailed(f"{type(exc).__name__}: {exc}"), now)
            return
        if tracker.inferred:  # a fill the tracker did not see, inferred from CumQty: said
            for inferred in tracker.inferred:
                self._emit(inferred, now)
            tracker.inferred.clear()
        if catch_up is None:
            return
        exec_id = getattr(message, "exec_id", None)
        if new is None and exec_id.__class__ is str:  # no round: `CatchUp.report`'s cursor
            catch_up.cursor.observe(exec_id)
        else:  # no round ends on a report: its part of `observe`, directly
            catch_up.report(exec_id, new)

    # -- unknown outcomes ------------------------------------------------------------------

    def ask_unknown(self, cl_ord_ids: tuple[str, ...], now: float) -> None:
        """Ask the exchange how these orders ended (a cancel each: `OutcomesAsked`); those that
        cannot be asked now (not logged on) are asked at the next Logon."""
        sup = self.supervisor
        asked = self.outcomes.ask(self.tracker, cl_ord_ids, lambda m: sup.send(m, now))
        if asked is not None:
            self._emit(asked, now)

    def _answered(self, message: Any, now: float) -> None:
        """A 35=9 read: what it settles of an order asked about (a fill learned: `FillInferred`;
        or `FillsUnknown`)."""
        tracker = self.tracker
        try:
            settled = self.outcomes.answer(tracker, message)
        except Exception as exc:  # as in `apply`: never stop the session for it
            self._emit(TrackingFailed(f"{type(exc).__name__}: {exc}"), now)
            return
        if settled is not None:
            self._emit(settled, now)
        if tracker.inferred:
            for inferred in tracker.inferred:
                self._emit(inferred, now)
            tracker.inferred.clear()

    # -- catch-up --------------------------------------------------------------------------

    def _logged_on(self, now: float, *, reconnect: bool) -> None:
        if self.outcomes.due:  # asked before, when the session could not send
            self.ask_unknown((), now)
        catch_up, sup = self.catch_up, self.supervisor
        if catch_up is None or sup.session is None:
            return
        tracker = self.tracker
        begin, problem = catch_up.plan(reconnect=reconnect, orders=len(tracker) > 0)
        if problem is not None:
            self._emit(problem, now)
        self._in_flight = tuple(o.cl_ord_id for o in tracker.open_orders() if not o.acknowledged)
        if reconnect:
            self._carried = {cl: self._carried[cl] for cl in self._in_flight if cl in self._carried}
        else:  # restored: sent by the process before
            self._carried = dict.fromkeys(self._in_flight, UNKNOWN_RESTORED)
        if isinstance(problem, CatchUpFailed) and self._in_flight:  # nothing will settle them
            self._name_in_flight(now)
        if not begin:
            unknown = tuple(o.cl_ord_id for o in tracker.open_orders())
            if unknown and not reconnect and problem is None:  # restored, no ExecID to replay
                self._emit(OrdersUnknown(unknown, UNKNOWN_AFTER_RESTART), now)
            return
        requests = self.request_replay(now, begin)
        if requests:
            self._emit(catch_up.started(requests, now), now)

    def request_replay(
        self, now: float, begin: list[tuple[int, str]]
    ) -> dict[int, tuple[int, str]]:
        """Send one EventResendRequest per (exchange index, BeginExecID); what was sent, by
        MsgSeqNum (a refused send is reported as `CatchUpFailed`)."""
        if self._dialect is None:
            from ..codec import margin, prediction

            self._dialect = prediction if self.config.product == "prediction" else margin
        requests: dict[int, tuple[int, str]] = {}
        for index, exec_id in begin:
            request = self._dialect.EventResendRequest(begin_exec_id=exec_id)
            try:
                seq = self.supervisor.send(request, now)
            except FixError as exc:
                failed = CatchUpFailed(
                    f"could not request the replay from {exec_id}: {exc}",
                    exchange_index=index,
                    begin_exec_id=exec_id,
                )
                self._emit(failed, now)
                continue
            requests[seq] = (index, exec_id)
        return requests

    def _catch_up_result(self, event: Event | None, now: float) -> None:
        """A catch-up round's event: queued, then the orders in flight at the Logon settled or
        named, and a kill switch waiting for the drop copy's confirmation told (a round lost
        with the connection or late is asked again at the next Logon, whose answer confirms)."""
        if event is None:
            return
        self._emit(event, now)
        if isinstance(event, CatchUpComplete) and self._in_flight:
            self._settle_in_flight(event, now)
        elif isinstance(event, CatchUpFailed) and self._in_flight:
            self._name_in_flight(now)
        kill = self.kill
        if kill is None or kill.confirmed is not None or not kill.confirm:
            return
        if isinstance(event, CatchUpComplete):
            kill.confirmation(True, f"{event.replayed} report(s) replayed since the cursor", now)
        elif isinstance(event, CatchUpFailed) and (
            event.exchange_index is not None or event.code is not None
        ):
            kill.confirmation(False, event.reason, now)

    def _name_in_flight(self, now: float) -> None:
        """The orders in flight at the drop still unanswered when the catch-up failed: named
        (nothing says whether the exchange has them; they were silent before)."""
        tracker = self.tracker
        pending = [tracker.order(cl) for cl in self._in_flight]
        self._in_flight = ()
        unknown = tuple(
            o.cl_ord_id for o in pending if o is not None and not o.acknowledged and not o.terminal
        )
        if unknown:
            self._carried.update(dict.fromkeys(unknown, UNKNOWN_AFTER_FAILED_CATCH_UP))
            self._emit(OrdersUnknown(unknown, UNKNOWN_AFTER_FAILED_CATCH_UP), now)

    def _settle_in_flight(self, done: CatchUpComplete, now: float) -> None:
        """Orders sent before the connection was lost and still unanswered after a complete
        replay: an order whose exchange index the replay covered never reached the exchange
        (its report, had there been one, comes after the cursor on that index) and ends
        REJECTED; the others (auto-routed to an index the replay may not cover) are named. An
        order named unknown by an earlier failed catch-up, or restored from the log, is named
        again: reports seen since (on a later connection, or by the process before) may have
        moved the replay's start past its own."""
        tracker = self.tracker
        pending = [tracker.order(cl) for cl in self._in_flight]
        self._in_flight = ()
        lost = [o for o in pending if o is not None and not o.acknowledged and not o.terminal]
        carried = self._carried
        for reason in dict.fromkeys(carried[o.cl_ord_id] for o in lost if o.cl_ord_id in carried):
            named = tuple(o.cl_ord_id for o in lost if carried.get(o.cl_ord_id) == reason)
            self._emit(OrdersUnknown(named, reason), now)
        lost = [o for o in lost if o.cl_ord_id not in carried]
        settled = tuple(o.cl_ord_id for o in lost if self._index_of(o) in done.begin_exec_ids)
        if settled:
            for cl in settled:
                tracker.not_received(cl, NOT_RECEIVED_AFTER_REPLAY)
            self._emit(OrdersNotReceived(settled, dict(done.begin_exec_ids)), now)
        unknown = tuple(o.cl_ord_id for o in lost if o.cl_ord_id not in settled)
        if unknown:
            self._emit(OrdersUnknown(unknown, UNKNOWN_AFTER_REPLAY), now)

    def _index_of(self, order: TrackedOrder) -> int | None:
        """The exchange index an order was routed to, when known before any report: margin
        routes every order to index 0; a prediction order names it in ExDestination(100)."""
        if self.config.product == "margin":
            return 0
        index = order.ex_destination
        return index if index is not None and index >= 0 else None

    # -- the kill switch -------------------------------------------------------------------

    def start_kill(self, kill: KillSwitch, now: float) -> None:
        """A new kill switch: announced, then driven at once."""
        self.kill = kill
        opened = tuple(o.cl_ord_id for o in self.tracker.open_orders())
        self._emit(KillStarted(kill.session, opened, kill.halted, kill.means), now)
        self._drive_kill(now)

    def _drive_kill(self, now: float) -> None:
        """Let the kill switch under way send what is due; forget it once done."""
        kill = self.kill
        if kill is None:
            return
        sup = self.supervisor
        connected = sup.state is SupervisorState.ACTIVE and sup.session is not None
        kill.advance(now, lambda message: sup.send(message, now), connected=connected)
        if kill.confirm_due and connected:
            self._confirm_kill(kill, now)
        if kill.finished_at is not None or sup.finished:
            self.kill = None
            self._emit(KillFinished(kill.report(now)), now)

    def _confirm_kill(self, kill: KillSwitch, now: float) -> None:
        """Ask the drop copy to confirm that nothing is open (a replay from the cursor)."""
        catch_up = self.catch_up
        assert catch_up is not None
        if catch_up.active:  # a round under way: its answer confirms
            kill.confirming()
            return
        begin = sorted(catch_up.cursor)
        if not begin:
            kill.confirmation(False, "nothing to replay from, no report seen", now, replayed=False)
            return
        requests = self.request_replay(now, begin)
        if not requests:
            kill.confirmation(False, "the EventResendRequest could not be sent", now)
            return
        kill.confirming()
        self._emit(catch_up.started(requests, now, reason="confirming the kill switch"), now)
