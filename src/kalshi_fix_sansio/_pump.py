"""The rules of an adapter's loop, sans-IO: what every adapter used to decide for itself.

`LoopRules` is the part of the `Driver <kalshi_fix_sansio.driver.Driver>` that answers an event
loop's questions (the driver subclasses it; this module is private, its public names are
re-exported by `kalshi_fix_sansio.driver`):

* **the slow peer**: the adapter reports how many bytes wait in its write buffer
  (`LoopRules.write_buffered`); past ``max_buffered`` bytes, or bytes still waiting
  ``write_timeout`` seconds after they began to, the driver counts the connection as lost
  (``wants_transport`` turns False: the adapter closes it);
* **deadline re-arming**: before it sleeps the adapter calls `LoopRules.sleeping` (the
  deadline to sleep until) or `LoopRules.sleep_for` (how many seconds to wait at most, its
  caller's own limit included, and at most the unread-event lag while reads may queue
  events, so that reading one never needs a wake-up); after an input from elsewhere
  `LoopRules.wake_needed` says whether the driver now needs a wake-up sooner than the one
  armed; once awake, `LoopRules.woke` fires the timers if that deadline has come;
* **connecting**: with no connection open, `LoopRules.connect_in` says connect now, rest so
  many seconds, or stop (finished); after a write, `LoopRules.wrote` says whether the bytes
  the socket did not take are still to be written;
* **the answers `place` / `cancel` wait for**: `LoopRules.order_waiter` registers an
  `OrderWaiter`, which the driver settles as the reports are read (an ExecutionReport, an
  OrderCancelReject, a BusinessMessageReject);
* **rate pacing**: `LoopRules.offer` sends a message now or says how long until the rate
  limiter can take it.

The module reads no clock and does no I/O: ``now`` is passed in.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from ._message import Message
from .errors import LocalProtocolError
from .tracker import OrderRejected, OrderTracker, TrackedOrder

if TYPE_CHECKING:
    from .session import Session
    from .supervisor import Supervisor

__all__ = ["DEFAULT_MAX_BUFFERED", "LoopRules", "OrderWaiter"]

DEFAULT_MAX_BUFFERED: Final = 8 * 1024 * 1024
"""Default most bytes waiting for a peer that does not read before the connection counts as
lost (``adapters.MAX_BUFFERED_OUTBOUND``)."""


class OrderWaiter:
    """The answer ``place`` / ``cancel`` wait for: request ``request``'s, about order ``target``.

    The driver settles it as the reports are read: `done` turns True and `outcome` returns a
    snapshot of the order (``until="ack"``: acknowledged by Kalshi or already final;
    ``"filled"``: final (filled, canceled, expired or replaced, following the replace chain);
    ``"answer"``, for a cancel: an ExecutionReport carried the request's ClOrdID), or raises
    `OrderRejected` once Kalshi rejected the request (ExecutionReport 150=8, OrderCancelReject
    35=9 or BusinessMessageReject 35=j with BusinessRejectRefID = the request's ClOrdID), or
    a drop-copy replay proved the exchange never received it (`OrdersNotReceived`).

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


def _cl_ord_id(message: Message) -> str:
    cl = getattr(message, "cl_ord_id", None)
    if cl is None:
        raise LocalProtocolError(f"35={message.MSG_TYPE} has no ClOrdID")
    return str(cl)


class LoopRules:
    """The loop's rules the `Driver <kalshi_fix_sansio.driver.Driver>` answers (see the module
    docstring); the driver calls `_loop_input` after every input."""

    supervisor: Supervisor
    tracker: OrderTracker
    write_timeout: float | None
    max_buffered: int

    def _init_loop(self, write_timeout: float | None, max_buffered: int) -> None:
        if write_timeout is not None and not write_timeout > 0:
            raise LocalProtocolError(f"write_timeout must be > 0 seconds, got {write_timeout!r}")
        self.write_timeout = write_timeout
        """Seconds bytes may wait for the peer before the connection counts as lost (None:
        no limit)."""
        self.max_buffered = max_buffered
        """Most bytes that may wait for the peer before the connection counts as lost."""
        self._stuck_since: float | None = None  # when bytes began to wait for the peer
        self._armed = -math.inf  # the deadline the adapter sleeps until (-inf: not sleeping)
        self._waiters: list[OrderWaiter] = []

    # what the driver provides
    @property
    def session(self) -> Session | None:
        raise NotImplementedError  # pragma: no cover

    def next_deadline(self) -> float | None:
        raise NotImplementedError  # pragma: no cover

    def send(self, message: Message, now: float, *, resubscribe: bool = False) -> int:
        raise NotImplementedError  # pragma: no cover

    def check(self, message: Message) -> None:
        raise NotImplementedError  # pragma: no cover

    def _pump(self, now: float) -> None:
        raise NotImplementedError  # pragma: no cover

    @property
    def wants_transport(self) -> bool:
        raise NotImplementedError  # pragma: no cover

    def _lag_bound(self) -> float | None:
        """Seconds after which an event queued now would be due to be reported unread (None:
        reads queue nothing that falls due): `sleep_for` sleeps no longer."""
        return None

    @property
    def finished(self) -> bool:
        raise NotImplementedError  # pragma: no cover

    @property
    def connect_at(self) -> float | None:
        raise NotImplementedError  # pragma: no cover

    def handle_timer(self, now: float) -> None:
        raise NotImplementedError  # pragma: no cover

    # -- the slow peer -------------------------------------------------------------------------

    def write_buffered(self, size: int, now: float) -> None:
        """The adapter's write buffer holds ``size`` bytes the peer has not taken yet (0: all
        written). Over ``max_buffered`` bytes, or bytes waiting since ``write_timeout``
        seconds (checked here and in ``handle_timer``), the connection counts as lost."""
        if size <= 0:
            self._stuck_since = None
            return
        if self._stuck_since is None:
            self._stuck_since = now
        if size > self.max_buffered:
            self._lose(now, f"the peer is not reading: over {self.max_buffered} bytes wait")
        else:
            self._check_stuck(now)

    def wrote(self, left: int, now: float) -> bool:
        """A write at ``now`` left ``left`` bytes the peer has not taken (told to the slow-peer
        verdict, as `write_buffered`; call it when bytes are left or had waited): True while
        they are still to be written, False once the connection counts as lost (drop them)."""
        self.write_buffered(left, now)
        return self.wants_transport

    def _check_stuck(self, now: float) -> None:
        since, limit = self._stuck_since, self.write_timeout
        if since is not None and limit is not None and now >= since + limit:
            self._lose(now, f"write failed: the peer took nothing for {limit:g} s")

    def _lose(self, now: float, reason: str) -> None:
        self._stuck_since = None
        self.supervisor.connection_lost(now, reason)
        self._pump(now)

    def _stuck_deadline(self) -> float | None:
        if self._stuck_since is None or self.write_timeout is None:
            return None
        return self._stuck_since + self.write_timeout

    # -- deadline re-arming ---------------------------------------------------------------------

    def sleeping(self, now: float | None = None) -> float | None:
        """The adapter goes to sleep until the returned deadline (`next_deadline`; None: until
        woken): remembered for `wake_needed`.

        Given ``now``, while reads may queue events for the application, the sleep lasts at
        most the lag after which an unread event is reported (``QueuePolicy.lag_warning``): an
        event read into an empty queue is then never due sooner than the wake-up armed, so
        reading it needs no wake-up (one per message otherwise, in an application that reads
        its events). Without ``now``: the next deadline exactly.
        """
        deadline = self.next_deadline()
        if now is not None:
            bound = self._lag_bound()
            if bound is not None and (deadline is None or now + bound < deadline):
                deadline = now + bound
        self._armed = math.inf if deadline is None else deadline
        return deadline

    def sleep_for(self, now: float, limit: float = math.inf) -> float:
        """The adapter goes to sleep at ``now`` (as ``sleeping(now)``, the lag bound included):
        how many seconds it may wait at most, until the driver's next deadline and within
        ``limit`` (its caller's own wait; ``math.inf``: none); ``math.inf``: until woken. Never
        negative."""
        deadline = self.sleeping(now)
        if deadline is None:
            return limit if limit > 0.0 else 0.0
        wait = deadline - now
        if wait > limit:
            wait = limit
        return wait if wait > 0.0 else 0.0

    def timer_in(self, now: float) -> float | None:
        """Seconds from ``now`` until the next deadline (negative: overdue), or None: none."""
        deadline = self.next_deadline()
        return None if deadline is None else deadline - now

    def connect_in(self, now: float) -> float | None:
        """With no connection open, at ``now``: 0.0 means connect now; more, rest that many
        seconds first (``math.inf``: until woken), then ask again; None: finished (closed or
        failed), the loop ends."""
        if self.finished:
            return None
        at = self.connect_at
        if at is None:
            return math.inf
        return at - now if at > now else 0.0

    def awake(self) -> None:
        """The adapter is awake again (nothing armed)."""
        self._armed = -math.inf

    def woke(self, now: float) -> bool:
        """The adapter is awake again at ``now`` (after `sleeping`, and after feeding what it
        read): the timers fire when the deadline it slept until has come (True: they did)."""
        armed, self._armed = self._armed, -math.inf
        if -math.inf < armed <= now:
            self.handle_timer(now)
            return True
        return False

    def must_wake(self, pending: bool = False, sent: bool = False) -> bool:
        """After an input from elsewhere (a caller's ``send``, ``close``, ``kill``): wake the
        loop's sleeper, because bytes wait for the socket to take them (``pending``), the
        driver needs it sooner (`wake_needed`) or the connection is to close.

        ``sent``: the input was a `send` (or `offer`) alone, which never brings the next
        deadline sooner (it only puts the heartbeat off): the deadline is not computed again.
        """
        if pending or not self.wants_transport:
            return True
        if sent:
            return False
        armed = self._armed  # `wake_needed`, inline: this runs after every read
        if armed == -math.inf:
            return False
        deadline = self.next_deadline()
        return deadline is not None and deadline < armed

    @property
    def wake_needed(self) -> bool:
        """An input since `sleeping` made the next deadline sooner than the one the adapter
        sleeps until: wake it (False while it is not sleeping)."""
        if self._armed == -math.inf:
            return False
        deadline = self.next_deadline()
        return deadline is not None and deadline < self._armed

    # -- the answers place / cancel wait for -----------------------------------------------------

    def order_waiter(self, message: Message, until: str = "ack") -> OrderWaiter:
        """Register what ``place`` (a NewOrderSingle or replace; ``until`` ``"ack"`` or
        ``"filled"``) or ``cancel`` (an OrderCancelRequest: its answer) waits for, before
        sending ``message``; the driver settles it as the reports are read (see `OrderWaiter`).
        `forget` it when no longer waiting.

        Raises:
            LocalProtocolError: not one of those messages, no ClOrdID (OrigClOrdID for a
                cancel), or another ``until``.
        """
        kind = message.MSG_TYPE
        if kind == "F":
            orig = getattr(message, "orig_cl_ord_id", None)
            if orig is None:
                raise LocalProtocolError("the OrderCancelRequest has no OrigClOrdID")
            waiter = OrderWaiter(_cl_ord_id(message), str(orig), "answer")
        else:
            if until not in ("ack", "filled"):
                raise LocalProtocolError(f"until must be 'ack' or 'filled', got {until!r}")
            if kind not in ("D", "G"):
                raise LocalProtocolError(
                    f"place sends a NewOrderSingle or OrderCancelReplaceRequest, not 35={kind}"
                )
            cl = _cl_ord_id(message)
            waiter = OrderWaiter(cl, cl, until)
        if not waiter.settle(self.tracker):
            self._waiters.append(waiter)
        return waiter

    def forget(self, waiter: OrderWaiter) -> None:
        """Stop settling ``waiter`` (its wait gave up)."""
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    def _settle_waiters(self) -> None:
        tracker = self.tracker
        self._waiters = [w for w in self._waiters if not w.settle(tracker)]

    # -- rate pacing ----------------------------------------------------------------------------

    def offer(
        self, message: Message, now: float, *, resubscribe: bool = False
    ) -> tuple[int | None, float]:
        """Send ``message`` if the rate limiter can take it now: ``(MsgSeqNum, 0.0)``; else
        ``(None, delay)``: offer it again in ``delay`` seconds (what `send` would refuse
        before that, a live ClOrdID or a risk limit, is raised at once, not after the wait).

        Raises:
            As `send` (a message that never fits: `RateLimitExceeded` at once).
        """
        session = self.supervisor.session  # not the `session` property: one call less per order
        if session is not None:
            delay = session.send_delay(message, now)
            if 0.0 < delay < math.inf:  # inf: the session's refusal says it never fits
                self.check(message)
                return None, delay
        return self.send(message, now, resubscribe=resubscribe), 0.0
