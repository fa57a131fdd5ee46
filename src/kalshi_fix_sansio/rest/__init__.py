"""Kalshi's REST companion, sans-IO: the portfolio pages (`pages`) and reconciliation of the
order tracker from them (`reconcile`).

May import: the trading layer and below.
"""

from ._restport import RestPort

__all__ = [
    "RestPort",
]
