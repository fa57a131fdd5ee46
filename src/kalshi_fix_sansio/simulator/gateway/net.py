"""The plumbing of a simulation (`kalshi_fix_sansio.simulator.world.simulation`): its clock, what is due on it,
and connections in memory. No socket, no thread, no wall clock.

* `SimClock`: UTC epoch seconds that move only when the simulation moves them (or, under trio,
  as trio's `MockClock` jumps). The same number is the sessions' clock (SendingTime) and the
  waits' clock, so a deadline of either is a time of the other.
* `Scheduler`: callbacks to run now (in the order they were asked for) and at a time of the
  clock (in time order, then in the order they were asked for): every input of the simulated
  world goes through it, so a run does the same things in the same order every time. Whoever
  runs the simulation (a blocking wait, the asyncio loop's selector, the trio world task) calls
  `Scheduler.run_due`, and moves the clock to `Scheduler.next_deadline` when nothing is due.
  A callback that changes nothing a wait looks at (the gateway's expiry ticker in a second with
  nothing due, a backtest's statistics sample) returns `QUIET`: `run_due` does not count it, so
  whoever runs the simulation moves on to the next deadline instead of waking its waits.
* `Pipe`: one end of a connection in memory, an `asyncio.Transport` (what the asyncio adapter
  and the gateway's connections take). What one end writes, the other end's protocol receives
  through the scheduler: in order, never during the write, and the bytes a side wrote before
  closing reach the other side before its end of file.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import math
import sys
from collections import deque
from collections.abc import Callable
from typing import Any, Final, Protocol

__all__ = [
    "QUIET",
    "Hearing",
    "Peer",
    "Pipe",
    "Scheduler",
    "SimClock",
    "SimulationStalled",
    "Timer",
    "pipe_pair",
]


class _Quiet:
    """The type of `QUIET`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "QUIET"


QUIET: Final = _Quiet()
"""What a `Scheduler` callback returns when it changed nothing a wait looks at (a timer that
only hops to its next time): `Scheduler.run_due` does not count it as run."""


class SimulationStalled(RuntimeError):
    """A simulation cannot go on: nothing is left to happen while something waits (it would
    wait forever), or simulated time would pass the simulation's ``max_time``."""


class SimClock:
    """Simulated time: UTC epoch seconds that only the simulation moves.

    Args:
        start: the time it starts at (UTC epoch seconds).
    """

    __slots__ = ("_follow", "_now", "start")

    def __init__(self, start: float) -> None:
        self.start = float(start)
        """The time the simulation started at (UTC epoch seconds)."""
        self._now = self.start
        self._follow: Callable[[], float] | None = None  # trio's MockClock, during a trio run

    def time(self) -> float:
        """Now: UTC epoch seconds (a drop-in for `time.time`, and the waits' clock too)."""
        follow = self._follow
        return self._now if follow is None else follow()

    @property
    def elapsed(self) -> float:
        """Seconds of simulated time since `start`."""
        return self.time() - self.start

    def advance_to(self, when: float) -> None:
        """Move the clock to ``when`` (never back)."""
        if when > self._now:
            self._now = when

    def follow(self, source: Callable[[], float] | None) -> None:
        """Read the time from ``source`` from now on (None: keep it here again, from where
        ``source`` left it)."""
        if source is None and self._follow is not None:
            self._now = self._follow()
        self._follow = source


def _nothing() -> None:
    """What a cancelled timer would run."""


class Timer:
    """A callback of the `Scheduler`, due at ``when`` (`cancel` disarms it)."""

    __slots__ = ("args", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.when, self.callback, self.args = when, callback, args
        self.cancelled = False

    def cancel(self) -> None:
        """Disarm it (nothing happens if it already ran)."""
        self.cancelled = True
        self.callback, self.args = _nothing, ()


class Scheduler:
    """What is due now and later on a `SimClock` (see the module docstring).

    It also gives the mock gateway its time and timers (`time`, `call_later`: the gateway's
    `Timers <kalshi_fix_sansio.simulator.gateway.timers.Timers>`).

    Args:
        clock: the simulated clock.
    """

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self._ready: deque[Timer] = deque()
        self._timers: list[tuple[float, int, Timer]] = []  # a heap: (when, order asked, timer)
        self._order = itertools.count()
        self.max_turns = 1_000_000
        """Most callbacks `run_due` runs at one instant before it raises `SimulationStalled`."""
        self.max_callbacks: int = sys.maxsize
        """Most callbacks run in all before `SimulationStalled` (`over_budget`; ``sys.maxsize``:
        no bound): a budget for a run whose time moves on without end, in steps too small for
        ``max_time`` to stop it soon."""
        self.spent = 0
        """Callbacks run so far (by `run_due`, and by `Simulation.run_once`'s own)."""
        self.waker: Callable[[], object] | None = None
        """Called when a callback becomes due sooner than anything before it (the trio world
        task sleeps until then)."""

    def time(self) -> float:
        """The clock's time."""
        return self.clock.time()

    def call_soon(self, callback: Callable[..., object], *args: Any) -> Timer:
        """Run ``callback(*args)`` after what is due now."""
        timer = Timer(-math.inf, callback, args)
        self._ready.append(timer)
        if self.waker is not None:
            self.waker()
        return timer

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Timer:
        """Run ``callback(*args)`` once the clock reaches ``when``."""
        timer = Timer(when, callback, args)  # `push`'s, inline: every byte's delivery asks it
        sooner = not self._timers or when < self._timers[0][0]
        heapq.heappush(self._timers, (when, next(self._order), timer))
        if sooner and self.waker is not None:
            self.waker()
        return timer

    def reserve(self) -> int:
        """A place in the order of callbacks due at one time, taken now (`push` it later)."""
        return next(self._order)

    def push(self, key: tuple[float, int], callback: Callable[..., object], *args: Any) -> Timer:
        """`call_at` ``key[0]`` in the place ``key[1]`` `reserve` took (a loop of its own that
        ran callbacks in their order gives one back to the scheduler where it would be)."""
        timer = Timer(key[0], callback, args)
        sooner = not self._timers or key[0] < self._timers[0][0]
        heapq.heappush(self._timers, (key[0], key[1], timer))
        if sooner and self.waker is not None:
            self.waker()
        return timer

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback()`` in ``delay`` seconds of the clock."""
        return self.call_at(self.clock.time() + delay, callback)

    def __len__(self) -> int:
        """How many callbacks are waiting (cancelled timers not yet dropped included)."""
        return len(self._ready) + len(self._timers)

    def next_deadline(self) -> float:
        """When the next callback is due (``-math.inf``: one is due now; ``math.inf``: none)."""
        if self._ready:
            return -math.inf
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        return timers[0][0] if timers else math.inf

    def run_due(self) -> bool:
        """Run every callback due now, those they make due now included, in order; True when
        one ran that may have changed what a wait looks at (one that returned `QUIET` did not).

        Raises:
            SimulationStalled: more than `max_turns` callbacks ran at one instant (something
                makes itself due at once, for ever: time would never move again), or more than
                `max_callbacks` in all (the last one run named).
        """
        ready, timers, ran = self._ready, self._timers, False
        turns, instant, timer, before = 0, None, None, 0  # before: turns of earlier instants
        clock = self.clock
        while True:
            now = clock._now if clock._follow is None else clock.time()  # `time`, inline
            if now != instant:
                before += turns
                turns, instant = 0, now
            turns += 1
            if turns > self.max_turns:
                raise SimulationStalled(
                    f"{self.max_turns:,} callbacks ran at one simulated instant: something makes "
                    "itself due at once, for ever (time would never move again)"
                )
            while timers and timers[0][0] <= now:
                ready.append(heapq.heappop(timers)[2])
            if not ready:
                self.spent += before + turns
                if self.spent > self.max_callbacks:
                    self.over_budget(timer)
                return ran
            timer = ready.popleft()
            if not timer.cancelled and timer.callback(*timer.args) is not QUIET:
                ran = True

    def over_budget(self, timer: Timer | None) -> None:
        """Raise the `SimulationStalled` of a run past `max_callbacks` (``timer``: the last
        one run, named)."""
        last = None if timer is None else timer.callback
        name = getattr(last, "__qualname__", None) or type(last).__name__
        raise SimulationStalled(
            f"{self.spent:,} callbacks ran since the start, past the run's budget of "
            f"{self.max_callbacks:,}: the run is stuck (the last callback run: {name}, at "
            f"{self.clock.time() - self.clock.start:.3f} simulated s)"
        )


class Peer(Protocol):
    """What an end of a `Pipe` tells its side (an `asyncio.Protocol` is one)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...

    def data_received(self, data: bytes) -> None: ...

    def eof_received(self) -> bool | None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...


class Hearing(Protocol):
    """Who hears a `Pipe`'s chunks (the simulation's lists and flag, read at each write): a
    pipe calls its ``record`` only when one of them asks for the chunk."""

    record_wire: bool
    wire_listeners: list[Any]
    client_listeners: list[Any]


class Pipe(asyncio.Transport):
    """One end of a connection in memory (see the module docstring): written bytes reach the
    other end's protocol through the scheduler; nothing is ever buffered here
    (`get_write_buffer_size` is 0).

    Args:
        scheduler: the simulation's scheduler.
        protocol: this end's side, told what comes from the other end.
        record: called with every chunk written on this end, as it is written.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        protocol: Peer,
        record: Callable[[bytes], None],
        delay: Callable[[], float] | None = None,
        hearing: Hearing | None = None,
        client: bool = False,
    ) -> None:
        super().__init__()
        self._scheduler, self._protocol, self._record = scheduler, protocol, record
        # what a chunk handed over (`hand_over`) is delivered to, with its values or None: the
        # side's read of one whole frame its peer's session built, when it has one
        # (`_End.data_built`), else its ``data_received`` (the values not read)
        built = getattr(protocol, "data_built", None)
        self.built: Callable[[bytes, Any], None] = (
            built if built is not None else functools.partial(_data_only, protocol.data_received)
        )
        # ``record`` asked only when ``hearing`` (None: always) wants the chunk (``client``:
        # this is the client's end, whose chunks `Hearing.client_listeners` hear too)
        self._hearing, self._client = hearing, client
        self._delay = delay  # the one-way latency of each chunk (None: none)
        self._due = -math.inf  # when the last chunk written arrives: none overtakes it
        self.peer: Pipe = self
        """The other end (set by `pipe_pair`)."""
        self._closing = False  # closed or aborted here, or reset by the peer: nothing more in
        self._lost = False  # the protocol was told `connection_lost`

    # -- the transport ------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or not data:
            return
        chunk = data if type(data) is bytes else bytes(data)
        self._record_heard(chunk)
        if self._delay is None:  # `_deliver`'s common case and `Scheduler.call_soon`, inline
            scheduler = self._scheduler
            scheduler._ready.append(Timer(-math.inf, self.peer._receive, (chunk,)))
            if scheduler.waker is not None:
                scheduler.waker()
        else:
            self._deliver(self.peer._receive, chunk)

    def _record_heard(self, chunk: bytes) -> None:
        """``chunk`` recorded (`_record`) when someone may hear it: no `Hearing` told (record
        as before), the wire recorded or listened to, or a client's listeners on a client's
        end; nobody to hear it otherwise, so the record is skipped."""
        hearing = self._hearing
        if (
            hearing is None
            or hearing.record_wire
            or hearing.wire_listeners
            or (self._client and hearing.client_listeners)
        ):
            self._record(chunk)

    def hand_over(self, data: bytes) -> bool:
        """`write` of a chunk whose delivery its caller runs itself, next and at once (the
        other end's `_receive`, as `Scheduler.run_due` would run the `write`'s callback as the
        first ready): True when that is what `write` would make of it (this end open, no
        latency, nothing ready before it, no waker to tell), the chunk recorded as `write`
        records it; False: nothing done (`write` it). A feed's recorded message hands its
        35=X over this way (`Feed._apply`): the scheduler crossed by no callback. ``data``
        must be one whole frame this end's session built (its caller delivers it to the
        peer's `built`)."""
        scheduler = self._scheduler
        if self._closing or self._delay is not None or scheduler._ready or scheduler.waker:
            return False
        self._record_heard(data)
        return True

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Close after what was written: the peer reads it, then its end of file."""
        self._shut(self.peer._eof)

    def abort(self) -> None:
        """Close now: the peer's connection is reset (after what was written already)."""
        self._shut(self.peer._reset)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    # -- from the other end -------------------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        if not self._closing:
            self._protocol.data_received(data)

    def _eof(self) -> None:
        if not self._closing and not self._protocol.eof_received():
            self.close()

    def _reset(self) -> None:
        if not self._closing:
            self._closing = True
            self._gone(ConnectionResetError("the peer reset the connection"))

    def _shut(self, tell_peer: Callable[[], None]) -> None:
        if not self._closing:
            self._closing = True
            self._deliver(tell_peer)
            self._scheduler.call_soon(self._gone, None)

    def _deliver(self, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback(*args)`` on the other end: now, or after this direction's latency
        (never before what was written before it)."""
        scheduler = self._scheduler
        if self._delay is None:
            scheduler.call_soon(callback, *args)
            return
        due = max(scheduler.clock.time() + self._delay(), self._due)
        self._due = due
        scheduler.call_at(due, callback, *args)

    def _gone(self, exc: Exception | None) -> None:
        if not self._lost:
            self._lost = True
            self._protocol.connection_lost(exc)


def _data_only(data_received: Callable[[bytes], None], data: bytes, handed: Any) -> None:
    """``data_received(data)``: a frame handed over to a side that reads only bytes."""
    data_received(data)


def pipe_pair(
    scheduler: Scheduler,
    client: Peer,
    server: Peer,
    record: Callable[[str, bytes], None],
    delay: Callable[[], float] | None = None,
    hearing: Hearing | None = None,
) -> tuple[Pipe, Pipe]:
    """The two ends of a connection between ``client`` and ``server`` (neither told yet);
    ``record(sender, chunk)`` hears every chunk written (``sender``: ``"client"`` or
    ``"gateway"``), or, with ``hearing``, every chunk it wants (a chunk of either end while
    its ``record_wire`` or ``wire_listeners`` says so, a client's while its
    ``client_listeners`` do: the chunks `Simulation._record` does anything with);
    ``delay()``, when given, is the one-way latency of each chunk either way."""
    near = Pipe(scheduler, client, functools.partial(record, "client"), delay, hearing, True)
    far = Pipe(scheduler, server, functools.partial(record, "gateway"), delay, hearing)
    near.peer, far.peer = far, near
    return near, far
