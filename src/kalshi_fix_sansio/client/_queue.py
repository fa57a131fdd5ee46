"""The event queue's policy and the events and error it produces (private: the public names are
exported by `kalshi_fix_sansio.client.events`; the queue itself is the driver's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from ..codec.errors import FixError, LocalProtocolError
from ..session.events import ApplicationMessage, Event

if TYPE_CHECKING:
    pass

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
