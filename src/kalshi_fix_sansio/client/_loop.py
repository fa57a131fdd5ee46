"""The loop part of a driver: facts in, actions out (`kalshi_fix_sansio.client.steps`), sans-IO.

`Loop` is what every driver, client (`Driver <kalshi_fix_sansio.client.driver.Driver>`) or mock
gateway connection (`AcceptorDriver <kalshi_fix_sansio.client._acceptor.AcceptorDriver>`), answers
an event loop with: one call, ``step(fact, now) -> actions``. The driver is its **role**: it
takes the I/O facts (`Role`: ``receive_data``, ``handle_timer``, ``connection_made``...) and
says what it wants (``data_to_send``, ``wants_transport``, ``next_deadline``, ``connect_at``,
``finished``); the loop part turns those answers into the actions a loop performs, and keeps
what every loop used to keep for itself. A `Send` is the role's own fact (it sends, then asks
`Loop.actions` only when its bytes cannot simply be written); the loop part takes the others:

* **the connection's life**: whether the loop holds a connection (from `Connected` until the
  driver says `Disconnect`: every end of a held connection, a `Lost` included, is answered
  with one, so a loop closes its socket only when told), whether one is being opened (from
  `Connect` until `Connected` / `ConnectFailed`), and when the driver is `Finished`; a fact
  about a connection the driver is done with is ignored;
* **the wake-up**: the deadline last told (`WakeAt`), told again only when the driver needs
  one sooner or the loop woke; while reads may queue events for the application it is at most
  the unread-event lag away (``QueuePolicy.lag_warning``), so that an event read into an empty
  queue never needs a wake-up of its own; the timers fire on `WOKE`, or on `Received` once
  the deadline told has come (the reader is then the loop's sleeper);
* **the slow peer**: the loop reports how many bytes wait in its write buffer (`Buffered`);
  past ``max_buffered`` bytes, or bytes still waiting ``write_timeout`` seconds after they
  began to, the connection counts as lost (`Disconnect` with ``abort``).

The module reads no clock and does no I/O: ``now`` is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from ..codec.errors import LocalProtocolError
from .steps import (
    CONNECT,
    FINISHED,
    Action,
    Buffered,
    Close,
    Connected,
    ConnectFailed,
    Disconnect,
    Fact,
    Kill,
    Lost,
    Received,
    Start,
    WakeAt,
    Woke,
    Write,
)

__all__ = ["DEFAULT_MAX_BUFFERED", "Loop", "QuickRead", "Role", "Status", "Steps", "not_a_fact"]

DEFAULT_MAX_BUFFERED: Final = 8 * 1024 * 1024
"""Default most bytes waiting for a peer that does not read before the connection counts as
lost (``adapters.MAX_BUFFERED_OUTBOUND``)."""

_NOTHING: Final[tuple[Action, ...]] = ()

QuickRead = Callable[[bytes, float, float], bool]
"""A role's read of bytes (not EOF) before the deadline told (`Loop`'s ``quick``): ``(data,
now, told)``, True when the loop has nothing to do after it (nothing to write, no deadline
sooner than ``told``)."""

Steps = dict[type[Fact], Callable[[Fact, float], Sequence[Action]]]
"""What each fact's class runs: a loop part's table, and its role's (the loop part's and its
own `Send`)."""


class Role(Protocol):
    """What the loop part asks of its driver (the client's or the acceptor's)."""

    def next_deadline(self) -> float | None: ...

    def data_to_send(self, now: float | None = None) -> bytes: ...

    def start(self, now: float) -> None: ...

    def connection_made(self, now: float) -> None: ...

    def connection_failed(self, now: float, error: BaseException) -> None: ...

    def receive_data(self, data: bytes, now: float) -> None: ...

    def connection_lost(self, now: float, reason: str) -> None: ...

    def handle_timer(self, now: float) -> None: ...

    def _lag_bound(self) -> float | None: ...

    def _kill_fact(self, fact: Kill, now: float) -> None: ...

    def close(self, now: float) -> None: ...


class Status(Protocol):
    """What the loop part reads of where its connection stands (the role's own, or the part of
    it that knows: the client driver's supervisor)."""

    @property
    def wants_transport(self) -> bool: ...

    @property
    def finished(self) -> bool: ...

    @property
    def connect_at(self) -> float | None: ...


class Loop:
    """The loop part of one driver (see the module docstring).

    Args:
        role: the driver whose facts and answers these are.
        status: where its connection stands (the role itself, or the part of it that knows).
        write_timeout: seconds bytes may wait for a peer that does not read before the
            connection counts as lost; None: no limit.
        max_buffered: most bytes that may wait for the peer.
        lag_bounded: the role may bound the wake-up by its unread-event lag (`Role._lag_bound`
            can be other than None: a client's driver); False: never (an acceptor's).
        quick: the role's read of bytes before the deadline told, in place of its
            ``receive_data`` there (`QuickRead`: a client's driver); None: none.

    Raises:
        LocalProtocolError: ``write_timeout`` is not > 0.
    """

    __slots__ = (
        "_abort",
        "_connecting",
        "_finished",
        "_lag_bounded",
        "_open",
        "_quick",
        "_steps",
        "_stuck_since",
        "_told",
        "max_buffered",
        "role",
        "status",
        "write_timeout",
    )

    def __init__(
        self,
        role: Role,
        status: Status,
        write_timeout: float | None,
        max_buffered: int,
        *,
        lag_bounded: bool = True,
        quick: QuickRead | None = None,
    ) -> None:
        if write_timeout is not None and not write_timeout > 0:
            raise LocalProtocolError(f"write_timeout must be > 0 seconds, got {write_timeout!r}")
        self.role = role
        self.status = status
        self.write_timeout = write_timeout
        """Seconds bytes may wait for the peer before the connection counts as lost (None:
        no limit)."""
        self.max_buffered = max_buffered
        """Most bytes that may wait for the peer before the connection counts as lost."""
        self._stuck_since: float | None = None  # when bytes began to wait for the peer
        self._told = math.inf  # the deadline last told (`WakeAt`); inf: none
        self._open = False  # the loop holds a connection
        self._connecting = False  # `Connect` told, no answer yet
        self._abort = False  # the connection was lost (Lost, slow peer): close it, drop what waits
        self._finished = False  # `Finished` told
        self._lag_bounded = lag_bounded
        self._quick = quick
        self._steps: Steps = {
            Received: self._received,  # type: ignore[dict-item]
            Woke: self._woke,
            Buffered: self._buffered,  # type: ignore[dict-item]
            Start: self._start,
            Connected: self._connected,
            ConnectFailed: self._connect_failed,  # type: ignore[dict-item]
            Lost: self._lost,  # type: ignore[dict-item]
            Close: self._close,
            Kill: self._kill,  # type: ignore[dict-item]
        }

    def step(self, fact: Fact, now: float) -> Sequence[Action]:
        """Take one fact at ``now``; the actions the loop must take, in order (see
        `kalshi_fix_sansio.client.steps`).

        Raises:
            LocalProtocolError: not a fact the loop part takes (a `Send` is its role's); and
                what the fact's own method raises (a `Kill` that cannot confirm...).
        """
        handler = self._steps.get(fact.__class__)
        if handler is None:
            raise not_a_fact(fact)
        return handler(fact, now)

    @property
    def steps(self) -> Steps:
        """What each fact's class runs (a driver's `step` looks it up itself: one call less
        per fact)."""
        return self._steps

    @property
    def connected(self) -> bool:
        """The loop holds a connection the driver uses."""
        return self._open

    def deadline(self, now: float) -> float | None:
        """When the loop must wake at the latest, counted from ``now``: the driver's next
        deadline, the slow-peer verdict's and, while reads may queue events, ``now`` plus the
        unread-event lag."""
        role = self.role
        deadline = role.next_deadline()
        since, limit = self._stuck_since, self.write_timeout
        if since is not None and limit is not None:
            due = since + limit
            if deadline is None or due < deadline:
                deadline = due
        bound = role._lag_bound()
        if bound is not None and (deadline is None or now + bound < deadline):
            deadline = now + bound
        return deadline

    # -- the facts ------------------------------------------------------------------------------

    def _received(self, fact: Received, now: float) -> Sequence[Action]:
        return self.read(fact.data, now)

    def read(self, data: bytes, now: float) -> Sequence[Action]:
        """The `Received` step of ``data`` (``b""``: the peer closed the connection), without
        the fact (a driver's read calls it directly)."""
        if not self._open:
            return _NOTHING  # a connection the driver is done with
        told = self._told
        quick = self._quick
        if quick is not None and now < told and data and not self._abort:
            # before the deadline told: the role reads, and says whether the loop has anything
            # to do; its actions after a read only when it does
            return _NOTHING if quick(data, now, told) else self.actions(now, False, True)
        role = self.role
        role.receive_data(data, now)
        if told <= now:  # the wake-up came while reading: the timers fire now
            self._told = math.inf
            role.handle_timer(now)
            self._check_stuck(now)
            return self.actions(now, False)
        return self.actions(now, False, True)  # read: by position, a cheaper call

    def _woke(self, fact: Fact, now: float) -> Sequence[Action]:
        if self._told <= now:
            self._told = math.inf  # the wake-up came: a new one is told
            self.role.handle_timer(now)
            self._check_stuck(now)
            return self.actions(now, False)
        # woken before the deadline told (the gateway's look after its exchange sent): for a
        # role with no lag bound, only its own deadline can be sooner, as after a read (the
        # slow-peer verdict moves on its own facts only); a client's may have begun reading
        # outside a step, which brings its lag bound in: all of it is worked out
        return self.actions(now, False, read=not self._lag_bounded and self._told < math.inf)

    def _buffered(self, fact: Buffered, now: float) -> Sequence[Action]:
        size = fact.size
        if size <= 0:
            self._stuck_since = None
        elif self._open:
            if self._stuck_since is None:
                self._stuck_since = now
            if size > self.max_buffered:
                self._lose(now, f"the peer is not reading: over {self.max_buffered} bytes wait")
            else:
                self._check_stuck(now)
        return self.actions(now, False)

    def _start(self, fact: Fact, now: float) -> Sequence[Action]:
        role = self.role
        role.start(now)
        if self.status.connect_at is None and self.status.wants_transport:
            self._open = True  # an acceptor: the connection came with the start
        return self.actions(now, False)

    def _connected(self, fact: Fact, now: float) -> Sequence[Action]:
        self._connecting = False
        if self.status.connect_at is None:  # closed while connecting
            return (Disconnect(True), *self.actions(now, False))
        self._open, self._abort, self._stuck_since = True, False, None
        self.role.connection_made(now)
        return self.actions(now, False)

    def _connect_failed(self, fact: ConnectFailed, now: float) -> Sequence[Action]:
        self._connecting = False
        if self.status.connect_at is not None:
            self.role.connection_failed(now, fact.error)
        return self.actions(now, False)

    def _lost(self, fact: Lost, now: float) -> Sequence[Action]:
        if self._open:
            self._lose(now, fact.reason)  # `actions` tells the loop to close it
        return self.actions(now, False)

    def _close(self, fact: Fact, now: float) -> Sequence[Action]:
        self.role.close(now)
        return self.actions(now, False)

    def _kill(self, fact: Kill, now: float) -> Sequence[Action]:
        self.role._kill_fact(fact, now)
        return self.actions(now, False)

    # -- the slow peer --------------------------------------------------------------------------

    def _check_stuck(self, now: float) -> None:
        since, limit = self._stuck_since, self.write_timeout
        if since is not None and limit is not None and now >= since + limit:
            self._lose(now, f"write failed: the peer took nothing for {limit:g} s")

    def _lose(self, now: float, reason: str) -> None:
        """The held connection is lost (the loop said so, or the slow-peer verdict): the
        driver is told, and `actions` tells the loop to close it (`Disconnect` with
        ``abort``)."""
        self._stuck_since = None
        self._abort = True
        self.role.connection_lost(now, reason)

    # -- the actions ----------------------------------------------------------------------------

    def actions(self, now: float, sent: bool, read: bool = False) -> Sequence[Action]:
        """What the loop must do after a fact (``sent``: a `Send`, which its role takes itself
        and which never brings the
        next deadline sooner: not looked at again; ``read``: a `Received`, or a `WOKE` before
        the deadline told of a role with no lag bound, after which only the role's own
        deadline can be sooner than the one told: the whole deadline is worked out only
        then)."""
        role = self.role
        data = role.data_to_send(now)
        out: list[Action] | None = [Write(data)] if data else None
        if self._open:
            if self.status.wants_transport and not self._abort:
                if sent:
                    return _NOTHING if out is None else out
                if read:  # the lag bound moves later with the clock, and a read leaves the
                    # slow-peer verdict as it was
                    due = role.next_deadline()
                    if due is None or due >= self._told:
                        return _NOTHING if out is None else out
                deadline = self.deadline(now)
            else:  # the one place a connection ends: the loop is always told
                self._open, self._stuck_since = False, None
                if out is None:
                    out = []
                out.append(Disconnect(self._abort))
                self._abort = False
                deadline = self._idle(now, out)
        else:
            if out is None:
                out = []
            deadline = self._idle(now, out)
        if deadline is not None and deadline < self._told:
            self._told = deadline
            if out is None:
                return (WakeAt(deadline),)
            out.append(WakeAt(deadline))
        return _NOTHING if not out else out

    def _idle(self, now: float, out: list[Action]) -> float | None:
        """With no connection: connect now, the time to connect at, or `Finished`."""
        status = self.status
        if self._connecting or self._finished:
            return None
        if status.finished:
            self._finished = True
            out.append(FINISHED)
            return None
        at = status.connect_at
        if at is None:
            return self.deadline(now) if status.wants_transport else None
        if at <= now:
            self._connecting = True
            out.append(CONNECT)
            return None
        return at


def not_a_fact(fact: object) -> LocalProtocolError:
    """What `step` raises for ``fact`` when it is not a fact a driver takes."""
    return LocalProtocolError(f"step: {fact!r} is not a fact a driver takes")
