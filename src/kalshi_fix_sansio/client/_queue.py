"""The driver's event queue policy and the events and error it produces (private: the public
names are exported by `kalshi_fix_sansio.client.events`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..codec.errors import FixError, LocalProtocolError
from ..session.events import ApplicationMessage, Event

if TYPE_CHECKING:
    from ..observability.metrics import SessionMetrics
    from ..trading.book import Books
    from .supervisor import Supervisor

__all__ = [
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_MAX_MARKET_DATA",
    "EventQueueOverflow",
    "EventsNotRead",
    "FallingBehind",
    "MarketDataFolded",
    "QueuePolicy",
    "TrackingFailed",
]

BOOK_TYPES: Final = frozenset({"W", "X"})  # market-data book messages: folded, not queued alone

DEFAULT_MAX_EVENTS: Final = 150_000
"""Default bound of unread events (other than folded market data) before `EventQueueOverflow`."""

DEFAULT_MAX_MARKET_DATA: Final = 10_000
"""Default number of unread market-data book messages before they are folded."""


def _positive_int(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LocalProtocolError(f"QueuePolicy.{attribute.name} must be an int >= 1, got {value!r}")


def _positive_seconds(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise LocalProtocolError(f"QueuePolicy.{attribute.name} must be > 0 seconds, got {value!r}")


@attrs.frozen
class QueuePolicy:
    """What the driver does when the application reads events more slowly than they come.

    Attributes:
        max_events: most unread events (other than foldable market data) before the driver
            logs out and fails with `EventQueueOverflow`. An unread ExecutionReport event
            holds its frame and its validated message: about 6.7 KB (``bench_memory.py``), so
            the default 150,000 is a budget of about 1 GB.
        max_market_data: most unread market-data book messages (35=W / 35=X) before they
            are folded into one `MarketDataFolded` (the books stay current).
        lag_warning: seconds the oldest unread event may wait before a `FallingBehind` is
            put at the front of the queue (again after the queue has drained). While events
            are queued, the adapter's loop sleeps at most this long between its timer checks,
            so that a message read into an empty queue never has to wake it.
        queue_events: False: events only feed the tracker and the books; none is queued for
            the application (a loop that only calls ``place`` / ``cancel``).

    Until the application takes its first event (a program that only calls ``place`` /
    ``cancel`` never does), the queue neither warns nor fails: no `FallingBehind`, no
    `EventQueueOverflow`; it keeps the newest ``max_events`` events, and one `EventsNotRead`
    at its front says how many older ones were dropped (the tracker and the books had them).
    """

    max_events: int = attrs.field(default=DEFAULT_MAX_EVENTS, validator=_positive_int)
    max_market_data: int = attrs.field(default=DEFAULT_MAX_MARKET_DATA, validator=_positive_int)
    lag_warning: float = attrs.field(default=5.0, validator=_positive_seconds)
    queue_events: bool = True


def make_queue_policy(max_queued_events: int | None, policy: QueuePolicy | None) -> QueuePolicy:
    """The event queue's policy from a session's ``max_queued_events`` and ``queue_policy``.

    Args:
        max_queued_events: most unread events before `EventQueueOverflow` (None: the
            policy's ``max_events``).
        policy: the rest of the policy (None: `QueuePolicy` defaults).

    Returns:
        The policy.

    Raises:
        LocalProtocolError: ``max_queued_events`` is not an integer >= 1, or ``policy`` is
            not a `QueuePolicy`.
    """
    if policy is None:
        policy = QueuePolicy()
    elif not isinstance(policy, QueuePolicy):
        raise LocalProtocolError(f"queue_policy must be a QueuePolicy, got {type(policy).__name__}")
    if max_queued_events is None:
        return policy
    if (
        isinstance(max_queued_events, bool)
        or not isinstance(max_queued_events, int)
        or max_queued_events < 1
    ):
        raise LocalProtocolError(
            f"max_queued_events must be an int >= 1, got {max_queued_events!r}"
        )
    return attrs.evolve(policy, max_events=max_queued_events)


class EventQueueOverflow(FixError):
    """The application left more than ``QueuePolicy.max_events`` events unread: the driver
    logged out rather than drop one. The tracker was current up to the end.

    Attributes:
        queued: how many events were waiting.
        behind: seconds the oldest of them had waited.
    """

    def __init__(self, text: str, *, queued: int, behind: float) -> None:
        super().__init__(text)
        self.queued = queued
        self.behind = behind


@attrs.frozen(slots=True)
class FallingBehind(Event):
    """The application reads events more slowly than they come (put at the front of the queue).

    The tracker and the books are current regardless; the events below this one are older.

    Attributes:
        queued: unread events behind this one.
        behind: seconds the oldest of them has waited.
    """

    queued: int
    behind: float


@attrs.frozen(slots=True)
class EventsNotRead(Event):
    """Events dropped before the application read any (put at the front of the queue).

    More than ``QueuePolicy.max_events`` events waited and the application had never taken
    one, so the oldest were dropped: the order tracker and the books were fed with every one
    of them as it was read. A program that reads events should start reading at once; one
    that only calls ``place`` / ``cancel`` can open with ``QueuePolicy(queue_events=False)``.

    Attributes:
        dropped: how many events were dropped.
    """

    dropped: int


@attrs.frozen(slots=True)
class MarketDataFolded(Event):
    """Unread market-data book messages were folded: the books (``session.books``) are current.

    Attributes:
        folded: how many 35=W / 35=X messages were taken out of the queue.
        symbols: the symbols they were about, sorted.
        behind: seconds the oldest of them had waited.
    """

    folded: int
    symbols: tuple[str, ...]
    behind: float


@attrs.frozen(slots=True)
class TrackingFailed(Event):
    """The order tracker or the books could not take a message (a bug: please report it).

    The message is still delivered (the event before this one).

    Attributes:
        error: the exception, in words.
    """

    error: str


def is_book(event: Event) -> bool:
    """A market-data book message (35=W / 35=X): folded when too many wait."""
    return isinstance(event, ApplicationMessage) and event.message.MSG_TYPE in BOOK_TYPES


def book_symbols(event: Event) -> list[str]:
    """The symbols a book message is about (`MarketDataFolded` names them)."""
    message: Any = getattr(event, "message", None)
    symbol = getattr(message, "symbol", None)
    if isinstance(symbol, str):
        return [symbol]
    entries = getattr(message, "md_entries", None) or ()
    return [s for e in entries if isinstance(s := getattr(e, "symbol", None), str)]


class QueueDriving:
    """`Driver <kalshi_fix_sansio.client.driver.Driver>`'s event queue: the application's reads, and
    what the driver queues under its `QueuePolicy` (its methods; the driver makes the queue
    at each open)."""

    policy: QueuePolicy
    metrics: SessionMetrics
    books: Books | None
    supervisor: Supervisor
    observer: Callable[[Event], None] | None
    _queue: deque[tuple[Event, float]]
    _market_data: int
    _warned: bool
    _reading: bool
    _not_read: int
    _last_input: float
    _failure: FixError | None

    def next_event(self, now: float | None = None) -> Event | None:
        """The oldest unread event, or None.

        ``now`` (optional, on every read method): the current time, which lets the first read
        of an application that starts reading late be told `FallingBehind` at once.
        """
        if not self._reading:
            self._first_read(now)
        if not self._queue:
            return None
        event = self._queue.popleft()[0]
        self._taken(event)
        return event

    def next_event_with_time(self, now: float | None = None) -> tuple[Event, float] | None:
        """The oldest unread event and its receive time, or None.

        The receive time is the ``now`` of the input that produced the event: for a message,
        the ``now`` given to `receive_data` with the bytes that completed it (the adapters
        pass their clock's UTC epoch seconds). The driver reads no clock: it is the time the
        caller said. A `FallingBehind` carries the time of the oldest event behind it.
        """
        if not self._reading:
            self._first_read(now)
        if not self._queue:
            return None
        item = self._queue.popleft()
        self._taken(item[0])
        return item

    def take(self, predicate: Callable[[Event], bool], now: float | None = None) -> Event | None:
        """Remove and return the first unread event satisfying ``predicate`` (others stay)."""
        item = self.take_with_time(predicate, now)
        return None if item is None else item[0]

    def take_with_time(
        self, predicate: Callable[[Event], bool], now: float | None = None
    ) -> tuple[Event, float] | None:
        """`take`, with the event's receive time (as `next_event_with_time`)."""
        if not self._reading:
            self._first_read(now)
        for index, item in enumerate(self._queue):
            if predicate(item[0]):
                del self._queue[index]
                self._taken(item[0])
                return item
        return None

    @property
    def queued(self) -> int:
        """How many events wait unread."""
        return len(self._queue)

    def lag(self, now: float) -> float:
        """Seconds the oldest unread event has waited (0.0 when none waits)."""
        return max(now - self._queue[0][1], 0.0) if self._queue else 0.0

    def _depth(self) -> int:
        return len(self._queue)

    def _lag_bound(self) -> float | None:
        """The loop part's wake-up bound (`Loop.deadline`): ``lag_warning`` while reads may
        queue events (a connection in use, events queued for the application)."""
        policy = self.policy
        if not policy.queue_events or self._failure is not None or not self._reading:
            return None
        return policy.lag_warning if self.supervisor.wants_transport else None

    def _first_read(self, now: float | None) -> None:
        """The application reads: from now on it is warned when it falls behind, at once if
        the oldest event already waited ``lag_warning`` (until now, nobody was reading)."""
        self._reading = True
        if now is None:
            now = self._last_input
        queue = self._queue
        if queue and now - queue[0][1] >= self.policy.lag_warning:
            self._warn(now)

    def _taken(self, event: Event) -> None:
        if (  # `_is_book`, inline
            self._market_data
            and event.__class__ is ApplicationMessage
            and event.message.MSG_TYPE in BOOK_TYPES
        ):
            self._market_data -= 1
        if not self._queue:
            self._warned = False

    def _warn(self, now: float) -> None:
        """Put a `FallingBehind` at the front of the queue, as old as the oldest event."""
        queue = self._queue
        self._warned = True
        behind = FallingBehind(len(queue), now - queue[0][1])
        self.metrics.on_event(behind, now)
        if self.observer is not None:
            self.observer(behind)
        queue.appendleft((behind, queue[0][1]))  # as old as the oldest: `lag` holds

    def _put(self, event: Event, now: float) -> None:
        policy = self.policy
        if not policy.queue_events or self._failure is not None:
            return
        queue = self._queue
        queue.append((event, now))
        if len(queue) > self.metrics.queue_high_water:
            self.metrics.queue_high_water = len(queue)
        if (  # `_is_book`, inline (an application message is of that class exactly)
            self.books is not None
            and event.__class__ is ApplicationMessage
            and event.message.MSG_TYPE in BOOK_TYPES
        ):
            self._market_data += 1
            if self._market_data > policy.max_market_data:
                self._fold(now)
        elif len(queue) - self._market_data - (self._not_read > 0) > policy.max_events:
            if self._reading:
                self._overflow(now)
            else:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        """Nobody read an event yet and too many wait: drop the oldest, say so at the front."""
        queue = self._queue
        at = 1 if self._not_read else 0  # behind the `EventsNotRead` already in front
        oldest = queue[at]
        del queue[at]
        if is_book(oldest[0]):
            self._market_data -= 1
        self._not_read += 1
        notice = (EventsNotRead(self._not_read), queue[0][1] if at else oldest[1])
        if at:
            queue[0] = notice
        else:
            queue.appendleft(notice)

    def _fold(self, now: float) -> None:
        kept: deque[tuple[Event, float]] = deque()
        symbols: set[str] = set()
        folded, oldest = 0, now
        for event, at in self._queue:
            if is_book(event):
                folded += 1
                oldest = min(oldest, at)
                symbols.update(book_symbols(event))
            else:
                kept.append((event, at))
        notice = MarketDataFolded(folded, tuple(sorted(symbols)), now - oldest)
        self.metrics.on_event(notice, now)
        if self.observer is not None:
            self.observer(notice)
        kept.append((notice, now))
        self._queue = kept
        self._market_data = 0

    def _overflow(self, now: float) -> None:
        queued, behind = len(self._queue), self.lag(now)
        self._failure = EventQueueOverflow(
            f"{queued} events wait unread, over the limit of {self.policy.max_events} "
            f"(QueuePolicy.max_events / max_queued_events); the oldest has waited {behind:.1f} s. "
            "The application stopped reading events: the session logged out rather than drop "
            "one (the order tracker is current). Read events faster, raise the limit, or pass "
            "queue_events=False if you only use place() / cancel() and the tracker",
            queued=queued,
            behind=behind,
        )
        self.supervisor.close(now)
