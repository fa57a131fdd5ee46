"""The asyncio event loop of a simulation (`kalshi_fix_sansio.simulator.simulation`), the loop of
its in-memory asyncio pump: its time is the simulated clock, and when nothing is ready it jumps to
the next timer.

`SimLoop` is an `asyncio.BaseEventLoop` without a selector of the operating system: its
"selector" (`_Selector`) runs the simulation's `Scheduler` (the in-memory connections, the
gateway's timers) and, when neither the loop nor the scheduler has anything ready, moves the
clock to the nearest deadline of either instead of waiting. Connections to the simulation's
gateway (`create_connection`, `getaddrinfo`) are made in memory. Nothing here opens a socket or a
thread, or reads a clock.
"""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Due", "SimLoop", "World"]


class Due(Protocol):
    """What is due on a simulated clock (the simulation's scheduler)."""

    def run_due(self) -> bool:
        """Run what is due now; whether anything ran."""

    def next_deadline(self) -> float:
        """When the next thing is due (infinity: nothing)."""


class World(Protocol):
    """What the loop asks of its simulation (`kalshi_fix_sansio.simulator.simulation.Simulation`)."""

    @property
    def scheduler(self) -> Due:
        """What is due on the simulated clock."""

    def time(self) -> float:
        """The simulated clock."""

    def advance(self, when: float) -> None:
        """Move the clock to ``when`` (raises `SimulationStalled` past its limit)."""

    def connect(self, host: str, port: int, protocol: asyncio.Protocol) -> asyncio.Transport:
        """A connection in memory to ``host``:``port``, ``protocol`` told it is made."""


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

    async def getaddrinfo(  # type: ignore[override]
        self, host: bytes | str | None, port: bytes | str | int | None, **_: Any
    ) -> list[tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[str, int]]]:
        """The address itself (no resolver: the simulation's gateway is on loopback)."""
        address = "127.0.0.1" if host in (None, "localhost") else str(host)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))
        ]

    async def create_connection(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        host: str | None = None,
        port: int | None = None,
        **_: Any,
    ) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
        """A connection in memory to the simulation's gateway (`ConnectionRefusedError` for an
        address it does not serve)."""
        protocol = protocol_factory()
        assert isinstance(protocol, asyncio.Protocol)
        return self.world.connect(str(host), int(port or 0), protocol), protocol
