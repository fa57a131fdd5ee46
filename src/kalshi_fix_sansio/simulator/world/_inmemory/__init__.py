"""The in-memory pumps of a simulation: the client's three APIs on a simulated clock.

What `kalshi_fix_sansio.simulator.world.simulation.Simulation` runs its sessions on: the simulated
clock and what is due on it, the connections as pipes in memory (`Scheduler`, `SimClock`,
`Pipe`), the link of one session to its pipe and the blocking session and pump that need no loop
(`MemoryLink`, `SimulatedSession`), and the asyncio and trio sessions on the simulation's loop
and clock (`client_class`; the asyncio loop whose time is the simulated clock: `SimLoop`). A
simulation is passed in, as the `Simulation` protocol names it.
"""

from ...gateway.net import (
    QUIET,
    Peer,
    Pipe,
    Scheduler,
    SimClock,
    SimulationStalled,
    Timer,
    pipe_pair,
)
from ._asyncio import client_class
from ._blocking import InSimulation, MemoryLink, SimulatedSession, Simulation, blocking_client_class
from ._loop import SimLoop

__all__ = [
    "QUIET",
    "InSimulation",
    "MemoryLink",
    "Peer",
    "Pipe",
    "Scheduler",
    "SimClock",
    "SimLoop",
    "SimulatedSession",
    "Simulation",
    "SimulationStalled",
    "Timer",
    "blocking_client_class",
    "client_class",
    "pipe_pair",
]
