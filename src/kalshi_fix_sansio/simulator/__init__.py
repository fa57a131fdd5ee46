"""The simulator: Kalshi's exchange in memory and what runs on it.

The mock gateway (`gateway`), the in-process simulation (`simulation`), paper trading (`paper`),
market-data recordings (`recording`), backtests (`backtest`), latency models (`latency`),
parameter sweeps (`sweep`) and the test tooling (`testing`).

May import: the engine's public names (the package face, its public modules) and the adapters;
never a private module of the engine.
"""
