"""What the adapters' pumps share that is book-keeping, not I/O (sans-IO; public in
`kalshi_fix_sansio.client.pump`).

* `PumpParts`: a pump's ties to its session and driver (the core's clock, the `Agenda` of the
  driver's answers for later), the dispatch of the driver's actions (`PumpParts.perform`: the
  pump writes, disconnects and is told that its sleeper must look again), the facts of a
  connection attempt (`connected`, `connect_failed`), and the **read turn** of a pump that
  reads its socket itself (`PumpParts.turn`: after a read, what was read stepped, what the
  driver said done, what waits written, a close that fell due done), and an error raised in a
  callback of the loop's (`failed`: the asyncio pump's);
* `Deadlines`: one timer for many waits, armed again only when a wait ends sooner than the
  timer is armed for (trio's nap, and `Changes`);
* `Changes`: the callers waiting for a change, each on a future of its own (the asyncio pump's),
  their deadlines on one timer of the loop's; `Changes.drive`, a caller's wait run to its end
  on them (the asyncio pump's ``drive``).

The pump gives its I/O as methods (`write`, `disconnect`) and its wake-ups as callables it binds
once (`noted`): the read turn is one call per read.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Generator, Sequence
from typing import Any, Generic, Protocol, TypeVar

from ._callers import Wait
from .driver import Driver
from .steps import CONNECTED, WOKE, Action, Agenda, ConnectFailed, Disconnect, Lost, Received, Write

__all__ = ["Changes", "Deadlines", "PumpParts"]

F = TypeVar("F", bound="Future")
F_co = TypeVar("F_co", bound="Future", covariant=True)
T = TypeVar("T")


class Future(Protocol):
    """A caller's future (asyncio's): resolved once, awaited by its caller."""

    def done(self) -> bool: ...

    def set_result(self, result: None, /) -> None: ...

    def __await__(self) -> Generator[Any, None, None]: ...


class Timer(Protocol):
    """A timer of the loop's (asyncio's `TimerHandle`)."""

    def cancel(self) -> None: ...


class TimerLoop(Protocol[F_co]):
    """What `Changes` asks of the loop: a future, a callback at a time of its clock, the
    clock."""

    def create_future(self) -> F_co: ...

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object], /) -> Timer: ...


class PumpParts:
    """The sans-IO part of a pump (see the module docstring), mixed into the adapters' pumps.

    Args:
        session: the user's session (its options, callbacks and clock).
        driver: the session's driver.
        clock: the core's ``now`` when the session gives none (the pump's wall clock).
    """

    noted: Callable[[], None]  # the agenda changed: the pump's sleeper looks again

    def __init__(self, session: Any, driver: Driver, clock: Callable[[], float]) -> None:
        self.session, self.driver = session, driver
        self.clock: Callable[[], float] = session.clock or clock  # the core's ``now``
        self.agenda = Agenda()  # the driver's answers for later: wake at, connect, end
        # every attribute the per-order path reads is the instance's from here on (one
        # layout: Python's attribute caches stay specialised)
        self.sock: Any = None  # the connection the pump reads itself (None: none)
        self.unsent = b""  # bytes the connection did not take yet (written first, in order)
        self.close_due = False  # a `Disconnect` came while another thread read: its reader closes

    def write(self, sup: Driver, data: bytes) -> None:  # pragma: no cover - the pump's
        raise NotImplementedError

    def disconnect(self, action: Disconnect | None) -> None:  # pragma: no cover - the pump's
        """Close the connection (``action``: the driver's, which says whether to drop what
        waits; None: a close that fell due)."""
        raise NotImplementedError

    def wake(self) -> None:  # pragma: no cover - the pump's
        """The waiting callers and the pump's sleeper look again."""
        raise NotImplementedError

    def perform(self, sup: Driver, actions: Sequence[Action]) -> None:
        """Do what the driver said, in order: `Write` and `Disconnect` at once (the pump's
        I/O), the rest noted in the agenda (the pump's sleeper then looks again: `noted`)."""
        for action in actions:
            if type(action) is Write:
                self.write(sup, action.data)
            elif type(action) is Disconnect:
                self.disconnect(action)
            elif self.agenda.note(action):
                self.noted()

    def connected(self, sup: Driver) -> None:
        """A connection is open: step `CONNECTED` (the driver answers with the Logon)."""
        self.perform(sup, sup.step(CONNECTED, self.clock()))

    def connect_failed(self, sup: Driver, error: BaseException) -> None:
        """A connection attempt failed with ``error`` (as the pump reports it)."""
        self.perform(sup, sup.step(ConnectFailed(error), self.clock()))

    def failed(self, exc: Exception) -> None:
        """An error raised in a callback of the loop's (the message log's `MessageLogError`, a
        bug): asyncio would only log it (an `OSError` not even that), and the session would go
        on past it. It ends the session instead, raised to the application as an error of the
        session's task is (`Driver.closed_error`), as the blocking and trio adapters do."""
        self.driver.pump_failed(exc)
        self.disconnect(None)  # at once, dropping what waits
        self.wake()  # the session's task ends, the waiting callers see why

    def woke(self, sup: Driver) -> None:
        """The pump's sleeper woke (its timer, or a wake-up): step `WOKE`."""
        self.perform(sup, sup.step(WOKE, self.clock()))

    def timer_in(self) -> float | None:
        """Seconds until the driver's next timer (the agenda's ``wake_at``), None: none (what
        `Readers.background` asks of a background reader that also fires the timers)."""
        at = self.agenda.wake_at
        return None if at == math.inf else at - self.clock()

    def turn(self, sup: Driver, sock: object, fact: Received | Lost | None) -> None:
        """The read turn (every pump reads its socket itself): step what one read of ``sock``
        gave (`Received`, logged; `Lost`; None: nothing came before the wait ended, `WOKE`), do
        what the driver says, write what waits if ``sock`` is still the connection, and close
        it if a `Disconnect` fell due meanwhile. The pump then wakes whoever waits its own way
        (the blocking reader as it gives the socket back, trio's as it returns, asyncio's read
        callback after it)."""
        if fact is None:
            actions = sup.step(WOKE, self.clock())
        elif type(fact) is Received:
            actions = sup.received(fact)
        else:
            actions = sup.step(fact, self.clock())
        if actions:
            self.perform(sup, actions)
        if self.unsent and self.sock is sock:
            self.write(sup, b"")  # the socket may take what waits now
        if self.close_due:
            self.disconnect(None)


class Deadlines:
    """When one timer shared by many waits is armed for (``at``; ``math.inf``: not armed). A
    wait arms it only when it must fire sooner (`sooner`); when it fires every wait looks
    again (one whose deadline is still ahead arms it anew), so waits one after another, each
    ending before its deadline, arm one timer per timeout, not one per wait."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = math.inf

    def sooner(self, deadline: float) -> bool:
        """True when ``deadline`` is sooner than the timer is armed for: the caller arms it
        at ``deadline`` now (kept as ``at``)."""
        if deadline < self.at:
            self.at = deadline
            return True
        return False

    def clear(self) -> None:
        """The timer fired, or is forgotten."""
        self.at = math.inf


class Changes(Deadlines, Generic[F]):
    """The callers waiting for a change (the asyncio pump's): each waits on a future of its own
    (a cancelled caller cancels only its own), and `set` resolves them all. Nothing is
    remembered for later callers: a caller polls its wait and then waits with no await in
    between, so no change can fall between the two. Their deadlines share one timer of the
    loop's (`Deadlines`: armed only when a wait must end sooner; when it fires every caller
    looks again, and one whose deadline is still ahead arms it anew).

    Args:
        running: the running loop (``asyncio.get_running_loop``), asked by each `drive`.
    """

    __slots__ = ("running", "timer", "waiting")

    def __init__(self, running: Callable[[], TimerLoop[F]]) -> None:
        super().__init__()
        self.running = running
        self.waiting: list[F] = []
        self.timer: Timer | None = None

    async def drive(self, wait: Wait[T]) -> T:
        """Run ``wait`` to its end on the running loop, waiting on a future of the caller's
        own between its polls (`wait`); a caller failed or cancelled forgets its future and
        cleans its wait up at once (the asyncio pump's ``drive``, bound once)."""
        loop = self.running()
        waiter: F | None = None
        try:
            now = wait.now
            while (deadline := wait.poll(now)) is not None:
                waiter = self.wait(loop, deadline)
                await waiter
                now = loop.time()
        except BaseException:
            if waiter is not None:
                self.forget(waiter)
            wait.close()  # failed or cancelled: the wait's own clean-up runs now
            raise
        return wait.result

    def wait(self, loop: TimerLoop[F], deadline: float) -> F:
        """A future resolved at the next `set`, or (about) at ``deadline`` (the loop's clock;
        ``math.inf``: none) or later."""
        waiter = loop.create_future()
        self.waiting.append(waiter)
        if self.sooner(deadline):
            if self.timer is not None:
                self.timer.cancel()
            self.timer = loop.call_at(deadline, self._expired)
        return waiter

    def set(self) -> None:
        """Something changed: every waiting caller looks again."""
        waiting = self.waiting
        if waiting:
            self.waiting = []
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(None)

    def forget(self, waiter: F) -> None:
        """A caller stopped waiting (cancelled, or failed)."""
        with contextlib.suppress(ValueError):
            self.waiting.remove(waiter)

    def reset(self) -> None:
        """Forget the timer (a new open: it may run on another event loop)."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = None
        self.clear()

    def _expired(self) -> None:
        self.timer = None
        self.clear()
        self.set()
