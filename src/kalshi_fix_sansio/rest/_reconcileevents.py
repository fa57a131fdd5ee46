"""The events of REST reconciliation (re-exported by `kalshi_fix_sansio.rest.reconcile`)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

import attrs

from ..session.events import Event

SOURCES: Final = ("fix", "replay", "rest")
"""Where a counted fill came from: a live FIX report, a drop-copy replay, Kalshi's REST fills."""


@attrs.frozen(slots=True)
class ReconcileStarted(Event):
    """A reconciliation from Kalshi's REST API began.

    Attributes:
        reason: why (catch-up could not make the order state whole, or it was asked for).
    """

    reason: str


@attrs.frozen(slots=True)
class ReconciledFill(Event):
    """One fill Kalshi's REST fill list holds for a reconciled order, and who counted it.

    Attributes:
        cl_ord_id: the order (ClOrdID) in the tracker.
        fill_id: Kalshi's REST ``fill_id``.
        qty: contracts.
        price: the price (prediction: the Yes price).
        source: who counted it in the tracker: ``"fix"`` (a live ExecutionReport),
            ``"replay"`` (a drop-copy replay) or ``"rest"`` (this or an earlier reconciliation).
        new: this reconciliation added it (it was missing from the tracker).
    """

    cl_ord_id: str
    fill_id: str
    qty: Decimal
    price: Decimal
    source: str
    new: bool


@attrs.frozen(slots=True)
class Reconciled(Event):
    """A reconciliation ended and was applied: the tracker holds every fill Kalshi's REST API
    listed for the orders reconciled (each once), and their states.

    Attributes:
        reason: why it ran.
        orders: orders reconciled.
        fills: REST fill records of those orders.
        added: fills added to the tracker (missing before).
        added_qty: their contracts.
        sources: source (``fix`` / ``replay`` / ``rest``) -> fills counted from it.
        problems: records that could not be used or contradicted the tracker (each was an
            event of its own: `RestProblem`, `RestContradiction`).
        incomplete: None when every page the round needed was read; else why fills may be
            missing from it (Kalshi's historical cutoff could not be read, so fills Kalshi
            moved to its historical pages were not looked for).
    """

    reason: str
    orders: int
    fills: int
    added: int
    added_qty: Decimal
    sources: Mapping[str, int]
    problems: int = 0
    incomplete: str | None = None


@attrs.frozen(slots=True)
class ReconcileFailed(Event):
    """A reconciliation could not finish (a `RestProblem` before it said why): nothing of it was
    applied; the tracker is as it was (it may be behind the exchange). Unless retries are off
    (``RestOptions(round_retry=None)``), the round runs again by itself in ``retry_in`` seconds
    (the delay doubling with each failure, up to ``round_retry_cap``) until one succeeds
    (`Reconciled`).

    Attributes:
        reason: why it ran.
        endpoint: the endpoint that failed.
        retry_in: seconds until the round runs again; None: it is not retried (reconcile
            again yourself).
        attempt: how many times in a row the round failed (1: its first failure).
    """

    reason: str
    endpoint: str
    retry_in: float | None = None
    attempt: int = 1
