"""The simulated world: the client and the mock exchange in one process, on a simulated clock.

`simulation.Simulation` runs the client's three APIs (blocking, asyncio, trio) against the mock
gateway through pipes in memory (`kalshi_fix_sansio.simulator.gateway.net`), the time moved by
the simulation, not the wall: an hour of trading in seconds of CPU, the same bytes on every run.
`latency` holds the latency models of its connections (fixed, sampled or fitted from message
logs). The backtests and simulation testing run on it.

May import: the exchange (`gateway`) and market data (`data`) floors, and the engine's public
names.
"""
