"""What the read benchmarks measure with: a row, its repeat count, and two rows compared.

`bench_read.py` and `bench_corpora.py` time rows in short interleaved rounds against a baseline
timed in the same round (see `bench_read.run`); these are the pieces they share.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

#: What a row is timed with: wall time, or the thread's CPU time (`use_cpu_time`: on a machine
#: shared with other work, the time the process waits for a core is left out).
clock: Callable[[], float] = time.perf_counter


def use_cpu_time() -> None:
    """Time every row by the thread's CPU time (``time.thread_time``) instead of wall time."""
    global clock
    clock = time.thread_time


class Row:
    """One measured thing: its function (one corpus pass), the baseline it is compared with."""

    def __init__(
        self,
        name: str,
        converts: str,
        fn: Callable[[], object] | None,
        baseline: str,
        *,
        why: str = "",
        target: float | None = None,
    ) -> None:
        self.name = name
        self.converts = converts
        self.fn = fn
        self.baseline = baseline
        self.why = why
        self.target = target
        self.number = 1
        self.times: list[float] = []
        self.ratios: list[float] = []

    def time_once(self) -> float:
        fn, n = self.fn, self.number
        assert fn is not None
        now = clock
        t = now()
        for _ in range(n):
            fn()
        return (now() - t) / n

    def median(self) -> float:
        return statistics.median(self.ratios)

    def quartiles(self) -> tuple[float, float, float]:
        if len(self.ratios) < 2:
            r = self.ratios[0]
            return r, r, r
        q1, _, q3 = statistics.quantiles(self.ratios, n=4)
        return q1, self.median(), q3


def not_installed(pkg: str) -> str:
    return f"{pkg} not installed"


def calibrate(row: Row, seconds: float) -> None:
    """Pick a repeat count so one timing of the row takes about ``seconds``."""
    assert row.fn is not None
    row.fn()  # warm up
    n, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            row.fn()
        t = time.perf_counter() - t0
        if t >= seconds / 4 or n >= 1 << 16:
            break
        n *= 2
    row.number = max(1, round(n * seconds / max(t, 1e-9)))


def paired(a: Row, b: Row) -> float:
    """Median over rounds of a's throughput over b's (same baseline, same rounds)."""
    return statistics.median(x / y for x, y in zip(a.ratios, b.ratios, strict=True))
