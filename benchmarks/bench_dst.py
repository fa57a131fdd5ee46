"""Deterministic simulation testing: fault schedules run per CPU second.

    .venv/bin/python benchmarks/bench_dst.py [--runs N] [--jobs J] [--steps S]

Runs the generated schedules of seeds 0 to N-1 (`kalshi_fix_sansio.simulator.testing.dst.explore`) in
this process, then on J local worker processes, and prints for each: runs, failures, CPU
seconds (summed over the processes that ran them), runs per CPU second, wall seconds and
simulated hours. Runs per CPU second is the figure that scales: a cluster of C cores runs about
C times it per second.
"""

from __future__ import annotations

import argparse
import time

from kalshi_fix_sansio.simulator.testing.dst import explore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args(argv)
    print("| engine | runs | failed | CPU s | runs / CPU s | wall s | simulated h |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, jobs in (("this process", 1), (f"{args.jobs} processes", args.jobs)):
        started = time.perf_counter()
        found = explore(range(args.runs), steps=args.steps, jobs=jobs)
        wall = time.perf_counter() - started
        print(
            f"| {label} | {found.runs:,} | {len(found.failures)} | {found.cpu_seconds:.1f} | "
            f"{found.runs_per_cpu_second:.1f} | {wall:.1f} | {found.simulated / 3600:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
