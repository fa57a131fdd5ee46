"""Deterministic simulation testing of the whole client against the mock exchange."""

from __future__ import annotations

from ._invariants import Violation, WireWatch
from ._run import MAX_QTY, RECOVERY, SYMBOL, Outcome, run
from ._schedule import (
    FAULT_KINDS,
    KINDS,
    NOT_YET,
    SESSION_TYPES,
    WORKLOAD_KINDS,
    Schedule,
    Step,
    generate,
)

__all__ = [
    "FAULT_KINDS",
    "KINDS",
    "MAX_QTY",
    "NOT_YET",
    "RECOVERY",
    "SESSION_TYPES",
    "SYMBOL",
    "WORKLOAD_KINDS",
    "Outcome",
    "Schedule",
    "Step",
    "Violation",
    "WireWatch",
    "generate",
    "run",
]
