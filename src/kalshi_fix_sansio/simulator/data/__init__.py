"""Market data at rest: what every floor of the simulator reads and the exchange replays.

A recording is the market-data messages of a Kalshi session as they arrived, one per line with
its time (`recording`: read, check, and the funding schedule a margin recording carries);
Kalshi's history files (trades and candlesticks exported from its REST pages) are imported into
recordings (`history`, reading the files with `historyfile`). Nothing here runs a session.

May import: the engine's public names; no other floor of the simulator.
"""
