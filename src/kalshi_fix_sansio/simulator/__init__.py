"""The simulator: Kalshi's exchange in memory and what runs on it, in floors by meaning.

From the bottom: market data at rest (`data`: recordings, Kalshi history files), the mock Kalshi
exchange (`gateway`: the matching engine, the FIX and REST servers over TLS or in-memory pipes,
paper trading on a replayed recording), the simulated world (`world`: the client and the exchange
in one process on a simulated clock), backtests (`backtests`: strategies over recordings, FIX
level or book level), research (`research`: sweeps, walk-forward, fitting, compare-live,
tearsheets) and test tooling (`testing`: session pairs, sample messages, fault relays and
deterministic simulation testing). Each floor imports only the floors below it (import-linter's
``floors`` contract) and the engine's public names, never a private module of the engine.
"""
