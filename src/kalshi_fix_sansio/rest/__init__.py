"""Kalshi's REST companion, sans-IO: the portfolio pages (`pages`) and reconciliation of the
order tracker from them (`reconcile`).

Its face names what the floors above use of it (not the user API, which is
`kalshi_fix_sansio` and the public modules). May import: the trading layer and below.
Never a network, loop or clock module (socket, ssl, asyncio, trio, selectors, select,
time: the ``sansio`` contract); time is an argument.
"""

from ._restport import (
    RestPort as RestPort,
)
