"""A simulation's asyncio sessions (`kalshi_fix_sansio.simulator.world.simulation`): the asyncio adapter's pump
(`AioPump`) on the simulation's event loop (`Simulation.run_asyncio`), its socket one in memory
(`SimLoop.connect`) which the loop serves; and the client classes of the loop APIs (trio's in
`_simulated_trio`). The link in memory and the blocking API's pump are the core's
(`kalshi_fix_sansio.simulator.world.simulation`).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from kalshi_fix_sansio.client.pump import AsyncAPI, AsyncKillAll, ClientBase, ConnectOptions
from kalshi_fix_sansio.codec.errors import LocalProtocolError

from ....adapters.asyncio import AioPump
from ._blocking import InSimulation, Simulation
from ._loop import SimLoop

__all__ = ["SimulatedAsyncSession", "client_class"]


# -- asyncio --------------------------------------------------------------------------------


async def _in_memory(options: ConnectOptions, context: object) -> tuple[Any, None]:
    """A socket connected in memory to the simulation's gateway (`SimLoop.connect`; a
    simulation's endpoints are plain TCP: no TLS)."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, SimLoop)
    return loop.connect(options.endpoint.host, options.endpoint.port), None


class _SimPump(AioPump):
    """The asyncio adapter's pump, its socket one in memory that the simulation's loop serves."""

    open_socket = staticmethod(_in_memory)


class SimulatedAsyncSession(InSimulation, AsyncAPI):
    """One session of a simulation's asyncio client: `AsyncSession
    <kalshi_fix_sansio.adapters.asyncio.AsyncSession>` (``async with``), its pump the asyncio
    adapter's, on the simulation's event loop (`Simulation.run_asyncio`). Takes the arguments
    of `InSimulation`.
    """

    _PUMP = _SimPump
    simulation: Simulation  # the whole simulation: its event loop
    _pump: AioPump

    async def open(self) -> None:
        """Connect in memory and log on (in `Simulation.run_asyncio` only).

        Raises:
            LogonRefused: the gateway refused the Logon (its text is in the message).
            ConnectionFailed: every attempt the backoff allows failed.
            LocalProtocolError: not on the simulation's loop, or the session is already open.
        """
        if asyncio.get_running_loop() is not self.simulation.loop:
            raise LocalProtocolError(
                "a simulation's asyncio session runs on its loop: open it in a coroutine given "
                "to Simulation.run_asyncio"
            )
        await super().open()

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout of simulated time) and close; idempotent
        (the same as `aclose`)."""
        await self.aclose()


# -- the clients ------------------------------------------------------------------------------


def client_class(simulation: Simulation, api: str) -> type[Any]:
    """The client class of ``simulation`` for ``api`` (``"asyncio"`` or ``"trio"``): the
    product's, its sessions made in ``simulation``."""
    if api == "asyncio":

        class SimulatedAsyncFixClient(ClientBase[SimulatedAsyncSession], AsyncKillAll):
            """A simulation's asyncio client (`kalshi_fix_sansio.simulator.world.simulation`)."""

            PRODUCT = simulation.product
            _SESSION = staticmethod(functools.partial(SimulatedAsyncSession, simulation=simulation))

        return SimulatedAsyncFixClient
    from ._trio import trio_client_class

    return trio_client_class(simulation)
