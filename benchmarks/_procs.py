"""One process per client kind and run: what each measured, and its speed mode.

A client process over loopback TLS runs fast or about 25 % slower for its whole life, at
random, so `bench_latency.py` and `bench_tick.py` run every client kind in several processes
(`Proc`, gathered per kind in an `Adapter`), label each fast or slow from the processes
themselves (`speed_modes`) and compare a client with kalshi-sdk only between processes of the
same mode (`mode_ratios`), or pass by pass (`paired_cpu`: each process with kalshi-sdk's process
of the same pass).
"""

from __future__ import annotations

import bisect
import gc
import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

from _gateway import Block, GatewayView

#: Speed modes: a kind's processes sorted by client CPU per order split at the widest step
#: between neighbours when that step is above this ratio (the two modes differ by about 25 %;
#: processes of one mode on a quiet machine by under 10 %): those above it are "slow".
MODE_GAP = 1.12


#: A collection of the garbage collector inside a timed round trip: (the round trip's index,
#: the generation collected, its seconds).
Pause = tuple[int, int, float]


class GcLog:
    """Every collection of this process's garbage collector, timed (a ``gc.callbacks`` entry).

    A collection runs inside whatever Python code allocated last, so a round trip that
    contains one is longer by its duration: `inside` tells which round trips did. A full
    (generation 2) collection walks every tracked object of the process; a young one only the
    objects allocated since the last.
    """

    def __init__(self) -> None:
        self.events: list[tuple[int, float, float]] = []  # (generation, start, seconds)
        self._start = 0.0

    def __enter__(self) -> GcLog:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            start = self._start
            self.events.append((info["generation"], start, time.perf_counter() - start))

    def inside(self, starts: list[float], rtts: list[float]) -> list[Pause]:
        """The collections that began inside a round trip (``starts[i]``, ``rtts[i]`` long,
        ``starts`` increasing)."""
        out = []
        for generation, start, seconds in self.events:
            i = bisect.bisect_right(starts, start) - 1
            if i >= 0 and start <= starts[i] + rtts[i]:
                out.append((i, generation, seconds))
        return out


class Proc:
    """What one process of one client kind measured, and its speed mode.

    ``pauses``: the garbage collections of its own inside its timed round trips
    (`GcLog.inside`); ``gw_pauses`` the gateway process's; None when not recorded.
    """

    def __init__(
        self,
        kind: str,
        index: int,
        rtts: list[float],
        cpu: float,
        gw_cpu: float,
        pauses: list[Pause] | None = None,
    ) -> None:
        self.kind, self.index = kind, index
        self.rtts, self.cpu, self.gw_cpu = rtts, cpu, gw_cpu
        self.pauses = pauses
        self.gw_pauses: list[Pause] | None = None
        self.mode = ""  # "fast" or "slow", set by `speed_modes`

    @property
    def orders(self) -> int:
        return len(self.rtts)

    def p50(self) -> float:
        return statistics.median(self.rtts)

    def cpu_per_order(self) -> float:
        return self.cpu / self.orders

    def worst(self) -> float:
        """The longest round trip."""
        return max(self.rtts)

    def gc_text(self, gateway: bool = False) -> str:
        """The collections inside its timed round trips (its own, or with ``gateway`` the
        gateway process's), full and young, and the longest."""
        pauses = self.gw_pauses if gateway else self.pauses
        if pauses is None:
            return "—"
        if not pauses:
            return "none"
        full = sum(1 for _, generation, _ in pauses if generation == 2)
        longest = max(seconds for _, _, seconds in pauses)
        young = len(pauses) - full
        return f"{full} full, {young} young, ≤{longest * 1e3:,.2f} ms"


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


def paired_cpu(a: Adapter, sdk: Adapter) -> list[float]:
    """Each of ``a``'s processes' client CPU per order over that of kalshi-sdk's process of the
    same pass (`Proc.index`): the two ran minutes apart at most, so a machine whose speed
    drifts over a run moves both; no speed mode is needed."""
    theirs = {pr.index: pr for pr in sdk.procs}
    return [
        pr.cpu_per_order() / theirs[pr.index].cpu_per_order()
        for pr in a.procs
        if pr.index in theirs
    ]


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, first quartile, third quartile) of ``values`` (one value: itself three times)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    low, mid, high = statistics.quantiles(values, n=4, method="inclusive")
    return mid, low, high


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"
