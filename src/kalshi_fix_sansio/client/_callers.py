"""What an adapter's callers wait for, who reads the socket, what the callbacks get: sans-IO.

Parts every adapter used to write for itself (this module is private; adapters reach it through
`kalshi_fix_sansio.client.pump`):

* **the waits** (`WaitEvent`, `PacedSend`, `Settle`, `AwaitKill`, `Until`): what
  ``next_event`` / ``wait_for``, a rate-limit wait, ``place`` / ``cancel``, ``kill`` and
  ``run`` / ``open`` wait for, what their timeout means and what ends them. Each is a `Wait`:
  polled with the adapter's wait clock, it answers the deadline until which the adapter waits
  for a change (``math.inf``: none) or None once finished (its ``result``, or it raised the
  wait's error). An adapter runs every wait with its one waiting primitive (`drive`: blocking;
  ``await`` in the async adapters), reading the socket meanwhile when `Readers` lets it.
* **the reader hand-over** is `_readers.Readers` (a table of its own, drawn in the docs): the
  caller that waits reads the socket itself, the background reader only while nobody waits.
* **event delivery** (`Delivery`): which event ``on_event`` gets next, when ``on_reconnect``
  is due, and when each delivered event's bytes were read (``received_at``).

The module reads no clock and does no I/O: every time is passed in.
"""

from __future__ import annotations

import math
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Generic, Protocol, TypeVar

from ..session.events import Event
from ..trading.tracker import TrackedOrder
from .supervisor import Reconnected

if TYPE_CHECKING:
    from ..codec import Message
    from ..trading.killswitch import KillSwitch
    from ._desk import OrderWaiter

__all__ = [
    "AwaitKill",
    "Delivery",
    "PacedSend",
    "Settle",
    "Until",
    "Wait",
    "WaitEvent",
    "WaitHost",
    "any_event",
    "drive",
    "matched",
]

T = TypeVar("T")
_ref = weakref.ref

RECEIVED_AT_KEPT: Final = 4096
"""How many of the last events delivered `Delivery.received_at` remembers (by weak reference:
an event the application let go of is freed as it would be without it)."""


class WaitHost(Protocol):
    """What a wait asks of the session it waits on: the adapters' session objects give the
    waits their `Driver <kalshi_fix_sansio.client.driver.Driver>`, and a loop of your own any
    object with these five methods."""

    def take_event(self, predicate: Callable[[Event], bool]) -> Event | None:
        """The first unread event satisfying ``predicate`` (taken), or None."""

    def ended(self) -> bool:
        """The session's thread or task is not running (never started, or finished)."""

    def closed_error(self) -> Exception:
        """What a wait on an ended session raises."""

    def offer(
        self, message: Message, *, resubscribe: bool = False, wait: bool = True
    ) -> tuple[int | None, float]:
        """Send ``message`` now: ``(MsgSeqNum, 0.0)``, or ``(None, delay)``: not before ``delay``
        seconds (the rate limiter's wait)."""

    def give_up(self, waiter: OrderWaiter) -> None:
        """Stop settling ``waiter``."""


def _deadline(now: float, timeout: float | None) -> float:
    return math.inf if timeout is None else now + timeout


class Wait(Generic[T]):
    """One wait of a caller, begun at ``now`` (the adapter's wait clock). The adapter calls
    `poll` with the wait clock's time, first with `now`: a deadline (``math.inf``: none) means
    wait for a change until then and poll again; None means finished: `result` holds the
    result (or `poll` raised the wait's error). `close` when the caller stops polling (done,
    failed or cancelled; a wait that finished has nothing left to undo)."""

    __slots__ = ("now", "result")

    result: T

    def __init__(self, now: float) -> None:
        self.now = now

    def poll(self, now: float) -> float | None:
        raise NotImplementedError  # pragma: no cover - each wait says

    def close(self) -> None:
        """The caller stopped waiting (nothing to undo unless the wait says)."""


def drive(wait: Wait[T], wait_for_change: Callable[[float], float]) -> T:
    """Run ``wait`` with a blocking ``wait_for_change(deadline)``, which waits for a change until
    ``deadline`` and returns the wait clock's time (the async adapters do the same with
    ``await``)."""
    try:
        now = wait.now
        while (deadline := wait.poll(now)) is not None:
            now = wait_for_change(deadline)
    except BaseException:
        wait.close()
        raise
    return wait.result


def drive_next_event(
    host: WaitHost, timeout: float | None, now: float, wait_for_change: Callable[[float], float]
) -> Event | None:
    """``drive(WaitEvent(host, any_event, timeout, now), wait_for_change)`` (``next_event``'s
    wait), its loop written out: the oldest unread event, looked for at ``now`` and after each
    change; None once ``timeout`` seconds passed with none; what ended the session raised once
    none is left. The same looks in the same order as `WaitEvent.poll`, without the wait
    object and a ``poll`` call per look (a pump whose wait for a change is one call: a
    simulation's)."""
    deadline = math.inf if timeout is None else now + timeout
    while (event := host.take_event(any_event)) is None:
        if now >= deadline:
            return None
        if host.ended():
            raise host.closed_error()
        now = wait_for_change(deadline)
    return event


def any_event(_: Event) -> bool:
    """The predicate of ``next_event``: any event."""
    return True


def matched(event: Event | None, timeout: float | None) -> Event:
    """The event ``wait_for`` found; None (nothing matched in time) raises `TimeoutError`."""
    if event is None:
        raise TimeoutError(f"no matching event within {timeout:g} s")
    return event


class WaitEvent(Wait[Event | None]):
    """``next_event`` / ``wait_for``: the first unread event satisfying ``predicate`` (skipped
    events stay queued); None once ``timeout`` seconds passed with none (None: wait forever).
    Raises what ended the session, once no event is left to return."""

    __slots__ = ("deadline", "host", "predicate")

    def __init__(
        self, host: WaitHost, predicate: Callable[[Event], bool], timeout: float | None, now: float
    ) -> None:
        self.now, self.result = now, None
        self.host, self.predicate = host, predicate
        self.deadline = math.inf if timeout is None else now + timeout

    def poll(self, now: float) -> float | None:
        host = self.host
        event = host.take_event(self.predicate)
        if event is not None:
            self.result = event
            return None
        if now >= self.deadline:
            return None
        if host.ended():
            raise host.closed_error()
        return self.deadline


class PacedSend(Wait[int]):
    """Send ``message``, first waiting as long as the core's rate limiter says (the session's
    ``offer`` decides: ``rate_limit="wait"``); `result`: its MsgSeqNum."""

    __slots__ = ("at", "host", "message", "resubscribe")

    def __init__(
        self, host: WaitHost, message: Message, now: float, *, resubscribe: bool = False
    ) -> None:
        self.now = now
        self.host, self.message, self.resubscribe = host, message, resubscribe
        self.at = -math.inf  # when to offer it again

    def poll(self, now: float) -> float | None:
        if now < self.at:
            return self.at
        seq, delay = self.host.offer(self.message, resubscribe=self.resubscribe)
        if seq is not None:
            self.result = seq
            return None
        self.at = now + delay
        return self.at


class Settle(Wait[TrackedOrder]):
    """``place`` / ``cancel``: send ``message`` (paced; that wait is not counted in
    ``timeout``), then wait until the driver settled ``waiter``: its outcome, or
    ``waiter.timeout_error`` after ``timeout`` seconds, or what ended the session. Closed
    unsettled (given up, failed, cancelled), it forgets the waiter."""

    __slots__ = ("deadline", "host", "pacing", "timeout", "waiter")

    def __init__(
        self,
        host: WaitHost,
        waiter: OrderWaiter,
        message: Message,
        timeout: float | None,
        now: float,
    ) -> None:
        self.now = now
        self.host, self.waiter, self.timeout = host, waiter, timeout
        self.pacing: PacedSend | None = PacedSend(host, message, now)
        self.deadline = math.inf

    def poll(self, now: float) -> float | None:
        pacing = self.pacing
        if pacing is not None:
            deadline = pacing.poll(now)
            if deadline is not None:
                return deadline
            self.pacing = None
            self.deadline = _deadline(now, self.timeout)
        waiter = self.waiter
        if waiter.done:
            self.result = waiter.outcome()
            return None
        if now >= self.deadline:
            raise waiter.timeout_error(self.timeout)
        if self.host.ended():
            raise self.host.closed_error()
        return self.deadline

    def close(self) -> None:
        if not self.waiter.done:
            self.host.give_up(self.waiter)


class AwaitKill(Wait[None]):
    """``kill`` / ``kill_all``: wait until ``kill`` finished, ``deadline`` (the wait clock)
    passed or the session ended (the report says which)."""

    __slots__ = ("deadline", "host", "kill")

    def __init__(self, host: WaitHost, kill: KillSwitch, deadline: float, now: float) -> None:
        self.now, self.result = now, None
        self.host, self.kill, self.deadline = host, kill, deadline

    def poll(self, now: float) -> float | None:
        if self.kill.finished_at is None and now < self.deadline and not self.host.ended():
            return self.deadline
        return None


class Until(Wait[bool]):
    """``run`` / ``open``: wait until ``done()`` or the session ended; then, if
    ``callbacks_left`` is given, until it is false or ``done()`` (the last callbacks of a
    callback thread). `result`: ``done()``."""

    __slots__ = ("callbacks_left", "done", "host")

    def __init__(
        self,
        host: WaitHost,
        done: Callable[[], bool],
        callbacks_left: Callable[[], bool] | None = None,
        now: float = 0.0,
    ) -> None:
        self.now = now
        self.host, self.done, self.callbacks_left = host, done, callbacks_left

    def poll(self, now: float) -> float | None:
        done = self.done()
        if not done and not self.host.ended():
            return math.inf
        left = self.callbacks_left
        if not done and left is not None and left():
            return math.inf
        self.result = done
        return None


class _Queued(Protocol):
    @property
    def queued(self) -> int: ...


class Delivery:
    """What the application gets, and when: ``on_event`` takes every event in order,
    ``on_reconnect`` is due after each `Reconnected` (after ``on_event`` got it), and every
    event delivered (by a callback or a read) is remembered with the time its bytes were read
    (by a weak reference: the events the application keeps are the ones it can ask about, and
    holding every delivered message alive cost the garbage collector about 11k instructions
    per tick to trade while the last `RECEIVED_AT_KEPT` filled). The references and the times
    are two deques, not one of pairs: a pair is one more object per event for every full
    collection of the process to walk, a float in a deque none.

    Args:
        on_event: there is an ``on_event`` callback.
        on_reconnect: there is an ``on_reconnect`` callback.
    """

    __slots__ = ("on_event", "on_reconnect", "recent", "reconnected", "times")

    def __init__(self, on_event: bool, on_reconnect: bool) -> None:
        self.on_event, self.on_reconnect = on_event, on_reconnect
        self.reconnected = False
        """A `Reconnected` was read: ``on_reconnect`` is due."""
        self.recent: deque[weakref.ref[Event]] = deque(maxlen=RECEIVED_AT_KEPT)
        """The last events delivered (weak references)."""
        self.times: deque[float] = deque(maxlen=RECEIVED_AT_KEPT)
        """When the bytes of each of `recent` were read."""

    def delivered(self, item: tuple[Event, float]) -> Event:
        """An event a reader took (with when its bytes were read), remembered; the event."""
        event = item[0]
        self.recent.append(_ref(event))
        self.times.append(item[1])
        return event

    def observe(self, event: Event) -> None:
        """Every event as the driver reads it: a `Reconnected` makes ``on_reconnect`` due."""
        if self.on_reconnect and isinstance(event, Reconnected):
            self.reconnected = True

    def due(self, driver: _Queued) -> bool:
        """A callback has work: ``on_event`` and events queued in ``driver``, or
        ``on_reconnect``."""
        return self.reconnected or (self.on_event and driver.queued > 0)

    def take_callback(
        self, next_event: Callable[[], tuple[Event, float] | None]
    ) -> tuple[Event | None, bool]:
        """The next event for ``on_event`` (from ``next_event``, the driver's; None: none, or
        no ``on_event``), and whether ``on_reconnect`` is due now (after that event: when it is
        the `Reconnected`, or none is left)."""
        item = next_event() if self.on_event else None
        event = None
        if item is not None:
            event = self.delivered(item)
        if event is None or isinstance(event, Reconnected) or not self.on_event:
            due, self.reconnected = self.reconnected, False
            return event, due
        return event, False

    def received_at(self, event: Event) -> float | None:
        """When the bytes of ``event``, one of the last `RECEIVED_AT_KEPT` delivered, were
        read (None: not one of them)."""
        if event is None:  # what a freed event's reference answers
            return None
        for delivered, at in zip(reversed(self.recent), reversed(self.times), strict=True):
            if delivered() is event:
                return at
        return None
