"""One process per client kind and run: what each measured, and its speed mode.

A client process over loopback TLS runs fast or about 25 % slower for its whole life, at
random, so `bench_latency.py` and `bench_tick.py` run every client kind in several processes
(`Proc`, gathered per kind in an `Adapter`), label each fast or slow from the processes
themselves (`speed_modes`) and compare a client with kalshi-sdk only between processes of the
same mode (`mode_ratios`).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable

from _gateway import Block, GatewayView

#: Speed modes: a kind's processes sorted by client CPU per order split at the widest step
#: between neighbours when that step is above this ratio (the two modes differ by about 25 %;
#: processes of one mode on a quiet machine by under 10 %): those above it are "slow".
MODE_GAP = 1.12


class Proc:
    """What one process of one client kind measured, and its speed mode."""

    def __init__(self, kind: str, index: int, rtts: list[float], cpu: float, gw_cpu: float) -> None:
        self.kind, self.index = kind, index
        self.rtts, self.cpu, self.gw_cpu = rtts, cpu, gw_cpu
        self.mode = ""  # "fast" or "slow", set by `speed_modes`

    @property
    def orders(self) -> int:
        return len(self.rtts)

    def p50(self) -> float:
        return statistics.median(self.rtts)

    def cpu_per_order(self) -> float:
        return self.cpu / self.orders


class Adapter:
    """One client kind: its processes (each a `Proc`), or why it was not run."""

    def __init__(
        self,
        name: str,
        run: Callable[[GatewayView, int], Block] | None,
        why: str = "",
        *,
        floor: bool = False,
        kind: str = "",
    ) -> None:
        self.name = name
        self.run = run
        self.why = why
        self.floor = floor  # not a client: not judged against the target
        self.kind = kind
        self.procs: list[Proc] = []
        self.rtts: list[float] = []

    def in_mode(self, mode: str) -> list[Proc]:
        return [pr for pr in self.procs if pr.mode == mode]


def speed_modes(adapters: list[Adapter], gap: float = MODE_GAP) -> None:
    """Label each process fast or slow from its kind's processes' client CPU per order.

    Sorted by CPU per order, a kind's processes split at the widest step between neighbours
    if that step is above ``gap``: those above it ran slow, the others fast. Without such a
    step they all ran in one mode, called fast (the slow processes of a kind cannot be told
    apart from an all-slow run: several processes per kind make that unlikely).
    """
    for a in adapters:
        ranked = sorted(a.procs, key=Proc.cpu_per_order)
        steps = [
            (hi.cpu_per_order() / lo.cpu_per_order(), i + 1)
            for i, (lo, hi) in enumerate(itertools.pairwise(ranked))
        ]
        widest, at = max(steps, default=(1.0, len(ranked)))
        cut = at if widest > gap else len(ranked)
        for i, pr in enumerate(ranked):
            pr.mode = "fast" if i < cut else "slow"


def mode_ratios(a: Adapter, sdk: Adapter, mode: str) -> tuple[float, float] | None:
    """(p50 ratio, CPU-per-order ratio) of ``a``'s processes in ``mode`` to kalshi-sdk's in the
    same mode: medians over each side's processes; None when either has none in that mode."""
    ours, theirs = a.in_mode(mode), sdk.in_mode(mode)
    if not ours or not theirs:
        return None
    med = statistics.median
    return (
        med(pr.p50() for pr in ours) / med(pr.p50() for pr in theirs),
        med(pr.cpu_per_order() for pr in ours) / med(pr.cpu_per_order() for pr in theirs),
    )


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"
