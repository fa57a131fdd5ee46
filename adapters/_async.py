"""The awaitable half of the asyncio and trio sessions (over `SessionBase`).

`AsyncSessionBase` adds the reading API both async adapters share (`next_event`, ``events``,
``async for``, `wait_for`, `send_when_allowed`, `run`, `place`, `cancel`, `kill`) over two
hooks each loop provides: `AsyncSessionBase._now` and `AsyncSessionBase._wait_changed`.
`AsyncKillAll` is the clients' ``kill_all``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

from kalshi_fix_sansio import Message
from kalshi_fix_sansio.driver import Driver, OrderWaiter
from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.killswitch import DEFAULT_FALLBACK_AFTER, KillReport, KillSwitch
from kalshi_fix_sansio.tracker import TrackedOrder

from ._base import KILL_TIMEOUT, PLACE_TIMEOUT, SessionBase, Until, kill_targets, matched

__all__ = ["AsyncKillAll", "AsyncSessionBase", "kill_sessions", "maybe_await"]


async def maybe_await(result: object) -> None:
    """Await a callback's result when it is awaitable (a coroutine function's)."""
    if inspect.isawaitable(result):
        await result


class AsyncSessionBase(SessionBase):
    """The asyncio and trio sessions: `SessionBase` plus the awaitable reading API."""

    def _now(self) -> float:
        """The loop's monotonic clock, which times every wait."""
        raise NotImplementedError  # pragma: no cover - each adapter says

    async def _wait_changed(self, deadline: float) -> None:
        """Wait until something changes or `_now` reaches ``deadline`` (``math.inf``: none)."""
        raise NotImplementedError  # pragma: no cover - each adapter says

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: until one comes).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session ended (after the
                events queued before that were returned).
        """
        return await self._wait(lambda _: True, timeout)

    async def events(self, timeout: float | None = None) -> AsyncIterator[Event]:
        """Iterate events until ``timeout`` seconds pass with none (None: forever)."""
        while (event := await self.next_event(timeout)) is not None:
            yield event

    def __aiter__(self) -> AsyncIterator[Event]:
        return self.events()

    async def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float | None, send: Message | None = None
    ) -> Event:
        """Optionally send a message, then wait for an event satisfying ``predicate``.

        Events skipped meanwhile stay queued, in order.

        Raises:
            TimeoutError: none came within ``timeout`` seconds (None: wait forever).
            LogonRefused, ConnectionFailed, TransportError: the session ended first.
        """
        if send is not None:
            await self.send_when_allowed(send)
        return matched(await self._wait(predicate, timeout), timeout)

    async def send_when_allowed(self, message: Message, *, resubscribe: bool = False) -> int:
        """`send`, first waiting as long as the core says the rate limiter needs to take
        ``message`` (``rate_limit="wait"``, the default; with ``"raise"``: as `send`).

        Raises:
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now, or it never fits.
            TransportError, LocalProtocolError, EncodeError: as `send`.
        """
        return await self._send_paced(message, resubscribe=resubscribe)

    async def _send_paced(
        self, message: Message, *, resubscribe: bool = False
    ) -> int:
        while True:
            seq, delay = self._offer(message, resubscribe=resubscribe)
            if seq is not None:
                return seq
            deadline = self._now() + delay
            while self._now() < deadline:
                await self._wait_changed(deadline)

    async def run(self, until: Callable[[], bool] | None = None) -> None:
        """Wait until ``until()`` is true or the session ends (for ``on_event`` users).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session failed.
        """
        await self._until(lambda: until is not None and until())
        self._check_failed()

    async def place(
        self, order: Message, *, timeout: float | None = PLACE_TIMEOUT, until: Until = "ack"
    ) -> TrackedOrder:
        """Send a NewOrderSingle (or OrderCancelReplaceRequest) and wait for Kalshi's answer.

        Args:
            order: the order (its ClOrdID must be new to ``tracker``).
            timeout: seconds to wait (None: forever).
            until: ``"ack"``: until acknowledged (New, a fill, Replaced) or already final;
                ``"filled"``: until final (filled, canceled, expired; a replace is followed).

        Returns:
            A snapshot of the tracked order (``status`` says which state ended the wait).

        Raises:
            OrderRejected: Kalshi rejected it (150=8, 35=9 or 35=j), with its reason.
            TimeoutError: no answer in time (the order stays tracked).
            RateLimitExceeded: ``rate_limit="raise"`` and the rate limiter cannot take it now
                (with ``"wait"``, the default, it waits first: not counted in ``timeout``).
            LogonRefused, ConnectionFailed, TransportError: the session ended first.
        """
        return await self._settle(self._waiter(order, until), order, timeout)

    async def cancel(self, request: Message, *, timeout: float | None = PLACE_TIMEOUT) -> TrackedOrder:
        """Send an OrderCancelRequest and wait for its answer: the order's Canceled report.

        Returns:
            A snapshot of the order (looked up through the request's ClOrdID).


        Raises:
            OrderRejected: an OrderCancelReject (35=9) or 35=j answered it.
            TimeoutError: no answer in time.
            RateLimitExceeded: as `place`.
        """
        return await self._settle(self._waiter(request), request, timeout)

    async def kill(
        self,
        *,
        timeout: float | None = KILL_TIMEOUT,
        halt: bool = True,
        use_groups: bool = True,
        fallback_after: float = DEFAULT_FALLBACK_AFTER,
        confirm: bool | None = None,
    ) -> KillReport:
        """Take every open order of this session off the book by the fastest documented means
        (`kalshi_fix_sansio.killswitch`: one 35=q on KalshiNR; order-group triggers and single
        35=F on KalshiRT) and wait until the tracker shows none open.

        With the connection down, it waits for the supervisor's reconnect, then acts (within
        ``timeout``). Never raises for what Kalshi answers: the report says it.

        Args:
            timeout: seconds to wait (None: until done or the session ends).
            halt: also refuse new orders and replaces (`TradingHalted`) until `rearm`.
            use_groups: trigger order groups where 35=q is not available.
            fallback_after: seconds before an order a 35=q or a trigger did not cancel gets
                its own 35=F.
            confirm: once the tracker shows nothing open, wait for a drop-copy replay
                (EventResendRequest from the cursor) to confirm it, cancelling what it reveals
                open; None: on a session that catches up (KalshiNR, ``catch_up`` on). The
                report's ``confirmed`` says how it went.

        Returns:
            The `KillReport`: done, or what is still open and why.

        Raises:
            LocalProtocolError: the session was never opened.
        """
        kill = self._start_kill(halt, use_groups, fallback_after, confirm)
        await self._await_kill(kill, self._now() + (math.inf if timeout is None else timeout))
        return self._kill_report(kill)

    async def _await_kill(self, kill: KillSwitch, deadline: float) -> None:
        while kill.finished_at is None and self._now() < deadline and not self._ended():
            await self._wait_changed(deadline)

    async def _settle(
        self, waiter: OrderWaiter, message: Message, timeout: float | None
    ) -> TrackedOrder:
        """Send ``message``, then wait until the driver settled ``waiter``."""
        try:
            await self._send_paced(message)
            deadline = self._now() + (math.inf if timeout is None else timeout)
            while not waiter.done:
                if self._now() >= deadline:
                    raise waiter.timeout_error(timeout)
                if self._ended():
                    raise self._closed_error()
                await self._wait_changed(deadline)
        finally:
            if not waiter.done:
                self._forget(waiter)
        return waiter.outcome()

    async def _wait(self, predicate: Callable[[Event], bool], timeout: float | None) -> Event | None:
        deadline = self._now() + (math.inf if timeout is None else timeout)
        while (event := self._take(predicate)) is None:
            if self._now() >= deadline:
                return None
            if self._ended():
                raise self._closed_error()
            await self._wait_changed(deadline)
        return event

    async def _until(self, done: Callable[[], bool]) -> None:
        """Wait until ``done()`` or the session's task ends."""
        while not done() and not self._ended():
            await self._wait_changed(math.inf)

    async def _await_logon(self, sup: Driver) -> bool:
        await self._until(lambda: self._logged_on(sup))
        return self._logged_on(sup)

    async def _deliver(self, sup: Driver) -> None:
        """Run the callbacks: ``on_event`` with every unread event, ``on_reconnect`` when due
        (reading goes on meanwhile: the driver keeps the tracker and the books current)."""
        ran = False
        while self._callback_due(sup):
            event, reconnected = self._take_callback(sup)
            if event is not None and self.on_event is not None:
                await maybe_await(self.on_event(event))
            if reconnected and self.on_reconnect is not None:
                await maybe_await(self.on_reconnect(self))
                self._flush(sup)
            ran = True
        if ran:
            self._wake()  # whoever waits on what the callbacks did



class AsyncKillAll:
    """``kill_all`` of the asyncio and trio clients (mixed into their `ClientBase`)."""

    _made_sessions: Callable[[], list[Any]]

    async def kill_all(
        self,
        *,
        timeout: float | None = KILL_TIMEOUT,
        halt: bool = True,
        use_groups: bool = True,
        fallback_after: float = DEFAULT_FALLBACK_AFTER,
        confirm: bool | None = None,
    ) -> list[KillReport]:
        """``await session.kill(...)`` on every open order-entry session this client made, at
        once (one deadline for all).

        Returns:
            One `KillReport` per session killed (none open: an empty list).
        """
        return await kill_sessions(
            self._made_sessions(), timeout=timeout, halt=halt, use_groups=use_groups,
            fallback_after=fallback_after, confirm=confirm,
        )

async def kill_sessions(
    sessions: list[AsyncSessionBase],
    *,
    timeout: float | None,
    halt: bool,
    use_groups: bool,
    fallback_after: float,
    confirm: bool | None = None,
) -> list[KillReport]:
    """``kill_all`` of the async clients: start the kill on every open order-entry session at
    once, then wait for all of them (one deadline)."""
    started = [
        (s, s._start_kill(halt, use_groups, fallback_after, confirm)) for s in kill_targets(sessions)
    ]
    if not started:
        return []
    deadline = started[0][0]._now() + (math.inf if timeout is None else timeout)
    for session, kill in started:
        await session._await_kill(kill, deadline)
    return [session._kill_report(kill) for session, kill in started]
