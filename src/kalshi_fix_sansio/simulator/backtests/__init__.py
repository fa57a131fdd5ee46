"""Backtests: a strategy over recordings of Kalshi's market data, in memory, on a simulated clock.

`backtest.run_backtest` runs a strategy (the `Context` it is given is the client's own API) over
recordings, at the FIX level (every recorded message through the client's session) or at the
book level (`booklevel`: books only, the exchange's matching unchanged), with a latency model
and the paper ledger's report and statistics. `compiled` checks and compiles a recording once
into columns cached beside it, which every run then streams.

May import: the simulated world, the exchange and market data floors, and the engine's public
names.
"""
