"""Kalshi's REST companion, sans-IO: the portfolio pages (`pages`) and reconciliation of the
order tracker from them (`reconcile`).

Its face names what the floors above use of it (not the user API, which is
`kalshi_fix_sansio` and the public modules). May import: the trading layer and below.
"""

from ._restport import (
    RestPort as RestPort,
)
