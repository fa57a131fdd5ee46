"""Queue models: where a recorded level's cancellations fall relative to a resting client order.

In a replay (`recorded`), a resting client order joins the back of its level: the queue ahead
of it is the level's size when it arrived. Recorded trades at the level always consume the
queue ahead first. A recorded decrease of the level that no recorded trade explains is a
cancellation somewhere in the queue; the exchange's queue model says how much of it was ahead
of the client order (`QueueModel.cancelled_ahead`), and the queue ahead shrinks by that much.
The exchange keeps the answer between what must have been ahead (what the queue behind could
not hold) and what could have been (the queue ahead, the cancelled size), and counts it in
hundredths of a contract.

* `FifoQueue` (the default): every cancellation is ahead of the client order.
* `RiskAverseQueue`: every cancellation is behind it, as long as the queue behind holds it;
  only trades move the order up.
* `ProbQueue`: a cancellation is ahead with probability ``f(ahead) / (f(ahead) + f(behind))``,
  ``f`` a power (`ProbQueue.power`) or log (`ProbQueue.log`) function: near the front of the
  queue, cancellations are mostly behind; near the back, mostly ahead. Without a random
  generator the expected share moves the order; with one (a ``random.Random(seed)``), each
  cancellation is drawn whole, ahead or behind, the same for the same seed.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Final, Protocol, runtime_checkable

__all__ = ["FifoQueue", "ProbQueue", "QueueModel", "RiskAverseQueue", "queue_model"]

_ZERO: Final = Decimal(0)
_HUNDREDTH: Final = Decimal("0.01")


@runtime_checkable
class QueueModel(Protocol):
    """Where cancellations fall in a level's queue (see the module docstring)."""

    def cancelled_ahead(self, ahead: Decimal, behind: Decimal, cancelled: Decimal) -> Decimal:
        """How many of ``cancelled`` contracts (a recorded decrease of the level no recorded
        trade explains) were ahead of a resting client order that has ``ahead`` recorded
        contracts ahead of it and ``behind`` behind it."""


class FifoQueue:
    """Every cancellation is ahead of the client order: the queue ahead shrinks by all of it
    (the mock's model before there was a choice, and the default)."""

    def cancelled_ahead(self, ahead: Decimal, behind: Decimal, cancelled: Decimal) -> Decimal:
        return cancelled

    def __repr__(self) -> str:
        return "FifoQueue()"


class RiskAverseQueue:
    """Every cancellation is behind the client order while the queue behind holds it: only
    trades (and cancellations larger than the queue behind) move it up."""

    def cancelled_ahead(self, ahead: Decimal, behind: Decimal, cancelled: Decimal) -> Decimal:
        return max(_ZERO, cancelled - behind)

    def __repr__(self) -> str:
        return "RiskAverseQueue()"


class ProbQueue:
    """A cancellation is ahead with probability ``f(ahead) / (f(ahead) + f(behind))``.

    Args:
        f: a non-decreasing function of a queue size (contracts) to a weight >= 0.
        name: how the model is shown (``repr``, the report).
        rng: None: the expected share of each cancellation is ahead (deterministic, no
            randomness); a ``random.Random``: each cancellation is drawn whole, ahead or
            behind, from it (same seed, same draws).
    """

    def __init__(
        self,
        f: Callable[[float], float],
        *,
        name: str = "ProbQueue(f)",
        rng: random.Random | None = None,
    ) -> None:
        self.f = f
        self.name = name
        self.rng = rng

    @classmethod
    def power(cls, n: float = 3.0, *, rng: random.Random | None = None) -> ProbQueue:
        """``f(x) = x ** n``: the larger ``n``, the more cancellations fall on the longer side."""
        if not n > 0:
            raise ValueError(f"the power must be > 0, got {n!r}")
        # a partial of a module function, not a lambda: a model goes to a sweep's workers
        return cls(functools.partial(_power, n=n), name=f"ProbQueue.power({n:g})", rng=rng)

    @classmethod
    def log(cls, *, rng: random.Random | None = None) -> ProbQueue:
        """``f(x) = log(1 + x)``: a flatter split than any power above 1."""
        return cls(math.log1p, name="ProbQueue.log()", rng=rng)

    def probability(self, ahead: Decimal, behind: Decimal) -> float:
        """The probability a cancellation is ahead of the order."""
        front, back = self.f(float(ahead)), self.f(float(behind))
        if front <= 0:
            return 0.0
        if back <= 0:
            return 1.0
        return front / (front + back)

    def cancelled_ahead(self, ahead: Decimal, behind: Decimal, cancelled: Decimal) -> Decimal:
        p = self.probability(ahead, behind)
        if self.rng is not None:
            return cancelled if self.rng.random() < p else _ZERO
        return (cancelled * Decimal(repr(p))).quantize(_HUNDREDTH)

    def __repr__(self) -> str:
        return self.name if self.rng is None else f"{self.name} (drawn)"


_NAMES: Final = ("fifo", "risk-averse", "prob-power[:N]", "prob-log")


def queue_model(spec: str, seed: int | None = None) -> QueueModel:
    """A shipped queue model by name (the command line's ``--queue-model``): ``fifo``,
    ``risk-averse``, ``prob-power`` (power 3), ``prob-power:N``, ``prob-log``; with ``seed``,
    a probabilistic model draws each cancellation from ``random.Random(seed)``.

    Raises:
        ValueError: an unknown name or a bad power (the message lists the names).
    """
    name, _, arg = spec.partition(":")
    rng = None if seed is None else random.Random(seed)
    if name == "fifo" and not arg:
        return FifoQueue()
    if name == "risk-averse" and not arg:
        return RiskAverseQueue()
    if name == "prob-log" and not arg:
        return ProbQueue.log(rng=rng)
    if name == "prob-power":
        try:
            n = float(arg) if arg else 3.0
        except ValueError:
            n = float("nan")
        if not (math.isfinite(n) and n > 0):
            raise ValueError(f"prob-power:N takes a number N > 0, got {arg!r}")
        return ProbQueue.power(n, rng=rng)
    raise ValueError(f"unknown queue model {spec!r} (one of: {', '.join(_NAMES)})")


def _power(x: float, n: float) -> float:
    return float(x**n)
