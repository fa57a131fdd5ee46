"""How a run drives each API: the blocking one (every wait runs the simulation inline), asyncio
(on the simulation's event loop) and trio (in its trio run). The run itself (`_run._play`) is
one coroutine; these drivers are what differs: pause, open, send, kill, clock jump, crash."""

from __future__ import annotations

import asyncio
import math
from typing import Any, Final

from ....codec.errors import FixError
from ._net import _Sim

__all__ = ["APIS_BY_NAME", "DOCUMENTED", "STEP_TIMEOUT", "Asyncio", "Blocking", "Trio"]

STEP_TIMEOUT: Final = 30.0
"""Simulated seconds a kill waits for its answers."""
DOCUMENTED: Final = (FixError, TimeoutError)
"""Every error the session's calls document."""


class Blocking:
    """How a run drives the blocking API: every wait runs the simulation until it is over."""

    name = "blocking"
    documented = DOCUMENTED

    def __init__(self, sim: _Sim) -> None:
        self.sim = sim

    async def pause(self, seconds: float) -> None:
        self.sim.run_for(seconds)

    async def enter(self, session: Any) -> None:
        session.__enter__()

    async def enter_softly(self, session: Any) -> None:
        """Open a session; refused or cut while logging on, it reconnects by itself."""
        try:
            await self.enter(session)
        except DOCUMENTED:
            pass

    async def send(self, session: Any, message: Any, *, resubscribe: bool = False) -> None:
        session.send(message, resubscribe=resubscribe)

    async def kill(self, session: Any) -> Any:
        """The session's kill switch; its report (``KillReport``)."""
        return session.kill(timeout=STEP_TIMEOUT)

    async def kill_all(self, client: Any) -> None:
        client.kill_all(timeout=STEP_TIMEOUT)

    def jump(self, seconds: float) -> None:
        sim = self.sim
        sim.advance(sim.clock.time() + seconds)

    def abandon(self, session: Any) -> None:
        """The connection reset under the session: no Logout, no reconnect."""
        driver = session.driver
        if driver.running:
            session._pump.link.abandon(driver)

    async def settle(self, session: Any) -> None:
        """Wait until an abandoned session's pump has stopped (the blocking one has)."""

    def release(self, session: Any) -> None:
        session.close()  # nothing left to log out: frees the message log's file


class Asyncio(Blocking):
    """The asyncio API, on the simulation's event loop (`Simulation.run_asyncio`)."""

    name = "asyncio"

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def enter(self, session: Any) -> None:
        await session.open()

    async def send(self, session: Any, message: Any, *, resubscribe: bool = False) -> None:
        await session.send_when_allowed(message, resubscribe=resubscribe)

    async def kill(self, session: Any) -> Any:
        return await session.kill(timeout=STEP_TIMEOUT)

    async def kill_all(self, client: Any) -> None:
        await client.kill_all(timeout=STEP_TIMEOUT)

    def abandon(self, session: Any) -> None:
        pump = session._pump
        if pump.sock is not None:
            pump.sock.abort()  # the client's end aborted: the gateway's is reset
        pump.disconnect(None)
        if pump.task is not None:
            pump.task.cancel()

    async def settle(self, session: Any) -> None:
        task = session._pump.task
        if task is not None:
            await asyncio.wait([task])

    def release(self, session: Any) -> None:
        session._pump.task = None
        session.driver.pump_closed()
        session.driver.end()


class Trio(Blocking):
    """The trio API, in the simulation's trio run (`Simulation.run_trio`)."""

    name = "trio"

    async def pause(self, seconds: float) -> None:
        """Wait on the simulation's scheduler, not on trio's clock (`trio.sleep`): the only
        task asleep on trio's clock is then the simulation's world task, and the run wakes in
        the world's order (two deadlines of trio at one instant may wake in either order)."""
        import trio

        woken = trio.Event()
        self.sim.scheduler.call_later(seconds, woken.set)
        await woken.wait()

    async def enter(self, session: Any) -> None:
        await session.open()

    send = Asyncio.send
    kill = Asyncio.kill
    kill_all = Asyncio.kill_all

    def jump(self, seconds: float) -> None:
        import trio

        trio.lowlevel.current_clock().jump(seconds)  # type: ignore[attr-defined]  # a MockClock

    async def settle(self, session: Any) -> None:
        pump = session._pump
        while session.driver.running:  # its callback task ends
            await pump._change(math.inf)

    def release(self, session: Any) -> None:
        session.driver.pump_closed()
        session.driver.end()


APIS_BY_NAME: Final = {"blocking": Blocking, "asyncio": Asyncio, "trio": Trio}
