"""The awaitable reading API of the asyncio and trio sessions (over `SessionAPI`).

`AsyncAPI` adds the reading API both async adapters share (`next_event`, ``events``,
``async for``, `wait_for`, `send_when_allowed`, `run`, `place`, `cancel`, `kill`): each awaits
one of the core's waits (`kalshi_fix_sansio.client._callers`), run by its pump's `AsyncPump.drive`.
`pump_task` is the session's task of both pumps (`LoopPump`: each gives its loop's connect and
wait), `deliver` runs the callbacks in it; `AsyncKillAll` is the clients' ``kill_all``.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from ..codec import Message
from ..session.events import Event
from ..trading import cancel_request
from ..trading.gate import TradingHalt
from ..trading.killswitch import DEFAULT_FALLBACK_AFTER, KillReport
from ..trading.tracker import TrackedOrder
from . import _callers as waits
from ._callers import Wait
from ._sessionapi import (
    KILL_TIMEOUT,
    PLACE_TIMEOUT,
    SessionAPI,
    Until,
    start_kills,
)
from .driver import Driver
from .steps import START, Action, Agenda

__all__ = [
    "AsyncAPI",
    "AsyncKillAll",
    "AsyncPump",
    "LoopPart",
    "LoopPump",
    "aserve_rest",
    "deliver",
    "kill_sessions",
    "loop_moves",
    "pump_task",
]

T = TypeVar("T")
A = TypeVar("A", bound="AsyncAPI")


class AsyncPump(Protocol):
    """What the awaitable API asks of its adapter's pump (and, if its loop runs a session's
    tasks in a scope of their own, ``around()``: that scope, which ``async with`` a session
    enters before it opens and leaves after it closes; trio's nursery)."""

    def prepare(self) -> Any:
        """What the pump makes of the session's options before an open (its TLS context)."""

    def start(self, driver: Any, prepared: Any) -> None:
        """Start the session's task (it connects and logs on)."""

    async def close(self) -> None:
        """Log out (up to the logout timeout) and end the session's task."""

    def now(self) -> float:
        """The loop's monotonic clock, which times every wait."""

    async def drive(self, wait: Wait[T]) -> T:
        """Run ``wait`` to its end, waiting for each change (and clean it up if cancelled)."""

    def wake(self) -> None:
        """Something changed: the waiting callers and the session's task look again."""


async def aserve_rest(companion: Any, driver: Any) -> None:
    """An asyncio or trio session's REST companion in the background: `serve_rest
    <kalshi_fix_sansio.client.pump.serve_rest>`, awaited (a task of the pump's)."""
    with driver.rest_work():
        await companion.run(driver)


class AsyncAPI(SessionAPI):
    """The asyncio and trio sessions: `SessionAPI` plus the awaitable reading API."""

    _pump: AsyncPump
    _SERVE_REST = staticmethod(aserve_rest)  # a task of the pump's runs it
    _stack: contextlib.AsyncExitStack | None = None  # what ``async with`` entered (`around`)

    async def __aenter__(self: A) -> A:
        """Open the session (`open`), within what the pump's loop runs a session's tasks in
        when it has one (``around``, trio's nursery), entered first and left last."""
        around: Callable[[], contextlib.AbstractAsyncContextManager[object]] | None
        around = getattr(self._pump, "around", None)
        if around is None:
            await self.open()
            return self
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(around())
        try:
            await self.open()
        except BaseException:
            await stack.aclose()  # not through the nursery: its error stays as it is
            raise
        self._stack = stack
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def open(self) -> None:
        """Connect and log on, then keep the session up in the background until closed.

        Raises:
            LogonRefused: Kalshi refused the Logon for good (its text is in the message).
            ConnectionFailed: every attempt the backoff allows failed.
            LocalProtocolError: the endpoint is not allowed, or the session is already open.
        """
        pump, host = self._pump, self._driver
        pump.start(*host.begin(pump.prepare))
        if not await pump.drive(waits.Until(host, host.logged_on)):
            await self.aclose()
            raise host.closed_error()

    async def aclose(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        await self._pump.close()
        self._driver.end()

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: until one comes).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session ended (after the
                events queued before that were returned).
        """
        pump = self._pump
        return await pump.drive(waits.WaitEvent(self._driver, waits.any_event, timeout, pump.now()))

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
        pump = self._pump
        event = await pump.drive(waits.WaitEvent(self._driver, predicate, timeout, pump.now()))
        return waits.matched(event, timeout)

    async def send_when_allowed(self, message: Message, *, resubscribe: bool = False) -> int:
        """`send`, first waiting as long as the core says the rate limiter needs to take
        ``message`` (``rate_limit="wait"``, the default; with ``"raise"``: as `send`).

        Raises:
            RateLimitExceeded: ``rate_limit="raise"`` and no tokens now, or it never fits.
            TransportError, LocalProtocolError, EncodeError: as `send`.
        """
        pump = self._pump
        wait = waits.PacedSend(self._driver, message, pump.now(), resubscribe=resubscribe)
        return await pump.drive(wait)

    async def run(self, until: Callable[[], bool] | None = None) -> None:
        """Wait until ``until()`` is true or the session ends (for ``on_event`` users).

        Raises:
            LogonRefused, ConnectionFailed, TransportError: the session failed.
        """
        await self._pump.drive(waits.Until(self._driver, lambda: until is not None and until()))
        self._driver.check_failed()

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
        host, pump = self._driver, self._pump
        waiter = host.waiter(order, until)
        return await pump.drive(waits.Settle(host, waiter, order, timeout, pump.now()))

    async def cancel(
        self, request: Message | TrackedOrder | str, *, timeout: float | None = PLACE_TIMEOUT
    ) -> TrackedOrder:
        """Cancel an order and wait for its answer: the order's Canceled report.

        Args:
            request: an OrderCancelRequest (e.g. ``Requests(...).cancel(order)``), or the open
                order to cancel: its ClOrdID (``str``) or its `TrackedOrder` (what `place`
                returned). For those, the request is built from the order as this session's
                tracker has it now (`Requests.cancel
                <kalshi_fix_sansio.trading.builders.Requests.cancel>`, a new ClOrdID).
            timeout: seconds to wait (None: forever).

        Returns:
            A snapshot of the order (looked up through the request's ClOrdID).

        Raises:
            OrderRejected: an OrderCancelReject (35=9) or 35=j answered it.
            TimeoutError: no answer in time.
            RateLimitExceeded: as `place`.
            LocalProtocolError: ``request`` is another message or type, or the tracker knows no
                order by that ClOrdID, or the order is not open (the message says which).
        """
        host, pump = self._driver, self._pump
        request = cancel_request(self, request)
        waiter = host.waiter(request)
        return await pump.drive(waits.Settle(host, waiter, request, timeout, pump.now()))

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
        (`kalshi_fix_sansio.trading.killswitch`: one 35=q on KalshiNR; order-group triggers and single
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
        return (
            await kill_sessions(
                [self],
                timeout=timeout,
                halt=halt,
                use_groups=use_groups,
                fallback_after=fallback_after,
                confirm=confirm,
                check=False,
            )
        )[0]


class LoopPart(Protocol):
    """What the session's loop (`loop_moves`) asks of any pump, blocking or async."""

    agenda: Agenda  # the driver's answers for later (`perform` notes them)
    clock: Callable[[], float]  # the core's ``now``

    def perform(self, sup: Driver, actions: Sequence[Action]) -> None:
        """Do what the driver said, in order."""


def loop_moves(pump: LoopPart, sup: Driver) -> Iterator[bool]:
    """The session's loop, the same for every pump: `START`, then, until the driver is
    finished or the pump failed (`Driver.pump_failed`), the next move: True when a connection
    is due (the pump connects, clearing ``agenda.connect_due``), else False (the pump waits for
    its connection, its timer or a wake-up, then steps `WOKE`). A thread runs it (blocking),
    or a task (`pump_task`)."""
    agenda = pump.agenda
    pump.perform(sup, sup.step(START, pump.clock()))
    while sup.crash is None and not agenda.finished:
        yield agenda.connect_due


class LoopPump(AsyncPump, LoopPart, Protocol):
    """What the session's task (`pump_task`) asks of an async pump: its loop's I/O."""

    session: SessionAPI

    async def connect(self, sup: Driver) -> None:
        """Open a connection (clearing ``agenda.connect_due``; stepping `CONNECTED` or
        `ConnectFailed`), and serve it as long as the pump's loop does it in this task (trio:
        until it is closed)."""

    async def idle(self, sup: Driver) -> None:
        """Wait until the agenda's ``wake_at`` or a wake-up, then step `WOKE`."""

    def ended(self, sup: Driver) -> None:
        """The task ends (after its last delivery, or failed): close what the pump holds
        (`pump_task` then tells the driver, `Driver.pump_ended`, and wakes everyone)."""


async def pump_task(
    pump: LoopPump,
    sup: Driver,
    scope: contextlib.AbstractContextManager[Any] | None = None,
) -> None:
    """The session's task of an async pump: the moves of `loop_moves` (connect, or wait:
    `LoopPump.idle`), the callbacks due run after each (`deliver`); an error of the pump's is
    the session's (`Driver.pump_failed`), raised to its callers. ``scope`` holds the loop (not
    the last delivery): trio's cancel scope, whose deadline `close` sets."""
    session = pump.session
    try:
        with scope or contextlib.nullcontext():
            for connect in loop_moves(pump, sup):
                await (pump.connect(sup) if connect else pump.idle(sup))
                await deliver(session, sup, pump)
        await deliver(session, sup, pump)  # what the last input queued
    except Exception as exc:  # a local error (e.g. a refused address): raised to the caller
        sup.pump_failed(exc)
    finally:
        pump.ended(sup)
        sup.pump_ended()
        pump.wake()


async def deliver(session: SessionAPI, sup: Driver, pump: AsyncPump) -> None:
    """Run ``session``'s callbacks in its task: ``on_event`` with every unread event,
    ``on_reconnect`` when due, an awaitable result awaited (reading goes on meanwhile: the
    driver keeps the tracker and the books current); then wake whoever waits on what they
    did."""
    ran = False
    delivery = session.driver.delivery
    while delivery.due(sup):
        event, reconnected = delivery.take_callback(sup.next_event_with_time)
        if event is not None and session.on_event is not None:
            result = session.on_event(event)
            if inspect.isawaitable(result):
                await result
        if reconnected and session.on_reconnect is not None:
            result = session.on_reconnect(session)
            if inspect.isawaitable(result):
                await result
        ran = True
    if ran:
        pump.wake()


class AsyncKillAll:
    """``kill_all`` of the asyncio and trio clients (mixed into their `ClientBase`)."""

    _made_sessions: Callable[[], list[Any]]
    _halt: TradingHalt

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
        if halt:  # every session of the client, those opened later too, until rearm()
            self._halt.halt("the client's kill_all()")
        return await kill_sessions(
            self._made_sessions(),
            timeout=timeout,
            halt=halt,
            use_groups=use_groups,
            fallback_after=fallback_after,
            confirm=confirm,
        )


async def kill_sessions(
    sessions: list[AsyncAPI], *, timeout: float | None, check: bool = True, **options: Any
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
        await pump.drive(waits.AwaitKill(session.driver, kill, deadline, pump.now()))
    return [session.driver.kill_report(kill) for session, kill in started]
