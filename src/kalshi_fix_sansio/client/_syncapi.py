"""The blocking reading API of a session (over `SessionAPI`), as `_async` is the awaitable one.

`SyncAPI` gives ``next_event``, ``events``, `wait_for`, `run`, `send` (paced), `place`,
`cancel` and `kill`: each runs one of the core's waits (`kalshi_fix_sansio.client._callers`: what
the wait waits for, its timeout, what ends it) with its pump's one blocking primitive,
`SyncPump.drive`. `SyncKillAll` is the clients' ``kill_all``; `deliver_sync` runs the callbacks
in a thread of their own, as `kalshi_fix_sansio.client.pump.deliver` runs them in an async
session's task.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from ..codec import Message
from ..session.events import Event
from ..trading import cancel_request
from ..trading.gate import TradingHalt
from ..trading.killswitch import DEFAULT_FALLBACK_AFTER, KillReport
from ..trading.tracker import TrackedOrder
from . import _callers as waits
from ._callers import Wait, drive
from ._sessionapi import (
    KILL_TIMEOUT,
    PLACE_TIMEOUT,
    SessionAPI,
    Until,
    start_kills,
)

__all__ = [
    "CallbackPump",
    "SyncAPI",
    "SyncKillAll",
    "SyncPump",
    "deliver_sync",
    "kill_sessions",
    "serve_rest",
]

T = TypeVar("T")
S = TypeVar("S", bound="SyncAPI")


class SyncPump(Protocol):
    """What the blocking API asks of its adapter's pump."""

    def prepare(self) -> Any:
        """What the pump makes of the session's options before an open (its TLS context)."""

    def open(self, driver: Any, prepared: Any) -> bool:
        """Start the session's loop and wait for the Logon: True once logged on."""

    def close(self) -> None:
        """Log out (up to the logout timeout) and stop the session's loop."""

    def now(self) -> float:
        """The wait clock (monotonic seconds), which times every wait."""

    def drive(self, wait: Wait[T]) -> T:
        """Run ``wait`` to its end, waiting for each change (reading the socket meanwhile)."""

    def dispatching(self) -> bool:
        """Callbacks are still to run (or may come) for the current open."""


def serve_rest(companion: Any, driver: Any) -> None:
    """A blocking session's REST companion in the background: its round (``companion.run``)
    to its end, a failure the driver's (`Driver.rest_work`: logged; the next round starts
    another companion)."""
    with driver.rest_work():
        companion.run(driver)


class SyncAPI(SessionAPI):
    """The blocking session's API: `SessionAPI` plus the blocking waits, run by `_pump`."""

    _OPEN_HINT = "use the session as a context manager first"
    _pump: SyncPump
    _SERVE_REST = staticmethod(serve_rest)  # a thread of the pump's runs it

    def __enter__(self: S) -> S:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Connect and log on; the session is kept up in the background until `close`.

        Raises:
            LogonRefused: Kalshi refused the Logon for good (its text is in the message).
            ConnectionFailed: every attempt the backoff allows failed.
            LocalProtocolError: the endpoint is not allowed, or the session is already open.
        """
        pump = self._pump
        if not pump.open(*self._driver.begin(pump.prepare)):
            self.close()
            raise self._driver.closed_error()

    def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        self._pump.close()
        self._driver.end()

    def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: until one comes); then as
        `AsyncAPI.next_event <kalshi_fix_sansio.client.pump.AsyncAPI.next_event>`,
        blocking."""
        pump = self._pump
        return pump.drive(waits.WaitEvent(self._driver, waits.any_event, timeout, pump.now()))

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Iterate events until ``timeout`` seconds pass with none (None: forever)."""
        while (event := self.next_event(timeout)) is not None:
            yield event

    def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float | None, send: Message | None = None
    ) -> Event:
        """Optionally send a message (paced, as `send`), then wait for an event satisfying
        ``predicate``, as `AsyncAPI.wait_for
        <kalshi_fix_sansio.client.pump.AsyncAPI.wait_for>` (skipped events stay
        queued, in order; `TimeoutError`), blocking."""
        if send is not None:
            self.send(send)
        pump = self._pump
        wait = waits.WaitEvent(self._driver, predicate, timeout, pump.now())
        return waits.matched(pump.drive(wait), timeout)

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Wait until ``until()`` is true or the session ends (for ``on_event`` users; the last
        callbacks run first); raises what made it fail (`LogonRefused`, `ConnectionFailed`,
        `TransportError`)."""
        pump = self._pump
        done = waits.Until(self._driver, lambda: until is not None and until(), pump.dispatching)
        pump.drive(done)
        self._driver.check_failed()

    def send(self, message: Message, *, resubscribe: bool = False) -> int:
        """Send an application message now, as `SessionAPI.send
        <kalshi_fix_sansio.client.pump.SessionAPI.send>`; with a rate limiter and
        ``rate_limit="wait"`` (the default) it first waits as long as the core says its tokens
        need (reading the socket meanwhile; in ``on_event``, that holds up the callbacks).

        Raises:
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now, or it never fits.
            TransportError, LocalProtocolError, EncodeError: as `SessionAPI.send`.
        """
        host = self._driver
        seq, _ = host.offer(message, resubscribe=resubscribe)
        if seq is not None:  # the usual case: no wait to run
            return seq
        pump = self._pump
        return pump.drive(waits.PacedSend(host, message, pump.now(), resubscribe=resubscribe))

    def place(
        self, order: Message, *, timeout: float | None = PLACE_TIMEOUT, until: Until = "ack"
    ) -> TrackedOrder:
        """Send a NewOrderSingle (or OrderCancelReplaceRequest) and wait for Kalshi's answer.

        As `AsyncAPI.place <kalshi_fix_sansio.client.pump.AsyncAPI.place>`
        (``until="ack"`` or ``"filled"``; a rate-limit wait first), blocking.

        Raises:
            OrderRejected: Kalshi rejected it (150=8, 35=9 or 35=j), with its reason.
            TimeoutError: no answer in time (the order stays tracked).
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now.
        """
        host, pump = self._driver, self._pump
        waiter = host.waiter(order, until)
        return pump.drive(waits.Settle(host, waiter, order, timeout, pump.now()))

    def cancel(
        self, request: Message | TrackedOrder | str, *, timeout: float | None = PLACE_TIMEOUT
    ) -> TrackedOrder:
        """Cancel an order and wait for its Canceled report (or `OrderRejected`).

        As `AsyncAPI.cancel <kalshi_fix_sansio.client.pump.AsyncAPI.cancel>` (an
        OrderCancelRequest, or the open order's ClOrdID or `TrackedOrder`), blocking.

        Raises:
            OrderRejected: an OrderCancelReject (35=9) or 35=j answered it.
            TimeoutError: no answer in time.
            LocalProtocolError: not a cancel, or no open order of this session by that ClOrdID.
        """
        host, pump = self._driver, self._pump
        request = cancel_request(self, request)
        waiter = host.waiter(request)
        return pump.drive(waits.Settle(host, waiter, request, timeout, pump.now()))

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

        As `AsyncAPI.kill <kalshi_fix_sansio.client.pump.AsyncAPI.kill>` (one 35=q
        on KalshiNR; order-group triggers and single 35=F on KalshiRT; with the connection
        down it waits for the reconnect; ``confirm``: a drop-copy replay confirms nothing is
        open, by default where the session catches up), blocking.

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
    if not started:
        return []
    now = started[0][0]._pump.now()
    deadline = math.inf if timeout is None else now + timeout
    for session, kill in started:
        pump = session._pump
        pump.drive(waits.AwaitKill(session.driver, kill, deadline, pump.now()))
    return [session.driver.kill_report(kill) for session, kill in started]


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


class CallbackPump(Protocol):
    """What `deliver_sync` asks of a blocking pump."""

    session: SessionAPI
    mu: contextlib.AbstractContextManager[Any]  # the session's lock

    def rest(self, deadline: float) -> float:
        """Wait (holding ``mu``, which the wait releases) until woken or ``deadline``."""

    def wake(self) -> None:
        """The waiting threads look again."""


def deliver_sync(pump: CallbackPump, sup: Any) -> None:
    """A blocking session's callback thread: ``on_event`` with every event, ``on_reconnect``
    when due (each outside the lock: a slow callback never stops the reading), until the
    session has ended and nothing is left."""
    session, delivery = pump.session, sup.delivery
    due = waits.Until(sup, lambda: delivery.due(sup))
    while True:
        with pump.mu:
            if not drive(due, pump.rest):  # the session ended, nothing is left
                pump.wake()  # `run` waits for the last callback
                return
            event, reconnected = delivery.take_callback(sup.next_event_with_time)
        try:
            if event is not None and session.on_event is not None:
                session.on_event(event)
            if reconnected and session.on_reconnect is not None:
                session.on_reconnect(session)
        finally:
            with pump.mu:
                pump.wake()  # e.g. `run`'s ``until`` may hold now
