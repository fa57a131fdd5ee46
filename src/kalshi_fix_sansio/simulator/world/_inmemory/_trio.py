"""The trio client of a simulation (`kalshi_fix_sansio.simulator.world.simulation`): `SimulatedTrioSession`.

Its pump (`_Trio`) moves no bytes itself: the simulation's world task (`Simulation.run_trio
<kalshi_fix_sansio.simulator.world.simulation.Simulation.run_trio>`) runs the connection in memory
(`MemoryLink`) and the timers. A waiting task waits on an event of its own, set by the next
change or by a timer of the simulation's scheduler at its deadline, so the only task asleep on
trio's clock is the world task, and every input happens in the world's order. ``on_event`` /
``on_reconnect`` run in a task of the session (in the nursery given to ``open``, else a system
task of the run), an awaitable result awaited.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

import trio

from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.client.pump import (
    AsyncAPI,
    AsyncKillAll,
    ClientBase,
    Wait,
    deliver,
)
from kalshi_fix_sansio.client.steps import CLOSE
from kalshi_fix_sansio.codec.errors import LocalProtocolError

from ._blocking import InSimulation, MemoryLink, Simulation

__all__ = ["SimulatedTrioSession", "trio_client_class"]

T = TypeVar("T")


class _Trio:
    """The trio pump of a simulated session (see the module docstring)."""

    lock = contextlib.nullcontext()  # one thread: nothing to hold

    def __init__(self, session: SimulatedTrioSession, driver: Driver) -> None:
        self.session, self.driver = session, driver
        self.simulation = session.simulation
        self.now: Callable[[], float] = self.simulation.time  # the wait clock (`AsyncPump.now`)
        self.clock = self.now  # the core's ``now``: the simulated clock
        self.link = MemoryLink(session, self.simulation, self._changed, self._finished)
        self.perform, self.write = self.link.perform, self.link.write
        self.waiting: list[trio.Event] = []  # the waiting tasks' events
        self.kick = trio.Event()  # the callback task looks again
        self.callbacks = session.on_event is not None or session.on_reconnect is not None
        self.nursery: trio.Nursery | None = None  # the callbacks' (None: a system task's)

    # -- what the session asks (`AsyncPump`) -------------------------------------------------

    async def drive(self, wait: Wait[T]) -> T:
        try:
            now = wait.now
            while (deadline := wait.poll(now)) is not None:
                await self._change(deadline)
                now = self.simulation.time()
        except BaseException:
            wait.close()  # failed or cancelled: the wait's own clean-up runs now
            raise
        return wait.result

    def wake(self) -> None:
        waiting, self.waiting = self.waiting, []
        for event in waiting:
            event.set()
        self.kick.set()

    def prepare(self) -> None:
        """Nothing: a simulation's connections are in memory, without TLS."""

    def start(self, sup: Driver, prepared: None) -> None:
        """Start the driver (and the callback task, in `nursery` or as a system task)."""
        nursery = self.nursery
        if self.callbacks:
            self.kick = trio.Event()
            if nursery is not None:
                nursery.start_soon(self._deliver, sup)
            else:
                trio.lowlevel.spawn_system_task(self._deliver, sup)
        self.link.start(sup)

    async def close(self) -> None:
        """Log out, waiting for the session to end (at most the logout timeout of simulated
        time, then the connection is dropped); not cancellable."""
        host = sup = self.driver
        with trio.CancelScope(shield=True):
            if host.running:
                host.act(CLOSE)
                deadline = self.now() + self.session.config.logout_timeout + 1
                while not self.link.agenda.finished and self.now() < deadline:
                    await self._change(deadline)
                if not self.link.agenda.finished:
                    self.link.abandon(sup)
                while host.running:  # the last callbacks
                    await self._change(math.inf)
        host.pump_closed()

    # -- waiting ------------------------------------------------------------------------------

    async def _change(self, deadline: float) -> None:
        """Wait until something changes, or the simulated clock reaches ``deadline``."""
        event = trio.Event()
        self.waiting.append(event)
        alarm = None
        if deadline < math.inf:
            alarm = self.simulation.scheduler.call_at(deadline, event.set)
        try:  # the world task sets it at the deadline; trio's own only if the world stopped
            with trio.move_on_at(deadline):
                await event.wait()
        finally:
            if alarm is not None:
                alarm.cancel()
            if not event.is_set():
                self.waiting.remove(event)

    def _changed(self, sup: Driver) -> None:
        self.wake()

    def _finished(self, sup: Driver) -> None:
        if not self.callbacks:
            sup.pump_ended()
        self.wake()

    async def _deliver(self, sup: Driver) -> None:
        """The callback task: runs the callbacks as events come, until the driver finished
        and none is left."""
        host = self.driver
        try:
            while True:
                await deliver(self.session, sup, self)
                if self.link.agenda.finished and not host.delivery.due(sup):
                    break
                if not host.delivery.due(sup):
                    self.kick = kick = trio.Event()
                    await kick.wait()
        except Exception as exc:  # raised to the waiting callers, as a session task's error
            host.pump_failed(exc)
        finally:
            host.pump_ended()
            self.wake()


class SimulatedTrioSession(InSimulation, AsyncAPI):
    """One session of a simulation's trio client: the API of `TrioSession
    <kalshi_fix_sansio.adapters.trio.TrioSession>` (``async with``: log on, then ``aclose``),
    in memory, under `Simulation.run_trio`. Takes the arguments of `InSimulation`.
    """

    _PUMP = _Trio
    simulation: Simulation  # the whole simulation: its trio run
    _pump: _Trio

    async def open(self, nursery: trio.Nursery | None = None) -> None:
        """Connect in memory and log on (in `Simulation.run_trio` only); the callbacks, if
        any, run in ``nursery`` (None: a system task of the run).

        Raises:
            LogonRefused: the gateway refused the Logon (its text is in the message).
            ConnectionFailed: every attempt the backoff allows failed.
            LocalProtocolError: not in the simulation's trio run, or already open.
        """
        if self.simulation.running != "trio":
            raise LocalProtocolError(
                "a simulation's trio session runs in its trio run: open it in the function "
                "given to Simulation.run_trio"
            )
        self._pump.nursery = nursery
        await super().open()


def trio_client_class(simulation: Simulation) -> type[Any]:
    """The trio client class of ``simulation`` (its product's)."""

    class SimulatedTrioFixClient(ClientBase[SimulatedTrioSession], AsyncKillAll):
        """A simulation's trio client (`kalshi_fix_sansio.simulator.world.simulation`)."""

        PRODUCT = simulation.product
        _SESSION = staticmethod(functools.partial(SimulatedTrioSession, simulation=simulation))

    return SimulatedTrioFixClient
