"""The blocking half of a session's reading API (over `SessionBase`), as `_async` is the
awaitable one.

`SyncSessionBase` gives ``next_event``, ``events``, `wait_for`, `run`, `send` (paced),
`place`, `cancel` and `kill`: each runs one of the core's waits
(`kalshi_fix_sansio._callers`: what the wait waits for, its timeout, what ends it) with
`SyncSessionBase._drive`, under the session's one lock: for each change, the waiting thread
reads the socket when the core's `Readers` rule lets it (the adapter's one blocking primitive,
`SyncSessionBase._wait_once`), else rests on a condition (`SyncSessionBase._rest`, until
`SyncSessionBase._changed`). The callback thread runs ``on_event`` / ``on_reconnect`` (as
`AsyncSessionBase._deliver` in the session's task). `SyncKillAll` is the client's ``kill_all``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from kalshi_fix_sansio import Message
from kalshi_fix_sansio import _callers as waits
from kalshi_fix_sansio._callers import Readers, Wait
from kalshi_fix_sansio.driver import Driver
from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.gate import TradingHalt
from kalshi_fix_sansio.killswitch import DEFAULT_FALLBACK_AFTER, KillReport
from kalshi_fix_sansio.tracker import TrackedOrder

from ._base import IDLE_HANDOFF, KILL_TIMEOUT, PLACE_TIMEOUT, SessionBase, Until, start_kills
from ._requests import cancel_request

__all__ = ["SyncKillAll", "SyncSessionBase", "joined", "started"]

T = TypeVar("T")


def started(target: Callable[[Driver], None], sup: Driver, name: str) -> threading.Thread:
    """A daemon thread named ``name`` running ``target(sup)``, started."""
    thread = threading.Thread(target=target, args=(sup,), name=name, daemon=True)
    thread.start()
    return thread


def joined(thread: threading.Thread | None, timeout: float) -> threading.Thread | None:
    """Wait up to ``timeout`` seconds for ``thread`` to end (unless it is the calling thread):
    None once it has ended, else ``thread``."""
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)
    return thread if thread is not None and thread.is_alive() else None


class SyncSessionBase(SessionBase):
    """The blocking session's API: `SessionBase` plus the blocking waits and the callback
    thread, under the session's one lock (``_lock``)."""

    _OPEN_HINT = "use the session as a context manager first"
    _callbacks: threading.Thread | None = None  # the callback thread of the current open

    def _setup(self) -> None:
        self._lock = self._mu = threading.RLock()  # the one lock (`run`'s `until` may `send`)
        self._cond = threading.Condition(self._mu)  # waiting threads and the callback thread
        self._sleeping = 0  # threads in `_rest` (no notify without one)
        self._readers = Readers(IDLE_HANDOFF)  # who reads the socket: the core's rule

    def _drive(self, wait: Wait[T]) -> T:
        """Run a wait of the core to its end holding the lock, counted as waiting by the
        `Readers` rule: for each change, `_wait_once`."""
        with self._lock:
            self._readers.enter()
            try:
                return waits.drive(wait, self._wait_once)
            finally:
                self._readers.leave()  # the last read woke the others: one may read now

    def _wait_once(self, deadline: float) -> float:
        """Holding ``_lock``: wait for a change until ``deadline`` (``time.monotonic``),
        reading the socket when the `Readers` rule lets this thread, else `_rest`; return
        ``time.monotonic()``."""
        raise NotImplementedError  # pragma: no cover - the adapter says

    def _rest(self, deadline: float) -> float:
        """Holding ``_lock``: wait until `_changed` or ``deadline`` (``time.monotonic``), not
        reading the socket; return ``time.monotonic()``."""
        self._sleeping += 1
        try:
            self._cond.wait(None if deadline == math.inf else deadline - time.monotonic())
        finally:
            self._sleeping -= 1
        return time.monotonic()

    def _changed(self) -> None:
        """Holding ``_lock``: the waiting threads look again (what they wait for may have
        changed)."""
        if self._sleeping:
            self._cond.notify_all()

    def _dispatching(self) -> bool:
        """The callback thread still has (or may get) callbacks to run (call holding the lock)."""
        sup = self.driver
        return self._callbacks is not None and sup is not None and self._delivery.due(sup)

    def _start_callbacks(self, sup: Driver) -> None:
        """At `open`: start the callback thread, when the session has callbacks."""
        if self.on_event is not None or self.on_reconnect is not None:
            self._callbacks = started(self._deliver, sup, f"kalshi-fix {self._name} callbacks")

    def _deliver(self, sup: Driver) -> None:
        """The callback thread: ``on_event`` with every event, ``on_reconnect`` when due (each
        outside the lock: a slow callback never stops the reading), until the session has
        ended and nothing is left."""
        due = waits.Until(self, lambda: self._delivery.due(sup))
        while True:
            with self._lock:
                if not waits.drive(due, self._rest):  # the session ended, nothing is left
                    self._changed()  # `run` waits for the last callback
                    return
                event, reconnected = self._delivery.take_callback(sup.next_event_with_time)
            try:
                if event is not None and self.on_event is not None:
                    self.on_event(event)
                if reconnected and self.on_reconnect is not None:
                    self.on_reconnect(self)
            finally:
                with self._lock:
                    self._changed()  # e.g. `run`'s ``until`` may hold now

    def _await_logon(self, sup: Driver) -> bool:
        return self._drive(waits.Until(self, lambda: self._logged_on(sup)))

    def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: until one comes); then as
        `AsyncSessionBase.next_event
        <kalshi_fix_sansio.adapters._async.AsyncSessionBase.next_event>`, blocking."""
        return self._drive(waits.WaitEvent(self, waits.any_event, timeout, time.monotonic()))

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Iterate events until ``timeout`` seconds pass with none (None: forever)."""
        while (event := self.next_event(timeout)) is not None:
            yield event

    def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float | None, send: Message | None = None
    ) -> Event:
        """Optionally send a message (paced, as `send`), then wait for an event satisfying
        ``predicate``, as `AsyncSessionBase.wait_for
        <kalshi_fix_sansio.adapters._async.AsyncSessionBase.wait_for>` (skipped events stay
        queued, in order; `TimeoutError`), blocking."""
        if send is not None:
            self.send(send)
        event = self._drive(waits.WaitEvent(self, predicate, timeout, time.monotonic()))
        return waits.matched(event, timeout)

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Wait until ``until()`` is true or the session ends (for ``on_event`` users; the last
        callbacks run first); raises what made it fail (`LogonRefused`, `ConnectionFailed`,
        `TransportError`)."""
        self._drive(waits.Until(self, lambda: until is not None and until(), self._dispatching))
        self._check_failed()

    def send(self, message: Message, *, resubscribe: bool = False) -> int:
        """Send an application message now, as `SessionBase.send
        <kalshi_fix_sansio.adapters._base.SessionBase.send>`; with a rate limiter and
        ``rate_limit="wait"`` (the default) it first waits as long as the core says its tokens
        need (reading the socket meanwhile; in ``on_event``, that holds up the callbacks).

        Raises:
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now, or it never fits.
            TransportError, LocalProtocolError, EncodeError: as `SessionBase.send`.
        """
        seq, _ = self._offer(message, resubscribe=resubscribe)
        if seq is not None:  # the usual case: no wait to run
            return seq
        wait = waits.PacedSend(self, message, time.monotonic(), resubscribe=resubscribe)
        return self._drive(wait)

    def place(
        self, order: Message, *, timeout: float | None = PLACE_TIMEOUT, until: Until = "ack"
    ) -> TrackedOrder:
        """Send a NewOrderSingle (or OrderCancelReplaceRequest) and wait for Kalshi's answer.

        As `AsyncSessionBase.place <kalshi_fix_sansio.adapters._async.AsyncSessionBase.place>`
        (``until="ack"`` or ``"filled"``; a rate-limit wait first), blocking.

        Raises:
            OrderRejected: Kalshi rejected it (150=8, 35=9 or 35=j), with its reason.
            TimeoutError: no answer in time (the order stays tracked).
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now.
        """
        waiter = self._waiter(order, until)
        return self._drive(waits.Settle(self, waiter, order, timeout, time.monotonic()))

    def cancel(
        self, request: Message | TrackedOrder | str, *, timeout: float | None = PLACE_TIMEOUT
    ) -> TrackedOrder:
        """Cancel an order and wait for its Canceled report (or `OrderRejected`).

        As `AsyncSessionBase.cancel <kalshi_fix_sansio.adapters._async.AsyncSessionBase.cancel>`
        (an OrderCancelRequest, or the open order's ClOrdID or `TrackedOrder`), blocking.

        Raises:
            OrderRejected: an OrderCancelReject (35=9) or 35=j answered it.
            TimeoutError: no answer in time.
            LocalProtocolError: not a cancel, or no open order of this session by that ClOrdID.
        """
        request = cancel_request(self, request)
        waiter = self._waiter(request)
        return self._drive(waits.Settle(self, waiter, request, timeout, time.monotonic()))

    def kill(
        self,
        *,
        timeout: float | None = KILL_TIMEOUT,
        halt: bool = True,
        use_groups: bool = True,
        fallback_after: float = DEFAULT_FALLBACK_AFTER,
        confirm: bool | None = None,
    ) -> KillReport:
        """Take every open order of this session off the book and wait until none is open.

        As `AsyncSessionBase.kill <kalshi_fix_sansio.adapters._async.AsyncSessionBase.kill>`
        (one 35=q on KalshiNR; order-group triggers and single 35=F on KalshiRT; with the
        connection down it waits for the reconnect; ``confirm``: a drop-copy replay confirms
        nothing is open, by default where the session catches up), blocking.

        Returns:
            The `KillReport`: done, or what is still open and why.
        """
        return kill_sessions(
            [self],
            timeout=timeout,
            halt=halt,
            use_groups=use_groups,
            fallback_after=fallback_after,
            confirm=confirm,
            check=False,
        )[0]


def kill_sessions(
    sessions: list[Any], *, timeout: float | None, check: bool = True, **options: Any
) -> list[KillReport]:
    """Start the kill on every session (``check``: the open order-entry ones among them) at
    once, then wait for all of them (one deadline)."""
    started = start_kills(sessions, check, options)
    now = time.monotonic()
    deadline = math.inf if timeout is None else now + timeout
    for session, kill in started:
        session._drive(waits.AwaitKill(session, kill, deadline, time.monotonic()))
    return [session._kill_report(kill) for session, kill in started]


class SyncKillAll:
    """``kill_all`` of the blocking clients (mixed into their `ClientBase`)."""

    _made_sessions: Callable[[], list[Any]]
    _halt: TradingHalt

    def kill_all(
        self,
        *,
        timeout: float | None = KILL_TIMEOUT,
        halt: bool = True,
        use_groups: bool = True,
        fallback_after: float = DEFAULT_FALLBACK_AFTER,
        confirm: bool | None = None,
    ) -> list[KillReport]:
        """`BlockingSession.kill <kalshi_fix_sansio.adapters.blocking.BlockingSession.kill>` on
        every open order-entry session this client made, at once (one deadline for all).

        Returns:
            One `KillReport` per session killed (none open: an empty list).
        """
        if halt:  # every session of the client, those opened later too, until rearm()
            self._halt.halt("the client's kill_all()")
        return kill_sessions(
            self._made_sessions(),
            timeout=timeout,
            halt=halt,
            use_groups=use_groups,
            fallback_after=fallback_after,
            confirm=confirm,
        )
