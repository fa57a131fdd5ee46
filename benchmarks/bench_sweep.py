"""What a sweep's engine costs per run: N runs of a strategy that returns at once, on the
shipped sample recording, in this process (``jobs=1``), on local worker processes and on a
Dask cluster (the ``sweep`` extra).

    .venv/bin/python benchmarks/bench_sweep.py [--runs N] [--jobs J] [--repeat R]

Prints, per engine, the best wall time of R sweeps (interleaved) and the time per run. The Dask engine is
timed twice: as ``run_sweep(engine="dask")`` starts it (a local cluster of J workers, started
and closed inside the sweep), and on a cluster already running (``address=``: what a user
with a cluster pays), the cluster's start timed on its own. A run here is the whole backtest
of the sample's 403 messages (the serial time is that work); what an engine adds is its time
per run beyond the serial one divided by the workers.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kalshi_fix_sansio.simulator.research.sweep import run_sweep
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING

TRIVIAL = "def strategy(ctx):\n    return None\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    distributed: Any = importlib.import_module("distributed")  # the sweep extra

    with tempfile.TemporaryDirectory() as work:
        strategy = Path(work) / "trivial.py"
        strategy.write_text(TRIVIAL, encoding="utf-8")
        reference = f"{strategy}:strategy"
        points = [{"n": n} for n in range(args.runs)]

        def sweep(**how: Any) -> None:
            result = run_sweep(reference, [SAMPLE_RECORDING], points, **how)
            assert not result.failed, result.failed[0].error

        with contextlib.ExitStack() as stack:
            addresses, starts = {}, {}
            for workers in (1, args.jobs):
                started = time.perf_counter()
                cluster = stack.enter_context(
                    distributed.LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        dashboard_address=None,  # the scheduler's HTTP server: any free port
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    )
                )
                client = stack.enter_context(distributed.Client(cluster))
                client.wait_for_workers(workers)
                starts[workers] = time.perf_counter() - started
                addresses[workers] = cluster.scheduler_address
                sweep(engine="dask", address=cluster.scheduler_address)  # workers import once
            many = f"jobs={args.jobs}"
            variants: dict[str, Callable[[], None]] = {
                "in this process (jobs=1)": lambda: sweep(jobs=1),
                f"local processes ({many})": lambda: sweep(jobs=args.jobs),
                f"Dask, a local cluster the sweep starts ({many})": lambda: sweep(
                    engine="dask", jobs=args.jobs
                ),
                "Dask, a cluster already running (1 worker)": lambda: sweep(
                    engine="dask", address=addresses[1]
                ),
                f"Dask, a cluster already running ({args.jobs} workers)": lambda: sweep(
                    engine="dask", address=addresses[args.jobs]
                ),
            }
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.repeat):  # interleaved: a machine's slow spell hits each alike
                for name, variant in variants.items():
                    started = time.perf_counter()
                    variant()
                    times[name].append(time.perf_counter() - started)
    print(
        f"{args.runs} runs of a strategy that returns at once on {SAMPLE_RECORDING.name}, "
        f"best of {args.repeat} (Python {sys.version.split()[0]}):"
    )
    for name, seconds in times.items():
        print(f"  {name:<50} {min(seconds):7.2f} s  {1000 * min(seconds) / args.runs:7.1f} ms/run")
    for workers, seconds in starts.items():
        print(f"  starting a local cluster of {workers}: {seconds:.2f} s")
    serial = min(times["in this process (jobs=1)"])
    one = min(times["Dask, a cluster already running (1 worker)"])
    print(
        f"  Dask's cost per run on one worker beyond the run: {1000 * (one - serial) / args.runs:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
