"""Where the mock gateway's connections take their time and their timers from.

A listening gateway (`MockGateway.start <kalshi_fix_sansio.simulator.gateway.MockGateway.start>`) runs on
the wall clock and its asyncio loop: `LoopTimers`. A simulation
(`kalshi_fix_sansio.simulator.world.simulation`) runs the same connections, sessions and exchange on a
simulated clock: it sets the gateway's ``timers`` to its own, any object with these two methods
(`Timers`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Cancellable", "LoopTimers", "Timers"]


class Cancellable(Protocol):
    """A timer armed by `Timers.call_later`."""

    def cancel(self) -> None:
        """Disarm it (nothing happens if it already fired)."""


class Timers(Protocol):
    """The clock and the timers of a gateway's sessions."""

    def time(self) -> float:
        """Now, in UTC epoch seconds (SendingTime, heartbeats, the exchange's time)."""

    def call_later(self, delay: float, callback: Callable[[], object]) -> Cancellable:
        """Call ``callback`` in ``delay`` seconds."""


class LoopTimers:
    """The wall clock and the running asyncio loop's timers (a listening gateway's)."""

    __slots__ = ()

    def time(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback)
