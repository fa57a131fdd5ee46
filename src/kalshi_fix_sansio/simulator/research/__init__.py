"""Research on backtests: parameter sweeps, walk-forward tests, fitting and comparing with live.

`sweep` runs a strategy over a grid of parameters and recordings on processes or a Dask cluster
and ranks the results; `walkforward` fits on one period and tests on the next; `fitting` fits a
latency or queue model to what a live session saw; `compare` puts a backtest beside the live
session it models and names where they part; `tearsheet` writes one page a person reads.

May import: the backtests and every floor below them, and the engine's public names.
"""
