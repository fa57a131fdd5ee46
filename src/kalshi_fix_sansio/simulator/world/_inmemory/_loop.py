"""The asyncio event loop of a simulation (`kalshi_fix_sansio.simulator.world.simulation`), the loop of
its in-memory asyncio pump: its time is the simulated clock, and when nothing is ready it jumps to
the next timer.

`SimLoop` is an `asyncio.BaseEventLoop` without a selector of the operating system: its
"selector" (`_Selector`) runs the simulation's `Scheduler` (the in-memory connections, the
gateway's timers) and, when neither the loop nor the scheduler has anything ready, moves the
clock to the nearest deadline of either instead of waiting. A connection to the simulation's
gateway is a socket in memory (`SimSocket`, `SimLoop.connect`), which the loop serves as a
selector loop serves a socket (`add_reader`, `add_writer`: its callback runs while the socket
has something for it). Nothing here opens a socket or a thread, or reads a clock.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Due", "SimLoop", "SimSocket", "World"]


class Due(Protocol):
    """What is due on a simulated clock (the simulation's scheduler)."""

    def run_due(self) -> bool:
        """Run what is due now; whether anything ran."""

    def next_deadline(self) -> float:
        """When the next thing is due (infinity: nothing)."""


class World(Protocol):
    """What the loop asks of its simulation (`kalshi_fix_sansio.simulator.world.simulation.Simulation`)."""

    @property
    def scheduler(self) -> Due:
        """What is due on the simulated clock."""

    def time(self) -> float:
        """The simulated clock."""

    def advance(self, when: float) -> None:
        """Move the clock to ``when`` (raises `SimulationStalled` past its limit)."""

    def connect(self, host: str, port: int, protocol: Any) -> asyncio.Transport:
        """A connection in memory to ``host``:``port``, ``protocol`` (an `asyncio.Protocol`'s
        four callbacks) told it is made."""


class _Selector:
    """The loop's wait (`select`): run the scheduler; jump the clock instead of sleeping."""

    def __init__(self, world: World) -> None:
        self.world = world

    def select(self, timeout: float | None) -> list[Any]:
        world = self.world
        scheduler = world.scheduler
        if not scheduler.run_due() and timeout != 0:
            # nothing of the loop is ready: on to its next timer or the scheduler's, past the
            # scheduler's quiet callbacks (`QUIET`: nothing the loop's tasks look at changed)
            limit = math.inf if timeout is None else world.time() + timeout
            world.advance(min(scheduler.next_deadline(), limit))
            while not scheduler.run_due() and world.time() < limit:
                world.advance(min(scheduler.next_deadline(), limit))
        return []

    def close(self) -> None:
        """Nothing to release."""


class SimLoop(asyncio.BaseEventLoop):
    """An asyncio loop on a simulation's clock, its connections in memory (see the module
    docstring).

    Args:
        world: the simulation.
    """

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self._selector = _Selector(world)  # what `BaseEventLoop._run_once` waits with
        # the loop runs the timers due before now + this: the clock is UTC epoch seconds,
        # 2**-22 s apart at this century's times, where the monotonic clock's nanosecond
        # would leave a timer due exactly now for ever
        self._clock_resolution = 1e-6

    def time(self) -> float:
        return self.world.time()

    def _process_events(self, event_list: list[Any]) -> None:
        """The selector's events: none (the scheduler ran what was due)."""

    def _write_to_self(self) -> None:
        """No other thread to wake the loop from: a simulation has one."""

    def connect(self, host: str, port: int) -> SimSocket:
        """A socket connected in memory to the simulation's gateway (`ConnectionRefusedError`
        for an address it does not serve)."""
        sock = SimSocket(self)
        self.world.connect(host, port, sock)
        return sock

    def _watch(
        self, which: int, fd: Any, callback: Callable[..., object] | None = None, *args: Any
    ) -> bool:
        """``fd`` (a `SimSocket`) watched by ``callback(*args)`` for ``which`` (0: reading,
        1: writing; None: no more), as a selector loop watches a socket; whether a callback
        watched it before."""
        return bool(
            fd.watch(which, None if callback is None else functools.partial(callback, *args))
        )

    add_reader = functools.partialmethod(_watch, 0)  # type: ignore[assignment]
    remove_reader = functools.partialmethod(_watch, 0)
    add_writer = functools.partialmethod(_watch, 1)  # type: ignore[assignment]
    remove_writer = functools.partialmethod(_watch, 1)


class SimSocket:
    """A non-blocking socket connected in memory (one end of the simulation's `Pipe`, told
    what the other end did): what came waits here for `recv`; `send` takes everything at once
    (the pipe buffers nothing). While a callback of the loop's watches it (`watch`: 0, read;
    1, write) and it has something for it (bytes, the end of the stream or an error to read;
    room to write: always), the loop runs the callback, once per turn of the loop.

    Args:
        loop: the loop that serves it.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pipe: asyncio.Transport | None = None
        self.inbox = bytearray()  # bytes come, not read yet
        self.ended: Exception | None = None  # the end of the stream came (`EOFError`), or a reset
        self.watchers: list[Callable[[], object] | None] = [None, None]  # read, write
        self.due = [False, False]  # a turn of the loop's is asked for the watcher

    def watch(self, which: int, callback: Callable[[], object] | None) -> bool:
        """Run ``callback`` while the socket has something for it (None: no more); whether a
        callback watched it before."""
        old, self.watchers[which] = self.watchers[which], callback
        self._ready(which)
        return old is not None

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes that came (``b""``: the peer closed its end); `BlockingIOError`:
        none yet; the peer's reset is raised once (`ConnectionResetError`)."""
        inbox, ended = self.inbox, self.ended
        if inbox:
            data = bytes(inbox[:size])
            del inbox[:size]
            return data
        if ended is None:
            raise BlockingIOError("nothing to read yet")
        if not isinstance(ended, EOFError):
            self.ended = EOFError()
            raise ended
        return b""

    def send(self, data: bytes) -> int:
        """Write all of ``data`` to the pipe (`BrokenPipeError` once it is closed)."""
        pipe = self.pipe
        if pipe is None or pipe.is_closing():
            raise BrokenPipeError("the connection is closed")
        pipe.write(data)
        return len(data)

    def abort(self) -> None:
        """Close it at once, the peer's connection reset (a system's socket closed with
        ``SO_LINGER`` 0); `close` then finds it closed."""
        if self.pipe is not None:
            self.pipe.abort()

    def close(self) -> None:
        """Close it: the peer reads what was sent, then its end of file (a reset if bytes
        came that were never read, as a system's socket does)."""
        self.watchers = [None, None]
        if self.pipe is None:
            return
        if self.inbox:
            self.pipe.abort()
        else:
            self.pipe.close()

    # -- what the other end did (the `Pipe`'s protocol) --------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.pipe = transport

    def data_received(self, data: bytes) -> None:
        self.inbox += data
        self._ready(0)

    def eof_received(self) -> bool:
        self._end(EOFError())
        return True  # this end stays open until closed, as a socket's

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(exc or EOFError())

    def _end(self, why: Exception) -> None:
        if self.ended is None:
            self.ended = why
        self._ready(0)

    def _ready(self, which: int) -> None:
        """Ask the loop for a turn of the watcher's if it has something for it."""
        if self.due[which] or self.watchers[which] is None:
            return
        if which == 0 and not self.inbox and self.ended is None:
            return
        self.due[which] = True
        self.loop.call_soon(self._turn, which)

    def _turn(self, which: int) -> None:
        self.due[which] = False
        watcher = self.watchers[which]
        if watcher is not None:
            watcher()
            self._ready(which)  # still something for it: again at the loop's next turn
