"""The Logon budget of one Kalshi account, sans-IO: when each of its sessions may log on.

Kalshi rate-limits Logons (the rate is not published) and answers one over the limit with a
Logout ``58=rate limit exceeded``. A desk's sessions of one account (one API key each) that drop
together must therefore not all log on again at once. `LogonSchedule` hands out Logon slots:

* at most ``rate`` Logons a second: two slots are at least ``1 / rate + margin`` seconds apart
  (a bucket of one Logon), counted from the moment the Logon is handed to the wire
  (`Ticket.sent`: the step that signs it and gives its bytes to the pump, which writes them
  before it reads its clock again), never from the grant or the connection; no slot is given
  while a granted session has not sent its Logon yet. ``margin`` covers what happens between
  our write and the exchange's count (network, TLS, the exchange's own processing): an exchange
  that counts a Logon a little late and the next one promptly sees them closer than we sent
  them (on loopback TLS, 15-60 ms closer);
* in order of rank (`Ticket.rank`: order entry 0 first, market data last): a session is due
  ``gather`` seconds after it asked at the earliest (or when its own backoff says, if later),
  and a slot goes to the lowest rank among the sessions due within ``gather`` of it (the slot
  then waits for that one to be due), so that sessions dropped together are all asking before
  the first slot is given and go in rank order, whatever order their drops were read in.

A `Supervisor <kalshi_fix_sansio.client.supervisor.Supervisor>` holds one `Ticket`: `Ticket.want` when
it plans a connection, `Ticket.slot` when its wake-up comes (the answer is when to connect:
``now`` once granted, else a later time to look again), `Ticket.sent` once the connection is
made and its Logon is handed to the wire, `Ticket.failed` when the connection could not be made, and
`Ticket.leave` when it ends. Nothing here reads a clock: ``now`` is an argument. The sessions
of a blocking client run in threads of their own: that adapter gives the schedule a lock
(`LogonSchedule.guard_with`), which every `Ticket` call holds.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Final

__all__ = ["DEFAULT_LOGON_MARGIN", "LOGON_SPACING_SLACK", "LogonSchedule", "Ticket"]

DEFAULT_LOGON_MARGIN: Final = 0.25
"""Seconds added to the spacing of two Logons of an account (``1 / rate`` apart at least), for
the jitter between our write and the exchange's count of it: the (n+1)-th Logon after the
first of a full second then lands ``n * margin`` seconds clear of that second's window."""

LOGON_SPACING_SLACK: Final = 1e-6
"""Seconds added to each slot's spacing, so that float sums of ``1 / rate`` never land a hair
inside a window of the exchange's count."""

_IDLE: Final = 0  # logged on, or between a Logon and the next plan
_PENDING: Final = 1  # asked for a slot
_GRANTED: Final = 2  # granted: connecting, its Logon not sent yet


class Ticket:
    """One session's place in its account's `LogonSchedule` (see the module docstring).

    Attributes:
        rank: its order among the account's sessions (0 first).
        name: how reports name it (its session type and key).
    """

    __slots__ = ("__weakref__", "_asked", "_due", "_order", "_schedule", "_state", "name", "rank")

    def __init__(self, schedule: LogonSchedule, rank: int, name: str, order: int) -> None:
        self._schedule = schedule
        self.rank = rank
        self.name = name
        self._order = order
        self._state = _IDLE
        self._asked = 0.0  # when the pending request was first made
        self._due = 0.0  # the earliest it may log on

    @property
    def pending(self) -> bool:
        """It asked for a slot and was not granted one yet."""
        return self._state == _PENDING

    def want(self, earliest: float, now: float) -> float:
        """Ask for a Logon slot at ``earliest`` or later (its backoff's time).

        Returns:
            When to connect (``now``: granted now) or to look again with `slot`.
        """
        with self._schedule.guard:
            if self._state != _PENDING:
                self._state, self._asked = _PENDING, now
            self._due = max(earliest, self._asked + self._schedule.gather)
            return self._slot(now)

    def slot(self, now: float) -> float:
        """Its slot as the schedule stands at ``now``: ``now`` when it may log on now (the
        slot is then taken: connect), else the time to look again. A ticket not asking (idle,
        granted) answers ``now``."""
        with self._schedule.guard:
            return self._slot(now)

    def _slot(self, now: float) -> float:
        if self._state != _PENDING:
            return now
        at = self._schedule.slot_of(self, now)
        if at <= now:
            self._state = _GRANTED
            self._schedule.granted(now)
            return now
        return at

    def sent(self, now: float) -> None:
        """Its Logon is handed to the wire now (signed, its bytes given to the pump): the
        account's next Logon is spaced from here."""
        with self._schedule.guard:
            if self._state == _GRANTED:
                self._schedule.released()
            self._state = _IDLE
            self._schedule.logged_on(now)

    def failed(self) -> None:
        """The connection could not be made (no Logon was sent); it asks again with `want`."""
        with self._schedule.guard:
            self._release()

    def _release(self) -> None:
        if self._state == _GRANTED:
            self._schedule.released()
        self._state = _IDLE

    def leave(self) -> None:
        """Its session ended for good: it no longer asks, and holds no slot."""
        with self._schedule.guard:
            self._release()
            self._schedule.tickets.discard(self)


class LogonSchedule:
    """Logon slots of one account's sessions (see the module docstring).

    Args:
        rate: most Logons per second (> 0).
        gather: seconds a session waits after asking before it may log on, so that sessions
            dropped together are ordered by rank (>= 0).
        margin: seconds added to each spacing of ``1 / rate`` (>= 0; `DEFAULT_LOGON_MARGIN`).

    Raises:
        ValueError: a rate that is not > 0 and finite, or a negative gather or margin.
    """

    __slots__ = (
        "_count",
        "_granted",
        "_last",
        "gather",
        "guard",
        "interval",
        "logons",
        "margin",
        "rate",
        "tickets",
    )

    def __init__(self, rate: float, gather: float, margin: float = DEFAULT_LOGON_MARGIN) -> None:
        if not 0 <= gather < math.inf:
            raise ValueError(f"gather must be seconds >= 0, got {gather!r}")
        if not 0 <= margin < math.inf:
            raise ValueError(f"the Logon margin must be seconds >= 0, got {margin!r}")
        self.margin = margin
        self.set_rate(rate)
        self.gather = gather
        self.tickets: weakref.WeakSet[Ticket] = weakref.WeakSet()  # a lost one holds no one
        self.guard: AbstractContextManager[Any] = nullcontext()
        """Held by every `Ticket` call (a lock once `guard_with` gave one)."""
        self.logons: list[float] = []
        """When each Logon of the account's sessions was sent, in order (the last 1,000)."""
        self._last = -math.inf  # the last Logon sent or granted
        self._granted = 0  # tickets granted whose Logon is not sent yet
        self._count = 0

    def set_rate(self, rate: float) -> None:
        """At most ``rate`` Logons a second from the next slot on (each ``1 / rate + margin``
        seconds after the last one sent)."""
        if not 0 < rate < math.inf:
            raise ValueError(f"Logons per second must be > 0 and finite, got {rate!r}")
        self.rate = rate
        self.interval = 1.0 / rate + self.margin + LOGON_SPACING_SLACK

    def guard_with(self, make_lock: Callable[[], AbstractContextManager[Any]]) -> None:
        """Hold a lock made by ``make_lock`` in every `Ticket` call from now on (an adapter
        whose sessions run in threads of their own gives ``threading.Lock``); once."""
        if isinstance(self.guard, nullcontext):
            self.guard = make_lock()

    def join(self, rank: int, name: str) -> Ticket:
        """A new session's `Ticket`."""
        self._count += 1
        ticket = Ticket(self, rank, name, self._count)
        self.tickets.add(ticket)
        return ticket

    def slot_of(self, ticket: Ticket, now: float) -> float:
        """When ``ticket`` (pending) may log on, as the schedule stands at ``now``."""
        start = self._last + self.interval
        if self._granted:  # a granted session has not sent its Logon: the next waits for it
            start = max(start, now + self.interval)
        waiting = sorted(
            (t for t in self.tickets if t._state == _PENDING), key=lambda t: (t.rank, t._order)
        )
        t, gather = start, self.gather
        while waiting:
            soon = [w for w in waiting if w._due <= t + gather]
            if not soon:
                t = min(w._due for w in waiting)
                continue
            first = soon[0]  # the lowest rank due within a gather of the slot (sorted list)
            t = max(t, first._due)
            if first is ticket:
                return t
            waiting.remove(first)
            t += self.interval
        return math.inf  # not pending (never reached for a pending ticket)

    def granted(self, now: float) -> None:
        self._granted += 1
        self._last = max(self._last, now)

    def released(self) -> None:
        self._granted = max(0, self._granted - 1)

    def logged_on(self, now: float) -> None:
        self._last = max(self._last, now)
        self.logons.append(now)
        if len(self.logons) > 1000:
            del self.logons[:500]
