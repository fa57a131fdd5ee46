"""The blocking half of a session's reading API (over `SessionBase`), as `_async` is the
awaitable one.

`SyncSessionBase` gives ``next_event``, ``events``, `wait_for`, `run`, `send` (paced),
`place`, `cancel` and `kill`: each runs one of the core's waits
(`kalshi_fix_sansio._callers`: what the wait waits for, its timeout, what ends it) with the
adapter's one blocking primitive, `SyncSessionBase._drive`. `SyncKillAll` is the client's
``kill_all``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from kalshi_fix_sansio import Message
from kalshi_fix_sansio import _callers as waits
from kalshi_fix_sansio._callers import Wait
from kalshi_fix_sansio.driver import Driver
from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.killswitch import DEFAULT_FALLBACK_AFTER, KillReport
from kalshi_fix_sansio.tracker import TrackedOrder

from ._base import KILL_TIMEOUT, PLACE_TIMEOUT, SessionBase, Until, start_kills

__all__ = ["SyncKillAll", "SyncSessionBase"]

T = TypeVar("T")


class SyncSessionBase(SessionBase):
    """The blocking session's API: `SessionBase` plus the blocking waits."""

    def _drive(self, wait: Wait[T]) -> T:
        """Run a wait of the core to its end, reading the socket meanwhile (the adapter says how)."""
        raise NotImplementedError  # pragma: no cover - the adapter says

    def _dispatching(self) -> bool:
        """A callback thread still has (or may get) callbacks to run."""
        return False

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

    def cancel(self, request: Message, *, timeout: float | None = PLACE_TIMEOUT) -> TrackedOrder:
        """Send an OrderCancelRequest and wait for its Canceled report (or `OrderRejected`)."""
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
            [self], timeout=timeout, halt=halt, use_groups=use_groups,
            fallback_after=fallback_after, confirm=confirm, check=False,
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
        return kill_sessions(
            self._made_sessions(), timeout=timeout, halt=halt, use_groups=use_groups,
            fallback_after=fallback_after, confirm=confirm,
        )
