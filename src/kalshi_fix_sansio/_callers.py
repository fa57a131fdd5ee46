"""What an adapter's callers wait for, who reads the socket, what the callbacks get: sans-IO.

Three parts every adapter used to write for itself (this module is private; the adapters use
it through `kalshi_fix_sansio.driver`, which re-exports its names):

* **the waits** (`wait_event`, `paced_send`, `settle`, `await_kill`, `until`): what
  ``next_event`` / ``wait_for``, a rate-limit wait, ``place`` / ``cancel``, ``kill`` and
  ``run`` / ``open`` wait for, what their timeout means and what ends them. Each is a *plan*: a
  generator that yields the deadline until which the adapter waits for a change (on the
  adapter's own wait clock; ``math.inf``: none) and is sent that clock's time once it woke; it
  returns the wait's result or raises its error. An adapter drives a plan with its one waiting
  primitive (`drive`: blocking; ``await`` in the async adapters), reading the socket meanwhile
  when `Readers` lets it.
* **the reader hand-over** (`Readers`): the caller that waits reads the socket itself, so a
  report reaches it with no hand-off; the background reader (a thread or a task) reads only
  while nobody waits, from ``handoff`` seconds after a waiting caller last read it.
* **event delivery** (`Delivery`): which event ``on_event`` gets next, when ``on_reconnect``
  is due, and when each delivered event's bytes were read (``received_at``).

The module reads no clock and does no I/O: every time is passed in.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Final, Protocol, TypeVar

from .events import Event
from .supervisor import Reconnected

if TYPE_CHECKING:
    from ._message import Message
    from ._pump import OrderWaiter
    from .killswitch import KillSwitch
    from .tracker import TrackedOrder

__all__ = [
    "Delivery",
    "Plan",
    "Readers",
    "WaitHost",
    "any_event",
    "await_kill",
    "drive",
    "matched",
    "paced_send",
    "settle",
    "until",
    "wait_event",
]

T = TypeVar("T")

Plan = Generator[float, float, T]
"""A wait: yields a deadline (the adapter's wait clock; ``math.inf``: none) to wait for a change
until, is sent the wait clock's time after waking, returns the result (or raises)."""

RECEIVED_AT_KEPT: Final = 4096
"""How many of the last events delivered `Delivery.received_at` remembers."""


class WaitHost(Protocol):
    """What a plan asks of the session it waits on (every adapter's session provides it)."""

    def _take(self, predicate: Callable[[Event], bool]) -> Event | None:
        """The first unread event satisfying ``predicate`` (taken), or None."""

    def _ended(self) -> bool:
        """The session's thread or task is not running (never started, or finished)."""

    def _closed_error(self) -> Exception:
        """What a wait on an ended session raises."""

    def _offer(
        self, message: Message, *, resubscribe: bool = False, wait: bool = True
    ) -> tuple[int | None, float]:
        """Send ``message`` now: ``(MsgSeqNum, 0.0)``, or ``(None, delay)``: not before ``delay``
        seconds (the rate limiter's wait)."""

    def _forget(self, waiter: OrderWaiter) -> None:
        """Stop settling ``waiter``."""


def _deadline(now: float, timeout: float | None) -> float:
    return math.inf if timeout is None else now + timeout


def drive(plan: Plan[T], wait: Callable[[float], float]) -> T:
    """Run ``plan`` with a blocking ``wait(deadline)``, which waits for a change until
    ``deadline`` and returns the wait clock's time (the async adapters drive plans the same
    way with ``await``)."""
    try:
        deadline = next(plan)
        while True:
            deadline = plan.send(wait(deadline))
    except StopIteration as stop:
        result: T = stop.value
        return result


def any_event(_: Event) -> bool:
    """The predicate of ``next_event``: any event."""
    return True


def matched(event: Event | None, timeout: float | None) -> Event:
    """The event ``wait_for`` found; None (nothing matched in time) raises `TimeoutError`."""
    if event is None:
        raise TimeoutError(f"no matching event within {timeout:g} s")
    return event


def wait_event(
    host: WaitHost, predicate: Callable[[Event], bool], timeout: float | None, now: float
) -> Plan[Event | None]:
    """``next_event`` / ``wait_for``: the first unread event satisfying ``predicate`` (skipped
    events stay queued); None once ``timeout`` seconds passed with none (None: wait forever).
    Raises what ended the session, once no event is left to return."""
    deadline = _deadline(now, timeout)
    while (event := host._take(predicate)) is None:
        if now >= deadline:
            return None
        if host._ended():
            raise host._closed_error()
        now = yield deadline
    return event


def _paced(
    host: WaitHost, message: Message, now: float, resubscribe: bool
) -> Generator[float, float, tuple[int, float]]:
    while True:
        seq, delay = host._offer(message, resubscribe=resubscribe)
        if seq is not None:
            return seq, now
        deadline = now + delay
        while now < deadline:
            now = yield deadline


def paced_send(
    host: WaitHost, message: Message, now: float, *, resubscribe: bool = False
) -> Plan[int]:
    """Send ``message``, first waiting as long as the core's rate limiter says (``rate_limit=
    "wait"``; the session's ``_offer`` decides); returns its MsgSeqNum."""
    seq, _ = yield from _paced(host, message, now, resubscribe)
    return seq


def settle(
    host: WaitHost, waiter: OrderWaiter, message: Message, timeout: float | None, now: float
) -> Plan[TrackedOrder]:
    """``place`` / ``cancel``: send ``message`` (paced; that wait is not counted in
    ``timeout``), then wait until the driver settled ``waiter``: its outcome, or
    ``waiter.timeout_error`` after ``timeout`` seconds, or what ended the session."""
    try:
        _, now = yield from _paced(host, message, now, False)
        deadline = _deadline(now, timeout)
        while not waiter.done:
            if now >= deadline:
                raise waiter.timeout_error(timeout)
            if host._ended():
                raise host._closed_error()
            now = yield deadline
    finally:
        if not waiter.done:
            host._forget(waiter)
    return waiter.outcome()


def await_kill(host: WaitHost, kill: KillSwitch, deadline: float, now: float) -> Plan[None]:
    """``kill`` / ``kill_all``: wait until ``kill`` finished, ``deadline`` (the wait clock)
    passed or the session ended (the report says which)."""
    while kill.finished_at is None and now < deadline and not host._ended():
        now = yield deadline


def until(
    host: WaitHost, done: Callable[[], bool], callbacks_left: Callable[[], bool] | None = None
) -> Plan[bool]:
    """``run`` / ``open``: wait until ``done()`` or the session ended; then, if
    ``callbacks_left`` is given, until it is false or ``done()`` (the last callbacks of a
    callback thread). Returns ``done()``."""
    while not done() and not host._ended():
        yield math.inf
    while callbacks_left is not None and callbacks_left() and not done():
        yield math.inf
    return done()


class Readers:
    """Who reads the connection (the rule of every adapter whose callers read it themselves).

    The caller that waits reads the socket itself (`claim`: ``"read"``) unless another reader
    has it: a background reader hands it over (``"preempt"``: make it stop, then rest until
    woken), another waiting caller keeps it (``"rest"``). The background reader reads only
    while nobody waits, from ``handoff`` seconds after a waiting caller last read
    (`background`). Readers are named by any token the adapter likes (a thread, a task).

    Args:
        handoff: seconds the socket may go unread after a waiting caller read it before the
            background reader reads it.
    """

    __slots__ = ("active", "background_reads", "handoff", "reader", "waiting")

    def __init__(self, handoff: float) -> None:
        self.handoff = handoff
        self.reader: object = None
        """Who reads now (None: nobody)."""
        self.background_reads = False
        """The reader is the background one."""
        self.waiting = 0
        """Callers in a wait (between `enter` and `leave`)."""
        self.active = -math.inf
        """When a waiting caller last finished reading (the adapter's wait clock)."""

    def reset(self) -> None:
        """A new open: nobody has read yet."""
        self.reader, self.background_reads, self.active = None, False, -math.inf

    def enter(self) -> None:
        """A caller starts waiting."""
        self.waiting += 1

    def leave(self) -> bool:
        """A caller stops waiting; True when another still waits (wake it: it may read now)."""
        self.waiting -= 1
        return self.waiting > 0

    def claim(self, who: object) -> str:
        """Waiting caller ``who`` wants to read: ``"read"`` (it reads now, then `release`),
        ``"preempt"`` (the background reader has it: stop it, then rest) or ``"rest"``."""
        if self.reader is None:
            self.reader, self.background_reads = who, False
            return "read"
        return "preempt" if self.background_reads else "rest"

    def release(self, now: float) -> bool:
        """The reader read once and gives the socket back at ``now``; True when a caller
        waits (wake it: it takes the socket)."""
        if not self.background_reads:
            self.active = now
        self.reader, self.background_reads = None, False
        return self.waiting > 0

    def background(self, now: float, who: object, timer_in: float | None = None) -> float:
        """The background reader ``who`` asks at ``now``: 0.0 means read now (then `release`);
        otherwise rest that many seconds and ask again. ``timer_in``: seconds until the core's
        next timer, when the background reader also fires the timers (one due is not put
        off)."""
        if self.reader is not None or self.waiting:
            return self.handoff
        quiet = self.active + self.handoff - now
        if quiet > 0 and (timer_in is None or timer_in > 0):
            return quiet if timer_in is None else min(quiet, timer_in)
        self.reader, self.background_reads = who, True
        return 0.0


class Delivery:
    """What the application gets, and when: ``on_event`` takes every event in order,
    ``on_reconnect`` is due after each `Reconnected` (after ``on_event`` got it), and every
    event delivered (by a callback or a read) is remembered with the time its bytes were read.

    Args:
        on_event: there is an ``on_event`` callback.
        on_reconnect: there is an ``on_reconnect`` callback.
    """

    __slots__ = ("_delivered", "on_event", "on_reconnect", "reconnected")

    def __init__(self, on_event: bool, on_reconnect: bool) -> None:
        self.on_event, self.on_reconnect = on_event, on_reconnect
        self.reconnected = False
        """A `Reconnected` was read: ``on_reconnect`` is due."""
        self._delivered: deque[tuple[Event, float]] = deque(maxlen=RECEIVED_AT_KEPT)

    def observe(self, event: Event) -> None:
        """Every event as the driver reads it: a `Reconnected` makes ``on_reconnect`` due."""
        if self.on_reconnect and isinstance(event, Reconnected):
            self.reconnected = True

    def due(self, queued: int) -> bool:
        """A callback has work: ``on_event`` and ``queued`` events, or ``on_reconnect``."""
        return self.reconnected or (self.on_event and queued > 0)

    def take_callback(
        self, next_event: Callable[[], tuple[Event, float] | None]
    ) -> tuple[Event | None, bool]:
        """The next event for ``on_event`` (from ``next_event``, the driver's; None: none, or
        no ``on_event``), and whether ``on_reconnect`` is due now (after that event: when it is
        the `Reconnected`, or none is left)."""
        item = next_event() if self.on_event else None
        event = None
        if item is not None:
            self._delivered.append(item)
            event = item[0]
        if event is None or isinstance(event, Reconnected) or not self.on_event:
            due, self.reconnected = self.reconnected, False
            return event, due
        return event, False

    def delivered(self, item: tuple[Event, float] | None) -> Event | None:
        """An event a reader took (with when its bytes were read), remembered."""
        if item is None:
            return None
        self._delivered.append(item)
        return item[0]

    def received_at(self, event: Event) -> float | None:
        """When the bytes of ``event``, one of the last `RECEIVED_AT_KEPT` delivered, were
        read (None: not one of them)."""
        for delivered, at in reversed(self._delivered):
            if delivered is event:
                return at
        return None
